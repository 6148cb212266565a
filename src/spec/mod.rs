//! The YAML spec format, its loader, and the SQL each structured rule stands for.

mod keylines;
mod load;
pub mod model;
mod rule;

pub use keylines::KeyLines;
pub use load::{load_dir, load_str, LoadedSpec, SpecSet};
pub use model::*;
pub use rule::{number, rule_columns, rule_sql};

/// Sort order of one index key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyOrder {
    /// DESC.
    pub desc: bool,
    /// NULLS FIRST (PostgreSQL's default for DESC) or NULLS LAST (default for ASC).
    pub nulls_first: bool,
}

impl std::fmt::Display for KeyOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.desc, self.nulls_first) {
            (false, false) => write!(f, "ASC"),
            (false, true) => write!(f, "ASC NULLS FIRST"),
            (true, true) => write!(f, "DESC"),
            (true, false) => write!(f, "DESC NULLS LAST"),
        }
    }
}

/// Split `timestamp DESC NULLS LAST` into the key expression and its order.
pub fn split_index_key(key: &str) -> (&str, KeyOrder) {
    let mut expr = key.trim();
    let mut nulls: Option<bool> = None;
    let upper = expr.to_ascii_uppercase();
    if upper.ends_with(" NULLS FIRST") {
        nulls = Some(true);
        expr = expr[..expr.len() - 12].trim_end();
    } else if upper.ends_with(" NULLS LAST") {
        nulls = Some(false);
        expr = expr[..expr.len() - 11].trim_end();
    }
    let upper = expr.to_ascii_uppercase();
    let mut desc = false;
    if upper.ends_with(" DESC") {
        desc = true;
        expr = expr[..expr.len() - 5].trim_end();
    } else if upper.ends_with(" ASC") {
        expr = expr[..expr.len() - 4].trim_end();
    }
    (
        expr,
        KeyOrder {
            desc,
            nulls_first: nulls.unwrap_or(desc),
        },
    )
}

/// Split `name(type, type)` into the name and the argument types.
pub fn parse_signature(sig: &str) -> Option<(String, Vec<String>)> {
    let open = sig.find('(')?;
    let inner = sig[open + 1..].trim_end().strip_suffix(')')?;
    let name = sig[..open].trim();
    if name.is_empty() {
        return None;
    }
    let mut args = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for ch in inner.chars() {
        match ch {
            '(' => {
                depth += 1;
                cur.push(ch)
            }
            ')' => {
                depth -= 1;
                cur.push(ch)
            }
            ',' if depth == 0 => {
                args.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    if !cur.trim().is_empty() {
        args.push(cur.trim().to_string());
    }
    Some((name.to_string(), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_split_into_expression_and_order() {
        assert_eq!(split_index_key("timestamp DESC").0, "timestamp");
        assert!(split_index_key("timestamp DESC").1.desc);
        assert!(split_index_key("timestamp DESC").1.nulls_first);
        let (e, o) = split_index_key("lower(email) ASC NULLS FIRST");
        assert_eq!((e, o.desc, o.nulls_first), ("lower(email)", false, true));
        assert_eq!(
            split_index_key("a").1,
            KeyOrder {
                desc: false,
                nulls_first: false
            }
        );
    }

    #[test]
    fn signatures_parse() {
        assert_eq!(
            parse_signature("create_session(uuid, text, numeric(5,2))"),
            Some((
                "create_session".into(),
                vec!["uuid".into(), "text".into(), "numeric(5,2)".into()]
            ))
        );
        assert_eq!(parse_signature("f()"), Some(("f".into(), vec![])));
        assert_eq!(parse_signature("nope"), None);
    }
}
