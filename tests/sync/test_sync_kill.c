/* The real `sfagent sync` program against the standalone emulator process:
 *  - killed with SIGKILL after a random delay (seeded, the seed is printed) again and
 *    again while it pushes a mixed outbox, with and without random 503s and lost answers,
 *    then a final run without kills: zero lost, zero duplicated, nothing unexpected;
 *  - two `sfagent sync` processes released at the same moment on one database: the run
 *    lease lets one push and makes the other exit 75 "another sync is running", and every
 *    create is sent exactly once.
 * The checker is matrix_check.c; server state is read over /__emulator/ HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_process.h"
#include "matrix_check.h"
#include "sfagent/outbox.h"
#include "sfagent/record.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#define KILL_SEED_DEFAULT      424242u
#define KILLS                  40     /* SIGKILLs per workload */
#define KILL_MAX_US            150000 /* kill after a random delay in [0, 150 ms] */
#define FINAL_RUNS             20     /* bound on clean runs after the kills */
#define BASE_CASES             80 /* synced first; 0..39 updated, 40..79 deleted during the kills */
#define UPDATED_CASES          40
#define EMU_LATENCY            "20" /* ms per API request, so a run lasts long enough to be killed */
#define CONCURRENT_ROUNDS      3
#define CONCURRENT_KILL_ROUNDS 6
#define CONCURRENT_CREATES     300
#define CONCURRENT_BASE        100 /* synced first; half updated, half deleted by the pair */

typedef struct kill_env {
    pid_t emu_pid;
    char base_url[64];
    char dir[64];
    char db_path[128];
    char cfg_path[128];
    mx_model model;
    uint64_t rng;
} kill_env;

/* ---- the emulator's control endpoints (emu_process.h) ---- */

static char *control(kill_env *k, const char *method, const char *path, const char *body)
{
    return emu_control(k->base_url, method, path, body);
}

static cJSON *control_json(kill_env *k, const char *path)
{
    return emu_control_json(k->base_url, path);
}

static cJSON *fetch_http(void *ctx, const char *sobject, bool include_deleted)
{
    char *path = xasprintf("records/%s%s", sobject, include_deleted ? "?deleted=true" : "");
    cJSON *j = control_json(ctx, path);
    free(path);
    return j;
}

/* ---- database, configuration, workload ---- */

static void write_config(kill_env *k)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = sfagent-test-client\n"
                           "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
                           "password = password\ntimeout = 5\n"
                           "[sync]\nbackoff_base = 1\nbackoff_cap = 1\napi_limit_share = 1\n"
                           /* a killed run's request lands within the 20 ms latency */
                           "settle_time = 1\n",
                           k->base_url);
    emu_write_file(k->cfg_path, text);
    free(text);
}

static void remove_db(kill_env *k)
{
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char *p = xasprintf("%s%s", k->db_path, suffix[i]);
        unlink(p);
        free(p);
    }
}

static sfa_agent *open_db(kill_env *k)
{
    sfa_agent *a = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, k->db_path, &oo), SFA_OK);
    return a;
}

static int setup(void **state)
{
    kill_env *k = xcalloc(1, sizeof *k);
    const char *const emu_args[] = {"--latency-ms", EMU_LATENCY, NULL};
    k->emu_pid = emu_process_start(k->base_url, sizeof k->base_url, emu_args);
    if (emu_scratch_make(k->dir, k->db_path, k->cfg_path, "/tmp/sfa-kill-XXXXXX") != 0)
        return -1;
    write_config(k);
    k->rng = emu_kill_seed("kill test", KILL_SEED_DEFAULT);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    kill_env *k = *state;
    emu_process_stop(k->emu_pid);
    emu_scratch_remove(k->dir); /* also outputs a failed test left behind */
    mx_model_free(&k->model);
    free(k);
    return 0;
}

static uint64_t next_rand(kill_env *k)
{
    return emu_rand_next(&k->rng);
}
static char *create(kill_env *k, sfa_agent *a, const char *sobject, const char *json)
{
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, a, sobject, json), SFA_OK);
    mx_model_create(&k->model, sobject, id, json);
    return id;
}

