//! The structural check beside pgTAP on the same database, and probe throughput.
//!
//! One throw-away cluster holds a database per workload, migrated with `psql -1 -f`.
//! Round by round: the structural check through the library as `check` runs it on a
//! throw-away server (the catalog read over two connections beside the shadow's build in a
//! scratch database of the same cluster, then the comparison), then the pgTAP script with
//! `psql -f` on the same database.

use std::process::Command;
use std::time::Instant;

use reims_verify::catalog::{read_schema, read_schemas_on_two};
use reims_verify::postgres::{server_major, ClusterOptions, EphemeralCluster};
use reims_verify::probe::{constraint_probes, ProbeConfig};
use reims_verify::spec::load_dir;
use reims_verify::verify::{
    build_shadow_on_two, cached_shadow, look_up, verify, MoreSessions, SessionFuture, ShadowInputs,
};
use sqlx::Connection;

use crate::floor::{migration_files, psql_file, run_ok};
use crate::{ms, pgtap, Args, Workload};

/// One workload's structural check and pgTAP figures, per round.
pub struct SideBySide {
    pub name: String,
    pub introspection: Vec<f64>,
    pub shadow: Vec<f64>,
    pub verify: Vec<f64>,
    pub total: Vec<f64>,
    /// The same check with the shadow read from the normalised-spec cache.
    pub warm: Vec<f64>,
    pub findings: usize,
    pub failed: usize,
    /// `None` when pgTAP did not run (not installed, or the schema is beyond `--pgtap-max`).
    pub pgtap: Option<PgTap>,
    /// pgTAP asserting every comparison the structural check reports
    /// ([`pgtap::Coverage::Full`]); run when `pgtap` is.
    pub pgtap_full: Option<PgTap>,
    pub pgtap_skipped: Option<String>,
}

pub struct PgTap {
    pub times: Vec<f64>,
    pub assertions: usize,
    pub not_ok: usize,
}

