/* The fault x operation matrix (docs/sync-protocol.md#verification, F6/F7/F9/F10 x O2-O5): one row
 * per fault kind of the emulator, one column per op kind (create, update, delete, and a mixed
 * outbox of 1,000 ops). Each cell: a clean baseline, the column's ops queued locally, a
 * few sync runs with the fault hitting a fraction of requests (partial progress), then
 * faults off and sync to convergence, then the checker of matrix_check.h and an extra run
 * that must send no mutating request. Probabilistic faults use the emulator seed printed
 * at the start, so a failing cell replays exactly. `test_matrix --late` runs the two
 * late-arrival cases (real-time settle window, see below). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "matrix_check.h"
#include "push_fixture.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#define MX_SEED       20261129u /* emulator fault randomness */
#define SMALL_N       30        /* records per create/update/delete cell */
#define BACKOFF_CAP_S 4         /* [sync] backoff_cap of the cells */
#define FAULT_RUNS    4         /* sync runs while the fault is active */
#define CONVERGE_RUNS 40        /* bound on runs once faults stop */
#define BOGUS_N       2         /* ops with a restricted picklist value Salesforce refuses */
/* settle_time below the clock jumps of skip_backoffs(): cells have no newer edit racing
 * a late request; the test_late_* cases use a real-time window instead. */
#define SYNC_EXTRA "backoff_base = 1\nbackoff_cap = 4\nsettle_time = 2\n"
/* Longer than LATE_DELAY_MS: the late request lands inside the window. */
#define SYNC_EXTRA_LATE  "backoff_base = 1\nbackoff_cap = 1\nsettle_time = 5\n"
#define SHORT_TIMEOUT_MS 1000 /* SFAGENT_SALESFORCE_TIMEOUT=1 */
#define LATE_DELAY_MS    3000 /* server applies the timed-out create this late */
#define PICKLIST_CODE    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

/* Mixed column: baseline records, then exactly 1,000 queued ops. */
/* More than 200 Case updates and deletes, so each goes as several Collections
 * subrequests in one composite (PATCHes and deletes of 200). */
#define MIX_BASE_CASES    500
#define MIX_BASE_CONTACTS 100
#define MIX_NEW_CONTACTS  150
#define MIX_NEW_CASES     250 /* the first MIX_NEW_CONTACTS reference a new Contact */
#define MIX_UPD_CASES     250 /* baseline Cases 0..249 updated, 250..499 deleted */
#define MIX_UPD_CONTACTS  50  /* baseline Contacts 0..49 updated, 50..99 deleted */
#define MIX_OPS           1000

typedef enum column { COL_CREATE, COL_UPDATE, COL_DELETE, COL_MIXED, COL_COUNT } column;

static const char *const column_names[COL_COUNT] = {"create", "update", "delete", "mixed"};

typedef struct fault_row {
    const char *name;
    emu_fault fault;        /* method NULL + on_mutation: the column's mutating method */
    bool on_mutation;       /* aim at the column's mutating requests only */
    bool short_timeout;     /* [salesforce] timeout = 1 */
    bool limit;             /* a run must stop with SFA_ELIMIT until the limit is raised */
    bool bogus;             /* also queue ops Salesforce refuses (restricted picklist) */
    const char *dead_codes; /* codes a dead op may carry, NULL: none may die */
} fault_row;

#define ANY_API   "/services/data/*"
#define COMPOSITE "/services/data/*/composite*"

