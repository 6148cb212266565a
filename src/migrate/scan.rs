//! A small lexer that splits a migration file into top-level statements the way `psql`
//! does: a `;` ends a statement unless it sits in a string, a quoted identifier, a
//! dollar-quoted body, a comment, parentheses, or the `BEGIN ATOMIC … END` body of a
//! routine. It never fails and never panics: unterminated text runs to the end of the file,
//! where PostgreSQL will report it.

/// How many bare words at parenthesis depth 0 are kept per statement, for classification.
const MAX_WORDS: usize = 64;

/// One top-level statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement from its first token up to and including its `;` (if any).
    pub text: &'a str,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    /// 1-based line of the first token.
    pub line: usize,
    /// Upper-cased bare words outside strings, comments and parentheses, in order (at most
    /// 64): enough to tell `COMMIT AND CHAIN` from `CREATE INDEX CONCURRENTLY`.
    pub words: Vec<String>,
}

/// Every top-level statement of `sql`, in order. Empty statements (`;;`) and text that is
/// only comments or white space are left out.
pub fn statements(sql: &str) -> Vec<Statement<'_>> {
    Lexer::new(sql).run()
}

struct Lexer<'a> {
    sql: &'a str,
    b: &'a [u8],
    i: usize,
    line: usize,
    out: Vec<Statement<'a>>,
    // The statement being read.
    start: Option<(usize, usize)>,
    words: Vec<String>,
    depth: usize,
    begin_depth: usize,
    /// The previous bare word at depth 0 (to see `BEGIN ATOMIC`).
    last_word: String,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn is_tag_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

impl<'a> Lexer<'a> {
    fn new(sql: &'a str) -> Self {
        Lexer {
            sql,
            b: sql.as_bytes(),
            i: 0,
            line: 1,
            out: Vec::new(),
            start: None,
            words: Vec::new(),
            depth: 0,
            begin_depth: 0,
            last_word: String::new(),
        }
    }

    fn peek(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    /// Note that the current statement has a token starting here.
    fn mark(&mut self) {
        if self.start.is_none() {
            self.start = Some((self.i, self.line));
        }
    }

    /// Advance to `to`, counting the newlines passed.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.b.len());
        self.line += self.b[self.i..to].iter().filter(|&&c| c == b'\n').count();
        self.i = to;
    }

    fn finish(&mut self, end: usize) {
        if let Some((offset, line)) = self.start.take() {
            // Offsets always fall on ASCII bytes or the end, so slicing is on a char boundary.
            self.out.push(Statement {
                text: &self.sql[offset..end],
                offset,
                line,
                words: std::mem::take(&mut self.words),
            });
        }
        self.words.clear();
        self.depth = 0;
        self.begin_depth = 0;
        self.last_word.clear();
    }

