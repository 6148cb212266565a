//! CHECK constraints → structured rules. A shape is recognised only when the rule compiles
//! back (see `spec::rule_sql`) to what PostgreSQL printed, term for term and in the same
//! order; anything else stays `sql:` with the expression as PostgreSQL prints it.

use super::expr::{parse, Expr};
use super::pretty::{column_of, family, is_number, literal, one_line, strip_outer_parens};
use super::pretty::{unquote, Family};
use crate::catalog::Relation;
use crate::spec::{
    number, ColumnRef, CompareOp, CompareRule, ImpliesRule, NotFutureRule, OneOfRule, RangeRule,
    RegexRule, Rule,
};

/// The rule for a CHECK expression (`pg_get_expr(conbin, conrelid)`) on `rel`.
///
/// A column of a domain is read as its base type (when the catalog read has it): the
/// casts PostgreSQL prints around it are its base type's (`(amount)::numeric > 0`), and the
/// rule the spec then states is compiled in the shadow on a column of the same domain.
pub fn recognise(printed: &str, rel: &Relation) -> Rule {
    let types = |c: &str| rel.column(c).map(|col| col.value_type().to_string());
    parse(printed)
        .and_then(|e| structured(&e, &types))
        .unwrap_or_else(|| Rule::Sql(sql_rule(printed)))
}

/// The printed expression as a `sql:` rule: without the parentheses around the whole.
pub fn sql_rule(printed: &str) -> String {
    one_line(strip_outer_parens(printed))
}

type Types<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn structured(e: &Expr, types: &Types) -> Option<Rule> {
    not_blank(e, types)
        .or_else(|| one_of(e, types))
        .or_else(|| regex(e, types))
        .or_else(|| not_future(e, types))
        .or_else(|| compare(e, types))
        .or_else(|| range(e, types))
        .or_else(|| implies(e, types))
}

/// The plain (unqualified) column an operand names.
fn column(e: &Expr, types: &Types) -> Option<String> {
    match column_of(e, types)? {
        [one] => {
            let name = unquote(one);
            types(&name).map(|_| name)
        }
        _ => None,
    }
}

/// `length(TRIM(BOTH FROM col)) > 0`.
fn not_blank(e: &Expr, types: &Types) -> Option<Rule> {
    let Expr::Binary(l, op, r) = e else {
        return None;
    };
    if op != ">" || **r != Expr::Num("0".into()) {
        return None;
    }
    let Expr::Call(name, args) = l.as_ref() else {
        return None;
    };
    match (name.as_str(), args.as_slice()) {
        ("length", [Expr::SqlCall(f, w, arg)]) if f == "TRIM" && w == "BOTH" => {
            Some(Rule::NotBlank(ColumnRef {
                column: column(arg, types)?,
            }))
        }
        _ => None,
    }
}

/// `col = ANY (ARRAY[…])` with literal elements, in the printed order.
fn one_of(e: &Expr, types: &Types) -> Option<Rule> {
    let Expr::Quantified(l, op, q, arr) = e else {
        return None;
    };
    if op != "=" || q != "ANY" {
        return None;
    }
    let col = column(l, types)?;
    let items = match arr.as_ref() {
        Expr::Array(items) => items,
        Expr::Cast(inner, _) => match inner.as_ref() {
            Expr::Array(items) => items,
            _ => return None,
        },
        _ => return None,
    };
    // An enum column's labels are printed cast to the enum itself: `'ok'::mood`.
    let own_type = types(&col)?;
    let values = items
        .iter()
        .map(|i| match i {
            Expr::Cast(inner, t) if *t == own_type => match inner.as_ref() {
                Expr::Str(s) => Some(s.clone()),
                _ => None,
            },
            _ => match literal(i)? {
                Expr::Str(s) | Expr::Num(s) => Some(s),
                _ => None,
            },
        })
        .collect::<Option<Vec<_>>>()?;
    (!values.is_empty()).then_some(Rule::OneOf(OneOfRule {
        column: col,
        values,
    }))
}

