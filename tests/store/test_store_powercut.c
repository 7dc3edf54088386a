/* Power loss (docs/sync-protocol.md#verification, O1 x F3 and O10 x F3) with the faultvfs power-cut
 * mode: a seeded random workload of creates, updates and deletes through the public API, the power
 * cut at a random VFS call (or between writes), then a fresh open without the shim.
 *
 * Pass criteria (8.5, 1 and 5): integrity_check and store_check_invariants pass after
 * every cut; with synchronous=FULL every acknowledged write is there (mirror row and its
 * outbox op); with durability=normal the state is the one after some prefix of the
 * acknowledged writes (only the newest may be lost); a cut while a fresh database is
 * created and migrated leaves either nothing usable or the whole schema, never a
 * user_version that disagrees with the tables.
 *
 * The seed is printed; SFA_SEED=<n> replays a run. */
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

#include "sfagent/outbox.h"
#include "sfagent/record.h"
#include "store/fault_vfs.h"
#include "store/migrations.h"
#include "store/sql.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/json.h"

#define MAX_RECS       256
#define WRITES_PER_CUT 8

/* What the test expects of one record. */
typedef struct rec {
    char id[48];
    char subject[24];
    bool alive;
} rec;

typedef struct model {
    rec r[MAX_RECS];
    int n;
} model;

/* The write that was in progress when the power went: it may or may not be there. */
typedef struct pending_write {
    enum { PW_NONE, PW_CREATE, PW_UPDATE, PW_DELETE } kind;
    int idx; /* update/delete: index in the model */
    char subject[24];
} pending_write;

static unsigned test_seed(void)
{
    const char *s = getenv("SFA_SEED");
    unsigned seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
    return seed;
}

static int alive_count(const model *m)
{
    int n = 0;
    for (int i = 0; i < m->n; i++)
        n += m->r[i].alive;
    return n;
}

static int random_alive(const model *m, unsigned *seed)
{
    int n = alive_count(m);
    if (n == 0)
        return -1;
    int k = (int)(rand_r(seed) % (unsigned)n);
    for (int i = 0; i < m->n; i++)
        if (m->r[i].alive && k-- == 0)
            return i;
    return -1;
}

/* The observed state: alive records (local id -> Subject) as the mirror lists them. */
typedef struct observed {
    char id[MAX_RECS][48];
    char subject[MAX_RECS][24];
    int n;
} observed;

static const char *subject_of(const char *fields_json, char *buf, size_t len)
{
    cJSON *o = cJSON_Parse(fields_json);
    const char *s = o ? json_str(o, "Subject") : NULL;
    snprintf(buf, len, "%s", s ? s : "(none)");
    cJSON_Delete(o);
    return buf;
}

/* The Subject the record's open ops carry, folded in seq order ("(none)" if no op sets
 * it); *nops gets how many open ops the record has. */
static void fold_ops(const sfa_op_array *ops, const char *id, char *buf, size_t len, int *nops)
{
    snprintf(buf, len, "(none)");
    *nops = 0;
    for (size_t i = 0; i < ops->count; i++) {
        const sfa_op *op = &ops->items[i];
        if (strcmp(op->local_id, id) != 0 || op->state == SFA_OP_STATE_DONE)
            continue;
        (*nops)++;
        if (op->fields_json) {
            char s[24];
            subject_of(op->fields_json, s, sizeof s);
            if (strcmp(s, "(none)") != 0)
                snprintf(buf, len, "%s", s);
        }
    }
}

/* Read the mirror; every dirty record must have an open op whose folded Subject equals
 * the mirror's: the op and the mirror row travel together. */
static void observe(sfa_agent *a, observed *ob)
{
    sfa_record_array arr = {0};
    sfa_list_options lo = SFA_LIST_OPTIONS_INIT;
    assert_int_equal(sfa_record_list(&arr, a, "Case", &lo), SFA_OK);
    sfa_op_array ops = {0};
    assert_int_equal(sfa_outbox_list(&ops, a, SFA_OP_STATES_ALL, 0), SFA_OK);
    assert_true(arr.count <= MAX_RECS);
    ob->n = (int)arr.count;
    for (size_t i = 0; i < arr.count; i++) {
        snprintf(ob->id[i], sizeof ob->id[i], "%s", arr.items[i].local_id);
        subject_of(arr.items[i].fields_json, ob->subject[i], sizeof ob->subject[i]);
        char folded[24];
        int nops = 0;
        fold_ops(&ops, ob->id[i], folded, sizeof folded, &nops);
        if (nops == 0 && !arr.items[i].dirty)
            continue; /* "pushed" (mark_pushed): the mirror is the server base */
        if (nops == 0 || strcmp(folded, ob->subject[i]) != 0)
            fail_msg("record %s: mirror Subject %s but its %d open ops carry %s", ob->id[i],
                     ob->subject[i], nops, folded);
    }
    sfa_op_array_free(&ops);
    sfa_record_array_free(&arr);
}

