/* Emulator getUpdated / getDeleted over HTTP (docs/salesforce.md#getupdated-and-getdeleted):
 * shapes, minute truncation, window rules and latestDateCovered. The clock is pinned with
 * time_set_override (the emulator runs in-process). */
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
#define DAY_MS (1440 * MIN_MS)

static int64_t t0; /* a whole minute, two hours before the real clock */

static int reset(void **state)
{
    time_set_override(0);
    int64_t now = time_now_ms();
    t0 = now - now % MIN_MS - 120 * MIN_MS;
    return fe_reset(state);
}

static int teardown(void **state)
{
    (void)state;
    time_set_override(0);
    return 0;
}

static void window(fe_env *env, const char *kind, int64_t start, int64_t end, eh_response *out)
{
    char s[32], e[32];
    time_format_iso_z(start, s);
    time_format_iso_z(end, e);
    char *path = xasprintf(FV "/sobjects/Case/%s/?start=%s&end=%s", kind, s, e);
    fe_req(env, "GET", path, NULL, out);
    free(path);
}

static void expect_invalid(fe_env *env, const char *kind, int64_t start, int64_t end)
{
    eh_response r;
    window(env, kind, start, end, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_REPLICATION_DATE");
    eh_response_free(&r);
}

static void test_updated_lists_ids_by_modstamp_ignoring_seconds(void **state)
{
    fe_env *env = *state;
    char a[19], b[19];
    time_set_override(t0 + 10000); /* 10 s into the minute */
    fe_case(env, "a", NULL, a);
    time_set_override(t0 + 5 * MIN_MS);
    fe_case(env, "b", NULL, b);
    time_set_override(t0 + 10 * MIN_MS);
    eh_response r;
    /* start 40 s into the minute: truncated to t0, so a (t0 + 10 s) is included */
    window(env, "updated", t0 + 40000, t0 + 3 * MIN_MS + 59000, &r);
    assert_int_equal(r.status, 200);
    const cJSON *ids = cJSON_GetObjectItem(r.json, "ids");
    assert_int_equal(cJSON_GetArraySize(ids), 1);
    assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, a);
    char want[32];
    time_format_sf(t0 + 3 * MIN_MS, want);
    assert_string_equal(json_str(r.json, "latestDateCovered"), want);
    eh_response_free(&r);
    /* end in the future: covered up to now (truncated) and both ids */
    window(env, "updated", t0, t0 + 60 * MIN_MS, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "ids")), 2);
    time_format_sf(t0 + 10 * MIN_MS, want);
    assert_string_equal(json_str(r.json, "latestDateCovered"), want);
    eh_response_free(&r);
}

static void test_deleted_lists_deleted_records(void **state)
{
    fe_env *env = *state;
    char a[19], b[19];
    time_set_override(t0 + MIN_MS);
    fe_case(env, "a", NULL, a);
    fe_case(env, "b", NULL, b);
    time_set_override(t0 + 6 * MIN_MS + 5000);
    assert_int_equal(emu_record_remove(env->e, a), 0);
    time_set_override(t0 + 10 * MIN_MS);
    eh_response r;
    window(env, "deleted", t0 + 5 * MIN_MS, t0 + 7 * MIN_MS, &r);
    assert_int_equal(r.status, 200);
    const cJSON *del = cJSON_GetObjectItem(r.json, "deletedRecords");
    assert_int_equal(cJSON_GetArraySize(del), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(del, 0), "id"), a);
    char want[32];
    time_format_sf(t0 + 6 * MIN_MS + 5000, want);
    assert_string_equal(json_str(cJSON_GetArrayItem(del, 0), "deletedDate"), want);
    assert_non_null(json_str(r.json, "earliestDateAvailable"));
    time_format_sf(t0 + 7 * MIN_MS, want);
    assert_string_equal(json_str(r.json, "latestDateCovered"), want);
    eh_response_free(&r);
    /* a window before the delete is empty; getUpdated no longer lists the deleted id */
    window(env, "deleted", t0, t0 + 5 * MIN_MS, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "deletedRecords")), 0);
    eh_response_free(&r);
    window(env, "updated", t0, t0 + 10 * MIN_MS, &r);
    const cJSON *ids = cJSON_GetObjectItem(r.json, "ids");
    assert_int_equal(cJSON_GetArraySize(ids), 1);
    assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, b);
    eh_response_free(&r);
}

