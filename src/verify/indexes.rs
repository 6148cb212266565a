//! Indexes: existence, uniqueness, method, keys, per-key collation, operator class and
//! order, INCLUDE columns, partial predicate and the statistics targets of expression
//! keys.

use super::{canonical, Ctx, Finding};
use crate::catalog::{Index, Relation};
use crate::spec::{parse_index_key, IndexKey, KeyOrder};

fn orders(idx: &Index) -> Vec<KeyOrder> {
    idx.desc
        .iter()
        .zip(&idx.nulls_first)
        .map(|(d, n)| KeyOrder {
            desc: *d,
            nulls_first: *n,
        })
        .collect()
}

fn show_orders(o: &[KeyOrder]) -> String {
    o.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `index.statistics`, when the spec declares a target or when the database's differ from
/// the shadow's (none unless declared): indexes whose keys have none of their own, as the
/// spec says, add no finding, while any difference fails.
fn statistics(
    ctx: &Ctx,
    object: &str,
    name: &str,
    idx: &crate::spec::IndexSpec,
    shadow: Option<&Index>,
    a: &Index,
    out: &mut Vec<Finding>,
) {
    // Without a shadow index (it never lacks one when the shadow was built from these
    // specs), what the spec declares, -1 being the default.
    let want: Vec<(i32, i32)> = match shadow {
        Some(s) => s.statistics.clone(),
        None => {
            let mut w: Vec<(i32, i32)> = idx
                .statistics
                .iter()
                .filter(|(_, t)| **t != -1)
                .map(|(k, t)| (i32::from(*k), *t))
                .collect();
            w.sort();
            w
        }
    };
    if idx.statistics.is_empty() && want == a.statistics {
        return;
    }
    let show = |list: &[(i32, i32)]| {
        if list.is_empty() {
            "none of their own (default_statistics_target)".to_string()
        } else {
            list.iter()
                .map(|(k, t)| format!("key {k}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let index = crate::sql::quote_ident(name);
    let hint = if idx.statistics.is_empty() && want.is_empty() {
        format!(
            "ALTER INDEX {index} ALTER COLUMN <n> SET STATISTICS -1 in a migration (the default), or declare `statistics: {{ {} }}` in the spec",
            a.statistics
                .iter()
                .map(|(k, t)| format!("{k}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "ALTER INDEX {index} ALTER COLUMN <n> SET STATISTICS as the spec's `statistics` says (-1 for none), or correct the spec"
        )
    };
    out.push(ctx.compare(
        "index.statistics",
        object.to_string(),
        &["indexes", name, "statistics"],
        show(&want),
        show(&a.statistics),
        want == a.statistics,
        &hint,
    ));
}

pub(crate) fn verify_indexes(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    for (name, idx) in &spec.indexes {
        let object = format!("{t}.{name}");
        let path = ["indexes", name.as_str()];
        let Some(a) = rel.index(name) else {
            out.push(ctx.fail(
                "index.exists",
                object,
                &path,
                Some(format!("index on ({})", idx.keys.join(", "))),
                Some("missing".into()),
                format!("index `{name}` does not exist on `{t}`"),
                "create the index in a migration (a renamed index shows up as missing plus extra), or correct the spec",
            ));
            continue;
        };
        out.push(ctx.pass(
            "index.exists",
            object.clone(),
            &path,
            format!("{object} exists"),
        ));
        let shadow = ctx.expected.and_then(|r| r.index(name));
        let state = index_state(a);
        let mut f = ctx.compare(
            "index.valid",
            object.clone(),
            &path,
            "valid",
            state.clone(),
            state == "valid",
            "the index exists but is not usable (a failed CREATE INDEX CONCURRENTLY leaves it so): DROP INDEX and create it again",
        );
        f.message = if state == "valid" {
            format!("{object} is valid")
        } else {
            format!("{object} exists but is {state}")
        };
        out.push(f);
        out.extend(ctx.comment(
            "index.comment",
            object.clone(),
            &["indexes", name, "comment"],
            idx.comment.as_deref(),
            a.comment.as_deref(),
        ));
        // NULLS NOT DISTINCT is part of what UNIQUE means: one row with NULL keys, or any.
        let uniqueness = |unique: bool, not_distinct: bool| match (unique, not_distinct) {
            (true, true) => "unique, NULLS NOT DISTINCT",
            (u, _) => yes_no(u),
        };
        out.push(ctx.compare(
            "index.unique",
            object.clone(),
            &["indexes", name, "unique"],
            uniqueness(idx.unique, idx.nulls_not_distinct),
            uniqueness(a.unique, a.nulls_not_distinct),
            idx.unique == a.unique && idx.nulls_not_distinct == a.nulls_not_distinct,
            "recreate the index with the right uniqueness (and NULLS [NOT] DISTINCT)",
        ));
        out.push(ctx.compare(
            "index.method",
            object.clone(),
            &["indexes", name, "method"],
            idx.method.am_name(),
            a.method.clone(),
            idx.method.am_name() == a.method,
            "recreate the index with the right access method",
        ));
        let spec_keys: Vec<IndexKey> = idx.keys.iter().map(|k| parse_index_key(k)).collect();
        let want_keys: Vec<String> = match shadow {
            Some(s) => s.keys.clone(),
            None => spec_keys.iter().map(|k| k.expr.clone()).collect(),
        };
        // Each key's canonical form once: the keys' comparison and the three findings that
        // show them use it.
        let want_keys = canon_each(&want_keys);
        let got_keys = canon_each(&a.keys);
        let same_keys = want_keys == got_keys;
        out.push(ctx.compare(
            "index.keys",
            object.clone(),
            &["indexes", name, "keys"],
            want_keys.join(", "),
            got_keys.join(", "),
            same_keys,
            "recreate the index with the spec's keys, or correct the spec",
        ));
        let (want_collations, want_opclasses) = match shadow {
            Some(s) => (s.collations.clone(), s.opclasses.clone()),
            None => (
                spec_keys.iter().map(|k| k.collation.clone()).collect(),
                spec_keys.iter().map(|k| k.opclass.clone()).collect(),
            ),
        };
        out.push(ctx.compare(
            "index.collation",
            object.clone(),
            &["indexes", name, "keys"],
            per_key(&want_keys, &want_collations, "COLLATE "),
            per_key(&got_keys, &a.collations, "COLLATE "),
            same_per_key(&want_collations, &a.collations),
            "recreate the index with the spec's key collations (`key COLLATE \"C\"` in the spec)",
        ));
        out.push(ctx.compare(
            "index.opclass",
            object.clone(),
            &["indexes", name, "keys"],
            per_key(&want_keys, &want_opclasses, ""),
            per_key(&got_keys, &a.opclasses, ""),
            same_per_key(&want_opclasses, &a.opclasses),
            "recreate the index with the spec's operator classes (`key opclass` in the spec)",
        ));
        let want_include = match shadow {
            Some(s) => s.include.clone(),
            None => idx.include.clone(),
        };
        out.push(ctx.compare(
            "index.include",
            object.clone(),
            &["indexes", name, "include"],
            include_text(&want_include),
            include_text(&a.include),
            want_include == a.include,
            "recreate the index with the spec's INCLUDE columns",
        ));
        out.extend(index_parameters(
            ctx,
            object.clone(),
            &["indexes", name, "parameters"],
            shadow,
            &idx.parameters,
            Some(a),
        ));
        let want_order: Vec<KeyOrder> = spec_keys.iter().map(|k| k.order).collect();
        let got_order = orders(a);
        out.push(ctx.compare(
            "index.order",
            object.clone(),
            &["indexes", name, "keys"],
            show_orders(&want_order),
            show_orders(&got_order),
            want_order == got_order,
            "recreate the index with the spec's sort order (DESC / NULLS)",
        ));
        statistics(ctx, &object, name, idx, shadow, a, out);
        let want_pred = shadow
            .and_then(|s| s.predicate.clone())
            .or_else(|| idx.predicate.clone());
        let want_pred = want_pred.map(|p| canonical(&p));
        let got_pred = a.predicate.as_deref().map(canonical);
        let same_pred = want_pred == got_pred;
        out.push(ctx.compare(
            "index.predicate",
            object,
            &["indexes", name, "where"],
            want_pred.unwrap_or_else(|| "none (full index)".into()),
            got_pred.unwrap_or_else(|| "none (full index)".into()),
            same_pred,
            "recreate the index with the spec's WHERE predicate",
        ));
    }
    for a in &rel.indexes {
        let unlisted =
            a.constraint.is_some() || (a.inherited && !spec.indexes.contains_key(&a.name));
        if unlisted && index_state(a) != "valid" {
            // An index behind a PRIMARY KEY or UNIQUE constraint, or a partition's index
            // that its parent's describes, is checked here.
            out.push(ctx.compare(
                "index.valid",
                format!("{t}.{}", a.name),
                &["indexes"],
                "valid",
                index_state(a),
                false,
                "the index behind the constraint is not usable: rebuild it (REINDEX)",
            ));
        }
        if a.constraint.is_none() && !a.inherited && !spec.indexes.contains_key(&a.name) {
            out.extend(ctx.extra(
                "index.extra",
                format!("{t}.{}", a.name),
                "indexes",
                a.definition.clone(),
                spec.allow_extra.indexes,
            ));
        }
    }
}

/// `valid`, or what is wrong: `invalid`, `not ready`, `being dropped`.
fn index_state(a: &Index) -> String {
    let mut wrong = Vec::new();
    if !a.valid {
        wrong.push("invalid (not used by queries)");
    }
    if !a.ready {
        wrong.push("not ready (not maintained on writes)");
    }
    if !a.live {
        wrong.push("being dropped");
    }
    if wrong.is_empty() {
        "valid".into()
    } else {
        wrong.join(", ")
    }
}

/// `labels jsonb_path_ops, id (default)`: each key (in canonical form) with its collation
/// or operator class.
fn per_key(keys: &[String], values: &[Option<String>], prefix: &str) -> String {
    (0..keys.len().max(values.len()))
        .map(|i| {
            let key = keys.get(i).map(String::as_str).unwrap_or("?");
            match values.get(i).and_then(|v| v.as_deref()) {
                Some(v) => format!("{key} {prefix}{v}"),
                None => format!("{key} (default)"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per-key values compared position by position; a key present on one side only counts
/// as the default there (a different number of keys is `index.keys`' finding).
fn same_per_key(want: &[Option<String>], got: &[Option<String>]) -> bool {
    (0..want.len().max(got.len()))
        .all(|i| want.get(i).cloned().flatten() == got.get(i).cloned().flatten())
}

/// `index.parameters`: an index's storage parameters (a plain index's, or the one behind a
/// PRIMARY KEY or UNIQUE constraint) against the shadow's index, which the spec's
/// `parameters` compile to (the spec's own without one), when either has some: indexes
/// at PostgreSQL's defaults, as the spec says by default, add no finding.
pub(crate) fn index_parameters(
    ctx: &Ctx,
    object: String,
    path: &[&str],
    shadow: Option<&Index>,
    declared: &indexmap::IndexMap<String, crate::spec::ParameterValue>,
    got: Option<&Index>,
) -> Option<Finding> {
    let want: Vec<String> = match shadow {
        Some(s) => s.parameters.clone(),
        None => crate::catalog::storage_parameters(
            &declared
                .iter()
                .map(|(n, v)| format!("{n}={}", v.text()))
                .collect::<Vec<_>>(),
        ),
    };
    let got: &[String] = got.map_or(&[], |i| i.parameters.as_slice());
    if want.is_empty() && got.is_empty() {
        return None;
    }
    let show = |list: &[String]| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    Some(ctx.compare(
        "index.parameters",
        object,
        path,
        show(&want),
        show(got),
        want.as_slice() == got,
        "ALTER INDEX … SET (…) / RESET (…) as the spec's `parameters` say, or correct the spec",
    ))
}

fn include_text(cols: &[String]) -> String {
    if cols.is_empty() {
        "none".into()
    } else {
        cols.join(", ")
    }
}

/// The canonical form of each expression, in order.
fn canon_each(keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| canonical(k)).collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "unique"
    } else {
        "not unique"
    }
}
