//! Synthetic schemas of N tables, written as a migrations folder, with their specs made by
//! `reims-verify spec snapshot` (the way a team adopting the tool would make them).
//!
//! Every table has 20 columns (two with defaults), a primary key, 4 indexes (an expression,
//! a partial, a DESC and a GIN one), 3 CHECKs, 1 foreign key to the previous table and 1
//! trigger. The migrations hold 100 tables a file, after one file for the trigger function.
//! Each spec gets one sample row ([`add_samples`]) for the runs with probes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How many tables one migration file creates.
pub const TABLES_PER_FILE: usize = 100;

/// The DDL of table `i`.
pub fn table_ddl(i: usize) -> String {
    let t = format!("t{i:05}");
    let parent = format!("t{:05}", i.saturating_sub(1));
    let mut cols = vec![
        "id bigint PRIMARY KEY".to_string(),
        format!("parent_id bigint REFERENCES {parent} (id) ON DELETE SET NULL"),
        "status text NOT NULL DEFAULT 'new'".to_string(),
        "created_at timestamptz NOT NULL DEFAULT now()".to_string(),
        "tags text[]".to_string(),
    ];
    for c in 1..=15 {
        let ty = match c % 5 {
            1 => "integer",
            2 => "numeric(12,2)",
            3 => "text",
            4 => "timestamptz",
            _ => "boolean",
        };
        cols.push(format!("c{c} {ty}"));
    }
    let mut s = String::new();
    let _ = writeln!(s, "CREATE TABLE {t} (\n  {}\n);", cols.join(",\n  "));
    let _ = writeln!(
        s,
        "ALTER TABLE {t}
  ADD CONSTRAINT {t}_c1_check CHECK (c1 >= 0 AND c1 <= 1000),
  ADD CONSTRAINT {t}_status_check CHECK (status IN ('new', 'open', 'closed')),
  ADD CONSTRAINT {t}_c3_check CHECK (length(c3) > 0);"
    );
    let _ = writeln!(s, "CREATE INDEX {t}_c3_lower ON {t} (lower(c3));");
    let _ = writeln!(
        s,
        "CREATE INDEX {t}_c2_partial ON {t} (c2) WHERE c2 IS NOT NULL;"
    );
    let _ = writeln!(s, "CREATE INDEX {t}_created ON {t} (created_at DESC);");
    let _ = writeln!(s, "CREATE INDEX {t}_tags ON {t} USING gin (tags);");
    let _ = writeln!(
        s,
        "CREATE TRIGGER {t}_touch BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION bench_touch();\n"
    );
    s
}

const TOUCH_FN: &str = "CREATE FUNCTION bench_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := now();
  RETURN NEW;
END
$$;
";

/// Write the migrations of an `n`-table schema into `dir/migrations`.
pub fn write_migrations(dir: &Path, n: usize) -> PathBuf {
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("001_bench_touch.sql"), TOUCH_FN).unwrap();
    let files = n.div_ceil(TABLES_PER_FILE);
    for f in 0..files {
        let mut sql = String::new();
        for i in f * TABLES_PER_FILE..((f + 1) * TABLES_PER_FILE).min(n) {
            sql.push_str(&table_ddl(i));
        }
        std::fs::write(m.join(format!("{:03}_tables_{f:03}.sql", f + 2)), sql).unwrap();
    }
    m
}

/// Specs for the migrations in `migrations`, written by `spec snapshot` into `dir/specs`.
pub fn snapshot_specs(bin: &Path, dir: &Path, migrations: &Path) -> PathBuf {
    let specs = dir.join("specs");
    let out = Command::new(bin)
        .args(["spec", "snapshot", "--out"])
        .arg(&specs)
        .arg("--migrations")
        .arg(migrations)
        .env("REIMS_VERIFY_NO_CACHE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "spec snapshot failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    specs
}

/// Give every table's spec one sample row, so that `check` with probes has rows to vary:
/// each table's row references the previous table's (the first references itself), so
/// every sample row stays while the CHECKs are probed, as in a schema whose tables all
/// hang together.
pub fn add_samples(specs: &Path, n: usize) {
    for i in 0..n {
        let path = specs.join(format!("t{i:05}.yaml"));
        let mut yaml = std::fs::read_to_string(&path).unwrap();
        let _ = write!(
            yaml,
            "\nsamples:\n  - {{ id: 1, parent_id: 1, status: open, c1: 5, c3: abc }}\n"
        );
        std::fs::write(&path, yaml).unwrap();
    }
}
