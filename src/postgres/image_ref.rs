//! Which container image the container backend runs, named as `NAME:TAG` and pinned: the
//! default, the environment's choice or an explicit option. Apart from the backend so that
//! the image can be named and checked in builds without the `docker` feature, and so that
//! the backend and the image's pull (`container_image.rs`) share it without importing each
//! other.

use crate::error::{Error, Result};

/// The image used when none is named: a pinned tag, so that every run checks against the
/// same PostgreSQL major version.
pub const DEFAULT_IMAGE: &str = "postgres:15-alpine";

/// Environment variable naming another image, as `NAME:TAG`.
pub const IMAGE_ENV: &str = "REIMS_VERIFY_DOCKER_IMAGE";

/// Environment variable: how many seconds pulling a missing image may take (default 300).
pub const PULL_TIMEOUT_ENV: &str = "REIMS_VERIFY_DOCKER_PULL_TIMEOUT";

/// A container image reference split as testcontainers wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository, with any registry host: `postgres`, `registry.local:5000/pg/postgres`.
    pub name: String,
    /// The tag: `15-alpine`.
    pub tag: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

impl ImageRef {
    /// Pick the image: `explicit` first, then the value of [`IMAGE_ENV`] (`from_env`), then
    /// [`DEFAULT_IMAGE`]. Empty values count as unset.
    pub fn select(explicit: Option<&str>, from_env: Option<&str>) -> Result<Self> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        match (given(explicit), given(from_env)) {
            (Some(raw), _) => Self::parse_from(raw, "the image option"),
            (None, Some(raw)) => Self::parse_from(raw, IMAGE_ENV),
            (None, None) => Self::parse(DEFAULT_IMAGE),
        }
    }

    /// Parse `NAME:TAG`. The tag is required: an unpinned image would make runs
    /// unrepeatable.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_from(raw, "the image")
    }

    fn parse_from(raw: &str, source: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage {
            message: format!("invalid container image `{raw}` (from {source}): {why}"),
            hint: format!(
                "name the image as NAME:TAG, e.g. {DEFAULT_IMAGE} (set {IMAGE_ENV}, or unset it \
                 for the default)"
            ),
        };
        if raw.is_empty() || raw.chars().any(char::is_whitespace) {
            return Err(bad("it is empty or contains spaces"));
        }
        if raw.contains('@') {
            return Err(bad("digests are not supported; name a tag"));
        }
        let last_slash = raw.rfind('/').map_or(0, |i| i + 1);
        match raw[last_slash..].rfind(':') {
            Some(i) => {
                let (name, tag) = (&raw[..last_slash + i], &raw[last_slash + i + 1..]);
                if name.is_empty() || name.ends_with('/') {
                    return Err(bad("the image name is empty"));
                }
                if tag.is_empty() {
                    return Err(bad("the tag is empty"));
                }
                Ok(ImageRef {
                    name: name.to_string(),
                    tag: tag.to_string(),
                })
            }
            None => Err(bad("it has no tag; pin one")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitCode;

    #[test]
    fn default_image_is_pinned_postgres_15_alpine() {
        let img = ImageRef::select(None, None).unwrap();
        assert_eq!(img.name, "postgres");
        assert_eq!(img.tag, "15-alpine");
        assert_eq!(img.to_string(), DEFAULT_IMAGE);
    }

    #[test]
    fn env_overrides_default_and_option_overrides_env() {
        let from_env = ImageRef::select(None, Some("postgres:16-alpine")).unwrap();
        assert_eq!(from_env.to_string(), "postgres:16-alpine");
        let explicit = ImageRef::select(Some("postgres:14"), Some("postgres:16-alpine")).unwrap();
        assert_eq!(explicit.to_string(), "postgres:14");
        // Empty or blank values count as unset.
        let blank = ImageRef::select(Some(" "), Some("")).unwrap();
        assert_eq!(blank.to_string(), DEFAULT_IMAGE);
    }

    #[test]
    fn registry_hosts_with_ports_keep_their_colon() {
        let img = ImageRef::parse("registry.local:5000/pg/postgres:15.6-alpine").unwrap();
        assert_eq!(img.name, "registry.local:5000/pg/postgres");
        assert_eq!(img.tag, "15.6-alpine");
    }

    #[test]
    fn unpinned_or_malformed_images_are_usage_errors() {
        for raw in [
            "postgres",
            "registry.local:5000/postgres",
            "postgres:",
            ":15",
            "postgres@sha256:abc",
            "post gres:15",
        ] {
            let err = ImageRef::parse(raw).unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::InvalidInput, "{raw}");
            assert!(err.to_string().contains(raw), "{err}");
        }
        let err = ImageRef::select(None, Some("postgres")).unwrap_err();
        assert!(err.to_string().contains(IMAGE_ENV), "{err}");
        assert!(err.hint().unwrap().contains(DEFAULT_IMAGE));
    }
}
