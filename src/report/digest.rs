//! The digest mechanism: every report file carries the SHA-256 of `run.json`'s exact bytes,
//! and `report verify` recomputes it.
//!
//! - `run.json.sha256` sits beside `run.json`, in `sha256sum` format (`<hex>  run.json`), so
//!   `sha256sum -c run.json.sha256` checks it too.
//! - `report.md` starts with `<!-- reims-verify-report run-file="…" run-sha256="…"
//!   generator="…" -->`; `report.html` has `<meta name="reims-verify-run-sha256" …>` (and
//!   `…-run-file`, `generator`); `junit.xml` has `reims-verify.run-sha256` (and `….run-file`,
//!   `….generator`) properties on every test suite. All of them also show the digest.
//!
//! - `SHA256SUMS` lists the SHA-256 of every other file of the folder (also in `sha256sum`
//!   format). Its own SHA-256 is the folder's digest: one value covering every byte.
//!
//! Verifying checks the folder as a whole: every listed file against the manifest, every
//! file a run writes listed, the sidecar against `run.json`, and each report against the
//! `run.json` it names (its embedded digest, and, when rendered by this same version, its
//! exact text). The digest shows integrity, not origin: anyone can recompute it, so keep it
//! somewhere else too (`check` and `report verify` print it, and so does the CI log).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

use super::json::RUN_FILE;

/// File-name suffix of the digest sidecar (`run.json.sha256`).
pub const SIDECAR_SUFFIX: &str = ".sha256";

/// The name and version of this renderer, as reports record it.
pub fn generator() -> String {
    format!("reims-verify {}", env!("CARGO_PKG_VERSION"))
}

/// Lower-case hexadecimal SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sidecar's content: `sha256sum` format.
pub fn sidecar_text(digest: &str, file_name: &str) -> String {
    format!("{digest}  {file_name}\n")
}

/// Parse a sidecar: the digest and the file name it covers.
pub fn parse_sidecar(text: &str) -> Option<(String, String)> {
    let line = text.lines().next()?.trim_end();
    let (digest, name) = line.split_once(' ')?;
    let name = name.trim_start_matches([' ', '*']);
    let ok = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    (ok && !name.is_empty()).then(|| (digest.to_ascii_lowercase(), name.to_string()))
}

/// The kinds of rendered report that embed a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `junit.xml`.
    Junit,
    /// `report.md`.
    Markdown,
    /// `report.html`.
    Html,
    /// `results.sarif`.
    Sarif,
}

