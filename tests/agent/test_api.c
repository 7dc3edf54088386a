/*
 * The public API's process-wide channels, used as an embedder would (include/sfagent.h
 * only): the thread-local last error (sfagent/error.h) and the log callback
 * (sfagent/log.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sfagent.h>

/* ---- last error ---- */

typedef struct thread_view {
    sfa_status before, after;
    char message[256];
} thread_view;

/* Another thread: starts with no error, and its own failure stays its own. */
static void *other_thread(void *arg)
{
    thread_view *v = arg;
    v->before = sfa_error_last()->status;
    sfa_config *cfg = NULL;
    sfa_config_load(&cfg, "/nonexistent/other-thread.ini");
    v->after = sfa_error_last()->status;
    snprintf(v->message, sizeof v->message, "%s", sfa_error_last()->message);
    return NULL;
}

static void test_handle_free_call_reports_through_error_last(void **state)
{
    (void)state;
    sfa_error_clear();
    assert_int_equal(sfa_error_last()->status, SFA_OK);
    assert_string_equal(sfa_error_last()->message, "");
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, "/nonexistent/main-thread.ini"), SFA_ECONFIG);
    assert_null(cfg);
    assert_int_equal(sfa_error_last()->status, SFA_ECONFIG);
    assert_non_null(strstr(sfa_error_last()->message, "/nonexistent/main-thread.ini"));
    /* A success does not wipe it; clearing does. */
    assert_int_equal(sfa_config_load(&cfg, NULL), SFA_OK);
    sfa_config_free(cfg);
    assert_int_equal(sfa_error_last()->status, SFA_ECONFIG);
    sfa_error_clear();
    assert_int_equal(sfa_error_last()->status, SFA_OK);
}

static void test_last_error_is_per_thread(void **state)
{
    (void)state;
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, "/nonexistent/main-thread.ini"), SFA_ECONFIG);
    thread_view v = {SFA_ERROR, SFA_ERROR, ""};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &v), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(v.before, SFA_OK); /* not the main thread's failure */
    assert_int_equal(v.after, SFA_ECONFIG);
    assert_non_null(strstr(v.message, "other-thread.ini"));
    /* The main thread still sees its own failure, not the other thread's. */
    assert_non_null(strstr(sfa_error_last()->message, "main-thread.ini"));
    assert_null(strstr(sfa_error_last()->message, "other-thread.ini"));
}

/* A failure on a handle is on the handle and is also the thread's last error. */
static void test_handle_failure_is_also_the_last_error(void **state)
{
    (void)state;
    sfa_error_clear();
    sfa_agent *agent = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.create = false;
    assert_int_equal(sfa_agent_open(&agent, "/nonexistent/dir/x.db", &o), SFA_ENOTFOUND);
    assert_non_null(agent);
    assert_non_null(strstr(sfa_agent_errmsg(agent), "/nonexistent/dir/x.db"));
    assert_int_equal(sfa_error_last()->status, SFA_ENOTFOUND);
    assert_string_equal(sfa_error_last()->message, sfa_agent_errmsg(agent));
    sfa_agent_free(agent);
    sfa_agent_free(NULL); /* every _free is NULL-safe */
    sfa_config_free(NULL);
    sfa_op_free(NULL);
    sfa_op_array_free(NULL);
    sfa_record_free(NULL);
    sfa_record_array_free(NULL);
    sfa_login_info_free(NULL);
    sfa_doctor_report_free(NULL);
}

/* Expect SFA_EINVAL from a call and a message naming fn as the thread's last error. */
static void expect_einval(sfa_status st, const char *fn)
{
    assert_int_equal(st, SFA_EINVAL);
    assert_int_equal(sfa_error_last()->status, SFA_EINVAL);
    if (!strstr(sfa_error_last()->message, fn))
        fail_msg("%s: last error is '%s'", fn, sfa_error_last()->message);
    sfa_error_clear();
}

/* A missing argument is refused with a message, never silently: on the thread's last
 * error when there is no handle, and on the handle (too) when there is one. */
