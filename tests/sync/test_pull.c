/* The pull engine against the in-process emulator (docs/sync-protocol.md#pull): paging
 * with ties on SystemModstamp across page boundaries, an expired query locator, edits,
 * creates and deletes by another Salesforce user, the getDeleted window exceeded, merges
 * with local edits (disjoint and same field), a record created here and pulled back,
 * scope changes, records leaving the `where` scope, and `--refresh` (sfa_sync_refresh) online,
 * offline and uncached. */
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
#include "sync/engine/pull.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#define DAY_MS (24LL * 3600 * 1000)

typedef pinned_fixture env;

static int setup(void **state)
{
    return pinned_fixture_new(state, "objects = Case\n");
}

/* As setup, with conflict_policy = server-wins: a conflict the check wrongly saw would
 * drop the local edit, not just log it. */
static int setup_server_wins(void **state)
{
    return pinned_fixture_new(state, "objects = Case\nconflict_policy = server-wins\n");
}

static sfa_status run(env *e, bool pull_only, sfa_sync_report *rep)
{
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.seed = 7;
    o.ignore_pause = true;
    o.pull_only = pull_only;
    o.pull_batch_size = 200;
    sfa_status st = sfa_sync_run(rep, e->f.agent, e->f.cfg, &o);
    if (st != SFA_OK)
        fprintf(stderr, "sync: %s: %s\n", sfa_strerror(st), rep->message);
    return st;
}

static sfa_status push(env *e)
{
    sfa_sync_report rep;
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.push_only = true;
    return sfa_sync_run(&rep, e->f.agent, e->f.cfg, &o);
}

static void insert_cases(env *e, int n, const char *status, char (*ids)[19])
{
    for (int i = 0; i < n; i++) {
        char id[19], subject[32];
        snprintf(subject, sizeof subject, "server %d", i);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Subject", subject);
        cJSON_AddStringToObject(f, "Status", status);
        assert_int_equal(emu_record_insert(e->f.emu, "Case", f, id), 0);
        if (ids)
            memcpy(ids[i], id, 19);
        cJSON_Delete(f);
    }
}

static size_t cached(env *e)
{
    return push_fixture_cached(&e->f, "Case");
}

/* The mirror holds exactly the server's live Cases, each once, with the server's Subject. */
static void assert_mirror_is_server(env *e)
{
    char *why = NULL;
    if (!push_fixture_mirror_is_server(&e->f, "Case", &why))
        fail_msg("%s", why);
}

static char *field_of(env *e, const char *ref, const char *name)
{
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ref), SFA_OK);
    cJSON *fields = cJSON_Parse(m->fields_json);
    const char *v = json_str(fields, name);
    char *out = v ? strdup(v) : NULL;
    cJSON_Delete(fields);
    sfa_record_free(m);
    return out;
}

/* 450 records share one second and pages hold 200: two page boundaries fall inside the
 * tie. Every record arrives once; a second pull downloads nothing. */
static void test_pull_ties_across_pages(void **state)
{
    env *e = *state;
    insert_cases(e, 450, "New", NULL);
    pinned_fixture_advance(e, 1000);
    insert_cases(e, 30, "New", NULL);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 480);
    assert_int_equal(rep.updated, 0);
    assert_int_equal(emu_request_count(e->f.emu, "GET", "/services/data/v*/query/*"), 2);
    assert_mirror_is_server(e);
    pinned_fixture_advance(e, 1000);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 0);
    assert_int_equal(cached(e), 480);
}

/* A query page that arrives cut short, or as something other than JSON, is refused whole
 * (the page is read as text, record by record: pull_page.c I1): the pages before it stay
 * committed, none of its records is stored, the run says to try again, and the next pull
 * resumes from the mark with nothing lost or doubled. */
