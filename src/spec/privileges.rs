//! Access control in specs: who owns an object, what PUBLIC may do with it, and which roles
//! hold which privileges (with or without grant option), per relation, column, function,
//! sequence, schema and type.
//!
//! Every part is optional, and an absent part means PostgreSQL's default for the object
//! kind, with the owner being the migrating role (`$migrator`): so an object whose spec says
//! nothing about privileges must have exactly the ACL a fresh `CREATE` gives it, and any
//! grant nobody declared is reported.
//!
//! Role names are written as PostgreSQL stores them (`reims_app`), or as a *role variable*
//! `$name` that the command line binds (`--role name=reims_app`). `$migrator` is built in:
//! unless bound on the command line it is the role that owns `schema_migrations`, i.e. the
//! role that ran the migrations.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The built-in role variable: the role that ran the migrations.
pub const MIGRATOR: &str = "$migrator";

/// Privileges of a table, view or materialized view, and of its columns.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelationPrivileges {
    /// The owning role. Absent: `$migrator`, the role that ran the migrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What PUBLIC (every role) may do, e.g. `[select]`. Absent: nothing, as after
    /// `CREATE TABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<Vec<String>>,
    /// Direct grants: role → privileges, e.g. `reims_app: [select, insert, update]`, or
    /// `[select with grant option]`. A role not listed holds nothing; the owner holds every
    /// privilege unless it is listed here with fewer.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub roles: IndexMap<String, Vec<String>>,
    /// Column-level grants (`GRANT SELECT (col) …`): column → grants. A column not listed
    /// has none.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub columns: IndexMap<String, ColumnPrivileges>,
    /// Grants on the sequences this relation's columns own (`serial`, identity), by
    /// sequence name, e.g. `entries_id_seq: { roles: { app: [usage] } }`. A sequence not
    /// listed has PostgreSQL's default: owned by the relation's owner, nothing granted.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sequences: IndexMap<String, ObjectPrivileges>,
}

/// Column-level grants of one column.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnPrivileges {
    /// What PUBLIC may do with the column. Absent: nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public: Vec<String>,
    /// Direct grants on the column: role → privileges (`select`, `insert`, `update`,
    /// `references`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub roles: IndexMap<String, Vec<String>>,
}

/// Privileges of a function, procedure, sequence, schema or type.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectPrivileges {
    /// The owning role. Absent: `$migrator`, the role that ran the migrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What PUBLIC may do. Absent: PostgreSQL's default, which is `[execute]` for functions
    /// and procedures, `[usage]` for types and nothing for sequences and schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<Vec<String>>,
    /// Direct grants: role → privileges. A role not listed holds nothing.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub roles: IndexMap<String, Vec<String>>,
}

/// What kind of object a privilege list is about; decides which privileges exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AclKind {
    /// Table, view, materialized view, foreign table.
    Relation,
    /// A column of a relation.
    Column,
    /// Function or procedure.
    Function,
    /// Sequence.
    Sequence,
    /// Schema.
    Schema,
    /// Enum, domain or composite type.
    Type,
    /// The database itself (`GRANT CREATE ON DATABASE …`).
    Database,
}

impl AclKind {
    /// The privileges PostgreSQL knows for this kind, as `aclexplode` names them.
    /// `MAINTAIN` exists from PostgreSQL 17 on; a server without it never reports it.
    pub fn known(self) -> &'static [&'static str] {
        match self {
            AclKind::Relation => &[
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
                "MAINTAIN",
            ],
            AclKind::Column => &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
            AclKind::Function => &["EXECUTE"],
            AclKind::Sequence => &["USAGE", "SELECT", "UPDATE"],
            AclKind::Schema => &["USAGE", "CREATE"],
            AclKind::Type => &["USAGE"],
            AclKind::Database => &["CREATE", "CONNECT", "TEMPORARY"],
        }
    }

    /// What PUBLIC holds on a fresh object of this kind (`acldefault`).
    pub fn public_default(self) -> &'static [&'static str] {
        match self {
            AclKind::Function => &["EXECUTE"],
            AclKind::Type => &["USAGE"],
            AclKind::Database => &["CONNECT", "TEMPORARY"],
            _ => &[],
        }
    }

    /// The kind's letter for `acldefault` (`r`, `s`, `f`, `n`, `T`, `d`); a column has none
    /// (its grants are a subset of its relation's, with no default of their own).
    pub fn acl_letter(self) -> Option<&'static str> {
        match self {
            AclKind::Relation => Some("r"),
            AclKind::Sequence => Some("s"),
            AclKind::Function => Some("f"),
            AclKind::Schema => Some("n"),
            AclKind::Type => Some("T"),
            AclKind::Database => Some("d"),
            AclKind::Column => None,
        }
    }

    /// The kind's name for messages.
    pub fn name(self) -> &'static str {
        match self {
            AclKind::Relation => "relation",
            AclKind::Column => "column",
            AclKind::Function => "function",
            AclKind::Sequence => "sequence",
            AclKind::Schema => "schema",
            AclKind::Type => "type",
            AclKind::Database => "database",
        }
    }
}

