//! Constraint probes against a real PostgreSQL: the project's CHECKs behave as their rules
//! say, behaviour mutants are caught with the minimal offending value, a seed replays a run
//! exactly, and probes leave nothing behind.

mod common;

use common::*;
use reims_verify::catalog::read_schema;
use reims_verify::probe::{constraint_probes, run_probes, ProbeConfig};
use reims_verify::spec::{load_dir, SpecSet};
use reims_verify::verify::{Finding, Status};
use sqlx::Connection;
use sqlx::Row;
use std::sync::Arc;

async fn probe(db: &str, config: ProbeConfig) -> Vec<Finding> {
    let specs = load_dir(&specs_dir()).unwrap();
    let mut conn = connect(db).await;
    let schema = read_schema(&mut conn, "public").await.unwrap();
    run_probes(&mut conn, &specs, &schema, &config)
        .await
        .unwrap()
}

/// Constraint probes for one table's spec only, rolled back.
async fn probe_table(db: &str, table: &str, config: ProbeConfig) -> Vec<Finding> {
    let all = load_dir(&specs_dir()).unwrap();
    let specs = SpecSet::of_relations(
        all.specs
            .into_iter()
            .filter(|s| s.spec.table == table)
            .collect(),
    );
    let mut conn = connect(db).await;
    let schema = read_schema(&mut conn, "public").await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let findings = constraint_probes(&mut tx, &specs, &schema, &config)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    findings
}

fn check_findings(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.code == "probe.check" || f.code == "probe.sample")
        .collect()
}

#[tokio::test]
async fn the_projects_checks_behave_as_their_rules_say() {
    let db = migrated_db("probe_ok").await;
    let findings = probe(
        &db,
        ProbeConfig {
            cases: 48,
            seed: 42,
        },
    )
    .await;
    let ours = check_findings(&findings);
    let failed: Vec<_> = ours.iter().filter(|f| f.failed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let passed = ours
        .iter()
        .filter(|f| f.code == "probe.check" && f.status == Status::Pass)
        .count();
    assert!(passed >= 80, "only {passed} CHECKs proven");
    // Every sample row the specs call valid is accepted.
    assert!(ours
        .iter()
        .filter(|f| f.code == "probe.sample")
        .all(|f| f.status == Status::Pass));
    // Skips always say why.
    assert!(ours
        .iter()
        .filter(|f| f.status == Status::Skip)
        .all(|f| !f.message.is_empty()));
}

#[tokio::test]
async fn behaviour_mutants_of_checks_are_caught_with_a_minimal_value() {
    let mut files: Vec<_> = std::fs::read_dir(fixture("behaviour_checks"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    let mut missed = Vec::new();
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        let db = migrated_db("probe_mut").await;
        let mut conn = connect(&db).await;
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        for line in sql.lines().filter_map(|l| l.strip_prefix("-- expect: ")) {
            let (code, object) = line.split_once(' ').unwrap();
            let table = object.split('.').next().unwrap();
            let findings = probe_table(&db, table, ProbeConfig { cases: 64, seed: 7 }).await;
            if !findings
                .iter()
                .any(|f| f.failed() && f.code == code && f.object == object)
            {
                missed.push(format!("{}: {line}", file.display()));
            }
        }
    }
    assert!(missed.is_empty(), "not caught: {missed:#?}");
}

#[tokio::test]
async fn a_moved_bound_is_reported_with_the_value_and_the_direction() {
    let db = migrated_db("probe_msg").await;
    let mut conn = connect(&db).await;
    let sql =
        std::fs::read_to_string(fixture("behaviour_checks/02_occupancy_bound_moved.sql")).unwrap();
    sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
    let findings = probe_table(&db, "properties", ProbeConfig { cases: 16, seed: 1 }).await;
    let f = findings
        .iter()
        .find(|f| f.object == "properties.properties_occupancy_rate_check" && f.failed())
        .expect("caught");
    assert!(
        f.message.contains("occupancy_rate = 100.01 accepted"),
        "{}",
        f.message
    );
    assert!(f.message.contains("≤ 100"), "{}", f.message);
}

#[tokio::test]
async fn a_seed_replays_the_same_cases() {
    let db = migrated_db("probe_seed").await;
    let a = probe(
        &db,
        ProbeConfig {
            cases: 16,
            seed: 99,
        },
    )
    .await;
    let b = probe(
        &db,
        ProbeConfig {
            cases: 16,
            seed: 99,
        },
    )
    .await;
    let msgs = |v: &[Finding]| {
        v.iter()
            .filter(|f| f.code == "probe.check")
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(msgs(&a), msgs(&b));
}

#[tokio::test]
async fn probes_leave_nothing_behind() {
    let db = migrated_db("probe_clean").await;
    let mut conn = connect(&db).await;
    let count = "SELECT (SELECT count(*) FROM properties) + (SELECT count(*) FROM users) + (SELECT count(*) FROM user_sessions) + (SELECT count(*) FROM performance_logs) AS n";
    let before: i64 = sqlx::query(count)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get("n");
    let _ = probe(&db, ProbeConfig { cases: 8, seed: 3 }).await;
    let after: i64 = sqlx::query(count)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get("n");
    assert_eq!(before, after);
    let temp_fn: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_proc WHERE proname = 'reims_verify_probe'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(temp_fn, 0);
}

/// Each unit of probe work on a throw-away server starts with every sequence where it stood
/// before the probes, whatever an earlier unit drew: fresh sequences, used ones, descending
/// ones and odd names alike.
#[tokio::test]
async fn a_sequence_reset_puts_every_sequence_back() {
    use reims_verify::probe::sequences::SequenceReset;
    async fn draw_each(conn: &mut sqlx::PgConnection) -> Vec<i64> {
        let mut out = Vec::new();
        for seq in ["rv_fresh", "rv_used", "rv_down", "\"Odd Schema\".\"it's\""] {
            let sql = format!("SELECT nextval('{}')", seq.replace('\'', "''"));
            out.push(
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap(),
            );
        }
        out
    }
    let db = migrated_db("seq_reset").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE SEQUENCE rv_fresh; \
         CREATE SEQUENCE rv_used START 5; SELECT nextval('rv_used'), nextval('rv_used'); \
         CREATE SEQUENCE rv_down INCREMENT -1 START -1 MINVALUE -100 MAXVALUE -1; \
         SELECT nextval('rv_down'); \
         CREATE SCHEMA \"Odd Schema\"; CREATE SEQUENCE \"Odd Schema\".\"it's\" START 40",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let reset = SequenceReset::read(&mut conn).await.unwrap();
    let first = draw_each(&mut conn).await;
    assert_eq!(first, vec![1, 7, -2, 40]);
    for _ in 0..3 {
        draw_each(&mut conn).await;
    }
    reset.apply(&mut conn).await.unwrap();
    assert_eq!(
        draw_each(&mut conn).await,
        first,
        "the reset did not put the sequences back"
    );
}

/// What PostgreSQL says of one plain insert (`Insert::plain`) on its own, in a savepoint
/// that is rolled back: the verdict the batch must give its case.
async fn alone(conn: &mut sqlx::PgConnection, sql: &str) -> (String, Option<String>, Option<bool>) {
    use reims_verify::probe::batch;
    sqlx::raw_sql("SAVEPOINT oracle")
        .execute(&mut *conn)
        .await
        .unwrap();
    let said = match sqlx::query_as::<_, (Option<bool>, bool)>(sql)
        .fetch_one(&mut *conn)
        .await
    {
        Ok((kept, holds)) => {
            let state = if kept == Some(false) {
                batch::OVERRIDDEN
            } else {
                batch::ACCEPTED
            };
            (state.to_string(), None, Some(holds))
        }
        Err(sqlx::Error::Database(e)) => (
            e.code().unwrap().to_string(),
            e.constraint().map(str::to_string),
            None,
        ),
        Err(e) => panic!("{e}"),
    };
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT oracle")
        .execute(&mut *conn)
        .await
        .unwrap();
    said
}

/// Each verdict of the batch is what PostgreSQL says of its case's plain insert alone.
async fn assert_as_alone(
    conn: &mut sqlx::PgConnection,
    insert: &reims_verify::probe::batch::Insert<'_>,
    cases: &[reims_verify::probe::batch::CaseRow],
    verdicts: &[reims_verify::probe::batch::Verdict],
    label: &str,
) {
    for (case, got) in cases.iter().zip(verdicts) {
        let sql = insert.plain(case);
        let (state, constraint, holds) = alone(conn, &sql).await;
        assert_eq!(
            (
                got.state.as_str(),
                got.constraint.as_deref(),
                got.rule_holds
            ),
            (state.as_str(), constraint.as_deref(), holds),
            "{label}: {sql} (together: {})",
            got.together
        );
    }
}

/// The batch runs cases through one prepared statement per shape of row. Each verdict must
/// be the one PostgreSQL gives the plain `INSERT … VALUES` of the same case, run on its own:
/// accepted, rejected by the CHECK, a value rounded or cut by its cast, a value out of its
/// type's range, a varied value a trigger replaced, a NULL, a row whose statement cannot
/// even be prepared (an unknown column) and values that `EXECUTE` refuses but `VALUES`
/// takes (subqueries); the last two fall back to plain inserts. No prepared statement
/// outlives the batch.
#[tokio::test]
async fn prepared_cases_get_the_verdicts_of_their_plain_inserts() {
    use reims_verify::probe::batch::{self, CaseRow, Insert};
    let db = empty_db("probe_prepared").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rv_batch (\
           id int PRIMARY KEY, code varchar(3) NOT NULL, \
           rate numeric(5,2) CONSTRAINT rv_batch_rate_check CHECK (rate >= 0 AND rate <= 1), \
           n int, derived int); \
         CREATE FUNCTION rv_batch_derive() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN NEW.derived := 7; RETURN NEW; END $$; \
         CREATE TRIGGER rv_batch_derive BEFORE INSERT ON rv_batch \
           FOR EACH ROW EXECUTE FUNCTION rv_batch_derive();",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let row = |rate: &str, code: &str, n: &str, extra: Option<(&str, &str)>| {
        let mut values = vec![
            ("\"id\"".into(), "integer".into(), "1".to_string()),
            (
                "\"code\"".into(),
                "character varying(3)".into(),
                code.into(),
            ),
            ("\"rate\"".into(), "numeric(5,2)".into(), rate.into()),
            ("\"n\"".into(), "integer".into(), n.into()),
        ];
        let mut kept = vec![2];
        if let Some((col, expr)) = extra {
            values.push((format!("\"{col}\"").into(), "integer".into(), expr.into()));
            kept.push(4);
        }
        CaseRow {
            values,
            kept,
            group: 0,
        }
    };
    let cases = vec![
        row("0.5", "'ab'", "1", None),
        row("1.5", "'ab'", "1", None),
        row("0.004", "'ab'", "1", None),
        row("'-0.01'", "'ab'", "1", None),
        row("0.5", "'abcd'", "1", None),
        row("0.5", "'ab'", "'99999999999'", None),
        row("0.5", "'ab'", "1", Some(("derived", "3"))),
        row("0.5", "'ab'", "1", Some(("no_such_column", "3"))),
        row("NULL", "NULL", "1", None),
        row("(SELECT 0.5)", "'ab'", "1", None),
        row("(SELECT 2)", "'ab'", "1", None),
    ];
    let insert = Insert {
        table: "\"rv_batch\"",
        alias: "\"rv_batch\"",
        overriding: false,
        rule: "\"rate\" >= 0 AND \"rate\" <= 1",
        together: None,
    };
    let mut tx = conn.begin().await.unwrap();
    batch::install(&mut tx).await.unwrap();
    let verdicts = batch::run(&mut tx, &insert, &cases).await.unwrap();
    assert_eq!(verdicts.len(), cases.len());
    assert_as_alone(&mut tx, &insert, &cases, &verdicts, "rv_batch").await;
    let states: Vec<&str> = verdicts.iter().map(|v| v.state.as_str()).collect();
    assert_eq!(
        states,
        [
            batch::ACCEPTED,
            "23514",
            batch::ACCEPTED,
            "23514",
            // `('abcd')::character varying(3)` is an explicit cast, which cuts the value,
            // in the plain insert as in the prepared one.
            batch::ACCEPTED,
            "22003",
            batch::OVERRIDDEN,
            "42703",
            "23502",
            // `EXECUTE` takes no subquery among its values; `VALUES` does.
            batch::ACCEPTED,
            "23514"
        ],
        "the cases cover every outcome they are meant to"
    );
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'reims_verify_case_%'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(left, 0, "every prepared statement is deallocated");
    tx.rollback().await.unwrap();
}

/// Cases a table takes together get exactly the verdicts PostgreSQL gives each of them
/// alone, and a table where the rows of one insert could vouch for each other never takes
/// them together. Four tables: a plain one (a foreign key to another table, a unique
/// column, an UPDATE trigger), whose accepted cases go together, except a group with a
/// repeated unique value, which is refused together and runs alone; one whose rows may be
/// each other's parents (a foreign key to itself); one whose AFTER INSERT trigger wants
/// company; one whose CHECK calls a function that reads the table. Inserted together,
/// the last three would accept every case; alone, PostgreSQL refuses them.
#[tokio::test]
async fn cases_inserted_together_get_the_verdicts_they_get_alone() {
    use reims_verify::probe::batch::{self, CaseRow, Insert, Together};
    let db = empty_db("probe_together").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rv_owner (id int PRIMARY KEY); \
         INSERT INTO rv_owner VALUES (1); \
         CREATE TABLE rv_plain (id int PRIMARY KEY, owner int NOT NULL REFERENCES rv_owner, \
           code text UNIQUE, qty int CONSTRAINT rv_plain_qty CHECK (qty BETWEEN 0 AND 10)); \
         CREATE FUNCTION rv_touch() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RETURN NEW; END $$; \
         CREATE TRIGGER rv_plain_touch BEFORE UPDATE ON rv_plain \
           FOR EACH ROW EXECUTE FUNCTION rv_touch(); \
         CREATE TABLE rv_tree (id int PRIMARY KEY, parent int REFERENCES rv_tree, \
           qty int CONSTRAINT rv_tree_qty CHECK (qty BETWEEN 0 AND 10)); \
         CREATE TABLE rv_crowd (id int PRIMARY KEY, \
           qty int CONSTRAINT rv_crowd_qty CHECK (qty BETWEEN 0 AND 10)); \
         CREATE FUNCTION rv_crowd_check() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF (SELECT count(*) FROM rv_crowd) < 2 THEN \
                RAISE EXCEPTION 'alone' USING ERRCODE = 'P0001'; END IF; RETURN NULL; END $$; \
         CREATE TRIGGER rv_crowd_check AFTER INSERT ON rv_crowd \
           FOR EACH ROW EXECUTE FUNCTION rv_crowd_check(); \
         CREATE TABLE rv_counted (id int PRIMARY KEY, \
           qty int CONSTRAINT rv_counted_qty CHECK (qty BETWEEN 0 AND 10)); \
         CREATE FUNCTION rv_counted_ok(k int) RETURNS boolean LANGUAGE sql AS \
           $$ SELECT k = 2 OR EXISTS (SELECT FROM rv_counted WHERE id = 2) $$; \
         ALTER TABLE rv_counted ADD CONSTRAINT rv_counted_ok CHECK (rv_counted_ok(id));",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let int = |col: &str, v: i64| -> (Arc<str>, Arc<str>, String) {
        (format!("\"{col}\"").into(), "integer".into(), v.to_string())
    };
    // (id, qty) with the table's other columns; the varied column is qty.
    let case = |group: usize, cols: Vec<(Arc<str>, Arc<str>, String)>| {
        let kept = vec![cols.iter().position(|(c, _, _)| &**c == "\"qty\"").unwrap()];
        CaseRow {
            values: cols,
            kept,
            group,
        }
    };
    let qtys = [-1, 0, 5, 10, 11, 3, 7, 12];
    let plain: Vec<CaseRow> = qtys
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let code = ("\"code\"".into(), "text".into(), format!("'c{i}'"));
            case(
                0,
                vec![
                    int("id", 10 + i as i64),
                    int("owner", 1),
                    code,
                    int("qty", q),
                ],
            )
        })
        .chain((0..5).map(|i| {
            // Two of this group share a code: together they clash, alone neither does.
            let code = ("\"code\"".into(), "text".into(), format!("'d{}'", i.min(3)));
            case(
                1,
                vec![int("id", 30 + i), int("owner", 1), code, int("qty", 4)],
            )
        }))
        .collect();
    let tree: Vec<CaseRow> = [(2, 3), (3, 2), (4, 2), (5, 3)]
        .iter()
        .map(|&(id, parent)| case(0, vec![int("id", id), int("parent", parent), int("qty", 5)]))
        .collect();
    let lone: Vec<CaseRow> = (2..7)
        .map(|id| case(0, vec![int("id", id), int("qty", 5)]))
        .collect();
    let mut tx = conn.begin().await.unwrap();
    batch::install(&mut tx).await.unwrap();
    let tables = ["rv_plain", "rv_tree", "rv_crowd", "rv_counted"].map(|t| ("public", t));
    let eligible = batch::together_tables(&mut tx, &tables).await.unwrap();
    for (table, cases) in [
        ("rv_plain", &plain),
        ("rv_tree", &tree),
        ("rv_crowd", &lone),
        ("rv_counted", &lone),
    ] {
        let quoted = format!("\"{table}\"");
        let together = eligible.get(table).map(|left_out| Together {
            rule_columns: vec!["\"qty\"".into()],
            left_out: left_out.iter().map(|c| format!("\"{c}\"")).collect(),
        });
        let insert = Insert {
            table: &quoted,
            alias: &quoted,
            overriding: false,
            rule: "\"qty\" BETWEEN 0 AND 10",
            together: together.as_ref(),
        };
        let verdicts = batch::run(&mut tx, &insert, cases).await.unwrap();
        assert_eq!(verdicts.len(), cases.len(), "{table}");
        assert_as_alone(&mut tx, &insert, cases, &verdicts, table).await;
        let together: Vec<bool> = verdicts.iter().map(|v| v.together).collect();
        if table == "rv_plain" {
            let states: Vec<&str> = verdicts.iter().map(|v| v.state.as_str()).collect();
            assert_eq!(
                &states[..qtys.len()],
                [
                    "23514",
                    batch::ACCEPTED,
                    batch::ACCEPTED,
                    batch::ACCEPTED,
                    "23514",
                    batch::ACCEPTED,
                    batch::ACCEPTED,
                    "23514"
                ]
            );
            // The accepted cases of the first group went together; the clashing group ran
            // alone, every case accepted there.
            assert_eq!(
                together,
                [
                    false, true, true, true, false, true, true, false, false, false, false, false,
                    false
                ],
                "{table}"
            );
            assert!(states[qtys.len()..].iter().all(|s| *s == batch::ACCEPTED));
        } else {
            assert!(together.iter().all(|t| !t), "{table}: {together:?}");
        }
    }
    assert_eq!(
        eligible.iter().collect::<Vec<_>>(),
        [
            (&"rv_plain".to_string(), &Vec::<String>::new()),
            (&"rv_tree".to_string(), &vec!["parent".to_string()]),
        ],
        "only the plain table and the tree (leaving its parent out) take cases together"
    );
    tx.rollback().await.unwrap();
}