/* ---- running the real program ---- */

/* Start `sfagent sync --now` on the test database; with a gate pipe it first waits for
 * EOF on it, so two processes can be let go at the same moment. */
static pid_t spawn_sync(kill_env *k, const int *gate, const char *out_name)
{
    static const char *const args[] = {"sync", "--now", NULL};
    char *out = xasprintf("%s/%s", k->dir, out_name);
    pid_t pid = emu_spawn_agent(k->db_path, k->cfg_path, out, gate, args);
    free(out);
    return pid;
}
/* Sync to the end with the real program; returns its last exit code. */
static int final_sync(kill_env *k)
{
    int code = 75;
    for (int i = 0; i < FINAL_RUNS && code == 75; i++) {
        code = emu_wait_code(spawn_sync(k, NULL, "out"));
        if (code == 75)
            emu_sleep_us(1100000); /* backoff_cap = 1 s */
    }
    return code;
}

static size_t server_mutations(kill_env *k)
{
    cJSON *log = control_json(k, "requests");
    assert_non_null(log);
    size_t n = mx_log_mutations(log);
    cJSON_Delete(log);
    return n;
}

/* 8.5: the checker, no 300 answer in the log, and a rerun sends nothing. */
static void check_all(kill_env *k)
{
    sfa_agent *a = open_db(k);
    mx_result res;
    mx_check(&res, &k->model, a, k->db_path, fetch_http, k, NULL);
    sfa_agent_free(a);
    fprintf(stderr, "kill check: %zu records done, %zu dead ops, %zu violations\n", res.done_recs,
            res.dead_ops, res.violations);
    assert_int_equal(res.violations, 0);
    assert_int_equal(res.done_recs, k->model.count);
    cJSON *log = control_json(k, "requests");
    const cJSON *r;
    cJSON_ArrayForEach(r, log)
    {
        assert_int_not_equal((int)json_num(r, "status", 0), 300);
    }
    cJSON_Delete(log);
    size_t before = server_mutations(k);
    assert_int_equal(emu_wait_code(spawn_sync(k, NULL, "out")), 0);
    assert_int_equal(server_mutations(k), before);
}

/* BASE_CASES Cases synced before the kills; later chunks update and delete them. */
static void queue_base(kill_env *k, char **base)
{
    sfa_agent *a = open_db(k);
    for (int i = 0; i < BASE_CASES; i++) {
        char *json = xasprintf("{\"Subject\":\"base-%d\"}", i);
        base[i] = create(k, a, "Case", json);
        free(json);
    }
    sfa_agent_free(a);
    assert_int_equal(final_sync(k), 0);
}

static void update(kill_env *k, sfa_agent *a, const char *id, const char *json)
{
    assert_int_equal(sfa_record_update(a, "Case", id, json), SFA_OK);
    mx_model_update(&k->model, id, json);
}

/* One chunk of 15 ops queued before kill number n: 5 Cases, a Contact and a Case that
 * references it, 3 Cases referencing nothing updated at once, updates of base Cases (some
 * updated in several chunks: per-record order matters) and a delete. */
static void queue_chunk(kill_env *k, char **base, int n)
{
    sfa_agent *a = open_db(k);
    for (int i = 0; i < 5; i++) {
        char *json = xasprintf("{\"Subject\":\"new-%d-%d\"}", n, i);
        char *id = create(k, a, "Case", json);
        free(json);
        if (i < 3) {
            json = xasprintf("{\"Description\":\"later-%d-%d\"}", n, i);
            update(k, a, id, json);
            free(json);
        }
        free(id);
    }
    char *cj = xasprintf("{\"LastName\":\"kill-%d\"}", n);
    char *contact = create(k, a, "Contact", cj);
    char *json = xasprintf("{\"Subject\":\"child-%d\",\"ContactId\":\"%s\"}", n, contact);
    free(create(k, a, "Case", json));
    free(json);
    free(cj);
    free(contact);
    for (int j = 0; j < 3; j++) {
        char *uj = xasprintf("{\"Subject\":\"upd-%d-%d\",\"Priority\":\"%s\"}", n, j,
                             j % 2 ? "High" : "Low");
        update(k, a, base[(n * 3 + j) % UPDATED_CASES], uj);
        free(uj);
    }
    assert_int_equal(sfa_record_delete(a, "Case", base[UPDATED_CASES + n]), SFA_OK);
    mx_model_delete(&k->model, base[UPDATED_CASES + n]);
    sfa_agent_free(a);
}

