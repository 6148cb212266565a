//! `reims-verify pg install <major>` and `reims-verify pg list`: getting the PostgreSQL
//! server binaries of each major, and seeing which ones a run would use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use comfy_table::Cell;

use crate::cli::PgCommand;
use crate::error::{ExitCode, Result};
use crate::postgres::{
    candidates, find_bindir, install, pg_home, supported_majors, BinDir, TarballSource, RELEASES,
};

use super::Output;

/// Run a `pg` subcommand.
pub async fn run_pg(cmd: &PgCommand, out: Output) -> Result<ExitCode> {
    match cmd {
        PgCommand::Install { major, from, force } => {
            let source = match from {
                Some(path) => TarballSource::File(path.clone()),
                None => TarballSource::Registry,
            };
            let done = install(*major, &source, *force)?;
            if done.fresh {
                let fetched = if done.downloaded > 0 {
                    format!(
                        ", {:.1} MB downloaded",
                        done.downloaded as f64 / 1_000_000.0
                    )
                } else {
                    String::new()
                };
                outln!(
                    "installed PostgreSQL {} ({}, {}) in {} ({:.1} s{fetched})",
                    done.major,
                    done.server_version,
                    done.package,
                    done.bindir.display(),
                    done.elapsed.as_secs_f64()
                );
            } else {
                outln!(
                    "PostgreSQL {} is installed already ({}, {}) in {}; --force installs it again",
                    done.major,
                    done.server_version,
                    done.package,
                    done.bindir.display()
                );
            }
            Ok(ExitCode::Passed)
        }
        PgCommand::List => {
            list(out)?;
            Ok(ExitCode::Passed)
        }
    }
}

/// One folder of binaries that was found.
struct Found {
    major: u32,
    version: String,
    source: String,
    path: PathBuf,
}

fn list(out: Output) -> Result<()> {
    let mut found: Vec<Found> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in candidates(None)? {
        let dir = BinDir {
            path: c.path.clone(),
        };
        let real = std::fs::canonicalize(dir.program("postgres")).unwrap_or(c.path.clone());
        if !dir.program("postgres").is_file() || !dir.program("initdb").is_file() {
            continue;
        }
        if !seen.insert(real) {
            continue;
        }
        let Ok(version) = dir.version() else { continue };
        let Some(major) = crate::postgres::major_of(&version) else {
            continue;
        };
        found.push(Found {
            major,
            version,
            source: c.source.to_string(),
            path: c.path,
        });
    }
    // The first folder of each major is the one a run of that major uses.
    let mut first: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        first.entry(f.major).or_insert(i);
    }
    let mut t = out.table(&["major", "server", "from", "folder", "used"]);
    let mut rows: Vec<(usize, &Found)> = found.iter().enumerate().collect();
    rows.sort_by_key(|(i, f)| (f.major, *i));
    for (i, f) in rows {
        t.add_row(vec![
            Cell::new(f.major),
            Cell::new(f.version.trim_start_matches("postgres (PostgreSQL) ")),
            Cell::new(&f.source),
            Cell::new(f.path.display()),
            Cell::new(if first.get(&f.major) == Some(&i) {
                "yes"
            } else {
                ""
            }),
        ]);
    }
    outln!("{t}");
    match find_bindir(None) {
        Ok(d) => outln!("default for the ephemeral cluster: {}", d.path.display()),
        Err(_) => outln!("default for the ephemeral cluster: none found"),
    }
    if let Some(home) = pg_home() {
        outln!("pg install folder: {}", home.display());
    }
    let missing: Vec<String> = RELEASES
        .iter()
        .filter(|r| !first.contains_key(&r.major))
        .map(|r| r.major.to_string())
        .collect();
    if missing.is_empty() {
        outln!(
            "every supported major ({}) is available",
            supported_majors()
        );
    } else {
        outln!(
            "not found: PostgreSQL {}; `reims-verify pg install N` fetches one",
            missing.join(", ")
        );
    }
    Ok(())
}
