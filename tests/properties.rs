//! Function and trigger properties against a real PostgreSQL: they all hold on the
//! project's migrations, every behaviour mutant in `tests/fixtures/behaviour/` is caught
//! with the check code and object its header names, and a seed replays the same findings.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reims_verify::probe::functions::{self, triggers::STAMPED};
use reims_verify::probe::ProbeConfig;
use reims_verify::verify::{Finding, Status};
use sqlx::{Connection, PgConnection};

/// Modest, so that the suite stays fast; the CLI runs more.
const CONFIG: ProbeConfig = ProbeConfig {
    cases: 32,
    seed: 20_251_012,
};

/// Rows a caller may already have inserted (the specs' samples): the properties must not
/// trip over them.
const SAMPLES: &str = "
INSERT INTO users (id, email, username, password_hash, first_name, last_name, role)
VALUES ('123e4567-e89b-12d3-a456-426614174000', 'john.doe@reims.com', 'johndoe',
        '$2b$12$LQv3c1yqBWVHxkd0LHAkCOYz6TtxMQJqhN8/LewY5GyYb7YgP5.rO', 'John', 'Doe',
        'supervisor');
INSERT INTO user_sessions (user_id, session_token, refresh_token, ip_address, user_agent,
                           device_type, device_name, created_at, expires_at)
VALUES ('123e4567-e89b-12d3-a456-426614174000', 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.sample',
        'refresh_token_abc123', '192.168.1.100', 'Mozilla/5.0', 'desktop', 'Office laptop',
        '2020-01-01', '2020-01-02');
";

/// Every object the properties report on.
fn expected_objects() -> Vec<(&'static str, String)> {
    let mut objects: Vec<(&str, String)> = [
        "users.lockout",
        "record_failed_login(text)",
        "record_successful_login(uuid, inet)",
        "is_account_locked(uuid)",
        "get_user_permissions(uuid)",
        "sessions.lifecycle",
        "create_session(uuid, text, text, inet, text, text, integer)",
        "validate_session(text)",
        "revoke_session(text, text)",
        "revoke_all_user_sessions(uuid, text)",
        "get_user_active_sessions(uuid)",
        "refresh_session(text, text, text, integer)",
        "cleanup_expired_sessions(integer)",
    ]
    .into_iter()
    .map(|o| ("function.property", o.to_string()))
    .collect();
    for o in [
        "users.track_password_change",
        "performance_logs.calculate_performance_metrics",
        "property_financial_summary.set_summary_month",
    ] {
        objects.push(("trigger.property", o.to_string()));
    }
    for s in STAMPED {
        objects.push(("trigger.property", format!("{}.{}", s.table, s.trigger)));
    }
    objects
}

/// Run every property in a transaction that is rolled back, as `run_probes` does.
async fn run(conn: &mut PgConnection, config: &ProbeConfig) -> Vec<Finding> {
    let mut tx = conn.begin().await.expect("begin");
    let findings = functions::run_all(&mut tx, config)
        .await
        .expect("the properties run");
    tx.rollback().await.expect("rollback");
    findings
}

/// A fresh migrated database with the samples, after `mutation` (if any).
async fn database(mutation: Option<&str>) -> PgConnection {
    let db = migrated_db("props").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(SAMPLES)
        .execute(&mut conn)
        .await
        .expect("samples insert");
    if let Some(sql) = mutation {
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("mutation applies");
    }
    conn
}

fn failures(findings: &[Finding]) -> Vec<(String, String)> {
    let mut out: Vec<_> = findings
        .iter()
        .filter(|f| f.failed())
        .map(|f| (f.code.to_string(), f.object.clone()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_property_holds_on_the_projects_migrations() {
    let mut conn = database(None).await;
    // A zone with daylight saving time: the properties must not depend on the session's.
    sqlx::raw_sql("SET TimeZone = 'America/New_York'")
        .execute(&mut conn)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let findings = run(&mut conn, &CONFIG).await;
    eprintln!(
        "run_all with {} cases: {:?}",
        CONFIG.cases,
        started.elapsed()
    );
    let not_passing: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "not passing: {not_passing:#?}");
    for (code, object) in expected_objects() {
        assert!(
            findings
                .iter()
                .any(|f| f.code == code && f.object == object),
            "no finding for {code} {object}"
        );
    }
    assert_eq!(findings.len(), expected_objects().len());
    // The caller's rows are untouched (everything ran in savepoints that were rolled back).
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(sessions, 1);
    let zone: String = sqlx::query_scalar("SELECT current_setting('TimeZone')")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        zone, "America/New_York",
        "the session's time zone is restored"
    );
}

/// `(code, object)` pairs a behaviour mutant expects to fail.
fn expectations(sql: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = sql
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-- expect:"))
        .map(|rest| {
            let rest = rest.trim();
            let (code, object) = rest.split_once(' ').unwrap_or((rest, ""));
            (code.to_string(), object.trim().to_string())
        })
        .collect();
    out.sort();
    out
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_behaviour_mutant_is_caught() {
    let files = sql_files(&fixture("behaviour"));
    assert!(files.len() >= 5, "only {} behaviour mutants", files.len());
    let mut missed = Vec::new();
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&sql);
        assert!(
            !expected.is_empty(),
            "{} has no `-- expect:` line",
            file.display()
        );
        let mut conn = database(Some(&sql)).await;
        let findings = run(&mut conn, &CONFIG).await;
        let actual = failures(&findings);
        if actual != expected {
            missed.push(format!(
                "{}: expected failures {expected:?}, got {actual:?}",
                file.display()
            ));
        }
        for f in findings.iter().filter(|f| f.failed()) {
            assert!(f.expected.is_some() && f.actual.is_some() && f.hint.is_some());
            assert!(f.message.contains("minimal sequence [1) "), "{}", f.message);
        }
    }
    assert!(
        missed.is_empty(),
        "mutants not caught exactly:\n{}",
        missed.join("\n")
    );
}

#[tokio::test]
async fn a_random_failure_is_shrunk_to_a_minimal_sequence() {
    let sql =
        std::fs::read_to_string(fixture("behaviour/07_failed_login_case_sensitive.sql")).unwrap();
    let mut conn = database(Some(&sql)).await;
    let findings = run(&mut conn, &CONFIG).await;
    let failed: Vec<_> = findings.iter().filter(|f| f.failed()).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let message = &failed[0].message;
    assert!(
        message.contains("minimal sequence [1) record_failed_login(u0, e-mail in upper case) ×1]"),
        "not shrunk to one upper-case failed login: {message}"
    );
}

#[tokio::test]
async fn the_same_seed_replays_the_same_findings() {
    let sql =
        std::fs::read_to_string(fixture("behaviour/07_failed_login_case_sensitive.sql")).unwrap();
    let mut conn = database(Some(&sql)).await;
    let first = run(&mut conn, &CONFIG).await;
    let second = run(&mut conn, &CONFIG).await;
    assert_eq!(first, second);
    assert!(first.iter().any(|f| f.failed()));
    let other = run(&mut conn, &ProbeConfig { seed: 1, ..CONFIG }).await;
    assert_ne!(first, other, "the seed should matter");
}

/// The properties' future can be sent across threads (the CLI may run probes on a
/// multi-threaded runtime).
#[allow(dead_code)]
fn run_all_is_send(conn: &mut PgConnection) {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&functions::run_all(conn, &CONFIG));
}
