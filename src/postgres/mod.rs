//! Where a database comes from: an ephemeral local cluster, a container (`--backend
//! docker`), or a URL the user hands over.

mod backend;
mod bindir;
mod cleanup;
mod cluster;
mod container;
#[cfg(feature = "docker")]
mod container_image;
mod database;
mod ephemeral;
mod folder;
mod initdb_cache;
mod install;
mod options;
mod owner;
pub mod pairing;
mod reaper;
mod releases;
mod shm;
mod spawn;
#[cfg(feature = "docker")]
mod stale_containers;
mod target;

pub use backend::{connect_bounded, ServerBackend, CONNECT_TIMEOUT};
pub use bindir::{
    candidates, find_bindir, find_bindir_of_major, major_of, parse_registered, BinDir,
    BinDirSource, Candidate, BINDIRS_ENV, BINDIR_ENV,
};
pub use cleanup::{
    cleanup_all, install_signal_handlers, interrupted, register_interrupt_hook,
    unregister_interrupt_hook, InterruptHook, TERMINATION_SIGNALS,
};
pub use cluster::Cluster;
pub use container::{
    docker_daemon_status, feature_missing_error, no_daemon_error, ContainerCluster,
    ContainerOptions, ImageRef, DAEMON_TIMEOUT, DEFAULT_IMAGE, FEATURE_ENABLED as DOCKER_FEATURE,
    HOST_LABEL, IMAGE_ENV, PID_LABEL, PULL_TIMEOUT_ENV, RUN_LABEL,
};
pub use database::{server_major, Database, ServerSettings, Teardown, EPHEMERAL_DB};
pub use ephemeral::{ClusterTimings, EphemeralCluster};
pub use install::{
    install, installed_bindir, installed_package, integrity_of, pg_home, Installed, TarballSource,
    PG_HOME_ENV,
};
pub use options::{ClusterBackend, ClusterOptions};
pub use releases::{
    release, supported_majors, Release, DEFAULT_REGISTRY, NPM_PACKAGE, REGISTRY_ENV, RELEASES,
};
pub use target::{redact_url, DatabaseUrl};
