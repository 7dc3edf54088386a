/* The field columns of the mirror (migration 0013: f_status, f_ownerid, ... each equal to
 * json_extract(fields, '$.<Field>')) stay equal to their fields through every writer of
 * records.fields: local create, update and delete, import, push read-back, pull insert
 * (staged pages), pull merge over a local edit, a pull that replaces a clean record,
 * refresh, and the discard of a parked edit. store_check_invariants() V7 is the check; the first
 * test shows it can fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "push_fixture.h"
#include "store/store.h"
#include "util/json.h"
#include "util/timeutil.h"

typedef pinned_fixture env;

static int setup(void **state)
{
    return pinned_fixture_new(state, "objects = Case, Contact\n");
}

/* As setup, with conflict_policy = manual: a conflict parks its op for discard. */
static int setup_manual(void **state)
{
    return pinned_fixture_new(state, "objects = Case\nconflict_policy = manual\n");
}

/* V7 holds; on failure the message names the record and the stale columns. */
static void assert_columns_equal_fields(env *e, const char *after)
{
    char *why = NULL;
    if (!store_check_invariants(e->f.agent, &why))
        fail_msg("after %s: %s", after, why ? why : "?");
    free(why);
}

/* The value of a column of the record with local id (text), read on a second
 * connection, as the read indexes see it. Caller frees; NULL for SQL NULL. */
static char *column_of(env *e, const char *column, const char *local_id)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(e->f.db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM records WHERE local_id = ?1", column);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    char *out = v ? strdup(v) : NULL;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void assert_column(env *e, const char *column, const char *local_id, const char *want)
{
    char *got = column_of(e, column, local_id);
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
    free(got);
}

static sfa_status sync_run(env *e, bool pull_only, bool push_only)
{
    sfa_sync_report rep;
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.seed = 7;
    o.ignore_pause = true;
    o.pull_only = pull_only;
    o.push_only = push_only;
    o.pull_batch_size = 200;
    return sfa_sync_run(&rep, e->f.agent, e->f.cfg, &o);
}

static char *server_id(env *e, const char *sobject, const char *local)
{
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, sobject, local), SFA_OK);
    assert_non_null(m->sf_id);
    char *id = strdup(m->sf_id);
    sfa_record_free(m);
    return id;
}

static void server_edit(env *e, const char *id, const char *json)
{
    pinned_fixture_advance(e, 1000);
    cJSON *f = cJSON_Parse(json);
    assert_int_equal(emu_record_edit(e->f.emu, id, f), 0);
    cJSON_Delete(f);
    pinned_fixture_advance(e, 1000);
}

