//! Access control as the catalog holds it: owners and ACLs of the schema, its relations,
//! columns, sequences and functions (a NULL ACL read as `acldefault`, so every object has
//! its real entries), enums, domains and composite types, the default privileges of the schemas and of the database, the
//! cluster's roles, row-level security and policies. Functions are
//! read as the functions read has them: functions, procedures and aggregates (the kinds a
//! spec can list; window functions are reported as objects no spec describes).
//!
//! Three queries, whatever the number of objects: [`ACL`], [`ROLES`] and [`POLICIES`]. All
//! of them read only what `pg_catalog` shows every role (`pg_class.relacl`,
//! `pg_attribute.attacl`, `pg_proc.proacl`, `pg_namespace.nspacl`, `pg_roles`,
//! `pg_policy`), so a read-only role sees the same facts as the owner.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use super::db_err;
use super::names::relation_key;
use crate::error::Result;

/// How many queries [`read_access`] issues.
pub const ACCESS_QUERIES: usize = 3;

/// Access-control facts of one schema.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Access {
    /// The checked schemas themselves, by name: owner and ACL.
    pub schemas: BTreeMap<String, Acl>,
    /// Relations and sequences by [`relation_key`] (the bare name in `public`,
    /// `schema.name` elsewhere): kind (`pg_class.relkind`), owner and ACL.
    pub relations: BTreeMap<String, Acl>,
    /// Column-level grants: relation key → column → entries. Only columns that have any.
    pub columns: BTreeMap<String, BTreeMap<String, Vec<AclEntry>>>,
    /// Enums, domains and composite types by [`relation_key`]: owner and ACL (`kind` is
    /// `T`).
    #[serde(default)]
    pub types: BTreeMap<String, Acl>,
    /// Functions, procedures and aggregates by [`function_key`].
    pub functions: BTreeMap<String, FunctionAcl>,
    /// Every role of the cluster, by name.
    pub roles: BTreeMap<String, RoleInfo>,
    /// Per ACL kind (`r` relation, `s` sequence, `f` function, `n` schema, `T` type), every privilege
    /// the server knows for it, as `aclexplode` names them (the owner's default set).
    pub all_privileges: BTreeMap<String, Vec<String>>,
    /// Schemas of the database (any, not only the checked one) in which PUBLIC may create
    /// objects.
    pub public_writable_schemas: Vec<String>,
    /// The bootstrap superuser (the role `initdb` created, OID 10), which owns `public`
    /// before PostgreSQL 15.
    pub bootstrap_superuser: Option<String>,
    /// The role the catalog was read as (`current_user`).
    pub session_role: Option<String>,
    /// Row-level security of the tables that enable or force it or have policies, by
    /// relation key.
    pub row_security: BTreeMap<String, TableSecurity>,
    /// Where sessions on this database start with `session_replication_role = replica`,
    /// in which ordinary triggers, foreign keys among them, do not fire.
    pub replica_sessions: Vec<ReplicaSessions>,
    /// `ALTER DEFAULT PRIVILEGES` of the checked schemas and of the whole database: grants
    /// that objects created later will get, which no object's ACL shows yet.
    #[serde(default)]
    pub default_acls: Vec<DefaultAcl>,
    /// The checked database itself: its name, owner and ACL (`CONNECT`, `CREATE`,
    /// `TEMPORARY`), which belong to no schema.
    #[serde(default)]
    pub database: Option<DatabaseAccess>,
    /// `ALTER DATABASE … SET` options of the checked database, for every role, as
    /// `pg_db_role_setting` stores them (`search_path=app, public`).
    #[serde(default)]
    pub database_settings: Vec<String>,
    /// The settings stored for one role that its sessions on this database start with
    /// (`ALTER ROLE r IN DATABASE … SET`, `ALTER ROLE r SET`), and those of every role in
    /// every database (`ALTER ROLE ALL SET`), as `pg_db_role_setting` stores them.
    #[serde(default)]
    pub role_settings: Vec<RoleSetting>,
}

