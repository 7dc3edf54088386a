/* The emulator's record indexes (emu_extidx.c, emu_view.c): upsert, DUPLICATE_VALUE and
 * `WHERE <key> IN (...)` queries must see every change to an external-ID value (edit,
 * delete, allOrNone rollback, state-file reload), answer exactly what a full scan would,
 * and keep 10,000 records fast (the push benchmark's size). */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define BY_KEY FV "/sobjects/Case/Sync_Key__c/"
#define COLL   FV "/composite/sobjects"

static void upsert(fe_env *env, const char *key, const char *subject, long want_status,
                   char out_id[19])
{
    char *path = xasprintf(BY_KEY "%s", key);
    char *body = xasprintf("{\"Subject\":\"%s\"}", subject);
    eh_response r;
    fe_req(env, "PATCH", path, body, &r);
    assert_int_equal(r.status, want_status);
    if (out_id)
        snprintf(out_id, 19, "%s", json_str(r.json, "id"));
    eh_response_free(&r);
    free(body);
    free(path);
}

static char *subject_of(fe_env *env, const char *id)
{
    cJSON *rec = emu_record_get(env->e, id);
    char *s = xstrdup(json_str(rec, "Subject") ? json_str(rec, "Subject") : "");
    cJSON_Delete(rec);
    return s;
}

static void test_upsert_follows_key_changes(void **state)
{
    fe_env *env = *state;
    char id1[19], id2[19], id3[19];
    fe_case(env, "a", "K1", id1);
    cJSON *edit = cJSON_Parse("{\"Sync_Key__c\":\"K2\"}");
    assert_int_equal(emu_record_edit(env->e, id1, edit), 0);
    cJSON_Delete(edit);

    upsert(env, "k1", "new", 201, id2); /* the old value no longer names id1 */
    assert_string_not_equal(id1, id2);
    upsert(env, "k2", "upd", 200, NULL); /* the new one does, case-insensitively */
    char *s = subject_of(env, id1);
    assert_string_equal(s, "upd");
    free(s);

    eh_response r;
    fe_req(env, "POST", FV "/sobjects/Case", "{\"Subject\":\"d\",\"Sync_Key__c\":\"k2\"}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "DUPLICATE_VALUE");
    eh_response_free(&r);

    assert_int_equal(emu_record_remove(env->e, id1), 0);
    upsert(env, "K2", "again", 201, id3); /* a deleted record is no match */
    assert_string_not_equal(id3, id1);
    fe_req(env, "GET", BY_KEY "K1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_str(r.json, "Id"), id2);
    eh_response_free(&r);
}

static void test_rollback_restores_keys(void **state)
{
    fe_env *env = *state;
    char id1[19];
    fe_case(env, "a", "R1", id1);
    /* allOrNone: the key change of record 1 is undone when record 2 fails */
    char *body =
        xasprintf("{\"allOrNone\":true,\"records\":["
                  "{\"attributes\":{\"type\":\"Case\"},\"id\":\"%s\",\"Sync_Key__c\":\"R2\"},"
                  "{\"attributes\":{\"type\":\"Case\"},\"id\":\"500000000000000AAA\","
                  "\"Subject\":\"x\"}]}",
                  id1);
    eh_response r;
    fe_req(env, "PATCH", COLL, body, &r);
    free(body);
    eh_response_free(&r);
    upsert(env, "R1", "still", 200, NULL);
    char *s = subject_of(env, id1);
    assert_string_equal(s, "still");
    free(s);

    /* a create undone by rollback leaves no key behind */
    fe_req(env, "POST", COLL,
           "{\"allOrNone\":true,\"records\":["
           "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"g\",\"Sync_Key__c\":\"R3\"},"
           "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"h\",\"NoSuchField__c\":\"x\"}]}",
           &r);
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 1);
    upsert(env, "R2", "fresh", 201, NULL);
    upsert(env, "R3", "fresh", 201, NULL);
}

static void test_state_file_reload_indexes_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-emuidx-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *file = xasprintf("%s/emu.db", dir);
    emu_options o = EMU_OPTIONS_INIT;
    o.state_file = file;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, &o), 0);
    cJSON *f = cJSON_Parse("{\"Subject\":\"p\",\"Sync_Key__c\":\"P1\"}");
    char id[19];
    assert_int_equal(emu_record_insert(e, "Case", f, id), 0);
    emu_stop(e);
    assert_int_equal(emu_start(&e, &o), 0);
    cJSON *dup = cJSON_Parse("{\"Subject\":\"q\",\"Sync_Key__c\":\"p1\"}");
    assert_int_equal(emu_record_insert(e, "Case", dup, NULL), -1); /* DUPLICATE_VALUE */
    emu_reset(e); /* drops the records, and their keys */
    assert_int_equal(emu_record_insert(e, "Case", dup, NULL), 0);
    emu_stop(e);
    cJSON_Delete(dup);
    cJSON_Delete(f);
    unlink(file);
    free(file);
    rmdir(dir);
}

