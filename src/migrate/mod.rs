//! Migrations: discover the files, checksum them, decide how each runs, and apply them
//! under an advisory lock, each in a fresh session, recording what stays in
//! `schema_migrations` and every attempt in `reims_verify.migration_attempts`.

mod attempts;
mod discover;
mod execute;
mod failure;
mod history;
mod interrupt;
mod lock;
mod plan;
mod record;
mod runner;
pub(crate) mod scan;
mod session;

pub use attempts::{read_attempts, Attempt, ATTEMPTS_SCHEMA};
pub use discover::{checksum, discover, scan_dir, Discovery, MigrationFile};
pub use history::{
    history_shape_problem, read_history, status_of, AppliedMigration, MigrationStatus, StatusRow,
    TableSetup, SEED_TABLE,
};
pub use lock::{parse_duration, show_duration, ADVISORY_LOCK_KEY, DEFAULT_LOCK_WAIT};
pub use plan::{opts_out, plan, TransactionMode, NO_TRANSACTION_MARKER};
pub use runner::{
    apply, AppliedStep, ApplyMode, ApplyOptions, ApplyReport, DEFAULT_STATEMENT_TIMEOUT,
};
pub use scan::{statements, Statement};
pub use session::SessionSource;
