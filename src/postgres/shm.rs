//! Shared memory that a killed PostgreSQL left behind, removed only when it provably
//! belongs to one of our data folders.
//!
//! A server (or initdb's single-user backend) writes its System V segment's key and id into
//! `postmaster.pid` (line 7). That segment's header holds PostgreSQL's magic number, the
//! device and inode of the data folder it serves, and the handle of the dynamic
//! shared-memory control segment (`/dev/shm/PostgreSQL.<handle>`), which in turn lists the
//! other dynamic segments. A segment is removed only when this chain starts at our own
//! folder's `postmaster.pid`, no process is attached, the process that wrote
//! `postmaster.pid` is gone, and the segment is that folder's: its header names that very
//! folder (device and inode), or, for a backend killed after it recorded the segment and
//! before it wrote the header (PostgreSQL records first), the segment carries the key the
//! file records, was created by the process that wrote the file, and its header is blank
//! or names nothing else. Another PostgreSQL's segments never match.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::owner::{pid_liveness, Liveness};

/// How long [`ShmProof::release`] waits for a segment whose processes are gone to show no
/// process attached.
const DETACH_GRACE: Duration = Duration::from_secs(3);

/// `PGShmemMagic` in PostgreSQL's `pg_shmem.h` (the same in every supported major).
const SHMEM_MAGIC: i32 = 679_834_894;
/// `PG_DYNSHMEM_CONTROL_MAGIC` in `dsm.c`.
const DSM_CONTROL_MAGIC: u32 = 0x9a50_3d32;
/// `PGShmemHeader` on 64-bit Linux: magic (i32) @0, creator pid @4, total size @8, free
/// offset @16, DSM control handle (u32) @24, index pointer @32, device @40, inode @48.
const HEADER_LEN: usize = 56;
/// Items of the DSM control segment start after three u32 fields, aligned to 8.
const DSM_ITEMS_OFFSET: u64 = 16;

/// Where POSIX shared memory lives on Linux.
fn shm_dir() -> PathBuf {
    PathBuf::from("/dev/shm")
}

/// What `postmaster.pid` says about shared memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockFile {
    /// The process that wrote it (negative in the file for a single-user backend).
    pub pid: i32,
    /// True for a single-user or bootstrap backend (initdb's).
    pub standalone: bool,
    /// The System V shared-memory id, when the file has got that far.
    pub shmem_id: Option<i32>,
    /// The System V key the segment was created with, written beside the id.
    pub shmem_key: Option<i64>,
}

impl LockFile {
    /// Read `DATA/postmaster.pid`.
    pub(crate) fn read(data_dir: &Path) -> Option<LockFile> {
        let text = read_small(&data_dir.join("postmaster.pid"), 4096)?;
        parse_lock_file(&String::from_utf8_lossy(&text))
    }
}

