//! What an interrupted migration run does on a server it was handed (Ctrl-C, SIGTERM):
//! from the signal handler's thread, through a session of its own, it ends the session
//! running a migration (its statement stops; a wrapped file rolls back), records the
//! attempt as interrupted, and ends the control session so that the migration lock is
//! released, all before the process exits with 130. A throw-away server needs none of
//! this: it is stopped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::lock::ADVISORY_LOCK_KEY;
use super::plan::TransactionMode;
use crate::error::{Error, Result};

/// The migration running in a work session, as the signal handler needs to know it.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    /// Server pid of the work session.
    pub pid: i32,
    /// The file.
    pub file: String,
    /// Its checksum.
    pub checksum: String,
    /// Whether it runs inside one transaction.
    pub mode: TransactionMode,
    /// Its row in the attempt log.
    pub attempt: Option<i64>,
    /// Whether `schema_migrations` already records it as applied (a re-apply).
    pub applied_before: bool,
    /// Its `schema_migrations` row before this attempt, to tell whether a file in a
    /// transaction committed just before the signal.
    pub row_before: Option<super::history::AppliedMigration>,
    /// Statements of a file without a transaction that have committed so far.
    pub committed: usize,
}

#[derive(Debug, Clone, Default)]
struct RunState {
    control_pid: Option<i32>,
    holds_lock: bool,
    work: Option<Work>,
}

/// Keeps the signal handler informed while a run works on a handed-over server.
pub(crate) struct Watch {
    key: Option<u64>,
    state: Arc<Mutex<RunState>>,
}

impl Watch {
    /// Register the handler's work when `rescue` (how to reach the server) is given.
    pub fn new(rescue: Option<PgConnectOptions>) -> Self {
        let state = Arc::new(Mutex::new(RunState::default()));
        let key = rescue.map(|opts| {
            let shared = state.clone();
            crate::postgres::register_interrupt_hook(Box::new(move || {
                let snapshot = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
                rescue_blocking(&opts, snapshot)
            }))
        });
        Watch { key, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut RunState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The control session's pid.
    pub fn control(&self, pid: i32) {
        self.with(|s| s.control_pid = Some(pid));
    }

    /// Whether the control session holds the lock now.
    pub fn lock_held(&self, held: bool) {
        self.with(|s| s.holds_lock = held);
    }

    /// Announce the work about to start; refused once the run was interrupted, so nothing
    /// new starts after the handler looked.
    pub fn begin(&self, work: Work) -> Result<()> {
        self.with(|s| {
            stop_if_interrupted()?;
            s.work = Some(work);
            Ok(())
        })
    }

    /// One more statement of a file without a transaction committed; refused once the run
    /// was interrupted.
    pub fn committed(&self, count: usize) -> Result<()> {
        self.with(|s| {
            stop_if_interrupted()?;
            if let Some(w) = &mut s.work {
                w.committed = count;
            }
            Ok(())
        })
    }

    /// The work session is done.
    pub fn end(&self) {
        self.with(|s| s.work = None);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            crate::postgres::unregister_interrupt_hook(key);
        }
    }
}

/// An error that stops the run once the signal handler has taken over (it exits with 130;
/// nobody sees this).
pub(crate) fn stop_if_interrupted() -> Result<()> {
    if crate::postgres::interrupted() {
        return Err(Error::Server {
            context: "migrating".into(),
            message: "interrupted".into(),
            hint: "the run was interrupted".into(),
        });
    }
    Ok(())
}

/// How long the handler may spend on the server before the process exits anyway.
const RESCUE_LIMIT: Duration = Duration::from_secs(20);

fn rescue_blocking(opts: &PgConnectOptions, state: RunState) -> Vec<String> {
    if state.control_pid.is_none() && state.work.is_none() {
        return Vec::new();
    }
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return vec!["could not reach the server (no runtime); it ends this run's sessions when it notices the process is gone".into()];
    };
    rt.block_on(async {
        match tokio::time::timeout(RESCUE_LIMIT, rescue(opts, &state)).await {
            Ok(done) => done,
            Err(_) => vec![format!(
                "gave up on the server after {} s; it ends this run's sessions when it notices the process is gone",
                RESCUE_LIMIT.as_secs()
            )],
        }
    })
}

