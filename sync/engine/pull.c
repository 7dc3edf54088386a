/* The pull engine's run: for each configured sObject, an incremental query ordered by
 * (SystemModstamp, Id) from the committed high-water mark, followed page by page through
 * nextRecordsUrl, each page merged and the mark moved in one transaction; then records
 * that left the `where` scope (pull_left.c) and deletes (pull_deletes.c).
 * docs/sync-protocol.md#pull.
 *
 * Invariants:
 *   I1. The mark is (SystemModstamp, Id) of the last record of a committed page
 *       (store/pull.c I1), and the query asks for records strictly after it in the same
 *       order it pages in, so records sharing one second on either side of a page
 *       boundary are neither lost nor repeated, even across a crash.
 *   I2. A page is committed before the next one is asked for: at most one page of
 *       results is in memory at any time (streaming; peak memory independent of the
 *       number of records), and only as its text: the store parses one record at a
 *       time (pull_page.c), never a tree of the whole page.
 *   I3. An expired query locator restarts the query from the committed mark, never
 *       from the start and never by retrying the locator.
 *   I4. A scope (fields + where) other than the one the mark was earned under starts
 *       the object over: mark cleared, and a full Id reconciliation owed so records
 *       that left the scope leave the cache.
 *   I5. The mark never enters a second Salesforce may still be writing. SystemModstamp
 *       has one-second resolution, so a record edited later in the very second of the
 *       mark, with a smaller Id, would sort before the mark and never be asked for. Each
 *       query therefore stops before the last [sync] pull_settle_time seconds (by this
 *       host's clock, the current one included); they come with the next pull.
 *   I6. A query ends only as Salesforce ends one (done:true, or no further page): an
 *       answer with done:false and no nextRecordsUrl, one naming itself as the next
 *       page, or PULL_EMPTY_PAGES empty pages in a row end it with an error once what
 *       arrived is committed, so the run never reports an unfinished query as complete
 *       and a misbehaving server cannot keep it asking forever.
 *   I7. The mark never passes the query's own upper bound: a page whose last record has
 *       a SystemModstamp at or after the settle bound (I5), or, with no bound, more than
 *       PULL_CLOCK_SKEW_MS ahead of Salesforce's clock (pull_server_now), is refused whole. Such a
 * mark would make every later query skip what happens until then.
 */
#include "sync/engine/pull.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soql/soql.h"
#include "sync/client/config_internal.h"
#include "sync/engine/build.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

sfa_status pull_fail(pull_ctx *ctx, sfa_status st, const char *fmt, ...)
{
    if (ctx->st != SFA_OK)
        return st; /* the first reason is the one that matters */
    ctx->st = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
    va_end(ap);
    log_warn("pull: %s", ctx->msg);
    return st;
}

static bool limit_reached(const pull_ctx *ctx)
{
    long used = sf_client_api_used(ctx->client), max = sf_client_api_max(ctx->client);
    return used >= 0 && max > 0 && (double)used >= ctx->api_share * (double)max;
}

/* pull_get, and with raw the same for a GET whose 2xx body is left as text
 * (sf_client_get_raw): the caller validates it. */