static int observed_find(const observed *ob, const char *id)
{
    for (int i = 0; i < ob->n; i++)
        if (strcmp(ob->id[i], id) == 0)
            return i;
    return -1;
}

/* Does ob equal m, allowing (extra_subject non-NULL) one more record with that Subject?
 * On a match with the extra record, *extra gets its index in ob. */
static bool matches(const observed *ob, const model *m, const char *extra_subject, int *extra)
{
    int alive = alive_count(m);
    *extra = -1;
    if (ob->n != alive && !(extra_subject && ob->n == alive + 1))
        return false;
    int seen = 0;
    for (int i = 0; i < m->n; i++) {
        if (!m->r[i].alive)
            continue;
        int j = observed_find(ob, m->r[i].id);
        if (j < 0 || strcmp(ob->subject[j], m->r[i].subject) != 0)
            return false;
        seen++;
    }
    if (ob->n == seen)
        return true;
    for (int j = 0; j < ob->n; j++) {
        bool known = false;
        for (int i = 0; i < m->n && !known; i++)
            known = m->r[i].alive && strcmp(m->r[i].id, ob->id[j]) == 0;
        if (!known) {
            *extra = j;
            return strcmp(ob->subject[j], extra_subject) == 0;
        }
    }
    return false;
}

/* The model with the interrupted write applied (creates are matched by Subject). */
static void apply_pending(model *m, const pending_write *pw)
{
    if (pw->kind == PW_UPDATE)
        snprintf(m->r[pw->idx].subject, sizeof m->r[pw->idx].subject, "%s", pw->subject);
    else if (pw->kind == PW_DELETE)
        m->r[pw->idx].alive = false;
}

static void check_integrity(sfa_agent *a)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(a), "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    char *why = NULL;
    if (!store_check_invariants(a, &why))
        fail_msg("invariants: %s", why ? why : "?");
}

typedef struct run {
    store_fixture *f;
    sfa_durability durability;
    bool garble;
    unsigned seed, seed0;
    model m;
    model *snaps; /* the model after each acknowledged write of the current trial */
    int nsnaps;
    int max_io; /* VFS calls of the longest trial seen, to place the cut */
    int counter;
    int cuts, lost_acked;
    int partial; /* cuts after which some but not all of a trial's writes survived */
    int cut_in_open, cut_in_write, cut_between; /* where the power went */
} run;

/* Forget deleted records so the model never fills up. */
static void compact(model *m)
{
    int k = 0;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].alive)
            m->r[k++] = m->r[i];
    m->n = k;
}

/* One write of the workload; returns its status and describes it in *pw. */
static sfa_status one_write(run *r, sfa_agent *a, pending_write *pw)
{
    model *m = &r->m;
    int alive = alive_count(m);
    pw->kind = PW_NONE;
    unsigned dice = (unsigned)rand_r(&r->seed) % 100;
    pw->idx = random_alive(m, &r->seed);
    snprintf(pw->subject, sizeof pw->subject, "s%d", ++r->counter);
    if (pw->idx < 0 || m->n >= MAX_RECS - 1 || dice < (alive < 20 ? 45u : 15u)) {
        if (m->n >= MAX_RECS - 1)
            return SFA_OK; /* model full: nothing more to do this run */
        pw->kind = PW_CREATE;
        char *json = xasprintf("{\"Subject\":\"%s\"}", pw->subject);
        char *id = NULL;
        sfa_status st = sfa_record_create(&id, a, "Case", json);
        free(json);
        if (st == SFA_OK) {
            rec *nr = &m->r[m->n++];
            snprintf(nr->id, sizeof nr->id, "%s", id);
            snprintf(nr->subject, sizeof nr->subject, "%s", pw->subject);
            nr->alive = true;
        }
        free(id);
        return st;
    }
    if (dice < 70) {
        pw->kind = PW_UPDATE;
        char *json = xasprintf("{\"Subject\":\"%s\"}", pw->subject);
        sfa_status st = sfa_record_update(a, "Case", m->r[pw->idx].id, json);
        free(json);
        if (st == SFA_OK)
            apply_pending(m, pw);
        return st;
    }
    pw->kind = PW_DELETE;
    sfa_status st = sfa_record_delete(a, "Case", m->r[pw->idx].id);
    if (st == SFA_OK)
        apply_pending(m, pw);
    return st;
}

static sfa_agent *open_plain(const char *path, sfa_durability d)
{
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.durability = d;
    sfa_status st = sfa_agent_open(&a, path, &o);
    if (st != SFA_OK)
        fail_msg("reopen after power cut: %s", sfa_agent_errmsg(a));
    return a;
}

