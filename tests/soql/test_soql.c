/* Tests for soql/: the parser (accept/reject tables with Salesforce error wording), the
 * evaluator (records + query -> ids in order), ORDER BY nulls, LIMIT/OFFSET, COUNT,
 * projection, field validation, and the soql_quote round trip as a property test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soql/soql.h"
#include "soql/soql_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* ---- parsing ---- */

static void test_parse_accepts_subset(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "SELECT Id FROM Case",
        "select id, subject from case",
        "SELECT Id, Account.Name, Owner.Profile.Name FROM Case",
        "SELECT COUNT() FROM Case",
        "SELECT COUNT(Id) FROM Case WHERE Status = 'New'",
        "SELECT Id FROM Case WHERE Subject = 'a' AND Status != 'Closed' AND Priority <> 'Low'",
        "SELECT Id FROM Case WHERE Subject = 'a' OR Subject = 'b' OR Subject = 'c'",
        "SELECT Id FROM Case WHERE (Subject = 'a' AND Status = 'b') OR Priority = 'c'",
        "SELECT Id FROM Case WHERE NOT Subject = 'a'",
        "SELECT Id FROM Case WHERE NOT (Subject = 'a' OR Subject = 'b')",
        "SELECT Id FROM Case WHERE Amount__c < 10 AND Amount__c >= -2.5",
        "SELECT Id FROM Case WHERE Amount__c > 0 AND Amount__c <= 1e", /* rejected below */
        "SELECT Id FROM Case WHERE IsClosed = TRUE AND IsEscalated = false",
        "SELECT Id FROM Case WHERE ClosedDate = NULL",
        "SELECT Id FROM Case WHERE Subject LIKE 'A%\\_b'",
        "SELECT Id FROM Case WHERE Status IN ('New', 'Working')",
        "SELECT Id FROM Case WHERE Status NOT IN ('New')",
        "SELECT Id FROM Case WHERE CreatedDate > 2024-01-02T03:04:05Z",
        "SELECT Id FROM Case WHERE CreatedDate > 2024-01-02T03:04:05.123+02:00",
        "SELECT Id FROM Case WHERE CreatedDate > 2024-01-02T03:04:05-08:00",
        "SELECT Id FROM Case WHERE ActivityDate = 2024-01-02",
        "SELECT Id FROM Case ORDER BY SystemModstamp, Id",
        "SELECT Id FROM Case ORDER BY Subject DESC NULLS LAST, Id ASC NULLS FIRST",
        "SELECT Id FROM Case LIMIT 10 OFFSET 5",
        "SELECT Id FROM Case WHERE Subject = 'it\\'s \\\\ \\n \\u00e9' LIMIT 0",
        "  SELECT\n Id\n FROM\n Case\n WHERE\n Subject='x'  ",
        "SELECT Id FROM Order ORDER BY Id", /* Order is an sObject */
        "SELECT Id FROM Order",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        soql_error err;
        soql_query *q = soql_parse(ok[i], &err);
        bool expect_ok = strstr(ok[i], "1e") == NULL;
        if ((q != NULL) != expect_ok)
            fail_msg("query %zu '%s': %s", i, ok[i], q ? "accepted" : err.message);
        soql_free(q);
    }
}

typedef struct reject_case {
    const char *soql;
    const char *message; /* substring expected in err.message */
} reject_case;

