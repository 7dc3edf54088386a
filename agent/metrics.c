/* The metrics endpoint of `sfagent run` (agent/metrics.h): Prometheus text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/) on /metrics,
 * and /healthz for liveness probes.
 *
 * Two sources: process counters the daemon hands over after each run (runs by result,
 * API requests, bytes), kept under a mutex; and what the database says now (ops per
 * state, oldest pending write, cached records per sObject, last success, API usage: the
 * health snapshot, sfagent/health.h), read at each scrape through
 * a read-only handle that belongs to the server's thread alone, never the sync thread's
 * (sfa_agent handles are not thread-safe, and a reader must not hold up the writer).
 *
 * Invariants:
 *   M1. Every metric is written with its HELP and TYPE lines, every scrape, so a scraper
 *       never sees a metric appear or vanish with the data.
 *   M2. The server only reads: it opens the database read-only and writes nothing.
 *   M3. Label values are escaped as the format requires (backslash, quote, newline).
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sfagent/agent.h>
#include <sfagent/health.h>
#include <sfagent/outbox.h>

/* /healthz fails when the daemon has not ticked for this long. It ticks about twice a
 * second, during runs too; only a probe (at most 5 s) or a local database call holds it. */
#define METRICS_STALE_LOOP_S 60

/* sfagent_sync_runs_total{result=...}: indexed by sfa_run_result (sfagent/health.h), the
 * classification `sfagent status` uses; SFA_RUN_NONE is never counted. */
#define RUN_RESULTS 5

/* What the daemon's thread writes, under metrics.lock. */
typedef struct counters {
    uint64_t runs[RUN_RESULTS];
    uint64_t api_requests, bytes_sent, bytes_received;
    int64_t last_tick_s; /* monotonic */
} counters;

struct metrics {
    struct MHD_Daemon *mhd;
    char *db_path;
    pthread_mutex_t lock;
    counters c;
    sfa_agent *reader; /* M2: the server thread's own read-only handle */
};

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void metrics_note_run(metrics *m, const sfa_sync_report *r, sfa_status st)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    sfa_run_result res = sfa_run_result_of(st);
    if ((int)res > 0 && (int)res < RUN_RESULTS)
        m->c.runs[res]++;
    m->c.api_requests += (uint64_t)(r->api_calls > 0 ? r->api_calls : 0);
    m->c.bytes_sent += r->bytes_sent;
    m->c.bytes_received += r->bytes_received;
    pthread_mutex_unlock(&m->lock);
}

void metrics_note_tick(metrics *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->c.last_tick_s = mono_s();
    pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type); /* M1 */
}

static void label_value(FILE *f, const char *v) /* M3 */
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static sfa_agent *reader(metrics *m)
{
    if (m->reader)
        return m->reader;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.create = false;
    o.read_only = true; /* M2 */
    if (sfa_agent_open(&m->reader, m->db_path, &o) != SFA_OK) {
        sfa_agent_free(m->reader);
        m->reader = NULL;
    }
    return m->reader;
}

static void render_outbox(FILE *f, const sfa_health *h)
{
    family(f, "sfagent_outbox_ops", "gauge", "Ops in the outbox by state.");
    const char *names[] = {"pending", "inflight", "done", "conflict", "dead"};
    const sfa_outbox_stats *s = &h->outbox;
    size_t vals[] = {s->pending, s->inflight, s->done, s->conflict, s->dead};
    for (size_t i = 0; i < 5; i++)
        fprintf(f, "sfagent_outbox_ops{state=\"%s\"} %zu\n", names[i], vals[i]);
    family(f, "sfagent_oldest_pending_seconds", "gauge",
           "Age of the oldest pending local write, 0 when none is pending.");
    int64_t age = s->oldest_pending_created_ms > 0 ? h->now_ms - s->oldest_pending_created_ms : 0;
    fprintf(f, "sfagent_oldest_pending_seconds %.3f\n", age > 0 ? (double)age / 1000.0 : 0.0);
}

/* What the database says now: the health snapshot (sfagent/health.h), the same numbers
 * `sfagent status` prints. False when it cannot be read. */
static bool render_db(FILE *f, metrics *m)
{
    sfa_agent *a = reader(m);
    sfa_health h;
    if (!a || sfa_health_get(&h, a) != SFA_OK) {
        if (a)
            sfa_health_free(&h);
        return false;
    }
    render_outbox(f, &h);
    family(f, "sfagent_records", "gauge", "Cached records (not deleted) per sObject.");
    for (size_t i = 0; i < h.nsobjects; i++) {
        fputs("sfagent_records{sobject=\"", f);
        label_value(f, h.sobjects[i].sobject);
        fprintf(f, "\"} %zu\n", h.sobjects[i].records);
    }
    family(f, "sfagent_last_success_timestamp_seconds", "gauge",
           "Unix time of the end of the last successful sync run on this database, 0 if none.");
    fprintf(f, "sfagent_last_success_timestamp_seconds %.3f\n", (double)h.last_success_ms / 1000.0);
    family(f, "sfagent_api_usage_ratio", "gauge",
           "Org API requests used in the last 24 h over the daily limit, from the last"
           " Sforce-Limit-Info header a run saw (no sample until one was seen).");
    if (h.api_used >= 0 && h.api_max > 0)
        fprintf(f, "sfagent_api_usage_ratio %.6f\n", (double)h.api_used / (double)h.api_max);
    sfa_health_free(&h);
    return true;
}

