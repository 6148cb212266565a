//! The gate against a real PostgreSQL: the project's own specs pass, every mutation in the
//! drift corpora is caught with the right check code and object (read as a superuser, and
//! as on staging through a role that may only connect and SELECT, in a read-only session),
//! malformed specs exit 2, and introspection costs a fixed number of queries.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reims_verify::catalog::{
    read_schema, read_schemas, read_schemas_and_builtin_on_two, read_schemas_on_two, Schema,
    CATALOG_QUERIES,
};
use reims_verify::spec::{load_dir, SpecSet};
use reims_verify::verify::{build_shadow, verify, Finding, Shadow, Status};
use sqlx::{Connection, PgConnection};

async fn shadow_for(specs: &SpecSet) -> Shadow {
    let db = empty_db("shadow").await;
    let mut conn = connect(&db).await;
    build_shadow(&mut conn, specs)
        .await
        .expect("the specs compile")
}

async fn specs_and_shadow() -> (SpecSet, Shadow) {
    let specs = load_dir(&specs_dir()).expect("the project's specs load");
    let shadow = shadow_for(&specs).await;
    (specs, shadow)
}

/// The role staging checks run as: it may connect and read the migration history, nothing
/// else (reading the catalog needs no grant).
const READ_ONLY_ROLE: &str = "drift_auditor";

/// Create [`READ_ONLY_ROLE`] once per cluster.
async fn read_only_role() {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        sqlx::raw_sql(&format!(
            "CREATE ROLE {READ_ONLY_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
        ))
        .execute(&mut connect("postgres").await)
        .await
        .expect("the read-only role is created");
    })
    .await;
}

/// A session on `db` as on staging: the read-only role, every transaction read-only.
async fn read_only_session(db: &str) -> PgConnection {
    read_only_role().await;
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN
           IF to_regclass('public.schema_migrations') IS NOT NULL THEN
             GRANT SELECT ON public.schema_migrations TO {READ_ONLY_ROLE};
           END IF;
         END $$;"
    ))
    .execute(&mut connect(db).await)
    .await
    .unwrap();
    let opts = cluster()
        .connect_options(db)
        .username(READ_ONLY_ROLE)
        .options([("default_transaction_read_only", "on")]);
    PgConnection::connect_with(&opts)
        .await
        .expect("the read-only role connects")
}

/// Apply a drift file: its parts (split at `-- step` lines) run one after the other, each
/// as its own statement batch outside any transaction block; a part marked
/// `-- step: fails` must fail.
async fn apply_drift(conn: &mut PgConnection, sql: &str, file: &str) {
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
        let result = sqlx::raw_sql(&part).execute(&mut *conn).await;
        match (must_fail, result) {
            (false, Err(e)) => panic!("{file}: the mutation does not apply: {e}"),
            (true, Ok(_)) => panic!("{file}: a part marked `-- step: fails` succeeded"),
            _ => {}
        }
    }
}

/// The findings on a copy of `db_source` (a template, or an empty database plus
/// `schema_sql`) after `mutation`, read as the superuser and as the read-only role.
async fn findings_both_ways(
    mutation: Option<(&str, &str)>,
    base: &Base<'_>,
    specs: &SpecSet,
    shadow: &Shadow,
) -> [Vec<Finding>; 2] {
    let db = match base {
        Base::Migrated => migrated_db("drift").await,
        Base::Sql(sql) => {
            let db = empty_db("drift_features").await;
            sqlx::raw_sql(sql)
                .execute(&mut connect(&db).await)
                .await
                .expect("the base schema applies");
            db
        }
    };
    let mut conn = connect(&db).await;
    if let Some((file, sql)) = mutation {
        apply_drift(&mut conn, sql, file).await;
    }
    let schemas = specs.checked_schemas(&[]);
    let actual = read_schemas(&mut conn, &schemas).await.unwrap();
    conn.close().await.unwrap();
    let mut ro = read_only_session(&db).await;
    let staged = read_schemas(&mut ro, &schemas)
        .await
        .expect("the read-only role reads the catalog");
    ro.close().await.unwrap();
    [
        verify(specs, &actual, shadow),
        verify(specs, &staged, shadow),
    ]
}

/// What a drift corpus starts from.
enum Base<'a> {
    /// A copy of the migrated REIMS database.
    Migrated,
    /// An empty database with this SQL applied.
    Sql(&'a str),
}

