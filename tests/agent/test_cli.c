/*
 * End-to-end tests of the sfagent program: the real binary ($SFAGENT_BIN) against a temp
 * database. Covers the record verbs for case, contact and record, --json shapes, field
 * typing (--set / --set-json / --fields), import, outbox, status, query, help, SFAGENT_DB,
 * and that every bad input gives its exit code, one stderr line and no stored change.
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
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "agent/run.h"

#define MAX_ARGS 24

typedef struct fixture {
    char dir[64];
    char db[128];
} fixture;

/* Run sfagent --db <fixture db> args... (NULL-terminated) with optional stdin. */
static void sfa_in(run_result *r, const fixture *f, const char *in, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(r, f->dir, f->db, in, arg0, ap);
    va_end(ap);
}

#define sfa(r, f, ...) sfa_in((r), (f), NULL, __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f ||
        run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db, "/tmp/sfa-cli-XXXXXX") != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    run_remove_dir(f->dir);
    free(f);
    return 0;
}

/* Run, assert exit 0, return stdout with the trailing newline cut (caller frees). */
static char *ok_out(const fixture *f, const char *const *args)
{
    const char *full[MAX_ARGS] = {"--db", f->db};
    size_t n = 2;
    for (size_t i = 0; args[i]; i++)
        full[n++] = args[i];
    full[n] = NULL;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, full);
    if (r.code != 0)
        fprintf(stderr, "unexpected exit %d: %s", r.code, r.err);
    assert_int_equal(r.code, 0);
    size_t len = strlen(r.out);
    if (len > 0 && r.out[len - 1] == '\n')
        r.out[len - 1] = '\0';
    free(r.err);
    return r.out;
}

static cJSON *ok_json(const fixture *f, const char *const *args)
{
    char *out = ok_out(f, args);
    cJSON *j = cJSON_Parse(out);
    if (!j)
        fprintf(stderr, "not JSON: %s\n", out);
    assert_non_null(j);
    free(out);
    return j;
}

static const char *field_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *create_case(const fixture *f, const char *subject)
{
    const char *args[] = {"case", "create", "--subject", subject, NULL};
    char *id = ok_out(f, args);
    assert_int_equal(strncmp(id, "loc-", 4), 0);
    return id;
}

static void test_case_create_get_update_list_delete(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "Printer jam");
    char *id2 = create_case(f, "Laptop won't boot");

    const char *get[] = {"case", "get", id, NULL};
    char *out = ok_out(f, get);
    assert_non_null(strstr(out, "Printer jam"));
    assert_non_null(strstr(out, "pending"));
    assert_non_null(strstr(out, id));
    free(out);

    const char *upd[] = {"case", "update", id, "--set", "Status=Closed", NULL};
    free(ok_out(f, upd));
    const char *getj[] = {"--json", "case", "get", id, NULL};
    cJSON *rec = ok_json(f, getj);
    assert_string_equal(field_str(rec, "localId"), id);
    assert_string_equal(field_str(rec, "sobject"), "Case");
    assert_string_equal(field_str(rec, "syncState"), "pending");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
    assert_string_equal(field_str(fields, "Status"), "Closed");
    assert_string_equal(field_str(fields, "Subject"), "Printer jam");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, "id")));
    cJSON_Delete(rec);

    const char *list[] = {"case", "list", NULL};
    out = ok_out(f, list);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, id2));
    assert_non_null(strstr(out, "(2 records)"));
    free(out);
    const char *listj[] = {"--json", "case", "list", "--status", "Closed", NULL};
    cJSON *arr = ok_json(f, listj);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(field_str(cJSON_GetArrayItem(arr, 0), "localId"), id);
    cJSON_Delete(arr);
    const char *lim[] = {"--json", "case", "list", "--limit", "1", NULL};
    arr = ok_json(f, lim);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON_Delete(arr);

    const char *del[] = {"case", "delete", id, NULL};
    free(ok_out(f, del));
    arr = ok_json(f, (const char *const[]){"--json", "case", "list", NULL});
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_string_equal(field_str(cJSON_GetArrayItem(arr, 0), "localId"), id2);
    cJSON_Delete(arr);
    free(id);
    free(id2);
}