/// One setting stored for a role's sessions (`pg_db_role_setting` with `setrole <> 0`, or
/// for every role in every database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSetting {
    /// The role; `None`: every role (`ALTER ROLE ALL SET`).
    pub role: Option<String>,
    /// Set for this database alone (`IN DATABASE`), else for every database.
    pub this_database: bool,
    /// `name=value`, as stored: `search_path=""`.
    pub setting: String,
}

impl RoleSetting {
    /// The option's name, as stored (lower case for PostgreSQL's own).
    pub fn option(&self) -> &str {
        self.setting
            .split_once('=')
            .map_or(self.setting.as_str(), |(o, _)| o)
    }

    /// The option's value, as stored.
    pub fn value(&self) -> &str {
        self.setting.split_once('=').map_or("", |(_, v)| v)
    }

    /// Whose sessions it starts: `role r`, or `every role`.
    pub fn whose(&self) -> String {
        match &self.role {
            Some(r) => format!("role {r}"),
            None => "every role".into(),
        }
    }

    /// The statement that made it, as a reader would recognise it.
    pub fn made_by(&self) -> String {
        let role = self.role.as_deref().map_or("ALL".to_string(), ident);
        let scope = if self.this_database {
            " IN DATABASE …"
        } else {
            ""
        };
        format!("ALTER ROLE {role}{scope} SET {}", self.option())
    }

    /// How to take it away.
    pub fn undo(&self) -> String {
        let role = self.role.as_deref().map_or("ALL".to_string(), ident);
        let scope = if self.this_database {
            " IN DATABASE …"
        } else {
            ""
        };
        format!("ALTER ROLE {role}{scope} RESET {}", self.option())
    }
}

/// The checked database's name, owner and privileges.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DatabaseAccess {
    /// `current_database()`.
    pub name: String,
    /// Owner and ACL (`kind` is `d`; `schema` is empty).
    pub acl: Acl,
}

/// One `pg_default_acl` row: what objects of one kind, created by one role (in one schema,
/// or anywhere), are granted when they are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultAcl {
    /// The creating role (`FOR ROLE`).
    pub role: String,
    /// The schema (`IN SCHEMA`); `None`: every schema, in place of PostgreSQL's default.
    pub schema: Option<String>,
    /// `defaclobjtype`: `r` tables, `S` sequences, `f` functions, `T` types, `n` schemas.
    pub kind: char,
    /// `aclexplode` of the stored ACL.
    pub entries: Vec<AclEntry>,
}

impl DefaultAcl {
    /// The kind of object, as `ALTER DEFAULT PRIVILEGES … ON` names it.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            'r' => "tables",
            'S' => "sequences",
            'f' => "functions",
            'T' => "types",
            'n' => "schemas",
            _ => "objects",
        }
    }

    /// The statement that made it, as a reader would recognise it.
    pub fn made_by(&self) -> String {
        let mut s = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {}", ident(&self.role));
        if let Some(schema) = &self.schema {
            s.push_str(&format!(" IN SCHEMA {}", ident(schema)));
        }
        s
    }
}

/// A name as a statement writes it: bare when it is a plain lower-case identifier,
/// double-quoted otherwise.
fn ident(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        crate::sql::quote_ident(name)
    }
}

/// A setting that starts sessions on the checked database in replica mode
/// (`session_replication_role = replica`): triggers enabled for origin sessions, which
/// every trigger and foreign key is unless altered, do not fire in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSessions {
    /// The role whose sessions it starts; `None`: every role's.
    pub role: Option<String>,
    /// Where it is set.
    pub scope: ReplicaScope,
}

/// Where a replica-mode setting is made, which is also how it is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaScope {
    /// The server's configuration (`postgresql.conf`, `ALTER SYSTEM`, the command line).
    Server,
    /// `ALTER ROLE … SET`, for every database.
    EveryDatabase,
    /// `ALTER DATABASE … SET` or `ALTER ROLE … IN DATABASE … SET`, for this database.
    ThisDatabase,
}

