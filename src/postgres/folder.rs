//! A cluster's folder and the process working in it (initdb, then the server): what the
//! ephemeral cluster registers with `cleanup`, and how it is torn down.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cleanup::Leftover;

/// A cluster folder, and the process group working in it, if one runs.
#[derive(Debug)]
pub(crate) struct ClusterFolder {
    dir: PathBuf,
    pid: Mutex<Option<i32>>,
}

impl ClusterFolder {
    /// A folder with no process working in it yet.
    pub(crate) fn new(dir: PathBuf) -> Self {
        ClusterFolder {
            dir,
            pid: Mutex::new(None),
        }
    }

    /// Record which process now works in the folder (`None` once it has exited).
    pub(crate) fn set_pid(&self, pid: Option<i32>) {
        *self.pid.lock().unwrap_or_else(|p| p.into_inner()) = pid;
    }

    /// Stop the process group working in the folder (immediate shutdown, then SIGKILL) and
    /// delete the folder.
    pub(crate) fn teardown(&self) {
        let pid = self.pid.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(raw) = pid {
            stop_group(raw);
        }
        for _ in 0..20 {
            match std::fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
    }
}

impl Leftover for ClusterFolder {
    fn release(&self) {
        self.teardown();
    }
}

/// SIGQUIT the process group led by `raw` (PostgreSQL's immediate shutdown), wait up to 5 s
/// for it to go, then SIGKILL what is left.
fn stop_group(raw: i32) {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag};
    use nix::unistd::Pid;
    let leader = Pid::from_raw(raw);
    let group = Pid::from_raw(-raw);
    let _ = kill(group, Signal::SIGQUIT);
    let _ = kill(leader, Signal::SIGQUIT);
    let deadline = Instant::now() + Duration::from_secs(5);
    // Reap the leader if it is our child, and wait for the whole group to be gone.
    while Instant::now() < deadline {
        let _ = waitpid(leader, Some(WaitPidFlag::WNOHANG));
        if kill(group, None).is_err() && kill(leader, None).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if kill(group, None).is_ok() || kill(leader, None).is_ok() {
        let _ = kill(group, Signal::SIGKILL);
        let _ = kill(leader, Signal::SIGKILL);
        let _ = waitpid(leader, None);
    }
}
