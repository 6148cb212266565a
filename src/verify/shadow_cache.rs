//! The specs' normalised form, kept between runs: compiling a thousand specs into the
//! shadow database costs seconds, and the result depends only on what goes in.
//!
//! The cache wraps [`build_shadow`] and stores whatever it returns, checked in two parts.
//! The key, which names the entry, is a SHA-256 of what is known before the shadow's server
//! is asked anything: the tool's version and executable, the version the shadow's server
//! reported at start, every spec and schema document as loaded, and every file in the specs
//! folder. So the entry can be found and read while the migrations run ([`look_up`]). The
//! entry also carries the SHA-256 of what its server said about itself just before the
//! build ([`ServerState`]): its full version, the session settings that shape how
//! PostgreSQL reads and prints types and expressions (time zone, date style, encodings,
//! locales, search path), the roles, and the extensions, schemas and objects the shadow
//! database holds before the build. An entry is used only when this run's server says the
//! same ([`cached_shadow`]).
//!
//! The migrations are not part of the key. The shadow database is a copy of `template1`
//! that no migration runs in, so what the migrations do reaches it only through what the
//! whole server shares (roles, settings, `template1` itself), and that is what the server
//! state holds; a shadow built ahead on a server no migration ran on is trusted on the same
//! comparison ([`ServerState::stands_for`]). So a change that adds a migration and leaves the
//! specs alone (a function's body fixed, rows backfilled) reads the entry of the run before
//! it, and a migration that changes what the server state holds gets the shadow built
//! again.
//!
//! An entry carries its key, that server digest, its length and the SHA-256 of its payload,
//! the shadow in postcard's binary form (parsing the JSON it used to be took about 0.25 s of
//! 34 MB at 5,000 tables). Anything that does not match exactly (a truncated, damaged or
//! foreign entry, a payload this version cannot read) is ignored, removed and rebuilt; an
//! entry of another server state is rebuilt and replaced. Entries are written under a
//! private temporary name and renamed into place, so a concurrent run sees either a whole
//! entry or none. Where the cache lives and how to turn it off: [`crate::cache_dir`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::shadow::{build_shadow, Shadow};
use super::shadow_lanes::{build_shadow_on_two, MoreSessions};
use crate::error::{Error, Result};
use crate::report::digest::sha256_hex;
use crate::spec::SpecSet;

/// First line of every entry; a new layout gets a new line.
const MAGIC: &str = "reims-verify shadow cache 12";

/// How many shadow entries to keep; older ones are removed when a new one is stored.
const KEEP_ENTRIES: usize = 8;

/// Settings that change how PostgreSQL prints or resolves what the specs say.
const SETTINGS: &[&str] = &[
    "TimeZone",
    "timezone_abbreviations",
    "DateStyle",
    "IntervalStyle",
    "extra_float_digits",
    "search_path",
    "server_encoding",
    "client_encoding",
    "lc_collate",
    "lc_ctype",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "standard_conforming_strings",
    "bytea_output",
    "xmloption",
    "default_text_search_config",
    "default_table_access_method",
    "default_tablespace",
    "default_toast_compression",
    "quote_all_identifiers",
    "array_nulls",
    "transform_null_equals",
    "integer_datetimes",
    "max_identifier_length",
    "block_size",
    // Not how anything prints, but whether the build can run at all: a migration that
    // makes the role's sessions read-only fails a build, and must not be answered by an
    // entry built before it.
    "default_transaction_read_only",
];

/// What a run knows, before its shadow's server is asked anything, about where its shadow
/// comes from beside the specs themselves. It names the entry, so that the entry can be
/// read while the migrations run.
#[derive(Debug, Clone, Default)]
pub struct ShadowInputs {
    /// The specs folder; every file in it is part of the key.
    pub specs_dir: Option<PathBuf>,
    /// The version the shadow's server reported when it started, so that each major keeps
    /// its own entry (the server's full version is compared again after the migrations).
    pub server_version: String,
}

/// The cache's answer for a run, looked up before the shadow's server is asked anything
/// ([`look_up`]): at 5,000 tables the key and the entry take about 50 ms of a core, which
/// the migrations hide.
#[derive(Debug)]
pub enum Lookup {
    /// The cache is turned off ([`crate::cache_dir`]): the shadow is built.
    Off,
    /// The cache is on; `found` is the entry stored under `key`, whole, if there is one.
    /// It is used only if it was made on a server in the state this run's server is in.
    On {
        dir: PathBuf,
        key: String,
        found: Option<Box<Entry>>,
    },
}

