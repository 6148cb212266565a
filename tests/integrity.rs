//! Reports never mislead: `report verify` catches a change to any byte of any report file
//! (attributes and verdicts included), an unwritable report folder stops the run before any
//! server starts, the verdict is printed before reports are written, and a run that ends
//! in exit 2 or 3 leaves no earlier PASS looking current.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use reims_verify::report::digest::{self, FAILED_RUN_FILE, MANIFEST_FILE};

fn rv(args: &[&str]) -> (i32, String, String) {
    let out = reims_command(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The small ledger schema, with or without its drift.
fn ledger(report: &Path, drift: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "check",
        "--no-probe",
        "--migrations",
        "tests/fixtures/report/migrations",
        "--specs",
        "tests/fixtures/report/specs",
        "--report",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(report.display().to_string());
    if drift {
        args.push("--apply-after".into());
        args.push("tests/fixtures/report/drift.sql".into());
    }
    args
}

fn run_ledger(report: &Path, drift: bool) -> (i32, String, String) {
    let args = ledger(report, drift);
    rv(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// True when the folder verifies as intact (an error is "not intact").
fn intact(dir: &Path) -> bool {
    matches!(digest::verify(dir), Ok(f) if f.intact())
}

/// The folder of a failing run (one failure, so the verdict is FAIL), made once.
fn failing_reports() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = lasting_tempdir();
        let (code, stdout, stderr) = run_ledger(dir.path(), true);
        assert_eq!(code, 1, "{stdout}{stderr}");
        dir
    })
    .path()
}

/// Byte positions to flip in a file of `len` bytes: every one of a small file; the head,
/// the tail and an even spread of a large one.
fn positions(len: usize) -> Vec<usize> {
    if len <= 1024 {
        return (0..len).collect();
    }
    let mut p: Vec<usize> = (0..96).chain(len - 48..len).collect();
    let step = len / 80;
    p.extend((0..80).map(|i| 96 + i * step).filter(|&i| i < len));
    p.sort();
    p.dedup();
    p
}

#[test]
fn flipping_any_byte_of_any_report_file_is_caught() {
    let dir = failing_reports();
    assert!(intact(dir), "{:?}", digest::verify(dir));
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "run.json",
        "run.json.sha256",
        "junit.xml",
        "report.md",
        "report.html",
        "results.sarif",
        MANIFEST_FILE,
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    // The files in two halves, each flipped on a thread in a copy of its own: each flip
    // verifies the whole folder, rendering every report again, and one thread left a core
    // idle for half a minute.
    let halves: Vec<Vec<String>> = vec![
        names.iter().step_by(2).cloned().collect(),
        names.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let flips: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|half| scope.spawn(move || flip_each_byte(dir, half)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .sum()
    });
    assert!(flips > 500, "only {flips} flips");
}

/// In a copy of the reports in `dir`, flip bytes of each of `names` (see [`positions`]),
/// remove its last byte and append one, each in turn, and require the folder to fail
/// verification every time and to pass once the file is restored; returns the flips made.
fn flip_each_byte(dir: &Path, names: &[String]) -> usize {
    let work = tempfile::tempdir().unwrap();
    copy_files(dir, work.path());
    let mut flips = 0;
    for name in names {
        let path = work.path().join(name);
        let original = std::fs::read(&path).unwrap();
        for at in positions(original.len()) {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            assert!(
                !intact(work.path()),
                "{name}: flipping byte {at} went unnoticed"
            );
            flips += 1;
        }
        // Removing a byte, or appending one, is caught too.
        std::fs::write(&path, &original[..original.len() - 1]).unwrap();
        assert!(!intact(work.path()), "{name}: truncation went unnoticed");
        let mut longer = original.clone();
        longer.push(b'\n');
        std::fs::write(&path, &longer).unwrap();
        assert!(
            !intact(work.path()),
            "{name}: an appended byte went unnoticed"
        );
        std::fs::write(&path, &original).unwrap();
        assert!(intact(work.path()), "{name}: restored");
    }
    flips
}

/// Apply `edit` to a copy of the failing reports and return what `report verify` says
/// about the whole folder through the binary.
fn after_edit(edit: impl FnOnce(&Path)) -> (i32, String) {
    let work = tempfile::tempdir().unwrap();
    copy_files(failing_reports(), work.path());
    edit(work.path());
    let (code, stdout, stderr) = rv(&["report", "verify", work.path().to_str().unwrap()]);
    (code, format!("{stdout}{stderr}"))
}

fn rewrite(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(text, new, "{}: the edit changed nothing", path.display());
    std::fs::write(path, new).unwrap();
}

/// Recompute the manifest (and the run.json sidecar) after an edit, as an attacker would.
fn reseal(dir: &Path) {
    let record = std::fs::read(dir.join("run.json")).unwrap();
    std::fs::write(
        dir.join("run.json.sha256"),
        digest::sidecar_text(&digest::sha256_hex(&record), "run.json"),
    )
    .unwrap();
    let mut files = Vec::new();
    for name in [
        "run.json",
        "run.json.sha256",
        "junit.xml",
        "report.md",
        "report.html",
        "results.sarif",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        files.push((name.to_string(), digest::sha256_hex(&bytes)));
    }
    std::fs::write(dir.join(MANIFEST_FILE), digest::manifest_text(&files)).unwrap();
}

#[test]
fn edits_to_verdicts_and_attributes_are_caught() {
    let (code, out) = after_edit(|_| {});
    assert_eq!(code, 0, "{out}");
    let (_, original_digest) = out.split_once(&format!("{MANIFEST_FILE} sha256 ")).unwrap();
    let original_digest = original_digest[..64].to_string();

    type Edit = fn(&Path);
    let edits: Vec<(&str, Edit)> = vec![
        ("html FAIL to PASS", |d| {
            rewrite(&d.join("report.html"), |t| t.replace("FAIL", "PASS"))
        }),
        ("html generator removed, then FAIL to PASS", |d| {
            rewrite(&d.join("report.html"), |t| {
                let start = t.find("<meta name=\"generator\"").unwrap();
                let end = start + t[start..].find("/>").unwrap() + 2;
                format!("{}{}", &t[..start], &t[end..]).replace("FAIL", "PASS")
            })
        }),
        ("html generator changed", |d| {
            rewrite(&d.join("report.html"), |t| {
                t.replace("content=\"reims-verify ", "content=\"reims-verify 9")
            })
        }),
        ("html digest meta removed", |d| {
            rewrite(&d.join("report.html"), |t| {
                t.replacen(
                    "<meta name=\"reims-verify-run-sha256\"",
                    "<meta name=\"x\"",
                    1,
                )
            })
        }),
        ("markdown verdict", |d| {
            rewrite(&d.join("report.md"), |t| {
                t.replace("**Verdict: FAIL**", "**Verdict: PASS**")
            })
        }),
        ("markdown marker removed", |d| {
            rewrite(&d.join("report.md"), |t| {
                t.split_once('\n').unwrap().1.to_string()
            })
        }),
        ("markdown generator removed", |d| {
            rewrite(&d.join("report.md"), |t| {
                t.replacen(" generator=\"", " x=\"", 1)
            })
        }),
        ("junit failure removed", |d| {
            rewrite(&d.join("junit.xml"), |t| {
                let start = t.find("<failure").unwrap();
                let end = start + t[start..].find("</failure>").unwrap() + "</failure>".len();
                format!("{}{}", &t[..start], &t[end..])
            })
        }),
        ("junit generator property removed", |d| {
            rewrite(&d.join("junit.xml"), |t| {
                t.replace("reims-verify.generator", "x")
            })
        }),
        ("run.json fail to pass", |d| {
            rewrite(&d.join("run.json"), |t| t.replace("\"fail\"", "\"pass\""))
        }),
        ("run.json fail to pass, sealed again", |d| {
            rewrite(&d.join("run.json"), |t| t.replace("\"fail\"", "\"pass\""));
            reseal(d);
        }),
        (
            "html FAIL to PASS, sealed again without its generator",
            |d| {
                rewrite(&d.join("report.html"), |t| {
                    t.replace("<meta name=\"generator\"", "<meta name=\"x\"")
                        .replace("FAIL", "PASS")
                });
                reseal(d);
            },
        ),
        ("a report deleted", |d| {
            std::fs::remove_file(d.join("junit.xml")).unwrap()
        }),
        ("a report's line removed from the manifest", |d| {
            rewrite(&d.join(MANIFEST_FILE), |t| {
                t.lines()
                    .filter(|l| !l.ends_with("report.html"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            })
        }),
        ("the manifest deleted", |d| {
            std::fs::remove_file(d.join(MANIFEST_FILE)).unwrap()
        }),
    ];
    for (name, edit) in edits {
        let (code, out) = after_edit(edit);
        assert_ne!(code, 0, "{name}: reported intact\n{out}");
        assert!(code == 1 || code == 2, "{name}: exit {code}\n{out}");
        if code == 1 {
            assert!(out.contains("MISMATCH"), "{name}: {out}");
        }
    }

    // Everything re-rendered and sealed by someone else: locally consistent, so only the
    // digest kept elsewhere tells. It differs from the one the run printed.
    let (code, out) = after_edit(|d| {
        rewrite(&d.join("run.json"), |t| {
            t.replacen("\"message\": \"", "\"message\": \"Edited: ", 1)
        });
        let again = tempfile::tempdir().unwrap();
        let (code, o, e) = rv(&[
            "report",
            "--from",
            d.join("run.json").to_str().unwrap(),
            "--out",
            again.path().to_str().unwrap(),
        ]);
        // The changed record no longer matches its sidecar, so it is refused ...
        assert_eq!(code, 2, "{o}{e}");
        // ... unless the sidecar goes too.
        std::fs::remove_file(d.join("run.json.sha256")).unwrap();
        let (code, o, e) = rv(&[
            "report",
            "--from",
            d.join("run.json").to_str().unwrap(),
            "--out",
            again.path().to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{o}{e}");
        // ... and then it says that nothing shows the record is the run's.
        assert!(
            e.contains("warning:") && e.contains("run.json.sha256"),
            "{e}"
        );
        copy_files(again.path(), d);
    });
    assert_eq!(code, 0, "a full re-render is locally consistent: {out}");
    assert!(!out.contains(&original_digest), "{out}");
}

#[test]
fn verifying_any_file_checks_the_whole_folder() {
    let dir = failing_reports();
    for name in [
        "run.json",
        "run.json.sha256",
        "junit.xml",
        "report.md",
        "report.html",
        "results.sarif",
        MANIFEST_FILE,
    ] {
        let (code, out, err) = rv(&["report", "verify", dir.join(name).to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        // One line per file the manifest lists.
        let listed = std::fs::read_to_string(dir.join(MANIFEST_FILE))
            .unwrap()
            .lines()
            .count();
        assert_eq!(listed, 6, "every report file is listed");
        assert_eq!(out.matches("intact").count(), listed, "{name}: {out}");
    }
    let (code, _, err) = rv(&[
        "report",
        "verify",
        root().join("Cargo.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "not a report folder: {err}");
    let (code, _, err) = rv(&["report", "verify", dir.join("nope.html").to_str().unwrap()]);
    assert_eq!(code, 2, "no such file: {err}");
}

#[test]
fn an_unwritable_report_folder_stops_the_run_before_any_server_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    // An empty --pg-bindir: a run that got as far as starting a server would say so.
    let empty = tmp.path().join("no-binaries");
    std::fs::create_dir(&empty).unwrap();
    let mut targets: Vec<PathBuf> = vec![file.clone(), file.join("reports")];
    if !nix::unistd::geteuid().is_root() {
        let ro = tmp.path().join("read-only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o500)).unwrap();
        targets.push(ro);
    } else {
        report_skip("running as root: a read-only folder is writable; using a file instead");
    }
    for target in targets {
        let started = Instant::now();
        let (code, stdout, stderr) = rv(&[
            "check",
            "--report",
            target.to_str().unwrap(),
            "--pg-bindir",
            empty.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{}: {stdout}{stderr}", target.display());
        assert!(stderr.contains("cannot write reports into"), "{stderr}");
        assert!(
            !stderr.contains("pg-bindir"),
            "checked before the server: {stderr}"
        );
        assert!(stderr.contains("--no-report"), "{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_verdict_is_printed_even_when_the_reports_cannot_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder where report.html must go: writing the set fails after the run.
    std::fs::create_dir(tmp.path().join("report.html")).unwrap();
    let (code, stdout, stderr) = run_ledger(tmp.path(), true);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL: "),
        "the verdict comes first: {stdout}"
    );
    assert!(stderr.contains("report.html"), "{stderr}");
    // Nothing that could pass for this run's report is left.
    assert!(!tmp.path().join("run.json").exists());
    assert!(tmp.path().join(FAILED_RUN_FILE).exists());
}

/// Every file of `dir` with its bytes, sorted by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Reports are written to disk as they render, so a write can fail halfway through a file
/// (here: the largest one, or the first, past a file-size limit). `report --from` must then
/// exit 2 naming the file, and leave the folder's earlier set exactly as it was, with no
/// temporary file behind.
#[test]
fn a_write_that_fails_halfway_leaves_the_earlier_set_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    std::fs::create_dir(&out).unwrap();
    let (code, stdout, stderr) = run_ledger(&out, false);
    assert_eq!(code, 0, "an earlier, passing set: {stdout}{stderr}");
    let before = contents(&out);
    let source = failing_reports();
    let files = contents(source);
    let size = |name: &str| files.iter().find(|(n, _)| n == name).unwrap().1.len();
    let (largest, report) = files.iter().map(|(n, b)| (b.len(), n)).max().unwrap();
    assert!(
        largest > size("run.json") + 8192,
        "a report larger than run.json, to cut halfway once run.json is written: {report}"
    );
    // bash counts the limit in KiB. With none, run.json fails; with the second, run.json
    // is written and the largest report is cut after more than run.json's size.
    for limit_kib in [0, (largest - 1) / 1024] {
        let run = Command::new("bash")
            .args([
                "-c",
                "ulimit -f \"$1\" && trap '' XFSZ && shift && exec \"$@\"",
                "limited",
                &limit_kib.to_string(),
                bin().to_str().unwrap(),
                "report",
                "--from",
                source.join("run.json").to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.code(),
            Some(2),
            "limit {limit_kib} KiB: {stderr}"
        );
        let failed = if limit_kib == 0 {
            "run.json"
        } else {
            report.as_str()
        };
        assert!(
            stderr.contains("File too large")
                && stderr.contains(&out.join(format!(".{failed}.")).display().to_string()),
            "the error names {failed}: {stderr}"
        );
        assert!(
            contents(&out) == before,
            "limit {limit_kib} KiB: the earlier set changed, or a temporary file stayed: {:?}",
            contents(&out).iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
    }
    assert!(intact(&out));
}

#[test]
fn a_run_ending_in_exit_2_or_3_leaves_no_earlier_pass_looking_current() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "kept").unwrap();
    let (code, stdout, stderr) = run_ledger(&dir, false);
    assert_eq!(
        code, 0,
        "the ledger passes without its drift: {stdout}{stderr}"
    );
    assert!(
        stdout.contains(&format!("written to {}", dir.display())),
        "{stdout}"
    );
    let (code, out, _) = rv(&[
        "report",
        "verify",
        dir.join("report.html").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // Exit 2: a bad spec folder.
    let (code, _, stderr) = rv(&[
        "check",
        "--specs",
        "tests/fixtures/specs_bad/unknown_key",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("removed the earlier run's reports"),
        "{stderr}"
    );
    assert!(!dir.join("report.html").exists() && !dir.join("run.json").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "kept"
    );
    let marker = std::fs::read_to_string(dir.join(FAILED_RUN_FILE)).unwrap();
    assert!(marker.contains("exit 2 (invalid input)"), "{marker}");
    assert!(
        marker.contains("unknown key"),
        "the marker says why: {marker}"
    );
    for file in ["report.html", "run.json"] {
        let (code, out, err) = rv(&["report", "verify", dir.join(file).to_str().unwrap()]);
        assert_eq!(code, 1, "{file}: {out}{err}");
        assert!(out.contains("ended with exit 2"), "{out}");
    }

    // A passing run clears the marker; then exit 3 (a server that cannot be reached)
    // marks it again.
    let (code, _, stderr) = run_ledger(&dir, false);
    assert_eq!(code, 0, "{stderr}");
    assert!(!dir.join(FAILED_RUN_FILE).exists());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://nobody@127.0.0.1:{port}/db");
    let mut args = ledger(&dir, false);
    args.extend([
        "--database-url".into(),
        url,
        "--connect-timeout".into(),
        "2".into(),
    ]);
    let (code, _, stderr) = rv(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 3, "{stderr}");
    let (code, out, _) = rv(&["report", "verify", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ended with exit 3 (database trouble)"),
        "{out}"
    );
}

/// `report --from` into `out` as a child process, with stderr kept.
fn spawn_report(from: &Path, out: &Path) -> std::process::Child {
    Command::new(bin())
        .args(["report", "--from"])
        .arg(from.join("run.json"))
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn stderr_of(child: std::process::Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One writer at a time per report folder: while another holds the folder's lock, a run
/// waits (saying so) and writes nothing; once it is released the run writes a whole set.
/// Interrupted while it waits, a run exits 130 and leaves the folder as it was. Two runs
/// into one folder at once leave one whole set, whichever came last.
#[test]
fn runs_sharing_a_report_folder_write_whole_sets_in_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let passing = tmp.path().join("passing");
    std::fs::create_dir_all(&out).unwrap();
    let (code, stdout, stderr) = run_ledger(&passing, false);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let failing = failing_reports();

    let held = nix::fcntl::Flock::lock(
        std::fs::File::open(&out).unwrap(),
        nix::fcntl::FlockArg::LockExclusive,
    )
    .unwrap();
    let mut waiting = spawn_report(failing, &out);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "it waits for the lock"
    );
    assert!(contents(&out).is_empty(), "and writes nothing meanwhile");
    drop(held);
    let (code, stderr) = stderr_of(waiting);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("waiting for"),
        "it said why it waited: {stderr}"
    );
    assert!(intact(&out));
    let before = contents(&out);

    let held = nix::fcntl::Flock::lock(
        std::fs::File::open(&out).unwrap(),
        nix::fcntl::FlockArg::LockExclusive,
    )
    .unwrap();
    let waiting = spawn_report(&passing, &out);
    std::thread::sleep(Duration::from_millis(1000));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(waiting.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, stderr) = stderr_of(waiting);
    assert_eq!(code, Some(130), "{stderr}");
    drop(held);
    assert!(
        contents(&out) == before,
        "an interrupted wait changes nothing"
    );

    for round in 0..5 {
        let a = spawn_report(failing, &out);
        let b = spawn_report(&passing, &out);
        for child in [a, b] {
            let (code, stderr) = stderr_of(child);
            assert_eq!(code, Some(0), "round {round}: {stderr}");
        }
        assert!(intact(&out), "round {round}: one whole set");
    }
}
