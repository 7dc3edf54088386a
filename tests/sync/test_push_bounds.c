/* The push run's bounds (issue 8): answers that are not Salesforce's never make ops dead;
 * lost answers never loop within a run; Retry-After and far-future times are capped, so a
 * hostile header or a clock that was ahead cannot strand ops or pause the agent for
 * years; only reference fields are rewritten from local ids to Salesforce Ids; a run
 * with max_run_seconds stops between batches, never inside one; and reading a page of
 * ready ops costs the same whatever the backlog (store/op_sync.c I10). */
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
#include "store/op.h"
#include "store/run.h"
#include "store/sql.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#define COMPOSITE "/services/data/v*/composite"
#define ANY_API   "/services/data/*"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, NULL);
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

/* Count ops of the outbox in state. */
static size_t ops_in(push_fixture *f, sfa_op_state state)
{
    sfa_op_array all = {0};
    assert_int_equal(sfa_outbox_list(&all, f->agent, SFA_OP_STATES_ALL, 0), SFA_OK);
    size_t n = 0;
    for (size_t i = 0; i < all.count; i++)
        n += all.items[i].state == state;
    sfa_op_array_free(&all);
    return n;
}

static void create_cases(push_fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char *json = xasprintf("{\"Subject\":\"bounds %d\"}", i);
        char *id = push_fixture_create(f, "Case", json);
        assert_non_null(id);
        free(id);
        free(json);
    }
}

/* ---- item 12: a whole-request answer that is not about the data ---- */

/* A whole-request error of the given status and code, once, on the create batch: no op
 * dies for it; they are retried and all reach Salesforce. */
static void whole_request_error_keeps_ops(push_fixture *f, int status, const char *code)
{
    create_cases(f, 3);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.method = "POST";
    fault.path_pattern = COMPOSITE;
    fault.count = 1;
    fault.status = status;
    fault.error_code = code;
    fault.message = "not about the data";
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    push_fixture_sync(f, &rep);
    assert_int_equal(emu_faults_fired(f->emu), 1);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DEAD), 0);
    assert_int_equal(rep.dead, 0);
    assert_int_equal(rep.request_failures, 1);
    assert_int_equal(push_fixture_converge(f, 10, &rep), SFA_OK);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DONE), 3);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 3);
}

static void test_whole_request_404_leaves_ops_retriable(void **state)
{
    whole_request_error_keeps_ops(*state, 404, "NOT_FOUND");
}

static void test_json_parser_error_leaves_ops_retriable(void **state)
{
    whole_request_error_keeps_ops(*state, 400, "JSON_PARSER_ERROR");
}

/* A redirect is never Salesforce's answer: released (no attempt spent), the run stops and
 * says why, and scheduled runs back off as if offline. */
static void test_redirect_releases_ops_and_stops_the_run(void **state)
{
    push_fixture *f = *state;
    create_cases(f, 3);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.path_pattern = ANY_API;
    fault.count = 1;
    fault.status = 302;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DEAD), 0);
    assert_int_equal(ops_in(f, SFA_OP_STATE_PENDING), 3);
    assert_int_equal(rep.request_failures, 1);
    assert_non_null(strstr(rep.message, "not from Salesforce"));
    sfa_sync_pause p;
    assert_int_equal(sfa_sync_pause_get(&p, f->agent), SFA_OK);
    assert_int_equal(p.source, SFA_PAUSE_OFFLINE);
    assert_true(p.until_ms > 0);
    assert_non_null(strstr(p.reason, "not from Salesforce"));
    sfa_op_array all = {0};
    assert_int_equal(sfa_outbox_list(&all, f->agent, SFA_OP_STATES_ALL, 0), SFA_OK);
    for (size_t i = 0; i < all.count; i++)
        assert_int_equal(all.items[i].attempts, 0);
    sfa_op_array_free(&all);
    assert_int_equal(push_fixture_converge(f, 10, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 3);
}

/* ---- item 6: lost answers do not loop within a run ---- */

static int setup_no_settle(void **state)
{
    push_fixture *f = xcalloc(1, sizeof *f);
    emu_options eo = EMU_OPTIONS_INIT;
    eo.api_limit = 300; /* before the fix the run only stopped at the API limit */
    if (push_fixture_setup(f, &eo, "settle_time = 0\n") != 0)
        return -1;
    *state = f;
    return 0;
}

/* settle_time = 0 and every create request dropped unanswered: each op is sent once per
 * run (its answer was lost, so it waits for the next run), and the run ends. */
