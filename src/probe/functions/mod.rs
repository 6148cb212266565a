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
pub async fn run_all(conn: &mut PgConnection, config: &ProbeConfig) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    out.extend(users::check(conn, config).await?);
    out.extend(sessions::check(conn, config).await?);
    out.extend(triggers::check(conn, config).await?);
    Ok(out)
}

pub mod sessions;
pub mod triggers;
pub mod users;
