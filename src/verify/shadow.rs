//! The shadow: the specs compiled to DDL in an empty scratch database, so that PostgreSQL
//! itself normalises every type, default, CHECK expression, index key, predicate, view
//! query and function option the specs contain. The verifier then compares printer output
//! with printer output.
//!
//! Order matters and follows dependencies: schemas, extensions, types, sequences, tables,
//! partitions, function stand-ins, keys and other objects on tables, then views (each
//! group retried in dependency order when one statement needs another of its group).
//! [`build_shadow`] does everything in one transaction that is rolled back, so the scratch
//! database can be reused and is never changed; `shadow_lanes.rs` runs the same steps on two
//! sessions, committing, in a database the run throws away.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};

use super::shadow_ddl::{self as ddl, Statement, HIDDEN_SCHEMA};
use crate::catalog::{read_schemas, relation_key, Schema};
use crate::error::{describe_sqlx_error, Error, Result};
use crate::spec::{parse_signature, Loaded, LoadedSchema, LoadedSpec, SpecSet, DEFAULT_SCHEMA};
use crate::sql::quote_ident;

/// The specs as PostgreSQL prints them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shadow {
    /// The schemas the specs describe, read back from the scratch database. A view's
    /// columns are those its spec declares (normalised), not those its query yields.
    pub schema: Schema,
    /// Function signatures from the specs with argument types normalised, in spec order.
    pub functions: Vec<ShadowFunction>,
}

/// A spec function with its types as PostgreSQL names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShadowFunction {
    /// The key as written in the spec.
    pub spec_key: String,
    /// The schema of the spec that lists it.
    pub schema: String,
    /// Function name.
    pub name: String,
    /// Argument types via `format_type(to_regtype(…))`.
    pub arg_types: Vec<String>,
    /// The return type, normalised the same way (TABLE columns one by one).
    pub returns: String,
    /// An aggregate's `state_type`, normalised the same way (`int4` is `integer`).
    pub state_type: Option<String>,
}

/// The spec document a statement comes from, for error messages.
#[derive(Clone, Copy)]
pub(super) enum Doc<'a> {
    Relation(&'a LoadedSpec),
    Schema(&'a LoadedSchema),
}

impl Doc<'_> {
    fn error(&self, st: &Statement, err: &sqlx::Error) -> Error {
        let path: Vec<&str> = st.path.iter().map(String::as_str).collect();
        match self {
            Doc::Relation(l) => spec_sql_error(l, &path, st.what, &st.sql, err),
            Doc::Schema(l) => spec_sql_error(l, &path, st.what, &st.sql, err),
        }
    }
}

pub(super) type Item<'a> = (Doc<'a>, Statement);

/// Build the shadow in `conn` (an empty database) and read it back.
///
/// All the DDL first goes to the server as one batch, without savepoints: a savepoint per
/// statement costs PostgreSQL time in proportion to the locks the transaction already holds,
/// which made the shadow grow with the square of the number of tables. When the batch fails,
/// the transaction is rolled back and the shadow is built again statement by statement, so
/// the error names the spec file and key exactly as before. Either way PostgreSQL runs the
/// same statements in the same order, so the shadow is the same.
pub async fn build_shadow(conn: &mut PgConnection, specs: &SpecSet) -> Result<Shadow> {
    let mut tx = conn
        .begin()
        .await
        .map_err(|e| Error::database("starting the shadow transaction", &e))?;
    let schemas = prepare(&mut tx, specs).await?;
    let hidden = hidden_names(specs);
    create_tables(&mut tx, specs, &hidden).await?;
    let partitions: Vec<Item> = specs
        .specs
        .iter()
        .filter_map(|l| ddl::attach_partition(&l.spec).map(|s| (Doc::Relation(l), s)))
        .collect();
    fail_on_leftovers(create_ordered(&mut tx, partitions).await?)?;

    let functions = normalise_functions(&mut tx, specs).await?;
    let stubs = function_stubs(specs);
    let waiting_stubs = create_ordered(&mut tx, stubs).await?;

    // A clustering or replica identity index last: a partition's may be the one its
    // parent's index made on it, and partitions have their objects added before their
    // parents'.
    let (clustering, mut objects): (Vec<Item>, Vec<Item>) = table_objects(specs)
        .into_iter()
        .flatten()
        .partition(|(_, st)| {
            st.path
                .first()
                .is_some_and(|k| k == "cluster_on" || k == "replica_identity")
        });
    objects.extend(sequence_ownership(specs));
    objects.extend(clustering);
    add_objects(&mut tx, objects).await?;

    fail_on_leftovers(create_ordered(&mut tx, views(specs, waiting_stubs)).await?)?;
    add_objects(&mut tx, view_objects(specs, &hidden)).await?;

    let mut schema = read_schemas(&mut tx, &read_list(schemas)).await?;
    let _ = tx.rollback().await;
    merge_view_columns(&mut schema, &hidden);
    forget_database(&mut schema);
    Ok(Shadow { schema, functions })
}

