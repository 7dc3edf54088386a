/* The real `sfagent sync --pull-only` killed with SIGKILL at random moments during a
 * multi-page pull from the standalone emulator, then resumed (docs/sync-protocol.md#pull,
 * "Crash points"): the named crash points are tested one by one in test_pull_crash.c;
 * here the kills land wherever they land (mid-request, mid-transaction, mid-commit).
 *
 * The emulator serves query pages of at most PAGE records (--query-page-max), so the
 * pull of CASES records is many pages, with a little latency so a run lasts long enough
 * to be killed. The pull is scoped (`where = Status != 'Closed'`). Between kills another
 * "user" creates and edits Cases, closing some (they must leave the cache) and reopening
 * some (they must come back). The delays come
 * from a seeded generator (the seed is printed; SFA_KILL_SEED replays a run). Nothing is
 * asserted about timing: after the kills, clean runs finish the pull and the test checks
 * only the final state: the mirror holds exactly the server's Cases in scope, each once,
 * with the server's values; the high-water mark names a server record and no server record is
 * newer than it; and one more pull downloads nothing. The configuration keeps the default
 * pull_settle_time: without it, an edit made in the second a pull ended on, to a record
 * with a smaller Id than the mark's, was missed for good (this test found that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_process.h"
#include "sfagent/agent.h"
#include "sfagent/record.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#define KILL_SEED_DEFAULT 90210u
#define KILLS             30
#define KILL_MAX_US       300000 /* kill after a random delay in [0, 300 ms] */
#define CASES             3000
#define PAGE              "50" /* records per query page the emulator serves */
#define EMU_LATENCY       "10" /* ms per API request */
#define CHANGE_EVERY      2    /* kills between two rounds of server changes */
#define CHANGED           100  /* Cases created, and Cases edited, per round */
#define FINAL_RUNS        10

typedef struct kill_env {
    pid_t emu_pid;
    char base_url[64];
    char dir[64];
    char db_path[128];
    char cfg_path[128];
    uint64_t rng;
    size_t created; /* Cases created on the server so far (names their Subjects) */
} kill_env;

/* ---- the emulator's control endpoints (emu_process.h) ---- */

static char *control(kill_env *k, const char *method, const char *path, const char *body)
{
    return emu_control(k->base_url, method, path, body);
}

static cJSON *server_cases(kill_env *k)
{
    char *text = control(k, "GET", "records/Case", NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    assert_true(cJSON_IsArray(j));
    return j;
}

/* ---- the server's other user ---- */

static void create_cases(kill_env *k, size_t n)
{
    for (size_t i = 0; i < n; i++, k->created++) {
        char *body = xasprintf("{\"Subject\":\"server %zu\",\"Status\":\"New\"}", k->created);
        free(control(k, "POST", "records/Case", body));
        free(body);
    }
}

/* Edit n server Cases chosen at random (their SystemModstamp moves past the mark); a
 * quarter are closed (they leave the pull's scope), a quarter set Working (a closed one
 * comes back into it). */
static void edit_cases(kill_env *k, size_t n, int round)
{
    static const char *const status[] = {",\"Status\":\"Closed\"", ",\"Status\":\"Working\"", "",
                                         ""};
    cJSON *all = server_cases(k);
    int count = cJSON_GetArraySize(all);
    for (size_t i = 0; i < n && count > 0; i++) {
        const cJSON *r = cJSON_GetArrayItem(all, (int)(k->rng % (uint64_t)count));
        k->rng = k->rng * 6364136223846793005ull + 1442695040888963407ull;
        char *path = xasprintf("record/%s", json_str(r, "Id"));
        char *body = xasprintf("{\"Subject\":\"edited %d-%zu\"%s}", round, i, status[i % 4]);
        free(control(k, "PATCH", path, body));
        free(body);
        free(path);
    }
    cJSON_Delete(all);
}

/* ---- setup ---- */

static void write_config(kill_env *k)
{
    char *text = xasprintf("[salesforce]\nlogin_url = %s\nclient_id = sfagent-test-client\n"
                           "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
                           "password = password\ntimeout = 5\n"
                           "[sync]\nobjects = Case\napi_limit_share = 1\nbackoff_base = 1\n"
                           "backoff_cap = 1\n[pull.Case]\nfields = Subject, Status\n"
                           "where = Status != 'Closed'\n",
                           k->base_url);
    emu_write_file(k->cfg_path, text);
    free(text);
}

static int setup(void **state)
{
    kill_env *k = xcalloc(1, sizeof *k);
    const char *const emu_args[] = {"--latency-ms", EMU_LATENCY, "--query-page-max", PAGE, NULL};
    k->emu_pid = emu_process_start(k->base_url, sizeof k->base_url, emu_args);
    if (emu_scratch_make(k->dir, k->db_path, k->cfg_path, "/tmp/sfa-pullkill-XXXXXX") != 0)
        return -1;
    write_config(k);
    sfa_agent *a = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, k->db_path, &oo), SFA_OK); /* creates it */
    sfa_agent_free(a);
    k->rng = emu_kill_seed("pull kill test", KILL_SEED_DEFAULT);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    kill_env *k = *state;
    emu_process_stop(k->emu_pid);
    emu_scratch_remove(k->dir);
    free(k);
    return 0;
}