pub fn side_by_side(workloads: &[Workload], a: &Args, runs: usize) -> Vec<SideBySide> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt
        .block_on(EphemeralCluster::start(&ClusterOptions::default()))
        .unwrap();
    let mut out = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        eprintln!("  {}", w.name);
        let db = format!("w{i}");
        let scratch = format!("w{i}_shadow");
        rt.block_on(async {
            cluster.create_database(&db, None).await.unwrap();
            cluster.create_database(&scratch, None).await.unwrap();
        });
        for f in migration_files(&w.migrations) {
            run_ok(&mut psql_file(cluster.dir(), &db, &f));
        }
        let specs = std::sync::Arc::new(load_dir(&w.specs).unwrap());
        let tables = w.tables.unwrap_or(0);
        let pgtap_ok = a.pgtap && tables <= a.pgtap_max && install_pgtap(&cluster, &db);
        let runs = if tables >= 5000 {
            runs.min(a.large_runs)
        } else {
            runs
        };
        let mut s = SideBySide {
            name: w.name.clone(),
            introspection: vec![],
            shadow: vec![],
            verify: vec![],
            total: vec![],
            warm: vec![],
            findings: 0,
            failed: 0,
            pgtap: None,
            pgtap_full: None,
            pgtap_skipped: None,
        };
        let new_tap = || PgTap {
            times: vec![],
            assertions: 0,
            not_ok: 0,
        };
        let (mut tap, mut tap_full) = (new_tap(), new_tap());
        let script_path = tempfile::NamedTempFile::new().unwrap();
        let full_script_path = tempfile::NamedTempFile::new().unwrap();
        let inputs = ShadowInputs {
            specs_dir: Some(w.specs.clone()),
            server_version: cluster.server_version().to_string(),
        };
        // Fill the normalised-spec cache (the bench's own cache folder, set in main).
        rt.block_on(async {
            let mut scratch_conn = cluster.connect(&scratch).await.unwrap();
            let lookup = look_up(specs.clone(), inputs.clone()).await;
            cached_shadow(&mut scratch_conn, &specs, lookup, None, None)
                .await
                .unwrap();
            let _ = scratch_conn.close().await;
        });
        for round in 0..runs {
            let shadow = rt.block_on(async {
                // As `check` runs it on a throw-away server: the catalog read over two
                // connections beside the shadow's build, then the comparison. Each
                // measurement starts from sessions that have read no catalog yet, opened
                // before the timing as `check` opens them before or while the migrations
                // run (see `sessions`).
                // A new database for each round's shadow, made before the timing as
                // `check` makes it while the migrations run: the build commits.
                let round_db = format!("{scratch}_{round}");
                cluster.create_database(&round_db, None).await.unwrap();
                let (mut conn, helper, mut scratch_conn) = sessions(&cluster, &db, &round_db).await;
                let t0 = Instant::now();
                let ((schema, t_read), (shadow, t_shadow)) = tokio::join!(
                    async {
                        let schema = read_on_two(&mut conn, helper).await;
                        (schema, Instant::now())
                    },
                    async {
                        scratch_conn.ping().await.unwrap();
                        let more = more_sessions(&cluster, &round_db);
                        let shadow = build_shadow_on_two(&mut scratch_conn, more, &specs)
                            .await
                            .unwrap();
                        let _ = scratch_conn.close().await;
                        (shadow, Instant::now())
                    }
                );
                let t2 = Instant::now();
                let findings = verify(&specs, &schema, &shadow);
                let t3 = Instant::now();
                s.introspection.push(ms(t_read - t0));
                s.shadow.push(ms(t_shadow - t0));
                s.verify.push(ms(t3 - t2));
                s.total.push(ms(t3 - t0));
                let _ = conn.close().await;
                let (mut conn, helper, mut scratch_conn) = sessions(&cluster, &db, &scratch).await;
                let w0 = Instant::now();
                let (schema, warm_shadow) = tokio::join!(read_on_two(&mut conn, helper), async {
                    scratch_conn.ping().await.unwrap();
                    // The lookup too, inside the timing: `check` hides it behind the
                    // migrations, which this measurement leaves out.
                    let lookup = look_up(specs.clone(), inputs.clone()).await;
                    let shadow = cached_shadow(&mut scratch_conn, &specs, lookup, None, None)
                        .await
                        .unwrap()
                        .0;
                    let _ = scratch_conn.close().await;
                    shadow
                });
                let warm_findings = verify(&specs, &schema, &warm_shadow);
                s.warm.push(ms(w0.elapsed()));
                assert_eq!(warm_findings, findings, "the cache changed the findings");
                s.findings = findings.len();
                s.failed = findings.iter().filter(|f| f.failed()).count();
                let _ = conn.close().await;
                drop_database(&cluster, &round_db).await;
                shadow
            });
            if !pgtap_ok {
                continue;
            }
            for (tap, path, coverage) in [
                (&mut tap, &script_path, pgtap::Coverage::Subset),
                (&mut tap_full, &full_script_path, pgtap::Coverage::Full),
            ] {
                if round == 0 {
                    let (script, n) = pgtap::script(&specs, &shadow, coverage);
                    std::fs::write(
                        path.path(),
                        format!("SET search_path TO public, tap;\n{script}"),
                    )
                    .unwrap();
                    tap.assertions = n;
                }
                run_pgtap(&cluster, &db, path.path(), tap);
            }
        }
        if pgtap_ok {
            s.pgtap = Some(tap);
            s.pgtap_full = Some(tap_full);
        } else {
            s.pgtap_skipped = Some(if !a.pgtap {
                "--no-pgtap".into()
            } else if tables > a.pgtap_max {
                format!("beyond --pgtap-max {}", a.pgtap_max)
            } else {
                "pgTAP is not installed (apt-get install postgresql-15-pgtap)".into()
            });
        }
        rt.block_on(async {
            let mut admin = cluster.connect("postgres").await.unwrap();
            for d in [&db, &scratch] {
                let _ = sqlx::raw_sql(&format!("DROP DATABASE {d}"))
                    .execute(&mut admin)
                    .await;
            }
            let _ = admin.close().await;
        });
        out.push(s);
    }
    out
}

/// A session on `db` as `check`'s first one is when the catalog read starts: it has asked
/// the server's version, and read no catalog yet.
async fn first_session(cluster: &EphemeralCluster, db: &str) -> sqlx::PgConnection {
    let mut conn = cluster.connect(db).await.unwrap();
    server_major(&mut conn).await.unwrap();
    conn
}

/// A second session on `db`, and a new empty database to start again in, as `check` gives
/// the shadow's build.
fn more_sessions<'a>(cluster: &'a EphemeralCluster, db: &'a str) -> MoreSessions<'a> {
    let second: SessionFuture<'a> = Box::pin(cluster.connect(db));
    MoreSessions {
        second,
        fresh: Box::new(move || {
            Box::pin(async move {
                let again = format!("{db}_again");
                cluster.create_database(&again, None).await?;
                cluster.connect(&again).await
            })
        }),
    }
}

async fn drop_database(cluster: &EphemeralCluster, name: &str) {
    let mut c = cluster.connect("postgres").await.unwrap();
    for db in [name.to_string(), format!("{name}_again")] {
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{db}\""))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let _ = c.close().await;
}

