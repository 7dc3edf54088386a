/* Emulator sObject resources (docs/salesforce.md: sobject-rows, errors, conditional-requests,
 * describe, api-limits): create/retrieve/update/ delete rows, validation errors with Salesforce's
 * codes and texts, upsert by external ID across API versions, conditional requests, describe,
 * limits and usage headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define V "/services/data/v62.0"

typedef struct fixture {
    emu *e;
    char *tok;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    emu_options o = EMU_OPTIONS_INIT;
    o.custom_objects = "Visit__c";
    if (emu_start(&f->e, &o) != 0)
        return -1;
    f->tok = eh_login(f->e);
    *state = f;
    return f->tok ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    time_set_override(0); /* a failed test may leave the clock pinned */
    emu_stop(f->e);
    free(f->tok);
    free(f);
    return 0;
}

/* Request and return the response (status, json); caller frees. */
static eh_response req(fixture *f, const char *method, const char *path, const char *body)
{
    eh_response r;
    assert_int_equal(eh_request(f->e, method, path, f->tok, body, &r), 0);
    return r;
}

static void assert_error(const eh_response *r, long status, const char *code, const char *message,
                         const char *field)
{
    assert_int_equal(r->status, status);
    assert_true(cJSON_IsArray(r->json));
    const cJSON *e0 = cJSON_GetArrayItem(r->json, 0);
    assert_string_equal(json_str(e0, "errorCode"), code);
    if (message)
        assert_string_equal(json_str(e0, "message"), message);
    if (field)
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(e0, "fields"), 0)->valuestring,
                            field);
}

/* POST a record, assert 201, return its id (caller frees). */
static char *create(fixture *f, const char *type, const char *body)
{
    char *path = xasprintf(V "/sobjects/%s/", type);
    eh_response r = req(f, "POST", path, body);
    free(path);
    assert_int_equal(r.status, 201);
    assert_true(json_bool(r.json, "success", false));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "errors")), 0);
    assert_null(cJSON_GetObjectItem(r.json, "created"));
    char *id = xstrdup(json_str(r.json, "id"));
    assert_int_equal(strlen(id), 18);
    eh_response_free(&r);
    return id;
}

static eh_response get_row(fixture *f, const char *type, const char *id, const char *query)
{
    char *path = xasprintf(V "/sobjects/%s/%s%s", type, id, query ? query : "");
    eh_response r = req(f, "GET", path, NULL);
    free(path);
    return r;
}

static bool is_sf_date(const char *s)
{
    /* 2013-05-20T20:49:32.000+0000 */
    return s && strlen(s) == 28 && s[10] == 'T' && s[19] == '.' && strcmp(s + 23, "+0000") == 0;
}

static void test_create_and_get_case(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Case", "{\"Subject\":\"Printer jams\",\"Origin\":\"Web\"}");
    assert_memory_equal(id, "500", 3);
    eh_response r = get_row(f, "Case", id, NULL);
    assert_int_equal(r.status, 200);
    const cJSON *attrs = cJSON_GetObjectItem(r.json, "attributes");
    assert_string_equal(json_str(attrs, "type"), "Case");
    char *url = xasprintf(V "/sobjects/Case/%s", id);
    assert_string_equal(json_str(attrs, "url"), url);
    free(url);
    assert_string_equal(r.json->child->string, "attributes"); /* attributes come first */
    assert_string_equal(json_str(r.json, "Id"), id);
    assert_string_equal(json_str(r.json, "CaseNumber"), "00001000");
    assert_string_equal(json_str(r.json, "Status"), "New");
    assert_string_equal(json_str(r.json, "Priority"), "Medium");
    assert_false(json_bool(r.json, "IsClosed", true));
    assert_false(json_bool(r.json, "IsDeleted", true));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "Description")));
    assert_true(is_sf_date(json_str(r.json, "CreatedDate")));
    assert_true(is_sf_date(json_str(r.json, "SystemModstamp")));
    assert_memory_equal(json_str(r.json, "OwnerId"), "005", 3);
    char *lim = eh_header(&r, "Sforce-Limit-Info");
    assert_non_null(lim);
    assert_memory_equal(lim, "api-usage=", 10);
    free(lim);
    eh_response_free(&r);
    char *id2 = create(f, "Case", "{\"Subject\":\"second\"}");
    r = get_row(f, "Case", id2, "?fields=CaseNumber");
    assert_string_equal(json_str(r.json, "CaseNumber"), "00001001");
    eh_response_free(&r);
    /* 15-char form of the Id works too */
    char id15[16];
    memcpy(id15, id, 15);
    id15[15] = '\0';
    r = get_row(f, "Case", id15, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "Id"), id);
    eh_response_free(&r);
    free(id);
    free(id2);
}

