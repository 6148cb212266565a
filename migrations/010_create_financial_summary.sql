-- =============================================================================
-- 010_create_financial_summary.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   property_financial_summary (33 columns) -- denormalised,
--             pre-calculated monthly KPIs per property for dashboards
--   * FK      property_financial_summary_property_id_fkey -> properties(id)
--             ON DELETE CASCADE
--   * UNIQUE  property_financial_summary_property_id_summary_month_key
--             (property_id, summary_month): one summary per property per month,
--             the conflict target of the seed's ON CONFLICT upsert
--   * 18 named CHECK constraints (see below)
--   * 9 indexes: idx_summary_property_id, idx_summary_date (DESC),
--             idx_summary_month (DESC), idx_summary_below_market (partial),
--             idx_summary_high_expense (partial), idx_summary_lease_risk
--             (partial), idx_summary_occupancy (DESC), idx_summary_dscr (DESC),
--             idx_summary_noi (DESC)
--   * function set_summary_month() + trigger set_summary_month
--             (BEFORE INSERT OR UPDATE: summary_month = to_char(summary_date,
--             'YYYY-MM'))
--
-- Business requirements: the seed names none for this table; it serves the
-- portfolio dashboard (fed by BR-004 / BR-008 data and by leases/transactions).
--
-- Source: shared/seed/migrations-README.md, section
-- "010_create_financial_summary.sql". 33 columns = the 31 listed + id +
-- property_id.
-- Choices:
--   * Ratios (occupancy_rate, noi_margin, ltv, cap_rate, expense_ratio) are
--     fractions in NUMERIC(5,4) so the example's noi_margin 0.708 is stored
--     exactly. NOTE occupancy_rate here is 0.00-1.00 while
--     properties.occupancy_rate is a percentage 0-100 (as the seed says).
--   * roi_pct / rent_growth_pct_yoy are percentages (NUMERIC(8,4)).
--   * summary_month cannot be a generated column (to_char is not IMMUTABLE),
--     so a BEFORE trigger derives it; BEFORE INSERT triggers run before the
--     ON CONFLICT arbiter check, so the seed's upsert on
--     (property_id, summary_month) works without supplying summary_month.
--   * Partial indexes are keyed on their flag column, WHERE flag = true.
--   * The table has no updated_at; calculated_at is set by the batch job /
--     the upsert (the seed's example sets it in DO UPDATE).
-- =============================================================================

CREATE TABLE property_financial_summary (
    id                          UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id                 UUID          NOT NULL
                                              REFERENCES properties (id) ON DELETE CASCADE,

    -- Summary period
    summary_date                DATE          NOT NULL DEFAULT CURRENT_DATE,
    summary_month               VARCHAR(7)    NOT NULL,

    -- Income metrics (4)
    gross_revenue               NUMERIC(15,2),
    total_expenses              NUMERIC(15,2),
    noi                         NUMERIC(15,2),
    noi_margin                  NUMERIC(5,4),

    -- Debt metrics (3)
    annual_debt_service         NUMERIC(15,2),
    dscr                        NUMERIC(8,4),
    ltv                         NUMERIC(5,4),

    -- Occupancy metrics (5)
    total_units                 INTEGER,
    occupied_units              INTEGER,
    occupancy_rate              NUMERIC(5,4),
    leased_not_occupied         INTEGER,
    vacant_units                INTEGER,

    -- Tenant metrics (3)
    tenant_count                INTEGER,
    average_lease_term_months   NUMERIC(7,2),
    expiring_leases_12mo        INTEGER,

    -- Performance metrics (3)
    cap_rate                    NUMERIC(5,4),
    roi_pct                     NUMERIC(8,4),
    days_on_market              INTEGER,

    -- Area breakdown (3)
    expense_per_sqft            NUMERIC(10,2),
    revenue_per_sqft            NUMERIC(10,2),
    rent_per_occupied_sqft      NUMERIC(10,2),

    -- Quality indicators (3)
    avg_rent_per_unit           NUMERIC(12,2),
    rent_growth_pct_yoy         NUMERIC(8,4),
    expense_ratio               NUMERIC(5,4),

    -- Risk flags (3)
    below_market_rent           BOOLEAN       NOT NULL DEFAULT false,
    above_average_expense       BOOLEAN       NOT NULL DEFAULT false,
    lease_expiration_risk       BOOLEAN       NOT NULL DEFAULT false,

    -- Audit (2)
    calculated_at               TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    data_complete               BOOLEAN       NOT NULL DEFAULT false,

    -- One summary per property per month
    UNIQUE (property_id, summary_month),

    -- CHECK constraints (18)
    CONSTRAINT property_financial_summary_occupancy_rate_check
        CHECK (occupancy_rate >= 0.00 AND occupancy_rate <= 1.00),
    CONSTRAINT property_financial_summary_noi_margin_check
        CHECK (noi_margin >= -1.00 AND noi_margin <= 1.00),
    CONSTRAINT property_financial_summary_dscr_check
        CHECK (dscr > 0),
    CONSTRAINT property_financial_summary_ltv_check
        CHECK (ltv >= 0.00 AND ltv <= 1.00),
    CONSTRAINT property_financial_summary_cap_rate_check
        CHECK (cap_rate >= -1.00 AND cap_rate <= 1.00),
    CONSTRAINT property_financial_summary_roi_pct_check
        CHECK (roi_pct >= -100 AND roi_pct <= 1000),
    CONSTRAINT property_financial_summary_expense_ratio_check
        CHECK (expense_ratio >= 0.00 AND expense_ratio <= 1.00),
    CONSTRAINT property_financial_summary_occupied_units_check
        CHECK (occupied_units <= total_units),
    CONSTRAINT property_financial_summary_vacant_units_check
        CHECK (vacant_units >= 0),
    CONSTRAINT property_financial_summary_days_on_market_check
        CHECK (days_on_market >= 0),
    CONSTRAINT property_financial_summary_tenant_count_check
        CHECK (tenant_count >= 0),
    CONSTRAINT property_financial_summary_expiring_leases_12mo_check
        CHECK (expiring_leases_12mo >= 0),
    CONSTRAINT property_financial_summary_expense_per_sqft_check
        CHECK (expense_per_sqft >= 0),
    CONSTRAINT property_financial_summary_revenue_per_sqft_check
        CHECK (revenue_per_sqft >= 0),
    CONSTRAINT property_financial_summary_rent_per_occupied_sqft_check
        CHECK (rent_per_occupied_sqft >= 0),
    CONSTRAINT property_financial_summary_average_lease_term_months_check
        CHECK (average_lease_term_months > 0),
    CONSTRAINT property_financial_summary_summary_month_check
        CHECK (summary_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT property_financial_summary_summary_date_check
        CHECK (summary_date <= CURRENT_DATE)
);

-- Indexes (9)
CREATE INDEX idx_summary_property_id    ON property_financial_summary (property_id);
CREATE INDEX idx_summary_date           ON property_financial_summary (summary_date DESC);
CREATE INDEX idx_summary_month          ON property_financial_summary (summary_month DESC);
CREATE INDEX idx_summary_below_market   ON property_financial_summary (below_market_rent)
    WHERE below_market_rent = true;
CREATE INDEX idx_summary_high_expense   ON property_financial_summary (above_average_expense)
    WHERE above_average_expense = true;
CREATE INDEX idx_summary_lease_risk     ON property_financial_summary (lease_expiration_risk)
    WHERE lease_expiration_risk = true;
CREATE INDEX idx_summary_occupancy      ON property_financial_summary (occupancy_rate DESC);
CREATE INDEX idx_summary_dscr           ON property_financial_summary (dscr DESC);
CREATE INDEX idx_summary_noi            ON property_financial_summary (noi DESC);

-- -----------------------------------------------------------------------------
-- Trigger: derive summary_month (YYYY-MM) from summary_date
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION set_summary_month()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY INVOKER
AS $$
BEGIN
    -- summary_date is NOT NULL; if it is NULL the NOT NULL constraint reports it.
    NEW.summary_month := to_char(NEW.summary_date, 'YYYY-MM');
    RETURN NEW;
END;
$$;

CREATE TRIGGER set_summary_month
    BEFORE INSERT OR UPDATE ON property_financial_summary
    FOR EACH ROW
    EXECUTE FUNCTION set_summary_month();

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE property_financial_summary IS
    'Denormalised monthly financial KPIs per property for dashboards (no joins needed): income, debt, occupancy, tenant, performance, per-sqft, quality metrics and risk flags. One row per property per month (UNIQUE (property_id, summary_month)); upserted by the daily/monthly batch.';

COMMENT ON COLUMN property_financial_summary.id IS 'Primary key (UUID).';
COMMENT ON COLUMN property_financial_summary.property_id IS 'Summarised property (properties.id); deleted with the property.';
COMMENT ON COLUMN property_financial_summary.summary_date IS 'Date the summary was computed for; not in the future.';
COMMENT ON COLUMN property_financial_summary.summary_month IS 'YYYY-MM of summary_date; always derived by trigger set_summary_month (any supplied value is overwritten).';
COMMENT ON COLUMN property_financial_summary.gross_revenue IS 'Gross revenue (annualised, currency).';
COMMENT ON COLUMN property_financial_summary.total_expenses IS 'Total operating expenses (annualised, currency).';
COMMENT ON COLUMN property_financial_summary.noi IS 'Net operating income = gross_revenue - total_expenses.';
COMMENT ON COLUMN property_financial_summary.noi_margin IS 'NOI / gross revenue, fraction -1.00-1.00.';
COMMENT ON COLUMN property_financial_summary.annual_debt_service IS 'Annual principal + interest payments.';
COMMENT ON COLUMN property_financial_summary.dscr IS 'Debt service coverage ratio = NOI / annual debt service; > 0.';
COMMENT ON COLUMN property_financial_summary.ltv IS 'Loan-to-value ratio, fraction 0.00-1.00.';
COMMENT ON COLUMN property_financial_summary.total_units IS 'Number of units.';
COMMENT ON COLUMN property_financial_summary.occupied_units IS 'Occupied units; <= total_units.';
COMMENT ON COLUMN property_financial_summary.occupancy_rate IS 'Occupancy as a FRACTION 0.00-1.00 (0.92 = 92%); unlike properties.occupancy_rate (0-100).';
COMMENT ON COLUMN property_financial_summary.leased_not_occupied IS 'Units leased but not yet occupied.';
COMMENT ON COLUMN property_financial_summary.vacant_units IS 'Vacant units; >= 0.';
COMMENT ON COLUMN property_financial_summary.tenant_count IS 'Number of tenants; >= 0.';
COMMENT ON COLUMN property_financial_summary.average_lease_term_months IS 'Average remaining / contracted lease term in months; > 0.';
COMMENT ON COLUMN property_financial_summary.expiring_leases_12mo IS 'Leases expiring within the next 12 months; >= 0.';
COMMENT ON COLUMN property_financial_summary.cap_rate IS 'Capitalisation rate = NOI / value, fraction -1.00-1.00.';
COMMENT ON COLUMN property_financial_summary.roi_pct IS 'Return on investment in PERCENT, -100 to 1000.';
COMMENT ON COLUMN property_financial_summary.days_on_market IS 'Days vacant space has been on the market; >= 0.';
COMMENT ON COLUMN property_financial_summary.expense_per_sqft IS 'Operating expenses per square foot; >= 0.';
COMMENT ON COLUMN property_financial_summary.revenue_per_sqft IS 'Revenue per square foot; >= 0.';
COMMENT ON COLUMN property_financial_summary.rent_per_occupied_sqft IS 'Rent per occupied square foot; >= 0.';
COMMENT ON COLUMN property_financial_summary.avg_rent_per_unit IS 'Average rent per unit.';
COMMENT ON COLUMN property_financial_summary.rent_growth_pct_yoy IS 'Year-over-year rent growth in percent.';
COMMENT ON COLUMN property_financial_summary.expense_ratio IS 'Total expenses / gross revenue, fraction 0.00-1.00.';
COMMENT ON COLUMN property_financial_summary.below_market_rent IS 'Risk flag: rents below market (partial index idx_summary_below_market).';
COMMENT ON COLUMN property_financial_summary.above_average_expense IS 'Risk flag: expenses above portfolio average (partial index idx_summary_high_expense).';
COMMENT ON COLUMN property_financial_summary.lease_expiration_risk IS 'Risk flag: material lease expirations ahead (partial index idx_summary_lease_risk).';
COMMENT ON COLUMN property_financial_summary.calculated_at IS 'When the metrics were (re)calculated.';
COMMENT ON COLUMN property_financial_summary.data_complete IS 'True when all source data for the month was available.';

COMMENT ON FUNCTION set_summary_month() IS
    'BEFORE INSERT OR UPDATE row trigger function on property_financial_summary: summary_month = to_char(summary_date, ''YYYY-MM'').';
COMMENT ON TRIGGER set_summary_month ON property_financial_summary IS
    'BEFORE INSERT OR UPDATE: derives summary_month from summary_date (set_summary_month()).';
