//! The introspected schema: plain data, no connection, easy to compare and to serialise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::names::{
    key_in, owned_by_text, parse_owned_by, parse_qualified, qualified_name, relation_key,
};

/// Everything the verifier needs to know about the checked schemas of one database.
/// Objects owned by extensions are left out: the extension stands for them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Schema {
    /// `SHOW server_version`.
    pub server_version: String,
    /// The checked schemas, with their comments.
    pub namespaces: Vec<Namespace>,
    /// Relations by [`relation_key`]: the bare name in `public`, `schema.name` elsewhere.
    pub relations: BTreeMap<String, Relation>,
    /// Functions, procedures and aggregates.
    pub functions: Vec<Function>,
    /// Enums, domains and composite types.
    pub types: Vec<TypeDef>,
    /// Sequences, including those owned by serial and identity columns.
    pub sequences: Vec<Sequence>,
    /// Every extension of the database, whichever schema it lives in.
    pub extensions: Vec<Extension>,
    /// Objects of kinds that specs cannot describe (rules, operators, collations, …).
    pub other_objects: Vec<OtherObject>,
    /// Objects of the database that belong to no schema and that neither PostgreSQL nor
    /// an extension made (event triggers, publications, casts, …).
    #[serde(default)]
    pub database_objects: Vec<DatabaseObject>,
    /// The schemas of the database that were not read (no spec, schema document or
    /// `--schema` names them), but PostgreSQL's own (`pg_catalog`, `information_schema`,
    /// `pg_toast`, the temporary schemas) and those an extension made.
    #[serde(default)]
    pub unread_schemas: Vec<UnreadSchema>,
    /// Owners, ACLs, roles and row-level security (see `catalog::acl`).
    pub access: super::acl::Access,
}

impl Schema {
    /// The relation `schema.name`, if read.
    pub fn relation(&self, schema: &str, name: &str) -> Option<&Relation> {
        self.relations.get(&relation_key(schema, name))
    }

    /// A checked schema by name.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }
}

/// One checked schema.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Namespace {
    /// The name.
    pub name: String,
    /// `COMMENT ON SCHEMA`.
    pub comment: Option<String>,
}

/// A table or (materialized) view.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Relation {
    /// The schema that holds it.
    pub schema: String,
    /// The name.
    pub name: String,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `m` materialized view, `v` view.
    pub kind: char,
    /// `COMMENT ON …`.
    pub comment: Option<String>,
    /// For a view or materialized view, its query as `pg_get_viewdef(oid, true)` prints it.
    pub definition: Option<String>,
    /// For a partitioned table, `pg_get_partkeydef`: `RANGE (payment_date)`.
    pub partition_key: Option<String>,
    /// For a partition, its parent: (schema, name).
    pub partition_of: Option<(String, String)>,
    /// For a table, partitioned table or materialized view: its storage parameters and
    /// its TOAST table's (prefixed `toast.`), as [`storage_parameters`] reads them.
    #[serde(default)]
    pub parameters: Vec<String>,
    /// The tables it inherits from (`INHERITS`, `ALTER TABLE … INHERIT`), not as a
    /// partition: (schema, name), in `inhseqno` order.
    #[serde(default)]
    pub inherits: Vec<(String, String)>,
    /// For a partition, its bound: `FOR VALUES FROM (…) TO (…)`.
    pub partition_bound: Option<String>,
    /// UNLOGGED (`relpersistence = 'u'`).
    pub unlogged: bool,
    /// A materialized view never filled, or emptied by `REFRESH … WITH NO DATA`
    /// (`relispopulated` false): every read of it fails. False for other kinds.
    #[serde(default)]
    pub unpopulated: bool,
    /// `relreplident`: `d` DEFAULT, `f` FULL, `n` NOTHING, `i` USING INDEX (a view's is
    /// `n`).
    #[serde(default)]
    pub replica_identity: char,
    /// With `i`, the index marked `indisreplident`; `None` once that index is dropped.
    #[serde(default)]
    pub replica_index: Option<String>,
    /// The index marked `indisclustered` (`ALTER TABLE … CLUSTER ON`), which `CLUSTER`
    /// without an index name orders the table by; `None` when none is.
    #[serde(default)]
    pub cluster_index: Option<String>,
    /// A view's options (`security_barrier`, `security_invoker`, `check_option`) as
    /// `name=value`, sorted, a false boolean left out; empty for other kinds.
    #[serde(default)]
    pub view_options: Vec<String>,
    /// Columns in attribute order.
    pub columns: Vec<Column>,
    /// Constraints (PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK, EXCLUDE).
    pub constraints: Vec<Constraint>,
    /// Indexes, including those that back constraints.
    pub indexes: Vec<Index>,
    /// User triggers.
    pub triggers: Vec<Trigger>,
}

