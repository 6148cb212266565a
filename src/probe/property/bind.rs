//! What placeholders stand for while a sequence plays, and how SQL is rendered with them.
//!
//! Every value has two spellings. While the sequence runs, a placeholder becomes a literal
//! (fast: no temporary table per step); a statement sent as a prepared statement's
//! template takes its typed literals as parameters instead (see `Bindings::render_template`
//! and `super::prepared`). In the SQL printed to reproduce a failure by hand,
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
    /// The value as a parameter of a prepared statement, when its running spelling is a
    /// typed literal (`'text'::type` or `NULL::type`, as [`Rows::literal`] and the
    /// generators write them): its text (`None` for NULL) and the cast that follows it.
    /// `$n::type` with the text bound as `text` reads the same value as the literal, so a
    /// statement that differs only in such values is parsed and planned once. Anything else
    /// (numbers, untyped strings, expressions) stays inline.
    pub fn param(&self) -> Option<(Option<String>, &str)> {
        typed_literal(&self.exec)
    }

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

    /// `sql` as a prepared statement's template: each placeholder whose value is a typed
    /// literal becomes a parameter appended to `params`, any other is inlined as in
    /// [`Mode::Exec`]. The template with its parameters runs as the `Exec` rendering does.
    pub fn render_template(&self, sql: &str, params: &mut Params) -> Result<String, String> {
        let mut out = String::with_capacity(sql.len());
        for piece in scan_cached(sql).iter() {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder { name, field } => {
                    out.push_str(&params.value(self.value(name, field.as_deref())?));
                }
            }
        }
        Ok(out)
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

/// Split `'text'::type` (the quote doubled inside) or `NULL::type` into its text and its
/// cast; `None` for any other shape.
fn typed_literal(sql: &str) -> Option<(Option<String>, &str)> {
    if let Some(cast) = sql.strip_prefix("NULL::") {
        return plain_cast(cast).then_some((None, cast));
    }
    let (text, rest) = quoted(sql)?;
    let cast = rest.strip_prefix("::")?;
    plain_cast(cast).then_some((Some(text), cast))
}

/// The text of the string literal `sql` starts with (`'…'`, quotes doubled inside), and
/// what follows it.
fn quoted(sql: &str) -> Option<(String, &str)> {
    let body = sql.strip_prefix('\'')?;
    let mut text = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            text.push(c);
            continue;
        }
        let rest = &body[i + 1..];
        if rest.starts_with('\'') {
            text.push('\'');
            chars.next();
            continue;
        }
        return Some((text, rest));
    }
    None
}

/// A cast that is a type name and nothing more: no quote, placeholder, parameter,
/// comment or statement end that could change what follows it.
fn plain_cast(cast: &str) -> bool {
    !cast.is_empty()
        && !cast.contains(['\'', ':', '$', ';', '-', '/'])
        && cast
            .chars()
            .all(|c| c.is_alphanumeric() || " _().,[]\"".contains(c))
}

/// Appends parameters of one prepared statement as a template is rendered: `$n` for the
/// n-th, whose text is bound as `text`.
#[derive(Debug, Default)]
pub struct Params {
    /// Each parameter's text (`None` for NULL), in `$n` order.
    pub values: Vec<Option<String>>,
}

impl Params {
    /// A parameter holding `text`, read as `cast` (bare when `cast` is empty).
    fn push(&mut self, text: Option<String>, cast: &str) -> String {
        self.values.push(text);
        if cast.is_empty() {
            format!("${}", self.values.len())
        } else {
            format!("${}::{cast}", self.values.len())
        }
    }

    /// A value as it reads in a template: a parameter when it is a typed literal, else
    /// inline.
    pub fn value(&mut self, v: &Val) -> String {
        match v.param() {
            Some((text, cast)) => self.push(text, cast),
            None => v.exec.clone(),
        }
    }

    /// A literal the template itself casts (`(value)::type`, as inserted rows are
    /// written): a typed literal as in [`Params::value`], and an untyped string or NULL as
    /// a bare parameter too, since `('text')::type` and `($n)::type` with `text` bound read
    /// the same value. Anything else (numbers, booleans, expressions) stays inline: their
    /// casts differ from a cast of their text.
    pub fn cast_value(&mut self, sql: &str) -> String {
        if let Some((text, cast)) = typed_literal(sql) {
            return self.push(text, cast);
        }
        let untyped = match sql {
            "NULL" => Some(None),
            _ => quoted(sql).and_then(|(text, rest)| rest.is_empty().then_some(Some(text))),
        };
        match untyped {
            Some(text) => self.push(text, ""),
            None => sql.to_string(),
        }
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
        self.cte(name, &mut |lit| lit)
    }

