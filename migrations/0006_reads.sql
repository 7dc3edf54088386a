-- sfagent schema version 6: local reads served by indexes (docs/design: local queries).
-- Point lookups, lists and local SOQL (store/resolve.c, store/records_read.c,
-- store/query_sql.c) name these indexes or match their expressions exactly; `status`
-- reads maintained counters instead of counting rows.

-- CaseNumber lookups: both columns the query constrains, so no other index can look
-- better to the planner (resolve.c also names it with INDEXED BY).
DROP INDEX records_case_number;
CREATE INDEX records_case_number ON records (case_number, sobject) WHERE case_number IS NOT NULL;

-- Lists newest first (created_at, then rowid: insertion order breaks ties).
CREATE INDEX records_newest ON records (sobject, created_at);

-- Fields users filter and sort by, per sObject. COLLATE NOCASE because SOQL's = and
-- ORDER BY compare strings case-insensitively; created_at (then the implicit rowid) is
-- the tie order of every list and query. The expressions must stay byte-identical to
-- the ones in store/query_sql.c (store_indexed_fields) or the planner will not use them.
DROP INDEX records_status;
CREATE INDEX records_f_status ON records
    (sobject, json_extract(fields, '$.Status') COLLATE NOCASE, created_at);
CREATE INDEX records_f_casenumber ON records (sobject, case_number COLLATE NOCASE, created_at);
CREATE INDEX records_f_ownerid ON records
    (sobject, json_extract(fields, '$.OwnerId') COLLATE NOCASE, created_at);
CREATE INDEX records_f_contactid ON records
    (sobject, json_extract(fields, '$.ContactId') COLLATE NOCASE, created_at);
CREATE INDEX records_f_accountid ON records
    (sobject, json_extract(fields, '$.AccountId') COLLATE NOCASE, created_at);
CREATE INDEX records_f_lastmodifieddate ON records
    (sobject, json_extract(fields, '$.LastModifiedDate') COLLATE NOCASE, created_at);
CREATE INDEX records_f_createddate ON records
    (sobject, json_extract(fields, '$.CreatedDate') COLLATE NOCASE, created_at);

-- Every field name any cached record of an sObject has had, so a query can map a name
-- to its stored spelling (Salesforce names are case-insensitive) and tell a field that
-- is not cached from one that is null, without reading the records. Kept by triggers,
-- so every writer (local edits, import, pull) feeds it.
CREATE TABLE record_fields (
    sobject TEXT NOT NULL,
    name    TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (sobject, name)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO record_fields (sobject, name)
    SELECT DISTINCT r.sobject, j.key FROM records r, json_each(r.fields) j;
CREATE TRIGGER record_fields_insert AFTER INSERT ON records BEGIN
    INSERT OR IGNORE INTO record_fields (sobject, name)
        SELECT NEW.sobject, key FROM json_each(NEW.fields);
END;
CREATE TRIGGER record_fields_update AFTER UPDATE OF fields ON records BEGIN
    INSERT OR IGNORE INTO record_fields (sobject, name)
        SELECT NEW.sobject, key FROM json_each(NEW.fields);
END;

-- Live (not deleted) records per sObject, for `status` in constant time.
CREATE TABLE record_counts (
    sobject TEXT PRIMARY KEY,
    live    INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO record_counts (sobject, live)
    SELECT sobject, sum(deleted = 0) FROM records GROUP BY sobject;
CREATE TRIGGER record_counts_insert AFTER INSERT ON records BEGIN
    INSERT INTO record_counts (sobject, live) VALUES (NEW.sobject, NEW.deleted = 0)
        ON CONFLICT (sobject) DO UPDATE SET live = live + (NEW.deleted = 0);
END;
CREATE TRIGGER record_counts_delete AFTER DELETE ON records WHEN OLD.deleted = 0 BEGIN
    UPDATE record_counts SET live = live - 1 WHERE sobject = OLD.sobject;
END;
CREATE TRIGGER record_counts_undelete AFTER UPDATE OF deleted ON records
    WHEN OLD.deleted != NEW.deleted BEGIN
    UPDATE record_counts SET live = live + (NEW.deleted = 0) - (OLD.deleted = 0)
        WHERE sobject = NEW.sobject;
END;

-- Ops per state, for `status` in constant time; the oldest op of a state comes from
-- outbox_state_created.
CREATE TABLE outbox_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO outbox_counts (state, n) SELECT state, count(*) FROM outbox GROUP BY state;
CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF state ON outbox
    WHEN OLD.state != NEW.state BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO outbox_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE INDEX outbox_state_created ON outbox (state, created_at);
