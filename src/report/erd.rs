//! The entity–relationship diagram of the checked schema: its relations and foreign keys,
//! recorded in the run record ([`SchemaMap`]) and drawn as inline SVG in `report.html`.
//!
//! The layout is computed here, deterministically (same map, same bytes), with no external
//! tool: tables in layers (a referenced table above the tables that reference it), each
//! layer ordered by its parents' positions and wrapped into rows, foreign keys as curves
//! ending in an arrowhead at the referenced table. The SVG uses no scripts, fonts, images,
//! markers or links outside the page; each table links to its checks.
//!
//! Up to [`SINGLE_DIAGRAM`] relations make one diagram. A larger schema is grouped: by
//! business requirement where the specs name one, else by connected component of the
//! foreign-key graph (tables with no foreign key at all share one group), and groups larger
//! than [`GROUP_LIMIT`] are cut into parts. An overview diagram then shows the groups and
//! how many foreign keys run between them, and each group gets its own diagram in which a
//! foreign key to a table of another group ends at a dashed stub naming that table. Every
//! relation is drawn in exactly one diagram, every foreign key in the diagram of its
//! referencing table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

pub use super::schema_map::{MapForeignKey, MapRelation, SchemaMap};
use super::view_parts::anchor;

/// At most this many relations are drawn as one diagram without grouping.
pub const SINGLE_DIAGRAM: usize = 40;
/// Groups larger than this are cut into parts.
pub const GROUP_LIMIT: usize = 40;
/// Key columns listed in a table's box before `+ N more`.
const KEY_LINES: usize = 6;
/// Boxes per row before a layer wraps.
const ROW_WIDTH: usize = 6;

/// One drawn diagram.
#[derive(Debug, Clone, Serialize)]
pub struct Diagram {
    /// HTML id of the diagram's section.
    pub id: String,
    /// What it shows, e.g. `BR-008` or `All 16 relations`.
    pub title: String,
    /// Relations drawn in it (0 for the overview).
    pub relations: usize,
    /// The SVG element.
    pub svg: String,
}

/// Every diagram of a map: one, or an overview and one per group.
pub fn diagrams(map: &SchemaMap) -> Vec<Diagram> {
    if map.relations.is_empty() {
        return vec![];
    }
    if map.relations.len() <= SINGLE_DIAGRAM {
        let names: Vec<&str> = map.relations.iter().map(|r| r.name.as_str()).collect();
        return vec![Diagram {
            id: "erd-all".into(),
            title: format!("All {} relations", names.len()),
            relations: names.len(),
            svg: draw_group(map, &names, &BTreeMap::new()),
        }];
    }
    let groups = groups(map);
    let group_of: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.members.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let mut out = vec![Diagram {
        id: "erd-overview".into(),
        title: format!(
            "Overview: {} relations in {} groups",
            map.relations.len(),
            groups.len()
        ),
        relations: 0,
        svg: draw_overview(map, &groups, &group_of),
    }];
    let titles: BTreeMap<&str, String> = group_of
        .iter()
        .map(|(t, i)| (*t, groups[*i].title.clone()))
        .collect();
    for (i, g) in groups.iter().enumerate() {
        let names: Vec<&str> = g.members.iter().map(String::as_str).collect();
        out.push(Diagram {
            id: group_id(i),
            title: g.title.clone(),
            relations: names.len(),
            svg: draw_group(map, &names, &titles),
        });
    }
    out
}

fn group_id(i: usize) -> String {
    format!("erd-g{}", i + 1)
}

/// A group of relations drawn together.
#[derive(Debug, Clone, PartialEq)]
struct Group {
    title: String,
    members: Vec<String>,
}