static void test_contact_and_generic_record(void **state)
{
    fixture *f = *state;
    const char *mk[] = {"contact", "create",  "--last-name",      "Doe", "--first-name",
                        "Jane",    "--email", "jane@example.com", NULL};
    char *id = ok_out(f, mk);
    cJSON *rec = ok_json(f, (const char *const[]){"--json", "contact", "get", id, NULL});
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
    assert_string_equal(field_str(fields, "LastName"), "Doe");
    assert_string_equal(field_str(fields, "FirstName"), "Jane");
    assert_string_equal(field_str(fields, "Email"), "jane@example.com");
    assert_string_equal(field_str(rec, "sobject"), "Contact");
    cJSON_Delete(rec);
    char *out = ok_out(f, (const char *const[]){"contact", "list", NULL});
    assert_non_null(strstr(out, "jane@example.com"));
    free(out);
    free(id);

    id =
        ok_out(f, (const char *const[]){"record", "create", "Account", "--set", "Name=Acme", NULL});
    free(ok_out(f, (const char *const[]){"record", "update", "Account", id, "--set",
                                         "Name=Acme Ltd", NULL}));
    rec = ok_json(f, (const char *const[]){"--json", "record", "get", "Account", id, NULL});
    assert_string_equal(field_str(cJSON_GetObjectItemCaseSensitive(rec, "fields"), "Name"),
                        "Acme Ltd");
    cJSON_Delete(rec);
    out = ok_out(f, (const char *const[]){"record", "list", "Account", NULL});
    assert_non_null(strstr(out, "Acme Ltd"));
    free(out);
    free(ok_out(f, (const char *const[]){"record", "delete", "Account", id, NULL}));
    free(id);
}

static void test_upsert_finds_the_same_record_by_external_id(void **state)
{
    fixture *f = *state;
    const char *up1[] = {"record", "upsert", "Account",  "Ext_Id__c",
                         "A-1",    "--set",  "Name=One", NULL};
    const char *up2[] = {"record", "upsert", "Account",  "Ext_Id__c",
                         "A-1",    "--set",  "Name=Two", NULL};
    char *a = ok_out(f, up1);
    char *b = ok_out(f, up2);
    assert_string_equal(a, b);
    cJSON *rec = ok_json(f, (const char *const[]){"--json", "record", "get", "Account", a, NULL});
    assert_string_equal(field_str(cJSON_GetObjectItemCaseSensitive(rec, "fields"), "Name"), "Two");
    cJSON_Delete(rec);
    free(a);
    free(b);
}

static void test_set_is_string_set_json_is_typed(void **state)
{
    fixture *f = *state;
    const char *mk[] = {"case",       "create",           "--subject", "123",
                        "--set-json", "IsEscalated=true", "--fields",  "{\"Priority\":\"High\"}",
                        "--set",      "Origin=42",        NULL};
    char *id = ok_out(f, mk);
    cJSON *rec = ok_json(f, (const char *const[]){"--json", "case", "get", id, NULL});
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
    assert_string_equal(field_str(fields, "Subject"), "123");
    assert_string_equal(field_str(fields, "Origin"), "42");
    assert_string_equal(field_str(fields, "Priority"), "High");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fields, "IsEscalated")));
    cJSON_Delete(rec);
    free(id);
}

static void test_unicode_subject_round_trips(void **state)
{
    fixture *f = *state;
    const char *subject = "Caf\xc3\xa9 \xe2\x98\x95 \xe6\x97\xa5\xe6\x9c\xac";
    char *id = create_case(f, subject);
    cJSON *rec = ok_json(f, (const char *const[]){"--json", "case", "get", id, NULL});
    assert_string_equal(field_str(cJSON_GetObjectItemCaseSensitive(rec, "fields"), "Subject"),
                        subject);
    cJSON_Delete(rec);
    free(id);
}

/* The outbox as JSON: compared before and after a bad command to prove nothing changed. */
static char *snapshot(const fixture *f)
{
    char *ops = ok_out(f, (const char *const[]){"--json", "outbox", "list", NULL});
    char *recs = ok_out(
        f, (const char *const[]){"--json", "record", "list", "Case", "--include-deleted", NULL});
    size_t n = strlen(ops) + strlen(recs) + 2;
    char *both = malloc(n);
    snprintf(both, n, "%s\n%s", ops, recs);
    free(ops);
    free(recs);
    return both;
}

#define A10  "aaaaaaaaaa"
#define A100 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10