/// What every later step needs: the search path, the specs' schemas and the hidden one,
/// the trigger stub, extensions, types and sequences. Returns the specs' schemas (with
/// `public`).
pub(super) async fn prepare(conn: &mut PgConnection, specs: &SpecSet) -> Result<Vec<String>> {
    let mut schemas = specs.schema_names();
    if !schemas.iter().any(|s| s == DEFAULT_SCHEMA) {
        schemas.push(DEFAULT_SCHEMA.to_string());
    }
    // Spec SQL is read, and the shadow printed, as PostgreSQL does by default, whatever the
    // database or role says (backslashes as written, intervals in its own style…).
    let mut setup = crate::catalog::printing_statements(true);
    for s in schemas.iter().filter(|s| *s != DEFAULT_SCHEMA) {
        setup.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS {};\n",
            quote_ident(s)
        ));
    }
    setup.push_str(&format!(
        "CREATE SCHEMA {HIDDEN_SCHEMA};\nCREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
        ddl::SHADOW_TRIGGER_FUNCTION
    ));
    sqlx::raw_sql(&setup)
        .execute(&mut *conn)
        .await
        .map_err(|e| Error::database("preparing the shadow database", &e))?;
    refuse_compression_before_14(conn, specs)?;

    create_extensions(conn, specs).await?;
    let types: Vec<Item> = specs
        .schemas
        .iter()
        .flat_map(|l| {
            ddl::type_statements(&l.spec)
                .into_iter()
                .map(move |s| (Doc::Schema(l), s))
        })
        .collect();
    fail_on_leftovers(create_ordered(conn, types).await?)?;
    let sequences: Vec<Item> = specs
        .schemas
        .iter()
        .flat_map(|l| {
            ddl::sequence_statements(&l.spec)
                .into_iter()
                .map(move |s| (Doc::Schema(l), s))
        })
        .collect();
    fail_on_leftovers(create_ordered(conn, sequences).await?)?;
    Ok(schemas)
}

/// A column's `compression` is a spec error at its key on a server before PostgreSQL 14,
/// which has no `SET COMPRESSION` (it would say no more than "syntax error").
fn refuse_compression_before_14(conn: &PgConnection, specs: &SpecSet) -> Result<()> {
    if conn.server_version_num().is_none_or(|v| v >= 140_000) {
        return Ok(());
    }
    for l in &specs.specs {
        for (name, c) in &l.spec.columns {
            if c.compression.is_some() {
                let path = ["columns", name.as_str(), "compression"];
                return Err(Error::Spec {
                    location: l.location(&path),
                    key_path: Some(path.join(".")),
                    message: format!(
                        "a column's compression needs PostgreSQL 14 or later, and the shadow's server is {}",
                        conn.server_version_num()
                            .map_or_else(|| "older".to_string(), |v| format!("PostgreSQL {}", v / 10_000))
                    ),
                    hint: "remove `compression` (PostgreSQL 13 compresses every column with pglz), or check on PostgreSQL 14 or later".into(),
                });
            }
        }
    }
    Ok(())
}

/// The schemas the shadow is read back from: the specs' and the hidden one.
pub(super) fn read_list(mut schemas: Vec<String>) -> Vec<String> {
    schemas.push(HIDDEN_SCHEMA.to_string());
    schemas
}