/* The Ids a query answers, comma-joined, and its totalSize. */
static char *query_ids(fe_env *env, const char *resource, const char *soql, long *total)
{
    char *q = fe_q(soql);
    char *path = xasprintf(FV "/%s?q=%s", resource, q);
    eh_response r;
    fe_req(env, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    *total = (long)json_num(r.json, "totalSize", -1);
    strbuf sb = STRBUF_INIT;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(r.json, "records"))
    {
        if (sb.len)
            strbuf_addc(&sb, ',');
        strbuf_adds(&sb, json_str(rec, "Id") ? json_str(rec, "Id") : "?");
    }
    eh_response_free(&r);
    free(path);
    free(q);
    return sb.len ? strbuf_detach(&sb) : xstrdup("");
}

static void expect(fe_env *env, const char *resource, const char *soql, const char *want)
{
    long total = 0;
    char *got = query_ids(env, resource, soql, &total);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n got  [%s]\n want [%s]", soql, got, want);
    long n = *want ? 1 : 0;
    for (const char *p = want; *p; p++)
        n += *p == ',';
    assert_int_equal(total, n);
    free(got);
}

static void test_query_by_keys_matches_a_scan(void **state)
{
    fe_env *env = *state;
    char id[5][19];
    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "K%d", i);
        fe_case(env, "s", key, id[i]);
    }
    char *want = xasprintf("%s,%s", id[1], id[3]);
    expect(env, "query", "SELECT Id FROM Case WHERE Sync_Key__c IN ('K3', 'k1', 'nope', 'K1')",
           want);
    free(want);
    want = xasprintf("%s,%s", id[3], id[1]);
    expect(env, "query",
           "SELECT Id FROM Case WHERE Sync_Key__c IN ('K3','k1') ORDER BY Sync_Key__c DESC", want);
    free(want);

    /* Ids in 15- and 18-char form, repeated: each record once, in insertion order */
    char *soql =
        xasprintf("SELECT Id FROM Case WHERE Id IN ('%.15s', '%s', '%s')", id[4], id[2], id[2]);
    want = xasprintf("%s,%s", id[2], id[4]);
    expect(env, "query", soql, want);
    free(soql);
    free(want);
    /* an Id no record has (one that cannot be an Id is refused: test_emu_conformance) */
    expect(env, "query", "SELECT Id FROM Case WHERE Id = '500000000000000'", "");
    expect(env, "query", "SELECT Id FROM Case WHERE Sync_Key__c = 'K2' AND Status = 'Closed'", "");
    expect(env, "query", "SELECT Id FROM Case WHERE Sync_Key__c = 'K2' AND Status = 'New'", id[2]);

    /* deleted records: only queryAll sees them, by Id and by key */
    assert_int_equal(emu_record_remove(env->e, id[0]), 0);
    soql = xasprintf("SELECT Id FROM Case WHERE Id IN ('%s')", id[0]);
    expect(env, "query", soql, "");
    expect(env, "queryAll", soql, id[0]);
    free(soql);
    expect(env, "query", "SELECT Id FROM Case WHERE Sync_Key__c = 'K0'", "");
    expect(env, "queryAll", "SELECT Id FROM Case WHERE Sync_Key__c = 'K0'", id[0]);
}

/* `SystemModstamp >` bounds (soql_where_floor) skip older records without changing the
 * answer: the pull's tie-safe form, plain bounds, an OR that leaves one side unbounded. */
