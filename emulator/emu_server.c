/* The emulator's HTTP side: libmicrohttpd on 127.0.0.1, one thread per connection, the
 * request lifecycle (latency, faults, lock, auth, API usage, logging) and routing of
 * /services/... to the handlers.
 *
 * Ordering rules enforced here:
 *  R1 sleeps (latency, DELAY faults) happen with the lock released, so one slow
 *     connection never stalls the others.
 *  R2 a request is applied and logged under one hold of the lock; DROP_AFTER, TRUNCATE and
 *     INVALID_JSON damage only the answer, after the change is stored (and written through).
 *  R3 /__emulator/ paths bypass faults, latency, auth, usage and the request log.
 *  R4 a request body sent with Content-Encoding: gzip is inflated before anything reads
 *     it (a stream that does not inflate is a 400, nothing applied); an answer is
 *     gzip-compressed when the request's Accept-Encoding names gzip, as Salesforce does
 *     (docs/salesforce.md#compression). The request log keeps the inflated body and the
 *     encoding it came in.
 */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <fnmatch.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

/* Per-request transport state (the emu_req.conn handle). */
typedef struct emu_conn {
    struct MHD_Connection *mhd; /* NULL for internal subrequests */
    const struct emu_conn *parent;
    char *raw_uri;
    strbuf body;
    bool started;
    size_t nargs;
    char **names;
    char **values;
} emu_conn;

/* A fault picked for one request, with its strings copied (the entry may be cleared
 * while this request sleeps). */
typedef struct picked_fault {
    bool fired;
    emu_fault f;
    char code[64];
    char message[256];
} picked_fault;

void emu_lock(emu *e)
{
    pthread_mutex_lock(&e->lock);
}

void emu_unlock(emu *e)
{
    pthread_mutex_unlock(&e->lock);
}

static void sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- query strings ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX (and '+' as space when plus is true) into a new string. */
static char *url_decode(const char *s, size_t n, bool plus)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

char *emu_url_decode(const char *s, bool plus)
{
    return url_decode(s, strlen(s), plus);
}

static void parse_args(emu_conn *c, const char *query)
{
    while (query && *query) {
        size_t len = strcspn(query, "&");
        const char *eq = memchr(query, '=', len);
        size_t klen = eq ? (size_t)(eq - query) : len;
        if (klen) {
            c->names = xrealloc(c->names, (c->nargs + 1) * sizeof *c->names);
            c->values = xrealloc(c->values, (c->nargs + 1) * sizeof *c->values);
            c->names[c->nargs] = url_decode(query, klen, true);
            c->values[c->nargs] = eq ? url_decode(eq + 1, len - klen - 1, true) : xstrdup("");
            c->nargs++;
        }
        query += len;
        if (*query == '&')
            query++;
    }
}

static void conn_free(emu_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nargs; i++) {
        free(c->names[i]);
        free(c->values[i]);
    }
    free(c->names);
    free(c->values);
    free(c->raw_uri);
    strbuf_free(&c->body);
    free(c);
}

const char *emu_req_arg(const emu_req *req, const char *name)
{
    const emu_conn *c = req->conn;
    for (size_t i = 0; c && i < c->nargs; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->values[i];
    return NULL;
}

const char *emu_req_header(const emu_req *req, const char *name)
{
    for (const emu_conn *c = req->conn; c; c = c->parent)
        if (c->mhd)
            return MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, name);
    return NULL;
}

/* ---- tokens ---- */

char *emu_token_issue(emu *e)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    unsigned char rnd[96];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        abort(); /* no randomness: nothing sensible to hand out */
    char tail[sizeof rnd + 1];
    for (size_t i = 0; i < sizeof rnd; i++)
        tail[i] = alphabet[rnd[i] % 64];
    tail[sizeof rnd] = '\0';
    /* Salesforce tokens are "<15-char org id>!<opaque>" (docs/salesforce.md#token-response). */
    char *tok = xasprintf("%.15s!%s", e->org_id, tail);
    e->tokens = xrealloc(e->tokens, (e->ntokens + 1) * sizeof *e->tokens);
    e->tokens[e->ntokens].token = xstrdup(tok);
    e->tokens[e->ntokens].expires_ms = time_now_ms() + (int64_t)e->token_ttl_s * 1000;
    e->ntokens++;
    return tok;
}