static void test_fields_param_and_unknown_field(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Case", "{\"Subject\":\"s\"}");
    eh_response r = get_row(f, "Case", id, "?fields=Subject,Status");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "Subject"), "s");
    assert_string_equal(json_str(r.json, "Status"), "New");
    assert_null(cJSON_GetObjectItem(r.json, "Priority"));
    /* Id comes back though fields= did not name it, after attributes (type, url). */
    assert_string_equal(json_str(r.json, "Id"), id);
    const cJSON *attrs = cJSON_GetObjectItem(r.json, "attributes");
    assert_string_equal(json_str(attrs, "type"), "Case");
    char *url = xasprintf(V "/sobjects/Case/%s", id);
    assert_string_equal(json_str(attrs, "url"), url);
    free(url);
    eh_response_free(&r);
    r = get_row(f, "Case", id, "?fields=Subject,Bogus");
    assert_error(&r, 400, "INVALID_FIELD", NULL, NULL);
    assert_non_null(strstr(json_str(cJSON_GetArrayItem(r.json, 0), "message"),
                           "No such column 'Bogus' on entity 'Case'"));
    eh_response_free(&r);
    free(id);
}

static void test_create_validation_errors(void **state)
{
    fixture *f = *state;
    struct {
        const char *type, *body, *code, *message, *field;
    } cases[] = {
        {"Case", "{\"Id\":\"5005g0000000001AAA\",\"Subject\":\"x\"}", "INVALID_FIELD",
         "The Id field should not be specified in the sobject data.", NULL},
        {"Case", "{\"Bogus\":1}", "INVALID_FIELD", "No such column 'Bogus' on sobject of type Case",
         NULL},
        {"Case", "{\"Status\":\"Nope\"}", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "Status: bad value for restricted picklist field: Nope", "Status"},
        {"Case", "{\"CaseNumber\":\"1\"}", "INVALID_FIELD_FOR_INSERT_UPDATE", NULL, "CaseNumber"},
        {"Case", "{\"IsClosed\":true}", "INVALID_FIELD_FOR_INSERT_UPDATE", NULL, "IsClosed"},
        {"Case", "{\"ContactId\":\"not-an-id\"}", "MALFORMED_ID", NULL, "ContactId"},
        {"Case", "{\"ContactId\":\"5005g0000000001AAA\"}", "MALFORMED_ID",
         "Contact ID: id value of incorrect type: 5005g0000000001AAA", "ContactId"},
        {"Contact", "{\"FirstName\":\"Ann\"}", "REQUIRED_FIELD_MISSING",
         "Required fields are missing: [LastName]", "LastName"},
        {"Contact", "{\"LastName\":\"A\",\"Email\":\"Not a real email address\"}",
         "INVALID_EMAIL_ADDRESS", "Email: invalid email address: Not a real email address",
         "Email"},
        {"Account", "{\"Phone\":\"1\"}", "REQUIRED_FIELD_MISSING",
         "Required fields are missing: [Name]", "Name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = xasprintf(V "/sobjects/%s/", cases[i].type);
        eh_response r = req(f, "POST", path, cases[i].body);
        assert_error(&r, 400, cases[i].code, cases[i].message, cases[i].field);
        eh_response_free(&r);
        free(path);
    }
    char long_subject[300];
    memset(long_subject, 'x', 256);
    long_subject[256] = '\0';
    char *body = xasprintf("{\"Subject\":\"%s\"}", long_subject);
    eh_response r = req(f, "POST", V "/sobjects/Case/", body);
    assert_error(&r, 400, "STRING_TOO_LONG", NULL, "Subject");
    assert_non_null(strstr(json_str(cJSON_GetArrayItem(r.json, 0), "message"), "(max length=255)"));
    eh_response_free(&r);
    free(body);
    r = req(f, "POST", V "/sobjects/Case/", "{not json");
    assert_error(&r, 400, "JSON_PARSER_ERROR", NULL, NULL);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", true), 0); /* nothing was written */
    assert_int_equal(emu_record_count(f->e, "Contact", true), 0);
}

static void test_duplicate_external_id(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Case", "{\"Sync_Key__c\":\"Key-1\"}");
    eh_response r = req(f, "POST", V "/sobjects/Case/", "{\"Sync_Key__c\":\"key-1\"}");
    char *msg = xasprintf("duplicate value found: Sync_Key__c duplicates value on record with "
                          "id: %.15s",
                          id);
    assert_error(&r, 400, "DUPLICATE_VALUE", msg, "Sync_Key__c");
    free(msg);
    eh_response_free(&r);
    free(id);
}

static void test_update_delete_lifecycle(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Case", "{\"Subject\":\"a\"}");
    eh_response r = get_row(f, "Case", id, NULL);
    char *stamp1 = xstrdup(json_str(r.json, "SystemModstamp"));
    eh_response_free(&r);
    char *path = xasprintf(V "/sobjects/Case/%s", id);
    r = req(f, "PATCH", path, "{\"Status\":\"Closed\",\"Subject\":\"b\"}");
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    eh_response_free(&r);
    r = get_row(f, "Case", id, NULL);
    assert_string_equal(json_str(r.json, "Subject"), "b");
    assert_true(json_bool(r.json, "IsClosed", false));
    assert_true(strcmp(json_str(r.json, "SystemModstamp"), stamp1) >= 0); /* or same second */
    eh_response_free(&r);
    /* SystemModstamp (whole seconds) never goes back, even when the clock does, and moves
     * on with the next second. */
    cJSON *a = emu_record_get(f->e, id);
    int64_t now = time_now_ms();
    time_set_override(now - 3600 * 1000);
    r = req(f, "PATCH", path, "{\"Subject\":\"c\"}");
    eh_response_free(&r);
    cJSON *b = emu_record_get(f->e, id);
    assert_string_equal(json_str(b, "SystemModstamp"), json_str(a, "SystemModstamp"));
    time_set_override(now + 2000);
    r = req(f, "PATCH", path, "{\"Subject\":\"d\"}");
    eh_response_free(&r);
    time_set_override(0);
    cJSON *c = emu_record_get(f->e, id);
    assert_true(strcmp(json_str(c, "SystemModstamp"), json_str(b, "SystemModstamp")) > 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    r = req(f, "PATCH", path, "{\"Priority\":null,\"Subject\":null}");
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    r = req(f, "DELETE", path, NULL);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    r = req(f, "DELETE", path, NULL);
    assert_error(&r, 404, "ENTITY_IS_DELETED", "entity is deleted", NULL);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "fields")), 0);
    eh_response_free(&r);
    r = req(f, "GET", path, NULL);
    assert_error(&r, 404, "ENTITY_IS_DELETED", NULL, NULL);
    eh_response_free(&r);
    r = req(f, "PATCH", path, "{\"Subject\":\"d\"}");
    assert_error(&r, 404, "ENTITY_IS_DELETED", NULL, NULL);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", false), 0);
    assert_int_equal(emu_record_count(f->e, "Case", true), 1);
    free(path);
    free(stamp1);
    free(id);
}

