//! Running one migration file in its own session, statement by statement as `psql` sends
//! them: inside one transaction together with its record in `schema_migrations` (as
//! `psql -1 -f`), or (`-- no-transaction`) each in autocommit (as `psql -f`). On a
//! throw-away server a file in a transaction may send runs of statements in one round
//! trip each ([`Sending::Together`]), reporting a failure as one at a time would. Whether
//! the file left the transaction it was given is asked of the server, through the control
//! session, never guessed.

use sqlx::{Connection, PgConnection};

use super::discover::MigrationFile;
use super::failure::{describe, ends_session, original_position, StatementError};
use super::interrupt::Watch;
use super::scan::{statements, Statement};
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
/// file committed itself shows as committed in the server's commit log; one it ended
/// otherwise, as a session outside any transaction or in another one.
///
/// Nothing here reads a table: the file's transaction may hold any lock on any of them,
/// `schema_migrations` included (`ALTER TABLE schema_migrations …`), and a read that waited
/// for it would wait for ever, since the file's transaction ends only after this answer.
async fn still_ours(control: &mut PgConnection, pid: i32, xid: i64) -> Option<bool> {
    let xid32 = (xid & 0xffff_ffff).to_string();
    let committed: Option<bool> = sqlx::query_scalar(
        "SELECT pg_catalog.pg_xact_status($1::pg_catalog.text::pg_catalog.xid8) = 'committed'",
    )
    .bind(xid.to_string())
    .fetch_one(&mut *control)
    .await
    .ok()
    .flatten();
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

/// How the statements of a file in a transaction reach the server.
#[derive(Debug)]
pub(crate) enum Sending {
    /// One statement per round trip, as `psql -1 -f` sends them.
    OneByOne,
    /// Runs of consecutive statements in one round trip each (see [`together`]); used on a
    /// throw-away server of PostgreSQL 13 or later only.
    Together,
    /// One by one, after a run sent together failed where the failing statement could not
    /// be told (see [`Wrapped::Unsure`]). The file is never committed: if it runs to its
    /// end this time, the failure of the first try stands, saying so.
    Replay(Box<FileFailure>),
}

/// What became of a file run in a transaction.
#[derive(Debug)]
pub(crate) enum Wrapped {
    /// Committed.
    Applied,
    /// Failed, at the statement the failure names.
    Failed(FileFailure),
    /// A run of statements sent together failed before any of them completed, with an error
    /// that does not say which statement raised it: the first one's execution, or the
    /// parsing of a later one, which PostgreSQL parses before running the first. The
    /// transaction was rolled back; the caller runs the file again one statement at a time,
    /// on a fresh session, to learn what `psql -1 -f` would have reported.
    Unsure(FileFailure),
}

/// At most this many statements go in one round trip.
const TOGETHER_STATEMENTS: usize = 64;

/// At most this much of the file goes in one round trip (a longer statement goes alone):
/// PostgreSQL parses a query string whole before it runs any of it, and keeps every
/// statement's parse tree until the string is done.
const TOGETHER_BYTES: usize = 64 * 1024;

/// The settings that act on a whole query string before any of its statements runs:
/// PostgreSQL converts the string from the client's encoding and parses it whole under
/// these. A statement that changes one changes how each statement after it is read when it
/// is sent alone, as `psql` sends it, but not the statements sent in the same string.
const READING_SETTINGS: [&str; 3] = [
    "standard_conforming_strings",
    "backslash_quote",
    "client_encoding",
];

/// True when `stmt` may change a setting of [`READING_SETTINGS`] as its text shows: it
/// sets, resets or discards settings, or names one of them or `set_config`. Such a
/// statement goes alone, so that the statements after it are sent once it has run. A
/// change the text does not show (a function that sets one) is caught after the run (see
/// [`reading_settings`]).
fn may_change_reading(stmt: &Statement<'_>) -> bool {
    if matches!(
        stmt.words.first().map(String::as_str),
        Some("SET" | "RESET" | "DISCARD")
    ) {
        return true;
    }
    let text = stmt.text.to_ascii_lowercase();
    READING_SETTINGS
        .iter()
        .chain(&["set_config"])
        .any(|name| text.contains(name))
}

/// The values of [`READING_SETTINGS`] in the work session, as one line.
async fn reading_settings(work: &mut PgConnection) -> Result<String, sqlx::Error> {
    use sqlx::Row;
    let each: Vec<String> = READING_SETTINGS
        .iter()
        .map(|name| format!("'{name} ' || pg_catalog.current_setting('{name}')"))
        .collect();
    let sql = format!("SELECT pg_catalog.concat_ws(', ', {})", each.join(", "));
    let row = sqlx::raw_sql(&sql).fetch_one(&mut *work).await?;
    row.try_get(0)
}

/// The session's [`READING_SETTINGS`] after `run` completed, which found them `before`; an
/// error message when a run of several statements changed them (one of them did so without
/// the text showing it, and the statements after it in the run were read the old way) or
/// they could not be read.
async fn changed_reading(
    work: &mut PgConnection,
    run: &[Statement<'_>],
    before: String,
) -> Result<String, String> {
    let lines = || {
        format!(
            "the statements from line {} to line {}",
            run[0].line,
            run[run.len() - 1].line
        )
    };
    let now = reading_settings(work).await.map_err(|e| {
        format!(
            "reading the session's {} after {} failed: {}",
            READING_SETTINGS.join(", "),
            lines(),
            crate::error::describe_sqlx_error(&e)
        )
    })?;
    if run.len() > 1 && now != before {
        return Err(format!(
            "{}, sent together in one query, changed how PostgreSQL reads the statements \
             after the one that made the change (from `{before}` to `{now}`), through a \
             function, say, as their text does not show; the statements sent with it were \
             read as before, where one at a time they would have been read after the change. \
             Nothing of the file is applied: set REIMS_VERIFY_ONE_BY_ONE=1 to send one \
             statement at a time",
            lines()
        ));
    }
    Ok(now)
}

/// Runs of consecutive statements to send in one round trip each: at most
/// [`TOGETHER_STATEMENTS`], spanning at most [`TOGETHER_BYTES`] of the file; a statement
/// that may change how the ones after it are read ([`may_change_reading`]) goes alone.
pub(crate) fn together<'s, 'a>(stmts: &'s [Statement<'a>]) -> Vec<&'s [Statement<'a>]> {
    let alone: Vec<bool> = stmts.iter().map(may_change_reading).collect();
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=stmts.len() {
        let end_of = |j: usize| stmts[j].offset + stmts[j].text.len();
        let full = i == stmts.len()
            || i - start == TOGETHER_STATEMENTS
            || end_of(i) - stmts[start].offset > TOGETHER_BYTES
            || alone[i - 1]
            || alone[i];
        if full {
            runs.push(&stmts[start..i]);
            start = i;
        }
    }
    runs
}

