//! The schema-level catalog queries: types, sequences, extensions, and one query that
//! reads the schemas' comments together with every object of a kind the spec format has
//! no words for, so that such an object is reported instead of passing unseen.

use sqlx::{PgConnection, Row};

use super::db_err;
use super::model::*;
use crate::error::Result;

fn not_member(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

fn types_query() -> String {
    format!(
        "
SELECT n.nspname::text AS schema, t.typname::text AS name, t.typtype::text AS kind,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       NOT t.typnotnull AS nullable,
       -- contype and convalidated are on every major; a domain's NOT NULL has a row of its
       -- own from PostgreSQL 17 on (none before, so NULL there).
       (SELECT min(k.conname::text) FROM pg_constraint k
         WHERE k.contypid = t.oid AND k.contype = 'n' AND NOT k.convalidated) AS not_null_not_valid,
       pg_get_expr(t.typdefaultbin, 0) AS default_expr,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> b.typcollation
            THEN t.typcollation::regcollation::text END AS collation,
       ARRAY(SELECT k.conname::text FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS check_names,
       ARRAY(SELECT pg_get_expr(k.conbin, 0) FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS check_exprs,
       ARRAY(SELECT k.convalidated FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS check_validated,
       ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS attr_names,
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS attr_types,
       obj_description(t.oid, 'pg_type') AS comment
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_type b ON b.oid = t.typbasetype
  LEFT JOIN pg_class r ON r.oid = t.typrelid
 WHERE n.nspname = ANY($1)
   AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND r.relkind = 'c'))
   AND {}
 ORDER BY 1, 2",
        not_member("pg_type", "t.oid")
    )
}

fn sequences_query() -> String {
    format!(
        "
SELECT n.nspname::text AS schema, c.relname::text AS name, format_type(s.seqtypid, NULL) AS type_name,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
       s.seqcycle AS cycle, s.seqcache AS cache, c.relpersistence = 'u' AS unlogged,
       tn.nspname::text AS owner_schema, tc.relname::text AS owner_table, a.attname::text AS owner_column,
       d.deptype::text AS owner_kind,
       obj_description(c.oid, 'pg_class') AS comment
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
       AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_class tc ON tc.oid = d.refobjid
  LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE n.nspname = ANY($1) AND {}
 ORDER BY 1, 2",
        not_member("pg_class", "c.oid")
    )
}

/// Every extension, with its members (`pg_depend` rows of `deptype = 'e'`), each named by
/// `pg_describe_object` and, for the kinds that carry them, with what decides who may use
/// it and with whose rights it runs: [`member_security`].
fn extensions_query() -> String {
    format!(
        "
SELECT x.extname::text AS name, x.extversion::text AS version, n.nspname::text AS schema,
       obj_description(x.oid, 'pg_extension') AS comment,
       coalesce(m.objects, '{{}}') AS member_objects, coalesce(m.security, '{{}}') AS member_security
  FROM pg_extension x
  JOIN pg_namespace n ON n.oid = x.extnamespace
  LEFT JOIN LATERAL (
       SELECT array_agg(o.object ORDER BY o.object) AS objects,
              array_agg(coalesce(o.security, '') ORDER BY o.object) AS security
         FROM (SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object, {} AS security
                 FROM pg_depend d
                WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = x.oid
                  AND d.deptype = 'e') o) m ON true
 ORDER BY 1",
        member_security()
    )
}

/// SQL, over `d` (the member's `pg_depend` row) and `x` (its extension), for what a member
/// of a kind with an owner and privileges has: the owner, the privileges granted (the
/// default ones when the ACL is NULL), and for a routine SECURITY DEFINER and its `SET`
/// options, for a relation its column privileges and row-level security. The owner, and
/// a grantee that is the owner, are written `as installed` when the role is the
/// extension's owner or the bootstrap superuser (OID 10), who owns what a trusted
/// extension creates, so that the text does not depend on who ran `CREATE EXTENSION`;
/// other roles are named. NULL for other kinds.
fn member_security() -> String {
    let role = |r: &str| {
        format!(
            "CASE WHEN {r} = 0 THEN 'PUBLIC' WHEN {r} IN (x.extowner, 10) THEN 'as installed' \
             ELSE pg_get_userbyid({r})::text END"
        )
    };
    let acl = |acl: &str, kind: &str, owner: &str| {
        format!(
            "(SELECT coalesce(string_agg(g.t, ', ' ORDER BY g.t), 'none')
                FROM (SELECT {} || ' ' || lower(a.privilege_type)
                             || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END AS t
                        FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) a) g)",
            role("a.grantee")
        )
    };
    let owner = |o: &str| format!("'owner ' || {}", role(o));
    let rel_acl = format!(
        "CASE WHEN c.relkind = 'S' THEN {} ELSE {} END",
        acl("c.relacl", "s", "c.relowner"),
        acl("c.relacl", "r", "c.relowner")
    );
    format!(
        "CASE d.classid
           WHEN 'pg_proc'::regclass THEN (SELECT concat_ws('; ', {proc_owner},
                    CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END,
                    'SET ' || coalesce(array_to_string(p.proconfig, ', '), 'nothing'),
                    'privileges ' || {proc_acl})
                FROM pg_proc p WHERE p.oid = d.objid)
           WHEN 'pg_class'::regclass THEN (SELECT concat_ws('; ', {rel_owner},
                    'privileges ' || {rel_acl},
                    'column privileges ' || coalesce((SELECT string_agg(a.attname || ': ' || {col_acl}, ', ' ORDER BY a.attname)
                         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL AND NOT a.attisdropped), 'none'),
                    'row security ' || CASE WHEN c.relforcerowsecurity THEN 'forced'
                                            WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END)
                FROM pg_class c WHERE c.oid = d.objid)
           WHEN 'pg_type'::regclass THEN (SELECT concat_ws('; ', {type_owner}, 'privileges ' || {type_acl})
                FROM pg_type t WHERE t.oid = d.objid)
           WHEN 'pg_namespace'::regclass THEN (SELECT concat_ws('; ', {ns_owner}, 'privileges ' || {ns_acl})
                FROM pg_namespace s WHERE s.oid = d.objid)
           WHEN 'pg_language'::regclass THEN (SELECT concat_ws('; ', {lan_owner}, 'privileges ' || {lan_acl})
                FROM pg_language l WHERE l.oid = d.objid)
         END",
        proc_owner = owner("p.proowner"),
        proc_acl = acl("p.proacl", "f", "p.proowner"),
        rel_owner = owner("c.relowner"),
        rel_acl = rel_acl,
        col_acl = acl("a.attacl", "c", "c.relowner"),
        type_owner = owner("t.typowner"),
        type_acl = acl("t.typacl", "T", "t.typowner"),
        ns_owner = owner("s.nspowner"),
        ns_acl = acl("s.nspacl", "n", "s.nspowner"),
        lan_owner = owner("l.lanowner"),
        lan_acl = acl("l.lanacl", "l", "l.lanowner"),
    )
}

