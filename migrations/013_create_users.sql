-- =============================================================================
-- 013_create_users.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   users (23 columns) -- authentication, role-based access control,
--             account security (MFA, locking, password policy), committees
--   * UNIQUE  users_email_key, users_username_key
--   * FK      users_created_by_fkey -> users(id) ON DELETE SET NULL
--   * 11 named CHECK constraints (see below)
--   * 9 indexes: idx_users_email_lower (UNIQUE, lower(email)),
--             idx_users_username_lower (UNIQUE, lower(username)),
--             idx_users_role, idx_users_active (partial),
--             idx_users_email_verified (partial), idx_users_locked (partial),
--             idx_users_mfa (partial), idx_users_last_login (DESC),
--             idx_users_committee (partial)
--   * triggers update_user_timestamp, track_password_change (BEFORE UPDATE)
--   * functions is_account_locked(uuid), record_failed_login(text),
--             record_successful_login(uuid, inet), get_user_permissions(uuid)
--
-- Business requirement: BR-008 (security & access control), as the seed says.
-- (The seed also labels anomaly detection BR-008; both are kept as written.)
--
-- Source: shared/seed/migrations-README.md, section "013_create_users.sql".
--
-- Lock rule (CHECK users_account_locked_check). The seed says
-- "account_locked: Future timestamp if set". Written literally as
--     account_locked_until IS NULL OR account_locked_until > CURRENT_TIMESTAMP
-- the rule is re-evaluated on EVERY later UPDATE of the row, so once a lock
-- has expired the row could not be updated at all (role change,
-- deactivation, the seed's "Enable MFA" UPDATE, the ON DELETE SET NULL of
-- users_created_by_fkey, pg_dump/restore of the data ...) unless that same
-- statement cleared the lock. The constraint is therefore written as
--     account_locked_until IS NULL OR account_locked_until > created_at
-- which is stable over time (a lock is a moment after the account existed)
-- and never breaks unrelated updates. "In the future" is guaranteed where
-- locks are set: record_failed_login() sets CURRENT_TIMESTAMP + 30 minutes.
-- Belt and braces, every function below that updates a user ALSO clears an
-- expired lock in the same statement (is_account_locked,
-- record_failed_login, record_successful_login), so they would keep working
-- under the stricter CURRENT_TIMESTAMP form as well.
--
-- Other choices:
--   * The 11 CHECKs: role, email format, username format (3-100 chars of
--     [A-Za-z0-9_-]), password_hash bcrypt format ($2a$/$2b$/$2y$, cost,
--     53-char salt+hash: 60 chars in all), failed_login_attempts >= 0,
--     account_locked (above), email_verified_timestamp (email_verified_at only
--     if is_email_verified), mfa_secret only if mfa_enabled, phone format,
--     email not blank, username not blank.
--   * Both a UNIQUE constraint on email / username (the seed marks the
--     columns UNIQUE) and the seed's UNIQUE indexes on lower(...) exist; the
--     latter make uniqueness case-insensitive and serve lookups.
--   * Partial indexes are keyed on the column they are named after:
--     idx_users_active (is_active) WHERE is_active = true,
--     idx_users_email_verified (is_email_verified) WHERE is_email_verified = false,
--     idx_users_locked (account_locked_until) WHERE account_locked_until IS NOT NULL,
--     idx_users_mfa (mfa_enabled) WHERE mfa_enabled = true,
--     idx_users_committee (committee_member) WHERE committee_member IS NOT NULL.
--   * committee_member is the NAME of the committee (text), not a boolean: the
--     seed's committee query groups by it.
--   * created_by references users(id) (inferred FK, ON DELETE SET NULL).
--   * get_user_permissions() follows the seed's role table only; it does not
--     look at is_active (callers check is_active at login).
-- =============================================================================

