-- Retention: a fleet's output only grows. Output of invocations that finished before
-- LOG_RETENTION_DAYS is dropped in bounded batches; the invocation row (state, exit code, byte
-- totals) stays and says when its output went, until the command itself passes
-- HISTORY_RETENTION_DAYS and is deleted with everything it owns.
ALTER TABLE invocations ADD COLUMN output_dropped_at timestamptz;

-- The sweep walks finished invocations whose output is still stored, oldest first.
CREATE INDEX invocations_output_retention ON invocations (finished_at)
    WHERE finished_at IS NOT NULL AND output_dropped_at IS NULL;
-- ... and old commands by creation time.
CREATE INDEX commands_created ON commands (created_at);
