//! Memory handed back to the system between the steps of a large run.

/// Hand the memory freed so far back to the system. glibc keeps what a large structure
/// freed (the run once written into `run.json`: at thousands of tables several hundred
/// megabytes) in its arenas, and what comes next (the parsed record, the reports) does not
/// all fit into those holes, so without this the peak is the sum of both.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
