//! Where a database comes from: an ephemeral local cluster, or a URL the user hands over.

mod bindir;
mod cleanup;
mod database;
mod ephemeral;
mod spawn;
mod target;

pub use bindir::{find_bindir, BinDir};
pub use cleanup::{cleanup_all, install_signal_handlers, interrupted};
pub use database::{Database, CONNECT_TIMEOUT, EPHEMERAL_DB};
pub use ephemeral::{ClusterOptions, EphemeralCluster};
pub use target::{redact_url, DatabaseUrl};
