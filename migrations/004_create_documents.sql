-- =============================================================================
-- 004_create_documents.sql
-- -----------------------------------------------------------------------------
-- INFERRED MIGRATION: the seed (shared/seed/migrations-README.md) does NOT
-- describe this table. It lists "documents - Property documents" under
-- "Next Steps -> Create related tables" and "Link documents to properties"
-- under "Add foreign keys"; 007 audit_log references documents(id), and the
-- seed's audit example logs a 'DOCUMENT_UPLOAD' for BR-001 with
-- new_values {"filename": ..., "size_bytes": ...}. Every column, constraint
-- and index here is inferred from that.
--
-- Creates:
--   * table   documents (uploaded property documents: financials, rent rolls ...)
--   * FK      documents_property_id_fkey -> properties(id) ON DELETE CASCADE
--   * UNIQUE  documents_storage_path_key
--   * CHECKs  documents_filename_check, documents_document_type_check,
--             documents_status_check, documents_file_size_bytes_check,
--             documents_checksum_sha256_check, documents_period_check
--   * indexes idx_documents_property_id, idx_documents_document_type,
--             idx_documents_status, idx_documents_uploaded_at (DESC)
--   * trigger update_documents_updated_at
--
-- Business requirements: BR-001 (document upload / ingestion), as the seed's
-- audit_log example ties DOCUMENT_UPLOAD to BR-001.
-- =============================================================================

CREATE TABLE documents (
    id                  UUID          PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         UUID          NOT NULL
                                      REFERENCES properties (id) ON DELETE CASCADE,
    filename            VARCHAR(500)  NOT NULL,
    document_type       VARCHAR(50)   NOT NULL DEFAULT 'other',
    mime_type           VARCHAR(100),
    file_size_bytes     BIGINT,
    storage_path        TEXT          NOT NULL UNIQUE,
    checksum_sha256     VARCHAR(64),
    status              VARCHAR(20)   NOT NULL DEFAULT 'uploaded',
    period_start        DATE,
    period_end          DATE,
    uploaded_by         UUID,
    uploaded_at         TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    processed_at        TIMESTAMPTZ,
    error_message       TEXT,
    metadata            JSONB         NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          TIMESTAMPTZ   NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT documents_filename_check
        CHECK (length(trim(filename)) > 0),
    CONSTRAINT documents_document_type_check
        CHECK (document_type IN ('financial_statement', 'rent_roll', 'lease', 'appraisal',
                                 'inspection', 'insurance', 'tax', 'loan', 'budget', 'other')),
    CONSTRAINT documents_status_check
        CHECK (status IN ('uploaded', 'processing', 'processed', 'failed', 'archived')),
    CONSTRAINT documents_file_size_bytes_check
        CHECK (file_size_bytes >= 0),
    CONSTRAINT documents_checksum_sha256_check
        CHECK (checksum_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT documents_period_check
        CHECK (period_end >= period_start)
);

CREATE INDEX idx_documents_property_id   ON documents (property_id);
CREATE INDEX idx_documents_document_type ON documents (document_type);
CREATE INDEX idx_documents_status        ON documents (status);
CREATE INDEX idx_documents_uploaded_at   ON documents (uploaded_at DESC);

CREATE TRIGGER update_documents_updated_at
    BEFORE UPDATE ON documents
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at_column();

COMMENT ON TABLE documents IS
    'INFERRED (not described by the seed): documents uploaded for a property (BR-001); referenced by audit_log.document_id.';
COMMENT ON COLUMN documents.id IS 'Primary key (UUID).';
COMMENT ON COLUMN documents.property_id IS 'Property the document belongs to (properties.id); deleted with the property.';
COMMENT ON COLUMN documents.filename IS 'Original file name, e.g. ''Q3_financials.pdf''; not blank.';
COMMENT ON COLUMN documents.document_type IS 'financial_statement, rent_roll, lease, appraisal, inspection, insurance, tax, loan, budget or other.';
COMMENT ON COLUMN documents.mime_type IS 'MIME type, e.g. ''application/pdf''.';
COMMENT ON COLUMN documents.file_size_bytes IS 'File size in bytes; >= 0.';
COMMENT ON COLUMN documents.storage_path IS 'Object-store key / path of the stored file; unique.';
COMMENT ON COLUMN documents.checksum_sha256 IS 'Lower-case hex SHA-256 of the file content (64 chars).';
COMMENT ON COLUMN documents.status IS 'Processing status: uploaded, processing, processed, failed or archived.';
COMMENT ON COLUMN documents.period_start IS 'First day of the period the document covers (e.g. a quarter).';
COMMENT ON COLUMN documents.period_end IS 'Last day of the covered period; >= period_start.';
COMMENT ON COLUMN documents.uploaded_by IS 'UUID of the uploading user (users.id; no FK because users is created later, in 013).';
COMMENT ON COLUMN documents.uploaded_at IS 'Upload time.';
COMMENT ON COLUMN documents.processed_at IS 'Time extraction / processing finished.';
COMMENT ON COLUMN documents.error_message IS 'Processing error, when status = failed.';
COMMENT ON COLUMN documents.metadata IS 'Extracted or user-supplied metadata (JSONB).';
COMMENT ON COLUMN documents.created_at IS 'Row creation time.';
COMMENT ON COLUMN documents.updated_at IS 'Last modification time; maintained by trigger update_documents_updated_at.';

COMMENT ON TRIGGER update_documents_updated_at ON documents IS
    'BEFORE UPDATE: sets updated_at via update_updated_at_column().';
