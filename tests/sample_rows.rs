//! The specs' sample rows against a real PostgreSQL: tried in a few round trips, each row
//! gets the outcome it gets on its own (accepted, refused with the plain statement's
//! error, or not run with the reason), rows of referenced tables stay for their children,
//! and the findings say which row failed and why a child could not be tried.

mod common;

use common::*;
use reims_verify::error::describe_sqlx_error;
use reims_verify::probe::sample_batch::{self, Attempt, Tried};
use reims_verify::probe::ProbeConfig;
use reims_verify::spec::SpecSet;
use reims_verify::verify::{Finding, Status};
use sqlx::{Connection, PgConnection};

/// An outcome as the findings read it: accepted; not run, with the reason; or refused,
/// with every field of the error.
fn shown(t: &Tried) -> String {
    match t {
        Tried::Accepted => "accepted".into(),
        Tried::Blocked(b) => format!("blocked: {b}"),
        Tried::Refused(e) => {
            let pg = e
                .as_database_error()
                .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>());
            format!(
                "refused: {} detail {:?} hint {:?} constraint {:?}",
                describe_sqlx_error(e),
                pg.and_then(|d| d.detail()),
                pg.and_then(|d| d.hint()),
                pg.and_then(|d| d.constraint()),
            )
        }
    }
}

