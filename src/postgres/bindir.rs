//! Finding the PostgreSQL server binaries (`initdb`, `postgres`) for an ephemeral cluster,
//! of any major or of one major in particular.
//!
//! The places, in order: `--pg-bindir` (or `REIMS_VERIFY_PG_BINDIR`); the majors registered
//! in `REIMS_VERIFY_PG_BINDIRS` (`16=/path,17=/path`); `pg_config --bindir`; the system's
//! `/usr/lib/postgresql/N/bin` and `/usr/pgsql-N/bin` (newest first); the majors installed
//! by `reims-verify pg install`; then `/usr/local/pgsql/bin`, `/usr/local/bin`,
//! `/opt/homebrew/bin` and `/usr/bin`. Without a major, the first folder that holds a
//! server wins, except that registered and installed majors come after the system's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Environment variable registering binaries of several majors: `16=/path,17=/path`.
pub const BINDIRS_ENV: &str = "REIMS_VERIFY_PG_BINDIRS";

/// Environment variable naming one folder of binaries (the same as `--pg-bindir`).
pub const BINDIR_ENV: &str = "REIMS_VERIFY_PG_BINDIR";

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

    /// The server's version line, read from `postgres --version`.
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

    /// The major version of the server, when `postgres --version` runs and says.
    pub fn major(&self) -> Option<u32> {
        self.version().ok().and_then(|v| major_of(&v))
    }
}

/// The major version in a `postgres --version` line (`postgres (PostgreSQL) 15.14 …` → 15)
/// or a `server_version` (`13.23` → 13).
pub fn major_of(version_line: &str) -> Option<u32> {
    let number = version_line
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Where a folder of binaries was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinDirSource {
    /// `--pg-bindir` or `REIMS_VERIFY_PG_BINDIR`.
    Flag,
    /// `REIMS_VERIFY_PG_BINDIRS`.
    Registered,
    /// `pg_config --bindir`.
    PgConfig,
    /// A system install folder (`/usr/lib/postgresql/N/bin`, …).
    System,
    /// `reims-verify pg install`.
    Installed,
}

impl std::fmt::Display for BinDirSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BinDirSource::Flag => "--pg-bindir",
            BinDirSource::Registered => BINDIRS_ENV,
            BinDirSource::PgConfig => "pg_config",
            BinDirSource::System => "system",
            BinDirSource::Installed => "pg install",
        })
    }
}

/// A place to look, with the major it is known to hold when the place says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The folder.
    pub path: PathBuf,
    /// Where it came from.
    pub source: BinDirSource,
    /// The major its name or registration declares (checked against the server).
    pub declared: Option<u32>,
}

