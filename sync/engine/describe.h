/* Fetching describe global and sObject describes into the describe cache, revalidating
 * with If-Modified-Since (sync/engine/describe.c). */
#ifndef SFA_SYNC_ENGINE_DESCRIBE_H
#define SFA_SYNC_ENGINE_DESCRIBE_H

#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/describe.h"
#include "sync/client/sf_client.h"

/* Fetch the describe of sobject (NULL: describe global) with client c unless the cached
 * one is younger than max_age_ms (< 0: always ask; a cached one is still revalidated with
 * If-Modified-Since). *out (may be NULL) says what happened. */
sfa_status sync_describe_fetch(sfa_describe_fetch *out, sfa_agent *a, sf_client *c,
                               const char *sobject, int64_t max_age_ms);

/* For sync: refresh describe global and the describe of each configured object
 * ([sync] objects) whose cached copy is older than [sync] describe_max_age; never more.
 * Stops at the first failure and returns it (SFA_ENETWORK offline, ...); what was
 * refreshed before stays cached. */
sfa_status sync_describe_refresh_stale(sfa_agent *a, sf_client *c, const sfa_config *cfg);

#endif
