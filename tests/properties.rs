//! Properties declared in the specs, against a real PostgreSQL: they all hold on the
//! project's migrations; every behaviour mutant in `tests/fixtures/behaviour/` is caught,
//! charged to the object its header names; a failure is shrunk and its reproduction SQL,
//! run by hand, ends on the check that fails; a seed replays the same findings; and the
//! caller's rows and session settings are left alone.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reims_verify::catalog::read_schema;
use reims_verify::probe::property::run_properties;
use reims_verify::probe::ProbeConfig;
use reims_verify::spec::{load_dir, SpecSet};
use reims_verify::verify::{Finding, Status};
use sqlx::PgConnection;

/// The default case count, as `check` uses it.
const CONFIG: ProbeConfig = ProbeConfig {
    cases: 64,
    seed: 20_251_012,
};

/// Rows a caller may already have (the specs' samples): the properties must not trip over
/// them, and must leave them alone.
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
INSERT INTO metrics_log (metric_name, metric_type, metric_value, recorded_at)
VALUES ('api_requests_total', 'counter', 12543, now() - interval '200 days');
INSERT INTO performance_logs (request_id, endpoint, method, start_time, end_time, status_code, logged_at)
VALUES ('req-old', '/api/properties', 'GET', now() - interval '40 days', now() - interval '40 days', 200,
        now() - interval '40 days');
";

fn specs() -> SpecSet {
    load_dir(&specs_dir()).unwrap()
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

async fn run(conn: &mut PgConnection, specs: &SpecSet, config: &ProbeConfig) -> Vec<Finding> {
    let schema = read_schema(conn, "public").await.unwrap();
    let findings = run_properties(conn, specs, &schema, config)
        .await
        .expect("the properties run");
    // The engine prepares its statements (`PREPARE`, which no rollback undoes) and must
    // deallocate every one of them, or a long session on a handed-over server would keep
    // them all.
    let left: Vec<String> = sqlx::query_scalar("SELECT name FROM pg_prepared_statements")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let ours: Vec<&String> = left.iter().filter(|n| n.starts_with("rv_")).collect();
    assert!(
        ours.is_empty(),
        "prepared statements left in the session: {ours:?}"
    );
    findings
}

/// `(code, object)` of the failed findings, without repeats.
fn failures(findings: &[Finding]) -> Vec<(String, String)> {
    let mut out: Vec<_> = findings
        .iter()
        .filter(|f| f.failed())
        .map(|f| (f.code.to_string(), f.object.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
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

fn mutants() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("behaviour"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

fn mutant(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("behaviour/{name}"))).unwrap()
}

#[tokio::test]
async fn every_property_holds_on_the_projects_migrations() {
    let specs = specs();
    let mut conn = database(None).await;
    // A zone with daylight saving time: the properties must not depend on the session's.
    sqlx::raw_sql("SET TimeZone = 'America/New_York'")
        .execute(&mut conn)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let findings = run(&mut conn, &specs, &CONFIG).await;
    eprintln!(
        "properties with {} cases: {:?}",
        CONFIG.cases,
        started.elapsed()
    );
    let not_passing: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(not_passing.is_empty(), "not passing: {not_passing:#?}");
    // One finding for each property and each object it proves.
    let mut expected = 0;
    for s in &specs.specs {
        for (name, p) in &s.spec.properties {
            expected += 1 + p.proves.len();
            let object = format!("{}.{name}", s.spec.table);
            let f = findings.iter().find(|f| f.object == object).unwrap();
            assert_eq!(f.code, "probe.property");
            let location = f.location.as_ref().unwrap();
            assert!(location.file.ends_with(&s.path) || s.path.ends_with(&location.file));
            assert!(location.line.is_some(), "{object} has no line");
            for o in &p.proves {
                assert!(findings.iter().any(|f| f.object == o), "no finding for {o}");
            }
        }
    }
    assert!(expected >= 40, "only {expected} objects have properties");
    assert_eq!(findings.len(), expected);
    // Traceability: each finding carries its spec's requirements.
    let lockout = findings
        .iter()
        .find(|f| f.object == "record_failed_login(text)")
        .unwrap();
    assert_eq!(lockout.requirements, ["BR-008"]);
    // The caller's rows and settings are untouched.
    let rows: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_sessions),
                (SELECT count(*) FROM metrics_log), (SELECT count(*) FROM performance_logs)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows, (1, 1, 1, 1));
    let zone: String = sqlx::query_scalar("SELECT current_setting('TimeZone')")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        zone, "America/New_York",
        "the session's time zone is restored"
    );
}

