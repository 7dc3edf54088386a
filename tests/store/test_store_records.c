/* Local writes: coalescing and ordering rules, reference resolution, input validation
 * (every refusal leaves the tables unchanged), upsert, get and list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sfagent/record.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

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

static char *create_ok(store_fixture *f, const char *sobject, const char *json)
{
    char *id = NULL;
    sfa_status st = sfa_record_create(&id, f->agent, sobject, json);
    if (st != SFA_OK)
        fail_msg("create %s: %s", json, sfa_agent_errmsg(f->agent));
    assert_non_null(id);
    return id;
}

static long long q(store_fixture *f, const char *fmt, const char *arg)
{
    char *sql = xasprintf(fmt, arg);
    long long v = raw_int(f->path, sql);
    free(sql);
    return v;
}

static void exec_f(store_fixture *f, const char *fmt, const char *arg)
{
    char *sql = xasprintf(fmt, arg);
    raw_exec(f->path, sql);
    free(sql);
}

static char *op_fields(store_fixture *f, long long seq)
{
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT fields FROM outbox WHERE seq = ?1", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, seq);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void test_create_writes_mirror_and_op(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"subject\":\"Printer\",\"Status\":\"New\"}");
    assert_int_equal(strncmp(id, "loc-", 4), 0);
    assert_int_equal(strlen(id), 30);
    assert_int_equal(q(f, "SELECT count(*) FROM records WHERE local_id='%s' AND dirty=1", id), 1);
    assert_int_equal(q(f,
                       "SELECT count(*) FROM outbox WHERE local_id='%s' AND kind='create' "
                       "AND state='pending'",
                       id),
                     1);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", id), SFA_OK);
    assert_int_equal(r->sync_state, SFA_RECORD_PENDING);
    /* the field name was given in lower case and stored canonically */
    assert_non_null(strstr(r->fields_json, "\"Subject\":\"Printer\""));
    assert_null(r->sf_id);
    sfa_record_free(r);
    free(id);
}

static void test_update_folds_into_unsent_create(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\",\"Status\":\"New\"}");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"Working\"}"), SFA_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE local_id='%s'", id), 1);
    char *fields = op_fields(f, 1);
    assert_non_null(strstr(fields, "\"Status\":\"Working\""));
    assert_non_null(strstr(fields, "\"Subject\":\"a\""));
    free(fields);
    free(id);
}

static void test_update_not_folded_into_claimed_create(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    /* A run holds the create: it may be in flight and must not change under it. */
    raw_exec(f->path, "UPDATE outbox SET lease_owner='run-1' WHERE seq=1");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Subject\":\"b\"}"), SFA_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE local_id='%s'", id), 2);
    char *first = op_fields(f, 1);
    assert_string_equal(first, "{\"Subject\":\"a\"}");
    free(first);
    free(id);
}

static void test_update_not_folded_into_sent_create(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    raw_exec(f->path, "UPDATE outbox SET attempts=1 WHERE seq=1"); /* sent once, failed */
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Subject\":\"b\"}"), SFA_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE local_id='%s'", id), 2);
    char *first = op_fields(f, 1);
    assert_string_equal(first, "{\"Subject\":\"a\"}");
    free(first);
    free(id);
}

static void mark_synced(store_fixture *f, const char *id, const char *sf_id)
{
    char *sql = xasprintf("UPDATE outbox SET state='done' WHERE local_id='%s';"
                          "UPDATE records SET sf_id='%s', dirty=0, base=fields, "
                          "sys_modstamp='2024-01-01T00:00:00.000+0000' WHERE local_id='%s'",
                          id, sf_id, id);
    raw_exec(f->path, sql);
    free(sql);
}

