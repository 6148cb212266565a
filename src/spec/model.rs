//! The spec format: what a table (and the triggers and functions that belong to it) must be.
//!
//! Every struct denies unknown keys so that a typo in a spec is an error, never a silent
//! no-op. Enums are externally tagged (`rule: { range: { … } }`) rather than untagged so
//! that a mistake gets a precise message.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::policy::{PolicyCommand, PolicySpec, RowSecurity};
pub use super::privileges::{ColumnPrivileges, ObjectPrivileges, RelationPrivileges};
pub use super::sample_value::SampleValue;

/// One spec file: a relation and everything that must be true of it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// The relation's name.
    pub table: String,
    /// The PostgreSQL schema that holds it (default `public`).
    #[serde(default = "public_schema", skip_serializing_if = "is_public_schema")]
    pub schema: String,
    /// Table (default), view, materialized view or partitioned table.
    #[serde(default, skip_serializing_if = "RelationKind::is_table")]
    pub kind: RelationKind,
    /// For a view or materialized view: its query, as in `CREATE VIEW … AS <definition>`.
    /// Compared as PostgreSQL prints it (`pg_get_viewdef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// For a partitioned table: its partition key as in `PARTITION BY …`, e.g.
    /// `RANGE (payment_date)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<String>,
    /// For a partition: the partitioned table it is a partition of (a name in the same
    /// schema, or `schema.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<String>,
    /// The tables it inherits from (`INHERITS (…)`, `ALTER TABLE … INHERIT …`), not as a
    /// partition: names in the same schema, or `schema.name`, in the order PostgreSQL
    /// keeps them. Absent: none. A query of a parent reads its children's rows too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
    /// For a partition: its bound as in `ATTACH PARTITION … <bound>`, e.g.
    /// `FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')` or `DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_bound: Option<String>,
    /// UNLOGGED (not crash-safe, not replicated). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// For a materialized view: `false` when it is meant to be left unpopulated (`CREATE
    /// MATERIALIZED VIEW … WITH NO DATA`, `REFRESH … WITH NO DATA`), so that every read
    /// of it fails until it is refreshed. Default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub populated: bool,
    /// What logical decoding sends to identify an updated or deleted row (`ALTER TABLE …
    /// REPLICA IDENTITY`): `default` (the primary key), `full` (every column of the old
    /// row), `nothing`, or `{ index: <name> }` (a unique index of the relation). For a
    /// table, a partitioned table or a materialized view; absent means `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_identity: Option<ReplicaIdentity>,
    /// The index `CLUSTER` without an index name orders the relation by (`ALTER TABLE …
    /// CLUSTER ON <index>`, marked `indisclustered`): an index of the relation, by its name.
    /// For a table or a materialized view; absent means none (`SET WITHOUT CLUSTER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_on: Option<String>,
    /// For a view: its options, none by default.
    #[serde(default, skip_serializing_if = "ViewOptions::is_none")]
    pub options: ViewOptions,
    /// For a table, partitioned table or materialized view: its storage parameters
    /// (`WITH (…)`, `ALTER TABLE … SET (…)`), name → value, a TOAST table's prefixed
    /// `toast.`: `{ fillfactor: 70, autovacuum_enabled: false }`. Absent: none, as `CREATE
    /// TABLE` leaves it.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    /// The migration file that creates it, e.g. `013_create_users.sql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// What the relation is for, in a sentence. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `COMMENT ON TABLE` (or VIEW …), compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Business requirements the relation serves (`BR-NNN`, e.g. `BR-001`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Object kinds in which objects absent from this spec are tolerated instead of
    /// reported as drift.
    #[serde(default, skip_serializing_if = "AllowExtra::is_strict")]
    pub allow_extra: AllowExtra,
    /// Every column, in order.
    pub columns: IndexMap<String, ColumnSpec>,
    /// The primary key, if the relation has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<KeySpec>,
    /// UNIQUE constraints by name (unique *indexes* belong under `indexes`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub unique: IndexMap<String, UniqueSpec>,
    /// Foreign keys by constraint name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub foreign_keys: IndexMap<String, ForeignKeySpec>,
    /// CHECK constraints by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub checks: IndexMap<String, CheckSpec>,
    /// Indexes by name, not counting those that back the primary key or UNIQUE constraints.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub indexes: IndexMap<String, IndexSpec>,
    /// Triggers on this relation by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub triggers: IndexMap<String, TriggerSpec>,
    /// Functions that belong with this relation, keyed by signature: `name(argtype, …)`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub functions: IndexMap<String, FunctionSpec>,
    /// Owner and grants of the relation and its columns (see `spec::privileges`). Absent:
    /// PostgreSQL's defaults, owned by the migrating role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<RelationPrivileges>,
    /// Row-level security. Absent: disabled and not forced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_security: Option<RowSecurity>,
    /// Row-level security policies by name. A policy not listed is drift.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub policies: IndexMap<String, PolicySpec>,
    /// Known-good rows, column → value, that behavioural probes start from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<IndexMap<String, SampleValue>>,
    /// How the functions and triggers that belong with this relation must behave, by
    /// property name (see `spec::property`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub properties: IndexMap<String, super::property::PropertySpec>,
}

