//! Nothing is left behind, whatever ends a run. Real `reims-verify` processes are killed
//! with SIGKILL, SIGQUIT, SIGTERM and SIGINT during initdb, during a restore from the
//! initdb cache, during migrations and during the probes; then the next run starts in the
//! same place, and no
//! cluster folder, no process working in one, and no shared memory of the killed run may
//! remain. The same places also show where a run's probe sessions work: on one core with
//! their worker thread.

#[path = "common/cache_entry.rs"]
mod cache_entry;
mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Where a test's runs put their clusters and their cache: private, so that tests running
/// side by side (and other PostgreSQL servers on the machine) never mix.
struct Place {
    parent: tempfile::TempDir,
    cache: tempfile::TempDir,
    migrations: PathBuf,
    /// The server binaries' folder, when not the default one.
    bindir: Option<PathBuf>,
    /// The shadow is not built ahead, on a server of its own
    /// (`REIMS_VERIFY_NO_SHADOW_AHEAD`): the run starts one server, so one initdb.
    no_ahead: bool,
}

impl Place {
    fn new() -> Self {
        let parent = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // The cache on tmpfs too: the restore test makes its entry large.
        let cache = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        Place {
            parent,
            cache,
            migrations: migrations_dir(),
            bindir: None,
            no_ahead: false,
        }
    }

    /// A place whose runs use `held`'s server binaries and start one server, so that one
    /// initdb runs: the shadow is not built ahead.
    fn held_by(held: &HeldBackend) -> Self {
        Place {
            bindir: Some(held.bindir.clone()),
            no_ahead: true,
            ..Place::new()
        }
    }

    /// `reims-verify ARGS` with this place's folders; `cache` false turns the cache off.
    fn command(&self, args: &[&str], cache: bool) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("REIMS_VERIFY_TMPDIR", self.parent.path())
            .env("REIMS_VERIFY_CACHE_DIR", self.cache.path())
            .env_remove("DATABASE_URL")
            .env_remove("PGHOST");
        if let Some(bindir) = &self.bindir {
            cmd.env("REIMS_VERIFY_PG_BINDIR", bindir);
        }
        if self.no_ahead {
            cmd.env("REIMS_VERIFY_NO_SHADOW_AHEAD", "1");
        }
        if cache {
            cmd.env_remove("REIMS_VERIFY_NO_CACHE");
        } else {
            cmd.env("REIMS_VERIFY_NO_CACHE", "1");
        }
        cmd
    }

    /// A `check` that migrates `self.migrations`, started in the background; with `probes`,
    /// it goes on to the probes on two connections (so on a copy of the database).
    fn spawn_check(&self, cache: bool, probes: bool) -> Child {
        if probes {
            self.spawn_with(&["check", "--no-report", "--jobs", "2"], cache)
        } else {
            self.spawn_with(&["check", "--no-report", "--no-probe"], cache)
        }
    }

    /// `reims-verify ARGS --migrations … --specs …`, started in the background.
    fn spawn_with(&self, args: &[&str], cache: bool) -> Child {
        self.command(args, cache)
            .arg("--migrations")
            .arg(&self.migrations)
            .arg("--specs")
            .arg(specs_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Where [`Place::spawn_reporting_check`] writes its reports.
    fn reports(&self) -> PathBuf {
        self.cache.path().join("reports")
    }

    /// The staged (half-written) report files in [`Place::reports`], of the run `pid` or
    /// of any.
    fn staged_reports(&self, pid: Option<u32>) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.reports()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|name| {
                name.starts_with('.')
                    && match pid {
                        Some(pid) => name.ends_with(&format!(".{pid}.tmp")),
                        None => name.ends_with(".tmp"),
                    }
            })
            .collect()
    }

    /// A `check --no-probe` that writes its reports (into [`Place::reports`]).
    fn spawn_reporting_check(&self) -> Child {
        let reports = self.reports();
        let reports = reports.to_str().expect("a UTF-8 temporary folder");
        self.spawn_with(&["check", "--no-probe", "--report", reports], true)
    }

    /// The next run: `migrate --list` starts a cluster in the same place.
    fn next_run(&self) -> std::process::Output {
        self.command(&["migrate", "--list", "--migrations"], true)
            .arg(migrations_dir())
            .output()
            .unwrap()
    }

    /// The identities (device, inode) of the data folders of the runs in this place.
    fn data_folder_ids(&self) -> Vec<(u64, u64)> {
        self.folders()
            .iter()
            .filter_map(|f| folder_id(&f.join("data")))
            .collect()
    }

    fn folders(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.parent.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

/// Processes whose working directory lies under `dir` (servers and backends work in their
/// data folder).
fn processes_in(dir: &Path) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("cwd")).is_ok_and(|c| c.starts_with(dir)) {
            found.push(pid);
        }
    }
    found
}

/// Processes whose command line mentions `needle` (initdb names its data folder).
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            if pid != me && String::from_utf8_lossy(&cmd).contains(needle) {
                found.push(pid);
            }
        }
    }
    found
}

