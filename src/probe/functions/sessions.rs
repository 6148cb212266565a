//! Property `sessions.lifecycle`: the seven session functions of `014_create_sessions.sql`,
//! driven by random operation sequences and compared after every step with a Rust model:
//!
//! - `create_session` makes an active session expiring after the requested hours;
//! - `validate_session` says valid exactly while the session is active, unrevoked and
//!   unexpired (and then stamps `last_activity`); a revoked or expired token is never valid;
//! - `revoke_session` / `revoke_all_user_sessions` deactivate and stamp the session(s);
//! - `get_user_active_sessions` lists exactly the active, unrevoked, unexpired sessions;
//! - `refresh_session` revokes the old session with reason `token_refreshed` and returns a
//!   new valid one for the same user and device; a used, revoked, unknown or expired
//!   refresh token (7 days from the session's creation, or `reims.refresh_token_days`) is
//!   refused with SQLSTATE 28000, as 014 raises;
//! - `cleanup_expired_sessions(N)` deletes exactly the sessions that expired more than N
//!   days ago.
//!
//! Time passing is played by moving the sessions' `created_at`, `expires_at`,
//! `last_activity` and `revoked_at` N minutes into the past.

use proptest::prelude::*;
use sqlx::PgConnection;
use uuid::Uuid;

use super::harness::{self, rel, rel_opt, sqlstate, Machine, Mismatch, Played, Step, Target};
use crate::error::Result;
use crate::probe::session::Needs;
use crate::probe::ProbeConfig;
use crate::verify::Finding;

/// Users per sequence.
const USERS: usize = 2;
const DEVICES: [&str; 4] = ["desktop", "mobile", "tablet", "api"];
const IPS: [&str; 3] = ["192.168.1.100", "10.0.0.7", "2001:db8::1"];
const REASONS: [&str; 3] = ["user_logout", "logout_all_devices", "password_changed"];
/// The SQLSTATE 014 raises for every refused refresh (invalid_authorization_specification).
const REFUSED: &str = "28000";
/// Refresh-token lifetime when `reims.refresh_token_days` is not set (seed: 7 days).
const DEFAULT_REFRESH_DAYS: i64 = 7;
const DAY: i64 = 86_400;

const LIFECYCLE: usize = 0;
const CREATE: usize = 1;
const VALIDATE: usize = 2;
const REVOKE: usize = 3;
const REVOKE_ALL: usize = 4;
const LIST: usize = 5;
const REFRESH: usize = 6;
const CLEANUP: usize = 7;

/// Prove the `sessions.lifecycle` property; one finding per session function.
pub async fn check(conn: &mut PgConnection, config: &ProbeConfig) -> Result<Vec<Finding>> {
    let refresh_days = refresh_token_days(conn).await?;
    let machine = Lifecycle {
        targets: targets(),
        refresh_days,
    };
    harness::prove(conn, config, &machine, sequences()).await
}

/// The refresh-token lifetime in days: `reims.refresh_token_days` when set, else 7.
async fn refresh_token_days(conn: &mut PgConnection) -> Result<i64> {
    let setting: Option<String> =
        sqlx::query_scalar("SELECT current_setting('reims.refresh_token_days', true)")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| crate::error::Error::database("reading reims.refresh_token_days", &e))?;
    Ok(setting
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_REFRESH_DAYS))
}

