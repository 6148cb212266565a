//! How PostgreSQL prints a value depends on settings that a database, a role or the server
//! may change: `IntervalStyle`, `bytea_output`, `quote_all_identifiers`, `DateStyle`,
//! `TimeZone`, `extra_float_digits`. A server set so must get the verdict a server at
//! PostgreSQL's defaults gets, and `spec snapshot` must write the same specs there.

mod common;

use common::*;
use sqlx::Connection;

/// A project folder: `migrations/` with `tests/fixtures/printed` and `specs/` written by `spec snapshot`
/// from a throw-away server at PostgreSQL's defaults.
fn project() -> tempfile::TempDir {
    let sql = std::fs::read_to_string(fixture("printed/migrations/001_printed.sql")).unwrap();
    project_of("001_printed.sql", &sql)
}

/// A project folder: `migrations/` with one migration, `name` holding `sql`, and `specs/`
/// written by `spec snapshot` from a throw-away server at PostgreSQL's defaults.
fn project_of(name: &str, sql: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(migrations.join(name), sql).unwrap();
    let (code, out) = run_uncached(
        reims_command(&["spec", "snapshot", "-q", "--out"])
            .arg(dir.path().join("specs"))
            .arg("--migrations")
            .arg(&migrations),
    );
    assert_eq!(code, Some(0), "{out}");
    dir
}

/// Give the spec of `table` in the project in `dir` one sample row, `{ id: 1 }`.
fn add_sample(dir: &std::path::Path, table: &str) {
    let spec = dir.join("specs").join(format!("{table}.yaml"));
    let mut yaml = std::fs::read_to_string(&spec).unwrap();
    yaml.push_str("\nsamples:\n  - { id: 1 }\n");
    std::fs::write(&spec, yaml).unwrap();
}

/// `check --no-probe` of the project in `dir` on database `db` of the shared cluster.
fn check_on(dir: &std::path::Path, db: &str) -> (Option<i32>, String) {
    run_uncached(
        reims_command(&[
            "check",
            "--no-probe",
            "--no-report",
            "--database-url",
            &url(db),
        ])
        .arg("--migrations")
        .arg(dir.join("migrations"))
        .arg("--specs")
        .arg(dir.join("specs")),
    )
}

fn url(db: &str) -> String {
    format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    )
}

/// A database of the shared cluster with the project's migrations applied, then `sql`,
/// then every one of [`PRINTING_SETTINGS`] set for the database.
async fn styled_db(dir: &std::path::Path, tag: &str, sql: &str) -> String {
    let db = empty_db(tag).await;
    apply_migrations(&db, &dir.join("migrations")).await;
    let mut conn = connect(&db).await;
    let mut setup = sql.to_string();
    for (name, value) in PRINTING_SETTINGS {
        setup.push_str(&format!("ALTER DATABASE {db} SET {name} = '{value}';\n"));
    }
    sqlx::raw_sql(&setup).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    db
}

/// The YAML of every spec in `dir`, by file name, without the comment lines (the header
/// names where and when the snapshot was taken).
fn specs_without_comments(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                kept.join("\n"),
            )
        })
        .collect();
    out.sort();
    out
}

/// How database `db` prints the default of column `column`, in a new session on it.
async fn printed_default(db: &str, column: &str) -> String {
    let mut conn = connect(db).await;
    let printed: String = sqlx::query_scalar(
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef d JOIN pg_attribute a ON \
         a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE a.attname = $1",
    )
    .bind(column)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    printed
}

/// The specs `spec snapshot` of database `db` writes, as [`specs_without_comments`].
fn snapshot_of(db: &str) -> Vec<(String, String)> {
    let again = tempfile::tempdir().unwrap();
    let (code, out) = run_uncached(
        reims_command(&[
            "spec",
            "snapshot",
            "-q",
            "--database-url",
            &url(db),
            "--out",
        ])
        .arg(again.path()),
    );
    assert_eq!(code, Some(0), "{out}");
    specs_without_comments(again.path())
}

