//! Owners and grants: every relation, column, sequence, type and function a spec describes
//! is compared with its ACL in the catalog (direct grants only; role membership is not followed here).
//!
//! What a spec leaves out means PostgreSQL's default for the object kind: owned by the
//! migrating role, which holds every privilege; PUBLIC holds EXECUTE on functions, USAGE
//! on types and nothing else; no other role holds anything. So an undeclared grant is always reported.
//!
//! Per object: `privilege.owner`, `privilege.missing` (a declared privilege not held),
//! `privilege.grant_option` (held, but with the grant option differing) and
//! `privilege.extra` (held but not declared).
//!
//! A grantee named by a role variable that nothing binds cannot be found among the actual
//! grantees: a grant that no bound entry accounts for may be that variable's, so it is
//! neither extra nor missing but listed in the variable's `role.unbound` skip. Only a
//! privilege that no unbound variable of the object is declared with is still extra, since
//! whichever role the variable stands for, nothing grants it. The owner, PUBLIC and bound
//! roles are checked as ever.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::roles::{Roles, HISTORY_TABLE};
use super::site::Site;
use super::{Finding, Shadow, ShadowFunction};
use crate::catalog::{function_key, relation_key, Acl, AclEntry, Schema};
use crate::spec::privileges::{parse_grants, AclKind, MIGRATOR};
use crate::spec::{FunctionSpec, LoadedSpec, SpecSet};

/// Privilege → grant option.
pub(crate) type GrantSet = BTreeMap<String, bool>;

/// What a spec says about one object's ACL, with role names resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExpectedAcl {
    /// The owner, when it applies and resolves (`None`: not checked).
    pub owner: Option<String>,
    /// The owner as the spec names it, when that is a `$variable` (for messages).
    pub owner_variable: Option<String>,
    /// Whether an owner check applies at all (columns have none).
    pub has_owner: bool,
    /// What PUBLIC holds.
    pub public: GrantSet,
    /// Other grantees (and the owner, when listed with fewer than all privileges).
    pub roles: BTreeMap<String, GrantSet>,
    /// Grantees named by a role variable that nothing binds, by the spec's name
    /// (`$app`): what the spec grants each.
    pub unbound: BTreeMap<String, GrantSet>,
}

/// The spec's view of an object's privileges before resolution.
pub(crate) struct DeclaredAcl<'s> {
    pub owner: Option<&'s String>,
    pub public: Option<&'s Vec<String>>,
    pub roles: &'s IndexMap<String, Vec<String>>,
}

/// Expand a list (validated at load) into a grant set; `ALL` is every privilege of the
/// kind on this server.
pub(crate) fn grant_set(list: &[String], kind: AclKind, actual: &Schema) -> GrantSet {
    let mut out = GrantSet::new();
    for g in parse_grants(list, kind).unwrap_or_default() {
        if g.privilege == "ALL" {
            for p in all_privileges(kind, actual) {
                let e = out.entry(p).or_insert(false);
                *e |= g.grant_option;
            }
        } else {
            let e = out.entry(g.privilege).or_insert(false);
            *e |= g.grant_option;
        }
    }
    out
}

/// Every privilege of `kind` that this server knows.
pub(crate) fn all_privileges(kind: AclKind, actual: &Schema) -> Vec<String> {
    let Some(letter) = kind.acl_letter() else {
        return kind.known().iter().map(|s| s.to_string()).collect();
    };
    let from_server = actual.access.all_of(letter);
    if from_server.is_empty() {
        kind.known()
            .iter()
            .filter(|p| **p != "MAINTAIN")
            .map(|s| s.to_string())
            .collect()
    } else {
        from_server.to_vec()
    }
}

