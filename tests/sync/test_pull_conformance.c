/* The pull against a server that is not our emulator (issue 9 audit): script_server.c
 * answers each request with a reply written here by hand in the shapes Salesforce
 * documents (docs/salesforce.md#query, #getdeleted), or with what a misbehaving server
 * might send. Each test checks what the agent asked for, what the mirror holds and what
 * the pull state says afterwards. Nothing leaves 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "script_server.h"
#include "store/pull.h"
#include "sync/client/config_internal.h"
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

typedef struct conf {
    pinned_fixture p; /* database, clock pinned (and an idle emulator) */
    script_server *srv;
} conf;

#define DESCRIBE_GLOBAL                                                                            \
    "{\"encoding\":\"UTF-8\",\"maxBatchSize\":200,\"sobjects\":[{\"name\":\"Case\","               \
    "\"keyPrefix\":\"500\",\"queryable\":true}]}"
#define DESCRIBE_CASE                                                                              \
    "{\"name\":\"Case\",\"keyPrefix\":\"500\",\"fields\":["                                        \
    "{\"name\":\"Id\",\"type\":\"id\",\"length\":18},"                                             \
    "{\"name\":\"SystemModstamp\",\"type\":\"datetime\"},"                                         \
    "{\"name\":\"CaseNumber\",\"type\":\"string\",\"length\":30},"                                 \
    "{\"name\":\"Subject\",\"type\":\"string\",\"length\":255}]}"

/* A Case record as a query page holds it. */
#define CASE(id, stamp, subject)                                                                   \
    "{\"attributes\":{\"type\":\"Case\",\"url\":\"/services/data/v62.0/sobjects/Case/" id "\"},"   \
    "\"Id\":\"" id "\",\"SystemModstamp\":\"" stamp                                                \
    "\",\"CaseNumber\":null,\"Subject\":\"" subject "\"}"

#define ID1 "500RO00000A1b2cYAB"
#define ID2 "500RO00000A1b2dYAB"
#define ID3 "500RO00000A1b2eYAB"
#define ID4 "500RO00000A1b2fYAB"

#define T0 "2026-11-30T10:00:00.000+0000"
#define T1 "2026-11-30T10:00:01.000+0000"
#define T2 "2026-11-30T10:00:02.000+0000"
#define T3 "2026-11-30T10:00:03.000+0000"

#define NEXT "/services/data/v62.0/query/01gRO0000016PIAYA2-2000"
#define DELETED_NONE                                                                               \
    "{\"deletedRecords\":[],\"earliestDateAvailable\":\"2026-11-01T00:00:00.000+0000\","           \
    "\"latestDateCovered\":\"2026-11-30T09:59:00.000+0000\"}"

static int setup_with(void **state, const char *extra)
{
    conf *c = xcalloc(1, sizeof *c);
    void *p = NULL;
    if (pinned_fixture_new(&p, extra) != 0)
        return -1;
    c->p = *(pinned_fixture *)p;
    free(p);
    if (!(c->srv = script_server_start()))
        return -1;
    sfa_config_free(c->p.f.cfg);
    c->p.f.cfg = push_fixture_config(script_server_url(c->srv), extra);
    *state = c;
    return c->p.f.cfg ? 0 : -1;
}

static int setup(void **state)
{
    return setup_with(state, "objects = Case\n[pull.Case]\nfields = Subject\n");
}

static int teardown(void **state)
{
    conf *c = *state;
    push_fixture_teardown(&c->p.f);
    time_set_override(0);
    script_server_stop(c->srv);
    free(c);
    return 0;
}

static sfa_status pull(conf *c, const script_reply *script, size_t n, sfa_sync_report *rep)
{
    script_server_set(c->srv, script, n);
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.pull_only = true;
    sfa_status st = sfa_sync_run(rep, c->p.f.agent, c->p.f.cfg, &o);
    if (st != SFA_OK)
        fprintf(stderr, "pull: %s: %s\n", sfa_strerror(st), rep->message);
    return st;
}

/* The first pull of a test: both describes, one page, no deletes; it must succeed. */
static void first_pull(conf *c, sfa_sync_report *rep, const char *page)
{
    const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, page},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, rep), SFA_OK);
}

static size_t cached(conf *c)
{
    return push_fixture_cached(&c->p.f, "Case");
}

static bool has_record(conf *c, const char *id)
{
    sfa_record *r = NULL;
    sfa_status st = sfa_record_get(&r, c->p.f.agent, "Case", id);
    sfa_record_free(r);
    return st == SFA_OK;
}

/* The i-th scripted request (caller frees); fails the test when there is none. */
static char *request(conf *c, size_t i)
{
    char *r = script_server_request(c->srv, i);
    if (!r)
        fail_msg("no request %zu", i);
    return r;
}

static void assert_request_has(conf *c, size_t i, const char *needle)
{
    char *r = request(c, i);
    if (!strstr(r, needle))
        fail_msg("request %zu is '%s', without '%s'", i, r, needle);
    free(r);
}

static void assert_mark(conf *c, const char *stamp, const char *id)
{
    store_pull_state ps;
    assert_int_equal(store_pull_state_get(&ps, c->p.f.agent, "Case"), SFA_OK);
    int64_t want = 0, got = 0;
    assert_true(time_parse_sf(stamp, &want));
    assert_non_null(ps.mark_modstamp);
    assert_true(time_parse_sf(ps.mark_modstamp, &got));
    assert_int_equal(got, want);
    assert_string_equal(ps.mark_id, id);
    store_pull_state_clear(&ps);
}

/* 1. The relative nextRecordsUrl as Salesforce sends it is followed verbatim on the
 *    instance; a page smaller than asked for and a totalSize that changes between pages
 *    are normal. */
