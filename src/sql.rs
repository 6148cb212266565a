//! Small SQL-text helpers shared by every module that builds statements.

/// Quote an identifier: `a"b` → `"a""b"`.
///
/// ```
/// assert_eq!(reims_verify::sql::quote_ident("timestamp"), "\"timestamp\"");
/// assert_eq!(reims_verify::sql::quote_ident("a\"b"), "\"a\"\"b\"");
/// ```
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote a string literal: `o'k` → `'o''k'`.
///
/// ```
/// assert_eq!(reims_verify::sql::quote_literal("o'k"), "'o''k'");
/// ```
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("o'k"), "'o''k'");
    }
}