/// The objects on each table (not views), one list per table: partitions before their
/// parents, so that a parent's CHECK or index merges with the partition's own instead of
/// colliding with it.
pub(super) fn table_objects(specs: &SpecSet) -> Vec<Vec<Item<'_>>> {
    let mut tables: Vec<&LoadedSpec> = specs
        .specs
        .iter()
        .filter(|l| !l.spec.kind.is_view())
        .collect();
    tables.sort_by_key(|l| std::cmp::Reverse(partition_depth(specs, l)));
    tables
        .into_iter()
        .map(|l| {
            ddl::object_statements(&l.spec, None)
                .into_iter()
                .map(|s| (Doc::Relation(l), s))
                .collect()
        })
        .collect()
}

/// Who owns each sequence the schema documents declare.
pub(super) fn sequence_ownership(specs: &SpecSet) -> Vec<Item<'_>> {
    specs
        .schemas
        .iter()
        .flat_map(|l| {
            ddl::sequence_ownership(&l.spec)
                .into_iter()
                .map(move |s| (Doc::Schema(l), s))
        })
        .collect()
}

/// The views, after the function stubs that had to wait for one.
pub(super) fn views<'a>(
    specs: &'a SpecSet,
    waiting_stubs: Vec<(Doc<'a>, Statement, sqlx::Error)>,
) -> Vec<Item<'a>> {
    let mut views: Vec<Item> = waiting_stubs.into_iter().map(|(d, s, _)| (d, s)).collect();
    views.extend(
        specs
            .specs
            .iter()
            .filter(|l| l.spec.kind.is_view())
            .map(|l| (Doc::Relation(l), ddl::create_view(&l.spec))),
    );
    views
}

/// The objects on views, their declared columns' defaults going to the hidden tables.
pub(super) fn view_objects<'a>(
    specs: &'a SpecSet,
    hidden: &BTreeMap<String, String>,
) -> Vec<Item<'a>> {
    let mut out: Vec<Item> = Vec::new();
    for l in specs.specs.iter().filter(|l| l.spec.kind.is_view()) {
        let h = hidden.get(&key_of(l)).map(String::as_str);
        out.extend(
            ddl::object_statements(&l.spec, h)
                .into_iter()
                .map(|s| (Doc::Relation(l), s)),
        );
    }
    out
}

fn key_of(l: &LoadedSpec) -> String {
    relation_key(&l.spec.schema, &l.spec.table)
}

/// For each view spec, the name of the hidden table that holds its declared columns.
pub(super) fn hidden_names(specs: &SpecSet) -> BTreeMap<String, String> {
    specs
        .specs
        .iter()
        .filter(|l| l.spec.kind.is_view())
        .enumerate()
        .map(|(i, l)| (key_of(l), format!("v{i}")))
        .collect()
}

/// The shadow database's own name, grants, settings, objects, unread schemas (the hidden
/// one among them) and the roles' settings stand for nothing the specs say
/// (the database's are compared with the database document, not with the shadow), and
/// its name differs from build to build: they are left out of the shadow.
pub(super) fn forget_database(schema: &mut crate::catalog::Schema) {
    schema.access.database = None;
    schema.access.database_settings.clear();
    schema.database_objects.clear();
    schema.unread_schemas.clear();
    schema.access.role_settings.clear();
}

/// Replace each view's columns by those of its hidden table, and drop the hidden objects.
pub(super) fn merge_view_columns(schema: &mut Schema, hidden: &BTreeMap<String, String>) {
    for (key, h) in hidden {
        let hidden_key = relation_key(HIDDEN_SCHEMA, h);
        if let Some(cols) = schema.relations.get(&hidden_key).map(|r| r.columns.clone()) {
            if let Some(view) = schema.relations.get_mut(key) {
                view.columns = cols;
            }
        }
    }
    schema.relations.retain(|_, r| r.schema != HIDDEN_SCHEMA);
    schema.functions.retain(|f| f.schema != HIDDEN_SCHEMA);
    schema.namespaces.retain(|n| n.name != HIDDEN_SCHEMA);
    schema.other_objects.retain(|o| o.schema != HIDDEN_SCHEMA);
}

