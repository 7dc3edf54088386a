/* Tests for reading a composite answer in place (sync/engine/push_answer.c): what the
 * senders get from hostile or odd answer text must be what they got from one cJSON tree
 * (A1), and text the client would refuse is never read as an answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/engine/push_answer.h"
#include "util/alloc.h"
#include "util/strbuf.h"

/* A 2xx answer as sf_client_start_text hands it over. */
static sf_response text_answer(const char *text)
{
    sf_response r;
    memset(&r, 0, sizeof r);
    r.outcome = SF_ANSWERED;
    r.status = 200;
    r.body = xstrdup(text);
    r.body_len = strlen(text);
    return r;
}

static bool answer_of(const char *text, json_span *out)
{
    sf_response r = text_answer(text);
    static char keep[4096]; /* the span points into the text: keep it past the free */
    bool ok = push_answer_object(&r, out);
    if (ok) {
        assert_true(out->n < sizeof keep);
        memcpy(keep, out->p, out->n);
        out->p = keep;
    }
    sf_response_free(&r);
    return ok;
}

static void test_only_a_whole_object_is_an_answer(void **state)
{
    (void)state;
    json_span a;
    assert_true(answer_of(" {\"compositeResponse\":[]} ", &a));
    assert_false(answer_of("[{\"referenceId\":\"upsert\"}]", &a)); /* wrong type */
    assert_false(answer_of("\"compositeResponse\"", &a));
    assert_false(answer_of("{\"compositeResponse\":[{\"referenceId\":\"upsert\",\"body\":[", &a));
    assert_false(answer_of("{\"compositeResponse\":[]", &a)); /* truncated */
    assert_false(answer_of("{\"a\":tru}", &a));
    assert_false(answer_of("", &a));
    /* A tree already parsed (an error body) is not read as text. */
    sf_response r = text_answer("{}");
    r.json = cJSON_CreateObject();
    assert_false(push_answer_object(&r, &a));
    sf_response_free(&r);
}

static void test_nesting_deeper_than_the_scanner_allows_is_refused(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"compositeResponse\":[{\"referenceId\":\"keys\",\"body\":");
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH + 10; i++)
        strbuf_addc(&sb, '[');
    for (int i = 0; i < JSON_SCAN_MAX_DEPTH + 10; i++)
        strbuf_addc(&sb, ']');
    strbuf_adds(&sb, "}]}");
    sf_response r = text_answer(sb.buf);
    json_span a;
    assert_false(push_answer_object(&r, &a));
    sf_response_free(&r);
    strbuf_free(&sb);
}

static char *span_text(json_span s)
{
    return s.p ? xstrndup(s.p, s.n) : NULL;
}

static void test_sub_results_are_found_by_reference_first_one_wins(void **state)
{
    (void)state;
    const char *text =
        "{\"extra\":{\"compositeResponse\":1},"
        "\"compositeResponse\":["
        "  7, [\"upsert\"], {\"referenceId\":5}," /* not sub-results */
        "  {\"body\":[],\"httpStatusCode\":200,\"referenceId\":\"upse\\u0072t\",\"x\":null},"
        "  {\"referenceId\":\"upsert\",\"body\":\"second\"}," /* later duplicate */
        "  {\"referenceId\":\"keys\",\"referenceId\":\"upsert1\"}],"
        "\"compositeResponse\":\"ignored: the first member wins\"}";
    json_span a;
    assert_true(answer_of(text, &a));
    const char *refs[] = {"upsert", "upsert1", "upsert2", "keys"};
    json_span subs[4];
    push_answer_subs(a, refs, 4, subs);
    char *first = span_text(subs[0]);
    assert_non_null(strstr(first, "\"x\":null")); /* escaped name, first element */
    free(first);
    assert_null(subs[1].p); /* a duplicate referenceId: the first one is the name */
    assert_null(subs[2].p); /* missing */
    assert_non_null(subs[3].p);
    cJSON *tree = push_answer_tree(subs[0]);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(tree, "body")));
    cJSON_Delete(tree);
    assert_null(push_answer_tree(subs[2]));
}

static void test_missing_or_mistyped_composite_response_has_no_sub_results(void **state)
{
    (void)state;
    const char *texts[] = {"{}", "{\"compositeResponse\":null}",
                           "{\"compositeResponse\":{\"referenceId\":\"upsert\"}}",
                           "{\"compositeResponse\":\"upsert\"}"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        json_span a;
        assert_true(answer_of(texts[t], &a));
        const char *refs[] = {"upsert"};
        json_span subs[1] = {{"x", 1}};
        push_answer_subs(a, refs, 1, subs);
        assert_null(subs[0].p);
    }
}

typedef struct seen {
    int calls;
    char ids[8][24];
} seen;

static void note_row(const cJSON *r, void *arg)
{
    seen *s = arg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "Id");
    snprintf(s->ids[s->calls % 8], sizeof s->ids[0], "%s",
             cJSON_IsString(id) ? id->valuestring
             : r                ? "(no Id)"
                                : "(null)");
    s->calls++;
}

static bool rows_of(const char *sub_text, seen *s)
{
    memset(s, 0, sizeof *s);
    json_span sub = {sub_text, strlen(sub_text)};
    return push_answer_rows(sub, note_row, s);
}

static void test_query_rows_are_read_one_at_a_time(void **state)
{
    (void)state;
    seen s;
    assert_true(rows_of("{\"body\":{\"totalSize\":3,\"records\":[{\"Id\":\"a\"},{\"x\":1},"
                        "{\"Id\":\"c\",\"extra\":[1,{\"y\":2}]}],\"done\":true},"
                        "\"referenceId\":\"keys\"}",
                        &s));
    assert_int_equal(s.calls, 3);
    assert_string_equal(s.ids[0], "a");
    assert_string_equal(s.ids[1], "(no Id)");
    assert_string_equal(s.ids[2], "c");
    /* Rows that are not objects still reach the matcher, which ignores them. */
    assert_true(rows_of("{\"body\":{\"records\":[1,null]}}", &s));
    assert_int_equal(s.calls, 2);
}

static void test_query_without_a_records_array_has_no_rows(void **state)
{
    (void)state;
    seen s;
    const char *texts[] = {"{}", "{\"body\":null}", "{\"body\":[{\"errorCode\":\"X\"}]}",
                           "{\"body\":{\"records\":{\"Id\":\"a\"}}}",
                           "{\"body\":{\"records\":\"[]\"}}"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        assert_false(rows_of(texts[t], &s));
        assert_int_equal(s.calls, 0);
    }
    memset(&s, 0, sizeof s);
    assert_false(push_answer_rows((json_span){NULL, 0}, note_row, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_a_whole_object_is_an_answer),
        cmocka_unit_test(test_nesting_deeper_than_the_scanner_allows_is_refused),
        cmocka_unit_test(test_sub_results_are_found_by_reference_first_one_wins),
        cmocka_unit_test(test_missing_or_mistyped_composite_response_has_no_sub_results),
        cmocka_unit_test(test_query_rows_are_read_one_at_a_time),
        cmocka_unit_test(test_query_without_a_records_array_has_no_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
