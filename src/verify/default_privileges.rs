//! `privilege.defaults`: `ALTER DEFAULT PRIVILEGES`, the grants that objects created later
//! will get. No object's ACL shows them yet, so the privilege checks cannot see them, and
//! the specs have no words for them: a table a later migration (or the application)
//! creates is then readable by whoever they name. Each one found is a skip that says what
//! it grants and that it was not judged; with none, one finding passes, since none is
//! PostgreSQL's default.

use super::{Finding, Status};
use crate::catalog::{AclEntry, DefaultAcl, Schema};

/// The report group the findings are filed under.
const GROUP: &str = "roles";

/// One finding per default ACL of the checked schemas and of the database, or one that
/// passes when there is none.
pub(crate) fn verify_default_privileges(actual: &Schema, out: &mut Vec<Finding>) {
    let defaults = &actual.access.default_acls;
    let finding = |object: String, status, actual: String, message: String| Finding {
        repro: None,
        code: "privilege.defaults",
        table: GROUP.into(),
        object: object.into(),
        status,
        expected: Some("PostgreSQL's default privileges".into()),
        actual: Some(actual.into()),
        message,
        location: None,
        requirements: vec![],
        hint: None,
    };
    for d in defaults {
        let granted = grants_text(&d.entries);
        let scope = match &d.schema {
            Some(s) => format!("in schema {s}"),
            None => "in any schema (in place of PostgreSQL's default)".into(),
        };
        let mut f = finding(
            format!("{} on {}", d.made_by(), d.kind_name()),
            Status::Skip,
            granted.clone(),
            format!(
                "{} that {} creates {scope} are granted {granted} ({} … ON {}); the specs cannot state default privileges, so this was not judged",
                d.kind_name(),
                d.role,
                d.made_by(),
                d.kind_name().to_uppercase(),
            ),
        );
        f.hint = Some(hint(d));
        out.push(f);
    }
    if defaults.is_empty() {
        out.push(finding(
            "default privileges".into(),
            Status::Pass,
            "none".into(),
            "no ALTER DEFAULT PRIVILEGES in the checked schemas or for the whole database".into(),
        ));
    }
}

/// The grants of a default ACL, grantee by grantee: `PUBLIC: SELECT; app: INSERT, SELECT
/// (with grant option)`; `nothing` for an empty one.
fn grants_text(entries: &[AclEntry]) -> String {
    let mut by: Vec<(String, Vec<String>)> = Vec::new();
    for e in entries {
        let who = e.grantee.clone().unwrap_or_else(|| "PUBLIC".into());
        let what = if e.grantable {
            format!("{} (with grant option)", e.privilege)
        } else {
            e.privilege.clone()
        };
        match by.iter_mut().find(|(w, _)| *w == who) {
            Some((_, list)) => list.push(what),
            None => by.push((who, vec![what])),
        }
    }
    if by.is_empty() {
        return "nothing".into();
    }
    by.iter()
        .map(|(who, list)| format!("{who}: {}", list.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How to take a default ACL away.
fn hint(d: &DefaultAcl) -> String {
    match d.schema {
        Some(_) => format!(
            "{} REVOKE what it grants ON {} from each grantee, or keep it knowing that {} created later get these grants",
            d.made_by(),
            d.kind_name().to_uppercase(),
            d.kind_name()
        ),
        None => format!(
            "{} GRANT or REVOKE ON {} until it matches PostgreSQL's default again, or keep it knowing that {} created later get these grants",
            d.made_by(),
            d.kind_name().to_uppercase(),
            d.kind_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(grantee: Option<&str>, privilege: &str, grantable: bool) -> AclEntry {
        AclEntry {
            grantee: grantee.map(str::to_string),
            privilege: privilege.into(),
            grantable,
        }
    }

    #[test]
    fn grants_are_listed_grantee_by_grantee() {
        let entries = [
            entry(None, "SELECT", false),
            entry(Some("app"), "INSERT", false),
            entry(Some("app"), "SELECT", true),
        ];
        assert_eq!(
            grants_text(&entries),
            "PUBLIC: SELECT; app: INSERT, SELECT (with grant option)"
        );
        assert_eq!(grants_text(&[]), "nothing");
    }
}
