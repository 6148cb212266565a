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
    "table.extra" => "Every relation in the checked schema has a spec.",
        "Write a spec for the relation (`reims-verify spec snapshot` drafts one), or drop it in a migration.";
    "column.exists" => "A column the spec lists exists.",
        "Add the column in a migration, or remove it from the spec.";
    "column.type" => "A column has the declared type, as PostgreSQL prints it.",
        "Change the column's type in a migration, or correct the spec.";
    "column.collation" => "A column has the declared collation.",
        "Set the collation in a migration, or correct the spec's `collation`.";
    "column.nullable" => "A column's NOT NULL matches the spec.",
        "Add or drop NOT NULL in a migration, or correct the spec's `nullable`.";
    "column.default" => "A column's default expression matches the spec.",
        "Set or drop the default in a migration, or correct the spec's `default`.";
    "column.extra" => "Every column of the relation is listed in its spec.",
        "List the column in the spec, drop it in a migration, or set `allow_extra.columns`.";
    "pk.exists" => "The relation has the declared primary key.",
        "Add the primary key in a migration, or correct the spec's `primary_key`.";
    "pk.name" => "The primary key constraint has the declared name.",
        "Rename the constraint in a migration, or correct the spec's `primary_key.name`.";
    "pk.columns" => "The primary key covers the declared columns, in order.",
        "Recreate the primary key in a migration, or correct the spec.";
    "pk.extra" => "The relation has no primary key that its spec does not declare.",
        "Declare the primary key in the spec, or drop it in a migration.";
    "unique.exists" => "A declared UNIQUE constraint exists.",
        "Add the constraint in a migration, or remove it from the spec.";
    "unique.columns" => "A UNIQUE constraint covers the declared columns, in order.",
        "Recreate the constraint in a migration, or correct the spec.";
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
    "fk.on_update" => "A foreign key has the declared ON UPDATE action.",
        "Recreate the foreign key with the right action, or correct the spec's `on_update`.";
    "fk.deferrable" => "A foreign key is DEFERRABLE / INITIALLY DEFERRED as declared.",
        "Alter the constraint's deferrability, or correct the spec.";
    "fk.extra" => "Every foreign key of the relation is declared.",
        "Declare it under `foreign_keys`, drop it, or set `allow_extra.constraints`.";
    "constraint.extra" => "The relation has no EXCLUDE constraint that its spec cannot state.",
        "Drop the constraint, or set `allow_extra.constraints` and describe it in the spec's comments.";
    "check.exists" => "A declared CHECK constraint exists.",
        "Add the CHECK in a migration, or remove it from the spec.";
    "check.rule" => "A CHECK constraint's expression equals the spec's rule, as PostgreSQL prints both.",
        "Recreate the CHECK with the spec's rule, or correct the rule.";
    "check.extra" => "Every CHECK constraint of the relation is declared.",
        "Declare it under `checks`, drop it, or set `allow_extra.constraints`.";
    "index.exists" => "A declared index exists.",
        "Create the index in a migration, or remove it from the spec.";
    "index.unique" => "An index is UNIQUE exactly when the spec says so.",
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
    "index.order" => "An index key has the declared ASC/DESC and NULLS order.",
        "Recreate the index with the right order, or correct the key in the spec.";
    "index.predicate" => "A partial index has the declared WHERE predicate.",
        "Recreate the index with the spec's predicate, or correct the spec's `where`.";
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
    "trigger.enabled" => "A declared trigger is enabled.",
        "Enable the trigger (`ALTER TABLE … ENABLE TRIGGER`), or find out who disabled it.";
    "trigger.function" => "A trigger calls the declared function.",
        "Recreate the trigger, or correct the spec's `function`.";
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
    "function.extra" => "Every function and procedure in the checked schema is declared in a spec.",
        "Declare it under some spec's `functions`, or drop it in a migration.";
    "function.property" => "A function behaves as its property says, on generated inputs and sequences.",
        "Run the printed reproduction by hand and fix the function.";
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
