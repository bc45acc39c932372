-- Operator tokens are recorded when they are issued (never the token itself: its jti, who it
-- names, its role and lifetime), so they can be listed and revoked. agent-svc accepts an
-- operator token only when its jti is recorded here and not revoked.
CREATE TABLE operator_tokens (
    jti         uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    role        text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > issued_at),
    revoked_at  timestamptz,
    revoked_by  text
);
CREATE INDEX operator_tokens_issued ON operator_tokens (issued_at DESC);

-- The audit trail says from which address each act came, and covers every mutating route.
ALTER TABLE audit_events ADD COLUMN address text;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check
    CHECK (action IN ('submit', 'cancel', 'revoke', 'upload_artifact', 'register', 'issue_token', 'revoke_token'));
-- GET /v1/audit pages newest first by id, optionally for one actor or one action.
CREATE INDEX audit_events_actor ON audit_events (actor, id DESC);
CREATE INDEX audit_events_action ON audit_events (action, id DESC);