/// One privilege of a spec list, parsed: `update with grant option` → (`UPDATE`, true).
/// `all` stands for every privilege of the kind and is expanded against the server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecGrant {
    /// Upper-case privilege name as `aclexplode` prints it, or `ALL`.
    pub privilege: String,
    /// WITH GRANT OPTION.
    pub grant_option: bool,
}

/// Parse one entry of a privilege list for `kind`; the error says what is allowed.
pub fn parse_grant(entry: &str, kind: AclKind) -> Result<SpecGrant, String> {
    let words: Vec<String> = entry
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let (name, grant_option) = match words.as_slice() {
        [p] => (p.clone(), false),
        [p, w, g, o] if w == "WITH" && g == "GRANT" && o == "OPTION" => (p.clone(), true),
        _ => {
            return Err(format!(
                "`{entry}` is not a privilege; write a privilege name, optionally followed by `with grant option`"
            ))
        }
    };
    if name == "ALL" || kind.known().contains(&name.as_str()) {
        Ok(SpecGrant {
            privilege: name,
            grant_option,
        })
    } else {
        Err(format!(
            "`{entry}` is not a privilege of a {}; use {} or all",
            kind.name(),
            kind.known()
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Parse a whole list; the error names the entry.
pub fn parse_grants(entries: &[String], kind: AclKind) -> Result<Vec<SpecGrant>, String> {
    entries.iter().map(|e| parse_grant(e, kind)).collect()
}

/// True for a role variable (`$name`).
pub fn is_variable(role: &str) -> bool {
    role.starts_with('$')
}

/// Check a role name as a spec writes it; the error says why it is not one.
pub fn check_role_name(role: &str) -> Result<(), String> {
    if role.trim().is_empty() {
        return Err("a role name is empty".into());
    }
    if role.eq_ignore_ascii_case("public") {
        return Err("PUBLIC is not a role here; write its privileges under `public:`".into());
    }
    if let Some(var) = role.strip_prefix('$') {
        let ok = !var.is_empty()
            && var
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(format!(
                "`{role}` is not a role variable; write `$` and letters, digits, `_` or `-` (e.g. `$app`)"
            ));
        }
    }
    Ok(())
}

/// The built-in security checks a function spec may acknowledge (`acknowledge:`).
pub const ACKNOWLEDGEABLE: &[&str] = &[
    "security.definer_search_path",
    "security.definer_public_execute",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_parse_with_grant_option_and_are_checked_against_the_kind() {
        assert_eq!(
            parse_grant("select", AclKind::Relation).unwrap(),
            SpecGrant {
                privilege: "SELECT".into(),
                grant_option: false
            }
        );
        assert_eq!(
            parse_grant("Update  WITH grant option", AclKind::Column).unwrap(),
            SpecGrant {
                privilege: "UPDATE".into(),
                grant_option: true
            }
        );
        assert_eq!(
            parse_grant("all", AclKind::Function).unwrap().privilege,
            "ALL"
        );
        let err = parse_grant("execute", AclKind::Relation).unwrap_err();
        assert!(err.contains("select, insert"), "{err}");
        assert!(parse_grant("delete", AclKind::Column).is_err());
        assert!(parse_grant("select with option", AclKind::Relation).is_err());
        assert!(parse_grant("usage", AclKind::Sequence).is_ok());
        assert!(parse_grant("create", AclKind::Schema).is_ok());
        assert!(parse_grant("temporary", AclKind::Database).is_ok());
        assert!(parse_grant("usage", AclKind::Database).is_err());
    }

    #[test]
    fn role_names_and_variables() {
        assert!(check_role_name("reims_app").is_ok());
        assert!(check_role_name("$app").is_ok());
        assert!(check_role_name("$migrator").is_ok());
        assert!(check_role_name("PUBLIC").is_err());
        assert!(check_role_name("$").is_err());
        assert!(check_role_name("$a b").is_err());
        assert!(check_role_name(" ").is_err());
        assert!(is_variable("$x") && !is_variable("x"));
    }
}