/// Workers on threads of their own, each driving its own session (pinned to a core with its
/// server process, see `postgres::pairing`), give exactly the findings that one connection
/// gives, in the same order. A worker whose session cannot open makes the run an error
/// naming that server: never a run with fewer findings.
#[tokio::test]
async fn workers_on_threads_give_the_findings_of_one_connection() {
    use reims_verify::probe::sequences::SequenceReset;
    use reims_verify::probe::{run_probes_on, run_probes_on_threads, WorkerSession};
    let specs = load_dir(&specs_dir()).unwrap();
    let config = ProbeConfig { cases: 16, seed: 5 };
    let alone = migrated_db("threads_alone").await;
    let mut conn = connect(&alone).await;
    let schema = read_schema(&mut conn, "public").await.unwrap();
    let reset = SequenceReset::read(&mut conn).await.unwrap();
    let one = run_probes_on(
        std::slice::from_mut(&mut conn),
        &specs,
        &schema,
        &config,
        Some(&reset),
    )
    .await
    .unwrap();
    let session = |db: &str| WorkerSession {
        options: target(db),
        target: format!("database {db}"),
        local: true,
    };
    let sessions = [
        session(&migrated_db("threads_a").await),
        session(&migrated_db("threads_b").await),
        session(&migrated_db("threads_c").await),
    ];
    let mut first = connect(&migrated_db("threads_first").await).await;
    let threads = run_probes_on_threads(
        &mut first,
        &sessions,
        &specs,
        &schema,
        &config,
        Some(&reset),
    )
    .await
    .unwrap();
    assert!(
        one.iter().any(|f| f.code == "probe.check")
            && one.iter().any(|f| f.code.ends_with(".property")),
        "the run should hold constraint and property findings"
    );
    assert_eq!(one.len(), threads.len());
    for (a, b) in one.iter().zip(&threads) {
        assert_eq!(a, b, "one connection and three threads disagree");
    }

    let missing = session("rv_no_such_database");
    let err = run_probes_on_threads(
        &mut first,
        &[sessions[0].clone(), missing],
        &specs,
        &schema,
        &config,
        Some(&reset),
    )
    .await
    .expect_err("a worker that cannot connect must fail the run");
    assert!(
        err.to_string().contains("rv_no_such_database"),
        "the error should name the server it could not reach: {err}"
    );
}

