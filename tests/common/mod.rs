//! Shared test harness: one ephemeral cluster per test binary, the project's migrations
//! applied once to a template database, and a fresh database cloned from it per test
//! (≈35 ms). The cluster is stopped and its folder removed at process exit.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use reims_verify::migrate::{apply, discover, ApplyMode, ApplyOptions};
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgConnection;

pub const TEMPLATE: &str = "reims_template";

/// Settings a database, a role or a server may give, each away from PostgreSQL's default
/// in a way that changes how `tests/fixtures/printed` prints: one day as `P1D`, `'\x01'`
/// as `'\001'`, `"bytea"` for `bytea`, `31/01/2024`, the time in UTC+05:30 (a POSIX zone:
/// no time zone files needed), `0.3` for `0.30000000000000004`.
pub const PRINTING_SETTINGS: [(&str, &str); 6] = [
    ("IntervalStyle", "iso_8601"),
    ("bytea_output", "escape"),
    ("quote_all_identifiers", "on"),
    ("DateStyle", "SQL, DMY"),
    ("TimeZone", "<+0530>-05:30"),
    ("extra_float_digits", "0"),
];

/// The crate root, so tests find migrations/ and specs/ whatever the working directory.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn migrations_dir() -> PathBuf {
    root().join("migrations")
}

pub fn specs_dir() -> PathBuf {
    root().join("specs")
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// A temporary folder for set-up shared by a whole test binary. Such folders are held in
/// statics, whose drops never run, so each is also removed by an exit hook: without it,
/// every test run left its shared folders in the system's temporary folder.
#[allow(dead_code)]
pub fn lasting_tempdir() -> tempfile::TempDir {
    static FOLDERS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    static HOOK: std::sync::Once = std::sync::Once::new();
    extern "C" fn remove_all() {
        let folders = std::mem::take(&mut *FOLDERS.lock().unwrap_or_else(|p| p.into_inner()));
        for folder in folders {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe {
            libc::atexit(remove_all);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    FOLDERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(dir.path().to_path_buf());
    dir
}

/// The snapshot round-trip corpus (`tests/fixtures/snapshot/corpus.sql`: every object kind,
/// over `public` and `app`), with `citext` replaced by `text` where the server of `db`
/// lacks the extension (said on stderr).
#[allow(dead_code)]
pub async fn corpus_sql(db: &str) -> String {
    let sql = std::fs::read_to_string(fixture("snapshot/corpus.sql")).unwrap();
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citext')",
    )
    .fetch_one(&mut connect(db).await)
    .await
    .unwrap();
    if available {
        sql
    } else {
        report_skip("extension citext is not installed here; the corpus runs without an extension");
        sql.replace("CREATE EXTENSION citext;", "")
            .replace("citext", "text")
    }
}

/// Run async set-up on a private runtime (tests run inside their own runtimes).
fn on_own_runtime<T, F, Fut>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .join()
    .unwrap()
}

/// The shared cluster, with the template database migrated.
pub fn cluster() -> &'static EphemeralCluster {
    static CLUSTER: OnceLock<EphemeralCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        on_own_runtime(|| async {
            let cluster = EphemeralCluster::start(&ClusterOptions::default())
                .await
                .expect("start the shared test cluster");
            cluster.create_database(TEMPLATE, None).await.unwrap();
            let files = discover(&migrations_dir()).unwrap();
            let target = cluster.connect_options(TEMPLATE);
            apply(&target, &files, &ApplyMode::All, &ApplyOptions::default())
                .await
                .expect("the project's migrations apply");
            cluster
        })
    })
}

/// Apply every migration of `dir` to database `db` of the shared cluster.
pub async fn apply_migrations(db: &str, dir: &Path) {
    apply_migrations_on(cluster(), db, dir).await;
}

/// Apply every migration of `dir` to database `db` of cluster `c`.
pub async fn apply_migrations_on(c: &EphemeralCluster, db: &str, dir: &Path) {
    let files = discover(dir).unwrap();
    apply(
        &c.connect_options(db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{} applies: {e}", dir.display()));
}

/// A fresh database cloned from the migrated template; returns its name.
pub async fn migrated_db(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("t_{}_{}", tag, N.fetch_add(1, Ordering::Relaxed));
    cluster()
        .create_database(&name, Some(TEMPLATE))
        .await
        .unwrap();
    name
}

/// Copies every file of a flat folder (a project's migrations, specs or reports) into `to`,
/// made if missing. A folder inside it stops the test: copied file by file it would be
/// left out, and the copy would then not be the project it stands for.
pub fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        assert!(!path.is_dir(), "{} holds a folder", from.display());
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// A fresh empty database; returns its name.
pub async fn empty_db(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!("e_{}_{}", tag, N.fetch_add(1, Ordering::Relaxed));
    cluster().create_database(&name, None).await.unwrap();
    name
}

/// Where a migration run opens its sessions on one database of the shared cluster.
pub fn target(db: &str) -> PgConnectOptions {
    cluster().connect_options(db)
}

pub async fn connect(db: &str) -> PgConnection {
    cluster().connect(db).await.unwrap()
}

/// The small ledger schema of `tests/fixtures/report/` with its deliberate drift applied:
/// the arguments after `check` that make a short run with failures.
pub const FAILING_LEDGER: [&str; 6] = [
    "--migrations",
    "tests/fixtures/report/migrations",
    "--specs",
    "tests/fixtures/report/specs",
    "--apply-after",
    "tests/fixtures/report/drift.sql",
];

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_reims-verify"))
}

/// The binary with `args`, run from the repository's root without colour and with no
/// server named by the environment (`DATABASE_URL`, `PGHOST`): every test's own setting.
pub fn reims_command(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST");
    cmd
}

/// `check --no-probe --no-report --format json` with `args` after it: the exit code, the run
/// record it printed, and its stderr.
pub fn check_json(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["check", "--no-probe", "--no-report", "--format", "json"];
    all.extend_from_slice(args);
    let out = reims_command(&all).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let run = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out.status.code(), run, stderr)
}

