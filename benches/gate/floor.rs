//! The floor: what PostgreSQL itself needs for a schema. `initdb`, server start
//! (`pg_ctl -w start`), `psql -1 -f` of every migration file in order, `pg_ctl -w stop`.
//! The server runs with the settings the ephemeral cluster uses (fsync, synchronous commit
//! and full-page writes off, no parallel index builds, 1,024 locks per transaction), so
//! neither side gains from them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{ms, server_user};

/// One measured floor, in milliseconds per step.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub initdb: f64,
    pub start: f64,
    pub psql: f64,
    pub stop: f64,
}

impl Floor {
    pub fn total(&self) -> f64 {
        self.initdb + self.start + self.psql + self.stop
    }
}

pub fn as_server_user(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((u, g)) = server_user() {
        cmd.uid(u).gid(g);
    }
    cmd
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The migration files of a folder, in order.
pub fn migration_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

/// `psql -X -q -1 -v ON_ERROR_STOP=1 -f file` against the server whose socket is in `host`.
pub fn psql_file(host: &Path, db: &str, file: &Path) -> Command {
    let mut c = Command::new("psql");
    c.args([
        "-X",
        "-q",
        "-1",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "postgres",
        "-d",
        db,
        "-h",
    ])
    .arg(host)
    .arg("-f")
    .arg(file);
    c
}

/// Measure the floor once for the migrations in `migrations`.
pub fn floor_once(bindir: &Path, migrations: &Path) -> Floor {
    let files = migration_files(migrations);
    let dir = tempfile::Builder::new()
        .prefix("reims-bench-")
        .tempdir_in("/dev/shm")
        .unwrap();
    if let Some((u, g)) = server_user() {
        nix::unistd::chown(dir.path(), Some(u.into()), Some(g.into())).unwrap();
    }
    let data = dir.path().join("data");
    let t0 = Instant::now();
    run_ok(as_server_user(
        Command::new(bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]),
    ));
    let t1 = Instant::now();
    run_ok(as_server_user(
        Command::new(bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_parallel_maintenance_workers=0 -c max_locks_per_transaction=1024",
                dir.path().display()
            ))
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "start"]),
    ));
    let t2 = Instant::now();
    for f in &files {
        run_ok(&mut psql_file(dir.path(), "postgres", f));
    }
    let t3 = Instant::now();
    run_ok(as_server_user(
        Command::new(bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "stop"]),
    ));
    let t4 = Instant::now();
    Floor {
        initdb: ms(t1 - t0),
        start: ms(t2 - t1),
        psql: ms(t3 - t2),
        stop: ms(t4 - t3),
    }
}
