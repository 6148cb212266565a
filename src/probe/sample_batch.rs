//! The specs' sample rows tried in a few round trips instead of one per row.
//!
//! Every connection that runs constraint parts inserts every sample row (see
//! `super::parts`): at a thousand tables that was a thousand round trips, each `SAVEPOINT; INSERT; RELEASE` (or
//! `ROLLBACK TO`). Here a temporary PL/pgSQL function takes the inserts in order and runs
//! each in a subtransaction of its own, kept when the row's table is referenced and rolled
//! back otherwise, as the savepoints did; it stops at the first insert PostgreSQL refuses.
//! The inserts themselves cost the server what they did; only the round trips are saved
//! (by hand at 1,000 tables, about a sixth of the sample rows' time).
//!
//! What the caller is told is what the one-by-one inserts told it, in the same database
//! state:
//! - an insert the function ran without error is accepted;
//! - at the first refusal the function stops, its subtransaction rolled back, so every
//!   earlier insert is in place and no later one has run. A refusal that says the insert
//!   could not run here ([`super::session::blocking_state`]) is taken from the function's
//!   SQLSTATE and message (running it again would wait for a lock again). Any other
//!   refusal is run once more on its own, in a savepoint, so that the error the caller
//!   reports is the one the plain statement gets, with every field PostgreSQL sends; the
//!   rest of the inserts then go back to the function;
//! - when the call itself fails (an error PL/pgSQL cannot catch, such as a statement
//!   timeout or a cancel), it is rolled back to a savepoint taken before it, which undoes
//!   its inserts too, and the remaining inserts run one by one as before.

use sqlx::PgConnection;

use super::session::{blocked_by, blocked_by_state, Blocked};
use crate::error::{Error, Result};

/// Installs `pg_temp.reims_verify_samples(stmts, keep)`, with the probes' other functions
/// (`super::batch::install`). It returns one row: how many of the
/// statements ran without error and, when it stopped at one that did not, its SQLSTATE and
/// message.
pub(super) const INSTALL: &str = r#"
CREATE OR REPLACE FUNCTION pg_temp.reims_verify_samples(stmts text[], keep boolean[])
RETURNS TABLE (done int, state text, message text)
LANGUAGE plpgsql AS $fn$
DECLARE
  i int;
BEGIN
  FOR i IN 1 .. coalesce(array_length(stmts, 1), 0) LOOP
    BEGIN
      EXECUTE stmts[i];
      IF NOT keep[i] THEN
        RAISE EXCEPTION 'rolled back' USING ERRCODE = 'RV000';
      END IF;
    EXCEPTION WHEN OTHERS THEN
      IF SQLSTATE <> 'RV000' THEN
        done := i - 1;
        state := SQLSTATE;
        message := SQLERRM;
        RETURN NEXT;
        RETURN;
      END IF;
    END;
  END LOOP;
  done := coalesce(array_length(stmts, 1), 0);
  RETURN NEXT;
END
$fn$;
"#;

/// One sample row's insert, in the order the rows are tried.
pub struct Attempt {
    /// `INSERT INTO … VALUES (…)`.
    pub sql: String,
    /// Kept for the rest of the transaction (its table is referenced), or rolled back.
    pub keep: bool,
}

/// What became of one [`Attempt`].
#[derive(Debug)]
pub enum Tried {
    /// PostgreSQL accepted the row.
    Accepted,
    /// The insert could not run here (no privilege, a lock not granted, …): the reason as
    /// [`super::session::blocked_by`] gives it, whether the function or the plain statement
    /// met the refusal.
    Blocked(Blocked),
    /// PostgreSQL refused the row for any other reason, with the error the plain statement
    /// gets.
    Refused(sqlx::Error),
}

/// The outcomes of [`try_in_order`]: one per attempt, in order, and how many of them the
/// function settled (the rest ran on their own). The count is how a test knows the function
/// ran at all: a path that always fell back would give the same outcomes.
#[derive(Debug)]
pub struct Outcomes {
    /// One per attempt, in order.
    pub tried: Vec<Tried>,
    /// How many outcomes came from the function rather than from a statement on its own.
    pub by_function: usize,
}

