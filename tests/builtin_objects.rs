//! `builtin.altered`: a migration that changes PostgreSQL's own objects (pg_catalog) fails
//! the run, each change named, though no spec describes pg_catalog; an untouched database
//! passes. The reference is a database of the same throw-away server that no migration
//! ran in.

mod common;

use common::*;
use serde_json::Value;

/// `check --no-probe --no-report --format json` of the ledger, with `after` applied after
/// its migrations: the exit code and the `builtin.altered` finding.
fn ledger_with(after: Option<&str>) -> (Option<i32>, Value, String) {
    ledger_in(after, None)
}

/// [`ledger_with`], with the caches and the clusters in `place` when given.
fn ledger_in(after: Option<&str>, place: Option<&Place>) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--migrations",
        "tests/fixtures/report/migrations",
        "--specs",
        "tests/fixtures/report/specs",
    ];
    let path = dir.path().join("after.sql");
    if let Some(sql) = after {
        std::fs::write(&path, sql).unwrap();
        args.extend(["--apply-after", path.to_str().unwrap()]);
    }
    let mut all = vec!["check", "--no-probe", "--no-report", "--format", "json"];
    all.extend_from_slice(&args);
    let mut cmd = reims_command(&all);
    if let Some(place) = place {
        cmd.env("REIMS_VERIFY_CACHE_DIR", place.cache.path())
            .env("REIMS_VERIFY_TMPDIR", place.parent.path())
            .env_remove("REIMS_VERIFY_NO_CACHE");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let run: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let code = out.status.code();
    let found: Vec<&Value> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "builtin.altered")
        .collect();
    assert_eq!(found.len(), 1, "one finding per run: {found:?}");
    (code, found[0].clone(), stderr)
}

#[test]
fn an_untouched_pg_catalog_passes() {
    let (code, finding, stderr) = ledger_with(None);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(finding["status"], "pass", "{finding}");
}

