//! The image must be on the Docker daemon before a container starts. A missing image is
//! pulled within a time limit (testcontainers alone would wait on a registry that never
//! answers); when that fails, the run stops with exit 3 and says how to provide the image
//! offline.

use std::time::Duration;

use futures_util::StreamExt;
use testcontainers::bollard::errors::Error as DockerError;
use testcontainers::bollard::query_parameters::CreateImageOptionsBuilder;
use testcontainers::bollard::Docker;

use super::image_ref::{ImageRef, IMAGE_ENV, PULL_TIMEOUT_ENV};
use crate::error::{Error, Result};

/// How long pulling a missing image may take when [`PULL_TIMEOUT_ENV`] is unset.
pub(crate) const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(300);

/// The pull time limit: [`PULL_TIMEOUT_ENV`] in whole seconds, else
/// [`DEFAULT_PULL_TIMEOUT`]. A value that is not a positive number is a usage error.
pub(crate) fn pull_timeout(from_env: Option<&str>) -> Result<Duration> {
    match from_env.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_PULL_TIMEOUT),
        Some(raw) => match raw.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(Error::Usage {
                message: format!("invalid {PULL_TIMEOUT_ENV}=`{raw}`: not a number of seconds"),
                hint: format!(
                    "set {PULL_TIMEOUT_ENV} to a whole number of seconds such as 300, or unset it"
                ),
            }),
        },
    }
}

/// The error for an image that is not on the daemon and could not be pulled (exit 3).
pub(crate) fn missing_image_error(image: &ImageRef, why: &str) -> Error {
    Error::Container {
        message: format!("the image {image} is not on the Docker daemon, and {why}"),
        hint: format!(
            "provide the image offline: where a registry is reachable, `docker pull {image}` and \
             `docker save {image} -o postgres.tar`, then here `docker load -i postgres.tar`; or \
             build a PostgreSQL image from server binaries with `docker import`; or name an \
             image the daemon has with {IMAGE_ENV}=NAME:TAG. Otherwise use the ephemeral backend \
             (--backend ephemeral) or --database-url URL"
        ),
    }
}

/// Make sure `image` is on the daemon: look it up, and pull it when missing, within
/// `limit`. Says on stderr that it pulls, since that may take a while.
pub(crate) async fn ensure_image(docker: &Docker, image: &ImageRef, limit: Duration) -> Result<()> {
    match docker.inspect_image(&image.to_string()).await {
        Ok(_) => return Ok(()),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => {
            return Err(Error::Container {
                message: format!("cannot look up the image {image} on the Docker daemon: {e}"),
                hint: "check `docker info` and the daemon's logs".into(),
            })
        }
    }
    errln!(
        "note: the image {image} is not on the Docker daemon; pulling it (at most {} s, {PULL_TIMEOUT_ENV})",
        limit.as_secs()
    );
    let options = CreateImageOptionsBuilder::new()
        .from_image(&image.name)
        .tag(&image.tag)
        .build();
    let pull = async {
        let mut progress = docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step?;
        }
        Ok::<(), DockerError>(())
    };
    match tokio::time::timeout(limit, pull).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(missing_image_error(
            image,
            &format!("pulling it failed: {e}"),
        )),
        Err(_) => Err(missing_image_error(
            image,
            &format!(
                "pulling it did not finish within {} s (the registry does not answer)",
                limit.as_secs()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    #[test]
    fn the_pull_limit_defaults_and_rejects_nonsense() {
        assert_eq!(pull_timeout(None).unwrap(), DEFAULT_PULL_TIMEOUT);
        assert_eq!(pull_timeout(Some(" ")).unwrap(), DEFAULT_PULL_TIMEOUT);
        assert_eq!(pull_timeout(Some("7")).unwrap(), Duration::from_secs(7));
        for bad in ["0", "-3", "5s", "soon"] {
            let err = pull_timeout(Some(bad)).unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::InvalidInput, "{bad}");
            assert!(err.to_string().contains(PULL_TIMEOUT_ENV), "{err}");
        }
    }

    #[test]
    fn a_missing_image_is_exit_3_with_every_offline_way() {
        let image = ImageRef::parse("postgres:16-alpine").unwrap();
        let err = missing_image_error(&image, "pulling it failed: no such host");
        assert_eq!(err.exit_code(), ExitCode::Database);
        assert!(err.to_string().contains("postgres:16-alpine"), "{err}");
        assert!(err.to_string().contains("no such host"), "{err}");
        let hint = err.hint().unwrap();
        for way in [
            "docker save postgres:16-alpine",
            "docker load",
            "docker import",
            IMAGE_ENV,
            "--backend ephemeral",
            "--database-url",
        ] {
            assert!(hint.contains(way), "hint lacks {way}: {hint}");
        }
    }
}
