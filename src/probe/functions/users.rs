//! Property `users.lockout`: the account-security functions of `013_create_users.sql`
//! (`record_failed_login`, `record_successful_login`, `is_account_locked`,
//! `get_user_permissions`) and the `track_password_change` trigger, driven by random
//! operation sequences and compared after every step with a Rust model of the seed's rules:
//!
//! - five failed logins lock the account for 30 minutes; a successful login resets the
//!   count and lifts the lock; an unknown e-mail changes no row at all;
//! - `is_account_locked` is true exactly while the lock lies in the future, and lifts an
//!   expired lock (resetting its count, as 013 documents);
//! - a failure on an expired lock starts a fresh count; failures while locked are counted
//!   but do not extend the lock (013's documented reading; the seed is silent);
//! - changing `password_hash` stamps `password_changed_at` and resets the count;
//! - `get_user_permissions` follows the seed's role table.
//!
//! Time passing is played by moving the users' stored timestamps (`created_at`, so that
//! `users_account_locked_check` still holds, `account_locked_until`, `last_login`,
//! `password_changed_at`) N minutes into the past.

use proptest::prelude::*;
use sqlx::PgConnection;
use uuid::Uuid;

use super::harness::{self, rel, rel_opt, Machine, Mismatch, Played, Step, Target};
use crate::error::Result;
use crate::probe::session::Needs;
use crate::probe::ProbeConfig;
use crate::verify::Finding;

/// Users per sequence.
const USERS: usize = 2;
/// Client addresses a successful login may come from.
const IPS: [&str; 3] = ["192.168.1.100", "10.0.0.7", "2001:db8::1"];
/// Failed logins that lock an account (seed: "5 failed attempts = 30 min lock").
const LOCK_AFTER: i32 = 5;
/// Lock length in seconds (30 minutes).
const LOCK_SECONDS: i64 = 30 * 60;

const LOCKOUT: usize = 0;
const FAILED: usize = 1;
const SUCCESS: usize = 2;
const LOCKED: usize = 3;
const PERMISSIONS: usize = 4;
const PASSWORD: usize = 5;

/// Prove the `users.lockout` property; one finding per function (and trigger) it covers.
pub async fn check(conn: &mut PgConnection, config: &ProbeConfig) -> Result<Vec<Finding>> {
    let machine = Lockout { targets: targets() };
    harness::prove(conn, config, &machine, sequences()).await
}

fn targets() -> Vec<Target> {
    let function = |object: &str, claim, hint| Target {
        code: "function.property",
        table: "users",
        object: object.to_string(),
        claim,
        hint,
    };
    vec![
        function(
            "users.lockout",
            "five failed logins lock the account for 30 minutes; a successful login or an \
             expired lock resets the count",
            "Read the lock rules in migrations/013_create_users.sql against the seed \
             (013_create_users.sql: 5 failed attempts = 30 min lock).",
        ),
        function(
            "record_failed_login(text)",
            "each failed login counts one attempt, the fifth locks the account for 30 \
             minutes, an unknown e-mail changes no row",
            "Compare record_failed_login() in migrations/013_create_users.sql with the seed: \
             auto-locks after 5 attempts for 30 minutes.",
        ),
        function(
            "record_successful_login(uuid, inet)",
            "a successful login resets the count, lifts any lock and stamps last_login and \
             last_login_ip",
            "Compare record_successful_login() in migrations/013_create_users.sql with the \
             seed: resets attempts, updates last_login.",
        ),
        function(
            "is_account_locked(uuid)",
            "true exactly while the lock lies in the future; an expired lock is lifted",
            "Compare is_account_locked() in migrations/013_create_users.sql with the seed: \
             auto-unlocks if expired.",
        ),
        function(
            "get_user_permissions(uuid)",
            "each role gets exactly the seed's permissions (admin: all; supervisor: all but \
             admin; analyst: create, read, update; viewer: read)",
            "Compare get_user_permissions() in migrations/013_create_users.sql with the \
             seed's role hierarchy table.",
        ),
        Target {
            code: "trigger.property",
            table: "users",
            object: "users.track_password_change".to_string(),
            claim: "changing password_hash stamps password_changed_at and resets \
                    failed_login_attempts; other updates change neither",
            hint: "Compare track_password_change() in migrations/013_create_users.sql with \
                   the seed: auto-sets password_changed_at, resets failed attempts.",
        },
    ]
}

