//! A property compiled for running: its targets (the objects it proves), the strategies
//! that draw its sequences, and the privileges it needs.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::TestRunner;

use super::draw::{self, as_count, edge_or_draw, edges, example_value, Drawn};
use super::rowgen::{RowContext, RowTemplate};
use crate::probe::session::Needs;
use crate::spec::placeholders::{mentions_identifier, placeholders};
use crate::spec::property::{ActionSpec, Gen, PropertySpec};
use crate::spec::LoadedSpec;

/// Default bounds on a random sequence's length.
const DEFAULT_STEPS: (u32, u32) = (1, 12);
/// At most this many edge sweeps per property.
const MAX_EDGE_CASES: usize = 8;

/// One object a property proves, and how its finding reads.
#[derive(Debug, Clone)]
pub struct Target {
    /// `property`, `function.property` or `trigger.property`.
    pub code: &'static str,
    /// The table the finding belongs to.
    pub table: String,
    /// The object: `table.property`, a function signature, or `table.trigger`.
    pub object: String,
}

/// A generator ready to draw: a scalar one, or a row template.
#[derive(Debug)]
pub enum GenPlan {
    /// A scalar (or pick, or SQL) generator.
    Scalar(Gen),
    /// A valid row of a table.
    Row(RowTemplate),
}

impl GenPlan {
    fn strategy(&self) -> BoxedStrategy<Drawn> {
        match self {
            GenPlan::Scalar(g) => draw::strategy(g),
            GenPlan::Row(t) => t.strategy().prop_map(Drawn::Row).boxed(),
        }
    }

    fn edge(&self, k: usize, runner: &mut TestRunner) -> Drawn {
        match self {
            GenPlan::Scalar(g) => edge_or_draw(g, k, runner),
            GenPlan::Row(t) => Drawn::Row(t.edge(k, runner)),
        }
    }

    fn edge_count(&self) -> usize {
        match self {
            GenPlan::Scalar(g) => edges(g).len(),
            GenPlan::Row(_) => 1,
        }
    }
}

/// An action ready to draw and play.
#[derive(Debug)]
pub struct ActionPlan<'a> {
    /// Its name.
    pub name: String,
    /// What the spec says.
    pub spec: &'a ActionSpec,
    /// Its arguments.
    pub args: Vec<(String, GenPlan)>,
    /// Relative frequency.
    pub weight: u32,
    /// The target a failure here is charged to.
    pub target: usize,
    /// Whether `model` or `expect` read the statement's result.
    pub uses_result: bool,
}

/// One step of a drawn sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDraw {
    /// Index into the plan's actions.
    pub action: usize,
    /// One value per argument.
    pub args: Vec<Drawn>,
    /// How many times the statement runs.
    pub repeat: u32,
    /// The interval time passes by, for an `advance` action.
    pub advance: Option<Drawn>,
}

/// A whole drawn sequence: the set-up values and the steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// One value per `given`.
    pub given: Vec<Drawn>,
    /// The steps.
    pub steps: Vec<StepDraw>,
}

/// A compiled property.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The spec file it is written in.
    pub loaded: &'a LoadedSpec,
    /// Its name.
    pub name: String,
    /// What the spec says.
    pub prop: &'a PropertySpec,
    /// Index 0 is the property itself; then one per `proves`.
    pub targets: Vec<Target>,
    /// `given`, in order.
    pub given: Vec<(String, GenPlan)>,
    /// The actions, in order.
    pub actions: Vec<ActionPlan<'a>>,
    /// Random sequence length.
    pub steps: (u32, u32),
    /// The privileges it needs.
    pub needs: Needs,
}

/// The table whose findings a trigger `object` (`table.trigger`) that a property of
/// `loaded` proves is filed under: its table, of the spec's own schema, named as the
/// structural findings name it (`t`, `app.t`, `"odd.name"`). The spec's own table is
/// recognised whole, dots and all (`odd.name.trg`, `"odd.name".trg`); any other table is
/// the part before the first dot.
pub(crate) fn trigger_table(loaded: &LoadedSpec, object: &str) -> String {
    let own = loaded.spec.table.as_str();
    let quoted = crate::sql::quote_ident(own);
    let names_own = [own, quoted.as_str()].iter().any(|t| {
        object
            .strip_prefix(t)
            .is_some_and(|trigger| trigger.len() > 1 && trigger.starts_with('.'))
    });
    let on = if names_own {
        own
    } else {
        object.split('.').next().unwrap_or(own)
    };
    crate::catalog::relation_key(&loaded.spec.schema, on)
}

/// [`Plan::clock_key`]: a table named bare is the spec's own schema's, else
/// `schema.table`.
fn clock_key(loaded: &LoadedSpec, prop: &PropertySpec, table: &str) -> Option<String> {
    if prop.model.contains_key(table) {
        return None;
    }
    Some(crate::catalog::key_in(table, &loaded.spec.schema))
}

