//! Built-in security findings, made for every function of the checked schema whether or not
//! a spec lists it:
//!
//! - `security.definer_search_path`: a SECURITY DEFINER function runs with its owner's
//!   privileges, so every name it resolves through `search_path` is a way in (the
//!   CVE-2018-1058 class). Its `search_path` is *pinned* when the function sets it
//!   (`SET search_path = …`) and the list
//!   1. does not contain `$user`,
//!   2. contains no schema in which PUBLIC may create objects, and
//!   3. lists `pg_temp` last (unlisted, the session's temporary schema is searched *first*
//!      for tables and types, so any caller could shadow a table the function uses).
//!
//!   `SET search_path = ''` therefore does not count as pinned; `SET search_path =
//!   pg_catalog, pg_temp` or `= app_schema, pg_temp` do.
//! - `security.definer_public_execute`: a SECURITY DEFINER function that PUBLIC may
//!   execute (the default unless EXECUTE was revoked from PUBLIC).
//!
//! A function's spec can acknowledge either check with a reason (`acknowledge:`); the
//! finding then passes and says why.

use super::privileges::function_site;
use super::site::Site;
use super::{Finding, Shadow};
use crate::catalog::{function_key, FunctionAcl, Schema};
use crate::spec::{FunctionSpec, SpecSet};

/// Split a `search_path` setting as stored in `proconfig` into schema names (quotes
/// removed; unquoted names are already folded to lower case by PostgreSQL).
pub fn search_path_entries(value: &str) -> Vec<String> {
    let mut entries = crate::sql::split_outside_quotes(value, ',', true);
    entries.retain(|e| !e.is_empty());
    entries
}