async fn findings_after(mutation: Option<&str>, specs: &SpecSet, shadow: &Shadow) -> Vec<Finding> {
    let db = migrated_db("drift").await;
    let mut conn = connect(&db).await;
    if let Some(sql) = mutation {
        apply_drift(&mut conn, sql, "mutation").await;
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
    // Every spec item produced findings, and each carries its spec location (the schema's
    // own privileges are checked against a fresh database's when no schema document
    // states them, no session in replica mode against no declaration, and no default
    // privileges against PostgreSQL's, which no spec states, so they have none).
    assert!(findings.iter().all(|f| f.status == Status::Pass));
    let unplaced: Vec<_> = findings
        .iter()
        .filter(|f| f.table != "functions" && f.location.is_none())
        .filter(|f| !(f.table == "schema public" && f.code.starts_with("privilege.")))
        .filter(|f| f.code != "role.replica_sessions" && f.code != "privilege.defaults")
        // Nor do the database's own privileges and settings when no database document
        // states them.
        .filter(|f| f.table != "database")
        // plpgsql, which no spec declares, has its members compared with the shadow's
        // install of it all the same; there is no spec line to point at.
        .filter(|f| !(f.object == "plpgsql" && f.code.starts_with("extension.member")))
        .collect();
    assert!(unplaced.is_empty(), "{unplaced:#?}");
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

/// What a corpus file's `-- requires:` lines ask of the server that it lacks: `lz4`, a
/// server built with lz4 (Debian's is; some builds are not, and PostgreSQL then refuses
/// `SET COMPRESSION lz4`). `None` when it has everything asked.
async fn missing_requirement(sql: &str) -> Option<String> {
    for wanted in sql
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-- requires:"))
        .map(str::trim)
    {
        match wanted {
            "lz4" => {
                let built_with = sqlx::raw_sql("SET default_toast_compression = 'lz4'")
                    .execute(&mut connect("postgres").await)
                    .await
                    .is_ok();
                if !built_with {
                    return Some("the server was built without lz4".into());
                }
            }
            other => panic!("unknown `-- requires: {other}`"),
        }
    }
    None
}

/// Apply every file of a corpus and collect what was not caught, and the codes that were.
async fn run_corpus(
    dir: &Path,
    base: &Base<'_>,
    specs: &SpecSet,
    shadow: &Shadow,
) -> (Vec<String>, std::collections::BTreeSet<&'static str>, usize) {
    let files = sql_files(dir);
    let mut missed = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    // The unchanged base passes both ways.
    for (how, findings) in ["superuser", "read-only role"]
        .iter()
        .zip(findings_both_ways(None, base, specs, shadow).await)
    {
        let failed: Vec<String> = findings
            .iter()
            .filter(|f| f.failed())
            .map(|f| format!("{} {}", f.code, f.object))
            .collect();
        assert!(
            failed.is_empty(),
            "{} unchanged, as {how}: {failed:?}",
            dir.display()
        );
    }
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        if let Some(missing) = missing_requirement(&sql).await {
            report_skip(&format!(
                "{}: {missing}; its mutation cannot be applied here",
                file.display()
            ));
            continue;
        }
        let expected = expectations(&sql);
        assert!(
            !expected.is_empty(),
            "{} has no `-- expect:` line",
            file.display()
        );
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let both = findings_both_ways(Some((&name, &sql)), base, specs, shadow).await;
        for (how, findings) in ["superuser", "read-only role"].iter().zip(both) {
            for (code, object) in &expected {
                match findings
                    .iter()
                    .find(|f| f.failed() && f.code == code && f.object == *object)
                {
                    Some(f) => {
                        codes.insert(f.code);
                    }
                    None => {
                        let failures: Vec<String> = findings
                            .iter()
                            .filter(|f| f.failed())
                            .map(|f| format!("{} {}", f.code, f.object))
                            .collect();
                        missed.push(format!(
                            "{name} (as {how}): expected {code} {object}; failures were {failures:?}"
                        ));
                    }
                }
            }
        }
    }
    (missed, codes, files.len())
}

#[tokio::test]
async fn every_mutation_in_the_drift_corpus_is_caught() {
    let (specs, shadow) = specs_and_shadow().await;
    let (missed, codes, files) =
        run_corpus(&fixture("drift"), &Base::Migrated, &specs, &shadow).await;
    assert!(
        missed.is_empty(),
        "mutations not caught:\n{}",
        missed.join("\n")
    );
    assert!(files >= 20, "the drift corpus has only {files} mutations");
    assert!(
        codes.len() >= 40,
        "only {} distinct codes: {codes:?}",
        codes.len()
    );
}

/// What REIMS does not use (enums, domains, composite types, sequences, extensions, other
/// schemas, partitions, aggregates, comments on keys and indexes), drifted one way at a
/// time on a small schema of its own.
#[tokio::test]
async fn every_mutation_in_the_feature_drift_corpus_is_caught() {
    let dir = fixture("drift_features");
    let specs = load_dir(&dir.join("specs")).expect("the feature specs load");
    let shadow = shadow_for(&specs).await;
    let base = std::fs::read_to_string(dir.join("base/schema.sql")).unwrap();
    let (missed, codes, files) = run_corpus(&dir, &Base::Sql(&base), &specs, &shadow).await;
    assert!(
        missed.is_empty(),
        "mutations not caught:\n{}",
        missed.join("\n")
    );
    assert!(files >= 30, "the feature corpus has only {files} mutations");
    assert!(
        codes.len() >= 30,
        "only {} distinct codes: {codes:?}",
        codes.len()
    );
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
    statements_of(&text[before..], pid)
}

/// The statements backend `pid` sent, in a stretch of the server log (the `SET
/// log_statement` that frames the stretch left out).
fn statements_of(log: &str, pid: i32) -> usize {
    let marker = format!("[{pid}]");
    log.lines()
        .filter(|l| {
            l.contains(&marker) && (l.contains("LOG:  execute") || l.contains("LOG:  statement:"))
        })
        .filter(|l| !l.contains("log_statement"))
        .count()
}

/// A database of 200 tables over two schemas, with views, types, sequences, functions,
/// triggers, partitions and comments among them.
async fn two_schema_db(name: &str) -> String {
    let big = empty_db(name).await;
    let mut conn = connect(&big).await;
    let mut ddl = String::from("CREATE SCHEMA app;");
    for i in 0..200 {
        let s = if i % 2 == 0 { "public" } else { "app" };
        ddl.push_str(&format!(
            "CREATE TABLE {s}.t{i} (id int PRIMARY KEY, a text NOT NULL DEFAULT 'x', b numeric CHECK (b > 0));
             CREATE INDEX t{i}_a ON {s}.t{i} (a DESC) WHERE b IS NOT NULL;
             COMMENT ON COLUMN {s}.t{i}.a IS 'column {i}';"
        ));
        if i % 10 == 0 {
            ddl.push_str(&format!(
                "CREATE VIEW {s}.v{i} AS SELECT id, a FROM {s}.t{i};
                 CREATE TYPE {s}.e{i} AS ENUM ('x', 'y');
                 CREATE DOMAIN {s}.d{i} AS integer CHECK (VALUE > {i});
                 CREATE SEQUENCE {s}.s{i};
                 CREATE FUNCTION {s}.f{i}() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS 'BEGIN RETURN NEW; END';
                 CREATE TRIGGER g{i} BEFORE UPDATE ON {s}.t{i} FOR EACH ROW EXECUTE FUNCTION {s}.f{i}('arg');
                 CREATE TABLE {s}.p{i} (k int, at date) PARTITION BY RANGE (at);
                 CREATE TABLE {s}.p{i}_2025 PARTITION OF {s}.p{i} FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
            ));
        }
    }
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    big
}

#[tokio::test]
async fn introspection_costs_a_fixed_number_of_queries() {
    let small = migrated_db("qc_small").await;
    let big = two_schema_db("qc_big").await;
    let read_one = |mut c: sqlx::PgConnection| async move {
        let schema = read_schema(&mut c, "public").await.unwrap();
        assert!(!schema.relations.is_empty());
        c
    };
    let read_two = |mut c: sqlx::PgConnection| async move {
        let schema = read_schemas(&mut c, &["public".to_string(), "app".to_string()])
            .await
            .unwrap();
        assert_eq!(
            schema.relations.len(),
            200 + 20 * 3,
            "tables, views, partitioned tables and partitions"
        );
        assert_eq!(schema.types.len(), 40);
        assert_eq!(schema.sequences.len(), 20);
        c
    };
    let n_small = statements_logged_during(&small, read_one).await;
    let n_big = statements_logged_during(&big, read_two).await;
    assert_eq!(n_small, CATALOG_QUERIES, "queries for the REIMS schema");
    assert_eq!(
        n_big, CATALOG_QUERIES,
        "queries for 200 tables and their companions in two schemas"
    );
}

/// The catalog read over two connections (a throw-away server's database) gives exactly
/// what one connection reads, with the same statements plus the one that pins the second
/// session, shared between the two sessions, on REIMS and on 200 tables over two schemas;
/// the two sessions ask for no parallel workers, the one session for what the server says.
#[tokio::test]
async fn two_connections_read_the_same_catalog_as_one() {
    let log = cluster().dir().join("server.log");
    for (db, schemas) in [
        (migrated_db("two_small").await, vec!["public".to_string()]),
        (
            two_schema_db("two_big").await,
            vec!["public".to_string(), "app".to_string()],
        ),
    ] {
        let mut one = connect(&db).await;
        let expected = read_schemas(&mut one, &schemas).await.unwrap();
        let (mut conn, mut helper) = (connect(&db).await, connect(&db).await);
        let mut pids = Vec::new();
        for c in [&mut conn, &mut helper] {
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *c)
                .await
                .unwrap();
            pids.push(pid);
            sqlx::raw_sql("SET log_statement = 'all'")
                .execute(&mut *c)
                .await
                .unwrap();
        }
        let before = std::fs::read_to_string(&log).unwrap_or_default().len();
        // The helper session is handed over as the future that opens it; the read closes it.
        let read = read_schemas_on_two(&mut conn, async { Ok(helper) }, &schemas)
            .await
            .unwrap();
        sqlx::raw_sql("SET log_statement = 'none'")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(!read.relations.is_empty());
        // The two sessions share the cores: they ask for no parallel workers. One session,
        // as on a handed-over server, keeps what the server says: the value a session of
        // its own would reset to.
        let server_says: String = sqlx::query_scalar(
            "SELECT reset_val FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'",
        )
        .fetch_one(&mut one)
        .await
        .unwrap();
        for (c, expected) in [(&mut conn, "0"), (&mut one, server_says.as_str())] {
            let workers: String =
                sqlx::query_scalar("SELECT current_setting('max_parallel_workers_per_gather')")
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
            assert_eq!(workers, expected, "{db}: parallel workers per gather");
        }
        // Roles belong to the cluster, which every test of this binary shares: another test
        // may create or drop one between the two reads. Only the roles both reads saw are
        // compared; everything else must be equal as read.
        let (mut read, mut expected) = (read, expected);
        let shared: std::collections::BTreeSet<String> = read
            .access
            .roles
            .keys()
            .filter(|r| expected.access.roles.contains_key(*r))
            .cloned()
            .collect();
        assert!(!shared.is_empty(), "{db}: the reads share no role");
        read.access.roles.retain(|r, _| shared.contains(r));
        expected.access.roles.retain(|r, _| shared.contains(r));
        assert!(
            read == expected,
            "{db}: two connections read another schema"
        );
        let text = std::fs::read_to_string(&log).unwrap();
        let (on_conn, on_helper) = (
            statements_of(&text[before..], pids[0]),
            statements_of(&text[before..], pids[1]),
        );
        // The sessions share the queries: each sent its pin and took some of them.
        assert!(
            on_helper >= 2 && on_conn >= 2,
            "{db}: one session did all the work: {on_conn} and {on_helper} statements"
        );
        assert_eq!(on_conn + on_helper, CATALOG_QUERIES + 1, "{db}");
    }
    // A helper that cannot connect fails the read with its own error, whatever `conn` read.
    let db = migrated_db("two_small").await;
    let mut conn = connect(&db).await;
    let refused = async {
        Err(reims_verify::error::Error::Usage {
            message: "the helper could not connect".into(),
            hint: String::new(),
        })
    };
    let err = read_schemas_on_two(&mut conn, refused, &["public".to_string()])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the helper could not connect"),
        "{err}"
    );
}

