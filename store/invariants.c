/* The outbox's and mirror's invariants as queries (docs/sync-protocol.md#invariants
 * criterion 5). Checked under assert() at the end of every sync run and by the tests after
 * every injected fault; cheap enough for that (each is one indexed scan of the outbox).
 *
 *   V1. An inflight op holds a lease (owner and expiry); no op in another state does.
 *   V2. A record with an open op (pending, inflight, conflict, dead) is dirty.
 *   V3. A record has at most one inflight op: only a record's oldest open op is ever sent.
 *   V4. Ops of a record apply in order: no op is done while an earlier op of the same
 *       record is still pending or inflight.
 *   V5. Every op names a record that exists (foreign keys hold).
 *   V6. The schema is the newest this binary knows (user_version).
 *   V7. Each field column of a record (migration 0013, store/sql.h STORE_FIELD_COLS)
 *       holds json_extract of its field in the record's fields, value and type: the read
 *       indexes are built on the columns, so a stale one would make queries and lists
 *       answer from a value the record no longer has. Unlike V1-V5 this reads every
 *       record (the JSON of each): fine for the tests and Debug runs it serves.
 */
#include "store/sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/migrations.h"
#include "util/alloc.h"

/* V7: IS NOT compares type and value, NULL with NULL; the row names each stale column. */
#define FIELD_NE(field, col)   "(" col " IS NOT json_extract(fields, '$." field "'))"
#define FIELD_DIFF(field, col) "iif(" FIELD_NE(field, col) ", ' " col "', '')"
#define FIELD_CHECKS(X, SEP)                                                                       \
    X("Status", "f_status")                                                                        \
    SEP X("OwnerId", "f_ownerid") SEP X("ContactId", "f_contactid")                                \
        SEP X("AccountId", "f_accountid") SEP X("LastModifiedDate", "f_lastmodifieddate")          \
            SEP X("CreatedDate", "f_createddate")
static const char V7_SQL[] = "SELECT 'record ' || local_id || ':' || " FIELD_CHECKS(
    FIELD_DIFF, " || ") " FROM records WHERE " FIELD_CHECKS(FIELD_NE, " OR ") " LIMIT 1";

typedef struct invariant {
    const char *name;
    const char *sql; /* returns one row describing the first violation, or none */
} invariant;

static const invariant invariants[] = {
    {"V1 inflight ops hold a lease, others none",
     "SELECT 'op ' || seq || ' (' || state || ')' FROM outbox"
     " WHERE (state = 'inflight') != (lease_owner IS NOT NULL)"
     " LIMIT 1"},
    {"V2 records with open ops are dirty",
     "SELECT 'record ' || r.local_id FROM records r WHERE r.dirty = 0 AND EXISTS"
     " (SELECT 1 FROM outbox o WHERE o.local_id = r.local_id"
     "  AND o.state IN ('pending', 'inflight', 'conflict', 'dead')) LIMIT 1"},
    {"V3 at most one inflight op per record",
     "SELECT 'record ' || local_id FROM outbox WHERE state = 'inflight'"
     " GROUP BY local_id HAVING count(*) > 1 LIMIT 1"},
    {"V4 ops of a record apply in order",
     "SELECT 'op ' || d.seq || ' done before op ' || e.seq FROM outbox d JOIN outbox e"
     " ON e.local_id = d.local_id AND e.seq < d.seq"
     " WHERE d.state = 'done' AND (d.last_error_code IS NULL OR d.last_error_code != 'DISCARDED')"
     " AND e.state IN ('pending', 'inflight') LIMIT 1"},
    {"V5 ops name existing records",
     "SELECT 'op ' || seq || ' names missing record ' || local_id FROM outbox o"
     " WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.local_id = o.local_id) LIMIT 1"},
    {"V7 field columns equal their fields", V7_SQL},
};

static bool first_violation(sqlite3 *db, const invariant *inv, char **why)
{
    sqlite3_stmt *st = NULL;
    bool ok = true;
    if (sqlite3_prepare_v2(db, inv->sql, -1, &st, NULL) != SQLITE_OK) {
        ok = false;
        if (why)
            *why = xasprintf("%s: cannot check: %s", inv->name, sqlite3_errmsg(db));
    } else if (sqlite3_step(st) == SQLITE_ROW) {
        ok = false;
        if (why)
            *why = xasprintf("%s: violated by %s", inv->name,
                             (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return ok;
}

bool store_check_invariants(sfa_agent *a, char **why)
{
    if (why)
        *why = NULL;
    sqlite3 *db = store_db(a);
    for (size_t i = 0; i < sizeof invariants / sizeof invariants[0]; i++)
        if (!first_violation(db, &invariants[i], why))
            return false;
    /* V6 reads the file, not the version cached on the handle at open. */
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version != store_migration_count) { /* V6 */
        if (why)
            *why = xasprintf("V6 schema is the newest: user_version %d, newest %d", version,
                             store_migration_count);
        return false;
    }
    return true;
}
