//! Small, quote-aware readers of SQL text that PostgreSQL prints (and that specs write in
//! the same form): the elements of an index's key list with their `COLLATE` and operator
//! class, and the `WHEN` condition of a trigger.
//!
//! They only split text at token boundaries; they never interpret an expression.

/// One token of SQL text, with its byte span in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A bare word: identifier or keyword.
    Word,
    /// A double-quoted identifier.
    Quoted,
    /// A string literal.
    Str,
    /// `(` or `[`.
    Open,
    /// `)` or `]`.
    Close,
    /// `.`
    Dot,
    /// `,`
    Comma,
    /// Anything else: operators, numbers, `::`.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

fn lex(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'\'' || ((c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'')) {
            let escapes = c != b'\'';
            i += if escapes { 2 } else { 1 };
            while i < b.len() {
                if escapes && b[i] == b'\\' {
                    i += 2;
                } else if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                    } else {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else if c == b'"' {
            i += 1;
            while i < b.len() {
                if b[i] == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        i += 2;
                    } else {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            i = (i + 1).min(b.len());
            Kind::Quoted
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            Kind::Word
        } else if c == b'(' || c == b'[' {
            i += 1;
            Kind::Open
        } else if c == b')' || c == b']' {
            i += 1;
            Kind::Close
        } else if c == b'.' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            Kind::Dot
        } else if c == b',' {
            i += 1;
            Kind::Comma
        } else if c.is_ascii_digit() || c == b'.' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            Kind::Other
        } else {
            i += 1;
            while i < b.len()
                && b"+-*/<>=~!@#%^&|`?:".contains(&b[i])
                && b"+-*/<>=~!@#%^&|`?:".contains(&c)
            {
                i += 1;
            }
            Kind::Other
        };
        out.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    out
}

fn is_word(s: &str, t: &Tok, word: &str) -> bool {
    t.kind == Kind::Word && s[t.start..t.end].eq_ignore_ascii_case(word)
}

/// The index of the token closing the group opened at `open`, if any.
fn matching_close(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A possibly qualified name starting at `i` (`a`, `"A"`, `pg_catalog."C"`): the index
/// just past it.
fn qualified_name(toks: &[Tok], mut i: usize) -> Option<usize> {
    if !matches!(toks.get(i)?.kind, Kind::Word | Kind::Quoted) {
        return None;
    }
    i += 1;
    while toks.get(i).is_some_and(|t| t.kind == Kind::Dot)
        && toks
            .get(i + 1)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
    {
        i += 2;
    }
    Some(i)
}

/// Words that start an expression rather than name a column or function, so that
/// `NOT active` is never read as the column `NOT` with the operator class `active`.
const EXPRESSION_WORDS: &[&str] = &[
    "NOT",
    "CASE",
    "EXISTS",
    "ARRAY",
    "ROW",
    "INTERVAL",
    "DATE",
    "TIME",
    "TIMESTAMP",
];

/// One element of an index key list, split as PostgreSQL's grammar does:
/// `expression [COLLATE collation] [opclass [(options)]]` (sort order already removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexElem {
    /// The column or expression, as written.
    pub expr: String,
    /// The `COLLATE` clause's collation, as written (`"C"`), if any.
    pub collation: Option<String>,
    /// The operator class, as written, with its options if any (`jsonb_path_ops`).
    pub opclass: Option<String>,
}

/// Split one index key (without `ASC`/`DESC`/`NULLS …`) into expression, collation and
/// operator class. The expression must be a column, a function call or parenthesised, as
/// in `CREATE INDEX`; anything else is taken whole as an expression.
pub fn split_index_elem(text: &str) -> IndexElem {
    let text = text.trim();
    let whole = || IndexElem {
        expr: text.to_string(),
        ..Default::default()
    };
    let toks = lex(text);
    let Some(first) = toks.first() else {
        return whole();
    };
    // The expression: `( … )`, or a (qualified) name optionally followed by `( … )`.
    let mut i = if first.kind == Kind::Open {
        match matching_close(&toks, 0) {
            Some(close) => close + 1,
            None => return whole(),
        }
    } else {
        if first.kind == Kind::Word
            && EXPRESSION_WORDS
                .iter()
                .any(|w| text[first.start..first.end].eq_ignore_ascii_case(w))
        {
            return whole();
        }
        let Some(after) = qualified_name(&toks, 0) else {
            return whole();
        };
        if toks.get(after).is_some_and(|t| t.kind == Kind::Open) {
            match matching_close(&toks, after) {
                Some(close) => close + 1,
                None => return whole(),
            }
        } else {
            after
        }
    };
    let expr_end = toks[i - 1].end;
    let mut collation = None;
    let mut opclass = None;
    if toks.get(i).is_some_and(|t| is_word(text, t, "COLLATE")) {
        let Some(after) = qualified_name(&toks, i + 1) else {
            return whole();
        };
        collation = Some(text[toks[i + 1].start..toks[after - 1].end].to_string());
        i = after;
    }
    if let Some(after) = qualified_name(&toks, i) {
        let mut end = after;
        if toks.get(after).is_some_and(|t| t.kind == Kind::Open) {
            match matching_close(&toks, after) {
                Some(close) => end = close + 1,
                None => return whole(),
            }
        }
        opclass = Some(text[toks[i].start..toks[end - 1].end].to_string());
        i = end;
    }
    if i != toks.len() {
        return whole();
    }
    IndexElem {
        expr: text[..expr_end].to_string(),
        collation,
        opclass,
    }
}

/// Strip a trailing `ASC`/`DESC` and `NULLS FIRST`/`NULLS LAST` from a printed index key.
fn strip_order(text: &str) -> &str {
    let toks = lex(text);
    let mut n = toks.len();
    if n >= 2
        && is_word(text, &toks[n - 2], "NULLS")
        && (is_word(text, &toks[n - 1], "FIRST") || is_word(text, &toks[n - 1], "LAST"))
    {
        n -= 2;
    }
    if n >= 2 && (is_word(text, &toks[n - 1], "DESC") || is_word(text, &toks[n - 1], "ASC")) {
        n -= 1;
    }
    match n {
        0 => "",
        n => &text[..toks[n - 1].end],
    }
}

/// The key elements of a full `pg_get_indexdef` (`CREATE INDEX … USING am (k1, k2)
/// INCLUDE (…) …`), each split into expression, collation and operator class; `None` when
/// the text does not have that shape.
pub fn index_def_elements(def: &str) -> Option<Vec<IndexElem>> {
    let toks = lex(def);
    let using = toks.iter().position(|t| is_word(def, t, "USING"))?;
    let open = using + 2;
    if toks.get(open)?.kind != Kind::Open {
        return None;
    }
    let close = matching_close(&toks, open)?;
    let mut out = Vec::new();
    let mut start = open + 1;
    let mut depth = 0usize;
    for j in open + 1..=close {
        let t = toks[j];
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth > 0 => depth -= 1,
            Kind::Comma | Kind::Close if depth == 0 => {
                if j == start {
                    return None;
                }
                let text = &def[toks[start].start..toks[j - 1].end];
                out.push(split_index_elem(strip_order(text)));
                start = j + 1;
            }
            _ => {}
        }
    }
    Some(out)
}

