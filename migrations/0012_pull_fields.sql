-- sfagent schema version 12: the field names of a record the pull inserts enter
-- record_fields from store/mirror.c, once per page for each distinct field set, instead
-- of from the insert trigger of 0006 (json_each over the record's text plus one
-- INSERT OR IGNORE per field, for every record: about a fifth of a first pull's CPU,
-- bench/bench_pull.c). Only the pull inserts a row clean and with a server base
-- (dirty = 0 AND base IS NOT NULL: store/mirror.c, SQL_INSERT and SQL_UNSTAGE); every
-- other insert (local creates, imports: dirty, no base) still goes through the trigger,
-- and every update of fields (local edits, push read-back, pull merges) through
-- record_fields_update as before.
DROP TRIGGER record_fields_insert;
CREATE TRIGGER record_fields_insert AFTER INSERT ON records
    WHEN NEW.dirty = 1 OR NEW.base IS NULL BEGIN
    INSERT OR IGNORE INTO record_fields (sobject, name)
        SELECT NEW.sobject, key FROM json_each(NEW.fields);
END;
