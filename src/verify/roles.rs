//! Role names of the specs → roles of the server: literal names, `$variables` bound on the
//! command line (`--role app=reims_app`), and `$migrator`, which unless bound is the owner
//! of `schema_migrations` (the role that ran the migrations). Records which roles the specs
//! name, so that a role the server lacks is a finding (`role.missing`), and which variables
//! were left unbound, so that what could not be checked is said (`role.unbound`).

use std::collections::BTreeMap;

use super::{Finding, Status};
use crate::catalog::Schema;
use crate::error::SourceLocation;

/// The table the migration runner keeps its history in: its owner ran the migrations.
pub const HISTORY_TABLE: &str = "schema_migrations";

/// How the specs' role names are read on this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessOptions {
    /// Role variables bound on the command line: variable name (without `$`) → role.
    pub roles: BTreeMap<String, String>,
    /// The checked database was handed over (`--database-url`), not made by a throw-away
    /// server: what belongs to the database rather than the migrations (its own
    /// privileges) is then judged only where the specs declare it.
    pub handed_over: bool,
}

impl AccessOptions {
    /// Parse `NAME=ROLE` bindings (`--role app=reims_app`); `$NAME=ROLE` is accepted too.
    pub fn parse(bindings: &[String]) -> Result<AccessOptions, String> {
        let mut roles = BTreeMap::new();
        for b in bindings {
            let Some((name, role)) = b.split_once('=') else {
                return Err(format!("--role `{b}` is not NAME=ROLE"));
            };
            let name = name.trim().trim_start_matches('$');
            let role = role.trim();
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok || role.is_empty() {
                return Err(format!(
                    "--role `{b}` is not NAME=ROLE (NAME: letters, digits, `_`, `-`)"
                ));
            }
            if roles.insert(name.to_string(), role.to_string()).is_some() {
                return Err(format!("--role binds `{name}` twice"));
            }
        }
        Ok(AccessOptions {
            roles,
            handed_over: false,
        })
    }
}

/// Where the migrating role came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MigratorSource {
    CommandLine,
    HistoryOwner,
    Unknown,
}

/// Resolves spec role names and remembers what was asked.
pub(crate) struct Roles<'a> {
    options: &'a AccessOptions,
    migrator: Option<String>,
    source: MigratorSource,
    /// Role name → first place that names it.
    named: BTreeMap<String, Option<SourceLocation>>,
    /// Unbound variable → (checks not made, first place).
    unbound: BTreeMap<String, (usize, Option<SourceLocation>)>,
    /// Unbound variable → the grants held on objects whose spec names it that no other
    /// entry accounts for: any of them may be the variable's, so none was judged.
    not_judged: BTreeMap<String, Vec<String>>,
}

impl<'a> Roles<'a> {
    /// The resolver for this run over `actual`.
    pub fn new(options: &'a AccessOptions, actual: &Schema) -> Self {
        let (migrator, source) = match options.roles.get("migrator") {
            Some(r) => (Some(r.clone()), MigratorSource::CommandLine),
            None => match actual.access.relations.get(HISTORY_TABLE) {
                Some(acl) => (Some(acl.owner.clone()), MigratorSource::HistoryOwner),
                None => (None, MigratorSource::Unknown),
            },
        };
        Roles {
            options,
            migrator,
            source,
            named: BTreeMap::new(),
            unbound: BTreeMap::new(),
            not_judged: BTreeMap::new(),
        }
    }

    /// Record that `grant` (who holds what on which object) was not judged because it may
    /// be what unbound variable `var` stands for; its `role.unbound` skip lists it.
    pub fn not_judged(&mut self, var: &str, grant: String) {
        self.not_judged
            .entry(var.to_string())
            .or_default()
            .push(grant);
    }

