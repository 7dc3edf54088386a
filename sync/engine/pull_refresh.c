/* `get --refresh`: one record fetched from Salesforce now and merged into the mirror with
 * the pull's merge (store/mirror.c M1-M6), outside any run lease (a single transaction;
 * docs/sync-protocol.md#pull, "Refresh").
 *
 * Invariants:
 *   I1. The record is read with the object's pull scope (same select list), so a refreshed
 *       record looks exactly like a pulled one.
 *   I2. The lookup is one query: by Id (a cached record's, or the ref itself), else by
 *       CaseNumber for a Case; the literal goes through soql_quote.
 *   I3. The pull's high-water mark is not touched: a refresh is not a page of the
 *       incremental query (the record comes again with the next pull, merged the same way).
 *   I4. A lookup by Id answered with an empty records array (the query returns no
 *       deleted records, nor ones this user may not see) removes the cached copy unless
 *       it has open ops, as a getDeleted would; an answer without a records array says
 *       nothing and removes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"
#include "soql/soql.h"
#include "sync/client/config_internal.h"
#include "sync/engine/build.h"
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"

/* I2: the field and value to look the record up by, from the mirror or the ref itself. */
static sfa_status lookup_key(sfa_agent *agent, const char *sobject, const char *ref,
                             const char **field, char **value)
{
    sfa_record *r = NULL;
    sfa_status st = sfa_record_get(&r, agent, sobject, ref);
    if (st == SFA_OK && r->sf_id) {
        *field = "Id";
        *value = xstrdup(r->sf_id);
    } else if (st == SFA_OK) {
        st = SFA_ESTATE; /* created here and not in Salesforce yet: nothing to fetch */
    } else if (st == SFA_ENOTFOUND && sfid_is_valid(ref)) {
        *field = "Id";
        *value = xstrdup(ref);
        st = SFA_OK;
    } else if (st == SFA_ENOTFOUND && strcmp(sobject, "Case") == 0) {
        *field = "CaseNumber";
        *value = xstrdup(ref);
        st = SFA_OK;
    }
    sfa_record_free(r);
    return st;
}

static char *lookup_path(const pull_scope *sc, const char *field, const char *value)
{
    char *lit = soql_quote(value);
    strbuf q = STRBUF_INIT;
    strbuf_addf(&q, "SELECT %s FROM %s WHERE %s = %s LIMIT 2", sc->select, sc->sobject, field, lit);
    free(lit);
    char *enc = push_url_encode(strbuf_str(&q));
    strbuf_free(&q);
    char *path = xasprintf("query?q=%s", enc);
    free(enc);
    return path;
}

/* I4: a record looked up by Id that Salesforce no longer returns leaves the mirror
 * (unless it has open ops, store/mirror.c M6); the status stays SFA_ENOTFOUND. */
static sfa_status gone(pull_ctx *ctx, const char *sobject, const char *field, const char *value)
{
    bool removed = false;
    sfa_status st =
        strcmp(field, "Id") == 0 ? store_pull_gone(ctx->agent, sobject, value, &removed) : SFA_OK;
    if (st != SFA_OK)
        return pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    sfa_record *r = NULL;
    bool cached = !removed && strcmp(field, "Id") == 0 &&
                  sfa_record_get(&r, ctx->agent, sobject, value) == SFA_OK;
    sfa_record_free(r);
    return pull_fail(
        ctx, SFA_ENOTFOUND,
        "%s %s=%s: no such record in Salesforce (deleted, or not visible to this user)%s", sobject,
        field, value,
        removed  ? "; removed from the cache"
        : cached ? "; kept in the cache: it has unsynced local changes"
                 : "");
}

static sfa_status fetch_and_merge(pull_ctx *ctx, const char *sobject, const char *field,
                                  const char *value, char **out_local_id)
{
    pull_scope sc = {0};
    sfa_status st = pull_scope_build(&sc, ctx, sobject);
    sf_response resp = {0};
    if (st == SFA_OK) {
        char *path = lookup_path(&sc, field, value);
        st = pull_get(ctx, path, &resp);
        free(path);
        if (st != SFA_OK)
            pull_fail(ctx, st, "%s",
                      resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
    }
    const cJSON *recs =
        st == SFA_OK ? cJSON_GetObjectItemCaseSensitive(resp.json, "records") : NULL;
    int n = cJSON_GetArraySize(recs);
    if (st == SFA_OK && !cJSON_IsArray(recs)) /* I4: not an answer that says "none" */
        st = pull_fail(ctx, SFA_ESERVER, "%s: query answer without a records array", sobject);
    else if (st == SFA_OK && n == 0)
        st = gone(ctx, sobject, field, value);
    else if (st == SFA_OK && n != 1)
        st = pull_fail(ctx, SFA_EAMBIGUOUS, "%s %s=%s: more than one match in Salesforce", sobject,
                       field, value);
    if (st == SFA_OK) {
        st = store_pull_one(ctx->agent, sobject, recs->child, sc.key_field, out_local_id,
                            &ctx->counts);
        if (st != SFA_OK)
            pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    }
    sf_response_free(&resp);
    pull_scope_clear(&sc);
    return st;
}

sfa_status sfa_sync_refresh(char **out_local_id, sfa_agent *agent, const sfa_config *cfg,
                            const char *sobject, const char *ref)
{
    if (out_local_id)
        *out_local_id = NULL;
    if (!agent || !cfg || !sobject || !ref)
        return SFA_EINVAL;
    const char *field = NULL;
    char *value = NULL;
    sfa_status st = lookup_key(agent, sobject, ref, &field, &value);
    if (st != SFA_OK)
        return st; /* the message is on the handle */
    pull_ctx ctx = {.agent = agent, .cfg = cfg, .api_share = sync_config_api_limit_share(cfg)};
    char *err = NULL;
    st = sf_client_new(&ctx.client, cfg, &err);
    if (st != SFA_OK)
        pull_fail(&ctx, SFA_ECONFIG, "%s", err ? err : "cannot build the Salesforce client");
    else
        st = fetch_and_merge(&ctx, sobject, field, value, out_local_id);
    if (st != SFA_OK)
        store_fail(agent, st, "%s", ctx.msg);
    free(err);
    free(value);
    sf_client_free(ctx.client);
    return st;
}