    fn run(mut self) -> Vec<Statement<'a>> {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b'\n' => {
                    self.line += 1;
                    self.i += 1;
                }
                c if c.is_ascii_whitespace() => self.i += 1,
                b'-' if self.peek(1) == Some(b'-') => {
                    let end = self.find_byte(b'\n').unwrap_or(self.b.len());
                    self.i = end; // the newline itself is counted by the main loop
                }
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b'\'' => {
                    self.mark();
                    self.skip_string(false);
                }
                b'"' => {
                    self.mark();
                    self.skip_quoted(b'"', false);
                }
                b'$' => {
                    self.mark();
                    self.dollar();
                }
                b'(' => {
                    self.mark();
                    self.depth += 1;
                    self.i += 1;
                }
                b')' => {
                    self.mark();
                    self.depth = self.depth.saturating_sub(1);
                    self.i += 1;
                }
                b';' => {
                    self.i += 1;
                    if self.depth == 0 && self.begin_depth == 0 {
                        self.finish(self.i);
                    }
                }
                c if is_ident_start(c) => {
                    self.mark();
                    self.word();
                }
                c if c.is_ascii_digit() => {
                    self.mark();
                    while self
                        .peek(0)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                    {
                        self.i += 1;
                    }
                }
                _ => {
                    self.mark();
                    self.i += 1;
                }
            }
        }
        self.finish(self.b.len());
        self.out
    }

    fn find_byte(&self, needle: u8) -> Option<usize> {
        self.b[self.i..]
            .iter()
            .position(|&c| c == needle)
            .map(|p| self.i + p)
    }

    fn skip_block_comment(&mut self) {
        let mut j = self.i + 2;
        let mut nesting = 1usize;
        while j < self.b.len() && nesting > 0 {
            if self.b[j] == b'/' && self.b.get(j + 1) == Some(&b'*') {
                nesting += 1;
                j += 2;
            } else if self.b[j] == b'*' && self.b.get(j + 1) == Some(&b'/') {
                nesting -= 1;
                j += 2;
            } else {
                j += 1;
            }
        }
        self.advance_to(j);
    }

    /// A string literal starting at the current quote; `backslash` for `E'…'` strings.
    fn skip_string(&mut self, backslash: bool) {
        self.skip_quoted(b'\'', backslash);
    }

    /// Skip a quoted run ending at an undoubled `quote`; with `backslash`, `\x` escapes x.
    fn skip_quoted(&mut self, quote: u8, backslash: bool) {
        let mut j = self.i + 1;
        while j < self.b.len() {
            let c = self.b[j];
            if backslash && c == b'\\' {
                j += 2;
            } else if c == quote {
                if self.b.get(j + 1) == Some(&quote) {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            } else {
                j += 1;
            }
        }
        self.advance_to(j);
    }

    /// `$tag$ … $tag$`, or a lone `$` / `$1` parameter.
    fn dollar(&mut self) {
        let mut j = self.i + 1;
        if self.b.get(j).is_some_and(|&c| is_ident_start(c)) {
            while self.b.get(j).is_some_and(|&c| is_tag_cont(c)) {
                j += 1;
            }
        }
        if self.b.get(j) != Some(&b'$') {
            // `$1`, or a `$` that opens nothing: an ordinary character.
            self.i += 1;
            return;
        }
        let tag = &self.b[self.i..=j];
        let body = j + 1;
        let close = self.b[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map(|p| body + p + tag.len())
            .unwrap_or(self.b.len());
        self.advance_to(close);
    }

    /// A bare word (keyword or identifier), which may prefix a string (`E'…'`).
    fn word(&mut self) {
        let begin = self.i;
        while self.peek(0).is_some_and(is_ident_cont) {
            self.i += 1;
        }
        let word = &self.sql[begin..self.i];
        if self.peek(0) == Some(b'\'') && word.len() == 1 {
            // E'…' (backslash escapes), B'…', X'…', N'…': one literal, not a word.
            let backslash = word.eq_ignore_ascii_case("e");
            self.skip_string(backslash);
            return;
        }
        if self.depth != 0 {
            return;
        }
        let upper = word.to_ascii_uppercase();
        if self.is_routine() {
            // `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`: semicolons in
            // the body do not end the statement; CASE … END nests inside it. (psql counts any
            // BEGIN; requiring ATOMIC keeps a routine named `begin` from swallowing the
            // statements after it.)
            let after_begin = self.last_word == "BEGIN";
            match upper.as_str() {
                "ATOMIC" if after_begin => self.begin_depth += 1,
                "CASE" if self.begin_depth > 0 => self.begin_depth += 1,
                "END" if self.begin_depth > 0 => self.begin_depth -= 1,
                _ => {}
            }
        }
        if self.words.len() < MAX_WORDS {
            self.words.push(upper.clone());
        }
        self.last_word = upper;
    }

    fn is_routine(&self) -> bool {
        let w: Vec<&str> = self.words.iter().take(4).map(String::as_str).collect();
        matches!(
            w.as_slice(),
            ["CREATE", "FUNCTION" | "PROCEDURE", ..]
                | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "CREATE TABLE a (x text DEFAULT ';');\n-- a comment; with a semicolon\nSELECT 'it''s; fine', \"we;ird\" FROM a; /* block; /* nested; */ still */ SELECT 2";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE TABLE a (x text DEFAULT ';');",
                "SELECT 'it''s; fine', \"we;ird\" FROM a;",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn only_ascii_white_space_separates_like_postgresql() {
        // PostgreSQL's lexer treats every byte from 0x80 up as part of an identifier, so a
        // file holding only U+2000 (EN QUAD) is a statement it will reject, not an empty file.
        assert_eq!(texts("\u{2000}"), vec!["\u{2000}"]);
        assert_eq!(texts(" \t\r\n\x0c;"), Vec::<&str>::new());
        let s = statements("\u{3000}SELECT 1;");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].offset, 0);
    }

    #[test]
    fn dollar_quotes_hide_everything_until_the_same_tag() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN; COMMIT; $$ not the end $$; RETURN 1; END $body$ LANGUAGE plpgsql;\nCOMMIT;";
        let s = statements(sql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1].words, vec!["COMMIT"]);
        assert_eq!(s[1].line, 2);
    }

    #[test]
    fn parameters_and_identifiers_with_dollars_are_not_quotes() {
        let sql = "PREPARE p AS SELECT $1; SELECT a$b$ FROM t; SELECT 1";
        assert_eq!(texts(sql).len(), 3);
    }

    #[test]
    fn escape_strings_honour_backslashes() {
        let sql = "SELECT E'a\\';b'; SELECT 'c\\'; SELECT 3";
        assert_eq!(
            texts(sql),
            vec!["SELECT E'a\\';b';", "SELECT 'c\\';", "SELECT 3"]
        );
    }

    #[test]
    fn begin_atomic_bodies_stay_in_one_statement() {
        let sql = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nBEGIN;";
        let s = statements(sql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1].words, vec!["BEGIN"]);
        assert_eq!(s[1].line, 6);
    }

    #[test]
    fn a_routine_named_begin_does_not_swallow_the_next_statement() {
        let sql = "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1';\nCOMMIT;";
        let s = statements(sql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1].words, vec!["COMMIT"]);
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split() {
        assert_eq!(texts("SELECT (1;2); SELECT 3").len(), 2);
    }

    #[test]
    fn words_are_kept_at_depth_zero_and_lines_are_counted() {
        let sql = "\n\n  /* c */ CREATE UNIQUE INDEX CONCURRENTLY i ON t (lower(x));";
        let s = statements(sql);
        assert_eq!(s[0].line, 3);
        assert_eq!(
            s[0].words,
            vec!["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", "I", "ON", "T"]
        );
        assert_eq!(s[0].offset, sql.find("CREATE").unwrap());
    }

    #[test]
    fn unterminated_text_runs_to_the_end_without_panicking() {
        for sql in [
            "SELECT '",
            "SELECT $$",
            "SELECT $a$ x $a",
            "/* never closed",
            "SELECT \"",
            "E'\\",
            "$",
            "SELECT 1; --",
            "((((;",
            ")))); SELECT 1",
        ] {
            let s = statements(sql);
            assert!(s.len() <= 2, "{sql}: {s:?}");
        }
        assert!(statements("  -- only a comment\n/* and this */ ;; ").is_empty());
    }

    #[test]
    fn multibyte_text_is_sliced_on_char_boundaries() {
        let sql = "SELECT 'é;ü'; SELECT ñandú FROM «t»; SELECT 1";
        assert_eq!(texts(sql).len(), 3);
    }
}

