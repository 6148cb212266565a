//! The run record: everything one `check` did and found. Every renderer reads this and
//! nothing else; none of them queries the database.

use serde::Serialize;

use crate::migrate::StatusRow;
use crate::verify::{Finding, Status};

/// Version of the `run.json` format; bump on any incompatible change.
pub const RUN_FORMAT_VERSION: u32 = 1;

/// One run of the gate.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// [`RUN_FORMAT_VERSION`].
    pub format_version: u32,
    /// `reims-verify` version.
    pub tool_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// The database, password redacted.
    pub database: String,
    /// `server_version` of the checked server.
    pub server_version: String,
    /// Whether the database was a throw-away cluster.
    pub ephemeral: bool,
    /// Migration inventory with checksums and status.
    pub migrations: Vec<StatusRow>,
    /// Spec inventory with checksums.
    pub specs: Vec<SpecFile>,
    /// The probes' random seed (`--seed` replays it); absent when probes did not run.
    pub probe_seed: Option<u64>,
    /// Time per phase, in milliseconds.
    pub phases: Vec<Phase>,
    /// Every check made.
    pub findings: Vec<Finding>,
}

/// A spec file and its fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct SpecFile {
    /// Path as given.
    pub path: String,
    /// The table it specifies.
    pub table: String,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// How long one phase took.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `cluster_start`, `migrations`, `introspection`, `shadow`, `verify`.
    pub name: &'static str,
    /// Milliseconds.
    pub millis: u128,
}

/// Counts of findings by status.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    /// Passed checks.
    pub passed: usize,
    /// Failed checks.
    pub failed: usize,
    /// Skipped checks.
    pub skipped: usize,
}

impl Run {
    /// Counts over all findings.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for f in &self.findings {
            match f.status {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
                Status::Skip => t.skipped += 1,
            }
        }
        t
    }

    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.totals().failed == 0
    }
}
