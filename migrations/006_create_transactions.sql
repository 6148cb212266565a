-- =============================================================================
-- 006_create_transactions.sql
-- -----------------------------------------------------------------------------
-- INFERRED MIGRATION: the seed (shared/seed/migrations-README.md) does NOT
-- describe this table. It lists "transactions - Financial transactions" under
-- "Next Steps -> Create related tables". Every column, constraint and index
-- here is inferred.
--
-- Creates:
--   * table   transactions (property-level financial ledger entries)
--   * FKs     transactions_property_id_fkey -> properties(id) ON DELETE CASCADE
--             transactions_lease_id_fkey    -> leases(id)     ON DELETE SET NULL
--             transactions_document_id_fkey -> documents(id)  ON DELETE SET NULL
--   * CHECKs  transactions_transaction_type_check, transactions_amount_check,
--             transactions_currency_check, transactions_period_check
--   * indexes idx_transactions_property_id, idx_transactions_date (DESC),
--             idx_transactions_property_date, idx_transactions_type,
--             idx_transactions_lease_id
--   * trigger update_transactions_updated_at
--
-- Business requirements: none named by the seed; source data for the income
-- and debt metrics of properties and property_financial_summary.
-- Sign convention (inferred): amount is always >= 0, the direction of money
-- is given by transaction_type.
-- =============================================================================

CREATE TABLE transactions (
    id                  UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         UUID          NOT NULL
                                      REFERENCES properties (id) ON DELETE CASCADE,
    lease_id            UUID          REFERENCES leases (id) ON DELETE SET NULL,
    document_id         UUID          REFERENCES documents (id) ON DELETE SET NULL,
    transaction_date    DATE          NOT NULL,
    transaction_type    VARCHAR(30)   NOT NULL,
    category            VARCHAR(100),
    description         TEXT,
    amount              NUMERIC(15,2) NOT NULL,
    currency            CHAR(3)       NOT NULL DEFAULT 'USD',
    period_start        DATE,
    period_end          DATE,
    reference_number    VARCHAR(100),
    created_by          UUID,
    created_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT transactions_transaction_type_check
        CHECK (transaction_type IN ('rent_income', 'other_income', 'operating_expense',
                                    'capital_expenditure', 'debt_service', 'tax', 'insurance',
                                    'distribution', 'contribution', 'acquisition', 'disposition')),
    CONSTRAINT transactions_amount_check
        CHECK (amount >= 0),
    CONSTRAINT transactions_currency_check
        CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT transactions_period_check
        CHECK (period_end >= period_start)
);

CREATE INDEX idx_transactions_property_id   ON transactions (property_id);
CREATE INDEX idx_transactions_date          ON transactions (transaction_date DESC);
CREATE INDEX idx_transactions_property_date ON transactions (property_id, transaction_date DESC);
CREATE INDEX idx_transactions_type          ON transactions (transaction_type);
CREATE INDEX idx_transactions_lease_id      ON transactions (lease_id);

CREATE TRIGGER update_transactions_updated_at
    BEFORE UPDATE ON transactions
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

COMMENT ON TABLE transactions IS
    'INFERRED (not described by the seed): financial transactions (income, expenses, debt service, capital events) per property.';
COMMENT ON COLUMN transactions.id IS 'Primary key (UUID).';
COMMENT ON COLUMN transactions.property_id IS 'Property the transaction belongs to (properties.id); deleted with the property.';
COMMENT ON COLUMN transactions.lease_id IS 'Lease the transaction relates to (rent), if any; set NULL when the lease is deleted.';
COMMENT ON COLUMN transactions.document_id IS 'Source document (invoice, statement), if any; set NULL when the document is deleted.';
COMMENT ON COLUMN transactions.transaction_date IS 'Booking date.';
COMMENT ON COLUMN transactions.transaction_type IS 'rent_income, other_income, operating_expense, capital_expenditure, debt_service, tax, insurance, distribution, contribution, acquisition or disposition; gives the direction of money.';
COMMENT ON COLUMN transactions.category IS 'Free-form sub-category (e.g. ''utilities'', ''repairs'').';
COMMENT ON COLUMN transactions.description IS 'Description / memo.';
COMMENT ON COLUMN transactions.amount IS 'Absolute amount (>= 0); the sign is implied by transaction_type.';
COMMENT ON COLUMN transactions.currency IS 'ISO 4217 currency code, default USD.';
COMMENT ON COLUMN transactions.period_start IS 'Start of the accounting period the amount covers.';
COMMENT ON COLUMN transactions.period_end IS 'End of the covered period; >= period_start.';
COMMENT ON COLUMN transactions.reference_number IS 'External reference (invoice / check / wire number).';
COMMENT ON COLUMN transactions.created_by IS 'UUID of the user who entered it (users.id; no FK because users is created later, in 013).';
COMMENT ON COLUMN transactions.created_at IS 'Row creation time.';
COMMENT ON COLUMN transactions.updated_at IS 'Last modification time; maintained by trigger update_transactions_updated_at.';

COMMENT ON TRIGGER update_transactions_updated_at ON transactions IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
