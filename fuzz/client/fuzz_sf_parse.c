/* libFuzzer target for what Salesforce (or a middlebox) sends back to the REST client
 * (docs/sync-protocol.md#verification): the pure parsers of sync/client/sf_parse.c and
 * sync/client/oauth.c. Every input is used whole by each parser: as a header value
 * (Sforce-Limit-Info, Retry-After), as a JSON body (error bodies under several statuses,
 * token responses), as an identity URL and as bytes to base64url-encode. A violated
 * property calls abort() so both libFuzzer and the replay test notice.
 *
 * Properties beyond "no crash":
 *   - error bodies always yield a code and a message; a body that is not Salesforce or
 *     OAuth JSON yields exactly ERROR_HTTP_<status> and a fixed text (sf_parse.c I1, I2);
 *   - a token response is OK only with a usable token (non-empty access_token and
 *     instance_url, no trailing slash) and never carries an errmsg; on failure nothing is
 *     returned, and the message does not change when the access/refresh token values in
 *     the body change (tokens never reach messages, oauth.c I2);
 *   - Retry-After never goes below -1 and never grows when "now" moves forward.
 *
 * The corpus (fuzz/client/corpus) replays in every ctest run (test_fuzz_sf_parse_replay,
 * tests/sync/fuzz.cmake); turn each crash into a new corpus file. Build and run from the
 * repository root (clang with libFuzzer), one line: */
/* clang-format off */
/* clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Iinclude fuzz/client/fuzz_sf_parse.c sync/client/sf_parse.c sync/client/oauth.c sync/client/jwt.c sync/client/config.c util/alloc.c util/strbuf.c util/json.c util/names.c $(pkg-config --cflags --libs libcjson libcurl inih libcrypto) -o /tmp/fuzz_sf_parse && mkdir -p /tmp/sf-parse-corpus && /tmp/fuzz_sf_parse -dict=fuzz/client/sf.dict -max_total_time=90 -max_len=4096 /tmp/sf-parse-corpus fuzz/client/corpus */
/* clang-format on */
#include "sync/client/sf_client_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs only slow the fuzzer down; real headers and error bodies are small. */
#define INPUT_CAP 65536

static const long error_statuses[] = {300, 400, 401, 403, 404, 412, 420, 500, 502, 503};
static const long token_statuses[] = {200, 400, 401, 500, 0};

static void check_limit_info(const char *text)
{
    long used = -7, max = -7;
    if (sf_parse_limit_info(text, &used, &max) &&
        (used < 0 || max < 0 || !strstr(text, "api-usage=")))
        abort();
}

static void check_retry_after(const char *text)
{
    int early = sf_parse_retry_after(text, 0);
    int now = sf_parse_retry_after(text, INT64_C(1780000000000));
    int late = sf_parse_retry_after(text, INT64_MAX);
    if (early < -1 || now < -1 || late < -1)
        abort();
    /* Either unparseable at every "now", or a delay that never grows as time passes. */
    if ((early == -1) != (now == -1) || (now == -1) != (late == -1))
        abort();
    if (now > early || late > now)
        abort();
}

/* Does sf_parse_error_body have a Salesforce/OAuth object to read codes from? */
static bool has_error_object(const cJSON *json)
{
    const cJSON *obj = cJSON_IsArray(json) ? cJSON_GetArrayItem(json, 0) : json;
    return cJSON_IsObject(obj) &&
           (json_str(obj, "errorCode") || json_str(obj, "statusCode") || json_str(obj, "error"));
}

static void check_error_body(const cJSON *json)
{
    for (size_t i = 0; i < sizeof error_statuses / sizeof *error_statuses; i++) {
        char *code = NULL, *message = NULL;
        sf_parse_error_body(error_statuses[i], json, &code, &message);
        if (!code || !message)
            abort();
        if (!has_error_object(json)) { /* sf_parse.c I1, I2: fixed texts only */
            char *want_code = xasprintf("ERROR_HTTP_%ld", error_statuses[i]);
            char *want_msg =
                xasprintf("HTTP %ld without a Salesforce error body", error_statuses[i]);
            if (strcmp(code, want_code) != 0 || strcmp(message, want_msg) != 0)
                abort();
            free(want_code);
            free(want_msg);
        }
        free(code);
        free(message);
    }
}

