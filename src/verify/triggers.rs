//! Triggers: existence, timing, events, level and function.

use super::{Ctx, Finding};
use crate::catalog::Relation;
use crate::spec::{TriggerEvent, TriggerLevel, TriggerTiming};

pub(crate) fn verify_triggers(ctx: &Ctx, rel: &Relation, out: &mut Vec<Finding>) {
    let spec = &ctx.loaded.spec;
    let t = &spec.table;
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
        out.push(ctx.compare(
            "trigger.function",
            object,
            &["triggers", name, "function"],
            trig.function.clone(),
            a.function.clone(),
            trig.function == a.function,
            "recreate the trigger with the right function",
        ));
    }
    for a in &rel.triggers {
        if !spec.triggers.contains_key(&a.name) {
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
