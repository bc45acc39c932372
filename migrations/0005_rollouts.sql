-- Fleet-scale targeting and rollouts: the selector a command was resolved from, its rollout
-- bounds (as given and resolved), and why it stopped sending.

ALTER TABLE commands
    ADD COLUMN selector              text,
    ADD COLUMN max_concurrency       integer CHECK (max_concurrency >= 1),
    ADD COLUMN max_concurrency_spec  text,
    ADD COLUMN max_errors            integer CHECK (max_errors >= 0),
    ADD COLUMN max_errors_spec       text,
    ADD COLUMN deliver_within_sec    integer CHECK (deliver_within_sec >= 1),
    ADD COLUMN stopped_reason        text,
    ADD COLUMN stopped_at            timestamptz;

-- A throttled claim counts the command's invocations on their nodes; a max-errors check counts
-- its failures. Both look at few rows of a large command, so each gets its own partial index.
CREATE INDEX invocations_in_flight ON invocations (command_id) WHERE state IN ('delivered', 'running');
CREATE INDEX invocations_errors ON invocations (command_id) WHERE state IN ('failed', 'timed_out', 'lost');
-- The nodes next in line when a slot frees.
CREATE INDEX invocations_waiting ON invocations (command_id, node_id) WHERE state = 'queued';

-- A node selector, passed as three parallel arrays (never as SQL text): operation, key, and the
-- values as a JSON array. `=` is 'in' with one value, `!=` is 'notin' with one value; 'notin'
-- and 'absent' hold for a node without the key, as in Kubernetes label selectors.
CREATE FUNCTION fleet_attrs_match(attrs jsonb, ops text[], keys text[], vals text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM unnest(ops, keys, vals) AS r(op, k, vs)
        WHERE NOT CASE r.op
            WHEN 'in' THEN COALESCE(attrs->>r.k = ANY(ARRAY(SELECT jsonb_array_elements_text(r.vs::jsonb))), false)
            WHEN 'notin' THEN NOT COALESCE(attrs->>r.k = ANY(ARRAY(SELECT jsonb_array_elements_text(r.vs::jsonb))), false)
            WHEN 'exists' THEN attrs ? r.k
            ELSE NOT (attrs ? r.k)
        END)
$$;
