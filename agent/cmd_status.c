/*
 * `init`, `status` and `version`: the database itself rather than its records.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

#ifndef SFA_VERSION
#define SFA_VERSION "unknown"
#endif

/* Exit code when a command that takes no arguments got some. */
static int no_args(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage("%s: unexpected argument '%s'", argv[0], argv[1]);
    return CLI_EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
    sfa_agent *agent = NULL;
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK || (rc = cli_open(&agent, true)) != CLI_EXIT_OK)
        return rc;
    int version = sfa_agent_schema_version(agent);
    sfa_agent_free(agent);
    if (!cli_json()) {
        printf("initialized %s (schema v%d)\n", cli_db_path(), version);
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "db", cli_db_path());
    cJSON_AddNumberToObject(obj, "schemaVersion", version);
    return cli_print_json(obj);
}

/* "2026-12-01T18:00:00Z" for ms since the epoch into buf (32 bytes); "" for 0. */
static void iso_time(char buf[32], int64_t ms)
{
    buf[0] = '\0';
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms > 0 && gmtime_r(&t, &tm))
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2026-12-01T18:00:00Z (3 min ago)", "... (in 4 min)", or "never". */
static void when_text(char *buf, size_t size, int64_t ms, int64_t now)
{
    if (ms <= 0) {
        snprintf(buf, size, "never");
        return;
    }
    char iso[32], age[32];
    iso_time(iso, ms);
    cli_format_age(age, sizeof age, ms <= now ? now - ms : ms - now);
    snprintf(buf, size, "%s (%s%s%s)", iso, ms <= now ? "" : "in ", age, ms <= now ? " ago" : "");
}

static const char *pause_source_name(sfa_pause_source s)
{
    switch (s) {
    case SFA_PAUSE_NONE:
        return "";
    case SFA_PAUSE_OFFLINE:
        return "offline";
    case SFA_PAUSE_API_LIMIT:
        return "API limit";
    case SFA_PAUSE_RETRY_AFTER:
        return "Retry-After";
    }
    return "";
}

/* The next attempt in words: "now", "idle (nothing pending)", "<when>: backoff", ... */
static void next_text(char *buf, size_t size, const sfa_health *h)
{
    char when[96];
    when_text(when, sizeof when, h->next_attempt_ms, h->now_ms);
    switch (h->next) {
    case SFA_NEXT_IDLE:
        snprintf(buf, size, "idle (nothing to send)");
        return;
    case SFA_NEXT_NOW:
        snprintf(buf, size, "now (pending ops are due)");
        return;
    case SFA_NEXT_BACKOFF:
        snprintf(buf, size, "%s: per-op backoff", when);
        return;
    case SFA_NEXT_PAUSE:
        snprintf(buf, size, "%s: paused (%s)", when, pause_source_name(h->pause.source));
        return;
    }
}

/* Rows of the human table; each text lives in one of the buffers of `texts`. */
typedef struct status_texts {
    char v[16], n[6][24], age[96], sobjects[256];
    char run[160], success[96], push[96], pull[96], next[160], api[200], err[96], running[224];
} status_texts;

static void fill_counts(status_texts *t, const sfa_health *h)
{
    const sfa_outbox_stats *s = &h->outbox;
    const size_t counts[6] = {s->records, s->pending, s->inflight, s->conflict, s->dead, s->done};
    snprintf(t->v, sizeof t->v, "%d", h->schema_version);
    for (size_t i = 0; i < 6; i++)
        snprintf(t->n[i], sizeof t->n[i], "%zu", counts[i]);
    snprintf(t->age, sizeof t->age, "-");
    if (s->oldest_pending_created_ms > 0)
        when_text(t->age, sizeof t->age, s->oldest_pending_created_ms, h->now_ms);
    size_t used = 0;
    t->sobjects[0] = '\0';
    for (size_t i = 0; i < h->nsobjects && used < sizeof t->sobjects; i++)
        used += (size_t)snprintf(t->sobjects + used, sizeof t->sobjects - used, "%s%s %zu",
                                 i ? ", " : "", h->sobjects[i].sobject, h->sobjects[i].records);
}

