//! Triggers: existence, timing, events (with UPDATE OF columns), level, WHEN condition,
//! function, and whether they are enabled.

use super::{canonical, Ctx, Finding};
use crate::catalog::{Relation, Trigger};
use crate::spec::{TriggerEvent, TriggerLevel, TriggerTiming};

pub(crate) fn verify_triggers(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = ctx.table().to_string();
    for (name, trig) in &spec.triggers {
        let object = format!("{t}.{name}");
        let path = ["triggers", name.as_str()];
        let Some(a) = rel.trigger(name) else {
            out.push(ctx.fail(
                "trigger.exists",
                object,
                &path,
                Some(format!("trigger calling {}()", trig.function)),
                Some("missing".into()),
                format!("trigger `{name}` does not exist on `{t}`"),
                "create the trigger in a migration, or correct the spec",
            ));
            continue;
        };
        out.push(ctx.pass(
            "trigger.exists",
            object.clone(),
            &path,
            format!("{object} exists"),
        ));
        let timing = match trig.timing {
            TriggerTiming::Before => "before",
            TriggerTiming::After => "after",
            TriggerTiming::InsteadOf => "instead_of",
        };
        out.push(ctx.compare(
            "trigger.timing",
            object.clone(),
            &["triggers", name, "timing"],
            timing,
            a.timing.clone(),
            timing == a.timing,
            "recreate the trigger with the right timing",
        ));
        let mut events: Vec<TriggerEvent> = trig.events.clone();
        events.sort();
        events.dedup();
        let want: Vec<&str> = events
            .iter()
            .map(|e| match e {
                TriggerEvent::Insert => "insert",
                TriggerEvent::Update => "update",
                TriggerEvent::Delete => "delete",
                TriggerEvent::Truncate => "truncate",
            })
            .collect();
        out.push(ctx.compare(
            "trigger.events",
            object.clone(),
            &["triggers", name, "events"],
            want.join(", "),
            a.events.join(", "),
            want == a.events,
            "recreate the trigger with the right events",
        ));
        let level = match trig.level {
            TriggerLevel::Row => "row",
            TriggerLevel::Statement => "statement",
        };
        out.push(ctx.compare(
            "trigger.level",
            object.clone(),
            &["triggers", name, "level"],
            level,
            a.level.clone(),
            level == a.level,
            "recreate the trigger FOR EACH ROW / STATEMENT as the spec says",
        ));
        let mut want_cols = trig.columns.clone();
        want_cols.sort();
        want_cols.dedup();
        let mut got_cols = a.columns.clone();
        got_cols.sort();
        out.push(ctx.compare(
            "trigger.columns",
            object.clone(),
            &["triggers", name, "columns"],
            columns_text(&want_cols),
            columns_text(&got_cols),
            want_cols == got_cols,
            "recreate the trigger with the spec's UPDATE OF column list",
        ));
        let shadow_when = ctx
            .expected
            .and_then(|r| r.trigger(name))
            .and_then(|s| s.when.clone());
        let want_when = shadow_when.or_else(|| trig.when.clone());
        let same_when = match (&want_when, &a.when) {
            (None, None) => true,
            (Some(w), Some(g)) => canonical(w) == canonical(g),
            _ => false,
        };
        out.push(ctx.compare(
            "trigger.when",
            object.clone(),
            &["triggers", name, "when"],
            when_text(want_when.as_deref()),
            when_text(a.when.as_deref()),
            same_when,
            "recreate the trigger with the spec's WHEN condition",
        ));
        out.push(enabled(ctx, &object, name, trig.always, a));
        out.push(ctx.compare(
            "trigger.function",
            object.clone(),
            &["triggers", name, "function"],
            trig.function.clone(),
            a.function.clone(),
            same_function(&trig.function, a),
            "recreate the trigger with the right function",
        ));
        out.push(ctx.compare(
            "trigger.arguments",
            object.clone(),
            &["triggers", name, "arguments"],
            arguments_text(&trig.arguments),
            arguments_text(&a.arguments),
            trig.arguments == a.arguments,
            "recreate the trigger with the spec's function arguments",
        ));
        let want = transition_text(trig.old_table.as_deref(), trig.new_table.as_deref());
        let got = transition_text(a.old_table.as_deref(), a.new_table.as_deref());
        out.push(ctx.compare(
            "trigger.transition",
            object.clone(),
            &["triggers", name, "new_table"],
            want.clone(),
            got.clone(),
            want == got,
            "recreate the trigger with the spec's REFERENCING OLD/NEW TABLE (its function reads them by name)",
        ));
        let want = constraint_text(
            trig.constraint
                .then_some((trig.deferrable, trig.initially_deferred)),
        );
        let got = constraint_text(a.constraint);
        out.push(ctx.compare(
            "trigger.constraint",
            object.clone(),
            &["triggers", name, "constraint"],
            want,
            got,
            want == got,
            "recreate it as CREATE [CONSTRAINT] TRIGGER … [DEFERRABLE [INITIALLY …]] as the spec says",
        ));
        out.extend(ctx.comment(
            "trigger.comment",
            object,
            &["triggers", name, "comment"],
            trig.comment.as_deref(),
            a.comment.as_deref(),
        ));
    }
    for a in &rel.triggers {
        if !a.inherited && !spec.triggers.contains_key(&a.name) {
            out.extend(ctx.extra(
                "trigger.extra",
                format!("{t}.{}", a.name),
                "triggers",
                a.definition.clone(),
                spec.allow_extra.triggers,
            ));
        }
    }
}