/// What a `pg_class.relkind` is called in messages: `table`, `view`…
pub fn relkind_name(kind: char) -> &'static str {
    match kind {
        'r' => "table",
        'p' => "partitioned table",
        'm' => "materialized view",
        'v' => "view",
        _ => "relation",
    }
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
    /// Whether the UNIQUE constraint `name` treats NULL keys as equal, read from the index
    /// that backs it (`NULLS NOT DISTINCT` is the index's, not the constraint's).
    /// The index behind constraint `name` (a PRIMARY KEY, UNIQUE or EXCLUDE).
    pub fn constraint_index(&self, name: &str) -> Option<&Index> {
        self.constraint(name)
            .and_then(|c| c.index_name.as_deref())
            .and_then(|i| self.index(i))
    }
    pub fn unique_nulls_not_distinct(&self, name: &str) -> bool {
        self.constraint(name)
            .and_then(|c| c.index_name.as_deref())
            .and_then(|i| self.index(i))
            .is_some_and(|i| i.nulls_not_distinct)
    }
}

/// A column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Column {
    /// The name.
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(255)`, printed with the
    /// catalog read's `search_path = public`: a type of `public` is bare (`mood`).
    pub type_name: String,
    /// The type qualified with its schema (`"public".mood`, `"public".mood[]`), when
    /// `type_name` leaves out a schema other than `pg_catalog`; see [`Column::type_sql`].
    pub qualified_type: Option<String>,
    /// For a column of a domain read with it, the type the domain stands for, through
    /// domains of domains (`numeric(12,2)` for an `amount` over `numeric(12,2)`), as
    /// `format_type` prints it; see [`Column::value_type`].
    pub domain_base: Option<String>,
    /// `NOT attnotnull`.
    pub nullable: bool,
    /// The name of the column's NOT NULL constraint when it was added `NOT VALID` and not
    /// validated since (PostgreSQL 18 and later): `attnotnull` is then true, yet rows
    /// already there may hold NULL.
    #[serde(default)]
    pub not_null_not_valid: Option<String>,
    /// `pg_get_expr(adbin, adrelid)`, e.g. `gen_random_uuid()`.
    pub default: Option<String>,
    /// The collation when it is not the type's default (`attcollation::regcollation`,
    /// e.g. `"C"`); `None` for the default or a type without collation.
    pub collation: Option<String>,
    /// For a generated column (`GENERATED ALWAYS AS (…) STORED`), its expression; the
    /// column then has no default.
    pub generated: Option<String>,
    /// For a generated column, `attgenerated`: `s` STORED, `v` VIRTUAL (PostgreSQL 18).
    #[serde(default)]
    pub generated_kind: Option<char>,
    /// `attidentity`: `a` GENERATED ALWAYS, `d` GENERATED BY DEFAULT AS IDENTITY.
    pub identity: Option<char>,
    /// `attstorage`: `p` PLAIN, `e` EXTERNAL, `x` EXTENDED, `m` MAIN.
    pub storage: char,
    /// The storage `CREATE TABLE` gives a column of its type (`typstorage` of the column's
    /// type, a domain's being its base type's).
    pub type_storage: char,
    /// `attcompression` when one is set: `p` pglz, `l` lz4. `None` when none is (the
    /// server's `default_toast_compression` applies) and on PostgreSQL 13, which has none.
    pub compression: Option<char>,
    /// `attstattarget` when one is set (`ALTER COLUMN … SET STATISTICS`); `None` at the
    /// default (`-1` before PostgreSQL 17, NULL from 17 on), where
    /// `default_statistics_target` applies.
    #[serde(default)]
    pub statistics: Option<i32>,
    /// `attoptions` (`ALTER COLUMN … SET (n_distinct = …)`) as `name=value`, sorted, a
    /// number in one spelling (the catalog read's `attribute_options`); empty when none is set.
    #[serde(default)]
    pub options: Vec<String>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
}

impl Column {
    /// The column's type as the SQL the probes send spells it in a cast: qualified unless
    /// it is `pg_catalog`'s. A bare `mood` would be resolved by the probing session's
    /// search path, which a migration may have set for its role (`ALTER ROLE … SET
    /// search_path = app, public`): an `app.mood` would then take the casts meant for
    /// `public.mood`.
    pub fn type_sql(&self) -> &str {
        self.qualified_type.as_deref().unwrap_or(&self.type_name)
    }

    /// The type of the values the column holds, for the probes that draw them: a domain's
    /// base type, else the column's own. A domain's name says nothing of its values (its
    /// scale, whether it is a whole number, text or a date).
    pub fn value_type(&self) -> &str {
        self.domain_base.as_deref().unwrap_or(&self.type_name)
    }
}

