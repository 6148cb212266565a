//! What every throw-away PostgreSQL offers, whichever backend started it (the ephemeral
//! cluster or a container), and the connection helpers they share.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// How long to wait for a server before giving up, unless told otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running throw-away PostgreSQL that reims-verify owns and may write to freely.
/// [`crate::postgres::Cluster`] holds one of either backend.
pub trait ServerBackend: Send + Sync {
    /// Connection options for one database of this server.
    fn connect_options(&self, database: &str) -> PgConnectOptions;

    /// The server's version line, `postgres (PostgreSQL) N.M`.
    fn server_version(&self) -> &str;

    /// A description for output.
    fn describe(&self) -> String;

    /// Open a connection to one database of this server.
    fn connect(&self, database: &str) -> impl Future<Output = Result<PgConnection>>;

    /// Create a database, optionally as a copy of a template.
    fn create_database(
        &self,
        name: &str,
        template: Option<&str>,
    ) -> impl Future<Output = Result<()>> {
        async move {
            let mut conn = self.connect("postgres").await?;
            let done = create_database_on(&mut conn, name, template).await;
            let _ = conn.close().await;
            done
        }
    }
}

/// Connect, giving up after [`CONNECT_TIMEOUT`] (exit 3).
pub async fn connect_bounded(opts: &PgConnectOptions, target: &str) -> Result<PgConnection> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(Error::Connect {
            target: target.to_string(),
            message: crate::error::describe_sqlx_error(&e),
        }),
        Err(_) => Err(Error::Connect {
            target: target.to_string(),
            message: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// `CREATE DATABASE name [TEMPLATE template]` on an open connection. A copy of a template
/// is made file by file ([`copy_strategy`]), and gets the settings the template has of its
/// own, which `CREATE DATABASE` leaves behind ([`super::copied_settings`]).
pub(crate) async fn create_database_on(
    conn: &mut PgConnection,
    name: &str,
    template: Option<&str>,
) -> Result<()> {
    let sql = match template {
        Some(t) => format!(
            "CREATE DATABASE {} TEMPLATE {}{}",
            quote_ident(name),
            quote_ident(t),
            copy_strategy(conn.server_version_num())
        ),
        None => format!("CREATE DATABASE {}", quote_ident(name)),
    };
    sqlx::raw_sql(&sql)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database(format!("creating database {name}"), &e))?;
    if let Some(template) = template {
        super::copied_settings::copy_database_settings(conn, template, name).await?;
    }
    Ok(())
}

/// How a copy of a template is made, for a server of `version_num` (`server_version_num`).
/// PostgreSQL 15 made `WAL_LOG` the default, which reads every block of the template
/// through shared buffers and writes it to the WAL; `FILE_COPY`, the only way before 15,
/// copies the files after a checkpoint. The copies are the same; the probes' copy of a
/// migrated database of 1,000 synthetic tables (85 MB) took 0.57-0.73 s as `WAL_LOG` and
/// 0.35-0.48 s as `FILE_COPY`, and REIMS's 40-70 ms against 30-60 ms (by `psql`, three
/// and four alternated rounds). Servers before 15 know no `STRATEGY`; an unknown version
/// gets none either.
fn copy_strategy(version_num: Option<u32>) -> &'static str {
    match version_num {
        Some(v) if v >= 150_000 => " STRATEGY = FILE_COPY",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::copy_strategy;

    #[test]
    fn only_servers_from_15_on_are_asked_for_a_file_copy() {
        assert_eq!(copy_strategy(Some(130_016)), "");
        assert_eq!(copy_strategy(Some(140_013)), "");
        assert_eq!(copy_strategy(Some(150_000)), " STRATEGY = FILE_COPY");
        assert_eq!(copy_strategy(Some(180_001)), " STRATEGY = FILE_COPY");
        assert_eq!(copy_strategy(None), "");
    }
}
