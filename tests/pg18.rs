//! What PostgreSQL 18 added to the catalog that a schema can hide behind: VIRTUAL generated
//! columns, NOT NULL constraints added `NOT VALID`, and CHECKs and foreign keys made `NOT
//! ENFORCED`. Each is checked on a real PostgreSQL 18 with the mutation that hides it (it
//! must fail) and without (it must pass), and the same projects pass on 15 (the default
//! major) and on 13, where the catalog read must still work without the columns 18 added.
//! A spec may declare a CHECK or foreign key `enforced: false` (informational): that
//! passes NOT ENFORCED and fails enforced on 18, and fails before 18, saying why. A
//! domain's NOT NULL cannot be added `NOT VALID` on 18; one not validated (made in the
//! catalog by hand) fails `type.nullable`.
//! A major whose binaries are not found is reported as `SKIPPED: …` (as `tests/majors.rs`
//! does), never passed silently.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use reims_verify::postgres::find_bindir_of_major;
use serde_json::Value;

/// The binaries of `major`, or a `SKIPPED` line saying why the caller goes without.
fn bindir(major: u32) -> Option<PathBuf> {
    match find_bindir_of_major(None, major) {
        Ok(Some(dir)) => Some(dir.path),
        _ => {
            report_skip(&format!(
                "PostgreSQL {major} binaries not found (run reims-verify pg install {major})"
            ));
            None
        }
    }
}

const SCHEMA_MIGRATIONS: &str = r#"table: schema_migrations
comment: "Migration history: one row per migration file; success = true means it is applied. reims-verify logs every attempt in reims_verify.migration_attempts."
columns:
  id:             { type: serial, nullable: false }
  migration_name: { type: varchar(255), nullable: false }
  applied_at:     { type: timestamp, default: CURRENT_TIMESTAMP }
  success:        { type: boolean, default: "true" }
  error_message:  { type: text }
  checksum:       { type: text, comment: "SHA-256 (hex) of the migration file as applied, BOM and CRLF normalised; NULL when unknown (rows written by another runner)." }
primary_key: { columns: [id] }
unique:
  schema_migrations_migration_name_key: { columns: [migration_name] }
privileges: { owner: $migrator, public: [] }
row_security: { enabled: false }
"#;

/// A project folder: `migrations/001_t.sql` and `specs/` with the given specs (and the
/// migration history's).
fn project(migration: &str, specs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::create_dir(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("migrations/001_t.sql"), migration).unwrap();
    std::fs::write(
        dir.path().join("specs/schema_migrations.yaml"),
        SCHEMA_MIGRATIONS,
    )
    .unwrap();
    for (stem, yaml) in specs {
        std::fs::write(dir.path().join(format!("specs/{stem}.yaml")), yaml).unwrap();
    }
    dir
}

/// `check --no-probe` of `project` on the throw-away server of `bindir`, with `drift` (SQL)
/// applied after the migrations when given. Returns the exit code and the JSON record.
fn check(project: &Path, bindir: &Path, drift: Option<&str>) -> (Option<i32>, Value) {
    check_with(project, bindir, drift, &["--no-probe"])
}

/// [`check`] with `flags` in place of `--no-probe` (none: the probes run).
fn check_with(
    project: &Path,
    bindir: &Path,
    drift: Option<&str>,
    flags: &[&str],
) -> (Option<i32>, Value) {
    let out = check_output(project, bindir, drift, flags);
    let run: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code(), run)
}

/// The process output of [`check_with`], for a run that may end in an error.
fn check_output(
    project: &Path,
    bindir: &Path,
    drift: Option<&str>,
    flags: &[&str],
) -> std::process::Output {
    let mut cmd = reims_command(&["check", "--no-report", "--format", "json"]);
    cmd.args(flags);
    cmd.arg("--pg-bindir")
        .arg(bindir)
        .arg("--migrations")
        .arg(project.join("migrations"))
        .arg("--specs")
        .arg(project.join("specs"))
        .env_remove("REIMS_VERIFY_PG_BINDIR");
    let drift_file = project.join("drift.sql");
    if let Some(sql) = drift {
        std::fs::write(&drift_file, sql).unwrap();
        cmd.arg("--apply-after").arg(&drift_file);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_file(&drift_file);
    out
}

/// The one finding of `code` on `object`.
fn finding<'a>(run: &'a Value, code: &str, object: &str) -> &'a Value {
    run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["object"] == object)
        .unwrap_or_else(|| panic!("no {code} on {object}: {run}"))
}

