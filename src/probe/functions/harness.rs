//! The machinery shared by every function property: play an operation sequence in a
//! savepoint, compare it with the model, shrink a failing sequence to a minimal one, and
//! turn the outcome into findings.
//!
//! A property is a [`Machine`]: a model plus a way to play a sequence of its operations
//! against the database. [`prove`] plays the machine's fixed sequences (boundaries that
//! must always be tried), then `config.cases` random sequences drawn from a proptest
//! strategy with the property's own deterministic RNG. The first sequence that breaks the
//! model is shrunk with proptest's `ValueTree` (`simplify` / `complicate`), each candidate
//! replayed in a fresh savepoint; a candidate only counts as failing when it breaks the
//! same object, so the report names the object the original failure named.

use std::future::Future;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use sqlx::PgConnection;

use crate::error::{describe_sqlx_error, Error, Result};
use crate::probe::session::{blocked_by, missing_privileges, Blocked, Needs};
use crate::probe::{probe_finding, rng_for, ProbeConfig};
use crate::verify::{Finding, Status};

/// Open, undo and release the savepoint that isolates one sequence.
const OPEN_SEQUENCE: &str = "SAVEPOINT reims_verify_property";
const UNDO_SEQUENCE: &str = "ROLLBACK TO SAVEPOINT reims_verify_property";
const RELEASE_SEQUENCE: &str = "RELEASE SAVEPOINT reims_verify_property";
/// The models count a day as 24 hours; in UTC, `now - interval 'N days'` agrees with them
/// whatever the server's time zone. Undone with the sequence's savepoint.
const UTC: &str = "SET LOCAL TimeZone = 'UTC'";
/// Open, undo and release the savepoint that isolates one step whose error is part of the
/// property.
const OPEN_STEP: &str = "SAVEPOINT reims_verify_step";
const UNDO_STEP: &str = "ROLLBACK TO SAVEPOINT reims_verify_step";
const RELEASE_STEP: &str = "RELEASE SAVEPOINT reims_verify_step";
/// At most this many replays are spent shrinking one failure.
const MAX_SHRINK_REPLAYS: u32 = 512;

/// One object a property proves, and how its finding is worded.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `function.property` or `trigger.property`.
    pub code: &'static str,
    /// The table the object belongs to.
    pub table: &'static str,
    /// The function signature, trigger (`table.trigger`) or property name.
    pub object: String,
    /// What holding means, as a sentence fragment: "a fifth failure locks the account …".
    pub claim: &'static str,
    /// Where to look when it fails.
    pub hint: &'static str,
}

/// The model and the database disagreed (or the database raised an error that is not part
/// of the property).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// Index into the machine's targets of the object that broke.
    pub target: usize,
    /// 1-based step of the sequence.
    pub step: usize,
    /// What was being checked at that step.
    pub what: String,
    /// What the model expected.
    pub expected: String,
    /// What the database did.
    pub actual: String,
    /// Set when the step could not run here (no privilege, read-only, a lock not granted):
    /// the property is skipped with this reason instead of failing.
    pub blocked: Option<Blocked>,
}

/// The record of one played sequence.
#[derive(Debug, Clone, Default)]
pub(crate) struct Played {
    /// A label per step played, with the model's names (`u0`, `s1`) resolved.
    pub labels: Vec<String>,
    /// Calls per target (index into the machine's targets).
    pub calls: Vec<u32>,
    /// The first disagreement, if any.
    pub failure: Option<Failure>,
}

impl Played {
    /// An empty record for a machine with `targets` objects.
    pub fn new(targets: usize) -> Self {
        Played {
            labels: Vec::new(),
            calls: vec![0; targets],
            failure: None,
        }
    }

    /// Start the next step, labelled `label`; returns its 1-based number.
    pub fn step(&mut self, label: String) -> usize {
        self.labels.push(label);
        self.labels.len()
    }

    /// Count one call of target `target`.
    pub fn call(&mut self, target: usize) {
        if let Some(n) = self.calls.get_mut(target) {
            *n += 1;
        }
    }

    /// Record the failure of the current step.
    pub fn record(&mut self, mismatch: Mismatch) {
        self.failure = Some(Failure {
            target: mismatch.target,
            step: self.labels.len(),
            what: mismatch.what,
            expected: mismatch.expected,
            actual: mismatch.actual,
            blocked: mismatch.blocked,
        });
    }
}