/// The schemas' comments (`kind` = `schema`), then every object of a kind that specs
/// cannot describe, each named by `pg_describe_object`.
fn other_objects_query() -> String {
    // Every object of these kinds is listed by catalog, OID and schema; only the checked
    // schemas' are kept (`pg_describe_object` of every collation, operator and type in
    // `pg_catalog`, about 2,200 on a fresh cluster, was most of the whole catalog read's
    // time on a small schema), then those an extension made are left out (rules never
    // were), then the rest are described. One filter by schema and one look-up in
    // `pg_depend` for all fourteen kinds, not one of each per kind: planning those was
    // about 2 ms of this statement's 12 in a new session (by `psql`, 2026-12-07, on 10
    // tables, REIMS and 1,000 tables alike). `OFFSET 0` keeps the look-up after the filter:
    // without it, each kind scanned the whole of `pg_depend`.
    let by_namespace = |catalog: &str, ns: &str| {
        format!("SELECT '{catalog}'::regclass, x.oid, x.{ns} FROM {catalog} x")
    };
    let parts = [
        by_namespace("pg_collation", "collnamespace"),
        by_namespace("pg_conversion", "connamespace"),
        by_namespace("pg_operator", "oprnamespace"),
        by_namespace("pg_opclass", "opcnamespace"),
        by_namespace("pg_opfamily", "opfnamespace"),
        by_namespace("pg_ts_config", "cfgnamespace"),
        by_namespace("pg_ts_dict", "dictnamespace"),
        by_namespace("pg_ts_parser", "prsnamespace"),
        by_namespace("pg_ts_template", "tmplnamespace"),
        by_namespace("pg_statistic_ext", "stxnamespace"),
        "SELECT 'pg_class'::regclass, c.oid, c.relnamespace FROM pg_class c WHERE c.relkind = 'f'"
            .to_string(),
        "SELECT 'pg_type'::regclass, t.oid, t.typnamespace FROM pg_type t
          WHERE t.typtype IN ('b', 'r', 'p') AND t.typelem = 0"
            .to_string(),
        "SELECT 'pg_proc'::regclass, p.oid, p.pronamespace FROM pg_proc p WHERE p.prokind = 'w'"
            .to_string(),
        "SELECT 'pg_rewrite'::regclass, r.oid, c.relnamespace
           FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.rulename <> '_RETURN'"
            .to_string(),
    ];
    let objects = format!(
        "SELECT o.ns, pg_describe_object(o.classid, o.objid, 0)
           FROM (SELECT * FROM ({}) a (classid, objid, ns)
                  WHERE a.ns IN (SELECT oid FROM pg_namespace WHERE nspname = ANY($1))
                 OFFSET 0) o
          WHERE o.classid = 'pg_rewrite'::regclass
             OR NOT EXISTS (SELECT 1 FROM pg_depend e
                             WHERE e.classid = o.classid AND e.objid = o.objid AND e.deptype = 'e')",
        parts.join("\n UNION ALL ")
    );
    format!(
        "
SELECT 'schema' AS kind, n.nspname::text AS schema, obj_description(n.oid, 'pg_namespace') AS text,
       NULL::text AS detail, NULL::int8[] AS counts, NULL::text[] AS extensions, NULL::text[] AS grants
  FROM pg_namespace n WHERE n.nspname = ANY($1)
 UNION ALL
SELECT 'object', n.nspname::text, o.description, NULL, NULL, NULL, NULL
  FROM ({}) o (ns, description)
  JOIN pg_namespace n ON n.oid = o.ns
 UNION ALL
SELECT 'database', '', d.description, d.detail, NULL, NULL, NULL
  FROM ({}) d (description, detail)
 UNION ALL
{}
 ORDER BY 1 DESC, 2, 3",
        objects,
        database_objects_query(),
        unread_schemas_query(),
    )
}