/// What kind of constraint (`pg_constraint.contype`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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

fn enforced_by_default() -> bool {
    true
}

/// A constraint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Constraint {
    /// The name.
    pub name: String,
    /// Its kind.
    pub kind: ConstraintKind,
    /// Constrained columns, in key order.
    pub columns: Vec<String>,
    /// `pg_get_constraintdef(oid, false)`, e.g. `CHECK ((occupancy_rate >= (0)::numeric))`.
    pub definition: String,
    /// For CHECK: the expression alone, `pg_get_expr(conbin, conrelid)`.
    pub expression: Option<String>,
    /// For FOREIGN KEY: the referenced table's schema.
    pub ref_schema: Option<String>,
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
    /// A foreign key declared `MATCH FULL` (`confmatchtype = 'f'`): a referencing row with
    /// some NULL key columns and others not is refused, where `MATCH SIMPLE` skips it.
    #[serde(default)]
    pub match_full: bool,
    /// DEFERRABLE (`condeferrable`).
    pub deferrable: bool,
    /// INITIALLY DEFERRED (`condeferred`).
    pub initially_deferred: bool,
    /// `convalidated`: false for a constraint added `NOT VALID` and not validated since.
    pub validated: bool,
    /// `conenforced` (PostgreSQL 18; always true before): false for a CHECK or FOREIGN
    /// KEY made `NOT ENFORCED`, which PostgreSQL keeps but never checks.
    #[serde(default = "enforced_by_default")]
    pub enforced: bool,
    /// Created by the parent of a partition or inheritance child, not by this table
    /// (`conparentid`, or an inherited CHECK that is not also local).
    pub inherited: bool,
    /// `COMMENT ON CONSTRAINT`.
    pub comment: Option<String>,
    /// The triggers that enforce the constraint (a foreign key's, on the referencing and
    /// the referenced table; a deferrable key's or EXCLUDE's) that do not fire in a normal
    /// session, this constraint's and its partitions' copies': empty when all fire.
    // Always written: the shadow cache stores the schema in postcard's form, which has
    // no field names, so a field left out shifts every one after it.
    #[serde(default)]
    pub off_triggers: Vec<OffTrigger>,
    /// For a FOREIGN KEY whose ON DELETE is SET NULL or SET DEFAULT with a column list
    /// (`confdelsetcols`, PostgreSQL 15 on): those columns, in order; empty when the
    /// action sets every column of the key (and always before 15).
    #[serde(default)]
    pub on_delete_columns: Vec<String>,
    /// `connoinherit`: a CHECK made `NO INHERIT`, which tables that inherit from this one
    /// do not get.
    #[serde(default)]
    pub no_inherit: bool,
}

/// A trigger that does not fire in a normal session (`tgenabled` `D` or `R`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OffTrigger {
    /// The table it is on, as `regclass` prints it (schema-qualified outside `public`).
    pub relation: String,
    /// The trigger's name.
    pub name: String,
    /// `pg_trigger.tgenabled`: `D` disabled, `R` replica only.
    pub enabled: char,
}