/// The `PostgreSQL.*` files in /dev/shm that PostgreSQL System V segment `id` leads to:
/// the dynamic shared-memory control segment its header names and the in-use segments that
/// control segment lists (the chain the clean-up follows). Empty when `id` is gone or not
/// PostgreSQL's. A run's servers keep their dynamic segments in their data folder
/// (`dynamic_shared_memory_type=mmap`); initdb's backend keeps them here.
fn dynamic_segments_of(id: i32) -> BTreeSet<String> {
    /// The control segment's magic.
    const DSM_CONTROL_MAGIC: u32 = 0x9a50_3d32;
    let word = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut found = BTreeSet::new();
    let Some(header) = sysv_header(id) else {
        return found;
    };
    if word(&header, 0) != Some(SHMEM_MAGIC as u32) {
        return found;
    }
    // The control segment's handle is at offset 24 of the header.
    let Some(control) = word(&header, 24).filter(|c| *c != 0) else {
        return found;
    };
    let name = format!("PostgreSQL.{control}");
    let Ok(bytes) = std::fs::read(Path::new("/dev/shm").join(&name)) else {
        return found;
    };
    found.insert(name);
    // Items (handle, reference count, ...) follow three u32 fields, aligned to 8.
    let (Some(DSM_CONTROL_MAGIC), Some(nitems), Some(maxitems)) =
        (word(&bytes, 0), word(&bytes, 4), word(&bytes, 8))
    else {
        return found;
    };
    let body = bytes.len().saturating_sub(16);
    if maxitems == 0 || body % maxitems as usize != 0 {
        return found;
    }
    let item_len = body / maxitems as usize;
    for i in 0..nitems.min(maxitems) as usize {
        let at = 16 + i * item_len;
        if let (Some(handle), Some(refs)) = (word(&bytes, at), word(&bytes, at + 4)) {
            if handle != 0 && refs > 0 {
                found.insert(format!("PostgreSQL.{handle}"));
            }
        }
    }
    found
}

/// `PGShmemMagic`, the first field of PostgreSQL's shared-memory header.
const SHMEM_MAGIC: i32 = 679_834_894;

/// The first 56 bytes (PostgreSQL's header) of System V segment `id`, copied out through a
/// read-only attach; `None` when it is gone or smaller.
fn sysv_header(id: i32) -> Option<[u8; 56]> {
    // SAFETY: IPC_STAT into a zeroed plain-data struct; then attach read-only, copy the
    // header out, detach.
    unsafe {
        let mut ds: libc::shmid_ds = std::mem::zeroed();
        if libc::shmctl(id, libc::IPC_STAT, &mut ds) != 0 || (ds.shm_segsz as usize) < 56 {
            return None;
        }
        let ptr = libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY);
        if ptr as isize == -1 {
            return None;
        }
        let mut buf = [0u8; 56];
        std::ptr::copy_nonoverlapping(ptr as *const u8, buf.as_mut_ptr(), buf.len());
        libc::shmdt(ptr);
        Some(buf)
    }
}

/// A data folder's identity as PostgreSQL's shared-memory header records it.
fn folder_id(data: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(data).ok().map(|m| (m.dev(), m.ino()))
}

/// Every System V segment on the machine that belongs to one of the data folders `ids`
/// (device, inode): its header names the folder, or it is still blank and carries the key
/// PostgreSQL derives from the folder's inode. Found whoever made it and whenever, unlike
/// the segments a lock file names.
fn segments_of_folders(ids: &[(u64, u64)]) -> Vec<String> {
    let Ok(table) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(key), Some(id)) = (
            fields.first().and_then(|k| k.parse::<i64>().ok()),
            fields.get(1).and_then(|i| i.parse::<i32>().ok()),
        ) else {
            continue;
        };
        let Some(header) = sysv_header(id) else {
            continue;
        };
        let magic = i32::from_ne_bytes(header[0..4].try_into().unwrap());
        let device = u64::from_ne_bytes(header[40..48].try_into().unwrap());
        let inode = u64::from_ne_bytes(header[48..56].try_into().unwrap());
        let ours = ids.iter().any(|(dev, ino)| {
            (magic == SHMEM_MAGIC && device == *dev && inode == *ino)
                || (magic == 0 && key == *ino as i64)
        });
        if ours {
            found.push(format!("segment {id} ({})", sysv_describe(id)));
        }
    }
    found
}

/// The System V segment id that a data folder's `postmaster.pid` names (line 7).
fn sysv_id(data: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    text.lines().nth(6)?.split_whitespace().nth(1)?.parse().ok()
}

fn sysv_exists(id: i32) -> bool {
    // SAFETY: IPC_STAT into a zeroed plain-data struct.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) == 0 }
}

/// What a remaining segment's status says (attach count, creator, last process to attach
/// or detach, and whether those are alive), for a failure message.
fn sysv_describe(id: i32) -> String {
    // SAFETY: IPC_STAT into a zeroed plain-data struct.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } != 0 {
        return "gone".into();
    }
    let alive = |pid: i32| Path::new(&format!("/proc/{pid}")).exists();
    format!(
        "attached {}, created by {} (alive: {}), last used by {} (alive: {})",
        ds.shm_nattch,
        ds.shm_cpid,
        alive(ds.shm_cpid),
        ds.shm_lpid,
        alive(ds.shm_lpid)
    )
}

/// Wait until `ready` holds, polling; panic after 60 s.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The phases a run can be killed in.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Initdb,
    Restore,
    Migrations,
    /// The shadow's own server started beside the run's, while a migration hangs.
    ShadowAhead,
    /// A server starting from the initdb cache entry, held back by [`SlowStart`].
    ServerStart,
    /// Probe batches in flight, on the database and on its copy.
    Probes,
    /// The reports being written while the server is torn down beside them.
    Reports,
}

