//! `run.json`: the run record's stable, versioned file format, written from a [`Run`] and
//! read back as a [`RunRecord`].
//!
//! The writer is [`Run`]'s own serialisation. The reader is a separate, owned mirror of it,
//! so that `report --from` needs no database and so that a record written by an older
//! `reims-verify` (fewer fields) still reads: every field added after format 1 is optional
//! here, and unknown fields are ignored.

use std::path::Path;

use compact_str::CompactString;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::run::{Run, Totals, RUN_FORMAT_VERSION};
use crate::verify::Status;

/// The file name of the run record inside a report folder.
pub const RUN_FILE: &str = "run.json";

/// The exact bytes of `run.json` for a run: pretty JSON and a final newline. The digest
/// covers these bytes, and every other report is rendered from them.
///
/// Every string in the record goes through [`crate::redact::scrub`] first, so no secret
/// the run met can reach the record or any report rendered from it.
///
/// Fails only when the run's findings cannot be read back from their spool.
pub fn to_bytes(run: &Run) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_to(run, &mut bytes)?;
    // The buffer grew by doubling: give back what the record does not use.
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// Write the bytes [`to_bytes`] gives straight to `out`, so that a large run is never in
/// memory beside its record.
pub fn write_to<W: std::io::Write>(run: &Run, out: &mut W) -> std::io::Result<()> {
    write_scrubbed_pretty(run, &crate::redact::registered(), &mut *out)?;
    out.write_all(b"\n")
}

/// `value` as pretty JSON with every string scrubbed of `secrets` (see [`Scrubbing`]).
#[cfg(test)]
fn scrubbed_pretty<T: serde::Serialize + ?Sized>(value: &T, secrets: &[String]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_scrubbed_pretty(value, secrets, &mut bytes).expect("writing into memory cannot fail");
    bytes
}

/// Write `value` as pretty JSON with every string scrubbed of `secrets` to `out`.
fn write_scrubbed_pretty<T: serde::Serialize + ?Sized, W: std::io::Write>(
    value: &T,
    secrets: &[String],
    out: &mut W,
) -> std::io::Result<()> {
    let mut writer = serde_json::Serializer::with_formatter(out, Scrubbing::new(secrets));
    // Not only a failed write: the run's findings are read back from their spool as they
    // are written, and a path that is not UTF-8 cannot be written as JSON.
    value.serialize(&mut writer).map_err(|e| {
        if e.is_io() {
            std::io::Error::from(e)
        } else {
            std::io::Error::other(format!("the run record cannot be written: {e}"))
        }
    })
}

/// Pretty JSON whose every string, keys included, is scrubbed of `secrets` as it is
/// written: the record is serialised straight to bytes, without first building a tree of
/// it (at a thousand tables the tree cost more time and memory than the file).
///
/// serde_json hands a string to the formatter as unescaped fragments and single escapes
/// between `begin_string` and `end_string`; they are collected, scrubbed as one decoded
/// string, and written escaped. Everything else goes to the pretty formatter unchanged, so
/// the bytes are those of `to_vec_pretty` of the scrubbed record.
///
/// When no secret is long enough to be scrubbed (a throw-away server has no password),
/// strings go straight to the pretty formatter: collecting, copying and escaping each one
/// again cost about a third of `run.json`'s writing at a thousand tables (by hand, 287-303
/// ms without against 460-531 ms with).
struct Scrubbing<'a> {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    secrets: &'a [String],
    /// Whether any of `secrets` is scrubbed at all (see [`crate::redact::is_scrubbed`]).
    scrubs: bool,
    string: Option<String>,
}

impl<'a> Scrubbing<'a> {
    fn new(secrets: &'a [String]) -> Self {
        Scrubbing {
            pretty: serde_json::ser::PrettyFormatter::new(),
            secrets,
            scrubs: secrets.iter().any(|s| crate::redact::is_scrubbed(s)),
            string: None,
        }
    }
}

/// Forward a formatter method to the pretty formatter.
macro_rules! pretty {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.pretty.$name(w $(, $arg)*)
        }
    )*};
}

impl serde_json::ser::Formatter for Scrubbing<'_> {
    pretty! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn begin_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if !self.scrubs {
            return self.pretty.begin_string(w);
        }
        self.string = Some(String::new());
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        match &mut self.string {
            Some(s) => {
                s.push_str(fragment);
                Ok(())
            }
            None => self.pretty.write_string_fragment(w, fragment),
        }
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape;
        let Some(s) = &mut self.string else {
            return self.pretty.write_char_escape(w, escape);
        };
        s.push(match escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(b) => char::from(b),
        });
        Ok(())
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let Some(text) = self.string.take() else {
            return self.pretty.end_string(w);
        };
        let shown = crate::redact::scrub_with(&text, self.secrets);
        serde_json::to_writer(w, &shown).map_err(std::io::Error::from)
    }
}