/// Resolve a declaration. `owner_default` is the owner when the spec names none.
pub(crate) fn expected_acl(
    declared: &DeclaredAcl,
    kind: AclKind,
    actual: &Schema,
    roles: &mut Roles,
    site: &Site,
    path: &[&str],
    default_owner: &str,
) -> ExpectedAcl {
    let at = |key: &str| {
        let mut p = path.to_vec();
        p.push(key);
        site.location(&p)
    };
    let has_owner = kind != AclKind::Column;
    let owner_name = declared.owner.map(String::as_str).unwrap_or(default_owner);
    let owner = if has_owner {
        roles.resolve(owner_name, at("owner"))
    } else {
        None
    };
    let public = match declared.public {
        Some(list) => grant_set(list, kind, actual),
        None => kind
            .public_default()
            .iter()
            .map(|p| (p.to_string(), false))
            .collect(),
    };
    let mut by_role = BTreeMap::new();
    let mut unbound = BTreeMap::new();
    for (name, list) in declared.roles {
        let set = grant_set(list, kind, actual);
        let e: &mut GrantSet = match roles.resolve(name, at("roles")) {
            Some(role) => by_role.entry(role).or_default(),
            None => unbound.entry(name.clone()).or_default(),
        };
        for (p, g) in set {
            *e.entry(p).or_insert(false) |= g;
        }
    }
    ExpectedAcl {
        owner,
        owner_variable: crate::spec::privileges::is_variable(owner_name)
            .then(|| owner_name.to_string()),
        has_owner,
        public,
        roles: by_role,
        unbound,
    }
}

/// Actual entries grouped by grantee (`None` = PUBLIC), grant options OR-ed across grantors.
fn held(entries: &[AclEntry]) -> BTreeMap<Option<String>, GrantSet> {
    let mut out: BTreeMap<Option<String>, GrantSet> = BTreeMap::new();
    for e in entries {
        *out.entry(e.grantee.clone())
            .or_default()
            .entry(e.privilege.clone())
            .or_insert(false) |= e.grantable;
    }
    out
}

fn grantee_name(g: &Option<String>) -> String {
    g.clone().unwrap_or_else(|| "PUBLIC".into())
}

