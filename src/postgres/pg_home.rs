//! Where `pg install` puts PostgreSQL binaries and where discovery finds them. Apart from
//! both so that the installer, which needs discovery's version parsing, and discovery,
//! which looks in this folder, do not import each other.

use std::path::PathBuf;

/// Environment variable naming the folder `pg install` writes to and discovery reads.
pub const PG_HOME_ENV: &str = "REIMS_VERIFY_PG_HOME";

/// Where root installs go by default: a folder the server's OS user can read (root's own
/// home is closed to it).
const ROOT_PG_HOME: &str = "/var/cache/reims-verify/pg";

/// Where installed majors live: `REIMS_VERIFY_PG_HOME`, else for root
/// `/var/cache/reims-verify/pg`, else `<cache folder>/pg` (`$XDG_CACHE_HOME/reims-verify/pg`
/// or `~/.cache/reims-verify/pg`).
pub fn pg_home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(PG_HOME_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from(ROOT_PG_HOME));
    }
    crate::cache_dir::home().map(|c| c.join("pg"))
}
