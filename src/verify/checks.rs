//! CHECK constraints: existence, and the rule as PostgreSQL prints it on both sides.

use super::{canonical, Ctx, Finding};
use crate::catalog::{ConstraintKind, Relation};

/// `major`: the checked server's major version (0 when unknown), for `check.enforcement`.
pub(crate) fn verify_checks(ctx: &Ctx, rel: &Relation, major: u32, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    for (name, check) in &spec.checks {
        let object = format!("{t}.{name}");
        let path = ["checks", name.as_str()];
        let expected = ctx
            .expected
            .and_then(|r| r.constraint(name))
            .and_then(|c| c.expression.clone())
            .unwrap_or_default();
        match rel
            .constraint(name)
            .filter(|c| c.kind == ConstraintKind::Check)
        {
            None => out.push(ctx.fail(
                "check.exists",
                object,
                &path,
                Some(format!("CHECK ({expected})")),
                Some("missing".into()),
                format!("CHECK constraint `{name}` does not exist on `{t}`"),
                "add the constraint in a migration (or rename it to match), or correct the spec",
            )),
            Some(a) => {
                out.push(ctx.pass(
                    "check.exists",
                    object.clone(),
                    &path,
                    format!("{object} exists"),
                ));
                let actual = a.expression.clone().unwrap_or_default();
                out.push(super::keys::validity(
                    ctx,
                    "check.validated",
                    object.clone(),
                    &["checks", name, "validated"],
                    check.validated,
                    a,
                ));
                out.push(super::keys::enforcement(
                    ctx,
                    "check.enforcement",
                    object.clone(),
                    &["checks", name, "enforced"],
                    check.enforced,
                    a,
                    major,
                ));
                // Reported when declared or when made NO INHERIT: CHECKs that children
                // inherit, as the spec says by default, add no finding.
                if check.no_inherit || a.no_inherit {
                    let show = |n: bool| {
                        if n {
                            "NO INHERIT"
                        } else {
                            "inherited by child tables"
                        }
                    };
                    out.push(ctx.compare(
                        "check.no_inherit",
                        object.clone(),
                        &["checks", name, "no_inherit"],
                        show(check.no_inherit),
                        show(a.no_inherit),
                        check.no_inherit == a.no_inherit,
                        "recreate the CHECK with or without NO INHERIT as the spec's `no_inherit` says",
                    ));
                }
                out.extend(ctx.comment(
                    "check.comment",
                    object.clone(),
                    &["checks", name, "comment"],
                    check.comment.as_deref(),
                    a.comment.as_deref(),
                ));
                let (expected, actual) = (canonical(&expected), canonical(&actual));
                let same = expected == actual;
                out.push(ctx.compare(
                    "check.rule",
                    object,
                    &["checks", name, "rule"],
                    expected,
                    actual,
                    same,
                    "the constraint enforces a different rule: fix the migration, or correct the spec's rule (use `sql:` when no structured rule fits)",
                ));
            }
        }
    }
    for c in &rel.constraints {
        if c.kind == ConstraintKind::Check && !c.inherited && !spec.checks.contains_key(&c.name) {
            out.extend(ctx.extra(
                "check.extra",
                format!("{t}.{}", c.name),
                "checks",
                c.definition.clone(),
                spec.allow_extra.constraints,
            ));
        }
    }
}
