//! `results.sarif`: the failing findings as SARIF 2.1.0, so that code scanning (GitHub's, or
//! any SARIF viewer) shows each one on the line of the pull request that it is about.
//!
//! - One rule per check code, from the catalogue in [`crate::codes`]: its description and
//!   what to do when it fails.
//! - One result per failing finding: level `error`, the check code as rule id, the
//!   message with expected and actual values, the spec file and line as its location, and
//!   the migration that defines the object as a related location where it is known.
//! - A result needs a file to point at (code scanning rejects the whole file otherwise):
//!   a finding with neither a spec location nor a known migration is anchored at line 1 of
//!   the first spec or migration of the run, and its message says so.
//! - Each result carries a partial fingerprint made of its code and object, so the same
//!   finding keeps the same alert across runs whatever lines move.
//! - Skipped checks are tool notifications (grouped by reason), never results.
//! - The run's properties carry the digest of `run.json`, like every report.

use indexmap::IndexMap;
use serde_json::{json, Value};

use super::digest::{generator, sha256_hex};
use super::json::{FindingRecord, LocationRecord, Outcome, RunRecord};
use crate::codes::{lookup, CHECK_CODES};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// The schema URI SARIF files name (a plain string; nothing is fetched).
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of the partial fingerprint of each result.
pub const FINGERPRINT_KEY: &str = "reimsVerifyFinding/v1";

/// Render `results.sarif` for a run record whose bytes have SHA-256 `digest`.
pub fn render(run: &RunRecord, digest: &str, run_file: &str) -> String {
    let mut rules: Vec<Value> = CHECK_CODES
        .iter()
        .map(|c| rule(c.code, c.title, c.help))
        .collect();
    let mut index: IndexMap<String, usize> = CHECK_CODES
        .iter()
        .enumerate()
        .map(|(i, c)| (c.code.to_string(), i))
        .collect();
    for f in &run.findings {
        if !index.contains_key(f.code.as_str()) {
            index.insert(f.code.to_string(), rules.len());
            rules.push(rule(
                &f.code,
                &format!("reims-verify check `{}`.", f.code),
                "See the finding's message and hint.",
            ));
        }
    }
    let fallback = fallback_anchor(run);
    let results: Vec<Value> = run
        .findings
        .iter()
        .filter(|f| f.status == Outcome::Fail)
        .map(|f| result(run, f, index[f.code.as_str()], fallback.as_ref()))
        .collect();
    let mut skips: IndexMap<(String, String), usize> = IndexMap::new();
    for f in run.findings.iter().filter(|f| f.status == Outcome::Skip) {
        *skips
            .entry((f.code.to_string(), f.message.clone()))
            .or_default() += 1;
    }
    let notifications: Vec<Value> = skips
        .into_iter()
        .map(|((code, message), n)| {
            json!({
                "level": "note",
                "message": { "text": format!("{n} check(s) `{code}` skipped: {message}") },
                "descriptor": { "id": code },
            })
        })
        .collect();
    let failed = results.len();
    let mut properties = json!({
        "reims-verify.run-file": run_file,
        "reims-verify.run-sha256": digest,
        "reims-verify.generator": generator(),
        "database": run.database,
        "serverVersion": run.server_version,
    });
    if let Some(c) = &run.git_commit {
        properties["gitCommit"] = json!(c);
    }
    if let Some(seed) = run.probe_seed {
        properties["probeSeed"] = json!(seed);
    }
    let doc = json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": { "driver": {
                "name": "reims-verify",
                "version": run.tool_version,
                "semanticVersion": run.tool_version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "exitCode": if failed > 0 || !crate::run::verdict_passes(&run.totals(), run.skips_fail) { 1 } else { 0 },
                "startTimeUtc": run.started_at,
                "endTimeUtc": run.finished_at,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": properties,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("a SARIF document serialises");
    text.push('\n');
    text
}

