/* Emulator under parallel load: 8 client threads create and update records at once over
 * separate connections; afterwards every record exists exactly once with its final values,
 * Ids and CaseNumbers are unique, and SystemModstamps are whole seconds (they tie within
 * one second, as on Salesforce). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS    8
#define PER_THREAD 100 /* creates; each then gets 2 updates and 1 upsert: 400 requests */

typedef struct worker {
    emu *e;
    const char *tok;
    int n;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char *ids[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        char *body =
            xasprintf("{\"Subject\":\"t%d-%d v0\",\"Sync_Key__c\":\"t%d-%d\"}", w->n, i, w->n, i);
        eh_response r;
        ids[i] = NULL;
        if (eh_request(w->e, "POST", "/services/data/v62.0/sobjects/Case/", w->tok, body, &r) ||
            r.status != 201)
            w->failures++;
        else
            ids[i] = xstrdup(json_str(r.json, "id"));
        eh_response_free(&r);
        free(body);
    }
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < PER_THREAD; i++) {
            if (!ids[i])
                continue;
            char *path = xasprintf("/services/data/v62.0/sobjects/Case/%s", ids[i]);
            char *body = xasprintf("{\"Subject\":\"t%d-%d v%d\"}", w->n, i, round);
            eh_response r;
            if (eh_request(w->e, "PATCH", path, w->tok, body, &r) || r.status != 204)
                w->failures++;
            eh_response_free(&r);
            free(path);
            free(body);
        }
    }
    for (int i = 0; i < PER_THREAD; i++) {
        char *path = xasprintf("/services/data/v62.0/sobjects/Case/Sync_Key__c/t%d-%d", w->n, i);
        eh_response r;
        if (eh_request(w->e, "PATCH", path, w->tok, "{\"Status\":\"Working\"}", &r) ||
            r.status != 200)
            w->failures++;
        eh_response_free(&r);
        free(path);
        free(ids[i]);
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when the n strings in v (sorted here) are pairwise distinct. */
static bool all_distinct(const char **v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1], v[i]) == 0)
            return false;
    return true;
}

static void test_parallel_creates_and_updates(void **state)
{
    (void)state;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, NULL), 0);
    char *tok = eh_login(e);
    assert_non_null(tok);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.e = e, .tok = tok, .n = i};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    size_t total = THREADS * PER_THREAD;
    cJSON *recs = emu_records(e, "Case", true);
    assert_int_equal((size_t)cJSON_GetArraySize(recs), total);
    const char **ids = xcalloc(total, sizeof *ids), **nums = xcalloc(total, sizeof *nums);
    const char **keys = xcalloc(total, sizeof *keys), **stamps = xcalloc(total, sizeof *stamps);
    size_t k = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, recs)
    {
        const char *key = json_str(r, "Sync_Key__c");
        char *want = xasprintf("%s v2", key);
        assert_string_equal(json_str(r, "Subject"), want);
        assert_string_equal(json_str(r, "Status"), "Working");
        free(want);
        ids[k] = json_str(r, "Id");
        nums[k] = json_str(r, "CaseNumber");
        keys[k] = key;
        stamps[k] = json_str(r, "SystemModstamp");
        k++;
    }
    assert_true(all_distinct(ids, total));
    assert_true(all_distinct(nums, total));
    assert_true(all_distinct(keys, total));
    for (size_t i = 0; i < total; i++)
        assert_non_null(strstr(stamps[i], ".000+0000"));
    assert_int_equal(emu_request_count(e, NULL, "/services/data/*"), total * 4);
    free(ids);
    free(nums);
    free(keys);
    free(stamps);
    cJSON_Delete(recs);
    free(tok);
    emu_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_creates_and_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