/// Two mutants at a time, each in a database of its own and on a thread with a runtime of
/// its own (the property engine's futures stay on one thread): one after another, this
/// test left one core idle for most of its run.
#[test]
fn every_behaviour_mutant_is_caught() {
    let specs = std::sync::Arc::new(specs());
    let files = mutants();
    assert!(files.len() >= 16, "only {} behaviour mutants", files.len());
    let queue = std::sync::Arc::new(std::sync::Mutex::new(files.into_iter()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (specs, queue) = (specs.clone(), queue.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let mut missed = Vec::new();
                loop {
                    let Some(file) = queue.lock().unwrap().next() else {
                        return missed;
                    };
                    missed.extend(runtime.block_on(mutant_missed(&file, &specs)));
                }
            })
        })
        .collect();
    let mut missed = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(m) => missed.extend(m),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    missed.sort();
    assert!(
        missed.is_empty(),
        "mutants not caught exactly:\n{}",
        missed.join("\n")
    );
}

/// Run every property on a fresh database with the behaviour mutant `file` applied: `Some`
/// saying how, when the failures are not exactly those its `-- expect:` lines name. Each
/// failure must carry what a reader needs (expected and actual values, a hint, the minimal
/// sequence, reproduction SQL and the spec's line).
async fn mutant_missed(file: &Path, specs: &SpecSet) -> Option<String> {
    let sql = std::fs::read_to_string(file).unwrap();
    let expected = expectations(&sql);
    assert!(
        !expected.is_empty(),
        "{} has no `-- expect:` line",
        file.display()
    );
    let mut conn = database(Some(&sql)).await;
    let findings = run(&mut conn, specs, &CONFIG).await;
    for f in findings.iter().filter(|f| f.failed()) {
        assert!(f.expected.is_some() && f.actual.is_some() && f.hint.is_some());
        assert!(f.message.contains("minimal sequence ["), "{}", f.message);
        let repro = f.repro.as_deref().expect("a failure has reproduction SQL");
        assert!(repro.contains("BEGIN;") && repro.trim_end().ends_with("ROLLBACK;"));
        assert!(f.location.as_ref().and_then(|l| l.line).is_some());
    }
    let actual = failures(&findings);
    (actual != expected).then(|| {
        format!(
            "{}: expected failures {expected:?}, got {actual:?}",
            file.display()
        )
    })
}

