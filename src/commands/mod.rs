//! One module per subcommand: each turns parsed arguments into work and an exit code.

mod check;
mod migrate;
mod output;
mod pg;
mod report;
mod shadow_server;
mod snapshot;
mod spec;

pub use check::{gather, run_check};
pub use migrate::run_migrate;
pub use output::Output;
pub use pg::run_pg;
pub use report::run_report;
pub use shadow_server::{why_not_ahead, NO_SHADOW_AHEAD_ENV};
pub use snapshot::run_snapshot;
pub use spec::{run_spec, spec_json_schema};

use crate::cli::{Backend, DatabaseArgs};
use crate::postgres::{ClusterBackend, ClusterOptions, ContainerOptions};

/// Cluster options from the command line, including the backend (`--backend`,
/// `REIMS_VERIFY_BACKEND`). The container image comes from `REIMS_VERIFY_DOCKER_IMAGE` or
/// the pinned default.
pub(crate) fn cluster_options(db: &DatabaseArgs) -> ClusterOptions {
    ClusterOptions {
        bindir: db.pg_bindir.clone(),
        os_user: db.pg_user.clone(),
        parent_dir: None,
        backend: cluster_backend(db.backend),
        major: None,
    }
}

/// The throw-away server `--backend` asks for.
pub(crate) fn cluster_backend(backend: Backend) -> ClusterBackend {
    match backend {
        Backend::Ephemeral => ClusterBackend::Ephemeral,
        Backend::Docker => ClusterBackend::Docker(ContainerOptions::default()),
    }
}

/// Behaviour on a handed-over server, from the command line. `read_only` is the
/// command's to decide: `check` never writes, `migrate` must.
pub(crate) fn server_settings(
    db: &DatabaseArgs,
    read_only: bool,
) -> crate::postgres::ServerSettings {
    crate::postgres::ServerSettings {
        connect_timeout: std::time::Duration::from_secs(db.connect_timeout),
        statement_timeout: db.statement_timeout.clone(),
        lock_timeout: db.lock_timeout.clone(),
        read_only,
    }
}

/// How migrations run, from the command line: `--statement-timeout` bounds every migration
/// statement, on a throw-away server too.
pub(crate) fn apply_options(
    db: &DatabaseArgs,
    force: bool,
    lock_wait: std::time::Duration,
) -> crate::migrate::ApplyOptions {
    crate::migrate::ApplyOptions {
        force,
        statement_timeout: db.statement_timeout.clone(),
        lock_wait,
    }
}
