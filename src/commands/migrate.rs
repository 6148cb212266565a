//! `reims-verify migrate`: the seed's runner interface (--list, --all, --history, NAME,
//! --force) against a URL or an ephemeral cluster.

use crate::cli::{MigrateArgs, OutputFormat};
use crate::error::{ExitCode, Result};
use crate::migrate::{apply, discover, read_history, status_of, ApplyMode};
use crate::postgres::Database;

use super::{cluster_options, server_settings, Output};

/// Run `migrate`; returns the exit code.
pub async fn run_migrate(args: &MigrateArgs, out: Output) -> Result<ExitCode> {
    let files = discover(&args.migrations)?;
    let db = Database::open(
        args.db.database_url.as_deref(),
        &cluster_options(&args.db),
        &server_settings(&args.db, args.list || args.history),
    )
    .await?;
    let mut conn = db.connect().await?;
    if args.list {
        let history = read_history(&mut conn).await?.unwrap_or_default();
        let rows = status_of(&files, &history);
        if args.format == OutputFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).expect("serialisable")
            );
        } else {
            let mut t = out.table(&["migration", "status", "applied at", "sha256"]);
            for r in &rows {
                let good = matches!(r.status, crate::migrate::MigrationStatus::Applied);
                t.add_row(vec![
                    comfy_table::Cell::new(&r.name),
                    out.status_cell(r.status.label(), good),
                    comfy_table::Cell::new(r.applied_at.map(|a| a.to_string()).unwrap_or_default()),
                    comfy_table::Cell::new(
                        r.file_checksum.as_deref().map(|c| &c[..12]).unwrap_or(""),
                    ),
                ]);
            }
            println!("{}: {} migration(s)\n{t}", db.describe(), rows.len());
        }
    } else if args.history {
        let mut history = read_history(&mut conn).await?.unwrap_or_default();
        history.reverse();
        if args.format == OutputFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&history).expect("serialisable")
            );
        } else if history.is_empty() {
            println!(
                "{}: no migrations recorded (schema_migrations is empty or absent)",
                db.describe()
            );
        } else {
            let mut t = out.table(&["id", "migration", "applied at", "success", "error"]);
            for h in &history {
                t.add_row(vec![
                    comfy_table::Cell::new(h.id),
                    comfy_table::Cell::new(&h.migration_name),
                    comfy_table::Cell::new(h.applied_at.map(|a| a.to_string()).unwrap_or_default()),
                    out.status_cell(if h.success { "yes" } else { "no" }, h.success),
                    comfy_table::Cell::new(h.error_message.as_deref().unwrap_or("")),
                ]);
            }
            println!("{t}");
        }
    } else {
        let mode = match &args.name {
            Some(n) => ApplyMode::One(n.clone()),
            None => ApplyMode::All,
        };
        let report = apply(&mut conn, &files, &mode, args.force).await?;
        if args.format == OutputFormat::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("serialisable")
            );
        } else {
            let mut t = out.table(&["migration", "action", "ms"]);
            for s in &report.steps {
                t.add_row(vec![
                    comfy_table::Cell::new(&s.name),
                    out.status_cell(s.action, true),
                    comfy_table::Cell::new(s.millis),
                ]);
            }
            let applied = report
                .steps
                .iter()
                .filter(|s| s.action != "skipped")
                .count();
            println!("{}: {applied} migration(s) applied\n{t}", db.describe());
            for u in &report.unknown {
                println!(
                    "note: {u} is recorded as applied but is not in {}",
                    args.migrations.display()
                );
            }
        }
    }
    Database::close(conn).await;
    Ok(ExitCode::Passed)
}
