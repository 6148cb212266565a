//! Migrations: discover the files, checksum them, and apply them one transaction each under
//! an advisory lock, recording every attempt in `schema_migrations`.

mod discover;
mod history;
mod runner;

pub use discover::{checksum, discover, MigrationFile};
pub use history::{read_history, status_of, AppliedMigration, MigrationStatus, StatusRow};
pub use runner::{apply, AppliedStep, ApplyMode, ApplyReport, ADVISORY_LOCK_KEY};
