//! Columns: existence, type, collation, nullability, default, generation expression,
//! identity, the options of the sequence a serial or identity column owns, storage and
//! compression, statistics target and attribute options, comment; a table's column order;
//! and columns the spec does not list.

use super::{canonical, Ctx, Finding, Shadow};
use crate::catalog::{Relation, Schema, Sequence};

pub(crate) fn verify_columns(
    ctx: &Ctx,
    rel: &Relation,
    actual_schema: &Schema,
    shadow_schema: &Shadow,
    out: &mut Vec<Finding>,
) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    for (name, col) in &spec.columns {
        let object = format!("{t}.{name}");
        let path = ["columns", name.as_str()];
        let Some(actual) = rel.column(name) else {
            out.push(ctx.fail(
                "column.exists",
                object,
                &path,
                Some("present".into()),
                Some("missing".into()),
                format!("column `{name}` of `{t}` does not exist"),
                "add the column in a migration, or remove it from the spec",
            ));
            continue;
        };
        out.push(ctx.pass(
            "column.exists",
            object.clone(),
            &path,
            format!("{object} exists"),
        ));
        let shadow = ctx.expected.and_then(|r| r.column(name));
        let expected_type = shadow
            .map(|c| c.type_name.clone())
            .unwrap_or_else(|| col.type_.clone());
        out.push(ctx.compare(
            "column.type",
            object.clone(),
            &["columns", name, "type"],
            expected_type.clone(),
            actual.type_name.clone(),
            expected_type == actual.type_name,
            "change the column type in a migration, or correct the spec",
        ));
        out.push(nullable_finding(ctx, &object, name, col.nullable, actual));
        let expected_collation = match shadow {
            Some(c) => c.collation.clone(),
            None => col.collation.clone(),
        };
        out.push(ctx.compare(
            "column.collation",
            object.clone(),
            &["columns", name, "collation"],
            collation_text(expected_collation.as_deref()),
            collation_text(actual.collation.as_deref()),
            expected_collation == actual.collation,
            "set the collation in a migration (ALTER COLUMN … TYPE … COLLATE …), or correct the spec",
        ));
        let expected_default = shadow
            .and_then(|c| c.default.as_deref())
            .or(col.default.as_deref())
            .map(canonical);
        let actual_default = actual.default.as_deref().map(canonical);
        let same = expected_default == actual_default;
        out.push(ctx.compare(
            "column.default",
            object.clone(),
            &["columns", name, "default"],
            expected_default.unwrap_or_else(|| "no default".into()),
            actual_default.unwrap_or_else(|| "no default".into()),
            same,
            "set the default in a migration, or correct the spec",
        ));
        if col.generated.is_some() || actual.generated.is_some() {
            let want = shadow
                .and_then(|c| c.generated.clone())
                .or_else(|| col.generated.clone());
            // The kind is the spec's own: the shadow builds a virtual column STORED where
            // its server has none (before PostgreSQL 18).
            let want_kind = col.generated_kind.unwrap_or_default().code();
            let got_kind = actual.generated_kind.unwrap_or('s');
            let show = |g: &Option<String>, kind: char| match g {
                Some(e) => format!(
                    "GENERATED ALWAYS AS ({}) {}",
                    canonical(e),
                    generated_kind_text(kind)
                ),
                None => "not generated".to_string(),
            };
            let same = match (&want, &actual.generated) {
                (Some(w), Some(g)) => canonical(w) == canonical(g) && want_kind == got_kind,
                (None, None) => true,
                _ => false,
            };
            let hint = if want_kind == 'v' && actual.generated.is_some() && got_kind != 'v' {
                "recreate the column GENERATED ALWAYS AS (…) VIRTUAL (PostgreSQL 18 and later), or correct the spec's `generated_kind`"
            } else {
                "recreate the column with the spec's generation expression and kind (STORED unless `generated_kind: virtual`), or correct the spec"
            };
            out.push(ctx.compare(
                "column.generated",
                object.clone(),
                &["columns", name, "generated"],
                show(&want, want_kind),
                show(&actual.generated, got_kind),
                same,
                hint,
            ));
        }
        let want_identity = col.identity.map(|k| k.code());
        if want_identity.is_some() || actual.identity.is_some() {
            out.push(ctx.compare(
                "column.identity",
                object.clone(),
                &["columns", name, "identity"],
                identity_text(want_identity),
                identity_text(actual.identity),
                want_identity == actual.identity,
                "ALTER TABLE … ALTER COLUMN … ADD/SET/DROP IDENTITY as the spec says",
            ));
        }
        if col.owns_sequence() {
            let key = ctx.table();
            let want = owned_sequence(&shadow_schema.schema, key, name);
            let got = owned_sequence(actual_schema, key, name);
            let (want, got) = (want.map(sequence_text), got.map(sequence_text));
            out.push(ctx.compare(
                "column.sequence",
                object.clone(),
                &["columns", name, "sequence"],
                want.clone().unwrap_or_else(|| "a sequence owned by the column".into()),
                got.clone().unwrap_or_else(|| "no sequence owned by the column".into()),
                want.is_some() && want == got,
                "ALTER SEQUENCE … with the spec's options (or OWNED BY the column), or correct the spec's `sequence`",
            ));
        }
        storage_findings(ctx, &object, name, col, shadow, actual, out);
        planner_findings(ctx, &object, name, col, shadow, actual, out);
        out.extend(ctx.comment(
            "column.comment",
            object,
            &["columns", name, "comment"],
            col.comment.as_deref(),
            actual.comment.as_deref(),
        ));
    }
    column_order(ctx, rel, out);
    for c in &rel.columns {
        if !spec.columns.contains_key(&c.name) {
            out.extend(ctx.extra(
                "column.extra",
                format!("{t}.{}", c.name),
                "columns",
                c.type_name.clone(),
                spec.allow_extra.columns,
            ));
        }
    }
}

