-- Each poll of a node takes the next number; only the node's newest poll may claim work. An
-- agent polls one request at a time, so an older poll still held by the server was abandoned
-- (the agent restarted or exec'd into an update) and must not take work nobody will read.
ALTER TABLE nodes ADD COLUMN poll_seq bigint NOT NULL DEFAULT 0;
