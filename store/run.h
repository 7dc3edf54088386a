/* Run-level rows: the run lease (one sync run at a time) and the run-level pause
 * (offline, API limit), both in the database (store/lease.c). */
#ifndef SFA_STORE_RUN_H
#define SFA_STORE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* Take the run lease for run_id (BEGIN IMMEDIATE). SFA_EBUSY with the holder's pid in
 * the handle's message when another live run holds it. */
sfa_status store_lease_acquire(sfa_agent *a, const char *run_id, int64_t lease_ms);
sfa_status store_lease_renew(sfa_agent *a, const char *run_id, int64_t lease_ms);
void store_lease_release(sfa_agent *a, const char *run_id);
/* Is the process that wrote a lease row (pid on host) still running? Known only for this
 * host (kill(pid, 0): ESRCH means gone); another host's holder counts as alive, so only
 * expires_at ends its lease. A lease under this process's pid is alive while a run of this
 * process is active (lease.c I3). */
bool store_lease_holder_alive(long pid, const char *host);
/* Run-level pause (offline, API limit): until_ms 0 clears. source is a short token saying
 * where the pause came from ("offline", "api-limit", "retry-after"); it is kept with the
 * reason as "<source>: <reason>". */
sfa_status store_pause_set(sfa_agent *a, int64_t until_ms, const char *source, const char *reason);
/* Current pause end (0 if none) and reason as stored, "<source>: <reason>" (caller frees,
 * may be NULL). failures: how many consecutive not-sent runs led to it (for growing the
 * backoff). */
sfa_status store_pause_get(sfa_agent *a, int64_t *until_ms, char **reason, int *failures);

#endif
