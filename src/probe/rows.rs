//! Rows for probes: the specs' sample rows as SQL, inserted in foreign-key order so that
//! every table's parents exist, and turned into base rows that vary one thing at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::PgConnection;

use super::probe_finding;
use super::sample_batch::{self, Attempt, Tried};
use super::sequences::SequenceFed;
use super::session::{sqlstate, tables_lacking, Blocked};
use crate::catalog::{ConstraintKind, Relation, Schema};
use crate::error::Result;
use crate::spec::{SampleValue, SpecSet};
use crate::sql::{quote_ident, quote_literal};
use crate::verify::{Finding, Status};

pub use super::Row;

/// One sample value as an SQL expression; arrays become PostgreSQL array literals, maps
/// JSON text, null NULL.
pub fn sample_sql(value: &SampleValue) -> String {
    value_sql(&value.0)
}

fn value_sql(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => quote_literal(&n.to_string()),
        Value::String(s) => quote_literal(s),
        Value::Array(items) => quote_literal(&array_literal(items)),
        Value::Object(_) => quote_literal(&v.to_string()),
    }
}

fn array_literal(items: &[serde_json::Value]) -> String {
    use serde_json::Value;
    let parts: Vec<String> = items
        .iter()
        .map(|i| match i {
            Value::Null => "NULL".into(),
            Value::Array(inner) => array_literal(inner),
            Value::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
            Value::Object(_) => format!(
                "\"{}\"",
                i.to_string().replace('\\', "\\\\").replace('"', "\\\"")
            ),
            other => other.to_string(),
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// `INSERT INTO t (…) VALUES (…)` with every value cast to its column's type, the table
/// named as [`super::table_sql`] names it.
pub fn insert_sql(rel: &Relation, row: &Row) -> String {
    insert_sql_overriding(rel, row, false)
}

/// [`insert_sql`], with `OVERRIDING SYSTEM VALUE` when `overriding` (an explicit value for
/// a `GENERATED ALWAYS` identity column).
pub fn insert_sql_overriding(rel: &Relation, row: &Row, overriding: bool) -> String {
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for (col, expr) in row {
        let ty = rel.column(col).map(|c| c.type_sql()).unwrap_or("text");
        cols.push(quote_ident(col));
        vals.push(format!("({expr})::{ty}"));
    }
    format!(
        "INSERT INTO {} ({}){} VALUES ({})",
        super::table_sql(&rel.schema, &rel.name),
        cols.join(", "),
        if overriding {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        },
        vals.join(", ")
    )
}

/// `SELECT (rule) IS NOT FALSE FROM (SELECT … AS col, …) AS t`: the rule's own verdict on
/// a row, with the same casts the insert applies. Columns the row leaves out read as NULL.
/// Only `columns` (those the rule reads) are projected.
pub fn rule_sql_for_row(rel: &Relation, row: &Row, rule_sql: &str, columns: &[&str]) -> String {
    let cols: Vec<String> = rel
        .columns
        .iter()
        .filter(|c| columns.contains(&c.name.as_str()))
        .map(|c| match row.get(&c.name) {
            Some(expr) => format!("({expr})::{} AS {}", c.type_sql(), quote_ident(&c.name)),
            None => format!("NULL::{} AS {}", c.type_sql(), quote_ident(&c.name)),
        })
        .collect();
    format!(
        "SELECT ({rule_sql}) IS NOT FALSE FROM (SELECT {}) AS {}",
        cols.join(", "),
        quote_ident(&rel.name)
    )
}

/// One spec's sample rows, as SQL.
pub fn samples_of(loaded: &crate::spec::LoadedSpec) -> Vec<Row> {
    loaded
        .spec
        .samples
        .iter()
        .map(|r| r.iter().map(|(k, v)| (k.clone(), sample_sql(v))).collect())
        .collect()
}

/// Columns covered by a primary key, UNIQUE constraint or unique index.
pub fn unique_columns(rel: &Relation) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in &rel.constraints {
        if matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique) {
            out.extend(c.columns.iter().cloned());
        }
    }
    for idx in rel.indexes.iter().filter(|i| i.unique) {
        for col in &rel.columns {
            if idx.keys.iter().any(|k| mentions(k, &col.name)) {
                out.insert(col.name.clone());
            }
        }
    }
    out
}

fn mentions(expr: &str, col: &str) -> bool {
    expr.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == col)
}

/// Copies of a sample row that will not collide with rows already inserted, one per case:
/// unique columns with a default are left to their default (absent), unique text columns
/// get a per-case prefix, and the rest, with the columns under test, stay as they are. The
/// decisions are made once per sample row, not again for every case varied from it.
pub struct Decollider<'r> {
    columns: Vec<(&'r str, &'r str, bool)>,
}