/// Run a reproduction script as psql would (without its own BEGIN/ROLLBACK, inside a
/// transaction the test rolls back) and return the value of its last row.
async fn replay(conn: &mut PgConnection, repro: &str) -> Option<String> {
    use sqlx::{Connection, Row, ValueRef};
    let body: String = repro
        .lines()
        .filter(|l| !matches!(l.trim(), "BEGIN;" | "ROLLBACK;"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut tx = conn.begin().await.unwrap();
    let rows = sqlx::raw_sql(&body).fetch_all(&mut *tx).await;
    let last = match &rows {
        Ok(rows) => rows.last().map(|r| {
            let v = r.try_get_raw(0).unwrap();
            if v.is_null() {
                "NULL".to_string()
            } else {
                v.as_str().unwrap().to_string()
            }
        }),
        Err(e) => Some(format!("error: {e}")),
    };
    tx.rollback().await.unwrap();
    last
}

#[tokio::test]
async fn a_failure_is_shrunk_and_its_sql_reproduces_it_by_hand() {
    let specs = specs();
    // Only random sequences and one example try an upper-case e-mail.
    let mut conn = database(Some(&mutant("07_failed_login_case_sensitive.sql"))).await;
    let findings = run(&mut conn, &specs, &CONFIG).await;
    let failed: Vec<_> = findings.iter().filter(|f| f.failed()).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let f = failed[0];
    assert_eq!(f.object, "record_failed_login(text)");
    assert!(
        f.message.contains("of the minimal sequence [1) fail(")
            && f.message.contains("shout=true)]"),
        "not shrunk to one upper-case failed login: {}",
        f.message
    );
    let repro = f.repro.as_deref().unwrap();
    assert!(repro.contains("upper("), "{repro}");
    // The script, run by hand, ends on the check that fails: it returns false.
    assert_eq!(
        replay(&mut conn, repro).await.as_deref(),
        Some("f"),
        "{repro}"
    );

    // Values the database made (a session id returned by create_session, read back from
    // the model) are read by the script itself, not copied: it replays faithfully.
    let mut conn = database(Some(&mutant("02_refresh_keeps_old_session.sql"))).await;
    let findings = run(&mut conn, &specs, &CONFIG).await;
    let f = findings.iter().find(|f| f.failed()).unwrap();
    let repro = f.repro.as_deref().unwrap();
    assert!(repro.contains("CREATE TEMP TABLE rv_result AS"), "{repro}");
    assert_eq!(
        replay(&mut conn, repro).await.as_deref(),
        Some("f"),
        "{repro}"
    );
    // And on the unbroken function the same script passes that check.
    let mut clean = database(None).await;
    assert_eq!(
        replay(&mut clean, repro).await.as_deref(),
        Some("t"),
        "{repro}"
    );
}

#[tokio::test]
async fn the_same_seed_replays_the_same_findings() {
    let specs = specs();
    let lockout = SpecSet::of_relations(
        specs
            .specs
            .into_iter()
            .filter(|s| s.spec.table == "users")
            .collect(),
    );
    let mut conn = database(Some(&mutant("07_failed_login_case_sensitive.sql"))).await;
    let config = ProbeConfig {
        cases: 16,
        ..CONFIG
    };
    let first = run(&mut conn, &lockout, &config).await;
    let second = run(&mut conn, &lockout, &config).await;
    assert_eq!(first, second);
    assert!(first.iter().any(|f| f.failed()));
    let clean_specs = lockout.clone();
    let mut clean = database(None).await;
    let a = run(&mut clean, &clean_specs, &config).await;
    let b = run(&mut clean, &clean_specs, &ProbeConfig { seed: 1, ..config }).await;
    assert_ne!(a, b, "the seed should matter");
}

#[tokio::test]
async fn a_property_that_cannot_run_here_is_skipped_with_the_reason() {
    // A spec set whose property needs a row of a table the database lacks.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ghost.yaml"),
        "table: ghost\ncolumns:\n  id: { type: uuid, nullable: false }\nsamples:\n  - { id: '123e4567-e89b-12d3-a456-426614174000' }\nproperties:\n  exists:\n    proves: [ghost_count()]\n    given:\n      g: { row: { table: ghost } }\n    actions:\n      count: { sql: SELECT 1 }\n",
    )
    .unwrap();
    let specs = load_dir(dir.path()).unwrap();
    let mut conn = database(None).await;
    let findings = run(&mut conn, &specs, &CONFIG).await;
    assert_eq!(findings.len(), 2, "{findings:#?}");
    for f in &findings {
        assert_eq!(f.status, Status::Skip, "{f:#?}");
        assert!(
            f.message.contains("not run: no table ghost"),
            "{}",
            f.message
        );
    }
}

#[test]
fn every_spec_function_and_trigger_with_behaviour_has_a_property() {
    // The functions and triggers whose behaviour the seed states are all proven by some
    // property (the rest are trigger functions proven through their triggers).
    let specs = specs();
    let proven: Vec<String> = specs
        .specs
        .iter()
        .flat_map(|s| s.spec.properties.values())
        .flat_map(|p| p.proves.iter().cloned())
        .collect();
    for s in &specs.specs {
        for (sig, f) in &s.spec.functions {
            if f.returns == "trigger" {
                continue;
            }
            assert!(proven.contains(sig), "no property proves {sig}");
        }
        for name in s.spec.triggers.keys() {
            let object = format!("{}.{name}", s.spec.table);
            assert!(proven.contains(&object), "no property proves {object}");
        }
    }
    let _ = Path::new(".");
}

/// A spec set of one spec for `tenants` (a table of the migrated schema) whose property
/// `language` has the given actions.
fn language_specs(actions: &str) -> (tempfile::TempDir, SpecSet) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tenants.yaml"),
        format!(
            "table: tenants\ncolumns:\n  id: {{ type: uuid }}\n  name: {{ type: text }}\nsamples:\n  - {{ name: Acme }}\nproperties:\n  language:\n    given:\n      t: {{ row: {{ table: tenants, set: {{ name: {{ unique: {{ prefix: rv- }} }} }} }} }}\n    model:\n      seen: {{ columns: {{ n: integer }} }}\n    always: [\"(SELECT count(*) FROM tenants WHERE id = :t.id AND name LIKE 'rv-%') = 1\"]\n    actions:\n{actions}"
        ),
    )
    .unwrap();
    let specs = load_dir(dir.path()).unwrap();
    (dir, specs)
}

