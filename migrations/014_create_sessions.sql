-- =============================================================================
-- 014_create_sessions.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   user_sessions (14 columns) -- JWT access-token sessions and their
--             refresh tokens, per user and device
--   * UNIQUE  user_sessions_session_token_key
--   * FK      user_sessions_user_id_fkey -> users(id) ON DELETE CASCADE
--   * 5 named CHECK constraints: user_sessions_device_type_check,
--             user_sessions_session_token_check,
--             user_sessions_expires_after_created_check,
--             user_sessions_revoked_after_created_check,
--             user_sessions_revoked_not_active_check
--   * 8 indexes: idx_sessions_user_id, idx_sessions_token (partial),
--             idx_sessions_refresh_token (partial), idx_sessions_expires_at,
--             idx_sessions_active (partial), idx_sessions_created_at (DESC),
--             idx_sessions_device_type, idx_sessions_revoked (partial)
--   * functions create_session, validate_session, revoke_session,
--             revoke_all_user_sessions, get_user_active_sessions,
--             refresh_session, cleanup_expired_sessions
--
-- Business requirement: BR-008 (security & access control; the seed ties
-- users, which sessions belong to, to BR-008).
--
-- Source: shared/seed/migrations-README.md, section "014_create_sessions.sql".
-- Choices:
--   * A session is VALID when is_active AND revoked_at IS NULL AND
--     expires_at > CURRENT_TIMESTAMP.
--   * expires_at is the access-token (JWT) expiry: 8 hours by default. The
--     table has no column for the refresh-token expiry (the seed lists 14
--     columns), so a refresh token expires created_at + 7 days after its
--     session was created ("Refresh tokens: 7 days (configurable)"): the
--     number of days is read from the setting reims.refresh_token_days when
--     set (e.g. ALTER DATABASE reims SET reims.refresh_token_days = 14),
--     else 7. So a refresh token keeps working after its JWT expired, as the
--     seed's "When JWT expires, use refresh token" flow requires.
--   * "revoked_at: After created_at (if set)" is written revoked_at >=
--     created_at: CURRENT_TIMESTAMP is constant within a transaction, so a
--     session created and revoked in one transaction has revoked_at =
--     created_at, which must be accepted.
--   * refresh_token is NOT unique (the seed marks only session_token UNIQUE);
--     refresh_session() refuses a refresh token that matches more than one
--     session.
--   * Partial indexes: idx_sessions_token (session_token) WHERE is_active,
--     idx_sessions_refresh_token (refresh_token) WHERE refresh_token IS NOT
--     NULL, idx_sessions_active (last_activity) WHERE is_active (idle-session
--     sweeps), idx_sessions_revoked (revoked_at) WHERE revoked_at IS NOT NULL.
--     idx_sessions_user_id is (user_id, is_active).
--   * validate_session() always returns exactly one row; for an unknown token
--     it is (NULL, NULL, false, NULL), so callers that fetch one row and test
--     is_valid work unchanged.
--   * refresh_session() also refuses when the user is deactivated
--     (users.is_active = false): soft-deleted users must not mint new sessions.
--   * All refusals of refresh_session() raise SQLSTATE 28000
--     (invalid_authorization_specification); bad numeric arguments raise 22023
--     (invalid_parameter_value).
-- =============================================================================

CREATE TABLE user_sessions (
    id              UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID          NOT NULL
                                  REFERENCES users (id) ON DELETE CASCADE,

    -- Session
    session_token   TEXT          NOT NULL UNIQUE,
    refresh_token   TEXT,

    -- Device
    ip_address      INET,
    user_agent      TEXT,
    device_type     VARCHAR(20)   NOT NULL DEFAULT 'unknown',
    device_name     VARCHAR(255),

    -- Timing
    created_at      TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at      TIMESTAMPTZ   NOT NULL,
    last_activity   TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- Status
    is_active       BOOLEAN       NOT NULL DEFAULT true,
    revoked_at      TIMESTAMPTZ,
    revoked_reason  VARCHAR(100),

    -- CHECK constraints (5)
    CONSTRAINT user_sessions_device_type_check
        CHECK (device_type IN ('desktop', 'mobile', 'tablet', 'api', 'unknown')),
    CONSTRAINT user_sessions_session_token_check
        CHECK (length(trim(session_token)) > 0),
    CONSTRAINT user_sessions_expires_after_created_check
        CHECK (expires_at > created_at),
    CONSTRAINT user_sessions_revoked_after_created_check
        CHECK (revoked_at IS NULL OR revoked_at >= created_at),
    CONSTRAINT user_sessions_revoked_not_active_check
        CHECK (revoked_at IS NULL OR is_active = false)
);

