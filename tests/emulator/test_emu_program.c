/* Emulator persistence (--state / emu_options.state_file) across restarts, and the
 * standalone sfagent-emulator program: the one "listening on" line, serving, clean exit on
 * SIGTERM, exit 64 on bad flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emu_http.h"
#include "util/alloc.h"
#include "util/json.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define V "/services/data/v62.0"

static char *g_dir;

static int group_setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/sfa-emu-test-XXXXXX";
    g_dir = mkdtemp(tmpl) ? xstrdup(tmpl) : NULL;
    return g_dir ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", g_dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(g_dir);
    free(g_dir);
    return 0;
}

static void test_state_survives_restart(void **state)
{
    (void)state;
    char *file = xasprintf("%s/state.db", g_dir);
    emu_options o = EMU_OPTIONS_INIT;
    o.state_file = file;
    emu *e = NULL;
    assert_int_equal(emu_start(&e, &o), 0);
    char *tok = eh_login(e);
    eh_response r;
    eh_request(e, "POST", V "/sobjects/Case/", tok, "{\"Subject\":\"kept\",\"Sync_Key__c\":\"p1\"}",
               &r);
    assert_int_equal(r.status, 201);
    char *kept = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    eh_request(e, "POST", V "/sobjects/Case/", tok, "{\"Subject\":\"gone\"}", &r);
    char *gone = xstrdup(json_str(r.json, "id"));
    eh_response_free(&r);
    char *path = xasprintf(V "/sobjects/Case/%s", gone);
    eh_request(e, "DELETE", path, tok, NULL, &r);
    assert_int_equal(r.status, 204);
    eh_response_free(&r);
    free(path);
    cJSON *before = emu_record_get(e, kept);
    free(tok);
    emu_stop(e);

    assert_int_equal(emu_start(&e, &o), 0);
    cJSON *after = emu_record_get(e, kept);
    assert_non_null(after);
    assert_true(cJSON_Compare(before, after, true));
    cJSON_Delete(before);
    cJSON_Delete(after);
    assert_int_equal(emu_record_count(e, "Case", false), 1);
    assert_int_equal(emu_record_count(e, "Case", true), 2);
    tok = eh_login(e);
    path = xasprintf(V "/sobjects/Case/%s", gone);
    eh_request(e, "GET", path, tok, NULL, &r);
    assert_int_equal(r.status, 404); /* still in the recycle bin */
    eh_response_free(&r);
    free(path);
    /* counters continue: no Id or CaseNumber reuse */
    eh_request(e, "POST", V "/sobjects/Case/", tok, "{\"Subject\":\"new\"}", &r);
    assert_int_equal(r.status, 201);
    const char *id3 = json_str(r.json, "id");
    assert_string_not_equal(id3, kept);
    assert_string_not_equal(id3, gone);
    cJSON *rec = emu_record_get(e, id3);
    assert_string_equal(json_str(rec, "CaseNumber"), "00001002");
    cJSON_Delete(rec);
    eh_response_free(&r);
    /* unique key still enforced against loaded records */
    eh_request(e, "POST", V "/sobjects/Case/", tok, "{\"Sync_Key__c\":\"P1\"}", &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    emu_reset(e);
    emu_stop(e);
    assert_int_equal(emu_start(&e, &o), 0);
    assert_int_equal(emu_record_count(e, "Case", true), 0); /* reset clears the file too */
    emu_stop(e);
    free(tok);
    free(kept);
    free(gone);
    free(file);
}

/* ---- the program ---- */

typedef struct child {
    pid_t pid;
    int out_fd;
    char url[256];
} child;

static int spawn(child *c, char *const argv[])
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    c->out_fd = fds[0];
    return rc;
}

/* Read the first stdout line within 10 s. */
static bool read_line(child *c, char *buf, size_t n)
{
    size_t len = 0;
    while (len + 1 < n) {
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            return false;
        ssize_t got = read(c->out_fd, buf + len, 1);
        if (got <= 0)
            return false;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return true;
}

static int wait_exit(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *emulator_bin(void)
{
    const char *bin = getenv("SFAGENT_EMULATOR_BIN");
    assert_non_null(bin);
    return bin;
}

static void start_program(child *c, const char *state_file)
{
    char *argv[] = {(char *)emulator_bin(),        "--port",           "0", "--api-limit", "50",
                    state_file ? "--state" : NULL, (char *)state_file, NULL};
    assert_int_equal(spawn(c, argv), 0);
    char line[256];
    assert_true(read_line(c, line, sizeof line));
    static const char prefix[] = "sfagent-emulator listening on http://127.0.0.1:";
    assert_memory_equal(line, prefix, sizeof prefix - 1);
    snprintf(c->url, sizeof c->url, "%s", line + strlen("sfagent-emulator listening on "));
}

static void stop_program(child *c)
{
    kill(c->pid, SIGTERM);
    assert_int_equal(wait_exit(c->pid), 0);
    close(c->out_fd);
}

static void test_program_serves_and_stops_on_sigterm(void **state)
{
    (void)state;
    char *file = xasprintf("%s/program.db", g_dir);
    child c;
    start_program(&c, file);
    char *url = xasprintf("%s/services/data/", c.url);
    eh_response r;
    assert_int_equal(eh_request(NULL, "GET", url, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsArray(r.json));
    eh_response_free(&r);
    free(url);
    url = xasprintf("%s/services/oauth2/token", c.url);
    eh_request_opts o = {.method = "POST",
                         .path = url,
                         .content_type = "application/x-www-form-urlencoded",
                         .body = "grant_type=password&client_id=sfagent-test-client&client_"
                                 "secret=sfagent-test-secret&username=agent%40example.com&"
                                 "password=password"};
    assert_int_equal(eh_request_ex(NULL, &o, &r), 0);
    char *tok = xstrdup(json_str(r.json, "access_token"));
    eh_response_free(&r);
    free(url);
    url = xasprintf("%s" V "/sobjects/Case/", c.url);
    assert_int_equal(eh_request(NULL, "POST", url, tok, "{\"Subject\":\"via program\"}", &r), 0);
    assert_int_equal(r.status, 201);
    char *lim = eh_header(&r, "Sforce-Limit-Info");
    assert_string_equal(lim, "api-usage=1/50");
    free(lim);
    eh_response_free(&r);
    free(url);
    stop_program(&c);

    start_program(&c, file); /* --state keeps the record */
    url = xasprintf("%s/__emulator/records/Case", c.url);
    eh_request(NULL, "GET", url, NULL, NULL, &r);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(r.json, 0), "Subject"), "via program");
    eh_response_free(&r);
    free(url);
    stop_program(&c);
    free(tok);
    free(file);
}

static void test_program_rejects_bad_flags(void **state)
{
    (void)state;
    const char *bad[][3] = {{"--bogus", NULL, NULL},
                            {"--port", "notanumber", NULL},
                            {"--port", "70000", NULL},
                            {"--custom-objects", "Bad Name", NULL},
                            {"extra-arg", NULL, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *argv[] = {(char *)emulator_bin(), (char *)bad[i][0], (char *)bad[i][1], NULL};
        child c;
        int devnull = open("/dev/null", O_WRONLY);
        int saved = dup(2);
        dup2(devnull, 2); /* keep the usage text out of the test output */
        assert_int_equal(spawn(&c, argv), 0);
        dup2(saved, 2);
        close(saved);
        close(devnull);
        int code = wait_exit(c.pid);
        close(c.out_fd);
        assert_int_equal(code, 64);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_survives_restart),
        cmocka_unit_test(test_program_serves_and_stops_on_sigterm),
        cmocka_unit_test(test_program_rejects_bad_flags),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
