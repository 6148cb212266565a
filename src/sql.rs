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

/// Quote a string literal: `o'k` → `'o''k'`. A value with a backslash is written as an
/// escape string with the backslashes doubled, `C:\t` → `E'C:\\t'`, as PostgreSQL's own
/// `quote_literal` writes it: a plain `'C:\t'` reads as a tab in a session with
/// `standard_conforming_strings` off (a database or server set so), and the escape string
/// reads as the value in every session.
///
/// ```
/// assert_eq!(reims_verify::sql::quote_literal("o'k"), "'o''k'");
/// assert_eq!(reims_verify::sql::quote_literal(r"C:\t"), r"E'C:\\t'");
/// ```
pub fn quote_literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `text` cut at each `sep` outside double quotes, the quotes taken away and a doubled
/// quote inside them read as one: how PostgreSQL reads a qualified name (`sep` `.`) or a
/// list setting such as `search_path` (`sep` `,`). With `drop_unquoted_space`, whitespace
/// outside quotes is dropped (a list's items are names, and a quoted one keeps its spaces).
///
/// ```
/// use reims_verify::sql::split_outside_quotes;
/// assert_eq!(split_outside_quotes(r#""a.b"."c""d""#, '.', false), ["a.b", "c\"d"]);
/// assert_eq!(split_outside_quotes(r#"a, "b, c" ,d"#, ',', true), ["a", "b, c", "d"]);
/// ```
pub fn split_outside_quotes(text: &str, sep: char, drop_unquoted_space: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => parts.push(std::mem::take(&mut cur)),
            c if drop_unquoted_space && c.is_whitespace() && !quoted => {}
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
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