/// Which kind of relation a spec describes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// An ordinary table.
    #[default]
    Table,
    /// A view (`CREATE VIEW`).
    View,
    /// A materialized view.
    MaterializedView,
    /// A partitioned table (`CREATE TABLE … PARTITION BY`).
    PartitionedTable,
}

impl RelationKind {
    fn is_table(&self) -> bool {
        *self == RelationKind::Table
    }

    /// The kind in words, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::PartitionedTable => "partitioned table",
        }
    }

    /// Whether the relation is defined by a query (`definition`).
    pub fn is_view(&self) -> bool {
        matches!(self, RelationKind::View | RelationKind::MaterializedView)
    }

    /// `pg_class.relkind` of this kind.
    pub fn relkind(&self) -> char {
        match self {
            RelationKind::Table => 'r',
            RelationKind::View => 'v',
            RelationKind::MaterializedView => 'm',
            RelationKind::PartitionedTable => 'p',
        }
    }
}

/// The schema a spec means when it names none.
pub const DEFAULT_SCHEMA: &str = "public";

fn public_schema() -> String {
    DEFAULT_SCHEMA.to_string()
}

fn is_public_schema(s: &str) -> bool {
    s == DEFAULT_SCHEMA
}

/// Object kinds for which extra, unspecified objects are allowed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllowExtra {
    /// Tolerate columns that the spec does not list.
    #[serde(default)]
    pub columns: bool,
    /// Tolerate indexes that the spec does not list.
    #[serde(default)]
    pub indexes: bool,
    /// Tolerate constraints (CHECK, UNIQUE, FK) that the spec does not list.
    #[serde(default)]
    pub constraints: bool,
    /// Tolerate triggers that the spec does not list.
    #[serde(default)]
    pub triggers: bool,
}

impl AllowExtra {
    fn is_strict(&self) -> bool {
        *self == AllowExtra::default()
    }
}

/// A column: its type, nullability and default.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// A PostgreSQL type as you would write it (`varchar(255)`, `numeric(5,2)`, `text[]`,
    /// `timestamptz`, `serial`). It is normalised by PostgreSQL before comparing.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether NULL is allowed. Defaults to true, as in SQL.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// The default expression as SQL, or absent for no default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A collation other than the type's default, by its name in `pg_collation` (`C`,
    /// `en-US-x-icu`; quote it yourself only to qualify it: `pg_catalog."C"`). Absent means
    /// the type's default collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// A generated column: its expression, as in `GENERATED ALWAYS AS (<expr>) STORED`.
    /// A generated column has no `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// For a generated column, whether it is `stored` (the default: computed on write and
    /// kept in the table) or `virtual` (computed on read, PostgreSQL 18 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_kind: Option<GeneratedKind>,
    /// An identity column: `always` (`GENERATED ALWAYS AS IDENTITY`) or `by_default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityKind>,
    /// The options of the sequence this column owns (a `serial` or identity column), when
    /// they are not the defaults. Absent means the defaults for the column's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceOptions>,
    /// How the column's values are stored (`ALTER TABLE … ALTER COLUMN … SET STORAGE`):
    /// `plain`, `external`, `extended` or `main`. Absent means what `CREATE TABLE` gives a
    /// column of its type (the type's `typstorage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<ColumnStorage>,
    /// How the column's values are compressed (`ALTER TABLE … ALTER COLUMN … SET
    /// COMPRESSION`, PostgreSQL 14 and later): `pglz` or `lz4`. Absent means none set, so
    /// the server's `default_toast_compression` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<ColumnCompression>,
    /// The column's statistics target (`ALTER TABLE … ALTER COLUMN … SET STATISTICS`): how
    /// many most common values and histogram buckets `ANALYZE` keeps for the planner, 0
    /// (none gathered) to 10000. Absent, or -1, means none of its own, so the server's
    /// `default_statistics_target` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<i32>,
    /// The column's attribute options (`ALTER TABLE … ALTER COLUMN … SET (…)`), name →
    /// value, as the planner's estimates take them: `{ n_distinct: -1 }` (every value
    /// distinct), `n_distinct_inherited` (the same across a table's children). Absent:
    /// none, as `CREATE TABLE` leaves it.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, ParameterValue>,
    /// `COMMENT ON COLUMN`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the column holds. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The column holds secrets or personal data (password hashes, tokens, IP addresses):
    /// the report's access-control section lists every role that can read it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl ColumnSpec {
    /// Whether the type is one of PostgreSQL's serial shorthands, which create a sequence
    /// the column owns.
    pub fn is_serial(&self) -> bool {
        matches!(
            self.type_.to_ascii_lowercase().as_str(),
            "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
        )
    }

    /// Whether the column owns a sequence: a serial or an identity column.
    pub fn owns_sequence(&self) -> bool {
        self.is_serial() || self.identity.is_some()
    }
}

