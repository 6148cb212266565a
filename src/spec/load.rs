//! Loading spec files: YAML → [`TableSpec`], with every error naming the file, line,
//! column and key path, then checks that the spec is coherent (rules name real columns…).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::keylines::KeyLines;
use super::model::{RoutineKind, Rule, TableSpec, TriggerEvent};
use super::rule::rule_columns;
use crate::error::{Error, Result, SourceLocation};

/// One loaded spec file.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// Where it came from.
    pub path: PathBuf,
    /// Its content.
    pub spec: TableSpec,
    /// SHA-256 of the file, for reports.
    pub checksum: String,
    lines: KeyLines,
}

impl LoadedSpec {
    /// The location of a key path in this file (falls back to the file alone).
    pub fn location(&self, path: &[&str]) -> SourceLocation {
        let mut line = None;
        for n in (1..=path.len()).rev() {
            if let Some(l) = self.lines.line_of(&path[..n]) {
                line = Some(l);
                break;
            }
        }
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
    /// The specs.
    pub specs: Vec<LoadedSpec>,
}

impl SpecSet {
    /// The spec of a relation, if any.
    pub fn table(&self, name: &str) -> Option<&LoadedSpec> {
        self.specs.iter().find(|s| s.spec.table == name)
    }
}

/// Load every `*.yaml` / `*.yml` file in `dir`.
pub fn load_dir(dir: &Path) -> Result<SpecSet> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Usage {
        message: format!("cannot read the specs folder {}: {e}", dir.display()),
        hint: "pass --specs DIR with the folder that holds the YAML specs".into(),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::Usage {
            message: format!("no .yaml specs in {}", dir.display()),
            hint: "pass --specs DIR, or write specs with `reims-verify spec snapshot`".into(),
        });
    }
    let mut set = SpecSet::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let loaded = load_str(&path, &text)?;
        if let Some(first) = seen.insert(loaded.spec.table.clone(), path.clone()) {
            return Err(spec_error(
                &loaded,
                &["table"],
                format!(
                    "table `{}` is also specified in {}",
                    loaded.spec.table,
                    first.display()
                ),
                "keep one spec file per table",
            ));
        }
        set.specs.push(loaded);
    }
    Ok(set)
}

/// Parse one spec document.
pub fn load_str(path: &Path, text: &str) -> Result<LoadedSpec> {
    let lines = KeyLines::index(text);
    let spec: TableSpec = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        let line = loc.map(|l| l.line() as usize).filter(|l| *l > 0);
        let column = loc.map(|l| l.column() as usize).filter(|c| *c > 0);
        Error::Spec {
            location: SourceLocation { file: path.to_path_buf(), line, column },
            key_path: line.and_then(|l| lines.path_at(l)).map(str::to_string),
            message: first_line(&e.to_string()),
            hint: "fix the YAML at that place; the format is described by specs/schema.json (`reims-verify spec schema`)".into(),
        }
    })?;
    let loaded = LoadedSpec {
        path: path.to_path_buf(),
        checksum: crate::migrate::checksum(text),
        spec,
        lines,
    };
    validate(&loaded)?;
    Ok(loaded)
}

/// The parser's message without its own `error: line N column M:` prefix (we print the
/// location ourselves).
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

fn spec_error(spec: &LoadedSpec, path: &[&str], message: String, hint: &str) -> Error {
    Error::Spec {
        location: spec.location(path),
        key_path: Some(path.join(".")),
        message,
        hint: hint.to_string(),
    }
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
    for (i, br) in s.requirements.iter().enumerate() {
        let ok =
            br.len() == 6 && br.starts_with("BR-") && br[3..].bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(spec_error(
                loaded,
                &["requirements"],
                format!("requirement #{} `{br}` is not of the form BR-NNN", i + 1),
                "write business requirements as BR-001 … BR-008",
            ));
        }
    }
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
    for (name, fk) in &s.foreign_keys {
        for c in &fk.columns {
            if !has(c) {
                return Err(missing_col(&["foreign_keys", name], c));
            }
        }
        if fk.initially_deferred && !fk.deferrable {
            return Err(spec_error(
                loaded,
                &["foreign_keys", name, "initially_deferred"],
                "initially_deferred needs deferrable: true".into(),
                "set deferrable: true, or drop initially_deferred",
            ));
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
    for (sig, f) in &s.functions {
        if super::parse_signature(sig).is_none() {
            return Err(spec_error(
                loaded,
                &["functions", sig],
                format!("`{sig}` is not a function signature"),
                "key functions as name(argtype, …), e.g. record_failed_login(text)",
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
    super::privileges::validate(loaded)?;
    for (i, row) in s.samples.iter().enumerate() {
        for c in row.keys() {
            if !has(c) {
                let _ = i;
                return Err(missing_col(&["samples"], c));
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

    #[test]
    fn a_good_spec_loads() {
        let s = load("table: t\nrequirements: [BR-001]\ncolumns:\n  a: { type: int, nullable: false }\nindexes:\n  idx_a: { keys: [a DESC] }\n").unwrap();
        assert_eq!(s.spec.table, "t");
        assert_eq!(s.location(&["indexes", "idx_a"]).line, Some(6));
    }
}
