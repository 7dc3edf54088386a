/* Whether an offline pause still holds, asked of the reachability probe (pause.c I4). Kept
 * apart from pause.c, which only reads and writes the pause: whatever reads it (status, the
 * health snapshot) then does not pull the Salesforce client into a program that has none. */
#include <stdlib.h>

#include "store/health.h"
#include "sync/client/probe.h"
#include "sync/engine/push.h"
#include "util/log.h"

bool push_pause_holds(push_ctx *ctx, const char *reason)
{
    const char *text = NULL;
    if (push_pause_raw_source(reason, &text) != SFA_PAUSE_OFFLINE)
        return true; /* I4: limit, Retry-After, or something answered */
    char why[128];
    sfa_status st = push_probe_reach(ctx->agent, ctx->cfg, why, sizeof why); /* I4 */
    if (st == SFA_ENETWORK || st == SFA_ERROR)
        return true;
    /* Connected (or a certificate that fails verification, which the run then reports as
     * such instead of "backing off": it is not a link problem). */
    log_info("sync: Salesforce can be reached again; the offline pause is over");
    return false;
}

sfa_status push_probe_reach(sfa_agent *agent, const sfa_config *cfg, char *why, size_t whylen)
{
    char *instance = NULL;
    if (store_instance_url_get(agent, &instance) != SFA_OK) /* the login host will do */
        log_debug("probe: cannot read the recorded instance: %s", sfa_agent_errmsg(agent));
    sfa_status st = sync_probe_connect(cfg, instance, why, whylen);
    free(instance);
    return st;
}