-- Indexes (8)
CREATE INDEX idx_sessions_user_id       ON user_sessions (user_id, is_active);
CREATE INDEX idx_sessions_token         ON user_sessions (session_token) WHERE is_active = true;
CREATE INDEX idx_sessions_refresh_token ON user_sessions (refresh_token) WHERE refresh_token IS NOT NULL;
CREATE INDEX idx_sessions_expires_at    ON user_sessions (expires_at);
CREATE INDEX idx_sessions_active        ON user_sessions (last_activity) WHERE is_active = true;
CREATE INDEX idx_sessions_created_at    ON user_sessions (created_at DESC);
CREATE INDEX idx_sessions_device_type   ON user_sessions (device_type);
CREATE INDEX idx_sessions_revoked       ON user_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- -----------------------------------------------------------------------------
-- Session management functions (7)
-- -----------------------------------------------------------------------------

-- Login: create a session expiring p_expires_in_hours from now; returns its id.
CREATE OR REPLACE FUNCTION create_session(
    p_user_id           uuid,
    p_session_token     text,
    p_refresh_token     text,
    p_ip_address        inet,
    p_user_agent        text,
    p_device_type       text,
    p_expires_in_hours  integer DEFAULT 8
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_expires_in_hours IS NULL OR p_expires_in_hours <= 0 THEN
        RAISE EXCEPTION 'create_session: p_expires_in_hours must be a positive number of hours (got %)',
                        coalesce(p_expires_in_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO user_sessions (user_id, session_token, refresh_token, ip_address,
                               user_agent, device_type, expires_at)
    VALUES (p_user_id, p_session_token, p_refresh_token, p_ip_address,
            p_user_agent, coalesce(p_device_type, 'unknown'),
            CURRENT_TIMESTAMP + make_interval(hours => p_expires_in_hours))
    RETURNING id INTO v_id;

    RETURN v_id;
END;
$$;

-- Validate a session token on each request. Valid only if active, not revoked
-- and not expired; a valid session gets last_activity = now. Always one row.
CREATE OR REPLACE FUNCTION validate_session(p_session_token text)
RETURNS TABLE (
    session_id  uuid,
    user_id     uuid,
    is_valid    boolean,
    expires_at  timestamptz
)
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
DECLARE
    v_id        uuid;
    v_user_id   uuid;
    v_valid     boolean;
    v_expires   timestamptz;
BEGIN
    SELECT s.id,
           s.user_id,
           (s.is_active AND s.revoked_at IS NULL AND s.expires_at > CURRENT_TIMESTAMP),
           s.expires_at
      INTO v_id, v_user_id, v_valid, v_expires
      FROM user_sessions s
     WHERE s.session_token = p_session_token;

    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::uuid, NULL::uuid, false, NULL::timestamptz;
        RETURN;
    END IF;

    IF v_valid THEN
        UPDATE user_sessions s
           SET last_activity = CURRENT_TIMESTAMP
         WHERE s.id = v_id;
    END IF;

    RETURN QUERY SELECT v_id, v_user_id, v_valid, v_expires;
END;
$$;

-- Logout: revoke one session. True if a not-yet-revoked session was revoked.
CREATE OR REPLACE FUNCTION revoke_session(p_session_token text, p_reason text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
BEGIN
    UPDATE user_sessions
       SET is_active      = false,
           revoked_at     = CURRENT_TIMESTAMP,
           revoked_reason = p_reason
     WHERE session_token = p_session_token
       AND revoked_at IS NULL;

    RETURN FOUND;
END;
$$;

-- Logout from all devices: revoke every not-yet-revoked session of the user
-- (expired ones too, so their refresh tokens die with them). Returns the count.
CREATE OR REPLACE FUNCTION revoke_all_user_sessions(p_user_id uuid, p_reason text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE user_sessions
       SET is_active      = false,
           revoked_at     = CURRENT_TIMESTAMP,
           revoked_reason = p_reason
     WHERE user_id = p_user_id
       AND revoked_at IS NULL;

    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- The user's currently valid sessions, most recently used first.
CREATE OR REPLACE FUNCTION get_user_active_sessions(p_user_id uuid)
RETURNS TABLE (
    session_id      uuid,
    device_type     text,
    device_name     text,
    ip_address      inet,
    user_agent      text,
    created_at      timestamptz,
    last_activity   timestamptz,
    expires_at      timestamptz
)
LANGUAGE sql
STABLE
STRICT
SECURITY INVOKER
AS $$
    SELECT s.id,
           s.device_type::text,
           s.device_name::text,
           s.ip_address,
           s.user_agent,
           s.created_at,
           s.last_activity,
           s.expires_at
      FROM user_sessions s
     WHERE s.user_id = p_user_id
       AND s.is_active = true
       AND s.revoked_at IS NULL
       AND s.expires_at > CURRENT_TIMESTAMP
     ORDER BY s.last_activity DESC;
$$;

-- Exchange a refresh token for a new session: the old session is revoked with
-- reason 'token_refreshed' and a new one is created for the same user and
-- device, expiring p_extend_hours from now. Returns the new session id.
-- Refuses (SQLSTATE 28000) an unknown or ambiguous refresh token, one already
-- used, one of a revoked / inactive session, an expired one, and one of a
-- deactivated user.
CREATE OR REPLACE FUNCTION refresh_session(
    p_old_refresh_token     text,
    p_new_session_token     text,
    p_new_refresh_token     text,
    p_extend_hours          integer DEFAULT 8
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
CALLED ON NULL INPUT
SECURITY INVOKER
AS $$
DECLARE
    v_old           user_sessions%ROWTYPE;
    v_user_active   boolean;
    v_refresh_days  integer;
    v_new_id        uuid;
BEGIN
    IF p_extend_hours IS NULL OR p_extend_hours <= 0 THEN
        RAISE EXCEPTION 'refresh_session: p_extend_hours must be a positive number of hours (got %)',
                        coalesce(p_extend_hours::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    BEGIN
        SELECT s.* INTO STRICT v_old
          FROM user_sessions s
         WHERE s.refresh_token = p_old_refresh_token
           FOR UPDATE;
    EXCEPTION
        WHEN no_data_found THEN
            RAISE EXCEPTION 'refresh_session: refresh token not recognised'
                USING ERRCODE = 'invalid_authorization_specification';
        WHEN too_many_rows THEN
            RAISE EXCEPTION 'refresh_session: refresh token is ambiguous (matches several sessions)'
                USING ERRCODE = 'invalid_authorization_specification';
    END;

    IF v_old.revoked_at IS NOT NULL AND v_old.revoked_reason = 'token_refreshed' THEN
        RAISE EXCEPTION 'refresh_session: refresh token has already been used'
            USING ERRCODE = 'invalid_authorization_specification',
                  HINT = 'A refresh token can be exchanged only once; log in again.';
    END IF;

    IF v_old.revoked_at IS NOT NULL OR NOT v_old.is_active THEN
        RAISE EXCEPTION 'refresh_session: refresh token belongs to a revoked session (reason: %)',
                        coalesce(v_old.revoked_reason, 'inactive')
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;

    v_refresh_days := coalesce(nullif(current_setting('reims.refresh_token_days', true), '')::integer, 7);
    IF v_old.created_at + make_interval(days => v_refresh_days) <= CURRENT_TIMESTAMP THEN
        RAISE EXCEPTION 'refresh_session: refresh token has expired (issued %, lifetime % days)',
                        v_old.created_at, v_refresh_days
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;

    SELECT u.is_active INTO v_user_active FROM users u WHERE u.id = v_old.user_id;
    IF NOT coalesce(v_user_active, false) THEN
        RAISE EXCEPTION 'refresh_session: user account is deactivated'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;

    UPDATE user_sessions
       SET is_active      = false,
           revoked_at     = CURRENT_TIMESTAMP,
           revoked_reason = 'token_refreshed'
     WHERE id = v_old.id;

    INSERT INTO user_sessions (user_id, session_token, refresh_token, ip_address,
                               user_agent, device_type, device_name, expires_at)
    VALUES (v_old.user_id, p_new_session_token, p_new_refresh_token, v_old.ip_address,
            v_old.user_agent, v_old.device_type, v_old.device_name,
            CURRENT_TIMESTAMP + make_interval(hours => p_extend_hours))
    RETURNING id INTO v_new_id;

    RETURN v_new_id;
END;
$$;

-- Retention: delete sessions that expired more than p_days_to_keep days ago.
CREATE OR REPLACE FUNCTION cleanup_expired_sessions(p_days_to_keep integer DEFAULT 30)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
STRICT
SECURITY INVOKER
AS $$
DECLARE
    v_deleted integer;
BEGIN
    IF p_days_to_keep < 0 THEN
        RAISE EXCEPTION 'cleanup_expired_sessions: p_days_to_keep must be >= 0 (got %)', p_days_to_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    DELETE FROM user_sessions
     WHERE expires_at < CURRENT_TIMESTAMP - make_interval(days => p_days_to_keep);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE user_sessions IS
    'BR-008 user sessions: JWT access tokens (expires_at, 8 h default) and refresh tokens (7 days from session creation, setting reims.refresh_token_days), per device; validation, revocation (logout / logout everywhere), refresh and cleanup via the session functions.';

COMMENT ON COLUMN user_sessions.id IS 'Primary key (UUID); the session id returned by create_session / refresh_session.';
COMMENT ON COLUMN user_sessions.user_id IS 'Session owner (users.id); sessions are deleted with the user.';
COMMENT ON COLUMN user_sessions.session_token IS 'Access token (JWT, or its hash); unique, not blank.';
COMMENT ON COLUMN user_sessions.refresh_token IS 'Refresh token (or its hash); exchanged once via refresh_session(); valid 7 days from created_at.';
COMMENT ON COLUMN user_sessions.ip_address IS 'Client IP at login (INET).';
COMMENT ON COLUMN user_sessions.user_agent IS 'Client user agent at login.';
COMMENT ON COLUMN user_sessions.device_type IS 'desktop, mobile, tablet, api or unknown.';
COMMENT ON COLUMN user_sessions.device_name IS 'Human-readable device label (e.g. ''Chrome on Windows''), set by the application.';
COMMENT ON COLUMN user_sessions.created_at IS 'Session creation (login / refresh) time.';
COMMENT ON COLUMN user_sessions.expires_at IS 'Access-token expiry; after created_at.';
COMMENT ON COLUMN user_sessions.last_activity IS 'Last successful validate_session() call.';
COMMENT ON COLUMN user_sessions.is_active IS 'False once revoked (or deactivated); revoked sessions must be inactive.';
COMMENT ON COLUMN user_sessions.revoked_at IS 'Revocation time; >= created_at.';
COMMENT ON COLUMN user_sessions.revoked_reason IS 'Why it was revoked, e.g. user_logout, logout_all_devices, token_refreshed.';

COMMENT ON FUNCTION create_session(uuid, text, text, inet, text, text, integer) IS
    'Creates a session for the user expiring p_expires_in_hours (default 8, must be > 0) from now; NULL device type becomes ''unknown''. Returns the new session id.';
COMMENT ON FUNCTION validate_session(text) IS
    'Returns one row (session_id, user_id, is_valid, expires_at). Valid only if active, not revoked and not expired; a valid session gets last_activity = now. Unknown token: (NULL, NULL, false, NULL).';
COMMENT ON FUNCTION revoke_session(text, text) IS
    'Revokes the session with this token (is_active = false, revoked_at = now, revoked_reason = p_reason). True if a not-yet-revoked session was revoked.';
COMMENT ON FUNCTION revoke_all_user_sessions(uuid, text) IS
    'Revokes every not-yet-revoked session of the user (logout from all devices); returns how many.';
COMMENT ON FUNCTION get_user_active_sessions(uuid) IS
    'The user''s valid sessions (active, not revoked, not expired), most recently active first.';
COMMENT ON FUNCTION refresh_session(text, text, text, integer) IS
    'Revokes the session owning p_old_refresh_token (revoked_reason = ''token_refreshed'') and creates a new one for the same user / device expiring p_extend_hours (default 8) from now; returns its id. Raises SQLSTATE 28000 for an unknown, ambiguous, already used, revoked or expired refresh token, or a deactivated user.';
COMMENT ON FUNCTION cleanup_expired_sessions(integer) IS
    'Deletes sessions whose expires_at is more than p_days_to_keep days (default 30) in the past; returns how many. Raises invalid_parameter_value for a negative argument; STRICT: NULL deletes nothing.';
