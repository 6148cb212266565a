//! `reims-verify check`: start (or reach) a database, apply the migrations, compare with the
//! specs, report, and exit 0 / 1.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sqlx::{Connection, PgConnection};
use tokio::sync::oneshot::Receiver;

use crate::catalog::{read_schemas, read_schemas_and_builtin_on_two};
use crate::cli::{CheckArgs, OutputFormat};
use crate::error::{Error, ExitCode, Result};
use crate::migrate::{apply, discover, history_shape_problem, read_history, status_of, ApplyMode};
use crate::postgres::major_of;
use crate::postgres::{Cluster, ClusterOptions, Database};
use crate::probe::ProbeConfig;
use crate::run::{spool_error, Clock, FindingSink, Phase, Run, SpecFile};
use crate::spec::{load_dir_reporting, SpecSet};
use crate::verify::builtin::BuiltinReference;
use crate::verify::{
    across_majors, cached_shadow, cross_major_rules, look_up, verify_into, verify_migrations,
    AccessOptions, ShadowInputs, ShadowSource,
};

use super::shadow_server::{more_sessions, Ahead, LoadedSpecs, SHADOW_DB};
use super::{apply_options, cluster_options, server_settings, Output};

/// A database of the throw-away server that no migration runs in: initdb makes it, and the
/// checked database is another (`reims`). What PostgreSQL's own objects are before any
/// migration, for `builtin.altered`.
const FRESH_DB: &str = "postgres";

/// Run `check`; returns the exit code.
///
/// The order is what makes the verdict trustworthy: flags that cannot work together are
/// refused and the report folder is proven writable before any server starts (exit 2); the
/// verdict is printed before any report is written; and a run that ends in exit 2 or 3
/// removes the reports an earlier run left in the folder and leaves a marker instead.
pub async fn run_check(args: &CheckArgs, out: Output) -> Result<ExitCode> {
    refuse_conflicts(args)?;
    if !args.no_report {
        crate::report::ensure_writable(&args.report)?;
    }
    let github = crate::report::github::active();
    let (run, db) = match gather_with(args, out).await {
        Ok(gathered) => gathered,
        Err(err) => {
            if !args.no_report && !crate::postgres::interrupted() {
                mark_failed(&args.report, &err);
            }
            return Err(err);
        }
    };
    // The server is not needed any more: it goes while the verdict is printed and the
    // reports are written, and the run waits for it to be gone before it exits.
    let _teardown = db.teardown_in_background();
    // The run record's bytes, made only where the CI annotations are made from them
    // without reports. `--format json` streams them to stdout. With reports, the run
    // goes straight into `run.json`, and the reports and the CI annotations are made from
    // the record read back from it: at thousands of tables the run's findings, its bytes
    // and the parsed record are never in memory two at a time.
    let record: Option<Vec<u8>> = if github && args.no_report {
        Some(crate::report::json::to_bytes(&run).map_err(spool_error)?)
    } else {
        None
    };
    let passed = run.passed();
    match args.format {
        OutputFormat::Json => {
            // The same bytes `run.json` gets: serialisation is a function of the run.
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written = match &record {
                Some(bytes) => std::io::Write::write_all(&mut stdout, bytes),
                None => crate::report::json::write_to(&run, &mut stdout),
            };
            // A closed stdout is ignored, as everywhere else. Any other failure (a full
            // disk under a redirection, a spool that cannot be read back) would leave
            // the record cut short: exit 2, which like any exit 2 leaves no earlier run's
            // reports looking like this one's.
            if let Err(e) = written.and_then(|()| std::io::Write::flush(&mut stdout)) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    let err = Error::io("standard output", e);
                    if !args.no_report {
                        mark_failed(&args.report, &err);
                    }
                    return Err(err);
                }
            }
        }
        OutputFormat::Table => {
            // Database text in the table must not be read as workflow commands.
            let token = github.then(|| uuid::Uuid::new_v4().simple().to_string());
            if let Some(t) = &token {
                outln!("::stop-commands::{t}");
            }
            out!(
                "{}",
                crate::redact::scrub(&crate::report::terminal::render(&run, out))
            );
            if let Some(t) = &token {
                outln!("::{t}::");
            }
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // The record as the reports were rendered from it, for the CI annotations.
    let mut published = None;
    if !args.no_report {
        let source = crate::report::Record::Run(Box::new(run));
        let rendered = match crate::report::write_all(
            source,
            &args.report.join(crate::report::json::RUN_FILE),
            &args.report,
        ) {
            Ok(r) => r,
            Err(err) => {
                // Part of the set may be in place: take it all away, as for any exit 2.
                mark_failed(&args.report, &err);
                return Err(err);
            }
        };
        let line = format!(
            "reports: {} written to {} (digest of the set, {}: {})",
            rendered
                .files
                .iter()
                .map(|p| p.file_name().unwrap_or_default().to_string_lossy())
                .collect::<Vec<_>>()
                .join(", "),
            args.report.display(),
            crate::report::digest::MANIFEST_FILE,
            rendered.manifest_digest
        );
        match args.format {
            OutputFormat::Table => outln!("{}", crate::redact::scrub(&line)),
            OutputFormat::Json => errln!("{}", crate::redact::scrub(&line)),
        }
        published = github.then_some((rendered.record, rendered.digest));
    }
    if github {
        let stdout_is_json = args.format == OutputFormat::Json;
        match (&published, record.as_deref()) {
            (Some((run, digest)), _) => crate::report::github::publish_record(
                run,
                digest,
                Some(args.report.as_path()),
                stdout_is_json,
            ),
            (None, Some(record)) => crate::report::github::publish(record, None, stdout_is_json),
            (None, None) => {}
        }
    }
    Ok(if passed {
        ExitCode::Passed
    } else {
        ExitCode::Findings
    })
}

