//! Loading spec files: YAML → [`TableSpec`] (a document with `table:`) or [`SchemaSpec`]
//! (a document with `schema:` and no `table:`), with every error naming the file, line,
//! column and key path, then checks that the spec is coherent (rules name real columns…).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::keylines::KeyLines;
use super::loaded::spec_error;
pub use super::loaded::{
    Loaded, LoadedDatabase, LoadedReport, LoadedSchema, LoadedSpec, SpecDocument, SpecSet,
};
use super::model::{FkAction, FunctionSpec, RoutineKind, Rule, TableSpec, TriggerEvent};
use super::rule::rule_columns;
use crate::error::{Error, Result, SourceLocation};

/// Load every `*.yaml` / `*.yml` file in `dir` (see [`load_dir_reporting`] for the
/// warnings about files that look like specs but are not read).
pub fn load_dir(dir: &Path) -> Result<SpecSet> {
    load_dir_reporting(dir).map(|(set, _)| set)
}

/// Load every `*.yaml` / `*.yml` file in `dir`, and say which other files look like specs
/// but are not read (`users.yaml~`, `users.yaml.bak`): one warning each, for the command to
/// show. Nothing is ever left out silently: an entry named like a spec that cannot be read
/// as a file (a dangling symbolic link, a link loop, a FIFO, a folder) or whose extension
/// is not lower case (`users.YAML`) is an error (exit 2).
pub fn load_dir_reporting(dir: &Path) -> Result<(SpecSet, Vec<String>)> {
    let (paths, warnings) = discover(dir)?;
    if paths.is_empty() {
        return Err(Error::Usage {
            message: format!("no .yaml specs in {}", dir.display()),
            hint: "pass --specs DIR, or write specs with `reims-verify spec snapshot`".into(),
        });
    }
    let docs = load_documents(&paths)?;
    Ok((assemble(docs)?, warnings))
}

/// Read and parse `paths`, in order. Files are independent, so they are parsed on every
/// core (a thousand specs take most of a second on one); the result and the error reported
/// (the first failing file in sorted order) are the same as one by one.
fn load_documents(paths: &[PathBuf]) -> Result<Vec<SpecDocument>> {
    let one = |path: &PathBuf| -> Result<SpecDocument> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = utf8(path, bytes)?;
        load_document(path, &text)
    };
    crate::parallel::map_in_order(paths, 64, one)
        .into_iter()
        .collect()
}

/// Put loaded documents together, refusing a relation or schema specified twice and a
/// function listed in two places.
pub fn assemble(docs: Vec<SpecDocument>) -> Result<SpecSet> {
    let mut set = SpecSet::default();
    let mut seen: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    let mut seen_schemas: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut functions: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for doc in docs {
        match doc {
            SpecDocument::Relation(loaded) => {
                let key = (loaded.spec.schema.clone(), loaded.spec.table.clone());
                if let Some(first) = seen.insert(key, loaded.path.clone()) {
                    return Err(spec_error(
                        &loaded,
                        &["table"],
                        format!(
                            "table `{}` is also specified in {}",
                            qualified(&loaded.spec.schema, &loaded.spec.table),
                            first.display()
                        ),
                        "keep one spec file per table",
                    ));
                }
                once_per_schema(
                    &loaded,
                    &loaded.spec.schema,
                    &loaded.spec.functions,
                    &mut functions,
                )?;
                set.specs.push(*loaded);
            }
            SpecDocument::Schema(loaded) => {
                if let Some(first) =
                    seen_schemas.insert(loaded.spec.schema.clone(), loaded.path.clone())
                {
                    return Err(spec_error(
                        &loaded,
                        &["schema"],
                        format!(
                            "schema `{}` is also described in {}",
                            loaded.spec.schema,
                            first.display()
                        ),
                        "keep one schema document per schema",
                    ));
                }
                once_per_schema(
                    &loaded,
                    &loaded.spec.schema,
                    &loaded.spec.functions,
                    &mut functions,
                )?;
                set.schemas.push(*loaded);
            }
            SpecDocument::Report(loaded) => {
                if let Some(first) = &set.report {
                    return Err(spec_error(
                        &loaded,
                        &["report"],
                        format!("the report is also described in {}", first.path.display()),
                        "keep one report document in the specs folder",
                    ));
                }
                set.report = Some(*loaded);
            }
            SpecDocument::Database(loaded) => {
                if let Some(first) = &set.database {
                    return Err(spec_error(
                        &loaded,
                        &["database"],
                        format!("the database is also described in {}", first.path.display()),
                        "keep one database document in the specs folder",
                    ));
                }
                set.database = Some(*loaded);
            }
        }
    }
    let tables: Vec<&TableSpec> = set.specs.iter().map(|s| &s.spec).collect();
    if let Err((i, p)) = super::property_check::check_across(&tables) {
        return Err(property_error(&set.specs[i], p));
    }
    Ok(set)
}

/// The spec files of `dir`, sorted, and warnings for files that look like specs but are
/// not read.
fn discover(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Usage {
        message: format!("cannot read the specs folder {}: {e}", dir.display()),
        hint: "pass --specs DIR with the folder that holds the YAML specs".into(),
    })?;
    let mut paths = Vec::new();
    let mut warnings = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::Usage {
            message: format!("cannot list the specs folder {}: {e}", dir.display()),
            hint: "check the folder's permissions".into(),
        })?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let lower = name.to_lowercase();
        let spec_named = name.ends_with(".yaml") || name.ends_with(".yml");
        if !spec_named {
            if lower.ends_with(".yaml") || lower.ends_with(".yml") {
                let ext = if lower.ends_with(".yaml") {
                    "yaml"
                } else {
                    "yml"
                };
                let stem = &name[..name.len() - ext.len()];
                return Err(unreadable(
                    &path,
                    "looks like a spec, but its extension is not lower case, so it would not be read".into(),
                    &format!("rename it to {stem}{ext}"),
                ));
            }
            if lower.contains(".yaml") || lower.contains(".yml") {
                warnings.push(format!(
                    "{} is not read as a spec: only files ending in .yaml or .yml are (rename it, \
                     or move it out of {} to silence this warning)",
                    path.display(),
                    dir.display()
                ));
            }
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => paths.push(path),
            Ok(meta) if meta.is_dir() => {
                return Err(unreadable(
                    &path,
                    "is a folder, not a spec file".into(),
                    "rename the folder, or move it out of the specs folder",
                ))
            }
            Ok(_) => return Err(unreadable(
                &path,
                "is not a regular file (a FIFO, socket or device), so it cannot be read as a spec"
                    .into(),
                "replace it with a regular file, or remove it",
            )),
            Err(e) => {
                let link = std::fs::read_link(&path).ok();
                let what = match (e.raw_os_error(), link) {
                    (Some(libc::ELOOP), _) => "is a symbolic link loop".to_string(),
                    (_, Some(target)) if e.kind() == std::io::ErrorKind::NotFound => format!(
                        "is a symbolic link to {}, which does not exist",
                        target.display()
                    ),
                    _ => format!("cannot be read: {e}"),
                };
                return Err(unreadable(
                    &path,
                    what,
                    "fix or remove it: every spec file in the folder is part of the gate",
                ));
            }
        }
    }
    paths.sort();
    warnings.sort();
    Ok((paths, warnings))
}

