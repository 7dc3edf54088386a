/* bench_push: how many API calls and how much time the push engine needs for a backlog.
 *
 * 10,000 Case creates are queued offline (imported in batched transactions), then one
 * `sync` pushes them to the in-process emulator. Printed: API requests (target <= 51:
 * 50 composite calls + 1 token request), records/s, peak RSS (ru_maxrss covers the whole
 * process, emulator included; the growth during the sync alone is printed too), and the
 * same run with 50 ms latency per request against requests x 50 ms; then the same backlog
 * split over 2, 4 and 8 agents syncing at once (k requests in flight), to show whether a
 * few parallel requests beat one-at-a-time.
 *
 * With SFAGENT_EMULATOR_BIN set, the emulator runs as a separate process instead, so the
 * peak RSS printed is the agent's alone (the emulator's own request count is then not
 * available; the agent's count is).
 *
 * Usage: bench_push [N] [fast]   (N creates, default 10000; "fast" skips the 50 ms and
 * parallel runs, which take minutes at 100,000 and more). Not a test: prints a table. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_emu.h"
#include "emulator/emulator.h"
#include "sfagent/agent.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/timeutil.h"

static int start_emu(bench_emu *b, int latency_ms)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.latency_ms = latency_ms;
    return bench_emu_start(b, &eo);
}

typedef struct bench_result {
    size_t n;
    long api_calls;      /* as counted by the agent's client, token included */
    size_t emu_requests; /* data API requests the emulator received */
    int64_t sync_ms;
    double agent_cpu_s; /* CPU time of the agent's thread during the sync */
    long rss_before_kb, rss_after_kb;
    uint64_t bytes_sent, bytes_received; /* on the wire, headers included */
    sfa_status status;
} bench_result;

static double thread_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int queue_creates(sfa_agent *agent, const char *dir, size_t n)
{
    char *path = xasprintf("%s/creates.jsonl", dir);
    FILE *f = fopen(path, "w+");
    if (!f) {
        free(path);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "{\"Subject\":\"Bench case %zu\",\"Origin\":\"Web\",\"Priority\":\"Medium\"}\n",
                i);
    fflush(f);
    rewind(f);
    sfa_import_result ir;
    sfa_status st = sfa_record_import(&ir, agent, "Case", fileno(f), 1000);
    fclose(f);
    unlink(path);
    free(path);
    if (st != SFA_OK || ir.imported != n) {
        fprintf(stderr, "import: %s\n", sfa_agent_errmsg(agent));
        return -1;
    }
    return 0;
}

/* A fresh agent database in dir with n Case creates queued, configured for url. */
static int agent_setup(const char *dir, const char *url, size_t n, sfa_agent **agent,
                       sfa_config **cfg)
{
    char *db = xasprintf("%s/agent.db", dir);
    char *ini = xasprintf("[salesforce]\nlogin_url = %s\nauth = password\n"
                          "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                          "username = agent@example.com\npassword = password\n"
                          "[sync]\napi_limit_share = 1\n",
                          url);
    char *err = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    int rc = -1;
    if (sfa_agent_open(agent, db, &oo) != SFA_OK ||
        sync_config_load_string(cfg, ini, "bench", &err) != SFA_OK)
        fprintf(stderr, "setup: %s\n", err ? err : sfa_agent_errmsg(*agent));
    else
        rc = queue_creates(*agent, dir, n);
    free(err);
    free(ini);
    free(db);
    return rc;
}