bool emu_token_is_valid(emu *e, const char *token)
{
    int64_t now = time_now_ms();
    for (size_t i = 0; token && i < e->ntokens; i++)
        if (strcmp(e->tokens[i].token, token) == 0)
            return e->tokens[i].expires_ms > now;
    return false;
}

static const char *bearer(const emu_req *req)
{
    const char *h = emu_req_header(req, "Authorization");
    if (!h)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) == 0)
        return h + 7;
    if (strncasecmp(h, "OAuth ", 6) == 0)
        return h + 6;
    return NULL;
}

/* ---- faults ---- */

static uint64_t rng_next(emu *e)
{
    /* splitmix64: seeded, so probabilistic faults repeat run to run. */
    uint64_t z = (e->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static bool fault_matches(emu *e, emu_fault_entry *fe, const char *method, const char *path)
{
    if (fe->f.method && strcasecmp(fe->f.method, method) != 0)
        return false;
    if (fe->f.path_pattern && fnmatch(fe->f.path_pattern, path, 0) != 0)
        return false;
    if (fe->f.count > 0 && fe->remaining <= 0)
        return false;
    if (fe->f.probability > 0 &&
        (double)(rng_next(e) >> 11) / 9007199254740992.0 >= fe->f.probability)
        return false;
    return true;
}

static picked_fault pick_fault(emu *e, const char *method, const char *path)
{
    picked_fault p = {0};
    emu_lock(e);
    for (size_t i = 0; i < e->nfaults; i++) {
        emu_fault_entry *fe = &e->faults[i];
        if (!fault_matches(e, fe, method, path))
            continue;
        if (fe->f.count > 0)
            fe->remaining--;
        e->fired++;
        p.fired = true;
        p.f = fe->f;
        const char *code = NULL, *msg = NULL;
        emu_fault_defaults(fe->f.status ? fe->f.status : 400, &code, &msg);
        snprintf(p.code, sizeof p.code, "%s", fe->f.error_code ? fe->f.error_code : code);
        snprintf(p.message, sizeof p.message, "%s", fe->f.message ? fe->f.message : msg);
        p.f.method = p.f.path_pattern = NULL;
        p.f.error_code = p.code;
        p.f.message = p.message;
        break;
    }
    emu_unlock(e);
    return p;
}

bool emu_fault_record_error(emu *e, const emu_req *req, int index, emu_dml_error *err)
{
    (void)req;
    if (!e->has_record_fault)
        return false;
    if (e->record_fault.record_index >= 0 && e->record_fault.record_index != index)
        return false;
    emu_dml_error_set(err, 400, e->record_fault_code, NULL, "%s", e->record_fault_msg);
    return true;
}

/* ---- routing ---- */

bool emu_usage_charge(emu *e)
{
    if (e->api_usage >= e->api_limit)
        return false;
    e->api_usage++;
    return true;
}

static void route_versioned(emu_req *req, emu_resp *resp, bool count_usage)
{
    emu *e = req->emu;
    if (req->api_version <= 30.0) {
        /* Retired versions answer 410 (docs/salesforce.md#api-versions). */
        emu_resp_error(resp, 410, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (req->api_version > EMU_API_VERSION_MAX ||
        req->api_version != (double)(int)req->api_version) {
        /* A version the org does not serve (v99.0, v62.5): the path names no resource. */
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (count_usage) {
        if (!emu_token_is_valid(e, bearer(req))) {
            emu_resp_error(resp, 401, "INVALID_SESSION_ID", "Session expired or invalid", NULL);
        } else if (e->api_usage >= e->api_limit) {
            emu_resp_error(resp, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                           NULL);
        } else {
            e->api_usage++;
            emu_route_data(req, resp);
        }
        char info[64];
        snprintf(info, sizeof info, "api-usage=%ld/%ld", e->api_usage, e->api_limit);
        emu_resp_header(resp, "Sforce-Limit-Info", info);
        return;
    }
    emu_route_data(req, resp);
}

/* Split "/services/data/v62.0/rest" into version and rest; false if not that shape. */
static bool parse_versioned(const char *path, double *version, const char **rest)
{
    static const char prefix[] = "/services/data/v";
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *p = path + sizeof prefix - 1;
    int major = 0, minor = 0, nd = 0;
    while (isdigit((unsigned char)*p) && nd < 3) {
        major = major * 10 + (*p++ - '0');
        nd++;
    }
    if (!nd || *p++ != '.' || !isdigit((unsigned char)*p))
        return false;
    minor = *p++ - '0';
    if (*p && *p != '/')
        return false;
    *version = major + minor / 10.0;
    *rest = p;
    return true;
}

static void dispatch(emu_req *req, emu_resp *resp, bool count_usage)
{
    emu *e = req->emu;
    if (strcmp(req->path, "/services/oauth2/token") == 0) {
        if (strcmp(req->method, "POST") != 0)
            emu_resp_method_not_allowed(resp, req->method, "POST");
        else
            emu_handle_token(e, req, resp);
        return;
    }
    if (strcmp(req->path, "/services/data") == 0 || strcmp(req->path, "/services/data/") == 0) {
        emu_handle_versions(e, resp);
        return;
    }
    if (parse_versioned(req->path, &req->api_version, &req->rest)) {
        route_versioned(req, resp, count_usage);
        return;
    }
    if (strncmp(req->path, "/id/", 4) == 0) {
        emu_handle_identity(req, resp);
        return;
    }
    emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
}

void emu_dispatch_internal(emu *e, emu_req *req, emu_resp *resp)
{
    emu_conn c = {0};
    c.parent = req->conn;
    const char *q = strchr(req->path, '?');
    char *path = q ? xstrndup(req->path, (size_t)(q - req->path)) : xstrdup(req->path);
    if (q)
        parse_args(&c, q + 1);
    emu_req sub = *req;
    sub.emu = e;
    sub.path = path;
    sub.conn = &c;
    sub.internal = true;
    cJSON *parsed = NULL;
    if (!sub.json && sub.body && *sub.body)
        sub.json = parsed = cJSON_Parse(sub.body);
    if (!resp->status)
        resp->status = 200;
    dispatch(&sub, resp, false);
    cJSON_Delete(parsed);
    free(path);
    for (size_t i = 0; i < c.nargs; i++) {
        free(c.names[i]);
        free(c.values[i]);
    }
    free(c.names);
    free(c.values);
}

/* ---- request log ---- */

static void log_request(emu *e, const emu_req *req, const char *query, int status)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", req->method);
    cJSON_AddStringToObject(o, "path", req->path);
    cJSON_AddStringToObject(o, "query", query ? query : "");
    cJSON_AddNumberToObject(o, "status", status);
    const char *enc = emu_req_header(req, "Content-Encoding"); /* R4 */
    if (enc)
        cJSON_AddStringToObject(o, "contentEncoding", enc);
    /* Token requests carry passwords and secrets: never keep their bodies. */
    if (req->body && strncmp(req->path, "/services/oauth2/", 17) != 0)
        cJSON_AddStringToObject(o, "body", req->body);
    else
        cJSON_AddNullToObject(o, "body");
    /* Bounded so a long-running standalone emulator does not grow without end. */
    if (e->request_log_len >= EMU_REQUEST_LOG_MAX)
        cJSON_DeleteItemFromArray(e->request_log, 0);
    else
        e->request_log_len++;
    cJSON_AddItemToArray(e->request_log, o);
}

/* ---- MHD glue ---- */

typedef struct truncated {
    char *body;
    size_t sent_limit;
} truncated;

static ssize_t truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->sent_limit)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* close with bytes still owed */
    size_t n = t->sent_limit - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->body + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated *t = cls;
    free(t->body);
    free(t);
}

/* Largest inflated request body (R4): Salesforce refuses far smaller ones; this only
 * keeps a hostile stream from filling memory. */
#define EMU_INFLATE_MAX ((size_t)256 << 20)

/* R4: replace body by its gzip-inflated bytes; false when it is not a whole gzip stream. */
static bool inflate_body(strbuf *body)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (body->len > UINT32_MAX || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return false;
    strbuf out = STRBUF_INIT;
    unsigned char chunk[16384];
    zs.next_in = (Bytef *)body->buf;
    zs.avail_in = (uInt)body->len;
    int rc = Z_OK;
    while (rc == Z_OK && out.len <= EMU_INFLATE_MAX) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_OK || rc == Z_STREAM_END)
            strbuf_add(&out, (const char *)chunk, sizeof chunk - zs.avail_out);
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
            rc = Z_DATA_ERROR; /* input ended before the stream did */
    }
    bool ok = rc == Z_STREAM_END && zs.avail_in == 0 && out.len <= EMU_INFLATE_MAX;
    inflateEnd(&zs);
    if (ok) {
        strbuf_free(body);
        *body = out;
    } else {
        strbuf_free(&out);
    }
    return ok;
}

