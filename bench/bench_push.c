/* bench_push: how many API calls and how much time the push engine needs for a backlog.
 *
 * N Case creates are queued offline (imported in batched transactions), then one `sync`
 * pushes them to the emulator at the default [sync] parallel (4). Printed: API requests
 * (target <= 14 per 10,000: 13 composites of 800 + the token), records/s and records per
 * agent CPU second, peak RSS (ru_maxrss covers the whole process, emulator included when it
 * runs in-process; the growth during the sync alone is printed too), bytes on the wire per
 * 1,000 Cases with and without request compression; then the same backlog with 50 ms
 * latency per request at parallel 1 and 4, against requests x 50 ms / parallel.
 *
 * With SFAGENT_EMULATOR_BIN set, the emulator runs as a separate process instead, so the
 * peak RSS printed is the agent's alone (the emulator's own request count is then not
 * available; the agent's count is).
 *
 * Usage: bench_push [N] [fast]   (N creates, default 10000; "fast" skips the two 50 ms
 * runs, which take minutes at 100,000 and more). Not a test: prints a table. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

static int run_one(size_t n, int latency_ms, bool compress, int parallel, bench_result *out)
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
                          "[sync]\napi_limit_share = 1\nparallel = %d\n%s",
                          be.url, parallel, compress ? "" : "compress_min_bytes = 0\n");
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

/* The same backlog with 50 ms per request at [sync] parallel 1 and 4, against the ideal
 * requests x 50 ms / parallel (the target: parallel 4 within 1.2x of it). */
static void print_latency_runs(const bench_result *slow1, const bench_result *slow4)
{
    const bench_result *runs[] = {slow1, slow4};
    const int par[] = {1, 4};
    for (int i = 0; i < 2; i++) {
        const bench_result *r = runs[i];
        double ideal = (double)r->api_calls * 0.05 / par[i];
        char label[64];
        snprintf(label, sizeof label, "parallel %d, 50 ms latency: elapsed (s)", par[i]);
        printf("%-44s %12.2f\n", label, (double)r->sync_ms / 1000.0);
        snprintf(label, sizeof label, "parallel %d: requests x 50 ms / %d (s)", par[i], par[i]);
        printf("%-44s %12.2f\n", label, ideal);
        snprintf(label, sizeof label, "parallel %d: elapsed / ideal", par[i]);
        printf("%-44s %12.2f\n", label, ideal > 0 ? (double)r->sync_ms / 1000.0 / ideal : 0);
        snprintf(label, sizeof label, "parallel %d: agent CPU (s)", par[i]);
        printf("%-44s %12.2f\n", label, r->agent_cpu_s);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    if (n == 0)
        n = 10000;
    bool fast_only = argc > 2 && strcmp(argv[2], "fast") == 0;
    bench_result fast, plain, slow, slow4;
    memset(&slow, 0, sizeof slow);
    memset(&slow4, 0, sizeof slow4);
    if (run_one(n, 0, true, 4, &fast) != 0 || run_one(n, 0, false, 4, &plain) != 0 ||
        (!fast_only &&
         (run_one(n, 50, true, 1, &slow) != 0 || run_one(n, 50, true, 4, &slow4) != 0)))
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
        print_latency_runs(&slow, &slow4);
    printf("%-44s %12s\n", "status",
           fast.status == SFA_OK && slow.status == SFA_OK && slow4.status == SFA_OK &&
                   plain.status == SFA_OK
               ? "ok"
               : sfa_strerror(fast.status != SFA_OK ? fast.status : slow.status));
    return fast.status == SFA_OK && slow.status == SFA_OK ? 0 : 1;
}
