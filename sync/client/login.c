/* sfa_login_check(): one login with the configured flow, then one GET of the identity URL to
 * learn the user name (the identity service answers {"username","user_id",
 * "organization_id",...}). Used by `sfagent login` to check a setup.
 *
 * Invariants:
 *   I1. A failing identity lookup does not fail the login: the token was issued, which is
 *       what the command checks; the user name falls back to the configured one.
 *   I2. Messages come from the client (never secrets, sf_client.c I1).
 */
#include "sfagent/login.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "sync/client/sf_client.h"
#include "util/alloc.h"
#include "util/json.h"

static char *dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void ask_identity(sf_client *c, sfa_login_info *out)
{
    const char *id_url = sf_client_identity_url(c);
    if (!id_url)
        return;
    sf_response r;
    if (sf_client_request(c, "GET", id_url, NULL, &r) == SFA_OK && r.outcome == SF_ANSWERED &&
        r.status == 200) {
        const char *u = json_str(r.json, "username");
        if (u) {
            free(out->username);
            out->username = xstrdup(u);
        }
    }
    sf_response_free(&r); /* I1 */
}

sfa_status sfa_login_check(sfa_login_info *out, const sfa_config *cfg)
{
    if (!cfg || !out)
        return store_error_set(SFA_EINVAL, "sfa_login_check: out and cfg are required");
    memset(out, 0, sizeof *out);
    sf_client *c = NULL;
    char *err = NULL;
    sfa_status st = sf_client_new(&c, cfg, &err);
    if (st != SFA_OK) {
        store_error_set(st, "%s", err ? err : sfa_strerror(st));
        free(err);
        return st;
    }
    st = sf_client_login(c);
    if (st != SFA_OK) {
        store_error_set(st, "%s", sf_client_errmsg(c)); /* I2 */
        goto out;
    }
    out->instance_url = xstrdup(sf_client_instance_url(c));
    out->org_id = dup_opt(sf_client_org_id(c));
    out->user_id = dup_opt(sf_client_user_id(c));
    out->api_version = xstrdup(sf_client_api_version(c));
    out->username = dup_opt(sfa_config_get(cfg, "salesforce", "username"));
    ask_identity(c, out);
out:
    sf_client_free(c);
    return st;
}

void sfa_login_info_free(sfa_login_info *info)
{
    if (!info)
        return;
    free(info->instance_url);
    free(info->org_id);
    free(info->user_id);
    free(info->username);
    free(info->api_version);
    memset(info, 0, sizeof *info);
}
