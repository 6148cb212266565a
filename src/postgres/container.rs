//! `ContainerCluster`: the throw-away PostgreSQL of the container backend
//! (`--backend docker`), started with testcontainers, for machines that have a Docker daemon
//! and no local PostgreSQL server binaries.
//!
//! The image is pinned ([`DEFAULT_IMAGE`](super::image_ref::DEFAULT_IMAGE), or [`IMAGE_ENV`]) and pulled, within a time
//! limit, only when the daemon lacks it (`container_image.rs`); the server runs with fsync
//! off on a tmpfs data directory; the container is removed on drop, panic, Ctrl-C and process
//! exit (through a [`Leftover`] registered in `cleanup.rs`, which finds it by a
//! per-container label even when its start was interrupted), and after SIGKILL by the next
//! run on the same host (`stale_containers.rs`, by the pid and host labels).
//!
//! The backend is the cargo feature `docker` (on by default). Without it the type still
//! exists, so that callers need no `cfg`, but it cannot be built: asking for it is a usage
//! error (exit 2) that says the build lacks the feature.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::PgConnection;

use super::backend::{connect_bounded, create_database_on, ServerBackend};
use super::cleanup::Leftover;
use super::container_labels::RUN_LABEL;
use super::image_ref::{ImageRef, IMAGE_ENV};
use crate::error::{Error, Result};

/// How long the Docker daemon has to answer before the run gives up (exit 3).
pub const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

/// True when this build has the container backend (cargo feature `docker`).
pub const FEATURE_ENABLED: bool = cfg!(feature = "docker");

/// How long a removal through the Docker API, then through the `docker` CLI, may take when
/// the owner is gone (signal, exit).
const REMOVE_TIMEOUT: Duration = Duration::from_secs(15);

const NO_DAEMON_HINT: &str = "start Docker (or point DOCKER_HOST at a running daemon), or use \
     the default ephemeral backend (--backend ephemeral; it needs the PostgreSQL server \
     binaries), or check an existing server with --database-url URL";

/// How to start a container cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    /// The image as `NAME:TAG`; when `None`, [`IMAGE_ENV`], else [`DEFAULT_IMAGE`](super::image_ref::DEFAULT_IMAGE).
    pub image: Option<String>,
}

impl ContainerOptions {
    /// The image to run: the explicit option, else [`IMAGE_ENV`], else [`DEFAULT_IMAGE`](super::image_ref::DEFAULT_IMAGE).
    pub fn image(&self) -> Result<ImageRef> {
        ImageRef::select(
            self.image.as_deref(),
            std::env::var(IMAGE_ENV).ok().as_deref(),
        )
    }
}

/// The error for `--backend docker` in a build without the `docker` feature (exit 2).
pub fn feature_missing_error() -> Error {
    Error::Usage {
        message: "`--backend docker` asks for the container backend, but this build of \
                  reims-verify lacks it (it was built without the cargo feature `docker`, \
                  e.g. with --no-default-features)"
            .into(),
        hint: "rebuild with the feature (`cargo build --features docker`; it is on by \
               default), or use the default ephemeral backend (--backend ephemeral), or check \
               an existing server with --database-url URL"
            .into(),
    }
}

/// The error for a Docker daemon that does not answer (exit 3, with the next steps).
pub fn no_daemon_error(reason: &str) -> Error {
    Error::Container {
        message: format!("no Docker daemon answered ({reason})"),
        hint: NO_DAEMON_HINT.into(),
    }
}

/// Where testcontainers looks for the daemon, for messages.
#[cfg(feature = "docker")]
fn docker_host_description() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.trim().is_empty() => format!("DOCKER_HOST={h}"),
        _ => "the default Docker socket".to_string(),
    }
}

/// Whether a Docker daemon answers within `limit` (the same client and probe as
/// `--backend docker`). `Err` says why not, including when this build lacks the feature.
pub async fn docker_daemon_status(limit: Duration) -> std::result::Result<(), String> {
    #[cfg(feature = "docker")]
    {
        imp::daemon(limit).await.map(|_| ())
    }
    #[cfg(not(feature = "docker"))]
    {
        let _ = limit;
        Err("this build lacks the cargo feature `docker`".to_string())
    }
}

