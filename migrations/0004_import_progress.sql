-- sfagent schema version 4: resumable imports (store/import.c).
-- How many lines of an input file are committed, per file (its path, size and a hash of
-- its first 64 KiB) and sObject. Updated in the same transaction as each committed batch,
-- so after a crash it names exactly the lines whose records exist; a re-run skips them.
CREATE TABLE import_progress (
    path       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    head_hash  TEXT NOT NULL,                 -- FNV-1a 64 of the first 65536 bytes, hex
    sobject    TEXT NOT NULL,
    lines      INTEGER NOT NULL CHECK (lines >= 0),  -- lines 1..lines are committed
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (path, size, head_hash, sobject)
) STRICT;