/* clang-format off */
static const fault_row rows[] = {
    {.name = "503",
     .fault = {.kind = EMU_FAULT_STATUS, .path_pattern = ANY_API, .probability = 0.3,
               .status = 503, .error_code = "SERVER_UNAVAILABLE", .message = "Server too busy"}},
    {.name = "500",
     .fault = {.kind = EMU_FAULT_STATUS, .path_pattern = ANY_API, .probability = 0.3,
               .status = 500}},
    {.name = "UNABLE_TO_LOCK_ROW", .on_mutation = true,
     .fault = {.kind = EMU_FAULT_RECORD_ERROR, .path_pattern = COMPOSITE, .probability = 0.5,
               .record_index = -1, .error_code = "UNABLE_TO_LOCK_ROW",
               .message = "unable to obtain exclusive access to this record"}},
    {.name = "delay past timeout", .on_mutation = true, .short_timeout = true,
     .fault = {.kind = EMU_FAULT_DELAY, .path_pattern = COMPOSITE, .count = 1,
               .delay_ms = 1500}},
    {.name = "drop before apply",
     .fault = {.kind = EMU_FAULT_DROP_BEFORE, .path_pattern = ANY_API, .probability = 0.3}},
    {.name = "drop after apply",
     .fault = {.kind = EMU_FAULT_DROP_AFTER, .path_pattern = ANY_API, .probability = 0.3}},
    {.name = "truncated answer",
     .fault = {.kind = EMU_FAULT_TRUNCATE, .path_pattern = ANY_API, .probability = 0.3}},
    {.name = "invalid JSON",
     .fault = {.kind = EMU_FAULT_INVALID_JSON, .path_pattern = ANY_API, .probability = 0.3}},
    {.name = "token expiry",
     .fault = {.kind = EMU_FAULT_EXPIRE_TOKEN, .path_pattern = ANY_API, .probability = 0.3}},
    {.name = "limit exhausted", .limit = true,
     .fault = {.kind = EMU_FAULT_LIMIT, .path_pattern = ANY_API, .count = 1,
               .probability = 0.5}},
    {.name = "record validation", .on_mutation = true, .bogus = true,
     .dead_codes = "STRING_TOO_LONG," PICKLIST_CODE,
     .fault = {.kind = EMU_FAULT_RECORD_ERROR, .path_pattern = COMPOSITE, .count = 2,
               .record_index = 0, .error_code = "STRING_TOO_LONG",
               .message = "Subject: data value too large"}},
};
/* clang-format on */

typedef struct cell {
    push_fixture *f;
    mx_model model;
    char **bogus; /* local ids whose op Salesforce must refuse */
    size_t nbogus;
} cell;

static cJSON *fetch_inproc(void *ctx, const char *sobject, bool include_deleted)
{
    return emu_records(ctx, sobject, include_deleted);
}

static size_t requests_with_status(emu *e, int status)
{
    cJSON *log = emu_request_log(e);
    size_t n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, log)
    {
        n += (int)json_num(r, "status", 0) == status;
    }
    cJSON_Delete(log);
    return n;
}

/* MX_SEED, or $SFA_MATRIX_SEED to explore (or replay) other fault sequences. */
static uint64_t matrix_seed(void)
{
    const char *s = getenv("SFA_MATRIX_SEED");
    return s ? strtoull(s, NULL, 10) : MX_SEED;
}

static int setup(void **state)
{
    push_fixture *f = xcalloc(1, sizeof *f);
    emu_options eo = EMU_OPTIONS_INIT;
    eo.seed = matrix_seed();
    if (push_fixture_setup(f, &eo, SYNC_EXTRA) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    push_fixture *f = *state;
    unsetenv("SFAGENT_SALESFORCE_TIMEOUT");
    push_fixture_teardown(f);
    free(f);
    return 0;
}

static void reload_config_with(push_fixture *f, bool short_timeout, const char *extra)
{
    if (short_timeout)
        setenv("SFAGENT_SALESFORCE_TIMEOUT", "1", 1); /* env overrides the fixture's 5 s */
    else
        unsetenv("SFAGENT_SALESFORCE_TIMEOUT");
    sfa_config_free(f->cfg);
    f->cfg = push_fixture_config(emu_base_url(f->emu), extra);
    assert_non_null(f->cfg);
}

static void reload_config(push_fixture *f, bool short_timeout)
{
    reload_config_with(f, short_timeout, SYNC_EXTRA);
}

/* An empty emulator and a new database for the next cell. */
static void fresh_cell(push_fixture *f)
{
    time_set_override(0);
    emu_reset(f->emu);
    emu_set_api_limit(f->emu, 100000000);
    sfa_agent_free(f->agent);
    f->agent = NULL;
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", f->db_path, suffix[i]);
        unlink(p);
        free(p);
    }
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.durability = SFA_DURABILITY_NORMAL;
    assert_int_equal(sfa_agent_open(&f->agent, f->db_path, &oo), SFA_OK);
    reload_config(f, false);
}

