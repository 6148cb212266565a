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
    if !f.requirements().is_empty() {
        lines.push(format!("requires: {}", f.requirements().join(", ")));
    }
    if let Some(h) = f.hint() {
        lines.push(format!("hint:     {h}"));
    }
    if let Some(r) = f.repro() {
        lines.push(format!("repro:\n{r}"));
    }
    lines.join("\n")
}

/// XML strings made once and cloned. quick-junit's `XmlString::new` scans every string for
/// ANSI escapes; at a thousand tables that scan of the same class names, spec paths and
/// attribute names, once per finding, was a fifth of all report rendering. Spec line
/// numbers repeat as much (a few hundred lines among every finding), and were half the
/// scans left for a passing finding, whose name is the only string of its own.
#[derive(Default)]
struct Strings<'a> {
    made: std::collections::HashMap<&'a str, XmlString>,
    lines: std::collections::HashMap<u32, XmlString>,
}

impl<'a> Strings<'a> {
    fn of(&mut self, s: &'a str) -> XmlString {
        self.made
            .entry(s)
            .or_insert_with(|| XmlString::new(s))
            .clone()
    }

    fn line(&mut self, line: u32) -> XmlString {
        self.lines
            .entry(line)
            .or_insert_with(|| XmlString::new(line.to_string()))
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
        case.extra.insert(strings.of("file"), strings.of(&l.file));
        if let Some(line) = l.line {
            case.extra.insert(strings.of("line"), strings.line(line));
        }
    }
    case
}

/// The suites of a run in report order (the migrations, each spec file, then the schema),
/// each with its findings, and what every suite shares.
struct Plan<'a> {
    run: &'a RunRecord,
    suites: IndexMap<&'a str, Vec<&'a FindingRecord>>,
    specs_by_path: std::collections::HashMap<&'a str, &'a super::json::SpecRecord>,
    started: Option<DateTime<FixedOffset>>,
    common: Vec<Property>,
}

impl<'a> Plan<'a> {
    fn new(run: &'a RunRecord, digest: &str, run_file: &str) -> Self {
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
        let mut specs_by_path = std::collections::HashMap::new();
        for s in &run.specs {
            specs_by_path.entry(s.path.as_str()).or_insert(s);
        }
        Plan {
            run,
            suites,
            specs_by_path,
            started: timestamp(&run.started_at),
            common,
        }
    }

    /// The report's root element: name, start and duration, no suite and no count.
    fn report(&self) -> Report {
        let mut report = Report::new("reims-verify");
        if let Some(t) = self.started {
            report.set_timestamp(t);
        }
        if let (Some(s), Some(e)) = (self.started, timestamp(&self.run.finished_at)) {
            if let Ok(d) = (e - s).to_std() {
                report.set_time(d);
            }
        }
        report
    }

