//! The shadow built on two sessions, so that both cores of a machine work on it.
//!
//! On one session the shadow is PostgreSQL creating every table and every object on them
//! one after the other, while the catalog read beside it is done long before. Here the
//! tables, and then the objects on them, are split into two halves, each half created by
//! its own session and committed; what needs everything before it runs on the first
//! session alone (schemas, types and sequences first; function stubs next; sequence
//! ownership, policies, views and the objects on views last), and the result is read back
//! over both sessions.
//!
//! Nothing committed can be rolled back, so this build needs a database the run throws
//! away. Whenever anything fails, the build starts again with [`build_shadow`] on one
//! session in a new, empty database: a spec that PostgreSQL refuses is reported exactly as
//! the one-session build reports it, and a failure only the split could cause costs time,
//! never a verdict. Specs with partitions are built on one session (a parent's objects
//! reach into its partitions, which may be in the other half).

use std::future::Future;
use std::pin::Pin;

use sqlx::{Connection, PgConnection};

use super::shadow::{
    add_objects, build_shadow, create_ordered, function_stubs, has_virtual_columns, hidden_names,
    merge_view_columns, normalise_functions, prepare, read_list, sequence_ownership, table_objects,
    table_statements, view_objects, views, Item, Shadow,
};
use crate::catalog::read_schemas_on_two;
use crate::error::Result;
use crate::spec::SpecSet;

/// A session being opened.
pub type SessionFuture<'a> = Pin<Box<dyn Future<Output = Result<PgConnection>> + 'a>>;

/// The sessions a build on two sessions needs beside the one it is given.
pub struct MoreSessions<'a> {
    /// A second session on the shadow's database; opened only when the build splits.
    pub second: SessionFuture<'a>,
    /// A session on a new, empty database, where the build starts again on one session
    /// when the split build fails.
    pub fresh: Box<dyn FnOnce() -> SessionFuture<'a> + 'a>,
}

/// Build the shadow in `conn` (an empty database the run throws away) on two sessions, or
/// on one when the specs have partitions. The result is the one [`build_shadow`] gives.
pub async fn build_shadow_on_two(
    conn: &mut PgConnection,
    more: MoreSessions<'_>,
    specs: &SpecSet,
) -> Result<Shadow> {
    if !splits(specs) {
        return build_shadow(conn, specs).await;
    }
    let MoreSessions { second, fresh } = more;
    if let Some(shadow) = on_two(conn, second, specs).await {
        return Ok(shadow);
    }
    let mut again = fresh().await?;
    let built = build_shadow(&mut again, specs).await;
    let _ = again.close().await;
    built
}

/// True when no spec is a partition or partitioned.
fn splits(specs: &SpecSet) -> bool {
    specs
        .specs
        .iter()
        .all(|l| l.spec.partition_by.is_none() && l.spec.partition_of.is_none())
}

/// The split build; `None` when anything failed (the database is then left as it is).
async fn on_two(
    a: &mut PgConnection,
    second: SessionFuture<'_>,
    specs: &SpecSet,
) -> Option<Shadow> {
    // Both sessions read spec SQL, and print, as PostgreSQL does by default, whatever the
    // server says; the batches commit on their own, so the session is set, not a transaction.
    let session_settings = crate::catalog::printing_statements(false);
    let first_steps = async {
        sqlx::raw_sql(&session_settings)
            .execute(&mut *a)
            .await
            .ok()?;
        let mut tx = a.begin().await.ok()?;
        let schemas = prepare(&mut tx, specs).await.ok()?;
        tx.commit().await.ok()?;
        Some(schemas)
    };
    let opened = async {
        let mut b = second.await.ok()?;
        match sqlx::raw_sql(&session_settings).execute(&mut b).await {
            Ok(_) => Some(b),
            Err(_) => {
                let _ = b.close().await;
                None
            }
        }
    };
    let (schemas, b) = tokio::join!(first_steps, opened);
    let mut b = b?;
    let built = match schemas {
        Some(schemas) => split_steps(a, &mut b, specs).await.map(|r| (schemas, r)),
        None => None,
    };
    let Some((schemas, (functions, hidden))) = built else {
        let _ = b.close().await;
        return None;
    };
    let mut schema = read_schemas_on_two(a, async move { Ok(b) }, &read_list(schemas))
        .await
        .ok()?;
    merge_view_columns(&mut schema, &hidden);
    super::shadow::forget_database(&mut schema);
    Some(Shadow { schema, functions })
}

/// Everything after the first steps: returns the normalised functions and the hidden
/// tables of views.
async fn split_steps(
    a: &mut PgConnection,
    b: &mut PgConnection,
    specs: &SpecSet,
) -> Option<(
    Vec<super::ShadowFunction>,
    std::collections::BTreeMap<String, String>,
)> {
    let hidden = hidden_names(specs);
    let tables: Vec<String> = table_statements(specs, &hidden, has_virtual_columns(a))
        .into_iter()
        .map(|(_, sql)| sql)
        .collect();
    let (first, second) = tables.split_at(tables.len() / 2);
    let (ra, rb) = tokio::join!(run_batch(a, first), run_batch(b, second));
    ra?;
    rb?;

    let mut tx = a.begin().await.ok()?;
    let functions = normalise_functions(&mut tx, specs).await.ok()?;
    let waiting_stubs = create_ordered(&mut tx, function_stubs(specs)).await.ok()?;
    tx.commit().await.ok()?;

    // Policies may read other tables, which the other session may hold: they wait for the
    // last step, as everything that reaches beyond its own table does.
    let (own, policies): (Vec<Vec<Item>>, Vec<Item>) = {
        let mut own = Vec::new();
        let mut policies = Vec::new();
        for objects in table_objects(specs) {
            let (p, o): (Vec<Item>, Vec<Item>) = objects
                .into_iter()
                .partition(|(_, st)| st.path.first().is_some_and(|k| k == "policies"));
            own.push(o);
            policies.extend(p);
        }
        (own, policies)
    };
    let (first, second) = halves(own);
    let sql =
        |items: &[Item]| -> Vec<String> { items.iter().map(|(_, s)| s.sql.clone()).collect() };
    let (first, second) = (sql(&first), sql(&second));
    let (ra, rb) = tokio::join!(run_batch(a, &first), run_batch(b, &second));
    ra?;
    rb?;

    let mut tx = a.begin().await.ok()?;
    let mut last = policies;
    last.extend(sequence_ownership(specs));
    add_objects(&mut tx, last).await.ok()?;
    let left = create_ordered(&mut tx, views(specs, waiting_stubs))
        .await
        .ok()?;
    if !left.is_empty() {
        return None;
    }
    add_objects(&mut tx, view_objects(specs, &hidden))
        .await
        .ok()?;
    tx.commit().await.ok()?;
    Some((functions, hidden))
}

/// Split per-table lists of statements into two halves of about as many statements, each
/// table's statements staying together and in order.
fn halves(per_table: Vec<Vec<Item<'_>>>) -> (Vec<Item<'_>>, Vec<Item<'_>>) {
    let total: usize = per_table.iter().map(Vec::len).sum();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for objects in per_table {
        if first.len() < total / 2 {
            first.extend(objects);
        } else {
            second.extend(objects);
        }
    }
    (first, second)
}

/// Run statements as one batch, which PostgreSQL runs as one transaction and commits.
async fn run_batch(conn: &mut PgConnection, statements: &[String]) -> Option<()> {
    if statements.is_empty() {
        return Some(());
    }
    sqlx::raw_sql(&statements.join(";\n"))
        .execute(conn)
        .await
        .ok()
        .map(|_| ())
}
