//! `reims-verify check`: start (or reach) a database, apply the migrations, compare with the
//! specs, report, and exit 0 / 1.

use std::time::Instant;

use sqlx::PgConnection;

use crate::catalog::read_schemas;
use crate::cli::{CheckArgs, OutputFormat};
use crate::error::{Error, ExitCode, Result};
use crate::migrate::{apply, discover, read_history, status_of, ApplyMode};
use crate::postgres::{Cluster, ClusterOptions, Database};
use crate::probe::ProbeConfig;
use crate::run::{Phase, Run, SpecFile};
use crate::spec::load_dir;
use crate::verify::{build_shadow, verify, verify_migrations};

use super::{cluster_options, server_settings, Output};

/// Run `check`; returns the exit code.
pub async fn run_check(args: &CheckArgs, out: Output) -> Result<ExitCode> {
    let run = gather(args).await?;
    if !args.no_report {
        crate::report::write_all(&run, &args.report)?;
    }
    match args.format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&run).expect("serialisable")
        ),
        OutputFormat::Table => print!("{}", crate::report::terminal::render(&run, out)),
    }
    Ok(if run.passed() {
        ExitCode::Passed
    } else {
        ExitCode::Findings
    })
}

/// Do the whole check and return the run record (no output).
pub async fn gather(args: &CheckArgs) -> Result<Run> {
    let started_at = chrono::Utc::now();
    let specs = load_dir(&args.specs)?;
    let files = discover(&args.migrations)?;
    let extra: Vec<(std::path::PathBuf, String)> = args
        .apply_after
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|s| (p.clone(), s))
                .map_err(|e| Error::io(p, e))
        })
        .collect::<Result<_>>()?;
    let mut phases = Vec::new();
    let t = Instant::now();
    let copts = cluster_options(&args.db);
    let db = Database::open(
        args.db.database_url.as_deref(),
        &copts,
        &server_settings(&args.db, true),
    )
    .await?;
    let mut conn = db.connect().await?;
    phases.push(Phase {
        name: "cluster_start",
        millis: t.elapsed().as_millis(),
    });

    let t = Instant::now();
    if db.is_ephemeral() {
        apply(&mut conn, &files, &ApplyMode::All, false).await?;
        for (path, sql) in &extra {
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map_err(|e| Error::Migration {
                    location: crate::error::SourceLocation {
                        file: path.clone(),
                        line: None,
                        column: None,
                    },
                    message: crate::error::describe_sqlx_error(&e),
                    hint: "fix the extra SQL file".into(),
                    input_error: false,
                })?;
        }
    }
    phases.push(Phase {
        name: "migrations",
        millis: t.elapsed().as_millis(),
    });

    let t = Instant::now();
    let history = read_history(&mut conn).await?.unwrap_or_default();
    let actual = read_schemas(&mut conn, &specs.checked_schemas(&args.schemas)).await?;
    phases.push(Phase {
        name: "introspection",
        millis: t.elapsed().as_millis(),
    });

    let t = Instant::now();
    let (shadow_cluster, mut shadow_conn) = shadow_connection(&db, &copts).await?;
    let shadow = build_shadow(&mut shadow_conn, &specs).await?;
    Database::close(shadow_conn).await;
    drop(shadow_cluster);
    phases.push(Phase {
        name: "shadow",
        millis: t.elapsed().as_millis(),
    });

    let t = Instant::now();
    let migrations = status_of(&files, &history);
    let mut findings = verify_migrations(&migrations, &args.migrations);
    findings.extend(verify(&specs, &actual, &shadow));
    phases.push(Phase {
        name: "verify",
        millis: t.elapsed().as_millis(),
    });

    let run_probes = !args.no_probe && (db.is_ephemeral() || args.probe);
    let probe_seed = run_probes.then(|| args.seed.unwrap_or_else(ProbeConfig::fresh_seed));
    if let Some(seed) = probe_seed {
        let t = Instant::now();
        let config = ProbeConfig {
            cases: args.cases,
            seed,
        };
        findings.extend(crate::probe::run_probes(&mut conn, &specs, &actual, &config).await?);
        phases.push(Phase {
            name: "probes",
            millis: t.elapsed().as_millis(),
        });
    }
    Database::close(conn).await;

    Ok(Run {
        format_version: crate::run::RUN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        provenance: crate::run::Provenance::capture(&args.migrations, &args.specs),
        database: db.describe(),
        server_version: actual.server_version.clone(),
        ephemeral: db.is_ephemeral(),
        migrations,
        specs: specs
            .specs
            .iter()
            .map(|s| SpecFile {
                path: s.path.display().to_string(),
                table: s.spec.table.clone(),
                sha256: s.checksum.clone(),
                requirements: s.spec.requirements.clone(),
            })
            .collect(),
        probe_seed,
        phases,
        totals: crate::run::Totals::of(&findings),
        findings,
    })
}

/// A connection to an empty database for the shadow: on the same throw-away server when
/// there is one, else on a private one of the chosen backend (never on a server the user
/// handed over, which the tool must not write to).
async fn shadow_connection(
    db: &Database,
    copts: &ClusterOptions,
) -> Result<(Option<Cluster>, PgConnection)> {
    const SHADOW_DB: &str = "reims_verify_shadow";
    match db {
        Database::Ephemeral(cluster) => {
            cluster.create_database(SHADOW_DB, None).await?;
            Ok((None, cluster.connect(SHADOW_DB).await?))
        }
        Database::Url(..) => {
            let cluster = Cluster::start(copts).await?;
            cluster.create_database(SHADOW_DB, None).await?;
            let conn = cluster.connect(SHADOW_DB).await?;
            Ok((Some(cluster), conn))
        }
    }
}
