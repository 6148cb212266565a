//! A process-wide list of live clusters, so that Ctrl-C, SIGTERM, a panic or plain process
//! exit (statics are never dropped) still stops every server and deletes every temp dir,
//! and removes every container of the container backend.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once, OnceLock};

/// What is needed to tear a cluster down without its owner.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    /// The process writing into `dir` (initdb, then the server), if one runs.
    pub pid: Option<i32>,
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

/// Record which process now works in a registered cluster's folder.
pub(crate) fn set_pid(id: u64, pid: Option<i32>) {
    if let Some(e) = registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&id)
    {
        e.pid = pid;
    }
}

/// What is needed to remove a container without its owner: every container carrying the
/// run label `label` (set before the container is created, so a container whose start was
/// interrupted is found too), and the container id once it is known.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredContainer {
    pub label: String,
    pub id: Option<String>,
}

fn containers() -> &'static Mutex<HashMap<u64, RegisteredContainer>> {
    static REG: OnceLock<Mutex<HashMap<u64, RegisteredContainer>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

#[cfg_attr(not(feature = "docker"), allow(dead_code))]
pub(crate) fn register_container(key: u64, entry: RegisteredContainer) {
    install_exit_hook();
    containers()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, entry);
}

/// Record the id of a registered container once Docker has created it.
#[cfg_attr(not(feature = "docker"), allow(dead_code))]
pub(crate) fn set_container_id(key: u64, id: &str) {
    if let Some(e) = containers()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&key)
    {
        e.id = Some(id.to_string());
    }
}

#[cfg_attr(not(feature = "docker"), allow(dead_code))]
pub(crate) fn unregister_container(key: u64) {
    containers()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key);
}

pub(crate) fn unregister(id: u64) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
}

/// Stop the process group working in a cluster folder (immediate shutdown, then SIGKILL)
/// and delete the folder.
pub(crate) fn teardown(entry: &Registered) {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag};
    use nix::unistd::Pid;
    use std::time::{Duration, Instant};
    if let Some(raw) = entry.pid {
        let leader = Pid::from_raw(raw);
        let group = Pid::from_raw(-raw);
        let _ = kill(group, Signal::SIGQUIT);
        let _ = kill(leader, Signal::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Reap the leader if it is our child, and wait for the whole group to be gone.
        while Instant::now() < deadline {
            let _ = waitpid(leader, Some(WaitPidFlag::WNOHANG));
            if kill(group, None).is_err() && kill(leader, None).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if kill(group, None).is_ok() || kill(leader, None).is_ok() {
            let _ = kill(group, Signal::SIGKILL);
            let _ = kill(leader, Signal::SIGKILL);
            let _ = waitpid(leader, None);
        }
    }
    for _ in 0..20 {
        match std::fs::remove_dir_all(&entry.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => break,
        }
    }
}

/// Stop every registered cluster and remove every registered container. Safe to call more
/// than once.
pub fn cleanup_all() {
    let entries: Vec<(u64, Registered)> = registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    for (_, entry) in entries {
        teardown(&entry);
    }
    let boxes: Vec<RegisteredContainer> = containers()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .map(|(_, e)| e)
        .collect();
    super::container::remove_registered(&boxes);
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

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once Ctrl-C / SIGTERM / SIGHUP arrived; the handler is then tearing down and will
/// exit with 130, so the main thread must not report the resulting failures as its own.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Work to undo on a server when the run is interrupted, before the process exits with 130
/// (a migration cancels the statement it runs there and releases its lock). It runs on the
/// signal handler's thread, bounded in time, and returns what it did, for the message.
pub type InterruptHook = Box<dyn Fn() -> Vec<String> + Send + Sync>;

fn interrupt_hooks() -> &'static Mutex<HashMap<u64, std::sync::Arc<InterruptHook>>> {
    static HOOKS: OnceLock<Mutex<HashMap<u64, std::sync::Arc<InterruptHook>>>> = OnceLock::new();
    HOOKS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Register work for the signal handler to do on interruption; returns a key for
/// [`unregister_interrupt_hook`].
pub fn register_interrupt_hook(hook: InterruptHook) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    interrupt_hooks()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, std::sync::Arc::new(hook));
    key
}

/// Forget a hook once its work is done.
pub fn unregister_interrupt_hook(key: u64) {
    interrupt_hooks()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key);
}

/// Run every registered hook (outside the registry lock); what they did, in order.
fn run_interrupt_hooks() -> Vec<String> {
    let hooks: Vec<std::sync::Arc<InterruptHook>> = interrupt_hooks()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    hooks.iter().flat_map(|h| h()).collect()
}

/// True when a cluster or a container is registered, i.e. interruption has servers to stop
/// and temp files to remove.
fn has_servers() -> bool {
    !registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty()
        || !containers()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
}

/// Make Ctrl-C, SIGTERM and SIGHUP run the interrupt hooks and stop every cluster before
/// the process exits with 130, saying what was done. The binary calls this once; libraries
/// embedding the crate may choose not to.
pub fn install_signal_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut done = run_interrupt_hooks();
            if has_servers() {
                done.push("stopping PostgreSQL and removing temp files".into());
            }
            if done.is_empty() {
                eprintln!("reims-verify: interrupted");
            } else {
                eprintln!("reims-verify: interrupted; {}", done.join("; "));
            }
            cleanup_all();
            std::process::exit(130);
        });
    });
}
