//! `spec snapshot`: specs written from a database pass `check` against that database (the
//! REIMS schema, a synthetic schema with the odd cases, a corpus of every object kind in
//! two schemas, and Pagila exactly as `pg_dump` prints it), they match the hand-written
//! specs in everything a catalog can know, and the command refuses to mix with existing
//! specs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use reims_verify::catalog::{read_schema, read_schemas, relation_key, Schema};
use reims_verify::snapshot::{
    load_files, render_files, round_trip, snapshot_schema, write_dir, Header, Snapshot,
};
use reims_verify::spec::{
    load_dir, parse_index_key, ColumnCompression, ColumnStorage, FunctionSpec, ParameterValue,
    ReplicaIdentity, Rule, SpecSet, TableSpec,
};
use reims_verify::verify::{build_shadow, canonical, verify, Finding, Shadow};

fn header() -> Header {
    Header {
        source: "the test cluster".into(),
        schema: "public".into(),
        taken_at: "2025-01-01 00:00 UTC".into(),
    }
}

fn url(db: &str) -> String {
    format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    )
}

async fn schema_of(db: &str) -> Schema {
    let mut conn = connect(db).await;
    read_schema(&mut conn, "public").await.unwrap()
}

async fn schemas_of(db: &str, schemas: &[&str]) -> Schema {
    let mut conn = connect(db).await;
    let names: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    read_schemas(&mut conn, &names).await.unwrap()
}

#[tokio::test]
async fn a_corpus_of_every_object_kind_round_trips() {
    let db = empty_db("snap_corpus").await;
    let sql = corpus_sql(&db).await;
    sqlx::raw_sql(&sql)
        .execute(&mut connect(&db).await)
        .await
        .expect("the corpus applies");
    let actual = schemas_of(&db, &["public", "app"]).await;
    let snap = snapshot_schema(&actual).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let failed = round_trip_failures(&specs, &actual).await;
    // safe_lookup is SECURITY DEFINER and PUBLIC may execute it: the built-in security
    // finding stands until a person acknowledges it (a snapshot never does).
    assert_eq!(
        codes_and_objects(&failed),
        ["security.definer_public_execute safe_lookup(integer)"],
        "the snapshot does not round-trip:\n{}",
        failed.join("\n")
    );

    // Every kind is stated, not merely tolerated.
    use reims_verify::spec::{IdentityKind, RelationKind};
    let rel = |schema: &str, t: &str| &specs.relation(schema, t).unwrap().spec;
    let public = &specs.schema_doc("public").unwrap().spec;
    let app = &specs.schema_doc("app").unwrap().spec;
    assert_eq!(
        public.types["mood"].enum_labels.as_deref().unwrap(),
        ["sad", "ok", "happy"]
    );
    let code = &public.types["ñandú_code"];
    assert_eq!(
        (code.domain.as_deref(), code.nullable),
        (Some("varchar(12)"), false)
    );
    assert!(!public.types["positive_int"].checks["positive_int_small"].validated);
    assert!(app.types["money_pair"].composite.is_some());
    assert_eq!(
        public.sequences["invoice_numbers"].owned_by.as_deref(),
        Some("customers.invoice_no")
    );
    assert_eq!(public.sequences["invoice_numbers"].increment, Some(10));
    assert!(public.functions.contains_key("concat_all(text)"));
    assert!(
        public.allow_extra.other,
        "the rule and the operator are noted and allowed"
    );
    let customers = rel("public", "customers");
    assert_eq!(customers.columns["code"].type_, "\"ñandú_code\"");
    assert_eq!(customers.columns["id"].identity, Some(IdentityKind::Always));
    assert_eq!(
        customers.columns["id"].sequence.as_ref().unwrap().start,
        Some(1000)
    );
    assert!(customers.columns["full_name"].generated.is_some());
    assert_eq!(
        customers.columns["email"].comment.as_deref(),
        Some("Case-insensitive e-mail.")
    );
    let safe = &customers.functions["safe_lookup(integer)"];
    assert_eq!(safe.config["search_path"], "public, pg_temp");
    assert_eq!(rel("public", "orders").kind, RelationKind::PartitionedTable);
    assert_eq!(
        rel("public", "orders_2025").partition_of.as_deref(),
        Some("orders")
    );
    assert_eq!(
        rel("public", "orders_2025_rest").partition_bound.as_deref(),
        Some("DEFAULT")
    );
    assert!(
        rel("public", "orders_2024").primary_key.is_none(),
        "inherited from orders"
    );
    assert!(rel("public", "scratch").unlogged);
    assert!(!rel("public", "scratch").checks["scratch_v_check"].validated);
    assert_eq!(rel("public", "customer_labels").kind, RelationKind::View);
    assert_eq!(
        rel("app", "ticket_totals").kind,
        RelationKind::MaterializedView
    );
    assert!(!rel("app", "tickets").foreign_keys["tickets_customer_fkey"].validated);
    assert_eq!(
        rel("app", "tickets").triggers["tickets_stamp"].arguments,
        ["a", "b c"]
    );
    assert_eq!(rel("app", "notes").columns["id"].type_, "serial");
    for name in [
        "_schema.public.yaml",
        "_schema.app.yaml",
        "app.tickets.yaml",
        "customers.yaml",
    ] {
        assert!(dir.path().join(name).exists(), "{name}");
    }
}

/// A schema nobody on the team wrote, loaded exactly as `pg_dump` printed it: the
/// snapshot of it passes `check`, through the command line as a new user would run it.
#[tokio::test]
async fn pagila_as_pg_dump_prints_it_round_trips_through_the_cli() {
    let db = empty_db("snap_pagila").await;
    let sql = std::fs::read_to_string(fixture("pagila/pagila-schema.sql")).unwrap();
    sqlx::raw_sql(&sql)
        .execute(&mut connect(&db).await)
        .await
        .expect("pagila applies");
    let actual = schema_of(&db).await;
    let snap = snapshot_schema(&actual).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let failed = round_trip_failures(&specs, &actual).await;
    // Pagila's rewards_report is SECURITY DEFINER, with no pinned search_path and
    // executable by PUBLIC: the built-in security findings stand (a snapshot never
    // acknowledges them); everything the specs state passes.
    assert_eq!(
        codes_and_objects(&failed),
        [
            "security.definer_search_path rewards_report(integer, numeric)",
            "security.definer_public_execute rewards_report(integer, numeric)"
        ],
        "pagila does not round-trip:\n{}",
        failed.join("\n")
    );
    let public = &specs.schema_doc("public").unwrap().spec;
    assert!(
        public.types.contains_key("bıgınt"),
        "the non-ASCII domain is declared"
    );
    assert!(public.functions.contains_key("group_concat(text)"));
    assert_eq!(
        specs.table("payment").unwrap().spec.partition_by.as_deref(),
        Some("RANGE (payment_date)")
    );
    assert!(specs.table("actor_info").unwrap().spec.definition.is_some());

    // As a new user: snapshot with the CLI, then check with the CLI. The database was not
    // built by the migration runner (it has no schema_migrations), so the migration
    // inventory reports its file as pending; every structural check passes.
    let out = tempfile::tempdir().unwrap();
    let migrations = tempfile::tempdir().unwrap();
    std::fs::write(migrations.path().join("001_pagila.sql"), &sql).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let specs_dir = out.path().join("specs");
    let snap_out = run(&[
        "spec",
        "snapshot",
        "--database-url",
        &url(&db),
        "--out",
        specs_dir.to_str().unwrap(),
    ]);
    assert!(
        snap_out.status.success(),
        "{}",
        String::from_utf8_lossy(&snap_out.stderr)
    );
    let snap_err = String::from_utf8_lossy(&snap_out.stderr);
    assert!(!snap_err.contains("warning"), "{snap_err}");
    assert!(
        snap_err.contains("security: 2 built-in security check(s) will fail")
            && snap_err.contains("security.definer_search_path rewards_report(integer, numeric)"),
        "{snap_err}"
    );
    let check = run(&[
        "check",
        "--database-url",
        &url(&db),
        "--specs",
        specs_dir.to_str().unwrap(),
        "--migrations",
        migrations.path().to_str().unwrap(),
        "--no-report",
        "--format",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = run["findings"].as_array().unwrap();
    let failed: Vec<String> = findings
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| format!("{} {}", f["code"], f["object"]))
        .collect();
    assert_eq!(
        failed,
        [
            r#""migration.pending" "001_pagila.sql""#,
            r#""security.definer_search_path" "rewards_report(integer, numeric)""#,
            r#""security.definer_public_execute" "rewards_report(integer, numeric)""#
        ],
        "{failed:?}"
    );
    assert!(findings.len() > 1500, "only {} checks", findings.len());
}

/// `code object` of each round-trip failure (written `code object: message`).
fn codes_and_objects(failed: &[String]) -> Vec<&str> {
    failed
        .iter()
        .map(|f| f.split(':').next().unwrap())
        .collect()
}

async fn shadow_of(specs: &SpecSet) -> Shadow {
    let db = empty_db("snap_shadow").await;
    let mut conn = connect(&db).await;
    build_shadow(&mut conn, specs)
        .await
        .expect("the specs compile in a shadow")
}

/// Write the snapshot to a folder and load it back as `check` does.
fn write_and_load(snap: &Snapshot, dir: &Path) -> SpecSet {
    write_dir(dir, &render_files(snap, &header()), false).expect("files are written");
    load_dir(dir).expect("the snapshot loads")
}

fn failures(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.failed())
        .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
        .collect()
}

