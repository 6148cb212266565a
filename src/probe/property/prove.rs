//! Proving one property: its examples, then its edge sweeps, then `--cases` random
//! sequences; the first failure is shrunk to a minimal sequence and reported with the SQL
//! that reproduces it.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use sqlx::PgConnection;

use super::draw::integral;
use super::plan::{Case, GenPlan, Plan, Target};
use super::play::{Failure, Outcome, Played, Player};
use super::prepared::Statements;
use crate::catalog::Schema;
use crate::error::Result;
use crate::probe::session::missing_privileges;
use crate::probe::{probe_finding, rng_for, ProbeConfig};
use crate::verify::{Finding, Status};

/// At most this many replays are spent shrinking one failure.
const MAX_SHRINK_REPLAYS: u32 = 512;

/// How the failing sequence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Example,
    Edge,
    Random,
}

struct Counterexample {
    case: Case,
    played: Played,
    origin: Origin,
    original_steps: usize,
    replays: u32,
}

#[derive(Default)]
struct Tally {
    sequences: u32,
    steps: usize,
    calls: Vec<u32>,
}

impl Tally {
    fn add(&mut self, played: &Played) {
        self.sequences += 1;
        self.steps += played.labels.len();
        if self.calls.len() < played.calls.len() {
            self.calls.resize(played.calls.len(), 0);
        }
        for (t, n) in self.calls.iter_mut().zip(&played.calls) {
            *t += n;
        }
    }
}

/// Prove `plan`, inside the caller's transaction; one finding per target. The statements it
/// prepares are left in `statements`, for the caller to release after its rollback.
pub async fn prove(
    conn: &mut PgConnection,
    plan: &Plan<'_>,
    schema: &Schema,
    config: &ProbeConfig,
    statements: &mut Statements,
) -> Result<Vec<Finding>> {
    if let Some(blocked) = missing_privileges(conn, &plan.needs).await? {
        return Ok(skipped(plan, &blocked.0));
    }
    // A privilege missed up front and refused while running: the skip names the role.
    let role = crate::probe::session::current_role(conn).await?;
    let named = |m: &str| m.replacen("the role lacks", &format!("the role {role} lacks"), 1);
    let mut player = Player::new(plan, schema, statements);
    if let Err(e) = player.create_model(conn).await {
        if let crate::error::Error::Database { .. } = &e {
            return Ok(skipped(plan, &format!("not run: {e}")));
        }
        return Err(e);
    }
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        rng_for(config.seed, &format!("property:{}", plan.object())),
    );
    let mut tally = Tally::default();
    let fixed: Vec<(Origin, Case)> = plan
        .examples(&mut runner)
        .into_iter()
        .map(|c| (Origin::Example, c))
        .chain(
            plan.edge_cases(&mut runner)
                .into_iter()
                .map(|c| (Origin::Edge, c)),
        )
        .collect();
    for (origin, case) in fixed {
        let played = player.play(conn, &case).await?;
        match &played.outcome {
            Outcome::Blocked(b) => return Ok(skipped(plan, &named(&b.0))),
            Outcome::Failed(_) => {
                let cex = shrink_by_removal(conn, plan, &mut player, case, played, origin).await?;
                let cex = record(conn, &mut player, cex).await?;
                return Ok(failed(plan, config, &cex));
            }
            Outcome::Held => tally.add(&played),
        }
    }
    if let Some(strategy) = plan.strategy() {
        for _ in 0..config.cases {
            let mut tree = match strategy.new_tree(&mut runner) {
                Ok(t) => t,
                Err(reason) => {
                    return Ok(skipped(
                        plan,
                        &format!("not run: the sequence generator failed: {reason}"),
                    ))
                }
            };
            let played = player.play(conn, &tree.current()).await?;
            match &played.outcome {
                Outcome::Blocked(b) => return Ok(skipped(plan, &named(&b.0))),
                Outcome::Failed(_) => {
                    let cex = shrink_tree(conn, &mut player, &mut tree, played).await?;
                    let cex = record(conn, &mut player, cex).await?;
                    return Ok(failed(plan, config, &cex));
                }
                Outcome::Held => tally.add(&played),
            }
        }
    }
    Ok(passed(plan, config, &tally))
}

/// Replay the minimal sequence once more, writing its reproduction this time.
async fn record(
    conn: &mut PgConnection,
    player: &mut Player<'_, '_>,
    mut cex: Counterexample,
) -> Result<Counterexample> {
    player.recording = true;
    let replay = player.play(conn, &cex.case).await;
    player.recording = false;
    let replay = replay?;
    if same_failure(&replay, &cex.played) {
        cex.played = replay;
    }
    Ok(cex)
}

