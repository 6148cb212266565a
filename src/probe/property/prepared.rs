//! The property's statements as server-side prepared statements.
//!
//! A property plays the same statements (its actions, model updates, invariants, picks)
//! hundreds of times with different values. Sent as text, each is parsed, analysed and
//! planned every time, which was most of the server's work per step. Here a statement is
//! rendered as a template whose typed values are parameters (see
//! [`super::bind::Params`]). The first time a template is met it runs inline, as the
//! statement itself; the second time it is prepared with `PREPARE`, and from then on it
//! runs as `EXECUTE name(values)`. Many templates are met once only (a row whose untyped
//! strings are unique to it), and preparing those cost the server a `PREPARE` and an
//! `EXECUTE` for one run. Both are plain SQL, so a step still travels in one
//! simple-protocol batch, in one round trip, as before.
//!
//! `PREPARE` is not undone by a rollback and lives as long as the session, so the names are
//! unique in the process and every statement a property prepared is deallocated once its
//! transaction has been rolled back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgConnection;

use super::bind::Params;
use crate::sql::quote_literal;

/// Numbers prepared statements, so that no two in the process share a name (a statement
/// whose `PREPARE` may or may not have run is never named again).
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A template with more parameters than this runs inline: one this wide (a `result` of
/// many rows) is seldom seen twice, and each prepared statement holds its parsed tree in
/// the session until the property ends.
const MAX_PARAMS: usize = 1_000;

/// What is known of a template met before.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Run once, inline; prepared the next time it is met.
    Once,
    /// Prepared under this name.
    Prepared(String),
    /// Always sent inline (`PREPARE` takes one `SELECT`, `INSERT`, `UPDATE`, `DELETE` or
    /// `VALUES` only, and the template is too wide to be worth keeping).
    Inline,
}

/// The prepared statements of one property, on one connection.
#[derive(Debug, Default)]
pub struct Statements {
    /// Template → what is known of it.
    names: HashMap<String, Seen>,
    /// Names whose `PREPARE` is in the batch being built or sent.
    unconfirmed: Vec<String>,
    /// Names whose batch failed: their `PREPARE` may not have run.
    stray: Vec<String>,
}

impl Statements {
    /// The SQL that runs `template` with `params`: `inline` (the same statement with its
    /// values written in) the first time the template is met; `EXECUTE`, with the `PREPARE`
    /// appended to `pending` (sent in front of it), the second time; `EXECUTE` alone after
    /// that. A template `PREPARE` cannot take always runs as `inline`.
    pub fn call(
        &mut self,
        pending: &mut String,
        template: String,
        params: Params,
        inline: String,
    ) -> String {
        let name = match self.names.get(&template) {
            Some(Seen::Prepared(name)) => name.clone(),
            Some(Seen::Inline) => return inline,
            None => {
                let seen = if params.values.len() > MAX_PARAMS || !preparable(&template) {
                    Seen::Inline
                } else {
                    Seen::Once
                };
                self.names.insert(template, seen);
                return inline;
            }
            Some(Seen::Once) => {
                let name = format!("rv_p{}", NEXT.fetch_add(1, Ordering::Relaxed));
                pending.push_str("PREPARE ");
                pending.push_str(&name);
                if !params.values.is_empty() {
                    let types = vec!["text"; params.values.len()];
                    pending.push('(');
                    pending.push_str(&types.join(", "));
                    pending.push(')');
                }
                pending.push_str(" AS ");
                pending.push_str(&template);
                pending.push_str(";\n");
                self.unconfirmed.push(name.clone());
                self.names.insert(template, Seen::Prepared(name.clone()));
                name
            }
        };
        if params.values.is_empty() {
            return format!("EXECUTE {name}");
        }
        let args: Vec<String> = params
            .values
            .iter()
            .map(|v| v.as_deref().map_or_else(|| "NULL".into(), quote_literal))
            .collect();
        format!("EXECUTE {name}({})", args.join(", "))
    }

    /// The batch carrying the unconfirmed `PREPARE`s ran.
    pub fn sent(&mut self) {
        self.unconfirmed.clear();
    }

    /// The batch carrying the unconfirmed `PREPARE`s failed: each may or may not have run.
    /// Their templates are forgotten: met again, each runs inline once and is then prepared
    /// under a new name.
    pub fn failed(&mut self) {
        if self.unconfirmed.is_empty() {
            return;
        }
        let lost = std::mem::take(&mut self.unconfirmed);
        self.names
            .retain(|_, seen| !matches!(seen, Seen::Prepared(n) if lost.contains(n)));
        self.stray.extend(lost);
    }