#[cfg(test)]
mod properties {
    //! Generated files: statements built from pieces that hide semicolons and keywords in
    //! every way SQL allows, joined with separators; the scanner must find exactly them.
    use super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        let ident = "[a-z_][a-z0-9_$]{0,6}";
        let noise = "[a-zA-Z0-9 ;'\"$*/\\-\n]{0,12}";
        prop_oneof![
            ident.prop_map(|s| s),
            "[0-9]{1,4}".prop_map(|s| s),
            Just("+".to_string()),
            Just(",".to_string()),
            Just("$1".to_string()),
            // A plain string: quotes doubled.
            noise.prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
            // An escape string: backslashes and quotes escaped.
            noise.prop_map(|s| format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
            // A quoted identifier.
            noise.prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
            // A dollar-quoted body with a tag that cannot occur inside it.
            (noise, "[a-z]{0,3}").prop_map(|(s, tag)| {
                let close = format!("${tag}$");
                let body = s.replace('$', "");
                format!("{close}{body}{close}")
            }),
            // Comments.
            "[a-zA-Z ;'\"$]{0,12}".prop_map(|s| format!("-- {s}\n")),
            noise.prop_map(|s| format!("/* {} */", s.replace(['*', '/'], ""))),
            // Parentheses may hold semicolons.
            noise.prop_map(|s| format!("(x; '{}')", s.replace('\'', "''"))),
        ]
    }

