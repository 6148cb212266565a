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
pub mod lock;
pub mod markdown;
mod readback;
pub mod sarif;
mod schema_map;
pub mod terminal;
pub mod traceability;
pub mod view;
mod view_parts;

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

/// Render `template` with `ctx` into `out`. A failure to write is an I/O error of the file
/// being written; any other failure is a defect of a template this crate ships, as when
/// rendering into memory.
pub(crate) fn render_template_to(
    template: &minijinja::Template<'_, '_>,
    ctx: minijinja::Value,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match template.render_captured_to(ctx, out) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == minijinja::ErrorKind::WriteFailure => Err(std::io::Error::other(e)),
        Err(e) => panic!("the report template {} renders: {e:#}", template.name()),
    }
}

/// A writer that remembers the last byte through it, for a file that must end with a line
/// break whatever its template ends with.
pub(crate) struct LastByte<'a> {
    out: &'a mut dyn Write,
    last: Option<u8>,
}

impl<'a> LastByte<'a> {
    pub(crate) fn new(out: &'a mut dyn Write) -> Self {
        LastByte { out, last: None }
    }

    /// The last byte written, if any.
    pub(crate) fn last(&self) -> Option<u8> {
        self.last
    }
}

impl Write for LastByte<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The reports of one run record. The compliance view behind the Markdown and the HTML
/// report is built once, by whichever is rendered first, and shared: at a thousand tables
/// it is the largest structure a rendering makes.
pub(crate) struct Renderer<'a> {
    run: &'a RunRecord,
    digest: &'a str,
    run_file: &'a str,
    /// The compliance report's content as the templates read it, made once and shared by
    /// the Markdown and HTML renderings (each would otherwise convert the view into a tree
    /// of template values of its own: at thousands of tables, hundreds of megabytes each).
    view: std::sync::OnceLock<minijinja::Value>,
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

    fn view(&self) -> &minijinja::Value {
        self.view.get_or_init(|| {
            let view = view::build(self.run, self.digest, self.run_file);
            minijinja::Value::from(minijinja::value::Serde(&view))
        })
    }

    /// One kind of report, written to `out` as it is made: `junit.xml`, the largest, is
    /// never whole in memory.
    pub(crate) fn write(&self, kind: ReportKind, out: &mut dyn Write) -> std::io::Result<()> {
        match kind {
            ReportKind::Junit => junit::write(self.run, self.digest, self.run_file, out),
            ReportKind::Markdown => {
                markdown::write_view(self.view(), self.digest, self.run_file, out)
            }
            ReportKind::Html => html::write_view(self.view(), out),
            ReportKind::Sarif => {
                out.write_all(sarif::render(self.run, self.digest, self.run_file).as_bytes())
            }
        }
    }

    /// One kind of report, in memory.
    pub(crate) fn render(&self, kind: ReportKind) -> String {
        let mut bytes = Vec::new();
        self.write(kind, &mut bytes)
            .expect("writing into memory cannot fail");
        String::from_utf8(bytes).expect("every report is UTF-8")
    }
}

/// A report folder just written.
#[derive(Debug, Clone)]
pub struct Written {
    /// SHA-256 of `run.json`.
    pub digest: String,
    /// SHA-256 of the manifest (`SHA256SUMS`): the digest of the whole folder.
    pub manifest_digest: String,
    /// Every file written, in writing order: `run.json`, its sidecar, the reports, then the
    /// manifest of all of them.
    pub files: Vec<PathBuf>,
    /// The record every report was rendered from, for a caller that also publishes it (the
    /// CI annotations), so that it need not be parsed again.
    pub record: RunRecord,
}

/// A file being written under a temporary name, hashed as its bytes go by, so that no
/// report needs to be held whole to be listed in the manifest.
struct Staged {
    out: std::io::BufWriter<std::fs::File>,
    hash: sha2::Sha256,
}

impl Staged {
    fn create(tmp: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        Ok(Staged {
            out: std::io::BufWriter::with_capacity(1 << 16, file),
            hash: sha2::Digest::new(),
        })
    }

