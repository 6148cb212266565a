//! The binary as users meet it: `check` on the project passes with a stable report, bad
//! specs exit 2 with file, line and key, bad flags exit 2, and the committed JSON Schema of
//! the spec format is current.

mod common;

use std::process::Command;

use common::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Replace what varies between machines and runs.
fn redact(text: &str) -> String {
    let mut out = text.replace(&root().display().to_string(), "[ROOT]");
    out = out
        .lines()
        .map(|l| match l.find("(server ") {
            Some(i) => format!("{}(server [VERSION])", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.replace(env!("CARGO_PKG_VERSION"), "[TOOL_VERSION]")
}

#[test]
fn check_passes_on_the_project_and_its_report_is_stable() {
    let (code, stdout, stderr) = run(&["check", "--seed", "1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS:"), "{stdout}");
    assert!(
        stdout.contains("probe seed: 1 (replay with --seed 1)"),
        "{stdout}"
    );
    insta::assert_snapshot!("check_table_output", redact(&stdout));
}

#[test]
fn check_json_is_machine_readable_and_complete() {
    let (code, stdout, stderr) = run(&["check", "--format", "json", "--seed", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 14);
    assert_eq!(v["specs"].as_array().unwrap().len(), 16);
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["status"] != "fail"));
    assert_eq!(v["probe_seed"], 5);
    let codes: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in [
        "column.type",
        "index.predicate",
        "fk.on_delete",
        "trigger.timing",
        "function.volatility",
        "check.rule",
    ] {
        assert!(codes.contains(code), "no {code} findings");
    }
}

#[test]
fn a_mutation_applied_after_the_migrations_fails_the_gate_with_exit_1() {
    let (code, stdout, _) = run(&[
        "check",
        "--apply-after",
        "tests/fixtures/drift/01_drop_index.sql",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL index.exists  users.idx_users_role"),
        "{stdout}"
    );
    assert!(stdout.contains("spec:     specs/users.yaml:"), "{stdout}");
}

fn bad_spec(case: &str) -> String {
    let dir = format!("tests/fixtures/specs_bad/{case}");
    let (code, stdout, stderr) = run(&["check", "--specs", &dir]);
    assert_eq!(code, 2, "{case}: expected exit 2\n{stdout}\n{stderr}");
    assert!(stderr.contains("hint:"), "{case}: {stderr}");
    redact(&stderr)
}

#[test]
fn malformed_specs_exit_2_naming_file_line_and_key() {
    let cases = [
        ("bad_yaml", "t.yaml:"),
        ("unknown_key", "t.yaml:7"),
        ("wrong_type", "t.yaml:3"),
        ("missing_column", "t.yaml:7"),
        ("bad_type", "t.yaml:4"),
        ("duplicate_table", "b.yaml:1"),
        ("bad_requirement", "t.yaml:2"),
    ];
    for (case, location) in cases {
        let stderr = bad_spec(case);
        assert!(
            stderr.contains(location),
            "{case}: expected {location} in\n{stderr}"
        );
        insta::assert_snapshot!(format!("bad_spec_{case}"), stderr);
    }
}

#[test]
fn wrong_flags_exit_2() {
    let (code, _, stderr) = run(&["check", "--format", "xml"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&["migrate"]);
    assert_eq!(code, 2, "migrate needs an action: {stderr}");
    let (code, _, stderr) = run(&[
        "check",
        "--database-url",
        "postgres://u:pw@host:notaport/db",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("pw@"), "password leaked: {stderr}");
}

#[test]
fn missing_folders_exit_2_with_a_hint() {
    let (code, _, stderr) = run(&["check", "--specs", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no/such/dir") && stderr.contains("hint:"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["check", "--migrations", "no/such/dir"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_committed_json_schema_is_current() {
    let committed = std::fs::read_to_string(root().join("specs/schema.json")).unwrap_or_default();
    let (code, current, _) = run(&["spec", "schema"]);
    assert_eq!(code, 0);
    assert!(
        committed == current,
        "specs/schema.json is stale: run `cargo run -- spec schema > specs/schema.json`"
    );
}

/// Access-control parts that PostgreSQL would refuse, or that name nothing, are invalid
/// input: exit 2 with the file, line and key path, before any database starts.
#[test]
fn malformed_access_specs_exit_2_naming_file_line_and_key() {
    let cases = [
        (
            "access_privilege_kind",
            "t.yaml:6",
            "privileges.roles.app",
            "not a privilege of a relation",
        ),
        (
            "access_public_grant_option",
            "t.yaml:5",
            "privileges.public",
            "PUBLIC cannot hold a grant option",
        ),
        (
            "access_policy_insert_using",
            "t.yaml:8",
            "policies.t_insert.using",
            "only a WITH CHECK",
        ),
        (
            "access_acknowledge_unknown",
            "t.yaml:10",
            "functions.f().acknowledge.security.everything_is_fine",
            "that can be acknowledged",
        ),
        (
            "access_role_variable",
            "t.yaml:5",
            "privileges.owner",
            "not a role variable",
        ),
        (
            "access_column_grant",
            "t.yaml:6",
            "privileges.columns.secret",
            "`secret` is not a column",
        ),
    ];
    for (case, location, key, message) in cases {
        let stderr = bad_spec(case);
        for part in [location, key, message] {
            assert!(
                stderr.contains(part),
                "{case}: expected {part:?} in\n{stderr}"
            );
        }
    }
    let (code, _, stderr) = run(&["check", "--role", "nonsense"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("NAME=ROLE"), "{stderr}");
}
