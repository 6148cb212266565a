//! `EphemeralCluster`: a throw-away PostgreSQL in a temp folder, reached over a unix socket.
//!
//! initdb into a fresh folder, `postgres` with no TCP listener and fsync off, and on drop,
//! Ctrl-C, panic or process exit: stop the server and delete the folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::backend::{create_database_on, ServerBackend};
use super::bindir::{find_bindir, find_bindir_of_major, major_of, BinDir};
use super::cleanup;
use super::folder::{ClusterFolder, Worker};
use super::initdb_cache::{self, Restore};
use super::options::ClusterOptions;
use super::reaper::reap_cluster_folders;
use super::spawn::spawn_bound_to_process;
use crate::error::{Error, Result};

/// A running, disposable PostgreSQL server.
#[derive(Debug)]
pub struct EphemeralCluster {
    /// The key under which `folder` is registered for clean-up.
    key: u64,
    folder: Arc<ClusterFolder>,
    dir: PathBuf,
    child: Option<Child>,
    bindir: BinDir,
    version: String,
    /// The initdb cache entry the data directory was copied from, while the server runs
    /// on that copy.
    /// (Boxed: the cluster is one variant of an enum whose other is small.)
    initdb_entry: Option<Box<initdb_cache::EntryId>>,
    /// Milliseconds spent in initdb and in starting the server, for the phase breakdown.
    pub timings: ClusterTimings,
}

/// How long the cluster took to come up.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ClusterTimings {
    /// initdb (or the copy from the initdb cache), in milliseconds.
    pub initdb_ms: u128,
    /// Whether the data directory came from the initdb cache.
    pub from_cache: bool,
    /// Server start until the first successful connection, in milliseconds.
    pub start_ms: u128,
}

const SUPERUSER: &str = "postgres";

/// How every cluster is initialised (also part of the initdb cache key).
/// `--no-instructions` exists from PostgreSQL 14 on; initdb 13 refuses it.
fn initdb_args(major: Option<u32>) -> Vec<&'static str> {
    let mut args = vec![
        "--username",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    ];
    if major.is_none_or(|m| m >= 14) {
        args.push("--no-instructions");
    }
    args
}

const PORT: u16 = 5432;

/// The binaries a cluster of `opts` runs: named ones as named; otherwise those of the
/// wanted major, when found; otherwise the first found.
fn chosen_bindir(opts: &ClusterOptions) -> Result<BinDir> {
    let explicit = opts.bindir.as_deref();
    match (explicit, opts.major) {
        (None, Some(m)) => match find_bindir_of_major(None, m)? {
            Some(b) => Ok(b),
            None => find_bindir(None),
        },
        _ => find_bindir(explicit),
    }
}

type OsOwner = Option<(nix::unistd::Uid, nix::unistd::Gid)>;

/// What [`EphemeralCluster::lay_out`] settled that starting the server still needs: who
/// runs it, and how a data directory that will not start is made again.
struct Initialised {
    owner: OsOwner,
    args: Vec<&'static str>,
    cache_key: String,
}

/// Runs a cluster's blocking set-up (folders, file copies, initdb) on a thread of its own, so
/// that the runtime's thread goes on with what runs beside it; a panic there is a panic here.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Cluster {
            message: format!("the cluster's set-up was cancelled: {e}"),
            hint: "run again".into(),
        }),
    }
}

impl EphemeralCluster {
    /// Create and start a cluster. Folders, cache entries and shared memory that killed
    /// runs left in the same places are removed first. The folder, the copy from the initdb
    /// cache and initdb itself block, as does the initdb run again when the server refuses
    /// a cached copy, so they run on a thread of their own: the runtime's one thread goes on
    /// with what runs beside the start (a handed-over server's catalog read beside its
    /// shadow's server, which otherwise waited out the whole initdb).
    pub async fn start(opts: &ClusterOptions) -> Result<Self> {
        let opts = opts.clone();
        let (
            mut cluster,
            Initialised {
                owner,
                args,
                cache_key,
            },
        ) = off_the_runtime(move || Self::lay_out(&opts)).await?;
        let t = Instant::now();
        match cluster.start_server(owner).await {
            Ok(()) => {}
            // An interrupted run stops its server from the signal handler's thread; the
            // start then fails for that reason, not for anything in the entry.
            Err(e) if cluster.timings.from_cache && !cleanup::interrupted() => {
                // The copy matched its manifest, yet the server refused it: the entry is not
                // to be trusted. Start over from initdb, and store a new entry.
                errln!(
                    "note: the server would not start from the initdb cache entry ({e}); it was \
                     discarded and is rebuilt from a fresh initdb"
                );
                cluster.stop_server();
                cluster =
                    off_the_runtime(move || cluster.initdb_again(owner, &args, &cache_key)).await?;
                cluster.start_server(owner).await?;
            }
            Err(e) => return Err(e),
        }
        cluster.timings.start_ms = t.elapsed().as_millis();
        Ok(cluster)
    }