static void test_relative_next_url_small_pages(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"" NEXT
         "\",\"records\":[" CASE(ID1, T1, "a") "," CASE(ID2, T1, "b") "]}"},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":4,\"done\":true,\"records\":[" CASE(ID3, T2, "c") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 3);
    assert_int_equal(cached(c), 3);
    assert_request_has(c, 2, "GET /services/data/v");
    assert_request_has(c, 2, "/query?q=SELECT Id, SystemModstamp, CaseNumber, Subject FROM Case");
    char *r = request(c, 3);
    assert_string_equal(r, "GET " NEXT);
    free(r);
    assert_mark(c, T2, ID3);
}

/* 1b. A nextRecordsUrl naming another host is refused: the bearer token goes nowhere
 *     else. The page before it stays; the run says the query did not finish. */
static void test_next_url_on_another_host_is_refused(void **state)
{
    conf *c = *state;
    script_server *other = script_server_start();
    assert_non_null(other);
    static const script_reply elsewhere[] = {{200, NULL, NULL, NULL, "{}"}};
    script_server_set(other, elsewhere, 1);
    char *page = xasprintf("{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"%s" NEXT
                           "\",\"records\":[" CASE(ID1, T1, "a") "]}",
                           script_server_url(other));
    script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, page},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    sfa_sync_report rep;
    assert_int_not_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_OK);
    assert_int_equal(script_server_requests(other), 0);
    assert_true(has_record(c, ID1));
    assert_mark(c, T1, ID1);
    script_server_stop(other);
    free(page);
}

/* 1b'. An absolute nextRecordsUrl on the instance itself is followed. */
static void test_next_url_absolute_on_the_instance_is_followed(void **state)
{
    conf *c = *state;
    char *page = xasprintf("{\"totalSize\":2,\"done\":false,\"nextRecordsUrl\":\"%s" NEXT
                           "\",\"records\":[" CASE(ID1, T1, "a") "]}",
                           script_server_url(c->srv));
    script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, page},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID2, T2, "b") "]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 4, &rep), SFA_OK);
    char *r = request(c, 3);
    assert_string_equal(r, "GET " NEXT);
    free(r);
    assert_int_equal(cached(c), 2);
    free(page);
}

/* 1c. done:true with a nextRecordsUrl anyway: the query is over (Salesforce sends none
 *     on the last page); the URL is not asked for. */
static void test_done_true_ignores_next_url(void **state)
{
    conf *c = *state;
    sfa_sync_report rep;
    first_pull(c, &rep,
               "{\"totalSize\":1,\"done\":true,\"nextRecordsUrl\":\"" NEXT
               "\",\"records\":[" CASE(ID1, T1, "a") "]}");
    assert_int_equal(cached(c), 1);
    assert_int_equal(script_server_requests(c->srv), 3); /* describes and the one page */
}

/* 1d. done:false without a nextRecordsUrl: the page is kept and the mark names its last
 *     record, but the query did not end as Salesforce ends one, so the run says so (it
 *     must not look like a complete pull). */
static void test_done_false_without_next_url_is_an_error(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":9,\"done\":false,\"records\":[" CASE(ID1, T1, "a") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_ESERVER);
    assert_non_null(strstr(rep.message, "nextRecordsUrl"));
    assert_true(has_record(c, ID1));
    assert_mark(c, T1, ID1);
}

/* 1e. An empty page with done:false is followed; a server that keeps answering empty
 *     pages (here the same locator over and over) does not keep the agent forever. */
static void test_empty_pages_followed_but_not_forever(void **state)
{
    conf *c = *state;
    static const script_reply ok[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":false,\"nextRecordsUrl\":\"" NEXT "\",\"records\":[]}"},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, ok, sizeof ok / sizeof *ok, &rep), SFA_OK);
    assert_int_equal(cached(c), 1);
    static const script_reply loop[] = {
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":false,\"nextRecordsUrl\":\"" NEXT "\",\"records\":[]}"},
    };
    assert_int_equal(pull(c, loop, sizeof loop / sizeof *loop, &rep), SFA_ESERVER);
    assert_true(script_server_requests(c->srv) < 100);
    assert_true(has_record(c, ID1));
    assert_mark(c, T1, ID1);
}

/* 2. Ties across a page boundary: the next query asks strictly after (stamp, Id) of the
 *    last committed record. Timestamps as "Z", "+0000" and with milliseconds other than
 *    .000 are the same instants. */
static void test_mark_formats_and_ties(void **state)
{
    conf *c = *state;
    sfa_sync_report rep;
    first_pull(c, &rep,
               "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(
                   ID1, "2026-11-30T10:00:01.250Z",
                   "a") "," CASE(ID2, "2026-11-30T10:00:01.250+0000", "b") "]}");
    assert_mark(c, "2026-11-30T10:00:01.250Z", ID2);
    static const script_reply second[] = {
        {200, NULL, NULL, NULL, "{\"totalSize\":0,\"done\":true,\"records\":[]}"},
    };
    pinned_fixture_advance(&c->p, 120 * 1000);
    assert_int_equal(pull(c, second, sizeof second / sizeof *second, &rep),
                     SFA_ESERVER); /* no getDeleted answer */
    assert_request_has(c, 0,
                       "(SystemModstamp > 2026-11-30T10:00:01Z OR (SystemModstamp = "
                       "2026-11-30T10:00:01Z AND Id > '" ID2 "'))");
}

/* 2b. A record older than the mark (a late commit, or a server that ignores the filter)
 *     is merged, but the mark never moves back: what was committed is not asked again. */