/* earliestDateAvailable: now minus 15 days by default; later once the control moves the
 * start of the delete log (C API and /__emulator/deleted-earliest); reset by null. A window
 * starting before it is refused: "If the purge has been performed before your getDeleted()
 * call is executed, an INVALID_REPLICATION_DATE error is returned" (getDeleted() rules). */
static void test_deleted_earliest_control(void **state)
{
    fe_env *env = *state;
    time_set_override(t0 + 10 * MIN_MS);
    char want[32];
    eh_response r;
    window(env, "deleted", t0, t0 + 5 * MIN_MS, &r);
    time_format_sf(t0 + 10 * MIN_MS - 15 * DAY_MS, want);
    assert_string_equal(json_str(r.json, "earliestDateAvailable"), want);
    eh_response_free(&r);
    emu_set_deleted_earliest(env->e, t0 + 3 * MIN_MS + 30000); /* truncated to the minute */
    window(env, "deleted", t0, t0 + 5 * MIN_MS, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_REPLICATION_DATE");
    eh_response_free(&r);
    window(env, "updated", t0, t0 + 5 * MIN_MS, &r); /* getUpdated has no delete log */
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    window(env, "deleted", t0 + 3 * MIN_MS, t0 + 5 * MIN_MS, &r);
    assert_int_equal(r.status, 200);
    time_format_sf(t0 + 3 * MIN_MS, want);
    assert_string_equal(json_str(r.json, "earliestDateAvailable"), want);
    eh_response_free(&r);
    char body[64];
    time_format_sf(t0 + 4 * MIN_MS, want);
    snprintf(body, sizeof body, "{\"date\":\"%s\"}", want);
    assert_int_equal(eh_request(env->e, "POST", "/__emulator/deleted-earliest", NULL, body, &r), 0);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    window(env, "deleted", t0 + 4 * MIN_MS, t0 + 5 * MIN_MS, &r);
    assert_string_equal(json_str(r.json, "earliestDateAvailable"), want);
    eh_response_free(&r);
    assert_int_equal(
        eh_request(env->e, "POST", "/__emulator/deleted-earliest", NULL, "{\"date\":1}", &r), 0);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    assert_int_equal(
        eh_request(env->e, "POST", "/__emulator/deleted-earliest", NULL, "{\"date\":null}", &r), 0);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    window(env, "deleted", t0, t0 + 5 * MIN_MS, &r);
    time_format_sf(t0 + 10 * MIN_MS - 15 * DAY_MS, want);
    assert_string_equal(json_str(r.json, "earliestDateAvailable"), want);
    eh_response_free(&r);
}

static void test_window_rules(void **state)
{
    fe_env *env = *state;
    time_set_override(t0);
    expect_invalid(env, "updated", t0, t0);                 /* start == end */
    expect_invalid(env, "updated", t0 + 30000, t0 + 50000); /* same minute */
    expect_invalid(env, "updated", t0, t0 - 5 * MIN_MS);    /* reversed */
    expect_invalid(env, "updated", t0 - 31 * DAY_MS, t0);   /* > 30 days */
    expect_invalid(env, "deleted", t0 - 16 * DAY_MS, t0);   /* > 15 days */
    eh_response r;
    window(env, "updated", t0 - 29 * DAY_MS, t0, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    window(env, "deleted", t0 - 14 * DAY_MS, t0, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    fe_req(env, "GET", FV "/sobjects/Case/updated/?start=2020-01-01T00:00:00Z", NULL, &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_updated_lists_ids_by_modstamp_ignoring_seconds, reset,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deleted_lists_deleted_records, reset, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_earliest_control, reset, teardown),
        cmocka_unit_test_setup_teardown(test_window_rules, reset, teardown),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
