-- =============================================================================
-- 005_create_alerts.sql
-- -----------------------------------------------------------------------------
-- INFERRED MIGRATION: the seed (shared/seed/migrations-README.md) does NOT
-- describe this table. It lists "alerts - Property alerts" under
-- "Next Steps -> Create related tables"; properties.has_active_alerts,
-- anomaly_detection_results.requires_alert and audit_log.alert_id (FK) all
-- refer to it. Every column, constraint and index here is inferred.
--
-- Creates:
--   * table   alerts (property alerts raised by rules, anomaly detection, users)
--   * FK      alerts_property_id_fkey -> properties(id) ON DELETE CASCADE
--   * CHECKs  alerts_alert_type_check, alerts_severity_check,
--             alerts_status_check, alerts_title_check,
--             alerts_resolved_at_check
--   * indexes idx_alerts_property_id, idx_alerts_status, idx_alerts_severity,
--             idx_alerts_created_at (DESC), idx_alerts_open (partial)
--   * trigger update_alerts_updated_at
--
-- Business requirements: none named by the seed for this table; it is where
-- BR-008 anomaly detection results with requires_alert = true end up.
-- anomaly_detection_results (008) is created later, so anomaly_result_id
-- carries no foreign key.
-- =============================================================================

CREATE TABLE alerts (
    id                  UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         UUID          NOT NULL
                                      REFERENCES properties (id) ON DELETE CASCADE,
    alert_type          VARCHAR(50)   NOT NULL,
    severity            VARCHAR(20)   NOT NULL DEFAULT 'warning',
    status              VARCHAR(20)   NOT NULL DEFAULT 'open',
    title               VARCHAR(255)  NOT NULL,
    message             TEXT,
    metric_name         VARCHAR(100),
    metric_value        NUMERIC(18,4),
    threshold_value     NUMERIC(18,4),
    anomaly_result_id   UUID,
    acknowledged_by     UUID,
    acknowledged_at     TIMESTAMPTZ,
    resolved_by         UUID,
    resolved_at         TIMESTAMPTZ,
    resolution_notes    TEXT,
    details             JSONB         NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT alerts_alert_type_check
        CHECK (alert_type IN ('anomaly', 'dscr_breach', 'occupancy_drop', 'lease_expiration',
                              'loan_maturity', 'covenant_breach', 'document', 'system', 'other')),
    CONSTRAINT alerts_severity_check
        CHECK (severity IN ('info', 'warning', 'critical')),
    CONSTRAINT alerts_status_check
        CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed')),
    CONSTRAINT alerts_title_check
        CHECK (length(trim(title)) > 0),
    CONSTRAINT alerts_resolved_at_check
        CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
);

CREATE INDEX idx_alerts_property_id ON alerts (property_id);
CREATE INDEX idx_alerts_status      ON alerts (status);
CREATE INDEX idx_alerts_severity    ON alerts (severity);
CREATE INDEX idx_alerts_created_at  ON alerts (created_at DESC);
CREATE INDEX idx_alerts_open        ON alerts (property_id, severity)
    WHERE status IN ('open', 'acknowledged');

CREATE TRIGGER update_alerts_updated_at
    BEFORE UPDATE ON alerts
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

COMMENT ON TABLE alerts IS
    'INFERRED (not described by the seed): alerts raised for a property (rules, BR-008 anomaly detection, users); referenced by audit_log.alert_id.';
COMMENT ON COLUMN alerts.id IS 'Primary key (UUID).';
COMMENT ON COLUMN alerts.property_id IS 'Property the alert is about (properties.id); deleted with the property.';
COMMENT ON COLUMN alerts.alert_type IS 'anomaly, dscr_breach, occupancy_drop, lease_expiration, loan_maturity, covenant_breach, document, system or other.';
COMMENT ON COLUMN alerts.severity IS 'info, warning or critical.';
COMMENT ON COLUMN alerts.status IS 'open, acknowledged, resolved or dismissed.';
COMMENT ON COLUMN alerts.title IS 'Short human-readable summary; not blank.';
COMMENT ON COLUMN alerts.message IS 'Full alert text.';
COMMENT ON COLUMN alerts.metric_name IS 'Metric that triggered the alert (e.g. ''noi'', ''dscr'').';
COMMENT ON COLUMN alerts.metric_value IS 'Observed metric value.';
COMMENT ON COLUMN alerts.threshold_value IS 'Threshold that was crossed.';
COMMENT ON COLUMN alerts.anomaly_result_id IS 'anomaly_detection_results.id that raised the alert (no FK: that table is created later, in 008).';
COMMENT ON COLUMN alerts.acknowledged_by IS 'UUID of the user who acknowledged the alert (users.id, no FK).';
COMMENT ON COLUMN alerts.acknowledged_at IS 'Acknowledgement time.';
COMMENT ON COLUMN alerts.resolved_by IS 'UUID of the user who resolved the alert (users.id, no FK).';
COMMENT ON COLUMN alerts.resolved_at IS 'Resolution time; required when status = resolved.';
COMMENT ON COLUMN alerts.resolution_notes IS 'How the alert was resolved.';
COMMENT ON COLUMN alerts.details IS 'Additional structured context (JSONB).';
COMMENT ON COLUMN alerts.created_at IS 'Time the alert was raised.';
COMMENT ON COLUMN alerts.updated_at IS 'Last modification time; maintained by trigger update_alerts_updated_at.';

COMMENT ON TRIGGER update_alerts_updated_at ON alerts IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
