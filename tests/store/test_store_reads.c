/* Local reads (issue 10): point lookups, lists and local SOQL are index searches whatever
 * the planner's statistics say (checked on SQLite's own EXPLAIN QUERY PLAN of every
 * statement a read runs); the SOQL compiled to SQL answers exactly what the evaluator
 * answers (differential test over a corpus); status counters match the rows; reads write
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfagent/outbox.h"
#include "sfagent/query.h"
#include "sfagent/record.h"
#include "soql/soql.h"
#include "store/query_sql.h"
#include "store/sql.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define NCASES 400

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
    if (sfa_record_create(&id, f->agent, sobject, json) != SFA_OK)
        fail_msg("%s: %s", json, sfa_agent_errmsg(f->agent));
    return id;
}

/* Raw SQL that edits records.fields as a sync would must keep the field columns equal to
 * their fields, as the store's own writers do (store/sql.h, migration 0013). */
static void sync_field_columns(store_fixture *f)
{
    raw_exec(f->path, "UPDATE records SET " STORE_FIELD_SET("fields"));
}

/* NCASES Cases, every one Status 'New' (the skew that made the planner prefer the status
 * index), Ids and CaseNumbers assigned as a sync would. */
static void seed_cases(store_fixture *f)
{
    for (int i = 0; i < NCASES; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"Subject\":\"s%d\",\"Status\":\"New\"}", i);
        free(create_ok(f, "Case", json));
    }
    raw_exec(f->path, "UPDATE records SET case_number = printf('%08d', rowid), "
                      "sf_id = '500' || printf('%012d', rowid) || 'AAA', "
                      "fields = json_set(fields, '$.CreatedDate', "
                      "printf('2024-01-01T00:%02d:%02d.000+0000', rowid / 60 % 60, rowid % 60)) "
                      "WHERE sobject = 'Case'");
    sync_field_columns(f);
}

/* ---- plans ---- */

typedef struct traced {
    char *sql[16];
    size_t n;
} traced;

static int trace_cb(unsigned type, void *ctx, void *p, void *x)
{
    (void)type;
    (void)x;
    traced *t = ctx;
    const char *sql = sqlite3_sql(p);
    if (t->n < 16 && sql && strncmp(sql, "EXPLAIN", 7) != 0)
        t->sql[t->n++] = xstrdup(sql);
    return 0;
}

static void trace_start(sfa_agent *a, traced *t)
{
    memset(t, 0, sizeof *t);
    sqlite3_trace_v2(store_db(a), SQLITE_TRACE_STMT, trace_cb, t);
}

