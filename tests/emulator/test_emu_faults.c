/* Emulator fault injection, API limits, request log and the /__emulator/ control
 * endpoints: every emu_fault_kind as a client sees it (a status, a delay that does not
 * block other connections, a connection closed before or after the change, a cut or
 * non-JSON body, an expired session, an exhausted limit, a per-row error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define V "/services/data/v62.0"

typedef struct fixture {
    emu *e;
    char *tok;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    emu_options o = EMU_OPTIONS_INIT;
    o.seed = 42;
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

static int post_case(fixture *f, const char *body, eh_response *r)
{
    return eh_request(f->e, "POST", V "/sobjects/Case/", f->tok, body, r);
}

static void assert_error(const eh_response *r, long status, const char *code, const char *msg)
{
    assert_int_equal(r->status, status);
    const cJSON *e0 = cJSON_GetArrayItem(r->json, 0);
    assert_string_equal(json_str(e0, "errorCode"), code);
    if (msg)
        assert_string_equal(json_str(e0, "message"), msg);
}

static void test_status_fault_defaults_and_count(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_STATUS;
    fl.method = "POST";
    fl.path_pattern = "/services/data/v*/sobjects/Case*";
    fl.status = 503;
    fl.count = 2;
    assert_true(emu_fault_add(f->e, &fl) > 0);
    eh_response r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(post_case(f, "{}", &r), 0);
        assert_error(&r, 503, "SERVER_UNAVAILABLE", "Server too busy");
        eh_response_free(&r);
    }
    assert_int_equal(emu_record_count(f->e, "Case", true), 0); /* nothing applied */
    post_case(f, "{}", &r);
    assert_int_equal(r.status, 201); /* count exhausted */
    eh_response_free(&r);
    assert_int_equal(emu_faults_fired(f->e), 2);
    /* GET is not matched by a POST fault; 400 defaults to UNABLE_TO_LOCK_ROW */
    fl.status = 400;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    post_case(f, "{}", &r);
    assert_error(&r, 400, "UNABLE_TO_LOCK_ROW", NULL);
    eh_response_free(&r);
    fl.status = 500;
    fl.error_code = "UNKNOWN_EXCEPTION";
    fl.message = "boom";
    emu_fault_add(f->e, &fl);
    post_case(f, "{}", &r);
    assert_error(&r, 500, "UNKNOWN_EXCEPTION", "boom");
    eh_response_free(&r);
}

typedef struct slow_call {
    fixture *f;
    long status;
    int64_t elapsed_ms;
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *c = arg;
    int64_t t0 = time_now_ms();
    eh_response r;
    eh_request(c->f->e, "GET", V "/sobjects/Case/describe", c->f->tok, NULL, &r);
    c->status = r.status;
    c->elapsed_ms = time_now_ms() - t0;
    eh_response_free(&r);
    return NULL;
}

static void test_delay_does_not_block_other_connections(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_DELAY;
    fl.path_pattern = "*/describe";
    fl.delay_ms = 1500;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    slow_call c = {.f = f};
    pthread_t t;
    pthread_create(&t, NULL, slow_thread, &c);
    /* give the slow request time to start sleeping, then race it */
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    int64_t t0 = time_now_ms();
    eh_response r;
    eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
    int64_t fast = time_now_ms() - t0;
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    pthread_join(t, NULL);
    assert_int_equal(c.status, 200);
    assert_true(c.elapsed_ms >= 1500);
    assert_true(fast < 1000); /* not queued behind the sleeping one */
}

static void test_drop_before_applies_nothing(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_DROP_BEFORE;
    fl.method = "POST";
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_response r;
    int rc = post_case(f, "{\"Subject\":\"lost\"}", &r);
    assert_int_equal(rc, CURLE_GOT_NOTHING);
    assert_int_equal(r.status, 0);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", true), 0);
    assert_int_equal(emu_request_count(f->e, "POST", "*/sobjects/Case/"), 1);
}

