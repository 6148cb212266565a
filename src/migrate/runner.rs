//! Applying migrations: one transaction each, under `pg_advisory_lock`, every attempt
//! recorded; the first failure is rolled back completely, recorded, and stops the run.

use std::time::Instant;

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};
use sqlx::{Connection, PgConnection};

use super::discover::MigrationFile;
use super::history::{read_history, status_of, MigrationStatus, CREATE_TABLE};
use crate::error::{Error, Result, SourceLocation};

/// The advisory-lock key that keeps two runners from interleaving (ASCII "reimsver").
pub const ADVISORY_LOCK_KEY: i64 = 0x7265_696d_7376_6572;

/// Which migrations to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyMode {
    /// Every pending (or previously failed) migration, in order.
    All,
    /// One migration, by file name or version number.
    One(String),
}

/// What happened to one migration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppliedStep {
    /// The file name.
    pub name: String,
    /// `applied`, `reapplied` or `skipped`.
    pub action: &'static str,
    /// Time spent applying, in milliseconds.
    pub millis: u128,
}

/// The outcome of a successful run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    /// One entry per migration considered.
    pub steps: Vec<AppliedStep>,
    /// Names recorded as applied that are not in the folder (reported, not an error).
    pub unknown: Vec<String>,
}

/// Apply migrations on `conn`. `force` re-applies a named migration that is already
/// applied, and accepts (re-applies) migrations whose checksum changed.
pub async fn apply(
    conn: &mut PgConnection,
    files: &[MigrationFile],
    mode: &ApplyMode,
    force: bool,
) -> Result<ApplyReport> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("taking the migration advisory lock", &e))?;
    let result = apply_locked(conn, files, mode, force).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .execute(&mut *conn)
        .await;
    result
}

async fn apply_locked(
    conn: &mut PgConnection,
    files: &[MigrationFile],
    mode: &ApplyMode,
    force: bool,
) -> Result<ApplyReport> {
    sqlx::raw_sql(CREATE_TABLE)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("creating schema_migrations", &e))?;
    let history = read_history(conn).await?.unwrap_or_default();
    let statuses = status_of(files, &history);
    let mut report = ApplyReport {
        unknown: statuses
            .iter()
            .filter(|s| s.status == MigrationStatus::Unknown)
            .map(|s| s.name.clone())
            .collect(),
        ..Default::default()
    };
    let selected: Vec<&MigrationFile> = match mode {
        ApplyMode::All => files.iter().collect(),
        ApplyMode::One(wanted) => vec![find_one(files, wanted)?],
    };
    if !force {
        if let Some(changed) = statuses.iter().find(|s| {
            s.status == MigrationStatus::Changed && selected.iter().any(|f| f.name == s.name)
        }) {
            let file = files
                .iter()
                .find(|f| f.name == changed.name)
                .expect("from files");
            return Err(Error::Migration {
                location: SourceLocation { file: file.path.clone(), line: None, column: None },
                message: format!(
                    "{} was applied with checksum {} but the file now has checksum {}",
                    file.name,
                    changed.applied_checksum.as_deref().unwrap_or("?"),
                    file.checksum
                ),
                hint: "an applied migration must not change: restore the file and add a new migration, or re-apply it with --force".into(),
                input_error: true,
            });
        }
    }
    for file in selected {
        let status = statuses
            .iter()
            .find(|s| s.name == file.name)
            .map(|s| s.status)
            .unwrap_or(MigrationStatus::Pending);
        let explicit = matches!(mode, ApplyMode::One(_));
        let action = match status {
            MigrationStatus::Applied if !(force && explicit) => {
                report.steps.push(AppliedStep {
                    name: file.name.clone(),
                    action: "skipped",
                    millis: 0,
                });
                continue;
            }
            MigrationStatus::Applied | MigrationStatus::Changed => "reapplied",
            _ => "applied",
        };
        let started = Instant::now();
        apply_one(conn, file).await?;
        report.steps.push(AppliedStep {
            name: file.name.clone(),
            action,
            millis: started.elapsed().as_millis(),
        });
    }
    Ok(report)
}

fn find_one<'a>(files: &'a [MigrationFile], wanted: &str) -> Result<&'a MigrationFile> {
    files
        .iter()
        .find(|f| {
            f.name == wanted
                || f.name.strip_suffix(".sql") == Some(wanted)
                || wanted.parse::<u64>().ok() == Some(f.version)
        })
        .ok_or_else(|| Error::Usage {
            message: format!("no migration named {wanted}"),
            hint: "run `reims-verify migrate --list` to see the names".into(),
        })
}

