//! The DDL that compiles specs into the shadow: schemas, extensions, types, sequences,
//! tables, function stubs, views, and the objects on tables. Pure text; `shadow.rs` runs it.

use crate::spec::{
    parse_index_key, parse_signature, rule_sql, ColumnSpec, FunctionSpec, GeneratedKind,
    RoutineKind, SchemaSpec, TableSpec, TriggerEvent, TriggerLevel, TriggerSpec, TriggerTiming,
    TypeSpec,
};
use crate::sql::{quote_ident, quote_literal};
use indexmap::IndexMap;

/// The schema that holds what the shadow needs but the specs do not name: the tables that
/// normalise the declared column types of views, and the state functions of aggregate stubs.
pub const HIDDEN_SCHEMA: &str = "reims_verify_shadow";

/// The function that shadow triggers call (they exist only to have their `WHEN` printed).
pub const SHADOW_TRIGGER_FUNCTION: &str = "reims_verify_shadow.trigger_stub";

/// One statement, with the spec key it comes from and what it is, for error messages.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The key path in the spec file.
    pub path: Vec<String>,
    /// What the statement compiles, in words (`CHECK rule`, `view definition`).
    pub what: &'static str,
    /// The SQL.
    pub sql: String,
}

impl Statement {
    fn new(path: &[&str], what: &'static str, sql: String) -> Self {
        Statement {
            path: path.iter().map(|s| s.to_string()).collect(),
            what,
            sql,
        }
    }
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A spec collation name as SQL: quoted as a whole unless the spec quotes it already.
fn collation_sql(name: &str) -> String {
    if name.contains('"') {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// `name type [COLLATE …] [NOT NULL] [GENERATED …]` for one spec column of a table.
/// `virtual_columns`: the server has VIRTUAL generated columns (PostgreSQL 18 and later);
/// without them a column the spec declares virtual is built STORED, and the comparison of
/// its kind says what the server cannot hold.
pub fn column_sql(name: &str, c: &ColumnSpec, virtual_columns: bool) -> String {
    let mut sql = format!("{} {}", quote_ident(name), c.type_);
    if let Some(coll) = &c.collation {
        sql.push_str(" COLLATE ");
        sql.push_str(&collation_sql(coll));
    }
    // NOT NULL as the spec says: attaching a partition needs it where the parent has it.
    if !c.nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(expr) = &c.generated {
        // Always the keyword: on PostgreSQL 18 a bare GENERATED ALWAYS AS is VIRTUAL.
        let kind = match c.generated_kind.unwrap_or_default() {
            GeneratedKind::Virtual if virtual_columns => GeneratedKind::Virtual,
            _ => GeneratedKind::Stored,
        };
        sql.push_str(&format!(" GENERATED ALWAYS AS ({expr}) {}", kind.sql()));
    }
    if let Some(kind) = c.identity {
        sql.push_str(&format!(" GENERATED {} AS IDENTITY", kind.sql()));
        if let Some(opts) = c
            .sequence
            .as_ref()
            .map(|o| o.sql())
            .filter(|s| !s.is_empty())
        {
            sql.push_str(&format!(" ({opts})"));
        }
    }
    sql
}

/// `name type [COLLATE …]`: a column with its type alone (what a type probe needs).
pub fn column_type_sql(name: &str, c: &ColumnSpec) -> String {
    let mut sql = format!("{} {}", quote_ident(name), c.type_);
    if let Some(coll) = &c.collation {
        sql.push_str(" COLLATE ");
        sql.push_str(&collation_sql(coll));
    }
    sql
}

/// A storage parameter's name as `SET (…)` takes it: each dotted part (`toast.`) quoted
/// as an identifier.
fn parameter_name(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// `CREATE TABLE` for a table spec (views get a hidden table instead, see
/// [`view_columns_table`]); `virtual_columns` as for [`column_sql`].
pub fn create_table(spec: &TableSpec, virtual_columns: bool) -> String {
    let cols: Vec<String> = spec
        .columns
        .iter()
        .map(|(name, c)| column_sql(name, c, virtual_columns))
        .collect();
    let partition = spec
        .partition_by
        .as_ref()
        .map(|k| format!(" PARTITION BY {k}"))
        .unwrap_or_default();
    format!(
        "CREATE {}TABLE {} ({}){partition}",
        if spec.unlogged { "UNLOGGED " } else { "" },
        qualified(&spec.schema, &spec.table),
        cols.join(", ")
    )
}

/// The hidden table that normalises a view's declared columns (types, collations,
/// defaults).
pub fn view_columns_table(spec: &TableSpec, hidden_name: &str) -> String {
    let cols: Vec<String> = spec
        .columns
        .iter()
        .map(|(name, c)| column_type_sql(name, c))
        .collect();
    format!(
        "CREATE TABLE {} ({})",
        qualified(HIDDEN_SCHEMA, hidden_name),
        cols.join(", ")
    )
}

/// `CREATE VIEW` or `CREATE MATERIALIZED VIEW … WITH NO DATA` from the spec's definition.
pub fn create_view(spec: &TableSpec) -> Statement {
    let def = spec
        .definition
        .as_deref()
        .unwrap_or("")
        .trim()
        .trim_end_matches(';');
    let name = qualified(&spec.schema, &spec.table);
    let sql = if spec.kind == crate::spec::RelationKind::MaterializedView {
        format!("CREATE MATERIALIZED VIEW {name} AS {def}\nWITH NO DATA")
    } else {
        format!("CREATE VIEW {name} AS {def}")
    };
    Statement::new(&["definition"], "view definition", sql)
}

/// `ALTER TABLE parent ATTACH PARTITION child bound`.
pub fn attach_partition(spec: &TableSpec) -> Option<Statement> {
    let parent = spec.partition_of.as_ref()?;
    let (ps, pn) = crate::catalog::parse_qualified(parent, &spec.schema);
    Some(Statement::new(
        &["partition_of"],
        "partition",
        format!(
            "ALTER TABLE {} ATTACH PARTITION {} {}",
            qualified(&ps, &pn),
            qualified(&spec.schema, &spec.table),
            spec.partition_bound.as_deref().unwrap_or("DEFAULT")
        ),
    ))
}

/// Enums, domains and composite types of a schema document.
pub fn type_statements(doc: &SchemaSpec) -> Vec<Statement> {
    doc.types
        .iter()
        .map(|(name, t)| {
            Statement::new(
                &["types", name],
                "type",
                create_type(&qualified(&doc.schema, name), t),
            )
        })
        .collect()
}

fn create_type(name: &str, t: &TypeSpec) -> String {
    if let Some(labels) = &t.enum_labels {
        let labels: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
        return format!("CREATE TYPE {name} AS ENUM ({})", labels.join(", "));
    }
    if let Some(attrs) = &t.composite {
        let attrs: Vec<String> = attrs
            .iter()
            .map(|(a, ty)| format!("{} {ty}", quote_ident(a)))
            .collect();
        return format!("CREATE TYPE {name} AS ({})", attrs.join(", "));
    }
    let mut sql = format!(
        "CREATE DOMAIN {name} AS {}",
        t.domain.as_deref().unwrap_or("text")
    );
    if let Some(c) = &t.collation {
        sql.push_str(&format!(" COLLATE {}", collation_sql(c)));
    }
    if let Some(d) = &t.default {
        sql.push_str(&format!(" DEFAULT {d}"));
    }
    if !t.nullable {
        sql.push_str(" NOT NULL");
    }
    for (cname, check) in &t.checks {
        sql.push_str(&format!(
            " CONSTRAINT {} CHECK ({})",
            quote_ident(cname),
            check.sql
        ));
    }
    sql
}

/// Standalone sequences of a schema document (ownership comes after the tables).
pub fn sequence_statements(doc: &SchemaSpec) -> Vec<Statement> {
    doc.sequences
        .iter()
        .map(|(name, s)| {
            Statement::new(
                &["sequences", name],
                "sequence",
                format!(
                    "CREATE {}SEQUENCE {} AS {} {}",
                    if s.unlogged { "UNLOGGED " } else { "" },
                    qualified(&doc.schema, name),
                    s.type_.as_deref().unwrap_or("bigint"),
                    s.options().sql()
                ),
            )
        })
        .collect()
}

/// ` NULLS NOT DISTINCT` when a unique key says so: PostgreSQL then refuses it where it
/// cannot be (before 15, or on an index that is not UNIQUE), as a spec error.
fn nulls_clause(not_distinct: bool) -> &'static str {
    if not_distinct {
        " NULLS NOT DISTINCT"
    } else {
        ""
    }
}

/// `ALTER SEQUENCE … OWNED BY table.column` for the sequences that declare an owner.
pub fn sequence_ownership(doc: &SchemaSpec) -> Vec<Statement> {
    doc.sequences
        .iter()
        .filter_map(|(name, s)| {
            let owner = s.owned_by.as_ref()?;
            let (table, column) = crate::catalog::parse_owned_by(owner)?;
            Some(Statement::new(
                &["sequences", name, "owned_by"],
                "sequence owner",
                format!(
                    "ALTER SEQUENCE {} OWNED BY {}.{}",
                    qualified(&doc.schema, name),
                    qualified(&doc.schema, &table),
                    quote_ident(&column)
                ),
            ))
        })
        .collect()
}

/// A stand-in for a spec function: the same name, arguments, result and `SET` options,
/// with a body that does nothing. Views that call the function compile against it, and
/// PostgreSQL prints its options back normalised. Aggregates get a stub state function in
/// the hidden schema. `n` makes that helper's name unique.
pub fn function_stub(schema: &str, key: &str, f: &FunctionSpec, n: usize) -> Option<Statement> {
    let (name, types) = parse_signature(key)?;
    let qname = qualified(schema, &name);
    let args = f.arguments.clone().unwrap_or_else(|| types.join(", "));
    let config: String = f
        .config
        .iter()
        .map(|(k, v)| format!(" SET {} = {}", setting_name(k), setting_value(k, v)))
        .collect();
    let sql = match f.kind {
        RoutineKind::Procedure => format!(
            "CREATE PROCEDURE {qname}({args}) LANGUAGE plpgsql{config} AS $reims_verify$BEGIN END$reims_verify$"
        ),
        RoutineKind::Aggregate => {
            let stype = f.returns.trim();
            let sfunc = qualified(HIDDEN_SCHEMA, &format!("sfunc_{n}"));
            let mut sfunc_args = vec![stype.to_string()];
            sfunc_args.extend(types.iter().cloned());
            format!(
                "CREATE FUNCTION {sfunc}({}) RETURNS {stype} LANGUAGE sql IMMUTABLE AS 'SELECT $1';\n\
                 CREATE AGGREGATE {qname}({}) (SFUNC = {sfunc}, STYPE = {stype})",
                sfunc_args.join(", "),
                types.join(", ")
            )
        }
        RoutineKind::Function => {
            let returns = f.returns.trim();
            let upper = returns.to_ascii_uppercase();
            let has_out = args
                .split(',')
                .any(|a| matches!(a.split_whitespace().next().map(str::to_ascii_uppercase).as_deref(), Some("OUT" | "INOUT")));
            let body = if upper == "VOID"
                || upper.starts_with("SETOF ")
                || upper.starts_with("TABLE")
                || has_out
            {
                "RETURN;"
            } else {
                "RETURN NULL;"
            };
            format!(
                "CREATE FUNCTION {qname}({args}) RETURNS {returns} LANGUAGE plpgsql{config} AS $reims_verify$BEGIN {body} END$reims_verify$"
            )
        }
    };
    Some(Statement::new(&["functions", key], "function", sql))
}

/// ` INCLUDE (a, b)` for a key's non-key columns; empty for none.
fn include_clause(include: &[String]) -> String {
    if include.is_empty() {
        String::new()
    } else {
        let cols: Vec<String> = include.iter().map(|c| quote_ident(c)).collect();
        format!(" INCLUDE ({})", cols.join(", "))
    }
}

/// ` WITH (fillfactor = '70')` for an index's declared storage parameters; empty for none.
fn with_clause(parameters: &IndexMap<String, crate::spec::ParameterValue>) -> String {
    if parameters.is_empty() {
        return String::new();
    }
    let each: Vec<String> = parameters
        .iter()
        .map(|(name, value)| {
            format!(
                "{} = {}",
                parameter_name(name),
                quote_literal(&value.text())
            )
        })
        .collect();
    format!(" WITH ({})", each.join(", "))
}

/// Primary key, UNIQUE constraints, defaults, CHECKs, indexes, trigger `WHEN`s and owned
/// sequence options of one relation, in that order. For a view, `target` is its hidden
/// table (defaults only); for a materialized view, the view (indexes only).
pub fn object_statements(spec: &TableSpec, hidden: Option<&str>) -> Vec<Statement> {
    let kind = spec.kind;
    let view = kind.is_view();
    let t = qualified(&spec.schema, &spec.table);
    let mut out: Vec<Statement> = Vec::new();
    let cols = |cs: &[String]| {
        cs.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(pk) = &spec.primary_key {
        let name = pk
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_pkey", spec.table));
        out.push(Statement::new(
            &["primary_key"],
            "primary key",
            format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} PRIMARY KEY ({}){}{}",
                quote_ident(&name),
                cols(&pk.columns),
                include_clause(&pk.include),
                with_clause(&pk.parameters)
            ),
        ));
    }
    for (name, u) in &spec.unique {
        out.push(Statement::new(
            &["unique", name],
            "UNIQUE constraint",
            format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} UNIQUE{} ({}){}{}",
                quote_ident(name),
                nulls_clause(u.nulls_not_distinct),
                cols(&u.columns),
                include_clause(&u.include),
                with_clause(&u.parameters)
            ),
        ));
    }
    if kind != crate::spec::RelationKind::MaterializedView {
        let target = match (view, hidden) {
            (true, Some(h)) => qualified(HIDDEN_SCHEMA, h),
            _ => t.clone(),
        };
        for (name, c) in &spec.columns {
            if let Some(d) = &c.default {
                out.push(Statement::new(
                    &["columns", name, "default"],
                    "default",
                    // ONLY: a partition states its own default.
                    format!(
                        "ALTER TABLE ONLY {target} ALTER COLUMN {} SET DEFAULT {d}",
                        quote_ident(name)
                    ),
                ));
            }
        }
    }
    // Declared storage parameters, each on its own so that a refused one is named: on a
    // table or partitioned table, or the materialized view itself.
    if kind != crate::spec::RelationKind::View {
        let alter = match kind {
            crate::spec::RelationKind::MaterializedView => "ALTER MATERIALIZED VIEW",
            _ => "ALTER TABLE",
        };
        for (name, value) in &spec.parameters {
            out.push(Statement::new(
                &["parameters", name],
                "storage parameter",
                format!(
                    "{alter} {t} SET ({} = {})",
                    parameter_name(name),
                    crate::sql::quote_literal(&value.text())
                ),
            ));
        }
    }
    // A declared storage, compression, statistics target or attribute option, on the
    // relation itself (ONLY: a partition states its own), or for a materialized view on
    // its hidden table, whose columns stand for its declared ones. On a view PostgreSQL
    // refuses it, as a spec error at the key; so it does a value out of range.
    let target = match (kind, hidden) {
        (crate::spec::RelationKind::MaterializedView, Some(h)) => qualified(HIDDEN_SCHEMA, h),
        _ => t.clone(),
    };
    for (name, c) in &spec.columns {
        if let Some(storage) = c.storage {
            out.push(Statement::new(
                &["columns", name, "storage"],
                "column storage",
                format!(
                    "ALTER TABLE ONLY {target} ALTER COLUMN {} SET STORAGE {}",
                    quote_ident(name),
                    storage.sql()
                ),
            ));
        }
        if let Some(compression) = c.compression {
            out.push(Statement::new(
                &["columns", name, "compression"],
                "column compression",
                format!(
                    "ALTER TABLE ONLY {target} ALTER COLUMN {} SET COMPRESSION {}",
                    quote_ident(name),
                    compression.sql()
                ),
            ));
        }
        if let Some(statistics) = c.statistics {
            out.push(Statement::new(
                &["columns", name, "statistics"],
                "column statistics target",
                format!(
                    "ALTER TABLE ONLY {target} ALTER COLUMN {} SET STATISTICS {statistics}",
                    quote_ident(name)
                ),
            ));
        }
        // Each option on its own, so that a refused one is named.
        for (option, value) in &c.options {
            out.push(Statement::new(
                &["columns", name, "options", option],
                "column option",
                format!(
                    "ALTER TABLE ONLY {target} ALTER COLUMN {} SET ({} = {})",
                    quote_ident(name),
                    quote_ident(option),
                    crate::sql::quote_literal(&value.text())
                ),
            ));
        }
    }
    for (name, check) in &spec.checks {
        out.push(Statement::new(
            &["checks", name, "rule"],
            "CHECK rule",
            format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({}){} NOT VALID",
                quote_ident(name),
                rule_sql(&check.rule, spec),
                if check.no_inherit { " NO INHERIT" } else { "" }
            ),
        ));
    }
    for (name, idx) in &spec.indexes {
        let keys: Vec<String> = idx
            .keys
            .iter()
            .map(|k| {
                let key = parse_index_key(k);
                let mut sql = if is_plain_column(&key.expr) {
                    quote_ident(key.expr.trim_matches('"'))
                } else {
                    format!("({})", key.expr)
                };
                if let Some(c) = &key.collation {
                    sql.push_str(&format!(" COLLATE {c}"));
                }
                if let Some(o) = &key.opclass {
                    sql.push_str(&format!(" {o}"));
                }
                if key.order != crate::spec::KeyOrder::default() {
                    sql.push_str(&format!(" {}", key.order));
                }
                sql
            })
            .collect();
        let include = if idx.include.is_empty() {
            String::new()
        } else {
            format!(" INCLUDE ({})", cols(&idx.include))
        };
        let pred = idx
            .predicate
            .as_ref()
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default();
        out.push(Statement::new(
            &["indexes", name],
            "index",
            format!(
                "CREATE {}INDEX {} ON {t} USING {} ({}){include}{}{}{pred}",
                if idx.unique { "UNIQUE " } else { "" },
                quote_ident(name),
                idx.method.am_name(),
                keys.join(", "),
                nulls_clause(idx.nulls_not_distinct),
                with_clause(&idx.parameters)
            ),
        ));
        // A declared statistics target of an expression key; on a plain column's key
        // PostgreSQL refuses it, as a spec error at the key.
        for (key, target) in &idx.statistics {
            out.push(Statement::new(
                &["indexes", name, "statistics", &key.to_string()],
                "index statistics target",
                format!(
                    "ALTER INDEX {} ALTER COLUMN {key} SET STATISTICS {target}",
                    qualified(&spec.schema, name)
                ),
            ));
        }
    }
    // A declared replica identity, after the keys and indexes it may name (ONLY: a
    // partition states its own). An index PostgreSQL cannot use (unknown, not unique,
    // partial, on a nullable column) is a spec error at the key.
    if let Some(identity) = &spec.replica_identity {
        if kind != crate::spec::RelationKind::View {
            out.push(Statement::new(
                &["replica_identity"],
                "replica identity",
                format!("ALTER TABLE ONLY {t} REPLICA IDENTITY {}", identity.sql()),
            ));
        }
    }
    // A declared clustering index, after the keys and indexes it names. On a partitioned
    // table, or with an index that is not the relation's, PostgreSQL refuses it, as a
    // spec error at the key.
    if let Some(index) = &spec.cluster_on {
        if kind != crate::spec::RelationKind::View {
            out.push(Statement::new(
                &["cluster_on"],
                "clustering index",
                format!("ALTER TABLE ONLY {t} CLUSTER ON {}", quote_ident(index)),
            ));
        }
    }
    // Triggers only where there is a WHEN condition for PostgreSQL to print.
    for (name, trig) in &spec.triggers {
        let Some(when) = &trig.when else { continue };
        if view {
            continue;
        }
        out.push(Statement::new(
            &["triggers", name, "when"],
            "trigger WHEN condition",
            format!(
                "CREATE TRIGGER {} {} {} ON {t} FOR EACH {} WHEN ({when}) EXECUTE FUNCTION {SHADOW_TRIGGER_FUNCTION}()",
                quote_ident(name),
                timing_sql(trig.timing),
                events_sql(trig),
                match trig.level {
                    TriggerLevel::Row => "ROW",
                    TriggerLevel::Statement => "STATEMENT",
                },
            ),
        ));
    }
    // The options of a serial column's sequence (identity options are inline).
    for (name, c) in &spec.columns {
        let Some(opts) = c
            .sequence
            .as_ref()
            .map(|o| o.sql())
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        if c.identity.is_some() || view {
            continue;
        }
        let table = quote_literal(&t);
        let column = quote_literal(name);
        out.push(Statement::new(
            &["columns", name, "sequence"],
            "sequence options",
            format!(
                "DO $reims_verify$BEGIN EXECUTE 'ALTER SEQUENCE ' || pg_get_serial_sequence({}, {}) || {}; END$reims_verify$",
                table,
                column,
                quote_literal(&format!(" {opts}"))
            ),
        ));
    }
    if !view {
        for (name, p) in &spec.policies {
            out.push(Statement::new(
                &["policies", name],
                "policy",
                super::policies::shadow_statement(spec, name, p),
            ));
        }
    }
    out
}

