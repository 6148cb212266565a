//! The migration lock: a session-level advisory lock per database, so two runners never
//! interleave. A runner that finds it taken waits, says who holds it, and gives up after a
//! limit it names.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::{Error, Result};

/// The advisory-lock key that keeps two runners from interleaving (ASCII "reimsver").
pub const ADVISORY_LOCK_KEY: i64 = 0x7265_696d_7376_6572;

/// How long a runner waits for the lock unless told otherwise (`--lock-wait`).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(300);

/// The session holding the lock, as `pg_locks` and `pg_stat_activity` show it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Holder {
    pid: i32,
    application: Option<String>,
    user: Option<String>,
    client: Option<String>,
    connected: Option<DateTime<Utc>>,
    applying: Option<(String, DateTime<Utc>)>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let now = Utc::now();
        write!(f, "backend pid {}", self.pid)?;
        if let Some(app) = self.application.as_deref().filter(|a| !a.is_empty()) {
            write!(f, ", application {app}")?;
        }
        if let Some(user) = &self.user {
            write!(f, ", user {user}")?;
        }
        match &self.client {
            Some(c) => write!(f, ", client {c}")?,
            None => write!(f, ", local socket")?,
        }
        if let Some(t) = self.connected {
            write!(
                f,
                ", connected since {} ({} s ago)",
                t.format("%Y-%m-%d %H:%M:%S UTC"),
                (now - t).num_seconds().max(0)
            )?;
        }
        if let Some((file, since)) = &self.applying {
            write!(
                f,
                "; it is applying {file} since {}",
                since.format("%H:%M:%S UTC")
            )?;
        }
        Ok(())
    }
}

/// pid, application, user, client address, client port, session start.
type HolderRow = (
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<DateTime<Utc>>,
);

/// Who holds the migration lock on this database, if anyone (and if this role may see it).
pub(crate) async fn holder(conn: &mut PgConnection) -> Option<Holder> {
    let key = ADVISORY_LOCK_KEY;
    let row: Option<HolderRow> = sqlx::query_as(
        "SELECT a.pid, a.application_name, a.usename::pg_catalog.text,
                    pg_catalog.host(a.client_addr), a.client_port, a.backend_start
               FROM pg_catalog.pg_locks l
               JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                   WHERE d.datname = pg_catalog.current_database())
                AND l.classid = ($1::pg_catalog.int8)::pg_catalog.oid
                AND l.objid = ($2::pg_catalog.int8)::pg_catalog.oid
              LIMIT 1",
    )
    .bind(key >> 32)
    .bind(key & 0xffff_ffff)
    .fetch_optional(&mut *conn)
    .await
    .ok()
    .flatten();
    let (pid, application, user, addr, port, connected) = row?;
    let client = match (addr, port) {
        (Some(a), Some(p)) if p > 0 => Some(format!("{a}:{p}")),
        (Some(a), _) => Some(a),
        _ => None,
    };
    Some(Holder {
        pid,
        application,
        user,
        client,
        connected,
        applying: super::attempts::running(conn).await,
    })
}

/// Take the migration lock on `conn`, waiting up to `wait` while another session holds it,
/// and saying on stderr who that is.
pub(crate) async fn acquire(conn: &mut PgConnection, wait: Duration) -> Result<()> {
    let started = Instant::now();
    let mut announced: Option<i32> = None;
    let mut pause = Duration::from_millis(50);
    loop {
        if try_acquire(conn).await? {
            if announced.is_some() {
                errln!(
                    "reims-verify: got the migration lock after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        let who = holder(conn).await;
        let shown = who
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "a session this role cannot see".into());
        if started.elapsed() >= wait {
            let pid = who.as_ref().map(|h| h.pid.to_string());
            return Err(Error::Server {
                context: "waiting for the migration lock".into(),
                message: format!(
                    "another session held it for the whole --lock-wait of {}: {shown}",
                    show_duration(wait)
                ),
                hint: format!(
                    "let that run finish and try again, raise --lock-wait (e.g. --lock-wait 30min){}",
                    pid.map(|p| format!(", or, if it is stuck, end it with SELECT pg_terminate_backend({p})"))
                        .unwrap_or_default()
                ),
            });
        }
        let pid = who.as_ref().map(|h| h.pid).unwrap_or(-1);
        if announced != Some(pid) {
            errln!(
                "reims-verify: waiting for the migration lock (up to {}, --lock-wait): held by {shown}",
                show_duration(wait)
            );
            announced = Some(pid);
        }
        let left = wait.saturating_sub(started.elapsed());
        tokio::time::sleep(pause.min(left).max(Duration::from_millis(10))).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Take the migration lock on `conn` if it is free now; false when another session holds it.
pub(crate) async fn try_acquire(conn: &mut PgConnection) -> Result<bool> {
    sqlx::query_scalar("SELECT pg_catalog.pg_try_advisory_lock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Error::database("taking the migration lock", &e))
}

/// Give the lock back (best effort: closing the session releases it too).
pub(crate) async fn release(conn: &mut PgConnection) {
    let _ = sqlx::query("SELECT pg_catalog.pg_advisory_unlock($1)")
        .bind(ADVISORY_LOCK_KEY)
        .execute(&mut *conn)
        .await;
}

/// `5min`, `30s`, `1.5s` for messages.
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 || s == 0 {
        format!("{}ms", d.as_millis())
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}min", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Parse a duration as PostgreSQL spells them: a number with a unit `ms`, `s`, `min`, `h`
/// or `d` (`500ms`, `30s`, `5min`); `0` alone means zero.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. 30s, 5min or 1h"))?;
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 30s, 5min or 1h"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "`{other}` is not a unit in `{text}`: use ms, s, min, h or d"
            ))
        }
    };
    if !secs.is_finite() || secs > 365.0 * 86400.0 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_postgresql_spells_them() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5min").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "30", "banana", "5 minutes", "-1s", "1e400s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_print_in_the_same_units() {
        assert_eq!(show_duration(Duration::from_secs(300)), "5min");
        assert_eq!(show_duration(Duration::from_secs(30)), "30s");
        assert_eq!(show_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
    }
}
