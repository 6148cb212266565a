//! The catalog queries. There are exactly [`CATALOG_QUERIES`] of them, whatever the
//! number of tables and schemas: each reads one kind of object for every relation of the
//! checked schemas. Schema-level objects are read in `objects.rs`.

use std::cell::{Cell, RefCell};
use std::future::Future;

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};

use super::db_err;
use super::model::*;
use super::sqltext::{index_def_elements, trigger_when};
use crate::error::{Error, Result};

/// How many statements [`read_schemas`] sends (a test holds it to this): one that pins
/// `search_path`, then one query per kind of object, then the access-control queries.
pub const CATALOG_QUERIES: usize = 11 + super::acl::ACCESS_QUERIES;

/// Objects that belong to an extension are the extension's business, not the schema's.
const NOT_EXTENSION_MEMBER: &str = "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')";

fn not_member(catalog: &str, oid: &str) -> String {
    NOT_EXTENSION_MEMBER
        .replace("{catalog}", catalog)
        .replace("{oid}", oid)
}

fn relations_query() -> String {
    format!(
        "
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       ds.description AS comment,
       CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid, true) END AS definition,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       pn.nspname::text AS parent_schema, pc.relname::text AS parent_name,
       ARRAY(SELECT ipn.nspname::text FROM pg_inherits ii JOIN pg_class ipc ON ipc.oid = ii.inhparent
               JOIN pg_namespace ipn ON ipn.oid = ipc.relnamespace
              WHERE ii.inhrelid = c.oid AND NOT c.relispartition ORDER BY ii.inhseqno) AS inherits_schemas,
       ARRAY(SELECT ipc.relname::text FROM pg_inherits ii JOIN pg_class ipc ON ipc.oid = ii.inhparent
              WHERE ii.inhrelid = c.oid AND NOT c.relispartition ORDER BY ii.inhseqno) AS inherits_names,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       c.relpersistence = 'u' AS unlogged,
       c.relkind = 'm' AND NOT c.relispopulated AS unpopulated,
       CASE WHEN c.relkind = 'v' THEN coalesce(c.reloptions, '{{}}') END::text[] AS view_options,
       CASE WHEN c.relkind <> 'v' THEN coalesce(c.reloptions, '{{}}')
            || ARRAY(SELECT 'toast.' || o FROM pg_class tc, unnest(tc.reloptions) o
                      WHERE tc.oid = c.reltoastrelid) END::text[] AS parameters,
       c.relreplident::text AS replica_identity,
       (SELECT ri.relname::text FROM pg_index x JOIN pg_class ri ON ri.oid = x.indexrelid
         WHERE x.indrelid = c.oid AND x.indisreplident LIMIT 1) AS replica_index,
       (SELECT ci.relname::text FROM pg_index x JOIN pg_class ci ON ci.oid = x.indexrelid
         WHERE x.indrelid = c.oid AND x.indisclustered LIMIT 1) AS cluster_index
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
  LEFT JOIN pg_class pc ON pc.oid = i.inhparent
  LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
 WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','m','v')
   AND {}
 ORDER BY 1, 2",
        not_member("pg_class", "c.oid")
    )
}

const COLUMNS: &str = "
SELECT n.nspname::text AS schema, c.relname::text AS rel, a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       NULLIF(tn.nspname, 'pg_catalog')::text AS type_schema,
       NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation
            THEN a.attcollation::regcollation::text END AS collation,
       a.attgenerated::text AS generated, a.attidentity::text AS identity,
       a.attstorage::text AS storage, ty.typstorage::text AS type_storage,
       {compression} AS compression,
       -- -1 is the default before PostgreSQL 17, NULL from 17 on (where SET STATISTICS -1
       -- stores NULL): both read as none.
       NULLIF(a.attstattarget, -1)::int4 AS statistics,
       coalesce(a.attoptions, '{}')::text[] AS options,
       nn.name AS not_null_not_valid,
       ds.description AS comment
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type ty ON ty.oid = a.atttypid
  JOIN pg_namespace tn ON tn.oid = ty.typnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_description ds ON ds.objoid = a.attrelid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum
  -- A NOT NULL constraint added NOT VALID (PostgreSQL 18 on; none before): the few there
  -- are, joined once, not looked up per column.
  LEFT JOIN (SELECT k.conrelid, k.conkey[1] AS attnum, min(k.conname::text) AS name
               FROM pg_constraint k
              WHERE k.contype = 'n' AND NOT k.convalidated
              GROUP BY 1, 2) nn ON nn.conrelid = a.attrelid AND nn.attnum = a.attnum
 WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','m','v')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, 2, a.attnum";

/// The triggers that do not fire in a normal session (`tgenabled` neither `O` nor `A`)
/// whose `link` (`tgconstraint`, `tgparentid`) is set, each walked up `catalog`'s
/// `parent` column (`pg_constraint.conparentid`, `pg_trigger.tgparentid`) to the object at
/// the top, and gathered per top object as `off(top, relations, names, states)`. They are
/// few, so the walk starts from them.
fn off_walk(link: &str, catalog: &str, parent: &str) -> String {
    format!(
        "WITH RECURSIVE up(top, relation, name, enabled) AS (
  SELECT t.{link}, t.tgrelid::regclass::text, t.tgname::text, t.tgenabled::text
    FROM pg_trigger t
   WHERE t.{link} <> 0 AND t.tgenabled NOT IN ('O', 'A')
  UNION ALL
  SELECT p.{parent}, up.relation, up.name, up.enabled
    FROM up JOIN {catalog} p ON p.oid = up.top
   WHERE p.{parent} <> 0
), off AS (
  SELECT top, array_agg(relation ORDER BY relation, name) AS relations,
         array_agg(name ORDER BY relation, name) AS names,
         array_agg(enabled ORDER BY relation, name) AS states
    FROM up GROUP BY top
)"
    )
}

/// The constraints, each with the triggers enforcing it that do not fire (`off_*`): a
/// foreign key's (on both tables) or a deferrable key's internal triggers
/// (`tgconstraint`), its own and its partitions' copies' (`conparentid`, walked up from
/// each such trigger; they are few, so the walk starts from them). `DISABLE TRIGGER ALL`
/// switches such a constraint off while `convalidated` stays true.
const CONSTRAINTS: &str = "
{off_walk}
SELECT n.nspname::text AS schema, c.relname::text AS rel, k.conname::text AS name, k.contype::text AS kind,
       ARRAY(SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = u.n)
               FROM unnest(k.conkey) WITH ORDINALITY u(n, i) ORDER BY u.i) AS columns,
       CASE WHEN k.contype <> 'c' OR k.connoinherit OR NOT k.convalidated
            THEN pg_get_constraintdef(k.oid, false) END AS definition,
       CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) END AS expression,
       rn.nspname::text AS ref_schema, r.relname::text AS ref_table,
       ARRAY(SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = k.confrelid AND a.attnum = u.n)
               FROM unnest(k.confkey) WITH ORDINALITY u(n, i) ORDER BY u.i) AS ref_columns,
       NULLIF(k.confdeltype::text, ' ') AS on_delete, NULLIF(k.confupdtype::text, ' ') AS on_update,
       k.contype = 'f' AND k.confmatchtype = 'f' AS match_full,
       CASE WHEN k.contype IN ('p','u','x') THEN i.relname::text END AS index_name,
       k.condeferrable AS deferrable, k.condeferred AS initially_deferred,
       k.convalidated AS validated,
       {enforced} AS enforced,
       {delete_set} AS on_delete_columns,
       k.connoinherit AS no_inherit,
       (k.conparentid <> 0 OR NOT k.conislocal) AS inherited,
       ds.description AS comment,
       off.relations AS off_relations, off.names AS off_names, off.states AS off_states
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class r ON r.oid = k.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
  LEFT JOIN pg_class i ON i.oid = k.conindid
  LEFT JOIN pg_description ds ON ds.objoid = k.oid AND ds.classoid = 'pg_constraint'::regclass AND ds.objsubid = 0
  LEFT JOIN off ON off.top = k.oid
 WHERE n.nspname = ANY($1)
 ORDER BY 1, 2, 3";