/// The probes of the CHECKs of a table that others reference, whose sample row (with a
/// whole-number key and no default) stays in it while the rules run.
async fn kept_key_probes(db: &str, specs: &SpecSet, role: Option<&str>) -> Vec<Finding> {
    constraint_probes_as(
        db,
        specs,
        role,
        &ProbeConfig {
            cases: 24,
            seed: 11,
        },
    )
    .await
}

#[tokio::test]
async fn a_drifted_check_on_a_table_whose_sample_row_is_kept_is_caught() {
    let db = empty_db("probe_kept_keys").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rv_order (id integer PRIMARY KEY, \
           qty integer NOT NULL CONSTRAINT rv_order_qty_check CHECK (qty >= 1 AND qty <= 10)); \
         CREATE TABLE rv_line (order_id integer REFERENCES rv_order (id), line_no integer, \
           amount integer CONSTRAINT rv_line_amount_check CHECK (amount >= 0), \
           PRIMARY KEY (order_id, line_no)); \
         CREATE TABLE rv_note (id integer PRIMARY KEY, order_id integer, line_no integer, \
           FOREIGN KEY (order_id, line_no) REFERENCES rv_line); \
         DO $$ BEGIN CREATE ROLE rv_fresh_inserter; \
           EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
         GRANT USAGE ON SCHEMA public TO rv_fresh_inserter; \
         GRANT INSERT ON rv_order, rv_line, rv_note TO rv_fresh_inserter;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let (_dir, specs) = specs_of(&[
        (
            "rv_order",
            "table: rv_order\ncolumns:\n  id: { type: integer }\n  qty: { type: integer }\n\
             checks:\n  rv_order_qty_check:\n    rule: { range: { column: qty, gte: 1, lte: 10 } }\n\
             samples:\n  - { id: 1, qty: 5 }\n",
        ),
        (
            "rv_line",
            "table: rv_line\ncolumns:\n  order_id: { type: integer }\n  line_no: { type: integer }\n  amount: { type: integer }\n\
             checks:\n  rv_line_amount_check:\n    rule: { range: { column: amount, gte: 0 } }\n\
             samples:\n  - { order_id: 1, line_no: 1, amount: 3 }\n",
        ),
        (
            "rv_note",
            "table: rv_note\ncolumns:\n  id: { type: integer }\n  order_id: { type: integer }\n  line_no: { type: integer }\n\
             samples:\n  - { id: 1, order_id: 1, line_no: 1 }\n",
        ),
    ]);
    // The rows the rules allow must be accepted, not refused by the kept sample's key: the
    // order's key is given a fresh value, and of the line's key only the part that is not
    // a foreign key (line_no), so the order the line references still exists.
    let findings = kept_key_probes(&db, &specs, None).await;
    for object in [
        "rv_order.rv_order_qty_check",
        "rv_line.rv_line_amount_check",
    ] {
        let (status, message) = status_of(&findings, object);
        assert_eq!(status, Status::Pass, "{object}: {message}");
    }
    assert!(
        findings
            .iter()
            .filter(|f| f.code == "probe.sample")
            .all(|f| f.status == Status::Pass),
        "{findings:#?}"
    );

    // A role that may insert but not read the tables: the highest keys cannot be read
    // (nor can a case's insert return its row), and that refusal must not end the
    // transaction the probes share: every rule is still reported, as a skip that says why.
    let findings = kept_key_probes(&db, &specs, Some("rv_fresh_inserter")).await;
    let checks: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.code == "probe.check")
        .collect();
    assert_eq!(checks.len(), 2, "{findings:#?}");
    for f in checks {
        assert_eq!(f.status, Status::Skip, "{}", f.message);
        assert!(f.message.contains("42501"), "{}", f.message);
    }

    // The drift a kept sample row used to hide: the CHECK allows 11, the rule does not.
    sqlx::raw_sql(
        "ALTER TABLE rv_order DROP CONSTRAINT rv_order_qty_check, \
           ADD CONSTRAINT rv_order_qty_check CHECK (qty >= 1 AND qty <= 11)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let findings = kept_key_probes(&db, &specs, None).await;
    let (status, message) = status_of(&findings, "rv_order.rv_order_qty_check");
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("qty = 11 accepted"), "{message}");
}

/// A copy of `db` (made from it as a template) and a probe worker's session on it.
async fn worker_copy(db: &str, tag: &str) -> reims_verify::probe::WorkerSession {
    let name = format!("{db}_{tag}");
    cluster().create_database(&name, Some(db)).await.unwrap();
    reims_verify::probe::WorkerSession {
        options: target(&name),
        target: format!("database {name}"),
        local: true,
    }
}

/// A chain of `tables` tables, each with a CHECK on `n` (0 to 10) and a foreign key to the
/// one before, so the constraint probes are cut into parts and every sample row but the last
/// table's stays while rules run. Returns the DDL and the specs' (name, YAML) pairs.
fn chain_of_checked_tables(tables: usize) -> (String, Vec<(String, String)>) {
    let mut ddl = String::new();
    let mut docs = Vec::new();
    for i in 0..tables {
        let parent = if i == 0 {
            String::new()
        } else {
            format!(", parent integer REFERENCES rv_p{} (id)", i - 1)
        };
        ddl.push_str(&format!(
            "CREATE TABLE rv_p{i} (id integer PRIMARY KEY{parent}, \
               n integer CONSTRAINT rv_p{i}_n_check CHECK (n BETWEEN 0 AND 10));\n"
        ));
        docs.push((
            format!("rv_p{i}"),
            format!(
                "table: rv_p{i}\ncolumns:\n  id: {{ type: integer }}\n  n: {{ type: integer }}\n{}\
                 checks:\n  rv_p{i}_n_check:\n    rule: {{ range: {{ column: n, gte: 0, lte: 10 }} }}\n\
                 samples:\n  - {{ id: 1, n: 5{} }}\n",
                if i == 0 { "" } else { "  parent: { type: integer }\n" },
                if i == 0 { "" } else { ", parent: 1" }
            ),
        ));
    }
    (ddl, docs)
}

#[tokio::test]
async fn constraint_probes_cut_into_parts_on_two_threads_give_the_findings_of_one_part() {
    use reims_verify::probe::{constraint_parts, run_probes_on_threads};
    // Enough CHECKs (on tables with samples) for the constraint probes to be cut.
    const TABLES: usize = 420;
    let db = empty_db("probe_parts").await;
    let mut conn = connect(&db).await;
    let (ddl, docs) = chain_of_checked_tables(TABLES);
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    let (_dir, specs) = specs_of(&docs);
    let parts = constraint_parts(&specs);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0].specs.start, 0);
    assert_eq!(parts[0].specs.end, parts[1].specs.start);
    assert_eq!(parts[1].specs.end, TABLES);
    assert!(parts[0].first && !parts[1].first);

    let config = ProbeConfig { cases: 8, seed: 3 };
    let schema = read_schema(&mut conn, "public").await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let whole = constraint_probes(&mut tx, &specs, &schema, &config)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    conn.close().await.unwrap();
    assert_eq!(
        whole
            .iter()
            .filter(|f| f.code == "probe.check" && f.status == Status::Pass)
            .count(),
        TABLES,
        "{:#?}",
        whole.iter().find(|f| f.status != Status::Pass)
    );

    let sessions = [worker_copy(&db, "a").await, worker_copy(&db, "b").await];
    let mut first = connect(&db).await;
    let threads = run_probes_on_threads(&mut first, &sessions, &specs, &schema, &config, None)
        .await
        .unwrap();
    assert_eq!(whole.len(), threads.len());
    for (a, b) in whole.iter().zip(&threads) {
        assert_eq!(a, b, "one part and two parts on two threads disagree");
    }
}

/// Each of `parts` on `conn` in a transaction of its own with its own sample rows, one
/// after another, the sequences set back before each when `reset` is given: what the
/// parts find when none shares a transaction.
async fn parts_one_by_one(
    conn: &mut sqlx::PgConnection,
    parts: &[reims_verify::probe::ConstraintPart],
    specs: &SpecSet,
    schema: &reims_verify::catalog::Schema,
    config: &ProbeConfig,
    reset: Option<&reims_verify::probe::sequences::SequenceReset>,
) -> Vec<Finding> {
    use reims_verify::probe::{constraint_part, session};
    let mut found = Vec::new();
    for part in parts {
        if let Some(reset) = reset {
            reset.apply(conn).await.unwrap();
        }
        let mut tx = session::begin(conn).await.unwrap();
        found.extend(
            constraint_part(&mut tx, specs, part, schema, config)
                .await
                .unwrap(),
        );
        session::finish(tx).await;
    }
    found
}

