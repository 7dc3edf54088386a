/*
 * Issue 11: the describe cache and validation with suggestions (store/describe.c,
 * store/validate.c, util/suggest.c). Describes are put in the cache as the engine would
 * (store_describe_put); every refused write must leave the tables as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/describe.h"
#include "sfagent/record.h"
#include "store/describe.h"
#include "store_test_util.h"
#include "util/suggest.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* ---- util/suggest.c ---- */

static void test_suggest_distance_counts_swaps_as_one(void **state)
{
    (void)state;
    assert_int_equal(suggest_distance("Stauts", "Status"), 1);  /* swap */
    assert_int_equal(suggest_distance("Acount", "Account"), 1); /* insertion */
    assert_int_equal(suggest_distance("status", "Status"), 0);  /* letter case */
    assert_int_equal(suggest_distance("Subjct", "Subject"), 1);
    assert_int_equal(suggest_distance("abc", "xyz"), 3);
    assert_int_equal(suggest_distance("", "abc"), 3);
    assert_int_equal(suggest_distance("ca", "abc"), 3); /* OSA, not unrestricted Damerau */
}

static char *suggest_for(const char *typed, const char *const *names)
{
    suggest_set s;
    suggest_init(&s, typed);
    for (size_t i = 0; names[i]; i++)
        suggest_consider(&s, names[i]);
    char *t = suggest_text(&s);
    suggest_clear(&s);
    return t;
}

static void test_suggest_lists_close_names_only(void **state)
{
    (void)state;
    static const char *const names[] = {"Status",      "Subject",  "Priority", "Origin",
                                        "Description", "IsClosed", NULL};
    char *t = suggest_for("Stauts", names);
    assert_string_equal(t, "did you mean 'Status'?");
    free(t);
    t = suggest_for("Zzzzzz", names); /* nothing close: no suggestion at all */
    assert_null(t);
    t = suggest_for("Su", names); /* prefix match, case-insensitive */
    assert_string_equal(t, "did you mean 'Subject'?");
    free(t);
    static const char *const many[] = {"Subjects", "Subject", "Object", "Subjet", NULL};
    t = suggest_for("Subjct", many); /* several close names, closest first */
    assert_string_equal(t, "did you mean 'Subject', 'Subjet' or 'Subjects'?");
    free(t);
}

/* ---- validation ---- */

static void expect_refused(store_fixture *f, const char *sobject, const char *json,
                           const char *needle)
{
    char *before = dump_tables(f->path);
    char *id = NULL;
    sfa_status st = sfa_record_create(&id, f->agent, sobject, json);
    if (st != SFA_EINVAL)
        fail_msg("%s %s: got %d (%s)", sobject, json, st, sfa_agent_errmsg(f->agent));
    assert_null(id);
    if (!strstr(sfa_agent_errmsg(f->agent), needle))
        fail_msg("%s: message '%s' lacks '%s'", json, sfa_agent_errmsg(f->agent), needle);
    char *after = dump_tables(f->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static char *expect_created(store_fixture *f, const char *sobject, const char *json)
{
    char *id = NULL;
    sfa_status st = sfa_record_create(&id, f->agent, sobject, json);
    if (st != SFA_OK)
        fail_msg("%s %s: got %d (%s)", sobject, json, st, sfa_agent_errmsg(f->agent));
    return id;
}

static void test_builtin_metadata_refuses_typos_with_suggestion(void **state)
{
    store_fixture *f = *state;
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Stauts\":\"New\"}",
                   "unknown field 'Stauts' on Case; did you mean 'Status'?");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Qwxyz\":\"New\"}",
                   "unknown field 'Qwxyz' on Case");
    assert_null(strstr(sfa_agent_errmsg(f->agent), "did you mean"));
    expect_refused(f, "Contact", "{\"LastName\":\"x\",\"Emial\":\"a@b.c\"}",
                   "did you mean 'Email'?");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"CaseNumber\":\"1\"}",
                   "CaseNumber is read-only");
    /* Custom fields pass on syntax until the describe is cached; standard spelled in
     * another case is stored under Salesforce's spelling. */
    char *id = expect_created(f, "Case", "{\"subject\":\"x\",\"status\":\"New\",\"Thing__c\":1}");
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", id), SFA_OK);
    assert_non_null(strstr(r->fields_json, "\"Status\":\"New\""));
    assert_non_null(strstr(r->fields_json, "\"Subject\":\"x\""));
    sfa_record_free(r);
    free(id);
    /* An Id of the wrong object (key prefix 001 is Account) in a Contact reference. */
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"ContactId\":\"001D000000IqhSLIAZ\"}",
                   "Id of a Account record");
    free(expect_created(f, "Case", "{\"Subject\":\"x\",\"ContactId\":\"003D000000QV9n2IAD\"}"));
}

static cJSON *parse(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    assert_non_null(j);
    return j;
}

static void cache(store_fixture *f, const char *key, const char *json)
{
    cJSON *j = parse(json);
    assert_int_equal(store_describe_put(f->agent, key, j), SFA_OK);
    cJSON_Delete(j);
}