/// A role of the seed's role table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Supervisor,
    Analyst,
    Viewer,
}

impl Role {
    const ALL: [Role; 4] = [Role::Admin, Role::Supervisor, Role::Analyst, Role::Viewer];

    fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    /// The seed's table: can create, read, update, delete, approve, admin.
    fn permissions(self) -> [bool; 6] {
        match self {
            Role::Admin => [true; 6],
            Role::Supervisor => [true, true, true, true, true, false],
            Role::Analyst => [true, true, true, false, false, false],
            Role::Viewer => [false, true, false, false, false, false],
        }
    }
}

/// Permissions as the granted names, e.g. `create, read, update`.
fn render_permissions(p: &[bool; 6]) -> String {
    let names = ["create", "read", "update", "delete", "approve", "admin"];
    let granted: Vec<&str> = names
        .iter()
        .zip(p)
        .filter(|(_, g)| **g)
        .map(|(n, _)| *n)
        .collect();
    if granted.is_empty() {
        "nothing".to_string()
    } else {
        granted.join(", ")
    }
}

/// One operation of a sequence. `user` indexes the sequence's users.
#[derive(Debug, Clone)]
enum Op {
    /// `record_failed_login` `times` times in a row (upper-case e-mail when `shout`).
    FailedLogins { user: usize, times: u8, shout: bool },
    /// `record_failed_login` with an e-mail no user has.
    FailedLoginUnknown,
    /// `record_successful_login` from `IPS[ip]`.
    SuccessfulLogin { user: usize, ip: usize },
    /// `is_account_locked`.
    IsLocked { user: usize },
    /// `UPDATE users SET password_hash = <new hash>`.
    ChangePassword { user: usize },
    /// `UPDATE users SET first_name = …` (not a password change).
    TouchProfile { user: usize },
    /// `UPDATE users SET role = …`.
    SetRole { user: usize, role: Role },
    /// `get_user_permissions`.
    Permissions { user: usize },
    /// The clock moves forward `minutes` minutes.
    TimePasses { minutes: i64 },
}

fn minutes() -> impl Strategy<Value = i64, Tree: Send> + Send + Sync {
    prop_oneof![
        3 => prop::sample::select(vec![1i64, 29, 30, 31, 60]),
        1 => 1i64..=24 * 60,
    ]
}

fn role() -> impl Strategy<Value = Role, Tree: Send> + Send + Sync {
    prop::sample::select(Role::ALL.to_vec())
}

fn op() -> impl Strategy<Value = Op, Tree: Send> + Send + Sync {
    prop_oneof![
        5 => (0..USERS, 1u8..=6, prop::bool::weighted(0.2))
            .prop_map(|(user, times, shout)| Op::FailedLogins { user, times, shout }),
        3 => (0..USERS).prop_map(|user| Op::IsLocked { user }),
        3 => minutes().prop_map(|minutes| Op::TimePasses { minutes }),
        2 => (0..USERS, 0..IPS.len()).prop_map(|(user, ip)| Op::SuccessfulLogin { user, ip }),
        1 => Just(Op::FailedLoginUnknown),
        1 => (0..USERS).prop_map(|user| Op::ChangePassword { user }),
        1 => (0..USERS).prop_map(|user| Op::TouchProfile { user }),
        1 => (0..USERS, role()).prop_map(|(user, role)| Op::SetRole { user, role }),
        1 => (0..USERS).prop_map(|user| Op::Permissions { user }),
    ]
}

/// Random sequences of 1 to 12 operations.
fn sequences() -> impl Strategy<Value = Vec<Op>, Tree: Send> + Send + Sync {
    prop::collection::vec(op(), 1..=12)
}

