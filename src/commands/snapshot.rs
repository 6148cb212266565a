//! `reims-verify spec snapshot`: specs written from a live database (`--database-url`), or
//! from an ephemeral cluster with `--migrations` applied, one YAML file per relation.
//!
//! The database is only read. The snapshot is then compiled in a shadow database and
//! verified against the catalog it came from, so that the files written pass `check`.

use sqlx::PgConnection;

use crate::catalog::{read_schemas, Schema};
use crate::cli::SnapshotArgs;
use crate::error::{Error, ExitCode, Result};
use crate::migrate::{apply, discover, ApplyMode};
use crate::postgres::{Cluster, ClusterOptions, Database, EphemeralCluster};
use crate::snapshot::{
    existing_specs, exists_error, render_files, round_trip_with, snapshot_schema_with, write_dir,
    Header, Snapshot,
};

use super::{apply_options, cluster_options, server_settings};

/// Run `spec snapshot`.
pub async fn run_snapshot(args: &SnapshotArgs) -> Result<ExitCode> {
    let bindings = crate::verify::AccessOptions::parse(&args.roles).map_err(|message| {
        crate::error::Error::Usage {
            message,
            hint: "write --role NAME=ROLE, e.g. --role app=reims_app".into(),
        }
    })?;
    let existing = existing_specs(&args.out);
    if !args.force && !existing.is_empty() {
        return Err(exists_error(&args.out, &existing));
    }
    let copts = cluster_options(&args.db);
    let db = Database::open(
        args.db.database_url.as_deref(),
        &copts,
        &server_settings(&args.db, true),
    )
    .await?;
    let mut conn = db.connect().await?;
    if db.is_ephemeral() {
        let files = discover(&args.migrations)?;
        let options = apply_options(&args.db, false, crate::migrate::DEFAULT_LOCK_WAIT);
        apply(&db, &files, &ApplyMode::All, &options).await?;
    }
    for name in &args.schemas {
        require_schema(&mut conn, name, &db.describe()).await?;
    }
    let schema = read_schemas(&mut conn, &args.schemas).await?;
    Database::close(conn).await;

    let names = crate::snapshot::access::RoleNames::new(&bindings.roles, &schema);
    let mut snap = snapshot_schema_with(&schema, &names)?;
    let header = Header {
        source: match &db {
            Database::Ephemeral(cluster) => format!(
                "{} with {}/ applied",
                match cluster {
                    Cluster::Container(c) => format!("a container of {}", c.image()),
                    Cluster::Ephemeral(_) => "an ephemeral cluster".to_string(),
                },
                args.migrations.display().to_string().trim_end_matches('/')
            ),
            Database::Url(url, _) => url.to_string(),
        },
        schema: args.schemas.join(", "),
        taken_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    };
    // The shadow of a handed-over server runs on that server's major when it can.
    let copts = ClusterOptions {
        major: crate::postgres::major_of(&schema.server_version),
        ..copts
    };
    self_check(&db, &copts, &schema, &mut snap, &header, &bindings).await;
    drop(db);

    let files = render_files(&snap, &header);
    let written = write_dir(&args.out, &files, args.force)?;
    let stale: Vec<String> = existing
        .into_iter()
        .filter(|n| !files.iter().any(|(f, _)| f == n))
        .collect();
    if !stale.is_empty() {
        errln!(
            "warning: {} also holds {} that this snapshot did not write: {}",
            args.out.display(),
            if stale.len() == 1 { "a spec" } else { "specs" },
            stale.join(", ")
        );
    }
    for name in &snap.skipped {
        errln!("note: `{name}` was skipped: the spec format cannot describe it");
    }
    outln!(
        "wrote {} spec file(s) to {} from {} (schema {})",
        written.len(),
        args.out.display(),
        header.source,
        args.schemas.join(", ")
    );
    Ok(ExitCode::Passed)
}

