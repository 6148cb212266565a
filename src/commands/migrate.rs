//! `reims-verify migrate`: the seed's runner interface (--list, --all, --history, NAME,
//! --force) against a URL or an ephemeral cluster.

use crate::cli::{MigrateArgs, OutputFormat};
use crate::error::{ExitCode, Result};
use crate::migrate::{
    apply, discover, read_attempts, read_history, status_of, AppliedMigration, ApplyMode, Attempt,
    MigrationStatus,
};
use crate::postgres::Database;

use super::{apply_options, cluster_options, server_settings, Output};

/// One `schema_migrations` row with the attempts logged for its migration, for `--history`;
/// or, for a migration that was attempted but has no row, its name and attempts.
#[derive(Debug, serde::Serialize)]
struct HistoryEntry {
    #[serde(flatten)]
    row: Option<AppliedMigration>,
    /// The migration's name when `schema_migrations` has no row for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    migration_name: Option<String>,
    /// Every logged attempt for this migration, newest first.
    attempts: Vec<Attempt>,
}

/// Run `migrate`; returns the exit code.
pub async fn run_migrate(args: &MigrateArgs, out: Output) -> Result<ExitCode> {
    // The history needs no migrations folder; everything else does, and is checked before
    // any server is started or reached.
    let files = if args.history {
        Vec::new()
    } else {
        discover(&args.migrations)?
    };
    let db = Database::open(
        args.db.database_url.as_deref(),
        &cluster_options(&args.db),
        &server_settings(&args.db, args.list || args.history),
    )
    .await?;
    if args.list {
        let mut conn = db.connect().await?;
        let history = read_history(&mut conn).await?.unwrap_or_default();
        let attempts = read_attempts(&mut conn).await?;
        Database::close(conn).await;
        let rows = status_of(&files, &history);
        if args.format == OutputFormat::Json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&rows).expect("serialisable")
            );
        } else {
            let mut t = out.table(&["migration", "status", "applied at", "sha256"]);
            for r in &rows {
                let good = matches!(r.status, MigrationStatus::Applied);
                t.add_row(vec![
                    comfy_table::Cell::new(&r.name),
                    out.status_cell(r.status.label(), good),
                    comfy_table::Cell::new(r.applied_at.map(|a| a.to_string()).unwrap_or_default()),
                    comfy_table::Cell::new(match r.file_checksum.as_deref() {
                        Some(c) if good && r.applied_checksum.is_none() => {
                            format!("{} (recorded: unknown)", &c[..12])
                        }
                        Some(c) => c[..12].to_string(),
                        None => String::new(),
                    }),
                ]);
            }
            outln!("{}: {} migration(s)\n{t}", db.describe(), rows.len());
            for r in rows.iter().filter(|r| r.status == MigrationStatus::Applied) {
                if let Some(a) = attempts.iter().find(|a| a.migration_name == r.name) {
                    if a.outcome.as_deref() != Some("applied") {
                        outln!(
                            "note: the latest attempt to re-apply {} ({}) {}; the earlier success stands (see --history)",
                            r.name,
                            a.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                            attempt_outcome(a)
                        );
                    }
                }
            }
        }
    } else if args.history {
        let mut conn = db.connect().await?;
        let history = read_history(&mut conn).await?;
        let attempts = read_attempts(&mut conn).await?;
        Database::close(conn).await;
        let mut rows = history.clone().unwrap_or_default();
        rows.reverse();
        if args.format == OutputFormat::Json {
            let attempts_of = |name: &str| -> Vec<Attempt> {
                attempts
                    .iter()
                    .filter(|a| a.migration_name == name)
                    .cloned()
                    .collect()
            };
            let mut entries: Vec<HistoryEntry> = rows
                .iter()
                .map(|row| HistoryEntry {
                    attempts: attempts_of(&row.migration_name),
                    row: Some(row.clone()),
                    migration_name: None,
                })
                .collect();
            let mut orphans: Vec<&str> = Vec::new();
            for a in &attempts {
                let name = a.migration_name.as_str();
                if !rows.iter().any(|r| r.migration_name == name) && !orphans.contains(&name) {
                    orphans.push(name);
                }
            }
            for name in orphans {
                entries.push(HistoryEntry {
                    row: None,
                    migration_name: Some(name.to_string()),
                    attempts: attempts_of(name),
                });
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&entries).expect("serialisable")
            );
        } else {
            if rows.is_empty() {
                outln!(
                    "{}: no migrations recorded (schema_migrations is {})",
                    db.describe(),
                    if history.is_some() { "empty" } else { "absent" }
                );
            } else {
                let mut t = out.table(&["id", "migration", "applied at", "success", "error"]);
                for h in &rows {
                    t.add_row(vec![
                        comfy_table::Cell::new(h.id),
                        comfy_table::Cell::new(&h.migration_name),
                        comfy_table::Cell::new(
                            h.applied_at.map(|a| a.to_string()).unwrap_or_default(),
                        ),
                        out.status_cell(if h.success { "yes" } else { "no" }, h.success),
                        comfy_table::Cell::new(h.error_message.as_deref().unwrap_or("")),
                    ]);
                }
                outln!("{t}");
            }
            let unsuccessful: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| a.outcome.as_deref() != Some("applied"))
                .collect();
            if !unsuccessful.is_empty() {
                let mut t = out.table(&["attempt", "migration", "started", "outcome", "error"]);
                for a in &unsuccessful {
                    t.add_row(vec![
                        comfy_table::Cell::new(a.id),
                        comfy_table::Cell::new(format!("{} ({})", a.migration_name, a.action)),
                        comfy_table::Cell::new(a.started_at.format("%Y-%m-%d %H:%M:%S UTC")),
                        out.status_cell(&attempt_outcome(a), false),
                        comfy_table::Cell::new(a.error_message.as_deref().unwrap_or("")),
                    ]);
                }
                outln!(
                    "attempts that did not apply (reims_verify.migration_attempts; schema_migrations above stays the record of what is applied):\n{t}"
                );
            }
        }
    } else {
        let mode = match &args.name {
            Some(n) => ApplyMode::One(n.clone()),
            None => ApplyMode::All,
        };
        let options = apply_options(&args.db, args.force, args.lock_wait);
        let report = apply(&db, &files, &mode, &options).await?;
        for note in &report.notes {
            errln!("note: {note}");
        }
        if args.format == OutputFormat::Json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&report).expect("serialisable")
            );
        } else {
            let mut t = out.table(&["migration", "action", "transaction", "ms"]);
            for s in &report.steps {
                t.add_row(vec![
                    comfy_table::Cell::new(&s.name),
                    out.status_cell(s.action, true),
                    comfy_table::Cell::new(match s.transaction {
                        crate::migrate::TransactionMode::Wrapped => "one",
                        crate::migrate::TransactionMode::None => "none (-- no-transaction)",
                    }),
                    comfy_table::Cell::new(s.millis),
                ]);
            }
            let applied = report
                .steps
                .iter()
                .filter(|s| s.action != "skipped")
                .count();
            outln!("{}: {applied} migration(s) applied\n{t}", db.describe());
            for u in &report.unknown {
                outln!(
                    "note: {u} is recorded as applied but is not in {}",
                    args.migrations.display()
                );
            }
        }
    }
    Ok(ExitCode::Passed)
}

/// `failed`, `interrupted`, `failed, partly applied`, `unfinished (the run was killed)`.
fn attempt_outcome(a: &Attempt) -> String {
    let base = match a.outcome.as_deref() {
        Some(o) => o.to_string(),
        None => "unfinished (the run was killed or is still running)".to_string(),
    };
    if a.partial {
        format!("{base}, partly applied")
    } else {
        base
    }
}