    /// The server role a spec name stands for; `None` (and one more check not made) for an
    /// unbound variable. `at` says where it is named.
    pub fn resolve(&mut self, name: &str, at: Option<SourceLocation>) -> Option<String> {
        let role = match name.strip_prefix('$') {
            None => Some(name.to_string()),
            Some("migrator") => self.migrator.clone(),
            Some(var) => self.options.roles.get(var).cloned(),
        };
        match &role {
            // Only roles a spec names; a default that no spec states (the owner of a
            // fresh `public` schema) is checked by the owner check alone.
            Some(r) if at.is_some() => {
                self.named.entry(r.clone()).or_insert(at);
            }
            Some(_) => {}
            None => {
                let e = self.unbound.entry(name.to_string()).or_insert((0, at));
                e.0 += 1;
            }
        }
        role
    }

    /// `role.missing` for every role the specs name (pass when the server has it), and
    /// `role.unbound` (skipped) for every variable nothing bound.
    pub fn findings(&self, actual: &Schema, out: &mut Vec<Finding>) {
        let how = match self.source {
            MigratorSource::CommandLine => "bound with --role migrator=…",
            MigratorSource::HistoryOwner => "the owner of schema_migrations",
            MigratorSource::Unknown => "",
        };
        for (role, at) in &self.named {
            let exists = actual.access.roles.contains_key(role);
            let migrator = self.migrator.as_deref() == Some(role.as_str());
            out.push(Finding {
                repro: None,
                code: "role.missing",
                table: "roles".into(),
                object: compact_str::format_compact!("role {role}"),
                status: if exists { Status::Pass } else { Status::Fail },
                expected: Some("present".into()),
                actual: Some(if exists { "present" } else { "missing" }.into()),
                message: if exists {
                    format!("role `{role}` exists")
                } else if migrator {
                    format!("role `{role}` ($migrator, {how}) does not exist on the server")
                } else {
                    format!("role `{role}`, named by the specs, does not exist on the server")
                },
                location: at.clone(),
                requirements: vec![],
                hint: (!exists).then(|| {
                    "create the role (deployment), bind the spec's role variable to the role this server uses (--role NAME=ROLE), or correct the spec"
                        .to_string()
                }),
            });
        }
        for (role, at) in &self.named {
            if self.migrator.as_deref() == Some(role.as_str()) {
                // The owner holds every privilege on what it owns already.
                continue;
            }
            if let Some(info) = actual.access.roles.get(role) {
                out.push(attributes_finding(role, info, at.clone()));
            }
        }
        for (var, (n, at)) in &self.unbound {
            let name = var.trim_start_matches('$');
            let why = if name == "migrator" {
                "no schema_migrations table in the checked schema tells who ran the migrations"
                    .to_string()
            } else {
                format!("no --role {name}=ROLE was given")
            };
            let grants = self.not_judged.get(var).map(Vec::as_slice).unwrap_or(&[]);
            let judged = if grants.is_empty() {
                String::new()
            } else {
                const SHOWN: usize = 5;
                let mut list = grants.iter().take(SHOWN).cloned().collect::<Vec<_>>();
                if grants.len() > SHOWN {
                    list.push(format!("{} more", grants.len() - SHOWN));
                }
                format!(
                    "; {} grant(s) it may stand for were not judged undeclared or not ({})",
                    grants.len(),
                    list.join("; ")
                )
            };
            out.push(Finding {
                repro: None,
                code: "role.unbound",
                table: "roles".into(),
                object: var.as_str().into(),
                status: Status::Skip,
                expected: None,
                actual: None,
                message: format!(
                    "role variable `{var}` is not bound ({why}): {n} privilege check(s) naming it were not made{judged}"
                ),
                location: at.clone(),
                requirements: vec![],
                hint: Some(format!("pass --role {name}=ROLE to check them")),
            });
        }
    }
}