/// The two sessions of a throw-away server's read also read the state of PostgreSQL's own
/// objects (`builtin.altered`'s side of the checked database): the same state a session of
/// its own reads, a changed built-in among it, and the same relations as without it.
#[tokio::test]
async fn two_connections_read_the_builtin_state_as_a_session_of_its_own_does() {
    let db = migrated_db("two_builtin").await;
    let schemas = vec!["public".to_string()];
    let mut own = connect(&db).await;
    sqlx::raw_sql("ALTER FUNCTION pg_catalog.lower(text) SECURITY DEFINER")
        .execute(&mut own)
        .await
        .unwrap();
    let alone = reims_verify::catalog::builtin::read_builtin_state(&mut own)
        .await
        .unwrap();
    assert!(
        alone.iter().any(|s| s.object == "function lower(text)"),
        "the change is read"
    );
    let (mut conn, helper) = (connect(&db).await, connect(&db).await);
    let (read, builtin) =
        read_schemas_and_builtin_on_two(&mut conn, async { Ok(helper) }, &schemas)
            .await
            .unwrap();
    assert_eq!(builtin, alone, "{db}: the two sessions read another state");
    let (mut conn, helper) = (connect(&db).await, connect(&db).await);
    let without = read_schemas_on_two(&mut conn, async { Ok(helper) }, &schemas)
        .await
        .unwrap();
    assert!(!read.relations.is_empty());
    assert!(
        read.relations == without.relations,
        "{db}: the read with the built-in state read other relations"
    );
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
    always: true
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
            "DROP TRIGGER things_touch ON things; CREATE TRIGGER things_touch BEFORE UPDATE OF name, status ON things FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status) EXECUTE FUNCTION things_touch(); ALTER TABLE things ENABLE ALWAYS TRIGGER things_touch",
            "trigger.when",
            "things.things_touch",
        ),
        (
            "DROP TRIGGER things_touch ON things; CREATE TRIGGER things_touch BEFORE UPDATE OF status ON things FOR EACH ROW WHEN (old.status IS DISTINCT FROM new.status AND new.status <> 'archived') EXECUTE FUNCTION things_touch(); ALTER TABLE things ENABLE ALWAYS TRIGGER things_touch",
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
        // The spec says nothing about privileges: PostgreSQL's defaults are expected.
        (
            "REVOKE EXECUTE ON PROCEDURE purge_things(integer) FROM PUBLIC",
            "privilege.missing",
            "purge_things(integer)",
        ),
        ("GRANT SELECT ON things TO PUBLIC", "privilege.extra", "things"),
        (
            "GRANT UPDATE (note) ON things TO PUBLIC",
            "privilege.extra",
            "things.note",
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

/// `check --database-url` as an operator runs it on staging, through the read-only role:
/// validity, view queries, function options, comments and undeclared schema objects are
/// all reported, and nothing is written.
#[tokio::test]
async fn staging_through_a_read_only_role_reports_the_new_kinds_of_drift() {
    let db = migrated_db("staging_ro").await;
    let mut conn = connect(&db).await;
    let drift = fixture("drift");
    let applied = [
        "57_matview_query.sql",
        "59_column_comment.sql",
        "62_check_not_valid.sql",
        "64_index_invalid_after_failed_concurrent_build.sql",
        "65_function_search_path.sql",
        "70_extension_added.sql",
        "73_rule_added.sql",
    ];
    let mut expected = Vec::new();
    for name in applied {
        let sql = std::fs::read_to_string(drift.join(name)).unwrap();
        apply_drift(&mut conn, &sql, name).await;
        expected.extend(expectations(&sql));
    }
    read_only_session(&db).await.close().await.unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let url = format!(
        "postgres://{READ_ONLY_ROLE}@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    );
    let out = std::process::Command::new(bin())
        .args(["check", "--database-url", &url, "--no-report"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (code, object) in &expected {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("FAIL {code} "))
                    && l.trim_end().ends_with(object.as_str())),
            "missing FAIL {code} {object} in\n{stdout}"
        );
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(before, after, "the check created or dropped relations");
}

/// A constraint declared `validated: false` (being rolled out in two steps) passes before
/// and after `VALIDATE CONSTRAINT`; one declared validated fails while NOT VALID. A comment
/// the spec does not declare is not compared.
#[tokio::test]
async fn validated_false_accepts_both_states_and_undeclared_comments_are_not_compared() {
    const SPEC: &str = r#"
table: rollout
columns:
  id: { type: integer, nullable: false }
  parent: { type: integer }
  qty: { type: integer }
primary_key: { columns: [id] }
foreign_keys:
  rollout_parent_fkey:
    columns: [parent]
    references: { table: rollout, columns: [id] }
    validated: false
checks:
  rollout_qty_check:
    rule: { range: { column: qty, gte: 0 } }
    validated: false
  rollout_id_check:
    rule: { range: { column: id, gt: 0 } }
"#;
    let loaded = reims_verify::spec::load_str(Path::new("rollout.yaml"), SPEC).unwrap();
    let specs = SpecSet::of_relations(vec![loaded]);
    let shadow = shadow_for(&specs).await;
    let db = empty_db("rollout").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rollout (id integer PRIMARY KEY, parent integer, qty integer);
         ALTER TABLE rollout ADD CONSTRAINT rollout_parent_fkey FOREIGN KEY (parent) REFERENCES rollout (id) NOT VALID;
         ALTER TABLE rollout ADD CONSTRAINT rollout_qty_check CHECK (qty >= 0) NOT VALID;
         ALTER TABLE rollout ADD CONSTRAINT rollout_id_check CHECK (id > 0);
         COMMENT ON TABLE rollout IS 'not declared by the spec';
         COMMENT ON COLUMN rollout.qty IS 'nor this';",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let failures = |findings: Vec<Finding>| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.failed())
            .map(|f| format!("{} {}", f.code, f.object))
            .collect()
    };
    let findings = verify(
        &specs,
        &read_schema(&mut conn, "public").await.unwrap(),
        &shadow,
    );
    assert!(findings
        .iter()
        .any(|f| f.code == "check.validated" && f.status == Status::Pass));
    assert!(!findings.iter().any(|f| f.code.ends_with(".comment")));
    assert_eq!(failures(findings), Vec::<String>::new(), "rolling out");
    sqlx::raw_sql(
        "ALTER TABLE rollout VALIDATE CONSTRAINT rollout_parent_fkey;
         ALTER TABLE rollout VALIDATE CONSTRAINT rollout_qty_check;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let findings = verify(
        &specs,
        &read_schema(&mut conn, "public").await.unwrap(),
        &shadow,
    );
    assert_eq!(failures(findings), Vec::<String>::new(), "rolled out");
    sqlx::raw_sql(
        "ALTER TABLE rollout DROP CONSTRAINT rollout_id_check;
         ALTER TABLE rollout ADD CONSTRAINT rollout_id_check CHECK (id > 0) NOT VALID;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let findings = verify(
        &specs,
        &read_schema(&mut conn, "public").await.unwrap(),
        &shadow,
    );
    assert_eq!(
        failures(findings),
        ["check.validated rollout.rollout_id_check"],
        "declared validated"
    );
}

/// `check --schema` adds a schema to those the specs name: a table there that no spec
/// describes is drift, and without the flag that schema is not read.
#[test]
fn dash_dash_schema_adds_a_schema_to_check() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(async {
        let db = migrated_db("extra_schema").await;
        sqlx::raw_sql("CREATE SCHEMA extra; CREATE TABLE extra.t (a int);")
            .execute(&mut connect(&db).await)
            .await
            .unwrap();
        db
    });
    let url = format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    );
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(["check", "--database-url", &url, "--no-report"])
            .args(extra)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, stdout) = run(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout) = run(&["--schema", "extra"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL table.extra  extra.t"), "{stdout}");
}

/// The access-control fixture (`tests/fixtures/access/`) migrated into a fresh database,
/// with one mutation applied; its schema as read back.
async fn access_fixture_after(mutation: Option<&str>) -> reims_verify::catalog::Schema {
    let db = empty_db("access").await;
    apply_migrations(&db, &fixture("access/migrations")).await;
    let mut conn = connect(&db).await;
    if let Some(sql) = mutation {
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("mutation applies");
    }
    read_schema(&mut conn, "public").await.unwrap()
}

async fn access_specs_and_shadow() -> (SpecSet, Shadow) {
    let specs = load_dir(&fixture("access/specs")).expect("the access specs load");
    let db = empty_db("access_shadow").await;
    let mut conn = connect(&db).await;
    let shadow = build_shadow(&mut conn, &specs)
        .await
        .expect("the access specs compile");
    (specs, shadow)
}

fn failures_of(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.failed())
        .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
        .collect()
}

/// Grants, column grants, grant options, owners, row-level security, permissive and
/// restrictive policies and SECURITY DEFINER functions that match their specs pass; each
/// check ran; `$auditor`, bound by nothing, is said to be unchecked.
#[tokio::test]
async fn the_access_fixture_matches_its_specs() {
    let (specs, shadow) = access_specs_and_shadow().await;
    let actual = access_fixture_after(None).await;
    let findings = verify(&specs, &actual, &shadow);
    let failed = failures_of(&findings);
    assert!(
        failed.is_empty(),
        "unexpected failures:\n{}",
        failed.join("\n")
    );
    for code in [
        "privilege.owner",
        "privilege.missing",
        "privilege.grant_option",
        "privilege.extra",
        "rls.enabled",
        "rls.forced",
        "policy.exists",
        "policy.command",
        "policy.roles",
        "policy.permissive",
        "policy.using",
        "policy.with_check",
        "security.definer_search_path",
        "security.definer_public_execute",
        "role.missing",
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f.code == code && f.status == Status::Pass),
            "no passing {code} finding"
        );
    }
    let ack = findings
        .iter()
        .find(|f| f.code == "security.definer_public_execute" && f.object == "vault_ping()")
        .expect("the acknowledged finding");
    assert_eq!(ack.status, Status::Pass);
    assert!(
        ack.message.contains("a health check any role may call"),
        "the reason shows: {}",
        ack.message
    );
    let unbound: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "role.unbound")
        .collect();
    assert_eq!(unbound.len(), 1, "{unbound:#?}");
    assert_eq!(unbound[0].status, Status::Skip);
    assert_eq!(unbound[0].object, "$auditor");
}

#[tokio::test]
async fn every_access_mutation_is_caught() {
    let (specs, shadow) = access_specs_and_shadow().await;
    let files = sql_files(&fixture("access/drift"));
    let mut missed = Vec::new();
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&sql);
        assert!(
            !expected.is_empty(),
            "{} has no `-- expect:`",
            file.display()
        );
        let actual = access_fixture_after(Some(&sql)).await;
        let findings = verify(&specs, &actual, &shadow);
        for (code, object) in expected {
            if !findings
                .iter()
                .any(|f| f.failed() && f.code == code && f.object == object)
            {
                missed.push(format!(
                    "{}: expected {code} {object}; failures were {:?}",
                    file.display(),
                    failures_of(&findings)
                ));
            }
        }
    }
    assert!(missed.is_empty(), "not caught:\n{}", missed.join("\n"));
    assert!(files.len() >= 20, "only {} access mutations", files.len());
}

/// Every check code of access control has a mutation that trips it, in one of the two
/// drift corpora.
#[test]
fn every_access_check_code_has_a_drift_fixture() {
    let mut codes = std::collections::BTreeSet::new();
    for dir in ["drift", "access/drift"] {
        for file in sql_files(&fixture(dir)) {
            for (code, _) in expectations(&std::fs::read_to_string(file).unwrap()) {
                codes.insert(code);
            }
        }
    }
    for code in [
        "privilege.owner",
        "privilege.missing",
        "privilege.grant_option",
        "privilege.extra",
        "rls.enabled",
        "rls.forced",
        "policy.exists",
        "policy.command",
        "policy.roles",
        "policy.permissive",
        "policy.using",
        "policy.with_check",
        "policy.extra",
        "security.definer_search_path",
        "security.definer_public_execute",
        "role.replica_sessions",
    ] {
        assert!(codes.contains(code), "no drift fixture expects {code}");
    }
}