/* The plan of sql on a's connection, one detail per line. */
static char *plan_of(sfa_agent *a, const char *sql)
{
    char *e = xasprintf("EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(a), e, -1, &st, NULL), SQLITE_OK);
    strbuf sb = STRBUF_INIT;
    while (sqlite3_step(st) == SQLITE_ROW)
        strbuf_addf(&sb, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    free(e);
    return strbuf_detach(&sb);
}

/* A line of plan that reads a whole table ("SCAN records", "SCAN r") rather than
 * searching or walking an index. */
static bool has_full_scan(const char *plan)
{
    for (const char *line = plan; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        bool table = (n >= 6 && strncmp(line, "SCAN r", 6) == 0 && (n == 6 || line[6] == ' ')) ||
                     strncmp(line, "SCAN records", 12) == 0;
        if (table && !memmem(line, n, "USING", 5))
            return true;
        line = end ? end + 1 : NULL;
    }
    return false;
}

/* Every statement a point lookup ran is an index search: no SCAN at all. */
static void assert_traced_searches_only(sfa_agent *a, traced *t)
{
    sqlite3_trace_v2(store_db(a), 0, NULL, NULL);
    assert_true(t->n > 0);
    for (size_t i = 0; i < t->n; i++) {
        char *plan = plan_of(a, t->sql[i]);
        if (strstr(plan, "SCAN "))
            fail_msg("statement scans:\n%s\nplan:\n%s", t->sql[i], plan);
        free(plan);
        free(t->sql[i]);
    }
}

static void get_by(store_fixture *f, const char *ref)
{
    traced t;
    trace_start(f->agent, &t);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", ref), SFA_OK);
    sfa_record_free(r);
    assert_traced_searches_only(f->agent, &t);
}

static void lookups_are_searches(store_fixture *f, const char *local_id)
{
    get_by(f, "00000123");           /* CaseNumber */
    get_by(f, "500000000000123AAA"); /* 18-char Id (not a valid checksum: still a lookup) */
    get_by(f, local_id);
}

/* The checker itself catches a scan, so the tests below can fail. */
static void test_plan_checker_sees_full_scans(void **state)
{
    store_fixture *f = *state;
    char *plan = plan_of(f->agent, "SELECT * FROM records WHERE fields LIKE '%x%'");
    assert_true(has_full_scan(plan));
    free(plan);
    plan = plan_of(f->agent, "SELECT * FROM records WHERE local_id = 'x'");
    assert_false(has_full_scan(plan));
    free(plan);
}

static void test_point_lookups_use_an_index_whatever_the_statistics(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    char *local = create_ok(f, "Case", "{\"Subject\":\"mine\",\"Status\":\"New\"}");
    lookups_are_searches(f, local);
    /* Real statistics, then statistics that call the CaseNumber index useless and the
     * status index perfect: the lookups must not change plan. */
    sfa_agent_free(f->agent);
    raw_exec(f->path, "ANALYZE");
    raw_exec(f->path,
             "UPDATE sqlite_stat1 SET stat = '1000000 1000000 1000000' "
             "WHERE idx = 'records_case_number';"
             "UPDATE sqlite_stat1 SET stat = '1000000 1 1 1' WHERE idx = 'records_f_status'");
    assert_int_equal(sfa_agent_open(&f->agent, f->path, NULL), SFA_OK);
    lookups_are_searches(f, local);
    free(local);
}

static void list_plan_ok(store_fixture *f, const sfa_list_options *o, size_t want)
{
    traced t;
    trace_start(f->agent, &t);
    sfa_record_array list = {0};
    assert_int_equal(sfa_record_list(&list, f->agent, "Case", o), SFA_OK);
    assert_int_equal(list.count, want);
    sfa_record_array_free(&list);
    sqlite3_trace_v2(store_db(f->agent), 0, NULL, NULL);
    for (size_t i = 0; i < t.n; i++) {
        char *plan = plan_of(f->agent, t.sql[i]);
        if (has_full_scan(plan) || strstr(plan, "TEMP B-TREE FOR ORDER BY"))
            fail_msg("list reads or sorts everything:\n%s\nplan:\n%s", t.sql[i], plan);
        free(plan);
        free(t.sql[i]);
    }
}

static void test_lists_are_index_scans(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    free(create_ok(f, "Case", "{\"Subject\":\"w\",\"Status\":\"Working\"}"));
    sfa_list_options o = SFA_LIST_OPTIONS_INIT;
    o.limit = 50;
    list_plan_ok(f, &o, 50);
    o.status = "Working";
    list_plan_ok(f, &o, 1);
    o.status = "working"; /* --status stays an exact match */
    list_plan_ok(f, &o, 0);
    o.status = "New";
    list_plan_ok(f, &o, 50);
    o.status = NULL;
    o.order_field = "status";
    list_plan_ok(f, &o, 50);
    o.descending = true;
    o.order_field = "CaseNumber";
    sfa_record_array list = {0};
    assert_int_equal(sfa_record_list(&list, f->agent, "Case", &o), SFA_OK);
    assert_string_equal(list.items[0].case_number, "00000400");
    sfa_record_array_free(&list);
    list_plan_ok(f, &o, 50);
    o.order_field = "Subject"; /* not indexed: still answers, through a sort */
    assert_int_equal(sfa_record_list(&list, f->agent, "Case", &o), SFA_OK);
    assert_string_equal(list.items[0].fields_json, "{\"Subject\":\"w\",\"Status\":\"Working\"}");
    sfa_record_array_free(&list);
}

static void test_query_uses_the_indexes(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    static const char *const queries[] = {
        "SELECT CaseNumber, Subject FROM Case WHERE Status = 'Escalated' LIMIT 5",
        "SELECT Id FROM Case WHERE status = 'New' ORDER BY CaseNumber LIMIT 20",
        "SELECT Id FROM Case WHERE CaseNumber = '00000007'",
        "SELECT COUNT() FROM Case WHERE Status = 'New'",
        "SELECT Id FROM Case ORDER BY CreatedDate DESC LIMIT 20",
        "SELECT Status, COUNT(Id) FROM Case GROUP BY Status",
        "SELECT Status, COUNT(Id) FROM Case WHERE Status IN ('New', 'Closed') GROUP BY Status "
        "ORDER BY Status DESC",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char *text = NULL;
        if (sfa_query_explain(&text, f->agent, queries[i]) != SFA_OK)
            fail_msg("%s: %s", queries[i], sfa_agent_errmsg(f->agent));
        /* Groups come from the index in order: no full scan and no sort to group by. */
        if (has_full_scan(strchr(text, '\n') + 1) || strstr(text, "B-TREE FOR GROUP BY"))
            fail_msg("%s\n%s", queries[i], text);
        free(text);
    }
    char *text = NULL;
    assert_int_equal(sfa_query_explain(&text, f->agent, queries[0]), SFA_OK);
    assert_non_null(strstr(text, "records_f_status"));
    free(text);
}

/* A declared index (configuration `index = ...`): created, used by the compiled SQL
 * (the plan names it, no full scan, same answer as the evaluator), dropped when no longer
 * listed; a bad name changes nothing. */
static void test_declared_index_is_created_used_and_dropped(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    for (int i = 0; i < 30; i++)
        free(create_ok(f, "Case",
                       i % 3 ? "{\"Subject\":\"p\",\"Priority\":\"Low\"}"
                             : "{\"Subject\":\"p\",\"Priority\":\"High\"}"));
    static const char SOQL[] = "SELECT Subject FROM Case WHERE Priority = 'high' LIMIT 5";
    char *plan = NULL;
    assert_int_equal(sfa_query_explain(&plan, f->agent, SOQL), SFA_OK);
    assert_true(has_full_scan(strchr(plan, '\n') + 1) || !strstr(plan, "records_x_"));
    free(plan);
    const char *bad[] = {"Priority", "Bad Name"};
    assert_int_equal(sfa_index_apply(NULL, NULL, f->agent, bad, 2), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "'Bad Name'"));
    size_t created = 0, dropped = 0;
    const char *fields[] = {"priority", "Status"}; /* stored spelling; Status is built in */
    assert_int_equal(sfa_index_apply(&created, &dropped, f->agent, fields, 2), SFA_OK);
    assert_int_equal(created, 1);
    assert_int_equal(dropped, 0);
    char *list = NULL;
    assert_int_equal(sfa_index_list(&list, f->agent), SFA_OK);
    assert_string_equal(list, "Priority\n");
    free(list);
    assert_int_equal(sfa_query_explain(&plan, f->agent, SOQL), SFA_OK);
    if (!strstr(plan, "USING INDEX records_x_Priority (sobject=? AND <expr>=?)") ||
        has_full_scan(strchr(plan, '\n') + 1))
        fail_msg("the declared index is not used:\n%s", plan);
    free(plan);
    char *want = NULL, *got = NULL;
    assert_int_equal(store_query_eval(&want, f->agent, SOQL), SFA_OK);
    assert_int_equal(sfa_query_local(&got, f->agent, SOQL), SFA_OK);
    assert_string_equal(got, want);
    assert_non_null(strstr(got, "\"totalSize\":5"));
    free(want);
    free(got);
    assert_int_equal(sfa_index_apply(&created, &dropped, f->agent, fields, 2), SFA_OK);
    assert_int_equal(created + dropped, 0); /* applying again changes nothing */
    assert_int_equal(sfa_index_apply(&created, &dropped, f->agent, NULL, 0), SFA_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(sfa_index_list(&list, f->agent), SFA_OK);
    assert_string_equal(list, "");
    free(list);
    assert_int_equal(sfa_query_explain(&plan, f->agent, SOQL), SFA_OK);
    assert_null(strstr(plan, "records_x_"));
    free(plan);
}

/* Does the compiled program of soql read rows of the `records` table (a column or the rowid
 * through a cursor opened on the table), rather than index entries only? Read from the
 * bytecode (EXPLAIN), not the plan text: SQLite 3.40 prints "USING INDEX" (not COVERING)
 * for any index on an expression, yet with a deferred seek it never touches the table when
 * every value the statement needs is in the index. */
static bool query_reads_table_rows(sfa_agent *a, const char *soql)
{
    soql_query *q = soql_parse(soql, NULL);
    assert_non_null(q);
    store_qsql *c = NULL;
    if (store_qsql_compile(&c, a, q) != SFA_OK)
        fail_msg("%s: %s", soql, sfa_agent_errmsg(a));
    sqlite3_stmt *st = NULL;
    assert_int_equal(store_qsql_prepare(&st, a, c, "EXPLAIN "), SFA_OK);
    int root = 0;
    sqlite3_stmt *rs = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(a),
                                        "SELECT rootpage FROM sqlite_schema WHERE name = 'records'",
                                        -1, &rs, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(rs), SQLITE_ROW);
    root = sqlite3_column_int(rs, 0);
    sqlite3_finalize(rs);
    bool table_cursor[64] = {false}, reads = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(st, 1);
        int p1 = sqlite3_column_int(st, 2), p2 = sqlite3_column_int(st, 3);
        if (strcmp(op, "OpenRead") == 0 && p2 == root && p1 >= 0 && p1 < 64)
            table_cursor[p1] = true;
        else if ((strcmp(op, "Column") == 0 || strcmp(op, "Rowid") == 0 ||
                  strcmp(op, "SeekRowid") == 0 || strcmp(op, "NotExists") == 0) &&
                 p1 >= 0 && p1 < 64 && table_cursor[p1])
            reads = true;
    }
    sqlite3_finalize(st);
    store_qsql_free(c);
    soql_free(q);
    return reads;
}