fn targets() -> Vec<Target> {
    let t = |object: &str, claim, hint| Target {
        code: "function.property",
        table: "user_sessions",
        object: object.to_string(),
        claim,
        hint,
    };
    vec![
        t(
            "sessions.lifecycle",
            "sessions follow the model: valid only while active, unrevoked and unexpired; a \
             refresh replaces its session exactly once",
            "Compare the session functions in migrations/014_create_sessions.sql with the seed \
             (014_create_sessions.sql); a failure while time passes means a CHECK of \
             user_sessions refused the shifted timestamps.",
        ),
        t(
            "create_session(uuid, text, text, inet, text, text, integer)",
            "a new session is active, unrevoked, and expires after the requested hours",
            "Compare create_session() in migrations/014_create_sessions.sql with the seed: \
             expires_in_hours (default 8 hours).",
        ),
        t(
            "validate_session(text)",
            "a token is valid exactly while its session is active, unrevoked and unexpired; a \
             valid check stamps last_activity",
            "Compare validate_session() in migrations/014_create_sessions.sql with the seed: \
             revocation means immediate session invalidation, expiry is enforced at database \
             level.",
        ),
        t(
            "revoke_session(text, text)",
            "revoking deactivates the session, stamps revoked_at, keeps the reason, and says \
             whether it revoked a session",
            "Compare revoke_session() in migrations/014_create_sessions.sql with the seed: \
             revoke session (logout) with a reason.",
        ),
        t(
            "revoke_all_user_sessions(uuid, text)",
            "every unrevoked session of the user, and no other, is revoked; the count is \
             returned",
            "Compare revoke_all_user_sessions() in migrations/014_create_sessions.sql with the \
             seed: logout from all devices.",
        ),
        t(
            "get_user_active_sessions(uuid)",
            "lists exactly the user's active, unrevoked, unexpired sessions",
            "Compare the WHERE clause of get_user_active_sessions() in \
             migrations/014_create_sessions.sql with validate_session()'s idea of valid.",
        ),
        t(
            "refresh_session(text, text, text, integer)",
            "a refresh revokes the old session ('token_refreshed') and returns a new valid \
             one; a used, revoked, unknown or expired refresh token is refused (SQLSTATE \
             28000)",
            "Compare refresh_session() in migrations/014_create_sessions.sql with the seed's \
             Token Refresh Flow: old session automatically revoked with reason \
             'token_refreshed'; refresh tokens live 7 days.",
        ),
        t(
            "cleanup_expired_sessions(integer)",
            "deletes exactly the sessions expired more than N days ago and returns how many",
            "Compare the DELETE of cleanup_expired_sessions() in \
             migrations/014_create_sessions.sql with the seed: cleanup 30 days after expiry \
             (default).",
        ),
    ]
}

/// Which session an operation addresses.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The sequence's session number `n` modulo the sessions so far (unknown if none).
    Existing(usize),
    /// A token no session has.
    Unknown,
}

/// One operation of a sequence.
#[derive(Debug, Clone)]
enum Op {
    Create {
        user: usize,
        hours: i32,
        device: usize,
        ip: usize,
    },
    Validate {
        session: Pick,
    },
    Revoke {
        session: Pick,
        reason: usize,
    },
    RevokeAll {
        user: usize,
        reason: usize,
    },
    ListActive {
        user: usize,
    },
    Refresh {
        session: Pick,
        hours: i32,
    },
    Cleanup {
        days: i32,
    },
    TimePasses {
        minutes: i64,
    },
}

fn hours() -> impl Strategy<Value = i32, Tree: Send> + Send + Sync {
    prop_oneof![2 => prop::sample::select(vec![1, 8, 24]), 1 => 1i32..=240]
}

fn minutes() -> impl Strategy<Value = i64, Tree: Send> + Send + Sync {
    prop_oneof![
        3 => prop::sample::select(vec![1i64, 60, 480, 1_440, 10_080, 43_200, 44_640]),
        1 => 1i64..=50_000,
    ]
}

fn pick() -> impl Strategy<Value = Pick, Tree: Send> + Send + Sync {
    prop_oneof![9 => (0usize..16).prop_map(Pick::Existing), 1 => Just(Pick::Unknown)]
}

fn op() -> impl Strategy<Value = Op, Tree: Send> + Send + Sync {
    prop_oneof![
        4 => (0..USERS, hours(), 0..DEVICES.len(), 0..IPS.len())
            .prop_map(|(user, hours, device, ip)| Op::Create { user, hours, device, ip }),
        3 => pick().prop_map(|session| Op::Validate { session }),
        3 => minutes().prop_map(|minutes| Op::TimePasses { minutes }),
        3 => (pick(), hours()).prop_map(|(session, hours)| Op::Refresh { session, hours }),
        2 => (pick(), 0..REASONS.len())
            .prop_map(|(session, reason)| Op::Revoke { session, reason }),
        1 => (0..USERS, 0..REASONS.len())
            .prop_map(|(user, reason)| Op::RevokeAll { user, reason }),
        2 => (0..USERS).prop_map(|user| Op::ListActive { user }),
        1 => prop_oneof![prop::sample::select(vec![0, 1, 7, 30]), 0i32..=45]
            .prop_map(|days| Op::Cleanup { days }),
    ]
}

