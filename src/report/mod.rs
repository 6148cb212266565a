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
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod terminal;
pub mod traceability;
pub mod view;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use digest::{
    manifest_text, report_file_names, sidecar_text, ReportKind, FAILED_RUN_FILE, MANIFEST_FILE,
    SIDECAR_SUFFIX,
};
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

/// The reports of one run record. The compliance view behind the Markdown and the HTML
/// report is built once, by whichever is rendered first, and shared: at a thousand tables
/// it is the largest structure a rendering makes.
pub(crate) struct Renderer<'a> {
    run: &'a RunRecord,
    digest: &'a str,
    run_file: &'a str,
    view: std::sync::OnceLock<view::ReportView>,
}

impl<'a> Renderer<'a> {
    /// The reports of `run`, whose bytes have SHA-256 `digest`.
    pub(crate) fn new(run: &'a RunRecord, digest: &'a str, run_file: &'a str) -> Self {
        Renderer {
            run,
            digest,
            run_file,
            view: std::sync::OnceLock::new(),
        }
    }

    fn view(&self) -> &view::ReportView {
        self.view
            .get_or_init(|| view::build(self.run, self.digest, self.run_file))
    }

    /// One kind of report.
    pub(crate) fn render(&self, kind: ReportKind) -> String {
        match kind {
            ReportKind::Junit => junit::render(self.run, self.digest, self.run_file),
            ReportKind::Markdown => markdown::render_view(self.view()),
            ReportKind::Html => html::render_view(self.view()),
            ReportKind::Sarif => sarif::render(self.run, self.digest, self.run_file),
        }
    }
}

/// Every file of a report folder, rendered and ready to write.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// SHA-256 of `run_json`.
    pub digest: String,
    /// SHA-256 of the manifest (`SHA256SUMS`): the digest of the whole folder.
    pub manifest_digest: String,
    /// `(file name, content)`, in writing order: `run.json`, its sidecar, the reports, then
    /// the manifest of all of them.
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
    // The kinds are independent renderings of one record: at a thousand tables each takes
    // a second or more, so they render side by side, one thread each, and keep their order.
    let renderer = Renderer::new(&run, &digest, RUN_FILE);
    files.extend(crate::parallel::map_in_order(&ReportKind::ALL, 1, |kind| {
        (
            kind.file_name().to_string(),
            renderer.render(*kind).into_bytes(),
        )
    }));
    // Every file above is listed by construction, whatever kinds are added later.
    let manifest = manifest_text(&files).into_bytes();
    let manifest_digest = digest::sha256_hex(&manifest);
    files.push((MANIFEST_FILE.to_string(), manifest));
    Ok(Rendered {
        digest,
        manifest_digest,
        files,
    })
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
        // This run's reports are now in place: a failed run's marker no longer applies.
        let marker = dir.join(FAILED_RUN_FILE);
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
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

/// Write a run's report files into `dir` (created if missing), from the run record's bytes
/// as [`json::to_bytes`] made them, and return what was written: `run.json`,
/// `run.json.sha256`, the reports and `SHA256SUMS`.
pub fn write_record(run_json: &[u8], dir: &Path) -> Result<Rendered> {
    let rendered = render_all(run_json, &dir.join(RUN_FILE))?;
    write_rendered(&rendered, dir)?;
    Ok(rendered)
}

/// Make sure reports can be written into `dir` before any work starts: create it if
/// missing, then create and remove a file in it. The error (exit 2) names the folder.
pub fn ensure_writable(dir: &Path) -> Result<()> {
    let unusable = |e: std::io::Error| Error::Usage {
        message: format!("cannot write reports into {}: {e}", dir.display()),
        hint: "pass --report DIR with a folder you can write to, or --no-report".into(),
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let probe = dir.join(format!(".reims-verify-write-test.{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unusable)?;
    std::fs::remove_file(&probe).map_err(unusable)?;
    Ok(())
}

/// After a run that ended in exit 2 or 3: remove the report files an earlier run left in
/// `dir` and leave a marker that says what happened, so that no old PASS can be taken for
/// this run's result (`report verify` reports the marker). Returns the files removed.
pub fn mark_failed_run(dir: &Path, exit_code: i32, error: &str) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut names = report_file_names();
    names.push(MANIFEST_FILE.to_string());
    if let Ok(manifest) = std::fs::read_to_string(dir.join(MANIFEST_FILE)) {
        names.extend(
            manifest
                .lines()
                .filter_map(digest::parse_sidecar)
                .map(|(_, n)| n)
                .filter(|n| !n.contains(['/', '\\']) && n != "." && n != ".."),
        );
    }
    names.sort();
    names.dedup();
    for name in names {
        let path = dir.join(&name);
        if path.is_file() {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed.push(path);
        }
    }
    let meaning = match exit_code {
        2 => "invalid input",
        3 => "database trouble",
        _ => "an error",
    };
    let text = format!(
        "The reims-verify {} run of {} ended with exit {exit_code} ({meaning}) and wrote no reports.\n\
         {}\n\
         Reports an earlier run had left in this folder were removed ({}), so that none of them \
         can be taken for this run's result.\n",
        env!("CARGO_PKG_VERSION"),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        error.trim_end(),
        if removed.is_empty() {
            "there were none".to_string()
        } else {
            removed
                .iter()
                .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let marker = dir.join(FAILED_RUN_FILE);
    std::fs::write(&marker, crate::redact::scrub(&text)).map_err(|e| Error::io(&marker, e))?;
    Ok(removed)
}