/// How one step disagreed with the model; the harness adds the step number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mismatch {
    /// Index into the machine's targets of the object that broke.
    pub target: usize,
    /// What was being checked.
    pub what: String,
    /// What the model expected.
    pub expected: String,
    /// What the database did.
    pub actual: String,
    /// Why the step could not run here, when that is what the error says.
    pub blocked: Option<Blocked>,
}

impl Mismatch {
    /// The model expected `expected` and the database did `actual`.
    pub fn new(target: usize, what: &str, expected: String, actual: String) -> Self {
        Mismatch {
            target,
            what: what.to_string(),
            expected,
            actual,
            blocked: None,
        }
    }

    /// The database raised an error the property does not expect; keeps its SQLSTATE. An
    /// error that says the step could not run here (see `session::blocked_by`) is marked so.
    pub fn db(target: usize, what: &str, expected: &str, err: &sqlx::Error) -> Self {
        Mismatch {
            blocked: blocked_by(err),
            ..Mismatch::new(
                target,
                what,
                expected.to_string(),
                format!("error: {}", describe_sqlx_error(err)),
            )
        }
    }
}

/// The outcome of one step.
pub(crate) type Step = std::result::Result<(), Mismatch>;

/// A property: a model, and a way to play a sequence of its operations on the database
/// (inside a savepoint the harness owns) and compare each step with the model.
pub(crate) trait Machine {
    /// One operation of a sequence.
    type Op: Clone + std::fmt::Debug;

    /// The property's name: the RNG stream and the headline of its messages.
    fn name(&self) -> &str;

    /// The objects the property proves; failures name one by index.
    fn targets(&self) -> &[Target];

    /// Sequences always played before the random ones (boundaries, one of each role …).
    fn fixed(&self) -> Vec<Vec<Self::Op>>;

    /// The privileges the property needs, checked before any sequence runs.
    fn needs(&self) -> Needs;

    /// Play `ops` from a clean state and compare every step with the model. Database
    /// errors that are not part of the property become failures; this never fails itself.
    fn play(
        &self,
        conn: &mut PgConnection,
        ops: &[Self::Op],
    ) -> impl Future<Output = Played> + Send;
}

pub(crate) use crate::probe::session::sqlstate;

/// Open a savepoint around one step whose error is part of the property (an expected
/// refusal), so that the error does not abort the rest of the sequence.
pub(crate) async fn open_step(conn: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(OPEN_STEP).execute(&mut *conn).await.map(|_| ())
}