static void test_count_reads_index_entries_only(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    char *gone = create_ok(f, "Case", "{\"Subject\":\"d\",\"Status\":\"New\"}");
    assert_int_equal(sfa_record_delete(f->agent, "Case", gone), SFA_OK);
    free(gone);
    /* The checker sees a read: Subject is in no index, so each row is read. */
    assert_true(query_reads_table_rows(f->agent, "SELECT COUNT() FROM Case WHERE Subject = 's1'"));
    static const char *const counted[] = {
        "SELECT COUNT() FROM Case WHERE Status = 'New'",
        "SELECT COUNT() FROM Case WHERE Status IN ('New', 'Closed')",
        "SELECT COUNT() FROM Case WHERE CaseNumber = '00000007'",
        "SELECT COUNT() FROM Case",
        "SELECT COUNT() FROM Case WHERE status = 'new' LIMIT 10",
    };
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        if (query_reads_table_rows(f->agent, counted[i]))
            fail_msg("reads records, not only index entries: %s", counted[i]);
        /* SQLite calls an index covering only when no entry needs its row: an index on
         * a JSON expression never is (each entry paid a seek), one on a column is. A
         * count with no WHERE reads record_counts instead. */
        char *text = NULL;
        assert_int_equal(sfa_query_explain(&text, f->agent, counted[i]), SFA_OK);
        if (strstr(text, "FROM records") && !strstr(text, "COVERING INDEX"))
            fail_msg("not a covering index: %s\n%s", counted[i], text);
        free(text);
    }
    char *out = NULL;
    assert_int_equal(
        sfa_query_local(&out, f->agent, "SELECT COUNT() FROM Case WHERE Status = 'New'"), SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":400")); /* the deleted one is not counted */
    free(out);
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT COUNT() FROM Case"), SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":400"));
    free(out);
}

