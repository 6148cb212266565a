-- =============================================================================
-- 001_create_properties.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * function update_updated_at_column()  -- shared BEFORE UPDATE trigger
--     function, reused by every later table that has an updated_at column
--   * table    properties                  -- 38 columns, the core REIMS entity
--   * 9 indexes, 8 named CHECK constraints
--   * trigger  update_properties_updated_at
--
-- Business requirements: the seed assigns no BR number to this table itself;
-- it is the parent of everything the numbered requirements work on:
-- BR-001 (document upload), BR-004 (exit strategy), BR-007 (audit trail),
-- BR-008 (anomaly detection).
--
-- Source: shared/seed/migrations-README.md, section "001_create_properties.sql".
-- Where the seed's column list and its SQL examples disagree the examples win:
-- the list says "zip", the sample INSERT uses "zip_code", so the column is
-- zip_code.
--
-- INFERRED (not named by the seed): the seed says 38 columns but lists 34.
-- The 4 missing columns are inferred and marked "INFERRED" below:
--   country                    (Location)  -- address completeness
--   lot_size_sqft              (Physical)  -- land area, distinct from building sqft
--   annual_operating_expenses  (Income)    -- revenue - expenses = NOI
--   annual_debt_service        (Debt)      -- NOI / debt service = DSCR
-- Also inferred: created_by / updated_by are UUIDs of users (users is created
-- in 013, so they carry no foreign key); interest_rate is a decimal fraction.
--
-- Runs under plain `psql -v ON_ERROR_STOP=1 -f` and inside one transaction
-- (`psql -1`): no BEGIN/COMMIT, no CONCURRENTLY, no extensions
-- (gen_random_uuid() is core since PostgreSQL 13).
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Shared trigger function: keep updated_at current on every UPDATE.
-- -----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION update_updated_at_column()
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

COMMENT ON FUNCTION update_updated_at_column() IS
    'Shared BEFORE UPDATE row trigger function: sets NEW.updated_at = CURRENT_TIMESTAMP. Used by properties and every later table with an updated_at column (except users, which has its own update_user_timestamp).';

-- -----------------------------------------------------------------------------
-- properties
-- -----------------------------------------------------------------------------
CREATE TABLE properties (
    -- Basic info
    id                          UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    name                        VARCHAR(255)  NOT NULL,
    description                 TEXT,

    -- Location
    address                     VARCHAR(500)  NOT NULL,
    city                        VARCHAR(100)  NOT NULL,
    state                       VARCHAR(50)   NOT NULL,
    zip_code                    VARCHAR(20),
    country                     VARCHAR(100)  NOT NULL DEFAULT 'USA',   -- INFERRED
    latitude                    NUMERIC(10,8),
    longitude                   NUMERIC(11,8),

    -- Physical
    total_sqft                  NUMERIC(12,2),
    lot_size_sqft               NUMERIC(14,2),                          -- INFERRED
    year_built                  INTEGER,
    property_type               VARCHAR(50)   NOT NULL,
    property_class              VARCHAR(1),

    -- Financial (acquisition)
    acquisition_cost            NUMERIC(15,2),
    acquisition_date            DATE,

    -- Financial (current)
    current_value               NUMERIC(15,2),
    last_appraised_date         DATE,
    estimated_market_value      NUMERIC(15,2),

    -- Debt
    loan_balance                NUMERIC(15,2),
    original_loan_amount        NUMERIC(15,2),
    interest_rate               NUMERIC(6,4),
    loan_maturity_date          DATE,
    annual_debt_service         NUMERIC(15,2),                          -- INFERRED
    dscr                        NUMERIC(8,4),

    -- Income
    annual_noi                  NUMERIC(15,2),
    annual_revenue              NUMERIC(15,2),
    annual_operating_expenses   NUMERIC(15,2),                          -- INFERRED

    -- Occupancy
    total_units                 INTEGER,
    occupied_units              INTEGER,
    occupancy_rate              NUMERIC(5,2),

    -- Status
    status                      VARCHAR(50)   NOT NULL DEFAULT 'active',
    has_active_alerts           BOOLEAN       NOT NULL DEFAULT false,

    -- Audit
    created_at                  TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at                  TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by                  UUID,
    updated_by                  UUID,

    -- Constraints (8), as listed by the seed
    CONSTRAINT properties_occupancy_rate_check
        CHECK (occupancy_rate >= 0 AND occupancy_rate <= 100),
    CONSTRAINT properties_total_sqft_check
        CHECK (total_sqft > 0),
    CONSTRAINT properties_acquisition_date_check
        CHECK (acquisition_date <= CURRENT_DATE),
    CONSTRAINT properties_year_built_check
        CHECK (year_built >= 1800 AND year_built <= EXTRACT(YEAR FROM CURRENT_DATE) + 5),
    CONSTRAINT properties_occupied_units_check
        CHECK (occupied_units <= total_units),
    CONSTRAINT properties_status_check
        CHECK (status IN ('active', 'inactive', 'pending_acquisition', 'under_contract',
                          'under_renovation', 'sold')),
    CONSTRAINT properties_property_type_check
        CHECK (property_type IN ('office', 'retail', 'industrial', 'multifamily', 'mixed_use',
                                 'hospitality', 'healthcare', 'self_storage', 'land', 'other')),
    CONSTRAINT properties_property_class_check
        CHECK (property_class IN ('A', 'B', 'C', 'D'))
);

