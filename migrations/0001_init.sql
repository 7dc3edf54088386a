-- sfagent schema version 1: the mirror, the outbox, pull watermarks, describe cache.
-- Times are integer milliseconds since the epoch (UTC); Salesforce timestamps are kept
-- as the text Salesforce sent (e.g. 2024-01-02T03:04:05.000+0000).

-- Marks the file as an sfagent database ('SFAG'), so open can refuse foreign SQLite files.
PRAGMA application_id = 1397113159;

-- The mirror: one row per cached record of any sObject.
CREATE TABLE records (
    local_id     TEXT PRIMARY KEY,            -- "loc-" + 26 Crockford base32 chars, stable forever
    sobject      TEXT NOT NULL,
    sf_id        TEXT,                        -- 18-char Salesforce Id; NULL until the create synced
    case_number  TEXT,                        -- Case only; NULL until reconciled
    fields       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),  -- local view
    base         TEXT CHECK (base IS NULL OR json_valid(base)),          -- last known server state
    sys_modstamp TEXT,                        -- server SystemModstamp of base
    dirty        INTEGER NOT NULL DEFAULT 0 CHECK (dirty IN (0, 1)),     -- has unsynced local edits
    deleted      INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (sobject, sf_id)
) STRICT;
CREATE INDEX records_case_number ON records (case_number) WHERE case_number IS NOT NULL;
CREATE INDEX records_status ON records (sobject, json_extract(fields, '$.Status'));
CREATE INDEX records_modstamp ON records (sobject, sys_modstamp);

-- Every local write, in order. Ops of one record apply in seq order.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id           TEXT NOT NULL UNIQUE,
    sobject         TEXT NOT NULL,
    local_id        TEXT NOT NULL REFERENCES records (local_id),
    kind            TEXT NOT NULL CHECK (kind IN ('create', 'update', 'upsert', 'delete')),
    fields          TEXT CHECK (fields IS NULL OR json_valid(fields)),  -- only what the op changes
    ext_field       TEXT,                     -- upsert: the External ID field ...
    ext_value       TEXT,                     -- ... and its value
    base_modstamp   TEXT,                     -- server version the edit was made against
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'inflight', 'done', 'conflict', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error_code TEXT,                     -- Salesforce errorCode/statusCode, or a local code
    last_error      TEXT,                     -- message (never a secret)
    lease_owner     TEXT,                     -- run id holding an inflight op
    lease_expires_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_ready ON outbox (state, next_attempt_at, seq);
CREATE INDEX outbox_record ON outbox (local_id, seq);

-- Pull high-water marks per sObject.
CREATE TABLE sync_state (
    sobject               TEXT PRIMARY KEY,
    high_water_modstamp   TEXT,
    high_water_id         TEXT,
    deleted_covered_until TEXT,
    last_pull_at          INTEGER
) STRICT;

-- Describe results per sObject, for offline validation and suggestions.
CREATE TABLE describe_cache (
    sobject    TEXT PRIMARY KEY,
    describe   TEXT NOT NULL CHECK (json_valid(describe)),
    fetched_at INTEGER NOT NULL
) STRICT;

-- Small key/value facts about this database (clean-shutdown marker, run state).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
) STRICT;