/* ---- the compiled SQL against the evaluator ---- */

static const char *const CORPUS_RECORDS[] = {
    "{\"Subject\":\"Printer jam\",\"Status\":\"New\",\"Priority\":\"High\",\"Amount__c\":5,"
    "\"IsEscalated__c\":true,\"ContactId\":\"003000000000001AAA\","
    "\"Opened__c\":\"2024-01-02T03:04:05.000+0000\",\"Due__c\":\"2024-02-01\"}",
    "{\"Subject\":\"printer on fire\",\"Status\":\"new\",\"Priority\":\"Low\",\"Amount__c\":\"12\","
    "\"IsEscalated__c\":\"false\",\"ContactId\":\"003000000000002\","
    "\"Opened__c\":\"2024-01-03T00:00:00.000+0000\"}",
    "{\"Subject\":\"Login 100%_done\",\"Status\":\"Closed\",\"Amount__c\":-3.5,"
    "\"IsEscalated__c\":false,\"Opened__c\":\"2023-12-31T23:59:59.000+0000\",\"Due__c\":null}",
    "{\"Subject\":\"Café résumé\",\"Status\":\"Working\",\"Priority\":null,\"Amount__c\":0}",
    "{\"Subject\":\"nulled\",\"Status\":\"Escalated\",\"Priority\":\"High\",\"Amount__c\":\"abc\"}",
    "{\"Subject\":\"removed\",\"Status\":\"New\",\"Priority\":\"Medium\",\"ContactId\":"
    "\"003000000000001\"}",
};