/// How many partition levels lie above a relation spec (0 for one that is no partition).
fn partition_depth(specs: &SpecSet, l: &LoadedSpec) -> usize {
    let mut depth = 0;
    let mut cur = l;
    while let Some(parent) = &cur.spec.partition_of {
        let (s, n) = crate::catalog::parse_qualified(parent, &cur.spec.schema);
        match specs.relation(&s, &n) {
            Some(p) if depth < specs.specs.len() => {
                depth += 1;
                cur = p;
            }
            _ => break,
        }
    }
    depth
}

async fn create_extensions(conn: &mut PgConnection, specs: &SpecSet) -> Result<()> {
    for l in &specs.schemas {
        for (name, x) in &l.spec.extensions {
            let sql = format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                quote_ident(name),
                quote_ident(&l.spec.schema)
            );
            // The declared version when the server can install it: the shadow's install is
            // what the extension's members are compared with, and a member set belongs to
            // a version. When it cannot, the default version, and that comparison is a skip.
            if let Some(v) = &x.version {
                let versioned = format!("{sql} VERSION {}", crate::sql::quote_literal(v));
                if exec_in_savepoint(conn, &versioned).await.is_ok() {
                    continue;
                }
            }
            if let Err(e) = exec_in_savepoint(conn, &sql).await {
                let at = l.location(&["extensions", name]);
                return Err(Error::database(
                    format!(
                        "creating extension `{name}` ({}{}) in the shadow database; the server that holds the shadow must have it available",
                        at.file.display(),
                        at.line.map(|n| format!(":{n}")).unwrap_or_default()
                    ),
                    &e,
                ));
            }
        }
    }
    Ok(())
}

/// Every table in one batch; when that fails, table by table to name the culprit.
async fn create_tables(
    conn: &mut PgConnection,
    specs: &SpecSet,
    hidden: &BTreeMap<String, String>,
) -> Result<()> {
    let statements = table_statements(specs, hidden, has_virtual_columns(conn));
    let batch = statements
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    if batch.is_empty() || exec_in_savepoint(conn, &batch).await.is_ok() {
        return Ok(());
    }
    for (l, sql) in &statements {
        if exec_in_savepoint(conn, sql).await.is_err() {
            return Err(diagnose_table(conn, l, sql).await);
        }
    }
    Ok(())
}

/// Whether the shadow's server has VIRTUAL generated columns (PostgreSQL 18 and later).
pub(super) fn has_virtual_columns(conn: &PgConnection) -> bool {
    conn.server_version_num().is_some_and(|v| v >= 180000)
}

/// `CREATE TABLE` for every relation spec: the table itself, or a view's hidden table of
/// declared columns; `virtual_columns` as for [`ddl::column_sql`].
pub(super) fn table_statements<'a>(
    specs: &'a SpecSet,
    hidden: &BTreeMap<String, String>,
    virtual_columns: bool,
) -> Vec<(&'a LoadedSpec, String)> {
    specs
        .specs
        .iter()
        .map(|l| {
            let sql = match hidden.get(&key_of(l)) {
                Some(h) => ddl::view_columns_table(&l.spec, h),
                None => ddl::create_table(&l.spec, virtual_columns),
            };
            (l, sql)
        })
        .collect()
}

