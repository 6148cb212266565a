//! Turning a server error inside a migration into a message that points at the file, line
//! and column, with the SQLSTATE and what PostgreSQL added (detail, context, hint).

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};

use super::discover::MigrationFile;
use crate::error::SourceLocation;

/// Where and what, for one failed statement.
#[derive(Debug, Clone)]
pub(crate) struct StatementError {
    /// File, line and column.
    pub location: SourceLocation,
    /// The server's message with SQLSTATE, detail and context.
    pub message: String,
    /// PostgreSQL's own hint, if it gave one.
    pub server_hint: Option<String>,
    /// The SQLSTATE, if the server answered.
    pub sqlstate: Option<String>,
    /// The session is gone (server shut down, session terminated, network): the server
    /// rolls back whatever transaction it had open.
    pub connection_lost: bool,
}

/// Describe `err`, raised by text that starts at byte `offset` of the file (0 when the
/// whole file was sent), whose first line is `line`.
pub(crate) fn describe(
    file: &MigrationFile,
    err: &sqlx::Error,
    offset: usize,
    line: Option<usize>,
) -> StatementError {
    let mut location = SourceLocation {
        file: file.path.clone(),
        line,
        column: None,
    };
    let mut message = crate::error::describe_sqlx_error(err);
    let mut server_hint = None;
    let mut sqlstate = None;
    let mut connection_lost = !matches!(err, sqlx::Error::Database(_));
    if let sqlx::Error::Database(db) = err {
        sqlstate = db.code().map(|c| c.to_string());
        if sqlstate.as_deref().is_some_and(ends_session) {
            connection_lost = true;
        }
        if let Some(pos) = original_position(err) {
            let before = file.sql.get(..offset).map_or(0, |s| s.chars().count());
            let (l, c) = line_col(&file.sql, before + pos);
            location.line = Some(l);
            location.column = Some(c);
        }
        if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
            if let Some(PgErrorPosition::Internal { position, query }) = pg.position() {
                message.push_str(&format!(" (in internal query `{query}` at {position})"));
            }
            if let Some(detail) = pg.detail() {
                message.push_str(&format!("; {detail}"));
            }
            if let Some(where_) = pg.r#where() {
                message.push_str(&format!(" [{}]", where_.replace('\n', "; ")));
                if location.column.is_none() {
                    if let Some(l) = plpgsql_line(where_) {
                        // The line is relative to the function body; still a useful pointer.
                        message.push_str(&format!(" (function body line {l})"));
                    }
                }
            }
            server_hint = pg.hint().map(str::to_string);
        }
    }
    StatementError {
        location,
        message,
        server_hint,
        sqlstate,
        connection_lost,
    }
}

/// Whether SQLSTATE `code` means the server is ending the session: 57P01 admin_shutdown,
/// 57P02 crash_shutdown, 57P03 cannot_connect_now.
pub(crate) fn ends_session(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03")
}

/// Where in the text sent PostgreSQL places `err` (a 1-based character position), when it
/// does.
pub(crate) fn original_position(err: &sqlx::Error) -> Option<usize> {
    match err {
        sqlx::Error::Database(db) => match db.try_downcast_ref::<PgDatabaseError>()?.position() {
            Some(PgErrorPosition::Original(p)) => Some(p),
            _ => None,
        },
        _ => None,
    }
}

/// Turn PostgreSQL's 1-based character position into a 1-based line and column.
pub(crate) fn line_col(text: &str, position: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in text.chars().enumerate() {
        if i + 1 >= position {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn plpgsql_line(where_: &str) -> Option<usize> {
    let idx = where_.find("line ")?;
    where_[idx + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_to_lines_and_columns() {
        let sql = "SELECT 1;\nSELEC 2;\n";
        assert_eq!(line_col(sql, 1), (1, 1));
        assert_eq!(line_col(sql, 11), (2, 1));
        assert_eq!(line_col(sql, 13), (2, 3));
    }

    #[test]
    fn plpgsql_context_line_is_found() {
        assert_eq!(
            plpgsql_line("PL/pgSQL function f() line 4 at RAISE"),
            Some(4)
        );
        assert_eq!(plpgsql_line("SQL statement"), None);
    }
}
