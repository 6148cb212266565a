//! The introspected schema: plain data, no connection, easy to compare and to serialise.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything the verifier needs to know about one schema.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Schema {
    /// `SHOW server_version`.
    pub server_version: String,
    /// Relations by name.
    pub relations: BTreeMap<String, Relation>,
    /// Functions and procedures (not aggregates or window functions), not counting those
    /// owned by extensions.
    pub functions: Vec<Function>,
    /// Owners, ACLs, roles and row-level security (see `catalog::acl`).
    pub access: super::acl::Access,
}

/// A table or (materialized) view.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Relation {
    /// The name.
    pub name: String,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `m` materialized view, `v` view.
    pub kind: char,
    /// Columns in attribute order.
    pub columns: Vec<Column>,
    /// Constraints (PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK, EXCLUDE).
    pub constraints: Vec<Constraint>,
    /// Indexes, including those that back constraints.
    pub indexes: Vec<Index>,
    /// User triggers.
    pub triggers: Vec<Trigger>,
}

impl Relation {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// A constraint by name.
    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }
    /// An index by name.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|c| c.name == name)
    }
    /// A trigger by name.
    pub fn trigger(&self, name: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|c| c.name == name)
    }
}

/// A column.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Column {
    /// The name.
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(255)`.
    pub type_name: String,
    /// `NOT attnotnull`.
    pub nullable: bool,
    /// `pg_get_expr(adbin, adrelid)`, e.g. `gen_random_uuid()`.
    pub default: Option<String>,
    /// The collation when it is not the type's default (`attcollation::regcollation`,
    /// e.g. `"C"`); `None` for the default or a type without collation.
    pub collation: Option<String>,
}

/// What kind of constraint (`pg_constraint.contype`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// PRIMARY KEY.
    PrimaryKey,
    /// UNIQUE.
    Unique,
    /// FOREIGN KEY.
    ForeignKey,
    /// CHECK.
    Check,
    /// EXCLUDE.
    Exclusion,
    /// Anything else (NOT NULL constraints on PostgreSQL 18, triggers …).
    Other,
}

/// A constraint.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Constraint {
    /// The name.
    pub name: String,
    /// Its kind.
    pub kind: ConstraintKind,
    /// Constrained columns, in key order.
    pub columns: Vec<String>,
    /// `pg_get_constraintdef`, e.g. `CHECK ((occupancy_rate >= (0)::numeric))`.
    pub definition: String,
    /// For CHECK: the expression alone, `pg_get_expr(conbin, conrelid)`.
    pub expression: Option<String>,
    /// For FOREIGN KEY: the referenced table.
    pub ref_table: Option<String>,
    /// For FOREIGN KEY: the referenced columns.
    pub ref_columns: Vec<String>,
    /// For FOREIGN KEY: `confdeltype` (`a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default).
    pub on_delete: Option<char>,
    /// For FOREIGN KEY: `confupdtype`.
    pub on_update: Option<char>,
    /// For PRIMARY KEY / UNIQUE / EXCLUDE: the backing index.
    pub index_name: Option<String>,
    /// DEFERRABLE (`condeferrable`).
    pub deferrable: bool,
    /// INITIALLY DEFERRED (`condeferred`).
    pub initially_deferred: bool,
}

/// An index.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Index {
    /// The name.
    pub name: String,
    /// UNIQUE.
    pub unique: bool,
    /// Access method (`btree`, `gin`, …).
    pub method: String,
    /// Key columns or expressions, each printed by `pg_get_indexdef(oid, n, true)`.
    pub keys: Vec<String>,
    /// DESC per key (from `indoption`).
    pub desc: Vec<bool>,
    /// NULLS FIRST per key (from `indoption`).
    pub nulls_first: Vec<bool>,
    /// Per key, its `COLLATE` collation when PostgreSQL's printer shows one (it differs from
    /// the column's or expression's own collation), as in `pg_get_indexdef`: `"C"`.
    pub collations: Vec<Option<String>>,
    /// Per key, its operator class when PostgreSQL's printer shows one (it is not the
    /// default for the key's type and access method), e.g. `jsonb_path_ops`.
    pub opclasses: Vec<Option<String>>,
    /// INCLUDE (non-key) columns, each printed by `pg_get_indexdef(oid, n, false)`.
    pub include: Vec<String>,
    /// Partial-index predicate, `pg_get_expr(indpred, indrelid)`.
    pub predicate: Option<String>,
    /// The full `pg_get_indexdef`, for messages.
    pub definition: String,
    /// The constraint this index backs, if any.
    pub constraint: Option<String>,
}

/// A trigger.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trigger {
    /// The name.
    pub name: String,
    /// `before`, `after` or `instead_of`.
    pub timing: String,
    /// Firing events, sorted: `insert`, `update`, `delete`, `truncate`.
    pub events: Vec<String>,
    /// `row` or `statement`.
    pub level: String,
    /// The trigger function's name.
    pub function: String,
    /// The `WHEN` condition as `pg_get_triggerdef(oid, true)` prints it, without the outer
    /// parentheses.
    pub when: Option<String>,
    /// The columns of `UPDATE OF …` (`tgattr`), in the order declared; empty for none.
    pub columns: Vec<String>,
    /// `pg_trigger.tgenabled`: `O` enabled, `A` always, `R` replica only, `D` disabled.
    pub enabled: char,
    /// `pg_get_triggerdef`, for messages.
    pub definition: String,
}

/// A function or procedure.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Function {
    /// The name.
    pub name: String,
    /// `pg_proc.prokind`: `f` function, `p` procedure.
    pub kind: char,
    /// Argument types as `oidvectortypes` prints them, e.g. `["uuid", "inet"]`.
    pub arg_types: Vec<String>,
    /// `pg_get_function_arguments`, with names and defaults.
    pub arguments: String,
    /// `pg_get_function_result`, e.g. `void`, `TABLE(can_create boolean, …)`; `void` for a
    /// procedure.
    pub returns: String,
    /// Language name.
    pub language: String,
    /// `immutable`, `stable` or `volatile`.
    pub volatility: String,
    /// STRICT.
    pub strict: bool,
    /// SECURITY DEFINER.
    pub security_definer: bool,
    /// The body as stored (`pg_proc.prosrc`): the source text for SQL and PL languages,
    /// the symbol for C. `spec snapshot` places a function with the table it names most.
    pub source: String,
}

impl Function {
    /// `function` or `procedure`.
    pub fn kind_name(&self) -> &'static str {
        if self.kind == 'p' {
            "procedure"
        } else {
            "function"
        }
    }

    /// `name(type, type)`, the key specs use.
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.arg_types.join(", "))
    }
}
