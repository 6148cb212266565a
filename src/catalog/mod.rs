//! Reading `pg_catalog` into a plain model, with a fixed handful of queries however many
//! objects there are, every expression printed by PostgreSQL's own functions.

mod model;
mod objects;
mod read;
pub mod sqltext;

pub use model::*;
pub use read::{read_schema, read_schemas, CATALOG_QUERIES};
pub use sqltext::{split_index_elem, IndexElem};
