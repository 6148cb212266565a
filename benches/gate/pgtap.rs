//! The same structural assertions in pgTAP, generated from the specs.
//!
//! For every spec relation: `has_table`; per column `has_column`, `col_type_is`,
//! `col_not_null`/`col_is_null`, `col_has_default` + `col_default_is` or
//! `col_hasnt_default`; `col_is_pk`; `col_is_unique` per unique key; `fk_ok` per foreign
//! key; per CHECK `col_has_check` and an `is()` on its expression; per index `has_index`
//! with its keys, `index_is_unique`, `index_is_type`, and, for a partial or DESC index, an
//! `is()` on its whole definition (pgTAP has no assertion for either); per trigger
//! `has_trigger` and `trigger_is`; per function `has_function`, `function_returns`,
//! `function_lang_is` and `volatility_is`. Expected text (types, defaults, expressions,
//! definitions) is PostgreSQL's own spelling, taken from the specs compiled in the shadow,
//! as a person writing pgTAP would copy it from `\d`.

use reims_verify::catalog::Schema;
use reims_verify::spec::{parse_signature, RelationKind, SpecSet, Volatility};
use reims_verify::verify::Shadow;

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn names(cols: &[String]) -> String {
    let c: Vec<String> = cols.iter().map(|c| q(c)).collect();
    format!("ARRAY[{}]::name[]", c.join(", "))
}

/// The value `col_default_is` wants: a quoted literal's text, else the expression as
/// printed (pgTAP compares function defaults as text).
fn default_value(printed: &str) -> String {
    if let Some(rest) = printed.strip_prefix('\'') {
        if let Some(end) = rest.rfind("'::") {
            return rest[..end].replace("''", "'");
        }
    }
    printed.to_string()
}

/// A pgTAP script (one transaction, rolled back) and its number of assertions.
pub fn script(specs: &SpecSet, shadow: &Shadow) -> (String, usize) {
    let sh: &Schema = &shadow.schema;
    let mut tests: Vec<String> = Vec::new();
    for l in &specs.specs {
        let s = &l.spec;
        let t = q(&s.table);
        let rel = sh.relations.get(&s.table);
        tests.push(if s.kind == RelationKind::MaterializedView {
            format!("has_materialized_view({t})")
        } else {
            format!("has_table({t})")
        });
        for (name, col) in &s.columns {
            let c = q(name);
            let shadow_col = rel.and_then(|r| r.column(name));
            let ty = shadow_col.map_or(col.type_.clone(), |x| x.type_name.clone());
            tests.push(format!("has_column({t}, {c})"));
            tests.push(format!("col_type_is({t}, {c}, {})", q(&ty)));
            tests.push(if col.nullable {
                format!("col_is_null({t}, {c})")
            } else {
                format!("col_not_null({t}, {c})")
            });
            match shadow_col.and_then(|x| x.default.as_deref()) {
                Some(d) => {
                    tests.push(format!("col_has_default({t}, {c})"));
                    tests.push(format!(
                        "col_default_is({t}, {c}, {}::text)",
                        q(&default_value(d))
                    ));
                }
                None => tests.push(format!("col_hasnt_default({t}, {c})")),
            }
        }
        if let Some(pk) = &s.primary_key {
            tests.push(format!("col_is_pk({t}, {})", names(&pk.columns)));
        }
        for u in s.unique.values() {
            tests.push(format!("col_is_unique({t}, {})", names(&u.columns)));
        }
        for fk in s.foreign_keys.values() {
            tests.push(format!(
                "fk_ok({t}, {}, {}, {})",
                names(&fk.columns),
                q(&fk.references.table),
                names(&fk.references.columns)
            ));
        }
        for name in s.checks.keys() {
            let Some(k) = rel.and_then(|r| r.constraint(name)) else {
                continue;
            };
            if !k.columns.is_empty() {
                tests.push(format!("col_has_check({t}, {})", names(&k.columns)));
            }
            tests.push(format!(
                "is((SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint WHERE conrelid = {t}::regclass AND conname = {}), {}, {})",
                q(name),
                q(k.expression.as_deref().unwrap_or_default()),
                q(&format!("{} {name} expression", s.table))
            ));
        }
        for (name, idx) in &s.indexes {
            let n = q(name);
            let Some(x) = rel.and_then(|r| r.index(name)) else {
                continue;
            };
            if x.keys.len() == 1 && !x.keys[0].chars().all(|c| c.is_alphanumeric() || c == '_') {
                tests.push(format!("has_index({t}, {n}, {})", q(&x.keys[0])));
            } else {
                tests.push(format!("has_index({t}, {n}, {})", names(&x.keys)));
            }
            if idx.unique {
                tests.push(format!("index_is_unique({t}, {n})"));
            }
            tests.push(format!("index_is_type({t}, {n}, {})", q(&x.method)));
            if x.predicate.is_some() || x.desc.iter().any(|d| *d) {
                tests.push(format!(
                    "is(pg_get_indexdef({n}::regclass), {}, {})",
                    q(&x.definition),
                    q(&format!("{name} definition"))
                ));
            }
        }
        for (name, tr) in &s.triggers {
            tests.push(format!("has_trigger({t}, {})", q(name)));
            tests.push(format!("trigger_is({t}, {}, {})", q(name), q(&tr.function)));
        }
        for (sig, f) in &s.functions {
            let Some((name, _)) = parse_signature(sig) else {
                continue;
            };
            let normal = shadow.functions.iter().find(|x| &x.spec_key == sig);
            let args = normal.map_or(vec![], |x| x.arg_types.clone());
            let arr = names(&args);
            let fname = q(&name);
            tests.push(format!("has_function({fname}, {arr})"));
            if let Some(n) = normal {
                if !n.returns.starts_with("TABLE") {
                    tests.push(format!(
                        "function_returns({fname}, {arr}, {})",
                        q(&n.returns)
                    ));
                }
            }
            tests.push(format!(
                "function_lang_is({fname}, {arr}, {})",
                q(&f.language)
            ));
            let v = match f.volatility {
                Volatility::Immutable => "immutable",
                Volatility::Stable => "stable",
                Volatility::Volatile => "volatile",
            };
            tests.push(format!("volatility_is({fname}, {arr}, {})", q(v)));
        }
    }
    let n = tests.len();
    let mut body = String::with_capacity(n * 80);
    for t in &tests {
        body.push_str("SELECT ");
        body.push_str(t);
        body.push_str(";\n");
    }
    (
        format!("BEGIN;\nSELECT plan({n});\n{body}SELECT * FROM finish();\nROLLBACK;\n"),
        n,
    )
}
