//! The report's "Access control" section: who can read each sensitive column, each
//! relation's owner, grants and row-level security at a glance, the built-in security
//! findings (with acknowledgement reasons), and the roles the specs name. Computed from the
//! run record alone.

use std::collections::BTreeMap;

use serde::Serialize;

use super::json::{FindingRecord, Outcome, RunRecord};
use super::view_parts::{anchor, FindingView};

/// Everything the access-control section shows.
#[derive(Debug, Clone, Serialize)]
pub struct AccessView {
    /// False when the run record predates the section (nothing recorded).
    pub recorded: bool,
    /// Sensitive columns and their readers.
    pub sensitive: Vec<SensitiveView>,
    /// Relations and functions with their owner, grants and row-level security.
    pub objects: Vec<ObjectAccess>,
    /// The built-in security findings.
    pub security: Vec<FindingView>,
    /// How many SECURITY DEFINER functions were checked.
    pub definer_functions: usize,
    /// `role.missing` failures and `role.unbound` skips.
    pub roles: Vec<FindingView>,
}

/// One sensitive column.
#[derive(Debug, Clone, Serialize)]
pub struct SensitiveView {
    /// `users.password_hash`.
    pub name: String,
    /// Anchor of the relation's checks.
    pub table_anchor: String,
    /// Row-level security is on for the relation.
    pub row_security: bool,
    /// Roles that can read it.
    pub readers: Vec<ReaderView>,
}

/// One role that can read a sensitive column.
#[derive(Debug, Clone, Serialize)]
pub struct ReaderView {
    /// The role.
    pub role: String,
    /// Why: `superuser`, `owner`, `table grant`, …
    pub via: String,
    /// `login` or `no login`, and `all rows` or `rows its policies allow`.
    pub notes: String,
}

/// The access facts of one relation or function, from its findings.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectAccess {
    /// The relation (or function).
    pub name: String,
    /// Anchor of its relation's checks.
    pub table_anchor: String,
    /// The owner found.
    pub owner: String,
    /// Whether the owner is the one the specs expect.
    pub owner_ok: bool,
    /// The privileges held, as the check renders them.
    pub grants: String,
    /// `pass` or `fail` over the grant checks.
    pub grants_status: &'static str,
    /// `enabled`, `enabled, forced`, `disabled`, or empty for a function or view.
    pub row_security: String,
    /// Policies checked on it.
    pub policies: usize,
}

fn status_of(findings: &[&FindingRecord]) -> &'static str {
    if findings.iter().any(|f| f.status == Outcome::Fail) {
        "fail"
    } else {
        "pass"
    }
}

/// Build the section from a run record.
pub fn build(run: &RunRecord) -> AccessView {
    let sensitive = run
        .sensitive_columns
        .iter()
        .flatten()
        .map(|c| SensitiveView {
            name: format!("{}.{}", c.table, c.column),
            table_anchor: anchor("t", &c.table),
            row_security: c.row_security,
            readers: c
                .readers
                .iter()
                .map(|r| ReaderView {
                    role: r.role.clone(),
                    via: r.via.clone(),
                    notes: format!(
                        "{}; {}",
                        if r.login { "can log in" } else { "no login" },
                        if r.all_rows {
                            "every row"
                        } else {
                            "rows its policies allow"
                        }
                    ),
                })
                .collect(),
        })
        .collect();
    // Per object (relation or function): its privilege and RLS findings.
    let mut by_object: BTreeMap<(&str, &str), Vec<&FindingRecord>> = BTreeMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut policies: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &run.findings {
        if f.code == "policy.exists" {
            *policies.entry(f.table.as_str()).or_default() += 1;
        }
        let relevant = f.code.starts_with("privilege.") || f.code.starts_with("rls.");
        // The schema, relations, sequences and functions; column grants (`table.column`)
        // show in the checks by table.
        let column = f.object.starts_with(&format!("{}.", f.table));
        if !relevant || column {
            continue;
        }
        let key = (f.table.as_str(), f.object.as_str());
        if !by_object.contains_key(&key) {
            order.push(key);
        }
        by_object.entry(key).or_default().push(f);
    }
    let objects = order
        .into_iter()
        .map(|key| {
            let fs = &by_object[&key];
            let find = |code: &str| fs.iter().find(|f| f.code == code);
            let owner = find("privilege.owner");
            let grants: Vec<&FindingRecord> = fs
                .iter()
                .copied()
                .filter(|f| {
                    matches!(
                        f.code.as_str(),
                        "privilege.missing" | "privilege.extra" | "privilege.grant_option"
                    )
                })
                .collect();
            let rls = match (find("rls.enabled"), find("rls.forced")) {
                (Some(e), Some(f)) => {
                    let on = e.actual.as_deref() == Some("enabled");
                    let forced = f.actual.as_deref() == Some("forced");
                    match (on, forced) {
                        (true, true) => "enabled, forced",
                        (true, false) => "enabled",
                        (false, true) => "disabled (forced set)",
                        (false, false) => "disabled",
                    }
                    .to_string()
                }
                _ => String::new(),
            };
            ObjectAccess {
                name: key.1.to_string(),
                table_anchor: anchor("t", key.0),
                owner: owner
                    .and_then(|f| f.actual.as_deref().map(str::to_string))
                    .unwrap_or_else(|| "not checked".into()),
                owner_ok: owner.is_none_or(|f| f.status != Outcome::Fail),
                grants: grants
                    .iter()
                    .find_map(|f| f.actual.as_deref().map(str::to_string))
                    .unwrap_or_default(),
                grants_status: status_of(&grants),
                policies: if rls.is_empty() {
                    0
                } else {
                    policies.get(key.0).copied().unwrap_or(0)
                },
                row_security: rls,
            }
        })
        .collect();
    let security: Vec<FindingView> = run
        .findings
        .iter()
        .filter(|f| f.code.starts_with("security."))
        .map(FindingView::from)
        .collect();
    let definer_functions = {
        let mut names: Vec<&str> = security.iter().map(|f| f.object.as_str()).collect();
        names.sort();
        names.dedup();
        names.len()
    };
    AccessView {
        recorded: run.sensitive_columns.is_some(),
        sensitive,
        objects,
        security,
        definer_functions,
        roles: run
            .findings
            .iter()
            .filter(|f| {
                (f.code == "role.missing" && f.status == Outcome::Fail) || f.code == "role.unbound"
            })
            .map(FindingView::from)
            .collect(),
    }
}