/// The serial and identity columns of a set of relation specs, by relation key: the
/// sequences those columns own are described by them, not by a schema document. Made once
/// per run, so that thousands of sequences are not each searched for spec by spec.
#[derive(Debug, Default)]
pub struct SequenceOwners<'a> {
    columns: std::collections::HashMap<String, Vec<&'a str>>,
}

impl<'a> SequenceOwners<'a> {
    /// The owning columns of `tables`.
    pub fn of(tables: impl IntoIterator<Item = &'a TableSpec>) -> Self {
        let mut columns: std::collections::HashMap<String, Vec<&'a str>> =
            std::collections::HashMap::new();
        for t in tables {
            for (name, c) in &t.columns {
                if c.owns_sequence() {
                    columns
                        .entry(crate::catalog::relation_key(&t.schema, &t.table))
                        .or_default()
                        .push(name.as_str());
                }
            }
        }
        SequenceOwners { columns }
    }

    /// Whether a column of these specs owns `sequence`.
    pub fn describe(&self, sequence: &crate::catalog::Sequence) -> bool {
        sequence.owner.as_ref().is_some_and(|o| {
            self.columns
                .get(&o.table)
                .is_some_and(|cols| cols.contains(&o.column.as_str()))
        })
    }
}

/// How a generated column keeps its values (`attgenerated`).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GeneratedKind {
    /// `GENERATED ALWAYS AS (…) STORED`: computed when a row is written, and stored.
    #[default]
    Stored,
    /// `GENERATED ALWAYS AS (…) VIRTUAL`: computed when read (PostgreSQL 18 and later).
    Virtual,
}

impl GeneratedKind {
    /// `attgenerated` of this kind.
    pub fn code(&self) -> char {
        match self {
            GeneratedKind::Stored => 's',
            GeneratedKind::Virtual => 'v',
        }
    }

    /// The SQL keyword.
    pub fn sql(&self) -> &'static str {
        match self {
            GeneratedKind::Stored => "STORED",
            GeneratedKind::Virtual => "VIRTUAL",
        }
    }
}

/// A relation's replica identity (`pg_class.relreplident`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(remote = "Self", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "ReplicaIdentity")]
pub enum ReplicaIdentity {
    /// `DEFAULT`: the primary key's columns, none without a primary key.
    Default,
    /// `FULL`: every column of the old row.
    Full,
    /// `NOTHING`: no old row; UPDATE and DELETE fail on a published table.
    Nothing,
    /// `USING INDEX`: the columns of this unique index of the relation (its name, in the
    /// relation's schema).
    Index(String),
}

super::tagged::tagged_enum!(
    ReplicaIdentity: "a replica identity: `default`, `full`, `nothing` or `{ index: <name> }`",
    Rule: "a CHECK rule: a one-key mapping such as `{ sql: <expression> }`",
);

impl ReplicaIdentity {
    /// `relreplident` of this identity.
    pub fn code(&self) -> char {
        match self {
            ReplicaIdentity::Default => 'd',
            ReplicaIdentity::Full => 'f',
            ReplicaIdentity::Nothing => 'n',
            ReplicaIdentity::Index(_) => 'i',
        }
    }

    /// The identity of a `relreplident` code and, for `i`, the index marked
    /// `indisreplident` (`None` when that index is gone).
    pub fn from_code(code: char, index: Option<&str>) -> Option<Self> {
        match code {
            'd' => Some(ReplicaIdentity::Default),
            'f' => Some(ReplicaIdentity::Full),
            'n' => Some(ReplicaIdentity::Nothing),
            'i' => index.map(|i| ReplicaIdentity::Index(i.to_string())),
            _ => None,
        }
    }

    /// What follows `REPLICA IDENTITY` in `ALTER TABLE`.
    pub fn sql(&self) -> String {
        match self {
            ReplicaIdentity::Default => "DEFAULT".into(),
            ReplicaIdentity::Full => "FULL".into(),
            ReplicaIdentity::Nothing => "NOTHING".into(),
            ReplicaIdentity::Index(i) => {
                format!("USING INDEX {}", crate::sql::quote_ident(i))
            }
        }
    }

    /// How a spec writes it: `full`, `{ index: users_email_key }`.
    pub fn key(&self) -> String {
        match self {
            ReplicaIdentity::Default => "default".into(),
            ReplicaIdentity::Full => "full".into(),
            ReplicaIdentity::Nothing => "nothing".into(),
            ReplicaIdentity::Index(i) => format!("{{ index: {i} }}"),
        }
    }
}

/// A column's storage strategy (`attstorage`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ColumnStorage {
    /// `PLAIN`: in line, never compressed.
    Plain,
    /// `EXTERNAL`: out of line when large, never compressed.
    External,
    /// `EXTENDED`: compressed, then out of line when still large.
    Extended,
    /// `MAIN`: compressed, out of line only as a last resort.
    Main,
}

