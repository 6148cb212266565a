//! A spec → YAML text laid out like the hand-written specs: a header comment, one section
//! per kind of object separated by blank lines, columns as aligned one-line flow mappings,
//! foreign keys, CHECKs, triggers and functions as small blocks.
//!
//! The spec is serialised with serde first, so every field of the model is written, in the
//! model's order, unless it holds its default (see [`super::yaml::prune`]).

use serde_json::{Map, Value};

use super::yaml::{block_value, flow, literal_block, prune, scalar, Context};
use super::{Header, Notes};

/// Lines longer than this are written as blocks rather than one-line flow mappings.
const WIDTH: usize = 100;

/// How a section's entries are laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `name: { … }`, aligned, always on one line.
    Flow,
    /// One line when it fits in [`WIDTH`], else a block.
    FlowIfFits,
    /// Always a block of `key: value` lines.
    Block,
}

fn layout(section: &str) -> Option<Layout> {
    Some(match section {
        "columns" => Layout::Flow,
        "unique" | "indexes" | "extensions" | "types" | "sequences" => Layout::FlowIfFits,
        "foreign_keys" | "checks" | "triggers" | "functions" | "policies" => Layout::Block,
        "privileges" => Layout::FlowIfFits,
        _ => return None,
    })
}

/// The YAML text of one spec file (a relation spec or a schema document), `name` being
/// what the header calls it.
pub fn render(spec: &impl serde::Serialize, name: &str, notes: &Notes, header: &Header) -> String {
    let mut value = serde_json::to_value(spec).expect("a spec serialises");
    prune(&mut value);
    let Value::Object(top) = value else {
        unreachable!("a spec is a mapping")
    };
    let mut out = String::new();
    for line in header.lines(name) {
        push_comment(&mut out, "", &line);
    }
    for note in &notes.top {
        push_comment(&mut out, "", note);
    }
    let mut first_section = true;
    for (key, v) in &top {
        let fits = 2 + key.len() + flow(v).len() <= WIDTH;
        match (v, layout(key)) {
            (Value::Object(_), Some(Layout::FlowIfFits)) if key == "privileges" && fits => {
                out.push('\n');
                out.push_str(&format!("{}: {}\n", scalar(key, Context::Block), flow(v)));
            }
            (Value::Object(entries), Some(l)) => {
                out.push('\n');
                out.push_str(&format!("{}:\n", scalar(key, Context::Block)));
                section(&mut out, key, entries, l, notes);
            }
            (Value::Object(_) | Value::Array(_), None) if key != "requirements" => {
                if !first_section || key == "primary_key" {
                    out.push('\n');
                }
                out.push_str(&format!("{}: {}\n", scalar(key, Context::Block), flow(v)));
            }
            (Value::String(s), _) if literal_block(s).is_some() => out.push_str(&format!(
                "{}: {}\n",
                scalar(key, Context::Block),
                literal_block(s).unwrap_or_default()
            )),
            _ => out.push_str(&format!(
                "{}: {}\n",
                scalar(key, Context::Block),
                block_value(v)
            )),
        }
        if layout(key).is_some() {
            first_section = false;
        }
    }
    out
}

fn section(out: &mut String, name: &str, entries: &Map<String, Value>, l: Layout, notes: &Notes) {
    let keys: Vec<String> = entries.keys().map(|k| scalar(k, Context::Block)).collect();
    let one_line = |i: usize, v: &Value| -> Option<String> {
        let line = flow(v);
        match l {
            Layout::Flow => Some(line),
            Layout::FlowIfFits
                if 2 + keys[i].chars().count() + 2 + line.chars().count() <= WIDTH =>
            {
                Some(line)
            }
            _ => None,
        }
    };
    let lines: Vec<Option<String>> = entries
        .values()
        .enumerate()
        .map(|(i, v)| one_line(i, v))
        .collect();
    let width = keys
        .iter()
        .zip(&lines)
        .filter(|(_, l)| l.is_some())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (i, (raw_key, v)) in entries.iter().enumerate() {
        for note in notes
            .entries
            .get(&(name.to_string(), raw_key.clone()))
            .into_iter()
            .flatten()
        {
            push_comment(out, "  ", note);
        }
        let key = &keys[i];
        match &lines[i] {
            Some(line) => {
                let pad = " ".repeat(width - key.chars().count());
                out.push_str(&format!("  {key}:{pad} {line}\n"));
            }
            None => {
                out.push_str(&format!("  {key}:\n"));
                match v {
                    Value::Object(fields) => {
                        for (k, fv) in fields {
                            out.push_str(&format!(
                                "    {}: {}\n",
                                scalar(k, Context::Block),
                                block_value(fv)
                            ));
                        }
                    }
                    other => out.push_str(&format!("    {}\n", flow(other))),
                }
            }
        }
    }
}

/// `# text`, wrapped at [`WIDTH`] columns.
fn push_comment(out: &mut String, indent: &str, text: &str) {
    let mut line = format!("{indent}#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > WIDTH && line.len() > indent.len() + 1 {
            out.push_str(&line);
            out.push('\n');
            line = format!("{indent}#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}