async fn round_trip_failures(specs: &SpecSet, actual: &Schema) -> Vec<String> {
    let shadow = shadow_of(specs).await;
    let findings = verify(specs, actual, &shadow);
    assert!(findings.len() > 100, "only {} checks", findings.len());
    failures(&findings)
}

#[tokio::test]
async fn the_reims_snapshot_passes_check_on_its_database() {
    let db = migrated_db("snap_reims").await;
    let actual = schema_of(&db).await;
    let snap = snapshot_schema(&actual).unwrap();
    assert_eq!(snap.tables.len(), 16);
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let failed = round_trip_failures(&specs, &actual).await;
    assert!(
        failed.is_empty(),
        "the snapshot does not round-trip:\n{}",
        failed.join("\n")
    );

    // The recogniser alone gets there: the shadow self-check changes nothing.
    let mut checked = snap.clone();
    let shadow_db = empty_db("snap_self_check").await;
    let report = round_trip(
        &mut connect(&shadow_db).await,
        &actual,
        &mut checked,
        &header(),
    )
    .await
    .unwrap();
    assert!(report.downgraded.is_empty(), "{:?}", report.downgraded);
    assert!(
        report.failures.is_empty(),
        "{:?}",
        failures(&report.failures)
    );
    assert_eq!(checked, snap);
}

const ODD_DDL: &str = r#"
CREATE TABLE parents (
    id integer NOT NULL,
    region text NOT NULL,
    name varchar(100) NOT NULL,
    seq_no integer GENERATED ALWAYS AS IDENTITY,
    CONSTRAINT parents_key PRIMARY KEY (id, region)
);
CREATE TABLE items (
    item_id bigserial PRIMARY KEY,
    parent_id integer,
    parent_region text,
    code char(4) NOT NULL DEFAULT 'AB12',
    title text COLLATE "C",
    score numeric(6,2) DEFAULT 0.00,
    priority smallint NOT NULL DEFAULT -1,
    tags text[] NOT NULL DEFAULT '{}',
    doc jsonb NOT NULL DEFAULT '{}',
    created timestamptz NOT NULL DEFAULT now(),
    starts date,
    ends date,
    "timestamp" timestamp(3) without time zone,
    CONSTRAINT items_parent_fkey FOREIGN KEY (parent_id, parent_region)
        REFERENCES parents (id, region) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE,
    CONSTRAINT items_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT items_score_check CHECK (score > 0 AND score < 100.5),
    CONSTRAINT items_priority_check CHECK (priority IN (1, 2, 3) OR priority = -1),
    CONSTRAINT items_dates_check CHECK (ends IS NULL OR ends > starts),
    CONSTRAINT items_title_check CHECK (title ~* '^[a-z]'),
    CONSTRAINT items_code_check CHECK (code IN ('AB12', 'CD34')),
    CONSTRAINT items_created_check CHECK (created <= CURRENT_TIMESTAMP + interval '5 minutes'),
    CONSTRAINT items_tags_check CHECK (cardinality(tags) <= 10),
    CONSTRAINT items_doc_check CHECK (CASE WHEN score > 50 THEN doc <> '{}' ELSE true END),
    CONSTRAINT items_starts_check CHECK (starts >= '2000-01-01')
);
CREATE INDEX idx_items_created ON items (created DESC NULLS LAST);
CREATE INDEX idx_items_score ON items (score NULLS FIRST, "timestamp");
CREATE INDEX idx_items_partial ON items (parent_id) WHERE score IS NOT NULL AND code <> 'AB12';
CREATE INDEX idx_items_lower_title ON items (lower(title) text_pattern_ops);
CREATE INDEX idx_items_expr ON items ((score * 2), (coalesce(title, 'x')));
CREATE INDEX idx_items_doc ON items USING gin (doc jsonb_path_ops);
CREATE INDEX idx_items_tags ON items USING gin (tags);
CREATE UNIQUE INDEX idx_items_code_incl ON items (code) INCLUDE (title, "timestamp");
CREATE FUNCTION items_audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER items_audit AFTER INSERT OR DELETE OR TRUNCATE ON items
    FOR EACH STATEMENT EXECUTE FUNCTION items_audit();
CREATE FUNCTION items_touch() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN NEW.created := now(); RETURN NEW; END$$;
CREATE TRIGGER items_touch BEFORE UPDATE OF score, title ON items FOR EACH ROW
    WHEN (OLD.score IS DISTINCT FROM NEW.score) EXECUTE FUNCTION items_touch();
CREATE FUNCTION top_items(p_limit integer DEFAULT 10)
    RETURNS TABLE(item_id bigint, score numeric) LANGUAGE sql STABLE STRICT SECURITY DEFINER
    AS $$SELECT item_id, score FROM items ORDER BY score DESC LIMIT p_limit$$;
CREATE FUNCTION parent_names() RETURNS SETOF text LANGUAGE sql
    AS $$SELECT name FROM parents UNION SELECT title FROM items WHERE title IN (SELECT name FROM parents)$$;
CREATE PROCEDURE purge_parents(keep integer) LANGUAGE sql AS $$DELETE FROM parents WHERE id > keep$$;
CREATE FUNCTION answer() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 42';
CREATE FUNCTION tag_count(p_tags text[], p_min integer DEFAULT 0) RETURNS integer
    LANGUAGE sql IMMUTABLE AS 'SELECT greatest(cardinality(p_tags), p_min)';
CREATE MATERIALIZED VIEW item_counts AS SELECT parent_id, count(*) AS n FROM items GROUP BY parent_id;
CREATE UNIQUE INDEX idx_item_counts ON item_counts (parent_id);
CREATE VIEW item_titles WITH (security_barrier, check_option = cascaded)
    AS SELECT item_id, title FROM items WHERE title IS NOT NULL;
CREATE TABLE "order.lines" (id integer PRIMARY KEY DEFERRABLE, n integer);
CREATE SEQUENCE line_numbers OWNED BY "order.lines".n;
CREATE UNLOGGED SEQUENCE tickets;
CREATE TYPE tier AS ENUM ('low', 'high');
REVOKE USAGE ON TYPE tier FROM PUBLIC;
ALTER TABLE items ALTER COLUMN doc SET STORAGE EXTERNAL, ALTER COLUMN tags SET COMPRESSION pglz;
CREATE MATERIALIZED VIEW item_codes AS SELECT code, title FROM items;
ALTER MATERIALIZED VIEW item_codes ALTER COLUMN title SET STORAGE MAIN,
    ALTER COLUMN code SET COMPRESSION pglz;
ALTER TABLE parents REPLICA IDENTITY USING INDEX parents_key;
ALTER TABLE "order.lines" REPLICA IDENTITY NOTHING;
ALTER TABLE item_codes REPLICA IDENTITY FULL;
ALTER TABLE items ALTER COLUMN title SET STATISTICS 0,
    ALTER COLUMN parent_region SET (n_distinct = '-0.50', n_distinct_inherited = 7);
ALTER MATERIALIZED VIEW item_codes ALTER COLUMN code SET STATISTICS 750;
ALTER TABLE parents CLUSTER ON parents_key;
ALTER MATERIALIZED VIEW item_counts CLUSTER ON idx_item_counts;
ALTER INDEX idx_items_expr ALTER COLUMN 2 SET STATISTICS 250;
"#;

