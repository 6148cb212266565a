//! How a migration file is run: inside one wrapping transaction (the default), or, when its
//! first line is `-- no-transaction`, statement by statement in autocommit as `psql -f`
//! runs it. Files that control transactions themselves are refused up front, before
//! anything runs, with the line and the way out.

use super::discover::MigrationFile;
use super::scan::{statements, Statement};
use crate::error::{Error, Result, SourceLocation};

/// The first line that makes a file run without a wrapping transaction (as sqlx spells it).
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";

/// How one file will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionMode {
    /// The whole file in one transaction with its bookkeeping: all or nothing.
    Wrapped,
    /// Each statement on its own, in autocommit (`-- no-transaction`): a failure leaves the
    /// statements before it applied.
    None,
}

/// What a statement does to transactions, when it does anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// Starts or ends a transaction (`BEGIN`, `COMMIT`, `COMMIT AND CHAIN`, `END`, …).
    Transaction,
    /// Throws away the work of the transaction it ends (`ROLLBACK`, `ABORT`).
    RollsBack,
    /// Two-phase commit (`PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`).
    TwoPhase,
    /// Cannot run inside a transaction block (`VACUUM`, `CREATE INDEX CONCURRENTLY`, …).
    NonTransactional,
    /// Needs psql itself (`COPY … FROM STDIN`, a `\` meta-command).
    PsqlOnly,
}

fn w(words: &[String], i: usize) -> &str {
    words.get(i).map(String::as_str).unwrap_or("")
}

fn has(words: &[String], word: &str) -> bool {
    words.iter().any(|x| x == word)
}

fn classify(stmt: &Statement<'_>) -> Option<Control> {
    if stmt.text.starts_with('\\') {
        return Some(Control::PsqlOnly);
    }
    let words = &stmt.words;
    let first = w(words, 0);
    let second = w(words, 1);
    match first {
        "BEGIN" | "START" => Some(Control::Transaction),
        "COMMIT" | "END" if second == "PREPARED" => Some(Control::TwoPhase),
        "COMMIT" | "END" => Some(Control::Transaction),
        "ROLLBACK" | "ABORT" if second == "PREPARED" => Some(Control::TwoPhase),
        "ROLLBACK" | "ABORT" if second == "TO" => None, // ROLLBACK TO SAVEPOINT stays inside
        "ROLLBACK" | "ABORT" => Some(Control::RollsBack),
        "PREPARE" if second == "TRANSACTION" => Some(Control::TwoPhase),
        "VACUUM" => Some(Control::NonTransactional),
        "CREATE" | "DROP" if matches!(second, "DATABASE" | "TABLESPACE") => {
            Some(Control::NonTransactional)
        }
        "CREATE" => {
            let rest = if second == "UNIQUE" { 2 } else { 1 };
            (w(words, rest) == "INDEX" && w(words, rest + 1) == "CONCURRENTLY")
                .then_some(Control::NonTransactional)
        }
        "DROP" => (second == "INDEX" && w(words, 2) == "CONCURRENTLY")
            .then_some(Control::NonTransactional),
        "REINDEX" => (has(words, "CONCURRENTLY")
            || matches!(second, "SCHEMA" | "DATABASE" | "SYSTEM"))
        .then_some(Control::NonTransactional),
        "ALTER" if second == "SYSTEM" => Some(Control::NonTransactional),
        "ALTER" if second == "DATABASE" => words
            .windows(2)
            .any(|p| p[0] == "SET" && p[1] == "TABLESPACE")
            .then_some(Control::NonTransactional),
        "ALTER" if second == "TABLE" => (has(words, "DETACH") && has(words, "CONCURRENTLY"))
            .then_some(Control::NonTransactional),
        "CLUSTER" => (words.len() == 1 || (words.len() == 2 && second == "VERBOSE"))
            .then_some(Control::NonTransactional),
        "DISCARD" if second == "ALL" => Some(Control::NonTransactional),
        "COPY" => words
            .windows(2)
            .any(|p| {
                matches!(
                    (p[0].as_str(), p[1].as_str()),
                    ("FROM", "STDIN") | ("TO", "STDOUT")
                )
            })
            .then_some(Control::PsqlOnly),
        _ => None,
    }
}