/// The run passed, every check of it.
fn assert_passes(major: u32, what: &str, (code, run): &(Option<i32>, Value)) {
    assert_eq!(
        *code,
        Some(0),
        "PostgreSQL {major}, {what}: failed {:?}\n{run}",
        failed_findings(run)
    );
}

/// The run failed with exactly the `failing` (`code object`, in the run's order).
fn assert_fails_exactly(
    major: u32,
    what: &str,
    (exit, run): &(Option<i32>, Value),
    failing: &[&str],
) {
    assert_eq!(*exit, Some(1), "PostgreSQL {major}, {what}: {run}");
    assert_eq!(failed_findings(run), failing, "PostgreSQL {major}, {what}");
}

/// The run failed with exactly `code` on `object` failing, and returns that finding.
fn assert_fails_only<'a>(
    major: u32,
    what: &str,
    (exit, run): &'a (Option<i32>, Value),
    code: &str,
    object: &str,
) -> &'a Value {
    assert_eq!(*exit, Some(1), "PostgreSQL {major}, {what}: {run}");
    assert_eq!(
        failed_findings(run),
        vec![format!("{code} {object}")],
        "PostgreSQL {major}, {what}"
    );
    finding(run, code, object)
}

const ITEMS_STORED: &str = "CREATE TABLE items (
  id integer PRIMARY KEY,
  price numeric(10,2) NOT NULL,
  qty integer NOT NULL,
  total numeric GENERATED ALWAYS AS (price * qty) STORED
);";

