/* Tests for util/json_scan.c: the scanner the pull reads query pages with. What it
 * accepts must be exactly valid JSON (cJSON and SQLite agree); truncated, hostile and
 * deeply nested text is refused without reading past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json_scan.h"

/* The scanned length of text (-1: refused). The text is copied into a buffer of exactly
 * its length, so ASan sees any read past the end. */
static long scan_len(const char *text)
{
    size_t n = strlen(text);
    char *copy = xmalloc(n ? n : 1);
    memcpy(copy, text, n);
    const char *e = json_scan_value(copy, copy + n);
    long out = e ? (long)(e - copy) : -1;
    free(copy);
    return out;
}

static void test_scan_accepts_valid_values(void **state)
{
    (void)state;
    const char *ok[] = {"0",
                        "-0",
                        "12",
                        "-1.5e+10",
                        "1E5",
                        "0.25",
                        "true",
                        "false",
                        "null",
                        "\"\"",
                        "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"",
                        "[]",
                        "{}",
                        " [ 1 , \"x\" , { \"k\" : [ null ] } ] ",
                        "{\"a\":{\"b\":{\"c\":[]}}}"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        long n = scan_len(ok[i]);
        /* Whole text minus trailing blanks. */
        size_t want = strlen(ok[i]);
        while (want && ok[i][want - 1] == ' ')
            want--;
        if (n != (long)want)
            fail_msg("refused or misread: %s (%ld)", ok[i], n);
        cJSON *j = cJSON_Parse(ok[i]);
        assert_non_null(j); /* the reference agrees */
        cJSON_Delete(j);
    }
    /* A value ends where it ends: what follows is the caller's business. */
    assert_int_equal(scan_len("{\"a\":1} trailing"), 7);
    assert_int_equal(scan_len("[1]]"), 3);
}

static void test_scan_refuses_malformed_and_truncated(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         " ",
                         "{",
                         "[",
                         "[1",
                         "[1,",
                         "[1,]",
                         "{\"a\"}",
                         "{\"a\":}",
                         "{\"a\":1,}",
                         "{a:1}",
                         "{\"a\" 1}",
                         "[1 2]",
                         "[}",
                         "{]",
                         "\"abc",
                         "\"a\\\"",
                         "\"\\x\"",
                         "\"\\u12\"",
                         "\"\\u12g4\"",
                         "\"tab\there\"",
                         "[01]",
                         "1.",
                         ".5",
                         "-",
                         "1e",
                         "1e+",
                         "+1",
                         "tru",
                         "nul",
                         "True",
                         "[\"a\"",
                         "{\"k\":\"v",
                         "{\"k\":[1,{\"x\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (scan_len(bad[i]) != -1)
            fail_msg("accepted: %s", bad[i]);
    /* Every proper prefix of a valid document is truncated, hence refused. */
    const char *doc =
        "{\"records\":[{\"Id\":\"500\",\"N\":-1.5e3,\"S\":\"a\\\"]}\"}],\"done\":true}";
    size_t n = strlen(doc);
    for (size_t cut = 0; cut < n; cut++) {
        char *prefix = xstrndup(doc, cut);
        if (scan_len(prefix) != -1 && strspn(prefix, " ") != cut)
            fail_msg("accepted a truncated prefix of %zu bytes", cut);
        free(prefix);
    }
    assert_int_equal(scan_len(doc), (long)n);
}

static void test_scan_nesting_is_bounded(void **state)
{
    (void)state;
    size_t deep = JSON_SCAN_MAX_DEPTH;
    char *ok = xmalloc(2 * deep + 1), *over = xmalloc(2 * deep + 3);
    memset(ok, '[', deep);
    memset(ok + deep, ']', deep);
    ok[2 * deep] = '\0';
    memset(over, '[', deep + 1);
    memset(over + deep + 1, ']', deep + 1);
    over[2 * deep + 2] = '\0';
    assert_int_equal(scan_len(ok), (long)(2 * deep));
    assert_int_equal(scan_len(over), -1);
    /* A million open brackets: refused at the limit, no recursion to blow the stack. */
    size_t huge = 1000000;
    char *flood = xmalloc(huge + 1);
    memset(flood, '[', huge);
    flood[huge] = '\0';
    assert_int_equal(scan_len(flood), -1);
    free(ok);
    free(over);
    free(flood);
}

