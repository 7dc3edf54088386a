/*
 * Spawning the sfagent program for end-to-end tests: fork + execv with stdout and stderr
 * redirected to files in the test's scratch directory (no pipe deadlocks on big output).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/run.h"

char *run_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (!buf)
        abort();
    buf[len] = '\0';
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* Child side: redirect the three streams and exec; never returns. */
static void exec_child(const char *bin, const char *in, const char *out, const char *err,
                       const char *env_db, const char *const *args)
{
    int fds[3] = {open(in, O_RDONLY), open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
                  open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600)};
    for (int i = 0; i < 3; i++)
        if (fds[i] < 0 || dup2(fds[i], i) < 0)
            _exit(127);
    if (env_db)
        setenv("SFAGENT_DB", env_db, 1);
    else
        unsetenv("SFAGENT_DB");
    size_t n = 0;
    while (args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = (char *)bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    execv(bin, argv);
    _exit(127);
}

void run_sfagent(run_result *res, const char *scratch_dir, const char *env_db,
                 const char *stdin_text, const char *const *args)
{
    const char *bin = getenv("SFAGENT_BIN");
    if (!bin)
        abort();
    char in[512], out[512], err[512];
    snprintf(in, sizeof in, "%s/.stdin", scratch_dir);
    snprintf(out, sizeof out, "%s/.stdout", scratch_dir);
    snprintf(err, sizeof err, "%s/.stderr", scratch_dir);
    write_file(in, stdin_text ? stdin_text : "");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0)
        exec_child(bin, in, out, err, env_db, args);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        abort();
    res->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res->out = run_read_file(out);
    res->err = run_read_file(err);
    if (!res->out || !res->err)
        abort();
    unlink(in);
    unlink(out);
    unlink(err);
}

void run_result_free(run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

int run_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

void run_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[1024];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

#define RUN_MAX_ARGS 24

void run_sfagent_vdb(run_result *res, const char *scratch_dir, const char *db,
                     const char *stdin_text, const char *arg0, va_list ap)
{
    const char *args[RUN_MAX_ARGS] = {"--db", db};
    size_t n = 2;
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        assert_true(n < RUN_MAX_ARGS - 1);
        args[n++] = a;
    }
    args[n] = NULL;
    run_sfagent(res, scratch_dir, NULL, stdin_text, args);
}

void run_sfagent_db(run_result *res, const char *scratch_dir, const char *db, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(res, scratch_dir, db, NULL, arg0, ap);
    va_end(ap);
}

void run_expect(const run_result *res, int code, const char *out_has, const char *err_has)
{
    if (res->code != code)
        fail_msg("exit %d, wanted %d; stdout: %s; stderr: %s", res->code, code, res->out, res->err);
    if (out_has && !strstr(res->out, out_has))
        fail_msg("stdout lacks '%s': %s", out_has, res->out);
    if (err_has && !strstr(res->err, err_has))
        fail_msg("stderr lacks '%s': %s", err_has, res->err);
}

int run_init_scratch(char *dir, size_t dir_size, char *db, size_t db_size, const char *tmpl)
{
    snprintf(dir, dir_size, "%s", tmpl);
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, db_size, "%s/t.db", dir);
    run_result r;
    run_sfagent(&r, dir, NULL, NULL, (const char *const[]){"--db", db, "init", NULL});
    int code = r.code;
    run_result_free(&r);
    return code == 0 ? 0 : -1;
}

void run_write_emu_config(const char *path, const char *login_url, const char *extra)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nauth = password\nclient_id = sfagent-test-client\n"
            "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
            "password = password\ntimeout = 5\n%s",
            login_url, extra ? extra : "");
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0600), 0);
}

void run_expect_exit(const run_result *res, int code)
{
    if (res->code != code)
        fail_msg("exit %d, wanted %d; stdout: %s; stderr: %s", res->code, code, res->out, res->err);
}