impl<'r> Decollider<'r> {
    /// The decisions for `row`, leaving `keep` (the columns under test) alone. `unique` is
    /// [`unique_columns`] of `rel`, which the caller works out once per table.
    pub fn new(rel: &Relation, unique: &BTreeSet<String>, row: &'r Row, keep: &[&str]) -> Self {
        let mut columns = Vec::with_capacity(row.len());
        for (col, expr) in row {
            if !unique.contains(col) || keep.contains(&col.as_str()) {
                columns.push((col.as_str(), expr.as_str(), false));
                continue;
            }
            let Some(c) = rel.column(col) else { continue };
            if c.default.is_some() {
                continue;
            }
            let ty = c.value_type();
            let texty = ty.starts_with("character") || ty == "text" || ty.starts_with("varchar");
            columns.push((col.as_str(), expr.as_str(), texty));
        }
        Decollider { columns }
    }

    /// The row of case number `case`, with room for `extra` more columns.
    pub fn row_with_room(&self, case: usize, extra: usize) -> Row {
        let mut out = Row::with_capacity(self.columns.len() + extra);
        for &(col, expr, prefixed) in &self.columns {
            let value = if prefixed {
                format!("'p{case}x' || {expr}")
            } else {
                expr.to_string()
            };
            out.insert(col.to_string(), value);
        }
        out
    }
}

/// Every column of a table quoted, with its type, made once for all the table's cases:
/// quoting and copying them again for every column of every case was a third of the
/// client's work in the constraint probes. Cases share the strings (see
/// [`super::batch::CaseRow`]).
pub struct TypedColumns {
    by_name: HashMap<String, (Arc<str>, Arc<str>)>,
}

impl TypedColumns {
    /// The columns of `rel`.
    pub fn of(rel: &Relation) -> Self {
        let by_name = rel
            .columns
            .iter()
            .map(|c| {
                let quoted: Arc<str> = quote_ident(&c.name).into();
                (c.name.clone(), (quoted, Arc::from(c.type_sql())))
            })
            .collect();
        TypedColumns { by_name }
    }

    /// Column `name` (unquoted) quoted, with its type; a column the table lacks is sent as
    /// `text`, and the server then names it in its refusal.
    pub fn get(&self, name: &str) -> (Arc<str>, Arc<str>) {
        match self.by_name.get(name) {
            Some((quoted, ty)) => (Arc::clone(quoted), Arc::clone(ty)),
            None => (quote_ident(name).into(), Arc::from("text")),
        }
    }
}

/// Fresh values for the whole-number key columns of a table whose sample rows stay in it
/// while its rules are probed (see [`insert_samples`]).
///
/// A case is the sample row with the rule's columns replaced, and [`Decollider`] can make
/// only a text key or a key with a default unique. Any other key of the sample is
/// repeated, so every case the rule itself accepts would be refused with 23505 by the
/// kept sample row: the rule's boundary would go unobserved, and a CHECK that drifted
/// would pass as a skip. A whole-number key column (`smallint`, `integer`, `bigint`,
/// `numeric`) that is in no foreign key of its own, has no default and no sequence
/// behind it gets one past the highest value the table holds; each case of a rule adds
/// its number to it, so that cases inserted together do not clash on it (see
/// `probe::batch`). A key that is also a foreign key
/// keeps the sample's value: another value would be refused by that foreign key instead.
///
/// The values are read in a savepoint that is always rolled back, with a statement timeout
/// of [`FRESH_KEYS_TIMEOUT`] inside it: a large table of a handed-over server whose key
/// column leads no index would otherwise be read whole. A table the role may not read, a
/// read that outlasts the timeout, or any other error gives no fresh values (the cases are
/// then inconclusive, as before). `unique` is [`unique_columns`] of `rel`, which the caller
/// has worked out for the table's cases too.
pub async fn fresh_keys(
    conn: &mut PgConnection,
    rel: &Relation,
    unique: &BTreeSet<String>,
    samples: &[Row],
    fed: &SequenceFed,
) -> Result<Row> {
    fresh_keys_within(conn, rel, unique, samples, fed, FRESH_KEYS_TIMEOUT).await
}

/// How long [`fresh_keys`] may read a table's highest keys.
pub const FRESH_KEYS_TIMEOUT: &str = "1s";

