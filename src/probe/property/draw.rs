//! Drawing values from a property's generators: proptest strategies (so that a failure
//! shrinks), and each generator's edge values (tried first, then favoured).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::TestRunner;

use crate::spec::property::{Gen, IntervalUnit};
use crate::spec::SampleValue;
use crate::sql::quote_literal;

/// A value drawn for one placeholder, before it meets the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Drawn {
    /// A literal: its SQL and how it reads in messages.
    Lit { sql: String, shown: String },
    /// An SQL expression that may use earlier placeholders, rendered when the step runs.
    Sql(String),
    /// The index of the row to pick from a query's rows (modulo their number).
    Pick(u32),
    /// A row to insert.
    Row(RowDraw),
}

impl Drawn {
    fn lit(sql: String, shown: String) -> Drawn {
        Drawn::Lit { sql, shown }
    }

    /// How the value reads in a step label.
    pub fn shown(&self) -> String {
        match self {
            Drawn::Lit { shown, .. } => shown.clone(),
            Drawn::Sql(s) => s.clone(),
            Drawn::Pick(k) => format!("row #{k}"),
            Drawn::Row(r) => format!("a new {} row", r.table),
        }
    }
}

/// A row to insert: its table, the columns given explicitly (SQL literals or expressions),
/// and the parent rows its foreign keys need, inserted first.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDraw {
    /// The table.
    pub table: String,
    /// Column → value; columns left out take their defaults.
    pub columns: Vec<(String, Drawn)>,
    /// Whether the insert needs `OVERRIDING SYSTEM VALUE`.
    pub overriding: bool,
    /// Parent rows, inserted before this one.
    pub parents: Vec<RowDraw>,
}

/// A number as an SQL literal: negative ones in parentheses, so that `x-:n` never becomes
/// a comment.
pub fn number_sql(text: String) -> String {
    if text.starts_with('-') {
        format!("({text})")
    } else {
        text
    }
}

/// A YAML scalar as an SQL literal, optionally cast.
pub fn sample_literal(value: &SampleValue, cast: Option<&str>) -> Drawn {
    use serde_json::Value;
    let (sql, shown) = match &value.0 {
        Value::Null => ("NULL".to_string(), "NULL".to_string()),
        Value::Bool(b) => (b.to_string(), b.to_string()),
        Value::Number(n) => (number_sql(n.to_string()), n.to_string()),
        Value::String(s) => (quote_literal(s), quote_literal(s)),
        other => (quote_literal(&other.to_string()), other.to_string()),
    };
    let sql = match cast {
        Some(t) => format!("{sql}::{t}"),
        None => sql,
    };
    Drawn::lit(sql, shown)
}

fn typed(text: &str, ty: &str) -> Drawn {
    Drawn::lit(
        format!("{}::{ty}", quote_literal(text)),
        quote_literal(text),
    )
}

fn string_lit(s: &str, ty: Option<&str>) -> Drawn {
    match ty {
        Some(t) => typed(s, t),
        None => Drawn::lit(quote_literal(s), quote_literal(s)),
    }
}

/// The SQL type a generator's values have, when it has a definite one.
pub fn sql_type(gen: &Gen) -> Option<String> {
    Some(match gen {
        Gen::Int(_) => "integer".into(),
        Gen::Numeric(_) => "numeric".into(),
        Gen::Timestamp(_) => "timestamptz".into(),
        Gen::Date(_) => "date".into(),
        Gen::Interval(_) => "interval".into(),
        Gen::Uuid(_) => "uuid".into(),
        Gen::Inet(_) => "inet".into(),
        Gen::Bool(_) => "boolean".into(),
        Gen::OneOf(g) => return g.type_.clone(),
        Gen::Regex(g) => return g.type_.clone(),
        Gen::Unique(_) => "text".into(),
        Gen::Nullable(inner) => return sql_type(inner),
        Gen::Array(a) => format!(
            "{}[]",
            a.type_
                .clone()
                .or_else(|| sql_type(&a.of))
                .unwrap_or_else(|| "text".into())
        ),
        Gen::Value(_) | Gen::Sql(_) | Gen::Pick(_) | Gen::Row(_) => return None,
    })
}