/* Workload until the power goes (at a random VFS call, or between writes). */
static void trial_workload(run *r, pending_write *pw)
{
    /* Up to a quarter past the longest trial seen, so some trials end uncut. */
    unsigned span = (unsigned)(r->max_io + r->max_io / 4);
    int cut_at = 1 + (int)((unsigned)rand_r(&r->seed) % span);
    fault_vfs_power_begin((unsigned)rand_r(&r->seed), r->garble);
    fault_vfs_power_cut_at(cut_at);
    setenv("SFA_SQLITE_VFS", FAULT_VFS_NAME, 1);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.durability = r->durability;
    sfa_status st = sfa_agent_open(&a, r->f->path, &o);
    unsetenv("SFA_SQLITE_VFS");
    compact(&r->m);
    r->nsnaps = 0;
    r->snaps[r->nsnaps++] = r->m;
    pw->kind = PW_NONE;
    if (st != SFA_OK && !fault_vfs_power_is_cut())
        fail_msg("open failed without a power cut: %s", sfa_agent_errmsg(a));
    if (fault_vfs_power_is_cut())
        r->cut_in_open++;
    for (int i = 0; st == SFA_OK && i < WRITES_PER_CUT; i++) {
        st = one_write(r, a, pw);
        if (st != SFA_OK && !fault_vfs_power_is_cut())
            fail_msg("write failed without a power cut: %s", sfa_agent_errmsg(a));
        if (st == SFA_OK) {
            r->snaps[r->nsnaps++] = r->m;
            pw->kind = PW_NONE;
        } else {
            r->cut_in_write++;
        }
    }
    if (!fault_vfs_power_is_cut()) {
        /* The length of a whole trial: cut points are drawn up to a bit past it. */
        r->max_io = (int)fault_vfs_power_io_count();
        r->cut_between++;
        fault_vfs_power_cut(); /* between two writes: everything acknowledged is synced */
    }
    sfa_agent_free(a); /* the dead process drops its handles; nothing reaches the files */
    fault_vfs_power_end();
}

/* After the reopen: find which state survived and continue from it. */
static void trial_check(run *r, const pending_write *pw)
{
    sfa_agent *a = open_plain(r->f->path, r->durability);
    check_integrity(a);
    observed *ob = xcalloc(1, sizeof *ob);
    observe(a, ob);
    int last = r->nsnaps - 1, extra = -1;
    model with = r->snaps[last];
    apply_pending(&with, pw);
    bool ok = matches(ob, &with, pw->kind == PW_CREATE ? pw->subject : NULL, &extra);
    model chosen = with;
    /* FULL: all acknowledged writes (plus maybe the interrupted one). NORMAL: the state
     * after some prefix of them (the newest ones may roll back). */
    for (int k = last; !ok && k >= 0; k--) {
        ok = matches(ob, &r->snaps[k], NULL, &extra);
        chosen = r->snaps[k];
        if (ok && k < last && r->durability == SFA_DURABILITY_FULL)
            fail_msg("seed %u: %d acknowledged writes lost under synchronous=FULL", r->seed0,
                     last - k);
        if (ok)
            r->lost_acked += last - k;
        if (ok && k > 0 && k < last)
            r->partial++;
    }
    if (!ok)
        fail_msg("seed %u: state after power cut %d matches no acknowledged prefix", r->seed0,
                 r->cuts + 1);
    if (extra >= 0) {
        rec *nr = &chosen.r[chosen.n++];
        snprintf(nr->id, sizeof nr->id, "%s", ob->id[extra]);
        snprintf(nr->subject, sizeof nr->subject, "%s", ob->subject[extra]);
        nr->alive = true;
    }
    r->m = chosen;
    r->cuts++;
    free(ob);
    sfa_agent_free(a);
}

/* Pretend a push ran: every open op done, every record synced with an Id, so later
 * updates and deletes append their own ops instead of folding into an unsent create. */
static void mark_pushed(const char *path)
{
    raw_exec(path, "BEGIN IMMEDIATE;"
                   "UPDATE outbox SET state = 'done' WHERE state = 'pending';"
                   "UPDATE records SET dirty = 0, base = fields,"
                   " sys_modstamp = '2026-01-01T00:00:00.000+0000',"
                   " sf_id = coalesce(sf_id, printf('500D%014d', rowid)) WHERE dirty = 1;"
                   "COMMIT;");
}

