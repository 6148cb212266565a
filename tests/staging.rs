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
                     GRANT SELECT ON ALL TABLES IN SCHEMA public TO auditor;
                     -- the database's own privileges, as a DBA hardens them
                     REVOKE TEMPORARY ON DATABASE staging FROM PUBLIC;
                     GRANT CONNECT ON DATABASE staging TO auditor;
                     -- a DBA's own schema, and a setting for the auditor's sessions
                     CREATE SCHEMA monitoring;
                     CREATE TABLE monitoring.checks (at timestamptz);
                     GRANT USAGE ON SCHEMA monitoring TO auditor;
                     ALTER ROLE auditor IN DATABASE staging SET search_path = \"$user\", public;"
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
    // PostgreSQL's own objects have no reference here: a skip that says why, not a pass.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.path().join("run.json")).unwrap())
            .unwrap();
    let builtin: Vec<&serde_json::Value> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "builtin.altered")
        .collect();
    assert_eq!(builtin.len(), 1, "{builtin:?}");
    assert_eq!(builtin[0]["status"], "skip", "{}", builtin[0]);
    assert!(
        builtin[0]["message"]
            .as_str()
            .unwrap()
            .contains("on a handed-over server"),
        "{}",
        builtin[0]
    );
    // The database was made outside the migrations and no document states its privileges:
    // what differs from PostgreSQL's default is a skip that names it, not a failure.
    let database: Vec<&serde_json::Value> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["table"] == "database")
        .filter(|f| f["code"] == "privilege.missing" || f["code"] == "privilege.extra")
        .collect();
    assert_eq!(database.len(), 2, "{database:?}");
    for f in database {
        assert_eq!(f["status"], "skip", "{f}");
        assert!(f["message"].as_str().unwrap().contains("not judged"), "{f}");
    }
    // A schema no spec names and a setting stored for a role are the DBA's on a server
    // handed over without a database document: each a skip that names it.
    let named = |code: &str| -> Vec<&serde_json::Value> {
        run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .collect()
    };
    let schemas = named("schema.extra");
    assert_eq!(schemas.len(), 1, "{schemas:?}");
    assert_eq!(schemas[0]["object"], "schema monitoring", "{}", schemas[0]);
    assert_eq!(schemas[0]["status"], "skip", "{}", schemas[0]);
    let message = schemas[0]["message"].as_str().unwrap();
    assert!(message.contains("1 relation(s)"), "{message}");
    assert!(message.contains("granted: auditor usage"), "{message}");
    assert!(message.contains("not judged"), "{message}");
    let settings = named("role.settings");
    assert_eq!(settings.len(), 1, "{settings:?}");
    assert_eq!(
        settings[0]["object"], "search_path of role auditor",
        "{}",
        settings[0]
    );
    assert_eq!(settings[0]["status"], "skip", "{}", settings[0]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = footprint().await;
    assert_eq!(before, after, "the check changed the staging database");
}

