//! Time limits, waiting and interruption, against real PostgreSQL servers: a hanging
//! migration times out on the ephemeral cluster too; on a handed-over server (a second
//! cluster, reached by URL as a password-authenticated role that owns its database) a
//! second runner waits for the lock naming who holds it, and gives up after --lock-wait;
//! SIGTERM or Ctrl-C cancels the statement on the server and releases the lock before the
//! process exits with 130.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use reims_verify::migrate::ADVISORY_LOCK_KEY;
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};
use sqlx::{Connection, PgConnection};

const PASSWORD: &str = "M1grat0r-pw!";

/// The handed-over server: a second cluster where `migrator` (no superuser) must give a
/// password and owns the databases it migrates.
fn server() -> &'static EphemeralCluster {
    static SERVER: OnceLock<EphemeralCluster> = OnceLock::new();
    SERVER.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let c = EphemeralCluster::start(&ClusterOptions::default())
                        .await
                        .unwrap();
                    let mut conn = c.connect("postgres").await.unwrap();
                    sqlx::raw_sql(&format!("CREATE ROLE migrator LOGIN PASSWORD '{PASSWORD}'"))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    let hba = c.dir().join("data/pg_hba.conf");
                    let old = std::fs::read_to_string(&hba).unwrap();
                    std::fs::write(&hba, format!("local all migrator scram-sha-256\n{old}"))
                        .unwrap();
                    sqlx::raw_sql("SELECT pg_reload_conf()")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    conn.close().await.unwrap();
                    c
                })
        })
        .join()
        .unwrap()
    })
}

