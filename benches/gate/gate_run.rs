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
    /// Peak resident memory of reims-verify itself, in MiB (`VmHWM`, polled from its exec
    /// on).
    pub rss_self: f64,
    /// Peak resident memory of the largest process of the run (reims-verify or one of the
    /// server processes it started), in MiB (`ru_maxrss` from `wait4`). A spawned child
    /// counts the benchmark's own peak until it execs, so that peak is reset to what the
    /// benchmark holds just before each spawn (see [`forget_own_peak`]).
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
    forget_own_peak();
    let t = Instant::now();
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let exe = std::fs::canonicalize(bin).unwrap();
    let poller = std::thread::spawn(move || {
        let mut hwm = 0u64;
        // Until it execs, the child is the benchmark (spawned with vfork, it even shares the
        // benchmark's memory, and its `VmHWM` is the benchmark's): count from the exec on.
        loop {
            match std::fs::read_link(format!("/proc/{pid}/exe")) {
                Ok(p) if p == exe => break,
                Ok(_) => std::thread::sleep(Duration::from_micros(200)),
                Err(_) => return hwm,
            }
        }
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
    let run: RecordHead = std::fs::File::open(report.path().join("run.json"))
        .ok()
        .and_then(|f| serde_json::from_reader(std::io::BufReader::new(f)).ok())
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
    let phases: Vec<(String, f64)> = run
        .phases
        .iter()
        .map(|p| (p.name.clone(), p.millis))
        .collect();
    let spans = run
        .phases
        .iter()
        .filter_map(|p| {
            Some((
                p.name.clone(),
                p.started_millis?,
                p.started_millis? + p.millis,
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
        failed: run.totals.failed,
        passed: run.totals.passed,
    }
}

/// The parts of `run.json` the benchmark reads. The findings (hundreds of megabytes at
/// 5,000 tables) are skipped as they are read, never held: held, they became the peak
/// memory the next spawned run was charged with.
#[derive(serde::Deserialize)]
struct RecordHead {
    phases: Vec<PhaseHead>,
    #[serde(default)]
    totals: TotalsHead,
}

#[derive(serde::Deserialize)]
struct PhaseHead {
    name: String,
    millis: f64,
    started_millis: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
struct TotalsHead {
    passed: u64,
    failed: u64,
}

/// Give freed memory back and reset this process's peak resident memory to what it holds
/// now. A child started with `posix_spawn` shares this process's address space until it
/// execs, and the kernel charges the child with that space's peak when it does: the run
/// records this process had parsed whole before (a 5,000-table `run.json` is 310 MB)
/// showed as a 2.5 GiB "largest process" of runs whose processes never held a third of it.
fn forget_own_peak() {
    // SAFETY: malloc_trim only returns free memory to the system; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
    // "5" resets the peak resident set size (the high-water mark) to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