impl ColumnStorage {
    /// `attstorage` of this strategy.
    pub fn code(&self) -> char {
        match self {
            ColumnStorage::Plain => 'p',
            ColumnStorage::External => 'e',
            ColumnStorage::Extended => 'x',
            ColumnStorage::Main => 'm',
        }
    }

    /// The strategy of an `attstorage` code.
    pub fn from_code(code: char) -> Option<Self> {
        match code {
            'p' => Some(ColumnStorage::Plain),
            'e' => Some(ColumnStorage::External),
            'x' => Some(ColumnStorage::Extended),
            'm' => Some(ColumnStorage::Main),
            _ => None,
        }
    }

    /// The SQL keyword.
    pub fn sql(&self) -> &'static str {
        match self {
            ColumnStorage::Plain => "PLAIN",
            ColumnStorage::External => "EXTERNAL",
            ColumnStorage::Extended => "EXTENDED",
            ColumnStorage::Main => "MAIN",
        }
    }
}

/// A column's compression method (`attcompression`, PostgreSQL 14 and later).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ColumnCompression {
    /// `pglz`, PostgreSQL's own.
    Pglz,
    /// `lz4`, when the server was built with it.
    Lz4,
}

impl ColumnCompression {
    /// `attcompression` of this method.
    pub fn code(&self) -> char {
        match self {
            ColumnCompression::Pglz => 'p',
            ColumnCompression::Lz4 => 'l',
        }
    }

    /// The method of an `attcompression` code.
    pub fn from_code(code: char) -> Option<Self> {
        match code {
            'p' => Some(ColumnCompression::Pglz),
            'l' => Some(ColumnCompression::Lz4),
            _ => None,
        }
    }

    /// The method's name, as SQL writes it.
    pub fn sql(&self) -> &'static str {
        match self {
            ColumnCompression::Pglz => "pglz",
            ColumnCompression::Lz4 => "lz4",
        }
    }
}

/// How an identity column generates its values.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// `GENERATED ALWAYS AS IDENTITY`: an explicit value needs `OVERRIDING SYSTEM VALUE`.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`: an explicit value wins.
    ByDefault,
}

impl IdentityKind {
    /// `attidentity` of this kind.
    pub fn code(&self) -> char {
        match self {
            IdentityKind::Always => 'a',
            IdentityKind::ByDefault => 'd',
        }
    }

    /// The SQL spelling.
    pub fn sql(&self) -> &'static str {
        match self {
            IdentityKind::Always => "ALWAYS",
            IdentityKind::ByDefault => "BY DEFAULT",
        }
    }
}

/// Options of a sequence. Each absent option means PostgreSQL's default for the
/// sequence's type and direction.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SequenceOptions {
    /// START WITH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// INCREMENT BY (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increment: Option<i64>,
    /// MINVALUE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// MAXVALUE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// CACHE (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<i64>,
    /// CYCLE (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cycle: bool,
}

impl SequenceOptions {
    /// The options as SQL (`START WITH 5 INCREMENT BY 2 …`); empty for the defaults.
    pub fn sql(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = self.increment {
            parts.push(format!("INCREMENT BY {v}"));
        }
        if let Some(v) = self.min {
            parts.push(format!("MINVALUE {v}"));
        }
        if let Some(v) = self.max {
            parts.push(format!("MAXVALUE {v}"));
        }
        if let Some(v) = self.start {
            parts.push(format!("START WITH {v}"));
        }
        if let Some(v) = self.cache {
            parts.push(format!("CACHE {v}"));
        }
        if self.cycle {
            parts.push("CYCLE".into());
        }
        parts.join(" ")
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// One storage parameter's value as a spec writes it: a boolean, a number or a word.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ParameterValue {
    /// `autovacuum_enabled: false`.
    Boolean(bool),
    /// `fillfactor: 70`.
    Integer(i64),
    /// `autovacuum_vacuum_scale_factor: 0.05`.
    Number(f64),
    /// `vacuum_index_cleanup: auto`.
    Word(String),
}

impl ParameterValue {
    /// The value as `SET (name = value)` takes it.
    pub fn text(&self) -> String {
        match self {
            ParameterValue::Boolean(b) => b.to_string(),
            ParameterValue::Integer(i) => i.to_string(),
            ParameterValue::Number(n) => n.to_string(),
            ParameterValue::Word(w) => w.clone(),
        }
    }
}

/// A view's options (`CREATE VIEW … WITH (…)`), which decide whose privileges and row
/// security its rows are read with, and what it lets through.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ViewOptions {
    /// `security_barrier`: the view's own conditions run before any the caller adds, so a
    /// leaky function of the caller's cannot see the rows they hide.
    #[serde(default, skip_serializing_if = "is_false")]
    pub security_barrier: bool,
    /// `security_invoker` (PostgreSQL 15 on): the tables are read with the caller's
    /// privileges and row security, not the view owner's.
    #[serde(default, skip_serializing_if = "is_false")]
    pub security_invoker: bool,
    /// `WITH [LOCAL | CASCADED] CHECK OPTION`: a row written through the view must satisfy
    /// its condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_option: Option<CheckOption>,
}