static void test_parse_rejects_with_salesforce_messages(void **state)
{
    (void)state;
    static const reject_case bad[] = {
        {"SELECT Id FRM Case", "unexpected token: 'FRM'"},
        {"SELECT FROM Case", "unexpected token: 'FROM'"},
        {"SELECT Id FROM", "unexpected token: '<EOF>'"},
        {"", "unexpected token: '<EOF>'"},
        {"DELETE FROM Case", "unexpected token: 'DELETE'"},
        {"SELECT Id FROM Case WHERE", "unexpected token: '<EOF>'"},
        {"SELECT Id FROM Case WHERE a = 1 AND b = 2 OR c = 3", "unexpected token: 'OR'"},
        {"SELECT Id FROM Case WHERE a = 1 OR b = 2 AND c = 3", "unexpected token: 'AND'"},
        {"SELECT Id FROM Case WHERE a == 1", "unexpected token: '='"},
        {"SELECT Id FROM Case WHERE a = 'x", "mismatched character '<EOF>'"},
        {"SELECT Id FROM Case WHERE a = 'x\\q'", "Illegal character sequence '\\q'"},
        {"SELECT Id FROM Case WHERE a = 'x\\u12'", "Illegal character sequence"},
        {"SELECT Id FROM Case WHERE a = 'x\\u0000'", "Illegal character sequence"},
        {"SELECT Id FROM Case WHERE a LIKE 3", "unexpected token: '3'"},
        {"SELECT Id FROM Case WHERE a IN 'x'", "unexpected token: ''x''"},
        {"SELECT Id FROM Case WHERE a IN ()", "unexpected token: ')'"},
        {"SELECT Id FROM Case WHERE a NOT LIKE 'x'", "unexpected token: 'LIKE'"},
        {"SELECT Id FROM Case WHERE a = 2024-13-45", "unexpected token: '2024-13-45'"},
        {"SELECT Id FROM Case WHERE a = 2024-01-02T03:04Z", "unexpected token"},
        {"SELECT Id FROM Case WHERE a = 10abc", "unexpected token: '10abc'"},
        {"SELECT Id FROM Case WHERE a = Bogus", "unexpected token: 'Bogus'"},
        {"SELECT Id FROM Case WHERE (a = 1", "unexpected token: '<EOF>'"},
        {"SELECT Id FROM Case WHERE a = 1)", "unexpected token: ')'"},
        {"SELECT Id FROM Case LIMIT -1", "unexpected token: '-1'"},
        {"SELECT Id FROM Case LIMIT 1.5", "unexpected token: '1.5'"},
        {"SELECT Id FROM Case LIMIT 99999999999", "unexpected token"},
        {"SELECT Id FROM Case OFFSET 1 LIMIT 1", "unexpected token: 'LIMIT'"},
        {"SELECT Id FROM Case ORDER Id", "unexpected token: 'Id'"},
        {"SELECT Id FROM Case ORDER BY Id NULLS MIDDLE", "unexpected token: 'MIDDLE'"},
        {"SELECT Id FROM Account.Case", "unexpected token: 'Account.Case'"},
        {"SELECT Id, FROM Case", "unexpected token: 'FROM'"},
        {"SELECT Id FROM Case WHERE a = \"x\"", "unexpected token: '\"'"},
        {"SELECT Id FROM Case WHERE a ! 1", "unexpected token: '!'"},
        {"SELECT COUNT( FROM Case", "unexpected token: 'FROM'"},
        {"SELECT Id FROM Case Case", "unexpected token: 'Case'"},
        {"SELECT Id FROM ORDER BY Id", "unexpected token: 'ORDER'"},
        {"SELECT Id FROM WHERE a = 1", "unexpected token: 'WHERE'"},
        /* Aggregate queries: what Salesforce refuses, in its words where it has them. */
        {"SELECT Subject, COUNT(Id) FROM Case GROUP BY Status",
         "Field must be grouped or aggregated: Subject"},
        {"SELECT Status FROM Case GROUP BY Status ORDER BY Subject",
         "Ordered field must be grouped or aggregated: Subject"},
        {"SELECT Status FROM Case GROUP BY Status HAVING Subject = 'x'",
         "Field must be grouped or aggregated: Subject"},
        {"SELECT COUNT() FROM Case GROUP BY Status", "COUNT() cannot be used with GROUP BY"},
        {"SELECT Id FROM Case HAVING COUNT(Id) > 1", "unexpected token: 'HAVING'"},
        {"SELECT COUNT(Id) a, COUNT(Status) A FROM Case", "duplicate alias: A"},
        {"SELECT Status, COUNT(Id) expr0, COUNT(Subject) FROM Case GROUP BY Status",
         "duplicate alias: expr0"},
        {"SELECT Id i FROM Case", "unexpected token: 'i'"},
        {"SELECT Id FROM Case ORDER BY COUNT(Id)", "COUNT(fieldName) in ORDER BY"},
        {"SELECT Status, COUNT(Id) FROM Case GROUP BY", "unexpected token: '<EOF>'"},
        {"SELECT COUNT(Id FROM Case", "unexpected token: 'FROM'"},
        {"SELECT Status FROM Case GROUP Status", "unexpected token: 'Status'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        soql_error err;
        soql_query *q = soql_parse(bad[i].soql, &err);
        if (q)
            fail_msg("query %zu '%s' accepted", i, bad[i].soql);
        if (strcmp(err.code, "MALFORMED_QUERY") != 0 || !strstr(err.message, bad[i].message))
            fail_msg("query %zu '%s': got %s '%s', want '%s'", i, bad[i].soql, err.code,
                     err.message, bad[i].message);
    }
}

static void test_parse_error_layout_has_caret_row_column(void **state)
{
    (void)state;
    soql_error err;
    assert_null(soql_parse("SELECT Id FRM Case", &err));
    /* As Salesforce prints it: the line, a caret under column 11, then the position. */
    assert_string_equal(err.message, "SELECT Id FRM Case\n          ^\n"
                                     "ERROR at Row:1:Column:11\nunexpected token: 'FRM'");
    assert_null(soql_parse("SELECT Id\nFROM Case\nWHERE = 1", &err));
    assert_non_null(strstr(err.message, "ERROR at Row:3:Column:7"));
    /* A very long line keeps the position and the reason, not the echo. */
    char *longq = xasprintf("SELECT Id FROM Case WHERE Subject = '%0300d' FRM", 7);
    assert_null(soql_parse(longq, &err));
    assert_string_equal(err.message, "ERROR at Row:1:Column:340\nunexpected token: 'FRM'");
    free(longq);
    assert_null(soql_parse(NULL, &err));
    assert_string_equal(err.code, "MALFORMED_QUERY");
    soql_query *q = soql_parse("SELECT Id FROM Case", NULL); /* err may be NULL */
    assert_non_null(q);
    soql_free(q);
    assert_null(soql_parse("SELECT Id FRM Case", NULL));
}

static void test_parse_limits_depth_and_length(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    soql_error err;
    /* 64 levels is the cap; 10,000 must fail cleanly without deep recursion. */
    for (int depth = 0; depth < 2; depth++) {
        int levels = depth == 0 ? 60 : 10000;
        strbuf_reset(&sb);
        strbuf_adds(&sb, "SELECT Id FROM Case WHERE ");
        for (int i = 0; i < levels; i++)
            strbuf_addc(&sb, '(');
        strbuf_adds(&sb, "a = 1");
        for (int i = 0; i < levels; i++)
            strbuf_addc(&sb, ')');
        soql_query *q = soql_parse(strbuf_str(&sb), &err);
        if (depth == 0) {
            assert_non_null(q);
        } else {
            assert_null(q);
            assert_non_null(strstr(err.message, "too complicated"));
        }
        soql_free(q);
    }
    strbuf_reset(&sb);
    strbuf_adds(&sb, "SELECT Id FROM Case WHERE ");
    for (int i = 0; i < 70; i++)
        strbuf_adds(&sb, "NOT ");
    strbuf_adds(&sb, "a = 1");
    assert_null(soql_parse(strbuf_str(&sb), &err));
    /* Long flat AND chains are fine (n-ary nodes), long text is not. */
    strbuf_reset(&sb);
    strbuf_adds(&sb, "SELECT Id FROM Case WHERE a = 1");
    for (int i = 0; i < 5000; i++)
        strbuf_adds(&sb, " AND a = 1");
    soql_query *q = soql_parse(strbuf_str(&sb), &err);
    assert_non_null(q);
    soql_free(q);
    while (sb.len <= SOQL_MAX_TEXT)
        strbuf_adds(&sb, " AND a = 1");
    assert_null(soql_parse(strbuf_str(&sb), &err));
    assert_non_null(strstr(err.message, "100000"));
    strbuf_free(&sb);
}

static void test_parse_accessors(void **state)
{
    (void)state;
    soql_query *q = soql_parse("select Id, Account.Name from Case limit 5 offset 2", NULL);
    assert_non_null(q);
    assert_string_equal(soql_from(q), "Case");
    assert_false(soql_is_count(q));
    assert_int_equal(soql_field_count(q), 2);
    assert_string_equal(soql_field(q, 0), "Id");
    assert_string_equal(soql_field(q, 1), "Account.Name");
    assert_null(soql_field(q, 2));
    assert_int_equal(soql_limit(q), 5);
    assert_int_equal(soql_offset(q), 2);
    soql_free(q);
    q = soql_parse("SELECT COUNT() FROM Contact", NULL);
    assert_true(soql_is_count(q));
    assert_int_equal(soql_field_count(q), 0);
    assert_int_equal(soql_limit(q), -1);
    assert_int_equal(soql_offset(q), -1);
    soql_free(q);
    soql_free(NULL);
}

/* soql_where_floor: a bound is offered only where every match must be at or after it. */
static void test_where_floor_hint(void **state)
{
    (void)state;
    static const struct {
        const char *where;
        int64_t floor; /* seconds since the epoch; -1: no hint */
    } cases[] = {
        {"SystemModstamp > 2026-01-01T00:00:10Z", 1767225610},
        {"systemmodstamp >= 2026-01-01T00:00:10.000+0000", 1767225610},
        {"SystemModstamp = 2026-01-01T00:00:10Z AND Status = 'New'", 1767225610},
        {"(SystemModstamp > 2026-01-01T00:00:10Z OR (SystemModstamp = 2026-01-01T00:00:10Z"
         " AND Id > '5005g0000000001AAA')) AND SystemModstamp < 2026-02-01T00:00:00Z",
         1767225610},
        {"SystemModstamp > 2026-01-01T00:00:20Z OR SystemModstamp = 2026-01-01T00:00:10Z",
         1767225610},
        {"SystemModstamp > 2026-01-01T00:00:10Z AND SystemModstamp > 2026-01-01T00:00:20Z",
         1767225620},
        {"SystemModstamp > 2026-01-01T00:00:10Z OR Status = 'New'", -1},
        {"NOT SystemModstamp < 2026-01-01T00:00:10Z", -1},
        {"SystemModstamp < 2026-01-01T00:00:10Z", -1},
        {"SystemModstamp != 2026-01-01T00:00:10Z", -1},
        {"LastModifiedDate > 2026-01-01T00:00:10Z", -1},
        {"SystemModstamp > LAST_N_DAYS:3", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = xasprintf("SELECT Id FROM Case WHERE %s", cases[i].where);
        soql_error err;
        soql_query *q = soql_parse(text, &err);
        if (!q)
            fail_msg("'%s' did not parse: %s", text, err.message);
        int64_t ms = 0;
        bool hint = soql_where_floor(q, "SystemModstamp", &ms);
        if (cases[i].floor < 0 ? hint : !hint || ms != cases[i].floor * 1000)
            fail_msg("'%s': hint %d at %lld", cases[i].where, hint, (long long)ms);
        soql_free(q);
        free(text);
    }
    soql_query *q = soql_parse("SELECT Id FROM Case", NULL);
    int64_t ms = 0;
    assert_false(soql_where_floor(q, "SystemModstamp", &ms));
    soql_free(q);
}

/* soql_where_keys: the index hint is offered only where every match must equal a key. */
static void test_where_keys_hint(void **state)
{
    (void)state;
    static const struct {
        const char *soql;
        const char *field; /* NULL: no hint */
        const char *keys;  /* comma-joined */
    } cases[] = {
        {"SELECT Id FROM Case WHERE Sync_Key__c IN ('a', 'B\\'c', 'd')", "Sync_Key__c", "a,B'c,d"},
        {"SELECT Id FROM Case WHERE id = 'x'", "id", "x"},
        {"SELECT Id FROM Case WHERE Status = 'New' AND Id IN ('p','q')", "Status", "New"},
        {"SELECT Id FROM Case WHERE (Status = 'New' OR Id = 'q') AND Id IN ('p')", "Id", "p"},
        {"SELECT Id FROM Case WHERE Status = 'New' OR Id = 'q'", NULL, ""},
        {"SELECT Id FROM Case WHERE NOT Id = 'q'", NULL, ""},
        {"SELECT Id FROM Case WHERE Id NOT IN ('q')", NULL, ""},
        {"SELECT Id FROM Case WHERE Id != 'q'", NULL, ""},
        {"SELECT Id FROM Case WHERE Amount__c IN (1, 2)", NULL, ""},
        {"SELECT Id FROM Case WHERE Sync_Key__c IN ('a', NULL)", NULL, ""},
        {"SELECT Id FROM Case WHERE Subject LIKE 'a%'", NULL, ""},
        {"SELECT Id FROM Case", NULL, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        soql_error err;
        soql_query *q = soql_parse(cases[i].soql, &err);
        if (!q)
            fail_msg("'%s' did not parse: %s", cases[i].soql, err.message);
        const char *field = "unset";
        size_t n = soql_where_keys(q, &field);
        strbuf sb = STRBUF_INIT;
        for (size_t k = 0; k < n; k++) {
            if (k)
                strbuf_addc(&sb, ',');
            strbuf_adds(&sb, soql_where_key(q, k));
        }
        if (cases[i].field) {
            assert_non_null(field);
            assert_string_equal(field, cases[i].field);
        } else {
            assert_null(field);
        }
        assert_string_equal(sb.len ? strbuf_str(&sb) : "", cases[i].keys);
        assert_null(soql_where_key(q, n));
        strbuf_free(&sb);
        soql_free(q);
    }
}

/* ---- evaluation ---- */

static const char *const FIXTURE =
    "["
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/1\"},\"Id\":\"c1\",\"Subject\":\"Printer "
    "jam\",\"Status\":\"New\",\"Priority\":\"High\",\"Amount__c\":10,\"IsClosed\":false,"
    "\"CreatedDate\":\"2024-01-02T03:04:05.000+0000\",\"Due__c\":\"2024-01-05\","
    "\"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Acme\"}},"
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/2\"},\"Id\":\"c2\",\"Subject\":\"printer "
    "ON FIRE\",\"Status\":\"Working\",\"Priority\":null,\"Amount__c\":2.5,\"IsClosed\":false,"
    "\"CreatedDate\":\"2024-01-02T05:00:00.000+0000\",\"Due__c\":null,\"Account\":null},"
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/3\"},\"Id\":\"c3\",\"Subject\":\"It's 100% "
    "done_ok\",\"Status\":\"Closed\",\"Amount__c\":-3,\"IsClosed\":true,"
    "\"CreatedDate\":\"2023-12-31T23:59:59.000+0000\",\"Due__c\":\"2024-01-01\","
    "\"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Beta\"}},"
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/4\"},\"Id\":\"c4\",\"Subject\":null,"
    "\"Status\":\"New\",\"Priority\":\"Low\",\"Amount__c\":10,\"IsClosed\":false,"
    "\"CreatedDate\":\"2024-01-02T03:04:05.000+0000\",\"Due__c\":\"2024-01-05\"},"
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/5\"},\"Id\":\"c5\",\"Subject\":\"caf\xc3\xa9 "
    "\\\\ back\",\"Status\":\"new\",\"Priority\":\"High\",\"Amount__c\":null,\"IsClosed\":false,"
    "\"CreatedDate\":\"2024-01-02T04:04:05.000+0100\"}"
    "]";

typedef struct eval_case {
    const char *soql;
    const char *ids; /* expected Ids in order, comma-separated */
} eval_case;

static char *run_ids(const cJSON *records, const char *soql, size_t *total)
{
    soql_error err;
    soql_query *q = soql_parse(soql, &err);
    if (!q)
        fail_msg("'%s' did not parse: %s", soql, err.message);
    cJSON *out = soql_execute(q, records, total);
    strbuf sb = STRBUF_INIT;
    const cJSON *r;
    cJSON_ArrayForEach(r, out)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "Id");
        if (sb.len)
            strbuf_addc(&sb, ',');
        strbuf_adds(&sb, cJSON_IsString(id) ? id->valuestring : "?");
    }
    cJSON_Delete(out);
    soql_free(q);
    return sb.len ? strbuf_detach(&sb) : xstrdup("");
}

static void test_eval_table(void **state)
{
    (void)state;
    static const eval_case cases[] = {
        {"SELECT Id FROM Case", "c1,c2,c3,c4,c5"},
        {"SELECT Id FROM Case WHERE Status = 'new'", "c1,c4,c5"}, /* case-insensitive */
        {"SELECT Id FROM Case WHERE status = 'NEW' AND Priority = 'high'", "c1,c5"},
        {"SELECT Id FROM Case WHERE Status != 'New'", "c2,c3"},
        {"SELECT Id FROM Case WHERE Status <> 'New' AND Status <> 'Closed'", "c2"},
        {"SELECT Id FROM Case WHERE Priority = null", "c2,c3"}, /* null and missing */
        {"SELECT Id FROM Case WHERE Priority != null", "c1,c4,c5"},
        {"SELECT Id FROM Case WHERE Priority != 'High'", "c2,c3,c4"}, /* nulls are != */
        {"SELECT Id FROM Case WHERE Priority < 'M'", "c1,c4,c5"},     /* nulls never order */
        {"SELECT Id FROM Case WHERE Amount__c > 2", "c1,c2,c4"},
        {"SELECT Id FROM Case WHERE Amount__c >= 2.5 AND Amount__c <= 2.5", "c2"},
        {"SELECT Id FROM Case WHERE Amount__c < 0", "c3"},
        {"SELECT Id FROM Case WHERE Amount__c = -3", "c3"},
        {"SELECT Id FROM Case WHERE Amount__c = 10.0", "c1,c4"},
        {"SELECT Id FROM Case WHERE IsClosed = TRUE", "c3"},
        {"SELECT Id FROM Case WHERE IsClosed = false", "c1,c2,c4,c5"},
        {"SELECT Id FROM Case WHERE NOT IsClosed = false", "c3"},
        {"SELECT Id FROM Case WHERE Subject LIKE 'printer%'", "c1,c2"},
        {"SELECT Id FROM Case WHERE Subject LIKE '%FIRE'", "c2"},
        {"SELECT Id FROM Case WHERE Subject LIKE '%jam%'", "c1"},
        {"SELECT Id FROM Case WHERE Subject LIKE 'caf_ %'", "c5"}, /* _ is one UTF-8 char */
        {"SELECT Id FROM Case WHERE Subject LIKE '%\\%%'", "c3"},  /* escaped % is literal */
        {"SELECT Id FROM Case WHERE Subject LIKE '%e\\_o%'", "c3"},
        {"SELECT Id FROM Case WHERE Subject LIKE '%\\\\%'", "c5"},
        {"SELECT Id FROM Case WHERE Subject LIKE '%'", "c1,c2,c3,c5"}, /* null never LIKE */
        {"SELECT Id FROM Case WHERE Subject LIKE 'printer'", ""},
        {"SELECT Id FROM Case WHERE Subject = 'it\\'s 100% done_ok'", "c3"},
        {"SELECT Id FROM Case WHERE Subject = 'caf\\u00e9 \\\\ back'", "c5"},
        {"SELECT Id FROM Case WHERE Status IN ('Working', 'closed')", "c2,c3"},
        {"SELECT Id FROM Case WHERE Status NOT IN ('New')", "c2,c3"},
        {"SELECT Id FROM Case WHERE Priority IN ('Low', null)", "c2,c3,c4"},
        {"SELECT Id FROM Case WHERE Priority NOT IN ('High')", "c2,c3,c4"},
        {"SELECT Id FROM Case WHERE Status = 'New' OR Amount__c < 0", "c1,c3,c4,c5"},
        {"SELECT Id FROM Case WHERE (Status = 'New' OR Amount__c < 0) AND Priority = 'High'",
         "c1,c5"},
        {"SELECT Id FROM Case WHERE Status = 'New' AND (Priority = 'Low' OR Subject LIKE 'p%')",
         "c1,c4"},
        {"SELECT Id FROM Case WHERE NOT (Status = 'New' OR Status = 'Working')", "c3"},
        {"SELECT Id FROM Case WHERE Account.Name = 'acme'", "c1"},
        {"SELECT Id FROM Case WHERE Account.Name = null", "c2,c4,c5"},
        {"SELECT Id FROM Case WHERE Missing__c = null", "c1,c2,c3,c4,c5"},
        {"SELECT Id FROM Case WHERE Missing__c = 'x'", ""},
        /* dateTime literals compare as instants against Salesforce timestamps. */
        {"SELECT Id FROM Case WHERE CreatedDate > 2024-01-02T03:04:05Z", "c2"},
        {"SELECT Id FROM Case WHERE CreatedDate >= 2024-01-02T03:04:05Z", "c1,c2,c4,c5"},
        {"SELECT Id FROM Case WHERE CreatedDate = 2024-01-02T04:04:05+01:00", "c1,c4,c5"},
        {"SELECT Id FROM Case WHERE CreatedDate < 2024-01-01T00:00:00.000Z", "c3"},
        {"SELECT Id FROM Case WHERE CreatedDate > 2024-01-01T20:00:00-08:00", "c2"},
        {"SELECT Id FROM Case WHERE Due__c = 2024-01-05", "c1,c4"},
        {"SELECT Id FROM Case WHERE Due__c < 2024-01-05", "c3"},
        /* ORDER BY: nulls first by default (both directions), stable on ties. */
        {"SELECT Id FROM Case ORDER BY Priority", "c2,c3,c1,c5,c4"},
        {"SELECT Id FROM Case ORDER BY Priority DESC", "c2,c3,c4,c1,c5"},
        {"SELECT Id FROM Case ORDER BY Priority NULLS LAST", "c1,c5,c4,c2,c3"},
        {"SELECT Id FROM Case ORDER BY Priority DESC NULLS LAST, Id DESC", "c4,c5,c1,c3,c2"},
        {"SELECT Id FROM Case ORDER BY Amount__c", "c5,c3,c2,c1,c4"},
        {"SELECT Id FROM Case ORDER BY Amount__c DESC, Id DESC", "c5,c4,c1,c2,c3"},
        {"SELECT Id FROM Case ORDER BY CreatedDate, Id", "c3,c1,c4,c5,c2"},
        {"SELECT Id FROM Case ORDER BY Subject", "c4,c5,c3,c1,c2"},
        {"SELECT Id FROM Case ORDER BY Account.Name DESC NULLS LAST", "c3,c1,c2,c4,c5"},
        /* LIMIT / OFFSET after sorting. */
        {"SELECT Id FROM Case ORDER BY Id DESC LIMIT 2", "c5,c4"},
        {"SELECT Id FROM Case ORDER BY Id LIMIT 2 OFFSET 1", "c2,c3"},
        {"SELECT Id FROM Case ORDER BY Id OFFSET 3", "c4,c5"},
        {"SELECT Id FROM Case OFFSET 9", ""},
        {"SELECT Id FROM Case LIMIT 0", ""},
    };
    cJSON *records = cJSON_Parse(FIXTURE);
    assert_non_null(records);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t total = 0;
        char *got = run_ids(records, cases[i].soql, &total);
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("case %zu '%s': got [%s] want [%s]", i, cases[i].soql, got, cases[i].ids);
        free(got);
    }
    cJSON_Delete(records);
}

