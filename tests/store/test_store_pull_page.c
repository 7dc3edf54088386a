/* store_pull_page's all_new hint (M10 of store/mirror.c): a query that began with no
 * record of its object skips the per-record lookups, and a record cached after all (here
 * by `get --refresh`'s store_pull_one between the query's start and its page) is merged,
 * not duplicated, with the hint cleared for the query's next pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pull.h"
#include "store/store_test_util.h"
#include "util/alloc.h"

#define STAMP "2026-01-01T00:00:00.000+0000"

/* Page record i: Case 500...i with Subject s. */
static char *record(int i, const char *subject)
{
    return xasprintf("{\"attributes\":{\"type\":\"Case\"},\"Id\":\"5005g00000000%02dAAA\","
                     "\"SystemModstamp\":\"" STAMP "\",\"CaseNumber\":\"000010%02d\","
                     "\"Subject\":\"%s\",\"Status\":\"New\"}",
                     i, i, subject);
}

typedef struct page {
    char *text[8];
    json_span span[8];
    size_t n;
} page;

static void page_add(page *p, int i, const char *subject)
{
    p->text[p->n] = record(i, subject);
    p->span[p->n] = (json_span){p->text[p->n], strlen(p->text[p->n])};
    p->n++;
}

static void page_free(page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->text[i]);
}

/* A fixture whose Case pull has begun (a pull_state row, as the engine's first pull). */
static store_fixture *pulling_fixture(void)
{
    store_fixture *f = fixture_new();
    assert_int_equal(store_pull_state_reset(f->agent, "Case", "scope", STAMP, false), SFA_OK);
    return f;
}

static long count_cases(store_fixture *f)
{
    return (long)raw_int(f->path, "SELECT count(*) FROM records WHERE sobject = 'Case'");
}

static void test_empty_object_pulls_without_lookups(void **state)
{
    (void)state;
    store_fixture *f = pulling_fixture();
    bool all_new = false;
    assert_int_equal(store_pull_object_empty(f->agent, "Case", &all_new), SFA_OK);
    assert_true(all_new);
    page p = {0};
    for (int i = 1; i <= 3; i++)
        page_add(&p, i, "first");
    store_pull_counts c = {0};
    assert_int_equal(store_pull_page(f->agent, "Case", p.span, p.n, NULL, 1000, &all_new, &c),
                     SFA_OK);
    assert_true(all_new); /* nothing was there: the hint holds for the next page */
    assert_int_equal(c.added, 3);
    assert_int_equal(count_cases(f), 3);
    assert_int_equal(store_pull_object_empty(f->agent, "Case", &all_new), SFA_OK);
    assert_false(all_new);
    page_free(&p);
    fixture_free(f);
}

static void test_record_cached_after_all_is_merged(void **state)
{
    (void)state;
    store_fixture *f = pulling_fixture();
    bool all_new = false;
    assert_int_equal(store_pull_object_empty(f->agent, "Case", &all_new), SFA_OK);
    assert_true(all_new);
    /* Between the query's start and its page, a refresh caches record 2. */
    char *two = record(2, "refreshed");
    cJSON *rec = cJSON_Parse(two);
    store_pull_counts c = {0};
    assert_int_equal(store_pull_one(f->agent, "Case", rec, NULL, NULL, &c), SFA_OK);
    cJSON_Delete(rec);
    free(two);
    page p = {0};
    for (int i = 1; i <= 3; i++)
        page_add(&p, i, "pulled");
    c = (store_pull_counts){0};
    assert_int_equal(store_pull_page(f->agent, "Case", p.span, p.n, NULL, 1000, &all_new, &c),
                     SFA_OK);
    assert_false(all_new); /* the rest of the query looks records up */
    assert_int_equal(c.pulled, 3);
    assert_int_equal(c.added, 2);
    assert_int_equal(c.updated, 1);
    assert_int_equal(count_cases(f), 3); /* merged, not doubled */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records WHERE fields ->> 'Subject'"
                                      " = 'pulled'"),
                     3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pull_state WHERE sobject = 'Case'"
                                      " AND mark_id = '5005g0000000003AAA'"),
                     1);
    page_free(&p);
    fixture_free(f);
}

static void test_page_repeating_an_id_is_refused_whole(void **state)
{
    (void)state;
    store_fixture *f = pulling_fixture();
    page p = {0};
    page_add(&p, 1, "a");
    page_add(&p, 2, "b");
    page_add(&p, 1, "a again");
    for (int hint = 0; hint < 2; hint++) {
        bool all_new = hint;
        store_pull_counts c = {0};
        assert_int_not_equal(
            store_pull_page(f->agent, "Case", p.span, p.n, NULL, 1000, &all_new, &c), SFA_OK);
        assert_non_null(strstr(sfa_agent_errmsg(f->agent), "twice"));
        assert_int_equal(c.pulled, 0);
        assert_int_equal(count_cases(f), 0); /* nothing half-written, no mark moved */
        assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pull_state WHERE mark_id"
                                          " IS NOT NULL"),
                         0);
    }
    page_free(&p);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_object_pulls_without_lookups),
        cmocka_unit_test(test_record_cached_after_all_is_merged),
        cmocka_unit_test(test_page_repeating_an_id_is_refused_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
