//! `run.json` read back as `check` writes it, faster than a reader-fed parse.
//!
//! With reports, `check` parses the record back from the bytes it writes (see
//! [`super::write_all`]). serde_json parses from a reader about three times slower than from
//! a slice, and a thousand-table record is tens of megabytes, almost all of it findings. The
//! writer's layout is fixed (pretty JSON, two spaces per level, the findings one object per
//! element at depth two), so the findings can be cut out line by line and each parsed from
//! a slice of its own, while the rest of the record is gathered and parsed in one piece with
//! an empty findings array. No JSON string holds a raw line break, so a line is structure:
//! `    {` opens a finding and `    }` or `    },` closes it (the lines of its members are
//! indented further).
//!
//! A text in any other layout never reaches the findings state and is parsed whole, as
//! before; one that reaches it but does not follow it is refused. The result is the record
//! [`super::json::parse`] gives for the same bytes (a unit test holds the two together).

use std::io::BufRead;
use std::path::Path;

use super::json::{checked, RunRecord, SharedFiles};
use crate::chunked::Chunked;
use crate::error::Result;

/// The line that opens a non-empty findings array in the writer's layout.
const FINDINGS_OPEN: &[u8] = b"  \"findings\": [\n";

/// Where the reader is in the record's lines.
enum Part {
    /// Before the findings: lines go to the outer record.
    Head,
    /// Between findings; `more` when the last one closed with a comma.
    Between { more: bool },
    /// Inside a finding that opened at `line`.
    Inside { line: usize },
    /// After the findings: lines go to the outer record.
    Tail,
}

/// Parse the record `check` is writing, from `reader` (`path` is for messages), with the
/// checks of [`super::json::parse`].
pub fn parse_written(reader: impl std::io::Read, path: &Path) -> Result<RunRecord> {
    let _files = SharedFiles::scope();
    checked(cut_and_parse(reader), path)
}