static void test_mark_never_moves_back(void **state)
{
    conf *c = *state;
    sfa_sync_report rep;
    first_pull(c, &rep, "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID3, T3, "c") "]}");
    static const script_reply late[] = {
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T0, "late") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    assert_int_equal(pull(c, late, sizeof late / sizeof *late, &rep), SFA_OK);
    assert_true(has_record(c, ID1));
    assert_mark(c, T3, ID3);
}

/* 2c. Records out of (SystemModstamp, Id) order inside a page: the mark would name a
 *     record before others of the page, or after records not yet seen; the page is
 *     refused whole and nothing already stored is lost. */
static void test_page_out_of_order_is_refused(void **state)
{
    conf *c = *state;
    sfa_sync_report rep;
    first_pull(c, &rep, "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "]}");
    static const script_reply bad[] = {
        {200, NULL, NULL, NULL,
         "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID3, T3, "c") "," CASE(ID2, T2,
                                                                                    "b") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    assert_int_equal(pull(c, bad, sizeof bad / sizeof *bad, &rep), SFA_ESERVER);
    assert_non_null(strstr(rep.message, "order"));
    assert_false(has_record(c, ID3));
    assert_true(has_record(c, ID1));
    assert_mark(c, T1, ID1);
}

/* 3. INVALID_QUERY_LOCATOR (400 or 404, Salesforce's error array) restarts the query
 *    from the committed mark. */
static void test_invalid_locator_restarts_from_mark(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"" NEXT
         "\",\"records\":[" CASE(ID1, T1, "a") "]}"},
        {404, NULL, NULL, NULL,
         "[{\"errorCode\":\"INVALID_QUERY_LOCATOR\",\"message\":\"invalid query locator\"}]"},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":2,\"done\":false,\"nextRecordsUrl\":\"" NEXT
         "\",\"records\":[" CASE(ID2, T1, "b") "]}"},
        {400, NULL, NULL, NULL,
         "[{\"errorCode\":\"INVALID_QUERY_LOCATOR\",\"message\":\"invalid query locator\"}]"},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID3, T2, "c") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_OK);
    assert_int_equal(cached(c), 3);
    assert_request_has(c, 4, "Id > '" ID1 "'");
    assert_request_has(c, 6, "Id > '" ID2 "'");
    assert_mark(c, T2, ID3);
}

/* 1f. A nextRecordsUrl that is not a URL path (white space, control characters, another
 *     scheme) is refused as the server's error, not taken for a network failure. */
static void test_next_url_not_a_url_is_refused(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"/services/data/v62.0/query/01g "
         "x\\r\\nHost: evil\",\"records\":[" CASE(ID1, T1, "a") "]}"},
        {200, NULL, NULL, NULL, "{\"totalSize\":0,\"done\":true,\"records\":[]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_ESERVER);
    assert_non_null(strstr(rep.message, "nextRecordsUrl"));
    assert_int_equal(script_server_requests(c->srv), 3);
    assert_true(has_record(c, ID1));
}

/* ---- deletes ---- */

/* A first pull of ID1 and ID2 (deletes then known from a minute before the pinned now),
 * then the clock moved on by `minutes`. */
static void pull_two(conf *c, int minutes)
{
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "," CASE(ID2, T2,
                                                                                    "b") "]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_OK);
    assert_int_equal(script_server_requests(c->srv), 3); /* no getDeleted within the minute */
    assert_int_equal(cached(c), 2);
    pinned_fixture_advance(&c->p, (int64_t)minutes * 60 * 1000);
}

/* The deletes window as the store holds it. */
static int64_t deletes_checked(conf *c)
{
    store_pull_state ps;
    int64_t ms = 0;
    assert_int_equal(store_pull_state_get(&ps, c->p.f.agent, "Case"), SFA_OK);
    assert_true(ps.deletes_checked && time_parse_sf(ps.deletes_checked, &ms));
    store_pull_state_clear(&ps);
    return ms;
}

static const char EMPTY_PAGE[] = "{\"totalSize\":0,\"done\":true,\"records\":[]}";

/* 4. getDeleted is asked only when start precedes end by more than a minute (seconds
 *    dropped: Salesforce refuses shorter windows with INVALID_REPLICATION_DATE, which
 *    used to cost a full reconciliation); its latestDateCovered is the next start. */
static void test_deleted_window_and_latest_date_covered(void **state)
{
    conf *c = *state;
    pull_two(c, 1);
    int64_t since = deletes_checked(c);
    static const script_reply early[] = {{200, NULL, NULL, NULL, EMPTY_PAGE}};
    sfa_sync_report rep;
    /* now - since is two minutes by the clock, but may be only one in whole minutes */
    if ((c->p.now / 60000) - (since / 60000) < 2) {
        assert_int_equal(pull(c, early, 1, &rep), SFA_OK);
        assert_int_equal(script_server_requests(c->srv), 1);
        pinned_fixture_advance(&c->p, 60 * 1000);
    }
    char covered[32], earliest[32], start[40];
    time_format_sf(c->p.now - 30 * 1000, covered);
    time_format_sf(c->p.now - 5 * 24 * 3600 * 1000LL, earliest);
    time_format_iso_z(since, start);
    snprintf(start + strlen(start) - 1, 8, "+00:00"); /* the documented form */
    char *deleted = xasprintf("{\"deletedRecords\":[{\"id\":\"" ID2 "\",\"deletedDate\":\"%s\"}],"
                              "\"earliestDateAvailable\":\"%s\",\"latestDateCovered\":\"%s\"}",
                              covered, earliest, covered);
    script_reply script[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL, deleted},
    };
    assert_int_equal(pull(c, script, 2, &rep), SFA_OK);
    char *want = xasprintf("/sobjects/Case/deleted/?start=%s&end=", start);
    assert_request_has(c, 1, want);
    assert_int_equal(rep.deleted, 1);
    assert_false(has_record(c, ID2));
    int64_t covered_ms = 0;
    assert_true(time_parse_sf(covered, &covered_ms));
    assert_int_equal(deletes_checked(c), covered_ms);
    free(want);
    free(deleted);
}

