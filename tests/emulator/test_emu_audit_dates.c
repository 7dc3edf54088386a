/* Emulator audit dates over HTTP: CreatedDate, LastModifiedDate and SystemModstamp (and
 * getDeleted's deletedDate, a Bulk job's createdDate/systemModstamp) have Salesforce's
 * one-second resolution, always printed with .000 milliseconds, whichever API wrote or reads
 * them. Writes in one second therefore tie, and ORDER BY SystemModstamp orders ties by Id.
 * The clock is pinned 250 ms into a second with time_set_override (in-process emulator). */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MIN_MS 60000LL

static const char *const AUDIT[] = {"CreatedDate", "LastModifiedDate", "SystemModstamp"};

/* Pin the clock 250 ms into the current second; returns that second (whole ms). */
static int64_t pin_mid_second(void)
{
    time_set_override(0);
    int64_t now = time_now_ms();
    int64_t second = now - now % 1000;
    time_set_override(second + 250);
    return second;
}

static int teardown(void **state)
{
    (void)state;
    time_set_override(0);
    return 0;
}

/* s is a Salesforce dateTime with .000 milliseconds at or after the whole second not_before. */
static void assert_whole_second(const char *s, int64_t not_before)
{
    assert_non_null(s);
    size_t n = strlen(s);
    assert_true(n > 9);
    assert_string_equal(s + n - 9, ".000+0000");
    int64_t ms = 0;
    assert_true(time_parse_sf(s, &ms));
    assert_true(ms >= not_before);
}

static void assert_audit_whole_seconds(const cJSON *rec, int64_t not_before)
{
    for (size_t i = 0; i < sizeof AUDIT / sizeof *AUDIT; i++)
        assert_whole_second(json_str(rec, AUDIT[i]), not_before);
}

static char *post_case(fe_env *env, const char *path, const char *body)
{
    eh_response r;
    fe_req(env, "POST", path, body, &r);
    assert_int_equal(r.status, 201);
    char *id = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    return id;
}

