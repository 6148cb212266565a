//! Primary key, UNIQUE constraints and foreign keys.

use super::{Ctx, Finding, Status};
use crate::catalog::{qualified_name, ConstraintKind, Index, OffTrigger, Relation};
use crate::spec::{FkAction, FkMatch};

fn fk_action(code: Option<char>) -> &'static str {
    match code {
        Some('r') => FkAction::Restrict.sql(),
        Some('c') => FkAction::Cascade.sql(),
        Some('n') => FkAction::SetNull.sql(),
        Some('d') => FkAction::SetDefault.sql(),
        _ => FkAction::NoAction.sql(),
    }
}

/// The index behind key constraint `want` in the shadow, and behind `got` in the database.
fn key_indexes<'a>(
    ctx: &Ctx<'a>,
    rel: &'a Relation,
    want: &str,
    got: &str,
) -> (Option<&'a Index>, Option<&'a Index>) {
    (
        ctx.expected.and_then(|r| r.constraint_index(want)),
        rel.constraint_index(got),
    )
}

/// `pk.include` or `unique.include`: the INCLUDE columns of the index behind key
/// constraint `name` against the shadow's (the spec's `include`, compiled), when either
/// has some; keys without INCLUDE, as the spec says by default, add no finding.
fn key_include(
    ctx: &Ctx,
    code: &'static str,
    object: String,
    path: &[&str],
    (shadow, actual): (Option<&Index>, Option<&Index>),
    declared: &[String],
) -> Option<Finding> {
    let want: Vec<String> = match shadow {
        Some(w) => w.include.clone(),
        None => declared
            .iter()
            .map(|c| crate::sql::quote_ident(c))
            .collect(),
    };
    let got: Vec<String> = actual.map(|i| i.include.clone()).unwrap_or_default();
    if want.is_empty() && got.is_empty() {
        return None;
    }
    let show = |cols: &[String]| {
        if cols.is_empty() {
            "none".to_string()
        } else {
            cols.join(", ")
        }
    };
    Some(ctx.compare(
        code,
        object,
        path,
        show(&want),
        show(&got),
        want == got,
        "recreate the constraint with the spec's INCLUDE columns (ADD CONSTRAINT … INCLUDE (…)), or correct the spec's `include`",
    ))
}

fn deferrability(deferrable: bool, initially_deferred: bool) -> &'static str {
    match (deferrable, initially_deferred) {
        (false, _) => "NOT DEFERRABLE",
        (true, false) => "DEFERRABLE INITIALLY IMMEDIATE",
        (true, true) => "DEFERRABLE INITIALLY DEFERRED",
    }
}

