//! The layout of the source: within each folder of `src`, the modules use one another
//! without a cycle, so each can be read, tested and changed starting from the ones it
//! builds on. And of the build: the binary the tests run is built with the same features
//! of every dependency as the one users build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Each module of `src/<folder>` and the modules of the same folder it names in code
/// (`super::m` or `crate::<folder>::m`), leaving out comments and its `mod tests`.
fn uses_within(folder: &str) -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(folder);
    let modules: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
        .filter(|m| m != "mod")
        .collect();
    let crate_path = format!("crate::{}::", folder.replace('/', "::"));
    modules
        .iter()
        .map(|m| {
            let text = std::fs::read_to_string(dir.join(format!("{m}.rs"))).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let mut named = BTreeSet::new();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for prefix in ["super::", crate_path.as_str()] {
                    for (at, _) in line.match_indices(prefix) {
                        let rest = &line[at + prefix.len()..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if name != *m && modules.contains(&name) {
                            named.insert(name);
                        }
                    }
                }
            }
            (m.clone(), named)
        })
        .collect()
}

/// A cycle among `uses`, as the modules along it, if there is one.
fn a_cycle(uses: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in &uses[m] {
            if let Some(cycle) = visit(next, uses, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    uses.keys()
        .find_map(|m| visit(m, uses, &mut Vec::new(), &mut done))
}

/// Every folder under `src`, as a path relative to it (`probe/property`).
fn folders() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                out.push(rel.clone());
                walk(&entry.path(), &rel, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn the_modules_of_each_folder_use_one_another_without_a_cycle() {
    let postgres = uses_within("postgres");
    assert!(postgres.len() > 10, "the folder was read: {postgres:?}");
    // The reader sees what a module names: the cluster names the initdb cache.
    assert!(
        postgres["ephemeral"].contains("initdb_cache"),
        "{postgres:?}"
    );
    let folders = folders();
    assert!(
        folders.contains(&"probe/property".to_string()),
        "{folders:?}"
    );
    let cycles: Vec<String> = folders
        .iter()
        .filter_map(|folder| {
            a_cycle(&uses_within(folder))
                .map(|cycle| format!("src/{folder}: {}", cycle.join(" -> ")))
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn a_cycle_is_found_and_named() {
    let uses: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(a_cycle(&uses).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = uses.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(a_cycle(&acyclic), None);
}

/// Each package of the dependency tree, with the feature sets it is built with, following
/// the edges `edges` (`normal`: what `cargo build` builds; `normal,dev`: what `cargo test`
/// builds). `Err` says why `cargo tree` could not tell.
fn features_by_package(edges: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let cargo = std::env::var_os("CARGO").ok_or("CARGO is not set (not run by cargo)")?;
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["-e", edges, "-f", "{p}|{f}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree -e {edges} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        if let Some((package, features)) = line.split_once('|') {
            found
                .entry(package.trim().to_string())
                .or_default()
                .insert(features.trim().to_string());
        }
    }
    Ok(found)
}

/// Cargo's default resolver builds a dependency with the features a dev-dependency asks for
/// only when tests are built: serde_json's float parsing, for one, differed between the
/// binary the tests ran and the one users run. It also built about 70 crates twice in CI.
#[test]
fn the_binary_under_test_is_built_with_the_features_users_get() {
    let shipped = features_by_package("normal").unwrap_or_else(|e| panic!("{e}"));
    let tested = features_by_package("normal,dev").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        shipped.keys().any(|p| p.starts_with("sqlx ")),
        "the tree was read: {shipped:?}"
    );
    let differ: Vec<String> = shipped
        .iter()
        .filter(|(package, features)| tested.get(*package) != Some(*features))
        .map(|(package, features)| {
            format!(
                "{package}: built with {features:?}, tested with {:?}",
                tested.get(package)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
}