/// Refuse a `--schema` the database does not have (exit 2), naming the ones it has.
pub(super) async fn require_schema(conn: &mut PgConnection, schema: &str, db: &str) -> Result<()> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_catalog.pg_namespace \
         WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("listing the schemas", &e))?;
    if names.iter().any(|n| n == schema) {
        return Ok(());
    }
    Err(Error::Usage {
        message: format!("schema `{schema}` does not exist in {db}"),
        hint: format!("pass --schema with one of: {}", names.join(", ")),
    })
}

/// Compile the snapshot in a shadow database and verify it against `schema`; report on
/// stderr what could not be made to match. Never fails the command: without a shadow the
/// snapshot is written unchecked.
async fn self_check(
    db: &Database,
    copts: &ClusterOptions,
    schema: &Schema,
    snap: &mut Snapshot,
    header: &Header,
    bindings: &crate::verify::AccessOptions,
) {
    let (cluster, mut conn) = match shadow_connection(db, copts).await {
        Ok(pair) => pair,
        Err(e) => {
            errln!("note: the snapshot was not verified (no shadow database: {e})");
            return;
        }
    };
    let checked = crate::postgres::major_of(&schema.server_version);
    let shadow = cluster
        .as_ref()
        .and_then(|c| crate::postgres::major_of(c.server_version()));
    let printers = match (checked, shadow) {
        (Some(c), Some(s)) if c != s => {
            errln!(
                "warning: the server runs PostgreSQL {c}, but no PostgreSQL {c} binaries were \
                 found, so the snapshot was verified by PostgreSQL {s} (`reims-verify pg \
                 install {c}` lets the same major print both sides)"
            );
            Some(crate::verify::across_majors(c, s))
        }
        _ => None,
    };
    let outcome = round_trip_with(&mut conn, schema, snap, header, bindings).await;
    drop(printers);
    match outcome {
        Ok(report) => {
            for object in &report.downgraded {
                errln!("note: CHECK {object} is written as `sql:` (no structured rule matches it exactly)");
            }
            // Built-in security findings are stated by the database, not missing from the
            // format: a snapshot never acknowledges them, a person fixes or acknowledges.
            let (security, unstated): (Vec<_>, Vec<_>) = report
                .failures
                .iter()
                .partition(|f| f.code.starts_with("security."));
            if !unstated.is_empty() {
                errln!(
                    "warning: {} check(s) will fail on these specs; the spec format cannot state:",
                    unstated.len()
                );
                for f in &unstated {
                    errln!("  {} {}: {}", f.code, f.object, f.message);
                }
            }
            if !security.is_empty() {
                errln!(
                    "security: {} built-in security check(s) will fail until the function is fixed, or acknowledged with a reason (`acknowledge:` in its spec):",
                    security.len()
                );
                for f in &security {
                    errln!("  {} {}: {}", f.code, f.object, f.message);
                }
            }
        }
        Err(e) => errln!("warning: the snapshot does not compile in a shadow database: {e}"),
    }
    Database::close(conn).await;
    drop(cluster);
}

/// An empty database for the shadow: on the ephemeral cluster when there is one, else on a
/// private ephemeral cluster (never on a server the user handed over, which is only read).
async fn shadow_connection(
    db: &Database,
    copts: &ClusterOptions,
) -> Result<(Option<EphemeralCluster>, PgConnection)> {
    const SHADOW_DB: &str = "reims_verify_snapshot_shadow";
    match db {
        Database::Ephemeral(cluster) => {
            cluster.create_database(SHADOW_DB, None).await?;
            Ok((None, cluster.connect(SHADOW_DB).await?))
        }
        Database::Url(..) => {
            let cluster = EphemeralCluster::start(copts).await?;
            cluster.create_database(SHADOW_DB, None).await?;
            let conn = cluster.connect(SHADOW_DB).await?;
            Ok((Some(cluster), conn))
        }
    }
}