typedef struct bad_case {
    int code;
    const char *args[10]; /* "@" is replaced by an existing Case's local id */
} bad_case;

static const bad_case bad_cases[] = {
    {64, {"frobnicate"}},
    {64, {"--bogus", "status"}},
    {64, {"--durability", "fast", "status"}},
    {64, {"case"}},
    {64, {"case", "explode"}},
    {64, {"case", "create"}},
    {64, {"case", "create", "--subject"}},
    {64, {"case", "create", "--subject", "x", "--bogus"}},
    {64, {"case", "create", "--subject", "x", "stray"}},
    {64, {"case", "update", "@"}},
    {64, {"case", "get"}},
    {64, {"contact", "create", "--first-name", "NoLast"}},
    {64, {"record", "create"}},
    {64, {"outbox", "list", "--state", "bogus"}},
    {64, {"query"}},
    {64, {"import", "Case"}},
    {65, {"case", "create", "--subject", "x", "--set", "NoEquals"}},
    {65, {"case", "create", "--subject", "x", "--set", "=value"}},
    {65, {"case", "create", "--subject", "x", "--set-json", "Priority=High"}},
    {65, {"case", "create", "--subject", "x", "--set-json", "Priority=[1]"}},
    {65, {"case", "create", "--subject", "x", "--fields", "[1,2]"}},
    {65, {"case", "create", "--subject", "x", "--fields", "{bad"}},
    {65, {"case", "create", "--subject", "x", "--fields", "{\"Subject\":\"x\"} junk"}},
    {65, {"case", "create", "--subject", "x", "--set-json", "Priority=\"High\" junk"}},
    {65, {"case", "create", "--subject", "x", "--set", "Bad Name=1"}},
    {65, {"case", "create", "--subject", "x", "--fields", "{\"Nested\":{\"a\":1}}"}},
    {65, {"case", "update", "@", "--set", "Bad-Name=1"}},
    {65, {"case", "create", "--subject", "bad \xff\xfe utf8"}},
    {65, {"record", "create", "Bad Object!", "--set", "Name=x"}},
    {65, {"case", "create", "--subject", A100 A100 A100}}, /* Subject holds 255 */
    {65, {"case", "create", "--subject", "x", "--set", "CaseNumber=00001234"}}, /* read-only */
    {65, {"case", "create", "--subject", "x", "--set-json", "Subject=5"}},
    {65, {"case", "update", "@", "--set", "Bad\xc3(=x"}},
    {65, {"contact", "create", "--last-name", ""}},
    {65, {"case", "list", "--limit", "many"}},
    {65, {"query", "SELECT FROM WHERE"}},
    {66, {"case", "get", "loc-00000000000000000000000000"}},
    {66, {"case", "update", "500000000000001", "--set", "Status=New"}},
    {66, {"case", "delete", "loc-00000000000000000000000000"}},
    {66, {"outbox", "show", "999999"}},
    {66, {"import", "Case", "/nonexistent/file.jsonl"}},
};

static void run_bad(const fixture *f, const bad_case *bc, const char *ref)
{
    const char *args[16] = {"--db", f->db};
    size_t n = 2;
    for (size_t i = 0; i < 10 && bc->args[i]; i++)
        args[n++] = strcmp(bc->args[i], "@") == 0 ? ref : bc->args[i];
    args[n] = NULL;
    char *before = snapshot(f);
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, args);
    if (r.code != bc->code || run_count_lines(r.err) != 1)
        fprintf(stderr, "case '%s %s %s': exit %d, stderr: %s", bc->args[0],
                bc->args[1] ? bc->args[1] : "", bc->args[2] ? bc->args[2] : "", r.code, r.err);
    assert_int_equal(r.code, bc->code);
    assert_int_equal(run_count_lines(r.err), 1);
    assert_int_equal(strncmp(r.err, "sfagent: ", 9), 0);
    assert_string_equal(r.out, "");
    char *after = snapshot(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    run_result_free(&r);
}

static void test_bad_input_exit_code_one_line_nothing_stored(void **state)
{
    fixture *f = *state;
    char *ref = create_case(f, "Existing");
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        run_bad(f, &bad_cases[i], ref);
    free(ref);
}

static void test_missing_database_is_not_created(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/none.db", f->dir);
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--db", path, "case", "list", NULL});
    assert_int_equal(r.code, 66);
    assert_non_null(strstr(r.err, "sfagent init"));
    assert_int_equal(access(path, F_OK), -1);
    run_result_free(&r);
}

