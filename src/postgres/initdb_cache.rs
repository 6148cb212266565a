//! A cache of freshly initdb'd data directories, so that an ephemeral cluster costs a copy
//! (tens of milliseconds on tmpfs) instead of an initdb (about 0.4 s).
//!
//! The key is a hash of everything that shapes the data directory: the server's version
//! string, the folder of the binaries, the initdb arguments, the owner and the machine's
//! locales (initdb makes a collation for each). Each entry
//! holds the data directory and a `MANIFEST` listing every folder and file with its mode,
//! size and CRC-32. A restore copies exactly what the manifest lists and checks every byte
//! on the way; anything else (no manifest, a missing, changed, truncated or unreadable
//! file, a copy that fails) discards the entry and falls back to a real initdb, whose
//! result is stored again, so a damaged entry repairs itself.
//!
//! The newest [`KEEP_ENTRIES`] entries by last use (a restore marks its entry used) are
//! kept and older ones discarded, so the folder does not grow with every server build and
//! binaries folder the machine has run.
//!
//! Entries are written under a temporary name and renamed into place, so concurrent runs
//! never see a partial entry; a run killed while writing one leaves a temporary folder
//! carrying its owner marker, which the next run removes. `REIMS_VERIFY_NO_CACHE=1` turns
//! the cache off; `REIMS_VERIFY_CACHE_DIR` moves it (default `$XDG_CACHE_HOME/reims-verify`
//! or `~/.cache/reims-verify`).

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// A file's checksum in the manifest: CRC-32 (IEEE), as 8 hex digits. It is there to find
/// damage (a file cut short, rewritten or rotted), not a forger, who could as well rewrite
/// the manifest: SHA-256 of the 40 MB on every restore was about 20 ms of a warm cluster
/// start's CPU, CRC-32 on the same bytes about 2.
fn checksum(bytes: &[u8]) -> String {
    checksum_hex(crc32fast::hash(bytes))
}

/// A CRC-32 as the manifest writes it.
fn checksum_hex(crc: u32) -> String {
    format!("{crc:08x}")
}

use super::cleanup::{self, Leftover};
use super::owner::Owner;
use super::reaper::{owned_prefix, reap_plain_folders};

/// The manifest's file name, inside an entry.
const MANIFEST: &str = "MANIFEST";
/// First word of a manifest; the key follows it.
const MANIFEST_HEADER: &str = "reims-verify initdb cache v3";
/// Prefix of an entry being written.
const TMP_PREFIX: &str = ".tmp-";
/// Prefix of an entry being discarded.
const TRASH_PREFIX: &str = ".trash-";
/// The largest manifest we read (a fresh data directory lists about 1,000 paths).
const MANIFEST_LIMIT: u64 = 4 << 20;
/// How many entries to keep, the most recently used: one per server build and way of
/// running initdb that a user switches between, each about 40 MB, so the folder stays
/// near 320 MB however many servers and builds it has seen.
const KEEP_ENTRIES: usize = 8;
/// How an entry's folder is named: this prefix, then the 24 hex digits of its key.
const ENTRY_PREFIX: &str = "initdb-";

/// The cache key for one way of running initdb.
/// `locales` is what [`system_locales`] gave.
pub(crate) fn key(
    version: &str,
    bindir: &Path,
    args: &[&str],
    owner: Option<u32>,
    locales: &[u8],
) -> String {
    let mut h = Sha256::new();
    h.update(MANIFEST_HEADER.as_bytes());
    h.update([0]);
    h.update(version.as_bytes());
    h.update(bindir.as_os_str().as_encoded_bytes());
    for a in args {
        h.update(a.as_bytes());
        h.update([0]);
    }
    h.update(owner.unwrap_or(u32::MAX).to_le_bytes());
    h.update((locales.len() as u64).to_le_bytes());
    h.update(locales);
    hex::encode(&h.finalize()[..12])
}

/// The machine's locales as `locale -a` lists them, part of the key. initdb makes a
/// collation for each of them (PostgreSQL's `pg_import_system_collations` runs `locale -a`
/// through the shell), so a data directory made before a locale was added lacks its
/// collation, and its functions are numbered after a different count of collations: a
/// migration naming the collation (`COLLATE "de_DE.utf8"`) would fail on a copy of it
/// where it succeeds after a fresh initdb. With the list in the key, a machine whose
/// locales changed gets an entry of its own. Empty when `locale -a` cannot be run (initdb
/// then imports none either).
pub(crate) fn system_locales() -> Vec<u8> {
    std::process::Command::new("locale")
        .arg("-a")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
        .unwrap_or_default()
}

