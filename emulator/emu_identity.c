/* GET <base>/id/<orgId>/<userId>: the Identity URL the token response's "id" names (Salesforce
 * "Identity URLs"), authenticated with the access token, answering details of the one
 * emulated user so clients (sfagent login) can show who they are logged in as.
 *
 * Fields follow the documented response: id, asserted_user, user_id, organization_id,
 * username, nick_name, display_name, email, active, user_type, language, locale, utcOffset,
 * last_modified_date, urls. The API URLs hold the literal "{version}" unless the request
 * passes ?version=N (or "latest"), as documented. Error statuses and codes are the
 * documented ones (403 Missing_OAuth_Token / Bad_OAuth_Token / Wrong_Org, 404 Bad_Id);
 * their body format is not documented, so the emulator answers the code as plain text.
 * Not counted against the API limit: it is not a /services/data call. Lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LATEST_VERSION "62.0" /* the newest version /services/data lists (emu_rows.c) */

static void plain_error(emu_resp *resp, int status, const char *code)
{
    emu_resp_raw(resp, status, "text/plain;charset=UTF-8", xstrdup(code));
}

static const char *access_token(const emu_req *req)
{
    const char *h = emu_req_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    if (h && strncasecmp(h, "OAuth ", 6) == 0)
        return h + 6;
    return emu_req_arg(req, "oauth_token");
}

static void add_urls(emu *e, cJSON *o, const char *version)
{
    cJSON *u = cJSON_AddObjectToObject(o, "urls");
    static const char *const soap[][2] = {{"enterprise", "c"}, {"metadata", "m"}, {"partner", "u"}};
    for (size_t i = 0; i < sizeof soap / sizeof soap[0]; i++) {
        char *s =
            xasprintf("%s/services/Soap/%s/%s/%.15s", e->base_url, soap[i][1], version, e->org_id);
        cJSON_AddStringToObject(u, soap[i][0], s);
        free(s);
    }
    static const char *const rest[][2] = {{"rest", ""},
                                          {"sobjects", "sobjects/"},
                                          {"search", "search/"},
                                          {"query", "query/"},
                                          {"recent", "recent/"}};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        char *s = xasprintf("%s/services/data/v%s/%s", e->base_url, version, rest[i][1]);
        cJSON_AddStringToObject(u, rest[i][0], s);
        free(s);
    }
    char *profile = xasprintf("%s/%.15s", e->base_url, e->user_id);
    cJSON_AddStringToObject(u, "profile", profile);
    free(profile);
}

static cJSON *identity(emu *e, const char *version)
{
    cJSON *o = cJSON_CreateObject();
    char *id = xasprintf("%s/id/%s/%s", e->base_url, e->org_id, e->user_id);
    cJSON_AddStringToObject(o, "id", id);
    free(id);
    cJSON_AddBoolToObject(o, "asserted_user", true);
    cJSON_AddStringToObject(o, "user_id", e->user_id);
    cJSON_AddStringToObject(o, "organization_id", e->org_id);
    const char *user = e->username ? e->username : "";
    cJSON_AddStringToObject(o, "username", user);
    const char *at = strchr(user, '@');
    char *nick = at ? xstrndup(user, (size_t)(at - user)) : xstrdup(user);
    cJSON_AddStringToObject(o, "nick_name", nick);
    free(nick);
    cJSON_AddStringToObject(o, "display_name", "Emulator User");
    cJSON_AddStringToObject(o, "email", user);
    cJSON_AddBoolToObject(o, "active", true);
    cJSON_AddStringToObject(o, "user_type", "STANDARD");
    cJSON_AddStringToObject(o, "language", "en_US");
    cJSON_AddStringToObject(o, "locale", "en_US");
    cJSON_AddNumberToObject(o, "utcOffset", 0); /* GMT, in milliseconds */
    char when[32];
    time_format_sf(emu_whole_second(e->started_ms), when);
    cJSON_AddStringToObject(o, "last_modified_date", when);
    add_urls(e, o, version);
    return o;
}

void emu_handle_identity(emu_req *req, emu_resp *resp)
{
    emu *e = req->emu;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        plain_error(resp, 405, "Method_Not_Allowed");
        return;
    }
    const char *token = access_token(req);
    if (!token || !*token) {
        plain_error(resp, 403, "Missing_OAuth_Token");
        return;
    }
    if (!emu_token_is_valid(e, token)) {
        plain_error(resp, 403, "Bad_OAuth_Token");
        return;
    }
    /* req->path is "/id/<org>/<user>"; Ids compare on their case-sensitive first 15. */
    const char *org = req->path + 4, *slash = strchr(org, '/');
    const char *user = slash ? slash + 1 : "";
    size_t olen = slash ? (size_t)(slash - org) : 0, ulen = strlen(user);
    if ((olen != 15 && olen != 18) || (ulen != 15 && ulen != 18) ||
        strncmp(user, e->user_id, 15) != 0) {
        plain_error(resp, 404, "Bad_Id");
        return;
    }
    if (strncmp(org, e->org_id, 15) != 0) {
        plain_error(resp, 403, "Wrong_Org");
        return;
    }
    const char *v = emu_req_arg(req, "version");
    const char *version = !v || !*v ? "{version}" : strcmp(v, "latest") == 0 ? LATEST_VERSION : v;
    emu_resp_json(resp, 200, identity(e, version));
}