static void test_pull_broken_page_commits_nothing_of_it(void **state)
{
    env *e = *state;
    insert_cases(e, 450, "New", NULL);
    pinned_fixture_advance(e, 1000);
    emu_fault_kind kinds[] = {EMU_FAULT_TRUNCATE, EMU_FAULT_INVALID_JSON};
    for (int k = 0; k < 2; k++) {
        emu_fault fault = {.kind = kinds[k],
                           .method = "GET",
                           .path_pattern = "/services/data/v*/query/*",
                           .count = 1};
        assert_true(emu_fault_add(e->f.emu, &fault) > 0);
        sfa_sync_report rep;
        assert_int_equal(run(e, true, &rep), SFA_ERETRY);
        /* Cut short, libcurl sees the missing bytes itself; not JSON, the page reader. */
        assert_non_null(strstr(rep.message, k == 0 ? "partial" : "not valid JSON"));
        assert_int_equal(cached(e), (size_t)(200 * (k + 1))); /* the pages before it */
        emu_faults_clear(e->f.emu);
    }
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 50);
    assert_mirror_is_server(e);
}

/* An expired locator restarts from the committed mark: nothing lost, nothing twice. */
static void test_pull_expired_locator_restarts_from_mark(void **state)
{
    env *e = *state;
    insert_cases(e, 500, "New", NULL);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.method = "GET";
    fault.path_pattern = "/services/data/v*/query/*";
    fault.count = 1;
    fault.status = 400;
    fault.error_code = "INVALID_QUERY_LOCATOR";
    fault.message = "invalid query locator";
    assert_true(emu_fault_add(e->f.emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(emu_faults_fired(e->f.emu), 1);
    assert_int_equal(rep.pulled, 500); /* page 1 once, then 300 after the mark */
    assert_mirror_is_server(e);
}

/* Another user edits, creates and deletes; the next pull mirrors all three. */
static void test_pull_server_changes(void **state)
{
    env *e = *state;
    char ids[3][19];
    insert_cases(e, 3, "New", ids);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    pinned_fixture_advance(e, 2 * 60 * 1000);
    cJSON *edit = cJSON_Parse("{\"Subject\":\"edited upstream\"}");
    assert_int_equal(emu_record_edit(e->f.emu, ids[0], edit), 0);
    cJSON_Delete(edit);
    assert_int_equal(emu_record_remove(e->f.emu, ids[1]), 0);
    insert_cases(e, 1, "New", NULL);
    pinned_fixture_advance(e, 2 * 60 * 1000); /* getDeleted works in whole minutes */
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 2);
    assert_int_equal(rep.updated, 1);
    assert_int_equal(rep.deleted, 1);
    char *s = field_of(e, ids[0], "Subject");
    assert_string_equal(s, "edited upstream");
    free(s);
    sfa_record *gone = NULL;
    assert_int_equal(sfa_record_get(&gone, e->f.agent, "Case", ids[1]), SFA_ENOTFOUND);
    assert_mirror_is_server(e);
}

/* Away longer than Salesforce keeps deletes: a full Id reconciliation removes ghosts. */
static void test_pull_delete_window_exceeded_reconciles(void **state)
{
    env *e = *state;
    char ids[4][19];
    insert_cases(e, 4, "New", ids);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(emu_record_remove(e->f.emu, ids[2]), 0);
    pinned_fixture_advance(e, 16 * DAY_MS);
    size_t deleted_calls = emu_request_count(e->f.emu, "GET", "*/deleted/*");
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.deleted, 1);
    assert_int_equal(emu_request_count(e->f.emu, "GET", "*/deleted/*"), deleted_calls);
    assert_mirror_is_server(e);
    /* Deletes are tracked again from the reconciliation on. */
    assert_int_equal(emu_record_remove(e->f.emu, ids[3]), 0);
    pinned_fixture_advance(e, 3 * 60 * 1000);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.deleted, 1);
    assert_int_equal(emu_request_count(e->f.emu, "GET", "*/deleted/*"), deleted_calls + 1);
    assert_mirror_is_server(e);
}

/* Ghosts: cases pulled, then deleted on the server at a time before the mark getDeleted
 * resumes from (the first pull's reconciliation sets it a minute before it started), so
 * getDeleted never lists them; only a full Id reconciliation removes them. ids[1] gets a
 * local update first (an open op: M6 keeps it). Returns with the clock 3 minutes on. */
