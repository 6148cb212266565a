//! The settings a database carries of its own, given to a copy of it.
//!
//! `CREATE DATABASE … TEMPLATE t` copies `t`'s files, but not what `ALTER DATABASE t SET …`
//! and `ALTER ROLE r IN DATABASE t SET …` stored for it (`pg_db_role_setting` is keyed by
//! the database). A migration may set them (`search_path`, `IntervalStyle`, a custom
//! `app.tenant`), and the application's sessions run with them: the probes' copies of a
//! migrated database must too, or a unit of probe work gives another verdict on a copy
//! than on the database itself.

use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::sql::{quote_ident, quote_literal};

/// The settings whose stored value is a list of quoted elements, which `ALTER … SET`
/// takes as a list of literals (PostgreSQL's `GUC_LIST_QUOTE` parameters): given as one
/// literal, `search_path = 'app, public'` would name one schema called `app, public`.
const LIST_QUOTED: &[&str] = &[
    "local_preload_libraries",
    "search_path",
    "session_preload_libraries",
    "shared_preload_libraries",
    "temp_tablespaces",
    "unix_socket_directories",
];

/// Give database `copy` the settings `template` has of its own, for every role and for
/// each role apart, on a connection to another database of the same server.
pub async fn copy_database_settings(
    conn: &mut PgConnection,
    template: &str,
    copy: &str,
) -> Result<()> {
    let rows: Vec<(Option<String>, Vec<String>)> = sqlx::query_as(
        "SELECT r.rolname::text, s.setconfig \
           FROM pg_catalog.pg_db_role_setting s \
           JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase \
           LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
          WHERE d.datname = $1 AND (s.setrole = 0 OR r.rolname IS NOT NULL) \
          ORDER BY s.setrole",
    )
    .bind(template)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database(format!("reading the settings of database {template}"), &e))?;
    let sql = alter_statements(copy, &rows);
    if sql.is_empty() {
        return Ok(());
    }
    sqlx::raw_sql(&sql).execute(&mut *conn).await.map_err(|e| {
        Error::database(
            format!("giving database {copy} the settings of {template}"),
            &e,
        )
    })?;
    Ok(())
}

/// The statements that give database `copy` the settings of `rows` (a role, or none for
/// every role, with its `name=value` entries as `pg_db_role_setting` stores them).
fn alter_statements(copy: &str, rows: &[(Option<String>, Vec<String>)]) -> String {
    let mut sql = String::new();
    for (role, entries) in rows {
        let target = match role {
            Some(role) => format!(
                "ALTER ROLE {} IN DATABASE {}",
                quote_ident(role),
                quote_ident(copy)
            ),
            None => format!("ALTER DATABASE {}", quote_ident(copy)),
        };
        for entry in entries {
            if let Some(set) = set_clause(entry) {
                sql.push_str(&format!("{target} {set};\n"));
            }
        }
    }
    sql
}

/// `SET name TO value` for one `name=value` entry; `None` for an entry without `=`, which
/// PostgreSQL never stores.
fn set_clause(entry: &str) -> Option<String> {
    let (name, value) = entry.split_once('=')?;
    let value_sql = if LIST_QUOTED.contains(&name.to_ascii_lowercase().as_str()) {
        let items = split_list(value);
        if items.is_empty() {
            "''".to_string()
        } else {
            items
                .iter()
                .map(|i| quote_literal(i))
                .collect::<Vec<_>>()
                .join(", ")
        }
    } else {
        quote_literal(value)
    };
    Some(format!("SET {} TO {value_sql}", quote_ident(name)))
}

/// The elements of a stored list value: separated by commas, each bare or double-quoted
/// (`""` inside quotes is one `"`), white space around them dropped, as PostgreSQL writes
/// them (`"$user", public`).
fn split_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                item.push(c);
                chars.next();
            }
        }
        items.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some(',') {
            break;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_value_is_split_as_postgresql_writes_it() {
        assert_eq!(split_list("app, public"), ["app", "public"]);
        assert_eq!(split_list("\"$user\", public"), ["$user", "public"]);
        assert_eq!(split_list("\"My App\",\"a\"\"b\""), ["My App", "a\"b"]);
        assert_eq!(split_list("\"\""), [""]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn each_entry_becomes_a_set_clause() {
        assert_eq!(
            set_clause("search_path=app, public").as_deref(),
            Some("SET \"search_path\" TO 'app', 'public'")
        );
        assert_eq!(
            set_clause("search_path=").as_deref(),
            Some("SET \"search_path\" TO ''")
        );
        assert_eq!(
            set_clause("IntervalStyle=iso_8601").as_deref(),
            Some("SET \"IntervalStyle\" TO 'iso_8601'")
        );
        assert_eq!(
            set_clause("DateStyle=ISO, DMY").as_deref(),
            Some("SET \"DateStyle\" TO 'ISO, DMY'")
        );
        assert_eq!(
            set_clause("app.tenant=o'k=1").as_deref(),
            Some("SET \"app.tenant\" TO 'o''k=1'")
        );
        assert_eq!(set_clause("nothing"), None);
    }

    #[test]
    fn the_database_and_each_role_get_their_own_statements() {
        let rows = [
            (None, vec!["IntervalStyle=iso_8601".to_string()]),
            (Some("app".to_string()), vec!["work_mem=8MB".to_string()]),
        ];
        assert_eq!(
            alter_statements("copy_1", &rows),
            "ALTER DATABASE \"copy_1\" SET \"IntervalStyle\" TO 'iso_8601';\n\
             ALTER ROLE \"app\" IN DATABASE \"copy_1\" SET \"work_mem\" TO '8MB';\n"
        );
    }
}