/// [`fresh_keys`] with the read bounded by `timeout` (a PostgreSQL duration).
pub async fn fresh_keys_within(
    conn: &mut PgConnection,
    rel: &Relation,
    unique: &BTreeSet<String>,
    samples: &[Row],
    fed: &SequenceFed,
    timeout: &str,
) -> Result<Row> {
    let in_foreign_keys: BTreeSet<&str> = rel
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::ForeignKey)
        .flat_map(|c| c.columns.iter().map(String::as_str))
        .collect();
    let fed_columns: BTreeSet<&str> = fed
        .columns(&crate::catalog::relation_key(&rel.schema, &rel.name))
        .iter()
        .map(|f| f.column.as_str())
        .collect();
    let columns: Vec<&str> = unique
        .iter()
        .filter_map(|name| rel.column(name))
        .filter(|c| {
            c.default.is_none()
                && whole_number(c.value_type())
                && !in_foreign_keys.contains(c.name.as_str())
                && !fed_columns.contains(c.name.as_str())
                && samples.iter().any(|s| s.contains_key(&c.name))
        })
        .map(|c| c.name.as_str())
        .collect();
    if columns.is_empty() {
        return Ok(Row::new());
    }
    let select = format!(
        "SELECT {} FROM {}",
        columns
            .iter()
            .map(|c| format!("(coalesce(max({0}), 0)::numeric + 1)::text", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", "),
        super::table_sql(&rel.schema, &rel.name)
    );
    let failed =
        |e: sqlx::Error| crate::error::Error::database("reading a table's highest keys", &e);
    // `SET LOCAL` inside the savepoint is undone with it.
    sqlx::raw_sql(&format!(
        "SAVEPOINT fresh_keys; SET LOCAL statement_timeout = {}",
        quote_literal(timeout)
    ))
    .execute(&mut *conn)
    .await
    .map_err(failed)?;
    let read = sqlx::query(&select).fetch_one(&mut *conn).await;
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT fresh_keys; RELEASE SAVEPOINT fresh_keys")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    let Ok(row) = read else {
        return Ok(Row::new());
    };
    use sqlx::Row as _;
    let mut out = Row::new();
    for (i, c) in columns.iter().enumerate() {
        if let Ok(value) = row.try_get::<String, _>(i) {
            out.insert(c.to_string(), quote_literal(&value));
        }
    }
    Ok(out)
}

/// Whole-number types, as `format_type` prints them.
fn whole_number(type_name: &str) -> bool {
    matches!(type_name, "smallint" | "integer" | "bigint") || type_name.starts_with("numeric")
}

/// The relation key of the table foreign key `c` references, if it is one.
pub(crate) fn referenced_key(c: &crate::catalog::Constraint) -> Option<String> {
    if c.kind != ConstraintKind::ForeignKey {
        return None;
    }
    let schema = c
        .ref_schema
        .as_deref()
        .unwrap_or(crate::spec::model::DEFAULT_SCHEMA);
    Some(crate::catalog::relation_key(
        schema,
        c.ref_table.as_deref()?,
    ))
}

