//! A server handed over by the user: a `postgres://` URL, a libpq `key=value` string, or the
//! standard `PG*` variables, read as libpq reads them, with its password-free display form.
//!
//! Every password met on the way (in the string, in `PGPASSWORD`, in a pgpass file) is
//! registered with [`crate::redact`] before anything can print it, and no error message
//! quotes the string itself: only its redacted form.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::error::{Error, Result};
use crate::redact;

/// A server the user handed over. Its `Display` and `Debug` never show the password.
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

/// The connection parameters reims-verify understands, by their libpq names.
const SUPPORTED: [&str; 13] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "application_name",
    "options",
];

/// libpq parameters that exist but that this tool's driver cannot honour; naming them
/// gives a clearer message than "unknown".
const LIBPQ_ONLY: [&str; 27] = [
    "connect_timeout",
    "client_encoding",
    "target_session_attrs",
    "gssencmode",
    "channel_binding",
    "service",
    "passfile",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "sslcompression",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "load_balance_hosts",
    "fallback_application_name",
    "require_auth",
    "sslcertmode",
    "gssdelegation",
];

/// Connection parameters gathered from a URL or a `key=value` string, before defaults.
#[derive(Default)]
struct Parts {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<PgSslMode>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
    application_name: Option<String>,
    options: Option<Vec<(String, String)>>,
}

impl DatabaseUrl {
    /// Parse a connection string as libpq does: `postgres://` or `postgresql://` is a URL,
    /// anything else with `=` is `key=value` pairs. The error message never contains the
    /// password, and names the next step.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        let shown = redact::connection_string(raw);
        let lower = raw.to_ascii_lowercase();
        let parts = if raw.contains('\0') {
            return Err(usage(
                &shown,
                "holds a NUL character, which no PostgreSQL client can send".into(),
                URL_HINT,
            ));
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            parse_url(raw, &shown)?
        } else if let Some((scheme, _)) = redact::split_scheme(raw) {
            return Err(usage(
                &shown,
                format!("`{scheme}://` is not a PostgreSQL URL"),
                URL_HINT,
            ));
        } else if raw.is_empty() {
            return Err(Error::Usage {
                message: "the database URL is empty".into(),
                hint: URL_HINT.into(),
            });
        } else if raw.contains('=') {
            parse_key_values(raw, &shown)?
        } else {
            return Err(usage(
                &shown,
                "is neither a postgres:// URL nor libpq key=value pairs".into(),
                URL_HINT,
            ));
        };
        Ok(build(parts, shown))
    }

    /// The server named by `PGHOST` / `PGPORT` / `PGUSER` / `PGPASSWORD` / `PGDATABASE` /
    /// `PGSSLMODE` …, when `PGHOST` is set (as psql reads them).
    pub fn from_pg_env() -> Option<Self> {
        std::env::var_os("PGHOST")?;
        let mut url = build(Parts::default(), String::new());
        let o = &url.options;
        url.shown = format!(
            "postgres://{}@{}:{}/{} (from PG* variables)",
            o.get_username(),
            o.get_socket()
                .map(|s| s.display().to_string())
                .unwrap_or_else(|| o.get_host().to_string()),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        );
        Some(url)
    }

    /// Connection options for sqlx.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// The password that will be sent, if any, so that messages can be scrubbed of it.
    pub fn password(&self) -> Option<String> {
        self.password.clone()
    }

    /// Remove every known secret from any text (e.g. a server or driver error message).
    pub fn scrub(&self, text: &str) -> String {
        redact::scrub(text)
    }
}

const URL_HINT: &str = "use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...] \
     (percent-encode special characters in the password: @ as %40, : as %3A, / as %2F) or \
     libpq pairs such as \"host=HOST user=USER password='...' dbname=DATABASE\"";

fn usage(shown: &str, message: String, hint: &str) -> Error {
    Error::Usage {
        message: format!("invalid database URL {shown}: {message}"),
        hint: hint.into(),
    }
}

/// Register every form in which the user-info password is written.
fn register_userinfo_secret(rest: &str) {
    if let Some(at) = rest.rfind('@') {
        if let Some((_, pw)) = rest[..at].split_once(':') {
            redact::register(pw);
            if let Ok(decoded) = percent_decode_str(pw).decode_utf8() {
                redact::register(&decoded);
            }
        }
    }
}

