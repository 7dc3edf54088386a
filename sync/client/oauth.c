/* OAuth 2.0 token endpoint: request bodies for the four flows sfagent supports and the
 * parsing of the answer (docs/salesforce.md#oauth).
 *
 * Invariants:
 *   I1. The form body holds secrets; it is built here, handed to the transport, wiped and
 *       freed by the caller, and never logged or copied into a message.
 *   I2. Login errors carry only the server's error and error_description (which never
 *       contain credentials) or a fixed text.
 *   I3. A token is usable only with both access_token and instance_url.
 */
#include "sync/client/sf_client_internal.h"

#include <stdlib.h>
#include <string.h>

#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/json.h"

void sf_token_clear(sf_token *t)
{
    char **fields[] = {&t->access_token, &t->instance_url, &t->id_url,       &t->org_id,
                       &t->user_id,      &t->issued_at,    &t->refresh_token};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *s = *fields[i];
        if (s) {
            volatile char *p = s; /* tokens: do not leave them in freed memory */
            while (*p)
                *p++ = '\0';
            free(s);
        }
        *fields[i] = NULL;
    }
}

static void add_field(strbuf *out, CURL *curl, const char *name, const char *value)
{
    char *esc = curl_easy_escape(curl, value ? value : "", 0);
    if (!esc)
        abort(); /* OOM policy  */
    if (out->len)
        strbuf_addc(out, '&');
    strbuf_adds(out, name);
    strbuf_addc(out, '=');
    strbuf_adds(out, esc);
    curl_free(esc);
}

static sfa_status need(const char *value, const char *key, const char *flow, char **errmsg)
{
    if (value && *value)
        return SFA_OK;
    *errmsg = xasprintf("salesforce.%s is required for auth = %s", key, flow);
    return SFA_ECONFIG;
}

static sfa_status form_password(strbuf *out, CURL *curl, const sfa_config *cfg, char **errmsg)
{
    const char *id = sfa_config_get(cfg, "salesforce", "client_id");
    const char *secret = sync_config_secret(cfg, SYNC_SECRET_CLIENT_SECRET);
    const char *user = sfa_config_get(cfg, "salesforce", "username");
    const char *pw = sync_config_secret(cfg, SYNC_SECRET_PASSWORD);
    const char *tok = sync_config_secret(cfg, SYNC_SECRET_SECURITY_TOKEN);
    sfa_status st = need(id, "client_id", "password", errmsg);
    if (st == SFA_OK)
        st = need(secret, "client_secret", "password", errmsg);
    if (st == SFA_OK)
        st = need(user, "username", "password", errmsg);
    if (st == SFA_OK)
        st = need(pw, "password", "password", errmsg);
    if (st != SFA_OK)
        return st;
    /* The security token is appended to the password (docs/salesforce.md#token-response). */
    strbuf full = STRBUF_INIT;
    strbuf_adds(&full, pw);
    if (tok)
        strbuf_adds(&full, tok);
    add_field(out, curl, "grant_type", "password");
    add_field(out, curl, "client_id", id);
    add_field(out, curl, "client_secret", secret);
    add_field(out, curl, "username", user);
    add_field(out, curl, "password", strbuf_str(&full));
    memset(full.buf, 0, full.len); /* I1 */
    strbuf_free(&full);
    return SFA_OK;
}

static sfa_status form_refresh(strbuf *out, CURL *curl, const sfa_config *cfg, const char *override,
                               char **errmsg)
{
    const char *id = sfa_config_get(cfg, "salesforce", "client_id");
    const char *secret = sync_config_secret(cfg, SYNC_SECRET_CLIENT_SECRET);
    const char *rt = override ? override : sync_config_secret(cfg, SYNC_SECRET_REFRESH_TOKEN);
    sfa_status st = need(id, "client_id", "refresh_token", errmsg);
    if (st == SFA_OK)
        st = need(rt, "refresh_token", "refresh_token", errmsg);
    if (st != SFA_OK)
        return st;
    add_field(out, curl, "grant_type", "refresh_token");
    add_field(out, curl, "refresh_token", rt);
    add_field(out, curl, "client_id", id);
    if (secret) /* optional unless the connected app demands it */
        add_field(out, curl, "client_secret", secret);
    return SFA_OK;
}

static sfa_status form_client_credentials(strbuf *out, CURL *curl, const sfa_config *cfg,
                                          char **errmsg)
{
    const char *id = sfa_config_get(cfg, "salesforce", "client_id");
    const char *secret = sync_config_secret(cfg, SYNC_SECRET_CLIENT_SECRET);
    sfa_status st = need(id, "client_id", "client_credentials", errmsg);
    if (st == SFA_OK)
        st = need(secret, "client_secret", "client_credentials", errmsg);
    if (st != SFA_OK)
        return st;
    add_field(out, curl, "grant_type", "client_credentials");
    add_field(out, curl, "client_id", id);
    add_field(out, curl, "client_secret", secret);
    return SFA_OK;
}

