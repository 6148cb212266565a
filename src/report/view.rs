//! The compliance report's content, computed once from a run record and handed to both the
//! Markdown and the HTML template, so the two always say the same thing.

use indexmap::IndexMap;
use serde::Serialize;

use super::digest::generator;
use super::json::{FindingRecord, Outcome, RunRecord};
use super::traceability::{self, Traceability};
pub use super::view_parts::{anchor, short_name, status_word, FindingView, TotalsView};
use crate::run::Totals;

/// Everything the report templates show.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The report document's title, else
    /// [`DEFAULT_TITLE`](crate::spec::report_doc::DEFAULT_TITLE).
    pub title: String,
    /// `PASS` or `FAIL`.
    pub verdict: &'static str,
    /// True when nothing failed (and, with `--fail-on-skip`, nothing was skipped).
    pub passed: bool,
    /// Why the run failed when no check did (`--fail-on-skip` and skips); absent otherwise.
    pub verdict_reason: Option<String>,
    /// Counts over all checks.
    pub totals: TotalsView,
    /// The renderer, `reims-verify X.Y.Z`.
    pub generator: String,
    /// The run record's file name.
    pub run_file: String,
    /// SHA-256 of the run record's bytes.
    pub digest: String,
    /// Where and how the run was made.
    pub env: EnvView,
    /// Failed checks, in the order they were made.
    pub failures: Vec<FindingView>,
    /// Skipped checks with their reasons.
    pub skipped: Vec<FindingView>,
    /// Business requirements → objects → status.
    pub trace: Traceability,
    /// Every relation's checks, failing relations first.
    pub tables: Vec<TableView>,
    /// Objects checked.
    pub object_count: usize,
    /// The migration inventory.
    pub migrations: Vec<MigrationView>,
    /// How many migrations are applied.
    pub migrations_applied: usize,
    /// The spec inventory.
    pub specs: Vec<SpecView>,
    /// The access-control section.
    pub access: super::access::AccessView,
    /// The entity–relationship diagrams (HTML only).
    pub erd: Vec<super::erd::Diagram>,
}

/// The environment of the run.
#[derive(Debug, Clone, Serialize)]
pub struct EnvView {
    /// reims-verify version that made the run.
    pub tool_version: String,
    /// Git commit of the checked tree.
    pub git_commit: Option<String>,
    /// The machine.
    pub hostname: Option<String>,
    /// The command line, passwords redacted, shell-quoted.
    pub command_line: Option<String>,
    /// PostgreSQL `server_version`.
    pub server_version: String,
    /// What a reader must know to trust the verdict (shown near the verdict).
    pub warnings: Vec<String>,
    /// The database, password redacted.
    pub database: String,
    /// Whether it was a throw-away cluster.
    pub ephemeral: bool,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub finished_at: String,
    /// `finished_at - started_at`, e.g. `6.55 s`.
    pub duration: Option<String>,
    /// Probe seed.
    pub probe_seed: Option<u64>,
    /// Migrations folder.
    pub migrations_dir: Option<String>,
    /// Specs folder.
    pub specs_dir: Option<String>,
    /// Time per phase.
    pub phases: Vec<PhaseView>,
}

/// One phase's time.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    /// Name.
    pub name: String,
    /// Milliseconds from the start of the run, when the record says (phases may overlap).
    pub started_millis: Option<u64>,
    /// Milliseconds.
    pub millis: u64,
}

/// One relation's checks.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    /// Relation name (or `functions`, `migrations`).
    pub name: String,
    /// HTML anchor.
    pub anchor: String,
    /// The spec file, when one describes it.
    pub spec: Option<String>,
    /// Requirements its objects serve.
    pub requirements: Vec<String>,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
    /// Counts.
    pub totals: TotalsView,
    /// Objects, in the order checked.
    pub objects: Vec<ObjectView>,
}

/// One object and each of its checks.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectView {
    /// `users.email`.
    pub name: String,
    /// `email` (see [`short_name`]).
    pub short: String,
    /// Worst status.
    pub status: &'static str,
    /// Its checks, in order (a [`Marks`] sequence).
    pub checks: minijinja::Value,
}

/// An object's checks as the templates read them. The reports list them through the
/// filters [`check_spans`] and [`check_words`], written in Rust; a template that indexes
/// the sequence gets each check as a value made when it reaches it (a tree of values made
/// at once for every check, one per finding, took hundreds of megabytes at thousands of
/// tables).
#[derive(Debug)]
pub struct Marks(pub Vec<CheckMark>);

impl minijinja::value::Object for Marks {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let mark = self.0.get(key.as_usize()?)?;
        Some(minijinja::context! { code => mark.code.as_str(), status => mark.status })
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.0.len())
    }
}

