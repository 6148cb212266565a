//! The gate's benchmark. Every target is a ratio against a floor measured in the same run:
//! what PostgreSQL itself needs for the same schema (initdb, server start, `psql -1 -f` of
//! every migration, stop). Figures are medians with min–max.
//!
//! - REIMS and synthetic schemas of 10 … 5,000 tables, each applied as migrations with specs
//!   made by `spec snapshot`: the floor, then whole-process `check` cold (no cache) and warm
//!   (caches filled), interleaved round by round, every workload's round `i` before any
//!   round `i + 1`, with the phases of each run and its peak memory; on REIMS and up to
//!   `PROBES_UP_TO` synthetic tables (one sample row per table), also the default `check`,
//!   with probes, warm.
//! - The structural check beside pgTAP asserting the same things on the same database.
//! - Constraint-probe throughput on REIMS.
//!
//! Run it with `bash bench/run.sh`. The measured part of `bench/RESULTS.md` is rewritten
//! between its markers; the analysis around it is kept. Targets live there, never in tests.

mod floor;
mod gate_run;
mod pgtap;
mod pull_request;
mod stats;
mod structural;
mod synthetic;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use gate_run::{check_once, GateRun, Mode};
use stats::Stats;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// When root, the OS user that must run the server binaries.
pub fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let u = nix::unistd::User::from_name("postgres").ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw()))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_reims-verify"))
}

fn bindir() -> PathBuf {
    reims_verify::postgres::find_bindir(None)
        .expect("PostgreSQL server binaries")
        .path
}

pub struct Args {
    pub runs: usize,
    pub sizes: Vec<usize>,
    pub out: PathBuf,
    pub pgtap: bool,
    /// pgTAP runs only up to this many tables (it takes minutes beyond).
    pub pgtap_max: usize,
    pub reims: bool,
    /// Rounds for schemas of 5,000 tables or more (each round takes minutes).
    pub large_runs: usize,
    /// Measure the probe throughput only, print it and write nothing (for profiling).
    pub probes_only: bool,
    /// Measure REIMS's structural check beside pgTAP only, print it and write nothing.
    pub structural_only: bool,
    /// Write a synthetic schema of this many tables (migrations and specs) into the
    /// folder given, and measure nothing: for profiling by hand.
    pub generate: Option<(usize, PathBuf)>,
}

