//! A cache of freshly initdb'd data directories, so that an ephemeral cluster costs a copy
//! (tens of milliseconds on tmpfs) instead of an initdb (about 0.4 s).
//!
//! The key is a hash of everything that shapes the data directory: the server's version
//! string, the folder of the binaries, the initdb arguments and the owner. A cache entry is
//! used only when its marker says it is complete and matches the key; anything else (no
//! cache, a half-written or stale entry, a copy that fails) falls back to a real initdb.
//! Entries are written to a temporary name and renamed into place, so concurrent runs never
//! see a partial entry. Where the cache lives and how to turn it off: [`crate::cache_dir`].

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const MARKER: &str = "reims-verify-initdb-cache";

/// Where cached data directories live, or `None` when the cache is off or has no home.
fn root() -> Option<PathBuf> {
    crate::cache_dir::root()
}

/// The cache key for one way of running initdb.
pub(crate) fn key(version: &str, bindir: &Path, args: &[&str], owner: Option<u32>) -> String {
    let mut h = Sha256::new();
    h.update(version.as_bytes());
    h.update(bindir.as_os_str().as_encoded_bytes());
    for a in args {
        h.update(a.as_bytes());
        h.update([0]);
    }
    h.update(owner.unwrap_or(u32::MAX).to_le_bytes());
    hex::encode(&h.finalize()[..12])
}

fn entry(root: &Path, key: &str) -> PathBuf {
    root.join(format!("initdb-{key}"))
}

fn copy_tree(from: &Path, to: &Path) -> bool {
    // `cp -a` keeps modes and ownership (the server refuses a data dir with loose modes,
    // and as root the files must stay the server user's).
    Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .is_ok_and(|s| s.success())
}

/// Copy a cached data directory to `data_dir` (which must not exist). False when there is no
/// usable entry or the copy failed; the caller then runs initdb.
pub(crate) fn restore(key: &str, data_dir: &Path) -> bool {
    let Some(root) = root() else { return false };
    let e = entry(&root, key);
    let complete = std::fs::read_to_string(e.join(MARKER)).is_ok_and(|m| m.trim() == key)
        && e.join("data/PG_VERSION").is_file();
    if !complete {
        // Entries appear whole (rename), so an incomplete one is damaged: drop it so that
        // this run can store a good one.
        if e.exists() {
            let _ = std::fs::remove_dir_all(&e);
        }
        return false;
    }
    if copy_tree(&e.join("data"), data_dir) {
        return true;
    }
    let _ = std::fs::remove_dir_all(data_dir);
    false
}

/// Keep a copy of a fresh data directory for next time. Failures only cost the next run an
/// initdb, so they are ignored.
pub(crate) fn store(key: &str, data_dir: &Path) {
    let Some(root) = root() else { return };
    let e = entry(&root, key);
    if e.exists() || std::fs::create_dir_all(&root).is_err() {
        return;
    }
    let tmp = root.join(format!(".tmp-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    if std::fs::create_dir_all(&tmp).is_err() {
        return;
    }
    let ok =
        copy_tree(data_dir, &tmp.join("data")) && std::fs::write(tmp.join(MARKER), key).is_ok();
    if !ok || std::fs::rename(&tmp, &e).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_anything_that_shapes_the_data_dir() {
        let base = key(
            "postgres 15.18",
            Path::new("/usr/lib/postgresql/15/bin"),
            &["--locale=C"],
            Some(101),
        );
        assert_eq!(
            base,
            key(
                "postgres 15.18",
                Path::new("/usr/lib/postgresql/15/bin"),
                &["--locale=C"],
                Some(101)
            )
        );
        assert_ne!(
            base,
            key(
                "postgres 16.4",
                Path::new("/usr/lib/postgresql/15/bin"),
                &["--locale=C"],
                Some(101)
            )
        );
        assert_ne!(
            base,
            key(
                "postgres 15.18",
                Path::new("/opt/pg/bin"),
                &["--locale=C"],
                Some(101)
            )
        );
        assert_ne!(
            base,
            key(
                "postgres 15.18",
                Path::new("/usr/lib/postgresql/15/bin"),
                &["--locale=en_US"],
                Some(101)
            )
        );
        assert_ne!(
            base,
            key(
                "postgres 15.18",
                Path::new("/usr/lib/postgresql/15/bin"),
                &["--locale=C"],
                None
            )
        );
    }
}