/// Close the step savepoint: keep the step's effects when it succeeded, undo them when it
/// raised.
pub(crate) async fn close_step(
    conn: &mut PgConnection,
    succeeded: bool,
) -> std::result::Result<(), sqlx::Error> {
    if !succeeded {
        sqlx::query(UNDO_STEP).execute(&mut *conn).await?;
    }
    sqlx::query(RELEASE_STEP)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Run harness SQL (savepoints); an error here is an error of the run.
async fn exec(conn: &mut PgConnection, sql: &'static str) -> Result<()> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| Error::database(format!("running `{sql}` for a function property"), &e))
}

/// Play one sequence in a fresh savepoint that is rolled back afterwards.
async fn play_isolated<M: Machine>(
    conn: &mut PgConnection,
    machine: &M,
    ops: &[M::Op],
) -> Result<Played> {
    exec(conn, OPEN_SEQUENCE).await?;
    exec(conn, UTC).await?;
    let played = machine.play(conn, ops).await;
    exec(conn, UNDO_SEQUENCE).await?;
    exec(conn, RELEASE_SEQUENCE).await?;
    Ok(played)
}

/// A failing sequence, as small as shrinking could make it.
struct Counterexample {
    played: Played,
    /// True when a fixed (boundary) sequence failed, false for a random one.
    fixed: bool,
    original_steps: usize,
    replays: u32,
}

impl Counterexample {
    /// How the sequence was found and shrunk, for the message.
    fn provenance(&self, steps: usize) -> String {
        let kind = if self.fixed {
            "fixed boundary"
        } else {
            "random"
        };
        format!(
            "a {kind} sequence, shrunk from {} to {steps} steps in {} replays",
            self.original_steps, self.replays
        )
    }
}

/// The totals of a property that held.
struct Tally {
    sequences: u32,
    steps: usize,
    calls: Vec<u32>,
}

impl Tally {
    fn add(&mut self, played: &Played) {
        self.sequences += 1;
        self.steps += played.labels.len();
        for (total, n) in self.calls.iter_mut().zip(&played.calls) {
            *total += n;
        }
    }
}

/// Prove `machine`: its fixed sequences, then `config.cases` random sequences from
/// `strategy`. Returns one finding per target: all pass, or one fails (with the minimal
/// sequence) and the rest are skipped as unproven.
pub(crate) async fn prove<M, S>(
    conn: &mut PgConnection,
    config: &ProbeConfig,
    machine: &M,
    strategy: S,
) -> Result<Vec<Finding>>
where
    M: Machine,
    S: Strategy<Value = Vec<M::Op>>,
{
    let mut tally = Tally {
        sequences: 0,
        steps: 0,
        calls: vec![0; machine.targets().len()],
    };
    if let Some(blocked) = missing_privileges(conn, &machine.needs()).await? {
        return Ok(skipped(machine, &blocked));
    }
    for ops in machine.fixed() {
        let played = play_isolated(conn, machine, &ops).await?;
        if let Some(blocked) = played.failure.as_ref().and_then(|f| f.blocked.as_ref()) {
            return Ok(skipped(machine, blocked));
        }
        if played.failure.is_some() {
            let cex = shrink_by_removal(conn, machine, ops, played).await?;
            return Ok(failed(machine, config, &cex));
        }
        tally.add(&played);
    }
    let mut runner =
        TestRunner::new_with_rng(Config::default(), rng_for(config.seed, machine.name()));
    for _ in 0..config.cases {
        let mut tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(reason) => return Ok(not_generated(machine, &reason.to_string())),
        };
        let played = play_isolated(conn, machine, &tree.current()).await?;
        if let Some(blocked) = played.failure.as_ref().and_then(|f| f.blocked.as_ref()) {
            return Ok(skipped(machine, blocked));
        }
        if played.failure.is_some() {
            let cex = shrink_tree(conn, machine, &mut tree, played).await?;
            return Ok(failed(machine, config, &cex));
        }
        tally.add(&played);
    }
    Ok(passed(machine, config, &tally))
}

/// True when `candidate` fails on the same object as `original`.
fn same_failure(candidate: &Played, original: &Played) -> bool {
    match (&candidate.failure, &original.failure) {
        (Some(c), Some(o)) => c.target == o.target,
        _ => false,
    }
}

