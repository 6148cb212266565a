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

/// For an expected and an actual value that differ only where the lines above show them
/// alike (a tab and a backslash followed by `t` are both `\t` there): both as escaped
/// strings, which tell them apart. `None` when the lines above already do.
fn told_apart(expected: &str, actual: &str, indent: &str) -> Option<String> {
    (expected != actual && indented(expected, indent) == indented(actual, indent)).then(|| {
        format!(
            "differs:  where the two lines above look alike; escaped, expected {expected:?}, actual {actual:?}"
        )
    })
}

/// Render a run for people.
pub fn render(run: &Run, out: Output) -> String {
    let mut s = String::new();
    let specced: std::collections::HashSet<&str> =
        run.specs.iter().map(|s| s.table.as_str()).collect();
    let mut t = out.table(&["table", "passed", "failed", "skipped"]);
    for (table, tally) in run.findings.per_table() {
        let is_relation = tally.relation_finding || specced.contains(table.as_str());
        t.add_row(vec![
            Cell::new(one_line(&row_label(table, is_relation))),
            Cell::new(tally.passed),
            out.status_cell(&tally.failed.to_string(), tally.failed == 0),
            Cell::new(tally.skipped),
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
    for f in run.findings.notable().filter(|f| f.failed()) {
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
        if let (Some(e), Some(a)) = (&f.expected, &f.actual) {
            if let Some(apart) = told_apart(e, a, INDENT) {
                let _ = writeln!(s, "  {apart}");
            }
        }
        if let Some(l) = &f.location {
            let _ = writeln!(s, "  spec:     {}", one_line(&l.to_string()));
        }
        if let Some(h) = &f.hint {
            let _ = writeln!(s, "  hint:     {}", indented(h, INDENT));
        }
        if let Some(r) = &f.repro {
            let _ = writeln!(s, "  repro:");
            for line in r.lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    let skips = skip_summary(run);
    if !skips.is_empty() {
        let _ = write!(s, "\n{skips}");
    }
    for w in &run.warnings {
        let _ = writeln!(s, "\nwarning: {}", one_line(w));
    }
    if let Some(seed) = run.probe_seed {
        let _ = writeln!(s, "\nprobe seed: {seed} (replay with --seed {seed})");
    }
    let totals = run.totals();
    let verdict = crate::run::verdict_word(&totals, run.skips_fail);
    let because = crate::run::skips_failed_it(&totals, run.skips_fail)
        .map(|why| format!("; it fails because {why}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "\n{verdict}: {} checks, {} failed, {} skipped ({} migrations, {} spec files){because}",
        totals.passed + totals.failed + totals.skipped,
        totals.failed,
        totals.skipped,
        run.migrations.len(),
        run.specs.len()
    );
    s
}

/// The summary row's label: a relation's name, or, for groups of findings that are not a
/// relation, a label that cannot be read as one.
fn row_label(group: &str, is_relation: bool) -> String {
    match group {
        "migrations" if !is_relation => "(migration history)".to_string(),
        "functions" if !is_relation => "(functions no spec lists)".to_string(),
        other => other.to_string(),
    }
}

/// Why checks were skipped: one line per reason, with how many checks and which objects.
/// Reasons are the skip messages with their numbers taken out, up to the first `;`.
pub fn skip_summary(run: &Run) -> String {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for f in run.findings.notable().filter(|f| f.status == Status::Skip) {
        let reason = f.message.split(';').next().unwrap_or(&f.message).trim();
        let mut key = String::with_capacity(reason.len());
        let mut in_number = false;
        for c in reason.chars() {
            if c.is_ascii_digit() {
                if !in_number {
                    key.push('N');
                }
                in_number = true;
            } else {
                in_number = false;
                key.push(c);
            }
        }
        groups.entry(key).or_default().push(f.object.as_str());
    }
    if groups.is_empty() {
        return String::new();
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let mut groups: Vec<(String, Vec<&str>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut s = format!(
        "{total} check{} skipped, because:\n",
        if total == 1 { " was" } else { "s were" }
    );
    for (reason, objects) in groups {
        let _ = writeln!(s, "  {} × {}", objects.len(), one_line(&reason));
        let _ = writeln!(s, "      {}", one_line(&objects.join(", ")));
    }
    let _ = writeln!(s, "  (the reports list each skip with its full reason)");
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

    #[test]
    fn values_shown_alike_are_told_apart() {
        // A backslash and a t in the spec, a tab in the database: both show as \t.
        let apart = told_apart("'C:\\temp'", "'C:\temp'", "  ").unwrap();
        assert!(
            apart.contains(r#"expected "'C:\\temp'""#) && apart.contains(r#"actual "'C:\temp'""#),
            "{apart}"
        );
        assert!(!apart.contains('\t'), "{apart}");
        // Values the lines already tell apart get no such line.
        assert_eq!(told_apart("a", "b", "  "), None);
        assert_eq!(told_apart("a\nb", "a\\nb", "  "), None);
        assert_eq!(told_apart("same", "same", "  "), None);
    }
}
