//! The container backend (`--backend docker`), through the binary, against a real Docker
//! daemon (see `common/docker.rs`: a private daemon started for these tests, with
//! PostgreSQL images built offline, or a daemon that already answers).
//!
//! - `check`, `migrate` and `spec snapshot` run in a container and leave none behind.
//! - With `--database-url`, the shadow's container runs the image of the target's major.
//! - SIGTERM and Ctrl-C remove the container (exit 130); after SIGKILL, the next run removes
//!   the dead run's container by its labels, and never another live run's.
//! - A missing image is exit 3 with the offline hint, in bounded time, also when the
//!   registry never answers.
//! - Where no daemon can be had, the tests that need one say so on stderr
//!   (`SKIPPED: …`) and return: they never pass silently.
//! - The no-daemon error runs everywhere: DOCKER_HOST is pointed at a socket that does not
//!   exist, or at a local port that accepts connections and never answers. Either way the
//!   run ends quickly with exit 3 and the hint.
//! - Built without the `docker` feature, `--backend docker` is refused with exit 2.

mod common;
#[path = "common/docker.rs"]
mod docker;

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use docker::TestDocker;
use reims_verify::postgres::{PID_LABEL, RUN_LABEL};

/// How long one run of the binary in a container may take on a loaded machine.
const RUN_LIMIT: Duration = Duration::from_secs(300);

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
        "REIMS_VERIFY_DOCKER_PULL_TIMEOUT",
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "TESTCONTAINERS_COMMAND",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The binary pointed at the test daemon.
fn reims_on(d: &TestDocker, args: &[&str]) -> Command {
    let mut cmd = reims(args);
    d.point(&mut cmd);
    cmd
}

/// A running binary whose output is read as it comes (a full pipe would stall it).
struct Spawned {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    started: Instant,
}

