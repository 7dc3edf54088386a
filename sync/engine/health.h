/* The end of a sync run as health sees it (sync/engine/health.c): the one summary log
 * line and the run's record in the database. */
#ifndef SFA_SYNC_ENGINE_HEALTH_H
#define SFA_SYNC_ENGINE_HEALTH_H

#include <stdbool.h>

#include "sfagent/sync.h"

/* How a run went, beyond its report. */
typedef struct sync_run_end {
    sfa_status status; /* what sfa_sync_run() returns */
    bool stopped;      /* a failure stopped it early (offline, limit, auth, database) */
    bool push_ok;      /* the push ran and completed */
    bool pull_ok;      /* the pull ran and completed */
    long api_used;     /* last Sforce-Limit-Info seen in the run, -1: none */
    long api_max;
    const char *instance_url; /* the instance the run logged in to, NULL: no login */
} sync_run_end;

/* Record the run for sfa_health_get() and log its one summary line (info). Returns the
 * status the run ends with: end->status, or the failure to record it when the run had
 * none of its own (report->message then says so). */
sfa_status sync_health_note_run(sfa_agent *agent, sfa_sync_report *report, const sync_run_end *end);

#endif
