/* A caller asking a run to stop (sfa_sync_options.cancel): `sfagent run` on SIGTERM.
 *
 * Invariants:
 *   I1. A cancel ends the run between batches (push.c I5): no batch is claimed after it,
 *       so a cancel never leaves a claimed op unsent.
 *   I2. A request already in flight gets SFA_SYNC_CANCEL_GRACE_MS to finish; after that it
 *       is abandoned. Its ops stay inflight (an unknown outcome), exactly as after a lost
 *       answer, and the next run resolves them by key before anything else of their
 *       records is sent (store/op_sync.c I1, sync/engine/reconcile.c).
 */
#include <stdio.h>

#include "sync/engine/push.h"
#include "util/log.h"
#include "util/timeutil.h"

bool push_cancelled(push_ctx *ctx)
{
    if (ctx->cancelled_at_ms)
        return true;
    const sfa_sync_options *o = ctx->opts;
    if (o->version < 4 || !o->cancel || !o->cancel(o->cancel_ctx))
        return false;
    ctx->cancelled_at_ms = time_now_ms();
    if (!ctx->report->message[0])
        snprintf(ctx->report->message, sizeof ctx->report->message,
                 "asked to stop: stopped between batches; the rest goes with the next run");
    log_info("sync: %s", ctx->report->message);
    return true;
}

/* Called by libcurl about once a second during a transfer (sf_client_set_abort). */
static bool abandon_in_flight(void *vctx)
{
    push_ctx *ctx = vctx;
    if (!push_cancelled(ctx))
        return false;
    return time_now_ms() - ctx->cancelled_at_ms >= SFA_SYNC_CANCEL_GRACE_MS; /* I2 */
}

void push_watch_cancel(push_ctx *ctx)
{
    if (ctx->client && ctx->opts->version >= 4 && ctx->opts->cancel)
        sf_client_set_abort(ctx->client, abandon_in_flight, ctx);
}
