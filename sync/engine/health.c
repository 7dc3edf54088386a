/* Health: what a sync run leaves behind for monitoring, and the snapshot read back
 * (sfagent/health.h).
 *
 * A run ends with one summary log line and one record (store/health.c). The snapshot
 * joins that record with the live counts (outbox per state, records per object), the
 * run-level pause and the run lease, all constant-cost reads.
 *
 * Invariants:
 *   H1. A run counts as a success only when Salesforce answered it (it made requests)
 *       and no failure stopped it: ops merely waiting for their backoff do not make a run
 *       a failure, and a run that never reached Salesforce is never a success.
 *   H2. The record is written after the run, in its own transaction: the outbox is
 *       already right whatever happens to it. A failure to write it (disk full, I/O
 *       error) becomes the run's status when the run had no failure of its own: the disk
 *       is failing, and saying "done" would hide it until the next command trips on it.
 */
#include "sync/engine/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/health.h"
#include "store/health.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/timeutil.h"

const char *sfa_run_result_name(sfa_run_result result)
{
    switch (result) {
    case SFA_RUN_NONE:
        return "none";
    case SFA_RUN_OK:
        return "ok";
    case SFA_RUN_RETRY:
        return "retry";
    case SFA_RUN_PARTIAL:
        return "partial";
    case SFA_RUN_ERROR:
        return "error";
    }
    return "unknown";
}

sfa_run_result sfa_run_result_of(sfa_status status)
{
    switch (status) {
    case SFA_OK:
        return SFA_RUN_OK;
    case SFA_EPARTIAL:
        return SFA_RUN_PARTIAL;
    case SFA_ERETRY:
    case SFA_ELIMIT:
    case SFA_EBUSY:
    case SFA_ENETWORK:
        return SFA_RUN_RETRY;
    case SFA_ERROR:
    case SFA_EINVAL:
    case SFA_ENOTFOUND:
    case SFA_EAMBIGUOUS:
    case SFA_EIO:
    case SFA_EFULL:
    case SFA_EREADONLY:
    case SFA_ECORRUPT:
    case SFA_ETOONEW:
    case SFA_EAUTH:
    case SFA_ESERVER:
    case SFA_ECONFIG:
    case SFA_ESTATE:
    case SFA_ETLS:
        break;
    }
    return SFA_RUN_ERROR; /* a person or a fix is needed before runs can succeed */
}

const char *sfa_next_reason_name(sfa_next_reason reason)
{
    switch (reason) {
    case SFA_NEXT_IDLE:
        return "idle";
    case SFA_NEXT_NOW:
        return "now";
    case SFA_NEXT_BACKOFF:
        return "backoff";
    case SFA_NEXT_PAUSE:
        return "pause";
    }
    return "unknown";
}

static void log_summary(const sfa_sync_report *r, sfa_status status)
{
    log_info("sync run ended: result=%s sent=%zu done=%zu retried=%zu dead=%zu conflict=%zu"
             " parked=%zu pulled=%zu updated=%zu deleted=%zu api_calls=%ld bytes_sent=%llu"
             " bytes_received=%llu elapsed_ms=%lld",
             sfa_run_result_name(sfa_run_result_of(status)), r->sent, r->done, r->retried, r->dead,
             r->conflict, r->parked, r->pulled, r->updated, r->deleted, r->api_calls,
             (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received,
             (long long)r->elapsed_ms);
}

sfa_status sync_health_note_run(sfa_agent *agent, sfa_sync_report *report, const sync_run_end *end)
{
    bool failed = end->status != SFA_OK && end->status != SFA_EPARTIAL;
    store_run_record rec = {
        .end_ms = time_now_ms(),
        .status = end->status,
        .success = !end->stopped && report->api_calls > 0, /* H1 */
        .push_ok = end->push_ok,
        .pull_ok = end->pull_ok,
        .error = (end->stopped || failed) && report->message[0] ? report->message : NULL,
        .api_used = end->api_used,
        .api_max = end->api_max,
        .api_requests = report->api_calls > 0 ? (uint64_t)report->api_calls : 0,
        .bytes_sent = report->bytes_sent,
        .bytes_received = report->bytes_received,
        .instance_url = end->instance_url,
    };
    sfa_status st = end->status;
    sfa_status rs = store_health_record(agent, &rec);
    if (rs != SFA_OK && (st == SFA_OK || st == SFA_EPARTIAL || st == SFA_ERETRY)) { /* H2 */
        snprintf(report->message, sizeof report->message, "could not record the run: %s",
                 sfa_agent_errmsg(agent));
        st = rs;
    } else if (rs != SFA_OK) {
        log_warn("could not record the run for `sfagent status`: %s", sfa_agent_errmsg(agent));
    }
    log_summary(report, st);
    return st;
}

/* Why and when the next run will send something. */
static void next_attempt(sfa_health *h, int64_t next_due_ms)
{
    size_t open = h->outbox.pending + h->outbox.inflight;
    if (open == 0) {
        h->next = SFA_NEXT_IDLE;
        h->next_attempt_ms = 0;
    } else if (h->pause.source != SFA_PAUSE_NONE && h->pause.until_ms > h->now_ms) {
        h->next = SFA_NEXT_PAUSE;
        h->next_attempt_ms = h->pause.until_ms > next_due_ms ? h->pause.until_ms : next_due_ms;
    } else if (h->outbox.pending > 0 && next_due_ms > h->now_ms) {
        h->next = SFA_NEXT_BACKOFF;
        h->next_attempt_ms = next_due_ms;
    } else {
        h->next = SFA_NEXT_NOW;
        h->next_attempt_ms = h->now_ms;
    }
}

static void copy_damage(sfa_health *h, const sfa_agent *agent)
{
    const char *why = sfa_agent_corruption(agent);
    h->damaged = why ? xstrdup(why) : NULL;
}

sfa_status sfa_health_get(sfa_health *out, sfa_agent *agent)
{
    if (!out)
        return SFA_EINVAL;
    memset(out, 0, sizeof *out);
    out->api_used = out->api_max = -1;
    if (!agent)
        return SFA_EINVAL;
    out->now_ms = time_now_ms();
    out->schema_version = sfa_agent_schema_version(agent);
    int64_t next_due = 0;
    sfa_status s = sfa_outbox_stats_get(&out->outbox, agent);
    if (s == SFA_OK)
        s = sfa_sync_pause_get(&out->pause, agent);
    if (s == SFA_OK)
        s = store_health_read(agent, out, &next_due);
    if (s == SFA_OK)
        s = store_health_sobjects(agent, out);
    if (s == SFA_OK)
        next_attempt(out, next_due);
    copy_damage(out, agent); /* after the reads: reading may be what finds the damage */
    return s;
}

void sfa_health_free(sfa_health *health)
{
    if (!health)
        return;
    for (size_t i = 0; i < health->nsobjects; i++)
        free(health->sobjects[i].sobject);
    free(health->sobjects);
    free(health->last_error);
    free(health->damaged);
    memset(health, 0, sizeof *health);
}
