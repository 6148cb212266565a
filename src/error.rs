//! Every way a run can end, and the one table that maps each to an exit code.
//!
//! Errors are split the way users experience them: the tool found gaps (exit 1), the user
//! handed it something it cannot use (exit 2), or the database side failed (exit 3). A bug
//! is a panic, never one of these.

use std::path::PathBuf;

/// The process exit codes, documented in the README. Defined here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything that was checked passed.
    Passed = 0,
    /// The run completed and found at least one failing check.
    Findings = 1,
    /// Invalid arguments, specs or migration files: fix the input and run again.
    InvalidInput = 2,
    /// The database could not be started, reached, or migrated.
    Database = 3,
}

impl ExitCode {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A location in a user's file, for messages that say where to look.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceLocation {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// An error that ends a run before it can report findings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or environment asked for something impossible.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A spec file could not be used.
    #[error("{location}: {message}")]
    Spec {
        /// Where the problem is.
        location: SourceLocation,
        /// The key path inside the document, e.g. `indexes.idx_users_locked.keys`.
        key_path: Option<String>,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A migration file could not be used or failed to apply.
    #[error("{location}: {message}")]
    Migration {
        /// The file, and the line of the failing statement when PostgreSQL told us.
        location: SourceLocation,
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: String,
        /// True when the file itself is at fault before any SQL ran (bad name, changed
        /// checksum): exit 2 rather than 3.
        input_error: bool,
    },
    /// No PostgreSQL server binaries could be found for an ephemeral cluster.
    #[error("no PostgreSQL server binaries found (looked in: {searched})")]
    PostgresNotFound {
        /// The places searched, for the message.
        searched: String,
    },
    /// The ephemeral cluster could not be created or started.
    #[error("ephemeral PostgreSQL: {message}")]
    Cluster {
        /// What went wrong, including the server log's last lines when useful.
        message: String,
        /// What to do about it, for the step that failed.
        hint: String,
    },
    /// The container backend could not reach a Docker daemon, pull the image, or start
    /// the container.
    #[error("container PostgreSQL: {message}")]
    Container {
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// PostgreSQL binaries could not be fetched, verified or installed (`pg install`).
    #[error("installing PostgreSQL: {message}")]
    Install {
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A server could not be reached or refused us.
    #[error("cannot connect to {target}: {message}")]
    Connect {
        /// The server, with any password redacted.
        target: String,
        /// What went wrong.
        message: String,
    },
    /// A query failed where it should not have.
    #[error("database error while {context}: {message}")]
    Database {
        /// What the tool was doing.
        context: String,
        /// The server's message, with SQLSTATE.
        message: String,
    },
    /// The server was reached but the work could not go on, for a reason the user can act
    /// on (a lock held too long, a missing privilege, an interrupted session).
    #[error("database error while {context}: {message}")]
    Server {
        /// What the tool was doing.
        context: String,
        /// What went wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code for this error (see [`ExitCode`]).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } | Error::Spec { .. } | Error::Io { .. } => ExitCode::InvalidInput,
            Error::Migration { input_error, .. } if *input_error => ExitCode::InvalidInput,
            Error::Migration { .. }
            | Error::PostgresNotFound { .. }
            | Error::Cluster { .. }
            | Error::Container { .. }
            | Error::Install { .. }
            | Error::Connect { .. }
            | Error::Server { .. }
            | Error::Database { .. } => ExitCode::Database,
        }
    }

    /// The next step for the user, printed under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. }
            | Error::Spec { hint, .. }
            | Error::Migration { hint, .. }
            | Error::Container { hint, .. }
            | Error::Cluster { hint, .. }
            | Error::Install { hint, .. }
            | Error::Server { hint, .. } => Some(hint.clone()),
            Error::PostgresNotFound { .. } => Some(
                "install the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`), \
                 or pass --pg-bindir DIR / set REIMS_VERIFY_PG_BINDIR to the folder holding \
                 initdb and postgres, or check an existing server with --database-url URL"
                    .into(),
            ),
            Error::Connect { .. } => Some(
                "check host, port, user and password in --database-url / DATABASE_URL, and that \
                 the server accepts connections from here"
                    .into(),
            ),
            Error::Database { .. } => None,
            Error::Io { .. } => Some("check the path and its permissions".into()),
        }
    }

    /// Build a database error from a sqlx error, keeping the SQLSTATE.
    pub fn database(context: impl Into<String>, err: &sqlx::Error) -> Self {
        Error::Database {
            context: context.into(),
            message: describe_sqlx_error(err),
        }
    }

    /// Build an I/O error for a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A one-line description of a sqlx error that includes the SQLSTATE when there is one.
pub fn describe_sqlx_error(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        other => other.to_string(),
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
