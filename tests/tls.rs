//! TLS to a handed-over server, for real: a PostgreSQL with `ssl=on` on localhost whose
//! pg_hba.conf accepts only TLS connections, a certificate signed by a test CA, and the
//! `sslmode` values from `disable` to `verify-full` through sqlx's rustls.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A PostgreSQL server started with pg_ctl for this test alone; stopped on drop.
struct TlsServer {
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = as_postgres(
            Command::new(bindir().join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "-w", "stop"]),
        )
        .output();
    }
}

fn bindir() -> PathBuf {
    reims_verify::postgres::find_bindir(None)
        .expect("server binaries")
        .path
}

fn as_postgres(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if nix::unistd::geteuid().is_root() {
        let u = nix::unistd::User::from_name("postgres")
            .unwrap()
            .expect("a postgres OS user");
        cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw());
    }
    cmd
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    sh(Command::new("openssl").current_dir(dir).args(args));
}

/// A test CA, a server certificate for localhost signed by it, and an unrelated CA.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=reims-verify test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "2",
            "-subj",
            "/CN=some other CA",
        ],
    );
}

fn start() -> Option<TlsServer> {
    if Command::new("openssl").arg("version").output().is_err() {
        report_skip("no openssl command to make test certificates");
        return None;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    certificates(&certs);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.path().join("data");
    if let Some(u) = nix::unistd::geteuid()
        .is_root()
        .then(|| nix::unistd::User::from_name("postgres").unwrap().unwrap())
    {
        nix::unistd::chown(dir.path(), Some(u.uid), Some(u.gid)).unwrap();
        for f in ["server.key", "server.crt"] {
            nix::unistd::chown(&certs.join(f), Some(u.uid), Some(u.gid)).unwrap();
        }
    }
    std::fs::set_permissions(
        certs.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    sh(as_postgres(
        Command::new(bindir().join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync"]),
    ));
    // Only TLS connections over TCP; the socket stays for set-up.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
    )
    .unwrap();
    let opts = format!(
        "-c listen_addresses=localhost -p {port} -k {} -c fsync=off -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        dir.path().display(),
        certs.join("server.crt").display(),
        certs.join("server.key").display()
    );
    sh(as_postgres(
        Command::new(bindir().join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(opts)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "start"]),
    ));
    Some(TlsServer { dir, port })
}

fn list(url: &str) -> (i32, String) {
    let out = Command::new(bin())
        .args([
            "migrate",
            "--list",
            "--format",
            "json",
            "--database-url",
            url,
            "--migrations",
        ])
        .arg(migrations_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn sslmodes_from_disable_to_verify_full() {
    let Some(server) = start() else { return };
    let certs = server.dir.path().join("certs");
    let base = format!("postgres://postgres@localhost:{}/postgres", server.port);

    let (code, err) = list(&format!("{base}?sslmode=disable"));
    assert_eq!(
        code, 3,
        "the server accepts only TLS, so plain text must fail: {err}"
    );
    assert!(
        err.contains("no encryption") || err.contains("pg_hba.conf"),
        "{err}"
    );

    let (code, err) = list(&format!("{base}?sslmode=require"));
    assert_eq!(code, 0, "require: {err}");

    let (code, err) = list(&format!(
        "{base}?sslmode=verify-ca&sslrootcert={}",
        certs.join("ca.crt").display()
    ));
    assert_eq!(code, 0, "verify-ca with the right CA: {err}");

    let (code, err) = list(&format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        certs.join("ca.crt").display()
    ));
    assert_eq!(code, 0, "verify-full with the right CA: {err}");

    let (code, err) = list(&format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        certs.join("other.crt").display()
    ));
    assert_eq!(
        code, 3,
        "verify-full with a CA that did not sign the server's certificate must fail: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
}
