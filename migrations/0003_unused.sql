-- sfagent schema version 3: drop what nothing used.
-- outbox.lease_expires_at: a claim's lifetime is the run lease's (sync_lease.expires_at);
-- the per-op copy was written and never read. sync_state: pull high-water marks, for a
-- pull that did not exist; pull brings its own table with the shape it needs.
ALTER TABLE outbox DROP COLUMN lease_expires_at;
DROP TABLE sync_state;