fn timestamp_micros(s: &str, date: bool) -> i64 {
    if date {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_micros())
            .unwrap_or(0)
    } else {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_micros())
            .unwrap_or(0)
    }
}

fn time_lit(micros: i64, date: bool) -> Drawn {
    let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    if date {
        typed(&t.format("%Y-%m-%d").to_string(), "date")
    } else {
        typed(
            &t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string(),
            "timestamptz",
        )
    }
}

/// An interval of `n` units as a literal.
pub fn interval_lit(n: i64, unit: IntervalUnit) -> Drawn {
    let text = format!("{n} {}", unit.sql());
    Drawn::lit(
        format!("{}::interval", quote_literal(&text)),
        format!("'{text}'"),
    )
}

fn numeric_text(units: i128, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let div = 10i128.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let a = units.abs();
    format!(
        "{sign}{}.{:0width$}",
        a / div,
        a % div,
        width = scale as usize
    )
}

fn numeric_lit(units: i128, scale: u32) -> Drawn {
    let text = numeric_text(units, scale);
    Drawn::lit(number_sql(text.clone()), text)
}

/// An integer literal.
pub fn int_lit(n: i64) -> Drawn {
    Drawn::lit(number_sql(n.to_string()), n.to_string())
}

fn push_unique<T: PartialEq>(out: &mut Vec<T>, v: T) {
    if !out.contains(&v) {
        out.push(v);
    }
}

/// The `k`-th edge of `gen` (cycling), or a draw when it has none.
pub fn edge_or_draw(gen: &Gen, k: usize, runner: &mut TestRunner) -> Drawn {
    let e = edges(gen);
    if e.is_empty() {
        strategy(gen)
            .new_tree(runner)
            .map(|t| t.current())
            .unwrap_or(Drawn::Sql("NULL".into()))
    } else {
        e[k % e.len()].clone()
    }
}

/// A generator's edge values, in the order they are tried; empty for generators whose
/// values must differ from draw to draw (UUIDs, unique strings, rows, regex strings).
pub fn edges(gen: &Gen) -> Vec<Drawn> {
    match gen {
        Gen::Value(v) => vec![sample_literal(v, None)],
        Gen::Sql(s) => vec![Drawn::Sql(s.clone())],
        Gen::Int(g) => {
            let mut out = Vec::new();
            for e in &g.edges {
                push_unique(&mut out, *e);
            }
            for v in [
                g.min,
                g.min.saturating_add(1),
                0,
                g.max.saturating_sub(1),
                g.max,
            ] {
                if v >= g.min && v <= g.max {
                    push_unique(&mut out, v);
                }
            }
            out.into_iter().map(int_lit).collect()
        }
        Gen::Numeric(g) => {
            let scale = g.scale.unwrap_or(2);
            let u = |v: f64| (v * 10f64.powi(scale as i32)).round() as i128;
            let (lo, hi) = (u(g.min), u(g.max));
            let mut out = Vec::new();
            for e in &g.edges {
                push_unique(&mut out, u(*e));
            }
            for v in [lo, lo + 1, 0, hi - 1, hi] {
                if v >= lo && v <= hi {
                    push_unique(&mut out, v);
                }
            }
            out.into_iter().map(|v| numeric_lit(v, scale)).collect()
        }
        Gen::OneOf(g) => g
            .values
            .iter()
            .map(|v| sample_literal(v, g.type_.as_deref()))
            .collect(),
        Gen::Timestamp(g) | Gen::Date(g) => {
            let date = matches!(gen, Gen::Date(_));
            let mut out = Vec::new();
            for s in g.edges.iter().chain([&g.min, &g.max]) {
                push_unique(&mut out, timestamp_micros(s, date));
            }
            out.into_iter().map(|m| time_lit(m, date)).collect()
        }
        Gen::Interval(g) => {
            let mut out = Vec::new();
            for v in g.edges.iter().chain([&g.min, &g.max]) {
                push_unique(&mut out, *v);
            }
            out.into_iter().map(|v| interval_lit(v, g.unit)).collect()
        }
        Gen::Inet(_) => ["192.168.1.100", "10.0.0.7", "2001:db8::1"]
            .iter()
            .map(|a| typed(a, "inet"))
            .collect(),
        Gen::Bool(_) => vec![
            Drawn::lit("false".into(), "false".into()),
            Drawn::lit("true".into(), "true".into()),
        ],
        Gen::Nullable(inner) => {
            let null = match sql_type(inner) {
                Some(t) => format!("NULL::{t}"),
                None => "NULL".to_string(),
            };
            let mut out = vec![Drawn::lit(null, "NULL".into())];
            out.extend(edges(inner));
            out
        }
        Gen::Array(a) => {
            let ty = sql_type(gen).unwrap_or_else(|| "text[]".into());
            let mut out = Vec::new();
            if a.min_len == 0 {
                out.push(Drawn::lit(format!("'{{}}'::{ty}"), "{}".into()));
            }
            out
        }
        Gen::Pick(_) => vec![Drawn::Pick(0)],
        Gen::Uuid(_) | Gen::Unique(_) | Gen::Regex(_) | Gen::Row(_) => Vec::new(),
    }
}

