//! Applying migrations: a control session takes the lock and keeps the books; each file
//! runs in a fresh session of its own, inside one transaction with its record (or, when it
//! opts out, statement by statement); every attempt is logged; the first failure stops the
//! run, and the message says truthfully what stays and what was recorded.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use super::attempts::AttemptLog;
use super::discover::MigrationFile;
use super::execute::{run_autocommit, run_wrapped, FileFailure, Sending, Stayed, Wrapped};
use super::history::{
    prepare_table, read_history, status_of, AppliedMigration, MigrationStatus, TableSetup,
};
use super::interrupt::{stop_if_interrupted, Watch, Work};
use super::lock;
use super::plan::{plan, TransactionMode};
use super::session::{self, SessionSource, CONTROL_SETTINGS};
use crate::error::{Error, Result, SourceLocation};

/// Which migrations to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyMode {
    /// Every pending (or previously failed) migration, in order.
    All,
    /// One migration, by file name or version number.
    One(String),
}

/// The statement timeout of a migration session unless told otherwise (`--statement-timeout`).
pub const DEFAULT_STATEMENT_TIMEOUT: &str = "30s";

/// How a run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Re-apply a named migration that is already applied, and accept (re-apply) migrations
    /// whose checksum changed.
    pub force: bool,
    /// `statement_timeout` of every migration session, as PostgreSQL spells durations
    /// (`30s`, `10min`; `0` for none).
    pub statement_timeout: String,
    /// How long to wait for another runner's lock before giving up.
    pub lock_wait: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT.into(),
            lock_wait: lock::DEFAULT_LOCK_WAIT,
        }
    }
}

impl ApplyOptions {
    /// The defaults, with `force`.
    pub fn forced(force: bool) -> Self {
        ApplyOptions {
            force,
            ..Default::default()
        }
    }
}

/// What happened to one migration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppliedStep {
    /// The file name.
    pub name: String,
    /// `applied`, `reapplied` or `skipped`.
    pub action: &'static str,
    /// How it ran: inside one transaction (`wrapped`) or statement by statement (`none`).
    pub transaction: TransactionMode,
    /// Time spent applying, in milliseconds.
    pub millis: u128,
}

/// The outcome of a successful run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    /// One entry per migration considered.
    pub steps: Vec<AppliedStep>,
    /// Names recorded as applied that are not in the folder (reported, not an error).
    pub unknown: Vec<String>,
    /// Things the user should know once (e.g. a tracking table adopted from another runner).
    pub notes: Vec<String>,
}

/// Apply migrations to the database `source` opens sessions on. See the module docs.
pub async fn apply<S: SessionSource>(
    source: &S,
    files: &[MigrationFile],
    mode: &ApplyMode,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let watch = Watch::new(source.rescue_options());
    let mut control = source.open(CONTROL_SETTINGS).await?;
    let pid = session::backend_pid(&mut control).await?;
    watch.control(pid);
    if let Err(e) = lock::acquire(&mut control, options.lock_wait).await {
        session::close(control).await;
        return Err(e);
    }
    watch.lock_held(true);
    let result = apply_locked(source, &mut control, &watch, files, mode, options).await;
    if crate::postgres::interrupted() {
        // The signal handler owns the server now; it releases the lock.
        return result;
    }
    lock::release(&mut control).await;
    watch.lock_held(false);
    session::close(control).await;
    result
}

struct Planned<'a> {
    file: &'a MigrationFile,
    action: &'static str,
    before: Option<AppliedMigration>,
    mode: TransactionMode,
}