static void make_ghosts(env *e, char (*ids)[19])
{
    int64_t t0 = e->now;
    insert_cases(e, 3, "New", ids);
    pinned_fixture_advance(e, 10 * 60 * 1000);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(cached(e), 3);
    assert_int_equal(sfa_record_update(e->f.agent, "Case", ids[1], "{\"Subject\":\"mine\"}"),
                     SFA_OK);
    int64_t pulled = e->now;
    e->now = t0; /* deletedDate t0: before the mark */
    time_set_override(e->now);
    assert_int_equal(emu_record_remove(e->f.emu, ids[0]), 0);
    assert_int_equal(emu_record_remove(e->f.emu, ids[1]), 0);
    e->now = pulled;
    pinned_fixture_advance(e, 3 * 60 * 1000);
}

/* getDeleted answers, but its earliestDateAvailable is later than the last check (the
 * recycle bin was emptied): deletes may be lost, so the agent reconciles every Id. The
 * ghost leaves; the ghost with an open op stays. Without the reconciliation getDeleted
 * would report nothing and the ghost would stay. */
static void test_pull_delete_log_purged_reconciles(void **state)
{
    env *e = *state;
    char ids[3][19];
    make_ghosts(e, ids);
    emu_set_deleted_earliest(e->f.emu, e->now - 60 * 1000);
    size_t deleted_calls = emu_request_count(e->f.emu, "GET", "*/deleted/*");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY); /* the local update is still pending */
    assert_int_equal(emu_request_count(e->f.emu, "GET", "*/deleted/*"), deleted_calls + 1);
    assert_int_equal(rep.deleted, 1);
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ids[0]), SFA_ENOTFOUND);
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ids[1]), SFA_OK); /* open op */
    sfa_record_free(m);
    assert_int_equal(cached(e), 2);
}

/* The same ghosts, and getDeleted refuses the window with INVALID_REPLICATION_DATE. */
static void test_pull_invalid_replication_date_reconciles(void **state)
{
    env *e = *state;
    char ids[3][19];
    make_ghosts(e, ids);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.method = "GET";
    fault.path_pattern = "/services/data/v*/sobjects/Case/deleted/";
    fault.count = 1;
    fault.status = 400;
    fault.error_code = "INVALID_REPLICATION_DATE";
    fault.message = "startDate cannot be more than 15 days ago";
    assert_true(emu_fault_add(e->f.emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    assert_int_equal(emu_faults_fired(e->f.emu), 1);
    assert_int_equal(rep.deleted, 1);
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ids[0]), SFA_ENOTFOUND);
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ids[1]), SFA_OK);
    sfa_record_free(m);
    assert_int_equal(cached(e), 2);
}

/* Control: without either signal getDeleted resumes from the mark and the ghosts stay,
 * so the two tests above see the reconciliation, not getDeleted. */
static void test_pull_ghosts_stay_without_signal(void **state)
{
    env *e = *state;
    char ids[3][19];
    make_ghosts(e, ids);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    assert_int_equal(rep.deleted, 0);
    assert_int_equal(cached(e), 3);
}

/* A record created here, synced, then pulled back: one mirror row, not two. */
static char *synced_case(env *e, const char *subject)
{
    char json[128];
    snprintf(json, sizeof json, "{\"Subject\":\"%s\",\"Status\":\"New\"}", subject);
    char *local = push_fixture_create(&e->f, "Case", json);
    assert_int_equal(push(e), SFA_OK);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(cached(e), 1);
    return local;
}

static void local_update(env *e, const char *local, const char *json)
{
    assert_int_equal(sfa_record_update(e->f.agent, "Case", local, json), SFA_OK);
}

static char *server_id(env *e, const char *local)
{
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", local), SFA_OK);
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

/* Server changes Status, the agent has an unsent Subject edit: both survive. */
static void test_pull_merge_disjoint_fields(void **state)
{
    env *e = *state;
    char *local = synced_case(e, "mine");
    char *id = server_id(e, local);
    local_update(e, local, "{\"Subject\":\"local edit\"}");
    server_edit(e, id, "{\"Status\":\"Working\"}");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY); /* the local edit is still pending */
    assert_int_equal(rep.updated, 1);
    char *subject = field_of(e, local, "Subject"), *status = field_of(e, local, "Status");
    assert_string_equal(subject, "local edit"); /* never overwritten by the pull */
    assert_string_equal(status, "Working");
    assert_int_equal(push(e), SFA_OK);
    cJSON *srv = emu_record_get(e->f.emu, id);
    assert_string_equal(json_str(srv, "Subject"), "local edit");
    assert_string_equal(json_str(srv, "Status"), "Working");
    cJSON_Delete(srv);
    assert_int_equal(cached(e), 1);
    free(subject);
    free(status);
    free(id);
    free(local);
}