fn items_spec(kind: &str) -> String {
    format!(
        "table: items
columns:
  id:    {{ type: integer, nullable: false }}
  price: {{ type: \"numeric(10,2)\", nullable: false }}
  qty:   {{ type: integer, nullable: false }}
  total: {{ type: numeric, generated: price * qty::numeric{kind} }}
primary_key: {{ columns: [id] }}
privileges: {{ owner: $migrator, public: [] }}
row_security: {{ enabled: false }}
"
    )
}

/// The column made VIRTUAL again after the migrations; `keyword` is empty for the bare
/// form, which PostgreSQL 18 makes VIRTUAL.
fn to_virtual(keyword: &str) -> String {
    format!(
        "ALTER TABLE items DROP COLUMN total;
ALTER TABLE items ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) {keyword};"
    )
}

#[test]
fn a_virtual_generated_column_is_told_from_a_stored_one_on_18() {
    let Some(dir) = bindir(18) else { return };
    let stored = project(ITEMS_STORED, &[("items", &items_spec(""))]);
    assert_passes(
        18,
        "STORED, spec says nothing",
        &check(stored.path(), &dir, None),
    );
    for keyword in ["VIRTUAL", ""] {
        let run = check(stored.path(), &dir, Some(&to_virtual(keyword)));
        let f = assert_fails_only(
            18,
            &format!("`{keyword}` column, spec says nothing (STORED)"),
            &run,
            "column.generated",
            "items.total",
        );
        assert!(f["expected"].as_str().unwrap().ends_with(") STORED"), "{f}");
        assert!(f["actual"].as_str().unwrap().ends_with(") VIRTUAL"), "{f}");
    }

    let explicit_stored = project(
        ITEMS_STORED,
        &[("items", &items_spec(", generated_kind: stored"))],
    );
    assert_passes(
        18,
        "STORED, spec says stored",
        &check(explicit_stored.path(), &dir, None),
    );

    let virtual_spec = project(
        ITEMS_STORED,
        &[("items", &items_spec(", generated_kind: virtual"))],
    );
    let run = check(virtual_spec.path(), &dir, Some(&to_virtual("VIRTUAL")));
    assert_passes(18, "VIRTUAL, spec says virtual", &run);
    let f = finding(&run.1, "column.generated", "items.total");
    assert!(f["actual"].as_str().unwrap().ends_with(") VIRTUAL"), "{f}");
    let run = check(virtual_spec.path(), &dir, None);
    let f = assert_fails_only(
        18,
        "STORED, spec says virtual",
        &run,
        "column.generated",
        "items.total",
    );
    assert!(f["hint"].as_str().unwrap().contains("VIRTUAL"), "{f}");
}

#[test]
fn spec_snapshot_writes_a_virtual_columns_kind_on_18() {
    let Some(dir) = bindir(18) else { return };
    let virtual_items = ITEMS_STORED.replace(") STORED", ") VIRTUAL");
    for (migration, want) in [
        (ITEMS_STORED, None),
        (virtual_items.as_str(), Some("virtual")),
    ] {
        let p = project(migration, &[]);
        let out_dir = tempfile::tempdir().unwrap();
        let snap = snapshot(p.path(), &dir, out_dir.path());
        assert_eq!(snap.status.code(), Some(0), "{}", text(&snap));
        let items = std::fs::read_to_string(out_dir.path().join("items.yaml")).unwrap();
        let total = items
            .lines()
            .find(|l| l.trim_start().starts_with("total:"))
            .unwrap_or_else(|| panic!("{items}"));
        match want {
            Some(kind) => assert!(
                total.contains(&format!("generated_kind: {kind}")),
                "{items}"
            ),
            None => assert!(!total.contains("generated_kind"), "{items}"),
        }
        // The snapshot passes its own check.
        std::fs::write(p.path().join("specs/items.yaml"), &items).unwrap();
        assert_passes(
            18,
            &format!("snapshot {want:?}"),
            &check(p.path(), &dir, None),
        );
    }
}

#[test]
fn a_stored_generated_column_passes_and_a_virtual_spec_fails_before_18() {
    for major in [13, 15] {
        let Some(dir) = bindir(major) else { continue };
        let stored = project(ITEMS_STORED, &[("items", &items_spec(""))]);
        assert_passes(
            major,
            "STORED, spec says nothing",
            &check(stored.path(), &dir, None),
        );
        // A spec asking for VIRTUAL where the server has none is a finding, not an error.
        let virtual_spec = project(
            ITEMS_STORED,
            &[("items", &items_spec(", generated_kind: virtual"))],
        );
        let run = check(virtual_spec.path(), &dir, None);
        let f = assert_fails_only(
            major,
            "spec says virtual",
            &run,
            "column.generated",
            "items.total",
        );
        assert!(f["hint"].as_str().unwrap().contains("PostgreSQL 18"), "{f}");
    }
}

const ACCOUNTS: &str = "CREATE TABLE accounts (
  id integer PRIMARY KEY,
  email text NOT NULL
);";

const ACCOUNTS_SPEC: &str = "table: accounts
columns:
  id:    { type: integer, nullable: false }
  email: { type: text, nullable: false }
primary_key: { columns: [id] }
privileges: { owner: $migrator, public: [] }
row_security: { enabled: false }
";

#[test]
fn a_not_null_constraint_added_not_valid_fails_column_nullable_on_18() {
    let Some(dir) = bindir(18) else { return };
    let p = project(ACCOUNTS, &[("accounts", ACCOUNTS_SPEC)]);
    assert_passes(18, "NOT NULL", &check(p.path(), &dir, None));
    let drift = "ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;
INSERT INTO accounts VALUES (1, NULL);
ALTER TABLE accounts ADD CONSTRAINT accounts_email_not_null NOT NULL email NOT VALID;";
    let run = check(p.path(), &dir, Some(drift));
    let f = assert_fails_only(
        18,
        "NOT NULL NOT VALID",
        &run,
        "column.nullable",
        "accounts.email",
    );
    assert_eq!(
        f["actual"],
        "NOT NULL NOT VALID (existing rows were never checked)"
    );
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("VALIDATE CONSTRAINT \"accounts_email_not_null\""),
        "{f}"
    );
    // Added NOT VALID and validated since: it holds.
    let validated = "ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_not_null NOT NULL email NOT VALID;
