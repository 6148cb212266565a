//! Every feature on every PostgreSQL major from 13 to 18, for each major whose binaries are
//! found (the same discovery as the tool: `REIMS_VERIFY_PG_BINDIRS`, which CI sets, the
//! system's folders and `reims-verify pg install`'s folder). A major that is not found is
//! reported as `SKIPPED: PostgreSQL N binaries not found (run reims-verify pg install N)`.
//!
//! Per major: the gate passes on the REIMS migrations; every mutation of the drift corpus
//! is caught; `check --database-url` against a server of that major compiles the specs on
//! the same major, and on another major only with a warning in every report and exactly
//! the known printer differences tolerated; `spec snapshot` round-trips; and the printer
//! differences between 13 and 14+ are what the comparison expects, printed by real servers.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use common::*;
use reims_verify::catalog::read_schema;
use reims_verify::migrate::{apply, discover, ApplyMode, ApplyOptions};
use reims_verify::postgres::{find_bindir_of_major, ClusterOptions, EphemeralCluster};
use reims_verify::spec::load_dir;
use reims_verify::sql::quote_ident;
use reims_verify::verify::{across_majors, build_shadow, canonical, verify};
use sqlx::Connection;

const MAJORS: [u32; 6] = [13, 14, 15, 16, 17, 18];
const TEMPLATE: &str = "reims_template";

/// The binaries of each major found here; the others are reported skipped once each.
fn bindirs() -> &'static HashMap<u32, PathBuf> {
    static FOUND: OnceLock<HashMap<u32, PathBuf>> = OnceLock::new();
    FOUND.get_or_init(|| {
        let mut found = HashMap::new();
        for major in MAJORS {
            match find_bindir_of_major(None, major) {
                Ok(Some(dir)) => {
                    found.insert(major, dir.path);
                }
                _ => report_skip(&format!(
                    "PostgreSQL {major} binaries not found (run reims-verify pg install {major})"
                )),
            }
        }
        found
    })
}

/// The majors found, oldest first.
fn found_majors() -> Vec<u32> {
    let mut m: Vec<u32> = bindirs().keys().copied().collect();
    m.sort();
    m
}

fn on_own_runtime<T: Send + 'static>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .unwrap()
}

/// One cluster per major, with the REIMS migrations applied to a template database.
fn cluster(major: u32) -> &'static EphemeralCluster {
    static CLUSTERS: OnceLock<Mutex<HashMap<u32, &'static EphemeralCluster>>> = OnceLock::new();
    let map = CLUSTERS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap();
    if let Some(c) = map.get(&major) {
        return c;
    }
    let bindir = bindirs()[&major].clone();
    let c: &'static EphemeralCluster = Box::leak(Box::new(on_own_runtime(move || {
        Box::pin(async move {
            let c = EphemeralCluster::start(&ClusterOptions {
                bindir: Some(bindir),
                ..Default::default()
            })
            .await
            .expect("start a cluster");
            c.create_database(TEMPLATE, None).await.unwrap();
            let files = discover(&migrations_dir()).unwrap();
            let target = c.connect_options(TEMPLATE);
            apply(&target, &files, &ApplyMode::All, &ApplyOptions::default())
                .await
                .expect("the REIMS migrations apply");
            c
        })
    })));
    map.insert(major, c);
    c
}

/// A fresh copy of the migrated template on `major`'s cluster; returns its name.
async fn migrated_db_on(major: u32, tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "m{major}_{tag}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    cluster(major)
        .create_database(&name, Some(TEMPLATE))
        .await
        .unwrap();
    name
}

/// A URL for a database of `major`'s cluster (a unix socket in the cluster folder).
fn url(major: u32, db: &str) -> String {
    let dir = cluster(major)
        .dir()
        .display()
        .to_string()
        .replace('/', "%2F");
    format!("postgres://postgres@{dir}:5432/{db}")
}

fn reims(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("REIMS_VERIFY_PG_BINDIR");
    cmd
}

/// `out` ended with exit code 0, or the test fails showing it.
fn succeeded(major: u32, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "PostgreSQL {major}: {}",
        text(out)
    );
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn major_of_version(v: &str) -> u32 {
    reims_verify::postgres::major_of(v).unwrap_or_else(|| panic!("no major in {v}"))
}

#[test]
fn the_gate_passes_on_every_major() {
    // Every probe and property runs; 8 random cases each exercise them on each major (the
    // other test binaries run the default 64).
    for major in found_majors() {
        let dir = bindirs()[&major].display().to_string();
        let out = reims(&[
            "check",
            "--no-report",
            "--format",
            "json",
            "--cases",
            "8",
            "--pg-bindir",
            &dir,
        ])
        .arg("--migrations")
        .arg(migrations_dir())
        .arg("--specs")
        .arg(specs_dir())
        .output()
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "PostgreSQL {major}: {}",
            text(&out)
        );
        let run = json_of(&out);
        assert_eq!(
            major_of_version(run["server_version"].as_str().unwrap()),
            major
        );
        assert!(run["probe_seed"].is_u64(), "probes ran on {major}");
        assert!(run["warnings"].is_null(), "{major}: {}", run["warnings"]);
    }
}

