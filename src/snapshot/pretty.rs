//! Parsed expressions written back the way people write them: without the casts
//! PostgreSQL adds on its own, `= ANY (ARRAY[…])` as `IN (…)`, minimal parentheses; and
//! small helpers on printed SQL text.

use super::expr::{parse, Expr, COMPARISONS};

/// A column name as printed, unquoted: `"timestamp"` → `timestamp`.
pub fn unquote(part: &str) -> String {
    match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => part.to_string(),
    }
}

/// Broad families of types, enough to decide which casts PostgreSQL adds by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// varchar, char, text.
    Text,
    /// smallint, integer, bigint.
    Integer,
    /// numeric, real, double precision.
    Decimal,
    /// date.
    Date,
    /// timestamp with or without time zone.
    Timestamp,
    /// Anything else.
    Other,
}

/// The family of a type as `format_type` prints it.
pub fn family(type_name: &str) -> Family {
    let t = type_name.trim().to_ascii_lowercase();
    if t.ends_with("[]") {
        return Family::Other;
    }
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        "text" | "character varying" | "character" | "varchar" | "char" | "bpchar" => Family::Text,
        "smallint" | "integer" | "bigint" | "int" | "int2" | "int4" | "int8" => Family::Integer,
        "numeric" | "decimal" | "real" | "double precision" | "float4" | "float8" => {
            Family::Decimal
        }
        "date" => Family::Date,
        _ if base.starts_with("timestamp") => Family::Timestamp,
        _ => Family::Other,
    }
}

/// Whether PostgreSQL would add the cast `column::target` by itself for a column of
/// `column_type` (so writing the column alone means the same).
fn implicit_cast(column_type: &str, target: &str) -> bool {
    let (from, to) = (family(column_type), family(target));
    match to {
        Family::Text => from == Family::Text && !target.contains('('),
        Family::Decimal => {
            matches!(from, Family::Integer | Family::Decimal) && !target.contains('(')
        }
        Family::Integer => from == Family::Integer && target.eq_ignore_ascii_case("bigint"),
        Family::Timestamp => {
            matches!(from, Family::Date | Family::Timestamp) && !target.contains('(')
        }
        _ => false,
    }
}

