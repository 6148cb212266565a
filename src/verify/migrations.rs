//! The migration inventory as findings: every file in the folder must be applied with the
//! checksum it has now, and nothing may be recorded as applied that the folder lacks.

use super::{Finding, Status};
use crate::error::SourceLocation;
use crate::migrate::{MigrationStatus, StatusRow};

/// One finding per migration (file or history row), and a `migration.checksum` skip for
/// an applied file whose row has no checksum (written by another runner): that it is
/// applied holds, whether it changed since cannot be told.
pub fn verify_migrations(rows: &[StatusRow], dir: &std::path::Path) -> Vec<Finding> {
    let mut out: Vec<Finding> = rows
        .iter()
        .map(|r| {
            let (code, status, message, hint) = match r.status {
                MigrationStatus::Applied if r.applied_checksum.is_none() => ("migration.applied", Status::Pass, format!("{} is applied", r.name), None),
                MigrationStatus::Applied => ("migration.applied", Status::Pass, format!("{} is applied and unchanged", r.name), None),
                MigrationStatus::Pending => (
                    "migration.pending",
                    Status::Fail,
                    format!("{} is in the folder but not applied", r.name),
                    Some("apply it (`reims-verify migrate --all`), or remove it from the folder"),
                ),
                MigrationStatus::Failed => (
                    "migration.failed",
                    Status::Fail,
                    format!("{} was attempted and failed: {}", r.name, r.error_message.as_deref().unwrap_or("no error recorded")),
                    Some("fix the migration and apply it again"),
                ),
                MigrationStatus::Changed => (
                    "migration.checksum",
                    Status::Fail,
                    format!("{} changed after it was applied", r.name),
                    Some("restore the applied version of the file and put the change in a new migration"),
                ),
                MigrationStatus::Unknown => (
                    "migration.unknown",
                    Status::Fail,
                    format!("{} is recorded as applied but is not in the folder", r.name),
                    Some("add the file to the migrations folder, or find out who applied it"),
                ),
            };
            let on_disk = r.file_checksum.is_some();
            Finding {
                repro: None,
                code,
                table: "migrations".into(),
                object: r.name.as_str().into(),
                status,
                expected: match r.status {
                    MigrationStatus::Changed => r.file_checksum.as_deref().map(Into::into),
                    MigrationStatus::Unknown => Some("not recorded".into()),
                    _ => Some("applied".into()),
                },
                actual: match r.status {
                    MigrationStatus::Changed => r.applied_checksum.as_deref().map(Into::into),
                    MigrationStatus::Applied | MigrationStatus::Unknown => Some("applied".into()),
                    MigrationStatus::Pending => Some("not applied".into()),
                    MigrationStatus::Failed => Some("failed".into()),
                },
                message,
                location: on_disk.then(|| SourceLocation { file: dir.join(&r.name), line: None, column: None }),
                requirements: vec![],
                hint: hint.map(str::to_string),
            }
        })
        .collect();
    for r in rows
        .iter()
        .filter(|r| r.status == MigrationStatus::Applied && r.applied_checksum.is_none())
    {
        out.push(Finding {
            repro: None,
            code: "migration.checksum",
            table: "migrations".into(),
            object: r.name.as_str().into(),
            status: Status::Skip,
            expected: r.file_checksum.as_deref().map(Into::into),
            actual: Some("no checksum recorded".into()),
            message: format!(
                "{} is recorded without a checksum (a row another runner wrote): whether the file changed since it was applied cannot be told",
                r.name
            ),
            location: Some(SourceLocation {
                file: dir.join(&r.name),
                line: None,
                column: None,
            }),
            requirements: vec![],
            hint: Some(
                "`reims-verify migrate` records checksums for the files it applies; a row adopted from another runner keeps none"
                    .into(),
            ),
        });
    }
    out
}

/// The one finding for a history table of another shape than the runner keeps: which of
/// the `files` migrations are applied cannot be told, so none is judged (the table's own
/// columns are compared with its spec like any table's).
pub fn unreadable_history(why: &str, files: usize) -> Finding {
    Finding {
        repro: None,
        code: "migration.applied",
        table: "migrations".into(),
        object: "schema_migrations".into(),
        status: Status::Skip,
        expected: Some("the runner's history table".into()),
        actual: Some(why.into()),
        message: format!(
            "schema_migrations is not in the shape reims-verify keeps ({why}): which of the {files} migration(s) are applied cannot be told"
        ),
        location: None,
        requirements: vec![],
        hint: Some(
            "check a database migrated by reims-verify (or by the seed runner, whose table it adopts); another runner's history is not read"
                .into(),
        ),
    }
}