/// The schemas of the database that `$1` does not name, but PostgreSQL's own (`pg_catalog`,
/// `information_schema`, and the `pg_`-prefixed `pg_toast` and temporary schemas, a prefix
/// no other schema may take) and those an extension made: each with its owner (`text`),
/// what it holds, counted (`counts`: relations, of them those PUBLIC holds a privilege
/// on, functions, of them the SECURITY DEFINER ones, types; extension members left out),
/// the extensions installed in it, and the privileges on it of every role but its owner.
/// Only `pg_catalog` is read, which every role may read.
fn unread_schemas_query() -> String {
    format!(
        "SELECT 'unread', n.nspname::text, pg_get_userbyid(n.nspowner)::text, NULL,
       ARRAY[(SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {rel}),
             (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {rel}
                 AND EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault(
                                 CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a
                              WHERE a.grantee = 0)),
             (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND {proc}),
             (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid AND {proc} AND p.prosecdef),
             (SELECT count(*) FROM pg_type t LEFT JOIN pg_class r ON r.oid = t.typrelid
               WHERE t.typnamespace = n.oid AND {typ}
                 AND (t.typtype IN ('e', 'd', 'r', 'b') OR (t.typtype = 'c' AND r.relkind = 'c'))
                 AND NOT (t.typtype = 'b' AND t.typcategory = 'A'))],
       ARRAY(SELECT x.extname::text FROM pg_extension x WHERE x.extnamespace = n.oid ORDER BY 1),
       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END
                    || ' ' || lower(a.privilege_type)
                    || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END
               FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
              WHERE a.grantee <> n.nspowner ORDER BY 1)
  FROM pg_namespace n
 WHERE NOT n.nspname = ANY($1) AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
   AND {ns}",
        rel = not_member("pg_class", "c.oid"),
        proc = not_member("pg_proc", "p.oid"),
        typ = not_member("pg_type", "t.oid"),
        ns = not_member("pg_namespace", "n.oid"),
    )
}

