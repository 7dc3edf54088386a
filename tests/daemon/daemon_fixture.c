/* The `sfagent run` test fixture (daemon_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/run.h"
#include "daemon/daemon_fixture.h"

int64_t dfix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned short dfix_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void start_emu(dfix *f)
{
    emu_options o = EMU_OPTIONS_INIT;
    o.port = f->port;
    o.state_file = f->state;
    /* A port just released can stay busy for a moment. */
    for (int i = 0; i < 50 && emu_start(&f->e, &o) != 0; i++) {
        f->e = NULL;
        usleep(100 * 1000);
    }
    assert_non_null(f->e);
}

void dfix_write_config(const dfix *f, const char *login_url, int interval, int write_delay,
                       const char *extra_ini)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)f->port);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->ini);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = sfagent-test-client\n"
            "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
            "password = password\ntimeout = 10\n[sync]\nobjects = Case\nsettle_time = 0\n%s"
            "[daemon]\ninterval = %d\nwrite_delay = %d\n",
            login_url ? login_url : url, extra_ini ? extra_ini : "", interval, write_delay);
    fclose(fp);
    assert_int_equal(chmod(tmp, 0600), 0);
    /* Atomic: a daemon reloading on SIGHUP never reads half a file. */
    assert_int_equal(rename(tmp, f->ini), 0);
}

void dfix_setup(dfix *f, int interval, int write_delay, const char *extra_ini)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-daemon-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    snprintf(f->state, sizeof f->state, "%s/emu.db", f->dir);
    snprintf(f->err, sizeof f->err, "%s/daemon.err", f->dir);
    f->port = dfix_free_port();
    start_emu(f);
    dfix_write_config(f, NULL, interval, write_delay, extra_ini);
    run_result r;
    run_sfagent_db(&r, f->dir, f->db, "init", (const char *)NULL);
    run_expect(&r, 0, NULL, NULL);
    run_result_free(&r);
}

void dfix_teardown(dfix *f)
{
    if (f->daemon > 0) {
        kill(f->daemon, SIGKILL);
        waitpid(f->daemon, NULL, 0);
    }
    emu_stop(f->e);
    run_remove_dir(f->dir);
}

void dfix_link_down(dfix *f)
{
    emu_stop(f->e);
    f->e = NULL;
}

void dfix_link_up(dfix *f)
{
    start_emu(f);
}

static void start_v(dfix *f, const char *const *env, va_list ap)
{
    const char *args[16] = {getenv("SFAGENT_BIN"), "run"};
    size_t n = 2;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 15;)
        args[n++] = a;
    args[n] = NULL;
    assert_non_null(args[0]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int err = open(f->err, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int out = open("/dev/null", O_WRONLY);
        if (err < 0 || out < 0)
            _exit(127);
        dup2(out, 1);
        dup2(err, 2);
        setenv("SFAGENT_DB", f->db, 1);
        setenv("SFAGENT_CONFIG", f->ini, 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    f->daemon = pid;
}

void dfix_daemon_start(dfix *f, ...)
{
    va_list ap;
    va_start(ap, f);
    start_v(f, NULL, ap);
    va_end(ap);
}

void dfix_daemon_start_env(dfix *f, const char *const *env, ...)
{
    va_list ap;
    va_start(ap, env);
    start_v(f, env, ap);
    va_end(ap);
}

int dfix_daemon_signal_wait(dfix *f, int sig, int max_ms, int64_t *elapsed_ms)
{
    assert_true(f->daemon > 0);
    int64_t t0 = dfix_now_ms();
    kill(f->daemon, sig);
    int status = 0;
    pid_t got = 0;
    while ((got = waitpid(f->daemon, &status, WNOHANG)) == 0 && dfix_now_ms() - t0 < max_ms)
        usleep(20 * 1000);
    *elapsed_ms = dfix_now_ms() - t0;
    if (got != f->daemon)
        fail_msg("the daemon did not exit within %d ms of signal %d", max_ms, sig);
    f->daemon = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t dfix_wait(bool (*pred)(dfix *f, void *arg), dfix *f, void *arg, int max_ms)
{
    int64_t t0 = dfix_now_ms();
    for (;;) {
        if (pred(f, arg))
            return dfix_now_ms() - t0;
        if (dfix_now_ms() - t0 > max_ms)
            return -1;
        usleep(100 * 1000);
    }
}

long dfix_outbox(dfix *f, const char *state)
{
    run_result r;
    run_sfagent_db(&r, f->dir, f->db, "--json", "status", (const char *)NULL);
    long n = -1;
    cJSON *j = r.code == 0 ? cJSON_Parse(r.out) : NULL;
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "outbox"), state);
    if (cJSON_IsNumber(v))
        n = (long)v->valuedouble;
    cJSON_Delete(j);
    run_result_free(&r);
    return n;
}

size_t dfix_server_cases(dfix *f)
{
    return f->e ? emu_record_count(f->e, "Case", false) : 0;
}

void dfix_create_cases(dfix *f, int n, const char *subject)
{
    for (int i = 0; i < n; i++) {
        char s[96];
        snprintf(s, sizeof s, "%s %d", subject, i);
        run_result r;
        run_sfagent_db(&r, f->dir, f->db, "case", "create", "--subject", s, (const char *)NULL);
        run_expect(&r, 0, NULL, NULL);
        run_result_free(&r);
    }
}

int dfix_http_get(unsigned short port, const char *path, char **body)
{
    *body = NULL;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return 0;
    }
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(s, req, (size_t)n), n);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t got;
    while ((got = read(s, buf + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(s);
    buf[len] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    const char *sep = strstr(buf, "\r\n\r\n");
    *body = strdup(sep ? sep + 4 : "");
    free(buf);
    return status;
}