static void test_consecutive_updates_merge(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    mark_synced(f, id, "500D000000IqhSLIAZ");
    assert_int_equal(
        sfa_record_update(f->agent, "Case", id, "{\"Status\":\"Working\",\"Priority\":\"Low\"}"),
        SFA_OK);
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Priority\":\"High\"}"), SFA_OK);
    assert_int_equal(
        q(f, "SELECT count(*) FROM outbox WHERE local_id='%s' AND state='pending'", id), 1);
    char *fields = op_fields(f, 2);
    assert_non_null(strstr(fields, "\"Status\":\"Working\""));
    assert_non_null(strstr(fields, "\"Priority\":\"High\""));
    assert_null(strstr(fields, "Low"));
    assert_null(strstr(fields, "Subject")); /* only changed fields are sent */
    free(fields);
    assert_int_equal(q(f,
                       "SELECT count(*) FROM outbox WHERE local_id='%s' AND "
                       "base_modstamp='2024-01-01T00:00:00.000+0000'",
                       id),
                     1);
    free(id);
}

static void test_update_after_claimed_update_appends(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    mark_synced(f, id, "500D000000IqhSLIAZ");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"A\"}"), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET state='inflight', lease_owner='r' WHERE seq=2");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"B\"}"), SFA_OK);
    char *f2 = op_fields(f, 2), *f3 = op_fields(f, 3);
    assert_string_equal(f2, "{\"Status\":\"A\"}");
    assert_string_equal(f3, "{\"Status\":\"B\"}");
    free(f2);
    free(f3);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", id), SFA_OK);
    assert_int_equal(r->sync_state, SFA_RECORD_PENDING); /* newest open op */
    assert_non_null(strstr(r->fields_json, "\"Status\":\"B\""));
    sfa_record_free(r);
    free(id);
}

/* Never fold into an older op past a newer one (seq order is the send order). */
static void test_no_fold_past_newer_op(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    mark_synced(f, id, "500D000000IqhSLIAZ");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"A\"}"), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET state='dead' WHERE seq=2");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"B\"}"), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM outbox"), 3);
    char *f2 = op_fields(f, 2);
    assert_string_equal(f2, "{\"Status\":\"A\"}");
    free(f2);
    free(id);
}

static void test_delete_of_unsent_create_removes_both(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"B\"}"), SFA_OK);
    assert_int_equal(sfa_record_delete(f->agent, "Case", id), SFA_OK);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 0);
    free(id);
}

static void test_delete_of_sent_create_queues_delete(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    raw_exec(f->path, "UPDATE outbox SET state='inflight', lease_owner='r', attempts=1");
    assert_int_equal(sfa_record_delete(f->agent, "Case", id), SFA_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE local_id='%s' AND kind='delete'", id),
                     1);
    assert_int_equal(q(f, "SELECT deleted FROM records WHERE local_id='%s'", id), 1);
    free(id);
}

static void test_write_to_deleted_record_refused(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    mark_synced(f, id, "500D000000IqhSLIAZ");
    assert_int_equal(sfa_record_delete(f->agent, "Case", id), SFA_OK);
    char *before = dump_tables(f->path);
    assert_int_equal(sfa_record_update(f->agent, "Case", id, "{\"Status\":\"x\"}"), SFA_ESTATE);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "deleted"));
    assert_int_equal(sfa_record_delete(f->agent, "Case", id), SFA_ESTATE);
    char *after = dump_tables(f->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(id);
}

static void test_refs_resolve(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    mark_synced(f, id, "001D000000IqhSLIAZ");
    exec_f(f, "UPDATE records SET case_number='00001234' WHERE local_id='%s'", id);
    const char *refs[] = {id, "001D000000IqhSL", "001D000000IqhSLIAZ", "00001234"};
    for (size_t i = 0; i < 4; i++) {
        sfa_record *r = NULL;
        if (sfa_record_get(&r, f->agent, "Case", refs[i]) != SFA_OK)
            fail_msg("ref %s: %s", refs[i], sfa_agent_errmsg(f->agent));
        assert_string_equal(r->local_id, id);
        assert_int_equal(r->sync_state, SFA_RECORD_SYNCED);
        sfa_record_free(r);
    }
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", "00009999"), SFA_ENOTFOUND);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "00009999"));
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", "loc-0000000000000000000000000X"),
                     SFA_ENOTFOUND);
    assert_int_equal(sfa_record_get(&r, f->agent, "Contact", id), SFA_ENOTFOUND);
    assert_null(r);
    char *id2 = create_ok(f, "Case", "{\"Subject\":\"b\"}");
    exec_f(f, "UPDATE records SET case_number='00001234' WHERE local_id='%s'", id2);
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", "00001234"), SFA_EAMBIGUOUS);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "00001234"));
    assert_int_equal(sfa_record_update(f->agent, "Case", "00001234", "{\"Status\":\"x\"}"),
                     SFA_EAMBIGUOUS);
    free(id);
    free(id2);
}

