//! `reims-verify report`: re-render every report from a run record (`--from run.json
//! --out DIR`) without a database, or verify a report's digest (`report verify FILE`).

use std::path::Path;

use crate::cli::{ReportAction, ReportArgs};
use crate::error::{Error, ExitCode, Result};
use crate::report::digest::{self, sidecar_path};

use super::Output;

/// Run `report`.
pub async fn run_report(args: &ReportArgs, out: Output) -> Result<ExitCode> {
    match (&args.action, &args.from) {
        (Some(ReportAction::Verify { file }), _) => verify(file, out),
        (None, Some(from)) => render(from, &args.out),
        (None, None) => Err(Error::Usage {
            message: "`report` needs --from RUN_JSON, or the `verify FILE` subcommand".into(),
            hint: "re-render with `reims-verify report --from reports/run.json --out DIR`, or \
                   check a report with `reims-verify report verify reports/report.html`"
                .into(),
        }),
    }
}

/// Re-render all reports from `from` into `out`, copying the run record byte for byte.
fn render(from: &Path, out: &Path) -> Result<ExitCode> {
    // A record whose own digest no longer matches is not re-blessed with a fresh one.
    let sidecar = sidecar_path(from);
    let sealed = std::fs::read_to_string(&sidecar)
        .ok()
        .and_then(|text| digest::parse_sidecar(&text))
        .map(|(expected, _)| expected);
    let unsealed = sealed.is_none();
    // Read as a stream: at thousands of tables the record's bytes are hundreds of megabytes.
    let record = crate::report::Record::File {
        path: from.to_path_buf(),
        sealed,
    };
    let rendered = crate::report::write_all(record, from, out)?;
    // Nothing then shows that the record is the one `check` wrote: say so where the person
    // re-rendering it reads.
    if unsealed {
        errln!(
            "{}",
            crate::redact::scrub(&format!(
                "warning: {} has no readable {} beside it, so nothing shows it is the record \
                 `check` wrote; the reports were rendered from it as it stands (compare its \
                 sha256 below with the one the run printed)",
                from.display(),
                sidecar.display()
            ))
        );
    }
    for path in &rendered.files {
        outln!("wrote {}", path.display());
    }
    outln!("run.json sha256 {}", rendered.digest);
    outln!(
        "{} sha256 {} (the digest of the whole set)",
        digest::MANIFEST_FILE,
        rendered.manifest_digest
    );
    Ok(ExitCode::Passed)
}

/// Verify the report folder of `file` and print one line per file checked, then the
/// folder's digest to compare with the value kept elsewhere.
fn verify(file: &Path, out: Output) -> Result<ExitCode> {
    let folder = digest::verify(file)?;
    for c in &folder.checks {
        let label = match (c.intact, out.color) {
            (true, true) => "\x1b[32mintact\x1b[0m  ",
            (true, false) => "intact  ",
            (false, true) => "\x1b[31mMISMATCH\x1b[0m",
            (false, false) => "MISMATCH",
        };
        outln!("{label} {}: {}", c.path.display(), c.detail);
    }
    if let Some(d) = &folder.manifest_digest {
        outln!(
            "{} sha256 {d} (the digest of the whole set: compare it with the one the run \
             printed)",
            digest::MANIFEST_FILE
        );
    }
    Ok(if folder.intact() {
        ExitCode::Passed
    } else {
        ExitCode::Findings
    })
}