#[tokio::test]
async fn the_language_does_what_its_reference_says() {
    let (_dir, specs) = language_specs(
        r#"      draw:
        args:
          i: { int: { min: -3, max: 5 } }
          x: { numeric: { min: 0.5, max: 2.5, scale: 1 } }
          r: { regex: { pattern: "[a-c]{2,4}" } }
          at: { timestamp: { min: "2025-01-01T00:00:00Z", max: "2025-01-02T00:00:00Z" } }
          d: { date: { min: "2024-02-28", max: "2024-03-01" } }
          iv: { interval: { unit: hours, min: 1, max: 3 } }
          u: { uuid: {} }
          ip: { inet: {} }
          b: { bool: {} }
          arr: { array: { of: { int: { min: 1, max: 2 } }, max_len: 3 } }
          maybe: { nullable: { int: { min: 7, max: 7 } } }
          one: { one_of: { values: [a, b] } }
          fixed: { value: 42 }
          expr: { sql: ":i * 2" }
        sql: SELECT :i AS i
        model: INSERT INTO seen VALUES (:result)
        expect:
          - ":result = :i AND :i BETWEEN -3 AND 5 AND :expr = :i * 2 AND :fixed = 42"
          - ":x BETWEEN 0.5 AND 2.5 AND scale(:x) = 1"
          - ":r ~ '^[a-c]{2,4}$'"
          - ":at BETWEEN '2025-01-01T00:00:00Z' AND '2025-01-02T00:00:00Z'"
          - ":d BETWEEN '2024-02-28' AND '2024-03-01'"
          - ":iv BETWEEN interval '1 hour' AND interval '3 hours'"
          - ":u IS NOT NULL AND family(:ip) IN (4, 6) AND :b IS NOT NULL"
          - "coalesce(array_length(:arr, 1), 0) <= 3 AND (:maybe IS NULL OR :maybe = 7) AND :one IN ('a', 'b')"
      never:
        when: "false"
        sql: SELECT 1
        expect: ["false"]
      divide:
        raises: { sqlstate: "22012" }
        sql: SELECT 1 / 0
      guarded:
        args: { k: { int: { min: 0, max: 1 } } }
        raises: { sqlstate: "22012", when: ":k = 0" }
        sql: SELECT 1 / :k AS q
        expect: [":result = 1"]
      nothing:
        args: { p: { pick: "SELECT n FROM seen WHERE false" } }
        sql: SELECT 1
        expect: ["false"]
      count:
        args: { s: { pick: "SELECT n FROM seen ORDER BY n" } }
        before: SELECT count(*) AS seen FROM seen
        sql: SELECT :s.n AS n
        repeat: { int: { min: 1, max: 3 } }
        expect: [":result = :s.n AND :before.seen >= 1"]
      twice:
        args: { k: { int: { min: 1, max: 3 } } }
        sql: "INSERT INTO seen VALUES (:k); INSERT INTO seen VALUES (:k + 10) RETURNING n"
        model: "DELETE FROM seen WHERE n > 100; DO $$ BEGIN PERFORM 1; END $$"
        expect: [":result = :k + 10 AND (SELECT count(*) FROM seen WHERE n = :k) >= 1"]
      wide:
        sql: SELECT g AS n FROM generate_series(1, 1001) AS g
        expect: [":result = 1 AND (SELECT count(*) FROM result) = 1001"]
"#,
    );
    let mut conn = database(None).await;
    let findings = run(&mut conn, &specs, &CONFIG).await;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].status, Status::Pass, "{findings:#?}");
    // Some sequences reached `count` (a row to pick): more steps than actions were run.
    assert!(
        findings[0].message.contains("held over"),
        "{}",
        findings[0].message
    );
}

