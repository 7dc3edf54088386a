/* Records that leave the `where` scope leave the mirror at the next incremental pull
 * (docs/sync-protocol.md#pull, "Leaving the scope").
 *
 * The incremental query only sees records that match the where, so a Case closed in
 * Salesforce under `where = Status != 'Closed'` would stay cached as open. After the
 * changes, each pull of an object with a where also asks
 *
 *   SELECT Id, SystemModstamp FROM X WHERE (NOT (<where>)) AND <after the leaving mark>
 *   ORDER BY SystemModstamp, Id
 *
 * (SOQL's logical NOT: true when its condition is false), page by page, and removes those
 * records unless they have open ops.
 *
 * Invariants:
 *   I1. The leaving mark moves only with the removal of the page it ends (store/pull.c
 *       I4), so a crash anywhere repeats at most one page of idempotent removals and never
 *       skips a record.
 *   I2. It runs after the changes of the same pull: a record that left and came back
 *       before this query matches the where again and is not listed; one that came back
 *       after it is newer than the changes' mark and comes with the next pull's changes.
 *   I3. Only a modification moves SystemModstamp: a record that leaves a relative-date
 *       scope (LAST_N_DAYS) by the passing of time alone is not listed here; it leaves
 *       at the next full Id reconciliation (pull_deletes.c).
 *   I4. Nothing with an open op is removed (store/mirror.c M6).
 */
#include <stdlib.h>
#include <string.h>

#include "soql/soql.h"
#include "sync/engine/pull.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

char *pull_left_soql(const pull_scope *sc, const char *stamp, const char *id, const char *cut)
{
    char when[40];
    if (!sc->where || !stamp || !pull_soql_datetime(stamp, when))
        return NULL;
    strbuf sb = STRBUF_INIT;
    /* SOQL wants parentheses whenever AND, OR and NOT mix. */
    strbuf_addf(&sb, "SELECT Id, SystemModstamp FROM %s WHERE (NOT (%s)) AND ", sc->sobject,
                sc->where);
    if (id) {
        char *q = soql_quote(id);
        strbuf_addf(&sb, "(SystemModstamp > %s OR (SystemModstamp = %s AND Id > %s))", when, when,
                    q);
        free(q);
    } else {
        strbuf_addf(&sb, "SystemModstamp >= %s", when);
    }
    if (cut && *cut) /* the same settle bound as the changes (pull.c I5) */
        strbuf_addf(&sb, " AND SystemModstamp < %s", cut);
    strbuf_adds(&sb, " ORDER BY SystemModstamp, Id");
    return strbuf_detach(&sb);
}

static sfa_status take_left(pull_ctx *ctx, const pull_scope *sc, const pull_page *page)
{
    if (pull_check_bound(ctx, sc, page) != SFA_OK) /* pull.c I7, for the leaving mark */
        return ctx->st;
    sfa_status st =
        store_pull_left(ctx->agent, sc->sobject, page->records, page->n, &ctx->counts); /* I1 */
    if (st != SFA_OK)
        return pull_fail(ctx, st, "%s: could not remove records that left the scope: %s",
                         sc->sobject, sfa_agent_errmsg(ctx->agent));
    return SFA_OK;
}

/* An object with no leaving mark yet starts following from now (minus a minute of
 * slack for clock skew): what left before is the owed reconciliation's to remove. */
static sfa_status start_mark(pull_ctx *ctx, const pull_scope *sc)
{
    char since[32];
    time_format_sf(pull_server_now(ctx) - 60 * 1000, since);
    sfa_status st = store_pull_left_start(ctx->agent, sc->sobject, since);
    return st == SFA_OK ? SFA_OK : pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
}

sfa_status pull_left(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps)
{
    if (!sc->where)
        return SFA_OK; /* every record is in scope: none can leave it */
    if (!ps->left_modstamp)
        return start_mark(ctx, sc);
    for (int restarts = 0;; restarts++) {
        char *soql = pull_left_soql(sc, ps->left_modstamp, ps->left_id, ctx->cut);
        if (!soql)
            return pull_fail(ctx, SFA_ECORRUPT, "%s: unreadable leaving mark '%s'", sc->sobject,
                             ps->left_modstamp);
        bool expired = false;
        sfa_status st = pull_follow(ctx, sc, pull_query_path(soql), take_left, &expired);
        free(soql);
        if (!expired)
            return st;
        if (restarts >= PULL_LOCATOR_RESTARTS)
            return pull_fail(ctx, SFA_ERETRY, "%s: query locator keeps expiring", sc->sobject);
        log_info("pull: %s: query locator expired; restarting from the leaving mark", sc->sobject);
        store_pull_state_clear(ps);
        if ((st = store_pull_state_get(ps, ctx->agent, sc->sobject)) != SFA_OK)
            return pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    }
}