/// A whole entry: the shadow, and the SHA-256 of what the server it was built on said
/// about itself ([`ServerState`]).
#[derive(Debug)]
pub struct Entry {
    server: String,
    shadow: Shadow,
}

/// Where the shadow came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowSource {
    /// Built in the shadow database during this run (and stored when the cache is on).
    Built,
    /// Built on a server of its own while the migrations ran ([`prebuild`]), and used
    /// because this run's shadow server says what that server said (and stored when the
    /// cache is on).
    BuiltAhead,
    /// Read from a cache entry that matched the key and the server exactly.
    Cached,
}

/// Compute the key and read the entry it names, on a thread of its own: work for a core
/// that the run's own thread (which drives the migrations and the catalog read) does not
/// wait for until the shadow's turn.
pub async fn look_up(specs: Arc<SpecSet>, inputs: ShadowInputs) -> Lookup {
    tokio::task::spawn_blocking(move || look_up_now(&specs, &inputs))
        .await
        // A lookup that died stores nothing and reads nothing: the shadow is built.
        .unwrap_or(Lookup::Off)
}

/// [`look_up`] on the calling thread.
pub fn look_up_now(specs: &SpecSet, inputs: &ShadowInputs) -> Lookup {
    let Some(dir) = crate::cache_dir::root().map(|r| r.join("shadow")) else {
        return Lookup::Off;
    };
    let key = key(specs, inputs);
    let found = load(&dir.join(format!("{key}.shadow")), &key).map(Box::new);
    Lookup::On { dir, key, found }
}

impl Lookup {
    /// True when there is no usable entry to read: the shadow will be built.
    pub fn misses(&self) -> bool {
        matches!(self, Lookup::Off | Lookup::On { found: None, .. })
    }
}

/// A shadow built on a server of its own, with what that server said about itself just
/// before the build. It stands for the shadow of any server that says the same
/// ([`ServerState::stands_for`]).
#[derive(Debug)]
pub struct Prebuilt {
    state: ServerState,
    shadow: Shadow,
}

/// Build the shadow in `conn` (an empty database on a server nothing else uses) and keep
/// the server's state beside it, for [`cached_shadow`] to use in place of a build when the
/// run's own shadow server turns out to be in the same state.
pub async fn prebuild(
    conn: &mut PgConnection,
    more: Option<MoreSessions<'_>>,
    specs: &SpecSet,
) -> Result<Prebuilt> {
    let state = server_state(conn).await?;
    let shadow = build(conn, more, specs).await?;
    Ok(Prebuilt { state, shadow })
}

/// [`build_shadow`] through the cache: the entry [`look_up`] found when the server it was
/// built on said what this run's shadow server says now (its full version, the settings
/// that shape its output, its roles, extensions and schemas, all of which migrations may
/// change); else the `prebuilt` shadow when its server said the same; else a fresh build.
/// A shadow that was not read from the cache is then stored. With the cache off, the
/// `prebuilt` shadow under the same condition, or a plain build.
///
/// With `more` sessions (on a database the run throws away), a build runs on two sessions
/// ([`build_shadow_on_two`]); without, on `conn` alone.
pub async fn cached_shadow(
    conn: &mut PgConnection,
    specs: &SpecSet,
    lookup: Lookup,
    more: Option<MoreSessions<'_>>,
    prebuilt: Option<Prebuilt>,
) -> Result<(Shadow, ShadowSource)> {
    // Nothing to compare the server with: a plain build, as without a cache.
    if matches!(lookup, Lookup::Off) && prebuilt.is_none() {
        return Ok((build(conn, more, specs).await?, ShadowSource::Built));
    }
    let state = server_state(conn).await?;
    let server = state.digest();
    let (dir, key) = match lookup {
        Lookup::Off => (None, None),
        Lookup::On { dir, key, found } => {
            if let Some(entry) = found.filter(|e| e.server == server) {
                return Ok((entry.shadow, ShadowSource::Cached));
            }
            (Some(dir), Some(key))
        }
    };
    let (shadow, source) = match prebuilt.filter(|p| state.stands_for(&p.state)) {
        Some(p) => (p.shadow, ShadowSource::BuiltAhead),
        None => (build(conn, more, specs).await?, ShadowSource::Built),
    };
    if let (Some(dir), Some(key)) = (dir, key) {
        store(&dir, &key, &server, &shadow);
    }
    Ok((shadow, source))
}

