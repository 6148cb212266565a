//! Findings where CI shows them: `results.sarif` (validated against the official SARIF
//! 2.1.0 schema), GitHub workflow-command annotations (against a snapshot fixture, and
//! against hostile database text), and the job summary.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Drift for these tests: the ledger fixture's gaps, a table nobody specified (anchored in
/// this file by name) and a table whose name tries to smuggle in workflow commands.
const DRIFT: &str = "tests/fixtures/sarif/drift.sql";

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

/// `check` on the ledger fixture with the drift, as a GitHub Actions step would run it
/// (or not, with `actions = false`).
fn check(actions: bool, extra: &[&str]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let report = dir.path().join("reports");
    let mut cmd = Command::new(bin());
    cmd.current_dir(root())
        .args(["check", "--no-probe"])
        .args(FAILING_LEDGER)
        .args(["--apply-after", DRIFT, "--report", report.to_str().unwrap()])
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env("GITHUB_STEP_SUMMARY", &summary);
    if actions {
        cmd.env("GITHUB_ACTIONS", "true");
    }
    let out = cmd.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        dir,
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn failing(run: &Value) -> Vec<&Value> {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .collect()
}

#[test]
fn sarif_is_valid_and_has_one_result_per_failure_on_its_line() {
    let ran = check(false, &[]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let reports = ran.dir.path().join("reports");
    let sarif = json(&reports.join("results.sarif"));
    let schema = json(&fixture("sarif/sarif-schema-2.1.0.json"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the official schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "results.sarif is not valid SARIF 2.1.0: {errors:#?}"
    );

    let run = json(&reports.join("run.json"));
    let failures = failing(&run);
    let sarif_run = &sarif["runs"][0];
    let results = sarif_run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        failures.len(),
        "one result per failing finding"
    );
    assert!(failures.len() >= 5, "the drift makes several failures");
    let rules = sarif_run["tool"]["driver"]["rules"].as_array().unwrap();
    for (r, f) in results.iter().zip(&failures) {
        assert_eq!(r["ruleId"], f["code"]);
        assert_eq!(r["level"], "error");
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(
            rule["id"], f["code"],
            "ruleIndex points at the finding's rule"
        );
        for key in ["shortDescription", "fullDescription", "help"] {
            assert!(
                !rule[key]["text"].as_str().unwrap().is_empty(),
                "{key} of {}",
                rule["id"]
            );
        }
        let text = r["message"]["text"].as_str().unwrap();
        assert!(text.starts_with(f["message"].as_str().unwrap()), "{text}");
        // Every result points at a file code scanning can show.
        let phys = &r["locations"][0]["physicalLocation"];
        let uri = phys["artifactLocation"]["uri"]
            .as_str()
            .expect("a file for every result");
        let line = phys["region"]["startLine"].as_u64().unwrap() as usize;
        let file = root().join(uri);
        let content = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert!(line >= 1 && line <= content.lines().count(), "{uri}:{line}");
        if let Some(loc) = f.get("location").filter(|l| !l.is_null()) {
            assert_eq!(uri, loc["file"].as_str().unwrap());
            if let Some(l) = loc["line"].as_u64() {
                assert_eq!(line as u64, l, "{}", f["object"]);
            }
        }
    }
    // The unplanned table has no spec: its result sits on the line that creates it.
    let unplanned = results
        .iter()
        .find(|r| r["ruleId"] == "table.extra" && r["properties"]["object"] == "unplanned_notes")
        .expect("the unplanned table is reported");
    let phys = &unplanned["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], DRIFT);
    let line = phys["region"]["startLine"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(root().join(DRIFT)).unwrap();
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("CREATE TABLE unplanned_notes"),
        "line {line} of {DRIFT}"
    );
    // Fingerprints are stable across runs and distinct within one.
    let prints = |s: &Value| -> BTreeSet<String> {
        s["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["reimsVerifyFinding/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let first = prints(&sarif);
    assert_eq!(first.len(), results.len(), "fingerprints are distinct");
    let again = check(false, &[]);
    assert_eq!(
        prints(&json(&again.dir.path().join("reports/results.sarif"))),
        first
    );
}

#[test]
fn a_passing_run_has_a_valid_sarif_with_no_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .current_dir(root())
        .args([
            "check",
            "--no-probe",
            "--migrations",
            "tests/fixtures/report/migrations",
            "--specs",
            "tests/fixtures/report/specs",
            "--report",
            dir.path().to_str().unwrap(),
        ])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif = json(&dir.path().join("results.sarif"));
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert_eq!(sarif["runs"][0]["invocations"][0]["exitCode"], 0);
}

#[test]
fn report_verify_covers_the_sarif_file() {
    let ran = check(false, &[]);
    let path = ran.dir.path().join("reports/results.sarif");
    let verify = |p: &Path| {
        Command::new(bin())
            .args(["report", "verify", p.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = verify(&path);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let original = std::fs::read_to_string(&path).unwrap();
    let edited = original.replacen("\"level\": \"error\"", "\"level\": \"note\"", 1);
    assert_ne!(edited, original);
    std::fs::write(&path, edited).unwrap();
    let bad = verify(&path);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
}

/// The lines GitHub reads as workflow commands: those that start with `::` after leading
/// white space, outside a `::stop-commands::TOKEN` … `::TOKEN::` stretch.
fn live_commands(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stdout.lines() {
        let l = line.trim_start();
        if let Some(token) = &stopped {
            if l == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(token) = l.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
            continue;
        }
        if l.starts_with("::") {
            out.push(l.to_string());
        }
    }
    out
}

/// Undo the runner's escaping of a command's message.
fn unescape(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_annotations_point_at_spec_lines_and_resist_hostile_names() {
    let ran = check(true, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run = json(&ran.dir.path().join("reports/run.json"));
    let failures = failing(&run);
    let commands = live_commands(&ran.stdout);
    let errors: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("::error "))
        .collect();
    assert_eq!(
        errors.len(),
        failures.len(),
        "one ::error per failure:\n{}",
        ran.stdout
    );
    // Only our own commands are live: the hostile table name in the output is not.
    for c in &commands {
        assert!(
            c.starts_with("::error ") || c.starts_with("::warning "),
            "unexpected live workflow command: {c}"
        );
        assert!(!c.contains("pwned") || c.contains("%0A"), "{c}");
    }
    assert!(
        ran.stdout.contains("::stop-commands::"),
        "the table is fenced off"
    );
    for (cmd, f) in errors.iter().zip(&failures) {
        let (props, message) = cmd["::error ".len()..].split_once("::").unwrap();
        let props: Vec<(&str, &str)> = props
            .split(',')
            .map(|kv| kv.split_once('=').unwrap())
            .collect();
        let get = |k: &str| {
            props
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| unescape(v))
        };
        assert_eq!(
            get("title").unwrap(),
            format!(
                "reims-verify {} {}",
                f["code"].as_str().unwrap(),
                f["object"].as_str().unwrap()
            )
        );
        assert!(unescape(message).starts_with(f["message"].as_str().unwrap()));
        if let Some(loc) = f.get("location").filter(|l| !l.is_null()) {
            assert_eq!(get("file").unwrap(), loc["file"].as_str().unwrap());
        }
    }
    // The job summary was appended, not overwritten.
    let summary = std::fs::read_to_string(ran.dir.path().join("summary.md")).unwrap();
    assert!(summary.starts_with("earlier step\n"), "{summary}");
    assert!(summary.contains("## reims-verify: FAIL"), "{summary}");
    assert!(
        summary.contains(&format!("{} failed", failures.len())),
        "{summary}"
    );
    let digest = std::fs::read_to_string(ran.dir.path().join("reports/run.json.sha256")).unwrap();
    assert!(
        summary.contains(&digest[..64]),
        "the summary names the digest"
    );

    // The annotation format, as a reviewed fixture (paths and the hostile name are stable).
    let shown: Vec<String> = commands.iter().map(|c| c.to_string()).collect();
    insta::assert_snapshot!("github_annotations", shown.join("\n"));
}

#[test]
fn outside_github_actions_nothing_is_annotated() {
    let ran = check(false, &[]);
    assert_eq!(ran.code, 1);
    // Database text never starts a line, so nothing could be read as a command.
    assert!(
        !ran.stdout.lines().any(|l| l.starts_with("::")),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("::stop-commands::"));
    let summary = std::fs::read_to_string(ran.dir.path().join("summary.md")).unwrap();
    assert_eq!(summary, "earlier step\n", "the summary file is left alone");
}

#[test]
fn json_output_stays_pure_json_under_github_actions() {
    let ran = check(true, &["--format", "json"]);
    assert_eq!(ran.code, 1);
    let parsed: Value = serde_json::from_str(&ran.stdout).expect("stdout is one JSON document");
    assert!(parsed["findings"].is_array());
    assert!(
        ran.stderr.lines().any(|l| l.starts_with("::error ")),
        "{}",
        ran.stderr
    );
}

#[test]
fn the_shipped_workflow_uploads_the_sarif_file() {
    let text = std::fs::read_to_string(root().join(".github/workflows/reims-verify.yml")).unwrap();
    let wf: Value = serde_saphyr::from_str(&text).expect("the workflow is valid YAML");
    assert_eq!(wf["permissions"]["security-events"], "write");
    let steps = wf["jobs"]["schema-gate"]["steps"].as_array().unwrap();
    let gate = steps
        .iter()
        .position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("reims-verify check"))
        })
        .expect("a step runs the gate");
    let upload = steps
        .iter()
        .position(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("a step uploads SARIF");
    assert!(upload > gate);
    assert_eq!(steps[upload]["with"]["sarif_file"], "reports/results.sarif");
    assert!(
        steps[upload]["if"].as_str().unwrap().contains("always()"),
        "the upload runs also when the gate failed"
    );
}
