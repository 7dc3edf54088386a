/*
 * The real sfagent binary against the in-process emulator, with the manual conflict
 * policy: `sfagent conflicts` shows each field's base, local and server value, and
 * `conflicts resolve --keep local|server` decides (issue 9 item 6). Also: an 18-digit
 * number reaches the wire as written (issue 8 item 9).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/run.h"
#include "emulator.h"

typedef struct fixture {
    char dir[64];
    char db[128];
    char ini[128];
    emu *e;
} fixture;

#define sfa(r, f, ...) run_sfagent_db((r), (f)->dir, (f)->db, __VA_ARGS__)

/* Run and expect code; returns stdout (caller frees). */
static char *expect(const fixture *f, int code, const char *arg0, ...)
{
    run_result r;
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(&r, f->dir, f->db, NULL, arg0, ap);
    va_end(ap);
    if (r.code != code)
        fail_msg("sfagent %s: exit %d, wanted %d; stderr: %s", arg0, r.code, code, r.err);
    char *out = r.out;
    r.out = NULL;
    run_result_free(&r);
    return out;
}

#define RUN(f, code, ...) free(expect((f), (code), __VA_ARGS__, (const char *)NULL))

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db,
                               "/tmp/sfa-cli-conflicts-XXXXXX") != 0)
        return -1;
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    run_write_emu_config(f->ini, emu_base_url(f->e), "[sync]\nconflict_policy = manual\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    run_remove_dir(f->dir);
    free(f);
    return 0;
}

/* The Salesforce Id of local record id (from `case get --json`). Caller frees. */
static char *sf_id_of(const fixture *f, const char *id)
{
    char *out = expect(f, 0, "--json", "case", "get", id, NULL);
    cJSON *j = cJSON_Parse(out);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
    assert_true(cJSON_IsString(v));
    char *sf = strdup(v->valuestring);
    cJSON_Delete(j);
    free(out);
    return sf;
}

/* A Case synced with Subject "base", then "server" in Salesforce and "local" here: the
 * next sync parks the update as a conflict. Returns the Case's Salesforce Id. */
static char *make_conflict(const fixture *f)
{
    char *out = expect(f, 0, "case", "create", "--subject", "base", NULL);
    char *id = strndup(out, strcspn(out, "\n"));
    free(out);
    RUN(f, 0, "sync", "--config", f->ini);
    char *sf = sf_id_of(f, id);
    sleep(1); /* the server edit gets a later SystemModstamp (one-second resolution) */
    cJSON *edit = cJSON_CreateObject();
    cJSON_AddStringToObject(edit, "Subject", "server");
    assert_int_equal(emu_record_edit(f->e, sf, edit), 0);
    cJSON_Delete(edit);
    RUN(f, 0, "case", "update", id, "--subject", "local");
    RUN(f, 65, "sync", "--config", f->ini);
    free(id);
    return sf;
}

static const char *server_subject(const fixture *f, const char *sf, char *buf, size_t size)
{
    cJSON *rec = emu_record_get(f->e, sf);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "Subject");
    snprintf(buf, size, "%s", cJSON_IsString(s) ? s->valuestring : "?");
    cJSON_Delete(rec);
    return buf;
}

static void test_conflicts_shows_fields_and_keep_local_sends_them(void **state)
{
    fixture *f = *state;
    char *sf = make_conflict(f);
    char *out = expect(f, 0, "--json", "conflicts", NULL);
    cJSON *doc = cJSON_Parse(out);
    assert_true(cJSON_IsArray(doc));
    assert_int_equal(cJSON_GetArraySize(doc), 1);
    const cJSON *c = cJSON_GetArrayItem(doc, 0);
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(c, "fields");
    assert_int_equal(cJSON_GetArraySize(fields), 1);
    const cJSON *fl = cJSON_GetArrayItem(fields, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fl, "name")->valuestring, "Subject");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fl, "base")->valuestring, "base");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fl, "local")->valuestring, "local");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fl, "server")->valuestring, "server");
    char seq[24];
    snprintf(seq, sizeof seq, "%d", (int)cJSON_GetObjectItemCaseSensitive(c, "seq")->valuedouble);
    cJSON_Delete(doc);
    free(out);
    out = expect(f, 0, "conflicts", NULL); /* the table names all three values */
    assert_non_null(strstr(out, "Subject"));
    assert_non_null(strstr(out, "\"base\""));
    assert_non_null(strstr(out, "\"local\""));
    assert_non_null(strstr(out, "\"server\""));
    free(out);
    RUN(f, 64, "conflicts", "resolve", seq, "--keep", "both");
    RUN(f, 0, "conflicts", "resolve", seq, "--keep", "local");
    RUN(f, 65, "conflicts", "resolve", seq, "--keep", "local"); /* pending now: not a conflict */
    RUN(f, 0, "sync", "--config", f->ini);
    char buf[64];
    assert_string_equal(server_subject(f, sf, buf, sizeof buf), "local");
    out = expect(f, 0, "--json", "conflicts", NULL);
    assert_string_equal(out, "[]\n");
    free(out);
    free(sf);
}

static void test_conflicts_keep_server_discards_and_shows_server_values(void **state)
{
    fixture *f = *state;
    char *sf = make_conflict(f);
    char *out = expect(f, 0, "--json", "conflicts", NULL);
    cJSON *doc = cJSON_Parse(out);
    const cJSON *c = cJSON_GetArrayItem(doc, 0);
    char op_id[64];
    snprintf(op_id, sizeof op_id, "%s", cJSON_GetObjectItemCaseSensitive(c, "opId")->valuestring);
    cJSON_Delete(doc);
    free(out);
    RUN(f, 0, "conflicts", "resolve", op_id, "--keep", "server");
    out = expect(f, 0, "--json", "case", "list", NULL);
    assert_non_null(strstr(out, "\"server\""));
    assert_null(strstr(out, "\"local\""));
    free(out);
    RUN(f, 0, "sync", "--config", f->ini);
    char buf[64];
    assert_string_equal(server_subject(f, sf, buf, sizeof buf), "server");
    free(sf);
}

/* Issue 8 item 9: an 18-digit number is sent as its literal, not rounded by a double. */
static void test_big_number_reaches_the_wire_as_written(void **state)
{
    fixture *f = *state;
    RUN(f, 0, "case", "create", "--subject", "big", "--set-json", "Big__c=123456789012345678");
    run_result r;
    sfa(&r, f, "sync", "--config", f->ini, NULL); /* the emulator has no Big__c: dead */
    run_result_free(&r);
    cJSON *log = emu_request_log(f->e);
    bool seen = false;
    const cJSON *req;
    cJSON_ArrayForEach(req, log)
    {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(req, "body");
        if (cJSON_IsString(body) && strstr(body->valuestring, "Big__c"))
            seen = seen || strstr(body->valuestring, "123456789012345678") != NULL;
    }
    cJSON_Delete(log);
    assert_true(seen);
    char *out = expect(f, 0, "--json", "case", "list", NULL); /* shown exactly too */
    assert_non_null(strstr(out, "123456789012345678"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conflicts_shows_fields_and_keep_local_sends_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts_keep_server_discards_and_shows_server_values,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_number_reaches_the_wire_as_written, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