#[tokio::test]
async fn an_odd_schema_round_trips() {
    let db = empty_db("snap_odd").await;
    sqlx::raw_sql(ODD_DDL)
        .execute(&mut connect(&db).await)
        .await
        .expect("DDL applies");
    let actual = schema_of(&db).await;
    let snap = snapshot_schema(&actual).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let failed = round_trip_failures(&specs, &actual).await;
    // top_items is SECURITY DEFINER without a pinned search_path and executable by PUBLIC:
    // the built-in security findings stand until a person fixes or acknowledges them (a
    // snapshot never acknowledges them; it says so in the file).
    let codes: Vec<&str> = failed
        .iter()
        .map(|f| f.split(':').next().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "security.definer_search_path top_items(integer)",
            "security.definer_public_execute top_items(integer)"
        ],
        "the snapshot does not round-trip:\n{}",
        failed.join("\n")
    );

    let spec = |t: &str| &specs.table(t).unwrap().spec;
    let text = |t: &str| std::fs::read_to_string(dir.path().join(format!("{t}.yaml"))).unwrap();
    let items = spec("items");
    let rule = |name: &str| serde_json::to_string(&items.checks[name].rule).unwrap();
    assert_eq!(
        rule("items_score_check"),
        r#"{"range":{"column":"score","gt":0.0,"lt":100.5}}"#
    );
    assert_eq!(
        rule("items_dates_check"),
        r#"{"compare":{"left":"ends","op":">","right":"starts","or_left_null":true}}"#
    );
    assert_eq!(
        rule("items_title_check"),
        r#"{"regex":{"column":"title","pattern":"^[a-z]","case_insensitive":true}}"#
    );
    assert_eq!(
        rule("items_code_check"),
        r#"{"one_of":{"column":"code","values":["AB12","CD34"]}}"#
    );
    assert_eq!(
        rule("items_created_check"),
        r#"{"not_future":{"column":"created","buffer":"5 minutes"}}"#
    );
    assert_eq!(
        items.checks["items_doc_check"].rule,
        Rule::Sql(
            "CASE WHEN (score > (50)::numeric) THEN (doc <> '{}'::jsonb) ELSE true END".into()
        )
    );
    for name in [
        "items_priority_check",
        "items_tags_check",
        "items_doc_check",
        "items_starts_check",
    ] {
        assert!(
            matches!(items.checks[name].rule, Rule::Sql(_)),
            "{name}: {:?}",
            items.checks[name].rule
        );
    }
    assert_eq!(items.columns["item_id"].type_, "bigserial");
    assert_eq!(items.columns["item_id"].default, None);
    assert_eq!(items.columns["code"].type_, "char(4)");
    assert_eq!(items.columns["code"].default.as_deref(), Some("'AB12'"));
    assert_eq!(items.columns["priority"].default.as_deref(), Some("-1"));
    assert_eq!(items.columns["title"].collation.as_deref(), Some("C"));
    assert_eq!(items.columns["timestamp"].type_, "timestamp(3)");
    // A storage or compression other than the default is written; the defaults are not.
    assert_eq!(items.columns["doc"].storage, Some(ColumnStorage::External));
    assert_eq!(
        items.columns["tags"].compression,
        Some(ColumnCompression::Pglz)
    );
    assert_eq!(items.columns["title"].storage, None);
    assert_eq!(items.columns["doc"].compression, None);
    // A materialized view's too (the shadow sets them on the table that stands for its
    // declared columns).
    let codes_view = spec("item_codes");
    assert_eq!(
        codes_view.columns["title"].storage,
        Some(ColumnStorage::Main)
    );
    assert_eq!(
        codes_view.columns["code"].compression,
        Some(ColumnCompression::Pglz)
    );
    // A replica identity other than DEFAULT is written, a table's and a materialized
    // view's; DEFAULT is not.
    assert_eq!(
        spec("parents").replica_identity,
        Some(ReplicaIdentity::Index("parents_key".into()))
    );
    assert_eq!(
        spec("order.lines").replica_identity,
        Some(ReplicaIdentity::Nothing)
    );
    assert_eq!(codes_view.replica_identity, Some(ReplicaIdentity::Full));
    assert_eq!(items.replica_identity, None);
    // A statistics target, attribute options and a clustering index are written, a
    // table's and a materialized view's; the defaults are not.
    assert_eq!(items.columns["title"].statistics, Some(0));
    assert_eq!(codes_view.columns["code"].statistics, Some(750));
    assert_eq!(items.columns["doc"].statistics, None);
    assert_eq!(
        items.columns["parent_region"]
            .options
            .iter()
            .collect::<Vec<_>>(),
        [
            (&"n_distinct".to_string(), &ParameterValue::Number(-0.5)),
            (
                &"n_distinct_inherited".to_string(),
                &ParameterValue::Integer(7)
            )
        ]
    );
    assert!(items.columns["doc"].options.is_empty());
    assert_eq!(spec("parents").cluster_on.as_deref(), Some("parents_key"));
    assert_eq!(
        spec("item_counts").cluster_on.as_deref(),
        Some("idx_item_counts")
    );
    assert_eq!(items.cluster_on, None);
    // An expression key's statistics target is written; the other key's default is not.
    assert_eq!(
        items.indexes["idx_items_expr"]
            .statistics
            .iter()
            .collect::<Vec<_>>(),
        [(&2, &250)]
    );
    assert!(items.indexes["idx_items_created"].statistics.is_empty());
    assert_eq!(
        items.indexes["idx_items_created"].keys,
        ["created DESC NULLS LAST"]
    );
    assert_eq!(
        items.indexes["idx_items_score"].keys,
        ["score NULLS FIRST", "timestamp"]
    );
    assert_eq!(
        items.indexes["idx_items_lower_title"].keys,
        ["lower(title) text_pattern_ops"]
    );
    assert_eq!(
        items.indexes["idx_items_expr"].keys,
        ["(score * 2)", "COALESCE(title, 'x'::text)"]
    );
    assert_eq!(
        items.indexes["idx_items_code_incl"].include,
        ["title", "timestamp"]
    );
    assert_eq!(
        items.indexes["idx_items_partial"].predicate.as_deref(),
        Some("score IS NOT NULL AND code <> 'AB12'")
    );
    let fk = &items.foreign_keys["items_parent_fkey"];
    assert_eq!(fk.columns, ["parent_id", "parent_region"]);
    assert!(fk.deferrable && !fk.initially_deferred);
    assert_eq!(
        spec("parents")
            .primary_key
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("parents_key")
    );
    assert_eq!(items.triggers["items_touch"].columns, ["score", "title"]);
    assert!(items.triggers["items_touch"].when.is_some());
    // Trigger functions with their table; others where their source names a table most,
    // else with the first table by name.
    let sigs = |t: &str| spec(t).functions.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        sigs("items"),
        ["items_audit()", "items_touch()", "top_items(integer)"]
    );
    assert_eq!(
        sigs("parents"),
        ["parent_names()", "purge_parents(integer)"]
    );
    // The first by relation key: a quoted name sorts before the bare ones.
    assert_eq!(
        sigs("order.lines"),
        ["answer()", "tag_count(text[], integer)"]
    );
    assert_eq!(
        items.functions["top_items(integer)"].arguments.as_deref(),
        Some("p_limit integer DEFAULT 10")
    );

    // The text reads as written by hand.
    let items_yaml = text("items");
    for line in [
        "# items: generated by `reims-verify spec snapshot` from the test cluster (schema public)",
        "table: items\n",
        "  item_id:       { type: bigserial, nullable: false }\n",
        "  code:          { type: char(4), nullable: false, default: \"'AB12'\" }\n",
        "  score:         { type: \"numeric(6,2)\", default: \"0.00\" }\n",
        "primary_key: { columns: [item_id] }\n",
        "    references: { table: parents, columns: [id, region] }\n",
        "    on_delete: set_null\n    on_update: cascade\n    deferrable: true\n    match: full\n",
        "    rule: { range: { column: score, gt: 0, lt: 100.5 } }\n",
        "    rule: { not_future: { column: created, buffer: 5 minutes } }\n",
        "{ keys: [doc jsonb_path_ops], method: gin }\n",
        "    events: [insert, delete, truncate]\n    level: statement\n",
        "    returns: TABLE(item_id bigint, score numeric)\n",
    ] {
        assert!(
            items_yaml.contains(line),
            "missing {line:?} in\n{items_yaml}"
        );
    }
    assert!(!items_yaml.contains("on_update: no_action") && !items_yaml.contains("unique: false"));
    assert!(
        items_yaml.contains("`check` reports security.definer_public_execute"),
        "{items_yaml}"
    );
    assert!(text("item_counts").contains("kind: materialized_view\n"));
    assert!(text("parents").contains("    kind: procedure\n"));

    // Deferrable keys are written as such.
    assert!(
        text("items").contains(
            "items_code_key: { columns: [code], deferrable: true, initially_deferred: true }"
        ),
        "{}",
        text("items")
    );
    // A view's options are written, and compared.
    assert!(
        text("item_titles")
            .contains("options: { security_barrier: true, check_option: cascaded }\n"),
        "{}",
        text("item_titles")
    );
    // A sequence owned by a column of a table whose name holds a dot: written with the
    // name quoted, compiled and compared (no spelling of it passed before).
    let doc = text("_schema.public");
    assert!(
        doc.contains(r#"line_numbers: { owned_by: '"order.lines".n' }"#),
        "{doc}"
    );
    // An UNLOGGED sequence is written so (its round trip passed above), and one made
    // logged again fails against it.
    assert!(
        doc.lines()
            .any(|l| l.trim_start().starts_with("tickets:") && l.contains("{ unlogged: true,")),
        "{doc}"
    );
    // A type's privileges are written when they are not PostgreSQL's default (PUBLIC may
    // use it), and a grant made since fails against them.
    assert!(
        doc.lines()
            .any(|l| l.trim_start().starts_with("tier:") && l.contains("public: []")),
        "{doc}"
    );
    sqlx::raw_sql(
        r#"ALTER SEQUENCE tickets SET LOGGED;
           GRANT USAGE ON TYPE tier TO PUBLIC;
           ALTER SEQUENCE line_numbers OWNED BY "order.lines".id;
           ALTER VIEW item_titles SET (security_invoker = true);
           ALTER TABLE "order.lines" DROP CONSTRAINT "order.lines_pkey",
             ADD CONSTRAINT "order.lines_pkey" PRIMARY KEY (id);
           ALTER TABLE items DROP CONSTRAINT items_parent_fkey,
             ADD CONSTRAINT items_parent_fkey FOREIGN KEY (parent_id, parent_region)
             REFERENCES parents (id, region) ON UPDATE CASCADE ON DELETE SET NULL DEFERRABLE;
           ALTER TABLE items ALTER COLUMN doc SET STORAGE EXTENDED,
             ALTER COLUMN tags SET COMPRESSION default;
           ALTER TABLE parents ALTER COLUMN name SET STORAGE MAIN;
           ALTER TABLE parents REPLICA IDENTITY DEFAULT;
           ALTER TABLE item_codes REPLICA IDENTITY DEFAULT;
           ALTER TABLE items REPLICA IDENTITY FULL;
           ALTER TABLE items ALTER COLUMN title SET STATISTICS -1,
             ALTER COLUMN parent_region RESET (n_distinct), ALTER COLUMN doc SET STATISTICS 5;
           ALTER TABLE parents SET WITHOUT CLUSTER;
           ALTER TABLE items CLUSTER ON idx_items_created;
           ALTER INDEX idx_items_expr ALTER COLUMN 2 SET STATISTICS -1;
           ALTER INDEX idx_items_lower_title ALTER COLUMN 1 SET STATISTICS 40"#,
    )
    .execute(&mut connect(&db).await)
    .await
    .unwrap();
    let failed = round_trip_failures(&specs, &schema_of(&db).await).await;
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("sequence.owned_by line_numbers")),
        "{failed:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("view.options item_titles")),
        "{failed:#?}"
    );
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("sequence.options tickets")),
        "{failed:#?}"
    );
    assert!(
        failed.iter().any(|f| f.starts_with("privilege.extra tier")),
        "{failed:#?}"
    );
    for expected in [
        // A declared storage and compression put back to the defaults, and a storage set
        // where the spec says nothing.
        "column.storage items.doc",
        "column.compression items.tags",
        "column.storage parents.name",
        // A declared replica identity put back to DEFAULT, a table's and a materialized
        // view's, and FULL where the spec says nothing.
        "table.replica_identity parents",
        "table.replica_identity item_codes",
        "table.replica_identity items",
        // A declared statistics target and option put back to the defaults, and a target
        // set where the spec says nothing.
        "column.statistics items.title",
        "column.options items.parent_region",
        "column.statistics items.doc",
        // A declared clustering index unmarked, and one marked where the spec says none.
        "table.cluster_on parents",
        "table.cluster_on items",
        // A declared index statistics target put back to the default, and one set where
        // the spec says nothing.
        "index.statistics items.idx_items_expr",
        "index.statistics items.idx_items_lower_title",
    ] {
        assert!(
            failed.iter().any(|f| f.starts_with(expected)),
            "{expected}: {failed:#?}"
        );
    }
    // A primary key no longer deferrable, where the snapshot wrote that it was.
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with(r#"pk.deferrable "order.lines".order.lines_pkey:"#)),
        "{failed:#?}"
    );
    // MATCH SIMPLE where the spec says FULL: a row with a NULL region is no longer refused.
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("fk.match items.items_parent_fkey")),
        "{failed:#?}"
    );
}

