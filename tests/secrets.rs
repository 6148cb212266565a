//! No password ever leaves the process, however it is given: a URL (with unencoded special
//! characters, percent-encoded, in the query string, or failing to parse), libpq
//! `key=value` pairs, `PGPASSWORD`, or a pgpass file. Each form is tried through the real
//! binary (against a closed port, a bad string, and a real server that demands the
//! password), and the redaction function is tried with generated passwords.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use reims_verify::postgres::{ClusterOptions, DatabaseUrl, EphemeralCluster};
use reims_verify::redact;

/// A local TCP port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Every form in which a password may be printed: as is, percent-encoded, JSON-escaped.
fn forms(password: &str) -> Vec<String> {
    let mut f = vec![
        password.to_string(),
        utf8_percent_encode(password, NON_ALPHANUMERIC).to_string(),
    ];
    let json = serde_json::to_string(password).unwrap();
    f.push(json[1..json.len() - 1].to_string());
    f.retain(|s| s.chars().count() >= redact::MIN_SCRUB_LEN);
    f
}

/// Run the binary with `env`, a report folder, and return (exit code, everything it
/// printed plus every file it left in the report folder).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let reports = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args);
    if args.first() == Some(&"check") {
        cmd.arg("--report").arg(reports.path());
    }
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env("HOME", home.path())
        .env_remove("DATABASE_URL")
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env_remove("PGHOST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let mut all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for entry in std::fs::read_dir(reports.path()).unwrap().flatten() {
        all.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.path()).unwrap_or_default(),
        ));
    }
    (out.status.code().unwrap_or(-1), all)
}

fn assert_hidden(case: &str, output: &str, password: &str) {
    for form in forms(password) {
        assert!(
            !output.contains(&form),
            "{case}: the password leaked as `{form}`:\n{output}"
        );
    }
}

/// A connection string, the password it carries, extra environment, and the exit code.
struct Case {
    name: &'static str,
    conn: String,
    password: &'static str,
    env: Vec<(&'static str, String)>,
    code: i32,
}

/// The cases, with the pgpass file written into `dir`, which the caller holds and removes.
fn corpus(port: u16, dir: &Path) -> Vec<Case> {
    let c = |name, conn: String, password, code| Case {
        name,
        conn,
        password,
        env: vec![],
        code,
    };
    let pgpass = pgpass_file(dir, &format!("127.0.0.1:{port}:db:auditor:Pgpass-Pw-61"));
    vec![
        c(
            "plain URL",
            format!("postgres://auditor:S3cr3t-Pw-01@127.0.0.1:{port}/db"),
            "S3cr3t-Pw-01",
            3,
        ),
        c(
            "percent-encoded",
            format!("postgres://auditor:hunt%40Pw%3A02%2F@127.0.0.1:{port}/db"),
            "hunt@Pw:02/",
            3,
        ),
        c(
            "unencoded @",
            format!("postgres://auditor:hunt@r2-Pw-03@127.0.0.1:{port}/db"),
            "hunt@r2-Pw-03",
            2,
        ),
        c(
            "unencoded ? and #",
            format!("postgresql://auditor:Pw?04#x@127.0.0.1:{port}/db"),
            "Pw?04#x",
            2,
        ),
        c(
            "unencoded /",
            format!("postgres://auditor:Pw/05-x@127.0.0.1:{port}/db"),
            "Pw/05-x",
            2,
        ),
        c(
            "query password",
            format!("postgres://auditor@127.0.0.1:{port}/db?password=Qu3ry-Pw-06&sslmode=disable"),
            "Qu3ry-Pw-06",
            3,
        ),
        c(
            "encoded query password",
            format!("postgres://auditor@127.0.0.1:{port}/db?password=Qu3ry%26Pw%3D07"),
            "Qu3ry&Pw=07",
            3,
        ),
        c(
            "key=value quoted",
            format!(r"host=127.0.0.1 port={port} user=auditor password='a b\'Pw 08' dbname=db"),
            "a b'Pw 08",
            3,
        ),
        c(
            "key=value plain",
            format!("host=127.0.0.1 port={port} user=auditor password=Kv-Pw-09 dbname=db"),
            "Kv-Pw-09",
            3,
        ),
        c(
            "key=value unterminated",
            "host=127.0.0.1 password='Unterminated-Pw-10 dbname=db".into(),
            "Unterminated-Pw-10",
            2,
        ),
        c(
            "key=value unquoted space",
            "host=127.0.0.1 password=Spaced Pw-11 dbname=db".into(),
            "Pw-11",
            2,
        ),
        c(
            "bad port",
            "postgres://auditor:Bad-port-Pw-12@127.0.0.1:notaport/db".into(),
            "Bad-port-Pw-12",
            2,
        ),
        c(
            "foreign scheme",
            "mysql://auditor:My-sql-Pw-13@127.0.0.1/db".into(),
            "My-sql-Pw-13",
            2,
        ),
        c(
            "unknown parameter",
            format!("postgres://auditor:Param-Pw-14@127.0.0.1:{port}/db?ssl=true"),
            "Param-Pw-14",
            2,
        ),
        c(
            "no scheme",
            "auditor:No-scheme-Pw-15@127.0.0.1/db".into(),
            "No-scheme-Pw-15",
            2,
        ),
        c(
            "unicode",
            format!(
                "postgres://auditor:{}@127.0.0.1:{port}/db",
                utf8_percent_encode("Pässwörd-✓-16", NON_ALPHANUMERIC)
            ),
            "Pässwörd-✓-16",
            3,
        ),
        Case {
            name: "PGPASSWORD",
            conn: format!("postgres://auditor@127.0.0.1:{port}/db"),
            password: "Env-Pw-17",
            env: vec![("PGPASSWORD", "Env-Pw-17".into())],
            code: 3,
        },
        Case {
            name: "pgpass file",
            conn: format!("postgres://auditor@127.0.0.1:{port}/db"),
            password: "Pgpass-Pw-61",
            env: vec![("PGPASSFILE", pgpass)],
            code: 3,
        },
    ]
}

#[test]
fn every_form_of_connection_string_keeps_its_password_hidden() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    for case in corpus(port, dir.path()) {
        // The redaction function, on the string as given.
        assert_hidden(
            case.name,
            &redact::connection_string(&case.conn),
            case.password,
        );
        // The binary, with the string as a flag, as `--flag=value`, and in DATABASE_URL.
        let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let flag = format!("--database-url={}", case.conn);
        let mut with_url = env.clone();
        with_url.push(("DATABASE_URL", case.conn.as_str()));
        for (how, args, env) in [
            (
                "flag",
                vec![
                    "check",
                    "--database-url",
                    case.conn.as_str(),
                    "--connect-timeout",
                    "2",
                ],
                env.clone(),
            ),
            (
                "flag=",
                vec!["check", flag.as_str(), "--connect-timeout", "2"],
                env.clone(),
            ),
            (
                "DATABASE_URL",
                vec!["check", "--connect-timeout", "2"],
                with_url.clone(),
            ),
            (
                "migrate",
                vec![
                    "migrate",
                    "--list",
                    "--database-url",
                    case.conn.as_str(),
                    "--connect-timeout",
                    "2",
                ],
                env.clone(),
            ),
        ] {
            let (code, output) = run(&args, &env);
            let label = format!("{} ({how})", case.name);
            assert_eq!(code, case.code, "{label}: exit code\n{output}");
            assert_hidden(&label, &output, case.password);
            assert!(!output.contains("panicked"), "{label}: {output}");
        }
    }
}