/// Groups of a large map: by first requirement, else by connected component; parts of at
/// most [`GROUP_LIMIT`].
fn groups(map: &SchemaMap) -> Vec<Group> {
    let mut by_req: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rest: Vec<&str> = Vec::new();
    for r in &map.relations {
        let mut reqs = r.requirements.clone();
        reqs.sort();
        match reqs.first() {
            Some(req) => by_req.entry(req.clone()).or_default().push(r.name.clone()),
            None => rest.push(&r.name),
        }
    }
    let mut raw: Vec<Group> = by_req
        .into_iter()
        .map(|(req, members)| Group {
            title: req,
            members,
        })
        .collect();
    // Connected components of the rest (union-find over their foreign keys).
    let index: BTreeMap<&str, usize> = rest.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut parent: Vec<usize> = (0..rest.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for fk in &map.foreign_keys {
        if let (Some(&a), Some(&b)) = (index.get(fk.from.as_str()), index.get(fk.to.as_str())) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut comps: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, n) in rest.iter().enumerate() {
        let root = find(&mut parent, i);
        comps.entry(root).or_default().push(n.to_string());
    }
    let mut loners = Vec::new();
    for members in comps.into_values() {
        if members.len() == 1 {
            loners.extend(members);
        } else {
            raw.push(Group {
                title: format!("Related to {}", members[0]),
                members,
            });
        }
    }
    if !loners.is_empty() {
        raw.push(Group {
            title: "Relations without foreign keys".into(),
            members: loners,
        });
    }
    let mut out = Vec::new();
    for g in raw {
        if g.members.len() <= GROUP_LIMIT {
            out.push(g);
            continue;
        }
        let parts = g.members.len().div_ceil(GROUP_LIMIT);
        let ordered = layer_order(map, &g.members);
        for (i, chunk) in ordered.chunks(GROUP_LIMIT).enumerate() {
            out.push(Group {
                title: format!("{} (part {} of {parts})", g.title, i + 1),
                members: chunk.to_vec(),
            });
        }
    }
    out
}

/// Members in layout order (layer by layer), so that parts keep related tables together.
fn layer_order(map: &SchemaMap, members: &[String]) -> Vec<String> {
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let layers = layers(map, &names);
    layers.into_iter().flatten().map(str::to_string).collect()
}

/// Escape text for XML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

const CHAR_W: f64 = 7.2;
/// The group that holds the connecting lines: drawn under the boxes, without fill.
const EDGES: &str = "<g class=\"erd-edges\" fill=\"none\" stroke=\"#8c959f\" stroke-width=\"1.3\">";
const LINE_H: f64 = 16.0;
const PAD: f64 = 8.0;
const GAP_X: f64 = 36.0;
const GAP_Y: f64 = 56.0;
const MAX_CHARS: usize = 34;

/// Layers of `names`: a table after every table of the set it references; within a layer,
/// by the mean position of its referenced tables, then by name. Cycles are cut.
fn layers<'a>(map: &SchemaMap, names: &[&'a str]) -> Vec<Vec<&'a str>> {
    let set: BTreeSet<&str> = names.iter().copied().collect();
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for fk in &map.foreign_keys {
        if fk.from != fk.to && set.contains(fk.from.as_str()) && set.contains(fk.to.as_str()) {
            parents
                .entry(map_name(names, &fk.from))
                .or_default()
                .insert(map_name(names, &fk.to));
        }
    }
    let mut depth: BTreeMap<&str, usize> = names.iter().map(|n| (*n, 0)).collect();
    // Longest path, relaxed at most |names| times (so a cycle cannot loop forever).
    for _ in 0..names.len() {
        let mut changed = false;
        for n in names {
            let d = parents
                .get(n)
                .map(|ps| ps.iter().map(|p| depth[p] + 1).max().unwrap_or(0))
                .unwrap_or(0)
                .min(names.len());
            if d > depth[n] {
                depth.insert(n, d);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let max = depth.values().copied().max().unwrap_or(0);
    let mut out: Vec<Vec<&str>> = vec![Vec::new(); max + 1];
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort();
    for n in sorted {
        out[depth[n]].push(n);
    }
    out.retain(|l| !l.is_empty());
    // Order each layer by its parents' positions in the layers above.
    let mut pos: BTreeMap<&str, f64> = BTreeMap::new();
    for layer in out.iter_mut() {
        let key = |n: &&str| -> f64 {
            let ps: Vec<f64> = parents
                .get(n)
                .into_iter()
                .flatten()
                .filter_map(|p| pos.get(p).copied())
                .collect();
            if ps.is_empty() {
                f64::MAX
            } else {
                ps.iter().sum::<f64>() / ps.len() as f64
            }
        };
        let mut keyed: Vec<(f64, &str)> = layer.iter().map(|n| (key(n), *n)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        *layer = keyed.into_iter().map(|(_, n)| n).collect();
        for (i, n) in layer.iter().enumerate() {
            pos.insert(n, i as f64);
        }
    }
    // Then the top layer by its children's positions, so that a table referenced by many
    // sits above them.
    if out.len() > 1 {
        let mut children: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (child, ps) in &parents {
            for p in ps {
                if let Some(x) = pos.get(child) {
                    children.entry(p).or_default().push(*x);
                }
            }
        }
        let mean = |n: &str| -> f64 {
            children
                .get(n)
                .filter(|v| !v.is_empty())
                .map(|v| v.iter().sum::<f64>() / v.len() as f64)
                .unwrap_or(f64::MAX)
        };
        let mut keyed: Vec<(f64, &str)> = out[0].iter().map(|n| (mean(n), *n)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        out[0] = keyed.into_iter().map(|(_, n)| n).collect();
    }
    out
}

fn map_name<'a>(names: &[&'a str], n: &str) -> &'a str {
    names.iter().find(|x| **x == n).copied().unwrap_or_default()
}

/// A box on the canvas.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn top(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y)
    }
    fn bottom(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h)
    }
}