/* R4: gzip of the answer's body, in place, when the client accepts it; true if done. */
static bool maybe_deflate(struct MHD_Connection *mc, emu_resp *resp)
{
    const char *ae = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept-Encoding");
    if (!ae || !strstr(ae, "gzip") || resp->body_len > UINT32_MAX)
        return false;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    uLong cap = deflateBound(&zs, (uLong)resp->body_len);
    unsigned char *buf = xmalloc(cap);
    zs.next_in = (Bytef *)resp->body;
    zs.avail_in = (uInt)resp->body_len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    free(resp->body);
    resp->body = (char *)buf;
    resp->body_len = (size_t)zs.total_out;
    return true;
}

/* The Date header (RFC 9110 IMF-fixdate) from the emulator's own clock, which tests may
 * pin or move (util/timeutil.h): clients learn Salesforce's time from it, so it must
 * agree with the audit dates the emulator stamps (libmicrohttpd's would follow the
 * system clock). */
static void add_date(struct MHD_Response *r)
{
    char v[32];
    time_format_http(time_now_ms(), v);
    MHD_add_response_header(r, MHD_HTTP_HEADER_DATE, v);
}

static enum MHD_Result send_response(struct MHD_Connection *mc, emu_resp *resp, bool truncate)
{
    struct MHD_Response *r;
    bool no_body = resp->status == 204 || resp->status == 304 || !resp->body;
    bool gzipped = !no_body && !truncate && maybe_deflate(mc, resp);
    if (no_body) {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else if (truncate && resp->body_len > 1) {
        truncated *t = xmalloc(sizeof *t);
        t->body = resp->body;
        t->sent_limit = resp->body_len / 2;
        resp->body = NULL; /* ownership moved to t */
        r = MHD_create_response_from_callback(resp->body_len, 4096, truncated_reader, t,
                                              truncated_free);
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL; /* ownership moved to MHD */
    }
    if (!r)
        return MHD_NO;
    if (!no_body)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type ? resp->content_type
                                                   : "application/json;charset=UTF-8");
    if (gzipped)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    add_date(r);
    for (int i = 0; i < resp->header_count; i++)
        MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    (void)cls;
    emu_conn *c = xcalloc(1, sizeof *c);
    c->mhd = mc;
    c->raw_uri = xstrdup(uri);
    return c;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)mc, (void)toe;
    conn_free(*con_cls);
    *con_cls = NULL;
}