typedef struct bad_case {
    const char *sobject;
    const char *json;
    sfa_status want;
    const char *needle;
} bad_case;

static void expect_create_refused(store_fixture *f, const bad_case *c)
{
    char *before = dump_tables(f->path);
    char *id = NULL;
    sfa_status st = sfa_record_create(&id, f->agent, c->sobject, c->json);
    if (st != c->want)
        fail_msg("%s %.80s: got %d want %d (%s)", c->sobject, c->json, st, c->want,
                 sfa_agent_errmsg(f->agent));
    assert_null(id);
    if (!strstr(sfa_agent_errmsg(f->agent), c->needle))
        fail_msg("%.80s: message '%s' lacks '%s'", c->json, sfa_agent_errmsg(f->agent), c->needle);
    char *after = dump_tables(f->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static char *repeat_json(const char *field, const char *unit, size_t n, const char *extra)
{
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "{%s\"%s\":\"", extra, field);
    for (size_t i = 0; i < n; i++)
        strbuf_adds(&sb, unit);
    strbuf_adds(&sb, "\"}");
    return strbuf_detach(&sb);
}

static void test_bad_inputs_refused_nothing_written(void **state)
{
    store_fixture *f = *state;
    char *keep = create_ok(f, "Case", "{\"Subject\":\"keep\"}");
    const bad_case cases[] = {
        {"Ca se", "{\"Subject\":\"a\"}", SFA_EINVAL, "sObject"},
        {"1Case", "{\"Subject\":\"a\"}", SFA_EINVAL, "sObject"},
        {"Case", "{\"Sub ject\":\"a\"}", SFA_EINVAL, "Sub ject"},
        {"Case", "{\"Subject\":", SFA_EINVAL, "JSON"},
        {"Case", "[1,2]", SFA_EINVAL, "object"},
        {"Case", "\"x\"", SFA_EINVAL, "object"},
        {"Case", "{\"Subject\":\"a\",\"X__c\":{\"a\":1}}", SFA_EINVAL, "nested"},
        {"Case", "{\"Subject\":\"a\",\"X__c\":[1]}", SFA_EINVAL, "nested"},
        {"Case", "{\"Subject\":5}", SFA_EINVAL, "Subject"},
        {"Case", "{\"Subject\":\"   \"}", SFA_EINVAL, "Subject"},
        {"Case", "{\"Subject\":\"\"}", SFA_EINVAL, "Subject"},
        {"Case", "{\"Status\":\"New\"}", SFA_EINVAL, "Subject"},
        {"Case", "{\"Subject\":null}", SFA_EINVAL, "Subject"},
        {"Contact", "{\"FirstName\":\"Ann\"}", SFA_EINVAL, "LastName"},
        {"Contact", "{\"LastName\":null}", SFA_EINVAL, "LastName"},
        {"Case", "{\"Subject\":\"a\",\"Id\":\"500D000000IqhSLIAZ\"}", SFA_EINVAL, "Id"},
        {"Case", "{\"Subject\":\"a\",\"CaseNumber\":\"1\"}", SFA_EINVAL, "CaseNumber"},
        {"Case", "{\"Subject\":\"a\",\"CreatedDate\":\"2024-01-01\"}", SFA_EINVAL, "CreatedDate"},
        {"Case", "{\"Subject\":\"a\",\"LastModifiedDate\":\"x\"}", SFA_EINVAL, "LastModifiedDate"},
        {"Case", "{\"Subject\":\"a\",\"SystemModstamp\":\"x\"}", SFA_EINVAL, "SystemModstamp"},
        {"Case", "{\"Subject\":\"a\",\"IsClosed\":true}", SFA_EINVAL, "IsClosed"},
        {"Case", "{\"Subject\":\"a\",\"IsDeleted\":false}", SFA_EINVAL, "IsDeleted"},
        {"Widget__c", "{\"Id\":\"a0BA0000000L2ZC\"}", SFA_EINVAL, "Id"},
        {"Case", "{\"Subject\":\"a\",\"subject\":\"b\"}", SFA_EINVAL, "more than once"},
        {"Case", "{\"Subject\":\"a\",\"ContactId\":\"bob\"}", SFA_EINVAL, "ContactId"},
        {"Case", "{\"Subject\":\"a\",\"ContactId\":7}", SFA_EINVAL, "ContactId"},
        {"Case", "{\"Subject\":\"a\",\"ContactId\":\"loc-00000000000000000000000000\"}",
         SFA_ENOTFOUND, "ContactId"},
        {"Contact", "{\"LastName\":\"x\",\"AccountId\":\"00100000000000\"}", SFA_EINVAL,
         "AccountId"},
        {NULL, NULL, SFA_OK, NULL},
    };
    for (size_t i = 0; cases[i].sobject; i++)
        expect_create_refused(f, &cases[i]);
    /* Oversized values. */
    char *subj = repeat_json("Subject", "x", 256, "");
    char *desc = repeat_json("Description", "x", 32001, "\"Subject\":\"a\",");
    char *last = repeat_json("LastName", "x", 81, "");
    char *huge = repeat_json("Notes__c", "x", 131073, "\"Subject\":\"a\",");
    const bad_case sized[] = {
        {"Case", subj, SFA_EINVAL, "too long"},
        {"Case", desc, SFA_EINVAL, "too long"},
        {"Contact", last, SFA_EINVAL, "too long"},
        {"Case", huge, SFA_EINVAL, "bytes"},
    };
    for (size_t i = 0; i < 4; i++)
        expect_create_refused(f, &sized[i]);
    /* Limits count characters, not bytes: 255 two-byte characters fit. */
    char *wide = repeat_json("Subject", "\xc3\xa9", 255, "");
    char *id = create_ok(f, "Case", wide);
    free(id);
    free(wide);
    free(subj);
    free(desc);
    free(last);
    free(huge);
    /* Updates are validated too, and refused ones change nothing. */
    char *before = dump_tables(f->path);
    assert_int_equal(sfa_record_update(f->agent, "Case", keep, "{\"Subject\":\" \"}"), SFA_EINVAL);
    assert_int_equal(sfa_record_update(f->agent, "Case", keep, "{\"IsClosed\":true}"), SFA_EINVAL);
    assert_int_equal(sfa_record_update(f->agent, "Case", keep, "{}"), SFA_EINVAL);
    assert_int_equal(sfa_record_update(f->agent, "Case", keep, "{\"A\":{}}"), SFA_EINVAL);
    char *after = dump_tables(f->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(keep);
}

static void test_describe_cache_takes_precedence(void **state)
{
    store_fixture *f = *state;
    raw_exec(f->path,
             "INSERT INTO describe_cache VALUES ('Widget__c', '{\"name\":\"Widget__c\",\"fields\":["
             "{\"name\":\"Id\",\"type\":\"id\",\"createable\":false,\"updateable\":false},"
             "{\"name\":\"Name\",\"type\":\"string\",\"length\":10,\"createable\":true,"
             "\"updateable\":true,\"nillable\":true},"
             "{\"name\":\"Qty__c\",\"type\":\"double\",\"createable\":true,\"updateable\":true,"
             "\"nillable\":true},"
             "{\"name\":\"Due__c\",\"type\":\"date\",\"createable\":true,\"updateable\":true,"
             "\"nillable\":true},"
             "{\"name\":\"Owner__c\",\"type\":\"reference\",\"referenceTo\":[\"Contact\"],"
             "\"createable\":true,\"updateable\":true,\"nillable\":true},"
             "{\"name\":\"Ok__c\",\"type\":\"boolean\",\"createable\":true,\"updateable\":false,"
             "\"nillable\":false},"
             "{\"name\":\"Size__c\",\"type\":\"picklist\",\"restrictedPicklist\":true,"
             "\"createable\":true,\"updateable\":true,\"nillable\":true,\"picklistValues\":["
             "{\"value\":\"S\",\"active\":true},{\"value\":\"XL\",\"active\":false}]},"
             "{\"name\":\"Tag__c\",\"type\":\"picklist\",\"restrictedPicklist\":false,"
             "\"createable\":true,\"updateable\":true,\"nillable\":true,\"picklistValues\":["
             "{\"value\":\"a\",\"active\":true}]}]}', 1)");
    const bad_case cases[] = {
        {"Widget__c", "{\"Nope__c\":1}", SFA_EINVAL, "unknown field 'Nope__c' on Widget__c"},
        {"Widget__c", "{\"Name\":\"01234567890\"}", SFA_EINVAL, "too long"},
        {"Widget__c", "{\"Qty__c\":\"3\"}", SFA_EINVAL, "number"},
        {"Widget__c", "{\"Due__c\":\"tomorrow\"}", SFA_EINVAL, "date"},
        {"Widget__c", "{\"Ok__c\":\"yes\"}", SFA_EINVAL, "true or false"},
        {"Widget__c", "{\"Size__c\":\"M\"}", SFA_EINVAL, "restricted picklist"},
        {"Widget__c", "{\"Size__c\":\"XL\"}", SFA_EINVAL, "restricted picklist"}, /* inactive */
        {NULL, NULL, SFA_OK, NULL},
    };
    for (size_t i = 0; cases[i].sobject; i++)
        expect_create_refused(f, &cases[i]);
    char *id = create_ok(f, "Widget__c",
                         "{\"name\":\"w\",\"Qty__c\":2.5,\"Due__c\":\"2024-02-01\",\"Ok__c\":true,"
                         "\"Size__c\":\"S\",\"Tag__c\":\"free text: not restricted\"}");
    char *contact = create_ok(f, "Contact", "{\"LastName\":\"c\"}");
    char *ok = xasprintf("{\"Owner__c\":\"%s\"}", contact);
    assert_int_equal(sfa_record_update(f->agent, "Widget__c", id, ok), SFA_OK);
    free(ok);
    ok = xasprintf("{\"Owner__c\":\"%s\"}", id);
    assert_int_equal(sfa_record_update(f->agent, "Widget__c", id, ok), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "Owner__c"));
    free(ok);
    free(contact);
    assert_int_equal(sfa_record_update(f->agent, "Widget__c", id, "{\"Ok__c\":false}"), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "read-only"));
    free(id);
}