/* Date literals name UTC day ranges from the clock seam; a value compares as an instant,
 * whatever offset its text carries. Now = Wednesday 2024-03-13 10:00 UTC. */
static void test_date_literals_are_utc_ranges_from_the_clock(void **state)
{
    (void)state;
    static const char RECORDS[] =
        "[{\"Id\":\"d1\",\"D\":\"2024-03-13T00:00:00.000+0000\"},"
        "{\"Id\":\"d2\",\"D\":\"2024-03-13T23:59:59.999+0000\"},"
        "{\"Id\":\"d3\",\"D\":\"2024-03-14T00:30:00.000+0100\"}," /* 03-13 23:30 UTC */
        "{\"Id\":\"d4\",\"D\":\"2024-03-12T12:00:00.000+0000\"},"
        "{\"Id\":\"d5\",\"D\":\"2024-03-14T00:00:00.000+0000\"},"
        "{\"Id\":\"d6\",\"D\":\"2024-03-06T00:00:00.000+0000\"},"
        "{\"Id\":\"d7\",\"D\":\"2024-02-29\"},"
        "{\"Id\":\"d8\",\"D\":\"2023-12-31T23:59:59.000+0000\"},"
        "{\"Id\":\"d9\",\"D\":null}]";
    static const eval_case cases[] = {
        {"SELECT Id FROM X WHERE D = TODAY", "d1,d2,d3"},
        {"SELECT Id FROM X WHERE D = today", "d1,d2,d3"},
        {"SELECT Id FROM X WHERE D = YESTERDAY", "d4"},
        {"SELECT Id FROM X WHERE D = TOMORROW", "d5"},
        {"SELECT Id FROM X WHERE D < TODAY", "d4,d6,d7,d8"},
        {"SELECT Id FROM X WHERE D <= TODAY", "d1,d2,d3,d4,d6,d7,d8"},
        {"SELECT Id FROM X WHERE D > TODAY", "d5"},
        {"SELECT Id FROM X WHERE D >= TODAY", "d1,d2,d3,d5"},
        {"SELECT Id FROM X WHERE D != TODAY", "d4,d5,d6,d7,d8,d9"},
        {"SELECT Id FROM X WHERE D = LAST_N_DAYS:1", "d1,d2,d3,d4"},
        {"SELECT Id FROM X WHERE D = LAST_N_DAYS:7", "d1,d2,d3,d4,d6"},
        {"SELECT Id FROM X WHERE D = NEXT_N_DAYS:1", "d5"},
        {"SELECT Id FROM X WHERE D = THIS_WEEK", "d1,d2,d3,d4,d5"}, /* Sun 03-10 .. */
        {"SELECT Id FROM X WHERE D = LAST_WEEK", "d6"},
        {"SELECT Id FROM X WHERE D = THIS_MONTH", "d1,d2,d3,d4,d5,d6"},
        {"SELECT Id FROM X WHERE D = LAST_MONTH", "d7"},
        {"SELECT Id FROM X WHERE D = THIS_YEAR", "d1,d2,d3,d4,d5,d6,d7"},
        {"SELECT Id FROM X WHERE D IN (YESTERDAY, TOMORROW)", "d4,d5"},
        {"SELECT Id FROM X WHERE D = LAST_90_DAYS", "d1,d2,d3,d4,d6,d7,d8"},
        {"SELECT Id FROM X WHERE D = NEXT_90_DAYS", "d5"},
        {"SELECT Id FROM X WHERE D = N_DAYS_AGO:1", "d4"},
        {"SELECT Id FROM X WHERE D = N_DAYS_AGO:7", "d6"},
        {"SELECT Id FROM X WHERE D = NEXT_WEEK", ""},
        {"SELECT Id FROM X WHERE D = LAST_N_WEEKS:1", "d6"},
        {"SELECT Id FROM X WHERE D = N_WEEKS_AGO:1", "d6"},
        {"SELECT Id FROM X WHERE D = NEXT_N_WEEKS:2", ""},
        {"SELECT Id FROM X WHERE D = LAST_N_MONTHS:3", "d7,d8"}, /* 12-01 .. 02-29 */
        {"SELECT Id FROM X WHERE D = N_MONTHS_AGO:1", "d7"},
        {"SELECT Id FROM X WHERE D = NEXT_MONTH", ""},
        {"SELECT Id FROM X WHERE D = THIS_QUARTER", "d1,d2,d3,d4,d5,d6,d7"},
        {"SELECT Id FROM X WHERE D = LAST_QUARTER", "d8"},
        {"SELECT Id FROM X WHERE D = N_QUARTERS_AGO:1", "d8"},
        {"SELECT Id FROM X WHERE D = LAST_N_QUARTERS:2", "d8"},
        {"SELECT Id FROM X WHERE D = LAST_YEAR", "d8"},
        {"SELECT Id FROM X WHERE D = LAST_N_YEARS:1", "d8"},
        {"SELECT Id FROM X WHERE D = N_YEARS_AGO:1", "d8"},
        {"SELECT Id FROM X WHERE D < LAST_N_YEARS:1", ""},
        {"SELECT Id FROM X WHERE D > NEXT_YEAR", ""},
        {"SELECT Id FROM X WHERE D < NEXT_N_QUARTERS:1", "d1,d2,d3,d4,d5,d6,d7,d8"},
    };
    time_set_override(INT64_C(1710324000000)); /* 2024-03-13T10:00:00Z */
    cJSON *records = cJSON_Parse(RECORDS);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_ids(records, cases[i].soql, NULL);
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("%s: got '%s', want '%s'", cases[i].soql, got, cases[i].ids);
        free(got);
    }
    /* Thursday 2024-01-04: LAST_MONTH and LAST_WEEK cross the year. */
    time_set_override(INT64_C(1704362400000)); /* 2024-01-04T10:00:00Z */
    char *got = run_ids(records, "SELECT Id FROM X WHERE D = LAST_MONTH", NULL);
    assert_string_equal(got, "d8");
    free(got);
    got = run_ids(records, "SELECT Id FROM X WHERE D = THIS_WEEK", NULL); /* Sun 12-31 .. */
    assert_string_equal(got, "d8");
    free(got);
    time_set_override(0);
    cJSON_Delete(records);
    static const char *const bad[] = {
        "SELECT Id FROM X WHERE D = LAST_N_DAYS",      "SELECT Id FROM X WHERE D = LAST_N_DAYS:",
        "SELECT Id FROM X WHERE D = LAST_N_DAYS:x",    "SELECT Id FROM X WHERE D = TODAY:3",
        "SELECT Id FROM X WHERE D = NEXT_N_DAYS:-1",   "SELECT Id FROM X WHERE D = SOMEDAY",
        "SELECT Id FROM X WHERE D = N_DAYS_AGO",       "SELECT Id FROM X WHERE D = LAST_YEAR:2",
        "SELECT Id FROM X WHERE D = THIS_FISCAL_YEAR",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        soql_error err;
        memset(&err, 0, sizeof err);
        soql_query *q = soql_parse(bad[i], &err);
        if (q)
            fail_msg("parsed: %s", bad[i]);
        assert_string_equal(err.code, "MALFORMED_QUERY");
    }
}

