//! `schema_migrations`: the seed's tracking table (plus a checksum column) and what it says
//! about each migration file.

use chrono::NaiveDateTime;
use sqlx::{PgConnection, Row};

use super::discover::MigrationFile;
use crate::error::{Error, Result};

/// The tracking table exactly as the seed's own runner creates it (its README, "Migration
/// Tracking"); reims-verify adds `checksum`. Schema-qualified, like every statement of the
/// bookkeeping, so that no `search_path` a migration set can redirect it.
pub const SEED_TABLE: &str = "CREATE TABLE public.schema_migrations (
    id SERIAL PRIMARY KEY,
    migration_name VARCHAR(255) UNIQUE NOT NULL,
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN DEFAULT true,
    error_message TEXT
)";

const TABLE_COMMENT: &str = "COMMENT ON TABLE public.schema_migrations IS 'Migration history: one row per migration file; success = true means it is applied. reims-verify logs every attempt in reims_verify.migration_attempts.'";

const ADD_CHECKSUM: &str = "ALTER TABLE public.schema_migrations ADD COLUMN checksum TEXT";

const CHECKSUM_COMMENT: &str = "COMMENT ON COLUMN public.schema_migrations.checksum IS 'SHA-256 (hex) of the migration file as applied, BOM and CRLF normalised; NULL when unknown (rows written by another runner).'";

/// What making `schema_migrations` ready did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSetup {
    /// The table was there with its `checksum` column: nothing changed.
    Ready,
    /// The table was created.
    Created,
    /// The table came from another runner (the seed's, without `checksum`): the column was
    /// added, and this many recorded migrations have no checksum (unknown).
    Adopted {
        /// Rows whose checksum is unknown.
        unknown_checksums: i64,
    },
}

/// Whether `public.schema_migrations` exists, and whether it has a `checksum` column.
pub(crate) async fn table_shape(conn: &mut PgConnection) -> Result<Option<bool>> {
    let row: (Option<bool>,) = sqlx::query_as(
        "SELECT CASE WHEN pg_catalog.to_regclass('public.schema_migrations') IS NULL THEN NULL
                     ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('public.schema_migrations')
                                     AND a.attname OPERATOR(pg_catalog.=) 'checksum' AND NOT a.attisdropped) END",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| Error::database("looking for schema_migrations", &e))?;
    Ok(row.0)
}

/// Create `schema_migrations` when it is missing, or add `checksum` to one another runner
/// created; touch nothing when it is ready (so a role that may only write rows can migrate).
pub(crate) async fn prepare_table(conn: &mut PgConnection) -> Result<TableSetup> {
    let setup = match table_shape(conn).await? {
        Some(true) => return Ok(TableSetup::Ready),
        None => {
            let sql =
                format!("{SEED_TABLE};\n{ADD_CHECKSUM};\n{TABLE_COMMENT};\n{CHECKSUM_COMMENT};");
            run_ddl(conn, &sql, "creating schema_migrations").await?;
            TableSetup::Created
        }
        Some(false) => {
            let sql = format!("{ADD_CHECKSUM};\n{CHECKSUM_COMMENT};");
            run_ddl(
                conn,
                &sql,
                "adding the checksum column to schema_migrations",
            )
            .await?;
            let unknown: i64 =
                sqlx::query_scalar("SELECT pg_catalog.count(*) FROM public.schema_migrations")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| Error::database("reading schema_migrations", &e))?;
            TableSetup::Adopted {
                unknown_checksums: unknown,
            }
        }
    };
    Ok(setup)
}

/// Run bookkeeping DDL in one transaction; a permission problem gets a hint.
async fn run_ddl(conn: &mut PgConnection, sql: &str, context: &str) -> Result<()> {
    let wrapped = format!("BEGIN;\n{sql}\nCOMMIT;");
    sqlx::raw_sql(&wrapped).execute(&mut *conn).await.map_err(|e| {
        let _ = &e;
        Error::Server {
            context: context.to_string(),
            message: crate::error::describe_sqlx_error(&e),
            hint: "migrate needs a role that may create tables in schema public (or one that owns schema_migrations, to add its checksum column)".into(),
        }
    })?;
    Ok(())
}

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

/// The columns of `schema_migrations` that [`read_history`] reads, and the types each may
/// have: another runner's table of the same name may be of another shape.
const HISTORY_COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["smallint", "integer"]),
    (
        "migration_name",
        &["text", "character varying", "character"],
    ),
    (
        "applied_at",
        &["timestamp without time zone", "timestamp with time zone"],
    ),
    ("success", &["boolean"]),
    ("error_message", &["text", "character varying", "character"]),
    ("checksum", &["text", "character varying", "character"]),
];