    /// The blocking part of [`EphemeralCluster::start`]: the folder (registered for
    /// clean-up at once), its owner, and the data directory from the initdb cache or from
    /// initdb; no server runs yet.
    fn lay_out(opts: &ClusterOptions) -> Result<(Self, Initialised)> {
        let bindir = chosen_bindir(opts)?;
        let version = bindir.version()?;
        let owner = server_owner(opts.os_user.as_deref())?;
        let parent = opts.parent_dir.clone().unwrap_or_else(default_parent);
        for note in reap_cluster_folders(&parent) {
            errln!("note: {note}");
        }
        let folder = ClusterFolder::create(&parent).map_err(|e| Error::Cluster {
            message: format!(
                "cannot create a cluster folder in {}: {e}",
                parent.display()
            ),
            hint: "make the folder writable, or point REIMS_VERIFY_TMPDIR at one that is".into(),
        })?;
        let dir = folder.dir().to_path_buf();
        // From here on, Drop (or a signal, or process exit) removes the folder.
        let folder = Arc::new(folder);
        let key = cleanup::register(folder.clone());
        let mut cluster = EphemeralCluster {
            key,
            folder,
            dir,
            child: None,
            bindir,
            version,
            initdb_entry: None,
            timings: ClusterTimings::default(),
        };
        if let Some((uid, gid)) = owner {
            nix::unistd::chown(&cluster.dir, Some(uid), Some(gid)).map_err(|e| Error::Cluster {
                message: format!("cannot chown {}: {e}", cluster.dir.display()),
                hint: format!(
                    "running as root, the cluster folder must belong to the server's OS user \
                     (uid {uid}); use a folder where root may change owners (REIMS_VERIFY_TMPDIR)"
                ),
            })?;
        }
        let args = initdb_args(major_of(&cluster.version));
        let cache_key = initdb_cache::key(
            &cluster.version,
            &cluster.bindir.path,
            &args,
            owner.map(|(u, _)| u.as_raw()),
            &initdb_cache::system_locales(),
        );
        let t = Instant::now();
        let raw_owner = owner.map(|(u, g)| (u.as_raw(), g.as_raw()));
        match initdb_cache::restore(&cache_key, &cluster.data_dir(), raw_owner) {
            Restore::Restored(entry) => {
                cluster.timings.from_cache = true;
                cluster.initdb_entry = Some(Box::new(entry));
            }
            Restore::Miss => {}
            Restore::Damaged(reason) => errln!(
                "note: the initdb cache entry was damaged ({reason}); it was discarded and is \
                 rebuilt from a fresh initdb"
            ),
        }
        if !cluster.timings.from_cache {
            cluster.initdb_and_store(owner, &args, &cache_key)?;
        }
        cluster.timings.initdb_ms = t.elapsed().as_millis();
        Ok((
            cluster,
            Initialised {
                owner,
                args,
                cache_key,
            },
        ))
    }