static const char *const CORPUS_QUERIES[] = {
    "SELECT Id, Subject FROM Case",
    "SELECT Subject FROM Case WHERE Status = 'new'",
    "SELECT Subject FROM Case WHERE Status != 'New'",
    "SELECT Subject FROM Case WHERE Status IN ('Closed', 'working')",
    "SELECT Subject FROM Case WHERE Status NOT IN ('Closed', 'working')",
    "SELECT Subject FROM Case WHERE Subject LIKE 'printer%'",
    "SELECT Subject FROM Case WHERE Subject LIKE '%100\\%\\_%'",
    "SELECT Subject FROM Case WHERE Subject LIKE 'Caf_ r_sum_'",
    "SELECT Subject FROM Case WHERE NOT Subject LIKE 'p%'",
    "SELECT Subject FROM Case WHERE Subject = null",
    "SELECT Subject FROM Case WHERE Subject != null",
    "SELECT Subject FROM Case WHERE Priority = null",
    "SELECT Subject FROM Case WHERE Amount__c > 1",
    "SELECT Subject FROM Case WHERE Amount__c <= 0",
    "SELECT Subject FROM Case WHERE Amount__c = 12",
    "SELECT Subject FROM Case WHERE Amount__c < 'b'",
    "SELECT Subject FROM Case WHERE IsEscalated__c = true",
    "SELECT Subject FROM Case WHERE IsEscalated__c = false",
    "SELECT Subject FROM Case WHERE IsEscalated__c != true",
    "SELECT Subject FROM Case WHERE CreatedDate > 2024-01-01T00:00:00Z",
    "SELECT Subject FROM Case WHERE CreatedDate < 2024-01-02T04:04:05+01:00",
    "SELECT Subject FROM Case WHERE Due__c = 2024-02-01",
    "SELECT Subject FROM Case WHERE ContactId = '003000000000001'",
    "SELECT Subject FROM Case WHERE ContactId = '003000000000002AAA'",
    "SELECT Subject FROM Case WHERE ContactId IN ('003000000000001AAA')",
    "SELECT Subject FROM Case WHERE Status = 'New' AND (Priority = 'High' OR Amount__c = 5)",
    "SELECT Subject FROM Case WHERE NOT (Status = 'New' OR Priority = 'Low')",
    "SELECT Subject FROM Case WHERE NOT Priority = 'High'",
    "SELECT Subject, Status FROM Case ORDER BY Status",
    "SELECT Subject, Status FROM Case ORDER BY Status DESC",
    "SELECT Subject FROM Case ORDER BY Priority NULLS LAST, Subject",
    "SELECT Subject FROM Case ORDER BY Priority DESC NULLS FIRST",
    "SELECT Subject FROM Case ORDER BY Priority DESC NULLS LAST",
    "SELECT Subject FROM Case ORDER BY CreatedDate DESC",
    "SELECT Subject FROM Case ORDER BY Subject LIMIT 2 OFFSET 1",
    "SELECT Subject FROM Case LIMIT 3",
    "SELECT Subject FROM Case OFFSET 4",
    "SELECT COUNT() FROM Case",
    "SELECT COUNT() FROM Case WHERE Status = 'New'",
    "SELECT COUNT() FROM Case WHERE Status = 'New' LIMIT 1",
    "SELECT COUNT(Priority) FROM Case",
    "SELECT COUNT(Id) FROM Case",
    "SELECT Id, CaseNumber FROM Case WHERE CaseNumber = '00000002'",
    "SELECT Id FROM Case WHERE Id = '500000000000003AAA'",
    "SELECT STATUS, subject FROM case WHERE status = 'Closed'",
    /* Date literals, the clock pinned at 2024-01-03T10:00:00Z. */
    "SELECT Subject FROM Case WHERE CreatedDate = TODAY",
    "SELECT Subject FROM Case WHERE CreatedDate = YESTERDAY",
    "SELECT Subject FROM Case WHERE CreatedDate < TODAY",
    "SELECT Subject FROM Case WHERE CreatedDate <= YESTERDAY",
    "SELECT Subject FROM Case WHERE CreatedDate > YESTERDAY",
    "SELECT Subject FROM Case WHERE Opened__c >= LAST_N_DAYS:2",
    "SELECT Subject FROM Case WHERE Opened__c != THIS_MONTH",
    "SELECT Subject FROM Case WHERE NOT Opened__c = THIS_YEAR",
    "SELECT Subject FROM Case WHERE Due__c = NEXT_N_DAYS:30",
    "SELECT Subject FROM Case WHERE Due__c > TOMORROW OR Opened__c = LAST_WEEK",
    "SELECT COUNT() FROM Case WHERE CreatedDate IN (TODAY, YESTERDAY)",
    /* Aggregate queries: grouped in SQLite, against the evaluator's groups. */
    "SELECT Status, COUNT(Id) FROM Case GROUP BY Status",
    "SELECT status s, COUNT(Id) n, COUNT(Priority) FROM Case GROUP BY Status",
    "SELECT Priority, COUNT(Subject) FROM Case GROUP BY Priority ORDER BY COUNT(Subject) DESC",
    "SELECT Priority, COUNT(Id) FROM Case GROUP BY Priority ORDER BY Priority DESC NULLS LAST",
    "SELECT Status, Priority, COUNT(Id) FROM Case GROUP BY Status, Priority LIMIT 3 OFFSET 1",
    "SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING COUNT(Id) > 1",
    "SELECT Status FROM Case GROUP BY Status HAVING Status != 'new' AND COUNT(Priority) >= 1",
    "SELECT Status, COUNT(Id) FROM Case WHERE Amount__c > 0 GROUP BY Status",
    "SELECT IsEscalated__c, COUNT(Id) FROM Case GROUP BY IsEscalated__c",
    "SELECT Amount__c, COUNT(Id) FROM Case GROUP BY Amount__c",
    "SELECT CaseNumber, COUNT(Id) FROM Case GROUP BY CaseNumber",
    "SELECT Contact.LastName, COUNT(Id) FROM Case GROUP BY Contact.LastName",
    "SELECT COUNT(Id), COUNT(Priority) p, COUNT(Due__c) FROM Case WHERE Status = 'New'",
    "SELECT COUNT(Id) FROM Case WHERE Status = 'none'",
};

