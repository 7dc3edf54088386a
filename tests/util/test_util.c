/* Tests for util/: Salesforce Id checksums, time formats, API-name syntax, status texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/status.h"
#include "util/json.h"
#include "util/names.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static void test_sfid_checksum_matches_documented_ids(void **state)
{
    (void)state;
    char out[19];
    /* Ids printed verbatim in the REST guide (docs/salesforce.md#ids). */
    assert_true(sfid_to18("001D000000IqhSL", out));
    assert_string_equal(out, "001D000000IqhSLIAZ");
    assert_true(sfid_to18("001D000000INjVe", out));
    assert_string_equal(out, "001D000000INjVeIAL");
    assert_true(sfid_to18("a0BA0000000L2ZC", out));
    assert_string_equal(out, "a0BA0000000L2ZCMA0");
}

static void test_sfid_validation(void **state)
{
    (void)state;
    assert_true(sfid_is_valid("001D000000IqhSLIAZ"));
    assert_true(sfid_is_valid("001D000000IqhSLiaz")); /* checksum case-insensitive */
    assert_false(sfid_is_valid("001D000000IqhSLAAA"));
    assert_false(sfid_is_valid("001D000000IqhS"));
    assert_false(sfid_is_valid("001D000000Iqh-L"));
    assert_false(sfid_is_valid(NULL));
    assert_true(sfid_equal("001D000000IqhSL", "001D000000IqhSLIAZ"));
    assert_false(sfid_equal("001D000000IqhSL", "001D000000IqhSl"));
}