impl ViewOptions {
    /// No option set: how a spec that gives none reads.
    pub fn is_none(&self) -> bool {
        *self == ViewOptions::default()
    }

    /// The options of a view's `reloptions` as the catalog read gives them (an unknown
    /// one is left out; [`Self::as_reloptions`] then differs from them).
    pub fn from_reloptions(reloptions: &[String]) -> ViewOptions {
        let mut out = ViewOptions::default();
        for o in reloptions {
            match o.split_once('=') {
                Some(("security_barrier", "true")) => out.security_barrier = true,
                Some(("security_invoker", "true")) => out.security_invoker = true,
                Some(("check_option", c)) => out.check_option = CheckOption::parse(c),
                _ => {}
            }
        }
        out
    }

    /// The options as the catalog read gives a view's: `name=value`, sorted, the false
    /// booleans left out.
    pub fn as_reloptions(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = self.check_option {
            out.push(format!("check_option={}", c.sql()));
        }
        if self.security_barrier {
            out.push("security_barrier=true".into());
        }
        if self.security_invoker {
            out.push("security_invoker=true".into());
        }
        out
    }
}

/// Which views' conditions a view's CHECK OPTION applies.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckOption {
    /// `LOCAL`: this view's condition only.
    Local,
    /// `CASCADED`: this view's and those of the views it is built on.
    Cascaded,
}

impl CheckOption {
    /// The value as `reloptions` stores it.
    pub fn sql(&self) -> &'static str {
        match self {
            CheckOption::Local => "local",
            CheckOption::Cascaded => "cascaded",
        }
    }

    /// Read a stored value.
    pub fn parse(text: &str) -> Option<CheckOption> {
        match text {
            "local" => Some(CheckOption::Local),
            "cascaded" => Some(CheckOption::Cascaded),
            _ => None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A primary key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Constraint name; defaults to `<table>_pkey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key columns in order.
    pub columns: Vec<String>,
    /// Columns the constraint's index carries besides its keys (`INCLUDE (…)`), in
    /// order; absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Storage parameters of the constraint's index (`WITH (…)`, `ALTER INDEX … SET (…)`), name →
    /// value: `{ fillfactor: 70 }`, a GIN index's `{ fastupdate: false }`, a B-tree's
    /// `{ deduplicate_items: false }`. Absent: none, PostgreSQL's defaults.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    /// DEFERRABLE (default: NOT DEFERRABLE). A deferrable key is checked at the end of
    /// the statement or transaction instead of row by row, and `INSERT … ON CONFLICT`
    /// cannot use it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    /// INITIALLY DEFERRED (default: INITIALLY IMMEDIATE); requires `deferrable`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
    /// `COMMENT ON CONSTRAINT`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A UNIQUE constraint.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UniqueSpec {
    /// Key columns in order.
    pub columns: Vec<String>,
    /// Columns the constraint's index carries besides its keys (`INCLUDE (…)`), in
    /// order; absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Storage parameters of the constraint's index (`WITH (…)`, `ALTER INDEX … SET (…)`), name →
    /// value: `{ fillfactor: 70 }`, a GIN index's `{ fastupdate: false }`, a B-tree's
    /// `{ deduplicate_items: false }`. Absent: none, PostgreSQL's defaults.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15 on): rows whose keys are NULL count as equal,
    /// so only one may exist. Absent or false: NULLs are distinct, the default.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nulls_not_distinct: bool,
    /// DEFERRABLE (default: NOT DEFERRABLE). A deferrable constraint is checked at the end
    /// of the statement or transaction instead of row by row, and `INSERT … ON CONFLICT`
    /// cannot use it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    /// INITIALLY DEFERRED (default: INITIALLY IMMEDIATE); requires `deferrable`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
    /// `COMMENT ON CONSTRAINT`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a foreign key does when the referenced row is deleted or updated.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// `NO ACTION` (the SQL default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL spelling, for messages.
    pub fn sql(&self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeySpec {
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// The referenced table and columns.
    pub references: Reference,
    /// Action on delete of the referenced row.
    #[serde(default)]
    pub on_delete: FkAction,
    /// With `on_delete: set_null` or `set_default`, the columns the action sets (`ON
    /// DELETE SET NULL (b)`, PostgreSQL 15 on), a part of `columns`; absent: every column
    /// of the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_delete_columns: Vec<String>,
    /// Action on update of the referenced key.
    #[serde(default)]
    pub on_update: FkAction,
    /// DEFERRABLE (default: NOT DEFERRABLE).
    #[serde(default)]
    pub deferrable: bool,
    /// INITIALLY DEFERRED (default: INITIALLY IMMEDIATE); requires `deferrable`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// `MATCH FULL` (default: `MATCH SIMPLE`): a row whose key columns are some NULL and
    /// some not is refused instead of left unchecked. For a key of one column the two are
    /// the same.
    #[serde(default, rename = "match", skip_serializing_if = "FkMatch::is_simple")]
    pub match_type: FkMatch,
    /// Whether existing rows have been checked (default true). `false` declares a key
    /// added `NOT VALID` that is still being rolled out; it then passes validated or not.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub validated: bool,
    /// Whether PostgreSQL enforces the key (default true). `false` declares a key made
    /// `NOT ENFORCED` (PostgreSQL 18 and later): informational, checked against no row, old
    /// or new. Compared as `fk.enforcement`; before PostgreSQL 18 every key is enforced, so
    /// `false` fails there.
    // Always serialised, never skipped (`spec snapshot` leaves the default out when it
    // prunes what it writes).
    #[serde(default = "yes")]
    pub enforced: bool,
    /// `COMMENT ON CONSTRAINT`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// How a foreign key treats a referencing row whose key columns are partly NULL.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FkMatch {
    /// `MATCH SIMPLE` (the default): such a row is not checked.
    #[default]
    Simple,
    /// `MATCH FULL`: such a row is refused.
    Full,
}

impl FkMatch {
    /// The match a foreign key of the catalog read has (`match_full`: `MATCH FULL`).
    pub fn of(match_full: bool) -> FkMatch {
        if match_full {
            FkMatch::Full
        } else {
            FkMatch::Simple
        }
    }

    /// The default, which a spec leaves out.
    pub fn is_simple(&self) -> bool {
        *self == FkMatch::Simple
    }

    /// The SQL spelling, for messages.
    pub fn sql(&self) -> &'static str {
        match self {
            FkMatch::Simple => "MATCH SIMPLE",
            FkMatch::Full => "MATCH FULL",
        }
    }
}