/// A run record read back from `run.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct RunRecord {
    /// Format version (see [`RUN_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The `reims-verify` version that made the run.
    pub tool_version: String,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// End time, RFC 3339.
    pub finished_at: String,
    /// The git commit of the checked tree, when known.
    #[serde(default)]
    pub git_commit: Option<String>,
    /// The machine that ran the check.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The command line, passwords redacted.
    #[serde(default)]
    pub command_line: Vec<String>,
    /// The migrations folder.
    #[serde(default)]
    pub migrations_dir: Option<String>,
    /// The specs folder.
    #[serde(default)]
    pub specs_dir: Option<String>,
    /// The database, password redacted.
    pub database: String,
    /// The server's `server_version`.
    pub server_version: String,
    /// The version of the server that compiled the specs, when it was another server.
    #[serde(default)]
    pub shadow_server_version: Option<String>,
    /// Whether the database was a throw-away cluster.
    #[serde(default)]
    pub ephemeral: bool,
    /// The migration inventory.
    #[serde(default)]
    pub migrations: Vec<MigrationRecord>,
    /// The spec inventory.
    #[serde(default)]
    pub specs: Vec<SpecRecord>,
    /// The reports' title and the requirements they always list (the specs' report
    /// document), when the run had one.
    #[serde(default)]
    pub report: Option<ReportRecord>,
    /// The probes' seed, when probes ran.
    #[serde(default)]
    pub probe_seed: Option<u64>,
    /// `--fail-on-skip` was given: a skipped check fails the run.
    #[serde(default)]
    pub skips_fail: bool,
    /// Warnings of the run (files that looked like specs but were not read, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Time per phase.
    #[serde(default)]
    pub phases: Vec<PhaseRecord>,
    /// Counts as written; checked against the findings when read.
    #[serde(default)]
    pub totals: Option<Totals>,
    /// Every check made.
    pub findings: crate::chunked::Chunked<FindingRecord>,
    /// Who can read each sensitive column (absent in records written before it existed).
    #[serde(default)]
    pub sensitive_columns: Option<Vec<crate::catalog::SensitiveColumn>>,
    /// Relations and foreign keys of the checked schema (absent in older records).
    #[serde(default)]
    pub schema_map: Option<super::schema_map::SchemaMap>,
    /// Where in the migrations the objects of located-by-name failures are defined.
    #[serde(default)]
    pub defined_at: std::collections::BTreeMap<String, LocationRecord>,
}

/// One migration of the inventory.
#[derive(Debug, Clone, Deserialize)]
pub struct MigrationRecord {
    /// File name.
    pub name: String,
    /// `applied`, `pending`, `failed`, `changed` or `unknown`.
    pub status: String,
    /// SHA-256 of the file.
    #[serde(default)]
    pub file_checksum: Option<String>,
    /// SHA-256 recorded when it was applied.
    #[serde(default)]
    pub applied_checksum: Option<String>,
    /// When it was applied.
    #[serde(default)]
    pub applied_at: Option<String>,
    /// The error of a failed attempt.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// The report document as `run.json` records it: what the reports call themselves, and
/// the requirements they list whether or not anything traces to them, each with what it is
/// about when the document says.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportRecord {
    /// The reports' title.
    #[serde(default)]
    pub title: Option<String>,
    /// Requirement → what it is about.
    #[serde(default)]
    pub requirements: indexmap::IndexMap<String, Option<String>>,
}

/// One spec file of the inventory.
#[derive(Debug, Clone, Deserialize)]
pub struct SpecRecord {
    /// Path as given.
    pub path: String,
    /// The relation it specifies.
    pub table: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Business requirements it declares.
    #[serde(default)]
    pub requirements: Vec<String>,
}

/// How long one phase took.
#[derive(Debug, Clone, Deserialize)]
pub struct PhaseRecord {
    /// Phase name.
    pub name: String,
    /// Milliseconds from the start of the run; absent in records of earlier versions.
    #[serde(default)]
    pub started_millis: Option<u64>,
    /// Milliseconds.
    pub millis: u64,
}

/// The outcome of one check, as written in `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The check held.
    Pass,
    /// The check did not hold.
    Fail,
    /// The check could not run.
    Skip,
}

impl Outcome {
    /// The run's own status type.
    pub fn status(self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail => Status::Fail,
            Outcome::Skip => Status::Skip,
        }
    }

    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// Where in a spec an expectation is written.
