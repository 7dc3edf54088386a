/* The emulator answers as Salesforce documents, for what a third-party client (simple-
 * salesforce, jsforce, a curl script written from the REST API Developer Guide) may send,
 * not only for what sfagent sends. Each test names the documented behaviour it holds the
 * emulator to (docs/salesforce.md, docs/emulator.md "Conformance"). */
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

static void query(fe_env *env, const char *soql, eh_response *out)
{
    char *q = fe_q(soql);
    char *path = xasprintf(FV "/query?q=%s", q);
    fe_req(env, "GET", path, NULL, out);
    free(path);
    free(q);
}

/* The field named name in a describe body's "fields" array, or NULL. */
static const cJSON *describe_field(const cJSON *describe, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(describe, "fields"))
    {
        const char *n = json_str(f, "name");
        if (n && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

/* A string value, "(absent)" when missing or not a string (so a failed comparison reports
 * instead of crashing). */
static const char *str(const cJSON *o, const char *key)
{
    const char *v = json_str(o, key);
    return v ? v : "(absent)";
}

/* A key that is present and null (describe prints every key, null when unset). */
static void assert_null_key(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    assert_non_null(v);
    assert_true(cJSON_IsNull(v));
}

/* ---- API versions ---- */

/* A version the org does not serve names no resource: 404 NOT_FOUND, the answer
 * Salesforce gives for a version number above its newest (and there are no minor
 * versions). The versions list ends at the newest served one. */
static void test_unknown_api_version_is_not_found(void **state)
{
    fe_env *env = *state;
    static const char *const paths[] = {"/services/data/v99.0/limits",
                                        "/services/data/v67.0/sobjects",
                                        "/services/data/v62.5/limits"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        eh_response r;
        fe_req(env, "GET", paths[i], NULL, &r);
        assert_int_equal(r.status, 404);
        assert_string_equal(fe_err(&r, 0, "errorCode"), "NOT_FOUND");
        assert_string_equal(fe_err(&r, 0, "message"), "The requested resource does not exist");
        eh_response_free(&r);
    }
    eh_response r;
    fe_req(env, "GET", "/services/data/", NULL, &r);
    assert_int_equal(r.status, 200);
    int n = cJSON_GetArraySize(r.json);
    const cJSON *last = cJSON_GetArrayItem(r.json, n - 1);
    assert_string_equal(json_str(last, "version"), "66.0");
    assert_string_equal(json_str(last, "label"), "Spring '26");
    eh_response_free(&r);
    fe_req(env, "GET", "/services/data/v66.0/limits", NULL, &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
}

/* ---- methods ---- */

/* A method a resource does not take is 405 METHOD_NOT_ALLOWED naming the method sent and
 * the ones allowed ("HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,POST", as
 * recorded from Salesforce). */
static void test_method_not_allowed_names_the_method_sent(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "row", NULL, id);
    char *row = xasprintf(FV "/sobjects/Case/%s", id);
    static const char *const describe = FV "/sobjects/Case/describe";
    const struct {
        const char *method, *path, *says;
    } cases[] = {
        {"PUT", row, "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE"},
        {"POST", row, "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE"},
        {"DELETE", FV "/sobjects/Case",
         "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,POST"},
        {"PATCH", describe, "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD"},
        {"POST", FV "/sobjects/Case/updated?start=x&end=y",
         "HTTP Method 'POST' not allowed. Allowed are GET,HEAD"},
        {"PUT", "/services/oauth2/token", "HTTP Method 'PUT' not allowed. Allowed are POST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eh_response r;
        fe_req(env, cases[i].method, cases[i].path, "{}", &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(fe_err(&r, 0, "errorCode"), "METHOD_NOT_ALLOWED");
        assert_string_equal(fe_err(&r, 0, "message"), cases[i].says);
        eh_response_free(&r);
    }
    free(row);
}

/* ---- SOQL ---- */

/* "The maximum offset is 2,000 rows. Requesting an offset greater than 2,000 results in
 * a NUMBER_OUTSIDE_VALID_RANGE error." (SOQL reference, OFFSET). */
static void test_offset_above_2000_is_number_outside_valid_range(void **state)
{
    fe_env *env = *state;
    char id[19];
    fe_case(env, "one", NULL, id);
    eh_response r;
    query(env, "SELECT Id FROM Case LIMIT 1 OFFSET 2001", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "NUMBER_OUTSIDE_VALID_RANGE");
    assert_non_null(strstr(fe_err(&r, 0, "message"), "2000"));
    eh_response_free(&r);
    query(env, "SELECT Id FROM Case LIMIT 1 OFFSET 2000", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 0);
    eh_response_free(&r);
}

/* Salesforce checks each comparison's literal against the field's type before running a
 * query, so a client's quoting mistake is an error, not an empty result. */
static void test_filter_literal_must_fit_the_field_type(void **state)
{
    fe_env *env = *state;
    static const struct {
        const char *soql, *says;
    } bad[] = {
        {"SELECT Id FROM Case WHERE CreatedDate > '2020-01-01T00:00:00Z'",
         "value of filter criterion for field 'CreatedDate' must be of type dateTime and "
         "should not be enclosed in quotes"},
        {"SELECT Id FROM Case WHERE SystemModstamp >= 2020-01-01",
         "field 'SystemModstamp' must be of type dateTime"},
        {"SELECT Id FROM Case WHERE isclosed = 'false'",
         "field 'isclosed' must be of type boolean and should not be enclosed in quotes"},
        {"SELECT Id FROM Case WHERE Subject = 5",
         "field 'Subject' must be of type string and should be enclosed in quotes"},
        {"SELECT Id FROM Case WHERE Status IN ('New', 2)", "field 'Status' must be of type string"},
        {"SELECT Id FROM Case WHERE Subject = 'a' AND (NOT CreatedDate < 'x')",
         "field 'CreatedDate' must be of type dateTime"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eh_response r;
        query(env, bad[i].soql, &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_FIELD");
        if (!strstr(fe_err(&r, 0, "message"), bad[i].says))
            fail_msg("%s: %s", bad[i].soql, fe_err(&r, 0, "message"));
        eh_response_free(&r);
    }
    static const char *const bad_ids[] = {
        "SELECT Id FROM Case WHERE Id = 'garbage'",
        "SELECT Id FROM Case WHERE OwnerId IN ('005000000000000', '005-00000000000')",
    };
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        eh_response r;
        query(env, bad_ids[i], &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_QUERY_FILTER_OPERATOR");
        assert_non_null(strstr(fe_err(&r, 0, "message"), "invalid ID field: "));
        eh_response_free(&r);
    }
    char id[19];
    fe_case(env, "fits", NULL, id);
    static const char *const good[] = {
        "SELECT Id FROM Case WHERE CreatedDate > 2020-01-01T00:00:00Z",
        "SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:3",
        "SELECT Id FROM Case WHERE CreatedDate = TODAY AND IsClosed = false",
        "SELECT Id FROM Case WHERE CreatedDate = LAST_90_DAYS AND CreatedDate = THIS_QUARTER "
        "AND CreatedDate < NEXT_N_WEEKS:1 AND CreatedDate > N_YEARS_AGO:1",
        "SELECT Id FROM Case WHERE Subject IN ('FITS', 'other') AND Origin = null",
        "SELECT Id FROM Case WHERE OwnerId != null AND Id != '500000000000000'",
        "SELECT Id FROM Case WHERE Id > '500000000000000AAA' AND ContactId = null",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        eh_response r;
        query(env, good[i], &r);
        if (r.status != 200 || json_num(r.json, "totalSize", -1) != 1)
            fail_msg("%s: %ld %s", good[i], r.status, r.body);
        eh_response_free(&r);
    }
}

/* Relationship paths compare and select through the parent record, names in any case;
 * a path to a field the parent does not have is INVALID_FIELD, not a null column. */
static void test_relationship_paths_filter_and_are_checked(void **state)
{
    fe_env *env = *state;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "LastName", "Smith");
    char contact[19], with[19], without[19];
    assert_int_equal(emu_record_insert(env->e, "Contact", f, contact), 0);
    cJSON_Delete(f);
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Subject", "linked");
    cJSON_AddStringToObject(f, "ContactId", contact);
    assert_int_equal(emu_record_insert(env->e, "Case", f, with), 0);
    cJSON_Delete(f);
    fe_case(env, "alone", NULL, without);
    eh_response r;
    query(env, "select Id, CONTACT.lastname from case where contact.LastName = 'smith'", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    const cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "records"), 0);
    assert_string_equal(json_str(rec, "Id"), with);
    assert_string_equal(json_str(cJSON_GetObjectItem(rec, "Contact"), "LastName"), "Smith");
    eh_response_free(&r);
    query(env, "SELECT Id FROM Case WHERE Contact.LastName = null", &r);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1); /* no contact: the path is null */
    eh_response_free(&r);
    query(env, "SELECT Id FROM Case WHERE Contact.LastName != 'Smith' ORDER BY Contact.LastName",
          &r);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    eh_response_free(&r);
    static const char *const bad[] = {"SELECT Id, Contact.Bogus FROM Case",
                                      "SELECT Id FROM Case WHERE Contact.Bogus = 'x'",
                                      "SELECT Id FROM Case WHERE Nobody.LastName = 'x'"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        query(env, bad[i], &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_FIELD");
        eh_response_free(&r);
    }
}

/* A long text area can be selected but not filtered or sorted by, and a dateTime not
 * grouped by, as describe says (filterable, sortable, groupable false) and Salesforce
 * enforces. */
static void test_long_text_area_cannot_be_filtered_or_sorted(void **state)
{
    fe_env *env = *state;
    static const struct {
        const char *soql, *code, *says;
    } bad[] = {
        {"SELECT Id FROM Case WHERE Description = 'x'", "INVALID_FIELD",
         "field 'Description' can not be filtered in a query call"},
        {"SELECT Id FROM Case WHERE Subject = 'a' OR description LIKE '%x%'", "INVALID_FIELD",
         "field 'description' can not be filtered in a query call"},
        {"SELECT Id FROM Case WHERE Contact.Description != null", "INVALID_FIELD",
         "field 'Contact.Description' can not be filtered in a query call"},
        {"SELECT Id FROM Case ORDER BY Description", "MALFORMED_QUERY",
         "field 'Description' can not be sorted in a query call"},
        {"SELECT CreatedDate, COUNT(Id) FROM Case GROUP BY CreatedDate", "INVALID_FIELD",
         "field 'CreatedDate' can not be grouped in a query call"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eh_response r;
        query(env, bad[i].soql, &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(fe_err(&r, 0, "errorCode"), bad[i].code);
        if (!strstr(fe_err(&r, 0, "message"), bad[i].says))
            fail_msg("%s: %s", bad[i].soql, fe_err(&r, 0, "message"));
        eh_response_free(&r);
    }
    char id[19];
    fe_case(env, "selectable", NULL, id);
    eh_response r;
    query(env, "SELECT Id, Description FROM Case ORDER BY CreatedDate, Subject", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_num(r.json, "totalSize", -1), 1);
    eh_response_free(&r);
}

/* Query cursors live 2 days (Salesforce's query cursor limits): a locator used within
 * them pages on, one used later answers 400 INVALID_QUERY_LOCATOR. The clock is shifted,
 * and the test logs in again at each shifted time, since tokens expire sooner. */
static void test_query_locator_expires_after_two_days(void **state)
{
    fe_env *env = *state;
    char id[19];
    for (int i = 0; i < 250; i++)
        fe_case(env, "paged", NULL, id);
    int64_t t0 = time_now_ms();
    char *next[2];
    for (int i = 0; i < 2; i++) {
        eh_response r;
        char *q = fe_q("SELECT Id FROM Case");
        char *path = xasprintf(FV "/query?q=%s", q);
        fe_req_hdr(env, "GET", path, NULL, "Sforce-Query-Options: batchSize=200", NULL, &r);
        assert_int_equal(r.status, 200);
        next[i] = xstrdup(json_str(r.json, "nextRecordsUrl"));
        eh_response_free(&r);
        free(path);
        free(q);
    }
    time_set_override(t0 + 47LL * 3600 * 1000); /* within 2 days: both page on */
    free(env->token);
    env->token = eh_login(env->e);
    eh_response r;
    fe_req(env, "GET", next[0], NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")), 50);
    eh_response_free(&r);
    time_set_override(t0 + 49LL * 3600 * 1000); /* past 2 days: expired */
    free(env->token);
    env->token = eh_login(env->e);
    fe_req(env, "GET", next[1], NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "INVALID_QUERY_LOCATOR");
    eh_response_free(&r);
    time_set_override(0);
    free(next[0]);
    free(next[1]);
}

/* ---- describe ---- */

/* Text areas say "plaintextarea" in extraTypeInfo (rich text would say "richtextarea");
 * clients tell a long text area from a string by it. */
static void test_describe_text_area_has_extra_type_info(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "GET", FV "/sobjects/Case/describe", NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *d = describe_field(r.json, "Description");
    assert_non_null(d);
    assert_string_equal(str(d, "type"), "textarea");
    assert_string_equal(str(d, "extraTypeInfo"), "plaintextarea");
    assert_null_key(describe_field(r.json, "Subject"), "extraTypeInfo");
    eh_response_free(&r);
}

/* Contact's Name is a compound of FirstName and LastName: its parts carry
 * compoundFieldName "Name" and Name itself extraTypeInfo "personname". */
static void test_describe_contact_name_is_compound(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "GET", FV "/sobjects/Contact/describe", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(describe_field(r.json, "FirstName"), "compoundFieldName"), "Name");
    assert_string_equal(str(describe_field(r.json, "LastName"), "compoundFieldName"), "Name");
    const cJSON *name = describe_field(r.json, "Name");
    assert_string_equal(str(name, "extraTypeInfo"), "personname");
    assert_false(json_bool(name, "createable", true));
    assert_null_key(name, "compoundFieldName");
    assert_null_key(describe_field(r.json, "Email"), "compoundFieldName");
    eh_response_free(&r);
    fe_req(env, "GET", FV "/sobjects/Case/describe", NULL, &r);
    assert_null_key(describe_field(r.json, "Subject"), "compoundFieldName");
    eh_response_free(&r);
}

/* Describe's urls carry the version of the request, like every other URL it prints. */
static void test_describe_urls_carry_the_request_version(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "GET", "/services/data/v55.0/sobjects/Case/describe", NULL, &r);
    assert_int_equal(r.status, 200);
    const cJSON *urls = cJSON_GetObjectItem(r.json, "urls");
    assert_string_equal(str(urls, "sobject"), "/services/data/v55.0/sobjects/Case");
    assert_string_equal(str(urls, "describe"), "/services/data/v55.0/sobjects/Case/describe");
    eh_response_free(&r);
    fe_req(env, "GET", "/services/data/v55.0/sobjects/", NULL, &r);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "sobjects"), 0);
    const char *row = str(cJSON_GetObjectItem(first, "urls"), "rowTemplate");
    assert_non_null(row);
    assert_non_null(strstr(row, "/services/data/v55.0/sobjects/"));
    eh_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unknown_api_version_is_not_found, fe_reset),
        cmocka_unit_test_setup(test_method_not_allowed_names_the_method_sent, fe_reset),
        cmocka_unit_test_setup(test_offset_above_2000_is_number_outside_valid_range, fe_reset),
        cmocka_unit_test_setup(test_filter_literal_must_fit_the_field_type, fe_reset),
        cmocka_unit_test_setup(test_relationship_paths_filter_and_are_checked, fe_reset),
        cmocka_unit_test_setup(test_long_text_area_cannot_be_filtered_or_sorted, fe_reset),
        cmocka_unit_test_setup(test_query_locator_expires_after_two_days, fe_reset),
        cmocka_unit_test_setup(test_describe_text_area_has_extra_type_info, fe_reset),
        cmocka_unit_test_setup(test_describe_contact_name_is_compound, fe_reset),
        cmocka_unit_test_setup(test_describe_urls_carry_the_request_version, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