impl ReplicaSessions {
    /// The statement that made the setting, as a reader would recognise it.
    pub fn made_by(&self) -> String {
        match (&self.role, self.scope) {
            (_, ReplicaScope::Server) => {
                "session_replication_role = replica in the server's configuration".into()
            }
            (Some(r), ReplicaScope::EveryDatabase) => {
                format!("ALTER ROLE {r} SET session_replication_role = replica")
            }
            (Some(r), ReplicaScope::ThisDatabase) => {
                format!("ALTER ROLE {r} IN DATABASE … SET session_replication_role = replica")
            }
            (None, ReplicaScope::ThisDatabase) => {
                "ALTER DATABASE … SET session_replication_role = replica".into()
            }
            (None, ReplicaScope::EveryDatabase) => {
                "ALTER ROLE ALL SET session_replication_role = replica".into()
            }
        }
    }

    /// How to take it away.
    pub fn undo(&self) -> String {
        match (&self.role, self.scope) {
            (_, ReplicaScope::Server) => {
                "remove session_replication_role from the server's configuration (ALTER SYSTEM RESET session_replication_role, or postgresql.conf)".into()
            }
            (Some(r), ReplicaScope::EveryDatabase) => {
                format!("ALTER ROLE {r} RESET session_replication_role")
            }
            (Some(r), ReplicaScope::ThisDatabase) => {
                format!("ALTER ROLE {r} IN DATABASE … RESET session_replication_role")
            }
            (None, ReplicaScope::ThisDatabase) => {
                "ALTER DATABASE … RESET session_replication_role".into()
            }
            (None, ReplicaScope::EveryDatabase) => {
                "ALTER ROLE ALL RESET session_replication_role".into()
            }
        }
    }
}

/// How [`Access::functions`] is keyed, as findings name functions: `name(type, …)` in
/// `public`, `schema.name(type, …)` elsewhere.
pub fn function_key(schema: &str, name: &str, arg_types: &[String]) -> String {
    format!(
        "{}({})",
        super::names::qualified_name(schema, name, "public"),
        arg_types.join(", ")
    )
}

impl Access {
    /// Every privilege of an ACL kind (`r`, `s`, `f`, `n`, `T`, `d`) on this server.
    pub fn all_of(&self, kind: &str) -> &[String] {
        self.all_privileges
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// An object's owner and ACL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Acl {
    /// `pg_class.relkind` for relations (`r`, `p`, `v`, `m`, `f`, `S`); `n` for the schema.
    pub kind: char,
    /// The schema that holds the object (the schema's own name for a schema).
    pub schema: String,
    /// The owning role.
    pub owner: String,
    /// `aclexplode` of the ACL, or of `acldefault` when the ACL is NULL.
    pub entries: Vec<AclEntry>,
    /// For a sequence owned by a column (`serial`, identity): that column's relation, by
    /// relation key.
    pub owned_by: Option<String>,
}

/// One privilege held by one grantee.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclEntry {
    /// The role holding it; `None` for PUBLIC.
    pub grantee: Option<String>,
    /// `SELECT`, `EXECUTE`, `USAGE`, …
    pub privilege: String,
    /// WITH GRANT OPTION.
    pub grantable: bool,
}

/// A function's owner, ACL and the facts its security depends on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionAcl {
    /// Owner and ACL (`kind` is `f`).
    pub acl: Acl,
    /// SECURITY DEFINER.
    pub security_definer: bool,
    /// `pg_proc.proconfig`: the `SET` options, `name=value` each.
    pub config: Vec<String>,
}

/// What the auditor's view needs to know about a role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RoleInfo {
    /// SUPERUSER: bypasses every privilege check.
    pub superuser: bool,
    /// BYPASSRLS: ignores row-level security.
    pub bypass_rls: bool,
    /// LOGIN.
    pub login: bool,
    /// The roles it is a member of (`pg_auth_members`), whose privileges it may use.
    #[serde(default)]
    pub member_of: Vec<Membership>,
}

/// One membership of a role in another (`GRANT role TO member`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Membership {
    /// The role granted.
    pub role: String,
    /// The options the grant was made with: `ADMIN`, and from PostgreSQL 16 on `INHERIT`
    /// and `SET` (before 16 inheritance is the member's own attribute).
    pub options: Vec<String>,
}

