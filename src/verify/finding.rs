//! `Finding`: one check of one object, its outcome, and enough context to act on it.

use compact_str::CompactString;
use serde::Serialize;

use crate::error::SourceLocation;

/// Whether a check held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check held.
    Pass,
    /// The check did not hold.
    Fail,
    /// The check could not run (the reason is in `message`).
    Skip,
}

/// One check of one object.
///
/// A run at thousands of tables holds close to a million of them: the short texts (the
/// table, the object, expected and actual) are kept inline when they fit in 24 bytes, as
/// nearly all do, instead of in an allocation each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// A stable code naming the check, e.g. `index.predicate`.
    pub code: &'static str,
    /// The table (or `functions` for schema-level objects) the finding belongs to.
    pub table: CompactString,
    /// The object checked, e.g. `users.idx_users_locked`.
    pub object: CompactString,
    /// Pass, fail or skip.
    pub status: Status,
    /// What the spec says, normalised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<CompactString>,
    /// What the database has, normalised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<CompactString>,
    /// A sentence for people.
    pub message: String,
    /// Where in the spec the expectation is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    /// Business requirements served by the object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// What to do about a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// SQL that reproduces a behavioural failure by hand (a property's minimal sequence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repro: Option<String>,
}

impl Finding {
    /// True when the check failed.
    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}
