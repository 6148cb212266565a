//! Finding the PostgreSQL server binaries (`initdb`, `postgres`) for an ephemeral cluster.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// A folder that holds `initdb` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinDir {
    /// The folder.
    pub path: PathBuf,
}

impl BinDir {
    /// The full path of one program in this folder.
    pub fn program(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The server's major version, read from `postgres --version`.
    pub fn version(&self) -> Result<String> {
        let out = Command::new(self.program("postgres"))
            .arg("--version")
            .output()
            .map_err(|e| Error::Cluster {
                message: format!("cannot run {}: {e}", self.program("postgres").display()),
                hint: format!(
                    "check that {} holds a PostgreSQL server that runs here, or name another \
                     with --pg-bindir",
                    self.path.display()
                ),
            })?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// The major version in a `postgres --version` line (`postgres (PostgreSQL) 15.14 …` → 15).
pub fn major_of(version_line: &str) -> Option<u32> {
    let rest = version_line.split(')').nth(1).unwrap_or(version_line);
    let number = rest.split_whitespace().next()?;
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn holds_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// Find the binaries: the explicit folder if given (it must hold them), else
/// `REIMS_VERIFY_PG_BINDIR`, else `pg_config --bindir`, else the usual install folders
/// (the newest `/usr/lib/postgresql/N/bin` first).
pub fn find_bindir(explicit: Option<&Path>) -> Result<BinDir> {
    if let Some(dir) = explicit {
        return if holds_server(dir) {
            Ok(BinDir {
                path: dir.to_path_buf(),
            })
        } else {
            Err(Error::Usage {
                message: format!("--pg-bindir {} holds no initdb and postgres", dir.display()),
                hint: "point --pg-bindir at the folder printed by `pg_config --bindir`".into(),
            })
        };
    }
    let mut searched = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(env) = std::env::var_os("REIMS_VERIFY_PG_BINDIR") {
        candidates.push(PathBuf::from(env));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    candidates.extend(versioned_dirs(Path::new("/usr/lib/postgresql")));
    candidates.extend(versioned_dirs(Path::new("/usr/pgsql")));
    for fixed in [
        "/usr/local/pgsql/bin",
        "/usr/local/bin",
        "/opt/homebrew/bin",
        "/usr/bin",
    ] {
        candidates.push(PathBuf::from(fixed));
    }
    for dir in candidates {
        if holds_server(&dir) {
            return Ok(BinDir { path: dir });
        }
        searched.push(dir.display().to_string());
    }
    Err(Error::PostgresNotFound {
        searched: searched.join(", "),
    })
}

/// `/usr/lib/postgresql/<N>/bin` folders, newest major version first.
fn versioned_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let major = name.split('.').next()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_folder_without_binaries_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_bindir(Some(dir.path())).unwrap_err();
        assert!(matches!(err, Error::Usage { .. }), "{err:?}");
        assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
    }

    #[test]
    fn versioned_dirs_are_newest_first() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "13", "15", "notaversion"] {
            std::fs::create_dir_all(root.path().join(v).join("bin")).unwrap();
        }
        let dirs = versioned_dirs(root.path());
        let names: Vec<String> = dirs
            .iter()
            .map(|p| {
                p.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string()
            })
            .collect();
        assert_eq!(names, vec!["15", "13", "9.6"]);
    }
}
