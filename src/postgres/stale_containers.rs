//! Containers left by runs that were killed. SIGKILL gives a run no chance to remove its
//! container, so each run of the container backend first removes the containers of earlier
//! runs that are gone: those labelled with this host's identity (hostname, boot and pid
//! namespace) whose labelled process no longer exists. A live run's container, or one
//! started from another host or another pid namespace, is never touched.

use std::collections::HashMap;

use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;

use super::container_labels::{HOST_LABEL, PID_LABEL};

/// A container removed because the run that started it is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemovedContainer {
    /// The container id.
    pub id: String,
    /// The process id its run had.
    pub pid: i32,
}

/// This host as the [`HOST_LABEL`] value: `hostname/boot id/pid namespace`. A pid only
/// names the same process on the same host, since the same boot, in the same pid
/// namespace.
pub(crate) fn host_identity() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let pid_ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!(
        "{}/{}/{}",
        read("/proc/sys/kernel/hostname"),
        read("/proc/sys/kernel/random/boot_id"),
        pid_ns
    )
}

/// Whether process `pid` exists here. Anything that is not a clear "no such process"
/// counts as alive, so that a doubt never removes a container.
pub(crate) fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    if pid <= 0 {
        return true;
    }
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

/// Which of the labelled containers belong to dead runs of this host: `(id, pid)` for each
/// container whose host label is `me` and whose pid label names no live process.
pub(crate) fn dead_runs<'a>(
    containers: impl IntoIterator<Item = (&'a str, &'a HashMap<String, String>)>,
    me: &str,
    alive: impl Fn(i32) -> bool,
) -> Vec<RemovedContainer> {
    containers
        .into_iter()
        .filter(|(_, labels)| labels.get(HOST_LABEL).map(String::as_str) == Some(me))
        .filter_map(|(id, labels)| {
            let pid = labels.get(PID_LABEL)?.parse::<i32>().ok()?;
            (!alive(pid)).then(|| RemovedContainer {
                id: id.to_string(),
                pid,
            })
        })
        .collect()
}

/// Remove the containers of dead runs of this host (see [`dead_runs`]); returns those
/// removed. Failures are ignored: this is housekeeping, never a reason to stop a run.
pub(crate) async fn remove_dead_runs(docker: &Docker) -> Vec<RemovedContainer> {
    let me = host_identity();
    let filters = HashMap::from([(
        "label".to_string(),
        vec![PID_LABEL.to_string(), format!("{HOST_LABEL}={me}")],
    )]);
    let list = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let Ok(found) = docker.list_containers(Some(list)).await else {
        return Vec::new();
    };
    let labelled: Vec<(String, HashMap<String, String>)> = found
        .into_iter()
        .filter_map(|c| Some((c.id?, c.labels?)))
        .collect();
    let mut removed = Vec::new();
    for dead in dead_runs(
        labelled.iter().map(|(id, l)| (id.as_str(), l)),
        &me,
        process_alive,
    ) {
        let rm = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        if docker.remove_container(&dead.id, Some(rm)).await.is_ok() {
            removed.push(dead);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_dead_runs_of_this_host_are_chosen() {
        let me = "host/boot/pid:[1]";
        let dead_here = labels(&[(HOST_LABEL, me), (PID_LABEL, "100")]);
        let live_here = labels(&[(HOST_LABEL, me), (PID_LABEL, "200")]);
        let dead_elsewhere = labels(&[(HOST_LABEL, "other/boot/pid:[1]"), (PID_LABEL, "100")]);
        let no_host = labels(&[(PID_LABEL, "100")]);
        let bad_pid = labels(&[(HOST_LABEL, me), (PID_LABEL, "x")]);
        let found = dead_runs(
            [
                ("a", &dead_here),
                ("b", &live_here),
                ("c", &dead_elsewhere),
                ("d", &no_host),
                ("e", &bad_pid),
            ],
            me,
            |pid| pid == 200,
        );
        assert_eq!(
            found,
            vec![RemovedContainer {
                id: "a".into(),
                pid: 100
            }]
        );
    }

    #[test]
    fn this_process_is_alive_and_an_unused_pid_is_not() {
        assert!(process_alive(std::process::id() as i32));
        // Not a pid: never judged dead.
        assert!(process_alive(0));
        assert!(process_alive(-5));
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        assert!(!process_alive(1 << 23));
    }

    #[test]
    fn host_identity_names_host_boot_and_pid_namespace() {
        let id = host_identity();
        let parts: Vec<&str> = id.split('/').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert!(parts.iter().all(|p| !p.is_empty()), "{id}");
        assert!(parts[2].starts_with("pid:["), "{id}");
        assert_eq!(id, host_identity(), "stable within a process");
    }
}