/// Role variables: `--role` binds them; a bound role the server lacks is `role.missing`
/// (a finding, not an error); `--role migrator=…` overrides the owner the specs expect.
#[tokio::test]
async fn role_bindings_decide_what_the_specs_mean() {
    use reims_verify::verify::{verify_with, AccessOptions};
    let (specs, shadow) = access_specs_and_shadow().await;
    let actual = access_fixture_after(None).await;
    let bind = |b: &[&str]| {
        AccessOptions::parse(&b.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    };

    // Bound to a role that exists but holds nothing: the declared grant is missing.
    let f = verify_with(&specs, &actual, &shadow, &bind(&["auditor=vault_admin"]));
    assert_eq!(
        failures_of(&f)
            .iter()
            .map(|l| l.split(':').next().unwrap().to_string())
            .collect::<Vec<_>>(),
        vec!["privilege.missing schema_migrations"],
        "{:#?}",
        failures_of(&f)
    );
    assert!(!f.iter().any(|x| x.code == "role.unbound"));

    // Bound to a role the server lacks: role.missing, reported as a finding.
    let f = verify_with(&specs, &actual, &shadow, &bind(&["auditor=no_such_role"]));
    let failed = failures_of(&f);
    assert!(
        failed
            .iter()
            .any(|l| l.starts_with("role.missing role no_such_role")),
        "{failed:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|l| l.starts_with("privilege.missing schema_migrations")),
        "{failed:#?}"
    );

    // The migrating role bound to another role: every owner check fails (but the public
    // schema's, which belongs to pg_database_owner).
    let f = verify_with(&specs, &actual, &shadow, &bind(&["migrator=vault_admin"]));
    let owner_checks = || {
        f.iter()
            .filter(|x| x.code == "privilege.owner" && x.object != "schema public")
    };
    let owners = owner_checks().filter(|x| x.failed()).count();
    let checked = owner_checks().count();
    assert!(checked >= 5 && owners == checked, "{owners} of {checked}");
}

/// A fixture of `tests/fixtures/` migrated into a fresh database, `mutation` applied, read;
/// with its specs and their shadow.
async fn fixture_after(name: &str, mutation: Option<&str>) -> (SpecSet, Shadow, Schema) {
    let specs = load_dir(&fixture(&format!("{name}/specs"))).expect("the specs load");
    let shadow = shadow_for(&specs).await;
    let db = empty_db(name).await;
    apply_migrations(&db, &fixture(&format!("{name}/migrations"))).await;
    let mut conn = connect(&db).await;
    if let Some(sql) = mutation {
        apply_drift(&mut conn, sql, name).await;
    }
    let actual = read_schema(&mut conn, "public").await.unwrap();
    (specs, shadow, actual)
}

/// An aggregate's owner and grants are compared with its spec as a function's are (they
/// were never read, so any drift of them passed), and `spec snapshot` writes them alike;
/// a listed routine whose privileges cannot be compared is a skip, not nothing.
#[tokio::test]
async fn an_aggregates_owner_and_grants_are_checked() {
    const AGG: &str = "total_qty(integer)";
    let (specs, shadow, actual) = fixture_after("access_aggregate", None).await;
    let findings = verify(&specs, &actual, &shadow);
    assert!(
        failures_of(&findings).is_empty(),
        "{:#?}",
        failures_of(&findings)
    );
    for code in ["privilege.owner", "privilege.missing", "privilege.extra"] {
        assert!(
            findings
                .iter()
                .any(|f| f.code == code && f.object == AGG && f.status == Status::Pass),
            "no passing {code} for the aggregate"
        );
    }
    // The snapshot states the aggregate's privileges as it does the plain function's.
    let privileges_of = |actual: &Schema| {
        let snap = reims_verify::snapshot::snapshot_schema(actual).unwrap();
        let doc = snap
            .schemas
            .iter()
            .find(|d| d.spec.schema == "public")
            .unwrap();
        doc.spec.functions[AGG].privileges.clone()
    };
    let written = privileges_of(&actual).expect("the aggregate's privileges are written");
    assert_eq!(
        (written.owner, written.public, written.roles.len()),
        (None, Some(vec!["execute".to_string()]), 0)
    );

    for (sql, code) in [
        (
            "ALTER AGGREGATE total_qty(integer) OWNER TO acl_agg_role;",
            "privilege.owner",
        ),
        (
            "REVOKE EXECUTE ON FUNCTION total_qty(integer) FROM PUBLIC;",
            "privilege.missing",
        ),
        (
            "GRANT EXECUTE ON FUNCTION total_qty(integer) TO acl_agg_role WITH GRANT OPTION;",
            "privilege.extra",
        ),
    ] {
        let (_, _, drifted) = fixture_after("access_aggregate", Some(sql)).await;
        let findings = verify(&specs, &drifted, &shadow);
        assert!(
            findings
                .iter()
                .any(|f| f.failed() && f.code == code && f.object == AGG),
            "{sql}: no {code} {AGG}; failures were {:#?}",
            failures_of(&findings)
        );
    }
    let (_, _, drifted) = fixture_after(
        "access_aggregate",
        Some(
            "ALTER AGGREGATE total_qty(integer) OWNER TO acl_agg_role;
             REVOKE EXECUTE ON FUNCTION total_qty(integer) FROM PUBLIC;",
        ),
    )
    .await;
    let written = privileges_of(&drifted).expect("written after drift too");
    assert_eq!(
        (written.owner.as_deref(), written.public),
        (Some("acl_agg_role"), Some(vec![]))
    );

    // Gone: function.exists fails, and its privileges are a skip that says why.
    let (_, _, dropped) = fixture_after(
        "access_aggregate",
        Some("DROP AGGREGATE total_qty(integer);"),
    )
    .await;
    let findings = verify(&specs, &dropped, &shadow);
    assert!(findings
        .iter()
        .any(|f| f.failed() && f.code == "function.exists" && f.object == AGG));
    let skip = findings
        .iter()
        .find(|f| f.code == "privilege.owner" && f.object == AGG)
        .expect("a privilege finding for the missing aggregate");
    assert_eq!(skip.status, Status::Skip, "{skip:#?}");
    assert!(skip.message.contains("does not exist"), "{}", skip.message);
}

/// A grant to the role an unbound `$app` may stand for is not judged (no false
/// `privilege.extra` on the table, its column, its sequence, a function or the schema),
/// and the `role.unbound` skip lists it; what can still be judged is: the owner, PUBLIC,
/// a bound role's exact privileges, and a privilege no variable is declared with.
#[tokio::test]
async fn an_unbound_role_variable_excuses_only_what_it_may_stand_for() {
    use reims_verify::verify::{verify_with, AccessOptions};
    const NAME: &str = "access_unbound";
    let (specs, shadow, actual) = fixture_after(NAME, None).await;
    let findings = verify(&specs, &actual, &shadow);
    assert!(
        failures_of(&findings).is_empty(),
        "unbound $app failed checks:\n{}",
        failures_of(&findings).join("\n")
    );
    let unbound: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "role.unbound")
        .collect();
    assert_eq!(unbound.len(), 1, "{unbound:#?}");
    assert_eq!(
        (unbound[0].object.as_str(), unbound[0].status),
        ("$app", Status::Skip)
    );
    let message = &unbound[0].message;
    assert!(
        message.contains("5 privilege check(s)")
            && message.contains("5 grant(s) it may stand for were not judged"),
        "{message}"
    );
    for grant in [
        "acl_var_app holds INSERT, SELECT on items",
        "acl_var_app holds UPDATE on items.name",
        "acl_var_app holds USAGE on items_id_seq",
        "acl_var_app holds EXECUTE on item_count()",
        "acl_var_app holds USAGE on schema public",
    ] {
        assert!(message.contains(grant), "`{grant}` not listed: {message}");
    }
    for object in [
        "items",
        "items.name",
        "items_id_seq",
        "item_count()",
        "schema public",
    ] {
        assert!(
            findings.iter().any(|f| f.code == "privilege.extra"
                && f.object == object
                && f.status == Status::Pass),
            "no privilege.extra check of {object}"
        );
    }
    assert!(findings
        .iter()
        .any(|f| f.code == "privilege.owner" && f.object == "items" && f.status == Status::Pass));

    // Bound, the same database passes with every check made.
    let bound = AccessOptions::parse(&["app=acl_var_app".to_string()]).unwrap();
    let f = verify_with(&specs, &actual, &shadow, &bound);
    assert!(failures_of(&f).is_empty(), "{:#?}", failures_of(&f));
    assert!(!f.iter().any(|x| x.code == "role.unbound"));

    // Unbound still, each of these fails.
    for (sql, code, object) in [
        (
            "ALTER TABLE items OWNER TO acl_var_reader;",
            "privilege.owner",
            "items",
        ),
        (
            "GRANT SELECT ON items TO PUBLIC;",
            "privilege.extra",
            "items",
        ),
        (
            "GRANT INSERT ON items TO acl_var_reader;",
            "privilege.extra",
            "items",
        ),
        (
            "REVOKE SELECT ON items FROM acl_var_reader;",
            "privilege.missing",
            "items",
        ),
        (
            "GRANT DELETE ON items TO acl_var_app;",
            "privilege.extra",
            "items",
        ),
        (
            "GRANT INSERT (name) ON items TO acl_var_app;",
            "privilege.extra",
            "items.name",
        ),
        (
            "GRANT SELECT ON SEQUENCE items_id_seq TO PUBLIC;",
            "privilege.extra",
            "items_id_seq",
        ),
        (
            "GRANT EXECUTE ON FUNCTION item_count() TO PUBLIC;",
            "privilege.extra",
            "item_count()",
        ),
        (
            "GRANT CREATE ON SCHEMA public TO acl_var_app;",
            "privilege.extra",
            "schema public",
        ),
    ] {
        let (_, _, drifted) = fixture_after(NAME, Some(sql)).await;
        let findings = verify(&specs, &drifted, &shadow);
        assert!(
            findings
                .iter()
                .any(|f| f.failed() && f.code == code && f.object == object),
            "{sql}: no {code} {object}; failures were {:#?}",
            failures_of(&findings)
        );
    }
}