/// libpq takes a URL whose host is left to its `host=` parameter (`postgres://u@/db?host=…`,
/// `postgres://u@:5432/db?host=…`); so does `check`, and it reaches that server.
#[test]
fn a_url_that_leaves_the_host_to_its_parameters_reaches_that_server() {
    let dir = staging().dir().display().to_string();
    for target in [
        format!("postgres://auditor:{PASSWORD}@/staging?host={dir}&port=5432"),
        format!("postgresql://auditor:{PASSWORD}@:5432/staging?host={dir}"),
    ] {
        let (code, stdout, stderr, _) = run(&["check", "--no-report", "--database-url", &target]);
        assert_eq!(code, 1, "{target}: the known drift\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("FAIL column.extra  tenants.nickname"),
            "{target}\n{stdout}"
        );
        assert!(!format!("{stdout}{stderr}").contains(PASSWORD), "{target}");
    }
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

/// Databases on the staging cluster for the access-control checks, each readable by the
/// `auditor` role through `SELECT` on `schema_migrations` only (all the check reads besides
/// `pg_catalog`): `vault_tpl`, the access fixture, and `reims_tpl`, the REIMS schema without
/// drift. Drift is applied to copies of them.
fn access_templates() {
    static DONE: OnceLock<()> = OnceLock::new();
    let c = staging();
    DONE.get_or_init(|| {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    for (db, dir) in [
                        ("vault_tpl", fixture("access/migrations")),
                        ("reims_tpl", migrations_dir()),
                    ] {
                        c.create_database(db, None).await.unwrap();
                        let files = discover(&dir).unwrap();
                        apply(
                            &c.connect_options(db),
                            &files,
                            &ApplyMode::All,
                            &ApplyOptions::default(),
                        )
                        .await
                        .map_err(|e| e.to_string())
                        .unwrap();
                        let mut conn = c.connect(db).await.unwrap();
                        sqlx::raw_sql("GRANT SELECT ON schema_migrations TO auditor")
                            .execute(&mut conn)
                            .await
                            .unwrap();
                        conn.close().await.unwrap();
                    }
                    // As staging usually is: migrated by a role of its own, not the
                    // superuser. The database belongs to it, so it may create in public.
                    let mut admin = c.connect("postgres").await.unwrap();
                    for sql in [
                        "CREATE ROLE vault_owner LOGIN CREATEROLE",
                        "CREATE DATABASE vault_owned OWNER vault_owner",
                    ] {
                        sqlx::raw_sql(sql).execute(&mut admin).await.unwrap();
                    }
                    admin.close().await.unwrap();
                    let files = discover(&fixture("access/migrations")).unwrap();
                    apply(
                        &c.connect_options("vault_owned").username("vault_owner"),
                        &files,
                        &ApplyMode::All,
                        &ApplyOptions::default(),
                    )
                    .await
                    .map_err(|e| e.to_string())
                    .unwrap();
                    let mut conn = c.connect("vault_owned").await.unwrap();
                    sqlx::raw_sql("SET ROLE vault_owner")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    sqlx::raw_sql("GRANT SELECT ON schema_migrations TO auditor")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    conn.close().await.unwrap();
                })
        })
        .join()
        .unwrap()
    });
}

fn url_of(db: &str, user_pw: &str) -> String {
    format!(
        "postgres://{user_pw}@localhost/{db}?host={}&port=5432",
        staging().dir().display()
    )
}