static void test_rows_query_and_collections_print_whole_seconds(void **state)
{
    fe_env *env = *state;
    int64_t t = pin_mid_second();
    char *id = post_case(env, FV "/sobjects/Case", "{\"Subject\":\"rows\"}");
    char *path = xasprintf(FV "/sobjects/Case/%s", id);
    eh_response r;
    fe_req(env, "PATCH", path, "{\"Subject\":\"edited\"}", &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);

    fe_req(env, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_audit_whole_seconds(r.json, t);
    eh_response_free(&r);
    free(path);

    char *q = fe_q("SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Case");
    path = xasprintf(FV "/query?q=%s", q);
    fe_req(env, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *recs = cJSON_GetObjectItem(r.json, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 1);
    assert_audit_whole_seconds(cJSON_GetArrayItem(recs, 0), t);
    eh_response_free(&r);
    free(path);
    free(q);

    path = xasprintf(FV "/composite/sobjects/Case?ids=%s"
                        "&fields=CreatedDate,LastModifiedDate,SystemModstamp",
                     id);
    fe_req(env, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_audit_whole_seconds(cJSON_GetArrayItem(r.json, 0), t);
    eh_response_free(&r);
    free(path);
    free(id);
}

static void test_collections_and_composite_writes_store_whole_seconds(void **state)
{
    fe_env *env = *state;
    int64_t t = pin_mid_second();
    eh_response r;
    fe_req(env, "POST", FV "/composite/sobjects",
           "{\"records\":[{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"coll\"}]}", &r);
    assert_int_equal(r.status, 200);
    char *coll = xstrdup(json_str(cJSON_GetArrayItem(r.json, 0), "id"));
    eh_response_free(&r);
    fe_req(env, "POST", FV "/composite",
           "{\"compositeRequest\":[{\"method\":\"POST\",\"url\":\"" FV "/sobjects/Case\","
           "\"referenceId\":\"c\",\"body\":{\"Subject\":\"comp\"}},"
           "{\"method\":\"GET\",\"referenceId\":\"g\",\"url\":\"" FV "/sobjects/Case/@{c.id}\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    const cJSON *subs = cJSON_GetObjectItem(r.json, "compositeResponse");
    const cJSON *got = cJSON_GetObjectItem(cJSON_GetArrayItem(subs, 1), "body");
    assert_audit_whole_seconds(got, t);
    char *comp = xstrdup(json_str(got, "Id"));
    eh_response_free(&r);

    cJSON *rec = emu_record_get(env->e, coll);
    assert_audit_whole_seconds(rec, t);
    cJSON_Delete(rec);
    rec = emu_record_get(env->e, comp);
    assert_audit_whole_seconds(rec, t);
    cJSON_Delete(rec);
    free(coll);
    free(comp);
}

static void test_bulk_job_dates_are_whole_seconds(void **state)
{
    fe_env *env = *state;
    int64_t t = pin_mid_second();
    eh_response r;
    fe_req(env, "POST", FV "/jobs/ingest/",
           "{\"object\":\"Case\",\"contentType\":\"CSV\",\"operation\":\"insert\","
           "\"lineEnding\":\"LF\"}",
           &r);
    assert_int_equal(r.status, 200);
    assert_whole_second(json_str(r.json, "createdDate"), t);
    assert_whole_second(json_str(r.json, "systemModstamp"), t);
    char *job = xasprintf(FV "/jobs/ingest/%s", json_str(r.json, "id"));
    eh_response_free(&r);
    char *batches = xasprintf("%s/batches", job);
    fe_req_hdr(env, "PUT", batches, "Subject\nbulk\n", NULL, "text/csv", &r);
    assert_int_equal(r.status, 201);
    eh_response_free(&r);
    fe_req(env, "PATCH", job, "{\"state\":\"UploadComplete\"}", &r);
    assert_int_equal(r.status, 200);
    assert_whole_second(json_str(r.json, "systemModstamp"), t);
    eh_response_free(&r);
    fe_req(env, "GET", job, NULL, &r);
    assert_string_equal(json_str(r.json, "state"), "JobComplete");
    assert_whole_second(json_str(r.json, "systemModstamp"), t);
    eh_response_free(&r);
    free(batches);
    free(job);

    cJSON *all = emu_records(env->e, "Case", false);
    assert_int_equal(cJSON_GetArraySize(all), 1);
    assert_audit_whole_seconds(cJSON_GetArrayItem(all, 0), t);
    cJSON_Delete(all);
}

/* Three creates and an update of the first, all in one second: SystemModstamp ties, and
 * ORDER BY SystemModstamp lists the ties by Id, not by which was written last. */
static void test_same_second_writes_tie_and_order_by_id(void **state)
{
    fe_env *env = *state;
    pin_mid_second();
    char a[19], b[19], c[19];
    fe_case(env, "a", NULL, a);
    fe_case(env, "b", NULL, b);
    fe_case(env, "c", NULL, c);
    cJSON *edit = cJSON_CreateObject();
    cJSON_AddStringToObject(edit, "Subject", "a2");
    assert_int_equal(emu_record_edit(env->e, a, edit), 0);
    cJSON_Delete(edit);

    char *q = fe_q("SELECT Id, SystemModstamp FROM Case ORDER BY SystemModstamp");
    char *path = xasprintf(FV "/query?q=%s", q);
    eh_response r;
    fe_req(env, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *recs = cJSON_GetObjectItem(r.json, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 3);
    const char *want[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const cJSON *rec = cJSON_GetArrayItem(recs, i);
        assert_string_equal(json_str(rec, "Id"), want[i]);
        assert_string_equal(json_str(rec, "SystemModstamp"),
                            json_str(cJSON_GetArrayItem(recs, 0), "SystemModstamp"));
    }
    eh_response_free(&r);
    free(path);
    free(q);
}

/* Runs last: it moves the pinned clock two minutes on, so getDeleted covers the delete. */
static void test_deleted_date_is_a_whole_second(void **state)
{
    fe_env *env = *state;
    int64_t t = pin_mid_second();
    char id[19];
    fe_case(env, "gone", NULL, id);
    char *path = xasprintf(FV "/sobjects/Case/%s", id);
    eh_response r;
    fe_req(env, "DELETE", path, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    free(path);
    cJSON *all = emu_records(env->e, "Case", true);
    assert_whole_second(json_str(cJSON_GetArrayItem(all, 0), "SystemModstamp"), t);
    cJSON_Delete(all);

    time_set_override(t + 2 * MIN_MS + 250);
    char s[32], e[32];
    time_format_iso_z(t - 5 * MIN_MS, s);
    time_format_iso_z(t + 2 * MIN_MS, e);
    path = xasprintf(FV "/sobjects/Case/deleted/?start=%s&end=%s", s, e);
    fe_req(env, "GET", path, NULL, &r);
    free(path);
    assert_int_equal(r.status, 200);
    const cJSON *del = cJSON_GetObjectItem(r.json, "deletedRecords");
    assert_int_equal(cJSON_GetArraySize(del), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(del, 0), "id"), id);
    assert_whole_second(json_str(cJSON_GetArrayItem(del, 0), "deletedDate"), t);
    eh_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_query_and_collections_print_whole_seconds,
                                        fe_reset, teardown),
        cmocka_unit_test_setup_teardown(test_collections_and_composite_writes_store_whole_seconds,
                                        fe_reset, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_job_dates_are_whole_seconds, fe_reset, teardown),
        cmocka_unit_test_setup_teardown(test_same_second_writes_tie_and_order_by_id, fe_reset,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deleted_date_is_a_whole_second, fe_reset, teardown),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