fn cut_and_parse(reader: impl std::io::Read) -> serde_json::Result<RunRecord> {
    let refuse = |line: usize, what: &str| {
        <serde_json::Error as serde::de::Error>::custom(format!(
            "line {line} is not where the writer puts it ({what})"
        ))
    };
    let mut input = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut outer = Vec::new();
    let mut findings = Chunked::new();
    let mut element = Vec::new();
    let mut line = Vec::new();
    let mut number = 0;
    let mut part = Part::Head;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .map_err(serde_json::Error::io)?
            == 0
        {
            break;
        }
        number += 1;
        part = match part {
            Part::Head if line == FINDINGS_OPEN => Part::Between { more: true },
            Part::Head => {
                outer.extend_from_slice(&line);
                Part::Head
            }
            Part::Between { more: true } if line == b"    {\n" => {
                element.clear();
                element.extend_from_slice(b"{");
                Part::Inside { line: number }
            }
            Part::Between { more: false } if line == b"  ],\n" || line == b"  ]\n" => {
                outer.extend_from_slice(b"  \"findings\": []");
                outer.extend_from_slice(&line[3..]);
                Part::Tail
            }
            Part::Between { .. } => return Err(refuse(number, "between two findings")),
            Part::Inside { line: opened } if line == b"    }\n" || line == b"    },\n" => {
                element.extend_from_slice(b"}");
                let finding = serde_json::from_slice(&element).map_err(|e| {
                    <serde_json::Error as serde::de::Error>::custom(format!(
                        "{e}, in the finding that opens at line {opened}"
                    ))
                })?;
                findings.push(finding);
                Part::Between {
                    more: line.len() == 7,
                }
            }
            Part::Inside { line: opened } => {
                element.extend_from_slice(&line);
                Part::Inside { line: opened }
            }
            Part::Tail => {
                outer.extend_from_slice(&line);
                Part::Tail
            }
        };
    }
    let cut = match part {
        Part::Head => false,
        Part::Tail => true,
        Part::Between { .. } | Part::Inside { .. } => {
            return Err(refuse(number, "the text ends inside the findings"))
        }
    };
    let mut record: RunRecord = serde_json::from_slice(&outer)?;
    if cut {
        record.findings = findings;
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn finding(i: usize, message: &str) -> Value {
        let status = ["pass", "fail", "skip"][i % 3];
        let mut f = json!({
            "code": "column.type",
            "table": format!("t{}", i % 3),
            "object": format!("t{}.c{i}", i % 3),
            "status": status,
            "expected": "integer",
            "actual": if i.is_multiple_of(2) { Value::Null } else { json!("bigint") },
            "message": message,
            "location": {"file": format!("specs/t{}.yaml", i % 3), "line": i, "column": null},
        });
        if i % 4 == 1 {
            f["requirements"] = json!(["BR-001", "BR-002"]);
            f["hint"] = json!("fix it\n    },\n  ],");
            f["repro"] = json!("BEGIN;\nSELECT '{';\n    }\nROLLBACK;");
        }
        f
    }

    fn record(findings: Vec<Value>, tail: bool) -> Value {
        let totals = |s: &str| findings.iter().filter(|f| f["status"] == s).count();
        let mut r = json!({
            "format_version": 1,
            "tool_version": "0.1.0",
            "started_at": "2026-12-04T05:00:00Z",
            "finished_at": "2026-12-04T05:00:01Z",
            "command_line": ["reims-verify", "check"],
            "database": "ephemeral cluster",
            "server_version": "15.18",
            "ephemeral": true,
            "migrations": [{"name": "001.sql", "status": "applied"}],
            "specs": [],
            "phases": [{"name": "specs", "started_millis": 0, "millis": 3}],
            "totals": {"passed": totals("pass"), "failed": totals("fail"), "skipped": totals("skip")},
            "findings": findings,
        });
        if tail {
            r["sensitive_columns"] = json!([]);
            r["schema_map"] = json!(null);
        }
        r
    }

    /// The bytes as `check`'s writer lays them out: pretty, two spaces, a final newline.
    fn written(value: &Value) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(value).unwrap();
        bytes.push(b'\n');
        bytes
    }

    fn both(bytes: &[u8]) -> (String, String) {
        let path = Path::new("run.json");
        let whole = super::super::json::parse(bytes, path).map(|r| format!("{r:?}"));
        let cut = parse_written(bytes, path).map(|r| format!("{r:?}"));
        (
            whole.unwrap_or_else(|e| format!("error: {e}")),
            cut.unwrap_or_else(|e| format!("error: {e}")),
        )
    }

    #[test]
    fn the_cut_parse_gives_the_whole_parse_in_every_layout() {
        let many: Vec<Value> = (0..40)
            .map(|i| finding(i, &format!("finding {i} é")))
            .collect();
        for (what, value) in [
            ("many, with members after", record(many.clone(), true)),
            ("many, findings last", record(many.clone(), false)),
            ("one", record(vec![finding(1, "one")], true)),
            ("none", record(Vec::new(), true)),
        ] {
            let bytes = written(&value);
            let (whole, cut) = both(&bytes);
            assert!(!whole.starts_with("error"), "{what}: {whole}");
            assert_eq!(cut, whole, "{what}");
            // Compact: another layout, parsed whole.
            let (whole, cut) = both(&serde_json::to_vec(&value).unwrap());
            assert_eq!(cut, whole, "{what}, compact");
        }
    }

    #[test]
    fn a_text_cut_short_or_broken_inside_the_findings_is_refused() {
        let bytes = written(&record((0..5).map(|i| finding(i, "m")).collect(), true));
        let text = String::from_utf8(bytes).unwrap();
        let at = text.find("\"message\": \"m\"").unwrap();
        for (what, broken) in [
            ("cut inside a finding", text[..at].to_string()),
            (
                "cut between findings",
                text[..text.find("    },\n").unwrap() + 7].to_string(),
            ),
            (
                "a member broken",
                text.replacen("\"message\": \"m\"", "\"message\": m\"", 1),
            ),
        ] {
            let (whole, cut) = both(broken.as_bytes());
            assert!(
                whole.starts_with("error"),
                "{what}: the whole parse took it"
            );
            assert!(cut.starts_with("error"), "{what}: {cut}");
        }
        let (_, cut) = both(
            text.replacen("\"message\": \"m\"", "\"message\": m\"", 1)
                .as_bytes(),
        );
        assert!(cut.contains("in the finding that opens at line"), "{cut}");
        // Valid JSON laid out otherwise once the findings began is refused too, though a
        // whole parse takes it: only the writer's own bytes are read this way.
        let moved = text.replacen("    },\n    {\n", "    },    {\n", 1);
        let (whole, cut) = both(moved.as_bytes());
        assert!(!whole.starts_with("error"), "{whole}");
        assert!(cut.starts_with("error"), "{cut}");
        let indented = text.replacen("    },\n    {\n", "    },\n     {\n", 1);
        let (whole, cut) = both(indented.as_bytes());
        assert!(!whole.starts_with("error"), "{whole}");
        assert!(cut.contains("is not where the writer puts it"), "{cut}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any texts in the findings, line breaks and braces included, parse as they do whole.
        #[test]
        fn any_texts_parse_as_they_do_whole(
            messages in proptest::collection::vec(any::<String>(), 1..12),
            tail in any::<bool>(),
        ) {
            let findings = messages.iter().enumerate().map(|(i, m)| finding(i, m)).collect();
            let (whole, cut) = both(&written(&record(findings, tail)));
            prop_assert!(!whole.starts_with("error"), "{}", whole);
            prop_assert_eq!(cut, whole);
        }
    }
}
