//! Running thousands of probe cases in a few round trips: a temporary PL/pgSQL function
//! takes a batch of cases, runs each in its own subtransaction, and returns what PostgreSQL
//! said — the SQLSTATE and, for constraint violations, the constraint's name.
//!
//! A case that succeeds is still rolled back (by raising a private SQLSTATE), so cases
//! never see each other's rows.
//!
//! Cases a table may take together (see [`together_tables`]) and that the rule accepts are
//! first inserted in one multi-row statement, rolled back like the rest. When PostgreSQL
//! accepts it whole, each of those cases is accepted, as it would be alone; when it refuses
//! it, they run one by one like every other case. Most of a single-row insert's cost is
//! starting the statement, so this is most of the accepted cases' cost saved.
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
use std::sync::Arc;

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
  prepares text[], names text[], shapes int[], stmts text[], together_sql text[])
RETURNS TABLE (state text, constraint_name text, rule_holds boolean, together boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  i int;
  j int;
  prepared boolean[];
  kept boolean;
  holds_stored boolean;
  cname text;
  joined int[];
  inserted int;
  all_hold boolean;
  accepted boolean[];
BEGIN
  -- Each statement inserts the cases the rule accepts, together, and gives their numbers,
  -- how many rows it inserted and whether the rule holds on every stored row. Accepted
  -- whole, those cases are accepted; refused, they run one by one below.
  FOR j IN 1 .. coalesce(array_length(together_sql, 1), 0) LOOP
    joined := NULL;
    inserted := NULL;
    all_hold := NULL;
    BEGIN
      EXECUTE together_sql[j] INTO joined, inserted, all_hold;
      RAISE EXCEPTION 'accepted' USING ERRCODE = 'RV000';
    EXCEPTION WHEN OTHERS THEN
      IF SQLSTATE = 'RV000' AND inserted = coalesce(cardinality(joined), 0)
         AND (inserted = 0 OR all_hold) THEN
        FOR i IN 1 .. coalesce(cardinality(joined), 0) LOOP
          accepted[joined[i]] := true;
        END LOOP;
      END IF;
    END;
  END LOOP;
  FOR j IN 1 .. coalesce(array_length(prepares, 1), 0) LOOP
    BEGIN
      EXECUTE prepares[j];
      prepared[j] := true;
    EXCEPTION WHEN OTHERS THEN
      prepared[j] := false;
    END;
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(stmts, 1), 0) LOOP
    together := coalesce(accepted[i], false);
    IF together THEN
      state := 'RV000';
      constraint_name := NULL;
      rule_holds := true;
      RETURN NEXT;
      CONTINUE;
    END IF;
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
    sqlx::raw_sql(&[INSTALL, super::sample_batch::INSTALL].concat())
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
    /// Accepted in one insert with other cases (see [`together_tables`]), not on its own.
    pub together: bool,
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
    /// sent as `(expression)::type`. The column and type are shared by every case of a
    /// table (see [`super::rows::TypedColumns`]); only the expression is the case's own.
    pub values: Vec<(Arc<str>, Arc<str>, String)>,
    /// Indexes into `values` of the varied columns, in the order they are compared.
    pub kept: Vec<usize>,
    /// Cases are inserted together only with cases of the same group: within a group their
    /// unique values differ ([`super::rows::Decollider`] numbers the cases of each group
    /// from 0).
    pub group: usize,
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
            self.values.iter().map(|(c, t, _)| (&**c, &**t)).collect(),
            &self.kept,
        )
    }
}

/// The insert every case of one batch runs: its table and clauses.
pub struct Insert<'a> {
    /// The table, quoted, and qualified outside the default schema ([`super::table_sql`]).
    pub table: &'a str,
    /// The table's own name, quoted: what the rows inserted together are called, so that a
    /// rule that names its table's columns by it reads them.
    pub alias: &'a str,
    /// Whether the insert needs `OVERRIDING SYSTEM VALUE`.
    pub overriding: bool,
    /// The rule, as SQL over the table's columns; `RETURNING` asks it of the stored row.
    pub rule: &'a str,
    /// How cases may be inserted together, when the table may take them (see
    /// [`together_tables`]); `None` runs every case on its own.
    pub together: Option<&'a Together>,
}

/// What cases inserted together must have: the rule's columns, and none of the columns of
/// the table's foreign keys to itself (left out, they are NULL: see [`together_tables`]).
/// Columns are quoted.
#[derive(Debug)]
pub struct Together {
    /// The columns the rule reads; each case must give them all.
    pub rule_columns: Vec<String>,
    /// The columns no case may give.
    pub left_out: Vec<String>,
}

