//! The container backend (`--backend docker`), through the binary.
//!
//! - `check --backend docker` runs where a Docker daemon answers. Where none does, the test
//!   says so on stderr (`SKIPPED: no Docker daemon (…)`) and returns: it never passes
//!   silently.
//! - The no-daemon error runs everywhere: DOCKER_HOST is pointed at a socket that does not
//!   exist, or at a local port that accepts connections and never answers. Either way the
//!   run ends quickly with exit 3 and the hint.
//! - Built without the `docker` feature, `--backend docker` is refused with exit 2.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary, run from the crate root with an environment that cannot pick another
/// server or another Docker daemon than the test says.
fn reims(args: &[&str]) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.args(args)
        .current_dir(common::root())
        .stdin(Stdio::null())
        .env("NO_COLOR", "1");
    for var in [
        "DATABASE_URL",
        "PGHOST",
        "REIMS_VERIFY_BACKEND",
        "REIMS_VERIFY_DOCKER_IMAGE",
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "TESTCONTAINERS_COMMAND",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Run to completion, killing the process and failing the test after `limit`.
fn run_within(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run reims-verify");
    loop {
        if child.try_wait().expect("wait for reims-verify").is_some() {
            return (child.wait_with_output().unwrap(), started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "reims-verify did not finish within {} s; stderr:\n{}",
                limit.as_secs(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `Err(reason)` when no Docker daemon answers (or the build lacks the feature).
fn docker_daemon() -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(reims_verify::postgres::docker_daemon_status(
            reims_verify::postgres::DAEMON_TIMEOUT,
        ))
}

#[test]
fn check_passes_in_a_container_and_leaves_none_behind() {
    if !reims_verify::postgres::DOCKER_FEATURE {
        common::report_skip("this build lacks the cargo feature `docker` (--no-default-features)");
        return;
    }
    if let Err(reason) = docker_daemon() {
        common::report_skip(&format!("no Docker daemon ({reason})"));
        return;
    }
    let mut cmd = reims(&["check", "--no-report", "--format", "json"]);
    // The backend chosen by environment, as CI would set it.
    cmd.env("REIMS_VERIFY_BACKEND", "docker");
    let child_started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Pulling the image on first use may take a while.
    let limit = Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        assert!(
            child_started.elapsed() < limit,
            "check --backend docker ran over {} s",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON run record");
    assert_eq!(run["ephemeral"], true);
    let database = run["database"].as_str().unwrap();
    assert!(database.starts_with("docker container"), "{database}");
    assert!(
        database.contains(reims_verify::postgres::DEFAULT_IMAGE),
        "{database}"
    );
    assert!(run["server_version"].as_str().unwrap().starts_with("15"));

    #[cfg(feature = "docker")]
    {
        let left = containers_of(pid);
        assert!(left.is_empty(), "containers left behind: {left:?}");
    }
    #[cfg(not(feature = "docker"))]
    let _ = pid;
}

/// The containers (any state) that the reims-verify with process id `pid` started.
#[cfg(feature = "docker")]
fn containers_of(pid: u32) -> Vec<String> {
    use std::collections::HashMap;
    use testcontainers::bollard::query_parameters::ListContainersOptionsBuilder;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let docker = testcontainers::core::client::docker_client_instance()
                .await
                .unwrap();
            let filters = HashMap::from([(
                "label".to_string(),
                vec![format!("{}={pid}", reims_verify::postgres::PID_LABEL)],
            )]);
            let opts = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            docker
                .list_containers(Some(opts))
                .await
                .unwrap()
                .into_iter()
                .filter_map(|c| c.id)
                .collect()
        })
}

#[cfg(feature = "docker")]
fn assert_no_daemon_error(out: &Output, elapsed: Duration, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(stderr.contains("no Docker daemon answered"), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
    let hint = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint in:\n{stderr}"));
    for way_out in ["start Docker", "--backend ephemeral", "--database-url"] {
        assert!(hint.contains(way_out), "hint lacks {way_out}: {hint}");
    }
    assert!(
        elapsed < reims_verify::postgres::DAEMON_TIMEOUT * 3,
        "took {elapsed:?}"
    );
}

#[cfg(feature = "docker")]
#[test]
fn no_daemon_socket_exits_3_with_the_hint_quickly() {
    let mut cmd = reims(&["check", "--no-report", "--backend", "docker"]);
    cmd.env(
        "DOCKER_HOST",
        "unix:///nonexistent/reims-verify-test/docker.sock",
    );
    let (out, elapsed) = run_within(cmd, Duration::from_secs(60));
    assert_no_daemon_error(&out, elapsed, "/nonexistent/reims-verify-test/docker.sock");
}

#[cfg(feature = "docker")]
#[test]
fn silent_daemon_times_out_with_exit_3() {
    // Accepts connections (the kernel's backlog does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let mut cmd = reims(&["migrate", "--list", "--backend", "docker"]);
    cmd.env("DOCKER_HOST", format!("tcp://{addr}"));
    let (out, elapsed) = run_within(cmd, Duration::from_secs(60));
    assert_no_daemon_error(&out, elapsed, "no answer within");
    assert!(
        elapsed >= reims_verify::postgres::DAEMON_TIMEOUT,
        "gave up before the timeout: {elapsed:?}"
    );
    drop(silent);
}

#[cfg(not(feature = "docker"))]
#[test]
fn without_the_feature_backend_docker_exits_2() {
    let cmd = reims(&["check", "--no-report", "--backend", "docker"]);
    let (out, _) = run_within(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("lacks"), "{stderr}");
    assert!(stderr.contains("--features docker"), "{stderr}");
}
