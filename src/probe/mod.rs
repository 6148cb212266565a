//! Behaviour: prove that objects do what the specs say, not only that they exist.
//!
//! Two kinds of probe run inside one transaction that is always rolled back, so they leave
//! nothing behind:
//! - constraint probes (`constraints`): values on both sides of every CHECK rule's
//!   boundaries plus random ones, each inserted in its own subtransaction, and PostgreSQL's
//!   verdict compared with the rule's;
//! - function properties (`functions`): random operation sequences against the security and
//!   session functions and the triggers, compared step by step with a small Rust model.

pub mod batch;
pub mod constraints;
pub mod functions;
pub mod rows;

use sqlx::{Connection, PgConnection};

use crate::catalog::Schema;
use crate::error::{Error, Result};
use crate::spec::SpecSet;
use crate::verify::{Finding, Status};

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
        table: table.to_string(),
        object,
        status,
        expected: None,
        actual: None,
        message,
        location: None,
        requirements: vec![],
        hint: None,
    }
}

/// Run every probe on `conn` inside a transaction that is rolled back whatever happens.
/// `schema` is the database's introspected schema (for column types and keys).
pub async fn run_probes(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| Error::database("starting the probe transaction", &e))?;
    let result = async {
        // On a handed-over server sessions default to read-only; the probes' writes happen
        // in this one transaction, which is always rolled back.
        sqlx::raw_sql("SET TRANSACTION READ WRITE")
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::database("opening the probe transaction for writing", &e))?;
        let mut findings = constraint_probes(&mut tx, specs, schema, config).await?;
        findings.extend(functions::run_all(&mut tx, config).await?);
        Ok::<_, Error>(findings)
    }
    .await;
    let _ = tx.rollback().await;
    result
}

/// The constraint probes alone (sample rows, then every structured CHECK), on a connection
/// that is already inside a transaction the caller rolls back.
pub async fn constraint_probes(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    batch::install(conn).await?;
    let mut findings = rows::insert_samples(conn, specs, schema).await?;
    findings.extend(constraints::probe_checks(conn, specs, schema, config).await?);
    Ok(findings)
}
