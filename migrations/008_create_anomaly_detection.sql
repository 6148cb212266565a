-- =============================================================================
-- 008_create_anomaly_detection.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   anomaly_detection_results (27 columns) -- results of the nightly
--             (2 AM) statistical anomaly detection job: Z-score outliers and
--             CUSUM trend shifts, one row per property x metric x run
--   * FK      anomaly_detection_results_property_id_fkey -> properties(id)
--             ON DELETE CASCADE
--   * 10 named CHECK constraints (see below)
--   * 7 indexes: idx_anomaly_property_id, idx_anomaly_metric_name,
--             idx_anomaly_detected, idx_anomaly_analysis_date (DESC),
--             idx_anomaly_property_metric, idx_anomaly_requires_review
--             (partial), idx_anomaly_requires_alert (partial)
--
-- Business requirement: BR-008 (anomaly detection engine).
--
-- Source: shared/seed/migrations-README.md, section
-- "008_create_anomaly_detection.sql". 27 columns = the 25 listed + id +
-- property_id (used by every example).
-- Choices:
--   * "Thresholds: positive values" is two constraints (zscore_threshold,
--     cusum_threshold), which makes the seed's count of 10 CHECKs.
--   * Ratios / confidences are NUMERIC(5,4) (0.0000-1.0000); metric values in
--     arrays are NUMERIC(18,4) (money as well as ratios fit).
--   * The partial indexes are keyed on their flag column and select the rows
--     where it is true (the review / alert queues).
-- =============================================================================

CREATE TABLE anomaly_detection_results (
    id                          UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id                 UUID          NOT NULL
                                              REFERENCES properties (id) ON DELETE CASCADE,

    -- Metric info
    metric_name                 VARCHAR(100)  NOT NULL,
    metric_history_start_date   DATE,
    metric_history_end_date     DATE,
    data_points_analyzed        INTEGER,

    -- Z-score analysis
    zscore_detected             BOOLEAN       NOT NULL DEFAULT false,
    zscore_threshold            NUMERIC(6,3),
    zscore_values               NUMERIC(12,4)[],
    zscore_anomalies            INTEGER       NOT NULL DEFAULT 0,

    -- CUSUM analysis
    cusum_detected              BOOLEAN       NOT NULL DEFAULT false,
    cusum_threshold             NUMERIC(8,3),
    cusum_direction             VARCHAR(20),
    cusum_anomalies             INTEGER       NOT NULL DEFAULT 0,

    -- Results
    anomalies_found             BOOLEAN       NOT NULL DEFAULT false,
    anomaly_confidence          NUMERIC(5,4),
    anomaly_type                VARCHAR(30),

    -- Anomaly details (arrays, parallel: one element per anomaly)
    anomaly_values              NUMERIC(18,4)[],
    anomaly_dates               DATE[],
    anomaly_descriptions        TEXT[],

    -- Business impact
    requires_review             BOOLEAN       NOT NULL DEFAULT false,
    requires_alert              BOOLEAN       NOT NULL DEFAULT false,

    -- Analysis parameters
    lookback_months             INTEGER       DEFAULT 12,
    analysis_method             VARCHAR(30)   NOT NULL DEFAULT 'combination',

    -- Timing
    analysis_date               DATE          NOT NULL DEFAULT CURRENT_DATE,
    analysis_timestamp          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    analysis_duration_seconds   NUMERIC(10,3),

    -- CHECK constraints (10)
    CONSTRAINT anomaly_detection_results_anomaly_confidence_check
        CHECK (anomaly_confidence >= 0.00 AND anomaly_confidence <= 1.00),
    CONSTRAINT anomaly_detection_results_zscore_threshold_check
        CHECK (zscore_threshold > 0),
    CONSTRAINT anomaly_detection_results_cusum_threshold_check
        CHECK (cusum_threshold > 0),
    CONSTRAINT anomaly_detection_results_data_points_analyzed_check
        CHECK (data_points_analyzed > 0),
    CONSTRAINT anomaly_detection_results_lookback_months_check
        CHECK (lookback_months > 0),
    CONSTRAINT anomaly_detection_results_analysis_duration_seconds_check
        CHECK (analysis_duration_seconds >= 0),
    CONSTRAINT anomaly_detection_results_cusum_direction_check
        CHECK (cusum_direction IN ('upward', 'downward', 'both')),
    CONSTRAINT anomaly_detection_results_anomaly_type_check
        CHECK (anomaly_type IN ('outlier', 'trend_shift', 'level_change', 'seasonal', 'multiple')),
    CONSTRAINT anomaly_detection_results_analysis_method_check
        CHECK (analysis_method IN ('z_score', 'cusum', 'combination', 'ml_model', 'ensemble')),
    CONSTRAINT anomaly_detection_results_analysis_date_check
        CHECK (analysis_date <= CURRENT_DATE)
);

