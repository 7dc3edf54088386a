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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/run.h"
#include "store/store.h"
#include "util/timeutil.h"
#include "sync/engine/push.h"

static const struct {
    sfa_pause_source source;
    const char *token;
} sources[] = {
    {SFA_PAUSE_OFFLINE, "offline"},
    {SFA_PAUSE_API_LIMIT, "api-limit"},
    {SFA_PAUSE_RETRY_AFTER, "retry-after"},
};

const char *push_pause_token(sfa_pause_source source)
{
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++)
        if (sources[i].source == source)
            return sources[i].token;
    return "";
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
        out->until_ms = until;
        const char *text = reason ? reason : "";
        out->source = SFA_PAUSE_OFFLINE; /* a row from before sources were kept (I2) */
        for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) {
            size_t n = strlen(sources[i].token);
            if (strncmp(text, sources[i].token, n) == 0 && strncmp(text + n, ": ", 2) == 0) {
                out->source = sources[i].source;
                text += n + 2;
                break;
            }
        }
        snprintf(out->reason, sizeof out->reason, "%s", text);
    }
    free(reason);
    return st;
}
