//! Removing what killed runs left behind. A run killed by SIGKILL (or the OOM killer, or a
//! CI timeout that kills every process) cannot clean up, so the next run does: it removes
//! the cluster folders, half-written cache entries and shared memory whose owner is
//! provably dead, and nothing else.
//!
//! A folder is ours when its name has our prefix and the owner pid (`PREFIX<pid>-…`), and
//! it normally carries an owner marker (pid, start time, boot id, pid namespace). The
//! owner is dead when the marker says so; without a marker (a run killed between creating
//! the folder and writing the marker) when no process has the pid in its name. Anything
//! alive, or that cannot be judged, is left alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::owner::{pid_liveness, pids, Liveness, Owner};
use super::shm::{release_leftover_shm, LockFile, ShmProof};

/// Prefix of every cluster folder.
pub(crate) const CLUSTER_PREFIX: &str = "reims-verify-";

/// A name for a folder owned by this process: `PREFIX<pid>-`, to which the caller adds a
/// random suffix.
pub(crate) fn owned_prefix(prefix: &str) -> String {
    format!("{prefix}{}-", std::process::id())
}

/// The owner pid a folder name carries, for names made by [`owned_prefix`].
fn pid_in_name(prefix: &str, name: &str) -> Option<i32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, suffix) = rest.split_once('-')?;
    if suffix.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

/// Whether the process that owns `dir` (named `name` in its parent) is dead for sure.
fn owner_is_dead(prefix: &str, name: &str, dir: &Path) -> bool {
    match Owner::read_from(dir) {
        Some(owner) => owner.liveness() == Liveness::Dead,
        None => pid_in_name(prefix, name).is_some_and(|p| pid_liveness(p, None) == Liveness::Dead),
    }
}

/// Folders in `parent` named with `prefix` whose owner is dead.
fn dead_folders(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir());
        if is_dir && owner_is_dead(prefix, &name, &path) {
            found.push(path);
        }
    }
    found
}

/// Take a dead run's folder for removal: rename it under this process's name, so that two
/// runs never remove the same folder at once. The marker inside (if any) still names the
/// dead owner, so if this run dies too, the next one takes it over.
fn claim(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let parent = dir.parent()?;
    let claimed = parent.join(format!(
        "{}reap{}",
        owned_prefix(prefix),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::rename(dir, &claimed).ok()?;
    Some(claimed)
}

/// Remove every cluster folder in `parent` that a dead run left, with any process still
/// working in it and the shared memory it provably owns. Returns one line per folder
/// removed, for a note on stderr.
pub(crate) fn reap_cluster_folders(parent: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    for dir in dead_folders(parent, CLUSTER_PREFIX) {
        let Some(claimed) = claim(&dir, CLUSTER_PREFIX) else {
            continue;
        };
        // Taken before stopping anything: the folder is a dead run's, so the memory that
        // serves its data folder is ours to remove.
        let proof = ShmProof::capture(&claimed.join("data"));
        stop_processes_in(&claimed);
        let mut shm = proof.map_or_else(Vec::new, |p| p.release());
        shm.extend(release_leftover_shm(&claimed.join("data")));
        let _ = std::fs::remove_dir_all(&claimed);
        let mut note = format!("removed {}, left by a run that was killed", dir.display());
        if !shm.is_empty() {
            note.push_str(&format!(", and its shared memory ({})", shm.join(", ")));
        }
        notes.push(note);
    }
    notes
}

/// Remove every folder named with `prefix` in `parent` whose owner is dead (half-written
/// or discarded cache entries). Returns how many were removed.
pub(crate) fn reap_plain_folders(parent: &Path, prefix: &str) -> usize {
    let mut n = 0;
    for dir in dead_folders(parent, prefix) {
        if let Some(claimed) = claim(&dir, prefix) {
            if std::fs::remove_dir_all(&claimed).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// Processes whose working directory lies inside `dir`: PostgreSQL servers and backends
/// change into their data folder, so these are the processes working in it.
pub(crate) fn processes_in(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    pids()
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
        })
        .collect()
}

/// Stop every process working in `dir`: a single-user backend (initdb's) with SIGTERM so
/// that it removes its shared memory, a server with SIGQUIT (immediate shutdown, which
/// also removes it); SIGKILL whatever is left after 5 s.
fn stop_processes_in(dir: &Path) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pids = processes_in(dir);
    if pids.is_empty() {
        return;
    }
    let standalone = LockFile::read(&dir.join("data")).is_some_and(|l| l.standalone);
    let first = if standalone {
        Signal::SIGTERM
    } else {
        Signal::SIGQUIT
    };
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), first);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !processes_in(dir).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in processes_in(dir) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !processes_in(dir).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_owner_pid() {
        assert_eq!(
            pid_in_name("reims-verify-", "reims-verify-123-abc"),
            Some(123)
        );
        assert_eq!(
            pid_in_name("reims-verify-", "reims-verify-123-reapx"),
            Some(123)
        );
        assert_eq!(pid_in_name("reims-verify-", "reims-verify-abcdef"), None);
        assert_eq!(pid_in_name("reims-verify-", "reims-verify-123-"), None);
        assert_eq!(pid_in_name("reims-verify-", "reims-verify-0-x"), None);
        assert_eq!(pid_in_name(".tmp-", ".tmp-55-x"), Some(55));
        assert!(owned_prefix("p-").starts_with(&format!("p-{}-", std::process::id())));
    }

    /// A pid that names no process right now.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        pid
    }

    #[test]
    fn only_folders_of_dead_owners_are_reaped() {
        let parent = tempfile::tempdir().unwrap();
        let me = Owner::current().unwrap();
        let dead = dead_pid();
        let mk = |name: &str| {
            let p = parent.path().join(name);
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("payload"), b"x").unwrap();
            p
        };
        // Marker of a dead owner (pid reused: another start time).
        let reused = mk("reims-verify-1-aaaa");
        Owner {
            start_time: me.start_time + 1,
            ..me.clone()
        }
        .write_to(&reused)
        .unwrap();
        // Marker of this (live) process.
        let live = mk(&format!("{}bbbb", owned_prefix(CLUSTER_PREFIX)));
        me.write_to(&live).unwrap();
        // No marker, dead pid in the name.
        let unmarked_dead = mk(&format!("reims-verify-{dead}-cccc"));
        // No marker, live pid in the name.
        let unmarked_live = mk(&format!("{}dddd", owned_prefix(CLUSTER_PREFIX)));
        // Not ours: no pid in the name and no marker, or another prefix.
        let foreign = mk("reims-verify-XyZ123");
        let other = mk(&format!("something-{dead}-x"));
        let notes = reap_cluster_folders(parent.path());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(!reused.exists() && !unmarked_dead.exists());
        for kept in [&live, &unmarked_live, &foreign, &other] {
            assert!(kept.join("payload").exists(), "{} removed", kept.display());
        }
        // Nothing else appeared (no claimed folder left over).
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 4);
    }
}