/// The target of a foreign key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The referenced table's schema; absent means the referencing table's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Referenced table.
    pub table: String,
    /// Referenced columns, in order.
    pub columns: Vec<String>,
}

/// A CHECK constraint and the rule it enforces.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// The rule, structured so that probes can test both sides of every boundary.
    pub rule: Rule,
    /// Whether existing rows have been checked (default true). `false` declares a CHECK
    /// added `NOT VALID` that is still being rolled out; it then passes validated or not.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub validated: bool,
    /// Whether PostgreSQL enforces the CHECK (default true). `false` declares a CHECK made
    /// `NOT ENFORCED` (PostgreSQL 18 and later): informational, checked against no row, old
    /// or new; it is then not probed. Compared as `check.enforcement`; before PostgreSQL 18
    /// every CHECK is enforced, so `false` fails there.
    // Always serialised, never skipped (`spec snapshot` leaves the default out when it
    // prunes what it writes).
    #[serde(default = "yes")]
    pub enforced: bool,
    /// `NO INHERIT`: tables that inherit from this one (`INHERITS`, `ALTER TABLE …
    /// INHERIT`) do not get the CHECK. Default false; a partitioned table cannot have one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_inherit: bool,
    /// `COMMENT ON CONSTRAINT`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The requirement in words, as the seed states it. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A structured CHECK rule. Each variant compiles to one SQL expression (see `spec::rule`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(remote = "Self", rename_all = "snake_case")]
#[schemars(rename = "Rule")]
pub enum Rule {
    /// A numeric range on one column: any of `gt`, `gte`, `lt`, `lte`.
    Range(RangeRule),
    /// The column's value is one of a fixed list.
    OneOf(OneOfRule),
    /// The column matches a POSIX regular expression.
    Regex(RegexRule),
    /// A date or timestamp column is not later than now (plus an optional buffer).
    NotFuture(NotFutureRule),
    /// One column compared with another: `left op right`.
    Compare(CompareRule),
    /// When `when` holds, `then` must hold: `NOT (when) OR (then)`.
    Implies(ImpliesRule),
    /// A text column is not empty after trimming white space.
    NotBlank(ColumnRef),
    /// Any SQL boolean expression, where nothing structured fits.
    Sql(String),
}

/// Bounds on a numeric column. A bound given as `*_sql` is an SQL expression.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RangeRule {
    /// The constrained column.
    pub column: String,
    /// Exclusive lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Inclusive lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Exclusive upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Inclusive upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// Inclusive upper bound computed by SQL, e.g. `EXTRACT(YEAR FROM CURRENT_DATE) + 5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte_sql: Option<String>,
}

/// A fixed list of allowed values.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OneOfRule {
    /// The constrained column.
    pub column: String,
    /// Allowed values, in the order the constraint lists them.
    pub values: Vec<String>,
}

/// A regular-expression match.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegexRule {
    /// The constrained column.
    pub column: String,
    /// A POSIX regular expression as PostgreSQL's `~` understands it.
    pub pattern: String,
    /// Match case-insensitively (`~*`).
    #[serde(default)]
    pub case_insensitive: bool,
}

/// A date or timestamp that must not lie in the future.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotFutureRule {
    /// The constrained column.
    pub column: String,
    /// Grace period as a PostgreSQL interval, e.g. `1 minute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<String>,
}