fn entry(root: &Path, key: &str) -> PathBuf {
    root.join(format!("{ENTRY_PREFIX}{key}"))
}

/// Which entry a data directory was copied from: its key, and the CRC-32 of its manifest,
/// which tells it from another entry stored under the same key after this one was
/// discarded (another initdb's files, which may differ: see [`read_note`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryId {
    key: String,
    manifest: String,
}

/// The outcome of a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Restore {
    /// The data directory was copied from the cache and checked: from this entry.
    Restored(EntryId),
    /// No entry (or the cache is off): run initdb.
    Miss,
    /// The entry was damaged (the reason says how); it was discarded: run initdb.
    Damaged(String),
}

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Dir {
        mode: u32,
        path: String,
    },
    File {
        mode: u32,
        size: u64,
        crc32: String,
        path: String,
    },
}

/// Copy the cached data directory for `key` to `data_dir` (which must not exist), checking
/// every file against the manifest, and give it to `owner` when running as root.
pub(crate) fn restore(key: &str, data_dir: &Path, owner: Option<(u32, u32)>) -> Restore {
    let Some(root) = crate::cache_dir::root() else {
        return Restore::Miss;
    };
    reap_plain_folders(&root, TMP_PREFIX);
    reap_plain_folders(&root, TRASH_PREFIX);
    let e = entry(&root, key);
    if std::fs::symlink_metadata(&e).is_err() {
        return Restore::Miss;
    }
    let outcome = read_manifest_and_id(&e.join(MANIFEST), key)
        .map_err(CopyError::Source)
        .and_then(|(items, id)| {
            copy_checked(&e.join("data"), data_dir, &items, owner).map(|()| id)
        });
    match outcome {
        Ok(manifest) => {
            mark_used(&e);
            prune(&root);
            Restore::Restored(EntryId {
                key: key.to_string(),
                manifest,
            })
        }
        // Our own folder failed (full, or removed because a signal is ending the run):
        // the entry is not at fault.
        Err(CopyError::Destination(_)) => {
            let _ = std::fs::remove_dir_all(data_dir);
            Restore::Miss
        }
        Err(CopyError::Source(_)) if cleanup::interrupted() => Restore::Miss,
        // Another run pruned or discarded the entry while this one copied it: nothing was
        // wrong with it, and the fresh initdb stores it again.
        Err(CopyError::Source(_)) if std::fs::symlink_metadata(&e).is_err() => {
            let _ = std::fs::remove_dir_all(data_dir);
            Restore::Miss
        }
        Err(CopyError::Source(reason)) => {
            let _ = std::fs::remove_dir_all(data_dir);
            discard(&root, &e);
            Restore::Damaged(format!("{}: {reason}", e.display()))
        }
    }
}

/// Why a restore stopped: the entry is damaged, or the copy could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CopyError {
    Source(String),
    Destination(String),
}

/// Discard the entry for `key` (e.g. when a server would not start from it).
pub(crate) fn invalidate(key: &str) {
    if let Some(root) = crate::cache_dir::root() {
        discard(&root, &entry(&root, key));
    }
}

