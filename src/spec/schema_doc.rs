//! The schema document: a spec file whose top-level key is `schema:` instead of `table:`.
//! It states what a PostgreSQL schema holds besides its relations: extensions, types
//! (enums and domains), standalone sequences and functions, and the schema's comment.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::FunctionSpec;

/// One schema document: the schema-level objects of one PostgreSQL schema.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    /// The schema's name, e.g. `public`.
    pub schema: String,
    /// What the schema is for, in a sentence. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Business requirements the schema-level objects serve (`BR-NNN`, e.g. `BR-001`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// `COMMENT ON SCHEMA`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The schema's owner and grants (`USAGE`, `CREATE`). Absent: what a fresh database
    /// has, i.e. for `public` on PostgreSQL 15 and later `{ owner: pg_database_owner,
    /// public: [usage] }` (before 15: owned by the bootstrap superuser, `public: [usage,
    /// create]`), and for any other schema `{ owner: $migrator, public: [] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<super::privileges::ObjectPrivileges>,
    /// Object kinds in which objects absent from the specs are tolerated instead of
    /// reported as drift.
    #[serde(default, skip_serializing_if = "SchemaAllowExtra::is_strict")]
    pub allow_extra: SchemaAllowExtra,
    /// Extensions whose objects live in this schema, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extensions: IndexMap<String, ExtensionSpec>,
    /// Enums and domains, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub types: IndexMap<String, TypeSpec>,
    /// Sequences that no column owns (a sequence owned by a serial or identity column is
    /// described by that column), by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sequences: IndexMap<String, SequenceSpec>,
    /// Functions and procedures that belong with no relation, keyed by signature:
    /// `name(argtype, …)`. A function may equally be listed in a relation spec.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub functions: IndexMap<String, FunctionSpec>,
    /// Roles whose sessions on the database are meant to start with
    /// `session_replication_role = replica`, in which ordinary triggers and foreign keys do
    /// not fire (a replication or bulk-load role), each with the reason. `public` stands
    /// for a setting of every role's sessions (`ALTER DATABASE … SET`, the server's
    /// configuration). Absent: no session starts in replica mode.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub replica_sessions: IndexMap<String, String>,
}

/// Schema-level object kinds for which extra, unspecified objects are allowed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SchemaAllowExtra {
    /// Tolerate relations that no spec describes.
    #[serde(default)]
    pub relations: bool,
    /// Tolerate extensions that no schema document lists.
    #[serde(default)]
    pub extensions: bool,
    /// Tolerate enums and domains that no schema document lists.
    #[serde(default)]
    pub types: bool,
    /// Tolerate standalone sequences that no schema document lists.
    #[serde(default)]
    pub sequences: bool,
    /// Tolerate functions, procedures and aggregates that no spec lists.
    #[serde(default)]
    pub functions: bool,
    /// Tolerate objects of kinds the spec format cannot describe (rules, operators,
    /// collations, text search objects, foreign tables, …), which are otherwise reported.
    #[serde(default)]
    pub other: bool,
}

impl SchemaAllowExtra {
    fn is_strict(&self) -> bool {
        *self == SchemaAllowExtra::default()
    }
}

/// An extension, as `CREATE EXTENSION name [VERSION v]` installs it into the document's
/// schema.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtensionSpec {
    /// The installed version (`pg_extension.extversion`), compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What the extension is needed for. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An enum, a domain or a composite type. Exactly one of `enum`, `domain` and
/// `composite` is given.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TypeSpec {
    /// An enum's labels, in their sort order.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_labels: Option<Vec<String>>,
    /// A domain's base type as you would write it (`integer`, `varchar(20)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// A composite type's attributes in order, name → type (`CREATE TYPE … AS (…)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<IndexMap<String, String>>,
    /// A domain's nullability (`NOT NULL` on the domain). Defaults to true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub nullable: bool,
    /// A domain's default expression as SQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A domain's collation when it is not its base type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// A domain's CHECK constraints by name, each an SQL expression on `VALUE`. The
    /// constraints PostgreSQL attaches to every domain are listed; none is implied.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub checks: IndexMap<String, DomainCheckSpec>,
    /// Owner and grants (`usage`). Absent: PostgreSQL's default: owned by `$migrator`, and
    /// PUBLIC may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<super::privileges::ObjectPrivileges>,
    /// `COMMENT ON TYPE` / `COMMENT ON DOMAIN`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the type is for. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A CHECK constraint of a domain.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DomainCheckSpec {
    /// The condition as SQL, on `VALUE`: `VALUE >= 1901 AND VALUE <= 2155`.
    pub sql: String,
    /// Whether the constraint has been validated against existing data. Defaults to true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub validated: bool,
}

/// A sequence.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// `smallint`, `integer` or `bigint` (the default, as in SQL).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// START WITH. Like every option below, absent means PostgreSQL's default for the
    /// type and direction, and every option is compared.
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
    /// UNLOGGED (PostgreSQL 15 on; default false): not written to the WAL, and after a
    /// crash it starts again from START.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// `OWNED BY table.column`: the column whose drop drops the sequence. Absent means
    /// owned by no column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    /// `COMMENT ON SEQUENCE`, compared when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Owner and grants (`USAGE`, `SELECT`, `UPDATE`). Absent: PostgreSQL's default, owned
    /// by the migrating role, nothing granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<super::privileges::ObjectPrivileges>,
    /// What the sequence numbers. Free documentation, never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl SequenceSpec {
    /// The options part of `CREATE SEQUENCE` for this spec.
    pub fn options(&self) -> super::model::SequenceOptions {
        super::model::SequenceOptions {
            start: self.start,
            increment: self.increment,
            min: self.min,
            max: self.max,
            cache: self.cache,
            cycle: self.cycle,
        }
    }
}
