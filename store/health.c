/* Run history for health checks: a few rows of meta ('health.*'), written in one
 * transaction at the end of every sync run and read with one range scan of meta's primary
 * key, so `status`, `status --check` and metrics cost the same on any database size.
 *
 * meta rather than a table of its own: the facts are a dozen scalars with one writer (the
 * run that holds the lease), and they need no schema change to add one.
 *
 * Invariants:
 *   H1. A run's facts are written together or not at all (one transaction): a reader
 *       never sees a run's time with the previous run's result.
 *   H2. The 'health.total.*' counters only grow: each run adds its own figures to them
 *       inside the statement (no read-modify-write across statements), so two writers
 *       cannot lose an increment.
 *   H3. Nothing written here is a secret: the error text is the run report's message,
 *       built from Salesforce's error texts after the client redacted tokens in them.
 *   H4. A run counts as active only while its lease is unexpired and its holder is alive
 *       (store_lease_holder_alive): a run killed on this host reads as interrupted at
 *       once, not as running until its lease expires.
 *   H5. 'instance.url' is the instance URL of the last run that logged in, written with
 *       that run's facts (H1). It is where the reachability probe connects while the link
 *       is down (sync/client/probe.c). The URL is not a secret (no token, no userinfo: the
 *       client refuses an instance_url with userinfo before a run can record it).
 */
#include "store/health.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/run.h"
#include "store/sql.h"
#include "util/alloc.h"

static const char SQL_PUT[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                              " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
/* H2: the addition happens inside the one statement. */
static const char SQL_PUT_ONCE[] = "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)";
static const char SQL_ADD[] =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET"
    " value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)";
static const char SQL_READ[] =
    "SELECT key, value FROM meta WHERE key >= 'health.' AND key < 'health/'";
static const char SQL_LEASE[] = "SELECT pid, taken_at, host FROM sync_lease WHERE id = 1"
                                " AND expires_at > ?1";
/* outbox_ready (state, next_attempt_at, seq) answers this with one index probe. */
static const char SQL_NEXT_DUE[] =
    "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'";
static const char SQL_INSTANCE_GET[] = "SELECT value FROM meta WHERE key = 'instance.url'";
static const char SQL_SOBJECTS[] =
    "SELECT sobject, live FROM record_counts WHERE live > 0 ORDER BY sobject";

static sfa_status put(sfa_agent *a, const char *sql, const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return store_step_done(a, st, "recording the run's health");
}

static sfa_status put_int(sfa_agent *a, const char *sql, const char *key, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    return put(a, sql, key, text);
}

static const char *const run_keys[] = {
    [SFA_RUN_NONE] = NULL,
    [SFA_RUN_OK] = "health.total.runs.ok",
    [SFA_RUN_RETRY] = "health.total.runs.retry",
    [SFA_RUN_PARTIAL] = "health.total.runs.partial",
    [SFA_RUN_ERROR] = "health.total.runs.error",
};

/* The facts of one run, inside the open transaction (H1). */
static sfa_status put_run(sfa_agent *a, const store_run_record *r)
{
    sfa_status s = put_int(a, SQL_PUT_ONCE, "health.first.at", r->end_ms);
    if (s == SFA_OK)
        s = put_int(a, SQL_PUT, "health.run.at", r->end_ms);
    if (s == SFA_OK)
        s = put_int(a, SQL_PUT, "health.run.status", (int64_t)r->status);
    if (s == SFA_OK && r->success)
        s = put_int(a, SQL_PUT, "health.success.at", r->end_ms);
    if (s == SFA_OK && r->push_ok)
        s = put_int(a, SQL_PUT, "health.push.at", r->end_ms);
    if (s == SFA_OK && r->pull_ok)
        s = put_int(a, SQL_PUT, "health.pull.at", r->end_ms);
    if (s == SFA_OK && r->error && *r->error)
        s = put(a, SQL_PUT, "health.error", r->error);
    if (s == SFA_OK && r->error && *r->error)
        s = put_int(a, SQL_PUT, "health.error.at", r->end_ms);
    if (s == SFA_OK && r->api_used >= 0 && r->api_max > 0) {
        s = put_int(a, SQL_PUT, "health.api.used", r->api_used);
        if (s == SFA_OK)
            s = put_int(a, SQL_PUT, "health.api.max", r->api_max);
        if (s == SFA_OK)
            s = put_int(a, SQL_PUT, "health.api.at", r->end_ms);
    }
    return s;
}

/* H2: this run's figures added to the totals. */
static sfa_status add_totals(sfa_agent *a, const store_run_record *r)
{
    sfa_status s = put_int(a, SQL_ADD, run_keys[sfa_run_result_of(r->status)], 1);
    if (s == SFA_OK)
        s = put_int(a, SQL_ADD, "health.total.requests", (int64_t)r->api_requests);
    if (s == SFA_OK)
        s = put_int(a, SQL_ADD, "health.total.bytes.sent", (int64_t)r->bytes_sent);
    if (s == SFA_OK)
        s = put_int(a, SQL_ADD, "health.total.bytes.received", (int64_t)r->bytes_received);
    return s;
}

sfa_status store_health_record(sfa_agent *a, const store_run_record *run)
{
    sfa_status s = store_tx_begin(a);
    if (s != SFA_OK)
        return s;
    s = put_run(a, run);
    if (s == SFA_OK)
        s = add_totals(a, run);
    if (s == SFA_OK && run->instance_url && *run->instance_url) /* H5 */
        s = put(a, SQL_PUT, "instance.url", run->instance_url);
    return s == SFA_OK ? store_tx_commit(a) : (store_tx_rollback(a), s);
}

/* Where a 'health.*' key's integer value goes in out (NULL: not an integer key). */
static int64_t *int_slot(sfa_health *out, const char *key)
{
    static const struct {
        const char *key;
        size_t offset;
    } slots[] = {
        {"health.first.at", offsetof(sfa_health, first_run_ms)},
        {"health.run.at", offsetof(sfa_health, last_run_ms)},
        {"health.success.at", offsetof(sfa_health, last_success_ms)},
        {"health.push.at", offsetof(sfa_health, last_push_ok_ms)},
        {"health.pull.at", offsetof(sfa_health, last_pull_ok_ms)},
        {"health.error.at", offsetof(sfa_health, last_error_ms)},
        {"health.api.at", offsetof(sfa_health, api_seen_ms)},
    };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (strcmp(key, slots[i].key) == 0)
            return (int64_t *)(void *)((char *)out + slots[i].offset);
    return NULL;
}

static uint64_t *total_slot(sfa_health_totals *t, const char *key)
{
    for (int r = SFA_RUN_OK; r <= SFA_RUN_ERROR; r++)
        if (strcmp(key, run_keys[r]) == 0)
            return &t->runs[r];
    return strcmp(key, "health.total.requests") == 0         ? &t->api_requests
           : strcmp(key, "health.total.bytes.sent") == 0     ? &t->bytes_sent
           : strcmp(key, "health.total.bytes.received") == 0 ? &t->bytes_received
                                                             : NULL;
}

/* One 'health.*' row into out; unknown keys (a newer sfagent's) are skipped. */
static void apply_row(sfa_health *out, const char *key, const char *value)
{
    long long v = strtoll(value, NULL, 10);
    int64_t *i64 = int_slot(out, key);
    uint64_t *u64 = total_slot(&out->totals, key);
    if (i64)
        *i64 = (int64_t)v;
    else if (u64)
        *u64 = v > 0 ? (uint64_t)v : 0;
    else if (strcmp(key, "health.run.status") == 0)
        out->last_run_status = (sfa_status)v;
    else if (strcmp(key, "health.api.used") == 0)
        out->api_used = (long)v;
    else if (strcmp(key, "health.api.max") == 0)
        out->api_max = (long)v;
    else if (strcmp(key, "health.error") == 0 && !out->last_error)
        out->last_error = xstrdup(value);
}

static sfa_status read_history(sfa_agent *a, sfa_health *out)
{
    sqlite3_stmt *st = store_stmt(a, SQL_READ);
    if (!st)
        return store_last_status(a);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *value = (const char *)sqlite3_column_text(st, 1);
        if (key && value)
            apply_row(out, key, value);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "reading the run history");
    out->last_run = out->last_run_ms > 0 ? sfa_run_result_of(out->last_run_status) : SFA_RUN_NONE;
    return SFA_OK;
}

