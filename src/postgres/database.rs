//! The database a command works on: a fresh ephemeral cluster, a container (`--backend
//! docker`), or a server named by URL.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::backend::CONNECT_TIMEOUT;
use super::cluster::Cluster;
use super::options::ClusterOptions;
use super::target::DatabaseUrl;
use crate::error::{Error, Result};

/// How the tool behaves on a server it was handed (never on its own ephemeral cluster).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Give up connecting after this long (exit 3).
    pub connect_timeout: Duration,
    /// `statement_timeout` for every statement, e.g. `30s`.
    pub statement_timeout: String,
    /// `lock_timeout`, e.g. `2s`: never queue behind other sessions' locks.
    pub lock_timeout: String,
    /// Make every transaction read-only by default (`default_transaction_read_only`);
    /// probes then opt in to a read-write transaction that they roll back.
    pub read_only: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            connect_timeout: CONNECT_TIMEOUT,
            statement_timeout: "30s".into(),
            lock_timeout: "2s".into(),
            read_only: true,
        }
    }
}

/// The database under test. The ephemeral variant owns its server, a local cluster or a
/// container: dropping it stops the server and deletes its files or its container.
// One per run: the size of the URL variant does not matter (it depends on the build's
// features whether the lint fires at all).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Database {
    /// A throw-away server started for this run, of the backend the user chose (a local
    /// ephemeral cluster, or a container with `--backend docker`); work happens in database
    /// `reims`.
    Ephemeral(Cluster),
    /// A server the user handed over, and how to behave on it.
    Url(DatabaseUrl, ServerSettings),
}

/// The database name used inside an ephemeral cluster or a container.
pub const EPHEMERAL_DB: &str = "reims";

impl Database {
    /// Use the URL when given (else the `PG*` variables when `PGHOST` is set), else start a
    /// throw-away server of the backend `cluster.backend` names (an ephemeral cluster by
    /// default, or a container) with database `reims`. A backend this build lacks is refused
    /// first, whatever else was asked.
    pub async fn open(
        url: Option<&str>,
        cluster: &ClusterOptions,
        server: &ServerSettings,
    ) -> Result<Self> {
        cluster.backend.validate()?;
        let handed = match url {
            Some(raw) => Some(DatabaseUrl::parse(raw)?),
            None => DatabaseUrl::from_pg_env(),
        };
        match handed {
            Some(url) => Ok(Database::Url(url, server.clone())),
            None => {
                let c = Cluster::start(cluster).await?;
                c.create_database(EPHEMERAL_DB, None).await?;
                Ok(Database::Ephemeral(c))
            }
        }
    }

    /// Open a connection (bounded by the connect timeout for URLs; read-only by default,
    /// with statement and lock timeouts, on a handed-over server).
    pub async fn connect(&self) -> Result<PgConnection> {
        self.connect_with(&[]).await
    }

    /// Connection options for a new session: what [`Database::connect`] uses, plus `extra`
    /// startup settings (`-c name=value`, which win over earlier ones). For work that needs
    /// sessions of its own: a migration runs each file in a fresh session, and an
    /// interrupted run reaches the server again from the signal handler.
    pub fn session_options(&self, extra: &[(&str, &str)]) -> PgConnectOptions {
        match self {
            Database::Ephemeral(c) => c
                .connect_options(EPHEMERAL_DB)
                .options(extra.iter().copied()),
            Database::Url(url, settings) => {
                let mut session: Vec<(&str, &str)> = vec![
                    ("statement_timeout", settings.statement_timeout.as_str()),
                    ("lock_timeout", settings.lock_timeout.as_str()),
                    ("idle_in_transaction_session_timeout", "60s"),
                ];
                if settings.read_only {
                    session.push(("default_transaction_read_only", "on"));
                }
                session.extend(extra.iter().copied());
                url.connect_options()
                    .application_name("reims-verify")
                    .options(session)
                    .disable_statement_logging()
            }
        }
    }

