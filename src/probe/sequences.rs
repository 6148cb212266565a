//! Columns fed by a sequence (`serial`, `DEFAULT nextval(…)`, identity columns).
//!
//! `nextval` is not transactional: a probe that let such a column take its default would
//! advance the sequence for good, even though its insert is rolled back. So every row a
//! probe inserts gives these columns an explicit value instead, from a range the sequence
//! never hands out (negative numbers), and an identity column declared `GENERATED ALWAYS`
//! gets `OVERRIDING SYSTEM VALUE`.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use crate::error::{Error, Result};

/// One sequence-fed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FedColumn {
    /// The column.
    pub column: String,
    /// `GENERATED ALWAYS AS IDENTITY`: an explicit value needs `OVERRIDING SYSTEM VALUE`.
    pub always: bool,
}

/// The sequence-fed columns of every table, by relation key
/// ([`crate::catalog::relation_key`]: `t` in the default schema, `app.t` elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceFed {
    by_table: BTreeMap<String, Vec<FedColumn>>,
}

impl SequenceFed {
    /// Read them from the catalog (one query).
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, a.attname::text, a.attidentity::text \
               FROM pg_attribute a \
               JOIN pg_class c ON c.oid = a.attrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
                AND c.relpersistence <> 't' AND c.relkind IN ('r', 'p') \
                AND a.attnum > 0 AND NOT a.attisdropped \
                AND (a.attidentity <> '' \
                     OR pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%') \
              ORDER BY 1, 2, a.attnum",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| Error::database("listing sequence-fed columns", &e))?;
        let mut by_table: BTreeMap<String, Vec<FedColumn>> = BTreeMap::new();
        for (schema, table, column, identity) in rows {
            let key = crate::catalog::relation_key(&schema, &table);
            by_table.entry(key).or_default().push(FedColumn {
                column,
                always: identity == "a",
            });
        }
        Ok(SequenceFed { by_table })
    }

    /// The sequence-fed columns of the table whose relation key is `table`.
    pub fn columns(&self, table: &str) -> &[FedColumn] {
        self.by_table.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Give every sequence-fed column of `table` (a relation key) that `row` leaves out an explicit value
    /// the sequence never hands out: `-(n + 1)`, so distinct `n` give distinct keys.
    /// Returns whether the insert needs `OVERRIDING SYSTEM VALUE`.
    pub fn fill(&self, table: &str, row: &mut super::Row, n: u32) -> bool {
        let mut overriding = false;
        for fed in self.columns(table) {
            if !row.contains_key(&fed.column) {
                row.insert(fed.column.clone(), format!("-{}", u64::from(n) + 1));
            }
            overriding |= fed.always;
        }
        overriding
    }
}

/// What this session can tell of its own draws: the sequences it drew from (`currval` is
/// defined only after the session's own `nextval`), and those it could not ask about,
/// each named with its schema (whatever the session's search path).
#[derive(Debug, Default)]
pub struct Draws {
    /// Sequences whose `currval` is defined: drawn from in this session.
    pub drawn: Vec<String>,
    /// Sequences on which the role has neither SELECT nor USAGE, which `currval` needs,
    /// but which it could still draw from (with UPDATE, or through a SECURITY DEFINER
    /// function it may execute): whether the session did cannot be told.
    pub unasked: Vec<String>,
}

/// The sequences this session has drawn from, and those it cannot ask about. Outside any
/// transaction.
pub async fn drawn_in_session(conn: &mut PgConnection) -> Result<Draws> {
    // A role without USAGE or UPDATE cannot call nextval itself; only a function that runs
    // as its owner could draw for it.
    let sequences: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname), \
                has_sequence_privilege(c.oid, 'SELECT') OR has_sequence_privilege(c.oid, 'USAGE'), \
                has_sequence_privilege(c.oid, 'UPDATE') OR EXISTS ( \
                  SELECT 1 FROM pg_proc p \
                   WHERE p.prosecdef \
                     AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) \
                     AND has_function_privilege(p.oid, 'EXECUTE')) \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind = 'S' \
            AND c.relnamespace <> pg_my_temp_schema() \
          ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("listing sequences", &e))?;
    let mut draws = Draws::default();
    for (seq, askable, drawable) in sequences {
        if !askable {
            if drawable {
                draws.unasked.push(seq);
            }
            continue;
        }
        // 55000 "currval is not yet defined in this session" means untouched.
        if sqlx::query("SELECT currval($1::regclass)")
            .bind(&seq)
            .execute(&mut *conn)
            .await
            .is_ok()
        {
            draws.drawn.push(seq);
        }
    }
    Ok(draws)
}

/// Where every sequence stood when the probes began, so that each unit of probe work (the
/// constraint probes, one property) can start from there on a throw-away server.
///
/// `nextval` is not rolled back: a function under test that inserts into a `serial` table
/// moves a sequence for good. Without a reset, what a unit sees would depend on which units
/// ran before it on the same database, and so on how many connections shared the work.
/// Never used on a handed-over server, whose sequences are not the tool's to set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceReset {
    /// One statement setting every sequence back; empty when there is none.
    sql: String,
}

impl SequenceReset {
    /// Read every sequence's position (one query).
    pub async fn read(conn: &mut PgConnection) -> Result<Self> {
        let sql: Option<String> = sqlx::query_scalar(
            "SELECT 'SELECT count(pg_catalog.setval(s::regclass, v, c)) FROM (VALUES ' \
                    || string_agg(format('(%L, %s::bigint, %L::boolean)', \
                                         format('%I.%I', schemaname, sequencename), \
                                         coalesce(last_value, start_value), \
                                         last_value IS NOT NULL), \
                                  ', ' ORDER BY schemaname, sequencename) \
                    || ') AS t(s, v, c)' \
               FROM pg_catalog.pg_sequences",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("reading where the sequences stand", &e))?;
        Ok(SequenceReset {
            sql: sql.unwrap_or_default(),
        })
    }

    /// Set every sequence back to where [`SequenceReset::read`] found it. Run it outside
    /// any transaction: `setval` takes effect at once either way.
    pub async fn apply(&self, conn: &mut PgConnection) -> Result<()> {
        if self.sql.is_empty() {
            return Ok(());
        }
        sqlx::raw_sql(&self.sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| Error::database("setting the sequences back", &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_sequence_columns_get_negative_values() {
        let fed = SequenceFed {
            by_table: BTreeMap::from([(
                "t".to_string(),
                vec![FedColumn {
                    column: "id".into(),
                    always: true,
                }],
            )]),
        };
        let mut row = super::super::Row::new();
        row.insert("name".into(), "'x'".into());
        assert!(fed.fill("t", &mut row, 0));
        assert_eq!(row.get("id").map(String::as_str), Some("-1"));
        let mut given = super::super::Row::new();
        given.insert("id".into(), "7".into());
        fed.fill("t", &mut given, 3);
        assert_eq!(given.get("id").map(String::as_str), Some("7"));
        assert!(!fed.fill("u", &mut given, 3));
    }
}
