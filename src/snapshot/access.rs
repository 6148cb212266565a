//! Access control as a snapshot writes it: every relation's and function's owner and
//! grants (always written, so that a snapshot states who may do what), column grants,
//! row-level security and policies.
//!
//! The owner is written `$migrator` when it is the role that ran the migrations (the owner
//! of `schema_migrations`, or the role bound with `--role migrator=…`), and a role bound
//! with `--role NAME=ROLE` is written `$NAME`, so that the same specs hold on a server
//! whose roles are named differently.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::pretty::{one_line, pretty};
use crate::catalog::{
    function_key, parse_qualified, relation_key, Acl, AclEntry, Function, Relation, Schema,
};
use crate::spec::database_doc::{DatabaseDocument, DatabaseSpec};
use crate::spec::privileges::{AclKind, MIGRATOR};
use crate::spec::{
    ColumnPrivileges, ObjectPrivileges, PolicyCommand, PolicySpec, RelationPrivileges, RowSecurity,
    SchemaSpec,
};
use crate::verify::HISTORY_TABLE;

/// How server roles are written in the specs.
#[derive(Debug, Clone, Default)]
pub struct RoleNames {
    /// The migrating role, written `$migrator`.
    migrator: Option<String>,
    /// Role → `$variable`, from `--role NAME=ROLE`.
    variables: BTreeMap<String, String>,
}

impl RoleNames {
    /// From the command line's bindings (variable → role) and the catalog.
    pub fn new(bindings: &BTreeMap<String, String>, schema: &Schema) -> Self {
        let migrator = bindings.get("migrator").cloned().or_else(|| {
            schema
                .access
                .relations
                .get(HISTORY_TABLE)
                .map(|a| a.owner.clone())
        });
        let variables = bindings
            .iter()
            .filter(|(v, _)| v.as_str() != "migrator")
            .map(|(v, r)| (r.clone(), format!("${v}")))
            .collect();
        RoleNames {
            migrator,
            variables,
        }
    }

    /// A role as the spec writes it.
    pub fn name(&self, role: &str) -> String {
        if self.migrator.as_deref() == Some(role) {
            return MIGRATOR.to_string();
        }
        self.variables
            .get(role)
            .cloned()
            .unwrap_or_else(|| role.to_string())
    }
}

/// Privilege → grant option, for one grantee.
type Held = BTreeMap<String, bool>;

fn by_grantee(entries: &[AclEntry]) -> BTreeMap<Option<String>, Held> {
    let mut out: BTreeMap<Option<String>, Held> = BTreeMap::new();
    for e in entries {
        *out.entry(e.grantee.clone())
            .or_default()
            .entry(e.privilege.clone())
            .or_insert(false) |= e.grantable;
    }
    out
}

/// A held set as a spec list: `[all]`, `[all with grant option]`, or each privilege.
fn list(held: &Held, all: &[String]) -> Vec<String> {
    if all.len() > 1 && held.len() == all.len() && all.iter().all(|p| held.contains_key(p)) {
        for option in [false, true] {
            if held.values().all(|g| *g == option) {
                return vec![if option {
                    "all with grant option"
                } else {
                    "all"
                }
                .into()];
            }
        }
    }
    held.iter()
        .map(|(p, g)| {
            let p = p.to_ascii_lowercase();
            if *g {
                format!("{p} with grant option")
            } else {
                p
            }
        })
        .collect()
}

fn all_of(kind: AclKind, schema: &Schema) -> Vec<String> {
    match kind.acl_letter() {
        Some(letter) => schema.access.all_of(letter).to_vec(),
        None => kind.known().iter().map(|s| s.to_string()).collect(),
    }
}

/// Owner, PUBLIC and role grants of an ACL, as a spec states them.
fn object(
    acl: &Acl,
    kind: AclKind,
    schema: &Schema,
    names: &RoleNames,
) -> (String, Vec<String>, IndexMap<String, Vec<String>>) {
    let all = all_of(kind, schema);
    let mut held = by_grantee(&acl.entries);
    let public = held.remove(&None).unwrap_or_default();
    let mut roles = IndexMap::new();
    let owner_set = held.remove(&Some(acl.owner.clone())).unwrap_or_default();
    let owner_full = all.iter().all(|p| owner_set.contains_key(p));
    if !owner_full {
        roles.insert(names.name(&acl.owner), list(&owner_set, &all));
    }
    for (grantee, set) in held {
        let Some(grantee) = grantee else { continue };
        roles.insert(names.name(&grantee), list(&set, &all));
    }
    (names.name(&acl.owner), list(&public, &all), roles)
}

