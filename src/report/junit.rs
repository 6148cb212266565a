//! `junit.xml` for CI test-result viewers: one test suite per spec file, plus one for the
//! migrations and one for schema-level objects (functions no spec lists, tables with no
//! spec); one test case per finding.
//!
//! A test case is named `code object` with the relation as class name; a failure carries
//! the message, expected vs actual, the spec file and line, the requirements and the hint;
//! a skip carries its reason. Test cases also have `file` and `line` attributes, which
//! annotating CI actions read to point at the spec line.

use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite, XmlString,
};

use super::digest::generator;
use super::json::{FindingRecord, Outcome, RunRecord};

/// Name of the suite for the migration inventory.
pub const MIGRATIONS_SUITE: &str = "migrations";
/// Name of the suite for objects no spec file owns.
pub const SCHEMA_SUITE: &str = "schema";

/// The suite each finding belongs to: its relation's spec file, the migrations, or the
/// schema. The spec of each relation is looked up once, not once per finding.
pub struct Suites<'a> {
    spec_of: std::collections::HashMap<&'a str, &'a str>,
}

impl<'a> Suites<'a> {
    /// The suites of `run`'s spec files.
    pub fn new(run: &'a RunRecord) -> Self {
        let mut spec_of = std::collections::HashMap::new();
        for s in &run.specs {
            // The first spec of a relation owns it, as the report always read it.
            spec_of.entry(s.table.as_str()).or_insert(s.path.as_str());
        }
        Suites { spec_of }
    }

    /// The suite of finding `f`.
    pub fn of(&self, f: &FindingRecord) -> &'a str {
        if f.code.starts_with("migration.") {
            return MIGRATIONS_SUITE;
        }
        self.spec_of
            .get(f.table.as_str())
            .copied()
            .unwrap_or(SCHEMA_SUITE)
    }
}

fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// The failure text: everything needed to act, one fact per line.
fn description(f: &FindingRecord) -> String {
    let mut lines = vec![f.message.clone()];
    if let Some(e) = &f.expected {
        lines.push(format!("expected: {e}"));
    }
    if let Some(a) = &f.actual {
        lines.push(format!("actual:   {a}"));
    }
    if let Some(l) = &f.location {
        lines.push(format!("spec:     {l}"));
    }
    if !f.requirements.is_empty() {
        lines.push(format!("requires: {}", f.requirements.join(", ")));
    }
    if let Some(h) = &f.hint {
        lines.push(format!("hint:     {h}"));
    }
    if let Some(r) = &f.repro {
        lines.push(format!("repro:\n{r}"));
    }
    lines.join("\n")
}

/// XML strings made once and cloned. quick-junit's `XmlString::new` scans every string for
/// ANSI escapes; at a thousand tables that scan of the same class names, spec paths and
/// attribute names, once per finding, was a fifth of all report rendering.
#[derive(Default)]
struct Strings<'a> {
    made: std::collections::HashMap<&'a str, XmlString>,
}

impl<'a> Strings<'a> {
    fn of(&mut self, s: &'a str) -> XmlString {
        self.made
            .entry(s)
            .or_insert_with(|| XmlString::new(s))
            .clone()
    }
}

fn test_case<'a>(f: &'a FindingRecord, strings: &mut Strings<'a>) -> TestCase {
    let status = match f.status {
        Outcome::Pass => TestCaseStatus::success(),
        Outcome::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(f.message.as_str())
                .set_type(f.code.as_str())
                .set_description(description(f));
            s
        }
        Outcome::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(f.message.as_str());
            s
        }
    };
    let mut case = TestCase::new(format!("{} {}", f.code, f.object), status);
    case.set_classname(strings.of(f.table.as_str()));
    if let Some(l) = &f.location {
        case.extra
            .insert(strings.of("file"), strings.of(l.file.as_str()));
        if let Some(line) = l.line {
            case.extra
                .insert(strings.of("line"), XmlString::new(line.to_string()));
        }
    }
    case
}

/// Render `junit.xml` for a run record whose bytes have SHA-256 `digest`.
pub fn render(run: &RunRecord, digest: &str, run_file: &str) -> String {
    let mut suites: IndexMap<&str, Vec<&FindingRecord>> = IndexMap::new();
    suites.insert(MIGRATIONS_SUITE, vec![]);
    for s in &run.specs {
        suites.entry(s.path.as_str()).or_default();
    }
    suites.insert(SCHEMA_SUITE, vec![]);
    let suite_of = Suites::new(run);
    for f in &run.findings {
        suites.entry(suite_of.of(f)).or_default().push(f);
    }
    let started = timestamp(&run.started_at);
    let finished = timestamp(&run.finished_at);
    let mut common = vec![
        Property::new("reims-verify.run-file", run_file),
        Property::new("reims-verify.run-sha256", digest),
        Property::new("reims-verify.generator", generator()),
        Property::new("tool_version", run.tool_version.as_str()),
        Property::new("server_version", run.server_version.as_str()),
        Property::new("database", run.database.as_str()),
    ];
    if let Some(c) = &run.git_commit {
        common.push(Property::new("git_commit", c.as_str()));
    }
    for w in &run.warnings {
        common.push(Property::new("warning", w.as_str()));
    }
    if let Some(seed) = run.probe_seed {
        common.push(Property::new("probe_seed", seed.to_string()));
    }
    let mut report = Report::new("reims-verify");
    if let Some(t) = started {
        report.set_timestamp(t);
    }
    if let (Some(s), Some(e)) = (started, finished) {
        if let Ok(d) = (e - s).to_std() {
            report.set_time(d);
        }
    }
    let mut specs_by_path = std::collections::HashMap::new();
    for s in &run.specs {
        specs_by_path.entry(s.path.as_str()).or_insert(s);
    }
    let mut strings = Strings::default();
    for (name, findings) in suites {
        let mut suite = TestSuite::new(name);
        if let Some(t) = started {
            suite.set_timestamp(t);
        }
        suite.add_properties(common.iter().cloned());
        if let Some(spec) = specs_by_path.get(name) {
            suite.add_property(Property::new("table", spec.table.as_str()));
            suite.add_property(Property::new("spec_sha256", spec.sha256.as_str()));
            if !spec.requirements.is_empty() {
                suite.add_property(Property::new("requirements", spec.requirements.join(", ")));
            }
        }
        suite.add_test_cases(findings.into_iter().map(|f| test_case(f, &mut strings)));
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a JUnit report of strings serialises")
}
