//! The migration history is never damaged, against a real PostgreSQL: a failed forced
//! re-apply leaves the earlier success as the record; a database migrated by the seed's own
//! runner is adopted in place; the bookkeeping ignores whatever search_path a migration
//! installs; `--history` needs no migrations folder; and a lost connection is reported
//! without claiming a record that was never written.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use reims_verify::error::{Error, ExitCode};
use reims_verify::migrate::{
    apply, discover, read_attempts, read_history, status_of, ApplyMode, ApplyOptions,
    MigrationStatus,
};
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};

fn url(db: &str) -> String {
    format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    )
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Run the binary; (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn migrations() -> String {
    migrations_dir().display().to_string()
}

#[test]
fn a_failed_forced_reapply_leaves_the_earlier_success_as_the_record() {
    let db = block_on(empty_db("reapply"));
    let u = url(&db);
    let m = migrations();
    let (code, _, err) = cli(&["migrate", "--all", "--migrations", &m, "--database-url", &u]);
    assert_eq!(code, 0, "{err}");
    let before = block_on(async {
        let mut c = connect(&db).await;
        read_history(&mut c).await.unwrap().unwrap()
    });

    // Re-applying 013 fails: its objects exist.
    let (code, _, err) = cli(&[
        "migrate",
        "13",
        "--force",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("013_create_users.sql"), "{err}");
    assert!(err.contains("42P07") || err.contains("42710"), "{err}");
    assert!(
        err.contains("still records its earlier successful application"),
        "{err}"
    );
    assert!(err.contains("reims_verify.migration_attempts"), "{err}");

    // The history is exactly what it was.
    let after = block_on(async {
        let mut c = connect(&db).await;
        read_history(&mut c).await.unwrap().unwrap()
    });
    assert_eq!(before, after);

    // migrate --all and check behave as if the re-apply never happened.
    let (code, out, err) = cli(&[
        "migrate",
        "--all",
        "--format",
        "json",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["action"] == "skipped"),
        "{report}"
    );
    let (code, out, err) = cli(&[
        "migrate",
        "--list",
        "--format",
        "json",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{list}"
    );
    let (code, out, err) = cli(&["check", "--no-probe", "--no-report", "--database-url", &u]);
    assert_eq!(code, 0, "check must pass: {out}\n{err}");

    // The failed attempt is on record, beside the success.
    let (code, out, err) = cli(&[
        "migrate",
        "--history",
        "--format",
        "json",
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 0, "{err}");
    let history: serde_json::Value = serde_json::from_str(&out).unwrap();
    let users = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["migration_name"] == "013_create_users.sql")
        .unwrap();
    assert_eq!(users["success"], true);
    let attempts = users["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{users}");
    assert_eq!(attempts[0]["action"], "reapply");
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[1]["outcome"], "applied");
    let (code, out, _) = cli(&["migrate", "--history", "--database-url", &u]);
    assert_eq!(code, 0);
    assert!(out.contains("attempts that did not apply"), "{out}");
    let (_, out, _) = cli(&[
        "migrate",
        "--list",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert!(out.contains("the earlier success stands"), "{out}");
}

#[tokio::test]
async fn a_failed_first_apply_is_recorded_as_failed_and_a_later_success_replaces_it() {
    let db = empty_db("retry").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_a.sql"),
        "CREATE TABLE a (x int REFERENCES missing);",
    )
    .unwrap();
    let files = discover(dir.path()).unwrap();
    let err = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
    .unwrap_err();
    let Error::Migration { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        hint.contains("rolled back completely") && hint.contains("recorded as failed"),
        "{hint}"
    );
    let mut conn = connect(&db).await;
    let h = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(status_of(&files, &h)[0].status, MigrationStatus::Failed);
    std::fs::write(dir.path().join("001_a.sql"), "CREATE TABLE a (x int);").unwrap();
    let files = discover(dir.path()).unwrap();
    apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let h = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(h.len(), 1);
    assert!(h[0].success && h[0].error_message.is_none());
    assert_eq!(h[0].checksum.as_deref(), Some(files[0].checksum.as_str()));
    let attempts = read_attempts(&mut conn).await.unwrap();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|a| a.outcome.clone().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["applied", "failed"]);
}

/// The tracking table exactly as the seed's README creates it (not the tool's constant, so
/// that this test is an independent statement of the seed).
const SEED_DDL: &str = "CREATE TABLE schema_migrations (
    id SERIAL PRIMARY KEY,
    migration_name VARCHAR(255) UNIQUE NOT NULL,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN DEFAULT true,
    error_message TEXT
);";

#[test]
fn a_database_migrated_by_the_seed_runner_is_adopted_in_place() {
    let db = block_on(async {
        let db = empty_db("seedrunner").await;
        let mut conn = connect(&db).await;
        sqlx::raw_sql(SEED_DDL).execute(&mut conn).await.unwrap();
        // What the seed's runner does: run each file as a script, then record its name.
        for f in discover(&migrations_dir()).unwrap().iter().take(5) {
            sqlx::raw_sql(&f.sql).execute(&mut conn).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations (migration_name) VALUES ($1)")
                .bind(&f.name)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations (migration_name, success, error_message) VALUES ('006_create_transactions.sql', false, 'boom')")
            .execute(&mut conn)
            .await
            .unwrap();
        db
    });
    let u = url(&db);
    let m = migrations();
    let (code, out, err) = cli(&[
        "migrate",
        "--all",
        "--format",
        "json",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("adopted schema_migrations").count(), 1, "{err}");
    assert!(
        err.contains("the 6 migration(s) it records have no checksum"),
        "{err}"
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let actions: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[..5], ["skipped"; 5]);
    assert!(actions[5..].iter().all(|a| *a == "applied"), "{actions:?}");

    block_on(async {
        let mut conn = connect(&db).await;
        let h = read_history(&mut conn).await.unwrap().unwrap();
        assert_eq!(h.len(), 14);
        assert!(h.iter().all(|r| r.success), "{h:?}");
        let known = h.iter().filter(|r| r.checksum.is_some()).count();
        assert_eq!(known, 9, "checksums of the seed runner's rows stay unknown");
    });
    // Said once: the next run is quiet, and the gate passes.
    let (code, _, err) = cli(&["migrate", "--all", "--migrations", &m, "--database-url", &u]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("adopted"), "{err}");
    let (_, out, _) = cli(&[
        "migrate",
        "--list",
        "--migrations",
        &m,
        "--database-url",
        &u,
    ]);
    assert_eq!(out.matches("(recorded: unknown)").count(), 5, "{out}");
    let (code, out, err) = cli(&[
        "check",
        "--no-probe",
        "--no-report",
        "--format",
        "json",
        "--database-url",
        &u,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The seed runner's rows are applied, and nothing says they are unchanged: whether
    // their files changed since cannot be told, a skip each.
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    let of = |code: &str, status: &str| -> Vec<String> {
        run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code && f["status"] == status)
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let unknown = of("migration.checksum", "skip");
    assert_eq!(unknown.len(), 5, "{unknown:#?}");
    assert!(
        unknown.iter().all(|m| m.contains("cannot be told")),
        "{unknown:#?}"
    );
    let applied = of("migration.applied", "pass");
    assert_eq!(applied.len(), 14, "{applied:#?}");
    assert_eq!(
        applied.iter().filter(|m| m.ends_with("unchanged")).count(),
        9,
        "{applied:#?}"
    );
}

#[tokio::test]
async fn the_bookkeeping_ignores_the_search_path_and_functions_a_migration_installs() {
    let db = empty_db("hostile").await;
    let dir = tempfile::tempdir().unwrap();
    // A trap schema first on every new session's search_path, with look-alikes of every
    // table and function the bookkeeping could reach for unqualified.
    let trap = "CREATE SCHEMA trap;
CREATE TABLE trap.schema_migrations (id int, migration_name text UNIQUE, applied_at timestamp, success boolean, error_message text, checksum text);
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.now called'; END $$;
CREATE FUNCTION trap.to_regclass(text) RETURNS regclass LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.to_regclass called'; END $$;
CREATE FUNCTION trap.txid_current() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.txid_current called'; END $$;
CREATE FUNCTION trap.pg_backend_pid() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.pg_backend_pid called'; END $$;
CREATE FUNCTION trap.pg_try_advisory_lock(bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.pg_try_advisory_lock called'; END $$;
CREATE FUNCTION trap.pg_advisory_unlock(bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trap.pg_advisory_unlock called'; END $$;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = trap, pg_catalog, public', current_database()); END $$;
SELECT pg_catalog.set_config('search_path', 'trap, pg_catalog', false);";
    std::fs::write(dir.path().join("001_trap.sql"), trap).unwrap();
    std::fs::write(
        dir.path().join("002_next.sql"),
        "SET TIME ZONE 'Asia/Kathmandu';\nCREATE TABLE public.next_table (x int);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("003_last.sql"),
        "-- no-transaction\nCREATE TABLE public.last_table (x int);",
    )
    .unwrap();
    let files = discover(dir.path()).unwrap();
    let report = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.steps.len(), 3);
    // A second run starts its sessions with the trap search_path.
    let again = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        again.steps.iter().all(|s| s.action == "skipped"),
        "{again:?}"
    );
    let mut conn = connect(&db).await;
    let public: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.schema_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(public, 3);
    let trapped: i64 = sqlx::query_scalar("SELECT count(*) FROM trap.schema_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(trapped, 0);
    assert_eq!(read_history(&mut conn).await.unwrap().unwrap().len(), 3);
}

#[test]
fn migrate_history_works_without_a_migrations_folder() {
    let db = block_on(async {
        let db = empty_db("nofolder").await;
        apply(
            &target(&db),
            &discover(&migrations_dir()).unwrap(),
            &ApplyMode::All,
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
        db
    });
    let nowhere = tempfile::tempdir().unwrap();
    let missing = nowhere.path().join("no-such-folder");
    let missing = missing.to_str().unwrap();
    let (code, out, err) = cli(&[
        "migrate",
        "--history",
        "--migrations",
        missing,
        "--database-url",
        &url(&db),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("014_create_sessions.sql"), "{out}");
    // Run where no `migrations` folder exists, with the default.
    let out = Command::new(bin())
        .args([
            "migrate",
            "--history",
            "--format",
            "json",
            "--database-url",
            &url(&db),
        ])
        .current_dir(nowhere.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 14);
    // The other actions need the folder, and say so.
    let (code, _, err) = cli(&[
        "migrate",
        "--list",
        "--migrations",
        missing,
        "--database-url",
        &url(&db),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-folder"), "{err}");
}

#[test]
fn entries_that_look_like_migrations_are_never_left_out_silently() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("001_a.sql"), "CREATE TABLE a (x int);").unwrap();
    std::fs::write(dir.path().join("002_b.sql.bak"), "CREATE TABLE b (x int);").unwrap();
    let db = block_on(empty_db("warn"));
    let (code, _, err) = cli(&[
        "migrate",
        "--all",
        "--migrations",
        dir.path().to_str().unwrap(),
        "--database-url",
        &url(&db),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning:") && err.contains("002_b.sql.bak") && err.contains("not applied"),
        "{err}"
    );
    std::fs::write(dir.path().join("003_c.SQL"), "CREATE TABLE c (x int);").unwrap();
    let (code, _, err) = cli(&[
        "migrate",
        "--all",
        "--migrations",
        dir.path().to_str().unwrap(),
        "--database-url",
        &url(&db),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("003_c.SQL") && err.contains("rename it to 003_c.sql"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("003_c.SQL")).unwrap();
    nix::unistd::mkfifo(
        &dir.path().join("003_pipe.sql"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    let started = Instant::now();
    let (code, _, err) = cli(&[
        "check",
        "--no-probe",
        "--no-report",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("003_pipe.sql") && err.contains("FIFO"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn a_lost_work_session_is_rolled_back_and_recorded_by_the_control_session() {
    let db = empty_db("lost").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_slow.sql"),
        "CREATE TABLE slow_a (x int);\nSELECT pg_sleep(60);",
    )
    .unwrap();
    let files = discover(dir.path()).unwrap();
    let target = target(&db);
    let mut conn = connect(&db).await;
    let options = ApplyOptions::default();
    let (result, ()) = tokio::join!(
        tokio::time::timeout(
            Duration::from_secs(60),
            apply(&target, &files, &ApplyMode::All, &options)
        ),
        async {
            let pid = wait_for_sleep(&mut conn, &db).await;
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    );
    let err = result.unwrap().unwrap_err();
    let Error::Migration { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        hint.contains("was lost") && hint.contains("nothing of it stays"),
        "{hint}"
    );
    assert!(hint.contains("recorded as failed"), "{hint}");
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('slow_a')::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(exists.is_none());
    let h = read_history(&mut conn).await.unwrap().unwrap();
    assert!(!h[0].success);
}

#[tokio::test]
async fn a_lost_server_is_reported_without_claiming_a_record() {
    let own = EphemeralCluster::start(&ClusterOptions::default())
        .await
        .unwrap();
    own.create_database("lost", None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_slow.sql"),
        "CREATE TABLE slow_b (x int);\nSELECT pg_sleep(60);",
    )
    .unwrap();
    let files = discover(dir.path()).unwrap();
    let target = own.connect_options("lost");
    let mut conn = own.connect("lost").await.unwrap();
    let mut stopped_at = None;
    let options = ApplyOptions::default();
    let (result, ()) = tokio::join!(
        tokio::time::timeout(
            Duration::from_secs(60),
            apply(&target, &files, &ApplyMode::All, &options)
        ),
        async {
            wait_for_sleep(&mut conn, "lost").await;
            stopped_at = Some(Instant::now());
            // Immediate shutdown of the whole server, from another thread.
            let pid = own.pid().expect("the server runs") as i32;
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGQUIT,
            )
            .unwrap();
        }
    );
    let err = result.unwrap().unwrap_err();
    assert!(stopped_at.unwrap().elapsed() < Duration::from_secs(30));
    assert_eq!(err.exit_code(), ExitCode::Database);
    let Error::Migration { hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(hint.contains("could not be recorded"), "{hint}");
    assert!(!hint.contains("recorded as failed"), "{hint}");
    assert!(!hint.contains("still records"), "{hint}");
}

/// Wait until a migration's pg_sleep runs in `db`; returns that backend's pid.
async fn wait_for_sleep(conn: &mut sqlx::PgConnection, db: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(60)%' AND state = 'active' AND pid <> pg_backend_pid()",
        )
        .bind(db)
        .fetch_optional(&mut *conn)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(Instant::now() < deadline, "the migration never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
