-- Fleet control plane: node registry, command queue, log store, audit trail.

CREATE TABLE nodes (
    node_id        text PRIMARY KEY CHECK (node_id ~ '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$'),
    attrs          jsonb NOT NULL DEFAULT '{}'::jsonb,
    agent_version  text,
    -- Bumped on revoke: tokens carry the generation they were minted for.
    token_version  integer NOT NULL DEFAULT 1,
    revoked_at     timestamptz,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz
);

CREATE TABLE commands (
    -- seq orders the history newest first and is the list cursor.
    seq           bigserial UNIQUE NOT NULL,
    command_id    uuid PRIMARY KEY,
    command_type  text NOT NULL CHECK (command_type IN ('RunCommand', 'UpdateAgent', 'UpdatePackage')),
    payload       jsonb NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    target_count  integer NOT NULL
);

CREATE TABLE invocations (
    command_id         uuid NOT NULL REFERENCES commands (command_id) ON DELETE CASCADE,
    node_id            text NOT NULL REFERENCES nodes (node_id),
    state              text NOT NULL CHECK (state IN (
                         'queued', 'delivered', 'running', 'succeeded', 'failed',
                         'timed_out', 'cancelled', 'expired', 'lost')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Not picked up by then: expired.
    deliver_by         timestamptz NOT NULL,
    delivered_at       timestamptz,
    lease_expires_at   timestamptz,
    delivery_count     integer NOT NULL DEFAULT 0,
    started_at         timestamptz,
    finished_at        timestamptz,
    cancel_requested   boolean NOT NULL DEFAULT false,
    exit_code          integer,
    signal             integer,
    reason             text,
    -- Contiguous bytes stored per stream; chunks only ever extend these.
    stdout_stored      bigint NOT NULL DEFAULT 0,
    stderr_stored      bigint NOT NULL DEFAULT 0,
    -- Totals the agent reported with its final state.
    stdout_total       bigint,
    stderr_total       bigint,
    PRIMARY KEY (command_id, node_id)
);

-- The poll's claim looks only at pending rows of one node.
CREATE INDEX invocations_pending ON invocations (node_id, created_at)
    WHERE state IN ('queued', 'delivered', 'running');
CREATE INDEX invocations_node ON invocations (node_id);

CREATE TABLE log_chunks (
    -- Order of arrival; uploads of one invocation are serialised on its row,
    -- so per invocation this is the order the agent produced the chunks in.
    id           bigserial PRIMARY KEY,
    command_id   uuid NOT NULL,
    node_id      text NOT NULL,
    stream       smallint NOT NULL CHECK (stream IN (1, 2)),
    byte_offset  bigint NOT NULL CHECK (byte_offset >= 0),
    data         bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (command_id, node_id) REFERENCES invocations (command_id, node_id) ON DELETE CASCADE,
    UNIQUE (command_id, node_id, stream, byte_offset)
);
CREATE INDEX log_chunks_reader ON log_chunks (command_id, node_id, id);

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('submit', 'cancel', 'revoke')),
    subject     text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