impl ReportKind {
    /// Every kind, in the order they are written.
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Junit,
        ReportKind::Markdown,
        ReportKind::Html,
        ReportKind::Sarif,
    ];

    /// The file name inside a report folder.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportKind::Junit => "junit.xml",
            ReportKind::Markdown => "report.md",
            ReportKind::Html => "report.html",
            ReportKind::Sarif => "results.sarif",
        }
    }

    /// The text before each embedded value, keyed `sha256`, `file` and `generator`.
    fn needle(self, key: &str) -> String {
        match (self, key) {
            (ReportKind::Junit, "generator") => {
                r#"<property name="reims-verify.generator" value=""#.into()
            }
            (ReportKind::Junit, k) => format!(r#"<property name="reims-verify.run-{k}" value=""#),
            (ReportKind::Markdown, "generator") => r#" generator=""#.into(),
            (ReportKind::Markdown, k) => format!(r#" run-{k}=""#),
            (ReportKind::Html, "generator") => r#"<meta name="generator" content=""#.into(),
            (ReportKind::Html, k) => format!(r#"<meta name="reims-verify-run-{k}" content=""#),
            (ReportKind::Sarif, "generator") => r#""reims-verify.generator": ""#.into(),
            (ReportKind::Sarif, k) => format!(r#""reims-verify.run-{k}": ""#),
        }
    }
}

/// The first line of `report.md`, which carries the digest for machines.
pub fn markdown_marker(digest: &str, run_file: &str) -> String {
    format!(
        r#"<!-- reims-verify-report run-file="{run_file}" run-sha256="{digest}" generator="{}" -->"#,
        generator()
    )
}

/// What a report says about the run it was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// The kind of report.
    pub kind: ReportKind,
    /// SHA-256 of the run record it was rendered from.
    pub digest: String,
    /// The run record's file name, beside the report.
    pub run_file: String,
    /// `reims-verify X.Y.Z`, the renderer.
    pub generator: Option<String>,
}

/// The value after `needle`, up to the closing quote, with XML entities undone.
fn value_after(text: &str, needle: &str) -> Option<String> {
    let start = text.find(needle)? + needle.len();
    let len = text[start..].find('"')?;
    let raw = &text[start..start + len];
    Some(
        raw.replace("&#x2f;", "/")
            .replace("&#47;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Recognise a rendered report and read what it embeds; `None` when `text` is not one.
pub fn embedded(text: &str) -> Option<Embedded> {
    let kind = if text.starts_with("<!-- reims-verify-report ") {
        ReportKind::Markdown
    } else if text.contains(&ReportKind::Html.needle("sha256")) {
        ReportKind::Html
    } else if text.contains(&ReportKind::Junit.needle("sha256")) {
        ReportKind::Junit
    } else if text.contains(&ReportKind::Sarif.needle("sha256")) {
        ReportKind::Sarif
    } else {
        return None;
    };
    // The Markdown marker is the first line; never read values from the body.
    let scope = match kind {
        ReportKind::Markdown => text.lines().next().unwrap_or_default(),
        _ => text,
    };
    let digest = value_after(scope, &kind.needle("sha256"))?;
    let run_file = value_after(scope, &kind.needle("file")).unwrap_or_else(|| RUN_FILE.into());
    let generator = value_after(scope, &kind.needle("generator"));
    Some(Embedded {
        kind,
        digest,
        run_file,
        generator,
    })
}

/// The file that lists the SHA-256 of every other file a run wrote, in `sha256sum` format.
/// Its own SHA-256 is *the* digest of a report folder: one value that covers every byte of
/// every file, including files added by future versions (they are listed by construction).
pub const MANIFEST_FILE: &str = "SHA256SUMS";

/// The marker a run that ended in exit 2 or 3 leaves in its report folder, in place of the
/// earlier run's reports, so that nothing there can pass for this run's result.
pub const FAILED_RUN_FILE: &str = "run-failed.txt";

/// The names of every file a run writes besides the manifest.
pub fn report_file_names() -> Vec<String> {
    let mut names = vec![RUN_FILE.to_string(), format!("{RUN_FILE}{SIDECAR_SUFFIX}")];
    names.extend(ReportKind::ALL.iter().map(|k| k.file_name().to_string()));
    names
}

/// The manifest's content for `(name, SHA-256)` files, in their order.
pub fn manifest_text(files: &[(String, String)]) -> String {
    files
        .iter()
        .map(|(name, digest)| sidecar_text(digest, name))
        .collect()
}

/// The result of checking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The file checked.
    pub path: PathBuf,
    /// True when intact.
    pub intact: bool,
    /// What was found, for people.
    pub detail: String,
}

/// What `report verify` found in a report folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderCheck {
    /// One line per file (or per problem).
    pub checks: Vec<FileCheck>,
    /// SHA-256 of the manifest, when there is one: compare it with the value kept elsewhere.
    pub manifest_digest: Option<String>,
}

impl FolderCheck {
    /// True when every file is intact.
    pub fn intact(&self) -> bool {
        self.checks.iter().all(|c| c.intact)
    }
}

/// Verify the report folder that holds `path` (or `path` itself, when it is a folder).
///
/// The folder is checked as a whole, whichever of its files is named: every file the
/// manifest lists must have the SHA-256 it lists; every file a run writes must be listed;
/// `run.json.sha256` must match `run.json`; every report must name that `run.json` and
/// carry its digest and, when rendered by this version, be exactly what it renders to. A
/// folder whose last run ended in exit 2 or 3 fails, saying so. An error (exit 2) means
/// nothing could be verified: no such file, or no manifest (not a report folder).
pub fn verify(path: &Path) -> Result<FolderCheck> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let marker = dir.join(FAILED_RUN_FILE);
    if marker.is_file() {
        let text = std::fs::read_to_string(&marker).unwrap_or_default();
        let first = text.lines().next().unwrap_or("").to_string();
        return Ok(FolderCheck {
            checks: vec![FileCheck {
                path: marker,
                intact: false,
                detail: format!(
                    "{first} This folder holds no report of the latest run; do not use \
                     reports from it"
                ),
            }],
            manifest_digest: None,
        });
    }
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let manifest = dir.join(MANIFEST_FILE);
    let Ok(manifest_bytes) = std::fs::read(&manifest) else {
        return Err(Error::Usage {
            message: format!(
                "{}: not a reims-verify report folder (no {MANIFEST_FILE} in {})",
                path.display(),
                dir.display()
            ),
            hint: "pass a file of, or the folder of, reports written by `reims-verify check` \
                   or `reims-verify report --from`; without the manifest not every byte can \
                   be checked"
                .into(),
        });
    };
    let named = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut checks = verify_manifest(&dir, &manifest, &manifest_bytes);
    if let Some(name) = named.filter(|_| !path.is_dir()) {
        let listed = name == MANIFEST_FILE || checks.iter().any(|c| file_name(&c.path) == name);
        if !listed {
            checks.push(FileCheck {
                path: path.to_path_buf(),
                intact: false,
                detail: format!("is not listed in {MANIFEST_FILE}: it is not part of this run"),
            });
        }
    }
    checks.extend(cross_checks(&dir));
    Ok(FolderCheck {
        checks,
        manifest_digest: Some(sha256_hex(&manifest_bytes)),
    })
}

/// Every listed file against its listed SHA-256, and every file a run writes listed.
fn verify_manifest(dir: &Path, manifest: &Path, bytes: &[u8]) -> Vec<FileCheck> {
    let mut checks = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    for (n, line) in text.lines().enumerate() {
        let parsed = parse_sidecar(line).filter(|(_, name)| plain_name(name, manifest).is_ok());
        let Some((expected, name)) = parsed else {
            checks.push(FileCheck {
                path: manifest.to_path_buf(),
                intact: false,
                detail: format!(
                    "line {} is not `<sha256>  <file name>`: it was edited",
                    n + 1
                ),
            });
            continue;
        };
        let file = dir.join(&name);
        listed.push(name.clone());
        checks.push(match std::fs::read(&file) {
            Err(e) => FileCheck {
                path: file,
                intact: false,
                detail: format!("is listed in {MANIFEST_FILE} but cannot be read ({e})"),
            },
            Ok(content) => {
                let actual = sha256_hex(&content);
                if actual == expected {
                    FileCheck {
                        path: file,
                        intact: true,
                        detail: format!("sha256 {actual} matches {MANIFEST_FILE}"),
                    }
                } else {
                    FileCheck {
                        path: file,
                        intact: false,
                        detail: format!(
                            "sha256 is {actual}, but {MANIFEST_FILE} says {expected}: the file \
                             changed after it was written"
                        ),
                    }
                }
            }
        });
    }
    if !text.ends_with('\n') || text.contains('\r') {
        checks.push(FileCheck {
            path: manifest.to_path_buf(),
            intact: false,
            detail: "is not in the form reims-verify writes: it was edited".into(),
        });
    }
    for name in report_file_names() {
        if !listed.contains(&name) && dir.join(&name).exists() {
            checks.push(FileCheck {
                path: dir.join(&name),
                intact: false,
                detail: format!("is not listed in {MANIFEST_FILE}: it was not written by this run"),
            });
        }
    }
    if !listed.iter().any(|n| n == RUN_FILE) {
        checks.push(FileCheck {
            path: dir.join(RUN_FILE),
            intact: false,
            detail: format!("is not listed in {MANIFEST_FILE}, which every run writes"),
        });
    }
    checks
}

/// The files against each other: the sidecar against `run.json`, each report against the
/// `run.json` it names (its digest, and its text when rendered by this version).
fn cross_checks(dir: &Path) -> Vec<FileCheck> {
    let mut checks = Vec::new();
    let record = dir.join(RUN_FILE);
    let Ok(bytes) = std::fs::read(&record) else {
        return checks;
    };
    let actual = sha256_hex(&bytes);
    let sidecar = sidecar_path(&record);
    if let Ok(text) = std::fs::read_to_string(&sidecar) {
        if parse_sidecar(&text).map(|(d, _)| d) != Some(actual.clone()) {
            checks.push(FileCheck {
                path: sidecar,
                intact: false,
                detail: format!("does not hold {RUN_FILE}'s sha256 {actual}"),
            });
        }
    }
    let parsed = super::json::parse(&bytes, &record);
    // One renderer for every kind, so the compliance view is built once.
    let renderer = parsed
        .as_ref()
        .ok()
        .map(|run| super::Renderer::new(run, &actual, RUN_FILE));
    for kind in ReportKind::ALL {
        let report = dir.join(kind.file_name());
        let Ok(text) = std::fs::read_to_string(&report) else {
            continue;
        };
        let problem = match embedded(&text) {
            None => Some("does not carry the digest of a run record".to_string()),
            Some(emb) if emb.kind != kind => Some("is not the kind of report its name says".into()),
            Some(emb) if emb.run_file != RUN_FILE => {
                Some(format!("names `{}`, not {RUN_FILE}", emb.run_file))
            }
            Some(emb) if emb.digest != actual => Some(format!(
                "was rendered from a {RUN_FILE} with sha256 {}, but {RUN_FILE} has sha256 {actual}",
                emb.digest
            )),
            Some(emb)
                if !emb
                    .generator
                    .as_deref()
                    .is_some_and(|g| g.starts_with("reims-verify ")) =>
            {
                Some("names no reims-verify version as its generator: it was edited".into())
            }
            Some(emb) if emb.generator.as_deref() == Some(generator().as_str()) => {
                match &renderer {
                    Some(r) if r.render(kind) != text => Some(format!(
                        "differs from what {RUN_FILE} renders to: it was edited"
                    )),
                    Some(_) => None,
                    None => Some(format!("{RUN_FILE} cannot be read as a run record")),
                }
            }
            Some(_) => None,
        };
        if let Some(detail) = problem {
            checks.push(FileCheck {
                path: report,
                intact: false,
                detail,
            });
        }
    }
    checks
}

/// `run.json` → `run.json.sha256`.
pub fn sidecar_path(record: &Path) -> PathBuf {
    let mut name = record.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR_SUFFIX);
    record.with_file_name(name)
}

/// A file name as embedded in a report; refuse anything but a plain name beside the report.
fn plain_name<'a>(name: &'a str, report: &Path) -> Result<&'a str> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.contains('\0');
    if plain {
        Ok(name)
    } else {
        Err(Error::Usage {
            message: format!(
                "{}: names `{name}`, which is not a file name beside it",
                report.display()
            ),
            hint: "reports name the run.json beside them; re-render with `reims-verify report`"
                .into(),
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_round_trips_in_sha256sum_format() {
        let d = sha256_hex(b"abc");
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let text = sidecar_text(&d, "run.json");
        assert_eq!(text, format!("{d}  run.json\n"));
        assert_eq!(parse_sidecar(&text), Some((d.clone(), "run.json".into())));
        assert_eq!(
            parse_sidecar(&format!("{d} *run.json")).unwrap().1,
            "run.json"
        );
        assert_eq!(parse_sidecar("not a digest  run.json"), None);
        assert_eq!(parse_sidecar(""), None);
    }

    #[test]
    fn embedded_values_are_found_in_each_kind() {
        let d = "a".repeat(64);
        let md = format!(
            "{}\n# Report\nrun-sha256=\"{}\"",
            markdown_marker(&d, "run.json"),
            "b".repeat(64)
        );
        let e = embedded(&md).unwrap();
        assert_eq!(
            (e.kind, e.digest.as_str(), e.run_file.as_str()),
            (ReportKind::Markdown, d.as_str(), "run.json")
        );
        assert_eq!(e.generator, Some(generator()));
        let html = format!(
            r#"<html><head><meta name="generator" content="reims-verify 9" /><meta name="reims-verify-run-file" content="run.json" /><meta name="reims-verify-run-sha256" content="{d}" /></head></html>"#
        );
        let e = embedded(&html).unwrap();
        assert_eq!(
            (e.kind, e.generator.as_deref()),
            (ReportKind::Html, Some("reims-verify 9"))
        );
        let xml = format!(
            r#"<testsuite><properties><property name="reims-verify.run-sha256" value="{d}"/></properties></testsuite>"#
        );
        let e = embedded(&xml).unwrap();
        assert_eq!(
            (e.kind, e.run_file.as_str()),
            (ReportKind::Junit, "run.json")
        );
        assert!(embedded("{\"format_version\": 1}").is_none());
    }

    #[test]
    fn a_report_cannot_point_outside_its_folder() {
        for bad in ["../run.json", "/etc/passwd", "a\\b", ".."] {
            assert!(plain_name(bad, Path::new("r.html")).is_err(), "{bad}");
        }
        assert!(plain_name("run.json", Path::new("r.html")).is_ok());
    }
}
