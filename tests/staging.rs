//! `check --database-url` against a second cluster playing "staging": migrated, given some
//! drift, and reached through a role that can only SELECT. The check reports the drift,
//! writes nothing, never shows the password, and fails cleanly on a wrong password, a
//! closed port and a server that never answers.

mod common;

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use reims_verify::migrate::{apply, discover, ApplyMode, ApplyOptions};
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};
use sqlx::Connection;

const PASSWORD: &str = "Stg-s3cret-Pw!";

/// Tests that compare the staging footprint must not overlap with tests that probe it.
static FOOTPRINT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The staging cluster, migrated, with drift, and an `auditor` role that can only SELECT
/// and must authenticate with a password.
fn staging() -> &'static EphemeralCluster {
    static STAGING: OnceLock<EphemeralCluster> = OnceLock::new();
    STAGING.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                let c = EphemeralCluster::start(&ClusterOptions::default()).await.unwrap();
                c.create_database("staging", None).await.unwrap();
                let files = discover(&migrations_dir()).unwrap();
                apply(&c.connect_options("staging"), &files, &ApplyMode::All, &ApplyOptions::default()).await.map_err(|e| e.to_string()).unwrap();
                let mut conn = c.connect("staging").await.unwrap();
                let setup = format!(
                    "-- drift
                     DROP INDEX idx_users_role;
                     ALTER TABLE tenants ADD COLUMN nickname text;
                     -- migration history drift: one pending, one unknown
                     DELETE FROM schema_migrations WHERE migration_name = '014_create_sessions.sql';
                     INSERT INTO schema_migrations (migration_name, checksum) VALUES ('099_hotfix.sql', 'abc');
                     -- some data that must not change
                     INSERT INTO properties (name, address, city, state, total_sqft, property_type) VALUES ('P', 'A', 'C', 'CA', 10, 'office');
                     -- a SELECT-only role
                     CREATE ROLE auditor LOGIN PASSWORD '{PASSWORD}';
                     GRANT USAGE ON SCHEMA public TO auditor;
                     GRANT SELECT ON ALL TABLES IN SCHEMA public TO auditor;"
                );
                sqlx::raw_sql(&setup).execute(&mut conn).await.unwrap();
                // The auditor must authenticate: password auth for that role on the socket.
                let hba = c.dir().join("data/pg_hba.conf");
                let old = std::fs::read_to_string(&hba).unwrap();
                std::fs::write(&hba, format!("local all auditor scram-sha-256\n{old}")).unwrap();
                sqlx::raw_sql("SELECT pg_reload_conf()").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                c
            })
        })
        .join()
        .unwrap()
    })
}

fn url(user_pw: &str) -> String {
    format!(
        "postgres://{user_pw}@localhost/staging?host={}&port=5432",
        staging().dir().display()
    )
}

fn run(args: &[&str]) -> (i32, String, String, Duration) {
    let started = Instant::now();
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
        started.elapsed(),
    )
}

/// Tuple counters and a fingerprint of the catalog: anything a check could change.
async fn footprint() -> (i64, i64, i64, String, i64) {
    let mut conn = staging().connect("staging").await.unwrap();
    sqlx::raw_sql("SELECT pg_stat_clear_snapshot()")
        .execute(&mut conn)
        .await
        .unwrap();
    let (ins, upd, del): (i64, i64, i64) = sqlx::query_as(
        "SELECT tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = 'staging'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let catalog: String = sqlx::query_scalar(
        "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
           SELECT c.oid::text || c.relname || c.relkind::text || c.relnatts::text AS x FROM pg_class c
           UNION ALL SELECT p.oid::text || p.proname || md5(p.prosrc) FROM pg_proc p
           UNION ALL SELECT conname || contype::text FROM pg_constraint) s",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM properties) + (SELECT count(*) FROM schema_migrations)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    (ins, upd, del, catalog, rows)
}