static void test_corrupt_database_is_io_error(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    FILE *g = fopen(path, "wb");
    for (int i = 0; i < 512; i++)
        fputs("this is not a database ", g);
    fclose(g);
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--db", path, "status", NULL});
    assert_int_equal(r.code, 74);
    assert_int_equal(run_count_lines(r.err), 1);
    run_result_free(&r);
}

/* Another process holding the write lock: exit 75 (try later) after the library's busy wait. */
static void test_locked_database_is_temporary_failure(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "blocked");
    assert_int_equal(r.code, 75);
    assert_int_equal(run_count_lines(r.err), 1);
    run_result_free(&r);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cJSON *arr = ok_json(f, (const char *const[]){"--json", "case", "list", NULL});
    assert_int_equal(cJSON_GetArraySize(arr), 0);
    cJSON_Delete(arr);
}

static void test_import_good_and_bad_line(void **state)
{
    fixture *f = *state;
    run_result r;
    const char *good = "{\"Subject\":\"one\"}\n\n{\"Subject\":\"two\",\"Status\":\"New\"}\n"
                       "{\"Subject\":\"three\"}\n";
    sfa_in(&r, f, good, "import", "Case", "-", (const char *)NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "imported 3 records"));
    run_result_free(&r);

    char *before = snapshot(f);
    const char *bad = "{\"Subject\":\"four\"}\n{\"Subject\": oops}\n{\"Subject\":\"six\"}\n";
    sfa_in(&r, f, bad, "import", "Case", "-", (const char *)NULL);
    assert_int_equal(r.code, 65);
    assert_int_equal(run_count_lines(r.err), 1);
    assert_non_null(strstr(r.err, "2")); /* the library names line 2 */
    char *after = snapshot(f);
    assert_string_equal(before, after); /* one batch: rolled back whole */
    free(before);
    free(after);
    run_result_free(&r);

    char path[160];
    snprintf(path, sizeof path, "%s/in.jsonl", f->dir);
    FILE *in = fopen(path, "w");
    fputs("{\"Name\":\"A\"}\n{\"Name\":\"B\"}\n", in);
    fclose(in);
    cJSON *res = ok_json(f, (const char *const[]){"--json", "import", "Account", path, NULL});
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(res, "imported")->valueint, 2);
    cJSON_Delete(res);
}

static void test_outbox_status_and_query(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "Queued");
    free(ok_out(f, (const char *const[]){"case", "update", id, "--set", "Status=Working", NULL}));
    cJSON *ops = ok_json(f, (const char *const[]){"--json", "outbox", "list", NULL});
    assert_true(cJSON_GetArraySize(ops) >= 1);
    const cJSON *op = cJSON_GetArrayItem(ops, 0);
    assert_string_equal(field_str(op, "localId"), id);
    assert_string_equal(field_str(op, "state"), "pending");
    const char *op_id = field_str(op, "opId");
    assert_non_null(op_id);
    char *shown = ok_out(f, (const char *const[]){"outbox", "show", op_id, NULL});
    assert_non_null(strstr(shown, id));
    free(shown);
    cJSON_Delete(ops);

    cJSON *st = ok_json(f, (const char *const[]){"--json", "status", NULL});
    const cJSON *ob = cJSON_GetObjectItemCaseSensitive(st, "outbox");
    assert_true(cJSON_GetObjectItemCaseSensitive(ob, "pending")->valueint >= 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(st, "records")->valueint, 1);
    cJSON_Delete(st);
    char *human = ok_out(f, (const char *const[]){"status", NULL});
    assert_non_null(strstr(human, "Oldest pending"));
    free(human);

    char *table =
        ok_out(f, (const char *const[]){
                      "query", "SELECT Subject, Status FROM Case WHERE Status = 'Working'", NULL});
    assert_non_null(strstr(table, "Queued"));
    assert_non_null(strstr(table, "(totalSize 1)"));
    free(table);
    free(id);
}

/* GROUP BY prints AggregateResult rows: a table with the keys as columns, and with --json
 * the Salesforce-shaped records; an ungrouped field is a data error (65). */