static void test_execute_total_count_and_aggregate(void **state)
{
    (void)state;
    cJSON *records = cJSON_Parse(FIXTURE);
    size_t total = 0;
    char *ids = run_ids(records, "SELECT Id FROM Case WHERE Status = 'New' LIMIT 1", &total);
    assert_string_equal(ids, "c1");
    assert_int_equal(total, 1); /* Salesforce's totalSize counts LIMIT */
    free(ids);
    ids = run_ids(records, "SELECT Id FROM Case ORDER BY Id OFFSET 1", &total);
    assert_string_equal(ids, "c2,c3,c4,c5");
    assert_int_equal(total, 4);
    free(ids);

    /* COUNT(): Salesforce answers totalSize = count and records = []. */
    soql_query *q = soql_parse("SELECT COUNT() FROM Case WHERE Status = 'New'", NULL);
    cJSON *out = soql_execute(q, records, &total);
    assert_int_equal(cJSON_GetArraySize(out), 0);
    assert_int_equal(total, 3);
    cJSON_Delete(out);
    soql_free(q);

    /* COUNT(field) counts non-null values, as one AggregateResult row "expr0". */
    q = soql_parse("SELECT COUNT(Priority) FROM Case", NULL);
    out = soql_execute(q, records, &total);
    assert_int_equal(total, 1);
    assert_int_equal(cJSON_GetArraySize(out), 1);
    const cJSON *row = cJSON_GetArrayItem(out, 0);
    assert_int_equal(cJSON_GetObjectItem(row, "expr0")->valueint, 3);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(row, "attributes"), "type")->valuestring,
        "AggregateResult");
    cJSON_Delete(out);
    soql_free(q);

    /* Not an array: no rows, no crash. */
    q = soql_parse("SELECT Id FROM Case", NULL);
    cJSON *notarr = cJSON_CreateObject();
    out = soql_execute(q, notarr, &total);
    assert_int_equal(total, 0);
    assert_int_equal(cJSON_GetArraySize(out), 0);
    cJSON_Delete(out);
    cJSON_Delete(notarr);
    soql_free(q);
    cJSON_Delete(records);
}