fn args() -> Args {
    let mut a = Args {
        runs: 5,
        sizes: vec![10, 100, 1000, 5000],
        out: root().join("bench/RESULTS.md"),
        pgtap: true,
        pgtap_max: 1000,
        reims: true,
        large_runs: 1,
        probes_only: false,
        structural_only: false,
        generate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(5).max(1),
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
            "--pgtap-max" => a.pgtap_max = it.next().and_then(|v| v.parse().ok()).unwrap_or(1000),
            "--no-reims" => a.reims = false,
            "--large-runs" => {
                a.large_runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
            }
            "--probes-only" => a.probes_only = true,
            "--structural-only" => a.structural_only = true,
            "--generate" => {
                let n = it.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
                a.generate = Some((n, PathBuf::from(it.next().unwrap_or_default())));
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// A schema to measure: its migrations and its specs.
pub struct Workload {
    pub name: String,
    pub tables: Option<usize>,
    pub migrations: PathBuf,
    pub specs: PathBuf,
}

/// Everything measured for one workload in the interleaved rounds.
pub struct Rounds {
    pub floors: Vec<floor::Floor>,
    pub cold: Vec<GateRun>,
    pub warm: Vec<GateRun>,
    pub probes: Vec<GateRun>,
    /// Warm, with a migration added ([`pull_request::new_migration`]).
    pub new_migration: Vec<GateRun>,
    /// Warm but for the normalised-spec cache, one spec edited
    /// ([`pull_request::spec_edited`]).
    pub spec_edited: Vec<GateRun>,
}

/// The largest synthetic schema whose rounds include a default `check` (with probes): all
/// of the usual sizes, so that the probes' growth and peak memory at 5,000 tables are
/// measured as every other phase's are (each such round takes about 45 s).
const PROBES_UP_TO: usize = 5000;

/// One workload's side of the interleaved rounds: its normalised-spec cache (filled
/// before the first round), how many rounds it runs, and what they measured.
struct Schedule<'a> {
    workload: &'a Workload,
    cache: tempfile::TempDir,
    runs: usize,
    with_probes: bool,
    rounds: Rounds,
}

/// Floor, cold check, warm check, the two pull requests' checks (and, when asked, warm
/// check with probes) of every workload, round by round: round `i` runs every workload's `i`-th round, in the order
/// given, before round `i + 1` begins. A burst of load on the machine then hits every side
/// of a workload alike, and the sizes run back to back too, so that a size's growth over
/// the previous one can be taken round by round, as every other ratio is.
fn interleaved_rounds(plan: Vec<(&Workload, usize, bool)>) -> Vec<Rounds> {
    let pg = bindir();
    let mut schedules: Vec<Schedule<'_>> = plan
        .into_iter()
        .map(|(workload, runs, with_probes)| {
            let cache = tempfile::tempdir().unwrap();
            eprintln!("gate: {} (filling its caches)", workload.name);
            check_once(
                &bin(),
                &workload.migrations,
                &workload.specs,
                cache.path(),
                Mode::Warm,
                false,
            );
            Schedule {
                workload,
                cache,
                runs,
                with_probes,
                rounds: Rounds {
                    floors: vec![],
                    cold: vec![],
                    warm: vec![],
                    probes: vec![],
                    new_migration: vec![],
                    spec_edited: vec![],
                },
            }
        })
        .collect();
    let most = schedules.iter().map(|s| s.runs).max().unwrap_or(0);
    for i in 0..most {
        for s in schedules.iter_mut().filter(|s| i < s.runs) {
            let w = s.workload;
            eprintln!("  {} round {}/{}", w.name, i + 1, s.runs);
            let cache = s.cache.path();
            // `check` on this workload with its cache, in `mode`, with or without probes.
            let check =
                |mode, probes| check_once(&bin(), &w.migrations, &w.specs, cache, mode, probes);
            let r = &mut s.rounds;
            r.floors.push(floor::floor_once(&pg, &w.migrations));
            r.cold.push(check(Mode::Cold, false));
            r.warm.push(check(Mode::Warm, false));
            r.new_migration
                .push(pull_request::new_migration(&bin(), w, cache, i));
            r.spec_edited
                .push(pull_request::spec_edited(&bin(), w, cache, i));
            if s.with_probes {
                r.probes.push(check(Mode::Warm, true));
            }
        }
    }
    schedules.into_iter().map(|s| s.rounds).collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The allocator `reims-verify` runs on, so that the library's figures here (the
/// structural check beside pgTAP, the probes) are the binary's.
#[global_allocator]
static ALLOCATOR: reims_verify::allocator::Allocator = reims_verify::allocator::Allocator;

fn main() {
    reims_verify::allocator::tune();
    let a = args();
    if a.probes_only {
        let reims = reims_workload();
        let p = structural::probe_throughput(&reims, a.runs);
        for (rate, ms) in p.rates.iter().zip(&p.seconds) {
            println!(
                "{} cases over {} rules in {ms:.0} ms: {rate:.0} cases/s",
                p.cases, p.rules
            );
        }
        return;
    }
    if let Some((n, dir)) = &a.generate {
        std::fs::create_dir_all(dir).unwrap();
        let migrations = synthetic::write_migrations(dir, *n);
        let specs = synthetic::snapshot_specs(&bin(), dir, &migrations);
        synthetic::add_samples(&specs, *n);
        println!("{} and {}", migrations.display(), specs.display());
        return;
    }
    if a.structural_only {
        let cache = tempfile::tempdir().unwrap();
        std::env::set_var("REIMS_VERIFY_CACHE_DIR", cache.path());
        std::env::remove_var("REIMS_VERIFY_NO_CACHE");
        for s in structural::side_by_side(&[reims_workload()], &a, a.runs) {
            print_side_by_side(&s);
        }
        return;
    }
    // The library side of the bench (structural check beside pgTAP) keeps its
    // normalised-spec cache in a folder of its own.
    let lib_cache = tempfile::tempdir().unwrap();
    std::env::set_var("REIMS_VERIFY_CACHE_DIR", lib_cache.path());
    std::env::remove_var("REIMS_VERIFY_NO_CACHE");
    let started = chrono::Utc::now();
    let load_before = load_average();
    let work = tempfile::Builder::new()
        .prefix("reims-bench-work-")
        .tempdir()
        .unwrap();
    if let Some((u, g)) = server_user() {
        let _ = nix::unistd::chown(work.path(), Some(u.into()), Some(g.into()));
    }

    let mut workloads = Vec::new();
    if a.reims {
        workloads.push(reims_workload());
    }
    for &n in &a.sizes {
        eprintln!("generating {n} tables …");
        let dir = work.path().join(format!("s{n}"));
        let migrations = synthetic::write_migrations(&dir, n);
        let specs = synthetic::snapshot_specs(&bin(), &dir, &migrations);
        synthetic::add_samples(&specs, n);
        workloads.push(Workload {
            name: format!("{n} tables"),
            tables: Some(n),
            migrations,
            specs,
        });
    }

    let plan = workloads
        .iter()
        .map(|w| {
            let runs = if w.tables.is_some_and(|n| n >= 5000) {
                a.runs.min(a.large_runs)
            } else {
                a.runs
            };
            // With probes too, up to PROBES_UP_TO tables.
            (w, runs, w.tables.is_none_or(|n| n <= PROBES_UP_TO))
        })
        .collect();
    let measured = interleaved_rounds(plan);

    eprintln!("structural check beside pgTAP …");
    let side = structural::side_by_side(&workloads, &a, a.runs);
    eprintln!("probe throughput …");
    let probes = if a.reims {
        Some(structural::probe_throughput(&workloads[0], a.runs))
    } else {
        None
    };

    let text = write::results(&write::Inputs {
        started,
        load_before,
        load_after: load_average(),
        bindir: bindir(),
        workloads: &workloads,
        rounds: &measured,
        side: &side,
        probes: probes.as_ref(),
        runs: a.runs,
    });
    write::splice(&a.out, &text);
    println!("{text}");
    eprintln!("wrote {}", a.out.display());
}

/// One workload's structural check beside pgTAP, round by round (`--structural-only`).
fn print_side_by_side(s: &structural::SideBySide) {
    for (i, total) in s.total.iter().enumerate() {
        let full = s.pgtap_full.as_ref().and_then(|t| t.times.get(i));
        let ratio =
            |t: Option<&f64>, of: f64| t.map_or("-".to_string(), |t| format!("{:.2}x", t / of));
        println!(
            "{}: cold {total:.0} ms (read {:.0}, shadow {:.0}, verify {:.0}), warm {:.0} ms; pgTAP full {} ms: cold {}, warm {}",
            s.name,
            s.introspection[i],
            s.shadow[i],
            s.verify[i],
            s.warm[i],
            full.map_or("-".to_string(), |t| format!("{t:.0}")),
            ratio(full, *total),
            ratio(full, s.warm[i]),
        );
    }
}

/// The REIMS schema shipped in this repository.
fn reims_workload() -> Workload {
    Workload {
        name: "REIMS".into(),
        tables: None,
        migrations: root().join("migrations"),
        specs: root().join("specs"),
    }
}

/// Summaries used by several sections.
pub fn walls(runs: &[GateRun]) -> Vec<f64> {
    runs.iter().map(|r| r.wall).collect()
}

/// The values of one phase over runs (0 when a run lacks it).
pub fn phase(runs: &[GateRun], name: &str) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            r.phases
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .sum()
        })
        .collect()
}