/// The statement's first words as written, for messages (`COMMIT AND CHAIN`).
fn head(stmt: &Statement<'_>) -> String {
    let words: Vec<&str> = stmt.text.split_whitespace().take(4).collect();
    let mut s = words.join(" ");
    if let Some(cut) = s.find(';') {
        s.truncate(cut);
    }
    if s.chars().count() > 40 {
        s = s.chars().take(40).collect::<String>() + "…";
    }
    s
}

/// Whether the file opts out of the wrapping transaction: its first line is the marker,
/// alone or followed by white space and a remark.
pub fn opts_out(sql: &str) -> bool {
    let first = sql.lines().next().unwrap_or("");
    match first.strip_prefix(NO_TRANSACTION_MARKER) {
        Some(rest) => rest.is_empty() || rest.starts_with(char::is_whitespace),
        None => false,
    }
}

/// Decide how `file` runs, or refuse it (exit 2) naming the file, the line and the way out.
pub fn plan(file: &MigrationFile) -> Result<TransactionMode> {
    let mode = if opts_out(&file.sql) {
        TransactionMode::None
    } else {
        TransactionMode::Wrapped
    };
    for stmt in statements(&file.sql) {
        let Some(control) = classify(&stmt) else {
            continue;
        };
        let what = head(&stmt);
        let refuse = |message: String, hint: String| Error::Migration {
            location: SourceLocation {
                file: file.path.clone(),
                line: Some(stmt.line),
                column: None,
            },
            message,
            hint,
            input_error: true,
        };
        let opt_out = misplaced_marker(&file.sql).map_or_else(
            || format!("put `{NO_TRANSACTION_MARKER}` as the first line of the file"),
            |line| {
                format!(
                    "move the `{NO_TRANSACTION_MARKER}` on line {line} to the first line of the file (it counts only there)"
                )
            },
        );
        let limits = "then each statement commits on its own, and a failure leaves the statements before it applied";
        match (control, mode) {
            (Control::RollsBack, _) => {
                return Err(refuse(
                    format!("`{what}` throws away the work of its transaction, so this migration could never be applied as written"),
                    "remove the ROLLBACK; to undo part of the work, use SAVEPOINT and ROLLBACK TO SAVEPOINT, or leave that statement out".into(),
                ))
            }
            (Control::TwoPhase, _) => {
                return Err(refuse(
                    format!("`{what}` is two-phase commit, which a migration cannot use"),
                    "remove it".into(),
                ))
            }
            (Control::PsqlOnly, _) => {
                return Err(refuse(
                    format!("`{what}` needs psql itself (meta-commands and COPY to or from the client are not SQL)"),
                    "use plain SQL: INSERT … VALUES, or COPY from a file on the server".into(),
                ))
            }
            (Control::Transaction, TransactionMode::Wrapped) => {
                return Err(refuse(
                    format!("`{what}` controls the transaction, but reims-verify runs each migration inside one transaction of its own"),
                    format!("remove it (the whole file is already one transaction), or {opt_out} to manage transactions yourself; {limits}"),
                ))
            }
            (Control::NonTransactional, TransactionMode::Wrapped) => {
                return Err(refuse(
                    format!("`{what}` cannot run inside a transaction block, and reims-verify runs each migration inside one"),
                    format!("{opt_out} (best in a migration of its own); {limits}"),
                ))
            }
            (Control::Transaction | Control::NonTransactional, TransactionMode::None) => {}
        }
    }
    Ok(mode)
}

