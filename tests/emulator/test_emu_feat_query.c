/* Emulator /query and /queryAll over HTTP: shapes, errors, paging with
 * Sforce-Query-Options, locators, snapshots and deleted rows (docs/salesforce.md#query). */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void query(fe_env *env, const char *res, const char *soql, const char *hdr, eh_response *out)
{
    char *q = fe_q(soql);
    char *path = xasprintf(FV "%s?q=%s", res, q);
    fe_req_hdr(env, "GET", path, NULL, hdr, NULL, out);
    free(path);
    free(q);
}

static void test_query_returns_matching_rows_in_salesforce_shape(void **state)
{
    fe_env *env = *state;
    char a[19], b[19];
    fe_case(env, "alpha", "k1", a);
    fe_case(env, "beta", "k2", b);
    eh_response r;
    query(env, "/query", "select id, subject from case where Subject = 'BETA'", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    assert_true(json_bool(r.json, "done", false));
    assert_null(cJSON_GetObjectItem(r.json, "nextRecordsUrl"));
    const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "records"), 0);
    const cJSON *attrs = cJSON_GetObjectItem(rec, "attributes");
    assert_string_equal(json_str(attrs, "type"), "Case");
    char url[96];
    snprintf(url, sizeof url, FV "/sobjects/Case/%s", b);
    assert_string_equal(json_str(attrs, "url"), url);
    assert_string_equal(json_str(rec, "Id"), b); /* canonical field names */
    assert_string_equal(json_str(rec, "Subject"), "beta");
    assert_null(cJSON_GetObjectItemCaseSensitive(rec, "Status")); /* only selected fields */
    eh_response_free(&r);
}

/* simple-salesforce asks for ".../query/?q=" (trailing slash) and ".../queryAll/?q=". */
static void test_query_accepts_trailing_slash_form(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "slash", NULL, id);
    eh_response r;
    query(env, "/query/", "SELECT Id FROM Case", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    eh_response_free(&r);
    query(env, "/queryAll/", "SELECT Id FROM Case", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    eh_response_free(&r);
}

static void test_query_errors_are_worded_like_salesforce(void **state)
{
    fe_env *env = *state;
    eh_response r;
    query(env, "/query", "SELECT Id FROM Bogus", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_TYPE");
    assert_non_null(strstr(fe_err(&r, 0, "message"), "sObject type 'Bogus' is not supported."));
    eh_response_free(&r);
    query(env, "/query", "SELECT Id FRM Case", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "MALFORMED_QUERY");
    eh_response_free(&r);
    query(env, "/query", "SELECT Id, Nope__c FROM Case", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_FIELD");
    assert_non_null(strstr(fe_err(&r, 0, "message"), "No such column 'Nope__c' on entity 'Case'"));
    eh_response_free(&r);
    fe_req(env, "GET", FV "/query", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "MALFORMED_QUERY");
    eh_response_free(&r);
    fe_req(env, "POST", FV "/query?q=SELECT+Id+FROM+Case", "{}", &r);
    assert_int_equal(r.status, 405);
    eh_response_free(&r);
}

static void test_query_count_returns_total_and_no_records(void **state)
{
    fe_env *env = *state;
    char id[19];
    for (int i = 0; i < 3; i++)
        fe_case(env, "x", NULL, id);
    eh_response r;
    query(env, "/query", "SELECT COUNT() FROM Case", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 3);
    assert_true(json_bool(r.json, "done", false));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 0);
    eh_response_free(&r);
}

/* GROUP BY answers AggregateResult records (keys: grouped field, alias, exprN) and
 * totalSize counts the groups; an ungrouped field is refused as Salesforce refuses it. */
static void test_query_group_by_returns_aggregate_results(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "a", NULL, id);
    fe_case(env, "b", NULL, id);
    fe_case(env, "a", NULL, id);
    eh_response r;
    query(env, "/query",
          "SELECT Subject, COUNT(Id) cnt, COUNT(Subject) FROM Case GROUP BY Subject "
          "ORDER BY COUNT(Id) DESC",
          NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 2);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(r.json, "records"));
    assert_string_equal(text, "[{\"attributes\":{\"type\":\"AggregateResult\"},\"Subject\":\"a\","
                              "\"cnt\":2,\"expr0\":2},{\"attributes\":{\"type\":"
                              "\"AggregateResult\"},\"Subject\":\"b\",\"cnt\":1,\"expr0\":1}]");
    free(text);
    eh_response_free(&r);
    query(env, "/query", "SELECT Subject, COUNT(Id) FROM Case", NULL, &r);
    assert_int_equal(r.status, 400);
    char *body = cJSON_PrintUnformatted(r.json);
    assert_non_null(strstr(body, "MALFORMED_QUERY"));
    assert_non_null(strstr(body, "Field must be grouped or aggregated: Subject"));
    free(body);
    eh_response_free(&r);
}

static void load_cases(fe_env *env, int n)
{
    char id[19], subj[32];
    for (int i = 0; i < n; i++) {
        snprintf(subj, sizeof subj, "case %05d", i);
        fe_case(env, subj, NULL, id);
    }
}

/* Follow nextRecordsUrl to the end; returns the page count, checks totalSize on each
 * page and that every Id is distinct. */