/// Random sequences of 1 to 12 operations.
fn sequences() -> impl Strategy<Value = Vec<Op>, Tree: Send> + Send + Sync {
    prop::collection::vec(op(), 1..=12)
}

/// The model's view of one session; times are seconds relative to `CURRENT_TIMESTAMP`.
#[derive(Debug, Clone)]
struct Session {
    id: Uuid,
    user: usize,
    created: i64,
    expires: i64,
    last_activity: i64,
    active: bool,
    revoked: Option<(String, i64)>,
    device: &'static str,
    ip: &'static str,
    deleted: bool,
}

impl Session {
    fn new(id: Uuid, user: usize, hours: i32, device: &'static str, ip: &'static str) -> Self {
        Session {
            id,
            user,
            created: 0,
            expires: i64::from(hours) * 3_600,
            last_activity: 0,
            active: true,
            revoked: None,
            device,
            ip,
            deleted: false,
        }
    }

    fn valid(&self) -> bool {
        !self.deleted && self.active && self.revoked.is_none() && self.expires > 0
    }

    fn revoke(&mut self, reason: &str) {
        self.active = false;
        self.revoked = Some((reason.to_string(), 0));
    }

    fn shift(&mut self, seconds: i64) {
        self.created -= seconds;
        self.expires -= seconds;
        self.last_activity -= seconds;
        if let Some((_, at)) = &mut self.revoked {
            *at -= seconds;
        }
    }

    /// The stored row as the model expects it (`n` is the session's number).
    fn render(&self, n: usize) -> String {
        let (reason, at) = match &self.revoked {
            Some((reason, at)) => (reason.as_str(), Some(*at)),
            None => ("-", None),
        };
        render_row(&RowView {
            n,
            user: self.user,
            active: self.active,
            created: self.created,
            expires: self.expires,
            last_activity: self.last_activity,
            revoked_at: at,
            reason,
            refresh: &refresh_token(n),
            device: self.device,
            ip: self.ip,
        })
    }
}

/// The columns of a session row the property compares.
struct RowView<'a> {
    n: usize,
    user: usize,
    active: bool,
    created: i64,
    expires: i64,
    last_activity: i64,
    revoked_at: Option<i64>,
    reason: &'a str,
    refresh: &'a str,
    device: &'a str,
    ip: &'a str,
}

fn render_row(r: &RowView) -> String {
    format!(
        "s{} of u{}: is_active={} created_at={} expires_at={} last_activity={} revoked_at={} \
         revoked_reason={} refresh_token={} device_type={} ip_address={}",
        r.n,
        r.user,
        r.active,
        rel(r.created),
        rel(r.expires),
        rel(r.last_activity),
        rel_opt(r.revoked_at),
        r.reason,
        r.refresh,
        r.device,
        r.ip
    )
}

fn session_token(n: usize) -> String {
    format!("rv-probe-session-{n}")
}

fn refresh_token(n: usize) -> String {
    format!("rv-probe-refresh-{n}")
}

/// The sequence's state: the users, and every session ever created (deleted ones stay, so
/// that their tokens can be replayed as unknown ones).
struct World {
    users: Vec<Uuid>,
    sessions: Vec<Session>,
    refresh_days: i64,
}

impl World {
    /// The session number an operation picks, if any session exists.
    fn resolve(&self, pick: Pick) -> Option<usize> {
        match pick {
            Pick::Existing(i) if !self.sessions.is_empty() => Some(i % self.sessions.len()),
            _ => None,
        }
    }

    /// The live (not deleted) session number `n`.
    fn live(&self, n: Option<usize>) -> Option<&Session> {
        n.and_then(|n| self.sessions.get(n)).filter(|s| !s.deleted)
    }

    fn name_of(&self, id: Option<Uuid>) -> String {
        match id {
            None => "NULL".to_string(),
            Some(id) => self
                .sessions
                .iter()
                .position(|s| s.id == id)
                .map_or_else(|| "an unknown session".to_string(), |n| format!("s{n}")),
        }
    }

    fn user_name(&self, id: Option<Uuid>) -> String {
        match id.and_then(|id| self.users.iter().position(|u| *u == id)) {
            Some(u) => format!("u{u}"),
            None => format!("{id:?}"),
        }
    }
}