/// The host a URL with none is parsed with (`.invalid` is reserved: no server has it).
const NO_HOST: &str = "no-host.invalid";

fn parse_url(raw: &str, shown: &str) -> Result<Parts> {
    let rest = raw.split_once("://").map(|(_, r)| r).unwrap_or_default();
    register_userinfo_secret(rest);
    // Secret query values, as written and decoded, before anything can fail.
    if let Some((_, query)) = rest.split_once('?') {
        for kv in query.split('&') {
            if let Some((k, v)) = kv.split_once('=') {
                if redact::is_secret_key(&percent_decode_str(k).decode_utf8_lossy()) {
                    redact::register(v);
                    redact::register(&percent_decode_str(v).decode_utf8_lossy());
                }
            }
        }
    }
    // libpq takes the user info to end at the first `@` (before any `/`); URL parsers at
    // the last `@` of the authority (which ends at `/`, `?` or `#`). Where they disagree
    // the URL means two different servers: refuse it.
    let libpq_at = rest
        .find(['@', '/'])
        .filter(|&i| rest.as_bytes()[i] == b'@');
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let url_at = rest[..authority_end].rfind('@');
    if libpq_at != url_at {
        return Err(usage(
            shown,
            "the user name or password holds an unencoded `@`, `?` or `#`, so libpq (psql) \
             and URL parsers read a different host from it"
                .into(),
            "percent-encode those characters in the password: @ as %40, ? as %3F, # as %23, \
             / as %2F",
        ));
    }
    // libpq takes a user or a port with no host (`postgres://aud@/db?host=/run/pg`,
    // `postgres://:5433/db`), the host then coming from `host=` or the default; a URL
    // parser refuses an empty host after user info or before a port. Such a URL is parsed
    // with a stand-in host, which is then forgotten.
    let host_starts = url_at.map_or(0, |at| at + 1);
    let empty_host = rest[host_starts..authority_end].is_empty()
        || rest[host_starts..authority_end].starts_with(':');
    let with_host;
    let parsed = if empty_host && (url_at.is_some() || host_starts < authority_end) {
        let (scheme, _) = raw.split_once("://").unwrap_or_default();
        with_host = format!(
            "{scheme}://{}{NO_HOST}{}",
            &rest[..host_starts],
            &rest[host_starts..]
        );
        &with_host
    } else {
        raw
    };
    let url = url::Url::parse(parsed).map_err(|e| usage(shown, e.to_string(), URL_HINT))?;
    if url.fragment().is_some() {
        return Err(usage(
            shown,
            "a `#` fragment has no meaning in a connection URL".into(),
            "percent-encode `#` in a password as %23",
        ));
    }
    let decode = |what: &str, s: &str| -> Result<String> {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| {
                usage(
                    shown,
                    format!("the {what} is not valid UTF-8 once percent-decoded"),
                    URL_HINT,
                )
            })
    };
    let mut parts = Parts::default();
    if let Some(host) = url.host_str().filter(|h| !h.is_empty() && *h != NO_HOST) {
        parts.host = Some(decode("host", host)?);
    }
    parts.port = url.port();
    if !url.username().is_empty() {
        parts.user = Some(decode("user name", url.username())?);
    }
    if let Some(pw) = url.password() {
        // The password as the URL parser reads it, whatever the early guess registered.
        redact::register(pw);
        parts.password = Some(decode("password", pw)?);
        redact::register(parts.password.as_deref().unwrap_or_default());
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        parts.dbname = Some(decode("database name", path)?);
    }
    for (key, value) in url.query_pairs() {
        set_param(&mut parts, &key, &value, shown)?;
    }
    Ok(parts)
}