static void test_sfid_make_is_valid_and_unique(void **state)
{
    (void)state;
    char a[19], b[19];
    sfid_make("500", 1, a);
    sfid_make("500", 2, b);
    assert_true(sfid_is_valid(a));
    assert_true(sfid_is_valid(b));
    assert_memory_equal(a, "500", 3);
    assert_string_not_equal(a, b);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    char buf[32];
    int64_t ms;
    assert_true(time_parse_sf("2013-05-20T20:49:32.000+0000", &ms));
    time_format_sf(ms, buf);
    assert_string_equal(buf, "2013-05-20T20:49:32.000+0000");
    assert_true(time_parse_sf("2013-05-20T22:49:32.5+02:00", &ms));
    time_format_sf(ms, buf);
    assert_string_equal(buf, "2013-05-20T20:49:32.500+0000");
    assert_true(time_parse_sf("2005-10-08T01:02:03Z", &ms));
    time_format_iso_z(ms, buf);
    assert_string_equal(buf, "2005-10-08T01:02:03Z");
    assert_true(time_parse_sf("2005-10-08", &ms));
    assert_false(time_parse_sf("2005-13-08", &ms));
    assert_false(time_parse_sf("2005-10-08T01:02", &ms));
    assert_false(time_parse_sf("yesterday", &ms));
    /* HTTP's Date, as curl_getdate reads it back (the client's clock: sf_client.c I14) */
    assert_true(time_parse_sf("2026-12-02T00:01:31.999Z", &ms));
    time_format_http(ms, buf);
    assert_string_equal(buf, "Wed, 02 Dec 2026 00:01:31 GMT");
    assert_int_equal((int64_t)curl_getdate(buf, NULL) * 1000, ms - 999);
    time_format_http(0, buf);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void test_api_names(void **state)
{
    (void)state;
    assert_true(name_is_valid_api_name("Case"));
    assert_true(name_is_valid_api_name("Sync_Key__c"));
    assert_true(name_is_valid_api_name("ns__Visit__c"));
    assert_false(name_is_valid_api_name("1Case"));
    assert_false(name_is_valid_api_name("Case;DROP"));
    assert_false(name_is_valid_api_name("Bad_"));
    assert_false(name_is_valid_api_name("a___b"));
    assert_false(name_is_valid_api_name(""));
    char longname[100];
    memset(longname, 'a', 81);
    longname[81] = '\0';
    assert_false(name_is_valid_api_name(longname));
}

static void test_strerror_covers_every_status(void **state)
{
    (void)state;
    for (int s = SFA_OK; s >= SFA_ETLS; s--) {
        const char *text = sfa_strerror((sfa_status)s);
        assert_non_null(text);
        assert_string_not_equal(text, "unknown status");
    }
}

/* Exact numbers (json_parse_exact Raw items) compare by value with cJSON doubles, so the
 * push engine's conflict check sees 5 and 5.0 as one value, and two 18-digit literals
 * that a double cannot tell apart as two. */
static void test_json_same_value_compares_numbers_by_value(void **state)
{
    (void)state;
    const char *err = NULL;
    const char *text = "{\"a\":5,\"b\":5.0,\"c\":123456789012345678,\"d\":123456789012345679}";
    cJSON *exact = json_parse_exact(text, strlen(text), &err);
    cJSON *plain = cJSON_Parse(text);
    assert_non_null(exact);
    assert_true(json_same_value(cJSON_GetObjectItem(exact, "a"), cJSON_GetObjectItem(plain, "a")));
    assert_true(json_same_value(cJSON_GetObjectItem(exact, "a"), cJSON_GetObjectItem(exact, "b")));
    assert_true(json_same_value(cJSON_GetObjectItem(exact, "c"), cJSON_GetObjectItem(exact, "c")));
    assert_false(json_same_value(cJSON_GetObjectItem(exact, "c"), cJSON_GetObjectItem(exact, "d")));
    assert_false(json_same_value(cJSON_GetObjectItem(exact, "a"), cJSON_GetObjectItem(plain, "c")));
    cJSON *str = cJSON_CreateString("5");
    assert_false(json_same_value(cJSON_GetObjectItem(exact, "a"), str));
    cJSON_Delete(str);
    cJSON_Delete(exact);
    cJSON_Delete(plain);
}

static void to_strbuf(const char *p, size_t n, void *arg)
{
    strbuf_add(arg, p, n);
}

/* json_print_to hands out json_print's text byte for byte, whatever the tree holds. */
static void test_json_print_to_matches_json_print(void **state)
{
    (void)state;
    const char *texts[] = {
        "{}",
        "[]",
        "null",
        "\"a\\\"b\\u0001\"",
        "-1.5e3",
        "{\"k\\\"\\n\":[1,2.25,true,false,null,{},[],\"\\u00e9\\ud83d\\ude00\"],\"\":{\"x\":[[[]]]}"
        "}",
        "[{\"method\":\"PATCH\",\"body\":{\"allOrNone\":false,\"records\":[]}},7]"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        cJSON *tree = cJSON_Parse(texts[i]);
        assert_non_null(tree);
        strbuf sb = STRBUF_INIT;
        json_print_to(tree, to_strbuf, &sb);
        char *whole = json_print(tree);
        assert_string_equal(strbuf_str(&sb), whole);
        free(whole);
        strbuf_free(&sb);
        cJSON_Delete(tree);
    }
    /* Raw items (exact numbers, records printed one at a time) are written as they are. */
    const char *err = NULL;
    cJSON *exact = json_parse_exact("{\"n\":1.000000000000000000001}", 29, &err);
    assert_non_null(exact);
    cJSON_AddItemToObject(exact, "records", cJSON_CreateRaw("[{\"a\":1}]"));
    strbuf sb = STRBUF_INIT;
    json_print_to(exact, to_strbuf, &sb);
    assert_string_equal(strbuf_str(&sb), "{\"n\":1.000000000000000000001,\"records\":[{\"a\":1}]}");
    strbuf_free(&sb);
    cJSON_Delete(exact);
}

static void test_strbuf(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    assert_string_equal(strbuf_str(&sb), "");
    for (int i = 0; i < 100; i++)
        strbuf_addf(&sb, "%d,", i);
    assert_int_equal(sb.len, 290);
    strbuf_reset(&sb);
    strbuf_adds(&sb, "x");
    assert_string_equal(strbuf_str(&sb), "x");
    strbuf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sfid_checksum_matches_documented_ids),
        cmocka_unit_test(test_sfid_validation),
        cmocka_unit_test(test_sfid_make_is_valid_and_unique),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_api_names),
        cmocka_unit_test(test_strerror_covers_every_status),
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_json_print_to_matches_json_print),
        cmocka_unit_test(test_json_same_value_compares_numbers_by_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