impl Spawned {
    fn start(mut cmd: Command) -> Spawned {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run reims-verify");
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        Spawned {
            child,
            stdout,
            stderr,
            started: Instant::now(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig)
            .expect("signal reims-verify");
    }

    /// Wait for the exit; kill the process and fail the test after `limit`.
    fn wait_within(mut self, limit: Duration) -> (Output, Duration) {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for reims-verify") {
                let elapsed = self.started.elapsed();
                let out = Output {
                    status,
                    stdout: self.stdout.join().unwrap(),
                    stderr: self.stderr.join().unwrap(),
                };
                return (out, elapsed);
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr.join().unwrap();
                panic!(
                    "reims-verify did not finish within {} s; stderr:\n{}",
                    limit.as_secs(),
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Run to completion, killing the process and failing the test after `limit`.
fn run_within(cmd: Command, limit: Duration) -> (Output, Duration) {
    Spawned::start(cmd).wait_within(limit)
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Tests that start runs take this shared; the one that leaves a killed run's container
/// behind takes it alone, so that no other run removes that container before it looks.
static RUNS: RwLock<()> = RwLock::new(());

/// The test daemon, or `None` after saying on stderr why these tests cannot run here.
fn daemon() -> Option<&'static TestDocker> {
    if !reims_verify::postgres::DOCKER_FEATURE {
        common::report_skip("this build lacks the cargo feature `docker` (--no-default-features)");
        return None;
    }
    match docker::docker() {
        Ok(d) => Some(d),
        Err(reason) => {
            common::report_skip(&reason);
            None
        }
    }
}

fn shared_runs() -> RwLockReadGuard<'static, ()> {
    RUNS.read().unwrap_or_else(|p| p.into_inner())
}

/// The containers (any state) that the reims-verify with process id `pid` started.
fn containers_of(d: &TestDocker, pid: u32) -> Vec<String> {
    d.containers_labelled(&[format!("{PID_LABEL}={pid}")])
}

/// Wait until the run `pid` has a container, and return its id.
fn await_container_of(d: &TestDocker, run: &Spawned) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(id) = containers_of(d, run.pid()).into_iter().next() {
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "run {} started no container within 120 s",
            run.pid()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn check_passes_in_a_container_and_leaves_none_behind() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    let mut cmd = reims_on(d, &["check", "--no-report", "--format", "json"]);
    // The backend chosen by environment, as CI would set it; no cache entry, so that a
    // local run would build its shadow ahead.
    cmd.env("REIMS_VERIFY_BACKEND", "docker")
        .env("REIMS_VERIFY_NO_CACHE", "1");
    let run = Spawned::start(cmd);
    let pid = run.pid();
    let (out, _) = run.wait_within(RUN_LIMIT);
    let stderr = stderr_of(&out);
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
    assert!(
        run["totals"]["passed"].as_u64().unwrap() > 1000,
        "{}",
        run["totals"]
    );
    // The shadow is never built ahead on the container backend: no second server's phase.
    let phases: Vec<&str> = run["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        phases.contains(&"shadow") && !phases.contains(&"shadow_server"),
        "{phases:?}"
    );
    let left = containers_of(d, pid);
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

#[test]
fn migrate_applies_every_migration_in_a_container() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    let files = std::fs::read_dir(common::migrations_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count();
    let run = Spawned::start(reims_on(
        d,
        &[
            "migrate",
            "--all",
            "--backend",
            "docker",
            "--format",
            "json",
        ],
    ));
    let pid = run.pid();
    let (out, _) = run.wait_within(RUN_LIMIT);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), files, "{report}");
    for s in steps {
        assert_eq!(s["action"], "applied", "{s}");
    }
    let left = containers_of(d, pid);
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

#[test]
fn spec_snapshot_from_a_container_passes_check_in_a_container() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    let out_dir = tempfile::tempdir().unwrap();
    let specs = out_dir.path().to_str().unwrap();
    let run = Spawned::start(reims_on(
        d,
        &["spec", "snapshot", "--backend", "docker", "--out", specs],
    ));
    let pid = run.pid();
    let (out, _) = run.wait_within(RUN_LIMIT);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr_of(&out));
    let users = std::fs::read_to_string(out_dir.path().join("users.yaml")).expect("users.yaml");
    assert!(users.contains("table: users"), "{users}");
    assert!(
        users.contains(&format!(
            "from a container of {}",
            reims_verify::postgres::DEFAULT_IMAGE
        )),
        "the header names the source:\n{users}"
    );
    let written = std::fs::read_dir(out_dir.path()).unwrap().count();
    assert!(written >= 16, "only {written} spec files written");
    assert!(
        containers_of(d, pid).is_empty(),
        "snapshot left its container"
    );

    let run = Spawned::start(reims_on(
        d,
        &[
            "check",
            "--backend",
            "docker",
            "--specs",
            specs,
            "--no-probe",
            "--no-report",
        ],
    ));
    let pid = run.pid();
    let (out, _) = run.wait_within(RUN_LIMIT);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the snapshot does not pass check:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(containers_of(d, pid).is_empty(), "check left its container");
}

/// A PostgreSQL of `major` in a container of the test daemon, playing a handed-over server;
/// removed on drop.
struct TargetServer<'d> {
    docker: &'d TestDocker,
    id: String,
    url: String,
}

impl Drop for TargetServer<'_> {
    fn drop(&mut self) {
        let _ = self.docker.cli(&["rm", "-f", "-v", &self.id]);
    }
}

