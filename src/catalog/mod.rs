//! Reading `pg_catalog` into a plain model, with a fixed handful of queries however many
//! objects there are, every expression printed by PostgreSQL's own functions.

pub mod acl;
mod model;
mod objects;
mod read;
pub mod sqltext;

pub use acl::{
    function_key, read_column_readers, Access, Acl, AclEntry, ColumnReader, FunctionAcl, Policy,
    RoleInfo, SensitiveColumn, TableSecurity,
};
pub use model::*;
pub use read::{read_schema, read_schemas, read_schemas_on_two, CATALOG_QUERIES};
pub use sqltext::{split_index_elem, IndexElem};