    /// [`Database::connect`] with `extra` startup settings (see [`Database::session_options`]).
    pub async fn connect_with(&self, extra: &[(&str, &str)]) -> Result<PgConnection> {
        match self {
            Database::Ephemeral(c) => {
                let mut conn = if extra.is_empty() {
                    c.connect(EPHEMERAL_DB).await?
                } else {
                    super::backend::connect_bounded(&self.session_options(extra), &c.describe())
                        .await?
                };
                if c.is_local() {
                    super::pairing::join(&mut conn).await;
                }
                Ok(conn)
            }
            Database::Url(url, settings) => {
                let opts = self.session_options(extra);
                let limit = settings.connect_timeout;
                match tokio::time::timeout(limit, PgConnection::connect_with(&opts)).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(e)) => Err(Error::Connect {
                        target: url.to_string(),
                        message: url.scrub(&crate::error::describe_sqlx_error(&e)),
                    }),
                    Err(_) => Err(Error::Connect {
                        target: url.to_string(),
                        message: format!("no answer within {} s", limit.as_secs()),
                    }),
                }
            }
        }
    }

    /// `n` copies of the throw-away database, and how to open a session on each, for work
    /// that is shared among sessions which must not see each other's rows (the probes, on
    /// threads of their own). Every connection to the database itself must be closed
    /// first: PostgreSQL copies only a template nobody is connected to. A handed-over
    /// server is never copied: none.
    pub async fn copy_options(&self, n: usize) -> Result<Vec<PgConnectOptions>> {
        let Database::Ephemeral(c) = self else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            let name = format!("{EPHEMERAL_DB}_copy_{i}");
            c.create_database(&name, Some(EPHEMERAL_DB)).await?;
            out.push(c.connect_options(&name));
        }
        Ok(out)
    }

    /// True when the server's processes are this machine's own (a local throw-away
    /// cluster): only then can they be put on a core ([`super::pairing`]).
    pub fn is_local(&self) -> bool {
        matches!(self, Database::Ephemeral(c) if c.is_local())
    }

    /// Stop a throw-away server and remove its files or container on a thread of its own,
    /// so that the work that no longer needs it (printing the verdict, writing the reports)
    /// goes on meanwhile; the returned [`Teardown`] waits for it when dropped, so nothing
    /// outlives the run. A handed-over server is only let go (its connections are closed).
    pub fn teardown_in_background(self) -> Teardown {
        let thread = std::thread::Builder::new()
            .name("reims-verify-teardown".into())
            .spawn(move || drop(self));
        // A thread that cannot start gave `self` back to be dropped here: the teardown is
        // then done before this returns.
        Teardown(thread.ok())
    }

    /// A password-free description for output and reports.
    pub fn describe(&self) -> String {
        match self {
            Database::Ephemeral(c) => c.describe(),
            Database::Url(url, _) => url.to_string(),
        }
    }

    /// True for a throw-away server (ephemeral cluster or container), which the tool may
    /// write to freely.
    pub fn is_ephemeral(&self) -> bool {
        matches!(self, Database::Ephemeral(_))
    }

    /// Close connections politely before dropping (the cluster stops on drop).
    pub async fn close(conn: PgConnection) {
        let _ = conn.close().await;
    }
}

/// The major version of the server behind `conn` (`server_version_num` / 10000).
pub async fn server_major(conn: &mut PgConnection) -> Result<u32> {
    let num: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("reading server_version_num", &e))?;
    num.trim()
        .parse::<u32>()
        .map(|n| n / 10_000)
        .map_err(|_| Error::Database {
            context: "reading server_version_num".into(),
            message: format!("unexpected value `{num}`"),
        })
}

/// A throw-away server being stopped and removed on a thread of its own
/// ([`Database::teardown_in_background`]). Dropping it waits until that is done: the
/// process must not exit while the server's files are half removed.
#[must_use = "dropping it at once waits for the teardown"]
pub struct Teardown(Option<std::thread::JoinHandle<()>>);

impl Drop for Teardown {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            // A panic on that thread was already printed; the server's clean-up hooks
            // (signal, process exit) still hold anything it did not release.
            let _ = thread.join();
        }
    }
}
