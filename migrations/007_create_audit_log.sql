-- =============================================================================
-- 007_create_audit_log.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   audit_log (21 columns) -- complete, append-only audit trail
--   * FKs     audit_log_property_id_fkey -> properties(id) ON DELETE SET NULL
--             audit_log_document_id_fkey -> documents(id)  ON DELETE SET NULL
--             audit_log_alert_id_fkey    -> alerts(id)     ON DELETE SET NULL
--   * 8 indexes: idx_audit_timestamp (DESC), idx_audit_user_id,
--             idx_audit_user_timestamp, idx_audit_action, idx_audit_br_id,
--             idx_audit_property_id, idx_audit_property_timestamp,
--             idx_audit_document_id
--
-- Business requirement: BR-007 (complete audit trail for compliance: WHO did
-- WHAT, WHEN and WHY; regulatory export; rollback via old_values/new_values).
--
-- Source: shared/seed/migrations-README.md, section "007_create_audit_log.sql".
-- Notes / choices:
--   * The seed lists no CHECK constraints for audit_log, so none are added.
--   * user_id carries no FK: users is created later (013) and an audit row
--     must outlive the user it names (user_email / user_role are copied).
--   * session_id / request_id are text, not UUID: the seed's example uses
--     'session-abc123'.
--   * "Immutable (never delete records)" is a policy of the application; it is
--     not enforced by a trigger here because the seed lists none and the
--     ON DELETE SET NULL foreign keys must be able to UPDATE audit rows.
--   * Partitioning (seed: "supports table partitioning for > 1M rows") is a
--     later, deployment-specific step; this migration creates a plain table.
--   * Only idx_audit_timestamp is DESC (the seed marks only that one); the
--     composite (x, "timestamp") indexes are ascending, which serves
--     "WHERE x = ? ORDER BY timestamp DESC" equally by a backward scan.
--   * alert_id has no index of its own: the seed lists exactly 8 indexes.
-- =============================================================================

CREATE TABLE audit_log (
    id              UUID          PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Action info
    action          VARCHAR(100)  NOT NULL,
    action_category VARCHAR(50),

    -- Business requirements
    br_id           VARCHAR(20),
    br_description  TEXT,

    -- References (audit survives deletion of the entity)
    property_id     UUID          REFERENCES properties (id) ON DELETE SET NULL,
    document_id     UUID          REFERENCES documents (id)  ON DELETE SET NULL,
    alert_id        UUID          REFERENCES alerts (id)     ON DELETE SET NULL,

    -- User context
    user_id         UUID,
    user_email      VARCHAR(255),
    user_role       VARCHAR(50),
    ip_address      INET,
    user_agent      TEXT,

    -- Change tracking
    old_values      JSONB,
    new_values      JSONB,
    details         JSONB,

    -- Status
    success         BOOLEAN       NOT NULL DEFAULT true,
    error_message   TEXT,

    -- Session
    session_id      VARCHAR(255),
    request_id      VARCHAR(255),

    -- Timestamp
    "timestamp"     TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Indexes (8)
CREATE INDEX idx_audit_timestamp          ON audit_log ("timestamp" DESC);
CREATE INDEX idx_audit_user_id            ON audit_log (user_id);
CREATE INDEX idx_audit_user_timestamp     ON audit_log (user_id, "timestamp");
CREATE INDEX idx_audit_action             ON audit_log (action);
CREATE INDEX idx_audit_br_id              ON audit_log (br_id);
CREATE INDEX idx_audit_property_id        ON audit_log (property_id);
CREATE INDEX idx_audit_property_timestamp ON audit_log (property_id, "timestamp");
CREATE INDEX idx_audit_document_id        ON audit_log (document_id);

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE audit_log IS
    'BR-007 complete audit trail: who did what, when and why. Append-only by policy (never delete rows); references use ON DELETE SET NULL so audit rows outlive the entities they describe.';

COMMENT ON COLUMN audit_log.id IS 'Primary key (UUID).';
COMMENT ON COLUMN audit_log.action IS 'Action performed, e.g. ''DOCUMENT_UPLOAD''.';
COMMENT ON COLUMN audit_log.action_category IS 'Action category, e.g. ''document'', ''property'', ''auth''.';
COMMENT ON COLUMN audit_log.br_id IS 'Business requirement the action serves, e.g. ''BR-001''.';
COMMENT ON COLUMN audit_log.br_description IS 'Human-readable description of the business requirement.';
COMMENT ON COLUMN audit_log.property_id IS 'Property concerned (properties.id); set NULL if the property is deleted.';
COMMENT ON COLUMN audit_log.document_id IS 'Document concerned (documents.id); set NULL if the document is deleted.';
COMMENT ON COLUMN audit_log.alert_id IS 'Alert concerned (alerts.id); set NULL if the alert is deleted.';
COMMENT ON COLUMN audit_log.user_id IS 'Acting user (users.id; no FK so the audit row outlives the user).';
COMMENT ON COLUMN audit_log.user_email IS 'Acting user''s e-mail at the time of the action.';
COMMENT ON COLUMN audit_log.user_role IS 'Acting user''s role at the time of the action.';
COMMENT ON COLUMN audit_log.ip_address IS 'Client IP address (INET).';
COMMENT ON COLUMN audit_log.user_agent IS 'Client user agent string.';
COMMENT ON COLUMN audit_log.old_values IS 'State before the change (JSONB), for rollback.';
COMMENT ON COLUMN audit_log.new_values IS 'State after the change (JSONB).';
COMMENT ON COLUMN audit_log.details IS 'Any further structured context (JSONB).';
COMMENT ON COLUMN audit_log.success IS 'Whether the action succeeded.';
COMMENT ON COLUMN audit_log.error_message IS 'Error text when success = false.';
COMMENT ON COLUMN audit_log.session_id IS 'Application session identifier (free text, e.g. ''session-abc123'').';
COMMENT ON COLUMN audit_log.request_id IS 'Request correlation identifier.';
COMMENT ON COLUMN audit_log."timestamp" IS 'When the action happened (auto-generated, CURRENT_TIMESTAMP).';
