//! Behaviour: prove that objects do what the specs say, not only that they exist.
//!
//! Two kinds of probe run inside transactions that are always rolled back, so they leave
//! nothing behind:
//! - constraint probes (`constraints`): values on both sides of every CHECK rule's
//!   boundaries plus random ones, each inserted in its own subtransaction, and PostgreSQL's
//!   verdict compared with the rule's;
//! - properties (`property`): the function and trigger behaviour that the specs declare,
//!   played as generated action sequences, each property in its own transaction.

pub mod batch;
pub mod constraints;
pub mod parts;
pub mod property;
pub mod rows;
pub mod sample_batch;
pub mod sequences;
pub mod session;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use sqlx::PgConnection;

use crate::catalog::Schema;
use crate::error::Result;
use crate::spec::SpecSet;
use crate::verify::{Finding, Status};

pub use parts::{constraint_part, constraint_parts, constraint_probes, ConstraintPart};

/// A row as column → SQL expression (already quoted), without casts: what the sample rows,
/// the cases and the sequences' values are built as.
pub type Row = indexmap::IndexMap<String, String>;

/// The check code of a property's own finding (its objects use `function.property` and
/// `trigger.property`).
pub const PROPERTY_CODE: &str = "probe.property";

/// How much probing to do and how to replay it.
#[derive(Debug, Clone, Copy)]
pub struct ProbeConfig {
    /// Random cases per CHECK rule and random operation sequences per function property
    /// (boundary cases come on top).
    pub cases: u32,
    /// Seed of every random choice; the same seed replays the same run.
    pub seed: u64,
}

impl ProbeConfig {
    /// A seed from the clock, for runs that do not pass `--seed`.
    pub fn fresh_seed() -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (std::process::id() as u64).rotate_left(32)
    }
}

/// A deterministic random-number generator for one probe, derived from the run's seed and
/// the probe's name so that adding a probe does not change the others' cases.
pub fn rng_for(seed: u64, name: &str) -> proptest::test_runner::TestRng {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&digest);
    proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &bytes)
}

/// [`table_sql`] of the table whose relation key is `key` (`t`, `app.t`, `"odd.name"`).
pub fn key_sql(key: &str) -> String {
    let (schema, name) = crate::catalog::parse_qualified(key, crate::spec::model::DEFAULT_SCHEMA);
    table_sql(&schema, &name)
}

/// How the probes name table `name` of `schema` in the SQL they send, and in the
/// statements a finding gives to replay: quoted and qualified, `"app"."t"`, even in the
/// default schema. A bare name would be resolved by the probing session's search path,
/// which a migration may have set for its role (`ALTER ROLE … SET search_path = app,
/// public`): `public.t`'s cases would then go to an `app.t`.
pub fn table_sql(schema: &str, name: &str) -> String {
    format!(
        "{}.{}",
        crate::sql::quote_ident(schema),
        crate::sql::quote_ident(name)
    )
}

/// The table a spec describes, as the database has it; or why it
/// takes no constraint probe or sample row: the database has no relation of that name, or
/// one that is not a table (a view, say). The structural checks fail it either way; the
/// reason says, for each rule and for the sample rows, that they were not tried, where
/// nothing was said before.
pub fn table_here<'a>(
    schema: &'a Schema,
    loaded: &crate::spec::LoadedSpec,
) -> std::result::Result<&'a crate::catalog::Relation, String> {
    let key = crate::catalog::relation_key(&loaded.spec.schema, &loaded.spec.table);
    match schema.relations.get(&key) {
        None => Err(format!(
            "not run: the database has no relation `{key}` (the structural checks report it)"
        )),
        Some(rel) if rel.kind != 'r' && rel.kind != 'p' => Err(format!(
            "not run: `{key}` is a {} in the database, not a table (the structural checks \
             report it)",
            crate::catalog::relkind_name(rel.kind)
        )),
        Some(rel) => Ok(rel),
    }
}

/// Build a probe finding.
pub fn probe_finding(
    code: &'static str,
    table: &str,
    object: String,
    status: Status,
    message: String,
) -> Finding {
    Finding {
        code,
        table: table.into(),
        object: object.into(),
        status,
        expected: None,
        actual: None,
        message,
        location: None,
        requirements: vec![],
        hint: None,
        repro: None,
    }
}

/// Run every probe on `conn`, each group in its own transaction that is rolled back
/// whatever happens (see [`session`]): each part of the constraint probes in one, each
/// declared property in its own. `schema` is the database's introspected schema (for
/// column types and keys). On a standby, where nothing can write, one skip says so.
pub async fn run_probes(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    run_probes_on(std::slice::from_mut(conn), specs, schema, config, None).await
}