fn unreadable(path: &Path, what: String, hint: &str) -> Error {
    Error::Spec {
        location: SourceLocation {
            file: path.to_path_buf(),
            line: None,
            column: None,
        },
        key_path: None,
        message: what,
        hint: hint.to_string(),
    }
}

/// The file's text, or an error naming the line of the first byte that is not UTF-8.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        Error::Spec {
            location: SourceLocation {
                file: path.to_path_buf(),
                line: Some(line),
                column: Some(column),
            },
            key_path: None,
            message: "the file is not valid UTF-8".into(),
            hint: "save the spec as UTF-8".into(),
        }
    })
}

/// A function may be listed in one spec only.
fn once_per_schema<T>(
    loaded: &Loaded<T>,
    schema: &str,
    listed: &IndexMap<String, FunctionSpec>,
    seen: &mut BTreeMap<(String, String), PathBuf>,
) -> Result<()> {
    for sig in listed.keys() {
        let key = (
            schema.to_string(),
            sig.split_whitespace().collect::<String>(),
        );
        if let Some(first) = seen.insert(key, loaded.path.clone()) {
            if first != loaded.path {
                return Err(spec_error(
                    loaded,
                    &["functions", sig],
                    format!("function `{sig}` is also listed in {}", first.display()),
                    "list each function in one spec only",
                ));
            }
        }
    }
    Ok(())
}

fn qualified(schema: &str, name: &str) -> String {
    if schema == super::model::DEFAULT_SCHEMA {
        name.to_string()
    } else {
        format!("{schema}.{name}")
    }
}

/// Parse one spec document of either kind. The kind is decided by its top-level keys: a
/// `table:` key makes a relation spec, otherwise a `schema:` key makes a schema document.
pub fn load_document(path: &Path, text: &str) -> Result<SpecDocument> {
    // Nearly every document is a relation spec, so it is parsed as one first: at a thousand
    // files, reading each twice (its top-level keys, then the whole) was a third of the
    // loading time. A document that parses as a relation spec has a top-level `table:`
    // (required) and no key the format lacks, so the examination below would have chosen
    // the same parser; any other document takes the path below, errors included.
    if let Ok(loaded) = parse::<TableSpec>(path, text) {
        validate(&loaded)?;
        return Ok(SpecDocument::Relation(Box::new(loaded)));
    }
    load_document_by_keys(path, text)
}

/// [`load_document`] the long way: look at the top-level keys, then parse the document as
/// what they say it is.
fn load_document_by_keys(path: &Path, text: &str) -> Result<SpecDocument> {
    // An empty document, or one that is no mapping, is left to the relation parser, whose
    // message says what is wrong with it.
    let top: Option<IndexMap<String, IgnoredAny>> = serde_saphyr::from_str(text)
        .ok()
        .filter(|t: &IndexMap<String, IgnoredAny>| !t.is_empty());
    let has = |k: &str| top.as_ref().is_some_and(|t| t.contains_key(k));
    if has("report") && !has("table") && !has("schema") {
        let loaded: LoadedReport = parse(path, text)?;
        validate_report_doc(&loaded)?;
        return Ok(SpecDocument::Report(Box::new(loaded)));
    }
    if has("database") && !has("table") && !has("schema") && !has("report") {
        let loaded: LoadedDatabase = parse(path, text)?;
        super::access_check::validate_database_doc(&loaded)?;
        return Ok(SpecDocument::Database(Box::new(loaded)));
    }
    if has("table") || !has("schema") {
        if top.is_some() && !has("table") {
            return Err(Error::Spec {
                location: SourceLocation {
                    file: path.to_path_buf(),
                    line: Some(1),
                    column: None,
                },
                key_path: None,
                message: "the document has none of the keys `table:`, `schema:`, `report:` and `database:`".into(),
                hint: "start a relation spec with `table: NAME`, a schema document with `schema: NAME`, the report document with `report:`, or the database document with `database:`".into(),
            });
        }
        return load_str(path, text).map(|l| SpecDocument::Relation(Box::new(l)));
    }
    let loaded: LoadedSchema = parse(path, text)?;
    validate_schema_doc(&loaded)?;
    Ok(SpecDocument::Schema(Box::new(loaded)))
}

/// A property problem as a spec error at its key path.
fn property_error(spec: &LoadedSpec, p: super::property_check::PropertyProblem) -> Error {
    let path: Vec<&str> = p.path.iter().map(String::as_str).collect();
    spec_error(spec, &path, p.message, &p.hint)
}

/// Parse one relation spec (a document with `table:`).
pub fn load_str(path: &Path, text: &str) -> Result<LoadedSpec> {
    let loaded: LoadedSpec = parse(path, text)?;
    validate(&loaded)?;
    Ok(loaded)
}

fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Loaded<T>> {
    let lines = KeyLines::index(text);
    let spec: T = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        let line = loc.map(|l| l.line() as usize).filter(|l| *l > 0);
        let column = loc.map(|l| l.column() as usize).filter(|c| *c > 0);
        Error::Spec {
            location: SourceLocation { file: path.to_path_buf(), line, column },
            key_path: line.and_then(|l| lines.path_at(l)).map(str::to_string),
            message: plain_message(&e),
            hint: "fix the YAML at that place; the format is described by specs/schema.json (`reims-verify spec schema`)".into(),
        }
    })?;
    Ok(Loaded {
        path: path.to_path_buf(),
        checksum: crate::migrate::checksum(text),
        spec,
        lines,
    })
}

/// The parser's message in the user's words: serde-saphyr's user-facing text, without its
/// own location suffix (we print the location ourselves), and with what remains of serde's
/// and the library's vocabulary translated (no type names, no API advice).
fn plain_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let text = serde_saphyr::UserMessageFormatter
        .format_message(err)
        .into_owned();
    translate(&first_line(&text))
}

