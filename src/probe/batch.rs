//! Running thousands of probe cases in a few round trips: a temporary PL/pgSQL function
//! takes a batch of cases, runs each in its own subtransaction, and returns what PostgreSQL
//! said — the SQLSTATE and, for constraint violations, the constraint's name.
//!
//! A case that succeeds is still rolled back (by raising a private SQLSTATE), so cases
//! never see each other's rows.
//!
//! Cases that insert the same columns share one prepared statement: the function prepares
//! it once and then runs `EXECUTE name(values …)` per case, so the server parses and plans
//! the insert once per batch instead of once per case. The values all the cases share (the
//! sample row's) are written into the statement; the values that differ are its
//! parameters. Either way they are the very expressions, with the very casts, that the
//! plain `INSERT … VALUES` would carry, evaluated as the insert runs. Nothing is guessed
//! where the two could differ: the cases of a shape whose statement cannot be prepared,
//! and any case that `EXECUTE` refuses with a SQLSTATE of class 0A or 42 (it allows no
//! subquery among its values), run again as plain inserts, so their verdicts are the plain
//! statement's.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// The SQLSTATE the batch function reports for a statement that PostgreSQL accepted.
pub const ACCEPTED: &str = "RV000";

/// Reported for an accepted insert whose varied value a trigger replaced: the case did not
/// test the value it meant to, so it is inconclusive.
pub const OVERRIDDEN: &str = "RV001";

/// Reported for a case whose shared statement could not be prepared; such a case never
/// reaches the caller, because [`run`] runs it again as a plain insert.
const NOT_PREPARED: &str = "RV002";

const INSTALL: &str = r#"
CREATE OR REPLACE FUNCTION pg_temp.reims_verify_probe(
  prepares text[], names text[], shapes int[], stmts text[])
RETURNS TABLE (state text, constraint_name text, rule_holds boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  i int;
  j int;
  prepared boolean[];
  kept boolean;
  holds_stored boolean;
  cname text;
BEGIN
  FOR j IN 1 .. coalesce(array_length(prepares, 1), 0) LOOP
    BEGIN
      EXECUTE prepares[j];
      prepared[j] := true;
    EXCEPTION WHEN OTHERS THEN
      prepared[j] := false;
    END;
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(stmts, 1), 0) LOOP
    IF shapes[i] IS NOT NULL AND NOT prepared[shapes[i]] THEN
      state := 'RV002';
      constraint_name := NULL;
      rule_holds := NULL;
      RETURN NEXT;
      CONTINUE;
    END IF;
    kept := NULL;
    holds_stored := NULL;
    BEGIN
      -- The statement returns (varied values kept?, rule holds on the stored row?).
      EXECUTE stmts[i] INTO kept, holds_stored;
      RAISE EXCEPTION 'accepted' USING ERRCODE = 'RV000';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
      constraint_name := nullif(cname, '');
      IF SQLSTATE = 'RV000' THEN
        state := CASE WHEN kept IS FALSE THEN 'RV001' ELSE 'RV000' END;
        rule_holds := holds_stored;
      ELSE
        state := SQLSTATE;
        rule_holds := NULL;
      END IF;
      RETURN NEXT;
    END;
  END LOOP;
  FOR j IN 1 .. coalesce(array_length(names, 1), 0) LOOP
    IF prepared[j] THEN
      EXECUTE 'DEALLOCATE ' || quote_ident(names[j]);
    END IF;
  END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION pg_temp.reims_verify_rule_holds(query text)
RETURNS boolean[]
LANGUAGE plpgsql AS $fn$
DECLARE
  holds boolean[];
BEGIN
  EXECUTE query INTO holds;
  RETURN coalesce(holds, '{}');
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END
$fn$;
"#;

/// Install the batch functions (in `pg_temp`, so they vanish with the session and are
/// rolled back with the probe transaction).
pub async fn install(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(INSTALL)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("installing the probe batch function", &e))?;
    Ok(())
}

/// What PostgreSQL said about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// [`ACCEPTED`], or the SQLSTATE of the error.
    pub state: String,
    /// The violated constraint, for constraint errors.
    pub constraint: Option<String>,
    /// The rule's own verdict on the case (`SELECT rule IS NOT FALSE`), when one was given.
    pub rule_holds: Option<bool>,
}

