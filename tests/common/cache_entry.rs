//! Edits to an initdb-cache entry that the tests make by hand: its manifest's lines, and an
//! entry only the server can tell is unusable.
#![allow(dead_code)]

use std::path::Path;

/// The end of a file's line in an entry's `MANIFEST`: size, CRC-32 and path
/// (`"8192 1a2b3c4d global/pg_control\n"`); the line starts with the file's kind and mode.
pub fn manifest_tail(bytes: &[u8], path: &str) -> String {
    format!("{} {:08x} {path}\n", bytes.len(), crc32fast::hash(bytes))
}

/// Make `entry` one the server refuses but every check of the cache passes: `pg_control`
/// overwritten, and its manifest line re-signed to match. Returns the bytes written.
pub fn make_refused(entry: &Path) -> Vec<u8> {
    let path = entry.join("data/global/pg_control");
    let old = std::fs::read(&path).unwrap();
    let new = vec![0x5a; old.len()];
    std::fs::write(&path, &new).unwrap();
    let manifest = std::fs::read_to_string(entry.join("MANIFEST")).unwrap();
    let line = |bytes: &[u8]| format!(" {}", manifest_tail(bytes, "global/pg_control"));
    assert!(manifest.contains(&line(&old)), "{manifest}");
    let manifest = manifest.replace(&line(&old), &line(&new));
    std::fs::write(entry.join("MANIFEST"), manifest).unwrap();
    new
}
