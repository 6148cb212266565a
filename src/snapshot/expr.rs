//! Expressions as PostgreSQL's printer writes them (`pg_get_expr`, `pg_get_indexdef`): a
//! small reader for the subset used by CHECK constraints, defaults and index predicates.
//! (`super::pretty` writes them back the way people write them.)
//!
//! Anything outside the subset is a parse failure (`None`); callers then keep the printed
//! text, which is always correct.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column, possibly qualified (`old.status`); each part as printed (quoted if it was).
    Column(Vec<String>),
    /// A string literal, unescaped.
    Str(String),
    /// A numeric literal as printed, with a leading `-` when negative.
    Num(String),
    /// A keyword constant: `CURRENT_DATE`, `CURRENT_TIMESTAMP`, `true`, `NULL`, …
    Word(String),
    /// `expr::type`.
    Cast(Box<Expr>, String),
    /// `name(arg, …)`.
    Call(String, Vec<Expr>),
    /// A call in SQL syntax whose argument follows words: `TRIM(BOTH FROM x)`,
    /// `EXTRACT(year FROM x)` → (name, words, argument).
    SqlCall(String, String, Box<Expr>),
    /// `ARRAY[a, b]`.
    Array(Vec<Expr>),
    /// `left op right`.
    Binary(Box<Expr>, String, Box<Expr>),
    /// `left op ANY|ALL (array)` → (left, op, quantifier, array).
    Quantified(Box<Expr>, String, String, Box<Expr>),
    /// `left IN (a, b)`: only produced by [`Expr::simplified`], never by the parser.
    InList(Box<Expr>, Vec<Expr>),
    /// `x IS NULL` (false) or `x IS NOT NULL` (true).
    IsNull(Box<Expr>, bool),
    /// `a IS DISTINCT FROM b` (false) or `a IS NOT DISTINCT FROM b` (true).
    Distinct(Box<Expr>, bool, Box<Expr>),
    /// `NOT x`.
    Not(Box<Expr>),
    /// `a AND b AND …`.
    And(Vec<Expr>),
    /// `a OR b OR …`.
    Or(Vec<Expr>),
}

/// Comparison operators (non-associative, below the "any other operator" level).
pub(super) const COMPARISONS: &[&str] = &["=", "<>", "!=", "<", ">", "<=", ">="];

/// Type names that span several words in PostgreSQL's printer.
const MULTIWORD: &[&[&str]] = &[
    &["character", "varying"],
    &["double", "precision"],
    &["bit", "varying"],
    &["timestamp", "with", "time", "zone"],
    &["timestamp", "without", "time", "zone"],
    &["time", "with", "time", "zone"],
    &["time", "without", "time", "zone"],
];

/// Keywords that stand for a value on their own.
const CONSTANT_WORDS: &[&str] = &[
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "CURRENT_TIME",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURRENT_USER",
    "SESSION_USER",
    "CURRENT_ROLE",
    "CURRENT_CATALOG",
    "CURRENT_SCHEMA",
    "TRUE",
    "FALSE",
    "NULL",
];