/// An index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    /// The name.
    pub name: String,
    /// UNIQUE.
    pub unique: bool,
    /// Access method (`btree`, `gin`, …).
    pub method: String,
    /// Key columns or expressions, each as `pg_get_indexdef(oid, n, false)` prints it: a
    /// column's name as `quote_ident` writes it (the printer's own quoting), read from
    /// `pg_attribute` without the printer; an expression printed by the printer.
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
    /// INCLUDE (non-key) columns, each as `pg_get_indexdef(oid, n, false)` prints it: the
    /// column's name as `quote_ident` writes it.
    pub include: Vec<String>,
    /// Partial-index predicate, `pg_get_expr(indpred, indrelid)`.
    pub predicate: Option<String>,
    /// The full `pg_get_indexdef`, for messages.
    pub definition: String,
    /// The constraint this index backs, if any.
    pub constraint: Option<String>,
    /// `indisvalid`: false for an index left by a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
    /// `indisready`: the index accepts inserts.
    pub ready: bool,
    /// `indislive`: the index is not being dropped.
    pub live: bool,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15 on): a UNIQUE index that lets one row only with
    /// NULL keys, where by default any number may have them.
    #[serde(default)]
    pub nulls_not_distinct: bool,
    /// A partition's index attached to an index of the parent.
    pub inherited: bool,
    /// The statistics targets of its expression keys (`ALTER INDEX … ALTER COLUMN n SET
    /// STATISTICS`), as (the key's number from 1, `attstattarget`), for those that have
    /// one of their own; empty when none has.
    #[serde(default)]
    pub statistics: Vec<(i32, i32)>,
    /// `COMMENT ON INDEX`.
    pub comment: Option<String>,
    /// Its storage parameters (`WITH (…)`, `ALTER INDEX … SET (…)`: `fillfactor`,
    /// `fastupdate`, `deduplicate_items`, …) as [`storage_parameters`] reads them.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// A trigger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trigger {
    /// The name.
    pub name: String,
    /// `before`, `after` or `instead_of`.
    pub timing: String,
    /// Firing events, sorted: `insert`, `update`, `delete`, `truncate`.
    pub events: Vec<String>,
    /// `row` or `statement`.
    pub level: String,
    /// The trigger function's name, `schema.name` when it lives neither in the table's
    /// schema nor in `pg_catalog`.
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
    /// The arguments passed to the trigger function (`tgargs`), in order.
    pub arguments: Vec<String>,
    /// Cloned from a trigger of the partitioned parent (`tgparentid`).
    pub inherited: bool,
    /// `COMMENT ON TRIGGER`.
    pub comment: Option<String>,
    /// The copies of this trigger on partitions (at any depth) that do not fire in a
    /// normal session: empty when all fire.
    // Always written: the shadow cache stores the schema in postcard's form, which has
    // no field names, so a field left out shifts every one after it.
    #[serde(default)]
    pub off_copies: Vec<OffTrigger>,
    /// `REFERENCING OLD TABLE AS …` (`tgoldtable`): the transition table of the rows before.
    #[serde(default)]
    pub old_table: Option<String>,
    /// `REFERENCING NEW TABLE AS …` (`tgnewtable`): the transition table of the rows after.
    #[serde(default)]
    pub new_table: Option<String>,
    /// `CREATE CONSTRAINT TRIGGER`: `Some((deferrable, initially_deferred))`.
    #[serde(default)]
    pub constraint: Option<(bool, bool)>,
    /// The schema the trigger function lives in, which [`Trigger::function`] leaves out
    /// when it is the table's or `pg_catalog`.
    #[serde(default)]
    pub function_schema: String,
}

/// A function, procedure or aggregate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Function {
    /// The schema that holds it.
    pub schema: String,
    /// The name.
    pub name: String,
    /// `pg_proc.prokind`: `f` function, `p` procedure, `a` aggregate.
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
    /// `SET` options (`proconfig`), each `name=value` as stored: `search_path=public, pg_temp`.
    pub config: Vec<String>,
    /// The same options in the order of `config`, with a value in a unit written in its
    /// setting's unit (`work_mem=65536kB` for `work_mem=64MB`), as the server that was read
    /// converts it: what `function.config` compares.
    #[serde(default)]
    pub config_values: Vec<String>,
    /// LEAKPROOF.
    pub leakproof: bool,
    /// `proparallel`: `s` safe, `r` restricted, `u` unsafe.
    pub parallel: char,
    /// Estimated execution cost (`procost`).
    pub cost: f64,
    /// Estimated rows for a set-returning function (`prorows`; 0 otherwise).
    pub rows: f64,
    /// For an aggregate: its state function and type, final function and initial state.
    pub aggregate: Option<AggregateDef>,
    /// `COMMENT ON FUNCTION`.
    pub comment: Option<String>,
}

