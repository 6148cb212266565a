//! A cluster's start leaves the runtime's thread free while its data directory is made:
//! the catalog read of a handed-over server runs on the same thread as its shadow
//! server's start, and waited out the whole initdb before it ran (1 s of a staging run).
//!
//! A test binary of its own, without libtest's harness, so that it can point the initdb
//! cache at a folder of its own for its whole process before any other thread exists: a
//! cold initdb takes hundreds of milliseconds, long enough that a runtime it blocks cannot
//! be mistaken for a busy machine's jitter. The first start finds the cache empty and runs
//! initdb; the second finds an entry the server refuses and runs initdb again.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reims_verify::postgres::{ClusterOptions, EphemeralCluster};

#[path = "common/cache_entry.rs"]
mod cache_entry;

fn main() {
    let cache = tempfile::tempdir().unwrap();
    // Set before any other thread exists, so no thread reads the environment meanwhile.
    std::env::remove_var("REIMS_VERIFY_NO_CACHE");
    std::env::set_var("REIMS_VERIFY_CACHE_DIR", cache.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let initdb = runtime.block_on(a_cluster_start_leaves_the_runtime_free_during_initdb());
    println!("test a_cluster_start_leaves_the_runtime_free_during_initdb ... ok");
    runtime.block_on(
        a_start_from_a_refused_cache_entry_leaves_the_runtime_free_during_its_initdb(
            cache.path(),
            initdb,
        ),
    );
    println!(
        "test a_start_from_a_refused_cache_entry_leaves_the_runtime_free_during_its_initdb ... ok"
    );
}

/// A cluster folder's parent the server's OS user may enter.
fn parent() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    parent
}

/// Start a cluster in `parent` while a task on the same thread notes the time every 2 ms;
/// the cluster, and the longest the thread went without a tick.
async fn start_beside_a_ticker(parent: &Path) -> (EphemeralCluster, Duration) {
    let opts = ClusterOptions {
        parent_dir: Some(parent.to_path_buf()),
        ..Default::default()
    };
    let ticks = RefCell::new(Vec::new());
    let ticker = async {
        loop {
            tokio::time::sleep(Duration::from_millis(2)).await;
            ticks.borrow_mut().push(Instant::now());
        }
    };
    let began = Instant::now();
    let cluster = tokio::select! {
        started = EphemeralCluster::start(&opts) => started.unwrap(),
        () = ticker => unreachable!("the ticker never ends"),
    };
    let ended = Instant::now();
    let mut times = vec![began];
    times.extend(ticks.borrow().iter().copied());
    times.push(ended);
    let longest = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    (cluster, longest)
}

/// The first start: the cache is empty, so initdb runs (and fills it). Returns how long
/// initdb took.
async fn a_cluster_start_leaves_the_runtime_free_during_initdb() -> Duration {
    let parent = parent();
    let (cluster, longest) = start_beside_a_ticker(parent.path()).await;
    assert!(
        !cluster.timings.from_cache,
        "the cache is empty, so initdb ran"
    );
    let initdb = Duration::from_millis(cluster.timings.initdb_ms as u64);
    // Blocked, the ticker misses the whole initdb; free, it misses a few ticks at most.
    assert!(
        longest * 2 < initdb,
        "the runtime's thread was held for {longest:?} of a {initdb:?} initdb: the \
         cluster's set-up ran on it"
    );
    drop(cluster);
    initdb
}

/// The entry the first start stored, made one the server refuses: `pg_control` overwritten
/// and the manifest re-signed to match, so that only the server can tell. The start
/// restores it, the server will not start, and initdb runs again; that initdb must leave
/// the thread free too. `initdb` is how long the first start's initdb took.
async fn a_start_from_a_refused_cache_entry_leaves_the_runtime_free_during_its_initdb(
    cache: &Path,
    initdb: Duration,
) {
    let refused = cache_entry::make_refused(&only_entry(cache));

    let parent = parent();
    let (cluster, longest) = start_beside_a_ticker(parent.path()).await;
    // The refused entry was restored, then replaced by the new initdb's.
    assert!(
        !cluster.timings.from_cache,
        "the server refused the entry, so initdb ran again"
    );
    let stored = std::fs::read(only_entry(cache).join("data/global/pg_control")).unwrap();
    assert_ne!(stored, refused, "the refused entry is still in the cache");
    assert!(
        longest * 2 < initdb,
        "the runtime's thread was held for {longest:?} when a first initdb took {initdb:?}: \
         the initdb after a refused cache entry ran on it"
    );
    drop(cluster);
}

/// The one initdb-cache entry in `cache`.
fn only_entry(cache: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("initdb-"))
        })
        .collect();
    assert_eq!(entries.len(), 1, "one initdb entry: {entries:?}");
    entries[0].clone()
}
