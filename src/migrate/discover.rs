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

/// Every `NNN_name.sql` file in `dir`, in version order. Other `.sql` names, duplicate
/// versions and unreadable or non-UTF-8 files are errors that name the file.
pub fn discover(dir: &Path) -> Result<Vec<MigrationFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Usage {
        message: format!("cannot read the migrations folder {}: {e}", dir.display()),
        hint: "pass --migrations DIR with the folder that holds NNN_name.sql files".into(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") || !path.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let version = parse_version(&name).ok_or_else(|| {
            bad_file(
                &path,
                "the name is not NNN_description.sql",
                "rename it, e.g. 015_create_reports.sql",
            )
        })?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad_file(&path, "the file is not UTF-8", "save it as UTF-8"))?;
        let sql = normalise(&text);
        files.push(MigrationFile {
            version,
            checksum: checksum(&sql),
            name,
            path,
            sql,
        });
    }
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
    Ok(files)
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

    #[test]
    fn badly_named_sql_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("setup.sql"), "SELECT 1;").unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("setup.sql"), "{err}");
    }
}
