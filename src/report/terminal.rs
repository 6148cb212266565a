//! The terminal view: one summary row per table, then one block per failure.

use std::collections::BTreeMap;
use std::fmt::Write;

use comfy_table::Cell;

use crate::commands::Output;
use crate::run::Run;
use crate::verify::Status;

/// Text from the database made safe for a terminal on one line: control characters
/// (newlines included, and the escape character that starts terminal control sequences)
/// are shown as `\n`, `\x1b`, … instead of acting.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Like [`one_line`], but a newline starts a new line indented by `indent`, so that
/// multi-line SQL stays readable and no database text begins a line of the output.
fn indented(text: &str, indent: &str) -> String {
    text.split('\n')
        .map(one_line)
        .collect::<Vec<_>>()
        .join(&format!("\n{indent}"))
}

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
            Cell::new(one_line(table)),
            Cell::new(p),
            out.status_cell(&f.to_string(), *f == 0),
            Cell::new(k),
        ]);
    }
    let _ = writeln!(
        s,
        "reims-verify {} on {} (server {})",
        run.tool_version,
        one_line(&run.database),
        one_line(&run.server_version)
    );
    let _ = writeln!(s, "{t}");
    for f in run.findings.iter().filter(|f| f.failed()) {
        let label = if out.color {
            "\x1b[31mFAIL\x1b[0m"
        } else {
            "FAIL"
        };
        const INDENT: &str = "            ";
        let _ = writeln!(s, "\n{label} {}  {}", f.code, one_line(&f.object));
        let _ = writeln!(s, "  {}", one_line(&f.message));
        if let Some(e) = &f.expected {
            let _ = writeln!(s, "  expected: {}", indented(e, INDENT));
        }
        if let Some(a) = &f.actual {
            let _ = writeln!(s, "  actual:   {}", indented(a, INDENT));
        }
        if let Some(l) = &f.location {
            let _ = writeln!(s, "  spec:     {}", one_line(&l.to_string()));
        }
        if let Some(h) = &f.hint {
            let _ = writeln!(s, "  hint:     {}", indented(h, INDENT));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_text_cannot_start_lines_or_control_the_terminal() {
        assert_eq!(one_line("a\nb\x1b[31m"), "a\\nb\\x1b[31m");
        let shown = indented("x\n::warning::y", "  ");
        assert!(
            shown.lines().skip(1).all(|l| l.starts_with("  ")),
            "{shown}"
        );
        assert_eq!(one_line("plain ü"), "plain ü");
    }
}