/// A value a function returned, `NULL` when it returned none.
fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "NULL".to_string(), |v| v.to_string())
}

fn token_of(n: Option<usize>) -> String {
    n.map_or_else(|| "rv-probe-unknown-session".to_string(), session_token)
}

fn refresh_of(n: Option<usize>) -> String {
    n.map_or_else(|| "rv-probe-unknown-refresh".to_string(), refresh_token)
}

fn pick_label(n: Option<usize>) -> String {
    n.map_or_else(|| "an unknown token".to_string(), |n| format!("s{n}"))
}

/// The `sessions.lifecycle` machine.
struct Lifecycle {
    targets: Vec<Target>,
    refresh_days: i64,
}

impl Machine for Lifecycle {
    type Op = Op;

    fn name(&self) -> &str {
        "sessions.lifecycle"
    }

    fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        needs.table("INSERT", "users");
        for p in ["INSERT", "UPDATE", "DELETE"] {
            needs.table(p, "user_sessions");
        }
        for f in &self.targets {
            if f.object.contains('(') {
                needs.functions.insert(f.object.clone());
            }
        }
        needs
    }

    fn fixed(&self) -> Vec<Vec<Op>> {
        let create = |user, hours| Op::Create {
            user,
            hours,
            device: 0,
            ip: 0,
        };
        let s = |n| Pick::Existing(n);
        let validate = |n| Op::Validate { session: s(n) };
        let refresh = |n| Op::Refresh {
            session: s(n),
            hours: 8,
        };
        let wait = |minutes| Op::TimePasses { minutes };
        vec![
            // refresh, then replay the used refresh token
            vec![
                create(0, 8),
                validate(0),
                refresh(0),
                validate(0),
                validate(1),
                refresh(0),
                Op::ListActive { user: 0 },
            ],
            // the JWT expires at exactly 8 hours; the refresh token still works
            vec![
                create(0, 8),
                wait(480),
                validate(0),
                Op::ListActive { user: 0 },
                refresh(0),
                validate(1),
            ],
            // revocation, one and all
            vec![
                create(0, 1),
                create(1, 1),
                Op::Revoke {
                    session: s(0),
                    reason: 0,
                },
                validate(0),
                refresh(0),
                Op::RevokeAll { user: 1, reason: 1 },
                validate(1),
                Op::Revoke {
                    session: s(0),
                    reason: 0,
                },
                Op::Revoke {
                    session: Pick::Unknown,
                    reason: 0,
                },
            ],
            // cleanup keeps a session expired exactly N days ago, deletes older ones
            vec![
                create(0, 24),
                wait(44_640),
                Op::Cleanup { days: 30 },
                Op::Cleanup { days: 29 },
                validate(0),
            ],
            // the refresh token expires 7 days after the session was created
            vec![
                create(0, 200),
                wait(10_080),
                refresh(0),
                validate(0),
                refresh(1),
            ],
        ]
    }

    async fn play(&self, conn: &mut PgConnection, ops: &[Op]) -> Played {
        let mut played = Played::new(self.targets.len());
        let mut world = match create_users(conn, self.refresh_days).await {
            Ok(world) => world,
            Err(err) => {
                played.step(format!("create users u0..u{}", USERS - 1));
                played.record(Mismatch::db(
                    LIFECYCLE,
                    "creating the test users",
                    "new users",
                    &err,
                ));
                return played;
            }
        };
        for op in ops {
            played.step(label(op, &world));
            played.call(LIFECYCLE);
            let outcome = match apply(conn, &mut world, op, &mut played).await {
                Ok(()) => compare_state(conn, &world, target_of(op)).await,
                Err(m) => Err(m),
            };
            if let Err(mismatch) = outcome {
                played.record(mismatch);
                break;
            }
        }
        played
    }
}

async fn create_users(
    conn: &mut PgConnection,
    refresh_days: i64,
) -> std::result::Result<World, sqlx::Error> {
    let mut users = Vec::new();
    for user in 0..USERS {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (email, username, password_hash) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(format!("rv-probe-sessions-u{user}@reims-verify.invalid"))
        .bind(format!("rv_probe_sessions_u{user}"))
        .bind(format!("$2b$12${:.>53}", user))
        .fetch_one(&mut *conn)
        .await?;
        users.push(id);
    }
    Ok(World {
        users,
        sessions: Vec::new(),
        refresh_days,
    })
}

