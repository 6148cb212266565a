//! Coherence checks of a spec's `properties:` that serde cannot express: names, which
//! placeholders each piece of SQL may use, generator bounds, examples, the clock.
//!
//! Each problem is reported at its key path, so the loader can name the file and line.

use std::collections::BTreeMap;

use super::model::TableSpec;
use super::placeholders::{mentions_identifier, placeholders};
use super::property::{is_row_valued, ActionSpec, Gen, PropertySpec, RESERVED};

/// A problem in a property, at a key path below `properties`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyProblem {
    /// Key path from the document root, e.g. `properties.lockout.actions.fail.sql`.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

type Check = Result<(), PropertyProblem>;

fn problem(path: &[&str], message: String, hint: &str) -> PropertyProblem {
    PropertyProblem {
        path: path.iter().map(|s| s.to_string()).collect(),
        message,
        hint: hint.to_string(),
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// What a placeholder name stands for, in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Row,
    /// `result` / `before`: a row, also usable alone (its first column).
    Either,
}

#[derive(Clone, Default)]
struct Scope {
    names: BTreeMap<String, Kind>,
}

impl Scope {
    fn with(&self, name: &str, kind: Kind) -> Scope {
        let mut s = self.clone();
        s.names.insert(name.to_string(), kind);
        s
    }

    fn add_gen(&mut self, name: &str, gen: &Gen) {
        let kind = if is_row_valued(gen) {
            Kind::Row
        } else {
            Kind::Scalar
        };
        self.names.insert(name.to_string(), kind);
    }

    /// Every placeholder of `sql` names something in scope, used the right way.
    fn check(&self, path: &[&str], sql: &str) -> Check {
        for (name, field) in placeholders(sql) {
            let shown = match &field {
                Some(f) => format!(":{name}.{f}"),
                None => format!(":{name}"),
            };
            match self.names.get(&name) {
                None => {
                    let known: Vec<String> = self.names.keys().map(|k| format!(":{k}")).collect();
                    return Err(problem(
                        path,
                        format!(
                            "{shown} names nothing here (known here: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                        "declare it under `given` or the action's `args`, or fix the name; \
                         `result` is known in `model` and `expect`, `before` once the action has \
                         a `before` query",
                    ));
                }
                Some(Kind::Row) if field.is_none() => {
                    return Err(problem(
                        path,
                        format!("{shown} is a row; name one of its columns"),
                        "write :name.column",
                    ))
                }
                Some(Kind::Scalar) if field.is_some() => {
                    return Err(problem(
                        path,
                        format!("{shown}: :{name} is a single value, it has no columns"),
                        "write :name alone, or make it a row (`row` or `pick`)",
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Check every property of `spec`.
pub fn check_properties(spec: &TableSpec) -> Check {
    for (name, prop) in &spec.properties {
        check_property(spec, name, prop)?;
    }
    Ok(())
}

fn check_property(spec: &TableSpec, pname: &str, prop: &PropertySpec) -> Check {
    let base = ["properties", pname];
    let at = |rest: &[&str]| -> Vec<String> {
        base.iter()
            .chain(rest.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let err = |rest: &[&str], message: String, hint: &str| {
        let path = at(rest);
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        problem(&refs, message, hint)
    };
    if !is_name(pname) {
        return Err(err(
            &[],
            format!("`{pname}` is not a property name"),
            "use lower-case letters, digits and _",
        ));
    }
    for br in &prop.requirements {
        if !super::requirement_id(br) {
            return Err(err(
                &["requirements"],
                format!("`{br}` is not of the form BR-NNN"),
                "write business requirements as BR-NNN: BR-001, BR-002, …",
            ));
        }
    }
    for object in &prop.proves {
        let function = super::parse_signature(object).is_some();
        let trigger = !object.contains('(')
            && object
                .split_once('.')
                .is_some_and(|(t, g)| !t.is_empty() && !g.is_empty());
        if !function && !trigger {
            return Err(err(
                &["proves"],
                format!("`{object}` is neither a function signature nor table.trigger"),
                "name functions as name(argtype, …) and triggers as table.trigger",
            ));
        }
    }
    // Names.
    for (name, _) in &prop.given {
        check_name(name).map_err(|m| err(&["given", name], m, NAME_HINT))?;
    }
    for (name, table) in &prop.model {
        check_name(name).map_err(|m| err(&["model", name], m, NAME_HINT))?;
        if *name == spec.table {
            return Err(err(
                &["model", name],
                format!("the model table `{name}` would hide the real table"),
                "give the model table its own name",
            ));
        }
        if table.columns.is_empty() {
            return Err(err(
                &["model", name, "columns"],
                "a model table needs at least one column".into(),
                "list its columns and their SQL types",
            ));
        }
    }
    // Generators of `given`, each in the scope of the ones before it.
    let mut scope = Scope::default();
    for (name, gen) in &prop.given {
        check_gen(&scope, gen, &at(&["given", name]))?;
        scope.add_gen(name, gen);
    }
    let given_scope = scope;
    for (name, table) in &prop.model {
        if let Some(init) = &table.init {
            given_scope.check(&refs(&at(&["model", name, "init"])), init)?;
        }
    }
    // Tables by relation key: `t` and `app.t` in the spec of `app.t` are one table.
    let key = |table: &str| crate::catalog::key_in(table, &spec.schema);
    let given_rows: Vec<String> = prop
        .given
        .values()
        .filter_map(|g| match g {
            Gen::Row(r) => Some(key(&r.table)),
            _ => None,
        })
        .collect();
    for (i, c) in prop.clock.iter().enumerate() {
        let idx = i.to_string();
        if c.columns.is_empty() {
            return Err(err(
                &["clock", &idx],
                format!("clock entry for `{}` lists no column", c.table),
                "list the timestamp columns that move",
            ));
        }
        let model = prop.model.get(&c.table);
        if let Some(m) = model {
            if let Some(col) = c.columns.iter().find(|col| !m.columns.contains_key(*col)) {
                return Err(err(
                    &["clock", &idx],
                    format!("`{col}` is not a column of the model table `{}`", c.table),
                    "name a column listed under the model table's columns",
                ));
            }
        } else if c.where_.is_none() && !given_rows.contains(&key(&c.table)) {
            return Err(err(
                &["clock", &idx],
                format!(
                    "the clock moves rows of `{}` but does not say which",
                    c.table
                ),
                "add `where:` naming the rows the property owns, or insert them with a `row` under `given`",
            ));
        }
        if let Some(w) = &c.where_ {
            given_scope.check(&refs(&at(&["clock", &idx, "where"])), w)?;
        }
    }
    for a in &prop.always {
        given_scope.check(&refs(&at(&["always"])), a)?;
    }
    for s in &prop.show {
        given_scope.check(&refs(&at(&["show"])), s)?;
    }
    if let Some(steps) = prop.steps {
        if steps.min == 0 || steps.max < steps.min || steps.max > 100 {
            return Err(err(
                &["steps"],
                format!(
                    "steps from {} to {} is not a range within 1 to 100",
                    steps.min, steps.max
                ),
                "write steps: { min: 1, max: 12 }",
            ));
        }
    }
    if prop.actions.is_empty() {
        return Err(err(
            &["actions"],
            "a property needs at least one action".into(),
            "add an action with `sql:` (or `advance:` for time passing)",
        ));
    }
    if prop.actions.values().all(|a| a.weight == Some(0)) && prop.examples.is_empty() {
        return Err(err(
            &["actions"],
            "every action has weight 0 and there is no example: nothing would run".into(),
            "give an action a weight, or add examples",
        ));
    }
    for (aname, action) in &prop.actions {
        check_action(prop, &given_scope, &at(&["actions", aname]), aname, action)?;
    }
    for (i, example) in prop.examples.iter().enumerate() {
        let idx = i.to_string();
        if example.is_empty() {
            return Err(err(
                &["examples"],
                format!("example #{} has no step", i + 1),
                "list steps as { action: { arg: value } }",
            ));
        }
        for step in example {
            let mut keys = step.keys();
            let (Some(aname), None) = (keys.next(), keys.next()) else {
                return Err(err(
                    &["examples"],
                    format!("a step of example #{} must name exactly one action", i + 1),
                    "write each step as { action: { arg: value } }",
                ));
            };
            let Some(action) = prop.actions.get(aname) else {
                return Err(err(
                    &["examples"],
                    format!("example #{} uses the unknown action `{aname}`", i + 1),
                    "name an action listed under `actions`",
                ));
            };
            for arg in step[aname].keys() {
                let known = action.args.contains_key(arg)
                    || (arg == "repeat" && action.repeat.is_some())
                    || (arg == "advance" && action.advance.is_some());
                if !known {
                    return Err(err(
                        &["examples"],
                        format!(
                            "example #{} gives `{arg}`, which action `{aname}` does not take",
                            i + 1
                        ),
                        "give only the action's args (and repeat / advance when it has them)",
                    ));
                }
            }
            let _ = &idx;
        }
    }
    Ok(())
}

const NAME_HINT: &str =
    "use lower-case letters, digits and _, and none of: result, before, repeat, advance";

fn check_name(name: &str) -> Result<(), String> {
    if !is_name(name) {
        return Err(format!("`{name}` is not a name"));
    }
    if RESERVED.contains(&name) {
        return Err(format!("`{name}` is reserved"));
    }
    Ok(())
}

fn refs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

fn check_action(
    prop: &PropertySpec,
    given: &Scope,
    path: &[String],
    aname: &str,
    action: &ActionSpec,
) -> Check {
    let at = |rest: &[&str]| -> Vec<String> {
        path.iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    };
    let err = |rest: &[&str], message: String, hint: &str| {
        let p = at(rest);
        problem(&refs(&p), message, hint)
    };
    if !is_name(aname) || RESERVED.contains(&aname) {
        return Err(err(
            &[],
            format!("`{aname}` is not an action name"),
            NAME_HINT,
        ));
    }
    match (&action.sql, &action.advance) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(err(
                &[],
                format!("action `{aname}` needs exactly one of `sql` and `advance`"),
                "write the statement under `sql`, or an interval generator under `advance`",
            ))
        }
        _ => {}
    }
    if let Some(object) = &action.checks {
        if !prop.proves.contains(object) {
            return Err(err(
                &["checks"],
                format!("`{object}` is not one of the property's `proves`"),
                "list it under the property's `proves`",
            ));
        }
    }
    let mut scope = given.clone();
    for (name, gen) in &action.args {
        check_name(name).map_err(|m| err(&["args", name], m, NAME_HINT))?;
        if prop.given.contains_key(name) {
            return Err(err(
                &["args", name],
                format!("`{name}` is already a `given` value"),
                "give the argument another name",
            ));
        }
        check_gen(&scope, gen, &at(&["args", name]))?;
        scope.add_gen(name, gen);
    }
    if let Some(repeat) = &action.repeat {
        if !matches!(repeat, Gen::Int(_) | Gen::Value(_)) {
            return Err(err(
                &["repeat"],
                "`repeat` takes an `int` generator".into(),
                "write repeat: { int: { min: 1, max: 6 } }",
            ));
        }
        check_gen(&scope, repeat, &at(&["repeat"]))?;
        if let Gen::Int(g) = repeat {
            if g.min < 1 || g.max > 100 {
                return Err(err(
                    &["repeat"],
                    "`repeat` must stay within 1 to 100".into(),
                    "bound it, e.g. { int: { min: 1, max: 6 } }",
                ));
            }
        }
    }
    if let Some(advance) = &action.advance {
        if !matches!(advance, Gen::Interval(_) | Gen::Sql(_) | Gen::Value(_)) {
            return Err(err(
                &["advance"],
                "`advance` takes an `interval` generator".into(),
                "write advance: { interval: { unit: minutes, min: 1, max: 60 } }",
            ));
        }
        check_gen(&scope, advance, &at(&["advance"]))?;
        if prop.clock.is_empty() {
            return Err(err(
                &["advance"],
                "time passes but the property declares no `clock`".into(),
                "list under `clock` the timestamp columns that move",
            ));
        }
        if action.raises.is_some() || action.before.is_some() || action.model.is_some() {
            return Err(err(
                &["advance"],
                "an `advance` action takes no raises, before or model".into(),
                "keep time passing on its own; put statements in another action",
            ));
        }
    }
    if let Some(when) = &action.when {
        scope.check(&refs(&at(&["when"])), when)?;
    }
    if let Some(before) = &action.before {
        scope.check(&refs(&at(&["before"])), before)?;
        scope = scope.with("before", Kind::Either);
    }
    if let Some(raises) = &action.raises {
        let ok = raises.sqlstate.len() == 5
            && raises
                .sqlstate
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !ok {
            return Err(err(
                &["raises", "sqlstate"],
                format!("`{}` is not a SQLSTATE", raises.sqlstate),
                "write the five-character code, e.g. 28000 or 22023",
            ));
        }
        if let Some(when) = &raises.when {
            scope.check(&refs(&at(&["raises", "when"])), when)?;
        }
    }
    if let Some(sql) = &action.sql {
        scope.check(&refs(&at(&["sql"])), sql)?;
    }
    let after = scope.with("result", Kind::Either);
    if let Some(model) = &action.model {
        after.check(&refs(&at(&["model"])), model)?;
        if mentions_identifier(model, "result") {
            return Err(err(
                &["model"],
                "`model` reads the table `result`, which only `expect` has".into(),
                "use :result or :result.column (the first row's values) in `model`",
            ));
        }
    }
    for e in &action.expect {
        after.check(&refs(&at(&["expect"])), e)?;
    }
    Ok(())
}

fn check_gen(scope: &Scope, gen: &Gen, path: &[String]) -> Check {
    let err = |message: String, hint: &str| problem(&refs(path), message, hint);
    match gen {
        Gen::Value(_) | Gen::Uuid(_) | Gen::Inet(_) | Gen::Bool(_) | Gen::Unique(_) => Ok(()),
        Gen::Sql(sql) | Gen::Pick(sql) => scope.check(&refs(path), sql),
        Gen::Int(g) => {
            if g.min > g.max {
                return Err(err(
                    format!("int from {} to {} is empty", g.min, g.max),
                    "write min ≤ max",
                ));
            }
            if let Some(e) = g.edges.iter().find(|e| **e < g.min || **e > g.max) {
                return Err(err(
                    format!("edge {e} lies outside {} to {}", g.min, g.max),
                    "keep edges within min and max",
                ));
            }
            Ok(())
        }
        Gen::Numeric(g) => {
            if g.min > g.max || !g.min.is_finite() || !g.max.is_finite() {
                return Err(err(
                    format!("numeric from {} to {} is empty", g.min, g.max),
                    "write finite bounds with min ≤ max",
                ));
            }
            if g.scale.is_some_and(|s| s > 12) {
                return Err(err(
                    "numeric scale above 12".into(),
                    "use a scale of 12 digits or fewer",
                ));
            }
            Ok(())
        }
        Gen::OneOf(g) => {
            if g.values.is_empty() {
                return Err(err(
                    "one_of needs at least one value".into(),
                    "list the values",
                ));
            }
            Ok(())
        }
        Gen::Regex(g) => proptest::string::string_regex(&g.pattern)
            .map(|_| ())
            .map_err(|e| {
                err(
                    format!(
                        "`{}` is not a regular expression a generator can use: {e}",
                        g.pattern
                    ),
                    "use a plain regular expression (classes, repetitions, alternatives)",
                )
            }),
        Gen::Timestamp(g) | Gen::Date(g) => {
            let date = matches!(gen, Gen::Date(_));
            let parse = |s: &str| {
                if date {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc().timestamp_micros())
                } else {
                    chrono::DateTime::parse_from_rfc3339(s)
                        .ok()
                        .map(|d| d.timestamp_micros())
                }
            };
            let form = if date {
                "YYYY-MM-DD"
            } else {
                "RFC 3339, e.g. 2025-01-01T00:00:00Z"
            };
            let mut bounds = Vec::new();
            for s in [&g.min, &g.max].into_iter().chain(g.edges.iter()) {
                match parse(s) {
                    Some(v) => bounds.push(v),
                    None => {
                        return Err(err(
                            format!("`{s}` is not a {}", if date { "date" } else { "timestamp" }),
                            &format!("write it as {form}"),
                        ))
                    }
                }
            }
            if bounds[0] > bounds[1] {
                return Err(err(
                    format!("{} is later than {}", g.min, g.max),
                    "write min ≤ max",
                ));
            }
            if let Some(e) = bounds[2..]
                .iter()
                .position(|v| *v < bounds[0] || *v > bounds[1])
            {
                return Err(err(
                    format!("edge {} lies outside the range", g.edges[e]),
                    "keep edges within min and max",
                ));
            }
            Ok(())
        }
        Gen::Interval(g) => {
            if g.min > g.max || g.min < 0 {
                return Err(err(
                    format!(
                        "interval from {} to {} is not a range of zero or more",
                        g.min, g.max
                    ),
                    "write 0 ≤ min ≤ max",
                ));
            }
            if let Some(e) = g.edges.iter().find(|e| **e < g.min || **e > g.max) {
                return Err(err(
                    format!("edge {e} lies outside {} to {}", g.min, g.max),
                    "keep edges within min and max",
                ));
            }
            Ok(())
        }
        Gen::Array(a) => {
            if a.max_len.is_some_and(|m| m < a.min_len || m > 100) {
                return Err(err(
                    "array lengths are not a range within 0 to 100".into(),
                    "write min_len ≤ max_len ≤ 100",
                ));
            }
            if is_row_valued(&a.of) {
                return Err(err(
                    "an array cannot hold rows".into(),
                    "use a scalar generator for the elements",
                ));
            }
            check_gen(scope, &a.of, path)
        }
        Gen::Nullable(inner) => {
            if is_row_valued(inner) {
                return Err(err(
                    "a row cannot be nullable".into(),
                    "make a column of the row nullable instead",
                ));
            }
            check_gen(scope, inner, path)
        }
        Gen::Row(r) => {
            for (col, g) in &r.set {
                if is_row_valued(g) {
                    return Err(err(
                        format!("column `{col}` cannot be set to a row"),
                        "set it to a value, e.g. { sql: ':parent.id' }",
                    ));
                }
                let mut p = path.to_vec();
                p.push("set".into());
                p.push(col.clone());
                check_gen(scope, g, &p)?;
            }
            Ok(())
        }
    }
}

/// Checks across spec files: a `row` generator names a table that has a spec, with the
/// columns it sets (a table named bare is the spec's own schema's, else `schema.table`);
/// a model table does not hide a specified table. Returns the spec index and the problem.
pub fn check_across(specs: &[&TableSpec]) -> Result<(), (usize, PropertyProblem)> {
    let table = |name: &str| specs.iter().find(|s| s.table == name);
    for (i, spec) in specs.iter().enumerate() {
        for (pname, prop) in &spec.properties {
            for (mname, _) in &prop.model {
                if table(mname).is_some() {
                    return Err((
                        i,
                        problem(
                            &["properties", pname, "model", mname],
                            format!("the model table `{mname}` would hide the specified table of that name"),
                            "give the model table its own name",
                        ),
                    ));
                }
            }
            let mut gens: Vec<(Vec<String>, &Gen)> = prop
                .given
                .iter()
                .map(|(n, g)| (vec!["given".to_string(), n.clone()], g))
                .collect();
            for (aname, a) in &prop.actions {
                for (n, g) in &a.args {
                    gens.push((
                        vec!["actions".into(), aname.clone(), "args".into(), n.clone()],
                        g,
                    ));
                }
            }
            for (rest, gen) in gens {
                let Gen::Row(r) = gen else { continue };
                let mut path: Vec<String> = vec!["properties".into(), pname.clone()];
                path.extend(rest);
                let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                let (schema, name) = crate::catalog::parse_qualified(&r.table, &spec.schema);
                let Some(target) = specs.iter().find(|s| s.schema == schema && s.table == name)
                else {
                    return Err((
                        i,
                        problem(
                            &refs,
                            format!("`{}` has no spec to build a valid row from", r.table),
                            "name a table that has a spec file",
                        ),
                    ));
                };
                if let Some(col) = r.set.keys().find(|c| !target.columns.contains_key(*c)) {
                    return Err((
                        i,
                        problem(
                            &refs,
                            format!("`{col}` is not a column of `{}`", r.table),
                            "set only columns the table's spec lists",
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::spec::load_str;
    use std::path::Path;

    const HEAD: &str = "table: t\ncolumns:\n  id: { type: uuid }\n  at: { type: timestamptz }\nproperties:\n  p:\n    proves: [f(uuid)]\n    given:\n      u: { row: { table: t } }\n      n: { int: { min: 1, max: 5 } }\n    actions:\n";

    /// Load a spec whose single property has the given actions (and extra property keys
    /// after them); returns the error's key path, line and message.
    fn error_of(actions: &str) -> (String, Option<usize>, String) {
        let text = format!("{HEAD}{actions}");
        let err = load_str(Path::new("specs/t.yaml"), &text).expect_err(&text);
        let Error::Spec {
            key_path,
            location,
            message,
            ..
        } = err
        else {
            panic!("not a spec error: {err:?}")
        };
        (key_path.unwrap_or_default(), location.line, message)
    }

    #[test]
    fn a_good_property_loads() {
        let text = format!(
            "{HEAD}      a:\n        checks: f(uuid)\n        args: {{ m: {{ int: {{ min: 0, max: 3 }} }} }}\n        before: SELECT 1 AS one\n        sql: SELECT f(:u.id) AS x WHERE :n > :m AND :before.one = 1\n        model: SELECT :result, :result.x\n        expect: [\"(SELECT count(*) FROM result) = 1\"]\n      wait: {{ advance: {{ interval: {{ unit: minutes, min: 1, max: 60 }} }} }}\n    clock:\n      - {{ table: t, columns: [at] }}\n    examples:\n      - [{{ a: {{ m: 2 }} }}, {{ wait: {{ advance: 5 }} }}]\n"
        );
        let loaded = load_str(Path::new("specs/t.yaml"), &text).unwrap();
        assert_eq!(loaded.spec.properties["p"].actions.len(), 2);
    }

    #[test]
    fn every_problem_is_reported_at_its_key_path_and_line() {
        let cases = [
            ("      a: { sql: \"SELECT f(:nope)\" }\n", "properties.p.actions.a.sql", 12, ":nope names nothing"),
            ("      a:\n        sql: SELECT :u\n", "properties.p.actions.a.sql", 13, ":u is a row"),
            ("      a:\n        sql: SELECT :n.x\n", "properties.p.actions.a.sql", 13, "single value"),
            ("      a:\n        sql: SELECT 1\n    always: [\":result = 1\"]\n", "properties.p.always", 14, ":result names nothing"),
            ("      a: { sql: SELECT 1, advance: { interval: { unit: days, min: 1, max: 2 } } }\n", "properties.p.actions.a", 12, "exactly one of"),
            ("      a: { sql: SELECT 1, checks: g(uuid) }\n", "properties.p.actions.a.checks", 12, "not one of the property's"),
            ("      a:\n        args:\n          m: { int: { min: 5, max: 1 } }\n        sql: SELECT 1\n", "properties.p.actions.a.args.m", 14, "is empty"),
            ("      a:\n        raises: { sqlstate: \"28\" }\n        sql: SELECT 1\n", "properties.p.actions.a.raises.sqlstate", 13, "not a SQLSTATE"),
            ("      a: { sql: SELECT 1 }\n    examples:\n      - [{ b: {} }]\n", "properties.p.examples", 13, "unknown action `b`"),
            ("      a: { sql: SELECT 1 }\n    examples:\n      - [{ a: { zz: 1 } }]\n", "properties.p.examples", 13, "does not take"),
            ("      a: { sql: SELECT 1 }\n    clock:\n      - { table: other, columns: [at] }\n", "properties.p.clock.0", 13, "does not say which"),
            ("      a:\n        sql: SELECT 1\n        model: INSERT INTO m SELECT * FROM result\n", "properties.p.actions.a.model", 14, "only `expect` has"),
            ("      result: { sql: SELECT 1 }\n", "properties.p.actions.result", 12, "not an action name"),
            ("      a: { sql: SELECT 1, wieght: 2 }\n", "properties.p.actions.a", 12, "wieght"),
            ("      a:\n        args:\n          d: { timestamp: { min: yesterday, max: \"2025-01-01T00:00:00Z\" } }\n        sql: SELECT 1\n", "properties.p.actions.a.args.d", 14, "not a timestamp"),
            ("      a:\n        args:\n          s: { regex: { pattern: \"(\" } }\n        sql: SELECT 1\n", "properties.p.actions.a.args.s", 14, "not a regular expression"),
            ("      w: { advance: { int: { min: 1, max: 2 } } }\n", "properties.p.actions.w.advance", 12, "`advance` takes an `interval`"),
        ];
        for (actions, path, line, needle) in cases {
            let (p, l, m) = error_of(actions);
            assert_eq!(p, path, "{actions}: {m}");
            assert_eq!(l, Some(line), "{actions}: {m}");
            assert!(m.contains(needle), "{actions}: {m}");
        }
    }

    #[test]
    fn a_row_of_a_table_without_a_spec_is_refused_across_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.yaml"),
            "table: t\ncolumns:\n  id: { type: uuid }\nproperties:\n  p:\n    given:\n      x: { row: { table: nowhere } }\n    actions:\n      a: { sql: SELECT 1 }\n",
        )
        .unwrap();
        let err = crate::spec::load_dir(dir.path()).unwrap_err();
        let Error::Spec {
            key_path,
            location,
            message,
            ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(key_path.as_deref(), Some("properties.p.given.x"));
        assert_eq!(location.line, Some(7));
        assert!(message.contains("`nowhere` has no spec"), "{message}");
    }

    /// The message of the error loading the folder of `files`, or `None` when it loads.
    fn load_error(files: &[(&str, &str)]) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        crate::spec::load_dir(dir.path())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn a_row_of_a_table_named_bare_is_the_specs_own_schemas() {
        // `app.t` has a column `seen` that `public.t` lacks. A row of `t` in `app.t`'s spec
        // is `app.t`'s and may set it; in `public.t`'s spec it is `public.t`'s and may not,
        // unless it names `app.t`.
        let spec = |schema: &str, columns: &str, row: &str| {
            format!(
                "table: t\n{schema}columns:\n  id: {{ type: integer }}\n{columns}\
                 properties:\n  p:\n    given:\n      x: {{ row: {row} }}\n    \
                 actions:\n      a: {{ sql: SELECT 1 }}\n"
            )
        };
        let seen = "  seen: { type: timestamptz }\n";
        let plain = "table: t\ncolumns:\n  id: { type: integer }\n";
        let in_app = spec(
            "schema: app\n",
            seen,
            "{ table: t, set: { seen: { sql: now() } } }",
        );
        assert_eq!(
            load_error(&[("app.t.yaml", &in_app), ("t.yaml", plain)]),
            None
        );
        let in_public = spec("", "", "{ table: t, set: { seen: { sql: now() } } }");
        let app = format!("table: t\nschema: app\ncolumns:\n  id: {{ type: integer }}\n{seen}");
        let message = load_error(&[("app.t.yaml", &app), ("t.yaml", &in_public)])
            .expect("public.t has no column seen");
        assert!(
            message.contains("`seen` is not a column of `t`"),
            "{message}"
        );
        let qualified = spec("", "", "{ table: app.t, set: { seen: { sql: now() } } }");
        assert_eq!(
            load_error(&[("app.t.yaml", &app), ("t.yaml", &qualified)]),
            None
        );
        // A clock entry says which rows it moves by naming a given row's table, however
        // the two spell it: `app.t` is the `t` of `app.t`'s spec, and `public.t` is not.
        let clocked = |clock_table: &str| {
            format!(
                "{}    clock:\n      - {{ table: {clock_table}, columns: [seen] }}\n",
                spec("schema: app\n", seen, "{ table: t }")
            )
        };
        for same in ["t", "app.t"] {
            assert_eq!(
                load_error(&[("app.t.yaml", &clocked(same)), ("t.yaml", plain)]),
                None,
                "{same}"
            );
        }
        let message = load_error(&[("app.t.yaml", &clocked("public.t")), ("t.yaml", plain)])
            .expect("no given row of public.t");
        assert!(message.contains("does not say which"), "{message}");
    }
}
