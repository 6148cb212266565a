//! spec × catalog → findings. One module per object kind; the verifier never prints.

mod canon;
mod checks;
mod columns;
mod finding;
mod functions;
mod indexes;
mod keys;
mod migrations;
mod policies;
mod privileges;
mod roles;
pub mod security;
mod shadow;
mod site;
mod triggers;

pub use canon::canonical;
pub use finding::{Finding, Status};
pub use migrations::verify_migrations;
pub use roles::{AccessOptions, HISTORY_TABLE};
pub use shadow::{build_shadow, Shadow, ShadowFunction};

use crate::catalog::{Relation, Schema};
use crate::spec::{LoadedSpec, SpecSet};

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
    let mut out = Vec::new();
    for loaded in &specs.specs {
        let ctx = Ctx {
            loaded,
            expected: shadow.schema.relations.get(&loaded.spec.table),
        };
        let Some(rel) = actual.relations.get(&loaded.spec.table) else {
            out.push(ctx.fail(
                "table.exists",
                loaded.spec.table.clone(),
                &["table"],
                Some("present".into()),
                Some("missing".into()),
                format!("relation `{}` does not exist", loaded.spec.table),
                "apply the migration that creates it, or remove the spec",
            ));
            continue;
        };
        out.push(ctx.pass(
            "table.exists",
            loaded.spec.table.clone(),
            &["table"],
            format!("relation `{}` exists", rel.name),
        ));
        let want_kind = loaded.spec.kind.relkind();
        let kind_ok = rel.kind == want_kind;
        out.push(ctx.compare(
            "table.kind",
            rel.name.clone(),
            &["kind"],
            kind_name(want_kind),
            kind_name(rel.kind),
            kind_ok,
            "create the relation as the spec says",
        ));
        columns::verify_columns(&ctx, rel, &mut out);
        keys::verify_keys(&ctx, rel, &mut out);
        checks::verify_checks(&ctx, rel, &mut out);
        indexes::verify_indexes(&ctx, rel, &mut out);
        triggers::verify_triggers(&ctx, rel, &mut out);
    }
    for rel in actual.relations.values() {
        if specs.table(&rel.name).is_none() && !TOOL_TABLES.contains(&rel.name.as_str()) {
            out.push(Finding {
                code: "table.extra",
                table: rel.name.clone(),
                object: rel.name.clone(),
                status: Status::Fail,
                expected: Some("absent (no spec)".into()),
                actual: Some(kind_name(rel.kind).into()),
                message: format!(
                    "{} `{}` exists but no spec describes it",
                    kind_name(rel.kind),
                    rel.name
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
    let mut roles = roles::Roles::new(access, actual);
    privileges::verify_privileges(specs, actual, shadow, &mut roles, &mut out);
    policies::verify_policies(specs, actual, shadow, &mut roles, &mut out);
    security::verify_security(specs, actual, shadow, &mut out);
    roles.findings(actual, &mut out);
    out
}

fn kind_name(kind: char) -> &'static str {
    match kind {
        'r' => "table",
        'p' => "partitioned table",
        'm' => "materialized view",
        'v' => "view",
        _ => "relation",
    }
}

/// The spec being checked and its shadow relation, with constructors for findings.
pub(crate) struct Ctx<'a> {
    loaded: &'a LoadedSpec,
    expected: Option<&'a Relation>,
}

impl Ctx<'_> {
    fn table(&self) -> &str {
        &self.loaded.spec.table
    }

    fn finding(
        &self,
        code: &'static str,
        object: String,
        path: &[&str],
        status: Status,
    ) -> Finding {
        Finding {
            code,
            table: self.table().to_string(),
            object,
            status,
            expected: None,
            actual: None,
            message: String::new(),
            location: Some(self.loaded.location(path)),
            requirements: self.loaded.spec.requirements.clone(),
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
            expected,
            actual,
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
            expected: Some(expected),
            actual: Some(actual),
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
            actual: Some(actual),
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
