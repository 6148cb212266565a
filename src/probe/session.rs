//! The transaction every probe runs in, and how the engine reads the errors it meets.
//!
//! Probes write, so they run only inside a transaction that is always rolled back. The same
//! rules hold for every probe, whatever it exercises:
//!
//! - **Isolation.** The transaction is `REPEATABLE READ`: every probe reads one snapshot,
//!   plus its own writes, so the application's concurrent traffic never shows up in what a
//!   probe judges.
//! - **Short locks.** Each case or sequence runs in a savepoint that is rolled back when it
//!   ends; rolling back a savepoint releases the row and table locks taken inside it, so an
//!   application writer waits at most for one case. The probes' own waits are bounded by the
//!   session's `lock_timeout`.
//! - **Honest skips.** An error that says the probe could not run here (no privilege, a
//!   read-only transaction, a lock not granted in time, another session's concurrent update)
//!   is never read as a verdict on the schema: the probe is skipped with that reason.
//! - **Up-front privileges.** Where a probe knows what it needs (INSERT on a table, EXECUTE
//!   on a function, TEMPORARY on the database), it asks `has_*_privilege` before it starts.

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection, Postgres, Transaction};

use crate::error::{Error, Result};

/// Why a probe could not run: a sentence naming the cause and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SQLSTATE of a database error, if it is one.
pub fn sqlstate(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()),
        _ => None,
    }
}

/// SQLSTATEs that say "this probe cannot run here", with why. None of them is a verdict on
/// the schema: 42501 insufficient_privilege, 25006 read_only_sql_transaction, 55P03
/// lock_not_available, 40001 serialization_failure, 40P01 deadlock_detected.
pub fn blocking_state(state: &str) -> Option<&'static str> {
    Some(match state {
        "42501" => "the role lacks a privilege the probe needs",
        "25006" => "the transaction is read-only",
        "55P03" => "another session held a lock longer than lock_timeout",
        "40001" => "another session changed a row the probe read",
        "40P01" => "a deadlock with another session",
        _ => return None,
    })
}

/// The reason a database error blocked a probe, or `None` when the error is a real outcome
/// (a constraint violation, a function's own exception …) that the probe must judge.
pub fn blocked_by(err: &sqlx::Error) -> Option<Blocked> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    blocked_by_state(&db.code()?, db.message())
}

/// [`blocked_by`] for an error known only by its SQLSTATE and message (as a PL/pgSQL
/// handler sees it).
pub fn blocked_by_state(state: &str, message: &str) -> Option<Blocked> {
    let why = blocking_state(state)?;
    Some(Blocked(format!(
        "not run: {why}: {message} (SQLSTATE {state})"
    )))
}

/// Open the probe transaction: `REPEATABLE READ`, `READ WRITE` (a handed-over server's
/// sessions default to read-only), and `TimeZone = UTC` so that a day is 24 hours. The
/// caller must end it with [`finish`].
pub async fn begin(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| Error::database("starting the probe transaction", &e))?;
    sqlx::raw_sql(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE; \
         SET LOCAL TimeZone = 'UTC'",
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| Error::database("opening the probe transaction for writing", &e))?;
    Ok(tx)
}

/// Roll the probe transaction back, whatever happened inside it.
pub async fn finish(tx: Transaction<'_, Postgres>) {
    let _ = tx.rollback().await;
}

/// Why no probe can write on this server at all (a standby in recovery), if so.
pub async fn server_blocked(conn: &mut PgConnection) -> Result<Option<Blocked>> {
    let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("asking whether the server is a standby", &e))?;
    Ok(recovering.then(|| {
        Blocked(
            "not run: the server is a standby in recovery, where no transaction can write; \
             run the probes against the primary"
                .to_string(),
        )
    }))
}

/// Privileges a probe needs, to be checked before it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// `(privilege, table)`: `INSERT`, `UPDATE`, `DELETE` or `SELECT` on a relation, named
    /// by relation key ([`crate::catalog::relation_key`]: `t`, `app.t`).
    pub tables: BTreeSet<(&'static str, String)>,
    /// Functions by signature, `name(argtype, …)`, that must be executable.
    pub functions: BTreeSet<String>,
    /// Whether the probe creates temporary objects.
    pub temporary: bool,
}

impl Needs {
    /// Need `privilege` on `table`.
    pub fn table(&mut self, privilege: &'static str, table: &str) {
        self.tables.insert((privilege, table.to_string()));
    }
}