/// Make `n` copies of a throw-away server's database for the probes' workers, on the
/// calling thread, which has no runtime of its own: `check` makes them on a thread that
/// runs beside verify.
fn copy_for_workers(db: &Database, n: usize) -> Result<Vec<sqlx::postgres::PgConnectOptions>> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("the thread that copies the database", e))?
        .block_on(db.copy_options(n))
}

/// Run `verify`, and meanwhile make `copies` copies of the database (when some are wanted)
/// on a thread of their own. Returns the copies and the instant verify ended: the probes'
/// time begins there, so a copy still being made counts as theirs.
fn beside_copies(
    db: &Database,
    copies: Option<usize>,
    verify: impl FnOnce(),
) -> (
    Option<Result<Vec<sqlx::postgres::PgConnectOptions>>>,
    Instant,
) {
    std::thread::scope(|scope| {
        let copying = copies.map(|n| scope.spawn(move || copy_for_workers(db, n)));
        verify();
        let ended = Instant::now();
        let made = copying.map(|c| c.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (made, ended)
    })
}

/// The probes' connections when `--jobs` is not given: one per core, capped at 4 so that a
/// runner with many cores does not copy the database many times over for a few properties.
fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// True when the run checks a server it is handed (`--database-url`, `DATABASE_URL` or
/// `PGHOST`), not a throw-away one.
fn handed_over(args: &CheckArgs) -> bool {
    args.db.database_url.is_some() || std::env::var_os("PGHOST").is_some()
}

/// Refuse flag combinations that would be silently ignored.
fn refuse_conflicts(args: &CheckArgs) -> Result<()> {
    let handed_over = handed_over(args);
    if handed_over && !args.apply_after.is_empty() {
        let source = if args.db.database_url.is_some() {
            "--database-url (or DATABASE_URL)"
        } else {
            "PGHOST"
        };
        return Err(Error::Usage {
            message: format!(
                "--apply-after cannot be used with a server named by {source}: check never \
                 writes to a server it is handed"
            ),
            hint: "apply the SQL yourself with `reims-verify migrate` or psql, or drop \
                   --database-url to try it on a throw-away server"
                .into(),
        });
    }
    if handed_over && args.jobs.is_some() {
        return Err(Error::Usage {
            message: "--jobs applies to a throw-away server only: on a server it is handed, \
                      check probes over one connection, inside one transaction at a time"
                .into(),
            hint: "drop --jobs, or drop --database-url (and PGHOST) to probe on a throw-away \
                   server"
                .into(),
        });
    }
    Ok(())
}

/// Leave the failed-run marker in the report folder, saying so on stderr.
fn mark_failed(dir: &std::path::Path, err: &Error) {
    let code = err.exit_code().code();
    let message = crate::redact::scrub(&crate::describe_error(err));
    match crate::report::mark_failed_run(dir, code, &message) {
        Ok(removed) if !removed.is_empty() => errln!(
            "note: removed the earlier run's reports from {} ({} files) and left {} there, \
             so they cannot be taken for this run's result",
            dir.display(),
            removed.len(),
            crate::report::digest::FAILED_RUN_FILE
        ),
        Ok(_) => {}
        Err(e) => errln!(
            "warning: could not mark {} as holding no report of this run: {e}",
            dir.display()
        ),
    }
}

/// Do the whole check and return the run record (no output).
pub async fn gather(args: &CheckArgs) -> Result<Run> {
    gather_with(
        args,
        Output {
            color: false,
            progress: crate::progress::Progress::hidden(),
        },
    )
    .await
    .map(|(run, _server)| run)
}

/// [`gather`], showing progress and warnings as `out` says; also gives the server the run
/// ran on, for the caller to let go of when it suits it.
async fn gather_with(args: &CheckArgs, out: Output) -> Result<(Run, Database)> {
    let progress = out.progress;
    let started_at = chrono::Utc::now();
    let clock = Clock::start();
    let mut phases = Vec::new();
    // Every other error waits for the specs: a spec that does not load is told first, as
    // when the specs were loaded before anything else.
    let mut access = after_specs(
        args,
        AccessOptions::parse(&args.roles).map_err(|message| Error::Usage {
            message,
            hint: "write --role NAME=ROLE, e.g. --role app=reims_app".into(),
        }),
    )?;
    access.handed_over = handed_over(args);
    let files = after_specs(args, discover(&args.migrations))?;
    let extra: Vec<(std::path::PathBuf, String)> = after_specs(
        args,
        args.apply_after
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .map(|s| (p.clone(), s))
                    .map_err(|e| Error::io(p, e))
            })
            .collect::<Result<_>>(),
    )?;
    // What the normalised-spec cache's key needs (the specs, the server's version) is known
    // before any server starts; whether the entry's server said what the run's will say
    // after the migrations is asked at the shadow's turn.
    let shadow_inputs = |server_version: &str| ShadowInputs {
        specs_dir: Some(args.specs.clone()),
        server_version: server_version.to_string(),
    };
    let t = Instant::now();
    let copts = cluster_options(&args.db);
    // On a throw-away server, the specs are loaded and the cache is looked up on a thread of
    // its own while the server starts and the migrations run, and on a miss the shadow is
    // built there, on a server of its own (`shadow_server`). Started before the migrations
    // pin this thread. Elsewhere the specs are loaded first, before the server is reached.
    let started_ahead = if handed_over(args) {
        None
    } else {
        Ahead::start(args.specs.clone(), shadow_inputs(""), &copts)
    };
    let (mut ahead, mut pending) = match started_ahead {
        Some((ahead, pending)) => (Some(ahead), Some(pending)),
        None => (None, None),
    };
    let loaded_first = match pending {
        Some(_) => None,
        None => Some(load_specs_now(&clock, &args.specs)?),
    };
    let first_specs = loaded_first.as_ref().map(|(specs, ..)| specs.clone());
    let spinner = progress.phase(if args.db.database_url.is_some() {
        "connecting to the server"
    } else {
        "starting a throw-away PostgreSQL"
    });
    let opened = async {
        let db = Database::open(
            args.db.database_url.as_deref(),
            &copts,
            &server_settings(&args.db, true),
        )
        .await?;
        let conn = db.connect().await?;
        Ok::<_, Error>((db, conn))
    }
    .await;
    let (db, mut conn) = match opened {
        Ok(opened) => opened,
        Err(e) => return Err(specs_first(pending.take(), e).await),
    };
    drop(spinner);
    let cluster_phase = clock.phase("cluster_start", t);

    let t = Instant::now();
    // The shadow's database on a throw-away server is made while the migrations run: a copy
    // of template1, which they run beside and never in (only a migration that opened its
    // own connection to template1 could change it), so it is the database it would be
    // after them. Its outcome waits for the shadow's turn, so that errors keep their order.
    // The shadow's session and the catalog read's second session are opened meanwhile too
    // (a session sees what is committed when it asks, whenever it was opened); each is
    // asked whether it is still there before it is used, since a migration may end them.
    let shadow_db = async {
        match &db {
            Database::Ephemeral(cluster) => Some(
                async {
                    cluster.create_database(SHADOW_DB, None).await?;
                    cluster.connect(SHADOW_DB).await
                }
                .await,
            ),
            Database::Url(..) => None,
        }
    };
    let read_helper = async {
        if db.is_ephemeral() {
            db.connect().await.ok()
        } else {
            None
        }
    };
    let migrate = async {
        if !db.is_ephemeral() {
            return Ok(());
        }
        let _spinner = progress.phase(&format!("applying {} migrations", files.len()));
        let options = apply_options(&args.db, false, crate::migrate::DEFAULT_LOCK_WAIT);
        // Each migration session's server process runs on this thread's core (see
        // `pairing`): statement by statement, the two hand over to each other.
        let _pair = crate::postgres::pairing::CorePair::pin_here();
        apply(&db, &files, &ApplyMode::All, &options).await?;
        // A migration may end the other sessions on its database (this one among them, idle
        // while the migrations ran): the check goes on with a new one.
        if conn.ping().await.is_err() {
            conn = db.connect().await?;
        }
        for (path, sql) in &extra {
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map_err(|e| Error::Migration {
                    location: crate::error::SourceLocation {
                        file: path.clone(),
                        line: None,
                        column: None,
                    },
                    message: crate::error::describe_sqlx_error(&e),
                    hint: "fix the extra SQL file".into(),
                    input_error: false,
                })?;
        }
        Ok::<_, Error>(())
    };
    // Without a thread for the lookup, the cache is looked up meanwhile, when the shadow's
    // server is this one (the specs were loaded first then).
    let lookup = async {
        match (&db, &ahead, &first_specs) {
            (Database::Ephemeral(cluster), None, Some(specs)) => {
                Some(look_up(specs.clone(), shadow_inputs(cluster.server_version())).await)
            }
            _ => None,
        }
    };
    // The specs loading on the thread are awaited beside the migrations; a spec that does
    // not load ends the run at once (the migrations are dropped with the throw-away server)
    // and is told before anything the migrations did.
    let specs_loaded = async {
        match (loaded_first, pending.take()) {
            (Some(loaded), _) => Ok(loaded),
            (None, Some(pending)) => awaited_specs(&clock, pending, &args.specs).await,
            (None, None) => load_specs_now(&clock, &args.specs),
        }
    };
    // The phase `migrations` ends with these steps, not with the wait for the specs.
    let steps = async {
        let done = tokio::join!(migrate, shadow_db, read_helper, lookup);
        Ok::<_, Error>((done, Instant::now()))
    };
    let (
        (specs, mut warnings, spec_phase),
        ((migrated, shadow_db, read_helper, lookup), migrations_end),
    ) = tokio::try_join!(specs_loaded, steps)?;
    phases.push(spec_phase);
    phases.push(cluster_phase);
    for w in &warnings {
        errln!("{}", crate::redact::scrub(&format!("warning: {w}")));
    }
    migrated?;
    phases.push(clock.span("migrations", t, migrations_end));
    // The cache entry of the specs for a shadow on a server of `version`.
    let look_up_for = |version: &str| look_up(specs.clone(), shadow_inputs(version));

    // The catalog read (on the checked database) and the shadow's build (on a database of
    // its own, or a server of its own) need nothing from each other: they run side by
    // side, each on its own connection, and each phase records its own start and length.
    let target_major = crate::postgres::server_major(&mut conn).await?;
    let spinner = progress.phase(&format!(
        "reading the catalog and compiling {} specs",
        specs.specs.len()
    ));
    let read_catalog = async {
        let t = Instant::now();
        // Another runner's table of the same name is a verdict's matter (its columns are
        // compared with the spec), not a read that fails.
        let history = match history_shape_problem(&mut conn).await? {
            Some(why) => Err(why),
            None => Ok(read_history(&mut conn).await?.unwrap_or_default()),
        };
        for schema in &args.schemas {
            super::snapshot::require_schema(&mut conn, schema, &db.describe()).await?;
        }
        let schemas = specs.checked_schemas(&args.schemas);
        // A throw-away server's database changes under nobody, so its catalog can be read
        // over two connections; a handed-over server's is read over one, as one session.
        // The checked database's built-in objects are read by the same two sessions.
        let (actual, builtin_here) = if db.is_ephemeral() {
            let helper = still_open(read_helper, db.connect());
            let (actual, here) =
                read_schemas_and_builtin_on_two(&mut conn, helper, &schemas).await?;
            (actual, Some(here))
        } else {
            (read_schemas(&mut conn, &schemas).await?, None)
        };
        Ok::<_, Error>((
            history,
            actual,
            builtin_here,
            clock.phase("introspection", t),
        ))
    };
    let compile_specs = async {
        let t = Instant::now();
        let (shadow_cluster, mut shadow_conn) =
            shadow_connection(&db, &copts, target_major, shadow_db).await?;
        let shadow_server_version = shadow_cluster
            .as_ref()
            .map(|c| c.server_version().to_string());
        // Told before the build, so that a spec the other major refuses is read with it.
        let why = match (&args.db.backend, &args.db.pg_bindir) {
            (crate::cli::Backend::Docker, _) => "the container image runs it",
            (_, Some(_)) => "--pg-bindir names its binaries",
            _ => "no binaries of the server's major were found",
        };
        let shadow_major = shadow_server_version.as_deref().and_then(major_of);
        let cross_major = shadow_warnings(target_major, shadow_major, why);
        for w in &cross_major {
            errln!("warning: {w}");
        }
        // The thread's answer holds for a run server of the version it keyed the lookup on.
        let answer = match ahead.as_mut() {
            Some(ahead) => ahead.answer().await,
            None => None,
        }
        .filter(|a| matches!(&db, Database::Ephemeral(c) if c.server_version() == a.version));
        let (lookup, prebuilt) = match (answer, lookup, &shadow_cluster, &db) {
            (Some(answer), _, _, _) => (answer.lookup, answer.built),
            (None, Some(lookup), _, _) => (lookup, None),
            // A shadow on a server of its own (the checked one was handed over) is looked
            // up now that its server has started; nothing ran on it before.
            (None, None, Some(cluster), _) => (look_up_for(cluster.server_version()).await, None),
            // The thread had no answer for this server.
            (None, None, None, Database::Ephemeral(cluster)) => {
                (look_up_for(cluster.server_version()).await, None)
            }
            (None, None, None, Database::Url(..)) => (crate::verify::Lookup::Off, None),
        };
        let (prebuilt, ahead) = match prebuilt {
            Some(built) => (
                Some(built.prebuilt),
                Some((built.server_started, built.build_started, built.done)),
            ),
            None => (None, None),
        };
        // Both shadow databases are the run's own and thrown away with their server, so
        // the build may commit and use a second session.
        let server = match (&db, &shadow_cluster) {
            (Database::Ephemeral(cluster), _) => Some(cluster),
            (_, Some(cluster)) => Some(cluster),
            _ => None,
        };
        let more = server.map(more_sessions);
        let built = cached_shadow(&mut shadow_conn, &specs, lookup, more, prebuilt).await;
        Database::close(shadow_conn).await;
        drop(shadow_cluster);
        let (shadow, source) = built?;
        // A shadow built ahead is recorded as the build it was, beside the migrations,
        // after its server's start.
        let phases = match (source, ahead) {
            (ShadowSource::BuiltAhead, Some((server, build, done))) => vec![
                clock.span("shadow_server", server, build),
                clock.span("shadow", build, done),
            ],
            _ => vec![clock.phase("shadow", t)],
        };
        Ok::<_, Error>((shadow, shadow_server_version, cross_major, phases))
    };
    // PostgreSQL's own objects in a database of the same server no migration ran in, on a
    // session of its own beside the catalog read (which reads them in the checked
    // database).
    let read_fresh_builtin = async {
        match &db {
            Database::Ephemeral(cluster) => {
                use crate::catalog::builtin;
                // A server started from an initdb cache entry whose fresh state an earlier
                // run read and wrote down answers the same: read from the note, not asked.
                let note = builtin::fresh_state_note();
                if let Some(state) = cluster
                    .initdb_note(&note)
                    .and_then(|body| builtin::from_note_body(&body))
                {
                    return Ok(Some(state));
                }
                let mut fresh = cluster.connect(FRESH_DB).await?;
                let state = crate::catalog::read_builtin_state_pinned(&mut fresh).await;
                Database::close(fresh).await;
                let state = state?;
                cluster.keep_initdb_note(&note, &builtin::note_body(&state));
                Ok::<_, Error>(Some(state))
            }
            Database::Url(..) => Ok(None),
        }
    };
    let (catalog, compiled, fresh_builtin) =
        tokio::join!(read_catalog, compile_specs, read_fresh_builtin);
    drop(spinner);
    // Errors in the order the steps would have run in turn: a catalog that cannot be read
    // is told before a spec the shadow refuses.
    let (history, actual, builtin_here, read_phase) = catalog?;
    let builtin = match (builtin_here, fresh_builtin?) {
        (Some(here), Some(fresh)) => Some((here, fresh)),
        _ => None,
    };
    let (shadow, shadow_server_version, cross_major, shadow_phases) = compiled?;
    phases.push(read_phase);
    phases.extend(shadow_phases);
    let shadow_major = shadow_server_version.as_deref().and_then(major_of);
    warnings.extend(cross_major);

    let sensitive: Vec<(String, String, String)> = specs
        .specs
        .iter()
        .flat_map(|l| {
            l.spec
                .columns
                .iter()
                .filter(|(_, c)| c.sensitive)
                .map(|(name, _)| (l.spec.schema.clone(), l.spec.table.clone(), name.clone()))
        })
        .collect();
    let sensitive_columns = crate::catalog::read_column_readers(&mut conn, &sensitive).await?;
    let run_probes = !args.no_probe && (db.is_ephemeral() || args.probe);
    let probe_seed = run_probes.then(|| args.seed.unwrap_or_else(ProbeConfig::fresh_seed));
    // On a throw-away server the probes' workers each get a copy of the database. Copying
    // is the server's work on one core while verify is mostly this process's, so the
    // copies are made beside verify, not after it: what sequences stand at is read first,
    // and this session closes, since a copy needs its template free of sessions.
    let copying = match probe_seed {
        Some(_) if db.is_ephemeral() => {
            // A copy nobody would use only costs time.
            let jobs = args
                .jobs
                .unwrap_or_else(default_jobs)
                .min(crate::probe::work_units(&specs));
            let reset = crate::probe::sequences::SequenceReset::read(&mut conn).await?;
            Some((jobs.saturating_sub(1), reset))
        }
        _ => None,
    };

    let t = Instant::now();
    let (migrations, migration_findings) = match &history {
        Ok(history) => {
            let migrations = status_of(&files, history);
            let found = verify_migrations(&migrations, &args.migrations);
            (migrations, found)
        }
        Err(why) => (
            Vec::new(),
            vec![crate::verify::unreadable_history(why, files.len())],
        ),
    };
    let printers = across_majors(target_major, shadow_major.unwrap_or(target_major));
    // Every finding goes to a spool on disk as it is made; only the counts and what did
    // not pass stay in memory. The migrations' few findings go first.
    let mut findings = FindingSink::new()?;
    findings.extend(migration_findings);
    // The copies are made beside verify, with this session closed meanwhile.
    findings.extend(vec![crate::verify::builtin::verify_builtin(
        match &builtin {
            Some((here, fresh)) => BuiltinReference::Read(here, fresh),
            None => BuiltinReference::Unavailable(
                "on a handed-over server there is no database the migrations never touched to \
             compare with, and managed services change pg_catalog's privileges themselves; \
             they are compared on a throw-away server (check without --database-url)",
            ),
        },
    )]);
    let verify = || {
        verify_into(&specs, &actual, &shadow, &access, &mut findings);
        phases.push(clock.phase("verify", t));
    };
    let (copies, probes_began) = match copying.as_ref().map(|(n, _)| *n) {
        Some(n) if n > 0 => {
            Database::close(conn).await;
            let done = beside_copies(&db, Some(n), verify);
            conn = db.connect().await?;
            done
        }
        _ => beside_copies(&db, None, verify),
    };
    drop(printers);
    // The probes need the catalog and the specs, never the shadow.
    drop(shadow);
    let schema_map = crate::report::erd::SchemaMap::of(&actual, &specs);

    if let Some(seed) = probe_seed {
        let t = probes_began;
        let config = ProbeConfig {
            cases: args.cases,
            seed,
        };
        let _spinner = progress.phase(&format!(
            "running behavioural probes ({} cases per rule, seed {seed})",
            args.cases
        ));
        if let Some((_, reset)) = &copying {
            // The database itself and `jobs - 1` copies of it: one session each.
            let mut options = vec![db.session_options(&[])];
            options.extend(copies.unwrap_or_else(|| Ok(Vec::new()))?);
            let sessions: Vec<crate::probe::WorkerSession> = options
                .into_iter()
                .map(|options| crate::probe::WorkerSession {
                    options,
                    target: db.describe(),
                    local: db.is_local(),
                })
                .collect();
            // Each worker drives its own session from a thread of its own, on a core it
            // shares with its server process (see `pairing`).
            findings.extend(
                crate::probe::run_probes_on_threads(
                    &mut conn,
                    &sessions,
                    &specs,
                    &actual,
                    &config,
                    Some(reset),
                )
                .await?,
            );
        } else {
            // The catalog read pinned how this session prints; the probes run as the
            // application's sessions do.
            crate::catalog::unpin_printing(&mut conn).await?;
            findings.extend(crate::probe::run_probes(&mut conn, &specs, &actual, &config).await?);
            // A handed-over server must be left as it was: say whether a sequence moved.
            findings.push(crate::probe::sequence_trace(&mut conn).await?);
        }
        phases.push(clock.phase("probes", t));
    }
    Database::close(conn).await;
    let findings = findings.seal()?;

    let run = Run {
        format_version: crate::run::RUN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        provenance: crate::run::Provenance::capture(&args.migrations, &args.specs),
        database: db.describe(),
        server_version: actual.server_version.clone(),
        shadow_server_version,
        ephemeral: db.is_ephemeral(),
        migrations,
        specs: specs
            .specs
            .iter()
            .map(|s| SpecFile {
                path: s.path.display().to_string(),
                table: crate::catalog::relation_key(&s.spec.schema, &s.spec.table),
                sha256: s.checksum.clone(),
                requirements: s.spec.requirements.clone(),
            })
            .collect(),
        report: specs.report.as_ref().map(|r| r.spec.report.clone()),
        probe_seed,
        skips_fail: args.fail_on_skip,
        warnings,
        phases,
        totals: findings.totals(),
        defined_at: {
            let mut sources = crate::anchor::migration_sources(&files);
            sources.extend(extra.iter().map(|(p, sql)| (p.as_path(), sql.as_str())));
            crate::anchor::locate_failures(&sources, findings.notable())
        },
        findings,
        sensitive_columns: Some(sensitive_columns),
        schema_map: Some(schema_map),
    };
    Ok((run, db))
}

