/* Composite: POST /composite (docs/salesforce.md#composite), and POST /composite/batch.
 *
 * /composite runs up to 25 subrequests in order, each through emu_dispatch_internal (so
 * the whole call counts as one API request). A subrequest's url and body may reference
 * an earlier result with @{referenceId.path}, path segments "." for fields and "[n]" for
 * array items, case-sensitive. allOrNone runs everything in one store transaction: the
 * first failing subrequest (status >= 400) rolls it back, keeps its own error, and every
 * other subrequest reports PROCESSING_HALTED. Without allOrNone, a subrequest whose
 * reference cannot be resolved fails and the rest run.
 *
 * EMU_FAULT_RECORD_ERROR: a collections subrequest applies it to its own records (so a
 * fault on a push composite fails record #k of the upsert); any other subrequest is
 * failed by it at its own index. */
#include "emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SUBREQUESTS          25
#define MAX_QUERY_OR_COLLECTIONS 5

static const char HALTED[] =
    "The transaction was rolled back since another operation in the same transaction failed.";

typedef struct sub_result {
    const char *ref; /* borrowed from the request JSON */
    int status;
    cJSON *body;
    cJSON *headers;
} sub_result;

static cJSON *error_body(const char *code, const char *message)
{
    emu_dml_error err = {0};
    feat_dml_error_set(&err, 400, code, message, NULL);
    return feat_rest_error(&err);
}

/* ---- validation ---- */

