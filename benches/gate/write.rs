//! The measured part of `bench/RESULTS.md`: tables of medians (min–max), ratios to the
//! floor, and each target checked against the figures of this run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::gate_run::GateRun;
use crate::pgtap::Coverage;
use crate::stats::{num, ratios, Stats};
use crate::structural::{ProbeThroughput, SideBySide};
use crate::{phase, structural_part, walls, Rounds, Workload};

/// One row of the growth table: a label and how to take its values from a workload's rounds.
type Measure = Box<dyn Fn(&Rounds) -> Vec<f64>>;

pub struct Inputs<'a> {
    pub started: chrono::DateTime<chrono::Utc>,
    pub load_before: String,
    pub load_after: String,
    pub bindir: PathBuf,
    pub workloads: &'a [Workload],
    pub rounds: &'a [Rounds],
    pub side: &'a [SideBySide],
    pub probes: Option<&'a ProbeThroughput>,
    pub runs: usize,
}

const BEGIN: &str = "<!-- measured: begin (written by benches/gate; edit outside the markers) -->";
const END: &str = "<!-- measured: end -->";

/// Replace the measured part of `path` (between the markers), keeping the rest; a file
/// without markers gets them appended.
pub fn splice(path: &Path, measured: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{measured}\n{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ if old.trim().is_empty() => format!("# reims-verify benchmark results\n\n{block}\n"),
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new).unwrap();
}

const PHASES: &[&str] = &[
    "specs",
    "cluster_start",
    "migrations",
    "introspection",
    "shadow_server",
    "shadow",
    "verify",
    "probes",
];

fn st(v: &[f64]) -> Stats {
    Stats::of(v)
}

/// Wall minus the time the recorded phases cover: writing reports, stopping the server,
/// process start and exit.
fn rest(runs: &[GateRun]) -> Vec<f64> {
    runs.iter().map(|r| r.wall - crate::covered(r)).collect()
}

/// What a `check` run waits for, measure by measure: the walls, every recorded phase and
/// the rest, cold, warm and with probes. The growth table shows each one and the growth
/// target is checked against each one, so that neither can leave out what the other has.
fn growth_rows() -> Vec<(String, Measure)> {
    let mut rows: Vec<(String, Measure)> = vec![
        (
            "`check` cold, wall".into(),
            Box::new(|r: &Rounds| walls(&r.cold)),
        ),
        (
            "`check` warm, wall".into(),
            Box::new(|r: &Rounds| walls(&r.warm)),
        ),
    ];
    // The probes have rows of their own below, for the rounds that run them.
    for &p in PHASES.iter().filter(|p| **p != "probes") {
        rows.push((
            format!("cold: {p}"),
            Box::new(move |r: &Rounds| phase(&r.cold, p)),
        ));
        rows.push((
            format!("warm: {p}"),
            Box::new(move |r: &Rounds| phase(&r.warm, p)),
        ));
    }
    rows.push(("cold: rest".into(), Box::new(|r: &Rounds| rest(&r.cold))));
    rows.push(("warm: rest".into(), Box::new(|r: &Rounds| rest(&r.warm))));
    rows.push((
        "warm, with probes: rest".into(),
        Box::new(|r: &Rounds| rest(&r.probes)),
    ));
    rows.push((
        "warm, with probes: wall".into(),
        Box::new(|r: &Rounds| walls(&r.probes)),
    ));
    rows.push((
        "warm, with probes: probes".into(),
        Box::new(|r: &Rounds| phase(&r.probes, "probes")),
    ));
    rows
}

