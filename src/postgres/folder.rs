//! A cluster's folder and the process working in it (initdb, then the server): created
//! with an owner marker so that a later run can reap it if this one is killed, registered
//! with `cleanup`, and torn down in the order that leaves nothing behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cleanup::Leftover;
use super::owner::{pids, process_group, Owner};
use super::reaper::{owned_prefix, processes_in, CLUSTER_PREFIX};
use super::shm::{release_leftover_shm, ShmProof};

/// What works in a cluster folder, and so how to stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Worker {
    /// initdb and its backends: SIGTERM to initdb, which stops after its current step and
    /// removes the data folder, and to the backends that catch it (the single-user one),
    /// which exit through PostgreSQL's own clean-up, removing their shared memory. The
    /// bootstrap backend does not catch SIGTERM: killed by it, it would leave its shared
    /// memory behind, so it is let finish its step. Immediate shutdown (SIGQUIT) would skip
    /// the clean-up too.
    Initdb(i32),
    /// The server: SIGQUIT, PostgreSQL's immediate shutdown (it still removes its shared
    /// memory and lock file).
    Server(i32),
}

/// The process group working in a folder, and whether the folder is being torn down.
#[derive(Debug, Default)]
struct Slot {
    worker: Option<Worker>,
    /// Set by the teardown before it stops the worker: no worker starts after it.
    closed: bool,
}

/// A cluster folder, and the process group working in it, if one runs.
#[derive(Debug)]
pub(crate) struct ClusterFolder {
    dir: PathBuf,
    slot: Mutex<Slot>,
}

impl ClusterFolder {
    /// Create a fresh folder in `parent`, named `reims-verify-<pid>-<random>` and carrying
    /// this process's owner marker.
    pub(crate) fn create(parent: &Path) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&owned_prefix(CLUSTER_PREFIX))
            .tempdir_in(parent)?
            .keep();
        let folder = ClusterFolder {
            dir,
            slot: Mutex::new(Slot::default()),
        };
        if let Some(owner) = Owner::current() {
            if let Err(e) = owner.write_to(&folder.dir) {
                let _ = std::fs::remove_dir_all(&folder.dir);
                return Err(e);
            }
        }
        Ok(folder)
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Record which process now works in the folder (`None` once it has exited).
    pub(crate) fn set_worker(&self, worker: Option<Worker>) {
        self.slot().worker = worker;
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start the folder's worker (`spawn`, recorded as `kind` of its pid) with the slot held,
    /// so that a teardown on another thread (a signal's clean-up, while a thread of the run
    /// starts initdb or a server) either finds it and stops it, or came first, and then it
    /// is not started: started after the teardown, it would run in a removed folder with
    /// no one to stop it but its parent-death signal, and a backend of it could leave its
    /// shared memory behind.
    pub(crate) fn start_worker(
        &self,
        kind: fn(i32) -> Worker,
        spawn: impl FnOnce() -> std::io::Result<std::process::Child>,
    ) -> std::io::Result<std::process::Child> {
        let mut slot = self.slot();
        if slot.closed {
            return Err(std::io::Error::other(
                "the run is being stopped and its folder removed",
            ));
        }
        let child = spawn()?;
        slot.worker = Some(kind(child.id() as i32));
        Ok(child)
    }

    /// Stop the process group working in the folder, remove the shared memory it provably
    /// left, and delete the folder. No worker starts in it after this begins.
    pub(crate) fn teardown(&self) {
        self.slot().closed = true;
        self.stop_worker();
        release_leftover_shm(&self.dir.join("data"));
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

impl ClusterFolder {
    /// Stop the process group working in the folder, keeping the folder.
    pub(crate) fn stop_worker(&self) {
        let worker = self.slot().worker.take();
        let Some(worker) = worker else { return };
        // Taken first: an interrupted initdb removes the data folder (and its lock file)
        // while its backend may still hold the memory.
        let proof = ShmProof::capture(&self.dir.join("data"));
        match worker {
            Worker::Initdb(pid) => stop_group(pid, signal_initdb),
            Worker::Server(pid) => stop_group(pid, signal_server),
        }
        // Anything still working in the folder (a backend that left its process group)
        // would keep files open and shared memory attached.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = processes_in(&self.dir);
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(proof) = proof {
            proof.release();
        }
    }
}

impl Leftover for ClusterFolder {
    fn release(&self) {
        self.teardown();
    }
}

/// PostgreSQL's immediate shutdown, to the server and every backend of its group, once.
fn signal_server(leader: i32, signalled: &mut BTreeSet<i32>) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    if signalled.insert(leader) {
        let _ = kill(Pid::from_raw(-leader), Signal::SIGQUIT);
        let _ = kill(Pid::from_raw(leader), Signal::SIGQUIT);
    }
}

/// SIGTERM to initdb (once) and to each process of its group that catches SIGTERM and has
/// not had it yet; called again while the group winds down, since initdb may have been
/// between two steps and start one more backend, and a backend just started may not have
/// set its handlers yet.
fn signal_initdb(leader: i32, signalled: &mut BTreeSet<i32>) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for pid in group_members(leader) {
        if !signalled.contains(&pid) && (pid == leader || catches(pid, Signal::SIGTERM)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            signalled.insert(pid);
        }
    }
    if signalled.insert(leader) {
        let _ = kill(Pid::from_raw(leader), Signal::SIGTERM);
    }
}