/* ---- running the real program ---- */

static uint64_t next_rand(kill_env *k)
{
    return emu_rand_next(&k->rng);
}
static pid_t spawn_pull(kill_env *k)
{
    static const char *const args[] = {"sync", "--pull-only", "--now", NULL};
    char *out = xasprintf("%s/out", k->dir);
    pid_t pid = emu_spawn_agent(k->db_path, k->cfg_path, out, NULL, args);
    free(out);
    return pid;
}
/* Pull to the end with clean runs; returns the last exit code. */
static int final_pull(kill_env *k)
{
    int code = 75;
    for (int i = 0; i < FINAL_RUNS && code != 0; i++) {
        code = emu_wait_code(spawn_pull(k));
        if (code != 0)
            emu_sleep_us(1100000); /* backoff_cap = 1 s */
    }
    return code;
}

/* ---- the final state ---- */

/* Every Case in scope is cached once with the server's Subject, and nothing else is. */
static void check_mirror(kill_env *k, const cJSON *server)
{
    sfa_agent *a = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, k->db_path, &oo), SFA_OK);
    sfa_record_array list = {0};
    sfa_list_options lo = SFA_LIST_OPTIONS_INIT;
    assert_int_equal(sfa_record_list(&list, a, "Case", &lo), SFA_OK);
    assert_int_equal(list.count, (size_t)cJSON_GetArraySize(server));
    sfa_record_array_free(&list);
    for (const cJSON *r = server->child; r; r = r->next) {
        sfa_record *m = NULL;
        assert_int_equal(sfa_record_get(&m, a, "Case", json_str(r, "Id")), SFA_OK);
        cJSON *fields = cJSON_Parse(m->fields_json);
        assert_string_equal(json_str(fields, "Subject"), json_str(r, "Subject"));
        cJSON_Delete(fields);
        sfa_record_free(m);
    }
    sfa_agent_free(a);
}

/* The Cases in the pull's scope (`where = Status != 'Closed'`); borrowed items. */
static cJSON *in_scope(const cJSON *server)
{
    cJSON *out = cJSON_CreateArray();
    for (const cJSON *r = server->child; r; r = r->next) {
        const char *status = json_str(r, "Status");
        if (!status || strcmp(status, "Closed") != 0)
            cJSON_AddItemReferenceToArray(out, (cJSON *)r);
    }
    return out;
}

/* The mark names a server record (in scope or not: it may have left since) and no record
 * in scope is newer than it; the leaving mark is set. */
static void check_marks(kill_env *k, const cJSON *server, const cJSON *scoped)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(k->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT mark_modstamp, mark_id, left_modstamp FROM"
                                        " pull_state WHERE sobject = 'Case'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *stamp = (const char *)sqlite3_column_text(st, 0);
    const char *id = (const char *)sqlite3_column_text(st, 1);
    assert_non_null(stamp);
    assert_non_null(id);
    assert_non_null(sqlite3_column_text(st, 2));
    for (const cJSON *r = scoped->child; r; r = r->next) /* same format: text order is time order */
        assert_true(strcmp(json_str(r, "SystemModstamp"), stamp) <= 0);
    bool named = false;
    for (const cJSON *r = server->child; r; r = r->next)
        named = named || strcmp(json_str(r, "Id"), id) == 0;
    assert_true(named);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* N of "N pulled," in the last run's summary line; -1 when there is none. */
static long last_pulled(kill_env *k)
{
    char *path = xasprintf("%s/out", k->dir);
    FILE *f = fopen(path, "r");
    free(path);
    assert_non_null(f);
    char line[1024];
    long pulled = -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " pulled,");
        while (p && p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p)
            pulled = strtol(p, NULL, 10);
    }
    fclose(f);
    return pulled;
}

static void test_pull_random_kills(void **state)
{
    kill_env *k = *state;
    create_cases(k, CASES);
    int finished = 0;
    for (int n = 0; n < KILLS; n++) {
        if (n % CHANGE_EVERY == CHANGE_EVERY - 1) {
            create_cases(k, CHANGED);
            edit_cases(k, CHANGED, n);
        }
        pid_t pid = spawn_pull(k);
        emu_sleep_us((long)(next_rand(k) % (KILL_MAX_US + 1)));
        kill(pid, SIGKILL);
        finished += emu_wait_code(pid) != 128 + SIGKILL;
    }
    fprintf(stderr, "pull kill loop: %d kills, %d runs finished before their kill\n", KILLS,
            finished);
    /* The default pull_settle_time (2 s) leaves the last seconds' changes for a later
     * pull; the final state is checked after they settled. */
    emu_sleep_us(3000000);
    assert_int_equal(final_pull(k), 0);
    cJSON *server = server_cases(k), *scoped = in_scope(server);
    check_mirror(k, scoped);
    check_marks(k, server, scoped);
    assert_int_equal(emu_wait_code(spawn_pull(k)), 0);
    assert_int_equal(last_pulled(k), 0); /* nothing committed is downloaded again */
    cJSON_Delete(scoped);
    cJSON_Delete(server);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_random_kills, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