/// A comparison operator between two columns.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum CompareOp {
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less than or equal.
    #[serde(rename = "<=")]
    Le,
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// Greater than or equal.
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    /// The SQL operator.
    pub fn sql(&self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// `left op right` between two columns of the same row.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompareRule {
    /// The constrained column.
    pub left: String,
    /// The operator.
    pub op: CompareOp,
    /// The column it is compared with.
    pub right: String,
    /// Write the NULL case out as the constraint does: `left IS NULL OR left op right`.
    /// (A CHECK passes on NULL either way; this only matches how it is written.)
    #[serde(default)]
    pub or_left_null: bool,
}

/// An implication between two SQL conditions on the same row.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImpliesRule {
    /// The condition, as SQL.
    pub when: String,
    /// What must hold when the condition does, as SQL.
    pub then: String,
}

/// A reference to one column.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnRef {
    /// The constrained column.
    pub column: String,
}

/// Index access methods.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IndexMethod {
    /// B-tree (the default).
    #[default]
    Btree,
    /// Hash.
    Hash,
    /// GIN, for JSONB and arrays.
    Gin,
    /// GiST.
    Gist,
    /// BRIN.
    Brin,
    /// SP-GiST.
    Spgist,
}

impl IndexMethod {
    /// The access method's name in `pg_am`.
    pub fn am_name(&self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
            IndexMethod::Brin => "brin",
            IndexMethod::Spgist => "spgist",
        }
    }
}

/// An index.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexSpec {
    /// Keys in order, each written as in `CREATE INDEX`: a column or an expression,
    /// optionally followed by `COLLATE collation`, an operator class, and `DESC`,
    /// `NULLS FIRST` or `NULLS LAST`, e.g. `timestamp DESC`, `lower(email)`,
    /// `labels jsonb_path_ops`, `status COLLATE "C"`. A key without `COLLATE` or operator
    /// class means the defaults.
    pub keys: Vec<String>,
    /// INCLUDE (non-key) columns, in order. Empty means none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Storage parameters of the index (`WITH (…)`, `ALTER INDEX … SET (…)`), name →
    /// value: `{ fillfactor: 70 }`, a GIN index's `{ fastupdate: false }`, a B-tree's
    /// `{ deduplicate_items: false }`. Absent: none, PostgreSQL's defaults.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, ParameterValue>,
    /// Whether the index is UNIQUE.
    #[serde(default)]
    pub unique: bool,
    /// `NULLS NOT DISTINCT` for a UNIQUE index (PostgreSQL 15 on): rows whose keys are
    /// NULL count as equal. Absent or false: NULLs are distinct, the default.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nulls_not_distinct: bool,
    /// Access method.
    #[serde(default, skip_serializing_if = "is_btree")]
    pub method: IndexMethod,
    /// Partial-index predicate as SQL.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// The statistics targets of expression keys (`ALTER INDEX … ALTER COLUMN <n> SET
    /// STATISTICS <target>`), by the key's number in `keys` from 1: `{ 2: 500 }`. Absent:
    /// none of their own, so `default_statistics_target` applies. A key that is a plain
    /// column has none (the column's `statistics` stands for it).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub statistics: IndexMap<u16, i32>,
    /// `COMMENT ON INDEX`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the index is for. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn is_btree(m: &IndexMethod) -> bool {
    *m == IndexMethod::Btree
}

/// When a trigger fires relative to the statement.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TriggerTiming {
    /// BEFORE.
    Before,
    /// AFTER.
    After,
    /// INSTEAD OF.
    InsteadOf,
}

/// Events that fire a trigger.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum TriggerEvent {
    /// INSERT.
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
    /// TRUNCATE.
    Truncate,
}

/// Row-level or statement-level trigger.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TriggerLevel {
    /// FOR EACH ROW.
    #[default]
    Row,
    /// FOR EACH STATEMENT.
    Statement,
}

/// A trigger.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// BEFORE, AFTER or INSTEAD OF.
    pub timing: TriggerTiming,
    /// The events that fire it.
    pub events: Vec<TriggerEvent>,
    /// Row or statement level.
    #[serde(default)]
    pub level: TriggerLevel,
    /// The trigger function's name.
    pub function: String,
    /// The `WHEN` condition as SQL (`OLD.status IS DISTINCT FROM NEW.status`). Absent means
    /// the trigger fires unconditionally.
    #[serde(default, rename = "when", skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The columns of `UPDATE OF …`, in any order. Empty means an update of any column
    /// fires it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The arguments passed to the function, as strings (`EXECUTE FUNCTION f('a', 'b')`).
    /// Empty means none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// `REFERENCING OLD TABLE AS name`: the transition table an AFTER trigger's function
    /// reads the rows before from. Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_table: Option<String>,
    /// `REFERENCING NEW TABLE AS name`: the transition table of the rows after. Absent:
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_table: Option<String>,
    /// `ENABLE ALWAYS`: the trigger fires in replica-mode sessions too (logical
    /// replication's apply, a role set to `session_replication_role = replica`). Default
    /// false: it fires in ordinary sessions only, as `CREATE TRIGGER` leaves it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub always: bool,
    /// `CREATE CONSTRAINT TRIGGER`: fired at the end of the statement, or (deferred) at
    /// commit, instead of right after each row. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub constraint: bool,
    /// A constraint trigger's DEFERRABLE (default: NOT DEFERRABLE).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    /// A constraint trigger's INITIALLY DEFERRED; requires `deferrable`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
    /// `COMMENT ON TRIGGER`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the trigger does. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Function volatility.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Volatility {
    /// IMMUTABLE.
    Immutable,
    /// STABLE.
    Stable,
    /// VOLATILE.
    Volatile,
}