static void test_drop_after_applies_then_closes(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_DROP_AFTER;
    fl.method = "PATCH";
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_response r;
    int rc = eh_request(f->e, "PATCH", V "/sobjects/Case/Sync_Key__c/lost-ack", f->tok,
                        "{\"Subject\":\"applied\"}", &r);
    assert_int_equal(rc, CURLE_GOT_NOTHING); /* the client sees no HTTP response */
    eh_response_free(&r);
    cJSON *recs = emu_records(f->e, "Case", false);
    assert_int_equal(cJSON_GetArraySize(recs), 1); /* ... but the record exists */
    assert_string_equal(json_str(cJSON_GetArrayItem(recs, 0), "Sync_Key__c"), "lost-ack");
    cJSON_Delete(recs);
    /* the keyed retry finds it instead of creating a second one */
    eh_request(f->e, "PATCH", V "/sobjects/Case/Sync_Key__c/lost-ack", f->tok,
               "{\"Subject\":\"applied\"}", &r);
    assert_int_equal(r.status, 200);
    assert_false(json_bool(r.json, "created", true));
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", true), 1);
}

static void test_truncate_and_invalid_json_apply(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_TRUNCATE;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_response r;
    int rc = post_case(f, "{\"Subject\":\"cut\"}", &r);
    assert_int_equal(rc, CURLE_PARTIAL_FILE);
    assert_true(r.body_len > 0);
    assert_null(r.json);
    eh_response_free(&r);
    fl.kind = EMU_FAULT_INVALID_JSON;
    emu_fault_add(f->e, &fl);
    rc = post_case(f, "{\"Subject\":\"garbled\"}", &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    assert_true(r.body_len > 0);
    assert_null(r.json);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", false), 2);
}

static void test_expire_token_fault(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_EXPIRE_TOKEN;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_response r;
    post_case(f, "{}", &r);
    assert_error(&r, 401, "INVALID_SESSION_ID", "Session expired or invalid");
    eh_response_free(&r);
    post_case(f, "{}", &r);
    assert_int_equal(r.status, 401); /* the old token stays dead */
    eh_response_free(&r);
    char *tok = eh_login(f->e);
    eh_request(f->e, "POST", V "/sobjects/Case/", tok, "{}", &r);
    assert_int_equal(r.status, 201);
    eh_response_free(&r);
    free(tok);
}

static void test_limit_fault_and_exhaustion(void **state)
{
    fixture *f = *state;
    emu_set_api_limit(f->e, 3);
    eh_response r;
    for (int i = 0; i < 3; i++) {
        eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
        assert_int_equal(r.status, 200);
        eh_response_free(&r);
    }
    eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
    assert_error(&r, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    char *h = eh_header(&r, "Sforce-Limit-Info");
    assert_string_equal(h, "api-usage=3/3");
    free(h);
    eh_response_free(&r);
    emu_set_api_limit(f->e, 100);
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_LIMIT;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    post_case(f, "{}", &r);
    assert_error(&r, 403, "REQUEST_LIMIT_EXCEEDED", NULL);
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(f->e), 100);
}

static void test_record_error_on_single_row(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_RECORD_ERROR;
    fl.record_index = -1;
    fl.count = 1;
    emu_fault_add(f->e, &fl);
    eh_response r;
    post_case(f, "{}", &r);
    assert_error(&r, 400, "UNABLE_TO_LOCK_ROW", NULL);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", true), 0);
}

static void test_probability_is_seeded(void **state)
{
    fixture *f = *state;
    emu_fault fl = EMU_FAULT_INIT;
    fl.kind = EMU_FAULT_STATUS;
    fl.status = 503;
    fl.probability = 0.5;
    fl.path_pattern = "*/limits";
    emu_fault_add(f->e, &fl);
    int failed = 0;
    for (int i = 0; i < 40; i++) {
        eh_response r;
        eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
        failed += r.status == 503;
        eh_response_free(&r);
    }
    assert_true(failed > 5 && failed < 35);
    assert_int_equal(emu_faults_fired(f->e), (size_t)failed);
    emu_faults_clear(f->e);
    eh_response r;
    eh_request(f->e, "GET", V "/limits", f->tok, NULL, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    fl.probability = 1.5;
    assert_int_equal(emu_fault_add(f->e, &fl), -1);
}

static void test_control_endpoints(void **state)
{
    fixture *f = *state;
    eh_response r;
    eh_request(f->e, "POST", "/__emulator/faults", NULL,
               "{\"kind\":\"status\",\"status\":503,\"method\":\"POST\",\"path\":\"*/Case/\","
               "\"count\":1}",
               &r);
    assert_int_equal(r.status, 201);
    assert_true(json_num(r.json, "id", 0) > 0);
    eh_response_free(&r);
    /* faults never apply to /__emulator/ */
    eh_request(f->e, "POST", "/__emulator/records/Case", NULL, "{\"Subject\":\"ctl\"}", &r);
    assert_int_equal(r.status, 201);
    char *id = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    post_case(f, "{}", &r);
    assert_int_equal(r.status, 503);
    eh_response_free(&r);
    eh_request(f->e, "POST", "/__emulator/faults", NULL, "{\"kind\":\"drop_before\"}", &r);
    eh_response_free(&r);
    eh_request(f->e, "DELETE", "/__emulator/faults", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    char *path = xasprintf("/__emulator/record/%s", id);
    eh_request(f->e, "PATCH", path, NULL, "{\"Status\":\"Escalated\"}", &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    eh_request(f->e, "GET", path, NULL, NULL, &r);
    assert_string_equal(json_str(r.json, "Status"), "Escalated");
    eh_response_free(&r);
    eh_request(f->e, "GET", "/__emulator/records/Case", NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    eh_response_free(&r);
    eh_request(f->e, "GET", "/__emulator/requests", NULL, NULL, &r);
    const cJSON *last = cJSON_GetArrayItem(r.json, cJSON_GetArraySize(r.json) - 1);
    assert_string_equal(json_str(last, "method"), "POST");
    assert_int_equal((int)json_num(last, "status", 0), 503);
    eh_response_free(&r);
    eh_request(f->e, "GET", "/__emulator/usage", NULL, NULL, &r);
    assert_int_equal((long)json_num(r.json, "used", -1), emu_api_usage(f->e));
    assert_int_equal((long)json_num(r.json, "limit", -1), 100000);
    eh_response_free(&r);
    eh_request(f->e, "POST", "/__emulator/reset", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", true), 0);
    assert_int_equal(emu_request_count(f->e, NULL, NULL), 0);
    assert_int_equal(emu_api_usage(f->e), 0);
    post_case(f, "{}", &r);
    assert_int_equal(r.status, 401); /* reset drops tokens */
    eh_response_free(&r);
    char id2[19];
    assert_int_equal(emu_record_insert(f->e, "Case", NULL, id2), 0);
    assert_string_not_equal(id2, id); /* Ids are never reused, even after a reset */
    cJSON *rec = emu_record_get(f->e, id2);
    assert_string_equal(json_str(rec, "CaseNumber"), "00001000");
    cJSON_Delete(rec);
    free(path);
    free(id);
}

static void test_request_log_and_counts(void **state)
{
    fixture *f = *state;
    eh_response r;
    post_case(f, "{\"Subject\":\"logged\"}", &r);
    eh_response_free(&r);
    eh_request(f->e, "GET", V "/limits?x=1", f->tok, NULL, &r);
    eh_response_free(&r);
    assert_int_equal(emu_request_count(f->e, "POST", "/services/data/v*/sobjects/Case/"), 1);
    assert_int_equal(emu_request_count(f->e, NULL, "*/limits"), 1);
    assert_int_equal(emu_request_count(f->e, "DELETE", NULL), 0);
    cJSON *log = emu_request_log(f->e);
    const cJSON *tok_req = cJSON_GetArrayItem(log, 0);
    assert_string_equal(json_str(tok_req, "path"), "/services/oauth2/token");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(tok_req, "body"))); /* no secrets kept */
    const cJSON *post = cJSON_GetArrayItem(log, 1);
    assert_string_equal(json_str(post, "body"), "{\"Subject\":\"logged\"}");
    assert_int_equal((int)json_num(post, "status", 0), 201);
    assert_string_equal(json_str(cJSON_GetArrayItem(log, 2), "query"), "x=1");
    cJSON_Delete(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_fault_defaults_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay_does_not_block_other_connections, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drop_before_applies_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_after_applies_then_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_and_invalid_json_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_token_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_fault_and_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_error_on_single_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probability_is_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_log_and_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