/// The text lines of a table's box after its name.
fn box_lines(map: &SchemaMap, rel: &MapRelation) -> Vec<String> {
    let mut lines = Vec::new();
    for c in &rel.primary_key {
        lines.push(format!("PK {c}"));
    }
    for fk in map.foreign_keys.iter().filter(|f| f.from == rel.name) {
        lines.push(format!("FK {} → {}", fk.columns.join(", "), fk.to));
    }
    let shown = lines.len().min(KEY_LINES);
    let hidden_keys = lines.len() - shown;
    lines.truncate(shown);
    let keyed: BTreeSet<&String> = rel
        .primary_key
        .iter()
        .chain(
            map.foreign_keys
                .iter()
                .filter(|f| f.from == rel.name)
                .flat_map(|f| f.columns.iter()),
        )
        .collect();
    let others = rel.columns.saturating_sub(keyed.len());
    if hidden_keys > 0 {
        lines.push(format!("+ {hidden_keys} more keys"));
    }
    if others > 0 {
        lines.push(format!(
            "+ {others} column{}",
            if others == 1 { "" } else { "s" }
        ));
    }
    if rel.kind != "table" {
        lines.insert(0, format!("({})", rel.kind));
    }
    lines
}

fn width_of(lines: &[String], title: &str) -> f64 {
    let chars = lines
        .iter()
        .map(|l| clip(l, MAX_CHARS).chars().count())
        .chain(std::iter::once(clip(title, MAX_CHARS).chars().count()))
        .max()
        .unwrap_or(8);
    (chars as f64 * CHAR_W + 2.0 * PAD).max(96.0)
}

fn svg_open(out: &mut String, w: f64, h: f64, label: &str) {
    let _ = write!(
        out,
        "<svg class=\"erd\" role=\"img\" aria-label=\"{}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" preserveAspectRatio=\"xMinYMin meet\" font-family=\"ui-monospace, SFMono-Regular, Menlo, Consolas, monospace\" font-size=\"12\" fill=\"#1f2328\">",
        esc(label)
    );
    out.push_str("<title>");
    out.push_str(&esc(label));
    out.push_str("</title>");
}

/// An arrowhead at `(x, y)` pointing up (into the bottom of the referenced table).
fn arrow_up(out: &mut String, x: f64, y: f64) {
    let _ = write!(
        out,
        "<polygon class=\"erd-head\" fill=\"#6e7781\" points=\"{x:.1},{y:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
        x - 4.5,
        y + 8.0,
        x + 4.5,
        y + 8.0
    );
}

