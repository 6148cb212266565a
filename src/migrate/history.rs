//! `schema_migrations`: the seed's tracking table (plus a checksum column) and what it says
//! about each migration file.

use chrono::NaiveDateTime;
use sqlx::{PgConnection, Row};

use super::discover::MigrationFile;
use crate::error::{Error, Result};

/// The tracking table as the seed defines it, plus `checksum` (SHA-256 of the file).
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    id SERIAL PRIMARY KEY,
    migration_name VARCHAR(255) UNIQUE NOT NULL,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN DEFAULT true,
    error_message TEXT,
    checksum TEXT
);
COMMENT ON TABLE schema_migrations IS 'Migration history written by reims-verify migrate: one row per migration file.';
COMMENT ON COLUMN schema_migrations.checksum IS 'SHA-256 (hex) of the migration file as applied, BOM and CRLF normalised.';
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT;";

/// One row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppliedMigration {
    /// Surrogate key.
    pub id: i32,
    /// The migration's file name.
    pub migration_name: String,
    /// When it was (last) attempted.
    pub applied_at: Option<NaiveDateTime>,
    /// Whether that attempt committed.
    pub success: bool,
    /// The error of a failed attempt.
    pub error_message: Option<String>,
    /// SHA-256 of the file when applied; absent for rows written by other tools.
    pub checksum: Option<String>,
}

/// Read `schema_migrations`, oldest first; `None` when the table does not exist.
pub async fn read_history(conn: &mut PgConnection) -> Result<Option<Vec<AppliedMigration>>> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('public.schema_migrations')::text")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| Error::database("looking for schema_migrations", &e))?;
    if exists.is_none() {
        return Ok(None);
    }
    let has_checksum: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute
          WHERE attrelid = 'public.schema_migrations'::regclass
            AND attname = 'checksum' AND NOT attisdropped)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| Error::database("reading schema_migrations", &e))?;
    let checksum_expr = if has_checksum {
        "checksum"
    } else {
        "NULL::text"
    };
    let sql = format!(
        "SELECT id, migration_name::text AS migration_name, applied_at::timestamp AS applied_at,
                COALESCE(success, true) AS success, error_message, {checksum_expr} AS checksum
           FROM public.schema_migrations ORDER BY applied_at NULLS FIRST, id"
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| Error::database("reading schema_migrations", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(AppliedMigration {
            id: row
                .try_get("id")
                .map_err(|e| Error::database("reading schema_migrations.id", &e))?,
            migration_name: row
                .try_get("migration_name")
                .map_err(|e| Error::database("reading schema_migrations", &e))?,
            applied_at: row
                .try_get("applied_at")
                .map_err(|e| Error::database("reading schema_migrations", &e))?,
            success: row
                .try_get("success")
                .map_err(|e| Error::database("reading schema_migrations", &e))?,
            error_message: row
                .try_get("error_message")
                .map_err(|e| Error::database("reading schema_migrations", &e))?,
            checksum: row
                .try_get("checksum")
                .map_err(|e| Error::database("reading schema_migrations", &e))?,
        });
    }
    Ok(Some(out))
}

/// Where one migration stands, comparing the folder with the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Applied successfully, and the file is unchanged since.
    Applied,
    /// In the folder, never applied.
    Pending,
    /// The last attempt failed and was rolled back.
    Failed,
    /// Applied, but the file's checksum has changed since.
    Changed,
    /// Recorded as applied, but no such file is in the folder.
    Unknown,
}

impl MigrationStatus {
    /// A short word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            MigrationStatus::Applied => "applied",
            MigrationStatus::Pending => "pending",
            MigrationStatus::Failed => "failed",
            MigrationStatus::Changed => "checksum changed",
            MigrationStatus::Unknown => "unknown (not in folder)",
        }
    }
}

/// One line of the migration inventory.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatusRow {
    /// The file name (or the recorded name, for unknown rows).
    pub name: String,
    /// Where it stands.
    pub status: MigrationStatus,
    /// SHA-256 of the file in the folder.
    pub file_checksum: Option<String>,
    /// SHA-256 recorded when applied.
    pub applied_checksum: Option<String>,
    /// When it was applied or attempted.
    pub applied_at: Option<NaiveDateTime>,
    /// The recorded error of a failed attempt.
    pub error_message: Option<String>,
}

/// Compare the folder with the history: one row per file in version order, then one per
/// recorded migration that has no file.
pub fn status_of(files: &[MigrationFile], history: &[AppliedMigration]) -> Vec<StatusRow> {
    let mut rows: Vec<StatusRow> = files
        .iter()
        .map(|f| {
            let rec = history.iter().find(|h| h.migration_name == f.name);
            let status = match rec {
                None => MigrationStatus::Pending,
                Some(r) if !r.success => MigrationStatus::Failed,
                Some(r) => match &r.checksum {
                    Some(c) if *c != f.checksum => MigrationStatus::Changed,
                    _ => MigrationStatus::Applied,
                },
            };
            StatusRow {
                name: f.name.clone(),
                status,
                file_checksum: Some(f.checksum.clone()),
                applied_checksum: rec.and_then(|r| r.checksum.clone()),
                applied_at: rec.and_then(|r| r.applied_at),
                error_message: rec.and_then(|r| r.error_message.clone()),
            }
        })
        .collect();
    for h in history {
        if !files.iter().any(|f| f.name == h.migration_name) {
            rows.push(StatusRow {
                name: h.migration_name.clone(),
                status: MigrationStatus::Unknown,
                file_checksum: None,
                applied_checksum: h.checksum.clone(),
                applied_at: h.applied_at,
                error_message: h.error_message.clone(),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, sql: &str) -> MigrationFile {
        MigrationFile {
            version: name[..3].parse().unwrap(),
            name: name.into(),
            path: name.into(),
            sql: sql.into(),
            checksum: super::super::checksum(sql),
        }
    }

    fn rec(name: &str, success: bool, checksum: Option<String>) -> AppliedMigration {
        AppliedMigration {
            id: 1,
            migration_name: name.into(),
            applied_at: None,
            success,
            error_message: None,
            checksum,
        }
    }

    #[test]
    fn every_status_is_derived() {
        let files = vec![
            file("001_a.sql", "a"),
            file("002_b.sql", "b"),
            file("003_c.sql", "c"),
            file("004_d.sql", "d"),
            file("005_e.sql", "e"),
        ];
        let history = vec![
            rec("001_a.sql", true, Some(super::super::checksum("a"))),
            rec("002_b.sql", true, Some(super::super::checksum("b-old"))),
            rec("003_c.sql", false, None),
            rec("004_d.sql", true, None),
            rec("099_gone.sql", true, None),
        ];
        let got: Vec<(String, MigrationStatus)> = status_of(&files, &history)
            .into_iter()
            .map(|r| (r.name, r.status))
            .collect();
        use MigrationStatus::*;
        assert_eq!(
            got,
            vec![
                ("001_a.sql".into(), Applied),
                ("002_b.sql".into(), Changed),
                ("003_c.sql".into(), Failed),
                ("004_d.sql".into(), Applied),
                ("005_e.sql".into(), Pending),
                ("099_gone.sql".into(), Unknown),
            ]
        );
    }
}