/* Queue a chunk, start `sfagent sync`, SIGKILL it after a random delay; KILLS times. */
static void kill_loop(kill_env *k)
{
    char *base[BASE_CASES];
    queue_base(k, base);
    int finished = 0;
    for (int n = 0; n < KILLS; n++) {
        queue_chunk(k, base, n);
        pid_t pid = spawn_sync(k, NULL, "out");
        emu_sleep_us((long)(next_rand(k) % (KILL_MAX_US + 1)));
        kill(pid, SIGKILL);
        finished += emu_wait_code(pid) != 128 + SIGKILL;
    }
    for (int i = 0; i < BASE_CASES; i++)
        free(base[i]);
    sfa_agent *a = open_db(k);
    sfa_outbox_stats st;
    assert_int_equal(sfa_outbox_stats_get(&st, a), SFA_OK);
    sfa_agent_free(a);
    fprintf(stderr,
            "kill loop: %d kills, %d runs finished before their kill, %zu records; left for "
            "the final run: %zu pending, %zu inflight\n",
            KILLS, finished, k->model.count, st.pending, st.inflight);
}

static void test_random_kills(void **state)
{
    kill_env *k = *state;
    kill_loop(k);
    assert_int_equal(final_sync(k), 0);
    check_all(k);
}

static void test_random_kills_with_faults(void **state)
{
    kill_env *k = *state;
    char *f1 = control(k, "POST", "faults",
                       "{\"kind\":\"status\",\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\","
                       "\"path\":\"/services/data/*\",\"probability\":0.1}");
    char *f2 = control(k, "POST", "faults",
                       "{\"kind\":\"drop_after\",\"path\":\"/services/data/*\","
                       "\"probability\":0.05}");
    char *f3 = control(k, "POST", "faults",
                       "{\"kind\":\"truncate\",\"path\":\"/services/data/*\","
                       "\"probability\":0.05}");
    assert_non_null(f1);
    assert_non_null(f2);
    assert_non_null(f3);
    free(f1);
    free(f2);
    free(f3);
    kill_loop(k);
    cJSON *faults = control_json(k, "faults");
    fprintf(stderr, "faults fired during the kills: %d\n", (int)json_num(faults, "fired", 0));
    cJSON_Delete(faults);
    free(control(k, "DELETE", "faults", NULL));
    assert_int_equal(final_sync(k), 0);
    check_all(k);
}

static char *read_output(kill_env *k, const char *name)
{
    char *path = xasprintf("%s/%s", k->dir, name);
    char *text = xcalloc(1, 4096);
    FILE *f = fopen(path, "r");
    if (f) {
        (void)!fread(text, 1, 4095, f);
        fclose(f);
    }
    unlink(path);
    free(path);
    return text;
}

/* A fresh emulator and database: CONCURRENT_BASE Cases synced by one run, then creates,
 * updates and deletes queued. Returns the mutating requests made so far. */