/// Wait until the run `pid` is in `phase`.
fn wait_for_phase(place: &Place, phase: Phase, pid: u32) {
    let parent = place.parent.path().to_path_buf();
    match phase {
        // initdb's backend works in the data folder.
        Phase::Initdb => wait_for("initdb's backend", || !processes_in(&parent).is_empty()),
        // The copy has begun (PG_VERSION sorts first) and the server has not started.
        Phase::Restore => wait_for("the restore", || {
            place
                .folders()
                .iter()
                .any(|f| f.join("data/PG_VERSION").exists())
        }),
        // A backend runs the slow migration.
        Phase::Migrations => wait_for("the slow migration", || {
            processes_in(&parent).into_iter().any(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("SELECT"))
            })
        }),
        // The second cluster folder is the shadow's own server (the run's is first).
        Phase::ShadowAhead => wait_for("the shadow's own server", || place.folders().len() >= 2),
        Phase::ServerStart => wait_for("a server held back before it starts", || {
            !processes_mentioning(SlowStart::PAUSE).is_empty()
        }),
        // The copy's session exists only while the probes run (a backend's title names
        // its database).
        Phase::Probes => {
            wait_for("a session on the probes' copy", || {
                processes_in(&parent).into_iter().any(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("_copy_1"))
                })
            });
            // Into the probe batches, not at their first statement.
            std::thread::sleep(Duration::from_millis(300));
        }
        // The run's staged report files exist only while its set is being written.
        Phase::Reports => wait_for("a staged report file", || {
            !place.staged_reports(Some(pid)).is_empty()
        }),
    }
}

/// Make the place's cache entry large, so that a restore from it takes long enough to be
/// interrupted: a 256 MiB file listed in the manifest (the entry stays valid).
fn inflate_cache_entry(place: &Place) {
    let (entry, _) = initdb_entry(place);
    let big = vec![0u8; 256 << 20];
    std::fs::write(entry.join("data/zz_padding"), &big).unwrap();
    let manifest = std::fs::read_to_string(entry.join("MANIFEST")).unwrap();
    let line = format!("f 600 {}", cache_entry::manifest_tail(&big, "zz_padding"));
    let manifest = manifest.replacen("end\n", &format!("{line}end\n"), 1);
    std::fs::write(entry.join("MANIFEST"), manifest).unwrap();
}

/// Wait for `child` to end, and what it wrote to its (piped) stderr.
fn wait_with_stderr(child: &mut Child) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

/// Kill a run in `phase` with `signal`, then run again in the same place, and assert that
/// nothing of the killed run remains. With `whole_tree`, SIGKILL also hits initdb and the
/// backends, as a CI timeout or the OOM killer would.
fn kill_then_next_run(place: &Place, phase: Phase, signal: Signal, whole_tree: bool) {
    let mut child = match phase {
        Phase::Reports => place.spawn_reporting_check(),
        _ => place.spawn_check(
            !matches!(phase, Phase::Initdb),
            matches!(phase, Phase::Probes),
        ),
    };
    wait_for_phase(place, phase, child.id());
    if matches!(phase, Phase::Initdb) && whole_tree {
        // Wait until initdb's longest step, the single-user backend, has its shared memory
        // (its lock file names the segment) and its dynamic segments (the segment's header
        // names their control segment).
        let parent = place.parent.path().to_path_buf();
        wait_for("the single-user backend's shared memory", || {
            let single = processes_in(&parent).into_iter().any(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--single"))
            });
            single
                && place.folders().iter().any(|f| {
                    sysv_id(&f.join("data")).is_some_and(|id| !dynamic_segments_of(id).is_empty())
                })
        });
    }
    let parent = place.parent.path().to_path_buf();
    let data_ids = place.data_folder_ids();
    let mut victims = vec![child.id() as i32];
    if whole_tree {
        victims.extend(processes_in(&parent));
        victims.extend(processes_mentioning(&parent.display().to_string()));
    }
    for pid in &victims {
        let _ = kill(Pid::from_raw(*pid), signal);
    }
    let (status, stderr) = wait_with_stderr(&mut child);
    let what = format!("{signal:?} during {phase:?}");
    if signal == Signal::SIGKILL {
        assert_eq!(status.code(), None, "{what}: killed");
    } else {
        assert_eq!(
            status.code(),
            Some(130),
            "{what}: exit 130; stderr:\n{stderr}"
        );
        // One line saying what happens, no flood of errors from a copy or a server.
        assert!(stderr.lines().count() <= 2, "{what}: stderr:\n{stderr}");
        assert!(
            !stderr.to_lowercase().contains("no such file"),
            "{what}: stderr:\n{stderr}"
        );
        // The server went because the run stopped it: nothing is blamed on a cache entry.
        assert!(!stderr.contains("discarded"), "{what}: stderr:\n{stderr}");
    }
    // What the killed run left, to be checked after the next run.
    let leaked_sysv: Vec<i32> = place
        .folders()
        .iter()
        .filter_map(|f| sysv_id(&f.join("data")))
        .filter(|id| sysv_exists(*id))
        .collect();
    // Its dynamic segments in /dev/shm, where those System V segments' headers lead (the
    // segments of tests running beside this one are not its own).
    let leaked_segments: BTreeSet<String> = leaked_sysv
        .iter()
        .flat_map(|id| dynamic_segments_of(*id))
        .collect();
    // Only the System V segment is sure to be there: initdb runs its single-user backends
    // one after another, and the one killed may be a newer one than the wait saw, not yet
    // with its dynamic segments.
    if whole_tree && matches!(phase, Phase::Initdb) {
        assert!(
            !leaked_sysv.is_empty(),
            "{what}: the killed backend should have left its segment"
        );
    }

    let next = place.next_run();
    let next_err = String::from_utf8_lossy(&next.stderr);
    assert!(
        next.status.success(),
        "{what}: next run failed:\n{next_err}"
    );
    if signal == Signal::SIGKILL {
        assert!(
            next_err.contains("left by a run that was killed"),
            "{what}: the next run says what it removed:\n{next_err}"
        );
    }
    // Give killed processes a moment to be reaped by init.
    wait_for("no process working in the place", || {
        processes_in(&parent).is_empty()
    });
    assert!(
        place.folders().is_empty(),
        "{what}: left behind {:?}",
        place.folders()
    );
    for id in leaked_sysv {
        assert!(
            !sysv_exists(id),
            "{what} ({}): System V segment {id} remains: {}; the next run said:\n{next_err}",
            if whole_tree {
                "every process"
            } else {
                "the run alone"
            },
            sysv_describe(id)
        );
    }
    let still: Vec<&String> = leaked_segments
        .iter()
        .filter(|s| Path::new("/dev/shm").join(s).exists())
        .collect();
    assert!(still.is_empty(), "{what}: segments remain: {still:?}");
    // Including any that a process of the killed run made after it was killed.
    let late = segments_of_folders(&data_ids);
    assert!(
        late.is_empty(),
        "{what}: shared memory of the killed run's data folder remains: {late:?}"
    );
}