/// One diagram of `names`; `titles` names the group of every relation of the map (empty
/// when everything is drawn at once), for stubs of foreign keys that leave the diagram.
fn draw_group(map: &SchemaMap, names: &[&str], titles: &BTreeMap<&str, String>) -> String {
    let by_name: BTreeMap<&str, &MapRelation> =
        map.relations.iter().map(|r| (r.name.as_str(), r)).collect();
    let layers = layers(map, names);
    // Stubs: relations outside the diagram that its tables reference.
    let inside: BTreeSet<&str> = names.iter().copied().collect();
    let outside: BTreeSet<&str> = map
        .foreign_keys
        .iter()
        .filter(|f| inside.contains(f.from.as_str()) && !inside.contains(f.to.as_str()))
        .map(|f| f.to.as_str())
        .collect();
    // Rows: stubs first (they are referenced, so they go on top), then each layer wrapped.
    let mut rows: Vec<Vec<(&str, bool)>> = Vec::new();
    let stubs: Vec<&str> = outside.iter().copied().collect();
    for chunk in stubs.chunks(ROW_WIDTH) {
        rows.push(chunk.iter().map(|n| (*n, true)).collect());
    }
    // Relations joined to no other by a foreign key go last, out of the way.
    let joined: BTreeSet<&str> = map
        .foreign_keys
        .iter()
        .filter(|f| f.from != f.to)
        .flat_map(|f| [f.from.as_str(), f.to.as_str()])
        .collect();
    let mut alone: Vec<&str> = Vec::new();
    for layer in &layers {
        let (linked, single): (Vec<&str>, Vec<&str>) =
            layer.iter().partition(|n| joined.contains(**n));
        alone.extend(single);
        for chunk in linked.chunks(ROW_WIDTH) {
            rows.push(chunk.iter().map(|n| (*n, false)).collect());
        }
    }
    alone.sort();
    for chunk in alone.chunks(ROW_WIDTH) {
        rows.push(chunk.iter().map(|n| (*n, false)).collect());
    }
    let mut rects: BTreeMap<(&str, bool), Rect> = BTreeMap::new();
    let mut lines_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut y, mut width) = (PAD * 2.0, 0.0f64);
    for row in &rows {
        let mut x = PAD * 2.0;
        let mut row_h = 0.0f64;
        for (name, stub) in row {
            let (w, h) = if *stub {
                let label = format!("→ {name}");
                (width_of(&[], &label), LINE_H + 2.0 * PAD)
            } else {
                let lines = by_name
                    .get(name)
                    .map(|r| box_lines(map, r))
                    .unwrap_or_default();
                let w = width_of(&lines, name);
                let h = LINE_H * (1 + lines.len()) as f64 + 2.0 * PAD;
                lines_of.insert(name, lines);
                (w, h)
            };
            rects.insert((name, *stub), Rect { x, y, w, h });
            x += w + GAP_X;
            row_h = row_h.max(h);
        }
        width = width.max(x - GAP_X + PAD * 2.0);
        y += row_h + GAP_Y;
    }
    // Centre each row.
    for row in &rows {
        let right = row
            .iter()
            .filter_map(|k| rects.get(k))
            .map(|r| r.x + r.w)
            .fold(0.0f64, f64::max);
        let shift = ((width - PAD * 2.0 - right) / 2.0).max(0.0);
        for k in row {
            if let Some(r) = rects.get_mut(k) {
                r.x += shift;
            }
        }
    }
    let height = y - GAP_Y + PAD * 2.0;
    let mut out = String::new();
    let label = format!(
        "Entity–relationship diagram: {} relations, {} foreign keys",
        names.len(),
        map.foreign_keys
            .iter()
            .filter(|f| inside.contains(f.from.as_str()))
            .count()
    );
    svg_open(&mut out, width.max(200.0), height.max(60.0), &label);
    // Where each edge leaves its referencing box (spread along its top edge, ordered by
    // the target's position) and enters its referenced box (spread along the bottom,
    // ordered by the source's position), so that edges do not share end points.
    let drawn: Vec<(&MapForeignKey, Rect, Rect)> = map
        .foreign_keys
        .iter()
        .filter(|f| inside.contains(f.from.as_str()) && f.from != f.to)
        .filter_map(|f| {
            let from = rects.get(&(f.from.as_str(), false))?;
            let to = rects.get(&(f.to.as_str(), !inside.contains(f.to.as_str())))?;
            Some((f, *from, *to))
        })
        .collect();
    let mut starts: BTreeMap<&str, Vec<(f64, usize)>> = BTreeMap::new();
    let mut ends: BTreeMap<(&str, bool), Vec<(f64, usize)>> = BTreeMap::new();
    for (i, (f, from, to)) in drawn.iter().enumerate() {
        starts
            .entry(f.from.as_str())
            .or_default()
            .push((to.top().0, i));
        ends.entry((f.to.as_str(), !inside.contains(f.to.as_str())))
            .or_default()
            .push((from.top().0, i));
    }
    let spread = |groups: Vec<Vec<(f64, usize)>>, rect_of: &dyn Fn(usize) -> Rect| {
        let mut at = vec![0.0; drawn.len()];
        for mut v in groups {
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let k = v.len() as f64;
            for (j, (_, i)) in v.iter().enumerate() {
                let r = rect_of(*i);
                at[*i] = r.x + r.w * (j as f64 + 1.0) / (k + 1.0);
            }
        }
        at
    };
    let start_x = spread(starts.into_values().collect(), &|i| drawn[i].1);
    let end_x = spread(ends.into_values().collect(), &|i| drawn[i].2);
    let port: BTreeMap<(&str, &str), (f64, f64)> = drawn
        .iter()
        .enumerate()
        .map(|(i, (f, _, _))| ((f.from.as_str(), f.name.as_str()), (start_x[i], end_x[i])))
        .collect();
    // Edges under boxes.
    out.push_str(EDGES);
    for fk in map
        .foreign_keys
        .iter()
        .filter(|f| inside.contains(f.from.as_str()))
    {
        let Some(from) = rects.get(&(fk.from.as_str(), false)) else {
            continue;
        };
        let stub = !inside.contains(fk.to.as_str());
        let Some(to) = rects.get(&(fk.to.as_str(), stub)) else {
            continue;
        };
        let tip = format!(
            "{}: {}({}) → {}({})",
            fk.name,
            fk.from,
            fk.columns.join(", "),
            fk.to,
            fk.ref_columns.join(", ")
        );
        let id = anchor("erd-fk", &format!("{}.{}", fk.from, fk.name));
        let class = if stub { "erd-fk erd-out" } else { "erd-fk" };
        let _ = write!(
            out,
            "<g id=\"{id}\" class=\"{class}\"><title>{}</title>",
            esc(&tip)
        );
        if fk.from == fk.to {
            // A self-reference: a loop on the right side.
            let (x, y0) = (from.x + from.w, from.y + 10.0);
            let _ = write!(
                out,
                "<path d=\"M {x:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {x:.1} {y0:.1}\"/>",
                y0 + 14.0,
                x + 28.0,
                y0 + 18.0,
                x + 28.0,
                y0 - 4.0
            );
        } else {
            let (mut x1, y1) = from.top();
            let (mut x2, y2) = to.bottom();
            if let Some((a, b)) = port.get(&(fk.from.as_str(), fk.name.as_str())) {
                (x1, x2) = (*a, *b);
            }
            let bend = ((y1 - y2).abs() / 2.0).max(24.0);
            let _ = write!(
                out,
                "<path d=\"M {x1:.1} {y1:.1} C {x1:.1} {:.1}, {x2:.1} {:.1}, {x2:.1} {:.1}\"/>",
                y1 - bend,
                y2 + 8.0 + bend,
                y2 + 8.0
            );
            arrow_up(&mut out, x2, y2);
        }
        out.push_str("</g>");
    }
    out.push_str("</g>");
    // Boxes.
    for ((name, stub), r) in &rects {
        if *stub {
            let group = titles.get(name).cloned().unwrap_or_default();
            let _ = write!(
                out,
                "<g class=\"erd-stub\"><title>{} (in {})</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"#8c959f\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#59636e\">{}</text></g>",
                esc(name),
                esc(&group),
                r.x,
                r.y,
                r.w,
                r.h,
                r.x + PAD,
                r.y + PAD + 12.0,
                esc(&clip(&format!("→ {name}"), MAX_CHARS))
            );
            continue;
        }
        let rel = by_name.get(name);
        let reqs = rel.map(|r| r.requirements.join(", ")).unwrap_or_default();
        let tip = if reqs.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({reqs})")
        };
        let _ = write!(
            out,
            "<a href=\"#{}\"><g id=\"{}\" class=\"erd-table\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"#ffffff\" stroke=\"#59636e\"/><rect class=\"erd-head-row\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"#ddf4ff\" stroke=\"#59636e\"/><text class=\"erd-name\" x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
            anchor("t", name),
            anchor("erd-t", name),
            esc(&tip),
            r.x,
            r.y,
            r.w,
            r.h,
            r.x,
            r.y,
            r.w,
            LINE_H + PAD,
            r.x + PAD,
            r.y + PAD + 11.0,
            esc(&clip(name, MAX_CHARS))
        );
        for (i, line) in lines_of.get(name).into_iter().flatten().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                r.x + PAD,
                r.y + PAD + 12.0 + LINE_H * (i + 1) as f64,
                esc(&clip(line, MAX_CHARS))
            );
        }
        out.push_str("</g></a>");
    }
    out.push_str("</svg>");
    out
}