/// A running, disposable PostgreSQL in a container. Dropping it removes the container.
#[derive(Debug)]
pub struct ContainerCluster {
    inner: Box<imp::Running>,
}

impl ContainerCluster {
    /// Reach the Docker daemon (exit 3 with a hint when none answers within
    /// [`DAEMON_TIMEOUT`]), start a container from the pinned image and wait until the
    /// server accepts connections.
    pub async fn start(opts: &ContainerOptions) -> Result<Self> {
        Ok(ContainerCluster {
            inner: Box::new(imp::Running::start(opts).await?),
        })
    }

    /// The image the container runs.
    pub fn image(&self) -> &ImageRef {
        self.inner.image()
    }

    /// The container id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// `postgres (PostgreSQL) N.M`, as the server reports it.
    pub fn server_version(&self) -> &str {
        self.inner.version()
    }

    /// Connection options for one database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        self.inner.connect_options(database)
    }

    /// Open a connection to one database of this cluster.
    pub async fn connect(&self, database: &str) -> Result<PgConnection> {
        let opts = self.connect_options(database);
        connect_bounded(&opts, &self.describe()).await
    }

    /// Create a database, optionally as a copy of a template.
    pub async fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        let mut conn = self.connect("postgres").await?;
        let done = create_database_on(&mut conn, name, template).await;
        let _ = sqlx::Connection::close(conn).await;
        done
    }

    /// A description for output: the image and the short container id.
    pub fn describe(&self) -> String {
        let id = self.id();
        format!(
            "docker container {} ({})",
            &id[..id.len().min(12)],
            self.image()
        )
    }

    /// Remove the container now (drop does the same).
    pub fn stop(self) {
        self.inner.stop();
    }
}

impl ServerBackend for ContainerCluster {
    fn connect_options(&self, database: &str) -> PgConnectOptions {
        ContainerCluster::connect_options(self, database)
    }

    fn server_version(&self) -> &str {
        ContainerCluster::server_version(self)
    }

    fn describe(&self) -> String {
        ContainerCluster::describe(self)
    }

    async fn connect(&self, database: &str) -> Result<PgConnection> {
        ContainerCluster::connect(self, database).await
    }
}

/// What is needed to remove a container without its owner: every container carrying the
/// run label `label` (set before the container is created, so a container whose start was
/// interrupted is found too), and the container id once it is known.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredContainer {
    pub label: String,
    pub id: Option<String>,
}

/// A container registered with `cleanup`, removed on a signal or at exit when its owner
/// has not removed it.
#[cfg_attr(not(feature = "docker"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct ContainerLeftover(Mutex<RegisteredContainer>);

#[cfg_attr(not(feature = "docker"), allow(dead_code))]
impl ContainerLeftover {
    /// A container about to be created with run label `label`.
    pub(crate) fn new(label: String) -> Self {
        ContainerLeftover(Mutex::new(RegisteredContainer { label, id: None }))
    }

    /// Record the id once Docker has created the container.
    pub(crate) fn set_id(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).id = Some(id.to_string());
    }
}

impl Leftover for ContainerLeftover {
    fn release(&self) {
        let entry = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        remove_registered(&[entry]);
    }
}

/// Remove containers whose owner is gone or cannot await (signal handler, process exit, a
/// drop outside any async runtime): through the Docker API on a private runtime, else
/// through the `docker` CLI. Each is bounded in time.
pub(crate) fn remove_registered(entries: &[RegisteredContainer]) {
    if entries.is_empty() {
        return;
    }
    #[cfg(feature = "docker")]
    if imp::remove_via_api(entries, REMOVE_TIMEOUT) {
        return;
    }
    remove_via_cli(Path::new("docker"), entries, REMOVE_TIMEOUT);
}

/// `docker rm -f -v` every container of each entry (its id, and whatever carries its run
/// label). Returns true when every removal succeeded.
fn remove_via_cli(program: &Path, entries: &[RegisteredContainer], limit: Duration) -> bool {
    let mut ok = true;
    for entry in entries {
        let mut ids: Vec<String> = entry.id.iter().cloned().collect();
        let mut ps = Command::new(program);
        ps.args(["ps", "-a", "-q", "--no-trunc", "--filter"])
            .arg(format!("label={RUN_LABEL}={}", entry.label));
        match run_bounded(ps, limit) {
            Some(out) if out.status.success() => ids.extend(
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_string),
            ),
            _ => ok = false,
        }
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let mut rm = Command::new(program);
        rm.args(["rm", "-f", "-v"]).args(&ids);
        match run_bounded(rm, limit) {
            Some(out) if out.status.success() => {}
            _ => ok = false,
        }
    }
    ok
}

