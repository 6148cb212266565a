//! The catalog queries. There are exactly [`CATALOG_QUERIES`] of them, whatever the
//! number of tables: each reads one kind of object for every relation of the schema.

use sqlx::{PgConnection, Row};

use super::model::*;
use super::sqltext::{index_def_elements, trigger_when};
use crate::error::{Error, Result};

/// How many queries [`read_schema`] issues (a test holds it to this).
pub const CATALOG_QUERIES: usize = 6 + super::acl::ACCESS_QUERIES;

const RELATIONS: &str = "
SELECT c.relname::text AS name, c.relkind::text AS kind
  FROM pg_class c
 WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r','p','m','v')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1";

const COLUMNS: &str = "
SELECT c.relname::text AS rel, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation
            THEN a.attcollation::regcollation::text END AS collation
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type ty ON ty.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r','p','m','v')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "
SELECT c.relname::text AS rel, k.conname::text AS name, k.contype::text AS kind,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
       pg_get_constraintdef(k.oid, true) AS definition,
       CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) END AS expression,
       r.relname::text AS ref_table,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS ref_columns,
       NULLIF(k.confdeltype::text, ' ') AS on_delete, NULLIF(k.confupdtype::text, ' ') AS on_update,
       CASE WHEN k.contype IN ('p','u','x') THEN i.relname::text END AS index_name,
       k.condeferrable AS deferrable, k.condeferred AS initially_deferred
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  LEFT JOIN pg_class r ON r.oid = k.confrelid
  LEFT JOIN pg_class i ON i.oid = k.conindid
 WHERE c.relnamespace = $1::regnamespace
 ORDER BY c.relname, k.conname";

const INDEXES: &str = "
SELECT c.relname::text AS rel, ic.relname::text AS name, x.indisunique AS is_unique,
       am.amname::text AS method,
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, false) FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS keys,
       ARRAY(SELECT (x.indoption[k - 1] & 1) <> 0 FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS descs,
       ARRAY(SELECT (x.indoption[k - 1] & 2) <> 0 FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS nulls_firsts,
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, false) FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k) AS include,
       pg_get_expr(x.indpred, x.indrelid) AS predicate,
       pg_get_indexdef(x.indexrelid) AS definition,
       k.conname::text AS constraint_name
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_class ic ON ic.oid = x.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p','u','x')
 WHERE c.relnamespace = $1::regnamespace
 ORDER BY c.relname, ic.relname";

const TRIGGERS: &str = "
SELECT c.relname::text AS rel, t.tgname::text AS name, t.tgtype::int4 AS tgtype,
       p.proname::text AS function, pg_get_triggerdef(t.oid, true) AS definition,
       ARRAY(SELECT a.attname::text FROM unnest(t.tgattr::int2[]) WITH ORDINALITY u(n, i)
               JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
       t.tgenabled::text AS enabled
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal
 ORDER BY c.relname, t.tgname";

const FUNCTIONS: &str = "
SELECT p.proname::text AS name, p.prokind::text AS kind,
       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i) ORDER BY i) AS arg_types,
       pg_get_function_arguments(p.oid) AS arguments,
       COALESCE(pg_get_function_result(p.oid), 'void') AS returns,
       l.lanname::text AS language, p.provolatile::text AS volatility,
       p.proisstrict AS strict, p.prosecdef AS security_definer,
       current_setting('server_version') AS server_version, p.prosrc AS source
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = $1::regnamespace AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                   AND d.objid = p.oid AND d.deptype = 'e')
 UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_setting('server_version'), NULL
 ORDER BY 1 NULLS LAST, 3";

fn db_err(what: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |e| Error::database(format!("reading {what} from pg_catalog"), &e)
}

