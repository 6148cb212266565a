//! The pieces of the report's view that its sections (access control, the diagrams, the
//! traceability matrix) and the view itself share: counts, status words, HTML anchors,
//! short names and one check for people. Apart from the view so that the sections it is
//! built from do not import it back.

use serde::Serialize;

use super::json::FindingRecord;
use crate::run::Totals;

/// Counts for templates, with the sum.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TotalsView {
    /// Passed checks.
    pub passed: usize,
    /// Failed checks.
    pub failed: usize,
    /// Skipped checks.
    pub skipped: usize,
    /// All checks.
    pub total: usize,
}

impl From<Totals> for TotalsView {
    fn from(t: Totals) -> Self {
        TotalsView {
            passed: t.passed,
            failed: t.failed,
            skipped: t.skipped,
            total: t.total(),
        }
    }
}

/// `fail` when anything failed, `skip` when everything was skipped, else `pass`.
pub fn status_word(t: Totals) -> &'static str {
    if t.failed > 0 {
        "fail"
    } else if t.passed == 0 && t.skipped > 0 {
        "skip"
    } else {
        "pass"
    }
}

/// A stable, valid HTML id for `name` under `prefix`: the name itself when it is plain,
/// else its bytes in hex (so two names never share an id).
pub fn anchor(prefix: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("{prefix}-{name}")
    } else {
        format!("{prefix}-x{}", hex::encode(name))
    }
}

/// An object's name inside its relation's section: `users.email` → `email`; the relation
/// itself and objects of other relations keep their full name.
pub fn short_name(table: &str, object: &str) -> String {
    object
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(object)
        .to_string()
}

/// One check for people.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Check code.
    pub code: String,
    /// Relation.
    pub table: String,
    /// Anchor of the relation's section.
    pub table_anchor: String,
    /// Object.
    pub object: String,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
    /// Sentence (for a skip, the reason).
    pub message: String,
    /// What the spec says.
    pub expected: Option<String>,
    /// What the database has.
    pub actual: Option<String>,
    /// `specs/users.yaml:57`.
    pub location: Option<String>,
    /// Requirements served.
    pub requirements: Vec<String>,
    /// What to do.
    pub hint: Option<String>,
    /// SQL that reproduces a property's failure by hand.
    pub repro: Option<String>,
}

impl From<&FindingRecord> for FindingView {
    fn from(f: &FindingRecord) -> Self {
        FindingView {
            code: f.code.to_string(),
            table: f.table.to_string(),
            table_anchor: anchor("t", &f.table),
            object: f.object.to_string(),
            status: f.status.as_str(),
            message: f.message.clone(),
            expected: f.expected.as_deref().map(str::to_string),
            actual: f.actual.as_deref().map(str::to_string),
            location: f.location.as_ref().map(|l| l.to_string()),
            requirements: f.requirements().to_vec(),
            hint: f.hint().map(str::to_string),
            repro: f.repro().map(str::to_string),
        }
    }
}