/// A build on two sessions when there are more, else on `conn` alone.
async fn build(
    conn: &mut PgConnection,
    more: Option<MoreSessions<'_>>,
    specs: &SpecSet,
) -> Result<Shadow> {
    match more {
        Some(more) => build_shadow_on_two(conn, more, specs).await,
        None => build_shadow(conn, specs).await,
    }
}

/// What a server says about itself that can change the shadow built on it: its version,
/// the user, the settings that shape how it reads and prints, its roles, and the
/// extensions, schemas and objects the shadow database holds before the build (a copy of
/// `template1`, where an object made after initdb, say a domain a spec's column could name
/// or an event trigger that would fire on the build's DDL, changes what the build makes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    /// The full version, the current user and each setting of [`SETTINGS`], a line each.
    head: String,
    /// Every role as `name:superuser`, in name order.
    roles: Vec<String>,
    /// The shadow database's extensions with their versions, its schemas, then every
    /// object in it made after initdb (object identifiers from 16384 on), by kind and name.
    tail: String,
}

impl ServerState {
    /// The SHA-256 a cache entry carries as its `server` line.
    fn digest(&self) -> String {
        sha256_hex(format!("{}\n{}\n{}", self.head, self.roles.join(","), self.tail).as_bytes())
    }

    /// True when a shadow built on a server in state `built_on` is the shadow this server
    /// would build: the same version, user, settings, extensions and schemas, and every
    /// role of that server here too, with the same superuser flag. This server may have
    /// more roles: the shadow's DDL names no role, and a spec that makes PostgreSQL resolve
    /// one (a `'name'::regrole` constant) fails on a server without it, so a build that
    /// succeeded there resolved only roles both servers have.
    pub fn stands_for(&self, built_on: &ServerState) -> bool {
        self.head == built_on.head
            && self.tail == built_on.tail
            && built_on.roles.iter().all(|r| self.roles.contains(r))
    }
}

/// Ask the server for its [`ServerState`].
async fn server_state(conn: &mut PgConnection) -> Result<ServerState> {
    let names: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
    let (head, roles, tail): (String, Vec<String>, String) = sqlx::query_as(
        "SELECT concat_ws(E'\\n', version(), current_user, \
           (SELECT string_agg(n || '=' || coalesce(current_setting(n, true), '<unset>'), E'\\n' ORDER BY ord) \
              FROM unnest($1::text[]) WITH ORDINALITY AS s(n, ord))), \
           ARRAY(SELECT rolname || ':' || rolsuper::text FROM pg_roles ORDER BY rolname), \
           concat_ws(E'\\n', \
             (SELECT string_agg(extname || ':' || extversion, ',' ORDER BY extname) FROM pg_extension), \
             (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace), \
             (SELECT string_agg(made, ',' ORDER BY made) FROM ( \
                SELECT 'relation ' || oid::regclass::text AS made FROM pg_class WHERE oid >= 16384 \
                UNION ALL SELECT 'type ' || oid::regtype::text FROM pg_type WHERE oid >= 16384 \
                UNION ALL SELECT 'function ' || oid::regprocedure::text FROM pg_proc WHERE oid >= 16384 \
                UNION ALL SELECT 'operator ' || oid::regoperator::text FROM pg_operator WHERE oid >= 16384 \
                UNION ALL SELECT 'collation ' || collname FROM pg_collation WHERE oid >= 16384 \
                UNION ALL SELECT 'cast ' || castsource::regtype::text || ' as ' || casttarget::regtype::text \
                  FROM pg_cast WHERE oid >= 16384 \
                UNION ALL SELECT 'operator class ' || opcname FROM pg_opclass WHERE oid >= 16384 \
                UNION ALL SELECT 'text search configuration ' || cfgname FROM pg_ts_config WHERE oid >= 16384 \
                UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger \
                UNION ALL SELECT 'default privileges ' || oid::text FROM pg_default_acl) AS made))",
    )
    .bind(&names)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| Error::database("reading the shadow server's settings", &e))?;
    Ok(ServerState { head, roles, tail })
}

/// The identity of the running executable (path, size, modification time), so that a
/// rebuilt tool never reads what another build stored.
fn executable_identity() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "unknown executable".into();
    };
    let meta = std::fs::metadata(&exe).ok();
    let size = meta.as_ref().map(|m| m.len()).unwrap_or_default();
    let modified = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}|{size}|{modified}", exe.display())
}