/// `SELECT, UPDATE WITH GRANT OPTION`, or `ALL` when it is every privilege of the kind.
fn render_set(set: &GrantSet, all: &[String]) -> String {
    if set.is_empty() {
        return "nothing".into();
    }
    if all.len() > 1 && set.len() == all.len() {
        for option in [false, true] {
            if all.iter().all(|p| set.get(p) == Some(&option)) {
                return if option {
                    "ALL WITH GRANT OPTION"
                } else {
                    "ALL"
                }
                .into();
            }
        }
    }
    set.iter()
        .map(|(p, g)| {
            if *g {
                format!("{p} WITH GRANT OPTION")
            } else {
                p.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ACL as one line, owner first, then PUBLIC, then roles by name.
fn render_acl(
    owner: Option<&str>,
    owner_set: Option<&GrantSet>,
    rest: &BTreeMap<Option<String>, GrantSet>,
    all: &[String],
) -> String {
    let mut parts = Vec::new();
    if let (Some(o), Some(set)) = (owner, owner_set) {
        parts.push(format!("owner {o}: {}", render_set(set, all)));
    }
    for (g, set) in rest {
        if set.is_empty() {
            continue;
        }
        parts.push(format!("{}: {}", grantee_name(g), render_set(set, all)));
    }
    if parts.is_empty() {
        "no privileges".into()
    } else {
        parts.join("; ")
    }
}

/// Compare an expectation with an object's ACL (`acl`: owner and entries; for a column,
/// `owner` is empty and the entries are the column's own grants). Grants that may be an
/// unbound variable's are recorded in `roles` instead of judged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compare_acl(
    site: &Site,
    object: &str,
    path: &[&str],
    kind: AclKind,
    expected: &ExpectedAcl,
    acl: &Acl,
    actual_schema: &Schema,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let all = all_privileges(kind, actual_schema);
    let mut got = held(&acl.entries);
    let sub = |key: &'static str| {
        let mut p = path.to_vec();
        p.push(key);
        p
    };
    if expected.has_owner {
        if let Some(want) = &expected.owner {
            let label = match &expected.owner_variable {
                Some(var) => format!("{want} ({var})"),
                None => want.clone(),
            };
            let ok = *want == acl.owner;
            out.push(site.compare(
                "privilege.owner",
                object,
                &sub("owner"),
                label.clone(),
                acl.owner.clone(),
                ok,
                if ok {
                    format!("{object}: owner is {}", acl.owner)
                } else {
                    format!("{object}: owner is {}, spec says {label}", acl.owner)
                },
                "ALTER … OWNER TO the spec's owner, or correct the spec (`owner:`; `$migrator` is the role that ran the migrations)",
            ));
        }
    }
    // The owner's own entries: every privilege unless the spec lists the owner with fewer.
    let (owner_want, owner_got) = if expected.has_owner {
        let want: GrantSet = expected
            .roles
            .get(&acl.owner)
            .cloned()
            .unwrap_or_else(|| all.iter().map(|p| (p.clone(), false)).collect());
        let got_set = got.remove(&Some(acl.owner.clone())).unwrap_or_default();
        (Some(want), Some(got_set))
    } else {
        (None, None)
    };
    let mut want_rest: BTreeMap<Option<String>, GrantSet> = BTreeMap::new();
    if !expected.public.is_empty() || got.contains_key(&None) {
        want_rest.insert(None, expected.public.clone());
    }
    for (role, set) in &expected.roles {
        if expected.has_owner && *role == acl.owner {
            continue;
        }
        want_rest.insert(Some(role.clone()), set.clone());
    }
    let owner_name = expected.has_owner.then_some(acl.owner.as_str());
    let mut shown_want = want_rest.clone();
    for (var, set) in &expected.unbound {
        shown_want.insert(Some(var.clone()), set.clone());
    }
    let expected_text = render_acl(owner_name, owner_want.as_ref(), &shown_want, &all);
    let actual_text = render_acl(owner_name, owner_got.as_ref(), &got, &all);

    // While a variable is unbound, a grantee no bound entry names may be the one it stands
    // for: what the unbound variables are declared with is not judged for it (nor for an
    // owner the spec lists with fewer privileges only through a variable); the rest it
    // holds is extra whoever the variable is.
    let maybe_unbound: GrantSet = expected
        .unbound
        .values()
        .flat_map(|set| set.keys())
        .map(|p| (p.clone(), false))
        .collect();
    let mut owner_want = owner_want;
    let mut unjudged: Vec<(String, GrantSet)> = Vec::new();
    if !maybe_unbound.is_empty() {
        let mut set_aside = |who: String, have: &mut GrantSet| {
            let aside: GrantSet = have
                .iter()
                .filter(|(p, _)| maybe_unbound.contains_key(*p))
                .map(|(p, g)| (p.clone(), *g))
                .collect();
            have.retain(|p, _| !maybe_unbound.contains_key(p));
            if !aside.is_empty() {
                unjudged.push((who, aside));
            }
        };
        for (g, have) in got.iter_mut() {
            if let (Some(role), false) = (g, want_rest.contains_key(g)) {
                set_aside(role.clone(), have);
            }
        }
        if let (Some(want), Some(have)) = (&mut owner_want, &owner_got) {
            let listed = expected.roles.contains_key(&acl.owner);
            if !listed
                && !want.keys().eq(have.keys())
                && have.keys().all(|p| maybe_unbound.contains_key(p))
            {
                unjudged.push((format!("owner {}", acl.owner), have.clone()));
                *want = have.clone();
            }
        }
    }

    let mut missing = Vec::new();
    let mut option = Vec::new();
    let mut extra = Vec::new();
    let mut compare_one = |who: String, want: &GrantSet, have: &GrantSet, is_owner: bool| {
        let lacks: Vec<&str> = want
            .keys()
            .filter(|p| !have.contains_key(*p))
            .map(String::as_str)
            .collect();
        if !lacks.is_empty() {
            missing.push(format!("{who} lacks {}", lacks.join(", ")));
        }
        let more: Vec<&str> = have
            .keys()
            .filter(|p| !want.contains_key(*p))
            .map(String::as_str)
            .collect();
        if !more.is_empty() {
            extra.push(format!("{who} holds {} undeclared", more.join(", ")));
        }
        if !is_owner {
            for (p, g) in want {
                if let Some(h) = have.get(p) {
                    if h != g {
                        option.push(format!(
                            "{who} holds {p} {} grant option",
                            if *h { "with" } else { "without" }
                        ));
                    }
                }
            }
        }
    };
    if let (Some(w), Some(h)) = (&owner_want, &owner_got) {
        compare_one(format!("owner {}", acl.owner), w, h, true);
    }
    let empty = GrantSet::new();
    let grantees: BTreeSet<&Option<String>> = want_rest.keys().chain(got.keys()).collect();
    for g in grantees {
        let want = want_rest.get(g).unwrap_or(&empty);
        let have = got.get(g).unwrap_or(&empty);
        compare_one(grantee_name(g), want, have, false);
    }
    let finding = |code: &'static str, problems: &[String], ok: &str, hint: &str| {
        site.compare(
            code,
            object,
            path,
            expected_text.clone(),
            actual_text.clone(),
            problems.is_empty(),
            if problems.is_empty() {
                format!("{object}: {ok}")
            } else {
                format!("{object}: {}", problems.join("; "))
            },
            hint,
        )
    };
    out.push(finding(
        "privilege.missing",
        &missing,
        "every declared privilege is held",
        "GRANT the privilege in a migration, or correct the spec's privileges",
    ));
    out.push(finding(
        "privilege.grant_option",
        &option,
        "grant options are as declared",
        "GRANT … WITH GRANT OPTION or REVOKE GRANT OPTION FOR … as the spec says, or correct the spec",
    ));
    let vars = expected
        .unbound
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let mut extra_finding = finding(
        "privilege.extra",
        &extra,
        "no undeclared privilege is held",
        "REVOKE it, or declare it under `privileges` in the spec (`reims-verify spec snapshot` writes the privileges a database has)",
    );
    let mut not_judged = Vec::new();
    for (who, set) in &unjudged {
        let grant = format!("{who} holds {}", render_set(set, &all));
        for (var, declared) in &expected.unbound {
            if set.keys().any(|p| declared.contains_key(p)) {
                roles.not_judged(var, format!("{grant} on {object}"));
            }
        }
        not_judged.push(grant);
    }
    if !not_judged.is_empty() {
        extra_finding.message.push_str(&format!(
            " (not judged, since {vars} is not bound and may stand for the role: {})",
            not_judged.join("; ")
        ));
    }
    out.push(extra_finding);
}

/// The checked schema, relations with their columns and sequences, standalone sequences,
/// and the functions the specs list.
pub(crate) fn verify_privileges(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    verify_schema(specs, actual, roles, out);
    let no_roles = IndexMap::new();
    let mut owned: BTreeSet<&str> = BTreeSet::new();
    // The sequences each relation's columns own, found once: looking them up per relation
    // among every relation of the catalog grew with the square of the number of tables.
    let mut sequences_of: BTreeMap<&str, Vec<(&String, &Acl)>> = BTreeMap::new();
    for (name, seq) in &actual.access.relations {
        if let (Some(owner), 'S') = (seq.owned_by.as_deref(), seq.kind) {
            sequences_of.entry(owner).or_default().push((name, seq));
        }
    }
    for loaded in &specs.specs {
        let spec = &loaded.spec;
        let key = relation_key(&spec.schema, &spec.table);
        let Some(acl) = actual.access.relations.get(&key) else {
            continue;
        };
        if !actual.relations.contains_key(&key) {
            continue;
        }
        let site = Site::of(loaded, &key, &spec.requirements);
        let p = spec.privileges.as_ref();
        let declared = DeclaredAcl {
            owner: p.and_then(|p| p.owner.as_ref()),
            public: p.and_then(|p| p.public.as_ref()),
            roles: p.map(|p| &p.roles).unwrap_or(&no_roles),
        };
        let path = ["privileges"];
        let expected = expected_acl(
            &declared,
            AclKind::Relation,
            actual,
            roles,
            &site,
            &path,
            MIGRATOR,
        );
        // The role a check reads the catalog as needs SELECT on the migration history:
        // that grant is the check's own, expected unless the spec says otherwise.
        let (acl, own_read) = own_history_read(&key, acl, &expected, actual);
        let first = out.len();
        compare_acl(
            &site,
            &key,
            &path,
            AclKind::Relation,
            &expected,
            &acl,
            actual,
            roles,
            out,
        );
        if let Some(me) = own_read {
            for f in &mut out[first..] {
                if f.code == "privilege.extra" {
                    f.message.push_str(&format!(
                        " (SELECT held by {me}, the role this check reads as, is expected: it reads the migration history)"
                    ));
                }
            }
        }
        verify_columns(&site, loaded, &key, actual, roles, out);
        // Sequences its columns own: owned by the relation's owner, grants as declared.
        let table_owner = declared.owner.map(String::as_str).unwrap_or(MIGRATOR);
        let declared_seqs = p.map(|p| &p.sequences);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for &(name, seq) in sequences_of.get(key.as_str()).into_iter().flatten() {
            owned.insert(name);
            let bare = bare_name(name);
            seen.insert(bare.clone());
            let dp = declared_seqs.and_then(|d| d.get(&bare));
            let declared = DeclaredAcl {
                owner: dp.and_then(|p| p.owner.as_ref()),
                public: dp.and_then(|p| p.public.as_ref()),
                roles: dp.map(|p| &p.roles).unwrap_or(&no_roles),
            };
            let path = ["privileges", "sequences", bare.as_str()];
            let path: &[&str] = if dp.is_some() { &path } else { &["privileges"] };
            let expected = expected_acl(
                &declared,
                AclKind::Sequence,
                actual,
                roles,
                &site,
                path,
                table_owner,
            );
            compare_acl(
                &site,
                name,
                path,
                AclKind::Sequence,
                &expected,
                seq,
                actual,
                roles,
                out,
            );
        }
        for name in declared_seqs.into_iter().flat_map(|d| d.keys()) {
            if !seen.contains(name) {
                out.push(site.compare(
                    "privilege.missing",
                    name,
                    &["privileges", "sequences", name],
                    format!("a sequence {name} owned by a column of {key}"),
                    "no such sequence".into(),
                    false,
                    format!(
                        "{name}: the spec grants privileges on it, but no column of {key} owns a sequence of that name"
                    ),
                    "name a sequence that a serial or identity column of this relation owns, or drop the entry",
                ));
            }
        }
    }
    verify_standalone_sequences(specs, actual, roles, &owned, out);
    verify_types(specs, actual, roles, out);
    verify_functions(specs, actual, shadow, roles, out);
}

/// The history table's ACL without the plain SELECT that the checking role holds on it,
/// when that role is not the owner and the spec does not list it; and that role.
fn own_history_read(
    table: &str,
    acl: &Acl,
    expected: &ExpectedAcl,
    actual: &Schema,
) -> (Acl, Option<String>) {
    let me = actual.access.session_role.as_ref();
    match me {
        Some(me)
            if table == HISTORY_TABLE && *me != acl.owner && !expected.roles.contains_key(me) =>
        {
            let own = |e: &AclEntry| {
                e.grantee.as_ref() == Some(me) && e.privilege == "SELECT" && !e.grantable
            };
            if !acl.entries.iter().any(own) {
                return (acl.clone(), None);
            }
            let mut acl = acl.clone();
            acl.entries.retain(|e| !own(e));
            (acl, Some(me.clone()))
        }
        _ => (acl.clone(), None),
    }
}

/// Column-level grants of one relation: columns with declared or actual grants.
fn verify_columns(
    site: &Site,
    loaded: &LoadedSpec,
    key: &str,
    actual: &Schema,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let spec = &loaded.spec;
    let no_roles = IndexMap::new();
    let p = spec.privileges.as_ref();
    let actual_cols = actual.access.columns.get(key);
    let mut names: BTreeSet<&String> = BTreeSet::new();
    if let Some(p) = p {
        names.extend(p.columns.keys());
    }
    if let Some(cols) = actual_cols {
        names.extend(cols.keys());
    }
    for col in names {
        let declared_col = p.and_then(|p| p.columns.get(col));
        let public = declared_col.map(|c| c.public.clone()).unwrap_or_default();
        let declared = DeclaredAcl {
            owner: None,
            public: Some(&public),
            roles: declared_col.map(|c| &c.roles).unwrap_or(&no_roles),
        };
        let path = ["privileges", "columns", col.as_str()];
        let path: &[&str] = if declared_col.is_some() {
            &path
        } else {
            &["privileges"]
        };
        let expected = expected_acl(
            &declared,
            AclKind::Column,
            actual,
            roles,
            site,
            path,
            MIGRATOR,
        );
        let col_acl = Acl {
            kind: 'c',
            schema: spec.schema.clone(),
            owner: String::new(),
            entries: actual_cols
                .and_then(|c| c.get(col))
                .cloned()
                .unwrap_or_default(),
            owned_by: None,
        };
        compare_acl(
            site,
            &format!("{key}.{col}"),
            path,
            AclKind::Column,
            &expected,
            &col_acl,
            actual,
            roles,
            out,
        );
    }
}

/// The major version of a `server_version` such as `15.10 (Debian 15.10-1)`.
pub(super) fn major(server_version: &str) -> u32 {
    server_version
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// The checked schemas' owners and grants: as their schema documents say, else what a
/// fresh database has.
fn verify_schema(specs: &SpecSet, actual: &Schema, roles: &mut Roles, out: &mut Vec<Finding>) {
    for (name, acl) in &actual.access.schemas {
        let group = format!("schema {name}");
        let doc = specs.schema_doc(name);
        let site = match doc {
            Some(d) => Site::of(d, &group, &d.spec.requirements),
            None => Site::unlisted(&group),
        };
        let no_roles = IndexMap::new();
        let declared_p = doc.and_then(|d| d.spec.privileges.as_ref());
        let (default_owner, default_public) = fresh_schema_default(name, actual);
        let declared = DeclaredAcl {
            owner: declared_p.and_then(|p| p.owner.as_ref()),
            public: Some(
                declared_p
                    .and_then(|p| p.public.as_ref())
                    .unwrap_or(&default_public),
            ),
            roles: declared_p.map(|p| &p.roles).unwrap_or(&no_roles),
        };
        let path = ["privileges"];
        let expected = expected_acl(
            &declared,
            AclKind::Schema,
            actual,
            roles,
            &site,
            &path,
            &default_owner,
        );
        compare_acl(
            &site,
            &group,
            &path,
            AclKind::Schema,
            &expected,
            acl,
            actual,
            roles,
            out,
        );
    }
}

/// What a fresh database has for schema `name`: its owner as a spec writes it and what
/// PUBLIC holds. `public` belongs to pg_database_owner and PUBLIC may use it (from
/// PostgreSQL 15 on), or to the bootstrap superuser and PUBLIC may also create in it; any
/// other schema belongs to the migrating role, and PUBLIC holds nothing.
pub(crate) fn fresh_schema_default(name: &str, actual: &Schema) -> (String, Vec<String>) {
    if name != "public" {
        return (MIGRATOR.into(), vec![]);
    }
    if major(&actual.server_version) >= 15 {
        ("pg_database_owner".into(), vec!["usage".into()])
    } else {
        (
            actual
                .access
                .bootstrap_superuser
                .clone()
                .unwrap_or_else(|| MIGRATOR.into()),
            vec!["usage".into(), "create".into()],
        )
    }
}

/// A relation key's name part: `reims.jobs_id_seq` → `jobs_id_seq`.
fn bare_name(key: &str) -> String {
    crate::catalog::parse_qualified(key, "public").1
}

/// Sequences no column owns (or whose relation no spec describes): as a schema document
/// lists them, else PostgreSQL's defaults.
fn verify_standalone_sequences(
    specs: &SpecSet,
    actual: &Schema,
    roles: &mut Roles,
    owned: &BTreeSet<&str>,
    out: &mut Vec<Finding>,
) {
    for (name, seq) in &actual.access.relations {
        if seq.kind != 'S' || owned.contains(name.as_str()) {
            continue;
        }
        // A sequence of a relation no spec describes is reported with that relation.
        if let Some(t) = &seq.owned_by {
            let (ts, tn) = crate::catalog::parse_qualified(t, "public");
            if specs.relation(&ts, &tn).is_none() {
                continue;
            }
        }
        let doc = specs.schema_doc(&seq.schema);
        let bare = bare_name(name);
        let listed = doc.and_then(|d| d.spec.sequences.get(&bare).map(|s| (d, s)));
        let site = match listed {
            Some((d, _)) => Site::of(d, "sequences", &d.spec.requirements),
            None => Site::unlisted("sequences"),
        };
        let declared = listed.and_then(|(_, s)| s.privileges.as_ref());
        let path = ["sequences", bare.as_str(), "privileges"];
        let listing = Listing {
            site: &site,
            name,
            path: &path,
            kind: AclKind::Sequence,
        };
        compare_listed(&listing, declared, seq, actual, roles, out);
    }
}

/// Where a schema document's object (a standalone sequence, a type) is, and what its ACL
/// is compared as.
struct Listing<'l> {
    site: &'l Site<'l>,
    name: &'l str,
    path: &'l [&'l str],
    kind: AclKind,
}