impl Marks {
    /// The checks as the HTML report lists them, one `<span>` each, escaped as the
    /// template escapes (see [`check_spans`]).
    fn html_spans(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 40);
        for mark in &self.0 {
            out.push_str("<span class=\"chk ");
            push_html(&mut out, mark.status);
            out.push_str("\">");
            push_html(&mut out, &mark.code);
            out.push_str("</span>");
        }
        out
    }

    /// The checks as the Markdown report lists them: failed ones bold, skipped ones in
    /// italics, comma-separated (see [`check_words`]).
    fn markdown_words(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 24);
        for (i, mark) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match mark.status {
                "fail" => {
                    out.push_str("**");
                    out.push_str(&mark.code);
                    out.push_str(" fail**");
                }
                "skip" => {
                    out.push('*');
                    out.push_str(&mark.code);
                    out.push_str(" skip*");
                }
                _ => out.push_str(&mark.code),
            }
        }
        out
    }
}

/// Append `text` HTML-escaped as the templates' auto-escaping does.
fn push_html(out: &mut String, text: &str) {
    use std::fmt::Write;
    let _ = write!(out, "{}", minijinja::HtmlEscape(text));
}

/// The template filter `check_spans`: an object's checks as HTML. Written here rather than
/// as a loop in the template because there is one per finding: at a thousand tables the
/// template's loop over 180,000 checks was most of the HTML report's rendering.
pub(crate) fn check_spans(checks: &minijinja::Value) -> Result<minijinja::Value, minijinja::Error> {
    Ok(minijinja::Value::from_safe_string(
        marks(checks)?.html_spans(),
    ))
}

/// The template filter `check_words`: an object's checks as Markdown, for the same reason
/// as [`check_spans`].
pub(crate) fn check_words(checks: &minijinja::Value) -> Result<minijinja::Value, minijinja::Error> {
    Ok(minijinja::Value::from(marks(checks)?.markdown_words()))
}

fn marks(checks: &minijinja::Value) -> Result<&Marks, minijinja::Error> {
    checks.downcast_object_ref::<Marks>().ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            "the checks of an object are expected here",
        )
    })
}

/// One check of an object.
#[derive(Debug, Clone, Serialize)]
pub struct CheckMark {
    /// Check code (short: kept inline, never on the heap, as there is one per finding).
    pub code: compact_str::CompactString,
    /// `pass`, `fail` or `skip`.
    pub status: &'static str,
}

/// One migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationView {
    /// File name.
    pub name: String,
    /// Status word.
    pub status: String,
    /// True when applied and unchanged.
    pub ok: bool,
    /// SHA-256 of the file.
    pub sha256: Option<String>,
    /// SHA-256 recorded when applied, when it differs from the file's.
    pub applied_sha256: Option<String>,
    /// When applied.
    pub applied_at: Option<String>,
    /// Error of a failed attempt.
    pub error: Option<String>,
}

/// One spec file.
#[derive(Debug, Clone, Serialize)]
pub struct SpecView {
    /// Path.
    pub path: String,
    /// Relation.
    pub table: String,
    /// Anchor of the relation's section.
    pub table_anchor: String,
    /// Declared requirements.
    pub requirements: Vec<String>,
    /// SHA-256.
    pub sha256: String,
}

