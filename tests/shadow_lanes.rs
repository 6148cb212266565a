//! The shadow built on two sessions gives what the one-session build gives: the same
//! shadow for every spec set tried (REIMS, the access-control and report fixtures, and
//! pagila and the snapshot corpus of every object kind over two schemas as `spec snapshot`
//! prints them), the same error for a spec PostgreSQL refuses (after starting
//! again on one session in a new database), and one session only for specs with partitions.

mod common;

use std::cell::Cell;
use std::path::Path;

use common::*;
use reims_verify::catalog::read_schemas;
use reims_verify::snapshot::{render_files, snapshot_schema, write_dir, Header};
use reims_verify::spec::{load_dir, SpecSet};
use reims_verify::verify::{build_shadow, build_shadow_on_two, MoreSessions, Shadow};
use sqlx::Connection;

/// What a build on two sessions asked for beside its first session.
#[derive(Default)]
struct Asked {
    second: Cell<u32>,
    fresh: Cell<u32>,
}

/// Build `specs` on one session, in an empty database of its own.
async fn on_one(specs: &SpecSet) -> reims_verify::error::Result<Shadow> {
    let db = empty_db("lanes_one").await;
    let mut conn = connect(&db).await;
    let built = build_shadow(&mut conn, specs).await;
    let _ = conn.close().await;
    built
}

/// Build `specs` on two sessions, in an empty database of its own, counting what it asked.
async fn on_two(specs: &SpecSet, asked: &Asked) -> reims_verify::error::Result<Shadow> {
    let db = empty_db("lanes_two").await;
    let again = empty_db("lanes_again").await;
    let mut conn = connect(&db).await;
    let more = MoreSessions {
        second: Box::pin(async {
            asked.second.set(asked.second.get() + 1);
            Ok(connect(&db).await)
        }),
        fresh: Box::new(|| {
            Box::pin(async {
                asked.fresh.set(asked.fresh.get() + 1);
                Ok(connect(&again).await)
            })
        }),
    };
    let built = build_shadow_on_two(&mut conn, more, specs).await;
    let _ = conn.close().await;
    built
}

/// The shadow as comparable text.
fn text(shadow: &Shadow) -> String {
    serde_json::to_string_pretty(shadow).unwrap()
}

/// The specs `spec snapshot` writes for `sql` applied to an empty database (the schemas
/// `schemas`), partitioned tables made plain ones and partitions left out, so that the
/// build splits.
async fn snapshot_without_partitions(sql: &str, schemas: &[&str], dir: &Path) -> SpecSet {
    let db = empty_db("lanes_snapshot").await;
    let mut conn = connect(&db).await;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .expect("the schema applies");
    let names: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
    let schema = read_schemas(&mut conn, &names).await.unwrap();
    let _ = conn.close().await;
    let snap = snapshot_schema(&schema).unwrap();
    let header = Header {
        source: "the test cluster".into(),
        schema: "public".into(),
        taken_at: "2025-01-01 00:00 UTC".into(),
    };
    write_dir(dir, &render_files(&snap, &header), false).unwrap();
    let mut specs = load_dir(dir).unwrap();
    specs.specs.retain(|l| l.spec.partition_of.is_none());
    for l in &mut specs.specs {
        if l.spec.partition_by.take().is_some() {
            l.spec.kind = reims_verify::spec::RelationKind::Table;
        }
    }
    specs
}

#[tokio::test]
async fn two_sessions_build_what_one_session_builds() {
    let pagila_dir = tempfile::tempdir().unwrap();
    let corpus_dir = tempfile::tempdir().unwrap();
    let corpus = corpus_sql(&empty_db("lanes_citext").await).await;
    let sets = [
        ("REIMS", load_dir(&specs_dir()).unwrap()),
        ("access", load_dir(&fixture("access/specs")).unwrap()),
        ("report", load_dir(&fixture("report/specs")).unwrap()),
        (
            "pagila",
            snapshot_without_partitions(
                &std::fs::read_to_string(fixture("pagila/pagila-schema.sql")).unwrap(),
                &["public"],
                pagila_dir.path(),
            )
            .await,
        ),
        (
            "the snapshot corpus (two schemas)",
            snapshot_without_partitions(&corpus, &["public", "app"], corpus_dir.path()).await,
        ),
    ];
    for (name, specs) in &sets {
        let one = on_one(specs).await.expect("one session builds it");
        let asked = Asked::default();
        let two = on_two(specs, &asked).await.expect("two sessions build it");
        assert_eq!(asked.second.get(), 1, "{name}: the second session was used");
        assert_eq!(
            asked.fresh.get(),
            0,
            "{name}: the split build did not start again"
        );
        assert!(
            !one.schema.relations.is_empty(),
            "{name}: the shadow has relations"
        );
        let (one, two) = (text(&one), text(&two));
        if one != two {
            let first = one
                .lines()
                .zip(two.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name}: the shadows differ from line {first}:\none: {:?}\ntwo: {:?}",
                one.lines().nth(first),
                two.lines().nth(first)
            );
        }
    }
}

#[tokio::test]
async fn a_spec_postgresql_refuses_is_reported_as_one_session_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(specs_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    // A CHECK rule PostgreSQL refuses, in the last table spec: in the second half.
    let mut specs = load_dir(dir.path()).unwrap();
    let last = specs
        .specs
        .iter_mut()
        .rfind(|l| !l.spec.kind.is_view())
        .unwrap();
    let (name, check) = last.spec.checks.iter_mut().next().expect("it has a CHECK");
    let name = name.clone();
    check.rule = reims_verify::spec::Rule::Sql("no_such_column > 0".into());
    let one = on_one(&specs).await.expect_err("one session refuses it");
    let asked = Asked::default();
    let two = on_two(&specs, &asked)
        .await
        .expect_err("two sessions refuse it");
    assert_eq!(two.to_string(), one.to_string());
    assert!(one.to_string().contains(&name), "{one}");
    assert_eq!(asked.fresh.get(), 1, "started again in a new database");
}

#[tokio::test]
async fn specs_with_partitions_are_built_on_one_session() {
    let specs = load_dir(&fixture("drift_features/specs")).unwrap();
    assert!(specs.specs.iter().any(|l| l.spec.partition_of.is_some()));
    let one = on_one(&specs).await.unwrap();
    let asked = Asked::default();
    let two = on_two(&specs, &asked).await.unwrap();
    assert_eq!((asked.second.get(), asked.fresh.get()), (0, 0));
    assert_eq!(text(&one), text(&two));
}
