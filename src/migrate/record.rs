//! Writing `schema_migrations`, with the seed's meaning for every column: one row per
//! migration; `success = true` means it is applied, and only an application that stayed
//! writes it. A failed attempt writes a `success = false` row only for a migration that is
//! not applied: a failed re-apply never overwrites the success that says what the
//! database holds. Every statement is schema-qualified and names no function or operator
//! that a `search_path` could redirect.

use sqlx::PgConnection;

use super::history::AppliedMigration;
use crate::error::{Error, Result};

/// Inside the migration's own transaction, before its SQL runs (so no setting the file
/// makes can affect it): record it as applied. Returns the transaction id, to check later
/// that the file did not end this transaction itself.
pub(crate) async fn record_success_in_transaction(
    conn: &mut PgConnection,
    name: &str,
    checksum: &str,
) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO public.schema_migrations AS m (migration_name, success, error_message, checksum)
         VALUES ($1, true, NULL, $2)
         ON CONFLICT (migration_name) DO UPDATE
            SET applied_at = EXCLUDED.applied_at, success = true, error_message = NULL,
                checksum = EXCLUDED.checksum
         RETURNING pg_catalog.txid_current()",
    )
    .bind(name)
    .bind(checksum)
    .fetch_one(&mut *conn)
    .await
}

/// After a file without a wrapping transaction ran to its end: record it as applied.
pub(crate) async fn record_success(
    conn: &mut PgConnection,
    name: &str,
    checksum: &str,
) -> Result<()> {
    record_success_in_transaction(conn, name, checksum)
        .await
        .map_err(|e| Error::database(format!("recording {name} as applied"), &e))?;
    Ok(())
}

/// Record a failed attempt, unless the migration is recorded as applied (then the success
/// row stays, and only the attempt log tells of the failure).
pub(crate) async fn record_failure(
    conn: &mut PgConnection,
    name: &str,
    checksum: &str,
    message: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO public.schema_migrations AS m (migration_name, success, error_message, checksum)
         VALUES ($1, false, $3, $2)
         ON CONFLICT (migration_name) DO UPDATE
            SET applied_at = EXCLUDED.applied_at, success = false,
                error_message = EXCLUDED.error_message, checksum = EXCLUDED.checksum
          WHERE m.success IS NOT TRUE",
    )
    .bind(name)
    .bind(checksum)
    .bind(message)
    .execute(&mut *conn)
    .await
    .map_err(|e| Error::database(format!("recording the failure of {name}"), &e))?;
    Ok(())
}

/// Put the row of a migration back as it was before an attempt whose own COMMIT wrote over
/// it: the earlier success, or a failure record for a migration not applied before.
pub(crate) async fn restore(
    conn: &mut PgConnection,
    name: &str,
    checksum: &str,
    before: Option<&AppliedMigration>,
    message: &str,
) -> Result<()> {
    let result = match before {
        Some(row) if row.success => {
            sqlx::query(
                "UPDATE public.schema_migrations
                    SET applied_at = $2, success = true, error_message = $3, checksum = $4
                  WHERE migration_name OPERATOR(pg_catalog.=) $1",
            )
            .bind(name)
            .bind(row.applied_at)
            .bind(row.error_message.as_deref())
            .bind(row.checksum.as_deref())
            .execute(&mut *conn)
            .await
        }
        _ => {
            sqlx::query(
                "UPDATE public.schema_migrations
                    SET success = false, error_message = $3, checksum = $2
                  WHERE migration_name OPERATOR(pg_catalog.=) $1",
            )
            .bind(name)
            .bind(checksum)
            .bind(message)
            .execute(&mut *conn)
            .await
        }
    };
    result.map_err(|e| Error::database(format!("restoring the record of {name}"), &e))?;
    Ok(())
}
