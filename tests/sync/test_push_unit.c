#include "store/op.h"
#include "sync/engine/backoff.h"
#include "sync/engine/build.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"
#include "sync/engine/reconcile.h"
#include "sync/engine/refs.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/localid.h"
/* Tests for the push engine's pure pieces: backoff with full jitter, classification of
 * Salesforce answers, local reference rewriting, and request building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_backoff_stays_within_full_jitter_bounds(void **state)
{
    (void)state;
    backoff_rng rng;
    backoff_rng_seed(&rng, 42);
    for (int attempts = 0; attempts < 40; attempts++) {
        int64_t ceiling = 1000;
        for (int i = 0; i < attempts && ceiling < 60000; i++)
            ceiling *= 2;
        if (ceiling > 60000)
            ceiling = 60000;
        for (int k = 0; k < 50; k++) {
            int64_t d = backoff_delay_ms(&rng, attempts, 1000, 60000);
            assert_true(d >= 0);
            assert_true(d <= ceiling);
        }
    }
}

static void test_backoff_grows_and_is_jittered(void **state)
{
    (void)state;
    backoff_rng rng;
    backoff_rng_seed(&rng, 7);
    int64_t max0 = 0, max6 = 0, min6 = INT64_MAX;
    for (int k = 0; k < 500; k++) {
        int64_t a = backoff_delay_ms(&rng, 0, 1000, 3600000);
        int64_t b = backoff_delay_ms(&rng, 6, 1000, 3600000);
        if (a > max0)
            max0 = a;
        if (b > max6)
            max6 = b;
        if (b < min6)
            min6 = b;
    }
    assert_true(max0 <= 1000);
    assert_true(max6 > 32000); /* ceiling 64 s: 500 draws get well above half */
    assert_true(min6 < 32000); /* and well below: full jitter, not equal jitter */
}

static void test_backoff_same_seed_same_delays(void **state)
{
    (void)state;
    backoff_rng a, b;
    backoff_rng_seed(&a, 123);
    backoff_rng_seed(&b, 123);
    for (int i = 0; i < 20; i++)
        assert_int_equal(backoff_delay_ms(&a, i, 500, 100000),
                         backoff_delay_ms(&b, i, 500, 100000));
    assert_int_equal(backoff_delay_ms(&a, 3, 0, 1000), 0);
}

static void test_classify_record_codes(void **state)
{
    (void)state;
    assert_int_equal(push_classify_code("UNABLE_TO_LOCK_ROW", "create"), PUSH_ERR_TRANSIENT);
    assert_int_equal(push_classify_code("SERVER_UNAVAILABLE", "update"), PUSH_ERR_TRANSIENT);
    assert_int_equal(push_classify_code("ALL_OR_NONE_OPERATION_ROLLED_BACK", "create"),
                     PUSH_ERR_TRANSIENT);
    assert_int_equal(push_classify_code("REQUIRED_FIELD_MISSING", "create"), PUSH_ERR_PERMANENT);
    assert_int_equal(push_classify_code("STRING_TOO_LONG", "update"), PUSH_ERR_PERMANENT);
    assert_int_equal(push_classify_code("SOMETHING_NEW_IN_V99", "create"), PUSH_ERR_PERMANENT);
    assert_int_equal(push_classify_code(NULL, "create"), PUSH_ERR_PERMANENT);
    assert_int_equal(push_classify_code("ENTITY_IS_DELETED", "update"), PUSH_ERR_PERMANENT);
    assert_int_equal(push_classify_code("ENTITY_IS_DELETED", "delete"), PUSH_ERR_GONE);
    assert_int_equal(push_classify_code("NOT_FOUND", "delete"), PUSH_ERR_GONE);
}

/* An answer with a Salesforce error body carrying code (NULL: no body). */
static push_resp_class classify(sf_outcome outcome, long status, const char *code)
{
    sf_response r = {0};
    r.outcome = outcome;
    r.status = status;
    r.error_code = (char *)code;
    if (code) {
        r.json = cJSON_CreateArray();
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "errorCode", code);
        cJSON_AddStringToObject(e, "message", "m");
        cJSON_AddItemToArray(r.json, e);
    }
    push_resp_class c = push_classify_response(&r);
    cJSON_Delete(r.json);
    return c;
}

