//! `reims_verify.migration_attempts`: a log of every attempt to apply a migration, kept
//! beside `schema_migrations` so that a failed re-apply is on record without touching the
//! success row that says what the database holds. It lives in a schema of its own, so the
//! checked schema (`public`) gains no table.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::plan::TransactionMode;
use crate::error::{Error, Result};

/// The schema of the attempt log, which `migrate` (and `check`'s migrations) create in the
/// migrated database: the tool's own, never a finding while it holds only the log.
pub const ATTEMPTS_SCHEMA: &str = "reims_verify";

const CREATE: &str = "BEGIN;
CREATE SCHEMA IF NOT EXISTS reims_verify;
COMMENT ON SCHEMA reims_verify IS 'Bookkeeping of reims-verify migrate.';
CREATE TABLE IF NOT EXISTS reims_verify.migration_attempts (
    id             bigserial PRIMARY KEY,
    migration_name text NOT NULL,
    checksum       text NOT NULL,
    action         text NOT NULL,
    in_transaction boolean NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at    timestamptz,
    outcome        text,
    partial        boolean NOT NULL DEFAULT false,
    error_message  text,
    backend_pid    integer,
    tool_version   text
);
COMMENT ON TABLE reims_verify.migration_attempts IS 'One row per attempt to apply a migration file, whatever its outcome. outcome is applied, failed or interrupted (NULL while it runs, or when the run was killed); partial means a file that runs without a transaction failed after some of its statements had committed. public.schema_migrations stays the record of what is applied.';
COMMIT;";

/// The attempt log, when this database has (or could be given) one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptLog;

impl AttemptLog {
    /// Make sure the log exists. `Ok(None)` with a warning when the role may not create it:
    /// attempts then go unlogged, and `schema_migrations` is written as before.
    pub async fn prepare(conn: &mut PgConnection) -> Result<Option<AttemptLog>> {
        if exists(conn).await? {
            return Ok(Some(AttemptLog));
        }
        match sqlx::raw_sql(CREATE).execute(&mut *conn).await {
            Ok(_) => Ok(Some(AttemptLog)),
            Err(e) if is_permission(&e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                errln!(
                    "warning: cannot create reims_verify.migration_attempts ({}): attempts are not logged, only schema_migrations is written; grant CREATE on the database to log them",
                    crate::error::describe_sqlx_error(&e)
                );
                Ok(None)
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(Error::database(
                    "creating reims_verify.migration_attempts",
                    &e,
                ))
            }
        }
    }

    /// Log the start of an attempt; returns its id.
    pub async fn start(
        &self,
        conn: &mut PgConnection,
        name: &str,
        checksum: &str,
        action: &str,
        mode: TransactionMode,
    ) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO reims_verify.migration_attempts
                 (migration_name, checksum, action, in_transaction, tool_version)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(checksum)
        .bind(action)
        .bind(mode == TransactionMode::Wrapped)
        .bind(env!("CARGO_PKG_VERSION"))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database(format!("logging the attempt to apply {name}"), &e))
    }

    /// Note the session that runs the attempt.
    pub async fn set_backend(&self, conn: &mut PgConnection, id: i64, pid: i32) -> Result<()> {
        sqlx::query(
            "UPDATE reims_verify.migration_attempts SET backend_pid = $2
              WHERE id OPERATOR(pg_catalog.=) $1",
        )
        .bind(id)
        .bind(pid)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("logging the attempt", &e))?;
        Ok(())
    }

    /// Log how an attempt ended.
    pub async fn finish(
        &self,
        conn: &mut PgConnection,
        id: i64,
        outcome: &str,
        partial: bool,
        error: Option<&str>,
    ) -> Result<()> {
        finish_attempt(conn, id, outcome, partial, error).await
    }
}

/// Log how an attempt ended (also from the interrupt handler's own session).
pub(crate) async fn finish_attempt(
    conn: &mut PgConnection,
    id: i64,
    outcome: &str,
    partial: bool,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE reims_verify.migration_attempts
            SET finished_at = pg_catalog.now(), outcome = $2, partial = $3, error_message = $4
          WHERE id OPERATOR(pg_catalog.=) $1 AND finished_at IS NULL",
    )
    .bind(id)
    .bind(outcome)
    .bind(partial)
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(|e| Error::database("logging the end of the attempt", &e))?;
    Ok(())
}

fn is_permission(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42501"))
}

async fn exists(conn: &mut PgConnection) -> Result<bool> {
    sqlx::query_scalar(
        "SELECT pg_catalog.to_regclass('reims_verify.migration_attempts') IS NOT NULL",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| Error::database("looking for reims_verify.migration_attempts", &e))
}

/// One logged attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attempt {
    /// Log id.
    pub id: i64,
    /// The migration's file name.
    pub migration_name: String,
    /// SHA-256 of the file attempted.
    pub checksum: String,
    /// `apply` or `reapply`.
    pub action: String,
    /// Whether it ran inside one wrapping transaction.
    pub in_transaction: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while it runs, or when the run was killed.
    pub finished_at: Option<DateTime<Utc>>,
    /// `applied`, `failed`, `interrupted`, or `None` (running, or killed).
    pub outcome: Option<String>,
    /// A file without a transaction failed after some of its statements had committed.
    pub partial: bool,
    /// The error of a failed or interrupted attempt.
    pub error_message: Option<String>,
}

/// Every logged attempt, newest first; empty when there is no log.
pub async fn read_attempts(conn: &mut PgConnection) -> Result<Vec<Attempt>> {
    if !exists(conn).await? {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT id, migration_name, checksum, action, in_transaction, started_at, finished_at,
                outcome, partial, error_message
           FROM reims_verify.migration_attempts ORDER BY id DESC",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("reading reims_verify.migration_attempts", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |e: sqlx::Error| Error::database("reading reims_verify.migration_attempts", &e);
        out.push(Attempt {
            id: row.try_get("id").map_err(get)?,
            migration_name: row.try_get("migration_name").map_err(get)?,
            checksum: row.try_get("checksum").map_err(get)?,
            action: row.try_get("action").map_err(get)?,
            in_transaction: row.try_get("in_transaction").map_err(get)?,
            started_at: row.try_get("started_at").map_err(get)?,
            finished_at: row.try_get("finished_at").map_err(get)?,
            outcome: row.try_get("outcome").map_err(get)?,
            partial: row.try_get("partial").map_err(get)?,
            error_message: row.try_get("error_message").map_err(get)?,
        });
    }
    Ok(out)
}

/// The attempt now running on this database, as another runner logged it: `(file, since)`.
pub(crate) async fn running(conn: &mut PgConnection) -> Option<(String, DateTime<Utc>)> {
    if !exists(conn).await.ok()? {
        return None;
    }
    sqlx::query_as(
        "SELECT migration_name, started_at FROM reims_verify.migration_attempts
          WHERE finished_at IS NULL
            AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                         WHERE a.pid OPERATOR(pg_catalog.=) backend_pid)
          ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .ok()
    .flatten()
}