static void test_unknown_and_malformed_ids(void **state)
{
    fixture *f = *state;
    eh_response r = get_row(f, "Case", "5005g000000ZZZZAAA", NULL);
    /* valid-looking but checksum wrong -> MALFORMED_ID */
    assert_error(&r, 400, "MALFORMED_ID", "Case ID: id value of incorrect type: 5005g000000ZZZZAAA",
                 "Id");
    eh_response_free(&r);
    r = get_row(f, "Case", "5005g000000zzzz", NULL); /* valid 15, no such record */
    assert_error(&r, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
    eh_response_free(&r);
    r = get_row(f, "Case", "0035g000000zzzz", NULL); /* a Contact id on Case */
    assert_error(&r, 400, "MALFORMED_ID", NULL, NULL);
    eh_response_free(&r);
    r = req(f, "GET", V "/sobjects/Bogus/", NULL);
    assert_error(&r, 404, "NOT_FOUND", NULL, NULL);
    eh_response_free(&r);
    r = req(f, "GET", V "/nothing/here", NULL);
    assert_error(&r, 404, "NOT_FOUND", NULL, NULL);
    eh_response_free(&r);
}

static void test_upsert_by_external_id(void **state)
{
    fixture *f = *state;
    eh_response r = req(f, "PATCH", V "/sobjects/Case/Sync_Key__c/k%2F1", "{\"Subject\":\"one\"}");
    assert_int_equal(r.status, 201);
    assert_true(json_bool(r.json, "created", false));
    assert_true(json_bool(r.json, "success", false));
    char *id = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    cJSON *rec = emu_record_get(f->e, id);
    assert_string_equal(json_str(rec, "Sync_Key__c"), "k/1"); /* URL-decoded key */
    cJSON_Delete(rec);
    r = req(f, "PATCH", V "/sobjects/Case/Sync_Key__c/K%2F1", "{\"Subject\":\"two\"}");
    assert_int_equal(r.status, 200);
    assert_false(json_bool(r.json, "created", true));
    assert_string_equal(json_str(r.json, "id"), id);
    eh_response_free(&r);
    /* v45.0 and earlier: 204 on update, no "created" on insert */
    r = req(f, "PATCH", "/services/data/v45.0/sobjects/Case/Sync_Key__c/k%2F1",
            "{\"Subject\":\"three\"}");
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    r = req(f, "PATCH", "/services/data/v45.0/sobjects/Case/Sync_Key__c/k2", "{}");
    assert_int_equal(r.status, 201);
    assert_null(cJSON_GetObjectItem(r.json, "created"));
    eh_response_free(&r);
    assert_int_equal(emu_record_count(f->e, "Case", false), 2);
    /* not an external id field */
    r = req(f, "PATCH", V "/sobjects/Case/Subject/x", "{}");
    assert_error(&r, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
    eh_response_free(&r);
    /* updateOnly never creates */
    r = req(f, "PATCH", V "/sobjects/Case/Sync_Key__c/k3?updateOnly=true", "{}");
    assert_int_equal(r.status, 404);
    eh_response_free(&r);
    /* GET by external id */
    r = req(f, "GET", V "/sobjects/Case/Sync_Key__c/k%2F1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "Subject"), "three");
    eh_response_free(&r);
    free(id);
}

static void test_upsert_multiple_matches_is_300(void **state)
{
    fixture *f = *state;
    char *a = create(f, "Contact", "{\"LastName\":\"A\",\"External_Ref__c\":\"dup\"}");
    char *b = create(f, "Contact", "{\"LastName\":\"B\",\"External_Ref__c\":\"DUP\"}");
    eh_response r = req(f, "PATCH", V "/sobjects/Contact/External_Ref__c/dup", "{\"Title\":\"x\"}");
    assert_int_equal(r.status, 300);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    char *url = xasprintf(V "/sobjects/Contact/%s", a);
    assert_string_equal(cJSON_GetArrayItem(r.json, 0)->valuestring, url);
    free(url);
    eh_response_free(&r);
    cJSON *rec = emu_record_get(f->e, b);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "Title"))); /* nothing written */
    cJSON_Delete(rec);
    free(a);
    free(b);
}

