//! What placeholders stand for while a sequence plays, and how SQL is rendered with them.
//!
//! Every value has two spellings. While the sequence runs, a placeholder becomes a literal
//! (fast: no temporary table per step). In the SQL printed to reproduce a failure by hand,
//! a value that the database produced (a default, a function's result, a picked row)
//! becomes a subquery on what the reproduction itself created, so that running it again
//! gives the database's new values, not stale copies.

use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::spec::placeholders::{scan_cached, Piece};
use crate::sql::quote_literal;

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub struct Val {
    /// SQL while the sequence runs (a literal).
    pub exec: String,
    /// SQL in the reproduction.
    pub repro: String,
    /// How it reads in messages.
    pub shown: String,
}

impl Val {
    /// A value spelled the same way in both forms.
    pub fn same(sql: String, shown: String) -> Val {
        Val {
            repro: sql.clone(),
            exec: sql,
            shown,
        }
    }
}

/// What a placeholder name stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// `:name`.
    Scalar(Val),
    /// `:name.column` (and `:name`, its first column, for `result` and `before`).
    Row(Vec<(String, Val)>),
}

/// Which spelling to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// While the sequence runs.
    Exec,
    /// In the reproduction.
    Repro,
}

/// The names in scope, innermost last.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    names: Vec<(String, Bound)>,
}

impl Bindings {
    /// Bind `name` (shadowing an earlier binding of it).
    pub fn push(&mut self, name: &str, bound: Bound) {
        self.names.push((name.to_string(), bound));
    }

    /// How many bindings there are, to drop a step's later.
    pub fn mark(&self) -> usize {
        self.names.len()
    }

    /// Drop every binding made after `mark`.
    pub fn reset(&mut self, mark: usize) {
        self.names.truncate(mark);
    }

    fn get(&self, name: &str) -> Option<&Bound> {
        self.names
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    /// The value of `:name` or `:name.field`.
    pub fn value(&self, name: &str, field: Option<&str>) -> Result<&Val, String> {
        match (self.get(name), field) {
            (None, _) => Err(format!(":{name} is not bound here")),
            (Some(Bound::Scalar(v)), None) => Ok(v),
            (Some(Bound::Scalar(_)), Some(f)) => {
                Err(format!(":{name}.{f}: :{name} has no columns"))
            }
            (Some(Bound::Row(cols)), None) => cols
                .first()
                .map(|(_, v)| v)
                .ok_or_else(|| format!(":{name} has no column")),
            (Some(Bound::Row(cols)), Some(f)) => cols
                .iter()
                .find(|(c, _)| c == f)
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
                    format!(":{name}.{f}: no column {f} (it has {})", names.join(", "))
                }),
        }
    }

    /// `sql` with every placeholder replaced by its value in `mode`.
    pub fn render(&self, sql: &str, mode: Mode) -> Result<String, String> {
        let mut out = String::with_capacity(sql.len());
        for piece in scan_cached(sql).iter() {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder { name, field } => {
                    let v = self.value(name, field.as_deref())?;
                    out.push_str(match mode {
                        Mode::Exec => &v.exec,
                        Mode::Repro => &v.repro,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Rows a statement returned, as text, with their columns' names and types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// `(name, SQL type)` per column.
    pub columns: Vec<(String, String)>,
    /// Each row's values as PostgreSQL prints them (`None` for NULL).
    pub rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    /// Read rows fetched with the simple protocol (every value is text). `type_name` maps a
    /// type OID to its SQL name.
    pub fn read(rows: &[PgRow], type_name: &dyn Fn(u32, &str) -> String) -> Rows {
        let Some(first) = rows.first() else {
            return Rows::default();
        };
        let columns = first
            .columns()
            .iter()
            .map(|c| {
                let info = c.type_info();
                let oid = info.oid().map(|o| o.0).unwrap_or(0);
                (c.name().to_string(), type_name(oid, info.name()))
            })
            .collect();
        let rows = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        let raw = r.try_get_raw(i).ok()?;
                        if raw.is_null() {
                            None
                        } else {
                            raw.as_str().ok().map(str::to_string)
                        }
                    })
                    .collect()
            })
            .collect();
        Rows { columns, rows }
    }

    /// The literal for one value of column `i`.
    pub fn literal(&self, row: usize, i: usize) -> String {
        let ty = &self.columns[i].1;
        match self.rows.get(row).and_then(|r| r.get(i)).cloned().flatten() {
            Some(text) if pseudo(ty) => quote_literal(&text),
            Some(text) => format!("{}::{ty}", quote_literal(&text)),
            None if pseudo(ty) => "NULL".to_string(),
            None => format!("NULL::{ty}"),
        }
    }

    /// The first row as a binding; `repro` gives the reproduction's spelling of a column.
    pub fn first_row(&self, repro: &dyn Fn(&str) -> String) -> Bound {
        Bound::Row(
            self.columns
                .iter()
                .enumerate()
                .map(|(i, (name, _))| {
                    let shown = self
                        .rows
                        .first()
                        .and_then(|r| r.get(i).cloned().flatten())
                        .unwrap_or_else(|| "NULL".into());
                    (
                        name.clone(),
                        Val {
                            exec: self.literal(0, i),
                            repro: repro(name),
                            shown,
                        },
                    )
                })
                .collect(),
        )
    }

    /// `WITH <name>(cols) AS (VALUES …)`: the rows as a table the next query can read.
    pub fn as_cte(&self, name: &str) -> String {
        use crate::sql::quote_ident;
        if self.columns.is_empty() {
            return format!("{name} AS (SELECT WHERE false)");
        }
        let cols: Vec<String> = self.columns.iter().map(|(c, _)| quote_ident(c)).collect();
        let body = if self.rows.is_empty() {
            let nulls: Vec<String> = (0..self.columns.len())
                .map(|i| self.literal(usize::MAX, i))
                .collect();
            format!("SELECT {} WHERE false", nulls.join(", "))
        } else {
            let rows: Vec<String> = (0..self.rows.len())
                .map(|r| {
                    let vals: Vec<String> = (0..self.columns.len())
                        .map(|i| self.literal(r, i))
                        .collect();
                    format!("({})", vals.join(", "))
                })
                .collect();
            format!("VALUES {}", rows.join(", "))
        };
        format!("{name}({}) AS ({body})", cols.join(", "))
    }

    /// The rows for a message: `(a=1, b=x)`, at most five.
    pub fn shown(&self) -> String {
        if self.rows.is_empty() {
            return "no row".to_string();
        }
        let mut parts: Vec<String> = self
            .rows
            .iter()
            .take(5)
            .map(|r| {
                let vals: Vec<String> = self
                    .columns
                    .iter()
                    .zip(r)
                    .map(|((c, _), v)| format!("{c}={}", v.as_deref().unwrap_or("NULL")))
                    .collect();
                format!("({})", vals.join(", "))
            })
            .collect();
        if self.rows.len() > 5 {
            parts.push(format!("… {} rows in all", self.rows.len()));
        }
        parts.join(", ")
    }

    /// Whether any column has a pseudo-type (`void`, `record`), which a table cannot hold.
    pub fn has_pseudo_type(&self) -> bool {
        self.columns.iter().any(|(_, t)| pseudo(t))
    }
}

