-- An operator's Idempotency-Key on submit: the same key with the same body within 24 hours
-- returns the first command instead of queueing it again (a script may retry a lost answer).
ALTER TABLE commands
    ADD COLUMN idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of the request as agent-svc re-encodes it (sorted keys), so formatting does not matter.
    ADD COLUMN request_sha256   bytea;

CREATE UNIQUE INDEX commands_idempotency ON commands (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