const INDEXES: &str = "
SELECT n.nspname::text AS schema, c.relname::text AS rel, ic.relname::text AS name, x.indisunique AS is_unique,
       am.amname::text AS method,
       ARRAY(SELECT CASE WHEN x.indkey[k - 1] <> 0 THEN (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1])
                         ELSE pg_get_indexdef(x.indexrelid, k, false) END
               FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS keys,
       ARRAY(SELECT (x.indoption[k - 1] & 1) <> 0 FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS descs,
       ARRAY(SELECT (x.indoption[k - 1] & 2) <> 0 FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS nulls_firsts,
       ARRAY(SELECT (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1])
               FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k) AS include,
       pg_get_expr(x.indpred, x.indrelid) AS predicate,
       pg_get_indexdef(x.indexrelid) AS definition,
       k.conname::text AS constraint_name,
       x.indisvalid AS valid, x.indisready AS ready, x.indislive AS live,
       {nulls_not_distinct} AS nulls_not_distinct,
       EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = x.indexrelid) AS inherited,
       -- The keys with a statistics target of their own: -1 is the default before
       -- PostgreSQL 17, NULL from 17 on.
       ARRAY(SELECT a.attnum::int4 FROM pg_attribute a
              WHERE a.attrelid = x.indexrelid AND a.attstattarget <> -1 ORDER BY a.attnum) AS statistics_keys,
       ARRAY(SELECT a.attstattarget::int4 FROM pg_attribute a
              WHERE a.attrelid = x.indexrelid AND a.attstattarget <> -1 ORDER BY a.attnum) AS statistics_targets,
       ds.description AS comment,
       coalesce(ic.reloptions, '{}')::text[] AS parameters
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class ic ON ic.oid = x.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p','u','x')
  LEFT JOIN pg_description ds ON ds.objoid = x.indexrelid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
 WHERE n.nspname = ANY($1)
 ORDER BY 1, 2, 3";

/// The triggers, each with its copies on partitions that do not fire (`off_*`, walked up
/// `tgparentid` from each such copy: a partition's copy is disabled on its own by
/// `ALTER TABLE partition DISABLE TRIGGER`, the parent's staying enabled).
const TRIGGERS: &str = "
{off_walk}
SELECT n.nspname::text AS schema, c.relname::text AS rel, t.tgname::text AS name, t.tgtype::int4 AS tgtype,
       p.proname::text AS function, pn.nspname::text AS function_schema,
       EXISTS (SELECT 1 FROM pg_proc q
                WHERE q.pronamespace = 'pg_catalog'::regnamespace AND q.proname = p.proname
                  AND q.prorettype = 'trigger'::regtype) AS catalog_namesake,
       pg_get_triggerdef(t.oid, true) AS definition,
       t.tgoldtable::text AS old_table, t.tgnewtable::text AS new_table,
       t.tgconstraint <> 0 AS is_constraint, t.tgdeferrable AS deferrable,
       t.tginitdeferred AS initially_deferred,
       ARRAY(SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = t.tgrelid AND a.attnum = u.n)
               FROM unnest(t.tgattr::int2[]) WITH ORDINALITY u(n, i) ORDER BY u.i) AS columns,
       t.tgenabled::text AS enabled, t.tgnargs::int4 AS nargs, t.tgargs AS args,
       t.tgparentid <> 0 AS inherited,
       ds.description AS comment,
       off.relations AS off_relations, off.names AS off_names, off.states AS off_states
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
  LEFT JOIN pg_description ds ON ds.objoid = t.oid AND ds.classoid = 'pg_trigger'::regclass AND ds.objsubid = 0
  LEFT JOIN off ON off.top = t.oid
 WHERE n.nspname = ANY($1) AND NOT t.tgisinternal
 ORDER BY 1, 2, 3";

fn functions_query() -> String {
    format!(
        "
WITH {}
SELECT n.nspname::text AS schema, p.proname::text AS name, p.prokind::text AS kind,
       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i) ORDER BY i) AS arg_types,
       pg_get_function_arguments(p.oid) AS arguments,
       COALESCE(pg_get_function_result(p.oid), 'void') AS returns,
       l.lanname::text AS language, p.provolatile::text AS volatility,
       p.proisstrict AS strict, p.prosecdef AS security_definer,
       current_setting('server_version') AS server_version, p.prosrc AS source,
       COALESCE(p.proconfig, '{{}}')::text[] AS config, {} AS config_values,
       p.proleakproof AS leakproof,
       p.proparallel::text AS parallel, p.procost::float8 AS cost, p.prorows::float8 AS rows,
       ag.aggtransfn::regproc::text AS agg_sfunc, format_type(ag.aggtranstype, NULL) AS agg_stype,
       NULLIF(ag.aggfinalfn, 0)::regproc::text AS agg_finalfunc, ag.agginitval AS agg_initval,
       {} AS agg_options,
       ds.description AS comment
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
  LEFT JOIN pg_description ds ON ds.objoid = p.oid AND ds.classoid = 'pg_proc'::regclass AND ds.objsubid = 0
 WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p', 'a')
   AND {}
 UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_setting('server_version'), NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
 ORDER BY 1 NULLS LAST, 2, 4",
        super::settings::SETTING_UNITS,
        super::settings::config_values("p.proconfig"),
        AGGREGATE_OPTIONS,
        not_member("pg_proc", "p.oid")
    )
}

/// An aggregate's `CREATE AGGREGATE` options beyond its state function and type, final
/// function and initial state, each `name=value` and only when not PostgreSQL's default:
/// the moving-aggregate implementation a window with a moving frame start uses instead
/// (`msfunc`, `minvfunc`, …), the functions of parallel aggregation (`combinefunc`,
/// `serialfunc`, `deserialfunc`), `sortop`, and how the final functions treat the state.
/// Functions print as `regproc` does on the catalog session (schema-qualified outside
/// `pg_catalog`).
const AGGREGATE_OPTIONS: &str = "ARRAY_REMOVE(ARRAY[
         CASE WHEN ag.aggcombinefn <> 0 THEN 'combinefunc=' || ag.aggcombinefn::regproc::text END,
         CASE WHEN ag.aggserialfn <> 0 THEN 'serialfunc=' || ag.aggserialfn::regproc::text END,
         CASE WHEN ag.aggdeserialfn <> 0 THEN 'deserialfunc=' || ag.aggdeserialfn::regproc::text END,
         CASE WHEN ag.aggmtransfn <> 0 THEN 'msfunc=' || ag.aggmtransfn::regproc::text END,
         CASE WHEN ag.aggminvtransfn <> 0 THEN 'minvfunc=' || ag.aggminvtransfn::regproc::text END,
         CASE WHEN ag.aggmfinalfn <> 0 THEN 'mfinalfunc=' || ag.aggmfinalfn::regproc::text END,
         CASE WHEN ag.aggmtranstype <> 0 THEN 'mstype=' || format_type(ag.aggmtranstype, NULL) END,
         CASE WHEN ag.aggminitval IS NOT NULL THEN 'minitcond=' || ag.aggminitval END,
         CASE WHEN ag.aggsortop <> 0 THEN 'sortop=' || ag.aggsortop::regoperator::text END,
         CASE WHEN ag.aggfinalextra THEN 'finalfunc_extra=true' END,
         CASE WHEN ag.aggmfinalextra THEN 'mfinalfunc_extra=true' END,
         CASE WHEN ag.aggfinalmodify <> CASE WHEN ag.aggkind = 'n' THEN 'r' ELSE 'w' END
              THEN 'finalfunc_modify=' || CASE ag.aggfinalmodify WHEN 'r' THEN 'read_only'
                   WHEN 's' THEN 'shareable' ELSE 'read_write' END END,
         CASE WHEN ag.aggmtransfn <> 0 AND ag.aggmfinalmodify <> CASE WHEN ag.aggkind = 'n' THEN 'r' ELSE 'w' END
              THEN 'mfinalfunc_modify=' || CASE ag.aggmfinalmodify WHEN 'r' THEN 'read_only'
                   WHEN 's' THEN 'shareable' ELSE 'read_write' END END,
         CASE WHEN ag.aggtransspace <> 0 THEN 'sspace=' || ag.aggtransspace END,
         CASE WHEN ag.aggmtransspace <> 0 THEN 'msspace=' || ag.aggmtransspace END
       ], NULL)::text[]";

