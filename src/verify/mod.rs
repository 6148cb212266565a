//! spec × catalog → findings. One module per object kind; the verifier never prints.

pub mod builtin;
mod canon;
mod checks;
mod columns;
mod database;
mod default_privileges;
mod extension_members;
mod finding;
mod functions;
mod indexes;
mod keys;
mod migrations;
mod policies;
pub(crate) mod privileges;
mod relations;
mod replica;
mod roles;
mod schema_objects;
pub mod security;
mod shadow;
mod shadow_cache;
mod shadow_ddl;
mod shadow_lanes;
mod site;
mod triggers;

pub use canon::{across_majors, canonical, cross_major_rules, AcrossMajors, CROSS_MAJOR_RULES};
pub use finding::{Finding, Status};
pub use migrations::{unreadable_history, verify_migrations};
pub use roles::{AccessOptions, HISTORY_TABLE};
pub use shadow::{build_shadow, Shadow, ShadowFunction};
pub use shadow_cache::{
    cached_shadow, look_up, look_up_now, prebuild, Entry, Lookup, Prebuilt, ServerState,
    ShadowInputs, ShadowSource,
};
pub use shadow_lanes::{build_shadow_on_two, MoreSessions, SessionFuture};

use crate::catalog::{relation_key, Relation, Schema};
use crate::spec::{Loaded, LoadedSpec, SchemaSpec, SpecSet, TableSpec};

/// Tables the tool itself owns and never reports as drift when no spec mentions them.
const TOOL_TABLES: &[&str] = &[];

/// Compare every spec with the database. `shadow` is the specs as PostgreSQL printed them.
/// Role variables other than `$migrator` stay unbound (see [`verify_with`]).
pub fn verify(specs: &SpecSet, actual: &Schema, shadow: &Shadow) -> Vec<Finding> {
    verify_with(specs, actual, shadow, &AccessOptions::default())
}

/// [`verify`], with the specs' role variables bound as `access` says.
pub fn verify_with(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    access: &AccessOptions,
) -> Vec<Finding> {
    let mut found = Vec::new();
    verify_into(specs, actual, shadow, access, &mut found);
    found
}

/// [`verify_with`], adding the findings to `found`, in the order of the specs. The
/// relations are compared a block at a time, the relations of a block on every core (each
/// relation's comparison reads only its spec, the catalog and the shadow), and each block's
/// findings are moved into `found` in order before the next block starts: `check` passes a
/// [`crate::run::FindingSink`], which writes them to its spool as they come, so no more
/// than a block's findings are ever in memory.
pub fn verify_into(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    access: &AccessOptions,
    found: &mut impl Extend<Finding>,
) {
    for block in specs.specs.chunks(RELATIONS_PER_BLOCK) {
        let parts = crate::parallel::map_in_order(block, RELATIONS_PER_THREAD, |loaded| {
            let mut out = Vec::new();
            verify_relation_spec(loaded, actual, shadow, &mut out);
            out
        });
        for part in parts {
            found.extend(part);
        }
    }
    let mut out = Vec::new();
    let specified = specs.relation_index();
    for (key, rel) in &actual.relations {
        let allowed = specs
            .schema_doc(&rel.schema)
            .is_some_and(|d| d.spec.allow_extra.relations);
        if !specified.contains_key(&(rel.schema.as_str(), rel.name.as_str()))
            && !TOOL_TABLES.contains(&key.as_str())
            && !allowed
        {
            out.push(Finding {
                repro: None,
                code: "table.extra",
                table: key.as_str().into(),
                object: key.as_str().into(),
                status: Status::Fail,
                expected: Some("absent (no spec)".into()),
                actual: Some(crate::catalog::relkind_name(rel.kind).into()),
                message: format!(
                    "{} `{key}` exists but no spec describes it",
                    crate::catalog::relkind_name(rel.kind),
                ),
                location: None,
                requirements: vec![],
                hint: Some(
                    "write a spec for it (`reims-verify spec snapshot` can start one), or drop it"
                        .into(),
                ),
            });
        }
    }
    functions::verify_functions(specs, actual, shadow, &mut out);
    schema_objects::verify_schema_objects(specs, actual, shadow, &mut out);
    extension_members::verify_extension_members(specs, actual, shadow, &mut out);
    let mut roles = roles::Roles::new(access, actual);
    privileges::verify_privileges(specs, actual, shadow, &mut roles, &mut out);
    policies::verify_policies(specs, actual, shadow, &mut roles, &mut out);
    security::verify_security(specs, actual, shadow, &mut out);
    replica::verify_replica_sessions(specs, actual, &mut roles, &mut out);
    default_privileges::verify_default_privileges(actual, &mut out);
    database::verify_database(specs, actual, &mut roles, access.handed_over, &mut out);
    roles.findings(actual, &mut out);
    found.extend(out.drain(..));
}

/// Relations whose findings are gathered before they are moved on: a few megabytes of
/// findings at most.
const RELATIONS_PER_BLOCK: usize = 256;

/// Relations a thread compares at least: fewer are not worth starting one (REIMS, with a
/// few dozen, is compared on the calling thread alone).
const RELATIONS_PER_THREAD: usize = 64;

