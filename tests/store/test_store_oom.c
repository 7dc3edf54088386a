/* OOM torture (docs/sync-protocol.md#verification F5, for O1 local writes and O10 open/migrate):
 * SQLite's own allocations fail at the Nth call (sqlite3_config(SQLITE_CONFIG_MALLOC) with a
 * counting wrapper), for N = 1, 2, ... until a trial runs without the fault firing, in
 * the manner of SQLite's do_faultsim_test and curl's torture runs.
 *
 * Each trial runs in a forked child, because the malloc methods can only change while
 * SQLite is shut down: the child creates and migrates a new database and does a few
 * writes, reporting every acknowledged one on a pipe. It must exit with a status (success,
 * or a failed sfa call whose status it reports), never crash: our own allocations (util/
 * alloc.c, abort on OOM) are not the ones failing here, so SQLITE_NOMEM must surface as a
 * status. The parent then reopens the database: integrity_check and the invariants pass
 * and every acknowledged write is there with its acknowledged value.
 *
 * A counting run measures how many allocations the workload makes; when that is more
 * than MAX_TRIALS, the trials stride over it (curl's --shallow idea) and say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sfagent/record.h"
#include "store/fault_vfs.h"
#include "store/sql.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

/* Trials per run; under ASan a fork costs ~5x more (shadow memory), so fewer there. Set
 * SFA_OOM_EXHAUSTIVE=1 for every allocation (nightly). */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_TRIALS 250
#else
#define MAX_TRIALS 700
#endif

/* Child exit codes. */
enum {
    CHILD_CLEAN = 0,    /* every call succeeded and the fault never fired */
    CHILD_ABSORBED = 1, /* the fault fired but SQLite recovered: every call succeeded */
    CHILD_FAILED = 2,   /* an sfa call returned a failure status after the fault fired */
    CHILD_SPURIOUS = 3, /* an sfa call failed although no allocation failed */
    CHILD_SETUP = 4,    /* the test harness itself could not start */
};

/* The counting allocator (child only). */
static struct {
    sqlite3_mem_methods real;
    long count, nth;
    bool persist, fired;
} oom;

static void *oom_malloc(int n)
{
    oom.count++;
    if (oom.nth > 0 && (oom.count == oom.nth || (oom.persist && oom.count > oom.nth))) {
        oom.fired = true;
        return NULL;
    }
    return oom.real.xMalloc(n);
}

static void *oom_realloc(void *p, int n)
{
    oom.count++;
    if (oom.nth > 0 && (oom.count == oom.nth || (oom.persist && oom.count > oom.nth))) {
        oom.fired = true;
        return NULL;
    }
    return oom.real.xRealloc(p, n);
}

static void oom_free(void *p)
{
    oom.real.xFree(p);
}
static int oom_size(void *p)
{
    return oom.real.xSize(p);
}
static int oom_roundup(int n)
{
    return oom.real.xRoundup(n);
}
static int oom_init(void *arg)
{
    return oom.real.xInit(arg);
}
static void oom_shutdown(void *arg)
{
    oom.real.xShutdown(arg);
}

static bool install_allocator(long nth, bool persist)
{
    if (sqlite3_shutdown() != SQLITE_OK)
        return false;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &oom.real) != SQLITE_OK)
        return false;
    sqlite3_mem_methods m = {oom_malloc,  oom_free, oom_realloc,  oom_size,
                             oom_roundup, oom_init, oom_shutdown, NULL};
    oom.nth = 0;
    oom.persist = persist;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        return false;
    /* The harness (initialize + VFS registration) runs before the fault is armed. */
    fault_vfs_register();
    oom.count = 0;
    oom.nth = nth;
    return true;
}

static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int fd, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && write(fd, buf, (size_t)n) != n)
        _exit(CHILD_SETUP);
}

static int failed(int fd, const char *what, sfa_status st, sfa_agent *a)
{
    report(fd, "F %s %s %s\n", what, sfa_strerror(st), a ? sfa_agent_errmsg(a) : "");
    sfa_agent_free(a);
    return oom.fired ? CHILD_FAILED : CHILD_SPURIOUS;
}