fn parse_lock_file(text: &str) -> Option<LockFile> {
    let lines: Vec<&str> = text.lines().collect();
    let raw: i64 = lines.first()?.trim().parse().ok()?;
    let pid = i32::try_from(raw.abs()).ok().filter(|p| *p > 0)?;
    let shmem = |nth: usize| {
        lines
            .get(6)
            .and_then(|l| l.split_whitespace().nth(nth))
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some(LockFile {
        pid,
        standalone: raw < 0,
        shmem_id: shmem(1).and_then(|id| i32::try_from(id).ok()),
        // PostgreSQL prints its (signed, 32-bit) key as an unsigned long, so a negative key
        // comes back as its 64-bit two's complement.
        shmem_key: shmem(0).map(|key| key as i64),
    })
}

/// Remove the shared memory that the dead server of `data_dir` left, if any is provably
/// its own. Returns what was removed, for a note.
pub(crate) fn release_leftover_shm(data_dir: &Path) -> Vec<String> {
    match LockFile::read(data_dir) {
        Some(lock) if pid_liveness(lock.pid, None) == Liveness::Dead => {
            ShmProof::capture(data_dir).map_or_else(Vec::new, |p| p.release())
        }
        _ => Vec::new(),
    }
}

/// The System V segment serving one of our data folders, captured while the folder and its
/// `postmaster.pid` still exist (initdb removes its data folder when interrupted, possibly
/// before its backend has let go of the memory), so that it can be removed afterwards.
#[derive(Debug, Clone)]
pub(crate) struct ShmProof {
    shmid: i32,
    /// The segment as captured: its key and creator never change, and its header either
    /// named the folder already or was still being written.
    captured: SysvSegment,
    /// The data folder's device and inode.
    folder: (u64, u64),
    odd_handles_are_files: bool,
}

impl ShmProof {
    /// Read `postmaster.pid` of `data_dir` and the header of the segment it names; `Some`
    /// only when that header is PostgreSQL's and names `data_dir` itself.
    pub(crate) fn capture(data_dir: &Path) -> Option<ShmProof> {
        let lock = LockFile::read(data_dir)?;
        let shmid = lock.shmem_id?;
        let meta = std::fs::metadata(data_dir).ok()?;
        let segment = read_sysv(shmid)?;
        let header = segment.header;
        if !header.names(meta.dev(), meta.ino())
            && !segment.unwritten_by(&lock, meta.dev(), meta.ino())
        {
            return None;
        }
        // From PostgreSQL 14, odd DSM handles name pieces of the main shared memory, not
        // files.
        let major = read_small(&data_dir.join("PG_VERSION"), 64)
            .and_then(|v| String::from_utf8_lossy(&v).trim().parse::<u32>().ok());
        Some(ShmProof {
            shmid,
            captured: segment,
            folder: (meta.dev(), meta.ino()),
            odd_handles_are_files: major.is_some_and(|m| m < 14),
        })
    }

    /// Remove the segment and the dynamic segments it leads to, once no process is attached
    /// and the segment still carries the captured header. Returns what was removed.
    ///
    /// Callers release after the processes working in the folder are gone. A process that
    /// has left (its working directory already released) can still count as attached for a
    /// moment: its memory is unmapped only when the last holder of its address space lets
    /// go, and any process reading its `/proc` entry holds it meanwhile. So a segment still
    /// attached is looked at again for up to [`DETACH_GRACE`] before it is left alone.
    pub(crate) fn release(&self) -> Vec<String> {
        self.release_within(DETACH_GRACE)
    }

    fn release_within(&self, grace: Duration) -> Vec<String> {
        let mut removed = Vec::new();
        let deadline = Instant::now() + grace;
        let now = loop {
            let Some(segment) = read_sysv(self.shmid) else {
                return removed;
            };
            if !self.still_ours(&segment) {
                return removed;
            }
            let (now, attached) = (segment.header, segment.attached);
            if attached == 0 {
                break now;
            }
            if Instant::now() >= deadline {
                return removed;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if now.dsm_control != 0 {
            removed.extend(remove_dsm_segments(
                now.dsm_control,
                &shm_dir(),
                self.odd_handles_are_files,
            ));
        }
        // SAFETY: IPC_RMID on a segment id with a null buffer; it only marks the segment
        // for removal (no process is attached).
        if unsafe { libc::shmctl(self.shmid, libc::IPC_RMID, std::ptr::null_mut()) } == 0 {
            removed.push(format!("System V shared memory segment {}", self.shmid));
        }
        removed
    }

    /// Whether `now`, read at release, is still the captured segment of our folder. A
    /// header captured while its backend was still writing it may have been finished
    /// since (the backend runs on until it is stopped): it must then name the folder, or
    /// still be blank or partly written for it.
    fn still_ours(&self, now: &SysvSegment) -> bool {
        let (device, inode) = self.folder;
        let (was, is) = (&self.captured.header, &now.header);
        if now.key != self.captured.key || now.creator != self.captured.creator {
            return false;
        }
        if was.names(device, inode) {
            is.names(device, inode) && is.dsm_control == was.dsm_control
        } else {
            is.partly_for(device, inode)
        }
    }
}

/// The fields of a PostgreSQL shared-memory header that prove whose it is.
#[derive(Debug, Clone, Copy)]
struct SysvHeader {
    magic: i32,
    dsm_control: u32,
    device: u64,
    inode: u64,
}

impl SysvHeader {
    /// PostgreSQL's header, written for the data folder at `device`/`inode`.
    fn names(&self, device: u64, inode: u64) -> bool {
        self.magic == SHMEM_MAGIC && self.device == device && self.inode == inode
    }

    /// Blank or only partly written (or whole), with every field written so far the value
    /// for the folder at `device`/`inode`.
    fn partly_for(&self, device: u64, inode: u64) -> bool {
        (self.magic == 0 || self.magic == SHMEM_MAGIC)
            && (self.device == 0 || self.device == device)
            && (self.inode == 0 || self.inode == inode)
    }
}

/// What the kernel and the header say about one System V segment.
#[derive(Debug, Clone, Copy)]
struct SysvSegment {
    header: SysvHeader,
    /// Processes attached now.
    attached: u64,
    /// The key it was created with.
    key: i64,
    /// The process that created it.
    creator: i32,
}

impl SysvSegment {
    /// True when this is the segment `lock` records, created by the process that wrote
    /// `lock`, and that process was killed before it wrote the header: PostgreSQL records
    /// the key and id in `postmaster.pid` before it fills the header in, so such a segment
    /// has a header that is blank or only partly written (every field either unset or the
    /// value for the folder at `device`/`inode`).
    fn unwritten_by(&self, lock: &LockFile, device: u64, inode: u64) -> bool {
        lock.shmem_key == Some(self.key)
            && self.creator == lock.pid
            && self.header.partly_for(device, inode)
    }
}

/// Read System V segment `shmid`: its header, attach count, key and creator.
fn read_sysv(shmid: i32) -> Option<SysvSegment> {
    // SAFETY: shmid_ds is plain data; shmctl fills it or fails.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    if unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) } != 0 {
        return None;
    }
    if (ds.shm_segsz as usize) < HEADER_LEN {
        return None;
    }
    // SAFETY: attach read-only, copy the header out, detach.
    let bytes = unsafe {
        let ptr = libc::shmat(shmid, std::ptr::null(), libc::SHM_RDONLY);
        if ptr as isize == -1 {
            return None;
        }
        let mut buf = [0u8; HEADER_LEN];
        std::ptr::copy_nonoverlapping(ptr as *const u8, buf.as_mut_ptr(), HEADER_LEN);
        libc::shmdt(ptr);
        buf
    };
    let header = SysvHeader {
        magic: i32::from_ne_bytes(bytes[0..4].try_into().ok()?),
        dsm_control: u32::from_ne_bytes(bytes[24..28].try_into().ok()?),
        device: u64::from_ne_bytes(bytes[40..48].try_into().ok()?),
        inode: u64::from_ne_bytes(bytes[48..56].try_into().ok()?),
    };
    Some(SysvSegment {
        header,
        attached: ds.shm_nattch as u64,
        key: i64::from(ds.shm_perm.__key),
        creator: ds.shm_cpid,
    })
}

/// Remove the DSM control segment `PostgreSQL.<control>` in `dir` and the segments it
/// lists, when it carries the control magic. Returns the names removed.
fn remove_dsm_segments(control: u32, dir: &Path, odd_are_files: bool) -> Vec<String> {
    let mut removed = Vec::new();
    let path = dir.join(format!("PostgreSQL.{control}"));
    let Some(items) = dsm_items(&path, odd_are_files) else {
        return removed;
    };
    for handle in items {
        let item = dir.join(format!("PostgreSQL.{handle}"));
        if is_plain_file(&item) && std::fs::remove_file(&item).is_ok() {
            removed.push(item.display().to_string());
        }
    }
    if std::fs::remove_file(&path).is_ok() {
        removed.push(path.display().to_string());
    }
    removed
}

/// The handles of the in-use segments a DSM control segment lists; `None` when the file is
/// not a control segment.
fn dsm_items(path: &Path, odd_are_files: bool) -> Option<Vec<u32>> {
    if !is_plain_file(path) {
        return None;
    }
    let bytes = read_small(path, 16 << 20)?;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    if word(0)? != DSM_CONTROL_MAGIC {
        return None;
    }
    let (nitems, maxitems) = (word(4)? as u64, word(8)? as u64);
    let body = (bytes.len() as u64).checked_sub(DSM_ITEMS_OFFSET)?;
    if maxitems == 0 || nitems > maxitems || body % maxitems != 0 {
        // A control segment with no items: nothing else to remove.
        return (nitems == 0).then(Vec::new);
    }
    let item_len = body / maxitems;
    if item_len < 8 {
        return None;
    }
    let mut handles = Vec::new();
    for i in 0..nitems {
        let at = (DSM_ITEMS_OFFSET + i * item_len) as usize;
        let (handle, refcnt) = (word(at)?, word(at + 4)?);
        // Slots with no references are free.
        if refcnt > 0 && handle != 0 && (odd_are_files || handle % 2 == 0) {
            handles.push(handle);
        }
    }
    Some(handles)
}

fn is_plain_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Read a regular file of at most `limit` bytes without following symlinks or blocking on
/// a FIFO.
fn read_small(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > limit {
        return None;
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut buf).ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_of_servers_and_single_user_backends_parse() {
        let server =
            "4242\n/dev/shm/x/data\n1700000000\n5432\n/dev/shm/x\n\n  5432001    98360\nready   \n";
        assert_eq!(
            parse_lock_file(server),
            Some(LockFile {
                pid: 4242,
                standalone: false,
                shmem_id: Some(98360),
                shmem_key: Some(5432001)
            })
        );
        let boot = "-77\n/dev/shm/x/data\n1700000000\n5432\n\n\n  5432001    98361\n";
        assert_eq!(
            parse_lock_file(boot),
            Some(LockFile {
                pid: 77,
                standalone: true,
                shmem_id: Some(98361),
                shmem_key: Some(5432001)
            })
        );
        // A key whose 32 bits are negative, printed as an unsigned long.
        let negative = "-77\n/d\n1\n5432\n\n\n18446744073709551611    98362\n";
        assert_eq!(parse_lock_file(negative).unwrap().shmem_key, Some(-5));
        let early = "-77\n/dev/shm/x/data\n";
        assert_eq!(parse_lock_file(early).unwrap().shmem_id, None);
        assert_eq!(parse_lock_file("garbage"), None);
        assert_eq!(parse_lock_file("0\n"), None);
    }

    fn control_segment(items: &[(u32, u32)], maxitems: u32, item_len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(DSM_CONTROL_MAGIC.to_ne_bytes());
        b.extend((items.len() as u32).to_ne_bytes());
        b.extend(maxitems.to_ne_bytes());
        b.extend([0u8; 4]);
        for i in 0..maxitems as usize {
            let mut item = vec![0u8; item_len];
            if let Some((h, r)) = items.get(i) {
                item[0..4].copy_from_slice(&h.to_ne_bytes());
                item[4..8].copy_from_slice(&r.to_ne_bytes());
            }
            b.extend(item);
        }
        b
    }

    #[test]
    fn only_segments_a_control_segment_lists_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let control = 1000u32;
        // In use: 2000; free slot: 3000; odd (main-region) handle: 4001.
        std::fs::write(
            dir.path().join("PostgreSQL.1000"),
            control_segment(&[(2000, 1), (3000, 0), (4001, 1)], 8, 40),
        )
        .unwrap();
        for other in [
            "PostgreSQL.2000",
            "PostgreSQL.3000",
            "PostgreSQL.4001",
            "PostgreSQL.5000",
        ] {
            std::fs::write(dir.path().join(other), b"x").unwrap();
        }
        let removed = remove_dsm_segments(control, dir.path(), false);
        assert_eq!(removed.len(), 2, "{removed:?}");
        let left: std::collections::BTreeSet<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(
            left.into_iter().collect::<Vec<_>>(),
            ["PostgreSQL.3000", "PostgreSQL.4001", "PostgreSQL.5000"]
        );
    }

    #[test]
    fn a_file_without_the_control_magic_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("PostgreSQL.7"), [0u8; 64]).unwrap();
        assert!(remove_dsm_segments(7, dir.path(), true).is_empty());
        assert!(dir.path().join("PostgreSQL.7").exists());
    }

    /// A System V segment with PostgreSQL's header naming `data`, and a `postmaster.pid` in
    /// `data` naming the segment and a dead single-user backend.
    fn fake_server_segment(data: &Path) -> i32 {
        // SAFETY: a new private segment of 4 KiB; attached, written and detached here.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(shmid >= 0, "shmget: {}", std::io::Error::last_os_error());
        write_header(shmid, data);
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        std::fs::write(
            data.join("postmaster.pid"),
            format!(
                "-{dead}\n{}\n1700000000\n5432\n\n\n  0  {shmid}\n",
                data.display()
            ),
        )
        .unwrap();
        shmid
    }

    fn segment_exists(shmid: i32) -> bool {
        // SAFETY: IPC_STAT into a zeroed plain-data struct.
        let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
        unsafe { libc::shmctl(shmid, libc::IPC_STAT, &mut ds) == 0 }
    }

    #[test]
    fn a_segment_is_released_once_its_last_process_lets_go_and_not_before() {
        let data = tempfile::tempdir().unwrap();
        let shmid = fake_server_segment(data.path());
        let proof = ShmProof::capture(data.path()).expect("the header names the folder");
        // A process that has gone can stay attached for a moment: here, a mapping that is
        // let go 200 ms later.
        let mapped = unsafe { libc::shmat(shmid, std::ptr::null(), libc::SHM_RDONLY) } as usize;
        assert_ne!(mapped as isize, -1);
        // Still attached after the grace: left alone.
        assert!(proof.release_within(Duration::from_millis(50)).is_empty());
        assert!(segment_exists(shmid));
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            unsafe { libc::shmdt(mapped as *const libc::c_void) };
        });
        let removed = proof.release();
        letting_go.join().unwrap();
        assert_eq!(
            removed,
            [format!("System V shared memory segment {shmid}")],
            "released once detached"
        );
        assert!(!segment_exists(shmid));
    }

    /// A segment created (with the data folder's inode as its key, as PostgreSQL does) by a
    /// child process that exits at once without writing a header, as a backend killed
    /// between recording the segment and filling it in leaves it. Returns the id, the key
    /// and the child's pid.
    fn segment_of_a_killed_creator(data: &Path) -> (i32, i64, i32) {
        let key = std::fs::metadata(data).unwrap().ino() as libc::key_t;
        let mut pipe = [0i32; 2];
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child only makes system calls (shmget, write, _exit) before it ends.
        let child = unsafe { libc::fork() };
        assert!(child >= 0, "fork: {}", std::io::Error::last_os_error());
        if child == 0 {
            unsafe {
                let mut id = libc::shmget(key, 56, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
                if id < 0 {
                    // The key is taken: any other key keeps the test's point.
                    id = libc::shmget(libc::IPC_PRIVATE, 56, libc::IPC_CREAT | 0o600);
                }
                libc::write(pipe[1], (&id as *const i32).cast(), 4);
                libc::_exit(0);
            }
        }
        unsafe { libc::close(pipe[1]) };
        let mut id = -1i32;
        let n = unsafe { libc::read(pipe[0], (&mut id as *mut i32).cast(), 4) };
        unsafe { libc::close(pipe[0]) };
        let mut status = 0;
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(n, 4);
        assert!(id >= 0, "shmget in the child failed");
        let segment = read_sysv(id).expect("the segment exists");
        assert_eq!(segment.creator, child);
        assert_eq!(segment.header.magic, 0, "nothing was written");
        (id, segment.key, child)
    }

    fn write_lock_file(data: &Path, pid: i32, key: i64, shmid: i32) {
        std::fs::write(
            data.join("postmaster.pid"),
            format!(
                "-{pid}\n{}\n1700000000\n5432\n\n\n{:9} {shmid:9}\n",
                data.display(),
                key as u64
            ),
        )
        .unwrap();
    }

    fn remove_segment(shmid: i32) {
        unsafe { libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut()) };
    }

    #[test]
    fn a_segment_whose_creator_was_killed_before_the_header_is_released() {
        let data = tempfile::tempdir().unwrap();
        let (shmid, key, creator) = segment_of_a_killed_creator(data.path());
        write_lock_file(data.path(), creator, key, shmid);
        let removed = release_leftover_shm(data.path());
        let left = segment_exists(shmid);
        remove_segment(shmid);
        assert_eq!(removed, [format!("System V shared memory segment {shmid}")]);
        assert!(!left);
    }

    /// Write PostgreSQL's header naming `data` into segment `shmid`, as its backend does
    /// once it has recorded the segment in `postmaster.pid`.
    fn write_header(shmid: i32, data: &Path) {
        let meta = std::fs::metadata(data).unwrap();
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&SHMEM_MAGIC.to_ne_bytes());
        header[40..48].copy_from_slice(&meta.dev().to_ne_bytes());
        header[48..56].copy_from_slice(&meta.ino().to_ne_bytes());
        unsafe {
            let ptr = libc::shmat(shmid, std::ptr::null(), 0);
            assert_ne!(ptr as isize, -1);
            std::ptr::copy_nonoverlapping(header.as_ptr(), ptr as *mut u8, HEADER_LEN);
            libc::shmdt(ptr);
        }
    }

    #[test]
    fn a_segment_captured_blank_is_released_after_its_backend_writes_the_header() {
        let data = tempfile::tempdir().unwrap();
        let (shmid, key, creator) = segment_of_a_killed_creator(data.path());
        write_lock_file(data.path(), creator, key, shmid);
        let proof = ShmProof::capture(data.path()).expect("a blank segment the lock file names");
        // The backend, still running when the proof was taken, finishes its header before
        // it is stopped.
        write_header(shmid, data.path());
        let removed = proof.release_within(Duration::from_millis(50));
        let left = segment_exists(shmid);
        remove_segment(shmid);
        assert_eq!(removed, [format!("System V shared memory segment {shmid}")]);
        assert!(!left);
    }

    #[test]
    fn a_segment_captured_blank_is_kept_when_its_header_comes_to_name_another_folder() {
        let data = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let (shmid, key, creator) = segment_of_a_killed_creator(data.path());
        write_lock_file(data.path(), creator, key, shmid);
        let proof = ShmProof::capture(data.path()).expect("a blank segment the lock file names");
        write_header(shmid, other.path());
        let removed = proof.release_within(Duration::from_millis(50));
        let left = segment_exists(shmid);
        remove_segment(shmid);
        assert!(removed.is_empty() && left, "another folder's: {removed:?}");
    }

    #[test]
    fn a_blank_segment_is_kept_unless_key_and_creator_match_the_lock_file() {
        let data = tempfile::tempdir().unwrap();
        let (shmid, key, creator) = segment_of_a_killed_creator(data.path());
        let other_dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id() as i32;
            child.wait().unwrap();
            pid
        };
        let cases = [
            ("another creator", other_dead, key),
            ("another key", creator, key.wrapping_add(1)),
        ];
        for (what, pid, key) in cases {
            write_lock_file(data.path(), pid, key, shmid);
            let removed = release_leftover_shm(data.path());
            if !removed.is_empty() || !segment_exists(shmid) {
                remove_segment(shmid);
                panic!("{what}: removed {removed:?}");
            }
        }
        // Written in part for another folder: not ours either.
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&SHMEM_MAGIC.to_ne_bytes());
        header[40..48].copy_from_slice(&1u64.to_ne_bytes());
        unsafe {
            let ptr = libc::shmat(shmid, std::ptr::null(), 0);
            assert_ne!(ptr as isize, -1);
            std::ptr::copy_nonoverlapping(header.as_ptr(), ptr as *mut u8, HEADER_LEN);
            libc::shmdt(ptr);
        }
        write_lock_file(data.path(), creator, key, shmid);
        let removed = release_leftover_shm(data.path());
        let left = segment_exists(shmid);
        remove_segment(shmid);
        assert!(removed.is_empty() && left, "another folder's: {removed:?}");
    }

    #[test]
    fn a_folder_without_a_lock_file_releases_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(release_leftover_shm(dir.path()).is_empty());
    }
}