/// Translate library phrasing into the spec author's.
pub(crate) fn translate(message: &str) -> String {
    let mut m = message.to_string();
    // "… at line 1, column 1": the location is printed in front already.
    if let Some(i) = m.find(" at line ") {
        if m[i..].contains("column") {
            m.truncate(i);
        }
    }
    let rewrites: [(&str, &str); 13] = [
        (
            "tabs disallowed within this context (block indentation)",
            "a tab is used for indentation; YAML indents with spaces only",
        ),
        ("unknown field", "unknown key"),
        ("missing field", "missing required key"),
        ("unknown variant", "unknown value"),
        (
            "expected mapping start",
            "expected a mapping of keys to values here",
        ),
        ("expected sequence start", "expected a list here"),
        (
            "expected string scalar",
            "expected a single text value here",
        ),
        (
            "invalid boolean (true or false expected)",
            "expected true or false",
        ),
        ("invalid boolean", "expected true or false"),
        (
            "null is not allowed here",
            "a value is required here, but it is empty (null)",
        ),
        ("duplicate mapping key", "duplicate key"),
        (
            "unexpected end of file",
            "the document ends too early (is the file empty?)",
        ),
        (
            "unexpected end of input",
            "the document ends too early (is the file empty?)",
        ),
    ];
    for (from, to) in rewrites {
        m = m.replace(from, to);
    }
    if m.contains("multiple") && m.contains("document") {
        m = "the file holds more than one YAML document (`---`); write one spec per file".into();
    }
    m = m.replace(", expected one of ", "; expected one of: ");
    m
}

/// The first line of a message, without any `error: line N column M:` prefix.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    let rest = line.strip_prefix("error: ").unwrap_or(line);
    if rest.starts_with("line ") {
        if let Some((_, msg)) = rest.split_once(": ") {
            return msg.to_string();
        }
    }
    rest.to_string()
}

/// Coherence checks that serde cannot express.
fn validate(loaded: &LoadedSpec) -> Result<()> {
    let s = &loaded.spec;
    let has = |c: &str| s.columns.contains_key(c);
    let missing_col = |path: &[&str], col: &str| {
        spec_error(
            loaded,
            path,
            format!("`{col}` is not a column of `{}`", s.table),
            "name a column listed under `columns`, or add the column",
        )
    };
    if s.table.trim().is_empty() {
        return Err(spec_error(
            loaded,
            &["table"],
            "the table name is empty".into(),
            "name the table",
        ));
    }
    if s.columns.is_empty() {
        return Err(spec_error(
            loaded,
            &["columns"],
            "a spec must list at least one column".into(),
            "list the columns",
        ));
    }
    if s.schema.trim().is_empty() {
        return Err(spec_error(
            loaded,
            &["schema"],
            "the schema name is empty".into(),
            "name the schema, or leave `schema:` out for `public`",
        ));
    }
    match (s.kind.is_view(), &s.definition) {
        (true, None) => {
            return Err(spec_error(
                loaded,
                &["kind"],
                format!("a {} needs its query under `definition`", s.kind.name()),
                "add `definition: SELECT …`, the query the view is created with",
            ))
        }
        (false, Some(_)) => {
            return Err(spec_error(
                loaded,
                &["definition"],
                format!("a {} has no `definition`", s.kind.name()),
                "set `kind: view` or `kind: materialized_view`, or drop `definition`",
            ))
        }
        _ => {}
    }
    if !s.options.is_none() && s.kind != crate::spec::RelationKind::View {
        return Err(spec_error(
            loaded,
            &["options"],
            format!("a {} has no view `options`", s.kind.name()),
            "set `kind: view`, or drop `options`",
        ));
    }
    validate_requirements(loaded, &s.requirements)?;
    validate_relation_shape(loaded)?;
    if let Some(pk) = &s.primary_key {
        for c in &pk.columns {
            if !has(c) {
                return Err(missing_col(&["primary_key"], c));
            }
        }
    }
    for (name, u) in &s.unique {
        for c in &u.columns {
            if !has(c) {
                return Err(missing_col(&["unique", name], c));
            }
        }
    }
    // Every kind of key that may be deferred: only a deferrable one may start deferred.
    let deferred_keys = s
        .primary_key
        .iter()
        .map(|k| (vec!["primary_key"], k.deferrable, k.initially_deferred))
        .chain(s.unique.iter().map(|(name, u)| {
            (
                vec!["unique", name.as_str()],
                u.deferrable,
                u.initially_deferred,
            )
        }))
        .chain(s.foreign_keys.iter().map(|(name, fk)| {
            (
                vec!["foreign_keys", name.as_str()],
                fk.deferrable,
                fk.initially_deferred,
            )
        }));
    for (name, trig) in &s.triggers {
        if (trig.deferrable || trig.initially_deferred) && !trig.constraint {
            let key = if trig.deferrable {
                "deferrable"
            } else {
                "initially_deferred"
            };
            return Err(spec_error(
                loaded,
                &["triggers", name, key],
                "only a constraint trigger may be deferred".into(),
                "set constraint: true, or drop the deferral",
            ));
        }
    }
    let deferred_keys = deferred_keys.chain(s.triggers.iter().map(|(name, t)| {
        (
            vec!["triggers", name.as_str()],
            t.deferrable,
            t.initially_deferred,
        )
    }));
    for (mut path, deferrable, initially_deferred) in deferred_keys {
        if initially_deferred && !deferrable {
            path.push("initially_deferred");
            return Err(spec_error(
                loaded,
                &path,
                "initially_deferred needs deferrable: true".into(),
                "set deferrable: true, or drop initially_deferred",
            ));
        }
    }
    for (name, fk) in &s.foreign_keys {
        for c in &fk.columns {
            if !has(c) {
                return Err(missing_col(&["foreign_keys", name], c));
            }
        }
        if fk.columns.len() != fk.references.columns.len() {
            return Err(spec_error(
                loaded,
                &["foreign_keys", name],
                format!(
                    "{} referencing column(s) but {} referenced column(s)",
                    fk.columns.len(),
                    fk.references.columns.len()
                ),
                "list as many referenced columns as referencing ones",
            ));
        }
        if !fk.on_delete_columns.is_empty() {
            if !matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault) {
                return Err(spec_error(
                    loaded,
                    &["foreign_keys", name, "on_delete_columns"],
                    "on_delete_columns needs on_delete: set_null or set_default".into(),
                    "set on_delete, or drop on_delete_columns",
                ));
            }
            if let Some(c) = fk
                .on_delete_columns
                .iter()
                .find(|c| !fk.columns.contains(c))
            {
                return Err(spec_error(
                    loaded,
                    &["foreign_keys", name, "on_delete_columns"],
                    format!("`{c}` is not a column of the foreign key"),
                    "list columns of the key's `columns` only",
                ));
            }
        }
    }
    for (name, check) in &s.checks {
        for c in rule_columns(&check.rule) {
            if !has(c) {
                return Err(missing_col(&["checks", name, "rule"], c));
            }
        }
        if let Rule::Range(r) = &check.rule {
            if r.gt.is_none()
                && r.gte.is_none()
                && r.lt.is_none()
                && r.lte.is_none()
                && r.lte_sql.is_none()
            {
                return Err(spec_error(
                    loaded,
                    &["checks", name, "rule"],
                    "a range rule needs at least one of gt, gte, lt, lte, lte_sql".into(),
                    "add the bound the constraint enforces",
                ));
            }
            for (key, bound) in [("gt", r.gt), ("gte", r.gte), ("lt", r.lt), ("lte", r.lte)] {
                if bound.is_some_and(|b| !b.is_finite()) {
                    return Err(spec_error(
                        loaded,
                        &["checks", name, "rule", key],
                        format!("`{key}` is not a finite number"),
                        "write the bound as a number such as 0 or 99.5 (.nan and .inf are not bounds)",
                    ));
                }
            }
        }
        if let Rule::OneOf(r) = &check.rule {
            if r.values.is_empty() {
                return Err(spec_error(
                    loaded,
                    &["checks", name, "rule"],
                    "one_of needs at least one value".into(),
                    "list the allowed values",
                ));
            }
        }
    }
    for (name, idx) in &s.indexes {
        if idx.keys.is_empty() {
            return Err(spec_error(
                loaded,
                &["indexes", name],
                "an index needs at least one key".into(),
                "list its keys",
            ));
        }
        for key in &idx.keys {
            let key = super::parse_index_key(key);
            if is_identifier(&key.expr) && !has(key.expr.trim_matches('"')) {
                return Err(missing_col(&["indexes", name, "keys"], &key.expr));
            }
        }
        for c in &idx.include {
            if !has(c) {
                return Err(missing_col(&["indexes", name, "include"], c));
            }
        }
    }
    for (name, trig) in &s.triggers {
        if trig.events.is_empty() {
            return Err(spec_error(
                loaded,
                &["triggers", name],
                "a trigger needs at least one event".into(),
                "list events: [insert, update, …]",
            ));
        }
        for c in &trig.columns {
            if !has(c) {
                return Err(missing_col(&["triggers", name, "columns"], c));
            }
        }
        if !trig.columns.is_empty() && !trig.events.contains(&TriggerEvent::Update) {
            return Err(spec_error(
                loaded,
                &["triggers", name, "columns"],
                "`columns` (UPDATE OF …) needs the update event".into(),
                "add update to events, or drop columns",
            ));
        }
    }
    validate_functions(loaded, &s.functions)?;
    super::access_check::validate(loaded)?;
    for (i, row) in s.samples.iter().enumerate() {
        for c in row.keys() {
            if !has(c) {
                let _ = i;
                return Err(missing_col(&["samples"], c));
            }
        }
    }
    super::property_check::check_properties(s).map_err(|p| property_error(loaded, p))?;
    Ok(())
}