/* Turn every letter and digit of s into another one, keeping length and emptiness. */
static void rotate(char *s)
{
    for (; *s; s++) {
        if (*s >= 'a' && *s <= 'z')
            *s = (char)('a' + (*s - 'a' + 1) % 26);
        else if (*s >= 'A' && *s <= 'Z')
            *s = (char)('A' + (*s - 'A' + 1) % 26);
        else if (*s >= '0' && *s <= '9')
            *s = (char)('0' + (*s - '0' + 1) % 10);
    }
}

/* A copy of json whose top-level access_token/refresh_token strings are rotated. */
static cJSON *with_other_tokens(const cJSON *json)
{
    cJSON *copy = cJSON_Duplicate(json, true);
    cJSON *obj = cJSON_IsObject(copy) ? copy : NULL;
    cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        if (cJSON_IsString(item) && (strcmp(item->string, "access_token") == 0 ||
                                     strcmp(item->string, "refresh_token") == 0))
            rotate(item->valuestring);
    }
    return copy;
}

static bool token_is_empty(const sf_token *t)
{
    return !t->access_token && !t->instance_url && !t->id_url && !t->org_id && !t->user_id &&
           !t->issued_at && !t->refresh_token;
}

static void check_token_ok(const sf_token *t, const char *errmsg)
{
    if (errmsg || !t->access_token || !*t->access_token || !t->instance_url)
        abort();
    size_t n = strlen(t->instance_url);
    /* oauth.c I3: a token is usable only with an instance to send it to. */
    if (n == 0 || t->instance_url[n - 1] == '/')
        abort();
    if ((t->org_id == NULL) != (t->user_id == NULL))
        abort();
}

static void check_token_response(const cJSON *json)
{
    for (size_t i = 0; i < sizeof token_statuses / sizeof *token_statuses; i++) {
        sf_token tok, tok2;
        char *errmsg = NULL, *errmsg2 = NULL;
        sfa_status st = oauth_parse_token_response(&tok, token_statuses[i], json, &errmsg);
        if (st == SFA_OK) {
            if (token_statuses[i] != 200)
                abort();
            check_token_ok(&tok, errmsg);
        } else {
            if (!errmsg || !token_is_empty(&tok) ||
                strncmp(errmsg, "Salesforce login failed: ", 25) != 0)
                abort();
            /* oauth.c I2: the message must not depend on the tokens in the body. */
            cJSON *other = with_other_tokens(json);
            sfa_status st2 = oauth_parse_token_response(&tok2, token_statuses[i], other, &errmsg2);
            if (st2 != st || !errmsg2 || strcmp(errmsg, errmsg2) != 0)
                abort();
            sf_token_clear(&tok2);
            cJSON_Delete(other);
        }
        sf_token_clear(&tok);
        free(errmsg);
        free(errmsg2);
    }
}

static void check_identity(const char *text)
{
    char *org = NULL, *user = NULL;
    if (oauth_split_identity(text, &org, &user)) {
        if (!org || !user || !*org || !*user || strchr(org, '/') || strchr(user, '/'))
            abort();
    } else if (org || user) {
        abort();
    }
    free(org);
    free(user);
}

static void check_base64url(const uint8_t *data, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *b = jwt_base64url(data, size);
    if (!b || strlen(b) != (4 * size + 2) / 3 || strspn(b, alphabet) != strlen(b))
        abort();
    free(b);
}

static void check_outcome(const uint8_t *data, size_t size)
{
    CURLcode rc = (CURLcode)(size > 0 ? data[0] % CURL_LAST : 0);
    long request_size = size > 1 ? data[1] : 0;
    sf_outcome o = sf_outcome_from_curl(rc, request_size);
    if (o != SF_ANSWERED && o != SF_NOT_SENT && o != SF_UNKNOWN)
        abort();
    if ((rc == CURLE_OK) != (o == SF_ANSWERED))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_CAP)
        return 0;
    char *text = xstrndup((const char *)data, size);
    check_limit_info(text);
    check_retry_after(text);
    check_identity(text);
    char *aud = jwt_audience(text);
    if (!aud)
        abort();
    free(aud);
    if ((strcmp(text, "GET") == 0 || strcmp(text, "HEAD") == 0) == sf_method_is_mutating(text))
        abort();
    check_base64url(data, size);
    check_outcome(data, size);

    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    check_error_body(json);
    check_token_response(json);
    cJSON_Delete(json);
    free(text);
    return 0;
}
