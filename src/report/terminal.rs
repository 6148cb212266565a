//! The terminal view: one summary row per table, then one block per failure.

use std::collections::BTreeMap;
use std::fmt::Write;

use comfy_table::Cell;

use crate::commands::Output;
use crate::run::Run;
use crate::verify::Status;

/// Render a run for people.
pub fn render(run: &Run, out: Output) -> String {
    let mut s = String::new();
    let mut per_table: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for f in &run.findings {
        let e = per_table.entry(f.table.as_str()).or_default();
        match f.status {
            Status::Pass => e.0 += 1,
            Status::Fail => e.1 += 1,
            Status::Skip => e.2 += 1,
        }
    }
    let mut t = out.table(&["table", "passed", "failed", "skipped"]);
    for (table, (p, f, k)) in &per_table {
        t.add_row(vec![
            Cell::new(table),
            Cell::new(p),
            out.status_cell(&f.to_string(), *f == 0),
            Cell::new(k),
        ]);
    }
    let _ = writeln!(
        s,
        "reims-verify {} on {} (server {})",
        run.tool_version, run.database, run.server_version
    );
    let _ = writeln!(s, "{t}");
    for f in run.findings.iter().filter(|f| f.failed()) {
        let label = if out.color {
            "\x1b[31mFAIL\x1b[0m"
        } else {
            "FAIL"
        };
        let _ = writeln!(s, "\n{label} {}  {}", f.code, f.object);
        let _ = writeln!(s, "  {}", f.message);
        if let Some(e) = &f.expected {
            let _ = writeln!(s, "  expected: {e}");
        }
        if let Some(a) = &f.actual {
            let _ = writeln!(s, "  actual:   {a}");
        }
        if let Some(l) = &f.location {
            let _ = writeln!(s, "  spec:     {l}");
        }
        if let Some(h) = &f.hint {
            let _ = writeln!(s, "  hint:     {h}");
        }
        if let Some(r) = &f.repro {
            let _ = writeln!(s, "  repro:");
            for line in r.lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    if let Some(seed) = run.probe_seed {
        let _ = writeln!(s, "\nprobe seed: {seed} (replay with --seed {seed})");
    }
    let totals = run.totals();
    let verdict = if totals.failed == 0 { "PASS" } else { "FAIL" };
    let _ = writeln!(
        s,
        "\n{verdict}: {} checks, {} failed, {} skipped ({} migrations, {} spec files)",
        totals.passed + totals.failed + totals.skipped,
        totals.failed,
        totals.skipped,
        run.migrations.len(),
        run.specs.len()
    );
    s
}
