//! The memory allocator of the `reims-verify` binary and of the benchmark, which declare
//! [`Allocator`] as their global allocator and call [`tune`] first, so that both measure
//! the same program.
//!
//! mimalloc rather than the system's: the comparison, the run record and the reports
//! allocate and free one small string after another, and glibc's `malloc` and `free` were
//! about 45 % of verify's profile on REIMS. With mimalloc's own defaults the peak at 5,000
//! tables rose from 463 to 494-505 MB; [`tune`] brings it below glibc's.

use libmimalloc_sys as sys;

/// The allocator to declare with `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// mimalloc 3's number for "commit arenas eagerly" (`mi_option_arena_eager_commit` in its
/// `mimalloc.h`; the crate's bindings do not name it). Its default is 2.
const ARENA_EAGER_COMMIT: sys::mi_option_t = 4;
/// mimalloc 3's number for "give freed memory back after N milliseconds"
/// (`mi_option_purge_delay`). Its default is 1,000.
const PURGE_DELAY: sys::mi_option_t = 15;

/// Give freed memory back to the system at once, and commit arena memory only as it is
/// used: the run's peak memory, not its speed, is what a thousand-table schema makes
/// tight. Does nothing under another major version of mimalloc, whose option numbers may
/// differ.
pub fn tune() {
    if !is_mimalloc_3() {
        return;
    }
    // SAFETY: plain setters of mimalloc's option table, valid at any time.
    unsafe {
        sys::mi_option_set(PURGE_DELAY, 0);
        sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

/// Whether the linked mimalloc is of major version 3, whose option numbers these are.
fn is_mimalloc_3() -> bool {
    // SAFETY: returns a constant.
    unsafe { sys::mi_version() / 10_000 == 3 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers name the options meant: each reads back its documented default until
    /// [`tune`] sets it (no other option of mimalloc 3 defaults to 1,000).
    #[test]
    fn the_option_numbers_are_mimalloc_3s() {
        assert!(is_mimalloc_3(), "mimalloc {}", unsafe { sys::mi_version() });
        // SAFETY: plain getters.
        let get = |o| unsafe { sys::mi_option_get(o) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(PURGE_DELAY), 1000);
        }
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(get(ARENA_EAGER_COMMIT), 2);
        }
        tune();
        assert_eq!(get(PURGE_DELAY), 0);
        assert_eq!(get(ARENA_EAGER_COMMIT), 0);
    }
}