/// Read one schema (usually `public`) of the connected database.
pub async fn read_schema(conn: &mut PgConnection, schema: &str) -> Result<Schema> {
    read_schemas(conn, &[schema.to_string()]).await
}

/// Read the given schemas of the connected database, in [`CATALOG_QUERIES`] statements
/// whatever the number of schemas and objects. The session's `search_path` is set to
/// `public` first, so that PostgreSQL's printers qualify names the same way on every
/// server, whatever search path the connecting role has.
pub async fn read_schemas(conn: &mut PgConnection, schemas: &[String]) -> Result<Schema> {
    let schemas: Vec<String> = schemas.to_vec();
    pin_session(conn, Workers::AsServerSays).await?;
    let mut parts = Parts::default();
    for query in SENT {
        parts.put(read_part(conn, query, &schemas).await?);
    }
    parts.assemble()
}

/// [`read_schemas`] over two connections to the same database, for a database nothing
/// else changes while it is read (a throw-away server's). The two sessions share the
/// queries: each takes the next one not yet taken as soon as it is free, costliest first
/// ([`CLAIMED`]), so that both stay busy to the end whatever the schema's proportions,
/// and turns its rows into the model as they arrive, while the other session's server
/// still works. `helper` opens the second session: `conn` starts reading while it
/// connects, and the session is closed once nothing is left to take. The result is the
/// same as [`read_schemas`]'s; the statements are the same, plus one that pins the
/// helper's session. A helper that cannot connect fails the read with its own error.
/// Neither session asks for parallel workers (see [`Workers::None`]).
pub async fn read_schemas_on_two<H>(
    conn: &mut PgConnection,
    helper: H,
    schemas: &[String],
) -> Result<Schema>
where
    H: Future<Output = Result<PgConnection>>,
{
    on_two(conn, helper, schemas, &CLAIMED).await?.assemble()
}

/// [`read_schemas_on_two`], with the state of PostgreSQL's own objects
/// ([`super::builtin::read_builtin_state`]) read by the same two sessions, as the first
/// query one of them takes. On a session of its own it was the longest of a small schema's
/// read: that session's catalog caches were filled for it alone, where the read's sessions
/// have them filled already (by hand on REIMS, about 80-100 ms of server time on a session
/// of its own). An error of its query is told after any error of the schemas' queries.
pub async fn read_schemas_and_builtin_on_two<H>(
    conn: &mut PgConnection,
    helper: H,
    schemas: &[String],
) -> Result<(Schema, Vec<super::builtin::BuiltinState>)>
where
    H: Future<Output = Result<PgConnection>>,
{
    let mut claimed = vec![Query::Builtin];
    claimed.extend(CLAIMED);
    let mut parts = on_two(conn, helper, schemas, &claimed).await?;
    let builtin = parts.builtin.take();
    let schema = parts.assemble()?;
    Ok((schema, builtin.unwrap_or_default()))
}

/// The two sessions' read: each takes the next query of `claimed` not yet taken.
async fn on_two<H>(
    conn: &mut PgConnection,
    helper: H,
    schemas: &[String],
    claimed: &[Query],
) -> Result<Parts>
where
    H: Future<Output = Result<PgConnection>>,
{
    let schemas: Vec<String> = schemas.to_vec();
    let next = Cell::new(0);
    let got = RefCell::new(Vec::new());
    let on_helper = async {
        let mut helper = helper.await?;
        let pinned = pin_session(&mut helper, Workers::None).await;
        if pinned.is_ok() {
            take_queries(&mut helper, claimed, &next, &schemas, &got).await;
        }
        let _ = helper.close().await;
        Ok::<_, Error>(pinned)
    };
    let on_conn = async {
        let pinned = pin_session(conn, Workers::None).await;
        if pinned.is_ok() {
            take_queries(conn, claimed, &next, &schemas, &got).await;
        }
        pinned
    };
    let (helper_pinned, pinned) = tokio::join!(on_helper, on_conn);
    // The first error in the order one connection sends the queries, whichever came first
    // (the built-in objects' after every catalog query's); the helper's connection before
    // anything it read.
    pinned?;
    helper_pinned??;
    let mut got = got.into_inner();
    got.sort_by_key(|(query, _)| SENT.iter().position(|q| q == query).unwrap_or(SENT.len()));
    let mut parts = Parts::default();
    for (_, part) in got {
        parts.put(part?);
    }
    Ok(parts)
}

/// The catalog queries, one per kind of object (the schema-level objects and access
/// control are a few statements each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Query {
    Relations,
    Columns,
    Constraints,
    Indexes,
    Triggers,
    Functions,
    Objects,
    Access,
    /// PostgreSQL's own objects: read with the schemas on a throw-away server only.
    Builtin,
}

/// The order one session sends the queries in, and in which their errors are reported.
const SENT: [Query; 8] = [
    Query::Relations,
    Query::Columns,
    Query::Constraints,
    Query::Indexes,
    Query::Triggers,
    Query::Functions,
    Query::Objects,
    Query::Access,
];

/// The order two sessions take the queries in: the costliest at scale first (at 5,000
/// tables the index query alone is about half of the read), so that the cheap ones fill
/// in at the end on whichever session is free.
const CLAIMED: [Query; 8] = [
    Query::Indexes,
    Query::Constraints,
    Query::Columns,
    Query::Access,
    Query::Relations,
    Query::Triggers,
    Query::Objects,
    Query::Functions,
];

/// Take the next query of [`CLAIMED`] not yet taken, run it on `conn`, and so on until
/// none is left; each result goes to `got`. A session whose query failed takes no more
/// (its connection may be in any state); the other goes on.
async fn take_queries(
    conn: &mut PgConnection,
    claimed: &[Query],
    next: &Cell<usize>,
    schemas: &[String],
    got: &RefCell<Vec<(Query, Result<Part>)>>,
) {
    loop {
        let at = next.get();
        let Some(&query) = claimed.get(at) else {
            return;
        };
        next.set(at + 1);
        let part = read_part(conn, query, schemas).await;
        let failed = part.is_err();
        got.borrow_mut().push((query, part));
        if failed {
            return;
        }
    }
}

/// One query's rows, turned into the model.
enum Part {
    Relations(Vec<Relation>),
    Columns(Grouped<Column>),
    Constraints(Grouped<Constraint>),
    Indexes(Grouped<Index>),
    Triggers(Grouped<Trigger>),
    Functions(Functions),
    Objects(Box<Schema>),
    Access(Box<super::acl::Access>),
    Builtin(Vec<super::builtin::BuiltinState>),
}