fn rule(code: &str, title: &str, help: &str) -> Value {
    // Tags must be unique: the `schema` family is already the general tag.
    let family = crate::codes::family(code);
    let tags: Vec<&str> = if family == "schema" {
        vec!["schema"]
    } else {
        vec!["schema", family]
    };
    json!({
        "id": code,
        "name": rule_name(code),
        "shortDescription": { "text": title },
        "fullDescription": { "text": format!("{title} {help}") },
        "help": {
            "text": help,
            "markdown": format!("**`{code}`**: {title}\n\n{help}"),
        },
        "defaultConfiguration": { "level": "error" },
        "properties": { "tags": tags },
    })
}

/// `index.predicate` → `IndexPredicate`: SARIF's rule names are identifier-like.
fn rule_name(code: &str) -> String {
    code.split(['.', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A file location of the run to anchor a finding that has none of its own.
fn fallback_anchor(run: &RunRecord) -> Option<LocationRecord> {
    let first_spec = run.specs.first().map(|s| s.path.as_str().into());
    let first_migration = run.findings.iter().find_map(|f| {
        (f.code.starts_with("migration.")).then(|| f.location.as_ref().map(|l| l.file.clone()))?
    });
    first_spec.or(first_migration).map(|file| LocationRecord {
        file,
        line: Some(1),
        column: None,
    })
}

fn result(
    run: &RunRecord,
    f: &FindingRecord,
    rule_index: usize,
    fallback: Option<&LocationRecord>,
) -> Value {
    let defined = run.defined_at.get(f.object.as_str());
    let (primary, note) = match (&f.location, defined) {
        (Some(spec), _) => (Some(spec), None),
        (None, Some(mig)) => (Some(mig), Some("located in the migrations by the object's name")),
        (None, None) => (
            fallback,
            Some("no spec or migration line states this object; shown at the start of the run's first file"),
        ),
    };
    let mut text = f.message.clone();
    for (label, value) in [("expected", &f.expected), ("actual", &f.actual)] {
        if let Some(v) = value {
            text.push_str(&format!("\n{label}: {v}"));
        }
    }
    if let Some(h) = f.hint() {
        text.push_str(&format!("\nhint: {h}"));
    }
    if let Some(n) = note {
        text.push_str(&format!("\n({n})"));
    }
    let mut result = json!({
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": "error",
        "message": { "text": text },
        "partialFingerprints": {
            FINGERPRINT_KEY: sha256_hex(format!("{}\u{0}{}", f.code, f.object).as_bytes()),
        },
        "properties": {
            "object": f.object,
            "table": f.table,
            "expected": f.expected,
            "actual": f.actual,
            "requirements": f.requirements(),
        },
    });
    let logical = json!([{ "fullyQualifiedName": f.object, "kind": "object" }]);
    let mut location = json!({ "logicalLocations": logical });
    if let Some(p) = primary {
        location["physicalLocation"] = physical(p);
    }
    result["locations"] = json!([location]);
    if let (Some(_), Some(mig)) = (&f.location, defined) {
        result["relatedLocations"] = json!([{
            "id": 1,
            "physicalLocation": physical(mig),
            "message": { "text": "defined here in the migrations (found by name)" },
        }]);
    }
    if lookup(&f.code).is_none() {
        result["properties"]["uncatalogued"] = json!(true);
    }
    result
}

fn physical(l: &LocationRecord) -> Value {
    let mut region = json!({ "startLine": l.line.unwrap_or(1).max(1) });
    if let Some(c) = l.column {
        region["startColumn"] = json!(c.max(1));
    }
    let mut artifact = json!({ "uri": uri(&l.file) });
    if !l.file.starts_with('/') {
        artifact["uriBaseId"] = json!("%SRCROOT%");
    }
    json!({ "artifactLocation": artifact, "region": region })
}

/// A path as a URI reference: relative paths stay relative (with `/`), absolute ones become
/// `file://` URIs; characters outside the unreserved set are percent-encoded.
pub fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_and_uris() {
        assert_eq!(rule_name("index.predicate"), "IndexPredicate");
        assert_eq!(rule_name("fk.on_delete"), "FkOnDelete");
        assert_eq!(uri("specs/users.yaml"), "specs/users.yaml");
        assert_eq!(uri("./specs/a b.yaml"), "specs/a%20b.yaml");
        assert_eq!(uri("/w/specs/ü.yaml"), "file:///w/specs/%C3%BC.yaml");
    }
}
