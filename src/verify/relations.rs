//! The relation itself: its kind, comment, view query, partitioning, replica identity,
//! clustering index, whether a materialized view is populated, and persistence.

use super::{Ctx, Finding};
use crate::catalog::{parse_qualified, qualified_name, relkind_name, Relation};
use crate::spec::ReplicaIdentity;

pub(crate) fn verify_relation(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    let want_kind = spec.kind.relkind();
    out.push(ctx.compare(
        "table.kind",
        t.clone(),
        &["kind"],
        relkind_name(want_kind),
        relkind_name(rel.kind),
        rel.kind == want_kind,
        "create the relation as the spec says",
    ));
    out.extend(ctx.comment(
        "table.comment",
        t.clone(),
        &["comment"],
        spec.comment.as_deref(),
        rel.comment.as_deref(),
    ));
    if spec.definition.is_some() && rel.kind == want_kind {
        let want = ctx.expected.and_then(|r| r.definition.as_deref());
        let got = rel.definition.as_deref().unwrap_or_default();
        let want = want.map(squash).unwrap_or_default();
        let got = squash(got);
        let mut f = ctx.compare(
            "table.definition",
            t.clone(),
            &["definition"],
            want.clone(),
            got.clone(),
            want == got,
            "the view's query differs from the spec's definition (both as PostgreSQL prints them): recreate the view, or correct the spec",
        );
        let across = super::canon::spanned_majors();
        f.message = if want == got {
            format!("{t}: the query is the spec's definition")
        } else if let Some((lo, hi)) = across {
            // Not a tolerated printer difference: view queries print differently between
            // majors in ways no listed rule covers (column qualification, for one), so a
            // difference seen across majors proves nothing either way.
            f.status = super::Status::Skip;
            f.hint = Some(
                "install the server's major (`reims-verify pg install N`) so that the shadow runs on it, and check again".into(),
            );
            format!(
                "{t}: the query cannot be compared: the shadow and the server print it on different PostgreSQL majors ({lo} and {hi}), and view queries print differently between majors"
            )
        } else {
            let (w, g) = first_difference(&want, &got);
            format!("{t}: the query differs from the spec's definition: the database has `{g}` where the spec has `{w}`")
        };
        out.push(f);
    }
    if spec.partition_by.is_some() && rel.kind == 'p' {
        let want = ctx
            .expected
            .and_then(|r| r.partition_key.clone())
            .unwrap_or_default();
        let got = rel.partition_key.clone().unwrap_or_default();
        out.push(ctx.compare(
            "table.partition_key",
            t.clone(),
            &["partition_by"],
            want.clone(),
            got.clone(),
            want == got,
            "the table is partitioned differently: recreate it, or correct the spec",
        ));
    }
    if spec.kind == crate::spec::RelationKind::View && rel.kind == 'v' {
        // Whose privileges and row security the view reads with, and what it lets through.
        let show = |o: &[String]| {
            if o.is_empty() {
                "none".to_string()
            } else {
                o.join(", ")
            }
        };
        let want = spec.options.as_reloptions();
        out.push(ctx.compare(
            "view.options",
            t.clone(),
            &["options"],
            show(&want),
            show(&rel.view_options),
            want == rel.view_options,
            "ALTER VIEW … SET (…) / RESET (…) as the spec's `options` say, or correct the spec",
        ));
    }
    let want_parent = spec
        .partition_of
        .as_ref()
        .map(|p| parse_qualified(p, &spec.schema));
    let show = |p: &Option<(String, String)>| match p {
        Some((s, n)) => format!("partition of {}", qualified_name(s, n, &spec.schema)),
        None => "not a partition".to_string(),
    };
    if want_parent.is_some() || rel.partition_of.is_some() {
        out.push(ctx.compare(
            "table.partition_of",
            t.clone(),
            &["partition_of"],
            show(&want_parent),
            show(&rel.partition_of),
            want_parent == rel.partition_of,
            "attach or detach the partition, or correct the spec",
        ));
    }
    if spec.kind != crate::spec::RelationKind::View {
        let want: &[String] = ctx.expected.map_or(&[], |r| r.parameters.as_slice());
        if !want.is_empty() || !rel.parameters.is_empty() {
            let show = |list: &[String]| {
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            };
            out.push(ctx.compare(
                "table.parameters",
                t.clone(),
                &["parameters"],
                show(want),
                show(&rel.parameters),
                want == rel.parameters.as_slice(),
                "ALTER TABLE … SET (…) / RESET (…) as the spec's `parameters` say, or correct the spec",
            ));
        }
    }
    let want_parents: Vec<(String, String)> = spec
        .inherits
        .iter()
        .map(|p| parse_qualified(p, &spec.schema))
        .collect();
    if !want_parents.is_empty() || !rel.inherits.is_empty() {
        let show = |list: &[(String, String)]| {
            if list.is_empty() {
                "inherits from no table".to_string()
            } else {
                format!(
                    "inherits from {}",
                    list.iter()
                        .map(|(s, n)| qualified_name(s, n, &spec.schema))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        out.push(ctx.compare(
            "table.inherits",
            t.clone(),
            &["inherits"],
            show(&want_parents),
            show(&rel.inherits),
            want_parents == rel.inherits,
            "ALTER TABLE … INHERIT / NO INHERIT as the spec's `inherits` says, or correct the spec (a query of a parent reads its children's rows too)",
        ));
    }
    if want_parent.is_some() && want_parent == rel.partition_of {
        let want = ctx
            .expected
            .and_then(|r| r.partition_bound.clone())
            .unwrap_or_default();
        let got = rel.partition_bound.clone().unwrap_or_default();
        out.push(ctx.compare(
            "table.partition_bound",
            t.clone(),
            &["partition_bound"],
            want.clone(),
            got.clone(),
            // The same values in another order are the same partition:
            // `IN ('fr', 'de')` is `IN ('de', 'fr')`.
            super::canon::canonical(&want) == super::canon::canonical(&got),
            "the partition holds a different range of values: re-attach it with the spec's bound, or correct the spec",
        ));
    }
    replica_identity(ctx, rel, &t, out);
    cluster_on(ctx, rel, &t, out);
    populated(ctx, rel, &t, out);
    if !spec.kind.is_view() {
        let show = |u: bool| if u { "UNLOGGED" } else { "LOGGED" };
        out.push(ctx.compare(
            "table.persistence",
            t,
            &["unlogged"],
            show(spec.unlogged),
            show(rel.unlogged),
            spec.unlogged == rel.unlogged,
            "ALTER TABLE … SET LOGGED / UNLOGGED as the spec says",
        ));
    }
}

/// `table.replica_identity`, for a table, a partitioned table or a materialized view, when
/// the spec declares it or when the database's differs from the shadow's (`DEFAULT` unless
/// declared): relations at the default, as the spec says, add no finding, while any
/// difference fails.
fn replica_identity(ctx: &Ctx, rel: &Relation, t: &str, out: &mut Vec<Finding>) {
    let declared = ctx.loaded.spec.replica_identity.as_ref();
    if ctx.loaded.spec.kind == crate::spec::RelationKind::View || rel.kind == 'v' {
        return;
    }
    // Without a shadow relation (it never lacks one when the shadow was built from these
    // specs), what the spec declares.
    let want = match ctx.expected {
        Some(r) => (r.replica_identity, r.replica_index.clone()),
        None => declared.map_or(('d', None), |d| {
            let index = match d {
                ReplicaIdentity::Index(i) => Some(i.clone()),
                _ => None,
            };
            (d.code(), index)
        }),
    };
    let got = (rel.replica_identity, rel.replica_index.clone());
    if declared.is_none() && want == got {
        return;
    }
    let want_sql = ReplicaIdentity::from_code(want.0, want.1.as_deref())
        .unwrap_or(ReplicaIdentity::Default)
        .sql();
    let hint = match declared {
        None if want.0 == 'd' => format!(
            "ALTER TABLE {t} REPLICA IDENTITY DEFAULT in a migration, or declare `replica_identity: {}` in the spec",
            ReplicaIdentity::from_code(got.0, got.1.as_deref())
                .map_or_else(|| "?".to_string(), |r| r.key())
        ),
        _ => format!(
            "ALTER TABLE {t} REPLICA IDENTITY {want_sql} in a migration, or correct the spec's `replica_identity`"
        ),
    };
    out.push(ctx.compare(
        "table.replica_identity",
        t.to_string(),
        &["replica_identity"],
        replica_identity_text(want.0, want.1.as_deref()),
        replica_identity_text(got.0, got.1.as_deref()),
        want == got,
        &hint,
    ));
}

/// `table.populated`, for a materialized view, when the spec declares `populated: false` or
/// when the view is not populated: one never filled (`WITH NO DATA`) or emptied by
/// `REFRESH … WITH NO DATA` fails every read until it is refreshed. The shadow builds
/// every materialized view `WITH NO DATA`, so the spec, not the shadow, is the expectation.
/// Populated views, as the spec says by default, add no finding.
fn populated(ctx: &Ctx, rel: &Relation, t: &str, out: &mut Vec<Finding>) {
    let want = ctx.loaded.spec.populated;
    if ctx.loaded.spec.kind != crate::spec::RelationKind::MaterializedView || rel.kind != 'm' {
        return;
    }
    let got = !rel.unpopulated;
    if want && got {
        return;
    }
    let show = |p: bool| {
        if p {
            "populated"
        } else {
            "not populated (every read fails until REFRESH MATERIALIZED VIEW)"
        }
    };
    let hint = if want {
        format!(
            "REFRESH MATERIALIZED VIEW {t} in a migration (a REFRESH … WITH NO DATA empties it), or declare `populated: false` in the spec"
        )
    } else {
        format!("REFRESH MATERIALIZED VIEW {t} WITH NO DATA in a migration, or drop the spec's `populated: false`")
    };
    out.push(ctx.compare(
        "table.populated",
        t.to_string(),
        &["populated"],
        show(want),
        show(got),
        want == got,
        &hint,
    ));
}

/// `table.cluster_on`, for a table, a partitioned table or a materialized view, when the
/// spec declares it or when the database's clustering index differs from the shadow's
/// (none unless declared): relations clustered on no index, as the spec says, add no
/// finding, while any difference fails.
fn cluster_on(ctx: &Ctx, rel: &Relation, t: &str, out: &mut Vec<Finding>) {
    let declared = ctx.loaded.spec.cluster_on.as_deref();
    if ctx.loaded.spec.kind == crate::spec::RelationKind::View || rel.kind == 'v' {
        return;
    }
    // Without a shadow relation (it never lacks one when the shadow was built from these
    // specs), what the spec declares.
    let want = match ctx.expected {
        Some(r) => r.cluster_index.as_deref(),
        None => declared,
    };
    let got = rel.cluster_index.as_deref();
    if declared.is_none() && want == got {
        return;
    }
    let hint = match (declared, want) {
        (_, Some(i)) => format!(
            "ALTER TABLE {t} CLUSTER ON {} in a migration, or correct the spec's `cluster_on`",
            crate::sql::quote_ident(i)
        ),
        (None, None) => format!(
            "ALTER TABLE {t} SET WITHOUT CLUSTER in a migration, or declare `cluster_on: {}` in the spec",
            got.unwrap_or("?")
        ),
        (Some(_), None) => format!(
            "ALTER TABLE {t} SET WITHOUT CLUSTER in a migration, or correct the spec's `cluster_on`"
        ),
    };
    let show = |i: Option<&str>| match i {
        Some(i) => format!("the index {}", crate::sql::quote_ident(i)),
        None => "no index".to_string(),
    };
    out.push(ctx.compare(
        "table.cluster_on",
        t.to_string(),
        &["cluster_on"],
        show(want),
        show(got),
        want == got,
        &hint,
    ));
}

/// `FULL (every column of the old row)`, `USING INDEX users_email_key`.
fn replica_identity_text(code: char, index: Option<&str>) -> String {
    match (code, index) {
        ('d', _) => "DEFAULT (the primary key)".into(),
        ('f', _) => "FULL (every column of the old row)".into(),
        ('n', _) => "NOTHING (no old row)".into(),
        ('i', Some(i)) => format!("USING INDEX {}", crate::sql::quote_ident(i)),
        ('i', None) => "USING INDEX of a dropped index (no old row, as NOTHING)".into(),
        (c, _) => format!("an unknown identity `{c}`"),
    }
}

/// Around the first place where `a` and `b` differ: a short excerpt of each.
pub(crate) fn first_difference(a: &str, b: &str) -> (String, String) {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()));
    let excerpt = |s: &str| {
        let mut start = at.saturating_sub(30);
        while !s.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (at + 30).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        format!(
            "{}{}{}",
            if start > 0 { "…" } else { "" },
            &s[start..end],
            if end < s.len() { "…" } else { "" }
        )
    };
    (excerpt(a), excerpt(b))
}

/// SQL text with each run of white space outside quotes made one space, so that the
/// printer's line breaks do not count.
pub(crate) fn squash(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let (mut quote, mut space) = (None::<char>, false);
    for c in sql.trim().trim_end_matches(';').trim_end().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => space = true,
            None => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::squash;

    #[test]
    fn squash_keeps_quoted_white_space() {
        assert_eq!(
            squash(" SELECT a,\n    'x  y' AS \"b  c\"\n   FROM t;"),
            "SELECT a, 'x  y' AS \"b  c\" FROM t"
        );
        assert_ne!(squash("SELECT 0.95"), squash("SELECT 0.90"));
    }

    #[test]
    fn the_first_difference_is_shown_in_context() {
        let (a, b) = super::first_difference(
            "SELECT percentile_cont(0.95) AS p95",
            "SELECT percentile_cont(0.90) AS p95",
        );
        assert!(a.contains("0.95") && b.contains("0.90"), "{a} / {b}");
        let (a, b) = super::first_difference("SELECT é", "SELECT");
        assert_eq!((a.as_str(), b.as_str()), ("SELECT é", "SELECT"));
    }
}
