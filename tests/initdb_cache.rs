//! The initdb cache against real runs: every kind of damage falls back to a fresh initdb and
//! repairs the entry, and several processes filling or repairing the cache at once all
//! succeed and leave one good entry.

#[path = "common/cache_entry.rs"]
mod cache_entry;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A private cache folder and cluster parent.
struct Cache {
    dir: tempfile::TempDir,
    parent: tempfile::TempDir,
}

impl Cache {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        // Lasting: the filled cache is held in a static.
        let parent = lasting_tempdir();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Cache {
            dir: lasting_tempdir(),
            parent,
        }
    }

    /// `migrate --list`: one cluster start, from the cache when it can.
    fn run(&self) -> Output {
        Command::new(bin())
            .args(["migrate", "--list", "--migrations"])
            .arg(migrations_dir())
            .env("REIMS_VERIFY_CACHE_DIR", self.dir.path())
            .env("REIMS_VERIFY_TMPDIR", self.parent.path())
            .env_remove("REIMS_VERIFY_NO_CACHE")
            .env_remove("DATABASE_URL")
            .env_remove("PGHOST")
            .output()
            .unwrap()
    }

    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        n.sort();
        n
    }

    fn entry(&self) -> PathBuf {
        let names = self.names();
        assert_eq!(names.len(), 1, "one entry and nothing else: {names:?}");
        assert!(names[0].starts_with("initdb-"), "{names:?}");
        self.dir.path().join(&names[0])
    }
}

/// A cache filled once by a real run; each damage test damages a copy of it.
fn filled() -> &'static Cache {
    static FILLED: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    FILLED.get_or_init(|| {
        let cache = Cache::new();
        let out = cache.run();
        assert!(out.status.success(), "{}", stderr(&out));
        cache.entry();
        cache
    })
}

/// `cp -a FROM/. TO` (modes kept).
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Damage the entry with `damage`; the next run must succeed, say that the entry was
/// damaged (naming `expect` in the reason), and leave a repaired entry that the run after
/// uses without complaint.
fn damaged_entry_is_repaired(what: &str, expect: &str, damage: impl FnOnce(&Path)) {
    let cache = Cache::new();
    copy_tree(filled().dir.path(), cache.dir.path());
    damage(&cache.entry());
    let out = cache.run();
    let err = stderr(&out);
    assert!(out.status.success(), "{what}: the run failed:\n{err}");
    assert!(
        err.contains("initdb cache entry") && err.contains(expect),
        "{what}: the damage is named:\n{err}"
    );
    // Repaired: the next run restores from it without a note.
    let entry = cache.entry();
    assert!(entry.join("MANIFEST").is_file(), "{what}: not repaired");
    let again = cache.run();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        !stderr(&again).contains("initdb cache entry"),
        "{what}: still damaged:\n{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_dir(cache.parent.path()).unwrap().count(), 0);
}

#[test]
fn a_truncated_file_is_repaired() {
    damaged_entry_is_repaired("truncated", "bytes, expected", |e| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(e.join("data/global/pg_control"))
            .unwrap();
        f.set_len(100).unwrap();
    });
}

#[test]
fn a_removed_pg_version_is_repaired() {
    damaged_entry_is_repaired("no PG_VERSION", "PG_VERSION", |e| {
        std::fs::remove_file(e.join("data/PG_VERSION")).unwrap();
    });
}

#[test]
fn a_corrupt_pg_control_is_repaired() {
    damaged_entry_is_repaired("corrupt pg_control", "content differs", |e| {
        let path = e.join("data/global/pg_control");
        let mut bytes = std::fs::read(&path).unwrap();
        for b in bytes.iter_mut().take(64) {
            *b ^= 0xff;
        }
        std::fs::write(&path, bytes).unwrap();
    });
}

#[test]
fn an_unreadable_file_is_repaired() {
    // As root, modes do not stop reading; a FIFO in place of a file cannot be read as one
    // (and must not hang the run).
    damaged_entry_is_repaired("FIFO", "not a regular file", |e| {
        let path = e.join("data/global/pg_filenode.map");
        std::fs::remove_file(&path).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    });
}

