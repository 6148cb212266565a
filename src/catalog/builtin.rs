//! The state of PostgreSQL's own objects (the functions, relations and columns of
//! `pg_catalog` and `information_schema`, those schemas themselves and `pg_toast`, and the
//! database's procedural languages) where it differs from what the server gives them: an owner other than the bootstrap superuser, SECURITY DEFINER or `SET`
//! options on a built-in function, or privileges other than the built-in default
//! (`REVOKE USAGE ON LANGUAGE sql FROM PUBLIC`). A superuser's migration can make any of
//! these (`GRANT SELECT ON pg_authid TO app`, `GRANT EXECUTE ON FUNCTION pg_read_file(text)
//! TO app`), and none of them is in a schema the specs describe.
//!
//! One more line counts those functions and relations and the languages, and digests
//! their names and the functions' OIDs and definitions, so that one a migration adds (a
//! language among them) (`CREATE FUNCTION pg_catalog.f()`, found before any function of
//! the same name in every schema of every search path), renames or drops differs too, and
//! so does a built-in function that `CREATE OR REPLACE` gave another body
//! (`pg_catalog.lower(text)` in SQL), which keeps its OID, owner and privileges.
//!
//! The catalog is per database, so the same query on another database of a fresh server
//! gives the reference: what a database has before any migration touched it. An
//! extension's members are left out (an extension may be installed into pg_catalog):
//! `extension.member_security` compares them with a fresh install.

use sqlx::{PgConnection, Row};

use crate::error::Result;

/// What one built-in object has beyond the server's defaults, as one line of text (so that
/// the two databases' answers compare as sets of lines).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct BuiltinState {
    /// `function pg_read_file(text)`, `table pg_authid`, `column pg_authid.rolpassword`,
    /// `language sql`.
    pub object: String,
    /// What it has: owner, SECURITY DEFINER, `SET` options and privileges, in words.
    pub state: String,
}

/// The grantee of an `aclexplode` entry: PUBLIC, the bootstrap superuser (named apart,
/// since its name is whatever initdb was given), or the role's name.
const BUILTIN: &str = r#"
WITH fns AS (
  -- A function's name and OID stand for it until it is listed: printing every one's
  -- signature (`regprocedure`, about 3,000 of them) was two thirds of the statement's
  -- time, and an OID names one signature for good (and is the same in every database of
  -- the server that the same template made).
  SELECT 'function ' || p.proname || ' ' || p.oid AS object, p.oid AS fn, p.proowner AS owner,
         p.prosecdef AS secdef, p.proconfig AS config,
         -- What `CREATE OR REPLACE` may change in place, the OID kept: language, body
         -- (or C symbol and library), volatility, strictness, leakproofness, parallel
         -- safety.
         concat_ws(' ', p.prolang, p.provolatile, p.proisstrict, p.proleakproof, p.proparallel,
                   p.prosrc, p.probin) AS definition,
         COALESCE(p.proacl, acldefault('f', p.proowner)) AS acl,
         acldefault('f', p.proowner) AS default_acl
    FROM pg_proc p
   WHERE p.pronamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = p.oid AND d.deptype = 'e')
), rels AS (
  SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'S' THEN 'sequence ' ELSE 'table ' END
           || CASE WHEN c.relnamespace = 'information_schema'::regnamespace
                   THEN 'information_schema.' ELSE '' END
           || c.relname AS object, NULL::oid AS fn, c.relowner AS owner, false AS secdef,
         NULL::text[] AS config,
         COALESCE(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
                                       c.relowner)) AS acl,
         acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
           AS default_acl
    FROM pg_class c
   WHERE c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
     AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'e')
), cols AS (
  SELECT 'column ' || CASE WHEN c.relnamespace = 'information_schema'::regnamespace
                           THEN 'information_schema.' ELSE '' END
           || c.relname || '.' || a.attname AS object, NULL::oid AS fn, 10::oid AS owner,
         false AS secdef, NULL::text[] AS config, a.attacl AS acl, NULL::aclitem[] AS default_acl
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
     AND a.attacl IS NOT NULL
     AND a.attnum > 0 AND NOT a.attisdropped
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'e')
), langs AS (
  SELECT 'language ' || l.lanname AS object, NULL::oid AS fn, l.lanowner AS owner, false AS secdef,
         NULL::text[] AS config, COALESCE(l.lanacl, acldefault('l', l.lanowner)) AS acl,
         acldefault('l', l.lanowner) AS default_acl
    FROM pg_language l
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_language'::regclass
                     AND d.objid = l.oid AND d.deptype = 'e')
), nsps AS (
  -- The catalog's own schemas: CREATE on pg_catalog lets a role put a function there,
  -- found before any other of its name whatever the search path.
  SELECT 'schema ' || n.nspname AS object, NULL::oid AS fn, n.nspowner AS owner, false AS secdef,
         NULL::text[] AS config, COALESCE(n.nspacl, acldefault('n', n.nspowner)) AS acl,
         acldefault('n', n.nspowner) AS default_acl
    FROM pg_namespace n
   WHERE n.nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
), objs AS (
  -- Most objects have no ACL of their own: compared as arrays first, only the others are
  -- exploded into grants.
  SELECT * FROM (SELECT object, fn, owner, secdef, config, acl, default_acl FROM fns
                 UNION ALL SELECT * FROM rels UNION ALL SELECT * FROM cols
                 UNION ALL SELECT * FROM langs UNION ALL SELECT * FROM nsps) o
   WHERE o.owner <> 10 OR o.secdef OR o.config IS NOT NULL OR o.acl IS DISTINCT FROM o.default_acl
), described AS (
  -- Each grant in words, of the ACL (`a`) and of the default one (`d`), each grantee named
  -- once here for both.
  SELECT o.object, o.fn, o.owner, o.secdef, o.config,
         coalesce(g.grants, '{}') AS grants, coalesce(g.default_grants, '{}') AS default_grants
    FROM objs o
   CROSS JOIN LATERAL (
     SELECT array_agg(x.grant_text ORDER BY x.grant_text) FILTER (WHERE x.side = 'a') AS grants,
            array_agg(x.grant_text ORDER BY x.grant_text) FILTER (WHERE x.side = 'd') AS default_grants
       FROM (SELECT e.side,
                    CASE e.grantee WHEN 0 THEN 'PUBLIC' WHEN 10 THEN '(bootstrap superuser)'
                      ELSE pg_get_userbyid(e.grantee)::text END
                    || ' ' || e.privilege_type
                    || CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS grant_text
               FROM (SELECT 'a' AS side, a.* FROM aclexplode(o.acl) a
                     UNION ALL
                     SELECT 'd', d.* FROM aclexplode(o.default_acl) d) e) x) g
)
SELECT 'functions, relations and languages' AS object,
       count(*) || ', digest of their names and the functions'' definitions '
         || left(md5(string_agg(f.object, ',' ORDER BY f.object)), 16) AS state
  FROM (SELECT object || ' ' || definition AS object FROM fns
        UNION ALL SELECT object FROM rels UNION ALL SELECT object FROM langs) f