    /// Write the file `tmp` with `write`, start its sync, and give its content's SHA-256;
    /// an error names `tmp`.
    fn write(
        tmp: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(String, Syncing)> {
        Staged::create(tmp)
            .and_then(|mut staged| write(&mut staged).and_then(|_| staged.finish(tmp)))
            .map_err(|e| Error::io(tmp, e))
    }

    /// Flush, start the sync to disk, and give the content's SHA-256.
    fn finish(self, tmp: &Path) -> std::io::Result<(String, Syncing)> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok((
            hex::encode(sha2::Digest::finalize(self.hash)),
            Syncing::start(tmp, file),
        ))
    }
}

/// A staged file being synced to disk on a thread of its own, so that the disk's work
/// overlaps the rendering of the next report (at 1,000 tables `run.json`'s sync took about
/// 45 ms on this project's machines). Every one is waited for before any file of the set is
/// renamed into place, so the set is on disk before it is in place, as before.
#[derive(Debug)]
struct Syncing {
    path: PathBuf,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Syncing {
    fn start(path: &Path, file: std::fs::File) -> Syncing {
        Syncing {
            path: path.to_path_buf(),
            thread: std::thread::spawn(move || file.sync_all()),
        }
    }

    /// Wait for the sync; an error names the file.
    fn wait(self) -> Result<()> {
        let synced = self
            .thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread syncing it ended")));
        synced.map_err(|e| Error::io(&self.path, e))
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        sha2::Digest::update(&mut self.hash, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// What a set of reports is written from.
pub enum Record {
    /// The run itself: serialised straight into `run.json` and read back from that file,
    /// so that at thousands of tables the run, its bytes and the parsed record are never
    /// in memory two at a time.
    Run(Box<crate::run::Run>),
    /// A `run.json` on disk (`report --from`), read as a stream, never whole: parsed and
    /// hashed in one pass, then copied into the set. `sealed` is the digest its sidecar
    /// gives, when it has one; a record that no longer matches it is refused.
    File {
        /// The record.
        path: PathBuf,
        /// The SHA-256 its `.sha256` sidecar names.
        sealed: Option<String>,
    },
}

/// A [`Record`] that has been judged fit to write: a file carries the record parsed from
/// it and the digest it was parsed with, which its copy must match.
enum Judged {
    Run(Box<crate::run::Run>),
    File {
        path: PathBuf,
        digest: String,
        parsed: Box<RunRecord>,
    },
}

/// Hand the memory freed so far back to the system. glibc keeps what a large structure
/// freed (the run once written into `run.json`: at thousands of tables several hundred
/// megabytes) in its arenas, and what comes next (the parsed record, the reports) does not
/// all fit into those holes, so without this the peak is the sum of both.
fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A reader that hashes the bytes read through it, so that a record is parsed and hashed
/// in one pass.
struct Hashing<R> {
    inner: R,
    hash: sha2::Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hash, &buf[..n]);
        Ok(n)
    }
}

/// Copy the record at `path` into `staged` and give its SHA-256, refusing a copy that is
/// not the `read` record the reports are rendered from (the file changed in between).
fn copy_record(path: &Path, staged: &Path, read: &str) -> Result<(String, Syncing)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let (copied, syncing) = Staged::write(staged, |out| std::io::copy(&mut file, out).map(|_| ()))?;
    if copied != read {
        return Err(Error::Usage {
            message: format!(
                "{} changed while it was read (sha256 {read}, then {copied})",
                path.display()
            ),
            hint: "render it again once nothing writes to it".into(),
        });
    }
    Ok((copied, syncing))
}

/// Parse the record at `path` and give its SHA-256 (of every byte, trailing ones too),
/// whether or not it parses: a record that is not what its sidecar sealed is reported as
/// changed, whatever its bytes now say.
fn parse_file(path: &Path) -> Result<(Result<RunRecord>, String)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = Hashing {
        inner: file,
        hash: sha2::Digest::new(),
    };
    let record = json::parse_from(&mut reader, path);
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| Error::io(path, e))?;
    Ok((record, hex::encode(sha2::Digest::finalize(reader.hash))))
}

/// The report kinds in the order they are rendered: costliest first. On two cores one
/// thread renders the HTML report, which builds the view the Markdown one then reuses,
/// while the other writes the JUnit file and then the Markdown report, by when the view is
/// built. (JUnit came first while quick-junit wrote every test case; see
/// [`junit::write`].)
const RENDER_ORDER: [ReportKind; 4] = [
    ReportKind::Html,
    ReportKind::Junit,
    ReportKind::Markdown,
    ReportKind::Sarif,
];

