-- =============================================================================
-- 009_create_exit_strategy.sql
-- -----------------------------------------------------------------------------
-- Creates:
--   * table   exit_strategy_analysis -- HOLD / REFINANCE / SALE scenario
--             analysis with a recommendation, one row per analysis run
--   * FK      exit_strategy_analysis_property_id_fkey -> properties(id)
--             ON DELETE CASCADE
--   * 12 named CHECK constraints (see below)
--   * 5 indexes: idx_exit_property_id, idx_exit_analysis_date (DESC),
--             idx_exit_recommendation, idx_exit_property_date,
--             idx_exit_confidence (partial, >= 0.70)
--   * trigger update_exit_strategy_analysis_updated_at
--             (uses update_updated_at_column() from 001)
--
-- Business requirement: BR-004 (exit strategy intelligence; on-demand,
-- user-initiated analysis).
--
-- Source: shared/seed/migrations-README.md, section
-- "009_create_exit_strategy.sql".
-- Ambiguities and choices:
--   * The seed says "Columns (35)" but its list names 34 columns; with id and
--     property_id (used by every example) the table has 36. No listed column
--     was dropped to hit 35.
--   * The 12 CHECKs: market_cap_rate > 0, market_mortgage_rate > 0
--     ("market rates: positive", two rules), property_condition_adjustment
--     0.90-1.10, location_premium > 0, hold_irr -1.00-1.00,
--     refinance_new_rate > 0, refinance_new_dscr > 0 (the seed's ">= 1.25 for
--     CMBS feasibility" is a business threshold, not a storage rule: an
--     infeasible refinance with DSCR 1.10 must still be recordable),
--     sale_total_return_pct -100-1000 (percent, like roi_pct in 010) and
--     sale_annualized_return -1.00-1.00 (fraction, like hold_irr)
--     ("sale returns: reasonable ranges", two rules),
--     recommendation_confidence 0.00-1.00, recommended_strategy in (hold,
--     refinance, sale, insufficient_data), analysis_date not in the future.
--   * property_condition_adjustment and location_premium are multipliers
--     defaulting to 1.00 (neutral).
--   * analyst_id is a users.id without FK (users is created later, in 013).
-- =============================================================================