static void test_compiled_sql_answers_as_the_evaluator(void **state)
{
    store_fixture *f = *state;
    for (size_t i = 0; i < sizeof CORPUS_RECORDS / sizeof CORPUS_RECORDS[0]; i++)
        free(create_ok(f, "Case", CORPUS_RECORDS[i]));
    free(create_ok(f, "Contact", "{\"LastName\":\"x\"}"));
    raw_exec(f->path, "UPDATE records SET case_number = printf('%08d', rowid), "
                      "sf_id = '500' || printf('%012d', rowid) || 'AAA' "
                      "WHERE sobject = 'Case' AND rowid % 2 = 0");
    raw_exec(f->path, "UPDATE records SET created_at = 1000 WHERE sobject = 'Case'"); /* ties */
    /* A null and a missing Subject, which local writes refuse but a sync can bring. */
    raw_exec(f->path, "UPDATE records SET fields = json_set(fields, '$.Subject', json('null')) "
                      "WHERE json_extract(fields, '$.Subject') = 'nulled'");
    raw_exec(f->path, "UPDATE records SET fields = json_remove(fields, '$.Subject') "
                      "WHERE json_extract(fields, '$.Subject') = 'removed'");
    /* CreatedDate is read-only to local writes; a sync brings it. */
    raw_exec(f->path, "UPDATE records SET fields = json_set(fields, '$.CreatedDate', "
                      "json_extract(fields, '$.Opened__c')) WHERE json_extract(fields, "
                      "'$.Opened__c') IS NOT NULL");
    sync_field_columns(f);
    time_set_override(INT64_C(1704276000000)); /* 2024-01-03T10:00:00Z */
    for (size_t i = 0; i < sizeof CORPUS_QUERIES / sizeof CORPUS_QUERIES[0]; i++) {
        char *want = NULL, *got = NULL;
        assert_int_equal(store_query_eval(&want, f->agent, CORPUS_QUERIES[i]), SFA_OK);
        if (sfa_query_local(&got, f->agent, CORPUS_QUERIES[i]) != SFA_OK)
            fail_msg("%s: %s", CORPUS_QUERIES[i], sfa_agent_errmsg(f->agent));
        if (strcmp(want, got) != 0)
            fail_msg("%s\nevaluator: %s\nsql:       %s", CORPUS_QUERIES[i], want, got);
        free(want);
        free(got);
    }
    time_set_override(0);
    /* The date literals select something (a corpus both sides answer empty proves little). */
    char *out = NULL;
    time_set_override(INT64_C(1704276000000));
    assert_int_equal(
        sfa_query_local(&out, f->agent, "SELECT COUNT() FROM Case WHERE CreatedDate = TODAY"),
        SFA_OK);
    time_set_override(0);
    assert_non_null(strstr(out, "\"totalSize\":1"));
    free(out);
}

