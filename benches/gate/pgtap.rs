//! The same structural assertions in pgTAP, generated from the specs, in two coverages
//! ([`Coverage`]).
//!
//! The subset, for every spec relation: `has_table`; per column `has_column`, `col_type_is`,
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
use reims_verify::spec::{
    parse_signature, Parallel, RelationKind, RoutineKind, SpecSet, Volatility,
};
use reims_verify::verify::Shadow;

/// `expected` as SQL: a literal, or NULL.
fn q_opt(s: Option<&str>) -> String {
    s.map_or("NULL::text".into(), q)
}

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

/// Which of the structural check's comparisons the pgTAP script asserts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The assertions pgTAP has functions for, as the benchmark measured until then (see
    /// the module's doc).
    Subset,
    /// The comparisons the structural check reports a finding for, where the specs
    /// declare them, but for the three named last: the subset, plus (with pgTAP's own
    /// function where it has one, else an `is()` on the catalog) per relation its comment, persistence, row-level security
    /// (enabled, forced), owner (`table_owner_is`) and the privileges of PUBLIC and of
    /// each role (`table_privs_are`); per column its collation and comment; the primary
    /// key's name; per foreign key its delete and update actions, deferrability and
    /// validity; per CHECK its validity; per index its validity and, for every index, its
    /// whole definition (collations, operator classes, INCLUDE, order, predicate); per
    /// trigger its whole definition (timing, events, level, columns, WHEN, arguments),
    /// whether it is enabled and its comment; per function `is_strict`/`isnt_strict`,
    /// `is_definer`/`isnt_definer`, its kind, arguments, `SET` options, leak-proofness,
    /// parallel safety and comment; and `has_role` for every role the privileges name.
    /// Not asserted: the migration history (the benchmark migrates with `psql`, which
    /// keeps none), a view's query, and which sequence a column owns.
    Full,
}