impl Verdict {
    /// PostgreSQL accepted the statement.
    pub fn accepted(&self) -> bool {
        self.state == ACCEPTED
    }
}

/// One case: the row to insert, column by column, and which of its columns carry the
/// varied values (whose stored value must equal the value sent).
pub struct CaseRow {
    /// `(quoted column, type, expression)`, in the order the insert lists them; each is
    /// sent as `(expression)::type`.
    pub values: Vec<(String, String, String)>,
    /// Indexes into `values` of the varied columns, in the order they are compared.
    pub kept: Vec<usize>,
}

/// Columns with their types, and the varied ones: what cases sharing a statement share.
type Shape<'a> = (Vec<(&'a str, &'a str)>, &'a [usize]);

impl CaseRow {
    fn cast(&self, k: usize) -> String {
        let (_, ty, expr) = &self.values[k];
        format!("({expr})::{ty}")
    }

    /// What cases must share to share a prepared statement: columns, types, varied ones.
    fn shape(&self) -> Shape<'_> {
        (
            self.values
                .iter()
                .map(|(c, t, _)| (c.as_str(), t.as_str()))
                .collect(),
            &self.kept,
        )
    }
}

/// The insert every case of one batch runs: its table and clauses.
pub struct Insert<'a> {
    /// The table, quoted.
    pub table: &'a str,
    /// Whether the insert needs `OVERRIDING SYSTEM VALUE`.
    pub overriding: bool,
    /// The rule, as SQL over the table's columns; `RETURNING` asks it of the stored row.
    pub rule: &'a str,
}

impl Insert<'_> {
    /// `INSERT INTO t (columns) VALUES (values) RETURNING (kept), (rule) IS NOT FALSE`,
    /// where `sent(k)` is the SQL of the row's `k`-th value.
    fn statement(&self, row: &CaseRow, sent: impl Fn(usize) -> String) -> String {
        let columns: Vec<&str> = row.values.iter().map(|(c, _, _)| c.as_str()).collect();
        let values: Vec<String> = (0..row.values.len()).map(&sent).collect();
        let kept: Vec<String> = row
            .kept
            .iter()
            .map(|&k| {
                format!(
                    "({}::text IS NOT DISTINCT FROM ({})::text)",
                    row.values[k].0,
                    sent(k)
                )
            })
            .collect();
        format!(
            "INSERT INTO {} ({}){} VALUES ({}) RETURNING ({}), ({}) IS NOT FALSE",
            self.table,
            columns.join(", "),
            if self.overriding {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            },
            values.join(", "),
            if kept.is_empty() {
                "true".to_string()
            } else {
                kept.join(" AND ")
            },
            self.rule
        )
    }

    /// The plain statement of one case, its values written inline.
    pub fn plain(&self, row: &CaseRow) -> String {
        self.statement(row, |k| row.cast(k))
    }

    /// `PREPARE name(types) AS` the statement of rows shaped like `row`: the values at the
    /// positions in `varied` become parameters, in order; the others are written inline, as
    /// every row of the group has them.
    fn prepare(&self, name: &str, row: &CaseRow, varied: &[usize]) -> String {
        let types: Vec<&str> = varied.iter().map(|&k| row.values[k].1.as_str()).collect();
        let statement = self.statement(row, |k| match varied.iter().position(|&v| v == k) {
            Some(p) => format!("${}", p + 1),
            None => row.cast(k),
        });
        if types.is_empty() {
            format!("PREPARE {} AS {statement}", quote_ident(name))
        } else {
            format!(
                "PREPARE {}({}) AS {statement}",
                quote_ident(name),
                types.join(", ")
            )
        }
    }

    /// `EXECUTE name(values)` for one case: the values at the `varied` positions.
    fn execute(&self, name: &str, row: &CaseRow, varied: &[usize]) -> String {
        if varied.is_empty() {
            return format!("EXECUTE {}", quote_ident(name));
        }
        let args: Vec<String> = varied.iter().map(|&k| row.cast(k)).collect();
        format!("EXECUTE {}({})", quote_ident(name), args.join(", "))
    }
}

/// Names prepared statements uniquely within the process (and so within each session).
static PREPARED: AtomicU64 = AtomicU64::new(0);

/// Cases sent in one call of the batch function.
const CHUNK: usize = 2000;