/// Fields that only some kinds of relation or column take, and fields that exclude each
/// other.
fn validate_relation_shape(loaded: &LoadedSpec) -> Result<()> {
    use super::model::RelationKind;
    let s = &loaded.spec;
    let err =
        |path: &[&str], message: String, hint: &str| Err(spec_error(loaded, path, message, hint));
    let partitioned = s.kind == RelationKind::PartitionedTable;
    if partitioned != s.partition_by.is_some() {
        return if partitioned {
            err(
                &["kind"],
                "a partitioned table needs `partition_by`".into(),
                "add `partition_by: RANGE (column)` (or LIST, HASH)",
            )
        } else {
            err(
                &["partition_by"],
                format!("a {} has no partition key", s.kind.name()),
                "set `kind: partitioned_table`, or drop partition_by",
            )
        };
    }
    if s.partition_of.is_some() != s.partition_bound.is_some() {
        let path = if s.partition_of.is_some() {
            "partition_of"
        } else {
            "partition_bound"
        };
        return err(
            &[path],
            "`partition_of` and `partition_bound` go together".into(),
            "give the parent and the bound (`FOR VALUES …` or `DEFAULT`)",
        );
    }
    if s.partition_of.is_some() && s.kind.is_view() {
        return err(
            &["partition_of"],
            format!("a {} cannot be a partition", s.kind.name()),
            "drop partition_of",
        );
    }
    if s.kind != RelationKind::MaterializedView && !s.populated {
        return err(
            &["populated"],
            format!(
                "a {} is always populated (only a materialized view can be left without data)",
                s.kind.name()
            ),
            "drop populated",
        );
    }
    if s.kind == RelationKind::View && s.replica_identity.is_some() {
        return err(
            &["replica_identity"],
            "a view has no replica identity (only tables, partitioned tables and materialized views do)".to_string(),
            "drop replica_identity",
        );
    }
    if s.kind == RelationKind::View && s.cluster_on.is_some() {
        return err(
            &["cluster_on"],
            "a view has no index to cluster on (only tables and materialized views do)".to_string(),
            "drop cluster_on",
        );
    }
    if s.kind.is_view() {
        let keyed = if s.primary_key.is_some() {
            Some("primary_key")
        } else if !s.unique.is_empty() {
            Some("unique")
        } else if !s.foreign_keys.is_empty() {
            Some("foreign_keys")
        } else if !s.checks.is_empty() {
            Some("checks")
        } else if s.kind == RelationKind::View && !s.indexes.is_empty() {
            Some("indexes")
        } else {
            None
        };
        if let Some(section) = keyed {
            return err(
                &[section],
                format!("a {} has no {section}", s.kind.name()),
                "describe those on the tables the view reads",
            );
        }
        if s.unlogged {
            return err(
                &["unlogged"],
                format!("a {} cannot be unlogged", s.kind.name()),
                "drop unlogged",
            );
        }
    }
    for (name, c) in &s.columns {
        let path = |k: &'static str| ["columns", name.as_str(), k];
        if c.generated.is_some() && (c.default.is_some() || c.identity.is_some()) {
            return err(
                &path("generated"),
                format!("generated column `{name}` cannot also have a default or an identity"),
                "keep one of generated, identity and default",
            );
        }
        if c.generated_kind.is_some() && c.generated.is_none() {
            return err(
                &path("generated_kind"),
                format!("column `{name}` has a generated_kind but no generated expression"),
                "add `generated: <expression>`, or drop generated_kind",
            );
        }
        if c.identity.is_some() && c.default.is_some() {
            return err(
                &path("identity"),
                format!("identity column `{name}` cannot also have a default"),
                "drop the default",
            );
        }
        if c.sequence.is_some() && !c.owns_sequence() {
            return err(
                &path("sequence"),
                format!("column `{name}` owns no sequence"),
                "`sequence` describes the sequence of a serial or identity column",
            );
        }
        if c.sequence.as_ref().is_some_and(|o| o.increment == Some(0)) {
            return err(
                &path("sequence"),
                "a sequence cannot increment by 0".into(),
                "write a non-zero increment",
            );
        }
    }
    Ok(())
}

