//! The cache of the specs' normalised form, attacked from every side a run can meet: an
//! edited spec, a new migration, a migration that changes how the server reads SQL (added,
//! then taken away), another server major, a damaged, truncated or foreign entry, and
//! several runners sharing one cache. In every case the verdict of a run that may read the
//! cache equals the verdict of a run without it. The cache is proven to be read at all by a
//! deliberately re-signed entry, which a warm run must then follow, and by a new migration
//! that leaves the specs' entry untouched.
//!
//! The shadow built ahead, on a server of its own while the migrations run, is held to the
//! same rule: its verdict is that of the shadow built after them, on a passing and a failing
//! project; a migration that changes how the server prints makes the run build it again; a
//! spec PostgreSQL refuses is reported as without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use sha2::{Digest, Sha256};

/// A private copy of the project's migrations and specs, to edit freely.
struct Project {
    _dir: tempfile::TempDir,
    migrations: PathBuf,
    specs: PathBuf,
}

fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let specs = dir.path().join("specs");
    copy_files(&migrations_dir(), &migrations);
    copy_files(&specs_dir(), &specs);
    Project {
        _dir: dir,
        migrations,
        specs,
    }
}

/// The same project with one spec default changed: a run must fail on it.
fn project_with_wrong_default() -> Project {
    let p = project();
    edit_alerts_default(&p.specs, "'warning'", "'critical'");
    p
}

fn edit_alerts_default(specs: &Path, from: &str, to: &str) {
    let path = specs.join("alerts.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let from = format!("default: \"{from}\"");
    assert!(text.contains(&from), "the alerts spec changed shape");
    std::fs::write(&path, text.replace(&from, &format!("default: \"{to}\""))).unwrap();
}

/// How a run may use the cache.
#[derive(Clone, Copy, PartialEq)]
enum Cache {
    Off,
    On,
}

/// The verdict of one run: its exit code and its findings (as JSON lines, sorted).
#[derive(Debug, PartialEq)]
struct Verdict {
    code: i32,
    findings: Vec<String>,
}

impl Verdict {
    fn failed(&self, needle: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.contains("\"status\":\"fail") && f.contains(needle))
    }
}

fn command(p: &Project, cache_dir: &Path, cache: Cache, bindir: Option<&Path>) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args([
        "check",
        "--no-probe",
        "--no-report",
        "--format",
        "json",
        "--color",
        "never",
        "--migrations",
    ])
    .arg(&p.migrations)
    .arg("--specs")
    .arg(&p.specs)
    .env("REIMS_VERIFY_CACHE_DIR", cache_dir)
    .env_remove("REIMS_VERIFY_NO_CACHE")
    .env_remove("DATABASE_URL")
    .env_remove("PGHOST")
    .stdin(Stdio::null());
    if cache == Cache::Off {
        cmd.env("REIMS_VERIFY_NO_CACHE", "1");
    }
    if let Some(b) = bindir {
        cmd.env("REIMS_VERIFY_PG_BINDIR", b);
    }
    cmd
}

fn verdict_of(out: std::process::Output) -> Verdict {
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "check exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON run record ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut findings: Vec<String> = run["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.to_string())
        .collect();
    findings.sort();
    Verdict { code, findings }
}

fn check(p: &Project, cache_dir: &Path, cache: Cache) -> Verdict {
    verdict_of(command(p, cache_dir, cache, None).output().unwrap())
}