fn target_of(op: &Op) -> usize {
    match op {
        Op::Create { .. } => CREATE,
        Op::Validate { .. } => VALIDATE,
        Op::Revoke { .. } => REVOKE,
        Op::RevokeAll { .. } => REVOKE_ALL,
        Op::ListActive { .. } => LIST,
        Op::Refresh { .. } => REFRESH,
        Op::Cleanup { .. } => CLEANUP,
        Op::TimePasses { .. } => LIFECYCLE,
    }
}

fn label(op: &Op, world: &World) -> String {
    let next = world.sessions.len();
    match op {
        Op::Create {
            user,
            hours,
            device,
            ..
        } => format!(
            "create_session(u{user}, {}, {hours} h) → s{next}",
            DEVICES[*device]
        ),
        Op::Validate { session } => {
            format!("validate_session({})", pick_label(world.resolve(*session)))
        }
        Op::Revoke { session, reason } => format!(
            "revoke_session({}, '{}')",
            pick_label(world.resolve(*session)),
            REASONS[*reason]
        ),
        Op::RevokeAll { user, reason } => {
            format!("revoke_all_user_sessions(u{user}, '{}')", REASONS[*reason])
        }
        Op::ListActive { user } => format!("get_user_active_sessions(u{user})"),
        Op::Refresh { session, hours } => format!(
            "refresh_session(refresh token of {}, {hours} h) → s{next}?",
            pick_label(world.resolve(*session))
        ),
        Op::Cleanup { days } => format!("cleanup_expired_sessions({days})"),
        Op::TimePasses { minutes } => format!("{minutes} minutes pass"),
    }
}

async fn apply(conn: &mut PgConnection, world: &mut World, op: &Op, played: &mut Played) -> Step {
    if !matches!(op, Op::TimePasses { .. }) {
        played.call(target_of(op));
    }
    match op {
        Op::Create {
            user,
            hours,
            device,
            ip,
        } => create(conn, world, *user, *hours, DEVICES[*device], IPS[*ip]).await,
        Op::Validate { session } => validate(conn, world, world.resolve(*session)).await,
        Op::Revoke { session, reason } => {
            revoke(conn, world, world.resolve(*session), REASONS[*reason]).await
        }
        Op::RevokeAll { user, reason } => revoke_all(conn, world, *user, REASONS[*reason]).await,
        Op::ListActive { user } => list_active(conn, world, *user).await,
        Op::Refresh { session, hours } => {
            refresh(conn, world, world.resolve(*session), *hours).await
        }
        Op::Cleanup { days } => cleanup(conn, world, *days).await,
        Op::TimePasses { minutes } => time_passes(conn, world, *minutes).await,
    }
}

async fn create(
    conn: &mut PgConnection,
    world: &mut World,
    user: usize,
    hours: i32,
    device: &'static str,
    ip: &'static str,
) -> Step {
    let what = "the id create_session returns";
    let n = world.sessions.len();
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT create_session($1, $2, $3, $4::inet, 'rv-probe agent', $5, $6)")
            .bind(world.users[user])
            .bind(session_token(n))
            .bind(refresh_token(n))
            .bind(ip)
            .bind(device)
            .bind(hours)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| Mismatch::db(CREATE, what, "a new session id", &e))?;
    let id =
        id.ok_or_else(|| Mismatch::new(CREATE, what, "a new session id".into(), "NULL".into()))?;
    world
        .sessions
        .push(Session::new(id, user, hours, device, ip));
    Ok(())
}

type ValidateRow = (Option<Uuid>, Option<Uuid>, Option<bool>, Option<i64>);

