//! Finding migration files in a folder and fingerprinting them.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result, SourceLocation};

/// One migration file: `NNN_name.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The numeric prefix; files apply in this order.
    pub version: u64,
    /// The file name, which is also the key in `schema_migrations.migration_name`.
    pub name: String,
    /// Where the file is.
    pub path: PathBuf,
    /// The SQL as sent to the server (BOM removed, CRLF folded to LF).
    pub sql: String,
    /// SHA-256 of `sql`, lower-case hex.
    pub checksum: String,
}

/// Normalise text so that a BOM or Windows line endings do not change the checksum.
fn normalise(text: &str) -> String {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
}

/// SHA-256 (hex) of a migration's text after normalisation.
pub fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(normalise(text).as_bytes()))
}

/// What a look at the migrations folder found: the migration files, and the names that
/// look like migrations but are not applied (each a warning the user must see).
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The migrations, in version order.
    pub files: Vec<MigrationFile>,
    /// `NAME: why it is not applied; what to do`, one per entry that looks like a migration
    /// but is not one (`015_x.sql.bak`, `015_x.txt`).
    pub warnings: Vec<String>,
}

/// Every `NNN_name.sql` file in `dir`, in version order; warnings about entries that look
/// like migrations but are not applied are printed on stderr (see [`scan_dir`]).
pub fn discover(dir: &Path) -> Result<Vec<MigrationFile>> {
    let found = scan_dir(dir)?;
    for w in &found.warnings {
        errln!("warning: {w}");
    }
    Ok(found.files)
}

/// Look at every entry of `dir`. A `.sql` entry (any letter case) that cannot be a
/// migration is an error that names it: a badly named file, an upper-case `.SQL`, a
/// directory, a FIFO or other special file, a dangling symbolic link or a link loop, an
/// unreadable or non-UTF-8 file, a duplicate version. An entry that starts like a
/// migration (`NNN_`) but does not end in `.sql` is a warning. Hidden entries (`.name`) and
/// other names (`README.md`) are ignored.
pub fn scan_dir(dir: &Path) -> Result<Discovery> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Usage {
        message: format!("cannot read the migrations folder {}: {e}", dir.display()),
        hint: "pass --migrations DIR with the folder that holds NNN_name.sql files".into(),
    })?;
    let mut found = Discovery::default();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            let shown = entry.file_name().to_string_lossy().to_string();
            if shown.to_ascii_lowercase().contains(".sql") || parse_prefix(&shown).is_some() {
                return Err(bad_file(
                    &path,
                    "the file name is not valid UTF-8",
                    "rename it to NNN_description.sql in plain characters",
                ));
            }
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        let is_sql = extension.eq_ignore_ascii_case("sql");
        if !is_sql {
            if parse_prefix(&name).is_some() {
                found.warnings.push(format!(
                    "{}: looks like a migration but is not applied: only files ending in .sql are; \
                     rename it to .sql to apply it, or move it out of the folder",
                    path.display()
                ));
            }
            continue;
        }
        if extension != "sql" {
            let fixed = format!("{}.sql", &name[..name.len() - extension.len() - 1]);
            return Err(bad_file(
                &path,
                &format!("the extension is .{extension}; migrations end in lower-case .sql"),
                &format!("rename it to {fixed}"),
            ));
        }
        let version = parse_version(&name).ok_or_else(|| {
            bad_file(
                &path,
                "the name is not NNN_description.sql",
                "rename it, e.g. 015_create_reports.sql, or move it out of the folder",
            )
        })?;
        check_regular_file(&path)?;
        let bytes = std::fs::read(&path).map_err(|e| {
            bad_file(
                &path,
                &format!("cannot read the file: {e}"),
                "check that it exists and is readable",
            )
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad_file(&path, "the file is not UTF-8", "save it as UTF-8"))?;
        let sql = normalise(&text);
        found.files.push(MigrationFile {
            version,
            checksum: checksum(&sql),
            name,
            path,
            sql,
        });
    }
    let files = &mut found.files;
    files.sort_by(|a, b| (a.version, &a.name).cmp(&(b.version, &b.name)));
    for pair in files.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(bad_file(
                &pair[1].path,
                &format!(
                    "version {} is also used by {}",
                    pair[1].version, pair[0].name
                ),
                "give every migration its own number",
            ));
        }
    }
    if files.is_empty() {
        return Err(Error::Usage {
            message: format!("no NNN_name.sql migrations in {}", dir.display()),
            hint: "pass --migrations DIR with the folder that holds the migrations".into(),
        });
    }
    found.warnings.sort();
    Ok(found)
}