/// The shadow entries in a cache folder, sorted.
fn entries(cache_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(cache_dir.join("shadow"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "shadow"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The one entry that appeared since `before`.
fn new_entry(cache_dir: &Path, before: &[PathBuf]) -> PathBuf {
    let now = entries(cache_dir);
    let fresh: Vec<&PathBuf> = now.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(fresh.len(), 1, "expected one new entry, have {now:?}");
    fresh[0].clone()
}

/// The header lines and payload of an entry.
fn split_entry(bytes: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mut rest = bytes;
    let mut header = Vec::new();
    for _ in 0..5 {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header line");
        header.push(String::from_utf8(rest[..nl].to_vec()).unwrap());
        rest = &rest[nl + 1..];
    }
    (header, rest.to_vec())
}

/// An entry with the same header layout for `payload`, signed as the tool signs it. The
/// header's lines are magic, key, server digest, length and payload digest.
fn signed(header: &[String], payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{}\n{}\n{}\nlength {}\nsha256 {}\n",
        header[0],
        header[1],
        header[2],
        payload.len(),
        hex::encode(Sha256::digest(payload))
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Re-sign `entry` with the shadow's default for alerts.severity changed to `'bogus'`.
fn poison(entry: &Path) {
    let (header, payload) = split_entry(&std::fs::read(entry).unwrap());
    let mut shadow: reims_verify::verify::Shadow =
        postcard::from_bytes(&payload).expect("the entry's payload is a shadow");
    let from = "'warning'::character varying";
    let column = shadow
        .schema
        .relations
        .get_mut("alerts")
        .and_then(|r| r.columns.iter_mut().find(|c| c.name == "severity"))
        .filter(|c| c.default.as_deref() == Some(from))
        .expect("the entry holds no alerts default");
    column.default = Some("'bogus'::character varying".into());
    let changed = postcard::to_allocvec(&shadow).unwrap();
    std::fs::write(entry, signed(&header, &changed)).unwrap();
}

/// Whether `entry` is whole: its length and digest match its header.
fn whole(entry: &Path) -> bool {
    let (header, payload) = split_entry(&std::fs::read(entry).unwrap());
    header[3] == format!("length {}", payload.len())
        && header[4] == format!("sha256 {}", hex::encode(Sha256::digest(&payload)))
}

#[test]
fn a_warm_run_gives_the_cold_verdict_and_reads_its_entry() {
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    let cold = check(&p, cache.path(), Cache::Off);
    assert_eq!(cold.code, 0, "{cold:?}");
    assert!(
        entries(cache.path()).is_empty(),
        "a cold run wrote an entry"
    );

    let filling = check(&p, cache.path(), Cache::On);
    let entry = new_entry(cache.path(), &[]);
    assert!(whole(&entry));
    let warm = check(&p, cache.path(), Cache::On);
    assert_eq!(filling, cold);
    assert_eq!(warm, cold);
    assert_eq!(entries(cache.path()), vec![entry.clone()]);

    // A whole entry under the right key is what a warm run uses: re-signed with a wrong
    // default, it makes the run fail. (This is how the remaining tests know that a run they
    // watch could have read the cache.)
    poison(&entry);
    let poisoned = check(&p, cache.path(), Cache::On);
    assert_eq!(poisoned.code, 1, "{poisoned:?}");
    assert!(poisoned.failed("column.default"), "{poisoned:?}");

    // The entry is found by what is known before the migrations run, and used only if the
    // server it was built on said what this run's server says after them (its version,
    // settings, roles, extensions and schemas): the same poisoned entry, said to come from
    // another server, is not used, and is replaced by a build on this one.
    let (header, payload) = split_entry(&std::fs::read(&entry).unwrap());
    assert!(header[2].starts_with("server "), "{header:?}");
    let mut elsewhere = header.clone();
    elsewhere[2] = format!("server {}", hex::encode(Sha256::digest(b"another server")));
    std::fs::write(&entry, signed(&elsewhere, &payload)).unwrap();
    assert_eq!(check(&p, cache.path(), Cache::On), cold);
    assert_eq!(entries(cache.path()), vec![entry.clone()]);
    assert!(whole(&entry));
    assert_eq!(
        split_entry(&std::fs::read(&entry).unwrap()).0[..3],
        header[..3]
    );
    assert_eq!(check(&p, cache.path(), Cache::On), cold);

    // The cache is safe to delete.
    std::fs::remove_dir_all(cache.path().join("shadow")).unwrap();
    assert_eq!(check(&p, cache.path(), Cache::On), cold);
    assert_eq!(entries(cache.path()).len(), 1);
}

#[test]
fn an_edited_spec_is_never_answered_from_the_cache_and_a_new_migration_reads_its_entry() {
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    assert_eq!(check(&p, cache.path(), Cache::On).code, 0);
    let first = entries(cache.path());

    // The passing entry would make this run pass: the spec now says 'critical'.
    edit_alerts_default(&p.specs, "'warning'", "'critical'");
    let warm = check(&p, cache.path(), Cache::On);
    let cold = check(&p, cache.path(), Cache::Off);
    assert_eq!(warm.code, 1, "{warm:?}");
    assert!(warm.failed("column.default"), "{warm:?}");
    assert_eq!(warm, cold);
    let second = new_entry(cache.path(), &first);

    // A file beside the specs that the loader does not read still changes the key.
    std::fs::write(p.specs.join("notes.txt"), "not a spec").unwrap();
    let before = entries(cache.path());
    let warm = check(&p, cache.path(), Cache::On);
    assert_eq!(warm, cold);
    new_entry(cache.path(), &before);
    std::fs::remove_file(p.specs.join("notes.txt")).unwrap();

    // Back to the original spec: the first entry answers again, and the run passes.
    edit_alerts_default(&p.specs, "'critical'", "'warning'");
    assert_eq!(check(&p, cache.path(), Cache::On).code, 0);
    assert!(second.exists());

    // A new migration changes the database, not the specs' normalised form: the run fails
    // on it as a run without the cache does, and reads the entry the run before it stored
    // (which stays as it was, not rebuilt and stored again).
    std::fs::copy(
        fixture("drift/10_change_default.sql"),
        p.migrations.join("100_change_default.sql"),
    )
    .unwrap();
    let before = stored(cache.path());
    let warm = check(&p, cache.path(), Cache::On);
    let cold = check(&p, cache.path(), Cache::Off);
    assert_eq!(warm.code, 1, "{warm:?}");
    assert!(warm.failed("users"), "{warm:?}");
    assert_eq!(warm, cold);
    assert_eq!(stored(cache.path()), before, "the entry was stored again");
}

/// Each entry of a cache folder with its inode, which tells a stored entry from one only
/// read: an entry is stored by renaming a new file into place, and a read only marks the
/// file used (its modification time).
fn stored(cache_dir: &Path) -> Vec<(PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    entries(cache_dir)
        .into_iter()
        .map(|p| {
            let inode = std::fs::metadata(&p).unwrap().ino();
            (p, inode)
        })
        .collect()
}

#[test]
fn a_damaged_truncated_or_foreign_entry_is_ignored_and_rebuilt() {
    let cache = tempfile::tempdir().unwrap();
    let good = project();
    let bad = project_with_wrong_default();
    assert_eq!(check(&good, cache.path(), Cache::On).code, 0);
    let good_entry = new_entry(cache.path(), &[]);
    let expected = check(&bad, cache.path(), Cache::Off);
    assert_eq!(expected.code, 1);
    assert_eq!(check(&bad, cache.path(), Cache::On), expected);
    let bad_entry = new_entry(cache.path(), std::slice::from_ref(&good_entry));
    let intact = std::fs::read(&bad_entry).unwrap();
    let good_bytes = std::fs::read(&good_entry).unwrap();

    let (bad_header, _) = split_entry(&intact);
    let (_, good_payload) = split_entry(&good_bytes);
    let mut flipped = intact.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 0x20;
    let mut longer = intact.clone();
    longer.extend_from_slice(b"\n");
    // The passing payload under the failing key, with a length and digest that do not match.
    let mut mislabelled = bad_header.join("\n").into_bytes();
    mislabelled.push(b'\n');
    mislabelled.extend_from_slice(&good_payload);
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", intact[..intact.len() / 2].to_vec()),
        (
            "header only",
            intact[..intact.len() - split_entry(&intact).1.len()].to_vec(),
        ),
        ("flipped byte", flipped),
        ("trailing byte", longer),
        ("foreign entry (the passing specs')", good_bytes.clone()),
        ("passing payload, failing header", mislabelled),
        ("not an entry", b"{\"schema\": {}}".to_vec()),
    ];
    for (what, bytes) in damages {
        std::fs::write(&bad_entry, &bytes).unwrap();
        let v = check(&bad, cache.path(), Cache::On);
        assert_eq!(v, expected, "{what}: the verdict changed");
        assert!(whole(&bad_entry), "{what}: the entry was not rebuilt");
        assert_eq!(
            split_entry(&std::fs::read(&bad_entry).unwrap()).0,
            bad_header,
            "{what}"
        );
    }
    // A folder where the entry should be, and a cache folder that cannot be written, cost a
    // build and nothing else.
    std::fs::remove_file(&bad_entry).unwrap();
    std::fs::create_dir(&bad_entry).unwrap();
    assert_eq!(check(&bad, cache.path(), Cache::On), expected);
    let not_a_folder = cache.path().join("file");
    std::fs::write(&not_a_folder, "x").unwrap();
    let v = verdict_of(
        command(&bad, &not_a_folder, Cache::On, None)
            .output()
            .unwrap(),
    );
    assert_eq!(v, expected);
}

#[test]
fn runners_sharing_one_cache_at_once_each_get_their_own_verdict() {
    let cache = tempfile::tempdir().unwrap();
    let good = project();
    let bad = project_with_wrong_default();
    for round in 0..2 {
        let children: Vec<(bool, std::process::Child)> = [true, false, true, false]
            .into_iter()
            .map(|is_good| {
                let p = if is_good { &good } else { &bad };
                let child = command(p, cache.path(), Cache::On, None)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (is_good, child)
            })
            .collect();
        for (is_good, child) in children {
            let v = verdict_of(child.wait_with_output().unwrap());
            assert_eq!(v.code, if is_good { 0 } else { 1 }, "round {round}: {v:?}");
        }
        let now = entries(cache.path());
        assert_eq!(now.len(), 2, "round {round}: {now:?}");
        assert!(now.iter().all(|e| whole(e)), "round {round}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(cache.path().join("shadow"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A server folder of another major than the default one, when this machine has one.
fn other_major_bindir() -> Option<PathBuf> {
    let default_major = reims_verify::postgres::find_bindir(None)
        .ok()
        .and_then(|b| major_of(&b.path));
    let mut candidates: Vec<PathBuf> = std::env::var_os("REIMS_VERIFY_TEST_OTHER_BINDIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    // Majors the tool runs (initdb --no-instructions needs 14 or later).
    for major in [16, 17, 18, 14] {
        candidates.push(PathBuf::from(format!(
            "/var/cache/reims-verify/pg/{major}/bin"
        )));
    }
    candidates
        .into_iter()
        .find(|b| major_of(b).is_some_and(|m| Some(m) != default_major))
}

fn major_of(bindir: &Path) -> Option<u32> {
    let out = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .last()?
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[test]
fn another_server_major_never_reads_this_majors_entry() {
    let Some(other) = other_major_bindir() else {
        report_skip(
            "no PostgreSQL of a second major on this machine (set REIMS_VERIFY_TEST_OTHER_BINDIR)",
        );
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    let on_other = |cache_mode| {
        verdict_of(
            command(&p, cache.path(), cache_mode, Some(other.as_path()))
                .output()
                .unwrap(),
        )
    };
    let expected = on_other(Cache::Off);
    assert_eq!(check(&p, cache.path(), Cache::On).code, 0);
    let entry = new_entry(cache.path(), &[]);
    // Were the other major to read this entry, its run would fail.
    poison(&entry);
    assert_eq!(check(&p, cache.path(), Cache::On).code, 1);
    let v = on_other(Cache::On);
    assert_eq!(v, expected, "the other major read this major's entry");
    new_entry(cache.path(), std::slice::from_ref(&entry));
}

/// The variable that makes a run build its shadow after the migrations, on its own server.
const NO_AHEAD: &str = reims_verify::commands::NO_SHADOW_AHEAD_ENV;

/// Whether a run (`--format json`) used a shadow built ahead: its record has the phase of
/// the shadow's own server (`shadow_server`), and its `shadow` phase began before its
/// `migrations` phase ended. A shadow built after the migrations, or read from the cache,
/// has neither.
fn built_beside(out: &std::process::Output) -> bool {
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON run record ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let phase = |name: &str| {
        run["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| {
                (
                    p["started_millis"].as_u64().unwrap(),
                    p["millis"].as_u64().unwrap(),
                )
            })
    };
    let (migrations_start, migrations) = phase("migrations").expect("a migrations phase");
    let (shadow_start, _) = phase("shadow").expect("a shadow phase");
    let server = phase("shadow_server");
    let beside = server.is_some_and(|(start, _)| start < migrations_start + migrations);
    assert_eq!(
        beside,
        server.is_some(),
        "a shadow server that started after the migrations: {}",
        run["phases"]
    );
    if !beside {
        assert!(
            shadow_start >= migrations_start + migrations,
            "a shadow built after the migrations began before they ended: {}",
            run["phases"]
        );
    }
    beside
}

/// Two cold runs of `p`: one that may build its shadow ahead, one that may not.
fn cold_both_ways(p: &Project, cache_dir: &Path) -> (std::process::Output, std::process::Output) {
    let ahead = command(p, cache_dir, Cache::Off, None).output().unwrap();
    let after = command(p, cache_dir, Cache::Off, None)
        .env(NO_AHEAD, "1")
        .output()
        .unwrap();
    (ahead, after)
}

/// Without a cache entry, the shadow is built on a server of its own while the migrations
/// run, and gives the verdict of the shadow built after them on the run's own server: on the
/// project as it is, and with a spec that must fail.
#[test]
fn a_shadow_built_beside_the_migrations_gives_the_verdict_of_one_built_after_them() {
    if !builds_ahead(None) {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    for (p, code) in [(project(), 0), (project_with_wrong_default(), 1)] {
        let (beside, after) = cold_both_ways(&p, cache.path());
        assert!(built_beside(&beside), "the shadow was not built ahead");
        assert!(!built_beside(&after), "{NO_AHEAD} did not turn it off");
        let (beside, after) = (verdict_of(beside), verdict_of(after));
        assert_eq!(beside.code, code, "{beside:?}");
        if code == 1 {
            assert!(beside.failed("column.default"), "{beside:?}");
        }
        assert_eq!(beside, after);
    }
}

/// A project whose second migration makes the server read `x = NULL` as `x IS NULL`
/// (`transform_null_equals`, by `ALTER SYSTEM` and a reload), with a spec written so: its
/// CHECK says `note = NULL`, which a server reading SQL its default way compiles to
/// `note = NULL`, not to the database's `note IS NULL`. (How the server prints no longer
/// serves here: the catalog read and the shadow pin that, `catalog::PRINTING`.)
fn null_equals_project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("001_notes.sql"),
        "CREATE TABLE notes (id bigint PRIMARY KEY, note text, \
         CONSTRAINT notes_note_check CHECK (note IS NULL OR note <> ''));\n",
    )
    .unwrap();
    // The sleep gives the server time to pass the reload on to every session.
    std::fs::write(
        migrations.join("002_null_equals.sql"),
        "-- no-transaction\nALTER SYSTEM SET transform_null_equals = on;\n\
         SELECT pg_reload_conf();\nSELECT pg_sleep(0.3);\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["spec", "snapshot", "--out"])
        .arg(&specs)
        .arg("--migrations")
        .arg(&migrations)
        .env("REIMS_VERIFY_NO_CACHE", "1")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "spec snapshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The snapshot writes the CHECK as a structured rule; the spec says it in SQL instead.
    let path = specs.join("notes.yaml");
    let spec = std::fs::read_to_string(&path).unwrap();
    let written: String = spec
        .lines()
        .map(|line| {
            if line.starts_with("    rule: ") {
                "    rule: { sql: \"note = NULL OR note <> ''\" }\n".to_string()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert_eq!(
        written.matches("note = NULL").count(),
        1,
        "the snapshot's CHECK:\n{spec}"
    );
    std::fs::write(&path, written).unwrap();
    Project {
        _dir: dir,
        migrations,
        specs,
    }
}

/// A migration that changes how the server reads what the specs say leaves the shadow
/// built ahead, on a server that reads SQL the default way, unused: the shadow is built
/// again after the migrations, and the run passes, with and without the cache.
#[test]
fn a_migration_that_changes_how_the_server_reads_gets_the_shadow_built_after_it() {
    if !builds_ahead(None) {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let p = null_equals_project();
    let out = command(&p, cache.path(), Cache::Off, None)
        .output()
        .unwrap();
    let beside = built_beside(&out);
    let cold = verdict_of(out);
    assert_eq!(cold.code, 0, "{cold:?}");
    assert!(!beside, "the shadow built ahead was used");
    let after = verdict_of(
        command(&p, cache.path(), Cache::Off, None)
            .env(NO_AHEAD, "1")
            .output()
            .unwrap(),
    );
    assert_eq!(after, cold);
    // Stored, and read back, under what the run's own server said.
    assert_eq!(check(&p, cache.path(), Cache::On), cold);
    assert_eq!(entries(cache.path()).len(), 1);
    assert_eq!(check(&p, cache.path(), Cache::On), cold);
}

/// The migrations are not part of the cache's key, so a migration that changes how the
/// server reads SQL finds the entry its absence stored, and the other way round. The entry
/// carries the state of the server it was built on, so neither is answered from it: with
/// the migration the run passes, without it the spec's `note = NULL` is not the database's
/// `note IS NULL` and the run fails, each time as a run without the cache says.
#[test]
fn a_migration_that_changes_how_the_server_reads_never_meets_an_entry_of_the_other_state() {
    let cache = tempfile::tempdir().unwrap();
    let p = null_equals_project();
    let changing = p.migrations.join("002_null_equals.sql");
    let kept = std::fs::read(&changing).unwrap();

    let with = check(&p, cache.path(), Cache::On);
    assert_eq!(with.code, 0, "{with:?}");
    assert_eq!(with, check(&p, cache.path(), Cache::Off));

    std::fs::remove_file(&changing).unwrap();
    let warm = check(&p, cache.path(), Cache::On);
    let cold = check(&p, cache.path(), Cache::Off);
    assert_eq!(warm.code, 1, "{warm:?}");
    assert!(warm.failed("notes_note_check"), "{warm:?}");
    assert_eq!(warm, cold);

    std::fs::write(&changing, kept).unwrap();
    assert_eq!(check(&p, cache.path(), Cache::On), with);
    assert_eq!(entries(cache.path()).len(), 1);
}

/// A session on a new empty database in which `sql` ran, opened after it ran; `{db}` in
/// the SQL names the database.
async fn database_made_by(sql: &[&str], tag: &str) -> sqlx::PgConnection {
    let db = empty_db(tag).await;
    let sql: Vec<String> = sql
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("{db}", &db))
        .collect();
    if !sql.is_empty() {
        sqlx::raw_sql(&sql.join(";\n"))
            .execute(&mut connect(&db).await)
            .await
            .unwrap();
    }
    connect(&db).await
}

/// Builds the shadow ahead on a new empty database after running `both`, then asks for
/// one on another made by `both` and then `second`, offering the first: what the run
/// would use there (or why it could not build). The second is read on a session opened
/// after its SQL ran, so a setting made for the database holds for it.
async fn shadow_offered_one_built_elsewhere(
    both: &str,
    second: &str,
) -> Result<reims_verify::verify::ShadowSource, String> {
    use reims_verify::verify::{cached_shadow, prebuild, Lookup};
    let specs = reims_verify::spec::load_dir(&specs_dir()).unwrap();
    let mut first = database_made_by(&[both], "state_first").await;
    let prebuilt = prebuild(&mut first, None, &specs).await.unwrap();
    let mut here = database_made_by(&[both, second], "state_second").await;
    cached_shadow(&mut here, &specs, Lookup::Off, None, Some(prebuilt))
        .await
        .map(|(_, source)| source)
        .map_err(|e| e.to_string())
}

/// What the shadow database holds before the build is part of the server's state, so a
/// shadow built on a database without an object is not used for one that has it. (The
/// run's shadow database is a copy of `template1`, which a migration could change through
/// a connection of its own.) Each kind of object the state lists is made in the second
/// database only, and each case adds a row to its own catalog alone (an index, not a
/// table, which would add a row type too); a database made the same way as the first
/// takes the shadow built there.
#[tokio::test]
async fn an_object_in_the_shadow_database_before_the_build_keeps_out_a_shadow_built_without_it() {
    use reims_verify::verify::ShadowSource;
    // (what, SQL in both databases, SQL in the second only)
    let cases = [
        ("nothing", "", ""),
        ("a domain", "", "CREATE DOMAIN public.stray AS text"),
        (
            "an index",
            "CREATE TABLE public.holder (id integer)",
            "CREATE INDEX stray ON public.holder (id)",
        ),
        (
            "a function",
            "",
            "CREATE FUNCTION public.stray() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        ),
        (
            "an operator",
            "",
            "CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq)",
        ),
        (
            "a collation",
            "",
            "CREATE COLLATION public.stray FROM \"C\"",
        ),
        (
            "a cast",
            "CREATE TYPE public.pair AS (a integer, b integer); \
             CREATE FUNCTION public.pair_sum(public.pair) RETURNS integer LANGUAGE sql \
             AS 'SELECT $1.a + $1.b'",
            "CREATE CAST (public.pair AS integer) WITH FUNCTION public.pair_sum(public.pair)",
        ),
        (
            "an operator class",
            "",
            "CREATE OPERATOR CLASS public.stray_ops FOR TYPE integer USING btree \
             AS OPERATOR 1 <, FUNCTION 1 btint4cmp(integer, integer)",
        ),
        (
            "a text search configuration",
            "",
            "CREATE TEXT SEARCH CONFIGURATION public.stray (COPY = pg_catalog.simple)",
        ),
        (
            "an event trigger",
            "CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql \
             AS 'BEGIN END'",
            "CREATE EVENT TRIGGER stray ON ddl_command_end EXECUTE FUNCTION public.on_ddl()",
        ),
        (
            "default privileges",
            "",
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, both, second) in cases {
        let source = shadow_offered_one_built_elsewhere(both, second)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let expected = if second.is_empty() {
            ShadowSource::BuiltAhead
        } else {
            ShadowSource::Built
        };
        if source != expected {
            wrong.push(format!("{what}: {source:?} where {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A database whose sessions are read-only by default (as a migration's `ALTER ROLE … SET
/// default_transaction_read_only = on` would make the shadow's) cannot take a build: a
/// shadow built elsewhere is not used in its place, the build is tried and refused, as
/// without a shadow built elsewhere.
#[tokio::test]
async fn a_shadow_database_whose_sessions_are_read_only_gets_no_shadow_built_elsewhere() {
    let built = shadow_offered_one_built_elsewhere(
        "",
        "ALTER DATABASE {db} SET default_transaction_read_only = on",
    )
    .await;
    match built {
        Err(e) => assert!(e.contains("read-only"), "{e}"),
        Ok(source) => panic!("the shadow was {source:?}"),
    }
}

/// A spec PostgreSQL refuses fails the build ahead too; the run then reports it as the
/// build after the migrations does: the same exit code and the same message.
#[test]
fn a_spec_the_server_refuses_is_reported_as_without_the_build_ahead() {
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    edit_alerts_default(&p.specs, "'warning'", "'warning'::no_such_type");
    let (beside, after) = cold_both_ways(&p, cache.path());
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(beside.status.code(), Some(2), "{}", stderr(&beside));
    assert!(
        stderr(&beside).contains("alerts.yaml"),
        "{}",
        stderr(&beside)
    );
    assert!(
        stderr(&beside).contains("no_such_type"),
        "{}",
        stderr(&beside)
    );
    assert_eq!(beside.status.code(), after.status.code());
    assert_eq!(stderr(&beside), stderr(&after));
}

/// A file system of `megabytes` mounted for the test, unmounted when dropped; `None`
/// (with the reason) where this process may not mount one.
struct SmallTmpfs {
    dir: tempfile::TempDir,
}

impl SmallTmpfs {
    fn mount(megabytes: u32) -> Result<SmallTmpfs, String> {
        if !nix::unistd::geteuid().is_root() {
            return Err("mounting a small tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=755")])
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount refused a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallTmpfs { dir })
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Where the cluster folders go has too little room for a second server (a container's
/// `/dev/shm` is 64 MB by default): the shadow is not built ahead, and the run's own server
/// has the room to itself. The 160 MB here would hold both servers of a REIMS run.
#[test]
fn a_cluster_folder_without_room_for_a_second_server_gets_no_build_ahead() {
    if !builds_ahead(None) {
        return;
    }
    let small = match SmallTmpfs::mount(160) {
        Ok(m) => m,
        Err(why) => {
            report_skip(&why);
            return;
        }
    };
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    let out = command(&p, cache.path(), Cache::Off, None)
        .env("REIMS_VERIFY_TMPDIR", small.dir.path())
        .output()
        .unwrap();
    let beside = built_beside(&out);
    assert_eq!(verdict_of(out).code, 0);
    assert!(!beside, "a second server was started in 160 MB");
    // Nothing of either run is left in it.
    let left: Vec<_> = std::fs::read_dir(small.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A handed-over server gets no build ahead: the shadow runs on a server of its own,
/// started at the shadow's turn, even without a cache entry.
#[tokio::test]
async fn a_handed_over_server_gets_no_build_ahead() {
    let db = migrated_db("handed_over").await;
    let url = format!(
        "postgres://postgres@localhost/{db}?host={}&port=5432",
        cluster().dir().display()
    );
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args([
            "check",
            "--database-url",
            &url,
            "--no-report",
            "--format",
            "json",
        ])
        .current_dir(root())
        .env("REIMS_VERIFY_CACHE_DIR", cache.path())
        .env("REIMS_VERIFY_NO_CACHE", "1")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .output()
        .unwrap();
    let beside = built_beside(&out);
    assert_eq!(verdict_of(out).code, 0);
    assert!(
        !beside,
        "a shadow was built ahead beside a handed-over server"
    );
}

/// On one core the shadow is not built ahead: a second server would only take turns with
/// the migrations. The run is confined to one core with `taskset`, as a CI runner of one
/// core would be.
#[test]
fn a_run_on_one_core_gets_no_build_ahead() {
    if Command::new("taskset").arg("--version").output().is_err() {
        report_skip("taskset (util-linux) is not installed");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let p = project();
    let run = command(&p, cache.path(), Cache::Off, None);
    let mut on_one = Command::new("taskset");
    on_one
        .args(["-c", "0"])
        .arg(run.get_program())
        .args(run.get_args());
    for (name, value) in run.get_envs() {
        match value {
            Some(v) => on_one.env(name, v),
            None => on_one.env_remove(name),
        };
    }
    let out = on_one.stdin(Stdio::null()).output().unwrap();
    let beside = built_beside(&out);
    assert_eq!(verdict_of(out).code, 0);
    assert!(!beside, "a second server was started for a run on one core");
}
