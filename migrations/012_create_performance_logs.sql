-- =============================================================================
-- 012_create_performance_logs.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   performance_logs (21 columns) -- one row per HTTP request, for
--             SLA monitoring (target: 90% of requests < 500 ms) and bottleneck
--             analysis (database, cache, external services)
--   * UNIQUE  performance_logs_request_id_key (each request logged once)
--   * 12 named CHECK constraints (see below)
--   * 10 indexes: idx_perf_endpoint_time, idx_perf_duration (DESC),
--             idx_perf_slow (DESC, partial), idx_perf_errors (DESC, partial),
--             idx_perf_logged_at (DESC), idx_perf_start_time (DESC),
--             idx_perf_user_id, idx_perf_status_code, idx_perf_method,
--             idx_perf_db_time (DESC)
--   * function calculate_performance_metrics() + trigger
--             calculate_performance_metrics (BEFORE INSERT OR UPDATE):
--             duration_ms = round((end_time - start_time) in ms),
--             is_slow = duration_ms > 1000, is_error = status_code >= 400
--   * materialized view performance_summary_hourly + UNIQUE index
--             idx_perf_summary_hourly_hour_endpoint (hour, endpoint) so it can
--             be refreshed CONCURRENTLY
--   * function refresh_performance_summary() RETURNS void
--   * function cleanup_old_performance_logs(p_days_to_keep integer DEFAULT 30)
--             RETURNS integer
--
-- Business requirements: the seed names none (operational performance / SLA
-- monitoring).
--
-- Source: shared/seed/migrations-README.md, section
-- "012_create_performance_logs.sql".
-- Choices:
--   * The 12 CHECKs: method, status_code 100-599, duration_ms >= 0,
--     end_time >= start_time, and ">= 0" for each of the seven count/time
--     metrics (db_queries_count, db_time_ms, cache_hits, cache_misses,
--     cache_time_ms, external_service_calls, external_service_time_ms) and
--     response_size_bytes.
--   * duration_ms is derived whenever both start_time and end_time are set; if
--     end_time is NULL a caller-supplied duration_ms is kept. is_slow /
--     is_error are always derived (false when their input is NULL).
--   * idx_perf_slow / idx_perf_errors are "(DESC), partial": keyed on
--     start_time DESC, WHERE is_slow = true / is_error = true (recent slow /
--     failed requests). idx_perf_endpoint_time is (endpoint, start_time).
--   * The view buckets by date_trunc('hour', start_time, 'UTC') so the buckets
--     do not depend on the session time zone. Percentiles are
--     percentile_cont (double precision); cache_hit_rate is a fraction 0-1.
--   * The view is created WITH DATA (empty at first) so it can be queried and
--     refreshed CONCURRENTLY right away.
-- =============================================================================

CREATE TABLE performance_logs (
    id                          UUID          PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Request info
    request_id                  VARCHAR(100)  NOT NULL UNIQUE,
    endpoint                    VARCHAR(500)  NOT NULL,
    method                      VARCHAR(10)   NOT NULL,

    -- Timing
    start_time                  TIMESTAMPTZ   NOT NULL,
    end_time                    TIMESTAMPTZ,
    duration_ms                 INTEGER,

    -- Database
    db_queries_count            INTEGER       NOT NULL DEFAULT 0,
    db_time_ms                  INTEGER,

    -- Cache
    cache_hits                  INTEGER       NOT NULL DEFAULT 0,
    cache_misses                INTEGER       NOT NULL DEFAULT 0,
    cache_time_ms               INTEGER,

    -- External services
    external_service_calls      INTEGER       NOT NULL DEFAULT 0,
    external_service_time_ms    INTEGER,

    -- Response
    status_code                 INTEGER       NOT NULL,
    response_size_bytes         BIGINT,

    -- User context
    user_id                     UUID,
    ip_address                  INET,

    -- Flags (derived by trigger)
    is_slow                     BOOLEAN       NOT NULL DEFAULT false,
    is_error                    BOOLEAN       NOT NULL DEFAULT false,

    -- Audit
    logged_at                   TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- CHECK constraints (12)
    CONSTRAINT performance_logs_method_check
        CHECK (method IN ('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')),
    CONSTRAINT performance_logs_status_code_check
        CHECK (status_code >= 100 AND status_code <= 599),
    CONSTRAINT performance_logs_duration_ms_check
        CHECK (duration_ms >= 0),
    CONSTRAINT performance_logs_end_after_start_check
        CHECK (end_time >= start_time),
    CONSTRAINT performance_logs_db_queries_count_check
        CHECK (db_queries_count >= 0),
    CONSTRAINT performance_logs_db_time_ms_check
        CHECK (db_time_ms >= 0),
    CONSTRAINT performance_logs_cache_hits_check
        CHECK (cache_hits >= 0),
    CONSTRAINT performance_logs_cache_misses_check
        CHECK (cache_misses >= 0),
    CONSTRAINT performance_logs_cache_time_ms_check
        CHECK (cache_time_ms >= 0),
    CONSTRAINT performance_logs_external_service_calls_check
        CHECK (external_service_calls >= 0),
    CONSTRAINT performance_logs_external_service_time_ms_check
        CHECK (external_service_time_ms >= 0),
    CONSTRAINT performance_logs_response_size_bytes_check
        CHECK (response_size_bytes >= 0)
);