/// [`run_probes`] with the work shared among `conns`, which must all reach identical
/// databases (copies of one throw-away database; a handed-over server gets one connection).
/// Each unit of work (a part of the constraint probes, one property) runs in its own
/// rolled-back transaction on whichever connection is free, after `reset` (when given) has
/// set every sequence back to where it stood; with a reset, the constraint parts one
/// connection takes in a row share one transaction and their sample rows (see [`parts`]).
/// The findings come back in unit order, so with a reset they are the same whatever the
/// number of connections.
pub async fn run_probes_on(
    conns: &mut [PgConnection],
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
    reset: Option<&sequences::SequenceReset>,
) -> Result<Vec<Finding>> {
    let Some(first) = conns.first_mut() else {
        return Ok(Vec::new());
    };
    let fed = match prepare(first).await? {
        Ok(fed) => fed,
        Err(blocked) => return Ok(vec![blocked]),
    };
    let probing = Probing {
        specs,
        schema,
        fed: &fed,
        config,
        reset,
    };
    let units = plan_units(&probing);
    let shared = Shared::new(units.len());
    let workers = conns
        .iter_mut()
        .map(|conn| shared.work(conn, &units, &probing));
    futures_util::future::join_all(workers).await;
    shared.findings()
}

/// Where one worker of [`run_probes_on_threads`] works: a session of its own on one of the
/// identical databases, and whether its server process may be put on the worker's core (only
/// when it is a process of this machine).
#[derive(Debug, Clone)]
pub struct WorkerSession {
    /// How to open the session.
    pub options: sqlx::postgres::PgConnectOptions,
    /// What to call the server in an error.
    pub target: String,
    /// The server's processes are this machine's own.
    pub local: bool,
}

/// [`run_probes_on`] with each worker on a thread of its own, driving its own session, so
/// that each worker and its server process can share a core ([`crate::postgres::pairing`]):
/// when `local`, worker `i` and its server process are pinned to the `i`-th of the caller's
/// cores (round robin). One thread driving every session was the probes' bottleneck.
/// `first` (any session on the databases) decides whether the server can be written at all
/// and what sequences feed, as in [`run_probes_on`]; the findings are the same as there,
/// in unit order. Blocks the calling thread until every worker is done.
pub async fn run_probes_on_threads(
    first: &mut PgConnection,
    sessions: &[WorkerSession],
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
    reset: Option<&sequences::SequenceReset>,
) -> Result<Vec<Finding>> {
    let fed = match prepare(first).await? {
        Ok(fed) => fed,
        Err(blocked) => return Ok(vec![blocked]),
    };
    let worker = Worker {
        shared: Shared::new(work_units(specs)),
        probing: Probing {
            specs,
            schema,
            fed: &fed,
            config,
            reset,
        },
    };
    let cores = crate::postgres::pairing::thread_cores();
    let ended: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(i, session)| {
                let core = (session.local && !cores.is_empty()).then(|| cores[i % cores.len()]);
                let worker = &worker;
                scope.spawn(move || worker.run(session, core))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let found = worker.shared.findings();
    // A unit's error (a lost connection mid-unit) comes first; then a worker that could not
    // start.
    match (found, ended.into_iter().find_map(|e| e.err())) {
        (Err(e), _) | (Ok(_), Some(e)) => Err(e),
        (Ok(found), None) => Ok(found),
    }
}

/// What every unit of probe work is run with: the specs, the database's schema, its
/// sequence-fed columns (read once, before any unit), the run's settings and, on a
/// throw-away server, the sequences' positions to set back before each unit.
struct Probing<'p> {
    specs: &'p SpecSet,
    schema: &'p Schema,
    fed: &'p sequences::SequenceFed,
    config: &'p ProbeConfig,
    reset: Option<&'p sequences::SequenceReset>,
}

/// What every worker thread of [`run_probes_on_threads`] shares.
struct Worker<'w> {
    shared: Shared,
    probing: Probing<'w>,
}