/// A copy of a template with `sql` applied (as the superuser), its schema read through the
/// auditor's read-only session, exactly as `check --database-url` opens it.
async fn read_as_auditor(template: &str, tag: &str, sql: &str) -> reims_verify::catalog::Schema {
    use reims_verify::postgres::{Database, ServerSettings};
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let db = format!(
        "{tag}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    staging()
        .create_database(&db, Some(template))
        .await
        .unwrap();
    let mut admin = staging().connect(&db).await.unwrap();
    sqlx::raw_sql(sql)
        .execute(&mut admin)
        .await
        .expect("mutation applies");
    admin.close().await.unwrap();
    let target = url_of(&db, &format!("auditor:{PASSWORD}"));
    let handed = Database::open(
        Some(&target),
        &ClusterOptions::default(),
        &ServerSettings::default(),
    )
    .await
    .unwrap();
    let mut conn = handed.connect().await.unwrap();
    let schema = reims_verify::catalog::read_schema(&mut conn, "public")
        .await
        .expect("the read-only role reads the whole catalog");
    Database::close(conn).await;
    schema
}

fn expectations(sql: &str) -> Vec<(String, String)> {
    sql.lines()
        .filter_map(|l| l.trim().strip_prefix("-- expect:"))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            (
                parts.next().unwrap_or_default().to_string(),
                parts.collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

const ACCESS_PREFIXES: [&str; 5] = ["privilege.", "rls.", "policy.", "security.", "role."];

/// Every access-control mutation of both drift corpora (the access fixture's, and the
/// REIMS corpus's access entries) is caught on staging through the read-only role, which
/// sees every ACL, owner, role and policy that the owner sees.
#[tokio::test]
async fn access_drift_is_caught_through_the_read_only_role() {
    use reims_verify::spec::load_dir;
    use reims_verify::verify::{build_shadow, verify_with, AccessOptions};
    access_templates();
    let bind = AccessOptions::parse(&["auditor=auditor".to_string()]).unwrap();
    let mut caught = 0;
    let mut missed = Vec::new();
    for (template, specs, drift) in [
        (
            "vault_tpl",
            fixture("access/specs"),
            fixture("access/drift"),
        ),
        ("reims_tpl", specs_dir(), fixture("drift")),
    ] {
        let specs = load_dir(&specs).unwrap();
        let shadow_db = empty_db("staging_shadow").await;
        let shadow = build_shadow(&mut connect(&shadow_db).await, &specs)
            .await
            .unwrap();
        // Without drift, the fixture passes as the auditor sees it.
        if template == "vault_tpl" {
            let actual = read_as_auditor(template, "vault_clean", "").await;
            let failed: Vec<String> = verify_with(&specs, &actual, &shadow, &bind)
                .into_iter()
                .filter(|f| f.failed())
                .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
                .collect();
            assert!(failed.is_empty(), "{failed:#?}");
        }
        let mut files: Vec<_> = std::fs::read_dir(&drift)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file).unwrap();
            let expected: Vec<_> = expectations(&sql)
                .into_iter()
                .filter(|(code, _)| ACCESS_PREFIXES.iter().any(|p| code.starts_with(p)))
                .collect();
            if expected.is_empty() {
                continue;
            }
            let actual = read_as_auditor(template, "drift", &sql).await;
            let findings = verify_with(&specs, &actual, &shadow, &bind);
            for (code, object) in expected {
                if findings
                    .iter()
                    .any(|f| f.failed() && f.code == code && f.object == object)
                {
                    caught += 1;
                } else {
                    missed.push(format!("{}: {code} {object}", file.display()));
                }
            }
        }
    }
    assert!(
        missed.is_empty(),
        "not caught on staging:\n{}",
        missed.join("\n")
    );
    assert!(caught >= 35, "only {caught} expectations checked");
}

/// End to end through the CLI: the access fixture on staging passes `check` through the
/// read-only role with `--role auditor=auditor`; bound to a role the server lacks, the
/// check reports `role.missing` as a finding (exit 1), not an error.
#[test]
fn the_access_fixture_passes_on_staging_and_a_missing_role_is_a_finding() {
    access_templates();
    let target = url_of("vault_tpl", &format!("auditor:{PASSWORD}"));
    let args = |role: &'static str| {
        vec![
            "check".to_string(),
            "--database-url".into(),
            target.clone(),
            "--migrations".into(),
            "tests/fixtures/access/migrations".into(),
            "--specs".into(),
            "tests/fixtures/access/specs".into(),
            "--role".into(),
            role.into(),
            "--no-report".into(),
        ]
    };
    let run_args = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    let (code, stdout, stderr, _) = run_args(args("auditor=auditor"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS"), "{stdout}");
    let (code, stdout, stderr, _) = run_args(args("auditor=ghost_auditor"));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAIL role.missing  role ghost_auditor"),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
}

/// The owner is a deployment fact. On the ephemeral cluster the migrations run as the
/// bootstrap superuser (the gate tests); here they ran as `vault_owner`. The same specs
/// (`owner: $migrator`) pass on both, because `$migrator` is the owner of
/// `schema_migrations`; `--role migrator=…` pins it, and a wrong pin fails every owner check.
#[test]
fn the_owner_is_the_migrating_role_on_staging_too() {
    access_templates();
    let target = url_of("vault_owned", &format!("auditor:{PASSWORD}"));
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--database-url",
            &target,
            "--migrations",
            "tests/fixtures/access/migrations",
            "--specs",
            "tests/fixtures/access/specs",
            "--role",
            "auditor=auditor",
            "--no-report",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, stdout, stderr, _) = check(&[]);
    assert_eq!(code, 0, "derived owner: {stdout}\n{stderr}");
    let (code, stdout, stderr, _) = check(&["--role", "migrator=vault_owner"]);
    assert_eq!(code, 0, "pinned owner: {stdout}\n{stderr}");
    let (code, stdout, _, _) = check(&["--role", "migrator=postgres"]);
    assert_eq!(code, 1, "{stdout}");
    for object in [
        "accounts",
        "entries",
        "schema_migrations",
        "account_balance(integer)",
    ] {
        assert!(
            stdout.contains(&format!("FAIL privilege.owner  {object}\n")),
            "{object}: {stdout}"
        );
    }
    assert!(
        stdout.contains("owner is vault_owner, spec says postgres ($migrator)"),
        "{stdout}"
    );
}

/// `vault_hidden`: the access fixture with `pg_policy` unreadable by PUBLIC (made once).
fn hidden_policies_db() {
    access_templates();
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
                ONCE.get_or_init(|| async {
                    staging()
                        .create_database("vault_hidden", Some("vault_tpl"))
                        .await
                        .unwrap();
                    let mut c = staging().connect("vault_hidden").await.unwrap();
                    sqlx::raw_sql("REVOKE SELECT ON pg_catalog.pg_policy FROM PUBLIC")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    c.close().await.unwrap();
                })
                .await;
            })
    })
    .join()
    .unwrap();
}