ALTER TABLE accounts VALIDATE CONSTRAINT accounts_email_not_null;";
    assert_passes(
        18,
        "NOT NULL NOT VALID, then validated",
        &check(p.path(), &dir, Some(validated)),
    );
}

#[test]
fn a_not_null_column_passes_before_18() {
    for major in [13, 15] {
        let Some(dir) = bindir(major) else { continue };
        let p = project(ACCOUNTS, &[("accounts", ACCOUNTS_SPEC)]);
        assert_passes(major, "NOT NULL", &check(p.path(), &dir, None));
    }
}

const PARENT_CHILD: &str = "CREATE TABLE parent (id integer PRIMARY KEY);
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer, qty integer);
ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent(id);
ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0);";

const PARENT_SPEC: &str = "table: parent
columns:
  id: { type: integer, nullable: false }
primary_key: { columns: [id] }
privileges: { owner: $migrator, public: [] }
row_security: { enabled: false }
";

/// `child`, its constraints with `validated` as given (`""` for the default, true).
fn child_spec(validated: &str) -> String {
    format!(
        "table: child
columns:
  id:        {{ type: integer, nullable: false }}
  parent_id: {{ type: integer }}
  qty:       {{ type: integer }}
primary_key: {{ columns: [id] }}
foreign_keys:
  child_parent_fk:
    columns: [parent_id]
    references: {{ table: parent, columns: [id] }}
    {validated}
checks:
  child_qty_check:
    rule: {{ range: {{ column: qty, gt: 0 }} }}
    {validated}
privileges: {{ owner: $migrator, public: [] }}
row_security: {{ enabled: false }}
"
    )
}

const FK_NOT_ENFORCED: &str = "ALTER TABLE child ALTER CONSTRAINT child_parent_fk NOT ENFORCED;";
const CHECK_NOT_ENFORCED: &str = "ALTER TABLE child DROP CONSTRAINT child_qty_check;
ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0) NOT ENFORCED;";

#[test]
fn a_not_enforced_constraint_fails_whatever_validated_says_on_18() {
    let Some(dir) = bindir(18) else { return };
    for validated in ["", "validated: false"] {
        let p = project(
            PARENT_CHILD,
            &[("parent", PARENT_SPEC), ("child", &child_spec(validated))],
        );
        let what = |w: &str| format!("{w}, spec `{validated}`");
        assert_passes(18, &what("enforced"), &check(p.path(), &dir, None));
        // NOT VALID is what `validated: false` allows, and what the default refuses.
        let not_valid = "ALTER TABLE child DROP CONSTRAINT child_qty_check;
ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0) NOT VALID;";
        let run = check(p.path(), &dir, Some(not_valid));
        if validated.is_empty() {
            let f = assert_fails_only(
                18,
                &what("NOT VALID"),
                &run,
                "check.validated",
                "child.child_qty_check",
            );
            assert!(
                f["actual"].as_str().unwrap().starts_with("NOT VALID"),
                "{f}"
            );
        } else {
            assert_passes(18, &what("NOT VALID"), &run);
        }
        for (drift, code, validity, object, hint) in [
            (
                FK_NOT_ENFORCED,
                "fk.enforcement",
                "fk.validated",
                "child.child_parent_fk",
                "ALTER CONSTRAINT … ENFORCED",
            ),
            (
                CHECK_NOT_ENFORCED,
                "check.enforcement",
                "check.validated",
                "child.child_qty_check",
                "without NOT ENFORCED",
            ),
        ] {
            let run = check(p.path(), &dir, Some(drift));
            let f = assert_fails_only(18, &what(drift), &run, code, object);
            assert!(
                f["actual"].as_str().unwrap().starts_with("NOT ENFORCED"),
                "{f}"
            );
            let h = f["hint"].as_str().unwrap();
            assert!(
                h.contains(hint) && !h.starts_with("run ALTER TABLE … VALIDATE"),
                "{f}"
            );
            // Whether a constraint that checks no row was validated does not apply: a
            // skip that says so, not a second failure.
            let v = finding(&run.1, validity, object);
            assert_eq!(v["status"], "skip", "{v}");
            assert!(v["message"].as_str().unwrap().contains(code), "{v}");
        }
    }
}