/// Run the cases of one insert, in one round trip per chunk of cases. Cases with the same
/// columns, types and varied columns share one prepared statement, whose parameters are
/// the values that differ among them.
pub async fn run(
    conn: &mut PgConnection,
    insert: &Insert<'_>,
    rows: &[CaseRow],
) -> Result<Vec<Verdict>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        // Group the cases by shape, in first-seen order.
        let mut groups: Vec<(Shape<'_>, Vec<usize>)> = Vec::new();
        let mut group_of: Vec<usize> = Vec::with_capacity(chunk.len());
        for row in chunk {
            let shape = row.shape();
            let j = match groups.iter().position(|(s, _)| *s == shape) {
                Some(j) => j,
                None => {
                    groups.push((shape, Vec::new()));
                    groups.len() - 1
                }
            };
            groups[j].1.push(group_of.len());
            group_of.push(j);
        }
        // A value every case of a group shares is written into its statement; the others
        // are the parameters.
        let mut prepares: Vec<String> = Vec::with_capacity(groups.len());
        let mut names: Vec<String> = Vec::with_capacity(groups.len());
        let mut varied: Vec<Vec<usize>> = Vec::with_capacity(groups.len());
        for (_, members) in &groups {
            let first = &chunk[members[0]];
            let differs: Vec<usize> = (0..first.values.len())
                .filter(|&k| {
                    members
                        .iter()
                        .any(|&i| chunk[i].values[k].2 != first.values[k].2)
                })
                .collect();
            let name = format!(
                "reims_verify_case_{}",
                PREPARED.fetch_add(1, Ordering::Relaxed)
            );
            prepares.push(insert.prepare(&name, first, &differs));
            names.push(name);
            varied.push(differs);
        }
        let stmts: Vec<String> = chunk
            .iter()
            .zip(&group_of)
            .map(|(row, &j)| insert.execute(&names[j], row, &varied[j]))
            .collect();
        // 1-based, as PL/pgSQL arrays are.
        let shapes: Vec<Option<i32>> = group_of.iter().map(|&j| Some(j as i32 + 1)).collect();
        let mut verdicts = call(conn, &prepares, &names, &shapes, &stmts).await?;
        // Again as plain inserts: the cases of a shape that could not be prepared, and
        // any case `EXECUTE` refused for a reason of its own (it allows no subquery in its
        // values, where `VALUES` does: SQLSTATE 0A000; its other limits are in class 42).
        let again: Vec<usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                v.state == NOT_PREPARED || v.state.starts_with("0A") || v.state.starts_with("42")
            })
            .map(|(i, _)| i)
            .collect();
        if !again.is_empty() {
            let plain: Vec<String> = again.iter().map(|i| insert.plain(&chunk[*i])).collect();
            let none = vec![None; plain.len()];
            let redone = call(conn, &[], &[], &none, &plain).await?;
            for (i, v) in again.into_iter().zip(redone) {
                verdicts[i] = v;
            }
        }
        out.extend(verdicts);
    }
    Ok(out)
}

/// One call of the batch function.
async fn call(
    conn: &mut PgConnection,
    prepares: &[String],
    names: &[String],
    shapes: &[Option<i32>],
    stmts: &[String],
) -> Result<Vec<Verdict>> {
    let rows: Vec<(String, Option<String>, Option<bool>)> = sqlx::query_as(
        "SELECT state, constraint_name, rule_holds \
           FROM pg_temp.reims_verify_probe($1, $2, $3, $4)",
    )
    .bind(prepares)
    .bind(names)
    .bind(shapes)
    .bind(stmts)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("running a probe batch", &e))?;
    Ok(rows
        .into_iter()
        .map(|(state, constraint, rule_holds)| Verdict {
            state,
            constraint,
            rule_holds,
        })
        .collect())
}

/// Run `query`, which yields one `boolean[]`, in a subtransaction, in one round trip:
/// `None` when PostgreSQL raised an error (a value that cannot be evaluated), which the
/// subtransaction undid, so the probe transaction stays usable.
pub async fn rule_holds(conn: &mut PgConnection, query: &str) -> Result<Option<Vec<bool>>> {
    sqlx::query_scalar("SELECT pg_temp.reims_verify_rule_holds($1)")
        .bind(query)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("evaluating a rule", &e))
}