static void test_create_via_id_key_and_method_override(void **state)
{
    fixture *f = *state;
    eh_response r = req(f, "POST", V "/sobjects/Case/Id", "{\"Id\":null,\"Subject\":\"viaId\"}");
    assert_int_equal(r.status, 201);
    assert_true(json_bool(r.json, "created", false));
    char *id = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    r = req(f, "PATCH", V "/sobjects/Case/Id", "{}");
    assert_error(&r, 405, "METHOD_NOT_ALLOWED",
                 "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,POST", NULL);
    eh_response_free(&r);
    char *path = xasprintf(V "/sobjects/Case/%s?_HttpMethod=PATCH", id);
    r = req(f, "POST", path, "{\"Subject\":\"overridden\"}");
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    cJSON *rec = emu_record_get(f->e, id);
    assert_string_equal(json_str(rec, "Subject"), "overridden");
    cJSON_Delete(rec);
    free(path);
    free(id);
}

static void http_date(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static eh_response req_h(fixture *f, const char *method, const char *path, const char *body,
                         const char *header)
{
    const char *hs[] = {header, NULL};
    eh_request_opts o = {
        .method = method, .path = path, .token = f->tok, .body = body, .headers = hs};
    eh_response r;
    assert_int_equal(eh_request_ex(f->e, &o, &r), 0);
    return r;
}

static void test_conditional_requests(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Case", "{\"Subject\":\"c\"}");
    char *path = xasprintf(V "/sobjects/Case/%s", id);
    char past[64], future[64], h[128];
    http_date(time(NULL) - 3600, past, sizeof past);
    http_date(time(NULL) + 3600, future, sizeof future);
    snprintf(h, sizeof h, "If-Modified-Since: %s", future);
    eh_response r = req_h(f, "GET", path, NULL, h);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    eh_response_free(&r);
    snprintf(h, sizeof h, "If-Modified-Since: %s", past);
    r = req_h(f, "GET", path, NULL, h);
    assert_int_equal(r.status, 200);
    char *etag = eh_header(&r, "ETag");
    assert_null(etag); /* ETags are for Account only */
    eh_response_free(&r);
    snprintf(h, sizeof h, "If-Unmodified-Since: %s", past);
    r = req_h(f, "PATCH", path, "{\"Subject\":\"blocked\"}", h);
    assert_int_equal(r.status, 412);
    eh_response_free(&r);
    cJSON *rec = emu_record_get(f->e, id);
    assert_string_equal(json_str(rec, "Subject"), "c");
    cJSON_Delete(rec);
    snprintf(h, sizeof h, "If-Unmodified-Since: %s", future);
    r = req_h(f, "PATCH", path, "{\"Subject\":\"allowed\"}", h);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    r = req_h(f, "PATCH", path, "{\"Subject\":\"x\"}", "If-Unmodified-Since: yesterday");
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    free(path);
    free(id);
}

static void test_account_etag(void **state)
{
    fixture *f = *state;
    char *id = create(f, "Account", "{\"Name\":\"Acme\"}");
    char *path = xasprintf(V "/sobjects/Account/%s", id);
    eh_response r = req(f, "GET", path, NULL);
    char *etag = eh_header(&r, "ETag");
    assert_non_null(etag);
    assert_int_equal(etag[0], '"');
    eh_response_free(&r);
    char h[160];
    snprintf(h, sizeof h, "If-None-Match: %s", etag);
    r = req_h(f, "GET", path, NULL, h);
    assert_int_equal(r.status, 304);
    eh_response_free(&r);
    r = req_h(f, "PATCH", path, "{\"Name\":\"x\"}", "If-Match: \"stale\"");
    assert_int_equal(r.status, 412);
    eh_response_free(&r);
    snprintf(h, sizeof h, "If-Match: \"other\", %s", etag);
    r = req_h(f, "PATCH", path, "{\"Name\":\"Acme 2\"}", h);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    r = req_h(f, "PATCH", path, "{\"Name\":\"Acme 3\"}", h); /* old etag is stale now */
    assert_int_equal(r.status, 412);
    eh_response_free(&r);
    free(etag);
    free(path);
    free(id);
}

static void test_describe_global_and_sobject(void **state)
{
    fixture *f = *state;
    eh_response r = req(f, "GET", V "/sobjects/", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "encoding"), "UTF-8");
    assert_int_equal((int)json_num(r.json, "maxBatchSize", 0), 200);
    bool saw_case = false, saw_visit = false;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(r.json, "sobjects"))
    {
        if (strcmp(json_str(o, "name"), "Case") == 0) {
            saw_case = true;
            assert_string_equal(json_str(o, "keyPrefix"), "500");
            assert_string_equal(json_str(cJSON_GetObjectItem(o, "urls"), "rowTemplate"),
                                "/services/data/v62.0/sobjects/Case/{ID}");
        }
        if (strcmp(json_str(o, "name"), "Visit__c") == 0) {
            saw_visit = true;
            assert_true(json_bool(o, "custom", false));
        }
    }
    assert_true(saw_case && saw_visit);
    eh_response_free(&r);

    static const char *const keys[] = {"aggregatable",
                                       "autoNumber",
                                       "byteLength",
                                       "calculated",
                                       "calculatedFormula",
                                       "cascadeDelete",
                                       "caseSensitive",
                                       "compoundFieldName",
                                       "controllerName",
                                       "createable",
                                       "custom",
                                       "defaultValue",
                                       "defaultValueFormula",
                                       "defaultedOnCreate",
                                       "dependentPicklist",
                                       "deprecatedAndHidden",
                                       "digits",
                                       "displayLocationInDecimal",
                                       "encrypted",
                                       "externalId",
                                       "extraTypeInfo",
                                       "filterable",
                                       "filteredLookupInfo",
                                       "groupable",
                                       "highScaleNumber",
                                       "htmlFormatted",
                                       "idLookup",
                                       "inlineHelpText",
                                       "label",
                                       "length",
                                       "mask",
                                       "maskType",
                                       "name",
                                       "nameField",
                                       "namePointing",
                                       "nillable",
                                       "permissionable",
                                       "picklistValues",
                                       "precision",
                                       "queryByDistance",
                                       "referenceTargetField",
                                       "referenceTo",
                                       "relationshipName",
                                       "relationshipOrder",
                                       "restrictedDelete",
                                       "restrictedPicklist",
                                       "scale",
                                       "soapType",
                                       "sortable",
                                       "type",
                                       "unique",
                                       "updateable",
                                       "writeRequiresMasterRead"};
    r = req(f, "GET", V "/sobjects/Case/describe/", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "name"), "Case");
    int checked = 0;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(r.json, "fields"))
    {
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            assert_non_null(cJSON_GetObjectItem(o, keys[i]));
        const char *n = json_str(o, "name");
        if (strcmp(n, "Status") == 0) {
            checked++;
            assert_string_equal(json_str(o, "type"), "picklist");
            const cJSON *pv = cJSON_GetObjectItem(o, "picklistValues");
            assert_int_equal(cJSON_GetArraySize(pv), 4);
            assert_string_equal(json_str(cJSON_GetArrayItem(pv, 0), "value"), "New");
            assert_true(json_bool(cJSON_GetArrayItem(pv, 0), "defaultValue", false));
        } else if (strcmp(n, "Sync_Key__c") == 0) {
            checked++;
            assert_true(json_bool(o, "externalId", false));
            assert_true(json_bool(o, "unique", false));
            assert_false(json_bool(o, "caseSensitive", true));
            assert_int_equal((int)json_num(o, "length", 0), 255);
        } else if (strcmp(n, "CaseNumber") == 0) {
            checked++;
            assert_true(json_bool(o, "autoNumber", false));
            assert_false(json_bool(o, "createable", true));
        } else if (strcmp(n, "ContactId") == 0) {
            checked++;
            assert_string_equal(
                cJSON_GetArrayItem(cJSON_GetObjectItem(o, "referenceTo"), 0)->valuestring,
                "Contact");
        }
    }
    assert_int_equal(checked, 4);
    eh_response_free(&r);
    r = req(f, "GET", V "/sobjects/Case/", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(cJSON_GetObjectItem(r.json, "objectDescribe"), "name"), "Case");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(r.json, "recentItems")));
    eh_response_free(&r);
    char h[96], date[64];
    http_date(time(NULL) + 60, date, sizeof date);
    snprintf(h, sizeof h, "If-Modified-Since: %s", date);
    r = req_h(f, "GET", V "/sobjects/Case/describe", NULL, h);
    assert_int_equal(r.status, 304);
    eh_response_free(&r);
}

