//! A process-wide list of what must not outlive the run (cluster folders and their servers,
//! containers), so that Ctrl-C, SIGTERM, a panic or plain process exit (statics are never
//! dropped) still releases everything.
//!
//! This module is a leaf: it knows nothing of clusters or containers. Each backend registers
//! a [`Leftover`] that knows how to release itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

/// Something the process must release even when its owner cannot: on a signal, at process
/// exit. `release` must be safe to call from a signal-handling thread and more than once.
pub(crate) trait Leftover: Send + Sync {
    /// Stop its processes, delete its files or remove its container, now.
    fn release(&self);
}

type Registry = Mutex<BTreeMap<u64, Arc<dyn Leftover>>>;

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Register a leftover; the key unregisters it once its owner has released it.
pub(crate) fn register(leftover: Arc<dyn Leftover>) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    install_exit_hook();
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, leftover);
    key
}

/// Forget a leftover its owner has released (or is about to release) itself.
pub(crate) fn unregister(key: u64) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key);
}

/// Release every registered leftover, oldest first. Safe to call more than once.
pub fn cleanup_all() {
    let entries: Vec<Arc<dyn Leftover>> =
        std::mem::take(&mut *registry().lock().unwrap_or_else(|p| p.into_inner()))
            .into_values()
            .collect();
    for entry in entries {
        entry.release();
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

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once Ctrl-C / SIGTERM / SIGHUP / SIGQUIT arrived; the handler is then tearing down
/// and will exit with 130, so the main thread must not report the resulting failures as its
/// own.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The signals that end a run: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT (Ctrl-\), whose default
/// actions would end the process without clean-up.
pub const TERMINATION_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

/// Work to undo on a server when the run is interrupted, before the process exits with 130
/// (a migration cancels the statement it runs there and releases its lock). It runs on the
/// signal handler's thread, bounded in time, and returns what it did, for the message.
pub type InterruptHook = Box<dyn Fn() -> Vec<String> + Send + Sync>;

type Hooks = Mutex<BTreeMap<u64, Arc<InterruptHook>>>;

fn interrupt_hooks() -> &'static Hooks {
    static HOOKS: OnceLock<Hooks> = OnceLock::new();
    HOOKS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Register work for the signal handler to do on interruption; returns a key for
/// [`unregister_interrupt_hook`].
pub fn register_interrupt_hook(hook: InterruptHook) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    interrupt_hooks()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, Arc::new(hook));
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
    let hooks: Vec<Arc<InterruptHook>> = interrupt_hooks()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    hooks.iter().flat_map(|h| h()).collect()
}

/// True when something is registered for release (a cluster folder, a container, a cache
/// entry or an install being written): interruption has servers to stop or temp files to
/// remove.
fn has_leftovers() -> bool {
    !registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty()
}

/// Make Ctrl-C, SIGTERM, SIGHUP and SIGQUIT run the interrupt hooks and release every
/// leftover before the process exits with 130, saying what was done. The binary calls this
/// once; libraries embedding the crate may choose not to.
pub fn install_signal_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = on_termination_signal(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            let mut done = run_interrupt_hooks();
            if has_leftovers() {
                done.push("stopping PostgreSQL and removing temp files".into());
            }
            if done.is_empty() {
                errln!("reims-verify: interrupted");
            } else {
                errln!("reims-verify: interrupted; {}", done.join("; "));
            }
            cleanup_all();
            std::process::exit(130);
        });
    });
}

/// Run `handler` on a thread of its own when one of [`TERMINATION_SIGNALS`] arrives (not in
/// the signal handler itself, so it may lock, allocate and wait).
fn on_termination_signal(handler: impl Fn() + Send + 'static) -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(TERMINATION_SIGNALS)?;
    std::thread::Builder::new()
        .name("reims-verify-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                handler();
            }
        })?;
    Ok(())
}
