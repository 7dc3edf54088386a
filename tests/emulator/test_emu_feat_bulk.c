/* Emulator Bulk API 2.0 ingest over HTTP (docs/salesforce.md#bulk-api-20): job lifecycle,
 * CSV with quotes and embedded newlines, results CSVs, upsert, abort, errors, faults. */
#include "emu_feat_csv.h"
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

#define JOBS FV "/jobs/ingest"

/* Create a job; returns its id (caller frees). */
static char *create_job(fe_env *env, const char *def)
{
    eh_response r;
    fe_req(env, "POST", JOBS "/", def, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "state"), "Open");
    char *id = xstrdup(json_str(r.json, "id"));
    assert_int_equal(strncmp(id, "750", 3), 0);
    char want[128];
    snprintf(want, sizeof want, "services/data/v62.0/jobs/ingest/%s/batches", id);
    assert_string_equal(json_str(r.json, "contentUrl"), want);
    eh_response_free(&r);
    return id;
}

static void job_req(fe_env *env, const char *method, const char *id, const char *sub,
                    const char *body, const char *ctype, eh_response *out)
{
    char *path = xasprintf(JOBS "/%s%s", id, sub);
    fe_req_hdr(env, method, path, body, NULL, ctype, out);
    free(path);
}

static void upload_and_close(fe_env *env, const char *id, const char *csv)
{
    eh_response r;
    job_req(env, "PUT", id, "/batches", csv, "text/csv", &r);
    assert_int_equal(r.status, 201);
    eh_response_free(&r);
    job_req(env, "PATCH", id, "", "{\"state\":\"UploadComplete\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "state"), "UploadComplete");
    eh_response_free(&r);
}

/* GET a results CSV as rows (array of arrays). */
static cJSON *results(fe_env *env, const char *id, const char *kind)
{
    eh_response r;
    char *sub = xasprintf("/%s/", kind);
    job_req(env, "GET", id, sub, NULL, NULL, &r);
    free(sub);
    assert_int_equal(r.status, 200);
    char *ct = eh_header(&r, "Content-Type");
    assert_non_null(strstr(ct, "text/csv"));
    free(ct);
    bool ok;
    cJSON *rows = bulk_csv_parse(r.body, r.body_len, ',', &ok);
    assert_true(ok);
    eh_response_free(&r);
    return rows;
}

static const char *cell(const cJSON *rows, int row, int col)
{
    return cJSON_GetArrayItem(cJSON_GetArrayItem(rows, row), col)->valuestring;
}

static void test_insert_job_end_to_end_with_a_failed_row(void **state)
{
    fe_env *env = *state;
    char *id = create_job(env, "{\"object\":\"Contact\",\"contentType\":\"CSV\","
                               "\"operation\":\"insert\",\"lineEnding\":\"LF\"}");
    upload_and_close(env, id,
                     "FirstName,LastName,Description\n"
                     "Ann,Lee,\"two\nlines, \"\"quoted\"\"\"\n"
                     "Bob,,missing last name\n");
    eh_response r;
    job_req(env, "GET", id, "", NULL, NULL, &r);
    assert_string_equal(json_str(r.json, "state"), "JobComplete");
    assert_string_equal(json_str(r.json, "jobType"), "V2Ingest");
    assert_int_equal(json_num(r.json, "numberRecordsProcessed", -1), 2);
    assert_int_equal(json_num(r.json, "numberRecordsFailed", -1), 1);
    eh_response_free(&r);
    cJSON *ok = results(env, id, "successfulResults");
    assert_int_equal(cJSON_GetArraySize(ok), 2);
    assert_string_equal(cell(ok, 0, 0), "sf__Id");
    assert_string_equal(cell(ok, 0, 1), "sf__Created");
    assert_string_equal(cell(ok, 0, 3), "LastName");
    assert_string_equal(cell(ok, 1, 1), "true");
    assert_string_equal(cell(ok, 1, 4), "two\nlines, \"quoted\"");
    cJSON *rec = emu_record_get(env->e, cell(ok, 1, 0));
    assert_string_equal(json_str(rec, "Description"), "two\nlines, \"quoted\"");
    cJSON_Delete(rec);
    cJSON_Delete(ok);
    cJSON *bad = results(env, id, "failedResults");
    assert_int_equal(cJSON_GetArraySize(bad), 2);
    assert_string_equal(cell(bad, 0, 1), "sf__Error");
    assert_string_equal(
        cell(bad, 1, 1),
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --");
    assert_string_equal(cell(bad, 1, 2), "Bob");
    cJSON_Delete(bad);
    cJSON *un = results(env, id, "unprocessedrecords");
    assert_int_equal(cJSON_GetArraySize(un), 0);
    cJSON_Delete(un);
    assert_int_equal(emu_record_count(env->e, "Contact", true), 1);
    free(id);
}

static void test_upsert_job_with_crlf_reports_created_flags(void **state)
{
    fe_env *env = *state;
    char old[19];
    fe_case(env, "old", "K1", old);
    char *id = create_job(env, "{\"object\":\"Case\",\"operation\":\"upsert\","
                               "\"externalIdFieldName\":\"Sync_Key__c\",\"lineEnding\":\"CRLF\"}");
    upload_and_close(env, id, "Sync_Key__c,Subject\r\nK1,updated\r\nK2,created\r\n");
    cJSON *ok = results(env, id, "successfulResults");
    assert_int_equal(cJSON_GetArraySize(ok), 3);
    assert_string_equal(cell(ok, 1, 0), old);
    assert_string_equal(cell(ok, 1, 1), "false");
    assert_string_equal(cell(ok, 2, 1), "true");
    cJSON_Delete(ok);
    cJSON *rec = emu_record_get(env->e, old);
    assert_string_equal(json_str(rec, "Subject"), "updated");
    cJSON_Delete(rec);
    free(id);
}

static void test_job_errors_and_lifecycle(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "POST", JOBS, "{\"object\":\"Bogus\",\"operation\":\"insert\"}", &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    fe_req(env, "POST", JOBS, "{\"object\":\"Case\",\"operation\":\"upsert\"}", &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    fe_req(env, "POST", JOBS, "{\"object\":\"Case\",\"operation\":\"merge\"}", &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    fe_req(env, "GET", JOBS "/750000000000001AAA", NULL, &r);
    assert_int_equal(r.status, 404);
    eh_response_free(&r);
    char *id = create_job(env, "{\"object\":\"Case\",\"operation\":\"insert\"}");
    job_req(env, "GET", id, "/successfulResults/", NULL, NULL, &r);
    assert_true(r.status >= 400); /* not finished yet */
    eh_response_free(&r);
    job_req(env, "PATCH", id, "", "{\"state\":\"Bogus\"}", NULL, &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    upload_and_close(env, id, "Subject\nfirst\n");
    job_req(env, "PUT", id, "/batches", "Subject\nlate\n", "text/csv", &r);
    assert_true(r.status >= 400); /* closed */
    eh_response_free(&r);
    fe_req(env, "GET", JOBS, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_bool(r.json, "done", false));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 1);
    eh_response_free(&r);
    job_req(env, "DELETE", id, "", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    job_req(env, "GET", id, "", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 1);
    free(id);
}

static void test_aborted_job_leaves_rows_unprocessed(void **state)
{
    fe_env *env = *state;
    char *id = create_job(env, "{\"object\":\"Case\",\"operation\":\"insert\"}");
    eh_response r;
    job_req(env, "PUT", id, "/batches", "Subject\na\nb\n", "text/csv", &r);
    eh_response_free(&r);
    job_req(env, "PATCH", id, "", "{\"state\":\"Aborted\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "state"), "Aborted");
    eh_response_free(&r);
    cJSON *un = results(env, id, "unprocessedRecords");
    assert_int_equal(cJSON_GetArraySize(un), 3);
    assert_string_equal(cell(un, 2, 0), "b");
    cJSON_Delete(un);
    assert_int_equal(emu_record_count(env->e, "Case", true), 0);
    free(id);
}

static void test_unknown_column_fails_the_job(void **state)
{
    fe_env *env = *state;
    char *id = create_job(env, "{\"object\":\"Case\",\"operation\":\"insert\"}");
    upload_and_close(env, id, "Subject,Nope__c\na,b\n");
    eh_response r;
    job_req(env, "GET", id, "", NULL, NULL, &r);
    assert_string_equal(json_str(r.json, "state"), "Failed");
    assert_non_null(json_str(r.json, "errorMessage"));
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 0);
    free(id);
}

static void test_record_fault_fails_one_row(void **state)
{
    fe_env *env = *state;
    char *id = create_job(env, "{\"object\":\"Case\",\"operation\":\"insert\"}");
    emu_fault f = EMU_FAULT_INIT;
    f.kind = EMU_FAULT_RECORD_ERROR;
    f.method = "PATCH";
    f.path_pattern = "/services/data/v*/jobs/ingest/*";
    f.count = 1;
    f.error_code = "UNABLE_TO_LOCK_ROW";
    f.message = "unable to obtain exclusive access to this record";
    f.record_index = 0;
    assert_true(emu_fault_add(env->e, &f) > 0);
    upload_and_close(env, id, "Subject\na\nb\n");
    cJSON *bad = results(env, id, "failedResults");
    assert_int_equal(cJSON_GetArraySize(bad), 2);
    assert_string_equal(cell(bad, 1, 1),
                        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--");
    cJSON_Delete(bad);
    assert_int_equal(emu_record_count(env->e, "Case", true), 1);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_insert_job_end_to_end_with_a_failed_row, fe_reset),
        cmocka_unit_test_setup(test_upsert_job_with_crlf_reports_created_flags, fe_reset),
        cmocka_unit_test_setup(test_job_errors_and_lifecycle, fe_reset),
        cmocka_unit_test_setup(test_aborted_job_leaves_rows_unprocessed, fe_reset),
        cmocka_unit_test_setup(test_unknown_column_fails_the_job, fe_reset),
        cmocka_unit_test_setup(test_record_fault_fails_one_row, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
