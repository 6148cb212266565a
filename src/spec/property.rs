//! The `properties:` section of a table spec: how functions and triggers must behave,
//! stated as data (YAML and SQL) that the probe engine turns into generated, shrunk,
//! rolled-back test sequences.
//!
//! The shape follows stateful property-based testing (a model, actions with preconditions
//! and weights, invariants checked after every action, bundles of values to pick from),
//! with every piece written in SQL so that it reads like pgTAP's `results_eq` / `throws_ok`
//! and can be replayed by hand.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::sample_value::SampleValue;

/// One property: a model, set-up values, actions and what must hold.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertySpec {
    /// What holds, in a sentence, as the source of truth states it. Findings quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Business requirements the property serves (`BR-NNN`); defaults to the spec's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// The objects the property proves: functions by signature (`close_account(text)`)
    /// and triggers as `table.trigger`. Each gets its own finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proves: Vec<String>,
    /// Values drawn once per sequence, in order, before any action: generated scalars and
    /// rows inserted into the database (`{ row: { table: users } }`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub given: IndexMap<String, Gen>,
    /// Temporary tables the property owns and keeps in step with what the source of truth
    /// says should happen. Actions write them in SQL; expectations compare them with the
    /// real tables.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub model: IndexMap<String, ModelTable>,
    /// Timestamp columns that move back when time passes (an `advance` action), since
    /// `CURRENT_TIMESTAMP` is fixed inside the transaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock: Vec<ClockSpec>,
    /// What a sequence is made of. Each step picks one action by weight.
    pub actions: IndexMap<String, ActionSpec>,
    /// SQL predicates that must hold after the set-up and after every step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always: Vec<String>,
    /// How many steps a random sequence has (default 1 to 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<StepCount>,
    /// Sequences always played before the random ones. Each step is a one-key map,
    /// `{ action: { arg: value } }`; an argument left out takes its generator's first edge
    /// value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Vec<IndexMap<String, IndexMap<String, SampleValue>>>>,
    /// Queries whose rows are shown beside a failure, to explain it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show: Vec<String>,
}

/// Bounds on a sequence's length.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StepCount {
    /// Fewest steps (at least 1).
    pub min: u32,
    /// Most steps (at most 100).
    pub max: u32,
}

/// A temporary table of the model.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelTable {
    /// Columns and their SQL types, in order.
    pub columns: IndexMap<String, String>,
    /// A query (`SELECT …` or `VALUES …`) whose rows fill the table at the start of every
    /// sequence, after `given`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

/// Columns of one table that move when time passes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// A model table or a real one.
    pub table: String,
    /// Its timestamp (or date) columns.
    pub columns: Vec<String>,
    /// Which rows move, as SQL. Required for a real table unless `given` inserts rows of it
    /// (then those rows move); a model table moves all its rows.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<String>,
}

/// One action: a statement with generated arguments, or time passing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// Relative frequency in random sequences (default 1; 0 means examples only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// The object (one of the property's `proves`) a failure in this action is charged to;
    /// default: the property itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<String>,
    /// Precondition: an SQL predicate; when false the step is left out.
    #[serde(default, rename = "when", skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Arguments drawn for each step.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub args: IndexMap<String, Gen>,
    /// Run the statement this many times in a row (an `int` generator), checking after
    /// each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Gen>,
    /// A query run just before the statement; its first row is `:before.column`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The statement. Its rows are `result` in `expect` (`:result` is the first column of
    /// the first row, `:result.column` a column of the first row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Time passes by this interval (an `interval` generator) instead of a statement: every
    /// `clock` column moves back by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<Gen>,
    /// The statement must fail with this SQLSTATE (always, or when a predicate evaluated
    /// before it holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raises: Option<Raises>,
    /// SQL that updates the model after the statement succeeded (several statements are
    /// allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// SQL predicates that must hold after the statement succeeded (and the model was
    /// updated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<String>,
}

/// An expected error.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Raises {
    /// The SQLSTATE, five characters (`28000`, `22023`).
    pub sqlstate: String,
    /// Expect the error only when this predicate holds before the statement runs; without
    /// it the statement must always fail.
    #[serde(default, rename = "when", skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// A generator of values. Each is a one-key map: `{ int: { min: 1, max: 6 } }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(remote = "Self", rename_all = "snake_case")]