/// The one finding of `language_specs(actions)` on `conn`, which must have failed.
async fn the_failure(conn: &mut PgConnection, actions: &str) -> Finding {
    let (_dir, specs) = language_specs(actions);
    let mut findings = run(conn, &specs, &CONFIG).await;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = findings.remove(0);
    assert!(f.failed(), "{f:#?}");
    f
}

#[tokio::test]
async fn wrong_outcomes_are_failures_that_say_what_was_expected() {
    let mut conn = database(None).await;
    // A statement that succeeds where an error is expected.
    let f = the_failure(
        &mut conn,
        "      divide:\n        raises: { sqlstate: \"22012\" }\n        sql: SELECT 1 / 1\n",
    )
    .await;
    assert_eq!(
        f.expected.as_deref(),
        Some("an error with SQLSTATE 22012"),
        "{f:#?}"
    );
    assert!(
        f.actual.as_deref().unwrap().starts_with("success"),
        "{f:#?}"
    );
    // An error where success is expected keeps its SQLSTATE.
    let f = the_failure(&mut conn, "      divide:\n        sql: SELECT 1 / 0\n").await;
    assert!(
        f.actual.as_deref().unwrap().contains("SQLSTATE 22012"),
        "{f:#?}"
    );
    // An expectation that does not hold names itself and shows the statement's rows.
    let f = the_failure(
        &mut conn,
        "      draw:\n        args: { i: { int: { min: 1, max: 9 } } }\n        sql: SELECT :i AS i\n        expect: [\":result < 5\"]\n",
    )
    .await;
    assert_eq!(f.expected.as_deref(), Some(":result < 5"));
    // Shrunk to the smallest failing value, 5.
    assert!(f.actual.as_deref().unwrap().contains("(i=5)"), "{f:#?}");
    assert!(f.message.contains("draw(i=5)"), "{}", f.message);
    // A pick that fails is read ahead with the batch before its step (the set-up's or the
    // step before's checks), but the failure is charged to the pick, in its own step, and
    // the reproduction holds it.
    let f = the_failure(
        &mut conn,
        "      ok:\n        sql: SELECT 1 AS one\n        expect: [\":result = 1\"]\n      bad:\n        args: { p: { pick: \"SELECT 1 / 0 AS n\" } }\n        sql: SELECT :p.n AS n\n",
    )
    .await;
    assert!(
        f.actual.as_deref().unwrap().contains("SQLSTATE 22012"),
        "{f:#?}"
    );
    assert!(
        f.message
            .contains("at step 1 (picking p) of the minimal sequence [1) bad(…)]"),
        "{}",
        f.message
    );
    let repro = f.repro.as_deref().unwrap();
    assert!(
        repro.contains("-- step 1: bad(…)\nSELECT 1 / 0 AS n;  -- picking p"),
        "{repro}"
    );
    // Run by hand, the script ends on that error.
    let by_hand = replay(&mut conn, repro).await.unwrap_or_default();
    assert!(by_hand.contains("division by zero"), "{by_hand}: {repro}");
}

#[tokio::test]
async fn the_readme_walkthrough_catches_its_broken_function() {
    // The property the README walks through, exactly as printed, in place of the spec's own.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```yaml\nproperties:\n  retention:")
        .expect("the README walks through the retention property");
    let block = &readme[start + "```yaml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let spec = std::fs::read_to_string(specs_dir().join("metrics_log.yaml")).unwrap();
    let structure = &spec[..spec.find("\nproperties:").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("metrics_log.yaml"),
        format!("{structure}\n{block}"),
    )
    .unwrap();
    let specs = load_dir(dir.path()).unwrap();
    assert_eq!(specs.specs.len(), 1);
    let mut clean = database(None).await;
    let findings = run(&mut clean, &specs, &CONFIG).await;
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings.iter().all(|f| f.status == Status::Pass),
        "{findings:#?}"
    );
    let mut broken = database(Some(&mutant("12_cleanup_old_metrics_at_boundary.sql"))).await;
    let findings = run(&mut broken, &specs, &CONFIG).await;
    assert_eq!(
        failures(&findings),
        [(
            "function.property".to_string(),
            "cleanup_old_metrics(integer)".to_string()
        )]
    );
}