/// The privileges of `needs` that the current role lacks, as a skip reason; `None` when it
/// has them all. Objects that do not exist are left to the probe (it reports them itself).
pub async fn missing_privileges(conn: &mut PgConnection, needs: &Needs) -> Result<Option<Blocked>> {
    let privileges: Vec<&str> = needs.tables.iter().map(|(p, _)| *p).collect();
    let tables: Vec<&str> = needs.tables.iter().map(|(_, t)| t.as_str()).collect();
    let named: Vec<String> = tables.iter().map(|t| super::key_sql(t)).collect();
    let functions: Vec<&str> = needs.functions.iter().map(String::as_str).collect();
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s on %s', p, t) \
           FROM unnest($1::text[], $2::text[], $5::text[]) AS x(p, t, named) \
          WHERE to_regclass(named) IS NOT NULL \
            AND NOT has_table_privilege(named, p) \
         UNION ALL \
         SELECT format('EXECUTE on %s', f) \
           FROM unnest($3::text[]) AS f \
          WHERE to_regprocedure(f) IS NOT NULL AND NOT has_function_privilege(f, 'EXECUTE') \
         UNION ALL \
         SELECT format('TEMPORARY on database %s', current_database()) \
          WHERE $4 AND NOT has_database_privilege(current_database(), 'TEMPORARY')",
    )
    .bind(&privileges)
    .bind(&tables)
    .bind(&functions)
    .bind(needs.temporary)
    .bind(&named)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("checking the probes' privileges", &e))?;
    if missing.is_empty() {
        return Ok(None);
    }
    let role = current_role(conn).await?;
    Ok(Some(lacking(&role, &missing)))
}

/// [`missing_privileges`] for one privilege on each of many tables, in one query: the
/// tables the role lacks it on, each with the skip reason `missing_privileges` gives for
/// that table alone. A thousand-table schema asked table by table spent a round trip on
/// each, in every part of the constraint probes. `tables` are `(schema, name)`; the answer
/// is keyed, and the reasons name the tables, by relation key
/// ([`crate::catalog::relation_key`]: `t` in the default schema, `app.t` elsewhere).
///
/// The probes insert through functions of their own in the session's temporary schema, so
/// without TEMPORARY on the database every table is lacking, whatever its privileges, and
/// its reason says so.
pub async fn tables_lacking(
    conn: &mut PgConnection,
    privilege: &'static str,
    tables: &[(&str, &str)],
) -> Result<std::collections::BTreeMap<String, Blocked>> {
    let (schemas, names): (Vec<&str>, Vec<&str>) = tables.iter().copied().unzip();
    let lacking_on: Vec<(String, String, bool, bool, String)> = sqlx::query_as(
        "SELECT s, t, NOT has_table_privilege(format('%I.%I', s, t), $3), \
                NOT has_database_privilege(current_database(), 'TEMPORARY'), \
                current_database()::text \
           FROM unnest($1::text[], $2::text[]) AS x(s, t) \
          WHERE to_regclass(format('%I.%I', s, t)) IS NOT NULL \
            AND (NOT has_table_privilege(format('%I.%I', s, t), $3) \
                 OR NOT has_database_privilege(current_database(), 'TEMPORARY'))",
    )
    .bind(&schemas)
    .bind(&names)
    .bind(privilege)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("checking the probes' privileges", &e))?;
    if lacking_on.is_empty() {
        return Ok(Default::default());
    }
    let role = current_role(conn).await?;
    Ok(lacking_on
        .into_iter()
        .map(|(s, t, no_table, no_temporary, database)| {
            let key = crate::catalog::relation_key(&s, &t);
            let mut missing = Vec::new();
            if no_table {
                missing.push(format!("{privilege} on {key}"));
            }
            if no_temporary {
                missing.push(format!(
                    "TEMPORARY on database {database} (the probes' functions are temporary)"
                ));
            }
            (key, lacking(&role, &missing))
        })
        .collect())
}

/// Whether the role may create objects in its temporary schema, which the probes' batch
/// functions live in.
pub async fn may_create_temporary(conn: &mut PgConnection) -> Result<bool> {
    sqlx::query_scalar("SELECT has_database_privilege(current_database(), 'TEMPORARY')")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("checking the probes' privileges", &e))
}

/// The role the session acts as, for skip messages that name it.
pub(crate) async fn current_role(conn: &mut PgConnection) -> Result<String> {
    sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("reading the current role", &e))
}

/// The skip reason for privileges `missing` (`"INSERT on t"`, …) that `role` lacks.
fn lacking(role: &str, missing: &[String]) -> Blocked {
    Blocked(format!(
        "not run: the role {role} lacks {} (has_*_privilege, SQLSTATE 42501 if tried); \
         grant it, or probe with a role that may write inside a rolled-back transaction",
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_environment_states_block() {
        for state in ["42501", "25006", "55P03", "40001", "40P01"] {
            assert!(blocking_state(state).is_some(), "{state}");
        }
        // Outcomes a probe must judge: constraint violations, a function's own errors,
        // a statement that ran out of time.
        for state in [
            "23514", "23505", "23503", "P0001", "28000", "22023", "57014",
        ] {
            assert!(blocking_state(state).is_none(), "{state}");
        }
    }
}