/// Move an entry out of the way (a rename, so that no reader sees it half-deleted), then
/// delete it.
fn discard(root: &Path, e: &Path) {
    let trash = root.join(format!(
        "{}{}",
        owned_prefix(TRASH_PREFIX),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    if std::fs::rename(e, &trash).is_ok() {
        let _ = std::fs::remove_dir_all(&trash);
    }
}

#[cfg(test)]
fn read_manifest(path: &Path, key: &str) -> Result<Vec<Item>, String> {
    read_manifest_and_id(path, key).map(|(items, _)| items)
}

/// [`read_manifest`], with the CRC-32 of the manifest's bytes: which entry of the key it
/// is (a new initdb's files differ, its control file at least, and so does its manifest).
fn read_manifest_and_id(path: &Path, key: &str) -> Result<(Vec<Item>, String), String> {
    let bytes = read_regular(path, MANIFEST_LIMIT).map_err(|e| format!("manifest: {e}"))?;
    let id = checksum(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| "manifest: not UTF-8".to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some(&format!("{MANIFEST_HEADER} {key}")) {
        return Err("manifest: wrong header".into());
    }
    let mut items = Vec::new();
    let mut ended = false;
    for line in lines {
        if line == "end" {
            ended = true;
            break;
        }
        items.push(parse_item(line).ok_or_else(|| format!("manifest: bad line `{line}`"))?);
    }
    if !ended || items.is_empty() {
        return Err("manifest: incomplete".into());
    }
    Ok((items, id))
}

fn parse_item(line: &str) -> Option<Item> {
    let mut f = line.splitn(5, ' ');
    let kind = f.next()?;
    let mode = u32::from_str_radix(f.next()?, 8).ok()?;
    let item = match kind {
        "d" => Item::Dir {
            mode,
            path: f.next()?.to_string(),
        },
        "f" => Item::File {
            mode,
            size: f.next()?.parse().ok()?,
            crc32: f.next()?.to_string(),
            path: f.next()?.to_string(),
        },
        _ => return None,
    };
    let path = match &item {
        Item::Dir { path, .. } | Item::File { path, .. } => path,
    };
    // Relative paths inside the entry only.
    let safe = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    (safe || path == ".").then_some(item)
}

fn format_item(item: &Item) -> String {
    match item {
        Item::Dir { mode, path } => format!("d {mode:o} {path}"),
        Item::File {
            mode,
            size,
            crc32,
            path,
        } => format!("f {mode:o} {size} {crc32} {path}"),
    }
}

/// Read a regular file (not following symlinks, never blocking on a FIFO) of at most
/// `limit` bytes.
fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut file = open_regular(path, limit)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Open a regular file (not following symlinks, never blocking on a FIFO) of at most
/// `limit` bytes, for reading.
fn open_regular(path: &Path, limit: u64) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > limit {
        return Err(std::io::Error::other("too large"));
    }
    Ok(file)
}

/// Create a file that must not exist yet, with `mode` (as far as the umask allows).
fn create_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = create_new(path, mode)?;
    file.write_all(bytes)?;
    // The umask may have narrowed the mode.
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

fn chown_to(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    match owner {
        Some((uid, gid)) => std::os::unix::fs::lchown(path, Some(uid), Some(gid)),
        None => Ok(()),
    }
}

/// Copy `items` from `from` to `to`, checking each file's type, size and CRC-32. The
/// folders are made first, in the manifest's order (parents before children); then the
/// files are copied on every core, the largest first (a fresh data directory is about
/// 40 MB, 16 of them one WAL segment): reading, hashing and writing them one by one was
/// most of a warm cluster start. The error is the first in the manifest's order, as one by
/// one would give it.
fn copy_checked(
    from: &Path,
    to: &Path,
    items: &[Item],
    owner: Option<(u32, u32)>,
) -> Result<(), CopyError> {
    let dest = |path: &str, e: std::io::Error| CopyError::Destination(format!("{path}: {e}"));
    for item in items {
        if let Item::Dir { mode, path } = item {
            let dst = if path == "." {
                to.to_path_buf()
            } else {
                to.join(path)
            };
            std::fs::create_dir(&dst)
                .and_then(|()| {
                    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(*mode))
                })
                .and_then(|()| chown_to(&dst, owner))
                .map_err(|e| dest(path, e))?;
        }
    }
    // Each file with its place in the manifest, the largest first.
    let mut files: Vec<(usize, FileLine)> = items
        .iter()
        .enumerate()
        .filter_map(|(at, item)| match item {
            Item::File {
                mode,
                size,
                crc32,
                path,
            } => Some((
                at,
                FileLine {
                    path,
                    mode: *mode,
                    size: *size,
                    crc32,
                },
            )),
            Item::Dir { .. } => None,
        })
        .collect();
    files.sort_by_key(|(_, file)| std::cmp::Reverse(file.size));
    let outcomes =
        crate::parallel::map_claimed(&files, |(_, file)| copy_file(from, to, file, owner));
    match files
        .iter()
        .zip(outcomes)
        .filter_map(|((at, _), outcome)| outcome.err().map(|e| (*at, e)))
        .min_by_key(|(at, _)| *at)
    {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// A file's line of the manifest, borrowed.
struct FileLine<'a> {
    path: &'a str,
    mode: u32,
    size: u64,
    crc32: &'a str,
}

/// Copy one file of the manifest, checking its type, size and CRC-32 on the way. The file
/// goes through a buffer on the stack, a piece at a time, never whole on the heap: an
/// earlier restore on both cores that read each file whole raised the benchmark's peak
/// memory at 5,000 tables by about 55 MiB, for a cause never found.
/// A file whose bytes do not match is found after it was written; the caller removes the
/// whole data directory then.
fn copy_file(
    from: &Path,
    to: &Path,
    file: &FileLine,
    owner: Option<(u32, u32)>,
) -> Result<(), CopyError> {
    let FileLine {
        path,
        mode,
        size,
        crc32,
    } = file;
    let source = |what: String| CopyError::Source(format!("{path}: {what}"));
    let dest = |e: std::io::Error| CopyError::Destination(format!("{path}: {e}"));
    let mut input = open_regular(&from.join(path), *size).map_err(|e| source(e.to_string()))?;
    let dst = to.join(path);
    let mut output = create_new(&dst, *mode).map_err(dest)?;
    let mut hash = crc32fast::Hasher::new();
    let mut buf = [0u8; COPY_PIECE];
    let mut copied: u64 = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source(e.to_string())),
        };
        copied += n as u64;
        if copied > *size {
            return Err(source(format!("more than {size} bytes")));
        }
        hash.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(dest)?;
    }
    if copied != *size {
        return Err(source(format!("{copied} bytes, expected {size}")));
    }
    if checksum_hex(hash.finalize()) != *crc32 {
        return Err(source("content differs from the manifest".into()));
    }
    // The umask may have narrowed the mode.
    output
        .set_permissions(std::fs::Permissions::from_mode(*mode))
        .and_then(|()| chown_to(&dst, owner))
        .map_err(dest)
}