/// Row-level security of one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableSecurity {
    /// `relrowsecurity`.
    pub enabled: bool,
    /// `relforcerowsecurity`.
    pub forced: bool,
    /// Policies by name order.
    pub policies: Vec<Policy>,
}

/// A row-level security policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    /// The name.
    pub name: String,
    /// `pg_policy.polcmd`: `*` all, `r` select, `a` insert, `w` update, `d` delete.
    pub command: char,
    /// PERMISSIVE (true) or RESTRICTIVE.
    pub permissive: bool,
    /// Role names, sorted; `public` for PUBLIC.
    pub roles: Vec<String>,
    /// `USING`, as `pg_get_expr` prints it.
    pub using: Option<String>,
    /// `WITH CHECK`, as `pg_get_expr` prints it.
    pub with_check: Option<String>,
}

const ACL: &str = r#"
WITH objs AS (
  SELECT 'r'::text AS objkind, c.relkind::text AS relkind, n.nspname::text AS nsp, c.relname::text AS name,
         NULL::text AS sub, NULL::text[] AS arg_types, c.relowner AS owner,
         COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl,
         NULL::boolean AS secdef, NULL::text[] AS config,
         (SELECT tn.nspname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                 JOIN pg_namespace tn ON tn.oid = t.relnamespace
           WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
           LIMIT 1) AS owned_by_schema,
         (SELECT t.relname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
           WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
           LIMIT 1) AS owned_by
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','m','v','f','S')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'c', c.relkind::text, n.nspname::text, c.relname::text, a.attname::text, NULL, c.relowner, a.attacl, NULL, NULL, NULL, NULL
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','m','v','f')
     AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
  UNION ALL
  SELECT 'f', p.prokind::text, n.nspname::text, p.proname::text, NULL,
         ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i) ORDER BY i),
         p.proowner, COALESCE(p.proacl, acldefault('f', p.proowner)), p.prosecdef, p.proconfig, NULL, NULL
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p', 'a')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'T', t.typtype::text, n.nspname::text, t.typname::text, NULL, NULL, t.typowner,
         COALESCE(t.typacl, acldefault('T', t.typowner)), NULL, NULL, NULL, NULL
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_class r ON r.oid = t.typrelid
   WHERE n.nspname = ANY($1)
     AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND r.relkind = 'c'))
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                     AND d.objid = t.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'd', d.defaclobjtype::text, COALESCE(n.nspname::text, ''), pg_get_userbyid(d.defaclrole)::text,
         NULL, NULL, d.defaclrole, d.defaclacl, NULL, NULL, NULL, NULL
    FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
   WHERE d.defaclnamespace = 0 OR n.nspname = ANY($1)
  UNION ALL
  SELECT 'D', 'D', '', d.datname::text, NULL, NULL, d.datdba,
         COALESCE(d.datacl, acldefault('d', d.datdba)), NULL, NULL, NULL, NULL
    FROM pg_database d WHERE d.datname = current_database()
  UNION ALL
  SELECT 'n', 'n', n.nspname::text, n.nspname::text, NULL, NULL, n.nspowner,
         COALESCE(n.nspacl, acldefault('n', n.nspowner)), NULL, NULL, NULL, NULL
    FROM pg_namespace n WHERE n.nspname = ANY($1)
)
SELECT o.objkind, o.relkind, o.nsp, o.name, o.sub, o.arg_types, pg_get_userbyid(o.owner)::text AS owner,
       o.secdef, o.config, o.owned_by_schema, o.owned_by,
       CASE WHEN e.grantee <> 0 THEN pg_get_userbyid(e.grantee)::text END AS grantee,
       e.privilege_type::text AS privilege, e.is_grantable AS grantable
  FROM objs o LEFT JOIN LATERAL aclexplode(o.acl) e ON true
 ORDER BY 1, 3, 4, 2, 5, 6, 12 NULLS FIRST, 13, 14"#;