-- Indexes (7)
CREATE INDEX idx_anomaly_property_id     ON anomaly_detection_results (property_id);
CREATE INDEX idx_anomaly_metric_name     ON anomaly_detection_results (metric_name);
CREATE INDEX idx_anomaly_detected        ON anomaly_detection_results (anomalies_found);
CREATE INDEX idx_anomaly_analysis_date   ON anomaly_detection_results (analysis_date DESC);
CREATE INDEX idx_anomaly_property_metric ON anomaly_detection_results (property_id, metric_name);
CREATE INDEX idx_anomaly_requires_review ON anomaly_detection_results (requires_review)
    WHERE requires_review = true;
CREATE INDEX idx_anomaly_requires_alert  ON anomaly_detection_results (requires_alert)
    WHERE requires_alert = true;

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE anomaly_detection_results IS
    'BR-008 anomaly detection results: one row per property, metric and analysis run (nightly 2 AM job). Z-score outliers and CUSUM trend shifts; per-anomaly details in parallel arrays (UNNEST-friendly).';

COMMENT ON COLUMN anomaly_detection_results.id IS 'Primary key (UUID).';
COMMENT ON COLUMN anomaly_detection_results.property_id IS 'Analysed property (properties.id); deleted with the property.';
COMMENT ON COLUMN anomaly_detection_results.metric_name IS 'Analysed metric, e.g. ''noi'', ''occupancy_rate'', ''dscr''.';
COMMENT ON COLUMN anomaly_detection_results.metric_history_start_date IS 'First date of the metric history analysed.';
COMMENT ON COLUMN anomaly_detection_results.metric_history_end_date IS 'Last date of the metric history analysed.';
COMMENT ON COLUMN anomaly_detection_results.data_points_analyzed IS 'Number of data points analysed; > 0 when set.';
COMMENT ON COLUMN anomaly_detection_results.zscore_detected IS 'True when the Z-score test flagged at least one outlier.';
COMMENT ON COLUMN anomaly_detection_results.zscore_threshold IS 'Absolute Z-score above which a point is an outlier (e.g. 2.5); > 0.';
COMMENT ON COLUMN anomaly_detection_results.zscore_values IS 'Z-score of each analysed data point (NUMERIC array).';
COMMENT ON COLUMN anomaly_detection_results.zscore_anomalies IS 'Number of points whose |Z| exceeded zscore_threshold.';
COMMENT ON COLUMN anomaly_detection_results.cusum_detected IS 'True when the CUSUM test detected a trend shift.';
COMMENT ON COLUMN anomaly_detection_results.cusum_threshold IS 'CUSUM decision threshold (h); > 0.';
COMMENT ON COLUMN anomaly_detection_results.cusum_direction IS 'Direction of the detected shift: upward, downward or both.';
COMMENT ON COLUMN anomaly_detection_results.cusum_anomalies IS 'Number of CUSUM change points detected.';
COMMENT ON COLUMN anomaly_detection_results.anomalies_found IS 'True when any method found an anomaly.';
COMMENT ON COLUMN anomaly_detection_results.anomaly_confidence IS 'Confidence in the finding, 0.00-1.00.';
COMMENT ON COLUMN anomaly_detection_results.anomaly_type IS 'outlier, trend_shift, level_change, seasonal or multiple.';
COMMENT ON COLUMN anomaly_detection_results.anomaly_values IS 'Metric value of each anomaly (parallel to anomaly_dates / anomaly_descriptions).';
COMMENT ON COLUMN anomaly_detection_results.anomaly_dates IS 'Date of each anomaly (DATE array).';
COMMENT ON COLUMN anomaly_detection_results.anomaly_descriptions IS 'Human-readable description of each anomaly (TEXT array).';
COMMENT ON COLUMN anomaly_detection_results.requires_review IS 'True when an analyst must review the result (review queue, partial index).';
COMMENT ON COLUMN anomaly_detection_results.requires_alert IS 'True when an alert must be raised (alert generation queue, partial index).';
COMMENT ON COLUMN anomaly_detection_results.lookback_months IS 'History window analysed, in months; > 0.';
COMMENT ON COLUMN anomaly_detection_results.analysis_method IS 'z_score, cusum, combination, ml_model or ensemble.';
COMMENT ON COLUMN anomaly_detection_results.analysis_date IS 'Business date of the analysis; not in the future.';
COMMENT ON COLUMN anomaly_detection_results.analysis_timestamp IS 'Exact time the analysis ran.';
COMMENT ON COLUMN anomaly_detection_results.analysis_duration_seconds IS 'Run time of the analysis in seconds; >= 0.';