    /// After the server refused a data directory restored from the initdb cache: remove it
    /// and the entry, run initdb, and store a new entry. Blocking, like [`Self::lay_out`].
    fn initdb_again(
        mut self,
        owner: OsOwner,
        args: &[&'static str],
        cache_key: &str,
    ) -> Result<Self> {
        let _ = std::fs::remove_dir_all(self.data_dir());
        initdb_cache::invalidate(cache_key);
        self.timings.from_cache = false;
        self.initdb_entry = None;
        self.initdb_and_store(owner, args, cache_key)?;
        Ok(self)
    }

    /// initdb into the data directory, then keep a copy of it in the initdb cache under
    /// `cache_key`.
    fn initdb_and_store(&self, owner: OsOwner, args: &[&str], cache_key: &str) -> Result<()> {
        self.initdb(owner, args)?;
        initdb_cache::store(cache_key, &self.data_dir());
        Ok(())
    }

    /// The version line (`postgres (PostgreSQL) N.M`) of the binaries [`EphemeralCluster::start`]
    /// would run with `opts`, without starting anything: what a run needs to know about its
    /// server before the server is there.
    pub fn binaries_version(opts: &ClusterOptions) -> Result<String> {
        chosen_bindir(opts)?.version()
    }

    /// Bytes free, to an unprivileged user, in the file system where a cluster of `opts`
    /// would have its folder; `None` when it cannot be told.
    pub fn free_space_for(opts: &ClusterOptions) -> Option<u64> {
        let parent = opts.parent_dir.clone().unwrap_or_else(default_parent);
        let fs = nix::sys::statvfs::statvfs(&parent).ok()?;
        Some((fs.blocks_available() as u64).saturating_mul(fs.fragment_size() as u64))
    }

    async fn start_server(&mut self, owner: OsOwner) -> Result<()> {
        self.spawn_server(owner)?;
        self.wait_ready().await
    }

    /// Stop a server that failed to come up, keeping the folder.
    fn stop_server(&mut self) {
        if let Some(child) = self.child.take() {
            self.folder
                .set_worker(Some(Worker::Server(child.id() as i32)));
        }
        self.folder.stop_worker();
    }

    /// The cluster's folder (data directory and socket live inside it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `postgres --version` of the server binaries.
    pub fn server_version(&self) -> &str {
        &self.version
    }

    /// The note `name` of the initdb cache entry this cluster's data directory was copied
    /// from, when it was and the note is there and whole: a fact about the fresh data
    /// directory (a database no migration ran in) a run need not ask the server again.
    pub fn initdb_note(&self, name: &str) -> Option<String> {
        initdb_cache::read_note(self.initdb_entry.as_deref()?, name)
    }

    /// Write `body` down as the note `name` of the initdb cache entry this cluster's data
    /// directory was copied from (nothing when it was not), for [`Self::initdb_note`]. Only
    /// what follows from that directory's files may go there: what any server started from
    /// a copy of them would answer before anything changed them.
    pub fn keep_initdb_note(&self, name: &str, body: &str) {
        if let Some(entry) = &self.initdb_entry {
            initdb_cache::write_note(entry, name, body);
        }
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Connection options for one database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(&self.dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
            .ssl_mode(PgSslMode::Disable)
            .application_name("reims-verify")
            .disable_statement_logging()
    }

    /// Open a connection to one database of this cluster.
    pub async fn connect(&self, database: &str) -> Result<PgConnection> {
        PgConnection::connect_with(&self.connect_options(database))
            .await
            .map_err(|e| Error::Connect {
                target: format!("ephemeral cluster at {}", self.dir.display()),
                message: crate::error::describe_sqlx_error(&e),
            })
    }

    /// Create a database, optionally as a copy of a template (≈35 ms on these machines).
    pub async fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        let mut conn = self.connect("postgres").await?;
        create_database_on(&mut conn, name, template).await?;
        let _ = conn.close().await;
        Ok(())
    }

    fn initdb(&self, owner: OsOwner, args: &[&str]) -> Result<()> {
        let program = self.bindir.program("initdb");
        let mut cmd = Command::new(&program);
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(args)
            .env_remove("PGDATA")
            .stdin(Stdio::null());
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        as_owner(&mut cmd, owner);
        let cannot_run = |e: std::io::Error| Error::Cluster {
            message: format!("cannot run {}: {e}", program.display()),
            hint: format!(
                "check that {} is a complete PostgreSQL installation whose programs run \
                 (`{} --version`), or name another with --pg-bindir",
                self.bindir.path.display(),
                program.display()
            ),
        };
        let child = self
            .folder
            .start_worker(Worker::Initdb, || {
                spawn_bound_to_process(cmd, libc::SIGKILL)
            })
            .map_err(cannot_run)?;
        let out = child.wait_with_output().map_err(cannot_run)?;
        self.folder.set_worker(None);
        if !out.status.success() {
            return Err(Error::Cluster {
                message: format!(
                    "initdb ({}) failed ({}): {}",
                    program.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                hint: format!(
                    "initdb's own message is above; it was run as `initdb -D DIR {}`",
                    args.join(" ")
                ),
            });
        }
        Ok(())
    }

    fn spawn_server(&mut self, owner: OsOwner) -> Result<()> {
        let log =
            std::fs::File::create(self.log_path()).map_err(|e| Error::io(self.log_path(), e))?;
        if let Some((uid, gid)) = owner {
            let _ = nix::unistd::chown(&self.log_path(), Some(uid), Some(gid));
        }
        let mut cmd = Command::new(self.bindir.program("postgres"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &PORT.to_string()])
            .args(["-c", "listen_addresses="])
            .args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "max_connections=50"])
            // A CREATE INDEX otherwise sizes its table to plan parallel workers, which an
            // empty table never uses: about 3% of the migrations at a thousand tables.
            .args(["-c", "max_parallel_maintenance_workers=0"])
            // The shadow creates a whole schema in one transaction: room for thousands of
            // tables' locks.
            .args(["-c", "max_locks_per_transaction=1024"])
            .args(["-c", "TimeZone=UTC"])
            // Shared-memory segments as files in the data dir, so they go with the folder.
            .args(["-c", "dynamic_shared_memory_type=mmap"])
            .args(["-c", "unix_socket_permissions=0700"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        as_owner(&mut cmd, owner);
        let cannot_start = |e: std::io::Error| Error::Cluster {
            message: format!(
                "cannot start {}: {e}",
                self.bindir.program("postgres").display()
            ),
            hint: format!(
                "check that {} holds a PostgreSQL server that runs here (`postgres --version`), \
                 or name another with --pg-bindir",
                self.bindir.path.display()
            ),
        };
        let child = self
            .folder
            .start_worker(Worker::Server, || {
                spawn_bound_to_process(cmd, libc::SIGQUIT)
            })
            .map_err(cannot_start)?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let opts = self.connect_options("postgres");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::Cluster {
                        message: format!(
                            "the server exited during start-up ({status}); its log says:\n{}",
                            self.log_tail()
                        ),
                        hint: "the server's log above says why it stopped".into(),
                    });
                }
            }
            if self.dir.join(format!(".s.PGSQL.{PORT}")).exists() {
                if let Ok(conn) = PgConnection::connect_with(&opts).await {
                    let _ = conn.close().await;
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Cluster {
                    message: format!(
                        "the server did not accept connections within 30 s; its log says:\n{}",
                        self.log_tail()
                    ),
                    hint: "the machine may be overloaded; the server's log above may say more"
                        .into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Stop the server and delete the folder now (drop does the same).
    pub fn stop(mut self) {
        self.teardown();
    }

    fn teardown(&mut self) {
        cleanup::unregister(self.key);
        if let Some(child) = self.child.take() {
            self.folder
                .set_worker(Some(Worker::Server(child.id() as i32)));
        }
        self.folder.teardown();
    }
}

impl ServerBackend for EphemeralCluster {
    fn connect_options(&self, database: &str) -> PgConnectOptions {
        EphemeralCluster::connect_options(self, database)
    }

    fn server_version(&self) -> &str {
        EphemeralCluster::server_version(self)
    }

    fn describe(&self) -> String {
        "ephemeral cluster".to_string()
    }

    async fn connect(&self, database: &str) -> Result<PgConnection> {
        EphemeralCluster::connect(self, database).await
    }

    async fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        EphemeralCluster::create_database(self, name, template).await
    }
}

impl Drop for EphemeralCluster {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn default_parent() -> PathBuf {
    if let Some(dir) = std::env::var_os("REIMS_VERIFY_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// When running as root, the (uid, gid) of the OS user that must own and run the server.
fn server_owner(name: Option<&str>) -> Result<Option<(nix::unistd::Uid, nix::unistd::Gid)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let name = name
        .map(str::to_string)
        .or_else(|| std::env::var("REIMS_VERIFY_PG_USER").ok())
        .unwrap_or_else(|| "postgres".to_string());
    match nix::unistd::User::from_name(&name) {
        Ok(Some(user)) => Ok(Some((user.uid, user.gid))),
        _ => Err(Error::Usage {
            message: format!(
                "running as root, and PostgreSQL refuses to run as root, but there is no OS user `{name}` to run it as"
            ),
            hint: "create the user (`useradd --system postgres`), or name an existing one with --pg-user / REIMS_VERIFY_PG_USER".into(),
        }),
    }
}

fn as_owner(cmd: &mut Command, owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = owner {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
    }
}