CREATE TABLE exit_strategy_analysis (
    id                              UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id                     UUID          NOT NULL
                                                  REFERENCES properties (id) ON DELETE CASCADE,

    -- Analysis info
    analysis_date                   DATE          NOT NULL DEFAULT CURRENT_DATE,
    analysis_timestamp              TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- Market data
    market_cap_rate                 NUMERIC(6,4),
    market_mortgage_rate            NUMERIC(6,4),
    property_condition_adjustment   NUMERIC(5,4)  NOT NULL DEFAULT 1.00,
    location_premium                NUMERIC(5,4)  NOT NULL DEFAULT 1.00,

    -- HOLD scenario (6)
    hold_projected_noi_5yr          NUMERIC(15,2)[],
    hold_irr                        NUMERIC(5,4),
    hold_total_return               NUMERIC(15,2),
    hold_terminal_value             NUMERIC(15,2),
    hold_pros                       TEXT[],
    hold_cons                       TEXT[],

    -- REFINANCE scenario (8)
    refinance_new_loan_amount       NUMERIC(15,2),
    refinance_new_rate              NUMERIC(6,4),
    refinance_cash_out              NUMERIC(15,2),
    refinance_monthly_savings       NUMERIC(12,2),
    refinance_new_dscr              NUMERIC(8,4),
    refinance_feasible              BOOLEAN,
    refinance_pros                  TEXT[],
    refinance_cons                  TEXT[],

    -- SALE scenario (8)
    sale_estimated_price            NUMERIC(15,2),
    sale_transaction_costs          NUMERIC(15,2),
    sale_loan_payoff                NUMERIC(15,2),
    sale_net_proceeds               NUMERIC(15,2),
    sale_total_return_pct           NUMERIC(8,4),
    sale_annualized_return          NUMERIC(5,4),
    sale_pros                       TEXT[],
    sale_cons                       TEXT[],

    -- Recommendation
    recommended_strategy            VARCHAR(30),
    recommendation_confidence       NUMERIC(5,4),
    recommendation_rationale        TEXT,

    -- Metadata
    analyst_id                      UUID,
    analysis_complete               BOOLEAN       NOT NULL DEFAULT false,
    updated_at                      TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    -- CHECK constraints (12)
    CONSTRAINT exit_strategy_analysis_market_cap_rate_check
        CHECK (market_cap_rate > 0),
    CONSTRAINT exit_strategy_analysis_market_mortgage_rate_check
        CHECK (market_mortgage_rate > 0),
    CONSTRAINT exit_strategy_analysis_property_condition_adjustment_check
        CHECK (property_condition_adjustment >= 0.90 AND property_condition_adjustment <= 1.10),
    CONSTRAINT exit_strategy_analysis_location_premium_check
        CHECK (location_premium > 0),
    CONSTRAINT exit_strategy_analysis_hold_irr_check
        CHECK (hold_irr >= -1.00 AND hold_irr <= 1.00),
    CONSTRAINT exit_strategy_analysis_refinance_new_rate_check
        CHECK (refinance_new_rate > 0),
    CONSTRAINT exit_strategy_analysis_refinance_new_dscr_check
        CHECK (refinance_new_dscr > 0),
    CONSTRAINT exit_strategy_analysis_sale_total_return_pct_check
        CHECK (sale_total_return_pct >= -100 AND sale_total_return_pct <= 1000),
    CONSTRAINT exit_strategy_analysis_sale_annualized_return_check
        CHECK (sale_annualized_return >= -1.00 AND sale_annualized_return <= 1.00),
    CONSTRAINT exit_strategy_analysis_recommendation_confidence_check
        CHECK (recommendation_confidence >= 0.00 AND recommendation_confidence <= 1.00),
    CONSTRAINT exit_strategy_analysis_recommended_strategy_check
        CHECK (recommended_strategy IN ('hold', 'refinance', 'sale', 'insufficient_data')),
    CONSTRAINT exit_strategy_analysis_analysis_date_check
        CHECK (analysis_date <= CURRENT_DATE)
);

-- Indexes (5)
CREATE INDEX idx_exit_property_id    ON exit_strategy_analysis (property_id);
CREATE INDEX idx_exit_analysis_date  ON exit_strategy_analysis (analysis_date DESC);
CREATE INDEX idx_exit_recommendation ON exit_strategy_analysis (recommended_strategy);
CREATE INDEX idx_exit_property_date  ON exit_strategy_analysis (property_id, analysis_date);
CREATE INDEX idx_exit_confidence     ON exit_strategy_analysis (recommendation_confidence)
    WHERE recommendation_confidence >= 0.70;

-- Trigger: auto-update updated_at on row modification
CREATE TRIGGER update_exit_strategy_analysis_updated_at
    BEFORE UPDATE ON exit_strategy_analysis
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

-- -----------------------------------------------------------------------------
-- Documentation
-- -----------------------------------------------------------------------------
COMMENT ON TABLE exit_strategy_analysis IS
    'BR-004 exit strategy intelligence: one row per on-demand analysis of a property, comparing HOLD, REFINANCE and SALE scenarios (pros/cons arrays, IRR, DSCR, 5-year NOI projection) with a recommended strategy and confidence.';

