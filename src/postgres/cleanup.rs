//! A process-wide list of live clusters, so that Ctrl-C, SIGTERM, a panic or plain process
//! exit (statics are never dropped) still stops every server and deletes every temp dir.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once, OnceLock};

/// What is needed to tear a cluster down without its owner.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    pub pid: i32,
    pub dir: PathBuf,
}

fn registry() -> &'static Mutex<HashMap<u64, Registered>> {
    static REG: OnceLock<Mutex<HashMap<u64, Registered>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

pub(crate) fn register(id: u64, entry: Registered) {
    install_exit_hook();
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, entry);
}

pub(crate) fn unregister(id: u64) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
}

/// Stop a server by pid (immediate shutdown, then SIGKILL) and delete its folder.
pub(crate) fn teardown(entry: &Registered) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(entry.pid);
    if kill(pid, Signal::SIGQUIT).is_ok() {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if kill(pid, None).is_err() {
                break;
            }
            // Reap if it is our child; ignore errors (it may already be reaped).
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if kill(pid, None).is_ok() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
    let _ = std::fs::remove_dir_all(&entry.dir);
}

/// Stop every registered cluster. Safe to call more than once.
pub fn cleanup_all() {
    let entries: Vec<(u64, Registered)> = registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    for (_, entry) in entries {
        teardown(&entry);
    }
}

extern "C" fn at_exit() {
    cleanup_all();
}

fn install_exit_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe {
            libc::atexit(at_exit);
        }
    });
}

/// Make Ctrl-C, SIGTERM and SIGHUP stop every cluster before the process exits with 130.
/// The binary calls this once; libraries embedding the crate may choose not to.
pub fn install_signal_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            eprintln!("reims-verify: interrupted; stopping PostgreSQL and removing temp files");
            cleanup_all();
            std::process::exit(130);
        });
    });
}