/// A folder of the default server binaries whose `postgres` pauses before it starts a
/// server while [`SlowStart::hold`] is on (`--version` and initdb's runs of it never
/// pause), so that a run can be caught while its server starts.
struct SlowStart {
    dir: tempfile::TempDir,
}

impl SlowStart {
    /// The pause, as its `sleep` process's command line shows it.
    const PAUSE: &'static str = "1.5173";

    fn new() -> Self {
        let dir = wrapped_bindir(|server, dir| {
            format!(
                "#!/bin/sh\n\
                 case \"$1\" in --version|-V|--boot|--single|--check|-C|--describe-config) \
                 exec {server} \"$@\";; esac\n\
                 [ -e {hold} ] && sleep {pause}\n\
                 exec {server} \"$@\"\n",
                server = server.display(),
                hold = dir.join("hold").display(),
                pause = Self::PAUSE,
            )
        });
        SlowStart { dir }
    }

    fn hold(&self, on: bool) {
        set_hold(&self.dir.path().join("hold"), on);
    }
}

/// A folder of the default server binaries whose `postgres` is the script `script(real
/// postgres, folder)` makes; every other program is the real one.
fn wrapped_bindir(script: impl FnOnce(&Path, &Path) -> String) -> tempfile::TempDir {
    let real = reims_verify::postgres::find_bindir(None)
        .expect("the default PostgreSQL binaries")
        .path;
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    wrap_postgres(&real, dir.path(), script);
    dir
}

/// Fill `bindir` with links to every program in `real` but `postgres`, which is the script
/// `script(real postgres, bindir)` makes.
fn wrap_postgres(real: &Path, bindir: &Path, script: impl FnOnce(&Path, &Path) -> String) {
    for entry in std::fs::read_dir(real).unwrap().flatten() {
        if entry.file_name() != "postgres" {
            std::os::unix::fs::symlink(entry.path(), bindir.join(entry.file_name())).unwrap();
        }
    }
    let wrapper = bindir.join("postgres");
    std::fs::write(&wrapper, script(&real.join("postgres"), bindir)).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Which of initdb's runs of `postgres` a [`HeldBackend`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// `postgres --check`, which initdb runs through the shell to size shared memory:
    /// held before it starts.
    Check,
    /// The bootstrap backend (`postgres --boot`): started, so with its shared memory, and
    /// held before it reads its script, which comes on its input; its exit status is kept.
    Boot,
}

/// A folder of the default server binaries whose `postgres` waits in one of initdb's runs
/// of it (see [`Held`]) while [`HeldBackend::hold`] is on, so that a run can be caught
/// while its initdb waits for such a backend.
struct HeldBackend {
    root: tempfile::TempDir,
    bindir: PathBuf,
}