/// The line of a `-- no-transaction` marker that is not on the first line, if any.
fn misplaced_marker(sql: &str) -> Option<usize> {
    sql.lines()
        .enumerate()
        .skip(1)
        .find(|(_, l)| {
            l.trim()
                .to_ascii_lowercase()
                .starts_with(NO_TRANSACTION_MARKER)
        })
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(sql: &str) -> MigrationFile {
        MigrationFile {
            version: 1,
            name: "001_x.sql".into(),
            path: "migrations/001_x.sql".into(),
            sql: sql.into(),
            checksum: super::super::checksum(sql),
        }
    }

    fn refused(sql: &str) -> (usize, String, String) {
        match plan(&file(sql)) {
            Err(Error::Migration {
                location,
                message,
                hint,
                input_error: true,
            }) => (location.line.unwrap(), message, hint),
            other => panic!("expected a refusal for {sql:?}, got {other:?}"),
        }
    }

    #[test]
    fn transaction_control_is_refused_with_its_line_and_the_way_out() {
        for (sql, line, word) in [
            ("CREATE TABLE a (x int);\nCOMMIT;", 2, "COMMIT"),
            ("BEGIN;\nCREATE TABLE a (x int);", 1, "BEGIN"),
            ("START TRANSACTION;", 1, "START TRANSACTION"),
            ("SELECT 1;\n\n  commit and chain;", 3, "commit and chain"),
            ("END;", 1, "END"),
            (
                "CREATE INDEX CONCURRENTLY i ON t (x);",
                1,
                "CREATE INDEX CONCURRENTLY",
            ),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY i ON t (x);",
                1,
                "CREATE UNIQUE INDEX",
            ),
            ("DROP INDEX CONCURRENTLY i;", 1, "DROP INDEX CONCURRENTLY"),
            ("VACUUM ANALYZE t;", 1, "VACUUM"),
            ("REINDEX TABLE CONCURRENTLY t;", 1, "REINDEX"),
            ("CREATE DATABASE x;", 1, "CREATE DATABASE"),
            ("ALTER SYSTEM SET work_mem = '8MB';", 1, "ALTER SYSTEM"),
            (
                "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
                1,
                "ALTER TABLE p",
            ),
        ] {
            let (l, message, hint) = refused(sql);
            assert_eq!(l, line, "{sql}");
            assert!(message.contains(word), "{sql}: {message}");
            assert!(hint.contains("-- no-transaction"), "{sql}: {hint}");
        }
    }

    #[test]
    fn rollback_two_phase_and_psql_only_are_refused_even_without_a_transaction() {
        for sql in [
            "BEGIN;\nCREATE TABLE a (x int);\nROLLBACK;",
            "ABORT;",
            "ROLLBACK AND CHAIN;",
            "PREPARE TRANSACTION 'x';",
            "COMMIT PREPARED 'x';",
            "COPY t FROM STDIN;",
            "COPY (SELECT 1) TO STDOUT;",
            "\\i other.sql",
        ] {
            refused(sql);
            refused(&format!("{NO_TRANSACTION_MARKER}\n{sql}"));
        }
    }

    #[test]
    fn keywords_hidden_in_strings_comments_bodies_and_savepoints_are_fine() {
        let sql = "-- COMMIT;\n/* ROLLBACK; */\nSELECT 'COMMIT;';\nCREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nRELEASE s;\nREFRESH MATERIALIZED VIEW CONCURRENTLY v;\nCREATE INDEX i ON t (x);\nCREATE TABLE begin_log (commit int);\nCLUSTER t USING i;\nREINDEX TABLE t;\nALTER DATABASE x SET work_mem = '8MB';\nDISCARD TEMP;\nCOPY t FROM '/tmp/x.csv';";
        assert_eq!(plan(&file(sql)).unwrap(), TransactionMode::Wrapped);
    }

    #[test]
    fn the_marker_opts_out_only_on_the_first_line() {
        let sql = format!("{NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY i ON t (x);\nBEGIN;\nCOMMIT;\nVACUUM t;");
        assert_eq!(plan(&file(&sql)).unwrap(), TransactionMode::None);
        assert!(opts_out(&format!(
            "{NO_TRANSACTION_MARKER}   (needed for CONCURRENTLY)\n"
        )));
        assert!(!opts_out("-- no-transactions\n"));
        let late =
            format!("-- index\n{NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY i ON t (x);");
        let (line, _, hint) = refused(&late);
        assert_eq!(line, 3);
        assert!(hint.contains("on line 2"), "{hint}");
    }
}
