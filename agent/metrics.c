/* The metrics endpoint of `sfagent run` (agent/metrics.h): Prometheus text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/) on /metrics,
 * and /healthz for liveness probes.
 *
 * Two sources: process counters the daemon hands over after each run (runs by result,
 * API requests, bytes), kept under a mutex; and what the database says now (ops per
 * state, oldest pending write, cached records per sObject), read at each scrape through
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
#include <sfagent/outbox.h>
#include <sfagent/query.h>

/* /healthz fails when the daemon's loop has not ticked for this long (it ticks every
 * 500 ms, and a sync run ticks it only between runs: a run may take a while). */
#define METRICS_STALE_LOOP_S 120

/* Counters for sfagent_sync_runs_total{result=...}, in label order. */
enum { RUN_OK, RUN_RETRY, RUN_PARTIAL, RUN_ERROR, RUN_RESULTS };
static const char *const run_labels[RUN_RESULTS] = {"ok", "retry", "partial", "error"};

/* What the daemon's thread writes, under metrics.lock. */
typedef struct counters {
    uint64_t runs[RUN_RESULTS];
    uint64_t api_requests, bytes_sent, bytes_received;
    int64_t last_success_s; /* wall clock, 0: none in this process */
    int64_t last_tick_s;    /* monotonic */
} counters;

struct metrics {
    struct MHD_Daemon *mhd;
    char *db_path;
    pthread_mutex_t lock;
    counters c;
    char *objects;     /* under lock too */
    sfa_agent *reader; /* M2: the server thread's own read-only handle */
};

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static int run_result_of(sfa_status st)
{
    switch (st) {
    case SFA_OK:
        return RUN_OK;
    case SFA_EPARTIAL:
        return RUN_PARTIAL;
    case SFA_ERETRY:
    case SFA_EBUSY:
    case SFA_ELIMIT:
    case SFA_ENETWORK:
        return RUN_RETRY;
    default:
        return RUN_ERROR;
    }
}

void metrics_note_run(metrics *m, const sfa_sync_report *r, sfa_status st)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->c.runs[run_result_of(st)]++;
    m->c.api_requests += (uint64_t)(r->api_calls > 0 ? r->api_calls : 0);
    m->c.bytes_sent += r->bytes_sent;
    m->c.bytes_received += r->bytes_received;
    /* Success: the run reached Salesforce and ended without a failure of its own. */
    if (st == SFA_OK || st == SFA_EPARTIAL)
        m->c.last_success_s = (int64_t)time(NULL);
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

void metrics_set_objects(metrics *m, const char *objects)
{
    if (!m)
        return;
    char *copy = strdup(objects ? objects : "");
    if (!copy)
        abort();
    pthread_mutex_lock(&m->lock);
    free(m->objects);
    m->objects = copy;
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

static int ignore_row(void *ctx, const char *record_json)
{
    (void)ctx, (void)record_json;
    return 0; /* COUNT() delivers no rows; the API wants a callback all the same */
}

/* Live cached records of one sObject, through the local query engine (indexed count). */
static long count_records(sfa_agent *a, const char *sobject)
{
    char soql[160];
    snprintf(soql, sizeof soql, "SELECT COUNT() FROM %s", sobject);
    size_t total = 0;
    if (sfa_query_local_each(&total, a, soql, ignore_row, NULL) != SFA_OK)
        return -1;
    return (long)total;
}

static void render_records(FILE *f, sfa_agent *a, const char *objects)
{
    family(f, "sfagent_records", "gauge", "Cached records (not deleted) per sObject.");
    char *list = strdup(objects), *save = NULL;
    if (!list)
        abort();
    for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        long n = count_records(a, tok);
        if (n < 0)
            continue;
        fputs("sfagent_records{sobject=\"", f);
        label_value(f, tok);
        fprintf(f, "\"} %ld\n", n);
    }
    free(list);
}

static bool render_db(FILE *f, metrics *m, const char *objects)
{
    sfa_agent *a = reader(m);
    sfa_outbox_stats s = {0};
    if (!a || sfa_outbox_stats_get(&s, a) != SFA_OK)
        return false;
    family(f, "sfagent_outbox_ops", "gauge", "Ops in the outbox by state.");
    const char *names[] = {"pending", "inflight", "done", "conflict", "dead"};
    size_t vals[] = {s.pending, s.inflight, s.done, s.conflict, s.dead};
    for (size_t i = 0; i < 5; i++)
        fprintf(f, "sfagent_outbox_ops{state=\"%s\"} %zu\n", names[i], vals[i]);
    family(f, "sfagent_oldest_pending_seconds", "gauge",
           "Age of the oldest pending local write, 0 when none is pending.");
    double age = 0;
    if (s.oldest_pending_created_ms > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double now_ms = (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
        age = (now_ms - (double)s.oldest_pending_created_ms) / 1000.0;
        if (age < 0)
            age = 0;
    }
    fprintf(f, "sfagent_oldest_pending_seconds %.3f\n", age);
    render_records(f, a, objects);
    return true;
}

static void render_process(FILE *f, const counters *snap)
{
    family(f, "sfagent_sync_runs_total", "counter", "Sync runs by this process, by result.");
    for (int i = 0; i < RUN_RESULTS; i++)
        fprintf(f, "sfagent_sync_runs_total{result=\"%s\"} %llu\n", run_labels[i],
                (unsigned long long)snap->runs[i]);
    family(f, "sfagent_api_requests_total", "counter",
           "HTTP requests sent to Salesforce by this process (token requests included).");
    fprintf(f, "sfagent_api_requests_total %llu\n", (unsigned long long)snap->api_requests);
    family(f, "sfagent_bytes_total", "counter", "Bytes on the wire to and from Salesforce.");
    fprintf(f, "sfagent_bytes_total{direction=\"sent\"} %llu\n",
            (unsigned long long)snap->bytes_sent);
    fprintf(f, "sfagent_bytes_total{direction=\"received\"} %llu\n",
            (unsigned long long)snap->bytes_received);
    family(f, "sfagent_last_success_timestamp_seconds", "gauge",
           "Unix time of the end of the last sync run that succeeded, 0 when none has.");
    fprintf(f, "sfagent_last_success_timestamp_seconds %lld\n", (long long)snap->last_success_s);
}

/* The whole exposition, or NULL when the database cannot be read. Caller frees. */
static char *render(metrics *m, size_t *len)
{
    pthread_mutex_lock(&m->lock);
    counters snap = m->c;
    char *objects = strdup(m->objects ? m->objects : "");
    pthread_mutex_unlock(&m->lock);
    if (!objects)
        abort();
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    bool ok = render_db(f, m, objects);
    render_process(f, &snap);
    fclose(f);
    free(objects);
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
                   const char *objects, char *err, size_t errlen)
{
    *out = NULL;
    metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->db_path = strdup(db_path)))
        abort();
    pthread_mutex_init(&m->lock, NULL);
    m->c.last_tick_s = mono_s();
    metrics_set_objects(m, objects);
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
    free(m->objects);
    free(m->db_path);
    free(m);
}