/* ---- local writes, each recorded in the model once the store acknowledged it ---- */

static char *create(cell *c, const char *sobject, const char *json)
{
    char *id = push_fixture_create(c->f, sobject, json);
    assert_non_null(id);
    mx_model_create(&c->model, sobject, id, json);
    return id;
}

static char *create_case(cell *c, const char *tag, int i, const char *contact)
{
    char *json =
        contact ? xasprintf("{\"Subject\":\"%s-%d\",\"ContactId\":\"%s\"}", tag, i, contact)
                : xasprintf("{\"Subject\":\"%s-%d\",\"Description\":\"d-%s-%d\"}", tag, i, tag, i);
    char *id = create(c, "Case", json);
    free(json);
    return id;
}

static char *create_contact(cell *c, const char *tag, int i)
{
    char *json = xasprintf("{\"LastName\":\"%s-%d\",\"FirstName\":\"f%d\"}", tag, i, i);
    char *id = create(c, "Contact", json);
    free(json);
    return id;
}

static void update(cell *c, const char *sobject, const char *id, const char *json)
{
    assert_int_equal(sfa_record_update(c->f->agent, sobject, id, json), SFA_OK);
    mx_model_update(&c->model, id, json);
}

static void delete (cell *c, const char *sobject, const char *id)
{
    assert_int_equal(sfa_record_delete(c->f->agent, sobject, id), SFA_OK);
    mx_model_delete(&c->model, id);
}

static void baseline_sync(cell *c)
{
    sfa_sync_report rep;
    assert_int_equal(push_fixture_converge(c->f, 5, &rep), SFA_OK);
    time_set_override(0);
}

static char **baseline(cell *c, const char *sobject, int n)
{
    char **ids = xcalloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = strcmp(sobject, "Case") == 0 ? create_case(c, "base", i, NULL)
                                              : create_contact(c, "base", i);
    return ids;
}

/* Ops Salesforce refuses whatever the network does: a restricted picklist value. */
static void queue_bogus(cell *c, char **synced_cases)
{
    c->bogus = xcalloc(BOGUS_N, sizeof *c->bogus);
    for (int i = 0; i < BOGUS_N; i++) {
        const char *json = "{\"Subject\":\"bogus\",\"Status\":\"Bogus\"}";
        if (synced_cases) {
            /* the last records: the STRING_TOO_LONG fault hits the first of a batch */
            const char *id = synced_cases[SMALL_N - 1 - i];
            update(c, "Case", id, json);
            c->bogus[i] = xstrdup(id);
        } else {
            c->bogus[i] = create(c, "Case", json);
        }
    }
    c->nbogus = BOGUS_N;
}

/* ---- the columns ---- */

static void queue_small(cell *c, column col, bool bogus)
{
    if (col == COL_CREATE) {
        for (int i = 0; i < SMALL_N; i++)
            free(create_case(c, "new", i, NULL));
        if (bogus)
            queue_bogus(c, NULL);
        return;
    }
    char **ids = baseline(c, "Case", SMALL_N);
    baseline_sync(c);
    for (int i = 0; i < SMALL_N; i++) {
        if (col == COL_DELETE) {
            delete (c, "Case", ids[i]);
        } else {
            char *json = xasprintf("{\"Subject\":\"upd-%d\",\"Priority\":\"%s\"}", i,
                                   i % 2 ? "High" : "Low");
            update(c, "Case", ids[i], json);
            free(json);
        }
    }
    if (bogus && col == COL_UPDATE)
        queue_bogus(c, ids); /* a second update of the first records */
    push_fixture_free_ids(ids, SMALL_N);
}