/// The condition of a trigger's `WHEN ( … )` clause in `pg_get_triggerdef`, without the
/// outer parentheses; `None` when the trigger has none.
pub fn trigger_when(def: &str) -> Option<String> {
    let toks = lex(def);
    let at = toks.windows(5).position(|w| {
        is_word(def, &w[0], "FOR")
            && is_word(def, &w[1], "EACH")
            && (is_word(def, &w[2], "ROW") || is_word(def, &w[2], "STATEMENT"))
            && is_word(def, &w[3], "WHEN")
            && w[4].kind == Kind::Open
    })?;
    let open = at + 4;
    let close = matching_close(&toks, open)?;
    Some(def[toks[open].end..toks[close].start].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elem(expr: &str, collation: Option<&str>, opclass: Option<&str>) -> IndexElem {
        IndexElem {
            expr: expr.into(),
            collation: collation.map(Into::into),
            opclass: opclass.map(Into::into),
        }
    }

    #[test]
    fn index_elements_split_into_expression_collation_and_opclass() {
        assert_eq!(split_index_elem("labels"), elem("labels", None, None));
        assert_eq!(
            split_index_elem("labels jsonb_path_ops"),
            elem("labels", None, Some("jsonb_path_ops"))
        );
        assert_eq!(
            split_index_elem("status COLLATE \"C\""),
            elem("status", Some("\"C\""), None)
        );
        assert_eq!(
            split_index_elem("((email || 'x'::text)) COLLATE pg_catalog.\"C\" text_pattern_ops"),
            elem(
                "((email || 'x'::text))",
                Some("pg_catalog.\"C\""),
                Some("text_pattern_ops")
            )
        );
        assert_eq!(
            split_index_elem("lower(email) public.my_ops (siglen=8)"),
            elem("lower(email)", None, Some("public.my_ops (siglen=8)"))
        );
        assert_eq!(
            split_index_elem("\"Weird Col\""),
            elem("\"Weird Col\"", None, None)
        );
    }

    #[test]
    fn expressions_without_the_index_shape_stay_whole() {
        for e in [
            "a + b",
            "email::text",
            "x IS NOT NULL",
            "NOT active",
            "lower(email) || 'x'",
            "date_trunc('hour', ts) AT TIME ZONE 'UTC'",
        ] {
            assert_eq!(split_index_elem(e), elem(e, None, None), "{e}");
        }
    }

    #[test]
    fn full_index_definitions_split_per_key() {
        let def = "CREATE INDEX i3 ON public.t USING btree (lower(email) text_pattern_ops DESC NULLS LAST, id, ((a || ', '::text)) COLLATE \"C\") INCLUDE (c2, \"Weird Col\") WHERE (id > 0)";
        assert_eq!(
            index_def_elements(def).unwrap(),
            vec![
                elem("lower(email)", None, Some("text_pattern_ops")),
                elem("id", None, None),
                elem("((a || ', '::text))", Some("\"C\""), None),
            ]
        );
        let def =
            "CREATE UNIQUE INDEX \"odd USING x (\" ON public.t USING gin (labels jsonb_path_ops)";
        assert_eq!(
            index_def_elements(def).unwrap(),
            vec![elem("labels", None, Some("jsonb_path_ops"))]
        );
    }

    #[test]
    fn trigger_when_clause_is_extracted() {
        let def = "CREATE TRIGGER tg BEFORE UPDATE OF status, id ON t FOR EACH ROW WHEN (old.status::text IS DISTINCT FROM new.status::text AND (new.status::text = ')'::text)) EXECUTE FUNCTION f()";
        assert_eq!(
            trigger_when(def).as_deref(),
            Some("old.status::text IS DISTINCT FROM new.status::text AND (new.status::text = ')'::text)")
        );
        assert_eq!(
            trigger_when("CREATE TRIGGER \"FOR EACH ROW WHEN (\" BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f('WHEN (x)')"),
            None
        );
    }
}