/// `trigger.enabled`: the trigger fires in a normal session, here and on every partition
/// (a partition's copy is disabled on its own by `ALTER TABLE partition DISABLE TRIGGER`,
/// the parent's staying enabled).
/// Whether a listed trigger fires as its spec says: in ordinary sessions (`O`), or, with
/// `always`, in replica-mode sessions too (`A`); and on every partition.
fn enabled(ctx: &Ctx, object: &str, name: &str, always: bool, a: &Trigger) -> Finding {
    let want = if always { 'A' } else { 'O' };
    let fires = a.enabled == want;
    if !fires || a.off_copies.is_empty() {
        return ctx.compare(
            "trigger.enabled",
            object.to_string(),
            &["triggers", name],
            enabled_text(want),
            enabled_text(a.enabled),
            fires,
            if always {
                "ALTER TABLE … ENABLE ALWAYS TRIGGER …, or correct the spec"
            } else {
                "ALTER TABLE … ENABLE TRIGGER … (a listed trigger must fire, and only in ordinary sessions unless the spec says always: true)"
            },
        );
    }
    let copies: Vec<String> = a
        .off_copies
        .iter()
        .map(|c| format!("{} on partition {}", enabled_text(c.enabled), c.relation))
        .collect();
    let fixes: Vec<String> = a
        .off_copies
        .iter()
        .map(|c| {
            format!(
                "ALTER TABLE {} ENABLE TRIGGER {}",
                c.relation,
                crate::sql::quote_ident(&c.name)
            )
        })
        .collect();
    let mut f = ctx.compare(
        "trigger.enabled",
        object.to_string(),
        &["triggers", name],
        "enabled, on every partition too",
        format!("{}, but {}", enabled_text(a.enabled), copies.join("; ")),
        false,
        &format!(
            "{}: the partition's copy of a listed trigger must fire too",
            fixes.join("; ")
        ),
    );
    f.message = format!(
        "{object} does not fire on every partition: {}",
        copies.join("; ")
    );
    f
}

fn arguments_text(args: &[String]) -> String {
    if args.is_empty() {
        "no arguments".into()
    } else {
        args.iter()
            .map(|a| crate::sql::quote_literal(a))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn columns_text(cols: &[String]) -> String {
    if cols.is_empty() {
        "any column".into()
    } else {
        format!("UPDATE OF {}", cols.join(", "))
    }
}

fn when_text(when: Option<&str>) -> String {
    when.map_or_else(|| "none (always fires)".into(), canonical)
}

/// `pg_trigger.tgenabled` in words.
fn enabled_text(c: char) -> &'static str {
    match c {
        'O' => "enabled",
        'A' => "enabled (always, also as replica)",
        'R' => "replica only (does not fire normally)",
        'D' => "disabled",
        _ => "unknown",
    }
}

/// A trigger's transition tables as `REFERENCING` writes them, or `none`.
fn transition_text(old: Option<&str>, new: Option<&str>) -> String {
    let parts: Vec<String> = [("OLD", old), ("NEW", new)]
        .into_iter()
        .filter_map(|(which, name)| name.map(|n| format!("{which} TABLE AS {n}")))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        format!("REFERENCING {}", parts.join(" "))
    }
}

/// Whether a trigger is a constraint trigger, and when it fires: an ordinary trigger right
/// after each row, a constraint trigger at the end of the statement or, deferred, at
/// commit.
fn constraint_text(constraint: Option<(bool, bool)>) -> &'static str {
    match constraint {
        None => "ordinary trigger",
        Some((false, _)) => "CONSTRAINT TRIGGER NOT DEFERRABLE",
        Some((true, false)) => "CONSTRAINT TRIGGER DEFERRABLE INITIALLY IMMEDIATE",
        Some((true, true)) => "CONSTRAINT TRIGGER DEFERRABLE INITIALLY DEFERRED",
    }
}

/// Whether the spec's `function` names the trigger's function: as it is read (bare in the
/// table's schema or `pg_catalog`, qualified elsewhere), or qualified with the very schema
/// it lives in (`app.touch` for a bare `touch` of a table in `app`).
fn same_function(spec: &str, a: &Trigger) -> bool {
    if spec == a.function {
        return true;
    }
    let (schema, name) = crate::catalog::parse_qualified(spec, "");
    !schema.is_empty()
        && schema == a.function_schema
        && crate::catalog::parse_qualified(&a.function, &a.function_schema) == (schema, name)
}