/// Run a command with no input, capturing stdout; kill it and return `None` after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().ok(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[cfg(feature = "docker")]
mod imp {
    //! The container backend proper, on testcontainers.

    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    use sqlx::{ConnectOptions, Connection, PgConnection};
    use testcontainers::bollard::query_parameters::{
        ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    use testcontainers::bollard::Docker;
    use testcontainers::core::client::{docker_client_instance, ClientError};
    use testcontainers::core::Mount;
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, ImageExt, TestcontainersError};
    use testcontainers_modules::postgres::Postgres;

    use super::{
        docker_host_description, no_daemon_error, ContainerLeftover, ContainerOptions, ImageRef,
        RegisteredContainer, DAEMON_TIMEOUT, RUN_LABEL,
    };
    use crate::error::{Error, Result};
    use crate::postgres::cleanup;
    use crate::postgres::container_image::{ensure_image, pull_timeout};
    use crate::postgres::container_labels::{HOST_LABEL, PID_LABEL};
    use crate::postgres::image_ref::PULL_TIMEOUT_ENV;
    use crate::postgres::stale_containers::{host_identity, remove_dead_runs};

    const SUPERUSER: &str = "postgres";
    const PASSWORD: &str = "postgres";
    const PORT: u16 = 5432;
    /// A tmpfs mounted here holds the data directory: faster, and nothing left on disk.
    const TMPFS: &str = "/var/lib/postgresql/data";
    /// The data directory, below the tmpfs whatever the image's own default (the official
    /// images from 18 on keep theirs elsewhere).
    const PGDATA: &str = "/var/lib/postgresql/data/pgdata";
    /// The image is on the daemon by then (see `container_image`); initdb and the start
    /// take seconds, more on a loaded machine.
    const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
    const READY_TIMEOUT: Duration = Duration::from_secs(60);
    /// The same server settings as the ephemeral cluster (the image's entrypoint runs
    /// `postgres` with these arguments).
    const SERVER_ARGS: [&str; 14] = [
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=50",
        "-c",
        "max_parallel_maintenance_workers=0",
        "-c",
        "max_locks_per_transaction=1024",
        "-c",
        "TimeZone=UTC",
    ];

    /// The Docker client testcontainers uses, once the daemon answered a ping.
    pub(super) async fn daemon(limit: Duration) -> std::result::Result<Docker, String> {
        let no_answer = || {
            format!(
                "{}: no answer within {} s",
                docker_host_description(),
                limit.as_secs()
            )
        };
        let docker = match tokio::time::timeout(limit, docker_client_instance()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(format!("{}: {e}", docker_host_description())),
            Err(_) => return Err(no_answer()),
        };
        match tokio::time::timeout(limit, docker.ping()).await {
            Ok(Ok(_)) => Ok(docker),
            Ok(Err(e)) => Err(format!("{}: {e}", docker_host_description())),
            Err(_) => Err(no_answer()),
        }
    }

    #[derive(Debug)]
    pub(super) struct Running {
        key: u64,
        label: String,
        container: Option<ContainerAsync<Postgres>>,
        id: String,
        image: ImageRef,
        host: String,
        port: u16,
        version: String,
    }

