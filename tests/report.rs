//! The report files `check` writes (run.json and its digest, junit.xml, report.md,
//! report.html), `report --from` re-rendering them without a database, and `report verify`
//! catching any change.
//!
//! Snapshots come from a small ledger schema (`tests/fixtures/report/`) with deliberate
//! drift, so they stay short and show every section; the checks on counts, XML, URLs,
//! digests and failure order run on the project's own schema.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Run the binary from the crate root; returns (exit code, stdout, stderr).
fn rv(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        // Whether a shadow is built ahead (a `shadow_server` phase in the record) depends
        // on whether an earlier run here filled the cache: the snapshots must not.
        .env("REIMS_VERIFY_NO_SHADOW_AHEAD", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `check` with reports written into a fresh temp folder.
fn check_into(extra: &[&str]) -> (i32, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let mut args = vec!["check", "--report", &out];
    // A fixed seed, unless the probes are off (then a seed is refused).
    if !extra.contains(&"--no-probe") {
        args.extend(["--seed", "1"]);
    }
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = rv(&args);
    (code, dir, format!("{stdout}\n{stderr}"))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run_record(dir: &Path) -> Value {
    serde_json::from_str(&read(dir, "run.json")).unwrap()
}

fn verify(file: &Path) -> (i32, String) {
    let (code, stdout, stderr) = rv(&["report", "verify", file.to_str().unwrap()]);
    (code, format!("{stdout}{stderr}"))
}

/// Replace what varies between machines and runs in a rendered report: the values the
/// run record holds (times, versions, digest), and the rows for the host, the git commit
/// (absent outside a repository) and the command line.
fn redact(text: &str, run: &Value, digest: &str) -> String {
    let mut out = text.to_string();
    let mut exact: Vec<(String, &str)> = vec![
        (digest.to_string(), "[DIGEST]"),
        (
            format!("reims-verify {}", env!("CARGO_PKG_VERSION")),
            "reims-verify [TOOL_VERSION]",
        ),
    ];
    for (key, label) in [
        ("started_at", "[STARTED_AT]"),
        ("finished_at", "[FINISHED_AT]"),
        ("server_version", "[SERVER_VERSION]"),
    ] {
        if let Some(v) = run[key].as_str() {
            exact.push((v.to_string(), label));
        }
    }
    for m in run["migrations"].as_array().unwrap() {
        if let Some(at) = m["applied_at"].as_str() {
            exact.push((at.to_string(), "[APPLIED_AT]"));
        }
    }
    for (value, label) in exact {
        out = out.replace(&value, label);
    }
    out.lines()
        .map(|line| {
            // The tool version alone, and whatever the line says after a known label.
            let line = line
                .replace(
                    &format!("<td>{}</td>", env!("CARGO_PKG_VERSION")),
                    "<td>[TOOL_VERSION]</td>",
                )
                .replace(
                    &format!("| {} |", env!("CARGO_PKG_VERSION")),
                    "| [TOOL_VERSION] |",
                )
                .replace(
                    &format!("reims-verify {}<", env!("CARGO_PKG_VERSION")),
                    "reims-verify [TOOL_VERSION]<",
                );
            for (label, value) in [
                ("Command", "[COMMAND]"),
                ("Host", "[HOSTNAME]"),
                ("Git commit", "[GIT_COMMIT]"),
            ] {
                if line.starts_with(&format!("| {label} |")) {
                    return format!("| {label} | {value} |");
                }
                if line.starts_with(&format!("<tr><th>{label}</th>")) {
                    return format!("<tr><th>{label}</th><td>{value}</td></tr>");
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// insta filters for what is not a single known value: durations and phase times, seeds.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d+\.\d\d s\b", "[DURATION]"),
        (r"\b\d+ ms\b", "[MS] ms"),
        (r"seed \d+", "seed [SEED]"),
        (r"Probe seed \| \d+", "Probe seed | [SEED]"),
        (r"Probe seed</th><td>\d+", "Probe seed</th><td>[SEED]"),
    ]
}

/// The small ledger schema with its deliberate drift, checked without probes: exit 1.
fn failing_ledger() -> tempfile::TempDir {
    let mut args = vec!["--no-probe"];
    args.extend(FAILING_LEDGER);
    let (code, dir, out) = check_into(&args);
    assert_eq!(code, 1, "{out}");
    dir
}

/// Snapshots of the three report files of a failing run on the small ledger. Probes are
/// off: the probe engine's messages evolve on their own, and the other tests here cover
/// probes, skips and seeds on the project's schema.
#[test]
fn reports_of_a_failing_run_are_stable_snapshots() {
    let dir = failing_ledger();
    let dir = dir.path();
    let run = run_record(dir);
    let digest = read(dir, "run.json.sha256")[..64].to_string();

    insta::with_settings!({ filters => filters() }, {
        insta::assert_json_snapshot!("run_json", run, {
            ".tool_version" => "[TOOL_VERSION]",
            ".started_at" => "[STARTED_AT]",
            ".finished_at" => "[FINISHED_AT]",
            ".git_commit" => "[GIT_COMMIT]",
            ".hostname" => "[HOSTNAME]",
            ".command_line" => "[COMMAND]",
            ".server_version" => "[SERVER_VERSION]",
            ".phases[].millis" => "[MS]",
            ".phases[].started_millis" => "[MS]",
            ".migrations[].applied_at" => "[APPLIED_AT]",
        });
        insta::assert_snapshot!("report_md", redact(&read(dir, "report.md"), &run, &digest));
        insta::assert_snapshot!("report_html", redact(&read(dir, "report.html"), &run, &digest));
    });
}

/// `junit.xml` is written one suite at a time, cut from what quick-junit writes for a
/// report holding that suite alone. It must equal, byte for byte, what quick-junit writes
/// for the whole report built in memory: on a failing run, and on the same
/// record with skips and with text that imitates the root element's tags in every field
/// the cut could meet (a spec path, a relation, an object, a message, a warning).
#[test]
fn junit_written_suite_by_suite_is_what_the_whole_report_gives() {
    let dir = failing_ledger();
    let bytes = std::fs::read(dir.path().join("run.json")).unwrap();
    let digest = read(dir.path(), "run.json.sha256")[..64].to_string();
    let on_disk = read(dir.path(), "junit.xml");

    let record = reims_verify::report::json::parse(&bytes, Path::new("run.json")).unwrap();
    let whole = reims_verify::report::junit::render_whole(&record, &digest, "run.json");
    assert_eq!(on_disk, whole, "the file check wrote");
    let (cases, failures, _, _) = junit_counts(&whole);
    assert!(
        cases > 20 && failures > 0,
        "{cases} cases, {failures} failures"
    );

    let mut hostile: Value = serde_json::from_slice(&bytes).unwrap();
    let tags = "</testsuites>\n</testsuite><testsuites name=\"x\" tests=\"9\">";
    hostile["warnings"] = serde_json::json!([format!("warned {tags}")]);
    hostile["specs"][0]["path"] = Value::from(format!("specs/{tags}.yaml"));
    // Skips too, which the root element counts apart (the totals are optional for readers).
    hostile.as_object_mut().unwrap().remove("totals");
    for f in hostile["findings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .step_by(5)
    {
        f["status"] = Value::from("skip");
    }
    for f in hostile["findings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .step_by(3)
    {
        f["message"] = Value::from(format!("{tags} {}", f["message"].as_str().unwrap()));
        f["object"] = Value::from(format!("{} {tags}", f["object"].as_str().unwrap()));
        f["table"] = Value::from(format!(">{}", f["table"].as_str().unwrap()));
    }
    let hostile = serde_json::to_vec_pretty(&hostile).unwrap();
    let record = reims_verify::report::json::parse(&hostile, Path::new("run.json")).unwrap();
    let mut streamed = Vec::new();
    reims_verify::report::junit::write(&record, &digest, "run.json", &mut streamed).unwrap();
    let whole = reims_verify::report::junit::render_whole(&record, &digest, "run.json");
    assert!(
        whole.contains("&lt;/testsuites&gt;"),
        "the hostile text is in the report"
    );
    assert!(junit_counts(&whole).2 > 0, "skips are in the report");
    assert_eq!(String::from_utf8(streamed).unwrap(), whole);
    assert_eq!(junit_counts(&whole).0, cases);
}

/// The reports' title and the requirements they always list are the project's words, from
/// a report document among its specs, never the engine's. Without one (the ledger's own
/// specs, in the snapshots) the title is the default and only declared requirements are
/// listed; with one, its title heads both reports, a requirement it lists that nothing
/// traces to is flagged, each requirement shows what it is about, and `run.json` records
/// the document so that `report --from` renders the same.
#[test]
fn the_report_document_gives_the_title_and_the_requirements_always_listed() {
    let specs = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("tests/fixtures/report/specs").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, specs.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        specs.path().join("_report.yaml"),
        "report:\n  title: Ledger <compliance> report\n  requirements:\n    BR-003: Balances add up\n    BR-009: Nightly export\n    BR-010: ~\n",
    )
    .unwrap();
    let specs_arg = specs.path().to_str().unwrap();
    let (code, dir, out) = check_into(&[
        "--no-probe",
        "--migrations",
        "tests/fixtures/report/migrations",
        "--specs",
        specs_arg,
    ]);
    assert_eq!(code, 0, "{out}");
    let dir = dir.path();
    let md = read(dir, "report.md");
    let html = read(dir, "report.html");
    // Markdown would take `<compliance>` for a tag: it is written as text.
    assert!(
        md.contains("# Ledger &lt;compliance> report\n"),
        "{}",
        &md[..600]
    );
    assert!(
        html.contains("<title>Ledger &lt;compliance&gt; report"),
        "{}",
        &html[..900]
    );
    assert!(!md.contains("Schema compliance report"));
    for listed in ["BR-003", "BR-009", "BR-010", "BR-002", "BR-007"] {
        assert!(
            md.contains(&format!("[{listed}](#br-{listed})")),
            "{listed} missing"
        );
    }
    assert!(
        md.contains("### BR-003: Balances add up"),
        "the title of a requirement"
    );
    assert!(md.contains("### BR-009: Nightly export"));
    assert!(
        md.contains("### BR-010\n"),
        "a requirement listed without a title"
    );
    assert!(
        md.contains("| 5 listed, 2 with no objects |"),
        "{}",
        &md[..1200]
    );
    assert!(
        !md.contains("BR-001"),
        "a requirement nothing lists or declares"
    );
    let run = run_record(dir);
    assert_eq!(run["report"]["title"], "Ledger <compliance> report");
    assert_eq!(run["report"]["requirements"]["BR-009"], "Nightly export");
    assert!(run["report"]["requirements"]["BR-010"].is_null());

    let again = tempfile::tempdir().unwrap();
    let (code, _, stderr) = rv(&[
        "report",
        "--from",
        dir.join("run.json").to_str().unwrap(),
        "--out",
        again.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        read(again.path(), "report.md"),
        md,
        "rendered from the record alone"
    );
}

/// A suite of passing findings has its test cases written by reims-verify, not by
/// quick-junit (whose cleaning of every string was half the report's time at a thousand
/// tables). They must still be, byte for byte, what quick-junit writes: here on a record
/// whose findings all pass, with text quick-junit cleans or escapes in every attribute a
/// passing test case has (ANSI escapes, control characters, C1 controls, quotes,
/// ampersands, the root's tags, a line break, a tab, DEL, text beyond ASCII).
#[test]
fn junit_of_passing_findings_with_odd_text_is_what_quick_junit_writes() {
    let dir = failing_ledger();
    let bytes = std::fs::read(dir.path().join("run.json")).unwrap();
    let digest = read(dir.path(), "run.json.sha256")[..64].to_string();
    let mut passing: Value = serde_json::from_slice(&bytes).unwrap();
    passing.as_object_mut().unwrap().remove("totals");
    let odd = [
        "\u{1b}[31mred\u{1b}[0m",
        "bell\u{7}and\u{0}nul",
        "c1\u{9b}31m csi",
        "quote\"s and 'apostrophes' & <tags>",
        "</testsuite>\n</testsuites>",
        "tab\there",
        "del\u{7f}",
        "caf\u{e9} \u{1f600} \u{85}",
        "plain_name",
    ];
    let findings = passing["findings"].as_array_mut().unwrap();
    assert!(findings.len() > 20, "{} findings", findings.len());
    for (i, f) in findings.iter_mut().enumerate() {
        f["status"] = Value::from("pass");
        let text = odd[i % odd.len()];
        match i % 4 {
            0 => f["object"] = Value::from(format!("{} {text}", f["object"].as_str().unwrap())),
            1 => f["table"] = Value::from(format!("{text}{}", f["table"].as_str().unwrap())),
            2 => f["code"] = Value::from(format!("{}{text}", f["code"].as_str().unwrap())),
            _ => {
                if f["location"].is_object() {
                    f["location"]["file"] = Value::from(format!("specs/{text}.yaml"));
                }
            }
        }
    }
    let passing = serde_json::to_vec_pretty(&passing).unwrap();
    let record = reims_verify::report::json::parse(&passing, Path::new("run.json")).unwrap();
    let mut streamed = Vec::new();
    reims_verify::report::junit::write(&record, &digest, "run.json", &mut streamed).unwrap();
    let whole = reims_verify::report::junit::render_whole(&record, &digest, "run.json");
    let (cases, failures, skipped, _) = junit_counts(&whole);
    assert!(
        cases > 20 && failures == 0 && skipped == 0,
        "{cases} {failures} {skipped}"
    );
    assert!(
        whole.contains("&apos;apostrophes&apos; &amp; &lt;tags&gt;"),
        "escaped text"
    );
    assert_eq!(String::from_utf8(streamed).unwrap(), whole);
}

/// Every test case of `junit.xml` carries its finding's spec file and line (annotating CI
/// actions read them to point at the spec line), lines that many findings share included:
/// the set of (name, file, line) of the test cases is that of the findings.
#[test]
fn every_junit_test_case_points_at_its_findings_spec_line() {
    let dir = failing_ledger();
    let run = run_record(dir.path());
    let mut expected: Vec<(String, Option<String>, Option<String>)> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let loc = &f["location"];
            (
                format!(
                    "{} {}",
                    f["code"].as_str().unwrap(),
                    f["object"].as_str().unwrap()
                ),
                loc["file"].as_str().map(str::to_string),
                loc["line"].as_u64().map(|l| l.to_string()),
            )
        })
        .collect();
    let lines: std::collections::BTreeSet<&str> =
        expected.iter().filter_map(|e| e.2.as_deref()).collect();
    assert!(
        expected.iter().filter(|e| e.2.is_some()).count() > lines.len() && lines.len() > 3,
        "findings share lines and have several: {lines:?}"
    );
    let report = quick_junit::Report::deserialize_from_str(&read(dir.path(), "junit.xml")).unwrap();
    let attr = |c: &quick_junit::TestCase, key: &str| {
        c.extra
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.as_str().to_string())
    };
    let mut got: Vec<(String, Option<String>, Option<String>)> = report
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .map(|c| {
            (
                c.name.as_str().to_string(),
                attr(c, "file"),
                attr(c, "line"),
            )
        })
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
}

/// (testcases, failures, skipped) in a junit.xml, read back with quick-junit.
fn junit_counts(xml: &str) -> (usize, usize, usize, Vec<String>) {
    let report = quick_junit::Report::deserialize_from_str(xml).expect("junit.xml parses");
    let mut counts = (0, 0, 0);
    let mut suites = vec![];
    for suite in &report.test_suites {
        suites.push(suite.name.to_string());
        for case in &suite.test_cases {
            counts.0 += 1;
            match &case.status {
                quick_junit::TestCaseStatus::NonSuccess { .. } => counts.1 += 1,
                quick_junit::TestCaseStatus::Skipped { .. } => counts.2 += 1,
                quick_junit::TestCaseStatus::Success { .. } => {}
            }
        }
    }
    assert_eq!(report.tests, counts.0, "the testsuites element's own count");
    (counts.0, counts.1, counts.2, suites)
}

/// Assert `html` is well-formed XML that reaches nothing outside itself.
fn assert_self_contained_html(html: &str) {
    let doc = roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("report.html is well-formed XML");
    let mut links = 0;
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert_ne!(tag, "link", "no <link> elements");
        assert_ne!(tag, "iframe", "no frames");
        assert_ne!(tag, "img", "no images");
        if tag == "script" {
            assert!(node.attribute("src").is_none(), "no <script src>");
        }
        for attr in node.attributes() {
            let v = attr.value().trim().to_ascii_lowercase();
            if matches!(attr.name(), "src" | "href" | "srcset" | "action" | "data") {
                links += 1;
                assert!(
                    v.starts_with('#'),
                    "only links inside the page, got {}={v}",
                    attr.name()
                );
            }
            assert!(
                !v.contains("http://") && !v.contains("https://") && !v.starts_with("//"),
                "external URL in {}={v}",
                attr.name()
            );
        }
    }
    assert!(links > 0, "the page links its own sections");
    for banned in ["@import", "url(", "http://", "https://"] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
}

#[test]
fn a_passing_project_run_writes_consistent_verifiable_reports() {
    let (code, dir, out) = check_into(&[]);
    assert_eq!(code, 0, "{out}");
    let dir = dir.path();
    let run = run_record(dir);
    assert_eq!(run["format_version"], 1);
    let totals = &run["totals"];
    let findings = run["findings"].as_array().unwrap();
    assert_eq!(
        totals["passed"].as_u64().unwrap() as usize
            + totals["failed"].as_u64().unwrap() as usize
            + totals["skipped"].as_u64().unwrap() as usize,
        findings.len()
    );
    assert!(run["hostname"].is_string() && run["command_line"].is_array());
    assert_eq!(run["specs_dir"], "specs");
    assert!(run["specs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["requirements"].is_array()));

    // JUnit: one test case per finding, failures and skips as in the run.
    let (cases, failures, skipped, suites) = junit_counts(&read(dir, "junit.xml"));
    assert_eq!(cases, findings.len());
    assert_eq!(failures as u64, totals["failed"].as_u64().unwrap());
    assert_eq!(skipped as u64, totals["skipped"].as_u64().unwrap());
    assert_eq!(suites.first().map(String::as_str), Some("migrations"));
    assert_eq!(suites.last().map(String::as_str), Some("schema"));
    assert_eq!(suites.len(), run["specs"].as_array().unwrap().len() + 2);
    assert!(suites.iter().any(|s| s == "specs/users.yaml"), "{suites:?}");

    // HTML: well-formed and self-contained; all eight requirements listed.
    let html = read(dir, "report.html");
    assert_self_contained_html(&html);
    for br in 1..=8 {
        assert!(html.contains(&format!("BR-00{br}")), "BR-00{br} missing");
    }
    assert!(html.contains("no objects trace to this requirement"));
    let md = read(dir, "report.md");
    assert!(md.contains("**Verdict: PASS**"), "{}", &md[..400]);
    assert_access_and_diagram(&run, &html, &md);

    // Intact: every file verifies, from any of them.
    for name in [
        "run.json",
        "run.json.sha256",
        "junit.xml",
        "report.md",
        "report.html",
        "results.sarif",
    ] {
        let (code, out) = verify(&dir.join(name));
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("intact"), "{out}");
    }
    let (_, out) = verify(&dir.join("run.json"));
    assert_eq!(
        out.matches("intact").count(),
        6,
        "run.json, its sidecar and the four reports, from the manifest: {out}"
    );
    assert!(out.contains("SHA256SUMS sha256 "), "{out}");

    // Re-rendered from run.json alone: byte-identical files.
    let again = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = rv(&[
        "report",
        "--from",
        dir.join("run.json").to_str().unwrap(),
        "--out",
        again.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for name in [
        "run.json",
        "run.json.sha256",
        "junit.xml",
        "report.md",
        "report.html",
        "results.sarif",
        "SHA256SUMS",
    ] {
        assert!(
            read(dir, name) == read(again.path(), name),
            "{name} differs after `report --from`"
        );
    }

    // Tampering: one byte of run.json, or a word of a report, fails with exit 1.
    let tampered = tempfile::tempdir().unwrap();
    copy_dir(dir, tampered.path());
    let path = tampered.path().join("run.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&path, &bytes).unwrap();
    for name in [
        "run.json",
        "report.html",
        "report.md",
        "junit.xml",
        "results.sarif",
    ] {
        let (code, out) = verify(&tampered.path().join(name));
        assert_eq!(code, 1, "{name} must fail after run.json changed: {out}");
        assert!(out.contains("MISMATCH"), "{out}");
    }
    let (code, _, stderr) = rv(&[
        "report",
        "--from",
        path.to_str().unwrap(),
        "--out",
        tampered.path().join("re").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "a changed record is not re-rendered: {stderr}");
    assert!(
        stderr.contains("changed after it was written") && stderr.contains("run.json.sha256"),
        "{stderr}"
    );
    assert!(
        !tampered.path().join("re").exists(),
        "nothing is written for a refused record"
    );

    let edited = tempfile::tempdir().unwrap();
    copy_dir(dir, edited.path());
    let html_path = edited.path().join("report.html");
    let html =
        read(edited.path(), "report.html").replacen("No check failed.", "No check failed!", 1);
    std::fs::write(&html_path, html).unwrap();
    let (code, out) = verify(&html_path);
    assert_eq!(code, 1, "an edited report body is caught: {out}");
    let (code, out) = verify(&edited.path().join("run.json"));
    assert_eq!(
        code, 1,
        "verifying run.json checks the reports beside it: {out}"
    );

    // Not verifiable at all: exit 2.
    let (code, out) = verify(&root().join("Cargo.toml"));
    assert_eq!(code, 2, "{out}");
    let (code, out) = verify(&edited.path().join("no-such-file.html"));
    assert_eq!(code, 2, "{out}");
    std::fs::remove_file(edited.path().join("run.json")).unwrap();
    let (code, out) = verify(&edited.path().join("report.md"));
    assert_eq!(
        code, 1,
        "a report folder whose run.json is gone is not intact: {out}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        std::fs::copy(entry.path(), target).unwrap();
    }
}

#[test]
fn a_failing_run_puts_the_failure_first_and_in_junit() {
    let (code, dir, out) = check_into(&["--apply-after", "tests/fixtures/drift/01_drop_index.sql"]);
    assert_eq!(code, 1, "{out}");
    let dir = dir.path();
    let run = run_record(dir);
    assert_eq!(run["totals"]["failed"], 1, "{}", run["totals"]);

    let md = read(dir, "report.md");
    assert!(md.contains("**Verdict: FAIL**"));
    let failure = md
        .find("### 1. `index.exists` on `users.idx_users_role`")
        .expect("the failure is listed");
    for later in ["## Traceability", "## Checks by table", "## Environment"] {
        assert!(failure < md.find(later).unwrap(), "failure before {later}");
    }
    let by_table = &md[md.find("## Checks by table").unwrap()..];
    let first_table = by_table.find("\n### ").map(|i| &by_table[i + 5..]).unwrap();
    assert!(
        first_table.starts_with("users\n"),
        "failing table first: {}",
        &first_table[..40]
    );
    assert!(md.contains("**index.exists fail**"));

    let html = read(dir, "report.html");
    assert_self_contained_html(&html);
    let at = html
        .find("<code>users.idx_users_role</code>")
        .expect("failure in HTML");
    assert!(at < html.find("id=\"traceability\"").unwrap());
    assert!(html.contains("<strong class=\"fail\">FAIL</strong>"));

    let xml = read(dir, "junit.xml");
    let (cases, failures, _, _) = junit_counts(&xml);
    assert_eq!(
        (cases, failures),
        (run["findings"].as_array().unwrap().len(), 1)
    );
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let suite = report
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "specs/users.yaml")
        .unwrap();
    assert_eq!(suite.failures, 1);
    let case = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "index.exists users.idx_users_role")
        .expect("a test case for the finding");
    assert_eq!(case.classname.as_ref().map(|c| c.as_str()), Some("users"));
    match &case.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            description,
            ty,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("index.exists"));
            let d = description.as_ref().unwrap().as_str();
            for part in [
                "expected:",
                "actual:",
                "spec:     specs/users.yaml:",
                "hint:",
                "BR-008",
            ] {
                assert!(d.contains(part), "{part} in {d}");
            }
        }
        other => panic!("not a failure: {other:?}"),
    }
    assert!(
        xml.contains(r#"file="specs/users.yaml""#),
        "file attribute for annotations"
    );
    let (code, out) = verify(&dir.join("junit.xml"));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn report_needs_a_source_and_refuses_what_is_not_a_run_record() {
    let (code, _, stderr) = rv(&["report"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--from"), "{stderr}");
    let out = tempfile::tempdir().unwrap();
    let (code, _, stderr) = rv(&[
        "report",
        "--from",
        "Cargo.toml",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a reims-verify run record"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// The access-control section and the diagram, rendered from the run record alone: every
/// sensitive column with its readers (from the catalog), every relation as a box of the
/// diagram and every foreign key as an edge.
fn assert_access_and_diagram(run: &Value, html: &str, md: &str) {
    let sensitive = run["sensitive_columns"].as_array().expect("recorded");
    let names: Vec<String> = sensitive
        .iter()
        .map(|c| {
            format!(
                "{}.{}",
                c["table"].as_str().unwrap(),
                c["column"].as_str().unwrap()
            )
        })
        .collect();
    for col in [
        "users.password_hash",
        "users.mfa_secret",
        "users.last_login_ip",
        "user_sessions.session_token",
        "user_sessions.refresh_token",
        "user_sessions.ip_address",
        "audit_log.ip_address",
    ] {
        assert!(names.iter().any(|n| n == col), "{col} not in {names:?}");
        assert!(
            html.contains(&format!("<code>{col}</code>")),
            "{col} not in the HTML"
        );
        assert!(
            md.contains(&format!("`{col}`")),
            "{col} not in the Markdown"
        );
    }
    for c in sensitive {
        let readers = c["readers"].as_array().unwrap();
        // The bootstrap superuser can read everything, and says why.
        assert!(
            readers
                .iter()
                .any(|r| r["role"] == "postgres" && r["via"] == "superuser"),
            "{c}"
        );
    }
    assert!(html.contains("<section id=\"access\"") && md.contains("## Access control"));
    let map = &run["schema_map"];
    let relations = map["relations"].as_array().unwrap();
    let fks = map["foreign_keys"].as_array().unwrap();
    assert_eq!(relations.len(), 16);
    assert!(fks.len() >= 15, "{} foreign keys", fks.len());
    assert!(html.contains("<section id=\"erd\""));
    for r in relations {
        let name = r["name"].as_str().unwrap();
        assert_eq!(
            html.matches(&format!("id=\"erd-t-{name}\"")).count(),
            1,
            "{name} drawn once"
        );
    }
    for f in fks {
        let id = format!(
            "id=\"{}\"",
            reims_verify::report::view::anchor(
                "erd-fk",
                &format!(
                    "{}.{}",
                    f["from"].as_str().unwrap(),
                    f["name"].as_str().unwrap()
                )
            )
        );
        assert_eq!(html.matches(&id).count(), 1, "{id} drawn once");
    }
}
