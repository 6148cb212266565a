//! The shadow: the specs compiled to DDL in an empty scratch database, so that PostgreSQL
//! itself normalises every type, default, CHECK expression, index key and predicate the
//! specs contain. The verifier then compares printer output with printer output.
//!
//! Everything happens in one transaction that is rolled back, so the scratch database can
//! be reused and is never changed.

use sqlx::{Connection, PgConnection};

use crate::catalog::{read_schema, Schema};
use crate::error::{describe_sqlx_error, Error, Result};
use crate::spec::{
    parse_index_key, parse_signature, rule_sql, ColumnSpec, LoadedSpec, SpecSet, TableSpec,
    TriggerEvent, TriggerLevel, TriggerSpec, TriggerTiming,
};
use crate::sql::quote_ident;

/// The specs as PostgreSQL prints them.
#[derive(Debug, Clone, Default)]
pub struct Shadow {
    /// The schema the specs describe, read back from the scratch database.
    pub schema: Schema,
    /// Function signatures from the specs with argument types normalised, in spec order:
    /// (spec signature, name, normalised argument types, normalised return type).
    pub functions: Vec<ShadowFunction>,
}

/// A spec function with its types as PostgreSQL names them.
#[derive(Debug, Clone)]
pub struct ShadowFunction {
    /// The key as written in the spec.
    pub spec_key: String,
    /// Function name.
    pub name: String,
    /// Argument types via `format_type(to_regtype(…))`.
    pub arg_types: Vec<String>,
    /// The return type, normalised the same way (TABLE columns one by one).
    pub returns: String,
}

/// Build the shadow in `conn` (an empty database) and read it back.
pub async fn build_shadow(conn: &mut PgConnection, specs: &SpecSet) -> Result<Shadow> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| Error::database("starting the shadow transaction", &e))?;
    for loaded in &specs.specs {
        create_table(&mut tx, loaded).await?;
    }
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION {SHADOW_TRIGGER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    ))
    .execute(&mut *tx)
    .await
    .map_err(|e| Error::database("creating the shadow trigger function", &e))?;
    create_function_stubs(&mut tx, specs).await?;
    for loaded in &specs.specs {
        add_objects(&mut tx, loaded).await?;
    }
    let schema = read_schema(&mut tx, "public").await?;
    let functions = normalise_functions(&mut tx, specs).await?;
    let _ = tx.rollback().await;
    Ok(Shadow { schema, functions })
}