async fn rescue(opts: &PgConnectOptions, state: &RunState) -> Vec<String> {
    let mut said = Vec::new();
    let opts = opts
        .clone()
        .application_name("reims-verify (interrupted)")
        .options([
            ("search_path", "pg_catalog"),
            ("statement_timeout", "5s"),
            ("lock_timeout", "5s"),
            ("default_transaction_read_only", "off"),
        ]);
    let mut conn = match tokio::time::timeout(
        Duration::from_secs(5),
        PgConnection::connect_with(&opts),
    )
    .await
    {
        Ok(Ok(c)) => c,
        _ => {
            let what = state
                .work
                .as_ref()
                .map(|w| format!("{} (backend pid {})", w.file, w.pid))
                .unwrap_or_else(|| "the migration lock".into());
            return vec![format!(
                    "could not reach the server to stop {what}; it ends this run's sessions when it notices the process is gone"
                )];
        }
    };
    if let Some(w) = &state.work {
        let ended = end_backend(&mut conn, w.pid).await;
        if ended && w.mode == TransactionMode::Wrapped && committed_already(&mut conn, w).await {
            // The signal came between its COMMIT and the end of the bookkeeping.
            said.push(format!(
                "{} had already committed before the signal: it is applied and recorded",
                w.file
            ));
            if let Some(id) = w.attempt {
                let _ =
                    super::attempts::finish_attempt(&mut conn, id, "applied", false, None).await;
            }
        } else {
            if ended {
                said.push(match w.mode {
                    TransactionMode::Wrapped => format!(
                        "cancelled {} on the server (backend pid {}): its transaction was rolled back, nothing of it stays",
                        w.file, w.pid
                    ),
                    TransactionMode::None => format!(
                        "cancelled the statement of {} running on the server (backend pid {}); the file runs without a transaction, so the {} statement(s) that had committed stay applied",
                        w.file, w.pid, w.committed
                    ),
                });
            } else {
                said.push(format!(
                    "could not cancel {} on the server (backend pid {}); it stops when the server notices this process is gone",
                    w.file, w.pid
                ));
            }
            said.push(match record(&mut conn, w).await {
                Ok(()) => "recorded the attempt as interrupted".into(),
                Err(e) => format!("could not record the attempt ({e})"),
            });
        }
    }
    if let Some(pid) = state.control_pid {
        let ended = end_backend(&mut conn, pid).await;
        let free = ended && !holds_lock(&mut conn, pid).await;
        if state.holds_lock {
            said.push(if free {
                "released the migration lock".into()
            } else {
                "could not release the migration lock; the server releases it when it notices this process is gone".into()
            });
        } else if state.work.is_none() {
            said.push("stopped waiting for the migration lock; nothing was applied".into());
        }
    }
    let _ = conn.close().await;
    said
}

/// End a session and wait until it is gone (its transaction rolled back, its locks
/// released). True when it is gone.
async fn end_backend(conn: &mut PgConnection, pid: i32) -> bool {
    let _ = sqlx::query("SELECT pg_catalog.pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut *conn)
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let alive: std::result::Result<bool, _> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1)",
        )
        .bind(pid)
        .fetch_one(&mut *conn)
        .await;
        match alive {
            Ok(false) => return true,
            Ok(true) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(_) => return false,
        }
    }
    false
}

async fn holds_lock(conn: &mut PgConnection, pid: i32) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks
                         WHERE locktype = 'advisory' AND pid = $1 AND objsubid = 1
                           AND classid = ($2::pg_catalog.int8)::pg_catalog.oid
                           AND objid = ($3::pg_catalog.int8)::pg_catalog.oid)",
    )
    .bind(pid)
    .bind(ADVISORY_LOCK_KEY >> 32)
    .bind(ADVISORY_LOCK_KEY & 0xffff_ffff)
    .fetch_one(&mut *conn)
    .await
    .unwrap_or(true)
}

/// Whether the file's transaction committed (its record is now a success that differs from
/// the row before the attempt).
async fn committed_already(conn: &mut PgConnection, w: &Work) -> bool {
    let now = match super::history::read_history(conn).await {
        Ok(Some(rows)) => rows.into_iter().find(|r| r.migration_name == w.file),
        _ => return false,
    };
    match now {
        Some(row) if row.success => w.row_before.as_ref() != Some(&row),
        _ => false,
    }
}

/// The interrupted attempt: logged, and, for a migration not applied before, recorded as
/// failed in `schema_migrations` as any failure is.
async fn record(conn: &mut PgConnection, w: &Work) -> Result<()> {
    let message = match w.mode {
        TransactionMode::Wrapped => {
            "interrupted (signal); the transaction was rolled back, nothing of it stays".to_string()
        }
        TransactionMode::None => format!(
            "interrupted (signal) after {} statement(s) had committed; the file runs without a transaction, so those stay applied",
            w.committed
        ),
    };
    if let Some(id) = w.attempt {
        super::attempts::finish_attempt(
            conn,
            id,
            "interrupted",
            w.mode == TransactionMode::None && w.committed > 0,
            Some(&message),
        )
        .await?;
    }
    if !w.applied_before {
        super::record::record_failure(conn, &w.file, &w.checksum, &message).await?;
    }
    Ok(())
}
