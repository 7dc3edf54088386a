/* The describe cache (table describe_cache): one row per sObject with Salesforce's
 * describe as fetched, written by the engine and `doctor`, read for offline validation
 * and to know whether an sObject has the idempotency External ID field. */
#include "store/describe.h"

#include <stdlib.h>

#include "store/sql.h"
#include "util/json.h"
#include "util/timeutil.h"

sfa_status store_describe_get(cJSON **out, sfa_agent *a, const char *sobject)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    int src = sqlite3_prepare_v2(
        store_db(a), "SELECT describe FROM describe_cache WHERE sobject = ?1", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *out = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
            src = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "read the describe cache");
}

sfa_status store_describe_put(sfa_agent *a, const char *sobject, const cJSON *describe)
{
    sqlite3_stmt *st = NULL;
    char *txt = json_print(describe);
    int src = sqlite3_prepare_v2(store_db(a),
                                 "INSERT INTO describe_cache (sobject, describe, fetched_at)"
                                 " VALUES (?1, ?2, ?3) ON CONFLICT (sobject) DO UPDATE SET"
                                 " describe = ?2, fetched_at = ?3",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, txt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, time_now_ms());
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(txt);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "cache describe");
}