fn holds_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// Parse `REIMS_VERIFY_PG_BINDIRS`: `N=PATH` entries separated by commas.
pub fn parse_registered(raw: &str) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry.split_once('=').and_then(|(m, p)| {
            let major = m.trim().parse::<u32>().ok()?;
            let path = p.trim();
            (!path.is_empty()).then(|| (major, PathBuf::from(path)))
        });
        match parsed {
            Some(p) => out.push(p),
            None => {
                return Err(Error::Usage {
                    message: format!("{BINDIRS_ENV}: `{entry}` is not MAJOR=FOLDER"),
                    hint: format!(
                        "register binaries as {BINDIRS_ENV}=16=/usr/lib/postgresql/16/bin,17=/opt/pg17/bin"
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// Every place to look, in order (see the module documentation).
pub fn candidates(explicit: Option<&Path>) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    let flag = explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(BINDIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = flag {
        out.push(Candidate {
            path,
            source: BinDirSource::Flag,
            declared: None,
        });
    }
    if let Ok(out_cfg) = Command::new("pg_config").arg("--bindir").output() {
        if out_cfg.status.success() {
            out.push(Candidate {
                path: PathBuf::from(String::from_utf8_lossy(&out_cfg.stdout).trim()),
                source: BinDirSource::PgConfig,
                declared: None,
            });
        }
    }
    let mut system: Vec<(u32, PathBuf)> = versioned_dirs(Path::new("/usr/lib/postgresql"));
    system.extend(dash_versioned_dirs(Path::new("/usr"), "pgsql-"));
    system.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
    out.extend(system.into_iter().map(|(m, path)| Candidate {
        path,
        source: BinDirSource::System,
        declared: Some(m),
    }));
    let mut registered = match std::env::var(BINDIRS_ENV) {
        Ok(raw) => parse_registered(&raw)?,
        Err(_) => Vec::new(),
    };
    registered.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
    out.extend(registered.into_iter().map(|(m, path)| Candidate {
        path,
        source: BinDirSource::Registered,
        declared: Some(m),
    }));
    if let Some(home) = super::pg_home::pg_home() {
        let mut installed = versioned_dirs(&home);
        installed.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
        out.extend(installed.into_iter().map(|(m, path)| Candidate {
            path,
            source: BinDirSource::Installed,
            declared: Some(m),
        }));
    }
    for fixed in [
        "/usr/local/pgsql/bin",
        "/usr/local/bin",
        "/opt/homebrew/bin",
        "/usr/bin",
    ] {
        out.push(Candidate {
            path: PathBuf::from(fixed),
            source: BinDirSource::System,
            declared: None,
        });
    }
    Ok(out)
}

/// Find the binaries: the explicit folder if given (it must hold them), else
/// `REIMS_VERIFY_PG_BINDIR`, else `pg_config --bindir`, else the usual install folders
/// (the newest `/usr/lib/postgresql/N/bin` first), then registered and installed majors.
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
    for c in candidates(None)? {
        if holds_server(&c.path) {
            return Ok(BinDir { path: c.path });
        }
        searched.push(c.path.display().to_string());
    }
    Err(Error::PostgresNotFound {
        searched: searched.join(", "),
    })
}

/// Find binaries of one major: the first place in [`candidates`] that holds a server of
/// that major (a registered folder that holds another major is an error). `None` when
/// there is none.
pub fn find_bindir_of_major(explicit: Option<&Path>, major: u32) -> Result<Option<BinDir>> {
    for c in candidates(explicit)? {
        if !holds_server(&c.path) || c.declared.is_some_and(|d| d != major) {
            continue;
        }
        let dir = BinDir {
            path: c.path.clone(),
        };
        let actual = dir.major();
        if actual == Some(major) {
            return Ok(Some(dir));
        }
        if c.source == BinDirSource::Registered {
            return Err(Error::Usage {
                message: format!(
                    "{BINDIRS_ENV} registers {} as PostgreSQL {major}, but its server is {}",
                    c.path.display(),
                    actual.map_or("unknown".to_string(), |m| format!("PostgreSQL {m}"))
                ),
                hint: format!(
                    "correct the entry {major}={} in {BINDIRS_ENV}",
                    c.path.display()
                ),
            });
        }
    }
    Ok(None)
}

/// `<root>/<N>/bin` folders, with their major N.
fn versioned_dirs(root: &Path) -> Vec<(u32, PathBuf)> {
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
    versions
}

/// `<root>/<prefix><N>/bin` folders (`/usr/pgsql-16/bin`), with their major N.
fn dash_versioned_dirs(root: &Path, prefix: &str) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let major = name.strip_prefix(prefix)?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .collect()
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
        let majors: Vec<u32> = versioned_dirs(root.path())
            .iter()
            .map(|(m, _)| *m)
            .collect();
        assert_eq!(majors, vec![15, 13, 9]);
        std::fs::create_dir_all(root.path().join("pgsql-16/bin")).unwrap();
        let dashed = dash_versioned_dirs(root.path(), "pgsql-");
        assert_eq!(dashed, vec![(16, root.path().join("pgsql-16/bin"))]);
    }

    #[test]
    fn majors_are_read_from_version_lines_and_server_versions() {
        assert_eq!(
            major_of("postgres (PostgreSQL) 15.14 (Debian 15.14-1.pgdg120+1)"),
            Some(15)
        );
        assert_eq!(major_of("postgres (PostgreSQL) 13.23"), Some(13));
        assert_eq!(major_of("postgres (PostgreSQL) 18beta1"), Some(18));
        assert_eq!(major_of("13.23"), Some(13));
        assert_eq!(major_of("16.4 (Ubuntu 16.4-1)"), Some(16));
        assert_eq!(major_of("15.18 (Debian 15.18-0+deb12u1)"), Some(15));
        assert_eq!(major_of("PostgreSQL 17.2"), Some(17));
        assert_eq!(major_of(""), None);
    }

    #[test]
    fn registered_bindirs_parse_and_bad_entries_are_usage_errors() {
        assert_eq!(
            parse_registered("16=/a, 17=/b/c,").unwrap(),
            vec![(16, PathBuf::from("/a")), (17, PathBuf::from("/b/c"))]
        );
        assert!(parse_registered("").unwrap().is_empty());
        for bad in ["16", "x=/a", "16=", "=/a"] {
            let err = parse_registered(bad).unwrap_err();
            assert_eq!(
                err.exit_code(),
                crate::error::ExitCode::InvalidInput,
                "{bad}"
            );
            assert!(err.to_string().contains(BINDIRS_ENV), "{err}");
        }
    }
}
