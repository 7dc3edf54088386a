-- sfagent schema version 7: sObject names are case-insensitive in Salesforce, and the
-- describe cache is read by name COLLATE NOCASE; this index serves those reads (the
-- primary key's own index is BINARY and would leave them scanning).
CREATE INDEX describe_cache_nocase ON describe_cache (sobject COLLATE NOCASE);
