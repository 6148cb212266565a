//! `role.replica_sessions`: the settings that start sessions on the checked database with
//! `session_replication_role = replica`. In such a session PostgreSQL fires only the
//! triggers enabled for replicas or always; every other trigger, and with them every foreign
//! key's checks and cascades, is skipped. A role set that way writes rows that break the
//! foreign keys the structural checks report as enforced, so the setting is compared like
//! any other fact: each one the specs do not declare (a schema document's
//! `replica_sessions:`, role → reason) fails, and each declared one the server lacks fails.

use super::roles::Roles;
use super::{Finding, Status};
use crate::catalog::{ReplicaSessions, Schema};
use crate::error::SourceLocation;
use crate::spec::SpecSet;

/// The key of `replica_sessions:` that stands for every role.
const EVERY_ROLE: &str = "public";

/// Whose sessions an entry or a setting is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Whose {
    /// Every role's.
    Every,
    /// This role's.
    Role(String),
    /// An unbound variable's: any role's, not judged.
    Unbound(String),
}

impl Whose {
    fn of(setting: &ReplicaSessions) -> Whose {
        match &setting.role {
            Some(r) => Whose::Role(r.clone()),
            None => Whose::Every,
        }
    }

    fn object(&self) -> String {
        match self {
            Whose::Every => "every role".into(),
            Whose::Role(r) => format!("role {r}"),
            Whose::Unbound(v) => format!("role {v}"),
        }
    }
}

/// One declared entry of a schema document.
struct Declared {
    whose: Whose,
    reason: String,
    at: SourceLocation,
    met: bool,
}

/// Compare the replica-mode settings of `actual` with what the schema documents declare.
pub(crate) fn verify_replica_sessions(
    specs: &SpecSet,
    actual: &Schema,
    roles: &mut Roles<'_>,
    out: &mut Vec<Finding>,
) {
    let mut declared: Vec<Declared> = Vec::new();
    for doc in &specs.schemas {
        for (key, reason) in &doc.spec.replica_sessions {
            let at = doc.location(&["replica_sessions", key]);
            let whose = if key == EVERY_ROLE {
                Whose::Every
            } else {
                match roles.resolve(key, Some(at.clone())) {
                    Some(r) => Whose::Role(r),
                    None => Whose::Unbound(key.clone()),
                }
            };
            if !declared.iter().any(|d| d.whose == whose) {
                declared.push(Declared {
                    whose,
                    reason: reason.clone(),
                    at,
                    met: false,
                });
            }
        }
    }
    let settings = &actual.access.replica_sessions;
    for setting in settings {
        let whose = Whose::of(setting);
        let finding = |status, message: String, at, hint| Finding {
            repro: None,
            code: "role.replica_sessions",
            table: "roles".into(),
            object: whose.object().into(),
            status,
            expected: None,
            actual: Some(setting.made_by().into()),
            message,
            location: at,
            requirements: vec![],
            hint,
        };
        if let Some(d) = declared.iter_mut().find(|d| d.whose == whose) {
            d.met = true;
            let mut f = finding(
                Status::Pass,
                format!(
                    "sessions of {} start in replica mode ({}), as declared: {}",
                    whose.object(),
                    setting.made_by(),
                    d.reason
                ),
                Some(d.at.clone()),
                None,
            );
            f.expected = Some("replica mode, declared".into());
            out.push(f);
            continue;
        }
        let unbound = declared.iter().find_map(|d| match (&d.whose, &whose) {
            (Whose::Unbound(var), Whose::Role(_)) => Some((var, d)),
            _ => None,
        });
        if let Some((var, d)) = unbound {
            out.push(finding(
                Status::Skip,
                format!(
                    "sessions of {} start in replica mode ({}); it may be the role {} stands for, which is not bound, so this was not judged",
                    whose.object(),
                    setting.made_by(),
                    var,
                ),
                Some(d.at.clone()),
                Some("bind the variable with --role NAME=ROLE to judge it".into()),
            ));
            continue;
        }
        let mut f = finding(
            Status::Fail,
            format!(
                "sessions of {} start in replica mode ({}): triggers and foreign keys do not fire in them, so rows that break a foreign key are accepted",
                whose.object(),
                setting.made_by(),
            ),
            None,
            Some(format!(
                "{}, or declare it with a reason under `replica_sessions:` in a schema document",
                setting.undo()
            )),
        );
        f.expected = Some("origin mode (triggers and foreign keys fire)".into());
        out.push(f);
    }
    for d in declared.iter().filter(|d| !d.met) {
        if matches!(d.whose, Whose::Unbound(_)) {
            // Counted in the variable's `role.unbound` skip.
            continue;
        }
        out.push(Finding {
            repro: None,
            code: "role.replica_sessions",
            table: "roles".into(),
            object: d.whose.object().into(),
            status: Status::Fail,
            expected: Some("replica mode, declared".into()),
            actual: Some("origin mode (no setting)".into()),
            message: format!(
                "the specs declare that sessions of {} start in replica mode ({}), but no setting makes them",
                d.whose.object(),
                d.reason
            ),
            location: Some(d.at.clone()),
            requirements: vec![],
            hint: Some(
                "set it (ALTER ROLE … SET session_replication_role = replica), or remove the entry"
                    .into(),
            ),
        });
    }
    if settings.is_empty() && declared.is_empty() {
        out.push(Finding {
            repro: None,
            code: "role.replica_sessions",
            table: "roles".into(),
            object: "every role".into(),
            status: Status::Pass,
            expected: Some("origin mode (triggers and foreign keys fire)".into()),
            actual: Some("origin mode (no setting)".into()),
            message: "no setting starts sessions on this database in replica mode".into(),
            location: None,
            requirements: vec![],
            hint: None,
        });
    }
}