/// A fresh database on the server, owned by `migrator`; returns its URL and name.
fn server_db(tag: &str) -> (String, String) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "{tag}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let n = name.clone();
    block_on(async move {
        let mut conn = server().connect("postgres").await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {n} OWNER migrator"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let url = format!(
        "postgres://migrator:{PASSWORD}@localhost/{name}?host={}&port=5432",
        server().dir().display()
    );
    (url, name)
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A superuser session on the server, to watch what the runs do (with a runtime of its own,
/// which its connection needs for as long as it lives).
struct Watcher {
    rt: tokio::runtime::Runtime,
    conn: PgConnection,
}

fn watch(db: &str) -> Watcher {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(server().connect(db)).unwrap();
    Watcher { rt, conn }
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

/// A running `reims-verify` whose stderr is collected as it comes.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    started: Instant,
}

impl Running {
    fn spawn(args: &[&str], dir: &Path) -> Running {
        let mut child = Command::new(bin())
            .args(args)
            .arg("--migrations")
            .arg(dir)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Running {
            child,
            stderr,
            started: Instant::now(),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for_stderr(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no `{needle}` on stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Exit code, stdout, stderr, and how long the run took.
    fn finish(mut self, limit: Duration) -> (i32, String, String, Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(50)); // let the reader drain
                return (
                    status.code().unwrap_or(-1),
                    out,
                    self.stderr(),
                    self.started.elapsed(),
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after {limit:?}: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn run(args: &[&str], dir: &Path, limit: Duration) -> (i32, String, String, Duration) {
    Running::spawn(args, dir).finish(limit)
}

/// The backend running a statement that contains `needle`, once it runs.
fn wait_for_query(w: &mut Watcher, db: &str, needle: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pid: Option<i32> =
            w.rt.block_on(
                sqlx::query_scalar(
                    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active'
                   AND strpos(query, $2) > 0 AND pid <> pg_backend_pid()",
                )
                .bind(db)
                .bind(needle)
                .fetch_optional(&mut w.conn),
            )
            .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(Instant::now() < deadline, "`{needle}` never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The session holding the migration lock in `db`, if any.
fn lock_holder(w: &mut Watcher, db: &str) -> Option<i32> {
    w.rt.block_on(
        sqlx::query_scalar(
            "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
              WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1
                AND l.classid = ($2::int8)::oid AND l.objid = ($3::int8)::oid AND l.objsubid = 1",
        )
        .bind(db)
        .bind(ADVISORY_LOCK_KEY >> 32)
        .bind(ADVISORY_LOCK_KEY & 0xffff_ffff)
        .fetch_optional(&mut w.conn),
    )
    .unwrap()
}

fn backends_alive(w: &mut Watcher, pids: &[i32]) -> i64 {
    w.rt.block_on(
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)")
            .bind(pids)
            .fetch_one(&mut w.conn),
    )
    .unwrap()
}

fn relation_exists(w: &mut Watcher, name: &str) -> bool {
    w.rt.block_on(
        sqlx::query_scalar::<_, Option<String>>("SELECT to_regclass($1)::text")
            .bind(name)
            .fetch_one(&mut w.conn),
    )
    .unwrap()
    .is_some()
}

fn history_row(w: &mut Watcher, name: &str) -> Option<(bool, Option<String>)> {
    w.rt.block_on(
        sqlx::query_as(
            "SELECT success, error_message FROM schema_migrations WHERE migration_name = $1",
        )
        .bind(name)
        .fetch_optional(&mut w.conn),
    )
    .unwrap()
}

#[test]
fn a_hanging_migration_times_out_on_the_ephemeral_cluster_naming_the_file_and_the_flag() {
    let dir = folder(&[
        ("001_ok.sql", "CREATE TABLE ok (x int);"),
        (
            "002_hang.sql",
            "CREATE TABLE hang (x int);\nSELECT pg_sleep(600);",
        ),
    ]);
    for command in [
        vec!["migrate", "--all", "--statement-timeout", "2s"],
        vec![
            "check",
            "--no-probe",
            "--no-report",
            "--statement-timeout",
            "2s",
        ],
    ] {
        let (code, _, err, took) = run(&command, dir.path(), Duration::from_secs(120));
        assert_eq!(code, 3, "{command:?}: {err}");
        assert!(err.contains("002_hang.sql:2"), "{err}");
        assert!(err.contains("57014"), "{err}");
        assert!(err.contains("--statement-timeout (2s)"), "{err}");
        assert!(took < Duration::from_secs(100), "{command:?} took {took:?}");
    }
}

#[test]
fn the_statement_timeout_default_and_flag_reach_every_migration_on_the_ephemeral_cluster() {
    let expect = |value: &str| {
        folder(&[(
            "001_expect.sql",
            &format!("DO $$ BEGIN IF current_setting('statement_timeout') <> '{value}' THEN RAISE EXCEPTION 'statement_timeout is %', current_setting('statement_timeout'); END IF; END $$;"),
        )])
    };
    let default = expect("30s");
    let (code, _, err, _) = run(
        &["migrate", "--all"],
        default.path(),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{err}");
    let seven = expect("7s");
    let (code, _, err, _) = run(
        &["migrate", "--all", "--statement-timeout", "7s"],
        seven.path(),
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{err}");
    // The expectation can fail: the 30s file under another limit.
    let (code, _, err, _) = run(
        &["migrate", "--all", "--statement-timeout", "7s"],
        default.path(),
        Duration::from_secs(120),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("statement_timeout is 7s"), "{err}");
}

#[test]
fn a_statement_timeout_on_a_server_names_the_flag() {
    let (url, name) = server_db("stmt");
    let dir = folder(&[(
        "001_slow.sql",
        "CREATE TABLE slow (x int);\nSELECT pg_sleep(30);",
    )]);
    let (code, _, err, took) = run(
        &[
            "migrate",
            "--all",
            "--statement-timeout",
            "1s",
            "--database-url",
            &url,
        ],
        dir.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("001_slow.sql:2") && err.contains("--statement-timeout (1s)"),
        "{err}"
    );
    assert!(took < Duration::from_secs(25), "{took:?}");
    assert!(!err.contains(PASSWORD), "{err}");
    let mut conn = watch(&name);
    assert!(!relation_exists(&mut conn, "slow"));
}

#[test]
fn a_second_runner_waits_for_the_lock_naming_the_holder_then_carries_on() {
    let (url, name) = server_db("wait");
    let dir = folder(&[(
        "001_slow.sql",
        "CREATE TABLE slow (x int);\nSELECT pg_sleep(4);",
    )]);
    let mut conn = watch(&name);
    let first = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    wait_for_query(&mut conn, &name, "pg_sleep(4)");
    let holder = lock_holder(&mut conn, &name).expect("the first runner holds the lock");
    let second = Running::spawn(
        &[
            "migrate",
            "--all",
            "--format",
            "json",
            "--database-url",
            &url,
        ],
        dir.path(),
    );
    second.wait_for_stderr("waiting for the migration lock", Duration::from_secs(30));
    let said = second.stderr();
    for part in [
        format!("backend pid {holder}"),
        "application reims-verify".to_string(),
        "user migrator".to_string(),
        "local socket".to_string(),
        "connected since".to_string(),
        "it is applying 001_slow.sql".to_string(),
        "up to 5min, --lock-wait".to_string(),
    ] {
        assert!(said.contains(&part), "no `{part}` in: {said}");
    }
    let (code, _, err, _) = first.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    let (code, out, err, _) = second.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("got the migration lock after"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["steps"][0]["action"], "skipped", "{report}");
    assert!(!err.contains(PASSWORD));
}

#[test]
fn a_second_runner_gives_up_after_lock_wait_naming_the_holder_and_the_flag() {
    let (url, name) = server_db("giveup");
    let dir = folder(&[(
        "001_slow.sql",
        "CREATE TABLE slow (x int);\nSELECT pg_sleep(8);",
    )]);
    let mut conn = watch(&name);
    let first = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    wait_for_query(&mut conn, &name, "pg_sleep(8)");
    let holder = lock_holder(&mut conn, &name).unwrap();
    let (code, _, err, took) = run(
        &[
            "migrate",
            "--all",
            "--lock-wait",
            "1s",
            "--database-url",
            &url,
        ],
        dir.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--lock-wait of 1s"), "{err}");
    assert!(err.contains(&format!("backend pid {holder}")), "{err}");
    assert!(
        err.contains(&format!("pg_terminate_backend({holder})")),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let (code, _, err, _) = first.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    // A bad value is refused before anything runs.
    let (code, _, err, _) = run(
        &[
            "migrate",
            "--all",
            "--lock-wait",
            "soon",
            "--database-url",
            &url,
        ],
        dir.path(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--lock-wait"), "{err}");
}

#[test]
fn sigterm_during_a_migration_on_a_server_cancels_it_and_releases_the_lock() {
    let (url, name) = server_db("sigterm");
    let dir = folder(&[
        ("001_first.sql", "CREATE TABLE first_done (x int);"),
        (
            "002_hang.sql",
            "CREATE TABLE before_sleep (x int);\nSELECT pg_sleep(600);",
        ),
    ]);
    let mut conn = watch(&name);
    let run = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    let work = wait_for_query(&mut conn, &name, "pg_sleep(600)");
    let control = lock_holder(&mut conn, &name).unwrap();
    run.signal(Signal::SIGTERM);
    let (code, _, err, _) = run.finish(Duration::from_secs(60));
    assert_eq!(code, 130, "{err}");
    // Checked the moment the process is gone: nothing of ours is left on the server.
    assert_eq!(backends_alive(&mut conn, &[work, control]), 0, "{err}");
    assert_eq!(lock_holder(&mut conn, &name), None, "the lock is free");
    assert!(
        err.contains("cancelled 002_hang.sql on the server"),
        "{err}"
    );
    assert!(err.contains("nothing of it stays"), "{err}");
    assert!(err.contains("released the migration lock"), "{err}");
    assert!(err.contains("recorded the attempt as interrupted"), "{err}");
    assert!(
        !err.contains("temp files"),
        "no temp files were involved: {err}"
    );
    assert!(!err.contains(PASSWORD));
    assert!(relation_exists(&mut conn, "first_done"));
    assert!(
        !relation_exists(&mut conn, "before_sleep"),
        "the interrupted file was rolled back"
    );
    let (success, error) = history_row(&mut conn, "002_hang.sql").unwrap();
    assert!(!success);
    assert!(error.unwrap().contains("interrupted"));
    let outcome: Option<String> = conn.rt.block_on(
        sqlx::query_scalar("SELECT outcome FROM reims_verify.migration_attempts WHERE migration_name = '002_hang.sql'")
            .fetch_one(&mut conn.conn),
    )
    .unwrap();
    assert_eq!(outcome.as_deref(), Some("interrupted"));
}

#[test]
fn ctrl_c_during_a_migration_without_transaction_says_what_stays() {
    let (url, name) = server_db("sigint");
    let dir = folder(&[(
        "001_no_tx.sql",
        "-- no-transaction\nCREATE TABLE stays (x int);\nSELECT pg_sleep(600);\nCREATE TABLE never (x int);",
    )]);
    let mut conn = watch(&name);
    let run = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    let work = wait_for_query(&mut conn, &name, "pg_sleep(600)");
    let control = lock_holder(&mut conn, &name).unwrap();
    run.signal(Signal::SIGINT);
    let (code, _, err, _) = run.finish(Duration::from_secs(60));
    assert_eq!(code, 130, "{err}");
    assert_eq!(backends_alive(&mut conn, &[work, control]), 0, "{err}");
    assert_eq!(lock_holder(&mut conn, &name), None);
    assert!(
        err.contains("cancelled the statement of 001_no_tx.sql"),
        "{err}"
    );
    assert!(
        err.contains("the 1 statement(s) that had committed stay applied"),
        "{err}"
    );
    assert!(!err.contains("rolled back"), "{err}");
    assert!(relation_exists(&mut conn, "stays"));
    assert!(!relation_exists(&mut conn, "never"));
    let (success, error) = history_row(&mut conn, "001_no_tx.sql").unwrap();
    assert!(!success);
    assert!(error.unwrap().contains("1 statement(s) had committed"));
    let partial: bool = conn.rt.block_on(
        sqlx::query_scalar("SELECT partial FROM reims_verify.migration_attempts WHERE migration_name = '001_no_tx.sql'")
            .fetch_one(&mut conn.conn),
    )
    .unwrap();
    assert!(partial);
}

#[test]
fn sigterm_while_waiting_for_the_lock_applies_nothing() {
    let (url, name) = server_db("waitterm");
    let dir = folder(&[(
        "001_slow.sql",
        "CREATE TABLE slow (x int);\nSELECT pg_sleep(6);",
    )]);
    let mut conn = watch(&name);
    let first = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    wait_for_query(&mut conn, &name, "pg_sleep(6)");
    let waiting = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    waiting.wait_for_stderr("waiting for the migration lock", Duration::from_secs(30));
    waiting.signal(Signal::SIGTERM);
    let (code, _, err, _) = waiting.finish(Duration::from_secs(60));
    assert_eq!(code, 130, "{err}");
    assert!(
        err.contains("stopped waiting for the migration lock; nothing was applied"),
        "{err}"
    );
    let (code, _, err, _) = first.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "the first runner is unharmed: {err}");
    assert!(history_row(&mut conn, "001_slow.sql").unwrap().0);
}

#[test]
fn sigkill_during_a_migration_without_transaction_leaves_an_honest_record() {
    // SIGKILL cannot be handled; the record written before the first statement tells the
    // truth: not applied, and possibly partly applied.
    let (url, name) = server_db("sigkill");
    let dir = folder(&[(
        "001_no_tx.sql",
        "-- no-transaction\nCREATE TABLE k1 (x int);\nSELECT pg_sleep(600);",
    )]);
    let mut conn = watch(&name);
    let run = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    let work = wait_for_query(&mut conn, &name, "pg_sleep(600)");
    run.signal(Signal::SIGKILL);
    let (code, _, _, _) = run.finish(Duration::from_secs(30));
    assert_eq!(code, -1, "killed by a signal");
    // The server still runs the statement the dead client sent; end it.
    conn.rt
        .block_on(
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(work)
                .execute(&mut conn.conn),
        )
        .unwrap();
    assert!(relation_exists(&mut conn, "k1"));
    let (success, error) = history_row(&mut conn, "001_no_tx.sql").unwrap();
    assert!(!success);
    assert!(error.unwrap().contains("part of the file may be applied"));
    let (code, out, err, _) = run_list(&url, dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("failed"), "{out}");
}

fn run_list(url: &str, dir: &Path) -> (i32, String, String, Duration) {
    run(
        &["migrate", "--list", "--database-url", url],
        dir,
        Duration::from_secs(60),
    )
}

#[test]
fn sigkill_during_a_migration_in_a_transaction_leaves_nothing_of_it() {
    let (url, name) = server_db("sigkilltx");
    let dir = folder(&[(
        "001_tx.sql",
        "CREATE TABLE k2 (x int);\nSELECT pg_sleep(600);",
    )]);
    let mut conn = watch(&name);
    let run = Running::spawn(&["migrate", "--all", "--database-url", &url], dir.path());
    let work = wait_for_query(&mut conn, &name, "pg_sleep(600)");
    run.signal(Signal::SIGKILL);
    let (code, _, _, _) = run.finish(Duration::from_secs(30));
    assert_eq!(code, -1);
    conn.rt
        .block_on(
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(work)
                .execute(&mut conn.conn),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backends_alive(&mut conn, &[work]) > 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !relation_exists(&mut conn, "k2"),
        "the transaction never committed"
    );
    assert_eq!(
        history_row(&mut conn, "001_tx.sql"),
        None,
        "nothing is recorded as applied"
    );
    let outcome: Option<Option<String>> = conn
        .rt
        .block_on(
            sqlx::query_scalar("SELECT outcome FROM reims_verify.migration_attempts WHERE migration_name = '001_tx.sql'")
                .fetch_optional(&mut conn.conn),
        )
        .unwrap();
    assert_eq!(outcome, Some(None), "the attempt stays unfinished");
    let (_, out, _) = cli_history(&url, false);
    assert!(out.contains("unfinished (the run was killed"), "{out}");
    let (_, out, _) = cli_history(&url, true);
    let entries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entry = &entries.as_array().unwrap()[0];
    assert_eq!(entry["migration_name"], "001_tx.sql", "{entries}");
    assert!(
        entry.get("success").is_none(),
        "no schema_migrations row: {entries}"
    );
    assert_eq!(entry["attempts"][0]["outcome"], serde_json::Value::Null);
}

fn cli_history(url: &str, json: bool) -> (i32, String, String) {
    let format = if json { "json" } else { "table" };
    let out = Command::new(bin())
        .args([
            "migrate",
            "--history",
            "--format",
            format,
            "--database-url",
            url,
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_migration_waiting_on_an_application_lock_fails_after_lock_timeout_naming_the_flag() {
    let (url, name) = server_db("locktimeout");
    let first = folder(&[("001_table.sql", "CREATE TABLE busy (x int);")]);
    let (code, _, err, _) = run(
        &["migrate", "--all", "--database-url", &url],
        first.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    let mut conn = watch(&name);
    conn.rt
        .block_on(
            sqlx::raw_sql("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
                .execute(&mut conn.conn),
        )
        .unwrap();
    std::fs::write(
        first.path().join("002_alter.sql"),
        "ALTER TABLE busy ADD COLUMN y int;",
    )
    .unwrap();
    let (code, _, err, took) = run(
        &[
            "migrate",
            "--all",
            "--lock-timeout",
            "1s",
            "--database-url",
            &url,
        ],
        first.path(),
        Duration::from_secs(60),
    );
    conn.rt
        .block_on(sqlx::raw_sql("ROLLBACK").execute(&mut conn.conn))
        .unwrap();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("002_alter.sql:1") && err.contains("55P03"),
        "{err}"
    );
    assert!(err.contains("--lock-timeout"), "{err}");
    assert!(took < Duration::from_secs(30));
}

#[test]
fn a_file_that_sets_its_own_statement_timeout_keeps_it_for_itself() {
    let dir = folder(&[
        (
            "001_long.sql",
            "SET statement_timeout = 0;\nSELECT pg_sleep(3);",
        ),
        ("002_short.sql", "SELECT pg_sleep(3);"),
    ]);
    let (code, _, err, _) = run(
        &["migrate", "--all", "--statement-timeout", "1s"],
        dir.path(),
        Duration::from_secs(120),
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("002_short.sql:1"),
        "001 ran past the limit it lifted, 002 did not: {err}"
    );
}

#[test]
fn a_role_that_may_not_create_the_attempt_log_migrates_with_a_warning() {
    let name = "nocreate".to_string();
    block_on(async {
        let mut conn = server().connect("postgres").await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut conn = server().connect(&name).await.unwrap();
        sqlx::raw_sql("GRANT CREATE, USAGE ON SCHEMA public TO migrator")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let url = format!(
        "postgres://migrator:{PASSWORD}@localhost/{name}?host={}&port=5432",
        server().dir().display()
    );
    let dir = folder(&[("001_a.sql", "CREATE TABLE a (x int);")]);
    let (code, _, err, _) = run(
        &["migrate", "--all", "--database-url", &url],
        dir.path(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: cannot create reims_verify.migration_attempts"),
        "{err}"
    );
    let mut conn = watch(&name);
    assert_eq!(history_row(&mut conn, "001_a.sql").map(|r| r.0), Some(true));
    assert!(!relation_exists(
        &mut conn,
        "reims_verify.migration_attempts"
    ));
}