/* 4d. A latestDateCovered after the end asked for (Salesforce documents it as at most
 *     end) is taken as the end: a later start would skip the deletes in between. */
static void test_latest_date_covered_is_never_past_end(void **state)
{
    conf *c = *state;
    pull_two(c, 3);
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL,
         "{\"deletedRecords\":[],\"earliestDateAvailable\":\"2026-11-01T00:00:00.000+0000\","
         "\"latestDateCovered\":\"2099-01-01T00:00:00.000+0000\"}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 2, &rep), SFA_OK);
    assert_int_equal(deletes_checked(c), c->p.now);
}

/* 4e. A getDeleted answer whose deletedRecords is missing or holds an entry without a
 *     valid Id is refused: deletes_checked stays, so no delete is skipped. */
static void deleted_refused(void **state, const char *answer)
{
    conf *c = *state;
    pull_two(c, 3);
    int64_t before = deletes_checked(c);
    script_reply script[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL, answer},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 2, &rep), SFA_ESERVER);
    assert_non_null(strstr(rep.message, "deletedRecords"));
    assert_int_equal(deletes_checked(c), before);
}

static void test_deleted_without_deleted_records_is_refused(void **state)
{
    deleted_refused(state, "{\"earliestDateAvailable\":\"2026-11-01T00:00:00.000+0000\","
                           "\"latestDateCovered\":\"2026-11-30T10:00:00.000+0000\"}");
}

static void test_deleted_entry_without_id_is_refused(void **state)
{
    deleted_refused(state, "{\"deletedRecords\":[{\"id\":\"" ID2 "\",\"deletedDate\":\"" T2
                           "\"},{\"deletedDate\":\"" T2 "\"}],\"earliestDateAvailable\":"
                           "\"2026-11-01T00:00:00.000+0000\",\"latestDateCovered\":"
                           "\"2026-11-30T10:00:00.000+0000\"}");
}

/* 4b. INVALID_REPLICATION_DATE, an earliestDateAvailable after the last check, and
 *     EXCEEDED_ID_LIMIT each lead to a full Id reconciliation that removes the ghost. */
static void reconcile_after(void **state, int status, const char *answer)
{
    conf *c = *state;
    pull_two(c, 3);
    script_reply script[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {status, NULL, NULL, NULL, answer},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[{\"attributes\":{\"type\":\"Case\"},"
         "\"Id\":\"" ID1 "\"}]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 3, &rep), SFA_OK);
    assert_request_has(c, 2, "SELECT Id FROM Case ORDER BY Id");
    assert_int_equal(rep.deleted, 1);
    assert_true(has_record(c, ID1));
    assert_false(has_record(c, ID2));
}

static void test_invalid_replication_date_reconciles(void **state)
{
    reconcile_after(state, 400,
                    "[{\"errorCode\":\"INVALID_REPLICATION_DATE\",\"message\":\"start date "
                    "cannot be before the earliest date available\"}]");
}

static void test_exceeded_id_limit_reconciles(void **state)
{
    reconcile_after(state, 400,
                    "[{\"errorCode\":\"EXCEEDED_ID_LIMIT\",\"message\":\"record limit "
                    "reached. narrow the date range\"}]");
}

static void test_earliest_date_after_last_check_reconciles(void **state)
{
    reconcile_after(state, 200,
                    "{\"deletedRecords\":[],\"earliestDateAvailable\":\"2099-01-01T00:00:00.000"
                    "+0000\",\"latestDateCovered\":\"2099-01-01T00:00:00.000+0000\"}");
}

/* 4c. A reconciliation removes nothing unless its query ended with done:true and every
 *     page was read: a done:false page without nextRecordsUrl, a page without records
 *     or done, and a record without a valid Id would each make live records look
 *     deleted. The flag stays, so the next pull reconciles again. */
static void reconcile_refused(void **state, const char *page)
{
    conf *c = *state;
    pull_two(c, 3);
    script_reply script[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {400, NULL, NULL, NULL,
         "[{\"errorCode\":\"INVALID_REPLICATION_DATE\",\"message\":\"out of range\"}]"},
        {200, NULL, NULL, NULL, page},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 3, &rep), SFA_ESERVER);
    assert_int_equal(rep.deleted, 0);
    assert_true(has_record(c, ID1));
    assert_true(has_record(c, ID2));
    store_pull_state ps;
    assert_int_equal(store_pull_state_get(&ps, c->p.f.agent, "Case"), SFA_OK);
    int64_t checked = 0;
    assert_true(time_parse_sf(ps.deletes_checked, &checked));
    assert_true(checked < c->p.now - 2 * 60 * 1000); /* not moved */
    store_pull_state_clear(&ps);
}

static void test_reconcile_done_false_without_next_removes_nothing(void **state)
{
    reconcile_refused(state, "{\"totalSize\":2,\"done\":false,\"records\":[{\"Id\":\"" ID1 "\"}]}");
}

static void test_reconcile_without_records_removes_nothing(void **state)
{
    reconcile_refused(state, "{\"totalSize\":2,\"done\":true}");
}

static void test_reconcile_bad_id_removes_nothing(void **state)
{
    reconcile_refused(state, "{\"totalSize\":2,\"done\":true,\"records\":[{\"Id\":\"" ID1
                             "\"},{\"Id\":\"500RO00000A1b2\"}]}");
}

/* ---- scope ---- */

#define DESCRIBE_GLOBAL2                                                                           \
    "{\"encoding\":\"UTF-8\",\"maxBatchSize\":200,\"sobjects\":[{\"name\":\"Case\","               \
    "\"keyPrefix\":\"500\",\"queryable\":true},{\"name\":\"Contact\",\"keyPrefix\":\"003\","       \
    "\"queryable\":true}]}"
#define DESCRIBE_CONTACT                                                                           \
    "{\"name\":\"Contact\",\"keyPrefix\":\"003\",\"fields\":["                                     \
    "{\"name\":\"Id\",\"type\":\"id\",\"length\":18},"                                             \
    "{\"name\":\"SystemModstamp\",\"type\":\"datetime\"},"                                         \
    "{\"name\":\"LastName\",\"type\":\"string\",\"length\":80}]}"
#define CONTACT_PAGE                                                                               \
    "{\"totalSize\":1,\"done\":true,\"records\":[{\"attributes\":{\"type\":\"Contact\",\"url\":"   \
    "\"/services/data/v62.0/sobjects/Contact/003RO0000035WQgYAM\"},\"Id\":\"003RO0000035WQgYAM\"," \
    "\"SystemModstamp\":\"" T1 "\",\"LastName\":\"Smith\"}]}"

static int setup_bad_where(void **state)
{
    return setup_with(state, "objects = Case, Contact\n[pull.Case]\nfields = Subject\n"
                             "where = Status = \n[pull.Contact]\nfields = LastName\n");
}

static int setup_unknown_field(void **state)
{
    return setup_with(state, "objects = Case, Contact\n[pull.Case]\nfields = Subject, Bogus__c\n"
                             "[pull.Contact]\nfields = LastName\n");
}

static bool has_contact(conf *c)
{
    sfa_record *r = NULL;
    sfa_status st = sfa_record_get(&r, c->p.f.agent, "Contact", "003RO0000035WQgYAM");
    sfa_record_free(r);
    return st == SFA_OK;
}

/* 5. A where Salesforce refuses (MALFORMED_QUERY) parks that object only: the others
 *    still pull, and the run's status and message say which object failed. */
static void test_refused_where_parks_one_object(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL2},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, DESCRIBE_CONTACT},
        {400, NULL, NULL, NULL,
         "[{\"message\":\"\\nStatus = )\\n       ^\\nERROR at Row:1:Column:60\\nunexpected "
         "token: ')'\",\"errorCode\":\"MALFORMED_QUERY\"}]"},
        {200, NULL, NULL, NULL, CONTACT_PAGE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_ESERVER);
    assert_non_null(strstr(rep.message, "Case"));
    assert_true(has_contact(c));
    assert_int_equal(cached(c), 0);
}