/* The workload: open (create + migrate), two creates, an update, a delete, a create.
 * Acknowledged writes go to fd as "C id subject", "U id subject", "D id". */
static int child_workload(const char *path, int fd)
{
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    sfa_status st = sfa_agent_open(&a, path, &o);
    if (st != SFA_OK)
        return failed(fd, "open", st, a);
    char *id[3] = {NULL, NULL, NULL};
    static const char *const subj[3] = {"one", "two", "three"};
    int rc = CHILD_CLEAN;
    for (int i = 0; i < 3 && rc == CHILD_CLEAN; i++) {
        char *json = xasprintf("{\"Subject\":\"%s\",\"Status\":\"New\"}", subj[i]);
        st = sfa_record_create(&id[i], a, "Case", json);
        free(json);
        if (st != SFA_OK) {
            rc = failed(fd, "create", st, a);
            a = NULL;
            break;
        }
        report(fd, "C %s %s\n", id[i], subj[i]);
        if (i == 1) {
            st = sfa_record_update(a, "Case", id[0], "{\"Subject\":\"one-b\"}");
            if (st != SFA_OK) {
                rc = failed(fd, "update", st, a);
                a = NULL;
                break;
            }
            report(fd, "U %s one-b\n", id[0]);
            st = sfa_record_delete(a, "Case", id[1]);
            if (st != SFA_OK) {
                rc = failed(fd, "delete", st, a);
                a = NULL;
                break;
            }
            report(fd, "D %s\n", id[1]);
        }
    }
    for (int i = 0; i < 3; i++)
        free(id[i]);
    sfa_agent_free(a);
    if (rc == CHILD_CLEAN && oom.fired)
        rc = CHILD_ABSORBED;
    return rc;
}

typedef struct trial {
    int status;  /* child exit code */
    long count;  /* allocations the child made (reported last) */
    char *acked; /* the child's report lines */
} trial;

static void run_child(trial *t, const char *path, long nth, bool persist)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's handlers would turn a crash into a "failed test" and go on running the
         * suite in the child: a crash must stay a crash. */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
            signal(sigs[i], SIG_DFL);
        close(p[0]);
        if (!install_allocator(nth, persist))
            _exit(CHILD_SETUP);
        /* Power-cut mode with no cut: fsync is simulated, which keeps thousands of trials
         * fast; the parent's check is after a process exit, which loses nothing anyway. */
        fault_vfs_power_begin(1, false);
        setenv("SFA_SQLITE_VFS", FAULT_VFS_NAME, 1);
        int rc = child_workload(path, p[1]);
        report(p[1], "N %ld\n", oom.count);
        _exit(rc);
    }
    close(p[1]);
    int status = 0;
    strbuf sb = STRBUF_INIT;
    char buf[512];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        strbuf_add(&sb, buf, (size_t)n);
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("OOM at allocation %ld%s: child died of signal %d; it reported:\n%s", nth,
                 persist ? " (persistent)" : "", WTERMSIG(status), strbuf_str(&sb));
    t->status = WEXITSTATUS(status);
    t->acked = strbuf_detach(&sb);
    const char *last = strstr(t->acked, "\nN ");
    if (!last && strncmp(t->acked, "N ", 2) == 0)
        last = t->acked - 1;
    t->count = last ? strtol(last + 3, NULL, 10) : -1;
}

static const char *subject_of(sfa_record *r, char *buf, size_t len)
{
    cJSON *o = cJSON_Parse(r->fields_json);
    snprintf(buf, len, "%s", o && json_str(o, "Subject") ? json_str(o, "Subject") : "(none)");
    cJSON_Delete(o);
    return buf;
}

/* One acknowledged write: a delete leaves no live record, a create or update leaves the
 * record with the acknowledged Subject and an open op (dirty). */