static const char GLOBAL[] =
    "{\"sobjects\":[{\"name\":\"Account\",\"keyPrefix\":\"001\"},"
    "{\"name\":\"Case\",\"keyPrefix\":\"500\"},{\"name\":\"Contact\",\"keyPrefix\":\"003\"},"
    "{\"name\":\"Visit__c\",\"keyPrefix\":\"a0V\"}]}";

static const char CASE_DESCRIBE[] =
    "{\"name\":\"Case\",\"fields\":["
    "{\"name\":\"Subject\",\"type\":\"string\",\"length\":10,\"createable\":true,"
    "\"updateable\":true,\"nillable\":true},"
    "{\"name\":\"Status\",\"type\":\"picklist\",\"length\":255,\"createable\":true,"
    "\"updateable\":true,\"nillable\":true,\"restrictedPicklist\":true,\"picklistValues\":["
    "{\"value\":\"New\",\"active\":true},{\"value\":\"Working\",\"active\":true},"
    "{\"value\":\"Closed\",\"active\":true}]},"
    "{\"name\":\"ContactId\",\"type\":\"reference\",\"createable\":true,\"updateable\":true,"
    "\"nillable\":true,\"referenceTo\":[\"Contact\"]},"
    "{\"name\":\"Visit__c\",\"type\":\"reference\",\"createable\":true,\"updateable\":true,"
    "\"nillable\":true,\"referenceTo\":[\"Visit__c\"]},"
    "{\"name\":\"Closed_On__c\",\"type\":\"date\",\"createable\":false,\"updateable\":true,"
    "\"nillable\":true}]}";

static void test_cached_describe_rules(void **state)
{
    store_fixture *f = *state;
    cache(f, STORE_DESCRIBE_GLOBAL, GLOBAL);
    cache(f, "Case", CASE_DESCRIBE);
    expect_refused(f, "Acount", "{\"Name\":\"x\"}",
                   "unknown object 'Acount'; did you mean 'Account'?");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Stauts\":\"New\"}", "did you mean 'Status'?");
    /* Once described, custom fields are checked too. */
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Visti__c\":\"a0VD000000QV9n2\"}",
                   "did you mean 'Visit__c'?");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Closed_On__c\":\"2024-01-01\"}",
                   "Closed_On__c is read-only");
    expect_refused(f, "Case", "{\"Subject\":\"01234567890\"}", "too long");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"Status\":\"Workign\"}",
                   "restricted picklist field: Workign; did you mean 'Working'?");
    expect_refused(f, "Case", "{\"Subject\":\"x\",\"ContactId\":\"a0VD000000QV9n2\"}",
                   "Id of a Visit__c record");
    char *id = expect_created(f, "Case", "{\"subject\":\"x\",\"STATUS\":\"Working\"}");
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", id), SFA_OK);
    assert_non_null(strstr(r->fields_json, "\"Status\":\"Working\""));
    sfa_record_free(r);
    free(id);
    /* Objects describe global lists, in any case, pass. */
    free(expect_created(f, "visit__C", "{\"Anything__c\":1}"));
}

static void test_field_list_check(void **state)
{
    store_fixture *f = *state;
    char *out = NULL;
    assert_int_equal(sfa_describe_check_fields(&out, f->agent, "Case", "subject, status,X__c"),
                     SFA_OK);
    assert_string_equal(out, "Subject,Status,X__c");
    free(out);
    assert_int_equal(sfa_describe_check_fields(&out, f->agent, "Case", "Subject,Stauts"),
                     SFA_EINVAL);
    assert_null(out);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "did you mean 'Status'?"));
    cache(f, "Case", CASE_DESCRIBE);
    assert_int_equal(sfa_describe_check_fields(&out, f->agent, "Case", "Subject,X__c"), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "unknown field 'X__c' on Case"));
}

static void test_describe_cache_put_touch_and_read(void **state)
{
    store_fixture *f = *state;
    char *json = NULL;
    int64_t at = -1;
    assert_int_equal(sfa_describe_cached(&json, &at, f->agent, "Case"), SFA_ENOTFOUND);
    assert_null(json);
    cache(f, "Case", CASE_DESCRIBE);
    assert_int_equal(sfa_describe_cached(&json, &at, f->agent, "case"), SFA_OK);
    assert_non_null(strstr(json, "Closed_On__c"));
    assert_true(at > 0);
    free(json);
    raw_exec(f->path, "UPDATE describe_cache SET fetched_at = 5");
    int64_t t = 0;
    assert_int_equal(store_describe_fetched_at(&t, f->agent, "Case"), SFA_OK);
    assert_int_equal(t, 5);
    assert_int_equal(store_describe_touch(f->agent, "Case"), SFA_OK);
    assert_int_equal(store_describe_fetched_at(&t, f->agent, "Case"), SFA_OK);
    assert_true(t > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest_distance_counts_swaps_as_one),
        cmocka_unit_test(test_suggest_lists_close_names_only),
        cmocka_unit_test_setup_teardown(test_builtin_metadata_refuses_typos_with_suggestion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cached_describe_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_list_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_cache_put_touch_and_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