/// The model's view of one account; times are seconds relative to `CURRENT_TIMESTAMP`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    attempts: i32,
    locked_until: Option<i64>,
    last_login: Option<i64>,
    last_login_ip: Option<String>,
    password_changed_at: i64,
    role: String,
}

impl Account {
    fn new(role: Role) -> Self {
        Account {
            attempts: 0,
            locked_until: None,
            last_login: None,
            last_login_ip: None,
            password_changed_at: 0,
            role: role.name().to_string(),
        }
    }

    fn render(&self) -> String {
        format!(
            "failed_login_attempts={} account_locked_until={} last_login={} last_login_ip={} \
             password_changed_at={} role={}",
            self.attempts,
            rel_opt(self.locked_until),
            rel_opt(self.last_login),
            self.last_login_ip.as_deref().unwrap_or("-"),
            rel(self.password_changed_at),
            self.role
        )
    }

    /// Clear a lock that has expired (and its count).
    fn lift_expired_lock(&mut self) {
        if self.locked_until.is_some_and(|t| t <= 0) {
            self.locked_until = None;
            self.attempts = 0;
        }
    }

    fn failed_login(&mut self) {
        self.lift_expired_lock();
        self.attempts += 1;
        if self.attempts >= LOCK_AFTER && self.locked_until.is_none() {
            self.locked_until = Some(LOCK_SECONDS);
        }
    }

    fn successful_login(&mut self, ip: &str) {
        self.attempts = 0;
        self.locked_until = None;
        self.last_login = Some(0);
        self.last_login_ip = Some(ip.to_string());
    }

    fn is_locked(&mut self) -> bool {
        self.lift_expired_lock();
        self.locked_until.is_some_and(|t| t > 0)
    }

    fn shift(&mut self, seconds: i64) {
        self.locked_until = self.locked_until.map(|t| t - seconds);
        self.last_login = self.last_login.map(|t| t - seconds);
        self.password_changed_at -= seconds;
    }
}

/// The sequence's state: the model accounts and the database ids behind them.
struct World {
    ids: Vec<Uuid>,
    accounts: Vec<Account>,
    passwords_set: u32,
}

fn email(user: usize) -> String {
    format!("rv-probe-lockout-u{user}@reims-verify.invalid")
}

/// A valid bcrypt-shaped hash, different for each `n`.
fn password_hash(n: u32) -> String {
    format!("$2b$12${n:.>53}")
}

/// The `users.lockout` machine.
struct Lockout {
    targets: Vec<Target>,
}

impl Machine for Lockout {
    type Op = Op;

    fn name(&self) -> &str {
        "users.lockout"
    }

    fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        needs.table("INSERT", "users");
        needs.table("UPDATE", "users");
        for f in &self.targets {
            if f.code == "function.property" && f.object.contains('(') {
                needs.functions.insert(f.object.clone());
            }
        }
        needs
    }

    fn fixed(&self) -> Vec<Vec<Op>> {
        let fail = |times| Op::FailedLogins {
            user: 0,
            times,
            shout: false,
        };
        let locked = Op::IsLocked { user: 0 };
        let wait = |minutes| Op::TimePasses { minutes };
        let roles = Role::ALL
            .iter()
            .flat_map(|&role| [Op::SetRole { user: 0, role }, Op::Permissions { user: 0 }])
            .collect();
        vec![
            vec![
                fail(5),
                locked.clone(),
                wait(29),
                locked.clone(),
                wait(1),
                locked.clone(),
                fail(1),
            ],
            vec![
                fail(4),
                Op::SuccessfulLogin { user: 0, ip: 0 },
                fail(4),
                locked.clone(),
            ],
            vec![fail(5), Op::SuccessfulLogin { user: 0, ip: 1 }, locked],
            vec![fail(5), wait(31), fail(1), Op::FailedLoginUnknown],
            vec![
                wait(60),
                fail(3),
                Op::ChangePassword { user: 0 },
                Op::TouchProfile { user: 0 },
            ],
            roles,
        ]
    }

    async fn play(&self, conn: &mut PgConnection, ops: &[Op]) -> Played {
        let mut played = Played::new(self.targets.len());
        let mut world = match create_users(conn).await {
            Ok(world) => world,
            Err(err) => {
                played.step(format!("create users u0..u{}", USERS - 1));
                played.record(Mismatch::db(
                    LOCKOUT,
                    "creating the test users",
                    "new users",
                    &err,
                ));
                return played;
            }
        };
        for op in ops {
            played.step(label(op));
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

/// Insert the sequence's users: u0 an analyst, u1 a viewer.
async fn create_users(conn: &mut PgConnection) -> std::result::Result<World, sqlx::Error> {
    let roles = [Role::Analyst, Role::Viewer];
    let mut ids = Vec::new();
    for (user, role) in roles.iter().enumerate().take(USERS) {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (email, username, password_hash, role) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email(user))
        .bind(format!("rv_probe_lockout_u{user}"))
        .bind(password_hash(0))
        .bind(role.name())
        .fetch_one(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(World {
        ids,
        accounts: roles.iter().take(USERS).map(|r| Account::new(*r)).collect(),
        passwords_set: 0,
    })
}

/// The object an operation exercises.
fn target_of(op: &Op) -> usize {
    match op {
        Op::FailedLogins { .. } | Op::FailedLoginUnknown => FAILED,
        Op::SuccessfulLogin { .. } => SUCCESS,
        Op::IsLocked { .. } => LOCKED,
        Op::ChangePassword { .. } | Op::TouchProfile { .. } => PASSWORD,
        Op::SetRole { .. } | Op::Permissions { .. } => PERMISSIONS,
        Op::TimePasses { .. } => LOCKOUT,
    }
}

fn label(op: &Op) -> String {
    match op {
        Op::FailedLogins { user, times, shout } => {
            let case = if *shout { ", e-mail in upper case" } else { "" };
            format!("record_failed_login(u{user}{case}) ×{times}")
        }
        Op::FailedLoginUnknown => "record_failed_login(unknown e-mail)".to_string(),
        Op::SuccessfulLogin { user, ip } => {
            format!("record_successful_login(u{user}, {})", IPS[*ip])
        }
        Op::IsLocked { user } => format!("is_account_locked(u{user})"),
        Op::ChangePassword { user } => format!("UPDATE u{user} SET password_hash = <new hash>"),
        Op::TouchProfile { user } => format!("UPDATE u{user} SET first_name = …"),
        Op::SetRole { user, role } => format!("UPDATE u{user} SET role = '{}'", role.name()),
        Op::Permissions { user } => format!("get_user_permissions(u{user})"),
        Op::TimePasses { minutes } => format!("{minutes} minutes pass"),
    }
}

/// Play one operation on the database and on the model.
async fn apply(conn: &mut PgConnection, world: &mut World, op: &Op, played: &mut Played) -> Step {
    played.call(LOCKOUT);
    if !matches!(op, Op::SetRole { .. } | Op::TimePasses { .. }) {
        played.call(target_of(op));
    }
    match op {
        Op::FailedLogins { user, times, shout } => {
            failed_logins(conn, world, *user, *times, *shout, played).await
        }
        Op::FailedLoginUnknown => failed_login_unknown(conn).await,
        Op::SuccessfulLogin { user, ip } => {
            let sql = "SELECT record_successful_login($1, $2::inet)";
            run(conn, sql, world.ids[*user], Some(IPS[*ip]), SUCCESS).await?;
            world.accounts[*user].successful_login(IPS[*ip]);
            Ok(())
        }
        Op::IsLocked { user } => is_locked(conn, world, *user).await,
        Op::ChangePassword { user } => {
            world.passwords_set += 1;
            let hash = password_hash(world.passwords_set);
            let sql = "UPDATE users SET password_hash = $2 WHERE id = $1";
            run(conn, sql, world.ids[*user], Some(&hash), PASSWORD).await?;
            world.accounts[*user].attempts = 0;
            world.accounts[*user].password_changed_at = 0;
            Ok(())
        }
        Op::TouchProfile { user } => {
            let sql = "UPDATE users SET first_name = $2 WHERE id = $1";
            run(conn, sql, world.ids[*user], Some("Probe"), PASSWORD).await
        }
        Op::SetRole { user, role } => {
            let sql = "UPDATE users SET role = $2 WHERE id = $1";
            run(conn, sql, world.ids[*user], Some(role.name()), PERMISSIONS).await?;
            world.accounts[*user].role = role.name().to_string();
            Ok(())
        }
        Op::Permissions { user } => permissions(conn, world, *user).await,
        Op::TimePasses { minutes } => time_passes(conn, world, *minutes).await,
    }
}

/// Run a statement on one user that returns nothing the property looks at.
async fn run(
    conn: &mut PgConnection,
    sql: &str,
    id: Uuid,
    arg: Option<&str>,
    target: usize,
) -> Step {
    let mut query = sqlx::query(sql).bind(id);
    if let Some(arg) = arg {
        query = query.bind(arg);
    }
    query
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| Mismatch::db(target, sql, "success", &e))
}

async fn failed_logins(
    conn: &mut PgConnection,
    world: &mut World,
    user: usize,
    times: u8,
    shout: bool,
    played: &mut Played,
) -> Step {
    let address = if shout {
        email(user).to_uppercase()
    } else {
        email(user)
    };
    for n in 1..=times {
        if n > 1 {
            played.call(FAILED);
        }
        sqlx::query("SELECT record_failed_login($1)")
            .bind(&address)
            .execute(&mut *conn)
            .await
            .map_err(|e| Mismatch::db(FAILED, "record_failed_login", "success", &e))?;
        world.accounts[user].failed_login();
        if n < times {
            compare_state(conn, world, FAILED)
                .await
                .map_err(|m| Mismatch {
                    what: format!("{} after call {n} of {times}", m.what),
                    ..m
                })?;
        }
    }
    Ok(())
}

/// A digest of every row of `users`, to prove that nothing changed.
async fn users_digest(conn: &mut PgConnection) -> std::result::Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM users u",
    )
    .fetch_one(&mut *conn)
    .await
}