static void test_query_group_by_table_and_json(void **state)
{
    fixture *f = *state;
    static const char *const statuses[] = {"New", "Working", "new"};
    for (size_t i = 0; i < 3; i++) {
        char set[32];
        snprintf(set, sizeof set, "Status=%s", statuses[i]);
        free(ok_out(f,
                    (const char *const[]){"case", "create", "--subject", "s", "--set", set, NULL}));
    }
    static const char SOQL[] = "SELECT Status, COUNT(Id) n FROM Case GROUP BY Status "
                               "ORDER BY COUNT(Id) DESC";
    char *table = ok_out(f, (const char *const[]){"query", SOQL, NULL});
    assert_non_null(strstr(table, "Status   n\nNew      2\nWorking  1\n(totalSize 2)"));
    free(table);
    cJSON *doc = ok_json(f, (const char *const[]){"--json", "query", SOQL, NULL});
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "totalSize")->valueint, 2);
    char *recs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(doc, "records"));
    assert_string_equal(recs, "[{\"attributes\":{\"type\":\"AggregateResult\"},\"Status\":\"New\","
                              "\"n\":2},{\"attributes\":{\"type\":\"AggregateResult\"},"
                              "\"Status\":\"Working\",\"n\":1}]");
    free(recs);
    cJSON_Delete(doc);
    run_result r;
    sfa(&r, f, "query", "SELECT Subject, COUNT(Id) FROM Case GROUP BY Status");
    run_expect(&r, 65, NULL, "Field must be grouped or aggregated: Subject");
    run_result_free(&r);
    /* With --json, a query refused before its first record prints the error document
     * alone (no records document before it). */
    sfa(&r, f, "--json", "query", "SELECT Subject, COUNT(Id) FROM Case GROUP BY Status");
    assert_int_equal(r.code, 65);
    assert_int_equal(r.out[strspn(r.out, " \t\n")], '{');
    assert_null(strstr(r.out, "records"));
    cJSON *err = cJSON_Parse(r.out);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(err, "error"));
    cJSON_Delete(err);
    run_result_free(&r);
}

/* The local program is linked without the Salesforce client: the loader maps no libcurl
 * or OpenSSL for it (LD_TRACE_LOADED_OBJECTS lists what it would map, as ldd does), and a
 * network command runs in sfagent-remote, whose absence is named (exit 70). */
static void test_local_program_runs_network_commands_in_the_helper(void **state)
{
    fixture *f = *state;
    setenv("LD_TRACE_LOADED_OBJECTS", "1", 1);
    run_result r;
    sfa(&r, f, "status");
    unsetenv("LD_TRACE_LOADED_OBJECTS");
    assert_non_null(strstr(r.out, "libsqlite3"));
    assert_null(strstr(r.out, "libcurl"));
    assert_null(strstr(r.out, "libssl"));
    assert_null(strstr(r.out, "libcrypto"));
    run_result_free(&r);
    setenv("SFAGENT_EXEC_PATH", f->dir, 1);
    sfa(&r, f, "sync");
    unsetenv("SFAGENT_EXEC_PATH");
    run_expect(&r, 70, NULL, "sfagent-remote");
    run_result_free(&r);
    /* Help is local: it needs no helper. */
    setenv("SFAGENT_EXEC_PATH", f->dir, 1);
    sfa(&r, f, "sync", "--help");
    unsetenv("SFAGENT_EXEC_PATH");
    run_expect(&r, 0, "usage: sfagent sync", NULL);
    run_result_free(&r);
}

/* A write with a configuration in the environment stays in the local program: it reads
 * the idempotency field itself (no helper, no URL checks), refuses that field in user
 * input, and names a file it cannot parse. */
static void test_local_write_with_configuration_needs_no_helper(void **state)
{
    fixture *f = *state;
    char ini[160];
    snprintf(ini, sizeof ini, "%s/sfagent.ini", f->dir);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[salesforce]\nlogin_url = not a url\n[sync]\nidempotency_field = Local_Key__c\n", fp);
    fclose(fp);
    setenv("SFAGENT_CONFIG", ini, 1);
    setenv("SFAGENT_EXEC_PATH", f->dir, 1); /* no helper there: running it would exit 70 */
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "offline");
    run_expect(&r, 0, "loc-", NULL);
    run_result_free(&r);
    sfa(&r, f, "case", "create", "--subject", "s", "--set", "Local_Key__c=x");
    run_expect(&r, 65, NULL, "Local_Key__c");
    run_result_free(&r);
    fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[sync\nidempotency_field = Local_Key__c\n", fp);
    fclose(fp);
    sfa(&r, f, "case", "create", "--subject", "s");
    run_expect(&r, 78, NULL, "sfagent.ini:1");
    run_result_free(&r);
    fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[sync]\nidempotency_field = not a field\n", fp);
    fclose(fp);
    sfa(&r, f, "case", "create", "--subject", "s");
    run_expect(&r, 78, NULL, "idempotency_field");
    run_result_free(&r);
    unsetenv("SFAGENT_EXEC_PATH");
    unsetenv("SFAGENT_CONFIG");
    unlink(ini);
}