/// A setting's name as `SET` takes it: as written when it is a plain (possibly dotted)
/// name, else quoted.
fn setting_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if plain {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// A setting's value, as `proconfig` stores it (`public, pg_temp`, `8MB`), written back as
/// `SET` takes it so that PostgreSQL stores the same text: list settings element by element
/// (`'public', 'pg_temp'`), others as one literal (`'8MB'`).
fn setting_value(name: &str, value: &str) -> String {
    const LISTS: &[&str] = &[
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "shared_preload_libraries",
        "local_preload_libraries",
    ];
    if !LISTS.contains(&name.to_ascii_lowercase().as_str()) {
        return quote_literal(value);
    }
    let items = crate::sql::split_outside_quotes(value, ',', true);
    items
        .iter()
        .map(|i| quote_literal(i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn timing_sql(t: TriggerTiming) -> &'static str {
    match t {
        TriggerTiming::Before => "BEFORE",
        TriggerTiming::After => "AFTER",
        TriggerTiming::InsteadOf => "INSTEAD OF",
    }
}

/// `INSERT OR UPDATE OF a, b` for a spec trigger.
fn events_sql(trig: &TriggerSpec) -> String {
    trig.events
        .iter()
        .map(|e| match e {
            TriggerEvent::Insert => "INSERT".to_string(),
            TriggerEvent::Update if !trig.columns.is_empty() => {
                let cols: Vec<String> = trig.columns.iter().map(|c| quote_ident(c)).collect();
                format!("UPDATE OF {}", cols.join(", "))
            }
            TriggerEvent::Update => "UPDATE".to_string(),
            TriggerEvent::Delete => "DELETE".to_string(),
            TriggerEvent::Truncate => "TRUNCATE".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn is_plain_column(expr: &str) -> bool {
    let e = expr.trim_matches('"');
    !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_keep_the_signature_and_options() {
        let f: FunctionSpec = serde_saphyr::from_str(
            "returns: boolean\nlanguage: plpgsql\nvolatility: stable\nset: { search_path: 'public, pg_temp' }\n",
        )
        .unwrap();
        let s = function_stub("public", "is_ok(uuid)", &f, 0).unwrap();
        assert_eq!(
            s.sql,
            "CREATE FUNCTION \"public\".\"is_ok\"(uuid) RETURNS boolean LANGUAGE plpgsql SET search_path = 'public', 'pg_temp' AS $reims_verify$BEGIN RETURN NULL; END$reims_verify$"
        );
        assert_eq!(
            setting_value("search_path", "\"$user\", public"),
            "'$user', 'public'"
        );
        // A quoted schema name keeps its spaces; the spaces between items go.
        assert_eq!(
            setting_value("search_path", "\"a \" , public"),
            "'a ', 'public'"
        );
        assert_eq!(setting_value("work_mem", "8MB"), "'8MB'");
        let f: FunctionSpec = serde_saphyr::from_str(
            "returns: SETOF integer\narguments: p_id integer, OUT p_n integer\nlanguage: sql\nvolatility: volatile\n",
        )
        .unwrap();
        assert!(function_stub("s", "f(integer)", &f, 0)
            .unwrap()
            .sql
            .contains("\"s\".\"f\"(p_id integer, OUT p_n integer) RETURNS SETOF integer LANGUAGE plpgsql AS $reims_verify$BEGIN RETURN; END"));
        let f: FunctionSpec = serde_saphyr::from_str(
            "kind: aggregate\nreturns: text\nlanguage: internal\nvolatility: immutable\n",
        )
        .unwrap();
        let sql = function_stub("public", "group_concat(text)", &f, 3)
            .unwrap()
            .sql;
        assert!(sql.contains("CREATE AGGREGATE \"public\".\"group_concat\"(text) (SFUNC = \"reims_verify_shadow\".\"sfunc_3\", STYPE = text)"), "{sql}");
    }
}
