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
    // Every spec item produced findings, and each carries its spec location (the schema's
    // own privileges are checked against a fresh database's when no schema document
    // states them, so they have none).
    assert!(findings.iter().all(|f| f.status == Status::Pass));
    let unplaced: Vec<_> = findings
        .iter()
        .filter(|f| f.table != "functions" && f.location.is_none())
        .filter(|f| !(f.table == "schema public" && f.code.starts_with("privilege.")))
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
        ("accounts".to_string(), "email".to_string()),
        ("accounts".to_string(), "balance".to_string()),
        ("entries".to_string(), "tenant".to_string()),
        ("accounts".to_string(), "no_such_column".to_string()),
    ];
    let got = reims_verify::catalog::read_column_readers(&mut conn, "public", &wanted)
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
