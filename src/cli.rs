//! The command line: argument types (clap) and the dispatch from a command to its module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Proves a PostgreSQL schema is what its migrations and specs claim.
#[derive(Debug, Parser)]
#[command(name = "reims-verify", version, about, long_about = None)]
pub struct Cli {
    /// Colour in terminal output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply, list or show the history of migrations (the seed's runner interface).
    Migrate(MigrateArgs),
    /// Apply every migration to a database and prove the result matches the specs.
    Check(CheckArgs),
    /// Work with spec files.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Re-render or verify compliance reports without a database.
    Report(ReportArgs),
}

/// `report` arguments: re-render from a run record, or verify a report's digest.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    /// Verify instead of render.
    #[command(subcommand)]
    pub action: Option<ReportAction>,
    /// The run record to render (`run.json` from an earlier `check`).
    #[arg(long, value_name = "RUN_JSON")]
    pub from: Option<PathBuf>,
    /// Folder to write run.json, junit.xml, report.md and report.html into.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

/// `report` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ReportAction {
    /// Recompute the digest of a run.json (or of the run.json a report names) and exit
    /// non-zero on any mismatch.
    Verify {
        /// `run.json`, `report.html` or `report.md`.
        file: PathBuf,
    },
}

/// Spec subcommands.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the JSON Schema of the spec format (for editors).
    Schema,
    /// Load and validate every spec file without a database.
    Validate {
        /// Folder of spec files.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
    },
    /// Write specs from a live database, in the format people write by hand.
    Snapshot(SnapshotArgs),
}

/// `spec snapshot` arguments.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Folder to write one YAML spec per relation into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite spec files that already exist in DIR.
    #[arg(long)]
    pub force: bool,
    /// Schema to snapshot (repeatable; default `public`). Relations outside `public` get
    /// `schema:` in their spec, and each schema gets a schema document.
    #[arg(long = "schema", value_name = "NAME", default_values_t = vec!["public".to_string()])]
    pub schemas: Vec<String>,
    /// Database selection (a URL, or an ephemeral cluster with --migrations applied).
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// With no URL: the migrations to apply to the ephemeral cluster before the snapshot.
    #[arg(long, default_value = "migrations")]
    pub migrations: PathBuf,
}

/// Where the database comes from.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A server to use instead of an ephemeral cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder holding initdb and postgres for the ephemeral cluster.
    #[arg(long, env = "REIMS_VERIFY_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
    /// OS user that runs the ephemeral server when reims-verify runs as root.
    #[arg(long, env = "REIMS_VERIFY_PG_USER")]
    pub pg_user: Option<String>,
    /// Where the throw-away PostgreSQL comes from when no URL is given.
    #[arg(long, value_enum, default_value_t = Backend::Ephemeral, env = "REIMS_VERIFY_BACKEND")]
    pub backend: Backend,
    /// Seconds to wait for a server named by URL before giving up (exit 3).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub connect_timeout: u64,
    /// statement_timeout for every statement on a server named by URL.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub statement_timeout: String,
    /// lock_timeout on a server named by URL: never queue behind other sessions' locks.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub lock_timeout: String,
}

/// Where an ephemeral PostgreSQL comes from.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Backend {
    /// initdb + postgres from local server binaries (the default).
    Ephemeral,
    /// A PostgreSQL container started with testcontainers (needs a Docker daemon).
    Docker,
}

/// `migrate` arguments.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("action").args(["list", "all", "history", "name"]).required(true))]
pub struct MigrateArgs {
    /// List every migration with its status.
    #[arg(long)]
    pub list: bool,
    /// Apply every pending migration, in order.
    #[arg(long)]
    pub all: bool,
    /// Show schema_migrations, newest first.
    #[arg(long)]
    pub history: bool,
    /// Apply one migration (file name or version number).
    pub name: Option<String>,
    /// Re-apply an applied migration, or accept one whose file has changed.
    #[arg(long)]
    pub force: bool,
    /// Folder of NNN_name.sql migrations.
    #[arg(long, default_value = "migrations")]
    pub migrations: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Database selection.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// `check` arguments.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Folder of NNN_name.sql migrations.
    #[arg(long, default_value = "migrations")]
    pub migrations: PathBuf,
    /// Folder of YAML specs.
    #[arg(long, default_value = "specs")]
    pub specs: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Random cases per CHECK rule and random sequences per function property.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub cases: u32,
    /// Seed for the probes' random cases; the same seed replays the same run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run the behavioural probes. They run by default on an ephemeral cluster; on a
    /// --database-url server they run only with this flag, inside a rolled-back transaction.
    #[arg(long, conflicts_with = "no_probe")]
    pub probe: bool,
    /// Skip the behavioural probes (structure only).
    #[arg(long)]
    pub no_probe: bool,
    /// Folder for run.json, junit.xml, report.md and report.html.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report: PathBuf,
    /// Write no report files.
    #[arg(long)]
    pub no_report: bool,
    /// Extra SQL files applied after the migrations (e.g. a deliberate mutation).
    #[arg(long = "apply-after", value_name = "FILE")]
    pub apply_after: Vec<PathBuf>,
    /// A schema to check (repeatable). The schemas the specs name are always checked; when
    /// neither names one, `public`.
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,
    /// Database selection.
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Machine or human output.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// Tables for people.
    Table,
    /// JSON for scripts.
    Json,
}
