//! What a schema holds besides relations and functions: the schema itself (its comment),
//! extensions, enums, domains and composite types, sequences, and objects of kinds the
//! spec format cannot describe. Each is declared in a schema document or reported.

use super::columns::sequence_text;
use super::{canonical, Ctx, Finding, Shadow, Status};
use crate::catalog::{
    owned_by_text, parse_owned_by, parse_qualified, qualified_name, Schema, TypeDef,
};
use crate::spec::{LoadedSchema, SpecSet};

pub(crate) fn verify_schema_objects(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    for loaded in &specs.schemas {
        verify_document(loaded, actual, shadow, out);
    }
    let owners = crate::spec::SequenceOwners::of(specs.specs.iter().map(|l| &l.spec));
    for ns in &actual.namespaces {
        let doc = specs.schema_doc(&ns.name);
        let allow = doc.map(|d| d.spec.allow_extra.clone()).unwrap_or_default();
        let group = format!("schema {}", ns.name);
        for t in actual.types.iter().filter(|t| t.schema == ns.name) {
            let declared = doc.is_some_and(|d| d.spec.types.contains_key(&t.name));
            if !declared && !allow.types {
                out.push(extra(
                    "type.extra",
                    &group,
                    qualified_name(&t.schema, &t.name, "public"),
                    type_kind(t.kind).to_string(),
                    "types",
                ));
            }
        }
        for s in actual.sequences.iter().filter(|s| s.schema == ns.name) {
            let declared = doc.is_some_and(|d| d.spec.sequences.contains_key(&s.name));
            if !declared && !owners.describe(s) && !allow.sequences {
                out.push(extra(
                    "sequence.extra",
                    &group,
                    qualified_name(&s.schema, &s.name, "public"),
                    sequence_text(s),
                    "sequences",
                ));
            }
        }
        for x in actual.extensions.iter().filter(|x| x.schema == ns.name) {
            let declared = doc.is_some_and(|d| d.spec.extensions.contains_key(&x.name));
            if !declared && !allow.extensions {
                out.push(extra(
                    "extension.extra",
                    &group,
                    x.name.clone(),
                    format!("extension {} {} in schema {}", x.name, x.version, x.schema),
                    "extensions",
                ));
            }
        }
        for o in actual.other_objects.iter().filter(|o| o.schema == ns.name) {
            if !allow.other {
                let mut f = extra(
                    "object.extra",
                    &group,
                    o.description.clone(),
                    o.description.clone(),
                    "other",
                );
                f.message = format!(
                    "{} exists in schema {}, and the spec format cannot describe it",
                    o.description, o.schema
                );
                f.hint = Some(format!(
                    "drop it, or accept such objects with `allow_extra: {{ other: true }}` in the schema document of `{}`",
                    o.schema
                ));
                out.push(f);
            }
        }
    }
}

fn extra(
    code: &'static str,
    group: &str,
    object: String,
    actual: String,
    section: &str,
) -> Finding {
    Finding {
        repro: None,
        code,
        table: group.into(),
        message: format!("{object} exists but no schema document lists it under `{section}`"),
        object: object.into(),
        status: Status::Fail,
        expected: Some("absent (not declared)".into()),
        actual: Some(actual.into()),
        location: None,
        requirements: vec![],
        hint: Some(format!(
            "declare it under `{section}` in the schema document (`schema: NAME`), drop it, or set allow_extra.{section} there"
        )),
    }
}

fn type_kind(kind: char) -> &'static str {
    match kind {
        'e' => "enum",
        'd' => "domain",
        'c' => "composite type",
        _ => "type",
    }
}