    impl Running {
        pub(super) async fn start(opts: &ContainerOptions) -> Result<Self> {
            let image = opts.image()?;
            let pull_limit = pull_timeout(std::env::var(PULL_TIMEOUT_ENV).ok().as_deref())?;
            let docker = daemon(DAEMON_TIMEOUT)
                .await
                .map_err(|reason| no_daemon_error(&reason))?;
            for gone in remove_dead_runs(&docker).await {
                errln!(
                    "note: removed container {} left by reims-verify pid {}, which was killed",
                    &gone.id[..gone.id.len().min(12)],
                    gone.pid
                );
            }
            ensure_image(&docker, &image, pull_limit).await?;
            let label = uuid::Uuid::new_v4().to_string();
            // Registered before the container exists: a signal during start-up removes
            // whatever carries the label.
            let leftover = Arc::new(ContainerLeftover::new(label.clone()));
            let key = cleanup::register(leftover.clone());
            let request = Postgres::default()
                .with_host_auth()
                .with_name(image.name.clone())
                .with_tag(image.tag.clone())
                .with_cmd(SERVER_ARGS)
                .with_env_var("PGDATA", PGDATA)
                .with_mount(Mount::tmpfs_mount(TMPFS))
                .with_label(RUN_LABEL, label.clone())
                .with_label(PID_LABEL, std::process::id().to_string())
                .with_label(HOST_LABEL, host_identity())
                .with_startup_timeout(STARTUP_TIMEOUT);
            let container = match request.start().await {
                Ok(c) => c,
                Err(e) => {
                    let entry = RegisteredContainer {
                        label: label.clone(),
                        id: None,
                    };
                    let _ = tokio::time::timeout(DAEMON_TIMEOUT, remove_async(&[entry])).await;
                    cleanup::unregister(key);
                    return Err(start_error(&image, &e));
                }
            };
            let id = container.id().to_string();
            leftover.set_id(&id);
            // From here on, drop removes the container.
            let mut running = Running {
                key,
                label,
                container: Some(container),
                id,
                image,
                host: String::new(),
                port: 0,
                version: String::new(),
            };
            running.locate().await?;
            running.wait_ready().await?;
            Ok(running)
        }

        async fn locate(&mut self) -> Result<()> {
            let c = self.container.as_ref().expect("running container");
            let fail = |e: TestcontainersError| Error::Container {
                message: format!("cannot find the address of container {}: {e}", self.id),
                hint: "check `docker ps` and the daemon's port publishing".into(),
            };
            self.host = c.get_host().await.map_err(fail)?.to_string();
            self.port = c.get_host_port_ipv4(PORT).await.map_err(fail)?;
            Ok(())
        }

