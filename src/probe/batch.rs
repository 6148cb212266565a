//! Running thousands of probe cases in a few round trips: a temporary PL/pgSQL function
//! takes a batch of statements, runs each in its own subtransaction, and returns what
//! PostgreSQL said — the SQLSTATE and, for constraint violations, the constraint's name.
//!
//! A case that succeeds is still rolled back (by raising a private SQLSTATE), so cases
//! never see each other's rows.

use sqlx::PgConnection;

use crate::error::{Error, Result};

/// The SQLSTATE the batch function reports for a statement that PostgreSQL accepted.
pub const ACCEPTED: &str = "RV000";

/// Reported for an accepted insert whose varied value a trigger replaced: the case did not
/// test the value it meant to, so it is inconclusive.
pub const OVERRIDDEN: &str = "RV001";

const INSTALL: &str = r#"
CREATE OR REPLACE FUNCTION pg_temp.reims_verify_probe(stmts text[], rules text[])
RETURNS TABLE (state text, constraint_name text, rule_holds boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
  i int;
  holds boolean;
  kept boolean;
  holds_stored boolean;
  cname text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(stmts, 1), 0) LOOP
    kept := NULL;
    holds_stored := NULL;
    BEGIN
      -- The statement returns (varied values kept?, rule holds on the stored row?).
      EXECUTE stmts[i] INTO kept, holds_stored;
      RAISE EXCEPTION 'accepted' USING ERRCODE = 'RV000';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
      constraint_name := nullif(cname, '');
      IF SQLSTATE = 'RV000' THEN
        state := CASE WHEN kept IS FALSE THEN 'RV001' ELSE 'RV000' END;
        rule_holds := holds_stored;
      ELSE
        state := SQLSTATE;
        -- Rejected: ask the rule about the row as sent.
        holds := NULL;
        IF rules[i] IS NOT NULL THEN
          BEGIN
            EXECUTE rules[i] INTO holds;
          EXCEPTION WHEN OTHERS THEN
            holds := NULL;
          END;
        END IF;
        rule_holds := holds;
      END IF;
      RETURN NEXT;
    END;
  END LOOP;
END
$fn$;
"#;

/// Install the batch function (in `pg_temp`, so it vanishes with the session and is
/// rolled back with the probe transaction).
pub async fn install(conn: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(INSTALL)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("installing the probe batch function", &e))?;
    Ok(())
}

/// What PostgreSQL said about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// [`ACCEPTED`], or the SQLSTATE of the error.
    pub state: String,
    /// The violated constraint, for constraint errors.
    pub constraint: Option<String>,
    /// The rule's own verdict on the case (`SELECT rule IS NOT FALSE`), when one was given.
    pub rule_holds: Option<bool>,
}

impl Verdict {
    /// PostgreSQL accepted the statement.
    pub fn accepted(&self) -> bool {
        self.state == ACCEPTED
    }
}

/// Run statements in one round trip per chunk of cases. Each statement is an INSERT whose
/// `RETURNING` yields (were the varied values kept, does the rule hold on the stored row);
/// the optional query gives the rule's verdict on the row as sent, used when the insert is
/// rejected.
pub async fn run(
    conn: &mut PgConnection,
    cases: &[(String, Option<String>)],
) -> Result<Vec<Verdict>> {
    const CHUNK: usize = 2000;
    let mut out = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(CHUNK) {
        let stmts: Vec<&str> = chunk.iter().map(|(s, _)| s.as_str()).collect();
        let rules: Vec<Option<&str>> = chunk.iter().map(|(_, r)| r.as_deref()).collect();
        let rows: Vec<(String, Option<String>, Option<bool>)> = sqlx::query_as(
            "SELECT state, constraint_name, rule_holds FROM pg_temp.reims_verify_probe($1, $2)",
        )
        .bind(&stmts)
        .bind(&rules)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| Error::database("running a probe batch", &e))?;
        out.extend(
            rows.into_iter()
                .map(|(state, constraint, rule_holds)| Verdict {
                    state,
                    constraint,
                    rule_holds,
                }),
        );
    }
    Ok(out)
}