impl Insert<'_> {
    /// `INSERT INTO t (columns) VALUES (values) RETURNING (kept), (rule) IS NOT FALSE`,
    /// where `sent(k)` is the SQL of the row's `k`-th value.
    fn statement(&self, row: &CaseRow, sent: impl Fn(usize) -> String) -> String {
        let columns: Vec<&str> = row.values.iter().map(|(c, _, _)| &**c).collect();
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
        let types: Vec<&str> = varied.iter().map(|&k| &*row.values[k].1).collect();
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

    /// One statement that inserts, together, the cases of `rows` (numbered by their first
    /// element) on which the rule holds, and gives their numbers, how many rows it inserted
    /// and whether the rule holds on every stored row. The rows share their columns; a
    /// value they all share is written once. The rule is asked of the values as sent, each
    /// with the cast it is inserted with, as `rule_holds` asks it of a rejected case.
    fn together(&self, rows: &[(usize, &CaseRow)]) -> String {
        let first = rows[0].1;
        let columns: Vec<&str> = first.values.iter().map(|(c, _, _)| &**c).collect();
        let differs: Vec<usize> = (0..first.values.len())
            .filter(|&k| rows.iter().any(|(_, r)| r.values[k].2 != first.values[k].2))
            .collect();
        let values: Vec<String> = rows
            .iter()
            .map(|(number, row)| {
                let mut v = vec![number.to_string()];
                v.extend(differs.iter().map(|&k| row.cast(k)));
                format!("({})", v.join(", "))
            })
            .collect();
        let named: Vec<&str> = std::iter::once("reims_verify_case")
            .chain(differs.iter().map(|&k| columns[k]))
            .collect();
        let selected: Vec<String> = std::iter::once("reims_verify_case".to_string())
            .chain((0..columns.len()).map(|k| {
                if differs.contains(&k) {
                    columns[k].to_string()
                } else {
                    format!("{} AS {}", first.cast(k), columns[k])
                }
            }))
            .collect();
        format!(
            "WITH reims_verify_rows AS MATERIALIZED (\
               SELECT * FROM (SELECT {selected} \
                                FROM (VALUES {values}) AS reims_verify_values({named})) \
                 AS {alias} \
                WHERE ({rule}) IS NOT FALSE), \
             reims_verify_inserted AS (\
               INSERT INTO {table} ({columns}){overriding} \
               SELECT {columns} FROM reims_verify_rows \
               RETURNING ({rule}) IS NOT FALSE AS holds) \
             SELECT (SELECT array_agg(reims_verify_case) FROM reims_verify_rows), \
                    (SELECT count(*)::int FROM reims_verify_inserted), \
                    (SELECT bool_and(holds) FROM reims_verify_inserted)",
            selected = selected.join(", "),
            values = values.join(", "),
            named = named.join(", "),
            table = self.table,
            alias = self.alias,
            columns = columns.join(", "),
            rule = self.rule,
            overriding = if self.overriding {
                " OVERRIDING SYSTEM VALUE"
            } else {
                ""
            },
        )
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
        let together = together_statements(insert, chunk, &groups);
        let mut verdicts = call(conn, &prepares, &names, &shapes, &stmts, &together).await?;
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
            let redone = call(conn, &[], &[], &none, &plain, &[]).await?;
            for (i, v) in again.into_iter().zip(redone) {
                verdicts[i] = v;
            }
        }
        out.extend(verdicts);
    }
    Ok(out)
}

/// Fewer cases than this are not worth a statement of their own: refused, they would run
/// one by one after it.
const TOGETHER_AT_LEAST: usize = 4;