#[derive(Debug, Clone, Deserialize)]
pub struct LocationRecord {
    /// The spec file. Every finding of a spec names the same file: one shared text per file
    /// (at 5,000 tables, 875,000 findings name 5,000 files).
    #[serde(deserialize_with = "shared_file")]
    pub file: std::sync::Arc<str>,
    /// 1-based line.
    #[serde(default)]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default)]
    pub column: Option<u32>,
}

impl std::fmt::Display for LocationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// One check of one object.
///
/// Read back by the hundred thousand at thousands of tables, so its texts are the smallest
/// types that hold them: short ones inline, and the rare ones (requirements, hint, repro)
/// behind one pointer that most findings leave empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "FindingWire")]
pub struct FindingRecord {
    /// The check code, e.g. `index.predicate`.
    pub code: CompactString,
    /// The table (or `functions`, `migrations`) it belongs to.
    pub table: CompactString,
    /// The object checked.
    pub object: CompactString,
    /// Pass, fail or skip.
    pub status: Outcome,
    /// What the spec says.
    pub expected: Option<CompactString>,
    /// What the database has.
    pub actual: Option<CompactString>,
    /// A sentence for people (for a skip: the reason).
    pub message: String,
    /// Where in the spec.
    pub location: Option<LocationRecord>,
    /// Requirements, hint and repro, when the finding has any of them.
    rare: Option<Box<RareParts>>,
}

/// The parts of a finding that most findings lack.
#[derive(Debug, Clone)]
struct RareParts {
    requirements: Box<[String]>,
    hint: Option<Box<str>>,
    repro: Option<Box<str>>,
}

impl FindingRecord {
    /// Business requirements the object serves.
    pub fn requirements(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.requirements)
    }

    /// What to do about a failure.
    pub fn hint(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.hint.as_deref())
    }

    /// SQL that reproduces a behavioural failure by hand.
    pub fn repro(&self) -> Option<&str> {
        self.rare.as_ref().and_then(|r| r.repro.as_deref())
    }
}

/// A finding as `run.json` spells it; kept only while it is turned into a
/// [`FindingRecord`].
#[derive(Deserialize)]
struct FindingWire {
    code: CompactString,
    table: CompactString,
    object: CompactString,
    status: Outcome,
    #[serde(default)]
    expected: Option<CompactString>,
    #[serde(default)]
    actual: Option<CompactString>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    location: Option<LocationRecord>,
    #[serde(default)]
    requirements: Box<[String]>,
    #[serde(default)]
    hint: Option<Box<str>>,
    #[serde(default)]
    repro: Option<Box<str>>,
}

impl From<FindingWire> for FindingRecord {
    fn from(w: FindingWire) -> Self {
        let rare =
            (!w.requirements.is_empty() || w.hint.is_some() || w.repro.is_some()).then(|| {
                Box::new(RareParts {
                    requirements: w.requirements,
                    hint: w.hint,
                    repro: w.repro,
                })
            });
        FindingRecord {
            code: w.code,
            table: w.table,
            object: w.object,
            status: w.status,
            expected: w.expected,
            actual: w.actual,
            message: w.message,
            location: w.location,
            rare,
        }
    }
}

impl RunRecord {
    /// Counts over the findings.
    pub fn totals(&self) -> Totals {
        Totals::of_statuses(self.findings.iter().map(|f| f.status.status()))
    }
}

/// Read a run record from the bytes of a `run.json` (`path` is for messages). Refuses a
/// record from a newer format and one whose written totals disagree with its findings.
pub fn parse(bytes: &[u8], path: &Path) -> Result<RunRecord> {
    let _files = SharedFiles::scope();
    checked(serde_json::from_slice(bytes), path)
}

/// [`parse`] reading from `reader` as it goes, so that a large record's bytes are never
/// in memory beside it.
pub fn parse_from(reader: impl std::io::Read, path: &Path) -> Result<RunRecord> {
    let _files = SharedFiles::scope();
    checked(
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, reader)),
        path,
    )
}

thread_local! {
    /// The file names met so far in the record being parsed on this thread.
    static FILES: std::cell::RefCell<std::collections::HashSet<std::sync::Arc<str>>> =
        Default::default();
}

/// While it lives, the file names of the record being parsed are shared (see
/// [`LocationRecord::file`]); when it ends, the table of names is emptied.
pub(super) struct SharedFiles;

impl SharedFiles {
    pub(super) fn scope() -> SharedFiles {
        FILES.with(|f| f.borrow_mut().clear());
        SharedFiles
    }
}