async fn apply_locked<S: SessionSource>(
    source: &S,
    control: &mut PgConnection,
    watch: &Watch,
    files: &[MigrationFile],
    mode: &ApplyMode,
    options: &ApplyOptions,
) -> Result<ApplyReport> {
    let history = read_history(control).await?.unwrap_or_default();
    let statuses = status_of(files, &history);
    let mut report = ApplyReport {
        unknown: statuses
            .iter()
            .filter(|s| s.status == MigrationStatus::Unknown)
            .map(|s| s.name.clone())
            .collect(),
        ..Default::default()
    };
    let selected: Vec<&MigrationFile> = match mode {
        ApplyMode::All => files.iter().collect(),
        ApplyMode::One(wanted) => vec![find_one(files, wanted)?],
    };
    if !options.force {
        if let Some(changed) = statuses.iter().find(|s| {
            s.status == MigrationStatus::Changed && selected.iter().any(|f| f.name == s.name)
        }) {
            let file = files
                .iter()
                .find(|f| f.name == changed.name)
                .expect("from files");
            return Err(Error::Migration {
                location: SourceLocation { file: file.path.clone(), line: None, column: None },
                message: format!(
                    "{} was applied with checksum {} but the file now has checksum {}",
                    file.name,
                    changed.applied_checksum.as_deref().unwrap_or("?"),
                    file.checksum
                ),
                hint: "an applied migration must not change: restore the file and add a new migration, or re-apply it with --force".into(),
                input_error: true,
            });
        }
    }
    // Decide everything, and refuse what cannot run, before anything changes.
    let explicit = matches!(mode, ApplyMode::One(_));
    let mut steps: Vec<std::result::Result<Planned<'_>, AppliedStep>> = Vec::new();
    for file in selected {
        let status = statuses
            .iter()
            .find(|s| s.name == file.name)
            .map(|s| s.status)
            .unwrap_or(MigrationStatus::Pending);
        let opted_out = super::plan::opts_out(&file.sql);
        let transaction = if opted_out {
            TransactionMode::None
        } else {
            TransactionMode::Wrapped
        };
        let action = match status {
            MigrationStatus::Applied if !(options.force && explicit) => {
                steps.push(Err(AppliedStep {
                    name: file.name.clone(),
                    action: "skipped",
                    transaction,
                    millis: 0,
                }));
                continue;
            }
            MigrationStatus::Applied | MigrationStatus::Changed => "reapplied",
            _ => "applied",
        };
        let mode = plan(file)?;
        steps.push(Ok(Planned {
            file,
            action,
            before: history
                .iter()
                .find(|h| h.migration_name == file.name)
                .cloned(),
            mode,
        }));
    }
    match prepare_table(control).await? {
        TableSetup::Adopted { unknown_checksums } => report.notes.push(format!(
            "adopted schema_migrations from another runner: added its checksum column; the {unknown_checksums} migration(s) it records have no checksum (unknown), so a later change to those files is not detected until they are re-applied with --force"
        )),
        TableSetup::Created | TableSetup::Ready => {}
    }
    let log = if steps.iter().any(|s| s.is_ok()) {
        AttemptLog::prepare(control).await?
    } else {
        None
    };
    for step in steps {
        let planned = match step {
            Err(skipped) => {
                report.steps.push(skipped);
                continue;
            }
            Ok(p) => p,
        };
        stop_if_interrupted()?;
        let started = Instant::now();
        run_one(source, control, watch, log, &planned, options).await?;
        report.steps.push(AppliedStep {
            name: planned.file.name.clone(),
            action: planned.action,
            transaction: planned.mode,
            millis: started.elapsed().as_millis(),
        });
    }
    Ok(report)
}

fn find_one<'a>(files: &'a [MigrationFile], wanted: &str) -> Result<&'a MigrationFile> {
    files
        .iter()
        .find(|f| {
            f.name == wanted
                || f.name.strip_suffix(".sql") == Some(wanted)
                || wanted.parse::<u64>().ok() == Some(f.version)
        })
        .ok_or_else(|| Error::Usage {
            message: format!("no migration named {wanted}"),
            hint: "run `reims-verify migrate --list` to see the names".into(),
        })
}

async fn run_one<S: SessionSource>(
    source: &S,
    control: &mut PgConnection,
    watch: &Watch,
    log: Option<AttemptLog>,
    p: &Planned<'_>,
    options: &ApplyOptions,
) -> Result<()> {
    let file = p.file;
    let attempt = Attempt {
        log,
        id: match log {
            Some(l) => Some(
                l.start(
                    control,
                    &file.name,
                    &file.checksum,
                    if p.action == "reapplied" {
                        "reapply"
                    } else {
                        "apply"
                    },
                    p.mode,
                )
                .await?,
            ),
            None => None,
        },
    };
    let settings = [("statement_timeout", options.statement_timeout.as_str())];
    let mut work = match source.open(&settings).await {
        Ok(w) => w,
        Err(e) => {
            let _ = attempt
                .finish(control, "failed", false, Some(e.to_string()))
                .await;
            return Err(e);
        }
    };
    let pid = match session::backend_pid(&mut work).await {
        Ok(pid) => pid,
        Err(e) => {
            // Nothing of the file ran.
            let _ = attempt
                .finish(control, "failed", false, Some(e.to_string()))
                .await;
            return Err(e);
        }
    };
    if let (Some(l), Some(id)) = (log, attempt.id) {
        l.set_backend(control, id, pid).await?;
    }
    let applied_before = p.before.as_ref().is_some_and(|b| b.success);
    if p.mode == TransactionMode::None && !applied_before {
        // Its statements commit one by one: until it has run to its end, the record says
        // it is not applied, and why, even if this process is killed half-way.
        super::record::record_failure(
            control,
            &file.name,
            &file.checksum,
            "started without a transaction (-- no-transaction) and not finished; if this stays, the run was killed and part of the file may be applied",
        )
        .await?;
    }
    let work_of = |pid: i32| Work {
        pid,
        file: file.name.clone(),
        checksum: file.checksum.clone(),
        mode: p.mode,
        attempt: attempt.id,
        applied_before,
        row_before: p.before.clone(),
        committed: 0,
    };
    watch.begin(work_of(pid))?;
    let outcome = match p.mode {
        TransactionMode::Wrapped => {
            let ctx = Rerun {
                source,
                settings: &settings,
                watch,
                log,
                attempt: attempt.id,
                work_of: &work_of,
            };
            run_in_transaction(&ctx, &mut work, control, pid, file).await?
        }
        TransactionMode::None => run_autocommit(&mut work, control, pid, watch, file).await,
    };
    if crate::postgres::interrupted() {
        // The signal handler is ending this run and records the attempt itself.
        return Err(stop_if_interrupted().unwrap_err());
    }
    watch.end();
    session::close(work).await;
    let failure = match outcome {
        Ok(()) => {
            // A failed file keeps the session it has: if that one was ended, the failure's
            // hint says the record could not be written, which is the truth.
            reopen_control_if_ended(source, control, watch, &file.name).await?;
            if p.mode == TransactionMode::None {
                super::record::record_success(control, &file.name, &file.checksum).await?;
            }
            attempt.finish(control, "applied", false, None).await?;
            return Ok(());
        }
        Err(f) => f,
    };
    Err(report_failure(control, p, failure, &options.statement_timeout, attempt).await)
}