/// `col ~ 'pattern'` or `col ~* 'pattern'`.
fn regex(e: &Expr, types: &Types) -> Option<Rule> {
    let Expr::Binary(l, op, r) = e else {
        return None;
    };
    let case_insensitive = match op.as_str() {
        "~" => false,
        "~*" => true,
        _ => return None,
    };
    let pattern = match literal(r)? {
        Expr::Str(s) => s,
        _ => return None,
    };
    Some(Rule::Regex(RegexRule {
        column: column(l, types)?,
        pattern,
        case_insensitive,
    }))
}

/// `col <= CURRENT_DATE` (a date column) or `col <= CURRENT_TIMESTAMP` (any other), with an
/// optional `+ 'interval'::interval`.
fn not_future(e: &Expr, types: &Types) -> Option<Rule> {
    let Expr::Binary(l, op, r) = e else {
        return None;
    };
    if op != "<=" {
        return None;
    }
    let col = column(l, types)?;
    let is_date = types(&col)?.trim() == "date";
    let now = if is_date {
        "CURRENT_DATE"
    } else {
        "CURRENT_TIMESTAMP"
    };
    let is_now = |x: &Expr| matches!(x, Expr::Word(w) if w == now);
    let buffer = match r.as_ref() {
        x if is_now(x) => None,
        Expr::Binary(a, plus, b) if plus == "+" && is_now(a) => match b.as_ref() {
            Expr::Cast(inner, t) if t == "interval" => match inner.as_ref() {
                Expr::Str(s) => Some(interval_words(s)),
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    Some(Rule::NotFuture(NotFutureRule {
        column: col,
        buffer,
    }))
}

/// `00:01:00` → `1 minute`; anything but a single hour, minute or second count stays as
/// printed (it is valid interval input either way).
fn interval_words(printed: &str) -> String {
    let parts: Vec<&str> = printed.split(':').collect();
    if let [h, m, s] = parts.as_slice() {
        let nums: Option<Vec<u64>> = [h, m, s].iter().map(|p| p.parse().ok()).collect();
        if let Some(nums) = nums {
            let units = ["hour", "minute", "second"];
            let nonzero: Vec<usize> = (0..3).filter(|i| nums[*i] != 0).collect();
            if let [i] = nonzero.as_slice() {
                let n = nums[*i];
                return format!("{n} {}{}", units[*i], if n == 1 { "" } else { "s" });
            }
        }
    }
    printed.to_string()
}

fn compare_op(op: &str) -> Option<CompareOp> {
    Some(match op {
        "<" => CompareOp::Lt,
        "<=" => CompareOp::Le,
        ">" => CompareOp::Gt,
        ">=" => CompareOp::Ge,
        _ => return None,
    })
}

/// `a op b` between two columns; `a IS NULL OR a op b` with `or_left_null`.
fn compare(e: &Expr, types: &Types) -> Option<Rule> {
    let cmp = |e: &Expr| -> Option<CompareRule> {
        let Expr::Binary(l, op, r) = e else {
            return None;
        };
        Some(CompareRule {
            left: column(l, types)?,
            op: compare_op(op)?,
            right: column(r, types)?,
            or_left_null: false,
        })
    };
    if let Some(rule) = cmp(e) {
        return Some(Rule::Compare(rule));
    }
    let Expr::Or(items) = e else {
        return None;
    };
    let [Expr::IsNull(x, false), rest] = items.as_slice() else {
        return None;
    };
    let rule = cmp(rest)?;
    (column(x, types)? == rule.left).then_some(Rule::Compare(CompareRule {
        or_left_null: true,
        ..rule
    }))
}

/// The order in which `rule_sql` writes a range's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Gt,
    Gte,
    Lt,
    Lte,
    LteSql,
}

/// Bounds on one numeric column, conjoined in the order `rule_sql` writes them: gt, gte,
/// lt, lte, then an SQL upper bound (`lte_sql`).
fn range(e: &Expr, types: &Types) -> Option<Rule> {
    let terms: Vec<&Expr> = match e {
        Expr::And(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut rule = RangeRule {
        column: String::new(),
        gt: None,
        gte: None,
        lt: None,
        lte: None,
        lte_sql: None,
    };
    let mut last: Option<Bound> = None;
    for term in terms {
        let Expr::Binary(l, op, r) = term else {
            return None;
        };
        let col = column(l, types)?;
        if !matches!(family(&types(&col)?), Family::Integer | Family::Decimal) {
            return None;
        }
        if rule.column.is_empty() {
            rule.column = col;
        } else if rule.column != col {
            return None;
        }
        let value = match literal(r) {
            Some(Expr::Num(n)) => Some(exact(&n)?),
            Some(_) => return None,
            None => None,
        };
        let bound = match (op.as_str(), value) {
            (">", Some(v)) => {
                rule.gt = Some(v);
                Bound::Gt
            }
            (">=", Some(v)) => {
                rule.gte = Some(v);
                Bound::Gte
            }
            ("<", Some(v)) => {
                rule.lt = Some(v);
                Bound::Lt
            }
            ("<=", Some(v)) => {
                rule.lte = Some(v);
                Bound::Lte
            }
            ("<=", None) if !r.has_column() => {
                rule.lte_sql = Some(r.simplified(types).sql());
                Bound::LteSql
            }
            _ => return None,
        };
        if last.is_some_and(|b| b >= bound) {
            return None;
        }
        last = Some(bound);
    }
    Some(Rule::Range(rule))
}

/// A printed number as the f64 a spec holds, only when `number()` prints it back to the
/// same value (so that no digit is lost).
fn exact(printed: &str) -> Option<f64> {
    if !is_number(printed) {
        return None;
    }
    let v: f64 = printed.parse().ok()?;
    (trim_number(&number(v)) == trim_number(printed)).then_some(v)
}

/// `1.50` → `1.5`, `-0.0` → `0`, `007` → `7`.
fn trim_number(s: &str) -> String {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let body = match (int.is_empty(), frac.is_empty()) {
        (true, true) => return "0".into(),
        (_, true) => int.to_string(),
        (true, false) => format!("0.{frac}"),
        (false, false) => format!("{int}.{frac}"),
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// `A OR B` where A is a condition whose negation reads naturally: `x IS NULL OR …`,
/// `x <> v OR …` → when the negation holds, B must.
fn implies(e: &Expr, types: &Types) -> Option<Rule> {
    let Expr::Or(items) = e else {
        return None;
    };
    let [a, b] = items.as_slice() else {
        return None;
    };
    let a = a.simplified(types);
    let when = match a {
        Expr::IsNull(x, neg) => Expr::IsNull(x, !neg),
        Expr::Binary(l, op, r) if op == "<>" => Expr::Binary(l, "=".into(), r),
        Expr::Not(x) => *x,
        _ => return None,
    };
    Some(Rule::Implies(ImpliesRule {
        when: when.sql(),
        then: b.simplified(types).sql(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, Relation};

    fn rel() -> Relation {
        let col = |name: &str, ty: &str| Column {
            name: name.into(),
            type_name: ty.into(),
            nullable: true,
            ..Default::default()
        };
        Relation {
            name: "t".into(),
            kind: 'r',
            columns: vec![
                col("status", "character varying(20)"),
                col("rate", "numeric(5,4)"),
                col("n", "integer"),
                col("m", "integer"),
                col("d", "date"),
                col("ts", "timestamp with time zone"),
                col("title", "text"),
                col("active", "boolean"),
                col("mood", "feeling"),
                Column {
                    domain_base: Some("numeric(12,2)".into()),
                    ..col("amount", "money_amount")
                },
            ],
            ..Default::default()
        }
    }

    fn yaml(printed: &str) -> String {
        let rule = recognise(printed, &rel());
        serde_json::to_string(&rule).unwrap()
    }

    #[test]
    fn common_shapes_are_recognised() {
        let cases = [
            ("((rate >= '-1.00'::numeric) AND (rate <= 1.00))", r#"{"range":{"column":"rate","gte":-1.0,"lte":1.0}}"#),
            ("(n > 0)", r#"{"range":{"column":"n","gt":0.0}}"#),
            ("((n)::numeric <= (EXTRACT(year FROM CURRENT_DATE) + (5)::numeric))", r#"{"range":{"column":"n","lte_sql":"EXTRACT(year FROM CURRENT_DATE) + 5"}}"#),
            ("((status)::text = ANY ((ARRAY['b'::character varying, 'a'::character varying])::text[]))", r#"{"one_of":{"column":"status","values":["b","a"]}}"#),
            ("((status)::text ~* '^x$'::text)", r#"{"regex":{"column":"status","pattern":"^x$","case_insensitive":true}}"#),
            ("(d <= CURRENT_DATE)", r#"{"not_future":{"column":"d"}}"#),
            ("(ts <= (CURRENT_TIMESTAMP + '00:01:00'::interval))", r#"{"not_future":{"column":"ts","buffer":"1 minute"}}"#),
            ("(n <= m)", r#"{"compare":{"left":"n","op":"<=","right":"m","or_left_null":false}}"#),
            ("((n IS NULL) OR (n >= m))", r#"{"compare":{"left":"n","op":">=","right":"m","or_left_null":true}}"#),
            ("(length(TRIM(BOTH FROM title)) > 0)", r#"{"not_blank":{"column":"title"}}"#),
            ("(((status)::text <> 'done'::text) OR (ts IS NOT NULL))", r#"{"implies":{"when":"status = 'done'","then":"ts IS NOT NULL"}}"#),
            // An enum's labels are cast to the enum; a domain column to its base type.
            ("(mood = ANY (ARRAY['ok'::feeling, 'meh'::feeling]))", r#"{"one_of":{"column":"mood","values":["ok","meh"]}}"#),
            ("(((amount)::numeric > (0)::numeric) AND ((amount)::numeric < (100)::numeric))", r#"{"range":{"column":"amount","gt":0.0,"lt":100.0}}"#),
        ];
        for (printed, want) in cases {
            assert_eq!(yaml(printed), want, "{printed}");
        }
    }

    #[test]
    fn everything_else_stays_sql() {
        for printed in [
            "((rate <= 1.00) AND (rate >= 0.00))", // bounds in another order
            "(0 <= n)",                            // column on the right
            "(d <= CURRENT_TIMESTAMP)",            // date against a timestamp
            "(ts <= now())",
            "((n > 0) OR (m > 0))",
            "(n > 12345678901234567.89)", // not exact as f64
            "((status)::text = ANY (ARRAY[lower('A'::text)]))",
            "CASE WHEN (n > 0) THEN true ELSE false END",
            "(mood = ANY (ARRAY['ok'::other_enum]))", // labels of another type
            "((amount)::integer > 0)",                // not its base type's cast
        ] {
            let rule = recognise(printed, &rel());
            assert!(matches!(rule, Rule::Sql(_)), "{printed}: {rule:?}");
        }
        assert_eq!(
            recognise("((n > 0) OR (m > 0))", &rel()),
            Rule::Sql("(n > 0) OR (m > 0)".into())
        );
    }

    #[test]
    fn intervals_read_as_words() {
        assert_eq!(interval_words("00:01:00"), "1 minute");
        assert_eq!(interval_words("02:00:00"), "2 hours");
        assert_eq!(interval_words("1 day"), "1 day");
        assert_eq!(interval_words("01:30:00"), "01:30:00");
    }
}
