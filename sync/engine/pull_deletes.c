/* Records deleted in Salesforce leave the mirror (docs/sync-protocol.md#pull, "Deletes").
 *
 * Invariants:
 *   I1. deletes_checked only moves to a time Salesforce said it covered (getDeleted's
 *       latestDateCovered) or to a full reconciliation's start, in the transaction that
 *       removes what that covers (store/pull.c I2): no delete is ever skipped.
 *   I2. When Salesforce may no longer have every delete since deletes_checked (older
 *       than it keeps: earliestDateAvailable later than deletes_checked, or
 *       INVALID_REPLICATION_DATE), or when a reconciliation is owed (scope change), the
 *       agent lists every Id in scope and removes the cached records not among them.
 *   I3. Nothing with an open op is removed (store/mirror.c M6): a local update of a
 *       record deleted on the server stays visible until push makes it dead with
 *       ENTITY_IS_DELETED.
 */
#include <stdlib.h>
#include <string.h>

#include "sync/engine/build.h"
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define MINUTE_MS 60000LL

static int64_t minute_of(int64_t ms)
{
    return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/* Every Id in scope into the store's scratch set, page by page; then remove the rest. */
static sfa_status reconcile(pull_ctx *ctx, const pull_scope *sc)
{
    char started[32];
    /* Deletes after this moment are for getDeleted; a minute of slack for clock skew. */
    time_format_sf(pull_server_now(ctx) - MINUTE_MS, started);
    log_info("pull: %s: full Id reconciliation", sc->sobject);
    sfa_status st = store_pull_seen_begin(ctx->agent);
    strbuf q = STRBUF_INIT;
    strbuf_addf(&q, "SELECT Id FROM %s", sc->sobject);
    if (sc->where)
        strbuf_addf(&q, " WHERE (%s)", sc->where);
    strbuf_adds(&q, " ORDER BY Id");
    char *enc = push_url_encode(strbuf_str(&q));
    char *path = xasprintf("query?q=%s", enc);
    free(enc);
    strbuf_free(&q);
    while (st == SFA_OK && path) {
        sf_response resp;
        st = pull_get(ctx, path, &resp);
        free(path);
        path = NULL;
        if (st == SFA_OK)
            st = store_pull_seen_add(ctx->agent,
                                     cJSON_GetObjectItemCaseSensitive(resp.json, "records"));
        if (st == SFA_OK)
            CRASH_POINT("pull.after_seen_page");
        const char *next = st == SFA_OK ? json_str(resp.json, "nextRecordsUrl") : NULL;
        if (next && !json_bool(resp.json, "done", true))
            path = xstrdup(next);
        if (st != SFA_OK) /* an expired locator too: the flag stays, the next run redoes it */
            pull_fail(ctx, st, "%s: reconciliation failed: %s", sc->sobject,
                      resp.error_message ? resp.error_message : sfa_agent_errmsg(ctx->agent));
        sf_response_free(&resp);
    }
    free(path);
    if (st == SFA_OK &&
        (st = store_pull_seen_finish(ctx->agent, sc->sobject, started, &ctx->counts)) != SFA_OK)
        pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    return st;
}

static char *deleted_path(const char *sobject, int64_t since, int64_t now)
{
    char s[32], e[32];
    time_format_iso_z(since, s);
    time_format_iso_z(now, e);
    char *es = push_url_encode(s), *ee = push_url_encode(e);
    char *path = xasprintf("sobjects/%s/deleted/?start=%s&end=%s", sobject, es, ee);
    free(es);
    free(ee);
    return path;
}

/* I2: Salesforce no longer has every delete since `since`. */
static bool window_lost(const cJSON *body, int64_t since)
{
    int64_t earliest;
    const char *e = json_str(body, "earliestDateAvailable");
    return e && time_parse_sf(e, &earliest) && earliest > since;
}

static sfa_status ids_of(cJSON **out, const cJSON *body)
{
    *out = cJSON_CreateArray();
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "deletedRecords");
    for (const cJSON *d = cJSON_IsArray(list) ? list->child : NULL; d; d = d->next) {
        const char *id = json_str(d, "id");
        if (id)
            cJSON_AddItemToArray(*out, cJSON_CreateString(id));
    }
    return SFA_OK;
}

/* getDeleted since `since`; *lost when a reconciliation must take over. */
static sfa_status get_deleted(pull_ctx *ctx, const pull_scope *sc, int64_t since, bool *lost)
{
    char *path = deleted_path(sc->sobject, since, pull_server_now(ctx));
    sf_response resp;
    sfa_status st = pull_get(ctx, path, &resp);
    free(path);
    const char *covered = st == SFA_OK ? json_str(resp.json, "latestDateCovered") : NULL;
    *lost = (st == SFA_ESERVER && resp.error_code &&
             strcmp(resp.error_code, "INVALID_REPLICATION_DATE") == 0) ||
            (st == SFA_OK && window_lost(resp.json, since));
    if (st == SFA_OK && !*lost && !covered)
        st = pull_fail(ctx, SFA_ESERVER, "%s: getDeleted answer without latestDateCovered",
                       sc->sobject);
    else if (st != SFA_OK && !*lost)
        pull_fail(ctx, st, "%s: getDeleted failed: %s", sc->sobject,
                  resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
    if (st == SFA_OK && !*lost) {
        cJSON *ids = NULL;
        ids_of(&ids, resp.json);
        st = store_pull_deleted(ctx->agent, sc->sobject, ids, covered, &ctx->counts); /* I1 */
        if (st != SFA_OK)
            pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
        cJSON_Delete(ids);
    }
    sf_response_free(&resp);
    return *lost ? SFA_OK : st;
}

sfa_status pull_deletes(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps)
{
    int64_t now = pull_server_now(ctx), since = 0;
    bool known = ps->deletes_checked && time_parse_sf(ps->deletes_checked, &since);
    if (ps->reconcile || !known || now - since > PULL_DELETES_KEPT_MS)
        return reconcile(ctx, sc); /* I2 */
    /* getDeleted ignores seconds and wants start a whole minute before end: within the
     * same minute there is nothing it could answer yet. */
    if (minute_of(now) <= minute_of(since))
        return SFA_OK;
    bool lost = false;
    sfa_status st = get_deleted(ctx, sc, since, &lost);
    if (st == SFA_OK && lost) {
        log_info("pull: %s: delete log no longer reaches back to %s", sc->sobject,
                 ps->deletes_checked);
        st = reconcile(ctx, sc);
    }
    return st;
}