/// A literal (possibly cast), as its bare value: `'a'::text` → `'a'`, `(0)::numeric` →
/// `0`, `('-1'::integer)::numeric` → `-1`. `None` when it is not a literal.
pub fn literal(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Str(_) | Expr::Num(_) => Some(e.clone()),
        Expr::Cast(inner, t) => {
            let lit = literal(inner)?;
            match (&lit, family(t)) {
                (Expr::Str(s), Family::Integer | Family::Decimal) if is_number(s) => {
                    Some(Expr::Num(s.clone()))
                }
                (Expr::Num(_), Family::Integer | Family::Decimal) => Some(lit),
                (Expr::Str(_), Family::Text) => Some(lit),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `-1.00`, `12`, `0.5`: a plain decimal number.
pub fn is_number(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty()
        && d.chars().all(|c| c.is_ascii_digit() || c == '.')
        && d.chars().filter(|c| *c == '.').count() <= 1
        && d.chars().any(|c| c.is_ascii_digit())
}

/// The column an operand names, looking through a cast PostgreSQL adds by itself.
pub fn column_of<'a>(e: &'a Expr, types: &dyn Fn(&str) -> Option<String>) -> Option<&'a [String]> {
    match e {
        Expr::Column(parts) => Some(parts),
        Expr::Cast(inner, t) => match inner.as_ref() {
            Expr::Column(parts) => {
                let ty = types(&unquote(parts.last()?))?;
                implicit_cast(&ty, t).then_some(parts.as_slice())
            }
            _ => None,
        },
        _ => None,
    }
}

impl Expr {
    /// The expression without the casts PostgreSQL adds by itself: implicit casts of
    /// columns, and casts of literals compared with a column of the same family. Any other
    /// cast stays. `types` gives a column's type.
    pub fn simplified(&self, types: &dyn Fn(&str) -> Option<String>) -> Expr {
        let s = |e: &Expr| e.simplified(types);
        let col = |e: &Expr| column_of(e, types).map(|p| Expr::Column(p.to_vec()));
        match self {
            Expr::Binary(l, op, r)
                if COMPARISONS.contains(&op.as_str())
                    || op.starts_with('~')
                    || op.starts_with("!~") =>
            {
                let (l2, r2) = (
                    col(l).unwrap_or_else(|| s(l)),
                    col(r).unwrap_or_else(|| s(r)),
                );
                let l2 = compared_literal(l, &r2, types).unwrap_or(l2);
                let r2 = compared_literal(r, &l2, types).unwrap_or(r2);
                Expr::Binary(Box::new(l2), op.clone(), Box::new(r2))
            }
            Expr::Binary(l, op, r) if ["+", "-", "*", "/"].contains(&op.as_str()) => {
                // `x + (5)::numeric` → `x + 5`: the other operand is printed without a cast,
                // so it is numeric already and the result keeps its type. Not when both
                // sides are literals (`5 + 3` would be integer arithmetic).
                let strip = |e: &Expr, other: &Expr| match e {
                    Expr::Cast(inner, t)
                        if family(t) == Family::Decimal
                            && literal(other).is_none()
                            && matches!(inner.as_ref(), Expr::Num(n) if !n.contains('.')) =>
                    {
                        inner.as_ref().clone()
                    }
                    e => s(e),
                };
                Expr::Binary(Box::new(strip(l, r)), op.clone(), Box::new(strip(r, l)))
            }
            Expr::Binary(l, op, r) => Expr::Binary(Box::new(s(l)), op.clone(), Box::new(s(r))),
            Expr::Quantified(l, op, q, arr) => {
                let l2 = col(l).unwrap_or_else(|| s(l));
                let items = match arr.as_ref() {
                    Expr::Cast(inner, _) => match inner.as_ref() {
                        Expr::Array(items) => Some(items),
                        _ => None,
                    },
                    Expr::Array(items) => Some(items),
                    _ => None,
                };
                let lits: Option<Vec<Expr>> =
                    items.and_then(|items| items.iter().map(literal).collect());
                match lits {
                    Some(lits)
                        if op == "="
                            && q == "ANY"
                            && !lits.is_empty()
                            && matches!(l2, Expr::Column(_)) =>
                    {
                        Expr::InList(Box::new(l2), lits)
                    }
                    _ => Expr::Quantified(Box::new(l2), op.clone(), q.clone(), Box::new(s(arr))),
                }
            }
            Expr::IsNull(x, neg) => Expr::IsNull(Box::new(col(x).unwrap_or_else(|| s(x))), *neg),
            Expr::Distinct(a, neg, b) => Expr::Distinct(
                Box::new(col(a).unwrap_or_else(|| s(a))),
                *neg,
                Box::new(col(b).unwrap_or_else(|| s(b))),
            ),
            Expr::Not(x) => Expr::Not(Box::new(s(x))),
            Expr::And(items) => Expr::And(items.iter().map(s).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(s).collect()),
            Expr::Call(name, args) => Expr::Call(
                name.clone(),
                args.iter()
                    .map(|a| match a {
                        // varchar → text is the only cast dropped from an argument.
                        Expr::Cast(_, t) if family(t) == Family::Text => {
                            col(a).unwrap_or_else(|| s(a))
                        }
                        other => s(other),
                    })
                    .collect(),
            ),
            Expr::SqlCall(name, words, arg) => Expr::SqlCall(
                name.clone(),
                words.clone(),
                Box::new(col(arg).unwrap_or_else(|| s(arg))),
            ),
            Expr::Cast(inner, t) => Expr::Cast(Box::new(s(inner)), t.clone()),
            Expr::Array(items) => Expr::Array(items.iter().map(s).collect()),
            Expr::InList(l, items) => Expr::InList(Box::new(s(l)), items.clone()),
            other => other.clone(),
        }
    }

    /// How tightly the expression binds when printed (higher binds tighter).
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Not(_) => 3,
            Expr::IsNull(..) | Expr::Distinct(..) => 4,
            Expr::Quantified(..) | Expr::InList(..) => 5,
            Expr::Binary(_, op, _) if COMPARISONS.contains(&op.as_str()) => 5,
            Expr::Binary(_, op, _) if op == "+" || op == "-" => 7,
            Expr::Binary(_, op, _) if ["*", "/", "%"].contains(&op.as_str()) => 8,
            Expr::Binary(..) => 6,
            Expr::Num(n) if n.starts_with('-') => 9,
            Expr::Cast(..) => 9,
            _ => 10,
        }
    }

    fn sql_at(&self, min: u8) -> String {
        let text = self.sql();
        if self.precedence() < min {
            format!("({text})")
        } else {
            text
        }
    }

    /// The expression as SQL, parenthesised only where needed.
    pub fn sql(&self) -> String {
        let join = |items: &[Expr], min: u8, sep: &str| {
            items
                .iter()
                .map(|e| e.sql_at(min))
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Expr::Column(parts) => parts.join("."),
            Expr::Str(s) => crate::sql::quote_literal(s),
            Expr::Num(n) | Expr::Word(n) => n.clone(),
            Expr::Cast(inner, t) => format!("{}::{t}", inner.sql_at(10)),
            Expr::Call(name, args) => format!("{name}({})", join(args, 0, ", ")),
            Expr::SqlCall(name, words, arg) => format!("{name}({words} FROM {})", arg.sql()),
            Expr::Array(items) => format!("ARRAY[{}]", join(items, 0, ", ")),
            Expr::Binary(l, op, r) => {
                let p = self.precedence();
                let (lp, rp) = if p == 5 { (6, 6) } else { (p, p + 1) };
                format!("{} {op} {}", l.sql_at(lp), r.sql_at(rp))
            }
            Expr::Quantified(l, op, q, arr) => format!("{} {op} {q} ({})", l.sql_at(6), arr.sql()),
            Expr::InList(l, items) => format!("{} IN ({})", l.sql_at(6), join(items, 0, ", ")),
            // Operands of IS are parenthesised unless they bind tighter than a comparison.
            Expr::IsNull(x, neg) => {
                format!("{} IS {}NULL", x.sql_at(6), if *neg { "NOT " } else { "" })
            }
            Expr::Distinct(a, neg, b) => format!(
                "{} IS {}DISTINCT FROM {}",
                a.sql_at(6),
                if *neg { "NOT " } else { "" },
                b.sql_at(6)
            ),
            Expr::Not(x) if x.precedence() >= 10 => format!("NOT {}", x.sql()),
            Expr::Not(x) => format!("NOT ({})", x.sql()),
            Expr::And(items) => join(items, 3, " AND "),
            Expr::Or(items) => join(items, 2, " OR "),
        }
    }

    /// Whether any column is referenced.
    pub fn has_column(&self) -> bool {
        match self {
            Expr::Column(_) => true,
            Expr::Str(_) | Expr::Num(_) | Expr::Word(_) => false,
            Expr::Cast(x, _) | Expr::SqlCall(_, _, x) | Expr::Not(x) | Expr::IsNull(x, _) => {
                x.has_column()
            }
            Expr::Call(_, xs) | Expr::Array(xs) | Expr::And(xs) | Expr::Or(xs) => {
                xs.iter().any(Expr::has_column)
            }
            Expr::Binary(a, _, b) | Expr::Distinct(a, _, b) | Expr::Quantified(a, _, _, b) => {
                a.has_column() || b.has_column()
            }
            Expr::InList(a, xs) => a.has_column() || xs.iter().any(Expr::has_column),
        }
    }
}

