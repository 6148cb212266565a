//! The coherence of a spec's access-control parts, checked as each document loads:
//! privilege names fit the object kind, role names are names or `$variables`, column grants
//! name spec columns, policies are ones PostgreSQL accepts, and acknowledgements name a
//! built-in security check. Apart from the privileges' types so that the spec model, which
//! holds those types, and these checks, which read the loaded documents, do not import each
//! other.

use indexmap::IndexMap;

use super::loaded::{spec_error, Loaded, LoadedDatabase, LoadedSchema, LoadedSpec};
use super::model::RelationKind;
use super::privileges::{
    check_role_name, parse_grants, AclKind, ObjectPrivileges, ACKNOWLEDGEABLE,
};
use crate::error::Result;

/// Check a list of privileges for `kind` at `path`; PUBLIC cannot hold a grant option.
fn check_list<T>(
    loaded: &Loaded<T>,
    path: &[&str],
    entries: &[String],
    kind: AclKind,
    public: bool,
) -> Result<()> {
    let grants = parse_grants(entries, kind).map_err(|m| {
        spec_error(
            loaded,
            path,
            m,
            "write privileges as PostgreSQL names them, in lower case",
        )
    })?;
    if public && grants.iter().any(|g| g.grant_option) {
        return Err(spec_error(
            loaded,
            path,
            "PUBLIC cannot hold a grant option".into(),
            "drop `with grant option` from the public list",
        ));
    }
    Ok(())
}

fn check_roles<T>(
    loaded: &Loaded<T>,
    base: &[&str],
    roles: &IndexMap<String, Vec<String>>,
    kind: AclKind,
) -> Result<()> {
    for (role, list) in roles {
        let mut path = base.to_vec();
        path.push(role);
        check_role_name(role).map_err(|m| {
            spec_error(
                loaded,
                &path,
                m,
                "name a role as PostgreSQL stores it, or a `$variable` bound with --role",
            )
        })?;
        check_list(loaded, &path, list, kind, false)?;
    }
    Ok(())
}

fn check_object<T>(
    loaded: &Loaded<T>,
    base: &[&str],
    owner: Option<&String>,
    public: Option<&Vec<String>>,
    roles: &IndexMap<String, Vec<String>>,
    kind: AclKind,
) -> Result<()> {
    if let Some(owner) = owner {
        let mut path = base.to_vec();
        path.push("owner");
        check_role_name(owner).map_err(|m| {
            spec_error(
                loaded,
                &path,
                m,
                "name the owning role, or `$migrator` for the role that ran the migrations",
            )
        })?;
    }
    if let Some(public) = public {
        let mut path = base.to_vec();
        path.push("public");
        check_list(loaded, &path, public, kind, true)?;
    }
    let mut path = base.to_vec();
    path.push("roles");
    check_roles(loaded, &path, roles, kind)
}

/// [`check_object`] of the privileges of a schema, sequence or function.
fn check_privileges<T>(
    loaded: &Loaded<T>,
    base: &[&str],
    p: &ObjectPrivileges,
    kind: AclKind,
) -> Result<()> {
    check_object(
        loaded,
        base,
        p.owner.as_ref(),
        p.public.as_ref(),
        &p.roles,
        kind,
    )
}