static sfa_status read_lease(sfa_agent *a, sfa_health *out)
{
    sqlite3_stmt *st = store_stmt(a, SQL_LEASE);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, out->now_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->run_pid = (long)sqlite3_column_int64(st, 0);
        out->run_since_ms = sqlite3_column_int64(st, 1);
        const char *host = (const char *)sqlite3_column_text(st, 2);
        /* H4: a holder killed on this host (SIGKILL, power cut of a container) left an
         * unexpired lease; it is not running, whatever expires_at says. */
        out->run_active = store_lease_holder_alive(out->run_pid, host ? host : "");
        out->run_interrupted = !out->run_active;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading the run lease");
}

static sfa_status read_next_due(sfa_agent *a, int64_t *next_due_ms)
{
    *next_due_ms = 0;
    sqlite3_stmt *st = store_stmt(a, SQL_NEXT_DUE);
    if (!st)
        return store_last_status(a);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *next_due_ms = sqlite3_column_int64(st, 0); /* NULL (none pending) reads 0 */
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SFA_OK : store_fail_sqlite(a, rc, "reading the next due op");
}

sfa_status store_health_read(sfa_agent *a, sfa_health *out, int64_t *next_due_ms)
{
    out->api_used = out->api_max = -1;
    sfa_status s = read_history(a, out);
    if (s == SFA_OK)
        s = read_lease(a, out);
    if (s == SFA_OK)
        s = read_next_due(a, next_due_ms);
    return s;
}

sfa_status store_instance_url_get(sfa_agent *a, char **out)
{
    *out = NULL;
    sqlite3_stmt *st = store_stmt(a, SQL_INSTANCE_GET);
    if (!st)
        return store_last_status(a);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        *out = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return SFA_OK;
    return store_fail_sqlite(a, rc, "reading the recorded instance");
}

sfa_status store_health_sobjects(sfa_agent *a, sfa_health *out)
{
    sqlite3_stmt *st = store_stmt(a, SQL_SOBJECTS);
    if (!st)
        return store_last_status(a);
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nsobjects == cap) {
            cap = cap ? cap * 2 : 8;
            out->sobjects = xrealloc(out->sobjects, cap * sizeof *out->sobjects);
        }
        sfa_health_sobject *o = &out->sobjects[out->nsobjects++];
        o->sobject = store_col_dup(st, 0);
        o->records = (size_t)sqlite3_column_int64(st, 1);
        if (!o->sobject)
            o->sobject = xstrdup("");
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "counting records per object");
}