static bool ref_id_valid(const char *s)
{
    if (!s || !isalnum((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* The resource part of a subrequest url: after "/services/data/vNN.N". */
static const char *resource_of(const char *url)
{
    const char *p = url + strlen("/services/data/v");
    while (*p && *p != '/')
        p++;
    return p;
}

static bool is_query_or_collections(const char *url)
{
    const char *r = resource_of(url);
    return strncmp(r, "/query", 6) == 0 || strncmp(r, "/composite/sobjects", 19) == 0;
}

static bool headers_allowed(const cJSON *h)
{
    static const char *const banned[] = {"Accept", "Authorization", "Content-Type"};
    for (const cJSON *x = h ? h->child : NULL; x; x = x->next)
        for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
            if (strcasecmp(x->string, banned[i]) == 0)
                return false;
    return true;
}

/* Check one subrequest's shape; message on failure. */
static const char *check_sub(const cJSON *sub, const cJSON *all, int index)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    const char *method = json_str(sub, "method"), *url = json_str(sub, "url");
    const char *ref = json_str(sub, "referenceId");
    bool known = false;
    for (size_t i = 0; method && i < sizeof methods / sizeof *methods; i++)
        known |= strcmp(method, methods[i]) == 0;
    if (!known)
        return "The method is not supported: use GET, POST, PUT, PATCH or DELETE";
    if (!url || strncmp(url, "/services/data/v", 16) != 0)
        return "The url must start with /services/data/vXX.X/";
    if (!ref_id_valid(ref))
        return "Invalid referenceId: it must start with a letter or digit and contain only "
               "letters, digits and underscores";
    int i = 0;
    for (const cJSON *o = all->child; o && i < index; o = o->next, i++)
        if (json_str(o, "referenceId") && strcmp(json_str(o, "referenceId"), ref) == 0)
            return "Duplicate referenceId provided in the request";
    if (!headers_allowed(cJSON_GetObjectItemCaseSensitive(sub, "httpHeaders")))
        return "Subrequest httpHeaders may not include Accept, Authorization or Content-Type";
    return NULL;
}

/* UNCONFIRMED error codes for request-level failures; the limits are documented. */
static bool check_request(const cJSON *subs, emu_resp *resp)
{
    int n = cJSON_GetArraySize(subs), heavy = 0, i = 0;
    if (n == 0 || n > MAX_SUBREQUESTS) {
        emu_resp_error(resp, 400, "INVALID_INPUT",
                       n ? "Exceeded max number of subrequests: 25"
                         : "compositeRequest must contain at least one subrequest",
                       NULL);
        return false;
    }
    for (const cJSON *sub = subs->child; sub; sub = sub->next, i++) {
        const char *msg = cJSON_IsObject(sub) ? check_sub(sub, subs, i) : "Invalid subrequest";
        if (msg) {
            emu_resp_error(resp, 400, "INVALID_INPUT", msg, NULL);
            return false;
        }
        heavy += is_query_or_collections(json_str(sub, "url"));
    }
    if (heavy > MAX_QUERY_OR_COLLECTIONS) {
        emu_resp_error(resp, 400, "INVALID_INPUT",
                       "Exceeded max number of query or sObject Collections subrequests: 5", NULL);
        return false;
    }
    return true;
}

/* ---- references ---- */

static const cJSON *walk(const cJSON *v, const char *p, const char *end)
{
    while (v && p < end) {
        if (*p == '.') {
            p++;
        } else if (*p == '[') {
            char *e;
            long idx = strtol(p + 1, &e, 10);
            if (e == p + 1 || *e != ']' || !cJSON_IsArray(v))
                return NULL;
            v = cJSON_GetArrayItem(v, (int)idx);
            p = e + 1;
            continue;
        }
        size_t n = 0;
        while (p + n < end && p[n] != '.' && p[n] != '[')
            n++;
        const cJSON *next = NULL;
        for (const cJSON *c = cJSON_IsObject(v) ? v->child : NULL; c; c = c->next)
            if (strlen(c->string) == n && strncmp(c->string, p, n) == 0)
                next = c;
        v = next;
        p += n;
    }
    return v;
}

static const cJSON *lookup_ref(const sub_result *done, int ndone, const char *expr, const char *end)
{
    size_t n = strcspn(expr, ".[");
    if (expr + n > end)
        n = (size_t)(end - expr);
    for (int i = 0; i < ndone; i++)
        if (strlen(done[i].ref) == n && strncmp(done[i].ref, expr, n) == 0)
            return done[i].status < 400 ? walk(done[i].body, expr + n, end) : NULL;
    return NULL;
}

static void append_value(strbuf *sb, const cJSON *v)
{
    if (cJSON_IsString(v))
        strbuf_adds(sb, v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
        strbuf_addf(sb, "%lld", (long long)v->valuedouble);
    else if (cJSON_IsNumber(v))
        strbuf_addf(sb, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        strbuf_adds(sb, cJSON_IsTrue(v) ? "true" : "false");
}

/* Expand every @{...} in s. A string that is exactly one reference to a non-string value
 * becomes that value (*whole). False with the failing expression in bad. */
static bool expand(const char *s, const sub_result *done, int ndone, strbuf *out, cJSON **whole,
                   char bad[128])
{
    *whole = NULL;
    for (const char *p = s; *p;) {
        const char *at = strstr(p, "@{"), *close = at ? strchr(at, '}') : NULL;
        if (!at || !close) {
            strbuf_adds(out, p);
            break;
        }
        strbuf_add(out, p, (size_t)(at - p));
        const cJSON *v = lookup_ref(done, ndone, at + 2, close);
        if (!v) {
            snprintf(bad, 128, "%.*s", (int)(close - at - 2), at + 2);
            return false;
        }
        if (at == s && close[1] == '\0' && !cJSON_IsString(v)) {
            *whole = cJSON_Duplicate(v, true);
            return true;
        }
        append_value(out, v);
        p = close + 1;
    }
    return true;
}

static bool expand_json(cJSON *v, const sub_result *done, int ndone, char bad[128])
{
    for (cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsString(c) && strstr(c->valuestring, "@{")) {
            strbuf sb = STRBUF_INIT;
            cJSON *whole;
            bool ok = expand(c->valuestring, done, ndone, &sb, &whole, bad);
            cJSON *repl = whole ? whole : cJSON_CreateString(strbuf_str(&sb));
            strbuf_free(&sb);
            if (!ok) {
                cJSON_Delete(repl);
                return false;
            }
            /* the key moves to the replacement (ReplaceItemViaPointer keeps none) */
            repl->string = c->string;
            c->string = NULL;
            cJSON_ReplaceItemViaPointer(v, c, repl);
            c = repl;
        } else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !expand_json(c, done, ndone, bad)) {
            return false;
        }
    }
    return true;
}

/* ---- running one subrequest ---- */

static cJSON *sub_headers(const emu_resp *r, const char *url, const cJSON *body)
{
    cJSON *h = cJSON_CreateObject();
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->header_names[i], "Sforce-Limit-Info") != 0 &&
            strcasecmp(r->header_names[i], "Content-Length") != 0)
            cJSON_AddStringToObject(h, r->header_names[i], r->header_values[i]);
    const char *id = json_str(body, "id");
    if (r->status == 201 && id && !cJSON_GetObjectItem(h, "Location")) {
        size_t vlen = (size_t)(resource_of(url) - url);
        char *type_start = strstr(url, "/sobjects/");
        if (type_start) {
            const char *t = type_start + strlen("/sobjects/");
            size_t tn = strcspn(t, "/?");
            char *loc = xasprintf("%.*s/sobjects/%.*s/%s", (int)vlen, url, (int)tn, t, id);
            cJSON_AddStringToObject(h, "Location", loc);
            free(loc);
        }
    }
    return h;
}

static cJSON *parse_body(const emu_resp *r)
{
    if (!r->body || r->body_len == 0)
        return cJSON_CreateNull();
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    return j ? j : cJSON_CreateString(r->body);
}

static void fail_sub(sub_result *out, const char *code, const char *message)
{
    out->status = 400;
    out->body = error_body(code, message);
    out->headers = cJSON_CreateObject();
}

static void run_sub(emu_req *req, const cJSON *sub, int index, sub_result *done, int ndone,
                    sub_result *out)
{
    char bad[128] = "";
    strbuf url = STRBUF_INIT;
    cJSON *whole = NULL, *body = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(sub, "body"), 1);
    emu_dml_error ferr = {0};
    out->ref = json_str(sub, "referenceId");
    const char *raw_url = json_str(sub, "url");
    if (!is_query_or_collections(raw_url) && emu_fault_record_error(req->emu, req, index, &ferr)) {
        out->status = ferr.http_status ? ferr.http_status : 400;
        out->body = feat_rest_error(&ferr);
        out->headers = cJSON_CreateObject();
        goto out;
    }
    if (!expand(raw_url, done, ndone, &url, &whole, bad) || whole ||
        (body && !expand_json(body, done, ndone, bad))) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "Invalid reference specified. No value for %.120s found. Provided referenceId "
                 "must be defined before it is used, and its subrequest must have succeeded.",
                 bad);
        fail_sub(out, "PROCESSING_HALTED", msg);
        goto out;
    }
    char *text = body ? json_print(body) : NULL;
    emu_req r = {.emu = req->emu,
                 .method = json_str(sub, "method"),
                 .path = strbuf_str(&url),
                 .body = text,
                 .body_len = text ? strlen(text) : 0,
                 .json = body,
                 .conn = req->conn,
                 .api_version = req->api_version};
    emu_resp resp = {0};
    emu_dispatch_internal(req->emu, &r, &resp);
    out->status = resp.status;
    out->body = parse_body(&resp);
    out->headers = sub_headers(&resp, strbuf_str(&url), out->body);
    emu_resp_clear(&resp);
    free(text);
