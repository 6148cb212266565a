//! One relation of the catalog → its spec: columns, keys, CHECK rules, indexes, triggers.

use indexmap::IndexMap;

use super::columns::column_spec;
use super::expr::{parse, Expr};
use super::pretty::{one_line, pretty, unquote};
use super::rules::recognise;
use super::Notes;
use crate::catalog::{qualified_name, ConstraintKind, Index, Relation, Schema, Trigger};
use crate::spec::{
    AllowExtra, CheckSpec, FkAction, ForeignKeySpec, IndexMethod, IndexSpec, KeySpec,
    ParameterValue, Reference, RelationKind, TableSpec, TriggerEvent, TriggerLevel, TriggerSpec,
    TriggerTiming, UniqueSpec,
};

/// Storage parameters as read (`name=value`, booleans as `true`/`false`) → a spec's.
fn parameters(read: &[String]) -> IndexMap<String, ParameterValue> {
    read.iter()
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            let value = match value {
                "true" => ParameterValue::Boolean(true),
                "false" => ParameterValue::Boolean(false),
                v => v
                    .parse::<i64>()
                    .map(ParameterValue::Integer)
                    .unwrap_or_else(|_| ParameterValue::Word(v.to_string())),
            };
            (name.to_string(), value)
        })
        .collect()
}

/// The storage parameters of the index behind key constraint `name`.
fn key_parameters(rel: &Relation, name: &str) -> IndexMap<String, ParameterValue> {
    rel.constraint_index(name)
        .map(|i| parameters(&i.parameters))
        .unwrap_or_default()
}

/// The INCLUDE columns of the index behind key constraint `name`, as a spec names them.
fn key_include(rel: &Relation, name: &str) -> Vec<String> {
    rel.constraint_index(name)
        .map(|i| i.include.iter().map(|c| unquote(c)).collect())
        .unwrap_or_default()
}