-- Indexes (10)
CREATE INDEX idx_perf_endpoint_time ON performance_logs (endpoint, start_time);
CREATE INDEX idx_perf_duration      ON performance_logs (duration_ms DESC);
CREATE INDEX idx_perf_slow          ON performance_logs (start_time DESC) WHERE is_slow = true;
CREATE INDEX idx_perf_errors        ON performance_logs (start_time DESC) WHERE is_error = true;
CREATE INDEX idx_perf_logged_at     ON performance_logs (logged_at DESC);
CREATE INDEX idx_perf_start_time    ON performance_logs (start_time DESC);
CREATE INDEX idx_perf_user_id       ON performance_logs (user_id);
CREATE INDEX idx_perf_status_code   ON performance_logs (status_code);
CREATE INDEX idx_perf_method        ON performance_logs (method);
CREATE INDEX idx_perf_db_time       ON performance_logs (db_time_ms DESC);

-- -----------------------------------------------------------------------------
-- Trigger: derive duration_ms, is_slow, is_error
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION calculate_performance_metrics()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
BEGIN
    IF NEW.start_time IS NOT NULL AND NEW.end_time IS NOT NULL THEN
        -- milliseconds, rounded to the nearest integer
        NEW.duration_ms := round(EXTRACT(EPOCH FROM (NEW.end_time - NEW.start_time)) * 1000)::integer;
    END IF;
    NEW.is_slow  := COALESCE(NEW.duration_ms > 1000, false);
    NEW.is_error := COALESCE(NEW.status_code >= 400, false);
    RETURN NEW;
END;
$$;

CREATE TRIGGER calculate_performance_metrics
    BEFORE INSERT OR UPDATE ON performance_logs
    FOR EACH ROW
    EXECUTE FUNCTION calculate_performance_metrics();

-- -----------------------------------------------------------------------------
-- Materialized view: hourly pre-aggregated stats per endpoint
-- -----------------------------------------------------------------------------
CREATE MATERIALIZED VIEW performance_summary_hourly AS
SELECT
    date_trunc('hour', start_time, 'UTC')                                  AS hour,
    endpoint,
    count(*)                                                               AS request_count,
    round(avg(duration_ms), 2)                                             AS avg_duration_ms,
    percentile_cont(0.50) WITHIN GROUP (ORDER BY duration_ms)              AS p50_duration_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)              AS p95_duration_ms,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)              AS p99_duration_ms,
    max(duration_ms)                                                       AS max_duration_ms,
    count(*) FILTER (WHERE is_slow)                                        AS slow_count,
    count(*) FILTER (WHERE is_error)                                       AS error_count,
    round(sum(cache_hits)::numeric
          / NULLIF(sum(cache_hits) + sum(cache_misses), 0), 4)             AS cache_hit_rate,
    sum(response_size_bytes)                                               AS total_response_bytes
FROM performance_logs
GROUP BY date_trunc('hour', start_time, 'UTC'), endpoint
WITH DATA;

CREATE UNIQUE INDEX idx_perf_summary_hourly_hour_endpoint
    ON performance_summary_hourly (hour, endpoint);

-- -----------------------------------------------------------------------------
-- Functions
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION refresh_performance_summary()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
BEGIN
    -- CONCURRENTLY keeps the view readable during the refresh; it needs the
    -- unique index idx_perf_summary_hourly_hour_endpoint and a populated view.
    REFRESH MATERIALIZED VIEW CONCURRENTLY performance_summary_hourly;
END;
$$;

CREATE OR REPLACE FUNCTION cleanup_old_performance_logs(p_days_to_keep integer DEFAULT 30)
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
        RAISE EXCEPTION 'cleanup_old_performance_logs: p_days_to_keep must be >= 0 (got %)', p_days_to_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    DELETE FROM performance_logs
     WHERE logged_at < CURRENT_TIMESTAMP - make_interval(days => p_days_to_keep);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE performance_logs IS
    'One row per HTTP request: timing, database / cache / external-service breakdown, response, user context and derived is_slow / is_error flags. SLA target: 90% of requests < 500 ms.';

