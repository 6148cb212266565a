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
//! Verifying a report checks two things: the `run.json` it names (beside it) still has the
//! digest it was rendered from, and, when the report was rendered by this same version of
//! reims-verify, that its content is exactly what that `run.json` renders to, so an edit to
//! the report itself is caught as well. The digest shows integrity, not origin: anyone can
//! recompute it, so keep it somewhere else too (the CI log prints it).

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

/// Verify `path`: a `run.json` (against its `.sha256` sidecar, then every report beside it
/// that names it), the sidecar itself, or a `junit.xml`/`report.md`/`report.html` (against
/// the `run.json` it names). Returns one line per file checked. An error (exit 2) means the
/// file could not be verified at all: unreadable, not a report, or its run record missing.
pub fn verify(path: &Path) -> Result<Vec<FileCheck>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    if let Some(emb) = embedded(&text) {
        return Ok(vec![verify_report(path, &text, &emb)?]);
    }
    let sidecar = sidecar_path(path);
    if sidecar.exists() {
        return verify_record(path, &bytes, &sidecar);
    }
    if let Some((_, name)) = parse_sidecar(&text) {
        let record = path.with_file_name(plain_name(&name, path)?);
        let bytes = std::fs::read(&record).map_err(|e| Error::io(&record, e))?;
        return verify_record(&record, &bytes, path);
    }
    Err(Error::Usage {
        message: format!(
            "{}: not a reims-verify report, and no digest file {} beside it",
            path.display(),
            sidecar.display()
        ),
        hint: "pass a run.json that has its run.json.sha256 beside it, or a junit.xml, \
               report.md or report.html written by reims-verify"
            .into(),
    })
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
                "{}: names its run record as `{name}`, which is not a file name beside it",
                report.display()
            ),
            hint: "reports name the run.json beside them; re-render with `reims-verify report`"
                .into(),
        })
    }
}

/// Check a run record against its sidecar, then each report beside it that names it.
fn verify_record(record: &Path, bytes: &[u8], sidecar: &Path) -> Result<Vec<FileCheck>> {
    let text = std::fs::read_to_string(sidecar).map_err(|e| Error::io(sidecar, e))?;
    let Some((expected, _)) = parse_sidecar(&text) else {
        return Err(Error::Usage {
            message: format!("{}: not a SHA-256 digest file", sidecar.display()),
            hint: "re-render the reports with `reims-verify report --from run.json`".into(),
        });
    };
    let actual = sha256_hex(bytes);
    let mut checks = vec![if actual == expected {
        FileCheck {
            path: record.to_path_buf(),
            intact: true,
            detail: format!("sha256 {actual} matches {}", file_name(sidecar)),
        }
    } else {
        FileCheck {
            path: record.to_path_buf(),
            intact: false,
            detail: format!(
                "sha256 is {actual}, but {} says {expected}: the file changed after it was written",
                file_name(sidecar)
            ),
        }
    }];
    let own_name = file_name(record);
    for kind in ReportKind::ALL {
        let report = record.with_file_name(kind.file_name());
        let Ok(text) = std::fs::read_to_string(&report) else {
            continue;
        };
        match embedded(&text) {
            Some(emb) if emb.kind == kind && emb.run_file == own_name => {
                checks.push(verify_report(&report, &text, &emb)?)
            }
            _ => {}
        }
    }
    Ok(checks)
}

/// Check one rendered report against the run record it names.
fn verify_report(path: &Path, text: &str, emb: &Embedded) -> Result<FileCheck> {
    let record = path.with_file_name(plain_name(&emb.run_file, path)?);
    let bytes = std::fs::read(&record).map_err(|e| Error::io(&record, e))?;
    let actual = sha256_hex(&bytes);
    let check = |intact: bool, detail: String| FileCheck {
        path: path.to_path_buf(),
        intact,
        detail,
    };
    if actual != emb.digest {
        return Ok(check(
            false,
            format!(
                "was rendered from a {} with sha256 {}, but {} now has sha256 {actual}",
                emb.run_file,
                emb.digest,
                record.display()
            ),
        ));
    }
    if emb.generator.as_deref() != Some(generator().as_str()) {
        return Ok(check(
            true,
            format!(
                "{} sha256 {actual} matches; rendered by {}, so its text was not compared \
                 (this is {})",
                emb.run_file,
                emb.generator.as_deref().unwrap_or("an unknown version"),
                generator()
            ),
        ));
    }
    let parsed = super::json::parse(&bytes, &record)?;
    let rendered = super::render_kind(emb.kind, &parsed, &actual, &emb.run_file);
    if rendered == text {
        Ok(check(
            true,
            format!(
                "{} sha256 {actual} matches, and the text is exactly what it renders to",
                emb.run_file
            ),
        ))
    } else {
        Ok(check(
            false,
            format!(
                "{} sha256 {actual} matches, but the report's text differs from what that \
                 record renders to: the report was edited after it was written",
                emb.run_file
            ),
        ))
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
