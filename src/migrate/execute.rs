//! Running one migration file in its own session, statement by statement as `psql` sends
//! them: inside one transaction together with its record in `schema_migrations` (as
//! `psql -1 -f`), or (`-- no-transaction`) each in autocommit (as `psql -f`). Whether the file left the transaction it was given is asked of
//! the server, through the control session, never guessed.

use sqlx::{Connection, PgConnection};

use super::discover::MigrationFile;
use super::failure::{describe, StatementError};
use super::interrupt::Watch;
use super::scan::statements;
use crate::error::SourceLocation;

/// What of a failed file stays in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stayed {
    /// Nothing: its transaction never committed.
    Nothing,
    /// A file without a wrapping transaction: `committed` statements had completed outside
    /// any transaction block of the file's own (or in blocks it committed) and stay; a block
    /// the file had opened, from line `rolled_back_from`, was rolled back.
    Partial {
        committed: usize,
        rolled_back_from: Option<usize>,
    },
    /// The file ended the wrapping transaction itself (a COMMIT the scanner did not see):
    /// what it committed up to there stays.
    EndedByFile,
    /// The session broke while committing: whether it committed is unknown.
    Unknown,
}

/// Why a file failed, where, and what stays.
#[derive(Debug, Clone)]
pub(crate) struct FileFailure {
    pub error: StatementError,
    pub stayed: Stayed,
}

impl FileFailure {
    fn plain(file: &MigrationFile, line: Option<usize>, message: String, stayed: Stayed) -> Self {
        FileFailure {
            error: StatementError {
                location: SourceLocation {
                    file: file.path.clone(),
                    line,
                    column: None,
                },
                message,
                server_hint: None,
                sqlstate: None,
                connection_lost: false,
            },
            stayed,
        }
    }
}

/// The work session as the server sees it: `(state, backend_xid)`; `None` when it is gone
/// or cannot be seen.
async fn session_state(
    control: &mut PgConnection,
    pid: i32,
) -> Option<(Option<String>, Option<u32>)> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT state, backend_xid::pg_catalog.text FROM pg_catalog.pg_stat_activity WHERE pid = $1",
    )
    .bind(pid)
    .fetch_optional(&mut *control)
    .await
    .ok()
    .flatten();
    row.map(|(state, xid)| (state, xid.and_then(|x| x.parse().ok())))
}

/// Wait until the work session is idle again. The driver hands over an error before the
/// server's ready-for-query message, and the server shows the session's new state only
/// right before that message; asking before it could see the failed statement still
/// running.
async fn settle(work: &mut PgConnection) {
    let _ = work.ping().await;
}

/// Whether the work session is inside a transaction block, as the server says; `guess`
/// (from the file's own BEGIN and COMMIT) when the server does not show it.
async fn in_transaction(control: &mut PgConnection, pid: i32, guess: bool) -> bool {
    match session_state(control, pid).await {
        Some((Some(state), xid)) => state.starts_with("idle in transaction") || xid.is_some(),
        _ => guess,
    }
}

/// Whether the transaction the file was given (`xid`, which wrote its record) is still the
/// one open in the work session; `None` when the server does not show it. A transaction the
/// file committed itself shows as the record already committed; one it ended otherwise, as
/// a session outside any transaction or in another one.
async fn still_ours(control: &mut PgConnection, pid: i32, name: &str, xid: i64) -> Option<bool> {
    let xid32 = (xid & 0xffff_ffff).to_string();
    let committed: Option<bool> = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM public.schema_migrations
                         WHERE migration_name = $1 AND xmin::pg_catalog.text = $2)",
    )
    .bind(name)
    .bind(&xid32)
    .fetch_one(&mut *control)
    .await
    .ok();
    if committed == Some(true) {
        return Some(false);
    }
    match session_state(control, pid).await {
        Some((Some(state), now)) => Some(if state.starts_with("idle in transaction (aborted)") {
            // An error inside a transaction block: the one it was given, unless it opened
            // another one itself (which the record check above does not see).
            true
        } else if state.starts_with("idle in transaction") {
            now.map(|x| x.to_string()) == Some(xid32)
        } else {
            false
        }),
        _ => None,
    }
}

