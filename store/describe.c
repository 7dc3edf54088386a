/* The describe cache (table describe_cache): one row per sObject with Salesforce's
 * describe as fetched, plus describe global under STORE_DESCRIBE_GLOBAL, written by the
 * engine (sync/engine/describe.c, push) and `doctor`, read for offline validation,
 * completion and to know whether an sObject has the idempotency External ID field.
 *
 * Invariants:
 * D1. fetched_at is when Salesforce last vouched for the row: a 200 that wrote it or a
 *     304 that confirmed it. If-Modified-Since is built from it, so it never runs ahead
 *     of what was actually received.
 * D2. A write replaces the handle's parsed copy (store_describes) as well, so validation
 *     on the same handle sees the new describe at once. */
#include "store/describe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfagent/describe.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

static const char SQL_GET[] =
    "SELECT describe, fetched_at FROM describe_cache WHERE sobject = ?1 COLLATE NOCASE";

sfa_status store_describe_get_at(cJSON **out, int64_t *fetched_at_ms, sfa_agent *a,
                                 const char *sobject)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (fetched_at_ms)
        *fetched_at_ms = 0;
    int src = sqlite3_prepare_v2(store_db(a), SQL_GET, -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *out = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
            if (fetched_at_ms)
                *fetched_at_ms = sqlite3_column_int64(st, 1);
            src = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "read the describe cache");
}

sfa_status store_describe_get(cJSON **out, sfa_agent *a, const char *sobject)
{
    return store_describe_get_at(out, NULL, a, sobject);
}

sfa_status store_describe_fetched_at(int64_t *out, sfa_agent *a, const char *sobject)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int src = sqlite3_prepare_v2(
        store_db(a), "SELECT fetched_at FROM describe_cache WHERE sobject = ?1 COLLATE NOCASE", -1,
        &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            src = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "read the describe cache");
}

/* D2: forget the handle's parsed copy of sobject; the next lookup reads the new row. */
static void forget_parsed(sfa_agent *a, const char *sobject)
{
    store_describe_cache *c = store_describes(a);
    for (store_describe_entry **p = &c->head; *p; p = &(*p)->next) {
        store_describe_entry *e = *p;
        if (strcasecmp(e->sobject, sobject) == 0) {
            *p = e->next;
            free(e->sobject);
            cJSON_Delete(e->describe);
            free(e);
            return;
        }
    }
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
    forget_parsed(a, sobject);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "cache describe");
}

sfa_status store_describe_touch(sfa_agent *a, const char *sobject)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(
        store_db(a), "UPDATE describe_cache SET fetched_at = ?2 WHERE sobject = ?1 COLLATE NOCASE",
        -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, time_now_ms()); /* D1: a 304 vouched for it just now */
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "update the describe cache");
}

/* ---- public API (include/sfagent/describe.h) ---- */

sfa_status sfa_describe_cached(char **out_json, int64_t *fetched_at_ms, sfa_agent *agent,
                               const char *sobject)
{
    if (out_json)
        *out_json = NULL;
    if (!out_json || !agent)
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_describe_cached: out_json is required")
                     : store_error_set(SFA_EINVAL, "sfa_describe_cached: agent is required");
    /* The stored text as is: completion reads describe global on every key press. */
    sqlite3_stmt *st = NULL;
    if (fetched_at_ms)
        *fetched_at_ms = 0;
    int src = sqlite3_prepare_v2(store_db(agent), SQL_GET, -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sobject ? sobject : STORE_DESCRIBE_GLOBAL, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *out_json = xstrdup((const char *)sqlite3_column_text(st, 0));
            if (fetched_at_ms)
                *fetched_at_ms = sqlite3_column_int64(st, 1);
            src = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store_fail_sqlite(agent, src, "read the describe cache");
    if (!*out_json)
        return store_fail(
            agent, SFA_ENOTFOUND, "no describe of %s is cached (run `sfagent describe%s%s` online)",
            sobject ? sobject : "the org's objects", sobject ? " " : "", sobject ? sobject : "");
    return SFA_OK;
}

sfa_status sfa_describe_check_sobject(sfa_agent *agent, const char *sobject)
{
    if (!agent)
        return store_error_set(SFA_EINVAL, "sfa_describe_check_sobject: agent is required");
    return store_check_sobject(agent, sobject);
}

sfa_status sfa_describe_check_fields(char **out, sfa_agent *agent, const char *sobject,
                                     const char *fields_csv)
{
    if (out)
        *out = NULL;
    if (!out || !agent)
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_describe_check_fields: out is required")
                     : store_error_set(SFA_EINVAL, "sfa_describe_check_fields: agent is required");
    return store_field_list_check(out, agent, sobject, fields_csv);
}