/// What running a file again on a fresh session needs from [`run_one`].
struct Rerun<'r, S> {
    source: &'r S,
    settings: &'r [(&'r str, &'r str)],
    watch: &'r Watch,
    log: Option<AttemptLog>,
    attempt: Option<i64>,
    work_of: &'r dyn Fn(i32) -> Work,
}

/// Run `file` in one transaction on `work`. On a throw-away server of PostgreSQL 13 or
/// later its statements go in runs, one round trip each; when a run fails in a way that
/// does not say which statement raised the error, the file runs again one statement at a
/// time on a fresh session, so that the failure reported is the one `psql -1 -f` would
/// report.
async fn run_in_transaction<S: SessionSource>(
    ctx: &Rerun<'_, S>,
    work: &mut PgConnection,
    control: &mut PgConnection,
    pid: i32,
    file: &MigrationFile,
) -> Result<std::result::Result<(), FileFailure>> {
    let sending =
        if ctx.source.sends_together() && work.server_version_num().is_some_and(|v| v >= 130_000) {
            Sending::Together
        } else {
            Sending::OneByOne
        };
    let first = match run_wrapped(work, control, pid, file, sending).await {
        Wrapped::Applied => return Ok(Ok(())),
        Wrapped::Failed(f) => return Ok(Err(f)),
        Wrapped::Unsure(first) => first,
    };
    // A fresh session, as the file's first try had. Without one, the first try's failure
    // is what there is to say.
    ctx.watch.end();
    let Ok(fresh) = ctx.source.open(ctx.settings).await else {
        return Ok(Err(first));
    };
    session::close(std::mem::replace(work, fresh)).await;
    let Ok(pid) = session::backend_pid(work).await else {
        return Ok(Err(first));
    };
    if let (Some(l), Some(id)) = (ctx.log, ctx.attempt) {
        l.set_backend(control, id, pid).await?;
    }
    ctx.watch.begin((ctx.work_of)(pid))?;
    Ok(
        match run_wrapped(work, control, pid, file, Sending::Replay(Box::new(first))).await {
            Wrapped::Applied => Ok(()),
            Wrapped::Failed(f) | Wrapped::Unsure(f) => Err(f),
        },
    )
}

/// A file may end other sessions on its database (`pg_terminate_backend`, to clear the way
/// for a change that needs strong locks), the control session among them: the migration
/// lock it held and the books it keeps would be gone. When the control session no longer
/// answers, a new one is opened and takes the lock back at once, never waiting: if
/// another session took the lock meanwhile, the run stops here, saying so.
async fn reopen_control_if_ended<S: SessionSource>(
    source: &S,
    control: &mut PgConnection,
    watch: &Watch,
    file: &str,
) -> Result<()> {
    if control.ping().await.is_ok() {
        return Ok(());
    }
    watch.lock_held(false);
    let mut fresh = source.open(CONTROL_SETTINGS).await?;
    let pid = session::backend_pid(&mut fresh).await?;
    // The old session is gone; dropping it only closes its socket.
    drop(std::mem::replace(control, fresh));
    watch.control(pid);
    if !lock::try_acquire(control).await? {
        let holder = lock::holder(control)
            .await
            .map(|h| h.to_string())
            .unwrap_or_else(|| "a session this role cannot see".into());
        return Err(Error::Server {
            context: format!("taking the migration lock back after {file}"),
            message: format!(
                "{file} ended this run's control session, which held the migration lock, and another session took the lock before this run could: {holder}"
            ),
            hint: format!(
                "{file} ran to its end (see `reims-verify migrate --list`); let the other run finish, then run migrate again for what is left"
            ),
        });
    }
    watch.lock_held(true);
    errln!(
        "reims-verify: {file} ended the other sessions on the database, this run's control session among them; reconnected and took the migration lock back"
    );
    Ok(())
}