/* Same field on both sides: the local edit stays on top; push sees the conflict. */
static void test_pull_merge_same_field(void **state)
{
    env *e = *state;
    char *local = synced_case(e, "mine");
    char *id = server_id(e, local);
    local_update(e, local, "{\"Subject\":\"local\"}");
    server_edit(e, id, "{\"Subject\":\"server\"}");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    char *subject = field_of(e, local, "Subject");
    assert_string_equal(subject, "local");
    free(subject);
    sfa_sync_report prep;
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.push_only = true;
    assert_int_equal(sfa_sync_run(&prep, e->f.agent, e->f.cfg, &o), SFA_OK);
    assert_int_equal(prep.conflicts_logged, 1); /* local-wins, logged */
    cJSON *srv = emu_record_get(e->f.emu, id);
    assert_string_equal(json_str(srv, "Subject"), "local");
    cJSON_Delete(srv);
    free(id);
    free(local);
}

/* Deleted on the server while a local update waits: the record stays, visibly. */
static void test_pull_server_delete_with_pending_edit_keeps_record(void **state)
{
    env *e = *state;
    char *local = synced_case(e, "mine");
    char *id = server_id(e, local);
    local_update(e, local, "{\"Subject\":\"local\"}");
    assert_int_equal(emu_record_remove(e->f.emu, id), 0);
    pinned_fixture_advance(e, 3 * 60 * 1000);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    assert_int_equal(rep.deleted, 0);
    assert_int_equal(cached(e), 1);
    assert_int_equal(run(e, false, &rep), SFA_EPARTIAL); /* push: dead, ENTITY_IS_DELETED */
    sfa_op_array dead = {0};
    assert_int_equal(sfa_outbox_list(&dead, e->f.agent, SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD), 0),
                     SFA_OK);
    assert_int_equal(dead.count, 1);
    assert_string_equal(dead.items[0].local_id, local);
    assert_string_equal(dead.items[0].last_error_code, "ENTITY_IS_DELETED");
    sfa_op_array_free(&dead);
    assert_int_equal(cached(e), 1);
    free(id);
    free(local);
}

/* A scope filter change resets the mark; records that left the scope leave the cache. */
static void test_pull_scope_change(void **state)
{
    env *e = *state;
    insert_cases(e, 5, "New", NULL);
    insert_cases(e, 3, "Closed", NULL);
    sfa_config_free(e->f.cfg);
    e->f.cfg = push_fixture_config(emu_base_url(e->f.emu),
                                   "objects = Case\n[pull.Case]\nwhere = Status = 'New'\n");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(cached(e), 5);
    sfa_config_free(e->f.cfg);
    e->f.cfg = push_fixture_config(emu_base_url(e->f.emu),
                                   "objects = Case\n[pull.Case]\nwhere = Status = 'Closed'\n");
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 3);
    assert_int_equal(rep.deleted, 5);
    assert_int_equal(cached(e), 3);
}

static void use_where(env *e, const char *where)
{
    char *extra = xasprintf("objects = Case\n[pull.Case]\nwhere = %s\n", where);
    sfa_config_free(e->f.cfg);
    e->f.cfg = push_fixture_config(emu_base_url(e->f.emu), extra);
    free(extra);
}

/* Records edited out of the `where` leave the cache at the next incremental pull (not
 * only at a reconciliation), except one with a pending local edit; one edited back into
 * the scope returns. */