static sfa_status form_jwt(strbuf *out, CURL *curl, const sfa_config *cfg, int64_t now_s,
                           char **errmsg)
{
    const char *id = sfa_config_get(cfg, "salesforce", "client_id");
    const char *user = sfa_config_get(cfg, "salesforce", "username");
    const char *key = sfa_config_get(cfg, "salesforce", "private_key_file");
    sfa_status st = need(id, "client_id", "jwt", errmsg);
    if (st == SFA_OK)
        st = need(user, "username", "jwt", errmsg);
    if (st == SFA_OK)
        st = need(key, "private_key_file", "jwt", errmsg);
    if (st != SFA_OK)
        return st;
    char *aud = jwt_audience(sync_config_login_url(cfg));
    char *assertion = NULL;
    st = jwt_build_assertion(&assertion, id, user, aud, now_s, key, errmsg);
    free(aud);
    if (st != SFA_OK)
        return st;
    add_field(out, curl, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
    add_field(out, curl, "assertion", assertion);
    free(assertion);
    return SFA_OK;
}

sfa_status oauth_build_form(strbuf *out, CURL *curl, const sfa_config *cfg,
                            const char *refresh_override, int64_t now_s, char **errmsg)
{
    switch (sync_config_auth_flow(cfg)) {
    case SYNC_AUTH_PASSWORD:
        return form_password(out, curl, cfg, errmsg);
    case SYNC_AUTH_REFRESH_TOKEN:
        return form_refresh(out, curl, cfg, refresh_override, errmsg);
    case SYNC_AUTH_CLIENT_CREDENTIALS:
        return form_client_credentials(out, curl, cfg, errmsg);
    case SYNC_AUTH_JWT:
        return form_jwt(out, curl, cfg, now_s, errmsg);
    }
    *errmsg = xstrdup("unknown auth flow");
    return SFA_ECONFIG;
}

bool oauth_split_identity(const char *id_url, char **org_id, char **user_id)
{
    *org_id = NULL;
    *user_id = NULL;
    const char *p = id_url ? strstr(id_url, "/id/") : NULL;
    if (!p)
        return false;
    p += 4;
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))
        return false;
    *org_id = xstrndup(p, (size_t)(slash - p));
    *user_id = xstrdup(slash + 1);
    return true;
}

static char *dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* A token endpoint that is down, overloaded or answering garbage (a maintenance page, a
 * captive portal) is "try later", like an unreachable host: the run backs off instead of
 * failing (issue 8.13). Only an OAuth error on a 4xx is a refusal of the credentials. */
static bool token_try_later(long status)
{
    return status >= 500 || status == 408 || status == 429 || (status >= 200 && status < 300) ||
           status == 0;
}

sfa_status oauth_parse_token_response(sf_token *out, long status, const cJSON *json, char **errmsg)
{
    memset(out, 0, sizeof *out);
    const char *err = json_str(json, "error");
    if (status != 200 || err) {
        if (err) { /* I2 */
            const char *desc = json_str(json, "error_description");
            *errmsg = xasprintf("Salesforce login failed: %s: %s", err, desc ? desc : "");
            return token_try_later(status) ? SFA_ENETWORK : SFA_EAUTH;
        }
        *errmsg = xasprintf("Salesforce login failed: token endpoint answered HTTP %ld%s", status,
                            token_try_later(status) ? " (try later)" : "");
        return token_try_later(status) ? SFA_ENETWORK : SFA_EAUTH;
    }
    const char *at = json_str(json, "access_token");
    const char *iu = json_str(json, "instance_url");
    size_t iu_len = iu ? strlen(iu) : 0;
    while (iu_len > 0 && iu[iu_len - 1] == '/')
        iu_len--; /* "/" alone is as empty as "" once trailing slashes go (I3) */
    if (!at || !*at || iu_len == 0) { /* I3 */
        *errmsg = xstrdup("Salesforce login failed: token response lacks access_token or "
                          "instance_url (try later)");
        return SFA_ENETWORK;
    }
    out->access_token = xstrdup(at);
    out->instance_url = xstrndup(iu, iu_len);
    out->id_url = dup_opt(json_str(json, "id"));
    out->issued_at = dup_opt(json_str(json, "issued_at"));
    out->refresh_token = dup_opt(json_str(json, "refresh_token"));
    oauth_split_identity(out->id_url, &out->org_id, &out->user_id);
    return SFA_OK;
}