/// Each change below passed every check before: none is in a schema the specs describe.
/// The function added has the defaults (owned by the bootstrap superuser, no grants of its
/// own): it is found by the count and digest of pg_catalog's names.
#[test]
fn changes_to_pg_catalog_fail_and_each_is_named() {
    let (code, finding, stderr) = ledger_with(Some(
        "CREATE ROLE rv_builtin_reader;\n\
         GRANT SELECT ON pg_authid TO PUBLIC;\n\
         GRANT SELECT (rolpassword) ON pg_authid TO rv_builtin_reader;\n\
         GRANT EXECUTE ON FUNCTION pg_read_file(text) TO rv_builtin_reader;\n\
         ALTER FUNCTION lower(text) SECURITY DEFINER;\n\
         ALTER FUNCTION now() SET search_path = public;\n\
         REVOKE EXECUTE ON FUNCTION upper(text) FROM PUBLIC;\n\
         ALTER FUNCTION initcap(text) OWNER TO rv_builtin_reader;\n\
         -- Found before any function of its name in every schema of every search path.\n\
         CREATE FUNCTION pg_catalog.rv_added() RETURNS integer LANGUAGE sql AS 'SELECT 1';\n\
         -- Granting what PUBLIC has already changes nothing.\n\
         GRANT EXECUTE ON FUNCTION length(text) TO PUBLIC;\n",
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(finding["status"], "fail", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("8 of PostgreSQL's own objects"),
        "{message}"
    );
    for named in [
        "`table pg_authid`: privileges",
        "`column pg_authid.rolpassword`: privileges rv_builtin_reader SELECT",
        "`function pg_read_file(text)`",
        "`function lower(text)`: SECURITY DEFINER",
        "`function now()`: SET search_path=public",
        "`function upper(text)`",
        "`function initcap(text)`: owned by rv_builtin_reader",
        "`functions, relations and languages`: ",
    ] {
        assert!(message.contains(named), "{named} missing: {message}");
    }
    assert!(!message.contains("length(text)"), "{message}");
}

/// The database's languages are PostgreSQL's own objects too, and belong to no schema:
/// USAGE revoked from PUBLIC on `sql`, and a language a migration creates with the
/// defaults (found by the count and digest), each fail. `plpgsql` is an extension's member
/// and is compared as one (`extension.member_security`).
#[test]
fn changes_to_the_languages_fail_and_are_named() {
    let (code, finding, stderr) = ledger_with(Some(
        "REVOKE USAGE ON LANGUAGE sql FROM PUBLIC;\n\
         CREATE LANGUAGE rv_lang HANDLER plpgsql_call_handler;\n",
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(finding["status"], "fail", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 of PostgreSQL's own objects"),
        "{message}"
    );
    for named in [
        "`language sql`: privileges",
        "`functions, relations and languages`: ",
    ] {
        assert!(message.contains(named), "{named} missing: {message}");
    }
}

/// `information_schema` and the catalog's own schemas are PostgreSQL's own objects too:
/// CREATE on `pg_catalog` granted to PUBLIC (every role may then put a function there,
/// found before any other of its name), a grant on an `information_schema` table and a
/// function of it made SECURITY DEFINER each fail and are named.
#[test]
fn changes_to_information_schema_and_the_catalog_schemas_fail_and_are_named() {
    let (code, finding, stderr) = ledger_with(Some(
        "GRANT CREATE ON SCHEMA pg_catalog TO PUBLIC;\n\
         GRANT INSERT ON information_schema.sql_features TO PUBLIC;\n\
         ALTER FUNCTION information_schema._pg_char_max_length(oid, integer) SECURITY DEFINER;\n",
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(finding["status"], "fail", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("3 of PostgreSQL's own objects"),
        "{message}"
    );
    for named in [
        "`schema pg_catalog`: privileges",
        "`table information_schema.sql_features`: privileges",
        "`function information_schema._pg_char_max_length(oid,integer)`: SECURITY DEFINER",
    ] {
        assert!(message.contains(named), "{named} missing: {message}");
    }
}

/// A built-in function renamed, or given another body by `CREATE OR REPLACE` (its OID,
/// owner and privileges kept, so nothing but the definition differs), changes the digest:
/// each passed before, the replaced body by every measure this check had.
#[test]
fn a_built_in_function_renamed_or_replaced_in_place_fails() {
    for change in [
        "ALTER FUNCTION pg_catalog.initcap(text) RENAME TO initcap_renamed;\n",
        "CREATE OR REPLACE FUNCTION pg_catalog.initcap(text) RETURNS text LANGUAGE sql \
         IMMUTABLE AS $$ SELECT 'x' $$;\n",
        "ALTER FUNCTION pg_catalog.initcap(text) VOLATILE;\n",
    ] {
        let (code, finding, stderr) = ledger_with(Some(change));
        assert_eq!(code, Some(1), "{change}: {stderr}");
        assert_eq!(finding["status"], "fail", "{change}: {finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.starts_with("1 of PostgreSQL's own objects")
                && message.contains("`functions, relations and languages`: "),
            "{change}: {message}"
        );
    }
}

/// A cache folder and a cluster parent of a test's own, so that which runs find an initdb
/// cache entry, and what its notes say, is the test's to decide.
struct Place {
    cache: tempfile::TempDir,
    parent: tempfile::TempDir,
}

impl Place {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Place {
            cache: tempfile::tempdir().unwrap(),
            parent,
        }
    }

    /// The notes of the fresh database's state in the place's initdb cache entries.
    fn notes(&self) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.cache.path()).unwrap().flatten() {
            if !entry.file_name().to_string_lossy().starts_with("initdb-") {
                continue;
            }
            for file in std::fs::read_dir(entry.path()).unwrap().flatten() {
                if file
                    .file_name()
                    .to_string_lossy()
                    .starts_with("NOTE-builtin-state-")
                {
                    found.push(file.path());
                }
            }
        }
        found
    }

    /// The one note, as its header's words and its body.
    fn note(&self) -> (std::path::PathBuf, Vec<String>, String) {
        let notes = self.notes();
        assert_eq!(notes.len(), 1, "one note: {notes:?}");
        let text = std::fs::read_to_string(&notes[0]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        let words = header.split_whitespace().map(str::to_string).collect();
        (notes[0].clone(), words, body.to_string())
    }
}

/// A note's text: its header (the entry's key and its manifest's CRC-32, the body's CRC-32)
/// and `body`.
fn note_text(key: &str, manifest: &str, body: &str) -> String {
    format!(
        "reims-verify initdb cache note v1 {key} {manifest} {:08x}\n{body}",
        crc32fast::hash(body.as_bytes())
    )
}

/// The fresh database's state is the same on every server started from one initdb cache
/// entry, so the first run restored from the entry writes it down in the entry and later
/// runs read it there instead of asking a database of their own. Two servers started from
/// the entry say the same, and with the note a changed pg_catalog still fails, each change
/// named. (Another entry of the same binaries may differ: initdb numbers the functions it
/// makes after the collations it finds on the machine, and the digest holds the numbers.)
#[test]
fn a_fresh_databases_state_is_written_down_and_read_back_where_a_server_would_say_the_same() {
    let place = Place::new();
    // The first run makes the entry by initdb: nothing to write a note about yet.
    let (code, finding, stderr) = ledger_in(None, Some(&place));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(finding["status"], "pass", "{finding}");
    assert!(place.notes().is_empty(), "{:?}", place.notes());
    // The second is restored from it, asks, and writes the note.
    let (code, finding, stderr) = ledger_in(None, Some(&place));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(finding["status"], "pass", "{finding}");
    let (_, words, body) = place.note();
    assert_eq!(words.len(), 8, "{words:?}");
    let noted = reims_verify::catalog::builtin::from_note_body(&body).expect("the body parses");
    assert!(
        noted
            .iter()
            .any(|s| s.object == "function pg_read_file(text)"),
        "{} states, pg_read_file(text) not among them",
        noted.len()
    );
    // Another server started from the same entry, asked, says the same.
    let (path, _, _) = place.note();
    std::fs::remove_file(&path).unwrap();
    let (code, _, stderr) = ledger_in(None, Some(&place));
    assert_eq!(code, Some(0), "{stderr}");
    let (_, again, asked) = place.note();
    assert_eq!(again, words);
    assert_eq!(asked, body, "two servers of one entry say the same");
    // Read from the note, a changed pg_catalog fails as it fails without one.
    let (code, finding, stderr) = ledger_in(
        Some(
            "GRANT SELECT ON pg_authid TO PUBLIC;\n\
             ALTER FUNCTION lower(text) SECURITY DEFINER;\n",
        ),
        Some(&place),
    );
    assert_eq!(code, Some(1), "{stderr}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 of PostgreSQL's own objects"),
        "{message}"
    );
    for named in [
        "`table pg_authid`: privileges",
        "`function lower(text)`: SECURITY DEFINER",
    ] {
        assert!(message.contains(named), "{named} missing: {message}");
    }
    assert_eq!(place.notes().len(), 1);
}

/// A whole note is what the run compares with: one that says more than a fresh database
/// has makes the run fail naming it (which shows it is read). One cut short or changed
/// (its CRC-32 no longer matches), or naming another key or another entry of the key (by
/// its manifest's CRC-32), is not used: the run asks a fresh database, passes, and writes
/// the note again whole.
#[test]
fn a_whole_note_is_what_is_compared_and_a_damaged_one_is_asked_again() {
    let place = Place::new();
    for _ in 0..2 {
        let (code, _, stderr) = ledger_in(None, Some(&place));
        assert_eq!(code, Some(0), "{stderr}");
    }
    let (path, words, body) = place.note();
    let (key, manifest) = (words[5].clone(), words[6].clone());
    let mut states: Vec<Value> = serde_json::from_str(&body).unwrap();
    states.push(serde_json::json!({"object": "table pg_rv_only_in_the_note", "state": "noted"}));
    let more = serde_json::to_string(&states).unwrap();
    std::fs::write(&path, note_text(&key, &manifest, &more)).unwrap();
    let (code, finding, stderr) = ledger_in(None, Some(&place));
    assert_eq!(code, Some(1), "the note was not read: {stderr}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("`table pg_rv_only_in_the_note`: PostgreSQL's default, or no such object (a fresh database: noted)"),
        "{message}"
    );
    let damaged = [
        // Still a list that parses: only its CRC-32 tells.
        (
            "changed",
            note_text(&key, &manifest, &more).replace("\"noted\"", "\"changed\""),
        ),
        (
            "cut short",
            note_text(&key, &manifest, &more)[..60].to_string(),
        ),
        (
            "another key's",
            note_text(&"0".repeat(key.len()), &manifest, &more),
        ),
        // Written from a copy of an entry the key had before (discarded, and stored again
        // by another initdb, whose files and so whose manifest differ).
        (
            "an earlier entry's",
            note_text(&key, &"0".repeat(manifest.len()), &more),
        ),
    ];
    for (what, text) in damaged {
        std::fs::write(&path, text).unwrap();
        let (code, finding, stderr) = ledger_in(None, Some(&place));
        assert_eq!(code, Some(0), "{what} note: {stderr}");
        assert_eq!(finding["status"], "pass", "{what} note: {finding}");
        let (_, again, rewritten) = place.note();
        assert_eq!(again, words, "{what} note: written again");
        assert_eq!(rewritten, body, "{what} note: written again whole");
    }
}
