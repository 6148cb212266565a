//! The property engine: runs the `properties:` that specs declare (see `spec::property`).
//!
//! Each property runs in its own transaction (REPEATABLE READ, rolled back; see
//! `probe::session`), and each sequence in a savepoint inside it. Sequences are drawn with
//! proptest: first the property's examples, then its edge sweeps, then `--cases` random
//! sequences. The first failure is shrunk and reported with SQL that reproduces it.

mod bind;
mod draw;
mod plan;
mod play;
mod prepared;
mod prove;
mod rowgen;
mod run;

pub use plan::Plan;
pub use rowgen::RowContext;
pub use run::run_properties;
pub(crate) use run::{run_plan, units};