/// Compare the ACL of a schema document's object with the privileges its listing declares,
/// else PostgreSQL's defaults (owned by the migrating role, PUBLIC's default grants).
fn compare_listed(
    listing: &Listing,
    declared: Option<&crate::spec::privileges::ObjectPrivileges>,
    acl: &Acl,
    actual: &Schema,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let no_roles = IndexMap::new();
    let declared = DeclaredAcl {
        owner: declared.and_then(|p| p.owner.as_ref()),
        public: declared.and_then(|p| p.public.as_ref()),
        roles: declared.map(|p| &p.roles).unwrap_or(&no_roles),
    };
    let expected = expected_acl(
        &declared,
        listing.kind,
        actual,
        roles,
        listing.site,
        listing.path,
        MIGRATOR,
    );
    compare_acl(
        listing.site,
        listing.name,
        listing.path,
        listing.kind,
        &expected,
        acl,
        actual,
        roles,
        out,
    );
}

/// Enums, domains and composite types: as a schema document lists them, else PostgreSQL's
/// defaults (owned by the migrating role, PUBLIC may use them). An owner may alter the
/// type (add an enum label, drop a domain's CHECK), and without USAGE a role can neither
/// write nor cast to it.
fn verify_types(specs: &SpecSet, actual: &Schema, roles: &mut Roles, out: &mut Vec<Finding>) {
    for (name, acl) in &actual.access.types {
        let doc = specs.schema_doc(&acl.schema);
        let bare = bare_name(name);
        let listed = doc.and_then(|d| d.spec.types.get(&bare).map(|t| (d, t)));
        let site = match listed {
            Some((d, _)) => Site::of(d, "types", &d.spec.requirements),
            None => Site::unlisted("types"),
        };
        let declared = listed.and_then(|(_, t)| t.privileges.as_ref());
        let path = ["types", bare.as_str(), "privileges"];
        let listing = Listing {
            site: &site,
            name,
            path: &path,
            kind: AclKind::Type,
        };
        compare_listed(&listing, declared, acl, actual, roles, out);
    }
}