static void queue_mixed(cell *c, bool bogus)
{
    char **cases = baseline(c, "Case", MIX_BASE_CASES);
    char **contacts = baseline(c, "Contact", MIX_BASE_CONTACTS);
    baseline_sync(c);
    char **fresh = xcalloc(MIX_NEW_CONTACTS, sizeof *fresh);
    for (int i = 0; i < MIX_NEW_CONTACTS; i++)
        fresh[i] = create_contact(c, "new", i);
    for (int i = 0; i < MIX_NEW_CASES; i++) /* interleaved with updates and deletes */ {
        free(create_case(c, "new", i, i < MIX_NEW_CONTACTS ? fresh[i] : NULL));
        if (i < MIX_UPD_CASES) {
            char *json = xasprintf("{\"Subject\":\"mixupd-%d\"}", i);
            update(c, "Case", cases[i], json);
            free(json);
        }
        if (i < MIX_BASE_CASES - MIX_UPD_CASES)
            delete (c, "Case", cases[MIX_UPD_CASES + i]);
        if (i < MIX_UPD_CONTACTS) {
            char *json = xasprintf("{\"FirstName\":\"mixupd-%d\"}", i);
            update(c, "Contact", contacts[i], json);
            free(json);
        }
        if (i < MIX_BASE_CONTACTS - MIX_UPD_CONTACTS)
            delete (c, "Contact", contacts[MIX_UPD_CONTACTS + i]);
    }
    sfa_outbox_stats st;
    assert_int_equal(sfa_outbox_stats_get(&st, c->f->agent), SFA_OK);
    assert_int_equal(st.pending, MIX_OPS);
    if (bogus)
        queue_bogus(c, NULL);
    push_fixture_free_ids(fresh, MIX_NEW_CONTACTS);
    push_fixture_free_ids(cases, MIX_BASE_CASES);
    push_fixture_free_ids(contacts, MIX_BASE_CONTACTS);
}

/* ---- running a cell ---- */

static const char *mutating_method(column col)
{
    return col == COL_DELETE ? "DELETE" : col == COL_MIXED ? NULL : "POST";
}

/* Backoffs are jittered per op, so moving the clock to the earliest due op makes one op
 * due per run; moving it past backoff_cap makes every backed-off op due. */
static void skip_backoffs(void)
{
    time_set_override(time_now_ms() + (BACKOFF_CAP_S + 1) * 1000);
}

/* Sync runs with the fault active; returns how many ended with SFA_ELIMIT. */
static int fault_phase(push_fixture *f)
{
    int limited = 0;
    for (int i = 0; i < FAULT_RUNS; i++) {
        sfa_sync_report rep;
        sfa_status rc = push_fixture_sync(f, &rep);
        limited += rc == SFA_ELIMIT;
        skip_backoffs();
    }
    return limited;
}

