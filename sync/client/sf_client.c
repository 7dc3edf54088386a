/* The Salesforce REST client: one libcurl easy handle reused across requests (so the
 * connection stays alive), OAuth token handling with one re-login on an expired session,
 * and the mapping of every transfer onto an outcome class (sf_client.h).
 *
 * Invariants:
 *   I1. Secrets (access token, form bodies of the token endpoint) never reach a log line,
 *       an error message or a response field (server texts pass sf_scrub_secrets()); the
 * Authorization header lives only in the curl_slist for the duration of one transfer, and curl's
 * verbose mode is never on. I2. One request triggers at most one re-login and one replay: a second
 * 401 is returned as answered, never looped on. I3. Token refreshes are serialised: one client owns
 * one token and refreshes it only from the thread using the client (sf_client.h: one client per
 * thread), and a request that saw a 401 re-logs in only if nobody replaced its token meanwhile
 *       (token_gen); token requests of all clients in the process are serialised by
 *       token_lock, so the same refresh token is never used by two requests at once.
 *   I4. TLS peer and host verification are always on; http:// is only possible for
 *       loopback hosts, which configuration enforces.
 *   I5. Every sf_response this file returns is fully initialised (retry_after_s = -1 when
 *       absent) and freed with sf_response_free(), whatever the status.
 *   I6. POST requests to the data API go out on a fresh connection: libcurl silently
 *       re-sends a request whose reused connection died without an answer, which would
 *       apply a non-idempotent create twice (docs/sync-protocol.md#request-outcomes). PATCH, PUT
 * and DELETE (keyed upserts, updates, deletes) are safe to apply twice and keep the pooled
 * connection. I7. The instance_url and id of a token response are used only once sf_url.c accepts
 *       them: https (http only for a loopback emulator reached over loopback http) on a
 *       Salesforce host, the login host's domain or [salesforce] allowed_instance_hosts.
 *   I8. Proxies (HTTPS_PROXY, NO_PROXY, as libcurl reads them) are used for https only: a
 *       plain http request never goes through a proxy, whatever the environment says.
 *   I9. No response body, after decompression, grows past [salesforce] max_response_bytes:
 *       the transfer is aborted there and its outcome is unknown (the request may have
 *       been applied), so memory stays bounded whatever the server sends (issue 8.5).
 *       There is no separate compression-ratio limit: deflate cannot exceed ~1032:1, and
 *       the byte cap already bounds both memory and the time spent inflating.
 *  I10. A server certificate that fails verification is SFA_ETLS from login and from
 *       every request, never SFA_ENETWORK: retrying later would hide a possible man in
 *       the middle as "offline". Nothing was sent (the TLS handshake failed first).
 *  I11. A JSON body of at least [sync] compress_min_bytes goes gzip-compressed with
 *       Content-Encoding: gzip (Salesforce inflates it; docs/salesforce.md#compression);
 *       it is compressed once, so a replay after a re-login sends the same bytes. A body
 *       that cannot be compressed is sent as it is.
 *  I12. Every transfer adds its wire bytes to the client's counters: request headers and
 *       body as sent (compressed), response headers and body as received (before it is
 *       inflated).
 *  I13. Answers are asked for gzip-compressed (Accept-Encoding: gzip) and kept compressed
 *       until their transfer is collected: libcurl does not inflate them
 *       (CURLOPT_HTTP_CONTENT_DECODING off), this file does, in finish_transfer, under the
 *       I9 cap. So answers that wait while other requests are in flight hold a fifth of
 *       their size or less (docs/sync-protocol.md#memory). Any other Content-Encoding was
 *       not asked for and fails like a body that does not inflate (outcome unknown).
 *  I14. Salesforce's clock is known from the Date header of its last answer: the offset
 *       to this host's clock is Date (whole seconds, rounded down) minus the local time
 *       the answer arrived, so Salesforce's time estimated from it is never ahead of the
 *       real one, and a bound the pull computes from it (its settle bound, getDeleted's
 *       end) errs early, where a later pull picks up what it left. A host whose clock is
 *       wrong (no NTP on a ship or a kiosk) so still pulls what Salesforce has. A Date
 *       more than a day off is not believed (SERVER_CLOCK_TRUST_MS).
 */
#include "sync/client/sf_client.h"

#include "sfagent/global.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "sync/client/config_internal.h"
#include "sync/client/sf_client_internal.h"
#include "sync/client/sf_url.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/json_scan.h"
#include "util/log.h"
#include "util/timeutil.h"

/* I14: how far Salesforce's Date header may be from this host's clock and be believed. */
#define SERVER_CLOCK_TRUST_MS (24LL * 3600 * 1000)