/// Why `CREATE TABLE` failed: the column whose type or collation PostgreSQL rejects, else
/// the table as a whole.
async fn diagnose_table(conn: &mut PgConnection, loaded: &LoadedSpec, sql: &str) -> Error {
    let virtual_columns = has_virtual_columns(conn);
    for (name, c) in &loaded.spec.columns {
        let probe = format!(
            "CREATE TEMP TABLE reims_verify_type_probe ({} {}); DROP TABLE reims_verify_type_probe",
            quote_ident(name),
            c.type_
        );
        if let Err(e) = exec_in_savepoint(conn, &probe).await {
            return spec_sql_error(loaded, &["columns", name, "type"], "type", &c.type_, &e);
        }
        let probe = format!(
            "CREATE TEMP TABLE reims_verify_type_probe ({}); DROP TABLE reims_verify_type_probe",
            ddl::column_type_sql(name, c)
        );
        if let Err(e) = exec_in_savepoint(conn, &probe).await {
            return spec_sql_error(
                loaded,
                &["columns", name, "collation"],
                "collation",
                c.collation.as_deref().unwrap_or_default(),
                &e,
            );
        }
        for (key, what, text) in [
            (
                "generated",
                "generated column expression",
                c.generated.as_deref(),
            ),
            ("identity", "identity column", c.identity.map(|k| k.sql())),
        ] {
            if text.is_none() {
                continue;
            }
            let probe = format!(
                "CREATE TEMP TABLE reims_verify_type_probe ({}); DROP TABLE reims_verify_type_probe",
                ddl::column_sql(name, c, virtual_columns)
            );
            // A generated expression may name other columns: probe with all of them.
            let others: Vec<String> = loaded
                .spec
                .columns
                .iter()
                .filter(|(n, _)| *n != name)
                .map(|(n, oc)| ddl::column_type_sql(n, oc))
                .collect();
            let probe_all = format!(
                "CREATE TEMP TABLE reims_verify_type_probe ({}{}); DROP TABLE reims_verify_type_probe",
                ddl::column_sql(name, c, virtual_columns),
                others.iter().map(|o| format!(", {o}")).collect::<String>()
            );
            let failed = exec_in_savepoint(conn, &probe_all).await.err();
            if let Some(e) = failed {
                let _ = probe;
                return spec_sql_error(
                    loaded,
                    &["columns", name, key],
                    what,
                    text.unwrap_or_default(),
                    &e,
                );
            }
        }
    }
    let err = match exec_in_savepoint(conn, sql).await {
        Err(e) => e,
        Ok(()) => return Error::database("creating a shadow table", &sqlx::Error::RowNotFound),
    };
    let key = if loaded.spec.partition_by.is_some() {
        "partition_by"
    } else {
        "table"
    };
    spec_sql_error(loaded, &[key], "table", &loaded.spec.table, &err)
}

/// Stand-ins for every spec function, so that views can call them.
pub(super) fn function_stubs(specs: &SpecSet) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    let mut n = 0;
    for l in &specs.specs {
        for (key, f) in &l.spec.functions {
            if let Some(s) = ddl::function_stub(&l.spec.schema, key, f, n) {
                out.push((Doc::Relation(l), s));
            }
            n += 1;
        }
    }
    for l in &specs.schemas {
        for (key, f) in &l.spec.functions {
            if let Some(s) = ddl::function_stub(&l.spec.schema, key, f, n) {
                out.push((Doc::Schema(l), s));
            }
            n += 1;
        }
    }
    out
}