impl Worker<'_> {
    /// One worker's life on its own thread: a runtime, a session (both on `core` when
    /// given), then units until none is left. A session that cannot open stops the others
    /// taking more units, and is the error.
    fn run(&self, session: &WorkerSession, core: Option<usize>) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::error::Error::io("a probe worker's runtime", e))?;
        runtime.block_on(async {
            let _pair = core.and_then(crate::postgres::pairing::CorePair::pin_to);
            let opened = crate::postgres::connect_bounded(&session.options, &session.target).await;
            let mut conn = match opened {
                Ok(conn) => conn,
                Err(e) => {
                    self.shared.stop();
                    return Err(e);
                }
            };
            if session.local {
                crate::postgres::pairing::join(&mut conn).await;
            }
            let units = plan_units(&self.probing);
            self.shared.work(&mut conn, &units, &self.probing).await;
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        })
    }
}

/// Whether the server can be written at all: what sequences feed, or (on a standby) the one
/// skip that says why not.
async fn prepare(
    first: &mut PgConnection,
) -> Result<std::result::Result<sequences::SequenceFed, Finding>> {
    if let Some(blocked) = session::server_blocked(first).await? {
        return Ok(Err(probe_finding(
            "probe.run",
            "probes",
            "probes".to_string(),
            Status::Skip,
            blocked.0,
        )));
    }
    Ok(Ok(sequences::SequenceFed::load(first).await?))
}

/// The units of probe work, in order: the constraint probes, then one per property.
fn plan_units<'a>(probing: &Probing<'a>) -> Vec<Unit<'a>> {
    let (specs, schema, fed) = (probing.specs, probing.schema, probing.fed);
    let ctx = property::RowContext { specs, schema, fed };
    let units: Vec<Unit> = constraint_parts(specs)
        .into_iter()
        .map(Unit::Constraints)
        .chain(property::units(&ctx).into_iter().map(|u| match u {
            Ok(plan) => Unit::Property(Box::new(plan)),
            Err(skipped) => Unit::Decided(skipped),
        }))
        .collect();
    debug_assert_eq!(units.len(), work_units(specs));
    units
}

/// Which worker takes the next unit, and each unit's outcome in its slot. Workers on
/// threads of their own each plan the units themselves (a plan's generators stay on the
/// thread that made them): the same units, in the same order.
struct Shared {
    next: AtomicUsize,
    stop: AtomicBool,
    slots: Vec<Mutex<Option<Result<Vec<Finding>>>>>,
}

