//! The constraint probes cut into parts, and the sample rows a connection inserts once for
//! the parts it takes one after another.
//!
//! On a large schema the constraint probes are most of the probes' work; cut into parts they
//! keep every connection busy. Every part needs every sample row in place (a case's foreign
//! keys reach rows of tables in other parts), and inserting them is a large share of a
//! part's time at a thousand tables. So on a throw-away server a connection that takes
//! several parts in a row runs them in one transaction: it inserts the sample rows once,
//! marks that point with a savepoint, and goes back to it before each further part
//! ([`SamplesIn::rewind`]), the sequences included. Each part then starts from the state a
//! part of its own would have reached after its sample rows, so the findings do not depend
//! on how the parts fell to the connections. On a handed-over server each part keeps a
//! transaction of its own: the kept sample rows hold locks that an application's writer
//! may wait for, and a transaction per part holds them for a part's time, not for all.

use sqlx::PgConnection;

use super::sequences::{SequenceFed, SequenceReset};
use super::{batch, constraints, rows, ProbeConfig};
use crate::catalog::Schema;
use crate::error::{Error, Result};
use crate::spec::SpecSet;
use crate::verify::Finding;

/// The CHECKs (of specs with sample rows, the only ones whose cases run) a part of the
/// constraint probes holds at least: below this, a second part would cost more in sample
/// rows inserted again (by another connection) than it saves.
const CHECKS_PER_PART: usize = 200;

/// At most this many parts: the most connections `check` opens by default.
const MOST_PARTS: usize = 4;

/// The savepoint a connection's run of parts goes back to: every sample row in place.
const AFTER_SAMPLES: &str = "reims_verify_after_samples";

/// One part of the constraint probes: the CHECKs of the specs in `specs` (indexes into the
/// spec set), probed with every spec's sample rows in place.
///
/// On a large schema the constraint probes are most of the probes' work, and as one unit
/// they kept one connection (and one core) busy while the others had nothing to do. Each
/// part has every sample row in place, as the whole did, so each CHECK is probed on the
/// same rows as before; only the first part reports the `probe.sample` findings. The cases
/// of one CHECK are rolled back one by one and never see another CHECK's, and each part
/// starts from the sequences' positions after the sample rows (on a throw-away server), so
/// the findings are those of one part, in the same order. How the specs are cut depends on
/// the specs alone, never on the number of connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintPart {
    /// The specs whose CHECKs this part probes.
    pub specs: std::ops::Range<usize>,
    /// The first part, which reports the sample rows.
    pub first: bool,
}

/// The parts of the constraint probes of `specs`: one per [`CHECKS_PER_PART`] CHECKs, at
/// most [`MOST_PARTS`], each with about as many CHECKs, a spec's CHECKs staying together.
pub fn constraint_parts(specs: &SpecSet) -> Vec<ConstraintPart> {
    let weights: Vec<usize> = specs
        .specs
        .iter()
        .map(|l| {
            if l.spec.samples.is_empty() {
                0
            } else {
                l.spec.checks.len()
            }
        })
        .collect();
    let total: usize = weights.iter().sum();
    let parts = (total / CHECKS_PER_PART).clamp(1, MOST_PARTS);
    let mut out = Vec::with_capacity(parts);
    let (mut start, mut seen) = (0, 0);
    for (i, w) in weights.iter().enumerate() {
        seen += w;
        // Close a part once it holds its share of the CHECKs (the last takes the rest).
        if out.len() + 1 < parts && seen * parts >= total * (out.len() + 1) {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    out.push(start..specs.specs.len());
    out.into_iter()
        .enumerate()
        .map(|(i, specs)| ConstraintPart {
            specs,
            first: i == 0,
        })
        .collect()
}

/// Every sample row in place in a probe transaction, for the parts that connection runs in
/// it: what the rows were tried against, what trying them found, and where the sequences
/// stood after them.
pub struct SamplesIn<'f> {
    fed: &'f SequenceFed,
    findings: Vec<Finding>,
    after: Option<SequenceReset>,
}

impl<'f> SamplesIn<'f> {
    /// Install the probes' functions, try every sample row (keeping those of referenced
    /// tables) and mark the point with a savepoint, on a connection already inside the
    /// probe transaction. `fed` is the database's sequence-fed columns
    /// ([`SequenceFed::load`]), read once for every connection. With `restore` (a
    /// throw-away server, whose sequences the probes set back anyway), also read where
    /// every sequence stands, for [`SamplesIn::rewind`].
    pub async fn insert(
        conn: &mut PgConnection,
        specs: &SpecSet,
        schema: &Schema,
        fed: &'f SequenceFed,
        restore: bool,
    ) -> Result<Self> {
        // Without TEMPORARY nothing is installed, and every table is one the probes cannot
        // insert into (`session::tables_lacking`): their skips say why.
        if super::session::may_create_temporary(conn).await? {
            batch::install(conn).await?;
        }
        let findings = rows::insert_samples(conn, specs, schema, fed).await?;
        sqlx::raw_sql(&format!("SAVEPOINT {AFTER_SAMPLES}"))
            .execute(&mut *conn)
            .await
            .map_err(|e| Error::database("marking the sample rows' place", &e))?;
        let after = if restore {
            Some(SequenceReset::read(conn).await?)
        } else {
            None
        };
        Ok(SamplesIn {
            fed,
            findings,
            after,
        })
    }

    /// Go back to the point right after the sample rows: whatever a part left in the
    /// transaction is undone, and (when [`SamplesIn::insert`] was asked to restore) every
    /// sequence is set back to where it stood then, since `nextval` is not rolled back.
    pub async fn rewind(&self, conn: &mut PgConnection) -> Result<()> {
        sqlx::raw_sql(&format!("ROLLBACK TO SAVEPOINT {AFTER_SAMPLES}"))
            .execute(&mut *conn)
            .await
            .map_err(|e| Error::database("going back to the sample rows", &e))?;
        if let Some(after) = &self.after {
            after.apply(conn).await?;
        }
        Ok(())
    }

    /// Probe the CHECKs of `part` with the sample rows in place; the first part also
    /// reports the sample rows' findings.
    pub async fn probe(
        &self,
        conn: &mut PgConnection,
        specs: &SpecSet,
        part: &ConstraintPart,
        schema: &Schema,
        config: &ProbeConfig,
    ) -> Result<Vec<Finding>> {
        let mut findings = if part.first {
            self.findings.clone()
        } else {
            Vec::new()
        };
        findings.extend(
            constraints::probe_checks(conn, specs, part.specs.clone(), schema, config, self.fed)
                .await?,
        );
        Ok(findings)
    }
}

/// The constraint probes alone (sample rows, then every structured CHECK), on a connection
/// that is already inside a transaction the caller rolls back.
pub async fn constraint_probes(
    conn: &mut PgConnection,
    specs: &SpecSet,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    let whole = ConstraintPart {
        specs: 0..specs.specs.len(),
        first: true,
    };
    constraint_part(conn, specs, &whole, schema, config).await
}

/// One part of the constraint probes (see [`ConstraintPart`]) with sample rows of its own,
/// on a connection that is already inside a transaction the caller rolls back.
pub async fn constraint_part(
    conn: &mut PgConnection,
    specs: &SpecSet,
    part: &ConstraintPart,
    schema: &Schema,
    config: &ProbeConfig,
) -> Result<Vec<Finding>> {
    let fed = SequenceFed::load(conn).await?;
    let samples = SamplesIn::insert(conn, specs, schema, &fed, false).await?;
    samples.probe(conn, specs, part, schema, config).await
}