/// Run statements in one batch; when that fails, one by one (each in a savepoint), so
/// that the failing one is named.
pub(super) async fn add_objects(conn: &mut PgConnection, items: Vec<Item<'_>>) -> Result<()> {
    let batch = items
        .iter()
        .map(|(_, s)| s.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    if batch.is_empty() || exec_in_savepoint(conn, &batch).await.is_ok() {
        return Ok(());
    }
    for (doc, st) in &items {
        if let Err(e) = exec_in_savepoint(conn, &st.sql).await {
            return Err(doc.error(st, &e));
        }
    }
    Ok(())
}

/// Run statements that may depend on each other in an unknown order: all at once when
/// that works, else in passes, each statement in its own savepoint, until a pass makes no
/// progress. Returns what could not be created, with its last error.
pub(super) async fn create_ordered<'a>(
    conn: &mut PgConnection,
    items: Vec<Item<'a>>,
) -> Result<Vec<(Doc<'a>, Statement, sqlx::Error)>> {
    let batch = items
        .iter()
        .map(|(_, s)| s.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    if batch.is_empty() || exec_in_savepoint(conn, &batch).await.is_ok() {
        return Ok(Vec::new());
    }
    let mut pending: Vec<(Doc, Statement, Option<sqlx::Error>)> =
        items.into_iter().map(|(d, s)| (d, s, None)).collect();
    loop {
        let before = pending.len();
        let mut still = Vec::new();
        for (doc, st, _) in pending {
            match exec_in_savepoint(conn, &st.sql).await {
                Ok(()) => {}
                Err(e) => {
                    if is_server_trouble(&e) {
                        return Err(doc.error(&st, &e));
                    }
                    still.push((doc, st, Some(e)));
                }
            }
        }
        pending = still;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    Ok(pending
        .into_iter()
        .map(|(d, s, e)| (d, s, e.unwrap_or(sqlx::Error::RowNotFound)))
        .collect())
}

fn fail_on_leftovers(left: Vec<(Doc<'_>, Statement, sqlx::Error)>) -> Result<()> {
    match left.into_iter().next() {
        Some((doc, st, e)) => Err(doc.error(&st, &e)),
        None => Ok(()),
    }
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

/// Resource exhaustion or a server fault is not the spec's fault (SQLSTATE classes 53,
/// 54, 57, 58, XX).
fn is_server_trouble(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            ["53", "54", "57", "58", "XX"]
                .iter()
                .any(|p| c.starts_with(p))
        }),
        _ => true,
    }
}

fn spec_sql_error<T>(
    loaded: &Loaded<T>,
    path: &[&str],
    what: &str,
    sql: &str,
    err: &sqlx::Error,
) -> Error {
    if is_server_trouble(err) {
        return Error::database(
            format!(
                "compiling the specs into the shadow database ({what} at {})",
                path.join(".")
            ),
            err,
        );
    }
    Error::Spec {
        location: loaded.location(path),
        key_path: Some(path.join(".")),
        message: format!(
            "PostgreSQL rejects the {what} `{sql}`: {}",
            describe_sqlx_error(err)
        ),
        hint: "write it as valid PostgreSQL SQL; a name from another schema is written schema.name"
            .into(),
    }
}

pub(super) async fn normalise_functions(
    conn: &mut PgConnection,
    specs: &SpecSet,
) -> Result<Vec<ShadowFunction>> {
    // Collect every type name to normalise, then resolve them all in one query.
    let mut names: Vec<String> = Vec::new();
    let mut parsed = Vec::new();
    let listed = specs
        .specs
        .iter()
        .map(|l| (Doc::Relation(l), &l.spec.schema, &l.spec.functions))
        .chain(
            specs
                .schemas
                .iter()
                .map(|l| (Doc::Schema(l), &l.spec.schema, &l.spec.functions)),
        );
    for (doc, schema, functions) in listed {
        for (key, f) in functions {
            let Some((name, args)) = parse_signature(key) else {
                continue;
            };
            names.extend(args.iter().cloned());
            let ret = ReturnShape::parse(&f.returns);
            names.extend(ret.type_names().into_iter().map(str::to_string));
            names.extend(f.state_type.iter().cloned());
            parsed.push((
                doc,
                schema.clone(),
                key.clone(),
                name,
                args,
                ret,
                f.state_type.clone(),
            ));
        }
    }
    let resolved: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT n, format_type(to_regtype(n), NULL) FROM unnest($1::text[]) n")
            .bind(&names)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| Error::database("normalising function types", &e))?;
    let lookup = |doc: Doc, key: &str, t: &str| -> Result<String> {
        let found = resolved
            .iter()
            .find(|(n, _)| n == t)
            .and_then(|(_, r)| r.clone());
        let location = match doc {
            Doc::Relation(l) => l.location(&["functions", key]),
            Doc::Schema(l) => l.location(&["functions", key]),
        };
        found.ok_or_else(|| Error::Spec {
            location,
            key_path: Some(format!("functions.{key}")),
            message: format!("`{t}` is not a PostgreSQL type"),
            hint:
                "write argument and return types as PostgreSQL names them (text, uuid, integer, …)"
                    .into(),
        })
    };
    let mut out = Vec::new();
    for (doc, schema, key, name, args, ret, state_type) in parsed {
        let arg_types = args
            .iter()
            .map(|a| lookup(doc, &key, a))
            .collect::<Result<Vec<_>>>()?;
        let returns = ret.render(|t| lookup(doc, &key, t))?;
        let state_type = state_type.map(|t| lookup(doc, &key, &t)).transpose()?;
        out.push(ShadowFunction {
            spec_key: key,
            schema,
            name,
            arg_types,
            returns,
            state_type,
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