/// The structural part of each run: from the end of the migrations (where the catalog read
/// begins) to the end of the last of introspection, shadow and verify, which is what the
/// run waits for beyond its migrations (a shadow built ahead runs beside the migrations);
/// for records without phase starts, the sum of the three.
pub fn structural_part(runs: &[GateRun]) -> Vec<f64> {
    const PARTS: [&str; 3] = ["introspection", "shadow", "verify"];
    runs.iter()
        .map(|r| {
            let spans: Vec<&(String, f64, f64)> = r
                .spans
                .iter()
                .filter(|(n, _, _)| PARTS.contains(&n.as_str()))
                .collect();
            let migrated = r
                .spans
                .iter()
                .find(|(n, _, _)| n == "migrations")
                .map(|s| s.2);
            match migrated {
                Some(migrated) if !spans.is_empty() => {
                    let end = spans.iter().map(|s| s.2).fold(0.0, f64::max);
                    end - migrated
                }
                _ => PARTS
                    .iter()
                    .map(|p| phase(std::slice::from_ref(r), p)[0])
                    .sum(),
            }
        })
        .collect()
}

/// How much of the run the recorded phases cover, counting overlapping time once.
pub fn covered(r: &GateRun) -> f64 {
    if r.spans.is_empty() {
        return r.phases.iter().map(|(_, v)| v).sum();
    }
    let mut spans: Vec<(f64, f64)> = r.spans.iter().map(|(_, a, b)| (*a, *b)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut total, mut reach) = (0.0, f64::NEG_INFINITY);
    for (a, b) in spans {
        let from = a.max(reach);
        if b > from {
            total += b - from;
        }
        reach = reach.max(b);
    }
    total
}

pub fn stats(v: &[f64]) -> Stats {
    Stats::of(v)
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