/// The spec of `rel` (functions are placed separately), and notes on what it cannot state.
pub fn relation_spec(schema: &Schema, rel: &Relation) -> (TableSpec, Notes) {
    let mut notes = Notes::default();
    let mut allow_extra = AllowExtra::default();
    let mut spec = TableSpec {
        table: rel.name.clone(),
        schema: rel.schema.clone(),
        kind: match rel.kind {
            'm' => RelationKind::MaterializedView,
            'p' => RelationKind::PartitionedTable,
            'v' => RelationKind::View,
            _ => RelationKind::Table,
        },
        definition: rel.definition.as_deref().map(view_definition),
        partition_by: rel.partition_key.clone(),
        partition_of: rel
            .partition_of
            .as_ref()
            .map(|(s, n)| qualified_name(s, n, &rel.schema)),
        inherits: rel
            .inherits
            .iter()
            .map(|(s, n)| qualified_name(s, n, &rel.schema))
            .collect(),
        partition_bound: rel.partition_bound.clone(),
        unlogged: rel.unlogged,
        populated: !rel.unpopulated,
        // DEFAULT is what a spec means when it says nothing; a view has none.
        replica_identity: (rel.kind != 'v' && rel.replica_identity != 'd')
            .then(|| {
                crate::spec::ReplicaIdentity::from_code(
                    rel.replica_identity,
                    rel.replica_index.as_deref(),
                )
            })
            .flatten(),
        // None is what a spec means when it says nothing.
        cluster_on: rel.cluster_index.clone(),
        options: crate::spec::ViewOptions::from_reloptions(&rel.view_options),
        parameters: parameters(&rel.parameters),
        migration: None,
        description: None,
        comment: rel.comment.clone(),
        requirements: vec![],
        allow_extra: AllowExtra::default(),
        columns: rel
            .columns
            .iter()
            .map(|c| (c.name.clone(), column_spec(schema, rel, c)))
            .collect(),
        primary_key: None,
        unique: IndexMap::new(),
        foreign_keys: IndexMap::new(),
        checks: IndexMap::new(),
        indexes: IndexMap::new(),
        triggers: IndexMap::new(),
        functions: IndexMap::new(),
        privileges: None,
        row_security: None,
        policies: IndexMap::new(),
        samples: vec![],
        properties: IndexMap::new(),
    };
    // What a partition inherits is its parent's, described in the parent's spec.
    for c in rel.constraints.iter().filter(|c| !c.inherited) {
        match c.kind {
            ConstraintKind::PrimaryKey => {
                spec.primary_key = Some(KeySpec {
                    name: (c.name != format!("{}_pkey", rel.name)).then(|| c.name.clone()),
                    columns: c.columns.clone(),
                    include: key_include(rel, &c.name),
                    parameters: key_parameters(rel, &c.name),
                    deferrable: c.deferrable,
                    initially_deferred: c.initially_deferred,
                    comment: c.comment.clone(),
                })
            }
            ConstraintKind::Unique => {
                spec.unique.insert(
                    c.name.clone(),
                    UniqueSpec {
                        columns: c.columns.clone(),
                        include: key_include(rel, &c.name),
                        parameters: key_parameters(rel, &c.name),
                        nulls_not_distinct: rel.unique_nulls_not_distinct(&c.name),
                        deferrable: c.deferrable,
                        initially_deferred: c.initially_deferred,
                        comment: c.comment.clone(),
                    },
                );
            }
            ConstraintKind::ForeignKey => {
                spec.foreign_keys.insert(
                    c.name.clone(),
                    ForeignKeySpec {
                        columns: c.columns.clone(),
                        references: Reference {
                            schema: c.ref_schema.clone().filter(|s| *s != rel.schema),
                            table: c.ref_table.clone().unwrap_or_default(),
                            columns: c.ref_columns.clone(),
                        },
                        on_delete: fk_action(c.on_delete),
                        on_delete_columns: c.on_delete_columns.clone(),
                        on_update: fk_action(c.on_update),
                        deferrable: c.deferrable,
                        initially_deferred: c.initially_deferred,
                        match_type: crate::spec::FkMatch::of(c.match_full),
                        // PostgreSQL marks a NOT ENFORCED key not validated; `enforced:
                        // false` says all there is to say (validity is not compared then).
                        validated: c.validated || !c.enforced,
                        enforced: c.enforced,
                        comment: c.comment.clone(),
                    },
                );
            }
            ConstraintKind::Check => {
                let rule = recognise(c.expression.as_deref().unwrap_or("true"), rel);
                spec.checks.insert(
                    c.name.clone(),
                    CheckSpec {
                        rule,
                        validated: c.validated || !c.enforced,
                        enforced: c.enforced,
                        no_inherit: c.no_inherit,
                        comment: c.comment.clone(),
                        description: None,
                    },
                );
            }
            ConstraintKind::Exclusion => {
                allow_extra.constraints = true;
                notes.top.push(format!(
                    "{}: the spec format cannot state EXCLUDE constraints, so extra constraints are allowed: {}",
                    c.name, c.definition
                ));
            }
            ConstraintKind::Other => {}
        }
    }
    for idx in rel
        .indexes
        .iter()
        .filter(|i| i.constraint.is_none() && !i.inherited)
    {
        match index_spec(rel, idx) {
            Some(s) => {
                spec.indexes.insert(idx.name.clone(), s);
            }
            None => {
                allow_extra.indexes = true;
                notes.top.push(format!(
                    "{}: access method {} has no spec spelling, so extra indexes are allowed: {}",
                    idx.name, idx.method, idx.definition
                ));
            }
        }
    }
    for t in rel.triggers.iter().filter(|t| !t.inherited) {
        if !matches!(t.enabled, 'O' | 'A') {
            notes.entry("triggers", &t.name).push(format!(
                "Disabled in the database (tgenabled = {}): `check` reports trigger.enabled until it is enabled.",
                t.enabled
            ));
        }
        spec.triggers.insert(t.name.clone(), trigger_spec(t));
    }
    spec.allow_extra = allow_extra;
    (spec, notes)
}