/// Who can read a sensitive column, from the catalog: superusers, the owner, table and
/// column grants, predefined roles and members of a role that can; and whether row-level
/// security limits the rows they see.
#[tokio::test]
async fn who_can_read_sensitive_columns() {
    let db = empty_db("readers").await;
    apply_migrations(&db, &fixture("access/migrations")).await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "DO $$ BEGIN CREATE ROLE vault_deputy NOLOGIN IN ROLE vault_admin;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let wanted = [
        ("accounts", "email"),
        ("accounts", "balance"),
        ("entries", "tenant"),
        ("accounts", "no_such_column"),
    ]
    .map(|(t, c)| ("public".to_string(), t.to_string(), c.to_string()));
    let got = reims_verify::catalog::read_column_readers(&mut conn, &wanted)
        .await
        .unwrap();
    assert_eq!(got.len(), 3, "a missing column is left out: {got:#?}");
    let readers = |t: &str, c: &str| -> Vec<(String, String, bool)> {
        got.iter()
            .find(|s| s.table == t && s.column == c)
            .unwrap()
            .readers
            .iter()
            .map(|r| (r.role.clone(), r.via.clone(), r.all_rows))
            .collect()
    };
    let email = readers("accounts", "email");
    let has = |list: &[(String, String, bool)], role: &str, via: &str| {
        list.iter().any(|(r, v, _)| r == role && v == via)
    };
    assert!(has(&email, "postgres", "superuser"), "{email:?}");
    assert!(has(&email, "vault_app", "table grant"), "{email:?}");
    assert!(has(&email, "vault_admin", "table grant"), "{email:?}");
    assert!(has(&email, "vault_deputy", "role membership"), "{email:?}");
    assert!(
        has(&email, "pg_read_all_data", "predefined role"),
        "{email:?}"
    );
    assert!(
        !email.iter().any(|(r, _, _)| r == "vault_reader"),
        "vault_reader holds column grants on other columns only: {email:?}"
    );
    let balance = readers("accounts", "balance");
    assert!(has(&balance, "vault_reader", "column grant"), "{balance:?}");
    // entries has row-level security: a plain reader sees only what its policies allow.
    let tenant = readers("entries", "tenant");
    let rows = |role: &str| tenant.iter().find(|(r, _, _)| r == role).map(|x| x.2);
    assert_eq!(rows("vault_reader"), Some(false), "{tenant:?}");
    assert_eq!(rows("postgres"), Some(true), "{tenant:?}");
    assert!(
        got.iter()
            .find(|s| s.table == "entries")
            .unwrap()
            .row_security
    );
}

/// A list partition's values in another order are the same partition: `IN ('fr', 'de')`
/// passes a spec of `IN ('de', 'fr')` (it failed `table.partition_bound`), and another
/// value does not.
#[test]
fn a_list_partitions_values_in_another_order_are_the_same_partition() {
    let specs = [
        (
            "sales.yaml",
            "table: sales\nkind: partitioned_table\npartition_by: LIST (region)\n\
             columns:\n  id: { type: integer }\n  region: { type: text }\n",
        ),
        (
            "sales_eu.yaml",
            "table: sales_eu\npartition_of: sales\npartition_bound: FOR VALUES IN ('de', 'fr')\n\
             columns:\n  id: { type: integer }\n  region: { type: text }\n",
        ),
    ];
    let run = |values: &str| {
        let migration = format!(
            "CREATE TABLE sales (id int, region text) PARTITION BY LIST (region);\n\
             CREATE TABLE sales_eu PARTITION OF sales FOR VALUES IN ({values});\n"
        );
        let dir = project_folder(&[("001_sales.sql", migration)], &specs);
        let (code, out) = run_uncached(
            reims_command(&["check", "--no-probe", "--no-report"]).current_dir(dir.path()),
        );
        (code, out)
    };
    let (code, out) = run("'fr', 'de'");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run("'fr', 'it'");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL table.partition_bound  sales_eu"),
        "{out}"
    );
}

/// `role.replica_sessions`: a role whose sessions start with `session_replication_role =
/// replica` skips every ordinary trigger and foreign key, while each still reads as enabled.
/// The fixture declares one such role (`rv_loader`) with its reason and passes; every
/// difference from the declaration fails: the setting taken away, another role's, every
/// role's. Declared through a variable, the setting is judged once the variable is bound
/// and is a skip until then.
#[tokio::test]
async fn sessions_in_replica_mode_are_a_finding_unless_declared() {
    use reims_verify::verify::{verify_with, AccessOptions};
    const NAME: &str = "replica_sessions";
    const CODE: &str = "role.replica_sessions";
    let of = |findings: &[Finding], object: &str| -> Vec<(Status, String)> {
        findings
            .iter()
            .filter(|f| f.code == CODE && f.object == object)
            .map(|f| (f.status, f.message.clone()))
            .collect()
    };
    let (specs, shadow, actual) = fixture_after(NAME, None).await;
    let findings = verify(&specs, &actual, &shadow);
    assert!(
        failures_of(&findings).is_empty(),
        "{:#?}",
        failures_of(&findings)
    );
    let declared = of(&findings, "role rv_loader");
    assert_eq!(declared.len(), 1, "{declared:#?}");
    assert_eq!(declared[0].0, Status::Pass);
    assert!(
        declared[0].1.contains("nightly loads from the warehouse"),
        "{}",
        declared[0].1
    );

    for (sql, object) in [
        (
            "DO $$ BEGIN EXECUTE format('ALTER ROLE rv_loader IN DATABASE %I RESET session_replication_role', current_database()); END $$;",
            "role rv_loader",
        ),
        (
            "DO $$ BEGIN EXECUTE format('ALTER ROLE rv_app IN DATABASE %I SET session_replication_role = replica', current_database()); END $$;",
            "role rv_app",
        ),
        (
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET session_replication_role = replica', current_database()); END $$;",
            "every role",
        ),
    ] {
        let (_, _, drifted) = fixture_after(NAME, Some(sql)).await;
        let findings = verify(&specs, &drifted, &shadow);
        let found = of(&findings, object);
        assert!(
            found.iter().any(|(s, _)| *s == Status::Fail),
            "{sql}: no failing {CODE} {object}; failures were {:#?}",
            failures_of(&findings)
        );
        // Nothing else of the run changes: each setting is one finding.
        assert_eq!(failures_of(&findings).len(), 1, "{:#?}", failures_of(&findings));
    }

    // Declared through `$loader`: unbound, the setting may be its role's and is a skip;
    // bound to the role, it passes; bound to another, both it and the entry fail.
    let mut by_variable = specs.clone();
    let doc = &mut by_variable.schemas[0].spec;
    let reason = doc.replica_sessions.shift_remove("rv_loader").unwrap();
    doc.replica_sessions.insert("$loader".into(), reason);
    let unbound = verify(&by_variable, &actual, &shadow);
    assert!(
        failures_of(&unbound).is_empty(),
        "{:#?}",
        failures_of(&unbound)
    );
    assert_eq!(of(&unbound, "role rv_loader")[0].0, Status::Skip);
    let bind = |role: &str| AccessOptions::parse(&[format!("loader={role}")]).unwrap();
    let bound = verify_with(&by_variable, &actual, &shadow, &bind("rv_loader"));
    assert!(failures_of(&bound).is_empty(), "{:#?}", failures_of(&bound));
    assert_eq!(of(&bound, "role rv_loader")[0].0, Status::Pass);
    let wrong = verify_with(&by_variable, &actual, &shadow, &bind("rv_app"));
    assert_eq!(of(&wrong, "role rv_loader")[0].0, Status::Fail);
    assert_eq!(of(&wrong, "role rv_app")[0].0, Status::Fail);

    // Without the declaration, the fixture's own setting fails.
    let mut undeclared = specs.clone();
    undeclared.schemas[0].spec.replica_sessions.clear();
    let findings = verify(&undeclared, &actual, &shadow);
    assert_eq!(of(&findings, "role rv_loader")[0].0, Status::Fail);
}

/// `ALTER DEFAULT PRIVILEGES` grants what objects created later get, which no object's ACL
/// shows yet and the specs cannot state: each one, in the checked schema or for the whole
/// database, is a `privilege.defaults` skip naming the statement and what it grants, never
/// a pass; with none, one finding passes.
#[tokio::test]
async fn default_privileges_are_a_skip_that_says_what_they_grant() {
    let (specs, shadow) = access_specs_and_shadow().await;
    let defaults = |findings: &[Finding]| -> Vec<Finding> {
        findings
            .iter()
            .filter(|f| f.code == "privilege.defaults")
            .cloned()
            .collect()
    };
    let none = defaults(&verify(&specs, &access_fixture_after(None).await, &shadow));
    assert_eq!(none.len(), 1, "{none:#?}");
    assert_eq!(none[0].status, Status::Pass);
    for (mutation, object, grants) in [
        (
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC",
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public on tables",
            "PUBLIC: SELECT",
        ),
        (
            "ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO vault_reader WITH GRANT OPTION",
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres on sequences",
            "postgres: SELECT, UPDATE, USAGE; vault_reader: USAGE (with grant option)",
        ),
        (
            "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres on functions",
            "postgres: EXECUTE",
        ),
    ] {
        let actual = access_fixture_after(Some(mutation)).await;
        let found = defaults(&verify(&specs, &actual, &shadow));
        assert_eq!(found.len(), 1, "{mutation}: {found:#?}");
        let f = &found[0];
        assert_eq!(f.status, Status::Skip, "{mutation}: {f:#?}");
        assert_eq!(f.object.to_string(), object, "{mutation}");
        assert_eq!(f.actual.as_deref(), Some(grants), "{mutation}");
        assert!(
            f.message.contains("cannot state default privileges"),
            "{mutation}: {}",
            f.message
        );
    }
}