/// The sessions `check` has open when the catalog read and the shadow begin: the first
/// session on `db`, which has only asked the server's version; the read's second session;
/// and the shadow's session on `shadow_db`. `check` opens the last two while the
/// migrations run, and asks each whether it is still there before it uses it.
async fn sessions(
    cluster: &EphemeralCluster,
    db: &str,
    shadow_db: &str,
) -> (sqlx::PgConnection, sqlx::PgConnection, sqlx::PgConnection) {
    let conn = first_session(cluster, db).await;
    let helper = cluster.connect(db).await.unwrap();
    let shadow = cluster.connect(shadow_db).await.unwrap();
    (conn, helper, shadow)
}

/// The `public` schema of `db`, read over `conn` and the second session `helper`, as
/// `check` reads a throw-away server's catalog.
async fn read_on_two(
    conn: &mut sqlx::PgConnection,
    helper: sqlx::PgConnection,
) -> reims_verify::catalog::Schema {
    let helper = async {
        let mut helper = helper;
        helper.ping().await.unwrap();
        Ok(helper)
    };
    read_schemas_on_two(conn, helper, &["public".to_string()])
        .await
        .unwrap()
}

/// Run one pgTAP script on `db` and add its time and its count of `not ok` to `tap`.
fn run_pgtap(cluster: &EphemeralCluster, db: &str, script: &std::path::Path, tap: &mut PgTap) {
    let t = Instant::now();
    let o = Command::new("psql")
        .args(["-X", "-q", "-U", "postgres", "-d", db, "-h"])
        .arg(cluster.dir())
        .arg("-f")
        .arg(script)
        .output()
        .unwrap();
    tap.times.push(ms(t.elapsed()));
    let stdout = String::from_utf8_lossy(&o.stdout);
    tap.not_ok = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("not ok"))
        .count();
    let ok = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("ok "))
        .count();
    assert_eq!(
        ok + tap.not_ok,
        tap.assertions,
        "pgTAP did not run every assertion: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn install_pgtap(cluster: &EphemeralCluster, db: &str) -> bool {
    Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-d",
            db,
            "-h",
        ])
        .arg(cluster.dir())
        .args(["-c", "CREATE SCHEMA tap; CREATE EXTENSION pgtap SCHEMA tap"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Constraint-probe throughput on a workload (REIMS), at the default number of cases.
pub struct ProbeThroughput {
    /// Cases per second, per run.
    pub rates: Vec<f64>,
    /// Seconds per run.
    pub seconds: Vec<f64>,
    pub cases: usize,
    pub rules: usize,
    pub cases_per_rule: u32,
}

/// The default `--cases` of `check`.
const DEFAULT_CASES: u32 = 64;

pub fn probe_throughput(w: &Workload, runs: usize) -> ProbeThroughput {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt
        .block_on(EphemeralCluster::start(&ClusterOptions::default()))
        .unwrap();
    rt.block_on(cluster.create_database("probes", None))
        .unwrap();
    for f in migration_files(&w.migrations) {
        run_ok(&mut psql_file(cluster.dir(), "probes", &f));
    }
    let specs = load_dir(&w.specs).unwrap();
    let mut out = ProbeThroughput {
        rates: vec![],
        seconds: vec![],
        cases: 0,
        rules: 0,
        cases_per_rule: DEFAULT_CASES,
    };
    rt.block_on(async {
        // As `check` runs the probes: the worker and its server process on one core.
        let _pair = reims_verify::postgres::pairing::CorePair::pin_here();
        let mut conn = cluster.connect("probes").await.unwrap();
        reims_verify::postgres::pairing::join(&mut conn).await;
        let schema = read_schema(&mut conn, "public").await.unwrap();
        for run in 0..runs {
            let mut tx = conn.begin().await.unwrap();
            let t = Instant::now();
            let findings = constraint_probes(
                &mut tx,
                &specs,
                &schema,
                &ProbeConfig {
                    cases: DEFAULT_CASES,
                    seed: run as u64 + 1,
                },
            )
            .await
            .unwrap();
            let took = t.elapsed().as_secs_f64();
            tx.rollback().await.unwrap();
            let checks: Vec<_> = findings
                .iter()
                .filter(|f| f.code == "probe.check")
                .collect();
            // "N cases agree …" or "… in N cases …": the first number in the message.
            let cases: usize = checks
                .iter()
                .filter_map(|f| {
                    f.message
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|s| !s.is_empty())?
                        .parse::<usize>()
                        .ok()
                })
                .sum();
            out.cases = cases;
            out.rules = checks.len();
            out.rates.push(cases as f64 / took);
            out.seconds.push(took * 1000.0);
        }
        let _ = conn.close().await;
    });
    out
}