/// The processes of process group `group`.
fn group_members(group: i32) -> Vec<i32> {
    pids()
        .filter(|pid| process_group(*pid) == Some(group))
        .collect()
}

/// Whether process `pid` has a handler for `signal` (its `SigCgt` mask says so).
fn catches(pid: i32, signal: nix::sys::signal::Signal) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal as i32 - 1)) != 0)
}

/// Stop the process group led by `raw`: `signal` it (again every 20 ms, with the set of
/// the processes it has signalled), wait up to 5 s for the whole group to go, then SIGKILL
/// what is left.
fn stop_group(raw: i32, signal: fn(i32, &mut BTreeSet<i32>)) {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag};
    use nix::unistd::Pid;
    let leader = Pid::from_raw(raw);
    let group = Pid::from_raw(-raw);
    let mut signalled = BTreeSet::new();
    signal(raw, &mut signalled);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut next_signal = Instant::now() + Duration::from_millis(20);
    // Reap the leader if it is our child, and wait for the whole group to be gone.
    while Instant::now() < deadline {
        let _ = waitpid(leader, Some(WaitPidFlag::WNOHANG));
        if kill(group, None).is_err() && kill(leader, None).is_err() {
            break;
        }
        if Instant::now() >= next_signal {
            signal(raw, &mut signalled);
            next_signal = Instant::now() + Duration::from_millis(20);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if kill(group, None).is_ok() || kill(leader, None).is_ok() {
        let _ = kill(group, Signal::SIGKILL);
        let _ = kill(leader, Signal::SIGKILL);
        let _ = waitpid(leader, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    use crate::postgres::owner::{pid_liveness, Liveness};

    fn ended(pid: i32) -> bool {
        pid_liveness(pid, None) == Liveness::Dead
    }

    /// A worker started before the teardown is stopped by it; once the teardown has begun,
    /// no worker starts (the spawn is never called) and the caller is told why.
    #[test]
    fn a_torn_down_folder_starts_no_worker_and_one_started_before_is_stopped() {
        let parent = tempfile::tempdir().unwrap();
        let folder = ClusterFolder::create(parent.path()).unwrap();
        let mut child = folder
            .start_worker(Worker::Server, || Command::new("sleep").arg("30").spawn())
            .unwrap();
        let pid = child.id() as i32;
        folder.teardown();
        assert!(ended(pid), "the worker started before the teardown runs on");
        // Already reaped by the teardown.
        let _ = child.wait();
        assert!(!folder.dir().exists(), "the folder is left");
        let mut called = false;
        let refused = folder.start_worker(Worker::Initdb, || {
            called = true;
            Command::new("sleep").arg("30").spawn()
        });
        assert!(!called, "a worker was started after the teardown");
        let err = refused.expect_err("a worker was started after the teardown");
        assert!(err.to_string().contains("being stopped"), "{err}");
    }

    /// The group of a stopped initdb is found whole, and only the processes with a handler
    /// for SIGTERM count as catching it (the bootstrap backend has none).
    #[test]
    fn a_group_is_found_whole_and_only_a_handler_counts_as_catching_sigterm() {
        use std::os::unix::process::CommandExt;
        let mut leader = Command::new("sh")
            .args(["-c", "trap 'exit 0' TERM; sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = leader.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        let members = loop {
            let members = group_members(pid);
            if (members.len() == 2 && catches(pid, nix::sys::signal::Signal::SIGTERM))
                || Instant::now() > deadline
            {
                break members;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(members.len(), 2, "the shell and its sleep: {members:?}");
        let sleep = *members.iter().find(|m| **m != pid).unwrap();
        assert!(catches(pid, nix::sys::signal::Signal::SIGTERM), "the trap");
        assert!(
            !catches(sleep, nix::sys::signal::Signal::SIGTERM),
            "sleep has no handler"
        );
        assert!(!catches(sleep, nix::sys::signal::Signal::SIGINT));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = leader.wait();
        assert!(group_members(pid).iter().all(|m| ended(*m)));
    }
}
