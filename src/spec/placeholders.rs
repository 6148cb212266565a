//! Placeholders in the SQL of a property: `:name` and `:name.column`.
//!
//! The scanner knows enough SQL to leave alone what only looks like a placeholder: string
//! literals (`'10:30'`, `E'…'`), quoted identifiers, dollar-quoted bodies, comments, and
//! the cast operator `::`.

/// A piece of SQL text: plain text, or a placeholder to substitute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// SQL text, kept as written.
    Text(String),
    /// `:name` or `:name.field`.
    Placeholder {
        /// The name after the colon.
        name: String,
        /// The column after the dot, if any.
        field: Option<String>,
    },
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Split `sql` into text and placeholders.
pub fn scan(sql: &str) -> Vec<Piece> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        let c = chars[i];
        match c {
            '\'' => {
                // E'…' allows backslash escapes.
                let escapes = i > 0
                    && matches!(chars[i - 1], 'e' | 'E')
                    && (i < 2 || !ident_char(chars[i - 2]));
                text.push(c);
                i += 1;
                while i < n {
                    let d = chars[i];
                    text.push(d);
                    i += 1;
                    if escapes && d == '\\' && i < n {
                        text.push(chars[i]);
                        i += 1;
                    } else if d == '\'' {
                        if i < n && chars[i] == '\'' {
                            text.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' => {
                text.push(c);
                i += 1;
                while i < n {
                    text.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '"' {
                        break;
                    }
                }
            }
            '-' if i + 1 < n && chars[i + 1] == '-' => {
                while i < n && chars[i] != '\n' {
                    text.push(chars[i]);
                    i += 1;
                }
            }
            '/' if i + 1 < n && chars[i + 1] == '*' => {
                let mut depth = 0;
                while i < n {
                    if chars[i] == '/' && i + 1 < n && chars[i + 1] == '*' {
                        depth += 1;
                        text.push_str("/*");
                        i += 2;
                    } else if chars[i] == '*' && i + 1 < n && chars[i + 1] == '/' {
                        depth -= 1;
                        text.push_str("*/");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        text.push(chars[i]);
                        i += 1;
                    }
                }
            }
            '$' if i == 0 || !ident_char(chars[i - 1]) => {
                // $tag$ … $tag$ (tag may be empty); a lone $1 is a parameter.
                let mut j = i + 1;
                while j < n && ident_char(chars[j]) && !(j == i + 1 && chars[j].is_ascii_digit()) {
                    j += 1;
                }
                if j < n && chars[j] == '$' {
                    let tag: String = chars[i..=j].iter().collect();
                    text.push_str(&tag);
                    i = j + 1;
                    let rest: String = chars[i..].iter().collect();
                    match rest.find(&tag) {
                        Some(end) => {
                            let body = &rest[..end + tag.len()];
                            text.push_str(body);
                            i += body.chars().count();
                        }
                        None => {
                            text.push_str(&rest);
                            i = n;
                        }
                    }
                } else {
                    text.push(c);
                    i += 1;
                }
            }
            ':' if i + 1 < n && chars[i + 1] == ':' => {
                text.push_str("::");
                i += 2;
            }
            ':' if i + 1 < n && ident_start(chars[i + 1]) && (i == 0 || chars[i - 1] != ':') => {
                let mut j = i + 1;
                while j < n && ident_char(chars[j]) {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                let mut field = None;
                if j + 1 < n && chars[j] == '.' && ident_start(chars[j + 1]) {
                    let mut k = j + 1;
                    while k < n && ident_char(chars[k]) {
                        k += 1;
                    }
                    field = Some(chars[j + 1..k].iter().collect());
                    j = k;
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Placeholder { name, field });
                i = j;
            }
            _ => {
                text.push(c);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

thread_local! {
    /// Scans already made, by SQL text: a property renders the same texts over and over.
    static SCANNED: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Vec<Piece>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`scan`], remembered per text (the texts of a spec set are few; the cache is emptied
/// if it ever grows past 10,000 entries).
pub fn scan_cached(sql: &str) -> std::rc::Rc<Vec<Piece>> {
    SCANNED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(p) = cache.get(sql) {
            return p.clone();
        }
        if cache.len() > 10_000 {
            cache.clear();
        }
        let pieces = std::rc::Rc::new(scan(sql));
        cache.insert(sql.to_string(), pieces.clone());
        pieces
    })
}

/// The placeholders of `sql`, in order, as `(name, field)`.
pub fn placeholders(sql: &str) -> Vec<(String, Option<String>)> {
    scan(sql)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder { name, field } => Some((name, field)),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Whether `sql` uses the bare identifier `word` (outside strings, comments and
/// placeholders), case-insensitively.
pub fn mentions_identifier(sql: &str, word: &str) -> bool {
    scan(sql).iter().any(|p| match p {
        Piece::Text(t) => {
            let mut current = String::new();
            let mut in_string = false;
            let mut found = false;
            for c in t.chars().chain(std::iter::once(' ')) {
                if c == '\'' {
                    in_string = !in_string;
                }
                if !in_string && ident_char(c) {
                    current.push(c);
                } else {
                    if current.eq_ignore_ascii_case(word) {
                        found = true;
                    }
                    current.clear();
                }
            }
            found
        }
        Piece::Placeholder { .. } => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        placeholders(sql)
            .into_iter()
            .map(|(n, f)| match f {
                Some(f) => format!("{n}.{f}"),
                None => n,
            })
            .collect()
    }

    #[test]
    fn placeholders_are_found_and_sql_lookalikes_are_not() {
        assert_eq!(
            names("SELECT f(:u.email, :n::int, x::text) WHERE t = '10:30' AND c = :who"),
            ["u.email", "n", "who"]
        );
        assert_eq!(
            names("SELECT \"a:b\", E'it\\'s :x', $$ :y $$, $f$ :z $f$"),
            [] as [&str; 0]
        );
        assert_eq!(
            names("SELECT 1 -- :comment\n, /* :block /* :nested */ */ :real"),
            ["real"]
        );
        assert_eq!(names("SELECT $1, :a"), ["a"]);
    }

    #[test]
    fn text_around_placeholders_is_kept_exactly() {
        let sql = "SELECT :a + 1::int, 'x:y'";
        let rebuilt: String = scan(sql)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t,
                Piece::Placeholder { name, .. } => format!(":{name}"),
            })
            .collect();
        assert_eq!(rebuilt, sql);
    }

    #[test]
    fn bare_identifiers_are_found_outside_strings() {
        assert!(mentions_identifier("SELECT x FROM result", "result"));
        assert!(!mentions_identifier("SELECT :result, 'result'", "result"));
        assert!(!mentions_identifier("SELECT results FROM t", "result"));
    }
}