/// Shrink a random sequence with proptest's value tree: simplify while it still fails the
/// same way, complicate when a simplification passed.
async fn shrink_tree<M, T>(
    conn: &mut PgConnection,
    machine: &M,
    tree: &mut T,
    played: Played,
) -> Result<Counterexample>
where
    M: Machine,
    T: ValueTree<Value = Vec<M::Op>>,
{
    let mut best = Counterexample {
        original_steps: played.labels.len(),
        played,
        fixed: false,
        replays: 0,
    };
    if !tree.simplify() {
        return Ok(best);
    }
    while best.replays < MAX_SHRINK_REPLAYS {
        best.replays += 1;
        let candidate = play_isolated(conn, machine, &tree.current()).await?;
        let progressed = if same_failure(&candidate, &best.played) {
            best.played = candidate;
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !progressed {
            break;
        }
    }
    Ok(best)
}

/// Shrink a fixed sequence by dropping one operation at a time while it still fails the
/// same way.
async fn shrink_by_removal<M: Machine>(
    conn: &mut PgConnection,
    machine: &M,
    mut ops: Vec<M::Op>,
    played: Played,
) -> Result<Counterexample> {
    let mut best = Counterexample {
        original_steps: played.labels.len(),
        played,
        fixed: true,
        replays: 0,
    };
    // Steps after the failing one never ran: drop them first.
    ops.truncate(best.played.labels.len());
    let mut i = 0;
    while i < ops.len() && ops.len() > 1 && best.replays < MAX_SHRINK_REPLAYS {
        let mut candidate_ops = ops.clone();
        candidate_ops.remove(i);
        best.replays += 1;
        let candidate = play_isolated(conn, machine, &candidate_ops).await?;
        if same_failure(&candidate, &best.played) {
            best.played = candidate;
            ops = candidate_ops;
        } else {
            i += 1;
        }
    }
    Ok(best)
}

/// The numbered step labels of a sequence, up to and including `upto`.
pub(crate) fn render_sequence(labels: &[String], upto: usize) -> String {
    labels
        .iter()
        .take(upto)
        .enumerate()
        .map(|(i, l)| format!("{}) {l}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}

/// All targets pass.
fn passed<M: Machine>(machine: &M, config: &ProbeConfig, tally: &Tally) -> Vec<Finding> {
    machine
        .targets()
        .iter()
        .zip(&tally.calls)
        .map(|(t, calls)| {
            let message = format!(
                "{}: \"{}\" held over {} operation sequences ({} steps, {} calls on this \
                 object; property {}, seed {}).",
                t.object,
                t.claim,
                tally.sequences,
                tally.steps,
                calls,
                machine.name(),
                config.seed
            );
            probe_finding(t.code, t.table, t.object.clone(), Status::Pass, message)
        })
        .collect()
}

/// The failing target fails with the minimal sequence; the others are skipped as unproven.
fn failed<M: Machine>(machine: &M, config: &ProbeConfig, cex: &Counterexample) -> Vec<Finding> {
    let Some(failure) = &cex.played.failure else {
        return Vec::new();
    };
    let targets = machine.targets();
    let broken = &targets[failure.target];
    targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == failure.target {
                failure_finding(machine, config, cex, failure, t)
            } else {
                let message = format!(
                    "{}: not proven, because property {} failed first on {}.",
                    t.object,
                    machine.name(),
                    broken.object
                );
                probe_finding(t.code, t.table, t.object.clone(), Status::Skip, message)
            }
        })
        .collect()
}

/// The finding of the object that broke.
fn failure_finding<M: Machine>(
    machine: &M,
    config: &ProbeConfig,
    cex: &Counterexample,
    failure: &Failure,
    target: &Target,
) -> Finding {
    let message = format!(
        "{} broke the rule \"{}\" at step {} ({}) of the minimal sequence [{}]: expected \
         {}, got {}. (Property {}, seed {}: {}.)",
        target.object,
        target.claim,
        failure.step,
        failure.what,
        render_sequence(&cex.played.labels, failure.step),
        failure.expected,
        failure.actual,
        machine.name(),
        config.seed,
        cex.provenance(failure.step)
    );
    let mut finding = probe_finding(
        target.code,
        target.table,
        target.object.clone(),
        Status::Fail,
        message,
    );
    finding.expected = Some(failure.expected.clone());
    finding.actual = Some(failure.actual.clone());
    finding.hint = Some(format!(
        "{} Replay with the same seed ({}) to get the same sequence.",
        target.hint, config.seed
    ));
    finding
}

/// Every target skipped: the property could not run here, for `blocked`'s reason.
fn skipped<M: Machine>(machine: &M, blocked: &Blocked) -> Vec<Finding> {
    machine
        .targets()
        .iter()
        .map(|t| {
            let message = format!("{}: {} (property {}).", t.object, blocked, machine.name());
            probe_finding(t.code, t.table, t.object.clone(), Status::Skip, message)
        })
        .collect()
}

/// The strategy could not produce a value (it never filters, so this is a bug report).
fn not_generated<M: Machine>(machine: &M, reason: &str) -> Vec<Finding> {
    machine
        .targets()
        .iter()
        .map(|t| {
            let message = format!(
                "{}: not proven, the operation generator of property {} failed: {reason}",
                t.object,
                machine.name()
            );
            probe_finding(t.code, t.table, t.object.clone(), Status::Skip, message)
        })
        .collect()
}

/// A time offset from `CURRENT_TIMESTAMP`, in seconds, for messages: `now`, `now+30m`,
/// `now-2d3h`.
pub(crate) fn rel(seconds: i64) -> String {
    if seconds == 0 {
        return "now".to_string();
    }
    let sign = if seconds > 0 { '+' } else { '-' };
    let mut rest = seconds.unsigned_abs();
    let mut out = format!("now{sign}");
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// An optional relative time, `-` when absent.
pub(crate) fn rel_opt(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "-".to_string(), rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_well() {
        assert_eq!(rel(0), "now");
        assert_eq!(rel(1800), "now+30m");
        assert_eq!(rel(-(2 * 86_400 + 3 * 3_600)), "now-2d3h");
        assert_eq!(rel(61), "now+1m1s");
        assert_eq!(rel_opt(None), "-");
    }

    #[test]
    fn sequences_are_numbered_up_to_the_failing_step() {
        let labels = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(render_sequence(&labels, 2), "1) a; 2) b");
    }
}