/// How an aggregate computes (`pg_aggregate`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AggregateDef {
    /// The state transition function, as `regproc` prints it.
    pub state_function: String,
    /// The state type, `format_type`.
    pub state_type: String,
    /// The final function, if any.
    pub final_function: Option<String>,
    /// The initial state, as text, if any.
    pub initial_state: Option<String>,
    /// Its other `CREATE AGGREGATE` options that are not PostgreSQL's default, `name=value`
    /// (`msfunc=…`, `combinefunc=…`), in a fixed order.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Function {
    /// `function`, `procedure` or `aggregate`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            'p' => "procedure",
            'a' => "aggregate",
            _ => "function",
        }
    }

    /// `name(type, type)`, the key specs use.
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.arg_types.join(", "))
    }
}

/// An enum, a domain or a composite type.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TypeDef {
    /// The schema that holds it.
    pub schema: String,
    /// The name.
    pub name: String,
    /// `typtype`: `e` enum, `d` domain, `c` composite.
    pub kind: char,
    /// An enum's labels in sort order.
    pub labels: Vec<String>,
    /// A domain's base type, `format_type(typbasetype, typtypmod)`.
    pub base_type: Option<String>,
    /// A domain's nullability (`NOT typnotnull`).
    pub nullable: bool,
    /// The name of a domain's NOT NULL constraint (`contype = 'n'` on the domain, which
    /// PostgreSQL 17 and later record) when it is not validated: the values already stored
    /// in columns of the domain were never checked. No PostgreSQL up to 18 accepts `ALTER
    /// DOMAIN … ADD … NOT NULL NOT VALID`, so this is read for a later one (or a catalog
    /// changed by hand) and is `None` on every server up to 18 otherwise.
    // Always serialised, never skipped: the shadow cache stores the schema in postcard's
    // form, which has no field names.
    #[serde(default)]
    pub not_null_not_valid: Option<String>,
    /// A domain's default, `pg_get_expr(typdefaultbin, 0)`.
    pub default: Option<String>,
    /// A domain's collation when it is not its base type's.
    pub collation: Option<String>,
    /// A domain's CHECK constraints.
    pub checks: Vec<DomainCheck>,
    /// A composite type's attributes: (name, `format_type`).
    pub attributes: Vec<(String, String)>,
    /// `COMMENT ON TYPE` / `DOMAIN`.
    pub comment: Option<String>,
}

/// A CHECK constraint of a domain.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DomainCheck {
    /// The name.
    pub name: String,
    /// The expression, `pg_get_expr(conbin, 0)`: `VALUE >= 1901 AND …`.
    pub expression: String,
    /// `convalidated`.
    pub validated: bool,
}

/// A sequence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sequence {
    /// The schema that holds it.
    pub schema: String,
    /// The name.
    pub name: String,
    /// `format_type(seqtypid)`: `bigint`, `integer`, `smallint`.
    pub type_name: String,
    /// START WITH.
    pub start: i64,
    /// INCREMENT BY.
    pub increment: i64,
    /// MINVALUE.
    pub min: i64,
    /// MAXVALUE.
    pub max: i64,
    /// CYCLE.
    pub cycle: bool,
    /// CACHE.
    pub cache: i64,
    /// UNLOGGED (`relpersistence = 'u'`, PostgreSQL 15 on): after a crash it starts again
    /// from its START, and hands out values already used.
    #[serde(default)]
    pub unlogged: bool,
    /// The column that owns it, if any.
    pub owner: Option<SequenceOwner>,
    /// `COMMENT ON SEQUENCE`.
    pub comment: Option<String>,
}

/// The column that owns a sequence (`OWNED BY`, serial or identity).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SequenceOwner {
    /// The owning table's [`relation_key`].
    pub table: String,
    /// The owning column.
    pub column: String,
    /// Owned as an identity column's sequence (`deptype = 'i'`), not by `OWNED BY`.
    pub identity: bool,
}

/// An installed extension.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Extension {
    /// The name.
    pub name: String,
    /// `extversion`.
    pub version: String,
    /// The schema its objects live in.
    pub schema: String,
    /// `COMMENT ON EXTENSION`.
    pub comment: Option<String>,
    /// Its members, by name. The other queries leave them out, so these are what the
    /// comparison with a fresh install of the extension sees of them.
    #[serde(default)]
    pub members: Vec<ExtensionMember>,
}