/// Coherence of a spec's access-control parts: privilege names fit the object kind, role
/// names are names or `$variables`, column grants name spec columns, policies are ones
/// PostgreSQL accepts, and acknowledgements name a built-in security check with a reason.
pub(crate) fn validate(loaded: &LoadedSpec) -> Result<()> {
    let s = &loaded.spec;
    if let Some(p) = &s.privileges {
        check_object(
            loaded,
            &["privileges"],
            p.owner.as_ref(),
            p.public.as_ref(),
            &p.roles,
            AclKind::Relation,
        )?;
        for (col, grants) in &p.columns {
            let base = ["privileges", "columns", col.as_str()];
            if !s.columns.contains_key(col) {
                return Err(spec_error(
                    loaded,
                    &base,
                    format!("`{col}` is not a column of `{}`", s.table),
                    "name a column listed under `columns`",
                ));
            }
            let mut path = base.to_vec();
            path.push("public");
            check_list(loaded, &path, &grants.public, AclKind::Column, true)?;
            let mut path = base.to_vec();
            path.push("roles");
            check_roles(loaded, &path, &grants.roles, AclKind::Column)?;
        }
    }
    for (seq, p) in s.privileges.iter().flat_map(|p| &p.sequences) {
        check_privileges(
            loaded,
            &["privileges", "sequences", seq],
            p,
            AclKind::Sequence,
        )?;
    }
    let rls_kind = matches!(s.kind, RelationKind::Table | RelationKind::PartitionedTable);
    if !rls_kind && (s.row_security.is_some() || !s.policies.is_empty()) {
        let key = if s.row_security.is_some() {
            "row_security"
        } else {
            "policies"
        };
        return Err(spec_error(
            loaded,
            &[key],
            "row-level security applies to tables and partitioned tables only".into(),
            "remove row_security and policies from this spec",
        ));
    }
    for (name, p) in &s.policies {
        if let Some((key, message)) = super::policy::policy_problem(p) {
            return Err(spec_error(
                loaded,
                &["policies", name, key],
                message,
                "write the policy as CREATE POLICY would accept it",
            ));
        }
    }
    validate_functions(loaded, &s.functions)
}

/// The access-control parts of a schema document: the schema's own privileges, its
/// sequences' and its functions'.
/// The database document's privileges fit a database: `connect`, `create`, `temporary`.
pub(crate) fn validate_database_doc(loaded: &LoadedDatabase) -> Result<()> {
    match &loaded.spec.database.privileges {
        Some(p) => check_privileges(loaded, &["database", "privileges"], p, AclKind::Database),
        None => Ok(()),
    }
}

pub(crate) fn validate_schema_doc(loaded: &LoadedSchema) -> Result<()> {
    let s = &loaded.spec;
    if let Some(p) = &s.privileges {
        check_privileges(loaded, &["privileges"], p, AclKind::Schema)?;
    }
    for (role, reason) in &s.replica_sessions {
        let path = ["replica_sessions", role.as_str()];
        if role != "public" {
            check_role_name(role).map_err(|m| {
                spec_error(
                    loaded,
                    &path,
                    m,
                    "name a role as PostgreSQL stores it, a `$variable` bound with --role, or `public` for every role",
                )
            })?;
        }
        if reason.trim().is_empty() {
            return Err(spec_error(
                loaded,
                &path,
                "a role's replica-mode sessions need a reason".into(),
                "say why its sessions skip triggers and foreign keys; the reason is shown in the report",
            ));
        }
    }
    for (name, ty) in &s.types {
        if let Some(p) = &ty.privileges {
            check_privileges(loaded, &["types", name, "privileges"], p, AclKind::Type)?;
        }
    }
    for (name, seq) in &s.sequences {
        if let Some(p) = &seq.privileges {
            check_privileges(
                loaded,
                &["sequences", name, "privileges"],
                p,
                AclKind::Sequence,
            )?;
        }
    }
    validate_functions(loaded, &s.functions)
}

fn validate_functions<T>(
    loaded: &Loaded<T>,
    functions: &IndexMap<String, super::model::FunctionSpec>,
) -> Result<()> {
    for (sig, f) in functions {
        if let Some(p) = &f.privileges {
            check_privileges(
                loaded,
                &["functions", sig, "privileges"],
                p,
                AclKind::Function,
            )?;
        }
        for (code, reason) in &f.acknowledge {
            let path = ["functions", sig.as_str(), "acknowledge", code.as_str()];
            if !ACKNOWLEDGEABLE.contains(&code.as_str()) {
                return Err(spec_error(
                    loaded,
                    &path,
                    format!("`{code}` is not a security check that can be acknowledged"),
                    &format!("acknowledge one of {}", ACKNOWLEDGEABLE.join(", ")),
                ));
            }
            if reason.trim().is_empty() {
                return Err(spec_error(
                    loaded,
                    &path,
                    "an acknowledgement needs a reason".into(),
                    "say why it is intended; the reason is shown in the report",
                ));
            }
        }
    }
    Ok(())
}
