//! The binary as users meet it: `check` on the project passes with a stable report, bad
//! specs exit 2 with file, line and key, bad flags exit 2, and the committed JSON Schema of
//! the spec format is current.

mod common;

use std::process::Command;

use common::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Replace what varies between machines and runs.
fn redact(text: &str) -> String {
    let mut out = text.replace(&root().display().to_string(), "[ROOT]");
    out = out
        .lines()
        .map(|l| match l.find("(server ") {
            Some(i) => format!("{}(server [VERSION])", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.replace(env!("CARGO_PKG_VERSION"), "[TOOL_VERSION]")
}

#[test]
fn check_passes_on_the_project_and_its_report_is_stable() {
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().to_str().unwrap();
    let (code, stdout, stderr) = run(&["check", "--seed", "1", "--report", dir]);
    let stdout = stdout.replace(dir, "[REPORTS]");
    let stdout = match stdout.rsplit_once("SHA256SUMS: ") {
        Some((head, tail)) if tail.len() >= 64 => {
            format!("{head}SHA256SUMS: [DIGEST]{}", &tail[64..])
        }
        _ => stdout,
    };
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS:"), "{stdout}");
    assert!(
        stdout.contains("probe seed: 1 (replay with --seed 1)"),
        "{stdout}"
    );
    insta::assert_snapshot!("check_table_output", redact(&stdout));
}

#[test]
fn check_json_is_machine_readable_and_complete() {
    let (code, stdout, stderr) = run(&["check", "--format", "json", "--seed", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 14);
    assert_eq!(v["specs"].as_array().unwrap().len(), 16);
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["status"] != "fail"));
    assert_eq!(v["probe_seed"], 5);
    let codes: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in [
        "column.type",
        "index.predicate",
        "fk.on_delete",
        "trigger.timing",
        "function.volatility",
        "check.rule",
    ] {
        assert!(codes.contains(code), "no {code} findings");
    }
}

#[test]
fn a_mutation_applied_after_the_migrations_fails_the_gate_with_exit_1() {
    let (code, stdout, _) = run(&[
        "check",
        "--apply-after",
        "tests/fixtures/drift/01_drop_index.sql",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL index.exists  users.idx_users_role"),
        "{stdout}"
    );
    assert!(stdout.contains("spec:     specs/users.yaml:"), "{stdout}");
}

fn bad_spec(case: &str) -> String {
    let dir = format!("tests/fixtures/specs_bad/{case}");
    let (code, stdout, stderr) = run(&["check", "--no-report", "--specs", &dir]);
    assert_eq!(code, 2, "{case}: expected exit 2\n{stdout}\n{stderr}");
    assert!(stderr.contains("hint:"), "{case}: {stderr}");
    redact(&stderr)
}

#[test]
fn malformed_specs_exit_2_naming_file_line_and_key() {
    let cases = [
        ("bad_yaml", "t.yaml:"),
        ("unknown_key", "t.yaml:7"),
        ("wrong_type", "t.yaml:3"),
        ("missing_column", "t.yaml:7"),
        ("bad_type", "t.yaml:4"),
        ("bad_storage", "t.yaml:4"),
        ("bad_replica_identity", "t.yaml:2"),
        ("bad_index_parameters", "t.yaml:5"),
        ("bad_populated", "t.yaml:2"),
        ("bad_on_delete_columns", "t.yaml:10"),
        ("bare_variant", "t.yaml:6"),
        ("bad_statistics", "t.yaml:4"),
        ("bad_column_options", "t.yaml:4"),
        ("bad_cluster_on", "t.yaml:2"),
        ("bad_index_statistics", "t.yaml:6"),
        ("duplicate_table", "b.yaml:1"),
        ("bad_requirement", "t.yaml:2"),
    ];
    for (case, location) in cases {
        let stderr = bad_spec(case);
        assert!(
            stderr.contains(location),
            "{case}: expected {location} in\n{stderr}"
        );
        insta::assert_snapshot!(format!("bad_spec_{case}"), stderr);
    }
}

/// Words from the libraries' vocabulary that must never reach a user.
const INTERNALS: [&str; 14] = [
    "Option<",
    "DuplicateKeyPolicy",
    "from_str",
    "serde",
    "saphyr",
    "sqlx",
    "ParseIntError",
    "invalid digit",
    "Os {",
    "kind:",
    "Utf8Error",
    "unknown variant",
    "panicked",
    "RUST_BACKTRACE",
];

fn assert_plain(what: &str, text: &str) {
    for word in INTERNALS {
        assert!(!text.contains(word), "{what}: `{word}` in\n{text}");
    }
}

#[test]
fn every_malformed_spec_of_the_corpus_exits_2_in_plain_words() {
    let mut dirs: Vec<String> = std::fs::read_dir(fixture("specs_bad"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "{dirs:?}");
    for case in dirs {
        let dir = format!("tests/fixtures/specs_bad/{case}");
        let (code, stdout, stderr) = run(&["check", "--no-report", "--no-probe", "--specs", &dir]);
        assert_eq!(code, 2, "{case}: expected exit 2\n{stdout}\n{stderr}");
        assert!(stderr.contains(&dir), "{case}: the file is named: {stderr}");
        assert!(stderr.contains("hint:"), "{case}: {stderr}");
        assert_plain(&case, &stderr);
        insta::assert_snapshot!(format!("specs_bad_{case}"), redact(&stderr));
    }
}

#[test]
fn spec_files_that_cannot_be_read_or_look_like_specs_are_never_skipped_silently() {
    let good = std::fs::read_to_string(specs_dir().join("users.yaml")).unwrap();
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.yaml"), &good).unwrap();
        dir
    };
    let validate =
        |dir: &std::path::Path| run(&["spec", "validate", "--specs", dir.to_str().unwrap()]);
    type Make = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "dangling symbolic link",
            Box::new(|d| {
                std::os::unix::fs::symlink(d.join("gone.yaml"), d.join("t.yaml")).unwrap()
            }),
            "which does not exist",
        ),
        (
            "symbolic link loop",
            Box::new(|d| {
                std::os::unix::fs::symlink(d.join("b.yaml"), d.join("a.yaml")).unwrap();
                std::os::unix::fs::symlink(d.join("a.yaml"), d.join("b.yaml")).unwrap();
            }),
            "symbolic link loop",
        ),
        (
            "FIFO",
            Box::new(|d| {
                nix::unistd::mkfifo(&d.join("t.yaml"), nix::sys::stat::Mode::S_IRWXU).unwrap()
            }),
            "not a regular file",
        ),
        (
            "folder",
            Box::new(|d| std::fs::create_dir(d.join("t.yml")).unwrap()),
            "is a folder",
        ),
        (
            "upper-case extension",
            Box::new(|d| std::fs::write(d.join("t.Yml"), "table: t").unwrap()),
            "rename it to t.yml",
        ),
    ];
    for (name, make, expected) in cases {
        let dir = fresh();
        make(dir.path());
        let started = std::time::Instant::now();
        let (code, stdout, stderr) = validate(dir.path());
        assert_eq!(code, 2, "{name}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{name}: a FIFO is never opened"
        );
    }
    // Backups and editor files: read as nothing, but named in a warning.
    for other in [
        "users.yaml~",
        "users.yaml.bak",
        ".users.yml.swp",
        "users.yml.orig",
    ] {
        let dir = fresh();
        std::fs::write(dir.path().join(other), &good).unwrap();
        let (code, stdout, stderr) = validate(dir.path());
        assert_eq!(code, 0, "{other}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("warning: {}", dir.path().join(other).display())),
            "{other}: {stderr}"
        );
        assert!(stdout.contains("1 spec file(s)"), "{stdout}");
    }
}

#[test]
fn wrong_flags_exit_2() {
    let (code, _, stderr) = run(&["check", "--format", "xml"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&["migrate"]);
    assert_eq!(code, 2, "migrate needs an action: {stderr}");
    let (code, _, stderr) = run(&[
        "check",
        "--database-url",
        "postgres://u:pw@host:notaport/db",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("pw@"), "password leaked: {stderr}");
}

#[test]
fn every_invalid_flag_value_exits_2_with_a_plain_message() {
    let bad_sql = "tests/fixtures/drift/01_drop_index.sql";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["check", "--statement-timeout", "banana"],
            "expected a number with an optional unit",
        ),
        (
            vec!["check", "--statement-timeout", ""],
            "expected a number",
        ),
        (
            vec!["check", "--statement-timeout", "10 parsecs"],
            "expected a number",
        ),
        (vec!["check", "--lock-timeout", "-5"], "cannot be negative"),
        (vec!["check", "--lock-timeout=-5s"], "cannot be negative"),
        (vec!["check", "--connect-timeout", "0"], "from 1 to 3600"),
        (vec!["check", "--connect-timeout", "-1"], "from 1 to 3600"),
        (vec!["check", "--connect-timeout", "ten"], "from 1 to 3600"),
        (vec!["check", "--cases", "-1"], "from 0 to 100000"),
        (vec!["check", "--cases", "100001"], "from 0 to 100000"),
        (vec!["check", "--seed", "-3"], "whole number"),
        (vec!["check", "--seed", "0x10"], "whole number"),
        (vec!["check", "--pg-user", "root"], "refuses to run as root"),
        (
            vec!["check", "--pg-user", "no_such_user_rv"],
            "no such OS user",
        ),
        (
            vec!["check", "--pg-bindir", "/no/such/dir"],
            "no such folder",
        ),
        (vec!["check", "--pg-bindir", "Cargo.toml"], "not a folder"),
        (
            vec!["check", "--database-url", "mysql://u:p@h/db"],
            "not a PostgreSQL URL",
        ),
        (vec!["check", "--database-url", ""], "empty"),
        (
            vec!["check", "--database-url", "postgres://h/db?ssl=true"],
            "unknown connection parameter",
        ),
        (
            vec![
                "check",
                "--database-url",
                "postgres://h/db?connect_timeout=5",
            ],
            "--connect-timeout",
        ),
        (
            vec!["check", "--database-url", "postgres://h/db?sslmode=on"],
            "sslmode `on`",
        ),
        (
            vec!["check", "--database-url", "host=h port=99999"],
            "port `99999`",
        ),
        (
            vec![
                "check",
                "--database-url",
                "postgres://h/db",
                "--apply-after",
                bad_sql,
            ],
            "--apply-after cannot be used",
        ),
        (vec!["check", "--apply-after", "no/such.sql"], "no/such.sql"),
        (
            vec!["check", "--database-url", "postgres://h/db", "--jobs", "2"],
            "--jobs applies to a throw-away server only",
        ),
        (vec!["check", "--jobs", "0"], "from 1 to 16"),
        (vec!["check", "--jobs", "17"], "from 1 to 16"),
        (vec!["check", "-j", "two"], "from 1 to 16"),
        (
            vec!["check", "--report", "Cargo.toml"],
            "cannot write reports into Cargo.toml",
        ),
        (
            vec!["check", "--no-report", "--report", "x"],
            "cannot be used with",
        ),
        (
            vec!["check", "--probe", "--no-probe"],
            "cannot be used with",
        ),
        (vec!["check", "--format", "xml"], "possible values"),
        (vec!["check", "--color", "sometimes"], "possible values"),
        (vec!["check", "--backend", "podman"], "possible values"),
        (
            vec!["spec", "snapshot", "--out", "x", "--schema", ""],
            "schema name is empty",
        ),
        (vec!["report"], "needs --from"),
        (vec!["report", "verify"], "required"),
        (vec!["migrate"], "required"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let started = std::time::Instant::now();
        let (code, stdout, stderr) = run(&args);
        let what = args.join(" ");
        assert_eq!(code, 2, "{what}: {stdout}{stderr}");
        assert!(
            stderr.contains(expected),
            "{what}: expected `{expected}` in\n{stderr}"
        );
        assert_plain(&what, &stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what}: not refused up front"
        );
    }
    // The same through the environment.
    let out = Command::new(bin())
        .args(["check"])
        .current_dir(root())
        .env("REIMS_VERIFY_BACKEND", "podman")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Every flag of every command, given each of a corpus of hostile values, in a folder with
/// no migrations and no specs: never a panic, never an exit other than 0 or 2, never a
/// library's word, never a password.
#[test]
fn fuzzing_every_flag_gives_exit_0_or_2_and_plain_words() {
    use clap::CommandFactory;
    let empty = tempfile::tempdir().unwrap();
    let values = [
        "",
        "-5",
        "banana",
        "0",
        "99999999999999999999999",
        "../../etc/passwd",
        "postgres://u:Fuzz-Pw-9@h/db",
        "host=h password=Fuzz-Pw-8",
        "ü\u{202e}x",
        "%00",
    ];
    let long = "a".repeat(4000);
    let cli = reims_verify::cli::Cli::command();
    let mut runs = 0;
    let mut commands: Vec<(Vec<String>, &clap::Command)> = Vec::new();
    for sub in cli.get_subcommands() {
        if sub.has_subcommands() {
            for leaf in sub.get_subcommands() {
                commands.push((vec![sub.get_name().into(), leaf.get_name().into()], leaf));
            }
        }
        commands.push((vec![sub.get_name().into()], sub));
    }
    for (path, cmd) in commands {
        for arg in cmd.get_arguments() {
            let Some(long_flag) = arg.get_long() else {
                continue;
            };
            if !arg.get_action().takes_values() || long_flag == "help" {
                continue;
            }
            for value in values.iter().copied().chain([long.as_str()]) {
                let mut args: Vec<String> = path.clone();
                args.push(format!("--{long_flag}={value}"));
                if path == ["spec", "snapshot"] && long_flag != "out" {
                    args.push("--out=fuzz-out".into());
                }
                if path == ["migrate"] {
                    args.push("--list".into());
                }
                let out = Command::new(bin())
                    .args(&args)
                    .current_dir(empty.path())
                    .env("NO_COLOR", "1")
                    .env_remove("DATABASE_URL")
                    .env_remove("PGHOST")
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stdout = String::from_utf8_lossy(&out.stdout);
                let what = args.join(" ");
                let code = out.status.code().unwrap_or(-1);
                let reachable = long_flag == "database-url" && code == 3;
                assert!(
                    code == 0 || code == 2 || reachable,
                    "{what}: exit {code}\n{stdout}{stderr}"
                );
                assert_plain(&what, &stderr);
                assert!(
                    !stderr.contains("Fuzz-Pw") && !stdout.contains("Fuzz-Pw"),
                    "{what}: {stderr}"
                );
                runs += 1;
            }
        }
    }
    assert!(runs > 150, "only {runs} runs");
}

#[test]
fn check_help_says_what_happens_on_a_handed_over_server() {
    let (code, stdout, _) = run(&["check", "--help"]);
    assert_eq!(code, 0);
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "apply",
        "nothing",
        "read-only",
        "--apply-after is refused",
        "rolled back",
    ] {
        assert!(
            stdout.contains(expected),
            "`{expected}` missing from\n{stdout}"
        );
    }
}

#[test]
fn cases_seed_or_jobs_beside_no_probe_are_refused_before_any_server_starts() {
    for extra in [["--cases", "8"], ["--seed", "3"], ["--jobs", "2"]] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "check",
            "--no-probe",
            "--report",
            out.path().to_str().unwrap(),
        ];
        args.extend(extra);
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{extra:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("cannot be used with") && stderr.contains(extra[0]),
            "{extra:?}: {stderr}"
        );
        assert!(
            !stdout.contains("PASS") && !stdout.contains("FAIL"),
            "{extra:?}: a run happened: {stdout}"
        );
    }
}