/// The `privileges:` of a relation (always written), with its column grants.
pub fn relation_privileges(
    rel: &Relation,
    schema: &Schema,
    names: &RoleNames,
) -> Option<RelationPrivileges> {
    let key = relation_key(&rel.schema, &rel.name);
    let acl = schema.access.relations.get(&key)?;
    let (owner, public, roles) = object(acl, AclKind::Relation, schema, names);
    let mut columns = IndexMap::new();
    if let Some(cols) = schema.access.columns.get(&key) {
        // In column order.
        for c in &rel.columns {
            let Some(entries) = cols.get(&c.name) else {
                continue;
            };
            let all = all_of(AclKind::Column, schema);
            let mut held = by_grantee(entries);
            let public = held
                .remove(&None)
                .map(|s| list(&s, &all))
                .unwrap_or_default();
            let roles: IndexMap<String, Vec<String>> = held
                .into_iter()
                .filter_map(|(g, s)| g.map(|g| (names.name(&g), list(&s, &all))))
                .collect();
            if !public.is_empty() || !roles.is_empty() {
                columns.insert(c.name.clone(), ColumnPrivileges { public, roles });
            }
        }
    }
    // Grants on the sequences its columns own, when there are any.
    let mut sequences = IndexMap::new();
    for (name, seq) in &schema.access.relations {
        if seq.kind != 'S' || seq.owned_by.as_deref() != Some(key.as_str()) {
            continue;
        }
        let (seq_owner, seq_public, seq_roles) = object(seq, AclKind::Sequence, schema, names);
        if seq_owner == owner && seq_public.is_empty() && seq_roles.is_empty() {
            continue;
        }
        sequences.insert(
            parse_qualified(name, "public").1,
            ObjectPrivileges {
                owner: (seq_owner != owner).then_some(seq_owner),
                public: (!seq_public.is_empty()).then_some(seq_public),
                roles: seq_roles,
            },
        );
    }
    Some(RelationPrivileges {
        owner: Some(owner),
        public: Some(public),
        roles,
        columns,
        sequences,
    })
}

/// The `privileges:` of a function (always written).
pub fn function_privileges(
    f: &Function,
    schema: &Schema,
    names: &RoleNames,
) -> Option<ObjectPrivileges> {
    let facl = schema
        .access
        .functions
        .get(&function_key(&f.schema, &f.name, &f.arg_types))?;
    let (owner, public, roles) = object(&facl.acl, AclKind::Function, schema, names);
    Some(ObjectPrivileges {
        // The owner is stated only when it is not the migrating role (the default).
        owner: (owner != MIGRATOR).then_some(owner),
        public: Some(public),
        roles,
    })
}

/// `row_security` (always written for a table) and its policies.
pub fn row_security(
    rel: &Relation,
    schema: &Schema,
    names: &RoleNames,
) -> (Option<RowSecurity>, IndexMap<String, PolicySpec>) {
    if !matches!(rel.kind, 'r' | 'p') {
        return (None, IndexMap::new());
    }
    let Some(sec) = schema
        .access
        .row_security
        .get(&relation_key(&rel.schema, &rel.name))
    else {
        return (Some(RowSecurity::default()), IndexMap::new());
    };
    let types = |c: &str| rel.column(c).map(|col| col.type_name.clone());
    let expr = |e: &Option<String>| {
        e.as_deref()
            .map(|p| pretty(p, &types).unwrap_or_else(|| one_line(p)))
    };
    let policies = sec
        .policies
        .iter()
        .map(|p| {
            let spec = PolicySpec {
                command: PolicyCommand::from_polcmd(p.command).unwrap_or_default(),
                roles: p
                    .roles
                    .iter()
                    .map(|r| {
                        if r == crate::spec::policy::PUBLIC_ROLE {
                            r.clone()
                        } else {
                            names.name(r)
                        }
                    })
                    .collect(),
                restrictive: !p.permissive,
                using: expr(&p.using),
                with_check: expr(&p.with_check),
                description: None,
            };
            (p.name.clone(), spec)
        })
        .collect();
    (
        Some(RowSecurity {
            enabled: sec.enabled,
            forced: sec.forced,
        }),
        policies,
    )
}

