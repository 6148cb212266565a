//! A database URL handed over by the user, and its password-free display form.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use crate::error::{Error, Result};

/// A server the user handed over: by URL, or by the standard `PG*` environment variables.
/// Its `Display` and `Debug` never show the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    options: PgConnectOptions,
    shown: String,
    password: Option<String>,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.shown)
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl DatabaseUrl {
    /// Parse and validate a URL; the error message never contains the password.
    pub fn parse(raw: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(raw).map_err(|e| Error::Usage {
            message: format!(
                "invalid database URL {}: {}",
                redact_url(raw),
                redact_in(&e.to_string(), raw)
            ),
            hint: "use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...]".into(),
        })?;
        let mut password = password_of(raw);
        if password.is_none() {
            password = query_password(raw);
        }
        Ok(DatabaseUrl {
            options,
            shown: redact_url(raw),
            password,
        })
    }

    /// The server named by `PGHOST` / `PGPORT` / `PGUSER` / `PGPASSWORD` / `PGDATABASE` /
    /// `PGSSLMODE` …, when `PGHOST` is set (as psql reads them).
    pub fn from_pg_env() -> Option<Self> {
        std::env::var_os("PGHOST")?;
        let options = PgConnectOptions::new();
        let shown = format!(
            "postgres://{}@{}:{}/{} (from PG* variables)",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        Some(DatabaseUrl {
            options,
            shown,
            password: std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
        })
    }

    /// Connection options for sqlx.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// The password, if any, so that messages can be scrubbed of it.
    pub fn password(&self) -> Option<String> {
        self.password.clone()
    }

    /// Remove the password from any text (e.g. a server or driver error message).
    pub fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(pw) if !pw.is_empty() => text.replace(pw.as_str(), "***"),
            _ => text.to_string(),
        }
    }
}

fn query_password(raw: &str) -> Option<String> {
    let (_, query) = raw.split_once('?')?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.eq_ignore_ascii_case("password") && !v.is_empty()).then(|| v.to_string())
    })
}

fn password_of(raw: &str) -> Option<String> {
    let rest = raw.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let (_, pw) = userinfo.split_once(':')?;
    (!pw.is_empty()).then(|| pw.to_string())
}

/// Replace every occurrence of the URL's password in `text` with `***`.
fn redact_in(text: &str, raw: &str) -> String {
    let mut out = text.replace(raw, &redact_url(raw));
    if let Some(pw) = password_of(raw) {
        out = out.replace(&pw, "***");
    }
    out
}

/// The URL with its password replaced by `***` (and `password=` query parameters too).
///
/// ```
/// use reims_verify::postgres::redact_url;
/// assert_eq!(
///     redact_url("postgres://alice:s3cret@db:5432/reims?sslmode=require"),
///     "postgres://alice:***@db:5432/reims?sslmode=require"
/// );
/// assert!(!redact_url("postgres://bob@db/x?password=hunter2").contains("hunter2"));
/// ```
pub fn redact_url(raw: &str) -> String {
    let mut out = raw.to_string();
    if let Some(pw) = password_of(raw) {
        if let Some((scheme, rest)) = raw.split_once("://") {
            let at = rest.find('@').unwrap_or(0);
            let (userinfo, tail) = rest.split_at(at);
            let user = userinfo.split(':').next().unwrap_or("");
            let _ = pw;
            out = format!("{scheme}://{user}:***{tail}");
        }
    }
    if let Some((base, query)) = out.clone().split_once('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{base}?{}", params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_everywhere() {
        let raw = "postgres://alice:s3cr3t@db.example:5432/reims?sslmode=require";
        assert_eq!(
            redact_url(raw),
            "postgres://alice:***@db.example:5432/reims?sslmode=require"
        );
        let url = DatabaseUrl::parse(raw).unwrap();
        assert!(!format!("{url} {url:?}").contains("s3cr3t"));
        assert_eq!(url.scrub("auth failed for s3cr3t"), "auth failed for ***");
    }

    #[test]
    fn query_password_is_redacted() {
        let raw = "postgres://bob@host/db?password=hunter2&application_name=x";
        assert!(!redact_url(raw).contains("hunter2"));
    }

    #[test]
    fn url_without_password_is_unchanged() {
        let raw = "postgres://bob@host/db";
        assert_eq!(redact_url(raw), raw);
    }

    #[test]
    fn invalid_url_error_hides_password() {
        let err = DatabaseUrl::parse("postgres://u:topsecret@host:notaport/db").unwrap_err();
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }
}