const ROLES: &str = r#"
SELECT 'role' AS what, r.rolname::text AS name, r.rolsuper AS superuser,
       r.rolbypassrls AS bypass_rls, r.rolcanlogin AS login, NULL::text[] AS privileges
  FROM pg_roles r
UNION ALL
SELECT 'all', k, NULL, NULL, NULL,
       ARRAY(SELECT e.privilege_type::text FROM aclexplode(acldefault(k::"char", 10::oid)) e
              WHERE e.grantee = 10 ORDER BY 1)
  FROM unnest(ARRAY['r', 's', 'f', 'n', 'T', 'd']) k
UNION ALL
SELECT 'member', pg_get_userbyid(m.member)::text, NULL, NULL, NULL,
       ARRAY[pg_get_userbyid(m.roleid)::text,
             CASE WHEN m.admin_option THEN 'ADMIN' ELSE '' END,
             CASE WHEN to_jsonb(m)->>'inherit_option' = 'true' THEN 'INHERIT' ELSE '' END,
             CASE WHEN to_jsonb(m)->>'set_option' = 'true' THEN 'SET' ELSE '' END]
  FROM pg_auth_members m
UNION ALL
SELECT 'bootstrap', r.rolname::text, NULL, NULL, NULL, NULL FROM pg_roles r WHERE r.oid = 10
UNION ALL
SELECT 'session', current_user::text, NULL, NULL, NULL, NULL
UNION ALL
SELECT 'public_create', n.nspname::text, NULL, NULL, NULL, NULL
  FROM pg_namespace n
 WHERE EXISTS (SELECT 1 FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) e
                WHERE e.grantee = 0 AND e.privilege_type = 'CREATE')
UNION ALL
SELECT 'replica', CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole)::text END,
       NULL, NULL, NULL,
       ARRAY[CASE WHEN s.setdatabase = 0 THEN 'cluster' ELSE 'database' END]
  FROM pg_db_role_setting s
 WHERE s.setdatabase IN (0, (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()))
   AND EXISTS (SELECT 1 FROM unnest(s.setconfig) c
                WHERE lower(replace(c, ' ', '')) = 'session_replication_role=replica')
UNION ALL
SELECT 'dbsetting', c, NULL, NULL, NULL, NULL
  FROM pg_db_role_setting s, unnest(s.setconfig) c
 WHERE s.setrole = 0
   AND s.setdatabase = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
UNION ALL
SELECT 'rolesetting', CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole)::text END,
       NULL, NULL, NULL,
       ARRAY[CASE WHEN s.setdatabase = 0 THEN 'cluster' ELSE 'database' END, c]
  FROM pg_db_role_setting s, unnest(s.setconfig) c
 WHERE (s.setrole <> 0
        AND s.setdatabase IN (0, (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())))
    OR (s.setrole = 0 AND s.setdatabase = 0)
UNION ALL
SELECT 'replica', '', NULL, NULL, NULL, ARRAY['server']
  FROM pg_settings g
 WHERE g.name = 'session_replication_role' AND g.setting = 'replica'
   AND g.source IN ('configuration file', 'command line', 'environment variable', 'global', 'override')
 ORDER BY 1, 2, 6"#;

const POLICIES: &str = r#"
SELECT n.nspname::text AS nsp, c.relname::text AS rel, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
       p.polname::text AS name, p.polcmd::text AS command, p.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
               FROM unnest(p.polroles) r ORDER BY 1) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')
   AND (c.relrowsecurity OR c.relforcerowsecurity OR p.oid IS NOT NULL)
 ORDER BY 1, 2, 5"#;

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

