/* Emulator /composite and /composite/batch over HTTP (docs/salesforce.md#composite):
 * references, allOrNone rollback with PROCESSING_HALTED, request-level limits, the push
 * engine's upsert+query shape, per-record faults, and composite batch. */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define COMP FV "/composite"

static const cJSON *sub(const eh_response *r, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "compositeResponse"), i);
}

static int sub_status(const eh_response *r, int i)
{
    return (int)json_num(sub(r, i), "httpStatusCode", -1);
}

static const char *sub_err(const eh_response *r, int i)
{
    return json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(sub(r, i), "body"), 0), "errorCode");
}

static void test_composite_resolves_references(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "POST", COMP,
           "{\"allOrNone\":true,\"compositeRequest\":["
           "{\"method\":\"POST\",\"url\":\"" FV
           "/sobjects/Contact\",\"referenceId\":\"newContact\","
           "\"body\":{\"LastName\":\"Smith\"}},"
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\",\"referenceId\":\"newCase\","
           "\"body\":{\"Subject\":\"ref\",\"ContactId\":\"@{newContact.id}\"}},"
           "{\"method\":\"GET\",\"url\":\"" FV "/sobjects/Case/@{newCase.id}?fields=Subject,"
           "ContactId\",\"referenceId\":\"readBack\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sub_status(&r, 0), 201);
    assert_int_equal(sub_status(&r, 1), 201);
    assert_int_equal(sub_status(&r, 2), 200);
    const char *contact = json_str(cJSON_GetObjectItem(sub(&r, 0), "body"), "id");
    assert_non_null(contact);
    const char *loc = json_str(cJSON_GetObjectItem(sub(&r, 0), "httpHeaders"), "Location");
    char want[96];
    snprintf(want, sizeof want, FV "/sobjects/Contact/%s", contact);
    assert_string_equal(loc, want);
    assert_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(sub(&r, 0), "httpHeaders"), "Sforce-Limit-Info"));
    const cJSON *read = cJSON_GetObjectItem(sub(&r, 2), "body");
    assert_string_equal(json_str(read, "ContactId"), contact);
    assert_string_equal(json_str(sub(&r, 2), "referenceId"), "readBack");
    eh_response_free(&r);
}

static void test_composite_all_or_none_rolls_back_and_halts_others(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "POST", COMP,
           "{\"allOrNone\":true,\"compositeRequest\":["
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\",\"referenceId\":\"c1\","
           "\"body\":{\"Subject\":\"kept?\"}},"
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Contact\",\"referenceId\":\"bad\","
           "\"body\":{\"FirstName\":\"NoLast\"}},"
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\",\"referenceId\":\"c3\","
           "\"body\":{\"Subject\":\"never\"}}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sub_status(&r, 0), 400);
    assert_string_equal(sub_err(&r, 0), "PROCESSING_HALTED");
    assert_int_equal(sub_status(&r, 1), 400);
    assert_string_equal(sub_err(&r, 1), "REQUIRED_FIELD_MISSING");
    assert_int_equal(sub_status(&r, 2), 400);
    assert_string_equal(sub_err(&r, 2), "PROCESSING_HALTED");
    assert_string_equal(json_str(sub(&r, 2), "referenceId"), "c3");
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 0);
    assert_int_equal(emu_record_count(env->e, "Contact", true), 0);
}

static void test_composite_without_all_or_none_fails_only_dependents(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "POST", COMP,
           "{\"allOrNone\":false,\"compositeRequest\":["
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Contact\",\"referenceId\":\"bad\","
           "\"body\":{\"FirstName\":\"NoLast\"}},"
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\",\"referenceId\":\"dep\","
           "\"body\":{\"Subject\":\"x\",\"ContactId\":\"@{bad.id}\"}},"
           "{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\",\"referenceId\":\"indep\","
           "\"body\":{\"Subject\":\"y\"}}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sub_status(&r, 0), 400);
    assert_int_equal(sub_status(&r, 1), 400);
    assert_int_equal(sub_status(&r, 2), 201);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 1);
}