#[test]
fn the_probes_copies_of_the_database_run_with_its_settings() {
    // `check --jobs 2` probes on the migrated database and on a copy of it, a part of the
    // CHECKs each (150 tables of three CHECKs make two parts). A migration gives the
    // database settings of its own (`ALTER DATABASE … SET`, `ALTER ROLE … IN DATABASE …
    // SET`), and every table a CHECK that holds only under them. `CREATE DATABASE …
    // TEMPLATE` leaves those settings behind, so that CHECK refused what the copy's part
    // sent: its cases (the rules became skips, `decided by something else: constraint
    // t4_env`) and, in other layouts, its sample rows (a false FAIL). The verdict
    // depended on how many connections the probes had.
    const TABLES: usize = 150;
    let mut migration = String::new();
    let mut specs = Vec::new();
    for i in 0..TABLES {
        migration.push_str(&format!(
            "CREATE TABLE t{i} (id int PRIMARY KEY, \
               n int NOT NULL CONSTRAINT t{i}_n_check CHECK (n >= 0 AND n <= 100), \
               m int NOT NULL CONSTRAINT t{i}_m_check CHECK (m >= 0 AND m <= 100), \
               CONSTRAINT t{i}_env CHECK (current_setting('IntervalStyle') = 'iso_8601' \
                 AND current_setting('search_path') = 'app, \"My App\", public' \
                 AND current_setting('app.tenant') = 'acme'));\n"
        ));
        specs.push((
            format!("t{i}.yaml"),
            format!(
                "table: t{i}\ncolumns:\n  id: {{ type: integer, nullable: false }}\n  \
                 \"n\": {{ type: integer, nullable: false }}\n  m: {{ type: integer, nullable: false }}\n\
                 primary_key: {{ columns: [id] }}\nchecks:\n  \
                 t{i}_n_check:\n    rule: {{ range: {{ column: \"n\", gte: 0, lte: 100 }} }}\n  \
                 t{i}_m_check:\n    rule: {{ range: {{ column: m, gte: 0, lte: 100 }} }}\n  \
                 t{i}_env:\n    rule: {{ sql: \"(current_setting('IntervalStyle'::text) = 'iso_8601'::text) \
                 AND (current_setting('search_path'::text) = 'app, \\\"My App\\\", public'::text) \
                 AND (current_setting('app.tenant'::text) = 'acme'::text)\" }}\n\
                 privileges: {{ owner: $migrator, public: [] }}\nrow_security: {{ enabled: false }}\n\
                 samples:\n  - {{ id: 1, \"n\": 5, m: 5 }}\n"
            ),
        ));
    }
    migration.push_str(
        "DO $$ BEGIN\n\
           EXECUTE format('ALTER DATABASE %I SET IntervalStyle = iso_8601', current_database());\n\
           EXECUTE format('ALTER DATABASE %I SET search_path = app, \"My App\", public', current_database());\n\
           EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET app.tenant = %L', current_database(), 'acme');\n\
         END $$;\n",
    );
    let specs: Vec<(&str, String)> = specs.iter().map(|(n, y)| (n.as_str(), y.clone())).collect();
    let checked = Checked::of(&migration, &specs, &["--jobs", "2"]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    let samples: Vec<String> = (0..TABLES).map(|i| format!("t{i}.samples")).collect();
    let checks: Vec<String> = (0..TABLES).map(|i| format!("t{i}.t{i}_n_check")).collect();
    let objects: Vec<&str> = samples.iter().chain(&checks).map(String::as_str).collect();
    checked.assert_passed(&objects);
}

#[tokio::test]
async fn parts_on_one_connection_share_their_sample_rows_and_find_what_parts_of_their_own_find() {
    use reims_verify::probe::constraint_parts;
    use reims_verify::probe::run_probes_on_threads;
    use reims_verify::probe::sequences::SequenceReset;
    // Both parts on one connection run in one transaction, the sample rows inserted once.
    // What a part finds must not depend on that: here every insert draws from a sequence
    // (a trigger), and a case whose draw is a multiple of 11 has 100 added to `n`, so the
    // CHECK refuses it although the rule allows it. Which cases those are depends on where
    // the sequence stands when a part begins, which must be where it stood after the sample
    // rows, as in a part of its own, not after the cases of the part before.
    const TABLES: usize = 420;
    let db = empty_db("probe_parts_shared").await;
    let mut conn = connect(&db).await;
    let (mut ddl, docs) = chain_of_checked_tables(TABLES);
    ddl.push_str(
        "CREATE SEQUENCE rv_tick;\n\
         CREATE FUNCTION rv_tick_bump() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         DECLARE t bigint := nextval('rv_tick');\n\
         BEGIN\n\
           IF NEW.n <> 5 AND t % 11 = 0 THEN NEW.n := NEW.n + 100; END IF;\n\
           RETURN NEW;\n\
         END $$;\n",
    );
    for i in 0..TABLES {
        ddl.push_str(&format!(
            "CREATE TRIGGER rv_tick_bump BEFORE INSERT ON rv_p{i} \
               FOR EACH ROW EXECUTE FUNCTION rv_tick_bump();\n"
        ));
    }
    sqlx::raw_sql(&ddl).execute(&mut conn).await.unwrap();
    let (_dir, specs) = specs_of(&docs);
    let parts = constraint_parts(&specs);
    assert_eq!(parts.len(), 2, "{parts:?}");
    let config = ProbeConfig { cases: 8, seed: 5 };
    let schema = read_schema(&mut conn, "public").await.unwrap();
    let reset = SequenceReset::read(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let one = [worker_copy(&db, "one").await];
    let two = [worker_copy(&db, "a").await, worker_copy(&db, "b").await];

    // Each part on its own: the sequences set back, a transaction, the sample rows, the
    // part's CHECKs, rolled back.
    let mut conn = connect(&db).await;
    let own = parts_one_by_one(&mut conn, &parts, &specs, &schema, &config, Some(&reset)).await;
    let bumped = own
        .iter()
        .filter(|f| f.code == "probe.check" && f.status == Status::Fail)
        .count();
    assert!(
        bumped > 0 && bumped < TABLES,
        "the trigger should make some rules, not all, disagree: {bumped}"
    );
    // Every disagreement shown is one that happened: the trigger only ever adds 100, so a
    // value the rule allows was refused. A shrink that ran the case again and kept it
    // when the second run agreed showed `n = 2 accepted; … so it must be rejected`.
    for f in own
        .iter()
        .filter(|f| f.code == "probe.check" && f.status == Status::Fail)
    {
        assert_eq!(f.expected.as_deref(), Some("accepted"), "{f:#?}");
        assert!(
            f.actual
                .as_deref()
                .is_some_and(|a| a.starts_with("rejected")),
            "{f:#?}"
        );
    }

    for sessions in [&one[..], &two[..]] {
        let found =
            run_probes_on_threads(&mut conn, sessions, &specs, &schema, &config, Some(&reset))
                .await
                .unwrap();
        assert_eq!(own.len(), found.len());
        for (a, b) in own.iter().zip(&found) {
            assert_eq!(
                a,
                b,
                "parts of their own and parts on {} connection(s) disagree",
                sessions.len()
            );
        }
    }

    // A handed-over server (no reset) keeps a transaction and sample rows per part, as
    // before: one connection must find what the parts find one after another, each in a
    // transaction of its own with its own sample rows, from the same sequence position and
    // with no reset between them. (Sharing would leave out the second insert of the 420
    // sample rows, 420 draws: not a multiple of 11, so the cases the trigger bumps differ.)
    reset.apply(&mut conn).await.unwrap();
    let apart = parts_one_by_one(&mut conn, &parts, &specs, &schema, &config, None).await;
    reset.apply(&mut conn).await.unwrap();
    let handed_over = run_probes(&mut conn, &specs, &schema, &config)
        .await
        .unwrap();
    assert_eq!(apart.len(), handed_over.len());
    for (a, b) in apart.iter().zip(&handed_over) {
        assert_eq!(
            a, b,
            "on a handed-over server the parts shared a transaction"
        );
    }
}

#[tokio::test]
async fn a_read_of_the_highest_keys_that_outlasts_its_timeout_gives_none_and_ends_nothing() {
    use reims_verify::probe::rows::{fresh_keys_within, unique_columns, Row};
    use reims_verify::probe::sequences::SequenceFed;
    let db = empty_db("probe_fresh_timeout").await;
    let mut conn = connect(&db).await;
    // A key column that leads no index: its highest value is read by a scan of the table.
    sqlx::raw_sql(
        "CREATE TABLE rv_big (a integer, b integer, PRIMARY KEY (a, b)); \
         INSERT INTO rv_big SELECT 1, g FROM generate_series(1, 300000) g;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let schema = read_schema(&mut conn, "public").await.unwrap();
    let rel = schema.relations.get("rv_big").unwrap();
    let unique = unique_columns(rel);
    let sample: Row = [("a".to_string(), "1".to_string()), ("b".into(), "1".into())]
        .into_iter()
        .collect();
    let fed = SequenceFed::default();
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL statement_timeout = '45s'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let read = fresh_keys_within(
        &mut tx,
        rel,
        &unique,
        std::slice::from_ref(&sample),
        &fed,
        "30s",
    )
    .await
    .unwrap();
    assert_eq!(read.get("a").map(String::as_str), Some("'2'"), "{read:?}");
    assert_eq!(
        read.get("b").map(String::as_str),
        Some("'300001'"),
        "{read:?}"
    );
    let cut = fresh_keys_within(
        &mut tx,
        rel,
        &unique,
        std::slice::from_ref(&sample),
        &fed,
        "1ms",
    )
    .await
    .unwrap();
    assert!(cut.is_empty(), "{cut:?}");
    // The transaction goes on, with its own timeout back.
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(timeout, "45s");
    tx.rollback().await.unwrap();
}

/// A project of one migration and `specs` (file name, YAML) beside REIMS's spec of
/// `schema_migrations`, checked with `check --seed 7`, reports and `extra` arguments.
struct Checked {
    dir: tempfile::TempDir,
    code: Option<i32>,
    /// stdout, then stderr.
    text: String,
    run: serde_json::Value,
}

impl Checked {
    fn of(migration: &str, specs: &[(&str, String)], extra: &[&str]) -> Checked {
        let dir = project_folder(&[("001_tables.sql", migration)], specs);
        let (migrations, spec_dir) = (dir.path().join("migrations"), dir.path().join("specs"));
        let reports = dir.path().join("reports");
        let (code, text) = run_uncached(
            reims_command(&["check", "--seed", "7", "--report"])
                .arg(&reports)
                .arg("--migrations")
                .arg(&migrations)
                .arg("--specs")
                .arg(&spec_dir)
                .args(extra),
        );
        let run = serde_json::from_slice(&std::fs::read(reports.join("run.json")).unwrap())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        Checked {
            dir,
            code,
            text,
            run,
        }
    }

    /// Every probe finding: object, status, message.
    fn probes(&self) -> Vec<(String, String, String)> {
        self.run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with("probe."))
            .map(|f| {
                (
                    f["object"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                    f["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Assert that the probe finding of each of `objects` passed.
    fn assert_passed(&self, objects: &[&str]) {
        for object in objects {
            let (status, message) = self.probe(object);
            assert_eq!(status, "pass", "{object}: {message}");
        }
    }

    /// The status and message of the probe finding for `object`.
    fn probe(&self, object: &str) -> (String, String) {
        let probes = self.probes();
        probes
            .iter()
            .find(|(o, ..)| o == object)
            .map(|(_, s, m)| (s.clone(), m.clone()))
            .unwrap_or_else(|| panic!("no probe finding for {object}: {probes:?}"))
    }
}

/// The spec of table `table` (in the schema `schema_line` names, if any) with columns `id`
/// and `n`, the CHECK `{check}` bounding `n` by 0 and `high`, and one sample row `n`.
fn bounded_spec(table: &str, schema_line: &str, check: &str, high: u32, n: u32) -> String {
    format!(
        "table: {table}\n{schema_line}columns:\n  id: {{ type: integer, nullable: false }}\n  \
         \"n\": {{ type: integer, nullable: false }}\nprimary_key: {{ columns: [id] }}\n\
         checks:\n  {check}:\n    rule: {{ range: {{ column: \"n\", gte: 0, lte: {high} }} }}\n\
         privileges: {{ owner: $migrator, public: [] }}\nrow_security: {{ enabled: false }}\n\
         samples:\n  - {{ id: 1, n: {n} }}\n"
    )
}

/// The migration of [`a_table_outside_the_default_schema_is_probed_as_itself`]: `app.t`
/// whose CHECK bounds `n` by `app_high`, a `t` of `public` bounded by 100, `app.g`, whose
/// key is an identity column `GENERATED ALWAYS`, and `app.k`, which `app.r` refers to, so
/// that `app.k`'s sample row stays in while its rule's cases run (`public` has no `k`).
fn two_schemas_migration(app_high: u32) -> String {
    format!(
        "CREATE SCHEMA app;\n\
         CREATE TABLE app.t (id int PRIMARY KEY, \
           n int NOT NULL CONSTRAINT t_n_check CHECK (n >= 0 AND n <= {app_high}));\n\
         CREATE TABLE t (id int PRIMARY KEY, \
           n int NOT NULL CONSTRAINT t_n_check CHECK (n >= 0 AND n <= 100));\n\
         CREATE TABLE app.g (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
           n int NOT NULL CONSTRAINT g_n_check CHECK (n >= 0 AND n <= 50));\n\
         CREATE TABLE app.k (id int PRIMARY KEY, \
           n int NOT NULL CONSTRAINT k_n_check CHECK (n >= 0 AND n <= 1000));\n\
         CREATE TABLE app.r (id int PRIMARY KEY, k_id int REFERENCES app.k (id));\n"
    )
}

/// The specs of [`two_schemas_migration`], each table's as the migration of 1,000 makes it.
fn two_schemas_specs() -> Vec<(&'static str, String)> {
    let g = "table: g\nschema: app\ncolumns:\n  \
             id: { type: integer, nullable: false, identity: always }\n  \
             \"n\": { type: integer, nullable: false }\nprimary_key: { columns: [id] }\n\
             checks:\n  g_n_check:\n    rule: { range: { column: \"n\", gte: 0, lte: 50 } }\n\
             privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
             samples:\n  - { id: 1, \"n\": 7 }\n";
    let r = "table: r\nschema: app\ncolumns:\n  id: { type: integer, nullable: false }\n  \
             k_id: { type: integer }\nprimary_key: { columns: [id] }\n\
             foreign_keys:\n  r_k_id_fkey:\n    columns: [k_id]\n    \
             references: { schema: app, table: k, columns: [id] }\n\
             privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n";
    vec![
        (
            "app.t.yaml",
            bounded_spec("t", "schema: app\n", "t_n_check", 1000, 500),
        ),
        (
            "app.k.yaml",
            bounded_spec("k", "schema: app\n", "k_n_check", 1000, 500),
        ),
        ("app.r.yaml", r.to_string()),
        ("t.yaml", bounded_spec("t", "", "t_n_check", 100, 5)),
        ("app.g.yaml", g.to_string()),
    ]
}

#[test]
fn a_table_outside_the_default_schema_is_probed_as_itself() {
    // The constraint probes and sample rows named every table bare, as the default
    // schema's, so a table of another schema had them skipped. They must now try that
    // table itself: `app.t`'s sample row (n = 500) and the cases its CHECK allows above
    // 100 are refused by `public.t`, so any of them sent to `public` fails. `app.g` has an
    // identity column `GENERATED ALWAYS`: its sample row's key needs OVERRIDING SYSTEM
    // VALUE, which only a table whose sequence-fed columns are known gets. `app.k`'s sample
    // row stays in while its cases run (`app.r` refers to it), so each case's key must be
    // read past the highest of `app.k` itself, or every case collides with that row.
    let checked = Checked::of(&two_schemas_migration(1000), &two_schemas_specs(), &[]);
    let (run, text) = (&checked.run, &checked.text);
    assert_eq!(checked.code, Some(0), "{text}");
    checked.assert_passed(&[
        "app.t.samples",
        "app.g.samples",
        "app.k.samples",
        "app.k.k_n_check",
        "t.samples",
        "app.t.t_n_check",
        "app.g.g_n_check",
        "t.t_n_check",
    ]);
    for object in [
        "app.t.t_n_check",
        "app.g.g_n_check",
        "app.k.k_n_check",
        "t.t_n_check",
    ] {
        let (_, message) = checked.probe(object);
        assert!(message.contains("cases agree"), "{object}: {message}");
    }
    assert!(
        !text.contains("schema public only"),
        "no constraint probe or sample row is skipped for its schema: {text}"
    );
    // The reports tell the two tables' specs apart: each spec file names its relation as the
    // findings do, and each file's JUnit suite holds its own table's findings.
    let named: Vec<(&str, &str)> = run["specs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["table"].as_str().unwrap()))
        .filter(|(p, _)| !p.ends_with("schema_migrations.yaml"))
        .collect();
    assert_eq!(
        named
            .iter()
            .map(|(p, t)| (p.rsplit('/').next().unwrap(), *t))
            .collect::<Vec<_>>(),
        [
            ("app.g.yaml", "app.g"),
            ("app.k.yaml", "app.k"),
            ("app.r.yaml", "app.r"),
            ("app.t.yaml", "app.t"),
            ("t.yaml", "t")
        ]
    );
    let junit = std::fs::read_to_string(checked.dir.path().join("reports/junit.xml")).unwrap();
    let specs = checked.dir.path().join("specs");
    let suite = |file: &str| {
        let start = junit
            .find(&format!(
                "<testsuite name=\"{}\"",
                specs.join(file).display()
            ))
            .unwrap_or_else(|| panic!("no suite for {file}: {junit}"));
        let end = start + junit[start..].find("</testsuite>").unwrap();
        junit[start..end].to_string()
    };
    let (app, public) = (suite("app.t.yaml"), suite("t.yaml"));
    assert!(
        app.contains("name=\"probe.check app.t.t_n_check\""),
        "{app}"
    );
    assert!(app.contains("name=\"table.exists app.t\""), "{app}");
    assert!(
        public.contains("name=\"probe.check t.t_n_check\""),
        "{public}"
    );
    assert!(!public.contains("app.t"), "{public}");

    // The same specs on a migration whose `app.t` allows no more than 900: the probes of
    // `app.t` itself must find a value the rule allows refused by its CHECK.
    let drifted = Checked::of(&two_schemas_migration(900), &two_schemas_specs(), &[]);
    assert_eq!(drifted.code, Some(1), "{}", drifted.text);
    let (status, message) = drifted.probe("app.t.t_n_check");
    assert_eq!(status, "fail", "{message}");
    assert!(
        message.contains("rejected (SQLSTATE 23514)") && message.contains("must be accepted"),
        "{message}"
    );
    assert_eq!(drifted.probe("t.t_n_check").0, "pass");
}

#[test]
fn a_property_of_a_table_outside_the_default_schema_runs_on_its_own_tables() {
    // In the spec of `app.t`, `row: { table: t }` and `proves: [t.t_touch]` name `app.t`'s
    // row and trigger, as the spec's other names are its own schema's. The row went into
    // `public.t` (the action then found no row in `app.t`, and the run failed on a trigger
    // that does what the property says); then such a property was skipped. It must run on
    // `app.t` and pass, its findings named as the structural findings name the table; and
    // a trigger that stops doing what the property says must fail it. A clock entry for `t`
    // moves `app.t`'s rows too (`aged`: the given row's `seen` must move as the model's).
    let table = "CREATE TABLE {t} (id int PRIMARY KEY, \"n\" int NOT NULL, touched timestamptz, \
                 seen timestamptz);\n";
    let migration = format!(
        "CREATE SCHEMA app;\n{}{}\
         CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN NEW.touched := now(); RETURN NEW; END$$;\n\
         CREATE TRIGGER t_touch BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch();\n",
        table.replace("{t}", "app.t"),
        table.replace("{t}", "t"),
    );
    let columns = "columns:\n  id: { type: integer, nullable: false }\n  \
                   \"n\": { type: integer, nullable: false }\n  touched: { type: timestamptz }\n  \
                   seen: { type: timestamptz }\n\
                   primary_key: { columns: [id] }\n\
                   privileges: { owner: $migrator, public: [] }\n\
                   row_security: { enabled: false }\n";
    let app = format!(
        "table: t\nschema: app\n{columns}\
         triggers:\n  t_touch: {{ timing: before, events: [update], level: row, function: touch }}\n\
         functions:\n  touch():\n    returns: trigger\n    language: plpgsql\n    \
         volatility: volatile\n    privileges: {{ owner: $migrator, public: [execute] }}\n\
         properties:\n  touched:\n    description: Every UPDATE sets touched to now().\n    \
         proves: [t.t_touch]\n    given:\n      row: {{ row: {{ table: t }} }}\n    \
         actions:\n      touch:\n        checks: t.t_touch\n        \
         sql: UPDATE app.t SET \"n\" = \"n\" WHERE id = :row.id RETURNING touched\n        \
         expect: [\"(SELECT touched FROM result) = now()\"]\n    steps: {{ min: 1, max: 2 }}\n  \
         aged:\n    description: The clock moves the given row of t as it moves the model.\n    \
         given:\n      row: {{ row: {{ table: t }} }}\n    \
         model:\n      stamps:\n        columns: {{ at: timestamptz }}\n    \
         clock:\n      - {{ table: t, columns: [seen] }}\n      - {{ table: stamps, columns: [at] }}\n    \
         actions:\n      see:\n        \
         sql: UPDATE app.t SET seen = now() WHERE id = :row.id RETURNING seen\n        \
         model: INSERT INTO stamps VALUES (:result.seen)\n      \
         wait:\n        advance: {{ interval: {{ unit: hours, min: 1, max: 10 }} }}\n    \
         always:\n      - \"(SELECT seen FROM app.t WHERE id = :row.id) IS NOT DISTINCT FROM \
         (SELECT max(at) FROM stamps)\"\n    steps: {{ min: 2, max: 6 }}\n    \
         examples:\n      - [{{ see: {{}} }}, {{ wait: {{ advance: 2 }} }}]\n"
    );
    let public = format!("table: t\n{columns}");
    let specs = [("app.t.yaml", app), ("t.yaml", public)];
    let checked = Checked::of(&migration, &specs, &[]);
    let text = &checked.text;
    assert_eq!(checked.code, Some(0), "{text}");
    // The properties and the trigger one proves, all passed, all `app.t`'s.
    let found: Vec<(&str, &str, &str, &str)> = checked.run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "probe.property" || f["code"] == "trigger.property")
        .map(|f| {
            (
                f["object"].as_str().unwrap(),
                f["table"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    let named: Vec<(&str, &str, &str)> = found.iter().map(|(o, t, s, _)| (*o, *t, *s)).collect();
    assert_eq!(
        named,
        [
            ("app.t.touched", "app.t", "pass"),
            ("t.t_touch", "app.t", "pass"),
            ("app.t.aged", "app.t", "pass")
        ],
        "{text}"
    );

    // The trigger stops setting `touched`: the property must fail `app.t`'s trigger.
    let broken = migration.replace("NEW.touched := now(); ", "");
    let checked = Checked::of(&broken, &specs, &[]);
    assert_eq!(checked.code, Some(1), "{}", checked.text);
    let trigger = checked.run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "trigger.property")
        .unwrap_or_else(|| panic!("no trigger.property finding: {}", checked.text));
    assert_eq!(
        (&trigger["object"], &trigger["table"], &trigger["status"]),
        (&"t.t_touch".into(), &"app.t".into(), &"fail".into()),
        "{}",
        checked.text
    );
}

#[test]
fn a_sample_row_whose_parent_is_outside_the_default_schema_finds_it() {
    // `items` refers to `ref.kinds`, whose spec gives the parent row as a sample. The
    // parent's row must go into `ref.kinds` before the child's, so the child's row, which
    // the specs call valid, is accepted; with no parent sample in the specs, a refused row
    // still fails.
    let migration = "CREATE SCHEMA ref;\n\
                     CREATE TABLE ref.kinds (id int PRIMARY KEY, label text NOT NULL);\n\
                     CREATE TABLE items (id int PRIMARY KEY, \
                     kind_id int NOT NULL REFERENCES ref.kinds (id));\n";
    let kinds = |samples: &str| {
        format!(
            "table: kinds\nschema: ref\ncolumns:\n  id: {{ type: integer, nullable: false }}\n  \
             label: {{ type: text, nullable: false }}\nprimary_key: {{ columns: [id] }}\n\
             privileges: {{ owner: $migrator, public: [] }}\n\
             row_security: {{ enabled: false }}\n{samples}"
        )
    };
    let items = "table: items\ncolumns:\n  id: { type: integer, nullable: false }\n  \
                 kind_id: { type: integer, nullable: false }\nprimary_key: { columns: [id] }\n\
                 foreign_keys:\n  items_kind_id_fkey:\n    columns: [kind_id]\n    \
                 references: { schema: ref, table: kinds, columns: [id] }\n\
                 privileges: { owner: $migrator, public: [] }\n\
                 row_security: { enabled: false }\nsamples:\n  - { id: 1, kind_id: 1 }\n";
    let with_parent = Checked::of(
        migration,
        &[
            (
                "ref.kinds.yaml",
                kinds("samples:\n  - { id: 1, label: one }\n"),
            ),
            ("items.yaml", items.to_string()),
        ],
        &[],
    );
    assert_eq!(with_parent.code, Some(0), "{}", with_parent.text);
    with_parent.assert_passed(&["ref.kinds.samples", "items.samples"]);

    let without = Checked::of(
        migration,
        &[
            ("ref.kinds.yaml", kinds("")),
            ("items.yaml", items.to_string()),
        ],
        &[],
    );
    assert_eq!(without.code, Some(1), "{}", without.text);
    let (status, message) = without.probe("items.samples");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("23503"), "{message}");
}

#[test]
fn a_property_row_whose_parent_is_outside_the_default_schema_is_built_in_its_schema() {
    // `items` refers to `ref.kinds`, and `public` has a `kinds` of its own. A property's row
    // of `items` needs a parent row: it was built in `public.kinds`, looked up by the bare
    // name, so the row of `items` was refused by its foreign key; then such a property was
    // skipped. The parent row must go into `ref.kinds`, and the property pass.
    let migration = "CREATE SCHEMA ref;\n\
         CREATE TABLE ref.kinds (id int PRIMARY KEY);\n\
         CREATE TABLE kinds (id int PRIMARY KEY);\n\
         CREATE TABLE items (id int PRIMARY KEY, kind_id int NOT NULL REFERENCES ref.kinds (id), \
         touched timestamptz);\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \
         $$BEGIN NEW.touched := now(); RETURN NEW; END$$;\n\
         CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();\n";
    let keyed = |table: &str, schema_line: &str| {
        format!(
            "table: {table}\n{schema_line}columns:\n  id: {{ type: integer, nullable: false }}\n\
             primary_key: {{ columns: [id] }}\nprivileges: {{ owner: $migrator, public: [] }}\n\
             row_security: {{ enabled: false }}\n"
        )
    };
    let items = "table: items\ncolumns:\n  id: { type: integer, nullable: false }\n  \
         kind_id: { type: integer, nullable: false }\n  touched: { type: timestamptz }\n\
         primary_key: { columns: [id] }\n\
         foreign_keys:\n  items_kind_id_fkey:\n    columns: [kind_id]\n    \
         references: { schema: ref, table: kinds, columns: [id] }\n\
         triggers:\n  items_touch: { timing: before, events: [update], level: row, function: touch }\n\
         functions:\n  touch():\n    returns: trigger\n    language: plpgsql\n    \
         volatility: volatile\n    privileges: { owner: $migrator, public: [execute] }\n\
         privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
         properties:\n  touched:\n    description: Every UPDATE sets touched to now().\n    \
         proves: [items.items_touch]\n    given:\n      row: { row: { table: items } }\n    \
         actions:\n      touch:\n        checks: items.items_touch\n        \
         sql: UPDATE items SET kind_id = kind_id WHERE id = :row.id RETURNING touched\n        \
         expect: [\"(SELECT touched FROM result) = now()\"]\n    steps: { min: 1, max: 2 }\n";
    let checked = Checked::of(
        migration,
        &[
            ("ref.kinds.yaml", keyed("kinds", "schema: ref\n")),
            ("kinds.yaml", keyed("kinds", "")),
            ("items.yaml", items.to_string()),
        ],
        &[],
    );
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    let (status, message) = checked.probe("items.touched");
    assert_eq!(status, "pass", "{message}");
}

#[test]
fn another_schemas_references_do_not_reorder_the_sample_rows() {
    // `a` refers to `b` in `public`, and `app` has the same two names the other way round.
    // The sample rows are inserted parents first. By bare name, `app`'s reference made a
    // cycle of `a` and `b`, which were then tried in name order, `a` before its parent, and
    // its valid row failed. Each schema's rows must go into its own tables, each parent
    // before its child (`app.a`'s row is refused by `public.a`, whose `b_id` is NOT NULL).
    let migration = "CREATE SCHEMA app;\n\
         CREATE TABLE b (id int PRIMARY KEY);\n\
         CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL REFERENCES b (id));\n\
         CREATE TABLE app.a (id int PRIMARY KEY);\n\
         CREATE TABLE app.b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES app.a (id));\n";
    let spec = |table: &str, schema_line: &str, fk: Option<(&str, &str)>, samples: &str| {
        let (column, references) = match fk {
            Some((c, r)) => (
                format!("  {c}: {{ type: integer, nullable: false }}\n"),
                format!(
                    "foreign_keys:\n  {table}_{c}_fkey:\n    columns: [{c}]\n    \
                     references: {{ {r}, columns: [id] }}\n"
                ),
            ),
            None => (String::new(), String::new()),
        };
        format!(
            "table: {table}\n{schema_line}columns:\n  id: {{ type: integer, nullable: false }}\n\
             {column}primary_key: {{ columns: [id] }}\n{references}\
             privileges: {{ owner: $migrator, public: [] }}\n\
             row_security: {{ enabled: false }}\n{samples}"
        )
    };
    let checked = Checked::of(
        migration,
        &[
            (
                "a.yaml",
                spec(
                    "a",
                    "",
                    Some(("b_id", "table: b")),
                    "samples:\n  - { id: 1, b_id: 1 }\n",
                ),
            ),
            ("b.yaml", spec("b", "", None, "samples:\n  - { id: 1 }\n")),
            (
                "app.a.yaml",
                spec("a", "schema: app\n", None, "samples:\n  - { id: 2 }\n"),
            ),
            (
                "app.b.yaml",
                spec(
                    "b",
                    "schema: app\n",
                    Some(("a_id", "schema: app, table: a")),
                    "samples:\n  - { id: 3, a_id: 2 }\n",
                ),
            ),
        ],
        &[],
    );
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&["a.samples", "b.samples", "app.a.samples", "app.b.samples"]);
}

#[test]
fn a_table_the_database_lacks_or_has_as_a_view_is_reported_as_not_probed() {
    // A spec's table that the database does not have, or has as a view, fails its
    // structural checks; its CHECK and sample rows must say that they were not tried, and
    // why (they had no probe finding at all), while a table that is there is probed.
    let checked = Checked::of(
        "CREATE TABLE kept (id int PRIMARY KEY, n int NOT NULL, \
         CONSTRAINT kept_n_check CHECK (n >= 0 AND n <= 100));\n\
         CREATE VIEW shown AS SELECT 1 AS id, 2 AS n;\n",
        &[
            (
                "kept.yaml",
                bounded_spec("kept", "", "kept_n_check", 100, 5),
            ),
            (
                "gone.yaml",
                bounded_spec("gone", "", "gone_n_check", 100, 5),
            ),
            (
                "shown.yaml",
                bounded_spec("shown", "", "shown_n_check", 100, 5),
            ),
        ],
        &[],
    );
    let text = &checked.text;
    assert_eq!(checked.code, Some(1), "{text}");
    assert!(text.contains("FAIL table.exists  gone"), "{text}");
    assert!(text.contains("FAIL table.kind  shown"), "{text}");
    for (object, says) in [
        ("gone.samples", "the database has no relation `gone`"),
        ("gone.gone_n_check", "the database has no relation `gone`"),
        (
            "shown.samples",
            "`shown` is a view in the database, not a table",
        ),
        (
            "shown.shown_n_check",
            "`shown` is a view in the database, not a table",
        ),
    ] {
        let (status, message) = checked.probe(object);
        assert_eq!(status, "skip", "{object}: {message}");
        assert!(message.starts_with("not run: "), "{object}: {message}");
        assert!(message.contains(says), "{object}: {message}");
    }
    assert_eq!(checked.probe("kept.samples").0, "pass");
    let (status, message) = checked.probe("kept.kept_n_check");
    assert_eq!(status, "pass", "{message}");
    assert!(message.contains("cases agree"), "{message}");
}

#[test]
fn a_table_whose_name_holds_a_dot_is_probed() {
    // Its relation is `"odd.name"` among the catalog's, its spec's table `odd.name`: the
    // probes looked it up by the spec's name and found nothing, and said nothing. Its
    // sample row and CHECK must be tried, and a CHECK that drifted caught.
    let table = "CREATE TABLE \"odd.name\" (id int PRIMARY KEY, n int NOT NULL, \
                 CONSTRAINT odd_n_check CHECK (n >= 0 AND n <= 100));\n";
    let specs = [(
        "odd.name.yaml",
        bounded_spec("odd.name", "", "odd_n_check", 100, 5),
    )];
    let checked = Checked::of(table, &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    assert_eq!(checked.probe("\"odd.name\".samples").0, "pass");
    let (status, message) = checked.probe("\"odd.name\".odd_n_check");
    assert_eq!(status, "pass", "{message}");
    assert!(message.contains("cases agree"), "{message}");

    let drift = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        drift.path(),
        "ALTER TABLE \"odd.name\" DROP CONSTRAINT odd_n_check, \
         ADD CONSTRAINT odd_n_check CHECK (n >= 0 AND n <= 50);\n",
    )
    .unwrap();
    let drifted = Checked::of(
        table,
        &specs,
        &["--apply-after", drift.path().to_str().unwrap()],
    );
    assert_eq!(drifted.code, Some(1), "{}", drifted.text);
    let (status, message) = drifted.probe("\"odd.name\".odd_n_check");
    assert_eq!(status, "fail", "{message}");
}

#[tokio::test]
async fn a_role_without_insert_on_another_schemas_table_gets_skips_that_name_it() {
    // The privileges were asked of each table by its bare name, so `app.t` was judged by
    // `public.t`'s. A role that may write `public.t` but not `app.t` must have `app.t`'s
    // sample rows and rules skipped with a reason that names `app.t`, and `public.t`'s
    // tried.
    let db = empty_db("probe_other_schema_privileges").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE SCHEMA app; \
         CREATE TABLE app.t (id int PRIMARY KEY, \
           n int NOT NULL CONSTRAINT t_n_check CHECK (n >= 0 AND n <= 1000)); \
         CREATE TABLE t (id int PRIMARY KEY, \
           n int NOT NULL CONSTRAINT t_n_check CHECK (n >= 0 AND n <= 100)); \
         DO $$ BEGIN CREATE ROLE rv_public_clerk; \
           EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
         GRANT USAGE ON SCHEMA public, app TO rv_public_clerk; \
         GRANT SELECT, INSERT ON t TO rv_public_clerk; \
         GRANT SELECT ON app.t TO rv_public_clerk;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let (_dir, specs) = specs_of(&[
        (
            "app.t",
            bounded_spec("t", "schema: app\n", "t_n_check", 1000, 500),
        ),
        ("t", bounded_spec("t", "", "t_n_check", 100, 5)),
    ]);
    let schema = reims_verify::catalog::read_schemas(&mut conn, &["public".into(), "app".into()])
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("SET LOCAL ROLE rv_public_clerk")
        .execute(&mut *tx)
        .await
        .unwrap();
    let config = ProbeConfig { cases: 16, seed: 5 };
    let findings = constraint_probes(&mut tx, &specs, &schema, &config)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    for object in ["app.t.samples", "app.t.t_n_check"] {
        let (status, message) = status_of(&findings, object);
        assert_eq!(status, Status::Skip, "{object}: {message}");
        assert!(
            message.contains("INSERT on app.t") && message.contains("rv_public_clerk"),
            "{object}: {message}"
        );
    }
    for object in ["t.samples", "t.t_n_check"] {
        let (status, message) = status_of(&findings, object);
        assert_eq!(status, Status::Pass, "{object}: {message}");
    }
}

/// What a probe could leave behind in the tables of [`two_schemas_migration`]: each
/// table's row count, and where `app.g`'s identity sequence stands.
async fn two_schemas_footprint(db: &str) -> (i64, i64, i64, i64, i64, i64, bool) {
    let mut conn = connect(db).await;
    let footprint = sqlx::query_as(
        "SELECT (SELECT count(*) FROM app.t), (SELECT count(*) FROM t), \
                (SELECT count(*) FROM app.g), (SELECT count(*) FROM app.k), \
                (SELECT count(*) FROM app.r), last_value, is_called \
           FROM app.g_id_seq",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    footprint
}

/// `check --probe --seed 7` of database `db` of the shared cluster, handed over by URL,
/// with the migrations and specs of project `dir`: its exit code, its output and its
/// `run.json`.
fn handed_over_check(
    dir: &tempfile::TempDir,
    db: &str,
) -> (Option<i32>, String, serde_json::Value) {
    let url = format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    );
    let reports = dir.path().join("reports");
    let (code, text) = run_uncached(
        reims_command(&["check", "--probe", "--seed", "7", "--database-url", &url])
            .arg("--report")
            .arg(&reports)
            .arg("--migrations")
            .arg(dir.path().join("migrations"))
            .arg("--specs")
            .arg(dir.path().join("specs")),
    );
    let run = serde_json::from_slice(&std::fs::read(reports.join("run.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    (code, text, run)
}

#[tokio::test]
async fn a_handed_over_database_with_tables_of_two_schemas_is_probed_and_left_as_it_was() {
    // `check --database-url --probe` on a database holding the two-schema tables: the
    // probes of `app`'s tables run there as on a throw-away server, pass, and leave every
    // table and `app.g`'s sequence as they were.
    let dir = project_folder(
        &[("001_tables.sql", two_schemas_migration(1000))],
        &two_schemas_specs(),
    );
    let db = empty_db("handed_over_two_schemas").await;
    apply_migrations(&db, &dir.path().join("migrations")).await;
    let before = two_schemas_footprint(&db).await;
    let (code, text, run) = handed_over_check(&dir, &db);
    assert_eq!(code, Some(0), "{text}");
    let status = |object: &str| -> String {
        run["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["object"] == object && f["code"].as_str().unwrap().starts_with("probe."))
            .map(|f| format!("{} {}", f["status"], f["message"]))
            .unwrap_or_else(|| panic!("no probe finding for {object}: {text}"))
    };
    for object in [
        "app.t.samples",
        "app.g.samples",
        "app.k.samples",
        "app.t.t_n_check",
        "app.g.g_n_check",
        "app.k.k_n_check",
        "t.t_n_check",
        "sequences",
    ] {
        let found = status(object);
        assert!(found.starts_with("\"pass\""), "{object}: {found}");
    }
    assert_eq!(two_schemas_footprint(&db).await, before);
}

/// A function of `app` that names its table bare, as the database's search path
/// (`app, public`, set by the migration) lets it, and a property that proves it.
const DATABASE_PATH_MIGRATION: &str = "CREATE SCHEMA app;\n\
     CREATE TABLE app.accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0);\n\
     CREATE FUNCTION app.deposit(p_id int, p_amount int) RETURNS int LANGUAGE plpgsql AS $$\n\
     BEGIN\n\
       UPDATE accounts SET balance = balance + p_amount WHERE id = p_id;\n\
       RETURN (SELECT balance FROM accounts WHERE id = p_id);\n\
     END $$;\n\
     DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = app, public', \
       current_database()); END $$;\n";

const DATABASE_PATH_SPEC: &str = "table: accounts\nschema: app\ncolumns:\n  \
     id: { type: integer, nullable: false }\n  \
     balance: { type: integer, nullable: false, default: \"0\" }\n\
     primary_key: { columns: [id] }\n\
     functions:\n  deposit(integer, integer):\n    returns: integer\n    \
     arguments: p_id integer, p_amount integer\n    language: plpgsql\n    \
     volatility: volatile\n    privileges: { owner: $migrator, public: [execute] }\n\
     privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
     samples:\n  - { id: 1, balance: 0 }\n\
     properties:\n  deposits:\n    description: A deposit adds its amount to the balance.\n    \
     proves: [\"deposit(integer, integer)\"]\n    given:\n      \
     row: { row: { table: accounts } }\n      amount: { int: { min: 1, max: 100 } }\n    \
     actions:\n      deposit:\n        sql: SELECT app.deposit(:row.id, :amount) AS b\n        \
     expect: [\"(SELECT b FROM result) = (SELECT balance FROM app.accounts WHERE id = :row.id)\"]\n    \
     steps: { min: 1, max: 3 }\n";

#[tokio::test]
async fn a_handed_over_database_is_probed_with_its_own_search_path() {
    // The probes of a handed-over server run on the session the catalog was read on, which
    // pins `search_path = public` for the read. That pin was kept for the probes, so a
    // function that names a table of the schema the database's search path puts first
    // failed there (`relation "accounts" does not exist`), while the same specs passed on
    // a throw-away server, whose new sessions take the database's path, and the
    // reproduction the finding gave passed in any `psql` session. Both must pass.
    let specs = [("app.accounts.yaml", DATABASE_PATH_SPEC.to_string())];
    let checked = Checked::of(DATABASE_PATH_MIGRATION, &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    let dir = project_folder(&[("001_app.sql", DATABASE_PATH_MIGRATION)], &specs);
    let db = empty_db("handed_over_search_path").await;
    apply_migrations(&db, &dir.path().join("migrations")).await;
    let (code, text, run) = handed_over_check(&dir, &db);
    assert_eq!(code, Some(0), "{text}");
    let proven: Vec<(&str, &str)> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "probe.property" || f["code"] == "function.property")
        .map(|f| (f["object"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        proven,
        [
            ("app.accounts.deposits", "pass"),
            ("deposit(integer, integer)", "pass")
        ],
        "{text}"
    );
}

/// The database document that accepts the role settings a migration stores: the tests
/// below are about a role's search path, which `role.settings` fails on a throw-away
/// server unless the document says so.
fn accepting_role_settings() -> (&'static str, String) {
    (
        "_database.yaml",
        "database:\n  allow_role_settings: true\n".to_string(),
    )
}

#[test]
fn a_search_path_a_migration_gives_its_role_does_not_redirect_the_probes() {
    // A migration sets its role's search path to `app, public`, and the throw-away
    // server's probing sessions open as that role. Named bare, `public.t`'s sample row
    // and cases went to `app.t`, whose CHECK allows up to 1,000: `public.t`'s rule, which
    // allows up to 100, then failed on values `app.t` accepted. Every table must be
    // probed as itself.
    let migration = format!(
        "{}ALTER ROLE CURRENT_USER SET search_path = app, public;\n",
        two_schemas_migration(1000)
    );
    let mut specs = two_schemas_specs();
    specs.push(accepting_role_settings());
    let checked = Checked::of(&migration, &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&[
        "t.samples",
        "t.t_n_check",
        "app.t.samples",
        "app.t.t_n_check",
    ]);
}

/// `t` whose column `a` is a domain over `numeric(12,2)` (through a second domain) and
/// whose CHECK bounds it by `check`.
fn domain_check_migration(check: &str) -> String {
    format!(
        "CREATE DOMAIN money_base AS numeric(12,2);\n\
         CREATE DOMAIN amount AS money_base;\n\
         CREATE TABLE t (id int PRIMARY KEY, a amount NOT NULL CONSTRAINT t_a_check CHECK ({check}));\n"
    )
}

#[test]
fn a_range_rule_on_a_domain_column_steps_at_its_base_types_scale() {
    // The cases of a range rule step at the column's scale (0.01 for `numeric(12,2)`).
    // The scale was read from the column's type name, and a domain's name says nothing,
    // so a domain over `numeric(12,2)` was stepped by 1: a CHECK of `a > 0.5` where the
    // spec says `a > 0` agreed on every case tried (0 refused, 1 accepted) and passed.
    let t = "table: t\ncolumns:\n  id: { type: integer, nullable: false }\n  \
             a: { type: amount, nullable: false }\nprimary_key: { columns: [id] }\n\
             checks:\n  t_a_check:\n    rule: { range: { column: a, gt: 0 } }\n\
             privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
             samples:\n  - { id: 1, a: 5 }\n";
    let public = "schema: public\ntypes:\n  money_base: { domain: \"numeric(12,2)\" }\n  \
                  amount: { domain: money_base }\n";
    let specs = [
        ("t.yaml", t.to_string()),
        ("_schema.public.yaml", public.to_string()),
    ];
    let checked = Checked::of(&domain_check_migration("a > 0"), &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&["t.t_a_check"]);
    let drifted = Checked::of(&domain_check_migration("a > 0.5"), &specs, &[]);
    let (status, message) = drifted.probe("t.t_a_check");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("a = 0.01 rejected"), "{message}");
}

/// Tables `k` and `s` whose keys are of domains (over `bigint` and `text`) and whose
/// CHECKs bound `n` by `high`, each referenced by another table, so that their sample rows
/// stay in while their CHECKs are probed.
fn domain_keys_migration(high: u32) -> String {
    format!(
        "CREATE DOMAIN ident AS bigint;\n\
         CREATE DOMAIN label AS text;\n\
         CREATE TABLE k (id ident PRIMARY KEY, n int NOT NULL CONSTRAINT k_n_check CHECK (n >= 0 AND n <= {high}));\n\
         CREATE TABLE r (id int PRIMARY KEY, k_id ident REFERENCES k (id));\n\
         CREATE TABLE s (code label PRIMARY KEY, n int NOT NULL CONSTRAINT s_n_check CHECK (n >= 0 AND n <= {high}));\n\
         CREATE TABLE q (id int PRIMARY KEY, s_code label REFERENCES s (code));\n"
    )
}

#[test]
fn a_kept_sample_rows_key_of_a_domain_is_kept_apart_from_the_cases() {
    // A table another refers to keeps its sample row while its CHECKs are probed, so each
    // case needs a key of its own: a whole-number key gets one past the highest, a text
    // key a prefix. Whether a key was a whole number or text was read from the column's
    // type name, and a domain's name says neither: every case collided with the kept row
    // on the key (23505), no value was accepted, and both CHECKs were skips. The same
    // reading of the type decides a property row's key (below).
    let (ident, label) = (
        "  id: { type: ident, nullable: false }\n",
        "  code: { type: label, nullable: false }\n",
    );
    let kept = |table: &str, key: &str, column: &str, sample: &str| {
        format!(
            "table: {table}\ncolumns:\n{column}  \"n\": {{ type: integer, nullable: false }}\n\
             primary_key: {{ columns: [{key}] }}\nchecks:\n  {table}_n_check:\n    \
             rule: {{ range: {{ column: \"n\", gte: 0, lte: 100 }} }}\n\
             privileges: {{ owner: $migrator, public: [] }}\nrow_security: {{ enabled: false }}\n\
             samples:\n  - {{ {key}: {sample}, \"n\": 5 }}\n"
        )
    };
    let referring = |table: &str, column: &str, ty: &str, to: &str, key: &str| {
        format!(
            "table: {table}\ncolumns:\n  id: {{ type: integer, nullable: false }}\n  \
             {column}: {{ type: {ty} }}\nprimary_key: {{ columns: [id] }}\n\
             foreign_keys:\n  {table}_{column}_fkey:\n    columns: [{column}]\n    \
             references: {{ table: {to}, columns: [{key}] }}\n\
             privileges: {{ owner: $migrator, public: [] }}\nrow_security: {{ enabled: false }}\n"
        )
    };
    // A property's row of `k` needs a key of its own too; drawn for a type it did not know,
    // it was left out, and the property failed on a NULL key (23502): a false FAIL.
    let property = "properties:\n  kept:\n    description: A row of k can be built and read back.\n    \
                    given:\n      row: { row: { table: k } }\n    actions:\n      look:\n        \
                    sql: SELECT \"n\" FROM k WHERE id = :row.id\n        \
                    expect: [\"(SELECT count(*) FROM result) = 1\"]\n    steps: { min: 1, max: 2 }\n";
    let specs = [
        ("k.yaml", kept("k", "id", ident, "1") + property),
        ("s.yaml", kept("s", "code", label, "a")),
        ("r.yaml", referring("r", "k_id", "ident", "k", "id")),
        ("q.yaml", referring("q", "s_code", "label", "s", "code")),
        (
            "_schema.public.yaml",
            "schema: public\ntypes:\n  ident: { domain: bigint }\n  label: { domain: text }\n"
                .to_string(),
        ),
    ];
    let checked = Checked::of(&domain_keys_migration(100), &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&[
        "k.samples",
        "s.samples",
        "k.k_n_check",
        "s.s_n_check",
        "k.kept",
    ]);
    // A CHECK stricter than its spec is found through the cases that now reach it.
    let drifted = Checked::of(&domain_keys_migration(90), &specs, &[]);
    for object in ["k.k_n_check", "s.s_n_check"] {
        let (status, message) = drifted.probe(object);
        assert_eq!(status, "fail", "{object}: {message}");
    }
}

/// `t` whose column `m` is an enum of three labels and whose CHECK allows `allowed` of them.
fn enum_check_migration(allowed: &str) -> String {
    format!(
        "CREATE TYPE mood AS ENUM ('ok', 'sad', 'meh');\n\
         CREATE TABLE t (id int PRIMARY KEY, m mood NOT NULL CONSTRAINT t_m_check CHECK (m IN ({allowed})));\n"
    )
}

#[test]
fn a_list_rule_on_an_enum_column_is_probed_with_the_enums_labels() {
    // A `one_of` rule's cases outside the list were random text and variants of the
    // list's values. On an enum column the type's own input refuses all of them (22P02)
    // before the CHECK is asked, so no value was ever rejected on the rule's account and
    // the rule was a skip, whatever the CHECK allowed. The enum's other labels are the
    // values the CHECK must refuse.
    let t = "table: t\ncolumns:\n  id: { type: integer, nullable: false }\n  \
             m: { type: mood, nullable: false }\nprimary_key: { columns: [id] }\n\
             checks:\n  t_m_check:\n    rule: { one_of: { column: m, values: [ok, meh] } }\n\
             privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
             samples:\n  - { id: 1, m: ok }\n";
    let public = "schema: public\ntypes:\n  mood: { enum: [ok, sad, meh] }\n";
    let specs = [
        ("t.yaml", t.to_string()),
        ("_schema.public.yaml", public.to_string()),
    ];
    let checked = Checked::of(&enum_check_migration("'ok', 'meh'"), &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&["t.t_m_check"]);
    let (_, message) = checked.probe("t.t_m_check");
    assert!(
        message.contains("rejected by t_m_check") && !message.contains(" 0 rejected"),
        "{message}"
    );
    // A CHECK that lets a third label in: `sad` is accepted where the rule refuses it.
    let drifted = Checked::of(&enum_check_migration("'ok', 'meh', 'sad'"), &specs, &[]);
    assert_eq!(drifted.code, Some(1), "{}", drifted.text);
    let (status, message) = drifted.probe("t.t_m_check");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("sad"), "{message}");
}

/// The migration of [`a_search_path_a_migration_gives_its_role_does_not_redirect_the_probes_casts`]:
/// `public.t` whose columns have types of `public` (an enum, an array of it, a domain)
/// named as types of `app`, which the role's search path puts first; `t_n_check` bounds
/// `n` by `high`.
fn shadowed_types_migration(high: u32) -> String {
    format!(
        "CREATE SCHEMA app;\n\
         CREATE TYPE public.mood AS ENUM ('ok', 'sad');\n\
         CREATE TYPE app.mood AS ENUM ('x', 'y');\n\
         CREATE DOMAIN public.score AS integer;\n\
         CREATE DOMAIN app.score AS integer CHECK (VALUE < 0);\n\
         CREATE TABLE t (id int PRIMARY KEY, m mood NOT NULL, ms mood[] NOT NULL, \
           n score NOT NULL CONSTRAINT t_n_check CHECK (n >= 0 AND n <= {high}));\n\
         ALTER ROLE CURRENT_USER SET search_path = app, public;\n"
    )
}

#[test]
fn a_search_path_a_migration_gives_its_role_does_not_redirect_the_probes_casts() {
    // The same search path, with types of `app` named as those of `public`. The catalog
    // read prints `public.mood` bare (its search path is `public`), and the probes cast
    // every value to its column's type: a bare `::mood` meant `app.mood`, whose labels
    // are others, so the sample row failed (22P02, `invalid input value for enum mood:
    // "ok"`) and every case of the CHECK was refused with it, which left the rule a skip.
    // A bare `::score` in the query that asks the spec's rule of the rejected cases met
    // `app.score`, which refuses them all; each such case then counted as a rejection
    // that agrees with the rule, and a CHECK stricter than its spec passed.
    let t = "table: t\ncolumns:\n  id: { type: integer, nullable: false }\n  \
             m: { type: mood, nullable: false }\n  ms: { type: \"mood[]\", nullable: false }\n  \
             \"n\": { type: score, nullable: false }\nprimary_key: { columns: [id] }\n\
             checks:\n  t_n_check:\n    rule: { range: { column: \"n\", gte: 0, lte: 100 } }\n\
             privileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n\
             samples:\n  - { id: 1, m: ok, ms: [ok, sad], \"n\": 5 }\n";
    let public =
        "schema: public\ntypes:\n  mood: { enum: [ok, sad] }\n  score: { domain: integer }\n";
    // `app` holds only the types that shadow `public`'s, and no spec describes it: the
    // database document accepts it unread, beside the role's search path.
    let specs = [
        ("t.yaml", t.to_string()),
        ("_schema.public.yaml", public.to_string()),
        (
            "_database.yaml",
            "database:\n  allow_role_settings: true\n  extra_schemas: [app]\n".to_string(),
        ),
    ];
    let checked = Checked::of(&shadowed_types_migration(100), &specs, &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.text);
    checked.assert_passed(&["t.samples", "t.t_n_check"]);

    // A CHECK stricter than its spec: the cases from 91 to 100 are refused by it while the
    // rule accepts them.
    let drifted = Checked::of(&shadowed_types_migration(90), &specs, &[]);
    assert_eq!(drifted.code, Some(1), "{}", drifted.text);
    let (status, message) = drifted.probe("t.t_n_check");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("so it must be accepted"), "{message}");
}