/* An answer whose body is text (HTML, or JSON of another shape), as the client reads it. */
static push_resp_class classify_body(long status, const char *body)
{
    sf_response r = {0};
    r.outcome = SF_ANSWERED;
    r.status = status;
    r.json = cJSON_Parse(body);
    r.error_code = xasprintf("ERROR_HTTP_%ld", status);
    push_resp_class c = push_classify_response(&r);
    cJSON_Delete(r.json);
    free(r.error_code);
    return c;
}

static void test_classify_whole_responses(void **state)
{
    (void)state;
    assert_int_equal(classify(SF_NOT_SENT, 0, NULL), PUSH_RESP_NOT_SENT);
    assert_int_equal(classify(SF_UNKNOWN, 0, NULL), PUSH_RESP_UNKNOWN);
    assert_int_equal(classify(SF_ANSWERED, 200, NULL), PUSH_RESP_OK);
    assert_int_equal(classify(SF_ANSWERED, 503, "SERVER_UNAVAILABLE"), PUSH_RESP_TRANSIENT);
    assert_int_equal(classify(SF_ANSWERED, 500, "UNKNOWN_EXCEPTION"), PUSH_RESP_TRANSIENT);
    assert_int_equal(classify(SF_ANSWERED, 403, "REQUEST_LIMIT_EXCEEDED"), PUSH_RESP_LIMIT);
    assert_int_equal(classify(SF_ANSWERED, 429, NULL), PUSH_RESP_LIMIT);
    assert_int_equal(classify(SF_ANSWERED, 401, "INVALID_SESSION_ID"), PUSH_RESP_AUTH);
    assert_int_equal(classify(SF_ANSWERED, 400, "UNABLE_TO_LOCK_ROW"), PUSH_RESP_TRANSIENT);
    /* Only an error about the data makes a whole request dead (issue 8 item 12). */
    assert_int_equal(classify(SF_ANSWERED, 400, "INVALID_FIELD"), PUSH_RESP_PERMANENT);
    assert_int_equal(classify(SF_ANSWERED, 400, "REQUIRED_FIELD_MISSING"), PUSH_RESP_PERMANENT);
    assert_int_equal(classify(SF_ANSWERED, 400, "MALFORMED_QUERY"), PUSH_RESP_REQUEST);
    assert_int_equal(classify(SF_ANSWERED, 400, "JSON_PARSER_ERROR"), PUSH_RESP_REQUEST);
    assert_int_equal(classify(SF_ANSWERED, 404, "NOT_FOUND"), PUSH_RESP_REQUEST);
    assert_int_equal(classify(SF_ANSWERED, 400, "SOMETHING_NEW_IN_V99"), PUSH_RESP_REQUEST);
    /* Not Salesforce's answer at all: a portal's redirect, a proxy's page, another shape. */
    assert_int_equal(classify(SF_ANSWERED, 302, NULL), PUSH_RESP_FOREIGN);
    assert_int_equal(classify(SF_ANSWERED, 302, "INVALID_FIELD"), PUSH_RESP_FOREIGN);
    assert_int_equal(classify_body(404, "<html>Not Found</html>"), PUSH_RESP_FOREIGN);
    assert_int_equal(classify_body(400, "{\"message\":\"blocked by policy\"}"), PUSH_RESP_FOREIGN);
    assert_int_equal(classify_body(403, "[\"denied\"]"), PUSH_RESP_FOREIGN);
    /* A gateway's error page: the request may have reached Salesforce. */
    assert_int_equal(classify_body(504, "<html>Gateway Timeout</html>"), PUSH_RESP_UNKNOWN);
    assert_int_equal(classify(SF_ANSWERED, 500, NULL), PUSH_RESP_UNKNOWN);
}

