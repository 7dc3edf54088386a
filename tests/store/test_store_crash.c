/* kill -9 during a stream of creates: a child creates records in a loop and reports each
 * local id on a pipe only after sfa_record_create returned SFA_OK; the parent SIGKILLs it
 * after ~200 ms, reopens the database and checks integrity and that every acknowledged
 * record (mirror row and outbox op) is there. Repeated a few times on one database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sfagent/record.h"
#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/strbuf.h"

#define ROUNDS        4
#define KILL_AFTER_MS 200

static void child_loop(const char *path, int fd)
{
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    if (sfa_agent_open(&a, path, &o) != SFA_OK)
        _exit(2);
    for (int i = 0;; i++) {
        char *id = NULL;
        char json[64];
        snprintf(json, sizeof json, "{\"Subject\":\"crash %d\"}", i);
        if (sfa_record_create(&id, a, "Case", json) != SFA_OK)
            _exit(3);
        /* Acknowledge only after the call returned: that is the durability promise. */
        char line[64];
        int n = snprintf(line, sizeof line, "%s\n", id);
        if (write(fd, line, (size_t)n) != n)
            _exit(4);
        free(id);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void read_until(int fd, strbuf *acks, int64_t deadline, bool until_eof)
{
    char buf[4096];
    for (;;) {
        int wait = until_eof ? 1000 : (int)(deadline - now_ms());
        if (!until_eof && wait <= 0)
            return;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait) <= 0)
            return;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return;
        strbuf_add(acks, buf, (size_t)n);
    }
}

static size_t check_acked(const char *path, const char *acks)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM records WHERE local_id=?1)"
                                        " + (SELECT count(*) FROM outbox WHERE local_id=?1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t n = 0;
    const char *p = acks;
    const char *nl;
    while ((nl = strchr(p, '\n')) != NULL) { /* a torn last line was never a full ack */
        sqlite3_bind_text(st, 1, p, (int)(nl - p), SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 2)
            fail_msg("acknowledged record %.*s lost", (int)(nl - p), p);
        sqlite3_reset(st);
        n++;
        p = nl + 1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_kill9_loses_no_acknowledged_write(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    size_t total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_loop(f->path, fds[1]);
        }
        close(fds[1]);
        strbuf acks = STRBUF_INIT;
        read_until(fds[0], &acks, now_ms() + KILL_AFTER_MS, false);
        kill(pid, SIGKILL);
        int ws = 0;
        waitpid(pid, &ws, 0);
        assert_true(WIFSIGNALED(ws)); /* it was still writing, not failed early */
        read_until(fds[0], &acks, 0, true);
        close(fds[0]);
        /* Reopening runs recovery (and quick_check: the marker says unclean). */
        sfa_agent *a = NULL;
        sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
        if (sfa_agent_open(&a, f->path, &o) != SFA_OK)
            fail_msg("reopen: %s", sfa_agent_errmsg(a));
        sfa_agent_free(a);
        assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_integrity_check "
                                          "WHERE integrity_check != 'ok'"),
                         0);
        total += check_acked(f->path, strbuf_str(&acks));
        strbuf_free(&acks);
    }
    assert_true(total > 0);
    fixture_free(f);
}

/* Named crash points: dying before COMMIT leaves nothing, after COMMIT leaves both rows. */
static void crash_at(const char *path, const char *point, long long want_rows)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("SFA_CRASH_AT", point, 1);
        sfa_agent *a = NULL;
        sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
        if (sfa_agent_open(&a, path, &o) != SFA_OK)
            _exit(2);
        char *id = NULL;
        sfa_record_create(&id, a, "Case", "{\"Subject\":\"cp\"}");
        _exit(3); /* the crash point should have ended us first */
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 100);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM records"), want_rows);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM outbox"), want_rows);
}

static void test_crash_points_around_commit(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    crash_at(f->path, "store.after_begin:1", 0);
    crash_at(f->path, "store.after_outbox_insert:1", 0);
    crash_at(f->path, "store.before_commit:1", 0);
    crash_at(f->path, "store.after_commit:1", 1);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_no_acknowledged_write),
        cmocka_unit_test(test_crash_points_around_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