COMMENT ON COLUMN performance_logs.id IS 'Primary key (UUID).';
COMMENT ON COLUMN performance_logs.request_id IS 'Request correlation id (e.g. ''req-abc123''); unique, each request is logged once.';
COMMENT ON COLUMN performance_logs.endpoint IS 'Route / endpoint path, e.g. ''/api/properties''.';
COMMENT ON COLUMN performance_logs.method IS 'HTTP method: GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS.';
COMMENT ON COLUMN performance_logs.start_time IS 'Request start time.';
COMMENT ON COLUMN performance_logs.end_time IS 'Request end time; >= start_time.';
COMMENT ON COLUMN performance_logs.duration_ms IS 'Duration in milliseconds, derived by trigger from end_time - start_time (rounded); >= 0.';
COMMENT ON COLUMN performance_logs.db_queries_count IS 'Number of database queries issued; >= 0.';
COMMENT ON COLUMN performance_logs.db_time_ms IS 'Total time spent in the database, ms; >= 0 (NULL = not measured).';
COMMENT ON COLUMN performance_logs.cache_hits IS 'Cache hits; >= 0.';
COMMENT ON COLUMN performance_logs.cache_misses IS 'Cache misses; >= 0.';
COMMENT ON COLUMN performance_logs.cache_time_ms IS 'Total time spent in the cache, ms; >= 0.';
COMMENT ON COLUMN performance_logs.external_service_calls IS 'Calls to external services; >= 0.';
COMMENT ON COLUMN performance_logs.external_service_time_ms IS 'Total time spent in external services, ms; >= 0.';
COMMENT ON COLUMN performance_logs.status_code IS 'HTTP status code, 100-599.';
COMMENT ON COLUMN performance_logs.response_size_bytes IS 'Response body size in bytes; >= 0.';
COMMENT ON COLUMN performance_logs.user_id IS 'Requesting user (users.id; no FK: logs must not block user deletion and users is created later, in 013).';
COMMENT ON COLUMN performance_logs.ip_address IS 'Client IP address (INET).';
COMMENT ON COLUMN performance_logs.is_slow IS 'Derived by trigger: duration_ms > 1000.';
COMMENT ON COLUMN performance_logs.is_error IS 'Derived by trigger: status_code >= 400.';
COMMENT ON COLUMN performance_logs.logged_at IS 'Time the row was written.';

COMMENT ON FUNCTION calculate_performance_metrics() IS
    'BEFORE INSERT OR UPDATE row trigger function on performance_logs: duration_ms = round((end_time - start_time) in ms) when both are set; is_slow = duration_ms > 1000; is_error = status_code >= 400.';
COMMENT ON TRIGGER calculate_performance_metrics ON performance_logs IS
    'BEFORE INSERT OR UPDATE: derives duration_ms, is_slow and is_error (calculate_performance_metrics()).';

COMMENT ON MATERIALIZED VIEW performance_summary_hourly IS
    'Hourly (UTC buckets) per-endpoint aggregates of performance_logs: request count, avg / p50 / p95 / p99 / max duration (ms), slow and error counts, cache hit rate (0-1) and total response bytes. Refresh with refresh_performance_summary().';
COMMENT ON COLUMN performance_summary_hourly.hour IS 'Start of the hour bucket (date_trunc in UTC).';
COMMENT ON COLUMN performance_summary_hourly.endpoint IS 'Endpoint.';
COMMENT ON COLUMN performance_summary_hourly.request_count IS 'Number of requests in the hour.';
COMMENT ON COLUMN performance_summary_hourly.avg_duration_ms IS 'Average duration, ms.';
COMMENT ON COLUMN performance_summary_hourly.p50_duration_ms IS 'Median duration, ms (percentile_cont).';
COMMENT ON COLUMN performance_summary_hourly.p95_duration_ms IS '95th percentile duration, ms.';
COMMENT ON COLUMN performance_summary_hourly.p99_duration_ms IS '99th percentile duration, ms.';
COMMENT ON COLUMN performance_summary_hourly.max_duration_ms IS 'Maximum duration, ms.';
COMMENT ON COLUMN performance_summary_hourly.slow_count IS 'Requests with is_slow.';
COMMENT ON COLUMN performance_summary_hourly.error_count IS 'Requests with is_error.';
COMMENT ON COLUMN performance_summary_hourly.cache_hit_rate IS 'cache_hits / (cache_hits + cache_misses), fraction 0-1; NULL without cache traffic.';
COMMENT ON COLUMN performance_summary_hourly.total_response_bytes IS 'Sum of response_size_bytes.';

COMMENT ON FUNCTION refresh_performance_summary() IS
    'Refreshes performance_summary_hourly CONCURRENTLY (readers are not blocked). Run hourly.';
COMMENT ON FUNCTION cleanup_old_performance_logs(integer) IS
    'Deletes performance_logs rows with logged_at older than p_days_to_keep days (default 30) and returns how many were deleted. Raises invalid_parameter_value for a negative argument; STRICT: NULL argument deletes nothing and returns NULL.';
