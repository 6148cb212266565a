//! The YAML spec format, its loader, and the SQL each structured rule stands for.

mod access_check;
pub mod database_doc;
mod keylines;
mod load;
mod loaded;
pub mod model;
pub mod placeholders;
pub mod policy;
pub mod privileges;
pub mod property;
mod property_check;
pub mod report_doc;
mod rule;
mod sample_value;
pub mod schema_doc;
mod tagged;

pub use keylines::KeyLines;
pub use load::{
    assemble, load_dir, load_dir_reporting, load_document, load_str, Loaded, LoadedSchema,
    LoadedSpec, SpecDocument, SpecSet,
};
pub use load::{LoadedDatabase, LoadedReport};
pub use model::*;
pub use property::PropertySpec;
pub use rule::{number, rule_columns, rule_sql};
pub use schema_doc::*;

/// Whether `id` names a business requirement as specs write them: `BR-` and three digits.
pub fn requirement_id(id: &str) -> bool {
    id.len() == 6 && id.starts_with("BR-") && id[3..].bytes().all(|b| b.is_ascii_digit())
}

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

/// One index key of a spec, split into its parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKey {
    /// The column or expression.
    pub expr: String,
    /// The `COLLATE` collation as written, if any.
    pub collation: Option<String>,
    /// The operator class as written, if any.
    pub opclass: Option<String>,
    /// Sort order.
    pub order: KeyOrder,
}

/// Split `lower(email) COLLATE "C" text_pattern_ops DESC` into expression, collation,
/// operator class and order, as PostgreSQL's `CREATE INDEX` grammar reads a key.
pub fn parse_index_key(key: &str) -> IndexKey {
    let (rest, order) = split_index_key(key);
    let elem = crate::catalog::split_index_elem(rest);
    IndexKey {
        expr: elem.expr,
        collation: elem.collation,
        opclass: elem.opclass,
        order,
    }
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
    fn index_keys_parse_with_collation_and_opclass() {
        let k = parse_index_key("status COLLATE \"C\" text_pattern_ops DESC NULLS LAST");
        assert_eq!(k.expr, "status");
        assert_eq!(k.collation.as_deref(), Some("\"C\""));
        assert_eq!(k.opclass.as_deref(), Some("text_pattern_ops"));
        assert!(k.order.desc && !k.order.nulls_first);
        let k = parse_index_key("labels jsonb_path_ops");
        assert_eq!(
            (k.expr.as_str(), k.opclass.as_deref()),
            ("labels", Some("jsonb_path_ops"))
        );
        let k = parse_index_key("lower(email)");
        assert_eq!(
            (k.expr.as_str(), k.collation, k.opclass),
            ("lower(email)", None, None)
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