/// `role.attributes` for a role the specs name: a pass when its privileges are the direct
/// grants the specs compare (no SUPERUSER, no BYPASSRLS, a member of no role); else a skip
/// saying what more it has, since the specs cannot state role attributes or memberships.
fn attributes_finding(
    role: &str,
    info: &crate::catalog::RoleInfo,
    at: Option<SourceLocation>,
) -> Finding {
    let mut more = Vec::new();
    if info.superuser {
        more.push("SUPERUSER (every privilege, every row)".to_string());
    }
    if info.bypass_rls {
        more.push("BYPASSRLS (row-level security does not limit it)".to_string());
    }
    for m in &info.member_of {
        let options = if m.options.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.options.join(", "))
        };
        more.push(format!("member of {}{options}", m.role));
    }
    let plain = more.is_empty();
    Finding {
        repro: None,
        code: "role.attributes",
        table: "roles".into(),
        object: compact_str::format_compact!("role {role}"),
        status: if plain { Status::Pass } else { Status::Skip },
        expected: Some("no SUPERUSER or BYPASSRLS, a member of no role".into()),
        actual: Some(if plain { "none".into() } else { more.join("; ").into() }),
        message: if plain {
            format!("role `{role}` holds only its direct grants: no SUPERUSER or BYPASSRLS, a member of no role")
        } else {
            format!(
                "role `{role}` holds more than the grants the specs compare: {}; the specs cannot state role attributes or memberships, so this was not judged",
                more.join("; ")
            )
        },
        location: at,
        requirements: vec![],
        hint: (!plain).then(|| {
            "ALTER ROLE … NOSUPERUSER NOBYPASSRLS or REVOKE the membership, or know that this role reaches further than its grants".to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_parse_and_bad_ones_are_refused() {
        let o = AccessOptions::parse(&["app=reims_app".into(), "$migrator=owner".into()]).unwrap();
        assert_eq!(o.roles["app"], "reims_app");
        assert_eq!(o.roles["migrator"], "owner");
        assert!(AccessOptions::parse(&["app".into()]).is_err());
        assert!(AccessOptions::parse(&["=x".into()]).is_err());
        assert!(AccessOptions::parse(&["a b=x".into()]).is_err());
        assert!(AccessOptions::parse(&["a=".into()]).is_err());
        assert!(AccessOptions::parse(&["a=x".into(), "a=y".into()]).is_err());
    }

    #[test]
    fn the_migrator_is_the_history_owner_unless_bound() {
        let mut schema = Schema::default();
        schema.access.relations.insert(
            HISTORY_TABLE.into(),
            crate::catalog::Acl {
                kind: 'r',
                schema: "public".into(),
                owner: "deployer".into(),
                entries: vec![],
                owned_by: None,
            },
        );
        let none = AccessOptions::default();
        let mut r = Roles::new(&none, &schema);
        let at = || {
            Some(SourceLocation {
                file: "t.yaml".into(),
                line: Some(1),
                column: None,
            })
        };
        assert_eq!(r.resolve("$migrator", at()).as_deref(), Some("deployer"));
        assert_eq!(r.resolve("$app", at()), None);
        assert_eq!(r.resolve("$app", at()), None);
        assert_eq!(r.resolve("alice", at()).as_deref(), Some("alice"));
        assert_eq!(r.resolve("bob", None).as_deref(), Some("bob"));
        let mut out = vec![];
        r.findings(&schema, &mut out);
        let unbound: Vec<_> = out.iter().filter(|f| f.code == "role.unbound").collect();
        assert_eq!(unbound.len(), 1);
        assert!(unbound[0].message.contains("2 privilege check(s)"));
        // Neither role a spec names exists in this empty catalog (bob is no spec's).
        assert_eq!(out.iter().filter(|f| f.failed()).count(), 2);

        let bound = AccessOptions::parse(&["migrator=owner".into()]).unwrap();
        let mut r = Roles::new(&bound, &schema);
        assert_eq!(r.resolve("$migrator", at()).as_deref(), Some("owner"));
        assert_eq!(Roles::new(&none, &Schema::default()).migrator, None);
    }
}
