//! Where `check` compiles the specs: the shadow's databases on a throw-away server, and the
//! shadow built ahead, on a throw-away server of its own, while the migrations run.
//!
//! Without an entry in the normalised-spec cache (the first run, or any run whose specs
//! changed), compiling the specs is about as much work for PostgreSQL as applying the
//! migrations, and it needs nothing from them. So on a local throw-away server, on a machine
//! of two cores or more, [`Ahead::start`] loads the specs and looks the cache up on a thread
//! of its own while the run's server starts and its migrations run (the migrations need
//! nothing from the specs); on a miss it starts a second server from the same binaries and
//! options and builds the shadow there ([`prebuild`]) while the migrations run on the first.
//!
//! The shadow built ahead is used only when the run's own shadow database, asked after the
//! migrations, says what the second server said before the build ([`ServerState`]): the
//! same version, user, settings, extensions and schemas, and its roles among the run's. A
//! migration that changed any of these (`ALTER SYSTEM` and a reload, say), a build that
//! failed (a spec PostgreSQL refuses, a role the specs name that only the migrations
//! create), or anything else amiss drops it, and the shadow is built after the migrations
//! on the run's own server, as without it: it changes when the shadow is ready, never what
//! it is. It does not run when the file system of the cluster folders has less than 1 GiB
//! free, and `REIMS_VERIFY_NO_SHADOW_AHEAD=1` turns it off.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::error::Result;
use crate::postgres::{Cluster, ClusterBackend, ClusterOptions, Database};
use crate::spec::{load_dir_reporting, SpecSet};
use crate::verify::{look_up_now, prebuild, Lookup, MoreSessions, Prebuilt, ShadowInputs};

/// The database the specs are compiled in, on the run's own throw-away server (or on the
/// shadow's own server when the checked one was handed over, or when it is built ahead).
pub(super) const SHADOW_DB: &str = "reims_verify_shadow";

/// Where the shadow is built again on one session when the build on two fails.
const SHADOW_DB_AGAIN: &str = "reims_verify_shadow_again";

/// The variable that turns the build ahead off.
pub const NO_SHADOW_AHEAD_ENV: &str = "REIMS_VERIFY_NO_SHADOW_AHEAD";

/// What a shadow build on two sessions takes beside its first session: a second session on
/// the shadow's database, and a new empty database to start again in.
pub(super) fn more_sessions(cluster: &Cluster) -> MoreSessions<'_> {
    MoreSessions {
        second: Box::pin(cluster.connect(SHADOW_DB)),
        fresh: Box::new(move || {
            Box::pin(async move {
                cluster.create_database(SHADOW_DB_AGAIN, None).await?;
                cluster.connect(SHADOW_DB_AGAIN).await
            })
        }),
    }
}

/// The specs as the thread loaded them: the set, the warnings the load gave, and when the
/// load began and ended (for the run's `specs` phase).
pub(super) type LoadedSpecs = Result<(Arc<SpecSet>, Vec<String>, Instant, Instant)>;

/// The loading of the specs, the lookup and the build ahead, running on a thread of their
/// own. Dropping it stops the build (its server is stopped and removed) and waits for the
/// thread.
pub(super) struct Ahead {
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<tokio::sync::Notify>,
    answer: Option<tokio::sync::oneshot::Receiver<Answer>>,
}

/// What the thread found.
pub(super) struct Answer {
    /// The version line of the binaries the lookup was keyed on; the answer holds only for
    /// a run server that reports the same.
    pub version: String,
    /// The cache's answer.
    pub lookup: Lookup,
    /// The shadow built ahead, if it was.
    pub built: Option<BuiltAhead>,
}

/// A shadow built ahead, with when its server started and when its build began and ended,
/// for the run's phases.
pub(super) struct BuiltAhead {
    /// The shadow, with its server's state.
    pub prebuilt: Prebuilt,
    /// When the second server began to start (from initdb, or a copy from the initdb cache).
    pub server_started: Instant,
    /// When the build began, its server up and its database made.
    pub build_started: Instant,
    /// When the shadow was built and read back.
    pub done: Instant,
}