static void render_process(FILE *f, const counters *snap)
{
    family(f, "sfagent_sync_runs_total", "counter", "Sync runs by this process, by result.");
    for (int i = 1; i < RUN_RESULTS; i++) /* ok, retry, partial, error */
        fprintf(f, "sfagent_sync_runs_total{result=\"%s\"} %llu\n",
                sfa_run_result_name((sfa_run_result)i), (unsigned long long)snap->runs[i]);
    family(f, "sfagent_api_requests_total", "counter",
           "HTTP requests sent to Salesforce by this process (token requests included).");
    fprintf(f, "sfagent_api_requests_total %llu\n", (unsigned long long)snap->api_requests);
    family(f, "sfagent_bytes_total", "counter", "Bytes on the wire to and from Salesforce.");
    fprintf(f, "sfagent_bytes_total{direction=\"sent\"} %llu\n",
            (unsigned long long)snap->bytes_sent);
    fprintf(f, "sfagent_bytes_total{direction=\"received\"} %llu\n",
            (unsigned long long)snap->bytes_received);
}

/* The whole exposition, or NULL when the database cannot be read. Caller frees. */
static char *render(metrics *m, size_t *len)
{
    pthread_mutex_lock(&m->lock);
    counters snap = m->c;
    pthread_mutex_unlock(&m->lock);
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    bool ok = render_db(f, m);
    render_process(f, &snap);
    fclose(f);
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        abort();
    return reply(c, status, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result healthz(metrics *m, struct MHD_Connection *c)
{
    pthread_mutex_lock(&m->lock);
    int64_t since = mono_s() - m->c.last_tick_s;
    pthread_mutex_unlock(&m->lock);
    if (since > METRICS_STALE_LOOP_S)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "sync loop not responding\n");
    sfa_outbox_stats s = {0};
    sfa_agent *a = reader(m);
    if (!a || sfa_outbox_stats_get(&s, a) != SFA_OK)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "database cannot be read\n");
    return reply_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    metrics *m = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp(url, "/healthz") == 0)
        return healthz(m, c);
    if (strcmp(url, "/metrics") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
    size_t len = 0;
    char *text = render(m, &len);
    if (!text)
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "database cannot be read\n");
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* ---- address and lifecycle ---- */

bool metrics_parse_listen(const char *spec, char *host, size_t hostlen, unsigned short *port,
                          bool *loopback, char *err, size_t errlen)
{
    const char *colon = strrchr(spec, ':'), *p = colon ? colon + 1 : spec;
    char *end = NULL;
    long n = strtol(p, &end, 10);
    if (!*p || *end || n < 1 || n > 65535) {
        snprintf(err, errlen, "'%s': the port must be a number from 1 to 65535", spec);
        return false;
    }
    *port = (unsigned short)n;
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') { /* [::1]:9100 */
        spec++;
        hl -= 2;
    }
    if (hl == 0) {
        snprintf(host, hostlen, "127.0.0.1");
    } else if (hl >= hostlen) {
        snprintf(err, errlen, "'%s': the address is too long", spec);
        return false;
    } else {
        memcpy(host, spec, hl);
        host[hl] = '\0';
        if (strcmp(host, "localhost") == 0)
            snprintf(host, hostlen, "127.0.0.1");
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        *loopback = (ntohl(a4.s_addr) >> 24) == 127;
    else if (inet_pton(AF_INET6, host, &a6) == 1)
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6);
    else {
        snprintf(err, errlen, "'%s' is not a numeric IP address (or localhost)", host);
        return false;
    }
    return true;
}

static bool start_mhd(metrics *m, const char *host, unsigned short port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        return false;
    }
    /* One polling thread: requests are served one at a time, so the reader handle is only
     * ever used by that thread (M2). */
    m->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_END);
    return m->mhd != NULL;
}

bool metrics_start(metrics **out, const char *host, unsigned short port, const char *db_path,
                   char *err, size_t errlen)
{
    *out = NULL;
    metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->db_path = strdup(db_path)))
        abort();
    pthread_mutex_init(&m->lock, NULL);
    m->c.last_tick_s = mono_s();
    if (!start_mhd(m, host, port)) {
        snprintf(err, errlen,
                 "cannot listen on %s port %u for metrics (in use, or not an"
                 " address of this machine?)",
                 host, (unsigned)port);
        metrics_stop(m);
        return false;
    }
    *out = m;
    return true;
}

void metrics_stop(metrics *m)
{
    if (!m)
        return;
    if (m->mhd)
        MHD_stop_daemon(m->mhd); /* joins the server thread: the reader is ours again */
    sfa_agent_free(m->reader);
    pthread_mutex_destroy(&m->lock);
    free(m->db_path);
    free(m);
}