/// Read one schema (usually `public`) of the connected database.
pub async fn read_schema(conn: &mut PgConnection, schema: &str) -> Result<Schema> {
    let mut out = Schema::default();
    for row in sqlx::query(RELATIONS)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("relations"))?
    {
        let name: String = row.try_get("name").map_err(db_err("relations"))?;
        let kind: String = row.try_get("kind").map_err(db_err("relations"))?;
        out.relations.insert(
            name.clone(),
            Relation {
                name,
                kind: kind.chars().next().unwrap_or('r'),
                ..Default::default()
            },
        );
    }
    for row in sqlx::query(COLUMNS)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("columns"))?
    {
        let relname: String = row.try_get("rel").map_err(db_err("columns"))?;
        if let Some(r) = out.relations.get_mut(&relname) {
            r.columns.push(Column {
                name: row.try_get("name").map_err(db_err("columns"))?,
                type_name: row.try_get("type_name").map_err(db_err("columns"))?,
                nullable: row.try_get("nullable").map_err(db_err("columns"))?,
                default: row.try_get("default_expr").map_err(db_err("columns"))?,
                collation: row.try_get("collation").map_err(db_err("columns"))?,
            });
        }
    }
    for row in sqlx::query(CONSTRAINTS)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("constraints"))?
    {
        let relname: String = row.try_get("rel").map_err(db_err("constraints"))?;
        let kind: String = row.try_get("kind").map_err(db_err("constraints"))?;
        let on_delete: Option<String> = row.try_get("on_delete").map_err(db_err("constraints"))?;
        let on_update: Option<String> = row.try_get("on_update").map_err(db_err("constraints"))?;
        let c = Constraint {
            name: row.try_get("name").map_err(db_err("constraints"))?,
            kind: match kind.as_str() {
                "p" => ConstraintKind::PrimaryKey,
                "u" => ConstraintKind::Unique,
                "f" => ConstraintKind::ForeignKey,
                "c" => ConstraintKind::Check,
                "x" => ConstraintKind::Exclusion,
                _ => ConstraintKind::Other,
            },
            columns: row.try_get("columns").map_err(db_err("constraints"))?,
            definition: row.try_get("definition").map_err(db_err("constraints"))?,
            expression: row.try_get("expression").map_err(db_err("constraints"))?,
            ref_table: row.try_get("ref_table").map_err(db_err("constraints"))?,
            ref_columns: row.try_get("ref_columns").map_err(db_err("constraints"))?,
            on_delete: on_delete.and_then(|s| s.chars().next()),
            on_update: on_update.and_then(|s| s.chars().next()),
            index_name: row.try_get("index_name").map_err(db_err("constraints"))?,
            deferrable: row.try_get("deferrable").map_err(db_err("constraints"))?,
            initially_deferred: row
                .try_get("initially_deferred")
                .map_err(db_err("constraints"))?,
        };
        if let Some(r) = out.relations.get_mut(&relname) {
            r.constraints.push(c);
        }
    }
    for row in sqlx::query(INDEXES)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("indexes"))?
    {
        let relname: String = row.try_get("rel").map_err(db_err("indexes"))?;
        let keys: Vec<String> = row.try_get("keys").map_err(db_err("indexes"))?;
        let definition: String = row.try_get("definition").map_err(db_err("indexes"))?;
        let (collations, opclasses) = key_decorations(&definition, keys.len());
        let idx = Index {
            name: row.try_get("name").map_err(db_err("indexes"))?,
            unique: row.try_get("is_unique").map_err(db_err("indexes"))?,
            method: row.try_get("method").map_err(db_err("indexes"))?,
            keys,
            desc: row.try_get("descs").map_err(db_err("indexes"))?,
            nulls_first: row.try_get("nulls_firsts").map_err(db_err("indexes"))?,
            collations,
            opclasses,
            include: row.try_get("include").map_err(db_err("indexes"))?,
            predicate: row.try_get("predicate").map_err(db_err("indexes"))?,
            definition,
            constraint: row.try_get("constraint_name").map_err(db_err("indexes"))?,
        };
        if let Some(r) = out.relations.get_mut(&relname) {
            r.indexes.push(idx);
        }
    }
    for row in sqlx::query(TRIGGERS)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("triggers"))?
    {
        let relname: String = row.try_get("rel").map_err(db_err("triggers"))?;
        let tgtype: i32 = row.try_get("tgtype").map_err(db_err("triggers"))?;
        let definition: String = row.try_get("definition").map_err(db_err("triggers"))?;
        let enabled: String = row.try_get("enabled").map_err(db_err("triggers"))?;
        let t = Trigger {
            name: row.try_get("name").map_err(db_err("triggers"))?,
            timing: trigger_timing(tgtype).into(),
            events: trigger_events(tgtype),
            level: if tgtype & 1 != 0 { "row" } else { "statement" }.into(),
            function: row.try_get("function").map_err(db_err("triggers"))?,
            when: trigger_when(&definition),
            columns: row.try_get("columns").map_err(db_err("triggers"))?,
            enabled: enabled.chars().next().unwrap_or('O'),
            definition,
        };
        if let Some(r) = out.relations.get_mut(&relname) {
            r.triggers.push(t);
        }
    }
    for row in sqlx::query(FUNCTIONS)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("functions"))?
    {
        let name: Option<String> = row.try_get("name").map_err(db_err("functions"))?;
        let Some(name) = name else {
            // The trailing row carries the server version, saving a round trip.
            out.server_version = row.try_get("server_version").map_err(db_err("functions"))?;
            continue;
        };
        let volatility: String = row.try_get("volatility").map_err(db_err("functions"))?;
        let kind: String = row.try_get("kind").map_err(db_err("functions"))?;
        out.functions.push(Function {
            name,
            kind: kind.chars().next().unwrap_or('f'),
            arg_types: row.try_get("arg_types").map_err(db_err("functions"))?,
            arguments: row.try_get("arguments").map_err(db_err("functions"))?,
            returns: row.try_get("returns").map_err(db_err("functions"))?,
            language: row.try_get("language").map_err(db_err("functions"))?,
            volatility: match volatility.as_str() {
                "i" => "immutable",
                "s" => "stable",
                _ => "volatile",
            }
            .into(),
            strict: row.try_get("strict").map_err(db_err("functions"))?,
            security_definer: row
                .try_get("security_definer")
                .map_err(db_err("functions"))?,
            source: row
                .try_get::<Option<String>, _>("source")
                .map_err(db_err("functions"))?
                .unwrap_or_default(),
        });
    }
    out.access = super::acl::read_access(conn, schema).await?;
    Ok(out)
}