static void test_pull_records_leaving_scope(void **state)
{
    env *e = *state;
    char ids[5][19];
    insert_cases(e, 5, "New", ids);
    use_where(e, "Status != 'Closed'");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(cached(e), 5);
    assert_int_equal(run(e, true, &rep), SFA_OK); /* nothing left: nothing removed */
    assert_int_equal(rep.deleted, 0);
    local_update(e, ids[2], "{\"Subject\":\"local\"}");
    for (int i = 0; i < 3; i++)
        server_edit(e, ids[i], "{\"Status\":\"Closed\"}");
    assert_int_equal(run(e, true, &rep), SFA_ERETRY); /* the local edit is still pending */
    assert_int_equal(rep.deleted, 2);
    assert_int_equal(cached(e), 3); /* ids[2] stays: it has an open op */
    sfa_record *m = NULL;
    assert_int_equal(sfa_record_get(&m, e->f.agent, "Case", ids[0]), SFA_ENOTFOUND);
    sfa_record_free(m);
    server_edit(e, ids[0], "{\"Status\":\"Working\"}");
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    assert_int_equal(rep.pulled, 1);
    assert_int_equal(rep.deleted, 0);
    assert_int_equal(cached(e), 4);
}

/* 450 records leave the scope within one second and pages hold 200: the leaving mark
 * pages through the tie like the high-water mark; each record leaves once. */
static void test_pull_leaving_scope_pages_through_ties(void **state)
{
    env *e = *state;
    static char ids[450][19];
    insert_cases(e, 450, "New", ids);
    insert_cases(e, 2, "New", NULL);
    use_where(e, "Status = 'New' OR Status = 'Working'");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(cached(e), 452);
    pinned_fixture_advance(e, 1000);
    cJSON *closed = cJSON_Parse("{\"Status\":\"Closed\"}");
    for (int i = 0; i < 450; i++)
        assert_int_equal(emu_record_edit(e->f.emu, ids[i], closed), 0);
    cJSON_Delete(closed);
    pinned_fixture_advance(e, 1000);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.deleted, 450);
    assert_int_equal(cached(e), 2);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.deleted, 0);
}

/* The queries' text: the where wrapped in parentheses (negated for records leaving the
 * scope), the mark as a tie-safe pair, the settle bound last. */
static void test_pull_soql_text(void **state)
{
    (void)state;
    pull_scope sc = {.sobject = "Case",
                     .select = "Id, SystemModstamp",
                     .where = "Status = 'New' OR Status = 'Working'"};
    char *q = pull_soql(&sc, "2026-12-01T10:00:00.000+0000", "500000000000001AAA",
                        "2026-12-01T10:05:00Z");
    assert_string_equal(q, "SELECT Id, SystemModstamp FROM Case WHERE (Status = 'New' OR Status = "
                           "'Working') AND (SystemModstamp > 2026-12-01T10:00:00Z OR "
                           "(SystemModstamp = 2026-12-01T10:00:00Z AND Id > "
                           "'500000000000001AAA')) AND SystemModstamp < 2026-12-01T10:05:00Z "
                           "ORDER BY SystemModstamp, Id");
    free(q);
    q = pull_left_soql(&sc, "2026-12-01T10:00:00.000+0000", NULL, "");
    assert_string_equal(q, "SELECT Id, SystemModstamp FROM Case WHERE (NOT (Status = 'New' OR "
                           "Status = 'Working')) AND SystemModstamp >= 2026-12-01T10:00:00Z "
                           "ORDER BY SystemModstamp, Id");
    free(q);
    sc.where = NULL;
    assert_null(pull_left_soql(&sc, "2026-12-01T10:00:00.000+0000", NULL, "")); /* none leave */
    q = pull_soql(&sc, NULL, NULL, NULL);
    assert_string_equal(q, "SELECT Id, SystemModstamp FROM Case ORDER BY SystemModstamp, Id");
    free(q);
}

/* SystemModstamp has one-second resolution: a record edited in the second a pull ended
 * on, with an Id before the mark's, would sort before the mark and be missed for good.
 * With pull_settle_time = 1 a pull never asks for the current second, so the edit made
 * in it arrives with the next pull. */