#[tokio::test]
async fn views_are_snapshotted_and_an_empty_schema_is_refused() {
    let db = empty_db("snap_view").await;
    sqlx::raw_sql("CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t;")
        .execute(&mut connect(&db).await)
        .await
        .unwrap();
    let snap = snapshot_schema(&schema_of(&db).await).unwrap();
    assert!(snap.skipped.is_empty());
    assert_eq!(snap.tables.len(), 2);
    let v = &snap
        .tables
        .iter()
        .find(|t| t.spec.table == "v")
        .unwrap()
        .spec;
    assert_eq!(v.kind, reims_verify::spec::RelationKind::View);
    assert_eq!(v.definition.as_deref(), Some("SELECT t.a\n   FROM t"));
    let empty = empty_db("snap_nothing").await;
    sqlx::raw_sql("COMMENT ON SCHEMA public IS NULL")
        .execute(&mut connect(&empty).await)
        .await
        .unwrap();
    let err = snapshot_schema(&schema_of(&empty).await).unwrap_err();
    assert_eq!(err.exit_code().code(), 2);
}

/// A spec reduced to what a catalog can know, spelled as PostgreSQL prints it, so that a
/// hand-written spec and a snapshot can be compared field by field.
fn comparable(spec: &TableSpec, shadow: &Shadow) -> serde_json::Value {
    let rel = &shadow.schema.relations[&spec.table];
    let canon_opt = |s: &Option<String>| s.as_deref().map(canonical);
    let mut s = spec.clone();
    s.migration = None;
    s.description = None;
    s.requirements.clear();
    s.samples.clear();
    s.properties.clear();
    s.functions.clear();
    // The runner, not a migration, comments schema_migrations, and the specs declare only
    // the migrations' comments (a table adopted from another runner has none).
    if s.table == "schema_migrations" {
        s.comment = None;
        s.columns.values_mut().for_each(|c| c.comment = None);
    }
    // A view's query as the shadow printed it, white space aside.
    s.definition = rel.definition.as_deref().map(|d| {
        d.trim()
            .trim_end_matches(';')
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    });
    for (name, c) in s.columns.iter_mut() {
        let printed = rel.column(name).unwrap();
        c.type_ = printed.type_name.clone();
        c.default = canon_opt(&printed.default);
        c.description = None;
        c.sensitive = false;
    }
    for (name, c) in s.checks.iter_mut() {
        let printed = rel.constraint(name).and_then(|k| k.expression.clone());
        let variant = serde_json::to_value(&c.rule).unwrap();
        let variant = variant.as_object().unwrap().keys().next().unwrap().clone();
        c.rule = Rule::Sql(format!("{variant}: {}", canon_opt(&printed).unwrap()));
        c.description = None;
    }
    for (name, i) in s.indexes.iter_mut() {
        let printed = rel.index(name).unwrap();
        let orders: Vec<String> = i
            .keys
            .iter()
            .map(|k| parse_index_key(k).order.to_string())
            .collect();
        i.keys = printed
            .keys
            .iter()
            .zip(orders)
            .map(|(k, o)| format!("{} {o}", canonical(k)))
            .collect();
        i.predicate = canon_opt(&printed.predicate);
        i.description = None;
    }
    for t in s.triggers.values_mut() {
        t.when = canon_opt(&t.when);
        t.description = None;
    }
    serde_json::to_value(&s).unwrap()
}

