//! Row-level security in specs: whether a table enforces it (and forces it on the owner),
//! and its policies. An absent `row_security` means RLS is off and not forced; absent
//! `policies` means the table has none, so a policy nobody declared is reported.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `ALTER TABLE … ENABLE / FORCE ROW LEVEL SECURITY`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RowSecurity {
    /// Row-level security is enabled (`relrowsecurity`).
    pub enabled: bool,
    /// It applies to the table's owner too (`relforcerowsecurity`). Default false.
    #[serde(default)]
    pub forced: bool,
}

/// The command a policy applies to (`FOR …`).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PolicyCommand {
    /// `FOR ALL` (the default).
    #[default]
    All,
    /// `FOR SELECT`.
    Select,
    /// `FOR INSERT`.
    Insert,
    /// `FOR UPDATE`.
    Update,
    /// `FOR DELETE`.
    Delete,
}

impl PolicyCommand {
    /// The SQL keyword.
    pub fn sql(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }

    /// The command of `pg_policy.polcmd` (`*`, `r`, `a`, `w`, `d`).
    pub fn from_polcmd(c: char) -> Option<Self> {
        Some(match c {
            '*' => PolicyCommand::All,
            'r' => PolicyCommand::Select,
            'a' => PolicyCommand::Insert,
            'w' => PolicyCommand::Update,
            'd' => PolicyCommand::Delete,
            _ => return None,
        })
    }

    fn is_all(&self) -> bool {
        *self == PolicyCommand::All
    }
}

/// A row-level security policy, keyed by name in its table's spec.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The command it applies to: `all` (default), `select`, `insert`, `update`, `delete`.
    #[serde(default, skip_serializing_if = "PolicyCommand::is_all")]
    pub command: PolicyCommand,
    /// The roles it applies to (`TO …`): role names, `$variables`, or `public` for every
    /// role. Default: `[public]`.
    #[serde(default = "public_roles", skip_serializing_if = "is_public_only")]
    pub roles: Vec<String>,
    /// `AS RESTRICTIVE` (rows must pass it as well as a permissive policy). Default false:
    /// permissive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restrictive: bool,
    /// The `USING` expression as SQL: which existing rows are visible / affected.
    #[serde(default, rename = "using", skip_serializing_if = "Option::is_none")]
    pub using: Option<String>,
    /// The `WITH CHECK` expression as SQL: which new rows may be written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_check: Option<String>,
    /// What the policy is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The roles word for PUBLIC in a policy's role list (as `pg_policies` prints it).
pub const PUBLIC_ROLE: &str = "public";

fn public_roles() -> Vec<String> {
    vec![PUBLIC_ROLE.to_string()]
}

fn is_public_only(roles: &[String]) -> bool {
    roles.len() == 1 && roles[0] == PUBLIC_ROLE
}

/// What is wrong with a policy that PostgreSQL would refuse, if anything: (key, message).
pub fn policy_problem(p: &PolicySpec) -> Option<(&'static str, String)> {
    if p.roles.is_empty() {
        return Some((
            "roles",
            "a policy applies to at least one role (write [public] for every role)".into(),
        ));
    }
    for r in &p.roles {
        if r != PUBLIC_ROLE && r.eq_ignore_ascii_case(PUBLIC_ROLE) {
            return Some((
                "roles",
                format!("write PUBLIC as `{PUBLIC_ROLE}`, not `{r}`"),
            ));
        }
        if r != PUBLIC_ROLE {
            if let Err(e) = super::privileges::check_role_name(r) {
                return Some(("roles", e));
            }
        }
    }
    match p.command {
        PolicyCommand::Insert if p.using.is_some() => Some((
            "using",
            "an insert policy has only a WITH CHECK expression; move it to with_check".into(),
        )),
        PolicyCommand::Select | PolicyCommand::Delete if p.with_check.is_some() => Some((
            "with_check",
            format!(
                "a {} policy has only a USING expression; move it to using",
                p.command.sql().to_ascii_lowercase()
            ),
        )),
        _ if p.using.is_none() && p.with_check.is_none() => Some((
            "using",
            "a policy needs a using or a with_check expression".into(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(cmd: PolicyCommand, using: Option<&str>, check: Option<&str>) -> PolicySpec {
        PolicySpec {
            command: cmd,
            roles: public_roles(),
            restrictive: false,
            using: using.map(str::to_string),
            with_check: check.map(str::to_string),
            description: None,
        }
    }

    #[test]
    fn policies_postgresql_would_refuse_are_caught() {
        assert!(policy_problem(&policy(PolicyCommand::All, Some("true"), None)).is_none());
        assert_eq!(
            policy_problem(&policy(PolicyCommand::Insert, Some("true"), None))
                .unwrap()
                .0,
            "using"
        );
        assert_eq!(
            policy_problem(&policy(PolicyCommand::Select, None, Some("true")))
                .unwrap()
                .0,
            "with_check"
        );
        assert!(policy_problem(&policy(PolicyCommand::Update, None, None)).is_some());
        let mut p = policy(PolicyCommand::All, Some("true"), None);
        p.roles = vec!["PUBLIC".into()];
        assert!(policy_problem(&p).is_some());
        p.roles = vec![];
        assert!(policy_problem(&p).is_some());
        assert_eq!(PolicyCommand::from_polcmd('w'), Some(PolicyCommand::Update));
    }
}