/* The checker sees a column that no longer equals its field. */
static void test_check_sees_a_stale_column(void **state)
{
    env *e = *state;
    char *local = NULL;
    assert_int_equal(
        sfa_record_create(&local, e->f.agent, "Case", "{\"Subject\":\"s\",\"Status\":\"New\"}"),
        SFA_OK);
    assert_columns_equal_fields(e, "create");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(e->f.db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE records SET f_status = 'new'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    char *why = NULL;
    assert_false(store_check_invariants(e->f.agent, &why));
    assert_non_null(strstr(why, "V7"));
    assert_non_null(strstr(why, local));
    assert_non_null(strstr(why, "f_status"));
    assert_null(strstr(why, "f_ownerid"));
    free(why);
    free(local);
}

/* Local writes, import, push read-back. */
static void test_local_writers_keep_columns(void **state)
{
    env *e = *state;
    char *local = NULL;
    assert_int_equal(sfa_record_create(&local, e->f.agent, "Case",
                                       "{\"Subject\":\"a\",\"Status\":\"New\","
                                       "\"OwnerId\":\"005000000000001AAA\"}"),
                     SFA_OK);
    assert_columns_equal_fields(e, "create");
    assert_column(e, "f_status", local, "New");
    assert_column(e, "f_ownerid", local, "005000000000001AAA");
    assert_int_equal(sfa_record_update(e->f.agent, "Case", local, "{\"Status\":\"Working\"}"),
                     SFA_OK);
    assert_columns_equal_fields(e, "update");
    assert_column(e, "f_status", local, "Working");
    char path[160];
    snprintf(path, sizeof path, "%s/import.jsonl", e->f.dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"Subject\":\"imported\",\"Status\":\"Escalated\"}\n", fp);
    fclose(fp);
    int fd = open(path, O_RDONLY);
    sfa_import_result ir;
    assert_int_equal(sfa_record_import(&ir, e->f.agent, "Case", fd, 0), SFA_OK);
    close(fd);
    assert_columns_equal_fields(e, "import");
    assert_int_equal(sync_run(e, false, true), SFA_OK); /* read-back */
    assert_columns_equal_fields(e, "push read-back");
    assert_column(e, "f_status", local, "Working");
    char *doomed = NULL;
    assert_int_equal(sfa_record_create(&doomed, e->f.agent, "Case", "{\"Subject\":\"d\"}"), SFA_OK);
    assert_int_equal(sfa_record_delete(e->f.agent, "Case", doomed), SFA_OK); /* never sent */
    assert_int_equal(sfa_record_delete(e->f.agent, "Case", local), SFA_OK);  /* tombstone */
    assert_columns_equal_fields(e, "delete");
    free(doomed);
    free(local);
}

/* Pull: new records (staged pages), a merge over an unsent local edit, a clean record
 * replaced by the server's version, and refresh of one record. */
static void test_pull_writers_keep_columns(void **state)
{
    env *e = *state;
    for (int i = 0; i < 3; i++) {
        char id[19];
        cJSON *f = cJSON_Parse("{\"Subject\":\"server\",\"Status\":\"New\","
                               "\"AccountId\":\"001000000000001AAA\"}");
        assert_int_equal(emu_record_insert(e->f.emu, "Case", f, id), 0);
        cJSON_Delete(f);
    }
    char *local = NULL;
    assert_int_equal(
        sfa_record_create(&local, e->f.agent, "Case", "{\"Subject\":\"mine\",\"Status\":\"New\"}"),
        SFA_OK);
    assert_int_equal(sync_run(e, false, true), SFA_OK);
    assert_int_equal(sync_run(e, true, false), SFA_OK);
    assert_columns_equal_fields(e, "first pull");
    char *id = server_id(e, "Case", local);
    /* Merge (M4): the server moves Status and AccountId, the local edit keeps Status. */
    assert_int_equal(sfa_record_update(e->f.agent, "Case", local, "{\"Status\":\"Working\"}"),
                     SFA_OK);
    server_edit(e, id, "{\"Status\":\"Escalated\",\"AccountId\":\"001000000000002AAA\"}");
    assert_int_equal(sync_run(e, true, false), SFA_ERETRY); /* pulled; the edit still pending */
    assert_columns_equal_fields(e, "pull merge");
    assert_column(e, "f_status", local, "Working");
    assert_column(e, "f_accountid", local, "001000000000002AAA");
    /* Replace (M3): pushed, then the server changes it again. */
    assert_int_equal(sync_run(e, false, true), SFA_OK);
    server_edit(e, id, "{\"Status\":\"Closed\"}");
    assert_int_equal(sync_run(e, true, false), SFA_OK);
    assert_columns_equal_fields(e, "pull replace");
    assert_column(e, "f_status", local, "Closed");
    /* Refresh: one record, the first of its sObject. */
    char cid[19];
    cJSON *f = cJSON_Parse("{\"LastName\":\"Upstream\",\"AccountId\":\"001000000000003AAA\"}");
    assert_int_equal(emu_record_insert(e->f.emu, "Contact", f, cid), 0);
    cJSON_Delete(f);
    assert_int_equal(sfa_sync_refresh(NULL, e->f.agent, e->f.cfg, "Contact", cid), SFA_OK);
    server_edit(e, id, "{\"Status\":\"New\"}");
    assert_int_equal(sfa_sync_refresh(NULL, e->f.agent, e->f.cfg, "Case", id), SFA_OK);
    assert_columns_equal_fields(e, "refresh");
    assert_column(e, "f_status", local, "New");
    free(id);
    free(local);
}

/* Discarding a parked edit rebuilds the record's view from its base and the ops left
 * (store/outbox.c): the columns follow. */
static void test_discard_keeps_columns(void **state)
{
    env *e = *state;
    char *local = NULL;
    assert_int_equal(
        sfa_record_create(&local, e->f.agent, "Case", "{\"Subject\":\"m\",\"Status\":\"New\"}"),
        SFA_OK);
    assert_int_equal(sync_run(e, false, true), SFA_OK);
    char *id = server_id(e, "Case", local);
    assert_int_equal(sfa_record_update(e->f.agent, "Case", local, "{\"Status\":\"Working\"}"),
                     SFA_OK);
    server_edit(e, id, "{\"Status\":\"Escalated\"}");
    sync_run(e, false, true); /* the same field on both sides: parked */
    sfa_op_array ops = {0};
    assert_int_equal(sfa_outbox_list(&ops, e->f.agent, SFA_OP_STATE_BIT(SFA_OP_STATE_CONFLICT), 0),
                     SFA_OK);
    assert_int_equal(ops.count, 1);
    assert_column(e, "f_status", local, "Working");
    assert_int_equal(sfa_outbox_discard(e->f.agent, ops.items[0].op_id), SFA_OK);
    sfa_op_array_free(&ops);
    assert_columns_equal_fields(e, "discard");
    assert_column(e, "f_status", local, "Escalated"); /* Salesforce's value, kept */
    free(id);
    free(local);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_sees_a_stale_column, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_local_writers_keep_columns, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_writers_keep_columns, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_discard_keeps_columns, setup_manual,
                                        pinned_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