fn same_failure(candidate: &Played, original: &Played) -> bool {
    match (candidate.failure(), original.failure()) {
        (Some(c), Some(o)) => c.target == o.target,
        _ => false,
    }
}

async fn shrink_tree<T: ValueTree<Value = Case>>(
    conn: &mut PgConnection,
    player: &mut Player<'_, '_>,
    tree: &mut T,
    played: Played,
) -> Result<Counterexample> {
    let mut best = Counterexample {
        case: tree.current(),
        original_steps: played.labels.len(),
        played,
        origin: Origin::Random,
        replays: 0,
    };
    if !tree.simplify() {
        return Ok(best);
    }
    while best.replays < MAX_SHRINK_REPLAYS {
        best.replays += 1;
        let current = tree.current();
        let candidate = player.play(conn, &current).await?;
        let progressed = if same_failure(&candidate, &best.played) {
            best.played = candidate;
            best.case = current;
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

/// Shrink a fixed sequence: drop steps, move whole-number arguments toward zero, then lower
/// repeat counts, while it fails the same way.
async fn shrink_by_removal(
    conn: &mut PgConnection,
    plan: &Plan<'_>,
    player: &mut Player<'_, '_>,
    mut case: Case,
    played: Played,
    origin: Origin,
) -> Result<Counterexample> {
    let mut best = Counterexample {
        case: case.clone(),
        original_steps: played.labels.len(),
        played,
        origin,
        replays: 0,
    };
    let mut i = 0;
    while i < case.steps.len() && best.replays < MAX_SHRINK_REPLAYS {
        let mut candidate = case.clone();
        candidate.steps.remove(i);
        best.replays += 1;
        let replay = player.play(conn, &candidate).await?;
        if same_failure(&replay, &best.played) {
            best.played = replay;
            case = candidate;
        } else {
            i += 1;
        }
    }
    // Whole-number arguments move toward zero (or their range's nearest end) while the
    // sequence still fails the same way: a binary search per argument.
    for i in 0..case.steps.len() {
        let action = &plan.actions[case.steps[i].action];
        for a in 0..case.steps[i].args.len() {
            let GenPlan::Scalar(gen) = &action.args[a].1 else {
                continue;
            };
            let Some((min, max, current, make)) = integral(gen, &case.steps[i].args[a]) else {
                continue;
            };
            let origin = 0i64.clamp(min, max);
            let (mut good, mut bad) = (origin, current);
            if good == bad {
                continue;
            }
            // Is the origin itself failing?
            let mut candidate = case.clone();
            candidate.steps[i].args[a] = make(origin);
            best.replays += 1;
            let replay = player.play(conn, &candidate).await?;
            if same_failure(&replay, &best.played) {
                best.played = replay;
                case = candidate;
                continue;
            }
            while (bad - good).abs() > 1 && best.replays < MAX_SHRINK_REPLAYS {
                let mid = good + (bad - good) / 2;
                let mut candidate = case.clone();
                candidate.steps[i].args[a] = make(mid);
                best.replays += 1;
                let replay = player.play(conn, &candidate).await?;
                if same_failure(&replay, &best.played) {
                    best.played = replay;
                    case = candidate;
                    bad = mid;
                } else {
                    good = mid;
                }
            }
        }
    }
    for i in 0..case.steps.len() {
        while case.steps[i].repeat > 1 && best.replays < MAX_SHRINK_REPLAYS {
            let mut candidate = case.clone();
            candidate.steps[i].repeat -= 1;
            best.replays += 1;
            let replay = player.play(conn, &candidate).await?;
            if same_failure(&replay, &best.played) {
                best.played = replay;
                case = candidate;
            } else {
                break;
            }
        }
    }
    best.case = case;
    Ok(best)
}

fn finding(plan: &Plan, target: &Target, status: Status, message: String) -> Finding {
    let mut f = probe_finding(
        target.code,
        &target.table,
        target.object.clone(),
        status,
        message,
    );
    f.location = Some(plan.loaded.location(&["properties", &plan.name]));
    f.requirements = if plan.prop.requirements.is_empty() {
        plan.loaded.spec.requirements.clone()
    } else {
        plan.prop.requirements.clone()
    };
    f
}

fn claim(plan: &Plan) -> String {
    plan.prop
        .description
        .as_deref()
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "its expectations".to_string())
}

/// Every target skipped, for `reason`.
pub fn skipped(plan: &Plan, reason: &str) -> Vec<Finding> {
    plan.targets
        .iter()
        .map(|t| {
            let message = if t.object == plan.object() {
                reason.to_string()
            } else {
                format!("{reason} (property {})", plan.object())
            };
            finding(plan, t, Status::Skip, message)
        })
        .collect()
}

fn passed(plan: &Plan, config: &ProbeConfig, tally: &Tally) -> Vec<Finding> {
    plan.targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let calls = tally.calls.get(i).copied().unwrap_or(0);
            let message = if i == 0 {
                format!(
                    "{}: \"{}\" held over {} sequences ({} steps; seed {}).",
                    t.object,
                    claim(plan),
                    tally.sequences,
                    tally.steps,
                    config.seed
                )
            } else {
                format!(
                    "{}: held over {} sequences of property {} ({} statements on this object; seed {}).",
                    t.object,
                    tally.sequences,
                    plan.object(),
                    calls,
                    config.seed
                )
            };
            finding(plan, t, Status::Pass, message)
        })
        .collect()
}

