-- Artifacts: files operators upload for UpdateAgent (agent binaries). Content lives in
-- Postgres beside the queue, so every replica serves it; it is cut into blocks so that an
-- upload and a download stream through bounded memory.
CREATE TABLE artifacts (
    artifact_id  text PRIMARY KEY CHECK (artifact_id ~ '^[a-z0-9-]{1,64}$'),
    name         text NOT NULL,
    version      text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    uploaded_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE artifact_blocks (
    -- Deferred: the blocks stream in first, the artifact row (with the digest of what
    -- arrived) is written last, in the same transaction.
    artifact_id  text NOT NULL REFERENCES artifacts (artifact_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq          integer NOT NULL CHECK (seq >= 0),
    data         bytea NOT NULL,
    PRIMARY KEY (artifact_id, seq)
);
-- Binaries do not compress well enough to pay for compressing every block.
ALTER TABLE artifact_blocks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Structured facts an agent reports with a final state (package versions, agent version).
ALTER TABLE invocations ADD COLUMN result jsonb;

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('submit', 'cancel', 'revoke', 'upload_artifact'));