/// Every function of a spec set: normalised signature → (spec table, spec).
fn functions(specs: &SpecSet, shadow: &Shadow) -> BTreeMap<String, (String, FunctionSpec)> {
    let mut out = BTreeMap::new();
    for sf in &shadow.functions {
        let loaded = specs
            .specs
            .iter()
            .find(|l| l.spec.functions.contains_key(&sf.spec_key))
            .unwrap();
        let mut f = loaded.spec.functions[&sf.spec_key].clone();
        f.description = None;
        f.acknowledge.clear();
        f.returns = sf.returns.clone();
        f.arguments = f.arguments.as_deref().map(canonical);
        out.insert(
            format!("{}({})", sf.name, sf.arg_types.join(", ")),
            (loaded.spec.table.clone(), f),
        );
    }
    out
}

#[tokio::test]
async fn the_reims_snapshot_matches_the_hand_written_specs() {
    let db = migrated_db("snap_vs_hand").await;
    let actual = schema_of(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let snap = write_and_load(&snapshot_schema(&actual).unwrap(), dir.path());
    let hand = load_dir(&specs_dir()).unwrap();
    let (snap_shadow, hand_shadow) = (shadow_of(&snap).await, shadow_of(&hand).await);

    // Both pass on the same database.
    assert!(failures(&verify(&snap, &actual, &snap_shadow)).is_empty());
    assert!(failures(&verify(&hand, &actual, &hand_shadow)).is_empty());

    // The same relations, and in each the same columns (in order), types, nullability,
    // defaults, collations, keys, constraint names, rule kinds and expressions, indexes,
    // triggers: everything but what only people know.
    let tables = |s: &SpecSet| {
        s.specs
            .iter()
            .map(|l| l.spec.table.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(tables(&snap), tables(&hand));
    for loaded in &hand.specs {
        let h = &loaded.spec;
        let s = &snap.table(&h.table).unwrap().spec;
        assert!(
            s.description.is_none()
                && s.requirements.is_empty()
                && s.samples.is_empty()
                && s.properties.is_empty()
        );
        assert!(s.migration.is_none());
        assert_eq!(
            s.columns.keys().collect::<Vec<_>>(),
            h.columns.keys().collect::<Vec<_>>(),
            "{}",
            h.table
        );
        assert_eq!(
            comparable(s, &snap_shadow),
            comparable(h, &hand_shadow),
            "{} differs",
            h.table
        );
        // Structured rules come back as the hand-written ones (values, not only kinds).
        for (name, c) in &h.checks {
            let mine = &s.checks[name].rule;
            let same = match (&c.rule, mine) {
                (Rule::Range(a), Rule::Range(b)) => {
                    let lower =
                        |r: &Option<String>| r.as_deref().map(|x| canonical(&x.to_lowercase()));
                    (a.column == b.column
                        && a.gt == b.gt
                        && a.gte == b.gte
                        && a.lt == b.lt
                        && a.lte == b.lte)
                        && lower(&a.lte_sql) == lower(&b.lte_sql)
                }
                (Rule::Implies(a), Rule::Implies(b)) => {
                    canonical(&a.when) == canonical(&b.when)
                        && canonical(&a.then) == canonical(&b.then)
                }
                (a, b) => a == b,
            };
            assert!(
                same,
                "{}.{name}: hand-written {:?}, snapshot {mine:?}",
                h.table, c.rule
            );
        }
    }

    // Functions: the same set, the same properties. Differences: the snapshot states every
    // argument list with names (hand-written specs only some), and it lists a trigger
    // function shared by several tables with the first of them by name.
    let (fs, fh) = (
        functions(&snap, &snap_shadow),
        functions(&hand, &hand_shadow),
    );
    assert_eq!(fs.keys().collect::<Vec<_>>(), fh.keys().collect::<Vec<_>>());
    let mut placement = Vec::new();
    let mut arguments_only_in_snapshot = Vec::new();
    for (sig, (ht, hf)) in &fh {
        let (st, sf) = &fs[sig];
        if st != ht {
            placement.push(format!("{sig}: {st} (snapshot), {ht} (hand-written)"));
        }
        let mut sf = sf.clone();
        if hf.arguments.is_none() && sf.arguments.is_some() {
            arguments_only_in_snapshot.push(sig.clone());
            sf.arguments = None;
        }
        assert_eq!(&sf, hf, "{sig}");
    }
    assert_eq!(
        placement,
        ["update_updated_at_column(): alerts (snapshot), properties (hand-written)"]
    );
    assert_eq!(
        arguments_only_in_snapshot,
        [
            "get_user_active_sessions(uuid)",
            "get_user_permissions(uuid)",
            "is_account_locked(uuid)",
            "record_failed_login(text)",
            "record_successful_login(uuid, inet)",
            "revoke_all_user_sessions(uuid, text)",
            "revoke_session(text, text)",
            "validate_session(text)",
        ]
    );
}

#[test]
fn the_cli_writes_specs_that_check_accepts_and_refuses_to_mix() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(migrated_db("snap_cli"));
    // A password in the URL (the test cluster trusts local connections) never reaches a file.
    let with_password = url(&db).replace("postgres@", "postgres:s3cr3t@");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("specs");
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(["spec", "snapshot", "--out"])
            .arg(&out)
            .args(["--database-url", &with_password])
            .args(args)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("wrote 16 spec file(s)"), "{stdout}");
    for entry in std::fs::read_dir(&out).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains("s3cr3t") && text.contains("postgres:***@"),
            "{text}"
        );
    }
    assert!(!stdout.contains("s3cr3t"));
    assert!(!String::from_utf8_lossy(&first.stderr).contains("s3cr3t"));

    let check = std::process::Command::new(bin())
        .args([
            "check",
            "--no-probe",
            "--no-report",
            "--database-url",
            &url(&db),
            "--specs",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Into a folder that holds specs: exit 2 with a hint, nothing changed.
    let before = std::fs::read_to_string(out.join("users.yaml")).unwrap();
    std::fs::write(out.join("users.yaml"), "# mine\n").unwrap();
    let again = run(&[]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already holds spec files") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("users.yaml")).unwrap(),
        "# mine\n"
    );

    // With --force it overwrites.
    let forced = run(&["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let after = std::fs::read_to_string(out.join("users.yaml")).unwrap();
    let body = |t: &str| t.lines().skip(3).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&after), body(&before));
}

#[test]
fn a_non_empty_out_folder_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.yml"), "table: x\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["spec", "snapshot", "--out"])
        .arg(dir.path())
        .args(["--database-url", "postgres://nobody@192.0.2.1:1/none"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("old.yml"));
}

