//! The gate's benchmark: whole-process `check` beside the measured floor (bare initdb,
//! server start, `psql -f` of every migration, stop), introspection and verification at
//! 10 … 5,000 tables, the same structural assertions in pgTAP, and probe throughput.
//!
//! Run it with `bash bench/run.sh` (installs pgTAP, builds in release mode, writes
//! `bench/RESULTS.md`). Every number is the median of at least five runs, with min and max.
//! Targets live in the results, never in tests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reims_verify::catalog::read_schema;
use reims_verify::postgres::{ClusterOptions, EphemeralCluster};
use reims_verify::probe::{constraint_probes, ProbeConfig};
use reims_verify::spec::{load_dir, load_str, LoadedSpec, SpecSet};
use reims_verify::verify::{build_shadow, verify};
use sqlx::Connection;

struct Stats {
    median: f64,
    min: f64,
    max: f64,
    runs: usize,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        median: ms[ms.len() / 2],
        min: ms[0],
        max: ms[ms.len() - 1],
        runs: ms.len(),
    }
}

fn fmt(s: &Stats) -> String {
    format!(
        "{:.0} ms ({:.0}–{:.0}, n={})",
        s.median, s.min, s.max, s.runs
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Args {
    runs: usize,
    sizes: Vec<usize>,
    out: PathBuf,
    pgtap: bool,
}

fn args() -> Args {
    let mut a = Args {
        runs: 5,
        sizes: vec![10, 100, 1000, 5000],
        out: PathBuf::from("bench/RESULTS.md"),
        pgtap: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(5).max(5),
            "--sizes" => {
                a.sizes = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|v| v.parse().ok())
                    .collect()
            }
            "--out" => a.out = PathBuf::from(it.next().unwrap_or_default()),
            "--no-pgtap" => a.pgtap = false,
            _ => {}
        }
    }
    a
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    root().join("target/release/reims-verify")
}

/// The server's binaries and, when root, the OS user that must run them.
fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let u = nix::unistd::User::from_name("postgres").ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw()))
}

fn as_server_user(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((u, g)) = server_user() {
        cmd.uid(u).gid(g);
    }
    cmd
}

