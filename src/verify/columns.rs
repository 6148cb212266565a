//! Columns: existence, type, collation, nullability, default; and columns the spec does not list.

use super::{canonical, Ctx, Finding};
use crate::catalog::Relation;

pub(crate) fn verify_columns(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    for (name, col) in &spec.columns {
        let object = format!("{}.{name}", spec.table);
        let path = ["columns", name.as_str()];
        let Some(actual) = rel.column(name) else {
            out.push(ctx.fail(
                "column.exists",
                object,
                &path,
                Some("present".into()),
                Some("missing".into()),
                format!("column `{name}` of `{}` does not exist", spec.table),
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
        out.push(ctx.compare(
            "column.nullable",
            object.clone(),
            &["columns", name, "nullable"],
            nullability(col.nullable),
            nullability(actual.nullable),
            col.nullable == actual.nullable,
            "add or drop NOT NULL in a migration, or correct the spec",
        ));
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
            .and_then(|c| c.default.clone())
            .or_else(|| col.default.clone());
        let same = match (&expected_default, &actual.default) {
            (None, None) => true,
            (Some(e), Some(a)) => canonical(e) == canonical(a),
            _ => false,
        };
        out.push(
            ctx.compare(
                "column.default",
                object,
                &["columns", name, "default"],
                expected_default
                    .map(|d| canonical(&d))
                    .unwrap_or_else(|| "no default".into()),
                actual
                    .default
                    .as_deref()
                    .map(canonical)
                    .unwrap_or_else(|| "no default".into()),
                same,
                "set the default in a migration, or correct the spec",
            ),
        );
    }
    for c in &rel.columns {
        if !spec.columns.contains_key(&c.name) {
            out.extend(ctx.extra(
                "column.extra",
                format!("{}.{}", spec.table, c.name),
                "columns",
                c.type_name.clone(),
                spec.allow_extra.columns,
            ));
        }
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
