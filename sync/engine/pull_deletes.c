/* Records deleted in Salesforce leave the mirror (docs/sync-protocol.md#pull, "Deletes").
 *
 * Invariants:
 *   I1. deletes_checked only moves to a time Salesforce said it covered (getDeleted's
 *       latestDateCovered) or to a full reconciliation's start, in the transaction that
 *       removes what that covers (store/pull.c I2): no delete is ever skipped. A
 *       latestDateCovered after the end asked for (Salesforce documents it as at most
 *       end) counts as end: a later one would skip the deletes in between for good.
 *   I2. When Salesforce may no longer have every delete since deletes_checked (older
 *       than it keeps: earliestDateAvailable later than deletes_checked, or
 *       INVALID_REPLICATION_DATE), or when a reconciliation is owed (scope change), the
 *       agent lists every Id in scope and removes the cached records not among them.
 *   I3. Nothing with an open op is removed (store/mirror.c M6): a local update of a
 *       record deleted on the server stays visible until push makes it dead with
 *       ENTITY_IS_DELETED.
 *   I4. A reconciliation removes records only after an answer with done:true ended its
 *       query and every page before it was read whole (a records array, each record
 *       with a valid Id): a page it could not read, or a query that stops with
 *       done:false, would make every record it did not list look deleted.
 *   I5. getDeleted is asked only for a window Salesforce accepts: start precedes end by
 *       more than one minute even with the seconds of both dropped (Salesforce's
 *       getDeleted() rules). A shorter window is refused with INVALID_REPLICATION_DATE,
 *       which would cost a full reconciliation (I2) for nothing; the deletes wait for
 *       the next pull instead. A window holding more than 600,000 deletes
 *       (EXCEEDED_ID_LIMIT) is handled as lost too (I2): one reconciliation rather than a search
 * for windows small enough.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/engine/build.h"
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define MINUTE_MS 60000LL

static int64_t minute_of(int64_t ms)
{
    return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/* I4: one answer of the reconciliation query into the scratch set; *next: the page after
 * it (caller frees), NULL when the answer says done:true. */
static sfa_status seen_page(pull_ctx *ctx, const pull_scope *sc, const cJSON *body, char **next)
{
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(body, "records");
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(body, "done");
    const char *url = json_str(body, "nextRecordsUrl");
    *next = NULL;
    if (!cJSON_IsArray(records) || !cJSON_IsBool(done) || (cJSON_IsFalse(done) && !url))
        return pull_fail(ctx, SFA_ESERVER,
                         "%s: reconciliation query answer without records, done, or the "
                         "nextRecordsUrl its done:false needs; nothing removed",
                         sc->sobject);
    sfa_status st = store_pull_seen_add(ctx->agent, records);
    if (st != SFA_OK)
        return pull_fail(ctx, st, "%s: reconciliation: %s; nothing removed", sc->sobject,
                         sfa_agent_errmsg(ctx->agent));
    CRASH_POINT("pull.after_seen_page");
    if (cJSON_IsFalse(done))
        *next = xstrdup(url);
    return SFA_OK;
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
    char *path = pull_query_path(strbuf_str(&q));
    strbuf_free(&q);
    bool finished = false;
    while (st == SFA_OK && !finished) {
        sf_response resp;
        char *next = NULL;
        st = pull_get(ctx, path, &resp);
        if (st == SFA_OK)
            st = seen_page(ctx, sc, resp.json, &next);
        else /* an expired locator too: the flag stays, the next run redoes it */
            pull_fail(ctx, st, "%s: reconciliation failed: %s", sc->sobject,
                      resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
        if (st == SFA_OK && next && strcmp(next, path) == 0)
            st = pull_fail(ctx, SFA_ESERVER,
                           "%s: reconciliation query names its own page as "
                           "the next one; nothing removed",
                           sc->sobject);
        finished = st == SFA_OK && !next; /* I4: only a done:true answer ends it */
        sf_response_free(&resp);
        free(path);
        path = next; /* ownership moves */
    }
    free(path);
    if (st == SFA_OK &&
        (st = store_pull_seen_finish(ctx->agent, sc->sobject, started, &ctx->counts)) != SFA_OK)
        pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    return st;
}

/* ms as getDeleted's documented parameter form, YYYY-MM-DDThh:mm:ss+hh:mm (UTC). */
static void deleted_time(int64_t ms, char out[40])
{
    char z[32];
    time_format_iso_z(ms, z); /* "...:ssZ" */
    snprintf(out, 40, "%.*s+00:00", (int)strlen(z) - 1, z);
}

static char *deleted_path(const char *sobject, int64_t since, int64_t now)
{
    char s[40], e[40];
    deleted_time(since, s);
    deleted_time(now, e);
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

/* I1: the deleted Ids of a getDeleted answer into *out (caller frees). False when the
 * answer has no deletedRecords array or an entry without a valid Id: moving
 * deletes_checked past deletes it could not read would skip them for good. */
static bool ids_of(cJSON **out, const cJSON *body)
{
    *out = cJSON_CreateArray();
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "deletedRecords");
    if (!cJSON_IsArray(list))
        return false;
    for (const cJSON *d = list->child; d; d = d->next) {
        const char *id = json_str(d, "id");
        if (!id || !sfid_is_valid(id))
            return false;
        cJSON_AddItemToArray(*out, cJSON_CreateString(id));
    }
    return true;
}

static bool error_is(const sf_response *resp, const char *code)
{
    return resp->error_code && strcmp(resp->error_code, code) == 0;
}

/* getDeleted since `since`; *lost when a reconciliation must take over. */
static sfa_status get_deleted(pull_ctx *ctx, const pull_scope *sc, int64_t since, bool *lost)
{
    int64_t end = pull_server_now(ctx);
    char *path = deleted_path(sc->sobject, since, end);
    sf_response resp;
    sfa_status st = pull_get(ctx, path, &resp);
    free(path);
    const char *covered = st == SFA_OK ? json_str(resp.json, "latestDateCovered") : NULL;
    int64_t covered_ms = 0;
    *lost = (st == SFA_ESERVER && (error_is(&resp, "INVALID_REPLICATION_DATE") ||
                                   error_is(&resp, "EXCEEDED_ID_LIMIT"))) ||
            (st == SFA_OK && window_lost(resp.json, since));
    if (st == SFA_OK && !*lost && !(covered && time_parse_sf(covered, &covered_ms)))
        st = pull_fail(ctx, SFA_ESERVER, "%s: getDeleted answer without a latestDateCovered time",
                       sc->sobject);
    else if (st != SFA_OK && !*lost)
        pull_fail(ctx, st, "%s: getDeleted failed: %s", sc->sobject,
                  resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
    char until[32]; /* I1: never past the end asked for */
    if (st == SFA_OK && !*lost && covered_ms > end) {
        time_format_sf(end, until);
        covered = until;
    }
    if (st == SFA_OK && !*lost) {
        cJSON *ids = NULL;
        if (!ids_of(&ids, resp.json))
            st = pull_fail(ctx, SFA_ESERVER,
                           "%s: getDeleted answer without a deletedRecords array of valid Ids",
                           sc->sobject);
        else if ((st = store_pull_deleted(ctx->agent, sc->sobject, ids, covered, &ctx->counts)) !=
                 SFA_OK) /* I1 */
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
    /* I5: start must precede end by more than a minute, seconds aside. */
    if (minute_of(now) - minute_of(since) < 2 * MINUTE_MS)
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