#[test]
fn an_unknown_schema_is_refused_with_the_schemas_there_are() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&[
        "spec",
        "snapshot",
        "--out",
        out.path().to_str().unwrap(),
        "--schema",
        "no_such_schema",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("schema `no_such_schema` does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("one of: public"), "{stderr}");
}

/// Run `args` under a pseudo-terminal (util-linux `script`) and return what it printed.
fn on_a_terminal(args: &str) -> Option<String> {
    let script = Command::new("script").arg("--version").output().ok()?;
    if !script.status.success() {
        return None;
    }
    let out = Command::new("script")
        .args(["-qefc", &format!("{} {args}", bin().display()), "/dev/null"])
        .current_dir(root())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn progress_shows_on_a_terminal_only_and_never_with_quiet() {
    let args = "check --no-probe --no-report --migrations tests/fixtures/report/migrations --specs tests/fixtures/report/specs";
    let Some(tty) = on_a_terminal(args) else {
        common::report_skip("no `script` command to run the binary on a pseudo-terminal");
        return;
    };
    assert!(tty.contains("PASS: "), "{tty}");
    for phase in [
        "starting a throw-away PostgreSQL",
        "applying 2 migrations",
        "compiling 3 specs",
    ] {
        assert!(
            tty.contains(phase),
            "`{phase}` not shown on a terminal:\n{tty}"
        );
    }
    let quiet = on_a_terminal(&format!("--quiet {args}")).unwrap();
    assert!(
        quiet.contains("PASS: ") && !quiet.contains("starting a throw-away"),
        "{quiet}"
    );
    let args: Vec<&str> = args.split(' ').collect();
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !stderr.contains("starting a throw-away") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

#[test]
fn missing_folders_exit_2_with_a_hint() {
    let (code, _, stderr) = run(&["check", "--specs", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no/such/dir") && stderr.contains("hint:"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["check", "--migrations", "no/such/dir"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_committed_json_schema_is_current() {
    let committed = std::fs::read_to_string(root().join("specs/schema.json")).unwrap_or_default();
    let (code, current, _) = run(&["spec", "schema"]);
    assert_eq!(code, 0);
    assert!(
        committed == current,
        "specs/schema.json is stale: run `cargo run -- spec schema > specs/schema.json`"
    );
}

/// Access-control parts that PostgreSQL would refuse, or that name nothing, are invalid
/// input: exit 2 with the file, line and key path, before anything the migrations did.
#[test]
fn malformed_access_specs_exit_2_naming_file_line_and_key() {
    let cases = [
        (
            "access_privilege_kind",
            "t.yaml:6",
            "privileges.roles.app",
            "not a privilege of a relation",
        ),
        (
            "access_public_grant_option",
            "t.yaml:5",
            "privileges.public",
            "PUBLIC cannot hold a grant option",
        ),
        (
            "access_policy_insert_using",
            "t.yaml:8",
            "policies.t_insert.using",
            "only a WITH CHECK",
        ),
        (
            "access_acknowledge_unknown",
            "t.yaml:10",
            "functions.f().acknowledge.security.everything_is_fine",
            "that can be acknowledged",
        ),
        (
            "access_role_variable",
            "t.yaml:5",
            "privileges.owner",
            "not a role variable",
        ),
        (
            "access_column_grant",
            "t.yaml:6",
            "privileges.columns.secret",
            "`secret` is not a column",
        ),
    ];
    for (case, location, key, message) in cases {
        let stderr = bad_spec(case);
        for part in [location, key, message] {
            assert!(
                stderr.contains(part),
                "{case}: expected {part:?} in\n{stderr}"
            );
        }
    }
    let (code, _, stderr) = run(&["check", "--role", "nonsense"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("NAME=ROLE"), "{stderr}");
}

/// Run the binary with stdout or stderr closed before it writes a byte (as `check | head`
/// leaves stdout once `head` has its line); returns the exit code and the other stream.
fn run_with_closed(args: &[&str], close_stdout: bool) -> (i32, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (closed, mut open): (Box<dyn Read>, Box<dyn Read>) = if close_stdout {
        (
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        )
    } else {
        (
            Box::new(child.stderr.take().unwrap()),
            Box::new(child.stdout.take().unwrap()),
        )
    };
    drop(closed);
    let mut other = String::new();
    open.read_to_string(&mut other).unwrap();
    (child.wait().unwrap().code().unwrap_or(-1), other)
}

/// A stream that is gone loses its lines, never the run: with stdout closed, a failing
/// check still exits 1 (not a crash, 101) and writes its reports, in either output format;
/// with stderr closed, a bad spec folder is still exit 2.
#[test]
fn a_closed_stdout_or_stderr_loses_lines_not_the_verdict_or_the_reports() {
    for format in ["table", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("reports");
        let mut args = vec!["check", "--no-probe", "--format", format];
        args.extend(FAILING_LEDGER);
        args.extend(["--report", report.to_str().unwrap()]);
        let (code, stderr) = run_with_closed(&args, true);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.join("run.json")).unwrap()).unwrap();
        assert!(run["totals"]["failed"].as_u64().unwrap() > 0, "{format}");
        assert!(report.join("SHA256SUMS").is_file(), "{format}");
    }
    let (code, stdout) = run_with_closed(
        &[
            "check",
            "--no-probe",
            "--specs",
            "no/such/specs",
            "--no-report",
        ],
        false,
    );
    assert_eq!(code, 2, "{stdout}");
}

/// `--format json` into a stream that fails for another reason than being closed (a full
/// disk under a redirection, here `/dev/full`) cuts the record short: exit 2, naming
/// standard output, and, like any exit 2, the report folder no longer holds the earlier
/// run's reports but the marker that says this run made none. The table format loses
/// its lines instead, as with a closed stream: the verdict and the reports stand.
#[test]
fn a_full_stdout_is_exit_2_for_json_and_leaves_no_earlier_report_looking_current() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        report_skip("this machine has no /dev/full to fill stdout with");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("reports");
    let mut args = vec!["check", "--no-probe"];
    args.extend(FAILING_LEDGER);
    args.extend(["--report", report.to_str().unwrap()]);
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 1, "an earlier run's reports: {stderr}");
    assert!(report.join("run.json").is_file());

    let table = reims_command(&args)
        .stdout(full.try_clone().unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&table.stderr);
    assert_eq!(table.status.code(), Some(1), "table: {stderr}");
    assert!(report.join("run.json").is_file(), "table: {stderr}");

    let mut json = args.clone();
    json.extend(["--format", "json"]);
    let out = reims_command(&json).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("standard output") && stderr.contains("No space left"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !report.join("run.json").exists() && !report.join("SHA256SUMS").exists(),
        "the earlier run's reports are gone: {stderr}"
    );
    assert!(
        report
            .join(reims_verify::report::digest::FAILED_RUN_FILE)
            .is_file(),
        "{stderr}"
    );
}

/// `--format json` prints the very bytes `run.json` gets. Both are serialised from the
/// run's findings as read back from their spool, one after the other; every finding is
/// there, passes included, and the counts agree with them.
#[test]
fn check_json_on_stdout_is_the_run_json_written_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("reports");
    let mut args = vec!["check", "--no-probe", "--format", "json"];
    args.extend(FAILING_LEDGER);
    args.extend(["--report", report.to_str().unwrap()]);
    let out = reims_command(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let written = std::fs::read(report.join("run.json")).unwrap();
    assert!(
        out.stdout == written,
        "stdout ({} bytes) differs from run.json ({} bytes)",
        out.stdout.len(),
        written.len()
    );
    let run: serde_json::Value = serde_json::from_slice(&written).unwrap();
    let findings = run["findings"].as_array().unwrap();
    let count = |status: &str| findings.iter().filter(|f| f["status"] == status).count();
    assert!(count("fail") > 0 && count("pass") > 0, "{run}");
    for status in ["pass", "fail", "skip"] {
        let key = match status {
            "pass" => "passed",
            "fail" => "failed",
            _ => "skipped",
        };
        assert_eq!(
            run["totals"][key].as_u64().unwrap() as usize,
            count(status),
            "{status}"
        );
    }
}

/// `--fail-on-skip`: a skipped check fails the run (exit 1), and the terminal, every report
/// and `report --from` of the record say FAIL and why; without the flag the same run
/// passes, and with it a run with nothing skipped passes.
#[test]
fn fail_on_skip_makes_a_skipped_check_fail_the_run_and_every_report_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    copy_files(&root().join("migrations"), &migrations);
    // Default privileges are a `privilege.defaults` skip: the specs have no words for them.
    std::fs::write(
        migrations.join("999_default_privileges.sql"),
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;",
    )
    .unwrap();
    let summary = dir.path().join("step_summary.md");
    let check = |extra: &[&str], reports: &str| {
        let reports = dir.path().join(reports);
        let mut args = vec![
            "check",
            "--no-probe",
            "--migrations",
            migrations.to_str().unwrap(),
            "--report",
            reports.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        // As a GitHub Actions step, so that the step summary is written too.
        let out = Command::new(bin())
            .args(&args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        let (code, stdout, stderr) = (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
        let verdict = md
            .lines()
            .find(|l| l.starts_with("**Verdict"))
            .unwrap()
            .to_string();
        (code, stdout, stderr, verdict, reports)
    };
    let (code, stdout, stderr, verdict, _) = check(&[], "plain");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        verdict.starts_with("**Verdict: PASS**") && verdict.contains("1 skipped"),
        "{verdict}"
    );

    let (code, stdout, stderr, verdict, reports) = check(&["--fail-on-skip"], "strict");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let why = "--fail-on-skip was given and 1 check was skipped";
    assert!(
        stdout.contains("\nFAIL: ") && stdout.contains(&format!("it fails because {why}")),
        "{stdout}"
    );
    assert!(
        verdict.starts_with("**Verdict: FAIL**") && verdict.contains(why),
        "{verdict}"
    );
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(
        html.contains(&format!("It fails because {why}.")),
        "the HTML says why"
    );
    let sarif = std::fs::read_to_string(reports.join("results.sarif")).unwrap();
    assert!(sarif.contains("\"exitCode\": 1"), "{sarif}");
    let step = std::fs::read_to_string(&summary).unwrap();
    let strict_step = &step[step.rfind("## reims-verify").unwrap()..];
    assert!(
        strict_step.starts_with("## reims-verify: FAIL")
            && strict_step.contains(&format!("It fails because {why}.")),
        "{strict_step}"
    );
    let record = std::fs::read_to_string(reports.join("run.json")).unwrap();
    assert!(record.contains("\"skips_fail\": true"));
    // Rendered again from the record alone, the verdict is the same.
    let again = dir.path().join("again");
    let (code, _, stderr) = run(&[
        "report",
        "--from",
        reports.join("run.json").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(again.join("report.md")).unwrap(),
        std::fs::read_to_string(reports.join("report.md")).unwrap()
    );

    // Nothing skipped: the flag changes nothing.
    std::fs::remove_file(migrations.join("999_default_privileges.sql")).unwrap();
    let (code, stdout, stderr, verdict, _) = check(&["--fail-on-skip"], "clean");
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(verdict.starts_with("**Verdict: PASS**"), "{verdict}");
}