static void test_local_ref_shape(void **state)
{
    (void)state;
    assert_true(local_id_is_valid("loc-01HQ3Z8K9V0000000000000000"));
    assert_false(local_id_is_valid("loc-01HQ3Z8K9V000000000000000"));  /* 25 chars */
    assert_false(local_id_is_valid("loc-01HQ3Z8K9V00000000000000IL")); /* I, L not Crockford */
    assert_false(local_id_is_valid("003D000000QV9n2IAD"));
    assert_false(local_id_is_valid("location-is-not-a-ref"));
    assert_false(local_id_is_valid(NULL));
}

static const char *lookup(const char *local_id, void *ctx)
{
    (void)ctx;
    if (strcmp(local_id, "loc-01HQ3Z8K9V0000000000000001") == 0)
        return "003000000000001AAA";
    return NULL;
}

static bool only_contact_id(const char *field, void *ctx)
{
    (void)ctx;
    return strcmp(field, "ContactId") == 0;
}

static void test_refs_rewritten_or_reported(void **state)
{
    (void)state;
    cJSON *f =
        cJSON_Parse("{\"Subject\":\"loc-x\",\"ContactId\":\"loc-01HQ3Z8K9V0000000000000001\","
                    "\"Description\":\"loc-01HQ3Z8K9V0000000000000001\","
                    "\"Sync_Key__c\":\"loc-01HQ3Z8K9V0000000000000009\",\"Priority\":3}");
    assert_null(push_refs_rewrite(f, only_contact_id, lookup, NULL));
    assert_string_equal(cJSON_GetObjectItem(f, "ContactId")->valuestring, "003000000000001AAA");
    assert_string_equal(cJSON_GetObjectItem(f, "Subject")->valuestring, "loc-x");
    /* Text fields holding a local-id-shaped value are data, not references. */
    assert_string_equal(cJSON_GetObjectItem(f, "Description")->valuestring,
                        "loc-01HQ3Z8K9V0000000000000001");
    assert_string_equal(cJSON_GetObjectItem(f, "Sync_Key__c")->valuestring,
                        "loc-01HQ3Z8K9V0000000000000009");
    cJSON_Delete(f);
    f = cJSON_Parse("{\"ContactId\":\"loc-01HQ3Z8K9V0000000000000002\"}");
    const char *missing = push_refs_rewrite(f, only_contact_id, lookup, NULL);
    assert_non_null(missing);
    assert_string_equal(missing, "loc-01HQ3Z8K9V0000000000000002");
    cJSON_Delete(f);
}

static void test_soql_in_quotes_every_key(void **state)
{
    (void)state;
    const char *keys[] = {"loc-A", "it's"};
    char *q = push_soql_in("Id, CaseNumber", "Case", "Sync_Key__c", keys, 2);
    assert_string_equal(q,
                        "SELECT Id, CaseNumber FROM Case WHERE Sync_Key__c IN ('loc-A','it\\'s')");
    char *path = push_query_path("v62.0", "SELECT Id FROM Case WHERE X = 'a b'");
    assert_string_equal(path, "/services/data/v62.0/query?q=SELECT%20Id%20FROM%20Case%20WHERE%20X%"
                              "20%3D%20%27a%20b%27");
    free(path);
    free(q);
}

static void test_read_back_rows_match_ops_by_key(void **state)
{
    (void)state;
    push_ctx ctx = {0};
    snprintf(ctx.idem_field, sizeof ctx.idem_field, "Sync_Key__c");
    store_op ops[2] = {0};
    ops[0].kind = "create";
    ops[0].local_id = "loc-A";
    ops[1].kind = "upsert";
    ops[1].ext_field = "Ext__c";
    ops[1].ext_value = "E1";
    cJSON *rows =
        cJSON_Parse("[{\"attributes\":{\"type\":\"Case\"},\"Id\":\"500000000000001AAA\","
                    "\"Sync_Key__c\":\"loc-A\",\"CaseNumber\":\"00001000\",\"Status\":\"New\","
                    "\"SystemModstamp\":\"2024-01-02T03:04:05.000+0000\"},"
                    "{\"Id\":\"500000000000002AAA\",\"Sync_Key__c\":\"loc-other\"}]");
    assert_int_equal(push_match_rows(&ctx, ops, 2, rows), 1);
    assert_string_equal(ops[0].new_sf_id, "500000000000001AAA");
    assert_string_equal(cJSON_GetObjectItem(ops[0].server, "CaseNumber")->valuestring, "00001000");
    assert_null(cJSON_GetObjectItem(ops[0].server, "Status")); /* server default: fill only */
    assert_string_equal(cJSON_GetObjectItem(ops[0].server_fill, "Status")->valuestring, "New");
    assert_null(cJSON_GetObjectItem(ops[0].server, "attributes"));
    assert_null(ops[1].new_sf_id);
    free(ops[0].new_sf_id);
    cJSON_Delete(ops[0].server);
    cJSON_Delete(ops[0].server_fill);
    cJSON_Delete(rows);
}