fn target_server(d: &TestDocker, major: u32) -> TargetServer<'_> {
    let id = d
        .cli(&[
            "run",
            "-d",
            "--label",
            "org.reims-verify.test=target",
            "--tmpfs",
            "/var/lib/postgresql/data",
            "-e",
            "POSTGRES_PASSWORD=target-secret",
            "-p",
            "127.0.0.1::5432",
            &docker::image_tag(major),
        ])
        .expect("start the target server")
        .trim()
        .to_string();
    let port = d.cli(&["port", &id, "5432/tcp"]).expect("published port");
    let port = port
        .lines()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let server = TargetServer {
        docker: d,
        url: format!("postgres://postgres:target-secret@127.0.0.1:{port}/postgres"),
        id,
    };
    // Ready when a query answers (the published port accepts before the server does).
    let deadline = Instant::now() + Duration::from_secs(120);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    loop {
        let answered = rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.url).await.ok()?;
            let v: String = sqlx::query_scalar("SHOW server_version_num")
                .fetch_one(&mut conn)
                .await
                .ok()?;
            let _ = conn.close().await;
            Some(v)
        });
        if let Some(v) = answered {
            assert!(v.starts_with(&major.to_string()), "server_version_num {v}");
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the target server of major {major} never answered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Images of the containers the run `pid` created, from the daemon's event log.
fn images_created_by(d: &TestDocker, pid: u32, since: i64) -> Vec<String> {
    let until = chrono::Utc::now().timestamp() + 1;
    let events = d
        .cli(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            &format!("label={PID_LABEL}={pid}"),
            "--format",
            "{{.From}}",
        ])
        .expect("docker events");
    events.lines().map(str::to_string).collect()
}

#[test]
fn the_shadow_container_runs_the_major_of_the_server_checked() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    for major in docker::IMAGE_MAJORS {
        let target = target_server(d, major);
        let (out, _) = run_within(
            reims(&["migrate", "--all", "--database-url", &target.url]),
            RUN_LIMIT,
        );
        assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr_of(&out));

        let since = chrono::Utc::now().timestamp() - 1;
        let run = Spawned::start(reims_on(
            d,
            &[
                "check",
                "--backend",
                "docker",
                "--database-url",
                &target.url,
                "--no-report",
                "--format",
                "json",
            ],
        ));
        let pid = run.pid();
        let (out, _) = run.wait_within(RUN_LIMIT);
        // A shadow on another major prints some expressions differently: that would be a
        // false failure here.
        assert_eq!(
            out.status.code(),
            Some(0),
            "major {major}:\n{}",
            stderr_of(&out)
        );
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            record["server_version"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{major}.")),
            "{}",
            record["server_version"]
        );
        let shadow = record["shadow_server_version"].as_str().unwrap_or_default();
        assert!(
            shadow.contains(&format!(" {major}.")),
            "the record names the shadow's server: {shadow:?}"
        );
        assert!(
            record.get("warnings").is_none(),
            "same major, nothing to warn about: {}",
            record["warnings"]
        );
        let images = images_created_by(d, pid, since);
        assert_eq!(
            images,
            vec![docker::image_tag(major)],
            "the shadow of a PostgreSQL {major} server"
        );
        assert!(
            containers_of(d, pid).is_empty(),
            "the shadow's container was left"
        );
    }
}

fn interrupt_removes_the_container(sig: nix::sys::signal::Signal) {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    let run = Spawned::start(reims_on(
        d,
        &["check", "--backend", "docker", "--no-report"],
    ));
    let id = await_container_of(d, &run);
    let pid = run.pid();
    run.signal(sig);
    let (out, _) = run.wait_within(RUN_LIMIT);
    assert_eq!(out.status.code(), Some(130), "stderr:\n{}", stderr_of(&out));
    let left = containers_of(d, pid);
    assert!(
        left.is_empty(),
        "after {sig}: containers left: {left:?} (saw {id}); stderr:\n{}",
        stderr_of(&out)
    );
}