/// The file's text from the first statement of `run` to the end of its last: what is sent.
/// Comments and empty statements between them go too; PostgreSQL passes over them.
fn run_text<'a>(sql: &'a str, run: &[Statement<'a>]) -> &'a str {
    let (first, last) = (&run[0], &run[run.len() - 1]);
    &sql[first.offset..last.offset + last.text.len()]
}

/// Which statement of `run` (sent as [`run_text`]) a 1-based character `position` in that
/// text falls in.
fn statement_at(sql: &str, run: &[Statement<'_>], position: usize) -> Option<usize> {
    let base = run[0].offset;
    run.iter().position(|s| {
        let start = sql[base..s.offset].chars().count();
        let end = start + s.text.chars().count();
        position > start && position <= end
    })
}

/// The statement of `run` that raised `e` after `completed` of them had completed, when
/// that can be told for certain.
///
/// PostgreSQL parses a whole query string before it runs any of it, then analyses and runs
/// its statements in order, answering for each as it completes. So once one completed,
/// every statement parsed and the next one failed. Before any completed, the error is
/// either the first statement's, or a later one's that did not parse; the error's position,
/// when it has one, tells which. A statement timeout or a lost session is the first
/// statement's: parsing a run of at most [`TOGETHER_BYTES`] takes no measurable time.
fn failing_statement(
    sql: &str,
    run: &[Statement<'_>],
    completed: usize,
    e: &sqlx::Error,
) -> Option<usize> {
    let position = original_position(e);
    let by_position = position.map(|p| statement_at(sql, run, p));
    if completed > 0 {
        let failed = completed.min(run.len() - 1);
        // A position elsewhere would mean the server counted statements differently.
        return match by_position {
            Some(at) if at != Some(failed) => None,
            _ => Some(failed),
        };
    }
    if run.len() == 1 {
        return Some(0);
    }
    match by_position {
        Some(Some(0)) => Some(0),
        Some(_) => None,
        None => {
            let timeout_or_gone = match e {
                sqlx::Error::Database(db) => {
                    db.code().is_some_and(|c| c == "57014" || ends_session(&c))
                }
                _ => true,
            };
            timeout_or_gone.then_some(0)
        }
    }
}

/// Run `file` inside one transaction that also writes its record; commit only when the
/// server confirms that the file left that transaction open and intact.
pub(crate) async fn run_wrapped(
    work: &mut PgConnection,
    control: &mut PgConnection,
    pid: i32,
    file: &MigrationFile,
    sending: Sending,
) -> Wrapped {
    let fail = |e: &sqlx::Error, stayed: Stayed| FileFailure {
        error: describe(file, e, 0, None),
        stayed,
    };
    if let Err(e) = sqlx::raw_sql("BEGIN").execute(&mut *work).await {
        return Wrapped::Failed(fail(&e, Stayed::Nothing));
    }
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
            return Wrapped::Failed(f);
        }
    };
    // Statement by statement, as `psql -1 -f` sends them, or in runs sent together whose
    // failures name the same statement: a failure or a timeout names its own line, and
    // nothing new starts once the run is interrupted.
    let stmts = statements(&file.sql);
    let runs: Vec<&[Statement<'_>]> = match sending {
        Sending::Together => together(&stmts),
        Sending::OneByOne | Sending::Replay(_) => stmts.chunks(1).collect(),
    };
    // Sent together, how the server reads statements is asked before the first run and
    // after each one; a run of several statements must leave it as it found it.
    let mut reading = None;
    if matches!(sending, Sending::Together) {
        match reading_settings(work).await {
            Ok(now) => reading = Some(now),
            Err(e) => {
                settle(work).await;
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
                let mut f = fail(&e, Stayed::Nothing);
                f.error.message = format!(
                    "reading the session's {} failed: {}",
                    READING_SETTINGS.join(", "),
                    f.error.message
                );
                return Wrapped::Failed(f);
            }
        }
    }
    for run in runs {
        if super::interrupt::stop_if_interrupted().is_err() {
            return Wrapped::Failed(FileFailure::plain(
                file,
                Some(run[0].line),
                "interrupted".into(),
                Stayed::Nothing,
            ));
        }
        let mut completed = 0usize;
        let mut failure = None;
        {
            use futures_util::TryStreamExt;
            let mut results = sqlx::raw_sql(run_text(&file.sql, run)).execute_many(&mut *work);
            loop {
                match results.try_next().await {
                    Ok(Some(_)) => completed += 1,
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        let Some(e) = failure else {
            if let Some(before) = reading.take() {
                match changed_reading(work, run, before).await {
                    Ok(now) => reading = Some(now),
                    Err(message) => {
                        settle(work).await;
                        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
                        return Wrapped::Failed(FileFailure::plain(
                            file,
                            Some(run[0].line),
                            message,
                            Stayed::Nothing,
                        ));
                    }
                }
            }
            continue;
        };
        let at = failing_statement(&file.sql, run, completed, &e);
        let stmt = &run[at.unwrap_or(0)];
        let error = describe(file, &e, run[0].offset, Some(stmt.line));
        settle(work).await;
        if at.is_none() {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
            return Wrapped::Unsure(FileFailure {
                error,
                stayed: Stayed::Nothing,
            });
        }
        let stayed = if error.connection_lost || still_ours(control, pid, xid).await != Some(false)
        {
            Stayed::Nothing
        } else {
            Stayed::EndedByFile
        };
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        return Wrapped::Failed(FileFailure { error, stayed });
    }
    // The scanner refuses transaction control up front; the server has the last word. A
    // session this role cannot see leaves the scanner's word standing.
    if still_ours(control, pid, xid).await == Some(false) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        return Wrapped::Failed(FileFailure::plain(
            file,
            None,
            "the file ended the transaction reims-verify wrapped it in (a COMMIT or ROLLBACK of its own)".into(),
            Stayed::EndedByFile,
        ));
    }
    if let Sending::Replay(first) = sending {
        // Sent one by one, it ran to its end: the failure sent together stands, since the
        // file did fail in this run, and it is not committed.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *work).await;
        let mut first = *first;
        first.error.message = format!(
            "{} (raised when the file's statements were sent together, at or after line {}; \
             run again one statement at a time the file did not fail: its outcome changes \
             from run to run)",
            first.error.message,
            first.error.location.line.unwrap_or(1)
        );
        first.error.location.column = None;
        return Wrapped::Failed(first);
    }
    match sqlx::raw_sql("COMMIT").execute(&mut *work).await {
        Ok(_) => Wrapped::Applied,
        Err(e @ sqlx::Error::Database(_)) => {
            let mut f = fail(&e, Stayed::Nothing);
            f.error.message = format!("COMMIT failed: {}", f.error.message);
            Wrapped::Failed(f)
        }
        Err(e) => Wrapped::Failed(fail(&e, Stayed::Unknown)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_hold_at_most_their_count_and_bytes_and_cover_every_statement_once() {
        let mut sql = String::new();
        for i in 0..150 {
            sql.push_str(&format!("SELECT {i};\n"));
        }
        sql.push_str(&format!("SELECT '{}';\n", "x".repeat(TOGETHER_BYTES)));
        sql.push_str("SELECT 'after';\n");
        let stmts = statements(&sql);
        let runs = together(&stmts);
        let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        // 64, 64, then the 22 left before the long statement, which goes alone.
        assert_eq!(sizes, vec![64, 64, 22, 1, 1]);
        let sent: Vec<&str> = runs.iter().map(|r| run_text(&sql, r)).collect();
        assert_eq!(sent.concat().replace('\n', ""), sql.replace('\n', ""));
        assert!(sent[0].starts_with("SELECT 0;") && sent[0].ends_with("SELECT 63;"));
    }

    #[test]
    fn a_statement_that_may_change_how_the_next_are_read_goes_alone() {
        let sql = "CREATE TABLE a (x text);\nINSERT INTO a VALUES ('1');\n\
                   SET standard_conforming_strings = off;\nINSERT INTO a VALUES ('2');\n\
                   COMMENT ON TABLE a IS 'c';\nSELECT pg_catalog.SET_CONFIG('search_path', '', false);\n\
                   reset all;\nINSERT INTO a VALUES ('3');\nDISCARD ALL;\n\
                   DO $$ BEGIN EXECUTE 'SET backslash_quote = off'; END $$;\n\
                   ALTER TABLE a ALTER COLUMN x SET DEFAULT 'd';\nUPDATE a SET x = 'e';\n\
                   SELECT 'client_encoding';\nINSERT INTO a VALUES ('4');\n";
        let stmts = statements(sql);
        let sizes: Vec<usize> = together(&stmts).iter().map(|r| r.len()).collect();
        // SET, set_config, RESET, DISCARD, a DO block naming a setting and a string naming
        // one go alone; ALTER … SET DEFAULT and UPDATE … SET are none of these.
        assert_eq!(sizes, vec![2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]);
        assert_eq!(
            together(&stmts).iter().map(|r| r.len()).sum::<usize>(),
            stmts.len()
        );
    }

    #[test]
    fn a_position_in_a_run_names_its_statement() {
        let sql = "SELECT 1;\n-- é comment\nSELECT\n  2;\nSELECT 3;";
        let stmts = statements(sql);
        let text = run_text(sql, &stmts);
        // 1-based characters: the first statement is 1..=9, the é counts once.
        assert_eq!(statement_at(sql, &stmts, 1), Some(0));
        assert_eq!(statement_at(sql, &stmts, 9), Some(0));
        assert_eq!(
            statement_at(sql, &stmts, 12),
            None,
            "the comment is no statement"
        );
        let second = text[..text.find("SELECT\n").unwrap()].chars().count() + 1;
        assert_eq!(statement_at(sql, &stmts, second), Some(1));
        assert_eq!(statement_at(sql, &stmts, text.chars().count()), Some(2));
    }
}