/// `check` of the access fixture on staging database `db` through the read-only role.
fn check_as_auditor(db: &str, specs: &str) -> (i32, String, String, Duration) {
    let target = url_of(db, &format!("auditor:{PASSWORD}"));
    run(&[
        "check",
        "--database-url",
        &target,
        "--migrations",
        "tests/fixtures/access/migrations",
        "--specs",
        specs,
        "--role",
        "auditor=auditor",
        "--no-report",
    ])
}

/// A catalog the read-only role may not read is database trouble (exit 3) naming what
/// could not be read, never a verdict: here `pg_policy`, revoked from PUBLIC.
#[test]
fn an_unreadable_catalog_is_an_error_not_a_verdict() {
    hidden_policies_db();
    let (code, stdout, stderr, _) = check_as_auditor("vault_hidden", "tests/fixtures/access/specs");
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stderr.contains("row-level security policies"), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(
        !stdout.contains("PASS") && !stdout.contains("FAIL"),
        "{stdout}"
    );
}

/// The catalog read and the shadow's build run side by side; when both fail, the run
/// reports the error of the step that once ran first: a catalog it may not read (exit 3)
/// before a spec the shadow refuses (exit 2). With the catalog readable, the same spec is
/// the error, named with its file. (Here the catalog also fails first in time, so this
/// guards the outcome; the order itself is fixed by the code, which awaits both.)
#[test]
fn side_by_side_steps_report_their_errors_in_a_fixed_order() {
    hidden_policies_db();
    let specs = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("access/specs")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let text = text.replace("default: CURRENT_USER", "default: reims_no_such_function()");
        std::fs::write(specs.path().join(entry.file_name()), text).unwrap();
    }
    assert!(std::fs::read_to_string(specs.path().join("entries.yaml"))
        .unwrap()
        .contains("reims_no_such_function"));
    let specs_dir = specs.path().display().to_string();
    for (db, want) in [("vault_hidden", 3), ("vault_tpl", 2)] {
        let (code, stdout, stderr, _) = check_as_auditor(db, &specs_dir);
        assert_eq!(code, want, "{db}: {stdout}\n{stderr}");
        if want == 3 {
            assert!(stderr.contains("row-level security policies"), "{stderr}");
            assert!(!stderr.contains("reims_no_such_function"), "{stderr}");
        } else {
            assert!(stderr.contains("entries.yaml"), "{stderr}");
            assert!(stderr.contains("reims_no_such_function"), "{stderr}");
        }
    }
}