/* 5b. A configured field the object's describe does not list is refused before any
 *     query, with its name; the other objects still pull. */
static void test_unknown_configured_field_is_named(void **state)
{
    conf *c = *state;
    static const script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL2},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, DESCRIBE_CONTACT},
        {200, NULL, NULL, NULL, CONTACT_PAGE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, sizeof script / sizeof *script, &rep), SFA_ECONFIG);
    assert_non_null(strstr(rep.message, "Bogus__c"));
    assert_true(has_contact(c));
    for (size_t i = 0; i < script_server_requests(c->srv); i++) {
        char *r = request(c, i);
        assert_null(strstr(r, "Bogus__c"));
        free(r);
    }
}

/* 5c. A scope change: records that leave the new scope leave the cache (the owed full
 *     Id reconciliation), except one with an unsynced local edit. */
static void test_scope_change_keeps_records_with_open_ops(void **state)
{
    conf *c = *state;
    static const script_reply first[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":3,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "," CASE(
             ID2, T1, "b") "," CASE(ID3, T1, "c") "]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, first, sizeof first / sizeof *first, &rep), SFA_OK);
    assert_int_equal(sfa_record_update(c->p.f.agent, "Case", ID2, "{\"Subject\":\"mine\"}"),
                     SFA_OK);
    sfa_config_free(c->p.f.cfg);
    c->p.f.cfg = push_fixture_config(script_server_url(c->srv),
                                     "objects = Case\n[pull.Case]\nfields = Subject\n"
                                     "where = Status != 'Closed'\n");
    assert_non_null(c->p.f.cfg);
    static const script_reply scoped[] = {
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "]}"},
        {200, NULL, NULL, NULL, EMPTY_PAGE}, /* none left the scope since the reset */
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[{\"attributes\":{\"type\":\"Case\"},"
         "\"Id\":\"" ID1 "\"}]}"},
    };
    /* SFA_ERETRY: the edit is still pending (pull only) */
    assert_int_equal(pull(c, scoped, sizeof scoped / sizeof *scoped, &rep), SFA_ERETRY);
    assert_string_equal(rep.message, "");
    assert_request_has(c, 0, "WHERE (Status != 'Closed') ORDER BY SystemModstamp, Id");
    assert_request_has(c, 2, "SELECT Id FROM Case WHERE (Status != 'Closed') ORDER BY Id");
    assert_true(has_record(c, ID1));
    assert_true(has_record(c, ID2)); /* open op */
    assert_false(has_record(c, ID3));
    assert_int_equal(rep.deleted, 1);
}

/* 5d. The default field list from a describe in Salesforce's shape: long and rich text
 *     areas, base64, compound address/location and deprecatedAndHidden fields stay out;
 *     a short textarea and the components of a compound field stay in. Pure. */
