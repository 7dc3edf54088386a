/* The child-process helpers of emu_process.h. */
#include "emu_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/strbuf.h"

enum { MAX_ARGS = 16 };

/* argv = prefix... then args... then NULL, into out (MAX_ARGS + 1 entries). */
static void build_argv(const char **out, const char *const *prefix, size_t nprefix,
                       const char *const *args)
{
    size_t n = 0;
    for (size_t i = 0; i < nprefix; i++)
        out[n++] = prefix[i];
    for (size_t i = 0; args && args[i]; i++) {
        assert_true(n < MAX_ARGS);
        out[n++] = args[i];
    }
    out[n] = NULL;
}

pid_t emu_process_start(char *base_url, size_t size, const char *const *args)
{
    const char *bin = getenv("SFAGENT_EMULATOR_BIN");
    assert_non_null(bin);
    const char *prefix[] = {bin, "--port", "0", "--seed", "7"};
    const char *argv[MAX_ARGS + 1];
    build_argv(argv, prefix, sizeof prefix / sizeof *prefix, args);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, f)); /* printed once it listens */
    fclose(f);
    const char *url = strstr(line, "http://127.0.0.1:");
    assert_non_null(url);
    snprintf(base_url, size, "%.*s", (int)strcspn(url, " \r\n"), url);
    return pid;
}

void emu_process_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static size_t collect(void *data, size_t size, size_t n, void *ctx)
{
    strbuf_add(ctx, data, size * n);
    return size * n;
}

char *emu_control(const char *base_url, const char *method, const char *path, const char *body)
{
    CURL *c = curl_easy_init();
    strbuf sb = STRBUF_INIT;
    char *url = xasprintf("%s/__emulator/%s", base_url, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(url);
    if (rc != CURLE_OK || status >= 300) {
        fprintf(stderr, "control %s %s: curl %d, HTTP %ld\n", method, path, (int)rc, status);
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

cJSON *emu_control_json(const char *base_url, const char *path)
{
    char *text = emu_control(base_url, "GET", path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

pid_t emu_spawn_agent(const char *db, const char *cfg, const char *out_path, const int *gate,
                      const char *const *args)
{
    const char *bin = getenv("SFAGENT_BIN");
    assert_non_null(bin);
    const char *argv[MAX_ARGS + 1];
    build_argv(argv, &bin, 1, args);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        setenv("SFAGENT_DB", db, 1);
        setenv("SFAGENT_CONFIG", cfg, 1);
        if (gate) {
            char b;
            close(gate[1]); /* else the EOF that releases us never comes */
            if (read(gate[0], &b, 1) < 0)
                _exit(126);
            close(gate[0]);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int emu_wait_code(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

uint64_t emu_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t emu_kill_seed(const char *label, uint64_t dflt)
{
    const char *s = getenv("SFA_KILL_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 10) : dflt;
    fprintf(stderr, "%s seed %llu (SFA_KILL_SEED to replay)\n", label, (unsigned long long)seed);
    return seed;
}

void emu_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

void emu_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

int emu_scratch_make(char dir[64], char db[128], char cfg[128], const char *tmpl)
{
    snprintf(dir, 64, "%s", tmpl);
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, 128, "%s/agent.db", dir);
    snprintf(cfg, 128, "%s/agent.ini", dir);
    return 0;
}

void emu_scratch_remove(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char *p = xasprintf("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}