#[schemars(rename = "Gen")]
pub enum Gen {
    /// Always this value (a YAML scalar, sent as a literal).
    Value(SampleValue),
    /// Always this SQL expression (it may use earlier placeholders).
    Sql(String),
    /// An integer in a range.
    Int(IntGen),
    /// A decimal number in a range, at a scale.
    Numeric(NumericGen),
    /// One of a list of values.
    OneOf(OneOfGen),
    /// A string matching a regular expression.
    Regex(RegexGen),
    /// A timestamp with time zone in a range.
    Timestamp(TimeGen),
    /// A date in a range.
    Date(TimeGen),
    /// An interval: a whole number of one unit, in a range.
    Interval(IntervalGen),
    /// A random UUID.
    Uuid(Empty),
    /// A random IPv4 or IPv6 address (`inet`).
    Inet(Empty),
    /// true or false.
    Bool(Empty),
    /// An array of generated values.
    Array(Box<ArrayGen>),
    /// NULL (tried first) or a value of the inner generator.
    Nullable(Box<Gen>),
    /// A string no other draw has: prefix, 16 random hex digits, suffix.
    Unique(UniqueGen),
    /// One row of a query's result (a bundle): `:name.column`. The query should order its
    /// rows; a step with nothing to pick is left out.
    Pick(String),
    /// A valid row of a table, built from its spec (samples, CHECK rules, defaults, foreign
    /// keys, with parents inserted as needed) and inserted: `:name.column`.
    Row(RowGen),
}

super::tagged::tagged_enum!(
    Gen: "a generator: a one-key mapping such as `{ int: { min: 1, max: 6 } }`",
);

/// No options.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Integers from `min` to `max`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntGen {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Values tried first and favoured, besides min, max, their neighbours and 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<i64>,
}

/// Decimals from `min` to `max` at `scale` digits after the point.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NumericGen {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Digits after the point (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Values tried first, besides the bounds and their neighbours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<f64>,
}

/// A fixed list.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OneOfGen {
    /// The values, tried in order first.
    pub values: Vec<SampleValue>,
    /// An SQL type to cast them to (`inet`); default: an untyped literal.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Strings from a regular expression.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegexGen {
    /// The regular expression (anchors are implied).
    pub pattern: String,
    /// An SQL type to cast to; default: an untyped literal.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Timestamps or dates between two bounds, written `2025-01-01T00:00:00Z` / `2025-01-01`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeGen {
    /// Earliest.
    pub min: String,
    /// Latest.
    pub max: String,
    /// Values tried first, besides the bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<String>,
}

/// The unit of an interval generator.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    /// Seconds.
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days (of 24 hours: probes run in UTC).
    Days,
}

impl IntervalUnit {
    /// The unit as PostgreSQL writes it in an interval literal.
    pub fn sql(&self) -> &'static str {
        match self {
            IntervalUnit::Seconds => "seconds",
            IntervalUnit::Minutes => "minutes",
            IntervalUnit::Hours => "hours",
            IntervalUnit::Days => "days",
        }
    }
}

/// Intervals of `min` to `max` units.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntervalGen {
    /// The unit.
    pub unit: IntervalUnit,
    /// Fewest units.
    pub min: i64,
    /// Most units.
    pub max: i64,
    /// Values tried first, besides the bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<i64>,
}

/// Arrays of generated elements.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArrayGen {
    /// The elements' generator.
    pub of: Gen,
    /// Fewest elements (default 0).
    #[serde(default)]
    pub min_len: u32,
    /// Most elements (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// The element type, for an empty array (`text`); default from the generator.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Fresh strings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UniqueGen {
    /// Text before the random part.
    #[serde(default)]
    pub prefix: String,
    /// Text after it (e.g. `@example.invalid`).
    #[serde(default)]
    pub suffix: String,
}

/// A valid row of a table.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RowGen {
    /// The table; it needs a spec.
    pub table: String,
    /// Columns to set, each from a generator; the others are built from the spec.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub set: IndexMap<String, Gen>,
}

/// Names the engine gives meaning to, which a property cannot use for its own values.
pub const RESERVED: [&str; 4] = ["result", "before", "repeat", "advance"];

/// Whether a placeholder's name binds a row (used as `:name.column`) rather than a scalar.
pub fn is_row_valued(gen: &Gen) -> bool {
    matches!(gen, Gen::Pick(_) | Gen::Row(_))
}

impl PropertySpec {
    /// Every SQL text of the property with its key path (for validation and messages).
    pub fn sql_texts(&self) -> Vec<(Vec<String>, &str)> {
        let mut out: Vec<(Vec<String>, &str)> = Vec::new();
        let key = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        for (name, table) in &self.model {
            if let Some(init) = &table.init {
                out.push((key(&["model", name, "init"]), init));
            }
        }
        for (i, c) in self.clock.iter().enumerate() {
            if let Some(w) = &c.where_ {
                out.push((key(&["clock", &i.to_string(), "where"]), w));
            }
        }
        for a in &self.always {
            out.push((key(&["always"]), a));
        }
        for s in &self.show {
            out.push((key(&["show"]), s));
        }
        out
    }
}