/// A proptest strategy for a scalar generator: edges and random values, half and half, so
/// that boundaries keep coming up. Rows are built elsewhere (`rowgen`).
pub fn strategy(gen: &Gen) -> BoxedStrategy<Drawn> {
    let random = random_strategy(gen);
    let edge = edges(gen);
    match (edge.is_empty(), random) {
        (true, Some(r)) => r,
        (false, Some(r)) => prop_oneof![1 => proptest::sample::select(edge), 1 => r].boxed(),
        (false, None) => proptest::sample::select(edge).boxed(),
        (true, None) => Just(Drawn::lit("NULL".into(), "NULL".into())).boxed(),
    }
}

fn random_strategy(gen: &Gen) -> Option<BoxedStrategy<Drawn>> {
    Some(match gen {
        Gen::Value(_) | Gen::Sql(_) | Gen::Bool(_) | Gen::OneOf(_) | Gen::Row(_) => return None,
        Gen::Int(g) => (g.min..=g.max).prop_map(int_lit).boxed(),
        Gen::Numeric(g) => {
            let scale = g.scale.unwrap_or(2);
            let u = |v: f64| (v * 10f64.powi(scale as i32)).round() as i128;
            (u(g.min)..=u(g.max))
                .prop_map(move |v| numeric_lit(v, scale))
                .boxed()
        }
        Gen::Regex(g) => {
            let body = g.pattern.strip_prefix('^').unwrap_or(&g.pattern);
            let body = body.strip_suffix('$').unwrap_or(body).to_string();
            let ty = g.type_.clone();
            proptest::string::string_regex(&body)
                .ok()?
                .prop_map(move |s| string_lit(&s, ty.as_deref()))
                .boxed()
        }
        Gen::Timestamp(g) | Gen::Date(g) => {
            let date = matches!(gen, Gen::Date(_));
            let (lo, hi) = (
                timestamp_micros(&g.min, date),
                timestamp_micros(&g.max, date),
            );
            if date {
                let day = 86_400_000_000i64;
                (lo / day..=hi / day)
                    .prop_map(move |d| time_lit(d * day, true))
                    .boxed()
            } else {
                (lo..=hi).prop_map(move |m| time_lit(m, false)).boxed()
            }
        }
        Gen::Interval(g) => {
            let unit = g.unit;
            (g.min..=g.max)
                .prop_map(move |n| interval_lit(n, unit))
                .boxed()
        }
        Gen::Uuid(_) => any::<u128>()
            .prop_map(|bits| {
                let u = uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid();
                typed(&u.to_string(), "uuid")
            })
            .boxed(),
        Gen::Inet(_) => prop_oneof![
            any::<[u8; 4]>().prop_map(|o| typed(&std::net::Ipv4Addr::from(o).to_string(), "inet")),
            any::<[u16; 8]>().prop_map(|s| typed(&std::net::Ipv6Addr::from(s).to_string(), "inet")),
        ]
        .boxed(),
        Gen::Unique(g) => {
            let (prefix, suffix) = (g.prefix.clone(), g.suffix.clone());
            any::<u64>()
                .no_shrink()
                .prop_map(move |n| string_lit(&format!("{prefix}{n:016x}{suffix}"), None))
                .boxed()
        }
        Gen::Nullable(inner) => {
            let null = edges(gen).remove(0);
            prop_oneof![1 => Just(null), 3 => strategy(inner)].boxed()
        }
        Gen::Array(a) => {
            let ty = sql_type(gen).unwrap_or_else(|| "text[]".into());
            let max = a.max_len.unwrap_or(5).max(a.min_len) as usize;
            proptest::collection::vec(strategy(&a.of), a.min_len as usize..=max)
                .prop_map(move |items| {
                    if items.is_empty() {
                        return Drawn::lit(format!("'{{}}'::{ty}"), "{}".into());
                    }
                    let sqls: Vec<String> = items
                        .iter()
                        .map(|d| match d {
                            Drawn::Lit { sql, .. } => sql.clone(),
                            other => other.shown(),
                        })
                        .collect();
                    let shown: Vec<String> = items.iter().map(Drawn::shown).collect();
                    Drawn::lit(
                        format!("ARRAY[{}]::{ty}", sqls.join(", ")),
                        format!("{{{}}}", shown.join(", ")),
                    )
                })
                .boxed()
        }
        Gen::Pick(_) => (0u32..64).prop_map(Drawn::Pick).boxed(),
    })
}