/// The statements that insert cases of `chunk` together (see [`Insert::together`]): one per
/// shape and group of cases, when the table may take them and the rule's columns are all
/// in the rows. Each case is numbered by its place in the chunk, from 1.
fn together_statements(
    insert: &Insert<'_>,
    chunk: &[CaseRow],
    shapes: &[(Shape<'_>, Vec<usize>)],
) -> Vec<String> {
    let Some(together) = insert.together else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, members) in shapes {
        let first = &chunk[members[0]];
        let gives = |c: &String| first.values.iter().any(|(column, _, _)| **column == **c);
        if !together.rule_columns.iter().all(gives) || together.left_out.iter().any(gives) {
            continue;
        }
        let mut by_group: Vec<(usize, Vec<(usize, &CaseRow)>)> = Vec::new();
        for &i in members {
            let row = &chunk[i];
            match by_group.iter_mut().find(|(g, _)| *g == row.group) {
                Some((_, rows)) => rows.push((i + 1, row)),
                None => by_group.push((row.group, vec![(i + 1, row)])),
            }
        }
        out.extend(
            by_group
                .iter()
                .filter(|(_, rows)| rows.len() >= TOGETHER_AT_LEAST)
                .map(|(_, rows)| insert.together(rows)),
        );
    }
    out
}

/// The tables among `tables` (`(schema, name)`; the answer is keyed by relation key,
/// [`crate::catalog::relation_key`]) that may take cases together, each with the
/// columns of its foreign keys to itself (unquoted), which cases inserted together must
/// leave out. An insert of several rows at once accepts a row exactly when an insert of
/// that row alone would, because nothing a row is judged by can see the others. That holds
/// for a plain table (neither partitioned nor a partition) with no trigger that fires on
/// INSERT other than the foreign keys' own, no rule, no row-level security, no column of a
/// domain type, and no CHECK, default or generated column that calls a function or
/// operator of its own (which could read the table). A foreign key to the table itself
/// could find a row's parent among the others: its columns have no default, and the cases
/// inserted together leave them out, so they are NULL and nothing is looked up. A row
/// that clashes with another on a unique key is refused together and so runs alone.
pub async fn together_tables(
    conn: &mut PgConnection,
    tables: &[(&str, &str)],
) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let (schemas, names): (Vec<&str>, Vec<&str>) = tables.iter().copied().unzip();
    let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT s, t, coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum) \
                               FROM pg_constraint k \
                               JOIN pg_attribute a ON a.attrelid = c.oid \
                                                  AND a.attnum = ANY (k.conkey) \
                              WHERE k.conrelid = c.oid AND k.contype = 'f' \
                                AND k.confrelid = c.oid), '{}') \
           FROM unnest($1::text[], $2::text[]) AS x(s, t) \
           JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', s, t)) \
          WHERE c.relkind = 'r' AND NOT c.relispartition \
            AND NOT c.relhasrules AND NOT c.relrowsecurity \
            AND NOT EXISTS (SELECT FROM pg_trigger g \
                             WHERE g.tgrelid = c.oid AND g.tgtype::int & 4 <> 0 \
                               AND NOT (g.tgisinternal AND EXISTS ( \
                                 SELECT FROM pg_constraint f \
                                  WHERE f.oid = g.tgconstraint AND f.contype = 'f'))) \
            AND NOT EXISTS (SELECT FROM pg_constraint k \
                             JOIN pg_attrdef d ON d.adrelid = c.oid \
                                              AND d.adnum = ANY (k.conkey) \
                             WHERE k.conrelid = c.oid AND k.contype = 'f' \
                               AND k.confrelid = c.oid) \
            AND NOT EXISTS (SELECT FROM pg_attribute a JOIN pg_type y ON y.oid = a.atttypid \
                             WHERE a.attrelid = c.oid AND a.attnum > 0 \
                               AND NOT a.attisdropped AND y.typtype = 'd') \
            AND NOT EXISTS (SELECT FROM pg_depend d \
                             WHERE d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass) \
                               AND ((d.classid = 'pg_constraint'::regclass \
                                     AND d.objid IN (SELECT oid FROM pg_constraint \
                                                      WHERE conrelid = c.oid)) \
                                 OR (d.classid = 'pg_attrdef'::regclass \
                                     AND d.objid IN (SELECT oid FROM pg_attrdef \
                                                      WHERE adrelid = c.oid))))",
    )
    .bind(&schemas)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("asking which tables may take probe cases together", &e))?;
    Ok(rows
        .into_iter()
        .map(|(s, t, left_out)| (crate::catalog::relation_key(&s, &t), left_out))
        .collect())
}

/// One call of the batch function.
async fn call(
    conn: &mut PgConnection,
    prepares: &[String],
    names: &[String],
    shapes: &[Option<i32>],
    stmts: &[String],
    together: &[String],
) -> Result<Vec<Verdict>> {
    let rows: Vec<(String, Option<String>, Option<bool>, bool)> = sqlx::query_as(
        "SELECT state, constraint_name, rule_holds, together \
           FROM pg_temp.reims_verify_probe($1, $2, $3, $4, $5)",
    )
    .bind(prepares)
    .bind(names)
    .bind(shapes)
    .bind(stmts)
    .bind(together)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("running a probe batch", &e))?;
    Ok(rows
        .into_iter()
        .map(|(state, constraint, rule_holds, together)| Verdict {
            state,
            constraint,
            rule_holds,
            together,
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
