-- Retention, and room for in-place updates. A fleet's output only grows. Output of invocations that finished before
-- LOG_RETENTION_DAYS is dropped in bounded batches; the invocation row (state, exit code, byte
-- totals) stays and says when its output went, until the command itself passes
-- HISTORY_RETENTION_DAYS and is deleted with everything it owns.
ALTER TABLE invocations ADD COLUMN output_dropped_at timestamptz;

-- The sweep walks finished invocations whose output is still stored, oldest first.
CREATE INDEX invocations_output_retention ON invocations (finished_at)
    WHERE finished_at IS NOT NULL AND output_dropped_at IS NULL;
-- ... and old commands by creation time.
CREATE INDEX commands_created ON commands (created_at);

-- Every check-in rewrites its node's row (last seen, poll number). With room left in each page
-- the new version stays on the same page and no index entry is written (a HOT update), so
-- 10,000 nodes checking in do not bloat the primary key.
ALTER TABLE nodes SET (fillfactor = 50);