static void test_lost_answers_are_not_resent_in_the_same_run(void **state)
{
    push_fixture *f = *state;
    create_cases(f, 3);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_DROP_BEFORE;
    fault.method = "POST";
    fault.path_pattern = COMPOSITE;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_int_equal(emu_request_count(f->emu, "POST", COMPOSITE), 1);
    assert_true(rep.api_calls < 10);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DEAD), 0);
    /* The next run sends them once more, and so on: bounded per run, never lost. */
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_int_equal(emu_request_count(f->emu, "POST", COMPOSITE), 2);
    emu_faults_clear(f->emu);
    assert_int_equal(push_fixture_converge(f, 10, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 3);
}

/* ---- with the scripted server: answers the emulator never gives ---- */

typedef struct scripted {
    push_fixture f; /* database (and an idle emulator) */
    script_server *srv;
} scripted;

static int setup_scripted(void **state)
{
    scripted *s = xcalloc(1, sizeof *s);
    if (push_fixture_setup(&s->f, NULL, NULL) != 0 || !(s->srv = script_server_start()))
        return -1;
    sfa_config_free(s->f.cfg);
    s->f.cfg = push_fixture_config(script_server_url(s->srv), NULL); /* backoff_cap = 60 */
    *state = s;
    return s->f.cfg ? 0 : -1;
}

static int teardown_scripted(void **state)
{
    scripted *s = *state;
    push_fixture_teardown(&s->f);
    script_server_stop(s->srv);
    free(s);
    return 0;
}

/* A captive portal's login page, 302 with HTML: the ops stay pending, none dead. */
static void test_captive_portal_html_redirect_kills_nothing(void **state)
{
    scripted *s = *state;
    create_cases(&s->f, 3);
    static const script_reply portal[] = {
        {302, "text/html", "Location", "http://portal.example/login",
         "<html><body>Please log in to the Wi-Fi</body></html>"},
    };
    script_server_set(s->srv, portal, 1);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(&s->f, &rep), SFA_ERETRY);
    assert_int_equal(ops_in(&s->f, SFA_OP_STATE_DEAD), 0);
    assert_int_equal(ops_in(&s->f, SFA_OP_STATE_PENDING), 3);
    assert_int_equal(rep.request_failures, 1);
    /* An HTML 404 from a proxy is not Salesforce either. */
    static const script_reply proxy[] = {
        {404, "text/html", NULL, NULL, "<html><body>Not Found</body></html>"},
    };
    script_server_set(s->srv, proxy, 1);
    assert_int_equal(push_fixture_sync(&s->f, &rep), SFA_ERETRY);
    assert_int_equal(ops_in(&s->f, SFA_OP_STATE_DEAD), 0);
    assert_int_equal(ops_in(&s->f, SFA_OP_STATE_PENDING), 3);
}

/* ---- item 7: Retry-After is capped at backoff_cap (60 s in the fixture) ---- */

#define CAP_MS (60 * 1000)

/* REQUEST_LIMIT_EXCEEDED with an absurd Retry-After (delta-seconds or an HTTP-date decades
 * ahead): the run-level pause ends within backoff_cap, not in decades. */
static void limit_pause_is_capped(scripted *s, const char *retry_after)
{
    create_cases(&s->f, 1);
    const script_reply limit[] = {
        {403, NULL, "Retry-After", retry_after,
         "[{\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\",\"message\":\"TotalRequests Limit "
         "exceeded.\"}]"},
    };
    script_server_set(s->srv, limit, 1);
    sfa_sync_report rep;
    int64_t before = time_now_ms();
    assert_int_equal(push_fixture_sync(&s->f, &rep), SFA_ELIMIT);
    int64_t until = 0;
    assert_int_equal(store_pause_get(s->f.agent, &until, NULL, NULL), SFA_OK);
    assert_true(until > before);
    assert_true(until <= time_now_ms() + CAP_MS);
    assert_int_equal(ops_in(&s->f, SFA_OP_STATE_PENDING), 1);
    /* `sfagent status` says until when and why. */
    sfa_sync_pause p;
    assert_int_equal(sfa_sync_pause_get(&p, s->f.agent), SFA_OK);
    assert_int_equal(p.source, SFA_PAUSE_RETRY_AFTER);
    assert_int_equal(p.until_ms, until);
    assert_string_equal(p.reason, "REQUEST_LIMIT_EXCEEDED");
}

static void test_retry_after_seconds_is_capped(void **state)
{
    limit_pause_is_capped(*state, "999999999");
}

static void test_retry_after_date_is_capped(void **state)
{
    limit_pause_is_capped(*state, "Thu, 01 Jan 2099 00:00:00 GMT");
}