/// Both constraints of `child` made NOT ENFORCED after the migrations.
const BOTH_NOT_ENFORCED: &str = "ALTER TABLE child ALTER CONSTRAINT child_parent_fk NOT ENFORCED;
ALTER TABLE child DROP CONSTRAINT child_qty_check;
ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0) NOT ENFORCED;";

#[test]
fn a_constraint_declared_not_enforced_passes_not_enforced_and_fails_enforced_on_18() {
    let Some(dir) = bindir(18) else { return };
    let p = project(
        PARENT_CHILD,
        &[
            ("parent", PARENT_SPEC),
            ("child", &child_spec("enforced: false")),
        ],
    );
    // Declared NOT ENFORCED and NOT ENFORCED: it passes, though PostgreSQL marks both
    // constraints not validated.
    let run = check(p.path(), &dir, Some(BOTH_NOT_ENFORCED));
    assert_passes(18, "declared NOT ENFORCED, NOT ENFORCED", &run);
    for (code, object) in [
        ("fk.enforcement", "child.child_parent_fk"),
        ("check.enforcement", "child.child_qty_check"),
    ] {
        let f = finding(&run.1, code, object);
        assert_eq!(f["status"], "pass", "{f}");
        assert_eq!(f["expected"], "NOT ENFORCED", "{f}");
        assert_eq!(f["actual"], "NOT ENFORCED", "{f}");
    }
    // Declared NOT ENFORCED, and the migrations left them enforced: a difference.
    let run = check(p.path(), &dir, None);
    assert_fails_exactly(
        18,
        "declared NOT ENFORCED, enforced",
        &run,
        &[
            "fk.enforcement child.child_parent_fk",
            "check.enforcement child.child_qty_check",
        ],
    );
    for (code, object, hint) in [
        (
            "fk.enforcement",
            "child.child_parent_fk",
            "ALTER CONSTRAINT … NOT ENFORCED",
        ),
        (
            "check.enforcement",
            "child.child_qty_check",
            "add it again NOT ENFORCED",
        ),
    ] {
        let f = finding(&run.1, code, object);
        assert_eq!(f["expected"], "NOT ENFORCED", "{f}");
        assert_eq!(f["actual"], "ENFORCED", "{f}");
        assert!(
            f["message"].as_str().unwrap().contains("is enforced"),
            "{f}"
        );
        let h = f["hint"].as_str().unwrap();
        assert!(h.contains(hint) && h.contains("enforced: false"), "{f}");
    }
    // Only one of the two made NOT ENFORCED: the other fails alone.
    let run = check(p.path(), &dir, Some(FK_NOT_ENFORCED));
    assert_fails_exactly(
        18,
        "declared NOT ENFORCED, the key NOT ENFORCED, the CHECK enforced",
        &run,
        &["check.enforcement child.child_qty_check"],
    );
}

#[test]
fn a_check_declared_not_enforced_is_not_probed_on_18() {
    let Some(dir) = bindir(18) else { return };
    // With sample rows, the probes try values on both sides of `qty > 0`; a NOT ENFORCED
    // CHECK accepts them all, and a spec that says so must not fail for it.
    let spec = format!(
        "{}samples:\n  - {{ id: 1, qty: 5 }}\n",
        child_spec("enforced: false")
    );
    let p = project(PARENT_CHILD, &[("parent", PARENT_SPEC), ("child", &spec)]);
    let run = check_with(p.path(), &dir, Some(BOTH_NOT_ENFORCED), &[]);
    assert_passes(18, "declared NOT ENFORCED, probed", &run);
    let f = finding(&run.1, "probe.check", "child.child_qty_check");
    assert_eq!(f["status"], "skip", "{f}");
    assert!(
        f["message"].as_str().unwrap().contains("NOT ENFORCED"),
        "{f}"
    );
    // The same CHECK enforced, and declared so, is probed and passes.
    let enforced = format!("{}samples:\n  - {{ id: 1, qty: 5 }}\n", child_spec(""));
    let p = project(
        PARENT_CHILD,
        &[("parent", PARENT_SPEC), ("child", &enforced)],
    );
    let run = check_with(p.path(), &dir, None, &[]);
    assert_passes(18, "enforced, probed", &run);
    let f = finding(&run.1, "probe.check", "child.child_qty_check");
    assert_eq!(f["status"], "pass", "{f}");
}

