//! One whole `reims-verify check`, as a user runs it: the default table output (to
//! /dev/null) and the default reports (written to a folder of their own). The wall time
//! covers everything from process start to exit; the phases come from the run record the
//! process wrote; the memory figures from the kernel.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ms;

/// What one run cost.
#[derive(Debug, Clone)]
pub struct GateRun {
    /// Process start to exit, in milliseconds.
    pub wall: f64,
    /// `(phase, milliseconds)` from `run.json`.
    pub phases: Vec<(String, f64)>,
    /// `(phase, start, end)` in milliseconds from the start of the run, when the record
    /// says when each phase started (phases may overlap: the catalog read and the shadow
    /// run side by side).
    pub spans: Vec<(String, f64, f64)>,
    /// Peak resident memory of reims-verify itself, in MiB (`VmHWM`, polled).
    pub rss_self: f64,
    /// Peak resident memory of the largest process of the run (reims-verify or one of the
    /// server processes it started), in MiB (`ru_maxrss` from `wait4`).
    pub rss_tree: f64,
    /// Failed findings.
    pub failed: u64,
    /// Passed findings.
    pub passed: u64,
}

/// How a run is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No cache of any kind (`REIMS_VERIFY_NO_CACHE=1`).
    Cold,
    /// The caches filled by an earlier run.
    Warm,
}

/// Run `check` once.
pub fn check_once(
    bin: &Path,
    migrations: &Path,
    specs: &Path,
    cache: &Path,
    mode: Mode,
    probes: bool,
) -> GateRun {
    let report = tempfile::tempdir().unwrap();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(bin);
    cmd.args(["check", "--color", "never", "--migrations"])
        .arg(migrations)
        .arg("--specs")
        .arg(specs)
        .arg("--report")
        .arg(report.path())
        .env("REIMS_VERIFY_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap());
    if probes {
        cmd.args(["--seed", "1"]);
    } else {
        cmd.arg("--no-probe");
    }
    match mode {
        Mode::Cold => cmd.env("REIMS_VERIFY_NO_CACHE", "1"),
        Mode::Warm => cmd.env_remove("REIMS_VERIFY_NO_CACHE"),
    };
    let t = Instant::now();
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let poller = std::thread::spawn(move || {
        let mut hwm = 0u64;
        while let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            // A zombie has no memory lines any more; stop at the first read without.
            let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            else {
                break;
            };
            hwm = hwm.max(kb);
            std::thread::sleep(Duration::from_millis(5));
        }
        hwm
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for; both pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = ms(t.elapsed());
    assert_eq!(rc, pid, "wait4");
    std::mem::forget(child); // already reaped
    let hwm = poller.join().unwrap();
    let code = libc::WEXITSTATUS(status);
    let run: serde_json::Value = std::fs::read(report.path().join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| {
            panic!(
                "check exited {code} without a run record: {}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            )
        });
    assert!(
        code == 0 || code == 1,
        "check exited {code}: {}",
        std::fs::read_to_string(stderr.path()).unwrap_or_default()
    );
    let phases: Vec<(String, f64)> = run["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["millis"].as_f64().unwrap(),
            )
        })
        .collect();
    let spans = run["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let start = p["started_millis"].as_f64()?;
            Some((
                p["name"].as_str().unwrap().to_string(),
                start,
                start + p["millis"].as_f64().unwrap(),
            ))
        })
        .collect::<Vec<_>>();
    GateRun {
        wall,
        spans: if spans.len() == phases.len() {
            spans
        } else {
            Vec::new()
        },
        phases,
        rss_self: hwm as f64 / 1024.0,
        rss_tree: usage.ru_maxrss as f64 / 1024.0,
        failed: run["totals"]["failed"].as_u64().unwrap_or(0),
        passed: run["totals"]["passed"].as_u64().unwrap_or(0),
    }
}