impl Shared {
    fn new(units: usize) -> Self {
        Shared {
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            slots: (0..units).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// No worker takes another unit.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// The index of the next unit to run, or `None` when none is left or a unit failed.
    fn take(&self) -> Option<usize> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        (i < self.slots.len()).then_some(i)
    }

    /// Keep unit `i`'s outcome; a failed unit stops every worker taking more.
    fn put(&self, i: usize, outcome: Result<Vec<Finding>>) {
        if outcome.is_err() {
            self.stop();
        }
        *self.slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    /// Take the next unit and run it on `conn`, until none is left or a unit failed.
    async fn work(&self, conn: &mut PgConnection, units: &[Unit<'_>], probing: &Probing<'_>) {
        let mut taken = self.take();
        while let Some(i) = taken {
            taken = match &units[i] {
                Unit::Constraints(_) => self.constraint_run(conn, i, units, probing).await,
                Unit::Property(plan) => {
                    self.put(i, run_property(conn, plan, probing).await);
                    self.take()
                }
                Unit::Decided(found) => {
                    self.put(i, Ok(found.clone()));
                    self.take()
                }
            };
        }
    }

    /// Run constraint part `first`, and on a throw-away server (`reset` given) every
    /// constraint part this worker takes right after it, in one probe transaction: the
    /// sample rows are inserted once and each further part starts back at the point right
    /// after them (see [`parts::SamplesIn`]). Returns the next unit taken and not run here,
    /// if any.
    async fn constraint_run(
        &self,
        conn: &mut PgConnection,
        first: usize,
        units: &[Unit<'_>],
        probing: &Probing<'_>,
    ) -> Option<usize> {
        let Probing {
            specs,
            schema,
            fed,
            config,
            reset,
        } = *probing;
        if let Some(reset) = reset {
            if let Err(e) = reset.apply(conn).await {
                self.put(first, Err(e));
                return None;
            }
        }
        let mut tx = match session::begin(conn).await {
            Ok(tx) => tx,
            Err(e) => {
                self.put(first, Err(e));
                return None;
            }
        };
        let mut samples: Option<parts::SamplesIn> = None;
        let mut i = first;
        let next = loop {
            let Some(Unit::Constraints(part)) = units.get(i) else {
                break Some(i);
            };
            let outcome = async {
                let done = match samples.take() {
                    Some(done) => {
                        done.rewind(&mut tx).await?;
                        done
                    }
                    None => {
                        parts::SamplesIn::insert(&mut tx, specs, schema, fed, reset.is_some())
                            .await?
                    }
                };
                let found = done.probe(&mut tx, specs, part, schema, config).await;
                samples = Some(done);
                found
            }
            .await;
            let failed = outcome.is_err();
            self.put(i, outcome);
            if failed {
                break None;
            }
            // On a handed-over server (no reset) each part keeps a transaction of its own,
            // as short as before: its sample rows hold locks an application's writer may
            // wait for.
            match self.take() {
                Some(j) if reset.is_some() => i = j,
                other => break other,
            }
        };
        session::finish(tx).await;
        next
    }

    /// Every unit's findings in unit order, or the first error in unit order.
    fn findings(self) -> Result<Vec<Finding>> {
        let mut findings = Vec::new();
        for slot in self.slots {
            // Units are taken in order and a taken unit always finishes, so every unit
            // before the first failure has its findings: the first error in unit order is
            // returned.
            match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
                Some(Ok(found)) => findings.extend(found),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(findings)
    }
}

/// How many units of probe work [`run_probes_on`] makes of `specs`: the parts of the
/// constraint probes, then one per declared property. More connections than this would sit
/// idle.
pub fn work_units(specs: &SpecSet) -> usize {
    constraint_parts(specs).len()
        + specs
            .specs
            .iter()
            .map(|l| l.spec.properties.len())
            .sum::<usize>()
}

/// One unit of probe work, run in a transaction of its own (parts of the constraint probes
/// that one connection takes one after another share one, see [`parts`]).
enum Unit<'a> {
    /// The structured CHECKs of a part of the specs, with every sample row in place.
    Constraints(ConstraintPart),
    /// One declared property.
    Property(Box<property::Plan<'a>>),
    /// A property that cannot run here: its skip findings, decided without the database.
    Decided(Vec<Finding>),
}

/// Run one property in a transaction of its own, after `reset` has set the sequences back.
async fn run_property(
    conn: &mut PgConnection,
    plan: &property::Plan<'_>,
    probing: &Probing<'_>,
) -> Result<Vec<Finding>> {
    if let Some(reset) = probing.reset {
        reset.apply(conn).await?;
    }
    property::run_plan(conn, plan, probing.schema, probing.config).await
}

/// After probing a server that was handed over: did this session draw from any sequence?
/// `nextval` cannot be rolled back, so a drawn sequence is a trace the probes left (a
/// function under test that inserts into a `serial` table, say). One finding: pass when no
/// sequence moved, fail naming those that did. Run it outside any transaction, after
/// [`run_probes`], on the same connection.
pub async fn sequence_trace(conn: &mut PgConnection) -> Result<Finding> {
    let draws = sequences::drawn_in_session(conn).await?;
    if !draws.drawn.is_empty() {
        let mut f = probe_finding(
            "probe.trace",
            "probes",
            "sequences".to_string(),
            Status::Fail,
            format!(
                "the probes advanced {} (nextval is not transactional, so the rollback did \
                 not undo it)",
                draws.drawn.join(", ")
            ),
        );
        f.hint = Some(
            "a function or property run by the probes draws from a sequence; run --probe \
             only where that is acceptable, or probe that function on a throw-away database"
                .to_string(),
        );
        return Ok(f);
    }
    if !draws.unasked.is_empty() {
        const SHOWN: usize = 5;
        let mut names: Vec<String> = draws.unasked.iter().take(SHOWN).cloned().collect();
        if draws.unasked.len() > SHOWN {
            names.push(format!("{} more", draws.unasked.len() - SHOWN));
        }
        let mut f = probe_finding(
            "probe.trace",
            "probes",
            "sequences".to_string(),
            Status::Skip,
            format!(
                "the probes drew from no sequence this role may read, but it has neither \
                 SELECT nor USAGE on {} ({}), which currval needs: whether they advanced \
                 cannot be told",
                if draws.unasked.len() == 1 {
                    "one sequence".to_string()
                } else {
                    format!("{} sequences", draws.unasked.len())
                },
                names.join(", ")
            ),
        );
        f.hint = Some(
            "grant the checking role SELECT on those sequences (it reads, never draws), or \
             probe on a throw-away database"
                .to_string(),
        );
        return Ok(f);
    }
    Ok(probe_finding(
        "probe.trace",
        "probes",
        "sequences".to_string(),
        Status::Pass,
        "the probes drew from no sequence (currval is undefined for every sequence in \
         this session), so they left nothing behind"
            .to_string(),
    ))
}