/* Faults off: sync until nothing is left to retry; returns the last status. */
static sfa_status converge(push_fixture *f, int *runs)
{
    sfa_status rc = SFA_ERETRY;
    for (*runs = 0; *runs < CONVERGE_RUNS && (rc == SFA_ERETRY || rc == SFA_ELIMIT);) {
        sfa_sync_report rep;
        rc = push_fixture_sync(f, &rep);
        (*runs)++;
        skip_backoffs();
    }
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Faults off: sync until nothing is left to retry, in real time (no clock jumps: the
 * settle window must really pass, as the late request really lands). */
static sfa_status converge_real(push_fixture *f, int64_t max_ms)
{
    time_set_override(0);
    int64_t t0 = mono_ms();
    sfa_status rc = SFA_ERETRY;
    while ((rc == SFA_ERETRY || rc == SFA_ELIMIT) && mono_ms() - t0 < max_ms) {
        sfa_sync_report rep;
        rc = push_fixture_sync(f, &rep);
        if (rc == SFA_ERETRY)
            usleep(250000);
    }
    return rc;
}

/* Until the limit is raised, runs keep stopping at it and nothing more gets done. */
static void assert_limit_holds(push_fixture *f)
{
    sfa_outbox_stats before, after;
    assert_int_equal(sfa_outbox_stats_get(&before, f->agent), SFA_OK);
    for (int i = 0; i < 2; i++) {
        sfa_sync_report rep;
        assert_int_equal(push_fixture_sync(f, &rep), SFA_ELIMIT);
        skip_backoffs();
    }
    assert_int_equal(sfa_outbox_stats_get(&after, f->agent), SFA_OK);
    assert_int_equal(after.done, before.done);
}

/* Every op Salesforce refuses is dead with its code, whatever the faults did. */
static void check_bogus(cell *c)
{
    for (size_t i = 0; i < c->nbogus; i++) {
        sfa_op_array ops = {0};
        assert_int_equal(sfa_outbox_list(&ops, c->f->agent, SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD), 0),
                         SFA_OK);
        bool found = false;
        for (size_t k = 0; k < ops.count; k++)
            if (strcmp(ops.items[k].local_id, c->bogus[i]) == 0 &&
                strcmp(ops.items[k].last_error_code, PICKLIST_CODE) == 0)
                found = true;
        sfa_op_array_free(&ops);
        if (!found)
            fprintf(stderr, "matrix: refused op of %s is not dead with %s\n", c->bogus[i],
                    PICKLIST_CODE);
        assert_true(found);
        free(c->bogus[i]);
    }
    free(c->bogus);
}

/* The row's fault aimed at the column: small cells make one or two requests, so a
 * probabilistic fault hits their first two for sure instead. */
static emu_fault cell_fault(const fault_row *row, column col)
{
    emu_fault fault = row->fault;
    if (row->on_mutation)
        fault.method = mutating_method(col);
    if (col != COL_MIXED && fault.probability > 0) {
        fault.probability = 0;
        fault.count = 2;
    } else if (col == COL_MIXED && fault.count > 0) {
        fault.count *= 2;
    }
    return fault;
}

static void run_cell(push_fixture *f, const fault_row *row, column col)
{
    int64_t t0 = mono_ms();
    fresh_cell(f);
    cell c = {.f = f};
    if (col == COL_MIXED)
        queue_mixed(&c, row->bogus);
    else
        queue_small(&c, col, row->bogus && col != COL_DELETE);
    emu_fault fault = cell_fault(row, col);
    reload_config(f, row->short_timeout);
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    int limited = fault_phase(f);
    size_t fired = emu_faults_fired(f->emu);
    emu_faults_clear(f->emu);
    if (row->limit && limited > 0)
        assert_limit_holds(f);
    /* A limit fault sets usage to the limit: raise the limit above it. */
    emu_set_api_limit(f->emu, emu_api_usage(f->emu) + 1000000);
    int runs = 0;
    sfa_status rc = converge(f, &runs);
    if (fault.kind == EMU_FAULT_DELAY) /* let timed-out requests land before looking */
        usleep((useconds_t)(fault.delay_ms - SHORT_TIMEOUT_MS + 300) * 1000);
    size_t before = push_fixture_mutations(f);
    sfa_sync_report again;
    sfa_status rc2 = push_fixture_sync(f, &again);
    size_t extra = push_fixture_mutations(f) - before;
    mx_result res;
    mx_check(&res, &c.model, f->agent, f->db_path, fetch_inproc, f->emu, row->dead_codes);
    fprintf(
        stderr,
        "matrix %-18s x %-6s: fired %zu, final %s after %d runs, done records %zu, dead ops %zu, "
        "blocked %zu, violations %zu, extra mutations %zu, %lld ms\n",
        row->name, column_names[col], fired, sfa_strerror(rc), runs, res.done_recs, res.dead_ops,
        res.blocked, res.violations, extra, (long long)(mono_ms() - t0));
    time_set_override(0);
    assert_true(fired > 0); /* a fault that never fired tested nothing */
    assert_int_equal(res.violations, 0);
    assert_int_equal(extra, 0); /* 8.5.8: an idempotent rerun sends nothing */
    /* 8.5.2: an upsert never matched two records ("matched multiple times"). */
    assert_int_equal(requests_with_status(f->emu, 300), 0);
    assert_int_equal(rc2, rc);
    if (row->limit)
        assert_true(limited > 0);
    if (row->dead_codes) {
        assert_true(rc == SFA_EPARTIAL);
        assert_true(res.dead_ops > 0);
    } else {
        assert_int_equal(rc, SFA_OK);
    }
    check_bogus(&c);
    mx_model_free(&c.model);
}