/// Write `run` into `staged` as `run.json` while the bytes are parsed back as they are
/// written, and give the file's SHA-256 and the record. At a thousand tables writing and
/// parsing take about half a second each; side by side on two cores, about the longer of
/// the two.
fn write_reading_back(
    run: crate::run::Run,
    staged: &Path,
    source: &Path,
) -> Result<(String, Syncing, RunRecord)> {
    let mut file = Staged::create(staged).map_err(|e| Error::io(staged, e))?;
    let (written, parsed) = write_parsing(
        &mut file,
        move |out| json::write_to(&run, out),
        |bytes| readback::parse_written(bytes, source),
    );
    let (digest, syncing) = written
        .and_then(|()| file.finish(staged))
        .map_err(|e| Error::io(staged, e))?;
    Ok((digest, syncing, parsed?))
}

/// Run `write` into `out` on a thread of its own while `parse` reads, on this thread, the
/// bytes `out` took, as they are taken. The parse must be of exactly what was written: it
/// is handed only the bytes `out` accepted and ends where the writing ended, so a write
/// that fails halfway leaves it a cut-short text, and the caller reports the write's error
/// before anything the parse said. A parse that stops early stops taking copies; the
/// writing goes on to the end. The record is parsed on this thread, whose memory already
/// holds what earlier steps freed; the writer is the one that starts afresh. `write` is
/// handed the buffered writer itself rather than a `dyn Write`, so that the serialiser's
/// many small writes (indentation, punctuation) compile to copies into its buffer: at a
/// thousand tables that took the writer's CPU time from about 205 ms to 160 ms.
fn write_parsing<T>(
    out: &mut (dyn Write + Send),
    write: impl FnOnce(&mut std::io::BufWriter<Tee<'_>>) -> std::io::Result<()> + Send,
    parse: impl FnOnce(Arrivals) -> T,
) -> (std::io::Result<()>, T) {
    let (copies, arrived) = std::sync::mpsc::sync_channel::<Vec<u8>>(COPIES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            let mut tee = std::io::BufWriter::with_capacity(
                1 << 16,
                Tee {
                    out,
                    copies: Some(copies),
                },
            );
            write(&mut tee).and_then(|()| tee.flush())
            // The copies' channel closes here, with the writer.
        });
        let parsed = parse(Arrivals {
            arrived,
            chunk: Vec::new(),
            at: 0,
        });
        let written = writer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (written, parsed)
    })
}

/// How many chunks of `run.json` may wait for the parser: a few megabytes at most.
const COPIES_IN_FLIGHT: usize = 32;