#[test]
fn a_half_written_entry_is_repaired() {
    damaged_entry_is_repaired("no manifest", "manifest", |e| {
        std::fs::remove_file(e.join("MANIFEST")).unwrap();
    });
    damaged_entry_is_repaired("manifest cut short", "manifest", |e| {
        let m = std::fs::read_to_string(e.join("MANIFEST")).unwrap();
        std::fs::write(e.join("MANIFEST"), &m[..m.len() / 3]).unwrap();
    });
}

#[test]
fn an_entry_the_server_refuses_is_repaired() {
    // The manifest is rewritten to match the damage, so only the server can tell.
    damaged_entry_is_repaired("consistent but unusable", "would not start", |e| {
        cache_entry::make_refused(e);
    });
}

#[test]
fn a_dead_runs_half_written_entry_is_removed() {
    let cache = Cache::new();
    // A folder named and marked as written by a process that is gone.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let stale = cache.dir.path().join(format!(".tmp-{pid}-abcdef"));
    std::fs::create_dir_all(stale.join("data")).unwrap();
    std::fs::write(stale.join("data/PG_VERSION"), "15\n").unwrap();
    let out = cache.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "the dead run's folder remains");
    cache.entry();
}

/// `n` runs of [`Cache::run`] at once.
fn together(cache: &Cache, n: usize) -> Vec<Output> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(|| cache.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn processes_filling_and_repairing_the_cache_at_once_all_succeed() {
    let cache = Cache::new();
    let together = |n| together(&cache, n);
    // A cold cache filled by four runs at once: one entry, no temporary folder left.
    for out in together(4) {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let entry = cache.entry();
    // Damaged, then repaired by four runs at once.
    std::fs::remove_file(entry.join("data/PG_VERSION")).unwrap();
    for out in together(4) {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let entry = cache.entry();
    assert!(entry.join("data/PG_VERSION").is_file(), "repaired");
    // Warm: four runs restore at once.
    for out in together(4) {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("initdb cache entry"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read_dir(cache.parent.path()).unwrap().count(), 0);
}

/// Stand-ins for entries of other servers: folders named as entries, each with a manifest
/// last modified at `when(i)`.
fn other_entries(cache: &Cache, n: usize, when: impl Fn(u64) -> std::time::SystemTime) {
    for i in 0..n as u64 {
        let e = cache.dir.path().join(format!("initdb-{:024x}", i + 1));
        std::fs::create_dir_all(e.join("data")).unwrap();
        let f = std::fs::File::create(e.join("MANIFEST")).unwrap();
        f.set_modified(when(i)).unwrap();
    }
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn the_cache_keeps_the_eight_most_recently_used_entries() {
    use std::time::{Duration, SystemTime};
    let cache = Cache::new();
    copy_tree(filled().dir.path(), cache.dir.path());
    let ours = cache.entry();
    // Our entry last used two days ago, eight others between one and eight hours ago.
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .append(true)
        .open(ours.join("MANIFEST"))
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    other_entries(&cache, 8, |i| {
        SystemTime::now() - Duration::from_secs(3600 * (i + 1))
    });
    std::fs::create_dir(cache.dir.path().join("shadow")).unwrap();
    let out = cache.run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("initdb cache entry"),
        "{}",
        stderr(&out)
    );
    // Restored from, so used just now; the one used longest ago (eight hours) is gone.
    assert!(modified(&ours.join("MANIFEST")) > SystemTime::now() - Duration::from_secs(600));
    let names = cache.names();
    let ours_name = ours.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(
        names.len(),
        9,
        "eight entries and the shadow folder: {names:?}"
    );
    assert!(names.contains(&ours_name), "{names:?}");
    assert!(names.contains(&"shadow".to_string()), "{names:?}");
    assert!(!names.contains(&format!("initdb-{:024x}", 8)), "{names:?}");
    // A run that stores a new entry prunes as well: ours gone, the newest seven others
    // and the new one kept.
    std::fs::remove_dir_all(&ours).unwrap();
    other_entries(&cache, 8, |i| {
        SystemTime::now() - Duration::from_secs(3600 * (i + 1))
    });
    let out = cache.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let names = cache.names();
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(names.contains(&ours_name), "stored again: {names:?}");
    assert!(!names.contains(&format!("initdb-{:024x}", 8)), "{names:?}");
    assert_eq!(std::fs::read_dir(cache.parent.path()).unwrap().count(), 0);
}

#[test]
fn an_entry_pruned_while_other_runs_restore_from_it_is_not_called_damaged() {
    use std::time::{Duration, SystemTime};
    // Eight entries used "in an hour": every run's own entry is the least recently used,
    // so each run that restores or stores prunes it while the others may be copying it.
    for round in 0..3 {
        let cache = Cache::new();
        copy_tree(filled().dir.path(), cache.dir.path());
        other_entries(&cache, 8, |_| SystemTime::now() + Duration::from_secs(3600));
        for out in together(&cache, 4) {
            let err = stderr(&out);
            assert!(out.status.success(), "round {round}: {err}");
            assert!(!err.contains("damaged"), "round {round}: {err}");
        }
        assert_eq!(std::fs::read_dir(cache.parent.path()).unwrap().count(), 0);
        let names = cache.names();
        assert_eq!(names.len(), 8, "round {round}: {names:?}");
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with(".tmp-") && !n.starts_with(".trash-")),
            "round {round}: {names:?}"
        );
    }
}

/// initdb makes a collation for each locale the machine has (`locale -a`), so the
/// machine's locales are part of the key: an entry made before a locale was added is not
/// used once the locale is there. Before, it was: a migration naming the new locale's
/// collation failed on the copy, where it succeeds after a fresh initdb. A `locale` that
/// lists only C and POSIX, found first on the PATH (initdb's backend runs it through the
/// shell too), stands for the machine before the locale came.
#[test]
fn an_entry_made_before_a_locale_was_added_is_not_used_after() {
    use std::os::unix::fs::PermissionsExt;
    let listed = Command::new("locale").arg("-a").output();
    let listed = listed
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let mut names: Vec<&str> = listed
        .lines()
        .filter(|l| !matches!(*l, "C" | "POSIX"))
        .collect();
    // A locale of a language before C.utf8, which some systems do not import.
    names.sort_by_key(|l| l.starts_with("C."));
    let Some(name) = names.first() else {
        report_skip(
            "an_entry_made_before_a_locale_was_added_is_not_used_after: `locale -a` lists no \
             locale but C and POSIX here",
        );
        return;
    };
    let fake = tempfile::tempdir().unwrap();
    std::fs::set_permissions(fake.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = fake.path().join("locale");
    std::fs::write(&script, "#!/bin/sh\nprintf 'C\\nPOSIX\\n'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let project = tempfile::tempdir().unwrap();
    let migrations = project.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    std::fs::write(
        migrations.join("001_collated.sql"),
        format!("CREATE TABLE collated (x text COLLATE \"{name}\");\n"),
    )
    .unwrap();
    let cache = Cache::new();
    let migrate = |path: &str| {
        Command::new(bin())
            .args(["migrate", "--all", "--migrations"])
            .arg(&migrations)
            .env("REIMS_VERIFY_CACHE_DIR", cache.dir.path())
            .env("REIMS_VERIFY_TMPDIR", cache.parent.path())
            .env("PATH", path)
            .env_remove("REIMS_VERIFY_NO_CACHE")
            .env_remove("DATABASE_URL")
            .env_remove("PGHOST")
            .output()
            .unwrap()
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let before = migrate(&format!("{}:{path}", fake.path().display()));
    assert!(
        !before.status.success(),
        "the collation {name} was there without its locale:\n{}",
        stderr(&before)
    );
    assert_eq!(cache.names().len(), 1, "{:?}", cache.names());
    let after = migrate(&path);
    assert!(
        after.status.success(),
        "with the locale there, the collation {name} is not:\n{}",
        stderr(&after)
    );
    assert_eq!(
        cache.names().len(),
        2,
        "one entry for each list of locales: {:?}",
        cache.names()
    );
    assert_eq!(std::fs::read_dir(cache.parent.path()).unwrap().count(), 0);
}