static void test_default_fields_from_describe(void **state)
{
    (void)state;
    cJSON *d = cJSON_Parse(
        "{\"name\":\"Account\",\"fields\":["
        "{\"name\":\"Id\",\"type\":\"id\",\"length\":18},"
        "{\"name\":\"Name\",\"type\":\"string\",\"length\":255},"
        "{\"name\":\"Short__c\",\"type\":\"textarea\",\"length\":255,\"extraTypeInfo\":null},"
        "{\"name\":\"Description\",\"type\":\"textarea\",\"length\":32000,"
        "\"extraTypeInfo\":\"plaintextarea\"},"
        "{\"name\":\"Rich__c\",\"type\":\"textarea\",\"length\":32768,"
        "\"extraTypeInfo\":\"richtextarea\"},"
        "{\"name\":\"Logo__c\",\"type\":\"base64\",\"length\":0},"
        "{\"name\":\"BillingAddress\",\"type\":\"address\",\"length\":0},"
        "{\"name\":\"BillingStreet\",\"type\":\"textarea\",\"length\":255,"
        "\"compoundFieldName\":\"BillingAddress\"},"
        "{\"name\":\"Where__c\",\"type\":\"location\",\"length\":0},"
        "{\"name\":\"Old__c\",\"type\":\"string\",\"length\":10,\"deprecatedAndHidden\":true}]}");
    assert_non_null(d);
    char *f = pull_scope_default_fields(d);
    assert_string_equal(f, "Id, Name, Short__c, BillingStreet");
    free(f);
    cJSON_Delete(d);
}

/* 5e. A where that is not one condition ("A) OR (B": the marks the pull ANDs after it
 *     would leave the condition) or has an open string literal is refused when the
 *     configuration loads, naming the key; parentheses inside literals are fine. */
static void test_where_must_be_one_condition(void **state)
{
    (void)state;
    static const struct {
        const char *where;
        const char *err; /* NULL: accepted */
    } cases[] = {
        {"Status = 'New') OR (Status != 'New'", "unbalanced parentheses"},
        {"(Status = 'New'", "unbalanced parentheses"},
        {"Subject = 'open", "not closed"},
        {"Subject = 'a)' AND (Status = 'New' OR Status = 'Working')", NULL},
        {"Subject = 'it\\'s (x'", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text = xasprintf("[salesforce]\nlogin_url = http://127.0.0.1:1\nauth = password\n"
                               "client_id = c\nclient_secret = s\nusername = u@example.com\n"
                               "password = p\n[pull.Case]\nwhere = %s\n",
                               cases[i].where);
        sfa_config *cfg = NULL;
        char *err = NULL;
        sfa_status st = sync_config_load_string(&cfg, text, "t.ini", &err);
        if (cases[i].err) {
            assert_int_not_equal(st, SFA_OK);
            assert_non_null(err);
            if (!strstr(err, cases[i].err) || !strstr(err, "[pull.Case] where"))
                fail_msg("case %zu: %s", i, err);
        } else if (st != SFA_OK) {
            fail_msg("case %zu refused: %s", i, err ? err : "?");
        }
        sfa_config_free(cfg);
        free(err);
        free(text);
    }
}

/* ---- get --refresh ---- */

static sfa_status refresh(conf *c, const char *ref, const char *answer, char **msg)
{
    script_reply script[] = {{200, NULL, NULL, NULL, answer}};
    script_server_set(c->srv, script, 1);
    char *local = NULL;
    sfa_status st = sfa_sync_refresh(&local, c->p.f.agent, c->p.f.cfg, "Case", ref);
    *msg = xstrdup(sfa_agent_errmsg(c->p.f.agent));
    free(local);
    return st;
}

/* 6. A cached record that Salesforce no longer returns by Id (deleted) leaves the cache
 *    at `get --refresh`, and the message says so. */
static void test_refresh_of_deleted_record_removes_it(void **state)
{
    conf *c = *state;
    pull_two(c, 0);
    char *msg = NULL;
    assert_int_equal(refresh(c, ID2, EMPTY_PAGE, &msg), SFA_ENOTFOUND);
    assert_non_null(strstr(msg, "removed from the cache"));
    assert_false(has_record(c, ID2));
    assert_true(has_record(c, ID1));
    free(msg);
}

/* 6b. ... unless it has unsynced local changes: kept, visibly, and the message says why. */
static void test_refresh_of_deleted_record_with_open_ops_keeps_it(void **state)
{
    conf *c = *state;
    pull_two(c, 0);
    assert_int_equal(sfa_record_update(c->p.f.agent, "Case", ID2, "{\"Subject\":\"mine\"}"),
                     SFA_OK);
    char *msg = NULL;
    assert_int_equal(refresh(c, ID2, EMPTY_PAGE, &msg), SFA_ENOTFOUND);
    assert_non_null(strstr(msg, "kept in the cache"));
    assert_true(has_record(c, ID2));
    free(msg);
}

/* 6c. An answer without a records array says nothing about the record: it stays. */
static void test_refresh_answer_without_records_removes_nothing(void **state)
{
    conf *c = *state;
    pull_two(c, 0);
    char *msg = NULL;
    assert_int_equal(refresh(c, ID2, "{\"totalSize\":0,\"done\":true}", &msg), SFA_ESERVER);
    assert_true(has_record(c, ID2));
    free(msg);
}

/* 6d. An uncached Id is looked up by Id, an uncached CaseNumber by CaseNumber, each
 *     with the object's field list; the record found is cached. */
static void test_refresh_of_uncached_id_and_case_number(void **state)
{
    conf *c = *state;
    pull_two(c, 0);
    char *msg = NULL;
    static const char one[] =
        "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID3, T2, "fetched") "]}";
    assert_int_equal(refresh(c, ID3, one, &msg), SFA_OK);
    assert_request_has(c, 0,
                       "SELECT Id, SystemModstamp, CaseNumber, Subject FROM Case WHERE "
                       "Id = '" ID3 "' LIMIT 2");
    assert_true(has_record(c, ID3));
    free(msg);
    static const char by_number[] =
        "{\"totalSize\":1,\"done\":true,\"records\":[{\"attributes\":{\"type\":\"Case\"},"
        "\"Id\":\"" ID4 "\",\"SystemModstamp\":\"" T2 "\",\"CaseNumber\":\"00001234\","
        "\"Subject\":\"by number\"}]}";
    assert_int_equal(refresh(c, "00001234", by_number, &msg), SFA_OK);
    assert_request_has(c, 0, "WHERE CaseNumber = '00001234' LIMIT 2");
    assert_true(has_record(c, ID4));
    assert_true(has_record(c, "00001234"));
    free(msg);
}