/* `index` creates the fields the configuration declares and drops them once removed. */
static void test_index_follows_the_configuration(void **state)
{
    fixture *f = *state;
    free(ok_out(f, (const char *const[]){"case", "create", "--subject", "s", "--set",
                                         "Priority=High", NULL}));
    char ini[160];
    snprintf(ini, sizeof ini, "%s/sfagent.ini", f->dir);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[pull.Case]\nindex = Priority, Origin\n", fp);
    fclose(fp);
    char *out = ok_out(f, (const char *const[]){"index", "--config", ini, NULL});
    assert_non_null(strstr(out, "created 2, dropped 0"));
    assert_non_null(strstr(out, "declared: Priority, Origin"));
    free(out);
    out = ok_out(f, (const char *const[]){"query", "--explain",
                                          "SELECT Id FROM Case WHERE Priority = 'High'", NULL});
    assert_non_null(strstr(out, "records_x_Priority"));
    free(out);
    fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[pull.Case]\nindex = Origin\n", fp);
    fclose(fp);
    out = ok_out(f, (const char *const[]){"index", "--config", ini, NULL});
    assert_non_null(strstr(out, "created 0, dropped 1"));
    free(out);
    unlink(ini);
}

/* --state takes one state, several with commas, or all; the JSON and the table print the
 * same state and kind names as the database holds. */
static void test_outbox_list_state_filter(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        free(create_case(f, "filtered"));
    run_sql(f->db, "UPDATE outbox SET state='dead', last_error_code='X' WHERE seq=1;"
                   "UPDATE outbox SET state='conflict', last_error_code='Y' WHERE seq=2");
    cJSON *ops = ok_json(
        f, (const char *const[]){"--json", "outbox", "list", "--state", "dead,conflict", NULL});
    assert_int_equal(cJSON_GetArraySize(ops), 2);
    assert_string_equal(field_str(cJSON_GetArrayItem(ops, 0), "state"), "dead");
    assert_string_equal(field_str(cJSON_GetArrayItem(ops, 0), "kind"), "create");
    assert_string_equal(field_str(cJSON_GetArrayItem(ops, 1), "state"), "conflict");
    cJSON_Delete(ops);
    ops = ok_json(f, (const char *const[]){"--json", "outbox", "list", "--state=all", NULL});
    assert_int_equal(cJSON_GetArraySize(ops), 3);
    assert_string_equal(field_str(cJSON_GetArrayItem(ops, 2), "state"), "pending");
    cJSON_Delete(ops);
    char *table = ok_out(f, (const char *const[]){"outbox", "list", "--state", "dead", NULL});
    assert_non_null(strstr(table, "dead"));
    assert_non_null(strstr(table, "create"));
    assert_null(strstr(table, "conflict"));
    assert_non_null(strstr(table, "(1 op)"));
    free(table);
    cJSON *recs = ok_json(f, (const char *const[]){"--json", "case", "list", NULL});
    int dead = 0, conflict = 0, pending = 0;
    for (int i = 0; i < cJSON_GetArraySize(recs); i++) {
        const char *s = field_str(cJSON_GetArrayItem(recs, i), "syncState");
        dead += strcmp(s, "dead") == 0;
        conflict += strcmp(s, "conflict") == 0;
        pending += strcmp(s, "pending") == 0;
    }
    assert_int_equal(dead + conflict * 10 + pending * 100, 111);
    cJSON_Delete(recs);
    run_result r;
    sfa(&r, f, "outbox", "list", "--state", "dead,bogus");
    assert_int_equal(r.code, 64);
    run_result_free(&r);
    sfa(&r, f, "outbox", "list", "--state", ",");
    assert_int_equal(r.code, 64);
    run_result_free(&r);
}

