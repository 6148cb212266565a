//! Each migration file runs as `psql -f` would run it, against a real PostgreSQL: nothing a
//! file sets reaches the next file; a file that controls transactions is refused up front
//! unless it opts out with `-- no-transaction`; an opted-out file runs statement by
//! statement, and when it fails, the message says what stays. Nothing is recorded as
//! applied that did not stay.

mod common;

use std::path::Path;

use common::*;
use reims_verify::error::{Error, ExitCode};
use reims_verify::migrate::{
    apply, discover, read_attempts, read_history, status_of, ApplyMode, ApplyOptions,
    MigrationStatus, TransactionMode,
};
use sqlx::PgConnection;

fn url(db: &str) -> String {
    format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    )
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

async fn run(
    db: &str,
    dir: &Path,
) -> reims_verify::error::Result<reims_verify::migrate::ApplyReport> {
    let files = discover(dir).unwrap();
    apply(
        &target(db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
}

async fn relation_schema(conn: &mut PgConnection, name: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = $1 AND n.nspname NOT LIKE 'pg_temp%'",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .unwrap()
}

async fn exists(conn: &mut PgConnection, name: &str) -> bool {
    relation_schema(conn, name).await.is_some()
}

#[tokio::test]
async fn no_session_state_leaks_from_one_file_to_the_next() {
    let db = empty_db("leak").await;
    let role = format!("leak_role_{db}");
    let dir = folder(&[
        ("001_search_path.sql", "CREATE SCHEMA audit;\nSET search_path TO audit, public;\nCREATE TABLE in_audit (x int);"),
        ("002_after_search_path.sql", "CREATE TABLE t2 (x int);"),
        ("003_pg_dump_style.sql", "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.t3 (x int);"),
        ("004_after_pg_dump.sql", "CREATE TABLE t4 (x int);"),
        ("005_tiny_timeout.sql", "SET statement_timeout = '1ms';"),
        ("006_after_timeout.sql", "SELECT pg_sleep(0.3);\nCREATE TABLE t6 (x int);"),
        ("007_role.sql", &format!("CREATE ROLE {role} NOLOGIN;\nSET ROLE {role};")),
        ("008_after_role.sql", "CREATE TABLE t8 (x int);"),
        ("009_session_things.sql", "CREATE TEMP TABLE tmp (x int);\nPREPARE p AS SELECT 1;\nSELECT pg_advisory_lock(4242);\nLISTEN some_channel;\nSET TIME ZONE 'Pacific/Kiritimati';\nSET default_transaction_read_only = on;\nSET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE;"),
        ("010_after_session_things.sql", "CREATE TEMP TABLE tmp (x int);\nPREPARE p AS SELECT 2;\nCREATE TABLE settings AS SELECT current_setting('TimeZone') AS tz, current_setting('default_transaction_read_only') AS ro, current_setting('statement_timeout') AS st, current_setting('search_path') AS sp, current_setting('transaction_isolation') AS iso, current_user::text AS who, (SELECT count(*) FROM pg_listening_channels()) AS listening;"),
    ]);
    let report = run(&db, dir.path()).await.unwrap();
    assert_eq!(report.steps.len(), 10);
    assert!(
        report.steps.iter().all(|s| s.action == "applied"),
        "{report:?}"
    );
    let mut conn = connect(&db).await;
    assert_eq!(
        relation_schema(&mut conn, "in_audit").await.as_deref(),
        Some("audit")
    );
    for t in ["t2", "t3", "t4", "t6", "t8"] {
        assert_eq!(
            relation_schema(&mut conn, t).await.as_deref(),
            Some("public"),
            "{t}"
        );
    }
    let owner: String =
        sqlx::query_scalar("SELECT tableowner::text FROM pg_tables WHERE tablename = 't8'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(owner, "postgres", "SET ROLE of 007 must not reach 008");
    let (tz, ro, st, sp, iso, who, listening): (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
    ) = sqlx::query_as("SELECT tz, ro, st, sp, iso, who, listening FROM settings")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tz, "UTC");
    assert_eq!(ro, "off");
    assert_eq!(
        st, "30s",
        "the default statement timeout applies to every migration session"
    );
    assert_eq!(sp, "\"$user\", public");
    assert_eq!(iso, "read committed");
    assert_eq!(who, "postgres");
    assert_eq!(listening, 0, "009's LISTEN ended with its session");
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(held, 0, "009's session-level lock ended with its session");
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(history.len(), 10);
    assert!(history.iter().all(|h| h.success && h.checksum.is_some()));
    // applied_at follows the database's time zone, not one a migration set.
    let skew: f64 = sqlx::query_scalar(
        "SELECT max(abs(extract(epoch FROM (applied_at - (now() AT TIME ZONE 'UTC')))))::float8 FROM schema_migrations",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(skew < 600.0, "applied_at is {skew} s away from UTC now");
    sqlx::raw_sql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The refusal of one folder, through the library: exit 2, file:line, the way out, and
/// nothing applied or recorded.
async fn assert_refused(files: &[(&str, &str)], file: &str, line: usize, word: &str) {
    let db = empty_db("refuse").await;
    let dir = folder(files);
    let err = run(&db, dir.path()).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InvalidInput, "{err}");
    let Error::Migration {
        location,
        message,
        hint,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(location.file.ends_with(file), "{location}");
    assert_eq!(location.line, Some(line), "{err}");
    assert!(message.contains(word), "{message}");
    if !matches!(word, "ROLLBACK" | "rollback") {
        assert!(hint.contains("-- no-transaction"), "{hint}");
    }
    let mut conn = connect(&db).await;
    assert!(
        !exists(&mut conn, "ok1").await,
        "a refusal comes before anything runs"
    );
    assert!(!exists(&mut conn, "half").await);
    assert_eq!(
        read_history(&mut conn)
            .await
            .unwrap()
            .map(|h| h.len())
            .unwrap_or(0),
        0
    );
}

#[tokio::test]
async fn files_that_control_transactions_are_refused_before_anything_runs() {
    let ok = ("001_ok.sql", "CREATE TABLE ok1 (x int);");
    for (sql, line, word) in [
        (
            "CREATE TABLE half (x int);\nCOMMIT;\nCREATE TABLE after (x int);",
            2,
            "COMMIT",
        ),
        ("CREATE TABLE half (x int);\n\nROLLBACK;", 3, "ROLLBACK"),
        ("BEGIN;\nCREATE TABLE half (x int);\nCOMMIT;", 1, "BEGIN"),
        (
            "CREATE TABLE half (x int);\nCOMMIT AND CHAIN;\nCREATE TABLE after (x int);",
            2,
            "COMMIT AND CHAIN",
        ),
        (
            "CREATE TABLE half (x int);\nCREATE INDEX CONCURRENTLY half_x ON half (x);",
            2,
            "CREATE INDEX CONCURRENTLY",
        ),
        (
            "CREATE TABLE half (x int);\n-- tidy up\nVACUUM half;",
            3,
            "VACUUM",
        ),
    ] {
        assert_refused(
            &[ok, ("002_control.sql", sql)],
            "002_control.sql",
            line,
            word,
        )
        .await;
    }
}

#[test]
fn the_cli_refuses_a_committing_file_with_exit_2_naming_file_line_and_the_opt_out() {
    let db = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(empty_db("clirefuse"));
    let dir = folder(&[
        ("001_ok.sql", "CREATE TABLE ok1 (x int);"),
        (
            "002_commit.sql",
            "CREATE TABLE half (x int);\nCOMMIT;\nCREATE TABLE after (x int);",
        ),
    ]);
    let out = std::process::Command::new(bin())
        .args(["migrate", "--all", "--migrations"])
        .arg(dir.path())
        .args(["--database-url", &url(&db)])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("002_commit.sql:2"), "{stderr}");
    assert!(stderr.contains("-- no-transaction"), "{stderr}");
    assert!(
        !stderr.contains("rolled back"),
        "nothing ran, so nothing was rolled back: {stderr}"
    );
}

#[tokio::test]
async fn an_opted_out_file_runs_statement_by_statement_and_is_recorded() {
    let db = empty_db("optout").await;
    let dir = folder(&[
        ("001_table.sql", "CREATE TABLE big (x int);\nINSERT INTO big SELECT generate_series(1, 1000);"),
        ("002_index.sql", "-- no-transaction   (CONCURRENTLY cannot run in a transaction)\nCREATE INDEX CONCURRENTLY big_x ON big (x);\nVACUUM ANALYZE big;\nBEGIN;\nINSERT INTO big VALUES (-1);\nCOMMIT AND CHAIN;\nINSERT INTO big VALUES (-2);\nCOMMIT;"),
        ("003_after.sql", "CREATE TABLE after_index (x int);"),
    ]);
    let report = run(&db, dir.path()).await.unwrap();
    assert_eq!(report.steps[1].transaction, TransactionMode::None);
    assert_eq!(report.steps[0].transaction, TransactionMode::Wrapped);
    let mut conn = connect(&db).await;
    let valid: bool =
        sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_x'::regclass")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(valid);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM big WHERE x < 0")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(exists(&mut conn, "after_index").await);
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert!(history.iter().all(|h| h.success), "{history:?}");
    let attempts = read_attempts(&mut conn).await.unwrap();
    let a = attempts
        .iter()
        .find(|a| a.migration_name == "002_index.sql")
        .unwrap();
    assert!(!a.in_transaction);
    assert_eq!(a.outcome.as_deref(), Some("applied"));
}

#[tokio::test]
async fn an_opted_out_file_that_fails_midway_says_what_stays_and_claims_no_rollback() {
    let db = empty_db("partial").await;
    let dir = folder(&[(
        "001_partial.sql",
        "-- no-transaction\nCREATE TABLE a1 (x int);\nCREATE TABLE a2 (x int);\nBEGIN;\nCREATE TABLE in_block (x int);\nSELECT no_such_column FROM a1;\nCOMMIT;\nCREATE TABLE never (x int);",
    )]);
    let err = run(&db, dir.path()).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Database);
    let Error::Migration {
        location,
        hint,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(location.line, Some(6), "{err}");
    assert!(message.contains("42703"), "{message}");
    assert!(hint.contains("runs without a transaction"), "{hint}");
    assert!(hint.contains("2 statement(s)"), "{hint}");
    assert!(hint.contains("(line 4) was rolled back"), "{hint}");
    assert!(hint.contains("recorded as failed"), "{hint}");
    assert!(!hint.contains("rolled back completely"), "{hint}");
    let mut conn = connect(&db).await;
    assert!(exists(&mut conn, "a1").await && exists(&mut conn, "a2").await);
    assert!(!exists(&mut conn, "in_block").await);
    assert!(!exists(&mut conn, "never").await);
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert!(!history[0].success);
    assert!(history[0]
        .error_message
        .as_deref()
        .unwrap()
        .contains("no_such_column"));
    let attempt = &read_attempts(&mut conn).await.unwrap()[0];
    assert_eq!(attempt.outcome.as_deref(), Some("failed"));
    assert!(attempt.partial);
}

#[tokio::test]
async fn an_opted_out_file_that_leaves_its_transaction_open_is_not_recorded_as_applied() {
    let db = empty_db("open").await;
    let dir = folder(&[(
        "001_open.sql",
        "-- no-transaction\nCREATE TABLE b1 (x int);\nBEGIN;\nCREATE TABLE b2 (x int);\n",
    )]);
    let err = run(&db, dir.path()).await.unwrap_err();
    let Error::Migration {
        location,
        message,
        hint,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(location.line, Some(3));
    assert!(message.contains("never committed"), "{message}");
    assert!(hint.contains("1 statement(s)"), "{hint}");
    let mut conn = connect(&db).await;
    assert!(exists(&mut conn, "b1").await);
    assert!(
        !exists(&mut conn, "b2").await,
        "psql would roll the open block back"
    );
    let files = discover(dir.path()).unwrap();
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(
        status_of(&files, &history)[0].status,
        MigrationStatus::Failed
    );
}

#[tokio::test]
async fn the_server_catches_a_commit_the_scanner_cannot_see() {
    // With standard_conforming_strings off (set for the database by an earlier migration,
    // so the next session starts with it), '\'' is one string to PostgreSQL but an open
    // string to a scanner that follows the default: the COMMIT below is invisible to the
    // scanner. The server's view of the transaction decides.
    let db = empty_db("hidden").await;
    let dir = folder(&[
        (
            "001_old_strings.sql",
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$;",
        ),
        (
            "002_hidden_commit.sql",
            "CREATE TABLE before_commit (x int);\nSELECT '\\'';\nCOMMIT;\nCREATE TABLE after_commit (x int);\nSELECT '';",
        ),
    ]);
    let files = discover(dir.path()).unwrap();
    assert_eq!(
        reims_verify::migrate::plan(&files[1]).unwrap(),
        TransactionMode::Wrapped
    );
    let err = run(&db, dir.path()).await.unwrap_err();
    let Error::Migration { message, hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("ended the transaction"), "{message}");
    assert!(hint.contains("did not run all-or-nothing"), "{hint}");
    let mut conn = connect(&db).await;
    assert!(
        exists(&mut conn, "before_commit").await,
        "the file's own COMMIT made it stay"
    );
    assert!(
        exists(&mut conn, "after_commit").await,
        "statements after it ran on their own"
    );
    let history = read_history(&mut conn).await.unwrap().unwrap();
    let hidden = history
        .iter()
        .find(|h| h.migration_name == "002_hidden_commit.sql")
        .unwrap();
    assert!(!hidden.success, "never recorded as applied: {history:?}");

    // The same, failing after its hidden COMMIT: the failure is not called a rollback of
    // the whole file.
    let db = empty_db("hidden").await;
    std::fs::write(
        dir.path().join("002_hidden_commit.sql"),
        "CREATE TABLE before_commit (x int);\nSELECT '\\'';\nCOMMIT;\nCREATE TABLE after_commit (x int);\nSELECT no_such_column FROM before_commit;\nSELECT '';",
    )
    .unwrap();
    let err = run(&db, dir.path()).await.unwrap_err();
    let Error::Migration { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(hint.contains("did not run all-or-nothing"), "{hint}");
    assert!(!hint.contains("rolled back completely"), "{hint}");
    let mut conn = connect(&db).await;
    assert!(exists(&mut conn, "before_commit").await);
    assert!(!exists(&mut conn, "after_commit").await);
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert!(history
        .iter()
        .any(|h| h.migration_name == "002_hidden_commit.sql" && !h.success));
}

#[tokio::test]
async fn every_reims_migration_splits_into_statements_that_build_the_same_schema() {
    // The scanner against real files: the REIMS migrations run statement by statement
    // (opted out) build exactly what they build as whole files.
    let whole = empty_db("whole").await;
    let split = empty_db("split").await;
    let dir = tempfile::tempdir().unwrap();
    for f in discover(&migrations_dir()).unwrap() {
        std::fs::write(
            dir.path().join(&f.name),
            format!("-- no-transaction\n{}", f.sql),
        )
        .unwrap();
    }
    run(&whole, &migrations_dir()).await.unwrap();
    let report = run(&split, dir.path()).await.unwrap();
    assert!(report
        .steps
        .iter()
        .all(|s| s.transaction == TransactionMode::None));
    let fingerprint = |db: String| async move {
        let mut conn = connect(&db).await;
        sqlx::query_scalar::<_, String>(
            "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
               SELECT c.relname || ':' || c.relkind::text || ':' || coalesce(pg_get_indexdef(c.oid), '') AS x
                 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
               UNION ALL SELECT a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                 || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
               UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace
               UNION ALL SELECT p.oid::regprocedure::text || ' ' || md5(p.prosrc)
                 FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
               UNION ALL SELECT tgrelid::regclass::text || ' ' || pg_get_triggerdef(oid)
                 FROM pg_trigger WHERE NOT tgisinternal
               UNION ALL SELECT c.relname || ' comment ' || md5(coalesce(obj_description(c.oid), ''))
                 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
             ) s",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    };
    assert_eq!(fingerprint(whole).await, fingerprint(split).await);
}

#[tokio::test]
async fn every_statement_refused_as_non_transactional_really_cannot_run_in_a_transaction() {
    // The refusal list is checked against the server: each statement is refused by the
    // planner, and PostgreSQL itself rejects it inside a transaction block (25001).
    let db = empty_db("nontx").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE t (x int); CREATE INDEX t_x ON t (x);
         CREATE TABLE p (x int) PARTITION BY RANGE (x);
         CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let statements = [
        "VACUUM t".to_string(),
        "CREATE INDEX CONCURRENTLY t_x2 ON t (x)".into(),
        "CREATE UNIQUE INDEX CONCURRENTLY t_x3 ON t (x)".into(),
        "DROP INDEX CONCURRENTLY t_x".into(),
        "REINDEX INDEX CONCURRENTLY t_x".into(),
        "REINDEX SCHEMA public".into(),
        format!("REINDEX DATABASE {db}"),
        format!("REINDEX SYSTEM {db}"),
        "CREATE DATABASE scratch_never".into(),
        "DROP DATABASE scratch_never".into(),
        "CREATE TABLESPACE ts_never LOCATION '/nonexistent'".into(),
        "DROP TABLESPACE ts_never".into(),
        format!("ALTER DATABASE {db} SET TABLESPACE pg_default"),
        "ALTER SYSTEM SET work_mem = '8MB'".into(),
        "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY".into(),
        "CLUSTER".into(),
        "DISCARD ALL".into(),
    ];
    for stmt in &statements {
        let dir = folder(&[("001_x.sql", &format!("{stmt};"))]);
        let files = discover(dir.path()).unwrap();
        let err = reims_verify::migrate::plan(&files[0]).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::InvalidInput, "{stmt}");
        assert!(
            err.hint().unwrap().contains("-- no-transaction"),
            "{stmt}: {err}"
        );
        sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
        let server = sqlx::raw_sql(stmt).execute(&mut conn).await.unwrap_err();
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
        let code = match &server {
            sqlx::Error::Database(d) => d.code().map(|c| c.to_string()),
            _ => None,
        };
        assert_eq!(code.as_deref(), Some("25001"), "{stmt}: {server}");
    }
}

/// Every session on the database but the caller's own, ended: what a migration that clears
/// the way for a change needing strong locks does.
const END_OTHER_SESSIONS: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database();";

/// A file that ends every other session on its database also ends the runner's control
/// session, which holds the migration lock and keeps the books. The run opens a new one,
/// takes the lock back and goes on: every file applied and recorded, every attempt logged
/// as applied, in a wrapped file and in an opted-out one, and no lock left behind.
#[tokio::test]
async fn a_file_that_ends_the_other_sessions_is_applied_and_the_run_goes_on() {
    let db = empty_db("ends_sessions").await;
    let opted_out =
        format!("-- no-transaction\n{END_OTHER_SESSIONS}\nCREATE TABLE third_table (x int);");
    let dir = folder(&[
        ("001_first.sql", "CREATE TABLE first_table (x int);"),
        ("002_end_sessions.sql", END_OTHER_SESSIONS),
        ("003_end_again.sql", &opted_out),
        ("004_last.sql", "CREATE TABLE last_table (x int);"),
    ]);
    let report = run(&db, dir.path()).await.unwrap();
    assert_eq!(report.steps.len(), 4, "{report:?}");
    let mut conn = connect(&db).await;
    for table in ["first_table", "third_table", "last_table"] {
        assert!(exists(&mut conn, table).await, "{table} missing");
    }
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(history.len(), 4, "{history:?}");
    assert!(history.iter().all(|h| h.success), "{history:?}");
    let attempts = read_attempts(&mut conn).await.unwrap();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    for a in &attempts {
        assert_eq!(
            a.outcome.as_deref(),
            Some("applied"),
            "{}: {a:?}",
            a.migration_name
        );
    }
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(locks, 0, "the migration lock was left held");
}

/// When another session takes the migration lock in the moment between a file ending the
/// control session and the run reconnecting, the run stops there with a database-trouble
/// error that names the file, and applies nothing more.
#[tokio::test]
async fn a_run_whose_lock_was_taken_while_its_control_session_was_ended_stops() {
    let db = empty_db("lock_taken").await;
    // The file waits (on the server, up to 30 s each) until the other session has seen the
    // run hold the lock, ends the sessions, then waits until the other session holds the
    // lock: no fixed pause to race against. Statistics are read afresh each time, since a
    // transaction otherwise keeps its first view of pg_stat_activity.
    let wait_for = |what: &str| {
        format!(
            "DO $w$ BEGIN FOR i IN 1..3000 LOOP PERFORM pg_stat_clear_snapshot(); \
             EXIT WHEN {what}; PERFORM pg_sleep(0.01); END LOOP; END $w$;"
        )
    };
    let ready = wait_for(
        "EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'lock_taker_ready')",
    );
    let taken = wait_for(
        "EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'lock_taker%')",
    );
    let slow_end = format!("{ready}\n{END_OTHER_SESSIONS}\n{taken}");
    let dir = folder(&[
        ("001_end_sessions.sql", slow_end.as_str()),
        ("002_after.sql", "CREATE TABLE after_table (x int);"),
    ]);
    // Another runner: it waits until the run holds the lock and says it is ready; once the
    // file has ended the run's control session (and its own), it takes the lock on a new
    // session and keeps it. The session that said it is ready never asks for the lock:
    // the file's ending of sessions is asynchronous, so a lock taken there could be taken
    // just before that session dies, and go with it.
    let taker_db = db.clone();
    let taker = tokio::spawn(async move {
        // What the other session did, and when, for the failure message.
        let started = std::time::Instant::now();
        let mut events: Vec<String> = Vec::new();
        let mut note =
            |what: String| events.push(format!("{} ms {what}", started.elapsed().as_millis()));
        let mut seen_held = false;
        while started.elapsed() < std::time::Duration::from_secs(30) {
            let mut c = connect(&taker_db).await;
            note("connected".into());
            // Whether this session is the one that said it is ready, and is to be ended.
            let mut ready_here = false;
            if sqlx::query("SET application_name = 'lock_taker'")
                .execute(&mut c)
                .await
                .is_err()
            {
                continue;
            }
            loop {
                let asked = if ready_here {
                    // Wait until the file ends this session.
                    sqlx::query_scalar::<_, bool>("SELECT false")
                        .fetch_one(&mut c)
                        .await
                } else if seen_held {
                    sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                        .bind(reims_verify::migrate::ADVISORY_LOCK_KEY)
                        .fetch_one(&mut c)
                        .await
                } else {
                    sqlx::query_scalar::<_, bool>(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                            AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
                    )
                    .fetch_one(&mut c)
                    .await
                };
                match asked {
                    Ok(true) if seen_held => {
                        note("took the lock".into());
                        return (Some(c), events);
                    }
                    Ok(true) => {
                        note("saw the run hold the lock".into());
                        seen_held = true;
                        ready_here = true;
                        if sqlx::query("SET application_name = 'lock_taker_ready'")
                            .execute(&mut c)
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Ok(false) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                    // Ended by the file too: connect again.
                    Err(e) => {
                        note(format!("session ended: {e}"));
                        break;
                    }
                }
            }
        }
        (None, events)
    });
    let result = run(&db, dir.path()).await;
    let (holder, events) = taker.await.unwrap();
    let err = match result {
        Err(e) => e,
        Ok(report) => panic!("the run went on: {report:?}; the other session: {events:?}"),
    };
    let holder =
        holder.unwrap_or_else(|| panic!("the other session never got the lock: {events:?}"));
    let text = err.to_string();
    assert!(
        matches!(err, Error::Server { .. }),
        "not a server error: {err:?}; the other session: {events:?}"
    );
    assert_eq!(err.exit_code(), ExitCode::Database, "{err:?}");
    assert!(text.contains("001_end_sessions.sql"), "{text}");
    let mut conn = connect(&db).await;
    assert!(!exists(&mut conn, "after_table").await, "the run went on");
    drop(holder);
}

/// `check` on a throw-away server, with REIMS's migrations and one more that ends every
/// other session on the database: the gate's verdict is the schema's (PASS), not a
/// database error from its own bookkeeping session having been ended.
#[test]
fn check_passes_when_a_migration_ends_the_other_sessions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The sessions on the migrated database; then, after a pause that lets `check` open the
    // sessions it opens while the migrations run, every client session of the server (the
    // shadow's database's among them).
    let every_session = "SELECT pg_sleep(0.5); SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend';";
    for ending in [END_OTHER_SESSIONS, every_session] {
        let dir = tempfile::tempdir().unwrap();
        let migrations = dir.path().join("migrations");
        std::fs::create_dir(&migrations).unwrap();
        for e in std::fs::read_dir(root.join("migrations"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(e.path(), migrations.join(e.file_name())).unwrap();
        }
        std::fs::write(migrations.join("015_end_other_sessions.sql"), ending).unwrap();
        let out = std::process::Command::new(bin())
            .args(["check", "--no-probe", "--no-report", "--migrations"])
            .arg(&migrations)
            .arg("--specs")
            .arg(root.join("specs"))
            .env("NO_COLOR", "1")
            // With a cache (of its own), the shadow's session is asked the server's
            // settings first: an ended one fails there, where a build would start again.
            .env("REIMS_VERIFY_CACHE_DIR", dir.path().join("cache"))
            .env_remove("REIMS_VERIFY_NO_CACHE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{ending}\nstdout:\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains("015_end_other_sessions.sql ended the other sessions"),
            "{stderr}"
        );
    }
}

/// `check` with `migrations` on a throw-away server: exit code and stderr. `one_by_one` sets
/// `REIMS_VERIFY_ONE_BY_ONE`, so every statement is its own round trip.
fn check_migrations(migrations: &Path, specs: &Path, one_by_one: bool) -> (Option<i32>, String) {
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "check",
        "--no-probe",
        "--no-report",
        "--statement-timeout",
        "1s",
    ])
    .arg("--migrations")
    .arg(migrations)
    .arg("--specs")
    .arg(specs)
    .env("NO_COLOR", "1")
    .env("REIMS_VERIFY_NO_CACHE", "1")
    .env_remove("REIMS_VERIFY_ONE_BY_ONE");
    if one_by_one {
        cmd.env("REIMS_VERIFY_ONE_BY_ONE", "1");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn statements_sent_together_fail_where_one_at_a_time_they_would() {
    // On a throw-away server a file in a transaction goes in runs of statements, one round
    // trip each. Whatever fails must be reported as one statement at a time reports it:
    // the same file, line, column, message and exit code, and nothing else on stderr.
    let base = "CREATE TABLE t (id int PRIMARY KEY, q int CHECK (q >= 0));\nCREATE SEQUENCE s;\n";
    let many: String = (1..=150)
        .map(|i| {
            let q = if i == 100 { -1 } else { i };
            format!("INSERT INTO t VALUES ({i}, {q});\n")
        })
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        // A failure after some statements of the run completed.
        (
            "late",
            "INSERT INTO t VALUES (1, 1);\nINSERT INTO t VALUES (2, 2);\n-- between\nINSERT INTO t VALUES (3, -3);\nINSERT INTO t VALUES (4, 4);\n".into(),
            "002_x.sql:4: new row for relation \"t\" violates check constraint \"t_q_check\" (SQLSTATE 23514)",
        ),
        // PostgreSQL parses a query string before it runs any of it: sent together, the
        // syntax error of line 5 comes first; one at a time, line 2 fails first.
        (
            "parse_first",
            "INSERT INTO t VALUES (1, 1);\nINSERT INTO t VALUES (2, -2);\nINSERT INTO t VALUES (3, 3);\nINSERT INTO t VALUES (4, 4);\nSELEC 1;\n".into(),
            "002_x.sql:2: new row for relation \"t\" violates check constraint \"t_q_check\" (SQLSTATE 23514)",
        ),
        // The first statement fails, with no position to say so.
        (
            "first",
            "INSERT INTO t VALUES (1, -1);\nINSERT INTO t VALUES (2, 2);\n".into(),
            "002_x.sql:1: new row for relation \"t\" violates check constraint \"t_q_check\" (SQLSTATE 23514)",
        ),
        // A syntax error in the second statement: the first one runs first, one at a time.
        (
            "syntax",
            "INSERT INTO t VALUES (1, 1);\nINSERT INTO t VALUES (2, 2)) ;\nINSERT INTO t VALUES (3, 3);\n".into(),
            "002_x.sql:2:28: syntax error at or near \")\" (SQLSTATE 42601)",
        ),
        // A statement timeout is each statement's own.
        (
            "timeout",
            "INSERT INTO t VALUES (1, 1);\nINSERT INTO t VALUES (2, 2);\nSELECT pg_sleep(0.6);\nSELECT pg_sleep(0.6);\nSELECT pg_sleep(3);\nINSERT INTO t VALUES (3, 3);\n".into(),
            "002_x.sql:5: canceling statement due to statement timeout (SQLSTATE 57014)",
        ),
        // An error with a position, in the first statement of a run.
        (
            "position",
            "SELECT * FROM\n  missing_table;\nINSERT INTO t VALUES (2, 2);\n".into(),
            "002_x.sql:2:3: relation \"missing_table\" does not exist (SQLSTATE 42P01)",
        ),
        // More statements than one run takes: the failure is in the second run.
        (
            "second_run",
            many,
            "002_x.sql:100: new row for relation \"t\" violates check constraint \"t_q_check\" (SQLSTATE 23514)",
        ),
    ];
    let specs = tempfile::tempdir().unwrap();
    std::fs::write(
        specs.path().join("t.yaml"),
        "table: t\nmigration: 001_base.sql\ncolumns:\n  id: { type: integer, nullable: false }\n  q: { type: integer }\n",
    )
    .unwrap();
    for (name, sql, expected) in &cases {
        let dir = folder(&[("001_base.sql", base), ("002_x.sql", sql)]);
        let together = check_migrations(dir.path(), specs.path(), false);
        let one_by_one = check_migrations(dir.path(), specs.path(), true);
        assert_eq!(together, one_by_one, "{name}");
        assert_eq!(together.0, Some(3), "{name}: {}", together.1);
        assert!(
            together.1.contains(expected),
            "{name}: expected {expected}\n{}",
            together.1
        );
        assert!(
            together.1.contains("rolled back completely"),
            "{name}: {}",
            together.1
        );
    }

    // A file whose first try fails and whose second does not: sent together, the first
    // statement's error comes with no position, so the file runs again one statement at a
    // time to learn which statement it was; this time it does not fail. The failure of the
    // first try stands, and says that the outcome changes; the file is not applied.
    let dir = folder(&[
        ("001_base.sql", base),
        (
            "002_x.sql",
            "SELECT 1 / (nextval('s') - 1);\nINSERT INTO t VALUES (2, 2);\n",
        ),
    ]);
    let (code, stderr) = check_migrations(dir.path(), specs.path(), false);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("002_x.sql:1: division by zero (SQLSTATE 22012)")
            && stderr.contains("its outcome changes from run to run"),
        "{stderr}"
    );
    let (code, stderr) = check_migrations(dir.path(), specs.path(), true);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!stderr.contains("outcome changes"), "{stderr}");

    // A COMMIT the scanner cannot see (standard_conforming_strings off, see
    // the_server_catches_a_commit_the_scanner_cannot_see): the server counts statements
    // the scanner does not, and the run is still judged as one statement at a time judges it.
    for tail in [
        "SELECT '';",
        "SELECT no_such_column FROM before_commit;\nSELECT '';",
    ] {
        let dir = folder(&[
            ("001_base.sql", base),
            (
                "002_old_strings.sql",
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$;",
            ),
            (
                "003_hidden_commit.sql",
                &format!("CREATE TABLE before_commit (x int);\nSELECT '\\'';\nCOMMIT;\nCREATE TABLE after_commit (x int);\n{tail}"),
            ),
        ]);
        let together = check_migrations(dir.path(), specs.path(), false);
        let one_by_one = check_migrations(dir.path(), specs.path(), true);
        assert_eq!(together, one_by_one, "{tail}");
        assert_eq!(together.0, Some(3), "{}", together.1);
        assert!(
            together.1.contains("did not run all-or-nothing"),
            "{}",
            together.1
        );
    }
}

#[test]
fn statements_sent_together_are_read_as_one_at_a_time_reads_them() {
    // PostgreSQL converts a query string from the client's encoding and parses it whole
    // before it runs any of it. A statement that changes standard_conforming_strings,
    // backslash_quote or client_encoding changes how the statements after it are read when
    // each is sent alone, as psql sends them, but not those sent in the same string. Such a
    // statement goes alone, so what the migrations build, and the verdict, are the same.
    let base = "CREATE TABLE notes (id int PRIMARY KEY, body text);\n";
    // One at a time, 'x\\y' and 'a\\b' are read with standard_conforming_strings off.
    let spec = "table: notes\nmigration: 001_base.sql\ncomment: 'x\\y'\ncolumns:\n  id: { type: integer, nullable: false }\n  body: { type: text, default: \"'a\\\\b'\" }\nprimary_key: { columns: [id] }\nprivileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n";
    let body = "ALTER TABLE notes ALTER COLUMN body SET DEFAULT 'a\\\\b';\nCOMMENT ON TABLE notes IS 'x\\\\y';\nINSERT INTO notes VALUES (1, 'one');\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "set",
            format!("INSERT INTO notes VALUES (0, 'zero');\nSET standard_conforming_strings = off;\n{body}"),
        ),
        (
            "set_config",
            format!("INSERT INTO notes VALUES (0, 'zero');\nSELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);\n{body}"),
        ),
        (
            "do",
            format!("INSERT INTO notes VALUES (0, 'zero');\nDO $$ BEGIN EXECUTE 'SET standard_conforming_strings TO off'; END $$;\n{body}"),
        ),
    ];
    let specs = tempfile::tempdir().unwrap();
    std::fs::write(specs.path().join("notes.yaml"), spec).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("specs/schema_migrations.yaml"),
        specs.path().join("schema_migrations.yaml"),
    )
    .unwrap();
    for (name, sql) in &cases {
        let dir = folder(&[("001_base.sql", base), ("002_x.sql", sql)]);
        let one_by_one = check_migrations(dir.path(), specs.path(), true);
        assert_eq!(one_by_one.0, Some(0), "{name}: {}", one_by_one.1);
        let together = check_migrations(dir.path(), specs.path(), false);
        assert_eq!(together, one_by_one, "{name}");
    }

    // backslash_quote off refuses \' in a string: one at a time the COMMENT after it fails.
    let dir = folder(&[
        ("001_base.sql", base),
        (
            "002_x.sql",
            "INSERT INTO notes VALUES (0, 'zero');\nSET backslash_quote = off;\nCOMMENT ON TABLE notes IS E'x\\'y';\nINSERT INTO notes VALUES (1, 'one');\n",
        ),
    ]);
    let one_by_one = check_migrations(dir.path(), specs.path(), true);
    assert_eq!(one_by_one.0, Some(3), "{}", one_by_one.1);
    assert!(one_by_one.1.contains("002_x.sql:3"), "{}", one_by_one.1);
    assert_eq!(
        check_migrations(dir.path(), specs.path(), false),
        one_by_one
    );

    // A function the file calls changes the setting without naming it: nothing in the text
    // tells, so the setting is asked after every run, and a change fails the file, saying
    // how to send one statement at a time, rather than apply what was read the old way.
    let dir = folder(&[
        ("001_base.sql", base),
        (
            "002_legacy.sql",
            "CREATE FUNCTION legacy_strings() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.set_config('standard_conforming_' || 'strings', 'off', false); END $$;\n",
        ),
        (
            "003_x.sql",
            &format!("INSERT INTO notes VALUES (0, 'zero');\nSELECT legacy_strings();\n{body}DROP FUNCTION legacy_strings();\n"),
        ),
    ]);
    let (code, stderr) = check_migrations(dir.path(), specs.path(), true);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = check_migrations(dir.path(), specs.path(), false);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("003_x.sql:1")
            && stderr.contains("standard_conforming_strings")
            && stderr.contains("REIMS_VERIFY_ONE_BY_ONE=1")
            && stderr.contains("rolled back completely"),
        "{stderr}"
    );
}