static void test_scan_huge_string(void **state)
{
    (void)state;
    size_t n = 4 * 1024 * 1024;
    char *s = xmalloc(n + 3);
    s[0] = '"';
    memset(s + 1, 'x', n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    assert_int_equal(scan_len(s), (long)(n + 2));
    s[n + 1] = '\\'; /* the closing quote escaped away: unterminated */
    assert_int_equal(scan_len(s), -1);
    free(s);
}

static json_span span_of(const char *s)
{
    return (json_span){s, strlen(s)};
}

static void test_members_and_elements(void **state)
{
    (void)state;
    const char *page = "{\"totalSize\":2,\"done\":false,\"nextRecordsUrl\":\"/q/01g-2000\","
                       "\"records\":[{\"Id\":\"a\"},{\"Id\":\"b\",\"x\":[1,{\"y\":\"}\"}]}]}";
    json_iter it, rit;
    json_span k, v, rec;
    assert_true(json_iter_object(&it, span_of(page)));
    int members = 0, records = 0;
    while (json_next_member(&it, &k, &v)) {
        members++;
        if (!json_key_is(k, "records"))
            continue;
        assert_true(json_iter_array(&rit, v));
        while (json_next_element(&rit, &rec))
            records++;
        assert_false(rit.failed);
        assert_true(rit.done);
    }
    assert_false(it.failed);
    assert_true(it.done);
    assert_int_equal(members, 4);
    assert_int_equal(records, 2);
    char *url = json_member_str(span_of(page), "nextRecordsUrl");
    assert_string_equal(url, "/q/01g-2000");
    free(url);
    assert_null(json_member_str(span_of(page), "done")); /* not a string */
    assert_null(json_member_str(span_of(page), "missing"));
    assert_true(json_member(span_of(page), "done", &v));
    assert_int_equal(v.n, 5);
    /* Empty containers, and an object that is not one. */
    assert_true(json_iter_array(&rit, span_of(" [ ] ")));
    assert_false(json_next_element(&rit, &rec));
    assert_false(rit.failed);
    assert_false(json_iter_object(&it, span_of("[1]")));
    /* Malformed contents fail the walk, not just stop it. */
    assert_true(json_iter_array(&rit, span_of("[{\"Id\":\"a\"} {\"Id\":\"b\"}]")));
    assert_true(json_next_element(&rit, &rec));
    assert_false(json_next_element(&rit, &rec));
    assert_true(rit.failed);
    assert_true(json_iter_array(&rit, span_of("[1,")));
    assert_true(json_next_element(&rit, &rec));
    assert_false(json_next_element(&rit, &rec));
    assert_true(rit.failed);
}

/* Walking a large array in place: the parent moves past it only when it ended cleanly. */
static void test_enter_array_in_place(void **state)
{
    (void)state;
    json_iter it, arr;
    json_span k, v;
    int n = 0;
    assert_true(json_iter_object(&it, span_of("{\"records\": [ {\"a\":1}, [2] ], \"done\":true}")));
    assert_true(json_next_key(&it, &k));
    assert_true(json_key_is(k, "records"));
    assert_true(json_enter_array(&it, &arr));
    while (json_next_element(&arr, &v))
        n++;
    json_leave(&it, &arr);
    assert_int_equal(n, 2);
    assert_false(it.failed);
    assert_true(json_next_key(&it, &k));
    assert_true(json_key_is(k, "done"));
    assert_false(json_enter_array(&it, &arr)); /* not an array: nothing consumed */
    assert_true(json_next_value(&it, &v));
    assert_int_equal(v.n, 4);
    assert_false(json_next_key(&it, &k));
    assert_true(it.done);
    assert_false(it.failed);
    /* A malformed element fails the parent too. */
    assert_true(json_iter_object(&it, span_of("{\"records\":[{\"a\":1} {}],\"done\":true}")));
    assert_true(json_next_key(&it, &k));
    assert_true(json_enter_array(&it, &arr));
    while (json_next_element(&arr, &v))
        ;
    json_leave(&it, &arr);
    assert_true(it.failed);
    assert_false(json_next_key(&it, &k));
}

static void test_strings_and_escaped_keys(void **state)
{
    (void)state;
    const char *obj = "{\"I\\u0064\":\"50\\u0030x\",\"q\":\"say \\\"hi\\\"\","
                      "\"nul\":\"a\\u0000b\",\"bs\":\"\\\\u0000\"}";
    char *id = json_member_str(span_of(obj), "Id"); /* the key is escaped */
    assert_string_equal(id, "500x");
    free(id);
    char *q = json_member_str(span_of(obj), "q");
    assert_string_equal(q, "say \"hi\"");
    free(q);
    assert_null(json_member_str(span_of(obj), "nul")); /* would be cut at the NUL */
    char *bs = json_member_str(span_of(obj), "bs");    /* an escaped backslash, then text */
    assert_string_equal(bs, "\\u0000");
    free(bs);
}

static void test_object_without_keeps_the_rest_exactly(void **state)
{
    (void)state;
    const char *rec = "{ \"attributes\" : {\"type\":\"Case\",\"url\":\"/x\"}, \"Id\":\"500\","
                      "\"N\":12345678901234567890, \"S\":\"a,b}\" }";
    char *out = json_object_without(span_of(rec), "attributes");
    assert_string_equal(out, "{\"Id\":\"500\",\"N\":12345678901234567890,\"S\":\"a,b}\"}");
    free(out);
    out = json_object_without(span_of("{\"attributes\":{}}"), "attributes");
    assert_string_equal(out, "{}");
    free(out);
    out = json_object_without(span_of("{\"a\":1,\"attributes\":2,\"b\":3}"), "attributes");
    assert_string_equal(out, "{\"a\":1,\"b\":3}");
    free(out);
    assert_null(json_object_without(span_of("{\"a\":1,"), "attributes"));
    assert_null(json_object_without(span_of("[1]"), "attributes"));
}

/* I4: strings are well-formed UTF-8, each sequence checked to its last byte. */
static void test_scan_strings_are_utf8(void **state)
{
    (void)state;
    const char *ok[] = {"\"caf\xc3\xa9\"", "\"\xe2\x82\xac 5\"", "\"\xf0\x9f\x98\x80\"",
                        "\"\xed\x9f\xbf\"", "\"\xf4\x8f\xbf\xbf\""};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(scan_len(ok[i]), (long)strlen(ok[i]));
    const char *bad[] = {
        "\"\xff\"",             /* never a UTF-8 byte */
        "\"\x80\"",             /* a continuation byte alone */
        "\"\xc3\"",             /* cut short by the quote */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xe0\x80\xaf\"",     /* overlong, three bytes */
        "\"\xed\xa0\x80\"",     /* a surrogate (U+D800) */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xe2\x82\"",         /* three-byte sequence with two bytes */
        "\"\xc3\xa9",           /* the text ends inside the string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (scan_len(bad[i]) != -1)
            fail_msg("accepted bad UTF-8 #%zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_accepts_valid_values),
        cmocka_unit_test(test_scan_refuses_malformed_and_truncated),
        cmocka_unit_test(test_scan_strings_are_utf8),
        cmocka_unit_test(test_scan_nesting_is_bounded),
        cmocka_unit_test(test_scan_huge_string),
        cmocka_unit_test(test_members_and_elements),
        cmocka_unit_test(test_enter_array_in_place),
        cmocka_unit_test(test_strings_and_escaped_keys),
        cmocka_unit_test(test_object_without_keeps_the_rest_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
