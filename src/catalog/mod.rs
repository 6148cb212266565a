//! Reading `pg_catalog` into a plain model, with a fixed handful of queries however many
//! objects there are, every expression printed by PostgreSQL's own functions.

pub mod acl;
pub mod builtin;
mod model;
mod names;
mod objects;
mod read;
mod settings;
pub mod sqltext;

pub use acl::{
    function_key, read_column_readers, Access, Acl, AclEntry, ColumnReader, DatabaseAccess,
    DefaultAcl, FunctionAcl, Policy, ReplicaScope, ReplicaSessions, RoleInfo, RoleSetting,
    SensitiveColumn, TableSecurity,
};
pub use model::*;
pub(crate) use read::attribute_options;
pub(crate) use read::storage_parameters;
pub use read::{
    printing_statements, read_builtin_state_pinned, read_schema, read_schemas,
    read_schemas_and_builtin_on_two, read_schemas_on_two, unpin_printing, CATALOG_QUERIES,
    PRINTING,
};
pub use sqltext::{split_index_elem, IndexElem};

/// The error for a catalog query that failed: which part of `pg_catalog` was being read.
fn db_err(what: &str) -> impl Fn(sqlx::Error) -> crate::error::Error + '_ {
    move |e| crate::error::Error::database(format!("reading {what} from pg_catalog"), &e)
}