struct sf_client {
    const sfa_config *cfg; /* borrowed: outlives the client */
    CURL *curl;
    char api_version[8]; /* "v62.0" */
    sf_token tok;
    char *rotated_refresh; /* refresh token handed out by rotation (memory only) */
    unsigned token_gen;    /* I3 */
    long api_used, api_max, requests;
    uint64_t bytes_sent, bytes_received; /* I12 */
    bool server_clock_known;             /* I14 */
    bool server_clock_doubted;           /* I14: a Date was too far off (warned once) */
    int64_t server_offset_ms;            /* I14: Salesforce's clock minus this host's */
    char *errmsg;
    bool fresh_next;            /* next transfer must not reuse a connection (I6) */
    struct sf_multi *multi;     /* requests in flight (sf_client_multi.c), or NULL */
    int query_batch;            /* Sforce-Query-Options batchSize on GETs, 0: none (pull) */
    char if_modified_since[64]; /* "If-Modified-Since: <date>" for the request being sent,
                                   or "" (sf_client_get_if_modified) */
    bool raw_2xx;               /* leave a 2xx body unparsed (sf_client_get_raw) ... */
    bool raw_xfer;              /* ... in the transfer send_once is making (not a login) */

    /* sf_client_set_abort(): a daemon stopping */
    bool (*should_abort)(void *);
    void *abort_ctx;
};

static void set_err(sf_client *c, char *msg) /* takes ownership */
{
    free(c->errmsg);
    c->errmsg = sf_scrub_secrets(msg); /* I1: login errors quote the server */
    free(msg);
}

void sf_response_free(sf_response *resp)
{
    if (!resp)
        return;
    cJSON_Delete(resp->json);
    free(resp->body);
    free(resp->error_code);
    free(resp->error_message);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
}

void sf_response_init(sf_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->outcome = SF_NOT_SENT;
    resp->retry_after_s = -1;
}

/* curl hands us decoded (decompressed) bytes, so the cap also bounds a gzip bomb (I9). */
static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    sf_xfer *x = ud;
    if (size * n > x->cap - x->body.len) {
        x->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    strbuf_add(&x->body, ptr, size * n);
    return size * n;
}

/* "Name: value\r\n" -> value without surrounding blanks, if the name matches. */
static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    return xstrndup(v, (size_t)(end - v));
}

static void replace(char **slot, char *value)
{
    if (!value)
        return;
    free(*slot);
    *slot = value;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    sf_xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a retry): forget the previous headers. */
        free(x->content_type);
        free(x->content_encoding);
        free(x->limit_info);
        free(x->retry_after);
        free(x->date);
        x->content_type = x->content_encoding = x->limit_info = x->retry_after = NULL;
        x->date = NULL;
        return len;
    }
    replace(&x->content_type, header_value(line, len, "Content-Type"));
    replace(&x->content_encoding, header_value(line, len, "Content-Encoding"));
    replace(&x->limit_info, header_value(line, len, "Sforce-Limit-Info"));
    replace(&x->retry_after, header_value(line, len, "Retry-After"));
    replace(&x->date, header_value(line, len, "Date"));
    return len;
}

void sf_xfer_free(sf_xfer *x)
{
    strbuf_free(&x->body);
    free(x->content_type);
    free(x->content_encoding);
    free(x->limit_info);
    free(x->retry_after);
    free(x->date);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const sf_client *c = ud;
    return c->should_abort(c->abort_ctx) ? 1 : 0; /* 1: CURLE_ABORTED_BY_CALLBACK */
}

void sf_client_setup_transfer(sf_client *c, CURL *h, bool fresh, const char *method,
                              const char *url, struct curl_slist *hdrs, const char *body,
                              size_t len, sf_xfer *x)
{
    /* Reset keeps live connections, so keep-alive survives (curl_easy_reset(3)). */
    curl_easy_reset(h);
    int timeout = sync_config_timeout_s(c->cfg);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(timeout < 15 ? timeout : 15));
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip"); /* I13: inflated by us */
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    /* I9: a declared Content-Length over the cap fails before the body is read. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->cap);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L); /* I4 */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = sfa_config_get(c->cfg, "salesforce", "ca_bundle");
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (strncmp(url, "http://", 7) == 0) {
        /* I8: plain http (the loopback emulator only) never goes through a proxy, which
         * would receive the token request's password and secret in clear text. */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L); /* I6 */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (c->should_abort) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "DELETE") != 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        }
    }
}

static bool is_json_type(const char *ct)
{
    return ct && strstr(ct, "json") != NULL;
}

/* I14: Salesforce's clock from an answer's Date header (RFC 9110 IMF-fixdate). A Date
 * more than a day from this host's clock is not believed: TLS to Salesforce fails long
 * before a host's clock is that wrong (certificate validity), while a server replaying
 * recorded answers, or a mock with a fixed Date, would otherwise move every bound. */