static void test_unknown_field_is_refused_and_names_map_to_stored_spelling(void **state)
{
    store_fixture *f = *state;
    free(create_ok(f, "Case", "{\"Subject\":\"a\",\"Status\":\"New\"}"));
    char *out = NULL;
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT Subjekt FROM Case"), SFA_EINVAL);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "Subjekt"));
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "local cache"));
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT Id FROM Case WHERE Nope = 1"),
                     SFA_EINVAL);
    assert_int_equal(
        sfa_query_local(&out, f->agent, "SELECT subject FROM Case WHERE STATUS = 'new'"), SFA_OK);
    assert_non_null(strstr(out, "\"Subject\":\"a\""));
    free(out);
    /* Nothing of the sObject cached: an empty answer, not an error. */
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT Name FROM Account"), SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":0"));
    free(out);
}

/* Numbers leave the query as stored: 18+ digits are not rounded through a double. */
static void test_query_prints_numbers_as_stored(void **state)
{
    store_fixture *f = *state;
    free(create_ok(f, "Case",
                   "{\"Subject\":\"big\",\"Big__c\":123456789012345678,"
                   "\"Amount__c\":1234567890.12345678}"));
    char *out = NULL;
    assert_int_equal(
        sfa_query_local(&out, f->agent, "SELECT Big__c, Amount__c FROM Case WHERE Big__c > 5"),
        SFA_OK);
    assert_non_null(strstr(out, "\"Big__c\":123456789012345678"));
    assert_non_null(strstr(out, "\"Amount__c\":1234567890.12345678"));
    free(out);
}

static int count_rows(void *ctx, const char *record_json)
{
    assert_non_null(strstr(record_json, "\"attributes\""));
    return ++*(int *)ctx == 3; /* stop after three */
}

/* Q7: Contact.LastName on Case reads the cached Contact the ContactId names, by its
 * Salesforce Id (pulled) or its local id (created offline), in WHERE, ORDER BY and the
 * SELECT list. */
static void test_relationship_fields_read_cached_parents(void **state)
{
    store_fixture *f = *state;
    char *doe = create_ok(f, "Contact", "{\"LastName\":\"Doe\"}");
    char *roe = create_ok(f, "Contact", "{\"LastName\":\"Roe\"}");
    raw_exec(f->path, "UPDATE records SET sf_id = '003000000000001AAA' WHERE sobject = 'Contact'"
                      " AND json_extract(fields, '$.LastName') = 'Doe'");
    free(create_ok(f, "Case", "{\"Subject\":\"by id\",\"ContactId\":\"003000000000001AAA\"}"));
    char json[160];
    snprintf(json, sizeof json, "{\"Subject\":\"by local id\",\"ContactId\":\"%s\"}", roe);
    free(create_ok(f, "Case", json));
    free(create_ok(f, "Case", "{\"Subject\":\"no contact\"}"));
    char *out = NULL;
    assert_int_equal(sfa_query_local(&out, f->agent,
                                     "SELECT Subject, Contact.LastName FROM Case WHERE"
                                     " Contact.LastName != null ORDER BY Contact.LastName"),
                     SFA_OK);
    cJSON *res = cJSON_Parse(out);
    cJSON *recs = cJSON_GetObjectItem(res, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 2);
    const char *want[][2] = {{"by id", "Doe"}, {"by local id", "Roe"}};
    for (int i = 0; i < 2; i++) {
        cJSON *r = cJSON_GetArrayItem(recs, i);
        assert_string_equal(cJSON_GetObjectItem(r, "Subject")->valuestring, want[i][0]);
        cJSON *c = cJSON_GetObjectItem(r, "Contact");
        assert_non_null(c);
        assert_string_equal(cJSON_GetObjectItem(c, "LastName")->valuestring, want[i][1]);
    }
    cJSON_Delete(res);
    free(out);
    free(doe);
    free(roe);
}