/// `check` of the project in `dir` on `db` fails on the default of `object` alone, and
/// prints its actual value as `actual`.
fn fails_on_the_default_alone(dir: &std::path::Path, db: &str, object: &str, actual: &str) {
    let (code, out) = check_on(dir, db);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAIL column.default  {object}")),
        "{out}"
    );
    assert!(out.contains(&format!("actual:   {actual}")), "{out}");
    assert_eq!(out.matches("FAIL ").count(), 1, "{out}");
}

#[tokio::test]
async fn a_staging_database_that_prints_values_its_own_way_gets_the_same_verdict() {
    let dir = project();
    let db = styled_db(dir.path(), "printed", "").await;
    // The settings are in force for a new session on it.
    assert_eq!(printed_default(&db, "span").await, "'P1DT2H3M4S'::interval");

    let (code, out) = check_on(dir.path(), &db);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("PASS"), "{out}");

    // `spec snapshot` of that database writes the specs a default server gave.
    assert_eq!(
        snapshot_of(&db),
        specs_without_comments(&dir.path().join("specs"))
    );

    // A real difference is still one, and told in PostgreSQL's default style.
    let drifted = styled_db(
        dir.path(),
        "printed_drift",
        "ALTER TABLE printed ALTER span SET DEFAULT '2 days';\n",
    )
    .await;
    fails_on_the_default_alone(dir.path(), &drifted, "printed.span", "'2 days'");
}

#[test]
fn a_server_set_to_print_values_its_own_way_gets_the_same_verdict() {
    // On the run's own server: a migration sets the whole server so, and the open sessions
    // take it up. The shadow is built after the migrations, on that server: on two
    // sessions, and (with a partitioned table among the specs) on one.
    let dir = project();
    let mut setup = String::from("-- no-transaction\n");
    for (name, value) in PRINTING_SETTINGS {
        setup.push_str(&format!("ALTER SYSTEM SET {name} = '{value}';\n"));
    }
    setup.push_str("SELECT pg_reload_conf();\n");
    std::fs::write(dir.path().join("migrations/002_styles.sql"), setup).unwrap();
    for partitioned in [false, true] {
        if partitioned {
            std::fs::write(
                dir.path().join("migrations/003_events.sql"),
                "CREATE TABLE events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);\n",
            )
            .unwrap();
            std::fs::write(
                dir.path().join("specs/events.yaml"),
                "table: events\nkind: partitioned_table\npartition_by: RANGE (at)\ncolumns:\n  \
                 id: { type: integer, nullable: false }\n  at: { type: date, nullable: false }\n\
                 privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n",
            )
            .unwrap();
        }
        let (code, out) = run_uncached(
            reims_command(&["check", "--no-probe", "--no-report"])
                .arg("--migrations")
                .arg(dir.path().join("migrations"))
                .arg("--specs")
                .arg(dir.path().join("specs")),
        );
        assert_eq!(code, Some(0), "partitioned: {partitioned}\n{out}");
        assert!(out.contains("PASS"), "{out}");
    }
}

#[tokio::test]
async fn probes_on_a_staging_database_run_with_its_settings() {
    // The catalog read pins how its session prints, and on a handed-over server the probes
    // run on that session afterwards: they must get the database's settings back, as its
    // application's sessions have them. The CHECK holds only under those.
    let dir = project_of(
        "001_styled.sql",
        "CREATE TABLE styled (id int PRIMARY KEY, CONSTRAINT styled_settings_check CHECK (\n  \
         current_setting('IntervalStyle') = 'iso_8601'\n  \
         AND current_setting('bytea_output') = 'escape'\n  \
         AND current_setting('quote_all_identifiers') = 'on'\n  \
         AND current_setting('standard_conforming_strings') = 'off'));\n",
    );
    add_sample(dir.path(), "styled");

    let db = empty_db("styled").await;
    apply_migrations(&db, &dir.path().join("migrations")).await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(&format!(
        "ALTER DATABASE {db} SET IntervalStyle = 'iso_8601';\n\
         ALTER DATABASE {db} SET bytea_output = 'escape';\n\
         ALTER DATABASE {db} SET quote_all_identifiers = on;\n\
         ALTER DATABASE {db} SET standard_conforming_strings = off;\n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let (code, run) = check_json(dir.path(), &db);
    assert_eq!(sample_status(&run, "styled"), "pass");
    assert_eq!(code, Some(0), "{run}");
}

/// The status of table `table`'s sample-row finding in the run record `run`.
fn sample_status<'a>(run: &'a serde_json::Value, table: &str) -> &'a str {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "probe.sample" && f["table"] == table)
        .unwrap_or_else(|| panic!("no sample finding for {table}: {run}"))["status"]
        .as_str()
        .unwrap()
}

