//! Writing YAML the way the hand-written specs do: plain scalars where YAML allows them,
//! quotes only where needed, flow mappings `{ a: 1, b: [x, y] }` for small values.

use serde_json::Value;

/// Where a scalar is written: flow collections forbid `,[]{}` in plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A block mapping value or key.
    Block,
    /// Inside `{ … }` or `[ … ]`.
    Flow,
}

/// A string as a YAML scalar: plain when that reads back as the same string, else quoted
/// (double quotes, or single quotes when the text has backslashes or double quotes).
pub fn scalar(s: &str, ctx: Context) -> String {
    if is_plain(s, ctx) {
        return s.to_string();
    }
    let has_control = s.chars().any(|c| c.is_control());
    if !s.contains('\'') && !has_control && (s.contains('\\') || s.contains('"')) {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain(s: &str, ctx: Context) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.chars().any(|c| c.is_control()) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if ctx == Context::Flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let special = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan",
    ];
    if special.contains(&lower.as_str()) {
        return false;
    }
    // Anything that might read as a number or a date (1, 1.5, 1e3, 0x1f, +1, .5,
    // 2024-01-01 10:00): a leading digit is plain only in words like `5 minutes`.
    if first.is_ascii_digit() || first == '+' || first == '.' {
        let date_like =
            s.len() >= 5 && s[..4].bytes().all(|b| b.is_ascii_digit()) && s.as_bytes()[4] == b'-';
        return first.is_ascii_digit()
            && s.contains(' ')
            && !date_like
            && s.split(' ')
                .skip(1)
                .all(|w| w.chars().all(|c| c.is_ascii_alphabetic()));
    }
    true
}

/// A multi-line string as a literal block (`|-`, indented two spaces), when it reads back
/// exactly: no control characters but line breaks, no line that starts or ends with white
/// space at the first line, no trailing spaces. `None` for text that does not qualify.
pub fn literal_block(s: &str) -> Option<String> {
    let ok = s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && !s.ends_with(['\n', ' '])
        && !s.chars().any(|c| c.is_control() && c != '\n')
        && s.lines()
            .all(|l| !l.ends_with([' ', '\t']) && !l.is_empty());
    ok.then(|| {
        let mut out = String::from("|-");
        for line in s.lines() {
            out.push_str("\n  ");
            out.push_str(line);
        }
        out
    })
}

/// A number as the specs write it: `0`, `1.5`, `-100`.
pub fn number(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) => crate::spec::number(f),
        _ => n.to_string(),
    }
}

/// A value in flow style, on one line.
pub fn flow(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => scalar(s, Context::Flow),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k, Context::Flow), flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// A value after `key: ` in block context: scalars unquoted where YAML allows, collections
/// in flow style.
pub fn block_value(v: &Value) -> String {
    match v {
        Value::String(s) => scalar(s, Context::Block),
        other => flow(other),
    }
}

/// Remove what a reader would take as the default anyway: nulls, `false`, empty lists and
/// maps, `nullable: true`, `validated: true`, `enforced: true`, and foreign-key actions `no_action`.
/// An entry of a named collection (a sequence, an extension, …) is kept even when all its
/// fields are defaults: `seq: {}` still declares the sequence.
pub fn prune(v: &mut Value) {
    prune_in(v, false)
}

fn prune_in(v: &mut Value, named_entries: bool) {
    match v {
        Value::Object(map) => {
            map.retain(|k, v| {
                prune_in(v, NAMED_COLLECTIONS.contains(&k.as_str()));
                named_entries || !is_default(k, v)
            });
        }
        Value::Array(items) => items.iter_mut().for_each(|i| prune_in(i, false)),
        _ => {}
    }
}

/// Sections whose keys are object names.
const NAMED_COLLECTIONS: &[&str] = &[
    "columns",
    "unique",
    "foreign_keys",
    "checks",
    "indexes",
    "triggers",
    "functions",
    "extensions",
    "types",
    "sequences",
    // `autovacuum_enabled: false` is no default: it turns autovacuum off.
    "parameters",
];