/* ---- hostile pages ---- */

/* 8. After a good first pull of ID1, a page holding a good record (ID2) and one bad
 *    one is refused whole: nothing of it is stored, nothing stored is lost, the mark
 *    stays, and the next pull asks again from the mark and takes a good page. */
static void hostile_page(void **state, const char *bad_record)
{
    conf *c = *state;
    static const script_reply first[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "]}"},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, first, sizeof first / sizeof *first, &rep), SFA_OK);
    char *page = xasprintf(
        "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID2, T2, "b") ",%s]}", bad_record);
    script_reply bad[] = {{200, NULL, NULL, NULL, page}};
    assert_int_not_equal(pull(c, bad, 1, &rep), SFA_OK);
    assert_true(rep.message[0] != '\0');
    assert_null(strstr(rep.message, "constraint")); /* says what is wrong, in its terms */
    assert_false(has_record(c, ID2));
    assert_true(has_record(c, ID1));
    assert_mark(c, T1, ID1);
    static const script_reply good[] = {
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID2, T2, "b") "]}"},
    };
    assert_int_equal(pull(c, good, 1, &rep), SFA_OK);
    assert_request_has(c, 0, "Id > '" ID1 "'");
    assert_true(has_record(c, ID2));
    assert_mark(c, T2, ID2);
    free(page);
}

static void test_hostile_record_without_id(void **state)
{
    hostile_page(state, "{\"attributes\":{\"type\":\"Case\"},\"SystemModstamp\":\"" T2 "\"}");
}

static void test_hostile_record_without_modstamp(void **state)
{
    hostile_page(state, "{\"attributes\":{\"type\":\"Case\"},\"Id\":\"" ID3 "\"}");
}

static void test_hostile_id_of_wrong_length(void **state)
{
    hostile_page(state, CASE("500RO00000A1b2", T2, "short"));
}

static void test_hostile_id_of_wrong_charset(void **state)
{
    hostile_page(state, CASE("500RO00000A1b!eYAB", T2, "bang"));
}

static void test_hostile_record_of_another_type(void **state)
{
    hostile_page(state, "{\"attributes\":{\"type\":\"Contact\"},\"Id\":\"003RO0000035WQgYAM\","
                        "\"SystemModstamp\":\"" T2 "\",\"LastName\":\"Smith\"}");
}

static void test_hostile_duplicate_id_key(void **state)
{
    hostile_page(state, "{\"attributes\":{\"type\":\"Case\"},\"Id\":\"" ID3
                        "\",\"SystemModstamp\":\"" T2 "\",\"Id\":\"" ID4 "\"}");
}

static void test_hostile_invalid_utf8(void **state)
{
    hostile_page(state, CASE(ID3, T2, "caf\xc3("));
}

static void test_hostile_deep_nesting(void **state)
{
    strbuf deep = STRBUF_INIT;
    strbuf_adds(&deep, "{\"Id\":\"" ID3 "\",\"SystemModstamp\":\"" T2 "\",\"Subject\":");
    for (int i = 0; i < 600; i++)
        strbuf_adds(&deep, "[");
    for (int i = 0; i < 600; i++)
        strbuf_adds(&deep, "]");
    strbuf_adds(&deep, "}");
    hostile_page(state, strbuf_str(&deep));
    strbuf_free(&deep);
}

/* A SystemModstamp far ahead of any clock: as the mark it would make every later query
 * skip what happens until then. */
static void test_hostile_future_modstamp(void **state)
{
    hostile_page(state, CASE(ID3, "2099-01-01T00:00:00.000+0000", "future"));
}

static int setup_where(void **state)
{
    return setup_with(state, "objects = Case\n[pull.Case]\nfields = Subject\n"
                             "where = Status != 'Closed'\n");
}

/* The leaving mark (records that left the where) is bounded the same way: a record
 * "leaving" with a SystemModstamp far ahead is refused, the cached copy stays. */
static void test_hostile_future_modstamp_in_leaving_query(void **state)
{
    conf *c = *state;
    static const script_reply first[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "]}"},
        {200, NULL, NULL, NULL, EMPTY_PAGE},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, first, sizeof first / sizeof *first, &rep), SFA_OK);
    store_pull_state before;
    assert_int_equal(store_pull_state_get(&before, c->p.f.agent, "Case"), SFA_OK);
    static const script_reply second[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, "2099-01-01T00:00:00.000+0000",
                                                             "a") "]}"},
    };
    assert_int_equal(pull(c, second, sizeof second / sizeof *second, &rep), SFA_ESERVER);
    assert_request_has(c, 1, "(NOT (Status != 'Closed'))");
    assert_true(has_record(c, ID1));
    store_pull_state after;
    assert_int_equal(store_pull_state_get(&after, c->p.f.agent, "Case"), SFA_OK);
    assert_string_equal(after.left_modstamp, before.left_modstamp);
    assert_null(after.left_id);
    store_pull_state_clear(&before);
    store_pull_state_clear(&after);
}