    /// [`Rows::as_cte`] for a prepared statement's template: typed values become
    /// parameters appended to `params`.
    pub fn as_cte_template(&self, name: &str, params: &mut Params) -> String {
        self.cte(name, &mut |lit| {
            params.value(&Val {
                exec: lit,
                repro: String::new(),
                shown: String::new(),
            })
        })
    }

    fn cte(&self, name: &str, spell: &mut dyn FnMut(String) -> String) -> String {
        use crate::sql::quote_ident;
        if self.columns.is_empty() {
            return format!("{name} AS (SELECT WHERE false)");
        }
        let cols: Vec<String> = self.columns.iter().map(|(c, _)| quote_ident(c)).collect();
        let body = if self.rows.is_empty() {
            let nulls: Vec<String> = (0..self.columns.len())
                .map(|i| spell(self.literal(usize::MAX, i)))
                .collect();
            format!("SELECT {} WHERE false", nulls.join(", "))
        } else {
            let rows: Vec<String> = (0..self.rows.len())
                .map(|r| {
                    let vals: Vec<String> = (0..self.columns.len())
                        .map(|i| spell(self.literal(r, i)))
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
    fn only_typed_literals_become_parameters() {
        let param = |sql: &str| {
            Val::same(sql.into(), String::new())
                .param()
                .map(|(t, c)| (t, c.to_string()))
        };
        assert_eq!(
            param("'o''k'::text"),
            Some((Some("o'k".into()), "text".into()))
        );
        assert_eq!(
            param("'2026-01-01 00:00:00+00'::timestamp with time zone"),
            Some((
                Some("2026-01-01 00:00:00+00".into()),
                "timestamp with time zone".into()
            ))
        );
        assert_eq!(
            param("NULL::character varying(20)"),
            Some((None, "character varying(20)".into()))
        );
        assert_eq!(
            param("'{1,2}'::integer[]"),
            Some((Some("{1,2}".into()), "integer[]".into()))
        );
        for inline in [
            "5",
            "(-5)",
            "true",
            "'x'",
            "('x')::text",
            "'x'::text || 'y'",
            "'x'::text -- c",
            "'x'::int; DROP TABLE t",
            "'x'::int/2",
            "'x'::text::uuid",
            "NULL",
            "(SELECT id FROM t)",
            "'unterminated::text",
        ] {
            assert_eq!(param(inline), None, "{inline}");
        }
    }

    #[test]
    fn a_template_numbers_its_parameters_and_keeps_the_rest_inline() {
        let mut b = Bindings::default();
        b.push("n", Bound::Scalar(Val::same("5".into(), "5".into())));
        b.push(
            "u",
            Bound::Row(vec![
                ("id".into(), Val::same("'1'::uuid".into(), "1".into())),
                ("gone".into(), Val::same("NULL::date".into(), "NULL".into())),
            ]),
        );
        let mut params = Params::default();
        let t = b
            .render_template("SELECT f(:u.id, :n, :u.gone, ':n', :u.id)", &mut params)
            .unwrap();
        assert_eq!(t, "SELECT f($1::uuid, 5, $2::date, ':n', $3::uuid)");
        assert_eq!(
            params.values,
            vec![Some("1".into()), None, Some("1".into())]
        );
        assert!(b.render_template("SELECT :nothing", &mut params).is_err());
        // In a value the template casts itself, untyped strings and NULL are parameters
        // too; numbers and booleans are not (their casts differ from a cast of their text).
        let mut params = Params::default();
        let cast: Vec<String> = ["'a''b'", "NULL", "'1'::uuid", "7", "false", "now()"]
            .iter()
            .map(|v| params.cast_value(v))
            .collect();
        assert_eq!(cast, ["$1", "$2", "$3::uuid", "7", "false", "now()"]);
        assert_eq!(
            params.values,
            vec![Some("a'b".into()), None, Some("1".into())]
        );
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
        let mut params = Params::default();
        assert_eq!(
            rows.as_cte_template("result", &mut params),
            "result(\"a\", \"b\") AS (VALUES ($1::integer, $2::text))"
        );
        assert_eq!(params.values, vec![Some("1".into()), None]);
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