/// The objects of the database that belong to no schema and that neither PostgreSQL nor
/// an extension made: event triggers (a function run on every DDL statement of every
/// role), publications and subscriptions (rows sent to or taken from another server),
/// casts (which change how every expression of their types resolves), foreign-data
/// wrappers, servers and user mappings, transforms and access methods; each described by
/// `pg_describe_object` and with what it does. A user mapping's options (a password) and a
/// subscription's connection string are never read. The catalogs are readable by every
/// role; `pg_subscription` only in the columns read here.
fn database_objects_query() -> String {
    let describe =
        |catalog: &str, oid: &str| format!("pg_describe_object('{catalog}'::regclass, {oid}, 0)");
    let parts = [
        format!(
            "SELECT {}, 'ON ' || x.evtevent || ' EXECUTE FUNCTION ' || x.evtfoid::regprocedure::text
                    || CASE x.evtenabled WHEN 'D' THEN ', disabled' WHEN 'R' THEN ', ENABLE REPLICA'
                                         WHEN 'A' THEN ', ENABLE ALWAYS' ELSE '' END
                    || coalesce(' WHEN TAG IN (' || array_to_string(x.evttags, ', ') || ')', '')
               FROM pg_event_trigger x WHERE {}",
            describe("pg_event_trigger", "x.oid"),
            not_member("pg_event_trigger", "x.oid")
        ),
        format!(
            "SELECT {}, CASE WHEN x.puballtables THEN 'FOR ALL TABLES'
                             ELSE 'FOR ' || (SELECT count(*) FROM pg_publication_tables t
                                              WHERE t.pubname = x.pubname) || ' table(s)' END
                    || ', publishing ' || concat_ws(', ', CASE WHEN x.pubinsert THEN 'insert' END,
                         CASE WHEN x.pubupdate THEN 'update' END, CASE WHEN x.pubdelete THEN 'delete' END,
                         CASE WHEN x.pubtruncate THEN 'truncate' END)
               FROM pg_publication x WHERE {}",
            describe("pg_publication", "x.oid"),
            not_member("pg_publication", "x.oid")
        ),
        format!(
            "SELECT {}, 'of publication(s) ' || array_to_string(x.subpublications, ', ')
                    || CASE WHEN x.subenabled THEN '' ELSE ', disabled' END
               FROM pg_subscription x
              WHERE x.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            describe("pg_subscription", "x.oid")
        ),
        format!(
            "SELECT {}, CASE x.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || x.castfunc::regprocedure::text
                                          WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END
                    || CASE x.castcontext WHEN 'i' THEN ' AS IMPLICIT' WHEN 'a' THEN ' AS ASSIGNMENT' ELSE '' END
               FROM pg_cast x WHERE x.oid >= 16384 AND {}",
            describe("pg_cast", "x.oid"),
            not_member("pg_cast", "x.oid")
        ),
        format!(
            "SELECT {}, 'handler ' || coalesce(x.fdwhandler::regproc::text, 'none')
               FROM pg_foreign_data_wrapper x WHERE {}",
            describe("pg_foreign_data_wrapper", "x.oid"),
            not_member("pg_foreign_data_wrapper", "x.oid")
        ),
        format!(
            "SELECT {}, 'of foreign-data wrapper ' || w.fdwname
               FROM pg_foreign_server x JOIN pg_foreign_data_wrapper w ON w.oid = x.srvfdw WHERE {}",
            describe("pg_foreign_server", "x.oid"),
            not_member("pg_foreign_server", "x.oid")
        ),
        format!(
            "SELECT {}, 'options not read' FROM pg_user_mappings x",
            describe("pg_user_mapping", "x.umid")
        ),
        format!(
            "SELECT {}, 'FROM SQL ' || coalesce(x.trffromsql::regprocedure::text, 'none')
                    || ', TO SQL ' || coalesce(x.trftosql::regprocedure::text, 'none')
               FROM pg_transform x WHERE {}",
            describe("pg_transform", "x.oid"),
            not_member("pg_transform", "x.oid")
        ),
        format!(
            "SELECT {}, 'handler ' || x.amhandler::regproc::text
               FROM pg_am x WHERE x.oid >= 16384 AND {}",
            describe("pg_am", "x.oid"),
            not_member("pg_am", "x.oid")
        ),
    ];
    parts.join("\n UNION ALL ")
}