        /// Poll until the server behind the published port accepts a connection (the
        /// image restarts the server once after initdb), then read its version.
        async fn wait_ready(&mut self) -> Result<()> {
            let opts = self.connect_options("postgres");
            let deadline = Instant::now() + READY_TIMEOUT;
            loop {
                match PgConnection::connect_with(&opts).await {
                    Ok(mut conn) => {
                        let v: std::result::Result<String, _> =
                            sqlx::query_scalar("SELECT current_setting('server_version')")
                                .fetch_one(&mut conn)
                                .await;
                        let _ = conn.close().await;
                        if let Ok(v) = v {
                            self.version = format!("postgres (PostgreSQL) {v}");
                            return Ok(());
                        }
                    }
                    Err(e) if Instant::now() > deadline => {
                        let logs = match self.container.as_ref() {
                            Some(c) => c.stderr_to_vec().await.unwrap_or_default(),
                            None => Vec::new(),
                        };
                        let logs = String::from_utf8_lossy(&logs);
                        let lines: Vec<&str> = logs.lines().collect();
                        return Err(Error::Container {
                            message: format!(
                                "the server in container {} did not accept connections within \
                                 {} s ({}); its log says:\n{}",
                                self.id,
                                READY_TIMEOUT.as_secs(),
                                crate::error::describe_sqlx_error(&e),
                                lines[lines.len().saturating_sub(15)..].join("\n")
                            ),
                            hint: format!(
                                "check that the image {} is a PostgreSQL image, and the \
                                 daemon's resources",
                                self.image
                            ),
                        });
                    }
                    Err(_) => {}
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        pub(super) fn image(&self) -> &ImageRef {
            &self.image
        }

        pub(super) fn id(&self) -> &str {
            &self.id
        }

        pub(super) fn version(&self) -> &str {
            &self.version
        }

        pub(super) fn stop(self) {
            drop(self);
        }

        pub(super) fn connect_options(&self, database: &str) -> PgConnectOptions {
            PgConnectOptions::new_without_pgpass()
                .host(&self.host)
                .port(self.port)
                .username(SUPERUSER)
                .password(PASSWORD)
                .database(database)
                .ssl_mode(PgSslMode::Disable)
                .application_name("reims-verify")
                .disable_statement_logging()
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            cleanup::unregister(self.key);
            let Some(container) = self.container.take() else {
                return;
            };
            if tokio::runtime::Handle::try_current().is_ok() {
                // testcontainers removes it (forced, with its volumes).
                drop(container);
            } else {
                // testcontainers' drop needs a runtime; remove it ourselves instead.
                std::mem::forget(container);
                super::remove_registered(&[RegisteredContainer {
                    label: self.label.clone(),
                    id: Some(self.id.clone()),
                }]);
            }
        }
    }

    /// Map a testcontainers start failure to an error with the right next step.
    pub(super) fn start_error(image: &ImageRef, e: &TestcontainersError) -> Error {
        match e {
            TestcontainersError::Client(ClientError::Init(_)) => {
                no_daemon_error(&format!("{}: {e}", docker_host_description()))
            }
            TestcontainersError::Client(ClientError::PullImage { .. }) => {
                crate::postgres::container_image::missing_image_error(
                    image,
                    &format!("pulling it failed: {e}"),
                )
            }
            _ => Error::Container {
                message: format!("cannot start a container from {image}: {e}"),
                hint: "check `docker info` and the daemon's logs; or use the default ephemeral \
                       backend (--backend ephemeral), or --database-url URL"
                    .into(),
            },
        }
    }

    /// Remove each entry's container and whatever carries its label; true once none is
    /// left. A removal the daemon reports as already under way (409, from the run's own
    /// error path racing a signal) or a container still being created is not taken on
    /// trust: the daemon is asked again until the label and the id are gone. The caller
    /// bounds the whole in time.
    async fn remove_async(entries: &[RegisteredContainer]) -> bool {
        let Ok(docker) = docker_client_instance().await else {
            return false;
        };
        remove_with(&docker, entries).await
    }

    /// [`remove_async`] through a given client (a test hands it one of its own).
    pub(super) async fn remove_with(docker: &Docker, entries: &[RegisteredContainer]) -> bool {
        for entry in entries {
            loop {
                match remove_entry_once(docker, entry).await {
                    Pass::Gone => break,
                    Pass::Pending => tokio::time::sleep(Duration::from_millis(100)).await,
                    // The daemon does not answer: the CLI fallback gets its turn.
                    Pass::Unreachable => return false,
                }
            }
        }
        true
    }

    /// What one pass of [`remove_entry_once`] found.
    enum Pass {
        /// Nothing carries the entry's label or id.
        Gone,
        /// Removals were asked for; look again.
        Pending,
        /// The daemon did not answer (not an error response: no response).
        Unreachable,
    }

    /// One pass over an entry: list what carries its label (and its id), and ask for the
    /// removal of each.
    async fn remove_entry_once(docker: &Docker, entry: &RegisteredContainer) -> Pass {
        use testcontainers::bollard::errors::Error as DockerError;
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{RUN_LABEL}={}", entry.label)],
        )]);
        let list = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let mut ids: Vec<String> = match docker.list_containers(Some(list)).await {
            Ok(found) => found.into_iter().filter_map(|c| c.id).collect(),
            Err(DockerError::DockerResponseServerError { .. }) => return Pass::Pending,
            Err(_) => return Pass::Unreachable,
        };
        if let Some(id) = &entry.id {
            match docker.inspect_container(id, None).await {
                Ok(_) => ids.push(id.clone()),
                Err(DockerError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(DockerError::DockerResponseServerError { .. }) => return Pass::Pending,
                Err(_) => return Pass::Unreachable,
            }
        }
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Pass::Gone;
        }
        for id in ids {
            let rm = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            // Whatever the answer (gone, already being removed, refused), the next pass
            // looks again.
            let _ = docker.remove_container(&id, Some(rm)).await;
        }
        Pass::Pending
    }

    /// [`remove_async`] on a private runtime in its own thread (the caller may be a signal
    /// handler, an exit hook, or code outside any runtime), within `limit`.
    pub(super) fn remove_via_api(entries: &[RegisteredContainer], limit: Duration) -> bool {
        let entries = entries.to_vec();
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("reims-verify-container-cleanup".into())
            .spawn(move || {
                let ok = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| {
                        rt.block_on(async {
                            tokio::time::timeout(limit, remove_async(&entries))
                                .await
                                .unwrap_or(false)
                        })
                    })
                    .unwrap_or(false);
                let _ = tx.send(ok);
            });
        spawned.is_ok()
            && rx
                .recv_timeout(limit + Duration::from_secs(1))
                .unwrap_or(false)
    }
}

