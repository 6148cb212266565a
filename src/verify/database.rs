//! The checked database's own privileges and settings, which belong to no schema: `GRANT
//! CREATE ON DATABASE … TO PUBLIC` lets every role make schemas (and in them, objects that
//! shadow the application's on a search path), and `ALTER DATABASE … SET` changes every
//! session's settings.
//!
//! Privileges are compared as the database document (`database:`) declares them, else
//! with PostgreSQL's default (PUBLIC may connect and make temporary tables, the owner holds
//! everything, nobody else anything), through the same comparison as every other ACL. The
//! owner is compared only when the document names it: whoever creates the database is no
//! migration's choice. On a server you hand over, the database was made outside the
//! migrations, so without a document a difference from the default is a skip that names
//! it, never a failure.
//!
//! Settings the specs cannot state: each is a skip that names it, and none is a pass.
//!
//! Objects of no schema that neither PostgreSQL nor an extension made (event triggers,
//! publications, subscriptions, casts, foreign-data wrappers, servers, user mappings,
//! transforms, access methods) cannot be described either: each fails, as an object of a
//! checked schema the format cannot describe does, unless the database document accepts
//! them; on a server you hand over without a document, each is a skip naming it.

use indexmap::IndexMap;

use super::privileges::{compare_acl, expected_acl, DeclaredAcl};
use super::roles::Roles;
use super::site::Site;
use super::{Finding, Status};
use crate::catalog::{DatabaseObject, RoleSetting, Schema, UnreadSchema};
use crate::spec::privileges::{AclKind, MIGRATOR};
use crate::spec::SpecSet;

/// The report group, and the object every finding names.
const GROUP: &str = "database";

/// `privilege.*` findings for the database's ACL, `database.settings` and
/// `database.objects`.
pub(crate) fn verify_database(
    specs: &SpecSet,
    actual: &Schema,
    roles: &mut Roles,
    handed_over: bool,
    out: &mut Vec<Finding>,
) {
    let doc = specs.database.as_ref();
    let site = match doc {
        Some(d) => Site::of(d, GROUP, &[]),
        None => Site::unlisted(GROUP),
    };
    // A catalog read before the database's own facts were read (a record of an older
    // version) has none to compare: nothing is said of them rather than a pass.
    if let Some(db) = &actual.access.database {
        verify_database_access(doc, db, actual, roles, handed_over, &site, out);
    }
    let allowed = doc.is_some_and(|d| d.spec.database.allow_extra);
    verify_objects(
        &actual.database_objects,
        &site,
        allowed,
        handed_over && doc.is_none(),
        out,
    );
    let accepted: &[String] = doc.map_or(&[], |d| &d.spec.database.extra_schemas);
    verify_unread_schemas(
        &actual.unread_schemas,
        &site,
        accepted,
        handed_over && doc.is_none(),
        out,
    );
    let allow_settings = doc.is_some_and(|d| d.spec.database.allow_role_settings);
    verify_role_settings(
        &actual.access.role_settings,
        &site,
        allow_settings,
        handed_over,
        out,
    );
}

/// One `schema.extra` finding per schema that no spec, schema document or `--schema`
/// names (and that neither PostgreSQL nor an extension made), naming what it holds and who
/// may use it; or one pass when there is none. Each fails, unless the database document
/// accepts it by name (`extra_schemas:`) or the server was handed over with no document:
/// then it is a skip. `public` left as every database has it, and the schema of the tool's
/// own log of migration attempts holding that log alone, are not reported; a schema
/// that holds only extensions' members is a skip, since the extensions stand for it
/// (`extension.member` compares their members).
fn verify_unread_schemas(
    schemas: &[UnreadSchema],
    site: &Site,
    accepted: &[String],
    unstated: bool,
    out: &mut Vec<Finding>,
) {
    const PATH: &[&str] = &["database", "extra_schemas"];
    let reported: Vec<&UnreadSchema> = schemas
        .iter()
        .filter(|s| !s.is_untouched_public() && !s.is_the_attempt_log())
        .collect();
    if reported.is_empty() {
        out.push(site.compare(
            "schema.extra",
            GROUP,
            PATH,
            "none".into(),
            "none".into(),
            true,
            "every schema of the database but PostgreSQL's own and the extensions' is named by a spec, a schema document or --schema, and was read".into(),
            "",
        ));
    }
    for s in reported {
        let what = s.describe();
        let object = format!("schema {}", s.name);
        let mut f = site.compare(
            "schema.extra",
            &object,
            PATH,
            "absent (no spec, schema document or --schema names it)".into(),
            what.clone(),
            false,
            format!("{what} exists in the database, but no spec, schema document or --schema names it, so nothing in it was compared"),
            "describe it with a schema document (`schema:`) and specs for what it holds, drop it in a migration, or accept it unread under `extra_schemas:` in the database document (`database:`)",
        );
        if s.holds_only_extensions() {
            f.status = Status::Skip;
            f.message.push_str(&format!(
                "; it holds only the members of extension(s) {}, which extension.member compares, so it was not judged",
                s.extensions.join(", ")
            ));
        } else if accepted.contains(&s.name) {
            f.status = Status::Skip;
            f.message
                .push_str("; the database document accepts it unread, so it was not judged");
        } else if unstated {
            f.status = Status::Skip;
            f.message.push_str("; not judged: no `database:` document says which schemas are accepted unread, and on a server you hand over it may be the deployment's");
        }
        out.push(f);
    }
}