    fn plain_statement() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("SELECT"),
                Just("INSERT"),
                Just("CREATE TABLE"),
                Just("COMMIT"),
                Just("VACUUM"),
                Just("ALTER TABLE")
            ],
            prop::collection::vec(piece(), 0..8),
        )
            .prop_map(|(head, pieces)| format!("{head} {}", pieces.join(" ")))
    }

    /// A routine with a SQL-standard body: its inner semicolons must not split it. Words
    /// that open or close blocks are kept out of the generated inner statements.
    fn atomic_routine() -> impl Strategy<Value = String> {
        let inner = prop::collection::vec(piece(), 0..5)
            .prop_filter("no block words", |p| {
                !p.iter()
                    .any(|w| matches!(w.as_str(), "begin" | "end" | "case" | "atomic"))
            })
            .prop_map(|p| format!("SELECT {}", p.join(" ")));
        (prop::collection::vec(inner, 1..4), any::<bool>()).prop_map(|(body, case)| {
            let case = if case { " CASE WHEN true THEN 1 END;" } else { "" };
            format!(
                "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC {};{case} END",
                body.join("; ")
            )
        })
    }

    fn statement() -> impl Strategy<Value = String> {
        prop_oneof![4 => plain_statement(), 1 => atomic_routine()]
    }

    fn separator() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\n".to_string()),
            Just(" ".to_string()),
            Just("\n\n".to_string()),
            "[a-z ;']{0,10}".prop_map(|s| format!("\n-- {s}\n")),
            "[a-z ;']{0,10}".prop_map(|s| format!(" /* {s} */ ")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn finds_exactly_the_generated_statements(
            stmts in prop::collection::vec((statement(), separator()), 1..6)
        ) {
            let mut sql = String::new();
            for (s, sep) in &stmts {
                sql.push_str(s);
                sql.push(';');
                sql.push_str(sep);
            }
            let found = statements(&sql);
            prop_assert_eq!(found.len(), stmts.len(), "{}", sql);
            for (f, (s, _)) in found.iter().zip(&stmts) {
                let want = format!("{s};");
                prop_assert_eq!(f.text.trim_end(), want.trim_end());
                let head = s.split_whitespace().next().unwrap();
                prop_assert_eq!(f.words.first().map(String::as_str), Some(head));
                prop_assert_eq!(&sql[f.offset..f.offset + f.text.len()], f.text);
                let line = sql[..f.offset].matches('\n').count() + 1;
                prop_assert_eq!(f.line, line);
            }
        }

        #[test]
        fn never_panics_and_stays_in_bounds(sql in "\\PC{0,200}") {
            let mut last = 0;
            for s in statements(&sql) {
                prop_assert!(s.offset >= last);
                prop_assert!(s.offset + s.text.len() <= sql.len());
                // PostgreSQL's white space is ASCII only; other characters, such as
                // U+2000, are identifier characters to its lexer and make a statement.
                prop_assert!(!s.text.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty());
                last = s.offset + s.text.len();
            }
        }

        #[test]
        fn never_panics_on_sql_like_noise(sql in "[a-zA-Z0-9 ;'\"$*/\\\\()\\-\n_E]{0,120}") {
            let _ = statements(&sql);
        }
    }
}