impl HeldBackend {
    /// `None` when the default binaries are not installed under `/usr` (initdb finds its
    /// `postgres` beside its own resolved path and its share folder relative to it, so the
    /// copy mirrors that layout).
    fn new(held: Held) -> Option<Self> {
        let real = reims_verify::postgres::find_bindir(None)
            .expect("the default PostgreSQL binaries")
            .path;
        let below_usr = real.strip_prefix("/usr").ok()?.to_path_buf();
        let root = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let bindir = root.path().join(&below_usr);
        std::fs::create_dir_all(&bindir).unwrap();
        let mut up = bindir.clone();
        while up != root.path() {
            std::fs::set_permissions(&up, std::fs::Permissions::from_mode(0o755)).unwrap();
            up.pop();
        }
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/usr/share", root.path().join("share")).unwrap();
        // The marker folders are writable by the OS user initdb runs as.
        for marks in ["marks", "statuses"] {
            let marks = root.path().join(marks);
            std::fs::create_dir(&marks).unwrap();
            std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let waiting = root.path().join("marks/waiting");
        let status = root.path().join("statuses/boot");
        let hold = root.path().join("hold");
        let wait = format!(
            "n=0; while [ -e {hold} ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done",
            hold = hold.display()
        );
        wrap_postgres(&real, &bindir, |server, _| {
            let server = server.display();
            let waiting = waiting.display();
            match held {
                Held::Check => format!(
                    "#!/bin/sh\n\
                     if [ \"$1\" = --check ]; then\n\
                     touch {waiting}.$$\n\
                     {wait}\n\
                     fi\n\
                     exec {server} \"$@\"\n"
                ),
                Held::Boot => format!(
                    "#!/bin/sh\n\
                     if [ \"$1\" = --boot ]; then\n\
                     touch {waiting}.$$\n\
                     {{ {wait}; cat; }} | {server} \"$@\"\n\
                     status=$?\n\
                     echo $status > {status}.$$\n\
                     exit $status\n\
                     fi\n\
                     exec {server} \"$@\"\n",
                    status = status.display(),
                ),
            }
        });
        // A copy, not a link: initdb looks for `postgres` beside its resolved path.
        let initdb = bindir.join("initdb");
        std::fs::remove_file(&initdb).unwrap();
        std::fs::copy(real.join("initdb"), &initdb).unwrap();
        Some(HeldBackend { root, bindir })
    }

    fn hold(&self, on: bool) {
        set_hold(&self.root.path().join("hold"), on);
    }

    /// How many held runs of `postgres` have begun to wait (each marks its own file). An
    /// initdb runs its next one only after the last ended, so while they are held this is
    /// the number of initdbs caught.
    fn waiting(&self) -> usize {
        std::fs::read_dir(self.root.path().join("marks"))
            .unwrap()
            .count()
    }

    /// The exit statuses of the bootstrap backends that ended by themselves ([`Held::Boot`]):
    /// one killed never writes its own.
    fn boot_statuses(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path().join("statuses"))
            .unwrap()
            .map(|e| {
                std::fs::read_to_string(e.unwrap().path())
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .collect()
    }

    /// Forget the marks and statuses of earlier runs.
    fn clear(&self) {
        for marks in ["marks", "statuses"] {
            for entry in std::fs::read_dir(self.root.path().join(marks)).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
    }
}

/// Put the hold file a wrapped `postgres` waits on in place (`on`), or take it away.
fn set_hold(hold: &Path, on: bool) {
    if on {
        std::fs::write(hold, "").unwrap();
    } else {
        let _ = std::fs::remove_file(hold);
    }
}

/// Whether process `pid` has ended (gone, or a zombie waiting to be reaped).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// The initdb cache entry of `place` (there is one) and its inode.
fn initdb_entry(place: &Place) -> (PathBuf, u64) {
    use std::os::unix::fs::MetadataExt;
    let entry = std::fs::read_dir(place.cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("initdb-")
        })
        .expect("a cache entry");
    let inode = std::fs::metadata(&entry).unwrap().ino();
    (entry, inode)
}

/// Migrations with one that sleeps, so that a run can be caught applying it.
fn slow_migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_files(&migrations_dir(), dir.path());
    std::fs::write(dir.path().join("015_slow.sql"), "SELECT pg_sleep(60);\n").unwrap();
    dir
}

#[test]
fn a_run_killed_during_initdb_leaves_nothing_after_the_next_run() {
    let place = Place::new();
    for signal in [
        Signal::SIGKILL,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGINT,
    ] {
        kill_then_next_run(&place, Phase::Initdb, signal, false);
    }
    // A CI timeout kills every process: initdb's backend leaves its shared memory, and the
    // next run removes it (and only it).
    kill_then_next_run(&place, Phase::Initdb, Signal::SIGKILL, true);
}

/// The wrapped binaries that hold `held`, or `None` (said skipped) where initdb cannot be
/// given them.
fn held_backend(held: Held) -> Option<HeldBackend> {
    let held = HeldBackend::new(held);
    if held.is_none() {
        report_skip(
            "the default PostgreSQL binaries are not under /usr, so initdb cannot be given a \
             wrapped `postgres` here",
        );
    }
    held
}

/// The initdb processes whose command line names the place's folder: the run's own, and
/// the shadow server's when the shadow is built ahead.
fn initdbs_of(place: &Place) -> Vec<i32> {
    processes_mentioning(&place.parent.path().display().to_string())
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let argv0 = c.split(|b| *b == 0).next().unwrap_or_default();
                argv0.ends_with(b"initdb")
            })
        })
        .collect()
}

/// Starts a run on `held`'s binaries without a cache, waits until `initdbs` initdbs wait
/// for their `postgres --check`, kills the run (SIGKILL) and proves that each initdb died
/// with it within 2 s; then lets the held backends go and proves the next run removes
/// what was left, and that no shared memory names a killed data folder.
fn kill_while_initdbs_wait(held: &HeldBackend, place: &Place, initdbs: usize) {
    held.hold(true);
    let mut child = place.spawn_check(false, false);
    wait_for("initdb's `postgres --check` to wait", || {
        held.waiting() >= initdbs
    });
    let caught = initdbs_of(place);
    assert_eq!(caught.len(), initdbs, "initdbs of the run: {caught:?}");
    let data_ids = place.data_folder_ids();
    assert_eq!(data_ids.len(), initdbs, "the data folders exist");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    assert_eq!(child.wait().unwrap().code(), None, "killed");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !caught.iter().all(|pid| ended(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let outlived: Vec<i32> = caught.iter().copied().filter(|pid| !ended(*pid)).collect();
    held.hold(false);
    assert!(
        outlived.is_empty(),
        "initdb (pids {outlived:?}) outlived its killed run by 2 s, still waiting on its backend"
    );
    // The backends they waited for go on by themselves once let go; let them finish.
    wait_for("the released `postgres --check` to end", || {
        processes_in(place.parent.path()).is_empty()
            && processes_mentioning(&held.root.path().display().to_string()).is_empty()
    });
    let next = place.next_run();
    let next_err = String::from_utf8_lossy(&next.stderr);
    assert!(next.status.success(), "next run failed:\n{next_err}");
    assert!(
        next_err.contains("left by a run that was killed"),
        "the next run says what it removed:\n{next_err}"
    );
    assert!(place.folders().is_empty(), "left {:?}", place.folders());
    let left = segments_of_folders(&data_ids);
    assert!(left.is_empty(), "shared memory left: {left:?}");
}

/// initdb sizes shared memory by running `postgres --check` through the shell, and
/// ignores SIGQUIT while it waits for one. A run killed then must still take initdb with it
/// at once: an initdb that lives on starts its next backends in a folder the next run is
/// removing, and one of those can leave its shared memory behind.
#[test]
fn a_run_killed_while_initdb_waits_for_a_backend_takes_initdb_with_it() {
    let Some(held) = held_backend(Held::Check) else {
        return;
    };
    // Without a cache, on two cores and with room, the run starts a second server beside its
    // own, for the shadow built ahead, and so a second initdb a moment after the first.
    // Whether that one had started when the first was caught waiting depended on the
    // machine's load (CI once saw two, the test expecting one), so it is turned off here:
    // one initdb runs. The next test holds both.
    let place = Place::held_by(&held);
    kill_while_initdbs_wait(&held, &place, 1);
}

/// The shadow built ahead runs initdb for a server of its own, beside the run's: a run
/// killed while both initdbs wait for a backend takes both with it.
#[test]
fn a_run_killed_while_both_its_initdbs_wait_for_a_backend_takes_both_with_it() {
    let mut place = Place::new();
    if !builds_ahead(Some(place.parent.path())) {
        return;
    }
    let Some(held) = held_backend(Held::Check) else {
        return;
    };
    place.bindir = Some(held.bindir.clone());
    kill_while_initdbs_wait(&held, &place, 2);
}

/// Whether the data folder `data` is held by initdb's bootstrap backend with its shared
/// memory made: its lock file names a live `postgres --boot` and a System V segment.
fn bootstrap_holds_memory(data: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        return false;
    };
    let pid = text
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok());
    pid.is_some_and(|pid| {
        std::fs::read(format!("/proc/{}/cmdline", pid.abs()))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--boot"))
    }) && sysv_id(data).is_some_and(sysv_exists)
}