/// Every finding of one relation spec: whether the relation exists, then its kind, columns,
/// keys, CHECKs, indexes and triggers.
fn verify_relation_spec(
    loaded: &LoadedSpec,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    let key = relation_key(&loaded.spec.schema, &loaded.spec.table);
    let ctx = Ctx::relation(loaded, shadow.schema.relations.get(&key));
    let Some(rel) = actual.relations.get(&key) else {
        out.push(ctx.fail(
            "table.exists",
            key.clone(),
            &["table"],
            Some("present".into()),
            Some("missing".into()),
            format!("relation `{key}` does not exist"),
            "apply the migration that creates it, or remove the spec",
        ));
        return;
    };
    out.push(ctx.pass(
        "table.exists",
        key.clone(),
        &["table"],
        format!("relation `{key}` exists"),
    ));
    relations::verify_relation(&ctx, rel, out);
    columns::verify_columns(&ctx, rel, actual, shadow, out);
    let major = privileges::major(&actual.server_version);
    keys::verify_keys(&ctx, rel, major, out);
    checks::verify_checks(&ctx, rel, major, out);
    indexes::verify_indexes(&ctx, rel, out);
    triggers::verify_triggers(&ctx, rel, out);
}

/// What a spec document states about requirements, for findings.
pub(crate) trait Requirements {
    /// The business requirements the document serves.
    fn requirements(&self) -> &[String];
}

impl Requirements for TableSpec {
    fn requirements(&self) -> &[String] {
        &self.requirements
    }
}

impl Requirements for SchemaSpec {
    fn requirements(&self) -> &[String] {
        &self.requirements
    }
}

/// The spec being checked and its shadow relation, with constructors for findings.
pub(crate) struct Ctx<'a, T = TableSpec> {
    loaded: &'a Loaded<T>,
    /// What findings name as their table: the relation key, `functions`, or `schema …`.
    table: String,
    expected: Option<&'a Relation>,
}

impl<'a> Ctx<'a, TableSpec> {
    fn relation(loaded: &'a LoadedSpec, expected: Option<&'a Relation>) -> Self {
        Ctx {
            loaded,
            table: relation_key(&loaded.spec.schema, &loaded.spec.table),
            expected,
        }
    }
}

impl<'a, T: Requirements> Ctx<'a, T> {
    /// A context for findings about schema-level objects of `loaded`, grouped under `table`.
    fn document(loaded: &'a Loaded<T>, table: String) -> Self {
        Ctx {
            loaded,
            table,
            expected: None,
        }
    }

    fn table(&self) -> &str {
        &self.table
    }

    /// A `*.comment` finding when the spec declares a comment; nothing otherwise.
    fn comment(
        &self,
        code: &'static str,
        object: String,
        path: &[&str],
        want: Option<&str>,
        got: Option<&str>,
    ) -> Option<Finding> {
        let want = want?;
        let got_text = got.unwrap_or("");
        Some(self.compare(
            code,
            object,
            path,
            want.trim(),
            if got.is_some() {
                got_text.trim()
            } else {
                "no comment"
            },
            got.is_some() && want.trim() == got_text.trim(),
            "set it with COMMENT ON in a migration, or correct the spec's comment",
        ))
    }

    fn finding(
        &self,
        code: &'static str,
        object: String,
        path: &[&str],
        status: Status,
    ) -> Finding {
        Finding {
            repro: None,
            code,
            table: self.table().into(),
            object: object.into(),
            status,
            expected: None,
            actual: None,
            message: String::new(),
            location: Some(self.loaded.location(path)),
            requirements: self.loaded.spec.requirements().to_vec(),
            hint: None,
        }
    }

    fn pass(&self, code: &'static str, object: String, path: &[&str], message: String) -> Finding {
        Finding {
            message,
            ..self.finding(code, object, path, Status::Pass)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &self,
        code: &'static str,
        object: String,
        path: &[&str],
        expected: Option<String>,
        actual: Option<String>,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding {
            expected: expected.map(Into::into),
            actual: actual.map(Into::into),
            message,
            hint: Some(hint.to_string()),
            ..self.finding(code, object, path, Status::Fail)
        }
    }

    /// A finding that passes when `ok`, showing expected and actual either way.
    #[allow(clippy::too_many_arguments)]
    fn compare(
        &self,
        code: &'static str,
        object: String,
        path: &[&str],
        expected: impl Into<String>,
        actual: impl Into<String>,
        ok: bool,
        hint: &str,
    ) -> Finding {
        let (expected, actual) = (expected.into(), actual.into());
        let what = code.split('.').nth(1).unwrap_or(code).replace('_', " ");
        let message = if ok {
            format!("{object}: {what} is {actual}")
        } else {
            format!("{object}: {what} is {actual}, spec says {expected}")
        };
        Finding {
            expected: Some(expected.into()),
            actual: Some(actual.into()),
            message,
            hint: (!ok).then(|| hint.to_string()),
            ..self.finding(
                code,
                object,
                path,
                if ok { Status::Pass } else { Status::Fail },
            )
        }
    }

    /// An object present in the database that the spec does not list.
    fn extra(
        &self,
        code: &'static str,
        object: String,
        section: &str,
        actual: String,
        allowed: bool,
    ) -> Option<Finding> {
        if allowed {
            return None;
        }
        Some(Finding {
            expected: Some("absent".into()),
            actual: Some(actual.into()),
            message: format!("{object} exists but the spec does not list it under `{section}`"),
            hint: Some(format!(
                "add it to the spec under `{section}`, drop it, or set allow_extra.{}",
                allow_key(section)
            )),
            ..self.finding(code, object, &[section], Status::Fail)
        })
    }
}

fn allow_key(section: &str) -> &str {
    match section {
        "checks" | "unique" | "foreign_keys" => "constraints",
        other => other,
    }
}