#[cfg(not(feature = "docker"))]
mod imp {
    //! Without the `docker` feature: a cluster that can never exist.

    use sqlx::postgres::PgConnectOptions;

    use super::{feature_missing_error, ContainerOptions, ImageRef};
    use crate::error::Result;

    #[derive(Debug)]
    pub(super) enum Running {}

    impl Running {
        pub(super) async fn start(opts: &ContainerOptions) -> Result<Self> {
            let _ = opts;
            Err(feature_missing_error())
        }
        pub(super) fn image(&self) -> &ImageRef {
            match *self {}
        }
        pub(super) fn id(&self) -> &str {
            match *self {}
        }
        pub(super) fn version(&self) -> &str {
            match *self {}
        }
        pub(super) fn connect_options(&self, _database: &str) -> PgConnectOptions {
            match *self {}
        }
        pub(super) fn stop(self) {
            match self {}
        }
    }
}

/// The clean-up's retries, against a daemon of the test's own that speaks just enough of the
/// Docker API: the container stays listed until a removal succeeds, and the first removal
/// is answered 409 (removal already in progress).
#[cfg(all(test, feature = "docker"))]
mod removal_against_a_scripted_daemon {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use testcontainers::bollard::{Docker, API_DEFAULT_VERSION};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{imp, RegisteredContainer};

    /// What the scripted daemon saw.
    #[derive(Default)]
    struct Seen {
        lists: AtomicUsize,
        removals: AtomicUsize,
    }