static void fill_req(emu *e, emu_req *req, emu_conn *c, const char *method, char *path)
{
    memset(req, 0, sizeof *req);
    req->emu = e;
    req->method = method;
    const char *override = emu_req_arg(&(emu_req){.conn = c}, "_HttpMethod");
    if (strcmp(method, "POST") == 0 && override && strcmp(override, "PATCH") == 0)
        req->method = "PATCH"; /* docs/salesforce.md#api-versions: case-sensitive override */
    req->path = path;
    req->rest = "";
    req->body = c->body.len ? c->body.buf : NULL;
    req->body_len = c->body.len;
    req->json = req->body ? cJSON_Parse(req->body) : NULL;
    req->conn = c;
}

static enum MHD_Result serve_control(emu *e, struct MHD_Connection *mc, emu_req *req)
{
    emu_resp resp = {.status = 200};
    emu_lock(e);
    emu_handle_control(req, &resp);
    emu_unlock(e);
    enum MHD_Result r = send_response(mc, &resp, false);
    emu_resp_clear(&resp);
    return r;
}

static void apply_pre_fault(emu *e, const picked_fault *pf)
{
    if (!pf->fired)
        return;
    switch (pf->f.kind) {
    case EMU_FAULT_DELAY:
        sleep_ms(pf->f.delay_ms); /* R1: unlocked */
        break;
    case EMU_FAULT_EXPIRE_TOKEN:
        emu_expire_tokens(e);
        break;
    case EMU_FAULT_LIMIT:
        emu_lock(e);
        e->api_usage = e->api_limit;
        emu_unlock(e);
        break;
    default:
        break;
    }
}

