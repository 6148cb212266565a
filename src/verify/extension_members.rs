//! What an extension's members are, against a fresh install of the same extension. The
//! catalog read leaves an extension's members out of every other check (they are the
//! extension's, not the schema's), so an object a migration adds to an extension, or a
//! member a migration re-grants, re-owns or makes SECURITY DEFINER, would otherwise pass
//! unseen. The reference is the shadow: it creates the extensions the specs declare, on a
//! throw-away server, and is read by the same query. Where it cannot stand for the
//! database's extension (not declared, another version, schema or major), the comparison
//! is a skip that says why, never a pass.

use std::collections::BTreeMap;

use super::privileges::major;
use super::{Ctx, Finding, Shadow, Status};
use crate::catalog::{Extension, Schema};
use crate::spec::SpecSet;

/// `extension.member` and `extension.member_security` for every extension of the database.
pub(crate) fn verify_extension_members(
    specs: &SpecSet,
    actual: &Schema,
    shadow: &Shadow,
    out: &mut Vec<Finding>,
) {
    for x in &actual.extensions {
        let declared = specs
            .schemas
            .iter()
            .find(|l| l.spec.schema == x.schema && l.spec.extensions.contains_key(&x.name));
        let path = ["extensions", x.name.as_str()];
        let make = |code: &'static str, object: String, status: Status| match declared {
            Some(l) => Finding {
                status,
                ..Ctx::document(l, format!("schema {}", x.schema)).pass(
                    code,
                    object,
                    &path,
                    String::new(),
                )
            },
            None => Finding {
                repro: None,
                code,
                table: format!("schema {}", x.schema).into(),
                object: object.into(),
                status,
                expected: None,
                actual: None,
                message: String::new(),
                location: None,
                requirements: vec![],
                hint: None,
            },
        };
        let reference = match reference_for(x, actual, shadow) {
            Ok(r) => r,
            Err(why) => {
                for code in ["extension.member", "extension.member_security"] {
                    out.push(Finding {
                        message: format!(
                            "the members of extension `{}` were not compared with a fresh install: {why}",
                            x.name
                        ),
                        hint: Some(
                            "declare the extension, with the database's version, in the schema document of the schema that holds it"
                                .into(),
                        ),
                        ..make(code, x.name.clone(), Status::Skip)
                    });
                }
                continue;
            }
        };
        let want: BTreeMap<&str, &str> = reference
            .members
            .iter()
            .map(|m| (m.object.as_str(), m.security.as_str()))
            .collect();
        let got: BTreeMap<&str, &str> = x
            .members
            .iter()
            .map(|m| (m.object.as_str(), m.security.as_str()))
            .collect();
        let fresh = format!("CREATE EXTENSION {} VERSION '{}'", x.name, x.version);
        let before = out.len();
        for object in got.keys().filter(|o| !want.contains_key(*o)) {
            out.push(Finding {
                expected: Some("not a member".into()),
                actual: Some(format!("a member of extension {}", x.name).into()),
                message: format!(
                    "{object} belongs to extension `{}`, but a fresh `{fresh}` does not create it; as a member it escapes every other check",
                    x.name
                ),
                hint: Some(format!(
                    "ALTER EXTENSION {} DROP … it in a migration, so that it is checked as the schema's own",
                    x.name
                )),
                ..make("extension.member", object.to_string(), Status::Fail)
            });
        }
        for object in want.keys().filter(|o| !got.contains_key(*o)) {
            out.push(Finding {
                expected: Some(format!("a member of extension {}", x.name).into()),
                actual: Some("not a member".into()),
                message: format!(
                    "a fresh `{fresh}` creates {object}, which is not a member of the database's extension (dropped from it, or dropped)"
                ),
                hint: Some(format!(
                    "ALTER EXTENSION {} ADD … it back, or reinstall the extension",
                    x.name
                )),
                ..make("extension.member", object.to_string(), Status::Fail)
            });
        }
        if out.len() == before {
            out.push(Finding {
                message: format!(
                    "extension `{}` has the {} members a fresh `{fresh}` creates, and no other",
                    x.name,
                    got.len()
                ),
                ..make("extension.member", x.name.clone(), Status::Pass)
            });
        }
        let before = out.len();
        for (object, security) in &got {
            let Some(wanted) = want.get(object) else {
                continue;
            };
            if wanted != security {
                out.push(Finding {
                    expected: Some((*wanted).into()),
                    actual: Some((*security).into()),
                    message: format!(
                        "{object} of extension `{}`: {security}; a fresh `{fresh}` gives {wanted}",
                        x.name
                    ),
                    hint: Some(
                        "undo the ALTER / GRANT / REVOKE on the extension's object in a migration; an extension's members are as its install script leaves them"
                            .into(),
                    ),
                    ..make("extension.member_security", object.to_string(), Status::Fail)
                });
            }
        }
        if out.len() == before {
            out.push(Finding {
                message: format!(
                    "the owners, privileges and security settings of extension `{}`'s members are those of a fresh `{fresh}`",
                    x.name
                ),
                ..make("extension.member_security", x.name.clone(), Status::Pass)
            });
        }
    }
}

/// The shadow's install of `x`, when it is a fresh install of the same extension as the
/// database's: same major, version and schema. Otherwise why not.
fn reference_for<'a>(
    x: &Extension,
    actual: &Schema,
    shadow: &'a Shadow,
) -> Result<&'a Extension, String> {
    let Some(r) = shadow.schema.extensions.iter().find(|r| r.name == x.name) else {
        return Err(format!(
            "no schema document declares it, so the shadow has no fresh install of it (the database has version {} in schema {})",
            x.version, x.schema
        ));
    };
    let (ours, theirs) = (
        major(&actual.server_version),
        major(&shadow.schema.server_version),
    );
    if ours != theirs {
        return Err(format!(
            "the shadow runs on PostgreSQL {theirs}, the database on {ours}, and an extension's install script may differ between them"
        ));
    }
    if r.version != x.version {
        return Err(format!(
            "the shadow installed version {}, the database has version {}",
            r.version, x.version
        ));
    }
    if r.schema != x.schema {
        return Err(format!(
            "the shadow installed it in schema {}, the database has it in schema {}",
            r.schema, x.schema
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(version: &str, schema: &str) -> Extension {
        Extension {
            name: "pgcrypto".into(),
            version: version.into(),
            schema: schema.into(),
            ..Extension::default()
        }
    }

    fn on(server_version: &str, extensions: Vec<Extension>) -> Schema {
        Schema {
            server_version: server_version.into(),
            extensions,
            ..Schema::default()
        }
    }

    /// Only an install of the same extension, version and schema on the same major stands
    /// for the database's; anything else is a reason to skip, never a pass.
    #[test]
    fn a_fresh_install_stands_for_the_same_extension_only() {
        let actual = on("15.8", vec![ext("1.3", "public")]);
        let x = &actual.extensions[0];
        let shadow = |server: &str, e: Vec<Extension>| Shadow {
            schema: on(server, e),
            ..Shadow::default()
        };
        assert!(reference_for(x, &actual, &shadow("15.2", vec![ext("1.3", "public")])).is_ok());
        let why = |s: Shadow| reference_for(x, &actual, &s).unwrap_err();
        assert!(why(shadow("15.2", vec![])).contains("no schema document declares it"));
        assert!(why(shadow("15.2", vec![ext("1.2", "public")])).contains("version 1.2"));
        assert!(why(shadow("15.2", vec![ext("1.3", "app")])).contains("schema app"));
        assert!(why(shadow("16.1", vec![ext("1.3", "public")])).contains("PostgreSQL 16"));
    }
}
