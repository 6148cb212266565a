//! The database document: a spec file whose top-level key is `database:`. It states what
//! belongs to the database rather than to any schema: who may connect to it, create
//! schemas in it and make temporary tables (`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE
//! …`), whether objects of no schema (event triggers, publications, casts) are
//! accepted, which schemas no spec describes are accepted unread, and whether settings
//! stored for roles are. Without one, a database a throw-away server made is expected to keep PostgreSQL's
//! default, and on a server you hand over, privileges other than the default are a skip
//! that names them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::privileges::ObjectPrivileges;

/// One database document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatabaseDocument {
    /// What the specs say of the database the migrations run in.
    pub database: DatabaseSpec,
}

/// The database's own privileges, and the objects of no schema, the schemas no spec
/// describes and the role settings it accepts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Owner and grants (`connect`, `create`, `temporary`). Absent: PostgreSQL's default,
    /// `{ public: [connect, temporary] }`, no other role holding anything. The owner is
    /// compared only when `owner:` names it, since whoever creates the database is no
    /// migration's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<ObjectPrivileges>,
    /// Accept the objects of the database that belong to no schema and that the format
    /// cannot describe (event triggers, publications, subscriptions, casts, foreign-data
    /// wrappers, servers, user mappings, transforms, access methods): each is then a skip
    /// that names it instead of a failure. Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_extra: bool,
    /// Schemas of the database that no spec or schema document describes and that are
    /// accepted unread, by name (a DBA's `monitoring`, say): each is then a skip that says
    /// what it holds instead of a `schema.extra` failure. Absent: none. A schema a spec,
    /// a schema document or `--schema` names is read and compared instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_schemas: Vec<String>,
    /// Accept the settings stored for roles (`ALTER ROLE r [IN DATABASE …] SET
    /// search_path …`): on a throw-away server, a `search_path` or `role` set that way is
    /// then a skip that names it instead of a `role.settings` failure. Absent: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_role_settings: bool,
}