/// A file may lock or alter `schema_migrations` itself. Before, the run then waited for
/// ever: asking whether the file had ended its transaction read that table from the
/// control session, behind the file's lock, while the file's transaction waited for the
/// answer. The run now applies such files, and one that fails after taking the lock fails
/// as any other, within the same bounded time.
#[tokio::test]
async fn a_file_that_locks_or_alters_the_history_table_is_applied_without_waiting_on_it() {
    let bounded = std::time::Duration::from_secs(60);
    let db = empty_db("history_locked").await;
    let dir = folder(&[
        ("001_first.sql", "CREATE TABLE first_table (x int);"),
        (
            "002_alter_history.sql",
            "ALTER TABLE schema_migrations ADD COLUMN note text;",
        ),
        (
            "003_lock_history.sql",
            "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE;\nCREATE TABLE third_table (x int);",
        ),
    ]);
    let report = tokio::time::timeout(bounded, run(&db, dir.path()))
        .await
        .expect("the run waited on the lock the file holds")
        .unwrap();
    assert_eq!(report.steps.len(), 3, "{report:?}");
    let mut conn = connect(&db).await;
    assert!(exists(&mut conn, "third_table").await);
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().all(|h| h.success), "{history:?}");

    let db = empty_db("history_locked").await;
    let dir = folder(&[(
        "001_lock_then_fail.sql",
        "LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE;\nCREATE TABLE half_table (x int);\nSELECT 1/0;",
    )]);
    let err = tokio::time::timeout(bounded, run(&db, dir.path()))
        .await
        .expect("the run waited on the lock the failing file holds")
        .unwrap_err();
    let Error::Migration { message, hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("division by zero"), "{message}");
    assert!(hint.contains("rolled back"), "{hint}");
    let mut conn = connect(&db).await;
    assert!(
        !exists(&mut conn, "half_table").await,
        "the file is all-or-nothing"
    );
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert!(
        history
            .iter()
            .all(|h| h.migration_name != "001_lock_then_fail.sql" || !h.success),
        "{history:?}"
    );
}