#[test]
fn rendered_files_load_without_a_database() {
    // The renderer's output is valid spec YAML for an empty-ish schema too.
    let mut schema = Schema::default();
    schema.relations.insert(
        "t".into(),
        reims_verify::catalog::Relation {
            schema: "public".into(),
            name: "t".into(),
            kind: 'r',
            columns: vec![reims_verify::catalog::Column {
                name: "yes".into(),
                type_name: "text".into(),
                nullable: false,
                default: Some("'a: b'::text".into()),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    let snap = snapshot_schema(&schema).unwrap();
    let files = render_files(&snap, &header());
    let set = load_files(Path::new("x"), &files).unwrap();
    assert_eq!(
        set.specs[0].spec.columns["yes"].default.as_deref(),
        Some("'a: b'")
    );
}

#[tokio::test]
async fn what_the_format_cannot_state_is_noted_and_reported() {
    let db = empty_db("snap_cannot").await;
    sqlx::raw_sql(
        "CREATE TABLE booking (id int PRIMARY KEY, during tsrange, EXCLUDE USING gist (during WITH &&));
         CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER booking_noop BEFORE INSERT ON booking FOR EACH ROW EXECUTE FUNCTION noop();
         ALTER TABLE booking DISABLE TRIGGER booking_noop;",
    )
    .execute(&mut connect(&db).await)
    .await
    .unwrap();
    let actual = schema_of(&db).await;
    let mut snap = snapshot_schema(&actual).unwrap();
    let text = &render_files(&snap, &header())[0].1;
    assert!(
        text.contains("allow_extra: { constraints: true }\n"),
        "{text}"
    );
    assert!(
        text.contains("# booking_during_excl: the spec format cannot state EXCLUDE"),
        "{text}"
    );
    assert!(text.contains("  # Disabled in the database"), "{text}");
    let shadow_db = empty_db("snap_cannot_shadow").await;
    let report = round_trip(
        &mut connect(&shadow_db).await,
        &actual,
        &mut snap,
        &header(),
    )
    .await
    .unwrap();
    let codes: Vec<&str> = report.failures.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["trigger.enabled"]);

    // A column typed by an enum: the type goes to the schema document, and the snapshot
    // compiles and passes (it used to stop at "type does not exist").
    let db = empty_db("snap_enum").await;
    sqlx::raw_sql("CREATE TYPE mood AS ENUM ('ok', 'meh'); CREATE TABLE m (x mood);")
        .execute(&mut connect(&db).await)
        .await
        .unwrap();
    let actual = schema_of(&db).await;
    let mut snap = snapshot_schema(&actual).unwrap();
    let shadow_db = empty_db("snap_enum_shadow").await;
    let report = round_trip(
        &mut connect(&shadow_db).await,
        &actual,
        &mut snap,
        &header(),
    )
    .await
    .unwrap();
    assert!(
        report.failures.is_empty(),
        "{:?}",
        failures(&report.failures)
    );
    assert_eq!(
        snap.schemas[0].spec.types["mood"].enum_labels.as_deref(),
        Some(&["ok".to_string(), "meh".to_string()][..])
    );
}

/// Grants (table, column, function, with grant options), owners, row-level security and
/// permissive and restrictive policies round-trip through a snapshot, and `--role`
/// bindings are written back as role variables. The one finding left is the built-in
/// security check of a SECURITY DEFINER function that PUBLIC may execute, which only a
/// person may acknowledge.
#[tokio::test]
async fn grants_policies_and_role_variables_round_trip() {
    use reims_verify::snapshot::{access::RoleNames, snapshot_schema_with};
    use reims_verify::verify::{verify_with, AccessOptions};
    let db = empty_db("snap_access").await;
    apply_migrations(&db, &fixture("access/migrations")).await;
    let mut conn = connect(&db).await;
    // The schema's own grants and the standalone sequence belong in a schema document,
    // which this snapshot does not write: take them out of this database.
    sqlx::raw_sql(
        "DROP SEQUENCE vault_ticket_seq;
         REVOKE USAGE ON SCHEMA public FROM vault_app;
         GRANT SELECT ON schema_migrations TO vault_reader;
         ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
         CREATE POLICY accounts_own ON accounts FOR UPDATE TO vault_app
             USING (owner_name = CURRENT_USER) WITH CHECK (balance >= 0 AND owner_name = CURRENT_USER);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let actual = schema_of(&db).await;
    let bindings = AccessOptions::parse(&["reader=vault_reader".to_string()]).unwrap();
    let snap = snapshot_schema_with(&actual, &RoleNames::new(&bindings.roles, &actual)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let shadow = shadow_of(&specs).await;
    let findings = verify_with(&specs, &actual, &shadow, &bindings);
    let failed = failures(&findings);
    assert_eq!(
        failed
            .iter()
            .map(|f| f.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        ["security.definer_public_execute vault_ping()"],
        "{failed:#?}"
    );
    let passed = |code: &str| {
        findings
            .iter()
            .filter(|f| f.code == code && !f.failed())
            .count()
    };
    assert!(passed("policy.with_check") >= 4, "policies were checked");
    assert!(passed("privilege.grant_option") >= 5);
    let text = |t: &str| std::fs::read_to_string(dir.path().join(format!("{t}.yaml"))).unwrap();
    let entries = text("entries");
    for line in [
        "  owner:     $migrator\n",
        "  roles:     { vault_app: [insert with grant option, select with grant option], $reader: [select] }\n",
        "  sequences: { entries_id_seq: { roles: { vault_app: [usage] } } }\n",
        "row_security: { enabled: true }\n",
        "  entries_cap:\n    restrictive: true\n    using: amount < 1000000\n",
        "    roles: [vault_app, $reader]\n",
    ] {
        assert!(entries.contains(line), "missing {line:?} in\n{entries}");
    }
    let accounts = text("accounts");
    for line in [
        "row_security: { enabled: true, forced: true }\n",
        "    balance: { roles: { vault_app: [update], $reader: [select] } }\n",
        "    privileges: { public: [], roles: { $reader: [execute] } }\n",
        "    with_check: balance >= 0 AND owner_name = CURRENT_USER\n",
    ] {
        assert!(accounts.contains(line), "missing {line:?} in\n{accounts}");
    }
    assert!(text("schema_migrations").contains("roles: { $reader: [select] }"));
}

/// `verify` compares the relation specs a block of 256 at a time, each block on every
/// core. On 600 tables (three blocks, each split between threads) with drift in relations
/// that fall to different blocks and threads, the findings are exactly those of comparing
/// each relation alone, one after the other, in spec order.
#[tokio::test]
async fn relations_compared_side_by_side_give_the_findings_of_one_at_a_time() {
    let db = empty_db("verify_blocks").await;
    let mut conn = connect(&db).await;
    let mut ddl = String::new();
    for i in 0..600 {
        ddl.push_str(&format!(
            "CREATE TABLE t{i:03} (id int PRIMARY KEY, a text NOT NULL, b numeric CHECK (b > 0));
             CREATE INDEX t{i:03}_a ON t{i:03} (a);"
        ));
    }
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    let snap = snapshot_schema(&read_schema(&mut conn, "public").await.unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    assert_eq!(specs.specs.len(), 600);
    let shadow = shadow_of(&specs).await;
    // Drift in the first thread's and the second thread's half of block 0, in block 1 and
    // in the last relation of block 2.
    sqlx::raw_sql(
        "ALTER TABLE t007 ALTER COLUMN a DROP NOT NULL;
         ALTER TABLE t200 ALTER COLUMN b TYPE integer;
         DROP INDEX t300_a;
         ALTER TABLE t599 DROP CONSTRAINT t599_b_check;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let actual = read_schema(&mut conn, "public").await.unwrap();

    let together = verify(&specs, &actual, &shadow);
    let mut one_at_a_time = Vec::new();
    for spec in &specs.specs {
        let alone = SpecSet::of_relations(vec![spec.clone()]);
        let table = relation_key(&spec.spec.schema, &spec.spec.table);
        // A set of one spec reports the other 599 tables as extra after the relation's
        // own findings: keep those, the leading run about this relation.
        one_at_a_time.extend(
            verify(&alone, &actual, &shadow)
                .into_iter()
                .take_while(|f| f.table.as_str() == table),
        );
    }
    assert!(together.len() > one_at_a_time.len());
    // The first difference only: the whole lists are hundreds of thousands of lines.
    if let Some(i) = (0..one_at_a_time.len()).find(|&i| together[i] != one_at_a_time[i]) {
        panic!(
            "finding {i} differs from comparing the relations one at a time:\n{:?}\nagainst\n{:?}",
            together[i], one_at_a_time[i]
        );
    }
    let mut failed: Vec<&str> = together
        .iter()
        .filter(|f| f.failed())
        .map(|f| f.table.as_str())
        .collect();
    failed.dedup();
    assert_eq!(failed, ["t007", "t200", "t300", "t599"]);
}

/// A CHECK on an enum column and a range on a domain column are written as rules the probes
/// try, not as `sql:` text they skip: `check` of the snapshot (with a sample row added)
/// passes with each rule's cases counted, and a CHECK that lets one more label in, or a bound moved by a cent, fails.
#[test]
fn enum_and_domain_checks_are_snapshotted_as_rules_the_probes_try() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("001_t.sql"),
        "CREATE TYPE mood AS ENUM ('ok', 'sad', 'meh');\n\
         CREATE DOMAIN money_base AS numeric(12,2);\n\
         CREATE DOMAIN amount AS money_base;\n\
         CREATE TABLE t (id bigint PRIMARY KEY,\n\
           m mood NOT NULL CHECK (m IN ('ok', 'meh')),\n\
           a amount CHECK (a > 0 AND a < 100));\n",
    )
    .unwrap();
    let specs = dir.path().join("specs");
    let cli = |args: &[&str]| {
        std::process::Command::new(bin())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    snapshot_in(dir.path(), &[]);
    let text = std::fs::read_to_string(specs.join("t.yaml")).unwrap();
    assert!(
        text.contains("rule: { one_of: { column: m, values: [ok, meh] } }")
            && text.contains("rule: { range: { column: a, gt: 0, lt: 100 } }"),
        "{text}"
    );
    // The probes vary a sample row, which only people can give.
    std::fs::write(
        specs.join("t.yaml"),
        format!("{text}\nsamples:\n  - {{ id: 1, m: ok, a: 12.5 }}\n"),
    )
    .unwrap();

    let check = |extra: &[&str]| {
        let out = cli(&[
            &["check", "--no-report", "--format", "json", "--seed", "7"],
            extra,
        ]
        .concat());
        let findings: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), findings)
    };
    let probe = |findings: &serde_json::Value, object: &str| {
        findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "probe.check" && f["object"] == object)
            .unwrap_or_else(|| panic!("no probe.check {object}"))
            .clone()
    };
    let (code, findings) = check(&[]);
    assert_eq!(code, Some(0), "{findings:#}");
    for object in ["t.t_m_check", "t.t_a_check"] {
        let f = probe(&findings, object);
        assert_eq!(f["status"], "pass", "{f:#}");
        assert!(
            f["message"].as_str().unwrap().contains("rejected by"),
            "{f:#}"
        );
    }

    std::fs::write(
        dir.path().join("drift.sql"),
        "ALTER TABLE t DROP CONSTRAINT t_m_check,\n\
           ADD CONSTRAINT t_m_check CHECK (m IN ('ok', 'meh', 'sad'));\n\
         ALTER TABLE t DROP CONSTRAINT t_a_check,\n\
           ADD CONSTRAINT t_a_check CHECK (a > 0.01 AND a < 100);\n",
    )
    .unwrap();
    let (code, findings) = check(&["--apply-after", "drift.sql"]);
    assert_eq!(code, Some(1), "{findings:#}");
    for object in ["t.t_m_check", "t.t_a_check"] {
        assert_eq!(probe(&findings, object)["status"], "fail", "{object}");
    }
}

/// A role whose sessions start in replica mode is not declared by `spec snapshot` (the
/// reason is for people to give): the schema document is written with a comment that says
/// so, even where it would say nothing else, and `check` of the snapshot fails on it until
/// a declaration with a reason is added.
#[test]
fn sessions_in_replica_mode_are_left_to_people_with_a_comment() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replica_sessions/migrations");
    let migrations = fixture.to_str().unwrap();
    snapshot_in(dir.path(), &["--migrations", migrations]);
    let doc_path = dir.path().join("specs/_schema.public.yaml");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    assert!(
        doc.contains("# Sessions of rv_loader start in replica mode")
            && !doc.contains("replica_sessions:\n"),
        "{doc}"
    );
    let check = |extra: &str| {
        std::fs::write(&doc_path, format!("{doc}{extra}")).unwrap();
        failing_in(dir.path(), &["--migrations", migrations])
    };
    assert_eq!(
        check(""),
        (
            Some(1),
            vec!["role.replica_sessions role rv_loader".to_string()]
        )
    );
    assert_eq!(
        check("replica_sessions:\n  rv_loader: the nightly load\n"),
        (Some(0), vec![])
    );
}

/// Quoted type names keep their case: a function that returned `"Level"` and now returns
/// `"LEVEL"` (another enum) fails `function.returns`; it passed while the return types were
/// compared ignoring case. The snapshot of the first round-trips.
#[test]
fn a_return_type_differing_only_in_case_is_another_type() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("001_levels.sql"),
        "CREATE TYPE \"Level\" AS ENUM ('low', 'high');\n\
         CREATE TYPE \"LEVEL\" AS ENUM ('high', 'low');\n\
         CREATE FUNCTION lvl() RETURNS \"Level\" LANGUAGE sql IMMUTABLE AS $$SELECT 'low'::\"Level\"$$;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("drift.sql"),
        "DROP FUNCTION lvl();\n\
         CREATE FUNCTION lvl() RETURNS \"LEVEL\" LANGUAGE sql IMMUTABLE AS $$SELECT 'low'::\"LEVEL\"$$;\n",
    )
    .unwrap();
    snapshot_in(dir.path(), &[]);
    assert_eq!(failing_in(dir.path(), &[]), (Some(0), vec![]));
    assert_eq!(
        failing_in(dir.path(), &["--apply-after", "drift.sql"]),
        (Some(1), vec!["function.returns lvl()".to_string()])
    );
}

/// `spec snapshot --out specs` run in `dir` (a project folder) with `extra` arguments;
/// panics with its stderr when it fails.
fn snapshot_in(dir: &Path, extra: &[&str]) {
    let mut args = vec!["spec", "snapshot", "--out", "specs", "-q"];
    args.extend_from_slice(extra);
    let out = std::process::Command::new(bin())
        .current_dir(dir)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `check --no-probe` of the project in `dir` with `extra` arguments: its exit code and
/// each failing finding as `code object`.
fn failing_in(dir: &Path, extra: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut args = vec!["check", "--no-probe", "--no-report", "--format", "json"];
    args.extend_from_slice(extra);
    let out = std::process::Command::new(bin())
        .current_dir(dir)
        .args(&args)
        .output()
        .unwrap();
    let run: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), failed_findings(&run))
}