static void test_reference_values(void **state)
{
    store_fixture *f = *state;
    char *contact = create_ok(f, "Contact", "{\"LastName\":\"Doe\"}");
    char *json = xasprintf("{\"Subject\":\"a\",\"ContactId\":\"%s\"}", contact);
    char *c1 = create_ok(f, "Case", json);
    char *c2 = create_ok(f, "Case", "{\"Subject\":\"a\",\"AccountId\":\"001D000000IqhSL\"}");
    /* A local id must name a record of the sObject the field points at. */
    char *bad = xasprintf("{\"Subject\":\"a\",\"ContactId\":\"%s\"}", c2);
    bad_case wrong = {"Case", bad, SFA_EINVAL, "is a Case record"};
    expect_create_refused(f, &wrong);
    free(bad);
    /* A never-synced parent that a child points at cannot silently vanish. */
    assert_int_equal(sfa_record_delete(f->agent, "Contact", contact), SFA_ESTATE);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), c1));
    free(json);
    free(c1);
    free(c2);
    free(contact);
}

static void test_upsert_creates_then_updates(void **state)
{
    store_fixture *f = *state;
    char *id1 = NULL, *id2 = NULL;
    assert_int_equal(
        sfa_record_upsert(&id1, f->agent, "Case", "Ext__c", "E-1", "{\"Subject\":\"a\"}"), SFA_OK);
    assert_int_equal(
        sfa_record_upsert(&id2, f->agent, "Case", "Ext__c", "E-1", "{\"Status\":\"Working\"}"),
        SFA_OK);
    assert_string_equal(id1, id2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE kind='upsert' AND "
                                      "ext_field='Ext__c' AND ext_value='E-1'"),
                     2);
    char *id3 = NULL;
    assert_int_equal(sfa_record_upsert(&id3, f->agent, "Case", "Ext__c", "", "{}"), SFA_EINVAL);
    assert_int_equal(sfa_record_upsert(&id3, f->agent, "Case", "Bad Field", "v", "{}"), SFA_EINVAL);
    assert_null(id3);
    free(id1);
    free(id2);
}

