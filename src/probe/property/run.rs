//! Running every property of a spec set, each in its own rolled-back transaction.

use sqlx::PgConnection;

use super::plan::Plan;
use super::prepared::Statements;
use super::prove;
use super::rowgen::RowContext;
use crate::catalog::Schema;
use crate::error::Result;
use crate::probe::sequences::SequenceFed;
use crate::probe::session;
use crate::probe::ProbeConfig;
use crate::spec::SpecSet;
use crate::verify::{Finding, Status};

/// Run every property of every spec, each in its own rolled-back transaction. A property
/// that cannot run on this database (a table it needs is missing, a row cannot be built)
/// is skipped with the reason.
pub async fn run_properties(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    let fed = SequenceFed::load(conn).await?;
    let ctx = RowContext {
        specs,
        schema,
        fed: &fed,
    };
    let mut out = Vec::new();
    for unit in units(&ctx) {
        match unit {
            Ok(plan) => out.extend(run_plan(conn, &plan, schema, config).await?),
            Err(skipped) => out.extend(skipped),
        }
    }
    Ok(out)
}

/// Every declared property in spec order: its compiled plan, or the skip findings that say
/// why it cannot run on this database. Each plan is one unit of probe work.
pub(crate) fn units<'a>(ctx: &RowContext<'a>) -> Vec<std::result::Result<Plan<'a>, Vec<Finding>>> {
    let mut out = Vec::new();
    let specs: &'a SpecSet = ctx.specs;
    for loaded in &specs.specs {
        for (name, prop) in &loaded.spec.properties {
            out.push(
                Plan::compile(ctx, loaded, name, prop)
                    .map_err(|reason| not_compiled(loaded, name, prop, &reason)),
            );
        }
    }
    out
}

/// Prove one compiled property in a transaction of its own, rolled back whatever happens.
pub(crate) async fn run_plan(
    conn: &mut PgConnection,
    plan: &Plan<'_>,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    let mut statements = Statements::default();
    let mut tx = session::begin(conn).await?;
    let result = prove::prove(&mut tx, plan, schema, config, &mut statements).await;
    session::finish(tx).await;
    statements.release(conn).await;
    result
}

/// Skip findings for a property that could not be compiled against this database.
fn not_compiled(
    loaded: &crate::spec::LoadedSpec,
    name: &str,
    prop: &crate::spec::PropertySpec,
    reason: &str,
) -> Vec<Finding> {
    // As the structural findings name it: bare in the default schema, else `schema.table`.
    let table = &crate::catalog::relation_key(&loaded.spec.schema, &loaded.spec.table);
    let objects = std::iter::once((
        crate::probe::PROPERTY_CODE,
        table.clone(),
        format!("{table}.{name}"),
    ))
    .chain(prop.proves.iter().map(|o| {
        if o.contains('(') {
            ("function.property", table.clone(), o.clone())
        } else {
            (
                "trigger.property",
                super::plan::trigger_table(loaded, o),
                o.clone(),
            )
        }
    }));
    objects
        .map(|(code, t, object)| {
            let mut f = crate::probe::probe_finding(
                code,
                &t,
                object,
                Status::Skip,
                format!("not run: {reason} (property {table}.{name})"),
            );
            f.location = Some(loaded.location(&["properties", name]));
            f.requirements = if prop.requirements.is_empty() {
                loaded.spec.requirements.clone()
            } else {
                prop.requirements.clone()
            };
            f
        })
        .collect()
}
