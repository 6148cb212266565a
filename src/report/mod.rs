//! Renderers: the run record → terminal, `run.json`, `junit.xml`, `report.md` and
//! `report.html`.
//!
//! Every file renderer reads the exact bytes of `run.json` (parsed back as a
//! [`json::RunRecord`]), never a database and never the in-memory run: so `check` and
//! `report --from run.json` produce identical files, and each report is a function of the
//! bytes its digest covers.

pub mod access;
pub mod digest;
pub mod erd;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;
pub mod traceability;
pub mod view;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::run::Run;

use digest::{sidecar_text, ReportKind, SIDECAR_SUFFIX};
use json::{RunRecord, RUN_FILE};

/// The template engine as every report template uses it: block tags on their own lines
/// leave no blank lines behind, and a final newline is kept.
pub(crate) fn template_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("a valid template syntax"),
    );
    env.add_filter("count", |n: usize, noun: String| {
        format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
    });
    env
}

/// Render one kind of report for a run record whose bytes have SHA-256 `digest`.
pub fn render_kind(kind: ReportKind, run: &RunRecord, digest: &str, run_file: &str) -> String {
    match kind {
        ReportKind::Junit => junit::render(run, digest, run_file),
        ReportKind::Markdown => markdown::render(run, digest, run_file),
        ReportKind::Html => html::render(run, digest, run_file),
    }
}

/// Every file of a report folder, rendered and ready to write.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// SHA-256 of `run_json`.
    pub digest: String,
    /// `(file name, content)`, in writing order: `run.json`, its sidecar, then the reports.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Render every report from the bytes of a `run.json` (`source` names it in messages).
pub fn render_all(run_json: &[u8], source: &Path) -> Result<Rendered> {
    let run = json::parse(run_json, source)?;
    let digest = digest::sha256_hex(run_json);
    let mut files = vec![
        (RUN_FILE.to_string(), run_json.to_vec()),
        (
            format!("{RUN_FILE}{SIDECAR_SUFFIX}"),
            sidecar_text(&digest, RUN_FILE).into_bytes(),
        ),
    ];
    for kind in ReportKind::ALL {
        files.push((
            kind.file_name().to_string(),
            render_kind(kind, &run, &digest, RUN_FILE).into_bytes(),
        ));
    }
    Ok(Rendered { digest, files })
}

/// Write rendered files into `dir` (created if missing). Each file is written to a
/// temporary file in `dir` first, and all are renamed into place only once every one is
/// written, so a reader never sees a half-written file and a failure leaves the old set.
pub fn write_rendered(rendered: &Rendered, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(rendered.files.len());
    let result = (|| {
        for (name, bytes) in &rendered.files {
            let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(|e| Error::io(&tmp, e))?;
            staged.push((tmp.clone(), dir.join(name)));
            file.write_all(bytes)
                .and_then(|_| file.sync_all())
                .map_err(|e| Error::io(&tmp, e))?;
        }
        let mut written = Vec::with_capacity(staged.len());
        for (tmp, path) in &staged {
            std::fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
            written.push(path.clone());
        }
        Ok(written)
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// Write the run's report files into `dir` (created if missing) and return their paths:
/// `run.json`, `run.json.sha256`, `junit.xml`, `report.md` and `report.html`.
pub fn write_all(run: &Run, dir: &Path) -> Result<Vec<PathBuf>> {
    let bytes = json::to_bytes(run);
    let rendered = render_all(&bytes, &dir.join(RUN_FILE))?;
    write_rendered(&rendered, dir)
}