/// The piece of a file [`copy_file`] moves at a time.
const COPY_PIECE: usize = 64 << 10;

/// List a data directory as manifest items, parents before children, sorted by name.
/// `None` when it holds anything but folders and regular files.
fn list_tree(root: &Path) -> Option<Vec<(Item, PathBuf)>> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<(Item, PathBuf)>) -> Option<()> {
        let dir = if rel == "." {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .ok()?
            .map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
            .collect::<Option<_>>()?;
        names.sort();
        for name in names {
            if name.contains(' ') || name.contains('\n') {
                return None;
            }
            let child_rel = if rel == "." {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let path = root.join(&child_rel);
            let meta = std::fs::symlink_metadata(&path).ok()?;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.push((
                    Item::Dir {
                        mode,
                        path: child_rel.clone(),
                    },
                    path,
                ));
                walk(root, &child_rel, out)?;
            } else if meta.is_file() {
                out.push((
                    Item::File {
                        mode,
                        size: meta.len(),
                        crc32: String::new(),
                        path: child_rel,
                    },
                    path,
                ));
            } else {
                return None;
            }
        }
        Some(())
    }
    let meta = std::fs::symlink_metadata(root).ok()?;
    let mut out = vec![(
        Item::Dir {
            mode: meta.permissions().mode() & 0o7777,
            path: ".".into(),
        },
        root.to_path_buf(),
    )];
    walk(root, ".", &mut out)?;
    Some(out)
}

/// A folder being written into the cache: removed if a signal or exit comes first.
struct PartialEntry(PathBuf);

