/* The emulator and compression (emu_server.c R4): a request body sent with
 * Content-Encoding: gzip is inflated before it is parsed, a stream that does not inflate is
 * a 400 with nothing applied, and an answer is gzip-compressed only when the request's
 * Accept-Encoding asks for it. Raw libcurl here: emu_http.c sends text bodies only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define V "/services/data/v62.0"

typedef struct fixture {
    emu *e;
    char *tok;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    emu_options o = EMU_OPTIONS_INIT;
    o.seed = 7;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    f->tok = eh_login(f->e);
    *state = f;
    return f->tok ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    free(f->tok);
    free(f);
    return 0;
}

/* gzip of text (caller frees), via zlib as the agent does it. */
static unsigned char *gzip_text(const char *text, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t len = strlen(text);
    uLong cap = deflateBound(&zs, (uLong)len);
    unsigned char *buf = xmalloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = (size_t)zs.total_out;
    deflateEnd(&zs);
    return buf;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    strbuf_add(ud, p, sz * n);
    return sz * n;
}

/* POST body[0..len) with Content-Encoding: gzip; returns the HTTP status, *answer the
 * (decoded) body as text. */
static long post_gzip(fixture *f, const char *path, const unsigned char *body, size_t len,
                      char **answer)
{
    CURL *c = curl_easy_init();
    strbuf sb = STRBUF_INIT;
    char *url = xasprintf("%s%s", emu_base_url(f->e), path);
    char *auth = xasprintf("Authorization: Bearer %s", f->tok);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Content-Encoding: gzip");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(auth);
    free(url);
    *answer = strbuf_detach(&sb);
    return status;
}

static const char three_cases[] =
    "{\"allOrNone\":false,\"records\":["
    "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"gz one \\u00e9\",\"Origin\":\"Web\"},"
    "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"gz two\",\"Origin\":\"Web\"},"
    "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"gz three\",\"Origin\":\"Phone\"}]}";

static void test_gzip_body_is_inflated_and_applied(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    unsigned char *gz = gzip_text(three_cases, &len);
    char *answer = NULL;
    assert_int_equal(post_gzip(f, V "/composite/sobjects", gz, len, &answer), 200);
    cJSON *results = cJSON_Parse(answer);
    assert_int_equal(cJSON_GetArraySize(results), 3);
    assert_true(json_bool(cJSON_GetArrayItem(results, 2), "success", false));
    assert_int_equal(emu_record_count(f->e, "Case", false), 3);
    /* The records arrived intact: read them back. */
    eh_response r;
    assert_int_equal(eh_request(f->e, "GET",
                                V "/query?q=SELECT+Subject,Origin+FROM+Case+ORDER+BY+Subject",
                                f->tok, NULL, &r),
                     0);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(r.json, "records");
    assert_int_equal(cJSON_GetArraySize(rows), 3);
    assert_string_equal(json_str(cJSON_GetArrayItem(rows, 0), "Subject"), "gz one \xc3\xa9");
    assert_string_equal(json_str(cJSON_GetArrayItem(rows, 1), "Subject"), "gz three");
    assert_string_equal(json_str(cJSON_GetArrayItem(rows, 1), "Origin"), "Phone");
    eh_response_free(&r);
    /* The log saw the encoding and keeps the inflated body. */
    cJSON *log = emu_request_log(f->e);
    const cJSON *post = NULL, *it;
    cJSON_ArrayForEach(it, log)
    {
        if (strcmp(json_str(it, "method"), "POST") == 0)
            post = it;
    }
    assert_non_null(post);
    assert_string_equal(json_str(post, "contentEncoding"), "gzip");
    assert_string_equal(json_str(post, "body"), three_cases);
    cJSON_Delete(log);
    cJSON_Delete(results);
    free(answer);
    free(gz);
}

static void test_bad_gzip_stream_is_400_and_applies_nothing(void **state)
{
    fixture *f = *state;
    size_t len = 0;
    unsigned char *gz = gzip_text(three_cases, &len);
    char *answer = NULL;
    /* Truncated: the stream ends before its trailer. */
    assert_int_equal(post_gzip(f, V "/composite/sobjects", gz, len / 2, &answer), 400);
    cJSON *err = cJSON_Parse(answer);
    assert_non_null(json_str(cJSON_GetArrayItem(err, 0), "errorCode"));
    cJSON_Delete(err);
    free(answer);
    /* Corrupted in the middle. */
    gz[len / 2] ^= 0x5a;
    gz[len / 2 + 1] ^= 0xa5;
    assert_int_equal(post_gzip(f, V "/composite/sobjects", gz, len, &answer), 400);
    free(answer);
    /* Not gzip at all, though it says so. */
    const char plain[] = "{\"allOrNone\":false,\"records\":[]}";
    assert_int_equal(
        post_gzip(f, V "/composite/sobjects", (const unsigned char *)plain, strlen(plain), &answer),
        400);
    free(answer);
    assert_int_equal(emu_record_count(f->e, "Case", false), 0);
    free(gz);
}

static void test_answer_is_gzip_only_when_asked(void **state)
{
    fixture *f = *state;
    const char *const ask[] = {"Accept-Encoding: gzip", NULL};
    eh_request_opts o = {.method = "GET", .path = V "/sobjects/Case/describe", .token = f->tok};
    eh_response r;
    assert_int_equal(eh_request_ex(f->e, &o, &r), 0);
    char *enc = eh_header(&r, "Content-Encoding");
    assert_null(enc);
    assert_non_null(r.json); /* plain JSON */
    eh_response_free(&r);
    o.headers = ask;
    assert_int_equal(eh_request_ex(f->e, &o, &r), 0);
    enc = eh_header(&r, "Content-Encoding");
    assert_non_null(enc);
    assert_string_equal(enc, "gzip");
    /* Bytes as sent: a gzip stream (magic 1f 8b), not JSON. */
    assert_true(r.body_len > 2 && (unsigned char)r.body[0] == 0x1f &&
                (unsigned char)r.body[1] == 0x8b);
    free(enc);
    eh_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gzip_body_is_inflated_and_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_gzip_stream_is_400_and_applies_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer_is_gzip_only_when_asked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