static void check_ack(sfa_agent *a, long nth, const char *line, char kind, const char *id,
                      const char *want)
{
    sfa_record *r = NULL;
    sfa_status gs = sfa_record_get(&r, a, "Case", id);
    if (kind == 'D') {
        if (gs == SFA_OK && !r->deleted)
            fail_msg("OOM at %ld: acknowledged delete of %s lost", nth, id);
    } else {
        char got[32];
        if (gs != SFA_OK)
            fail_msg("OOM at %ld: acknowledged write %s lost (%s)", nth, line, sfa_strerror(gs));
        if (strcmp(subject_of(r, got, sizeof got), want) != 0)
            fail_msg("OOM at %ld: %s: Subject is %s", nth, line, got);
        assert_true(r->dirty);
    }
    sfa_record_free(r);
}

/* Reopen as the agent would after the failure and check the acknowledged writes. */
static void parent_check(const char *path, const trial *t, long nth)
{
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    if (sfa_agent_open(&a, path, &o) != SFA_OK)
        fail_msg("OOM at %ld: reopen failed: %s", nth, sfa_agent_errmsg(a));
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(a), "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    char *why = NULL;
    if (!store_check_invariants(a, &why))
        fail_msg("OOM at %ld: invariants: %s", nth, why ? why : "?");
    /* Replay the acknowledgements: the last one per record decides what must be there. */
    char *lines = xstrdup(t->acked);
    for (char *line = lines, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char kind = line[0], id[64] = "", want[32] = "";
        if (kind != 'C' && kind != 'U' && kind != 'D')
            continue;
        if (sscanf(line + 2, "%63s %31s", id, want) < 1)
            fail_msg("bad report line %s", line);
        if (next && strstr(next, id)) /* a later acknowledgement for it decides */
            continue;
        check_ack(a, nth, line, kind, id, want);
    }
    free(lines);
    sfa_agent_free(a);
}

static void torture(bool persist)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/sfa-oom-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/test.db", dir);
    trial t = {0};
    const char *only = getenv("SFA_OOM_AT"); /* replay one trial: SFA_OOM_AT=<n> */
    if (only) {
        run_child(&t, path, strtol(only, NULL, 10), persist);
        fprintf(stderr, "OOM at %s: child exit %d\n%s", only, t.status, t.acked);
        parent_check(path, &t, strtol(only, NULL, 10));
        free(t.acked);
        remove_tree(dir);
        free(path);
        return;
    }
    run_child(&t, path, 0, persist); /* counting run */
    assert_int_equal(t.status, CHILD_CLEAN);
    long total = t.count;
    free(t.acked);
    assert_true(total > 10);
    long stride = getenv("SFA_OOM_EXHAUSTIVE") ? 1 : total / MAX_TRIALS + 1;
    int trials = 0, failures = 0, absorbed = 0;
    /* With a stride, a seeded offset moves the sampled allocations from run to run. */
    const char *seed_env = getenv("SFA_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)getpid();
    long first = 1 + (long)(seed % (unsigned long)stride);
    fprintf(stderr, "OOM torture: seed %u (SFA_SEED replays), first allocation failed: %ld\n", seed,
            first);
    for (long n = first;; n += stride) {
        remove_tree(dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        memset(&t, 0, sizeof t);
        run_child(&t, path, n, persist);
        trials++;
        if (t.status == CHILD_SPURIOUS || t.status == CHILD_SETUP)
            fail_msg("OOM at %ld: child exit %d:\n%s", n, t.status, t.acked);
        failures += t.status == CHILD_FAILED;
        absorbed += t.status == CHILD_ABSORBED;
        parent_check(path, &t, n);
        bool done = t.status == CHILD_CLEAN;
        free(t.acked);
        if (done)
            break;
        assert_true(n <= total + stride); /* past the count the fault cannot fire */
    }
    fprintf(stderr,
            "OOM torture (%s): %ld SQLite allocations in the workload, %d trials (every %ld), "
            "%d ended with a failure status, %d absorbed by SQLite\n",
            persist ? "persistent" : "transient", total, trials, stride, failures, absorbed);
    assert_true(failures > 0);
    remove_tree(dir);
    free(path);
}

static void test_oom_transient_open_and_writes(void **state)
{
    (void)state;
    torture(false);
}

static void test_oom_persistent_open_and_writes(void **state)
{
    (void)state;
    torture(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_transient_open_and_writes),
        cmocka_unit_test(test_oom_persistent_open_and_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
