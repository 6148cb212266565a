//! The checks behind reims-verify's fuzz targets, shared by the coverage-guided targets in
//! `fuzz/` and by `tests/fuzz.rs`, which replays their corpus and kept crashes in the normal
//! test run. Each entry point takes arbitrary bytes and panics only when reims-verify has a
//! defect: a panic of its own, a rejection that is not a clear exit 2 naming the file, a
//! password that reaches printed text, or a statement split that loses or moves text.

use std::path::{Path, PathBuf};

use crate::error::{Error, ExitCode};

/// The name a fuzzed spec document is given, so that messages can be checked for it.
pub const SPEC_PATH: &str = "fuzzed/spec.yaml";

/// Byte that separates entries of a fuzzed migrations folder (see [`migrations_folder`]).
pub const ENTRY_SEPARATOR: u8 = 0;

/// Load `data` as one spec document. It must either load or be refused with exit 2 by a
/// message that names the file, with a hint.
pub fn spec_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return spec_bytes(data);
    };
    if let Err(e) = crate::spec::load_str(Path::new(SPEC_PATH), text) {
        assert_clear_input_error(&e, SPEC_PATH);
    }
}

/// Bytes that are not UTF-8 go through the folder loader, which must refuse them plainly.
fn spec_bytes(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("fuzzed.yaml");
    std::fs::write(&path, data).expect("write the fuzzed spec");
    match crate::spec::load_dir(dir.path()) {
        Ok(_) => panic!("a spec that is not UTF-8 was accepted"),
        Err(e) => assert_clear_input_error(&e, &path.display().to_string()),
    }
}

/// Parse `data` as a connection string, as `--database-url` would. It must parse or be
/// refused with exit 2; and no password it holds may survive in the text reims-verify
/// prints for it, or in the refusal.
pub fn connection_string(data: &[u8]) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let raw = String::from_utf8_lossy(data);
    // As the binary does: every argument's secrets are registered before anything prints.
    crate::redact::forget_all();
    crate::redact::register_secrets_in(&raw);
    let mut printed = vec![crate::redact::scrub(&crate::redact::connection_string(
        &raw,
    ))];
    match crate::postgres::DatabaseUrl::parse(&raw) {
        Ok(url) => {
            printed.push(crate::redact::scrub(&url.to_string()));
            if let Some(password) = url.password() {
                assert!(
                    crate::redact::registered().contains(&password),
                    "password {password:?} of {raw:?} is not registered"
                );
            }
        }
        Err(e) => {
            assert_eq!(
                e.exit_code(),
                ExitCode::InvalidInput,
                "a bad connection string must be exit 2, got {e}"
            );
            printed.push(crate::redact::scrub(&e.to_string()));
        }
    }
    // The registry only grows during one input, so it holds the early guesses too.
    for secret in &crate::redact::registered() {
        for text in &printed {
            assert_hidden(secret, text, &raw);
        }
    }
}

fn assert_hidden(secret: &str, text: &str, raw: &str) {
    if !crate::redact::is_scrubbed(secret) {
        return;
    }
    assert!(
        !text.contains(secret),
        "password {secret:?} of {raw:?} is printed: {text:?}"
    );
}

/// Lay `data` out as a migrations folder and read it as `migrate` and `check` do.
///
/// `data` is a list of entries separated by [`ENTRY_SEPARATOR`]: a name, then the next
/// entry is that file's content. Names starting with `@link:` make a symbolic link to the
/// content, `@dir:` a folder. Input without a separator is the content of one file,
/// `001_fuzzed.sql`, so that any SQL file is a seed.
///
/// The folder must be read or refused with exit 2 naming an entry; every accepted file must
/// be planned (or refused naming its line) and split into statements that sit exactly where
/// they were found.
pub fn migrations_folder(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    lay_out(dir.path(), data);
    match crate::migrate::scan_dir(dir.path()) {
        Err(e) => assert_clear_input_error(&e, &dir.path().display().to_string()),
        Ok(found) => {
            for file in &found.files {
                assert!(
                    file.name.ends_with(".sql"),
                    "{} was taken for a migration",
                    file.name
                );
                if let Err(e) = crate::migrate::plan(file) {
                    assert_clear_input_error(&e, &file.path.display().to_string());
                }
                statements_in_place(&file.sql);
            }
        }
    }
}

/// Split `sql` into statements and check that each one is the text at its offset and line.
pub fn statements_in_place(sql: &str) {
    let mut end = 0;
    for s in crate::migrate::statements(sql) {
        assert!(
            s.offset >= end,
            "statement at {} overlaps the one before",
            s.offset
        );
        assert_eq!(
            sql.get(s.offset..s.offset + s.text.len()),
            Some(s.text),
            "statement text is not the file's text at its offset"
        );
        let line = 1 + sql.as_bytes()[..s.offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        assert_eq!(
            s.line, line,
            "statement at byte {} has a wrong line",
            s.offset
        );
        assert!(!s.text.trim().is_empty(), "an empty statement was kept");
        end = s.offset + s.text.len();
    }
}

fn lay_out(dir: &Path, data: &[u8]) {
    if !data.contains(&ENTRY_SEPARATOR) {
        std::fs::write(dir.join("001_fuzzed.sql"), data).expect("write the fuzzed file");
        return;
    }
    let mut parts = data.split(|&b| b == ENTRY_SEPARATOR);
    while let Some(name) = parts.next() {
        let content = parts.next().unwrap_or_default();
        let name = String::from_utf8_lossy(name).replace('/', "_");
        let (kind, name) = match name.split_once(':') {
            Some(("@link", rest)) => ("link", rest.to_string()),
            Some(("@dir", rest)) => ("dir", rest.to_string()),
            _ => ("file", name),
        };
        if name.is_empty() || name == "." || name == ".." || name.len() > 200 {
            continue;
        }
        let path: PathBuf = dir.join(&name);
        // An existing name, or a link to nothing (Linux refuses an empty link target),
        // cannot be laid out; the input is tried without that entry.
        if path.symlink_metadata().is_ok() || (kind == "link" && content.is_empty()) {
            continue;
        }
        let made = match kind {
            "link" => {
                std::os::unix::fs::symlink(Path::new(&*String::from_utf8_lossy(content)), &path)
            }
            "dir" => std::fs::create_dir(&path),
            _ => std::fs::write(&path, content),
        };
        made.expect("lay out a fuzzed entry");
    }
}

/// A refusal of user input: exit 2, naming `place`, with a message a user can act on.
fn assert_clear_input_error(e: &Error, place: &str) {
    let text = e.to_string();
    assert_eq!(
        e.exit_code(),
        ExitCode::InvalidInput,
        "bad input must be exit 2, got {text}"
    );
    assert!(
        text.contains(place),
        "the message does not name {place}: {text}"
    );
    for internal in [
        "Option<",
        "DuplicateKeyPolicy",
        "from_str_multiple",
        "serde",
    ] {
        assert!(
            !text.contains(internal),
            "the message speaks the library's language ({internal}): {text}"
        );
    }
}
