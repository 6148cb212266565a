//! Playing one drawn sequence against the database, inside a savepoint that is rolled back
//! afterwards, and writing down the SQL that reproduces it.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::bind::{Bindings, Bound, Mode, Params, Rows, Val};
use super::draw::{Drawn, RowDraw};
use super::plan::{ActionPlan, Case, GenPlan, Plan};
use super::prepared::{first_keyword, Statements};
use crate::catalog::{ConstraintKind, Schema};
use crate::error::{describe_sqlx_error, Error, Result};
use crate::probe::rows::{insert_sql_overriding, Row};
use crate::probe::session::{blocked_by, sqlstate, Blocked};
use crate::sql::quote_ident;

/// How a failure reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Index into the plan's targets of the object charged.
    pub target: usize,
    /// 1-based step (0 for the set-up).
    pub step: usize,
    /// What was being checked.
    pub what: String,
    /// What had to hold.
    pub expected: String,
    /// What the database did.
    pub actual: String,
    /// Key path of the spec entry that broke, below `properties.<name>`.
    pub path: Vec<String>,
}

/// How a sequence ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every check held.
    Held,
    /// A check broke.
    Failed(Failure),
    /// The sequence could not run here (no privilege, read-only, a lock …).
    Blocked(Blocked),
}

/// The record of one played sequence.
#[derive(Debug, Clone)]
pub struct Played {
    /// One label per step that ran.
    pub labels: Vec<String>,
    /// Statements run per target.
    pub calls: Vec<u32>,
    /// How it ended.
    pub outcome: Outcome,
    /// The SQL that replays it by hand, up to the failure.
    pub repro: Vec<String>,
}

impl Played {
    /// The failure, if the sequence failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Failed(f) => Some(f),
            _ => None,
        }
    }
}

/// Why a sequence stopped early.
enum Stop {
    Fail(Failure),
    Blocked(Blocked),
}

type Step<T> = std::result::Result<T, Stop>;

/// Plays sequences of one property.
pub struct Player<'p, 'a> {
    plan: &'p Plan<'a>,
    schema: &'p Schema,
    types: HashMap<u32, String>,
    /// Write the reproduction while playing (off while searching: only a failure's
    /// sequence is replayed with it on).
    pub recording: bool,
    /// Statements to send in front of the next one (savepoints), saving round trips.
    pending: String,
    /// How many bytes of `pending` are `PREPARE`s, which run nothing.
    pending_prepares: usize,
    /// Batches sent so far.
    flushes: u64,
    /// Pick queries of the next step to send with this step's last batch: `(argument
    /// index, query)`.
    tail: Vec<(usize, String)>,
    /// The same, computed before a step for the step after it.
    next_tail: Vec<(usize, String)>,
    /// Rows of the picks prefetched for the step about to run.
    prefetched: Vec<(usize, Rows)>,
    /// Whether the sequences' savepoint is established (or about to be, by `pending`).
    case_savepoint: bool,
    /// Whether picks are read ahead at all (off while a failure is played again to find
    /// where it is; see [`Player::play`]).
    read_ahead: bool,
    /// Whether this sequence has read a pick ahead, and whether a batch failed since.
    ahead_planned: bool,
    ahead_then_failed: bool,
    /// The property's prepared statements (released by the caller after the rollback).
    statements: &'p mut Statements,
}

/// Every sequence runs inside this savepoint; rolling back to it (which keeps it) ends a
/// sequence and readies the next.
const CASE_SAVEPOINT: &str = "SAVEPOINT rv_case";
const CASE_UNDO: &str = "ROLLBACK TO SAVEPOINT rv_case";

/// Where a step is, for failures.
struct At<'x> {
    step: usize,
    target: usize,
    path: Vec<String>,
    label: &'x str,
    /// Whether the reproduction is being written (only when replaying a failure).
    rec: bool,
}

impl At<'_> {
    fn fail(&self, what: String, expected: String, actual: String) -> Stop {
        Stop::Fail(Failure {
            target: self.target,
            step: self.step,
            what,
            expected,
            actual,
            path: self.path.clone(),
        })
    }

    fn db(&self, what: String, expected: &str, err: &sqlx::Error) -> Stop {
        match blocked_by(err) {
            Some(b) => Stop::Blocked(b),
            None => self.fail(
                what,
                expected.to_string(),
                format!("error: {}", describe_sqlx_error(err)),
            ),
        }
    }
}