static void test_list_filters_and_orders(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"b\",\"Status\":\"New\"}");
    char *b = create_ok(f, "Case", "{\"Subject\":\"a\",\"Status\":\"Closed\"}");
    char *c = create_ok(f, "Case", "{\"Subject\":\"c\",\"Status\":\"New\"}");
    char *d = create_ok(f, "Contact", "{\"LastName\":\"x\"}");
    sfa_record_array arr = {0};
    sfa_list_options o = SFA_LIST_OPTIONS_INIT;
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_int_equal(arr.count, 3);
    sfa_record_array_free(&arr);
    o.status = "New";
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_int_equal(arr.count, 2);
    sfa_record_array_free(&arr);
    o.status = NULL;
    o.order_field = "Subject";
    o.limit = 2;
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_int_equal(arr.count, 2);
    assert_string_equal(arr.items[0].local_id, b);
    assert_string_equal(arr.items[1].local_id, a);
    sfa_record_array_free(&arr);
    o.descending = true;
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_string_equal(arr.items[0].local_id, c);
    sfa_record_array_free(&arr);
    o.order_field = "Bad Name";
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_EINVAL);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_ids_format_and_order(void **state)
{
    (void)state;
    char *prev = store_new_local_id();
    for (int i = 0; i < 200; i++) {
        char *id = store_new_local_id();
        assert_int_equal(strlen(id), 30);
        assert_int_equal(strncmp(id, "loc-", 4), 0);
        assert_int_equal(strspn(id + 4, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
        assert_true(strcmp(prev, id) != 0);
        /* same or later millisecond: the 10 time characters never go backwards */
        assert_true(strncmp(prev, id, 14) <= 0);
        free(prev);
        prev = id;
    }
    free(prev);
    char *op = store_new_op_id();
    assert_int_equal(strncmp(op, "op-", 3), 0);
    assert_int_equal(strlen(op), 29);
    free(op);
    /* The first 10 characters are the 48-bit millisecond time, base32 (ULID layout). */
    time_set_override(INT64_C(1780000000000));
    char *fixed = store_new_local_id();
    assert_int_equal(strncmp(fixed, "loc-01KSR49200", 14), 0);
    free(fixed);
    time_set_override(0);
}

/* I3 of store/ids.c: ids minted in one millisecond ascend by one in their random part,
 * and a forked child never continues its parent's sequence. */
static void test_ids_monotonic_within_a_millisecond(void **state)
{
    (void)state;
    time_set_override(INT64_C(1780000000000));
    char *first = store_new_local_id();
    char *prev = xstrdup(first);
    for (int i = 0; i < 100; i++) {
        char *id = store_new_local_id();
        assert_int_equal(strncmp(prev, id, 14), 0); /* the same millisecond */
        assert_true(strcmp(prev, id) < 0);          /* and strictly later */
        free(prev);
        prev = id;
    }
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char *child = store_new_local_id(); /* same pinned millisecond as the parent's */
        _exit(write(fds[1], child, 30) == 30 ? 0 : 1);
    }
    char *parent = store_new_local_id(), child[31] = "";
    assert_int_equal(read(fds[0], child, 30), 30);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_not_equal(child, parent);
    close(fds[0]);
    close(fds[1]);
    free(parent);
    free(prev);
    free(first);
    time_set_override(0);
}

static void test_list_include_deleted(void **state)
{
    store_fixture *f = *state;
    char *id = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    raw_exec(f->path,
             "UPDATE outbox SET state='done'; UPDATE records SET sf_id='500D000000IqhSLIAZ'");
    assert_int_equal(sfa_record_delete(f->agent, "Case", id), SFA_OK);
    sfa_record_array arr = {0};
    sfa_list_options o = SFA_LIST_OPTIONS_INIT;
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_int_equal(arr.count, 0);
    o.include_deleted = true;
    assert_int_equal(sfa_record_list(&arr, f->agent, "Case", &o), SFA_OK);
    assert_int_equal(arr.count, 1);
    assert_true(arr.items[0].deleted);
    assert_int_equal(arr.items[0].sync_state, SFA_RECORD_PENDING);
    sfa_record_array_free(&arr);
    free(id);
}

/* The configured idempotency field, once an open names it, is refused in any letter case
 * by later opens that do not (commands run without the configuration); the default
 * Sync_Key__c is then an ordinary field. */
static void test_configured_idempotency_field_is_remembered(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.idempotency_field = "Ext_Key__c";
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    sfa_agent_free(f->agent);
    o.idempotency_field = NULL;
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    char *id = NULL;
    assert_int_equal(
        sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"a\",\"EXT_key__c\":\"x\"}"),
        SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "Ext_Key__c"));
    assert_int_equal(sfa_record_upsert(&id, f->agent, "Case", "ext_KEY__c", "v", "{}"), SFA_EINVAL);
    assert_int_equal(
        sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"a\",\"Sync_Key__c\":\"x\"}"),
        SFA_OK);
    free(id);
    fixture_free(f);
}