#[tokio::test]
async fn every_drift_mutation_is_caught_on_every_major() {
    let specs = load_dir(&specs_dir()).unwrap();
    let mut drift: Vec<PathBuf> = std::fs::read_dir(fixture("drift"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    drift.sort();
    assert!(drift.len() >= 20);
    for major in found_majors() {
        let c = cluster(major);
        c.create_database(&format!("shadow_{major}"), None)
            .await
            .unwrap();
        let mut sconn = c.connect(&format!("shadow_{major}")).await.unwrap();
        let shadow = build_shadow(&mut sconn, &specs).await.unwrap();
        sconn.close().await.unwrap();
        let mut missed = Vec::new();
        for file in &drift {
            let sql = std::fs::read_to_string(file).unwrap();
            // A mutation that is the default before some major changes nothing there.
            let since = sql
                .lines()
                .filter_map(|l| l.trim().strip_prefix("-- since:"))
                .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
                .next();
            if since.is_some_and(|s| major < s) {
                eprintln!(
                    "SKIPPED on PostgreSQL {major}: {} is a mutation only from {} on",
                    file.display(),
                    since.unwrap()
                );
                continue;
            }
            let db = migrated_db_on(major, "drift").await;
            let mut conn = c.connect(&db).await.unwrap();
            // As the gate applies them: parts split at `-- step` lines, each outside any
            // transaction block (`CREATE INDEX CONCURRENTLY`); `-- step: fails` must fail.
            let mut parts: Vec<(bool, String)> = vec![(false, String::new())];
            for line in sql.lines() {
                let t = line.trim();
                if t == "-- step" || t == "-- step: fails" {
                    parts.push((t.ends_with("fails"), String::new()));
                } else {
                    let part = &mut parts.last_mut().unwrap().1;
                    part.push_str(line);
                    part.push('\n');
                }
            }
            for (must_fail, part) in parts {
                let result = sqlx::raw_sql(&part).execute(&mut conn).await;
                match (must_fail, result) {
                    (false, Err(e)) => panic!("PostgreSQL {major}, {}: {e}", file.display()),
                    (true, Ok(_)) => panic!(
                        "PostgreSQL {major}, {}: a part marked `-- step: fails` succeeded",
                        file.display()
                    ),
                    _ => {}
                }
            }
            let actual = read_schema(&mut conn, "public").await.unwrap();
            conn.close().await.unwrap();
            let findings = verify(&specs, &actual, &shadow);
            for line in sql
                .lines()
                .filter_map(|l| l.trim().strip_prefix("-- expect:"))
            {
                let mut parts = line.split_whitespace();
                let code = parts.next().unwrap().to_string();
                let object = parts.collect::<Vec<_>>().join(" ");
                if !findings
                    .iter()
                    .any(|f| f.failed() && f.code == code && f.object == object)
                {
                    missed.push(format!("{}: {code} {object}", file.display()));
                }
            }
        }
        assert!(
            missed.is_empty(),
            "PostgreSQL {major} missed:\n{}",
            missed.join("\n")
        );
    }
}

/// `check --database-url` on `major`'s database `db`, writing reports to `reports`.
fn check_url(major: u32, db: &str, reports: &Path, extra: &[&str]) -> Output {
    let mut cmd = reims(&[
        "check",
        "--format",
        "json",
        "--database-url",
        &url(major, db),
    ]);
    cmd.arg("--migrations")
        .arg(migrations_dir())
        .arg("--specs")
        .arg(specs_dir())
        .arg("--report")
        .arg(reports)
        .args(extra);
    cmd.output().unwrap()
}

#[tokio::test]
async fn a_servers_shadow_runs_on_its_major_or_says_so_in_every_report() {
    let majors = found_majors();
    for &major in &majors {
        let db = migrated_db_on(major, "url").await;
        // Same major: found by discovery, no warning.
        let reports = tempfile::tempdir().unwrap();
        let out = check_url(major, &db, reports.path(), &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "PostgreSQL {major}: {}",
            text(&out)
        );
        let run = json_of(&out);
        assert_eq!(
            major_of_version(run["shadow_server_version"].as_str().unwrap()),
            major,
            "the shadow follows the server's major"
        );
        assert!(run["warnings"].is_null(), "{}", run["warnings"]);

        // Another major, named with --pg-bindir: passes (the printers' known differences
        // are tolerated) and says so everywhere.
        let Some(&other) = majors
            .iter()
            .find(|&&m| (m < 14) != (major < 14))
            .or_else(|| majors.iter().find(|&&m| m != major))
        else {
            report_skip(&format!(
                "a second PostgreSQL major to compile PostgreSQL {major}'s specs on"
            ));
            continue;
        };
        let other_dir = bindirs()[&other].display().to_string();
        let reports = tempfile::tempdir().unwrap();
        let out = check_url(major, &db, reports.path(), &["--pg-bindir", &other_dir]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{major} on {other}: {}",
            text(&out)
        );
        let run = json_of(&out);
        assert_eq!(
            major_of_version(run["shadow_server_version"].as_str().unwrap()),
            other
        );
        let warning = run["warnings"][0].as_str().expect("a warning").to_string();
        assert!(
            warning.contains(&format!("PostgreSQL {major}"))
                && warning.contains(&format!("PostgreSQL {other}")),
            "{warning}"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&warning),
            "the terminal says it: {}",
            text(&out)
        );
        for file in ["run.json", "report.md", "report.html", "junit.xml"] {
            let body = std::fs::read_to_string(reports.path().join(file)).unwrap();
            assert!(
                body.contains(&format!("compiled by PostgreSQL {other}")),
                "{file} does not show the warning"
            );
        }

        // Real drift in a construct that prints differently is still caught across majors.
        let drifted = migrated_db_on(major, "drift_url").await;
        let mut conn = cluster(major).connect(&drifted).await.unwrap();
        sqlx::raw_sql(
            "ALTER TABLE users DROP CONSTRAINT users_email_not_empty_check;
             ALTER TABLE users ADD CONSTRAINT users_email_not_empty_check
               CHECK (length(ltrim(email)) > 0);
             ALTER TABLE properties DROP CONSTRAINT properties_year_built_check;
             ALTER TABLE properties ADD CONSTRAINT properties_year_built_check
               CHECK (year_built >= 1800 AND year_built <= EXTRACT(month FROM CURRENT_DATE) + 5);",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let reports = tempfile::tempdir().unwrap();
        let out = check_url(
            major,
            &drifted,
            reports.path(),
            &["--pg-bindir", &other_dir],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{major} on {other}: {}",
            text(&out)
        );
        let run = json_of(&out);
        let failed: Vec<String> = run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "fail")
            .map(|f| f["object"].as_str().unwrap().to_string())
            .collect();
        for object in [
            "users.users_email_not_empty_check",
            "properties.properties_year_built_check",
        ] {
            assert!(
                failed.iter().any(|o| o == object),
                "{object} not caught: {failed:?}"
            );
        }
        assert_eq!(failed.len(), 2, "{major} on {other}: {failed:?}");
    }
}

#[test]
fn spec_snapshot_round_trips_on_every_major() {
    for major in found_majors() {
        let dir = bindirs()[&major].display().to_string();
        let out_dir = tempfile::tempdir().unwrap();
        let snap = reims(&["spec", "snapshot", "--pg-bindir", &dir, "--out"])
            .arg(out_dir.path())
            .arg("--migrations")
            .arg(migrations_dir())
            .output()
            .unwrap();
        assert_eq!(
            snap.status.code(),
            Some(0),
            "PostgreSQL {major}: {}",
            text(&snap)
        );
        assert!(
            !String::from_utf8_lossy(&snap.stderr).contains("will fail"),
            "PostgreSQL {major}: {}",
            text(&snap)
        );
        let check = reims(&["check", "--no-report", "--no-probe", "--pg-bindir", &dir])
            .arg("--migrations")
            .arg(migrations_dir())
            .arg("--specs")
            .arg(out_dir.path())
            .output()
            .unwrap();
        assert_eq!(
            check.status.code(),
            Some(0),
            "PostgreSQL {major}: the snapshot does not pass check: {}",
            text(&check)
        );
    }
}

/// CHECKs whose print differs between 13 and 14+ (each rule of the canonicaliser's
/// cross-major list), and CHECKs that differ in meaning.
const SAME_MEANING: &[&str] = &[
    "length(TRIM(BOTH FROM a)) > 0",
    "TRIM(LEADING 'x' FROM a) <> ''",
    "TRIM(TRAILING FROM a) <> ''",
    "EXTRACT(year FROM d) > 1900",
    "SUBSTRING(a FROM 1 FOR 2) <> 'zz'",
    "SUBSTRING(a FROM 2) <> ''",
    "POSITION('@' IN a) > 1",
    "OVERLAY(a PLACING 'x' FROM 1 FOR 1) <> ''",
    "(ts AT TIME ZONE 'UTC') > '2000-01-01'",
    "COLLATION FOR (a) <> 'x'",
    "NORMALIZE(a, NFC) = a",
    "a IS NFKC NORMALIZED",
    "EXTRACT(year FROM ts AT TIME ZONE 'UTC') > 2000",
    "substring(a from 'a#\"b%#\"' for '#') IS NOT NULL OR a <> ''",
    "XMLEXISTS('//a' PASSING xmlparse(document '<a/>')) OR a <> ''",
];
const OTHER_MEANING: &[(&str, &str)] = &[
    (
        "length(TRIM(BOTH FROM a)) > 0",
        "length(TRIM(LEADING FROM a)) > 0",
    ),
    (
        "EXTRACT(year FROM d) > 1900",
        "EXTRACT(month FROM d) > 1900",
    ),
    ("POSITION('@' IN a) > 1", "POSITION(a IN '@') > 1"),
    (
        "(ts AT TIME ZONE 'UTC') > '2000-01-01'",
        "(ts AT TIME ZONE 'CET') > '2000-01-01'",
    ),
    ("NORMALIZE(a, NFC) = a", "NORMALIZE(a, NFD) = a"),
    (
        "substring(a from 'a#\"b%#\"' for '#') IS NOT NULL OR a <> ''",
        "substring(a from 'a#\"c%#\"' for '#') IS NOT NULL OR a <> ''",
    ),
    (
        "XMLEXISTS('//a' PASSING xmlparse(document '<a/>')) OR a <> ''",
        "XMLEXISTS('//b' PASSING xmlparse(document '<a/>')) OR a <> ''",
    ),
];

/// `pg_get_constraintdef` of each CHECK, printed by `major`.
async fn prints(major: u32, checks: &[&str]) -> Vec<String> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let db = format!(
        "prints{major}_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let c = cluster(major);
    c.create_database(&db, None).await.unwrap();
    let mut conn = c.connect(&db).await.unwrap();
    let mut out = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        sqlx::raw_sql(&format!(
            "CREATE TABLE t{i} (a text, d date, ts timestamptz, CONSTRAINT c CHECK ({check}))"
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {major}: {check}: {e}"));
        let def: String = sqlx::query_scalar(&format!(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 't{i}'::regclass"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        out.push(def);
    }
    conn.close().await.unwrap();
    out
}

#[tokio::test]
async fn the_printer_differences_between_13_and_later_majors_are_the_known_ones() {
    if !bindirs().contains_key(&13) {
        report_skip("PostgreSQL 13 binaries not found (run reims-verify pg install 13)");
        return;
    }
    let old = prints(13, SAME_MEANING).await;
    let old_pairs: Vec<(String, String)> = {
        let (a, b): (Vec<&str>, Vec<&str>) = OTHER_MEANING.iter().copied().unzip();
        prints(13, &a)
            .await
            .into_iter()
            .zip(prints(13, &b).await)
            .collect()
    };
    let newer: Vec<u32> = found_majors().into_iter().filter(|m| *m >= 14).collect();
    if newer.is_empty() {
        report_skip("PostgreSQL 14 or later binaries not found (run reims-verify pg install 16)");
    }
    for major in newer {
        let new = prints(major, SAME_MEANING).await;
        for ((check, o), n) in SAME_MEANING.iter().zip(&old).zip(&new) {
            // The printers differ, so a plain comparison would report drift …
            assert_ne!(
                canonical(o),
                canonical(n),
                "13 and {major} print {check} alike"
            );
            // … and across the two majors the comparison absorbs exactly that.
            let _scope = across_majors(13, major);
            assert_eq!(
                canonical(o),
                canonical(n),
                "13 vs {major}: {check}: {o} | {n}"
            );
        }
        let (a, b): (Vec<&str>, Vec<&str>) = OTHER_MEANING.iter().copied().unzip();
        let new_a = prints(major, &a).await;
        let new_b = prints(major, &b).await;
        for (i, (x, y)) in OTHER_MEANING.iter().enumerate() {
            let _scope = across_majors(13, major);
            // 13's print of x against this major's print of y, and the other way round.
            assert_ne!(
                canonical(&old_pairs[i].0),
                canonical(&new_b[i]),
                "{x} vs {y}"
            );
            assert_ne!(
                canonical(&new_a[i]),
                canonical(&old_pairs[i].1),
                "{x} vs {y}"
            );
        }
    }
}

/// The catalog read asks PostgreSQL's printers for less than it reports: a validated,
/// inheritable CHECK's definition is its expression in `CHECK (…)`, and an index key or
/// INCLUDE column that is a plain column is its name as `quote_ident` writes it. On every
/// major, on names that need quoting, on CHECKs that are `NO INHERIT`, `NOT VALID` or (18)
/// `NOT ENFORCED`, on inherited ones and on expression keys, each must be what the
/// printer itself prints for that object.
#[tokio::test]
async fn the_catalog_reads_shortcuts_print_what_the_printers_print_on_every_major() {
    for major in found_majors() {
        let c = cluster(major);
        let db = format!("shortcuts{major}");
        c.create_database(&db, None).await.unwrap();
        let mut conn = c.connect(&db).await.unwrap();
        let mut ddl = String::from(
            r#"CREATE TABLE "Odd Table" (id int PRIMARY KEY, "Mixed Case" int, "select" text,
                 "a""b" int, plain int, "naïve" int,
                 CONSTRAINT c_plain CHECK (plain > 0),
                 CONSTRAINT "Odd Check" CHECK ("Mixed Case" <> 0 AND "select" <> 'x)'),
                 CONSTRAINT c_noinherit CHECK (plain < 100) NO INHERIT);
               ALTER TABLE "Odd Table" ADD CONSTRAINT c_notvalid CHECK ("a""b" > 0) NOT VALID;
               CREATE INDEX i_keys ON "Odd Table" ("Mixed Case" DESC, "select", lower("select"), "a""b", "naïve") INCLUDE (plain, "select");
               CREATE UNIQUE INDEX "Odd Index" ON "Odd Table" ("a""b") WHERE plain > 0;
               CREATE INDEX i_expr ON "Odd Table" ((plain + 1), "select" text_pattern_ops);
               CREATE TABLE child (extra int) INHERITS ("Odd Table");
               CREATE TABLE ref (id int PRIMARY KEY, odd int REFERENCES "Odd Table" (id) ON DELETE CASCADE);"#,
        );
        if major >= 18 {
            ddl.push_str(
                r#"ALTER TABLE "Odd Table" ADD CONSTRAINT c_unenforced CHECK (plain <> 7) NOT ENFORCED;"#,
            );
        }
        sqlx::raw_sql(&ddl)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL {major}: {e}"));
        let schema = read_schema(&mut conn, "public").await.unwrap();
        let (mut checks, mut keys) = (0, 0);
        for rel in schema.relations.values() {
            let regclass = format!("{}.{}", quote_ident(&rel.schema), quote_ident(&rel.name));
            for k in &rel.constraints {
                let printed: String = sqlx::query_scalar(
                    "SELECT pg_get_constraintdef(oid, false) FROM pg_constraint
                      WHERE conrelid = $1::regclass AND conname = $2",
                )
                .bind(&regclass)
                .bind(&k.name)
                .fetch_one(&mut conn)
                .await
                .unwrap();
                assert_eq!(
                    k.definition, printed,
                    "PostgreSQL {major}: {regclass} {}",
                    k.name
                );
                if k.expression.is_some() {
                    checks += 1;
                }
            }
            for i in &rel.indexes {
                let n = i.keys.len();
                for (at, key) in i.keys.iter().chain(&i.include).enumerate() {
                    let printed: String = sqlx::query_scalar(
                        "SELECT pg_get_indexdef(c.oid, $2, false) FROM pg_class c
                          WHERE c.oid = $1::regclass",
                    )
                    .bind(format!(
                        "{}.{}",
                        quote_ident(&rel.schema),
                        quote_ident(&i.name)
                    ))
                    .bind(at as i32 + 1)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                    assert_eq!(
                        key, &printed,
                        "PostgreSQL {major}: {} element {at} (of {n} keys)",
                        i.name
                    );
                    keys += 1;
                }
            }
        }
        // Both tables' CHECKs (the child inherits all but the NO INHERIT one), and every
        // element of the five indexes and the two keys.
        let want_checks = if major >= 18 { 9 } else { 7 };
        assert_eq!(checks, want_checks, "PostgreSQL {major}: CHECKs compared");
        assert_eq!(
            keys,
            7 + 1 + 2 + 1 + 1,
            "PostgreSQL {major}: index elements compared"
        );
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_database_that_prints_values_its_own_way_gets_the_same_verdict_on_every_major() {
    // `tests/printed_values.rs` on PostgreSQL 15, here on each major: specs by `spec
    // snapshot` of a database at PostgreSQL's defaults, then `check` of one with every
    // setting of `PRINTING_SETTINGS` given to the database, and `lc_monetary` where the
    // machine has the locale (`.ci/run` makes it).
    for major in found_majors() {
        let c = cluster(major);
        let (plain, styled) = ("printed_plain", "printed_styled");
        let monetary = "de_DE.UTF-8";
        let mut conn = c.connect("postgres").await.unwrap();
        let with_money = sqlx::raw_sql(&format!("SET lc_monetary = '{monetary}'"))
            .execute(&mut conn)
            .await
            .is_ok();
        conn.close().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixture("printed/migrations/001_printed.sql"),
            dir.path().join("001_printed.sql"),
        )
        .unwrap();
        if with_money {
            std::fs::copy(
                fixture("printed/monetary/001_monetary.sql"),
                dir.path().join("002_monetary.sql"),
            )
            .unwrap();
        } else {
            report_skip(&format!(
                "PostgreSQL {major}: lc_monetary not tried, the server does not take \
                 '{monetary}' (make it with `localedef -i de_DE -f UTF-8 {monetary}`)"
            ));
        }
        let migrations = dir.path();
        for db in [plain, styled] {
            c.create_database(db, None).await.unwrap();
            apply_migrations_on(c, db, migrations).await;
        }
        let mut conn = c.connect(styled).await.unwrap();
        let mut settings: Vec<(&str, &str)> = PRINTING_SETTINGS.to_vec();
        if with_money {
            settings.push(("lc_monetary", monetary));
        }
        for (name, value) in settings {
            sqlx::raw_sql(&format!("ALTER DATABASE {styled} SET {name} = '{value}'"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
        let specs = tempfile::tempdir().unwrap();
        let snap = reims(&[
            "spec",
            "snapshot",
            "-q",
            "--database-url",
            &url(major, plain),
        ])
        .arg("--out")
        .arg(specs.path())
        .output()
        .unwrap();
        succeeded(major, &snap);
        let check = reims(&[
            "check",
            "--no-report",
            "--no-probe",
            "--database-url",
            &url(major, styled),
        ])
        .arg("--migrations")
        .arg(migrations)
        .arg("--specs")
        .arg(specs.path())
        .output()
        .unwrap();
        succeeded(major, &check);
    }
}

/// A function's `arguments` are compared as PostgreSQL prints the spec's list on the
/// shadow's stand-in, so on every major a spec that writes a default in SQL syntax
/// (`EXTRACT`, which 13 prints as `date_part`) or a type by another name (`int`) passes,
/// and a changed default still fails. On 13 the first failed, and `int` failed everywhere.
#[test]
fn argument_defaults_are_compared_as_the_server_prints_them_on_every_major() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let specs = dir.path().join("specs");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(
        migrations.join("001_fa.sql"),
        "CREATE FUNCTION fa(p integer DEFAULT EXTRACT(year FROM now())::integer, q int DEFAULT 2)\n\
         RETURNS integer LANGUAGE sql STABLE AS 'SELECT p + q';\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("drift.sql"),
        "CREATE OR REPLACE FUNCTION fa(p integer DEFAULT EXTRACT(month FROM now())::integer, q int DEFAULT 2)\n\
         RETURNS integer LANGUAGE sql STABLE AS 'SELECT p + q';\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("_schema.public.yaml"),
        "schema: public\nfunctions:\n  fa(integer, integer):\n    returns: integer\n    \
         arguments: p int DEFAULT (EXTRACT(year FROM now()))::integer, q int DEFAULT 2\n    \
         language: sql\n    volatility: stable\n",
    )
    .unwrap();
    std::fs::copy(
        specs_dir().join("schema_migrations.yaml"),
        specs.join("schema_migrations.yaml"),
    )
    .unwrap();
    for major in found_majors() {
        let bindir = bindirs()[&major].display().to_string();
        let run = |extra: &[&str]| {
            let out = reims(&["check", "--no-probe", "--no-report", "--format", "json"])
                .args(["--pg-bindir", &bindir])
                .arg("--migrations")
                .arg(&migrations)
                .arg("--specs")
                .arg(&specs)
                .args(extra)
                .output()
                .unwrap();
            (out.status.code(), failed_findings(&json_of(&out)))
        };
        assert_eq!(run(&[]), (Some(0), vec![]), "PostgreSQL {major}");
        let drift = dir.path().join("drift.sql");
        assert_eq!(
            run(&["--apply-after", drift.to_str().unwrap()]),
            (
                Some(1),
                vec!["function.arguments fa(integer, integer)".to_string()]
            ),
            "PostgreSQL {major}"
        );
    }
}

/// Write a project of one migration, a schema document and the history table's spec, with
/// `drifts` beside it; returns the folder.
fn small_project(migration: &str, schema_doc: &str, drifts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let specs = dir.path().join("specs");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(migrations.join("001_start.sql"), migration).unwrap();
    std::fs::write(specs.join("_schema.public.yaml"), schema_doc).unwrap();
    std::fs::copy(
        specs_dir().join("schema_migrations.yaml"),
        specs.join("schema_migrations.yaml"),
    )
    .unwrap();
    for (name, sql) in drifts {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    dir
}

/// `check` of a [`small_project`] on `major`, with `drift` applied after the migrations:
/// the exit code and the failing findings. A skip fails the test: every check here has
/// what it needs.
fn check_small(dir: &Path, major: u32, drift: Option<&str>) -> (Option<i32>, Vec<String>) {
    let bindir = bindirs()[&major].display().to_string();
    let mut cmd = reims(&["check", "--no-probe", "--no-report", "--format", "json"]);
    cmd.args(["--pg-bindir", &bindir])
        .arg("--migrations")
        .arg(dir.join("migrations"))
        .arg("--specs")
        .arg(dir.join("specs"));
    if let Some(d) = drift {
        cmd.arg("--apply-after").arg(dir.join(d));
    }
    let out = cmd.output().unwrap();
    let run = json_of(&out);
    let skipped: Vec<&serde_json::Value> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "skip")
        .collect();
    assert!(skipped.is_empty(), "PostgreSQL {major}: {skipped:#?}");
    (out.status.code(), failed_findings(&run))
}

/// PostgreSQL stores a function's `SET` options as written, so `work_mem = '65536kB'`
/// against a spec's `64MB`, `statement_timeout = '1min'` against `60s` or `60000`, and
/// `enable_seqscan = false` against `off`, failed `function.config` though the values are
/// equal. They are compared in the setting's unit, rounded half to even as the server
/// rounds (`2.5ms` is `2ms`; it was `3ms`), and booleans as `on` or `off`; another value
/// still fails.
#[test]
fn set_options_with_units_are_compared_by_value_on_every_major() {
    let migration = "CREATE FUNCTION tuned() RETURNS integer LANGUAGE sql STABLE \
                     SET work_mem = '65536kB' SET statement_timeout = '1min' AS 'SELECT 1';\n\
                     CREATE FUNCTION tuned_ms() RETURNS integer LANGUAGE sql STABLE \
                     SET statement_timeout = '60000' AS 'SELECT 1';\n\
                     CREATE FUNCTION tuned_half() RETURNS integer LANGUAGE sql STABLE \
                     SET statement_timeout = '2.5ms' SET enable_seqscan = false AS 'SELECT 1';\n";
    let doc = "schema: public\nfunctions:\n  \
               tuned(): { returns: integer, language: sql, volatility: stable, set: { work_mem: 64MB, statement_timeout: 60s } }\n  \
               tuned_ms(): { returns: integer, language: sql, volatility: stable, set: { statement_timeout: 1min } }\n  \
               tuned_half(): { returns: integer, language: sql, volatility: stable, set: { statement_timeout: 2ms, enable_seqscan: 'off' } }\n";
    let dir = small_project(
        migration,
        doc,
        &[
            (
                "more_memory.sql",
                "ALTER FUNCTION tuned() SET work_mem = '65537kB';\n",
            ),
            (
                "longer.sql",
                "ALTER FUNCTION tuned_ms() SET statement_timeout = '61s';\n",
            ),
            (
                "half_up.sql",
                "ALTER FUNCTION tuned_half() SET statement_timeout = '3.5ms';\n",
            ),
            (
                "seqscan_on.sql",
                "ALTER FUNCTION tuned_half() SET enable_seqscan = 'yes';\n",
            ),
        ],
    );
    for major in found_majors() {
        assert_eq!(
            check_small(dir.path(), major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        assert_eq!(
            check_small(dir.path(), major, Some("more_memory.sql")),
            (Some(1), vec!["function.config tuned()".to_string()]),
            "PostgreSQL {major}"
        );
        assert_eq!(
            check_small(dir.path(), major, Some("longer.sql")),
            (Some(1), vec!["function.config tuned_ms()".to_string()]),
            "PostgreSQL {major}"
        );
        for drift in ["half_up.sql", "seqscan_on.sql"] {
            assert_eq!(
                check_small(dir.path(), major, Some(drift)),
                (Some(1), vec!["function.config tuned_half()".to_string()]),
                "PostgreSQL {major}, {drift}"
            );
        }
    }
}

/// An extension's members were left out of every check: an object a migration added to
/// the extension, and a member made SECURITY DEFINER, re-owned or re-granted, passed. They
/// are compared with the shadow's fresh install of the extension, on every major.
#[test]
fn extension_members_are_compared_with_a_fresh_install_on_every_major() {
    let dir = small_project(
        "CREATE EXTENSION pgcrypto;\n",
        "schema: public\nextensions:\n  pgcrypto: {}\n",
        &[
            (
                "added.sql",
                "CREATE FUNCTION app_secret() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT ''s''';\n\
                 ALTER EXTENSION pgcrypto ADD FUNCTION app_secret();\n",
            ),
            ("definer.sql", "ALTER FUNCTION public.gen_random_bytes(integer) SECURITY DEFINER;\n"),
            ("revoked.sql", "REVOKE EXECUTE ON FUNCTION public.gen_random_bytes(integer) FROM PUBLIC;\n"),
        ],
    );
    for major in found_majors() {
        assert_eq!(
            check_small(dir.path(), major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        assert_eq!(
            check_small(dir.path(), major, Some("added.sql")),
            (
                Some(1),
                vec!["extension.member function app_secret()".to_string()]
            ),
            "PostgreSQL {major}"
        );
        for drift in ["definer.sql", "revoked.sql"] {
            assert_eq!(
                check_small(dir.path(), major, Some(drift)),
                (
                    Some(1),
                    vec![
                        "extension.member_security function gen_random_bytes(integer)".to_string()
                    ]
                ),
                "PostgreSQL {major}, {drift}"
            );
        }
    }
}

/// A column's storage and compression were not read: `SET STORAGE EXTERNAL` or `SET
/// COMPRESSION pglz` in a migration passed. They are compared on every major, storage
/// from 13 and compression from 14 (13 has no `attcompression`, and the catalog read must
/// not ask for it there); a declared `compression` is a spec error at its key on 13.
#[test]
fn column_storage_and_compression_are_compared_on_every_major() {
    let migration = "CREATE DOMAIN note_text AS text;\n\
                     CREATE TABLE notes (id integer NOT NULL, body text, tags text[], \
                     kept text, title note_text);\n\
                     ALTER TABLE notes ALTER COLUMN kept SET STORAGE MAIN;\n";
    let doc = "schema: public\ntypes:\n  note_text: { domain: text }\n";
    let notes = "table: notes\ncolumns:\n  \
                 id: { type: integer, nullable: false }\n  \
                 body: { type: text }\n  \
                 tags: { type: \"text[]\" }\n  \
                 kept: { type: text, storage: main }\n  \
                 title: { type: note_text }\n";
    let dir = small_project(
        migration,
        doc,
        &[
            (
                "external.sql",
                "ALTER TABLE notes ALTER COLUMN body SET STORAGE EXTERNAL;\n",
            ),
            (
                "domain_main.sql",
                "ALTER TABLE notes ALTER COLUMN title SET STORAGE MAIN;\n",
            ),
            (
                "kept_default.sql",
                "ALTER TABLE notes ALTER COLUMN kept SET STORAGE EXTENDED;\n",
            ),
            (
                "compressed.sql",
                "ALTER TABLE notes ALTER COLUMN tags SET COMPRESSION pglz;\n",
            ),
        ],
    );
    std::fs::write(dir.path().join("specs/notes.yaml"), notes).unwrap();
    // The same table with a compression declared, and a migration that sets it.
    let declared = small_project(
        "CREATE TABLE notes (body text);\n\
         DO $$BEGIN IF current_setting('server_version_num')::int >= 140000 THEN \
         EXECUTE 'ALTER TABLE notes ALTER COLUMN body SET COMPRESSION pglz'; END IF; END$$;\n",
        "schema: public\n",
        &[],
    );
    std::fs::write(
        declared.path().join("specs/notes.yaml"),
        "table: notes\ncolumns:\n  body: { type: text, compression: pglz }\n",
    )
    .unwrap();
    for major in found_majors() {
        assert_eq!(
            check_small(dir.path(), major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        for (drift, column) in [
            ("external.sql", "body"),
            ("domain_main.sql", "title"),
            ("kept_default.sql", "kept"),
        ] {
            assert_eq!(
                check_small(dir.path(), major, Some(drift)),
                (Some(1), vec![format!("column.storage notes.{column}")]),
                "PostgreSQL {major}, {drift}"
            );
        }
        if major >= 14 {
            assert_eq!(
                check_small(dir.path(), major, Some("compressed.sql")),
                (Some(1), vec!["column.compression notes.tags".to_string()]),
                "PostgreSQL {major}"
            );
            assert_eq!(
                check_small(declared.path(), major, None),
                (Some(0), vec![]),
                "PostgreSQL {major}, compression declared"
            );
        } else {
            let bindir = bindirs()[&major].display().to_string();
            let out = reims(&["check", "--no-probe", "--no-report", "--format", "json"])
                .args(["--pg-bindir", &bindir])
                .arg("--migrations")
                .arg(declared.path().join("migrations"))
                .arg("--specs")
                .arg(declared.path().join("specs"))
                .output()
                .unwrap();
            let said = text(&out);
            assert_eq!(out.status.code(), Some(2), "PostgreSQL {major}: {said}");
            assert!(
                said.contains("columns.body.compression") && said.contains("PostgreSQL 14"),
                "PostgreSQL {major}: {said}"
            );
        }
    }
}

/// A table's replica identity was not read: `REPLICA IDENTITY FULL` (every column of the old
/// row sent to every subscriber), `NOTHING` (UPDATE and DELETE fail once published) or
/// `USING INDEX` another key in a migration passed. It is compared on every major, for a
/// table at the default, a table and a materialized view that declare theirs, and an
/// identity index that another unique index replaces.
#[test]
fn replica_identity_is_compared_on_every_major() {
    let migration =
        "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, secret text);\n\
                     CREATE UNIQUE INDEX users_email ON users (email);\n\
                     CREATE TABLE audit (id integer NOT NULL, at timestamptz NOT NULL);\n\
                     CREATE UNIQUE INDEX audit_key ON audit (id, at);\n\
                     CREATE UNIQUE INDEX audit_other ON audit (at, id);\n\
                     ALTER TABLE audit REPLICA IDENTITY USING INDEX audit_key;\n\
                     CREATE MATERIALIZED VIEW user_ids AS SELECT id FROM users;\n\
                     ALTER TABLE user_ids REPLICA IDENTITY FULL;\n";
    let dir = small_project(
        migration,
        "schema: public\n",
        &[
            ("full.sql", "ALTER TABLE users REPLICA IDENTITY FULL;\n"),
            (
                "nothing.sql",
                "ALTER TABLE users REPLICA IDENTITY NOTHING;\n",
            ),
            (
                "index.sql",
                "ALTER TABLE users REPLICA IDENTITY USING INDEX users_email;\n",
            ),
            (
                "other_index.sql",
                "ALTER TABLE audit REPLICA IDENTITY USING INDEX audit_other;\n",
            ),
            (
                "audit_default.sql",
                "ALTER TABLE audit REPLICA IDENTITY DEFAULT;\n",
            ),
            (
                "view_default.sql",
                "ALTER TABLE user_ids REPLICA IDENTITY DEFAULT;\n",
            ),
            // The identity index dropped: `relreplident` stays `i`, with no index, and
            // PostgreSQL then sends no old row, as with NOTHING.
            ("dropped_index.sql", "DROP INDEX audit_key;\n"),
        ],
    );
    let specs = dir.path().join("specs");
    std::fs::write(
        specs.join("users.yaml"),
        "table: users\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         email: { type: text, nullable: false }\n  \
         secret: { type: text }\n\
         primary_key: { columns: [id] }\n\
         indexes:\n  users_email: { keys: [email], unique: true }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("audit.yaml"),
        "table: audit\nreplica_identity: { index: audit_key }\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         at: { type: timestamptz, nullable: false }\n\
         indexes:\n  \
         audit_key: { keys: [id, at], unique: true }\n  \
         audit_other: { keys: [at, id], unique: true }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("user_ids.yaml"),
        "table: user_ids\nkind: materialized_view\nreplica_identity: full\n\
         definition: SELECT id FROM users\ncolumns:\n  id: { type: integer }\n",
    )
    .unwrap();
    for major in found_majors() {
        assert_eq!(
            check_small(dir.path(), major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        for (drift, table) in [
            ("full.sql", "users"),
            ("nothing.sql", "users"),
            ("index.sql", "users"),
            ("other_index.sql", "audit"),
            ("audit_default.sql", "audit"),
            ("view_default.sql", "user_ids"),
        ] {
            assert_eq!(
                check_small(dir.path(), major, Some(drift)),
                (Some(1), vec![format!("table.replica_identity {table}")]),
                "PostgreSQL {major}, {drift}"
            );
        }
        let (code, mut failed) = check_small(dir.path(), major, Some("dropped_index.sql"));
        failed.sort();
        assert_eq!(
            (code, failed),
            (
                Some(1),
                vec![
                    "index.exists audit.audit_key".to_string(),
                    "table.replica_identity audit".to_string()
                ]
            ),
            "PostgreSQL {major}, dropped_index.sql"
        );
    }
}

/// The `(exit code, failing findings)` of each drift of a [`small_project`] on every
/// major, the unchanged project passing: each drift fails exactly `expected`.
fn each_drift_fails(dir: &Path, drifts: &[(&str, &[&str])]) {
    for major in found_majors() {
        assert_eq!(
            check_small(dir, major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        for (drift, expected) in drifts {
            let (code, mut failed) = check_small(dir, major, Some(drift));
            failed.sort();
            assert_eq!(
                (code, failed),
                (Some(1), expected.iter().map(|e| e.to_string()).collect()),
                "PostgreSQL {major}, {drift}"
            );
        }
    }
}

/// A column's statistics target was not read: `SET STATISTICS 0` (ANALYZE then gathers
/// nothing for it) in a migration passed. `attstattarget` is an int4 of -1 by default
/// before PostgreSQL 17 and a nullable int2, NULL by default, from 17 on; both read as no
/// target of its own. It is compared on every major, for a column at the default, a
/// declared target put back to the default or changed, and a materialized view's.
#[test]
fn column_statistics_are_compared_on_every_major() {
    let migration = "CREATE TABLE users (id integer PRIMARY KEY, email text, note text);\n\
                     ALTER TABLE users ALTER COLUMN email SET STATISTICS 500;\n\
                     CREATE MATERIALIZED VIEW user_emails AS SELECT id, email FROM users;\n\
                     ALTER MATERIALIZED VIEW user_emails ALTER COLUMN email SET STATISTICS 0;\n";
    let dir = small_project(
        migration,
        "schema: public\n",
        &[
            (
                "zero.sql",
                "ALTER TABLE users ALTER COLUMN note SET STATISTICS 0;\n",
            ),
            (
                "reset.sql",
                "ALTER TABLE users ALTER COLUMN email SET STATISTICS -1;\n",
            ),
            (
                "other.sql",
                "ALTER TABLE users ALTER COLUMN email SET STATISTICS 100;\n",
            ),
            (
                "view_reset.sql",
                "ALTER MATERIALIZED VIEW user_emails ALTER COLUMN email SET STATISTICS -1;\n",
            ),
        ],
    );
    let specs = dir.path().join("specs");
    std::fs::write(
        specs.join("users.yaml"),
        "table: users\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         email: { type: text, statistics: 500 }\n  \
         note: { type: text }\n\
         primary_key: { columns: [id] }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("user_emails.yaml"),
        "table: user_emails\nkind: materialized_view\n\
         definition: SELECT id, email FROM users\ncolumns:\n  \
         id: { type: integer }\n  email: { type: text, statistics: 0 }\n",
    )
    .unwrap();
    each_drift_fails(
        dir.path(),
        &[
            ("zero.sql", &["column.statistics users.note"]),
            ("reset.sql", &["column.statistics users.email"]),
            ("other.sql", &["column.statistics users.email"]),
            ("view_reset.sql", &["column.statistics user_emails.email"]),
        ],
    );
}

/// A column's attribute options were not read: `SET (n_distinct = -1)` (the planner then
/// takes every value as distinct) or `n_distinct_inherited` in a migration passed. They
/// are compared by value on every major (`'-1.0'` in the migration is the spec's `-1`), for
/// a column with none, a declared option changed or reset, and a partitioned table's.
#[test]
fn column_options_are_compared_on_every_major() {
    let migration = "CREATE TABLE users (id integer PRIMARY KEY, kind text, region text);\n\
                     ALTER TABLE users ALTER COLUMN kind SET (n_distinct = '-1.0');\n\
                     CREATE TABLE events (at date NOT NULL, who integer) PARTITION BY RANGE (at);\n";
    let dir = small_project(
        migration,
        "schema: public\n",
        &[
            (
                "region.sql",
                "ALTER TABLE users ALTER COLUMN region SET (n_distinct = 20);\n",
            ),
            (
                "changed.sql",
                "ALTER TABLE users ALTER COLUMN kind SET (n_distinct = -0.5);\n",
            ),
            (
                "reset.sql",
                "ALTER TABLE users ALTER COLUMN kind RESET (n_distinct);\n",
            ),
            (
                "inherited.sql",
                "ALTER TABLE events ALTER COLUMN who SET (n_distinct_inherited = -1);\n",
            ),
        ],
    );
    let specs = dir.path().join("specs");
    std::fs::write(
        specs.join("users.yaml"),
        "table: users\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         kind: { type: text, options: { n_distinct: -1 } }\n  \
         region: { type: text }\n\
         primary_key: { columns: [id] }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("events.yaml"),
        "table: events\nkind: partitioned_table\npartition_by: RANGE (at)\ncolumns:\n  \
         at: { type: date, nullable: false }\n  who: { type: integer }\n",
    )
    .unwrap();
    each_drift_fails(
        dir.path(),
        &[
            ("region.sql", &["column.options users.region"]),
            ("changed.sql", &["column.options users.kind"]),
            ("reset.sql", &["column.options users.kind"]),
            ("inherited.sql", &["column.options events.who"]),
        ],
    );
}

/// A relation's clustering index was not read: `ALTER TABLE … CLUSTER ON` (a later
/// `CLUSTER` without an index name rewrites the table in that index's order) or `SET
/// WITHOUT CLUSTER` in a migration passed. It is compared on every major, for a table
/// marked on none, a declared index replaced, unmarked or dropped, a materialized view's,
/// and a partition's on the index its parent's index made on it.
#[test]
fn cluster_on_is_compared_on_every_major() {
    let migration = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n\
                     CREATE INDEX users_email ON users (email);\n\
                     CREATE TABLE audit (id integer PRIMARY KEY, at timestamptz NOT NULL);\n\
                     CREATE INDEX audit_at ON audit (at);\n\
                     ALTER TABLE audit CLUSTER ON audit_at;\n\
                     CREATE MATERIALIZED VIEW user_ids AS SELECT id FROM users;\n\
                     CREATE UNIQUE INDEX user_ids_id ON user_ids (id);\n\
                     ALTER MATERIALIZED VIEW user_ids CLUSTER ON user_ids_id;\n\
                     CREATE TABLE events (at date NOT NULL) PARTITION BY RANGE (at);\n\
                     CREATE INDEX events_at ON events (at);\n\
                     CREATE TABLE events_2025 PARTITION OF events \
                     FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n\
                     ALTER TABLE events_2025 CLUSTER ON events_2025_at_idx;\n";
    let dir = small_project(
        migration,
        "schema: public\n",
        &[
            ("users.sql", "ALTER TABLE users CLUSTER ON users_email;\n"),
            ("other.sql", "ALTER TABLE audit CLUSTER ON audit_pkey;\n"),
            ("without.sql", "ALTER TABLE audit SET WITHOUT CLUSTER;\n"),
            ("dropped.sql", "DROP INDEX audit_at;\n"),
            (
                "view_without.sql",
                "ALTER MATERIALIZED VIEW user_ids SET WITHOUT CLUSTER;\n",
            ),
            (
                "partition_without.sql",
                "ALTER TABLE events_2025 SET WITHOUT CLUSTER;\n",
            ),
        ],
    );
    let specs = dir.path().join("specs");
    std::fs::write(
        specs.join("users.yaml"),
        "table: users\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         email: { type: text, nullable: false }\n\
         primary_key: { columns: [id] }\n\
         indexes:\n  users_email: { keys: [email] }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("audit.yaml"),
        "table: audit\ncluster_on: audit_at\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         at: { type: timestamptz, nullable: false }\n\
         primary_key: { columns: [id] }\n\
         indexes:\n  audit_at: { keys: [at] }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("user_ids.yaml"),
        "table: user_ids\nkind: materialized_view\ncluster_on: user_ids_id\n\
         definition: SELECT id FROM users\ncolumns:\n  id: { type: integer }\n\
         indexes:\n  user_ids_id: { keys: [id], unique: true }\n",
    )
    .unwrap();
    std::fs::write(
        specs.join("events.yaml"),
        "table: events\nkind: partitioned_table\npartition_by: RANGE (at)\n\
         columns:\n  at: { type: date, nullable: false }\n\
         indexes:\n  events_at: { keys: [at] }\n",
    )
    .unwrap();
    // Clustered on the index its parent's made on it, which the shadow makes only once
    // the parent's objects are added, after the partition's.
    std::fs::write(
        specs.join("events_2025.yaml"),
        "table: events_2025\npartition_of: events\n\
         partition_bound: FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')\n\
         cluster_on: events_2025_at_idx\n\
         columns:\n  at: { type: date, nullable: false }\n",
    )
    .unwrap();
    each_drift_fails(
        dir.path(),
        &[
            ("users.sql", &["table.cluster_on users"]),
            ("other.sql", &["table.cluster_on audit"]),
            ("without.sql", &["table.cluster_on audit"]),
            (
                "dropped.sql",
                &["index.exists audit.audit_at", "table.cluster_on audit"],
            ),
            ("view_without.sql", &["table.cluster_on user_ids"]),
            ("partition_without.sql", &["table.cluster_on events_2025"]),
        ],
    );
}

/// The statistics targets of an index's expression keys were not read: `ALTER INDEX …
/// ALTER COLUMN 1 SET STATISTICS 0` (ANALYZE then gathers nothing about the expression) in
/// a migration passed. An index's `attstattarget` changed as a column's did in 17; it is
/// compared on every major, for an index with none, and a declared target put back to the
/// default or joined by another key's.
#[test]
fn index_statistics_are_compared_on_every_major() {
    let migration = "CREATE TABLE items (id integer PRIMARY KEY, title text, score integer);\n\
                     CREATE INDEX items_expr ON items (lower(title), (score * 2));\n\
                     ALTER INDEX items_expr ALTER COLUMN 2 SET STATISTICS 300;\n\
                     CREATE INDEX items_upper ON items (upper(title));\n";
    let dir = small_project(
        migration,
        "schema: public\n",
        &[
            (
                "new.sql",
                "ALTER INDEX items_upper ALTER COLUMN 1 SET STATISTICS 0;\n",
            ),
            (
                "reset.sql",
                "ALTER INDEX items_expr ALTER COLUMN 2 SET STATISTICS -1;\n",
            ),
            (
                "other.sql",
                "ALTER INDEX items_expr ALTER COLUMN 1 SET STATISTICS 1000;\n",
            ),
        ],
    );
    std::fs::write(
        dir.path().join("specs").join("items.yaml"),
        "table: items\ncolumns:\n  \
         id: { type: integer, nullable: false }\n  \
         title: { type: text }\n  \
         score: { type: integer }\n\
         primary_key: { columns: [id] }\n\
         indexes:\n  \
         items_expr: { keys: [lower(title), (score * 2)], statistics: { 2: 300 } }\n  \
         items_upper: { keys: [upper(title)] }\n",
    )
    .unwrap();
    each_drift_fails(
        dir.path(),
        &[
            ("new.sql", &["index.statistics items.items_upper"]),
            ("reset.sql", &["index.statistics items.items_expr"]),
            ("other.sql", &["index.statistics items.items_expr"]),
        ],
    );
}

/// The order of a table's columns, whether a materialized view is populated, the INCLUDE
/// columns and storage parameters of the indexes behind keys and of an index, a CHECK's NO
/// INHERIT and the column list of `ON DELETE SET NULL (…)` were not compared: a column
/// dropped and added again, `REFRESH … WITH NO DATA`, `UNIQUE … INCLUDE`, `ALTER INDEX …
/// SET (fillfactor = …)`, `CHECK … NO INHERIT` and `ON DELETE SET NULL (b)` in a migration
/// passed. Each now fails on every major where PostgreSQL has it; the column list exists
/// from 15 on, so before 15 a spec declaring one fails `fk.on_delete_columns` (no key can
/// have one there), and a spec declaring every other value passes.
#[test]
fn relation_and_key_details_are_compared_on_every_major() {
    let migration = "CREATE TABLE parent (a integer, b integer, PRIMARY KEY (a, b));\n\
         CREATE TABLE child (id integer PRIMARY KEY, c text, a integer, b integer, note text,\n\
             CONSTRAINT child_parent_fkey FOREIGN KEY (a, b) REFERENCES parent (a, b) ON DELETE SET NULL,\n\
             CONSTRAINT child_id_check CHECK (id > 0),\n\
             CONSTRAINT child_note_key UNIQUE (note));\n\
         CREATE INDEX child_a ON child (a);\n\
         CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM child;\n";
    let parent = "table: parent\ncolumns:\n  a: { type: integer, nullable: false }\n  \
                  b: { type: integer, nullable: false }\nprimary_key: { columns: [a, b] }\n";
    let child = |declared: bool| {
        let (include, parameters, pk_parameters, set_columns, no_inherit) = if declared {
            (
                ", include: [a]",
                ", parameters: { fillfactor: 50 }",
                ", parameters: { fillfactor: 60 }",
                "\n    on_delete_columns: [b]",
                "\n    no_inherit: true",
            )
        } else {
            ("", "", "", "", "")
        };
        format!(
            "table: child\ncolumns:\n  id: {{ type: integer, nullable: false }}\n  c: {{ type: text }}\n  \
             a: {{ type: integer }}\n  b: {{ type: integer }}\n  note: {{ type: text }}\n\
             primary_key: {{ columns: [id]{pk_parameters} }}\n\
             unique:\n  child_note_key: {{ columns: [note]{include} }}\n\
             foreign_keys:\n  child_parent_fkey:\n    columns: [a, b]\n    \
             references: {{ table: parent, columns: [a, b] }}\n    on_delete: set_null{set_columns}\n\
             checks:\n  child_id_check:\n    rule: {{ sql: id > 0 }}{no_inherit}\n\
             indexes:\n  child_a: {{ keys: [a]{parameters} }}\n"
        )
    };
    let counts = |declared: bool| {
        format!(
            "table: counts\nkind: materialized_view\ndefinition: SELECT count(*) AS n FROM child\n{}\
             columns:\n  n: {{ type: bigint }}\n",
            if declared { "populated: false\n" } else { "" }
        )
    };
    // Every difference at once; the column list only where PostgreSQL has one.
    let drift = "ALTER TABLE child DROP COLUMN c;\n\
         ALTER TABLE child ADD COLUMN c text;\n\
         REFRESH MATERIALIZED VIEW counts WITH NO DATA;\n\
         ALTER TABLE child DROP CONSTRAINT child_note_key;\n\
         ALTER TABLE child ADD CONSTRAINT child_note_key UNIQUE (note) INCLUDE (a);\n\
         ALTER INDEX child_a SET (fillfactor = 50);\n\
         ALTER INDEX child_pkey SET (fillfactor = 60);\n\
         ALTER TABLE child DROP CONSTRAINT child_id_check;\n\
         ALTER TABLE child ADD CONSTRAINT child_id_check CHECK (id > 0) NO INHERIT;\n\
         DO $$BEGIN IF current_setting('server_version_num')::int >= 150000 THEN \
         EXECUTE 'ALTER TABLE child DROP CONSTRAINT child_parent_fkey'; \
         EXECUTE 'ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (a, b) \
         REFERENCES parent (a, b) ON DELETE SET NULL (b)'; END IF; END$$;\n";
    let dir = small_project(migration, "schema: public\n", &[("all.sql", drift)]);
    let write = |dir: &Path, declared: bool| {
        std::fs::write(dir.join("specs/parent.yaml"), parent).unwrap();
        std::fs::write(dir.join("specs/child.yaml"), child(declared)).unwrap();
        std::fs::write(dir.join("specs/counts.yaml"), counts(declared)).unwrap();
    };
    write(dir.path(), false);
    // The same schema built with each value, and specs that declare them.
    let built = "CREATE TABLE parent (a integer, b integer, PRIMARY KEY (a, b));\n\
         CREATE TABLE child (id integer, c text, a integer, b integer, note text,\n\
             CONSTRAINT child_pkey PRIMARY KEY (id) WITH (fillfactor = 60),\n\
             CONSTRAINT child_id_check CHECK (id > 0) NO INHERIT,\n\
             CONSTRAINT child_note_key UNIQUE (note) INCLUDE (a));\n\
         DO $$BEGIN IF current_setting('server_version_num')::int >= 150000 THEN \
         EXECUTE 'ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (a, b) \
         REFERENCES parent (a, b) ON DELETE SET NULL (b)'; ELSE \
         EXECUTE 'ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (a, b) \
         REFERENCES parent (a, b) ON DELETE SET NULL'; END IF; END$$;\n\
         CREATE INDEX child_a ON child (a) WITH (fillfactor = 50);\n\
         CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM child WITH NO DATA;\n";
    let declared = small_project(built, "schema: public\n", &[]);
    write(declared.path(), true);
    for major in found_majors() {
        assert_eq!(
            check_small(dir.path(), major, None),
            (Some(0), vec![]),
            "PostgreSQL {major}"
        );
        let mut want = vec![
            "column.order child",
            "unique.include child.child_note_key",
            "index.parameters child.child_pkey",
            "fk.on_delete_columns child.child_parent_fkey",
            "check.no_inherit child.child_id_check",
            "index.parameters child.child_a",
            "table.populated counts",
        ];
        if major < 15 {
            want.retain(|w| !w.starts_with("fk.on_delete_columns"));
        }
        let (code, mut failed) = check_small(dir.path(), major, Some("all.sql"));
        failed.sort();
        want.sort();
        assert_eq!(
            (code, failed),
            (Some(1), want.iter().map(|w| w.to_string()).collect()),
            "PostgreSQL {major}"
        );
        let (code, failed) = check_small(declared.path(), major, None);
        if major >= 15 {
            assert_eq!(
                (code, failed),
                (Some(0), vec![]),
                "PostgreSQL {major}, declared"
            );
        } else {
            assert_eq!(
                (code, failed),
                (
                    Some(1),
                    vec!["fk.on_delete_columns child.child_parent_fkey".to_string()]
                ),
                "PostgreSQL {major}, declared"
            );
        }
    }
}