/// The overview of a grouped map: one box per group, and between two groups a line
/// labelled with the number of foreign keys that join them.
fn draw_overview(map: &SchemaMap, groups: &[Group], group_of: &BTreeMap<&str, usize>) -> String {
    let mut links: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for fk in &map.foreign_keys {
        if let (Some(&a), Some(&b)) = (group_of.get(fk.from.as_str()), group_of.get(fk.to.as_str()))
        {
            if a != b {
                *links.entry((a.min(b), a.max(b))).or_insert(0) += 1;
            }
        }
    }
    let per_row = 6usize;
    let (bw, bh) = (220.0, 2.0 * LINE_H + 2.0 * PAD);
    let (gx, gy) = (48.0, 64.0);
    let rows = groups.len().div_ceil(per_row);
    let width = PAD * 4.0 + per_row.min(groups.len()) as f64 * (bw + gx) - gx;
    let height = PAD * 4.0 + rows as f64 * (bh + gy) - gy;
    let at = |i: usize| -> Rect {
        Rect {
            x: PAD * 2.0 + (i % per_row) as f64 * (bw + gx),
            y: PAD * 2.0 + (i / per_row) as f64 * (bh + gy),
            w: bw,
            h: bh,
        }
    };
    let mut out = String::new();
    svg_open(
        &mut out,
        width,
        height,
        &format!(
            "Overview: {} relations in {} groups, {} foreign keys",
            map.relations.len(),
            groups.len(),
            map.foreign_keys.len()
        ),
    );
    out.push_str(EDGES);
    for ((a, b), n) in &links {
        let (ra, rb) = (at(*a), at(*b));
        let (x1, y1) = (ra.x + ra.w / 2.0, ra.y + ra.h / 2.0);
        let (x2, y2) = (rb.x + rb.w / 2.0, rb.y + rb.h / 2.0);
        let _ = write!(
            out,
            "<g class=\"erd-link\"><title>{n} foreign key{} between {} and {}</title><path d=\"M {x1:.1} {y1:.1} L {x2:.1} {y2:.1}\"/><text class=\"erd-count\" stroke=\"none\" fill=\"#59636e\" x=\"{:.1}\" y=\"{:.1}\">{n}</text></g>",
            if *n == 1 { "" } else { "s" },
            esc(&groups[*a].title),
            esc(&groups[*b].title),
            (x1 + x2) / 2.0 + 4.0,
            (y1 + y2) / 2.0 - 4.0
        );
    }
    out.push_str("</g>");
    for (i, g) in groups.iter().enumerate() {
        let r = at(i);
        let _ = write!(
            out,
            "<a href=\"#{}\"><g class=\"erd-table erd-group\"><title>{}: {} relations</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"#ddf4ff\" stroke=\"#59636e\"/><text class=\"erd-name\" x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">{}</text><text x=\"{:.1}\" y=\"{:.1}\">{} relation{}</text></g></a>",
            group_id(i),
            esc(&g.title),
            g.members.len(),
            r.x,
            r.y,
            r.w,
            r.h,
            r.x + PAD,
            r.y + PAD + 12.0,
            esc(&clip(&g.title, 28)),
            r.x + PAD,
            r.y + PAD + 12.0 + LINE_H,
            g.members.len(),
            if g.members.len() == 1 { "" } else { "s" }
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str, reqs: &[&str]) -> MapRelation {
        MapRelation {
            name: name.into(),
            kind: "table".into(),
            columns: 5,
            primary_key: vec!["id".into()],
            requirements: reqs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn fk(from: &str, to: &str) -> MapForeignKey {
        MapForeignKey {
            name: format!("{from}_{to}_fkey"),
            from: from.into(),
            columns: vec![format!("{to}_id")],
            to: to.into(),
            ref_columns: vec!["id".into()],
        }
    }

    /// A schema of `n` tables: chains of ten per requirement for the first half, the rest
    /// in components of five with no requirement, some with self-references and cycles,
    /// and some alone.
    fn synthetic(n: usize) -> SchemaMap {
        let mut map = SchemaMap::default();
        for i in 0..n {
            let req = if i < n / 2 {
                vec![format!("BR-{:03}", i / 60 + 1)]
            } else {
                vec![]
            };
            let mut r = rel(&format!("t{i:04}"), &[]);
            r.requirements = req;
            map.relations.push(r);
            if i % 10 != 0 && i % 97 != 0 {
                map.foreign_keys
                    .push(fk(&format!("t{i:04}"), &format!("t{:04}", i - 1)));
            }
            if i % 7 == 0 {
                map.foreign_keys
                    .push(fk(&format!("t{i:04}"), &format!("t{i:04}")));
            }
            if i % 50 == 5 && i + 3 < n {
                // A cycle: t(i) → t(i+3) → … → t(i).
                map.foreign_keys
                    .push(fk(&format!("t{i:04}"), &format!("t{:04}", i + 3)));
            }
            if i % 10 == 3 && i >= 200 {
                // Across groups.
                map.foreign_keys
                    .push(fk(&format!("t{i:04}"), &format!("t{:04}", i - 150)));
            }
        }
        map
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
    }

    /// Every relation is a box in exactly one diagram, every foreign key is drawn exactly
    /// once, and each diagram is well-formed SVG without anything that reaches outside.
    fn assert_complete(map: &SchemaMap, ds: &[Diagram]) {
        let mut tables: BTreeMap<String, usize> = BTreeMap::new();
        let mut fks: BTreeMap<String, usize> = BTreeMap::new();
        for d in ds {
            let doc = parse(&d.svg);
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            for n in doc.descendants().filter(|n| n.is_element()) {
                assert!(
                    !matches!(
                        n.tag_name().name(),
                        "script" | "image" | "foreignObject" | "style"
                    ),
                    "{}",
                    n.tag_name().name()
                );
                if let Some(href) = n.attribute("href") {
                    assert!(href.starts_with('#'), "{href}");
                }
                let class = n.attribute("class").unwrap_or_default();
                let id = n.attribute("id").unwrap_or_default();
                if class == "erd-table" && id.starts_with("erd-t-") {
                    *tables.entry(id.to_string()).or_default() += 1;
                }
                if class.starts_with("erd-fk") {
                    *fks.entry(id.to_string()).or_default() += 1;
                }
            }
            assert!(
                !d.svg.contains("url(") && !d.svg.contains("http"),
                "{}",
                d.id
            );
        }
        for r in &map.relations {
            assert_eq!(
                tables.get(&anchor("erd-t", &r.name)),
                Some(&1),
                "{}",
                r.name
            );
        }
        assert_eq!(tables.len(), map.relations.len());
        for f in &map.foreign_keys {
            let id = anchor("erd-fk", &format!("{}.{}", f.from, f.name));
            assert_eq!(fks.get(&id), Some(&1), "{id}");
        }
    }

    #[test]
    fn sixteen_tables_make_one_readable_diagram() {
        let map = synthetic(16);
        let ds = diagrams(&map);
        assert_eq!(ds.len(), 1);
        assert_complete(&map, &ds);
        // Readable: boxes do not overlap and no diagram is absurdly wide.
        let doc = parse(&ds[0].svg);
        let w: f64 = doc
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap();
        assert!(w < 2000.0, "{w}");
        assert!(ds[0].svg.contains("PK id") && ds[0].svg.contains("FK t0000_id → t0000"));
    }

    #[test]
    fn a_thousand_tables_are_grouped_with_an_overview() {
        let map = synthetic(1000);
        let ds = diagrams(&map);
        assert!(ds[0].id == "erd-overview", "{}", ds[0].id);
        assert!(ds.len() > 10, "{} diagrams", ds.len());
        assert!(ds.iter().skip(1).all(|d| d.relations <= GROUP_LIMIT));
        assert_complete(&map, &ds);
        // The overview links every group.
        for d in ds.iter().skip(1) {
            assert!(
                ds[0].svg.contains(&format!("href=\"#{}\"", d.id)),
                "{}",
                d.id
            );
        }
        // Deterministic.
        let again = diagrams(&map);
        assert!(ds.iter().zip(&again).all(|(a, b)| a.svg == b.svg));
    }

    #[test]
    fn names_are_escaped_and_odd_maps_do_not_break_the_layout() {
        let mut map = SchemaMap::default();
        map.relations.push(rel("a<b>&\"c\"", &[]));
        map.relations.push(rel("b", &[]));
        map.foreign_keys.push(fk("a<b>&\"c\"", "b"));
        map.foreign_keys.push(fk("b", "a<b>&\"c\""));
        map.foreign_keys.push(fk("b", "missing_table"));
        let ds = diagrams(&map);
        let doc = parse(&ds[0].svg);
        assert!(doc.descendants().any(|n| n.text() == Some("a<b>&\"c\"")));
        assert!(diagrams(&SchemaMap::default()).is_empty());
    }
}
