//! GitHub Actions: findings where the pull request shows them.
//!
//! Under `GITHUB_ACTIONS=true`, `check` prints one `::error` workflow command per failing
//! finding (on the spec line, or the migration line that defines the object) and one
//! `::warning` per reason checks were skipped, and appends a short Markdown summary to the
//! file `$GITHUB_STEP_SUMMARY` names.
//!
//! Text from the database (names, expressions, messages) is escaped the way the runner
//! unescapes it, so it can never end a command early or start a new one; the rest of the
//! output is printed between `::stop-commands::` markers for the same reason.

use indexmap::IndexMap;

use super::json::{FindingRecord, LocationRecord, Outcome, RunRecord};

/// The environment variable GitHub Actions sets to `true` in every step.
pub const ACTIONS_ENV: &str = "GITHUB_ACTIONS";
/// The environment variable naming the file a step appends its Markdown summary to.
pub const SUMMARY_ENV: &str = "GITHUB_STEP_SUMMARY";
/// Failing findings listed in the step summary before it refers to the report.
pub const SUMMARY_ROWS: usize = 50;

/// True when running as a GitHub Actions step.
pub fn active() -> bool {
    std::env::var(ACTIONS_ENV).is_ok_and(|v| v == "true")
}

/// Escape a command's message the way the runner unescapes it.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a command property (`file=`, `title=` …): also `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Where a finding is shown: its spec location, else the migration line that defines its
/// object.
fn place<'a>(run: &'a RunRecord, f: &'a FindingRecord) -> Option<&'a LocationRecord> {
    f.location
        .as_ref()
        .or_else(|| run.defined_at.get(f.object.as_str()))
}

/// One workflow command per failing finding and one per distinct skip reason, in the
/// run's order.
pub fn annotations(run: &RunRecord) -> Vec<String> {
    let mut out = Vec::new();
    for f in run.findings.iter().filter(|f| f.status == Outcome::Fail) {
        let mut props = Vec::new();
        if let Some(l) = place(run, f) {
            props.push(format!("file={}", escape_property(&l.file)));
            if let Some(line) = l.line {
                props.push(format!("line={line}"));
            }
            if let Some(col) = l.column {
                props.push(format!("col={col}"));
            }
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("reims-verify {} {}", f.code, f.object))
        ));
        let mut text = f.message.clone();
        for (label, value) in [("expected", &f.expected), ("actual", &f.actual)] {
            if let Some(v) = value {
                text.push_str(&format!("\n{label}: {v}"));
            }
        }
        if let Some(h) = f.hint() {
            text.push_str(&format!("\nhint: {h}"));
        }
        out.push(format!(
            "::error {}::{}",
            props.join(","),
            escape_data(&text)
        ));
    }
    for ((code, reason), n) in skip_reasons(run) {
        out.push(format!(
            "::warning title={}::{}",
            escape_property(&format!("reims-verify: {n} {code} check(s) skipped")),
            escape_data(&reason)
        ));
    }
    out
}

/// Skipped checks grouped by code and reason, with counts, in the run's order.
fn skip_reasons(run: &RunRecord) -> IndexMap<(String, String), usize> {
    let mut out: IndexMap<(String, String), usize> = IndexMap::new();
    for f in run.findings.iter().filter(|f| f.status == Outcome::Skip) {
        *out.entry((f.code.to_string(), f.message.clone()))
            .or_default() += 1;
    }
    out
}

