//! The report document: a spec file whose top-level key is `report:`. It says what the
//! compliance reports call themselves and which business requirements they list whether or
//! not anything traces to them, with what each is about. The project's own words, kept with
//! its specs: the engine knows no project's requirements.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One report document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportDocument {
    /// What the compliance reports say of the project.
    pub report: ReportSpec,
}

/// The compliance reports' title and the requirements they list.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// The reports' title, e.g. `Billing schema compliance report`. Absent: `Schema
    /// compliance report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Business requirements (`BR-NNN`) every report lists, flagged when no object traces
    /// to one, each with what it is about (`~` when nothing says). Absent: a report lists
    /// the requirements the specs declare and nothing else.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub requirements: IndexMap<String, Option<String>>,
}

/// The title of a report whose specs name none.
pub const DEFAULT_TITLE: &str = "Schema compliance report";