const RECORD: &str =
    "INSERT INTO schema_migrations (migration_name, applied_at, success, error_message, checksum)
     VALUES ($1, CURRENT_TIMESTAMP, $2, $3, $4)
     ON CONFLICT (migration_name) DO UPDATE
        SET applied_at = EXCLUDED.applied_at, success = EXCLUDED.success,
            error_message = EXCLUDED.error_message, checksum = EXCLUDED.checksum";

async fn apply_one(conn: &mut PgConnection, file: &MigrationFile) -> Result<()> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| Error::database(format!("starting the transaction for {}", file.name), &e))?;
    let outcome = sqlx::raw_sql(&file.sql).execute(&mut *tx).await;
    match outcome {
        Ok(_) => {
            sqlx::query(RECORD)
                .bind(&file.name)
                .bind(true)
                .bind(None::<String>)
                .bind(&file.checksum)
                .execute(&mut *tx)
                .await
                .map_err(|e| Error::database(format!("recording {}", file.name), &e))?;
            tx.commit()
                .await
                .map_err(|e| Error::database(format!("committing {}", file.name), &e))?;
            Ok(())
        }
        Err(err) => {
            let _ = tx.rollback().await;
            let failure = describe_failure(file, &err);
            // Record the failed attempt in its own transaction: the migration left nothing.
            let _ = sqlx::query(RECORD)
                .bind(&file.name)
                .bind(false)
                .bind(Some(failure.message.clone()))
                .bind(&file.checksum)
                .execute(&mut *conn)
                .await;
            Err(Error::Migration {
                location: failure.location,
                message: failure.message,
                hint: failure.hint,
                input_error: false,
            })
        }
    }
}

struct Failure {
    location: SourceLocation,
    message: String,
    hint: String,
}

fn describe_failure(file: &MigrationFile, err: &sqlx::Error) -> Failure {
    let mut location = SourceLocation {
        file: file.path.clone(),
        line: None,
        column: None,
    };
    let mut message = crate::error::describe_sqlx_error(err);
    let mut hint = format!(
        "{} was rolled back completely and recorded as failed in schema_migrations; fix it and run migrate again",
        file.name
    );
    if let sqlx::Error::Database(db) = err {
        if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
            match pg.position() {
                Some(PgErrorPosition::Original(pos)) => {
                    let (line, col) = line_col(&file.sql, pos);
                    location.line = Some(line);
                    location.column = Some(col);
                }
                Some(PgErrorPosition::Internal { position, query }) => {
                    message.push_str(&format!(" (in internal query `{query}` at {position})"));
                }
                None => {}
            }
            if let Some(detail) = pg.detail() {
                message.push_str(&format!("; {detail}"));
            }
            if let Some(where_) = pg.r#where() {
                message.push_str(&format!(" [{}]", where_.replace('\n', "; ")));
                if location.line.is_none() {
                    if let Some(line) = plpgsql_line(where_) {
                        // The line is relative to the function body; still a useful pointer.
                        message.push_str(&format!(" (function body line {line})"));
                    }
                }
            }
            if let Some(h) = pg.hint() {
                hint = format!("{h}; {hint}");
            }
        }
    }
    Failure {
        location,
        message,
        hint,
    }
}

/// Turn PostgreSQL's 1-based character position into a 1-based line and column.
pub(crate) fn line_col(text: &str, position: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in text.chars().enumerate() {
        if i + 1 >= position {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn plpgsql_line(where_: &str) -> Option<usize> {
    let idx = where_.find("line ")?;
    where_[idx + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_to_lines_and_columns() {
        let sql = "SELECT 1;\nSELEC 2;\n";
        assert_eq!(line_col(sql, 1), (1, 1));
        assert_eq!(line_col(sql, 11), (2, 1));
        assert_eq!(line_col(sql, 13), (2, 3));
    }

    #[test]
    fn plpgsql_context_line_is_found() {
        assert_eq!(
            plpgsql_line("PL/pgSQL function f() line 4 at RAISE"),
            Some(4)
        );
        assert_eq!(plpgsql_line("SQL statement"), None);
    }
}
