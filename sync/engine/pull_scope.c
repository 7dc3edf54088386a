/* What the pull caches of one sObject: its fields and the SOQL condition that scopes it
 * ([pull.<Object>] fields / where; docs/sync-protocol.md#pull, "Scope").
 *
 * Invariants:
 *   I1. The select list always holds Id and SystemModstamp (the mark), CaseNumber for a
 *       Case (the mirror's identity column) and the idempotency field when the object
 *       has it (a record created by this agent is matched by key, store/mirror.c M1).
 *   I2. Every field name in the select list is a checked API name; the where text is the
 *       operator's own SOQL, sent as written inside parentheses (never built from data).
 *   I3. The default leaves out long text areas (textarea longer than 255: Long and Rich
 *       Text Areas hold up to 131,072 characters each and would dominate the mirror's
 *       size and the page transfer; they cannot be filtered or sorted on either), base64
 *       (only retrievable one record at a time) and compound address/location fields
 *       (their components are fields of their own).
 *   I4. A configured field must be one the object's describe lists (describe lists only
 *       the fields this user may see): Salesforce would refuse the whole query with
 *       INVALID_FIELD, so the object is refused before any query, naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/describe.h"
#include "sync/client/config_internal.h"
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/names.h"
#include "util/sfdescribe.h"
#include "util/strbuf.h"

void pull_scope_clear(pull_scope *s)
{
    free(s->sobject);
    free(s->select);
    free(s->where);
    free(s->key_field);
    memset(s, 0, sizeof *s);
}

/* I3 */
static bool default_field(const cJSON *f)
{
    const char *type = json_str(f, "type");
    if (!type || json_bool(f, "deprecatedAndHidden", false))
        return false;
    if (strcmp(type, "base64") == 0 || strcmp(type, "address") == 0 ||
        strcmp(type, "location") == 0)
        return false;
    return !(strcmp(type, "textarea") == 0 && json_num(f, "length", 0) > 255);
}

static bool listed(const strbuf *sb, const char *name)
{
    /* The list is ", "-separated names; compare whole names, ignoring case. */
    const char *p = strbuf_str(sb);
    size_t n = strlen(name);
    while (p && *p) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return true;
        p = end ? end + 2 : NULL;
    }
    return false;
}

static void add_field(strbuf *sb, const char *name)
{
    if (listed(sb, name))
        return;
    if (strbuf_str(sb)[0])
        strbuf_adds(sb, ", ");
    strbuf_adds(sb, name);
}

char *pull_scope_default_fields(const cJSON *describe)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(describe, "fields");
    for (const cJSON *f = cJSON_IsArray(fields) ? fields->child : NULL; f; f = f->next) {
        const char *name = json_str(f, "name");
        if (name && name_is_valid_api_name(name) && default_field(f))
            add_field(&sb, name);
    }
    return strbuf_detach(&sb);
}

/* Configured "a, b,c" into sb, each as describe spells it; false (with the bad name in
 * *bad, *unknown when it is a name describe does not list) on a name that is not an
 * API name or not a field of the object (I2, I4). */
static bool configured_fields(strbuf *sb, const char *list, const cJSON *describe, char bad[64],
                              bool *unknown)
{
    char *copy = xstrdup(list);
    bool ok = true;
    for (char *p = copy, *end; ok && p; p = end) {
        end = strchr(p, ',');
        if (end)
            *end++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            p[--n] = '\0';
        if (!*p)
            continue;
        const cJSON *f = name_is_valid_api_name(p) ? sf_describe_field(describe, p) : NULL;
        const char *name = f ? json_str(f, "name") : NULL;
        ok = name != NULL;
        *unknown = !ok && name_is_valid_api_name(p);
        if (ok)
            add_field(sb, name);
        else
            snprintf(bad, 64, "%s", p);
    }
    free(copy);
    return ok;
}

/* The cached describe, fetched (one call) and cached when missing. */
static sfa_status describe_of(cJSON **out, pull_ctx *ctx, const char *sobject)
{
    sfa_status st = store_describe_get(out, ctx->agent, sobject);
    if (st != SFA_OK || *out)
        return st == SFA_OK ? SFA_OK : pull_fail(ctx, st, "%s", sfa_agent_errmsg(ctx->agent));
    char *path = xasprintf("sobjects/%s/describe", sobject);
    sf_response resp;
    st = pull_get(ctx, path, &resp);
    free(path);
    if (st == SFA_OK && (st = store_describe_put(ctx->agent, sobject, resp.json)) == SFA_OK) {
        *out = resp.json; /* ownership moves to the caller */
        resp.json = NULL;
    } else if (st != SFA_OK) {
        pull_fail(ctx, st, "%s: describe failed: %s", sobject,
                  resp.error_message ? resp.error_message : sf_client_errmsg(ctx->client));
    }
    sf_response_free(&resp);
    return st;
}

/* FNV-1a 64 of the select list and where: the mark is only valid under the same scope. */
static void scope_hash(pull_scope *sc)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[3] = {sc->select, "\n", sc->where ? sc->where : ""};
    for (int i = 0; i < 3; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
    snprintf(sc->hash, sizeof sc->hash, "%016llx", (unsigned long long)h);
}

static void add_identity(strbuf *sb, const pull_scope *sc, const cJSON *describe)
{
    /* I1; prepended so the select list starts with the identity columns. */
    strbuf id = STRBUF_INIT;
    strbuf_adds(&id, "");
    add_field(&id, "Id");
    add_field(&id, "SystemModstamp");
    if (strcmp(sc->sobject, "Case") == 0 && sf_describe_field(describe, "CaseNumber"))
        add_field(&id, "CaseNumber");
    if (sc->key_field)
        add_field(&id, sc->key_field);
    const char *rest = strbuf_str(sb);
    for (const char *p = rest; p && *p;) {
        const char *end = strstr(p, ", ");
        char *name = xstrndup(p, end ? (size_t)(end - p) : strlen(p));
        add_field(&id, name);
        free(name);
        p = end ? end + 2 : NULL;
    }
    strbuf_free(sb);
    *sb = id;
}

sfa_status pull_scope_build(pull_scope *out, pull_ctx *ctx, const char *sobject)
{
    memset(out, 0, sizeof *out);
    out->sobject = xstrdup(sobject);
    cJSON *describe = NULL;
    sfa_status st = describe_of(&describe, ctx, sobject);
    if (st != SFA_OK)
        return st;
    const char *key = sync_config_idempotency_field(ctx->cfg);
    if (key && *key && sf_describe_field(describe, key))
        out->key_field = xstrdup(json_str(sf_describe_field(describe, key), "name"));
    const char *list = sync_config_pull_fields(ctx->cfg, sobject);
    strbuf sb = STRBUF_INIT;
    char bad[64] = "";
    bool unknown = false;
    if (!list) {
        char *d = pull_scope_default_fields(describe);
        strbuf_adds(&sb, d);
        free(d);
    } else if (!configured_fields(&sb, list, describe, bad, &unknown)) {
        st = pull_fail(ctx, SFA_ECONFIG, "[pull.%s] fields: '%s' is not %s", sobject, bad,
                       unknown ? "a field of the object (its describe does not list it)"
                               : "a field name");
    }
    add_identity(&sb, out, describe);
    out->select = strbuf_detach(&sb);
    const char *where = sync_config_pull_where(ctx->cfg, sobject);
    out->where = where ? xstrdup(where) : NULL;
    scope_hash(out);
    cJSON_Delete(describe);
    return st;
}
