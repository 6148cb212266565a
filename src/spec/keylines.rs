//! Mapping YAML key paths to line numbers and back, so that every message about a spec can
//! say `file:line` and `at key: indexes.idx_users_locked.where`.
//!
//! Works on block-style YAML (what specs use); keys inside flow mappings (`{ … }`) resolve
//! to the line of their enclosing block key.

use std::collections::HashMap;

/// Key paths (dot-joined) → 1-based line of the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyLines {
    lines: HashMap<String, usize>,
    /// For each line, the key path in force there.
    paths: Vec<String>,
}

impl KeyLines {
    /// Index a YAML document.
    pub fn index(text: &str) -> Self {
        let mut stack: Vec<(usize, String)> = Vec::new();
        let mut lines = HashMap::new();
        let mut paths = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            let indent = raw.len() - trimmed.len();
            if let Some(key) = block_key(trimmed) {
                let indent = if trimmed.starts_with("- ") {
                    indent + 2
                } else {
                    indent
                };
                while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                    stack.pop();
                }
                stack.push((indent, key));
                let path = stack
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                lines.entry(path.clone()).or_insert(i + 1);
                paths.push(path);
            } else {
                paths.push(
                    stack
                        .iter()
                        .map(|(_, k)| k.as_str())
                        .collect::<Vec<_>>()
                        .join("."),
                );
            }
        }
        KeyLines { lines, paths }
    }

    /// The line of a key path such as `["indexes", "idx_users_locked"]`.
    pub fn line_of(&self, path: &[&str]) -> Option<usize> {
        self.lines.get(&path.join(".")).copied()
    }

    /// The line of the longest leading part of `path` that the document has, such as
    /// `indexes.idx_users_locked` for `["indexes", "idx_users_locked", "where"]` when the
    /// index has no `where:` line. One joined path is built; its prefixes are looked up.
    pub fn line_of_longest(&self, path: &[&str]) -> Option<usize> {
        let joined = path.join(".");
        let mut end = joined.len();
        for part in path.iter().rev() {
            if let Some(line) = self.lines.get(&joined[..end]) {
                return Some(*line);
            }
            // Drop this part and the dot before it.
            end = end.saturating_sub(part.len() + 1);
        }
        None
    }

    /// The key path in force at a 1-based line.
    pub fn path_at(&self, line: usize) -> Option<&str> {
        self.paths
            .get(line.checked_sub(1)?)
            .map(String::as_str)
            .filter(|p| !p.is_empty())
    }
}

/// The key of a `key:` or `- key:` line, unquoted; `None` for other lines.
fn block_key(line: &str) -> Option<String> {
    let line = line.strip_prefix("- ").unwrap_or(line);
    if line.starts_with('#') || line.starts_with('-') || line.starts_with('{') || line.is_empty() {
        return None;
    }
    let (key, rest) = if let Some(stripped) = line.strip_prefix('"') {
        let end = stripped.find('"')?;
        (&stripped[..end], &stripped[end + 1..])
    } else if let Some(stripped) = line.strip_prefix('\'') {
        let end = stripped.find('\'')?;
        (&stripped[..end], &stripped[end + 1..])
    } else {
        let end = line
            .find(": ")
            .or_else(|| line.strip_suffix(':').map(|s| s.len()))?;
        (&line[..end], &line[end..])
    };
    if !rest.starts_with(':') {
        return None;
    }
    Some(key.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "table: users\ncolumns:\n  id: { type: uuid }\n  email:\n    type: text\nindexes:\n  \"idx_users_email_lower\": { keys: [lower(email)] }\n";

    #[test]
    fn lines_of_nested_keys() {
        let k = KeyLines::index(DOC);
        assert_eq!(k.line_of(&["table"]), Some(1));
        assert_eq!(k.line_of(&["columns", "id"]), Some(3));
        assert_eq!(k.line_of(&["columns", "email", "type"]), Some(5));
        assert_eq!(k.line_of(&["indexes", "idx_users_email_lower"]), Some(7));
        assert_eq!(k.line_of(&["columns", "nope"]), None);
    }

    #[test]
    fn the_longest_written_prefix_gives_the_line() {
        let k = KeyLines::index(DOC);
        let cases: [(&[&str], Option<usize>); 6] = [
            (&["columns", "email", "type"], Some(5)),
            (&["columns", "email", "default"], Some(4)),
            (&["columns", "id", "type", "x"], Some(3)),
            (&["indexes", "idx_users_email_lower", "where"], Some(7)),
            (&["nope", "columns"], None),
            (&[], None),
        ];
        for (path, line) in cases {
            assert_eq!(k.line_of_longest(path), line, "{path:?}");
            // The same as trying each prefix, longest first.
            let by_prefix = (1..=path.len()).rev().find_map(|n| k.line_of(&path[..n]));
            assert_eq!(by_prefix, line, "{path:?}");
        }
    }

    #[test]
    fn path_at_a_line() {
        let k = KeyLines::index(DOC);
        assert_eq!(k.path_at(5), Some("columns.email.type"));
        assert_eq!(k.path_at(3), Some("columns.id"));
    }
}