fn numbered(labels: &[String], upto: usize) -> String {
    labels
        .iter()
        .take(upto)
        .enumerate()
        .map(|(i, l)| format!("{}) {l}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}

fn failed(plan: &Plan, config: &ProbeConfig, cex: &Counterexample) -> Vec<Finding> {
    let Some(failure) = cex.played.failure() else {
        return Vec::new();
    };
    let broken = &plan.targets[failure.target];
    plan.targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == failure.target {
                failure_finding(plan, config, cex, failure, t)
            } else {
                finding(
                    plan,
                    t,
                    Status::Skip,
                    format!(
                        "{}: not proven, because property {} failed first on {}.",
                        t.object,
                        plan.object(),
                        broken.object
                    ),
                )
            }
        })
        .collect()
}

fn failure_finding(
    plan: &Plan,
    config: &ProbeConfig,
    cex: &Counterexample,
    failure: &Failure,
    target: &Target,
) -> Finding {
    let origin = match cex.origin {
        Origin::Example => "an example",
        Origin::Edge => "an edge sweep",
        Origin::Random => "a random sequence",
    };
    let place = if failure.step == 0 {
        "in the set-up".to_string()
    } else {
        format!("at step {}", failure.step)
    };
    let sequence = if cex.played.labels.is_empty() {
        "[]".to_string()
    } else {
        format!("[{}]", numbered(&cex.played.labels, failure.step.max(1)))
    };
    let message = format!(
        "{} broke property {} {place} ({}) of the minimal sequence {sequence}: \
         expected {}, got {}. (Seed {}: {origin}, shrunk from {} to {} steps in {} replays.)",
        target.object,
        plan.object(),
        failure.what,
        failure.expected,
        failure.actual,
        config.seed,
        cex.original_steps,
        failure.step,
        cex.replays
    );
    let mut f = finding(plan, target, Status::Fail, message);
    let mut path: Vec<&str> = vec!["properties", &plan.name];
    path.extend(failure.path.iter().map(String::as_str));
    f.location = Some(plan.loaded.location(&path));
    f.expected = Some(failure.expected.as_str().into());
    f.actual = Some(failure.actual.as_str().into());
    f.hint = Some(format!(
        "Compare {} with what the spec's property states (from the source of truth). The SQL \
         below replays the minimal sequence by hand and ends on the check that fails; \
         `--seed {}` replays the run.",
        target.object, config.seed
    ));
    f.repro = Some(repro_sql(plan, config, cex, failure));
    f
}

fn repro_sql(plan: &Plan, config: &ProbeConfig, cex: &Counterexample, failure: &Failure) -> String {
    let mut out = vec![
        format!(
            "-- Reproduces property {} ({}), seed {}: {} fails {}.",
            plan.object(),
            plan.loaded.path.display(),
            config.seed,
            plan.targets[failure.target].object,
            if failure.step == 0 {
                "in the set-up".to_string()
            } else {
                format!("at step {}", failure.step)
            }
        ),
        "-- Run it with psql on a migrated database; it rolls itself back.".to_string(),
        "BEGIN;".to_string(),
        "SET LOCAL TimeZone = 'UTC';".to_string(),
    ];
    out.extend(cex.played.repro.iter().cloned());
    out.push("ROLLBACK;".to_string());
    out.join("\n")
}