/// Table inheritance outside partitioning (`INHERITS`, `ALTER TABLE … INHERIT`): a query of
/// the parent reads the child's rows too, so a child attached or detached changes what
/// the parent returns. `inherits` states it, in order; absent, a table inherits from none.
/// Before, it was not read, and both changes passed.
#[tokio::test]
async fn table_inheritance_is_compared_with_the_specs_inherits() {
    let dir = tempfile::tempdir().unwrap();
    let write = |child_spec: &str| {
        std::fs::write(
            dir.path().join("parent.yaml"),
            "table: parent\ncolumns:\n  id: { type: integer }\n  note: { type: text }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("child.yaml"), child_spec).unwrap();
        load_dir(dir.path()).expect("the specs load")
    };
    let plain = write(
        "table: child\ncolumns:\n  id: { type: integer }\n  note: { type: text }\n  extra: { type: integer }\n",
    );
    let declared = write(
        "table: child\ninherits: [parent]\ncolumns:\n  id: { type: integer }\n  note: { type: text }\n  extra: { type: integer }\n",
    );
    let inherits = |found: &[Finding]| by_object(found, "table.inherits");
    let after = |change: &'static str| {
        public_after(
            "inherits",
            "CREATE TABLE parent (id integer, note text);
             CREATE TABLE child (id integer, note text, extra integer);",
            change,
        )
    };
    let shadow = shadow_for(&plain).await;
    let untouched = after("SELECT 1").await;
    assert!(inherits(&verify(&plain, &untouched, &shadow)).is_empty());
    let attached = after("ALTER TABLE child INHERIT parent").await;
    let found = verify(&plain, &attached, &shadow);
    assert_eq!(
        inherits(&found),
        [("child".to_string(), Status::Fail)],
        "{found:#?}"
    );
    let f = found.iter().find(|f| f.code == "table.inherits").unwrap();
    assert_eq!(f.actual.as_deref(), Some("inherits from parent"));
    let shadow = shadow_for(&declared).await;
    assert_eq!(
        inherits(&verify(&declared, &attached, &shadow)),
        [("child".to_string(), Status::Pass)]
    );
    assert_eq!(
        inherits(&verify(&declared, &untouched, &shadow)),
        [("child".to_string(), Status::Fail)]
    );
}

/// PostgreSQL keeps a view's options as written: `security_barrier = on`, `= 'TR'` (a
/// prefix it accepts), `check_option = 'LOCAL'`, and `security_invoker = false`, which is
/// no option at all. Each is the option the spec names, or its absence; before, `TR` and
/// `LOCAL` failed `view.options` though the view is what the spec says. Another option
/// still fails.
#[tokio::test]
async fn view_options_in_any_spelling_postgresql_accepts_pass() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "table: t\ncolumns:\n  a: { type: integer }\n",
    )
    .unwrap();
    let view = |name: &str, options: &str| {
        format!(
            "table: {name}\nkind: view\noptions: {options}\ndefinition: |-\n   SELECT t.a\n     FROM t\ncolumns:\n  a: {{ type: integer }}\n"
        )
    };
    std::fs::write(
        dir.path().join("v_on.yaml"),
        view("v_on", "{ security_barrier: true }"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("v_local.yaml"),
        view("v_local", "{ security_barrier: true, check_option: local }"),
    )
    .unwrap();
    std::fs::write(dir.path().join("v_false.yaml"), view("v_false", "{}")).unwrap();
    let specs = load_dir(dir.path()).expect("the specs load");
    let shadow = shadow_for(&specs).await;
    let db = empty_db("view_spellings").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE t (a integer);
         CREATE VIEW v_on WITH (security_barrier = on) AS SELECT t.a FROM t;
         CREATE VIEW v_local WITH (security_barrier = 'TR', check_option = 'LOCAL') AS SELECT t.a FROM t;
         CREATE VIEW v_false WITH (security_invoker = false) AS SELECT t.a FROM t;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let options = |found: &[Finding]| by_object(found, "view.options");
    let actual = read_schema(&mut conn, "public").await.unwrap();
    assert_eq!(
        options(&verify(&specs, &actual, &shadow)),
        [
            ("v_false".to_string(), Status::Pass),
            ("v_local".to_string(), Status::Pass),
            ("v_on".to_string(), Status::Pass),
        ]
    );
    sqlx::raw_sql("ALTER VIEW v_false SET (security_invoker = 'on')")
        .execute(&mut conn)
        .await
        .unwrap();
    let actual = read_schema(&mut conn, "public").await.unwrap();
    assert_eq!(
        options(&verify(&specs, &actual, &shadow))[0],
        ("v_false".to_string(), Status::Fail)
    );
}

/// A table's storage parameters (`WITH (…)`, `ALTER TABLE … SET (…)`), its TOAST table's
/// among them, and a materialized view's: `autovacuum_enabled = off` on a table whose spec
/// says nothing, or `toast.autovacuum_enabled`, passed before. Now each differs from what
/// the spec's `parameters` compiles to; a declared `false` matches a stored `off`; an
/// unknown parameter is a spec error at its key.
#[tokio::test]
async fn storage_parameters_are_compared_with_the_specs_parameters() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "table: t\nparameters: { fillfactor: 70, autovacuum_enabled: false, autovacuum_vacuum_scale_factor: 0.1 }\ncolumns:\n  a: { type: integer }\n  b: { type: text }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "table: m\nkind: materialized_view\nparameters: { fillfactor: 50 }\ndefinition: |-\n   SELECT t.a\n     FROM t\ncolumns:\n  a: { type: integer }\n",
    )
    .unwrap();
    let specs = load_dir(dir.path()).expect("the specs load");
    let shadow = shadow_for(&specs).await;
    let parameters = |found: &[Finding]| by_object(found, "table.parameters");
    let after = |change: &'static str| {
        public_after(
            "parameters",
            "CREATE TABLE t (a integer, b text) WITH (fillfactor = '70', autovacuum_enabled = off,
                                                       autovacuum_vacuum_scale_factor = 0.10);
             CREATE MATERIALIZED VIEW m WITH (fillfactor = 50) AS SELECT t.a FROM t;",
            change,
        )
    };
    let pass = [
        ("m".to_string(), Status::Pass),
        ("t".to_string(), Status::Pass),
    ];
    assert_eq!(
        parameters(&verify(&specs, &after("SELECT 1").await, &shadow)),
        pass
    );
    for (sql, object) in [
        ("ALTER TABLE t SET (autovacuum_enabled = on)", "t"),
        ("ALTER TABLE t RESET (fillfactor)", "t"),
        // The same number written otherwise passes (above); another number fails.
        (
            "ALTER TABLE t SET (autovacuum_vacuum_scale_factor = 0.100001)",
            "t",
        ),
        ("ALTER TABLE t SET (toast.autovacuum_enabled = false)", "t"),
        ("ALTER MATERIALIZED VIEW m SET (fillfactor = 60)", "m"),
    ] {
        let found = verify(&specs, &after(sql).await, &shadow);
        let failed: Vec<String> = parameters(&found)
            .into_iter()
            .filter(|(_, s)| *s == Status::Fail)
            .map(|(o, _)| o)
            .collect();
        assert_eq!(failed, [object], "{sql}");
    }
    std::fs::write(
        dir.path().join("t.yaml"),
        "table: t\nparameters: { fillfator: 70 }\ncolumns:\n  a: { type: integer }\n  b: { type: text }\n",
    )
    .unwrap();
    let bad = load_dir(dir.path()).expect("the specs load");
    let db = empty_db("parameters_shadow").await;
    let err = build_shadow(&mut connect(&db).await, &bad)
        .await
        .expect_err("an unknown parameter is refused");
    let text = err.to_string();
    assert!(
        text.contains("t.yaml:2") && text.contains("fillfator"),
        "{text}"
    );
}

