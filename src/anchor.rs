//! Where in the migrations an object is defined, so that a finding about an object no spec
//! states (a table, index or function nobody declared) can still point a reviewer at a line
//! of a file in the pull request.
//!
//! The search is by name, over the migrations' SQL with comments, string literals and
//! dollar-quoted bodies blanked out: the last statement, in version order, that creates or
//! alters the object by that name. It is a pointer for people, labelled as found by name,
//! never evidence for a verdict.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::SourceLocation;
use crate::migrate::MigrationFile;
use crate::verify::{Finding, Status};

/// One SQL file to search: its path as shown, and its text.
pub type SqlSource<'a> = (&'a Path, &'a str);

/// The migrations as sources, in version order.
pub fn migration_sources(files: &[MigrationFile]) -> Vec<SqlSource<'_>> {
    files
        .iter()
        .map(|f| (f.path.as_path(), f.sql.as_str()))
        .collect()
}

/// For each failing finding that has no spec location, the line of the last of `sources`
/// (migrations in version order, then any SQL applied after them) that defines its object,
/// keyed by the finding's object name.
///
/// The sources are read into tokens only when some failure needs them: at thousands of
/// tables the tokens of every migration are tens of megabytes, and a passing run needs none.
pub fn locate_failures<'f>(
    sources: &[SqlSource<'_>],
    findings: impl IntoIterator<Item = &'f Finding>,
) -> BTreeMap<String, SourceLocation> {
    let mut scanned: Option<Vec<(&Path, Vec<Token>)>> = None;
    let mut out = BTreeMap::new();
    for f in findings {
        if f.status != Status::Fail || f.location.is_some() || out.contains_key(f.object.as_str()) {
            continue;
        }
        let Some(wanted) = Wanted::of(f) else {
            continue;
        };
        let scanned = scanned
            .get_or_insert_with(|| sources.iter().map(|(p, sql)| (*p, tokens(sql))).collect());
        let found = scanned
            .iter()
            .rev()
            .find_map(|(file, toks)| wanted.find(toks).map(|line| (file, line)));
        if let Some((file, line)) = found {
            out.insert(
                f.object.to_string(),
                SourceLocation {
                    file: file.to_path_buf(),
                    line: Some(line),
                    column: None,
                },
            );
        }
    }
    out
}

/// What to look for: the keyword sequence that introduces the object, and its name.
struct Wanted {
    /// Keywords that must come right before the name (after optional modifiers).
    introducers: &'static [&'static str],
    /// The object's own name, unqualified.
    name: String,
}

impl Wanted {
    fn of(f: &Finding) -> Option<Wanted> {
        let family = crate::codes::family(f.code);
        let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
        let (introducers, name): (&'static [&'static str], String) = match family {
            "table" => (&["TABLE", "VIEW"], last(&f.object)),
            "index" => (&["INDEX"], last(&f.object)),
            "check" | "fk" | "unique" | "pk" | "constraint" => (&["CONSTRAINT"], last(&f.object)),
            "trigger" => (&["TRIGGER"], last(&f.object)),
            "function" => (
                &["FUNCTION", "PROCEDURE"],
                f.object.split('(').next().map(last)?,
            ),
            _ => return None,
        };
        (!name.is_empty()).then_some(Wanted { introducers, name })
    }

    /// The line of the last place in `toks` where an introducer is followed (after modifiers
    /// such as `IF NOT EXISTS`, `CONCURRENTLY` or a schema qualifier) by the name.
    fn find(&self, toks: &[Token]) -> Option<usize> {
        const SKIP: &[&str] = &["IF", "NOT", "EXISTS", "CONCURRENTLY", "ONLY"];
        let mut hit = None;
        for (i, t) in toks.iter().enumerate() {
            if !self
                .introducers
                .iter()
                .any(|k| t.text.eq_ignore_ascii_case(k))
            {
                continue;
            }
            let mut j = i + 1;
            while toks
                .get(j)
                .is_some_and(|t| SKIP.iter().any(|s| t.text.eq_ignore_ascii_case(s)))
            {
                j += 1;
            }
            // A schema-qualified name: `public . users`.
            if toks.get(j + 1).is_some_and(|t| t.text == ".") {
                j += 2;
            }
            if toks.get(j).is_some_and(|t| t.ident() == self.name) {
                hit = Some(toks[j].line);
            }
        }
        hit
    }
}

/// One token of SQL text and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
    quoted: bool,
}

impl Token {
    /// The identifier as PostgreSQL folds it: lower case unless quoted.
    fn ident(&self) -> String {
        if self.quoted {
            self.text.clone()
        } else {
            self.text.to_ascii_lowercase()
        }
    }
}