/// A measure's growth from one size to the next, round by round: round `i` of the larger
/// size over round `i` of the smaller (run back to back), for the rounds both have. A
/// figure under half a millisecond counts as half a millisecond, as in the table.
fn growth_by_round(larger: &[f64], smaller: &[f64]) -> Stats {
    let floor: Vec<f64> = smaller.iter().map(|v| v.max(0.5)).collect();
    ratios(larger, &floor)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

pub fn results(i: &Inputs<'_>) -> String {
    let mut md = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Measured {} on {cpu} ({} cores; load average {} at the start, {} at the end), PostgreSQL binaries in `{}`, reims-verify built in {} mode. Every figure is a median (min–max, n runs); a ratio is the median of the per-round ratios, each round measuring both sides back to back.\n",
        i.started.format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        i.load_before,
        i.load_after,
        i.bindir.display(),
        if cfg!(debug_assertions) {
            "debug (dev profile; dependencies at opt-level 1)"
        } else {
            "release"
        }
    );

    // 1. The gate beside the floor, per workload.
    let _ = writeln!(md, "## 1. The whole gate beside the floor\n");
    let _ = writeln!(
        md,
        "The floor is PostgreSQL alone: `initdb`, `pg_ctl -w start`, `psql -1 -f` of every migration file, `pg_ctl -w stop`. `check` is the whole process as a user runs it (default table output, default reports written); *cold* has no cache (`REIMS_VERIFY_NO_CACHE=1`), *warm* has the caches an earlier run filled. The two *pull request* rows are warm runs of a changed project, something new each round: *a new migration* adds a one-statement migration after the last (the floor does not run it) and leaves the specs alone; *one spec edited* adds a comment to one relation spec, so the normalised-spec cache has no entry and the shadow is built again (beside the migrations), while the initdb cache serves.\n"
    );
    let _ = writeln!(
        md,
        "| schema | floor | `check --no-probe` cold | cold / floor | `check --no-probe` warm | warm / floor | failed findings |\n|---|---|---|---|---|---|---|"
    );
    for (w, r) in i.workloads.iter().zip(i.rounds) {
        let floor: Vec<f64> = r.floors.iter().map(|f| f.total()).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            w.name,
            st(&floor).ms(),
            st(&walls(&r.cold)).ms(),
            ratios(&walls(&r.cold), &floor).ratio(),
            st(&walls(&r.warm)).ms(),
            ratios(&walls(&r.warm), &floor).ratio(),
            r.warm.last().map_or(0, |x| x.failed),
        );
        for (what, runs) in [
            ("a new migration", &r.new_migration),
            ("one spec edited", &r.spec_edited),
        ] {
            if runs.is_empty() {
                continue;
            }
            let _ = writeln!(
                md,
                "| {}, pull request: {what} | | | | {} | {} | {} |",
                w.name,
                st(&walls(runs)).ms(),
                ratios(&walls(runs), &floor).ratio(),
                runs.last().map_or(0, |x| x.failed),
            );
        }
        if !r.probes.is_empty() {
            let _ = writeln!(
                md,
                "| {} with probes (default `check`), warm | | | | {} | {} | {} |",
                w.name,
                st(&walls(&r.probes)).ms(),
                ratios(&walls(&r.probes), &floor).ratio(),
                r.probes.last().map_or(0, |x| x.failed),
            );
        }
    }
    let _ = writeln!(md);

    // 2. Phases.
    let _ = writeln!(md, "## 2. Where the time goes, phase by phase\n");
    let _ = writeln!(
        md,
        "Phases as the run record gives them; *rest* is the wall time minus the time the phases cover (writing the reports, stopping the server, process start and exit). The catalog read (*introspection*) begins when the migrations end. The *shadow* is recorded as the build that gave the run its shadow: cold, on a machine of two cores, that is the build ahead, on a throw-away server of its own started beside the run's (*shadow_server*, its initdb included when cold) while the cluster starts and the migrations run; warm, the read of the cache entry beside the catalog read. So the *structural part* is the time from the end of the migrations to the end of verify: what the run waits for beyond its migrations, not the sum of the phases. Floor steps for comparison.\n"
    );
    for (w, r) in i.workloads.iter().zip(i.rounds) {
        let _ = writeln!(md, "### {}\n", w.name);
        let _ = writeln!(
            md,
            "| step | floor | cold | warm |{}\n|---|---|---|---|{}",
            if r.probes.is_empty() {
                ""
            } else {
                " warm, with probes |"
            },
            if r.probes.is_empty() { "" } else { "---|" }
        );
        let fl = |f: fn(&crate::floor::Floor) -> f64| -> String {
            st(&r.floors.iter().map(f).collect::<Vec<_>>()).ms()
        };
        let _ = writeln!(
            md,
            "| floor: initdb | {} | | |{}",
            fl(|f| f.initdb),
            if r.probes.is_empty() { "" } else { " |" }
        );
        let _ = writeln!(
            md,
            "| floor: server start | {} | | |{}",
            fl(|f| f.start),
            if r.probes.is_empty() { "" } else { " |" }
        );
        let _ = writeln!(
            md,
            "| floor: `psql -1 -f` migrations | {} | | |{}",
            fl(|f| f.psql),
            if r.probes.is_empty() { "" } else { " |" }
        );
        let _ = writeln!(
            md,
            "| floor: stop | {} | | |{}",
            fl(|f| f.stop),
            if r.probes.is_empty() { "" } else { " |" }
        );
        for p in PHASES {
            let has = |runs: &[GateRun]| runs.iter().any(|x| x.phases.iter().any(|(n, _)| n == p));
            if !has(&r.cold) && !has(&r.probes) {
                continue;
            }
            let cell = |runs: &[GateRun]| {
                if has(runs) {
                    st(&phase(runs, p)).ms()
                } else {
                    String::new()
                }
            };
            let _ = write!(md, "| {p} | | {} | {} |", cell(&r.cold), cell(&r.warm));
            if !r.probes.is_empty() {
                let _ = write!(md, " {} |", cell(&r.probes));
            }
            let _ = writeln!(md);
        }
        let _ = write!(
            md,
            "| rest | | {} | {} |",
            st(&rest(&r.cold)).ms(),
            st(&rest(&r.warm)).ms()
        );
        if !r.probes.is_empty() {
            let _ = write!(md, " {} |", st(&rest(&r.probes)).ms());
        }
        let _ = writeln!(md);
        let _ = write!(
            md,
            "| **structural part** | | {} | {} |",
            st(&structural_part(&r.cold)).ms(),
            st(&structural_part(&r.warm)).ms()
        );
        if !r.probes.is_empty() {
            let _ = write!(md, " {} |", st(&structural_part(&r.probes)).ms());
        }
        let _ = writeln!(md);
        let _ = write!(
            md,
            "| peak RSS, reims-verify | | {} | {} |",
            st(&r.cold.iter().map(|x| x.rss_self).collect::<Vec<_>>()).count("MiB"),
            st(&r.warm.iter().map(|x| x.rss_self).collect::<Vec<_>>()).count("MiB")
        );
        if !r.probes.is_empty() {
            let _ = write!(
                md,
                " {} |",
                st(&r.probes.iter().map(|x| x.rss_self).collect::<Vec<_>>()).count("MiB")
            );
        }
        let _ = writeln!(md);
        let _ = write!(
            md,
            "| peak RSS, largest process of the run (a server process included) | | {} | {} |",
            st(&r.cold.iter().map(|x| x.rss_tree).collect::<Vec<_>>()).count("MiB"),
            st(&r.warm.iter().map(|x| x.rss_tree).collect::<Vec<_>>()).count("MiB")
        );
        if !r.probes.is_empty() {
            let _ = write!(
                md,
                " {} |",
                st(&r.probes.iter().map(|x| x.rss_tree).collect::<Vec<_>>()).count("MiB")
            );
        }
        let _ = writeln!(md, "\n");
    }

    // 3. Growth.
    let scaled: Vec<(usize, &Rounds)> = i
        .workloads
        .iter()
        .zip(i.rounds)
        .filter_map(|(w, r)| w.tables.map(|n| (n, r)))
        .collect();
    if scaled.len() > 1 {
        let _ = writeln!(md, "## 3. Growth with the number of tables\n");
        let _ = writeln!(
            md,
            "Median milliseconds per table, cold and warm. The last two columns are the {} figure over the {} one (linear growth is {:.1}×): the ratio of the two medians, and the median (min–max) of the ratios round by round, each round's two sizes run back to back (the rounds of every workload are interleaved), which the growth target is checked against, as every other ratio is.\n",
            num(scaled.last().unwrap().0 as f64),
            num(scaled[scaled.len() - 2].0 as f64),
            scaled.last().unwrap().0 as f64 / scaled[scaled.len() - 2].0 as f64
        );
        let _ = write!(md, "| measure |");
        for (n, _) in &scaled {
            let _ = write!(md, " {} tables |", num(*n as f64));
        }
        let _ = writeln!(
            md,
            " last / previous, medians | last / previous, round by round |"
        );
        let _ = writeln!(md, "|---|{}---|---|", "---|".repeat(scaled.len()));
        let mut rows: Vec<(String, Measure)> = vec![
            (
                "floor: `psql -1 -f` migrations".into(),
                Box::new(|r: &Rounds| r.floors.iter().map(|f| f.psql).collect()),
            ),
            (
                "floor total".into(),
                Box::new(|r: &Rounds| r.floors.iter().map(|f| f.total()).collect()),
            ),
        ];
        rows.extend(growth_rows());
        for (label, f) in &rows {
            // A phase no run of the row had (a warm run starts no shadow server), or a
            // size whose rounds did not run it (no probes beyond PROBES_UP_TO).
            if scaled.iter().all(|(_, r)| f(r).iter().all(|v| *v == 0.0))
                || scaled.iter().any(|(_, r)| f(r).is_empty())
            {
                continue;
            }
            let _ = write!(md, "| {label} |");
            let mut meds = Vec::new();
            for (n, r) in &scaled {
                let m = st(&f(r)).median;
                meds.push(m);
                let _ = write!(md, " {} ms ({:.2}/table) |", num(m), m / *n as f64);
            }
            let k = meds.len();
            let _ = writeln!(
                md,
                " {:.2}× | {} |",
                meds[k - 1] / meds[k - 2].max(0.5),
                growth_by_round(&f(scaled[k - 1].1), &f(scaled[k - 2].1)).ratio()
            );
        }
        let _ = writeln!(md);
    }

    // 4. pgTAP.
    let _ = writeln!(
        md,
        "## 4. The structural check beside pgTAP, on the same database\n"
    );
    let _ = writeln!(
        md,
        "Each schema migrated once into a database of one throw-away cluster. Per round, the structural check through the library as `check` runs it on a throw-away server (the catalog read over two connections beside the shadow's build in a scratch database of the same cluster, then the comparison; cold builds the shadow on two sessions in a new database per round, warm reads it from the normalised-spec cache; the three sessions `check` has open when these begin, its first session, which has only asked the server's version, the read's second one and the shadow's, which `check` opens while the migrations run, are opened before the timing and each asked whether it is still there inside it, as `check` asks: each measurement, cold and warm, starts on sessions that have read no catalog) and the pgTAP script (`psql -f`, one transaction) on that database. The pgTAP scripts are generated by `benches/gate/pgtap.rs` from the same specs. The subset: for every relation `has_table`; per column `has_column`, `col_type_is`, `col_not_null`/`col_is_null`, `col_has_default` + `col_default_is` or `col_hasnt_default`; `col_is_pk`, `col_is_unique`, `fk_ok`; per CHECK `col_has_check` and an `is()` on its expression; per index `has_index` with its keys, `index_is_unique`, `index_is_type` and, when partial or DESC, an `is()` on its definition; per trigger `has_trigger`, `trigger_is`; per function `has_function`, `function_returns`, `function_lang_is`, `volatility_is`. Expected text is PostgreSQL's spelling, taken from the specs compiled in the shadow.\n"
    );
    let _ = writeln!(
        md,
        "Two pgTAP scripts. The *subset* asserts what pgTAP has functions for, as every earlier run measured it. The *full* script asserts every comparison the structural check reports a finding for where the specs declare it (`pgtap::Coverage::Full`): the subset, plus per relation its comment, persistence, row-level security (enabled, forced), `table_owner_is` and `table_privs_are` for PUBLIC and each role; per column its collation and comment; the primary key's name; per foreign key its actions, deferrability and validity; per CHECK and per index its validity; every index's whole definition; per trigger its whole definition, whether it is enabled and its comment; per function `is_strict`/`isnt_strict`, `is_definer`/`isnt_definer`, and an `is()` on its kind, arguments, `SET` options, leak-proofness, parallel safety and comment; `has_role` for every role the privileges name. Neither asserts the migration history (`psql` keeps none), a view's query or which sequence a column owns (one materialized view and one owned sequence on REIMS). Each round runs both, one after the other.\n"
    );
    for (title, pick) in [
        ("pgTAP, subset", Coverage::Subset),
        ("pgTAP, full", Coverage::Full),
    ] {
        let _ = writeln!(md, "| schema | reims-verify structural check, cold | findings (failed) | of which shadow | structural check, warm (shadow from the cache) | {title} | assertions (not ok) | pgTAP / reims-verify cold | pgTAP / reims-verify warm |\n|---|---|---|---|---|---|---|---|---|");
        for s in i.side {
            let run = match pick {
                Coverage::Subset => &s.pgtap,
                Coverage::Full => &s.pgtap_full,
            };
            let (tap, count, ratio, warm_ratio) = match run {
                Some(t) => (
                    st(&t.times).ms(),
                    format!("{} ({})", num(t.assertions as f64), t.not_ok),
                    ratios(&t.times, &s.total).ratio(),
                    ratios(&t.times, &s.warm).ratio(),
                ),
                None => (
                    format!("not run: {}", s.pgtap_skipped.clone().unwrap_or_default()),
                    String::new(),
                    String::new(),
                    String::new(),
                ),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} ({}) | {} | {} | {tap} | {count} | {ratio} | {warm_ratio} |",
                s.name,
                st(&s.total).ms(),
                num(s.findings as f64),
                s.failed,
                st(&s.shadow).ms(),
                st(&s.warm).ms(),
            );
        }
        let _ = writeln!(md);
    }

    // 5. Probes.
    if let Some(p) = i.probes {
        let _ = writeln!(md, "## 5. Probe throughput (REIMS)\n");
        let _ = writeln!(
            md,
            "Constraint probes (sample rows, then every structured CHECK) at the default `--cases {}`, inside one rolled-back transaction on a migrated REIMS database: {} cases over {} rules per run (the cases counted in the findings; boundary cases run once per sample row, and shrinking, are extra work not counted), {} per run, **{}**.\n",
            p.cases_per_rule,
            num(p.cases as f64),
            p.rules,
            st(&p.seconds).ms(),
            st(&p.rates).count("cases/s"),
        );
    }

    // 6. Targets.
    let _ = writeln!(md, "## 6. Targets, checked against this run\n");
    let _ = writeln!(md, "| target | measured | |\n|---|---|---|");
    let find = |n: usize| {
        i.workloads
            .iter()
            .zip(i.rounds)
            .find(|(w, _)| w.tables == Some(n))
            .map(|(_, r)| r)
    };
    if let Some(r) = find(1000) {
        let floor: Vec<f64> = r.floors.iter().map(|f| f.total()).collect();
        let ra = ratios(&walls(&r.warm), &floor);
        let _ = writeln!(
            md,
            "| 1,000 tables, warm `check --no-probe` ≤ 0.7× floor | {} | {} |",
            ra.ratio(),
            verdict(ra.median <= 0.7)
        );
        let sp = st(&structural_part(&r.warm));
        let _ = writeln!(md, "| 1,000 tables, warm structural part well under 1 s (marked met under 1 s) | {} | {} |", sp.ms(), verdict(sp.median < 1000.0));
    }
    for (w, r) in i.workloads.iter().zip(i.rounds) {
        let Some(n) = w.tables else { continue };
        let psql: Vec<f64> = r.floors.iter().map(|f| f.psql).collect();
        let ra = ratios(&structural_part(&r.cold), &psql);
        let _ = writeln!(
            md,
            "| {} tables, cold structural part (the wait after the migrations) ≤ `psql -f` of the migrations | {} | {} |",
            num(n as f64),
            ra.ratio(),
            verdict(ra.median <= 1.0)
        );
        let ra = ratios(&phase(&r.cold, "shadow"), &psql);
        let _ = writeln!(
            md,
            "| {} tables, cold shadow build (beside the migrations, its server's start apart) ≤ `psql -f` of the migrations | {} | {} |",
            num(n as f64),
            ra.ratio(),
            verdict(ra.median <= 1.0)
        );
    }
    if let (Some(a), Some(b)) = (find(1000), find(5000)) {
        let mut worst = (String::new(), 0.0f64);
        for (label, f) in growth_rows() {
            let (va, vb) = (f(a), f(b));
            if va.is_empty() || vb.is_empty() {
                continue;
            }
            let g = growth_by_round(&vb, &va).median;
            if g > worst.1 {
                worst = (label, g);
            }
        }
        let _ = writeln!(md, "| linear growth: every phase at 5,000 tables ≤ 5.5× its 1,000-table figure (median of the round-by-round ratios) | worst: {} {:.2}× | {} |", worst.0, worst.1, verdict(worst.1 <= 5.5));
        let rss = st(&b
            .cold
            .iter()
            .chain(&b.warm)
            .chain(&b.probes)
            .map(|x| x.rss_self)
            .collect::<Vec<_>>());
        let tree = st(&b
            .cold
            .iter()
            .chain(&b.warm)
            .chain(&b.probes)
            .map(|x| x.rss_tree)
            .collect::<Vec<_>>());
        let _ = writeln!(md, "| peak RSS at 5,000 tables < 512 MB | reims-verify {}; largest process of the run {} | {} |", rss.count("MiB"), tree.count("MiB"), verdict(rss.max < 512.0 / 1.048_576));
    }
    if let Some(s) = i.side.iter().find(|s| s.name == "REIMS") {
        for (script, run) in [("subset", &s.pgtap), ("full", &s.pgtap_full)] {
            let Some(t) = run else {
                continue;
            };
            for (when, ours) in [("cold", &s.total), ("warm", &s.warm)] {
                let ra = ratios(&t.times, ours);
                let _ = writeln!(
                    md,
                    "| REIMS structural check ≥ 20× faster than pgTAP ({script} script), {when} | {} | {} |",
                    ra.ratio(),
                    verdict(ra.median >= 20.0)
                );
            }
        }
    }
    if let Some(p) = i.probes {
        let r = st(&p.rates);
        let _ = writeln!(
            md,
            "| ≥ 10,000 constraint-probe cases per second on REIMS | {} | {} |",
            r.count("cases/s"),
            verdict(r.median >= 10_000.0)
        );
    }
    if let Some((_, r)) = i
        .workloads
        .iter()
        .zip(i.rounds)
        .find(|(w, _)| w.tables.is_none())
    {
        if !r.probes.is_empty() {
            let floor: Vec<f64> = r.floors.iter().map(|f| f.total()).collect();
            let ra = ratios(&walls(&r.probes), &floor);
            let _ = writeln!(
                md,
                "| REIMS default `check` (probes), warm ≤ 0.6× floor | {} | {} |",
                ra.ratio(),
                verdict(ra.median <= 0.6)
            );
        }
    }
    let _ = writeln!(md, "\nRounds per workload: {}.", i.runs);
    md
}