/* Trailing text after --fields' object is refused by name, not silently dropped. */
static void test_fields_trailing_garbage_is_named(void **state)
{
    fixture *f = *state;
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "x", "--fields", "{\"Subject\":\"y\"} junk");
    assert_int_equal(r.code, 65);
    assert_non_null(strstr(r.err, "after the JSON object: 'junk'"));
    run_result_free(&r);
}

/* Exit code and message of `sfagent --db PATH status` for a path that is not a file. */
static void expect_not_a_db(const fixture *f, const char *path, const char *kind)
{
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--db", path, "status", NULL});
    if (r.code != 66 || !strstr(r.err, kind))
        fail_msg("--db %s: exit %d: %s", path, r.code, r.err);
    assert_int_equal(run_count_lines(r.err), 1);
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--db", path, "init", NULL});
    assert_int_equal(r.code, 66);
    run_result_free(&r);
}

/* A FIFO or a device as --db is refused at once (SQLite would block reading a FIFO). */
static void test_db_that_is_not_a_file_is_refused(void **state)
{
    fixture *f = *state;
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_not_a_db(f, fifo, "is a FIFO, not a database file");
    expect_not_a_db(f, "/dev/null", "is a character device");
    expect_not_a_db(f, "/dev/zero", "is a character device");
    expect_not_a_db(f, f->dir, "is a directory");
    unlink(fifo);
}

/* --config naming a directory says so, exit 78, for each command that reads one. */
static void test_config_directory_is_named(void **state)
{
    fixture *f = *state;
    const char *const cmds[] = {"login", "sync", "doctor"};
    for (size_t i = 0; i < 3; i++) {
        run_result r;
        sfa(&r, f, cmds[i], "--config", f->dir);
        if (r.code != 78 || !strstr(r.err, "is a directory, not a file"))
            fail_msg("%s --config DIR: exit %d: %s", cmds[i], r.code, r.err);
        run_result_free(&r);
    }
}

/* With --json an error is one JSON document on stdout: {"error": {exitCode, message}}. */
static void expect_json_error(const fixture *f, int code, const char *const *args)
{
    const char *full[MAX_ARGS] = {"--db", f->db};
    size_t n = 2;
    for (size_t i = 0; args[i]; i++)
        full[n++] = args[i];
    full[n] = NULL;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, full);
    assert_int_equal(r.code, code);
    cJSON *doc = cJSON_Parse(r.out);
    if (!doc)
        fail_msg("%s %s: stdout is not one JSON document: %s", args[0], args[1], r.out);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    assert_non_null(err);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(err, "exitCode")->valueint, code);
    const char *msg = field_str(err, "message");
    assert_non_null(msg);
    assert_non_null(strstr(r.err, msg)); /* the same text as the stderr line */
    cJSON_Delete(doc);
    run_result_free(&r);
}

static void test_json_errors_are_one_document(void **state)
{
    fixture *f = *state;
    expect_json_error(f, 66, (const char *const[]){"--json", "case", "get", "loc-0", NULL});
    expect_json_error(f, 64, (const char *const[]){"--json", "--bogus", "status", NULL});
    expect_json_error(f, 64,
                      (const char *const[]){"--json", "outbox", "list", "--state", "x", NULL});
    expect_json_error(f, 65,
                      (const char *const[]){"--json", "case", "create", "--subject", "x",
                                            "--fields", "[1]", NULL});
    expect_json_error(f, 78, (const char *const[]){"--json", "login", "--config", f->dir, NULL});
    expect_json_error(f, 66, (const char *const[]){"--json", "outbox", "retry", "999", NULL});
    /* retry/discard succeed with one document too. */
    free(create_case(f, "to retry"));
    run_sql(f->db, "UPDATE outbox SET state='dead', last_error_code='X' WHERE seq=1");
    cJSON *res = ok_json(f, (const char *const[]){"--json", "outbox", "retry", "1", NULL});
    assert_int_equal(cJSON_GetArraySize(res), 1);
    assert_string_equal(field_str(cJSON_GetArrayItem(res, 0), "result"), "pending");
    cJSON_Delete(res);
}