async fn failed_login_unknown(conn: &mut PgConnection) -> Step {
    let what = "the users table after record_failed_login(unknown e-mail)";
    let before = users_digest(conn)
        .await
        .map_err(|e| Mismatch::db(FAILED, what, "a digest", &e))?;
    sqlx::query("SELECT record_failed_login($1)")
        .bind("rv-probe-nobody@reims-verify.invalid")
        .execute(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(FAILED, "record_failed_login", "success", &e))?;
    let after = users_digest(conn)
        .await
        .map_err(|e| Mismatch::db(FAILED, what, "a digest", &e))?;
    if before == after {
        Ok(())
    } else {
        Err(Mismatch::new(
            FAILED,
            what,
            "no row changed".to_string(),
            "some row of users changed".to_string(),
        ))
    }
}

async fn is_locked(conn: &mut PgConnection, world: &mut World, user: usize) -> Step {
    let what = "the value of is_account_locked";
    let actual: Option<bool> = sqlx::query_scalar("SELECT is_account_locked($1)")
        .bind(world.ids[user])
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(LOCKED, what, "a boolean", &e))?;
    let expected = world.accounts[user].is_locked();
    if actual == Some(expected) {
        Ok(())
    } else {
        Err(Mismatch::new(
            LOCKED,
            what,
            expected.to_string(),
            actual.map_or_else(|| "NULL".to_string(), |b| b.to_string()),
        ))
    }
}