/* A 503 with the same header: each op's next attempt is within backoff_cap too. */
static void test_retry_after_on_a_retried_op_is_capped(void **state)
{
    scripted *s = *state;
    create_cases(&s->f, 1);
    static const script_reply busy[] = {
        {503, NULL, "Retry-After", "999999999",
         "[{\"errorCode\":\"SERVER_UNAVAILABLE\",\"message\":\"busy\"}]"},
    };
    script_server_set(s->srv, busy, 1);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(&s->f, &rep), SFA_ERETRY);
    sfa_op_array all = {0};
    assert_int_equal(sfa_outbox_list(&all, s->f.agent, SFA_OP_STATES_ALL, 0), SFA_OK);
    assert_int_equal(all.count, 1);
    assert_int_equal(all.items[0].state, SFA_OP_STATE_PENDING);
    assert_int_equal(all.items[0].attempts, 1);
    assert_true(all.items[0].next_attempt_at_ms <= time_now_ms() + CAP_MS);
    sfa_op_array_free(&all);
}

/* ---- item 8: a clock that was ahead strands nothing ---- */

#define FOUR_YEARS_MS ((int64_t)4 * 365 * 24 * 3600 * 1000)

/* A 503 while the clock was four years fast put next_attempt_at four years out; once the
 * clock is right, that time is further ahead than any backoff, so the op is due. */
static void test_next_attempt_beyond_any_backoff_is_due(void **state)
{
    push_fixture *f = *state;
    time_set_override(time_now_ms() + FOUR_YEARS_MS);
    create_cases(f, 1);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.method = "POST";
    fault.path_pattern = COMPOSITE;
    fault.count = 1;
    fault.status = 503;
    fault.error_code = "SERVER_UNAVAILABLE";
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_int_equal(ops_in(f, SFA_OP_STATE_PENDING), 1);
    time_set_override(0); /* the clock is put right */
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DONE), 1);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 1);
}

/* A run-level pause further ahead than any pause a run sets is not honoured either. */
static void test_pause_beyond_its_cap_is_ignored(void **state)
{
    push_fixture *f = *state;
    create_cases(f, 1);
    assert_int_equal(
        store_pause_set(f->agent, time_now_ms() + FOUR_YEARS_MS, "api-limit", "clock was ahead"),
        SFA_OK);
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT; /* a scheduled run: honours pauses */
    o.seed = 7;
    sfa_sync_report rep;
    assert_int_equal(sfa_sync_run(&rep, f->agent, f->cfg, &o), SFA_OK);
    assert_int_equal(ops_in(f, SFA_OP_STATE_DONE), 1);
    /* A pause within its cap is still honoured. */
    char *id = push_fixture_create(f, "Case", "{\"Subject\":\"later\"}");
    free(id);
    /* (Not "offline": an offline pause ends early when the reachability probe connects,
     * and the emulator is up; sync/engine/pause.c I4.) */
    assert_int_equal(store_pause_set(f->agent, time_now_ms() + 60000, "retry-after", "x"), SFA_OK);
    assert_int_equal(sfa_sync_run(&rep, f->agent, f->cfg, &o), SFA_ERETRY);
    assert_non_null(strstr(rep.message, "backing off"));
}

/* ---- only reference fields carry references ---- */

/* A Case whose Description is a valid-looking local id of another record: text, sent as
 * typed; its ContactId, a reference, is sent as the Contact's Salesforce Id. */
/* A create batch holds up to 800 records in one /composite, but its one read-back query
 * must stay within SOQL's 100,000 characters: 800 upserts on 250-character External ID
 * values (~253 characters each in the IN list) go as three composites of at most 394. */
static void test_long_upsert_keys_split_the_batch_to_fit_the_query(void **state)
{
    push_fixture *f = *state;
    char value[251];
    for (int i = 0; i < 800; i++) {
        memset(value, 'k', 250);
        value[250] = '\0';
        char tag[16];
        int len = snprintf(tag, sizeof tag, "%d", i);
        memcpy(value, tag, (size_t)len);
        char *id = NULL;
        assert_int_equal(sfa_record_upsert(&id, f->agent, "Contact", "External_Ref__c", value,
                                           "{\"LastName\":\"Long\"}"),
                         SFA_OK);
        free(id);
    }
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 800);
    assert_int_equal(rep.pending_left, 0);
    assert_int_equal(rep.inflight_left, 0);
    assert_int_equal(emu_record_count(f->emu, "Contact", false), 800);
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*"), 3);
}

static void test_local_id_in_a_text_field_is_sent_unchanged(void **state)
{
    push_fixture *f = *state;
    char *contact = push_fixture_create(f, "Contact", "{\"LastName\":\"Ref\"}");
    assert_non_null(contact);
    char *json = xasprintf("{\"Subject\":\"refs\",\"Description\":\"%s\",\"ContactId\":"
                           "\"%s\"}",
                           contact, contact);
    char *kase = push_fixture_create(f, "Case", json);
    assert_non_null(kase);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_converge(f, 5, &rep), SFA_OK);
    sfa_record *c = push_fixture_record(f, "Contact", contact);
    sfa_record *k = push_fixture_record(f, "Case", kase);
    assert_non_null(c);
    assert_non_null(k);
    cJSON *server = emu_record_get(f->emu, k->sf_id);
    assert_non_null(server);
    assert_string_equal(json_str(server, "Description"), contact);
    assert_string_equal(json_str(server, "ContactId"), c->sf_id);
    cJSON_Delete(server);
    sfa_record_free(c);
    sfa_record_free(k);
    free(kase);
    free(json);
    free(contact);
}