/// The specs, the warnings their load gave, and the load's phase.
type LoadedSpecSet = (Arc<SpecSet>, Vec<String>, Phase);

/// Load the specs on this thread.
fn load_specs_now(clock: &Clock, dir: &Path) -> Result<LoadedSpecSet> {
    let t = Instant::now();
    let (set, warnings) = load_dir_reporting(dir)?;
    Ok((Arc::new(set), warnings, clock.phase("specs", t)))
}

/// The specs the thread of the build ahead loaded; loaded here if it ended without them.
async fn awaited_specs(
    clock: &Clock,
    pending: Receiver<LoadedSpecs>,
    dir: &Path,
) -> Result<LoadedSpecSet> {
    match pending.await {
        Ok(Ok((set, warnings, start, end))) => Ok((set, warnings, clock.span("specs", start, end))),
        Ok(Err(e)) => Err(e),
        Err(_) => load_specs_now(clock, dir),
    }
}

/// `result`, unless the specs do not load: their error is told first, as when the specs
/// were loaded before anything else.
fn after_specs<T>(args: &CheckArgs, result: Result<T>) -> Result<T> {
    result.map_err(|e| match load_dir_reporting(&args.specs) {
        Err(spec_error) => spec_error,
        Ok(_) => e,
    })
}

/// `e`, unless the specs loading on the thread of the build ahead do not load: their error
/// is told first.
async fn specs_first(pending: Option<Receiver<LoadedSpecs>>, e: Error) -> Error {
    match pending {
        Some(pending) => match pending.await {
            Ok(Err(spec_error)) => spec_error,
            _ => e,
        },
        None => e,
    }
}