fn validate_requirements<T>(loaded: &Loaded<T>, requirements: &[String]) -> Result<()> {
    for (i, br) in requirements.iter().enumerate() {
        if !super::requirement_id(br) {
            return Err(spec_error(
                loaded,
                &["requirements"],
                format!("requirement #{} `{br}` is not of the form BR-NNN", i + 1),
                "write business requirements as BR-NNN: BR-001, BR-002, …",
            ));
        }
    }
    Ok(())
}

fn validate_functions<T>(
    loaded: &Loaded<T>,
    functions: &IndexMap<String, FunctionSpec>,
) -> Result<()> {
    for (sig, f) in functions {
        if super::parse_signature(sig).is_none() {
            return Err(spec_error(
                loaded,
                &["functions", sig],
                format!("`{sig}` is not a function signature"),
                "key functions as name(argtype, …), e.g. close_account(text)",
            ));
        }
        if f.kind == RoutineKind::Procedure && !f.returns.trim().eq_ignore_ascii_case("void") {
            return Err(spec_error(
                loaded,
                &["functions", sig, "returns"],
                format!("procedure `{sig}` cannot return `{}`", f.returns),
                "write returns: void for a procedure",
            ));
        }
    }
    Ok(())
}

/// Coherence checks of a schema document.
/// A report document's requirements are of the form every spec's are, and its title, when
/// given, says something.
fn validate_report_doc(loaded: &LoadedReport) -> Result<()> {
    let report = &loaded.spec.report;
    if report.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(spec_error(
            loaded,
            &["report", "title"],
            "the report's title is empty".into(),
            "write a title, or drop `title` for the default",
        ));
    }
    for id in report.requirements.keys() {
        if !super::requirement_id(id) {
            return Err(spec_error(
                loaded,
                &["report", "requirements", id],
                format!("requirement `{id}` is not of the form BR-NNN"),
                "write business requirements as BR-NNN: BR-001, BR-002, …",
            ));
        }
    }
    Ok(())
}