#[test]
fn a_failure_and_its_reproduction_reach_every_report() {
    // The CLI, on the ephemeral cluster, with the broken cleanup applied after the migrations.
    let reports = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "check",
            "--apply-after",
            fixture("behaviour/12_cleanup_old_metrics_at_boundary.sql")
                .to_str()
                .unwrap(),
            "--report",
            reports.path().to_str().unwrap(),
            "--seed",
            "7",
        ])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL function.property  cleanup_old_metrics(integer)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  repro:\n") && stdout.contains("    ROLLBACK;"),
        "{stdout}"
    );
    let read = |name: &str| std::fs::read_to_string(reports.path().join(name)).unwrap();
    let run: serde_json::Value = serde_json::from_str(&read("run.json")).unwrap();
    let failed: Vec<&serde_json::Value> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let repro = failed[0]["repro"]
        .as_str()
        .expect("run.json carries the repro");
    assert!(
        repro.starts_with("-- Reproduces property metrics_log.retention"),
        "{repro}"
    );
    assert_eq!(failed[0]["requirements"], serde_json::json!(["BR-007"]));
    let first_line = repro.lines().next().unwrap();
    assert!(
        read("junit.xml").contains(first_line),
        "junit.xml lacks the repro"
    );
    assert!(
        read("report.md").contains(&format!("```sql\n{first_line}")),
        "report.md lacks the repro"
    );
    let html = read("report.html");
    assert!(
        html.contains("<pre class=\"repro\"><code>-- Reproduces property metrics_log.retention"),
        "report.html lacks the repro"
    );
    // Escaped, not raw SQL: `<` in the script cannot open a tag.
    assert!(
        repro.contains(" < ") && html.contains("&lt; now()"),
        "report.html does not escape the repro"
    );
}

/// The probes share their work among connections, each on its own copy of the migrated
/// database, with every sequence set back before each unit of work. How many connections
/// there are must change nothing but the time: with the same seed, one connection and
/// three give the same findings, failures, minimal cases and reproductions. Neither does
/// where the workers run: three with no worker pinned to a core with its server process
/// (`REIMS_VERIFY_NO_PAIRING`) give them too.
#[test]
fn the_number_of_probe_connections_changes_nothing_but_the_time() {
    let mutations = [
        "behaviour/01_lock_after_six_failures.sql",
        "behaviour/12_cleanup_old_metrics_at_boundary.sql",
        "behaviour/19_revoke_session_loses_reason.sql",
        "drift/03_widen_check_bound.sql",
    ];
    let run = |jobs: &str, paired: bool| -> Vec<serde_json::Value> {
        let mut args = vec!["check".to_string()];
        for m in mutations {
            args.push("--apply-after".into());
            args.push(fixture(m).to_str().unwrap().to_string());
        }
        for a in [
            "--seed",
            "11",
            "--no-report",
            "--format",
            "json",
            "--jobs",
            jobs,
        ] {
            args.push(a.into());
        }
        let mut cmd = std::process::Command::new(bin());
        cmd.args(&args).current_dir(root());
        if paired {
            cmd.env_remove("REIMS_VERIFY_NO_PAIRING");
        } else {
            cmd.env("REIMS_VERIFY_NO_PAIRING", "1");
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "--jobs {jobs}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        run["findings"].as_array().unwrap().clone()
    };
    let one = run("1", true);
    let three = run("3", true);
    let unpaired = run("3", false);
    let probe_failures: Vec<&serde_json::Value> = one
        .iter()
        .filter(|f| {
            let code = f["code"].as_str().unwrap_or_default();
            f["status"] == "fail" && (code == "probe.check" || code.ends_with(".property"))
        })
        .collect();
    assert!(
        probe_failures.len() >= 4,
        "the mutations should fail at least four probes: {probe_failures:#?}"
    );
    assert_eq!(one.len(), three.len());
    for (a, b) in one.iter().zip(&three) {
        assert_eq!(a, b, "--jobs 1 and --jobs 3 disagree");
    }
    assert_eq!(one.len(), unpaired.len());
    for (a, b) in one.iter().zip(&unpaired) {
        assert_eq!(a, b, "--jobs 1 and --jobs 3 unpaired disagree");
    }
}