static int setup_time_limit(void **state)
{
    push_fixture *f = xcalloc(1, sizeof *f);
    emu_options eo = EMU_OPTIONS_INIT;
    eo.latency_ms = 400; /* token 0.4 s, then 0.4 s per batch of 800 creates */
    /* One batch at a time: the test counts whole batches against the clock. */
    if (push_fixture_setup(f, &eo, "max_run_seconds = 1\nparallel = 1\n") != 0)
        return -1;
    *state = f;
    return 0;
}

static void test_time_limit_stops_between_batches(void **state)
{
    push_fixture *f = *state;
    for (int i = 0; i < 2400; i++) {
        char *id = push_fixture_create(f, "Case", "{\"Subject\":\"timed\"}");
        assert_non_null(id);
        free(id);
    }
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_true(rep.time_limited);
    assert_non_null(strstr(rep.message, "max_run_seconds"));
    /* Whole batches only: every op sent was answered and written; none is left claimed. */
    assert_true(rep.sent >= 800 && rep.sent < 2400);
    assert_int_equal(rep.sent % 800, 0);
    assert_int_equal(rep.done, rep.sent);
    assert_int_equal(rep.inflight_left, 0);
    assert_int_equal(rep.pending_left, 2400 - rep.done);
    assert_int_equal(emu_record_count(f->emu, "Case", false), rep.done);
    /* The next runs carry on where it stopped. */
    assert_int_equal(push_fixture_converge(f, 5, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2400);
}

/* Queue n Case creates through the importer (one transaction per 1,000). */
static void import_cases(push_fixture *f, size_t n)
{
    FILE *t = tmpfile();
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        fprintf(t, "{\"Subject\":\"backlog %zu\"}\n", i);
    fflush(t);
    rewind(t);
    sfa_import_result ir;
    assert_int_equal(sfa_record_import(&ir, f->agent, "Case", fileno(t), 1000), SFA_OK);
    assert_int_equal(ir.imported, n);
    fclose(t);
}

static int count_tick(void *p)
{
    (*(long *)p)++;
    return 0;
}

/* SQLite VM steps (in hundreds) to read the first page of 200 ready ops: deterministic,
 * unlike a timer. */
static long ready_page_cost(push_fixture *f)
{
    long ticks = 0;
    sqlite3_progress_handler(store_db(f->agent), 100, count_tick, &ticks);
    store_op *ops = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_ready(f->agent, time_now_ms(), 0, 200, &ops, &n), SFA_OK);
    sqlite3_progress_handler(store_db(f->agent), 0, NULL, NULL);
    assert_int_equal(n, 200);
    store_ops_free(ops, n);
    return ticks;
}

static void test_ready_page_cost_does_not_grow_with_backlog(void **state)
{
    push_fixture *f = *state;
    import_cases(f, 400);
    long small = ready_page_cost(f);
    import_cases(f, 7600); /* 20 times the backlog */
    long big = ready_page_cost(f);
    /* A plan that sorts every pending op per page costs ~20 times more here. */
    assert_true(small > 0);
    assert_true(big < 2 * small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_request_404_leaves_ops_retriable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_parser_error_leaves_ops_retriable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redirect_releases_ops_and_stops_the_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_answers_are_not_resent_in_the_same_run,
                                        setup_no_settle, teardown),
        cmocka_unit_test_setup_teardown(test_captive_portal_html_redirect_kills_nothing,
                                        setup_scripted, teardown_scripted),
        cmocka_unit_test_setup_teardown(test_retry_after_seconds_is_capped, setup_scripted,
                                        teardown_scripted),
        cmocka_unit_test_setup_teardown(test_retry_after_date_is_capped, setup_scripted,
                                        teardown_scripted),
        cmocka_unit_test_setup_teardown(test_retry_after_on_a_retried_op_is_capped, setup_scripted,
                                        teardown_scripted),
        cmocka_unit_test_setup_teardown(test_next_attempt_beyond_any_backoff_is_due, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_limit_stops_between_batches, setup_time_limit,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ready_page_cost_does_not_grow_with_backlog, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pause_beyond_its_cap_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_upsert_keys_split_the_batch_to_fit_the_query,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_id_in_a_text_field_is_sent_unchanged, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