fn fk_action(code: Option<char>) -> FkAction {
    match code {
        Some('r') => FkAction::Restrict,
        Some('c') => FkAction::Cascade,
        Some('n') => FkAction::SetNull,
        Some('d') => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

fn method(am: &str) -> Option<IndexMethod> {
    Some(match am {
        "btree" => IndexMethod::Btree,
        "hash" => IndexMethod::Hash,
        "gin" => IndexMethod::Gin,
        "gist" => IndexMethod::Gist,
        "brin" => IndexMethod::Brin,
        "spgist" => IndexMethod::Spgist,
        _ => return None,
    })
}

/// A column name as a spec writes it: bare when PostgreSQL only quoted a keyword.
fn column_name(printed: &str) -> String {
    let name = unquote(printed);
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name
    } else {
        printed.to_string()
    }
}

fn index_spec(rel: &Relation, idx: &Index) -> Option<IndexSpec> {
    let types = |c: &str| rel.column(c).map(|col| col.type_name.clone());
    let keys = idx
        .keys
        .iter()
        .enumerate()
        .map(|(i, printed)| {
            let mut key = if rel.column(&unquote(printed)).is_some() {
                column_name(printed)
            } else {
                key_expression(printed, &types)
            };
            if let Some(Some(c)) = idx.collations.get(i) {
                key.push_str(&format!(" COLLATE {c}"));
            }
            if let Some(Some(o)) = idx.opclasses.get(i) {
                key.push_str(&format!(" {o}"));
            }
            let desc = idx.desc.get(i).copied().unwrap_or(false);
            let nulls_first = idx.nulls_first.get(i).copied().unwrap_or(desc);
            match (desc, nulls_first) {
                (false, false) => {}
                (false, true) => key.push_str(" NULLS FIRST"),
                (true, true) => key.push_str(" DESC"),
                (true, false) => key.push_str(" DESC NULLS LAST"),
            }
            key
        })
        .collect();
    Some(IndexSpec {
        keys,
        include: idx.include.iter().map(|c| unquote(c)).collect(),
        parameters: parameters(&idx.parameters),
        unique: idx.unique,
        nulls_not_distinct: idx.nulls_not_distinct,
        method: method(&idx.method)?,
        predicate: idx
            .predicate
            .as_deref()
            .map(|p| pretty(p, &types).unwrap_or_else(|| one_line(p))),
        // None of their own is what a spec means when it says nothing.
        statistics: idx
            .statistics
            .iter()
            .filter_map(|(n, target)| Some((u16::try_from(*n).ok()?, *target)))
            .collect(),
        comment: idx.comment.clone(),
        description: None,
    })
}

/// An expression key without the casts PostgreSQL added: `lower((email)::text)` →
/// `lower(email)`, `((score * (2)::numeric))` → `(score * 2)` (anything but a call keeps
/// one pair of parentheses, as `CREATE INDEX` needs); as printed when it does not parse.
fn key_expression(printed: &str, types: &dyn Fn(&str) -> Option<String>) -> String {
    match parse(printed).map(|e| e.simplified(types)) {
        Some(e @ Expr::Call(..)) => e.sql(),
        Some(e) => format!("({})", e.sql()),
        None => one_line(printed),
    }
}

fn trigger_spec(t: &Trigger) -> TriggerSpec {
    TriggerSpec {
        timing: match t.timing.as_str() {
            "before" => TriggerTiming::Before,
            "instead_of" => TriggerTiming::InsteadOf,
            _ => TriggerTiming::After,
        },
        events: t
            .events
            .iter()
            .filter_map(|e| match e.as_str() {
                "insert" => Some(TriggerEvent::Insert),
                "update" => Some(TriggerEvent::Update),
                "delete" => Some(TriggerEvent::Delete),
                "truncate" => Some(TriggerEvent::Truncate),
                _ => None,
            })
            .collect(),
        level: if t.level == "statement" {
            TriggerLevel::Statement
        } else {
            TriggerLevel::Row
        },
        function: t.function.clone(),
        always: t.enabled == 'A',
        old_table: t.old_table.clone(),
        new_table: t.new_table.clone(),
        constraint: t.constraint.is_some(),
        deferrable: t.constraint.is_some_and(|(d, _)| d),
        initially_deferred: t.constraint.is_some_and(|(_, i)| i),
        when: t.when.clone(),
        columns: t.columns.clone(),
        arguments: t.arguments.clone(),
        comment: t.comment.clone(),
        description: None,
    }
}

/// A view's query as `pg_get_viewdef` prints it, without the trailing semicolon and the
/// leading space, which `CREATE VIEW … AS` does not take.
fn view_definition(printed: &str) -> String {
    printed.trim().trim_end_matches(';').trim_end().to_string()
}