static void note_server_clock(sf_client *c, const char *date)
{
    time_t t = curl_getdate(date, NULL);
    if (t == (time_t)-1)
        return;
    int64_t offset = (int64_t)t * 1000 - time_now_ms();
    bool plausible = offset <= SERVER_CLOCK_TRUST_MS && offset >= -SERVER_CLOCK_TRUST_MS;
    if (!plausible && !c->server_clock_doubted)
        log_warn("the server's Date header (%s) is more than a day from this host's clock;"
                 " this host's clock is used",
                 date);
    c->server_clock_doubted |= !plausible;
    c->server_clock_known = plausible;
    c->server_offset_ms = plausible ? offset : 0;
}

/* Fill resp from an answered transfer (status known). */
static void fill_answered(sf_client *c, CURL *h, const char *method, sf_xfer *x, bool json_call,
                          sf_response *resp)
{
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->outcome = SF_ANSWERED;
    resp->body_len = x->body.len;
    resp->body = x->body.len ? strbuf_detach(&x->body) : NULL;
    bool ok = resp->status >= 200 && resp->status < 300;
    if (!ok && resp->body) {
        /* I1: an error body may echo our request, Authorization header included. Record
         * data (2xx) is never altered. */
        char *clean = sf_scrub_secrets(resp->body);
        free(resp->body);
        resp->body = clean;
        resp->body_len = strlen(clean);
    }
    /* sf_client_get_raw: the caller reads a 2xx body itself; errors are parsed as ever.
     * sf_client_start_text: a 2xx body is checked as a parse would check it, not parsed. */
    bool text = ok && x->text_2xx && resp->body;
    bool want_json = resp->body && !(ok && (c->raw_xfer || x->text_2xx)) &&
                     (json_call || is_json_type(x->content_type));
    if (want_json)
        resp->json = cJSON_ParseWithLength(resp->body, resp->body_len);
    bool unreadable = (ok && want_json && !resp->json) ||
                      (text && !json_scan_value(resp->body, resp->body + resp->body_len));
    if (x->limit_info)
        sf_parse_limit_info(x->limit_info, &c->api_used, &c->api_max);
    if (x->retry_after)
        resp->retry_after_s = sf_parse_retry_after(x->retry_after, time_now_ms());
    if (x->date)
        note_server_clock(c, x->date);
    if (unreadable) {
        /* A 2xx whose body we cannot read: the change may well have been applied, and a
         * read gave us nothing usable either (sf_client.h: SF_UNKNOWN). */
        resp->outcome = SF_UNKNOWN;
        resp->error_message = xasprintf("%s answered HTTP %ld with a body that is not valid "
                                        "JSON (truncated?)",
                                        method, resp->status);
    } else if (!ok) {
        sf_parse_error_body(resp->status, resp->json, &resp->error_code, &resp->error_message);
    }
}

/* A failed check of the server's certificate (not a local setup or network problem). */
static bool tls_unverified(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
        return true;
    default:
        return false;
    }
}

/* I12: what the last transfer put on the wire and took off it. CURLINFO_REQUEST_SIZE is
 * the request as issued, headers and body together (a 5,000-byte POST body gives about
 * 5,150); SIZE_DOWNLOAD is the answer's body as it arrived, before content decoding, and
 * HEADER_SIZE its headers. */
static void count_wire_bytes(sf_client *c, CURL *h, long request_size, size_t body_len)
{
    /* A small body goes out in the same send as the headers and REQUEST_SIZE includes it;
     * a large one is sent on its own and REQUEST_SIZE is the headers alone. */
    if (request_size >= 0 && (size_t)request_size < body_len)
        request_size += (long)body_len;
    curl_off_t down = 0;
    long header_in = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &header_in);
    c->bytes_sent += (uint64_t)(request_size > 0 ? request_size : 0);
    c->bytes_received +=
        (uint64_t)(header_in > 0 ? header_in : 0) + (uint64_t)(down > 0 ? down : 0);
}

/* gzip's trailer ends with the inflated size modulo 2^32 (RFC 1952): a first guess for
 * the buffer, within limit. */
static size_t gzip_size_hint(const strbuf *raw, size_t limit)
{
    size_t n = 4096;
    if (raw->len >= 18) {
        const unsigned char *t = (const unsigned char *)raw->buf + raw->len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        n = isize + 2 > n ? isize + 2 : n;
    }
    return n < limit ? n : limit;
}

/* I13: x->body inflated in place when its Content-Encoding is gzip. Past the I9 cap sets
 * too_big; a body that does not inflate, or another encoding, is CURLE_BAD_CONTENT_ENCODING
 * (what libcurl answered when it inflated). */
