//! The foundation against a real PostgreSQL: the ephemeral cluster's life cycle, the
//! migration runner's guarantees, and the seed's SQL examples on the migrated schema.

mod common;

use std::time::Duration;

use common::*;
use reims_verify::error::{Error, ExitCode};
use reims_verify::migrate::{
    apply, discover, read_history, status_of, ApplyMode, ApplyOptions, MigrationStatus,
    ADVISORY_LOCK_KEY,
};
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};
use sqlx::{Connection, Row};

/// A parent folder for clusters that the server's OS user can traverse.
fn cluster_parent() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn process_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; read its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"),
        Err(_) => false,
    }
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[tokio::test]
async fn cluster_starts_serves_and_leaves_nothing_on_drop() {
    let parent = cluster_parent();
    let opts = ClusterOptions {
        parent_dir: Some(parent.path().to_path_buf()),
        ..Default::default()
    };
    let cluster = EphemeralCluster::start(&opts).await.unwrap();
    let pid = cluster.pid().unwrap();
    let dir = cluster.dir().to_path_buf();
    assert!(process_alive(pid));
    let mut conn = cluster.connect("postgres").await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    // No TCP listener: only the unix socket in the cluster folder.
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(listen, "");
    let fsync: String = sqlx::query_scalar("SHOW fsync")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(fsync, "off");
    // A CREATE INDEX does not size its table to plan parallel workers (README, Speed).
    let workers: String = sqlx::query_scalar("SHOW max_parallel_maintenance_workers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(workers, "0");
    conn.close().await.unwrap();
    drop(cluster);
    assert!(!process_alive(pid), "server {pid} still running after drop");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

/// How many checkpoints the server has done because one was asked for.
async fn checkpoints_asked(conn: &mut sqlx::PgConnection, version_num: i32) -> i64 {
    let sql = if version_num >= 170_000 {
        "SELECT num_requested FROM pg_stat_checkpointer"
    } else {
        "SELECT checkpoints_req FROM pg_stat_bgwriter"
    };
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test]
async fn a_copy_of_a_template_is_made_file_by_file() {
    // The probes' copies of the migrated database: PostgreSQL 15's default (WAL_LOG) reads
    // and logs every block; a FILE_COPY asks for a checkpoint first, which the server counts.
    // A cluster of its own, so that no other test's copy is counted.
    let parent = cluster_parent();
    let opts = ClusterOptions {
        parent_dir: Some(parent.path().to_path_buf()),
        ..Default::default()
    };
    let cluster = EphemeralCluster::start(&opts).await.unwrap();
    cluster.create_database("rv_tpl", None).await.unwrap();
    let mut tpl = cluster.connect("rv_tpl").await.unwrap();
    sqlx::raw_sql("CREATE TABLE rv_kept (id integer PRIMARY KEY); INSERT INTO rv_kept VALUES (7)")
        .execute(&mut tpl)
        .await
        .unwrap();
    tpl.close().await.unwrap();
    let mut conn = cluster.connect("postgres").await.unwrap();
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    if version < 150_000 {
        report_skip(&format!(
            "a_copy_of_a_template_is_made_file_by_file: server {version} has no STRATEGY (before 15, every copy is a file copy)"
        ));
        return;
    }
    let before = checkpoints_asked(&mut conn, version).await;
    cluster
        .create_database("rv_tpl_copy", Some("rv_tpl"))
        .await
        .unwrap();
    // CREATE DATABASE waits for the checkpoint; the counter may be published a moment later.
    let mut after = before;
    for _ in 0..100 {
        after = checkpoints_asked(&mut conn, version).await;
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        after > before,
        "no checkpoint was asked for ({before} before, {after} after): the copy was not a FILE_COPY"
    );
    conn.close().await.unwrap();
    let mut copy = cluster.connect("rv_tpl_copy").await.unwrap();
    let kept: i32 = sqlx::query_scalar("SELECT id FROM rv_kept")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(kept, 7);
    copy.close().await.unwrap();
}

#[tokio::test]
async fn a_copy_of_a_database_keeps_the_settings_it_has_of_its_own() {
    // `CREATE DATABASE … TEMPLATE` copies the files, not what `ALTER DATABASE … SET` and
    // `ALTER ROLE … IN DATABASE … SET` stored for the template. The probes' copies of a
    // migrated database must carry them, or a copy's sessions run otherwise than the
    // application's. A list setting holds quoted elements (`"My App"`): given back as one
    // literal it would name one schema called `app, "My App", public`.
    let cluster = cluster();
    let original = empty_db("own_settings").await;
    let copy = format!("{original}_copy");
    let mut conn = cluster.connect("postgres").await.unwrap();
    sqlx::raw_sql(&format!(
        "ALTER DATABASE {original} SET search_path = app, \"My App\", public;\n\
         ALTER DATABASE {original} SET IntervalStyle = iso_8601;\n\
         ALTER DATABASE {original} SET app.note = 'it''s, \"quoted\"';\n\
         ALTER ROLE CURRENT_USER IN DATABASE {original} SET app.tenant = 'acme';\n\
         ALTER ROLE CURRENT_USER IN DATABASE {original} SET search_path = '';\n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    cluster
        .create_database(&copy, Some(&original))
        .await
        .unwrap();
    let settings = |db: String| {
        sqlx::query_as::<_, (String, Vec<String>)>(
            "SELECT coalesce(r.rolname::text, ''), s.setconfig \
               FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
               LEFT JOIN pg_roles r ON r.oid = s.setrole \
              WHERE d.datname = $1 ORDER BY 1",
        )
        .bind(db)
    };
    let of_original = settings(original.clone())
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let of_copy = settings(copy.clone()).fetch_all(&mut conn).await.unwrap();
    assert_eq!(of_original.len(), 2, "{of_original:?}");
    assert_eq!(of_copy, of_original);
    conn.close().await.unwrap();
    // A session on the copy runs with them, the role's own over the database's.
    let mut on_copy = cluster.connect(&copy).await.unwrap();
    let (path, style, tenant): (String, String, String) = sqlx::query_as(
        "SELECT current_setting('search_path'), current_setting('IntervalStyle'), \
                current_setting('app.tenant')",
    )
    .fetch_one(&mut on_copy)
    .await
    .unwrap();
    assert_eq!(
        (path.as_str(), style.as_str(), tenant.as_str()),
        ("\"\"", "iso_8601", "acme")
    );
    on_copy.close().await.unwrap();
}

#[tokio::test]
async fn cluster_is_cleaned_up_when_its_owner_panics() {
    let parent = cluster_parent();
    let p = parent.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let opts = ClusterOptions {
                    parent_dir: Some(p),
                    ..Default::default()
                };
                let cluster = EphemeralCluster::start(&opts).await.unwrap();
                tx.send(cluster.pid().unwrap()).unwrap();
                panic!("deliberate panic while the cluster is running");
            })
    });
    let pid = rx.recv().unwrap();
    assert!(handle.join().is_err(), "the thread should have panicked");
    assert!(!process_alive(pid), "server {pid} survived the panic");
    assert_eq!(
        std::fs::read_dir(parent.path()).unwrap().count(),
        0,
        "temp dir left behind"
    );
}