#[tokio::test]
async fn check_reports_drift_writes_nothing_and_never_shows_the_password() {
    let _serial = FOOTPRINT.lock().await;
    let target = url(&format!("auditor:{PASSWORD}"));
    let _ = footprint().await; // settle the stats of the set-up
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = footprint().await;
    let reports = tempfile::tempdir().unwrap();
    let (code, stdout, stderr, _) = run(&[
        "check",
        "--database-url",
        &target,
        "--report",
        reports.path().to_str().unwrap(),
        "--seed",
        "1",
    ]);
    assert_eq!(code, 1, "drift must fail the check\n{stdout}\n{stderr}");
    for expected in [
        "FAIL index.exists  users.idx_users_role",
        "FAIL column.extra  tenants.nickname",
        "FAIL migration.pending  014_create_sessions.sql",
        "FAIL migration.unknown  099_hotfix.sql",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in\n{stdout}"
        );
    }
    // Structure only: probes need --probe on a handed-over server.
    assert!(!stdout.contains("probe seed"), "{stdout}");
    assert!(
        stdout.contains("auditor:***@"),
        "the target is shown redacted: {stdout}"
    );
    let mut everything = format!("{stdout}{stderr}");
    for entry in std::fs::read_dir(reports.path()).unwrap().flatten() {
        everything.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    assert!(!everything.contains(PASSWORD), "the password leaked");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = footprint().await;
    assert_eq!(before, after, "the check changed the staging database");
}

#[tokio::test]
async fn probes_on_staging_run_only_when_asked_and_roll_back() {
    let _serial = FOOTPRINT.lock().await;
    let before = footprint().await;
    let target = format!(
        "postgres://postgres@localhost/staging?host={}&port=5432",
        staging().dir().display()
    );
    let (code, stdout, stderr, _) = run(&[
        "check",
        "--database-url",
        &target,
        "--probe",
        "--cases",
        "4",
        "--seed",
        "2",
        "--no-report",
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("probe seed: 2"), "{stdout}");
    let after = footprint().await;
    assert_eq!(before.3, after.3, "catalog changed");
    assert_eq!(before.4, after.4, "rows changed");
}

#[test]
fn a_wrong_password_fails_cleanly_with_exit_3() {
    let wrong = "not-the-Pw-42";
    let (code, stdout, stderr, _) = run(&[
        "check",
        "--database-url",
        &url(&format!("auditor:{wrong}")),
        "--no-report",
    ]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(
        !stderr.contains(wrong) && !stdout.contains(wrong),
        "password echoed: {stderr}"
    );
}

#[test]
fn a_closed_port_fails_fast_with_exit_3() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again
    let (code, _, stderr, took) = run(&[
        "check",
        "--database-url",
        &format!("postgres://u:pw@127.0.0.1:{port}/db"),
        "--no-report",
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn a_server_that_never_answers_times_out_with_exit_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept connections and say nothing.
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(4).flatten() {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let (code, _, stderr, took) = run(&[
        "check",
        "--database-url",
        &format!("postgres://u@127.0.0.1:{port}/db?sslmode=disable"),
        "--connect-timeout",
        "1",
        "--no-report",
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no answer within 1 s"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn the_session_is_read_only_with_timeouts_and_names_itself() {
    use reims_verify::postgres::{Database, ServerSettings};
    let target = url(&format!("auditor:{PASSWORD}"));
    let db = Database::open(
        Some(&target),
        &ClusterOptions::default(),
        &ServerSettings::default(),
    )
    .await
    .unwrap();
    let mut conn = db.connect().await.unwrap();
    let ro: String = sqlx::query_scalar("SHOW default_transaction_read_only")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let st: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let lt: String = sqlx::query_scalar("SHOW lock_timeout")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let app: String = sqlx::query_scalar("SHOW application_name")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (ro.as_str(), st.as_str(), lt.as_str(), app.as_str()),
        ("on", "30s", "2s", "reims-verify")
    );
    let err = sqlx::raw_sql("CREATE TEMP TABLE x (a int)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}
