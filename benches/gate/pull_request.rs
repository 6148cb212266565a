//! The two runs a pull request makes of a project whose caches an earlier run filled: one
//! that adds a migration and leaves the specs alone (a function's body fixed, rows
//! backfilled), and one that edits one spec, so that the normalised-spec cache has no
//! entry for the specs and the shadow is built again (the initdb cache still serves).
//! Each round changes something new, as each pull request does.

use std::path::{Path, PathBuf};

use crate::gate_run::{check_once, GateRun, Mode};
use crate::Workload;

/// Copy the files of `from` into a new folder `to`. The workloads' folders are flat; one
/// with a folder inside would be copied short and change the verdict, so it stops the
/// benchmark.
fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        assert!(
            !p.is_dir(),
            "{} holds a folder: copy it whole",
            from.display()
        );
        std::fs::copy(&p, to.join(e.file_name())).unwrap();
    }
}

/// `check --no-probe` of the workload with one migration more than it has: a statement of
/// its own for `round`, after the last migration.
pub fn new_migration(bin: &Path, w: &Workload, cache: &Path, round: usize) -> GateRun {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    copy_files(&w.migrations, &migrations);
    let last = std::fs::read_dir(&w.migrations)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.split_once('_')?.0.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    std::fs::write(
        migrations.join(format!("{}_pull_request.sql", last + 1)),
        format!("SELECT {round};\n"),
    )
    .unwrap();
    check_once(bin, &migrations, &w.specs, cache, Mode::Warm, false)
}

/// `check --no-probe` of the workload with one relation spec edited: a comment for `round`
/// added at its end, which changes the specs folder's files and so the cache's key.
pub fn spec_edited(bin: &Path, w: &Workload, cache: &Path, round: usize) -> GateRun {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    copy_files(&w.specs, &specs);
    let mut relation_specs: Vec<PathBuf> = std::fs::read_dir(&specs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('_'))
        })
        .collect();
    relation_specs.sort();
    let edited = relation_specs.last().expect("a relation spec to edit");
    let mut text = std::fs::read_to_string(edited).unwrap();
    text.push_str(&format!("# pull request {round}\n"));
    std::fs::write(edited, text).unwrap();
    check_once(bin, &w.migrations, &specs, cache, Mode::Warm, false)
}