static void fill_history(status_texts *t, const sfa_health *h)
{
    char when[96];
    when_text(when, sizeof when, h->last_run_ms, h->now_ms);
    if (h->last_run == SFA_RUN_NONE)
        snprintf(t->run, sizeof t->run, "never");
    else
        snprintf(t->run, sizeof t->run, "%s: %s", when, sfa_run_result_name(h->last_run));
    when_text(t->success, sizeof t->success, h->last_success_ms, h->now_ms);
    when_text(t->push, sizeof t->push, h->last_push_ok_ms, h->now_ms);
    when_text(t->pull, sizeof t->pull, h->last_pull_ok_ms, h->now_ms);
    when_text(t->err, sizeof t->err, h->last_error_ms, h->now_ms);
    next_text(t->next, sizeof t->next, h);
    if (h->api_used < 0 || h->api_max <= 0) {
        snprintf(t->api, sizeof t->api, "unknown (no Sforce-Limit-Info seen yet)");
    } else {
        when_text(when, sizeof when, h->api_seen_ms, h->now_ms);
        snprintf(t->api, sizeof t->api, "%ld of %ld daily requests (%.1f%%), seen %s", h->api_used,
                 h->api_max, 100.0 * (double)h->api_used / (double)h->api_max, when);
    }
    snprintf(t->running, sizeof t->running, "no");
    if (h->run_active || h->run_interrupted) {
        when_text(when, sizeof when, h->run_since_ms, h->now_ms);
        snprintf(t->running, sizeof t->running, "%spid %ld since %s%s",
                 h->run_active ? "" : "no (interrupted: ", h->run_pid, when,
                 h->run_active ? "" : "; the next run resolves what it left in flight)");
    }
}

static void print_health(const sfa_health *h)
{
    status_texts t;
    fill_counts(&t, h);
    fill_history(&t, h);
    const char *const rows[][2] = {
        {"Database", cli_db_path()},
        {"Schema", t.v},
        {"Records", t.n[0]},
        {"Per object", t.sobjects[0] ? t.sobjects : "-"},
        {"Pending", t.n[1]},
        {"Oldest pending", t.age},
        {"Inflight", t.n[2]},
        {"Conflict", t.n[3]},
        {"Dead", t.n[4]},
        {"Done", t.n[5]},
        {"Last run", t.run},
        {"Last success", t.success},
        {"Last push", t.push},
        {"Last pull", t.pull},
        {"Next attempt", t.next},
        {"API usage", t.api},
        {"Sync running", t.running},
        {"Last error", h->last_error ? t.err : "none"},
    };
    cli_table *tab = cli_table_new(2, NULL);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cli_table_add(tab, rows[i]);
    cli_table_print(tab);
    cli_table_free(tab);
    if (h->last_error)
        printf("  %s\n", h->last_error);
    if (h->pause.source != SFA_PAUSE_NONE) {
        char until[32];
        iso_time(until, h->pause.until_ms);
        printf("Paused until %s (%s: %s)\n", until, pause_source_name(h->pause.source),
               h->pause.reason);
    }
}

/* A time as an ISO string, or null when it never happened. */
static void add_time(cJSON *obj, const char *key, int64_t ms)
{
    char iso[32];
    iso_time(iso, ms);
    if (ms > 0)
        cJSON_AddStringToObject(obj, key, iso);
    else
        cJSON_AddNullToObject(obj, key);
}

