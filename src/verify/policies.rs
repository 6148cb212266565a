//! Row-level security: enabled and forced per table, and its policies (command, roles,
//! permissive or restrictive, `USING` and `WITH CHECK`). The expressions are compiled in
//! the shadow database from the spec and compared, as PostgreSQL prints them, with the
//! catalog's, exactly as CHECK rules are.

use std::collections::BTreeSet;

use super::roles::Roles;
use super::{canonical, Ctx, Finding, Shadow};
use crate::catalog::{relation_key, Policy, Schema, TableSecurity};
use crate::spec::policy::PUBLIC_ROLE;
use crate::spec::{PolicyCommand, PolicySpec, RelationKind, SpecSet, TableSpec};
use crate::sql::quote_ident;

/// The statement that creates a spec policy in the shadow. The roles are left out (the
/// shadow has none of them; they are compared by name).
pub(crate) fn shadow_statement(spec: &TableSpec, name: &str, p: &PolicySpec) -> String {
    let mut sql = format!(
        "CREATE POLICY {} ON {}.{} AS {} FOR {} TO PUBLIC",
        quote_ident(name),
        quote_ident(&spec.schema),
        quote_ident(&spec.table),
        if p.restrictive {
            "RESTRICTIVE"
        } else {
            "PERMISSIVE"
        },
        p.command.sql()
    );
    if let Some(u) = &p.using {
        sql.push_str(&format!(" USING ({u})"));
    }
    if let Some(c) = &p.with_check {
        sql.push_str(&format!(" WITH CHECK ({c})"));
    }
    sql
}

fn on_off(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

fn expr_text(e: Option<&String>) -> String {
    e.map(|s| canonical(s)).unwrap_or_else(|| "none".into())
}

/// Compare every table spec's row-level security with the catalog.
pub(crate) fn verify_policies(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let none = TableSecurity::default();
    for loaded in &specs.specs {
        let spec = &loaded.spec;
        if !matches!(
            spec.kind,
            RelationKind::Table | RelationKind::PartitionedTable
        ) {
            continue;
        }
        let key = relation_key(&spec.schema, &spec.table);
        let Some(rel) = actual.relations.get(&key) else {
            continue;
        };
        if !matches!(rel.kind, 'r' | 'p') {
            continue;
        }
        let ctx = Ctx::relation(loaded, None);
        let t = &key;
        let sec = actual.access.row_security.get(t).unwrap_or(&none);
        let want = spec.row_security.unwrap_or_default();
        out.push(ctx.compare(
            "rls.enabled",
            t.clone(),
            &["row_security", "enabled"],
            on_off(want.enabled),
            on_off(sec.enabled),
            want.enabled == sec.enabled,
            "ALTER TABLE … ENABLE / DISABLE ROW LEVEL SECURITY as the spec says, or correct the spec's row_security",
        ));
        out.push(ctx.compare(
            "rls.forced",
            t.clone(),
            &["row_security", "forced"],
            if want.forced { "forced" } else { "not forced" },
            if sec.forced { "forced" } else { "not forced" },
            want.forced == sec.forced,
            "ALTER TABLE … FORCE / NO FORCE ROW LEVEL SECURITY as the spec says, or correct the spec's row_security",
        ));
        let shadowed = shadow.schema.access.row_security.get(t);
        for (name, p) in &spec.policies {
            let object = format!("{t}.{name}");
            let path = ["policies", name.as_str()];
            let Some(a) = sec.policies.iter().find(|a| a.name == *name) else {
                out.push(ctx.fail(
                    "policy.exists",
                    object,
                    &path,
                    Some(format!("policy {name}")),
                    Some("missing".into()),
                    format!("policy `{name}` does not exist on `{t}`"),
                    "CREATE POLICY in a migration, or remove it from the spec",
                ));
                continue;
            };
            out.push(ctx.pass(
                "policy.exists",
                object.clone(),
                &path,
                format!("{object} exists"),
            ));
            let printed: Option<&Policy> =
                shadowed.and_then(|s| s.policies.iter().find(|x| x.name == *name));
            compare_policy(&ctx, &object, name, p, printed, a, roles, out);
        }
        for a in &sec.policies {
            if !spec.policies.contains_key(&a.name) {
                out.push(ctx.fail(
                    "policy.extra",
                    format!("{t}.{}", a.name),
                    &["policies"],
                    Some("absent".into()),
                    Some(describe(a)),
                    format!(
                        "{t}.{} is a policy the spec does not list under `policies`",
                        a.name
                    ),
                    "drop the policy, or declare it under `policies` in the spec",
                ));
            }
        }
    }
}

fn command_name(c: char) -> &'static str {
    PolicyCommand::from_polcmd(c)
        .map(PolicyCommand::sql)
        .unwrap_or("?")
}

/// `FOR SELECT TO app USING (…)`, for messages.
fn describe(a: &Policy) -> String {
    let mut s = format!(
        "AS {} FOR {} TO {}",
        if a.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        command_name(a.command),
        a.roles.join(", ")
    );
    if let Some(u) = &a.using {
        s.push_str(&format!(" USING ({u})"));
    }
    if let Some(c) = &a.with_check {
        s.push_str(&format!(" WITH CHECK ({c})"));
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn compare_policy(
    ctx: &Ctx,
    object: &str,
    name: &str,
    p: &PolicySpec,
    printed: Option<&Policy>,
    a: &Policy,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let key = |k: &'static str| ["policies", name, k];
    let want_cmd = p.command.sql();
    let got_cmd = command_name(a.command);
    out.push(ctx.compare(
        "policy.command",
        object.to_string(),
        &key("command"),
        want_cmd,
        got_cmd,
        want_cmd == got_cmd,
        "recreate the policy FOR the spec's command, or correct the spec",
    ));
    let mode = |permissive: bool| {
        if permissive {
            "permissive"
        } else {
            "restrictive"
        }
    };
    out.push(ctx.compare(
        "policy.permissive",
        object.to_string(),
        &key("restrictive"),
        mode(!p.restrictive),
        mode(a.permissive),
        p.restrictive != a.permissive,
        "recreate the policy AS PERMISSIVE / RESTRICTIVE as the spec says, or correct the spec",
    ));
    let mut want_roles = BTreeSet::new();
    let mut all_bound = true;
    for r in &p.roles {
        if r == PUBLIC_ROLE {
            want_roles.insert(PUBLIC_ROLE.to_string());
        } else {
            let at = Some(ctx.loaded.location(&key("roles")));
            match roles.resolve(r, at) {
                Some(role) => {
                    want_roles.insert(role);
                }
                None => all_bound = false,
            }
        }
    }
    if all_bound {
        let got_roles: BTreeSet<String> = a.roles.iter().cloned().collect();
        let text = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        out.push(ctx.compare(
            "policy.roles",
            object.to_string(),
            &key("roles"),
            text(&want_roles),
            text(&got_roles),
            want_roles == got_roles,
            "ALTER POLICY … TO the spec's roles, or correct the spec",
        ));
    }
    let exprs = [
        (
            "policy.using",
            "using",
            printed.and_then(|x| x.using.as_ref()),
            a.using.as_ref(),
        ),
        (
            "policy.with_check",
            "with_check",
            printed.and_then(|x| x.with_check.as_ref()),
            a.with_check.as_ref(),
        ),
    ];
    for (code, k, want, got) in exprs {
        let (want, got) = (expr_text(want), expr_text(got));
        out.push(ctx.compare(
            code,
            object.to_string(),
            &key(k),
            want.clone(),
            got.clone(),
            want == got,
            "ALTER POLICY with the spec's expression, or correct the spec",
        ));
    }
}
