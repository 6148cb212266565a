//! Where a database comes from: an ephemeral local cluster, a container (`--backend
//! docker`), or a URL the user hands over.

mod backend;
mod bindir;
mod cleanup;
mod cluster;
mod container;
#[cfg(feature = "docker")]
mod container_image;
mod container_labels;
mod copied_settings;
mod database;
mod ephemeral;
mod folder;
mod image_ref;
mod initdb_cache;
mod install;
mod options;
mod owner;
pub mod pairing;
mod pg_home;
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
    ContainerOptions, DAEMON_TIMEOUT, FEATURE_ENABLED as DOCKER_FEATURE,
};
pub use container_labels::{HOST_LABEL, PID_LABEL, RUN_LABEL};
pub use database::{server_major, Database, ServerSettings, Teardown, EPHEMERAL_DB};
pub use ephemeral::{ClusterTimings, EphemeralCluster};
pub use image_ref::{ImageRef, DEFAULT_IMAGE, IMAGE_ENV, PULL_TIMEOUT_ENV};
pub use install::{
    install, installed_bindir, installed_package, integrity_of, Installed, TarballSource,
};
pub use options::{ClusterBackend, ClusterOptions};
pub use pg_home::{pg_home, PG_HOME_ENV};
pub use releases::{
    release, supported_majors, Release, DEFAULT_REGISTRY, NPM_PACKAGE, REGISTRY_ENV, RELEASES,
};
pub use target::{redact_url, DatabaseUrl};
