/* The REST resources of the core: versions list, resources root, limits, describe
 * global / sObject describe / sObject basic info, sObject rows (create, retrieve, update,
 * delete) with conditional requests, and rows by external ID (upsert). Shapes, statuses
 * and error texts follow docs/salesforce.md (api-versions, sobject-rows, errors,
 * conditional-requests, describe, api-limits). All run with the lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_SEGS 4

/* ---- small resources ---- */

void emu_handle_versions(emu *e, emu_resp *resp)
{
    (void)e;
    static const char *const season[] = {"Winter", "Spring", "Summer"};
    cJSON *arr = cJSON_CreateArray();
    /* v20.0 was Winter '11 and a release comes every season (docs/salesforce.md#api-versions). */
    for (int v = EMU_API_VERSION_MIN; v <= EMU_API_VERSION_MAX; v++) {
        int k = v - 20;
        char label[32], url[40], ver[8];
        snprintf(label, sizeof label, "%s '%02d", season[k % 3], 11 + k / 3);
        snprintf(url, sizeof url, "/services/data/v%d.0", v);
        snprintf(ver, sizeof ver, "%d.0", v);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", label);
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddStringToObject(o, "version", ver);
        cJSON_AddItemToArray(arr, o);
    }
    emu_resp_json(resp, 200, arr);
}

static void add_url(cJSON *o, const emu_req *req, const char *key, const char *tail)
{
    char *u = xasprintf("/services/data/v%.1f/%s", req->api_version, tail);
    cJSON_AddStringToObject(o, key, u);
    free(u);
}

void emu_handle_resources(emu_req *req, emu_resp *resp)
{
    cJSON *o = cJSON_CreateObject();
    add_url(o, req, "sobjects", "sobjects");
    add_url(o, req, "query", "query");
    add_url(o, req, "queryAll", "queryAll");
    add_url(o, req, "limits", "limits");
    add_url(o, req, "composite", "composite");
    add_url(o, req, "jobs", "jobs");
    emu_resp_json(resp, 200, o);
}

static void add_limit(cJSON *o, const char *name, long max, long remaining)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "Max", (double)max);
    cJSON_AddNumberToObject(l, "Remaining", (double)remaining);
    cJSON_AddItemToObject(o, name, l);
}

void emu_handle_limits(emu_req *req, emu_resp *resp)
{
    emu *e = req->emu;
    long remaining = e->api_limit > e->api_usage ? e->api_limit - e->api_usage : 0;
    cJSON *o = cJSON_CreateObject();
    add_limit(o, "DailyApiRequests", e->api_limit, remaining);
    add_limit(o, "DailyBulkApiBatches", 15000, 15000);
    add_limit(o, "DailyBulkV2QueryFileStorageMB", 976562, 976562);
    add_limit(o, "DailyBulkV2QueryJobs", 10000, 10000);
    add_limit(o, "DataStorageMB", 5, 5);
    add_limit(o, "FileStorageMB", 20, 20);
    emu_resp_json(resp, 200, o);
}

/* ---- conditional requests (docs/salesforce.md#conditional-requests) ---- */

/* RFC 1123 "Tue, 10 Aug 2015 00:00:00 GMT" to seconds; false if malformed. */
static bool parse_http_date(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    if (!end || *end)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static int64_t last_modified_s(const cJSON *stored)
{
    int64_t ms = 0;
    const char *s = json_str(stored, "LastModifiedDate");
    return s && time_parse_sf(s, &ms) ? ms / 1000 : 0;
}

/* Quoted strong ETag over the record's content (Account only): every stored field, Id
 * included, in describe order (S2 of emu_store.c). Not over SystemModstamp alone: two edits
 * in one second share it (audit dates are whole seconds), yet the second must make the
 * first one's ETag stale. */
static void make_etag(const cJSON *stored, char out[64])
{
    char *in = json_print(stored);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)in, strlen(in), md);
    free(in);
    unsigned char b64[32]; /* 20 bytes -> 28 base64 chars + NUL */
    EVP_EncodeBlock(b64, md, SHA_DIGEST_LENGTH);
    snprintf(out, 64, "\"%.28s\"", (const char *)b64);
}

static bool etag_listed(const char *header, const char *etag)
{
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if ((m == 1 && *p == '*') || (m == strlen(etag) && strncmp(p, etag, m) == 0))
            return true;
        p += n;
    }
    return false;
}

