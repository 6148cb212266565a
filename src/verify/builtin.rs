//! `builtin.altered`: PostgreSQL's own objects (`pg_catalog`) as a fresh database has them.
//! A superuser's migration can hand a role the password hashes (`GRANT SELECT ON pg_authid`),
//! the server's files (`GRANT EXECUTE ON FUNCTION pg_read_file(text)`), or make a built-in
//! function SECURITY DEFINER; none of it is in a schema the specs describe, so every other
//! check passes. On a throw-away server the reference is exact: another database of the
//! same server, which no migration ran in. On a handed-over server there is no such
//! reference (a managed service changes pg_catalog's privileges itself), so the check is a
//! skip that says so, never a pass.

use std::collections::BTreeMap;

use super::{Finding, Status};
use crate::catalog::builtin::BuiltinState;

/// The check's code.
pub const CODE: &str = "builtin.altered";

/// How many differences a finding names before it counts the rest.
const SHOWN: usize = 12;

/// What the check compares: the checked database's built-in objects and a fresh database's
/// of the same server, or why there is no fresh database to compare with.
pub enum BuiltinReference<'a> {
    /// Both read (checked, fresh).
    Read(&'a [BuiltinState], &'a [BuiltinState]),
    /// No reference: the reason.
    Unavailable(&'a str),
}

/// The one `builtin.altered` finding of a run.
pub fn verify_builtin(reference: BuiltinReference) -> Finding {
    let finding = |status, message: String| Finding {
        code: CODE,
        table: "schema pg_catalog".into(),
        object: "pg_catalog".into(),
        status,
        expected: None,
        actual: None,
        message,
        location: None,
        requirements: Vec::new(),
        hint: None,
        repro: None,
    };
    let (checked, fresh) = match reference {
        BuiltinReference::Read(checked, fresh) => (checked, fresh),
        BuiltinReference::Unavailable(why) => {
            return finding(
                Status::Skip,
                format!("PostgreSQL's own objects (pg_catalog) were not compared: {why}"),
            )
        }
    };
    let (checked, fresh) = (states(checked), states(fresh));
    let mut changes = Vec::new();
    for (object, state) in &checked {
        match fresh.get(object) {
            Some(was) if was == state => {}
            Some(was) => changes.push(format!("`{object}`: {state} (a fresh database: {was})")),
            None => changes.push(format!(
                "`{object}`: {state} (a fresh database: PostgreSQL's default, or no such object)"
            )),
        }
    }
    for (object, was) in &fresh {
        if !checked.contains_key(object) {
            changes.push(format!(
                "`{object}`: PostgreSQL's default, or no such object (a fresh database: {was})"
            ));
        }
    }
    if changes.is_empty() {
        return finding(
            Status::Pass,
            "PostgreSQL's own objects (pg_catalog's functions, tables, views and columns) are \
             those of a fresh database of this server, no more and no fewer, with the same \
             owners, privileges and settings"
                .to_string(),
        );
    }
    let count = changes.len();
    let mut shown: Vec<String> = changes.into_iter().take(SHOWN).collect();
    if count > SHOWN {
        shown.push(format!("{} more", count - SHOWN));
    }
    let mut f = finding(
        Status::Fail,
        format!(
            "{count} of PostgreSQL's own objects differ from a fresh database of this server: {}",
            shown.join("; ")
        ),
    );
    f.expected = Some("as in a fresh database".into());
    f.actual = Some(format!("{count} changed").into());
    f.hint = Some(
        "a migration changed pg_catalog (GRANT, REVOKE, ALTER FUNCTION … SECURITY DEFINER, SET \
         or OWNER TO on a built-in object); undo it, or give the role what it needs through \
         objects of your own schema"
            .into(),
    );
    f
}

/// Object → state.
fn states(list: &[BuiltinState]) -> BTreeMap<&str, &str> {
    list.iter()
        .map(|s| (s.object.as_str(), s.state.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(object: &str, state: &str) -> BuiltinState {
        BuiltinState {
            object: object.into(),
            state: state.into(),
        }
    }

    #[test]
    fn a_difference_either_way_fails_and_no_reference_is_a_skip() {
        let fresh = [state("function pg_read_file(text)", "privileges A")];
        let same = verify_builtin(BuiltinReference::Read(&fresh, &fresh));
        assert_eq!(same.status, Status::Pass, "{}", same.message);

        let granted = [
            state("function pg_read_file(text)", "privileges A, u EXECUTE"),
            state("table pg_authid", "privileges PUBLIC SELECT"),
        ];
        let f = verify_builtin(BuiltinReference::Read(&granted, &fresh));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.starts_with("2 of"), "{}", f.message);
        assert!(
            f.message.contains(
                "`table pg_authid`: privileges PUBLIC SELECT (a fresh database: PostgreSQL's default"
            ),
            "{}",
            f.message
        );
        assert!(
            f.message
                .contains("u EXECUTE (a fresh database: privileges A)"),
            "{}",
            f.message
        );

        let reset = verify_builtin(BuiltinReference::Read(&[], &fresh));
        assert_eq!(reset.status, Status::Fail, "a built-in restriction lifted");
        assert!(reset
            .message
            .contains("no such object (a fresh database: privileges A)"));

        let skip = verify_builtin(BuiltinReference::Unavailable("a handed-over server"));
        assert_eq!(skip.status, Status::Skip);
        assert!(skip.message.contains("a handed-over server"));
    }
}