/// A migration must be a regular file (a symbolic link to one is fine). Never opens the
/// entry, so a FIFO cannot block the run.
fn check_regular_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let is_link = std::fs::symlink_metadata(path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            let (what, hint) = if is_link && e.kind() == std::io::ErrorKind::NotFound {
                (
                    "it is a symbolic link to a file that does not exist".to_string(),
                    "point the link at the migration file, or remove it",
                )
            } else if is_link {
                (
                    format!("the symbolic link cannot be followed: {e}"),
                    "point the link at the migration file (a link loop never reaches one), or remove it",
                )
            } else {
                (
                    format!("cannot read the file: {e}"),
                    "check that it exists and is readable",
                )
            };
            return Err(bad_file(path, &what, hint));
        }
    };
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    Err(bad_file(
        path,
        &format!("it is {kind}, not a migration file"),
        "migrations are regular files: replace it with one, or rename or move it out of the folder",
    ))
}

/// The version prefix of a name that starts like a migration (`NNN_`), if any.
fn parse_prefix(name: &str) -> Option<u64> {
    let (digits, _) = name.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_version(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".sql")?;
    let (digits, rest) = stem.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    digits.parse().ok()
}

fn bad_file(path: &Path, message: &str, hint: &str) -> Error {
    Error::Migration {
        location: SourceLocation {
            file: path.to_path_buf(),
            line: None,
            column: None,
        },
        message: message.to_string(),
        hint: hint.to_string(),
        input_error: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_bom_and_crlf() {
        let plain = "CREATE TABLE t (id int);\nSELECT 1;\n";
        let windows = "\u{feff}CREATE TABLE t (id int);\r\nSELECT 1;\r\n";
        assert_eq!(checksum(plain), checksum(windows));
        assert_ne!(checksum(plain), checksum("CREATE TABLE t (id bigint);\n"));
    }

    #[test]
    fn versions_parse_only_from_well_formed_names() {
        assert_eq!(parse_version("001_create_properties.sql"), Some(1));
        assert_eq!(parse_version("20240101_x.sql"), Some(20240101));
        assert_eq!(parse_version("create.sql"), None);
        assert_eq!(parse_version("01a_x.sql"), None);
        assert_eq!(parse_version("001_.sql"), None);
    }

    #[test]
    fn discovery_orders_by_version_and_rejects_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("010_b.sql"), "SELECT 1;").unwrap();
        std::fs::write(dir.path().join("002_a.sql"), "SELECT 1;").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let names: Vec<_> = discover(dir.path())
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, vec!["002_a.sql", "010_b.sql"]);
        std::fs::write(dir.path().join("010_c.sql"), "SELECT 1;").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("version 10"), "{err}");
        assert_eq!(err.exit_code(), crate::error::ExitCode::InvalidInput);
    }

    fn refused(dir: &Path) -> String {
        let err = scan_dir(dir).unwrap_err();
        assert_eq!(
            err.exit_code(),
            crate::error::ExitCode::InvalidInput,
            "{err}"
        );
        format!("{err} {}", err.hint().unwrap_or_default())
    }

    fn with_good(dir: &Path) {
        std::fs::write(dir.join("001_a.sql"), "SELECT 1;").unwrap();
    }

    #[test]
    fn entries_that_cannot_be_migrations_are_errors_that_name_them() {
        use std::os::unix::fs::symlink;
        type Make = Box<dyn Fn(&Path)>;
        let cases: Vec<(&str, Make, &str)> = vec![
            (
                "002_dangling.sql",
                Box::new(|d: &Path| {
                    symlink(d.join("nowhere.sql"), d.join("002_dangling.sql")).unwrap()
                }),
                "does not exist",
            ),
            (
                "003_loop.sql",
                Box::new(|d: &Path| {
                    symlink(d.join("003_loop.sql"), d.join("003_loop.sql")).unwrap()
                }),
                "cannot be followed",
            ),
            (
                "004_pipe.sql",
                Box::new(|d: &Path| {
                    nix::unistd::mkfifo(&d.join("004_pipe.sql"), nix::sys::stat::Mode::S_IRWXU)
                        .unwrap()
                }),
                "FIFO",
            ),
            (
                "006_socket.sql",
                Box::new(|d: &Path| {
                    // Kept bound for the test's length by leaking the listener.
                    let l =
                        std::os::unix::net::UnixListener::bind(d.join("006_socket.sql")).unwrap();
                    std::mem::forget(l);
                }),
                "socket",
            ),
            (
                "007_latin1.sql",
                Box::new(|d: &Path| {
                    std::fs::write(d.join("007_latin1.sql"), b"SELECT '\xe9';").unwrap()
                }),
                "not UTF-8",
            ),
            (
                "005_dir.sql",
                Box::new(|d: &Path| std::fs::create_dir(d.join("005_dir.sql")).unwrap()),
                "directory",
            ),
            (
                "x.sql",
                Box::new(|d: &Path| std::fs::create_dir(d.join("x.sql")).unwrap()),
                "NNN_description.sql",
            ),
            (
                "015_x.SQL",
                Box::new(|d: &Path| std::fs::write(d.join("015_x.SQL"), "SELECT 1;").unwrap()),
                "rename it to 015_x.sql",
            ),
            (
                "016_y.Sql",
                Box::new(|d: &Path| std::fs::write(d.join("016_y.Sql"), "SELECT 1;").unwrap()),
                "lower-case .sql",
            ),
        ];
        for (name, make, expect) in cases {
            let dir = tempfile::tempdir().unwrap();
            with_good(dir.path());
            make(dir.path());
            let started = std::time::Instant::now();
            let text = refused(dir.path());
            assert!(text.contains(name), "{name}: {text}");
            assert!(text.contains(expect), "{name}: {text}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{name} blocked"
            );
        }
    }

    #[test]
    fn names_that_start_like_migrations_but_are_not_applied_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        with_good(dir.path());
        for name in [
            "015_x.sql.bak",
            "016_y.sql~",
            "017_z.txt",
            "README.md",
            ".001_a.sql.swp",
        ] {
            std::fs::write(dir.path().join(name), "SELECT 1;").unwrap();
        }
        let found = scan_dir(dir.path()).unwrap();
        assert_eq!(found.files.len(), 1);
        assert_eq!(found.warnings.len(), 3, "{:?}", found.warnings);
        for (w, name) in found
            .warnings
            .iter()
            .zip(["015_x.sql.bak", "016_y.sql~", "017_z.txt"])
        {
            assert!(w.contains(name) && w.contains("not applied"), "{w}");
        }
    }

    #[test]
    fn a_symbolic_link_to_a_migration_file_is_a_migration() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("a.sql"), "SELECT 1;").unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("a.sql"), dir.path().join("001_a.sql"))
            .unwrap();
        let found = scan_dir(dir.path()).unwrap();
        assert_eq!(found.files[0].sql, "SELECT 1;");
    }

    #[test]
    fn badly_named_sql_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("setup.sql"), "SELECT 1;").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("setup.sql"), "{err}");
    }
}
