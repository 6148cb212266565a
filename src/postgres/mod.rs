//! Where a database comes from: an ephemeral local cluster, a container (`--backend
//! docker`), or a URL the user hands over.

mod bindir;
mod cleanup;
mod cluster;
mod container;
mod database;
mod ephemeral;
mod initdb_cache;
mod spawn;
mod target;

pub use bindir::{find_bindir, BinDir};
pub use cleanup::{
    cleanup_all, install_signal_handlers, interrupted, register_interrupt_hook,
    unregister_interrupt_hook, InterruptHook,
};
pub use cluster::{Cluster, ClusterBackend};
pub use container::{
    docker_daemon_status, feature_missing_error, no_daemon_error, ContainerCluster,
    ContainerOptions, ImageRef, DAEMON_TIMEOUT, DEFAULT_IMAGE, FEATURE_ENABLED as DOCKER_FEATURE,
    IMAGE_ENV, PID_LABEL, RUN_LABEL,
};
pub use database::{Database, ServerSettings, CONNECT_TIMEOUT, EPHEMERAL_DB};
pub use ephemeral::{ClusterOptions, ClusterTimings, EphemeralCluster};
pub use target::{redact_url, DatabaseUrl};