/// A writer that passes every byte to `out` and a copy of the bytes `out` took to the
/// parser; a parser that has stopped (on an error it will report) takes no more copies.
struct Tee<'a> {
    out: &'a mut (dyn Write + Send),
    copies: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(copies) = &self.copies {
            if n > 0 && copies.send(buf[..n].to_vec()).is_err() {
                self.copies = None;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The parser's side of a [`Tee`]: the chunks in the order they were written, ending where
/// the writer ended.
struct Arrivals {
    arrived: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl std::io::Read for Arrivals {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.arrived.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Render every report from a run record (`source` names its `run.json` in messages) and
/// write the set into `dir` (created if missing).
///
/// Each file is written to a temporary file in `dir` first, and all are renamed into place
/// only once every one is written and synced, so a reader never sees a half-written file
/// and a failure leaves the old set. The reports are written to disk as they render and
/// hashed on the way, never held whole beside each other; the run is let go once
/// `run.json` is written, before any report renders.
pub fn write_all(record: Record, source: &Path, dir: &Path) -> Result<Written> {
    // A record from elsewhere is judged before anything is written.
    let record = match record {
        Record::File { path, sealed } => {
            let (run, digest) = parse_file(&path)?;
            // The seal first: a record changed after it was written is reported as such,
            // even where the change also broke its syntax.
            if let Some(sealed) = sealed.as_ref().filter(|s| **s != digest) {
                return Err(Error::Usage {
                    message: format!(
                        "{} has sha256 {digest}, but {} says {sealed}: it changed after it \
                         was written",
                        path.display(),
                        digest::sidecar_path(&path).display()
                    ),
                    hint: "render the record `check` wrote; if the change is intended, remove \
                           the .sha256 file first"
                        .into(),
                });
            }
            Judged::File {
                path,
                digest,
                parsed: Box::new(run?),
            }
        }
        Record::Run(run) => Judged::Run(run),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Held until the set is in place (or its staged files are gone).
    let _writer = lock::lock(dir)?;
    let tmp_of = |name: &str| dir.join(staged_name(name, std::process::id()));
    let sidecar = format!("{RUN_FILE}{SIDECAR_SUFFIX}");
    let mut names: Vec<String> = vec![RUN_FILE.into(), sidecar.clone()];
    names.extend(ReportKind::ALL.iter().map(|k| k.file_name().to_string()));
    names.push(MANIFEST_FILE.into());
    // Holding the lock, no other run is writing here: a staged file is a killed run's.
    remove_staged(dir, &names, |_| true);
    // Ctrl-C or SIGTERM while the set is written: the handler removes what was staged.
    let _unstage = Unstage::register(dir, &names);
    let result = (|| {
        // Every file's sync, waited for before the renames.
        let mut syncs = Vec::with_capacity(names.len());
        let write_one = |syncs: &mut Vec<Syncing>, name: &str, bytes: &[u8]| -> Result<String> {
            let (digest, syncing) = Staged::write(&tmp_of(name), |out| out.write_all(bytes))?;
            syncs.push(syncing);
            Ok(digest)
        };
        let staged_run = tmp_of(RUN_FILE);
        let (digest, run_synced, run) = match record {
            Judged::Run(run) => write_reading_back(*run, &staged_run, source)?,
            Judged::File {
                path,
                digest,
                parsed,
            } => {
                let (copied, syncing) = copy_record(&path, &staged_run, &digest)?;
                (copied, syncing, *parsed)
            }
        };
        // The run is gone: the record is what is left.
        give_back_freed();
        let sidecar_digest = write_one(
            &mut syncs,
            &sidecar,
            sidecar_text(&digest, RUN_FILE).as_bytes(),
        )?;
        let mut digests = vec![
            (RUN_FILE.to_string(), digest.clone()),
            (sidecar.clone(), sidecar_digest),
        ];
        // The kinds are independent renderings of one record: at a thousand tables each
        // takes up to half a second, so they render side by side, costliest first, each
        // thread taking the next kind not yet taken; the manifest keeps their order.
        let renderer = Renderer::new(&run, &digest, RUN_FILE);
        let mut rendered = crate::parallel::map_claimed(&RENDER_ORDER, |kind| {
            let name = kind.file_name();
            Staged::write(&tmp_of(name), |out| renderer.write(*kind, out))
                .map(|(d, syncing)| (*kind, name.to_string(), d, syncing))
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        rendered.sort_by_key(|(kind, ..)| ReportKind::ALL.iter().position(|k| k == kind));
        for (_, name, d, syncing) in rendered {
            digests.push((name, d));
            syncs.push(syncing);
        }
        // The template values go before the manifest and the renames.
        drop(renderer);
        // Every file above is listed by construction, whatever kinds are added later.
        let manifest = manifest_text(&digests);
        write_one(&mut syncs, MANIFEST_FILE, manifest.as_bytes())?;
        // The whole set is on disk before any of it is in place.
        run_synced.wait()?;
        for syncing in syncs {
            syncing.wait()?;
        }
        let mut written = Vec::with_capacity(names.len());
        for name in &names {
            let path = dir.join(name);
            std::fs::rename(tmp_of(name), &path).map_err(|e| Error::io(&path, e))?;
            written.push(path);
        }
        // This run's reports are now in place: a failed run's marker no longer applies.
        let marker = dir.join(FAILED_RUN_FILE);
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        }
        Ok(Written {
            manifest_digest: digest::sha256_hex(manifest.as_bytes()),
            digest,
            files: written,
            record: run,
        })
    })();
    if result.is_err() {
        for name in &names {
            let _ = std::fs::remove_file(tmp_of(name));
        }
    }
    result
}

/// The staged (temporary) name of report file `name` for the writer with process id `pid`.
fn staged_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.tmp")
}

/// Remove the staged files of `names` in `dir` whose writer's process id passes `whose`;
/// how many were removed.
fn remove_staged(dir: &Path, names: &[String], whose: impl Fn(u32) -> bool) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let file = e.file_name();
            let file = file.to_string_lossy();
            names.iter().any(|name| {
                file.strip_prefix(&format!(".{name}."))
                    .and_then(|rest| rest.strip_suffix(".tmp"))
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(&whose)
            })
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// While it lives, an interruption (which ends the process from the signal handler, with
/// the set half written) first removes this process's staged report files.
struct Unstage(u64);

impl Unstage {
    fn register(dir: &Path, names: &[String]) -> Unstage {
        let (dir, names) = (dir.to_path_buf(), names.to_vec());
        let ours = std::process::id();
        Unstage(crate::postgres::register_interrupt_hook(Box::new(
            move || match remove_staged(&dir, &names, |pid| pid == ours) {
                0 => Vec::new(),
                n => vec![format!(
                    "removed {n} unfinished report file{} from {}",
                    if n == 1 { "" } else { "s" },
                    dir.display()
                )],
            },
        )))
    }
}

impl Drop for Unstage {
    fn drop(&mut self) {
        crate::postgres::unregister_interrupt_hook(self.0);
    }
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
    let _writer = lock::lock(dir)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"format_version":1,"tool_version":"0.1.0","started_at":"a",
        "finished_at":"b","database":"ephemeral cluster","server_version":"15",
        "ephemeral":true,"migrations":[],"specs":[],"probe_seed":null,"phases":[],
        "findings":[{"code":"table.exists","table":"t","object":"t","status":"pass",
        "message":"ok"}]}"#;

    /// A JSON text of `n` findings-like objects, several megabytes for large `n`: far more
    /// than the copies that may wait for the parser.
    fn big_json(n: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"code":"c{i}","message":"finding number {i} \u00e9"}}"#))
            .collect();
        format!("[{}]", items.join(",\n"))
    }

    /// Takes bytes until `limit`, at most `step` a call, then fails: a disk filling up.
    struct FillsUp {
        taken: Vec<u8>,
        limit: usize,
        step: usize,
    }

    impl Write for FillsUp {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = self.limit - self.taken.len();
            if room == 0 {
                return Err(std::io::Error::other("no space left"));
            }
            let n = buf.len().min(room).min(self.step);
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn read_all(mut r: impl std::io::Read) -> Vec<u8> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn what_is_parsed_while_written_is_what_was_written() {
        let text = big_json(100_000);
        assert!(text.len() > COPIES_IN_FLIGHT * (1 << 16), "{}", text.len());
        let mut out = Vec::new();
        let payload = text.clone();
        let (written, parsed) = write_parsing(
            &mut out,
            move |w| {
                // In small pieces, as a serialiser writes.
                for piece in payload.as_bytes().chunks(7) {
                    w.write_all(piece)?;
                }
                Ok(())
            },
            |r| serde_json::from_reader::<_, serde_json::Value>(std::io::BufReader::new(r)),
        );
        written.unwrap();
        assert_eq!(out, text.as_bytes());
        let parsed = parsed.unwrap();
        assert_eq!(
            parsed,
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        );
    }

    #[test]
    fn a_write_that_fails_halfway_is_the_error_and_the_parse_sees_only_what_was_taken() {
        let text = big_json(50_000);
        // Partial writes of 1,000 bytes, so a copy must be of what was taken, not of the
        // buffer offered.
        let mut out = FillsUp {
            taken: Vec::new(),
            limit: text.len() / 2,
            step: 1000,
        };
        let payload = text.clone();
        let (written, seen) =
            write_parsing(&mut out, move |w| w.write_all(payload.as_bytes()), read_all);
        let err = written.unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        assert_eq!(out.taken.len(), text.len() / 2);
        assert_eq!(
            seen, out.taken,
            "the parse saw exactly the bytes the file took"
        );
        // A parser of that cut-short text fails, and its error is not the one reported.
        let (written, parsed) = write_parsing(
            &mut FillsUp {
                taken: Vec::new(),
                limit: 4096,
                step: 4096,
            },
            {
                let payload = text.clone();
                move |w| w.write_all(payload.as_bytes())
            },
            serde_json::from_reader::<_, serde_json::Value>,
        );
        assert!(written.is_err() && parsed.is_err());
    }

    #[test]
    fn a_parse_that_stops_early_lets_the_writing_finish() {
        let text = big_json(100_000);
        let mut out = Vec::new();
        let payload = text.clone();
        let (written, first) = write_parsing(
            &mut out,
            move |w| w.write_all(payload.as_bytes()),
            |mut r| {
                let mut head = [0u8; 16];
                std::io::Read::read_exact(&mut r, &mut head).unwrap();
                head
            },
        );
        written.unwrap();
        assert_eq!(&first, &text.as_bytes()[..16]);
        assert_eq!(out, text.as_bytes(), "the file is whole");
    }

    #[test]
    fn a_panic_while_parsing_reaches_the_caller_and_the_writer_ends() {
        let text = big_json(100_000);
        let caught = std::panic::catch_unwind(|| {
            let mut out = Vec::new();
            write_parsing(
                &mut out,
                move |w| w.write_all(text.as_bytes()),
                |_r| panic!("the parser broke"),
            )
        });
        assert!(caught.is_err());
    }

    #[test]
    fn reports_render_every_kind_once() {
        let mut order = RENDER_ORDER.to_vec();
        order.sort_by_key(|k| ReportKind::ALL.iter().position(|a| a == k));
        assert_eq!(order, ReportKind::ALL.to_vec());
    }

    /// A record is read twice (parsed, then copied into the set): bytes that differ the
    /// second time (the file rewritten in between) are refused.
    #[test]
    fn a_copy_that_is_not_the_record_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("run.json");
        std::fs::write(&from, format!("{RECORD} ")).unwrap();
        let staged = dir.path().join("staged");
        let read = digest::sha256_hex(RECORD.as_bytes());
        let err = copy_record(&from, &staged, &read).unwrap_err();
        assert!(
            err.to_string().contains("changed while it was read"),
            "{err}"
        );
        std::fs::write(&from, RECORD).unwrap();
        assert_eq!(copy_record(&from, &staged, &read).unwrap().0, read);
        assert_eq!(std::fs::read_to_string(&staged).unwrap(), RECORD);
    }

    #[test]
    fn a_record_read_from_a_file_is_copied_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("run.json");
        std::fs::write(&from, RECORD).unwrap();
        let out = dir.path().join("out");
        let written = write_all(
            Record::File {
                path: from.clone(),
                sealed: Some(digest::sha256_hex(RECORD.as_bytes())),
            },
            &from,
            &out,
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(out.join(RUN_FILE)).unwrap(), RECORD);
        assert_eq!(written.digest, digest::sha256_hex(RECORD.as_bytes()));
        let sealed_otherwise = refused(
            &from,
            Some(digest::sha256_hex(b"something else")),
            &dir.path().join("refused"),
        );
        assert!(
            sealed_otherwise
                .to_string()
                .contains("changed after it was written"),
            "{sealed_otherwise}"
        );
        assert!(!dir.path().join("refused").exists());
    }

    /// The error of rendering the record at `from`, sealed as `sealed` says, into `out`.
    fn refused(from: &Path, sealed: Option<String>, out: &Path) -> Error {
        write_all(
            Record::File {
                path: from.to_path_buf(),
                sealed,
            },
            from,
            out,
        )
        .unwrap_err()
    }

    /// A sealed record whose change also broke its syntax is reported as changed, not as
    /// "not a run record": which byte a change hits must not decide the diagnosis.
    #[test]
    fn a_sealed_record_changed_into_bad_syntax_is_reported_as_changed() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("run.json");
        let colon = RECORD.find(':').expect("the record has a colon");
        let broken = format!("{}x{}", &RECORD[..colon], &RECORD[colon + 1..]);
        std::fs::write(&from, &broken).unwrap();
        let sealed = refused(
            &from,
            Some(digest::sha256_hex(RECORD.as_bytes())),
            &dir.path().join("sealed"),
        );
        assert!(
            sealed.to_string().contains("changed after it was written"),
            "{sealed}"
        );
        // Without a seal, the syntax is all there is to report.
        let unsealed = refused(&from, None, &dir.path().join("unsealed"));
        assert!(
            unsealed
                .to_string()
                .contains("not a reims-verify run record"),
            "{unsealed}"
        );
        assert!(!dir.path().join("sealed").exists());
        assert!(!dir.path().join("unsealed").exists());
    }
}
