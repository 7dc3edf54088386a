-- sfagent schema version 11: a second mark per sObject for records that LEFT the pull's
-- `where` scope (store/pull.c, docs/sync-protocol.md#pull, "Leaving the scope"). Each
-- incremental pull of an object with a `where` also asks for the Ids of records modified
-- after this mark that no longer match it, removes them from the mirror (unless they have
-- open ops) and moves this mark in the same transaction, page by page.
-- left_id NULL with left_modstamp set: "everything from left_modstamp on" (the mark as a
-- scope reset starts it, before any page came). Existing objects start from their
-- high-water mark: records that left before this migration go at the next full
-- reconciliation, as they did before.
ALTER TABLE pull_state ADD COLUMN left_modstamp TEXT;
ALTER TABLE pull_state ADD COLUMN left_id TEXT;
UPDATE pull_state SET left_modstamp = mark_modstamp, left_id = mark_id;