static CURLcode inflate_body(sf_xfer *x)
{
    const char *enc = x->content_encoding;
    if (!enc || !*enc || strcasecmp(enc, "identity") == 0 || x->body.len == 0)
        return CURLE_OK;
    if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0)
        return CURLE_BAD_CONTENT_ENCODING;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (x->body.len > UINT_MAX || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return CURLE_BAD_CONTENT_ENCODING;
    size_t limit = x->cap + 2; /* one byte past the cap shows it was passed; one for NUL */
    size_t cap = gzip_size_hint(&x->body, limit), len = 0;
    char *out = xmalloc(cap);
    zs.next_in = (Bytef *)x->body.buf;
    zs.avail_in = (uInt)x->body.len;
    int zrc = Z_OK;
    while (zrc == Z_OK) {
        if (len + 1 >= cap) {
            if (cap >= limit)
                break; /* len > x->cap */
            cap = cap * 2 < limit ? cap * 2 : limit;
            out = xrealloc(out, cap);
        }
        size_t room = cap - len - 1;
        zs.next_out = (Bytef *)out + len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        zrc = inflate(&zs, Z_NO_FLUSH);
        len = (size_t)(zs.next_out - (Bytef *)out);
    }
    inflateEnd(&zs);
    x->too_big = len > x->cap; /* I9 */
    if (zrc != Z_STREAM_END || x->too_big) {
        free(out);
        return x->too_big ? CURLE_OK : CURLE_BAD_CONTENT_ENCODING;
    }
    out[len] = '\0';
    strbuf_free(&x->body);
    x->body.buf = out; /* the inflated text replaces the bytes as they arrived */
    x->body.len = len;
    x->body.cap = cap;
    return CURLE_OK;
}

void sf_xfer_init(sf_xfer *x, const sf_client *c)
{
    memset(x, 0, sizeof *x);
    x->body = (strbuf)STRBUF_INIT;
    x->cap = sync_config_max_response_bytes(c->cfg);
}

sfa_status sf_client_finish_transfer(sf_client *c, CURL *h, CURLcode rc, const char *method,
                                     sf_xfer *x, size_t len, bool json_call, sf_response *resp)
{
    sf_response_init(resp);
    if (rc == CURLE_OK)
        rc = inflate_body(x); /* I13 */
    bool unverified = tls_unverified(rc);
    long request_size = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
    resp->outcome = sf_outcome_from_curl(rc, request_size);
    if (resp->outcome != SF_NOT_SENT)
        c->requests++; /* reached (or may have reached) Salesforce: what the org counts */
    count_wire_bytes(c, h, request_size, resp->outcome != SF_NOT_SENT ? len : 0);
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        /* I9: the request was sent and may have been applied; the answer is lost. */
        resp->outcome = SF_UNKNOWN;
        resp->error_message = xasprintf("outcome unknown: the response was larger than "
                                        "[salesforce] max_response_bytes (%zu bytes); "
                                        "transfer aborted",
                                        x->cap);
    } else if (resp->outcome == SF_ANSWERED) {
        fill_answered(c, h, method, x, json_call, resp);
    } else {
        /* curl_easy_strerror is generic text: no URL, header or body content (I1). */
        resp->error_message =
            xasprintf("%s: %s", resp->outcome == SF_NOT_SENT ? "not sent" : "outcome unknown",
                      curl_easy_strerror(rc));
    }
    /* Drop the handle's reference to hdrs (freed by the caller) and to body. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    sf_xfer_free(x);
    if (unverified) { /* I10 */
        set_err(c, xasprintf("the server's certificate could not be verified (%s): possibly a "
                             "man in the middle; nothing was sent. Check [salesforce] ca_bundle "
                             "and the system's CA certificates",
                             curl_easy_strerror(rc)));
        return SFA_ETLS;
    }
    return SFA_OK;
}

/* One HTTP exchange on the client's own handle, waiting for it. Returns SFA_OK with resp
 * filled in every case, or SFA_ETLS (resp filled too, not sent) when the server's
 * certificate failed verification (I10). */
static sfa_status perform(sf_client *c, const char *method, const char *url,
                          struct curl_slist *hdrs, const char *body, size_t len, bool json_call,
                          sf_response *resp)
{
    sf_xfer x;
    sf_xfer_init(&x, c);
    sf_client_setup_transfer(c, c->curl, c->fresh_next, method, url, hdrs, body, len, &x);
    c->fresh_next = false;
    CURLcode rc = curl_easy_perform(c->curl);
    return sf_client_finish_transfer(c, c->curl, rc, method, &x, len, json_call, resp);
}

/* ---- lifecycle ---- */

/* curl_global_init() once per process (sfagent/global.h): set by the pthread_once below,
 * read only after it, so no lock is needed (a configuration-like global, STYLE rule 9). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* libcurl (and OpenSSL) write every TLS session key to the file SSLKEYLOGFILE names,
 * which decrypts the traffic (access tokens, record data) for whoever can read it. That
 * is a debugging aid, so it takes an explicit opt-in: without SFAGENT_DEBUG_TLS_KEYLOG=1
 * the variable is removed before libcurl's global init reads it (README: TLS). */