/// Per key, the collation and operator class that the full `pg_get_indexdef` shows (it
/// shows them only when they are not the defaults). Should the definition ever not parse,
/// every key carries the whole definition, so that a difference still shows.
fn key_decorations(definition: &str, keys: usize) -> (Vec<Option<String>>, Vec<Option<String>>) {
    match index_def_elements(definition).filter(|e| e.len() == keys) {
        Some(elems) => elems.into_iter().map(|e| (e.collation, e.opclass)).unzip(),
        None => (
            vec![Some(definition.to_string()); keys],
            vec![Some(definition.to_string()); keys],
        ),
    }
}

/// `pg_trigger.tgtype` bits: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate,
/// 64 instead of.
fn trigger_timing(tgtype: i32) -> &'static str {
    if tgtype & 64 != 0 {
        "instead_of"
    } else if tgtype & 2 != 0 {
        "before"
    } else {
        "after"
    }
}

fn trigger_events(tgtype: i32) -> Vec<String> {
    let mut ev = Vec::new();
    if tgtype & 4 != 0 {
        ev.push("insert".to_string());
    }
    if tgtype & 16 != 0 {
        ev.push("update".to_string());
    }
    if tgtype & 8 != 0 {
        ev.push("delete".to_string());
    }
    if tgtype & 32 != 0 {
        ev.push("truncate".to_string());
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tgtype_bits_decode() {
        // BEFORE UPDATE FOR EACH ROW = 1 | 2 | 16
        assert_eq!(trigger_timing(19), "before");
        assert_eq!(trigger_events(19), vec!["update"]);
        // AFTER INSERT OR DELETE FOR EACH STATEMENT = 4 | 8
        assert_eq!(trigger_timing(12), "after");
        assert_eq!(trigger_events(12), vec!["insert", "delete"]);
        assert_eq!(trigger_timing(64 | 1 | 4), "instead_of");
    }
}
