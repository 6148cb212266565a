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

fn split_qualified(text: &str) -> Vec<String> {
    crate::sql::split_outside_quotes(text, '.', false)
}

fn unquote_part(text: &str) -> String {
    split_qualified(text).join(".")
}
