//! A throw-away PostgreSQL of either backend: the ephemeral cluster (local `initdb` +
//! `postgres`, the default) or a container (`--backend docker`). Commands that need a
//! scratch server of their own (the shadow of `check` on a handed-over server) start one
//! through [`Cluster::start`], so it follows the backend the user chose.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::container::{feature_missing_error, ContainerCluster, ContainerOptions};
use super::database::CONNECT_TIMEOUT;
use super::ephemeral::{ClusterOptions, EphemeralCluster};
use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// Where a throw-away PostgreSQL comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClusterBackend {
    /// initdb + postgres from local server binaries (the default).
    #[default]
    Ephemeral,
    /// A container started with testcontainers (cargo feature `docker`, and a Docker daemon).
    Docker(ContainerOptions),
}

impl ClusterBackend {
    /// Refuse early what can never work: the container backend in a build without the
    /// `docker` feature (exit 2), or a malformed image name (exit 2).
    pub fn validate(&self) -> Result<()> {
        match self {
            ClusterBackend::Ephemeral => Ok(()),
            ClusterBackend::Docker(_) if !super::container::FEATURE_ENABLED => {
                Err(feature_missing_error())
            }
            ClusterBackend::Docker(opts) => opts.image().map(|_| ()),
        }
    }
}

/// A running throw-away PostgreSQL of either backend; dropping it stops the server and
/// removes its files or its container.
#[derive(Debug)]
pub enum Cluster {
    /// A local cluster in a temp folder.
    Ephemeral(EphemeralCluster),
    /// A container.
    Container(ContainerCluster),
}

impl Cluster {
    /// Start a cluster of the backend `opts.backend` names.
    pub async fn start(opts: &ClusterOptions) -> Result<Self> {
        opts.backend.validate()?;
        match &opts.backend {
            ClusterBackend::Ephemeral => {
                Ok(Cluster::Ephemeral(EphemeralCluster::start(opts).await?))
            }
            ClusterBackend::Docker(c) => Ok(Cluster::Container(ContainerCluster::start(c).await?)),
        }
    }

    /// Connection options for one database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        match self {
            Cluster::Ephemeral(c) => c.connect_options(database),
            Cluster::Container(c) => c.connect_options(database),
        }
    }

    /// Open a connection to one database of this cluster.
    pub async fn connect(&self, database: &str) -> Result<PgConnection> {
        match self {
            Cluster::Ephemeral(c) => c.connect(database).await,
            Cluster::Container(c) => c.connect(database).await,
        }
    }

    /// Create a database, optionally as a copy of a template.
    pub async fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        match self {
            Cluster::Ephemeral(c) => c.create_database(name, template).await,
            Cluster::Container(c) => c.create_database(name, template).await,
        }
    }

    /// The server's version line, `postgres (PostgreSQL) N.M`.
    pub fn server_version(&self) -> &str {
        match self {
            Cluster::Ephemeral(c) => c.server_version(),
            Cluster::Container(c) => c.server_version(),
        }
    }

    /// A description for output.
    pub fn describe(&self) -> String {
        match self {
            Cluster::Ephemeral(_) => "ephemeral cluster".to_string(),
            Cluster::Container(c) => c.describe(),
        }
    }

    /// Stop the server and remove its files or container now (drop does the same).
    pub fn stop(self) {
        match self {
            Cluster::Ephemeral(c) => c.stop(),
            Cluster::Container(c) => c.stop(),
        }
    }
}

/// Connect, giving up after [`CONNECT_TIMEOUT`] (exit 3).
pub(crate) async fn connect_bounded(opts: &PgConnectOptions, target: &str) -> Result<PgConnection> {
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

/// `CREATE DATABASE name [TEMPLATE template]` on an open connection.
pub(crate) async fn create_database_on(
    conn: &mut PgConnection,
    name: &str,
    template: Option<&str>,
) -> Result<()> {
    let sql = match template {
        Some(t) => format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(name),
            quote_ident(t)
        ),
        None => format!("CREATE DATABASE {}", quote_ident(name)),
    };
    sqlx::raw_sql(&sql)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database(format!("creating database {name}"), &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    #[test]
    fn the_default_backend_is_ephemeral_and_always_valid() {
        assert_eq!(ClusterOptions::default().backend, ClusterBackend::Ephemeral);
        assert!(ClusterBackend::Ephemeral.validate().is_ok());
    }

    #[test]
    fn docker_backend_validation_follows_the_feature() {
        let docker = ClusterBackend::Docker(ContainerOptions {
            image: Some("postgres:15-alpine".into()),
        });
        if super::super::container::FEATURE_ENABLED {
            assert!(docker.validate().is_ok());
            let bad = ClusterBackend::Docker(ContainerOptions {
                image: Some("postgres".into()),
            });
            assert_eq!(
                bad.validate().unwrap_err().exit_code(),
                ExitCode::InvalidInput
            );
        } else {
            let err = docker.validate().unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::InvalidInput);
            assert!(err.to_string().contains("lacks"), "{err}");
        }
    }
}