static void test_ids_match_in_15_and_18_char_form(void **state)
{
    (void)state;
    cJSON *rec = cJSON_Parse("{\"Id\":\"001D000000IqhSLIAZ\",\"ParentId\":\"001D000000IqhSL\"}");
    static const struct {
        const char *where;
        bool match;
    } cases[] = {
        {"Id = '001D000000IqhSL'", true},
        {"Id = '001D000000IqhSLIAZ'", true},
        {"Id = '001d000000iqhsliaz'", true}, /* 18-char form is case-safe */
        {"Id = '001D000000IqhSl'", false},   /* 15-char form is case-sensitive */
        {"Id IN ('x', '001D000000IqhSL')", true},
        {"ParentId = '001D000000IqhSLIAZ'", true},
        {"ParentId != '001D000000IqhSLIAZ'", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = xasprintf("SELECT Id FROM Account WHERE %s", cases[i].where);
        soql_query *q = soql_parse(text, NULL);
        assert_non_null(q);
        if (soql_matches(q, rec) != cases[i].match)
            fail_msg("case %zu: %s", i, cases[i].where);
        soql_free(q);
        free(text);
    }
    cJSON_Delete(rec);
}

static void test_execute_projects_select_list(void **state)
{
    (void)state;
    cJSON *records = cJSON_Parse(FIXTURE);
    /* Query spelling differs in case: output keeps the record's spelling, attributes
     * first, Id only when selected, missing fields and empty relationships as null. */
    soql_query *q = soql_parse("SELECT subject, ACCOUNT.name, Nope__c, account.Missing__c "
                               "FROM Case WHERE Id IN ('c1','c2','c5') ORDER BY Id",
                               NULL);
    size_t total;
    cJSON *out = soql_execute(q, records, &total);
    char *text = json_print(out);
    assert_string_equal(
        text, "[{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/1\"},\"Subject\":\"Printer jam\","
              "\"Account\":{\"attributes\":{\"type\":\"Account\"},\"Name\":\"Acme\","
              "\"Missing__c\":null},\"Nope__c\":null},"
              "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/2\"},\"Subject\":\"printer ON "
              "FIRE\",\"Account\":null,\"Nope__c\":null},"
              "{\"attributes\":{\"type\":\"Case\",\"url\":\"/c/5\"},\"Subject\":\"caf\xc3\xa9 "
              "\\\\ back\",\"ACCOUNT\":null,\"Nope__c\":null}]");
    free(text);
    cJSON_Delete(out);
    soql_free(q);
    cJSON_Delete(records);
}

static bool known_case_field(const char *field, void *ctx)
{
    int *calls = ctx;
    (*calls)++;
    static const char *const known[] = {"Id", "Subject", "Status", "Account.Name"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (soql_strcasecmp(field, known[i]) == 0)
            return true;
    return false;
}

static void test_check_fields(void **state)
{
    (void)state;
    int calls = 0;
    soql_error err;
    soql_query *q = soql_parse("SELECT Id, account.name FROM Case WHERE Status = 'New' AND "
                               "(Subject LIKE 'a%' OR NOT Id IN ('x')) ORDER BY Subject",
                               NULL);
    assert_true(soql_check_fields(q, known_case_field, &calls, &err));
    assert_int_equal(calls, 6); /* select 2 + where 3 + order 1 */
    soql_free(q);

    q = soql_parse("SELECT Id FROM Case WHERE Status = 'New' ORDER BY Bogus", NULL);
    assert_true(soql_check_fields(q, known_case_field, &calls, &err) == false);
    soql_free(q);

    q = soql_parse("SELECT Id, Subjct FROM Case", NULL);
    assert_false(soql_check_fields(q, known_case_field, &calls, &err));
    assert_string_equal(err.code, "INVALID_FIELD");
    assert_string_equal(err.message,
                        "SELECT Id, Subjct FROM Case\n           ^\nERROR at Row:1:Column:12\n"
                        "No such column 'Subjct' on entity 'Case'. If you are attempting to use "
                        "a custom field, be sure to append the '__c' after the custom field "
                        "name. Please reference your WSDL or the describe call for the "
                        "appropriate names.");
    soql_free(q);

    q = soql_parse("SELECT COUNT(Nope) FROM Case", NULL);
    assert_false(soql_check_fields(q, known_case_field, &calls, &err));
    assert_non_null(strstr(err.message, "No such column 'Nope'"));
    soql_free(q);
}

/* soql_check_values: describe types of a few Case fields; unknown names are not checked. */
static const char *case_field_type(const char *field, void *ctx)
{
    (void)ctx;
    static const char *const types[][2] = {{"Id", "id"},
                                           {"Subject", "string"},
                                           {"IsClosed", "boolean"},
                                           {"CreatedDate", "datetime"},
                                           {"Amount__c", "double"},
                                           {"Due__c", "date"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (soql_strcasecmp(field, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

static bool values_fit(const char *text, soql_error *err)
{
    soql_query *q = soql_parse(text, NULL);
    assert_non_null(q);
    bool ok = soql_check_values(q, case_field_type, NULL, err);
    soql_free(q);
    return ok;
}

static void test_check_values(void **state)
{
    (void)state;
    soql_error err;
    assert_true(values_fit("SELECT Id FROM Case WHERE CreatedDate > 2020-01-01T00:00:00Z AND "
                           "(IsClosed = false OR Subject IN ('a', null)) AND Amount__c > 5 AND "
                           "Due__c = LAST_N_DAYS:3 AND Due__c < 2020-01-01 AND Other = 1",
                           &err));
    assert_true(values_fit("SELECT Subject, COUNT(Id) FROM Case GROUP BY Subject "
                           "HAVING COUNT(Id) > 1 AND Subject != null",
                           &err));
    assert_false(values_fit("SELECT Id FROM Case WHERE CreatedDate > '2020-01-01'", &err));
    assert_string_equal(err.code, "INVALID_FIELD");
    assert_string_equal(err.message, "SELECT Id FROM Case WHERE CreatedDate > '2020-01-01'\n"
                                     "                          ^\nERROR at Row:1:Column:27\n"
                                     "value of filter criterion for field 'CreatedDate' must be "
                                     "of type dateTime and should not be enclosed in quotes");
    assert_false(values_fit("SELECT Id FROM Case WHERE Amount__c = '5'", &err));
    assert_non_null(strstr(err.message, "must be of type double and should not be"));
    assert_false(values_fit("SELECT Id FROM Case WHERE Due__c = 2020-01-01T00:00:00Z", &err));
    assert_non_null(strstr(err.message, "must be of type date and should not be"));
    assert_false(values_fit("SELECT Id FROM Case WHERE NOT Subject IN ('a', TRUE)", &err));
    assert_non_null(strstr(err.message, "must be of type string and should be enclosed"));
    assert_false(values_fit("SELECT Subject FROM Case GROUP BY Subject HAVING Subject = 1", &err));
    assert_false(values_fit("SELECT Id FROM Case WHERE Id = '50000000000000'", &err));
    assert_string_equal(err.code, "INVALID_QUERY_FILTER_OPERATOR");
    assert_non_null(strstr(err.message, "invalid ID field: 50000000000000"));
    assert_true(values_fit("SELECT Id FROM Case WHERE Id IN ('500000000000000', "
                           "'500000000000000aaa')",
                           &err));
}

static bool no_long_text(const char *field, soql_field_use use, void *ctx)
{
    (void)ctx;
    return soql_strcasecmp(field, "Description") != 0 &&
           !(use == SOQL_USE_GROUP && soql_strcasecmp(field, "CreatedDate") == 0);
}

static bool usage_ok(const char *text, soql_error *err)
{
    soql_query *q = soql_parse(text, NULL);
    assert_non_null(q);
    bool ok = soql_check_usage(q, no_long_text, NULL, err);
    soql_free(q);
    return ok;
}

static void test_check_usage(void **state)
{
    (void)state;
    soql_error err;
    assert_true(usage_ok("SELECT Description FROM Case WHERE CreatedDate = TODAY "
                         "ORDER BY CreatedDate",
                         &err));
    assert_true(usage_ok("SELECT Status, COUNT(Description) FROM Case GROUP BY Status "
                         "HAVING COUNT(Description) > 1 ORDER BY COUNT(Description)",
                         &err));
    assert_false(usage_ok("SELECT Id FROM Case WHERE NOT (Description = 'x')", &err));
    assert_string_equal(err.code, "INVALID_FIELD");
    assert_non_null(strstr(err.message, "ERROR at Row:1:Column:32\nfield 'Description' can "
                                        "not be filtered in a query call"));
    assert_false(usage_ok("SELECT Id FROM Case ORDER BY Subject, Description DESC", &err));
    assert_string_equal(err.code, "MALFORMED_QUERY");
    assert_non_null(strstr(err.message, "can not be sorted"));
    assert_false(usage_ok("SELECT CreatedDate FROM Case GROUP BY CreatedDate", &err));
    assert_non_null(strstr(err.message, "field 'CreatedDate' can not be grouped"));
}

/* ---- soql_quote round trip (property test) ---- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fixed seed, reproducible from the printed value. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static char *random_value(uint64_t *seed)
{
    static const char *const pieces[] = {
        "'",       "\"",   "\\",       "\\'",          "%",
        "_",       "\n",   "\r",       "\t",           "\b",
        "\f",      "\x01", "\x1f",     "\x7f",         "a",
        "Z",       " ",    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\\u0041", "''",   "\\n",      "AND",          "OR ",
        ")",       "(",    "--",       "/*",           "\xe4\xb8\xad",
    };
    strbuf sb = STRBUF_INIT;
    size_t n = rng_next(seed) % 24;
    for (size_t i = 0; i < n; i++)
        strbuf_adds(&sb, pieces[rng_next(seed) % (sizeof pieces / sizeof pieces[0])]);
    return sb.len ? strbuf_detach(&sb) : xstrdup("");
}

static void test_quote_round_trip_property(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed50c1ULL;
    print_message("soql_quote property seed: 0x%llx\n", (unsigned long long)seed);
    for (int iter = 0; iter < 3000; iter++) {
        char *value = random_value(&seed), *lit = soql_quote(value);
        char *text = xasprintf("SELECT Id FROM Case WHERE Subject = %s", lit);
        soql_error err;
        soql_query *q = soql_parse(text, &err);
        if (!q)
            fail_msg("iter %d: %s did not parse: %s", iter, text, err.message);
        /* The decoded literal is byte-identical to the value... */
        const struct soql_lit *l = &q->where->lits[0];
        assert_int_equal(l->len, strlen(value));
        assert_memory_equal(l->str, value, l->len);
        /* ...and matches a record holding exactly that value. */
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "Subject", value);
        assert_true(soql_matches(q, rec));
        cJSON_Delete(rec);
        soql_free(q);
        free(text);
        free(lit);
        free(value);
    }
}

/* The docs/salesforce.md#query, decoded outside LIKE. */
static void test_literal_escapes_decode(void **state)
{
    (void)state;
    static const struct {
        const char *literal, *value;
    } cases[] = {
        {"'a\\nb'", "a\nb"},
        {"'\\N\\R\\T\\B\\F'", "\n\r\t\b\f"},
        {"'\\r\\t\\b\\f'", "\r\t\b\f"},
        {"'\\\"\\'\\\\'", "\"'\\"},
        {"'\\u00e9\\u20AC'", "\xc3\xa9\xe2\x82\xac"},
        {"'\\uD83D\\uDE00'", "\xf0\x9f\x98\x80"},
        {"'a\\_b\\%'", "a\\_b\\%"}, /* only LIKE gives \_ \% meaning */
        {"'100%_'", "100%_"},
        {"''", ""},
        {"'raw\nnewline'", "raw\nnewline"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = xasprintf("SELECT Id FROM Case WHERE Subject = %s", cases[i].literal);
        soql_error err;
        soql_query *q = soql_parse(text, &err);
        if (!q)
            fail_msg("case %zu %s: %s", i, cases[i].literal, err.message);
        assert_string_equal(q->where->lits[0].str, cases[i].value);
        soql_free(q);
        free(text);
    }
    /* Lone or reversed surrogates are not characters. */
    assert_null(soql_parse("SELECT Id FROM Case WHERE a = '\\uDE00'", NULL));
    assert_null(soql_parse("SELECT Id FROM Case WHERE a = '\\uD83Dx'", NULL));
    assert_null(soql_parse("SELECT Id FROM Case WHERE a = '\\U00e9'", NULL));
}

/* A soql_quote_like pattern matches exactly its value, % and _ included, and nothing else. */
static void test_quote_like_matches_literally(void **state)
{
    (void)state;
    static const char *const values[] = {"100% done_ok", "a_b", "%", "it's \\ %_", ""};
    static const char *const others[] = {"100x done ok", "axb", "x", "it's \\ ab", "z"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *lit = soql_quote_like(values[i]);
        char *text = xasprintf("SELECT Id FROM Case WHERE Subject LIKE %s", lit);
        soql_query *q = soql_parse(text, NULL);
        assert_non_null(q);
        cJSON *hit = cJSON_CreateObject(), *miss = cJSON_CreateObject();
        cJSON_AddStringToObject(hit, "Subject", values[i]);
        cJSON_AddStringToObject(miss, "Subject", others[i]);
        assert_true(soql_matches(q, hit));
        assert_false(soql_matches(q, miss));
        cJSON_Delete(hit);
        cJSON_Delete(miss);
        soql_free(q);
        free(text);
        free(lit);
    }
    char *s = soql_quote_like("50%_x");
    assert_string_equal(s, "'50\\%\\_x'");
    free(s);
}

static void test_quote_examples(void **state)
{
    (void)state;
    char *s = soql_quote("Bob's \\ \"BBQ\"\n%_");
    assert_string_equal(s, "'Bob\\'s \\\\ \\\"BBQ\\\"\\n%_'");
    free(s);
    s = soql_quote("");
    assert_string_equal(s, "''");
    free(s);
    s = soql_quote("\x01");
    assert_string_equal(s, "'\\u0001'");
    free(s);
}

typedef struct agg_case {
    const char *soql;
    const char *rows; /* the output array, unformatted */
} agg_case;

/* GROUP BY / COUNT(field) / HAVING / ORDER BY COUNT: AggregateResult rows with Salesforce's
 * keys (alias, else exprN per unaliased COUNT, else the field's last segment). */
static void test_aggregate_queries_answer_aggregate_results(void **state)
{
    (void)state;
#define AR "{\"attributes\":{\"type\":\"AggregateResult\"},"
    static const agg_case cases[] = {
        /* Groups in key order; New and new are one group shown as "New". */
        {"SELECT Status, COUNT(Id) FROM Case GROUP BY Status",
         "[" AR "\"Status\":\"Closed\",\"expr0\":1}," AR "\"Status\":\"New\",\"expr0\":3}," AR
         "\"Status\":\"Working\",\"expr0\":1}]"},
        /* The null group (null and missing alike), aliases, HAVING, ORDER BY COUNT DESC
         * with ties in key order, nulls first. */
        {"SELECT Priority p, COUNT(Id) n, COUNT(Subject) FROM Case GROUP BY Priority "
         "HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
         "[" AR "\"p\":null,\"n\":2,\"expr0\":2}," AR "\"p\":\"High\",\"n\":2,\"expr0\":2}]"},
        /* No GROUP BY: one row, even over no rows. */
        {"SELECT COUNT(Id), COUNT(Priority) pc, COUNT(Subject) FROM Case WHERE Status = 'x'",
         "[" AR "\"expr0\":0,\"pc\":0,\"expr1\":0}]"},
        {"SELECT COUNT(Subject) FROM Case", "[" AR "\"expr0\":4}]"},
        /* A relationship field groups by its value and is keyed by its last segment. */
        {"SELECT Account.Name, COUNT(Id) FROM Case GROUP BY Account.Name LIMIT 2 OFFSET 1",
         "[" AR "\"Name\":\"Acme\",\"expr0\":1}," AR "\"Name\":\"Beta\",\"expr0\":1}]"},
        /* GROUP BY alone lists the distinct values; HAVING on a grouped field. */
        {"SELECT Status FROM Case GROUP BY Status HAVING Status != 'Working' ORDER BY Status DESC",
         "[" AR "\"Status\":\"New\"}," AR "\"Status\":\"Closed\"}]"},
        {"SELECT Status, COUNT(Id) FROM Case WHERE Amount__c = 10 GROUP BY Status, Priority "
         "ORDER BY Priority",
         "[" AR "\"Status\":\"New\",\"expr0\":1}," AR "\"Status\":\"New\",\"expr0\":1}]"},
    };
#undef AR
    cJSON *records = cJSON_Parse(FIXTURE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        soql_error err;
        soql_query *q = soql_parse(cases[i].soql, &err);
        if (!q)
            fail_msg("'%s' did not parse: %s", cases[i].soql, err.message);
        assert_true(soql_is_aggregate(q));
        size_t total = 0;
        cJSON *out = soql_execute(q, records, &total);
        char *text = cJSON_PrintUnformatted(out);
        if (strcmp(text, cases[i].rows) != 0)
            fail_msg("%s\ngot:  %s\nwant: %s", cases[i].soql, text, cases[i].rows);
        assert_int_equal(total, (size_t)cJSON_GetArraySize(out));
        free(text);
        cJSON_Delete(out);
        soql_free(q);
    }
    cJSON_Delete(records);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_subset),
        cmocka_unit_test(test_parse_rejects_with_salesforce_messages),
        cmocka_unit_test(test_parse_error_layout_has_caret_row_column),
        cmocka_unit_test(test_parse_limits_depth_and_length),
        cmocka_unit_test(test_parse_accessors),
        cmocka_unit_test(test_where_keys_hint),
        cmocka_unit_test(test_where_floor_hint),
        cmocka_unit_test(test_eval_table),
        cmocka_unit_test(test_date_literals_are_utc_ranges_from_the_clock),
        cmocka_unit_test(test_execute_total_count_and_aggregate),
        cmocka_unit_test(test_execute_projects_select_list),
        cmocka_unit_test(test_ids_match_in_15_and_18_char_form),
        cmocka_unit_test(test_check_fields),
        cmocka_unit_test(test_quote_round_trip_property),
        cmocka_unit_test(test_quote_examples),
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_check_usage),
        cmocka_unit_test(test_literal_escapes_decode),
        cmocka_unit_test(test_quote_like_matches_literally),
        cmocka_unit_test(test_aggregate_queries_answer_aggregate_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
