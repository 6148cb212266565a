//! Spawning the server so that it dies with this process, whatever kills it.
//!
//! Linux's parent-death signal fires when the *thread* that forked the child exits, not the
//! process. Test harnesses run each test on a short-lived thread, so the server is spawned
//! from one long-lived thread that lives as long as the process does.

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

type Job = (Command, mpsc::Sender<io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<Job>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("reims-verify-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The channel never closes while the process lives; if it does, park so that
                // the children's parent-death signal is not fired early.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn the spawner thread");
        Mutex::new(tx)
    })
}

/// Spawn `cmd` so that it receives `on_death` if this process dies without cleaning up,
/// e.g. on SIGKILL. A server takes SIGQUIT (PostgreSQL's immediate shutdown, which removes
/// its shared memory); initdb takes SIGKILL, since it only notes SIGQUIT or SIGTERM, and
/// ignores SIGQUIT outright while the shell runs its `postgres --check`, then carries on
/// starting backends in a folder the next run is removing. Its backend of the moment ends
/// by itself (its input ends, or its check is done), through PostgreSQL's own clean-up.
///
/// The child leads its own process group, so that teardown can stop it together with every
/// process it started (initdb's bootstrap backend, the server's backends), and so that a
/// terminal's Ctrl-C reaches only reims-verify, which then shuts things down in order.
pub fn spawn_bound_to_process(mut cmd: Command, on_death: libc::c_int) -> io::Result<Child> {
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl and getppid are async-signal-safe and touch only the calling (child)
        // thread.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, on_death) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // This process may have died between the fork and the prctl: then no
                // signal will come, and the child must not start at all. (No allocation
                // here: another thread may have held the allocator's lock at the fork.)
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let (tx, rx) = mpsc::channel();
    spawner()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("spawner thread is gone"))?
}