static void run_row(void **state, size_t r)
{
    push_fixture *f = *state;
    for (column col = 0; col < COL_COUNT; col++)
        run_cell(f, &rows[r], col);
}

/* One cmocka test per fault row (a row runs all four op columns). */
#define ROW_TEST(fn, index)                                                                        \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        run_row(state, index);                                                                     \
    }

ROW_TEST(test_matrix_503, 0)
ROW_TEST(test_matrix_500, 1)
ROW_TEST(test_matrix_unable_to_lock_row, 2)
ROW_TEST(test_matrix_delay_past_timeout, 3)
ROW_TEST(test_matrix_drop_before_apply, 4)
ROW_TEST(test_matrix_drop_after_apply, 5)
ROW_TEST(test_matrix_truncated_answer, 6)
ROW_TEST(test_matrix_invalid_json, 7)
ROW_TEST(test_matrix_token_expiry, 8)
ROW_TEST(test_matrix_limit_exhausted, 9)
ROW_TEST(test_matrix_record_validation, 10)

/* The checker can fail: an edited, a removed and an unexpected server record are one
 * violation each, a create never synced two (op still pending, record missing). */
static void test_checker_catches_violations(void **state)
{
    push_fixture *f = *state;
    fresh_cell(f);
    cell c = {.f = f};
    char *a = create_case(&c, "chk", 0, NULL), *b = create_case(&c, "chk", 1, NULL);
    baseline_sync(&c);
    mx_result res;
    assert_int_equal(mx_check(&res, &c.model, f->agent, f->db_path, fetch_inproc, f->emu, NULL), 0);
    sfa_record *ra = push_fixture_record(f, "Case", a), *rb = push_fixture_record(f, "Case", b);
    cJSON *edit = cJSON_CreateObject();
    cJSON_AddStringToObject(edit, "Subject", "changed behind our back");
    assert_int_equal(emu_record_edit(f->emu, ra->sf_id, edit), 0);
    assert_int_equal(emu_record_remove(f->emu, rb->sf_id), 0);
    cJSON_ReplaceItemInObject(edit, "Subject", cJSON_CreateString("stranger"));
    cJSON_AddStringToObject(edit, "Sync_Key__c", "loc-NEVERSEEN");
    char id[19];
    assert_int_equal(emu_record_insert(f->emu, "Case", edit, id), 0);
    cJSON_Delete(edit);
    free(create_case(&c, "unsynced", 2, NULL));
    assert_int_equal(mx_check(&res, &c.model, f->agent, f->db_path, fetch_inproc, f->emu, NULL), 5);
    sfa_record_free(ra);
    sfa_record_free(rb);
    free(a);
    free(b);
    mx_model_free(&c.model);
}

/* F7 "hang past the timeout" with a late arrival. The create times out on the client
 * (timeout 1 s) but the server applies it 3 s later: Salesforce keeps executing a request
 * whose client went away. The key query right after the timeout finds nothing yet; were
 * the create sent again and the newer update pushed at once, the late create (an upsert
 * that now matches) would write the older values back while the agent believed
 * 'late-newer' synced (lost update, docs/sync-protocol.md#settle-time). The engine waits
 * settle_time (reconcile.c I4) before sending anything more for that record. */