/// `column.order`, for a table or partitioned table: its columns in `attnum` order (dropped
/// ones are not read) against the shadow's, which `CREATE TABLE` gives the spec's order.
/// Only the columns both have are compared (a missing or extra one is `column.exists` or
/// `column.extra`). A column dropped and added again goes last: `SELECT *`, `INSERT …
/// VALUES` without a column list, `COPY` and the row type then see another order. Reported
/// only when the orders differ, so the thousands of tables in order add no finding. A
/// view's or materialized view's order is its query's, compared by `table.definition`.
fn column_order(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    if spec.kind.is_view() || !matches!(rel.kind, 'r' | 'p') {
        return;
    }
    let want_all: Vec<&str> = match ctx.expected {
        Some(r) => r.columns.iter().map(|c| c.name.as_str()).collect(),
        None => spec.columns.keys().map(String::as_str).collect(),
    };
    let got_all: Vec<&str> = rel.columns.iter().map(|c| c.name.as_str()).collect();
    let want_set: std::collections::HashSet<&str> = want_all.iter().copied().collect();
    let got_set: std::collections::HashSet<&str> = got_all.iter().copied().collect();
    let want: Vec<&str> = want_all
        .into_iter()
        .filter(|n| got_set.contains(n))
        .collect();
    let got: Vec<&str> = got_all
        .into_iter()
        .filter(|n| want_set.contains(n))
        .collect();
    if want == got {
        return;
    }
    let t = ctx.table();
    // The first place where they differ: the column the spec puts there, and where the
    // database has it.
    let at = want.iter().zip(&got).position(|(w, g)| w != g).unwrap_or(0);
    let moved = want[at];
    let now = got.iter().position(|g| *g == moved).unwrap_or(at);
    out.push(ctx.fail(
        "column.order",
        t.to_string(),
        &["columns"],
        Some(want.join(", ")),
        Some(got.join(", ")),
        format!(
            "the columns of `{t}` are in another order than the spec's: `{moved}` is column {} of the spec's, column {} in the database (dropped and added again goes last)",
            at + 1,
            now + 1
        ),
        "rebuild the table in a migration with the spec's column order (SELECT *, INSERT without a column list, COPY and the row type follow it), or list the spec's columns in the database's order",
    ));
}

/// The sequence owned by column `column` of the relation keyed `table`.
pub(crate) fn owned_sequence<'a>(
    schema: &'a Schema,
    table: &str,
    column: &str,
) -> Option<&'a Sequence> {
    schema.sequences.iter().find(|s| {
        s.owner
            .as_ref()
            .is_some_and(|o| o.table == table && o.column == column)
    })
}