static void remove_dir(const char *dir)
{
    const char *files[] = {"agent.db", "agent.db-wal", "agent.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s/%s", dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
}

/* One of k parallel agents (a child process): queue n creates, wait for the start signal
 * on go, sync, exit 0 when every op is done. */
static void parallel_child(const char *url, size_t n, int go)
{
    char dir[] = "/tmp/sfa-bench-par-XXXXXX";
    sfa_agent *agent = NULL;
    sfa_config *cfg = NULL;
    bool ok = mkdtemp(dir) && agent_setup(dir, url, n, &agent, &cfg) == 0;
    char c;
    if (read(go, &c, 1) != 1)
        ok = false;
    sfa_sync_report rep;
    sfa_sync_options so = SFA_SYNC_OPTIONS_INIT;
    so.push_only = true;
    if (ok)
        ok = sfa_sync_run(&rep, agent, cfg, &so) == SFA_OK && rep.done == n;
    sfa_config_free(cfg);
    sfa_agent_free(agent);
    remove_dir(dir);
    _exit(ok ? 0 : 1);
}

/* k agents push n/k creates each at the same moment, so k requests are in flight at a
 * time (what a k-way parallel pusher would do). Returns the wall time from the start
 * signal until the last agent finished, or -1. */
static int64_t run_parallel(size_t n, int k, int latency_ms)
{
    bench_emu be;
    int go[2];
    if (k < 1 || k > 16 || start_emu(&be, latency_ms) != 0)
        return -1;
    if (pipe(go) != 0) {
        bench_emu_stop(&be);
        return -1;
    }
    fflush(NULL);
    pid_t pids[16];
    for (int i = 0; i < k; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            parallel_child(be.url, n / (size_t)k, go[0]);
        }
    }
    close(go[0]);
    sleep(2 + (unsigned)(n / 10000)); /* every child queues its creates first */
    int64_t t0 = time_now_ms();
    for (int i = 0; i < k; i++)
        if (write(go[1], "g", 1) != 1)
            perror("bench: start signal");
    close(go[1]);
    bool ok = true;
    for (int i = 0; i < k; i++) {
        int status = 0;
        ok = waitpid(pids[i], &status, 0) == pids[i] && ok && WIFEXITED(status) &&
             WEXITSTATUS(status) == 0;
    }
    int64_t elapsed = time_now_ms() - t0;
    bench_emu_stop(&be);
    return ok ? elapsed : -1;
}

static int run_one(size_t n, int latency_ms, bool compress, bench_result *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    char dir[] = "/tmp/sfa-bench-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    bench_emu be;
    if (start_emu(&be, latency_ms) != 0)
        return -1;
    emu *e = be.in_process;
    char *db = xasprintf("%s/agent.db", dir);
    char *ini = xasprintf("[salesforce]\nlogin_url = %s\nauth = password\n"
                          "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                          "username = agent@example.com\npassword = password\n"
                          "[sync]\napi_limit_share = 1\n%s",
                          be.url, compress ? "" : "compress_min_bytes = 0\n");
    sfa_agent *agent = NULL;
    sfa_config *cfg = NULL;
    char *err = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    int rc = -1;
    if (sfa_agent_open(&agent, db, &oo) != SFA_OK ||
        sync_config_load_string(&cfg, ini, "bench", &err) != SFA_OK) {
        fprintf(stderr, "setup: %s\n", err ? err : sfa_agent_errmsg(agent));
        goto out;
    }
    if (queue_creates(agent, dir, n) != 0)
        goto out;
    out->rss_before_kb = bench_peak_rss_kb();
    sfa_sync_report rep;
    sfa_sync_options so = SFA_SYNC_OPTIONS_INIT;
    so.push_only = true;
    int64_t t0 = time_now_ms();
    double cpu0 = thread_cpu_s();
    out->status = sfa_sync_run(&rep, agent, cfg, &so);
    out->agent_cpu_s = thread_cpu_s() - cpu0;
    out->sync_ms = time_now_ms() - t0;
    out->rss_after_kb = bench_peak_rss_kb();
    out->api_calls = rep.api_calls;
    out->bytes_sent = rep.bytes_sent;
    out->bytes_received = rep.bytes_received;
    out->emu_requests = e ? emu_request_count(e, NULL, "/services/data/*") : 0;
    if (rep.done != n || (e && emu_record_count(e, "Case", false) != n))
        fprintf(stderr, "warning: %zu of %zu ops done (%s)\n", rep.done, n, rep.message);
    rc = 0;
out:
    free(err);
    sfa_config_free(cfg);
    sfa_agent_free(agent);
    bench_emu_stop(&be);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", db, suffix[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(ini);
    free(db);
    return rc;
}