/// Run `file` inside one transaction that also writes its record; commit only when the
/// server confirms that the file left that transaction open and intact.
pub(crate) async fn run_wrapped(
    work: &mut PgConnection,
    control: &mut PgConnection,
    pid: i32,
    file: &MigrationFile,
) -> Result<(), FileFailure> {
    let fail = |e: &sqlx::Error, stayed: Stayed| FileFailure {
        error: describe(file, e, 0, None),
        stayed,
    };
    sqlx::raw_sql("BEGIN")
        .execute(&mut *work)
        .await
        .map_err(|e| fail(&e, Stayed::Nothing))?;
    let xid = match super::record::record_success_in_transaction(work, &file.name, &file.checksum)
        .await
    {
        Ok(x) => x,
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
            let mut f = fail(&e, Stayed::Nothing);
            f.error.message = format!(
                "recording it in schema_migrations failed: {}",
                f.error.message
            );
            return Err(f);
        }
    };
    // Statement by statement, as `psql -1 -f` sends them: a failure or a timeout names its
    // own line, and nothing new starts once the run is interrupted.
    for stmt in statements(&file.sql) {
        if super::interrupt::stop_if_interrupted().is_err() {
            return Err(FileFailure::plain(
                file,
                Some(stmt.line),
                "interrupted".into(),
                Stayed::Nothing,
            ));
        }
        if let Err(e) = sqlx::raw_sql(stmt.text).execute(&mut *work).await {
            let error = describe(file, &e, stmt.offset, Some(stmt.line));
            settle(work).await;
            let stayed = if error.connection_lost
                || still_ours(control, pid, &file.name, xid).await != Some(false)
            {
                Stayed::Nothing
            } else {
                Stayed::EndedByFile
            };
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
            return Err(FileFailure { error, stayed });
        }
    }
    // The scanner refuses transaction control up front; the server has the last word. A
    // session this role cannot see leaves the scanner's word standing.
    if still_ours(control, pid, &file.name, xid).await == Some(false) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        return Err(FileFailure::plain(
            file,
            None,
            "the file ended the transaction reims-verify wrapped it in (a COMMIT or ROLLBACK of its own)".into(),
            Stayed::EndedByFile,
        ));
    }
    match sqlx::raw_sql("COMMIT").execute(&mut *work).await {
        Ok(_) => Ok(()),
        Err(e @ sqlx::Error::Database(_)) => {
            let mut f = fail(&e, Stayed::Nothing);
            f.error.message = format!("COMMIT failed: {}", f.error.message);
            Err(f)
        }
        Err(e) => Err(fail(&e, Stayed::Unknown)),
    }
}

/// Run `file` statement by statement in autocommit, stopping at the first error. A
/// transaction block the file leaves open (at an error, or at its end) is rolled back, as
/// the end of a `psql -f` session would.
pub(crate) async fn run_autocommit(
    work: &mut PgConnection,
    control: &mut PgConnection,
    pid: i32,
    watch: &Watch,
    file: &MigrationFile,
) -> Result<(), FileFailure> {
    let mut committed = 0usize;
    let mut block: Option<(usize, usize)> = None; // (line of its BEGIN, statements in it)
    for stmt in statements(&file.sql) {
        if super::interrupt::stop_if_interrupted().is_err() {
            return Err(FileFailure::plain(
                file,
                Some(stmt.line),
                "interrupted".into(),
                Stayed::Unknown,
            ));
        }
        if let Err(e) = sqlx::raw_sql(stmt.text).execute(&mut *work).await {
            let error = describe(file, &e, stmt.offset, Some(stmt.line));
            settle(work).await;
            let open = in_transaction(control, pid, block.is_some()).await;
            let rolled_back_from = if open {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
                Some(block.map_or(stmt.line, |(line, _)| line))
            } else {
                None
            };
            return Err(FileFailure {
                error,
                stayed: Stayed::Partial {
                    committed,
                    rolled_back_from,
                },
            });
        }
        let first = stmt.words.first().map(String::as_str).unwrap_or("");
        let chained =
            stmt.words.iter().any(|w| w == "CHAIN") && !stmt.words.iter().any(|w| w == "NO");
        match first {
            "BEGIN" | "START" => {
                block.get_or_insert((stmt.line, 0)).1 += 1;
            }
            "COMMIT" | "END" => {
                committed += block.map_or(0, |(_, n)| n) + 1;
                block = chained.then_some((stmt.line, 0));
            }
            _ => match &mut block {
                Some((_, n)) => *n += 1,
                None => committed += 1,
            },
        }
        if watch.committed(committed).is_err() {
            return Err(FileFailure::plain(
                file,
                Some(stmt.line),
                "interrupted".into(),
                Stayed::Unknown,
            ));
        }
    }
    if in_transaction(control, pid, block.is_some()).await {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        let from = block.map(|(line, _)| line);
        return Err(FileFailure::plain(
            file,
            from,
            "the file opened a transaction and never committed it; a psql session would roll it back at the end of the file, and so did reims-verify".into(),
            Stayed::Partial {
                committed,
                rolled_back_from: from.or(Some(1)),
            },
        ));
    }
    Ok(())
}
