//! The fuzz targets' checks (`src/fuzz.rs`) on stable, in the normal test run: every seed,
//! every kept crash (`fuzz/regressions/<target>/`) and every fixture is replayed, then each
//! target gets a bounded random run of mutated seeds and raw bytes. The coverage-guided runs
//! are `.ci/fuzz SECONDS` (nightly, cargo-fuzz). Set `REIMS_FUZZ_SEED` to replay a random
//! run; its seed is printed.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reims_verify::fuzz;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every regular file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            out.extend(files_under(&p));
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The seeds of a target: its own seeds and kept crashes, and the project files of its kind.
fn seeds(target: &str, extra: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut dirs = vec![
        root().join("fuzz/seeds").join(target),
        root().join("fuzz/regressions").join(target),
    ];
    dirs.extend(extra.iter().map(|d| root().join(d)));
    let found: Vec<_> = dirs
        .iter()
        .flat_map(|d| files_under(d))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    assert!(!found.is_empty(), "no seeds for {target}");
    found
}

fn replay(target: &str, extra: &[&str], check: fn(&[u8])) -> Vec<Vec<u8>> {
    let seeds = seeds(target, extra);
    for (path, bytes) in &seeds {
        let outcome = std::panic::catch_unwind(|| check(bytes));
        assert!(outcome.is_ok(), "{target}: seed {} fails", path.display());
    }
    seeds.into_iter().map(|(_, b)| b).collect()
}

/// A seed with up to eight random byte edits (insert, delete, replace), or raw bytes.
fn inputs(seeds: Vec<Vec<u8>>, tokens: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let edit = (any::<usize>(), 0u8..4, any::<u8>(), 0..tokens.len());
    let mutated = (
        proptest::sample::select(seeds),
        proptest::collection::vec(edit, 0..8),
    )
        .prop_map(move |(mut s, edits)| {
            for (at, op, byte, token) in edits {
                let i = at % (s.len() + 1);
                match op {
                    0 => s.insert(i, byte),
                    1 if i < s.len() => {
                        s.remove(i);
                    }
                    2 if i < s.len() => s[i] = byte,
                    _ => {
                        let t = tokens[token].as_bytes();
                        s.splice(i..i, t.iter().copied());
                    }
                }
            }
            s
        });
    let raw = proptest::collection::vec(any::<u8>(), 0..256);
    prop_oneof![4 => mutated, 1 => raw].boxed()
}

fn run_random(target: &str, cases: u32, strategy: BoxedStrategy<Vec<u8>>, check: fn(&[u8])) {
    let seed: u64 = std::env::var("REIMS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    eprintln!("{target}: {cases} random inputs, REIMS_FUZZ_SEED={seed}");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&strategy, |input| {
        check(&input);
        Ok(())
    });
    if let Err(e) = result {
        panic!(
            "{target} (REIMS_FUZZ_SEED={seed}): {e}\nkeep the input as a file in \
             fuzz/regressions/{target}/ and fix the defect"
        );
    }
}

fn rand_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    t.as_nanos() as u64 ^ u64::from(std::process::id())
}

const YAML_TOKENS: &[&str] = &[
    ":",
    "- ",
    "\n  ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: ",
    "!!binary ",
    "\t",
    "'",
    "\"",
    "---\n",
    "~",
    ".nan",
    "null",
    "columns:",
    "checks:",
    "type: ",
    "\u{feff}",
    "#",
];
const URL_TOKENS: &[&str] = &[
    "@",
    ":",
    "/",
    "?",
    "#",
    "%",
    "%40",
    "%zz",
    "=",
    "&",
    "'",
    "\\",
    " ",
    "password=",
    "postgres://",
    "[",
    "]",
    "sslmode=",
    "options=",
    "é",
    "\u{0}",
];
const SQL_TOKENS: &[&str] = &[
    ";",
    "'",
    "\"",
    "$$",
    "$x$",
    "--",
    "/*",
    "*/",
    "\n",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    " AND CHAIN",
    "CONCURRENTLY",
    "VACUUM",
    "BEGIN ATOMIC",
    "END",
    "(",
    ")",
    "E'\\'",
    "\0",
    "-- no-transaction\n",
];

#[test]
fn spec_documents_load_or_are_refused_plainly() {
    let seeds = replay(
        "spec_document",
        &["specs", "tests/fixtures"],
        fuzz::spec_document,
    );
    run_random(
        "spec_document",
        1500,
        inputs(seeds, YAML_TOKENS),
        fuzz::spec_document,
    );
}

#[test]
fn connection_strings_parse_or_are_refused_without_their_password() {
    let seeds = replay("connection_string", &[], fuzz::connection_string);
    run_random(
        "connection_string",
        4000,
        inputs(seeds, URL_TOKENS),
        fuzz::connection_string,
    );
}

#[test]
fn migrations_folders_are_read_or_refused_plainly() {
    let seeds = replay(
        "migrations_folder",
        &["migrations"],
        fuzz::migrations_folder,
    );
    run_random(
        "migrations_folder",
        400,
        inputs(seeds, SQL_TOKENS),
        fuzz::migrations_folder,
    );
}

/// The password check has something to look for: the secrets of a connection string are
/// found before its printed forms are searched, in every shape a user may write them.
#[test]
fn the_password_check_knows_the_password() {
    for (raw, password) in [
        ("host=db password='pa ss;word' user=u", "pa ss;word"),
        ("postgres://u:hunt@r2@h/db", "hunt@r2"),
        ("postgres://h/db?password=s%40cret", "s@cret"),
    ] {
        let found = reims_verify::redact::secrets_in(raw);
        assert!(found.iter().any(|s| s == password), "{raw}: {found:?}");
        fuzz::connection_string(raw.as_bytes());
    }
}

/// The test command is reproducible: `.cargo/config.toml` pins the seeds of every random
/// test, so a failure seen in CI replays with the same inputs. Fresh inputs are drawn by
/// `.ci/sweep`, which sets both variables itself.
#[test]
fn the_test_command_draws_from_fixed_seeds() {
    for var in ["PROPTEST_RNG_SEED", "REIMS_FUZZ_SEED"] {
        let value = std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} is not set; .cargo/config.toml pins it"));
        assert!(value.parse::<u64>().is_ok(), "{var}={value} is not a seed");
    }
}