/// A database whose own grants are not PostgreSQL's default, or that holds an object of no
/// schema (a publication), gets a database document that states the grants and accepts
/// such objects, naming them; it round-trips: the snapshot passes on the database it was
/// taken from. With the default and no such object, no document is written.
#[tokio::test]
async fn the_databases_grants_round_trip_through_a_database_document() {
    let plain = migrated_db("snap_db_plain").await;
    let snap = snapshot_schema(&schema_of(&plain).await).unwrap();
    assert_eq!(
        snap.database, None,
        "PostgreSQL's default needs no document"
    );

    let db = migrated_db("snap_db").await;
    sqlx::raw_sql(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'snap_db_reader') THEN
             CREATE ROLE snap_db_reader;
           END IF;
           EXECUTE format('REVOKE TEMPORARY ON DATABASE %1$I FROM PUBLIC; \
                           GRANT CONNECT ON DATABASE %1$I TO snap_db_reader WITH GRANT OPTION',
                          current_database());
         END $$;
         CREATE PUBLICATION snap_pub FOR ALL TABLES",
    )
    .execute(&mut connect(&db).await)
    .await
    .expect("the grants apply");
    let actual = schema_of(&db).await;
    let snap = snapshot_schema(&actual).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    let text = std::fs::read_to_string(dir.path().join("_database.yaml")).unwrap();
    assert!(
        text.contains("public: [connect]")
            && text.contains("snap_db_reader: [connect with grant option]")
            && text.contains("allow_extra: true")
            && text.contains("publication snap_pub (FOR ALL TABLES"),
        "{text}"
    );
    assert!(specs.database.is_some());
    let failed = round_trip_failures(&specs, &actual).await;
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // Without the document the same database fails: the document is what passes it.
    let mut without = specs.clone();
    without.database = None;
    let shadow = shadow_of(&without).await;
    let failed = failures(&verify(&without, &actual, &shadow));
    for expected in [
        "privilege.extra database",
        "database.objects publication snap_pub",
    ] {
        assert!(
            failed.iter().any(|f| f.starts_with(expected)),
            "{expected}: {failed:?}"
        );
    }
}

/// The catalog of `public` in a new database (named after `name`) where `ddl` ran, its
/// snapshot written to files and loaded back as `check` would load them, and the folder
/// that holds the files.
async fn snapshot_after(name: &str, ddl: &str) -> (Schema, SpecSet, tempfile::TempDir) {
    let db = empty_db(name).await;
    sqlx::raw_sql(ddl)
        .execute(&mut connect(&db).await)
        .await
        .expect("DDL applies");
    let actual = schema_of(&db).await;
    let snap = snapshot_schema(&actual).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let specs = write_and_load(&snap, dir.path());
    (actual, specs, dir)
}

/// A table that inherits from another (not as a partition) is written with `inherits`,
/// and the snapshot round-trips; without the key, the same database fails.
#[tokio::test]
async fn table_inheritance_round_trips() {
    let (actual, mut specs, dir) = snapshot_after(
        "snap_inherits",
        "CREATE TABLE parent (id integer, note text);
         CREATE TABLE child (extra integer) INHERITS (parent);",
    )
    .await;
    let text = std::fs::read_to_string(dir.path().join("child.yaml")).unwrap();
    assert!(text.contains("inherits: [parent]"), "{text}");
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    for s in &mut specs.specs {
        s.spec.inherits.clear();
    }
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(
        failed.iter().any(|f| f.starts_with("table.inherits child")),
        "{failed:?}"
    );
}