/// Quote a command-line word for a POSIX shell when it needs it.
fn shell_word(w: &str) -> String {
    let safe = !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if safe {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// `6.55 s` between two RFC 3339 times.
fn duration(start: &str, end: &str) -> Option<String> {
    let s = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let e = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    let ms = (e - s).num_milliseconds();
    (ms >= 0).then(|| format!("{:.2} s", ms as f64 / 1000.0))
}

/// Build the report's content from a run record and its digest.
pub fn build(run: &RunRecord, digest: &str, run_file: &str) -> ReportView {
    let totals = run.totals();
    let env = EnvView {
        tool_version: run.tool_version.clone(),
        git_commit: run.git_commit.clone(),
        hostname: run.hostname.clone(),
        command_line: (!run.command_line.is_empty()).then(|| {
            run.command_line
                .iter()
                .map(|w| shell_word(w))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        server_version: run.server_version.clone(),
        warnings: run.warnings.clone(),
        database: run.database.clone(),
        ephemeral: run.ephemeral,
        started_at: run.started_at.clone(),
        finished_at: run.finished_at.clone(),
        duration: duration(&run.started_at, &run.finished_at),
        probe_seed: run.probe_seed,
        migrations_dir: run.migrations_dir.clone(),
        specs_dir: run.specs_dir.clone(),
        phases: run
            .phases
            .iter()
            .map(|p| PhaseView {
                name: p.name.clone(),
                started_millis: p.started_millis,
                millis: p.millis,
            })
            .collect(),
    };
    let of = |o: Outcome| {
        run.findings
            .iter()
            .filter(move |f| f.status == o)
            .map(FindingView::from)
    };
    let tables = tables(run);
    let migrations: Vec<MigrationView> = run
        .migrations
        .iter()
        .map(|m| MigrationView {
            name: m.name.clone(),
            ok: m.status == "applied",
            status: m.status.clone(),
            sha256: m.file_checksum.clone(),
            applied_sha256: m
                .applied_checksum
                .clone()
                .filter(|a| Some(a) != m.file_checksum.as_ref()),
            applied_at: m.applied_at.clone(),
            error: m.error_message.clone(),
        })
        .collect();
    ReportView {
        title: run
            .report
            .as_ref()
            .and_then(|r| r.title.clone())
            .unwrap_or_else(|| crate::spec::report_doc::DEFAULT_TITLE.to_string()),
        verdict: crate::run::verdict_word(&totals, run.skips_fail),
        passed: crate::run::verdict_passes(&totals, run.skips_fail),
        verdict_reason: crate::run::skips_failed_it(&totals, run.skips_fail),
        totals: totals.into(),
        generator: generator(),
        run_file: run_file.to_string(),
        digest: digest.to_string(),
        env,
        failures: of(Outcome::Fail).collect(),
        skipped: of(Outcome::Skip).collect(),
        trace: traceability::build(run),
        object_count: tables.iter().map(|t| t.objects.len()).sum(),
        tables,
        migrations_applied: migrations.iter().filter(|m| m.ok).count(),
        migrations,
        specs: run
            .specs
            .iter()
            .map(|s| SpecView {
                path: s.path.clone(),
                table: s.table.clone(),
                table_anchor: anchor("t", &s.table),
                requirements: s.requirements.clone(),
                sha256: s.sha256.clone(),
            })
            .collect(),
        access: super::access::build(run),
        erd: run
            .schema_map
            .as_ref()
            .map(super::erd::diagrams)
            .unwrap_or_default(),
    }
}

/// Findings grouped by relation then object: relations with failures first, then the
/// others, each group in the order the relations were first checked.
fn tables(run: &RunRecord) -> Vec<TableView> {
    let mut by_table: IndexMap<&str, IndexMap<&str, Vec<&FindingRecord>>> = IndexMap::new();
    for f in &run.findings {
        by_table
            .entry(f.table.as_str())
            .or_default()
            .entry(f.object.as_str())
            .or_default()
            .push(f);
    }
    let mut tables: Vec<TableView> = by_table
        .into_iter()
        .map(|(name, objects)| {
            let all = objects.values().flatten();
            let totals = Totals::of_statuses(all.clone().map(|f| f.status.status()));
            let mut requirements: Vec<String> =
                all.flat_map(|f| f.requirements().iter().cloned()).collect();
            requirements.sort();
            requirements.dedup();
            TableView {
                name: name.to_string(),
                anchor: anchor("t", name),
                spec: run
                    .specs
                    .iter()
                    .find(|s| s.table == name)
                    .map(|s| s.path.clone()),
                requirements,
                status: status_word(totals),
                totals: totals.into(),
                objects: objects
                    .into_iter()
                    .map(|(object, findings)| ObjectView {
                        name: object.to_string(),
                        short: short_name(name, object),
                        status: status_word(Totals::of_statuses(
                            findings.iter().map(|f| f.status.status()),
                        )),
                        checks: minijinja::Value::from_object(Marks(
                            findings
                                .iter()
                                .map(|f| CheckMark {
                                    code: f.code.clone(),
                                    status: f.status.as_str(),
                                })
                                .collect(),
                        )),
                    })
                    .collect(),
            }
        })
        .collect();
    // Stable: failing relations first, the rest keep their order.
    tables.sort_by_key(|t| t.totals.failed == 0);
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_valid_and_distinct() {
        assert_eq!(anchor("t", "users"), "t-users");
        assert_eq!(short_name("users", "users.email"), "email");
        assert_eq!(short_name("users", "users"), "users");
        assert_eq!(short_name("users", "users_x.a"), "users_x.a");
        assert_eq!(short_name("functions", "f(int)"), "f(int)");
        assert_ne!(anchor("t", "a b"), anchor("t", "a-b"));
        assert!(anchor("t", "a\"b<")
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn command_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("--seed"), "--seed");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(
            duration("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:06.550Z").as_deref(),
            Some("6.55 s")
        );
    }
}
