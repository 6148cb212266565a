//! What loading spec files gives: each document with where it came from (file, checksum,
//! the line of each key), and the set of them. Apart from the loader so that the checks the
//! loader runs on each document (access control among them) can name these types without
//! importing the loader back.

use std::path::PathBuf;

use super::keylines::KeyLines;
use super::model::TableSpec;
use super::schema_doc::SchemaSpec;
use crate::error::{Error, SourceLocation};

/// One loaded spec document of either kind, with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// Where it came from.
    pub path: PathBuf,
    /// Its content.
    pub spec: T,
    /// SHA-256 of the file, for reports.
    pub checksum: String,
    /// Where each key path is written, for errors.
    pub(super) lines: KeyLines,
}

/// One loaded relation spec (a document with `table:`).
pub type LoadedSpec = Loaded<TableSpec>;

/// One loaded schema document (a document with `schema:` and no `table:`).
pub type LoadedSchema = Loaded<SchemaSpec>;

/// The loaded report document (a document with `report:` alone).
pub type LoadedReport = Loaded<super::report_doc::ReportDocument>;

/// The loaded database document (a document with `database:` alone).
pub type LoadedDatabase = Loaded<super::database_doc::DatabaseDocument>;

/// A spec document of either kind, as [`super::load::load_document`] found it.
#[derive(Debug, Clone)]
pub enum SpecDocument {
    /// A relation spec.
    Relation(Box<LoadedSpec>),
    /// A schema document.
    Schema(Box<LoadedSchema>),
    /// The report document.
    Report(Box<LoadedReport>),
    /// The database document.
    Database(Box<LoadedDatabase>),
}

impl<T> Loaded<T> {
    /// The location of a key path in this file: the line of the longest prefix of the path
    /// that the file writes, else of its `table:` or `schema:` key, else the file alone.
    pub fn location(&self, path: &[&str]) -> SourceLocation {
        let line = self
            .lines
            .line_of_longest(path)
            .or_else(|| self.lines.line_of(&["table"]))
            .or_else(|| self.lines.line_of(&["schema"]))
            .or_else(|| self.lines.line_of(&["report"]))
            .or_else(|| self.lines.line_of(&["database"]));
        SourceLocation {
            file: self.path.clone(),
            line,
            column: None,
        }
    }
}

/// Every spec in a folder, in file-name order.
#[derive(Debug, Clone, Default)]
pub struct SpecSet {
    /// The relation specs.
    pub specs: Vec<LoadedSpec>,
    /// The schema documents.
    pub schemas: Vec<LoadedSchema>,
    /// The report document, when the folder has one.
    pub report: Option<LoadedReport>,
    /// The database document, when the folder has one.
    pub database: Option<LoadedDatabase>,
}

impl SpecSet {
    /// A set of relation specs alone, without schema documents.
    pub fn of_relations(specs: Vec<LoadedSpec>) -> Self {
        SpecSet {
            specs,
            schemas: Vec::new(),
            report: None,
            database: None,
        }
    }

    /// The spec of a relation by name, in whichever schema it is (the first, in file
    /// order, when several schemas hold that name).
    pub fn table(&self, name: &str) -> Option<&LoadedSpec> {
        self.specs.iter().find(|s| s.spec.table == name)
    }

    /// The spec of the relation `schema.name`, if any.
    pub fn relation(&self, schema: &str, name: &str) -> Option<&LoadedSpec> {
        self.specs
            .iter()
            .find(|s| s.spec.table == name && s.spec.schema == schema)
    }

    /// Every relation's spec by `(schema, name)`, the first in file order as
    /// [`SpecSet::relation`] finds it: for callers that look up every relation of a
    /// database, where a search of every spec each time would be quadratic.
    pub fn relation_index(&self) -> std::collections::HashMap<(&str, &str), &LoadedSpec> {
        let mut index = std::collections::HashMap::with_capacity(self.specs.len());
        for l in &self.specs {
            index
                .entry((l.spec.schema.as_str(), l.spec.table.as_str()))
                .or_insert(l);
        }
        index
    }

    /// The schema document of `schema`, if any.
    pub fn schema_doc(&self, schema: &str) -> Option<&LoadedSchema> {
        self.schemas.iter().find(|s| s.spec.schema == schema)
    }

    /// The schemas `check` reads: `requested` (from `--schema`), then every schema the
    /// specs name; `public` when that makes none.
    pub fn checked_schemas(&self, requested: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in requested.iter().cloned().chain(self.schema_names()) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        if out.is_empty() {
            out.push(super::model::DEFAULT_SCHEMA.to_string());
        }
        out
    }

    /// Every schema the specs name: those of the relation specs and of the schema
    /// documents, in first-mention order.
    pub fn schema_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let names = self
            .schemas
            .iter()
            .map(|s| &s.spec.schema)
            .chain(self.specs.iter().map(|s| &s.spec.schema));
        for n in names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }
}

/// The error for the key `path` of a loaded document: its file and line, the key path, what
/// is wrong and what to do.
pub(super) fn spec_error<T>(spec: &Loaded<T>, path: &[&str], message: String, hint: &str) -> Error {
    Error::Spec {
        location: spec.location(path),
        key_path: Some(path.join(".")),
        message,
        hint: hint.to_string(),
    }
}