fn strip(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

impl<'p, 'a> Player<'p, 'a> {
    /// A player for `plan` on a database with `schema`, preparing its statements in
    /// `statements`.
    pub fn new(plan: &'p Plan<'a>, schema: &'p Schema, statements: &'p mut Statements) -> Self {
        Player {
            plan,
            schema,
            types: HashMap::new(),
            recording: false,
            pending: String::new(),
            pending_prepares: 0,
            flushes: 0,
            tail: Vec::new(),
            next_tail: Vec::new(),
            prefetched: Vec::new(),
            case_savepoint: false,
            read_ahead: true,
            ahead_planned: false,
            ahead_then_failed: false,
            statements,
        }
    }

    /// What to send to run `sql` (one statement of the spec's, placeholders bound by `b`)
    /// whose inline rendering is `exec`: `EXECUTE` of its prepared template, or `exec`.
    fn sendable(&mut self, b: &Bindings, sql: &str, exec: String) -> String {
        let mut params = Params::default();
        match b.render_template(sql, &mut params) {
            Ok(template) => self.send(template, params, exec),
            Err(_) => exec,
        }
    }

    /// What to send to run `template` with `params` (see [`Statements::call`]).
    fn send(&mut self, template: String, params: Params, inline: String) -> String {
        let before = self.pending.len();
        let send = self
            .statements
            .call(&mut self.pending, template, params, inline);
        self.pending_prepares += self.pending.len() - before;
        send
    }

    /// The statements waiting to go in front of the next batch, which is being sent.
    fn take_pending(&mut self) -> String {
        self.pending_prepares = 0;
        std::mem::take(&mut self.pending)
    }

    /// Create the model's tables (once per property, before any sequence; the property's
    /// transaction is rolled back at the end).
    pub async fn create_model(&mut self, conn: &mut PgConnection) -> Result<()> {
        for sql in self.model_ddl() {
            sqlx::raw_sql(&sql).execute(&mut *conn).await.map_err(|e| {
                Error::database(format!("creating the model of {}", self.plan.object()), &e)
            })?;
        }
        Ok(())
    }

    fn model_ddl(&self) -> Vec<String> {
        self.plan
            .prop
            .model
            .iter()
            .map(|(name, t)| {
                let cols: Vec<String> = t
                    .columns
                    .iter()
                    .map(|(c, ty)| format!("{} {ty}", quote_ident(c)))
                    .collect();
                format!("CREATE TEMP TABLE {name} ({})", cols.join(", "))
            })
            .collect()
    }

    /// Play `case` in a savepoint that is rolled back before the next statement the player
    /// sends (the property's transaction is rolled back at the end anyway). An `Err` is
    /// trouble with the connection itself, not an outcome of the property.
    ///
    /// A pick read ahead rides in the batches of the step before its own (or of the
    /// set-up), so an error in such a batch may be the pick's: the sequence is then played
    /// again without reading ahead, and where it fails that time is the outcome (its step,
    /// and a reproduction that holds the pick). Were that play to hold, the first outcome
    /// stands.
    pub async fn play(&mut self, conn: &mut PgConnection, case: &Case) -> Result<Played> {
        let played = self.play_once(conn, case).await?;
        if matches!(played.outcome, Outcome::Held) || !self.ahead_then_failed {
            return Ok(played);
        }
        self.read_ahead = false;
        let again = self.play_once(conn, case).await;
        self.read_ahead = true;
        let again = again?;
        Ok(match again.outcome {
            Outcome::Held => played,
            _ => again,
        })
    }

    /// One play of `case` (see [`Player::play`]).
    async fn play_once(&mut self, conn: &mut PgConnection, case: &Case) -> Result<Played> {
        // The previous sequence's undo (if any) goes in front of this one's first
        // statement, saving a round trip per sequence.
        self.tail.clear();
        self.next_tail.clear();
        self.prefetched.clear();
        self.ahead_planned = false;
        self.ahead_then_failed = false;
        if !self.case_savepoint {
            self.pending.push_str(CASE_SAVEPOINT);
            self.pending.push_str(";\n");
            self.case_savepoint = true;
        }
        let flushes = self.flushes;
        let mut played = Played {
            labels: Vec::new(),
            calls: vec![0; self.plan.targets.len()],
            outcome: Outcome::Held,
            repro: self.model_ddl().into_iter().map(|s| s + ";").collect(),
        };
        let outcome = self.run(conn, case, &mut played).await;
        played.outcome = match outcome {
            Ok(()) => Outcome::Held,
            Err(Stop::Fail(f)) => Outcome::Failed(f),
            Err(Stop::Blocked(b)) => Outcome::Blocked(b),
        };
        if self.flushes != flushes {
            // Undone in front of the next statement the player sends.
            self.pending.push_str(CASE_UNDO);
            self.pending.push_str(";\n");
        }
        Ok(played)
    }

    async fn run(&mut self, conn: &mut PgConnection, case: &Case, played: &mut Played) -> Step<()> {
        let plan = self.plan;
        let mut b = Bindings::default();
        let setup = At {
            step: 0,
            target: 0,
            path: vec!["given".into()],
            label: "the set-up",
            rec: self.recording,
        };
        // Rows are inserted together, in as few round trips as their dependencies allow:
        // a batch is sent before anything that reads one of its rows.
        let mut batch: Vec<(String, &RowDraw, &[String])> = Vec::new();
        for ((name, gplan), drawn) in plan.given.iter().zip(&case.given) {
            let at = At {
                path: vec!["given".into(), name.clone()],
                ..setup
            };
            if batch.iter().any(|(n, _, _)| drawn_uses(drawn, n)) || matches!(drawn, Drawn::Pick(_))
            {
                self.insert_rows(
                    conn,
                    &mut b,
                    std::mem::take(&mut batch),
                    &at,
                    &mut played.repro,
                )
                .await?;
            }
            let bound = match (gplan, drawn) {
                (_, Drawn::Pick(k)) => {
                    let GenPlan::Scalar(crate::spec::property::Gen::Pick(q)) = gplan else {
                        continue;
                    };
                    played.repro.push(format!("-- given {name}"));
                    match self
                        .pick(conn, &b, name, q, *k, None, &at, &mut played.repro)
                        .await?
                    {
                        Some(bound) => bound,
                        None => {
                            return Err(at.fail(
                                format!("picking {name}"),
                                "at least one row".into(),
                                "no row".into(),
                            ))
                        }
                    }
                }
                (GenPlan::Row(t), Drawn::Row(r)) => {
                    batch.push((name.clone(), r, &t.explicit_key));
                    continue;
                }
                (_, d) => scalar(&b, d, &at)?,
            };
            b.push(name, bound);
        }
        self.insert_rows(conn, &mut b, batch, &setup, &mut played.repro)
            .await?;
        for (mname, table) in &plan.prop.model {
            let Some(init) = &table.init else { continue };
            let at = At {
                path: vec!["model".into(), mname.clone(), "init".into()],
                ..setup
            };
            let sql = format!("INSERT INTO {mname} {}", strip(init));
            let (exec, repro) = render(&b, &sql, &at)?;
            played.repro.push(format!("{repro};"));
            // Sent with the set-up checks below.
            let send = self.sendable(&b, &sql, exec);
            self.pending.push_str(&send);
            self.pending.push_str(";\n");
        }
        self.tail = self.plan_prefetch(case, 0, &b);
        self.checks(conn, &b, None, None, &setup, &mut played.repro)
            .await?;
        for (index, step) in case.steps.iter().enumerate() {
            let action = &plan.actions[step.action];
            let mark = b.mark();
            self.next_tail = self.plan_prefetch(case, index + 1, &b);
            let ran = self.step(conn, &mut b, action, step, played).await?;
            if !ran {
                played.repro.push(format!(
                    "-- ({} left out: its precondition did not hold)",
                    action.name
                ));
            }
            b.reset(mark);
        }
        Ok(())
    }

    /// Play one step; `false` when it was left out (nothing to pick, precondition false).
    async fn step(
        &mut self,
        conn: &mut PgConnection,
        b: &mut Bindings,
        action: &ActionPlan<'_>,
        step: &super::plan::StepDraw,
        played: &mut Played,
    ) -> Step<bool> {
        let number = played.labels.len() + 1;
        let base_path = vec!["actions".to_string(), action.name.clone()];
        let mut prefetched = std::mem::take(&mut self.prefetched);
        let mut shown_args = Vec::new();
        let mut pending_repro = Vec::new();
        let bound: Step<bool> = async {
            let at = At {
                step: number,
                target: action.target,
                path: base_path.clone(),
                label: &action.name,
                rec: self.recording,
            };
            for (index, ((name, gplan), drawn)) in action.args.iter().zip(&step.args).enumerate() {
                let bound = match (gplan, drawn) {
                    (GenPlan::Scalar(crate::spec::property::Gen::Pick(q)), Drawn::Pick(k)) => {
                        let ready = prefetched
                            .iter()
                            .position(|(i, _)| *i == index)
                            .map(|p| prefetched.swap_remove(p).1);
                        match self
                            .pick(conn, b, name, q, *k, ready, &at, &mut pending_repro)
                            .await?
                        {
                            Some(bound) => bound,
                            None => return Ok(false),
                        }
                    }
                    (GenPlan::Row(t), Drawn::Row(r)) => {
                        self.insert_row(conn, b, r, &t.explicit_key, &at, &mut pending_repro)
                            .await?
                    }
                    (_, d) => scalar(b, d, &at)?,
                };
                shown_args.push(format!("{name}={}", bound_shown(&bound)));
                b.push(name, bound);
            }
            if let Some(when) = &action.spec.when {
                let holds = self
                    .holds(conn, b, when, &at)
                    .await
                    .map_err(|e| at.db("the precondition".into(), "true or false", &e))?;
                if !holds {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        .await;
        match bound {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(stop) => {
                // Failed while binding its arguments (a pick, a row, the precondition): the
                // step is still named, and its reproduction ends on what failed.
                let label = format!("{}({}…)", action.name, shown_args.join(", "));
                played.labels.push(label.clone());
                played.repro.push(format!("-- step {number}: {label}"));
                played.repro.extend(pending_repro);
                return Err(stop);
            }
        }
        if let Some(adv) = &step.advance {
            shown_args.push(format!("by {}", adv.shown()));
        }
        let repeat = if step.repeat > 1 {
            format!(" ×{}", step.repeat)
        } else {
            String::new()
        };
        let label = format!("{}({}){repeat}", action.name, shown_args.join(", "));
        played.labels.push(label.clone());
        played.repro.push(format!("-- step {number}: {label}"));
        played.repro.extend(pending_repro);
        for time in 1..=step.repeat {
            played.calls[0] += 1;
            if action.target != 0 {
                played.calls[action.target] += 1;
            }
            let at = At {
                step: number,
                target: action.target,
                path: base_path.clone(),
                label: &label,
                rec: self.recording,
            };
            if step.repeat > 1 {
                played
                    .repro
                    .push(format!("-- time {time} of {}", step.repeat));
            }
            if time == step.repeat {
                self.tail = std::mem::take(&mut self.next_tail);
            }
            match &step.advance {
                Some(by) => {
                    self.advance(conn, b, by, &at, &mut played.repro).await?;
                    self.checks(conn, b, None, None, &at, &mut played.repro)
                        .await?;
                }
                None => {
                    self.statement(conn, b, action, &at, &mut played.repro)
                        .await?
                }
            }
        }
        Ok(true)
    }

    /// Run the action's statement and judge it.
    async fn statement(
        &mut self,
        conn: &mut PgConnection,
        b: &mut Bindings,
        action: &ActionPlan<'_>,
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<()> {
        let spec = action.spec;
        let mark = b.mark();
        if let Some(before) = &spec.before {
            let (exec, rsql) = render(b, strip(before), at)?;
            let send = self.sendable(b, strip(before), exec.clone());
            let rows = self
                .fetch_as(conn, &send, &exec)
                .await
                .map_err(|e| at.db("the `before` query".into(), "rows", &e))?;
            repro.push("DROP TABLE IF EXISTS rv_before;".into());
            repro.push(format!("CREATE TEMP TABLE rv_before AS {rsql};"));
            b.push(
                "before",
                rows.first_row(&|c| format!("(SELECT {} FROM rv_before)", quote_ident(c))),
            );
        }
        let mut expected_error: Option<(String, String)> = None;
        if let Some(raises) = &spec.raises {
            let applies = match &raises.when {
                None => true,
                Some(when) => self
                    .holds(conn, b, when, at)
                    .await
                    .map_err(|e| at.db("raises.when".into(), "true or false", &e))?,
            };
            if applies {
                let why = raises
                    .when
                    .as_ref()
                    .map(|w| format!(" (because {})", w.trim()))
                    .unwrap_or_default();
                expected_error = Some((raises.sqlstate.clone(), why));
            }
        }
        let sql = spec.sql.as_deref().unwrap_or_default();
        let (exec, rsql) = render(b, strip(sql), at)?;
        let guarded = spec.raises.is_some();
        if !guarded && !action.uses_result {
            // Nothing reads the statement's rows: send it with the model update and the
            // checks, in one round trip.
            let send = self.sendable(b, strip(sql), exec);
            self.pending.push_str(&send);
            self.pending.push_str(";\n");
            if at.rec {
                repro.push(format!("{rsql};"));
            }
            let none = Rows::default();
            let model = spec.model.as_deref();
            let result = self
                .checks(conn, b, model, Some((&none, false)), at, repro)
                .await;
            b.reset(mark);
            return result;
        }
        // A statement that must fail is sent as written: its error then comes from it, not
        // from a PREPARE in front of it.
        let send = if guarded {
            self.pending.push_str("SAVEPOINT rv_step;\n");
            exec.clone()
        } else {
            self.sendable(b, strip(sql), exec.clone())
        };
        let outcome = self.fetch_as(conn, &send, &exec).await;
        match (outcome, &expected_error) {
            (Ok(rows), Some((state, why))) => {
                repro.push(format!(
                    "{rsql};  -- must fail with SQLSTATE {state}{why}; it succeeds"
                ));
                Err(at.fail(
                    "the outcome of the statement".into(),
                    format!("an error with SQLSTATE {state}{why}"),
                    format!("success: {}", rows.shown()),
                ))
            }
            (Err(e), Some((state, _))) if sqlstate(&e).as_deref() == Some(state.as_str()) => {
                repro.push("SAVEPOINT rv_step;".into());
                repro.push(format!(
                    "{rsql};  -- fails with SQLSTATE {state}, as it must"
                ));
                repro.push("ROLLBACK TO SAVEPOINT rv_step;".into());
                self.pending
                    .push_str("ROLLBACK TO SAVEPOINT rv_step;\nRELEASE SAVEPOINT rv_step;\n");
                b.reset(mark);
                self.checks(conn, b, None, None, at, repro).await
            }
            (Err(e), expected) => {
                repro.push(format!(
                    "{rsql};  -- fails: {}",
                    describe_sqlx_error(&e).replace('\n', " ")
                ));
                let want = match expected {
                    Some((state, why)) => format!("an error with SQLSTATE {state}{why}"),
                    None => "success".to_string(),
                };
                Err(at.db("the statement".into(), &want, &e))
            }
            (Ok(rows), None) => {
                if guarded {
                    self.pending.push_str("RELEASE SAVEPOINT rv_step;\n");
                }
                let wrap =
                    action.uses_result && !rows.has_pseudo_type() && !rows.columns.is_empty();
                if wrap {
                    let body = match first_keyword(&rsql).as_str() {
                        "SELECT" | "VALUES" | "TABLE" | "WITH" => rsql.clone(),
                        _ => format!("WITH rv AS ({rsql}) SELECT * FROM rv"),
                    };
                    repro.push("DROP TABLE IF EXISTS rv_result;".into());
                    repro.push(format!("CREATE TEMP TABLE rv_result AS {body};"));
                } else {
                    repro.push(format!("{rsql};"));
                }
                b.push(
                    "result",
                    fill_repro(rows.first_row(&|c| {
                        if wrap {
                            format!("(SELECT {} FROM rv_result LIMIT 1)", quote_ident(c))
                        } else {
                            String::new()
                        }
                    })),
                );
                let model = spec.model.as_deref();
                let result = self
                    .checks(conn, b, model, Some((&rows, wrap)), at, repro)
                    .await;
                b.reset(mark);
                result
            }
        }
    }

    /// Run the model update (if any), then every expectation and invariant in one query.
    async fn checks(
        &mut self,
        conn: &mut PgConnection,
        b: &Bindings,
        model: Option<&str>,
        result: Option<(&Rows, bool)>,
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<()> {
        let plan = self.plan;
        // Whether statements wait in front (the step's own, undone savepoints), not
        // counting the PREPAREs queued there.
        let folded = self.pending.len() > self.pending_prepares;
        let mut preds: Vec<(String, String, Vec<String>)> = Vec::new();
        if result.is_some() {
            let action = at.path.get(1).cloned().unwrap_or_default();
            if let Some(a) = plan.actions.iter().find(|a| a.name == action) {
                for (i, e) in a.spec.expect.iter().enumerate() {
                    preds.push((
                        e.clone(),
                        format!("expect #{} of {}", i + 1, a.name),
                        vec!["actions".into(), a.name.clone(), "expect".into()],
                    ));
                }
            }
        }
        for (i, e) in plan.prop.always.iter().enumerate() {
            let after = if at.step == 0 {
                "the set-up".to_string()
            } else {
                at.label.to_string()
            };
            preds.push((
                e.clone(),
                format!("always #{} after {after}", i + 1),
                vec!["always".into()],
            ));
        }
        let mut batch = String::new();
        if let Some(m) = model {
            let (exec, rsql) = render(b, m, at)?;
            repro.push(format!("{};", strip(&rsql)));
            let send = self.sendable(b, strip(m), strip(&exec).to_string());
            batch.push_str(&send);
            batch.push_str(";\n");
        }
        let tail = std::mem::take(&mut self.tail);
        for (_, q) in &tail {
            batch.push_str(q);
            batch.push_str(";\n");
        }
        if preds.is_empty() && batch.is_empty() {
            if folded {
                self.exec(conn, "")
                    .await
                    .map_err(|e| at.db("the statement".into(), "success", &e))?;
            }
            return Ok(());
        }
        let cte = result
            .map(|(rows, _)| format!("WITH {} ", rows.as_cte("result")))
            .unwrap_or_default();
        if !preds.is_empty() {
            let mut params = Params::default();
            let template_cte = result
                .map(|(rows, _)| format!("WITH {} ", rows.as_cte_template("result", &mut params)))
                .unwrap_or_default();
            let mut cols = Vec::new();
            let mut template_cols = Vec::new();
            for (p, _, _) in &preds {
                let (exec, _) = render(b, p, at)?;
                cols.push(format!("(({exec}) IS TRUE)::text"));
                if let Ok(t) = b.render_template(p, &mut params) {
                    template_cols.push(format!("(({t}) IS TRUE)::text"));
                }
            }
            let inline = format!("{cte}SELECT {}", cols.join(", "));
            let send = if template_cols.len() == cols.len() {
                let template = format!("{template_cte}SELECT {}", template_cols.join(", "));
                self.send(template, params, inline)
            } else {
                inline
            };
            batch.push_str(&send);
        }
        let what = match (folded, model.is_some()) {
            (true, true) => "the statement, the model update or the checks after it",
            (true, false) => "the statement or the checks after it",
            (false, true) => "the model update or the checks after it",
            (false, false) => "the checks",
        };
        let mut groups = self
            .fetch_groups(conn, &batch)
            .await
            .map_err(|e| at.db(what.into(), "success", &e))?;
        let checks_group = if preds.is_empty() { None } else { groups.pop() };
        let first_tail = groups.len().saturating_sub(tail.len());
        let mut prefetched = Vec::new();
        for ((i, _), group) in tail.iter().zip(groups.drain(first_tail..)) {
            let rows = self
                .typed(conn, &group, None)
                .await
                .map_err(|e| at.db("reading picked rows".into(), "rows", &e))?;
            prefetched.push((*i, rows));
        }
        self.prefetched = prefetched;
        let Some(checks_group) = checks_group else {
            return Ok(());
        };
        let rows = self
            .typed(conn, &checks_group, None)
            .await
            .map_err(|e| at.db(what.into(), "success", &e))?;
        let verdicts = rows.rows.last().cloned().unwrap_or_default();
        let Some(bad) = verdicts.iter().position(|v| v.as_deref() != Some("true")) else {
            return Ok(());
        };
        let (pred, what, path) = &preds[bad];
        let (_, rpred) = render(b, pred, at)?;
        let rcte = match result {
            Some((_, true)) => "WITH result AS (SELECT * FROM rv_result) ",
            _ => "",
        };
        repro.push(format!(
            "{rcte}SELECT ({}) AS holds;  -- must be true; it is false",
            rpred.trim()
        ));
        let mut actual = String::from("false");
        if let Some((rows, _)) = result {
            if !rows.columns.is_empty() {
                actual.push_str(&format!("; the statement returned {}", rows.shown()));
            }
        }
        for q in &plan.prop.show {
            if let Ok((exec, _)) = render(b, q, at) {
                if let Ok(rows) = self.fetch(conn, &exec).await {
                    actual.push_str(&format!("; {}: {}", q.trim(), rows.shown()));
                }
            }
        }
        Err(Stop::Fail(Failure {
            target: at.target,
            step: at.step,
            what: what.clone(),
            expected: pred.trim().to_string(),
            actual,
            path: path.clone(),
        }))
    }

    /// The picks of step `next` that can be read ahead, with the last batch of the step
    /// before it: those before any `row` argument whose query uses only `given` values.
    fn plan_prefetch(&mut self, case: &Case, next: usize, b: &Bindings) -> Vec<(usize, String)> {
        if !self.read_ahead {
            return Vec::new();
        }
        let Some(step) = case.steps.get(next) else {
            return Vec::new();
        };
        let action = &self.plan.actions[step.action];
        let mut out = Vec::new();
        for (i, (_, gplan)) in action.args.iter().enumerate() {
            match gplan {
                GenPlan::Row(_) => break,
                GenPlan::Scalar(crate::spec::property::Gen::Pick(q)) => {
                    let given_only = crate::spec::placeholders::placeholders(q)
                        .iter()
                        .all(|(n, _)| self.plan.prop.given.contains_key(n));
                    if given_only {
                        if let Ok(exec) = b.render(strip(q), Mode::Exec) {
                            let send = self.sendable(b, &pick_query(strip(q)), pick_query(&exec));
                            out.push((i, send));
                        }
                    }
                }
                GenPlan::Scalar(_) => {}
            }
        }
        self.ahead_planned |= !out.is_empty();
        out
    }

    /// Move every clock column back by `by`.
    async fn advance(
        &mut self,
        _conn: &mut PgConnection,
        b: &Bindings,
        by: &Drawn,
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<()> {
        let interval = match by {
            Drawn::Lit { sql, .. } => sql.clone(),
            Drawn::Sql(s) => render(b, s, at)?.0,
            other => other.shown(),
        };
        let plan = self.plan;
        for c in &plan.prop.clock {
            let key = plan.clock_key(&c.table);
            let mut params = Params::default();
            let moved = match by {
                Drawn::Lit { sql, .. } => params.value(&Val::same(sql.clone(), String::new())),
                _ => interval.clone(),
            };
            let sets = |by: &str| {
                c.columns
                    .iter()
                    .map(|col| format!("{0} = {0} - {by}", quote_ident(col)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (wexec, wrepro, wtemplate) = match (&c.where_, key.as_deref()) {
                (Some(w), _) => {
                    let (e, r) = render(b, w, at)?;
                    let t = b.render_template(w, &mut params).unwrap_or(e.clone());
                    (
                        format!(" WHERE {e}"),
                        format!(" WHERE {r}"),
                        format!(" WHERE {t}"),
                    )
                }
                // A model table: the property's own, every row of it moves.
                (None, None) => (String::new(), String::new(), String::new()),
                (None, Some(key)) => {
                    let (e, r, t) = self.given_rows_of(b, key, &mut params);
                    (
                        format!(" WHERE {e}"),
                        format!(" WHERE {r}"),
                        format!(" WHERE {t}"),
                    )
                }
            };
            let update = format!(
                "UPDATE {} SET ",
                key.as_deref()
                    .map_or(c.table.clone(), crate::probe::key_sql)
            );
            repro.push(format!("{update}{}{wrepro};", sets(&interval)));
            // Sent with the checks that follow.
            let send = self.send(
                format!("{update}{}{wtemplate}", sets(&moved)),
                params,
                format!("{update}{}{wexec}", sets(&interval)),
            );
            self.pending.push_str(&send);
            self.pending.push_str(";\n");
        }
        Ok(())
    }

    /// `pk = …` for every given row of `table`, ORed (exec, repro and template spellings,
    /// the template's values appended to `params`).
    fn given_rows_of(
        &self,
        b: &Bindings,
        table: &str,
        params: &mut Params,
    ) -> (String, String, String) {
        let pk: Vec<String> = self
            .schema
            .relations
            .get(table)
            .and_then(|r| {
                r.constraints
                    .iter()
                    .find(|c| c.kind == ConstraintKind::PrimaryKey)
            })
            .map(|c| c.columns.clone())
            .unwrap_or_default();
        let mut exec = Vec::new();
        let mut repro = Vec::new();
        let mut template = Vec::new();
        for (name, g) in &self.plan.given {
            let GenPlan::Row(t) = g else { continue };
            if t.tables().first().map(String::as_str) != Some(table) {
                continue;
            }
            let mut e = Vec::new();
            let mut r = Vec::new();
            let mut t = Vec::new();
            for col in &pk {
                if let Ok(v) = b.value(name, Some(col)) {
                    e.push(format!("{} = {}", quote_ident(col), v.exec));
                    r.push(format!("{} = {}", quote_ident(col), v.repro));
                    t.push(format!("{} = {}", quote_ident(col), params.value(v)));
                }
            }
            if !e.is_empty() {
                exec.push(format!("({})", e.join(" AND ")));
                repro.push(format!("({})", r.join(" AND ")));
                template.push(format!("({})", t.join(" AND ")));
            }
        }
        if exec.is_empty() {
            return ("false".into(), "false".into(), "false".into());
        }
        (exec.join(" OR "), repro.join(" OR "), template.join(" OR "))
    }

    /// Pick row `k` (modulo their number) of `query`'s rows; `None` when it has none.
    #[allow(clippy::too_many_arguments)]
    async fn pick(
        &mut self,
        conn: &mut PgConnection,
        b: &Bindings,
        name: &str,
        query: &str,
        k: u32,
        ready: Option<Rows>,
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<Option<Bound>> {
        let (exec, rsql) = render(b, strip(query), at)?;
        let rows = match ready {
            Some(rows) => rows,
            None => {
                let inline = pick_query(&exec);
                let send = self.sendable(b, &pick_query(strip(query)), inline.clone());
                match self.fetch_as(conn, &send, &inline).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        repro.push(format!("{rsql};  -- picking {name}: the error is here"));
                        return Err(at.db(format!("picking {name}"), "rows", &e));
                    }
                }
            }
        };
        if rows.rows.is_empty() {
            return Ok(None);
        }
        let index = k as usize % rows.rows.len();
        let one = Rows {
            columns: rows.columns.clone(),
            rows: vec![rows.rows[index].clone()],
        };
        let table = format!("rv_{name}");
        repro.push(format!("DROP TABLE IF EXISTS {table};"));
        repro.push(format!(
            "CREATE TEMP TABLE {table} AS SELECT * FROM ({rsql}) AS q OFFSET {index} LIMIT 1;"
        ));
        Ok(Some(one.first_row(&|c| {
            format!("(SELECT {} FROM {table})", quote_ident(c))
        })))
    }

    /// Insert `given` rows (parents first) in one round trip and bind each under its name.
    async fn insert_rows(
        &mut self,
        conn: &mut PgConnection,
        b: &mut Bindings,
        rows: Vec<(String, &RowDraw, &[String])>,
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut exec = Vec::new();
        let mut ends = Vec::new();
        for (name, row, _) in &rows {
            let mut rsql = Vec::new();
            let mut inserts = Vec::new();
            self.row_statements(b, row, at, &mut inserts, &mut rsql)?;
            exec.extend(self.returning(inserts));
            ends.push(exec.len() - 1);
            repro.push(format!("-- given {name}"));
            repro.extend(rsql.iter().map(|s| format!("{s};")));
        }
        let tables: Vec<&str> = rows.iter().map(|(_, r, _)| r.table.as_str()).collect();
        let groups = self
            .fetch_groups(conn, &exec.join(";\n"))
            .await
            .map_err(|e| {
                at.db(
                    format!("inserting the given rows ({})", tables.join(", ")),
                    "new rows",
                    &e,
                )
            })?;
        // The pending statements in front (savepoints) have groups of their own: count
        // from the end.
        let offset = groups.len().saturating_sub(exec.len());
        for ((name, row, key), end) in rows.iter().zip(ends) {
            let group: &[sqlx::postgres::PgRow] =
                groups.get(offset + end).map(Vec::as_slice).unwrap_or(&[]);
            let stored = self
                .typed(conn, group, None)
                .await
                .map_err(|e| at.db(format!("reading the given row {name}"), "its values", &e))?;
            let bound = bind_row(b, row, key, &stored, at);
            b.push(name, bound);
        }
        Ok(())
    }

    /// Insert a drawn row (parents first) and bind its stored values.
    async fn insert_row(
        &mut self,
        conn: &mut PgConnection,
        b: &Bindings,
        row: &RowDraw,
        explicit_key: &[String],
        at: &At<'_>,
        repro: &mut Vec<String>,
    ) -> Step<Bound> {
        let mut inserts = Vec::new();
        let mut rsql = Vec::new();
        self.row_statements(b, row, at, &mut inserts, &mut rsql)?;
        let exec = self.returning(inserts);
        repro.extend(rsql.iter().map(|s| format!("{s};")));
        let rows = self.fetch(conn, &exec.join(";\n")).await.map_err(|e| {
            at.db(
                format!("inserting a {} row", row.table),
                &format!("a new {} row", row.table),
                &e,
            )
        })?;
        Ok(bind_row(b, row, explicit_key, &rows, at))
    }

    /// What to send for a row's inserts (parents first), the last returning the row.
    fn returning(&mut self, inserts: Vec<Insert>) -> Vec<String> {
        let last = inserts.len().saturating_sub(1);
        inserts
            .into_iter()
            .enumerate()
            .map(|(i, mut insert)| {
                if i == last {
                    insert.inline.push_str(" RETURNING *");
                    insert.template.push_str(" RETURNING *");
                }
                self.send(insert.template, insert.params, insert.inline)
            })
            .collect()
    }

    fn row_statements(
        &self,
        b: &Bindings,
        row: &RowDraw,
        at: &At<'_>,
        exec: &mut Vec<Insert>,
        repro: &mut Vec<String>,
    ) -> Step<()> {
        for p in &row.parents {
            self.row_statements(b, p, at, exec, repro)?;
        }
        let Some(rel) = self.schema.relations.get(&row.table) else {
            return Err(at.fail(
                format!("inserting a {} row", row.table),
                "the table".into(),
                "no such table".into(),
            ));
        };
        let mut e = Row::new();
        let mut r = Row::new();
        let mut t = Row::new();
        let mut params = Params::default();
        for (col, d) in &row.columns {
            let inline = drawn_sql(b, d, Mode::Exec, at)?;
            let template = match d {
                Drawn::Lit { sql, .. } => params.cast_value(sql),
                Drawn::Sql(sql) => b
                    .render_template(sql, &mut params)
                    .unwrap_or(inline.clone()),
                _ => inline.clone(),
            };
            e.insert(col.clone(), inline);
            t.insert(col.clone(), template);
            r.insert(col.clone(), drawn_sql(b, d, Mode::Repro, at)?);
        }
        exec.push(Insert {
            inline: insert_sql_overriding(rel, &e, row.overriding),
            template: insert_sql_overriding(rel, &t, row.overriding),
            params,
        });
        repro.push(insert_sql_overriding(rel, &r, row.overriding));
        Ok(())
    }

    /// Run `sql` (after any pending statements) for its effect.
    async fn exec(
        &mut self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> std::result::Result<(), sqlx::Error> {
        let batch = format!("{}{sql}", self.take_pending());
        self.flushes += 1;
        let outcome = sqlx::raw_sql(&batch).execute(&mut *conn).await.map(|_| ());
        self.settle(outcome.is_ok());
        outcome
    }

    /// After a batch: the `PREPARE`s it carried ran, or may not have.
    fn settle(&mut self, ran: bool) {
        if !ran && self.ahead_planned {
            self.ahead_then_failed = true;
        }
        if ran {
            self.statements.sent();
        } else {
            self.statements.failed();
        }
    }

    /// Whether the predicate `pred` holds now.
    async fn holds(
        &mut self,
        conn: &mut PgConnection,
        b: &Bindings,
        pred: &str,
        at: &At<'_>,
    ) -> std::result::Result<bool, sqlx::Error> {
        let exec = b.render(pred, Mode::Exec).map_err(sqlx::Error::Protocol)?;
        let _ = at;
        let sql = format!("SELECT ({pred}) IS TRUE");
        let send = self.sendable(b, &sql, format!("SELECT ({exec}) IS TRUE"));
        let rows = self.fetch(conn, &send).await?;
        Ok(rows
            .rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            == Some("t"))
    }

    /// Run `sql` (simple protocol) and read every row it returns as text.
    async fn fetch(
        &mut self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> std::result::Result<Rows, sqlx::Error> {
        self.fetch_as(conn, sql, sql).await
    }

    /// [`Player::fetch`] of `send`, whose columns, when no row comes back, are those of the
    /// single statement `inline` (`send` may be an `EXECUTE` of it).
    async fn fetch_as(
        &mut self,
        conn: &mut PgConnection,
        send: &str,
        inline: &str,
    ) -> std::result::Result<Rows, sqlx::Error> {
        let mut groups = self.fetch_groups(conn, send).await?;
        let last = groups.pop().unwrap_or_default();
        self.typed(conn, &last, Some(inline)).await
    }

    /// Run `sql` (after any pending statements) and return each statement's rows.
    async fn fetch_groups(
        &mut self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> std::result::Result<Vec<Vec<sqlx::postgres::PgRow>>, sqlx::Error> {
        use futures_util::TryStreamExt;
        let batch = if self.pending.is_empty() {
            sql.to_string()
        } else {
            format!("{}{sql}", self.take_pending())
        };
        self.flushes += 1;
        let mut groups = Vec::new();
        let mut current = Vec::new();
        let mut stream = sqlx::raw_sql(&batch).fetch_many(&mut *conn);
        let outcome: std::result::Result<(), sqlx::Error> = async {
            while let Some(item) = stream.try_next().await? {
                match item {
                    sqlx::Either::Left(_) => groups.push(std::mem::take(&mut current)),
                    sqlx::Either::Right(row) => current.push(row),
                }
            }
            Ok(())
        }
        .await;
        drop(stream);
        self.settle(outcome.is_ok());
        outcome?;
        if !current.is_empty() {
            groups.push(current);
        }
        Ok(groups)
    }

    /// Rows read as text with their types; `describe` is the statement to ask for the
    /// columns when no row came back.
    async fn typed(
        &mut self,
        conn: &mut PgConnection,
        last: &[sqlx::postgres::PgRow],
        describe: Option<&str>,
    ) -> std::result::Result<Rows, sqlx::Error> {
        let sql = describe.unwrap_or("");
        let types = &self.types;
        let mut missing: Vec<u32> = Vec::new();
        let mut read = Rows::read(last, &|oid, name| {
            let name = name.to_ascii_lowercase();
            if !name.is_empty() && !name.starts_with('?') {
                return name;
            }
            types
                .get(&oid)
                .cloned()
                .unwrap_or_else(|| format!("?{oid}"))
        });
        if read.columns.is_empty() && describe.is_some() {
            // No row came back: ask PostgreSQL for the columns the statement would return,
            // so that `result` still has them (empty).
            if let Ok(described) = sqlx::Executor::describe(&mut *conn, sql).await {
                read.columns = described
                    .columns()
                    .iter()
                    .map(|c| {
                        let info = sqlx::Column::type_info(c);
                        let oid = info.oid().map(|o| o.0).unwrap_or(0);
                        let name = sqlx::TypeInfo::name(info).to_ascii_lowercase();
                        let name = if name.is_empty() || name.starts_with('?') {
                            types
                                .get(&oid)
                                .cloned()
                                .unwrap_or_else(|| format!("?{oid}"))
                        } else {
                            name
                        };
                        (sqlx::Column::name(c).to_string(), name)
                    })
                    .collect();
            }
        }
        for (_, t) in &read.columns {
            if let Some(oid) = t.strip_prefix('?').and_then(|o| o.parse().ok()) {
                missing.push(oid);
            }
        }
        if !missing.is_empty() {
            let oids: Vec<i64> = missing.iter().map(|o| i64::from(*o)).collect();
            let named: Vec<(i64, String)> = sqlx::query_as(
                "SELECT oid::int8, format_type(oid, NULL) FROM pg_type WHERE oid = ANY($1::oid[])",
            )
            .bind(&oids)
            .fetch_all(&mut *conn)
            .await?;
            for (oid, name) in named {
                self.types.insert(oid as u32, name);
            }
            for (_, t) in read.columns.iter_mut() {
                if let Some(oid) = t.strip_prefix('?').and_then(|o| o.parse::<u32>().ok()) {
                    *t = self
                        .types
                        .get(&oid)
                        .cloned()
                        .unwrap_or_else(|| "text".into());
                }
            }
        }
        Ok(read)
    }
}

/// The binding of an inserted row. How the reproduction reads a stored value: the value it
/// gave itself, or a lookup by the explicit key.
fn bind_row(
    b: &Bindings,
    row: &RowDraw,
    explicit_key: &[String],
    stored: &Rows,
    at: &At<'_>,
) -> Bound {
    let mut given: HashMap<String, String> = HashMap::new();
    if at.rec {
        for (col, d) in &row.columns {
            if let Ok(v) = drawn_sql(b, d, Mode::Repro, at) {
                given.insert(col.clone(), v);
            }
        }
    }
    let key: Vec<String> = explicit_key
        .iter()
        .filter_map(|k| given.get(k).map(|v| format!("{} = {v}", quote_ident(k))))
        .collect();
    let table = row.table.clone();
    let bound = stored.first_row(&|c| match given.get(c) {
        Some(v) => v.clone(),
        None if !key.is_empty() && key.len() == explicit_key.len() => format!(
            "(SELECT {} FROM {} WHERE {})",
            quote_ident(c),
            crate::probe::key_sql(&table),
            key.join(" AND ")
        ),
        None => String::new(),
    });
    fill_repro(bound)
}

/// One insert of a drawn row, written inline and as a prepared statement's template.
struct Insert {
    inline: String,
    template: String,
    params: Params,
}

/// Whether a drawn value's SQL reads the placeholder `name`.
fn drawn_uses(d: &Drawn, name: &str) -> bool {
    match d {
        Drawn::Sql(s) => crate::spec::placeholders::placeholders(s)
            .iter()
            .any(|(n, _)| n == name),
        Drawn::Row(r) => {
            r.columns.iter().any(|(_, v)| drawn_uses(v, name))
                || r.parents
                    .iter()
                    .any(|p| drawn_uses(&Drawn::Row(p.clone()), name))
        }
        Drawn::Lit { .. } | Drawn::Pick(_) => false,
    }
}

/// The query that reads a pick's candidate rows.
fn pick_query(exec: &str) -> String {
    format!("SELECT * FROM ({exec}) AS rv_pick LIMIT 1000")
}

/// A scalar binding for a drawn literal or SQL expression.
fn scalar(b: &Bindings, d: &Drawn, at: &At<'_>) -> Step<Bound> {
    Ok(match d {
        Drawn::Lit { sql, shown } => Bound::Scalar(Val::same(sql.clone(), shown.clone())),
        Drawn::Sql(s) => {
            let (exec, repro) = render(b, s, at)?;
            Bound::Scalar(Val {
                shown: exec.clone(),
                exec: format!("({exec})"),
                repro: format!("({repro})"),
            })
        }
        other => Bound::Scalar(Val::same("NULL".into(), other.shown())),
    })
}

fn bound_shown(b: &Bound) -> String {
    match b {
        Bound::Scalar(v) => v.shown.clone(),
        Bound::Row(cols) => cols
            .first()
            .map(|(c, v)| format!("{c} {}", v.shown))
            .unwrap_or_default(),
    }
}

/// A value whose reproduction spelling is unknown is spelled as the literal it was.
fn fill_repro(mut bound: Bound) -> Bound {
    if let Bound::Row(cols) = &mut bound {
        for (_, v) in cols.iter_mut() {
            if v.repro.is_empty() {
                v.repro = v.exec.clone();
            }
        }
    }
    bound
}

fn drawn_sql(b: &Bindings, d: &Drawn, mode: Mode, at: &At<'_>) -> Step<String> {
    Ok(match d {
        Drawn::Lit { sql, .. } => sql.clone(),
        Drawn::Sql(s) => {
            let (exec, repro) = render(b, s, at)?;
            match mode {
                Mode::Exec => exec,
                Mode::Repro => repro,
            }
        }
        other => other.shown(),
    })
}

/// Render `sql` in both spellings; a placeholder that is not bound is the property's fault.
fn render(b: &Bindings, sql: &str, at: &At<'_>) -> Step<(String, String)> {
    let exec = b.render(sql, Mode::Exec).map_err(|m| {
        at.fail(
            "rendering the SQL".into(),
            "every placeholder bound".into(),
            m,
        )
    })?;
    let repro = if at.rec {
        b.render(sql, Mode::Repro).map_err(|m| {
            at.fail(
                "rendering the SQL".into(),
                "every placeholder bound".into(),
                m,
            )
        })?
    } else {
        String::new()
    };
    Ok((exec, repro))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_keyword_skips_comments_and_parentheses() {
        assert_eq!(first_keyword("-- x\n (SELECT 1)"), "SELECT");
        assert_eq!(first_keyword("insert into t values (1)"), "INSERT");
        assert_eq!(strip(" SELECT 1; "), "SELECT 1");
    }
}