impl Leftover for PartialEntry {
    fn release(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// First words of a note's header line; the entry's key, its manifest's CRC-32 and the
/// body's CRC-32 follow.
const NOTE_HEADER: &str = "reims-verify initdb cache note v1";
/// Prefix of a note's file name, inside an entry.
const NOTE_PREFIX: &str = "NOTE-";
/// The largest note read back.
const NOTE_LIMIT: u64 = 4 << 20;

/// What a run wrote down about the data directory of the entry `id` ([`write_note`]): a
/// fact that follows from those files alone, read back instead of being asked of a server
/// started from a copy of them. `name` says what the fact is and how it was asked for, so a
/// changed question is another note. A note that does not name this entry (its key and its
/// manifest: a note written from a copy of an entry the key had before, which was
/// discarded and stored again by another initdb, is not this entry's) or no longer
/// matches its CRC-32 (cut short, rewritten) is removed and not used. Like the manifest's,
/// the check finds damage, not a forger.
pub(crate) fn read_note(id: &EntryId, name: &str) -> Option<String> {
    let root = crate::cache_dir::root()?;
    let path = entry(&root, &id.key).join(format!("{NOTE_PREFIX}{name}"));
    let bytes = read_regular(&path, NOTE_LIMIT).ok()?;
    let checked = String::from_utf8(bytes).ok().and_then(|text| {
        let (header, body) = text.split_once('\n')?;
        (header == note_header(id, body)).then(|| body.to_string())
    });
    if checked.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    checked
}

/// A note's header line for `body`, of the entry `id`.
fn note_header(id: &EntryId, body: &str) -> String {
    format!(
        "{NOTE_HEADER} {} {} {}",
        id.key,
        id.manifest,
        checksum(body.as_bytes())
    )
}

/// Write `body` down as the note `name` of the entry `id` ([`read_note`]), when the entry
/// is there: written under a name of its own and renamed into place, so a reader never
/// sees part of it, and two runs writing the same note leave one. Failures only cost the
/// next run the question again, so they are ignored.
pub(crate) fn write_note(id: &EntryId, name: &str, body: &str) {
    let Some(root) = crate::cache_dir::root() else {
        return;
    };
    let e = entry(&root, &id.key);
    if !e.join(MANIFEST).is_file() {
        return;
    }
    let text = format!("{}\n{body}", note_header(id, body));
    let Ok(mut tmp) = tempfile::Builder::new()
        .prefix(&format!(".{NOTE_PREFIX}"))
        .tempfile_in(&e)
    else {
        return;
    };
    if tmp.write_all(text.as_bytes()).is_ok() {
        let _ = tmp.persist(e.join(format!("{NOTE_PREFIX}{name}")));
    }
}

/// Keep a copy of a fresh data directory for next time. Failures only cost the next run an
/// initdb, so they are ignored.
pub(crate) fn store(key: &str, data_dir: &Path) {
    if let Some(root) = crate::cache_dir::root() {
        store_in(&root, key, data_dir);
    }
}

/// [`store`] into the cache folder `root`.
fn store_in(root: &Path, key: &str, data_dir: &Path) {
    let e = entry(root, key);
    if std::fs::symlink_metadata(&e).is_ok() || std::fs::create_dir_all(root).is_err() {
        return;
    }
    let Ok(tmp) = tempfile::Builder::new()
        .prefix(&owned_prefix(TMP_PREFIX))
        .tempdir_in(root)
        .map(|t| t.keep())
    else {
        return;
    };
    let guard = cleanup::register(Arc::new(PartialEntry(tmp.clone())));
    let written = Owner::current()
        .ok_or(())
        .and_then(|o| o.write_to(&tmp).map_err(|_| ()))
        .and_then(|()| write_entry(key, data_dir, &tmp).ok_or(()));
    // The marker goes before the rename: an entry carries none.
    let done = written.is_ok()
        && std::fs::remove_file(tmp.join(super::owner::MARKER)).is_ok()
        && std::fs::rename(&tmp, &e).is_ok();
    if !done {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    cleanup::unregister(guard);
    if done {
        prune(root);
    }
}

/// Record that the entry at `e` was just used: its manifest's modification time is its last
/// use, which [`prune`] goes by. A cache folder this user may not write keeps the old time.
fn mark_used(e: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(e.join(MANIFEST)) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Keep the [`KEEP_ENTRIES`] most recently used entries and discard the rest, so the cache
/// does not grow with every server build and binaries folder a machine has run. Only
/// folders named as entries are touched; an entry a concurrent run is restoring from when
/// it goes makes that run fall back to initdb ([`restore`]), never fail.
fn prune(root: &Path) {
    let Ok(read) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
        .flatten()
        .filter(|d| is_entry_name(&d.file_name().to_string_lossy()))
        .map(|d| (last_used(&d.path()), d.path()))
        .collect();
    if entries.len() <= KEEP_ENTRIES {
        return;
    }
    entries.sort_by_key(|(used, _)| std::cmp::Reverse(*used));
    for (_, e) in entries.into_iter().skip(KEEP_ENTRIES) {
        discard(root, &e);
    }
}

/// Whether `name` is an entry's folder name (`initdb-` and 24 hex digits).
fn is_entry_name(name: &str) -> bool {
    name.strip_prefix(ENTRY_PREFIX)
        .is_some_and(|k| k.len() == 24 && k.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// When the entry at `e` was last used: its manifest's modification time. An entry without
/// a manifest is damaged and counts as the oldest.
fn last_used(e: &Path) -> std::time::SystemTime {
    std::fs::metadata(e.join(MANIFEST))
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

fn write_entry(key: &str, data_dir: &Path, tmp: &Path) -> Option<()> {
    let tree = list_tree(data_dir)?;
    let dest = tmp.join("data");
    let mut manifest = format!("{MANIFEST_HEADER} {key}\n");
    for (item, src) in tree {
        let item = match item {
            Item::Dir { mode, path } => {
                let d = if path == "." {
                    dest.clone()
                } else {
                    dest.join(&path)
                };
                std::fs::create_dir(&d).ok()?;
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).ok()?;
                Item::Dir { mode, path }
            }
            Item::File { mode, path, .. } => {
                let bytes = read_regular(&src, u64::MAX).ok()?;
                write_new(&dest.join(&path), &bytes, 0o600).ok()?;
                Item::File {
                    mode,
                    size: bytes.len() as u64,
                    crc32: checksum(&bytes),
                    path,
                }
            }
        };
        manifest.push_str(&format_item(&item));
        manifest.push('\n');
    }
    manifest.push_str("end\n");
    write_new(&tmp.join(MANIFEST), manifest.as_bytes(), 0o600).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_anything_that_shapes_the_data_dir() {
        let k = |v: &str, b: &str, a: &str, o: Option<u32>| {
            key(v, Path::new(b), &[a], o, b"C\nC.utf8\nPOSIX\n")
        };
        let base = k(
            "postgres 15.18",
            "/usr/lib/postgresql/15/bin",
            "--locale=C",
            Some(101),
        );
        assert_eq!(
            base,
            k(
                "postgres 15.18",
                "/usr/lib/postgresql/15/bin",
                "--locale=C",
                Some(101)
            )
        );
        for other in [
            k(
                "postgres 16.4",
                "/usr/lib/postgresql/15/bin",
                "--locale=C",
                Some(101),
            ),
            k("postgres 15.18", "/opt/pg/bin", "--locale=C", Some(101)),
            k(
                "postgres 15.18",
                "/usr/lib/postgresql/15/bin",
                "--locale=en_US",
                Some(101),
            ),
            k(
                "postgres 15.18",
                "/usr/lib/postgresql/15/bin",
                "--locale=C",
                None,
            ),
            // A locale added to the machine.
            key(
                "postgres 15.18",
                Path::new("/usr/lib/postgresql/15/bin"),
                &["--locale=C"],
                Some(101),
                b"C\nC.utf8\nPOSIX\nde_DE.utf8\n",
            ),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn manifest_lines_round_trip_and_unsafe_paths_are_refused() {
        for item in [
            Item::Dir {
                mode: 0o700,
                path: ".".into(),
            },
            Item::Dir {
                mode: 0o700,
                path: "base/1".into(),
            },
            Item::File {
                mode: 0o600,
                size: 8192,
                crc32: "ab".repeat(4),
                path: "global/pg_control".into(),
            },
        ] {
            assert_eq!(parse_item(&format_item(&item)), Some(item));
        }
        for bad in [
            "f 600 1 aa ../etc/passwd",
            "f 600 1 aa /etc/passwd",
            "d 700 a/../../b",
            "d 700 ",
            "x 700 a",
            "f 999 1 aa a",
        ] {
            assert_eq!(parse_item(bad), None, "{bad}");
        }
    }

    /// A small fake data directory.
    fn tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("global")).unwrap();
        std::fs::create_dir_all(dir.join("pg_tblspc")).unwrap();
        std::fs::write(dir.join("PG_VERSION"), "15\n").unwrap();
        std::fs::write(dir.join("global/pg_control"), vec![7u8; 8192]).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn an_entry_restores_byte_for_byte_with_empty_folders_and_modes() {
        let src = tempfile::tempdir().unwrap();
        let data = src.path().join("data");
        tree(&data);
        let tmp = tempfile::tempdir().unwrap();
        write_entry("k", &data, tmp.path()).unwrap();
        let items = read_manifest(&tmp.path().join(MANIFEST), "k").unwrap();
        let out = tempfile::tempdir().unwrap();
        let to = out.path().join("data");
        copy_checked(&tmp.path().join("data"), &to, &items, None).unwrap();
        assert!(to.join("pg_tblspc").is_dir());
        // Writing where the copy cannot go blames the destination, not the entry.
        let again = copy_checked(&tmp.path().join("data"), &to, &items, None);
        assert!(matches!(again, Err(CopyError::Destination(_))), "{again:?}");
        assert_eq!(
            std::fs::read(to.join("global/pg_control")).unwrap(),
            vec![7u8; 8192]
        );
        let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // A manifest for another key is refused.
        assert!(read_manifest(&tmp.path().join(MANIFEST), "other").is_err());
    }

    /// The files are copied on several threads, the largest first; the error reported is
    /// still the first in the manifest's order, whichever thread met which damage first,
    /// and the largest file (copied first) is checked like the rest.
    #[test]
    fn files_copied_side_by_side_report_the_first_damage_in_manifest_order() {
        let src = tempfile::tempdir().unwrap();
        let data = src.path().join("data");
        tree(&data);
        std::fs::create_dir_all(data.join("pg_wal")).unwrap();
        std::fs::write(
            data.join("pg_wal/000000010000000000000001"),
            vec![0u8; 1 << 20],
        )
        .unwrap();
        for i in 0..40 {
            std::fs::write(data.join(format!("global/{i:04}")), vec![i as u8; 8192]).unwrap();
        }
        let restore = |entry: &Path| {
            let out = tempfile::tempdir().unwrap();
            let items = read_manifest(&entry.join(MANIFEST), "k").unwrap();
            let result = copy_checked(&entry.join("data"), &out.path().join("d"), &items, None);
            (result, out)
        };
        let tmp = tempfile::tempdir().unwrap();
        write_entry("k", &data, tmp.path()).unwrap();
        let (whole, out) = restore(tmp.path());
        assert_eq!(whole, Ok(()));
        assert_eq!(
            std::fs::read(out.path().join("d/pg_wal/000000010000000000000001")).unwrap(),
            vec![0u8; 1 << 20]
        );
        assert_eq!(
            std::fs::read(out.path().join("d/global/0039")).unwrap(),
            vec![39u8; 8192]
        );
        // The largest file, same size, one byte changed.
        let mut wal = vec![0u8; 1 << 20];
        wal[(1 << 20) - 1] = 1;
        std::fs::write(tmp.path().join("data/pg_wal/000000010000000000000001"), wal).unwrap();
        let (result, _out) = restore(tmp.path());
        assert!(
            matches!(&result, Err(CopyError::Source(m)) if m.starts_with("pg_wal/000000010000000000000001: content differs")),
            "{result:?}"
        );
        // Two more damages, the first and the last file of `global` in the manifest: the
        // first of all three in its order is named, every time.
        let tmp = tempfile::tempdir().unwrap();
        write_entry("k", &data, tmp.path()).unwrap();
        std::fs::write(tmp.path().join("data/global/0000"), vec![9u8; 8192]).unwrap();
        std::fs::write(tmp.path().join("data/global/0039"), vec![9u8; 8192]).unwrap();
        std::fs::write(
            tmp.path().join("data/pg_wal/000000010000000000000001"),
            vec![1u8; 1 << 20],
        )
        .unwrap();
        let items = read_manifest(&tmp.path().join(MANIFEST), "k").unwrap();
        let first = items
            .iter()
            .find_map(|i| match i {
                Item::File { path, .. }
                    if [
                        "global/0000",
                        "global/0039",
                        "pg_wal/000000010000000000000001",
                    ]
                    .contains(&path.as_str()) =>
                {
                    Some(path.clone())
                }
                _ => None,
            })
            .unwrap();
        for _ in 0..20 {
            let (result, _out) = restore(tmp.path());
            assert!(
                matches!(&result, Err(CopyError::Source(m)) if m.starts_with(&format!("{first}: "))),
                "expected the damage of {first} first: {result:?}"
            );
        }
    }

    #[test]
    fn every_kind_of_damage_is_detected() {
        let src = tempfile::tempdir().unwrap();
        let data = src.path().join("data");
        tree(&data);
        type Damage = fn(&Path);
        let damages: [(&str, Damage); 6] = [
            ("truncated", |e| {
                std::fs::write(e.join("data/global/pg_control"), vec![7u8; 100]).unwrap()
            }),
            ("same size, other bytes", |e| {
                std::fs::write(e.join("data/global/pg_control"), vec![8u8; 8192]).unwrap()
            }),
            ("removed", |e| {
                std::fs::remove_file(e.join("data/PG_VERSION")).unwrap()
            }),
            ("a FIFO instead of a file", |e| {
                std::fs::remove_file(e.join("data/PG_VERSION")).unwrap();
                nix::unistd::mkfifo(
                    &e.join("data/PG_VERSION"),
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                )
                .unwrap();
            }),
            ("a symlink instead of a file", |e| {
                std::fs::remove_file(e.join("data/PG_VERSION")).unwrap();
                std::os::unix::fs::symlink("/etc/hostname", e.join("data/PG_VERSION")).unwrap();
            }),
            ("manifest cut short", |e| {
                let m = std::fs::read_to_string(e.join(MANIFEST)).unwrap();
                std::fs::write(e.join(MANIFEST), &m[..m.len() / 2]).unwrap();
            }),
        ];
        for (what, damage) in damages {
            let tmp = tempfile::tempdir().unwrap();
            write_entry("k", &data, tmp.path()).unwrap();
            damage(tmp.path());
            let out = tempfile::tempdir().unwrap();
            let result = read_manifest(&tmp.path().join(MANIFEST), "k")
                .map_err(CopyError::Source)
                .and_then(|items| {
                    copy_checked(
                        &tmp.path().join("data"),
                        &out.path().join("d"),
                        &items,
                        None,
                    )
                });
            assert!(
                matches!(result, Err(CopyError::Source(_))),
                "{what} went unnoticed: {result:?}"
            );
        }
    }

    /// A folder named as an entry, with a manifest last modified `age_secs` ago.
    fn aged_entry(root: &Path, key: &str, age_secs: u64) -> PathBuf {
        let e = entry(root, key);
        std::fs::create_dir_all(e.join("data")).unwrap();
        let f = std::fs::File::create(e.join(MANIFEST)).unwrap();
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
        f.set_modified(when).unwrap();
        e
    }

    fn entry_names(root: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn pruning_keeps_the_most_recently_used_entries_and_nothing_else_is_touched() {
        let root = tempfile::tempdir().unwrap();
        // Twelve entries, the one with key ...00 the oldest; one of them without a manifest.
        for i in 0..12u64 {
            aged_entry(root.path(), &format!("{:024x}", 100 - i), 1000 * (12 - i));
        }
        std::fs::remove_file(entry(root.path(), &format!("{:024x}", 89)).join(MANIFEST)).unwrap();
        // What is not an entry stays, however old.
        for other in ["shadow", "pg", "initdb-notakey", "initdb-0123"] {
            std::fs::create_dir(root.path().join(other)).unwrap();
        }
        // Used just now: the oldest by its age so far.
        mark_used(&entry(root.path(), &format!("{:024x}", 100)));
        prune(root.path());
        let mut expected: Vec<String> = [100u64, 96, 95, 94, 93, 92, 91, 90]
            .iter()
            .map(|k| format!("{ENTRY_PREFIX}{k:024x}"))
            .chain(["shadow", "pg", "initdb-notakey", "initdb-0123"].map(String::from))
            .collect();
        expected.sort();
        assert_eq!(entry_names(root.path()), expected);
        // At or under the limit nothing goes.
        prune(root.path());
        assert_eq!(entry_names(root.path()), expected);
    }

    #[test]
    fn a_stored_entry_prunes_the_least_recently_used() {
        let root = tempfile::tempdir().unwrap();
        for i in 0..KEEP_ENTRIES as u64 {
            aged_entry(root.path(), &format!("{:024x}", i), 3600 + i);
        }
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("PG_VERSION"), "15\n").unwrap();
        let key = format!("{:024x}", 999);
        store_in(root.path(), &key, data.path());
        let names = entry_names(root.path());
        assert_eq!(names.len(), KEEP_ENTRIES, "{names:?}");
        assert!(names.contains(&format!("{ENTRY_PREFIX}{key}")), "{names:?}");
        // The oldest (key ...07, one hour and seven seconds) went.
        let oldest = format!("{ENTRY_PREFIX}{:024x}", KEEP_ENTRIES - 1);
        assert!(!names.contains(&oldest), "{names:?}");
    }
}
