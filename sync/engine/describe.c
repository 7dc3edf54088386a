/* Describe fetching (docs/salesforce.md#describe): GET /sobjects/ (describe global) and
 * GET /sobjects/<Object>/describe/, cached in describe_cache (store/describe.c). A cached
 * describe is revalidated with If-Modified-Since, so refreshing an unchanged one costs a
 * 304 with no body.
 *
 * Invariants:
 * E1. The cache changes only on a 200 with a JSON object (replaced) or a 304 (its
 *     fetched_at moves to now, D1 of store/describe.c); any other answer leaves it as it
 *     was, so an offline agent keeps validating against the last good describe.
 * E2. A describe younger than the caller's max age is not requested at all: sync asks at
 *     most once per describe_max_age per object. */
#include "sync/engine/describe.h"

#include <stdlib.h>
#include <string.h>

#include "store/describe.h"
#include "store/store.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/names.h"
#include "util/timeutil.h"

/* Status of a describe request that did not answer 200 or 304. */
static sfa_status answer_status(sfa_status rc, const sf_response *resp)
{
    if (rc != SFA_OK)
        return rc;
    if (resp->outcome != SF_ANSWERED)
        return SFA_ENETWORK;
    if (resp->status == 401)
        return SFA_EAUTH;
    if (resp->status == 404)
        return SFA_ENOTFOUND;
    if (resp->status == 403 && resp->error_code &&
        strcmp(resp->error_code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return SFA_ELIMIT;
    if (resp->status >= 500)
        return SFA_ENETWORK; /* try later */
    return SFA_ESERVER;
}

sfa_status sync_describe_fetch(sfa_describe_fetch *out, sfa_agent *a, sf_client *c,
                               const char *sobject, int64_t max_age_ms)
{
    const char *key = sobject ? sobject : STORE_DESCRIBE_GLOBAL;
    char *path = NULL;
    sf_response resp = {0};
    int64_t fetched_at = 0;
    if (out)
        *out = SFA_DESCRIBE_FRESH;
    if (sobject && !name_is_valid_api_name(sobject))
        return store_fail(a, SFA_EINVAL, "'%s' is not a valid sObject name", sobject);
    sfa_status st = store_describe_fetched_at(&fetched_at, a, key);
    if (st != SFA_OK)
        return st;
    if (fetched_at > 0 && max_age_ms >= 0 && time_now_ms() - fetched_at < max_age_ms)
        return SFA_OK; /* E2 */
    path = sobject ? xasprintf("sobjects/%s/describe", sobject) : xstrdup("sobjects");
    st = fetched_at > 0 ? sf_client_get_if_modified(c, path, fetched_at, &resp)
                        : sf_client_request(c, "GET", path, NULL, &resp);
    if (st == SFA_OK && resp.outcome == SF_ANSWERED && resp.status == 304 && fetched_at > 0) {
        st = store_describe_touch(a, key); /* E1 */
        if (st == SFA_OK && out)
            *out = SFA_DESCRIBE_NOT_MODIFIED;
    } else if (st == SFA_OK && resp.outcome == SF_ANSWERED && resp.status == 200 &&
               cJSON_IsObject(resp.json)) {
        st = store_describe_put(a, key, resp.json); /* E1 */
        if (st == SFA_OK && out)
            *out = SFA_DESCRIBE_FETCHED;
    } else {
        sfa_status why = answer_status(st, &resp);
        if (why == SFA_OK)
            why = SFA_ESERVER; /* 200 without a JSON object */
        if (why == SFA_ENOTFOUND)
            st = store_fail(a, why, "Salesforce has no sObject '%s' (or the user cannot see it)",
                            sobject ? sobject : "?");
        else
            st = store_fail(a, why, "describe %s: %s", sobject ? sobject : "global",
                            resp.error_message ? resp.error_message : sf_client_errmsg(c));
    }
    sf_response_free(&resp);
    free(path);
    return st;
}

sfa_status sync_describe_refresh_stale(sfa_agent *a, sf_client *c, const sfa_config *cfg)
{
    int64_t max_age = (int64_t)sync_config_describe_max_age(cfg) * 1000;
    sfa_status st = sync_describe_fetch(NULL, a, c, NULL, max_age);
    for (size_t i = 0; st == SFA_OK && i < sync_config_object_count(cfg); i++)
        st = sync_describe_fetch(NULL, a, c, sync_config_object(cfg, i), max_age);
    return st;
}

sfa_status sfa_describe_refresh(sfa_describe_fetch *out, sfa_agent *agent, const sfa_config *cfg,
                                const char *sobject, bool force, int64_t max_age_ms)
{
    if (out)
        *out = SFA_DESCRIBE_FRESH;
    if (!agent || !cfg)
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_describe_refresh: cfg is required")
                     : store_error_set(SFA_EINVAL, "sfa_describe_refresh: agent is required");
    if (max_age_ms < 0)
        max_age_ms = (int64_t)sync_config_describe_max_age(cfg) * 1000;
    sf_client *c = NULL;
    char *err = NULL;
    sfa_status st = sf_client_new(&c, cfg, &err);
    if (st != SFA_OK) {
        st = store_fail(agent, st == SFA_EINVAL ? SFA_ECONFIG : st, "%s",
                        err ? err : "cannot build the Salesforce client");
        free(err);
        return st;
    }
    st = sync_describe_fetch(out, agent, c, sobject, force ? -1 : max_age_ms);
    sf_client_free(c);
    return st;
}