/// Split libpq `key=value` pairs: values may be single-quoted, and a backslash escapes the
/// next character. Messages name known keywords only, never a value.
fn split_key_values(raw: &str, shown: &str) -> Result<Vec<(String, String)>> {
    let chars: Vec<char> = raw.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_ws(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            let after = pairs
                .last()
                .map(|(k, _): &(String, String)| format!(" after `{k}=…`"))
                .unwrap_or_default();
            return Err(usage(
                shown,
                format!(
                    "text without `=`{after} (word {} of the string)",
                    pairs.len() + 1
                ),
                "write key=value pairs, and quote a value that holds spaces: password='a b'",
            ));
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                if redact::is_secret_key(&key) {
                    redact::register(&value);
                }
                return Err(usage(
                    shown,
                    format!("the quoted value of `{}` is not closed", known(&key)),
                    "close the quote; write a quote inside a value as \\'",
                ));
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        if redact::is_secret_key(&key) {
            redact::register(&value);
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// A keyword as it may appear in a message: known names as written, anything else not at
/// all (it could be part of a password).
fn known(key: &str) -> &str {
    if SUPPORTED.contains(&key) || LIBPQ_ONLY.contains(&key) {
        key
    } else {
        "an unknown keyword"
    }
}

fn parse_key_values(raw: &str, shown: &str) -> Result<Parts> {
    let pairs = split_key_values(raw, shown)?;
    let mut parts = Parts::default();
    for (key, value) in pairs {
        set_param(&mut parts, &key, &value, shown)?;
    }
    Ok(parts)
}

/// Apply one libpq parameter, refusing what cannot be honoured rather than ignoring it.
fn set_param(parts: &mut Parts, key: &str, value: &str, shown: &str) -> Result<()> {
    let nonempty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    match key {
        "host" | "hostaddr" => {
            if value.contains(',') {
                return Err(usage(
                    shown,
                    format!("several hosts in `{key}` are not supported"),
                    "name one server",
                ));
            }
            if key == "hostaddr" && value.parse::<std::net::IpAddr>().is_err() {
                return Err(usage(
                    shown,
                    "`hostaddr` must be a numeric IP address".into(),
                    "put a host name in `host`",
                ));
            }
            parts.host = nonempty(value);
        }
        "port" => {
            parts.port = Some(value.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                usage(
                    shown,
                    format!("port `{value}` is not a number from 1 to 65535"),
                    URL_HINT,
                )
            })?)
        }
        "dbname" => parts.dbname = nonempty(value),
        "user" => parts.user = nonempty(value),
        "password" => parts.password = Some(value.to_string()),
        "sslmode" => {
            parts.sslmode = Some(match value {
                "disable" => PgSslMode::Disable,
                "allow" => PgSslMode::Allow,
                "prefer" => PgSslMode::Prefer,
                "require" => PgSslMode::Require,
                "verify-ca" => PgSslMode::VerifyCa,
                "verify-full" => PgSslMode::VerifyFull,
                other => {
                    return Err(usage(
                        shown,
                        format!("sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                        "pick one of the libpq ssl modes",
                    ))
                }
            })
        }
        "sslrootcert" => parts.sslrootcert = nonempty(value),
        "sslcert" => parts.sslcert = nonempty(value),
        "sslkey" => parts.sslkey = nonempty(value),
        "sslpassword" => {
            return Err(usage(
                shown,
                "`sslpassword` (an encrypted client key) is not supported".into(),
                "decrypt the key file, or use a key without a passphrase",
            ))
        }
        "application_name" => parts.application_name = nonempty(value),
        "options" => {
            parts.options = Some(session_settings(value).ok_or_else(|| {
                usage(
                    shown,
                    "`options` must be server settings written as -c name=value".into(),
                    "write options='-c search_path=app -c work_mem=64MB'",
                )
            })?)
        }
        k if LIBPQ_ONLY.contains(&k) => {
            let hint = if k == "connect_timeout" {
                "use --connect-timeout SECONDS instead".to_string()
            } else {
                format!("remove it; supported: {}", SUPPORTED.join(", "))
            };
            return Err(usage(
                shown,
                format!("the libpq parameter `{k}` is not supported by reims-verify"),
                &hint,
            ));
        }
        _ => {
            return Err(usage(
                shown,
                "it names an unknown connection parameter".into(),
                &format!("supported parameters: {}", SUPPORTED.join(", ")),
            ))
        }
    }
    Ok(())
}

/// The server settings in a libpq `options` value: `-c name=value`, `-cname=value` or
/// `--name=value`; `None` for anything else.
fn session_settings(value: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut words = value.split_whitespace();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next()?
        } else {
            word.strip_prefix("-c")
                .or_else(|| word.strip_prefix("--"))?
        };
        let (k, v) = setting.split_once('=')?;
        if k.is_empty() {
            return None;
        }
        out.push((k.replace('-', "_"), v.to_string()));
    }
    Some(out)
}