/// A session opened before the migrations ended, if it still answers (a migration may end
/// the other sessions), else the one `reopen` opens.
async fn still_open(
    opened: Option<PgConnection>,
    reopen: impl std::future::Future<Output = Result<PgConnection>>,
) -> Result<PgConnection> {
    if let Some(mut conn) = opened {
        if conn.ping().await.is_ok() {
            return Ok(conn);
        }
    }
    reopen.await
}

/// A connection to an empty database for the shadow: on the same throw-away server when
/// there is one, else on a private one of the chosen backend and of the checked server's
/// major when its binaries (or image) can be found (never on a server the user handed over,
/// which the tool must not write to).
async fn shadow_connection(
    db: &Database,
    copts: &ClusterOptions,
    major: u32,
    opened: Option<Result<PgConnection>>,
) -> Result<(Option<Cluster>, PgConnection)> {
    match db {
        Database::Ephemeral(cluster) => {
            let conn = match opened {
                Some(made) => still_open(Some(made?), cluster.connect(SHADOW_DB)).await?,
                None => {
                    cluster.create_database(SHADOW_DB, None).await?;
                    cluster.connect(SHADOW_DB).await?
                }
            };
            Ok((None, conn))
        }
        Database::Url(..) => {
            let copts = ClusterOptions {
                major: Some(major),
                ..copts.clone()
            };
            let cluster = Cluster::start(&copts).await?;
            cluster.create_database(SHADOW_DB, None).await?;
            let conn = cluster.connect(SHADOW_DB).await?;
            Ok((Some(cluster), conn))
        }
    }
}

/// What the run must say when the shadow ran on another major than the checked server.
fn shadow_warnings(checked: u32, shadow: Option<u32>, why: &str) -> Vec<String> {
    match shadow {
        Some(s) if s != checked => vec![format!(
            "the server runs PostgreSQL {checked}, but the specs were compiled by PostgreSQL \
             {s} ({why}); the comparison tolerates the {} printer difference(s) between these \
             majors listed in the README and nothing else. With PostgreSQL {checked} binaries \
             (`reims-verify pg install {checked}`, or REIMS_VERIFY_PG_BINDIRS) the same major \
             prints both sides",
            cross_major_rules(checked, s).len()
        )],
        _ => Vec::new(),
    }
}
