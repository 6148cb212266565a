//! Primary key, UNIQUE constraints and foreign keys.

use super::{Ctx, Finding};
use crate::catalog::{ConstraintKind, Relation};
use crate::spec::FkAction;

fn fk_action(code: Option<char>) -> &'static str {
    match code {
        Some('r') => FkAction::Restrict.sql(),
        Some('c') => FkAction::Cascade.sql(),
        Some('n') => FkAction::SetNull.sql(),
        Some('d') => FkAction::SetDefault.sql(),
        _ => FkAction::NoAction.sql(),
    }
}

fn deferrability(deferrable: bool, initially_deferred: bool) -> &'static str {
    match (deferrable, initially_deferred) {
        (false, _) => "NOT DEFERRABLE",
        (true, false) => "DEFERRABLE INITIALLY IMMEDIATE",
        (true, true) => "DEFERRABLE INITIALLY DEFERRED",
    }
}

pub(crate) fn verify_keys(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = &spec.table;
    // Primary key
    let actual_pk = rel
        .constraints
        .iter()
        .find(|c| c.kind == ConstraintKind::PrimaryKey);
    match (&spec.primary_key, actual_pk) {
        (Some(pk), Some(a)) => {
            let name = pk.name.clone().unwrap_or_else(|| format!("{t}_pkey"));
            out.push(ctx.compare(
                "pk.name",
                format!("{t}.{name}"),
                &["primary_key"],
                name.clone(),
                a.name.clone(),
                name == a.name,
                "rename the constraint, or correct the spec",
            ));
            out.push(ctx.compare(
                "pk.columns",
                format!("{t}.{name}"),
                &["primary_key", "columns"],
                pk.columns.join(", "),
                a.columns.join(", "),
                pk.columns == a.columns,
                "change the primary key in a migration, or correct the spec",
            ));
        }
        (Some(pk), None) => out.push(ctx.fail(
            "pk.exists",
            format!(
                "{t}.{}",
                pk.name.clone().unwrap_or_else(|| format!("{t}_pkey"))
            ),
            &["primary_key"],
            Some(format!("PRIMARY KEY ({})", pk.columns.join(", "))),
            Some("none".into()),
            format!("`{t}` has no primary key"),
            "add the primary key in a migration",
        )),
        (None, Some(a)) => out.extend(ctx.extra(
            "pk.extra",
            format!("{t}.{}", a.name),
            "primary_key",
            a.definition.clone(),
            false,
        )),
        (None, None) => {}
    }
    // UNIQUE constraints
    for (name, u) in &spec.unique {
        let object = format!("{t}.{name}");
        let path = ["unique", name.as_str()];
        match rel
            .constraint(name)
            .filter(|c| c.kind == ConstraintKind::Unique)
        {
            None => out.push(ctx.fail(
                "unique.exists",
                object,
                &path,
                Some(format!("UNIQUE ({})", u.columns.join(", "))),
                Some("missing".into()),
                format!("UNIQUE constraint `{name}` does not exist on `{t}`"),
                "add the constraint in a migration, or correct the spec",
            )),
            Some(a) => {
                out.push(ctx.pass(
                    "unique.exists",
                    object.clone(),
                    &path,
                    format!("{object} exists"),
                ));
                out.push(ctx.compare(
                    "unique.columns",
                    object,
                    &["unique", name, "columns"],
                    u.columns.join(", "),
                    a.columns.join(", "),
                    u.columns == a.columns,
                    "change the constraint in a migration, or correct the spec",
                ));
            }
        }
    }
    // Foreign keys
    for (name, fk) in &spec.foreign_keys {
        let object = format!("{t}.{name}");
        let path = ["foreign_keys", name.as_str()];
        match rel
            .constraint(name)
            .filter(|c| c.kind == ConstraintKind::ForeignKey)
        {
            None => out.push(ctx.fail(
                "fk.exists",
                object,
                &path,
                Some(format!(
                    "FOREIGN KEY ({}) REFERENCES {}({})",
                    fk.columns.join(", "),
                    fk.references.table,
                    fk.references.columns.join(", ")
                )),
                Some("missing".into()),
                format!("foreign key `{name}` does not exist on `{t}`"),
                "add the foreign key in a migration, or correct the spec",
            )),
            Some(a) => {
                out.push(ctx.pass(
                    "fk.exists",
                    object.clone(),
                    &path,
                    format!("{object} exists"),
                ));
                out.push(ctx.compare(
                    "fk.columns",
                    object.clone(),
                    &["foreign_keys", name, "columns"],
                    fk.columns.join(", "),
                    a.columns.join(", "),
                    fk.columns == a.columns,
                    "change the foreign key in a migration, or correct the spec",
                ));
                let want = format!(
                    "{}({})",
                    fk.references.table,
                    fk.references.columns.join(", ")
                );
                let got = format!(
                    "{}({})",
                    a.ref_table.clone().unwrap_or_default(),
                    a.ref_columns.join(", ")
                );
                out.push(ctx.compare(
                    "fk.references",
                    object.clone(),
                    &["foreign_keys", name, "references"],
                    want.clone(),
                    got.clone(),
                    want == got,
                    "change the foreign key in a migration, or correct the spec",
                ));
                out.push(ctx.compare(
                    "fk.on_delete",
                    object.clone(),
                    &["foreign_keys", name, "on_delete"],
                    fk.on_delete.sql(),
                    fk_action(a.on_delete),
                    fk.on_delete.sql() == fk_action(a.on_delete),
                    "recreate the foreign key with the right ON DELETE action",
                ));
                let want = deferrability(fk.deferrable, fk.initially_deferred);
                let got = deferrability(a.deferrable, a.initially_deferred);
                out.push(ctx.compare(
                    "fk.deferrable",
                    object.clone(),
                    &["foreign_keys", name, "deferrable"],
                    want,
                    got,
                    want == got,
                    "ALTER TABLE … ALTER CONSTRAINT … [NOT] DEFERRABLE [INITIALLY …] as the spec says",
                ));
                out.push(ctx.compare(
                    "fk.on_update",
                    object,
                    &["foreign_keys", name, "on_update"],
                    fk.on_update.sql(),
                    fk_action(a.on_update),
                    fk.on_update.sql() == fk_action(a.on_update),
                    "recreate the foreign key with the right ON UPDATE action",
                ));
            }
        }
    }
    for c in &rel.constraints {
        let (code, section, listed) = match c.kind {
            ConstraintKind::Unique => ("unique.extra", "unique", spec.unique.contains_key(&c.name)),
            ConstraintKind::ForeignKey => (
                "fk.extra",
                "foreign_keys",
                spec.foreign_keys.contains_key(&c.name),
            ),
            ConstraintKind::Exclusion => ("constraint.extra", "checks", false),
            _ => continue,
        };
        if !listed {
            out.extend(ctx.extra(
                code,
                format!("{t}.{}", c.name),
                section,
                c.definition.clone(),
                spec.allow_extra.constraints,
            ));
        }
    }
}