/// initdb's bootstrap backend (`postgres --boot`) has no handler for SIGTERM: a SIGTERM
/// kills it outright, and its shared memory stays (CI once saw a run interrupted during
/// the shadow's set-up leave such a trio). A run interrupted while it works must let it
/// finish its step, so that it exits by itself, through PostgreSQL's clean-up; initdb then
/// stops and removes its folder, and nothing is left, before any next run.
#[test]
fn a_run_interrupted_while_initdb_bootstraps_lets_the_backend_finish_and_leaves_nothing() {
    let Some(held) = held_backend(Held::Boot) else {
        return;
    };
    let place = Place::held_by(&held);
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        held.clear();
        held.hold(true);
        let mut child = place.spawn_check(false, false);
        wait_for("the bootstrap backend's shared memory", || {
            held.waiting() == 1
                && place
                    .folders()
                    .iter()
                    .any(|f| bootstrap_holds_memory(&f.join("data")))
        });
        let data_ids = place.data_folder_ids();
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        // The run's clean-up has begun; the backend, let go now, reads its script.
        std::thread::sleep(Duration::from_millis(500));
        held.hold(false);
        let (status, stderr) = wait_with_stderr(&mut child);
        assert_eq!(status.code(), Some(130), "{signal:?}: stderr:\n{stderr}");
        assert_eq!(
            held.boot_statuses(),
            vec!["0".to_string()],
            "{signal:?}: the bootstrap backend was killed, not let finish its step"
        );
        wait_for("no process working in the place", || {
            processes_in(place.parent.path()).is_empty()
        });
        assert!(
            place.folders().is_empty(),
            "{signal:?}: left {:?}",
            place.folders()
        );
        let left = segments_of_folders(&data_ids);
        assert!(left.is_empty(), "{signal:?}: shared memory left: {left:?}");
    }
}

/// A process of initdb's group that has no handler for SIGTERM and does not end by itself
/// (here a `postgres --check` held back for up to 60 s) does not hold an interrupted run:
/// the clean-up waits 5 s for initdb's group, then kills what is left of it, the run exits
/// 130, and nothing of it is left.
#[test]
fn an_interrupted_run_whose_initdb_backend_hangs_is_not_held_by_it_and_leaves_nothing() {
    let Some(held) = held_backend(Held::Check) else {
        return;
    };
    let place = Place::held_by(&held);
    held.hold(true);
    let mut child = place.spawn_check(false, false);
    wait_for("initdb's `postgres --check` to wait", || {
        held.waiting() == 1
    });
    let interrupted = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let (status, stderr) = wait_with_stderr(&mut child);
    let took = interrupted.elapsed();
    let hung = processes_mentioning(&held.root.path().display().to_string());
    held.hold(false);
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    // Half the hold: a run that waited for the held backend to end by itself took 60 s.
    assert!(
        took < Duration::from_secs(30),
        "the run waited {took:?} for a backend that ignores SIGTERM"
    );
    assert!(
        hung.is_empty(),
        "the held backend outlived its run: {hung:?}"
    );
    assert!(place.folders().is_empty(), "left {:?}", place.folders());
}

#[test]
fn a_run_killed_during_a_cache_restore_leaves_nothing_and_keeps_the_entry() {
    let place = Place::new();
    assert!(place.next_run().status.success(), "fill the cache");
    inflate_cache_entry(&place);
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGKILL,
    ] {
        kill_then_next_run(&place, Phase::Restore, signal, false);
        // The entry was not at fault: it is still there, and the next run used it.
        let entries: Vec<String> = std::fs::read_dir(place.cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(entries.len(), 1, "{signal:?}: {entries:?}");
        assert!(
            place
                .cache
                .path()
                .join(&entries[0])
                .join("data/zz_padding")
                .exists(),
            "{signal:?}: the entry was discarded"
        );
    }
}