async fn validate(conn: &mut PgConnection, world: &mut World, n: Option<usize>) -> Step {
    let what = "the rows validate_session returns";
    let rows: Vec<ValidateRow> = sqlx::query_as(
        "SELECT session_id, user_id, is_valid, \
                round(extract(epoch FROM expires_at - CURRENT_TIMESTAMP))::bigint \
           FROM validate_session($1)",
    )
    .bind(token_of(n))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Mismatch::db(VALIDATE, what, "one row", &e))?;
    let actual = render_validate_rows(world, &rows);
    let Some(session) = world.live(n) else {
        let refused = matches!(rows.as_slice(), [] | [(None, _, Some(false), _)]);
        return refused.then_some(()).ok_or_else(|| {
            let expected = "no row, or one row with no session and is_valid=false";
            Mismatch::new(VALIDATE, what, expected.into(), actual)
        });
    };
    let valid = session.valid();
    let expected_row = (
        Some(session.id),
        Some(world.users[session.user]),
        Some(valid),
        Some(session.expires),
    );
    if rows.as_slice() != [expected_row] {
        let expected = render_validate_rows(world, &[expected_row]);
        return Err(Mismatch::new(VALIDATE, what, expected, actual));
    }
    if valid {
        if let Some(s) = n.and_then(|n| world.sessions.get_mut(n)) {
            s.last_activity = 0;
        }
    }
    Ok(())
}

fn render_validate_rows(world: &World, rows: &[ValidateRow]) -> String {
    if rows.is_empty() {
        return "no row".to_string();
    }
    rows.iter()
        .map(|(id, user, valid, expires)| {
            format!(
                "(session {}, user {}, is_valid={}, expires_at={})",
                world.name_of(*id),
                world.user_name(*user),
                show(*valid),
                rel_opt(*expires)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn revoke(
    conn: &mut PgConnection,
    world: &mut World,
    n: Option<usize>,
    reason: &str,
) -> Step {
    let what = "the value revoke_session returns";
    let actual: Option<bool> = sqlx::query_scalar("SELECT revoke_session($1, $2)")
        .bind(token_of(n))
        .bind(reason)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(REVOKE, what, "a boolean", &e))?;
    let expected = world.live(n).is_some_and(|s| s.revoked.is_none());
    if actual != Some(expected) {
        return Err(Mismatch::new(
            REVOKE,
            what,
            expected.to_string(),
            show(actual),
        ));
    }
    if expected {
        if let Some(s) = n.and_then(|n| world.sessions.get_mut(n)) {
            s.revoke(reason);
        }
    }
    Ok(())
}

async fn revoke_all(conn: &mut PgConnection, world: &mut World, user: usize, reason: &str) -> Step {
    let what = "the count revoke_all_user_sessions returns";
    let actual: Option<i32> = sqlx::query_scalar("SELECT revoke_all_user_sessions($1, $2)")
        .bind(world.users[user])
        .bind(reason)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(REVOKE_ALL, what, "a count", &e))?;
    let mut expected = 0;
    for s in world.sessions.iter_mut() {
        if s.user == user && !s.deleted && s.revoked.is_none() {
            s.revoke(reason);
            expected += 1;
        }
    }
    if actual == Some(expected) {
        Ok(())
    } else {
        Err(Mismatch::new(
            REVOKE_ALL,
            what,
            expected.to_string(),
            show(actual),
        ))
    }
}

async fn list_active(conn: &mut PgConnection, world: &World, user: usize) -> Step {
    let what = "the sessions get_user_active_sessions lists";
    let rows: Vec<(Option<Uuid>, Option<i64>)> = sqlx::query_as(
        "SELECT session_id, round(extract(epoch FROM expires_at - CURRENT_TIMESTAMP))::bigint \
           FROM get_user_active_sessions($1)",
    )
    .bind(world.users[user])
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Mismatch::db(LIST, what, "the active sessions", &e))?;
    let mut actual: Vec<String> = rows
        .iter()
        .map(|(id, expires)| format!("{} (expires_at={})", world.name_of(*id), rel_opt(*expires)))
        .collect();
    actual.sort();
    let mut expected: Vec<String> = world
        .sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| s.user == user && s.valid())
        .map(|(n, s)| format!("s{n} (expires_at={})", rel(s.expires)))
        .collect();
    expected.sort();
    if actual == expected {
        Ok(())
    } else {
        let show = |v: &[String]| format!("[{}]", v.join(", "));
        Err(Mismatch::new(LIST, what, show(&expected), show(&actual)))
    }
}