#[test]
fn sigterm_removes_the_container() {
    interrupt_removes_the_container(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn ctrl_c_removes_the_container() {
    interrupt_removes_the_container(nix::sys::signal::Signal::SIGINT);
}

/// SIGTERM while something else is removing the run's container (an operator's `docker rm
/// -f`, or the run's own error path when the container vanished under it): the daemon may
/// answer the run's removal with 409 (removal already in progress) or 404. Either way the
/// run exits 130 only once the container is gone. Three rounds, the outside removal started
/// just before, with and just after the signal.
#[test]
fn sigterm_while_the_container_is_removed_elsewhere_leaves_none() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    for round in 0..3u64 {
        let run = Spawned::start(reims_on(
            d,
            &["check", "--backend", "docker", "--no-report"],
        ));
        let id = await_container_of(d, &run);
        let pid = run.pid();
        let mut outside = Command::new("docker");
        d.point(&mut outside);
        outside
            .args(["rm", "-f", "-v", &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut outside = if round == 0 {
            let child = outside.spawn().expect("docker rm");
            std::thread::sleep(Duration::from_millis(5));
            run.signal(nix::sys::signal::Signal::SIGTERM);
            child
        } else {
            run.signal(nix::sys::signal::Signal::SIGTERM);
            std::thread::sleep(Duration::from_millis(5 * (round - 1)));
            outside.spawn().expect("docker rm")
        };
        let (out, _) = run.wait_within(RUN_LIMIT);
        // Listed as soon as the run exited, before the outside removal is waited for: a
        // container still being removed is listed, and counts.
        let left = containers_of(d, pid);
        let _ = outside.wait();
        assert_eq!(
            out.status.code(),
            Some(130),
            "round {round}: stderr:\n{}",
            stderr_of(&out)
        );
        assert!(
            left.is_empty(),
            "round {round}: containers left: {left:?} (saw {id}); stderr:\n{}",
            stderr_of(&out)
        );
    }
}

/// Labels of a container, as `KEY=VALUE`.
fn labels_of(d: &TestDocker, id: &str) -> Vec<(String, String)> {
    let json = d
        .cli(&["inspect", "--format", "{{json .Config.Labels}}", id])
        .expect("inspect");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json.trim()).expect("labels");
    map.into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// A stopped container carrying `labels` (never started: only its labels matter).
fn decoy(d: &TestDocker, labels: &[(String, String)]) -> String {
    let mut args = vec!["create".to_string()];
    for (k, v) in labels {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    args.push(docker::image_tag(docker::IMAGE_MAJORS[0]));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.cli(&args).expect("create a decoy").trim().to_string()
}

#[test]
fn after_sigkill_the_next_run_removes_the_dead_runs_container_only() {
    let Some(d) = daemon() else { return };
    // Alone: any other run would remove the killed run's container before this test looks.
    let _alone = RUNS.write().unwrap_or_else(|p| p.into_inner());
    let run = Spawned::start(reims_on(
        d,
        &["check", "--backend", "docker", "--no-report"],
    ));
    let killed = await_container_of(d, &run);
    // Killed once its server has a data directory (the run goes on for seconds after): the
    // container then holds a cluster, as a killed run's usually does.
    let deadline = Instant::now() + Duration::from_secs(120);
    while d
        .cli(&[
            "exec",
            &killed,
            "cat",
            "/var/lib/postgresql/data/pgdata/PG_VERSION",
        ])
        .is_err()
    {
        assert!(Instant::now() < deadline, "no data directory in {killed}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let dead_pid = run.pid();
    run.signal(nix::sys::signal::Signal::SIGKILL);
    let (out, _) = run.wait_within(RUN_LIMIT);
    assert_eq!(out.status.code(), None, "killed by a signal");
    assert_eq!(
        containers_of(d, dead_pid),
        vec![killed.clone()],
        "SIGKILL leaves the container (nothing can run in the killed process)"
    );
    // The data directory the tool asked for lies on the tmpfs.
    let mounts = d.cli(&["exec", &killed, "cat", "/proc/mounts"]).unwrap();
    assert!(
        mounts
            .lines()
            .any(|m| m.starts_with("tmpfs /var/lib/postgresql/data ")),
        "{mounts}"
    );

    // Another run that is alive (this test process), and a dead run of another host: both
    // must survive.
    let labels = labels_of(d, &killed);
    assert!(labels.iter().any(|(k, _)| k == RUN_LABEL), "{labels:?}");
    let relabel = |key: &str, value: String| -> Vec<(String, String)> {
        labels
            .iter()
            .map(|(k, v)| {
                if k == key {
                    (k.clone(), value.clone())
                } else if k == RUN_LABEL {
                    (k.clone(), uuid::Uuid::new_v4().to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    };
    let live = decoy(d, &relabel(PID_LABEL, std::process::id().to_string()));
    let elsewhere = decoy(
        d,
        &relabel(
            reims_verify::postgres::HOST_LABEL,
            "another-host/00000000-0000-0000-0000-000000000000".into(),
        ),
    );

    let run = Spawned::start(reims_on(
        d,
        &["check", "--backend", "docker", "--no-report", "--no-probe"],
    ));
    let next_pid = run.pid();
    let (out, _) = run.wait_within(RUN_LIMIT);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&killed[..12]) && stderr.contains(&dead_pid.to_string()),
        "the removal is reported:\n{stderr}"
    );
    let all = d.containers_labelled(&[RUN_LABEL.to_string()]);
    let _ = d.cli(&["rm", "-f", &live, &elsewhere]);
    assert!(
        !all.contains(&killed),
        "the dead run's container is still there"
    );
    assert!(all.contains(&live), "a live run's container was removed");
    assert!(
        all.contains(&elsewhere),
        "another host's container was removed"
    );
    assert!(containers_of(d, next_pid).is_empty());
}

fn assert_missing_image(out: &Output, elapsed: Duration, limit: Duration, image: &str) {
    let stderr = stderr_of(out);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(stderr.contains(image), "names the image:\n{stderr}");
    let hint = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint in:\n{stderr}"));
    for way in ["docker load", "docker import", "REIMS_VERIFY_DOCKER_IMAGE"] {
        assert!(hint.contains(way), "hint lacks {way}: {hint}");
    }
    assert!(elapsed < limit, "took {elapsed:?}");
}

#[test]
fn a_missing_image_is_exit_3_with_the_offline_hint() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    let image = "reims-verify-test/absent:0";
    let mut cmd = reims_on(d, &["check", "--backend", "docker", "--no-report"]);
    cmd.env("REIMS_VERIFY_DOCKER_IMAGE", image);
    let run = Spawned::start(cmd);
    let pid = run.pid();
    let (out, elapsed) = run.wait_within(RUN_LIMIT);
    assert_missing_image(&out, elapsed, Duration::from_secs(120), image);
    assert!(containers_of(d, pid).is_empty());
}

#[test]
fn a_registry_that_never_answers_does_not_hang_the_run() {
    let Some(d) = daemon() else { return };
    let _runs = shared_runs();
    // Accepts connections (the kernel's backlog does) and never answers; the daemon, on
    // this host, tries to pull from it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let image = format!("{}/postgres:16-alpine", silent.local_addr().unwrap());
    let mut cmd = reims_on(d, &["check", "--backend", "docker", "--no-report"]);
    cmd.env("REIMS_VERIFY_DOCKER_IMAGE", &image)
        .env("REIMS_VERIFY_DOCKER_PULL_TIMEOUT", "3");
    let (out, elapsed) = run_within(cmd, RUN_LIMIT);
    assert_missing_image(&out, elapsed, Duration::from_secs(60), &image);
    assert!(stderr_of(&out).contains("3 s"), "{}", stderr_of(&out));
    assert!(
        elapsed >= Duration::from_secs(3),
        "gave up early: {elapsed:?}"
    );
    drop(silent);
}

#[cfg(feature = "docker")]
fn assert_no_daemon_error(out: &Output, elapsed: Duration, reason: &str) {
    let stderr = stderr_of(out);
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
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("lacks"), "{stderr}");
    assert!(stderr.contains("--features docker"), "{stderr}");
}