#[test]
fn ctrl_c_stops_the_server_and_removes_the_folder() {
    use nix::sys::signal::{kill, Signal};
    let parent = cluster_parent();
    let mut child = std::process::Command::new(bin())
        .args(["check", "--migrations"])
        .arg(migrations_dir())
        .arg("--specs")
        .arg(specs_dir())
        .env("REIMS_VERIFY_TMPDIR", parent.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the cluster folder exists and its server runs, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let needle = parent.path().display().to_string();
    loop {
        if !processes_mentioning(&needle)
            .iter()
            .filter(|p| p.contains("postgres"))
            .collect::<Vec<_>>()
            .is_empty()
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted run exits 130");
    std::thread::sleep(Duration::from_millis(100));
    let left: Vec<String> = processes_mentioning(&needle)
        .into_iter()
        .filter(|p| p.contains("postgres"))
        .collect();
    assert!(left.is_empty(), "orphaned server processes: {left:?}");
    assert_eq!(
        std::fs::read_dir(parent.path()).unwrap().count(),
        0,
        "cluster folder left behind"
    );
}

#[test]
fn missing_binaries_give_a_clear_message_and_exit_3_or_2() {
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["migrate", "--all", "--pg-bindir"])
        .arg(empty.path())
        .arg("--migrations")
        .arg(migrations_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(ExitCode::InvalidInput.code()),
        "{stderr}"
    );
    assert!(stderr.contains("holds no initdb"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[tokio::test]
async fn all_migrations_apply_and_a_second_run_skips_them() {
    let db = empty_db("rerun").await;
    let mut conn = connect(&db).await;
    let files = discover(&migrations_dir()).unwrap();
    assert_eq!(files.len(), 14);
    let first = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap();
    assert!(
        first.steps.iter().all(|s| s.action == "applied"),
        "{first:?}"
    );
    let second = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap();
    assert!(
        second.steps.iter().all(|s| s.action == "skipped"),
        "{second:?}"
    );
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(history.len(), 14);
    assert!(history
        .iter()
        .all(|h| h.success && h.checksum.as_deref().is_some_and(|c| c.len() == 64)));
    let statuses = status_of(&files, &history);
    assert!(statuses
        .iter()
        .all(|s| s.status == MigrationStatus::Applied));
}

#[tokio::test]
async fn a_failing_migration_is_rolled_back_recorded_and_stops_the_run() {
    let db = empty_db("broken").await;
    let mut conn = connect(&db).await;
    let files = discover(&fixture("migrations_broken")).unwrap();
    let err = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap_err();
    let Error::Migration {
        location, message, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        location.file.ends_with("002_create_broken.sql"),
        "{location}"
    );
    assert_eq!(location.line, Some(6), "{err}");
    assert!(message.contains("42703"), "SQLSTATE in message: {message}");
    assert_eq!(err.exit_code(), ExitCode::Database);
    // Nothing of the failed file survives; the first file does; the third never ran.
    let exists = |name: &'static str| {
        sqlx::query_scalar::<_, Option<String>>("SELECT to_regclass($1)::text").bind(name)
    };
    assert!(exists("ok_table")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .is_some());
    assert!(exists("half_applied")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .is_none());
    assert!(exists("never_applied")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .is_none());
    let history = read_history(&mut conn).await.unwrap().unwrap();
    let broken = history
        .iter()
        .find(|h| h.migration_name == "002_create_broken.sql")
        .unwrap();
    assert!(!broken.success);
    assert!(broken
        .error_message
        .as_deref()
        .unwrap()
        .contains("no_such_column"));
    assert!(history
        .iter()
        .all(|h| h.migration_name != "003_create_never.sql"));
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused_unless_forced() {
    let db = empty_db("changed").await;
    let mut conn = connect(&db).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("001_a.sql"), "CREATE TABLE a (id int);").unwrap();
    let files = discover(dir.path()).unwrap();
    apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap();
    std::fs::write(
        dir.path().join("001_a.sql"),
        "CREATE TABLE IF NOT EXISTS a (id int, extra text);",
    )
    .unwrap();
    let files = discover(dir.path()).unwrap();
    let err = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("001_a.sql"), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert_eq!(err.exit_code(), ExitCode::InvalidInput);
    let report = apply(
        &target(&db),
        &files,
        &ApplyMode::All,
        &ApplyOptions::forced(true),
    )
    .await
    .unwrap();
    assert_eq!(report.steps[0].action, "reapplied");
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(
        history[0].checksum.as_deref(),
        Some(files[0].checksum.as_str())
    );
}

#[tokio::test]
async fn one_named_migration_applies_alone_and_force_reapplies_it() {
    let db = empty_db("named").await;
    let mut conn = connect(&db).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_a.sql"),
        "CREATE TABLE IF NOT EXISTS a (id int);",
    )
    .unwrap();
    std::fs::write(dir.path().join("002_b.sql"), "CREATE TABLE b (id int);").unwrap();
    let files = discover(dir.path()).unwrap();
    let r = apply(
        &target(&db),
        &files,
        &ApplyMode::One("001_a.sql".into()),
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap();
    assert_eq!(r.steps.len(), 1);
    assert_eq!(r.steps[0].action, "applied");
    let r = apply(
        &target(&db),
        &files,
        &ApplyMode::One("1".into()),
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap();
    assert_eq!(r.steps[0].action, "skipped");
    let r = apply(
        &target(&db),
        &files,
        &ApplyMode::One("001_a".into()),
        &ApplyOptions::forced(true),
    )
    .await
    .unwrap();
    assert_eq!(r.steps[0].action, "reapplied");
    let history = read_history(&mut conn).await.unwrap().unwrap();
    assert_eq!(history.len(), 1, "002 was not applied");
    let err = apply(
        &target(&db),
        &files,
        &ApplyMode::One("009_nope".into()),
        &ApplyOptions::forced(false),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InvalidInput);
}

#[tokio::test]
async fn the_advisory_lock_keeps_two_runners_apart() {
    let db = empty_db("lock").await;
    let mut holder = connect(&db).await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let db2 = db.clone();
    // The competing runner lives on its own thread and runtime.
    let runner = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let files = discover(&migrations_dir()).unwrap();
                apply(
                    &target(&db2),
                    &files,
                    &ApplyMode::All,
                    &ApplyOptions::forced(false),
                )
                .await
                .map(|r| r.steps.len())
                .map_err(|e| e.to_string())
            })
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!runner.is_finished(), "the runner must wait for the lock");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relname = 'properties'")
            .fetch_one(&mut holder)
            .await
            .unwrap();
    assert_eq!(tables, 0, "nothing applied while the lock is held");
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let applied = runner.join().unwrap().unwrap();
    assert_eq!(applied, 14);
}

#[test]
fn cli_migrate_list_all_history_round_trip_on_a_url() {
    let db = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(empty_db("cli"));
    let url = format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .arg("migrate")
            .args(args)
            .arg("--migrations")
            .arg(migrations_dir())
            .args(["--database-url", &url, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let list = run(&["--list"]);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "pending"));
    let all = run(&["--all"]);
    assert_eq!(all["steps"].as_array().unwrap().len(), 14);
    let list = run(&["--list"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"),
        "{list}"
    );
    let history = run(&["--history"]);
    assert_eq!(history.as_array().unwrap().len(), 14);
}

#[tokio::test]
async fn every_seed_example_runs_unchanged_on_the_migrated_schema() {
    let db = migrated_db("seed").await;
    let mut conn = connect(&db).await;
    let mut files: Vec<_> = std::fs::read_dir(fixture("seed_examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "seed example files: {files:?}");
    let mut statements = 0;
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        statements += sql.matches("-- seed:").count();
        if let Err(e) = sqlx::raw_sql(&sql).execute(&mut conn).await {
            panic!("{} failed: {e}", file.display());
        }
    }
    assert!(statements >= 50, "only {statements} seed examples found");
    // The examples' effects are real: e.g. the performance log got its derived duration.
    let row = sqlx::query("SELECT duration_ms, is_slow, is_error FROM performance_logs WHERE request_id = 'req-abc123'")
        .fetch_one(&mut conn).await.unwrap();
    assert_eq!(row.get::<i32, _>("duration_ms"), 245);
    assert!(!row.get::<bool, _>("is_slow"));
    assert!(!row.get::<bool, _>("is_error"));
}

#[test]
fn the_initdb_cache_is_filled_used_and_survives_damage() {
    let cache = tempfile::tempdir().unwrap();
    let migrate = || {
        std::process::Command::new(bin())
            .args(["migrate", "--all", "--format", "json", "--migrations"])
            .arg(migrations_dir())
            .env("REIMS_VERIFY_CACHE_DIR", cache.path())
            .env_remove("REIMS_VERIFY_NO_CACHE")
            .output()
            .unwrap()
    };
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(cache.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    assert!(migrate().status.success());
    let filled = entries();
    assert_eq!(filled.len(), 1, "one cache entry: {filled:?}");
    assert!(filled[0].join("data/PG_VERSION").is_file());
    // A warm run uses it.
    assert!(migrate().status.success());
    // Damage the entry: the next run falls back to initdb, still succeeds, and repairs it.
    std::fs::remove_file(filled[0].join("data/PG_VERSION")).unwrap();
    let out = migrate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        filled[0].join("data/PG_VERSION").is_file(),
        "entry repaired"
    );
    // Disabled cache: nothing new is written.
    let off = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["migrate", "--all", "--migrations"])
        .arg(migrations_dir())
        .env("REIMS_VERIFY_CACHE_DIR", off.path())
        .env("REIMS_VERIFY_NO_CACHE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_dir(off.path()).unwrap().count(), 0);
}

/// The cores a process or thread may run on, as the kernel lists them (`0-1`, `3`).
fn cores_allowed(proc_path: &str) -> String {
    let status = std::fs::read_to_string(format!("{proc_path}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

/// A thread pinned by a `CorePair` puts the server process of a session it joins on its own
/// core, and gets its own cores back when the pair is dropped; a session nobody joined keeps
/// every core. (Runs on a machine of one core too: the core is then the only one.)
#[tokio::test]
async fn a_paired_session_runs_on_its_threads_core() {
    use reims_verify::postgres::pairing::{self, CorePair, NO_PAIRING_ENV};
    if std::env::var_os(NO_PAIRING_ENV).is_some() {
        report_skip(&format!("{NO_PAIRING_ENV} is set, so nothing is pinned"));
        return;
    }
    let db = empty_db("pairing").await;
    let before = cores_allowed("/proc/thread-self");
    let cores = pairing::thread_cores();
    let core = *cores.last().unwrap();
    let mut plain = connect(&db).await;
    let mut joined = connect(&db).await;
    async fn backend(conn: &mut sqlx::PgConnection) -> String {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(conn)
            .await
            .unwrap();
        format!("/proc/{pid}")
    }
    let plain_proc = backend(&mut plain).await;
    let joined_proc = backend(&mut joined).await;
    {
        let pair = CorePair::pin_to(core).expect("pinning to one of the thread's cores");
        assert_eq!(cores_allowed("/proc/thread-self"), core.to_string());
        pairing::join(&mut joined).await;
        assert_eq!(
            cores_allowed(&joined_proc),
            pair.core().to_string(),
            "the joined session's server process is not on the thread's core"
        );
        // The session still works on its new core.
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut joined)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
    assert_eq!(cores_allowed("/proc/thread-self"), before);
    assert_eq!(
        cores_allowed(&plain_proc),
        before,
        "a session nobody joined was moved"
    );
    // Without a pair, joining moves nothing.
    let mut later = connect(&db).await;
    let later_proc = backend(&mut later).await;
    pairing::join(&mut later).await;
    assert_eq!(cores_allowed(&later_proc), before);
    for c in [plain, joined, later] {
        c.close().await.unwrap();
    }
}