/// The options of a role setting that change how the schema's code runs in that role's
/// sessions: `search_path` decides which object every unqualified name in a function,
/// and in every statement of the role, resolves to; `role` makes each session start as
/// another role, with that role's privileges. (`session_replication_role` is
/// `role.replica_sessions`'.)
const CODE_SETTINGS: &[&str] = &["search_path", "role"];

/// One `role.settings` finding per setting stored for a role that applies on this
/// database (`ALTER ROLE r [IN DATABASE …] SET`, `ALTER ROLE ALL SET`), or one pass when
/// there is none. The specs cannot state role settings, so each is a skip that names it;
/// but on a throw-away server, where only the migrations could have made it, a
/// `search_path` or `role` fails, unless the database document accepts role settings
/// (`allow_role_settings: true`). `session_replication_role = replica` is left to
/// `role.replica_sessions`.
fn verify_role_settings(
    settings: &[RoleSetting],
    site: &Site,
    accepted: bool,
    handed_over: bool,
    out: &mut Vec<Finding>,
) {
    const PATH: &[&str] = &["database", "allow_role_settings"];
    let expected = "no ALTER ROLE … SET";
    let settings: Vec<&RoleSetting> = settings
        .iter()
        .filter(|s| {
            !(s.option().eq_ignore_ascii_case("session_replication_role")
                && s.value().trim().eq_ignore_ascii_case("replica"))
        })
        .collect();
    if settings.is_empty() {
        out.push(site.compare(
            "role.settings",
            GROUP,
            PATH,
            expected.into(),
            "none".into(),
            true,
            "no setting is stored for a role's sessions on this database (ALTER ROLE … SET)".into(),
            "",
        ));
    }
    for s in settings {
        let whose = s.whose();
        let object = format!("{} of {whose}", s.option());
        let where_ = if s.this_database {
            "this database"
        } else {
            "every database"
        };
        let message = format!(
            "sessions of {whose} on {where_} start with {} = {} ({})",
            s.option(),
            s.value(),
            s.made_by()
        );
        let judged = CODE_SETTINGS.contains(&s.option());
        let mut f = if judged && !handed_over && !accepted {
            let mut f = site.compare(
                "role.settings",
                &object,
                PATH,
                expected.into(),
                s.setting.clone(),
                false,
                format!(
                    "{message}: it changes how the schema's code runs in them ({}), the specs cannot state it, and on a throw-away server only a migration made it",
                    if s.option() == "role" {
                        "each starts as that role, with its privileges"
                    } else {
                        "every unqualified name resolves through it"
                    }
                ),
                "",
            );
            f.hint = Some(format!(
                "{} in a migration, or accept role settings with `allow_role_settings: true` in the database document (`database:`)",
                s.undo()
            ));
            f
        } else {
            let why = if !judged {
                "the specs cannot state role settings, so this was not judged"
            } else if accepted {
                "the database document accepts role settings, so this was not judged"
            } else {
                "not judged: on a server you hand over the roles and their settings may be the deployment's"
            };
            let mut f = site.skip("role.settings", &object, PATH, format!("{message}; {why}"));
            f.expected = Some(expected.into());
            f.actual = Some(s.setting.as_str().into());
            f.hint = Some(format!("{} if no session should start with it", s.undo()));
            f
        };
        f.table = GROUP.into();
        out.push(f);
    }
}