static void test_query_by_modstamp_range_matches_a_scan(void **state)
{
    fe_env *env = *state;
    char id[5][19];
    int64_t base = INT64_C(1767225600000); /* 2026-01-01T00:00:00Z */
    static const int offset_s[5] = {0, 10, 10, 10, 20};
    for (int i = 0; i < 5; i++) {
        fe_case(env, "s", NULL, id[i]);
        assert_int_equal(emu_record_set_modstamp(env->e, id[i], base + offset_s[i] * 1000), 0);
    }
    char *soql = xasprintf("SELECT Id FROM Case WHERE (SystemModstamp > 2026-01-01T00:00:10Z OR"
                           " (SystemModstamp = 2026-01-01T00:00:10Z AND Id > '%s'))"
                           " ORDER BY SystemModstamp, Id",
                           id[1]);
    char *want = xasprintf("%s,%s,%s", id[2], id[3], id[4]);
    expect(env, "query", soql, want);
    free(want);
    free(soql);
    want = xasprintf("%s,%s,%s,%s", id[1], id[2], id[3], id[4]);
    expect(env, "query", "SELECT Id FROM Case WHERE SystemModstamp >= 2026-01-01T00:00:10Z", want);
    free(want);
    expect(env, "query", "SELECT Id FROM Case WHERE SystemModstamp > 2026-01-01T00:00:20Z", "");
    want = xasprintf("%s,%s", id[0], id[4]);
    expect(env, "query",
           "SELECT Id FROM Case WHERE SystemModstamp > 2026-01-01T00:00:10Z OR"
           " SystemModstamp < 2026-01-01T00:00:10Z",
           want);
    free(want);
}

/* 10,000 records, as in the push benchmark: inserts, 200 upserts by key and a 200-key
 * query. With a scan of every record per insert (the uniqueness check before the index)
 * this took 15 s in a Debug build; indexed it takes ~0.1 s (~1 s under ASan). The time is
 * printed, not asserted (a timed assertion fails on a loaded machine, not on a defect);
 * ctest's TIMEOUT bounds a hang. */
static void test_ten_thousand_records_stay_fast(void **state)
{
    fe_env *env = *state;
    int64_t t0 = time_now_ms();
    for (int i = 0; i < 10000; i++) {
        char key[16], subject[32];
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(subject, sizeof subject, "Bench %d", i);
        fe_case(env, subject, key, NULL);
    }
    strbuf body = STRBUF_INIT, soql = STRBUF_INIT;
    strbuf_adds(&body, "{\"allOrNone\":false,\"records\":[");
    strbuf_adds(&soql, "SELECT Id, Subject FROM Case WHERE Sync_Key__c IN (");
    for (int i = 0; i < 200; i++) {
        char *rec = xasprintf("%s{\"attributes\":{\"type\":\"Case\"},\"Sync_Key__c\":\"KEY-%d\","
                              "\"Subject\":\"up %d\"}",
                              i ? "," : "", 9900 + i, i);
        strbuf_adds(&body, rec);
        free(rec);
        char *lit = xasprintf("%s'key-%d'", i ? "," : "", 9900 + i);
        strbuf_adds(&soql, lit);
        free(lit);
    }
    strbuf_adds(&body, "]}");
    strbuf_adds(&soql, ")");
    eh_response r;
    fe_req(env, "PATCH", COLL "/Case/Sync_Key__c", strbuf_str(&body), &r);
    assert_int_equal(r.status, 200);
    int created = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, r.json)
    {
        assert_true(json_bool(res, "success", false));
        created += json_bool(res, "created", false);
    }
    assert_int_equal(created, 100); /* KEY-10000.. are new, KEY-9900..9999 existed */
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", false), 10100);
    long total = 0;
    char *ids = query_ids(env, "query", strbuf_str(&soql), &total);
    assert_int_equal(total, 200);
    free(ids);
    expect(env, "query", "SELECT Id FROM Case WHERE Subject = 'nothing like this'", "");
    int64_t ms = time_now_ms() - t0;
    print_message("10,000 inserts + 200 upserts + queries: %lld ms\n", (long long)ms);
    strbuf_free(&body);
    strbuf_free(&soql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_upsert_follows_key_changes, fe_reset),
        cmocka_unit_test_setup(test_rollback_restores_keys, fe_reset),
        cmocka_unit_test(test_state_file_reload_indexes_keys),
        cmocka_unit_test_setup(test_query_by_keys_matches_a_scan, fe_reset),
        cmocka_unit_test_setup(test_query_by_modstamp_range_matches_a_scan, fe_reset),
        cmocka_unit_test_setup(test_ten_thousand_records_stay_fast, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