/// Words that never start an operand.
const RESERVED: &[&str] = &[
    "AND", "OR", "NOT", "IS", "IN", "FROM", "CASE", "WHEN", "THEN", "ELSE", "END", "ANY", "ALL",
    "SOME", "BETWEEN", "LIKE", "ILIKE", "SIMILAR", "DISTINCT", "COLLATE", "ARRAY",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    /// An identifier or keyword: (text as printed, quoted?).
    Ident(String, bool),
    Num(String),
    Op(String),
    Open,
    Close,
    LBrack,
    RBrack,
    Comma,
    Dot,
    Cast,
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return None,
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        value.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        value.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(value));
        } else if c == '"' {
            let start = i;
            i += 1;
            loop {
                match chars.get(i) {
                    None => return None,
                    Some('"') if chars.get(i + 1) == Some(&'"') => i += 2,
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Tok::Ident(chars[start..i].iter().collect(), true));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if chars
                .get(i)
                .is_some_and(|ch| ch.is_alphabetic() || *ch == '_')
            {
                return None; // 1e5, 0x1F: not in the printer's subset
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            if chars.get(i) == Some(&'\'') {
                return None; // E'…', B'…', X'…'
            }
            out.push(Tok::Ident(chars[start..i].iter().collect(), false));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Tok::Cast);
            i += 2;
        } else {
            i += 1;
            out.push(match c {
                '(' => Tok::Open,
                ')' => Tok::Close,
                '[' => Tok::LBrack,
                ']' => Tok::RBrack,
                ',' => Tok::Comma,
                '.' => Tok::Dot,
                _ if "+-*/<>=~!@#%^&|?".contains(c) => {
                    let start = i - 1;
                    while i < chars.len() && "+-*/<>=~!@#%^&|?".contains(chars[i]) {
                        i += 1;
                    }
                    Tok::Op(chars[start..i].iter().collect())
                }
                _ => return None,
            });
        }
    }
    Some(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok) -> Option<()> {
        (self.next()? == t).then_some(())
    }

    /// The next token is the unquoted keyword `w`.
    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s, false)) if s.eq_ignore_ascii_case(w))
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let hit = self.at_word(w);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn at_op(&self, ops: &[&str]) -> Option<String> {
        match self.peek() {
            Some(Tok::Op(o)) if ops.contains(&o.as_str()) => Some(o.clone()),
            _ => None,
        }
    }

    fn or(&mut self) -> Option<Expr> {
        let mut items = vec![self.and()?];
        while self.eat_word("OR") {
            items.push(self.and()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut items = vec![self.not()?];
        while self.eat_word("AND") {
            items.push(self.not()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Option<Expr> {
        if self.eat_word("NOT") {
            return Some(Expr::Not(Box::new(self.not()?)));
        }
        self.is()
    }

    fn is(&mut self) -> Option<Expr> {
        let mut left = self.comparison()?;
        while self.eat_word("IS") {
            let negated = self.eat_word("NOT");
            if self.eat_word("NULL") {
                left = Expr::IsNull(Box::new(left), negated);
            } else if self.eat_word("DISTINCT") && self.eat_word("FROM") {
                left = Expr::Distinct(Box::new(left), negated, Box::new(self.comparison()?));
            } else {
                return None;
            }
        }
        Some(left)
    }

    fn comparison(&mut self) -> Option<Expr> {
        let left = self.other()?;
        let Some(op) = self.at_op(COMPARISONS) else {
            return Some(left);
        };
        self.pos += 1;
        for q in ["ANY", "ALL", "SOME"] {
            if self.at_word(q) && self.peek_at(1) == Some(&Tok::Open) {
                self.pos += 2;
                let arr = self.or()?;
                self.expect(Tok::Close)?;
                return Some(Expr::Quantified(
                    Box::new(left),
                    op,
                    q.to_string(),
                    Box::new(arr),
                ));
            }
        }
        let right = self.other()?;
        Some(Expr::Binary(Box::new(left), op, Box::new(right)))
    }

    /// Any operator that is not a comparison nor arithmetic (`~`, `~*`, `||`, `@>` …).
    fn other(&mut self) -> Option<Expr> {
        let mut left = self.additive()?;
        while let Some(Tok::Op(op)) = self.peek().cloned() {
            if COMPARISONS.contains(&op.as_str())
                || ["+", "-", "*", "/", "%"].contains(&op.as_str())
            {
                break;
            }
            self.pos += 1;
            left = Expr::Binary(Box::new(left), op, Box::new(self.additive()?));
        }
        Some(left)
    }

    fn additive(&mut self) -> Option<Expr> {
        let mut left = self.multiplicative()?;
        while let Some(op) = self.at_op(&["+", "-"]) {
            self.pos += 1;
            left = Expr::Binary(Box::new(left), op, Box::new(self.multiplicative()?));
        }
        Some(left)
    }

    fn multiplicative(&mut self) -> Option<Expr> {
        let mut left = self.unary()?;
        while let Some(op) = self.at_op(&["*", "/", "%"]) {
            self.pos += 1;
            left = Expr::Binary(Box::new(left), op, Box::new(self.unary()?));
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Expr> {
        if self.at_op(&["-"]).is_some() {
            if let Some(Tok::Num(n)) = self.peek_at(1).cloned() {
                self.pos += 2;
                return self.casts(Expr::Num(format!("-{n}")));
            }
            return None;
        }
        let e = self.primary()?;
        self.casts(e)
    }

    fn casts(&mut self, mut e: Expr) -> Option<Expr> {
        while self.peek() == Some(&Tok::Cast) {
            self.pos += 1;
            e = Expr::Cast(Box::new(e), self.type_name()?);
        }
        Some(e)
    }

    fn type_name(&mut self) -> Option<String> {
        let mut name = match self.next()? {
            Tok::Ident(s, _) => s,
            _ => return None,
        };
        if let Some(words) = MULTIWORD.iter().find(|words| {
            words[0].eq_ignore_ascii_case(&name)
                && words[1..].iter().enumerate().all(|(k, w)| {
                    matches!(self.peek_at(k), Some(Tok::Ident(s, false)) if s.eq_ignore_ascii_case(w))
                })
        }) {
            for w in &words[1..] {
                self.pos += 1;
                name.push(' ');
                name.push_str(w);
            }
        }
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            match self.next()? {
                Tok::Ident(s, _) => {
                    name.push('.');
                    name.push_str(&s);
                }
                _ => return None,
            }
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            name.push('(');
            loop {
                match self.next()? {
                    Tok::Num(n) => name.push_str(&n),
                    Tok::Comma => name.push(','),
                    Tok::Close => break,
                    _ => return None,
                }
            }
            name.push(')');
        }
        while self.peek() == Some(&Tok::LBrack) && self.peek_at(1) == Some(&Tok::RBrack) {
            self.pos += 2;
            name.push_str("[]");
        }
        Some(name)
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.next()? {
            Tok::Open => {
                let e = self.or()?;
                self.expect(Tok::Close)?;
                Some(e)
            }
            Tok::Str(s) => Some(Expr::Str(s)),
            Tok::Num(n) => Some(Expr::Num(n)),
            Tok::Ident(name, true) => self.column(name),
            Tok::Ident(name, false) => {
                let upper = name.to_ascii_uppercase();
                if upper == "ARRAY" && self.peek() == Some(&Tok::LBrack) {
                    self.pos += 1;
                    let items = self.list(Tok::RBrack)?;
                    return Some(Expr::Array(items));
                }
                if RESERVED.contains(&upper.as_str()) {
                    return None;
                }
                if self.peek() == Some(&Tok::Open) {
                    self.pos += 1;
                    return self.call(name);
                }
                if CONSTANT_WORDS.contains(&upper.as_str()) {
                    return Some(Expr::Word(name));
                }
                self.column(name)
            }
            _ => None,
        }
    }

    fn column(&mut self, first: String) -> Option<Expr> {
        let mut parts = vec![first];
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            match self.next()? {
                Tok::Ident(s, _) => parts.push(s),
                _ => return None,
            }
        }
        Some(Expr::Column(parts))
    }

    /// After `name(`.
    fn call(&mut self, name: String) -> Option<Expr> {
        let upper = name.to_ascii_uppercase();
        if upper == "TRIM" || upper == "EXTRACT" {
            let words = match self.next()? {
                Tok::Ident(w, false) => w,
                _ => return None,
            };
            if !self.eat_word("FROM") {
                return None;
            }
            let arg = self.or()?;
            self.expect(Tok::Close)?;
            return Some(Expr::SqlCall(name, words, Box::new(arg)));
        }
        let args = self.list(Tok::Close)?;
        Some(Expr::Call(name, args))
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn list(&mut self, close: Tok) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        if self.peek() == Some(&close) {
            self.pos += 1;
            return Some(items);
        }
        loop {
            items.push(self.or()?);
            match self.next()? {
                Tok::Comma => continue,
                t if t == close => return Some(items),
                _ => return None,
            }
        }
    }
}

/// Parse printed SQL; `None` when it uses anything outside the supported subset.
pub fn parse(sql: &str) -> Option<Expr> {
    let toks = tokenize(sql)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    (p.pos == p.toks.len()).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_text_is_refused() {
        for sql in [
            "CASE WHEN a THEN 1 ELSE 2 END",
            "E'a\\nb'",
            "count(*)",
            "a BETWEEN 1 AND 2",
            "(a",
        ] {
            assert_eq!(parse(sql), None, "{sql}");
        }
    }
}
