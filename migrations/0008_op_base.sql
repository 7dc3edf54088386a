-- sfagent schema version 8: each update op remembers the server values its edit started
-- from (base_fields: the record's base, for the fields the op changes, when the edit was
-- made). The conflict check compares Salesforce's current value with it, so a pull that
-- brings a newer server base for the record never hides a concurrent change nor invents
-- one (docs/sync-protocol.md#conflicts).
ALTER TABLE outbox ADD COLUMN base_fields TEXT
    CHECK (base_fields IS NULL OR json_valid(base_fields));