/* The exact shape the push engine sends: a collections upsert, then a query by key. */
static void test_composite_upsert_then_query_by_sync_key(void **state)
{
    fe_env *env = *state;
    char old[19];
    fe_case(env, "old", "SK-1", old);
    char *q = fe_q("SELECT Id,CaseNumber,SystemModstamp,Sync_Key__c FROM Case WHERE "
                   "Sync_Key__c IN ('SK-1','SK-2')");
    char *body = xasprintf(
        "{\"allOrNone\":false,\"collateSubrequests\":false,\"compositeRequest\":["
        "{\"method\":\"PATCH\",\"url\":\"" FV "/composite/sobjects/Case/Sync_Key__c\","
        "\"referenceId\":\"up\",\"body\":{\"allOrNone\":false,\"records\":["
        "{\"attributes\":{\"type\":\"Case\"},\"Sync_Key__c\":\"SK-1\",\"Subject\":\"new1\"},"
        "{\"attributes\":{\"type\":\"Case\"},\"Sync_Key__c\":\"SK-2\",\"Subject\":\"new2\"}]}},"
        "{\"method\":\"GET\",\"url\":\"" FV "/query?q=%s\",\"referenceId\":\"q\"}]}",
        q);
    long before = emu_api_usage(env->e);
    eh_response r;
    fe_req(env, "POST", COMP, body, &r);
    assert_int_equal(emu_api_usage(env->e) - before, 1);
    assert_int_equal(r.status, 200);
    assert_int_equal(sub_status(&r, 0), 200);
    const cJSON *up = cJSON_GetObjectItem(sub(&r, 0), "body");
    assert_false(json_bool(cJSON_GetArrayItem(up, 0), "created", true));
    assert_true(json_bool(cJSON_GetArrayItem(up, 1), "created", false));
    assert_int_equal(sub_status(&r, 1), 200);
    const cJSON *qb = cJSON_GetObjectItem(sub(&r, 1), "body");
    assert_int_equal(json_num(qb, "totalSize", -1), 2);
    for (const cJSON *x = cJSON_GetObjectItem(qb, "records")->child; x; x = x->next) {
        assert_non_null(json_str(x, "CaseNumber"));
        assert_non_null(json_str(x, "SystemModstamp"));
    }
    eh_response_free(&r);
    free(body);
    free(q);
}

static void test_composite_reference_into_query_records(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "target", "T-1", id);
    eh_response r;
    fe_req(env, "POST", COMP,
           "{\"compositeRequest\":["
           "{\"method\":\"GET\",\"url\":\"" FV "/query?q=SELECT+Id+FROM+Case+WHERE+Sync_Key__c"
           "+%3D+%27T-1%27\",\"referenceId\":\"q\"},"
           "{\"method\":\"PATCH\",\"url\":\"" FV "/sobjects/Case/@{q.records[0].Id}\","
           "\"referenceId\":\"u\",\"body\":{\"Subject\":\"patched\"}}]}",
           &r);
    assert_int_equal(sub_status(&r, 0), 200);
    assert_int_equal(sub_status(&r, 1), 204);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(sub(&r, 1), "body")));
    eh_response_free(&r);
    cJSON *rec = emu_record_get(env->e, id);
    assert_string_equal(json_str(rec, "Subject"), "patched");
    cJSON_Delete(rec);
}

static void expect_400(fe_env *env, const char *body)
{
    eh_response r;
    fe_req(env, "POST", COMP, body, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(fe_err(&r, 0, "errorCode"));
    eh_response_free(&r);
}

static char *many(const char *url, int n)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"compositeRequest\":[");
    for (int i = 0; i < n; i++)
        strbuf_addf(&sb, "%s{\"method\":\"GET\",\"url\":\"%s\",\"referenceId\":\"r%d\"}",
                    i ? "," : "", url, i);
    strbuf_adds(&sb, "]}");
    return strbuf_detach(&sb);
}

static void test_composite_request_level_errors(void **state)
{
    fe_env *env = *state;
    char *b = many(FV "/limits", 26);
    expect_400(env, b);
    free(b);
    b = many(FV "/query?q=SELECT+Id+FROM+Case", 6);
    expect_400(env, b);
    free(b);
    b = many(FV "/query?q=SELECT+Id+FROM+Case", 5);
    eh_response r;
    fe_req(env, "POST", COMP, b, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    free(b);
    expect_400(env, "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"" FV "/limits\","
                    "\"referenceId\":\"a\"},{\"method\":\"GET\",\"url\":\"" FV "/limits\","
                    "\"referenceId\":\"a\"}]}");
    expect_400(env, "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"" FV "/limits\","
                    "\"referenceId\":\"bad-id\"}]}");
    expect_400(env, "{\"compositeRequest\":[{\"method\":\"get\",\"url\":\"" FV "/limits\","
                    "\"referenceId\":\"a\"}]}");
    expect_400(env, "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"/limits\","
                    "\"referenceId\":\"a\"}]}");
    expect_400(env,
               "{\"compositeRequest\":[{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\","
               "\"referenceId\":\"a\",\"body\":{},\"httpHeaders\":{\"Authorization\":\"x\"}}]}");
    expect_400(env, "{\"nothing\":1}");
    assert_int_equal(emu_record_count(env->e, "Case", true), 0);
}

static void test_composite_record_fault_reaches_inner_collection(void **state)
{
    fe_env *env = *state;
    emu_fault f = EMU_FAULT_INIT;
    f.kind = EMU_FAULT_RECORD_ERROR;
    f.path_pattern = "/services/data/v*/composite";
    f.count = 1;
    f.error_code = "UNABLE_TO_LOCK_ROW";
    f.message = "unable to obtain exclusive access to this record";
    f.record_index = 0;
    assert_true(emu_fault_add(env->e, &f) > 0);
    eh_response r;
    fe_req(env, "POST", COMP,
           "{\"allOrNone\":false,\"compositeRequest\":["
           "{\"method\":\"PATCH\",\"url\":\"" FV "/composite/sobjects/Case/Sync_Key__c\","
           "\"referenceId\":\"up\",\"body\":{\"records\":["
           "{\"attributes\":{\"type\":\"Case\"},\"Sync_Key__c\":\"A\"},"
           "{\"attributes\":{\"type\":\"Case\"},\"Sync_Key__c\":\"B\"}]}}]}",
           &r);
    const cJSON *res = cJSON_GetObjectItem(sub(&r, 0), "body");
    assert_false(json_bool(cJSON_GetArrayItem(res, 0), "success", true));
    const cJSON *e0 =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "errors"), 0);
    assert_string_equal(json_str(e0, "statusCode"), "UNABLE_TO_LOCK_ROW");
    assert_true(json_bool(cJSON_GetArrayItem(res, 1), "success", false));
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 1);
}

