-- =============================================================================
-- 002_create_tenants.sql
-- -----------------------------------------------------------------------------
-- INFERRED MIGRATION: the seed (shared/seed/migrations-README.md) does NOT
-- describe this table. It only lists "tenants - Tenant details" under
-- "Next Steps -> Create related tables" and "Link tenants to leases" under
-- "Add foreign keys". Every column, constraint and index here is inferred.
--
-- Creates:
--   * table   tenants (tenant / lessee master data)
--   * CHECKs  tenants_name_check, tenants_tenant_type_check,
--             tenants_status_check, tenants_email_check,
--             tenants_credit_rating_check
--   * indexes idx_tenants_name_lower, idx_tenants_email_lower,
--             idx_tenants_status, idx_tenants_tenant_type
--   * trigger update_tenants_updated_at (uses update_updated_at_column() from 001)
--
-- Business requirements: none named by the seed; supports the tenant metrics
-- of property_financial_summary (tenant_count, lease terms) via leases (003).
-- Tenants are linked to properties through leases (003: leases.tenant_id).
-- =============================================================================

CREATE TABLE tenants (
    id              UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    name            VARCHAR(255)  NOT NULL,
    tenant_type     VARCHAR(30)   NOT NULL DEFAULT 'business',
    industry        VARCHAR(100),
    contact_name    VARCHAR(255),
    email           VARCHAR(255),
    phone           VARCHAR(30),
    tax_id          VARCHAR(50),
    credit_rating   VARCHAR(10),
    status          VARCHAR(20)   NOT NULL DEFAULT 'active',
    notes           TEXT,
    created_at      TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT tenants_name_check
        CHECK (length(trim(name)) > 0),
    CONSTRAINT tenants_tenant_type_check
        CHECK (tenant_type IN ('individual', 'business', 'government', 'non_profit')),
    CONSTRAINT tenants_status_check
        CHECK (status IN ('prospect', 'active', 'inactive', 'former')),
    CONSTRAINT tenants_email_check
        CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'),
    CONSTRAINT tenants_credit_rating_check
        CHECK (credit_rating IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'CCC', 'CC', 'C', 'D', 'NR'))
);

CREATE INDEX idx_tenants_name_lower  ON tenants (lower(name));
CREATE INDEX idx_tenants_email_lower ON tenants (lower(email));
CREATE INDEX idx_tenants_status      ON tenants (status);
CREATE INDEX idx_tenants_tenant_type ON tenants (tenant_type);

CREATE TRIGGER update_tenants_updated_at
    BEFORE UPDATE ON tenants
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

COMMENT ON TABLE tenants IS
    'INFERRED (not described by the seed): tenant / lessee master data. Linked to properties through leases.tenant_id.';
COMMENT ON COLUMN tenants.id IS 'Primary key (UUID).';
COMMENT ON COLUMN tenants.name IS 'Legal name of the tenant (person or organisation); not blank.';
COMMENT ON COLUMN tenants.tenant_type IS 'individual, business, government or non_profit.';
COMMENT ON COLUMN tenants.industry IS 'Industry / business sector of the tenant.';
COMMENT ON COLUMN tenants.contact_name IS 'Primary contact person.';
COMMENT ON COLUMN tenants.email IS 'Primary contact e-mail (basic format check).';
COMMENT ON COLUMN tenants.phone IS 'Primary contact phone number.';
COMMENT ON COLUMN tenants.tax_id IS 'Tax identifier (EIN / VAT number).';
COMMENT ON COLUMN tenants.credit_rating IS 'Credit rating: AAA, AA, A, BBB, BB, B, CCC, CC, C, D or NR (not rated).';
COMMENT ON COLUMN tenants.status IS 'prospect, active, inactive or former.';
COMMENT ON COLUMN tenants.notes IS 'Free-text notes.';
COMMENT ON COLUMN tenants.created_at IS 'Row creation time.';
COMMENT ON COLUMN tenants.updated_at IS 'Last modification time; maintained by trigger update_tenants_updated_at.';

COMMENT ON TRIGGER update_tenants_updated_at ON tenants IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