#[test]
fn a_run_killed_during_migrations_leaves_nothing_after_the_next_run() {
    let mut place = Place::new();
    let slow = slow_migrations();
    place.migrations = slow.path().to_path_buf();
    for signal in [
        Signal::SIGKILL,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGINT,
    ] {
        kill_then_next_run(&place, Phase::Migrations, signal, false);
    }
    kill_then_next_run(&place, Phase::Migrations, Signal::SIGKILL, true);
}

/// Without a cache entry, the shadow is built on a server of its own while the migrations
/// run: a run killed then leaves neither server behind.
#[test]
fn a_run_killed_while_the_shadow_is_built_ahead_leaves_nothing_after_the_next_run() {
    let mut place = Place::new();
    if !builds_ahead(Some(place.parent.path())) {
        return;
    }
    let slow = slow_migrations();
    place.migrations = slow.path().to_path_buf();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGQUIT,
        Signal::SIGKILL,
    ] {
        kill_then_next_run(&place, Phase::ShadowAhead, signal, false);
    }
    kill_then_next_run(&place, Phase::ShadowAhead, Signal::SIGKILL, true);
}

/// A run interrupted while its server starts from the initdb cache entry stops the server
/// itself, so the start fails: that failure says nothing about the entry, which stays.
#[test]
fn a_run_interrupted_while_its_server_starts_keeps_the_cache_entry() {
    let slow = SlowStart::new();
    let mut place = Place::new();
    place.bindir = Some(slow.dir.path().to_path_buf());
    assert!(place.next_run().status.success(), "fill the cache");
    let (entry, inode) = initdb_entry(&place);
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT] {
        slow.hold(true);
        kill_then_next_run(&place, Phase::ServerStart, signal, false);
        slow.hold(false);
        assert_eq!(
            initdb_entry(&place),
            (entry.clone(), inode),
            "{signal:?}: the entry was discarded"
        );
    }
}

/// A migration that fails while the shadow is built ahead ends the run with the
/// migration's error, and the shadow's server is gone when the run has ended.
#[test]
fn a_failed_migration_stops_the_build_ahead_and_leaves_nothing() {
    let mut place = Place::new();
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(migrations_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("015_broken.sql"), "SELECT 1 / 0;\n").unwrap();
    place.migrations = dir.path().to_path_buf();
    let out = place.spawn_check(false, false).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("015_broken.sql"), "{stderr}");
    assert!(place.folders().is_empty(), "left {:?}", place.folders());
    assert!(processes_in(place.parent.path()).is_empty());
}

/// The probes run on the database and on a copy of it, both with batches in flight: a
/// run killed there stops the server through the same clean-up, and the next run finds
/// nothing of it.
#[test]
fn a_run_killed_during_the_probes_leaves_nothing_after_the_next_run() {
    let place = Place::new();
    assert!(place.next_run().status.success(), "fill the cache");
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGKILL,
    ] {
        kill_then_next_run(&place, Phase::Probes, signal, false);
    }
    kill_then_next_run(&place, Phase::Probes, Signal::SIGKILL, true);
}

/// The server is stopped and removed on a thread of its own while the verdict is printed
/// and the reports are written. A run killed while the reports are written leaves nothing:
/// no server, and no half-written report file (an interrupted run removes its own; those
/// of a run killed outright are removed by the next run that writes reports there). A run
/// that ends normally has waited for its server to be gone: right after it exits, with no
/// report to write (the shortest time from verdict to exit), the place is empty.
#[test]
fn the_server_goes_while_the_reports_are_written_and_before_the_run_ends() {
    let place = Place::new();
    assert!(place.next_run().status.success(), "fill the cache");
    for _ in 0..3 {
        let out = place.spawn_check(true, false).wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            place.folders().is_empty(),
            "the run exited before its server was gone: {:?}",
            place.folders()
        );
        assert!(processes_in(place.parent.path()).is_empty());
    }
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT] {
        kill_then_next_run(&place, Phase::Reports, signal, false);
        assert_eq!(
            place.staged_reports(None),
            Vec::<String>::new(),
            "{signal:?}"
        );
    }
    kill_then_next_run(&place, Phase::Reports, Signal::SIGKILL, false);
    assert!(
        !place.staged_reports(None).is_empty(),
        "SIGKILL leaves the staged files (the test must have caught the writing)"
    );
    let out = place.spawn_reporting_check().wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(place.staged_reports(None), Vec::<String>::new());
    assert!(place.folders().is_empty(), "{:?}", place.folders());
}

#[test]
fn folders_of_live_runs_and_foreign_folders_are_never_touched() {
    let place = Place::new();
    // A run that is alive (it sleeps in a migration), a folder of another program, and a
    // folder named like ours but carrying no pid and no marker.
    let slow = slow_migrations();
    let mut live = place
        .command(
            &["check", "--no-report", "--no-probe", "--migrations"],
            true,
        )
        .arg(slow.path())
        .arg("--specs")
        .arg(specs_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let parent = place.parent.path().to_path_buf();
    wait_for("the live run's migration", || {
        processes_in(&parent).into_iter().any(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("SELECT"))
        })
    });
    // The shadow built ahead (no cache entry yet) has its own server, which goes when the
    // shadow is built: the live run's folder is the one that stays.
    wait_for("the shadow's own server to be gone", || {
        place.folders().len() == 1
    });
    let live_folders = place.folders();
    let foreign = parent.join("reims-verify-notours");
    std::fs::create_dir(&foreign).unwrap();
    let other = parent.join("other-program-1-x");
    std::fs::create_dir(&other).unwrap();
    let next = place.next_run();
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    for f in live_folders.iter().chain([&foreign, &other]) {
        assert!(f.exists(), "{} was removed", f.display());
    }
    assert_eq!(live.try_wait().unwrap(), None, "the live run was disturbed");
    let _ = kill(Pid::from_raw(live.id() as i32), Signal::SIGTERM);
    assert_eq!(live.wait().unwrap().code(), Some(130));
    std::fs::remove_dir(&foreign).unwrap();
    std::fs::remove_dir(&other).unwrap();
    assert!(place.folders().is_empty(), "{:?}", place.folders());
}

