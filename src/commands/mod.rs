//! One module per subcommand: each turns parsed arguments into work and an exit code.

mod check;
mod migrate;
mod output;
mod spec;

pub use check::{gather, run_check};
pub use migrate::run_migrate;
pub use output::Output;
pub use spec::{run_spec, spec_json_schema};

use crate::cli::DatabaseArgs;
use crate::postgres::ClusterOptions;

/// Cluster options from the command line.
pub(crate) fn cluster_options(db: &DatabaseArgs) -> ClusterOptions {
    ClusterOptions {
        bindir: db.pg_bindir.clone(),
        os_user: db.pg_user.clone(),
        parent_dir: None,
    }
}