/// Read the access-control facts of the checked `schemas`.
pub async fn read_access(conn: &mut PgConnection, schemas: &[String]) -> Result<Access> {
    let mut out = Access::default();
    let err = db_err("privileges");
    for row in sqlx::query(ACL)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(&err)?
    {
        let objkind: String = row.try_get("objkind").map_err(&err)?;
        let relkind: String = row.try_get("relkind").map_err(&err)?;
        let nsp: String = row.try_get("nsp").map_err(&err)?;
        let name: String = row.try_get("name").map_err(&err)?;
        let owner: String = row.try_get("owner").map_err(&err)?;
        let privilege: Option<String> = row.try_get("privilege").map_err(&err)?;
        let entry = match privilege {
            Some(privilege) => Some(AclEntry {
                grantee: row.try_get("grantee").map_err(&err)?,
                privilege,
                grantable: row
                    .try_get::<Option<bool>, _>("grantable")
                    .map_err(&err)?
                    .unwrap_or(false),
            }),
            None => None,
        };
        let owned_by_schema: Option<String> = row.try_get("owned_by_schema").map_err(&err)?;
        let owned_by: Option<String> = row.try_get("owned_by").map_err(&err)?;
        let owned_by = owned_by_schema
            .zip(owned_by)
            .map(|(s, t)| relation_key(&s, &t));
        let acl = |kind: char| Acl {
            kind,
            schema: nsp.clone(),
            owner: owner.clone(),
            entries: vec![],
            owned_by: owned_by.clone(),
        };
        let entries = match objkind.as_str() {
            "r" => {
                &mut out
                    .relations
                    .entry(relation_key(&nsp, &name))
                    .or_insert_with(|| acl(first_char(&relkind)))
                    .entries
            }
            "c" => {
                let sub: String = row
                    .try_get::<Option<String>, _>("sub")
                    .map_err(&err)?
                    .unwrap_or_default();
                out.columns
                    .entry(relation_key(&nsp, &name))
                    .or_default()
                    .entry(sub)
                    .or_default()
            }
            "f" => {
                let args: Vec<String> = row
                    .try_get::<Option<Vec<String>>, _>("arg_types")
                    .map_err(&err)?
                    .unwrap_or_default();
                let secdef: Option<bool> = row.try_get("secdef").map_err(&err)?;
                let config: Option<Vec<String>> = row.try_get("config").map_err(&err)?;
                &mut out
                    .functions
                    .entry(function_key(&nsp, &name, &args))
                    .or_insert_with(|| FunctionAcl {
                        acl: acl('f'),
                        security_definer: secdef.unwrap_or(false),
                        config: config.unwrap_or_default(),
                    })
                    .acl
                    .entries
            }
            "T" => {
                &mut out
                    .types
                    .entry(relation_key(&nsp, &name))
                    .or_insert_with(|| acl('T'))
                    .entries
            }
            "d" => {
                let kind = first_char(&relkind);
                let schema = (!nsp.is_empty()).then(|| nsp.clone());
                let same = |d: &DefaultAcl| d.role == name && d.schema == schema && d.kind == kind;
                if !out.default_acls.last().is_some_and(same) {
                    out.default_acls.push(DefaultAcl {
                        role: name.clone(),
                        schema,
                        kind,
                        entries: vec![],
                    });
                }
                &mut out.default_acls.last_mut().expect("pushed above").entries
            }
            "D" => {
                &mut out
                    .database
                    .get_or_insert_with(|| DatabaseAccess {
                        name: name.clone(),
                        acl: acl('d'),
                    })
                    .acl
                    .entries
            }
            _ => &mut out.schemas.entry(name).or_insert_with(|| acl('n')).entries,
        };
        entries.extend(entry);
    }

    let err = db_err("roles");
    for row in sqlx::query(ROLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(&err)?
    {
        let what: String = row.try_get("what").map_err(&err)?;
        let name: String = row.try_get("name").map_err(&err)?;
        match what.as_str() {
            "role" => {
                let flag = |col: &str| -> Result<bool> {
                    Ok(row
                        .try_get::<Option<bool>, _>(col)
                        .map_err(db_err("roles"))?
                        .unwrap_or(false))
                };
                let info = out.roles.entry(name).or_default();
                info.superuser = flag("superuser")?;
                info.bypass_rls = flag("bypass_rls")?;
                info.login = flag("login")?;
            }
            "dbsetting" => out.database_settings.push(name),
            "rolesetting" => {
                let parts = row
                    .try_get::<Option<Vec<String>>, _>("privileges")
                    .map_err(db_err("roles"))?
                    .unwrap_or_default();
                if let [scope, setting] = parts.as_slice() {
                    out.role_settings.push(RoleSetting {
                        role: (!name.is_empty()).then_some(name),
                        this_database: scope == "database",
                        setting: setting.clone(),
                    });
                }
            }
            "all" => {
                let privileges: Option<Vec<String>> = row.try_get("privileges").map_err(&err)?;
                out.all_privileges
                    .insert(name, privileges.unwrap_or_default());
            }
            "replica" => {
                let scope = row
                    .try_get::<Option<Vec<String>>, _>("privileges")
                    .map_err(db_err("roles"))?
                    .unwrap_or_default();
                let scope = match scope.first().map(String::as_str) {
                    Some("server") => ReplicaScope::Server,
                    Some("cluster") => ReplicaScope::EveryDatabase,
                    _ => ReplicaScope::ThisDatabase,
                };
                out.replica_sessions.push(ReplicaSessions {
                    role: (!name.is_empty()).then_some(name),
                    scope,
                });
            }
            "member" => {
                let parts = row
                    .try_get::<Option<Vec<String>>, _>("privileges")
                    .map_err(db_err("roles"))?
                    .unwrap_or_default();
                if let Some((role, options)) = parts.split_first() {
                    out.roles
                        .entry(name)
                        .or_default()
                        .member_of
                        .push(Membership {
                            role: role.clone(),
                            options: options.iter().filter(|o| !o.is_empty()).cloned().collect(),
                        });
                }
            }
            "bootstrap" => out.bootstrap_superuser = Some(name),
            "session" => out.session_role = Some(name),
            _ => out.public_writable_schemas.push(name),
        }
    }

    let err = db_err("row-level security policies");
    for row in sqlx::query(POLICIES)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(&err)?
    {
        let nsp: String = row.try_get("nsp").map_err(&err)?;
        let rel: String = row.try_get("rel").map_err(&err)?;
        let rel = relation_key(&nsp, &rel);
        let sec = out
            .row_security
            .entry(rel)
            .or_insert_with(|| TableSecurity {
                enabled: false,
                forced: false,
                policies: vec![],
            });
        sec.enabled = row.try_get("enabled").map_err(&err)?;
        sec.forced = row.try_get("forced").map_err(&err)?;
        let name: Option<String> = row.try_get("name").map_err(&err)?;
        if let Some(name) = name {
            let command: String = row.try_get("command").map_err(&err)?;
            sec.policies.push(Policy {
                name,
                command: first_char(&command),
                permissive: row.try_get("permissive").map_err(&err)?,
                roles: row.try_get("roles").map_err(&err)?,
                using: row.try_get("using_expr").map_err(&err)?,
                with_check: row.try_get("check_expr").map_err(&err)?,
            });
        }
    }
    Ok(out)
}

/// Who can read one sensitive column, derived from the catalog (`has_column_privilege`
/// over every role of the cluster), for the report's access-control section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitiveColumn {
    /// The relation.
    pub table: String,
    /// The column.
    pub column: String,
    /// Row-level security is enabled on the relation: readers without BYPASSRLS (and the
    /// owner, unless forced) see only the rows its policies allow.
    #[serde(default)]
    pub row_security: bool,
    /// Every role that may SELECT the column, by name.
    pub readers: Vec<ColumnReader>,
}

