-- =============================================================================
-- 003_create_leases.sql
-- -----------------------------------------------------------------------------
-- INFERRED MIGRATION: the seed (shared/seed/migrations-README.md) does NOT
-- describe this table. It only lists "leases - Tenant lease information"
-- under "Next Steps -> Create related tables", and "Link leases to
-- properties" / "Link tenants to leases" under "Add foreign keys".
-- Every column, constraint and index here is inferred.
--
-- Creates:
--   * table   leases (one row per lease of a unit / space in a property)
--   * FKs     leases_property_id_fkey -> properties(id) ON DELETE CASCADE
--             leases_tenant_id_fkey   -> tenants(id)    ON DELETE RESTRICT
--   * CHECKs  leases_lease_type_check, leases_status_check,
--             leases_end_after_start_check, leases_monthly_rent_check,
--             leases_security_deposit_check, leases_leased_sqft_check,
--             leases_annual_escalation_rate_check
--   * indexes idx_leases_property_id, idx_leases_tenant_id, idx_leases_status,
--             idx_leases_end_date, idx_leases_property_status
--   * trigger update_leases_updated_at
--
-- Business requirements: none named by the seed; feeds the occupancy and
-- tenant metrics of property_financial_summary (expiring_leases_12mo,
-- average_lease_term_months, lease_expiration_risk).
-- =============================================================================

CREATE TABLE leases (
    id                      UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id             UUID          NOT NULL
                                          REFERENCES properties (id) ON DELETE CASCADE,
    tenant_id               UUID          NOT NULL
                                          REFERENCES tenants (id) ON DELETE RESTRICT,
    unit_number             VARCHAR(50),
    lease_type              VARCHAR(30)   NOT NULL DEFAULT 'gross',
    status                  VARCHAR(20)   NOT NULL DEFAULT 'active',
    start_date              DATE          NOT NULL,
    end_date                DATE          NOT NULL,
    leased_sqft             NUMERIC(12,2),
    monthly_rent            NUMERIC(12,2) NOT NULL,
    security_deposit        NUMERIC(12,2),
    annual_escalation_rate  NUMERIC(5,4),
    renewal_option          BOOLEAN       NOT NULL DEFAULT false,
    notes                   TEXT,
    created_at              TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at              TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT leases_lease_type_check
        CHECK (lease_type IN ('gross', 'modified_gross', 'net', 'double_net', 'triple_net',
                              'percentage', 'ground')),
    CONSTRAINT leases_status_check
        CHECK (status IN ('pending', 'active', 'expired', 'terminated', 'renewed')),
    CONSTRAINT leases_end_after_start_check
        CHECK (end_date > start_date),
    CONSTRAINT leases_monthly_rent_check
        CHECK (monthly_rent >= 0),
    CONSTRAINT leases_security_deposit_check
        CHECK (security_deposit >= 0),
    CONSTRAINT leases_leased_sqft_check
        CHECK (leased_sqft > 0),
    CONSTRAINT leases_annual_escalation_rate_check
        CHECK (annual_escalation_rate >= 0 AND annual_escalation_rate <= 1)
);

CREATE INDEX idx_leases_property_id     ON leases (property_id);
CREATE INDEX idx_leases_tenant_id       ON leases (tenant_id);
CREATE INDEX idx_leases_status          ON leases (status);
CREATE INDEX idx_leases_end_date        ON leases (end_date);
CREATE INDEX idx_leases_property_status ON leases (property_id, status);

CREATE TRIGGER update_leases_updated_at
    BEFORE UPDATE ON leases
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

COMMENT ON TABLE leases IS
    'INFERRED (not described by the seed): leases linking tenants to properties; source of rent, occupancy and lease-expiry metrics.';
COMMENT ON COLUMN leases.id IS 'Primary key (UUID).';
COMMENT ON COLUMN leases.property_id IS 'Leased property (properties.id); leases are deleted with their property.';
COMMENT ON COLUMN leases.tenant_id IS 'Lessee (tenants.id); a tenant with leases cannot be deleted (RESTRICT).';
COMMENT ON COLUMN leases.unit_number IS 'Unit / suite identifier inside the property.';
COMMENT ON COLUMN leases.lease_type IS 'gross, modified_gross, net, double_net, triple_net, percentage or ground.';
COMMENT ON COLUMN leases.status IS 'pending, active, expired, terminated or renewed.';
COMMENT ON COLUMN leases.start_date IS 'Lease commencement date.';
COMMENT ON COLUMN leases.end_date IS 'Lease expiration date; after start_date.';
COMMENT ON COLUMN leases.leased_sqft IS 'Leased area in square feet; > 0 when set.';
COMMENT ON COLUMN leases.monthly_rent IS 'Contract base rent per month; >= 0.';
COMMENT ON COLUMN leases.security_deposit IS 'Security deposit held; >= 0.';
COMMENT ON COLUMN leases.annual_escalation_rate IS 'Annual rent escalation as a fraction 0-1 (0.0300 = 3%).';
COMMENT ON COLUMN leases.renewal_option IS 'True when the tenant holds a renewal option.';
COMMENT ON COLUMN leases.notes IS 'Free-text notes.';
COMMENT ON COLUMN leases.created_at IS 'Row creation time.';
COMMENT ON COLUMN leases.updated_at IS 'Last modification time; maintained by trigger update_leases_updated_at.';

COMMENT ON TRIGGER update_leases_updated_at ON leases IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
