//! The check-code catalogue is complete: every code the source can emit is documented there
//! (so SARIF rules and CI annotations always carry a description), and the README's
//! "Check codes" table lists exactly the catalogue.

use std::collections::BTreeSet;
use std::path::Path;

use reims_verify::codes::{family, lookup, CHECK_CODES};

/// Code-shaped string literals (`"family.check"`) in a Rust source text, ignoring its
/// `#[cfg(test)]` part.
fn dotted_literals(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = Vec::new();
    for piece in code.split('"').skip(1).step_by(2) {
        let Some((f, c)) = piece.split_once('.') else {
            continue;
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if word(f) && word(c) {
            out.push(piece.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_code_in_the_source_is_catalogued() {
    let families: BTreeSet<&str> = CHECK_CODES.iter().map(|c| family(c.code)).collect();
    let mut files = Vec::new();
    rust_files(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &mut files,
    );
    let mut missing = BTreeSet::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for lit in dotted_literals(&text) {
            if families.contains(family(&lit)) {
                seen += 1;
                if lookup(&lit).is_none() {
                    missing.insert(format!("{lit} ({})", file.display()));
                }
            }
        }
    }
    assert!(
        seen > 50,
        "the scan found only {seen} code literals: it is broken"
    );
    assert!(
        missing.is_empty(),
        "codes used in src/ but missing from src/codes.rs: {missing:#?}"
    );
}

#[test]
fn the_readme_lists_exactly_the_catalogue() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("### Check codes")
        .expect("README has a Check codes section");
    let rest = &readme[start + 3..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    let section = &rest[..end];
    let listed: BTreeSet<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| dotted_literals(&format!("\"{s}\"")).len() == 1)
        .collect();
    let catalogue: BTreeSet<&str> = CHECK_CODES.iter().map(|c| c.code).collect();
    let undocumented: Vec<_> = catalogue.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&catalogue).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "README check codes out of step with src/codes.rs: missing from README {undocumented:?}, \
         not in the catalogue {unknown:?}"
    );
}

#[test]
fn the_scan_finds_literals_and_skips_tests() {
    let text = "let a = \"index.keys\"; let b = \"Not.A\"; \n#[cfg(test)]\n\"index.zzz\"";
    assert_eq!(dotted_literals(text), vec!["index.keys".to_string()]);
}