/// Try every attempt in order, as if each ran on its own in a savepoint (see the module
/// documentation).
pub async fn try_in_order(conn: &mut PgConnection, attempts: &[Attempt]) -> Result<Outcomes> {
    let mut out = Vec::with_capacity(attempts.len());
    let mut by_function = 0;
    while out.len() < attempts.len() {
        let rest = &attempts[out.len()..];
        let Some((done, stopped)) = call(conn, rest).await? else {
            // The call was undone whole: the rest one by one.
            out.extend(one_by_one(conn, rest).await);
            break;
        };
        // The function reports how many ran; never more than it was given.
        let done = done.min(rest.len());
        out.extend((0..done).map(|_| Tried::Accepted));
        by_function += done;
        let Some((state, message)) = stopped else {
            // A stop is always reported; a short count without one would be a fault of the
            // function. Whatever did not run is run one by one.
            out.extend(one_by_one(conn, &rest[done..]).await);
            break;
        };
        let Some(refused) = rest.get(done) else { break };
        out.push(match blocked_by_state(&state, &message) {
            Some(blocked) => {
                by_function += 1;
                Tried::Blocked(blocked)
            }
            None => alone(conn, refused).await,
        });
    }
    Ok(Outcomes {
        tried: out,
        by_function,
    })
}

/// The statements `rest` given to the function, in a savepoint of their own. `None` when
/// the call failed and was rolled back; otherwise how many ran and where it stopped.
async fn call(
    conn: &mut PgConnection,
    rest: &[Attempt],
) -> Result<Option<(usize, Option<(String, String)>)>> {
    let failed = |e: sqlx::Error| Error::database("trying the sample rows", &e);
    sqlx::raw_sql("SAVEPOINT samples")
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    let stmts: Vec<&str> = rest.iter().map(|a| a.sql.as_str()).collect();
    let keep: Vec<bool> = rest.iter().map(|a| a.keep).collect();
    let called: std::result::Result<(i32, Option<String>, Option<String>), sqlx::Error> =
        sqlx::query_as("SELECT done, state, message FROM pg_temp.reims_verify_samples($1, $2)")
            .bind(&stmts)
            .bind(&keep)
            .fetch_one(&mut *conn)
            .await;
    let end = if called.is_ok() {
        "RELEASE SAVEPOINT samples"
    } else {
        "ROLLBACK TO SAVEPOINT samples; RELEASE SAVEPOINT samples"
    };
    sqlx::raw_sql(end)
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    Ok(called.ok().map(|(done, state, message)| {
        (
            usize::try_from(done).unwrap_or(0),
            state.map(|s| (s, message.unwrap_or_default())),
        )
    }))
}

/// Every attempt on its own, in order, as every sample row was tried before this module:
/// a round trip each. What [`try_in_order`] falls back to, and its oracle in the tests.
pub async fn one_by_one(conn: &mut PgConnection, attempts: &[Attempt]) -> Vec<Tried> {
    let mut out = Vec::with_capacity(attempts.len());
    for a in attempts {
        out.push(alone(conn, a).await);
    }
    out
}

/// One attempt on its own, as every sample row was tried before: in a savepoint, released
/// when the row is kept, rolled back otherwise or when refused.
async fn alone(conn: &mut PgConnection, a: &Attempt) -> Tried {
    let release = if a.keep {
        "RELEASE SAVEPOINT sample"
    } else {
        "ROLLBACK TO SAVEPOINT sample"
    };
    let attempt = format!("SAVEPOINT sample; {}; {release};", a.sql);
    match sqlx::raw_sql(&attempt).execute(&mut *conn).await {
        Ok(_) => Tried::Accepted,
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK TO SAVEPOINT sample")
                .execute(&mut *conn)
                .await;
            match blocked_by(&e) {
                Some(blocked) => Tried::Blocked(blocked),
                None => Tried::Refused(e),
            }
        }
    }
}