static void test_limits_and_usage_header(void **state)
{
    fixture *f = *state;
    emu_set_api_limit(f->e, 1000);
    eh_response r = req(f, "GET", V "/limits/", NULL);
    assert_int_equal(r.status, 200);
    const cJSON *d = cJSON_GetObjectItem(r.json, "DailyApiRequests");
    assert_int_equal((int)json_num(d, "Max", 0), 1000);
    long used = emu_api_usage(f->e);
    assert_int_equal((long)json_num(d, "Remaining", 0), 1000 - used);
    assert_non_null(cJSON_GetObjectItem(r.json, "DataStorageMB"));
    char *h = eh_header(&r, "Sforce-Limit-Info");
    char want[64];
    snprintf(want, sizeof want, "api-usage=%ld/1000", used);
    assert_string_equal(h, want);
    free(h);
    eh_response_free(&r);
    r = req(f, "GET", V "/limits", NULL);
    assert_int_equal(emu_api_usage(f->e), used + 1);
    eh_response_free(&r);
}

static void test_contact_and_custom_object_defaults(void **state)
{
    fixture *f = *state;
    char *acc = create(f, "Account", "{\"Name\":\"Acme\"}");
    char *body =
        xasprintf("{\"FirstName\":\"Ann\",\"LastName\":\"Lee\",\"AccountId\":\"%s\"}", acc);
    char *con = create(f, "Contact", body);
    free(body);
    cJSON *rec = emu_record_get(f->e, con);
    assert_string_equal(json_str(rec, "Name"), "Ann Lee");
    cJSON_Delete(rec);
    body = xasprintf("{\"ContactId\":\"%s\"}", con);
    char *cs = create(f, "Case", body);
    free(body);
    eh_response r = get_row(f, "Case", cs, "?fields=AccountId,Contact.LastName");
    assert_string_equal(json_str(r.json, "AccountId"), acc); /* defaulted from the contact */
    assert_string_equal(json_str(cJSON_GetObjectItem(r.json, "Contact"), "LastName"), "Lee");
    eh_response_free(&r);
    char *v = create(f, "Visit__c", "{}");
    assert_memory_equal(v, "a00", 3);
    rec = emu_record_get(f->e, v);
    assert_string_equal(json_str(rec, "Name"), v);
    cJSON_Delete(rec);
    free(acc);
    free(con);
    free(cs);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_get_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_param_and_unknown_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_external_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_malformed_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_by_external_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_multiple_matches_is_300, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_via_id_key_and_method_override, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conditional_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_global_and_sobject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_usage_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_and_custom_object_defaults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
