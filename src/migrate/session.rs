//! Where a migration run gets its sessions. Like `psql -f`, each file runs in a fresh
//! session, so nothing one file sets (search_path, role, timeouts, temporary tables,
//! prepared statements) reaches the next; a separate control session holds the lock and
//! keeps the books, untouched by any migration.

use std::future::Future;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::error::{Error, Result};
use crate::postgres::Database;

/// Opens the sessions of a migration run.
pub trait SessionSource {
    /// A new session with these startup settings (`-c name=value`) on top of the source's.
    fn open(&self, settings: &[(&str, &str)]) -> impl Future<Output = Result<PgConnection>>;

    /// How a signal handler can reach the server on its own, to cancel what runs there and
    /// release the lock when the run is interrupted. `None` for a throw-away server, which
    /// is stopped anyway.
    fn rescue_options(&self) -> Option<PgConnectOptions>;

    /// Whether a file in a transaction may send runs of its statements together, one
    /// round trip each (see [`super::execute::Sending::Together`]): only on a throw-away
    /// server, which nothing but this run sees, unless `REIMS_VERIFY_ONE_BY_ONE` is set.
    fn sends_together(&self) -> bool {
        false
    }
}

impl SessionSource for Database {
    async fn open(&self, settings: &[(&str, &str)]) -> Result<PgConnection> {
        self.connect_with(settings).await
    }

    fn rescue_options(&self) -> Option<PgConnectOptions> {
        match self {
            Database::Url(..) => Some(self.session_options(&[])),
            Database::Ephemeral(_) => None,
        }
    }

    fn sends_together(&self) -> bool {
        matches!(self, Database::Ephemeral(_))
            && std::env::var_os("REIMS_VERIFY_ONE_BY_ONE").is_none()
    }
}

/// Plain connection options (a library user's own server, or a test cluster's database).
impl SessionSource for PgConnectOptions {
    async fn open(&self, settings: &[(&str, &str)]) -> Result<PgConnection> {
        let opts = self.clone().options(settings.iter().copied());
        let limit = crate::postgres::CONNECT_TIMEOUT;
        match tokio::time::timeout(limit, PgConnection::connect_with(&opts)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(Error::Connect {
                target: format!(
                    "database {}",
                    self.get_database().unwrap_or(self.get_username())
                ),
                message: crate::error::describe_sqlx_error(&e),
            }),
            Err(_) => Err(Error::Connect {
                target: format!("{}:{}", self.get_host(), self.get_port()),
                message: format!("no answer within {} s", limit.as_secs()),
            }),
        }
    }

    fn rescue_options(&self) -> Option<PgConnectOptions> {
        Some(self.clone())
    }
}

/// The control session's settings: a fixed search_path, so that no database- or role-level
/// default a migration installs can redirect the bookkeeping.
pub(crate) const CONTROL_SETTINGS: &[(&str, &str)] = &[("search_path", "pg_catalog")];

/// The server pid of a session.
pub(crate) async fn backend_pid(conn: &mut PgConnection) -> Result<i32> {
    sqlx::query_scalar("SELECT pg_catalog.pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("opening a migration session", &e))
}

/// Close a session politely; errors do not matter any more.
pub(crate) async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}
