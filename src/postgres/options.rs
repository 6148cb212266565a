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