static int walk_pages(fe_env *env, eh_response *first, int total, int page, int *rows)
{
    eh_response r = *first;
    int pages = 0;
    cJSON *seen = cJSON_CreateObject();
    *rows = 0;
    for (;;) {
        pages++;
        assert_int_equal(r.status, 200);
        assert_int_equal(json_num(r.json, "totalSize", -1), total);
        const cJSON *recs = cJSON_GetObjectItem(r.json, "records");
        for (const cJSON *x = recs->child; x; x = x->next, (*rows)++) {
            assert_null(cJSON_GetObjectItem(seen, json_str(x, "Id")));
            cJSON_AddTrueToObject(seen, json_str(x, "Id"));
        }
        const char *next = json_str(r.json, "nextRecordsUrl");
        if (json_bool(r.json, "done", true)) {
            assert_null(cJSON_GetObjectItem(r.json, "nextRecordsUrl"));
            eh_response_free(&r);
            break;
        }
        assert_int_equal(cJSON_GetArraySize(recs), page);
        assert_non_null(next);
        assert_int_equal(strncmp(next, FV "/query/01g", strlen(FV "/query/01g")), 0);
        const char *loc = next + strlen(FV "/query/");
        assert_int_equal(strcspn(loc, "-"), 18);
        char *copy = xstrdup(next);
        eh_response_free(&r);
        fe_req(env, "GET", copy, NULL, &r);
        free(copy);
    }
    cJSON_Delete(seen);
    return pages;
}

static void test_query_pages_by_default_2000_and_honours_batch_size(void **state)
{
    fe_env *env = *state;
    load_cases(env, 2500);
    eh_response r;
    int rows;
    query(env, "/query", "SELECT Id, Subject FROM Case ORDER BY Subject", NULL, &r);
    assert_int_equal(walk_pages(env, &r, 2500, 2000, &rows), 2);
    assert_int_equal(rows, 2500);
    query(env, "/query", "SELECT Id FROM Case", "Sforce-Query-Options: batchSize=500", &r);
    assert_int_equal(walk_pages(env, &r, 2500, 500, &rows), 5);
    assert_int_equal(rows, 2500);
    /* below the minimum: 200; above the maximum: 2000 */
    query(env, "/query", "SELECT Id FROM Case", "Sforce-Query-Options: batchSize=10", &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 200);
    eh_response_free(&r);
    query(env, "/query", "SELECT Id FROM Case", "Sforce-Query-Options: batchSize=9000", &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 2000);
    eh_response_free(&r);
}

static void test_query_pages_are_a_snapshot_at_query_time(void **state)
{
    fe_env *env = *state;
    load_cases(env, 450);
    eh_response r;
    query(env, "/query", "SELECT Id FROM Case", "Sforce-Query-Options: batchSize=200", &r);
    char id[19];
    fe_case(env, "late", NULL, id); /* not part of the open query */
    int rows;
    assert_int_equal(walk_pages(env, &r, 450, 200, &rows), 3);
    assert_int_equal(rows, 450);
}

static void test_query_unknown_locator_is_invalid_query_locator(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "GET", FV "/query/01g000000000001AAA-200", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_QUERY_LOCATOR");
    eh_response_free(&r);
    fe_req(env, "GET", FV "/query/garbage", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_QUERY_LOCATOR");
    eh_response_free(&r);
}

static void test_queryall_returns_deleted_rows_and_query_does_not(void **state)
{
    fe_env *env = *state;
    char keep[19], gone[19];
    fe_case(env, "keep", NULL, keep);
    fe_case(env, "gone", NULL, gone);
    assert_int_equal(emu_record_remove(env->e, gone), 0);
    eh_response r;
    query(env, "/query", "SELECT Id, IsDeleted FROM Case", NULL, &r);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "records"), 0);
    assert_string_equal(json_str(rec, "Id"), keep);
    eh_response_free(&r);
    query(env, "/queryAll", "SELECT Id, IsDeleted FROM Case WHERE IsDeleted = TRUE", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "records"), 0);
    assert_string_equal(json_str(rec, "Id"), gone);
    assert_true(json_bool(rec, "IsDeleted", false));
    eh_response_free(&r);
}

static void test_queryall_next_records_url_uses_query(void **state)
{
    fe_env *env = *state;
    load_cases(env, 250);
    eh_response r;
    query(env, "/queryAll", "SELECT Id FROM Case", "Sforce-Query-Options: batchSize=200", &r);
    assert_false(json_bool(r.json, "done", true));
    assert_int_equal(strncmp(json_str(r.json, "nextRecordsUrl"), FV "/query/", 21), 0);
    int rows;
    assert_int_equal(walk_pages(env, &r, 250, 200, &rows), 2);
}

static void test_query_counts_one_api_call_per_page(void **state)
{
    fe_env *env = *state;
    long before = emu_api_usage(env->e);
    eh_response r;
    query(env, "/query", "SELECT Id FROM Case", NULL, &r);
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(env->e) - before, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_query_returns_matching_rows_in_salesforce_shape, fe_reset),
        cmocka_unit_test_setup(test_query_accepts_trailing_slash_form, fe_reset),
        cmocka_unit_test_setup(test_query_errors_are_worded_like_salesforce, fe_reset),
        cmocka_unit_test_setup(test_query_count_returns_total_and_no_records, fe_reset),
        cmocka_unit_test_setup(test_query_pages_by_default_2000_and_honours_batch_size, fe_reset),
        cmocka_unit_test_setup(test_query_pages_are_a_snapshot_at_query_time, fe_reset),
        cmocka_unit_test_setup(test_query_unknown_locator_is_invalid_query_locator, fe_reset),
        cmocka_unit_test_setup(test_queryall_returns_deleted_rows_and_query_does_not, fe_reset),
        cmocka_unit_test_setup(test_queryall_next_records_url_uses_query, fe_reset),
        cmocka_unit_test_setup(test_query_counts_one_api_call_per_page, fe_reset),
        cmocka_unit_test_setup(test_query_group_by_returns_aggregate_results, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