static sfa_status get(pull_ctx *ctx, const char *path, bool raw, sf_response *resp)
{
    if (limit_reached(ctx)) { /* the same API share rule as push */
        memset(resp, 0, sizeof *resp);
        resp->retry_after_s = -1;
        return SFA_ELIMIT;
    }
    sfa_status rc = raw ? sf_client_get_raw(ctx->client, path, resp)
                        : sf_client_request(ctx->client, "GET", path, NULL, resp);
    if (rc != SFA_OK)
        return rc; /* not sent: login refused or unreachable */
    if (resp->outcome == SF_NOT_SENT)
        return SFA_ENETWORK;
    if (resp->outcome == SF_UNKNOWN)
        return SFA_ERETRY; /* a read: nothing to resolve, ask again next run */
    if (resp->status == 401)
        return SFA_EAUTH;
    if (resp->error_code && strcmp(resp->error_code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return SFA_ELIMIT;
    if (resp->status >= 500)
        return SFA_ERETRY;
    if (resp->status < 200 || resp->status >= 300 || (!raw && !cJSON_IsObject(resp->json)))
        return SFA_ESERVER;
    return SFA_OK;
}

sfa_status pull_get(pull_ctx *ctx, const char *path, sf_response *resp)
{
    return get(ctx, path, false, resp);
}

/* ms as an unquoted SOQL dateTime literal in a documented form, YYYY-MM-DDThh:mm:ssZ
 * (docs/salesforce.md#query): SOQL has no form with fractions of a second, so ms is
 * rounded down to its second. Down only widens a query ("> t" and ">= t" then also take
 * the rest of that second, which the merge takes again harmlessly); SystemModstamp is
 * whole seconds anyway (docs/salesforce.md#timestamps). */
static void soql_time(int64_t ms, char out[40])
{
    time_format_iso_z(ms - (((ms % 1000) + 1000) % 1000), out);
}

bool pull_soql_datetime(const char *stamp, char out[40])
{
    int64_t ms;
    if (!stamp || !time_parse_sf(stamp, &ms))
        return false;
    soql_time(ms, out);
    return true;
}

/* I5: the settle bound of a pull starting now ("" when the configuration sets none). */
int64_t pull_server_now(const pull_ctx *ctx)
{
    return sf_client_server_now_ms(ctx->client);
}

static void settle_cut(pull_ctx *ctx)
{
    int settle = sync_config_pull_settle_s(ctx->cfg);
    ctx->cut[0] = '\0';
    if (settle <= 0)
        return;
    int64_t now = pull_server_now(ctx);
    int64_t second = now - (((now % 1000) + 1000) % 1000);
    soql_time(second - (int64_t)(settle - 1) * 1000, ctx->cut);
}

/* What comes before the next condition: WHERE before the first, AND between them. */
static void next_cond(strbuf *sb, bool *first)
{
    strbuf_adds(sb, *first ? " WHERE " : " AND ");
    *first = false;
}

char *pull_soql(const pull_scope *sc, const char *mark_modstamp, const char *mark_id,
                const char *cut)
{
    char when[40];
    bool mark = mark_modstamp && mark_id, first = true;
    if (mark && !pull_soql_datetime(mark_modstamp, when))
        return NULL;
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "SELECT %s FROM %s", sc->select, sc->sobject);
    if (sc->where) {
        next_cond(&sb, &first);
        strbuf_addf(&sb, "(%s)", sc->where);
    }
    if (mark) { /* I1: strictly after the mark, in the order pages come in */
        char *id = soql_quote(mark_id);
        next_cond(&sb, &first);
        strbuf_addf(&sb, "(SystemModstamp > %s OR (SystemModstamp = %s AND Id > %s))", when, when,
                    id);
        free(id);
    }
    if (cut && *cut) { /* I5 */
        next_cond(&sb, &first);
        strbuf_addf(&sb, "SystemModstamp < %s", cut);
    }
    strbuf_adds(&sb, " ORDER BY SystemModstamp, Id");
    return strbuf_detach(&sb);
}

sfa_status pull_check_bound(pull_ctx *ctx, const pull_scope *sc, const pull_page *page)
{
    char *stamp = page->n ? json_member_str(page->records[page->n - 1], "SystemModstamp") : NULL;
    int64_t ms = 0, cut = 0;
    bool late = false;
    if (stamp && time_parse_sf(stamp, &ms)) /* unreadable: the store refuses the page */
        late = ctx->cut[0] && time_parse_sf(ctx->cut, &cut)
                   ? ms >= cut
                   : ms > pull_server_now(ctx) + PULL_CLOCK_SKEW_MS;
    sfa_status st = SFA_OK;
    if (late)
        st = pull_fail(ctx, SFA_ESERVER,
                       "%s: a pulled record's SystemModstamp %s is later than the query asked "
                       "for; page refused",
                       sc->sobject, stamp);
    free(stamp);
    return st;
}

/* Commit one page of changed records (I1, I2, I7). */
static sfa_status take_changes(pull_ctx *ctx, const pull_scope *sc, const pull_page *page)
{
    CRASH_POINT("pull.after_page_fetch");
    if (pull_check_bound(ctx, sc, page) != SFA_OK)
        return ctx->st;
    sfa_status st = store_pull_page(ctx->agent, sc->sobject, page->records, page->n, sc->key_field,
                                    time_now_ms(), &ctx->all_new, &ctx->counts);
    if (st != SFA_OK)
        return pull_fail(ctx, st, "%s: could not store a page: %s", sc->sobject,
                         sfa_agent_errmsg(ctx->agent));
    CRASH_POINT("pull.after_page_commit");
    return SFA_OK;
}

/* Hand one answer's records to take and say where the next page is (caller frees;
 * NULL when done). The body's text stays until take is done with it (I2). *empty counts
 * the empty pages in a row (I6). */
static sfa_status take_page(pull_ctx *ctx, const pull_scope *sc, const sf_response *resp,
                            pull_page_fn take, char **next, int *empty)
{
    pull_page page;
    const char *why = NULL;
    *next = NULL;
    sfa_status st = pull_page_scan(&page, resp->body, resp->body_len, &why);
    if (st != SFA_OK)
        return pull_fail(ctx, st, "%s: %s", sc->sobject, why);
    *empty = page.n ? 0 : *empty + 1;
    st = take(ctx, sc, &page);
    if (st == SFA_OK && page.cut_short) /* I6: what it took stays committed */
        st = pull_fail(ctx, SFA_ESERVER, "%s: %s; the rest comes with the next pull", sc->sobject,
                       page.cut_short);
    if (st == SFA_OK) {
        *next = page.next; /* ownership moves to the caller */
        page.next = NULL;
    }
    pull_page_clear(&page);
    return st;
}

/* I6: may the query go on to next after an answer from path? */
static sfa_status check_next(pull_ctx *ctx, const pull_scope *sc, const char *path,
                             const char *next, int empty)
{
    if (next && strcmp(next, path) == 0)
        return pull_fail(ctx, SFA_ESERVER, "%s: query answer names its own page as the next one",
                         sc->sobject);
    if (next && empty >= PULL_EMPTY_PAGES)
        return pull_fail(ctx, SFA_ESERVER, "%s: %d empty query pages in a row; giving up",
                         sc->sobject, empty);
    return SFA_OK;
}

sfa_status pull_follow(pull_ctx *ctx, const pull_scope *sc, char *path, pull_page_fn take,
                       bool *expired)
{
    sfa_status st = SFA_OK;
    int empty = 0;
    *expired = false;
    while (path && st == SFA_OK) {
        sf_response resp;
        char *next = NULL;
        st = get(ctx, path, true, &resp);
        if (st == SFA_OK) /* I2: the page's text only, one record parsed at a time */
            st = take_page(ctx, sc, &resp, take, &next, &empty);
        else if (resp.error_code && strcmp(resp.error_code, "INVALID_QUERY_LOCATOR") == 0)
            *expired = true; /* I3: the caller restarts from the mark */
        else
            pull_fail(ctx, st, "%s: query failed: %s", sc->sobject,
                      resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
        if (st == SFA_OK)
            st = check_next(ctx, sc, path, next, empty);
        sf_response_free(&resp);
        free(path);
        path = st == SFA_OK ? next : NULL; /* ownership of next moves to path */
        if (st != SFA_OK)
            free(next);
    }
    free(path);
    return st;
}

char *pull_query_path(const char *soql)
{
    char *enc = push_url_encode(soql);
    char *path = xasprintf("query?q=%s", enc);
    free(enc);
    return path;
}

/* Every record changed after the mark, restarting from the mark when a locator expires. */
static sfa_status pull_changes(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps)
{
    for (int restarts = 0;; restarts++) {
        char *soql = pull_soql(sc, ps->mark_modstamp, ps->mark_id, ctx->cut);
        if (!soql)
            return pull_fail(ctx, SFA_ECORRUPT, "%s: unreadable high-water mark '%s'", sc->sobject,
                             ps->mark_modstamp);
        bool expired = false;
        sfa_status st = store_pull_object_empty(ctx->agent, sc->sobject, &ctx->all_new);
        if (st != SFA_OK) {
            free(soql);
            return pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
        }
        st = pull_follow(ctx, sc, pull_query_path(soql), take_changes, &expired);
        free(soql);
        if (!expired)
            return st;
        if (restarts >= PULL_LOCATOR_RESTARTS)
            return pull_fail(ctx, SFA_ERETRY, "%s: query locator keeps expiring", sc->sobject);
        log_info("pull: %s: query locator expired; restarting from the mark", sc->sobject);
        store_pull_state_clear(ps);
        if ((st = store_pull_state_get(ps, ctx->agent, sc->sobject)) != SFA_OK)
            return pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    }
}

/* I4: (re)start the object when its scope is new or changed. */
static sfa_status check_scope(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps)
{
    if (ps->found && ps->scope_hash && strcmp(ps->scope_hash, sc->hash) == 0)
        return SFA_OK;
    /* The first pull sees only live records, so deletes before it do not matter; a
     * minute of slack covers clock skew with Salesforce (getDeleted is idempotent). */
    char since[32];
    time_format_sf(pull_server_now(ctx) - 60 * 1000, since);
    sfa_status st = store_pull_state_reset(ctx->agent, sc->sobject, sc->hash, since, ps->found);
    store_pull_state_clear(ps);
    if (st == SFA_OK)
        st = store_pull_state_get(ps, ctx->agent, sc->sobject);
    return st == SFA_OK ? SFA_OK : pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
}

static sfa_status pull_object(pull_ctx *ctx, const char *sobject)
{
    pull_scope sc = {0};
    store_pull_state ps = {0};
    settle_cut(ctx);
    sfa_status st = pull_scope_build(&sc, ctx, sobject);
    if (st == SFA_OK && (st = store_pull_state_get(&ps, ctx->agent, sobject)) != SFA_OK)
        pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    if (st == SFA_OK)
        st = check_scope(ctx, &sc, &ps);
    if (st == SFA_OK)
        st = pull_changes(ctx, &sc, &ps);
    if (st == SFA_OK) /* after the changes: see pull_left.c I2 */
        st = pull_left(ctx, &sc, &ps);
    if (st == SFA_OK)
        st = pull_deletes(ctx, &sc, &ps);
    if (st == SFA_OK && (st = store_pull_finished(ctx->agent, sobject, time_now_ms(), false)))
        pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    store_pull_state_clear(&ps);
    pull_scope_clear(&sc);
    return st;
}

/* Failures of one object (a bad where or field list, an object not visible) leave the
 * others to run; the link, the API limit, authentication and the local database stop
 * the pull. */
static bool object_scoped(sfa_status st)
{
    return st == SFA_ESERVER || st == SFA_EINVAL || st == SFA_ECONFIG;
}

sfa_status pull_run(pull_ctx *ctx)
{
    sfa_status first = SFA_OK;
    size_t n = sync_config_object_count(ctx->cfg);
    for (size_t i = 0; i < n; i++) {
        sfa_status st = pull_object(ctx, sync_config_object(ctx->cfg, i));
        if (st != SFA_OK && first == SFA_OK)
            first = st;
        if (st != SFA_OK && !object_scoped(st))
            break;
    }
    return first;
}

/* Debug and test builds check the pull state invariants after every pull. */
static void assert_pull_invariants(sfa_agent *agent)
{
#ifndef NDEBUG
    char *why = NULL;
    if (!store_pull_check_invariants(agent, &why)) {
        log_error("pull invariant broken: %s", why ? why : "?");
        assert(!"pull invariant broken");
    }
    free(why);
#else
    (void)agent;
#endif
}

/* A host clock far from Salesforce's is worth a word: the pull follows Salesforce's. */
static void note_clock_skew(const pull_ctx *ctx)
{
    int64_t off = 0;
    if (sf_client_server_clock_known(ctx->client, &off) && (off > 60000 || off < -60000))
        log_warn("pull: this host's clock is %lld s %s Salesforce's; the pull bounds its"
                 " queries by Salesforce's clock",
                 (long long)(off > 0 ? off : -off) / 1000, off > 0 ? "behind" : "ahead of");
}

sfa_status sync_pull_run(sfa_agent *agent, const sfa_config *cfg, sf_client *client, int batch,
                         double api_share, sfa_sync_report *report, char *msg, size_t msglen)
{
    pull_ctx ctx = {.agent = agent, .client = client, .cfg = cfg, .api_share = api_share};
    note_clock_skew(&ctx);
    sf_client_set_query_batch(client, batch > 0 ? batch : PULL_BATCH_DEFAULT);
    sfa_status st = pull_run(&ctx);
    sf_client_set_query_batch(client, 0); /* the client may be used for other requests */
    report->pulled += ctx.counts.pulled;
    report->updated += ctx.counts.updated;
    report->deleted += ctx.counts.deleted;
    snprintf(msg, msglen, "%s", ctx.msg);
    assert_pull_invariants(agent);
    return st;
}
