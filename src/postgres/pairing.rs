//! Keeping a thread and the server processes it talks to on one core.
//!
//! A session with the run's own throw-away server is a ping-pong: the client sends a
//! statement and waits, the server answers and waits. When the two sit on different cores,
//! every hand-over wakes the other core, and on a virtual machine (where most CI runs) that
//! is an interrupt between processors and an exit to the hypervisor, which costs more than
//! most of the statements: `pgbench` of `SELECT 1` here takes 0.09-0.2 ms a round trip with
//! the two on their own, 0.02 ms with both on one core. The work that is such a ping-pong
//! (applying migrations statement by statement, the probes) pins its thread to the core it
//! runs on with [`CorePair::pin_here`], and every session the thread then opens on a local
//! throw-away server has its server process put on that core ([`join`]). The thread gets its
//! own cores back when the pair is dropped; the server processes end with their sessions.
//!
//! Only a local ephemeral cluster's processes are moved: a container's are in another
//! process namespace, and a handed-over server is never touched. Where a core cannot be set
//! (another operating system, a refused call), nothing is pinned and the work runs as before:
//! this changes how fast the work runs, never what it does.

use std::cell::Cell;
use std::marker::PhantomData;

use sqlx::PgConnection;

thread_local! {
    /// The core the calling thread is pinned to by a live [`CorePair`], if any.
    static HOME: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The calling thread pinned to one core until dropped, when it gets its earlier set of cores
/// back. Not `Send`: it must be dropped on the thread it pinned. A thread or process started
/// from the thread while the pair lives inherits its one core for good: start none (a
/// server started then would put every session of its own on that core).
pub struct CorePair {
    core: usize,
    saved: imp::CoreSet,
    outer: Option<usize>,
    _thread: PhantomData<*const ()>,
}

impl CorePair {
    /// Pin the calling thread to the core it runs on now. `None` (and nothing pinned) where
    /// the platform or the process's limits do not allow it, or when the variable
    /// `REIMS_VERIFY_NO_PAIRING` is set.
    pub fn pin_here() -> Option<CorePair> {
        Self::pin_to(imp::current_core()?)
    }

    /// Pin the calling thread to `core`, which must be one of its cores now. `None` (and
    /// nothing pinned) as for [`CorePair::pin_here`].
    pub fn pin_to(core: usize) -> Option<CorePair> {
        if std::env::var_os(NO_PAIRING_ENV).is_some() {
            return None;
        }
        let saved = imp::thread_cores()?;
        if !saved.contains(core) || !imp::pin_thread(core) {
            return None;
        }
        let outer = HOME.with(|h| h.replace(Some(core)));
        Some(CorePair {
            core,
            saved,
            outer,
            _thread: PhantomData,
        })
    }

    /// The core the thread is pinned to.
    pub fn core(&self) -> usize {
        self.core
    }

    /// The thread's other cores before it was pinned, in order: where sessions that work
    /// beside this thread's own can go.
    pub fn spare_cores(&self) -> Vec<usize> {
        self.saved
            .list()
            .into_iter()
            .filter(|c| *c != self.core)
            .collect()
    }
}

impl Drop for CorePair {
    fn drop(&mut self) {
        imp::restore_thread(&self.saved);
        HOME.with(|h| h.set(self.outer));
    }
}

/// Set to any value, no thread or server process is pinned (for comparing, or for a machine
/// where pinning hurts).
pub const NO_PAIRING_ENV: &str = "REIMS_VERIFY_NO_PAIRING";

/// The core the calling thread is pinned to by a [`CorePair`], if any.
pub fn home() -> Option<usize> {
    HOME.with(|h| h.get())
}

/// The cores the calling thread may run on, in order (empty where that cannot be read).
pub fn thread_cores() -> Vec<usize> {
    imp::thread_cores().map(|s| s.list()).unwrap_or_default()
}

/// Put the server process behind `conn` on the calling thread's core, when a [`CorePair`]
/// holds the thread there. `conn` must be a session with a server whose processes are this
/// machine's (a local ephemeral cluster). Best effort: a failure leaves the process where it
/// was and the session as it was.
pub async fn join(conn: &mut PgConnection) {
    if let Some(core) = home() {
        join_core(conn, core).await;
    }
}

/// Put the server process behind `conn` on `core` (best effort, as for [`join`]).
pub async fn join_core(conn: &mut PgConnection, core: usize) {
    let pid: Result<i32, _> = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await;
    if let Ok(pid) = pid {
        imp::pin_process(pid, core);
    }
}

#[cfg(target_os = "linux")]
mod imp {
    /// A set of cores, as the kernel takes it.
    #[derive(Clone, Copy)]
    pub struct CoreSet(libc::cpu_set_t);

    impl CoreSet {
        pub fn contains(&self, core: usize) -> bool {
            core < libc::CPU_SETSIZE as usize && unsafe { libc::CPU_ISSET(core, &self.0) }
        }

        pub fn list(&self) -> Vec<usize> {
            (0..libc::CPU_SETSIZE as usize)
                .filter(|c| self.contains(*c))
                .collect()
        }

        fn only(core: usize) -> Option<CoreSet> {
            if core >= libc::CPU_SETSIZE as usize {
                return None;
            }
            // SAFETY: cpu_set_t is plain bits; CPU_ZERO and CPU_SET stay within it (checked
            // above).
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_ZERO(&mut set);
                libc::CPU_SET(core, &mut set);
                Some(CoreSet(set))
            }
        }
    }

    fn set_affinity(pid: libc::pid_t, set: &CoreSet) -> bool {
        // SAFETY: the set is a valid cpu_set_t of the size passed.
        unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set.0) == 0 }
    }

    /// The calling thread's cores.
    pub fn thread_cores() -> Option<CoreSet> {
        // SAFETY: the kernel writes at most the size passed into the zeroed set.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
                .then_some(CoreSet(set))
        }
    }

    /// The core the calling thread runs on at this moment.
    pub fn current_core() -> Option<usize> {
        // SAFETY: no arguments; -1 on failure.
        let core = unsafe { libc::sched_getcpu() };
        usize::try_from(core).ok()
    }

    /// Pin the calling thread (pid 0 is the calling thread for this call) to `core`.
    pub fn pin_thread(core: usize) -> bool {
        CoreSet::only(core).is_some_and(|s| set_affinity(0, &s))
    }

    pub fn restore_thread(saved: &CoreSet) {
        set_affinity(0, saved);
    }

    pub fn pin_process(pid: i32, core: usize) -> bool {
        pid > 0 && CoreSet::only(core).is_some_and(|s| set_affinity(pid, &s))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct CoreSet;

    impl CoreSet {
        pub fn contains(&self, _core: usize) -> bool {
            false
        }
        pub fn list(&self) -> Vec<usize> {
            Vec::new()
        }
    }

    pub fn thread_cores() -> Option<CoreSet> {
        None
    }
    pub fn current_core() -> Option<usize> {
        None
    }
    pub fn pin_thread(_core: usize) -> bool {
        false
    }
    pub fn restore_thread(_saved: &CoreSet) {}
    pub fn pin_process(_pid: i32, _core: usize) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_pair_pins_the_thread_to_its_core_and_gives_the_cores_back_when_dropped() {
        if std::env::var_os(NO_PAIRING_ENV).is_some() {
            println!("SKIPPED: {NO_PAIRING_ENV} is set, so nothing is pinned");
            return;
        }
        let before = thread_cores();
        assert!(!before.is_empty(), "the thread's cores cannot be read");
        let last = *before.last().unwrap();
        assert_eq!(home(), None);
        {
            let pair = CorePair::pin_to(last).expect("pinning to one of the thread's cores");
            assert_eq!(pair.core(), last);
            assert_eq!(thread_cores(), vec![last]);
            assert_eq!(home(), Some(last));
            assert_eq!(
                pair.spare_cores(),
                before
                    .iter()
                    .copied()
                    .filter(|c| *c != last)
                    .collect::<Vec<_>>()
            );
            // Nested: the inner pair's core while it lives, the outer's after.
            {
                let inner = CorePair::pin_here().expect("pinning where the thread runs");
                assert_eq!(inner.core(), last);
                assert_eq!(home(), Some(last));
            }
            assert_eq!(thread_cores(), vec![last]);
            assert_eq!(home(), Some(last));
        }
        assert_eq!(thread_cores(), before);
        assert_eq!(home(), None);
    }

    #[test]
    fn a_core_the_thread_may_not_use_is_refused_and_nothing_changes() {
        let before = thread_cores();
        let outside = (0..4096).find(|c| !before.contains(c)).unwrap();
        assert!(CorePair::pin_to(outside).is_none());
        assert_eq!(thread_cores(), before);
        assert_eq!(home(), None);
    }
}