static void drop_tls_keylog(void)
{
    const char *debug = getenv("SFAGENT_DEBUG_TLS_KEYLOG");
    if (debug && strcmp(debug, "1") == 0) {
        if (getenv("SSLKEYLOGFILE"))
            log_warn("SFAGENT_DEBUG_TLS_KEYLOG=1: TLS session keys are written to "
                     "SSLKEYLOGFILE; anyone who can read that file can decrypt the traffic");
        return;
    }
    unsetenv("SSLKEYLOGFILE");
}

static void curl_init_once(void)
{
    drop_tls_keylog();
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

sfa_status sfa_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_rc == CURLE_OK ? SFA_OK : SFA_ERROR;
}

sfa_status sf_client_new(sf_client **out, const sfa_config *cfg, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    if (!cfg) {
        *errmsg = xstrdup("no configuration");
        return SFA_EINVAL;
    }
    if (sfa_global_init() != SFA_OK) {
        *errmsg = xstrdup("libcurl initialisation failed");
        return SFA_ERROR;
    }
    sf_client *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        *errmsg = xstrdup("libcurl: cannot create a handle");
        return SFA_ERROR;
    }
    snprintf(c->api_version, sizeof c->api_version, "v%s", sync_config_api_version(cfg));
    c->api_used = c->api_max = -1;
    *out = c;
    return SFA_OK;
}

void sf_client_free(sf_client *c)
{
    if (!c)
        return;
    sf_token_clear(&c->tok);
    if (c->rotated_refresh) {
        memset(c->rotated_refresh, 0, strlen(c->rotated_refresh));
        free(c->rotated_refresh);
    }
    sf_multi_free(c->multi);
    c->multi = NULL;
    curl_easy_cleanup(c->curl);
    free(c->errmsg);
    free(c);
}

/* ---- login ---- */

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;

static sfa_status login_error_from_transport(sf_client *c, const sf_response *r)
{
    if (r->outcome == SF_ANSWERED || r->status > 0)
        return SFA_OK; /* answered: the token parser decides */
    set_err(c, xasprintf("cannot reach Salesforce at %s: %s", sync_config_login_url(c->cfg),
                         r->error_message ? r->error_message : "no answer"));
    return SFA_ENETWORK;
}

/* I7: the instance and identity URLs come from the network; the bearer token and record
 * data go there only if they are https on a Salesforce host (sf_url.h). */
static sfa_status check_token_urls(sf_client *c, const sf_token *tok)
{
    size_t n = 0;
    const char *const *allowed = sync_config_allowed_hosts(c->cfg, &n);
    const char *login = sync_config_login_url(c->cfg);
    const char *urls[] = {tok->instance_url, tok->id_url};
    const char *names[] = {"instance_url", "id"};
    for (size_t i = 0; i < 2; i++) {
        char *why = NULL;
        if (urls[i] && !sf_url_check_returned(urls[i], login, allowed, n, &why)) {
            set_err(c, xasprintf("Salesforce login refused: the token response's %s is not "
                                 "trusted: %s",
                                 names[i], why));
            free(why);
            return SFA_ECONFIG;
        }
    }
    return SFA_OK;
}

sfa_status sf_client_login(sf_client *c)
{
    strbuf form = STRBUF_INIT;
    char *err = NULL, *url = NULL;
    struct curl_slist *hdrs = NULL;
    sf_response r;
    sf_response_init(&r);
    sf_token tok = {0};
    sfa_status st =
        oauth_build_form(&form, c->curl, c->cfg, c->rotated_refresh, time_now_ms() / 1000, &err);
    if (st != SFA_OK) {
        set_err(c, err);
        goto out;
    }
    url = xasprintf("%s/services/oauth2/token", sync_config_login_url(c->cfg));
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    /* I3: one token request at a time in the process, so two clients (threads) holding
     * the same refresh token never race (Salesforce: "token request is already being
     * processed"). A lock, not mutable state. */
    pthread_mutex_lock(&token_lock);
    st = perform(c, "POST", url, hdrs, strbuf_str(&form), form.len, true, &r);
    pthread_mutex_unlock(&token_lock);
    if (st == SFA_OK) /* SFA_ETLS: not "offline", someone may be in the middle (I10) */
        st = login_error_from_transport(c, &r);
    if (st != SFA_OK)
        goto out;
    st = oauth_parse_token_response(&tok, r.status, r.json, &err);
    if (st != SFA_OK) {
        set_err(c, err);
        goto out;
    }
    st = check_token_urls(c, &tok);
    if (st != SFA_OK)
        goto out;
    sf_token_clear(&c->tok);
    c->tok = tok; /* ownership moves to the client */
    memset(&tok, 0, sizeof tok);
    if (c->tok.refresh_token) { /* rotation: the old one is now invalid */
        free(c->rotated_refresh);
        c->rotated_refresh = c->tok.refresh_token;
        c->tok.refresh_token = NULL;
    }
    c->token_gen++;
    log_info("logged in to Salesforce: instance %s", c->tok.instance_url);
out:
    if (form.buf)
        memset(form.buf, 0, form.len); /* I1 */
    strbuf_free(&form);
    free(url);
    curl_slist_free_all(hdrs);
    sf_response_free(&r); /* token response body holds the access token: not kept */
    sf_token_clear(&tok);
    return st;
}

