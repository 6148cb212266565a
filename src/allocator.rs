//! The memory allocator of the `reims-verify` binary and of the benchmark, which declare
//! [`Allocator`] as their global allocator and call [`tune`] first, so that both measure
//! the same program.
//!
//! mimalloc rather than the system's: the comparison, the run record and the reports
//! allocate and free one small string after another, and glibc's `malloc` and `free` were
//! about 45 % of verify's profile on REIMS. With mimalloc's own defaults the peak at 5,000
//! tables rose from 463 to 494-505 MB; [`tune`] brings it below glibc's.
//!
//! Transparent huge pages are turned off for the process. mimalloc asks for them on its
//! arenas, and where the system grants them on request (`madvise`, the common setting),
//! each first touch of a 2 MiB page zeroes the whole page and may compact memory first; at
//! a thousand tables that was about a fifth of writing the reports, and the pages held
//! memory the run no longer used (README, "Speed", the allocator).

use libmimalloc_sys as sys;

/// The allocator to declare with `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// mimalloc 3's number for "commit arenas eagerly" (`mi_option_arena_eager_commit` in its
/// `mimalloc.h`; the crate's bindings do not name it). Its default is 2.
const ARENA_EAGER_COMMIT: sys::mi_option_t = 4;
/// mimalloc 3's number for "give freed memory back after N milliseconds"
/// (`mi_option_purge_delay`). Its default is 1,000.
const PURGE_DELAY: sys::mi_option_t = 15;
/// mimalloc 3's number for "ask for transparent huge pages" (`mi_option_allow_thp`). Its
/// default is 1.
const ALLOW_THP: sys::mi_option_t = 43;

/// How long freed memory is kept for reuse before it goes back to the system. At 0, every
/// report's rendering gave back and faulted in again the same memory many times over
/// (about 10,000 page faults at a thousand tables, against about 1,500 at 100 ms); at
/// mimalloc's default of a second, the peak at 5,000 tables was 8-10 MiB higher.
const PURGE_DELAY_MS: std::os::raw::c_long = 100;

/// Keep freed memory only briefly, commit arena memory only as it is used, and use no
/// transparent huge pages: the run's peak memory is what a thousand-table schema makes
/// tight, and huge pages cost it both memory and time. mimalloc's options are left alone
/// under another major version of it, whose option numbers may differ.
///
/// The huge pages are turned off for the whole process (`PR_SET_THP_DISABLE`), which
/// covers the memory mimalloc mapped before this call; the setting is inherited by the
/// processes the run starts, its throw-away PostgreSQL servers among them, as it is by
/// the benchmark's floor, which this program starts too.
pub fn tune() {
    #[cfg(target_os = "linux")]
    {
        // Refused only by kernels older than 3.15; the run is then as it was.
        let _ = nix::sys::prctl::set_thp_disable(true);
    }
    if !is_mimalloc_3() {
        return;
    }
    // SAFETY: plain setters of mimalloc's option table, valid at any time.
    unsafe {
        sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
        sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        sys::mi_option_set(ALLOW_THP, 0);
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
    /// [`tune`] sets it (no other option of mimalloc 3 defaults to 1,000). And the huge
    /// pages are off for this process and for a process it starts, as the README says.
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
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(get(ALLOW_THP), 1);
        }
        tune();
        assert_eq!(get(PURGE_DELAY), PURGE_DELAY_MS);
        assert_eq!(get(ARENA_EAGER_COMMIT), 0);
        assert_eq!(get(ALLOW_THP), 0);
        #[cfg(target_os = "linux")]
        {
            assert_eq!(nix::sys::prctl::get_thp_disable().ok(), Some(true));
            // A process this one starts (a PostgreSQL server, say) has them off too.
            let status = std::process::Command::new("cat")
                .arg("/proc/self/status")
                .output()
                .expect("run cat");
            let status = String::from_utf8_lossy(&status.stdout);
            let line = status.lines().find(|l| l.starts_with("THP_enabled:"));
            match line {
                Some(line) => assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}"),
                None => eprintln!("SKIPPED the child's THP_enabled: this kernel does not show it"),
            }
        }
    }
}