impl Ahead {
    /// Start the thread, for a run whose server will be a local throw-away one of `copts`,
    /// where the shadow is built on that server. The thread first loads the specs in
    /// `specs_dir` and sends them back on the receiver it returns, so the run's server starts
    /// and its migrations run meanwhile; then it looks the cache up and may build ahead.
    /// `inputs` is the cache key's input, without the server version, which the thread reads
    /// from the binaries. `None` for another backend, or when the thread cannot start: the
    /// run then loads the specs and looks the cache up itself.
    ///
    /// Call it before anything pins the calling thread to a core ([`crate::postgres::pairing`]):
    /// the thread would inherit that one core.
    pub fn start(
        specs_dir: PathBuf,
        inputs: ShadowInputs,
        copts: &ClusterOptions,
    ) -> Option<(Ahead, tokio::sync::oneshot::Receiver<LoadedSpecs>)> {
        if !matches!(copts.backend, ClusterBackend::Ephemeral) {
            return None;
        }
        let copts = copts.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (specs_tx, specs_rx) = tokio::sync::oneshot::channel();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("reims-verify-shadow-ahead".into())
            .spawn(move || {
                let started = Instant::now();
                let loaded = load_dir_reporting(&specs_dir)
                    .map(|(set, warnings)| (Arc::new(set), warnings, started, Instant::now()));
                let specs = loaded.as_ref().ok().map(|(set, ..)| set.clone());
                let _ = specs_tx.send(loaded);
                let Some(specs) = specs else { return };
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(look_up_and_build(specs, inputs, copts, stopped, tx));
            })
            .ok()?;
        Some((
            Ahead {
                thread: Some(thread),
                stop,
                answer: Some(rx),
            },
            specs_rx,
        ))
    }

    /// The thread's answer, once it has one; `None` when it has none to give (the binaries'
    /// version could not be read, the thread ended early, or this was asked before).
    pub async fn answer(&mut self) -> Option<Answer> {
        self.answer.take()?.await.ok()
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How much room the file system of the cluster folders must have free for a second
/// server: its folder (about 40 MB after initdb) and the shadow in it must never take the
/// room the run's own server needs (a container's `/dev/shm` is 64 MB by default).
const ROOM_FOR_AHEAD: u64 = 1 << 30;

/// Why a run with `copts` would not build the shadow ahead, or `None` when it would: not
/// turned off, a second core to run it on, and room for a second server beside the run's.
/// The run decides by it, and tests that need the build ahead ask it why they skip.
pub fn why_not_ahead(copts: &ClusterOptions) -> Option<String> {
    if std::env::var_os(NO_SHADOW_AHEAD_ENV).is_some() {
        return Some(format!("{NO_SHADOW_AHEAD_ENV} turns the build ahead off"));
    }
    if !std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2) {
        return Some("the shadow is built ahead only on a machine of two cores or more".into());
    }
    match Cluster::free_space_for(copts) {
        Some(free) if free >= ROOM_FOR_AHEAD => None,
        Some(free) => Some(format!(
            "the shadow is built ahead only with 1 GiB free where the clusters go, and there \
             are {free} bytes"
        )),
        None => Some(
            "the shadow is built ahead only on a local throw-away server whose folder's free \
             room can be read"
                .into(),
        ),
    }
}

/// The thread's work: the lookup, then on a miss the build on a server of its own. The
/// answer goes back before that server is stopped, which then happens on this thread.
async fn look_up_and_build(
    specs: Arc<SpecSet>,
    inputs: ShadowInputs,
    copts: ClusterOptions,
    stop: Arc<tokio::sync::Notify>,
    answer: tokio::sync::oneshot::Sender<Answer>,
) {
    let Ok(Some(version)) = Cluster::binaries_version(&copts) else {
        return;
    };
    let inputs = ShadowInputs {
        server_version: version.clone(),
        ..inputs
    };
    let lookup = look_up_now(&specs, &inputs);
    if !(lookup.misses() && why_not_ahead(&copts).is_none()) {
        let _ = answer.send(Answer {
            version,
            lookup,
            built: None,
        });
        return;
    }
    let built = tokio::select! {
        biased;
        _ = stop.notified() => None,
        built = build_on_own_server(&copts, &specs) => built,
    };
    let (built, server) = match built {
        Some((built, server)) => (Some(built), Some(server)),
        None => (None, None),
    };
    let _ = answer.send(Answer {
        version,
        lookup,
        built,
    });
    drop(server);
}

/// Start a server of `copts`, build the shadow in an empty database of it on two sessions,
/// and give back both; `None` when anything failed (the server, if it started, is gone).
async fn build_on_own_server(
    copts: &ClusterOptions,
    specs: &SpecSet,
) -> Option<(BuiltAhead, Cluster)> {
    let server_started = Instant::now();
    let server = Cluster::start(copts).await.ok()?;
    server.create_database(SHADOW_DB, None).await.ok()?;
    let mut conn = server.connect(SHADOW_DB).await.ok()?;
    let build_started = Instant::now();
    let built = prebuild(&mut conn, Some(more_sessions(&server)), specs).await;
    Database::close(conn).await;
    let built = BuiltAhead {
        prebuilt: built.ok()?,
        server_started,
        build_started,
        done: Instant::now(),
    };
    Some((built, server))
}
