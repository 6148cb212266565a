//! Backslashes in strings on a database that reads them the old way
//! (`standard_conforming_strings` off, set for the database by a migration): the values the
//! engine writes into SQL (sample rows, generated cases) and what the catalog read prints
//! must mean what they mean on any other database.

mod common;

use common::*;

const TABLE: &str = "CREATE TABLE paths (\n  id int PRIMARY KEY,\n  win_path text NOT NULL DEFAULT 'C:\\temp' CHECK (position(E'\\\\' IN win_path) > 0)\n);\n";

/// The database's sessions read `'C:\temp'` as `C:<tab>emp` from here on; and every other
/// session on it ends, so the run's catalog read opens a new one, which does too.
const LEGACY: &str = "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$;\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database();\n";

const SPEC: &str = r#"table: paths
migration: 001_paths.sql
columns:
  id:       { type: integer, nullable: false }
  win_path: { type: text, nullable: false, default: "'C:\\temp'" }
primary_key: { columns: [id] }
checks:
  paths_win_path_check:
    rule: { sql: "position(E'\\\\' IN win_path) > 0" }
privileges: { owner: $migrator, public: [] }
row_security: { enabled: false }
samples:
  - { id: 1, win_path: 'C:\temp' }
  - { id: 2, win_path: 'D:\data\new' }
"#;

/// The whole server reads them so, the sessions already open included: the shadow, built
/// after the migrations on the run's own server, reads the spec's SQL on such sessions.
const LEGACY_SERVER: &str = "-- no-transaction\nALTER SYSTEM SET standard_conforming_strings = off;\nSELECT pg_reload_conf();\n";

/// A partitioned table: its specs are built into the shadow on one session, not two.
const PARTITIONED: &str =
    "CREATE TABLE events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);\n";

const PARTITIONED_SPEC: &str = "table: events\nmigration: 001_paths.sql\nkind: partitioned_table\npartition_by: RANGE (at)\ncolumns:\n  id: { type: integer, nullable: false }\n  at: { type: date, nullable: false }\nprivileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n";

/// A project folder with `migrations` and `specs` (file name, text), REIMS's spec of
/// `schema_migrations` among the specs; `check` with `args`, then `--migrations` and
/// `--specs` of that folder, without a cache: exit code, then stdout and stderr.
fn check_project(
    args: &[&str],
    migrations: &[(&str, String)],
    specs: &[(&str, &str)],
) -> (Option<i32>, String) {
    let dir = project_folder(migrations, specs);
    let (migration_folder, spec_folder) = (dir.path().join("migrations"), dir.path().join("specs"));
    run_uncached(
        reims_command(args)
            .arg("--migrations")
            .arg(&migration_folder)
            .arg("--specs")
            .arg(&spec_folder),
    )
}

/// `check --seed 7` with probes, with `legacy` as a second migration and, if `partitioned`,
/// a partitioned table beside. The shadow is built after the migrations, on the run's
/// server.
fn check(legacy: Option<&str>, partitioned: bool) -> (Option<i32>, String) {
    let mut migrations = vec![(
        "001_paths.sql",
        if partitioned {
            format!("{TABLE}{PARTITIONED}")
        } else {
            TABLE.to_string()
        },
    )];
    if let Some(legacy) = legacy {
        migrations.push(("002_legacy_strings.sql", legacy.to_string()));
    }
    let mut specs = vec![("paths.yaml", SPEC)];
    if partitioned {
        specs.push(("events.yaml", PARTITIONED_SPEC));
    }
    check_project(
        &["check", "--seed", "7", "--no-report"],
        &migrations,
        &specs,
    )
}

#[test]
fn backslashes_mean_the_same_on_a_database_that_reads_them_the_old_way() {
    // The spec holds on a database as PostgreSQL sets it by default.
    let (code, out) = check(None, false);
    assert_eq!(code, Some(0), "{out}");
    // And on one whose sessions read backslashes as escapes: the sample rows are inserted
    // as the spec writes them (a plain 'C:\temp' would be C:<tab>emp there, and the CHECK
    // would refuse it), and the default is printed as the shadow prints it; on a server
    // read so, the shadow reads the spec's SQL as written too.
    // The shadow's build on two sessions, and (specs with partitions) on one.
    for (legacy, partitioned) in [
        (LEGACY, false),
        (LEGACY_SERVER, false),
        (LEGACY_SERVER, true),
    ] {
        let (code, out) = check(Some(legacy), partitioned);
        assert_eq!(
            code,
            Some(0),
            "{legacy} (partitioned: {partitioned})\n{out}"
        );
        assert!(out.contains("PASS"), "{out}");
    }
}

#[test]
fn a_tab_and_a_backslash_t_are_told_apart_in_a_failure() {
    // The database holds a tab where the spec writes a backslash and a t. The terminal shows
    // both as \t; the failure must still say which is which.
    let (code, out) = check_project(
        &["check", "--no-probe", "--no-report"],
        &[(
            "001_paths.sql",
            "CREATE TABLE paths (id int PRIMARY KEY, win_path text NOT NULL DEFAULT E'C:\\temp');\n".into(),
        )],
        &[(
            "paths.yaml",
            "table: paths\ncolumns:\n  id: { type: integer, nullable: false }\n  win_path: { type: text, nullable: false, default: \"'C:\\\\temp'\" }\nprimary_key: { columns: [id] }\nprivileges: { owner: $migrator, public: [] }\nrow_security: { enabled: false }\n",
        )],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL column.default  paths.win_path")
            && out.contains(r#"escaped, expected "'C:\\temp'", actual "'C:\temp'""#),
        "{out}"
    );
}