static void test_pull_settle_keeps_the_current_second_for_later(void **state)
{
    env *e = *state;
    char ids[3][19];
    insert_cases(e, 3, "New", ids); /* all in the pinned second, Ids ascending */
    sfa_config_free(e->f.cfg);
    e->f.cfg =
        push_fixture_config(emu_base_url(e->f.emu), "objects = Case\npull_settle_time = 1\n");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 0); /* the current second waits */
    cJSON *f = cJSON_Parse("{\"Subject\":\"edited in the same second\"}");
    assert_int_equal(emu_record_edit(e->f.emu, ids[0], f), 0); /* same second, smallest Id */
    cJSON_Delete(f);
    pinned_fixture_advance(e, 1000);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 3);
    char *subject = field_of(e, ids[0], "Subject");
    assert_string_equal(subject, "edited in the same second");
    free(subject);
    pinned_fixture_advance(e, 1000);
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 0); /* nothing twice */
    assert_mirror_is_server(e);
}

/* --refresh: online it merges the server's version; an uncached CaseNumber is fetched;
 * offline it fails (the CLI then prints the cached copy). */
static void test_pull_refresh(void **state)
{
    env *e = *state;
    char ids[2][19];
    insert_cases(e, 2, "New", ids);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    server_edit(e, ids[0], "{\"Subject\":\"fresh\"}");
    char *local = NULL;
    assert_int_equal(sfa_sync_refresh(&local, e->f.agent, e->f.cfg, "Case", ids[0]), SFA_OK);
    char *s = field_of(e, ids[0], "Subject");
    assert_string_equal(s, "fresh");
    free(s);
    free(local);
    /* Not cached: by CaseNumber. */
    char id3[19];
    cJSON *f = cJSON_Parse("{\"Subject\":\"new upstream\"}");
    assert_int_equal(emu_record_insert(e->f.emu, "Case", f, id3), 0);
    cJSON_Delete(f);
    cJSON *srv = emu_record_get(e->f.emu, id3);
    char *number = strdup(json_str(srv, "CaseNumber"));
    cJSON_Delete(srv);
    assert_int_equal(sfa_sync_refresh(&local, e->f.agent, e->f.cfg, "Case", number), SFA_OK);
    assert_non_null(local);
    free(local);
    s = field_of(e, number, "Subject");
    assert_string_equal(s, "new upstream");
    free(s);
    assert_int_equal(sfa_sync_refresh(NULL, e->f.agent, e->f.cfg, "Case", "00999999"),
                     SFA_ENOTFOUND);
    free(number);
    /* Offline: Salesforce unreachable, the cached copy untouched. */
    sfa_config *off = push_fixture_config("http://127.0.0.1:1", "objects = Case\n");
    assert_int_equal(sfa_sync_refresh(NULL, e->f.agent, off, "Case", ids[1]), SFA_ENETWORK);
    sfa_config_free(off);
    assert_int_equal(cached(e), 3);
}

/* record_fields holds every field name of every cached record (query_sql.c Q5 relies on
 * it), read on a second connection; and at least min names of sobject. */
static void assert_field_names_kept(env *e, const char *sobject, int min)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(e->f.db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM records r, json_each(r.fields)"
                           " j WHERE NOT EXISTS (SELECT 1 FROM record_fields f WHERE"
                           " f.sobject = r.sobject AND f.name = j.key)),"
                           " (SELECT count(*) FROM record_fields WHERE sobject = ?1)",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    assert_true(sqlite3_column_int(st, 1) >= min);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Every writer of records.fields leaves the names it writes first in record_fields:
 * local create and update, import, push read-back, pull (pages) and refresh (one
 * record). The pull notes its names itself (store/mirror.c M7, migration 0012). */
static void test_pull_every_writer_keeps_field_names(void **state)
{
    env *e = *state;
    char *local = NULL;
    assert_int_equal(sfa_record_create(&local, e->f.agent, "Case", "{\"Subject\":\"local\"}"),
                     SFA_OK);
    assert_field_names_kept(e, "Case", 1);
    assert_int_equal(sfa_record_update(e->f.agent, "Case", local, "{\"Priority\":\"High\"}"),
                     SFA_OK);
    assert_field_names_kept(e, "Case", 2);
    char path[160];
    snprintf(path, sizeof path, "%s/import.jsonl", e->f.dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"Subject\":\"imported\",\"Origin\":\"Web\"}\n", fp);
    fclose(fp);
    int fd = open(path, O_RDONLY);
    sfa_import_result ir;
    assert_int_equal(sfa_record_import(&ir, e->f.agent, "Case", fd, 0), SFA_OK);
    close(fd);
    assert_field_names_kept(e, "Case", 3);
    assert_int_equal(push(e), SFA_OK); /* read-back: CaseNumber and friends */
    assert_field_names_kept(e, "Case", 4);
    insert_cases(e, 3, "New", NULL);
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_OK);
    assert_int_equal(rep.pulled, 5); /* 3 from the server, 2 of ours read back */
    assert_field_names_kept(e, "Case", 5);
    /* A Contact, the first record of its sObject: refresh alone writes its names. */
    char cid[19];
    cJSON *f = cJSON_Parse("{\"LastName\":\"Upstream\"}");
    assert_int_equal(emu_record_insert(e->f.emu, "Contact", f, cid), 0);
    cJSON_Delete(f);
    assert_int_equal(sfa_sync_refresh(NULL, e->f.agent, e->f.cfg, "Contact", cid), SFA_OK);
    assert_field_names_kept(e, "Contact", 2);
    free(local);
}

