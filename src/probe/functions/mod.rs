//! Function and trigger properties: random operation sequences run against the real
//! functions and compared, step by step, with a small Rust model.
//!
//! Each property module exposes `pub async fn check(conn, config) -> Result<Vec<Finding>>`.
//! It runs inside the caller's transaction, isolates every sequence in a savepoint that it
//! rolls back, and reports one passing finding per property, or one failing finding with the
//! shrunk, minimal operation sequence that broke it. To add the next function: write a
//! module with a model and a `check`, and add one line to [`run_all`].
//!
//! Time: the functions read `CURRENT_TIMESTAMP`, which is fixed inside a transaction. A
//! model step "time passes by N minutes" is played on the database by moving the stored
//! timestamps of the rows under test N minutes into the past, which is the same thing as
//! the clock moving forward.

use sqlx::PgConnection;

use super::ProbeConfig;
use crate::error::Result;
use crate::verify::Finding;

/// Run every function property.
///
/// The properties are about the REIMS schema: a property whose tables do not exist (another
/// schema, or a spec set for something else) is reported once as skipped, with the reason,
/// instead of failing on every step.
pub async fn run_all(conn: &mut PgConnection, config: &ProbeConfig) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    if let Some(skip) = needs(conn, "users.lockout", &["users"]).await? {
        out.push(skip);
    } else {
        out.extend(users::check(conn, config).await?);
    }
    if let Some(skip) = needs(conn, "sessions.lifecycle", &["users", "user_sessions"]).await? {
        out.push(skip);
    } else {
        out.extend(sessions::check(conn, config).await?);
    }
    if let Some(skip) = needs(
        conn,
        "triggers",
        &["performance_logs", "property_financial_summary"],
    )
    .await?
    {
        out.push(skip);
    } else {
        out.extend(triggers::check(conn, config).await?);
    }
    Ok(out)
}

/// A skip finding when any of `tables` is missing from `public`, else `None`.
async fn needs(
    conn: &mut PgConnection,
    property: &str,
    tables: &[&str],
) -> Result<Option<Finding>> {
    let names: Vec<String> = tables.iter().map(|t| format!("public.{t}")).collect();
    let missing: Vec<String> =
        sqlx::query_scalar("SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NULL")
            .bind(&names)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| {
                crate::error::Error::database(
                    "looking for the tables of the function properties",
                    &e,
                )
            })?;
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(super::probe_finding(
        "function.property",
        "functions",
        property.to_string(),
        crate::verify::Status::Skip,
        format!(
            "not run: {} missing; this property is about the REIMS schema",
            missing.join(", ")
        ),
    )))
}

mod harness;
pub mod sessions;
pub mod triggers;
pub mod users;