/// The locale the money test gives a database. The machine must have it, and `.ci/run`
/// makes it (`localedef -i de_DE -f UTF-8 de_DE.UTF-8`) where it can.
const MONETARY: &str = "de_DE.UTF-8";

/// `check --probe` of the project in `dir` on database `db` of the shared cluster, as JSON.
fn check_json(dir: &std::path::Path, db: &str) -> (Option<i32>, serde_json::Value) {
    let out = reims_command(&[
        "check",
        "--probe",
        "--seed",
        "7",
        "--no-report",
        "--format",
        "json",
        "--database-url",
        &url(db),
    ])
    .arg("--migrations")
    .arg(dir.join("migrations"))
    .arg("--specs")
    .arg(dir.join("specs"))
    .env("REIMS_VERIFY_NO_CACHE", "1")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let run = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code(), run)
}

/// A database of the shared cluster with `dir`'s migrations applied, then `sql`, then its
/// `lc_monetary` set to [`MONETARY`].
async fn monetary_db(dir: &std::path::Path, tag: &str, sql: &str) -> String {
    let db = empty_db(tag).await;
    apply_migrations(&db, &dir.join("migrations")).await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(&format!(
        "{sql}ALTER DATABASE {db} SET lc_monetary = '{MONETARY}';\n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    db
}

#[tokio::test]
async fn a_staging_database_with_its_own_money_format_gets_the_same_verdict() {
    // The server must know the locale; a machine without it says so and skips.
    let probe_db = empty_db("monetary_locale").await;
    let mut conn = connect(&probe_db).await;
    let known = sqlx::raw_sql(&format!("SET lc_monetary = '{MONETARY}'"))
        .execute(&mut conn)
        .await;
    conn.close().await.unwrap();
    if let Err(e) = known {
        report_skip(&format!(
            "a_staging_database_with_its_own_money_format_gets_the_same_verdict: the server \
             does not take lc_monetary = '{MONETARY}' ({e}); make the locale with \
             `localedef -i de_DE -f UTF-8 {MONETARY}` before the tests start"
        ));
        return;
    }

    let sql = std::fs::read_to_string(fixture("printed/monetary/001_monetary.sql")).unwrap();
    let dir = project_of("001_monetary.sql", &sql);
    let specs = dir.path().join("specs");
    let priced = std::fs::read_to_string(specs.join("priced.yaml")).unwrap();
    assert!(priced.contains("'$12.50'::money"), "{priced}");
    let snapshot = specs_without_comments(&specs);
    add_sample(dir.path(), "tilled");

    let db = monetary_db(dir.path(), "monetary", "").await;
    // The setting is in force for a new session on it.
    assert_eq!(printed_default(&db, "price").await, "'12,50 €'::money");

    // Every structural check passes, and the sample row of `tilled`, which only a session
    // with the database's lc_monetary may insert, passes too.
    let (code, run) = check_json(dir.path(), &db);
    let findings = run["findings"].as_array().unwrap();
    let failed: Vec<&serde_json::Value> =
        findings.iter().filter(|f| f["status"] == "fail").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(code, Some(0), "{run}");
    assert_eq!(sample_status(&run, "tilled"), "pass");

    // `spec snapshot` of that database writes the specs a default server gave (the sample
    // row added above is not the database's to write).
    assert_eq!(snapshot_of(&db), snapshot);

    // A real difference is still one, and told in the C locale's format.
    let drifted = monetary_db(
        dir.path(),
        "monetary_drift",
        "ALTER TABLE priced ALTER price SET DEFAULT '13';\n",
    )
    .await;
    fails_on_the_default_alone(dir.path(), &drifted, "priced.price", "'$13.00'");
}