static void test_missing_arguments_record_a_message(void **state)
{
    (void)state;
    sfa_error_clear();
    sfa_op_array ops;
    sfa_op *op = NULL;
    sfa_outbox_stats stats;
    sfa_record *rec = NULL;
    sfa_record_array recs;
    size_t n = 0;
    sfa_op_state s;
    expect_einval(sfa_outbox_list(&ops, NULL, SFA_OP_STATES_ALL, 0), "sfa_outbox_list");
    expect_einval(sfa_outbox_get(&op, NULL, "1"), "sfa_outbox_get");
    expect_einval(sfa_outbox_retry(NULL, "1"), "sfa_outbox_retry");
    expect_einval(sfa_outbox_discard(NULL, "1"), "sfa_outbox_discard");
    expect_einval(sfa_outbox_prune(&n, NULL, 0), "sfa_outbox_prune");
    expect_einval(sfa_outbox_stats_get(&stats, NULL), "sfa_outbox_stats_get");
    expect_einval(sfa_record_get(&rec, NULL, "Case", "x"), "sfa_record_get");
    expect_einval(sfa_record_list(&recs, NULL, "Case", NULL), "sfa_record_list");
    expect_einval(sfa_op_state_parse(NULL, "dead"), "sfa_op_state_parse");
    expect_einval(sfa_op_state_parse(&s, "deceased"), "deceased");
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, NULL), SFA_OK);
    expect_einval(sfa_doctor_run(NULL, NULL, cfg), "sfa_doctor_run");
    sfa_config_free(cfg);

    char dir[] = "/tmp/sfa-api-XXXXXX", db[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/t.db", dir);
    sfa_agent *agent = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&agent, db, &o), SFA_OK);
    expect_einval(sfa_outbox_list(NULL, agent, SFA_OP_STATES_ALL, 0), "sfa_outbox_list");
    assert_non_null(strstr(sfa_agent_errmsg(agent), "out is NULL"));
    expect_einval(sfa_record_get(NULL, agent, "Case", "x"), "sfa_record_get");
    assert_non_null(strstr(sfa_agent_errmsg(agent), "sfa_record_get"));
    sfa_agent_free(agent);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char path[96];
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* ---- log callback ---- */

typedef struct captured {
    int calls;
    sfa_log_level level;
    char message[512];
} captured;

static void capture(sfa_log_level level, const char *message, void *ctx)
{
    captured *c = ctx;
    c->calls++;
    c->level = level;
    snprintf(c->message, sizeof c->message, "%s", message);
}

/* A sync run against a closed port ends early with a warning: it reaches the callback
 * (and not stderr), and the level filter drops it below WARN. */
static void test_log_callback_receives_library_messages(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[64], ini[64];
    snprintf(db, sizeof db, "%s/t.db", dir);
    snprintf(ini, sizeof ini, "%s/t.ini", dir);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    fputs("[salesforce]\nlogin_url = http://127.0.0.1:1\nauth = password\nclient_id = c\n"
          "client_secret = s\nusername = u\npassword = p\ntimeout = 2\n",
          f);
    fclose(f);
    assert_int_equal(chmod(ini, 0600), 0);
    sfa_config *cfg = NULL;
    assert_int_equal(sfa_config_load(&cfg, ini), SFA_OK);
    sfa_agent *agent = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&agent, db, &o), SFA_OK);
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, agent, "Case", "{\"Subject\":\"x\"}"), SFA_OK);
    free(id);

    captured c = {0};
    sfa_log_set_callback(capture, &c);
    sfa_log_set_level(SFA_LOG_ERROR); /* the warning is filtered out */
    sfa_sync_options so = SFA_SYNC_OPTIONS_INIT;
    so.ignore_pause = true;
    sfa_sync_report rep;
    sfa_status st = sfa_sync_run(&rep, agent, cfg, &so);
    assert_true(st == SFA_ERETRY || st == SFA_ENETWORK);
    assert_int_equal(c.calls, 0);

    sfa_log_set_level(SFA_LOG_WARN);
    st = sfa_sync_run(&rep, agent, cfg, &so);
    assert_true(st == SFA_ERETRY || st == SFA_ENETWORK);
    assert_true(c.calls >= 1);
    assert_int_equal(c.level, SFA_LOG_WARN);
    assert_non_null(strstr(c.message, "sync: "));
    assert_null(strchr(c.message, '\n'));

    sfa_log_set_callback(NULL, NULL); /* back to stderr */
    int calls = c.calls;
    st = sfa_sync_run(&rep, agent, cfg, &so);
    assert_int_equal(c.calls, calls);

    sfa_agent_free(agent);
    sfa_config_free(cfg);
    unlink(ini);
    char path[96];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    /* Thread-safe once-only libcurl set-up, as an embedder with threads would do it. */
    if (sfa_global_init() != SFA_OK || sfa_global_init() != SFA_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handle_free_call_reports_through_error_last),
        cmocka_unit_test(test_last_error_is_per_thread),
        cmocka_unit_test(test_handle_failure_is_also_the_last_error),
        cmocka_unit_test(test_missing_arguments_record_a_message),
        cmocka_unit_test(test_log_callback_receives_library_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
