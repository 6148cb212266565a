//! How to start a throw-away PostgreSQL: which backend, and the ephemeral cluster's
//! settings.

use std::path::PathBuf;

use super::container::{feature_missing_error, ContainerOptions, FEATURE_ENABLED};
use crate::error::Result;

/// Where a throw-away PostgreSQL comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClusterBackend {
    /// initdb + postgres from local server binaries (the default).
    #[default]
    Ephemeral,
    /// A container started with testcontainers (cargo feature `docker`, and a Docker daemon).
    Docker(ContainerOptions),
}

impl ClusterBackend {
    /// Refuse early what can never work: the container backend in a build without the
    /// `docker` feature (exit 2), or a malformed image name (exit 2).
    pub fn validate(&self) -> Result<()> {
        match self {
            ClusterBackend::Ephemeral => Ok(()),
            ClusterBackend::Docker(_) if !FEATURE_ENABLED => Err(feature_missing_error()),
            ClusterBackend::Docker(opts) => opts.image().map(|_| ()),
        }
    }
}

/// How to build a throw-away cluster: an ephemeral one (the fields below), or, when
/// `backend` says so, a container (see [`crate::postgres::Cluster::start`]).
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Which backend [`crate::postgres::Cluster::start`] and `Database::open` use
    /// (default: the ephemeral cluster). `EphemeralCluster::start` ignores it.
    pub backend: ClusterBackend,
    /// Folder holding `initdb` and `postgres`; found automatically when `None`.
    pub bindir: Option<PathBuf>,
    /// OS user that runs the server when this process is root (default `postgres`).
    pub os_user: Option<String>,
    /// Parent folder for the cluster; default `REIMS_VERIFY_TMPDIR`, else `/dev/shm` when
    /// writable (tmpfs makes initdb faster), else the system temp folder.
    pub parent_dir: Option<PathBuf>,
    /// The PostgreSQL major the server should run, when it matters (the shadow of a
    /// handed-over server runs on that server's major). Unless `bindir` names binaries,
    /// the ephemeral cluster then prefers binaries of that major and falls back to any it
    /// finds; the container backend picks the image tag of that major. Callers compare the
    /// server's version to see which happened.
    pub major: Option<u32>,
}

impl ContainerOptions {
    /// The same options with the image tag following `major`: a tag that starts with a
    /// version (`15-alpine`, `15.6`, `16`) gets that version replaced by the major
    /// (`13-alpine`, `13`, `13`); any other tag is kept as named.
    pub fn for_major(&self, major: Option<u32>) -> Result<ContainerOptions> {
        let Some(major) = major else {
            return Ok(self.clone());
        };
        let image = self.image()?;
        let digits = image
            .tag
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(image.tag.len());
        if digits == 0 {
            return Ok(self.clone());
        }
        Ok(ContainerOptions {
            image: Some(format!("{}:{major}{}", image.name, &image.tag[digits..])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    #[test]
    fn the_default_backend_is_ephemeral_and_always_valid() {
        assert_eq!(ClusterOptions::default().backend, ClusterBackend::Ephemeral);
        assert!(ClusterBackend::Ephemeral.validate().is_ok());
    }

    #[test]
    fn the_image_tag_follows_the_major() {
        let tag = |image: &str, major: Option<u32>| {
            ContainerOptions {
                image: Some(image.into()),
            }
            .for_major(major)
            .unwrap()
            .image()
            .unwrap()
            .to_string()
        };
        assert_eq!(tag("postgres:15-alpine", Some(13)), "postgres:13-alpine");
        assert_eq!(tag("postgres:15.6", Some(17)), "postgres:17");
        assert_eq!(
            tag("registry:5000/pg/postgres:16", Some(14)),
            "registry:5000/pg/postgres:14"
        );
        assert_eq!(tag("postgres:latest", Some(14)), "postgres:latest");
        assert_eq!(tag("postgres:15-alpine", None), "postgres:15-alpine");
        let default = ContainerOptions::default().for_major(Some(18)).unwrap();
        assert_eq!(default.image().unwrap().to_string(), "postgres:18-alpine");
    }

    #[test]
    fn docker_backend_validation_follows_the_feature() {
        let docker = ClusterBackend::Docker(ContainerOptions {
            image: Some("postgres:15-alpine".into()),
        });
        if FEATURE_ENABLED {
            assert!(docker.validate().is_ok());
            let bad = ClusterBackend::Docker(ContainerOptions {
                image: Some("postgres".into()),
            });
            assert_eq!(
                bad.validate().unwrap_err().exit_code(),
                ExitCode::InvalidInput
            );
        } else {
            let err = docker.validate().unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::InvalidInput);
            assert!(err.to_string().contains("lacks"), "{err}");
        }
    }
}