/// The value an example step gives for `gen` (a YAML scalar), as a literal of the
/// generator's kind.
pub fn example_value(gen: &Gen, value: &SampleValue) -> Drawn {
    use serde_json::Value;
    match (gen, &value.0) {
        (Gen::Interval(g), Value::Number(n)) => interval_lit(n.as_i64().unwrap_or(0), g.unit),
        (Gen::Pick(_), Value::Number(n)) => Drawn::Pick(n.as_u64().unwrap_or(0) as u32),
        (Gen::Nullable(inner), v) if !v.is_null() => example_value(inner, value),
        (g, Value::String(s)) if sql_type(g).is_some() => {
            typed(s, &sql_type(g).unwrap_or_default())
        }
        _ => sample_literal(value, None),
    }
}

/// The range of a whole-number generator, the value a drawn literal stands for, and how to
/// write another value.
pub type Integral = (i64, i64, i64, Box<dyn Fn(i64) -> Drawn>);

/// For a generator of whole numbers (`int`, `interval`), the range, the value a drawn
/// literal stands for, and how to write another value: what shrinking a fixed sequence's
/// arguments needs.
pub fn integral(gen: &Gen, d: &Drawn) -> Option<Integral> {
    let Drawn::Lit { shown, .. } = d else {
        return None;
    };
    match gen {
        Gen::Int(g) => Some((g.min, g.max, shown.parse().ok()?, Box::new(int_lit))),
        Gen::Interval(g) => {
            let n = shown.trim_matches('\'').split(' ').next()?.parse().ok()?;
            let unit = g.unit;
            Some((g.min, g.max, n, Box::new(move |v| interval_lit(v, unit))))
        }
        _ => None,
    }
}

/// Whether a drawn value is `true` (for `repeat`, an integer literal: its count).
pub fn as_count(d: &Drawn) -> u32 {
    match d {
        Drawn::Lit { shown, .. } => shown.parse().unwrap_or(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::property::{IntGen, IntervalGen};

    #[test]
    fn int_edges_come_first_and_negatives_are_parenthesised() {
        let g = Gen::Int(IntGen {
            min: -2,
            max: 10,
            edges: vec![5],
        });
        let shown: Vec<String> = edges(&g).iter().map(Drawn::shown).collect();
        assert_eq!(shown, ["5", "-2", "-1", "0", "9", "10"]);
        assert_eq!(number_sql("-2".into()), "(-2)");
    }

    #[test]
    fn intervals_are_typed_literals() {
        let g = Gen::Interval(IntervalGen {
            unit: IntervalUnit::Minutes,
            min: 1,
            max: 60,
            edges: vec![30],
        });
        assert_eq!(
            edges(&g)[0],
            Drawn::Lit {
                sql: "'30 minutes'::interval".into(),
                shown: "'30 minutes'".into()
            }
        );
    }

    #[test]
    fn numerics_print_at_their_scale() {
        assert_eq!(numeric_text(10001, 2), "100.01");
        assert_eq!(numeric_text(-5, 2), "-0.05");
    }
}