/// Feed one length-prefixed field to the hash, so that fields cannot run into each other.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Every regular file under `dir`, by relative path, in a stable order.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            out.push((d.clone(), b"<unreadable folder>".to_vec()));
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_else(|_| b"<unreadable file>".to_vec());
                out.push((p.strip_prefix(dir).unwrap_or(&p).to_path_buf(), bytes));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The cache key, which names the entry: SHA-256 over everything that can change what
/// [`build_shadow`] returns and is known before the shadow's server is asked anything.
/// What the server says about itself after the migrations is compared apart, against the
/// entry's `server` line.
pub fn key(specs: &SpecSet, inputs: &ShadowInputs) -> String {
    let mut h = Sha256::new();
    field(&mut h, MAGIC.as_bytes());
    field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    field(&mut h, executable_identity().as_bytes());
    field(&mut h, inputs.server_version.as_bytes());
    // Each spec as loaded, in its serialised form: every field of the spec types is
    // serialised (none is skipped), and serialising costs a fifth of `Debug`.
    let mut buf = Vec::new();
    field(&mut h, &(specs.specs.len() as u64).to_le_bytes());
    for s in &specs.specs {
        field(&mut h, s.path.as_os_str().as_encoded_bytes());
        field(&mut h, s.checksum.as_bytes());
        field(&mut h, as_loaded(&mut buf, &s.spec));
    }
    field(&mut h, &(specs.schemas.len() as u64).to_le_bytes());
    for s in &specs.schemas {
        field(&mut h, s.path.as_os_str().as_encoded_bytes());
        field(&mut h, s.checksum.as_bytes());
        field(&mut h, as_loaded(&mut buf, &s.spec));
    }
    match &inputs.specs_dir {
        Some(dir) => {
            let files = files_under(dir);
            field(&mut h, &(files.len() as u64).to_le_bytes());
            for (p, bytes) in files {
                field(&mut h, p.as_os_str().as_encoded_bytes());
                field(&mut h, &bytes);
            }
        }
        None => field(&mut h, b"<no specs folder>"),
    }
    hex::encode(h.finalize())
}

/// `spec` serialised into `buf` (cleared first), for the key. A spec that cannot be
/// serialised (none can fail today) is keyed by its `Debug` text instead.
fn as_loaded<'b, T: Serialize + std::fmt::Debug>(buf: &'b mut Vec<u8>, spec: &T) -> &'b [u8] {
    buf.clear();
    if serde_json::to_writer(&mut *buf, spec).is_err() {
        buf.clear();
        buf.extend_from_slice(format!("{spec:?}").as_bytes());
    }
    buf
}