/* 0 to proceed, else the status to answer with (304/412/400). */
static int check_conditions(const emu_req *req, const emu_object *obj, const cJSON *stored)
{
    bool read = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    int64_t lm = last_modified_s(stored), t = 0;
    const char *ims = emu_req_header(req, "If-Modified-Since");
    const char *ius = emu_req_header(req, "If-Unmodified-Since");
    if (ius) {
        if (!parse_http_date(ius, &t))
            return read ? 0 : 400;
        if (lm > t)
            return 412;
    }
    if (ims && read && parse_http_date(ims, &t) && lm <= t)
        return 304;
    if (strcmp(obj->name, "Account") != 0)
        return 0; /* ETags only for Account */
    char etag[64];
    make_etag(stored, etag);
    const char *im = emu_req_header(req, "If-Match");
    const char *inm = emu_req_header(req, "If-None-Match");
    if (im && !etag_listed(im, etag))
        return 412;
    if (inm && etag_listed(inm, etag))
        return read ? 304 : 412;
    return 0;
}

static void condition_response(emu_resp *resp, int status)
{
    if (status == 304)
        emu_resp_json(resp, 304, NULL);
    else if (status == 412)
        emu_resp_error(resp, 412, "PRECONDITION_FAILED", "The requested resource has been modified",
                       NULL);
    else
        emu_resp_error(resp, 400, "INVALID_HEADER_VALUE",
                       "Invalid value for a conditional request header", NULL);
}

static void add_row_headers(emu_resp *resp, const emu_object *obj, const cJSON *stored)
{
    char buf[64];
    time_format_http(last_modified_s(stored) * 1000, buf);
    emu_resp_header(resp, "Last-Modified", buf);
    if (strcmp(obj->name, "Account") == 0) {
        make_etag(stored, buf);
        emu_resp_header(resp, "ETag", buf);
    }
}

/* ---- rows ---- */

static void save_result(emu_resp *resp, int status, const char *id, int created)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddBoolToObject(o, "success", true);
    cJSON_AddItemToObject(o, "errors", cJSON_CreateArray());
    if (created >= 0)
        cJSON_AddBoolToObject(o, "created", created);
    emu_resp_json(resp, status, o);
}

static bool body_is_object(const emu_req *req, emu_resp *resp)
{
    if (cJSON_IsObject(req->json))
        return true;
    emu_resp_error(resp, 400, "JSON_PARSER_ERROR",
                   req->body ? "The request body is not a valid JSON object"
                             : "The request body is empty",
                   NULL);
    return false;
}

static void create_row(emu_req *req, emu_resp *resp, const emu_object *obj, bool via_id)
{
    if (!body_is_object(req, resp))
        return;
    char id[19];
    emu_dml_error err;
    if (!emu_store_create(req->emu, obj, req->json, id, &err)) {
        emu_resp_dml_error(resp, &err);
        return;
    }
    save_result(resp, 201, id, via_id ? 1 : -1);
}

/* The requested ?fields= list, validated; NULL list (all fields) when absent. */
static bool requested_fields(const emu_req *req, const emu_object *obj, emu_resp *resp, char ***out,
                             size_t *n)
{
    const char *arg = emu_req_arg(req, "fields");
    *out = NULL;
    *n = 0;
    if (!arg)
        return true;
    char *copy = xstrdup(arg), *save = NULL;
    char **list = xcalloc(strlen(arg) + 2, sizeof *list);
    /* Id always comes back, named in fields or not, as from Salesforce (clients such as
     * jsforce match retrieved records by it). */
    list[(*n)++] = xstrdup("Id");
    bool ok = true;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!strchr(t, '.') && !emu_field_canonical(obj, t)) {
            char *msg = xasprintf(
                "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                t, obj->name);
            emu_resp_error(resp, 400, "INVALID_FIELD", msg, NULL);
            free(msg);
            ok = false;
            break;
        }
        if (strcasecmp(t, "Id") != 0)
            list[(*n)++] = xstrdup(t);
    }
    free(copy);
    if (!ok) {
        for (size_t i = 0; i < *n; i++)
            free(list[i]);
        free(list);
        return false;
    }
    *out = list;
    return true;
}

static void get_row(emu_req *req, emu_resp *resp, const emu_object *obj, const cJSON *stored)
{
    char **fields = NULL;
    size_t n = 0;
    if (!requested_fields(req, obj, resp, &fields, &n))
        return;
    cJSON *v =
        emu_store_view(req->emu, obj, stored, (const char *const *)fields, n, req->api_version);
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    free(fields);
    add_row_headers(resp, obj, stored);
    emu_resp_json(resp, 200, v);
}