/// `gen` compiled; a row's table is named as the spec of schema `home` names it: bare in
/// `home`, `schema.table` elsewhere.
fn gen_plan(ctx: &RowContext, home: &str, gen: &Gen) -> Result<GenPlan, String> {
    Ok(match gen {
        Gen::Row(r) => GenPlan::Row(RowTemplate::build(
            ctx,
            &crate::catalog::key_in(&r.table, home),
            &r.set,
        )?),
        other => GenPlan::Scalar(other.clone()),
    })
}

fn uses_result(action: &ActionSpec) -> bool {
    let texts = action.model.iter().chain(action.expect.iter());
    texts
        .clone()
        .any(|t| placeholders(t).iter().any(|(n, _)| n == "result"))
        || action
            .expect
            .iter()
            .any(|e| mentions_identifier(e, "result"))
}

impl<'a> Plan<'a> {
    /// Compile property `name` of `loaded`. An error is a reason the property cannot run
    /// on this database (a table missing, a row that cannot be built).
    pub fn compile(
        ctx: &RowContext,
        loaded: &'a LoadedSpec,
        name: &str,
        prop: &'a PropertySpec,
    ) -> Result<Plan<'a>, String> {
        // As the structural findings name it: bare in the default schema, else
        // `schema.table`; a trigger a property proves is named relative to the spec's schema.
        let home = loaded.spec.schema.as_str();
        let table = &crate::catalog::relation_key(home, &loaded.spec.table);
        let mut targets = vec![Target {
            code: crate::probe::PROPERTY_CODE,
            table: table.clone(),
            object: format!("{table}.{name}"),
        }];
        let mut needs = Needs::default();
        for object in &prop.proves {
            let function = object.contains('(');
            targets.push(Target {
                code: if function {
                    "function.property"
                } else {
                    "trigger.property"
                },
                table: if function {
                    table.clone()
                } else {
                    trigger_table(loaded, object)
                },
                object: object.clone(),
            });
            if function {
                needs.functions.insert(object.clone());
            }
        }
        let mut given = Vec::new();
        for (n, g) in &prop.given {
            let plan = gen_plan(ctx, home, g)?;
            if let GenPlan::Row(t) = &plan {
                for t in t.tables() {
                    needs.table("INSERT", &t);
                }
            }
            given.push((n.clone(), plan));
        }
        let mut actions = Vec::new();
        for (n, a) in &prop.actions {
            let mut args = Vec::new();
            for (an, g) in &a.args {
                let plan = gen_plan(ctx, home, g)?;
                if let GenPlan::Row(t) = &plan {
                    for t in t.tables() {
                        needs.table("INSERT", &t);
                    }
                }
                args.push((an.clone(), plan));
            }
            let target = a
                .checks
                .as_ref()
                .and_then(|c| targets.iter().position(|t| &t.object == c))
                .unwrap_or(0);
            actions.push(ActionPlan {
                name: n.clone(),
                spec: a,
                args,
                weight: a.weight.unwrap_or(1),
                target,
                uses_result: uses_result(a),
            });
        }
        for c in &prop.clock {
            if let Some(key) = clock_key(loaded, prop, &c.table) {
                needs.table("UPDATE", &key);
            }
        }
        needs.temporary = !prop.model.is_empty();
        let steps = prop.steps.map(|s| (s.min, s.max)).unwrap_or(DEFAULT_STEPS);
        Ok(Plan {
            loaded,
            name: name.to_string(),
            prop,
            targets,
            given,
            actions,
            steps,
            needs,
        })
    }

    /// The relation key of the table a clock entry for `table` moves, or `None` for a
    /// model table (the property's own temporary table, named bare).
    pub fn clock_key(&self, table: &str) -> Option<String> {
        clock_key(self.loaded, self.prop, table)
    }

    /// `table.property`, for messages.
    pub fn object(&self) -> &str {
        &self.targets[0].object
    }

    /// The strategy of random sequences, or `None` when every action has weight 0.
    pub fn strategy(&self) -> Option<BoxedStrategy<Case>> {
        let weighted: Vec<(u32, BoxedStrategy<StepDraw>)> = self
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.weight > 0)
            .map(|(i, a)| (a.weight, step_strategy(i, a)))
            .collect();
        if weighted.is_empty() {
            return None;
        }
        let given: Vec<BoxedStrategy<Drawn>> =
            self.given.iter().map(|(_, g)| g.strategy()).collect();
        let (min, max) = self.steps;
        Some(
            (
                given,
                vec(Union::new_weighted(weighted), min as usize..=max as usize),
            )
                .prop_map(|(given, steps)| Case { given, steps })
                .boxed(),
        )
    }

    /// The edge sweeps: in sweep `k`, every generator takes its `k`-th edge value and
    /// every action with a weight runs once, in the order written.
    pub fn edge_cases(&self, runner: &mut TestRunner) -> Vec<Case> {
        let mut count = self
            .given
            .iter()
            .map(|(_, g)| g.edge_count())
            .max()
            .unwrap_or(1);
        for a in &self.actions {
            for (_, g) in &a.args {
                count = count.max(g.edge_count());
            }
            for g in a.spec.repeat.iter().chain(a.spec.advance.iter()) {
                count = count.max(edges(g).len());
            }
        }
        let count = count.clamp(1, MAX_EDGE_CASES);
        (0..count)
            .map(|k| Case {
                given: self.given.iter().map(|(_, g)| g.edge(k, runner)).collect(),
                steps: self
                    .actions
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.weight > 0)
                    .map(|(i, a)| StepDraw {
                        action: i,
                        args: a.args.iter().map(|(_, g)| g.edge(k, runner)).collect(),
                        repeat: a
                            .spec
                            .repeat
                            .as_ref()
                            .map_or(1, |g| as_count(&edge_or_draw(g, k, runner))),
                        advance: a.spec.advance.as_ref().map(|g| edge_or_draw(g, k, runner)),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The property's `examples`, as sequences.
    pub fn examples(&self, runner: &mut TestRunner) -> Vec<Case> {
        self.prop
            .examples
            .iter()
            .map(|example| Case {
                given: self.given.iter().map(|(_, g)| g.edge(0, runner)).collect(),
                steps: example
                    .iter()
                    .filter_map(|step| {
                        let (aname, values) = step.iter().next()?;
                        let i = self.actions.iter().position(|a| &a.name == aname)?;
                        let a = &self.actions[i];
                        let value = |name: &str, gen: &Gen, runner: &mut TestRunner| match values
                            .get(name)
                        {
                            Some(v) => example_value(gen, v),
                            None => edge_or_draw(gen, 0, runner),
                        };
                        let args = a
                            .args
                            .iter()
                            .map(|(n, g)| match (g, values.get(n)) {
                                (GenPlan::Scalar(gen), Some(v)) => example_value(gen, v),
                                (plan, _) => plan.edge(0, runner),
                            })
                            .collect();
                        Some(StepDraw {
                            action: i,
                            args,
                            repeat: a
                                .spec
                                .repeat
                                .as_ref()
                                .map_or(1, |g| as_count(&value("repeat", g, runner))),
                            advance: a.spec.advance.as_ref().map(|g| value("advance", g, runner)),
                        })
                    })
                    .collect(),
            })
            .collect()
    }
}

fn step_strategy(index: usize, action: &ActionPlan) -> BoxedStrategy<StepDraw> {
    let args: Vec<BoxedStrategy<Drawn>> = action.args.iter().map(|(_, g)| g.strategy()).collect();
    let repeat: BoxedStrategy<u32> = match &action.spec.repeat {
        Some(g) => draw::strategy(g).prop_map(|d| as_count(&d)).boxed(),
        None => Just(1).boxed(),
    };
    let advance: BoxedStrategy<Option<Drawn>> = match &action.spec.advance {
        Some(g) => draw::strategy(g).prop_map(Some).boxed(),
        None => Just(None).boxed(),
    };
    (args, repeat, advance)
        .prop_map(move |(args, repeat, advance)| StepDraw {
            action: index,
            args,
            repeat,
            advance,
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::trigger_table;

    fn spec_of(schema: &str, table: &str) -> crate::spec::LoadedSpec {
        let yaml =
            format!("table: {table:?}\nschema: {schema}\ncolumns:\n  id: {{ type: integer }}\n");
        crate::spec::load_str(std::path::Path::new("t.yaml"), &yaml).unwrap()
    }

    #[test]
    fn a_proved_trigger_is_filed_under_its_table_as_the_structural_findings_name_it() {
        let public = spec_of("public", "t");
        assert_eq!(trigger_table(&public, "t.t_touch"), "t");
        assert_eq!(trigger_table(&public, "other.o_touch"), "other");
        assert_eq!(trigger_table(&spec_of("app", "t"), "t.t_touch"), "app.t");
        // A table whose name holds a dot: its own spec's trigger was filed under `odd`.
        let odd = spec_of("public", "odd.name");
        assert_eq!(trigger_table(&odd, "odd.name.trg"), "\"odd.name\"");
        assert_eq!(trigger_table(&odd, "\"odd.name\".trg"), "\"odd.name\"");
        assert_eq!(
            trigger_table(&spec_of("app", "odd.name"), "odd.name.trg"),
            "app.\"odd.name\""
        );
    }
}
