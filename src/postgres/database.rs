//! The database a command works on: a fresh ephemeral cluster, or a server named by URL.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection, PgConnection};

use super::ephemeral::{ClusterOptions, EphemeralCluster};
use super::target::DatabaseUrl;
use crate::error::{Error, Result};

/// How long to wait for a server named by URL before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database under test. The ephemeral variant owns its cluster: dropping it stops the
/// server and deletes its files.
#[derive(Debug)]
pub enum Database {
    /// A throw-away cluster started for this run; work happens in database `reims`.
    Ephemeral(EphemeralCluster),
    /// A server the user handed over.
    Url(DatabaseUrl),
}

/// The database name used inside an ephemeral cluster.
pub const EPHEMERAL_DB: &str = "reims";

impl Database {
    /// Use the URL when given, else start an ephemeral cluster with database `reims`.
    pub async fn open(url: Option<&str>, cluster: &ClusterOptions) -> Result<Self> {
        match url {
            Some(raw) => Ok(Database::Url(DatabaseUrl::parse(raw)?)),
            None => {
                let c = EphemeralCluster::start(cluster).await?;
                c.create_database(EPHEMERAL_DB, None).await?;
                Ok(Database::Ephemeral(c))
            }
        }
    }

    /// Open a connection (bounded by [`CONNECT_TIMEOUT`] for URLs).
    pub async fn connect(&self) -> Result<PgConnection> {
        match self {
            Database::Ephemeral(c) => c.connect(EPHEMERAL_DB).await,
            Database::Url(url) => {
                let opts = url
                    .connect_options()
                    .application_name("reims-verify")
                    .disable_statement_logging();
                match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await
                {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(e)) => Err(Error::Connect {
                        target: url.to_string(),
                        message: url.scrub(&crate::error::describe_sqlx_error(&e)),
                    }),
                    Err(_) => Err(Error::Connect {
                        target: url.to_string(),
                        message: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                    }),
                }
            }
        }
    }

    /// A password-free description for output and reports.
    pub fn describe(&self) -> String {
        match self {
            Database::Ephemeral(_) => "ephemeral cluster".to_string(),
            Database::Url(url) => url.to_string(),
        }
    }

    /// True for a throw-away cluster, which the tool may write to freely.
    pub fn is_ephemeral(&self) -> bool {
        matches!(self, Database::Ephemeral(_))
    }

    /// Close connections politely before dropping (the cluster stops on drop).
    pub async fn close(conn: PgConnection) {
        let _ = conn.close().await;
    }
}