async fn read_part(conn: &mut PgConnection, query: Query, schemas: &[String]) -> Result<Part> {
    Ok(match query {
        Query::Relations => Part::Relations(read_relations(conn, schemas).await?),
        Query::Columns => Part::Columns(read_columns(conn, schemas).await?),
        Query::Constraints => Part::Constraints(read_constraints(conn, schemas).await?),
        Query::Indexes => Part::Indexes(read_indexes(conn, schemas).await?),
        Query::Triggers => Part::Triggers(read_triggers(conn, schemas).await?),
        Query::Functions => Part::Functions(read_functions(conn, schemas).await?),
        Query::Objects => {
            Part::Objects(Box::new(super::objects::read_objects(conn, schemas).await?))
        }
        Query::Access => Part::Access(Box::new(super::acl::read_access(conn, schemas).await?)),
        Query::Builtin => Part::Builtin(super::builtin::read_builtin_state(conn).await?),
    })
}

/// The parts read so far, one slot per query.
#[derive(Default)]
struct Parts {
    relations: Option<Vec<Relation>>,
    columns: Option<Grouped<Column>>,
    constraints: Option<Grouped<Constraint>>,
    indexes: Option<Grouped<Index>>,
    triggers: Option<Grouped<Trigger>>,
    functions: Option<Functions>,
    objects: Option<Schema>,
    access: Option<super::acl::Access>,
    builtin: Option<Vec<super::builtin::BuiltinState>>,
}

impl Parts {
    fn put(&mut self, part: Part) {
        match part {
            Part::Relations(p) => self.relations = Some(p),
            Part::Columns(p) => self.columns = Some(p),
            Part::Constraints(p) => self.constraints = Some(p),
            Part::Indexes(p) => self.indexes = Some(p),
            Part::Triggers(p) => self.triggers = Some(p),
            Part::Functions(p) => self.functions = Some(p),
            Part::Objects(p) => self.objects = Some(*p),
            Part::Access(p) => self.access = Some(*p),
            Part::Builtin(p) => self.builtin = Some(p),
        }
    }

    /// The schema-level objects completed with the relations, the objects that belong to
    /// them, the functions and the access-control facts. An object whose relation is not
    /// among the relations read (an index of a kind of relation the relation query leaves
    /// out) is dropped, as the relation would be. Every part must have been read.
    fn assemble(self) -> Result<Schema> {
        // Only when a session stopped on an error, which is reported before this.
        let missing = || Error::Database {
            context: "reading the catalog".into(),
            message: "a catalog query was never answered".into(),
        };
        let mut out = self.objects.ok_or_else(missing)?;
        for r in self.relations.ok_or_else(missing)? {
            out.relations.insert(relation_key(&r.schema, &r.name), r);
        }
        attach(&mut out, self.columns.ok_or_else(missing)?, |r| {
            &mut r.columns
        });
        resolve_domain_bases(&mut out);
        attach(&mut out, self.constraints.ok_or_else(missing)?, |r| {
            &mut r.constraints
        });
        attach(&mut out, self.indexes.ok_or_else(missing)?, |r| {
            &mut r.indexes
        });
        attach(&mut out, self.triggers.ok_or_else(missing)?, |r| {
            &mut r.triggers
        });
        let functions = self.functions.ok_or_else(missing)?;
        out.functions = functions.functions;
        out.server_version = functions.server_version;
        out.access = self.access.ok_or_else(missing)?;
        Ok(out)
    }
}

/// Give each column of a domain among the types read its [`Column::domain_base`]. Nothing
/// is done when no domain was read.
fn resolve_domain_bases(schema: &mut Schema) {
    let domains: std::collections::HashMap<(&str, &str), &str> = schema
        .types
        .iter()
        .filter(|t| t.kind == 'd')
        .filter_map(|t| {
            Some((
                (t.schema.as_str(), t.name.as_str()),
                t.base_type.as_deref()?,
            ))
        })
        .collect();
    if domains.is_empty() {
        return;
    }
    let bases: Vec<(String, usize, String)> = schema
        .relations
        .iter()
        .flat_map(|(key, r)| {
            r.columns.iter().enumerate().filter_map(|(i, c)| {
                domain_base(&c.type_name, &domains).map(|b| (key.clone(), i, b))
            })
        })
        .collect();
    for (key, i, base) in bases {
        if let Some(c) = schema
            .relations
            .get_mut(&key)
            .and_then(|r| r.columns.get_mut(i))
        {
            c.domain_base = Some(base);
        }
    }
}

/// The base type of `type_name` (as the catalog read prints it: `amount` in `public`,
/// `app.amount` elsewhere) when it is one of `domains`, through domains of domains.
fn domain_base(
    type_name: &str,
    domains: &std::collections::HashMap<(&str, &str), &str>,
) -> Option<String> {
    let mut base: Option<String> = None;
    // A domain cannot be its own base, directly or not; the bound only keeps a damaged
    // catalog from looping.
    for _ in 0..domains.len() {
        let (schema, name) = parse_qualified(base.as_deref().unwrap_or(type_name), "public");
        match domains.get(&(schema.as_str(), name.as_str())) {
            Some(next) => base = Some(next.to_string()),
            None => break,
        }
    }
    base
}

/// [`super::builtin::read_builtin_state`] on a session of its own (the fresh database's),
/// pinned first as the sessions of [`read_schemas_and_builtin_on_two`] are, which read the
/// checked database's: the two states print alike whatever search path a role or
/// database sets.
pub async fn read_builtin_state_pinned(
    conn: &mut PgConnection,
) -> Result<Vec<super::builtin::BuiltinState>> {
    pin_session(conn, Workers::None).await?;
    super::builtin::read_builtin_state(conn).await
}

/// Whether a reading session may have PostgreSQL start parallel workers for its queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workers {
    /// As the server is configured: a handed-over server is read on one session, and
    /// there workers help at thousands of tables (one session at 5,000 tables, by hand:
    /// 2.4 s of statements with them, 2.8 s without).
    AsServerSays,
    /// None (`max_parallel_workers_per_gather = 0`): the two sessions of a throw-away
    /// server's read already share its cores with each other and with the shadow's build.
    /// Past a few thousand tables the planner starts workers for the scans of the largest
    /// catalogs (pg_attribute, pg_depend, pg_constraint are then past
    /// `min_parallel_table_scan_size`), and starting them and sharing two cores with them
    /// cost more than they save: by hand at 5,000 tables, seven alternated warm `check`
    /// runs, the catalog read took 1,696-2,242 ms (median 1,781) without workers and
    /// 1,853-2,188 (1,861) with them. At 1,000 tables no plan had workers.
    None,
}

/// The settings that decide how PostgreSQL reads and prints SQL text, at PostgreSQL's
/// defaults, for every session that reads a catalog ([`read_schemas`]) or builds the
/// shadow. Both sides of a comparison must print alike, and a database or role may set
/// these otherwise: on a database with `IntervalStyle = iso_8601` a default of one day is
/// printed `'P1D'::interval`, with `bytea_output = escape` a `'\x01'::bytea` is printed
/// `'\001'::bytea`, with `quote_all_identifiers` on a column of type `text` is `"text"`,
/// with `standard_conforming_strings` off a string with a backslash is `E'a\\b'`, and with
/// `lc_monetary = 'de_DE.UTF-8'` a `'$12.50'::money` is `'12,50 €'::money` (`C` is the
/// one locale every server has). The search path is `public`, so that names print as the
/// specs write them. `TimeZone`, `DateStyle`, `extra_float_digits` and `client_encoding`
/// need no pin here: every session sends them in its start-up packet (sqlx does), which
/// outranks a database's or a role's setting.
pub const PRINTING: [(&str, &str); 6] = [
    ("search_path", "public"),
    ("standard_conforming_strings", "on"),
    ("IntervalStyle", "postgres"),
    ("bytea_output", "hex"),
    ("quote_all_identifiers", "off"),
    ("lc_monetary", "C"),
];

