//! A cluster's start leaves the runtime's thread free while its data directory is made:
//! the catalog read of a handed-over server runs on the same thread as its shadow
//! server's start, and waited out the whole initdb before it ran (1 s of a staging run).
//!
//! A test binary of its own, without libtest's harness, so that it can turn the initdb
//! cache off for its whole process before any other thread exists: a cold initdb takes
//! hundreds of milliseconds, long enough that a runtime it blocks cannot be mistaken for
//! a busy machine's jitter.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use reims_verify::postgres::{ClusterOptions, EphemeralCluster};

fn main() {
    // Set before any other thread exists, so no thread reads the environment meanwhile.
    std::env::set_var("REIMS_VERIFY_NO_CACHE", "1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(a_cluster_start_leaves_the_runtime_free_during_initdb());
    println!("test a_cluster_start_leaves_the_runtime_free_during_initdb ... ok");
}

async fn a_cluster_start_leaves_the_runtime_free_during_initdb() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = ClusterOptions {
        parent_dir: Some(parent.path().to_path_buf()),
        ..Default::default()
    };
    // A task beside the start, on the same thread, that notes the time every 2 ms.
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
    assert!(
        !cluster.timings.from_cache,
        "the cache is off in this process, so initdb ran"
    );
    let initdb = Duration::from_millis(cluster.timings.initdb_ms as u64);
    let mut times = vec![began];
    times.extend(ticks.borrow().iter().copied());
    times.push(ended);
    let longest = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    // Blocked, the ticker misses the whole initdb; free, it misses a few ticks at most.
    assert!(
        longest * 2 < initdb,
        "the runtime's thread was held for {longest:?} of a {initdb:?} initdb: the \
         cluster's set-up ran on it"
    );
    drop(cluster);
}