static size_t concurrent_workload(kill_env *k, int round)
{
    free(control(k, "POST", "reset", NULL));
    remove_db(k);
    mx_model_free(&k->model);
    sfa_agent *a = open_db(k);
    char *base[CONCURRENT_BASE];
    for (int i = 0; i < CONCURRENT_BASE; i++) {
        char *json = xasprintf("{\"Subject\":\"base-%d-%d\"}", round, i);
        base[i] = create(k, a, "Case", json);
        free(json);
    }
    assert_int_equal(final_sync(k), 0);
    for (int i = 0; i < CONCURRENT_CREATES; i++) {
        char *json = xasprintf("{\"Subject\":\"concurrent-%d-%d\"}", round, i);
        free(create(k, a, "Case", json));
        free(json);
    }
    for (int i = 0; i < CONCURRENT_BASE; i++) {
        if (i % 2 == 0) {
            char *json = xasprintf("{\"Subject\":\"changed-%d-%d\"}", round, i);
            update(k, a, base[i], json);
            free(json);
        } else {
            assert_int_equal(sfa_record_delete(a, "Case", base[i]), SFA_OK);
            mx_model_delete(&k->model, base[i]);
        }
        free(base[i]);
    }
    sfa_agent_free(a);
    return server_mutations(k);
}

/* Two `sfagent sync` released at the same moment: one pushes, the other finds the lease
 * taken (75, "another sync is running") or, if it came late, nothing left (0). */
static void run_pair(kill_env *k, int round)
{
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t p1 = spawn_sync(k, gate, "out1");
    pid_t p2 = spawn_sync(k, gate, "out2");
    close(gate[0]);
    close(gate[1]); /* EOF releases both at once */
    int code[2] = {emu_wait_code(p1), emu_wait_code(p2)};
    char *text[2] = {read_output(k, "out1"), read_output(k, "out2")};
    fprintf(stderr, "concurrent round %d: exits %d and %d\n", round, code[0], code[1]);
    assert_true(code[0] == 0 || code[1] == 0);
    for (int i = 0; i < 2; i++) {
        if (code[i] != 0) {
            assert_int_equal(code[i], 75);
            assert_non_null(strstr(text[i], "another sync is running"));
        }
        free(text[i]);
    }
}

/* No faults: every key was sent in exactly one request. */
static void assert_keys_sent_once(kill_env *k)
{
    cJSON *log = control_json(k, "requests");
    cJSON *sent = mx_sent_keys(log);
    cJSON_Delete(log);
    size_t keys = 0;
    for (size_t i = 0; i < k->model.count; i++) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(sent, k->model.recs[i].local_id);
        assert_non_null(n);
        assert_int_equal((int)n->valuedouble, 1);
        keys++;
    }
    assert_int_equal((size_t)cJSON_GetArraySize(sent), keys);
    cJSON_Delete(sent);
}

/* Each op sent once: the pair makes exactly the mutating requests one run makes. */
static void test_concurrent_syncs(void **state)
{
    kill_env *k = *state;
    size_t before = concurrent_workload(k, -1);
    assert_int_equal(emu_wait_code(spawn_sync(k, NULL, "out")), 0);
    size_t single = server_mutations(k) - before;
    assert_true(single >= 3); /* creates, updates, deletes */
    for (int round = 0; round < CONCURRENT_ROUNDS; round++) {
        before = concurrent_workload(k, round);
        run_pair(k, round);
        assert_int_equal(server_mutations(k) - before, single);
        assert_keys_sent_once(k);
        check_all(k);
    }
}

/* Two runs released together and one of them (the lease holder or the loser) killed
 * after a random delay: the survivor and a final run still lose and duplicate nothing. */
static void test_concurrent_syncs_one_killed(void **state)
{
    kill_env *k = *state;
    for (int round = 0; round < CONCURRENT_KILL_ROUNDS; round++) {
        concurrent_workload(k, round);
        int gate[2];
        assert_int_equal(pipe(gate), 0);
        pid_t p1 = spawn_sync(k, gate, "out1");
        pid_t p2 = spawn_sync(k, gate, "out2");
        close(gate[0]);
        close(gate[1]);
        emu_sleep_us((long)(next_rand(k) % (KILL_MAX_US + 1)));
        kill(round % 2 ? p2 : p1, SIGKILL);
        int c1 = emu_wait_code(p1), c2 = emu_wait_code(p2);
        free(read_output(k, "out1"));
        free(read_output(k, "out2"));
        fprintf(stderr, "concurrent kill round %d: exits %d and %d\n", round, c1, c2);
        assert_int_equal(final_sync(k), 0);
        check_all(k);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_kills_with_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_syncs_one_killed, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
