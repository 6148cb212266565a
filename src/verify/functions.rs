//! Functions and procedures: matched by name and argument types across all specs; kind,
//! argument list (names and defaults), return type, language, volatility, strictness and
//! security; and functions or procedures no spec lists.

use super::{canonical, Ctx, Finding, Shadow, Status};
use crate::catalog::Schema;
use crate::spec::{SpecSet, Volatility};

pub(crate) fn verify_functions(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    let mut claimed: Vec<String> = Vec::new();
    for sf in &shadow.functions {
        let Some(loaded) = specs
            .specs
            .iter()
            .find(|l| l.spec.functions.contains_key(&sf.spec_key))
        else {
            continue;
        };
        let f = &loaded.spec.functions[&sf.spec_key];
        let ctx = Ctx {
            loaded,
            expected: None,
        };
        let object = format!("{}({})", sf.name, sf.arg_types.join(", "));
        let path = ["functions", sf.spec_key.as_str()];
        let found = actual
            .functions
            .iter()
            .find(|a| a.name == sf.name && a.arg_types == sf.arg_types);
        let Some(a) = found else {
            let others: Vec<String> = actual
                .functions
                .iter()
                .filter(|a| a.name == sf.name)
                .map(|a| a.signature())
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
            continue;
        };
        claimed.push(a.signature());
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
            let (want, got) = (arguments(want), arguments(&a.arguments));
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
            sf.returns.eq_ignore_ascii_case(&a.returns),
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
            object,
            &["functions", &sf.spec_key, "security_definer"],
            security(f.security_definer),
            security(a.security_definer),
            f.security_definer == a.security_definer,
            "ALTER FUNCTION … SECURITY DEFINER / INVOKER as the spec says",
        ));
    }
    for a in &actual.functions {
        if !claimed.contains(&a.signature())
            && !out.iter().any(|f| {
                f.code == "function.signature"
                    && f.actual
                        .as_deref()
                        .is_some_and(|x| x.contains(&a.signature()))
            })
        {
            out.push(Finding {
                repro: None,
                code: "function.extra",
                table: "functions".into(),
                object: a.signature(),
                status: Status::Fail,
                expected: Some("absent (no spec)".into()),
                actual: Some(if a.kind == 'p' {
                    format!("PROCEDURE {}({})", a.name, a.arguments)
                } else {
                    format!("{}({}) RETURNS {}", a.name, a.arguments, a.returns)
                }),
                message: format!(
                    "{} `{}` exists but no spec lists it",
                    a.kind_name(),
                    a.signature()
                ),
                location: None,
                requirements: vec![],
                hint: Some(
                    "add it under `functions` in the spec of the table it serves (`kind: procedure` for a procedure), or drop it"
                        .into(),
                ),
            });
        }
    }
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