static sfa_status push_report(env *e, sfa_sync_report *rep)
{
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.ignore_pause = true;
    o.push_only = true;
    return sfa_sync_run(rep, e->f.agent, e->f.cfg, &o);
}

/* A pull brings a newer server base for a record with an unsent edit of another field.
 * The push that follows must see no conflict: under server-wins a false one would drop the
 * local edit (the check used to lose the edit's base once the pull moved the record's). */
static void test_pull_then_push_disjoint_edit_is_not_a_conflict(void **state)
{
    env *e = *state;
    char *local = synced_case(e, "mine");
    char *id = server_id(e, local);
    local_update(e, local, "{\"Status\":\"Working\"}");
    server_edit(e, id, "{\"Subject\":\"theirs\"}");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY); /* pulled; the edit still pending */
    assert_int_equal(rep.updated, 1);
    assert_int_equal(push_report(e, &rep), SFA_OK);
    assert_int_equal(rep.conflicts_logged, 0);
    cJSON *srv = emu_record_get(e->f.emu, id);
    assert_string_equal(json_str(srv, "Status"), "Working"); /* the local edit reached it */
    assert_string_equal(json_str(srv, "Subject"), "theirs");
    cJSON_Delete(srv);
    char *status = field_of(e, local, "Status");
    assert_string_equal(status, "Working");
    free(status);
    free(id);
    free(local);
}

/* The same field on both sides, then a pull: server-wins keeps Salesforce's value, in
 * Salesforce and in the mirror. */
static void test_pull_then_push_same_field_server_wins(void **state)
{
    env *e = *state;
    char *local = synced_case(e, "mine");
    char *id = server_id(e, local);
    local_update(e, local, "{\"Status\":\"Working\"}");
    server_edit(e, id, "{\"Status\":\"Escalated\"}");
    sfa_sync_report rep;
    assert_int_equal(run(e, true, &rep), SFA_ERETRY);
    assert_int_equal(push_report(e, &rep), SFA_OK);
    assert_int_equal(rep.conflicts_logged, 1);
    cJSON *srv = emu_record_get(e->f.emu, id);
    assert_string_equal(json_str(srv, "Status"), "Escalated");
    cJSON_Delete(srv);
    char *status = field_of(e, local, "Status");
    assert_string_equal(status, "Escalated");
    free(status);
    free(id);
    free(local);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_soql_text),
        cmocka_unit_test_setup_teardown(test_pull_ties_across_pages, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_broken_page_commits_nothing_of_it, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_expired_locator_restarts_from_mark, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_server_changes, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_delete_window_exceeded_reconciles, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_delete_log_purged_reconciles, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_invalid_replication_date_reconciles, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_ghosts_stay_without_signal, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_merge_disjoint_fields, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_merge_same_field, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_server_delete_with_pending_edit_keeps_record,
                                        setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_scope_change, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_records_leaving_scope, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_settle_keeps_the_current_second_for_later, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_leaving_scope_pages_through_ties, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_refresh, setup, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_every_writer_keeps_field_names, setup,
                                        pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_then_push_disjoint_edit_is_not_a_conflict,
                                        setup_server_wins, pinned_fixture_free),
        cmocka_unit_test_setup_teardown(test_pull_then_push_same_field_server_wins,
                                        setup_server_wins, pinned_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