fn bindir() -> PathBuf {
    reims_verify::postgres::find_bindir(None)
        .expect("PostgreSQL server binaries")
        .path
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The floor: bare initdb, server start, psql -f of every migration, stop.
fn floor(runs: usize) -> [(&'static str, Stats); 5] {
    let bin = bindir();
    let (mut initdb, mut start, mut psql, mut stop, mut total) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut migrations: Vec<PathBuf> = std::fs::read_dir(root().join("migrations"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    migrations.sort();
    for _ in 0..runs {
        let dir = tempfile::Builder::new()
            .prefix("reims-bench-")
            .tempdir_in("/dev/shm")
            .unwrap();
        if let Some((u, g)) = server_user() {
            nix::unistd::chown(dir.path(), Some(u.into()), Some(g.into())).unwrap();
        }
        let data = dir.path().join("data");
        let t0 = Instant::now();
        run_ok(as_server_user(
            Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]),
        ));
        let t1 = Instant::now();
        run_ok(as_server_user(
            Command::new(bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(format!(
                    "-k {} -c listen_addresses= -c fsync=off",
                    dir.path().display()
                ))
                .arg("-l")
                .arg(dir.path().join("log"))
                .args(["-w", "start"]),
        ));
        let t2 = Instant::now();
        for m in &migrations {
            run_ok(
                Command::new("psql")
                    .args([
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-h",
                    ])
                    .arg(dir.path())
                    .arg("-f")
                    .arg(m),
            );
        }
        let t3 = Instant::now();
        run_ok(as_server_user(
            Command::new(bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "stop"]),
        ));
        let t4 = Instant::now();
        initdb.push(ms(t1 - t0));
        start.push(ms(t2 - t1));
        psql.push(ms(t3 - t2));
        stop.push(ms(t4 - t3));
        total.push(ms(t4 - t0));
    }
    [
        ("initdb", stats(initdb)),
        ("server start", stats(start)),
        ("psql -f migrations", stats(psql)),
        ("stop", stats(stop)),
        ("floor total", stats(total)),
    ]
}

/// Whole-process `check`, cold (no initdb cache) or warm, with its own phase breakdown.
fn gate(runs: usize, warm: bool, probes: bool) -> (Stats, Vec<(String, Stats)>) {
    let cache = tempfile::tempdir().unwrap();
    let mut walls = Vec::new();
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    let report = tempfile::tempdir().unwrap();
    let one = |record: bool, walls: &mut Vec<f64>, phases: &mut Vec<(String, Vec<f64>)>| {
        let mut cmd = Command::new(bin());
        cmd.current_dir(root())
            .args(["check", "--format", "json", "--seed", "1", "--report"])
            .arg(report.path());
        if !probes {
            cmd.arg("--no-probe");
        }
        cmd.env("REIMS_VERIFY_CACHE_DIR", cache.path());
        if !warm {
            cmd.env("REIMS_VERIFY_NO_CACHE", "1");
        }
        let t = Instant::now();
        let out = cmd.output().unwrap();
        let wall = ms(t.elapsed());
        assert!(
            out.status.code() == Some(0),
            "check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !record {
            return;
        }
        walls.push(wall);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for p in v["phases"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap().to_string();
            let val = p["millis"].as_f64().unwrap();
            match phases.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(val),
                None => phases.push((name, vec![val])),
            }
        }
    };
    if warm {
        one(false, &mut walls, &mut phases); // fill the cache
    }
    for _ in 0..runs {
        one(true, &mut walls, &mut phases);
    }
    (
        stats(walls),
        phases.into_iter().map(|(n, v)| (n, stats(v))).collect(),
    )
}

/// DDL and a matching spec for one synthetic table: 20 columns, 4 indexes, 3 checks,
/// 1 trigger.
fn synthetic_table(i: usize) -> (String, String) {
    let t = format!("t{i:05}");
    let mut cols = vec!["id bigint PRIMARY KEY".to_string()];
    let mut spec_cols = vec!["  id: { type: bigint, nullable: false }".to_string()];
    for c in 1..20 {
        let (ty, spec_ty) = match c % 4 {
            0 => ("text", "text"),
            1 => ("integer", "integer"),
            2 => ("numeric(12,2)", "numeric(12,2)"),
            _ => ("timestamptz", "timestamptz"),
        };
        cols.push(format!("c{c} {ty}"));
        spec_cols.push(format!("  c{c}: {{ type: \"{spec_ty}\" }}"));
    }
    let ddl = format!(
        "CREATE TABLE {t} ({cols});
         ALTER TABLE {t} ADD CONSTRAINT {t}_c1_check CHECK (c1 >= 0 AND c1 <= 1000),
                         ADD CONSTRAINT {t}_c2_check CHECK (c2 > 0),
                         ADD CONSTRAINT {t}_c4_check CHECK (length(c4) > 0);
         CREATE INDEX {t}_c1 ON {t} (c1);
         CREATE INDEX {t}_c3 ON {t} (c3 DESC);
         CREATE INDEX {t}_c4 ON {t} (lower(c4));
         CREATE INDEX {t}_c5 ON {t} (c5) WHERE c5 IS NOT NULL;
         CREATE TRIGGER {t}_touch BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION bench_touch();",
        cols = cols.join(", ")
    );
    let spec = format!(
        "table: {t}\ncolumns:\n{}\nprimary_key: {{ columns: [id] }}\nchecks:\n  {t}_c1_check: {{ rule: {{ range: {{ column: c1, gte: 0, lte: 1000 }} }} }}\n  {t}_c2_check: {{ rule: {{ range: {{ column: c2, gt: 0 }} }} }}\n  {t}_c4_check: {{ rule: {{ sql: \"length(c4) > 0\" }} }}\nindexes:\n  {t}_c1: {{ keys: [c1] }}\n  {t}_c3: {{ keys: [c3 DESC] }}\n  {t}_c4: {{ keys: [\"lower(c4)\"] }}\n  {t}_c5: {{ keys: [c5], where: c5 IS NOT NULL }}\ntriggers:\n  {t}_touch: {{ timing: before, events: [update], function: bench_touch }}\n",
        spec_cols.join("\n")
    );
    (ddl, spec)
}

const TOUCH_FN: &str = "CREATE FUNCTION bench_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;";

struct Scale {
    tables: usize,
    introspect: Stats,
    shadow: Stats,
    verify: Stats,
    failures: usize,
}

async fn scale(cluster: &EphemeralCluster, n: usize, runs: usize) -> Scale {
    let db = format!("scale_{n}");
    cluster.create_database(&db, None).await.unwrap();
    let mut conn = cluster.connect(&db).await.unwrap();
    sqlx::raw_sql(TOUCH_FN).execute(&mut conn).await.unwrap();
    let mut specs = SpecSet::default();
    let mut batch = String::new();
    for i in 0..n {
        let (ddl, spec) = synthetic_table(i);
        batch.push_str(&ddl);
        if batch.len() > 200_000 {
            sqlx::raw_sql(&batch).execute(&mut conn).await.unwrap();
            batch.clear();
        }
        specs
            .specs
            .push(load_str(Path::new(&format!("synthetic/t{i:05}.yaml")), &spec).unwrap());
    }
    if !batch.is_empty() {
        sqlx::raw_sql(&batch).execute(&mut conn).await.unwrap();
    }
    let mut spec_fn = specs.specs[0].clone();
    spec_fn.spec.functions.insert(
        "bench_touch()".into(),
        serde_saphyr::from_str("{ returns: trigger, language: plpgsql, volatility: volatile }")
            .unwrap(),
    );
    specs.specs[0] = spec_fn;
    sqlx::raw_sql("VACUUM ANALYZE")
        .execute(&mut conn)
        .await
        .unwrap();
    let (mut intro, mut shad, mut ver) = (vec![], vec![], vec![]);
    let shadow_db = format!("shadow_{n}");
    cluster.create_database(&shadow_db, None).await.unwrap();
    let mut shadow_conn = cluster.connect(&shadow_db).await.unwrap();
    sqlx::raw_sql(TOUCH_FN)
        .execute(&mut shadow_conn)
        .await
        .unwrap();
    let mut failures = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let schema = read_schema(&mut conn, "public").await.unwrap();
        intro.push(ms(t.elapsed()));
        let t = Instant::now();
        let shadow = build_shadow(&mut shadow_conn, &specs).await.unwrap();
        shad.push(ms(t.elapsed()));
        let t = Instant::now();
        let findings = verify(&specs, &schema, &shadow);
        ver.push(ms(t.elapsed()));
        failures = findings.iter().filter(|f| f.failed()).count();
    }
    let _ = conn.close().await;
    let _ = shadow_conn.close().await;
    Scale {
        tables: n,
        introspect: stats(intro),
        shadow: stats(shad),
        verify: stats(ver),
        failures,
    }
}