/// Options from parameters over the `PG*` environment (as libpq: the string wins, the
/// environment fills gaps), with the password resolved once: the string's, else
/// `PGPASSWORD`, else the pgpass file's. The driver is never left to look one up itself,
/// so the tool always knows, and can scrub, the password it sends.
fn build(parts: Parts, shown: String) -> DatabaseUrl {
    let mut o = PgConnectOptions::new_without_pgpass();
    if let Some(host) = &parts.host {
        o = if host.starts_with('/') {
            o.socket(host)
        } else {
            o.host(host)
        };
    } else if let Ok(h) = std::env::var("PGHOST") {
        if h.starts_with('/') {
            o = o.socket(&h);
        }
    }
    if let Some(port) = parts.port {
        o = o.port(port);
    }
    if let Some(user) = &parts.user {
        o = o.username(user);
    }
    if let Some(db) = &parts.dbname {
        o = o.database(db);
    }
    if let Some(mode) = parts.sslmode {
        o = o.ssl_mode(mode);
    }
    if let Some(c) = &parts.sslrootcert {
        o = o.ssl_root_cert(c);
    }
    if let Some(c) = &parts.sslcert {
        o = o.ssl_client_cert(c);
    }
    if let Some(k) = &parts.sslkey {
        o = o.ssl_client_key(k);
    }
    if let Some(a) = &parts.application_name {
        o = o.application_name(a);
    }
    if let Some(settings) = &parts.options {
        o = o.options(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    let password = parts
        .password
        .clone()
        .or_else(|| std::env::var("PGPASSWORD").ok())
        .filter(|p| !p.is_empty())
        .or_else(|| {
            let socket = o.get_socket().is_some() || o.get_host().starts_with('/');
            let host = if socket { "localhost" } else { o.get_host() };
            let user = o.get_username().to_string();
            let db = o.get_database().unwrap_or(&user).to_string();
            pgpass_password(host, o.get_port(), &db, &user)
        });
    if let Some(pw) = &password {
        redact::register(pw);
        o = o.password(pw);
    }
    DatabaseUrl {
        options: o,
        shown,
        password,
    }
}

/// The pgpass file libpq would read: `PGPASSFILE`, else `~/.pgpass`.
fn pgpass_file() -> Option<PathBuf> {
    if let Some(f) = std::env::var_os("PGPASSFILE").filter(|f| !f.is_empty()) {
        return Some(PathBuf::from(f));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

/// The password for this server from the pgpass file, as libpq finds it: the first line
/// whose host, port, database and user match (`*` matches anything; `\` escapes `:` and
/// `\`). A file readable by group or others is ignored with a warning, as libpq does.
fn pgpass_password(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = pgpass_file()?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() {
        errln!(
            "warning: password file {} is not a plain file; it is ignored",
            path.display()
        );
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    // Register every password in the file first: whichever line the server ends up
    // matching, none of them may be printed.
    for line in text.lines() {
        if let Some(fields) = pgpass_fields(line) {
            redact::register(&fields[4]);
        }
    }
    if meta.permissions().mode() & 0o077 != 0 {
        errln!(
            "warning: password file {} has group or world access; it is ignored (chmod 0600 it)",
            path.display()
        );
        return None;
    }
    let port = port.to_string();
    text.lines().filter_map(pgpass_fields).find_map(|f| {
        let matches = |field: &str, value: &str| field == "*" || field == value;
        (matches(&f[0], host)
            && matches(&f[1], &port)
            && matches(&f[2], db)
            && matches(&f[3], user))
        .then(|| f[4].clone())
    })
}

/// The five fields of a pgpass line, unescaped; `None` for comments and malformed lines.
fn pgpass_fields(line: &str) -> Option<[String; 5]> {
    let line = line.trim_end_matches('\r');
    if line.trim_start().starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut()?.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}

/// The URL with its password replaced by `***` (see [`redact::connection_string`]).
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
    redact::connection_string(raw)
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
        assert_eq!(url.password().as_deref(), Some("s3cr3t"));
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

    #[test]
    fn percent_encoded_passwords_are_decoded() {
        let url = DatabaseUrl::parse("postgres://u:p%40ss%3Aw%2Frd@h/db").unwrap();
        assert_eq!(url.password().as_deref(), Some("p@ss:w/rd"));
        assert_eq!(url.to_string(), "postgres://u:***@h/db");
    }

    #[test]
    fn key_value_strings_are_read_as_libpq_reads_them() {
        let url = DatabaseUrl::parse(
            r"host=db.example port=6543 user=aud password='a b\'c' dbname=reims sslmode=require",
        )
        .unwrap();
        assert_eq!(url.password().as_deref(), Some("a b'c"));
        let o = url.connect_options();
        assert_eq!(
            (
                o.get_host(),
                o.get_port(),
                o.get_username(),
                o.get_database()
            ),
            ("db.example", 6543, "aud", Some("reims"))
        );
        assert_eq!(
            url.to_string(),
            "host=db.example port=6543 user=aud password=*** dbname=reims sslmode=require"
        );
    }

    #[test]
    fn a_quoted_password_holding_a_url_separator_stays_a_key_value_string() {
        // A `://` inside a libpq value once made the whole string look like a URL with the
        // "scheme" `host=db user=aud password='a`: refused, and shown unmasked.
        for raw in [
            "host=db.example user=aud password='a://Aä' dbname=reims",
            "password=x://y@z host=db.example user=aud dbname=reims",
        ] {
            let url = DatabaseUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            let pw = url.password().unwrap();
            assert!(pw.contains("://"), "{raw}: {pw}");
            let o = url.connect_options();
            assert_eq!((o.get_host(), o.get_username()), ("db.example", "aud"));
            let shown = format!("{url} {url:?}");
            assert!(!shown.contains(&pw), "{raw}: {shown}");
            assert!(shown.contains("password=***"), "{raw}: {shown}");
        }
    }

    #[test]
    fn a_url_may_leave_the_host_to_its_parameters_as_libpq_does() {
        let socket =
            |o: &sqlx::postgres::PgConnectOptions| o.get_socket().map(|p| p.display().to_string());
        let url = DatabaseUrl::parse("postgresql://postgres@/reims?host=/tmp/pg&port=5492")
            .unwrap_or_else(|e| panic!("{e}"));
        let o = url.connect_options();
        assert_eq!(
            (socket(&o), o.get_port(), o.get_username(), o.get_database()),
            (Some("/tmp/pg".into()), 5492, "postgres", Some("reims"))
        );
        let url = DatabaseUrl::parse("postgres://aud:pw@:5433/reims?host=/tmp/pg")
            .unwrap_or_else(|e| panic!("{e}"));
        let o = url.connect_options();
        assert_eq!((socket(&o), o.get_port()), (Some("/tmp/pg".into()), 5433));
        assert!(!format!("{url}").contains(NO_HOST), "{url}");
        // With no host anywhere, the stand-in is never the host.
        let url = DatabaseUrl::parse("postgres://aud@/reims").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(url.connect_options().get_host(), NO_HOST);
    }

    #[test]
    fn ambiguous_and_foreign_urls_are_refused() {
        for raw in [
            "postgres://auditor:hunt@r2@host/db",
            "postgres://auditor:hu?nt@host/db",
            "postgres://auditor:hu#nt@host/db",
            "mysql://auditor:huntr2@host/db",
            "postgres://auditor:huntr2@host/db?foo=bar",
            "postgres://auditor:huntr2@host/db?connect_timeout=3",
            "postgres://auditor:huntr2@host/db?sslmode=on",
            "host=h password=huntr2 nonsense",
            "host=h password='huntr2",
            "",
            "just-a-name",
        ] {
            let err = DatabaseUrl::parse(raw).unwrap_err();
            let text = format!("{err} {}", err.hint().unwrap_or_default());
            assert_eq!(err.exit_code().code(), 2, "{raw}: {text}");
            for secret in ["hunt", "huntr2", "r2@", "nt@"] {
                assert!(!text.contains(secret), "{raw}: {secret} in {text}");
            }
        }
    }

    #[test]
    fn pgpass_lines_unescape_and_match() {
        assert_eq!(
            pgpass_fields(r"db\:x:5432:*:aud:p\:w\\d"),
            Some([
                "db:x".into(),
                "5432".into(),
                "*".into(),
                "aud".into(),
                r"p:w\d".into()
            ])
        );
        assert_eq!(pgpass_fields("# comment"), None);
        assert_eq!(pgpass_fields("a:b:c"), None);
        assert_eq!(
            pgpass_fields("h:1:d:u:pw:with:colons").map(|f| f[4].clone()),
            Some("pw:with:colons".to_string())
        );
    }
}
