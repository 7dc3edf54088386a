/* Deterministic mutation fuzzing of the client's parsers  as an ordinary
 * test: seeds are real inputs, each mutated a few thousand times with a fixed-seed RNG and
 * fed to the config loader, the header parsers, the error-body and token-response parsers.
 * Passing means no crash, no sanitizer report, and outputs that keep their contracts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sync/client/config_internal.h"
#include "sync/client/sf_client_internal.h"
#include "util/alloc.h"

#define ROUNDS 3000

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A mutated NUL-terminated copy of seed: flips, inserts, deletes, truncation. */
static char *mutate(const char *seed)
{
    static const char interesting[] = "=[];#:/\n\r\t \"{}0123456789-.,\\\x80\xff";
    size_t n = strlen(seed);
    char *s = xmalloc(n * 2 + 16);
    memcpy(s, seed, n + 1);
    int edits = 1 + (int)(next() % 4);
    for (int i = 0; i < edits; i++) {
        size_t len = strlen(s);
        size_t at = len ? (size_t)(next() % len) : 0;
        char ch = interesting[next() % (sizeof interesting - 1)];
        switch (next() % 4) {
        case 0:
            if (len)
                s[at] = ch;
            break;
        case 1:
            memmove(s + at + 1, s + at, len - at + 1);
            s[at] = ch;
            break;
        case 2:
            if (len)
                memmove(s + at, s + at + 1, len - at);
            break;
        default:
            s[at] = '\0';
            break;
        }
    }
    return s;
}

static void test_fuzz_config(void **state)
{
    (void)state;
    const char *seed = "[salesforce]\nlogin_url = https://x.my.salesforce.com/\nauth = jwt\n"
                       "timeout = 30\napi_version = 62.0\n[sync]\nobjects = Case, Contact\n"
                       "api_limit_share = 0.5\nbackoff_base = 2\nbackoff_cap = 60\n";
    int ok = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char *text = mutate(seed);
        sfa_config *cfg = NULL;
        char *err = NULL;
        sfa_status st = sync_config_load_string(&cfg, text, "f.ini", &err);
        if (st == SFA_OK) {
            ok++;
            assert_null(err);
            assert_true(sync_config_timeout_s(cfg) > 0);
            assert_true(sync_config_object_count(cfg) > 0);
            double share = sync_config_api_limit_share(cfg);
            assert_true(share > 0 && share <= 1);
        } else {
            assert_int_equal(st, SFA_ECONFIG);
            assert_non_null(err);
            assert_null(cfg);
        }
        sfa_config_free(cfg);
        free(err);
        free(text);
    }
    assert_true(ok > 0); /* some mutations stay valid: the loop exercised both paths */
}

static void test_fuzz_headers(void **state)
{
    (void)state;
    const char *seeds[] = {"api-usage=10018/100000; api-bursts=1/750",
                           "Sun, 06 Nov 1994 08:49:37 GMT", "120"};
    for (int i = 0; i < ROUNDS; i++) {
        char *s = mutate(seeds[i % 3]);
        long used = -7, max = -7;
        if (sf_parse_limit_info(s, &used, &max))
            assert_true(used >= 0 && max >= 0);
        else
            assert_true(used == -7 && max == -7); /* a failed parse writes nothing */
        assert_true(sf_parse_retry_after(s, 784111777000) >= -1);
        free(s);
    }
}

static void test_fuzz_bodies(void **state)
{
    (void)state;
    const char *seeds[] = {
        "[{\"message\":\"Session expired\",\"errorCode\":\"INVALID_SESSION_ID\"}]",
        "{\"error\":\"invalid_grant\",\"error_description\":\"authentication failure\"}",
        "{\"access_token\":\"00D!x\",\"instance_url\":\"https://na1.salesforce.com\","
        "\"id\":\"https://login.salesforce.com/id/00Dx/005x\",\"issued_at\":\"1\"}",
        "<html><body>502 Bad Gateway</body></html>",
    };
    for (int i = 0; i < ROUNDS; i++) {
        char *s = mutate(seeds[i % 4]);
        cJSON *j = cJSON_Parse(s);
        char *code = NULL, *msg = NULL;
        sf_parse_error_body(400, j, &code, &msg);
        assert_non_null(code);
        assert_non_null(msg);
        free(code);
        free(msg);
        sf_token t;
        char *err = NULL;
        sfa_status st = oauth_parse_token_response(&t, 200, j, &err);
        if (st == SFA_OK) {
            assert_non_null(t.access_token);
            assert_non_null(t.instance_url);
        } else {
            assert_non_null(err);
        }
        sf_token_clear(&t);
        free(err);
        char *o = NULL, *u = NULL;
        oauth_split_identity(s, &o, &u);
        free(o);
        free(u);
        cJSON_Delete(j);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_config),
        cmocka_unit_test(test_fuzz_headers),
        cmocka_unit_test(test_fuzz_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