async fn count(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// The rows of every table after `attempts`, in the transaction that made them.
async fn rows_left(conn: &mut PgConnection) -> Vec<i64> {
    let mut out = Vec::new();
    // Not rv_s_locked: another session holds it.
    for t in ["rv_s_parent", "rv_s_child", "rv_s_cancel"] {
        out.push(count(conn, t).await);
    }
    out
}

#[tokio::test]
async fn sample_rows_tried_together_get_the_outcomes_they_get_one_by_one() {
    let db = empty_db("sample_rows").await;
    let mut setup = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rv_s_parent (id integer PRIMARY KEY, \
           v integer CONSTRAINT rv_s_parent_v_check CHECK (v > 0)); \
         CREATE TABLE rv_s_child (id integer PRIMARY KEY, \
           parent_id integer REFERENCES rv_s_parent (id), \
           w integer CONSTRAINT rv_s_child_w_check CHECK (w < 10)); \
         CREATE TABLE rv_s_cancel (v integer); \
         CREATE FUNCTION rv_s_cancel_13() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF NEW.v = 13 THEN \
             RAISE EXCEPTION 'cancelled on purpose' USING ERRCODE = 'query_canceled'; \
           END IF; \
           IF NEW.v = 7 THEN \
             RAISE EXCEPTION 'seven is refused' USING DETAIL = 'the detail', HINT = 'the hint'; \
           END IF; \
           RETURN NEW; \
         END $$; \
         CREATE TRIGGER rv_s_cancel_13 BEFORE INSERT ON rv_s_cancel \
           FOR EACH ROW EXECUTE FUNCTION rv_s_cancel_13(); \
         CREATE TABLE rv_s_locked (v integer);",
    )
    .execute(&mut setup)
    .await
    .unwrap();
    let attempt = |sql: &str, keep: bool| Attempt {
        sql: sql.to_string(),
        keep,
    };
    let before_cancel = vec![
        attempt("INSERT INTO rv_s_parent VALUES (1, 1)", true),
        // A CHECK refuses it; the next rows must still run, in a state without it.
        attempt("INSERT INTO rv_s_parent VALUES (2, 0)", true),
        attempt("INSERT INTO rv_s_child VALUES (1, 1, 1)", false),
        // Its parent was refused: 23503.
        attempt("INSERT INTO rv_s_child VALUES (2, 2, 1)", false),
        attempt("INSERT INTO rv_s_child VALUES (3, 1, 20)", false),
        // A trigger's own error, with a detail and a hint the finding must carry.
        attempt("INSERT INTO rv_s_cancel VALUES (7)", false),
        // Two statements in one: the function's EXECUTE runs both, as the plain query does.
        attempt(
            "INSERT INTO rv_s_cancel VALUES (1); INSERT INTO rv_s_cancel VALUES (2)",
            false,
        ),
        // Held by another session past lock_timeout: not run, with the reason.
        attempt("INSERT INTO rv_s_locked VALUES (1)", false),
        attempt("INSERT INTO rv_s_parent VALUES (3, 3)", true),
        attempt("INSERT INTO rv_s_child VALUES (4, 3, 1)", false),
    ];
    let after_cancel = vec![
        // An error no PL/pgSQL handler may catch: the call itself fails and is undone.
        attempt("INSERT INTO rv_s_cancel VALUES (13)", false),
        attempt("INSERT INTO rv_s_parent VALUES (4, 4)", true),
        attempt("INSERT INTO rv_s_child VALUES (5, 4, 1)", false),
        attempt("INSERT INTO rv_s_parent VALUES (5, -5)", true),
    ];
    let mut holder = connect(&db).await;
    let mut held = holder.begin().await.unwrap();
    sqlx::raw_sql("LOCK TABLE rv_s_locked IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *held)
        .await
        .unwrap();

    let run = |attempts: Vec<Attempt>, together: bool| {
        let db = db.clone();
        async move {
            let mut conn = connect(&db).await;
            let mut tx = conn.begin().await.unwrap();
            sqlx::raw_sql("SET LOCAL lock_timeout = '100ms'")
                .execute(&mut *tx)
                .await
                .unwrap();
            reims_verify::probe::batch::install(&mut tx).await.unwrap();
            let (tried, by_function) = if together {
                let o = sample_batch::try_in_order(&mut tx, &attempts)
                    .await
                    .unwrap();
                (o.tried, o.by_function)
            } else {
                (sample_batch::one_by_one(&mut tx, &attempts).await, 0)
            };
            let shown: Vec<String> = tried.iter().map(shown).collect();
            let left = rows_left(&mut tx).await;
            tx.rollback().await.unwrap();
            (shown, by_function, left)
        }
    };

    for attempts in [before_cancel.clone_all(), {
        let mut all = before_cancel.clone_all();
        all.extend(after_cancel.clone_all());
        all
    }] {
        let n = attempts.len();
        let (alone, _, alone_left) = run(attempts.clone_all(), false).await;
        let (together, by_function, together_left) = run(attempts, true).await;
        assert_eq!(together.len(), n);
        assert_eq!(
            together, alone,
            "outcomes differ from the rows tried one by one"
        );
        assert_eq!(together_left, alone_left, "rows left differ");
        if n == before_cancel.len() {
            // Every outcome the function can settle, it settled: rows 0, 2, 6, 8 and 9
            // accepted and the lock's refusal (7). The other refusals ran again on their
            // own.
            assert_eq!(by_function, 6, "{together:#?}");
        } else {
            // The call that met the cancel (10) was undone whole, rows 8 and 9 with it,
            // and everything from row 8 on ran on its own.
            assert_eq!(by_function, 4, "{together:#?}");
        }
    }

    let (outcomes, _, left) = run(
        {
            let mut all = before_cancel.clone_all();
            all.extend(after_cancel.clone_all());
            all
        },
        true,
    )
    .await;
    let expect = |i: usize, prefix: &str, needle: &str| {
        assert!(
            outcomes[i].starts_with(prefix) && outcomes[i].contains(needle),
            "row {i}: {}",
            outcomes[i]
        );
    };
    expect(0, "accepted", "");
    expect(1, "refused", "rv_s_parent_v_check");
    expect(2, "accepted", "");
    expect(3, "refused", "23503");
    expect(4, "refused", "rv_s_child_w_check");
    expect(5, "refused", "seven is refused");
    expect(5, "refused", "the detail");
    expect(6, "accepted", "");
    expect(7, "blocked", "55P03");
    expect(8, "accepted", "");
    expect(9, "accepted", "");
    expect(10, "refused", "57014");
    expect(11, "accepted", "");
    expect(12, "accepted", "");
    expect(13, "refused", "rv_s_parent_v_check");
    // Kept: parents 1, 3 and 4. Rolled back: every child and every other row.
    assert_eq!(left, vec![3, 0, 0]);
    held.rollback().await.unwrap();
}

/// A list of attempts, cloned (the attempts themselves need no `Clone` in the library).
trait CloneAll {
    fn clone_all(&self) -> Vec<Attempt>;
}

impl CloneAll for Vec<Attempt> {
    fn clone_all(&self) -> Vec<Attempt> {
        self.iter()
            .map(|a| Attempt {
                sql: a.sql.clone(),
                keep: a.keep,
            })
            .collect()
    }
}

async fn sample_findings(db: &str, specs: &SpecSet, role: Option<&str>) -> Vec<Finding> {
    constraint_probes_as(db, specs, role, &ProbeConfig { cases: 4, seed: 3 })
        .await
        .into_iter()
        .filter(|f| f.code == "probe.sample")
        .collect()
}

#[tokio::test]
async fn a_refused_sample_row_is_named_and_a_child_of_an_untried_parent_says_why() {
    let db = empty_db("sample_findings").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(
        "CREATE TABLE rv_f_parent (id integer PRIMARY KEY, \
           v integer CONSTRAINT rv_f_parent_v_check CHECK (v > 0)); \
         CREATE TABLE rv_f_child (id integer PRIMARY KEY, \
           parent_id integer REFERENCES rv_f_parent (id)); \
         CREATE TABLE rv_f_grandchild (id integer PRIMARY KEY, \
           child_id integer REFERENCES rv_f_child (id)); \
         CREATE TABLE rv_f_other (id integer PRIMARY KEY); \
         DO $$ BEGIN CREATE ROLE rv_f_child_writer; \
           EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
         GRANT USAGE ON SCHEMA public TO rv_f_child_writer; \
         GRANT SELECT ON rv_f_parent, rv_f_child, rv_f_grandchild, rv_f_other \
           TO rv_f_child_writer; \
         GRANT INSERT ON rv_f_child, rv_f_grandchild, rv_f_other TO rv_f_child_writer;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let (_dir, specs) = specs_of(&[
        (
            "rv_f_parent",
            "table: rv_f_parent\ncolumns:\n  id: { type: integer }\n  v: { type: integer }\n\
             samples:\n  - { id: 1, v: 1 }\n  - { id: 2, v: 0 }\n  - { id: 3, v: -3 }\n",
        ),
        (
            "rv_f_child",
            "table: rv_f_child\ncolumns:\n  id: { type: integer }\n  parent_id: { type: integer }\n\
             samples:\n  - { id: 1, parent_id: 1 }\n",
        ),
        (
            "rv_f_grandchild",
            "table: rv_f_grandchild\ncolumns:\n  id: { type: integer }\n  child_id: { type: integer }\n\
             samples:\n  - { id: 1, child_id: 1 }\n",
        ),
        (
            "rv_f_other",
            "table: rv_f_other\ncolumns:\n  id: { type: integer }\nsamples:\n  - { id: 1 }\n",
        ),
    ]);
    // The parent's second and third rows break its CHECK: one failure naming both rows,
    // while its first row is kept, so the child and grandchild find their parents.
    let findings = sample_findings(&db, &specs, None).await;
    assert_eq!(findings.len(), 4, "{findings:#?}");
    let (status, message) = status_of(&findings, "rv_f_parent.samples");
    assert_eq!(status, Status::Fail, "{message}");
    assert!(
        message.contains("sample #2:")
            && message.contains("sample #3:")
            && !message.contains("sample #1:")
            && message.contains("rv_f_parent_v_check"),
        "{message}"
    );
    for object in [
        "rv_f_child.samples",
        "rv_f_grandchild.samples",
        "rv_f_other.samples",
    ] {
        let (status, message) = status_of(&findings, object);
        assert_eq!(status, Status::Pass, "{object}: {message}");
    }

    // A role that may not insert into the parent: its samples are a skip naming the
    // privilege, the child's refusal (23503) is that same reason and not a bad sample, and
    // so is the grandchild's; a table that needs none of them still passes.
    let findings = sample_findings(&db, &specs, Some("rv_f_child_writer")).await;
    let (status, message) = status_of(&findings, "rv_f_parent.samples");
    assert_eq!(status, Status::Skip, "{message}");
    assert!(message.contains("INSERT"), "{message}");
    let (status, message) = status_of(&findings, "rv_f_child.samples");
    assert_eq!(status, Status::Skip, "{message}");
    assert!(
        message.contains("need rows of rv_f_parent, whose samples could not be inserted"),
        "{message}"
    );
    let (status, message) = status_of(&findings, "rv_f_grandchild.samples");
    assert_eq!(status, Status::Skip, "{message}");
    assert!(message.contains("need rows of rv_f_child"), "{message}");
    let (status, message) = status_of(&findings, "rv_f_other.samples");
    assert_eq!(status, Status::Pass, "{message}");
}