UNION ALL
SELECT coalesce('function ' || fn::regprocedure::text, object),
       concat_ws('; ',
         CASE WHEN owner <> 10 THEN 'owned by ' || pg_get_userbyid(owner) END,
         CASE WHEN secdef THEN 'SECURITY DEFINER' END,
         CASE WHEN config IS NOT NULL THEN 'SET ' || array_to_string(config, ', ') END,
         CASE WHEN grants IS DISTINCT FROM default_grants
              THEN 'privileges ' || COALESCE(NULLIF(array_to_string(grants, ', '), ''), 'none') END
       ) AS state
  FROM described
 WHERE owner <> 10 OR secdef OR config IS NOT NULL OR grants IS DISTINCT FROM default_grants
 ORDER BY 1"#;

/// Every built-in object of the connected database whose state differs from the server's
/// default, in object order. One statement.
pub async fn read_builtin_state(conn: &mut PgConnection) -> Result<Vec<BuiltinState>> {
    let err = super::db_err("reading the state of pg_catalog's objects");
    let rows = sqlx::query(BUILTIN).fetch_all(conn).await.map_err(&err)?;
    rows.iter()
        .map(|row| {
            Ok(BuiltinState {
                object: row.try_get("object").map_err(&err)?,
                state: row.try_get("state").map_err(&err)?,
            })
        })
        .collect()
}

/// The name of the initdb cache note that holds a fresh database's state
/// ([`crate::postgres::EphemeralCluster::initdb_note`]). A fresh database is a copy of the
/// data directory initdb made, which the cache keeps byte for byte, and its state names no
/// role a migration can make or rename (owners and grantees there are the bootstrap
/// superuser, printed as such, PUBLIC and the predefined `pg_` roles, whose names are
/// reserved): so a server started from the same entry gives the same answer. The name
/// carries a digest of the query and of the settings its session is pinned to, so that a
/// build of reims-verify that asks otherwise reads a note of its own.
pub fn fresh_state_note() -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(BUILTIN.as_bytes());
    hash.update(format!("{:?}", super::PRINTING).as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("builtin-state-{hex}")
}

/// A state as a note's body (JSON).
pub fn note_body(state: &[BuiltinState]) -> String {
    serde_json::to_string(state).unwrap_or_default()
}

/// A note's body read back; `None` for one that does not parse.
pub fn from_note_body(body: &str) -> Option<Vec<BuiltinState>> {
    serde_json::from_str(body).ok()
}