/// One role that can read a sensitive column, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReader {
    /// The role.
    pub role: String,
    /// Why it can: `superuser`, `owner`, `table grant`, `column grant`, `PUBLIC grant`,
    /// `predefined role` (such as `pg_read_all_data`), or `role membership` (inherited
    /// from a role it is a member of).
    pub via: String,
    /// It can log in (otherwise it acts only through membership or `SET ROLE`).
    #[serde(default)]
    pub login: bool,
    /// It sees every row despite row-level security (superuser, BYPASSRLS, or the owner
    /// of a table whose RLS is not forced). Always true when RLS is off.
    #[serde(default)]
    pub all_rows: bool,
}

const READERS: &str = r#"
SELECT n.nspname::text AS nsp, c.relname::text AS rel, a.attname::text AS col, r.rolname::text AS role,
       r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls, r.rolcanlogin AS login,
       r.oid = c.relowner AS owner, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       r.oid < 16384 AND r.rolname LIKE 'pg\_%' AS predefined,
       EXISTS (SELECT 1 FROM aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) e
                WHERE e.grantee = r.oid AND e.privilege_type = 'SELECT') AS table_grant,
       EXISTS (SELECT 1 FROM aclexplode(a.attacl) e
                WHERE e.grantee = r.oid AND e.privilege_type = 'SELECT') AS column_grant,
       EXISTS (SELECT 1 FROM aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) e
                WHERE e.grantee = 0 AND e.privilege_type = 'SELECT')
         OR EXISTS (SELECT 1 FROM aclexplode(a.attacl) e
                     WHERE e.grantee = 0 AND e.privilege_type = 'SELECT') AS public_grant
  FROM unnest($1::text[], $2::text[], $3::text[]) s(nsp, rel, col)
  JOIN pg_namespace n ON n.nspname = s.nsp
  JOIN pg_class c ON c.relname = s.rel AND c.relnamespace = n.oid
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.col AND a.attnum > 0
                     AND NOT a.attisdropped
  CROSS JOIN pg_roles r
 WHERE has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
 ORDER BY 1, 2, 3, 4"#;