impl Drop for SharedFiles {
    fn drop(&mut self) {
        FILES.with(|f| *f.borrow_mut() = Default::default());
    }
}

/// A file name, shared with every earlier equal one of the record (see [`SharedFiles`];
/// outside its scope the table only grows until the next scope empties it).
fn shared_file<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<std::sync::Arc<str>, D::Error> {
    let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(FILES.with(|f| {
        let mut files = f.borrow_mut();
        match files.get(name.as_ref()) {
            Some(shared) => shared.clone(),
            None => {
                let shared: std::sync::Arc<str> = name.as_ref().into();
                files.insert(shared.clone());
                shared
            }
        }
    }))
}

/// The record parsed from `path`, once its format and totals are checked.
pub(super) fn checked(parsed: serde_json::Result<RunRecord>, path: &Path) -> Result<RunRecord> {
    let invalid = |message: String| Error::Usage {
        message: format!("{}: {message}", path.display()),
        hint: "pass the run.json that `reims-verify check` wrote".into(),
    };
    let record = parsed.map_err(|e| invalid(format!("not a reims-verify run record: {e}")))?;
    if record.format_version == 0 || record.format_version > RUN_FORMAT_VERSION {
        return Err(invalid(format!(
            "run record format {} is not readable by this reims-verify (it reads 1 to {RUN_FORMAT_VERSION})",
            record.format_version
        )));
    }
    if let Some(written) = record.totals {
        let counted = record.totals();
        if written != counted {
            return Err(invalid(format!(
                "the record is inconsistent: its totals say {} passed, {} failed, {} skipped, \
                 but its findings count {} passed, {} failed, {} skipped",
                written.passed,
                written.failed,
                written.skipped,
                counted.passed,
                counted.failed,
                counted.skipped
            )));
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `to_bytes` did before it streamed: a tree, scrubbed, then printed.
    fn through_a_tree(value: &serde_json::Value, secrets: &[String]) -> Vec<u8> {
        fn scrub(value: &mut serde_json::Value, secrets: &[String]) {
            use serde_json::Value;
            match value {
                Value::String(s) => *s = crate::redact::scrub_with(s, secrets),
                Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
                Value::Object(map) => {
                    let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                    for (k, mut v) in entries {
                        scrub(&mut v, secrets);
                        map.insert(crate::redact::scrub_with(&k, secrets), v);
                    }
                }
                _ => {}
            }
        }
        let mut v = value.clone();
        scrub(&mut v, secrets);
        serde_json::to_vec_pretty(&v).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-c\"\\/\n\t\u{1}\u{8}\u{c}\r\u{1f}\u{7f}é✓ *]{0,12}")
            .unwrap()
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Every string of a value, keys included.
    fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    strings(v, out);
                }
            }
            _ => {}
        }
    }

    proptest! {
        #[test]
        fn streaming_scrub_writes_the_bytes_the_tree_did(
            value in json(),
            picks in prop::collection::vec((any::<prop::sample::Index>(), 0..4usize), 0..3),
            random in text(),
        ) {
            // Secrets that occur in the value (whole strings and parts of them) and one that
            // need not, so that scrubbing really happens.
            let mut found = Vec::new();
            strings(&value, &mut found);
            let mut secrets = vec![random];
            if !found.is_empty() {
                for (i, skip) in picks {
                    let s = i.get(&found);
                    secrets.push(s.chars().skip(skip.min(s.chars().count().saturating_sub(4))).collect());
                }
            }
            // Where two keys of one object scrub alike, the tree kept only the last entry;
            // the stream keeps both (`two_keys_that_scrub_alike_both_stay`).
            prop_assume!(!keys_collide(&value, &secrets));
            prop_assert_eq!(
                String::from_utf8(scrubbed_pretty(&value, &secrets)).unwrap(),
                String::from_utf8(through_a_tree(&value, &secrets)).unwrap()
            );
        }
    }

    proptest! {
        #[test]
        fn without_a_secret_long_enough_the_bytes_are_serde_jsons_own(
            value in json(),
            short in prop::collection::vec("[a-z\"\\\\\n]{0,3}", 0..3),
        ) {
            // No secret, or only secrets too short to scrub: strings pass straight through,
            // and every byte is what serde_json writes for the value.
            prop_assert_eq!(
                String::from_utf8(scrubbed_pretty(&value, &short)).unwrap(),
                String::from_utf8(serde_json::to_vec_pretty(&value).unwrap()).unwrap()
            );
        }
    }

    /// Whether two keys of one object of `value` are equal once scrubbed.
    fn keys_collide(value: &serde_json::Value, secrets: &[String]) -> bool {
        match value {
            serde_json::Value::Array(items) => items.iter().any(|v| keys_collide(v, secrets)),
            serde_json::Value::Object(map) => {
                let keys: std::collections::HashSet<String> = map
                    .keys()
                    .map(|k| crate::redact::scrub_with(k, secrets))
                    .collect();
                keys.len() < map.len() || map.values().any(|v| keys_collide(v, secrets))
            }
            _ => false,
        }
    }

    #[test]
    fn two_keys_that_scrub_alike_both_stay() {
        let secrets = vec!["hunter2".to_string(), "swordfish".to_string()];
        let value = serde_json::json!({"hunter2": 1, "swordfish": 2});
        let out = String::from_utf8(scrubbed_pretty(&value, &secrets)).unwrap();
        assert_eq!(out, "{\n  \"***\": 1,\n  \"***\": 2\n}");
    }

    #[test]
    fn a_secret_written_with_escapes_is_still_found() {
        let secrets = vec!["p\"w\\d\n1".to_string()];
        let value = serde_json::json!({"message": "auth p\"w\\d\n1 failed", "p\"w\\d\n1": 1});
        let out = String::from_utf8(scrubbed_pretty(&value, &secrets)).unwrap();
        assert_eq!(
            out,
            "{\n  \"message\": \"auth *** failed\",\n  \"***\": 1\n}"
        );
    }

    #[test]
    fn a_format_1_record_without_later_fields_still_reads() {
        let text = r#"{"format_version":1,"tool_version":"0.1.0","started_at":"a",
            "finished_at":"b","database":"ephemeral cluster","server_version":"15",
            "ephemeral":true,"migrations":[],"specs":[],"probe_seed":null,"phases":[],
            "findings":[{"code":"table.exists","table":"t","object":"t","status":"pass",
            "message":"ok"}],"some_future_field":{"x":1}}"#;
        let r = parse(text.as_bytes(), Path::new("run.json")).unwrap();
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.totals().passed, 1);
        assert!(r.git_commit.is_none());
    }

    #[test]
    fn newer_formats_and_inconsistent_totals_are_refused() {
        let newer = r#"{"format_version":99,"tool_version":"9","started_at":"a",
            "finished_at":"b","database":"d","server_version":"s","findings":[]}"#;
        let err = parse(newer.as_bytes(), Path::new("run.json")).unwrap_err();
        assert!(err.to_string().contains("format 99"), "{err}");
        let lying = r#"{"format_version":1,"tool_version":"0","started_at":"a",
            "finished_at":"b","database":"d","server_version":"s",
            "totals":{"passed":0,"failed":0,"skipped":0},
            "findings":[{"code":"c","table":"t","object":"o","status":"fail","message":"m"}]}"#;
        let err = parse(lying.as_bytes(), Path::new("run.json")).unwrap_err();
        assert!(err.to_string().contains("inconsistent"), "{err}");
        let junk = parse(b"<html>", Path::new("x")).unwrap_err();
        assert_eq!(junk.exit_code(), crate::error::ExitCode::InvalidInput);
    }

    #[test]
    fn findings_of_one_spec_file_share_its_name_and_keep_it_exact() {
        let finding = |file: &str, line: u32| {
            format!(
                r#"{{"code":"c","table":"t","object":"o","status":"pass","message":"m",
                "location":{{"file":"{file}","line":{line}}}}}"#
            )
        };
        let long = "/a/folder/name/longer/than/twenty/four/bytes/specs/users.yaml";
        let text = format!(
            r#"{{"format_version":1,"tool_version":"0","started_at":"a","finished_at":"b",
            "database":"d","server_version":"s","findings":[{},{},{},{}]}}"#,
            finding(long, 1),
            finding("specs/a.yaml", 2),
            finding(long, 3),
            finding(r"specs/a\u00e9.yaml", 4),
        );
        let r = parse(text.as_bytes(), Path::new("run.json")).unwrap();
        let files: Vec<&std::sync::Arc<str>> = r
            .findings
            .iter()
            .map(|f| &f.location.as_ref().unwrap().file)
            .collect();
        assert_eq!(&**files[0], long);
        assert_eq!(&**files[1], "specs/a.yaml");
        assert_eq!(&**files[3], "specs/a\u{e9}.yaml");
        assert!(std::sync::Arc::ptr_eq(files[0], files[2]));
        assert!(!std::sync::Arc::ptr_eq(files[0], files[1]));
        let lines: Vec<u32> = r
            .findings
            .iter()
            .map(|f| f.location.as_ref().unwrap().line.unwrap())
            .collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        // The table of names is emptied when the parse ends.
        assert!(FILES.with(|f| f.borrow().is_empty()));
    }
}
