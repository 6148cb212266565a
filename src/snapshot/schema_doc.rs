//! One schema of the catalog → its schema document: comment, extensions, enums, domains
//! and composite types, the sequences no column describes, and the functions no relation
//! spec lists.

use indexmap::IndexMap;

use super::columns::{non_default_options, short_default, short_type};
use super::Notes;
use crate::catalog::{owned_by_text, parse_qualified, Schema, TypeDef};
use crate::spec::{
    DomainCheckSpec, ExtensionSpec, SchemaAllowExtra, SchemaSpec, SequenceSpec, TableSpec, TypeSpec,
};

/// The comment `initdb` gives the `public` schema.
const STOCK_PUBLIC_COMMENT: &str = "standard public schema";

/// The schema document of `ns`, given the relation specs already written for it (they
/// decide which sequences their columns describe).
pub fn schema_spec(schema: &Schema, ns: &str, tables: &[&TableSpec]) -> (SchemaSpec, Notes) {
    let mut notes = Notes::default();
    let mut allow_extra = SchemaAllowExtra::default();
    let others: Vec<&str> = schema
        .other_objects
        .iter()
        .filter(|o| o.schema == ns)
        .map(|o| o.description.as_str())
        .collect();
    if !others.is_empty() {
        allow_extra.other = true;
        notes.top.push(format!(
            "The spec format cannot describe these objects, so objects of such kinds are allowed: {}.",
            others.join("; ")
        ));
    }
    // Like an acknowledgement, a replica-mode role needs a reason only people know.
    for setting in &schema.access.replica_sessions {
        notes.top.push(format!(
            "Sessions of {} start in replica mode ({}), which skips triggers and foreign keys: \
             declare it under `replica_sessions:` with the reason, or `check` fails.",
            setting.role.as_deref().unwrap_or("every role"),
            setting.made_by()
        ));
    }
    let owners = crate::spec::SequenceOwners::of(tables.iter().copied());
    let spec = SchemaSpec {
        schema: ns.to_string(),
        description: None,
        requirements: vec![],
        // `public` comes with a stock comment from initdb; only another one is stated.
        comment: schema
            .namespace(ns)
            .and_then(|n| n.comment.clone())
            .filter(|c| !(ns == "public" && c == STOCK_PUBLIC_COMMENT)),
        allow_extra,
        privileges: None,
        extensions: schema
            .extensions
            .iter()
            .filter(|x| x.schema == ns)
            .map(|x| {
                (
                    x.name.clone(),
                    ExtensionSpec {
                        version: Some(x.version.clone()),
                        description: None,
                    },
                )
            })
            .collect(),
        types: schema
            .types
            .iter()
            .filter(|t| t.schema == ns)
            .map(|t| (t.name.clone(), type_spec(t)))
            .collect(),
        sequences: schema
            .sequences
            .iter()
            .filter(|s| s.schema == ns && !owners.describe(s))
            .map(|s| {
                let opts = non_default_options(s).unwrap_or_default();
                (
                    s.name.clone(),
                    SequenceSpec {
                        type_: (s.type_name != "bigint").then(|| s.type_name.clone()),
                        start: opts.start,
                        increment: opts.increment,
                        min: opts.min,
                        max: opts.max,
                        cache: opts.cache,
                        cycle: opts.cycle,
                        unlogged: s.unlogged,
                        owned_by: s.owner.as_ref().map(|o| {
                            owned_by_text(&parse_qualified(&o.table, "public").1, &o.column)
                        }),
                        comment: s.comment.clone(),
                        privileges: None,
                        description: None,
                    },
                )
            })
            .collect(),
        functions: IndexMap::new(),
        replica_sessions: IndexMap::new(),
    };
    (spec, notes)
}

fn type_spec(t: &TypeDef) -> TypeSpec {
    let mut spec = TypeSpec {
        comment: t.comment.clone(),
        nullable: true,
        ..Default::default()
    };
    match t.kind {
        'e' => spec.enum_labels = Some(t.labels.clone()),
        'c' => {
            spec.composite = Some(
                t.attributes
                    .iter()
                    .map(|(n, ty)| (n.clone(), short_type(ty)))
                    .collect(),
            )
        }
        _ => {
            let base = t.base_type.clone().unwrap_or_default();
            spec.domain = Some(short_type(&base));
            spec.nullable = t.nullable;
            spec.default = t.default.as_deref().map(|d| short_default(d, &base));
            spec.collation = t.collation.as_deref().map(|c| {
                c.strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .filter(|x| !x.contains('"'))
                    .unwrap_or(c)
                    .to_string()
            });
            spec.checks = t
                .checks
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        DomainCheckSpec {
                            sql: c.expression.clone(),
                            validated: c.validated,
                        },
                    )
                })
                .collect();
        }
    }
    spec
}

/// Whether a schema document says anything (a document for an empty schema is not
/// written).
pub fn is_empty(spec: &SchemaSpec) -> bool {
    spec.comment.is_none()
        && spec.extensions.is_empty()
        && spec.types.is_empty()
        && spec.sequences.is_empty()
        && spec.functions.is_empty()
        && spec.allow_extra == SchemaAllowExtra::default()
}
