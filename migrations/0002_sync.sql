-- sfagent schema version 2: push engine run state (sync/lease.c).

-- The run lease: at most one row. A run takes it in a BEGIN IMMEDIATE transaction and
-- renews it after every batch; a row whose expires_at has passed, or whose pid is gone on
-- this host, belongs to a crashed run and may be taken over.
CREATE TABLE sync_lease (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    owner      TEXT NOT NULL,                -- run id ("run-...")
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL DEFAULT '',
    taken_at   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- Run-level backoff: Salesforce unreachable (offline) or the API limit reached. A run
-- before until_at ends at once (exit 75) unless told to ignore it (sync --now).
CREATE TABLE sync_pause (
    scope    TEXT PRIMARY KEY CHECK (scope = 'run'),
    until_at INTEGER NOT NULL,
    reason   TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,     -- consecutive offline runs (grows the backoff)
    set_at   INTEGER NOT NULL
) STRICT;