static bool is_single_row_write(const emu_req *req)
{
    return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
           strncmp(req->path, "/services/data/v", 16) == 0 && strstr(req->path, "/sobjects/") &&
           !strstr(req->path, "/composite/");
}

/* A data API request starts being served: count it, and wait at the gate (R1: the wait
 * releases the lock). */
static void concurrency_enter(emu *e, const char *path)
{
    if (strncmp(path, "/services/data/", 15) != 0)
        return;
    emu_lock(e);
    e->concurrent++;
    if (e->concurrent > e->max_concurrent)
        e->max_concurrent = e->concurrent;
    pthread_cond_broadcast(&e->gate_cond);
    if (e->gate_n > 1 && e->concurrent < e->gate_n) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)e->gate_hold_ms * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (e->gate_n > 1 && e->concurrent < e->gate_n && e->max_concurrent < e->gate_n &&
               pthread_cond_timedwait(&e->gate_cond, &e->lock, &until) == 0)
            ;
    }
    emu_unlock(e);
}

static void concurrency_leave(emu *e, const char *path)
{
    if (strncmp(path, "/services/data/", 15) != 0)
        return;
    emu_lock(e);
    e->concurrent--;
    emu_unlock(e);
}

size_t emu_max_concurrent(emu *e)
{
    emu_lock(e);
    size_t n = e->max_concurrent;
    emu_unlock(e);
    return n;
}

void emu_set_gate(emu *e, size_t n, int hold_ms)
{
    emu_lock(e);
    e->gate_n = n;
    e->gate_hold_ms = hold_ms > 0 ? hold_ms : 0;
    pthread_cond_broadcast(&e->gate_cond);
    emu_unlock(e);
}

static enum MHD_Result serve_api_counted(emu *e, struct MHD_Connection *mc, emu_req *req,
                                         const char *q);

static enum MHD_Result serve_api(emu *e, struct MHD_Connection *mc, emu_req *req, const char *q)
{
    concurrency_enter(e, req->path);
    enum MHD_Result r = serve_api_counted(e, mc, req, q);
    concurrency_leave(e, req->path);
    return r;
}