/// Function or procedure.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoutineKind {
    /// `CREATE FUNCTION` (the default).
    #[default]
    Function,
    /// `CREATE PROCEDURE`, invoked with `CALL`.
    Procedure,
    /// `CREATE AGGREGATE`.
    Aggregate,
}

impl RoutineKind {
    fn is_function(&self) -> bool {
        *self == RoutineKind::Function
    }

    /// `function` or `procedure`, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            RoutineKind::Function => "function",
            RoutineKind::Procedure => "procedure",
            RoutineKind::Aggregate => "aggregate",
        }
    }
}

/// A function or procedure, keyed in its spec by `name(argtype, …)`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// A function (default) or a procedure.
    #[serde(default, skip_serializing_if = "RoutineKind::is_function")]
    pub kind: RoutineKind,
    /// Return type as PostgreSQL prints it: `void`, `boolean`, `trigger`,
    /// `TABLE(col type, …)`, `SETOF …`. A procedure returns `void`.
    pub returns: String,
    /// The full argument list as `pg_get_function_arguments` prints it, with names, modes
    /// and defaults: `p_days_to_keep integer DEFAULT 90`. Compared after canonicalisation
    /// (casts on literals do not matter). Absent means not checked beyond the argument
    /// types in the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Implementation language: `plpgsql`, `sql`, …
    pub language: String,
    /// IMMUTABLE, STABLE or VOLATILE.
    pub volatility: Volatility,
    /// STRICT (RETURNS NULL ON NULL INPUT).
    #[serde(default)]
    pub strict: bool,
    /// SECURITY DEFINER.
    #[serde(default)]
    pub security_definer: bool,
    /// Owner and EXECUTE grants. Absent: PostgreSQL's default (PUBLIC may execute), owned
    /// by the migrating role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<ObjectPrivileges>,
    /// Built-in security findings that are intended here, each with the reason shown in
    /// the report: check code → reason, e.g.
    /// `security.definer_public_execute: login runs before authentication`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub acknowledge: IndexMap<String, String>,
    /// `SET` options, name → value as in `SET name = value`:
    /// `{ search_path: "public, pg_temp" }`. Empty means none.
    #[serde(default, rename = "set", skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, String>,
    /// LEAKPROOF (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub leakproof: bool,
    /// PARALLEL SAFE, RESTRICTED or UNSAFE (the default).
    #[serde(default, skip_serializing_if = "Parallel::is_unsafe")]
    pub parallel: Parallel,
    /// COST, the planner's estimate; compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// ROWS, the planner's estimate for a set-returning function; compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<f64>,
    /// For an aggregate: its state transition function (`SFUNC`), compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_function: Option<String>,
    /// For an aggregate: its state type (`STYPE`), compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_type: Option<String>,
    /// For an aggregate: its final function (`FINALFUNC`); compared when `state_function`
    /// is present (absent then means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_function: Option<String>,
    /// For an aggregate: its initial state (`INITCOND`); compared like `final_function`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_state: Option<String>,
    /// For an aggregate: its other `CREATE AGGREGATE` options, by their lower-case names
    /// (`msfunc`, `minvfunc`, `mstype`, `minitcond`, `mfinalfunc`, `combinefunc`,
    /// `serialfunc`, `deserialfunc`, `sortop`, `finalfunc_modify`, …); compared like
    /// `final_function` (absent means none: PostgreSQL's defaults).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub aggregate_options: std::collections::BTreeMap<String, String>,
    /// `COMMENT ON FUNCTION`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the function does. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Whether a function may run in parallel workers.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Parallel {
    /// PARALLEL SAFE.
    Safe,
    /// PARALLEL RESTRICTED.
    Restricted,
    /// PARALLEL UNSAFE (the default).
    #[default]
    Unsafe,
}

impl Parallel {
    fn is_unsafe(&self) -> bool {
        *self == Parallel::Unsafe
    }

    /// `proparallel` of this setting.
    pub fn code(&self) -> char {
        match self {
            Parallel::Safe => 's',
            Parallel::Restricted => 'r',
            Parallel::Unsafe => 'u',
        }
    }

    /// The setting in words, from `proparallel`.
    pub fn name_of(code: char) -> &'static str {
        match code {
            's' => "safe",
            'r' => "restricted",
            _ => "unsafe",
        }
    }
}
