//! The run record: everything one `check` did and found. Every renderer reads this and
//! nothing else; none of them queries the database.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::migrate::StatusRow;
use crate::verify::{Finding, Status};

mod findings;
pub use findings::{spool_error, FindingReader, FindingSink, Findings, TableTally};

/// Version of the `run.json` format; bump on any incompatible change.
pub const RUN_FORMAT_VERSION: u32 = 1;

/// One run of the gate.
#[derive(Debug, Serialize)]
pub struct Run {
    /// [`RUN_FORMAT_VERSION`].
    pub format_version: u32,
    /// `reims-verify` version.
    pub tool_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// Where, from what and how the run was made (git commit, host, command line, folders);
    /// its fields sit at the top level of `run.json`.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The database, password redacted.
    pub database: String,
    /// `server_version` of the checked server.
    pub server_version: String,
    /// `postgres --version` of the server that compiled the specs (the shadow), when it was
    /// another server than the checked one (a handed-over server's shadow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow_server_version: Option<String>,
    /// Whether the database was a throw-away cluster.
    pub ephemeral: bool,
    /// Migration inventory with checksums and status.
    pub migrations: Vec<StatusRow>,
    /// Spec inventory with checksums.
    pub specs: Vec<SpecFile>,
    /// The reports' title and the requirements they always list, from the specs' report
    /// document; absent when the specs have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::spec::report_doc::ReportSpec>,
    /// The probes' random seed (`--seed` replays it); absent when probes did not run.
    pub probe_seed: Option<u64>,
    /// `--fail-on-skip`: a skipped check fails the run as a failed one does; absent when
    /// not asked for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skips_fail: bool,
    /// Files that looked like specs but were not read, specs compiled by another
    /// PostgreSQL major than the checked server's, and other things the user should know
    /// to trust the verdict; absent when there were none. Every report shows them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Time per phase, in milliseconds.
    pub phases: Vec<Phase>,
    /// Counts of `findings` by status, as written (see [`Run::totals`]).
    pub totals: Totals,
    /// Every check made, spooled to a temporary file (see [`Findings`]).
    pub findings: Findings,
    /// Who can read each column the specs mark `sensitive`, from the catalog.
    pub sensitive_columns: Option<Vec<crate::catalog::SensitiveColumn>>,
    /// The checked schema's relations and foreign keys, for the diagram.
    pub schema_map: Option<crate::report::erd::SchemaMap>,
    /// For failing findings with no spec location: the migration line that defines the
    /// object, found by name (see [`crate::anchor`]), keyed by the finding's object. CI
    /// annotations and SARIF point there.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub defined_at: std::collections::BTreeMap<String, crate::error::SourceLocation>,
}

/// A spec file and its fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct SpecFile {
    /// Path as given.
    pub path: String,
    /// The relation it specifies, as the findings name it: bare in the default schema,
    /// else `schema.table` (two schemas may each hold a table of that name).
    pub table: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Business requirements the spec declares (`BR-001` …).
    pub requirements: Vec<String>,
}

/// How long one phase took, and when it started.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `specs`, `cluster_start`, `migrations`, `introspection`, `shadow`, `verify`, `probes`,
    /// and `shadow_server` (the start of the server a shadow built ahead had to itself).
    pub name: &'static str,
    /// When the phase started, in milliseconds from the start of the run. Phases that run
    /// side by side (the catalog read and the shadow's build; a shadow built ahead, with
    /// the cluster's start and the migrations) overlap, so their durations do not add up
    /// to the run's.
    pub started_millis: u128,
    /// Milliseconds.
    pub millis: u128,
}

/// The run's stopwatch. Each phase is recorded with its start, so that a reader of the
/// record can tell the phases that ran in turn from the ones that ran side by side.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A stopwatch started now, at the start of the run.
    pub fn start() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// The phase `name`, started at `started` and ending now.
    pub fn phase(&self, name: &'static str, started: std::time::Instant) -> Phase {
        Phase {
            name,
            started_millis: started.saturating_duration_since(self.start).as_millis(),
            millis: started.elapsed().as_millis(),
        }
    }

    /// A phase that ran from `started` to `ended`, recorded after it ended (work done on
    /// another thread, handed over later).
    pub fn span(
        &self,
        name: &'static str,
        started: std::time::Instant,
        ended: std::time::Instant,
    ) -> Phase {
        Phase {
            name,
            started_millis: started.saturating_duration_since(self.start).as_millis(),
            millis: ended.saturating_duration_since(started).as_millis(),
        }
    }
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    /// Passed checks.
    pub passed: usize,
    /// Failed checks.
    pub failed: usize,
    /// Skipped checks.
    pub skipped: usize,
}

impl Totals {
    /// Count `findings` by status.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Totals {
        Totals::of_statuses(findings.into_iter().map(|f| f.status))
    }

    /// Count a sequence of statuses.
    pub fn of_statuses(statuses: impl IntoIterator<Item = Status>) -> Totals {
        let mut t = Totals::default();
        for s in statuses {
            match s {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
                Status::Skip => t.skipped += 1,
            }
        }
        t
    }

    /// Every check made.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

impl Run {
    /// Counts over all findings, recomputed (the `totals` field is what was written).
    pub fn totals(&self) -> Totals {
        self.findings.totals()
    }

    /// True when nothing failed (and, with `--fail-on-skip`, nothing was skipped).
    pub fn passed(&self) -> bool {
        verdict_passes(&self.totals(), self.skips_fail)
    }
}