/// [`PRINTING`] as `SET` statements (`SET LOCAL` when `local`), one per line, each ending
/// in a semicolon: for a session, or a transaction, that sends SQL as text.
pub fn printing_statements(local: bool) -> String {
    PRINTING
        .iter()
        .map(|(name, value)| {
            format!(
                "SET {}{name} = {};\n",
                if local { "LOCAL " } else { "" },
                crate::sql::quote_literal(value)
            )
        })
        .collect()
}

/// Give a session that read the catalog back the database's and the role's settings of
/// [`PRINTING`], the search path among them: the probes on a handed-over server run on
/// that session, and the functions and CHECKs they try must run as the application's
/// sessions run them (a CHECK may call `current_setting('IntervalStyle')`, a function may
/// name a table of the schema the database's search path puts first), as they do on a
/// throw-away server's new sessions. The probes name every table and type they write
/// with its schema, so the search path sends none of them elsewhere.
pub async fn unpin_printing(conn: &mut PgConnection) -> Result<()> {
    let resets: String = PRINTING
        .iter()
        .map(|(name, _)| format!("RESET {name};\n"))
        .collect();
    sqlx::raw_sql(&resets)
        .execute(&mut *conn)
        .await
        .map_err(db_err(
            "the session's settings (giving the database's back for the probes)",
        ))?;
    Ok(())
}

/// Pin what PostgreSQL's printers depend on for this session ([`PRINTING`]), and JIT off.
/// The catalog queries' estimates (set-returning subqueries count as 1,000 rows each) pass
/// `jit_above_cost` at a few thousand relations, and compiling them then costs more than
/// running them (0.7 s of a 1.2 s index query at 1,000 tables). JIT and parallel workers
/// (`workers`) change how fast a query runs, never what it returns.
async fn pin_session(conn: &mut PgConnection, workers: Workers) -> Result<()> {
    let mut pins: Vec<(&str, &str)> = PRINTING.to_vec();
    pins.push(("jit", "off"));
    if workers == Workers::None {
        pins.push(("max_parallel_workers_per_gather", "0"));
    }
    let calls: Vec<String> = pins
        .iter()
        .map(|(name, value)| {
            format!(
                "set_config({}, {}, false)",
                crate::sql::quote_literal(name),
                crate::sql::quote_literal(value)
            )
        })
        .collect();
    sqlx::query(&format!("SELECT {}", calls.join(", ")))
        .execute(&mut *conn)
        .await
        .map_err(db_err(
            "the session's settings (how values print, JIT, parallel workers)",
        ))?;
    Ok(())
}

/// Objects that belong to a relation, grouped by [`relation_key`] in the order the query
/// returns them (a query orders its rows by schema and relation, so each relation is
/// usually one group).
type Grouped<T> = Vec<(String, Vec<T>)>;

/// Hand each row of one catalog query over `schemas` to `each` as it arrives: the rows
/// become the model while the server still sends the rest, and are never all held at
/// once (at 5,000 tables the column query alone returns 100,000 rows).
async fn for_each_row(
    conn: &mut PgConnection,
    sql: &str,
    schemas: &[String],
    what: &'static str,
    mut each: impl FnMut(&PgRow) -> Result<()>,
) -> Result<()> {
    let mut rows = sqlx::query(sql).bind(schemas).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(db_err(what))? {
        each(&row)?;
    }
    Ok(())
}

/// The rows of one catalog query, decoded one by one with `decode` and grouped by the
/// relation each names in its `schema` and `rel` columns. The key is built once per run
/// of rows of one relation.
/// A view's `reloptions` in one spelling: sorted, a boolean as `true` (PostgreSQL keeps
/// what was written: `on`, `yes`, `1`, a prefix such as `tr`, in any case), one that is
/// false left out, as absent means, and `check_option` in lower case (it keeps `LOCAL`
/// as written too).
fn view_options(reloptions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = reloptions
        .iter()
        .filter_map(|o| {
            let (name, value) = o.split_once('=').unwrap_or((o, "true"));
            if name == "check_option" {
                return Some(format!("{name}={}", value.to_ascii_lowercase()));
            }
            match pg_bool(value) {
                Some(true) => Some(format!("{name}=true")),
                Some(false) => None,
                None => Some(format!("{name}={value}")),
            }
        })
        .collect();
    out.sort();
    out
}

/// Storage parameters whose value is a boolean (`vacuum_index_cleanup` and an index's
/// `buffering` also take `auto`): a table's, then an index's.
const BOOLEAN_PARAMETERS: &[&str] = &[
    "autovacuum_enabled",
    "user_catalog_table",
    "vacuum_truncate",
    "vacuum_index_cleanup",
    "fastupdate",
    "deduplicate_items",
    "autosummarize",
    "buffering",
];

/// A relation's storage parameters in one spelling, sorted: PostgreSQL keeps each as
/// written, so a boolean one reads `true` or `false` whichever spelling it accepted (`on`,
/// `0`, `Off`), a number reads as the number it is (`0.10` as `0.1`, see
/// [`parameter_number`]), and the others are left as they are. Unlike a view's options, a
/// false one is kept: `autovacuum_enabled = false` is not the default.
pub(crate) fn storage_parameters(reloptions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = reloptions
        .iter()
        .map(|o| {
            let (name, value) = o.split_once('=').unwrap_or((o, "true"));
            let bare = name.strip_prefix("toast.").unwrap_or(name);
            match pg_bool(value) {
                Some(b) if BOOLEAN_PARAMETERS.contains(&bare) => format!("{name}={b}"),
                _ => match parameter_number(value) {
                    Some(n) => format!("{name}={n}"),
                    None => format!("{name}={value}"),
                },
            }
        })
        .collect();
    out.sort();
    out
}

/// A storage parameter's value as the one number it is, when it is written as a plain
/// decimal numeral: `0.10`, `.1` and `1e-1` all read `0.1`, `+70` reads `70`. A numeral
/// with a leading zero and neither point nor exponent (`070`) is left as written, since an
/// integer parameter reads it as octal (56), as is anything that is not a finite decimal
/// numeral (`0x46`, ` 70`, `auto`).
fn parameter_number(value: &str) -> Option<String> {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let whole = unsigned
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(unsigned.len());
    if whole > 1 && unsigned.starts_with('0') && whole == unsigned.len() {
        return None;
    }
    let numeral = !unsigned.is_empty()
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    match value.parse::<f64>() {
        Ok(n) if numeral && n.is_finite() => Some(number_text(n)),
        _ => None,
    }
}

/// A finite number as the catalog read writes it, whatever spelling PostgreSQL kept:
/// Rust's shortest form (`0.1`, `-1`, `70`), and `-0` as `0`.
fn number_text(n: f64) -> String {
    format!("{}", if n == 0.0 { 0.0 } else { n })
}

/// A column's attribute options (`n_distinct`, `n_distinct_inherited`) in one spelling,
/// sorted: PostgreSQL keeps each value as written, so `-1`, `-1.0` and `'-1e0'` are read as
/// the one number they are (a value that is no finite number is left as it is).
pub(crate) fn attribute_options(attoptions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = attoptions
        .iter()
        .map(|o| match o.split_once('=') {
            Some((name, value)) => match value.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => format!("{name}={}", number_text(n)),
                _ => o.clone(),
            },
            None => o.clone(),
        })
        .collect();
    out.sort();
    out
}