    /// Answer one request: `(status, reason, body)`.
    fn answer(method: &str, path: &str, seen: &Seen) -> (u16, &'static str, String) {
        let removed = seen.removals.load(Ordering::SeqCst) >= 2;
        if method == "DELETE" && path.contains("/containers/abc") {
            if seen.removals.fetch_add(1, Ordering::SeqCst) == 0 {
                (
                    409,
                    "Conflict",
                    r#"{"message":"removal of container abc is already in progress"}"#.into(),
                )
            } else {
                (204, "No Content", String::new())
            }
        } else if method == "GET" && path.contains("/containers/json") {
            seen.lists.fetch_add(1, Ordering::SeqCst);
            let body = if removed { "[]" } else { r#"[{"Id":"abc"}]"# };
            (200, "OK", body.into())
        } else if method == "GET" && path.contains("/containers/abc/json") {
            if removed {
                (
                    404,
                    "Not Found",
                    r#"{"message":"No such container: abc"}"#.into(),
                )
            } else {
                (200, "OK", r#"{"Id":"abc"}"#.into())
            }
        } else {
            (404, "Not Found", r#"{"message":"page not found"}"#.into())
        }
    }

    /// Serve HTTP/1.1 requests (no bodies) on `listener` until the test ends.
    async fn serve(listener: tokio::net::UnixListener, seen: Arc<Seen>) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    buf.drain(..end);
                    let mut first = head.lines().next().unwrap_or_default().split(' ');
                    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
                    let (status, reason, body) = answer(method, path, &seen);
                    let reply = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    #[tokio::test]
    async fn a_removal_already_in_progress_is_asked_about_again_until_the_container_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let seen = Arc::new(Seen::default());
        tokio::spawn(serve(listener, seen.clone()));
        let docker =
            Docker::connect_with_unix(socket.to_str().unwrap(), 5, API_DEFAULT_VERSION).unwrap();
        let entry = RegisteredContainer {
            label: "run-1".into(),
            id: Some("abc".into()),
        };
        let gone =
            tokio::time::timeout(Duration::from_secs(10), imp::remove_with(&docker, &[entry]))
                .await
                .expect("the removal never ended");
        assert!(
            gone,
            "the clean-up gave up while the daemon still listed the container"
        );
        assert_eq!(
            seen.removals.load(Ordering::SeqCst),
            2,
            "one 409, then one removal"
        );
        assert!(
            seen.lists.load(Ordering::SeqCst) >= 3,
            "it must look again after each removal it asked for"
        );
    }

    #[tokio::test]
    async fn a_daemon_that_does_not_answer_hands_over_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("nobody.sock");
        // A socket file that nothing listens on any more.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let docker =
            Docker::connect_with_unix(socket.to_str().unwrap(), 5, API_DEFAULT_VERSION).unwrap();
        let entry = RegisteredContainer {
            label: "run-2".into(),
            id: Some("abc".into()),
        };
        let started = std::time::Instant::now();
        assert!(!imp::remove_with(&docker, &[entry]).await);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    #[test]
    fn feature_missing_is_exit_2_and_says_so() {
        let err = feature_missing_error();
        assert_eq!(err.exit_code(), ExitCode::InvalidInput);
        assert!(err.to_string().contains("lacks"), "{err}");
        assert!(err.to_string().contains("`docker`"), "{err}");
        assert!(err.hint().unwrap().contains("--features docker"));
    }

    #[test]
    fn no_daemon_is_exit_3_with_the_three_ways_out() {
        let err = no_daemon_error("Socket not found: /var/run/docker.sock");
        assert_eq!(err.exit_code(), ExitCode::Database);
        assert!(err.to_string().contains("no Docker daemon"), "{err}");
        assert!(err.to_string().contains("Socket not found"), "{err}");
        let hint = err.hint().unwrap();
        assert!(hint.contains("start Docker"), "{hint}");
        assert!(hint.contains("--backend ephemeral"), "{hint}");
        assert!(hint.contains("--database-url"), "{hint}");
    }

    #[cfg(not(feature = "docker"))]
    #[tokio::test]
    async fn without_the_feature_start_is_the_feature_error() {
        let err = ContainerCluster::start(&ContainerOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::InvalidInput);
        assert!(docker_daemon_status(DAEMON_TIMEOUT).await.is_err());
    }

    #[cfg(feature = "docker")]
    #[test]
    fn client_init_failure_maps_to_no_daemon() {
        use testcontainers::core::client::ClientError;
        let e = testcontainers::TestcontainersError::Client(ClientError::Init(
            testcontainers::bollard::errors::Error::SocketNotFoundError("/nowhere.sock".into()),
        ));
        let err = imp::start_error(
            &ImageRef::parse(crate::postgres::DEFAULT_IMAGE).unwrap(),
            &e,
        );
        assert_eq!(err.exit_code(), ExitCode::Database);
        assert!(err.to_string().contains("no Docker daemon"), "{err}");
        assert!(err.to_string().contains("/nowhere.sock"), "{err}");
        assert!(err.hint().unwrap().contains("start Docker"));
    }

    /// A stand-in `docker` that logs its arguments and lists one labelled container.
    fn fake_docker(dir: &Path) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("docker");
        let log = dir.join("log");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nif [ \"$1\" = ps ]; then echo labelled1; fi\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    #[test]
    fn cli_fallback_removes_by_id_and_by_label() {
        let dir = tempfile::tempdir().unwrap();
        let docker = fake_docker(dir.path());
        let entries = [RegisteredContainer {
            label: "L1".into(),
            id: Some("abc".into()),
        }];
        assert!(remove_via_cli(&docker, &entries, Duration::from_secs(10)));
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(
            log,
            format!("ps -a -q --no-trunc --filter label={RUN_LABEL}=L1\nrm -f -v abc labelled1\n")
        );
    }

    #[test]
    fn removal_without_an_owner_is_bounded() {
        // What the signal handler and the exit hook run. With no daemon both the API and
        // the CLI fail fast; with one, an unknown id and an unused label are no-ops.
        let t = Instant::now();
        remove_registered(&[RegisteredContainer {
            label: uuid::Uuid::new_v4().to_string(),
            id: Some("reims-verify-test-no-such-container".into()),
        }]);
        assert!(t.elapsed() < REMOVE_TIMEOUT * 3, "took {:?}", t.elapsed());
    }

    #[test]
    fn cli_fallback_is_bounded_and_reports_failure() {
        let missing = Path::new("/nonexistent/docker");
        let entries = [RegisteredContainer {
            label: "L".into(),
            id: Some("abc".into()),
        }];
        assert!(!remove_via_cli(missing, &entries, Duration::from_secs(1)));
        let mut slow = Command::new("sleep");
        slow.arg("5");
        let t = Instant::now();
        assert!(run_bounded(slow, Duration::from_millis(200)).is_none());
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
