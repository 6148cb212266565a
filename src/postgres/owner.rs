//! Which process owns a folder reims-verify created, recorded so that a later run can tell
//! for certain whether that process is gone: a pid alone is not enough (pids are reused),
//! so the marker also holds the process's start time, the boot it ran in and its pid
//! namespace.

use std::path::Path;

/// The file every folder of reims-verify carries (cluster folders, half-written cache
/// entries), naming the process that created it.
pub(crate) const MARKER: &str = "reims-verify.owner";

/// First line of a marker file, so that a file of that name written by anything else is
/// not mistaken for ours.
const MARKER_HEADER: &str = "reims-verify owner v1";

/// A process, identified across pid reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    /// The process id.
    pub pid: i32,
    /// Start time in clock ticks after boot (`/proc/PID/stat` field 22).
    pub start_time: u64,
    /// `/proc/sys/kernel/random/boot_id`: a pid of another boot is always dead.
    pub boot_id: String,
    /// `/proc/self/ns/pid`: pids of another pid namespace cannot be judged from here.
    pub pid_ns: String,
}

/// Whether the owner of a folder still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The very process runs (same pid, same start time, same boot).
    Alive,
    /// It is gone: no such pid, another process under that pid, or another boot.
    Dead,
    /// Cannot be judged from here (another pid namespace, unreadable /proc): leave it.
    Unknown,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Option<Owner> {
        let pid = std::process::id() as i32;
        Some(Owner {
            pid,
            start_time: start_time(pid)?,
            boot_id: boot_id()?,
            pid_ns: pid_namespace()?,
        })
    }

    /// The marker text for this owner.
    pub(crate) fn to_marker(&self) -> String {
        format!(
            "{MARKER_HEADER}\npid={}\nstart_time={}\nboot_id={}\npid_ns={}\n",
            self.pid, self.start_time, self.boot_id, self.pid_ns
        )
    }

    /// Parse a marker; `None` unless it is complete and ours.
    pub(crate) fn parse_marker(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        if lines.next()? != MARKER_HEADER {
            return None;
        }
        let (mut pid, mut start, mut boot, mut ns) = (None, None, None, None);
        for line in lines {
            let (k, v) = line.split_once('=')?;
            match k {
                "pid" => pid = v.parse::<i32>().ok().filter(|p| *p > 0),
                "start_time" => start = v.parse::<u64>().ok(),
                "boot_id" => boot = Some(v.to_string()).filter(|v| !v.is_empty()),
                "pid_ns" => ns = Some(v.to_string()).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        Some(Owner {
            pid: pid?,
            start_time: start?,
            boot_id: boot?,
            pid_ns: ns?,
        })
    }

    /// Read the marker in `dir`, if there is a valid one.
    pub(crate) fn read_from(dir: &Path) -> Option<Owner> {
        // A marker is a few lines; anything big is not ours.
        let meta = std::fs::symlink_metadata(dir.join(MARKER)).ok()?;
        if !meta.is_file() || meta.len() > 4096 {
            return None;
        }
        Owner::parse_marker(&std::fs::read_to_string(dir.join(MARKER)).ok()?)
    }

    /// Write this owner's marker into `dir`.
    pub(crate) fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join(MARKER), self.to_marker())
    }

    /// Whether this process still runs, judged from here.
    pub(crate) fn liveness(&self) -> Liveness {
        let (Some(boot), Some(ns)) = (boot_id(), pid_namespace()) else {
            return Liveness::Unknown;
        };
        if boot != self.boot_id {
            return Liveness::Dead;
        }
        if ns != self.pid_ns {
            return Liveness::Unknown;
        }
        pid_liveness(self.pid, Some(self.start_time))
    }
}

/// Whether `pid` runs, and when `start` is given, whether it is the process that started
/// then. A zombie counts as dead: it runs no code and holds no files.
pub(crate) fn pid_liveness(pid: i32, start: Option<u64>) -> Liveness {
    if pid <= 0 {
        return Liveness::Unknown;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let Some((state, started)) = parse_stat(&stat) else {
                return Liveness::Unknown;
            };
            if state == 'Z' || state == 'X' {
                return Liveness::Dead;
            }
            match start {
                Some(s) if s != started => Liveness::Dead,
                _ => Liveness::Alive,
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Liveness::Dead,
        Err(_) => Liveness::Unknown,
    }
}

/// The fields of a `/proc/PID/stat` line from field 3 (the state) on. The command name
/// (field 2) is in parentheses and may contain spaces and parentheses, so fields are
/// counted after its last `)`.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace().collect())
}

/// The state letter and the start time (field 22) from a `/proc/PID/stat` line.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let fields = stat_fields(stat)?;
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

/// The pids of the processes this one can see in `/proc`, itself included: the one list
/// the teardown filters, by process group or by working folder.
pub(crate) fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
}

/// The process group of `pid` (field 5 of its `/proc/PID/stat`), while it exists.
pub(crate) fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_fields(&stat)?.get(5 - 3)?.parse().ok()
}

fn start_time(pid: i32) -> Option<u64> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?).map(|(_, s)| s)
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_string()).filter(|s| !s.is_empty())
}

fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_round_trips_through_its_marker() {
        let me = Owner::current().expect("/proc is readable");
        assert_eq!(me.liveness(), Liveness::Alive);
        assert_eq!(Owner::parse_marker(&me.to_marker()), Some(me.clone()));
        let dir = tempfile::tempdir().unwrap();
        me.write_to(dir.path()).unwrap();
        assert_eq!(Owner::read_from(dir.path()), Some(me));
    }

    #[test]
    fn a_reused_pid_another_boot_or_a_gone_pid_is_dead() {
        let me = Owner::current().unwrap();
        let reused = Owner {
            start_time: me.start_time + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Dead);
        let rebooted = Owner {
            boot_id: "another-boot".into(),
            ..me.clone()
        };
        assert_eq!(rebooted.liveness(), Liveness::Dead);
        // A child that has exited and been reaped: its pid names nothing (or, reused,
        // another start time).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let started = start_time(pid);
        child.wait().unwrap();
        let gone = Owner {
            pid,
            start_time: started.unwrap_or(0),
            ..me.clone()
        };
        assert_eq!(gone.liveness(), Liveness::Dead);
        let elsewhere = Owner {
            pid_ns: "pid:[1]".into(),
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }

    #[test]
    fn foreign_or_incomplete_markers_are_not_ours() {
        for text in [
            "",
            "pid=1\nstart_time=1\nboot_id=b\npid_ns=n\n",
            "reims-verify owner v1\npid=1\nstart_time=1\nboot_id=b\n",
            "reims-verify owner v1\npid=x\nstart_time=1\nboot_id=b\npid_ns=n\n",
            "reims-verify owner v1\npid=0\nstart_time=1\nboot_id=b\npid_ns=n\n",
            "reims-verify owner v1\ngarbage\n",
        ] {
            assert_eq!(Owner::parse_marker(text), None, "{text:?}");
        }
    }

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "123 (a) b (c)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 20 21";
        assert_eq!(parse_stat(line), Some(('S', 777)));
    }

    #[test]
    fn a_process_group_is_read_from_proc() {
        let me = std::process::id() as i32;
        assert_eq!(process_group(me), Some(nix::unistd::getpgrp().as_raw()));
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        assert_eq!(process_group(1 << 23), None);
    }
}