static void test_composite_batch_runs_independently_and_halts(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "b", NULL, id);
    char *body =
        xasprintf("{\"haltOnError\":false,\"batchRequests\":["
                  "{\"method\":\"PATCH\",\"url\":\"v62.0/sobjects/Case/"
                  "%s\",\"richInput\":{\"Subject\":\"n\"}},"
                  "{\"method\":\"GET\",\"url\":\"v62.0/sobjects/Case/%s?fields=Subject\"}]}",
                  id, id);
    eh_response r;
    fe_req(env, "POST", COMP "/batch", body, &r);
    free(body);
    assert_int_equal(r.status, 200);
    assert_false(json_bool(r.json, "hasErrors", true));
    const cJSON *res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(json_num(cJSON_GetArrayItem(res, 0), "statusCode", 0), 204);
    assert_string_equal(
        json_str(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "result"), "Subject"), "n");
    eh_response_free(&r);
    fe_req(env, "POST", COMP "/batch",
           "{\"haltOnError\":true,\"batchRequests\":["
           "{\"method\":\"GET\",\"url\":\"v62.0/sobjects/Case/500000000000000AAA\"},"
           "{\"method\":\"GET\",\"url\":\"v62.0/limits\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_true(json_bool(r.json, "hasErrors", false));
    res = cJSON_GetObjectItem(r.json, "results");
    assert_true(json_num(cJSON_GetArrayItem(res, 0), "statusCode", 0) >= 400);
    assert_int_equal(json_num(cJSON_GetArrayItem(res, 1), "statusCode", 0), 412);
    eh_response_free(&r);
}

/* docs/salesforce.md#composite: each Composite Batch subrequest counts against the API limit; a
 * /composite call counts once however many subrequests it holds. */
static void test_composite_batch_counts_each_subrequest(void **state)
{
    fe_env *env = *state;
    static const char three[] = "{\"batchRequests\":["
                                "{\"method\":\"GET\",\"url\":\"v62.0/limits\"},"
                                "{\"method\":\"GET\",\"url\":\"v62.0/limits\"},"
                                "{\"method\":\"GET\",\"url\":\"v62.0/limits\"}]}";
    eh_response r;
    long before = emu_api_usage(env->e);
    fe_req(env, "POST", COMP "/batch", three, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(env->e), before + 3);

    before = emu_api_usage(env->e);
    fe_req(env, "POST", COMP,
           "{\"compositeRequest\":["
           "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\",\"referenceId\":\"a\"},"
           "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\",\"referenceId\":\"b\"},"
           "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\",\"referenceId\":\"c\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(env->e), before + 1);

    /* Two requests left: the batch runs two subrequests, the third is over the limit. */
    emu_set_api_limit(env->e, emu_api_usage(env->e) + 2);
    fe_req(env, "POST", COMP "/batch", three, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_bool(r.json, "hasErrors", false));
    const cJSON *res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(json_num(cJSON_GetArrayItem(res, 1), "statusCode", 0), 200);
    const cJSON *third = cJSON_GetArrayItem(res, 2);
    assert_int_equal(json_num(third, "statusCode", 0), 403);
    assert_string_equal(
        json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(third, "result"), 0), "errorCode"),
        "REQUEST_LIMIT_EXCEEDED");
    char *info = eh_header(&r, "Sforce-Limit-Info");
    char *want = xasprintf("api-usage=%ld/%ld", emu_api_usage(env->e), emu_api_usage(env->e));
    assert_string_equal(info, want);
    free(info);
    free(want);
    eh_response_free(&r);
    emu_set_api_limit(env->e, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_composite_resolves_references, fe_reset),
        cmocka_unit_test_setup(test_composite_all_or_none_rolls_back_and_halts_others, fe_reset),
        cmocka_unit_test_setup(test_composite_without_all_or_none_fails_only_dependents, fe_reset),
        cmocka_unit_test_setup(test_composite_upsert_then_query_by_sync_key, fe_reset),
        cmocka_unit_test_setup(test_composite_reference_into_query_records, fe_reset),
        cmocka_unit_test_setup(test_composite_request_level_errors, fe_reset),
        cmocka_unit_test_setup(test_composite_record_fault_reaches_inner_collection, fe_reset),
        cmocka_unit_test_setup(test_composite_batch_runs_independently_and_halts, fe_reset),
        cmocka_unit_test_setup(test_composite_batch_counts_each_subrequest, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
