-- sfagent schema version 5: pull state per sObject (store/pull.c, docs/sync-protocol.md#pull).
-- The high-water mark is the (SystemModstamp, Id) of the last record of the last committed
-- page, written in the same transaction as that page's records, so an interrupted pull
-- resumes after exactly what it committed. NULL mark: nothing pulled yet (a full pull).
CREATE TABLE pull_state (
    sobject          TEXT PRIMARY KEY,
    mark_modstamp    TEXT,                  -- SystemModstamp as Salesforce sent it
    mark_id          TEXT,                  -- 18-char Id: orders records within one second
    deletes_checked  TEXT,                  -- deletes are known up to here (getDeleted
                                            -- latestDateCovered, or a reconciliation's start)
    reconcile        INTEGER NOT NULL DEFAULT 0 CHECK (reconcile IN (0, 1)),
                                            -- 1: a full Id reconciliation is owed
    scope_hash       TEXT NOT NULL DEFAULT '',  -- fields + where the mark was earned under
    last_pull_at     INTEGER                -- ms since the epoch of the last finished pull
) STRICT;