/// One attempt's row in the log, when there is a log.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    log: Option<AttemptLog>,
    id: Option<i64>,
}

impl Attempt {
    async fn finish(
        &self,
        control: &mut PgConnection,
        outcome: &str,
        partial: bool,
        error: Option<String>,
    ) -> Result<()> {
        match (self.log, self.id) {
            (Some(l), Some(id)) => {
                l.finish(control, id, outcome, partial, error.as_deref())
                    .await
            }
            _ => Ok(()),
        }
    }
}

/// Record a failed attempt as far as the server lets us, and build an error whose hint says
/// exactly what stays and what was recorded.
async fn report_failure(
    control: &mut PgConnection,
    p: &Planned<'_>,
    failure: FileFailure,
    statement_timeout: &str,
    attempt: Attempt,
) -> Error {
    let file = p.file;
    let FileFailure { error, stayed } = failure;
    let applied_before = p.before.as_ref().filter(|b| b.success);
    let partial = match &stayed {
        Stayed::Partial { committed, .. } => *committed > 0,
        Stayed::EndedByFile | Stayed::Unknown => true,
        Stayed::Nothing => false,
    };
    let what_stays = match &stayed {
        Stayed::Nothing if error.connection_lost => format!(
            "the session running {} was lost; its transaction never committed, so the server rolled it back and nothing of it stays",
            file.name
        ),
        Stayed::Nothing => format!("{} was rolled back completely: nothing of it stays", file.name),
        Stayed::Partial { committed, rolled_back_from } => {
            let mut s = format!(
                "{} runs without a transaction (-- no-transaction), so nothing was rolled back for it: the {committed} statement(s) that completed before the failure stay applied",
                file.name
            );
            if let Some(line) = rolled_back_from {
                s.push_str(&format!(
                    "; the transaction block it had opened (line {line}) was rolled back"
                ));
            }
            s
        }
        Stayed::EndedByFile => format!(
            "{} ended the transaction it was given (a COMMIT or ROLLBACK of its own), so it did not run all-or-nothing: what it committed stays; look at the schema before running migrate again",
            file.name
        ),
        Stayed::Unknown => format!(
            "the session broke while committing {}: whether it committed is unknown; look with `reims-verify migrate --list` and at the schema",
            file.name
        ),
    };
    let record_message = format!("{}: {}", error.location, error.message);
    let recorded = async {
        attempt
            .finish(
                &mut *control,
                "failed",
                partial,
                Some(record_message.clone()),
            )
            .await?;
        match (&stayed, applied_before) {
            (Stayed::EndedByFile, before) => {
                super::record::restore(control, &file.name, &file.checksum, before, &record_message)
                    .await
            }
            (_, Some(_)) => Ok(()),
            (_, None) => {
                super::record::record_failure(control, &file.name, &file.checksum, &record_message)
                    .await
            }
        }
    }
    .await;
    let what_recorded = match (recorded, applied_before) {
        (Ok(()), Some(before)) => format!(
            "schema_migrations still records its earlier successful application{}, which stays the record; the failed attempt is logged in reims_verify.migration_attempts (`reims-verify migrate --history`)",
            before
                .applied_at
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ),
        (Ok(()), None) => "it is recorded as failed in schema_migrations".to_string(),
        (Err(e), _) => format!(
            "it could not be recorded ({e}), so schema_migrations does not mention this attempt"
        ),
    };
    let mut hint = format!("{what_stays}; {what_recorded}.");
    match error.sqlstate.as_deref() {
        Some("57014") => hint = format!(
            "the statement was cancelled: statements may run for --statement-timeout ({statement_timeout}); for a longer migration pass e.g. --statement-timeout 10min (0 for no limit). {hint}"
        ),
        Some("55P03") => hint = format!(
            "the statement waited longer than --lock-timeout for a lock another session holds; retry when that session is done, or pass a longer --lock-timeout. {hint}"
        ),
        _ => {}
    }
    if let Some(h) = &error.server_hint {
        hint = format!("{h}. {hint}");
    }
    hint.push_str(" Fix the cause and run migrate again.");
    Error::Migration {
        location: error.location,
        message: error.message,
        hint,
        input_error: false,
    }
}