/// Whether `key: value` states what an absent key means anyway.
fn is_default(key: &str, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) if matches!(key, "nullable" | "validated" | "enforced" | "populated") => *b,
        // `row_security: { enabled: false }` states that RLS is off.
        Value::Bool(_) if key == "enabled" => false,
        Value::Bool(b) => !b,
        Value::String(s) => matches!(key, "on_delete" | "on_update") && s == "no_action",
        // `public: []` states that PUBLIC holds nothing (absent: PostgreSQL's default).
        Value::Array(a) => a.is_empty() && key != "public",
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar("varchar(255)", Context::Flow), "varchar(255)");
        assert_eq!(scalar("numeric(12,2)", Context::Flow), "\"numeric(12,2)\"");
        assert_eq!(scalar("numeric(12,2)", Context::Block), "numeric(12,2)");
        assert_eq!(scalar("'open'", Context::Flow), "\"'open'\"");
        assert_eq!(scalar("false", Context::Flow), "\"false\"");
        assert_eq!(scalar("0", Context::Flow), "\"0\"");
        assert_eq!(scalar("^[a-z]\\.$", Context::Flow), "'^[a-z]\\.$'");
        assert_eq!(scalar("a: b", Context::Block), "\"a: b\"");
        assert_eq!(scalar("", Context::Block), "\"\"");
        assert_eq!(scalar("x'\\y", Context::Block), "x'\\y");
        assert_eq!(scalar("'x\\y", Context::Block), "\"'x\\\\y\"");
        assert_eq!(
            scalar("CURRENT_TIMESTAMP", Context::Flow),
            "CURRENT_TIMESTAMP"
        );
        assert_eq!(scalar("-1", Context::Flow), "\"-1\"");
        assert_eq!(scalar("5 minutes", Context::Flow), "5 minutes");
        assert_eq!(
            scalar("2024-01-01 10:00", Context::Flow),
            "\"2024-01-01 10:00\""
        );
        assert_eq!(
            scalar("1 day 02:00:00", Context::Flow),
            "\"1 day 02:00:00\""
        );
    }

    #[test]
    fn every_quoted_scalar_reads_back_as_written() {
        for s in [
            "'open'",
            "a, b",
            "x\"y",
            "back\\slash",
            "it's \\ \"both\"",
            "yes",
            "1e3",
            "#x",
            "line\nbreak",
            " pad",
            "{a}",
            "a #b",
            "ok",
            "5 minutes",
            "12 h",
        ] {
            for ctx in [Context::Flow, Context::Block] {
                let doc = match ctx {
                    Context::Flow => format!("k: [{}]\n", scalar(s, ctx)),
                    Context::Block => format!("k: {}\n", scalar(s, ctx)),
                };
                let back: serde_json::Value = serde_saphyr::from_str(&doc).unwrap();
                let got = match ctx {
                    Context::Flow => back["k"][0].clone(),
                    Context::Block => back["k"].clone(),
                };
                assert_eq!(got, json!(s), "{doc}");
            }
        }
    }

    #[test]
    fn literal_blocks_read_back_as_written() {
        for s in [
            "SELECT a,\n    b\n   FROM t",
            "x: y\n  # not a comment\n'q' \"dq\" \\",
        ] {
            let block = literal_block(s).expect(s);
            let back: serde_json::Value =
                serde_saphyr::from_str(&format!("k: {block}\nnext: 1\n")).unwrap();
            assert_eq!(back["k"], json!(s));
        }
        assert_eq!(literal_block("one line"), None);
        assert_eq!(literal_block("trailing \nspace"), None);
        assert_eq!(literal_block(" leading\nspace"), None);
        assert_eq!(literal_block("blank\n\nline"), None);
    }

    #[test]
    fn defaults_are_pruned() {
        let mut v = json!({"type": "uuid", "nullable": true, "default": null,
                           "fk": {"on_delete": "no_action", "on_update": "cascade", "deferrable": false},
                           "keys": [], "unique": false, "not_null": {"nullable": false},
                           "ck": {"validated": false}, "ok": {"validated": true},
                           "info": {"enforced": false}, "on": {"enforced": true},
                           "sequences": {"s": {"cycle": false}}});
        prune(&mut v);
        assert_eq!(
            v,
            json!({"type": "uuid", "fk": {"on_update": "cascade"}, "not_null": {"nullable": false},
                   "ck": {"validated": false}, "info": {"enforced": false},
                   "sequences": {"s": {}}})
        );
    }
}