/* The same backlog with 50 ms per request, one agent and then k agents at once. */
static void print_latency_runs(size_t n, const bench_result *slow)
{
    printf("%-44s %12.2f\n", "sync elapsed, 50 ms latency (s)", (double)slow->sync_ms / 1000.0);
    printf("%-44s %12.2f\n", "requests x 50 ms (s)", (double)slow->api_calls * 0.05);
    printf("%-44s %12.2f\n", "agent CPU during the 50 ms sync (s)", slow->agent_cpu_s);
    /* Would a few requests in flight beat requests x latency? k agents of n/k each. */
    for (int k = 2; k <= 8; k *= 2) {
        int64_t ms = run_parallel(n, k, 50);
        char label[64];
        snprintf(label, sizeof label, "%d agents x %zu in parallel, 50 ms (s)", k, n / (size_t)k);
        if (ms < 0)
            printf("%-44s %12s\n", label, "failed");
        else
            printf("%-44s %12.2f\n", label, (double)ms / 1000.0);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    if (n == 0)
        n = 10000;
    bool fast_only = argc > 2 && strcmp(argv[2], "fast") == 0;
    bench_result fast, plain, slow;
    memset(&slow, 0, sizeof slow);
    if (run_one(n, 0, true, &fast) != 0 || run_one(n, 0, false, &plain) != 0 ||
        (!fast_only && run_one(n, 50, true, &slow) != 0))
        return 1;
    double rps = fast.sync_ms > 0 ? (double)n * 1000.0 / (double)fast.sync_ms : 0;
    bool external = getenv("SFAGENT_EMULATOR_BIN") && *getenv("SFAGENT_EMULATOR_BIN");
    printf("push benchmark: %zu queued Case creates, one sync, %s emulator\n\n", n,
           external ? "separate-process" : "in-process");
    printf("%-44s %12s\n", "measure", "value");
    printf("%-44s %12ld\n", "API requests by the agent (incl. token)", fast.api_calls);
    if (!external)
        printf("%-44s %12zu\n", "data API requests seen by the emulator", fast.emu_requests);
    printf("%-44s %12.1f\n", "records per API call", (double)n / (double)fast.api_calls);
    printf("%-44s %12.2f\n", "sync elapsed, no latency (s)", (double)fast.sync_ms / 1000.0);
    printf("%-44s %12.0f\n", "records/s, no latency", rps);
    printf("%-44s %12.2f\n", "agent CPU during the sync (s)", fast.agent_cpu_s);
    printf("%-44s %12.0f\n", "records/s per agent CPU second",
           fast.agent_cpu_s > 0 ? (double)n / fast.agent_cpu_s : 0);
    printf("%-44s %12ld\n",
           external ? "peak RSS, agent only (KiB)" : "peak RSS, agent + emulator (KiB)",
           fast.rss_after_kb);
    printf("%-44s %12ld\n", "peak RSS growth during the sync (KiB)",
           fast.rss_after_kb - fast.rss_before_kb);
    double per_k = 1000.0 / (double)n;
    printf("%-44s %12.0f\n", "bytes sent per 1,000 Cases, gzip", (double)fast.bytes_sent * per_k);
    printf("%-44s %12.0f\n", "bytes received per 1,000 Cases, gzip",
           (double)fast.bytes_received * per_k);
    printf("%-44s %12.0f\n", "bytes sent per 1,000 Cases, requests plain",
           (double)plain.bytes_sent * per_k);
    printf("%-44s %12.0f\n", "bytes received per 1,000, requests plain",
           (double)plain.bytes_received * per_k);
    printf("%-44s %12.0f\n", "records/s per CPU second, requests plain",
           plain.agent_cpu_s > 0 ? (double)n / plain.agent_cpu_s : 0);
    if (!fast_only)
        print_latency_runs(n, &slow);
    printf("%-44s %12s\n", "status",
           fast.status == SFA_OK && slow.status == SFA_OK && plain.status == SFA_OK
               ? "ok"
               : sfa_strerror(fast.status != SFA_OK ? fast.status : slow.status));
    return fast.status == SFA_OK && slow.status == SFA_OK ? 0 : 1;
}