static void test_late_create_does_not_undo_update(void **state)
{
    push_fixture *f = *state;
    fresh_cell(f);
    reload_config_with(f, true, SYNC_EXTRA_LATE);
    cell c = {.f = f};
    char *id = create_case(&c, "late", 0, NULL);
    emu_fault slow = {
        .kind = EMU_FAULT_DELAY, .path_pattern = COMPOSITE, .count = 1, .delay_ms = LATE_DELAY_MS};
    assert_true(emu_fault_add(f->emu, &slow) > 0);
    int64_t t0 = mono_ms();
    sfa_sync_report rep;
    /* Times out; the same run (or the next) finds no record by key yet and sends again. */
    push_fixture_sync(f, &rep);
    update(&c, "Case", id, "{\"Subject\":\"late-newer\"}");
    sfa_status rc = converge_real(f, 15000);
    int64_t resent_at = mono_ms() - t0;
    /* Let the delayed first create land, then look. */
    while (mono_ms() - t0 < LATE_DELAY_MS + 500)
        usleep(50000);
    assert_int_equal(emu_faults_fired(f->emu), 1);
    mx_result res;
    mx_check(&res, &c.model, f->agent, f->db_path, fetch_inproc, f->emu, NULL);
    fprintf(stderr, "late create: converged (%s) %lld ms after the first send; %zu violations\n",
            sfa_strerror(rc), (long long)resent_at, res.violations);
    assert_int_equal(rc, SFA_OK);
    assert_int_equal(res.violations, 0);
    free(id);
    mx_model_free(&c.model);
}

/* The same with an update: a PATCH that timed out must not be followed by the newer value
 * before the settle window passed, or the late PATCH would restore the older value. */
static void test_late_update_does_not_undo_update(void **state)
{
    push_fixture *f = *state;
    fresh_cell(f);
    cell c = {.f = f};
    char *id = create_case(&c, "late", 0, NULL);
    baseline_sync(&c);
    reload_config_with(f, true, SYNC_EXTRA_LATE);
    update(&c, "Case", id, "{\"Subject\":\"late-older\"}");
    emu_fault slow = {.kind = EMU_FAULT_DELAY,
                      .method = "POST",
                      .path_pattern = COMPOSITE,
                      .count = 1,
                      .delay_ms = LATE_DELAY_MS};
    assert_true(emu_fault_add(f->emu, &slow) > 0);
    int64_t t0 = mono_ms();
    sfa_sync_report rep;
    push_fixture_sync(f, &rep);
    update(&c, "Case", id, "{\"Subject\":\"late-newer\"}");
    sfa_status rc = converge_real(f, 15000);
    while (mono_ms() - t0 < LATE_DELAY_MS + 500)
        usleep(50000);
    assert_int_equal(emu_faults_fired(f->emu), 1);
    mx_result res;
    mx_check(&res, &c.model, f->agent, f->db_path, fetch_inproc, f->emu, NULL);
    fprintf(stderr, "late update: converged (%s); %zu violations\n", sfa_strerror(rc),
            res.violations);
    assert_int_equal(res.violations, 0);
    free(id);
    mx_model_free(&c.model);
}

/* `test_matrix` runs the matrix; `test_matrix --late` runs only the late-arrival cases
 * (their own ctest, test_matrix_late_arrival: they wait in real time). */
int main(int argc, char **argv)
{
    fprintf(stderr, "matrix: emulator fault seed %llu (SFA_MATRIX_SEED to change)\n",
            (unsigned long long)matrix_seed());
    const struct CMUnitTest late[] = {
        cmocka_unit_test_setup_teardown(test_late_create_does_not_undo_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_update_does_not_undo_update, setup, teardown),
    };
    if (argc > 1 && strcmp(argv[1], "--late") == 0)
        return cmocka_run_group_tests(late, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checker_catches_violations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_unable_to_lock_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_delay_past_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_drop_before_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_drop_after_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_truncated_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_invalid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_token_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_limit_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matrix_record_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