out:
    cJSON_Delete(whole);
    cJSON_Delete(body);
    strbuf_free(&url);
}

static cJSON *result_json(sub_result *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "body", s->body ? s->body : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "httpHeaders", s->headers ? s->headers : cJSON_CreateObject());
    cJSON_AddNumberToObject(o, "httpStatusCode", s->status);
    cJSON_AddStringToObject(o, "referenceId", s->ref);
    s->body = s->headers = NULL; /* moved into o */
    return o;
}

static void halt_others(sub_result *res, int n, int failed)
{
    for (int i = 0; i < n; i++) {
        if (i == failed)
            continue;
        cJSON_Delete(res[i].body);
        cJSON_Delete(res[i].headers);
        fail_sub(&res[i], "PROCESSING_HALTED", HALTED);
    }
}

static void composite(emu_req *req, emu_resp *resp)
{
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(req->json, "compositeRequest");
    if (!cJSON_IsObject(req->json) || !cJSON_IsArray(subs)) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR",
                       "The request body must be a JSON object with a compositeRequest array",
                       NULL);
        return;
    }
    if (!check_request(subs, resp))
        return;
    bool aon = json_bool(req->json, "allOrNone", false);
    int n = cJSON_GetArraySize(subs), ran = 0, failed = -1;
    sub_result *res = xcalloc((size_t)n, sizeof *res);
    if (aon)
        feat_txn_begin(req->emu);
    for (const cJSON *sub = subs->child; sub && failed < 0; sub = sub->next, ran++) {
        run_sub(req, sub, ran, res, ran, &res[ran]);
        if (aon && (res[ran].status >= 400 || feat_txn_take_poisoned(req->emu)))
            failed = ran;
    }
    for (int i = ran; i < n; i++)
        res[i].ref = json_str(cJSON_GetArrayItem(subs, i), "referenceId");
    if (aon && failed >= 0) {
        feat_txn_rollback(req->emu);
        halt_others(res, n, failed);
    } else if (aon) {
        feat_txn_commit(req->emu);
    }
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "compositeResponse");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, result_json(&res[i]));
    free(res);
    emu_resp_json(resp, 200, out);
}