#[test]
fn a_password_quoted_back_by_the_argument_parser_is_hidden() {
    // A connection string given where a number is expected is quoted in clap's error.
    let (code, output) = run(
        &[
            "check",
            "--connect-timeout",
            "postgres://auditor:Clap-Pw-21@h/db",
        ],
        &[],
    );
    assert_eq!(code, 2, "{output}");
    assert_hidden("clap value", &output, "Clap-Pw-21");
    let (code, output) = run(&["check", "--bogus=host=h password=Clap-Pw-22"], &[]);
    assert_eq!(code, 2, "{output}");
    assert_hidden("clap unknown flag", &output, "Clap-Pw-22");
}

/// Passwords of every awkward kind: URL and libpq syntax characters, quotes, backslashes,
/// spaces and non-ASCII letters.
fn password() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"[A-Za-z0-9@:/?#%&= '"\\äß✓€]{6,20}"#)
        .unwrap()
        .prop_filter(
            "mostly letters and digits would collide with other text",
            |p| p.chars().filter(|c| c.is_alphanumeric()).count() >= 3,
        )
}

fn key_value_quoted(p: &str) -> String {
    p.replace('\\', "\\\\").replace('\'', "\\'")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn redaction_hides_generated_passwords(pw in password()) {
        let encoded = utf8_percent_encode(&pw, NON_ALPHANUMERIC).to_string();
        let strings = [
            format!("postgres://auditor:{encoded}@db.example:5432/reims"),
            format!("postgres://auditor:{pw}@db.example:5432/reims"),
            format!("postgres://auditor@db.example/reims?sslmode=require&password={encoded}"),
            format!("host=db.example user=auditor password='{}' dbname=reims", key_value_quoted(&pw)),
        ];
        for s in &strings {
            let shown = redact::connection_string(s);
            prop_assert!(!shown.contains(&pw), "{} -> {}", s, shown);
            prop_assert!(!shown.contains(&encoded), "{} -> {}", s, shown);
            let text = match DatabaseUrl::parse(s) {
                Ok(url) => format!("{url} {url:?}"),
                Err(e) => format!("{e} {}", e.hint().unwrap_or_default()),
            };
            for form in forms(&pw) {
                prop_assert!(!text.contains(&form), "{} -> {}", s, text);
            }
        }
        // Any text that quotes a registered password, in any form, comes out without it.
        redact::register(&pw);
        let noisy = format!("FATAL: {pw} / {encoded} / {}", serde_json::to_string(&pw).unwrap());
        let clean = redact::scrub(&noisy);
        for form in forms(&pw) {
            prop_assert!(!clean.contains(&form), "{}", clean);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn the_binary_hides_generated_passwords(pw in password()) {
        let port = closed_port();
        let encoded = utf8_percent_encode(&pw, NON_ALPHANUMERIC).to_string();
        for conn in [
            format!("postgres://auditor:{encoded}@127.0.0.1:{port}/db"),
            format!("host=127.0.0.1 port={port} user=auditor password='{}' dbname=db", key_value_quoted(&pw)),
            format!("postgres://auditor:{pw}@127.0.0.1:{port}/db"),
        ] {
            let (code, output) = run(&["check", "--database-url", &conn, "--connect-timeout", "2"], &[]);
            prop_assert!(code == 2 || code == 3, "{}: exit {}\n{}", conn, code, output);
            for form in forms(&pw) {
                prop_assert!(!output.contains(&form), "{} leaked as {}:\n{}", pw, form, output);
            }
        }
    }
}

/// A server that demands a password from `auditor`, with the project migrated into `gate`.
fn server() -> &'static EphemeralCluster {
    static SERVER: OnceLock<EphemeralCluster> = OnceLock::new();
    SERVER.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use reims_verify::migrate::{apply, discover, ApplyMode, ApplyOptions};
                    use sqlx::Connection;
                    let c = EphemeralCluster::start(&ClusterOptions::default())
                        .await
                        .unwrap();
                    c.create_database("gate", None).await.unwrap();
                    let mut conn = c.connect("gate").await.unwrap();
                    let files = discover(&migrations_dir()).unwrap();
                    apply(
                        &c.connect_options("gate"),
                        &files,
                        &ApplyMode::All,
                        &ApplyOptions::default(),
                    )
                    .await
                    .unwrap();
                    sqlx::raw_sql(&format!(
                        "CREATE ROLE auditor LOGIN PASSWORD '{SERVER_PW}';
                         CREATE ROLE echo_user LOGIN;
                         GRANT SELECT ON schema_migrations TO auditor;"
                    ))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                    let hba = c.dir().join("data/pg_hba.conf");
                    let old = std::fs::read_to_string(&hba).unwrap();
                    std::fs::write(&hba, format!("local all auditor scram-sha-256\n{old}"))
                        .unwrap();
                    sqlx::raw_sql("SELECT pg_reload_conf()")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    conn.close().await.unwrap();
                    c
                })
        })
        .join()
        .unwrap()
    })
}