/// Why the model refuses a refresh, or `None` when it accepts it.
fn refresh_refusal(world: &World, n: Option<usize>) -> Option<&'static str> {
    let Some(s) = world.live(n) else {
        return Some("unknown refresh token");
    };
    match &s.revoked {
        Some((reason, _)) if reason == "token_refreshed" => Some("refresh token already used"),
        Some(_) => Some("session revoked"),
        None if !s.active => Some("session inactive"),
        None if s.created + world.refresh_days * DAY <= 0 => Some("refresh token expired"),
        None => None,
    }
}

async fn refresh(conn: &mut PgConnection, world: &mut World, n: Option<usize>, hours: i32) -> Step {
    let what = "the outcome of refresh_session";
    let next = world.sessions.len();
    harness::open_step(conn)
        .await
        .map_err(|e| Mismatch::db(REFRESH, what, "a savepoint", &e))?;
    let result: std::result::Result<Option<Uuid>, sqlx::Error> =
        sqlx::query_scalar("SELECT refresh_session($1, $2, $3, $4)")
            .bind(refresh_of(n))
            .bind(session_token(next))
            .bind(refresh_token(next))
            .bind(hours)
            .fetch_one(&mut *conn)
            .await;
    harness::close_step(conn, result.is_ok())
        .await
        .map_err(|e| Mismatch::db(REFRESH, what, "a savepoint", &e))?;
    judge_refresh(world, n, hours, result)
}

/// Compare a refresh's outcome with the model, and play it on the model when accepted.
fn judge_refresh(
    world: &mut World,
    n: Option<usize>,
    hours: i32,
    result: std::result::Result<Option<Uuid>, sqlx::Error>,
) -> Step {
    let what = "the outcome of refresh_session";
    let next = world.sessions.len();
    match (refresh_refusal(world, n), result) {
        (None, Ok(Some(id))) => {
            accept_refresh(world, n, id, hours);
            Ok(())
        }
        (Some(_), Err(e)) if sqlstate(&e).as_deref() == Some(REFUSED) => Ok(()),
        (None, Ok(None)) => Err(Mismatch::new(
            REFRESH,
            what,
            format!("a new session s{next}"),
            "NULL".into(),
        )),
        (None, Err(e)) => Err(Mismatch::db(
            REFRESH,
            what,
            &format!("a new session s{next}"),
            &e,
        )),
        (Some(why), Ok(id)) => Err(Mismatch::new(
            REFRESH,
            what,
            format!("refused with SQLSTATE {REFUSED} ({why})"),
            format!("accepted, new session {}", world.name_of(id)),
        )),
        (Some(why), Err(e)) => Err(Mismatch::db(
            REFRESH,
            what,
            &format!("refused with SQLSTATE {REFUSED} ({why})"),
            &e,
        )),
    }
}

fn accept_refresh(world: &mut World, n: Option<usize>, id: Uuid, hours: i32) {
    let Some(old) = n.and_then(|n| world.sessions.get_mut(n)) else {
        return;
    };
    old.revoke("token_refreshed");
    let (user, device, ip) = (old.user, old.device, old.ip);
    world
        .sessions
        .push(Session::new(id, user, hours, device, ip));
}

async fn other_sessions(
    conn: &mut PgConnection,
    world: &World,
) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM user_sessions WHERE user_id <> ALL($1)")
        .bind(&world.users)
        .fetch_one(&mut *conn)
        .await
}

async fn cleanup(conn: &mut PgConnection, world: &mut World, days: i32) -> Step {
    let what = "the count cleanup_expired_sessions returns";
    let count = |e: sqlx::Error| Mismatch::db(CLEANUP, "counting other sessions", "a count", &e);
    let others_before = other_sessions(conn, world).await.map_err(count)?;
    let actual: Option<i32> = sqlx::query_scalar("SELECT cleanup_expired_sessions($1)")
        .bind(days)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(CLEANUP, what, "a count", &e))?;
    let others_after = other_sessions(conn, world).await.map_err(count)?;
    let mut expected = others_before - others_after;
    for s in world.sessions.iter_mut() {
        if !s.deleted && s.expires < -i64::from(days) * DAY {
            s.deleted = true;
            expected += 1;
        }
    }
    if actual.map(i64::from) == Some(expected) {
        Ok(())
    } else {
        Err(Mismatch::new(
            CLEANUP,
            what,
            expected.to_string(),
            show(actual),
        ))
    }
}