/// The database's ACL (`privilege.*`) and `database.settings`.
fn verify_database_access(
    doc: Option<&crate::spec::LoadedDatabase>,
    db: &crate::catalog::DatabaseAccess,
    actual: &Schema,
    roles: &mut Roles,
    handed_over: bool,
    site: &Site,
    out: &mut Vec<Finding>,
) {
    let declared_p = doc.and_then(|d| d.spec.database.privileges.as_ref());
    let no_roles = IndexMap::new();
    let declared = DeclaredAcl {
        owner: declared_p.and_then(|p| p.owner.as_ref()),
        public: declared_p.and_then(|p| p.public.as_ref()),
        roles: declared_p.map(|p| &p.roles).unwrap_or(&no_roles),
    };
    let path = ["database", "privileges"];
    let mut expected = expected_acl(
        &declared,
        AclKind::Database,
        actual,
        roles,
        site,
        &path,
        MIGRATOR,
    );
    if declared.owner.is_none() {
        expected.owner = None;
    }
    let object = format!("database {}", db.name);
    let mut found = Vec::new();
    compare_acl(
        site,
        &object,
        &path,
        AclKind::Database,
        &expected,
        &db.acl,
        actual,
        roles,
        &mut found,
    );
    if handed_over && doc.is_none() {
        for f in &mut found {
            if f.status == Status::Fail {
                f.status = Status::Skip;
                f.message.push_str(
                    " (not judged: no `database:` document declares the database's privileges, and on a server you hand over the database was made outside the migrations)",
                );
                f.hint = Some(
                    "declare them in a spec file whose top-level key is `database:` (`database: { privileges: { public: [connect, temporary] } }`) to have them compared".into(),
                );
            }
        }
    }
    for f in &mut found {
        f.object = GROUP.into();
    }
    out.extend(found);
    verify_settings(&actual.access.database_settings, &db.name, site, out);
}

/// One `database.objects` finding per object of no schema that neither PostgreSQL nor an
/// extension made, or one pass when there is none. Each fails, unless the database
/// document accepts such objects (`allow_extra: true`) or the server was handed over with
/// no document: then it is a skip that names it.
fn verify_objects(
    objects: &[DatabaseObject],
    site: &Site,
    allowed: bool,
    unstated: bool,
    out: &mut Vec<Finding>,
) {
    if objects.is_empty() {
        out.push(site.compare(
            "database.objects",
            GROUP,
            &["database", "allow_extra"],
            "none".into(),
            "none".into(),
            true,
            "no event trigger, publication, subscription, cast, foreign-data wrapper, server, user mapping, transform or access method beyond PostgreSQL's own and its extensions'".into(),
            "",
        ));
    }
    for o in objects {
        let what = format!("{} ({})", o.description, o.detail);
        let mut f = site.compare(
            "database.objects",
            &o.description,
            &["database", "allow_extra"],
            "absent (the spec format cannot describe it)".into(),
            what.clone(),
            false,
            format!("{what} exists in the database, and no spec can describe it"),
            "drop it in a migration, or accept such objects with `allow_extra: true` in the database document (`database:`)",
        );
        if allowed || unstated {
            f.status = Status::Skip;
            f.message.push_str(if allowed {
                "; the database document accepts such objects, so it was not judged"
            } else {
                "; not judged: no `database:` document says whether such objects are accepted, and on a server you hand over they may be the deployment's"
            });
        }
        out.push(f);
    }
}

/// One `database.settings` skip per `ALTER DATABASE … SET`, or one pass when there is none.
fn verify_settings(settings: &[String], name: &str, site: &Site, out: &mut Vec<Finding>) {
    let expected = "no ALTER DATABASE … SET";
    if settings.is_empty() {
        out.push(site.compare(
            "database.settings",
            GROUP,
            &["database"],
            expected.into(),
            "none".into(),
            true,
            format!("database {name}: no ALTER DATABASE … SET option"),
            "",
        ));
    }
    for s in settings {
        let (option, value) = s.split_once('=').unwrap_or((s.as_str(), ""));
        let mut f = site.skip(
            "database.settings",
            GROUP,
            &["database"],
            format!(
                "database {name}: every session starts with {option} = {value} (ALTER DATABASE … SET); the specs cannot state database settings, so this was not judged"
            ),
        );
        f.expected = Some(expected.into());
        f.actual = Some(s.as_str().into());
        f.hint = Some(format!(
            "ALTER DATABASE … RESET {option} if no session should start with it"
        ));
        out.push(f);
    }
}