#[test]
fn spec_snapshot_writes_enforced_false_and_round_trips_on_18() {
    let Some(dir) = bindir(18) else { return };
    let migration = format!("{PARENT_CHILD}\n{BOTH_NOT_ENFORCED}");
    let p = project(&migration, &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let snap = snapshot(p.path(), &dir, out_dir.path());
    assert_eq!(snap.status.code(), Some(0), "{}", text(&snap));
    let child = std::fs::read_to_string(out_dir.path().join("child.yaml")).unwrap();
    assert_eq!(child.matches("enforced: false").count(), 2, "{child}");
    // PostgreSQL marks a NOT ENFORCED constraint not validated; the snapshot does not
    // write that, `enforced: false` says it.
    assert!(!child.contains("validated"), "{child}");
    for stem in ["parent", "child"] {
        let yaml = std::fs::read_to_string(out_dir.path().join(format!("{stem}.yaml"))).unwrap();
        std::fs::write(p.path().join(format!("specs/{stem}.yaml")), yaml).unwrap();
    }
    assert_passes(
        18,
        "the snapshot of NOT ENFORCED constraints",
        &check(p.path(), &dir, None),
    );
}

#[test]
fn enforced_constraints_pass_before_18() {
    for major in [13, 15] {
        let Some(dir) = bindir(major) else { continue };
        for validated in ["", "validated: false"] {
            let p = project(
                PARENT_CHILD,
                &[("parent", PARENT_SPEC), ("child", &child_spec(validated))],
            );
            assert_passes(major, validated, &check(p.path(), &dir, None));
        }
    }
}

#[test]
fn a_spec_declaring_not_enforced_fails_before_18_saying_why() {
    for major in [13, 15] {
        let Some(dir) = bindir(major) else { continue };
        // The spec compiles in the shadow of this major (an error would be exit 2), and
        // the verdict is a finding: the server enforces what the spec calls informational.
        let p = project(
            PARENT_CHILD,
            &[
                ("parent", PARENT_SPEC),
                ("child", &child_spec("enforced: false")),
            ],
        );
        let run = check(p.path(), &dir, None);
        assert_fails_exactly(
            major,
            "declared NOT ENFORCED",
            &run,
            &[
                "fk.enforcement child.child_parent_fk",
                "check.enforcement child.child_qty_check",
            ],
        );
        for (code, object) in [
            ("fk.enforcement", "child.child_parent_fk"),
            ("check.enforcement", "child.child_qty_check"),
        ] {
            let f = finding(&run.1, code, object);
            let message = f["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("PostgreSQL {major} cannot make")),
                "{f}"
            );
            assert!(
                f["actual"].as_str().unwrap().contains("PostgreSQL 18"),
                "{f}"
            );
        }
    }
}

const CODES: &str = "CREATE DOMAIN code AS text NOT NULL;
CREATE TABLE codes (id integer PRIMARY KEY, c code);";

const CODES_SCHEMA: &str = "schema: public
types:
  code: { domain: text, nullable: false }
";

const CODES_SPEC: &str = "table: codes
columns:
  id: { type: integer, nullable: false }
  c:  { type: code }
primary_key: { columns: [id] }
privileges: { owner: $migrator, public: [] }
row_security: { enabled: false }
";

/// PostgreSQL 18 refuses a domain's NOT NULL added `NOT VALID` in every spelling, so a
/// domain's NOT NULL always holds for the values stored: a `nullable: false` domain passes
/// there, and one whose NOT NULL is dropped fails `type.nullable`. Should a later major
/// accept the form, this test fails on its refusal and says so.
#[test]
fn a_domains_not_null_cannot_be_added_not_valid_on_18() {
    let Some(dir) = bindir(18) else { return };
    let p = project(
        CODES,
        &[("_schema.public", CODES_SCHEMA), ("codes", CODES_SPEC)],
    );
    assert_passes(18, "domain NOT NULL", &check(p.path(), &dir, None));
    let dropped = "ALTER DOMAIN code DROP NOT NULL;";
    assert_fails_only(
        18,
        "domain NOT NULL dropped",
        &check(p.path(), &dir, Some(dropped)),
        "type.nullable",
        "code",
    );
    for not_valid in [
        "ALTER DOMAIN code DROP NOT NULL;
INSERT INTO codes VALUES (1, NULL);
ALTER DOMAIN code ADD CONSTRAINT code_nn NOT NULL NOT VALID;",
        "ALTER DOMAIN code DROP NOT NULL;
ALTER DOMAIN code ADD NOT NULL NOT VALID;",
    ] {
        // The drift file is refused: the run ends in an error (exit 3), no verdict.
        let out = check_output(p.path(), &dir, Some(not_valid), &["--no-probe"]);
        assert_eq!(
            out.status.code(),
            Some(3),
            "PostgreSQL 18 took `{not_valid}`: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("NOT NULL constraints cannot be marked NOT VALID"),
            "{}",
            text(&out)
        );
    }
}

/// A domain's NOT NULL that is not validated, which no PostgreSQL up to 18 lets DDL make,
/// put in the catalog by hand on 18 (where a domain's NOT NULL has a `pg_constraint` row):
/// `type.nullable` fails it, as `column.nullable` fails a column's, and names the
/// constraint to validate.
#[test]
fn a_domains_not_null_left_not_valid_fails_type_nullable_on_18() {
    let Some(dir) = bindir(18) else { return };
    let p = project(
        CODES,
        &[("_schema.public", CODES_SCHEMA), ("codes", CODES_SPEC)],
    );
    let unvalidated = "ALTER DOMAIN code DROP NOT NULL;
ALTER DOMAIN code ADD CONSTRAINT code_nn NOT NULL;
UPDATE pg_constraint SET convalidated = false
 WHERE contypid = 'code'::regtype AND contype = 'n';";
    let run = check(p.path(), &dir, Some(unvalidated));
    let f = assert_fails_only(
        18,
        "domain NOT NULL not validated",
        &run,
        "type.nullable",
        "code",
    );
    assert_eq!(
        f["actual"],
        "NOT NULL NOT VALID (existing values were never checked)"
    );
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("ALTER DOMAIN … VALIDATE CONSTRAINT \"code_nn\""),
        "{f}"
    );
}

#[test]
fn a_not_null_domain_passes_before_18() {
    for major in [13, 15] {
        let Some(dir) = bindir(major) else { continue };
        let p = project(
            CODES,
            &[("_schema.public", CODES_SCHEMA), ("codes", CODES_SPEC)],
        );
        assert_passes(major, "domain NOT NULL", &check(p.path(), &dir, None));
        assert_fails_only(
            major,
            "domain NOT NULL dropped",
            &check(p.path(), &dir, Some("ALTER DOMAIN code DROP NOT NULL;")),
            "type.nullable",
            "code",
        );
    }
}

/// `spec snapshot` of `project`'s migrations on the throw-away server of `bindir`, into
/// `out`.
fn snapshot(project: &Path, bindir: &Path, out: &Path) -> std::process::Output {
    reims_command(&["spec", "snapshot", "--out"])
        .arg(out)
        .arg("--pg-bindir")
        .arg(bindir)
        .arg("--migrations")
        .arg(project.join("migrations"))
        .env_remove("REIMS_VERIFY_PG_BINDIR")
        .output()
        .unwrap()
}