/* A huge REF is echoed once, cut to 64 bytes + "...", never whole. */
static void test_huge_ref_is_echoed_once_shortened(void **state)
{
    fixture *f = *state;
    size_t len = 100 * 1024; /* Linux refuses a single argument over 128 KiB */
    char *ref = malloc(len + 1);
    memset(ref, 'R', len);
    ref[len] = '\0';
    char prefix[65];
    memset(prefix, 'R', 64);
    prefix[64] = '\0';
    const char *const cmds[][6] = {
        {"case", "get", ref, NULL},
        {"case", "update", ref, "--set", "Status=New", NULL},
        {"record", "delete", "Account", ref, NULL},
        {"outbox", "show", ref, NULL},
        {"outbox", "retry", ref, NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[8] = {"--db", f->db};
        size_t n = 2;
        for (size_t k = 0; cmds[i][k]; k++)
            args[n++] = cmds[i][k];
        args[n] = NULL;
        run_result r;
        run_sfagent(&r, f->dir, NULL, NULL, args);
        assert_int_equal(r.code, 66);
        assert_int_equal(run_count_lines(r.err), 1);
        if (strlen(r.err) > 400)
            fail_msg("%s %s: %zu bytes of error", cmds[i][0], cmds[i][1], strlen(r.err));
        const char *at = strstr(r.err, prefix);
        assert_non_null(at);
        assert_int_equal(strncmp(at + 64, "...", 3), 0);
        assert_null(strstr(at + 64, prefix)); /* once */
        run_result_free(&r);
    }
    free(ref);
}

static void test_sfagent_db_env_and_db_option(void **state)
{
    fixture *f = *state;
    char env_db[160];
    snprintf(env_db, sizeof env_db, "%s/env.db", f->dir);
    run_result r;
    run_sfagent(&r, f->dir, env_db, NULL, (const char *const[]){"init", NULL});
    assert_int_equal(r.code, 0);
    assert_int_equal(access(env_db, F_OK), 0);
    run_result_free(&r);
    run_sfagent(&r, f->dir, env_db, NULL,
                (const char *const[]){"case", "create", "--subject", "via env", NULL});
    assert_int_equal(r.code, 0);
    run_result_free(&r);
    /* --db wins over SFAGENT_DB: the fixture db does not have the env case. */
    run_sfagent(&r, f->dir, env_db, NULL,
                (const char *const[]){"--db", f->db, "--json", "case", "list", NULL});
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.out, "via env"));
    run_result_free(&r);
    run_sfagent(&r, f->dir, env_db, NULL, (const char *const[]){"case", "list", NULL});
    assert_non_null(strstr(r.out, "via env"));
    run_result_free(&r);
}

static void test_durability_normal_and_option_forms(void **state)
{
    fixture *f = *state;
    const char *mk[] = {"--durability",          "normal",           "case", "create",
                        "--subject=equals form", "--set=Status=New", NULL};
    char *id = ok_out(f, mk);
    cJSON *rec =
        ok_json(f, (const char *const[]){"--durability=normal", "--json", "case", "get", id, NULL});
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
    assert_string_equal(field_str(fields, "Subject"), "equals form");
    assert_string_equal(field_str(fields, "Status"), "New");
    cJSON_Delete(rec);
    free(id);
}

static void test_help_and_version(void **state)
{
    fixture *f = *state;
    run_result r;
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"--help", NULL});
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "Commands:"));
    assert_non_null(strstr(r.out, "outbox"));
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"case", "--help", NULL});
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "sfagent case create"));
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"case", "create", "--help", NULL});
    assert_int_equal(r.code, 0);
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){NULL});
    assert_int_equal(r.code, 64);
    run_result_free(&r);
    run_sfagent(&r, f->dir, NULL, NULL, (const char *const[]){"version", NULL});
    assert_int_equal(r.code, 0);
    assert_int_equal(strncmp(r.out, "sfagent ", 8), 0);
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_case_create_get_update_list_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_and_generic_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_finds_the_same_record_by_external_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_set_is_string_set_json_is_typed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unicode_subject_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_exit_code_one_line_nothing_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_database_is_not_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_database_is_io_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_database_is_temporary_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_good_and_bad_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_status_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_group_by_table_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_program_runs_network_commands_in_the_helper,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_write_with_configuration_needs_no_helper, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_index_follows_the_configuration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_list_state_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields_trailing_garbage_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_that_is_not_a_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_directory_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_errors_are_one_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_ref_is_echoed_once_shortened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sfagent_db_env_and_db_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_normal_and_option_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