/// The schema-level objects (types, sequences, extensions, schema comments and other
/// objects) of `schemas`, in a schema of their own that the catalog read completes.
pub(super) async fn read_objects(conn: &mut PgConnection, schemas: &[String]) -> Result<Schema> {
    let mut out = Schema::default();
    for row in sqlx::query(&types_query())
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("types"))?
    {
        let e = db_err("types");
        let kind: String = row.try_get("kind").map_err(&e)?;
        let names: Vec<String> = row.try_get("check_names").map_err(&e)?;
        let exprs: Vec<String> = row.try_get("check_exprs").map_err(&e)?;
        let validated: Vec<bool> = row.try_get("check_validated").map_err(&e)?;
        let attr_names: Vec<String> = row.try_get("attr_names").map_err(&e)?;
        let attr_types: Vec<String> = row.try_get("attr_types").map_err(&e)?;
        out.types.push(TypeDef {
            schema: row.try_get("schema").map_err(&e)?,
            name: row.try_get("name").map_err(&e)?,
            kind: kind.chars().next().unwrap_or('d'),
            labels: row.try_get("labels").map_err(&e)?,
            base_type: row.try_get("base_type").map_err(&e)?,
            nullable: row.try_get("nullable").map_err(&e)?,
            not_null_not_valid: row.try_get("not_null_not_valid").map_err(&e)?,
            default: row.try_get("default_expr").map_err(&e)?,
            collation: row.try_get("collation").map_err(&e)?,
            checks: names
                .into_iter()
                .zip(exprs)
                .zip(validated)
                .map(|((name, expression), validated)| DomainCheck {
                    name,
                    expression,
                    validated,
                })
                .collect(),
            attributes: attr_names.into_iter().zip(attr_types).collect(),
            comment: row.try_get("comment").map_err(&e)?,
        });
    }
    for row in sqlx::query(&sequences_query())
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("sequences"))?
    {
        let e = db_err("sequences");
        let owner_schema: Option<String> = row.try_get("owner_schema").map_err(&e)?;
        let owner_table: Option<String> = row.try_get("owner_table").map_err(&e)?;
        let owner_column: Option<String> = row.try_get("owner_column").map_err(&e)?;
        let owner_kind: Option<String> = row.try_get("owner_kind").map_err(&e)?;
        let owner = match (owner_schema, owner_table, owner_column) {
            (Some(s), Some(t), Some(c)) => Some(SequenceOwner {
                table: relation_key(&s, &t),
                column: c,
                identity: owner_kind.as_deref() == Some("i"),
            }),
            _ => None,
        };
        out.sequences.push(Sequence {
            schema: row.try_get("schema").map_err(&e)?,
            name: row.try_get("name").map_err(&e)?,
            type_name: row.try_get("type_name").map_err(&e)?,
            start: row.try_get("start").map_err(&e)?,
            increment: row.try_get("increment").map_err(&e)?,
            min: row.try_get("min").map_err(&e)?,
            max: row.try_get("max").map_err(&e)?,
            cycle: row.try_get("cycle").map_err(&e)?,
            cache: row.try_get("cache").map_err(&e)?,
            unlogged: row.try_get("unlogged").map_err(&e)?,
            owner,
            comment: row.try_get("comment").map_err(&e)?,
        });
    }
    for row in sqlx::query(&extensions_query())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("extensions"))?
    {
        let e = db_err("extensions");
        out.extensions.push(Extension {
            name: row.try_get("name").map_err(&e)?,
            version: row.try_get("version").map_err(&e)?,
            schema: row.try_get("schema").map_err(&e)?,
            comment: row.try_get("comment").map_err(&e)?,
            members: {
                let objects: Vec<String> = row.try_get("member_objects").map_err(&e)?;
                let security: Vec<String> = row.try_get("member_security").map_err(&e)?;
                objects
                    .into_iter()
                    .zip(security)
                    .map(|(object, security)| ExtensionMember { object, security })
                    .collect()
            },
        });
    }
    for row in sqlx::query(&other_objects_query())
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err("schemas and other objects"))?
    {
        let e = db_err("schemas and other objects");
        let kind: String = row.try_get("kind").map_err(&e)?;
        let schema: String = row.try_get("schema").map_err(&e)?;
        let text: Option<String> = row.try_get("text").map_err(&e)?;
        if kind == "schema" {
            out.namespaces.push(Namespace {
                name: schema,
                comment: text,
            });
        } else if kind == "unread" {
            let counts: Vec<i64> = row
                .try_get::<Option<Vec<i64>>, _>("counts")
                .map_err(&e)?
                .unwrap_or_default();
            let count = |i: usize| counts.get(i).copied().unwrap_or(0);
            out.unread_schemas.push(UnreadSchema {
                name: schema,
                owner: text.unwrap_or_default(),
                relations: count(0),
                public_relations: count(1),
                functions: count(2),
                definer_functions: count(3),
                types: count(4),
                extensions: row
                    .try_get::<Option<Vec<String>>, _>("extensions")
                    .map_err(&e)?
                    .unwrap_or_default(),
                grants: row
                    .try_get::<Option<Vec<String>>, _>("grants")
                    .map_err(&e)?
                    .unwrap_or_default(),
            });
        } else if kind == "database" {
            out.database_objects.push(DatabaseObject {
                description: text.unwrap_or_default(),
                detail: row
                    .try_get::<Option<String>, _>("detail")
                    .map_err(&e)?
                    .unwrap_or_default(),
            });
        } else {
            out.other_objects.push(OtherObject {
                schema,
                description: text.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