async fn time_passes(conn: &mut PgConnection, world: &mut World, minutes: i64) -> Step {
    let sql = "UPDATE user_sessions \
                  SET created_at = created_at - make_interval(mins => $2), \
                      expires_at = expires_at - make_interval(mins => $2), \
                      last_activity = last_activity - make_interval(mins => $2), \
                      revoked_at = revoked_at - make_interval(mins => $2) \
                WHERE user_id = ANY($1)";
    sqlx::query(sql)
        .bind(&world.users)
        .bind(minutes as i32)
        .execute(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(LIFECYCLE, "moving the sessions' timestamps", "success", &e))?;
    for s in world.sessions.iter_mut() {
        s.shift(minutes * 60);
    }
    Ok(())
}

type StateRow = (
    String,
    i64,
    Option<String>,
    bool,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    Uuid,
);

/// Compare every session of the sequence's users with the model.
async fn compare_state(conn: &mut PgConnection, world: &World, target: usize) -> Step {
    let what = "the sessions' stored state";
    let rows: Vec<StateRow> = sqlx::query_as(
        "SELECT s.session_token, k.n - 1, s.refresh_token, s.is_active, \
                round(extract(epoch FROM s.created_at - CURRENT_TIMESTAMP))::bigint, \
                round(extract(epoch FROM s.expires_at - CURRENT_TIMESTAMP))::bigint, \
                round(extract(epoch FROM s.last_activity - CURRENT_TIMESTAMP))::bigint, \
                round(extract(epoch FROM s.revoked_at - CURRENT_TIMESTAMP))::bigint, \
                s.revoked_reason::text, s.device_type::text, host(s.ip_address), s.id \
           FROM user_sessions s \
           JOIN unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) ON s.user_id = k.id",
    )
    .bind(&world.users)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Mismatch::db(target, what, "the sessions' rows", &e))?;
    for (n, session) in world.sessions.iter().enumerate() {
        let row = rows.iter().find(|r| r.0 == session_token(n));
        let expected = if session.deleted {
            "no row (deleted)".to_string()
        } else {
            session.render(n)
        };
        let actual = row.map_or_else(|| "no row (deleted)".to_string(), |r| render_state(n, r));
        let same_id = row.is_none_or(|r| r.11 == session.id);
        if actual != expected || !same_id {
            let actual = if same_id {
                actual
            } else {
                format!("{actual} with another id")
            };
            return Err(Mismatch::new(target, what, expected, actual));
        }
    }
    match rows.iter().find(|r| !world_has_token(world, &r.0)) {
        Some(extra) => Err(Mismatch::new(
            target,
            what,
            "no other session of the test users".into(),
            format!("an extra session with token {}", extra.0),
        )),
        None => Ok(()),
    }
}

fn world_has_token(world: &World, token: &str) -> bool {
    (0..world.sessions.len()).any(|n| session_token(n) == token)
}

fn render_state(n: usize, r: &StateRow) -> String {
    render_row(&RowView {
        n,
        user: usize::try_from(r.1).unwrap_or(usize::MAX),
        active: r.3,
        created: r.4,
        expires: r.5,
        last_activity: r.6,
        revoked_at: r.7,
        reason: r.8.as_deref().unwrap_or("-"),
        refresh: r.2.as_deref().unwrap_or("-"),
        device: &r.9,
        ip: r.10.as_deref().unwrap_or("-"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World {
            users: vec![Uuid::nil()],
            sessions: vec![Session::new(Uuid::nil(), 0, 8, "desktop", "10.0.0.7")],
            refresh_days: 7,
        }
    }

    #[test]
    fn the_refresh_token_expires_seven_days_after_creation() {
        let mut w = world();
        w.sessions[0].shift(7 * DAY - 1);
        assert_eq!(refresh_refusal(&w, Some(0)), None);
        w.sessions[0].shift(1);
        assert_eq!(refresh_refusal(&w, Some(0)), Some("refresh token expired"));
    }

    #[test]
    fn a_used_refresh_token_is_refused() {
        let mut w = world();
        accept_refresh(&mut w, Some(0), Uuid::max(), 8);
        assert_eq!(
            refresh_refusal(&w, Some(0)),
            Some("refresh token already used")
        );
        assert_eq!(refresh_refusal(&w, Some(1)), None);
        assert!(!w.sessions[0].valid() && w.sessions[1].valid());
    }
}
