//! The gate against a real PostgreSQL: the project's own specs pass, every mutation in the
//! drift corpus is caught with the right check code and object, malformed specs exit 2,
//! and introspection costs a fixed number of queries.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reims_verify::catalog::{read_schema, CATALOG_QUERIES};
use reims_verify::spec::{load_dir, SpecSet};
use reims_verify::verify::{build_shadow, verify, Finding, Shadow, Status};

async fn specs_and_shadow() -> (SpecSet, Shadow) {
    let specs = load_dir(&specs_dir()).expect("the project's specs load");
    let db = empty_db("shadow").await;
    let mut conn = connect(&db).await;
    let shadow = build_shadow(&mut conn, &specs)
        .await
        .expect("the project's specs compile");
    (specs, shadow)
}

async fn findings_after(mutation: Option<&str>, specs: &SpecSet, shadow: &Shadow) -> Vec<Finding> {
    let db = migrated_db("drift").await;
    let mut conn = connect(&db).await;
    if let Some(sql) = mutation {
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("mutation applies");
    }
    let actual = read_schema(&mut conn, "public").await.unwrap();
    verify(specs, &actual, shadow)
}

#[tokio::test]
async fn the_projects_specs_pass_on_the_projects_migrations() {
    let (specs, shadow) = specs_and_shadow().await;
    let findings = findings_after(None, &specs, &shadow).await;
    let failed: Vec<_> = findings.iter().filter(|f| f.failed()).collect();
    assert!(failed.is_empty(), "unexpected failures: {failed:#?}");
    assert!(findings.len() > 2000, "only {} checks", findings.len());
    // Every spec item produced findings, and each carries its spec location.
    assert!(findings.iter().all(|f| f.status == Status::Pass));
    assert!(findings
        .iter()
        .filter(|f| f.table != "functions")
        .all(|f| f.location.is_some()));
}

/// `(code, object)` pairs a drift file expects.
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
async fn every_mutation_in_the_drift_corpus_is_caught() {
    let (specs, shadow) = specs_and_shadow().await;
    let files = sql_files(&fixture("drift"));
    let mut missed = Vec::new();
    let mut caught = 0;
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&sql);
        assert!(
            !expected.is_empty(),
            "{} has no `-- expect:` line",
            file.display()
        );
        let findings = findings_after(Some(&sql), &specs, &shadow).await;
        for (code, object) in expected {
            let hit = findings
                .iter()
                .any(|f| f.failed() && f.code == code && f.object == object);
            if hit {
                caught += 1;
            } else {
                let failures: Vec<String> = findings
                    .iter()
                    .filter(|f| f.failed())
                    .map(|f| format!("{} {}", f.code, f.object))
                    .collect();
                missed.push(format!(
                    "{}: expected {code} {object}; failures were {failures:?}",
                    file.display()
                ));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "mutations not caught:\n{}",
        missed.join("\n")
    );
    assert!(
        files.len() >= 20,
        "the drift corpus has only {} mutations",
        files.len()
    );
    assert!(caught >= files.len());
}

/// Count the statements one connection sends, from the server's own log.
async fn statements_logged_during<F, Fut>(db: &str, work: F) -> usize
where
    F: FnOnce(sqlx::PgConnection) -> Fut,
    Fut: std::future::Future<Output = sqlx::PgConnection>,
{
    let mut conn = connect(db).await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql("SET log_statement = 'all'")
        .execute(&mut conn)
        .await
        .unwrap();
    let log = cluster().dir().join("server.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    let mut conn = work(conn).await;
    sqlx::raw_sql("SET log_statement = 'none'")
        .execute(&mut conn)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let marker = format!("[{pid}]");
    text[before..]
        .lines()
        .filter(|l| {
            l.contains(&marker) && (l.contains("LOG:  execute") || l.contains("LOG:  statement:"))
        })
        .filter(|l| !l.contains("log_statement"))
        .count()
}

#[tokio::test]
async fn introspection_costs_a_fixed_number_of_queries() {
    let small = migrated_db("qc_small").await;
    let big = empty_db("qc_big").await;
    let mut conn = connect(&big).await;
    let mut ddl = String::new();
    for i in 0..200 {
        ddl.push_str(&format!(
            "CREATE TABLE t{i} (id int PRIMARY KEY, a text NOT NULL DEFAULT 'x', b numeric CHECK (b > 0));
             CREATE INDEX t{i}_a ON t{i} (a DESC) WHERE b IS NOT NULL;"
        ));
    }
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    let read = |mut c: sqlx::PgConnection| async move {
        let schema = read_schema(&mut c, "public").await.unwrap();
        assert!(!schema.relations.is_empty());
        c
    };
    let n_small = statements_logged_during(&small, read).await;
    let n_big = statements_logged_during(&big, read).await;
    assert_eq!(n_small, CATALOG_QUERIES, "queries for the REIMS schema");
    assert_eq!(n_big, CATALOG_QUERIES, "queries for 200 tables");
}
