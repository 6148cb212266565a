//! Functions and procedures → the spec they are listed in. A trigger function goes with the
//! first table (by name) whose trigger calls it; any other with the table its source
//! mentions most (ties and no mention: the first by name).

use std::collections::BTreeMap;

use crate::catalog::{Function, Schema};
use crate::spec::{FunctionSpec, Parallel, RoutineKind, Volatility};

/// The spec of one function.
pub fn function_spec(f: &Function) -> FunctionSpec {
    let types = f.arg_types.join(", ");
    FunctionSpec {
        kind: match f.kind {
            'p' => RoutineKind::Procedure,
            'a' => RoutineKind::Aggregate,
            _ => RoutineKind::Function,
        },
        returns: f.returns.clone(),
        // Names, modes and defaults: stated whenever they say more than the key's types.
        arguments: (!f.arguments.is_empty() && f.arguments != types).then(|| f.arguments.clone()),
        language: f.language.clone(),
        volatility: match f.volatility.as_str() {
            "immutable" => Volatility::Immutable,
            "stable" => Volatility::Stable,
            _ => Volatility::Volatile,
        },
        strict: f.strict,
        security_definer: f.security_definer,
        config: f
            .config
            .iter()
            .map(|c| match c.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (c.clone(), String::new()),
            })
            .collect(),
        leakproof: f.leakproof,
        parallel: match f.parallel {
            's' => Parallel::Safe,
            'r' => Parallel::Restricted,
            _ => Parallel::Unsafe,
        },
        cost: (f.cost != default_cost(f)).then_some(f.cost),
        rows: (f.rows != default_rows(f)).then_some(f.rows),
        state_function: f.aggregate.as_ref().map(|a| a.state_function.clone()),
        state_type: f.aggregate.as_ref().map(|a| a.state_type.clone()),
        final_function: f.aggregate.as_ref().and_then(|a| a.final_function.clone()),
        initial_state: f.aggregate.as_ref().and_then(|a| a.initial_state.clone()),
        aggregate_options: f
            .aggregate
            .iter()
            .flat_map(|a| &a.options)
            .filter_map(|o| o.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        comment: f.comment.clone(),
        privileges: None,
        acknowledge: Default::default(),
        description: None,
    }
}

/// The COST PostgreSQL gives a function that does not state one: 1 for C and internal
/// functions (and aggregates), 100 otherwise.
fn default_cost(f: &Function) -> f64 {
    if matches!(f.language.as_str(), "c" | "internal") {
        1.0
    } else {
        100.0
    }
}

/// The ROWS PostgreSQL gives: 1000 for a set-returning function, 0 otherwise.
fn default_rows(f: &Function) -> f64 {
    let r = f.returns.to_ascii_uppercase();
    if r.starts_with("SETOF ") || r.starts_with("TABLE(") {
        1000.0
    } else {
        0.0
    }
}

/// For each relation in `tables` (the relation keys of one schema, sorted), the functions
/// of that schema its spec lists: trigger functions first, then the others, each group by
/// signature. Aggregates stay out: they go to the schema document.
pub fn place_functions<'a>(
    schema: &'a Schema,
    ns: &str,
    tables: &[String],
) -> BTreeMap<String, Vec<&'a Function>> {
    let mut placed: BTreeMap<String, Vec<&Function>> = BTreeMap::new();
    let mut others: Vec<(&String, &Function)> = Vec::new();
    if tables.is_empty() {
        return placed;
    }
    let names: Vec<String> = tables
        .iter()
        .map(|k| {
            schema
                .relations
                .get(k)
                .map_or_else(|| k.clone(), |r| r.name.clone())
        })
        .collect();
    for f in schema
        .functions
        .iter()
        .filter(|f| f.schema == ns && f.kind != 'a')
    {
        let trigger_table = tables.iter().find(|t| {
            schema.relations.get(*t).is_some_and(|r| {
                r.triggers.iter().any(|tg| tg.function == f.name) && f.arg_types.is_empty()
            }) && f.returns == "trigger"
        });
        match trigger_table {
            Some(t) => placed.entry(t.clone()).or_default().push(f),
            None => {
                let home = most_mentioned(f.source.as_str(), &names)
                    .and_then(|n| names.iter().position(|x| x == n))
                    .map_or(&tables[0], |i| &tables[i]);
                others.push((home, f));
            }
        }
    }
    for (t, f) in others {
        placed.entry(t.clone()).or_default().push(f);
    }
    for fs in placed.values_mut() {
        // Stable sort: the trigger functions pushed first stay first.
        fs.sort_by_key(|f| (f.returns != "trigger", f.signature()));
    }
    placed
}

/// The table named most often in `source` as a whole word (case-insensitive); ties go to
/// the first by name. `None` when none is named.
fn most_mentioned<'t>(source: &str, tables: &'t [String]) -> Option<&'t String> {
    let lower = source.to_lowercase();
    let mut best: Option<(&String, usize)> = None;
    for t in tables {
        let n = count_word(&lower, &t.to_lowercase());
        if n > 0 && best.is_none_or(|(_, m)| n > m) {
            best = Some((t, n));
        }
    }
    best.map(|(t, _)| t)
}

fn count_word(text: &str, word: &str) -> usize {
    if word.is_empty() {
        return 0;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(word)
        .filter(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_are_counted() {
        let src = "DELETE FROM account_notes WHERE user_id IN (SELECT id FROM users); -- users";
        assert_eq!(count_word(src, "users"), 2);
        assert_eq!(count_word(src, "account_notes"), 1);
        let tables = vec!["account_notes".to_string(), "users".to_string()];
        assert_eq!(most_mentioned(src, &tables), Some(&tables[1]));
        assert_eq!(most_mentioned("SELECT 1", &tables), None);
        assert_eq!(
            most_mentioned("users account_notes", &tables),
            Some(&tables[0]),
            "a tie goes to the first by name"
        );
    }
}