async fn permissions(conn: &mut PgConnection, world: &World, user: usize) -> Step {
    let what = "the rows of get_user_permissions";
    let rows: Vec<(bool, bool, bool, bool, bool, bool)> = sqlx::query_as(
        "SELECT can_create, can_read, can_update, can_delete, can_approve, can_admin \
           FROM get_user_permissions($1)",
    )
    .bind(world.ids[user])
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Mismatch::db(PERMISSIONS, what, "one row", &e))?;
    let account = &world.accounts[user];
    let role = Role::ALL
        .into_iter()
        .find(|r| r.name() == account.role)
        .unwrap_or(Role::Viewer);
    let expected = role.permissions();
    let actual: Vec<[bool; 6]> = rows
        .iter()
        .map(|r| [r.0, r.1, r.2, r.3, r.4, r.5])
        .collect();
    if actual == [expected] {
        return Ok(());
    }
    let rendered: Vec<String> = actual.iter().map(render_permissions).collect();
    Err(Mismatch::new(
        PERMISSIONS,
        &format!("{what} for role {}", account.role),
        format!("one row: {}", render_permissions(&expected)),
        format!("{} row(s): {}", rendered.len(), rendered.join(" | ")),
    ))
}

async fn time_passes(conn: &mut PgConnection, world: &mut World, minutes: i64) -> Step {
    let sql = "UPDATE users SET created_at = created_at - make_interval(mins => $2), \
                      account_locked_until = account_locked_until - make_interval(mins => $2), \
                      last_login = last_login - make_interval(mins => $2), \
                      password_changed_at = password_changed_at - make_interval(mins => $2) \
                WHERE id = ANY($1)";
    sqlx::query(sql)
        .bind(&world.ids)
        .bind(minutes as i32)
        .execute(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(LOCKOUT, "moving the users' timestamps", "success", &e))?;
    for account in &mut world.accounts {
        account.shift(minutes * 60);
    }
    Ok(())
}

type StateRow = (
    Option<i32>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// Compare every user's stored state with the model; a difference is charged to `target`.
async fn compare_state(conn: &mut PgConnection, world: &World, target: usize) -> Step {
    let what = "the users' stored state";
    let rows: Vec<StateRow> = sqlx::query_as(
        "SELECT u.failed_login_attempts, \
                round(extract(epoch FROM u.account_locked_until - CURRENT_TIMESTAMP))::bigint, \
                round(extract(epoch FROM u.last_login - CURRENT_TIMESTAMP))::bigint, \
                host(u.last_login_ip), \
                round(extract(epoch FROM u.password_changed_at - CURRENT_TIMESTAMP))::bigint, \
                u.role::text \
           FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) \
           LEFT JOIN users u ON u.id = k.id \
          ORDER BY k.n",
    )
    .bind(&world.ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Mismatch::db(target, what, "the users' rows", &e))?;
    for (user, (expected, row)) in world.accounts.iter().zip(rows).enumerate() {
        let actual = match row {
            (
                Some(attempts),
                locked_until,
                last_login,
                last_login_ip,
                Some(changed),
                Some(role),
            ) => Account {
                attempts,
                locked_until,
                last_login,
                last_login_ip,
                password_changed_at: changed,
                role,
            }
            .render(),
            _ => "the row is gone".to_string(),
        };
        if actual != expected.render() {
            return Err(Mismatch::new(
                target,
                what,
                format!("u{user}: {}", expected.render()),
                format!("u{user}: {actual}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_locks_on_the_fifth_failure_for_thirty_minutes() {
        let mut a = Account::new(Role::Analyst);
        for _ in 0..4 {
            a.failed_login();
        }
        assert!(!a.is_locked());
        a.failed_login();
        assert_eq!(a.locked_until, Some(1800));
        a.shift(1799);
        assert!(a.is_locked());
        a.shift(1);
        assert!(!a.is_locked());
        assert_eq!((a.attempts, a.locked_until), (0, None));
    }

    #[test]
    fn the_role_table_is_the_seeds() {
        assert_eq!(render_permissions(&Role::Viewer.permissions()), "read");
        assert_eq!(
            render_permissions(&Role::Analyst.permissions()),
            "create, read, update"
        );
        assert_eq!(password_hash(7).len(), 60);
    }
}
