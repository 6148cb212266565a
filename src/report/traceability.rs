//! Traceability: from each business requirement to the objects and checks that serve it.
//!
//! The requirements listed are every one a spec declares or a finding carries, plus every
//! one the specs' report document lists: an auditor must see a requirement that nothing
//! traces to, not miss it. What each is about comes from that document too; the engine
//! knows no project's requirements.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;

use super::json::{Outcome, RunRecord};
use super::view_parts::{anchor, short_name, status_word, TotalsView};
use crate::run::Totals;

/// One requirement and what serves it.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementView {
    /// `BR-008`.
    pub id: String,
    /// What it is about, when the report document says.
    pub title: Option<String>,
    /// HTML anchor.
    pub anchor: String,
    /// `pass`, `fail`, `skip`, or `none` when no object traces to it.
    pub status: &'static str,
    /// True when no object traces to it.
    pub no_objects: bool,
    /// Spec files that declare it.
    pub declared_by: Vec<String>,
    /// Counts over its checks.
    pub totals: TotalsView,
    /// Objects that trace to it.
    pub object_count: usize,
    /// Per relation, the objects and their status.
    pub relations: Vec<RelationTrace>,
}

/// The objects of one relation that serve a requirement.
#[derive(Debug, Clone, Serialize)]
pub struct RelationTrace {
    /// The relation (or `functions`, `migrations`).
    pub table: String,
    /// Anchor of the relation's section in the report.
    pub table_anchor: String,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
    /// Counts over its checks.
    pub totals: TotalsView,
    /// The objects, in the order checked.
    pub objects: Vec<ObjectRef>,
}

/// One object and its worst status.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectRef {
    /// `users.email`.
    pub name: String,
    /// `email`: the name inside its relation.
    pub short: String,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
    /// How many checks it had.
    pub checks: usize,
}

/// The traceability matrix: one entry per requirement, in id order, plus the relations whose
/// objects trace to none.
#[derive(Debug, Clone, Serialize)]
pub struct Traceability {
    /// Every requirement listed.
    pub requirements: Vec<RequirementView>,
    /// How many of them nothing traces to.
    pub unserved: usize,
    /// Relations with objects that serve no requirement, with their counts.
    pub untraced: Vec<RelationTrace>,
}

/// Build the matrix from a run record.
pub fn build(run: &RunRecord) -> Traceability {
    let listed = run.report.as_ref().map(|r| &r.requirements);
    let mut ids: BTreeSet<String> = listed
        .map(|l| l.keys().cloned().collect())
        .unwrap_or_default();
    for s in &run.specs {
        ids.extend(s.requirements.iter().cloned());
    }
    for f in &run.findings {
        ids.extend(f.requirements().iter().cloned());
    }
    let mut requirements = Vec::new();
    for id in ids {
        let declared_by: Vec<String> = run
            .specs
            .iter()
            .filter(|s| s.requirements.contains(&id))
            .map(|s| s.path.clone())
            .collect();
        let relations = relations(run, |req| req.contains(&id));
        let statuses = run
            .findings
            .iter()
            .filter(|f| f.requirements().contains(&id))
            .map(|f| f.status.status());
        let totals = Totals::of_statuses(statuses);
        let object_count = relations.iter().map(|r| r.objects.len()).sum();
        let no_objects = object_count == 0;
        requirements.push(RequirementView {
            title: listed.and_then(|l| l.get(&id).cloned().flatten()),
            anchor: anchor("br", &id),
            status: if no_objects {
                "none"
            } else {
                status_word(totals)
            },
            no_objects,
            declared_by,
            totals: totals.into(),
            object_count,
            relations,
            id,
        });
    }
    let unserved = requirements.iter().filter(|r| r.no_objects).count();
    Traceability {
        requirements,
        unserved,
        untraced: relations(run, |req| req.is_empty()),
    }
}

/// Group the findings whose requirements satisfy `keep` by relation, then object.
fn relations(run: &RunRecord, keep: impl Fn(&[String]) -> bool) -> Vec<RelationTrace> {
    let mut by_table: IndexMap<&str, IndexMap<&str, Vec<Outcome>>> = IndexMap::new();
    for f in run.findings.iter().filter(|f| keep(f.requirements())) {
        by_table
            .entry(f.table.as_str())
            .or_default()
            .entry(f.object.as_str())
            .or_default()
            .push(f.status);
    }
    by_table
        .into_iter()
        .map(|(table, objects)| {
            let totals = Totals::of_statuses(objects.values().flatten().map(|o| o.status()));
            RelationTrace {
                table: table.to_string(),
                table_anchor: anchor("t", table),
                status: status_word(totals),
                totals: totals.into(),
                objects: objects
                    .into_iter()
                    .map(|(name, outcomes)| ObjectRef {
                        name: name.to_string(),
                        short: short_name(table, name),
                        status: status_word(Totals::of_statuses(
                            outcomes.iter().map(|o| o.status()),
                        )),
                        checks: outcomes.len(),
                    })
                    .collect(),
            }
        })
        .collect()
}