fn validate_schema_doc(loaded: &LoadedSchema) -> Result<()> {
    let s = &loaded.spec;
    if s.schema.trim().is_empty() {
        return Err(spec_error(
            loaded,
            &["schema"],
            "the schema name is empty".into(),
            "name the schema, e.g. `schema: public`",
        ));
    }
    validate_requirements(loaded, &s.requirements)?;
    validate_functions(loaded, &s.functions)?;
    super::access_check::validate_schema_doc(loaded)?;
    for (name, t) in &s.types {
        let path = ["types", name.as_str()];
        let given = [
            t.enum_labels.is_some(),
            t.domain.is_some(),
            t.composite.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(spec_error(
                loaded,
                &path,
                format!("type `{name}` must give exactly one of `enum`, `domain` and `composite`"),
                "write `enum: [label, …]`, `domain: base_type` or `composite: { attribute: type, … }`",
            ));
        }
        let domain_only =
            !t.nullable || t.default.is_some() || t.collation.is_some() || !t.checks.is_empty();
        if domain_only && t.domain.is_none() {
            return Err(spec_error(
                loaded,
                &path,
                format!("type `{name}` cannot have nullable, default, collation or checks"),
                "those belong to a domain",
            ));
        }
        match (&t.enum_labels, &t.composite) {
            (Some(labels), _) => {
                let mut seen = std::collections::BTreeSet::new();
                for l in labels {
                    if !seen.insert(l) {
                        return Err(spec_error(
                            loaded,
                            &["types", name, "enum"],
                            format!("enum `{name}` lists `{l}` twice"),
                            "list each label once",
                        ));
                    }
                }
            }
            (None, Some(attrs)) if attrs.is_empty() => {
                return Err(spec_error(
                    loaded,
                    &["types", name, "composite"],
                    format!("composite type `{name}` has no attribute"),
                    "list its attributes, name: type",
                ))
            }
            _ => {}
        }
    }
    for (name, seq) in &s.sequences {
        if let Some(t) = &seq.type_ {
            if !matches!(
                t.as_str(),
                "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8"
            ) {
                return Err(spec_error(
                    loaded,
                    &["sequences", name, "type"],
                    format!("`{t}` is not a sequence type"),
                    "write smallint, integer or bigint",
                ));
            }
        }
        if seq.increment == Some(0) {
            return Err(spec_error(
                loaded,
                &["sequences", name, "increment"],
                "a sequence cannot increment by 0".into(),
                "write a non-zero increment",
            ));
        }
        if let Some(owner) = &seq.owned_by {
            if crate::catalog::parse_owned_by(owner).is_none() {
                return Err(spec_error(
                    loaded,
                    &["sequences", name, "owned_by"],
                    format!("`{owner}` does not name a column as table.column"),
                    "write owned_by: table.column, double-quoting a name that holds a dot (\"order.lines\".n)",
                ));
            }
        }
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    let s = s.trim_matches('"');
    !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spec document the project has (its own specs, every fixture and every bad
    /// spec, and any YAML or `spec_document` input under `fuzz/`, of which there is none
    /// today) loads to the same document or the same error by the quick path as by looking
    /// at its top-level keys first.
    #[test]
    fn the_quick_path_decides_as_the_top_level_keys_do() {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.is_file() {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["specs", "tests/fixtures", "fuzz"] {
            walk(&root.join(dir), &mut files);
        }
        let (mut documents, mut errors) = (0, 0);
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let is_spec = path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                || path.components().any(|c| c.as_os_str() == "spec_document");
            if !is_spec {
                continue;
            }
            let quick = load_document(path, &text);
            let by_keys = load_document_by_keys(path, &text);
            // The key-line index is a hash map, so documents are compared by what they say.
            let same = match (&quick, &by_keys) {
                (Ok(SpecDocument::Relation(a)), Ok(SpecDocument::Relation(b))) => {
                    a.spec == b.spec && a.checksum == b.checksum && a.path == b.path
                }
                (Ok(SpecDocument::Schema(a)), Ok(SpecDocument::Schema(b))) => {
                    a.spec == b.spec && a.checksum == b.checksum && a.path == b.path
                }
                (Ok(SpecDocument::Report(a)), Ok(SpecDocument::Report(b))) => {
                    a.spec == b.spec && a.checksum == b.checksum && a.path == b.path
                }
                (Ok(SpecDocument::Database(a)), Ok(SpecDocument::Database(b))) => {
                    a.spec == b.spec && a.checksum == b.checksum && a.path == b.path
                }
                (Err(a), Err(b)) => format!("{a:?}") == format!("{b:?}"),
                _ => false,
            };
            assert!(same, "{}:\n{quick:?}\n---\n{by_keys:?}", path.display());
            if quick.is_ok() {
                documents += 1;
            } else {
                errors += 1;
            }
        }
        assert!(
            documents >= 30 && errors >= 20,
            "{documents} documents, {errors} errors"
        );
    }

    fn load(text: &str) -> Result<LoadedSpec> {
        load_str(Path::new("specs/t.yaml"), text)
    }

    #[test]
    fn unknown_key_is_rejected_with_its_line() {
        let err = load("table: t\ncolumns:\n  id: { type: uuid, nullabel: false }\n").unwrap_err();
        let Error::Spec {
            location, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(location.line, Some(3), "{err}");
        assert!(message.contains("nullabel"), "{message}");
    }

    #[test]
    fn statistics_options_and_cluster_on_load_and_no_view_clusters() {
        use crate::spec::ParameterValue;
        let l = load(
            "table: t\ncluster_on: t_a_key\ncolumns:\n  a: { type: int, statistics: 0, options: { n_distinct: -1, n_distinct_inherited: 0.5 } }\n  b: { type: int }\n",
        )
        .unwrap();
        assert_eq!(l.spec.cluster_on.as_deref(), Some("t_a_key"));
        let a = &l.spec.columns["a"];
        assert_eq!(a.statistics, Some(0));
        assert_eq!(a.options["n_distinct"], ParameterValue::Integer(-1));
        assert_eq!(
            a.options["n_distinct_inherited"],
            ParameterValue::Number(0.5)
        );
        assert!(l.spec.indexes.is_empty());
        // An index's statistics are keyed by the key's number, as written or quoted.
        let i = load(
            "table: t\ncolumns:\n  a: { type: int }\nindexes:\n  t_a: { keys: [\"(a + 1)\", \"(a * 2)\"], statistics: { 1: 500, \"2\": 0 } }\n",
        )
        .unwrap();
        assert_eq!(
            i.spec.indexes["t_a"].statistics.iter().collect::<Vec<_>>(),
            [(&1, &500), (&2, &0)]
        );
        let b = &l.spec.columns["b"];
        assert_eq!((b.statistics, b.options.len()), (None, 0));
        // A target is a number.
        assert!(load("table: t\ncolumns:\n  a: { type: int, statistics: high }\n").is_err());
        refused_at(
            "table: v\nkind: view\ndefinition: SELECT 1 AS a\ncolumns:\n  a: { type: int }\ncluster_on: v_a\n",
            "cluster_on",
            6,
        );
    }

    /// Load `text`, which must be refused as a spec error at `line`, under the key `key`.
    fn refused_at(text: &str, key: &str, line: usize) {
        let err = load(text).unwrap_err();
        let Error::Spec {
            location, key_path, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(key_path.as_deref(), Some(key), "{err}");
        assert_eq!(location.line, Some(line), "{err}");
    }

    #[test]
    fn replica_identity_is_a_word_or_an_index_and_no_view_has_one() {
        use crate::spec::ReplicaIdentity;
        let identity = |text: &str| {
            load(&format!("table: t\ncolumns:\n  a: {{ type: int }}\n{text}"))
                .map(|l| l.spec.replica_identity)
        };
        assert_eq!(identity("").unwrap(), None);
        assert_eq!(
            identity("replica_identity: full\n").unwrap(),
            Some(ReplicaIdentity::Full)
        );
        assert_eq!(
            identity("replica_identity: nothing\n").unwrap(),
            Some(ReplicaIdentity::Nothing)
        );
        assert_eq!(
            identity("replica_identity: { index: t_a_key }\n").unwrap(),
            Some(ReplicaIdentity::Index("t_a_key".into()))
        );
        for bad in [
            "replica_identity: everything\n",
            "replica_identity: { index: t_a_key, full: true }\n",
        ] {
            let err = identity(bad).unwrap_err();
            let Error::Spec { location, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(location.line, Some(4), "{bad}: {err}");
        }
        // `index` needs its name.
        assert!(identity("replica_identity: index\n").is_err());
        refused_at(
            "table: v\nkind: view\ndefinition: SELECT 1 AS a\ncolumns:\n  a: { type: int }\nreplica_identity: full\n",
            "replica_identity",
            6,
        );
        assert!(
            load("table: m\nkind: materialized_view\ndefinition: SELECT 1 AS a\ncolumns:\n  a: { type: int }\nreplica_identity: full\n")
                .is_ok()
        );
    }

    /// A variant that carries a value, written as a bare word, is refused at that word with
    /// the form to write; the key after it is not blamed (the YAML reader took the next key
    /// as the variant's value, and the error named a key with nothing wrong with it).
    #[test]
    fn a_bare_word_for_a_variant_that_takes_a_value_is_refused_at_that_word() {
        let cases = [
            ("replica_identity: index\ncomment: hello\n", 4, "index", "replica_identity"),
            (
                "checks:\n  t_a_check:\n    rule: sql\n    description: a is positive\n",
                6,
                "sql",
                "checks.t_a_check.rule",
            ),
            (
                "properties:\n  p:\n    proves: [f(int)]\n    actions:\n      a:\n        checks: f(int)\n        args:\n          x: bool\n          y: { int: { min: 1, max: 2 } }\n        sql: SELECT f(:y)\n",
                11,
                "bool",
                "properties.p.actions.a.args.x",
            ),
        ];
        for (text, line, word, key) in cases {
            let err =
                load(&format!("table: t\ncolumns:\n  a: {{ type: int }}\n{text}")).unwrap_err();
            let Error::Spec {
                location,
                key_path,
                message,
                ..
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!(location.line, Some(line), "{text}: {err}");
            assert_eq!(key_path.as_deref(), Some(key), "{text}: {err}");
            assert!(
                message.contains(&format!("`{word}` takes a value"))
                    && message.contains(&format!("{{ {word}: … }}")),
                "{text}: {message}"
            );
        }
        // A word that names a unit variant still reads, and so does the mapping form.
        assert!(load(
            "table: t\ncolumns:\n  a: { type: int }\nreplica_identity: full\ncomment: x\n"
        )
        .is_ok());
        assert!(load("table: t\ncolumns:\n  a: { type: int }\nchecks:\n  t_a_check:\n    rule: { sql: a > 0 }\n    description: a is positive\n").is_ok());
    }

    #[test]
    fn rule_on_a_missing_column_names_the_key() {
        let err = load(
            "table: t\ncolumns:\n  a: { type: int }\nchecks:\n  t_b_check:\n    rule: { range: { column: b, gte: 0 } }\n",
        )
        .unwrap_err();
        let Error::Spec {
            location,
            key_path,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(location.line, Some(6));
        assert_eq!(key_path.as_deref(), Some("checks.t_b_check.rule"));
        assert!(message.contains("`b`"), "{message}");
    }

    #[test]
    fn a_bound_that_is_no_finite_number_is_refused_at_its_key() {
        for (bound, text) in [
            ("gt", ".nan"),
            ("lte", ".inf"),
            ("gte", "-.inf"),
            ("lt", ".NaN"),
        ] {
            let err = load(&format!(
                "table: t\ncolumns:\n  a: {{ type: int }}\nchecks:\n  t_a_check:\n    rule: {{ range: {{ column: a, {bound}: {text} }} }}\n"
            ))
            .unwrap_err();
            let Error::Spec {
                location, key_path, ..
            } = &err
            else {
                panic!("{bound}: {text}: {err:?}")
            };
            assert_eq!(location.line, Some(6), "{err}");
            assert_eq!(
                key_path.as_deref(),
                Some(format!("checks.t_a_check.rule.{bound}").as_str()),
                "{err}"
            );
            assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
        }
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = load("table: t\ncolumns:\n  a: { type: int, nullable: maybe }\n").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
        assert!(err.to_string().contains("t.yaml:3"), "{err}");
    }

    #[test]
    fn incoherent_new_fields_are_rejected_at_their_key() {
        let cases = [
            (
                "table: t\ncolumns:\n  a: { type: int }\nforeign_keys:\n  t_a_fkey:\n    columns: [a]\n    references: { table: t, columns: [a] }\n    initially_deferred: true\n",
                "foreign_keys.t_a_fkey.initially_deferred",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\nunique:\n  t_a_key: { columns: [a], initially_deferred: true }\n",
                "unique.t_a_key.initially_deferred",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\nprimary_key: { columns: [a], initially_deferred: true }\n",
                "primary_key.initially_deferred",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\ntriggers:\n  t_tr: { timing: after, events: [update], function: f, deferrable: true }\n",
                "triggers.t_tr.deferrable",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\nindexes:\n  idx_a: { keys: [a], include: [b] }\n",
                "indexes.idx_a.include",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\ntriggers:\n  tg: { timing: before, events: [insert], columns: [a], function: f }\n",
                "triggers.tg.columns",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\ntriggers:\n  tg: { timing: before, events: [update], columns: [b], function: f }\n",
                "triggers.tg.columns",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\nfunctions:\n  p(integer): { kind: procedure, returns: integer, language: sql, volatility: volatile }\n",
                "functions.p(integer).returns",
            ),
            (
                "table: t\ncolumns:\n  a: { type: int }\nindexes:\n  idx_b: { keys: [b text_pattern_ops] }\n",
                "indexes.idx_b.keys",
            ),
        ];
        for (text, path) in cases {
            let err = load(text).unwrap_err();
            let Error::Spec { key_path, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(key_path.as_deref(), Some(path), "{err}");
        }
    }

    #[test]
    fn the_new_optional_fields_load() {
        let s = load("table: t\ncolumns:\n  a: { type: text, collation: C }\n  b: { type: jsonb }\nindexes:\n  idx_b: { method: gin, keys: [b jsonb_path_ops], include: [] }\n  idx_a: { keys: ['a COLLATE \"C\" DESC'], include: [b] }\ntriggers:\n  tg: { timing: before, events: [update], columns: [a], when: OLD.a IS DISTINCT FROM NEW.a, function: f }\nfunctions:\n  p(integer): { kind: procedure, returns: void, arguments: p_n integer DEFAULT 3, language: sql, volatility: volatile }\n").unwrap();
        assert_eq!(s.spec.columns["a"].collation.as_deref(), Some("C"));
        assert_eq!(s.spec.indexes["idx_a"].include, vec!["b"]);
        assert_eq!(
            s.spec.triggers["tg"].when.as_deref(),
            Some("OLD.a IS DISTINCT FROM NEW.a")
        );
        assert_eq!(
            s.spec.functions["p(integer)"].kind,
            crate::spec::RoutineKind::Procedure
        );
    }

    fn doc(text: &str) -> Result<SpecDocument> {
        load_document(Path::new("specs/d.yaml"), text)
    }

    fn key_path_of(err: &Error) -> Option<String> {
        match err {
            Error::Spec { key_path, .. } => key_path.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_database_document_loads_once_and_its_mistakes_name_their_key() {
        let SpecDocument::Database(d) = doc(
            "database:\n  privileges:\n    public: [connect]\n    roles: { app: [connect, temporary with grant option] }\n",
        )
        .unwrap() else {
            panic!("a document with `database:` alone is the database document")
        };
        let p = d.spec.database.privileges.as_ref().unwrap();
        assert_eq!(p.public.as_deref(), Some(&["connect".to_string()][..]));
        assert_eq!(p.owner, None);

        let usage =
            doc("database:\n  privileges:\n    public: [connect]\n    roles: { app: [usage] }\n")
                .unwrap_err();
        assert_eq!(
            key_path_of(&usage).as_deref(),
            Some("database.privileges.roles.app")
        );
        assert!(
            usage.to_string().contains("create, connect, temporary"),
            "{usage}"
        );
        let option =
            doc("database:\n  privileges:\n    public: [connect with grant option]\n").unwrap_err();
        assert_eq!(
            key_path_of(&option).as_deref(),
            Some("database.privileges.public")
        );
        let typo = doc("database:\n  privilege: {}\n").unwrap_err();
        assert!(typo.to_string().contains("privilege"), "{typo}");

        let twice = assemble(vec![
            doc("database: {}\n").unwrap(),
            load_document(Path::new("specs/e.yaml"), "database: {}\n").unwrap(),
        ])
        .unwrap_err();
        assert!(
            twice.to_string().contains("also described in specs/d.yaml"),
            "{twice}"
        );
    }

    #[test]
    fn the_report_document_loads_once_and_its_mistakes_name_their_key() {
        let SpecDocument::Report(r) = doc(
            "report:\n  title: Billing report\n  requirements:\n    BR-001: Invoices\n    BR-002: ~\n",
        )
        .unwrap() else {
            panic!("a document with `report:` alone is the report document")
        };
        assert_eq!(r.spec.report.title.as_deref(), Some("Billing report"));
        assert_eq!(
            r.spec.report.requirements["BR-001"].as_deref(),
            Some("Invoices")
        );
        assert_eq!(r.spec.report.requirements["BR-002"], None);

        let bad =
            doc("report:\n  requirements:\n    BR-001: ok\n    SOX-404: audit\n").unwrap_err();
        assert_eq!(
            key_path_of(&bad).as_deref(),
            Some("report.requirements.SOX-404")
        );
        let Error::Spec { location, .. } = &bad else {
            unreachable!()
        };
        assert_eq!(location.line, Some(4), "{bad}");
        let empty = doc("report:\n  title: '  '\n").unwrap_err();
        assert_eq!(key_path_of(&empty).as_deref(), Some("report.title"));
        let typo = doc("report:\n  titel: x\n").unwrap_err();
        assert!(typo.to_string().contains("titel"), "{typo}");

        let twice = assemble(vec![
            doc("report:\n  title: a\n").unwrap(),
            load_document(Path::new("specs/e.yaml"), "report:\n  title: b\n").unwrap(),
        ])
        .unwrap_err();
        assert!(
            twice.to_string().contains("also described in specs/d.yaml"),
            "{twice}"
        );
    }

    #[test]
    fn documents_dispatch_on_their_top_level_key() {
        let SpecDocument::Relation(r) =
            doc("table: t\nschema: audit\ncolumns:\n  a: { type: int }\n").unwrap()
        else {
            panic!("a document with `table:` is a relation spec")
        };
        assert_eq!(
            (r.spec.schema.as_str(), r.spec.table.as_str()),
            ("audit", "t")
        );
        let SpecDocument::Schema(s) = doc(
            "schema: public\ncomment: the app\ntypes:\n  mood: { enum: [sad, ok] }\n  year: { domain: integer, nullable: false, checks: { year_check: { sql: VALUE > 0 } } }\nsequences:\n  s: { increment: 2, owned_by: t.a }\nextensions:\n  pgcrypto: { version: '1.3' }\n",
        )
        .unwrap() else {
            panic!("a document with `schema:` alone is a schema document")
        };
        assert_eq!(
            s.spec.types["mood"].enum_labels.as_deref(),
            Some(&["sad".to_string(), "ok".to_string()][..])
        );
        assert!(!s.spec.types["year"].nullable);
        assert_eq!(s.location(&["types", "year"]).line, Some(5));
        let SpecDocument::Relation(r) = doc("table: t\ncolumns:\n  a: { type: int }\n").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.spec.schema, "public", "the default schema");
    }

    #[test]
    fn schema_documents_keep_precise_errors() {
        // A typo inside a schema document: its line and key.
        let err =
            doc("schema: public\ntypes:\n  mood:\n    enum: [a]\n    labls: [b]\n").unwrap_err();
        let Error::Spec {
            location, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(location.line, Some(5), "{err}");
        assert!(message.contains("labls"), "{message}");
        // None of the keys: says what a document starts with.
        let err = doc("columns:\n  a: { type: int }\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("none of the keys `table:`, `schema:`, `report:` and `database:`"),
            "{err}"
        );
        // Relation-only keys in a schema document are unknown there.
        let err = doc("schema: public\ncolumns:\n  a: { type: int }\n").unwrap_err();
        assert!(err.to_string().contains("columns"), "{err}");
        let cases = [
            ("schema: public\ntypes:\n  t: { domain: int, enum: [a] }\n", "types.t"),
            ("schema: public\ntypes:\n  t: {}\n", "types.t"),
            ("schema: public\ntypes:\n  t: { enum: [a], default: a }\n", "types.t"),
            ("schema: public\ntypes:\n  t:\n    enum: [a, a]\n", "types.t.enum"),
            ("schema: public\nsequences:\n  s:\n    type: text\n", "sequences.s.type"),
            ("schema: public\nsequences:\n  s:\n    owned_by: nocolumn\n", "sequences.s.owned_by"),
            ("schema: public\nsequences:\n  s:\n    increment: 0\n", "sequences.s.increment"),
            ("schema: public\nrequirements: [BR-1]\n", "requirements"),
            ("schema: public\nfunctions:\n  nope: { returns: void, language: sql, volatility: stable }\n", "functions.nope"),
            ("schema: ''\n", "schema"),
            ("table: v\nkind: view\ncolumns:\n  a: { type: int }\n", "kind"),
            ("table: t\ndefinition: SELECT 1 AS a\ncolumns:\n  a: { type: int }\n", "definition"),
        ];
        for (text, path) in cases {
            let err = doc(text).unwrap_err();
            assert_eq!(key_path_of(&err).as_deref(), Some(path), "{text}: {err}");
            assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
        }
    }

    #[test]
    fn a_relation_or_schema_specified_twice_is_refused() {
        let d = |name: &str, text: &str| load_document(Path::new(name), text).unwrap();
        let err = assemble(vec![
            d("a.yaml", "table: t\ncolumns:\n  a: { type: int }\n"),
            d(
                "b.yaml",
                "table: t\nschema: public\ncolumns:\n  a: { type: int }\n",
            ),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("a.yaml"), "{err}");
        // The same name in two schemas is two relations.
        let set = assemble(vec![
            d("a.yaml", "table: t\ncolumns:\n  a: { type: int }\n"),
            d(
                "b.yaml",
                "table: t\nschema: audit\ncolumns:\n  a: { type: int }\n",
            ),
            d("c.yaml", "schema: audit\n"),
        ])
        .unwrap();
        assert_eq!(set.schema_names(), vec!["audit", "public"]);
        assert!(set.relation("audit", "t").is_some() && set.schema_doc("audit").is_some());
        let err = assemble(vec![
            d("c.yaml", "schema: audit\n"),
            d("e.yaml", "schema: audit\n"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("c.yaml"), "{err}");
        let f =
            "functions:\n  f(integer): { returns: void, language: sql, volatility: volatile }\n";
        let err = assemble(vec![
            d(
                "a.yaml",
                &format!("table: t\ncolumns:\n  a: {{ type: int }}\n{f}"),
            ),
            d("c.yaml", &format!("schema: public\n{f}")),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("also listed in a.yaml"), "{err}");
    }

    #[test]
    fn a_good_spec_loads() {
        let s = load("table: t\nrequirements: [BR-001]\ncolumns:\n  a: { type: int, nullable: false }\nindexes:\n  idx_a: { keys: [a DESC] }\n").unwrap();
        assert_eq!(s.spec.table, "t");
        assert_eq!(s.location(&["indexes", "idx_a"]).line, Some(6));
    }
}