/// The relation keys of every table, in an order where each table comes after the tables
/// it references. Tables are told apart by schema: a `b` of `app` that refers to an `a`
/// of `app` says nothing of the `a` and `b` of `public`, and the two together would make
/// a cycle that is not there.
pub fn fk_order(schema: &Schema) -> Vec<String> {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, rel) in &schema.relations {
        let entry = deps.entry(key.clone()).or_default();
        for parent in rel.constraints.iter().filter_map(referenced_key) {
            if parent != *key {
                entry.insert(parent);
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while placed.len() < deps.len() {
        let before = placed.len();
        for (t, d) in &deps {
            if !placed.contains(t.as_str())
                && d.iter()
                    .all(|p| placed.contains(p.as_str()) || !deps.contains_key(p))
            {
                placed.insert(t);
                order.push(t.clone());
            }
        }
        if placed.len() == before {
            // A cycle: place the rest in key order.
            for t in deps.keys() {
                if placed.insert(t) {
                    order.push(t.clone());
                }
            }
        }
    }
    order
}

/// The relation keys of the tables that some foreign key references: their sample rows
/// stay in the table while the probes run (see [`insert_samples`]).
pub fn referenced_tables(schema: &Schema) -> BTreeSet<String> {
    schema
        .relations
        .values()
        .flat_map(|r| r.constraints.iter())
        .filter_map(referenced_key)
        .collect()
}

/// Try every spec's sample rows, parents first. Rows of tables that other tables reference
/// are kept (the caller's transaction is rolled back at the end), so children find their
/// parents; all other rows are tried in a subtransaction and rolled back at once, so they
/// cannot collide with the probes' rows. One finding per table with samples: the schema
/// must accept the rows the spec calls valid. Sequence-fed columns get explicit values
/// (see [`SequenceFed`]). A table the role may not insert into, or an insert refused for a
/// reason that is not about the row (no privilege, read-only, a lock not granted), gives a
/// skip with that reason, never a failure.
pub async fn insert_samples(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    fed: &SequenceFed,
) -> Result<Vec<Finding>> {
    let parents = referenced_tables(schema);
    let with_samples: Vec<(&str, &str)> = specs
        .specs
        .iter()
        .filter(|l| !l.spec.samples.is_empty())
        .map(|l| (l.spec.schema.as_str(), l.spec.table.as_str()))
        .collect();
    let lacking = tables_lacking(conn, "INSERT", &with_samples).await?;
    // Every table with rows to try, parents first, and each row's insert in that order.
    let mut tables: Vec<(&Relation, &crate::spec::LoadedSpec, String, Vec<Row>)> = Vec::new();
    let mut attempts = Vec::new();
    let mut n = 0u32;
    for key in fk_order(schema) {
        let Some(rel) = schema.relations.get(&key) else {
            continue;
        };
        if rel.kind != 'r' && rel.kind != 'p' {
            continue;
        }
        // A table of the same name in another schema has a spec of its own.
        let Some(spec) = specs.relation(&rel.schema, &rel.name) else {
            continue;
        };
        let rows = samples_of(spec);
        if rows.is_empty() {
            continue;
        }
        if !lacking.contains_key(&key) {
            for row in &rows {
                let mut row = row.clone();
                let overriding = fed.fill(&key, &mut row, n);
                n += 1;
                attempts.push(Attempt {
                    sql: insert_sql_overriding(rel, &row, overriding),
                    keep: parents.contains(&key),
                });
            }
        }
        tables.push((rel, spec, key, rows));
    }
    let mut tried = sample_batch::try_in_order(conn, &attempts)
        .await?
        .tried
        .into_iter();
    // Sample rows not tried: the database does not have their table as a table.
    let mut out: Vec<Finding> = specs
        .specs
        .iter()
        .filter(|l| !l.spec.samples.is_empty())
        .filter_map(|l| {
            let reason = super::table_here(schema, l).err()?;
            let table = crate::catalog::relation_key(&l.spec.schema, &l.spec.table);
            let mut f = probe_finding(
                "probe.sample",
                &table,
                format!("{table}.samples"),
                Status::Skip,
                reason,
            );
            f.location = Some(l.location(&["samples"]));
            f.requirements = l.spec.requirements.clone();
            Some(f)
        })
        .collect();
    // Tables whose samples could not be inserted, and why, by relation key: a child's
    // missing-parent error (23503) is then that same reason, not a bad sample.
    let mut unavailable: BTreeMap<String, Blocked> = BTreeMap::new();
    for (rel, spec, label, rows) in tables {
        // Named as the structural findings name it (`app.t`, `"odd.name"`).
        let finding = |status: Status, message: String| {
            let mut f = probe_finding(
                "probe.sample",
                &label,
                format!("{label}.samples"),
                status,
                message,
            );
            f.location = Some(spec.location(&["samples"]));
            f.requirements = spec.spec.requirements.clone();
            f
        };
        if let Some(blocked) = lacking.get(&label) {
            out.push(finding(Status::Skip, blocked.0.clone()));
            unavailable.insert(label.clone(), blocked.clone());
            continue;
        }
        let blocked_parent = rel
            .constraints
            .iter()
            .filter_map(referenced_key)
            .find_map(|p| unavailable.get(&p).map(|b| (p.clone(), b.clone())));
        let mut failures = Vec::new();
        let mut blocked: Option<Blocked> = None;
        for i in 0..rows.len() {
            let e = match tried.next() {
                Some(Tried::Accepted) => continue,
                Some(Tried::Blocked(b)) => {
                    blocked.get_or_insert(b);
                    continue;
                }
                Some(Tried::Refused(e)) => e,
                // `try_in_order` gives one outcome per row; were one missing, the row
                // would have no verdict, so the run stops rather than pass it.
                None => {
                    return Err(crate::error::Error::Database {
                        context: "trying the sample rows".into(),
                        message: "fewer outcomes than rows tried".into(),
                    })
                }
            };
            if let (Some("23503"), Some((parent, why))) = (sqlstate(&e).as_deref(), &blocked_parent)
            {
                blocked.get_or_insert(Blocked(format!(
                    "not run: the rows need rows of {parent}, whose samples could not be \
                     inserted ({why})"
                )));
                continue;
            }
            failures.push(format!(
                "sample #{}: {}",
                i + 1,
                crate::error::describe_sqlx_error(&e)
            ));
        }
        let f = if !failures.is_empty() {
            let mut f = finding(Status::Fail, failures.join("; "));
            f.hint = Some("the spec calls these rows valid but the schema rejects them: fix the sample or the schema".into());
            f
        } else if let Some(b) = blocked {
            let f = finding(Status::Skip, b.0.clone());
            unavailable.insert(label.clone(), b);
            f
        } else {
            finding(
                Status::Pass,
                format!("{} sample row(s) accepted", rows.len()),
            )
        };
        out.push(f);
    }
    Ok(out)
}