/* A waiting job packs its undecided ops and gives back the same values (push_pack.c P1,
 * P2); an op with a decision keeps the whole job as it was. */
static void test_job_pack_round_trip(void **state)
{
    (void)state;
    push_job job = {0};
    job.n = 2;
    job.ops = xcalloc(2, sizeof *job.ops);
    store_op *a = &job.ops[0], *b = &job.ops[1];
    a->seq = 41;
    a->op_id = xstrdup("op-1");
    a->sobject = xstrdup("Case");
    a->local_id = xstrdup("loc-1");
    a->kind = xstrdup("create");
    a->fields_packed = xstrdup("{\"Subject\":\"\u00e9t\u00e9\",\"Amount\":1.50}");
    a->attempts = 3;
    a->updated_at = 1700000000123;
    b->seq = 42;
    b->op_id = xstrdup("op-2");
    b->sobject = xstrdup("Account");
    b->local_id = xstrdup("loc-2");
    b->kind = xstrdup("update");
    b->fields_packed = xstrdup("{}");
    b->base_modstamp = xstrdup("2024-01-02T03:04:05.000+0000");
    b->sf_id = xstrdup("001000000000001AAA");
    b->ext_field = xstrdup("Ext__c");
    b->ext_value = xstrdup("");
    const char *err = NULL;
    const char *big = "{\"Big\":12345678901234567890}";
    b->base_fields = json_parse_exact(big, strlen(big), &err);
    assert_non_null(b->base_fields);
    b->rank = 1;
    push_job_pack(&job);
    assert_null(job.ops);
    assert_non_null(job.packed);
    push_job_unpack(&job);
    assert_null(job.packed);
    a = &job.ops[0];
    b = &job.ops[1];
    assert_int_equal(a->seq, 41);
    assert_string_equal(a->op_id, "op-1");
    assert_string_equal(a->kind, "create");
    assert_string_equal(a->fields_packed, "{\"Subject\":\"\u00e9t\u00e9\",\"Amount\":1.50}");
    assert_int_equal(a->attempts, 3);
    assert_int_equal(a->updated_at, 1700000000123);
    assert_null(a->ext_field);
    assert_null(a->sf_id);
    assert_null(a->base_fields);
    assert_int_equal(b->seq, 42);
    assert_string_equal(b->sobject, "Account");
    assert_string_equal(b->local_id, "loc-2");
    assert_string_equal(b->base_modstamp, "2024-01-02T03:04:05.000+0000");
    assert_string_equal(b->sf_id, "001000000000001AAA");
    assert_string_equal(b->ext_field, "Ext__c");
    assert_string_equal(b->ext_value, "");
    assert_int_equal(b->rank, 1);
    char *bf = json_print(b->base_fields);
    assert_string_equal(bf, "{\"Big\":12345678901234567890}");
    free(bf);
    /* A decided op: nothing is packed, nothing is lost. */
    store_op_set(a, STORE_OUT_RETRY, "UNABLE_TO_LOCK_ROW", "locked");
    push_job_pack(&job);
    assert_null(job.packed);
    assert_non_null(job.ops);
    assert_string_equal(job.ops[0].err_code, "UNABLE_TO_LOCK_ROW");
    store_ops_free(job.ops, job.n);
}