static void power_cut_loop(sfa_durability durability, bool garble, int cuts)
{
    fault_vfs_register();
    run *r = xcalloc(1, sizeof *r);
    r->durability = durability;
    r->garble = garble;
    r->seed = test_seed();
    unsigned seed0 = r->seed;
    r->seed0 = seed0;
    r->max_io = 200; /* until the first uncut trial measures it */
    r->snaps = xcalloc(WRITES_PER_CUT + 1, sizeof *r->snaps);
    r->f = fixture_new();
    sfa_agent_free(r->f->agent);
    r->f->agent = NULL;
    fprintf(stderr, "power cuts: durability=%s garble=%d seed=%u (SFA_SEED=%u replays)\n",
            durability == SFA_DURABILITY_FULL ? "full" : "normal", garble, seed0, seed0);
    while (r->cuts < cuts) {
        pending_write pw;
        trial_workload(r, &pw);
        trial_check(r, &pw);
        if (r->cuts % 4 == 0)
            mark_pushed(r->f->path);
    }
    fprintf(stderr,
            "power cuts: %d cuts (%d while opening, %d inside a write, %d between writes), "
            "%d records, %d acknowledged writes rolled back (%d cuts kept a proper prefix), %d VFS "
            "calls in a whole trial\n",
            r->cuts, r->cut_in_open, r->cut_in_write, r->cut_between, r->m.n, r->lost_acked,
            r->partial, r->max_io);
    assert_true(r->cut_in_write > 0);
    if (durability == SFA_DURABILITY_FULL)
        assert_int_equal(r->lost_acked, 0);
    fixture_free(r->f);
    free(r->snaps);
    free(r);
}

static void test_powercut_full_keeps_every_acknowledged_write(void **state)
{
    (void)state;
    power_cut_loop(SFA_DURABILITY_FULL, false, 300);
}

static void test_powercut_full_garbled_tail_keeps_every_acknowledged_write(void **state)
{
    (void)state;
    power_cut_loop(SFA_DURABILITY_FULL, true, 100);
}

static void test_powercut_normal_garbled_loses_only_a_suffix(void **state)
{
    (void)state;
    power_cut_loop(SFA_DURABILITY_NORMAL, true, 100);
}

/* Objects in sqlite_master of a fully migrated database. */
static long long schema_objects(void)
{
    store_fixture *f = fixture_new();
    long long n = raw_int(f->path, "SELECT count(*) FROM sqlite_master");
    fixture_free(f);
    return n;
}

/* O10 x F3: cut the power at every VFS call of creating and migrating a new database. */
static void test_powercut_during_create_and_migrate(void **state)
{
    (void)state;
    fault_vfs_register();
    long long full_schema = schema_objects();
    int n = 1;
    for (;; n++) {
        assert_true(n < 2000);
        store_fixture *f = xcalloc(1, sizeof *f);
        snprintf(f->dir, sizeof f->dir, "/tmp/sfa-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
        fault_vfs_power_begin((unsigned)n, n % 2 == 0);
        fault_vfs_power_cut_at(n);
        setenv("SFA_SQLITE_VFS", FAULT_VFS_NAME, 1);
        sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
        sfa_status st = sfa_agent_open(&f->agent, f->path, &o);
        unsetenv("SFA_SQLITE_VFS");
        bool cut = fault_vfs_power_is_cut();
        if (!cut)
            fault_vfs_power_cut();
        sfa_agent_free(f->agent);
        f->agent = NULL;
        fault_vfs_power_end();
        if (!cut)
            assert_int_equal(st, SFA_OK);
        /* Never half-migrated: user_version names exactly the tables that exist. */
        size_t len = 0;
        unsigned char *bytes = read_file_bytes(f->path, &len);
        free(bytes);
        if (len > 0) {
            long long v = raw_int(f->path, "PRAGMA user_version");
            long long objs = raw_int(f->path, "SELECT count(*) FROM sqlite_master");
            if (v == 0)
                assert_int_equal(objs, 0);
            if (v == store_migration_count)
                assert_int_equal(objs, full_schema);
            assert_true(v >= 0 && v <= store_migration_count);
        }
        sfa_agent *a = open_plain(f->path, SFA_DURABILITY_FULL);
        assert_int_equal(sfa_agent_schema_version(a), store_migration_count);
        check_integrity(a);
        char *id = NULL;
        assert_int_equal(sfa_record_create(&id, a, "Case", "{\"Subject\":\"after\"}"), SFA_OK);
        free(id);
        sfa_agent_free(a);
        fixture_free(f);
        if (!cut)
            break;
    }
    fprintf(stderr, "create+migrate: power cut at each of %d VFS calls\n", n - 1);
    assert_true(n > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powercut_full_keeps_every_acknowledged_write),
        cmocka_unit_test(test_powercut_full_garbled_tail_keeps_every_acknowledged_write),
        cmocka_unit_test(test_powercut_normal_garbled_loses_only_a_suffix),
        cmocka_unit_test(test_powercut_during_create_and_migrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