/* Numbers are stored as written (18 digits exactly), within a described field's precision
 * and scale; NUL and non-finite numbers are refused; a folded update keeps the literal. */
static void test_numbers_exact_and_within_precision(void **state)
{
    store_fixture *f = *state;
    raw_exec(f->path,
             "INSERT INTO describe_cache VALUES ('Order__c', '{\"name\":\"Order__c\",\"fields\":["
             "{\"name\":\"Amount__c\",\"type\":\"currency\",\"precision\":5,\"scale\":2},"
             "{\"name\":\"Qty__c\",\"type\":\"int\",\"digits\":3},"
             "{\"name\":\"Big__c\",\"type\":\"double\",\"precision\":18,\"scale\":0}]}', 0)");
    char *id = create_ok(f, "Order__c",
                         "{\"Amount__c\":123.45,\"Qty__c\":999,\"Big__c\":123456789012345678}");
    char *text = op_fields(f, 1);
    assert_non_null(strstr(text, "\"Big__c\":123456789012345678"));
    assert_non_null(strstr(text, "\"Amount__c\":123.45"));
    free(text);
    assert_int_equal(sfa_record_update(f->agent, "Order__c", id, "{\"Big__c\":9007199254740993}"),
                     SFA_OK); /* folds into the unsent create */
    text = op_fields(f, 1);
    assert_non_null(strstr(text, "\"Big__c\":9007199254740993"));
    free(text);
    assert_int_equal(
        q(f, "SELECT count(*) FROM records WHERE fields LIKE '%%%s%%'", "9007199254740993"), 1);
    static const char *const bad[] = {
        "{\"Amount__c\":1234.5}",
        "{\"Amount__c\":1.234}",
        "{\"Qty__c\":1000}",
        "{\"Qty__c\":1.5}",
        "{\"Big__c\":1e999}",
        "{\"Big__c\":1234567890123456789}",
        "{\"Amount__c\":\"a\\u0000b\"}",
        "{\"Amo\\u0000unt__c\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *id2 = NULL;
        if (sfa_record_create(&id2, f->agent, "Order__c", bad[i]) != SFA_EINVAL)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE sobject = '%s'", "Order__c"), 1);
    free(id);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_writes_mirror_and_op),
        T(test_update_folds_into_unsent_create),
        T(test_update_not_folded_into_claimed_create),
        T(test_update_not_folded_into_sent_create),
        T(test_consecutive_updates_merge),
        T(test_update_after_claimed_update_appends),
        T(test_no_fold_past_newer_op),
        T(test_delete_of_unsent_create_removes_both),
        T(test_delete_of_sent_create_queues_delete),
        T(test_write_to_deleted_record_refused),
        T(test_refs_resolve),
        T(test_bad_inputs_refused_nothing_written),
        T(test_describe_cache_takes_precedence),
        T(test_numbers_exact_and_within_precision),
        T(test_reference_values),
        T(test_upsert_creates_then_updates),
        T(test_list_filters_and_orders),
        T(test_list_include_deleted),
        cmocka_unit_test(test_ids_format_and_order),
        cmocka_unit_test(test_ids_monotonic_within_a_millisecond),
        cmocka_unit_test(test_configured_idempotency_field_is_remembered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
