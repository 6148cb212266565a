//! Compiling a structured CHECK rule into the SQL expression it stands for.
//!
//! The SQL is never compared as text: it is created in a shadow database and PostgreSQL's
//! own printer renders it, so `IN (…)` and `= ANY (ARRAY[…])` meet on equal terms.

use super::model::{ColumnSpec, Rule, TableSpec};
use crate::sql::{quote_ident, quote_literal};

/// The SQL boolean expression that a rule stands for, on `spec`'s table.
pub fn rule_sql(rule: &Rule, spec: &TableSpec) -> String {
    match rule {
        Rule::Range(r) => {
            let c = quote_ident(&r.column);
            let mut parts = Vec::new();
            if let Some(v) = r.gt {
                parts.push(format!("{c} > {}", number(v)));
            }
            if let Some(v) = r.gte {
                parts.push(format!("{c} >= {}", number(v)));
            }
            if let Some(v) = r.lt {
                parts.push(format!("{c} < {}", number(v)));
            }
            if let Some(v) = r.lte {
                parts.push(format!("{c} <= {}", number(v)));
            }
            if let Some(sql) = &r.lte_sql {
                parts.push(format!("{c} <= ({sql})"));
            }
            if parts.is_empty() {
                "true".into()
            } else {
                parts.join(" AND ")
            }
        }
        Rule::OneOf(r) => format!(
            "{} IN ({})",
            quote_ident(&r.column),
            r.values
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Rule::Regex(r) => format!(
            "{} {} {}",
            quote_ident(&r.column),
            if r.case_insensitive { "~*" } else { "~" },
            quote_literal(&r.pattern)
        ),
        Rule::NotFuture(r) => {
            let now = if is_date(spec.columns.get(&r.column)) {
                "CURRENT_DATE"
            } else {
                "CURRENT_TIMESTAMP"
            };
            match &r.buffer {
                Some(b) => format!(
                    "{} <= {now} + INTERVAL {}",
                    quote_ident(&r.column),
                    quote_literal(b)
                ),
                None => format!("{} <= {now}", quote_ident(&r.column)),
            }
        }
        Rule::Compare(r) => {
            let cmp = format!(
                "{} {} {}",
                quote_ident(&r.left),
                r.op.sql(),
                quote_ident(&r.right)
            );
            if r.or_left_null {
                format!("{} IS NULL OR {cmp}", quote_ident(&r.left))
            } else {
                cmp
            }
        }
        Rule::Implies(r) => format!("NOT ({}) OR ({})", r.when, r.then),
        Rule::NotBlank(r) => format!("length(trim({})) > 0", quote_ident(&r.column)),
        Rule::Sql(sql) => sql.clone(),
    }
}

/// The columns a rule constrains, for validation and for probes.
pub fn rule_columns(rule: &Rule) -> Vec<&str> {
    match rule {
        Rule::Range(r) => vec![&r.column],
        Rule::OneOf(r) => vec![&r.column],
        Rule::Regex(r) => vec![&r.column],
        Rule::NotFuture(r) => vec![&r.column],
        Rule::Compare(r) => vec![&r.left, &r.right],
        Rule::NotBlank(r) => vec![&r.column],
        Rule::Implies(_) | Rule::Sql(_) => vec![],
    }
}

fn is_date(col: Option<&ColumnSpec>) -> bool {
    col.is_some_and(|c| {
        let t = c.type_.to_ascii_lowercase();
        t.trim() == "date"
    })
}

/// A bound as SQL: integers without a fraction, others as Rust prints them (shortest
/// round-trip form, e.g. `0.7`).
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::*;

    fn spec_with(col: &str, ty: &str) -> TableSpec {
        let yaml = format!("table: t\ncolumns:\n  {col}: {{ type: {ty} }}\n");
        serde_saphyr::from_str(&yaml).unwrap()
    }

    #[test]
    fn range_compiles_every_bound() {
        let spec = spec_with("x", "numeric");
        let rule = Rule::Range(RangeRule {
            column: "x".into(),
            gt: None,
            gte: Some(0.0),
            lt: None,
            lte: Some(1.1),
            lte_sql: None,
        });
        assert_eq!(rule_sql(&rule, &spec), "\"x\" >= 0 AND \"x\" <= 1.1");
    }

    #[test]
    fn not_future_uses_current_date_for_dates() {
        let spec = spec_with("d", "date");
        let rule = Rule::NotFuture(NotFutureRule {
            column: "d".into(),
            buffer: None,
        });
        assert_eq!(rule_sql(&rule, &spec), "\"d\" <= CURRENT_DATE");
        let spec = spec_with("d", "timestamptz");
        let rule = Rule::NotFuture(NotFutureRule {
            column: "d".into(),
            buffer: Some("1 minute".into()),
        });
        assert_eq!(
            rule_sql(&rule, &spec),
            "\"d\" <= CURRENT_TIMESTAMP + INTERVAL '1 minute'"
        );
    }

    #[test]
    fn one_of_quotes_values() {
        let spec = spec_with("r", "text");
        let rule = Rule::OneOf(OneOfRule {
            column: "r".into(),
            values: vec!["a".into(), "o'k".into()],
        });
        assert_eq!(rule_sql(&rule, &spec), "\"r\" IN ('a', 'o''k')");
    }
}