/* A string shaped like an Id (15/18 alphanumerics) that is not a valid one of obj. */
static bool looks_like_id(const char *s)
{
    size_t n = strlen(s);
    if (n != 15 && n != 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

static void row(emu_req *req, emu_resp *resp, const emu_object *obj, const char *id)
{
    emu *e = req->emu;
    char id18[19];
    if (!sfid_to18(id, id18) || strncmp(id18, obj->prefix, 3) != 0) {
        if (looks_like_id(id)) {
            char *msg = xasprintf("%s ID: id value of incorrect type: %s", obj->label, id);
            emu_resp_error(resp, 400, "MALFORMED_ID", msg, "Id");
            free(msg);
        } else {
            emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        }
        return;
    }
    bool deleted = false;
    const cJSON *stored = emu_store_find(e, id18, &deleted);
    if (!stored || deleted) {
        emu_dml_error err;
        emu_dml_error_set(&err, 404, stored ? "ENTITY_IS_DELETED" : "NOT_FOUND", NULL, "%s",
                          stored ? "entity is deleted" : "The requested resource does not exist");
        emu_resp_dml_error(resp, &err);
        return;
    }
    /* Current docs: DELETE does not take conditional headers
     * (docs/salesforce.md#conditional-requests). */
    int cond = strcmp(req->method, "DELETE") == 0 ? 0 : check_conditions(req, obj, stored);
    if (cond) {
        condition_response(resp, cond);
        return;
    }
    emu_dml_error err;
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        get_row(req, resp, obj, stored);
    } else if (strcmp(req->method, "PATCH") == 0) {
        if (!body_is_object(req, resp))
            return;
        if (emu_store_update(e, obj, id18, req->json, &err))
            emu_resp_json(resp, 204, NULL);
        else
            emu_resp_dml_error(resp, &err);
    } else if (strcmp(req->method, "DELETE") == 0) {
        if (emu_store_delete(e, id18, &err))
            emu_resp_json(resp, 204, NULL);
        else
            emu_resp_dml_error(resp, &err);
    } else {
        emu_resp_method_not_allowed(resp, req->method, "HEAD,GET,PATCH,DELETE");
    }
}

/* ---- rows by external ID (docs/salesforce.md#upsert-by-external-id) ---- */

static size_t ext_matches(emu *e, const emu_object *obj, const char *field, const char *value,
                          emu_record **first)
{
    emu_record **found = NULL;
    size_t n = emu_extidx_find(e, obj, emu_meta_field(obj, field), value, false, &found);
    *first = n ? found[0] : NULL;
    free(found);
    return n;
}

static void multiple_choices(emu_req *req, emu_resp *resp, const emu_object *obj, const char *field,
                             const char *value)
{
    cJSON *arr = cJSON_CreateArray();
    emu_record **found = NULL;
    size_t n = emu_extidx_find(req->emu, obj, emu_meta_field(obj, field), value, false, &found);
    for (size_t i = 0; i < n; i++) {
        char *u = xasprintf("/services/data/v%.1f/sobjects/%s/%s", req->api_version, obj->name,
                            found[i]->id);
        cJSON_AddItemToArray(arr, cJSON_CreateString(u));
        free(u);
    }
    free(found);
    emu_resp_json(resp, 300, arr);
}

static void upsert_done(emu_req *req, emu_resp *resp, const char *id, bool created)
{
    bool v46 = req->api_version >= 46.0; /* "created" and 200-on-update arrived in v46.0 */
    if (created)
        save_result(resp, 201, id, v46 ? 1 : -1);
    else if (v46)
        save_result(resp, 200, id, 0);
    else
        emu_resp_json(resp, 204, NULL);
}

static void upsert_by_id(emu_req *req, emu_resp *resp, const emu_object *obj, const char *id)
{
    emu_dml_error err;
    if (!body_is_object(req, resp))
        return;
    if (!emu_store_update(req->emu, obj, id, req->json, &err)) {
        emu_resp_dml_error(resp, &err);
        return;
    }
    char id18[19];
    sfid_to18(id, id18);
    upsert_done(req, resp, id18, false);
}

static void by_external_id(emu_req *req, emu_resp *resp, const emu_object *obj, const char *field,
                           const char *value)
{
    emu *e = req->emu;
    if (strcasecmp(field, "Id") == 0 && strcmp(req->method, "PATCH") == 0) {
        upsert_by_id(req, resp, obj, value);
        return;
    }
    const char *canon = emu_field_canonical(obj, field);
    if (!canon || !emu_field_is_external_id(obj, canon)) {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    emu_record *hit = NULL;
    size_t n = ext_matches(e, obj, canon, value, &hit);
    if (n > 1) {
        multiple_choices(req, resp, obj, canon, value);
        return;
    }
    if (strcmp(req->method, "PATCH") != 0) {
        if (!hit) {
            emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
            return;
        }
        row(req, resp, obj, hit->id);
        return;
    }
    if (!body_is_object(req, resp))
        return;
    const char *update_only = emu_req_arg(req, "updateOnly");
    if (!hit && update_only && strcmp(update_only, "true") == 0) {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    char id[19];
    bool created = false;
    cJSON *matches = NULL;
    emu_dml_error err;
    if (!emu_store_upsert(e, obj, canon, value, req->json, id, &created, &matches, &err)) {
        cJSON_Delete(matches);
        emu_resp_dml_error(resp, &err);
        return;
    }
    upsert_done(req, resp, id, created);
}

/* ---- /sobjects routing ---- */

static bool not_modified_since_start(const emu_req *req)
{
    int64_t t = 0;
    const char *ims = emu_req_header(req, "If-Modified-Since");
    /* Metadata never changes after start, so it is unmodified since then. */
    return ims && parse_http_date(ims, &t) && t >= req->emu->started_ms / 1000;
}

static void describe_global(emu_req *req, emu_resp *resp)
{
    if (not_modified_since_start(req)) {
        emu_resp_json(resp, 304, NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "encoding", "UTF-8");
    cJSON_AddNumberToObject(o, "maxBatchSize", 200);
    cJSON *arr = cJSON_CreateArray();
    for (const emu_object *const *p = emu_objects(req->emu); *p; p++)
        cJSON_AddItemToArray(arr, emu_object_global_entry(req->emu, *p, req->api_version));
    cJSON_AddItemToObject(o, "sobjects", arr);
    emu_resp_json(resp, 200, o);
}

static void object_basic(emu_req *req, emu_resp *resp, const emu_object *obj)
{
    if (strcmp(req->method, "POST") == 0) {
        create_row(req, resp, obj, false);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        emu_resp_method_not_allowed(resp, req->method, "GET,HEAD,POST");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "objectDescribe",
                          emu_object_global_entry(req->emu, obj, req->api_version));
    cJSON_AddItemToObject(o, "recentItems", cJSON_CreateArray());
    emu_resp_json(resp, 200, o);
}

static void object_sub(emu_req *req, emu_resp *resp, const emu_object *obj, const char *seg)
{
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    bool read_only =
        strcmp(seg, "describe") == 0 || strcmp(seg, "updated") == 0 || strcmp(seg, "deleted") == 0;
    if (read_only && !get) {
        emu_resp_method_not_allowed(resp, req->method, "GET,HEAD");
    } else if (strcmp(seg, "describe") == 0) {
        if (not_modified_since_start(req))
            emu_resp_json(resp, 304, NULL);
        else
            emu_resp_json(resp, 200, emu_object_describe(req->emu, obj, req->api_version));
    } else if (read_only) {
        emu_handle_replication(req, resp, obj, seg[0] == 'd');
    } else if (strcmp(seg, "Id") == 0 && strcmp(req->method, "POST") == 0) {
        create_row(req, resp, obj, true);
    } else if (strcmp(seg, "Id") == 0) {
        emu_resp_method_not_allowed(resp, req->method, "GET,HEAD,POST");
    } else {
        row(req, resp, obj, seg);
    }
}

void emu_handle_sobjects(emu_req *req, emu_resp *resp)
{
    /* rest = "/sobjects[/T[/a[/b]]][/]"; segments are percent-decoded one by one. */
    char *segs[MAX_SEGS + 1] = {0};
    int n = 0;
    const char *p = req->rest + strlen("/sobjects");
    bool too_many = false;
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        if (!len)
            break;
        if (n == MAX_SEGS) {
            too_many = true;
            break;
        }
        char *raw = xstrndup(p, len);
        segs[n++] = emu_url_decode(raw, false);
        free(raw);
        p += len;
    }
    const emu_object *obj = n ? emu_object_find(req->emu, segs[0]) : NULL;
    if (too_many || (n && !obj) || n > 3)
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
    else if (n == 0)
        describe_global(req, resp);
    else if (n == 1)
        object_basic(req, resp, obj);
    else if (n == 2)
        object_sub(req, resp, obj, segs[1]);
    else
        by_external_id(req, resp, obj, segs[1], segs[2]);
    for (int i = 0; i < n; i++)
        free(segs[i]);
}

static bool rest_is(const char *rest, const char *name)
{
    size_t n = strlen(name);
    return strncmp(rest, name, n) == 0 && (rest[n] == '\0' || rest[n] == '/');
}

void emu_route_data(emu_req *req, emu_resp *resp)
{
    const char *r = req->rest;
    if (!*r || strcmp(r, "/") == 0)
        emu_handle_resources(req, resp);
    else if (rest_is(r, "/limits"))
        emu_handle_limits(req, resp);
    else if (rest_is(r, "/query") || rest_is(r, "/queryAll"))
        emu_handle_query(req, resp);
    else if (rest_is(r, "/composite/sobjects"))
        emu_handle_collections(req, resp);
    else if (rest_is(r, "/composite"))
        emu_handle_composite(req, resp);
    else if (rest_is(r, "/jobs/ingest"))
        emu_handle_bulk(req, resp);
    else if (rest_is(r, "/sobjects"))
        emu_handle_sobjects(req, resp);
    else
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
}