/// The verdict of a run with these counts: a pass when nothing failed and, when
/// `skips_fail` (`--fail-on-skip`), nothing was skipped. The one rule the exit code, the
/// terminal and every report follow.
pub fn verdict_passes(totals: &Totals, skips_fail: bool) -> bool {
    totals.failed == 0 && !(skips_fail && totals.skipped > 0)
}

/// The verdict's word for a run with these counts, `PASS` or `FAIL` as
/// [`verdict_passes`] decides: the one word the terminal, every report and the CI step
/// summary print, so that no place can say another word than the exit code says.
pub fn verdict_word(totals: &Totals, skips_fail: bool) -> &'static str {
    if verdict_passes(totals, skips_fail) {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Why a run with these counts failed when no check did, for the verdict's line; `None`
/// when the counts alone say it.
pub fn skips_failed_it(totals: &Totals, skips_fail: bool) -> Option<String> {
    (totals.failed == 0 && !verdict_passes(totals, skips_fail)).then(|| {
        format!(
            "--fail-on-skip was given and {} {} skipped",
            totals.skipped,
            if totals.skipped == 1 {
                "check was"
            } else {
                "checks were"
            }
        )
    })
}

/// Where, from what and how a run was made: what an auditor needs to reproduce it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    /// The git commit checked out where the migrations live, when there is a repository.
    pub git_commit: Option<String>,
    /// The machine that ran the check.
    pub hostname: Option<String>,
    /// The command line, with any password redacted.
    pub command_line: Vec<String>,
    /// The migrations folder, as given.
    pub migrations_dir: String,
    /// The specs folder, as given.
    pub specs_dir: String,
}

impl Provenance {
    /// Capture the provenance of a run over these folders: the git commit (read from
    /// `.git` without running git), the host name and this process's command line.
    pub fn capture(migrations_dir: &Path, specs_dir: &Path) -> Provenance {
        let args: Vec<String> = std::env::args().collect();
        Provenance {
            git_commit: git_commit_near(migrations_dir)
                .or_else(|| {
                    std::env::current_dir()
                        .ok()
                        .and_then(|d| git_commit_near(&d))
                })
                .or_else(|| std::env::var("GITHUB_SHA").ok().filter(|s| is_commit(s))),
            hostname: hostname(),
            command_line: redact_command_line(&args),
            migrations_dir: migrations_dir.display().to_string(),
            specs_dir: specs_dir.display().to_string(),
        }
    }
}

/// The command line with passwords replaced by `***` (see [`crate::redact::command_line`]).
pub fn redact_command_line(args: &[String]) -> Vec<String> {
    crate::redact::command_line(args)
}

/// True for a full hexadecimal commit id (SHA-1 or SHA-256 object format).
fn is_commit(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit `HEAD` points to in the repository containing `start`, read from the files
/// under `.git` (loose refs, then `packed-refs`); `None` when there is no repository or
/// the ref cannot be resolved.
pub fn git_commit_near(start: &Path) -> Option<String> {
    let start = start.canonicalize().ok()?;
    let git = start
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|g| g.exists())?;
    let git_dir = if git.is_file() {
        // A worktree or submodule: `gitdir: <path>`.
        let text = std::fs::read_to_string(&git).ok()?;
        let rel = text.trim().strip_prefix("gitdir:")?.trim();
        git.parent()?.join(rel)
    } else {
        git
    };
    // Worktrees keep shared refs in the common dir.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:") else {
        return is_commit(head).then(|| head.to_ascii_lowercase());
    };
    resolve_ref(&[git_dir.clone(), common], reference.trim())
}

/// Resolve a ref such as `refs/heads/main` in these git dirs.
fn resolve_ref(dirs: &[PathBuf], reference: &str) -> Option<String> {
    for dir in dirs {
        if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
            let id = text.trim();
            if is_commit(id) {
                return Some(id.to_ascii_lowercase());
            }
        }
    }
    for dir in dirs {
        let Ok(packed) = std::fs::read_to_string(dir.join("packed-refs")) else {
            continue;
        };
        for line in packed.lines() {
            if let Some((id, name)) = line.split_once(' ') {
                if name.trim() == reference && is_commit(id) {
                    return Some(id.to_ascii_lowercase());
                }
            }
        }
    }
    None
}

/// This machine's host name.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, and gethostname writes at most
    // that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn passwords_never_reach_the_command_line() {
        let got = redact_command_line(&strings(&[
            "reims-verify",
            "check",
            "--database-url",
            "postgres://alice:s3cr3t@db:5432/reims",
            "--database-url=postgresql://bob:hunter2@db/reims?sslmode=require",
            "host=db password=pw2 dbname=x",
            "--password",
            "pw3",
            "--db-password=pw4",
            "--seed",
            "1",
        ]));
        let joined = got.join(" ");
        for secret in ["s3cr3t", "hunter2", "pw2", "pw3", "pw4"] {
            assert!(!joined.contains(secret), "{secret} leaked: {joined}");
        }
        assert!(
            joined.contains("postgres://alice:***@db:5432/reims"),
            "{joined}"
        );
        assert!(joined.contains("--seed 1"), "{joined}");
    }

    #[test]
    fn git_head_is_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let id = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs with: peeled\n{id} refs/heads/main\n"),
        )
        .unwrap();
        let sub = dir.path().join("migrations");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(git_commit_near(&sub).as_deref(), Some(id));
        let loose = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(git.join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(git_commit_near(&sub).as_deref(), Some(loose));
        std::fs::write(git.join("HEAD"), format!("{id}\n")).unwrap();
        assert_eq!(git_commit_near(&sub).as_deref(), Some(id));
        let none = tempfile::tempdir().unwrap();
        // A temp dir may sit inside some repository; only assert it does not panic.
        let _ = git_commit_near(none.path());
    }
}