/// Names in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// Open files of process `pid` that lie in `dir` (a file without a name shows as the
/// folder it was made in).
fn open_files_in(pid: u32, dir: &Path) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(dir)))
        .count()
}

/// The findings' spool (README: `TMPDIR`) has no name while the run lives, so a run killed
/// with SIGKILL, which runs no clean-up at all, leaves nothing of it in `TMPDIR`.
#[test]
fn the_findings_spool_has_no_name_and_a_killed_run_leaves_nothing_of_it() {
    let place = Place::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut child = place
        .command(
            &["check", "--no-report", "--seed", "1", "--migrations"],
            true,
        )
        .arg(&place.migrations)
        .arg("--specs")
        .arg(specs_dir())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The spool is open from verify to the end of the probes (seconds on REIMS).
    wait_for("the spool", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its spool was seen"
        );
        open_files_in(pid, tmp.path()) > 0
    });
    assert_eq!(
        entries(tmp.path()),
        Vec::<PathBuf>::new(),
        "the spool has a name"
    );
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_eq!(entries(tmp.path()), Vec::<PathBuf>::new());
    // The killed run's cluster is the next run's to remove, as in the tests above.
    let next = place.next_run();
    assert!(next.status.success(), "{next:?}");
    assert!(place.folders().is_empty(), "{:?}", place.folders());
}

/// The cores a process may run on, as the kernel lists them (`0-1`, `3`).
fn cores_allowed(pid: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|l| l.trim().to_string())
}

/// A run's probe workers each share a core with their server process (see
/// `postgres::pairing`): the session on the probes' copy is seen on one core. With
/// `REIMS_VERIFY_NO_PAIRING` set it keeps every core the run has. Either way the run passes.
#[test]
fn probe_sessions_share_a_core_with_their_worker_unless_told_not_to() {
    let every = cores_allowed("thread-self").unwrap();
    if !every.contains(['-', ',']) {
        report_skip(&format!(
            "this test runs on one core ({every}): a session on one core looks the same \
             pinned or not"
        ));
        return;
    }
    for paired in [true, false] {
        let place = Place::new();
        let mut cmd = place.command(
            &["check", "--no-report", "--jobs", "2", "--migrations"],
            true,
        );
        cmd.arg(&place.migrations)
            .arg("--specs")
            .arg(specs_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if paired {
            cmd.env_remove("REIMS_VERIFY_NO_PAIRING");
        } else {
            cmd.env("REIMS_VERIFY_NO_PAIRING", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let mut seen = BTreeSet::new();
        while child.try_wait().unwrap().is_none() {
            for pid in processes_in(place.parent.path()) {
                let on_copy = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("_copy_1"));
                if on_copy {
                    seen.extend(cores_allowed(&pid.to_string()));
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "paired {paired}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !seen.is_empty(),
            "paired {paired}: no session on the copy was seen"
        );
        let one_core = |list: &String| list.parse::<usize>().is_ok();
        if paired {
            assert!(
                seen.iter().any(one_core),
                "the copy's session was never on one core: {seen:?}"
            );
        } else {
            assert_eq!(
                seen,
                BTreeSet::from([every.clone()]),
                "with pairing off, the copy's session was moved"
            );
        }
    }
}

/// The specs folder with one file that does not load (a YAML syntax error on line 3).
fn specs_with_a_broken_file() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(specs_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("zz_broken.yaml"),
        "table: zz_broken\nschema: public\ncolumns: [\n",
    )
    .unwrap();
    dir
}

/// On a throw-away server the specs load beside the server's start and the migrations. A
/// spec that does not load still decides the outcome: exit 2 naming the file, told before
/// anything the migrations did, without waiting for a migration that hangs, and with
/// nothing left behind; with and without the caches.
#[test]
fn a_spec_that_does_not_load_ends_the_run_while_a_migration_hangs() {
    let specs = specs_with_a_broken_file();
    let slow = slow_migrations();
    let failing = tempfile::tempdir().unwrap();
    std::fs::write(failing.path().join("001_fails.sql"), "CREATE TABLE (;\n").unwrap();
    let place = Place::new();
    for cache in [false, true] {
        for migrations in [slow.path(), failing.path()] {
            let started = Instant::now();
            let out = place
                .command(
                    &[
                        "check",
                        "--no-report",
                        "--no-probe",
                        "--statement-timeout",
                        "0",
                    ],
                    cache,
                )
                .arg("--migrations")
                .arg(migrations)
                .arg("--specs")
                .arg(specs.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let case = format!("cache {cache}, {}", migrations.display());
            assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
            assert!(stderr.contains("zz_broken.yaml"), "{case}: {stderr}");
            assert!(!stderr.contains("001_fails.sql"), "{case}: {stderr}");
            // The hanging migration sleeps 60 s (no statement timeout cuts it short); the
            // run must not wait for it.
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{case}: waited {:?} for the migration",
                started.elapsed()
            );
            assert!(place.folders().is_empty(), "{case}: {:?}", place.folders());
            assert!(
                processes_in(place.parent.path()).is_empty(),
                "{case}: a server is left"
            );
        }
    }
}