/// Each finding of `code` as (object, status), in object order.
fn by_object(found: &[Finding], code: &str) -> Vec<(String, Status)> {
    let mut out: Vec<(String, Status)> = found
        .iter()
        .filter(|f| f.code == code)
        .map(|f| (f.object.to_string(), f.status))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The catalog of `public` in a new database (named after `name`) where `base` and then
/// `change` ran.
async fn public_after(name: &str, base: &str, change: &str) -> Schema {
    let db = empty_db(name).await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(base).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(change).execute(&mut conn).await.unwrap();
    read_schema(&mut conn, "public").await.unwrap()
}

/// `specs` with the database document `text` (as `specs/_database.yaml`).
fn with_database_document(specs: &SpecSet, text: &str) -> SpecSet {
    use reims_verify::spec::{load_document, SpecDocument};
    let SpecDocument::Database(doc) =
        load_document(Path::new("specs/_database.yaml"), text).expect("the document loads")
    else {
        panic!("a document with `database:` alone is the database document")
    };
    let mut specs = specs.clone();
    specs.database = Some(*doc);
    specs
}

/// The database's own privileges, which belong to no schema: as a database document
/// declares them (the owner only when it names one), else PostgreSQL's default; on a
/// handed-over server without a document, a difference is a skip that names it, never a
/// pass. Each `ALTER DATABASE … SET` is a skip naming the option; none is a pass.
#[tokio::test]
async fn the_databases_privileges_are_as_declared_and_its_settings_are_skips() {
    use reims_verify::verify::{verify_with, AccessOptions};
    let (specs, shadow) = access_specs_and_shadow().await;
    let database = |found: Vec<Finding>| -> Vec<Finding> {
        found
            .into_iter()
            .filter(|f| f.table == "database")
            .collect()
    };
    let status_of = |found: &[Finding], code: &str| -> Vec<Status> {
        found
            .iter()
            .filter(|f| f.code == code)
            .map(|f| f.status)
            .collect()
    };
    let with_doc = |text: &str| with_database_document(&specs, text);
    let handed_over = AccessOptions {
        handed_over: true,
        ..Default::default()
    };

    let untouched = access_fixture_after(None).await;
    let found = database(verify(&specs, &untouched, &shadow));
    assert!(found.iter().all(|f| f.status == Status::Pass), "{found:#?}");
    assert_eq!(status_of(&found, "database.settings"), [Status::Pass]);
    assert!(
        status_of(&found, "privilege.owner").is_empty(),
        "{found:#?}"
    );

    let actual = access_fixture_after(Some(
        "DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %1$I FROM PUBLIC; \
           GRANT CONNECT ON DATABASE %1$I TO vault_reader WITH GRANT OPTION; \
           ALTER DATABASE %1$I SET work_mem = ''64MB''', current_database()); END $$",
    ))
    .await;
    // No document, a throw-away server: PostgreSQL's default is what the specs mean.
    let found = database(verify(&specs, &actual, &shadow));
    assert_eq!(status_of(&found, "privilege.missing"), [Status::Fail]);
    assert_eq!(status_of(&found, "privilege.extra"), [Status::Fail]);
    let missing = found
        .iter()
        .find(|f| f.code == "privilege.missing")
        .unwrap();
    assert!(
        missing.message.contains("PUBLIC lacks TEMPORARY"),
        "{missing:#?}"
    );
    let settings: Vec<&Finding> = found
        .iter()
        .filter(|f| f.code == "database.settings")
        .collect();
    assert_eq!(settings.len(), 1, "{settings:#?}");
    assert_eq!(settings[0].status, Status::Skip);
    assert_eq!(settings[0].actual.as_deref(), Some("work_mem=64MB"));
    // No document, a handed-over server: not judged, and said so.
    let found = database(verify_with(&specs, &actual, &shadow, &handed_over));
    for code in ["privilege.missing", "privilege.extra"] {
        let f = found.iter().find(|f| f.code == code).unwrap();
        assert_eq!(f.status, Status::Skip, "{f:#?}");
        assert!(f.message.contains("not judged"), "{f:#?}");
    }
    // A document that states them: they pass on both kinds of server.
    let declared = with_doc(
        "database:\n  privileges:\n    public: [connect]\n    roles: { vault_reader: [connect with grant option] }\n",
    );
    for access in [AccessOptions::default(), handed_over.clone()] {
        let found = database(verify_with(&declared, &actual, &shadow, &access));
        let privileges: Vec<&Finding> = found
            .iter()
            .filter(|f| f.code.starts_with("privilege."))
            .collect();
        assert_eq!(privileges.len(), 3, "{privileges:#?}");
        assert!(
            privileges.iter().all(|f| f.status == Status::Pass),
            "{privileges:#?}"
        );
        assert!(privileges.iter().all(|f| f.location.is_some()));
    }
    // A document that says otherwise fails on both, the owner included once it is named.
    let wrong = with_doc(
        "database:\n  privileges:\n    owner: vault_reader\n    public: [connect]\n    roles: { vault_reader: [connect] }\n",
    );
    for access in [AccessOptions::default(), handed_over.clone()] {
        let found = database(verify_with(&wrong, &actual, &shadow, &access));
        assert_eq!(status_of(&found, "privilege.owner"), [Status::Fail]);
        assert_eq!(status_of(&found, "privilege.grant_option"), [Status::Fail]);
    }
}

/// Objects of the database that belong to no schema (an event trigger, a subscription, a
/// foreign server and a user mapping here) each fail on a throw-away server; a database
/// document that accepts them, or a handed-over server without one, makes each a skip
/// that names it; none is one pass. The passwords in the subscription's connection string
/// and in the user mapping's options are never read.
#[tokio::test]
async fn objects_of_no_schema_fail_unless_accepted_and_their_secrets_stay_unread() {
    use reims_verify::verify::{verify_with, AccessOptions};
    let (specs, shadow) = access_specs_and_shadow().await;
    let objects = |found: Vec<Finding>| -> Vec<Finding> {
        found
            .into_iter()
            .filter(|f| f.code == "database.objects")
            .collect()
    };
    let untouched = objects(verify(&specs, &access_fixture_after(None).await, &shadow));
    assert_eq!(untouched.len(), 1, "{untouched:#?}");
    assert_eq!(untouched[0].status, Status::Pass);

    let actual = access_fixture_after(Some(
        "CREATE FUNCTION rv_on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
         CREATE EVENT TRIGGER rv_after_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
           EXECUTE FUNCTION rv_on_ddl();
         CREATE SUBSCRIPTION rv_inbound CONNECTION 'host=/nonexistent dbname=x password=rv_s3cret'
           PUBLICATION elsewhere
           WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE);
         CREATE FOREIGN DATA WRAPPER rv_wrapper;
         CREATE SERVER rv_remote FOREIGN DATA WRAPPER rv_wrapper;
         CREATE USER MAPPING FOR postgres SERVER rv_remote OPTIONS (password 'rv_s3cret');",
    ))
    .await;
    let everything = |found: &[Finding]| format!("{found:?}");
    let found = objects(verify(&specs, &actual, &shadow));
    let named: Vec<(String, Status)> = found
        .iter()
        .map(|f| (f.object.to_string(), f.status))
        .collect();
    assert_eq!(
        named,
        [
            ("event trigger rv_after_ddl".to_string(), Status::Fail),
            ("foreign-data wrapper rv_wrapper".to_string(), Status::Fail),
            ("server rv_remote".to_string(), Status::Fail),
            ("subscription rv_inbound".to_string(), Status::Fail),
            (
                "user mapping for postgres on server rv_remote".to_string(),
                Status::Fail
            ),
        ],
        "{found:#?}"
    );
    let trigger = &found[0];
    assert!(
        trigger
            .message
            .contains("ON ddl_command_end EXECUTE FUNCTION rv_on_ddl() WHEN TAG IN (CREATE TABLE)"),
        "{trigger:#?}"
    );
    let whole = everything(&verify(&specs, &actual, &shadow));
    assert!(!whole.contains("rv_s3cret"), "a password was read");

    let accepting = with_database_document(&specs, "database:\n  allow_extra: true\n");
    let handed_over = AccessOptions {
        handed_over: true,
        ..Default::default()
    };
    for (how, found) in [
        ("accepted", objects(verify(&accepting, &actual, &shadow))),
        (
            "handed over",
            objects(verify_with(&specs, &actual, &shadow, &handed_over)),
        ),
    ] {
        assert_eq!(found.len(), 5, "{how}: {found:#?}");
        for f in &found {
            assert_eq!(f.status, Status::Skip, "{how}: {f:#?}");
            assert!(f.message.contains("not judged"), "{how}: {f:#?}");
        }
    }
    // A document that does not accept them fails them on a handed-over server too.
    let stated = with_database_document(&specs, "database: {}\n");
    let found = objects(verify_with(&stated, &actual, &shadow, &handed_over));
    assert!(found.iter().all(|f| f.status == Status::Fail), "{found:#?}");
}

/// A role the specs name reaches further than its direct grants when it is SUPERUSER or
/// BYPASSRLS (row-level security does not limit it) or a member of another role: the specs
/// cannot state that, so it is a `role.attributes` skip naming what it has, never a pass;
/// a role with none of it passes. Roles of their own, since roles belong to the cluster.
#[tokio::test]
async fn a_named_role_with_more_than_its_grants_is_a_skip_that_says_what() {
    const SPEC: &str = r#"
table: ledger
columns:
  id: { type: integer }
privileges:
  roles:
    attr_plain: [select]
    attr_bypass: [select]
    attr_member: [select]
row_security: { enabled: true }
"#;
    let loaded = reims_verify::spec::load_str(Path::new("ledger.yaml"), SPEC).unwrap();
    let specs = SpecSet::of_relations(vec![loaded]);
    let shadow = shadow_for(&specs).await;
    let db = empty_db("role_attributes").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "DO $$ DECLARE r text; BEGIN
           FOREACH r IN ARRAY ARRAY['attr_plain', 'attr_bypass', 'attr_member'] LOOP
             BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', r);
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
           END LOOP;
         END $$;
         ALTER ROLE attr_bypass BYPASSRLS;
         GRANT pg_read_all_data TO attr_member WITH ADMIN OPTION;
         CREATE TABLE ledger (id integer);
         ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
         GRANT SELECT ON ledger TO attr_plain, attr_bypass, attr_member;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let actual = read_schema(&mut conn, "public").await.unwrap();
    let findings = verify(&specs, &actual, &shadow);
    let of = |role: &str| {
        findings
            .iter()
            .find(|f| f.code == "role.attributes" && f.object == format!("role {role}"))
            .unwrap_or_else(|| panic!("no role.attributes finding for {role}: {findings:#?}"))
    };
    assert_eq!(of("attr_plain").status, Status::Pass);
    let bypass = of("attr_bypass");
    assert_eq!(bypass.status, Status::Skip);
    assert!(bypass.message.contains("BYPASSRLS"), "{}", bypass.message);
    let member = of("attr_member");
    assert_eq!(member.status, Status::Skip);
    assert!(
        member
            .actual
            .as_deref()
            .is_some_and(|a| a.starts_with("member of pg_read_all_data (ADMIN")),
        "{member:#?}"
    );
    assert!(
        member.message.contains("cannot state role attributes"),
        "{}",
        member.message
    );
}

