/* The run-level pause as the engine sets it and as sfa_sync_pause_get() reports it: where
 * it came from and how long it may last (docs/sync-protocol.md#run-level-pause).
 *
 * Invariants:
 *   I1. No pause the engine sets lasts longer than push_pause_cap_ms(): a Retry-After is
 *       capped at backoff_cap, offline backoff is at most backoff_cap, an API-limit pause
 *       is PUSH_LIMIT_PAUSE_MS. A header of 999999999 s or a date in 2099 cannot stop the
 *       agent for years while every scheduled run exits 75.
 *   I2. The source is stored as the reason's first word ("offline: ..."), so the pause
 *       row needs no schema change and reads the same to a person looking at it.
 *   I3. By I1, a pause or an op's next attempt further ahead than its cap was not set under
 *       this clock (it was ahead, then put right): the run treats it as due instead of
 *       waiting years for it (store/lease.c I4).
 *   I4. An offline pause is not waited out: it only says the last run could not connect.
 *       A run that finds one tries the reachability probe (a TCP + TLS connect, no HTTP
 *       request, no API call: sync/client/probe.c) and goes ahead when it connects, so a
 *       timer firing right after the link returns syncs at once instead of up to the
 *       backoff cap later. Limit and Retry-After pauses hold: Salesforce asked for them.
 *       So does an offline pause left by an answer that was not Salesforce's (a token
 *       endpoint's 503, a captive portal): the probe would connect to the very thing that
 *       answered, so it proves nothing. Such a pause is stored as "unavailable" and read
 *       back as SFA_PAUSE_OFFLINE (I2), with that token kept in the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/run.h"
#include "store/store.h"
#include "sync/engine/push.h"
#include "util/log.h"
#include "util/timeutil.h"

static const struct {
    sfa_pause_source source;
    const char *token;
} sources[] = {
    {SFA_PAUSE_OFFLINE, "offline"},
    {SFA_PAUSE_API_LIMIT, "api-limit"},
    {SFA_PAUSE_RETRY_AFTER, "retry-after"},
    {PUSH_PAUSE_UNAVAILABLE, "unavailable"},
};

const char *push_pause_token(sfa_pause_source source)
{
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++)
        if (sources[i].source == source)
            return sources[i].token;
    return "";
}

/* The source a stored reason names (I2), and *text after its "<token>: " prefix. */
sfa_pause_source push_pause_raw_source(const char *reason, const char **text)
{
    *text = reason ? reason : "";
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) {
        size_t n = strlen(sources[i].token);
        if (strncmp(*text, sources[i].token, n) == 0 && strncmp(*text + n, ": ", 2) == 0) {
            *text += n + 2;
            return sources[i].source;
        }
    }
    return SFA_PAUSE_OFFLINE; /* a row from before sources were kept (I2) */
}

/* As the public API reports it: "unavailable" is an offline pause (sync.h). */
static sfa_pause_source source_of(const char *reason, const char **text)
{
    sfa_pause_source s = push_pause_raw_source(reason, text);
    return s == PUSH_PAUSE_UNAVAILABLE ? SFA_PAUSE_OFFLINE : s;
}

sfa_status push_pause_set_since(sfa_sync_pause *out, sfa_agent *agent, int64_t since_ms)
{
    memset(out, 0, sizeof *out);
    int64_t until = 0;
    char *reason = NULL;
    sfa_status st = store_pause_get(agent, &until, &reason, NULL);
    if (st == SFA_OK && until >= since_ms && until > 0) {
        out->until_ms = until;
        /* Keep the stored word in the reason: push_pause_probe_ends() reads it. */
        const char *text = NULL;
        out->source = source_of(reason, &text);
        snprintf(out->reason, sizeof out->reason, "%s", reason ? reason : "");
    }
    free(reason);
    return st;
}

bool push_pause_probe_ends(const sfa_sync_pause *p)
{
    const char *text = NULL;
    return p->source == SFA_PAUSE_OFFLINE &&
           push_pause_raw_source(p->reason, &text) == SFA_PAUSE_OFFLINE;
}

int64_t push_retry_after_ms(const push_ctx *ctx, const sf_response *resp)
{
    if (resp->retry_after_s <= 0)
        return 0;
    int64_t ms = (int64_t)resp->retry_after_s * 1000;
    return ms < ctx->backoff_cap_ms ? ms : ctx->backoff_cap_ms; /* I1 */
}

int64_t push_pause_cap_ms(const push_ctx *ctx)
{
    return ctx->backoff_cap_ms > PUSH_LIMIT_PAUSE_MS ? ctx->backoff_cap_ms : PUSH_LIMIT_PAUSE_MS;
}

int64_t push_backoff_horizon_ms(const push_ctx *ctx)
{
    /* An op waits at most: its backoff (<= backoff_cap), a Retry-After (capped at
     * backoff_cap, I1), or the settle time after a lost answer. */
    return ctx->backoff_cap_ms > ctx->settle_ms ? ctx->backoff_cap_ms : ctx->settle_ms;
}

sfa_status sfa_sync_pause_get(sfa_sync_pause *out, sfa_agent *agent)
{
    if (!out)
        return SFA_EINVAL;
    memset(out, 0, sizeof *out);
    if (!agent)
        return SFA_EINVAL;
    int64_t until = 0;
    char *reason = NULL;
    sfa_status st = store_pause_get(agent, &until, &reason, NULL);
    if (st == SFA_OK && until > time_now_ms()) {
        const char *text = NULL;
        out->until_ms = until;
        out->source = source_of(reason, &text);
        snprintf(out->reason, sizeof out->reason, "%s", text);
    }
    free(reason);
    return st;
}