const SERVER_PW: &str = "Srv-Pw-z9!q";

fn pgpass_file(dir: &Path, line: &str) -> String {
    let path = dir.join("pgpass");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path.display().to_string()
}

#[test]
fn passwords_from_pgpass_and_pgpassword_reach_the_server_and_nothing_else() {
    let socket = server().dir().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://auditor@localhost/gate?host={socket}&port=5432");

    // From a pgpass file: the server demands it, so a passing check proves it was sent.
    let file = pgpass_file(
        dir.path(),
        &format!("localhost:5432:gate:auditor:{SERVER_PW}"),
    );
    let (code, output) = run(
        &["check", "--database-url", &url, "--no-probe"],
        &[("PGPASSFILE", file.as_str())],
    );
    assert_eq!(code, 0, "{output}");
    assert_hidden("pgpass", &output, SERVER_PW);

    // From PGPASSWORD.
    let (code, output) = run(
        &["check", "--database-url", &url, "--no-probe"],
        &[("PGPASSWORD", SERVER_PW)],
    );
    assert_eq!(code, 0, "{output}");
    assert_hidden("PGPASSWORD", &output, SERVER_PW);

    // In key=value form.
    let kv = format!("host={socket} port=5432 user=auditor dbname=gate password='{SERVER_PW}'");
    let (code, output) = run(&["check", "--database-url", &kv, "--no-probe"], &[]);
    assert_eq!(code, 0, "{output}");
    assert_hidden("key=value", &output, SERVER_PW);
    assert!(output.contains("password=***"), "{output}");
}

#[test]
fn a_server_error_that_quotes_the_pgpass_password_is_scrubbed() {
    // The pgpass password is also the name of the database asked for, so the server's own
    // error quotes it back: `database "…" does not exist`.
    let socket = server().dir().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let pw = "Echoed-Db-Pw-31";
    let file = pgpass_file(dir.path(), &format!("*:*:*:echo_user:{pw}"));
    let url = format!("postgres://echo_user@localhost/{pw}?host={socket}&port=5432");
    let (code, output) = run(
        &["check", "--database-url", &url, "--no-probe"],
        &[("PGPASSFILE", file.as_str())],
    );
    assert_eq!(code, 3, "{output}");
    assert!(
        output.contains("does not exist"),
        "the server's error is shown: {output}"
    );
    assert_hidden("echoed by the server", &output, pw);
}