/// Why `schema_migrations` is not in the shape [`read_history`] reads (a column missing or
/// of another type, as golang-migrate's `(version, dirty)` is), or `None` when it is, or
/// is absent. `check` then says which migrations are applied cannot be told, instead of
/// failing on the read.
pub async fn history_shape_problem(conn: &mut PgConnection) -> Result<Option<String>> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, NULL)
           FROM pg_catalog.pg_attribute a
          WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('public.schema_migrations')
            AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("looking for schema_migrations", &e))?;
    if columns.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    for (name, types) in HISTORY_COLUMNS {
        match columns.iter().find(|(c, _)| c == name) {
            // A table without checksums is another runner's, and is read as such.
            None if *name == "checksum" => {}
            None => problems.push(format!("no column {name}")),
            Some((_, ty)) if !types.contains(&ty.as_str()) => {
                problems.push(format!("{name} is {ty}, not {}", types.join(" or ")))
            }
            Some(_) => {}
        }
    }
    Ok((!problems.is_empty()).then(|| problems.join("; ")))
}

/// Read `schema_migrations`, oldest first; `None` when the table does not exist.
pub async fn read_history(conn: &mut PgConnection) -> Result<Option<Vec<AppliedMigration>>> {
    let Some(has_checksum) = table_shape(conn).await? else {
        return Ok(None);
    };
    let checksum_expr = if has_checksum {
        "checksum"
    } else {
        "NULL::pg_catalog.text"
    };
    let sql = format!(
        "SELECT id, migration_name::pg_catalog.text AS migration_name,
                applied_at::pg_catalog.timestamp AS applied_at,
                COALESCE(success, true) AS success, error_message, {checksum_expr} AS checksum
           FROM public.schema_migrations ORDER BY applied_at NULLS FIRST, id"
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| Error::database("reading schema_migrations", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let get = |e: sqlx::Error| Error::database("reading schema_migrations", &e);
        out.push(AppliedMigration {
            id: row.try_get("id").map_err(get)?,
            migration_name: row.try_get("migration_name").map_err(get)?,
            applied_at: row.try_get("applied_at").map_err(get)?,
            success: row.try_get("success").map_err(get)?,
            error_message: row.try_get("error_message").map_err(get)?,
            checksum: row.try_get("checksum").map_err(get)?,
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
/// recorded migration that has no file. `history` is in the order it was written (see
/// [`read_history`]): where a name is recorded more than once (a table without the
/// runner's UNIQUE constraint), its latest row says where it stands. A file no longer in the
/// folder is listed when some row of it is applied; failed attempts alone applied nothing.
pub fn status_of(files: &[MigrationFile], history: &[AppliedMigration]) -> Vec<StatusRow> {
    let latest = |name: &str| history.iter().rev().find(|h| h.migration_name == name);
    let mut rows: Vec<StatusRow> = files
        .iter()
        .map(|f| {
            let rec = latest(&f.name);
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
    let mut listed = std::collections::HashSet::new();
    for h in history {
        if files.iter().any(|f| f.name == h.migration_name)
            || !listed.insert(h.migration_name.as_str())
        {
            continue;
        }
        // Applied once, its changes are there, whatever was attempted after.
        let applied = history
            .iter()
            .rev()
            .find(|r| r.migration_name == h.migration_name && r.success);
        if let Some(h) = applied {
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

    #[test]
    fn the_latest_row_of_a_name_decides_and_a_removed_file_never_applied_is_not_listed() {
        let files = vec![file("001_a.sql", "a"), file("002_b.sql", "b")];
        let a = Some(super::super::checksum("a"));
        let b = Some(super::super::checksum("b"));
        let history = vec![
            // 001: failed, then applied.
            rec("001_a.sql", false, None),
            rec("001_a.sql", true, a.clone()),
            // 002: applied as it is now, then again from another version of the file.
            rec("002_b.sql", true, b),
            rec("002_b.sql", true, Some(super::super::checksum("b-later"))),
            // 098: a removed file that was applied, then failed: its changes are there.
            rec("098_gone.sql", true, None),
            rec("098_gone.sql", false, None),
            // 099: failed and removed; 097: applied twice and removed, listed once.
            rec("099_broken.sql", false, None),
            rec("097_old.sql", true, None),
            rec("097_old.sql", true, None),
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
                ("098_gone.sql".into(), Unknown),
                ("097_old.sql".into(), Unknown),
            ]
        );
    }
}