    /// One suite, test cases and all.
    fn suite(
        &self,
        name: &'a str,
        findings: &[&'a FindingRecord],
        strings: &mut Strings<'a>,
    ) -> TestSuite {
        let mut suite = TestSuite::new(name);
        if let Some(t) = self.started {
            suite.set_timestamp(t);
        }
        suite.add_properties(self.common.iter().cloned());
        if let Some(spec) = self.specs_by_path.get(name) {
            suite.add_property(Property::new("table", spec.table.as_str()));
            suite.add_property(Property::new("spec_sha256", spec.sha256.as_str()));
            if !spec.requirements.is_empty() {
                suite.add_property(Property::new("requirements", spec.requirements.join(", ")));
            }
        }
        suite.add_test_cases(findings.iter().map(|f| test_case(f, strings)));
        suite
    }
}

fn serialize(report: &Report) -> Vec<u8> {
    let mut bytes = Vec::new();
    report
        .serialize(&mut bytes)
        .expect("a JUnit report of strings serialises");
    bytes
}

/// Where the root element's start tag ends: every suite follows it, and its attribute
/// values are escaped, so the first `>` after `<testsuites` closes it.
fn after_root_start(xml: &[u8]) -> usize {
    let root = xml
        .windows(b"<testsuites".len())
        .position(|w| w == b"<testsuites")
        .expect("a JUnit report has a root element");
    root + xml[root..]
        .iter()
        .position(|b| *b == b'>')
        .expect("the root start tag closes")
        + 1
}

/// Where the root element's end tag starts, with the line break before it.
fn before_root_end(xml: &[u8]) -> usize {
    const END: &[u8] = b"\n</testsuites>";
    xml.windows(END.len())
        .rposition(|w| w == END)
        .expect("a JUnit report ends its root element")
}

/// Write `junit.xml` for a run record whose bytes have SHA-256 `digest`.
///
/// The file is what quick-junit writes for the whole report, but only one suite's test
/// cases are in memory at a time: at five thousand tables the whole report, built first,
/// was a gigabyte. quick-junit writes the root element with the report's totals, then each
/// suite in turn; so the root start tag comes from the report with every count and no
/// suite, and each suite's text from a report holding it alone, cut at the root's tags.
/// The test cases of a suite whose findings all pass are written by [`PassingCases`], as
/// quick-junit would write them. `tests/report.rs` holds the result to what quick-junit writes for the whole report.
pub fn write(
    run: &RunRecord,
    digest: &str,
    run_file: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let plan = Plan::new(run, digest, run_file);
    // Every finding is a test case of one suite: the root's counts are the run's totals.
    let totals = run.totals();
    let mut head = plan.report();
    head.tests = totals.passed + totals.failed + totals.skipped;
    head.failures = totals.failed;
    head.skipped = totals.skipped;
    let head = serialize(&head);
    out.write_all(&head[..after_root_start(&head)])?;
    let mut strings = Strings::default();
    let mut passing = PassingCases::default();
    for (name, findings) in &plan.suites {
        let mut alone = plan.report();
        let all_pass = findings.iter().all(|f| f.status == Outcome::Pass);
        // A suite of passing findings alone (every suite of a run that passes) has its
        // test cases written here: its start tag, properties and end tag are still
        // quick-junit's, from the suite given its count of tests and no case.
        let fast = all_pass && !findings.is_empty() && !plan.common.is_empty();
        let mut suite = plan.suite(name, if fast { &[] } else { findings }, &mut strings);
        if fast {
            suite.tests = findings.len();
        }
        alone.add_test_suite(suite);
        let xml = serialize(&alone);
        let body = &xml[after_root_start(&xml)..before_root_end(&xml)];
        if fast {
            let close = body
                .strip_suffix(SUITE_END)
                .expect("a suite with properties has an end tag");
            out.write_all(close)?;
            out.write_all(&passing.write(findings))?;
            out.write_all(SUITE_END)?;
        } else {
            out.write_all(body)?;
        }
    }
    out.write_all(&head[before_root_end(&head)..])
}

/// The end tag of a suite, on a line of its own, as quick-junit indents it.
const SUITE_END: &[u8] = b"\n    </testsuite>";

/// Passing test cases written as quick-junit writes them: one empty `testcase` element
/// each, its name, class name, file and line attributes cleaned and escaped as quick-junit
/// cleans ([`XmlString`]) and escapes them. quick-junit's cleaning scans every string for
/// ANSI escapes, which at a thousand tables was about half of this report's time; a string
/// of printable ASCII alone has nothing to clean, so only other strings are given to
/// [`XmlString::new`]. `tests/report.rs` and the tests below hold the result to what
/// quick-junit writes, byte for byte.
#[derive(Default)]
struct PassingCases<'a> {
    /// A class name, file or line's attribute text, made once.
    attributes: std::collections::HashMap<&'a str, String>,
}

impl<'a> PassingCases<'a> {
    /// The test cases of `findings`, each on a line of its own.
    fn write(&mut self, findings: &[&'a FindingRecord]) -> Vec<u8> {
        let mut out = String::with_capacity(findings.len() * 128);
        let mut name = String::new();
        for f in findings {
            name.clear();
            name.push_str(&f.code);
            name.push(' ');
            name.push_str(&f.object);
            out.push_str("\n        <testcase name=\"");
            push_attribute_text(&mut out, &name);
            out.push_str("\" classname=\"");
            out.push_str(self.attribute(f.table.as_str()));
            out.push('"');
            if let Some(l) = &f.location {
                out.push_str(" file=\"");
                out.push_str(self.attribute(&l.file));
                out.push('"');
                if let Some(line) = l.line {
                    out.push_str(" line=\"");
                    out.push_str(&line.to_string());
                    out.push('"');
                }
            }
            out.push_str("/>");
        }
        out.into_bytes()
    }

    fn attribute(&mut self, s: &'a str) -> &str {
        self.attributes.entry(s).or_insert_with(|| {
            let mut text = String::new();
            push_attribute_text(&mut text, s);
            text
        })
    }
}

/// `s` as an attribute's value in quick-junit's output: cleaned as [`XmlString::new`]
/// cleans it, then escaped as quick-xml escapes an attribute value.
fn push_attribute_text(out: &mut String, s: &str) {
    let plain = s.bytes().all(|b| (b' '..=b'~').contains(&b));
    let cleaned;
    let s = if plain {
        s
    } else {
        cleaned = XmlString::new(s);
        cleaned.as_str()
    };
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// `junit.xml` for a run record whose bytes have SHA-256 `digest`, as quick-junit writes
/// the whole report built in memory: what [`write`] must equal, byte for byte.
pub fn render_whole(run: &RunRecord, digest: &str, run_file: &str) -> String {
    let plan = Plan::new(run, digest, run_file);
    let mut report = plan.report();
    let mut strings = Strings::default();
    for (name, findings) in &plan.suites {
        report.add_test_suite(plan.suite(name, findings, &mut strings));
    }
    report
        .to_string()
        .expect("a JUnit report of strings serialises")
}