    /// Deallocate every statement prepared, outside the property's transaction (after its
    /// rollback). Errors are ignored: what is left is only named in this session, which
    /// ends with the run.
    pub async fn release(&mut self, conn: &mut PgConnection) {
        self.failed();
        let mut names: Vec<String> = self
            .names
            .drain()
            .filter_map(|(_, seen)| match seen {
                Seen::Prepared(name) => Some(name),
                Seen::Once | Seen::Inline => None,
            })
            .collect();
        if !self.stray.is_empty() {
            let stray = std::mem::take(&mut self.stray);
            if let Ok(found) = sqlx::query_scalar::<_, String>(
                "SELECT name FROM pg_prepared_statements WHERE name = ANY($1)",
            )
            .bind(&stray)
            .fetch_all(&mut *conn)
            .await
            {
                names.extend(found);
            }
        }
        if names.is_empty() {
            return;
        }
        let batch: String = names.iter().map(|n| format!("DEALLOCATE {n};\n")).collect();
        let _ = sqlx::raw_sql(&batch).execute(&mut *conn).await;
    }
}

/// Whether `PREPARE … AS template` prepares exactly the statement `template` is: one
/// statement, of a kind `PREPARE` takes, and not ending in a line comment (which would
/// swallow the `;` after it).
fn preparable(template: &str) -> bool {
    let statements = crate::migrate::scan::statements(template);
    if statements.len() != 1 {
        return false;
    }
    if template.lines().last().is_some_and(|l| l.contains("--")) {
        return false;
    }
    matches!(
        first_keyword(template).as_str(),
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "VALUES" | "WITH" | "TABLE"
    )
}

/// The statement's first keyword, upper-cased, past comments and opening parentheses.
pub(super) fn first_keyword(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix('(') {
            s = rest.trim_start();
        } else {
            break;
        }
    }
    s.split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(values: &[Option<&str>]) -> Params {
        Params {
            values: values.iter().map(|v| v.map(str::to_string)).collect(),
        }
    }

    #[test]
    fn a_template_runs_inline_once_then_is_prepared_once_then_executed() {
        let mut s = Statements::default();
        let mut pending = String::new();
        let t = "SELECT f($1::text, $2::uuid)".to_string();
        let first = s.call(
            &mut pending,
            t.clone(),
            params(&[Some("o'k"), None]),
            "inline".into(),
        );
        assert_eq!(first, "inline");
        assert!(pending.is_empty(), "prepared at first sight: {pending}");
        let second = s.call(
            &mut pending,
            t.clone(),
            params(&[Some("o'k"), None]),
            "inline".into(),
        );
        let name = &second["EXECUTE ".len()..second.find('(').unwrap()];
        assert!(name.starts_with("rv_p"), "{second}");
        assert_eq!(pending, format!("PREPARE {name}(text, text) AS {t};\n"));
        assert!(second.ends_with("('o''k', NULL)"), "{second}");
        pending.clear();
        let third = s.call(&mut pending, t, params(&[Some("a"), Some("b")]), "x".into());
        assert!(pending.is_empty(), "prepared again: {pending}");
        assert_eq!(
            third[..third.find('(').unwrap()],
            second[..second.find('(').unwrap()]
        );
    }

    #[test]
    fn what_prepare_cannot_take_runs_inline() {
        let mut s = Statements::default();
        let mut pending = String::new();
        for t in [
            "UPDATE a SET x = 1; UPDATE b SET y = 2",
            "CALL p()",
            "SET LOCAL work_mem = '1MB'",
            "SELECT 1 -- the end",
            "DO $$ BEGIN END $$",
        ] {
            for _ in 0..3 {
                let sent = s.call(&mut pending, t.into(), params(&[]), "inline".into());
                assert_eq!(sent, "inline", "{t}");
            }
        }
        assert!(pending.is_empty(), "{pending}");
        let wide = || params(&vec![Some("v"); MAX_PARAMS + 1]);
        for _ in 0..3 {
            let sent = s.call(&mut pending, "SELECT $1".into(), wide(), "inline".into());
            assert_eq!(sent, "inline");
        }
        assert!(pending.is_empty(), "{pending}");
        for expected in ["inline", "EXECUTE rv_p"] {
            let sent = s.call(
                &mut pending,
                "(SELECT 1)".into(),
                params(&[]),
                "inline".into(),
            );
            assert!(sent.starts_with(expected), "{sent}");
        }
    }

    #[test]
    fn a_failed_batch_never_reuses_a_name_it_may_not_have_made() {
        let mut s = Statements::default();
        let mut pending = String::new();
        let call = |s: &mut Statements, pending: &mut String| {
            s.call(pending, "SELECT 1".into(), params(&[]), "inline".into())
        };
        assert_eq!(call(&mut s, &mut pending), "inline");
        let first = call(&mut s, &mut pending);
        assert!(first.starts_with("EXECUTE rv_p"), "{first}");
        s.failed();
        pending.clear();
        // Forgotten: inline again, then prepared under a new name.
        assert_eq!(call(&mut s, &mut pending), "inline");
        assert!(pending.is_empty(), "{pending}");
        let second = call(&mut s, &mut pending);
        assert_ne!(first, second);
        assert!(pending.starts_with("PREPARE"), "{pending}");
        assert_eq!(
            s.stray,
            vec![first.trim_start_matches("EXECUTE ").to_string()]
        );
        s.sent();
        pending.clear();
        let third = call(&mut s, &mut pending);
        assert_eq!(second, third);
        assert!(pending.is_empty(), "{pending}");
    }
}
