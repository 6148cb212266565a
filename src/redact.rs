//! The one redaction path for secrets. Every password the tool learns (from a URL, a
//! `key=value` string, `PGPASSWORD` or a pgpass file) is registered here, and every output
//! goes through here before it leaves the process: terminal text, error messages, warnings,
//! panic messages, the run record (its command line and database fields included) and
//! therefore every report rendered from it.
//!
//! Two complementary tools:
//!
//! - [`connection_string`] hides the password *where it is written* in a connection string,
//!   whatever its length and whether or not the string parses (a URL, libpq `key=value`
//!   pairs, or something in between).
//! - [`scrub`] removes every registered secret from arbitrary text (a driver error that
//!   echoes a URL, a server message). Secrets shorter than [`MIN_SCRUB_LEN`] characters are
//!   not searched for in free text: they would match ordinary words and numbers and turn a
//!   verdict into nonsense. They are still hidden wherever they are written.

use std::sync::Mutex;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};

/// What a hidden secret is shown as.
pub const MASK: &str = "***";

/// Secrets shorter than this (in characters) are hidden where they are written, not
/// searched for in other text.
pub const MIN_SCRUB_LEN: usize = 4;

/// Whether `secret` is searched for in text and hidden there ([`MIN_SCRUB_LEN`]).
pub fn is_scrubbed(secret: &str) -> bool {
    secret.chars().count() >= MIN_SCRUB_LEN
}

/// Connection parameters whose values are secrets, in URLs and `key=value` strings.
pub const SECRET_KEYS: [&str; 2] = ["password", "sslpassword"];

/// The characters a URL's user-info part percent-encodes (RFC 3986 / WHATWG userinfo set).
const USERINFO: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|')
    .add(b'%')
    .add(b'&')
    .add(b'\'');

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Register a secret: from now on [`scrub`] removes it, in the forms it may be printed in
/// (as is, percent-encoded as URLs write it, and escaped as JSON, HTML and libpq write it).
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    register_as_written(&forms_of(secret).join("\u{0}"));
}

/// The forms `secret` may be printed in: as is, percent-encoded, and escaped as JSON, HTML
/// and libpq write it.
fn forms_of(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    forms.push(utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string());
    forms.push(utf8_percent_encode(secret, USERINFO).to_string());
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    forms.push(
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;"),
    );
    forms.push(secret.replace('\\', "\\\\").replace('\'', "\\'"));
    forms
}

/// Register text exactly as the user wrote it (e.g. a percent-encoded password as it stands
/// in a URL). Forms are separated by NUL, which no secret contains.
pub fn register_as_written(forms: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for form in forms.split('\u{0}') {
        if !form.is_empty() && !secrets.iter().any(|s| s == form) {
            secrets.push(form.to_string());
        }
    }
}

/// Register every password written in `raw`, if it is (or contains) a connection string:
/// the user-info password of a URL, `password=` / `sslpassword=` values of a query string
/// or of libpq `key=value` pairs, as written and decoded. Used on every command-line
/// argument and on `DATABASE_URL`, so that a connection string given in the wrong place
/// (as a folder, say) is still never echoed with its password.
pub fn register_secrets_in(raw: &str) {
    for form in secrets_in(raw) {
        register_as_written(&form);
    }
}

/// Every form of every password written in `raw` (see [`register_secrets_in`]), without
/// registering them.
pub fn secrets_in(raw: &str) -> Vec<String> {
    let mut found = secrets_as_written(raw);
    // URL parsers drop tabs and line breaks wherever they stand (`p\tassword=` is read as
    // `password=`): read the string as they do too.
    let stripped: String = raw
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if stripped != raw {
        for form in secrets_as_written(&stripped) {
            if !found.contains(&form) {
                found.push(form);
            }
        }
    }
    found
}

fn secrets_as_written(raw: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut register = |secret: &str| {
        if !secret.is_empty() {
            found.extend(forms_of(secret));
        }
    };
    let decoded = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    // The user info ends at the last `@` for URL parsers and at the first for libpq: take
    // the password each would read.
    let first_at = rest.find('@');
    for at in [rest.rfind('@'), first_at].into_iter().flatten() {
        if let Some((_, pw)) = rest[..at].split_once(':') {
            register(pw);
            register(&decoded(pw));
        }
    }
    // A query string starts at the first `?`; its values may hold `?` themselves.
    let query = raw.split_once('?').map(|(_, q)| q).unwrap_or_default();
    for part in raw.split(['?', '&']).chain(query.split('&')) {
        if let Some((k, v)) = part.split_once('=') {
            if is_secret_key(&decode(k)) {
                register(v);
                register(&decoded(v));
            }
        }
    }
    // key=value pairs: the value after a secret keyword, quoted or not.
    let mut rest = raw;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].split_whitespace().last().unwrap_or("");
        let after = rest[eq + 1..].trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('\'') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '\'' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].replace('\\', ""), &after[end..])
        };
        if is_secret_key(key) {
            register(&value);
        }
        rest = next;
    }
    found
}

