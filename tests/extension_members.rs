//! An extension's members, end to end through `check`: a member a migration made SECURITY
//! DEFINER fails when the extension is declared (the shadow installs it fresh to compare
//! with), and is a skip that says why, never a pass, when no schema document declares it.

mod common;

use common::*;
use serde_json::Value;

const MIGRATION: &str = "CREATE EXTENSION pgcrypto;\n\
     ALTER FUNCTION gen_random_bytes(integer) SECURITY DEFINER;\n";

/// `check --no-probe` of a project whose one migration installs pgcrypto and makes one of
/// its functions SECURITY DEFINER, with `schema_doc` as the schema document: the exit code
/// and the findings about pgcrypto's members.
fn members_with(schema_doc: &str) -> (Option<i32>, Vec<Value>, String) {
    let project = project_folder(
        &[("001_init.sql", MIGRATION)],
        &[("_schema.public.yaml", schema_doc)],
    );
    let migrations = project.path().join("migrations");
    let specs = project.path().join("specs");
    let (code, run, stderr) = check_json(&[
        "--migrations",
        migrations.to_str().unwrap(),
        "--specs",
        specs.to_str().unwrap(),
    ]);
    let members = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["code"].as_str().unwrap().starts_with("extension.member")
                && f["message"].as_str().unwrap().contains("pgcrypto")
        })
        .cloned()
        .collect();
    (code, members, stderr)
}

#[test]
fn a_changed_member_of_a_declared_extension_fails() {
    let (code, members, stderr) =
        members_with("schema: public\nextensions:\n  pgcrypto: { version: '1.3' }\n");
    if members
        .iter()
        .any(|f| f["status"] == "skip" && f["message"].as_str().unwrap().contains("version"))
    {
        report_skip("this server's pgcrypto is not version 1.3, which the spec declares");
        return;
    }
    assert_eq!(code, Some(1), "{stderr}\n{members:?}");
    let security: Vec<&Value> = members
        .iter()
        .filter(|f| f["code"] == "extension.member_security")
        .collect();
    assert!(
        security.iter().any(|f| f["status"] == "fail"
            && f["message"].as_str().unwrap().contains("gen_random_bytes")),
        "{members:#?}"
    );
}

#[test]
fn an_undeclared_extension_is_a_skip_never_a_pass() {
    let (code, members, stderr) =
        members_with("schema: public\nallow_extra: { extensions: true }\n");
    assert_eq!(code, Some(0), "skips do not fail the run: {stderr}");
    assert_eq!(members.len(), 2, "{members:#?}");
    for f in &members {
        assert_eq!(f["status"], "skip", "{f}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("no schema document declares it"),
            "{f}"
        );
    }
}