/// For each `(schema, relation, column)`, every role that can read it: one query,
/// whatever the number of columns and roles. Columns the database lacks are left out; a
/// relation is named by its [`relation_key`].
pub async fn read_column_readers(
    conn: &mut PgConnection,
    columns: &[(String, String, String)],
) -> Result<Vec<SensitiveColumn>> {
    if columns.is_empty() {
        return Ok(vec![]);
    }
    let err = db_err("who can read the sensitive columns");
    let nsps: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    let rels: Vec<String> = columns.iter().map(|c| c.1.clone()).collect();
    let cols: Vec<String> = columns.iter().map(|c| c.2.clone()).collect();
    let rows = sqlx::query(READERS)
        .bind(&nsps)
        .bind(&rels)
        .bind(&cols)
        .fetch_all(&mut *conn)
        .await
        .map_err(&err)?;
    let mut out: Vec<SensitiveColumn> = Vec::new();
    for row in rows {
        let nsp: String = row.try_get("nsp").map_err(&err)?;
        let table: String = row.try_get("rel").map_err(&err)?;
        let table = relation_key(&nsp, &table);
        let column: String = row.try_get("col").map_err(&err)?;
        let flag = |c: &str| -> Result<bool> { row.try_get(c).map_err(db_err("readers")) };
        let (superuser, owner, rls, forced) = (
            flag("superuser")?,
            flag("owner")?,
            flag("rls")?,
            flag("forced")?,
        );
        let via = if superuser {
            "superuser"
        } else if owner {
            "owner"
        } else if flag("table_grant")? {
            "table grant"
        } else if flag("column_grant")? {
            "column grant"
        } else if flag("public_grant")? {
            "PUBLIC grant"
        } else if flag("predefined")? {
            "predefined role"
        } else {
            "role membership"
        };
        let reader = ColumnReader {
            role: row.try_get("role").map_err(&err)?,
            via: via.to_string(),
            login: flag("login")?,
            all_rows: !rls || superuser || flag("bypass_rls")? || (owner && !forced),
        };
        match out.last_mut() {
            Some(last) if last.table == table && last.column == column => last.readers.push(reader),
            _ => out.push(SensitiveColumn {
                table,
                column,
                row_security: rls,
                readers: vec![reader],
            }),
        }
    }
    // Keep the order the specs list them in.
    out.sort_by_key(|s| {
        columns
            .iter()
            .position(|(n, t, c)| relation_key(n, t) == s.table && *c == s.column)
            .unwrap_or(usize::MAX)
    });
    Ok(out)
}