/// Words, quoted identifiers and single punctuation characters of `sql`, skipping comments,
/// string literals and dollar-quoted strings.
fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let count_lines = |from: usize, to: usize, chars: &[char]| {
        chars[from..to.min(chars.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count()
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let start = i;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i, &chars);
        } else if c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' && chars.get(i + 1) == Some(&'\'') {
                    i += 2;
                } else if chars[i] == '\'' {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i, &chars);
        } else if c == '"' {
            let start = i;
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && chars.get(i + 1) == Some(&'"') {
                    text.push('"');
                    i += 2;
                } else if chars[i] == '"' {
                    i += 1;
                    break;
                } else {
                    text.push(chars[i]);
                    i += 1;
                }
            }
            out.push(Token {
                text,
                line,
                quoted: true,
            });
            line += count_lines(start, i, &chars);
        } else if c == '$' {
            // `$tag$ … $tag$` (a positional parameter `$1` is just skipped).
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if chars.get(j) == Some(&'$') && !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                let tag: String = chars[i..=j].iter().collect();
                let start = i;
                i = j + 1;
                while i < chars.len() && !chars[i..].starts_with(&tag.chars().collect::<Vec<_>>()) {
                    i += 1;
                }
                i = (i + tag.chars().count()).min(chars.len());
                line += count_lines(start, i, &chars);
            } else {
                i = j.max(i + 1);
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token {
                text: chars[start..i].iter().collect(),
                line,
                quoted: false,
            });
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
                quoted: false,
            });
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, sql: &str) -> MigrationFile {
        MigrationFile {
            version: name[..3].parse().unwrap(),
            name: name.into(),
            path: format!("migrations/{name}").into(),
            sql: sql.into(),
            checksum: String::new(),
        }
    }

    fn failing(code: &'static str, object: &str) -> Finding {
        Finding {
            code,
            table: object.split('.').next().unwrap().into(),
            object: object.into(),
            status: Status::Fail,
            expected: None,
            actual: None,
            message: String::new(),
            location: None,
            requirements: vec![],
            hint: None,
            repro: None,
        }
    }

    #[test]
    fn objects_are_found_by_name_ignoring_comments_strings_and_bodies() {
        let files = vec![
            file(
                "001_a.sql",
                "-- CREATE TABLE ghost (x int);\nCREATE TABLE IF NOT EXISTS public.\"Audit\" (\n  id int\n);\n\
                 CREATE UNIQUE INDEX CONCURRENTLY idx_a ON \"Audit\" (id);\n\
                 CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN CREATE TABLE ghost2(); END $body$ LANGUAGE plpgsql;\n",
            ),
            file(
                "002_b.sql",
                "/* CREATE TABLE ghost */ SELECT 'CREATE TABLE ghost3';\nALTER TABLE t ADD CONSTRAINT t_x_check CHECK (x > 0);\n\
                 CREATE OR REPLACE FUNCTION public.f() RETURNS int AS 'select 1' LANGUAGE sql;\n",
            ),
        ];
        let findings = vec![
            failing("table.extra", "Audit"),
            failing("index.extra", "Audit.idx_a"),
            failing("check.extra", "t.t_x_check"),
            failing("function.extra", "f()"),
            failing("table.extra", "ghost"),
            failing("table.extra", "ghost2"),
            failing("table.extra", "ghost3"),
        ];
        let got = locate_failures(&migration_sources(&files), &findings);
        let at = |o: &str| got.get(o).map(|l| l.to_string());
        assert_eq!(at("Audit").as_deref(), Some("migrations/001_a.sql:2"));
        assert_eq!(at("Audit.idx_a").as_deref(), Some("migrations/001_a.sql:5"));
        assert_eq!(at("t.t_x_check").as_deref(), Some("migrations/002_b.sql:2"));
        // The later definition wins.
        assert_eq!(at("f()").as_deref(), Some("migrations/002_b.sql:3"));
        for ghost in ["ghost", "ghost2", "ghost3"] {
            assert_eq!(
                at(ghost),
                None,
                "{ghost} is only in a comment, string or body"
            );
        }
    }

    #[test]
    fn passing_findings_and_located_ones_are_left_alone() {
        let files = vec![file("001_a.sql", "CREATE TABLE t (id int);\n")];
        let mut pass = failing("table.extra", "t");
        pass.status = Status::Pass;
        assert!(locate_failures(&migration_sources(&files), &[pass]).is_empty());
        let mut located = failing("table.extra", "t");
        located.location = Some(SourceLocation {
            file: "specs/t.yaml".into(),
            line: Some(1),
            column: None,
        });
        assert!(locate_failures(&migration_sources(&files), &[located]).is_empty());
    }
}