/// A schema no spec, schema document or `--schema` names is not read, but each is a
/// `schema.extra` finding naming what it holds: it fails on a throw-away server; the
/// database document's `extra_schemas:` makes it a skip, and so does a handed-over server
/// without a document, where a document that does not name it fails it. A schema holding
/// only an extension's members is a skip naming the extension; one an extension made,
/// `public` left empty and the tool's own attempt log are not reported; none is one pass.
#[tokio::test]
async fn schemas_no_spec_names_fail_unless_accepted_and_are_skips_when_handed_over() {
    use reims_verify::verify::{verify_with, AccessOptions};
    let (specs, shadow) = access_specs_and_shadow().await;
    let handed_over = AccessOptions {
        handed_over: true,
        ..Default::default()
    };
    let schemas = |found: &[Finding]| by_object(found, "schema.extra");

    // The fixture's own migrations leave reims_verify (the attempt log) and nothing else.
    let untouched = access_fixture_after(None).await;
    assert!(
        untouched
            .unread_schemas
            .iter()
            .any(|s| s.name == "reims_verify"),
        "{:#?}",
        untouched.unread_schemas
    );
    assert_eq!(
        schemas(&verify(&specs, &untouched, &shadow)),
        [("database".to_string(), Status::Pass)]
    );

    let actual = access_fixture_after(Some(
        "CREATE SCHEMA reporting;
         CREATE TABLE reporting.vault_export AS SELECT 1 AS id;
         GRANT USAGE ON SCHEMA reporting TO PUBLIC;
         GRANT SELECT ON reporting.vault_export TO PUBLIC;
         CREATE FUNCTION reporting.touch(p integer) RETURNS integer LANGUAGE sql
             SECURITY DEFINER AS 'SELECT p';
         CREATE SCHEMA ext;
         CREATE EXTENSION citext SCHEMA ext;
         CREATE SCHEMA made_by_extension;
         ALTER EXTENSION citext ADD SCHEMA made_by_extension;",
    ))
    .await;
    let found = verify(&specs, &actual, &shadow);
    assert_eq!(
        schemas(&found),
        [
            ("schema ext".to_string(), Status::Skip),
            ("schema reporting".to_string(), Status::Fail),
        ],
        "{:#?}",
        found
            .iter()
            .filter(|f| f.code == "schema.extra")
            .collect::<Vec<_>>()
    );
    let reporting = found
        .iter()
        .find(|f| f.code == "schema.extra" && f.object == "schema reporting")
        .unwrap();
    for part in [
        "1 relation(s) (1 with privileges for PUBLIC)",
        "1 function(s) (1 SECURITY DEFINER)",
        "granted: PUBLIC usage",
    ] {
        assert!(reporting.message.contains(part), "{part}: {reporting:#?}");
    }
    let ext = found
        .iter()
        .find(|f| f.code == "schema.extra" && f.object == "schema ext")
        .unwrap();
    assert!(
        ext.message
            .contains("only the members of extension(s) citext"),
        "{ext:#?}"
    );

    // Accepted by name: a skip; another name accepts nothing.
    let accepting = with_database_document(&specs, "database:\n  extra_schemas: [reporting]\n");
    let other = with_database_document(&specs, "database:\n  extra_schemas: [monitoring]\n");
    let stated = with_database_document(&specs, "database: {}\n");
    for (how, specs, access, status) in [
        (
            "accepted",
            &accepting,
            &AccessOptions::default(),
            Status::Skip,
        ),
        (
            "accepted, handed over",
            &accepting,
            &handed_over,
            Status::Skip,
        ),
        (
            "another accepted",
            &other,
            &AccessOptions::default(),
            Status::Fail,
        ),
        (
            "handed over, no document",
            &specs,
            &handed_over,
            Status::Skip,
        ),
        (
            "handed over, a document",
            &stated,
            &handed_over,
            Status::Fail,
        ),
    ] {
        let found = verify_with(specs, &actual, &shadow, access);
        let f = found
            .iter()
            .find(|f| f.code == "schema.extra" && f.object == "schema reporting")
            .unwrap();
        assert_eq!(f.status, status, "{how}: {f:#?}");
        if status == Status::Skip {
            assert!(f.message.contains("not judged"), "{how}: {f:#?}");
        }
    }

    // `public` holding a table, when no spec names it, is reported like any other; left
    // empty, it is not.
    let (_dir, app_specs) = specs_of(&[(
        "app.t",
        "table: t\nschema: app\ncolumns:\n  id: { type: integer }\n",
    )]);
    let app_shadow = shadow_for(&app_specs).await;
    assert_eq!(app_specs.checked_schemas(&[]), ["app"]);
    for (change, expected) in [
        ("", ("database", Status::Pass)),
        (
            "CREATE TABLE public.stray (id integer);",
            ("schema public", Status::Fail),
        ),
    ] {
        let db = empty_db("unread_public").await;
        let mut conn = connect(&db).await;
        sqlx::raw_sql(&format!(
            "CREATE SCHEMA app; CREATE TABLE app.t (id integer); {change}"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let actual = read_schemas(&mut conn, &app_specs.checked_schemas(&[]))
            .await
            .unwrap();
        let found = verify(&app_specs, &actual, &app_shadow);
        assert_eq!(
            schemas(&found),
            [(expected.0.to_string(), expected.1)],
            "{change}"
        );
    }
}

/// Settings stored for roles that apply on the checked database (for one role in it, for
/// one role in every database, for every role in every database) are each a `role.settings`
/// finding naming role and setting: a `search_path` fails on a throw-away server, any other
/// option is a skip; `allow_role_settings: true` and a handed-over server make each a
/// skip; none is one pass. The settings for every database are made inside a transaction
/// that the catalog read shares and that is rolled back, so no other test's database
/// ever sees them.
#[tokio::test]
async fn role_settings_are_named_and_a_search_path_fails_on_a_throw_away_server() {
    use reims_verify::verify::{verify_with, AccessOptions};
    let (specs, shadow) = access_specs_and_shadow().await;
    let settings = |found: &[Finding]| by_object(found, "role.settings");
    let untouched = access_fixture_after(None).await;
    assert_eq!(
        settings(&verify(&specs, &untouched, &shadow)),
        [("database".to_string(), Status::Pass)]
    );

    let db = empty_db("access").await;
    apply_migrations(&db, &fixture("access/migrations")).await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE ROLE rv_settings_a NOLOGIN;
         CREATE ROLE rv_settings_b NOLOGIN;
         DO $$ BEGIN
           EXECUTE format('ALTER ROLE rv_settings_a IN DATABASE %I SET search_path = %L',
                          current_database(), '');
           EXECUTE format('ALTER ROLE rv_settings_a IN DATABASE %I SET session_replication_role = replica',
                          current_database());
         END $$;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(
        "BEGIN;
         ALTER ROLE rv_settings_b SET work_mem = '8MB';
         ALTER ROLE ALL SET search_path = '$user';",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let actual = read_schema(&mut conn, "public").await.unwrap();
    sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
    sqlx::raw_sql("DROP ROLE rv_settings_b")
        .execute(&mut conn)
        .await
        .unwrap();

    let found = verify(&specs, &actual, &shadow);
    assert_eq!(
        settings(&found),
        [
            ("search_path of every role".to_string(), Status::Fail),
            (
                "search_path of role rv_settings_a".to_string(),
                Status::Fail
            ),
            ("work_mem of role rv_settings_b".to_string(), Status::Skip),
        ],
        "{:#?}",
        found
            .iter()
            .filter(|f| f.code == "role.settings")
            .collect::<Vec<_>>()
    );
    let one = found
        .iter()
        .find(|f| f.object == "search_path of role rv_settings_a")
        .unwrap();
    assert!(
        one.message
            .contains("ALTER ROLE rv_settings_a IN DATABASE … SET search_path"),
        "{one:#?}"
    );
    let every = found
        .iter()
        .find(|f| f.object == "search_path of every role")
        .unwrap();
    assert!(every.message.contains("on every database"), "{every:#?}");
    // The replica-mode setting is role.replica_sessions', not this code's.
    assert!(found
        .iter()
        .any(|f| f.code == "role.replica_sessions" && f.object == "role rv_settings_a"));

    let accepting = with_database_document(&specs, "database:\n  allow_role_settings: true\n");
    let handed_over = AccessOptions {
        handed_over: true,
        ..Default::default()
    };
    for (how, specs, access) in [
        ("accepted", &accepting, &AccessOptions::default()),
        ("handed over", &specs, &handed_over),
        ("handed over, accepted", &accepting, &handed_over),
    ] {
        let found = verify_with(specs, &actual, &shadow, access);
        let all = settings(&found);
        assert_eq!(all.len(), 3, "{how}: {all:?}");
        assert!(
            all.iter().all(|(_, s)| *s == Status::Skip),
            "{how}: {all:?}"
        );
    }
    sqlx::raw_sql(
        "DO $$ BEGIN
           EXECUTE format('ALTER ROLE rv_settings_a IN DATABASE %I RESET ALL', current_database());
         END $$;
         DROP ROLE rv_settings_a;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}