static void test_query_streams_and_stops_when_asked(void **state)
{
    store_fixture *f = *state;
    seed_cases(f);
    int seen = 0;
    size_t total = 0;
    assert_int_equal(
        sfa_query_local_each(&total, f->agent, "SELECT Subject FROM Case", count_rows, &seen),
        SFA_OK);
    assert_int_equal(seen, 3);
    assert_int_equal(total, 3);
}

/* ---- status ---- */

static void test_status_counters_match_the_rows(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\"}");
    char *b = create_ok(f, "Contact", "{\"LastName\":\"b\"}");
    free(create_ok(f, "Case", "{\"Subject\":\"c\"}"));
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"a2\"}"), SFA_OK);
    assert_int_equal(sfa_record_delete(f->agent, "Contact", b), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET state = 'done' WHERE seq = (SELECT min(seq) FROM outbox)");
    raw_exec(f->path, "UPDATE outbox SET state = 'dead' WHERE seq = (SELECT max(seq) FROM outbox "
                      "WHERE state = 'pending')");
    sfa_outbox_stats s = {0};
    assert_int_equal(sfa_outbox_stats_get(&s, f->agent), SFA_OK);
    assert_int_equal(s.records, raw_int(f->path, "SELECT count(*) FROM records WHERE deleted = 0"));
    assert_int_equal(s.pending,
                     raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='pending'"));
    assert_int_equal(s.done, raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='done'"));
    assert_int_equal(s.dead, raw_int(f->path, "SELECT count(*) FROM outbox WHERE state='dead'"));
    assert_int_equal(s.done, 1);
    assert_int_equal(s.dead, 1);
    assert_true(s.records >= 2);
    raw_exec(f->path, "DELETE FROM outbox WHERE state = 'done'");
    assert_int_equal(sfa_outbox_stats_get(&s, f->agent), SFA_OK);
    assert_int_equal(s.done, 0);
    free(a);
    free(b);
}

static void test_reads_write_nothing(void **state)
{
    store_fixture *f = *state;
    char *a = create_ok(f, "Case", "{\"Subject\":\"a\",\"Status\":\"New\"}");
    sfa_agent_free(f->agent); /* checkpoints: the file now holds everything */
    f->agent = NULL;
    size_t n0 = 0, n1 = 0;
    unsigned char *before = read_file_bytes(f->path, &n0);
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.read_only = true;
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", a), SFA_OK);
    sfa_record_free(r);
    sfa_record_array list = {0};
    assert_int_equal(sfa_record_list(&list, f->agent, "Case", NULL), SFA_OK);
    sfa_record_array_free(&list);
    char *out = NULL;
    assert_int_equal(sfa_query_local(&out, f->agent, "SELECT Subject FROM Case"), SFA_OK);
    free(out);
    sfa_outbox_stats s = {0};
    assert_int_equal(sfa_outbox_stats_get(&s, f->agent), SFA_OK);
    assert_int_equal(sqlite3_total_changes(store_db(f->agent)), 0);
    sfa_agent_free(f->agent);
    f->agent = NULL;
    unsigned char *after = read_file_bytes(f->path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    free(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_plan_checker_sees_full_scans),
        T(test_point_lookups_use_an_index_whatever_the_statistics),
        T(test_lists_are_index_scans),
        T(test_query_uses_the_indexes),
        T(test_count_reads_index_entries_only),
        T(test_compiled_sql_answers_as_the_evaluator),
        T(test_declared_index_is_created_used_and_dropped),
        T(test_unknown_field_is_refused_and_names_map_to_stored_spelling),
        T(test_relationship_fields_read_cached_parents),
        T(test_query_streams_and_stops_when_asked),
        T(test_query_prints_numbers_as_stored),
        T(test_status_counters_match_the_rows),
        T(test_reads_write_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