/// `major`: the checked server's major version (0 when unknown), for `fk.enforcement`.
pub(crate) fn verify_keys(ctx: &Ctx, rel: &Relation, major: u32, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    let table = &spec.table;
    // Primary key (one that a partition inherits is its parent's, described there)
    let actual_pk = rel
        .constraints
        .iter()
        .find(|c| c.kind == ConstraintKind::PrimaryKey && !c.inherited);
    match (&spec.primary_key, actual_pk) {
        (Some(pk), Some(a)) => {
            let name = pk.name.clone().unwrap_or_else(|| format!("{table}_pkey"));
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
            out.push(key_deferrability(
                ctx,
                "pk.deferrable",
                format!("{t}.{name}"),
                &["primary_key", "deferrable"],
                (pk.deferrable, pk.initially_deferred),
                a,
            ));
            let indexes = key_indexes(ctx, rel, &name, &a.name);
            out.extend(key_include(
                ctx,
                "pk.include",
                format!("{t}.{name}"),
                &["primary_key", "include"],
                indexes,
                &pk.include,
            ));
            out.extend(super::indexes::index_parameters(
                ctx,
                format!("{t}.{name}"),
                &["primary_key", "parameters"],
                indexes.0,
                &pk.parameters,
                indexes.1,
            ));
            out.extend(ctx.comment(
                "pk.comment",
                format!("{t}.{name}"),
                &["primary_key", "comment"],
                pk.comment.as_deref(),
                a.comment.as_deref(),
            ));
        }
        (Some(pk), None) => out.push(ctx.fail(
            "pk.exists",
            format!(
                "{t}.{}",
                pk.name.clone().unwrap_or_else(|| format!("{table}_pkey"))
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
                    object.clone(),
                    &["unique", name, "columns"],
                    u.columns.join(", "),
                    a.columns.join(", "),
                    u.columns == a.columns,
                    "change the constraint in a migration, or correct the spec",
                ));
                out.push(key_deferrability(
                    ctx,
                    "unique.deferrable",
                    object.clone(),
                    &["unique", name, "deferrable"],
                    (u.deferrable, u.initially_deferred),
                    a,
                ));
                let indexes = key_indexes(ctx, rel, name, name);
                out.extend(key_include(
                    ctx,
                    "unique.include",
                    object.clone(),
                    &["unique", name, "include"],
                    indexes,
                    &u.include,
                ));
                out.extend(super::indexes::index_parameters(
                    ctx,
                    object,
                    &["unique", name, "parameters"],
                    indexes.0,
                    &u.parameters,
                    indexes.1,
                ));
                let not_distinct = rel.unique_nulls_not_distinct(name);
                let nulls = |not_distinct: bool| {
                    if not_distinct {
                        "NULLS NOT DISTINCT"
                    } else {
                        "NULLS DISTINCT"
                    }
                };
                out.push(ctx.compare(
                    "unique.nulls",
                    format!("{t}.{name}"),
                    &["unique", name, "nulls_not_distinct"],
                    nulls(u.nulls_not_distinct),
                    nulls(not_distinct),
                    u.nulls_not_distinct == not_distinct,
                    "recreate the constraint with UNIQUE NULLS [NOT] DISTINCT as the spec says, \
                     or correct the spec",
                ));
                out.extend(ctx.comment(
                    "unique.comment",
                    format!("{t}.{name}"),
                    &["unique", name, "comment"],
                    u.comment.as_deref(),
                    a.comment.as_deref(),
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
                let want_schema = fk
                    .references
                    .schema
                    .clone()
                    .unwrap_or_else(|| spec.schema.clone());
                let want = format!(
                    "{}({})",
                    qualified_name(&want_schema, &fk.references.table, &spec.schema),
                    fk.references.columns.join(", ")
                );
                let got = format!(
                    "{}({})",
                    qualified_name(
                        a.ref_schema.as_deref().unwrap_or_default(),
                        a.ref_table.as_deref().unwrap_or_default(),
                        &spec.schema
                    ),
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
                if !fk.on_delete_columns.is_empty() || !a.on_delete_columns.is_empty() {
                    let show = |cols: &[String]| {
                        if cols.is_empty() {
                            "every column of the key".to_string()
                        } else {
                            cols.join(", ")
                        }
                    };
                    out.push(ctx.compare(
                        "fk.on_delete_columns",
                        object.clone(),
                        &["foreign_keys", name, "on_delete_columns"],
                        show(&fk.on_delete_columns),
                        show(&a.on_delete_columns),
                        fk.on_delete_columns == a.on_delete_columns,
                        "recreate the foreign key with ON DELETE SET NULL (…) / SET DEFAULT (…) listing the spec's `on_delete_columns` (PostgreSQL 15 on), or correct the spec",
                    ));
                }
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
                    object.clone(),
                    &["foreign_keys", name, "on_update"],
                    fk.on_update.sql(),
                    fk_action(a.on_update),
                    fk.on_update.sql() == fk_action(a.on_update),
                    "recreate the foreign key with the right ON UPDATE action",
                ));
                // With one column, MATCH FULL and MATCH SIMPLE refuse the same rows: only
                // a key of several columns can differ.
                if a.columns.len() > 1 || fk.columns.len() > 1 {
                    let got = FkMatch::of(a.match_full);
                    out.push(ctx.compare(
                        "fk.match",
                        object.clone(),
                        &["foreign_keys", name, "match"],
                        fk.match_type.sql(),
                        got.sql(),
                        fk.match_type == got,
                        "recreate the foreign key with the spec's MATCH FULL or MATCH SIMPLE, \
                         or correct the spec's `match`",
                    ));
                }
                out.push(validity(
                    ctx,
                    "fk.validated",
                    object.clone(),
                    &["foreign_keys", name, "validated"],
                    fk.validated,
                    a,
                ));
                out.push(enforcement(
                    ctx,
                    "fk.enforcement",
                    object.clone(),
                    &["foreign_keys", name, "enforced"],
                    fk.enforced,
                    a,
                    major,
                ));
                out.push(enforced(
                    ctx,
                    "fk.enforced",
                    object.clone(),
                    &["foreign_keys", name],
                    &a.off_triggers,
                ));
                out.extend(ctx.comment(
                    "fk.comment",
                    object,
                    &["foreign_keys", name, "comment"],
                    fk.comment.as_deref(),
                    a.comment.as_deref(),
                ));
            }
        }
    }
    // A deferrable PRIMARY KEY, UNIQUE or EXCLUDE constraint is rechecked by an internal
    // trigger: disabled, duplicates get in. (A CHECK has no trigger; a foreign key's are
    // `fk.enforced` above.)
    for c in rel.constraints.iter().filter(|c| {
        !c.inherited
            && !c.off_triggers.is_empty()
            && matches!(
                c.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
            )
    }) {
        let section = match c.kind {
            ConstraintKind::PrimaryKey => "primary_key",
            ConstraintKind::Unique => "unique",
            _ => "checks",
        };
        out.push(enforced(
            ctx,
            "constraint.enforced",
            format!("{t}.{}", c.name),
            &[section],
            &c.off_triggers,
        ));
    }
    for c in rel.constraints.iter().filter(|c| !c.inherited) {
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

/// Whether a primary key or UNIQUE constraint is deferrable as its spec says. PostgreSQL
/// cannot alter that for these kinds (ALTER CONSTRAINT takes foreign keys only), so the
/// hint says to re-create it.
fn key_deferrability(
    ctx: &Ctx,
    code: &'static str,
    object: String,
    path: &[&str],
    (deferrable, initially_deferred): (bool, bool),
    actual: &crate::catalog::Constraint,
) -> Finding {
    let want = deferrability(deferrable, initially_deferred);
    let got = deferrability(actual.deferrable, actual.initially_deferred);
    ctx.compare(
        code,
        object,
        path,
        want,
        got,
        want == got,
        "drop and add the constraint again with [NOT] DEFERRABLE [INITIALLY …] as the spec says \
         (ALTER CONSTRAINT changes foreign keys only), or correct the spec",
    )
}

/// Whether a constraint has been validated against existing rows. A spec that declares
/// `validated: false` (a constraint being rolled out in two steps) accepts both states.
/// A constraint made `NOT ENFORCED` (PostgreSQL 18) is checked against no row, and
/// PostgreSQL marks it not validated: validity does not apply to it, so the finding is a
/// skip that says so, and whether it may be NOT ENFORCED is [`enforcement`]'s finding.
pub(crate) fn validity(
    ctx: &Ctx,
    code: &'static str,
    object: String,
    path: &[&str],
    want_validated: bool,
    actual: &crate::catalog::Constraint,
) -> Finding {
    let validated = actual.validated;
    if !actual.enforced {
        let mut f = ctx.finding(code, object.clone(), path, Status::Skip);
        f.expected = Some(
            if want_validated {
                "validated"
            } else {
                "validated or NOT VALID"
            }
            .into(),
        );
        f.actual = Some("NOT ENFORCED".into());
        f.message = format!(
            "{object} is NOT ENFORCED: PostgreSQL checks no row against it, so whether it was validated does not apply (its enforcement is `{}`)",
            enforcement_code(code)
        );
        return f;
    }
    let got = if validated {
        "validated"
    } else {
        "NOT VALID (existing rows were never checked)"
    };
    if !want_validated {
        let mut f = ctx.pass(
            code,
            object.clone(),
            path,
            format!("{object}: {got}; the spec allows a constraint not yet validated"),
        );
        f.expected = Some("validated or NOT VALID".into());
        f.actual = Some(got.into());
        return f;
    }
    let mut f = ctx.compare(
        code,
        object.clone(),
        path,
        "validated",
        got,
        validated,
        "run ALTER TABLE … VALIDATE CONSTRAINT in a migration, or declare `validated: false` while it is rolled out",
    );
    f.message = if validated {
        format!("{object} is validated")
    } else {
        format!("{object} was added NOT VALID: existing rows were never checked against it")
    };
    if !validated {
        f.status = Status::Fail;
    }
    f
}

/// The enforcement code that goes with a validity code (`fk.validated` → `fk.enforcement`).
fn enforcement_code(validity_code: &str) -> &'static str {
    if validity_code.starts_with("fk.") {
        "fk.enforcement"
    } else {
        "check.enforcement"
    }
}

/// Whether a CHECK or foreign key is `ENFORCED` or `NOT ENFORCED` (PostgreSQL 18,
/// `conenforced`) as the spec's `enforced` says (default: enforced). `major` is the checked
/// server's major (0 when unknown): before 18 every constraint is enforced, and a spec that
/// declares one NOT ENFORCED fails with a message that says the server cannot have it.
/// (Not `fk.enforced`, which is about a key's internal triggers firing.)
pub(crate) fn enforcement(
    ctx: &Ctx,
    code: &'static str,
    object: String,
    path: &[&str],
    want_enforced: bool,
    actual: &crate::catalog::Constraint,
    major: u32,
) -> Finding {
    let fk = code.starts_with("fk.");
    let show = |enforced: bool| if enforced { "ENFORCED" } else { "NOT ENFORCED" };
    if want_enforced == actual.enforced {
        let mut f = ctx.pass(
            code,
            object.clone(),
            path,
            if actual.enforced {
                format!("{object} is enforced")
            } else {
                format!(
                    "{object} is NOT ENFORCED, as the spec declares: informational, PostgreSQL checks no row against it"
                )
            },
        );
        f.expected = Some(show(want_enforced).into());
        f.actual = Some(show(actual.enforced).into());
        return f;
    }
    if want_enforced {
        return ctx.fail(
            code,
            object.clone(),
            path,
            Some("ENFORCED".into()),
            Some("NOT ENFORCED (PostgreSQL never checks it, on existing rows or new ones)".into()),
            format!("{object} is NOT ENFORCED: PostgreSQL does not check it at all"),
            if fk {
                "run ALTER TABLE … ALTER CONSTRAINT … ENFORCED in a migration (it checks the existing rows; VALIDATE CONSTRAINT is refused on a NOT ENFORCED constraint), or declare `enforced: false` if the key is meant to be informational"
            } else {
                "drop the CHECK and add it again without NOT ENFORCED in a migration (PostgreSQL 18 cannot alter a CHECK's enforceability, and refuses VALIDATE CONSTRAINT on it), or declare `enforced: false` if it is meant to be informational"
            },
        );
    }
    if (1..18).contains(&major) {
        return ctx.fail(
            code,
            object.clone(),
            path,
            Some("NOT ENFORCED".into()),
            Some(format!(
                "ENFORCED (PostgreSQL {major} enforces every constraint: NOT ENFORCED came with PostgreSQL 18)"
            )),
            format!(
                "{object}: the spec declares it NOT ENFORCED, which PostgreSQL {major} cannot make: the server enforces it, and rows that break it are refused"
            ),
            "remove `enforced: false` from the spec while the database runs on a PostgreSQL before 18, or check it on PostgreSQL 18 or later",
        );
    }
    ctx.fail(
        code,
        object.clone(),
        path,
        Some("NOT ENFORCED".into()),
        Some("ENFORCED".into()),
        format!(
            "{object} is enforced, where the spec declares it NOT ENFORCED (informational): PostgreSQL refuses rows that break it"
        ),
        if fk {
            "run ALTER TABLE … ALTER CONSTRAINT … NOT ENFORCED in a migration, or remove `enforced: false` from the spec"
        } else {
            "drop the CHECK and add it again NOT ENFORCED in a migration (PostgreSQL 18 cannot alter a CHECK's enforceability), or remove `enforced: false` from the spec"
        },
    )
}

/// Whether every trigger that enforces a constraint fires in a normal session (`off` are
/// those that do not: `ALTER TABLE … DISABLE TRIGGER ALL`, or of the internal trigger by
/// name, or `ENABLE REPLICA TRIGGER`, switches the constraint off while the catalog still
/// calls it validated).
pub(crate) fn enforced(
    ctx: &Ctx,
    code: &'static str,
    object: String,
    path: &[&str],
    off: &[OffTrigger],
) -> Finding {
    if off.is_empty() {
        let mut f = ctx.pass(
            code,
            object.clone(),
            path,
            format!("{object} is enforced: its triggers fire"),
        );
        f.expected = Some("enforced".into());
        f.actual = Some("enforced".into());
        return f;
    }
    let off_text: Vec<String> = off
        .iter()
        .map(|o| {
            format!(
                "{} on {} is {}",
                o.name,
                o.relation,
                if o.enabled == 'R' {
                    "replica only"
                } else {
                    "disabled"
                }
            )
        })
        .collect();
    let mut tables: Vec<&str> = off.iter().map(|o| o.relation.as_str()).collect();
    tables.dedup();
    let fixes: Vec<String> = tables
        .iter()
        .map(|t| format!("ALTER TABLE {t} ENABLE TRIGGER ALL"))
        .collect();
    ctx.fail(
        code,
        object.clone(),
        path,
        Some("enforced (its triggers fire)".into()),
        Some(format!("not enforced: {}", off_text.join("; "))),
        format!(
            "{object} is not enforced: {} (rows that break it are accepted)",
            off_text.join("; ")
        ),
        &format!(
            "{} (or ENABLE TRIGGER of the trigger named): a constraint's internal triggers must fire",
            fixes.join("; ")
        ),
    )
}