/// A project folder: `migrations/` and `specs/` holding `migrations` and `specs` (file name,
/// text), with REIMS's spec of `schema_migrations` among the specs, as `check` needs.
pub fn project_folder<M: AsRef<str>, S: AsRef<str>>(
    migrations: &[(&str, M)],
    specs: &[(&str, S)],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (migration_folder, spec_folder) = (dir.path().join("migrations"), dir.path().join("specs"));
    std::fs::create_dir(&migration_folder).unwrap();
    std::fs::create_dir(&spec_folder).unwrap();
    for (name, sql) in migrations {
        std::fs::write(migration_folder.join(name), sql.as_ref()).unwrap();
    }
    for (name, yaml) in specs {
        std::fs::write(spec_folder.join(name), yaml.as_ref()).unwrap();
    }
    std::fs::copy(
        specs_dir().join("schema_migrations.yaml"),
        spec_folder.join("schema_migrations.yaml"),
    )
    .unwrap();
    dir
}

/// Run `cmd` (the binary, from [`reims_command`]) with neither cache nor a shadow built
/// ahead: its exit code, then its stdout and stderr together.
pub fn run_uncached(cmd: &mut std::process::Command) -> (Option<i32>, String) {
    let out = cmd
        .env("REIMS_VERIFY_NO_CACHE", "1")
        .env("REIMS_VERIFY_NO_SHADOW_AHEAD", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Say that a test is skipped, and why, where the test runner shows it: written straight to
/// the process's stderr, which libtest does not capture (its capture takes only the print
/// macros), so a skip is never silent.
pub fn report_skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// Whether a run whose clusters go in `parent` (the default folder when `None`) builds the
/// shadow ahead, as the run itself decides; when not, the test is reported skipped with the
/// run's reason.
pub fn builds_ahead(parent: Option<&Path>) -> bool {
    let options = ClusterOptions {
        parent_dir: parent.map(Path::to_path_buf),
        ..ClusterOptions::default()
    };
    match reims_verify::commands::why_not_ahead(&options) {
        None => true,
        Some(reason) => {
            report_skip(&reason);
            false
        }
    }
}

/// Writes one spec per `(file stem, YAML)` into a new folder and loads them.
pub fn specs_of<S: AsRef<str>, Y: AsRef<str>>(
    docs: &[(S, Y)],
) -> (tempfile::TempDir, reims_verify::spec::SpecSet) {
    let dir = tempfile::tempdir().unwrap();
    for (stem, yaml) in docs {
        std::fs::write(
            dir.path().join(format!("{}.yaml", stem.as_ref())),
            yaml.as_ref(),
        )
        .unwrap();
    }
    let specs = reims_verify::spec::load_dir(dir.path()).unwrap();
    (dir, specs)
}

/// The constraint probes of `specs` on `db`, as `role` when given, in a transaction that
/// is rolled back.
pub async fn constraint_probes_as(
    db: &str,
    specs: &reims_verify::spec::SpecSet,
    role: Option<&str>,
    config: &reims_verify::probe::ProbeConfig,
) -> Vec<reims_verify::verify::Finding> {
    use sqlx::Connection;
    let mut conn = connect(db).await;
    let schema = reims_verify::catalog::read_schema(&mut conn, "public")
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    if let Some(role) = role {
        sqlx::raw_sql(&format!("SET LOCAL ROLE {role}"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let findings = reims_verify::probe::constraint_probes(&mut tx, specs, &schema, config)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    findings
}

/// The status and message of the finding about `object`; panics, listing the findings,
/// when there is none.
pub fn status_of(
    findings: &[reims_verify::verify::Finding],
    object: &str,
) -> (reims_verify::verify::Status, String) {
    let f = findings
        .iter()
        .find(|f| f.object == object)
        .unwrap_or_else(|| panic!("no finding for {object}: {findings:#?}"));
    (f.status, f.message.clone())
}

/// A finished command's exit code, stdout and stderr, for an assertion's message.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The failed findings of a run record, as `code object` lines, in the record's order.
pub fn failed_findings(run: &serde_json::Value) -> Vec<String> {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["object"].as_str().unwrap()
            )
        })
        .collect()
}