/// A boolean as PostgreSQL reads one (`parse_bool`): `true`, `yes`, `on`, `1`, `false`,
/// `no`, `off`, `0`, in any case, and the unique prefixes of the words (`t`, `fa`, `of`;
/// not `o`); `None` for anything else.
fn pg_bool(value: &str) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !v.is_empty() && word.starts_with(v.as_str());
    match v.as_str() {
        "1" | "on" => Some(true),
        "0" | "of" | "off" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

async fn grouped<T>(
    conn: &mut PgConnection,
    sql: &str,
    schemas: &[String],
    what: &'static str,
    decode: impl Fn(&PgRow) -> Result<T>,
) -> Result<Grouped<T>> {
    let mut out: Grouped<T> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for_each_row(conn, sql, schemas, what, |row| {
        let schema: &str = row.try_get("schema").map_err(db_err(what))?;
        let rel: &str = row.try_get("rel").map_err(db_err(what))?;
        let item = decode(row)?;
        match (&current, out.last_mut()) {
            (Some((s, r)), Some((_, items))) if s == schema && r == rel => items.push(item),
            _ => {
                current = Some((schema.to_string(), rel.to_string()));
                out.push((relation_key(schema, rel), vec![item]));
            }
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

async fn read_relations(conn: &mut PgConnection, schemas: &[String]) -> Result<Vec<Relation>> {
    let e = db_err("relations");
    let mut out = Vec::new();
    for_each_row(conn, &relations_query(), schemas, "relations", |row| {
        let parent_schema: Option<String> = row.try_get("parent_schema").map_err(&e)?;
        let parent_name: Option<String> = row.try_get("parent_name").map_err(&e)?;
        let kind: String = row.try_get("kind").map_err(&e)?;
        out.push(Relation {
            kind: kind.chars().next().unwrap_or('r'),
            comment: row.try_get("comment").map_err(&e)?,
            definition: row.try_get("definition").map_err(&e)?,
            partition_key: row.try_get("partition_key").map_err(&e)?,
            partition_of: parent_schema.zip(parent_name),
            parameters: storage_parameters(
                &row.try_get::<Option<Vec<String>>, _>("parameters")
                    .map_err(&e)?
                    .unwrap_or_default(),
            ),
            inherits: {
                let schemas: Vec<String> = row.try_get("inherits_schemas").map_err(&e)?;
                let names: Vec<String> = row.try_get("inherits_names").map_err(&e)?;
                schemas.into_iter().zip(names).collect()
            },
            partition_bound: row.try_get("partition_bound").map_err(&e)?,
            unlogged: row.try_get("unlogged").map_err(&e)?,
            unpopulated: row.try_get("unpopulated").map_err(&e)?,
            replica_identity: first_char(row.try_get("replica_identity").map_err(&e)?),
            replica_index: row.try_get("replica_index").map_err(&e)?,
            cluster_index: row.try_get("cluster_index").map_err(&e)?,
            view_options: row
                .try_get::<Option<Vec<String>>, _>("view_options")
                .map_err(&e)?
                .map(|o| view_options(&o))
                .unwrap_or_default(),
            schema: row.try_get("schema").map_err(&e)?,
            name: row.try_get("name").map_err(&e)?,
            ..Default::default()
        });
        Ok(())
    })
    .await?;
    Ok(out)
}

async fn read_columns(conn: &mut PgConnection, schemas: &[String]) -> Result<Grouped<Column>> {
    let e = db_err("columns");
    // `attcompression` exists from PostgreSQL 14 on (`''` when none is set); before, no
    // column has a compression of its own.
    let compression = match conn.server_version_num() {
        Some(v) if v >= 140_000 => "NULLIF(a.attcompression, '')::text",
        _ => "NULL::text",
    };
    let sql = COLUMNS.replace("{compression}", compression);
    grouped(conn, &sql, schemas, "columns", |row| {
        let generated: &str = row.try_get("generated").map_err(&e)?;
        let identity: &str = row.try_get("identity").map_err(&e)?;
        let expr: Option<String> = row.try_get("default_expr").map_err(&e)?;
        let generated_kind = generated.chars().next();
        let (default, generated) = if generated.is_empty() {
            (expr, None)
        } else {
            (None, expr)
        };
        let type_name: String = row.try_get("type_name").map_err(&e)?;
        let type_schema: Option<String> = row.try_get("type_schema").map_err(&e)?;
        Ok(Column {
            name: row.try_get("name").map_err(&e)?,
            qualified_type: qualified_type(&type_name, type_schema.as_deref()),
            // Filled once the types are read too (`resolve_domain_bases`).
            domain_base: None,
            type_name,
            nullable: row.try_get("nullable").map_err(&e)?,
            not_null_not_valid: row.try_get("not_null_not_valid").map_err(&e)?,
            default,
            collation: row.try_get("collation").map_err(&e)?,
            generated,
            generated_kind,
            identity: identity.chars().next(),
            storage: first_char(row.try_get("storage").map_err(&e)?),
            type_storage: first_char(row.try_get("type_storage").map_err(&e)?),
            compression: row
                .try_get::<Option<String>, _>("compression")
                .map_err(&e)?
                .and_then(|c| c.chars().next()),
            statistics: row.try_get("statistics").map_err(&e)?,
            options: attribute_options(&row.try_get::<Vec<String>, _>("options").map_err(&e)?),
            comment: row.try_get("comment").map_err(&e)?,
        })
    })
    .await
}

/// The one letter of a `"char"` column read as text (`attstorage`), `'\0'` for none.
fn first_char(text: String) -> char {
    text.chars().next().unwrap_or('\0')
}

/// `type_name` with `schema` in front when `format_type` left it out (the type is visible
/// on the read's search path) and the schema is not `pg_catalog`; `None` when the printed
/// name already says which type it is. (An array type lives in its element type's schema.)
fn qualified_type(type_name: &str, schema: Option<&str>) -> Option<String> {
    let schema = schema?;
    let quoted = crate::sql::quote_ident(schema);
    // `format_type` quotes a schema only where it must: `app.mood`, `"My App".mood`.
    let qualified = [schema, quoted.as_str()].iter().any(|s| {
        type_name
            .strip_prefix(s)
            .is_some_and(|rest| rest.starts_with('.'))
    });
    (!qualified).then(|| format!("{quoted}.{type_name}"))
}

async fn read_constraints(
    conn: &mut PgConnection,
    schemas: &[String],
) -> Result<Grouped<Constraint>> {
    let e = db_err("constraints");
    // `NOT ENFORCED` exists from PostgreSQL 18 on; before, every constraint is enforced.
    // (The column is named only where it exists: `to_jsonb` of the row would serialise
    // every CHECK's expression tree to find it.)
    let enforced = match conn.server_version_num() {
        Some(v) if v >= 180_000 => "k.conenforced",
        _ => "true",
    };
    // `ON DELETE SET NULL (…)` / `SET DEFAULT (…)` exist from PostgreSQL 15 on; before,
    // the action sets every column of the key.
    let delete_set = match conn.server_version_num() {
        Some(v) if v >= 150_000 => {
            "ARRAY(SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = u.n)
               FROM unnest(k.confdelsetcols) WITH ORDINALITY u(n, i) ORDER BY u.i)"
        }
        _ => "ARRAY[]::text[]",
    };
    let sql = CONSTRAINTS
        .replace("{enforced}", enforced)
        .replace("{delete_set}", delete_set)
        .replace(
            "{off_walk}",
            &off_walk("tgconstraint", "pg_constraint", "conparentid"),
        );
    grouped(conn, &sql, schemas, "constraints", |row| {
        let kind: &str = row.try_get("kind").map_err(&e)?;
        let on_delete: Option<&str> = row.try_get("on_delete").map_err(&e)?;
        let on_update: Option<&str> = row.try_get("on_update").map_err(&e)?;
        let expression: Option<String> = row.try_get("expression").map_err(&e)?;
        let definition: Option<String> = row.try_get("definition").map_err(&e)?;
        // The query leaves out what pg_get_constraintdef would print from the expression
        // alone: a validated CHECK that children inherit.
        let definition = definition
            .unwrap_or_else(|| check_definition(expression.as_deref().unwrap_or_default()));
        Ok(Constraint {
            name: row.try_get("name").map_err(&e)?,
            kind: match kind {
                "p" => ConstraintKind::PrimaryKey,
                "u" => ConstraintKind::Unique,
                "f" => ConstraintKind::ForeignKey,
                "c" => ConstraintKind::Check,
                "x" => ConstraintKind::Exclusion,
                _ => ConstraintKind::Other,
            },
            columns: row.try_get("columns").map_err(&e)?,
            definition,
            expression,
            ref_schema: row.try_get("ref_schema").map_err(&e)?,
            ref_table: row.try_get("ref_table").map_err(&e)?,
            ref_columns: row.try_get("ref_columns").map_err(&e)?,
            match_full: row.try_get("match_full").map_err(&e)?,
            on_delete: on_delete.and_then(|s| s.chars().next()),
            on_update: on_update.and_then(|s| s.chars().next()),
            index_name: row.try_get("index_name").map_err(&e)?,
            deferrable: row.try_get("deferrable").map_err(&e)?,
            initially_deferred: row.try_get("initially_deferred").map_err(&e)?,
            validated: row.try_get("validated").map_err(&e)?,
            enforced: row.try_get("enforced").map_err(&e)?,
            inherited: row.try_get("inherited").map_err(&e)?,
            comment: row.try_get("comment").map_err(&e)?,
            off_triggers: off_triggers(row).map_err(&e)?,
            on_delete_columns: row.try_get("on_delete_columns").map_err(&e)?,
            no_inherit: row.try_get("no_inherit").map_err(&e)?,
        })
    })
    .await
}

/// The `off_relations`, `off_names` and `off_states` columns of a row, together.
fn off_triggers(row: &PgRow) -> std::result::Result<Vec<OffTrigger>, sqlx::Error> {
    let relations: Option<Vec<String>> = row.try_get("off_relations")?;
    let names: Option<Vec<String>> = row.try_get("off_names")?;
    let states: Option<Vec<String>> = row.try_get("off_states")?;
    Ok(relations
        .unwrap_or_default()
        .into_iter()
        .zip(names.unwrap_or_default())
        .zip(states.unwrap_or_default())
        .map(|((relation, name), state)| OffTrigger {
            relation,
            name,
            enabled: state.chars().next().unwrap_or('D'),
        })
        .collect())
}

async fn read_indexes(conn: &mut PgConnection, schemas: &[String]) -> Result<Grouped<Index>> {
    let e = db_err("indexes");
    // `NULLS NOT DISTINCT` exists from PostgreSQL 15 on; before, NULLs are always distinct.
    let nulls_not_distinct = match conn.server_version_num() {
        Some(v) if v >= 150_000 => "x.indnullsnotdistinct",
        _ => "false",
    };
    let sql = INDEXES.replace("{nulls_not_distinct}", nulls_not_distinct);
    grouped(conn, &sql, schemas, "indexes", |row| {
        let keys: Vec<String> = row.try_get("keys").map_err(&e)?;
        let definition: String = row.try_get("definition").map_err(&e)?;
        let (collations, opclasses) = key_decorations(&definition, keys.len());
        Ok(Index {
            name: row.try_get("name").map_err(&e)?,
            unique: row.try_get("is_unique").map_err(&e)?,
            method: row.try_get("method").map_err(&e)?,
            keys,
            desc: row.try_get("descs").map_err(&e)?,
            nulls_first: row.try_get("nulls_firsts").map_err(&e)?,
            collations,
            opclasses,
            include: row.try_get("include").map_err(&e)?,
            predicate: row.try_get("predicate").map_err(&e)?,
            definition,
            constraint: row.try_get("constraint_name").map_err(&e)?,
            valid: row.try_get("valid").map_err(&e)?,
            ready: row.try_get("ready").map_err(&e)?,
            live: row.try_get("live").map_err(&e)?,
            nulls_not_distinct: row.try_get("nulls_not_distinct").map_err(&e)?,
            inherited: row.try_get("inherited").map_err(&e)?,
            statistics: {
                let keys: Vec<i32> = row.try_get("statistics_keys").map_err(&e)?;
                let targets: Vec<i32> = row.try_get("statistics_targets").map_err(&e)?;
                keys.into_iter().zip(targets).collect()
            },
            comment: row.try_get("comment").map_err(&e)?,
            parameters: storage_parameters(
                &row.try_get::<Vec<String>, _>("parameters").map_err(&e)?,
            ),
        })
    })
    .await
}

async fn read_triggers(conn: &mut PgConnection, schemas: &[String]) -> Result<Grouped<Trigger>> {
    let e = db_err("triggers");
    let sql = TRIGGERS.replace(
        "{off_walk}",
        &off_walk("tgparentid", "pg_trigger", "tgparentid"),
    );
    grouped(conn, &sql, schemas, "triggers", |row| {
        let tgtype: i32 = row.try_get("tgtype").map_err(&e)?;
        let definition: String = row.try_get("definition").map_err(&e)?;
        let enabled: &str = row.try_get("enabled").map_err(&e)?;
        let nargs: i32 = row.try_get("nargs").map_err(&e)?;
        let args: &[u8] = row.try_get("args").map_err(&e)?;
        let table_schema: &str = row.try_get("schema").map_err(&e)?;
        let function_schema: &str = row.try_get("function_schema").map_err(&e)?;
        let function: String = row.try_get("function").map_err(&e)?;
        // Named as a spec in the table's schema writes it: bare when the function lives
        // there or in pg_catalog. A bare name finds pg_catalog's function first, so one of
        // the same name elsewhere, even in the table's schema, is always written with its
        // schema: `suppress_redundant_updates_trigger` is the built-in one, never a
        // namesake in `public`.
        let catalog_namesake: bool = row.try_get("catalog_namesake").map_err(&e)?;
        let function = if function_schema == "pg_catalog" {
            function
        } else if catalog_namesake {
            qualified_name(function_schema, &function, "")
        } else {
            qualified_name(function_schema, &function, table_schema)
        };
        Ok(Trigger {
            name: row.try_get("name").map_err(&e)?,
            timing: trigger_timing(tgtype).into(),
            events: trigger_events(tgtype),
            level: if tgtype & 1 != 0 { "row" } else { "statement" }.into(),
            function,
            when: trigger_when(&definition),
            columns: row.try_get("columns").map_err(&e)?,
            enabled: enabled.chars().next().unwrap_or('O'),
            definition,
            arguments: trigger_arguments(args, nargs),
            function_schema: function_schema.to_string(),
            old_table: row.try_get("old_table").map_err(&e)?,
            new_table: row.try_get("new_table").map_err(&e)?,
            constraint: if row.try_get::<bool, _>("is_constraint").map_err(&e)? {
                Some((
                    row.try_get("deferrable").map_err(&e)?,
                    row.try_get("initially_deferred").map_err(&e)?,
                ))
            } else {
                None
            },
            inherited: row.try_get("inherited").map_err(&e)?,
            comment: row.try_get("comment").map_err(&e)?,
            off_copies: off_triggers(row).map_err(&e)?,
        })
    })
    .await
}

/// The functions of the checked schemas, and the server version.
struct Functions {
    functions: Vec<Function>,
    server_version: String,
}

async fn read_functions(conn: &mut PgConnection, schemas: &[String]) -> Result<Functions> {
    let e = db_err("functions");
    let mut out = Functions {
        functions: Vec::new(),
        server_version: String::new(),
    };
    for_each_row(conn, &functions_query(), schemas, "functions", |row| {
        let name: Option<String> = row.try_get("name").map_err(&e)?;
        let Some(name) = name else {
            // The trailing row carries the server version, saving a round trip.
            out.server_version = row.try_get("server_version").map_err(&e)?;
            return Ok(());
        };
        let volatility: String = row.try_get("volatility").map_err(&e)?;
        let kind: String = row.try_get("kind").map_err(&e)?;
        let parallel: String = row.try_get("parallel").map_err(&e)?;
        let sfunc: Option<String> = row.try_get("agg_sfunc").map_err(&e)?;
        let aggregate = match sfunc {
            Some(state_function) => Some(AggregateDef {
                state_function,
                state_type: row.try_get("agg_stype").map_err(&e)?,
                final_function: row.try_get("agg_finalfunc").map_err(&e)?,
                initial_state: row.try_get("agg_initval").map_err(&e)?,
                options: row
                    .try_get::<Option<Vec<String>>, _>("agg_options")
                    .map_err(&e)?
                    .unwrap_or_default(),
            }),
            None => None,
        };
        out.functions.push(Function {
            schema: row.try_get("schema").map_err(&e)?,
            name,
            kind: kind.chars().next().unwrap_or('f'),
            arg_types: row.try_get("arg_types").map_err(&e)?,
            arguments: row.try_get("arguments").map_err(&e)?,
            returns: row.try_get("returns").map_err(&e)?,
            language: row.try_get("language").map_err(&e)?,
            volatility: match volatility.as_str() {
                "i" => "immutable",
                "s" => "stable",
                _ => "volatile",
            }
            .into(),
            strict: row.try_get("strict").map_err(&e)?,
            security_definer: row.try_get("security_definer").map_err(&e)?,
            source: row
                .try_get::<Option<String>, _>("source")
                .map_err(&e)?
                .unwrap_or_default(),
            config: row.try_get("config").map_err(&e)?,
            config_values: row
                .try_get::<Option<Vec<String>>, _>("config_values")
                .map_err(&e)?
                .unwrap_or_default(),
            leakproof: row.try_get("leakproof").map_err(&e)?,
            parallel: parallel.chars().next().unwrap_or('u'),
            cost: row.try_get("cost").map_err(&e)?,
            rows: row.try_get("rows").map_err(&e)?,
            aggregate,
            comment: row.try_get("comment").map_err(&e)?,
        });
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Append each group to the list `field` picks of its relation.
fn attach<T>(out: &mut Schema, groups: Grouped<T>, field: impl Fn(&mut Relation) -> &mut Vec<T>) {
    for (key, items) in groups {
        if let Some(r) = out.relations.get_mut(&key) {
            field(r).extend(items);
        }
    }
}

/// `pg_get_constraintdef(oid, false)` of a validated CHECK without `NO INHERIT`, from
/// `pg_get_expr(conbin, conrelid)`: PostgreSQL prints both with the same deparser and
/// flags, and the definition is the expression in `CHECK (…)`. The catalog query asks
/// the server only for the other constraints' definitions, so each CHECK is deparsed once.
pub fn check_definition(expression: &str) -> String {
    format!("CHECK ({expression})")
}

/// The arguments of a trigger function call, from `tgargs` (each ends with a NUL byte).
fn trigger_arguments(raw: &[u8], n: i32) -> Vec<String> {
    raw.split(|b| *b == 0)
        .take(n.max(0) as usize)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
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
    fn attribute_options_read_as_the_numbers_they_are() {
        let read =
            |o: &[&str]| attribute_options(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            read(&["n_distinct_inherited=0.50", "n_distinct=-1.0"]),
            ["n_distinct=-1", "n_distinct_inherited=0.5"]
        );
        assert_eq!(read(&["n_distinct=-1e0"]), read(&["n_distinct= -1"]));
        assert_eq!(read(&["n_distinct=-0"]), ["n_distinct=0"]);
        assert_ne!(read(&["n_distinct=-1"]), read(&["n_distinct=-0.5"]));
        // Not a finite number: kept as written.
        assert_eq!(read(&["n_distinct=NaN"]), ["n_distinct=NaN"]);
    }

    #[test]
    fn storage_parameters_read_numbers_as_the_numbers_they_are() {
        let read =
            |o: &[&str]| storage_parameters(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            read(&["autovacuum_vacuum_scale_factor=0.10", "fillfactor=+70"]),
            ["autovacuum_vacuum_scale_factor=0.1", "fillfactor=70"]
        );
        assert_eq!(read(&["x=.1"]), read(&["x=1e-1"]));
        assert_eq!(read(&["x=-0"]), ["x=0"]);
        assert_ne!(read(&["x=0.1"]), read(&["x=0.2"]));
        // An integer parameter reads `070` as octal and `0x46` as hex: left as written.
        for kept in [
            "fillfactor=070",
            "fillfactor=0x46",
            "x=auto",
            "x= 70",
            "x=1e999",
        ] {
            assert_eq!(read(&[kept]), [kept]);
        }
    }

    #[test]
    fn view_options_read_in_every_spelling_postgresql_keeps() {
        let read = |o: &[&str]| view_options(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            read(&[
                "security_invoker=TR",
                "security_barrier=on",
                "check_option=LOCAL"
            ]),
            [
                "check_option=local",
                "security_barrier=true",
                "security_invoker=true"
            ]
        );
        assert_eq!(
            read(&["security_barrier=of", "security_invoker=0"]),
            Vec::<String>::new()
        );
        assert_eq!(read(&["security_barrier"]), ["security_barrier=true"]);
        // Not a boolean PostgreSQL would take: kept as written, so it differs.
        assert_eq!(read(&["security_barrier=o"]), ["security_barrier=o"]);
    }

    #[test]
    fn a_domain_stands_for_its_base_type_through_domains_of_domains() {
        let domains: std::collections::HashMap<(&str, &str), &str> = [
            (("public", "money_base"), "numeric(12,2)"),
            (("public", "amount"), "money_base"),
            (("app", "ident"), "bigint"),
            // A damaged catalog: a domain that is its own base ends the walk.
            (("public", "loop"), "loop"),
        ]
        .into_iter()
        .collect();
        let base = |t: &str| domain_base(t, &domains);
        assert_eq!(base("amount").as_deref(), Some("numeric(12,2)"));
        assert_eq!(base("money_base").as_deref(), Some("numeric(12,2)"));
        assert_eq!(base("app.ident").as_deref(), Some("bigint"));
        // `ident` bare is `public`'s, which has none.
        assert_eq!(base("ident"), None);
        assert_eq!(base("numeric(12,2)"), None);
        assert_eq!(base("loop").as_deref(), Some("loop"));
    }

    #[test]
    fn a_type_printed_without_its_schema_is_qualified() {
        let q = |t: &str, s: Option<&str>| qualified_type(t, s);
        assert_eq!(
            q("mood", Some("public")).as_deref(),
            Some("\"public\".mood")
        );
        assert_eq!(
            q("mood[]", Some("public")).as_deref(),
            Some("\"public\".mood[]")
        );
        assert_eq!(
            q("\"Mood\"", Some("public")).as_deref(),
            Some("\"public\".\"Mood\"")
        );
        // Already qualified by `format_type`, with or without quotes.
        assert_eq!(q("app.mood", Some("app")), None);
        assert_eq!(q("\"My App\".mood", Some("My App")), None);
        assert_eq!(q("public.int4", Some("public")), None);
        // A name that only starts like its schema is not qualified by it.
        assert_eq!(
            q("publicity", Some("public")).as_deref(),
            Some("\"public\".publicity")
        );
        // `pg_catalog`'s types are read without a schema.
        assert_eq!(q("integer", None), None);
    }

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

    #[test]
    fn trigger_arguments_split_at_nul_bytes() {
        assert_eq!(
            trigger_arguments(b"fulltext\0pg_catalog.english\0\0", 3),
            vec!["fulltext", "pg_catalog.english", ""]
        );
        assert!(trigger_arguments(b"", 0).is_empty());
    }
}