/* ---- requests ---- */

static bool has_origin(const char *url, const char *base)
{
    size_t n = base ? strlen(base) : 0;
    return n > 0 && strncmp(url, base, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* NULL for an absolute URL on a host the token was not issued for (I1: the bearer token
 * goes only to Salesforce's own hosts). */
static char *request_url(const sf_client *c, const char *path)
{
    if (strncmp(path, "https://", 8) == 0 || strncmp(path, "http://", 7) == 0) {
        bool ok = has_origin(path, c->tok.instance_url) ||
                  has_origin(path, sync_config_login_url(c->cfg)) ||
                  (c->tok.id_url && strcmp(path, c->tok.id_url) == 0);
        return ok ? xstrdup(path) : NULL;
    }
    if (path[0] == '/')
        return xasprintf("%s%s", c->tok.instance_url, path);
    return xasprintf("%s/services/data/%s/%s", c->tok.instance_url, c->api_version, path);
}

static struct curl_slist *request_headers(const sf_client *c, const char *method,
                                          const char *content_type, bool gzipped)
{
    struct curl_slist *h = NULL;
    char *auth = xasprintf("Authorization: Bearer %s", c->tok.access_token);
    h = curl_slist_append(h, auth);
    memset(auth, 0, strlen(auth)); /* I1 */
    free(auth);
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Sforce-Call-Options: client=sfagent");
    h = curl_slist_append(h, "Expect:");
    if (sf_method_is_mutating(method)) {
        /* Assignment rules would re-route Cases the field worker already owns on every
         * sync; the agent replays user edits and must not add its own
         * (docs/salesforce.md#request-headers). */
        h = curl_slist_append(h, "Sforce-Auto-Assign: FALSE");
    }
    if (c->query_batch > 0 && strcmp(method, "GET") == 0) {
        /* Only query and queryMore read it; other resources ignore the header. */
        char *qo = xasprintf("Sforce-Query-Options: batchSize=%d", c->query_batch);
        h = curl_slist_append(h, qo);
        free(qo);
    }
    if (c->if_modified_since[0])
        h = curl_slist_append(h, c->if_modified_since);
    if (content_type) {
        char *ct = xasprintf("Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
        free(ct);
        /* No "Expect: 100-continue" (libcurl adds it to bodies over 1 KB): on a thin link it
         * costs a round trip per request, and with it CURLINFO_REQUEST_SIZE counts only the
         * headers, so the wire-byte report (I12) missed the body. */
        h = curl_slist_append(h, "Expect:");
    }
    if (gzipped)
        h = curl_slist_append(h, "Content-Encoding: gzip"); /* I11 */
    return h;
}

struct curl_slist *sf_client_headers(const sf_client *c, const char *method, const sf_req_body *b)
{
    return request_headers(c, method, b->data ? b->content_type : NULL, b->data && b->gzipped);
}

char *sf_client_url(const sf_client *c, const char *path)
{
    return request_url(c, path);
}

static sfa_status send_once(sf_client *c, const char *method, const char *path,
                            const sf_req_body *b, bool json_call, sf_response *resp)
{
    char *url = request_url(c, path);
    if (!url) {
        resp->error_message = xstrdup("refused: absolute URL outside the Salesforce instance");
        return SFA_EINVAL;
    }
    struct curl_slist *hdrs = sf_client_headers(c, method, b);
    c->fresh_next = strcmp(method, "POST") == 0; /* I6 */
    c->raw_xfer = c->raw_2xx;
    sfa_status st = perform(c, method, url, hdrs, b->data, b->len, json_call, resp);
    c->raw_xfer = false;
    curl_slist_free_all(hdrs);
    free(url);
    return st;
}

bool sf_response_session_expired(const sf_response *r)
{
    return r->outcome == SF_ANSWERED && r->status == 401 &&
           (!r->error_code || strcmp(r->error_code, "INVALID_SESSION_ID") == 0 ||
            strncmp(r->error_code, "ERROR_HTTP_", 11) == 0);
}

sfa_status sf_client_fail_before_send(sf_client *c, sfa_status st, sf_response *resp)
{
    sf_response_free(resp);
    resp->outcome = SF_NOT_SENT;
    resp->error_message = xstrdup(c->errmsg ? c->errmsg : sfa_strerror(st));
    return st;
}

sfa_status sf_client_ensure_token(sf_client *c, unsigned *gen, sf_response *resp)
{
    sfa_status st = SFA_OK;
    if (!c->tok.access_token && (st = sf_client_login(c)) != SFA_OK)
        return sf_client_fail_before_send(c, st, resp);
    *gen = c->token_gen;
    return SFA_OK;
}

sfa_status sf_client_relogin(sf_client *c, unsigned gen, sf_response *resp)
{
    /* I2: one re-login, one replay. A 401 means the request was refused, not applied. */
    log_info("Salesforce session expired or invalid; logging in again");
    sfa_status st = SFA_OK;
    if (gen == c->token_gen && (st = sf_client_login(c)) != SFA_OK) /* I3 */
        return sf_client_fail_before_send(c, st, resp);
    return SFA_OK;
}

void sf_client_note_refused(sf_client *c)
{
    set_err(c, xstrdup("Salesforce refused a fresh session (401 after re-login)"));
}

static sfa_status request_common(sf_client *c, const char *method, const char *path,
                                 const sf_req_body *b, bool json_call, sf_response *resp)
{
    sf_response_init(resp);
    if (!c || !method || !path)
        return SFA_EINVAL;
    unsigned gen = 0;
    sfa_status st = sf_client_ensure_token(c, &gen, resp);
    if (st != SFA_OK)
        return st;
    st = send_once(c, method, path, b, json_call, resp);
    if (st != SFA_OK || !sf_response_session_expired(resp))
        return st;
    if ((st = sf_client_relogin(c, gen, resp)) != SFA_OK)
        return st;
    sf_response_free(resp);
    st = send_once(c, method, path, b, json_call, resp);
    if (st != SFA_OK)
        return st;
    if (sf_response_session_expired(resp))
        sf_client_note_refused(c);
    return SFA_OK;
}

/* gzip output being made: the stream and the bytes so far. */
typedef struct gz_out {
    z_stream zs;
    unsigned char *buf;
    size_t cap;
    bool ok; /* deflateInit2 succeeded and deflate has not failed */
} gz_out;

static bool gz_begin(gz_out *g, size_t cap)
{
    memset(g, 0, sizeof *g);
    /* 16 + MAX_WBITS: a gzip header and trailer, what Content-Encoding: gzip names. Level 1:
     * JSON's repeated keys compress well at the fastest level, and the CPU is the agent's.
     * memLevel 6: zlib's state is ~160 KiB instead of ~256 KiB at the default 8, and a batch
     * of creates came out no larger (bench_push: 31.7 against 32.2 KB per 1,000 Cases). */
    if (deflateInit2(&g->zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 6, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    g->cap = cap ? cap : 1;
    g->buf = xmalloc(g->cap);
    g->ok = true;
    return true;
}

/* Compress in[0..len) (flush Z_NO_FLUSH, or Z_FINISH for the last piece), growing the
 * output by doubling: JSON shrinks to a fifth or less, so it starts small rather than at
 * deflateBound (about the input's size). */
static void gz_feed(gz_out *g, const char *in, size_t len, int flush)
{
    g->zs.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const; it only reads */
    g->zs.avail_in = (uInt)len;
    while (g->ok) {
        if (g->zs.total_out == g->cap) {
            g->cap *= 2;
            g->buf = xrealloc(g->buf, g->cap);
        }
        g->zs.next_out = g->buf + g->zs.total_out;
        g->zs.avail_out = (uInt)(g->cap - g->zs.total_out);
        int rc = deflate(&g->zs, flush);
        if (rc == Z_STREAM_END ||
            (flush == Z_NO_FLUSH && g->zs.avail_in == 0 && g->zs.avail_out > 0))
            return; /* all taken (and, finishing, all written) */
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            g->ok = false;
        else if (rc == Z_BUF_ERROR && g->zs.avail_out > 0)
            g->ok = false; /* no progress with room left: cannot happen */
    }
}

/* The gzip bytes (caller frees), or false when zlib failed. */
static bool gz_end(gz_out *g, unsigned char **out, size_t *out_len)
{
    if (g->ok)
        gz_feed(g, "", 0, Z_FINISH);
    size_t n = (size_t)g->zs.total_out;
    deflateEnd(&g->zs);
    if (!g->ok) {
        free(g->buf);
        return false;
    }
    *out = xrealloc(g->buf, n ? n : 1); /* up to [sync] parallel bodies wait in flight */
    *out_len = n;
    return true;
}

bool sf_gzip(unsigned char **out, size_t *out_len, const char *in, size_t len)
{
    *out = NULL;
    *out_len = 0;
    gz_out g;
    if (len > UINT_MAX || !gz_begin(&g, len / 4 + 64))
        return false;
    gz_feed(&g, in, len, Z_NO_FLUSH);
    return gz_end(&g, out, out_len);
}

/* A request body being printed: its text until it reaches min bytes (I11: smaller bodies
 * go as they are), then only the gzip bytes, compressed as the text is printed. */
typedef struct body_sink {
    strbuf text;
    size_t min;
    bool deflating;
    gz_out gz;
} body_sink;

static void body_out(const char *p, size_t n, void *arg)
{
    body_sink *s = arg;
    if (s->deflating) {
        gz_feed(&s->gz, p, n, Z_NO_FLUSH);
        return;
    }
    strbuf_add(&s->text, p, n);
    if (s->text.len < s->min || s->text.len > UINT_MAX || !gz_begin(&s->gz, s->text.len))
        return;
    s->deflating = true;
    gz_feed(&s->gz, s->text.buf, s->text.len, Z_NO_FLUSH);
    strbuf_free(&s->text);
}

void sf_req_body_make(sf_req_body *b, const sf_client *c, const cJSON *body)
{
    memset(b, 0, sizeof *b);
    b->content_type = "application/json";
    if (!body)
        return;
    int min = c ? sync_config_compress_min_bytes(c->cfg) : 0;
    if (min <= 0) { /* compression off: the text, printed at once */
        b->text = json_print(body);
        b->data = b->text;
        b->len = strlen(b->text);
        return;
    }
    size_t gzlen = 0;
    body_sink s = {.text = STRBUF_INIT, .min = (size_t)min};
    json_print_to(body, body_out, &s);
    if (s.deflating && gz_end(&s.gz, &b->gz, &gzlen)) {
        b->data = (const char *)b->gz; /* I11: compressed once, replayed as is */
        b->len = gzlen;
        b->gzipped = true;
        return;
    }
    /* Not compressed: small, compression off, or zlib failed (then printed again). */
    b->text = s.deflating ? json_print(body) : strbuf_detach(&s.text);
    b->data = b->text;
    b->len = strlen(b->text);
}

void sf_req_body_free(sf_req_body *b)
{
    free(b->text);
    free(b->gz);
    memset(b, 0, sizeof *b);
}

sfa_status sf_client_request(sf_client *c, const char *method, const char *path, const cJSON *body,
                             sf_response *resp)
{
    sf_req_body b;
    sf_req_body_make(&b, c, body);
    sfa_status st = request_common(c, method, path, &b, true, resp);
    sf_req_body_free(&b);
    return st;
}

sfa_status sf_client_get_if_modified(sf_client *c, const char *path, int64_t since_ms,
                                     sf_response *resp)
{
    if (!c)
        return sf_client_request(c, "GET", path, NULL, resp);
    char date[32]; /* RFC 9110 IMF-fixdate, in English whatever the locale */
    time_format_http(since_ms, date);
    snprintf(c->if_modified_since, sizeof c->if_modified_since, "If-Modified-Since: %s", date);
    sfa_status st = sf_client_request(c, "GET", path, NULL, resp);
    c->if_modified_since[0] = '\0'; /* one request only */
    return st;
}

sfa_status sf_client_get_raw(sf_client *c, const char *path, sf_response *resp)
{
    if (!c)
        return sf_client_request(c, "GET", path, NULL, resp);
    c->raw_2xx = true;
    sfa_status st = sf_client_request(c, "GET", path, NULL, resp);
    c->raw_2xx = false; /* one request only */
    return st;
}

/* ---- accessors ---- */

struct sf_multi **sf_client_multi_slot(sf_client *c)
{
    return &c->multi;
}

CURL *sf_client_easy(sf_client *c)
{
    return c->curl;
}

void sf_client_set_query_batch(sf_client *c, int batch_size)
{
    c->query_batch = batch_size;
}

void sf_client_set_abort(sf_client *c, bool (*should_abort)(void *ctx), void *ctx)
{
    c->should_abort = should_abort;
    c->abort_ctx = ctx;
}

int64_t sf_client_server_now_ms(const sf_client *c)
{
    return time_now_ms() + (c && c->server_clock_known ? c->server_offset_ms : 0);
}

bool sf_client_server_clock_known(const sf_client *c, int64_t *offset_ms)
{
    if (offset_ms)
        *offset_ms = c && c->server_clock_known ? c->server_offset_ms : 0;
    return c && c->server_clock_known;
}

long sf_client_api_used(const sf_client *c)
{
    return c->api_used;
}

long sf_client_api_max(const sf_client *c)
{
    return c->api_max;
}

long sf_client_requests_made(const sf_client *c)
{
    return c->requests;
}

uint64_t sf_client_bytes_sent(const sf_client *c)
{
    return c->bytes_sent;
}

uint64_t sf_client_bytes_received(const sf_client *c)
{
    return c->bytes_received;
}

const char *sf_client_instance_url(const sf_client *c)
{
    return c->tok.instance_url;
}

const char *sf_client_org_id(const sf_client *c)
{
    return c->tok.org_id;
}

const char *sf_client_user_id(const sf_client *c)
{
    return c->tok.user_id;
}

const char *sf_client_api_version(const sf_client *c)
{
    return c->api_version;
}

const char *sf_client_errmsg(const sf_client *c)
{
    return c && c->errmsg ? c->errmsg : "";
}

const char *sf_client_identity_url(const sf_client *c)
{
    return c->tok.id_url;
}