/// pgTAP assertions equivalent to the structural spec checks.
fn pgtap_script(specs: &[LoadedSpec]) -> (String, usize) {
    use reims_verify::spec::{parse_signature, Volatility};
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut tests = Vec::new();
    for l in specs {
        let s = &l.spec;
        let t = q(&s.table);
        if s.kind == reims_verify::spec::RelationKind::MaterializedView {
            tests.push(format!("has_materialized_view({t})"));
        } else {
            tests.push(format!("has_table({t})"));
        }
        for (c, col) in &s.columns {
            let c = q(c);
            tests.push(format!("has_column({t}, {c})"));
            let ty = if col.type_ == "serial" {
                "integer".to_string()
            } else {
                col.type_.clone()
            };
            tests.push(format!("col_type_is({t}, {c}, {})", q(&ty)));
            tests.push(if col.nullable {
                format!("col_is_null({t}, {c})")
            } else {
                format!("col_not_null({t}, {c})")
            });
            if col.default.is_some() {
                tests.push(format!("col_has_default({t}, {c})"));
            }
        }
        for (name, idx) in &s.indexes {
            let n = q(name);
            tests.push(format!("has_index({t}, {n})"));
            if idx.unique {
                tests.push(format!("index_is_unique({t}, {n})"));
            }
            tests.push(format!(
                "index_is_type({t}, {n}, {})",
                q(idx.method.am_name())
            ));
        }
        if !s.checks.is_empty() {
            tests.push(format!("has_check({t})"));
        }
        for fk in s.foreign_keys.values() {
            let cols: Vec<String> = fk.columns.iter().map(|c| q(c)).collect();
            let refs: Vec<String> = fk.references.columns.iter().map(|c| q(c)).collect();
            tests.push(format!(
                "fk_ok({t}, ARRAY[{}]::name[], {}, ARRAY[{}]::name[])",
                cols.join(", "),
                q(&fk.references.table),
                refs.join(", ")
            ));
        }
        for (name, tr) in &s.triggers {
            tests.push(format!("has_trigger({t}, {})", q(name)));
            tests.push(format!("trigger_is({t}, {}, {})", q(name), q(&tr.function)));
        }
        for (sig, f) in &s.functions {
            let (name, args) = parse_signature(sig).unwrap();
            let args: Vec<String> = args.iter().map(|a| q(a)).collect();
            let arr = format!("ARRAY[{}]::name[]", args.join(", "));
            tests.push(format!("has_function({}, {arr})", q(&name)));
            if !f.returns.to_ascii_uppercase().starts_with("TABLE") {
                tests.push(format!(
                    "function_returns({}, {arr}, {})",
                    q(&name),
                    q(&f.returns)
                ));
            }
            let v = match f.volatility {
                Volatility::Immutable => "immutable",
                Volatility::Stable => "stable",
                Volatility::Volatile => "volatile",
            };
            tests.push(format!("volatility_is({}, {arr}, {})", q(&name), q(v)));
        }
    }
    let n = tests.len();
    let body: String = tests.iter().map(|t| format!("SELECT {t};\n")).collect();
    (
        format!("BEGIN;\nSELECT plan({n});\n{body}SELECT * FROM finish();\nROLLBACK;\n"),
        n,
    )
}