/// The entry at `path` if it is whole and made for `key`; a damaged or foreign entry is
/// removed so that this run can store a good one.
fn load(path: &Path, key: &str) -> Option<Entry> {
    let bytes = std::fs::read(path).ok()?;
    let entry = parse_entry(&bytes, key);
    if entry.is_none() {
        let _ = std::fs::remove_file(path);
    } else if let Ok(f) = std::fs::File::options().append(true).open(path) {
        // Mark it recently used, so pruning removes older entries first.
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    entry
}

/// How many lines an entry's header has: magic, key, server, length, digest.
const HEADER_LINES: usize = 5;

/// Check the header (magic, key, server, length, digest) and read the payload.
fn parse_entry(bytes: &[u8], key: &str) -> Option<Entry> {
    let mut rest = bytes;
    let mut header = Vec::new();
    for _ in 0..HEADER_LINES {
        let nl = rest.iter().position(|&b| b == b'\n')?;
        header.push(std::str::from_utf8(&rest[..nl]).ok()?);
        rest = &rest[nl + 1..];
    }
    if header[0] != MAGIC || header[1] != format!("key {key}") {
        return None;
    }
    let server = header[2].strip_prefix("server ")?;
    let length: usize = header[3].strip_prefix("length ")?.parse().ok()?;
    let digest = header[4].strip_prefix("sha256 ")?;
    if rest.len() != length || sha256_hex(rest) != digest {
        return None;
    }
    Some(Entry {
        server: server.to_string(),
        shadow: postcard::from_bytes(rest).ok()?,
    })
}

/// The bytes of an entry for `shadow` under `key`, built on a server whose fingerprint has
/// the SHA-256 `server`.
fn entry_bytes(key: &str, server: &str, shadow: &Shadow) -> Option<Vec<u8>> {
    let payload = postcard::to_allocvec(shadow).ok()?;
    let mut out = format!(
        "{MAGIC}\nkey {key}\nserver {server}\nlength {}\nsha256 {}\n",
        payload.len(),
        sha256_hex(&payload)
    )
    .into_bytes();
    out.extend_from_slice(&payload);
    Some(out)
}

/// Store an entry: write a private temporary file, then rename it into place. Failures only
/// cost the next run a build, so they are ignored.
fn store(dir: &Path, key: &str, server: &str, shadow: &Shadow) {
    let Some(bytes) = entry_bytes(key, server, shadow) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
        .is_ok();
    if !written || std::fs::rename(&tmp, dir.join(format!("{key}.shadow"))).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    prune(dir);
}

/// Keep the newest [`KEEP_ENTRIES`] entries; drop temporary files older than an hour (left
/// by a run that was killed while writing).
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut shadows = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let modified = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        if name.starts_with(".tmp-") {
            if now
                .duration_since(modified)
                .is_ok_and(|age| age.as_secs() > 3600)
            {
                let _ = std::fs::remove_file(e.path());
            }
        } else if name.ends_with(".shadow") {
            shadows.push((modified, e.path()));
        }
    }
    shadows.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (_, p) in shadows.into_iter().skip(KEEP_ENTRIES) {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Schema;

    fn sample() -> Shadow {
        Shadow {
            schema: Schema {
                server_version: "15.18".into(),
                ..Schema::default()
            },
            functions: Vec::new(),
        }
    }

    #[test]
    fn an_entry_reads_back_only_under_its_own_key_and_whole() {
        let bytes = entry_bytes("abc", "s1", &sample()).unwrap();
        let entry = parse_entry(&bytes, "abc").unwrap();
        assert_eq!(entry.shadow.schema.server_version, "15.18");
        assert_eq!(entry.server, "s1");
        assert!(parse_entry(&bytes, "abd").is_none(), "foreign key accepted");
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(parse_entry(&bytes[..cut], "abc").is_none(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 0x01;
        assert!(
            parse_entry(&flipped, "abc").is_none(),
            "flipped byte accepted"
        );
        let mut longer = bytes.clone();
        longer.push(b' ');
        assert!(
            parse_entry(&longer, "abc").is_none(),
            "trailing byte accepted"
        );
        let older =
            String::from_utf8_lossy(&bytes).replacen(MAGIC, "reims-verify shadow cache 2", 1);
        assert!(
            parse_entry(older.as_bytes(), "abc").is_none(),
            "older layout accepted"
        );
    }

    #[test]
    fn the_key_changes_with_the_server() {
        let specs = SpecSet::default();
        let on = |version: &str| ShadowInputs {
            specs_dir: None,
            server_version: version.into(),
        };
        let base = key(&specs, &on("15.18"));
        assert_eq!(base, key(&specs, &on("15.18")));
        assert_ne!(base, key(&specs, &on("16.4")));
    }

    #[test]
    fn a_shadow_built_elsewhere_stands_only_for_a_server_in_its_state() {
        let state = |head: &str, roles: &[&str], tail: &str| ServerState {
            head: head.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            tail: tail.into(),
        };
        let built_on = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["postgres:true"],
            "plpgsql:1.0\npublic",
        );
        // The run's server after migrations that created roles: the same shadow.
        let with_roles = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["app:false", "postgres:true", "reader:false"],
            "plpgsql:1.0\npublic",
        );
        assert!(with_roles.stands_for(&built_on));
        assert!(built_on.stands_for(&built_on));
        // A setting, the superuser flag of a role both have, a missing role, another
        // extension or schema: not the same.
        let printing = state(
            "15.18\npostgres\nIntervalStyle=iso_8601",
            &["postgres:true"],
            "plpgsql:1.0\npublic",
        );
        let demoted = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["postgres:false"],
            "plpgsql:1.0\npublic",
        );
        let without = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["app:false"],
            "plpgsql:1.0\npublic",
        );
        let extended = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["postgres:true"],
            "plpgsql:1.0,citext:1.6\npublic",
        );
        for other in [&printing, &demoted, &without, &extended] {
            assert!(!other.stands_for(&built_on), "{other:?}");
        }
        // The cache's digest covers every part, roles included: a state that differs in
        // any of them has another digest, and one made afresh of the same parts the same.
        for other in [&with_roles, &printing, &demoted, &without, &extended] {
            assert_ne!(other.digest(), built_on.digest(), "{other:?}");
        }
        let again = state(
            "15.18\npostgres\nIntervalStyle=postgres",
            &["postgres:true"],
            "plpgsql:1.0\npublic",
        );
        assert_eq!(again.digest(), built_on.digest());
    }
}