/// The REIMS schema as migrated passes through the read-only role, whose only grant is
/// SELECT on the migration history (the check's own read, expected without being
/// declared); anything more that role holds there is drift.
#[tokio::test]
async fn the_checking_roles_own_read_is_expected_and_nothing_more() {
    use reims_verify::spec::load_dir;
    use reims_verify::verify::{build_shadow, verify};
    access_templates();
    let specs = load_dir(&specs_dir()).unwrap();
    let shadow_db = empty_db("own_read_shadow").await;
    let shadow = build_shadow(&mut connect(&shadow_db).await, &specs)
        .await
        .unwrap();
    let failures = |sql: &'static str| {
        let (specs, shadow) = (&specs, &shadow);
        async move {
            let actual = read_as_auditor("reims_tpl", "own_read", sql).await;
            verify(specs, &actual, shadow)
                .into_iter()
                .filter(|f| f.failed())
                .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
                .collect::<Vec<_>>()
        }
    };
    let clean = failures("").await;
    assert!(clean.is_empty(), "{clean:#?}");
    let more = failures("GRANT INSERT ON schema_migrations TO auditor").await;
    assert_eq!(more.len(), 1, "{more:#?}");
    assert!(
        more[0].starts_with(
            "privilege.extra schema_migrations: schema_migrations: auditor holds INSERT undeclared"
        ),
        "{more:#?}"
    );
    assert!(more[0].contains("SELECT held by auditor"), "{more:#?}");
    let other = failures(
        "DO $$ BEGIN CREATE ROLE history_peeker NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
         GRANT SELECT ON schema_migrations TO history_peeker",
    )
    .await;
    assert_eq!(other.len(), 1, "{other:#?}");
    assert!(
        other[0].contains("history_peeker holds SELECT"),
        "{other:#?}"
    );
}

/// The backend pid of a server log line (`... [pid] LOG: ...`).
fn log_pid(line: &str) -> Option<i32> {
    line.split_once(" [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(pid, _)| pid.parse().ok())
}

/// Each statement a backend sent, as `(pid, text)`, from a server log whose lines start
/// with the default prefix (`%m [%p] `); a statement's text runs on until the next entry.
fn logged_statements(log: &str) -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = Vec::new();
    let mut current: Option<(i32, String)> = None;
    for line in log.lines() {
        let entry = line
            .get(..4)
            .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()));
        if !entry {
            if let Some((_, text)) = &mut current {
                text.push('\n');
                text.push_str(line);
            }
            continue;
        }
        out.extend(current.take());
        let pid = log_pid(line);
        if let (Some(pid), true) = (
            pid,
            line.contains("LOG:  execute") || line.contains("LOG:  statement:"),
        ) {
            current = Some((pid, line.to_string()));
        }
    }
    out.extend(current);
    out
}