/// `literal` compared with `other`: the literal without its cast when `other` is a column
/// of the same family as the cast (PostgreSQL then infers the same type).
fn compared_literal(
    original: &Expr,
    other: &Expr,
    types: &dyn Fn(&str) -> Option<String>,
) -> Option<Expr> {
    let Expr::Cast(_, cast_type) = original else {
        return None;
    };
    let Expr::Column(parts) = other else {
        return None;
    };
    let col_type = types(&unquote(parts.last()?))?;
    let lit = literal(original)?;
    let (cf, tf) = (family(&col_type), family(cast_type));
    let same = cf == tf && cf != Family::Other
        || (matches!(cf, Family::Integer | Family::Decimal)
            && matches!(tf, Family::Integer | Family::Decimal));
    same.then_some(lit)
}

/// Printed SQL made readable: casts PostgreSQL adds by itself removed, `= ANY (ARRAY[…])`
/// written as `IN (…)`, minimal parentheses. `None` when the text is outside the subset.
pub fn pretty(sql: &str, types: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    Some(parse(sql)?.simplified(types).sql())
}

/// Printed SQL on one line: runs of white space outside literals and quoted names become
/// one space (`CASE` expressions are printed over several lines).
pub fn one_line(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let (mut in_str, mut in_ident, mut space) = (false, false, false);
    for c in sql.trim().chars() {
        if !in_str && !in_ident && c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            '\'' if !in_ident => in_str = !in_str,
            '"' if !in_str => in_ident = !in_ident,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Printed SQL without one pair of parentheses around the whole of it.
pub fn strip_outer_parens(sql: &str) -> &str {
    let t = sql.trim();
    if !(t.starts_with('(') && t.ends_with(')')) {
        return t;
    }
    let mut depth = 0i32;
    let mut in_str = false;
    let mut in_ident = false;
    for (i, c) in t.char_indices() {
        match c {
            '\'' if !in_ident => in_str = !in_str,
            '"' if !in_str => in_ident = !in_ident,
            '(' if !in_str && !in_ident => depth += 1,
            ')' if !in_str && !in_ident => {
                depth -= 1;
                if depth == 0 && i != t.len() - 1 {
                    return t;
                }
            }
            _ => {}
        }
    }
    t[1..t.len() - 1].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(col: &str) -> Option<String> {
        match col {
            "status" | "email" => Some("character varying(20)".into()),
            "year_built" | "n" => Some("integer".into()),
            "rate" => Some("numeric(5,4)".into()),
            "flag" => Some("boolean".into()),
            _ => None,
        }
    }

    #[test]
    fn printer_output_parses_and_prints_the_way_people_write_it() {
        let cases = [
            (
                "((status)::text = ANY ((ARRAY['open'::character varying, 'ack'::character varying])::text[]))",
                "status IN ('open', 'ack')",
            ),
            (
                "((year_built)::numeric <= (EXTRACT(year FROM CURRENT_DATE) + (5)::numeric))",
                "year_built <= EXTRACT(year FROM CURRENT_DATE) + 5",
            ),
            ("((rate >= '-1.00'::numeric) AND (rate <= 1.00))", "rate >= -1.00 AND rate <= 1.00"),
            ("lower((email)::text)", "lower(email)"),
            ("(flag = true)", "flag = true"),
            (
                "(((status)::text <> 'resolved'::text) OR (n IS NOT NULL))",
                "status <> 'resolved' OR n IS NOT NULL",
            ),
            ("(length(TRIM(BOTH FROM email)) > 0)", "length(TRIM(BOTH FROM email)) > 0"),
            ("(n <= (CURRENT_TIMESTAMP + '00:01:00'::interval))", "n <= CURRENT_TIMESTAMP + '00:01:00'::interval"),
            ("((a + b) * 2)", "(a + b) * 2"),
            ("((rate * (2)::numeric))", "rate * 2"),
            ("((5)::numeric + (3)::numeric)", "5::numeric + 3::numeric"),
            ("(NOT (a AND b))", "NOT (a AND b)"),
            ("((a = b) IS NULL)", "(a = b) IS NULL"),
            ("(((a)::text || 'x'::text) = 'yx'::text)", "a::text || 'x'::text = 'yx'::text"),
        ];
        for (printed, want) in cases {
            assert_eq!(pretty(printed, &types).as_deref(), Some(want), "{printed}");
        }
    }

    #[test]
    fn casts_that_change_meaning_stay() {
        assert_eq!(
            pretty("((n)::text = 'x'::text)", &types).as_deref(),
            Some("n::text = 'x'::text")
        );
        assert_eq!(
            pretty("(d = '2024-01-01'::date)", &types).as_deref(),
            Some("d = '2024-01-01'::date")
        );
    }

    #[test]
    fn outer_parentheses_come_off_only_when_they_wrap_everything() {
        assert_eq!(
            strip_outer_parens("((a > 0) OR (b > 0))"),
            "(a > 0) OR (b > 0)"
        );
        assert_eq!(
            strip_outer_parens("(a > 0) OR (b > 0)"),
            "(a > 0) OR (b > 0)"
        );
        assert_eq!(strip_outer_parens("(a = ')')"), "a = ')'");
        assert_eq!(
            one_line("CASE\n    WHEN a THEN 'x  y'\nEND"),
            "CASE WHEN a THEN 'x  y' END"
        );
    }
}
