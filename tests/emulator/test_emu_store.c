/* The emulator store seen through emu_internal.h, as the feature modules use it:
 * allOrNone transactions (rollback restores creates, updates and deletes, also in the
 * state file), record views with relationship fields, and emu_dispatch_internal with a
 * query string. The server is idle, so calling these without the request lock is safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_internal.h"
#include "util/alloc.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    emu *e;
    char dir[64];
    char *file;
} fixture;

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-emu-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->file = xasprintf("%s/state.db", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    o.state_file = f->file;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", f->file, suffixes[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f->file);
    free(f);
    return 0;
}

static cJSON *obj_with(const char *key, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, key, value);
    return o;
}

static void test_rollback_restores_everything(void **state)
{
    fixture *f = *state;
    emu *e = f->e;
    const emu_object *cs = emu_object_find(e, "case"); /* case-insensitive */
    assert_non_null(cs);
    assert_string_equal(emu_object_name(cs), "Case");
    emu_dml_error err;
    char keep[19], gone[19], fresh[19];
    cJSON *in = obj_with("Subject", "keep");
    assert_true(emu_store_create(e, cs, in, keep, &err));
    cJSON_Delete(in);
    in = obj_with("Subject", "gone");
    assert_true(emu_store_create(e, cs, in, gone, &err));
    cJSON_Delete(in);
    cJSON *before = emu_record_get(e, keep);

    emu_store_txn_begin(e);
    in = obj_with("Subject", "changed");
    assert_true(emu_store_update(e, cs, keep, in, &err));
    assert_true(emu_store_update(e, cs, keep, in, &err)); /* touched twice: first state wins */
    cJSON_Delete(in);
    assert_true(emu_store_delete(e, gone, &err));
    in = obj_with("Subject", "fresh");
    assert_true(emu_store_create(e, cs, in, fresh, &err));
    cJSON_Delete(in);
    assert_int_equal(emu_record_count(e, "Case", false), 2);
    emu_store_txn_rollback(e);

    cJSON *after = emu_record_get(e, keep);
    assert_true(cJSON_Compare(before, after, true));
    cJSON_Delete(after);
    bool deleted = true;
    assert_non_null(emu_store_find(e, gone, &deleted));
    assert_false(deleted);
    assert_null(emu_store_find(e, fresh, &deleted));
    /* the state file agrees after a restart */
    emu_stop(e);
    emu_options o = EMU_OPTIONS_INIT;
    o.state_file = f->file;
    assert_int_equal(emu_start(&f->e, &o), 0);
    e = f->e;
    after = emu_record_get(e, keep);
    assert_true(cJSON_Compare(before, after, true));
    cJSON_Delete(after);
    assert_null(emu_record_get(e, fresh));
    assert_int_equal(emu_record_count(e, "Case", true), 2);
    cJSON_Delete(before);
}

static void test_commit_keeps_and_errors_change_nothing(void **state)
{
    fixture *f = *state;
    emu *e = f->e;
    const emu_object *ct = emu_object_find(e, "Contact");
    emu_dml_error err;
    char id[19];
    emu_store_txn_begin(e);
    cJSON *in = obj_with("LastName", "Kept");
    assert_true(emu_store_create(e, ct, in, id, &err));
    cJSON_Delete(in);
    emu_store_txn_commit(e);
    assert_non_null(emu_store_find(e, id, NULL));
    in = obj_with("Email", "bad");
    assert_false(emu_store_update(e, ct, id, in, &err));
    cJSON_Delete(in);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.code, "INVALID_EMAIL_ADDRESS");
    assert_string_equal(err.field, "Email");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(emu_store_find(e, id, NULL), "Email")));
    assert_false(emu_store_delete(e, "0035g000000ZZZZ", &err));
    assert_string_equal(err.code, "NOT_FOUND");
    assert_int_equal(err.http_status, 404);
    bool created = false;
    cJSON *matches = NULL;
    in = obj_with("LastName", "Up");
    assert_false(emu_store_upsert(e, ct, "LastName", "x", in, id, &created, &matches, &err));
    assert_string_equal(err.code, "NOT_FOUND");
    assert_true(emu_store_upsert(e, ct, "sync_key__c", "K", in, id, &created, &matches, &err));
    assert_true(created);
    assert_null(matches);
    cJSON_Delete(in);
}

static void test_view_and_internal_dispatch(void **state)
{
    fixture *f = *state;
    emu *e = f->e;
    const emu_object *ac = emu_object_find(e, "Account");
    const emu_object *cs = emu_object_find(e, "Case");
    emu_dml_error err;
    char acc[19], cid[19];
    cJSON *in = obj_with("Name", "Acme");
    assert_true(emu_store_create(e, ac, in, acc, &err));
    cJSON_Delete(in);
    in = obj_with("AccountId", acc);
    cJSON_AddStringToObject(in, "Subject", "s");
    assert_true(emu_store_create(e, cs, in, cid, &err));
    cJSON_Delete(in);
    const char *fields[] = {"subject", "Account.Name", "Contact.LastName"};
    cJSON *v = emu_store_view(e, cs, emu_store_find(e, cid, NULL), fields, 3, 58.0);
    assert_string_equal(json_str(cJSON_GetObjectItem(v, "attributes"), "type"), "Case");
    char *url = xasprintf("/services/data/v58.0/sobjects/Case/%s", cid);
    assert_string_equal(json_str(cJSON_GetObjectItem(v, "attributes"), "url"), url);
    free(url);
    assert_string_equal(json_str(v, "Subject"), "s");
    assert_string_equal(json_str(cJSON_GetObjectItem(v, "Account"), "Name"), "Acme");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "Contact")));
    cJSON_Delete(v);

    char *path = xasprintf("/services/data/v62.0/sobjects/Case/%s?fields=Subject", cid);
    emu_req req = {.emu = e, .method = "GET", .path = path};
    emu_resp resp = {0};
    emu_dispatch_internal(e, &req, &resp);
    assert_int_equal(resp.status, 200);
    cJSON *body = cJSON_Parse(resp.body);
    assert_string_equal(json_str(body, "Subject"), "s");
    assert_null(cJSON_GetObjectItem(body, "Status"));
    cJSON_Delete(body);
    emu_resp_clear(&resp);
    free(path);
    assert_int_equal(emu_api_usage(e), 0); /* internal calls are not counted */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rollback_restores_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_keeps_and_errors_change_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_view_and_internal_dispatch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