-- Indexes (9)
CREATE INDEX idx_properties_status        ON properties (status);
CREATE INDEX idx_properties_city_state    ON properties (city, state);
CREATE INDEX idx_properties_property_type ON properties (property_type);
CREATE INDEX idx_properties_occupancy_rate ON properties (occupancy_rate);
CREATE INDEX idx_properties_created_at    ON properties (created_at);
CREATE INDEX idx_properties_has_alerts    ON properties (has_active_alerts);
CREATE INDEX idx_properties_current_value ON properties (current_value);
CREATE INDEX idx_properties_coordinates   ON properties (latitude, longitude);
CREATE INDEX idx_properties_class         ON properties (property_class);

-- Trigger: auto-update updated_at on row modification
CREATE TRIGGER update_properties_updated_at
    BEFORE UPDATE ON properties
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE properties IS
    'Core REIMS entity: one row per real-estate property (location, physical, acquisition, valuation, debt, income, occupancy, status, audit). Parent of leases, documents, alerts, transactions, anomaly_detection_results, exit_strategy_analysis and property_financial_summary.';

COMMENT ON COLUMN properties.id IS 'Primary key (UUID, gen_random_uuid()).';
COMMENT ON COLUMN properties.name IS 'Property display name, e.g. ''Downtown Office Commons''.';
COMMENT ON COLUMN properties.description IS 'Free-text description of the property.';
COMMENT ON COLUMN properties.address IS 'Street address.';
COMMENT ON COLUMN properties.city IS 'City.';
COMMENT ON COLUMN properties.state IS 'State / province (e.g. ''CA'').';
COMMENT ON COLUMN properties.zip_code IS 'Postal code. The seed''s column list says "zip"; its sample INSERT uses zip_code, which wins.';
COMMENT ON COLUMN properties.country IS 'INFERRED (not listed by the seed): country, default ''USA''.';
COMMENT ON COLUMN properties.latitude IS 'WGS84 latitude in decimal degrees.';
COMMENT ON COLUMN properties.longitude IS 'WGS84 longitude in decimal degrees.';
COMMENT ON COLUMN properties.total_sqft IS 'Rentable building area in square feet; must be > 0 when set.';
COMMENT ON COLUMN properties.lot_size_sqft IS 'INFERRED (not listed by the seed): land / lot area in square feet.';
COMMENT ON COLUMN properties.year_built IS 'Year of construction: 1800 to current year + 5.';
COMMENT ON COLUMN properties.property_type IS 'office, retail, industrial, multifamily, mixed_use, hospitality, healthcare, self_storage, land or other.';
COMMENT ON COLUMN properties.property_class IS 'Building class A, B, C or D.';
COMMENT ON COLUMN properties.acquisition_cost IS 'Purchase price (currency units).';
COMMENT ON COLUMN properties.acquisition_date IS 'Date acquired; not in the future.';
COMMENT ON COLUMN properties.current_value IS 'Current book / carrying value.';
COMMENT ON COLUMN properties.last_appraised_date IS 'Date of the last formal appraisal.';
COMMENT ON COLUMN properties.estimated_market_value IS 'Estimated market value (e.g. from cap-rate valuation).';
COMMENT ON COLUMN properties.loan_balance IS 'Outstanding mortgage balance.';
COMMENT ON COLUMN properties.original_loan_amount IS 'Original principal of the mortgage.';
COMMENT ON COLUMN properties.interest_rate IS 'Mortgage interest rate as a decimal fraction (0.0550 = 5.5%).';
COMMENT ON COLUMN properties.loan_maturity_date IS 'Mortgage maturity date.';
COMMENT ON COLUMN properties.annual_debt_service IS 'INFERRED (not listed by the seed): annual principal + interest payments, the denominator of DSCR.';
COMMENT ON COLUMN properties.dscr IS 'Debt service coverage ratio = annual NOI / annual debt service.';
COMMENT ON COLUMN properties.annual_noi IS 'Annual net operating income.';
COMMENT ON COLUMN properties.annual_revenue IS 'Annual gross revenue.';
COMMENT ON COLUMN properties.annual_operating_expenses IS 'INFERRED (not listed by the seed): annual operating expenses (revenue - expenses = NOI).';
COMMENT ON COLUMN properties.total_units IS 'Number of leasable units.';
COMMENT ON COLUMN properties.occupied_units IS 'Number of occupied units; <= total_units.';
COMMENT ON COLUMN properties.occupancy_rate IS 'Occupancy as a PERCENTAGE 0-100 (90.00 = 90%). Note: property_financial_summary.occupancy_rate is a fraction 0.00-1.00.';
COMMENT ON COLUMN properties.status IS 'active, inactive, pending_acquisition, under_contract, under_renovation or sold.';
COMMENT ON COLUMN properties.has_active_alerts IS 'True while the property has at least one open alert.';
COMMENT ON COLUMN properties.created_at IS 'Row creation time.';
COMMENT ON COLUMN properties.updated_at IS 'Last modification time; maintained by trigger update_properties_updated_at.';
COMMENT ON COLUMN properties.created_by IS 'UUID of the user who created the row (users.id; no FK because users is created later, in 013).';
COMMENT ON COLUMN properties.updated_by IS 'UUID of the user who last modified the row (users.id; no FK, see created_by).';

COMMENT ON TRIGGER update_properties_updated_at ON properties IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