/// A partition whose replica identity is the index its parent's index made on it is
/// written so, and the snapshot compiles and round-trips. Before, the shadow marked the
/// identity before the parent's index had made the partition's, and refused the spec
/// `spec snapshot` itself wrote as "index does not exist".
#[tokio::test]
async fn a_partitions_replica_identity_on_its_parents_index_round_trips() {
    let (actual, mut specs, dir) = snapshot_after(
        "snap_partition_identity",
        "CREATE TABLE p (id int NOT NULL, k int NOT NULL) PARTITION BY RANGE (id);
         CREATE UNIQUE INDEX p_id_k ON p (id, k);
         CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);
         ALTER TABLE p1 REPLICA IDENTITY USING INDEX p1_id_k_idx;",
    )
    .await;
    let text = std::fs::read_to_string(dir.path().join("p1.yaml")).unwrap();
    assert!(
        text.contains("replica_identity: { index: p1_id_k_idx }"),
        "{text}"
    );
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    for s in &mut specs.specs {
        s.spec.replica_identity = None;
    }
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("table.replica_identity p1")),
        "{failed:?}"
    );
}

/// An aggregate's options beyond its state (a moving-aggregate implementation, a combine
/// function) are written as `aggregate_options` and round-trip; without them the same
/// database fails `function.aggregate`.
#[tokio::test]
async fn an_aggregates_options_round_trip() {
    let (actual, specs, dir) = snapshot_after(
        "snap_aggregate_options",
        "CREATE FUNCTION add_up(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE
           AS 'SELECT $1 + $2';
         CREATE AGGREGATE total(integer) (SFUNC = add_up, STYPE = integer, INITCOND = '0',
           MSFUNC = int4pl, MINVFUNC = int4mi, MSTYPE = integer, MINITCOND = '0',
           COMBINEFUNC = int4pl);",
    )
    .await;
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("aggregate_options")
        })
        .expect("a file writes the aggregate's options");
    let text = std::fs::read_to_string(&file).unwrap();
    for option in ["msfunc: int4pl", "minvfunc: int4mi", "combinefunc: int4pl"] {
        assert!(text.contains(option), "{option} in\n{text}");
    }
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // The same aggregate described without them.
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("aggregate_options"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept, text, "the options are on a line of their own");
    std::fs::write(&file, kept).unwrap();
    let bare = load_dir(dir.path()).expect("the edited snapshot loads");
    let failed = failures(&verify(&bare, &actual, &shadow));
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("function.aggregate total(integer)")),
        "{failed:?}"
    );
}

/// Storage parameters, a TOAST table's among them, are written as `parameters` and
/// round-trip; without them the same database fails.
#[tokio::test]
async fn storage_parameters_round_trip() {
    let (actual, mut specs, dir) = snapshot_after(
        "snap_parameters",
        "CREATE TABLE t (a integer, b text)
           WITH (fillfactor = 70, autovacuum_enabled = off, toast.autovacuum_enabled = false);",
    )
    .await;
    let text = std::fs::read_to_string(dir.path().join("t.yaml")).unwrap();
    assert!(
        text.contains(
            "parameters: { autovacuum_enabled: false, fillfactor: 70, toast.autovacuum_enabled: false }"
        ),
        "{text}"
    );
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    for s in &mut specs.specs {
        s.spec.parameters.clear();
    }
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(
        failed.iter().any(|f| f.starts_with("table.parameters t")),
        "{failed:?}"
    );
}

/// A column dropped and added again (written in the order of `attnum`), a materialized view
/// left unpopulated, the INCLUDE columns and storage parameters of the indexes behind a
/// primary key and a UNIQUE constraint, an index's storage parameters, a CHECK made NO
/// INHERIT and `ON DELETE SET NULL (b)` are written by `spec snapshot` and round-trip;
/// with each put back to the default in the specs, the same database fails its code.
#[tokio::test]
async fn relation_and_key_details_round_trip() {
    let (actual, mut specs, dir) = snapshot_after(
        "snap_details",
        "CREATE TABLE parent (a integer, b integer, PRIMARY KEY (a, b));
         CREATE TABLE child (id integer, c text, a integer, b integer, note text, tags jsonb,
             CONSTRAINT child_pkey PRIMARY KEY (id) INCLUDE (a) WITH (fillfactor = 60),
             CONSTRAINT child_id_check CHECK (id > 0) NO INHERIT,
             CONSTRAINT child_note_key UNIQUE (note) INCLUDE (b) WITH (deduplicate_items = off),
             CONSTRAINT child_parent_fkey FOREIGN KEY (a, b) REFERENCES parent (a, b)
                 ON DELETE SET NULL (b));
         ALTER TABLE child DROP COLUMN c;
         ALTER TABLE child ADD COLUMN c text;
         CREATE INDEX child_tags ON child USING gin (tags) WITH (fastupdate = off);
         CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM child WITH NO DATA;",
    )
    .await;
    let text = std::fs::read_to_string(dir.path().join("child.yaml")).unwrap();
    for written in [
        "on_delete_columns: [b]",
        "no_inherit: true",
        "include: [a]",
        "include: [b]",
        "parameters: { deduplicate_items: false }",
        "parameters: { fastupdate: false }",
        "parameters: { fillfactor: 60 }",
    ] {
        assert!(text.contains(written), "{written}: {text}");
    }
    let order: Vec<&str> = specs
        .specs
        .iter()
        .find(|s| s.spec.table == "child")
        .unwrap()
        .spec
        .columns
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(order, ["id", "a", "b", "note", "tags", "c"]);
    let counts = std::fs::read_to_string(dir.path().join("counts.yaml")).unwrap();
    assert!(counts.contains("populated: false"), "{counts}");
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    for s in &mut specs.specs {
        let spec = &mut s.spec;
        spec.populated = true;
        if let Some(pk) = &mut spec.primary_key {
            pk.include.clear();
            pk.parameters.clear();
        }
        for u in spec.unique.values_mut() {
            u.include.clear();
            u.parameters.clear();
        }
        for i in spec.indexes.values_mut() {
            i.parameters.clear();
        }
        for c in spec.checks.values_mut() {
            c.no_inherit = false;
        }
        for f in spec.foreign_keys.values_mut() {
            f.on_delete_columns.clear();
        }
        if spec.table == "child" {
            spec.columns.move_index(5, 1);
        }
    }
    let shadow = shadow_of(&specs).await;
    let mut failed: Vec<String> = failures(&verify(&specs, &actual, &shadow))
        .into_iter()
        .map(|f| f.split(':').next().unwrap().to_string())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "check.no_inherit child.child_id_check",
            "column.order child",
            "fk.on_delete_columns child.child_parent_fkey",
            "index.parameters child.child_note_key",
            "index.parameters child.child_pkey",
            "index.parameters child.child_tags",
            "pk.include child.child_pkey",
            "table.populated counts",
            "unique.include child.child_note_key",
        ]
    );
}

/// A schema the snapshot did not read is accepted unread by name in the database document
/// (`extra_schemas:`, with a comment saying what it holds), so the snapshot passes on the
/// database it was taken from; without the document the schema fails `schema.extra`.
#[tokio::test]
async fn a_schema_not_snapshotted_round_trips_as_accepted_unread() {
    let (actual, specs, dir) = snapshot_after(
        "snap_unread_schema",
        "CREATE TABLE t (id integer PRIMARY KEY);
         CREATE SCHEMA side;
         CREATE TABLE side.x (id integer);",
    )
    .await;
    let text = std::fs::read_to_string(dir.path().join("_database.yaml")).unwrap();
    assert!(text.contains("extra_schemas: [side]"), "{text}");
    assert!(text.contains("schema side (owner "), "{text}");
    let shadow = shadow_of(&specs).await;
    let failed = failures(&verify(&specs, &actual, &shadow));
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let mut without = specs.clone();
    without.database = None;
    let failed = failures(&verify(&without, &actual, &shadow));
    assert!(
        failed
            .iter()
            .any(|f| f.starts_with("schema.extra schema side")),
        "{failed:?}"
    );
}