/// The spec that lists a function of the shadow: a relation spec or a schema document,
/// as the site its findings go to and the function's spec.
pub(crate) fn function_site<'a>(
    specs: &'a SpecSet,
    sf: &ShadowFunction,
) -> Option<(Site<'a>, &'a String, &'a FunctionSpec)> {
    if let Some(l) = specs
        .specs
        .iter()
        .find(|l| l.spec.schema == sf.schema && l.spec.functions.contains_key(&sf.spec_key))
    {
        let (k, f) = l.spec.functions.get_key_value(&sf.spec_key)?;
        let table = relation_key(&l.spec.schema, &l.spec.table);
        return Some((Site::of(l, &table, &l.spec.requirements), k, f));
    }
    let d = specs
        .schemas
        .iter()
        .find(|d| d.spec.schema == sf.schema && d.spec.functions.contains_key(&sf.spec_key))?;
    let (k, f) = d.spec.functions.get_key_value(&sf.spec_key)?;
    let group = format!("schema {}", d.spec.schema);
    Some((Site::of(d, &group, &d.spec.requirements), k, f))
}

fn verify_functions(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    roles: &mut Roles,
    out: &mut Vec<Finding>,
) {
    let no_roles = IndexMap::new();
    for sf in &shadow.functions {
        let Some((site, key, f)) = function_site(specs, sf) else {
            continue;
        };
        let signature = function_key(&sf.schema, &sf.name, &sf.arg_types);
        let path = ["functions", key.as_str(), "privileges"];
        let Some(facl) = actual.access.functions.get(&signature) else {
            // Never passed over in silence: a routine the specs list whose owner and grants
            // were not read is a skip that says so.
            let exists = actual
                .functions
                .iter()
                .any(|a| a.schema == sf.schema && a.name == sf.name && a.arg_types == sf.arg_types);
            let why = if exists {
                "they were not read from the catalog"
            } else {
                "it does not exist (function.exists says so)"
            };
            out.push(site.skip(
                "privilege.owner",
                &signature,
                &path,
                format!("{signature}: owner and privileges not checked: {why}"),
            ));
            continue;
        };
        let p = f.privileges.as_ref();
        let declared = DeclaredAcl {
            owner: p.and_then(|p| p.owner.as_ref()),
            public: p.and_then(|p| p.public.as_ref()),
            roles: p.map(|p| &p.roles).unwrap_or(&no_roles),
        };
        let expected = expected_acl(
            &declared,
            AclKind::Function,
            actual,
            roles,
            &site,
            &path,
            MIGRATOR,
        );
        compare_acl(
            &site,
            &signature,
            &path,
            AclKind::Function,
            &expected,
            &facl.acl,
            actual,
            roles,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::AclEntry;

    fn entry(grantee: Option<&str>, privilege: &str) -> AclEntry {
        AclEntry {
            grantee: grantee.map(str::to_string),
            privilege: privilege.into(),
            grantable: false,
        }
    }

    /// A grantee no bound entry names may be an unbound variable's role: what the variable
    /// is declared with is not judged for it (and is listed in the variable's skip), what
    /// no variable is declared with is extra; PUBLIC and bound roles are judged exactly.
    #[test]
    fn an_unbound_variable_excuses_only_what_it_may_stand_for() {
        let set = |ps: &[&str]| -> GrantSet { ps.iter().map(|p| (p.to_string(), false)).collect() };
        let expected = ExpectedAcl {
            owner: Some("owner".into()),
            owner_variable: None,
            has_owner: true,
            public: GrantSet::new(),
            roles: [("reader".to_string(), set(&["SELECT"]))].into(),
            unbound: [("$app".to_string(), set(&["INSERT", "SELECT"]))].into(),
        };
        let check = |entries: &[(Option<&str>, &str)]| {
            let mut all = vec![];
            for p in AclKind::Relation.known() {
                if *p != "MAINTAIN" {
                    all.push(entry(Some("owner"), p));
                }
            }
            all.extend(entries.iter().map(|(g, p)| entry(*g, p)));
            let acl = Acl {
                kind: 'r',
                schema: "public".into(),
                owner: "owner".into(),
                entries: all,
                owned_by: None,
            };
            let schema = Schema::default();
            let opts = super::super::AccessOptions::default();
            let mut roles = Roles::new(&opts, &schema);
            roles.resolve("$app", None);
            let mut out = vec![];
            let site = Site::unlisted("t");
            compare_acl(
                &site,
                "t",
                &[],
                AclKind::Relation,
                &expected,
                &acl,
                &schema,
                &mut roles,
                &mut out,
            );
            let failed: Vec<&str> = out.iter().filter(|f| f.failed()).map(|f| f.code).collect();
            let mut skip = vec![];
            roles.findings(&schema, &mut skip);
            let skip = skip.into_iter().find(|f| f.code == "role.unbound").unwrap();
            (failed, skip.message)
        };
        let base = [
            (Some("reader"), "SELECT"),
            (Some("app_role"), "INSERT"),
            (Some("app_role"), "SELECT"),
        ];
        let (failed, message) = check(&base);
        assert!(failed.is_empty(), "{failed:?}");
        assert!(
            message.contains("app_role holds INSERT, SELECT on t"),
            "{message}"
        );
        // What no variable is declared with, PUBLIC, and a bound role's surplus still fail.
        for more in [
            (Some("app_role"), "DELETE"),
            (None, "SELECT"),
            (Some("reader"), "INSERT"),
        ] {
            let mut entries = base.to_vec();
            entries.push(more);
            assert_eq!(check(&entries).0, ["privilege.extra"], "{more:?}");
        }
        let (failed, _) = check(&base[1..]);
        assert_eq!(failed, ["privilege.missing"]);
    }

    /// Without a schema document, `public` is expected as initdb leaves it: from
    /// PostgreSQL 15 on owned by pg_database_owner with PUBLIC USAGE; before, owned by the
    /// bootstrap superuser with PUBLIC USAGE and CREATE.
    #[test]
    fn public_defaults_follow_the_server_version() {
        let schema_with = |version: &str, owner: &str, public: &[&str]| {
            let mut s = Schema {
                server_version: version.into(),
                ..Schema::default()
            };
            s.access.bootstrap_superuser = Some("postgres".into());
            let mut entries = vec![entry(Some(owner), "USAGE"), entry(Some(owner), "CREATE")];
            entries.extend(public.iter().map(|p| entry(None, p)));
            s.access.schemas.insert(
                "public".into(),
                Acl {
                    kind: 'n',
                    schema: "public".into(),
                    owner: owner.into(),
                    entries,
                    owned_by: None,
                },
            );
            s
        };
        let check = |s: &Schema| {
            let opts = super::super::AccessOptions::default();
            let mut roles = Roles::new(&opts, s);
            let mut out = vec![];
            verify_schema(&SpecSet::default(), s, &mut roles, &mut out);
            out.iter()
                .filter(|f| f.failed())
                .map(|f| f.code)
                .collect::<Vec<_>>()
        };
        let pg15 = schema_with("15.10 (Debian)", "pg_database_owner", &["USAGE"]);
        assert!(check(&pg15).is_empty(), "{:?}", check(&pg15));
        let pg14 = schema_with("14.13", "postgres", &["USAGE", "CREATE"]);
        assert!(check(&pg14).is_empty(), "{:?}", check(&pg14));
        // Each version's default is drift on the other.
        let pg15_like_14 = schema_with("15.2", "postgres", &["USAGE", "CREATE"]);
        assert_eq!(check(&pg15_like_14), ["privilege.owner", "privilege.extra"]);
        let pg14_like_15 = schema_with("14.13", "pg_database_owner", &["USAGE"]);
        assert_eq!(
            check(&pg14_like_15),
            ["privilege.owner", "privilege.missing"]
        );
        assert_eq!(major("9.6.24"), 9);
    }
}