static void add_pause_json(cJSON *obj, const sfa_sync_pause *p)
{
    if (p->source == SFA_PAUSE_NONE) {
        cJSON_AddNullToObject(obj, "pause");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(obj, "pause");
    add_time(o, "until", p->until_ms);
    cJSON_AddStringToObject(o, "source", pause_source_name(p->source));
    cJSON_AddStringToObject(o, "reason", p->reason);
}

static void add_counts_json(cJSON *obj, const sfa_health *h)
{
    const sfa_outbox_stats *s = &h->outbox;
    cJSON_AddNumberToObject(obj, "records", (double)s->records);
    cJSON *per = cJSON_AddObjectToObject(obj, "recordsBySobject");
    for (size_t i = 0; i < h->nsobjects; i++)
        cJSON_AddNumberToObject(per, h->sobjects[i].sobject, (double)h->sobjects[i].records);
    cJSON *ob = cJSON_AddObjectToObject(obj, "outbox");
    cJSON_AddNumberToObject(ob, "pending", (double)s->pending);
    cJSON_AddNumberToObject(ob, "inflight", (double)s->inflight);
    cJSON_AddNumberToObject(ob, "done", (double)s->done);
    cJSON_AddNumberToObject(ob, "conflict", (double)s->conflict);
    cJSON_AddNumberToObject(ob, "dead", (double)s->dead);
    if (s->oldest_pending_created_ms > 0)
        cJSON_AddNumberToObject(obj, "oldestPendingAgeMs",
                                (double)(h->now_ms - s->oldest_pending_created_ms));
    else
        cJSON_AddNullToObject(obj, "oldestPendingAgeMs");
    add_time(obj, "oldestPendingAt", s->oldest_pending_created_ms);
}

static void add_history_json(cJSON *obj, const sfa_health *h)
{
    if (h->last_run == SFA_RUN_NONE) {
        cJSON_AddNullToObject(obj, "lastRun");
    } else {
        cJSON *r = cJSON_AddObjectToObject(obj, "lastRun");
        add_time(r, "at", h->last_run_ms);
        cJSON_AddStringToObject(r, "result", sfa_run_result_name(h->last_run));
        cJSON_AddNumberToObject(r, "exitCode", cli_exit_code(h->last_run_status));
    }
    add_time(obj, "lastSuccessAt", h->last_success_ms);
    add_time(obj, "lastPushAt", h->last_push_ok_ms);
    add_time(obj, "lastPullAt", h->last_pull_ok_ms);
    if (!h->last_error) {
        cJSON_AddNullToObject(obj, "lastError");
    } else {
        cJSON *e = cJSON_AddObjectToObject(obj, "lastError");
        add_time(e, "at", h->last_error_ms);
        cJSON_AddStringToObject(e, "message", h->last_error);
    }
    cJSON *n = cJSON_AddObjectToObject(obj, "nextAttempt");
    add_time(n, "at", h->next_attempt_ms);
    cJSON_AddStringToObject(n, "reason", sfa_next_reason_name(h->next));
}

static void add_api_json(cJSON *obj, const sfa_health *h)
{
    if (h->api_used < 0 || h->api_max <= 0) {
        cJSON_AddNullToObject(obj, "apiUsage");
    } else {
        cJSON *a = cJSON_AddObjectToObject(obj, "apiUsage");
        cJSON_AddNumberToObject(a, "used", (double)h->api_used);
        cJSON_AddNumberToObject(a, "max", (double)h->api_max);
        cJSON_AddNumberToObject(a, "ratio", (double)h->api_used / (double)h->api_max);
        add_time(a, "seenAt", h->api_seen_ms);
    }
    if (!h->run_active) {
        cJSON_AddNullToObject(obj, "running");
    } else {
        cJSON *r = cJSON_AddObjectToObject(obj, "running");
        cJSON_AddNumberToObject(r, "pid", (double)h->run_pid);
        add_time(r, "since", h->run_since_ms);
    }
    if (!h->run_interrupted) {
        cJSON_AddNullToObject(obj, "interrupted");
    } else {
        cJSON *r = cJSON_AddObjectToObject(obj, "interrupted");
        cJSON_AddNumberToObject(r, "pid", (double)h->run_pid);
        add_time(r, "since", h->run_since_ms);
    }
    cJSON *t = cJSON_AddObjectToObject(obj, "totals");
    cJSON *runs = cJSON_AddObjectToObject(t, "runs");
    for (int r = SFA_RUN_OK; r <= SFA_RUN_ERROR; r++)
        cJSON_AddNumberToObject(runs, sfa_run_result_name((sfa_run_result)r),
                                (double)h->totals.runs[r]);
    cJSON_AddNumberToObject(t, "apiRequests", (double)h->totals.api_requests);
    cJSON_AddNumberToObject(t, "bytesSent", (double)h->totals.bytes_sent);
    cJSON_AddNumberToObject(t, "bytesReceived", (double)h->totals.bytes_received);
}

static cJSON *health_json(const sfa_health *h)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "db", cli_db_path());
    cJSON_AddNumberToObject(obj, "schemaVersion", h->schema_version);
    add_time(obj, "now", h->now_ms);
    add_counts_json(obj, h);
    add_history_json(obj, h);
    add_api_json(obj, h);
    add_pause_json(obj, &h->pause);
    if (h->damaged)
        cJSON_AddStringToObject(obj, "damaged", h->damaged);
    else
        cJSON_AddNullToObject(obj, "damaged");
    return obj;
}

/* A database flagged as damaged: why, and that writes are refused until it is restored. */
static void print_corruption(const char *why)
{
    if (why)
        printf("DAMAGED: %s\nWrites are refused (exit 74); reads work. Restore the file from a "
               "backup, or check it with sqlite3 FILE 'PRAGMA integrity_check'.\n",
               why);
}

int cmd_status(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--check") == 0)
        return cmd_status_check(argc, argv);
    sfa_agent *agent = NULL;
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK || (rc = cli_open_read_only(&agent)) != CLI_EXIT_OK)
        return rc;
    sfa_health h;
    sfa_status st = sfa_health_get(&h, agent);
    if (st != SFA_OK) {
        if (!cli_json())
            print_corruption(h.damaged);
        rc = cli_fail(st, agent, "status");
    } else if (cli_json()) {
        rc = cli_print_json(health_json(&h));
    } else {
        print_health(&h);
        print_corruption(h.damaged);
    }
    sfa_health_free(&h);
    sfa_agent_free(agent);
    return rc;
}

int cmd_version(int argc, char **argv)
{
    int rc = no_args(argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!cli_json()) {
        printf("sfagent %s (schema v%d)\n", SFA_VERSION, sfa_agent_schema_version_supported());
        return CLI_EXIT_OK;
    }
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "version", SFA_VERSION);
    cJSON_AddNumberToObject(obj, "schemaVersion", sfa_agent_schema_version_supported());
    return cli_print_json(obj);
}