/// Comments for a SECURITY DEFINER function that `check` will report: a snapshot never
/// acknowledges a security finding; a person decides.
pub fn security_notes(f: &Function, schema: &Schema) -> Vec<String> {
    let Some(f) = schema
        .access
        .functions
        .get(&function_key(&f.schema, &f.name, &f.arg_types))
    else {
        return vec![];
    };
    if !f.security_definer {
        return vec![];
    }
    let mut out = Vec::new();
    if let Some(problem) = crate::verify::security::search_path_problem(
        &f.config,
        &schema.access.public_writable_schemas,
    ) {
        out.push(format!(
            "SECURITY DEFINER, and {problem}: `check` reports security.definer_search_path until it is pinned, or until you acknowledge it here with a reason (`acknowledge:`)."
        ));
    }
    let public = f
        .acl
        .entries
        .iter()
        .any(|e| e.grantee.is_none() && e.privilege == "EXECUTE");
    if public {
        out.push("SECURITY DEFINER and executable by PUBLIC: `check` reports security.definer_public_execute until EXECUTE is revoked from PUBLIC, or until you acknowledge it here with a reason (`acknowledge:`).".to_string());
    }
    out
}

/// The database document, with its comments, when the database's grants differ from
/// PostgreSQL's default (PUBLIC may connect and make temporary tables, nobody else holds
/// anything) or it holds objects of no schema (event triggers, publications, casts, …),
/// which the document then accepts, naming them in a comment. The owner is left out: the
/// database document compares an owner only when it names one.
pub fn database_document(
    schema: &Schema,
    names: &RoleNames,
) -> Option<(DatabaseDocument, super::Notes)> {
    let mut notes = super::Notes::default();
    let mut privileges = None;
    if let Some(db) = schema.access.database.as_ref() {
        let (_, mut public, roles) = object(&db.acl, AclKind::Database, schema, names);
        public.sort();
        if public != ["connect", "temporary"] || !roles.is_empty() {
            privileges = Some(ObjectPrivileges {
                owner: None,
                public: Some(public),
                roles,
            });
        }
    }
    let objects = &schema.database_objects;
    if !objects.is_empty() {
        notes.top.push(format!(
            "The spec format cannot describe these objects of the database, so such objects are accepted: {}.",
            objects
                .iter()
                .map(|o| format!("{} ({})", o.description, o.detail))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let extra_schemas: Vec<String> = schema
        .unread_schemas
        .iter()
        .filter(|s| {
            !s.is_untouched_public() && !s.is_the_attempt_log() && !s.holds_only_extensions()
        })
        .map(|s| s.name.clone())
        .collect();
    if !extra_schemas.is_empty() {
        notes.top.push(format!(
            "These schemas were not snapshotted, so they are accepted unread: {}.",
            schema
                .unread_schemas
                .iter()
                .filter(|s| extra_schemas.contains(&s.name))
                .map(|s| s.describe())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if privileges.is_none() && objects.is_empty() && extra_schemas.is_empty() {
        return None;
    }
    Some((
        DatabaseDocument {
            database: DatabaseSpec {
                privileges,
                allow_extra: !objects.is_empty(),
                extra_schemas,
                allow_role_settings: false,
            },
        },
        notes,
    ))
}

/// The schema document's `privileges:` when the schema's owner or grants differ from what a
/// fresh database has, and each standalone sequence's when it has any grant or another
/// owner than the migrating role.
pub fn schema_doc_privileges(doc: &mut SchemaSpec, schema: &Schema, names: &RoleNames) {
    if let Some(acl) = schema.access.schemas.get(&doc.schema) {
        let (owner, public, roles) = object(acl, AclKind::Schema, schema, names);
        let (default_owner, default_public) =
            crate::verify::privileges::fresh_schema_default(&doc.schema, schema);
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if owner != default_owner || sorted(&public) != sorted(&default_public) || !roles.is_empty()
        {
            doc.privileges = Some(ObjectPrivileges {
                owner: (owner != default_owner).then_some(owner),
                public: Some(public),
                roles,
            });
        }
    }
    for (name, ty) in doc.types.iter_mut() {
        let Some(acl) = schema.access.types.get(&relation_key(&doc.schema, name)) else {
            continue;
        };
        let (owner, public, roles) = object(acl, AclKind::Type, schema, names);
        let default_public = public == ["usage"];
        if owner != MIGRATOR || !default_public || !roles.is_empty() {
            ty.privileges = Some(ObjectPrivileges {
                owner: (owner != MIGRATOR).then_some(owner),
                public: (!default_public).then_some(public),
                roles,
            });
        }
    }
    for (name, seq) in doc.sequences.iter_mut() {
        let Some(acl) = schema
            .access
            .relations
            .get(&relation_key(&doc.schema, name))
        else {
            continue;
        };
        if acl.owned_by.is_some() {
            continue; // granted in its relation's spec
        }
        let (owner, public, roles) = object(acl, AclKind::Sequence, schema, names);
        if owner != MIGRATOR || !public.is_empty() || !roles.is_empty() {
            seq.privileges = Some(ObjectPrivileges {
                owner: (owner != MIGRATOR).then_some(owner),
                public: (!public.is_empty()).then_some(public),
                roles,
            });
        }
    }
}