/* Pages of records leaving the where get the changes pages' checks: out of
 * SystemModstamp order, the page is refused whole and both records stay cached; a record
 * older than the leaving mark leaves the cache, and the leaving mark does not move back. */
static void test_leaving_pages_ordered_and_mark_never_back(void **state)
{
    conf *c = *state;
    sfa_sync_report rep;
    first_pull(c, &rep,
               "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID1, T1, "a") "," CASE(
                   ID2, T1, "b") "]}");
    store_pull_state before;
    assert_int_equal(store_pull_state_get(&before, c->p.f.agent, "Case"), SFA_OK);
    static const script_reply disordered[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":2,\"done\":true,\"records\":[" CASE(ID2, T3, "b") "," CASE(ID1, T2,
                                                                                    "a") "]}"},
    };
    assert_int_equal(pull(c, disordered, sizeof disordered / sizeof *disordered, &rep),
                     SFA_ESERVER);
    assert_non_null(strstr(rep.message, "out of SystemModstamp order"));
    assert_true(has_record(c, ID1));
    assert_true(has_record(c, ID2));
    static const script_reply older[] = {
        {200, NULL, NULL, NULL, EMPTY_PAGE},
        {200, NULL, NULL, NULL,
         "{\"totalSize\":1,\"done\":true,\"records\":[" CASE(ID1, T2, "a") "]}"},
        {200, NULL, NULL, NULL, DELETED_NONE},
    };
    pinned_fixture_advance(&c->p, 1000);
    assert_int_equal(pull(c, older, sizeof older / sizeof *older, &rep), SFA_OK);
    assert_false(has_record(c, ID1)); /* it left the scope */
    assert_true(has_record(c, ID2));
    store_pull_state after;
    assert_int_equal(store_pull_state_get(&after, c->p.f.agent, "Case"), SFA_OK);
    assert_string_equal(after.left_modstamp, before.left_modstamp); /* T2 is before it */
    assert_null(after.left_id);
    store_pull_state_clear(&before);
    store_pull_state_clear(&after);
}

/* The same record twice in one page (a query never lists a row twice). */
static void test_hostile_same_record_twice(void **state)
{
    hostile_page(state, CASE(ID2, T2, "b again"));
}

/* A record that is not an object at all. */
static void test_hostile_record_not_an_object(void **state)
{
    hostile_page(state, "\"500RO00000A1b2eYAB\"");
}

/* Huge strings are data, not an attack: a 1 MB Subject is stored whole. */
static void test_huge_string_is_stored(void **state)
{
    conf *c = *state;
    size_t big = 1 << 20;
    char *subject = xmalloc(big + 1);
    memset(subject, 'x', big);
    subject[big] = '\0';
    char *page = xasprintf("{\"totalSize\":1,\"done\":true,\"records\":[{\"attributes\":{\"type\":"
                           "\"Case\"},\"Id\":\"" ID1 "\",\"SystemModstamp\":\"" T1
                           "\",\"Subject\":\"%s\"}]}",
                           subject);
    script_reply script[] = {
        {200, NULL, NULL, NULL, DESCRIBE_GLOBAL},
        {200, NULL, NULL, NULL, DESCRIBE_CASE},
        {200, NULL, NULL, NULL, page},
    };
    sfa_sync_report rep;
    assert_int_equal(pull(c, script, 3, &rep), SFA_OK);
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, c->p.f.agent, "Case", ID1), SFA_OK);
    cJSON *fields = cJSON_Parse(r->fields_json);
    assert_int_equal(strlen(json_str(fields, "Subject")), big);
    cJSON_Delete(fields);
    sfa_record_free(r);
    free(page);
    free(subject);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_relative_next_url_small_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_url_on_another_host_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_true_ignores_next_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_false_without_next_url_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_pages_followed_but_not_forever, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_formats_and_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_never_moves_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_out_of_order_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_locator_restarts_from_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_window_and_latest_date_covered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_replication_date_reconciles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exceeded_id_limit_reconciles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_earliest_date_after_last_check_reconciles, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_done_false_without_next_removes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_without_records_removes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_bad_id_removes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_where_parks_one_object, setup_bad_where,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_configured_field_is_named, setup_unknown_field,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refresh_of_deleted_record_removes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_of_deleted_record_with_open_ops_keeps_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_answer_without_records_removes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hostile_record_without_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_record_without_modstamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_id_of_wrong_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_id_of_wrong_charset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_record_of_another_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_duplicate_id_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_record_not_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_string_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_url_absolute_on_the_instance_is_followed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scope_change_keeps_records_with_open_ops, setup,
                                        teardown),
        cmocka_unit_test(test_default_fields_from_describe),
        cmocka_unit_test_setup_teardown(test_hostile_future_modstamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_date_covered_is_never_past_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hostile_future_modstamp_in_leaving_query, setup_where,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_leaving_pages_ordered_and_mark_never_back, setup_where,
                                        teardown),
        cmocka_unit_test(test_where_must_be_one_condition),
        cmocka_unit_test_setup_teardown(test_hostile_same_record_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_without_deleted_records_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deleted_entry_without_id_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_of_uncached_id_and_case_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_next_url_not_a_url_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