static enum MHD_Result serve_api_counted(emu *e, struct MHD_Connection *mc, emu_req *req,
                                         const char *q)
{
    sleep_ms(e->latency_ms); /* R1 */
    picked_fault pf = pick_fault(e, req->method, req->path);
    apply_pre_fault(e, &pf);
    emu_resp resp = {.status = 200};
    emu_lock(e);
    if (pf.fired && pf.f.kind == EMU_FAULT_DROP_BEFORE) {
        log_request(e, req, q, 0);
        emu_unlock(e);
        return MHD_NO; /* closes the connection: nothing applied, nothing answered */
    }
    if (pf.fired && pf.f.kind == EMU_FAULT_STATUS) {
        emu_resp_error(&resp, pf.f.status ? pf.f.status : 503, pf.code, pf.message, NULL);
    } else if (pf.fired && pf.f.kind == EMU_FAULT_RECORD_ERROR && is_single_row_write(req)) {
        emu_resp_error(&resp, 400, pf.code, pf.message, NULL);
    } else {
        e->has_record_fault = pf.fired && pf.f.kind == EMU_FAULT_RECORD_ERROR;
        if (e->has_record_fault) {
            e->record_fault = pf.f;
            snprintf(e->record_fault_code, sizeof e->record_fault_code, "%s", pf.code);
            snprintf(e->record_fault_msg, sizeof e->record_fault_msg, "%s", pf.message);
        }
        dispatch(req, &resp, true);
        e->has_record_fault = false;
    }
    bool drop = pf.fired && pf.f.kind == EMU_FAULT_DROP_AFTER;
    log_request(e, req, q, drop ? 0 : resp.status);
    emu_unlock(e);
    enum MHD_Result r;
    if (drop) {
        r = MHD_NO; /* R2: applied, but the client never hears back */
    } else if (pf.fired && pf.f.kind == EMU_FAULT_INVALID_JSON) {
        emu_resp_raw(&resp, 200, "application/json;charset=UTF-8",
                     xstrdup("<html><body>Service temporarily unavailable</body></html>"));
        r = send_response(mc, &resp, false);
    } else {
        r = send_response(mc, &resp, pf.fired && pf.f.kind == EMU_FAULT_TRUNCATE);
    }
    emu_resp_clear(&resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)url, (void)version;
    emu *e = cls;
    emu_conn *c = *con_cls;
    if (!c)
        return MHD_NO;
    if (!c->started) {
        c->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        strbuf_add(&c->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *enc = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Encoding");
    if (enc && strcasecmp(enc, "gzip") == 0 && c->body.len && !inflate_body(&c->body)) {
        emu_resp bad = {.status = 400}; /* R4: nothing parsed, nothing applied */
        emu_resp_error(&bad, 400, "JSON_PARSER_ERROR",
                       "The request body is not a valid gzip stream (Content-Encoding: gzip)",
                       NULL);
        enum MHD_Result r = send_response(mc, &bad, false);
        emu_resp_clear(&bad);
        return r;
    }
    const char *q = strchr(c->raw_uri, '?');
    char *path = q ? xstrndup(c->raw_uri, (size_t)(q - c->raw_uri)) : xstrdup(c->raw_uri);
    if (q && !c->nargs)
        parse_args(c, q + 1);
    emu_req req;
    fill_req(e, &req, c, method, path);
    enum MHD_Result r;
    if (strncmp(path, "/__emulator/", 12) == 0)
        r = serve_control(e, mc, &req); /* R3 */
    else
        r = serve_api(e, mc, &req, q ? q + 1 : NULL);
    cJSON_Delete(req.json);
    free(path);
    return r;
}

/* ---- lifecycle ---- */

static char *dup_or(const char *v, const char *fallback)
{
    return v ? xstrdup(v) : (fallback ? xstrdup(fallback) : NULL);
}

static void copy_options(emu *e, const emu_options *o)
{
    e->client_id = dup_or(o->client_id, "sfagent-test-client");
    e->client_secret = dup_or(o->client_secret, "sfagent-test-secret");
    e->username = dup_or(o->username, "agent@example.com");
    e->password = dup_or(o->password, "password");
    e->refresh_token = dup_or(o->refresh_token, "sfagent-test-refresh");
    e->jwt_key_pem = dup_or(o->jwt_public_key_pem, NULL);
    e->state_file = dup_or(o->state_file, NULL);
    e->token_ttl_s = o->token_ttl_s > 0 ? o->token_ttl_s : 7200;
    e->api_limit = o->api_limit > 0 ? o->api_limit : 100000;
    e->latency_ms = o->latency_ms > 0 ? o->latency_ms : 0;
    e->query_page_max = o->query_page_max > 0 ? o->query_page_max : 0;
    e->rng = o->seed ? o->seed : 1;
}

static void free_tokens(emu *e)
{
    for (size_t i = 0; i < e->ntokens; i++)
        free(e->tokens[i].token);
    free(e->tokens);
    e->tokens = NULL;
    e->ntokens = 0;
}

static void emu_free(emu *e)
{
    emu_features_reset(e);
    emu_store_close(e);
    emu_faults_free_all(e);
    free_tokens(e);
    cJSON_Delete(e->request_log);
    emu_meta_free(e->objects);
    free(e->client_id);
    free(e->client_secret);
    free(e->username);
    free(e->password);
    free(e->refresh_token);
    free(e->jwt_key_pem);
    free(e->state_file);
    pthread_cond_destroy(&e->gate_cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

void emu_tokens_clear(emu *e)
{
    free_tokens(e);
}

/* MHD's own messages explain a failed start (bad TLS key, port in use); once serving, its
 * complaints are about connections the faults close on purpose, so they are dropped. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    emu *e = cls;
    if (!atomic_load(&e->serving))
        vfprintf(stderr, fmt, ap);
}

static bool start_daemon(emu *e, const emu_options *o)
{
    unsigned short port = o->port;
    bool tls = o->tls_cert_pem && o->tls_key_pem;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                         MHD_USE_SUPPRESS_DATE_NO_CLOCK; /* add_date() writes it */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    /* TLS options go last: MHD_OPTION_END ends the list early when TLS is off. */
    e->daemon = MHD_start_daemon(flags | (tls ? MHD_USE_TLS : 0), port, NULL, NULL, on_request, e,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&addr, MHD_OPTION_URI_LOG_CALLBACK, on_uri, e,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
                                 tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, o->tls_key_pem,
                                 MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert_pem, MHD_OPTION_END);
    if (!e->daemon)
        return false;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
    e->port = info ? info->port : port;
    atomic_store(&e->serving, true);
    snprintf(e->base_url, sizeof e->base_url, "%s://127.0.0.1:%u", tls ? "https" : "http",
             (unsigned)e->port);
    return true;
}

int emu_start(emu **out, const emu_options *opts)
{
    emu_options defaults = EMU_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    *out = NULL;
    emu *e = xcalloc(1, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->gate_cond, NULL);
    copy_options(e, opts);
    e->started_ms = time_now_ms();
    e->case_number = 1000;
    e->next_seq = 1;
    e->next_fault_id = 1;
    e->request_log = cJSON_CreateArray();
    sfid_make("00D", 1, e->org_id);
    sfid_make("005", 1, e->user_id);
    e->objects = emu_meta_build(opts->custom_objects);
    if (!e->objects || emu_store_open(e) != 0) {
        emu_free(e);
        return -1;
    }
    if ((!opts->tls_cert_pem) != (!opts->tls_key_pem)) {
        fprintf(stderr, "sfagent-emulator: TLS needs both a certificate and a key\n");
        emu_free(e);
        return -1;
    }
    if (!start_daemon(e, opts)) {
        fprintf(stderr, "sfagent-emulator: cannot listen on 127.0.0.1:%u\n", (unsigned)opts->port);
        emu_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void emu_stop(emu *e)
{
    if (!e)
        return;
    MHD_stop_daemon(e->daemon);
    emu_free(e);
}

unsigned short emu_port(const emu *e)
{
    return e->port;
}

const char *emu_base_url(const emu *e)
{
    return e->base_url;
}

void **emu_feature_state(emu *e)
{
    return &e->feature_state;
}
