//! How the catalog's objects are named: the keys of the read schema and the qualified names
//! specs write. Apart from the model so that the access-control reader and the model, which
//! holds what that reader returns, both use it without importing each other.

/// How relations (and other objects) are named in findings and keyed in [`super::Schema`]: the
/// bare name in `public`, `schema.name` elsewhere, each part quoted only when it holds a
/// dot or a double quote, so that two different objects never share a key.
pub fn relation_key(schema: &str, name: &str) -> String {
    qualified_name(schema, name, "public")
}

/// `name` as a spec writes it relative to `home`, the schema it is written in: bare when
/// it lives in `home`, else `schema.name`; each part double-quoted when it holds a dot or a
/// double quote. [`parse_qualified`] reads it back.
pub fn qualified_name(schema: &str, name: &str, home: &str) -> String {
    let part = |s: &str| {
        if s.contains('.') || s.contains('"') {
            crate::sql::quote_ident(s)
        } else {
            s.to_string()
        }
    };
    if schema == home {
        part(name)
    } else {
        format!("{}.{}", part(schema), part(name))
    }
}

/// Read `name` or `schema.name` (parts optionally double-quoted) as written in a spec
/// whose own schema is `home`: (schema, name).
pub fn parse_qualified(text: &str, home: &str) -> (String, String) {
    let parts = split_qualified(text.trim());
    match parts.as_slice() {
        [schema, name] => (schema.clone(), name.clone()),
        _ => (home.to_string(), unquote_part(text.trim())),
    }
}

/// The relation key ([`relation_key`]) of the table a spec whose own schema is `home`
/// names as `text` (`t`, `app.t`, `"odd.name"`).
pub fn key_in(text: &str, home: &str) -> String {
    let (schema, name) = parse_qualified(text, home);
    relation_key(&schema, &name)
}

/// A sequence's owning column as a spec writes it, `table.column`, each part double-quoted
/// when it holds a dot or a double quote (`"order.lines".n`). The table is in the
/// sequence's own schema, as PostgreSQL requires.
pub fn owned_by_text(table: &str, column: &str) -> String {
    format!(
        "{}.{}",
        qualified_name("", table, ""),
        qualified_name("", column, "")
    )
}

/// Read an `owned_by` written as [`owned_by_text`] writes it: (table, column), or `None`
/// when it is not two non-empty parts.
pub fn parse_owned_by(text: &str) -> Option<(String, String)> {
    match split_qualified(text.trim()).as_slice() {
        [table, column] if !table.trim().is_empty() && !column.trim().is_empty() => {
            Some((table.clone(), column.clone()))
        }
        _ => None,
    }
}

fn split_qualified(text: &str) -> Vec<String> {
    crate::sql::split_outside_quotes(text, '.', false)
}

fn unquote_part(text: &str) -> String {
    split_qualified(text).join(".")
}