/// A sequence's options as one line, for comparison and messages; `UNLOGGED` first for
/// an unlogged one.
pub(crate) fn sequence_text(s: &Sequence) -> String {
    format!(
        "{}AS {} START {} INCREMENT {} MINVALUE {} MAXVALUE {} CACHE {}{}",
        if s.unlogged { "UNLOGGED " } else { "" },
        s.type_name,
        s.start,
        s.increment,
        s.min,
        s.max,
        s.cache,
        if s.cycle { " CYCLE" } else { " NO CYCLE" }
    )
}

/// `column.storage` and `column.compression`, each when the spec declares it or when the
/// database's differs from the shadow's (what `CREATE TABLE` and the spec's own `SET
/// STORAGE` / `SET COMPRESSION` give): a column at its type's storage with no compression
/// of its own, as the spec says, makes no finding, so the thousands of ordinary columns
/// add nothing, while any difference fails.
fn storage_findings(
    ctx: &Ctx,
    object: &str,
    name: &str,
    col: &crate::spec::ColumnSpec,
    shadow: Option<&crate::catalog::Column>,
    actual: &crate::catalog::Column,
    out: &mut Vec<Finding>,
) {
    let table = ctx.table();
    let column = crate::sql::quote_ident(name);
    // Without a shadow column (it never lacks one when the shadow was built from these
    // specs), what the spec declares, else the type's storage as the database has it.
    let (want, want_default) = match shadow {
        Some(c) => (c.storage, c.type_storage),
        None => (
            col.storage.map_or(actual.type_storage, |s| s.code()),
            actual.type_storage,
        ),
    };
    if col.storage.is_some() || want != actual.storage {
        let hint = match (col.storage, want == want_default) {
            (None, true) => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {} in a migration (the type's default), or declare `storage: {}` in the spec",
                storage_sql(want),
                storage_key(actual.storage)
            ),
            _ => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {} in a migration, or correct the spec's `storage`",
                storage_sql(want)
            ),
        };
        out.push(ctx.compare(
            "column.storage",
            object.to_string(),
            &["columns", name, "storage"],
            storage_text(want, want_default),
            storage_text(actual.storage, actual.type_storage),
            want == actual.storage,
            &hint,
        ));
    }
    let want = match shadow {
        Some(c) => c.compression,
        None => col.compression.map(|c| c.code()),
    };
    if col.compression.is_some() || want != actual.compression {
        let hint = match (col.compression, want) {
            (None, None) => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default in a migration, or declare `compression: {}` in the spec",
                compression_key(actual.compression)
            ),
            _ => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {} in a migration, or correct the spec's `compression`",
                want.and_then(crate::spec::ColumnCompression::from_code)
                    .map_or("default", |c| c.sql())
            ),
        };
        out.push(ctx.compare(
            "column.compression",
            object.to_string(),
            &["columns", name, "compression"],
            compression_text(want),
            compression_text(actual.compression),
            want == actual.compression,
            &hint,
        ));
    }
}

/// `column.statistics` and `column.options`, what the planner's estimates of the column
/// are made from, each when the spec declares it or when the database's differs from the
/// shadow's (none of its own unless the spec's `SET STATISTICS` / `SET (…)` gives one): a
/// column at the defaults, as the spec says, makes no finding, while any difference fails.
fn planner_findings(
    ctx: &Ctx,
    object: &str,
    name: &str,
    col: &crate::spec::ColumnSpec,
    shadow: Option<&crate::catalog::Column>,
    actual: &crate::catalog::Column,
    out: &mut Vec<Finding>,
) {
    let table = ctx.table();
    let column = crate::sql::quote_ident(name);
    // Without a shadow column (it never lacks one when the shadow was built from these
    // specs), what the spec declares, -1 being the default.
    let want = match shadow {
        Some(c) => c.statistics,
        None => col.statistics.filter(|s| *s != -1),
    };
    if col.statistics.is_some() || want != actual.statistics {
        let hint = match (col.statistics, want) {
            (None, None) => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS -1 in a migration (the default), or declare `statistics: {}` in the spec",
                actual.statistics.unwrap_or(-1)
            ),
            _ => format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {} in a migration, or correct the spec's `statistics`",
                want.unwrap_or(-1)
            ),
        };
        out.push(ctx.compare(
            "column.statistics",
            object.to_string(),
            &["columns", name, "statistics"],
            statistics_text(want),
            statistics_text(actual.statistics),
            want == actual.statistics,
            &hint,
        ));
    }
    let want: Vec<String> = match shadow {
        Some(c) => c.options.clone(),
        None => crate::catalog::attribute_options(
            &col.options
                .iter()
                .map(|(k, v)| format!("{k}={}", v.text()))
                .collect::<Vec<_>>(),
        ),
    };
    if !col.options.is_empty() || want != actual.options {
        let show = |list: &[String]| {
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        };
        let hint = if col.options.is_empty() && want.is_empty() {
            format!(
                "ALTER TABLE {table} ALTER COLUMN {column} RESET ({}) in a migration, or declare the spec's `options`",
                actual
                    .options
                    .iter()
                    .map(|o| o.split_once('=').map_or(o.as_str(), |(n, _)| n))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET (…) / RESET (…) as the spec's `options` say, or correct the spec"
            )
        };
        out.push(ctx.compare(
            "column.options",
            object.to_string(),
            &["columns", name, "options"],
            show(&want),
            show(&actual.options),
            want == actual.options,
            &hint,
        ));
    }
}