CREATE TABLE users (
    id                      UUID          PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Account
    email                   VARCHAR(255)  NOT NULL UNIQUE,
    username                VARCHAR(100)  NOT NULL UNIQUE,
    password_hash           VARCHAR(255)  NOT NULL,

    -- Profile
    first_name              VARCHAR(100),
    last_name               VARCHAR(100),
    phone                   VARCHAR(25),

    -- Role & permissions
    role                    VARCHAR(20)   NOT NULL DEFAULT 'viewer',
    permissions             TEXT[]        NOT NULL DEFAULT '{}',
    committee_member        VARCHAR(100),

    -- Status
    is_active               BOOLEAN       NOT NULL DEFAULT true,
    is_email_verified       BOOLEAN       NOT NULL DEFAULT false,
    email_verified_at       TIMESTAMPTZ,

    -- Security
    last_login              TIMESTAMPTZ,
    last_login_ip           INET,
    failed_login_attempts   INTEGER       NOT NULL DEFAULT 0,
    account_locked_until    TIMESTAMPTZ,

    -- MFA
    mfa_enabled             BOOLEAN       NOT NULL DEFAULT false,
    mfa_secret              VARCHAR(255),

    -- Audit
    created_at              TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at              TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by              UUID          REFERENCES users (id) ON DELETE SET NULL,
    password_changed_at     TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- CHECK constraints (11)
    CONSTRAINT users_role_check
        CHECK (role IN ('supervisor', 'analyst', 'viewer', 'admin')),
    CONSTRAINT users_email_check
        CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'),
    CONSTRAINT users_username_check
        CHECK (username ~ '^[A-Za-z0-9_-]{3,100}$'),
    CONSTRAINT users_password_hash_check
        CHECK (password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
    CONSTRAINT users_failed_login_attempts_check
        CHECK (failed_login_attempts >= 0),
    -- See the header: "> created_at", not "> CURRENT_TIMESTAMP", so that rows
    -- whose lock has expired stay updatable.
    CONSTRAINT users_account_locked_check
        CHECK (account_locked_until IS NULL OR account_locked_until > created_at),
    CONSTRAINT users_email_verified_timestamp_check
        CHECK (email_verified_at IS NULL OR is_email_verified = true),
    CONSTRAINT users_mfa_secret_check
        CHECK (mfa_secret IS NULL OR mfa_enabled = true),
    CONSTRAINT users_phone_check
        CHECK (phone ~ '^\+?[0-9(][0-9 ().-]{5,18}[0-9]$'),
    CONSTRAINT users_email_not_empty_check
        CHECK (length(trim(email)) > 0),
    CONSTRAINT users_username_not_empty_check
        CHECK (length(trim(username)) > 0)
);

-- Indexes (9)
CREATE UNIQUE INDEX idx_users_email_lower    ON users (lower(email));
CREATE UNIQUE INDEX idx_users_username_lower ON users (lower(username));
CREATE INDEX idx_users_role           ON users (role);
CREATE INDEX idx_users_active         ON users (is_active) WHERE is_active = true;
CREATE INDEX idx_users_email_verified ON users (is_email_verified) WHERE is_email_verified = false;
CREATE INDEX idx_users_locked         ON users (account_locked_until) WHERE account_locked_until IS NOT NULL;
CREATE INDEX idx_users_mfa            ON users (mfa_enabled) WHERE mfa_enabled = true;
CREATE INDEX idx_users_last_login     ON users (last_login DESC);
CREATE INDEX idx_users_committee      ON users (committee_member) WHERE committee_member IS NOT NULL;

-- -----------------------------------------------------------------------------
-- Trigger functions and triggers (2)
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION update_user_timestamp()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
BEGIN
    NEW.updated_at := CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION track_password_change()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        NEW.password_changed_at   := CURRENT_TIMESTAMP;
        NEW.failed_login_attempts := 0;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER update_user_timestamp
    BEFORE UPDATE ON users
    FOR EACH ROW
    EXECUTE FUNCTION update_user_timestamp();

CREATE TRIGGER track_password_change
    BEFORE UPDATE ON users
    FOR EACH ROW
    EXECUTE FUNCTION track_password_change();

-- -----------------------------------------------------------------------------
-- Security functions (4)
-- -----------------------------------------------------------------------------

-- True while the account is locked. An expired lock is cleared on the spot
-- (account_locked_until = NULL, failed_login_attempts = 0) and reported as
-- false. Unknown user (or NULL id): false.
CREATE OR REPLACE FUNCTION is_account_locked(p_user_id uuid)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
DECLARE
    v_locked boolean;
BEGIN
    -- Auto-unlock: clear an expired lock (and its attempt counter).
    UPDATE users
       SET account_locked_until  = NULL,
           failed_login_attempts = 0
     WHERE id = p_user_id
       AND account_locked_until IS NOT NULL
       AND account_locked_until <= CURRENT_TIMESTAMP;

    SELECT u.account_locked_until > CURRENT_TIMESTAMP
      INTO v_locked
      FROM users u
     WHERE u.id = p_user_id;

    RETURN COALESCE(v_locked, false);
END;
$$;

-- Records one failed login for the user with this e-mail (case-insensitive).
-- Increments failed_login_attempts; when it reaches 5 the account is locked
-- for 30 minutes. An expired lock is cleared first (in the same UPDATE), and
-- counting starts again from zero. While a lock is active further failures
-- are counted but do not extend the lock. Unknown e-mail: nothing changes.
CREATE OR REPLACE FUNCTION record_failed_login(p_email text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
STRICT
SECURITY INVOKER
AS $$
DECLARE
    v_id            uuid;
    v_attempts      integer;
    v_locked_until  timestamptz;
BEGIN
    SELECT u.id, u.failed_login_attempts, u.account_locked_until
      INTO v_id, v_attempts, v_locked_until
      FROM users u
     WHERE lower(u.email) = lower(p_email)
       FOR UPDATE;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF v_locked_until IS NOT NULL AND v_locked_until <= CURRENT_TIMESTAMP THEN
        -- expired lock: clear it and start a fresh count
        v_locked_until := NULL;
        v_attempts     := 0;
    END IF;

    v_attempts := v_attempts + 1;

    IF v_attempts >= 5 AND v_locked_until IS NULL THEN
        v_locked_until := CURRENT_TIMESTAMP + INTERVAL '30 minutes';
    END IF;

    UPDATE users
       SET failed_login_attempts = v_attempts,
           account_locked_until  = v_locked_until
     WHERE id = v_id;
END;
$$;

-- Records a successful login: resets the attempt counter, clears any lock,
-- stamps last_login and last_login_ip. Unknown user: nothing changes.
CREATE OR REPLACE FUNCTION record_successful_login(p_user_id uuid, p_ip_address inet)
RETURNS void
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
BEGIN
    UPDATE users
       SET failed_login_attempts = 0,
           account_locked_until  = NULL,
           last_login            = CURRENT_TIMESTAMP,
           last_login_ip         = p_ip_address
     WHERE id = p_user_id;
END;
$$;

-- Permissions of the user's role, per the seed's role table:
--   admin      create read update delete approve admin
--   supervisor create read update delete approve
--   analyst    create read update
--   viewer            read
-- Unknown user (or NULL id): no row.
CREATE OR REPLACE FUNCTION get_user_permissions(p_user_id uuid)
RETURNS TABLE (
    can_create  boolean,
    can_read    boolean,
    can_update  boolean,
    can_delete  boolean,
    can_approve boolean,
    can_admin   boolean
)
LANGUAGE sql
STABLE
STRICT
SECURITY INVOKER
AS $$
    SELECT u.role IN ('admin', 'supervisor', 'analyst')  AS can_create,
           u.role IN ('admin', 'supervisor', 'analyst', 'viewer') AS can_read,
           u.role IN ('admin', 'supervisor', 'analyst')  AS can_update,
           u.role IN ('admin', 'supervisor')             AS can_delete,
           u.role IN ('admin', 'supervisor')             AS can_approve,
           u.role = 'admin'                              AS can_admin
      FROM users u
     WHERE u.id = p_user_id;
$$;

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE users IS
    'BR-008 users: authentication (bcrypt hashes), role-based access control (supervisor, analyst, viewer, admin), account security (MFA, lock after 5 failed logins for 30 minutes, password age), committee membership. Soft delete via is_active = false.';

COMMENT ON COLUMN users.id IS 'Primary key (UUID).';
COMMENT ON COLUMN users.email IS 'Login e-mail; unique (also case-insensitively via idx_users_email_lower); valid format, not blank.';
COMMENT ON COLUMN users.username IS 'Username: 3-100 letters, digits, underscores or hyphens; unique (also case-insensitively via idx_users_username_lower).';
COMMENT ON COLUMN users.password_hash IS 'bcrypt hash ($2a$, $2b$ or $2y$; 60 chars). Never a plain-text password.';
COMMENT ON COLUMN users.first_name IS 'First name.';
COMMENT ON COLUMN users.last_name IS 'Last name.';
COMMENT ON COLUMN users.phone IS 'Phone number, international format allowed (optional +, digits, spaces, parentheses, dots, hyphens; 7-20 chars after the +).';
COMMENT ON COLUMN users.role IS 'supervisor, analyst, viewer or admin (see get_user_permissions()).';
COMMENT ON COLUMN users.permissions IS 'Extra fine-grained permissions, e.g. {upload_documents, export_reports}.';
COMMENT ON COLUMN users.committee_member IS 'Name of the committee the user sits on (e.g. ''investment_committee''); NULL if none.';
COMMENT ON COLUMN users.is_active IS 'False = soft-deleted / deactivated account.';
COMMENT ON COLUMN users.is_email_verified IS 'True once the e-mail address was verified.';
COMMENT ON COLUMN users.email_verified_at IS 'When the e-mail was verified; only set if is_email_verified.';
COMMENT ON COLUMN users.last_login IS 'Time of the last successful login.';
COMMENT ON COLUMN users.last_login_ip IS 'Client IP of the last successful login (INET).';
COMMENT ON COLUMN users.failed_login_attempts IS 'Consecutive failed logins; >= 0; 5 locks the account (record_failed_login()).';
COMMENT ON COLUMN users.account_locked_until IS 'Account locked until this time (NULL = not locked); set to now + 30 minutes after 5 failed logins, cleared by is_account_locked() once expired. Must be after created_at.';
COMMENT ON COLUMN users.mfa_enabled IS 'True when TOTP multi-factor authentication is enabled.';
COMMENT ON COLUMN users.mfa_secret IS 'Base32 TOTP secret; only allowed when mfa_enabled.';
COMMENT ON COLUMN users.created_at IS 'Account creation time.';
COMMENT ON COLUMN users.updated_at IS 'Last modification time; maintained by trigger update_user_timestamp.';
COMMENT ON COLUMN users.created_by IS 'User who created this account (users.id, ON DELETE SET NULL).';
COMMENT ON COLUMN users.password_changed_at IS 'Last password change; set by trigger track_password_change (90-day rotation reports).';

COMMENT ON FUNCTION update_user_timestamp() IS
    'BEFORE UPDATE row trigger function on users: sets NEW.updated_at = CURRENT_TIMESTAMP.';
COMMENT ON FUNCTION track_password_change() IS
    'BEFORE UPDATE row trigger function on users: when password_hash changes, sets password_changed_at = CURRENT_TIMESTAMP and failed_login_attempts = 0.';
COMMENT ON TRIGGER update_user_timestamp ON users IS
    'BEFORE UPDATE: auto-updates updated_at.';
COMMENT ON TRIGGER track_password_change ON users IS
    'BEFORE UPDATE: on a password_hash change sets password_changed_at and resets failed_login_attempts.';

COMMENT ON FUNCTION is_account_locked(uuid) IS
    'True while users.account_locked_until is in the future. An expired lock is cleared (account_locked_until = NULL, failed_login_attempts = 0) and false returned. Unknown user: false.';
COMMENT ON FUNCTION record_failed_login(text) IS
    'Case-insensitive e-mail match; increments failed_login_attempts and, when it reaches 5, sets account_locked_until = CURRENT_TIMESTAMP + 30 minutes. Clears an expired lock (restarting the count) in the same UPDATE. Unknown e-mail: no change.';
COMMENT ON FUNCTION record_successful_login(uuid, inet) IS
    'Resets failed_login_attempts to 0, clears account_locked_until, sets last_login = CURRENT_TIMESTAMP and last_login_ip. Unknown user: no change.';
COMMENT ON FUNCTION get_user_permissions(uuid) IS
    'Role permissions (can_create, can_read, can_update, can_delete, can_approve, can_admin) per the role table: admin all; supervisor all but admin; analyst create/read/update; viewer read. Unknown user: no row.';
