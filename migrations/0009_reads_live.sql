-- sfagent schema version 9: the per-field read indexes of 0006 hold live records only
-- (partial, WHERE deleted = 0). Every local SOQL query and every list without
-- --include-deleted says `deleted = 0` literally, which is what lets SQLite use a partial
-- index; the index then answers that condition by itself, so COUNT() with `field = value`
-- counts index entries and never reads a record (before, each matching row was read to
-- check `deleted`). Tombstones also leave these indexes. The expressions stay
-- byte-identical to store/query_sql.c (INDEXED); lists with --include-deleted order
-- through a sort or records_newest instead.
DROP INDEX records_f_status;
CREATE INDEX records_f_status ON records
    (sobject, json_extract(fields, '$.Status') COLLATE NOCASE, created_at) WHERE deleted = 0;
DROP INDEX records_f_casenumber;
CREATE INDEX records_f_casenumber ON records
    (sobject, case_number COLLATE NOCASE, created_at) WHERE deleted = 0;
DROP INDEX records_f_ownerid;
CREATE INDEX records_f_ownerid ON records
    (sobject, json_extract(fields, '$.OwnerId') COLLATE NOCASE, created_at) WHERE deleted = 0;
DROP INDEX records_f_contactid;
CREATE INDEX records_f_contactid ON records
    (sobject, json_extract(fields, '$.ContactId') COLLATE NOCASE, created_at) WHERE deleted = 0;
DROP INDEX records_f_accountid;
CREATE INDEX records_f_accountid ON records
    (sobject, json_extract(fields, '$.AccountId') COLLATE NOCASE, created_at) WHERE deleted = 0;
DROP INDEX records_f_lastmodifieddate;
CREATE INDEX records_f_lastmodifieddate ON records
    (sobject, json_extract(fields, '$.LastModifiedDate') COLLATE NOCASE, created_at)
    WHERE deleted = 0;
DROP INDEX records_f_createddate;
CREATE INDEX records_f_createddate ON records
    (sobject, json_extract(fields, '$.CreatedDate') COLLATE NOCASE, created_at)
    WHERE deleted = 0;