/* Ids in answers are checked before they are kept (and later stored or sent). */
static void test_invalid_ids_in_answers_are_not_taken(void **state)
{
    (void)state;
    push_ctx ctx = {0};
    snprintf(ctx.idem_field, sizeof ctx.idem_field, "Sync_Key__c");
    store_op op = {0};
    op.kind = xstrdup("upsert");
    op.sobject = xstrdup("Case");
    cJSON *r = cJSON_Parse("{\"success\":true,\"id\":\"500/../../x\",\"errors\":[]}");
    push_apply_record_result(&ctx, &op, r);
    assert_int_not_equal(op.outcome, STORE_OUT_DONE);
    assert_null(op.new_sf_id);
    assert_string_equal(op.err_code, "MALFORMED_ID");
    cJSON_Delete(r);
    /* A valid 15-char Id is kept in its 18-char form. */
    r = cJSON_Parse("{\"success\":true,\"id\":\"001D000000IqhSL\",\"errors\":[]}");
    push_apply_record_result(&ctx, &op, r);
    assert_int_equal(op.outcome, STORE_OUT_DONE);
    assert_string_equal(op.new_sf_id, "001D000000IqhSLIAZ");
    cJSON_Delete(r);
    /* A read-back row whose Id has a wrong checksum is not matched. */
    store_op c = {0};
    c.kind = xstrdup("create");
    c.local_id = xstrdup("loc-A");
    cJSON *rows = cJSON_Parse("[{\"Id\":\"001D000000IqhSLAAA\",\"Sync_Key__c\":\"loc-A\"}]");
    assert_int_equal(push_match_rows(&ctx, &c, 1, rows), 0);
    assert_null(c.new_sf_id);
    cJSON_Delete(rows);
    store_op_clear(&c);
    store_op_clear(&op);
}

/* A composite sub-request that failed as a whole is classified like a plain request's
 * answer, for every kind: a 500 is retried (updates used to go dead on it), a 400 with a
 * permanent code is dead with that code, and a missing per-record result is unknown. */
static void test_failed_sub_request_is_classified_like_a_request(void **state)
{
    (void)state;
    push_ctx ctx = {0};
    static const char *const kinds[] = {"create", "update", "delete"};
    for (size_t k = 0; k < 3; k++) {
        store_op op = {0};
        op.kind = xstrdup(kinds[k]);
        cJSON *sub = cJSON_Parse("{\"referenceId\":\"patch\",\"httpStatusCode\":500,"
                                 "\"body\":[{\"errorCode\":\"SOMETHING\",\"message\":\"m\"}]}");
        assert_null(push_sub_records(sub));
        push_apply_sub_failure(&ctx, &op, 1, sub);
        assert_int_equal(op.outcome, STORE_OUT_RETRY);
        cJSON_Delete(sub);
        store_op_set(&op, STORE_OUT_NONE, NULL, NULL);
        sub = cJSON_Parse("{\"httpStatusCode\":400,\"body\":[{\"errorCode\":\"INVALID_FIELD\","
                          "\"message\":\"no such column\"}]}");
        push_apply_sub_failure(&ctx, &op, 1, sub);
        assert_int_equal(op.outcome, STORE_OUT_DEAD);
        assert_string_equal(op.err_code, "INVALID_FIELD");
        cJSON_Delete(sub);
        store_op_set(&op, STORE_OUT_NONE, NULL, NULL);
        cJSON *results = cJSON_CreateArray();
        push_apply_result_at(&ctx, &op, results, 0);
        assert_int_equal(op.outcome, STORE_OUT_INFLIGHT);
        cJSON_Delete(results);
        store_op_clear(&op);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_stays_within_full_jitter_bounds),
        cmocka_unit_test(test_backoff_grows_and_is_jittered),
        cmocka_unit_test(test_backoff_same_seed_same_delays),
        cmocka_unit_test(test_classify_record_codes),
        cmocka_unit_test(test_classify_whole_responses),
        cmocka_unit_test(test_local_ref_shape),
        cmocka_unit_test(test_refs_rewritten_or_reported),
        cmocka_unit_test(test_soql_in_quotes_every_key),
        cmocka_unit_test(test_read_back_rows_match_ops_by_key),
        cmocka_unit_test(test_job_pack_round_trip),
        cmocka_unit_test(test_invalid_ids_in_answers_are_not_taken),
        cmocka_unit_test(test_failed_sub_request_is_classified_like_a_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
