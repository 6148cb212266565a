//! A throw-away PostgreSQL of either backend: the ephemeral cluster (local `initdb` +
//! `postgres`, the default) or a container (`--backend docker`). Commands that need a
//! scratch server of their own (the shadow of `check` on a handed-over server) start one
//! through [`Cluster::start`], so it follows the backend the user chose.

use sqlx::postgres::PgConnectOptions;
use sqlx::PgConnection;

use super::backend::ServerBackend;
use super::container::ContainerCluster;
use super::ephemeral::EphemeralCluster;
use super::options::{ClusterBackend, ClusterOptions};
use crate::error::Result;

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
            ClusterBackend::Docker(c) => Ok(Cluster::Container(
                ContainerCluster::start(&c.for_major(opts.major)?).await?,
            )),
        }
    }

    /// The version line of the local binaries a cluster of `opts` would run, known before
    /// any server starts; `None` for the container backend, whose version only its server
    /// can tell.
    pub fn binaries_version(opts: &ClusterOptions) -> Result<Option<String>> {
        match &opts.backend {
            ClusterBackend::Ephemeral => EphemeralCluster::binaries_version(opts).map(Some),
            ClusterBackend::Docker(_) => Ok(None),
        }
    }

    /// Bytes free in the file system where a local cluster of `opts` would have its
    /// folder; `None` for the container backend, or when it cannot be told.
    pub fn free_space_for(opts: &ClusterOptions) -> Option<u64> {
        match &opts.backend {
            ClusterBackend::Ephemeral => EphemeralCluster::free_space_for(opts),
            ClusterBackend::Docker(_) => None,
        }
    }

    /// Connection options for one database of this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        ServerBackend::connect_options(self, database)
    }

    /// True when the server's processes are this machine's own (a local cluster, not a
    /// container), so that they can be put on a core ([`super::pairing`]).
    pub fn is_local(&self) -> bool {
        matches!(self, Cluster::Ephemeral(_))
    }

    /// Open a connection to one database of this cluster.
    pub async fn connect(&self, database: &str) -> Result<PgConnection> {
        ServerBackend::connect(self, database).await
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
        ServerBackend::server_version(self)
    }

    /// [`EphemeralCluster::initdb_note`]; a container's data directory comes from its image,
    /// which keeps no notes.
    pub fn initdb_note(&self, name: &str) -> Option<String> {
        match self {
            Cluster::Ephemeral(c) => c.initdb_note(name),
            Cluster::Container(_) => None,
        }
    }

    /// [`EphemeralCluster::keep_initdb_note`]; nothing for a container.
    pub fn keep_initdb_note(&self, name: &str, body: &str) {
        if let Cluster::Ephemeral(c) = self {
            c.keep_initdb_note(name, body);
        }
    }

    /// A description for output.
    pub fn describe(&self) -> String {
        ServerBackend::describe(self)
    }

    /// Stop the server and remove its files or container now (drop does the same).
    pub fn stop(self) {
        match self {
            Cluster::Ephemeral(c) => c.stop(),
            Cluster::Container(c) => c.stop(),
        }
    }
}

impl ServerBackend for Cluster {
    fn connect_options(&self, database: &str) -> PgConnectOptions {
        match self {
            Cluster::Ephemeral(c) => c.connect_options(database),
            Cluster::Container(c) => c.connect_options(database),
        }
    }

    fn server_version(&self) -> &str {
        match self {
            Cluster::Ephemeral(c) => c.server_version(),
            Cluster::Container(c) => c.server_version(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Cluster::Ephemeral(_) => "ephemeral cluster".to_string(),
            Cluster::Container(c) => c.describe(),
        }
    }

    async fn connect(&self, database: &str) -> Result<PgConnection> {
        match self {
            Cluster::Ephemeral(c) => c.connect(database).await,
            Cluster::Container(c) => c.connect(database).await,
        }
    }
}