/// On a server it is handed, `check` reads the catalog as one session: the queries for the
/// columns, the constraints and the indexes (which a throw-away server's read spreads over
/// two connections) all come from one backend. A role of its own logs every statement it
/// sends, so the staging server's log tells which backend sent which query.
#[tokio::test]
async fn a_handed_over_servers_catalog_is_read_as_one_session() {
    let _quiet = FOOTPRINT.lock().await;
    let mut conn = staging().connect("staging").await.unwrap();
    sqlx::raw_sql(
        "CREATE ROLE counted LOGIN;
         GRANT SELECT ON schema_migrations TO counted;
         ALTER ROLE counted SET log_statement = 'all';",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // Each on its own: ALTER SYSTEM refuses a transaction block.
    for sql in [
        "ALTER SYSTEM SET log_connections = on",
        "SELECT pg_reload_conf()",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    // The server reloads its settings on its own time: wait until a new session has it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut probe = staging().connect("staging").await.unwrap();
        let (on,): (String,) = sqlx::query_as("SHOW log_connections")
            .fetch_one(&mut probe)
            .await
            .unwrap();
        let _ = probe.close().await;
        if on == "on" {
            break;
        }
        assert!(Instant::now() < deadline, "log_connections never took");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = staging().dir().join("server.log");
    let before = std::fs::read_to_string(&log).unwrap().len();
    let target = url_of("staging", "counted");
    let (code, stdout, stderr, _) = tokio::task::spawn_blocking(move || {
        run(&["check", "--database-url", &target, "--no-report"])
    })
    .await
    .unwrap();
    for sql in [
        "DROP OWNED BY counted; DROP ROLE counted;",
        "ALTER SYSTEM RESET log_connections",
        "SELECT pg_reload_conf()",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    assert_eq!(code, 1, "the staging drift is found: {stdout}{stderr}");
    let text = std::fs::read_to_string(&log).unwrap();
    let statements = logged_statements(&text[before..]);
    // Every session the run opened on the server sent something: none is opened there
    // for nothing (as one opened for a second catalog reader would be).
    let mut sessions: Vec<i32> = text[before..]
        .lines()
        .filter(|l| l.contains("connection authorized: user=counted "))
        .filter_map(log_pid)
        .collect();
    sessions.sort();
    let mut speaking: Vec<i32> = statements.iter().map(|(pid, _)| *pid).collect();
    speaking.sort();
    speaking.dedup();
    assert!(
        !sessions.is_empty(),
        "the server logs the run's connections"
    );
    assert_eq!(
        sessions, speaking,
        "sessions opened, and those that sent statements"
    );
    let backends_of = |from: &str| -> Vec<i32> {
        let mut pids: Vec<i32> = statements
            .iter()
            .filter(|(_, sql)| sql.contains(from))
            .map(|(pid, _)| *pid)
            .collect();
        pids.sort();
        pids.dedup();
        pids
    };
    let columns = backends_of("FROM pg_attribute a\n");
    assert_eq!(
        columns.len(),
        1,
        "one backend read the columns: {columns:?}"
    );
    assert_eq!(
        backends_of("FROM pg_constraint k\n"),
        columns,
        "constraints"
    );
    assert_eq!(backends_of("FROM pg_index x\n"), columns, "indexes");
}

/// Another runner's `schema_migrations` (golang-migrate's `(version, dirty)`, or the
/// runner's own with `id` made bigint) is a verdict, not database trouble: its columns fail
/// against the spec, and the migrations are one skip saying which are applied cannot be
/// told. Both used to end the run with exit 3 on the history's read.
#[tokio::test]
async fn a_history_table_of_another_shape_is_a_verdict_not_an_error() {
    access_templates();
    for (db, sql, failing) in [
        (
            "history_golang",
            "DROP TABLE schema_migrations;
             CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (14, false);",
            "column.exists schema_migrations.migration_name",
        ),
        (
            "history_bigint",
            "ALTER TABLE schema_migrations ALTER COLUMN id TYPE bigint;",
            "column.type schema_migrations.id",
        ),
    ] {
        let mut conn = staging().connect("postgres").await.unwrap();
        for statement in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db} TEMPLATE reims_tpl"),
        ] {
            sqlx::raw_sql(&statement).execute(&mut conn).await.unwrap();
        }
        let mut conn = staging().connect(db).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let target = url_of(db, "postgres");
        let (code, stdout, stderr, _) = run(&[
            "check",
            "--no-probe",
            "--no-report",
            "--format",
            "json",
            "--database-url",
            &target,
        ]);
        assert_eq!(code, 1, "{db}: {stderr}");
        let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let findings = run["findings"].as_array().unwrap();
        let shown = |f: &serde_json::Value| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["object"].as_str().unwrap()
            )
        };
        let failed: Vec<String> = findings
            .iter()
            .filter(|f| f["status"] == "fail")
            .map(shown)
            .collect();
        assert!(failed.contains(&failing.to_string()), "{db}: {failed:#?}");
        assert!(
            !failed.iter().any(|f| f.starts_with("migration.")),
            "{db}: {failed:#?}"
        );
        let skip: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|f| f["code"] == "migration.applied" && f["status"] == "skip")
            .collect();
        assert_eq!(skip.len(), 1, "{db}: {skip:#?}");
        assert!(
            skip[0]["message"]
                .as_str()
                .unwrap()
                .contains("cannot be told"),
            "{db}: {}",
            skip[0]
        );
    }
}
