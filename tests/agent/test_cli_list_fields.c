/*
 * Issue 11 through the real binary ($SFAGENT_BIN): `list --fields A,B,C` chooses the
 * columns of the table and the keys of --json, checked with a did-you-mean (exit 65);
 * an sObject name is stored in Salesforce's spelling whatever the user typed, from the
 * built-in Case/Contact names offline or from the cached describe global.
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
#include <sqlite3.h>

#include "agent/run.h"
#include "emulator.h"

typedef struct fixture {
    char dir[64];
    char db[128];
    char ini[128];
    emu *e;
} fixture;

#define sfa(r, f, ...) run_sfagent_db((r), (f)->dir, (f)->db, __VA_ARGS__)
#define RUN(f, code, out_has, err_has, ...)                                                        \
    RUN_DB((f)->dir, (f)->db, (code), (out_has), (err_has), __VA_ARGS__)

static void expect_lacks(const run_result *r, const char *text)
{
    if (strstr(r->out, text))
        fail_msg("stdout has '%s': %s", text, r->out);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db,
                               "/tmp/sfa-cli-list-XXXXXX") != 0)
        return -1;
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
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

/* The sobject column of every record, comma-joined in insertion order (caller frees). */
static char *stored_sobjects(const fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT group_concat(sobject, ',') FROM"
                                        " (SELECT sobject FROM records ORDER BY rowid)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void test_list_fields_choose_table_columns(void **state)
{
    fixture *f = *state;
    RUN(f, 0, NULL, NULL, "case", "create", "--subject", "Printer on fire", "--set",
        "Priority=High");
    run_result r;
    /* Any letter case in, Salesforce's spelling out; Status (a default column) is gone. */
    sfa(&r, f, "case", "list", "--fields", "priority, subject", (const char *)NULL);
    run_expect(&r, 0, "Priority", NULL);
    const char *pri = strstr(r.out, "Priority"), *sub = strstr(r.out, "Subject");
    assert_non_null(sub);
    assert_true(pri < sub); /* the order asked for */
    run_expect(&r, 0, "High", NULL);
    run_expect(&r, 0, "Printer on fire", NULL);
    expect_lacks(&r, "Status");
    expect_lacks(&r, "priority");
    run_result_free(&r);
    /* Without --fields the kind's own columns are shown. */
    RUN(f, 0, "Status", NULL, "case", "list");
}

static void test_list_fields_choose_json_keys(void **state)
{
    fixture *f = *state;
    RUN(f, 0, NULL, NULL, "case", "create", "--subject", "Printer on fire", "--set",
        "Priority=High");
    run_result r;
    sfa(&r, f, "--json", "case", "list", "--fields", "PRIORITY,Origin", (const char *)NULL);
    run_expect(&r, 0, "\"Priority\":\t\"High\"", NULL);
    run_expect(&r, 0, "\"Origin\":\tnull", NULL); /* asked for, not set: null */
    expect_lacks(&r, "\"Subject\"");
    run_expect(&r, 0, "\"localId\"", NULL); /* the record's identity is still there */
    run_result_free(&r);
    RUN(f, 0, "\"Subject\":\t\"Printer on fire\"", NULL, "--json", "case", "list");
}

static void test_list_fields_typo_exits_65_with_suggestion(void **state)
{
    fixture *f = *state;
    RUN(f, 65, NULL, "unknown field 'Subjct' on Case; did you mean 'Subject'?", "case", "list",
        "--fields", "Status,Subjct");
    RUN(f, 65, NULL, "did you mean 'Email'?", "contact", "list", "--fields", "Emial");
    RUN(f, 65, NULL, "did you mean 'LastName'?", "record", "list", "contact", "--fields",
        "LastNme");
    RUN(f, 65, NULL, "not a valid field name", "case", "list", "--fields", "Subject,,Status");
    RUN(f, 64, NULL, NULL, "case", "list", "--fields");
}

/* Offline, Case and Contact are known by name: `record create case` makes a Case. */
static void test_builtin_object_names_are_stored_canonically(void **state)
{
    fixture *f = *state;
    RUN(f, 0, NULL, NULL, "record", "create", "case", "--set", "Subject=lower case name");
    RUN(f, 0, NULL, NULL, "record", "create", "CONTACT", "--set", "LastName=Upper");
    char *names = stored_sobjects(f);
    assert_string_equal(names, "Case,Contact");
    free(names);
    RUN(f, 0, "lower case name", NULL, "case", "list");
    RUN(f, 0, "Upper", NULL, "contact", "list");
    RUN(f, 0, "Upper", NULL, "record", "list", "cOnTaCt");
}

/* With describe global cached, any object's name takes the spelling it lists, and every
 * verb finds the record under any spelling. */
static void test_described_object_names_are_stored_canonically(void **state)
{
    fixture *f = *state;
    emu_options o = EMU_OPTIONS_INIT;
    assert_int_equal(emu_start(&f->e, &o), 0);
    FILE *fp = fopen(f->ini, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = sfagent-test-client\n"
            "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
            "password = password\ntimeout = 5\n",
            emu_base_url(f->e));
    fclose(fp);
    assert_int_equal(chmod(f->ini, 0600), 0);
    RUN(f, 0, "Account", NULL, "describe", "--config", f->ini);
    run_result r;
    sfa(&r, f, "record", "create", "account", "--set", "Name=Acme", (const char *)NULL);
    run_expect(&r, 0, "loc-", NULL);
    char local_id[64];
    snprintf(local_id, sizeof local_id, "%.*s", (int)strcspn(r.out, "\r\n"), r.out);
    run_result_free(&r);
    char *names = stored_sobjects(f);
    assert_string_equal(names, "Account");
    free(names);
    RUN(f, 0, NULL, NULL, "record", "update", "ACCOUNT", local_id, "--set", "Name=Acme Corp");
    RUN(f, 0, "Acme Corp", NULL, "record", "get", "Account", local_id);
    RUN(f, 0, "Acme Corp", NULL, "record", "list", "account");
    RUN(f, 0, "(1 record)", NULL, "record", "list", "Account");
    RUN(f, 65, NULL, "did you mean 'Account'?", "record", "list", "Acount");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_fields_choose_table_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_fields_choose_json_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_fields_typo_exits_65_with_suggestion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_builtin_object_names_are_stored_canonically, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_described_object_names_are_stored_canonically, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
