//! The catalogue of check codes: for every stable code a finding can carry, what it checks
//! and what to do when it fails.
//!
//! Code scanning (SARIF rules), CI annotations and the README's "Check codes" table are
//! all written from this one list, and a test keeps it complete: every code that the
//! verifier and the probes can emit is listed here, and every code listed here appears in
//! the README.

/// One check code and its documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckCode {
    /// The stable code, `family.check`, e.g. `index.predicate`.
    pub code: &'static str,
    /// What the check proves, as one short sentence (a SARIF rule's short description).
    pub title: &'static str,
    /// What a failure means and what to do about it (a SARIF rule's help text).
    pub help: &'static str,
}

macro_rules! codes {
    ($( $code:literal => $title:literal, $help:literal; )*) => {
        /// Every check code, grouped by object kind, in the README's order.
        pub const CHECK_CODES: &[CheckCode] = &[
            $( CheckCode { code: $code, title: $title, help: $help }, )*
        ];
    };
}

codes! {
    "table.exists" => "The relation a spec describes exists.",
        "Apply the migration that creates the relation, or remove its spec.";
    "table.kind" => "The relation is of the kind its spec declares (table, view, materialized view).",
        "Create the relation as the spec says, or correct the spec's `kind`.";
    "table.comment" => "A relation's COMMENT ON text equals the spec's `comment`, when declared.",
        "Set the comment in a migration (COMMENT ON TABLE), or correct the spec's `comment`.";
    "table.definition" => "A view's or materialized view's query equals the spec's `definition`, as PostgreSQL prints both.",
        "Recreate the view with the spec's query in a migration, or correct the spec's `definition`.";
    "table.partition_key" => "A partitioned table is partitioned by the declared key.",
        "Recreate the table with the spec's PARTITION BY, or correct the spec's `partition_by`.";
    "table.partition_of" => "A partition is attached to the declared parent.",
        "Attach the partition to the spec's parent, or correct the spec's `partition_of`.";
    "table.inherits" => "A table inherits from the tables the spec's `inherits` lists (none when absent), in that order; a query of a parent reads its children's rows too.",
        "ALTER TABLE … INHERIT / NO INHERIT as the spec says, or correct the spec's `inherits`.";
    "table.parameters" => "A table, partitioned table or materialized view has exactly the storage parameters the spec's `parameters` gives (none when absent), its TOAST table's included.",
        "ALTER TABLE … SET (…) / RESET (…) as the spec says, or correct the spec's `parameters`.";
    "view.options" => "A view has exactly the options the spec gives (security_barrier, security_invoker, check_option; none by default): they decide whose privileges and row security its rows are read with, and what may be written through it.",
        "ALTER VIEW … SET (…) or RESET (…) as the spec says, or correct the spec's `options`.";
    "table.partition_bound" => "A partition holds the declared range or list of values.",
        "Re-attach the partition with the spec's bound, or correct the spec.";
    "table.replica_identity" => "A table's, partitioned table's or materialized view's REPLICA IDENTITY (DEFAULT, FULL, NOTHING, USING INDEX) is the declared one, or DEFAULT when none is declared; reported when declared or when it differs.",
        "ALTER TABLE … REPLICA IDENTITY in a migration, or declare the spec's `replica_identity`.";
    "table.cluster_on" => "A table's or materialized view's clustering index (ALTER TABLE … CLUSTER ON, which CLUSTER without an index name orders it by) is the declared one, or none when none is declared; reported when declared or when it differs.",
        "ALTER TABLE … CLUSTER ON / SET WITHOUT CLUSTER in a migration, or declare the spec's `cluster_on`.";
    "table.populated" => "A materialized view is populated (relispopulated), or left without data where the spec says `populated: false`; an unpopulated one fails every read. Reported when declared or when it is not populated.",
        "REFRESH MATERIALIZED VIEW in a migration (REFRESH … WITH NO DATA empties it), or declare the spec's `populated: false`.";
    "table.persistence" => "A table is LOGGED or UNLOGGED as declared.",
        "ALTER TABLE … SET LOGGED / UNLOGGED as the spec says, or correct the spec's `unlogged`.";
    "table.extra" => "Every relation in the checked schema has a spec.",
        "Write a spec for the relation (`reims-verify spec snapshot` drafts one), or drop it in a migration.";
    "column.exists" => "A column the spec lists exists.",
        "Add the column in a migration, or remove it from the spec.";
    "column.type" => "A column has the declared type, as PostgreSQL prints it.",
        "Change the column's type in a migration, or correct the spec.";
    "column.collation" => "A column has the declared collation.",
        "Set the collation in a migration, or correct the spec's `collation`.";
    "column.nullable" => "A column's NOT NULL matches the spec, and a NOT NULL column's constraint is validated (PostgreSQL 18 can add it NOT VALID).",
        "Add or drop NOT NULL in a migration, or correct the spec's `nullable`; for NOT NULL NOT VALID, fix the NULL rows and VALIDATE CONSTRAINT.";
    "column.default" => "A column's default expression matches the spec.",
        "Set or drop the default in a migration, or correct the spec's `default`.";
    "column.generated" => "A generated column has the declared generation expression and kind (STORED, or VIRTUAL with `generated_kind: virtual`).",
        "Recreate the column with the spec's GENERATED ALWAYS AS expression and kind, or correct the spec.";
    "column.identity" => "A column is an identity column (ALWAYS or BY DEFAULT) as declared.",
        "ALTER COLUMN … ADD/SET/DROP IDENTITY as the spec says, or correct the spec's `identity`.";
    "column.sequence" => "A serial or identity column owns a sequence with the declared options.",
        "ALTER SEQUENCE with the spec's options (or OWNED BY the column), or correct the spec's `sequence`.";
    "column.storage" => "A column's storage (PLAIN, EXTERNAL, EXTENDED, MAIN) is the declared one, or its type's default when none is declared; reported when declared or when it differs.",
        "ALTER TABLE … ALTER COLUMN … SET STORAGE in a migration, or declare the spec's `storage`.";
    "column.compression" => "A column's compression method (PostgreSQL 14 on) is the declared one, or none of its own when none is declared; reported when declared or when it differs.",
        "ALTER TABLE … ALTER COLUMN … SET COMPRESSION in a migration (default for none), or declare the spec's `compression`.";
    "column.statistics" => "A column's statistics target (how much ANALYZE gathers for the planner; 0 gathers none) is the declared one, or the server's default when none is declared; reported when declared or when it differs.",
        "ALTER TABLE … ALTER COLUMN … SET STATISTICS in a migration (-1 for the default), or declare the spec's `statistics`.";
    "column.options" => "A column has exactly the attribute options (n_distinct, n_distinct_inherited) the spec's `options` gives, none when absent; reported when declared or when it differs.",
        "ALTER TABLE … ALTER COLUMN … SET (…) / RESET (…) in a migration, or declare the spec's `options`.";
    "column.comment" => "A column's COMMENT ON text equals the spec's `comment`, when declared.",
        "Set the comment in a migration (COMMENT ON COLUMN), or correct the spec's `comment`.";
    "column.order" => "A table's or partitioned table's columns (by attnum, dropped ones aside) are in the order of the shadow's, which is the spec's; a column dropped and added again goes last, and SELECT *, INSERT without a column list, COPY and the row type follow the order. Reported only when it differs.",
        "Rebuild the table in a migration with the spec's column order, or list the spec's columns in the database's order.";
    "column.extra" => "Every column of the relation is listed in its spec.",
        "List the column in the spec, drop it in a migration, or set `allow_extra.columns`.";
    "pk.exists" => "The relation has the declared primary key.",
        "Add the primary key in a migration, or correct the spec's `primary_key`.";
    "pk.name" => "The primary key constraint has the declared name.",
        "Rename the constraint in a migration, or correct the spec's `primary_key.name`.";
    "pk.columns" => "The primary key covers the declared columns, in order.",
        "Recreate the primary key in a migration, or correct the spec.";
    "pk.deferrable" => "The primary key is DEFERRABLE, and INITIALLY DEFERRED, as declared (a deferrable key is checked late and ON CONFLICT cannot use it).",
        "Drop and add the primary key again with [NOT] DEFERRABLE [INITIALLY …] in a migration, or correct the spec.";
    "pk.include" => "The primary key's index carries exactly the INCLUDE columns the spec's `include` gives (none when absent); reported when either has some.",
        "Recreate the primary key with the spec's INCLUDE columns, or correct the spec's `include`.";
    "pk.comment" => "The primary key constraint's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON CONSTRAINT), or correct the spec.";
    "pk.extra" => "The relation has no primary key that its spec does not declare.",
        "Declare the primary key in the spec, or drop it in a migration.";
    "unique.exists" => "A declared UNIQUE constraint exists.",
        "Add the constraint in a migration, or remove it from the spec.";
    "unique.columns" => "A UNIQUE constraint covers the declared columns, in order.",
        "Recreate the constraint in a migration, or correct the spec.";
    "unique.deferrable" => "The UNIQUE constraint is DEFERRABLE, and INITIALLY DEFERRED, as declared (a deferrable constraint is checked late and ON CONFLICT cannot use it).",
        "Drop and add the constraint again with [NOT] DEFERRABLE [INITIALLY …] in a migration, or correct the spec.";
    "unique.nulls" => "A UNIQUE constraint treats NULL keys as the spec says: distinct (any number of rows may hold them, the default) or NOT DISTINCT (one row).",
        "Recreate the constraint with UNIQUE NULLS [NOT] DISTINCT, or correct the spec's `nulls_not_distinct`.";
    "unique.include" => "A UNIQUE constraint's index carries exactly the INCLUDE columns the spec's `include` gives (none when absent); reported when either has some.",
        "Recreate the constraint with the spec's INCLUDE columns, or correct the spec's `include`.";
    "unique.comment" => "A UNIQUE constraint's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON CONSTRAINT), or correct the spec.";
    "unique.extra" => "Every UNIQUE constraint of the relation is declared.",
        "Declare it under `unique`, drop it, or set `allow_extra.constraints`.";
    "fk.exists" => "A declared foreign key exists.",
        "Add the foreign key in a migration, or remove it from the spec.";
    "fk.columns" => "A foreign key uses the declared columns.",
        "Recreate the foreign key in a migration, or correct the spec.";
    "fk.references" => "A foreign key references the declared table and columns.",
        "Recreate the foreign key in a migration, or correct the spec's `references`.";
    "fk.on_delete" => "A foreign key has the declared ON DELETE action.",
        "Recreate the foreign key with the right action, or correct the spec's `on_delete`.";
    "fk.on_delete_columns" => "A foreign key's ON DELETE SET NULL or SET DEFAULT sets the columns the spec's `on_delete_columns` lists (PostgreSQL 15 on), or every column of the key when absent; reported when either lists some.",
        "Recreate the foreign key with ON DELETE SET NULL (…) / SET DEFAULT (…) as the spec says, or correct the spec's `on_delete_columns`.";
    "fk.on_update" => "A foreign key has the declared ON UPDATE action.",
        "Recreate the foreign key with the right action, or correct the spec's `on_update`.";
    "fk.match" => "A foreign key of several columns is MATCH FULL or MATCH SIMPLE as declared: whether a row whose key is partly NULL is refused or left unchecked.",
        "Recreate the foreign key with the declared MATCH, or correct the spec's `match`.";
    "fk.deferrable" => "A foreign key is DEFERRABLE / INITIALLY DEFERRED as declared.",
        "Alter the constraint's deferrability, or correct the spec.";
    "fk.validated" => "A foreign key is validated (not left NOT VALID) unless the spec says `validated: false`; a NOT ENFORCED one is skipped (it checks no row; see fk.enforcement).",
        "ALTER TABLE … VALIDATE CONSTRAINT, or declare `validated: false` for a two-step rollout.";
    "fk.enforcement" => "A foreign key is ENFORCED, or NOT ENFORCED (PostgreSQL 18) where the spec says `enforced: false`; before 18 every key is enforced, so `enforced: false` fails there.",
        "ALTER TABLE … ALTER CONSTRAINT … ENFORCED (or NOT ENFORCED) as the spec says, or correct the spec's `enforced`.";
    "fk.enforced" => "A foreign key's internal triggers, on the referencing and the referenced table and their partitions, all fire (none DISABLEd or replica-only).",
        "ALTER TABLE … ENABLE TRIGGER ALL on the tables named (or ENABLE TRIGGER of the trigger named): while they do not fire, rows that break the key are accepted.";
    "fk.comment" => "A foreign key's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON CONSTRAINT), or correct the spec.";
    "fk.extra" => "Every foreign key of the relation is declared.",
        "Declare it under `foreign_keys`, drop it, or set `allow_extra.constraints`.";
    "constraint.extra" => "The relation has no EXCLUDE constraint that its spec cannot state.",
        "Drop the constraint, or set `allow_extra.constraints` and describe it in the spec's comments.";
    "constraint.enforced" => "A deferrable PRIMARY KEY, UNIQUE or EXCLUDE constraint's internal recheck triggers all fire.",
        "ALTER TABLE … ENABLE TRIGGER ALL on the table named: while the recheck trigger does not fire, duplicates are accepted.";
    "check.exists" => "A declared CHECK constraint exists.",
        "Add the CHECK in a migration, or remove it from the spec.";
    "check.rule" => "A CHECK constraint's expression equals the spec's rule, as PostgreSQL prints both.",
        "Recreate the CHECK with the spec's rule, or correct the rule.";
    "check.validated" => "A CHECK constraint is validated (not left NOT VALID) unless the spec says `validated: false`; a NOT ENFORCED one is skipped (it checks no row; see check.enforcement).",
        "ALTER TABLE … VALIDATE CONSTRAINT, or declare `validated: false` for a two-step rollout.";
    "check.enforcement" => "A CHECK constraint is ENFORCED, or NOT ENFORCED (PostgreSQL 18) where the spec says `enforced: false`; before 18 every CHECK is enforced, so `enforced: false` fails there.",
        "Drop the CHECK and add it again [NOT] ENFORCED as the spec says (PostgreSQL 18 cannot alter a CHECK's enforceability), or correct the spec's `enforced`.";
    "check.no_inherit" => "A CHECK is NO INHERIT (tables inheriting from this one do not get it) exactly when the spec says `no_inherit: true`; reported when either says so.",
        "Recreate the CHECK with or without NO INHERIT, or correct the spec's `no_inherit`.";
    "check.comment" => "A CHECK constraint's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON CONSTRAINT), or correct the spec.";
    "check.extra" => "Every CHECK constraint of the relation is declared.",
        "Declare it under `checks`, drop it, or set `allow_extra.constraints`.";
    "index.exists" => "A declared index exists.",
        "Create the index in a migration, or remove it from the spec.";
    "index.valid" => "An index is valid and ready (not left behind by a failed CREATE INDEX CONCURRENTLY).",
        "Drop the invalid index and build it again (or REINDEX INDEX CONCURRENTLY).";
    "index.unique" => "An index is UNIQUE exactly when the spec says so, with NULLS NOT DISTINCT exactly when it says so.",
        "Recreate the index, or correct the spec's `unique`.";
    "index.method" => "An index uses the declared access method (btree, gin, …).",
        "Recreate the index with the right method, or correct the spec's `method`.";
    "index.keys" => "An index's key columns and expressions match the spec, in order.",
        "Recreate the index with the spec's keys, or correct the spec.";
    "index.collation" => "An index key uses the declared collation.",
        "Recreate the index with the right COLLATE, or correct the key in the spec.";
    "index.opclass" => "An index key uses the declared operator class.",
        "Recreate the index with the right operator class, or correct the key in the spec.";
    "index.include" => "An index has the declared INCLUDE columns.",
        "Recreate the index with the right INCLUDE list, or correct the spec's `include`.";
    "index.parameters" => "An index's storage parameters (fillfactor, fastupdate, deduplicate_items, gin_pending_list_limit, …), the index behind a PRIMARY KEY or UNIQUE constraint included, are exactly those the spec's `parameters` gives (none when absent); reported when either has some.",
        "ALTER INDEX … SET (…) / RESET (…) as the spec says, or correct the spec's `parameters` (under the index, `primary_key` or the `unique` entry).";
    "index.order" => "An index key has the declared ASC/DESC and NULLS order.",
        "Recreate the index with the right order, or correct the key in the spec.";
    "index.predicate" => "A partial index has the declared WHERE predicate.",
        "Recreate the index with the spec's predicate, or correct the spec's `where`.";
    "index.statistics" => "The statistics targets of an index's expression keys (how much ANALYZE gathers for the planner about each expression) are the declared ones, none of their own when none is declared; reported when declared or when they differ.",
        "ALTER INDEX … ALTER COLUMN <n> SET STATISTICS in a migration (-1 for the default), or declare the index's `statistics`.";
    "index.comment" => "An index's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON INDEX), or correct the spec.";
    "index.extra" => "Every index of the relation is declared.",
        "Declare it under `indexes`, drop it, or set `allow_extra.indexes`.";
    "trigger.exists" => "A declared trigger exists.",
        "Create the trigger in a migration, or remove it from the spec.";
    "trigger.timing" => "A trigger fires BEFORE, AFTER or INSTEAD OF as declared.",
        "Recreate the trigger, or correct the spec's `timing`.";
    "trigger.events" => "A trigger fires on the declared events.",
        "Recreate the trigger, or correct the spec's `events`.";
    "trigger.columns" => "An UPDATE trigger fires for the declared columns (UPDATE OF …).",
        "Recreate the trigger, or correct the spec's `columns`.";
    "trigger.level" => "A trigger fires per row or per statement as declared.",
        "Recreate the trigger, or correct the spec's `level`.";
    "trigger.when" => "A trigger has the declared WHEN condition.",
        "Recreate the trigger with the spec's condition, or correct the spec's `when`.";
    "trigger.enabled" => "A declared trigger is enabled, and so are its copies on the partitions of a partitioned table.",
        "Enable the trigger (`ALTER TABLE … ENABLE TRIGGER`, on the partition named when it is a partition's copy), or find out who disabled it.";
    "trigger.function" => "A trigger calls the declared function.",
        "Recreate the trigger, or correct the spec's `function`.";
    "trigger.arguments" => "A trigger passes the declared arguments to its function.",
        "Recreate the trigger with the spec's arguments, or correct the spec.";
    "trigger.transition" => "A trigger has the declared transition tables (REFERENCING OLD/NEW TABLE AS …), which its function reads by name.",
        "Recreate the trigger with the spec's REFERENCING clause, or correct the spec.";
    "trigger.constraint" => "A trigger is a constraint trigger, DEFERRABLE and INITIALLY DEFERRED, as declared (a constraint trigger fires at the end of the statement or at commit, not after each row).",
        "Recreate it with CREATE [CONSTRAINT] TRIGGER … [DEFERRABLE [INITIALLY …]] as the spec says, or correct the spec.";
    "trigger.comment" => "A trigger's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON TRIGGER), or correct the spec.";
    "trigger.extra" => "Every trigger of the relation is declared.",
        "Declare it under `triggers`, drop it, or set `allow_extra.triggers`.";
    "trigger.property" => "A trigger behaves as its property says, on generated rows.",
        "Run the printed reproduction by hand and fix the trigger function.";
    "function.exists" => "A declared function or procedure exists with the declared argument types.",
        "Create the function in a migration, or correct the spec's signature.";
    "function.signature" => "A function's signature matches the spec.",
        "Recreate the function with the declared argument types, or correct the spec.";
    "function.kind" => "A routine is a function or a procedure as declared.",
        "Recreate the routine as the spec says, or correct the spec's `kind`.";
    "function.arguments" => "A function's argument names, modes and defaults match the spec.",
        "Recreate the function with the spec's arguments, or correct the spec's `arguments`.";
    "function.returns" => "A function returns the declared type.",
        "Recreate the function with the right return type, or correct the spec's `returns`.";
    "function.language" => "A function is written in the declared language.",
        "Recreate the function, or correct the spec's `language`.";
    "function.volatility" => "A function is VOLATILE, STABLE or IMMUTABLE as declared.",
        "Alter the function's volatility, or correct the spec's `volatility`.";
    "function.strict" => "A function is STRICT exactly when the spec says so.",
        "Alter the function, or correct the spec's `strict`.";
    "function.security" => "A function is SECURITY DEFINER exactly when the spec says so.",
        "Alter the function's security, or correct the spec's `security_definer`.";
    "function.config" => "A function's SET options (e.g. search_path) equal the spec's `set`.",
        "ALTER FUNCTION … SET / RESET as the spec says, or correct the spec's `set`.";
    "function.leakproof" => "A function is LEAKPROOF or not as declared.",
        "ALTER FUNCTION … [NOT] LEAKPROOF, or correct the spec's `leakproof`.";
    "function.parallel" => "A function's PARALLEL marking (SAFE, RESTRICTED, UNSAFE) equals the spec's.",
        "ALTER FUNCTION … PARALLEL as the spec says, or correct the spec's `parallel`.";
    "function.cost" => "A function's COST equals the spec's `cost`, when declared.",
        "ALTER FUNCTION … COST as the spec says, or correct the spec.";
    "function.rows" => "A set-returning function's ROWS equals the spec's `rows`, when declared.",
        "ALTER FUNCTION … ROWS as the spec says, or correct the spec.";
    "function.aggregate" => "An aggregate has the declared state function, state type, final function and initial state.",
        "Recreate the aggregate as the spec says, or correct the spec.";
    "function.comment" => "A function's comment equals the spec's, when declared.",
        "Set the comment (COMMENT ON FUNCTION), or correct the spec.";
    "function.extra" => "Every function and procedure in the checked schema is declared in a spec.",
        "Declare it under some spec's `functions`, or drop it in a migration.";
    "function.property" => "A function behaves as its property says, on generated inputs and sequences.",
        "Run the printed reproduction by hand and fix the function.";
    "schema.exists" => "A schema that a schema document declares exists.",
        "Create the schema in a migration, or remove its document.";
    "schema.comment" => "A schema's comment equals its document's `comment`, when declared.",
        "Set the comment (COMMENT ON SCHEMA), or correct the document.";
    "extension.exists" => "A declared extension is installed.",
        "CREATE EXTENSION in a migration, or remove it from the schema document.";
    "extension.schema" => "An extension lives in the declared schema.",
        "ALTER EXTENSION … SET SCHEMA, or correct the document.";
    "extension.version" => "An extension is at the declared version, when declared.",
        "ALTER EXTENSION … UPDATE TO the spec's version, or correct the document.";
    "extension.member" => "An extension's members are those a fresh CREATE EXTENSION of the same version creates, no more and no fewer (a member escapes every other check). A skip when no fresh install of that version could be made to compare with.",
        "ALTER EXTENSION … DROP the object a migration added to it (or ADD back what was taken out); to compare, declare the extension with the database's version.";
    "extension.member_security" => "Each member of an extension has the owner, privileges, SECURITY DEFINER, SET options and row-level security a fresh CREATE EXTENSION of the same version gives it.",
        "Undo the ALTER / GRANT / REVOKE on the extension's object in a migration.";
    "extension.extra" => "Every extension in the checked schemas is declared.",
        "Declare it in the schema document's `extensions`, drop it, or set `allow_extra.extensions`.";
    "type.exists" => "A declared enum, domain or composite type exists.",
        "Create the type in a migration, or remove it from the schema document.";
    "type.kind" => "A type is of the declared kind (enum, domain, composite).",
        "Recreate the type as the spec says, or correct the document.";
    "type.labels" => "An enum has the declared labels, in order.",
        "ALTER TYPE … ADD VALUE / RENAME VALUE, or correct the document.";
    "type.base_type" => "A domain is over the declared base type.",
        "Recreate the domain over the spec's type, or correct the document.";
    "type.nullable" => "A domain's NOT NULL matches the declaration.",
        "ALTER DOMAIN … SET / DROP NOT NULL, or correct the document.";
    "type.default" => "A domain's default equals the declared one.",
        "ALTER DOMAIN … SET / DROP DEFAULT, or correct the document.";
    "type.collation" => "A domain has the declared collation.",
        "Recreate the domain with the spec's collation, or correct the document.";
    "type.checks" => "A domain's CHECK constraints equal the declared ones, as PostgreSQL prints both.",
        "ALTER DOMAIN … ADD / DROP CONSTRAINT, or correct the document.";
    "type.validated" => "A domain's CHECK constraints are validated unless declared `validated: false`.",
        "ALTER DOMAIN … VALIDATE CONSTRAINT, or correct the document.";
    "type.attributes" => "A composite type has the declared attributes and types, in order.",
        "ALTER TYPE … ADD / DROP / ALTER ATTRIBUTE, or correct the document.";
    "type.comment" => "A type's comment equals the declared one, when declared.",
        "Set the comment (COMMENT ON TYPE / DOMAIN), or correct the document.";
    "type.extra" => "Every enum, domain and composite type in the checked schemas is declared.",
        "Declare it in the schema document, drop it, or set `allow_extra.types`.";
    "sequence.exists" => "A declared standalone sequence exists.",
        "Create the sequence in a migration, or remove it from the schema document.";
    "sequence.options" => "A sequence has the declared type, start, increment, bounds, cache and cycle.",
        "ALTER SEQUENCE as the spec says, or correct the document.";
    "sequence.owned_by" => "A sequence is owned by the declared column (or by none).",
        "ALTER SEQUENCE … OWNED BY as the spec says, or correct the document.";
    "sequence.comment" => "A sequence's comment equals the declared one, when declared.",
        "Set the comment (COMMENT ON SEQUENCE), or correct the document.";
    "sequence.extra" => "Every sequence in the checked schemas is declared (or owned by a declared column).",
        "Declare it in the schema document, drop it, or set `allow_extra.sequences`.";
    "object.extra" => "The checked schemas hold no object that the spec format cannot describe.",
        "Drop the object, or set `allow_extra.other` in the schema document and describe it in comments.";
    "privilege.owner" => "An object (schema, relation, sequence, function, type) is owned by the declared role.",
        "ALTER … OWNER TO the spec's role, or correct the spec's `privileges.owner`.";
    "privilege.missing" => "Every declared privilege is granted.",
        "GRANT the privilege in a migration, or remove it from the spec's `privileges`.";
    "privilege.grant_option" => "A privilege is held WITH GRANT OPTION exactly when declared.",
        "GRANT … WITH GRANT OPTION or REVOKE GRANT OPTION FOR as the spec says, or correct the spec.";
    "privilege.extra" => "No privilege is granted that the spec does not declare (PostgreSQL's defaults count as declared).",
        "REVOKE the privilege in a migration, or declare it in the spec's `privileges`.";
    "privilege.defaults" => "No ALTER DEFAULT PRIVILEGES grants what objects created later get, in the checked schemas or the whole database (a skip when one does: the specs cannot state them).",
        "ALTER DEFAULT PRIVILEGES … REVOKE what it grants, or know that objects created later by that role get those grants.";
    "database.settings" => "No ALTER DATABASE … SET changes the settings every session of the checked database starts with (a skip naming each one: the specs cannot state them).",
        "ALTER DATABASE … RESET the option, or know that every session starts with it.";
    "database.objects" => "The database holds no event trigger, publication, subscription, cast, foreign-data wrapper, server, user mapping, transform or access method beyond PostgreSQL's own and its extensions' (a skip when the database document accepts them, or on a handed-over server without one).",
        "Drop it in a migration, or accept such objects with `allow_extra: true` in the database document.";
    "schema.extra" => "Every schema of the database but PostgreSQL's own and the extensions' is named by a spec, a schema document or --schema, and so read (one finding per other schema, naming its relations, functions and types and who holds USAGE or CREATE on it; a skip when the database document accepts it under extra_schemas, when it holds only extensions' members, or on a handed-over server without a document).",
        "Describe it with a schema document and specs (or pass --schema), drop it in a migration, or accept it unread under `extra_schemas:` in the database document.";
    "role.settings" => "No setting is stored for a role's sessions on the checked database (ALTER ROLE … [IN DATABASE …] SET, ALTER ROLE ALL SET): each is a skip naming role and setting, but on a throw-away server a search_path or role fails unless the database document accepts role settings (session_replication_role = replica is role.replica_sessions').",
        "ALTER ROLE … RESET the option in a migration, or accept role settings with `allow_role_settings: true` in the database document.";
    "role.missing" => "Every role the specs name exists on the server.",
        "Create the role, bind the spec's role variable with --role NAME=ROLE, or correct the spec.";
    "role.attributes" => "Every role the specs name (but the owner) holds only its direct grants: no SUPERUSER or BYPASSRLS, a member of no role (a skip when it is: the specs cannot state role attributes or memberships).",
        "ALTER ROLE … NOSUPERUSER NOBYPASSRLS or REVOKE the membership, or know that the role reaches further than its grants.";
    "role.unbound" => "Every role variable the specs use is bound (a skip otherwise: those privilege checks were not made).",
        "Bind the variable with --role NAME=ROLE so that its privilege checks run.";
    "builtin.altered" => "PostgreSQL's own objects (pg_catalog's functions, tables, views and columns) have the owners, privileges, SECURITY DEFINER and SET options of a fresh database of the same server (a skip on a handed-over server, which has no such reference).",
        "Undo the GRANT, REVOKE or ALTER FUNCTION on the built-in object, or give the role what it needs through objects of your own schema.";
    "role.replica_sessions" => "No role's sessions, and no session of the database, start with session_replication_role = replica unless a schema document declares it (replica mode skips ordinary triggers and foreign keys).",
        "ALTER ROLE … RESET session_replication_role (or ALTER DATABASE …), or declare it with a reason under replica_sessions: in a schema document.";
    "rls.enabled" => "Row-level security is enabled or disabled on a table as declared.",
        "ALTER TABLE … ENABLE / DISABLE ROW LEVEL SECURITY, or correct the spec.";
    "rls.forced" => "Row-level security is forced on the table owner as declared.",
        "ALTER TABLE … [NO] FORCE ROW LEVEL SECURITY, or correct the spec.";
    "policy.exists" => "A declared row-level security policy exists.",
        "CREATE POLICY in a migration, or remove it from the spec.";
    "policy.command" => "A policy applies to the declared command (ALL, SELECT, INSERT, UPDATE, DELETE).",
        "Recreate the policy for the spec's command, or correct the spec.";
    "policy.roles" => "A policy applies to the declared roles.",
        "ALTER POLICY … TO the spec's roles, or correct the spec.";
    "policy.permissive" => "A policy is PERMISSIVE or RESTRICTIVE as declared.",
        "Recreate the policy as the spec says, or correct the spec.";
    "policy.using" => "A policy's USING expression equals the spec's, as PostgreSQL prints both.",
        "ALTER POLICY … USING the spec's expression, or correct the spec.";
    "policy.with_check" => "A policy's WITH CHECK expression equals the spec's, as PostgreSQL prints both.",
        "ALTER POLICY … WITH CHECK the spec's expression, or correct the spec.";
    "policy.extra" => "Every policy on a checked table is declared.",
        "Declare the policy in the spec, or drop it in a migration.";
    "security.definer_search_path" => "A SECURITY DEFINER function pins its search_path (SET search_path), whether a spec lists it or not.",
        "ALTER FUNCTION … SET search_path = pg_catalog, pg_temp (or your schema), or acknowledge the finding in the spec with a reason.";
    "security.definer_public_execute" => "A SECURITY DEFINER function is not executable by PUBLIC, whether a spec lists it or not.",
        "REVOKE EXECUTE ON FUNCTION … FROM PUBLIC and grant it to the roles that need it, or acknowledge the finding with a reason.";
    "migration.applied" => "A migration in the folder is applied with the checksum it has now.",
        "Nothing to do: this check passed.";
    "migration.pending" => "Every migration in the folder is applied.",
        "Apply it (`reims-verify migrate --all`), or remove it from the folder.";
    "migration.failed" => "No migration's last attempt failed.",
        "Fix the migration and apply it again.";
    "migration.checksum" => "No applied migration has changed since it was applied.",
        "Restore the applied version of the file and put the change in a new migration.";
    "migration.unknown" => "Nothing is recorded as applied that the migrations folder lacks.",
        "Add the file to the migrations folder, or find out who applied it.";
    "probe.check" => "A CHECK constraint accepts exactly the values its structured rule allows.",
        "The printed value shows the disagreement: fix the CHECK or the rule.";
    "probe.sample" => "Every sample row of the spec is accepted by the schema.",
        "Fix the sample or the schema: the spec calls these rows valid.";
    "probe.run" => "The probes could run on this server (not a standby, not refused by its settings).",
        "Run the probes against a primary that accepts read-write transactions, or leave out `--probe`.";
    "probe.property" => "A property declared in a spec holds on every generated sequence (one finding per property, beside one per function or trigger it proves).",
        "Run the printed reproduction by hand; a property that was not run says why (a missing table, privilege or row).";
    "probe.trace" => "The probes left nothing behind: no sequence advanced during their rolled-back work.",
        "A probed function draws from a sequence: probe it on a throw-away database, or accept the gap in the named sequence.";
}

/// The catalogue entry for `code`, if it is a known code.
pub fn lookup(code: &str) -> Option<&'static CheckCode> {
    CHECK_CODES.iter().find(|c| c.code == code)
}

/// The object kind a code belongs to: the part before the first dot (`index` for
/// `index.predicate`).
pub fn family(code: &str) -> &str {
    code.split_once('.').map(|(f, _)| f).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CHECK_CODES {
            assert!(seen.insert(c.code), "{} is listed twice", c.code);
            let (family, check) = c.code.split_once('.').expect("family.check");
            for part in [family, check] {
                assert!(
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'),
                    "{} is not a lower-case dotted code",
                    c.code
                );
            }
            assert!(
                c.title.ends_with('.') && c.help.ends_with('.'),
                "{}",
                c.code
            );
        }
        assert_eq!(lookup("index.predicate").unwrap().code, "index.predicate");
        assert!(lookup("index.nonsense").is_none());
        assert_eq!(family("index.predicate"), "index");
    }
}
