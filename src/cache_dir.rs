//! The user's cache folder for reims-verify: copies of fresh data directories and the
//! specs as PostgreSQL normalised them. Everything in it is rebuilt when missing, so the
//! folder is safe to delete at any time.
//!
//! `REIMS_VERIFY_NO_CACHE=1` turns every cache off; `REIMS_VERIFY_CACHE_DIR` moves the
//! folder (default `$XDG_CACHE_HOME/reims-verify`, else `~/.cache/reims-verify`).

use std::path::PathBuf;

/// The cache folder, or `None` when caching is off or there is no home to put it in.
pub fn root() -> Option<PathBuf> {
    if std::env::var_os("REIMS_VERIFY_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    home()
}

/// The cache folder whether or not caching is on: installed PostgreSQL binaries live under
/// it too, and `REIMS_VERIFY_NO_CACHE` does not turn those off.
pub fn home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REIMS_VERIFY_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(xdg).join("reims-verify"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/reims-verify"))
}