/// Register the secrets the environment holds for libpq-style clients (`PGPASSWORD`), which
/// the driver reads even when a URL is given.
pub fn register_environment() {
    if let Ok(pw) = std::env::var("PGPASSWORD") {
        register(&pw);
    }
}

/// Forget every registered secret. Only for harnesses that feed many unrelated inputs to
/// one process (the fuzz targets), so that each input starts from what a fresh run knows.
#[doc(hidden)]
pub fn forget_all() {
    SECRETS.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// Every registered secret form (for tests and for scrubbing with a snapshot of them).
pub fn registered() -> Vec<String> {
    SECRETS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `text` with every registered secret removed (see [`scrub_with`]).
pub fn scrub(text: &str) -> String {
    scrub_with(text, &registered())
}

/// `text` with every occurrence of each secret (of at least [`MIN_SCRUB_LEN`] characters)
/// replaced by [`MASK`]. The result never contains any of them: when masks placed side by
/// side would spell one again, the occurrences are removed instead until none is left.
///
/// ```
/// use reims_verify::redact::scrub_with;
/// let secrets = vec!["hunter2".to_string()];
/// assert_eq!(scrub_with("auth failed: hunter2", &secrets), "auth failed: ***");
/// ```
pub fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut long: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| is_scrubbed(s))
        .collect();
    if long.is_empty() {
        return text.to_string();
    }
    long.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in &long {
        if out.contains(s) {
            out = out.replace(s, MASK);
        }
    }
    // Masks next to text can spell a secret that contains `*`: remove until none is left
    // (each pass shortens the text, so this ends).
    while let Some(s) = long.iter().find(|s| out.contains(**s)) {
        out = out.replace(s, "");
    }
    out
}

/// A connection string as it may be shown: the password (and `sslpassword`) replaced by
/// [`MASK`] where it is written, whether or not the string is valid. URLs keep the user and
/// everything after the host; `key=value` strings keep every other pair. When the shape is
/// unclear, more is hidden rather than less.
///
/// ```
/// use reims_verify::redact::connection_string;
/// assert_eq!(
///     connection_string("postgres://alice:s3cret@db:5432/reims?sslmode=require"),
///     "postgres://alice:***@db:5432/reims?sslmode=require"
/// );
/// assert_eq!(
///     connection_string("host=db password='a b' dbname=reims"),
///     "host=db password=*** dbname=reims"
/// );
/// ```
pub fn connection_string(raw: &str) -> String {
    if let Some((scheme, rest)) = split_scheme(raw) {
        return format!("{scheme}://{}", url_rest(rest));
    }
    // libpq pairs start with a keyword and `=`; their values may hold `:`, `@` or `://`.
    let starts_with_keyword = raw.trim_start().split_once('=').is_some_and(|(k, _)| {
        let k = k.trim_end();
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if starts_with_keyword {
        return key_values(raw);
    }
    // `user:password@host…` without a scheme, even with a query string after it.
    let url_like = raw
        .rfind('@')
        .is_some_and(|at| raw[..at].contains(':') && !raw[..at].contains(char::is_whitespace));
    if url_like {
        return url_rest(raw);
    }
    if raw.contains('=') {
        return key_values(raw);
    }
    if raw.contains('@') {
        return url_rest(raw);
    }
    raw.to_string()
}

/// `raw` split at its `scheme://`, when it starts with one: a letter, then letters, digits,
/// `+`, `-` or `.` (RFC 3986). A `://` anywhere else, such as inside a quoted libpq
/// password (`password='a://b'`), does not make the string a URL.
pub fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = raw.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// The part of a URL after `scheme://`, with the user-info password and secret query
/// parameters hidden. The user info is taken to end at the *last* `@` anywhere, so that an
/// unencoded `@`, `/`, `?` or `#` in a password never shows.
fn url_rest(rest: &str) -> String {
    let (userinfo, tail) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut out = String::new();
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:{MASK}@")),
            None if userinfo.contains(['/', '?', '#', '&', '=']) => {
                out.push_str(&format!("{MASK}@"))
            }
            None => out.push_str(&format!("{userinfo}@")),
        }
    }
    match tail.split_once('?') {
        Some((base, query)) => {
            out.push_str(base);
            out.push('?');
            out.push_str(&query_params(query));
        }
        None => out.push_str(tail),
    }
    out
}

/// URL query parameters with secret values hidden. A segment without `=` right after a
/// secret is taken to be part of it (an unencoded `&` in the password).
fn query_params(query: &str) -> String {
    let mut parts = Vec::new();
    let mut in_secret = false;
    for segment in query.split('&') {
        match segment.split_once('=') {
            Some((k, _)) if is_secret_key(&decode(k)) => {
                parts.push(format!("{k}={MASK}"));
                in_secret = true;
            }
            Some(_) => {
                parts.push(segment.to_string());
                in_secret = false;
            }
            None if in_secret => {}
            None => parts.push(segment.to_string()),
        }
    }
    parts.join("&")
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .to_ascii_lowercase()
}