fn verify_document(
    loaded: &LoadedSchema,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    let doc = &loaded.spec;
    let group = format!("schema {}", doc.schema);
    let ctx = Ctx::document(loaded, group);
    let Some(ns) = actual.namespace(&doc.schema) else {
        out.push(ctx.fail(
            "schema.exists",
            doc.schema.clone(),
            &["schema"],
            Some("present".into()),
            Some("missing".into()),
            format!("schema `{}` does not exist", doc.schema),
            "create the schema in a migration, or remove the schema document",
        ));
        return;
    };
    out.push(ctx.pass(
        "schema.exists",
        doc.schema.clone(),
        &["schema"],
        format!("schema `{}` exists", doc.schema),
    ));
    out.extend(ctx.comment(
        "schema.comment",
        doc.schema.clone(),
        &["comment"],
        doc.comment.as_deref(),
        ns.comment.as_deref(),
    ));
    for (name, x) in &doc.extensions {
        let path = ["extensions", name.as_str()];
        let Some(a) = actual.extensions.iter().find(|a| a.name == *name) else {
            out.push(ctx.fail(
                "extension.exists",
                name.clone(),
                &path,
                Some(format!("installed in schema {}", doc.schema)),
                Some("not installed".into()),
                format!("extension `{name}` is not installed"),
                "CREATE EXTENSION in a migration, or remove it from the schema document",
            ));
            continue;
        };
        out.push(ctx.compare(
            "extension.schema",
            name.clone(),
            &path,
            doc.schema.clone(),
            a.schema.clone(),
            a.schema == doc.schema,
            "ALTER EXTENSION … SET SCHEMA, or declare it in the schema document of the schema that holds it",
        ));
        if let Some(v) = &x.version {
            out.push(ctx.compare(
                "extension.version",
                name.clone(),
                &["extensions", name, "version"],
                v.clone(),
                a.version.clone(),
                *v == a.version,
                "ALTER EXTENSION … UPDATE TO the spec's version, or correct the spec",
            ));
        }
    }
    for (name, t) in &doc.types {
        let object = qualified_name(&doc.schema, name, "public");
        let path = ["types", name.as_str()];
        let find = |s: &Schema| -> Option<TypeDef> {
            s.types
                .iter()
                .find(|x| x.schema == doc.schema && x.name == *name)
                .cloned()
        };
        let want_kind = if t.enum_labels.is_some() {
            'e'
        } else if t.composite.is_some() {
            'c'
        } else {
            'd'
        };
        let Some(a) = find(actual) else {
            out.push(ctx.fail(
                "type.exists",
                object.clone(),
                &path,
                Some(type_kind(want_kind).into()),
                Some("missing".into()),
                format!("{} `{object}` does not exist", type_kind(want_kind)),
                "create it in a migration, or remove it from the schema document",
            ));
            continue;
        };
        out.push(ctx.compare(
            "type.kind",
            object.clone(),
            &path,
            type_kind(want_kind),
            type_kind(a.kind),
            want_kind == a.kind,
            "recreate the type as the spec says",
        ));
        out.extend(ctx.comment(
            "type.comment",
            object.clone(),
            &["types", name, "comment"],
            t.comment.as_deref(),
            a.comment.as_deref(),
        ));
        if a.kind != want_kind {
            continue;
        }
        let expected = find(&shadow.schema).unwrap_or_default();
        match want_kind {
            'e' => {
                let want = t.enum_labels.clone().unwrap_or_default();
                out.push(ctx.compare(
                    "type.labels",
                    object.clone(),
                    &["types", name, "enum"],
                    want.join(", "),
                    a.labels.join(", "),
                    want == a.labels,
                    "ALTER TYPE … ADD VALUE / RENAME VALUE as the spec says (labels in sort order)",
                ));
            }
            'c' => {
                let show = |attrs: &[(String, String)]| {
                    attrs
                        .iter()
                        .map(|(n, ty)| format!("{n} {ty}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push(ctx.compare(
                    "type.attributes",
                    object.clone(),
                    &["types", name, "composite"],
                    show(&expected.attributes),
                    show(&a.attributes),
                    expected.attributes == a.attributes,
                    "ALTER TYPE … ADD / DROP / ALTER ATTRIBUTE as the spec says",
                ));
            }
            _ => verify_domain(&ctx, name, &object, t, &expected, &a, out),
        }
    }
    for (name, s) in &doc.sequences {
        let object = qualified_name(&doc.schema, name, "public");
        let path = ["sequences", name.as_str()];
        let find = |schema: &Schema| {
            schema
                .sequences
                .iter()
                .find(|x| x.schema == doc.schema && x.name == *name)
                .cloned()
        };
        let Some(a) = find(actual) else {
            out.push(ctx.fail(
                "sequence.exists",
                object.clone(),
                &path,
                Some("present".into()),
                Some("missing".into()),
                format!("sequence `{object}` does not exist"),
                "create it in a migration, or remove it from the schema document",
            ));
            continue;
        };
        out.push(ctx.pass(
            "sequence.exists",
            object.clone(),
            &path,
            format!("{object} exists"),
        ));
        if let Some(want) = find(&shadow.schema) {
            let (w, g) = (sequence_text(&want), sequence_text(&a));
            out.push(ctx.compare(
                "sequence.options",
                object.clone(),
                &path,
                w.clone(),
                g.clone(),
                w == g,
                "ALTER SEQUENCE … with the spec's type and options, or correct the spec",
            ));
        }
        // Both written as `table.column`, a part holding a dot quoted (`"order.lines".n`).
        let want_owner = s.owned_by.as_ref().map(|o| match parse_owned_by(o) {
            Some((table, column)) => owned_by_text(&table, &column),
            None => o.clone(),
        });
        let got_owner = a
            .owner
            .as_ref()
            .map(|o| owned_by_text(&parse_qualified(&o.table, "public").1, &o.column));
        out.push(
            ctx.compare(
                "sequence.owned_by",
                object.clone(),
                &["sequences", name, "owned_by"],
                want_owner
                    .clone()
                    .unwrap_or_else(|| "no owning column".into()),
                got_owner
                    .clone()
                    .unwrap_or_else(|| "no owning column".into()),
                want_owner == got_owner,
                "ALTER SEQUENCE … OWNED BY table.column (or OWNED BY NONE) as the spec says",
            ),
        );
        out.extend(ctx.comment(
            "sequence.comment",
            object,
            &["sequences", name, "comment"],
            s.comment.as_deref(),
            a.comment.as_deref(),
        ));
    }
}

fn verify_domain(
    ctx: &Ctx<crate::spec::SchemaSpec>,
    name: &str,
    object: &str,
    t: &crate::spec::TypeSpec,
    expected: &TypeDef,
    a: &TypeDef,
    out: &mut Vec<Finding>,
) {
    let base = expected.base_type.clone().unwrap_or_default();
    let got = a.base_type.clone().unwrap_or_default();
    out.push(ctx.compare(
        "type.base_type",
        object.to_string(),
        &["types", name, "domain"],
        base.clone(),
        got.clone(),
        base == got,
        "recreate the domain over the spec's base type",
    ));
    let null = |n: bool| if n { "NULL" } else { "NOT NULL" };
    match &a.not_null_not_valid {
        // A NOT NULL left NOT VALID holds for new values only: the values already stored in
        // columns of the domain were never checked, and may be NULL.
        Some(constraint) => out.push(ctx.fail(
            "type.nullable",
            object.to_string(),
            &["types", name, "nullable"],
            Some(null(t.nullable).into()),
            Some("NOT NULL NOT VALID (existing values were never checked)".into()),
            format!(
                "{object}: its NOT NULL constraint {constraint} is not validated: values already stored in columns of the domain were never checked and may be NULL"
            ),
            &if t.nullable {
                "ALTER DOMAIN … DROP NOT NULL as the spec says, or correct the spec".to_string()
            } else {
                format!(
                    "fix the stored NULLs, then ALTER DOMAIN … VALIDATE CONSTRAINT {} in a migration",
                    crate::sql::quote_ident(constraint)
                )
            },
        )),
        None => out.push(ctx.compare(
            "type.nullable",
            object.to_string(),
            &["types", name, "nullable"],
            null(t.nullable),
            null(a.nullable),
            t.nullable == a.nullable,
            "ALTER DOMAIN … SET / DROP NOT NULL as the spec says",
        )),
    }
    let show = |d: &Option<String>| {
        d.as_deref()
            .map(canonical)
            .unwrap_or_else(|| "no default".into())
    };
    out.push(ctx.compare(
        "type.default",
        object.to_string(),
        &["types", name, "default"],
        show(&expected.default),
        show(&a.default),
        show(&expected.default) == show(&a.default),
        "ALTER DOMAIN … SET / DROP DEFAULT as the spec says",
    ));
    let coll = |c: &Option<String>| c.clone().unwrap_or_else(|| "the base type's".into());
    out.push(ctx.compare(
        "type.collation",
        object.to_string(),
        &["types", name, "collation"],
        coll(&expected.collation),
        coll(&a.collation),
        expected.collation == a.collation,
        "recreate the domain with the spec's collation",
    ));
    let checks = |d: &TypeDef| {
        d.checks
            .iter()
            .map(|c| format!("{}: CHECK ({})", c.name, canonical(&c.expression)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (want, got) = (checks(expected), checks(a));
    let shown = |s: String| {
        if s.is_empty() {
            "no CHECK".to_string()
        } else {
            s
        }
    };
    out.push(ctx.compare(
        "type.checks",
        object.to_string(),
        &["types", name, "checks"],
        shown(want.clone()),
        shown(got.clone()),
        want == got,
        "ALTER DOMAIN … ADD / DROP CONSTRAINT as the spec says",
    ));
    for (cname, c) in &t.checks {
        if let Some(ac) = a.checks.iter().find(|x| x.name == *cname) {
            if c.validated && !ac.validated {
                out.push(ctx.fail(
                    "type.validated",
                    format!("{object}.{cname}"),
                    &["types", name, "checks", cname],
                    Some("validated".into()),
                    Some("NOT VALID (existing values were never checked)".into()),
                    format!("{object}.{cname} was added NOT VALID and never validated"),
                    "run ALTER DOMAIN … VALIDATE CONSTRAINT in a migration, or declare `validated: false` while it is rolled out",
                ));
            }
        }
    }
}
