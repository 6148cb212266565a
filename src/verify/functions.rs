//! Functions, procedures and aggregates: matched by schema, name and argument types across
//! all specs; kind, argument list (names and defaults), return type, language, volatility,
//! strictness, security, `SET` options, LEAKPROOF, PARALLEL, cost and rows (when
//! declared), an aggregate's state, comment; and routines no spec lists.

use super::{canonical, Ctx, Finding, Requirements, Shadow, ShadowFunction, Status};
use crate::catalog::{qualified_name, Function, Schema};
use crate::spec::{FunctionSpec, Loaded, Parallel, RoutineKind, SpecSet, Volatility};

/// `name(types)`, schema-qualified outside `public`.
fn display(schema: &str, name: &str, types: &[String]) -> String {
    format!(
        "{}({})",
        qualified_name(schema, name, "public"),
        types.join(", ")
    )
}

pub(crate) fn verify_functions(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    let mut claimed: Vec<(String, String)> = Vec::new();
    for sf in &shadow.functions {
        let in_relation = specs
            .specs
            .iter()
            .find(|l| l.spec.schema == sf.schema && l.spec.functions.contains_key(&sf.spec_key));
        if let Some(loaded) = in_relation {
            let ctx = Ctx::document(
                loaded,
                crate::catalog::relation_key(&loaded.spec.schema, &loaded.spec.table),
            );
            let f = &loaded.spec.functions[&sf.spec_key];
            verify_one(&ctx, loaded, sf, f, actual, shadow, &mut claimed, out);
            continue;
        }
        let in_schema = specs
            .schemas
            .iter()
            .find(|l| l.spec.schema == sf.schema && l.spec.functions.contains_key(&sf.spec_key));
        if let Some(loaded) = in_schema {
            let ctx = Ctx::document(loaded, format!("schema {}", loaded.spec.schema));
            let f = &loaded.spec.functions[&sf.spec_key];
            verify_one(&ctx, loaded, sf, f, actual, shadow, &mut claimed, out);
        }
    }
    for a in &actual.functions {
        let allowed = specs
            .schema_doc(&a.schema)
            .is_some_and(|d| d.spec.allow_extra.functions);
        let key = (a.schema.clone(), a.signature());
        if !allowed
            && !claimed.contains(&key)
            && !out.iter().any(|f| {
                f.code == "function.signature"
                    && f.actual.as_deref().is_some_and(|x| {
                        x.split("; ")
                            .any(|s| s == display(&a.schema, &a.name, &a.arg_types))
                    })
            })
        {
            out.push(Finding {
                repro: None,
                code: "function.extra",
                table: "functions".into(),
                object: display(&a.schema, &a.name, &a.arg_types).into(),
                status: Status::Fail,
                expected: Some("absent (no spec)".into()),
                actual: Some(match a.kind {
                    'p' => compact_str::format_compact!("PROCEDURE {}({})", a.name, a.arguments),
                    'a' => compact_str::format_compact!("AGGREGATE {}({})", a.name, a.arguments),
                    _ => compact_str::format_compact!("{}({}) RETURNS {}", a.name, a.arguments, a.returns),
                }),
                message: format!(
                    "{} `{}` exists but no spec lists it",
                    a.kind_name(),
                    display(&a.schema, &a.name, &a.arg_types)
                ),
                location: None,
                requirements: vec![],
                hint: Some(
                    "add it under `functions` in the spec of the table it serves or in the schema document (`kind: procedure` or `kind: aggregate` when it is one), or drop it"
                        .into(),
                ),
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn verify_one<T: Requirements>(
    ctx: &Ctx<T>,
    _loaded: &Loaded<T>,
    sf: &ShadowFunction,
    f: &FunctionSpec,
    actual: &Schema,
    shadow: &Shadow,
    claimed: &mut Vec<(String, String)>,
    out: &mut Vec<Finding>,
) {
    {
        let object = display(&sf.schema, &sf.name, &sf.arg_types);
        let path = ["functions", sf.spec_key.as_str()];
        let found = actual
            .functions
            .iter()
            .find(|a| a.schema == sf.schema && a.name == sf.name && a.arg_types == sf.arg_types);
        let Some(a) = found else {
            let others: Vec<String> = actual
                .functions
                .iter()
                .filter(|a| a.schema == sf.schema && a.name == sf.name)
                .map(|a| display(&a.schema, &a.name, &a.arg_types))
                .collect();
            let (code, msg) = if others.is_empty() {
                (
                    "function.exists",
                    format!("{} `{object}` does not exist", f.kind.name()),
                )
            } else {
                (
                    "function.signature",
                    format!(
                        "{} `{object}` does not exist; found {}",
                        f.kind.name(),
                        others.join("; ")
                    ),
                )
            };
            out.push(ctx.fail(
                code,
                object.clone(),
                &path,
                Some(object.clone()),
                Some(if others.is_empty() {
                    "missing".into()
                } else {
                    others.join("; ")
                }),
                msg,
                "create the function with these argument types in a migration, or correct the spec",
            ));
            return;
        };
        claimed.push((a.schema.clone(), a.signature()));
        out.push(ctx.pass(
            "function.exists",
            object.clone(),
            &path,
            format!("{object} exists"),
        ));
        out.push(ctx.compare(
            "function.kind",
            object.clone(),
            &["functions", &sf.spec_key, "kind"],
            f.kind.name(),
            a.kind_name(),
            f.kind.name() == a.kind_name(),
            "recreate it as the spec says (CREATE FUNCTION / CREATE PROCEDURE)",
        ));
        if let Some(want) = &f.arguments {
            // As PostgreSQL printed the spec's list on the shadow's stand-in, where there is
            // one: `a int` is `a integer`, and on 13 `EXTRACT(…)` in a default is
            // `date_part(…)` there as on the checked server.
            let printed = shadow
                .schema
                .functions
                .iter()
                .find(|s| s.schema == sf.schema && s.name == sf.name && s.arg_types == sf.arg_types)
                .map(|stub| stub.arguments.as_str());
            let (want, got) = (arguments(printed.unwrap_or(want)), arguments(&a.arguments));
            out.push(ctx.compare(
                "function.arguments",
                object.clone(),
                &["functions", &sf.spec_key, "arguments"],
                want.clone(),
                got.clone(),
                want == got,
                "recreate the function with the spec's argument names and defaults",
            ));
        }
        out.push(ctx.compare(
            "function.returns",
            object.clone(),
            &["functions", &sf.spec_key, "returns"],
            sf.returns.clone(),
            a.returns.clone(),
            same_type_text(&sf.returns, &a.returns),
            "recreate the function with the spec's return type",
        ));
        out.push(ctx.compare(
            "function.language",
            object.clone(),
            &["functions", &sf.spec_key, "language"],
            f.language.clone(),
            a.language.clone(),
            f.language.eq_ignore_ascii_case(&a.language),
            "recreate the function in the spec's language",
        ));
        let vol = match f.volatility {
            Volatility::Immutable => "immutable",
            Volatility::Stable => "stable",
            Volatility::Volatile => "volatile",
        };
        out.push(ctx.compare(
            "function.volatility",
            object.clone(),
            &["functions", &sf.spec_key, "volatility"],
            vol,
            a.volatility.clone(),
            vol == a.volatility,
            "ALTER FUNCTION … with the spec's volatility",
        ));
        out.push(ctx.compare(
            "function.strict",
            object.clone(),
            &["functions", &sf.spec_key, "strict"],
            strict(f.strict),
            strict(a.strict),
            f.strict == a.strict,
            "ALTER FUNCTION … STRICT / CALLED ON NULL INPUT as the spec says",
        ));
        out.push(ctx.compare(
            "function.security",
            object.clone(),
            &["functions", &sf.spec_key, "security_definer"],
            security(f.security_definer),
            security(a.security_definer),
            f.security_definer == a.security_definer,
            "ALTER FUNCTION … SECURITY DEFINER / INVOKER as the spec says",
        ));
        verify_options(ctx, sf, f, a, shadow, &object, out);
    }
}

/// `SET` options, LEAKPROOF, PARALLEL, cost, rows, an aggregate's state, and the comment.
fn verify_options<T: Requirements>(
    ctx: &Ctx<T>,
    sf: &ShadowFunction,
    f: &FunctionSpec,
    a: &Function,
    shadow: &Shadow,
    object: &str,
    out: &mut Vec<Finding>,
) {
    let key = sf.spec_key.as_str();
    let stub = shadow
        .schema
        .functions
        .iter()
        .find(|s| s.schema == sf.schema && s.name == sf.name && s.arg_types == sf.arg_types);
    // Compared as the server converts the values (`64MB` is `65536kB`), shown as written.
    // Without a stand-in the spec's text is all there is, and it is compared as written.
    let (mut want, mut want_values): (Vec<String>, Vec<String>) = match stub {
        Some(s) => (s.config.clone(), converted(s)),
        None => {
            let written: Vec<String> = f.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (written.clone(), written)
        }
    };
    let mut got = a.config.clone();
    let mut got_values = if stub.is_some() {
        converted(a)
    } else {
        a.config.clone()
    };
    want.sort();
    got.sort();
    want_values.sort();
    got_values.sort();
    let show = |c: &[String]| {
        if c.is_empty() {
            "no SET options".to_string()
        } else {
            c.iter()
                .map(|o| format!("SET {o}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    out.push(ctx.compare(
        "function.config",
        object.to_string(),
        &["functions", key, "set"],
        show(&want),
        show(&got),
        want_values == got_values,
        "ALTER FUNCTION … SET / RESET as the spec says (`set:` in the spec)",
    ));
    let leak = |b: bool| if b { "LEAKPROOF" } else { "NOT LEAKPROOF" };
    out.push(ctx.compare(
        "function.leakproof",
        object.to_string(),
        &["functions", key, "leakproof"],
        leak(f.leakproof),
        leak(a.leakproof),
        f.leakproof == a.leakproof,
        "ALTER FUNCTION … [NOT] LEAKPROOF as the spec says",
    ));
    out.push(ctx.compare(
        "function.parallel",
        object.to_string(),
        &["functions", key, "parallel"],
        format!(
            "PARALLEL {}",
            Parallel::name_of(f.parallel.code()).to_uppercase()
        ),
        format!("PARALLEL {}", Parallel::name_of(a.parallel).to_uppercase()),
        f.parallel.code() == a.parallel,
        "ALTER FUNCTION … PARALLEL SAFE / RESTRICTED / UNSAFE as the spec says",
    ));
    if let Some(cost) = f.cost {
        out.push(ctx.compare(
            "function.cost",
            object.to_string(),
            &["functions", key, "cost"],
            format!("COST {cost}"),
            format!("COST {}", a.cost),
            cost == a.cost,
            "ALTER FUNCTION … COST n as the spec says",
        ));
    }
    if let Some(rows) = f.rows {
        out.push(ctx.compare(
            "function.rows",
            object.to_string(),
            &["functions", key, "rows"],
            format!("ROWS {rows}"),
            format!("ROWS {}", a.rows),
            rows == a.rows,
            "ALTER FUNCTION … ROWS n as the spec says",
        ));
    }
    if f.kind == RoutineKind::Aggregate {
        if let (Some(state_function), Some(agg)) = (&f.state_function, &a.aggregate) {
            let show = |sfunc: &str, stype: &str, ffunc: Option<&str>, init: Option<&str>| {
                format!(
                    "SFUNC = {sfunc}, STYPE = {stype}, FINALFUNC = {}, INITCOND = {}",
                    ffunc.unwrap_or("none"),
                    init.map(crate::sql::quote_literal)
                        .unwrap_or_else(|| "none".into())
                )
            };
            let want = show(
                state_function,
                sf.state_type.as_deref().unwrap_or(&agg.state_type),
                f.final_function.as_deref(),
                f.initial_state.as_deref(),
            );
            let got = show(
                &agg.state_function,
                &agg.state_type,
                agg.final_function.as_deref(),
                agg.initial_state.as_deref(),
            );
            out.push(ctx.compare(
                "function.aggregate",
                object.to_string(),
                &["functions", key, "state_function"],
                want.clone(),
                got.clone(),
                want == got,
                "recreate the aggregate with the spec's state function, type, final function and initial state",
            ));
            // Its other options, in the catalog's order: absent from the spec means none.
            let mut want: Vec<String> = f
                .aggregate_options
                .iter()
                .map(|(k, v)| format!("{}={v}", k.to_ascii_lowercase()))
                .collect();
            let mut got = agg.options.clone();
            want.sort();
            got.sort();
            let show = |o: &[String]| {
                if o.is_empty() {
                    "none".to_string()
                } else {
                    o.join(", ")
                }
            };
            out.push(ctx.compare(
                "function.aggregate",
                object.to_string(),
                &["functions", key, "aggregate_options"],
                show(&want),
                show(&got),
                want == got,
                "recreate the aggregate with the spec's options (a moving-aggregate implementation, parallel support, SORTOP), or list the aggregate's in the spec's `aggregate_options`",
            ));
        }
    }
    out.extend(ctx.comment(
        "function.comment",
        object.to_string(),
        &["functions", key, "comment"],
        f.comment.as_deref(),
        a.comment.as_deref(),
    ));
}

/// An argument list in canonical form, without the default mode `IN` (PostgreSQL prints
/// it for procedures only).
fn arguments(list: &str) -> String {
    let args = crate::spec::parse_signature(&format!("x({list})"))
        .map(|(_, args)| args)
        .unwrap_or_else(|| vec![list.to_string()]);
    args.iter()
        .map(|a| {
            let a = a.trim();
            match a.get(..3) {
                Some(p) if p.eq_ignore_ascii_case("IN ") => canonical(&a[3..]),
                _ => canonical(a),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn strict(b: bool) -> &'static str {
    if b {
        "STRICT"
    } else {
        "CALLED ON NULL INPUT"
    }
}

fn security(b: bool) -> &'static str {
    if b {
        "SECURITY DEFINER"
    } else {
        "SECURITY INVOKER"
    }
}

/// Whether two printed type texts name the same types: keywords and unquoted names in any
/// case (`SETOF integer`, `setof INTEGER`), quoted names exactly (`"Level"` is not
/// `"LEVEL"`).
fn same_type_text(a: &str, b: &str) -> bool {
    fn folded(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut quoted = false;
        for c in s.chars() {
            if c == '"' {
                quoted = !quoted;
            }
            out.push(if quoted { c } else { c.to_ascii_lowercase() });
        }
        out
    }
    folded(a) == folded(b)
}

/// A function's `SET` options with each value in its setting's unit, as the catalog read
/// printed them; as written when the read gave none for them.
fn converted(f: &Function) -> Vec<String> {
    if f.config_values.len() == f.config.len() {
        f.config_values.clone()
    } else {
        f.config.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_quoted_type_name_keeps_its_case() {
        assert!(super::same_type_text("SETOF integer", "setof INTEGER"));
        assert!(super::same_type_text("\"Level\"", "\"Level\""));
        assert!(!super::same_type_text("\"Level\"", "\"LEVEL\""));
        assert!(!super::same_type_text("SETOF \"Level\"", "SETOF \"LEVEL\""));
    }
}