/// Why a SECURITY DEFINER function's `search_path` is not pinned, or `None` when it is.
/// `config` is `pg_proc.proconfig`; `public_writable` the schemas PUBLIC may create in.
pub fn search_path_problem(config: &[String], public_writable: &[String]) -> Option<String> {
    let Some(value) = config.iter().find_map(|c| c.strip_prefix("search_path=")) else {
        return Some(
            "it does not SET search_path, so it resolves names through the caller's search_path"
                .into(),
        );
    };
    let entries = search_path_entries(value);
    let mut problems = Vec::new();
    if entries.iter().any(|e| e == "$user") {
        problems.push("its search_path contains \"$user\"".to_string());
    }
    for e in &entries {
        if public_writable.contains(e) {
            problems.push(format!(
                "its search_path contains schema {e}, in which PUBLIC may create objects"
            ));
        }
    }
    match entries.iter().position(|e| e == "pg_temp") {
        None => problems.push(
            "its search_path does not list pg_temp, which is then searched first for tables and types; list it last"
                .to_string(),
        ),
        Some(i) if i + 1 != entries.len() => {
            problems.push("pg_temp is not the last entry of its search_path".to_string())
        }
        Some(_) => {}
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The built-in security findings for every function of `actual`.
pub(crate) fn verify_security(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    for (signature, facl) in &actual.access.functions {
        if !facl.security_definer {
            continue;
        }
        let listed = shadow
            .functions
            .iter()
            .find(|sf| function_key(&sf.schema, &sf.name, &sf.arg_types) == *signature)
            .and_then(|sf| function_site(specs, sf));
        let search_path = search_path_problem(&facl.config, &actual.access.public_writable_schemas);
        out.push(security_finding(
            "security.definer_search_path",
            signature,
            facl,
            listed.as_ref(),
            search_path.map(|p| format!("SECURITY DEFINER function {signature}: {p}")),
            "search_path pinned",
            "ALTER FUNCTION … SET search_path = <trusted schemas>, pg_temp (qualify names in the body as needed), or acknowledge it in the function's spec with a reason",
        ));
        let public = facl
            .acl
            .entries
            .iter()
            .any(|e| e.grantee.is_none() && e.privilege == "EXECUTE");
        out.push(security_finding(
            "security.definer_public_execute",
            signature,
            facl,
            listed.as_ref(),
            public.then(|| {
                format!(
                    "SECURITY DEFINER function {signature} may be executed by PUBLIC, i.e. by every role, with the privileges of its owner {}",
                    facl.acl.owner
                )
            }),
            "PUBLIC may not execute it",
            "REVOKE EXECUTE ON FUNCTION … FROM PUBLIC and GRANT it to the roles that need it, or acknowledge it in the function's spec with a reason",
        ));
    }
}

fn security_finding(
    code: &'static str,
    signature: &str,
    facl: &FunctionAcl,
    listed: Option<&(Site, &String, &FunctionSpec)>,
    problem: Option<String>,
    ok: &str,
    hint: &str,
) -> Finding {
    let actual = if code == "security.definer_search_path" {
        facl.config
            .iter()
            .find(|c| c.starts_with("search_path="))
            .cloned()
            .unwrap_or_else(|| "no search_path".into())
    } else {
        facl.acl
            .entries
            .iter()
            .filter(|e| e.privilege == "EXECUTE")
            .map(|e| e.grantee.clone().unwrap_or_else(|| "PUBLIC".into()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unlisted = Site::unlisted("functions");
    let (site, key, ack) = match listed {
        Some((site, key, f)) => (site, Some(key.as_str()), f.acknowledge.get(code)),
        None => (&unlisted, None, None),
    };
    let path: Vec<&str> = match (key, ack) {
        (Some(k), Some(_)) => vec!["functions", k, "acknowledge", code],
        (Some(k), None) => vec!["functions", k],
        (None, _) => vec![],
    };
    let (passed, message) = match (&problem, ack) {
        (None, _) => (true, format!("{signature}: {ok}")),
        (Some(p), Some(reason)) => (true, format!("{p}. Acknowledged in the spec: {reason}")),
        (Some(p), None) => (false, p.clone()),
    };
    site.compare(
        code,
        signature,
        &path,
        ok.to_string(),
        actual,
        passed,
        message,
        hint,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: &str) -> Vec<String> {
        vec![format!("search_path={v}")]
    }

    #[test]
    fn search_path_entries_are_split_and_unquoted() {
        assert_eq!(
            search_path_entries("\"$user\", public, pg_temp"),
            vec!["$user", "public", "pg_temp"]
        );
        assert_eq!(
            search_path_entries("\"My, Schema\", pg_temp"),
            vec!["My, Schema", "pg_temp"]
        );
        assert!(search_path_entries("\"\"").is_empty());
        assert_eq!(search_path_entries("a\"\"b"), vec!["ab"]);
    }

    #[test]
    fn only_a_pinned_search_path_passes() {
        let writable = vec!["public".to_string()];
        assert!(search_path_problem(&[], &writable)
            .unwrap()
            .contains("does not SET"));
        assert!(search_path_problem(&cfg("app, pg_temp"), &writable).is_none());
        assert!(search_path_problem(&cfg("pg_catalog, pg_temp"), &writable).is_none());
        assert!(search_path_problem(&cfg("public, pg_temp"), &writable)
            .unwrap()
            .contains("PUBLIC may create"));
        assert!(search_path_problem(&cfg("public, pg_temp"), &[]).is_none());
        assert!(search_path_problem(&cfg("\"$user\", app, pg_temp"), &[])
            .unwrap()
            .contains("$user"));
        assert!(search_path_problem(&cfg("app"), &[])
            .unwrap()
            .contains("does not list pg_temp"));
        assert!(search_path_problem(&cfg("pg_temp, app"), &[])
            .unwrap()
            .contains("not the last"));
        assert!(search_path_problem(&cfg("\"\""), &[])
            .unwrap()
            .contains("does not list pg_temp"));
        // Other settings do not count.
        assert!(search_path_problem(&["work_mem=64MB".to_string()], &[]).is_some());
    }
}