COMMENT ON COLUMN exit_strategy_analysis.id IS 'Primary key (UUID).';
COMMENT ON COLUMN exit_strategy_analysis.property_id IS 'Analysed property (properties.id); deleted with the property.';
COMMENT ON COLUMN exit_strategy_analysis.analysis_date IS 'Business date of the analysis; not in the future.';
COMMENT ON COLUMN exit_strategy_analysis.analysis_timestamp IS 'Exact time the analysis ran.';
COMMENT ON COLUMN exit_strategy_analysis.market_cap_rate IS 'Market capitalisation rate used, decimal fraction (0.065 = 6.5%); > 0.';
COMMENT ON COLUMN exit_strategy_analysis.market_mortgage_rate IS 'Market mortgage rate used, decimal fraction; > 0.';
COMMENT ON COLUMN exit_strategy_analysis.property_condition_adjustment IS 'Valuation multiplier for property condition, 0.90-1.10 (90%-110%); 1.00 = neutral.';
COMMENT ON COLUMN exit_strategy_analysis.location_premium IS 'Valuation multiplier for location; > 0, 1.00 = neutral.';
COMMENT ON COLUMN exit_strategy_analysis.hold_projected_noi_5yr IS 'HOLD: projected NOI for each of the next 5 years (array, year 1 first).';
COMMENT ON COLUMN exit_strategy_analysis.hold_irr IS 'HOLD: internal rate of return, decimal fraction -1.00-1.00.';
COMMENT ON COLUMN exit_strategy_analysis.hold_total_return IS 'HOLD: total return over the holding period (currency).';
COMMENT ON COLUMN exit_strategy_analysis.hold_terminal_value IS 'HOLD: projected value at the end of the holding period.';
COMMENT ON COLUMN exit_strategy_analysis.hold_pros IS 'HOLD: advantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.hold_cons IS 'HOLD: disadvantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_new_loan_amount IS 'REFINANCE: new loan principal.';
COMMENT ON COLUMN exit_strategy_analysis.refinance_new_rate IS 'REFINANCE: new interest rate, decimal fraction; > 0.';
COMMENT ON COLUMN exit_strategy_analysis.refinance_cash_out IS 'REFINANCE: equity released (new loan - payoff - costs).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_monthly_savings IS 'REFINANCE: change in monthly debt service (positive = saving).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_new_dscr IS 'REFINANCE: DSCR under the new loan; > 0 (>= 1.25 needed for CMBS feasibility).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_feasible IS 'REFINANCE: whether the refinance is feasible (e.g. DSCR >= 1.25).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_pros IS 'REFINANCE: advantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.refinance_cons IS 'REFINANCE: disadvantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.sale_estimated_price IS 'SALE: estimated sale price.';
COMMENT ON COLUMN exit_strategy_analysis.sale_transaction_costs IS 'SALE: brokerage, legal and closing costs.';
COMMENT ON COLUMN exit_strategy_analysis.sale_loan_payoff IS 'SALE: loan balance repaid at closing.';
COMMENT ON COLUMN exit_strategy_analysis.sale_net_proceeds IS 'SALE: price - costs - payoff.';
COMMENT ON COLUMN exit_strategy_analysis.sale_total_return_pct IS 'SALE: total return since acquisition in PERCENT, -100 to 1000.';
COMMENT ON COLUMN exit_strategy_analysis.sale_annualized_return IS 'SALE: annualised return, decimal fraction -1.00-1.00.';
COMMENT ON COLUMN exit_strategy_analysis.sale_pros IS 'SALE: advantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.sale_cons IS 'SALE: disadvantages (TEXT array).';
COMMENT ON COLUMN exit_strategy_analysis.recommended_strategy IS 'hold, refinance, sale or insufficient_data.';
COMMENT ON COLUMN exit_strategy_analysis.recommendation_confidence IS 'Confidence of the recommendation, 0.00-1.00 (>= 0.70 preferred; partial index idx_exit_confidence).';
COMMENT ON COLUMN exit_strategy_analysis.recommendation_rationale IS 'Explanation of the recommendation.';
COMMENT ON COLUMN exit_strategy_analysis.analyst_id IS 'User who requested the analysis (users.id; no FK because users is created later, in 013).';
COMMENT ON COLUMN exit_strategy_analysis.analysis_complete IS 'True once all three scenarios were computed.';
COMMENT ON COLUMN exit_strategy_analysis.updated_at IS 'Last modification time; maintained by trigger update_exit_strategy_analysis_updated_at.';

COMMENT ON TRIGGER update_exit_strategy_analysis_updated_at ON exit_strategy_analysis IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
