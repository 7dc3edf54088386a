/* Pure parsers for Salesforce responses: Sforce-Limit-Info, Retry-After, error bodies,
 * and the outcome class of a transfer. No I/O, so they are unit-tested directly and are
 * the fuzzing surface for what the server (or a middlebox) sends back.
 *
 * Invariants:
 *   I1. Every non-2xx answer gets an error code: the server's, or ERROR_HTTP_<status>.
 *   I2. Bodies that are not Salesforce/OAuth JSON are never echoed into messages (an HTML
 *       error page may be large or reflect request data).
 *   I3. When the table cannot tell whether a request left, the outcome is SF_UNKNOWN.
 */
#include "sync/client/sf_client_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool parse_pair(const char *p, const char *end, long *a, long *b)
{
    char *e = NULL;
    errno = 0;
    long x = strtol(p, &e, 10);
    if (errno || e == p || e >= end || *e != '/' || !isdigit((unsigned char)*p))
        return false;
    const char *q = e + 1;
    if (!isdigit((unsigned char)*q))
        return false;
    long y = strtol(q, &e, 10);
    if (errno || e > end)
        return false;
    *a = x;
    *b = y;
    return true;
}

bool sf_parse_limit_info(const char *value, long *used, long *max)
{
    if (!value)
        return false;
    const char *p = value;
    while (*p) {
        p = skip_ws(p);
        size_t n = strcspn(p, ";,");
        const char *end = p + n;
        if (n > 10 && strncmp(p, "api-usage=", 10) == 0 && parse_pair(p + 10, end, used, max))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

int sf_parse_retry_after(const char *value, int64_t now_ms)
{
    if (!value)
        return -1;
    const char *p = skip_ws(value);
    if (isdigit((unsigned char)*p)) {
        char *e = NULL;
        errno = 0;
        long s = strtol(p, &e, 10);
        e = (char *)skip_ws(e);
        if (errno || (*e && *e != '\r' && *e != '\n') || s > INT_MAX)
            return -1;
        return (int)s;
    }
    time_t t = curl_getdate(p, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t delta = (int64_t)t - now_ms / 1000;
    if (delta < 0)
        return 0;
    return delta > INT_MAX ? INT_MAX : (int)delta;
}

static bool take_pair(const cJSON *obj, const char *ck, const char *mk, char **code, char **message)
{
    const char *c = json_str(obj, ck);
    if (!c)
        return false;
    const char *m = json_str(obj, mk);
    *code = xstrdup(c);
    *message = xstrdup(m ? m : "");
    return true;
}

void sf_parse_error_body(long status, const cJSON *json, char **code, char **message)
{
    *code = NULL;
    *message = NULL;
    const cJSON *obj = json;
    if (cJSON_IsArray(json))
        obj = cJSON_GetArrayItem(json, 0);
    if (cJSON_IsObject(obj)) {
        if (take_pair(obj, "errorCode", "message", code, message) ||
            take_pair(obj, "statusCode", "message", code, message) ||
            take_pair(obj, "error", "error_description", code, message))
            return;
    }
    /* I1, I2 */
    *code = xasprintf("ERROR_HTTP_%ld", status);
    *message = xasprintf("HTTP %ld without a Salesforce error body", status);
}

sf_outcome sf_outcome_from_curl(CURLcode rc, long request_size)
{
    switch (rc) {
    case CURLE_OK:
        return SF_ANSWERED;
    /* Failures before any byte of the request could reach Salesforce. */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
        return SF_NOT_SENT;
    case CURLE_OPERATION_TIMEDOUT:
        /* A connect timeout issued nothing; once bytes left, it may have been applied. */
        return request_size == 0 ? SF_NOT_SENT : SF_UNKNOWN;
    default:
        return SF_UNKNOWN; /* I3: GOT_NOTHING, SEND/RECV_ERROR, PARTIAL_FILE, HTTP2... */
    }
}

bool sf_method_is_mutating(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* ---- secret scrubbing ---- */

static bool token_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-' || ch == '!' ||
           ch == '+' || ch == '/' || ch == '=';
}

/* Length of a Salesforce session id at p ("00D" + 12 or 15 alphanumerics, '!', then the
 * secret part), or 0. */
static size_t session_id_len(const char *p)
{
    if (strncmp(p, "00D", 3) != 0)
        return 0;
    size_t n = 3;
    while (isalnum((unsigned char)p[n]))
        n++;
    if ((n != 15 && n != 18) || p[n] != '!')
        return 0;
    size_t secret = ++n;
    while (token_char(p[n]))
        n++;
    return n > secret ? n : 0;
}

char *sf_scrub_secrets(const char *text)
{
    if (!text)
        return NULL;
    strbuf out = STRBUF_INIT;
    const char *p = text;
    while (*p) {
        bool at_word = p == text || !isalnum((unsigned char)p[-1]);
        size_t sid = at_word ? session_id_len(p) : 0;
        if (sid) {
            strbuf_adds(&out, "[redacted]");
            p += sid;
            continue;
        }
        if (at_word && strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            const char *v = p + 6;
            while (*v == ' ' || *v == '\t')
                v++;
            if (token_char(*v)) {
                strbuf_add(&out, p, 6);
                strbuf_adds(&out, " [redacted]");
                while (token_char(*v))
                    v++;
                p = v;
                continue;
            }
        }
        strbuf_addc(&out, *p++);
    }
    return strbuf_detach(&out);
}