/// `0 (none gathered)`, `500`, or the default.
fn statistics_text(target: Option<i32>) -> String {
    match target {
        None => "the default (default_statistics_target)".into(),
        Some(0) => "0 (no statistics gathered)".into(),
        Some(n) => n.to_string(),
    }
}

/// `EXTERNAL`, with `(the type's default)` when it is `type_storage`.
fn storage_text(code: char, type_storage: char) -> String {
    let sql = storage_sql(code);
    if code == type_storage {
        format!("{sql} (the type's default)")
    } else {
        sql.to_string()
    }
}

fn storage_sql(code: char) -> &'static str {
    crate::spec::ColumnStorage::from_code(code).map_or("an unknown storage", |s| s.sql())
}

/// The spec's word for a storage (`external`).
fn storage_key(code: char) -> &'static str {
    match code {
        'p' => "plain",
        'e' => "external",
        'x' => "extended",
        'm' => "main",
        _ => "?",
    }
}

fn compression_text(code: Option<char>) -> String {
    match code {
        None => "none of its own (default_toast_compression)".into(),
        Some(c) => crate::spec::ColumnCompression::from_code(c)
            .map_or_else(|| format!("an unknown method `{c}`"), |m| m.sql().into()),
    }
}

/// The spec's word for a compression method (`lz4`).
fn compression_key(code: Option<char>) -> &'static str {
    code.and_then(crate::spec::ColumnCompression::from_code)
        .map_or("?", |c| c.sql())
}

fn generated_kind_text(code: char) -> &'static str {
    match code {
        'v' => "VIRTUAL",
        _ => "STORED",
    }
}

/// `column.nullable`: the spec's nullability against `attnotnull`, and on PostgreSQL 18 a
/// NOT NULL constraint added `NOT VALID` fails as not holding: the rows already there were
/// never checked, and may hold NULL.
fn nullable_finding(
    ctx: &Ctx,
    object: &str,
    name: &str,
    want_nullable: bool,
    actual: &crate::catalog::Column,
) -> Finding {
    let path = ["columns", name, "nullable"];
    match (&actual.not_null_not_valid, want_nullable) {
        (Some(constraint), false) => ctx.fail(
            "column.nullable",
            object.to_string(),
            &path,
            Some("NOT NULL".into()),
            Some("NOT NULL NOT VALID (existing rows were never checked)".into()),
            format!(
                "{object}: its NOT NULL constraint {constraint} was added NOT VALID: existing rows were never checked and may hold NULL"
            ),
            &format!(
                "fix the rows that hold NULL, then ALTER TABLE … VALIDATE CONSTRAINT {} in a migration",
                crate::sql::quote_ident(constraint)
            ),
        ),
        _ => ctx.compare(
            "column.nullable",
            object.to_string(),
            &path,
            nullability(want_nullable),
            nullability(actual.nullable),
            want_nullable == actual.nullable,
            "add or drop NOT NULL in a migration, or correct the spec",
        ),
    }
}

fn identity_text(code: Option<char>) -> &'static str {
    match code {
        Some('a') => "GENERATED ALWAYS AS IDENTITY",
        Some('d') => "GENERATED BY DEFAULT AS IDENTITY",
        _ => "not an identity column",
    }
}

fn collation_text(c: Option<&str>) -> String {
    c.map_or_else(|| "the type's default".into(), str::to_string)
}

fn nullability(nullable: bool) -> &'static str {
    if nullable {
        "NULL"
    } else {
        "NOT NULL"
    }
}
