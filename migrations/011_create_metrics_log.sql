-- =============================================================================
-- 011_create_metrics_log.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   metrics_log (8 columns) -- archived Prometheus metric samples for
--             long-term trend analysis beyond Prometheus' own retention
--   * 4 named CHECK constraints: metrics_log_metric_type_check,
--             metrics_log_application_check, metrics_log_environment_check,
--             metrics_log_recorded_at_check
--   * 7 indexes: idx_metrics_name_time, idx_metrics_recorded_at (DESC),
--             idx_metrics_name_labels, idx_metrics_labels_gin (GIN),
--             idx_metrics_application (DESC), idx_metrics_environment (DESC),
--             idx_metrics_type (DESC)
--   * function cleanup_old_metrics(p_days_to_keep integer DEFAULT 90)
--             RETURNS integer
--
-- Business requirements: the seed names none (operational observability; it
-- mentions "compliance/audit requirements for system metrics", cf. BR-007).
--
-- Source: shared/seed/migrations-README.md, section "011_create_metrics_log.sql".
-- Choices:
--   * metric_value is NUMERIC without a fixed precision: it holds counters
--     like 12543 and gauges like 0.123 exactly (and NaN / +-Infinity, which
--     Prometheus samples can be). It must be NUMERIC, not DOUBLE PRECISION:
--     the seed's error-rate example computes
--     ROUND((COALESCE(e.count, 0)::NUMERIC / NULLIF(t.count, 0)) * 100, 2)
--     with t.count = MAX(metric_value), and ROUND(double precision, integer)
--     does not exist.
--   * The seed marks idx_metrics_application / _environment / _type as (DESC);
--     a DESC on a low-cardinality text key alone is meaningless, so these are
--     (column, recorded_at DESC): "latest samples for this application /
--     environment / type". idx_metrics_name_time is (metric_name, recorded_at)
--     (no DESC in the seed; a backward scan serves ORDER BY recorded_at DESC).
--   * idx_metrics_name_labels is a B-tree on (metric_name, labels) (jsonb has
--     a B-tree operator class; a multi-column GIN would need btree_gin, and no
--     extensions are used). idx_metrics_labels_gin uses the default jsonb_ops
--     (supports @>, ?, ?| and ?&).
--   * recorded_at <= CURRENT_TIMESTAMP + 1 minute tolerates clock skew between
--     the scraper and the database.
-- =============================================================================

CREATE TABLE metrics_log (
    id              UUID              PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_name     VARCHAR(255)      NOT NULL,
    metric_type     VARCHAR(20)       NOT NULL,
    labels          JSONB             NOT NULL DEFAULT '{}'::jsonb,
    metric_value    NUMERIC           NOT NULL,
    recorded_at     TIMESTAMPTZ       NOT NULL DEFAULT CURRENT_TIMESTAMP,
    application     VARCHAR(50)       NOT NULL DEFAULT 'backend',
    environment     VARCHAR(20)       NOT NULL DEFAULT 'development',

    CONSTRAINT metrics_log_metric_type_check
        CHECK (metric_type IN ('counter', 'gauge', 'histogram', 'summary')),
    CONSTRAINT metrics_log_application_check
        CHECK (application IN ('backend', 'frontend', 'worker', 'storage_service',
                               'queue_service', 'nginx')),
    CONSTRAINT metrics_log_environment_check
        CHECK (environment IN ('development', 'staging', 'production', 'test')),
    CONSTRAINT metrics_log_recorded_at_check
        CHECK (recorded_at <= CURRENT_TIMESTAMP + INTERVAL '1 minute')
);

-- Indexes (7)
CREATE INDEX idx_metrics_name_time     ON metrics_log (metric_name, recorded_at);
CREATE INDEX idx_metrics_recorded_at   ON metrics_log (recorded_at DESC);
CREATE INDEX idx_metrics_name_labels   ON metrics_log (metric_name, labels);
CREATE INDEX idx_metrics_labels_gin    ON metrics_log USING GIN (labels);
CREATE INDEX idx_metrics_application   ON metrics_log (application, recorded_at DESC);
CREATE INDEX idx_metrics_environment   ON metrics_log (environment, recorded_at DESC);
CREATE INDEX idx_metrics_type          ON metrics_log (metric_type, recorded_at DESC);

-- -----------------------------------------------------------------------------
-- Retention: delete samples older than p_days_to_keep days
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION cleanup_old_metrics(p_days_to_keep integer DEFAULT 90)
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
        RAISE EXCEPTION 'cleanup_old_metrics: p_days_to_keep must be >= 0 (got %)', p_days_to_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    DELETE FROM metrics_log
     WHERE recorded_at < CURRENT_TIMESTAMP - make_interval(days => p_days_to_keep);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE metrics_log IS
    'Archived Prometheus metric samples (name, type, JSONB labels, value, time, application, environment) for long-term trend analysis; retention via cleanup_old_metrics().';

COMMENT ON COLUMN metrics_log.id IS 'Primary key (UUID).';
COMMENT ON COLUMN metrics_log.metric_name IS 'Prometheus metric name, e.g. ''api_requests_total''.';
COMMENT ON COLUMN metrics_log.metric_type IS 'counter, gauge, histogram or summary.';
COMMENT ON COLUMN metrics_log.labels IS 'Prometheus labels as a JSONB object, e.g. {"method": "GET", "status": "200"} (GIN-indexed).';
COMMENT ON COLUMN metrics_log.metric_value IS 'Sample value (NUMERIC, any precision; NaN and +-Infinity allowed).';
COMMENT ON COLUMN metrics_log.recorded_at IS 'Sample time; not more than 1 minute in the future.';
COMMENT ON COLUMN metrics_log.application IS 'Emitting component: backend, frontend, worker, storage_service, queue_service or nginx.';
COMMENT ON COLUMN metrics_log.environment IS 'development, staging, production or test.';

COMMENT ON FUNCTION cleanup_old_metrics(integer) IS
    'Deletes metrics_log rows with recorded_at older than p_days_to_keep days (default 90) and returns how many were deleted. Raises invalid_parameter_value for a negative argument; STRICT: NULL argument deletes nothing and returns NULL.';