/// Stand-ins for the specs' functions, for expressions that call them; a stub PostgreSQL
/// refuses is left out (the expression calling it then fails with its own message).
async fn create_function_stubs(conn: &mut PgConnection, specs: &SpecSet) -> Result<()> {
    let stubs = super::policies::function_stubs(specs);
    if stubs.is_empty() || exec_in_savepoint(conn, &stubs.join(";\n")).await.is_ok() {
        return Ok(());
    }
    for sql in &stubs {
        if let Err(sqlx::Error::Database(db)) = exec_in_savepoint(conn, sql).await {
            // Resources and server faults are not a stub's fault.
            if db.code().is_some_and(|c| {
                ["53", "54", "57", "58", "XX"]
                    .iter()
                    .any(|p| c.starts_with(p))
            }) {
                return Err(Error::Database {
                    context: "creating function stand-ins in the shadow database".into(),
                    message: db.message().to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The function that shadow triggers call (they exist only to have their `WHEN` printed).
const SHADOW_TRIGGER_FUNCTION: &str = "reims_verify_shadow_trigger";

/// A spec collation name as SQL: quoted as a whole unless the spec quotes it already.
fn collation_sql(name: &str) -> String {
    if name.contains('"') {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// `name type [COLLATE …]` for one spec column.
fn column_sql(name: &str, c: &ColumnSpec) -> String {
    let mut sql = format!("{} {}", quote_ident(name), c.type_);
    if let Some(coll) = &c.collation {
        sql.push_str(" COLLATE ");
        sql.push_str(&collation_sql(coll));
    }
    sql
}

async fn exec_in_savepoint(
    conn: &mut PgConnection,
    sql: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::raw_sql("SAVEPOINT shadow_step")
        .execute(&mut *conn)
        .await?;
    match sqlx::raw_sql(sql).execute(&mut *conn).await {
        Ok(_) => {
            sqlx::raw_sql("RELEASE SAVEPOINT shadow_step")
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
        Err(e) => {
            sqlx::raw_sql("ROLLBACK TO SAVEPOINT shadow_step")
                .execute(&mut *conn)
                .await?;
            Err(e)
        }
    }
}

fn spec_sql_error(
    loaded: &LoadedSpec,
    path: &[&str],
    what: &str,
    sql: &str,
    err: &sqlx::Error,
) -> Error {
    // Resource exhaustion or a server fault is not the spec's fault (SQLSTATE classes 53,
    // 54, 57, 58, XX).
    if let sqlx::Error::Database(db) = err {
        if db.code().is_some_and(|c| {
            ["53", "54", "57", "58", "XX"]
                .iter()
                .any(|p| c.starts_with(p))
        }) {
            return Error::database(
                format!(
                    "compiling the specs into the shadow database ({what} at {})",
                    path.join(".")
                ),
                err,
            );
        }
    }
    Error::Spec {
        location: loaded.location(path),
        key_path: Some(path.join(".")),
        message: format!(
            "PostgreSQL rejects the {what} `{sql}`: {}",
            describe_sqlx_error(err)
        ),
        hint: "write it as valid PostgreSQL SQL for this table".into(),
    }
}

async fn create_table(conn: &mut PgConnection, loaded: &LoadedSpec) -> Result<()> {
    let spec = &loaded.spec;
    let cols: Vec<String> = spec
        .columns
        .iter()
        .map(|(name, c)| column_sql(name, c))
        .collect();
    let sql = format!(
        "CREATE TABLE {} ({})",
        quote_ident(&spec.table),
        cols.join(", ")
    );
    if exec_in_savepoint(conn, &sql).await.is_ok() {
        return Ok(());
    }
    // Find the column whose type PostgreSQL does not accept.
    for (name, c) in &spec.columns {
        let probe = format!(
            "CREATE TEMP TABLE reims_verify_type_probe ({} {}); DROP TABLE reims_verify_type_probe",
            quote_ident(name),
            c.type_
        );
        if let Err(e) = exec_in_savepoint(conn, &probe).await {
            return Err(spec_sql_error(
                loaded,
                &["columns", name, "type"],
                "type",
                &c.type_,
                &e,
            ));
        }
        let probe = format!(
            "CREATE TEMP TABLE reims_verify_type_probe ({}); DROP TABLE reims_verify_type_probe",
            column_sql(name, c)
        );
        if let Err(e) = exec_in_savepoint(conn, &probe).await {
            return Err(spec_sql_error(
                loaded,
                &["columns", name, "collation"],
                "collation",
                c.collation.as_deref().unwrap_or_default(),
                &e,
            ));
        }
    }
    let err = exec_in_savepoint(conn, &sql)
        .await
        .expect_err("failed above");
    Err(spec_sql_error(
        loaded,
        &["table"],
        "table",
        &spec.table,
        &err,
    ))
}

/// Defaults, CHECKs and indexes, batched per table; on failure, one by one to name the
/// offending key.
async fn add_objects(conn: &mut PgConnection, loaded: &LoadedSpec) -> Result<()> {
    let statements = object_statements(&loaded.spec);
    let batch = statements
        .iter()
        .map(|(_, _, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    if batch.is_empty() || exec_in_savepoint(conn, &batch).await.is_ok() {
        return Ok(());
    }
    for (path, what, sql) in &statements {
        if let Err(e) = exec_in_savepoint(conn, sql).await {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            return Err(spec_sql_error(loaded, &path, what, sql, &e));
        }
    }
    Ok(())
}

type Statement = (Vec<String>, &'static str, String);

fn object_statements(spec: &TableSpec) -> Vec<Statement> {
    let t = quote_ident(&spec.table);
    let mut out: Vec<Statement> = Vec::new();
    for (name, c) in &spec.columns {
        if let Some(d) = &c.default {
            out.push((
                vec!["columns".into(), name.clone(), "default".into()],
                "default",
                format!(
                    "ALTER TABLE {t} ALTER COLUMN {} SET DEFAULT {d}",
                    quote_ident(name)
                ),
            ));
        }
    }
    for (name, check) in &spec.checks {
        out.push((
            vec!["checks".into(), name.clone(), "rule".into()],
            "CHECK rule",
            format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({}) NOT VALID",
                quote_ident(name),
                rule_sql(&check.rule, spec)
            ),
        ));
    }
    for (name, idx) in &spec.indexes {
        let keys: Vec<String> = idx
            .keys
            .iter()
            .map(|k| {
                let key = parse_index_key(k);
                let mut sql = if is_plain_column(&key.expr) {
                    quote_ident(key.expr.trim_matches('"'))
                } else {
                    format!("({})", key.expr)
                };
                if let Some(c) = &key.collation {
                    sql.push_str(&format!(" COLLATE {c}"));
                }
                if let Some(o) = &key.opclass {
                    sql.push_str(&format!(" {o}"));
                }
                if key.order != crate::spec::KeyOrder::default() {
                    sql.push_str(&format!(" {}", key.order));
                }
                sql
            })
            .collect();
        let include = if idx.include.is_empty() {
            String::new()
        } else {
            let cols: Vec<String> = idx.include.iter().map(|c| quote_ident(c)).collect();
            format!(" INCLUDE ({})", cols.join(", "))
        };
        let pred = idx
            .predicate
            .as_ref()
            .map(|p| format!(" WHERE {p}"))
            .unwrap_or_default();
        out.push((
            vec!["indexes".into(), name.clone()],
            "index",
            format!(
                "CREATE {}INDEX {} ON {t} USING {} ({}){include}{pred}",
                if idx.unique { "UNIQUE " } else { "" },
                quote_ident(name),
                idx.method.am_name(),
                keys.join(", ")
            ),
        ));
    }
    // Triggers only where there is a WHEN condition for PostgreSQL to print.
    for (name, trig) in &spec.triggers {
        let Some(when) = &trig.when else { continue };
        out.push((
            vec!["triggers".into(), name.clone(), "when".into()],
            "trigger WHEN condition",
            format!(
                "CREATE TRIGGER {} {} {} ON {t} FOR EACH {} WHEN ({when}) EXECUTE FUNCTION {SHADOW_TRIGGER_FUNCTION}()",
                quote_ident(name),
                timing_sql(trig.timing),
                events_sql(trig),
                match trig.level {
                    TriggerLevel::Row => "ROW",
                    TriggerLevel::Statement => "STATEMENT",
                },
            ),
        ));
    }
    for (name, p) in &spec.policies {
        out.push((
            vec!["policies".into(), name.clone()],
            "policy",
            super::policies::shadow_statement(spec, name, p),
        ));
    }
    out
}

fn timing_sql(t: TriggerTiming) -> &'static str {
    match t {
        TriggerTiming::Before => "BEFORE",
        TriggerTiming::After => "AFTER",
        TriggerTiming::InsteadOf => "INSTEAD OF",
    }
}

/// `INSERT OR UPDATE OF a, b` for a spec trigger.
fn events_sql(trig: &TriggerSpec) -> String {
    trig.events
        .iter()
        .map(|e| match e {
            TriggerEvent::Insert => "INSERT".to_string(),
            TriggerEvent::Update if !trig.columns.is_empty() => {
                let cols: Vec<String> = trig.columns.iter().map(|c| quote_ident(c)).collect();
                format!("UPDATE OF {}", cols.join(", "))
            }
            TriggerEvent::Update => "UPDATE".to_string(),
            TriggerEvent::Delete => "DELETE".to_string(),
            TriggerEvent::Truncate => "TRUNCATE".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn is_plain_column(expr: &str) -> bool {
    let e = expr.trim_matches('"');
    !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

async fn normalise_functions(
    conn: &mut PgConnection,
    specs: &SpecSet,
) -> Result<Vec<ShadowFunction>> {
    // Collect every type name to normalise, then resolve them all in one query.
    let mut names: Vec<String> = Vec::new();
    let mut parsed = Vec::new();
    for loaded in &specs.specs {
        for (key, f) in &loaded.spec.functions {
            let (name, args) = parse_signature(key).expect("validated at load");
            names.extend(args.iter().cloned());
            let ret = ReturnShape::parse(&f.returns);
            names.extend(ret.type_names().into_iter().map(str::to_string));
            parsed.push((loaded, key.clone(), name, args, ret));
        }
    }
    let resolved: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT n, format_type(to_regtype(n), NULL) FROM unnest($1::text[]) n")
            .bind(&names)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| Error::database("normalising function types", &e))?;
    let lookup = |loaded: &LoadedSpec, key: &str, t: &str| -> Result<String> {
        let found = resolved
            .iter()
            .find(|(n, _)| n == t)
            .and_then(|(_, r)| r.clone());
        found.ok_or_else(|| Error::Spec {
            location: loaded.location(&["functions", key]),
            key_path: Some(format!("functions.{key}")),
            message: format!("`{t}` is not a PostgreSQL type"),
            hint:
                "write argument and return types as PostgreSQL names them (text, uuid, integer, …)"
                    .into(),
        })
    };
    let mut out = Vec::new();
    for (loaded, key, name, args, ret) in parsed {
        let arg_types = args
            .iter()
            .map(|a| lookup(loaded, &key, a))
            .collect::<Result<Vec<_>>>()?;
        let returns = ret.render(|t| lookup(loaded, &key, t))?;
        out.push(ShadowFunction {
            spec_key: key,
            name,
            arg_types,
            returns,
        });
    }
    Ok(out)
}

/// A function's declared result: a type, `SETOF type`, or `TABLE(name type, …)`.
enum ReturnShape {
    Plain(String),
    Setof(String),
    Table(Vec<(String, String)>),
}

impl ReturnShape {
    fn parse(text: &str) -> Self {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        if upper.starts_with("TABLE") {
            if let (Some(open), Some(close)) = (t.find('('), t.rfind(')')) {
                let cols = crate::spec::parse_signature(&format!("x({})", &t[open + 1..close]))
                    .map(|(_, a)| a)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| match c.split_once(char::is_whitespace) {
                        Some((n, ty)) => (n.trim().to_string(), ty.trim().to_string()),
                        None => (c.clone(), String::new()),
                    })
                    .collect();
                return ReturnShape::Table(cols);
            }
        }
        if upper.starts_with("SETOF ") {
            return ReturnShape::Setof(t[6..].trim().to_string());
        }
        ReturnShape::Plain(t.to_string())
    }

    fn type_names(&self) -> Vec<&str> {
        match self {
            ReturnShape::Plain(t) | ReturnShape::Setof(t) => vec![t.as_str()],
            ReturnShape::Table(cols) => cols.iter().map(|(_, t)| t.as_str()).collect(),
        }
    }

    fn render(&self, mut norm: impl FnMut(&str) -> Result<String>) -> Result<String> {
        Ok(match self {
            ReturnShape::Plain(t) => norm(t)?,
            ReturnShape::Setof(t) => format!("SETOF {}", norm(t)?),
            ReturnShape::Table(cols) => {
                let parts = cols
                    .iter()
                    .map(|(n, t)| Ok(format!("{n} {}", norm(t)?)))
                    .collect::<Result<Vec<_>>>()?;
                format!("TABLE({})", parts.join(", "))
            }
        })
    }
}
