/* Run history kept for health checks (store/health.c): what the last sync runs saw,
 * written once at the end of each run, read by sfa_health_get() (sync/engine/health.c). */
#ifndef SFA_STORE_HEALTH_H
#define SFA_STORE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/health.h"

/* What one run leaves behind. Times are ms since the epoch. */
typedef struct store_run_record {
    int64_t end_ms;
    sfa_status status;
    bool success;      /* reached Salesforce and not stopped by a failure */
    bool push_ok;      /* the push ran and completed */
    bool pull_ok;      /* the pull ran and completed */
    const char *error; /* why it stopped early, or NULL (nothing is cleared) */
    long api_used;     /* from the run's last Sforce-Limit-Info, -1: none seen */
    long api_max;
    uint64_t api_requests, bytes_sent, bytes_received;
    const char *instance_url; /* the instance the run logged in to, or NULL (kept as was) */
} store_run_record;

/* Record one run in its own write transaction. */
sfa_status store_health_record(sfa_agent *a, const store_run_record *run);

/* The recorded history into out's run, error, API and totals fields; the lease holder
 * into run_active / run_pid / run_since_ms (an expired lease does not count); the
 * earliest due pending op into *next_due_ms (0: none pending). Leaves other fields. */
sfa_status store_health_read(sfa_agent *a, sfa_health *out, int64_t *next_due_ms);

/* The instance URL the last successful login was answered with (H5), or *out NULL when
 * none is recorded (caller frees). */
sfa_status store_instance_url_get(sfa_agent *a, char **out);

/* Live records per sObject (maintained counters), by name. */
sfa_status store_health_sobjects(sfa_agent *a, sfa_health *out);

#endif