/// A pgTAP script (one transaction, rolled back) and its number of assertions.
pub fn script(specs: &SpecSet, shadow: &Shadow, coverage: Coverage) -> (String, usize) {
    let sh: &Schema = &shadow.schema;
    let mut tests: Vec<String> = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for l in &specs.specs {
        let s = &l.spec;
        let t = q(&s.table);
        let rel = sh.relations.get(&s.table);
        if coverage == Coverage::Full {
            full_relation(s, rel, &mut tests, &mut roles);
        }
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
            if coverage == Coverage::Full || x.predicate.is_some() || x.desc.iter().any(|d| *d) {
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
            if let (Coverage::Full, Some(n)) = (coverage, normal) {
                if let Some(compiled) = sh
                    .functions
                    .iter()
                    .find(|c| c.name == n.name && c.arg_types == n.arg_types)
                {
                    full_function(&fname, &arr, f, compiled, &mut tests);
                }
            }
        }
    }
    roles.sort();
    roles.dedup();
    for r in &roles {
        tests.push(format!("has_role({})", q(r)));
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

/// One `is()` on a value read from the catalog.
fn is(got: String, expected: String, what: String) -> String {
    format!("is(({got}), {expected}, {})", q(&what))
}

/// The relation-level and column-level assertions the subset lacks.
fn full_relation(
    s: &reims_verify::spec::TableSpec,
    rel: Option<&reims_verify::catalog::Relation>,
    tests: &mut Vec<String>,
    roles: &mut Vec<String>,
) {
    let t = q(&s.table);
    let Some(rel) = rel else {
        return;
    };
    let class = |col: &str| format!("SELECT {col} FROM pg_class WHERE oid = to_regclass({t})");
    if let Some(c) = &s.comment {
        tests.push(is(
            format!("btrim(obj_description(to_regclass({t}), 'pg_class'))"),
            q(c.trim()),
            format!("{} comment", s.table),
        ));
    }
    tests.push(is(
        class("relpersistence::text"),
        q(if rel.unlogged { "u" } else { "p" }),
        format!("{} persistence", s.table),
    ));
    if let Some(rls) = &s.row_security {
        tests.push(is(
            class("relrowsecurity"),
            rls.enabled.to_string(),
            format!("{} row-level security", s.table),
        ));
        tests.push(is(
            class("relforcerowsecurity"),
            rls.forced.to_string(),
            format!("{} forced row-level security", s.table),
        ));
    }
    if let Some(p) = &s.privileges {
        let owner_is = match s.kind {
            RelationKind::View => "view_owner_is",
            RelationKind::MaterializedView => "materialized_view_owner_is",
            RelationKind::Table | RelationKind::PartitionedTable => "table_owner_is",
        };
        match p.owner.as_deref() {
            None | Some("$migrator") => tests.push(format!("{owner_is}({t}, current_user)")),
            Some(o) if !o.starts_with('$') => {
                tests.push(format!("{owner_is}({t}, {})", q(o)));
                roles.push(o.to_string());
            }
            Some(_) => {}
        }
        let privs = |list: &[String]| {
            let p: Vec<String> = list
                .iter()
                .map(|x| q(&x.trim_end_matches(" with grant option").to_uppercase()))
                .collect();
            format!("ARRAY[{}]::text[]", p.join(", "))
        };
        tests.push(format!(
            "table_privs_are({t}, 'public', {})",
            privs(p.public.as_deref().unwrap_or_default())
        ));
        for (role, list) in &p.roles {
            if role.starts_with('$') {
                continue;
            }
            tests.push(format!(
                "table_privs_are({t}, {}, {})",
                q(role),
                privs(list)
            ));
            roles.push(role.clone());
        }
    }
    for (name, col) in &s.columns {
        let Some(c) = rel.column(name) else {
            continue;
        };
        let attr = format!("FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid WHERE a.attrelid = to_regclass({t}) AND a.attname = {}", q(name));
        tests.push(is(
            format!("SELECT CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation THEN a.attcollation::regcollation::text END {attr}"),
            q_opt(c.collation.as_deref()),
            format!("{}.{name} collation", s.table),
        ));
        if let Some(comment) = &col.comment {
            tests.push(is(
                format!("SELECT btrim(col_description(a.attrelid, a.attnum)) {attr}"),
                q(comment.trim()),
                format!("{}.{name} comment", s.table),
            ));
        }
    }
    let constraint = |name: &str, col: &str| {
        format!(
            "SELECT {col} FROM pg_constraint WHERE conrelid = to_regclass({t}) AND conname = {}",
            q(name)
        )
    };
    if s.primary_key.is_some() {
        if let Some(k) = rel
            .constraints
            .iter()
            .find(|k| k.kind == reims_verify::catalog::ConstraintKind::PrimaryKey)
        {
            tests.push(is(
                format!("SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass({t}) AND contype = 'p'"),
                q(&k.name),
                format!("{} primary key name", s.table),
            ));
        }
    }
    for name in s.foreign_keys.keys() {
        let Some(k) = rel.constraint(name) else {
            continue;
        };
        let action = |a: Option<char>| q(&a.unwrap_or('a').to_string());
        for (col, expected, what) in [
            ("confdeltype::text", action(k.on_delete), "on delete"),
            ("confupdtype::text", action(k.on_update), "on update"),
            (
                "condeferrable::text || condeferred::text",
                q(&format!("{}{}", k.deferrable, k.initially_deferred)),
                "deferrable",
            ),
            ("convalidated", k.validated.to_string(), "validated"),
        ] {
            tests.push(is(
                constraint(name, col),
                expected,
                format!("{name} {what}"),
            ));
        }
    }
    for (name, check) in &s.checks {
        tests.push(is(
            constraint(name, "convalidated"),
            check.validated.to_string(),
            format!("{name} validated"),
        ));
    }
    for name in s.indexes.keys() {
        if let Some(x) = rel.index(name) {
            tests.push(is(
                format!(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass({})",
                    q(name)
                ),
                x.valid.to_string(),
                format!("{name} valid"),
            ));
        }
    }
    for (name, tr) in &s.triggers {
        let Some(x) = rel.trigger(name) else {
            continue;
        };
        let trigger = |col: &str| {
            format!(
                "SELECT {col} FROM pg_trigger WHERE tgrelid = to_regclass({t}) AND tgname = {}",
                q(name)
            )
        };
        tests.push(is(
            trigger("pg_get_triggerdef(oid, true)"),
            q(&x.definition),
            format!("{name} definition"),
        ));
        tests.push(is(
            trigger("tgenabled::text"),
            q(&x.enabled.to_string()),
            format!("{name} enabled"),
        ));
        if let Some(comment) = &tr.comment {
            tests.push(is(
                trigger("btrim(obj_description(oid, 'pg_trigger'))"),
                q(comment.trim()),
                format!("{name} comment"),
            ));
        }
    }
}

/// The function-level assertions the subset lacks.
fn full_function(
    fname: &str,
    arr: &str,
    spec: &reims_verify::spec::FunctionSpec,
    f: &reims_verify::catalog::Function,
    tests: &mut Vec<String>,
) {
    let yes_no = |yes: bool, name: &str| {
        if yes {
            name.to_string()
        } else {
            name.replacen("is_", "isnt_", 1)
        }
    };
    tests.push(format!(
        "{}({fname}, {arr})",
        yes_no(spec.strict, "is_strict")
    ));
    tests.push(format!(
        "{}({fname}, {arr})",
        yes_no(spec.security_definer, "is_definer")
    ));
    let proc = |col: &str| {
        format!(
            "SELECT {col} FROM pg_proc WHERE oid = to_regprocedure({fname} || '(' || array_to_string({arr}, ',') || ')')"
        )
    };
    let what = |w: &str| format!("{} {w}", f.name);
    let kind = match spec.kind {
        RoutineKind::Function => "f",
        RoutineKind::Procedure => "p",
        RoutineKind::Aggregate => "a",
    };
    tests.push(is(proc("prokind::text"), q(kind), what("kind")));
    if spec.arguments.is_some() {
        tests.push(is(
            proc("pg_get_function_arguments(oid)"),
            q(&f.arguments),
            what("arguments"),
        ));
    }
    let config: Vec<String> = spec
        .config
        .iter()
        .map(|(k, v)| q(&format!("{k}={v}")))
        .collect();
    tests.push(is(
        proc("COALESCE(proconfig, '{}')::text[]"),
        format!("ARRAY[{}]::text[]", config.join(", ")),
        what("config"),
    ));
    tests.push(is(
        proc("proleakproof"),
        spec.leakproof.to_string(),
        what("leakproof"),
    ));
    let parallel = match spec.parallel {
        Parallel::Safe => "s",
        Parallel::Restricted => "r",
        Parallel::Unsafe => "u",
    };
    tests.push(is(proc("proparallel::text"), q(parallel), what("parallel")));
    if let Some(comment) = &spec.comment {
        tests.push(is(
            proc("btrim(obj_description(oid, 'pg_proc'))"),
            q(comment.trim()),
            what("comment"),
        ));
    }
}