/// An object that belongs to an extension (`pg_depend.deptype = 'e'`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExtensionMember {
    /// What it is, as `pg_describe_object` prints it: `function gen_random_uuid()`.
    pub object: String,
    /// Its owner, privileges and (routines) SECURITY DEFINER and `SET` options or
    /// (relations) column privileges and row-level security, as one text; empty for a kind
    /// that has none of these.
    pub security: String,
}

/// An object of a kind the spec format cannot describe, so that it is at least reported.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OtherObject {
    /// The schema that holds it.
    pub schema: String,
    /// What it is, as `pg_describe_object` prints it: `rule r on table t`,
    /// `operator ===(integer,integer)`.
    pub description: String,
}

/// An object of the database that belongs to no schema and that neither PostgreSQL nor an
/// extension made (an event trigger, publication, subscription, cast, foreign-data
/// wrapper, server, user mapping, transform or access method).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseObject {
    /// What it is, as `pg_describe_object` prints it: `event trigger audit_ddl`,
    /// `cast from text to integer`.
    pub description: String,
    /// What it does: `ON ddl_command_end EXECUTE FUNCTION audit()`, `FOR ALL TABLES, …`.
    pub detail: String,
}

/// A schema of the database that was not read: no spec, schema document or `--schema`
/// names it, PostgreSQL did not make it and no extension owns it. What it holds is
/// counted, not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadSchema {
    /// The schema's name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// Tables, views, materialized views, foreign tables and sequences no extension owns.
    pub relations: i64,
    /// Of those, the ones PUBLIC holds a privilege on.
    pub public_relations: i64,
    /// Functions, procedures and aggregates no extension owns.
    pub functions: i64,
    /// Of those, the SECURITY DEFINER ones.
    pub definer_functions: i64,
    /// Enums, domains, ranges, base and composite types no extension owns.
    pub types: i64,
    /// The extensions installed in it, whose members it holds.
    pub extensions: Vec<String>,
    /// The privileges on the schema of every role but its owner: `PUBLIC usage`, `rv_app
    /// create`.
    pub grants: Vec<String>,
}

impl UnreadSchema {
    /// It holds no object of its own: only members of extensions, or nothing.
    pub fn holds_nothing_of_its_own(&self) -> bool {
        self.relations == 0 && self.functions == 0 && self.types == 0
    }

    /// PostgreSQL's `public` schema, left as every database has it: holding nothing of
    /// its own and no extension. Not reported when no spec names it.
    pub fn is_untouched_public(&self) -> bool {
        self.name == "public" && self.holds_nothing_of_its_own() && self.extensions.is_empty()
    }

    /// The schema of the tool's own log of migration attempts, holding that log alone (a
    /// table and its sequence, nothing granted): not reported.
    pub fn is_the_attempt_log(&self) -> bool {
        self.name == crate::migrate::ATTEMPTS_SCHEMA
            && self.relations <= 2
            && self.public_relations == 0
            && self.functions == 0
            && self.types == 0
            && self.extensions.is_empty()
            && self.grants.is_empty()
    }

    /// It holds the members of extensions and nothing of its own: the extensions stand for
    /// what it holds, as for an extension's objects in a checked schema.
    pub fn holds_only_extensions(&self) -> bool {
        self.holds_nothing_of_its_own() && !self.extensions.is_empty()
    }

    /// What it holds and who may use it, in words.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "schema {} (owner {}): {} relation(s)",
            self.name, self.owner, self.relations
        );
        if self.public_relations > 0 {
            s.push_str(&format!(
                " ({} with privileges for PUBLIC)",
                self.public_relations
            ));
        }
        s.push_str(&format!(", {} function(s)", self.functions));
        if self.definer_functions > 0 {
            s.push_str(&format!(" ({} SECURITY DEFINER)", self.definer_functions));
        }
        s.push_str(&format!(", {} type(s)", self.types));
        if !self.extensions.is_empty() {
            s.push_str(&format!(
                ", the members of extension(s) {}",
                self.extensions.join(", ")
            ));
        }
        if self.grants.is_empty() {
            s.push_str("; no role but its owner holds USAGE or CREATE on it");
        } else {
            s.push_str(&format!("; granted: {}", self.grants.join(", ")));
        }
        s
    }
}
