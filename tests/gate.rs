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

const FEATURES_SPEC: &str = r#"
table: things
columns:
  id: { type: integer, nullable: false }
  parent_id: { type: integer }
  name: { type: text, collation: C }
  status: { type: varchar(20) }
  labels: { type: jsonb }
  note: { type: text }
primary_key: { columns: [id] }
foreign_keys:
  things_parent_id_fkey:
    columns: [parent_id]
    references: { table: things, columns: [id] }
    deferrable: true
    initially_deferred: true
indexes:
  idx_things_labels: { method: gin, keys: [labels jsonb_path_ops] }
  idx_things_status: { keys: ['status COLLATE "C" DESC'], include: [note] }
  idx_things_name_pattern: { keys: [lower(name) text_pattern_ops] }
triggers:
  things_touch:
    timing: before
    events: [update]
    columns: [status, name]
    when: OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'archived'
    function: things_touch
functions:
  things_touch():
    returns: trigger
    language: plpgsql
    volatility: volatile
  purge_things(integer):
    kind: procedure
    returns: void
    arguments: p_keep integer DEFAULT 30
    language: sql
    volatility: volatile
"#;

const FEATURES_DDL: &str = r#"
CREATE TABLE things (
    id integer PRIMARY KEY,
    parent_id integer REFERENCES things (id) DEFERRABLE INITIALLY DEFERRED,
    name text COLLATE "C", status varchar(20), labels jsonb, note text);
CREATE INDEX idx_things_labels ON things USING gin (labels jsonb_path_ops);
CREATE INDEX idx_things_status ON things (status COLLATE "C" DESC) INCLUDE (note);
CREATE INDEX idx_things_name_pattern ON things (lower(name) text_pattern_ops);
CREATE FUNCTION things_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER things_touch BEFORE UPDATE OF name, status ON things FOR EACH ROW
    WHEN ((old.status)::text IS DISTINCT FROM (new.status)::text AND (new.status <> 'archived'::text))
    EXECUTE FUNCTION things_touch();
ALTER TABLE things ENABLE ALWAYS TRIGGER things_touch;
CREATE PROCEDURE purge_things(p_keep integer DEFAULT 30) LANGUAGE sql
    AS $$DELETE FROM things WHERE id < p_keep$$;
"#;

async fn features_after(mutation: &str, specs: &SpecSet, shadow: &Shadow) -> Vec<Finding> {
    let db = empty_db("features").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(FEATURES_DDL)
        .execute(&mut conn)
        .await
        .expect("DDL applies");
    sqlx::raw_sql(mutation)
        .execute(&mut conn)
        .await
        .expect("mutation applies");
    let actual = read_schema(&mut conn, "public").await.unwrap();
    verify(specs, &actual, shadow)
}

/// Collations, operator classes, INCLUDE, trigger WHEN / UPDATE OF / enabled, deferrable
/// foreign keys, argument defaults and procedures: a schema that uses them matches a spec
/// that states them (printer to printer, however each side spells them), and a change to
/// each is reported under its own code.
#[tokio::test]
async fn spec_fields_for_collation_opclass_include_when_deferrable_and_procedures() {
    let loaded = reims_verify::spec::load_str(Path::new("things.yaml"), FEATURES_SPEC)
        .expect("the spec loads");
    let specs = SpecSet::of_relations(vec![loaded]);
    let db = empty_db("features_shadow").await;
    let mut conn = connect(&db).await;
    let shadow = build_shadow(&mut conn, &specs)
        .await
        .expect("the spec compiles");

    let findings = features_after("", &specs, &shadow).await;
    let failed: Vec<_> = findings.iter().filter(|f| f.failed()).collect();
    assert!(failed.is_empty(), "unexpected failures: {failed:#?}");
    for code in [
        "column.collation",
        "fk.deferrable",
        "index.include",
        "index.opclass",
        "index.collation",
        "trigger.when",
        "trigger.columns",
        "trigger.enabled",
        "function.kind",
        "function.arguments",
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f.code == code && f.status == Status::Pass),
            "no passing {code} finding"
        );
    }

    let mutations = [
        (
            "ALTER TABLE things ALTER COLUMN note TYPE text COLLATE \"POSIX\"",
            "column.collation",
            "things.note",
        ),
        (
            "ALTER TABLE things ALTER CONSTRAINT things_parent_id_fkey INITIALLY IMMEDIATE",
            "fk.deferrable",
            "things.things_parent_id_fkey",
        ),
        (
            "DROP INDEX idx_things_status; CREATE INDEX idx_things_status ON things (status COLLATE \"C\" DESC)",
            "index.include",
            "things.idx_things_status",
        ),
        (
            "DROP INDEX idx_things_status; CREATE INDEX idx_things_status ON things (status DESC) INCLUDE (note)",
            "index.collation",
            "things.idx_things_status",
        ),
        (
            "DROP INDEX idx_things_name_pattern; CREATE INDEX idx_things_name_pattern ON things (lower(name))",
            "index.opclass",
            "things.idx_things_name_pattern",
        ),
        (
            "DROP TRIGGER things_touch ON things; CREATE TRIGGER things_touch BEFORE UPDATE OF name, status ON things FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status) EXECUTE FUNCTION things_touch()",
            "trigger.when",
            "things.things_touch",
        ),
        (
            "DROP TRIGGER things_touch ON things; CREATE TRIGGER things_touch BEFORE UPDATE OF status ON things FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status AND new.status <> 'archived') EXECUTE FUNCTION things_touch()",
            "trigger.columns",
            "things.things_touch",
        ),
        (
            "ALTER TABLE things ENABLE REPLICA TRIGGER things_touch",
            "trigger.enabled",
            "things.things_touch",
        ),
        (
            "DROP PROCEDURE purge_things(integer); CREATE FUNCTION purge_things(p_keep integer DEFAULT 30) RETURNS void LANGUAGE sql AS $$DELETE FROM things WHERE id < p_keep$$",
            "function.kind",
            "purge_things(integer)",
        ),
        (
            "DROP PROCEDURE purge_things(integer); CREATE PROCEDURE purge_things(p_keep integer DEFAULT 7) LANGUAGE sql AS $$DELETE FROM things WHERE id < p_keep$$",
            "function.arguments",
            "purge_things(integer)",
        ),
    ];
    for (sql, code, object) in mutations {
        let findings = features_after(sql, &specs, &shadow).await;
        let failures: Vec<String> = findings
            .iter()
            .filter(|f| f.failed())
            .map(|f| format!("{} {}", f.code, f.object))
            .collect();
        assert_eq!(failures, vec![format!("{code} {object}")], "after `{sql}`");
    }
}