/// True for a connection parameter whose value is a secret.
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|k| key.trim().eq_ignore_ascii_case(k))
}

/// A libpq `key=value` string with secret values hidden, as written (quoted or not). An
/// unterminated quote after a secret key hides everything to the end.
fn key_values(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut after_secret = false;
    while i < chars.len() {
        // Copy whitespace and the keyword. Words between a secret value and the next
        // keyword are the rest of an unquoted secret with spaces: hidden.
        let start = i;
        while i < chars.len() && chars[i] != '=' {
            i += 1;
        }
        let keyword: String = chars[start..i].iter().collect();
        let words: Vec<&str> = keyword.split_whitespace().collect();
        if after_secret && i >= chars.len() && !words.is_empty() {
            out.push(' ');
            out.push_str(MASK);
            break;
        } else if after_secret && words.len() > 1 {
            out.push_str(&format!(" {MASK} {}", words[words.len() - 1]));
        } else {
            out.push_str(&keyword);
        }
        if i >= chars.len() {
            break;
        }
        out.push('=');
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            out.push(chars[i]);
            i += 1;
        }
        let last_word = keyword.split_whitespace().last().unwrap_or("");
        let secret = is_secret_key(last_word);
        let value_start = i;
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = i.min(chars.len());
        }
        after_secret = secret;
        if secret {
            out.push_str(MASK);
        } else {
            out.extend(&chars[value_start..i]);
        }
    }
    out
}

/// A command line with every secret hidden: connection strings (in any argument, or after
/// `=` in `--flag=value`), values of `--…password…` flags, then every registered secret.
pub fn command_line(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push(MASK.to_string());
            hide_next = false;
            continue;
        }
        let lower = arg.to_ascii_lowercase();
        if lower.starts_with("--") && lower.contains("password") && !arg.contains('=') {
            hide_next = true;
            out.push(arg.clone());
            continue;
        }
        out.push(scrub(&argument(arg)));
    }
    out
}

/// One argument with any password hidden.
fn argument(arg: &str) -> String {
    if let Some((flag, value)) = arg.split_once('=').filter(|(f, _)| f.starts_with("--")) {
        if flag.to_ascii_lowercase().contains("password") {
            return format!("{flag}={MASK}");
        }
        return format!("{flag}={}", argument(value));
    }
    if arg.contains("://") || arg.contains('=') || arg.contains('@') {
        connection_string(arg)
    } else {
        arg.to_string()
    }
}

/// Print panics through [`scrub`], so that not even a bug can print a password.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned());
        match payload {
            Some(message) if message != scrub(&message) => {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                errln!("reims-verify panicked{location}: {}", scrub(&message));
            }
            _ => previous(info),
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_scheme_makes_a_url() {
        assert_eq!(split_scheme("postgres://h/db"), Some(("postgres", "h/db")));
        assert_eq!(split_scheme("svn+ssh://h"), Some(("svn+ssh", "h")));
        for raw in [
            "host=h password='a://b'",
            "password=a://b",
            "://h",
            "1pg://h",
            "a b://h",
        ] {
            assert_eq!(split_scheme(raw), None, "{raw}");
        }
        assert_eq!(
            connection_string("host=h user=u password='a://Aä' dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        // Not a scheme, and no `=`: still hidden as user info up to the last `@`.
        assert_eq!(connection_string("a b://u:pw@h/db"), "a b:***@h/db");
        assert_eq!(
            connection_string("password=x://y@z host=h"),
            "password=*** host=h"
        );
    }

    #[test]
    fn masks_never_spell_a_secret() {
        let secrets = vec!["a***b".to_string(), "****".to_string()];
        for text in ["xa***by", "a****b", "********", "a*****b"] {
            let out = scrub_with(text, &secrets);
            assert!(secrets.iter().all(|s| !out.contains(s.as_str())), "{out}");
        }
    }

    #[test]
    fn short_secrets_are_hidden_where_written_only() {
        assert_eq!(
            scrub_with("PASS: 3 checks", &["3".into()]),
            "PASS: 3 checks"
        );
        assert_eq!(
            connection_string("postgres://u:3@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn short_passwords_are_masked_in_every_shape() {
        for raw in [
            "postgres://u:ab@h/db",
            "u:ab@h/db?sslmode=require",
            "host=h password=ab dbname=d",
            "host=h password='a b' dbname=d",
            "postgres://u@h/db?password=ab",
        ] {
            let shown = connection_string(raw);
            assert!(shown.contains(MASK), "{raw} -> {shown}");
            assert!(
                !shown.contains("ab@") && !shown.contains("=ab") && !shown.contains("a b"),
                "{raw} -> {shown}"
            );
        }
    }

    #[test]
    fn query_secrets_swallow_unencoded_ampersands() {
        let shown = connection_string("postgres://u@h/db?password=a&b&sslmode=require");
        assert_eq!(shown, "postgres://u@h/db?password=***&sslmode=require");
    }
}