/// Types a literal cannot be cast to, nor a table column have.
fn pseudo(ty: &str) -> bool {
    matches!(ty, "void" | "record" | "unknown" | "trigger" | "" | "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_render_in_both_spellings() {
        let mut b = Bindings::default();
        b.push("n", Bound::Scalar(Val::same("5".into(), "5".into())));
        b.push(
            "u",
            Bound::Row(vec![(
                "id".into(),
                Val {
                    exec: "'1'::uuid".into(),
                    repro: "(SELECT id FROM users WHERE …)".into(),
                    shown: "1".into(),
                },
            )]),
        );
        let sql = "SELECT f(:u.id, :n, ':n')";
        assert_eq!(
            b.render(sql, Mode::Exec).unwrap(),
            "SELECT f('1'::uuid, 5, ':n')"
        );
        assert!(b
            .render(sql, Mode::Repro)
            .unwrap()
            .contains("(SELECT id FROM users"));
        assert!(b.render("SELECT :u.email", Mode::Exec).is_err());
        let mark = b.mark();
        b.push("n", Bound::Scalar(Val::same("6".into(), "6".into())));
        assert_eq!(b.render(":n", Mode::Exec).unwrap(), "6");
        b.reset(mark);
        assert_eq!(b.render(":n", Mode::Exec).unwrap(), "5");
    }

    #[test]
    fn rows_become_a_table_for_expectations() {
        let rows = Rows {
            columns: vec![("a".into(), "integer".into()), ("b".into(), "text".into())],
            rows: vec![vec![Some("1".into()), None]],
        };
        assert_eq!(
            rows.as_cte("result"),
            "result(\"a\", \"b\") AS (VALUES ('1'::integer, NULL::text))"
        );
        let empty = Rows {
            rows: vec![],
            ..rows
        };
        assert_eq!(
            empty.as_cte("result"),
            "result(\"a\", \"b\") AS (SELECT NULL::integer, NULL::text WHERE false)"
        );
    }
}
