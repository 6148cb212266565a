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
    let (code, run, stderr) = check_json(&args);
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