/// Make text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// The Markdown appended to the step summary: the verdict, the failing findings (at most
/// [`SUMMARY_ROWS`]), why checks were skipped, and where the reports and their digest are.
pub fn step_summary(run: &RunRecord, digest: &str, report_dir: Option<&str>) -> String {
    let totals = run.totals();
    let because = crate::run::skips_failed_it(&totals, run.skips_fail);
    let verdict = crate::run::verdict_word(&totals, run.skips_fail);
    let mut md = format!(
        "## reims-verify: {verdict}\n\n{} failed, {} passed, {} skipped · {} · PostgreSQL {}\n\n",
        totals.failed,
        totals.passed,
        totals.skipped,
        cell(&run.database),
        cell(&run.server_version)
    );
    if let Some(why) = because {
        md.push_str(&format!("It fails because {}.\n\n", cell(&why)));
    }
    let failed: Vec<&FindingRecord> = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Fail)
        .collect();
    if !failed.is_empty() {
        md.push_str("| check | object | where | expected | actual |\n|---|---|---|---|---|\n");
        for f in failed.iter().take(SUMMARY_ROWS) {
            let at = place(run, f).map(|l| l.to_string()).unwrap_or_default();
            md.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                f.code,
                cell(&f.object),
                cell(&at),
                cell(f.expected.as_deref().unwrap_or("")),
                cell(f.actual.as_deref().unwrap_or(""))
            ));
        }
        if failed.len() > SUMMARY_ROWS {
            md.push_str(&format!(
                "\n… and {} more failing checks: see the reports.\n",
                failed.len() - SUMMARY_ROWS
            ));
        }
        md.push('\n');
    }
    let skips = skip_reasons(run);
    if !skips.is_empty() {
        md.push_str("**Skipped checks**\n\n");
        for ((code, reason), n) in skips {
            md.push_str(&format!("- {n} × `{code}`: {}\n", cell(&reason)));
        }
        md.push('\n');
    }
    if let Some(seed) = run.probe_seed {
        md.push_str(&format!(
            "Probe seed {seed}: `reims-verify check --seed {seed}` replays this run.\n\n"
        ));
    }
    match report_dir {
        Some(dir) => md.push_str(&format!(
            "Reports in `{}` (`run.json` sha256 `{digest}`).\n",
            cell(dir)
        )),
        None => md.push_str(&format!(
            "No report files were written (`run.json` would have sha256 `{digest}`).\n"
        )),
    }
    md
}

/// Print the annotations (to stdout, or to stderr when stdout carries JSON) and append the
/// step summary, for a run whose record is `run_json`. A summary file that cannot be written
/// is reported on stderr and does not change the run's outcome.
pub fn publish(run_json: &[u8], report_dir: Option<&std::path::Path>, stdout_is_json: bool) {
    let Ok(run) = super::json::parse(run_json, std::path::Path::new(super::json::RUN_FILE)) else {
        return;
    };
    let digest = super::digest::sha256_hex(run_json);
    publish_record(&run, &digest, report_dir, stdout_is_json);
}

/// [`publish`] for a record already parsed from bytes whose SHA-256 is `digest`.
pub fn publish_record(
    run: &super::json::RunRecord,
    digest: &str,
    report_dir: Option<&std::path::Path>,
    stdout_is_json: bool,
) {
    for line in annotations(run) {
        if stdout_is_json {
            errln!("{line}");
        } else {
            outln!("{line}");
        }
    }
    let Some(path) = std::env::var_os(SUMMARY_ENV).filter(|p| !p.is_empty()) else {
        return;
    };
    let dir = report_dir.map(|d| d.display().to_string());
    let text = step_summary(run, digest, dir.as_deref());
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = appended {
        errln!(
            "warning: cannot append the job summary to {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        // A hostile message cannot start a new command on its own line.
        let e = escape_data("x\n::add-mask::secret");
        assert!(!e.contains('\n'));
    }

    /// A record whose findings are all skips, with `--fail-on-skip` or without.
    fn all_skipped(skips_fail: bool) -> super::super::json::RunRecord {
        let text = format!(
            r#"{{"format_version": 1, "tool_version": "0", "started_at": "", "finished_at": "",
                "database": "db", "server_version": "15", "skips_fail": {skips_fail},
                "findings": [{{"code": "privilege.defaults", "table": "", "object": "public",
                  "status": "skip", "message": "not compared"}}]}}"#
        );
        super::super::json::parse(text.as_bytes(), std::path::Path::new("run.json")).unwrap()
    }

    /// The step summary's verdict is the exit code's: a run where every check was skipped
    /// passes (exit 0) unless `--fail-on-skip` was given, and the summary says PASS as the
    /// terminal and the reports do, not a word of its own.
    #[test]
    fn a_run_of_only_skips_gets_the_verdict_word_the_exit_code_gives() {
        for skips_fail in [false, true] {
            let run = all_skipped(skips_fail);
            let totals = run.totals();
            assert_eq!((totals.passed, totals.failed, totals.skipped), (0, 0, 1));
            let word = if skips_fail { "FAIL" } else { "PASS" };
            assert_eq!(
                crate::run::verdict_passes(&totals, skips_fail),
                !skips_fail,
                "the exit code's rule"
            );
            let summary = step_summary(&run, "0", None);
            assert!(
                summary.starts_with(&format!("## reims-verify: {word}\n")),
                "{summary}"
            );
        }
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("<script>"), "&lt;script>");
    }
}