fn main() {
    let a = args();
    assert!(bin().exists(), "build first: cargo build --release");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut md = String::new();
    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let pg = bindir();
    let _ = writeln!(md, "# reims-verify benchmark results\n");
    let _ = writeln!(
        md,
        "Measured {} on {} ({} cores), PostgreSQL binaries in `{}`. Each figure: median (min–max, n runs). Produced by `bash bench/run.sh`; numbers from shared, noisy machines vary by ±20 %.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        host,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        pg.display()
    );

    eprintln!("floor …");
    let fl = floor(a.runs);
    eprintln!("gate …");
    let (cold, cold_phases) = gate(a.runs, false, false);
    let (warm, warm_phases) = gate(a.runs, true, false);
    let (full, full_phases) = gate(a.runs, true, true);
    let floor_total = fl[4].1.median;
    let _ = writeln!(md, "## 1. The full gate beside the floor\n");
    let _ = writeln!(md, "| measurement | time |\n|---|---|");
    for (name, s) in &fl {
        let _ = writeln!(md, "| floor: {name} | {} |", fmt(s));
    }
    let _ = writeln!(
        md,
        "| `check --no-probe`, cold (initdb every run) | {} |",
        fmt(&cold)
    );
    let _ = writeln!(
        md,
        "| `check --no-probe`, warm (initdb cache) | {} |",
        fmt(&warm)
    );
    let _ = writeln!(
        md,
        "| `check` with probes (default), warm | {} |",
        fmt(&full)
    );
    let _ = writeln!(
        md,
        "\nRatio to the floor: cold {:.2}×, warm {:.2}× (target ≤ 3×); with probes {:.2}×.\n",
        cold.median / floor_total,
        warm.median / floor_total,
        full.median / floor_total
    );
    for (label, phases) in [
        ("cold, structure only", &cold_phases),
        ("warm, structure only", &warm_phases),
        ("warm, with probes", &full_phases),
    ] {
        let _ = writeln!(md, "Phases ({label}):\n\n| phase | time |\n|---|---|");
        for (n, s) in phases {
            let _ = writeln!(md, "| {n} | {} |", fmt(s));
        }
        let _ = writeln!(md);
    }

    eprintln!("scale …");
    let cluster = rt
        .block_on(EphemeralCluster::start(&ClusterOptions::default()))
        .unwrap();
    let _ = writeln!(md, "## 2. Introspection and verification at scale\n");
    let _ = writeln!(
        md,
        "Synthetic tables of 20 columns, 4 indexes, 3 CHECKs and 1 trigger each.\n"
    );
    let _ = writeln!(md, "| tables | introspection | shadow (specs compiled by PostgreSQL) | verify | introspection + verify | per table | failures |\n|---|---|---|---|---|---|---|");
    let mut per_table = Vec::new();
    for &n in &a.sizes {
        eprintln!("  {n} tables");
        let runs = if n >= 5000 { 5 } else { a.runs };
        let s = rt.block_on(scale(&cluster, n, runs));
        let iv = s.introspect.median + s.verify.median;
        per_table.push((n, iv / n as f64));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} ms | {:.3} ms | {} |",
            s.tables,
            fmt(&s.introspect),
            fmt(&s.shadow),
            fmt(&s.verify),
            iv,
            iv / s.tables as f64,
            s.failures
        );
    }
    let _ = writeln!(
        md,
        "\nGrowth: the per-table cost stays flat when the time is linear ({}).\n",
        per_table
            .iter()
            .map(|(n, p)| format!("{n}: {p:.3} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // pgTAP and probes on the migrated REIMS schema.
    let specs = load_dir(&root().join("specs")).unwrap();
    rt.block_on(async {
        cluster.create_database("reims", None).await.unwrap();
        let mut conn = cluster.connect("reims").await.unwrap();
        let files = reims_verify::migrate::discover(&root().join("migrations")).unwrap();
        reims_verify::migrate::apply(&cluster.connect_options("reims"), &files, &reims_verify::migrate::ApplyMode::All, &reims_verify::migrate::ApplyOptions::default()).await.map_err(|e| e.to_string()).unwrap();
        cluster.create_database("reims_shadow", None).await.unwrap();
        let mut shadow_conn = cluster.connect("reims_shadow").await.unwrap();
        let mut ours = Vec::new();
        let mut checks = 0;
        for _ in 0..a.runs {
            let t = Instant::now();
            let schema = read_schema(&mut conn, "public").await.unwrap();
            let shadow = build_shadow(&mut shadow_conn, &specs).await.unwrap();
            let f = verify(&specs, &schema, &shadow);
            ours.push(ms(t.elapsed()));
            checks = f.len();
        }
        let ours = stats(ours);
        let _ = writeln!(md, "## 3. Side by side with pgTAP\n");
        if a.pgtap && sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pgtap").execute(&mut conn).await.is_ok() {
            let (script, n) = pgtap_script(&specs.specs);
            let path = std::env::temp_dir().join("reims-verify-pgtap.sql");
            std::fs::write(&path, &script).unwrap();
            let mut tap = Vec::new();
            let mut not_ok = 0;
            for _ in 0..a.runs {
                let t = Instant::now();
                let out = Command::new("psql")
                    .args(["-X", "-q", "-U", "postgres", "-d", "reims", "-h"])
                    .arg(cluster.dir())
                    .arg("-f")
                    .arg(&path)
                    .output()
                    .unwrap();
                tap.push(ms(t.elapsed()));
                not_ok = String::from_utf8_lossy(&out.stdout).matches("not ok").count();
            }
            let tap = stats(tap);
            let _ = writeln!(md, "| | assertions | time |\n|---|---|---|");
            let _ = writeln!(md, "| reims-verify: introspection + shadow + verify | {checks} findings | {} |", fmt(&ours));
            let _ = writeln!(md, "| pgTAP (`psql -f`, {n} assertions, {not_ok} not ok) | {n} | {} |", fmt(&tap));
            let _ = writeln!(md, "\npgTAP / reims-verify: {:.1}× (target ≥ 20×). Per assertion: reims-verify {:.3} ms, pgTAP {:.3} ms.\n", tap.median / ours.median, ours.median / checks as f64, tap.median / n as f64);
        } else {
            let _ = writeln!(md, "pgTAP is not installed (`apt-get install postgresql-15-pgtap`); skipped. reims-verify structural check: {} for {checks} findings.\n", fmt(&ours));
        }

        // Probe throughput.
        let mut rates = Vec::new();
        let mut cases_total = 0usize;
        for run in 0..a.runs {
            let schema = read_schema(&mut conn, "public").await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            let t = Instant::now();
            let findings = constraint_probes(&mut tx, &specs, &schema, &ProbeConfig { cases: 500, seed: run as u64 }).await.unwrap();
            let took = t.elapsed();
            tx.rollback().await.unwrap();
            let cases: usize = findings
                .iter()
                .filter(|f| f.code == "probe.check")
                .filter_map(|f| f.message.split_whitespace().next()?.parse::<usize>().ok())
                .sum();
            cases_total = cases;
            rates.push(cases as f64 / took.as_secs_f64());
        }
        rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let _ = writeln!(md, "## 4. Probe throughput\n");
        let _ = writeln!(
            md,
            "Constraint probes, 500 random cases per CHECK plus boundaries ({cases_total} cases per run, counted from passing findings): median {:.0} cases/s (min {:.0}, max {:.0}, n={}) (target ≥ 5,000).\n",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            rates.len()
        );
    });
    drop(cluster);
    std::fs::create_dir_all(a.out.parent().unwrap_or(Path::new("."))).unwrap();
    std::fs::write(&a.out, &md).unwrap();
    println!("{md}");
    eprintln!("wrote {}", a.out.display());
}