/* ---- /composite/batch ---- */

static cJSON *batch_one(emu_req *req, const cJSON *sub)
{
    const char *method = json_str(sub, "method"), *url = json_str(sub, "url");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(sub, "richInput");
    cJSON *o = cJSON_CreateObject();
    if (!method || !url) {
        cJSON_AddNumberToObject(o, "statusCode", 400);
        cJSON_AddItemToObject(o, "result", error_body("INVALID_INPUT", "method and url required"));
        return o;
    }
    char *path = xasprintf("/services/data/%s", url[0] == '/' ? url + 1 : url);
    char *text = input ? json_print(input) : NULL;
    cJSON *json = input ? cJSON_Duplicate(input, true) : NULL;
    emu_req r = {.emu = req->emu,
                 .method = method,
                 .path = path,
                 .body = text,
                 .body_len = text ? strlen(text) : 0,
                 .json = json,
                 .conn = req->conn,
                 .api_version = req->api_version};
    emu_resp resp = {0};
    emu_dispatch_internal(req->emu, &r, &resp);
    cJSON_AddNumberToObject(o, "statusCode", resp.status);
    cJSON_AddItemToObject(o, "result", parse_body(&resp));
    emu_resp_clear(&resp);
    cJSON_Delete(json);
    free(text);
    free(path);
    return o;
}

/* A subrequest over the API limit. The docs do not say how Salesforce reports it inside a
 * batch; the emulator answers it as the router answers a request over the limit. */
static cJSON *over_limit(void)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "statusCode", 403);
    cJSON_AddItemToObject(r, "result",
                          error_body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
    return r;
}

/* Each subrequest commits on its own; haltOnError turns the rest into 412
 * BATCH_PROCESSING_HALTED. Each subrequest that runs counts against the API limit
 * (docs/salesforce.md#composite): the router counted the batch itself as the first. */
static void composite_batch(emu_req *req, emu_resp *resp)
{
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(req->json, "batchRequests");
    if (!cJSON_IsArray(subs) || cJSON_GetArraySize(subs) == 0 ||
        cJSON_GetArraySize(subs) > MAX_SUBREQUESTS) {
        emu_resp_error(resp, 400, "INVALID_INPUT",
                       "batchRequests must hold between 1 and 25 subrequests", NULL);
        return;
    }
    bool halt = json_bool(req->json, "haltOnError", false), errors = false;
    cJSON *out = cJSON_CreateObject(), *results = cJSON_CreateArray();
    bool first = true;
    for (const cJSON *sub = subs->child; sub; sub = sub->next) {
        cJSON *r;
        if (halt && errors) {
            r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "statusCode", 412);
            cJSON_AddItemToObject(
                r, "result",
                error_body("BATCH_PROCESSING_HALTED", "Batch processing halted per request"));
        } else {
            bool charged = first || req->internal || emu_usage_charge(req->emu);
            first = false;
            r = charged ? batch_one(req, sub) : over_limit();
            errors |= json_num(r, "statusCode", 500) >= 400;
        }
        cJSON_AddItemToArray(results, r);
    }
    cJSON_AddBoolToObject(out, "hasErrors", errors);
    cJSON_AddItemToObject(out, "results", results);
    emu_resp_json(resp, 200, out);
}

void emu_handle_composite(emu_req *req, emu_resp *resp)
{
    bool is_batch =
        strcmp(req->rest, "/composite/batch") == 0 || strcmp(req->rest, "/composite/batch/") == 0;
    if (!is_batch && strcmp(req->rest, "/composite") != 0 &&
        strcmp(req->rest, "/composite/") != 0) {
        /* graph and tree are not emulated */
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "HTTP Method '%s' not allowed. Allowed are POST", req->method);
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", msg, NULL);
        return;
    }
    if (!req->json) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", "The request body is not valid JSON", NULL);
        return;
    }
    if (is_batch)
        composite_batch(req, resp);
    else
        composite(req, resp);
}
