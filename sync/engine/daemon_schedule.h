/* When the daemon syncs or probes next (sync/engine/daemon_schedule.c): pure arithmetic
 * over what the last run returned, so it is tested without a network or a clock. */
#ifndef SFA_SYNC_ENGINE_DAEMON_SCHEDULE_H
#define SFA_SYNC_ENGINE_DAEMON_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "sfagent/status.h"
#include "sfagent/sync.h"

/* First probe delay after a run found Salesforce unreachable, and the cap it grows to:
 * the outbox must drain within 15 s of the link returning (a probe at most every 5 s, then
 * a run of a second or two). */
#define DAEMON_PROBE_FIRST_MS 1000
#define DAEMON_PROBE_CAP_MS   5000
/* How soon to try again when another process holds the run lease. */
#define DAEMON_BUSY_RETRY_MS 5000

typedef struct daemon_next {
    int64_t delay_ms; /* until the next run (or probe, when offline) */
    bool offline;     /* probe before the next run */
    const char *why;  /* for the STATUS line: "idle", "backoff", "api-limit", ... */
} daemon_next;

/* After a run that returned st with report r, under the pause p the run ran into (source
 * SFA_PAUSE_NONE: none), at wall-clock now_ms: when to run next. link_down: p is an
 * offline pause a connecting probe ends (not one left by a 503 or a captive portal).
 * interval_ms is the jittered interval. */
daemon_next daemon_schedule_after_run(sfa_status st, const sfa_sync_report *r,
                                      const sfa_sync_pause *p, bool link_down, int64_t now_ms,
                                      int64_t interval_ms);
/* The next probe delay after one failed at delay_ms: doubled, capped. */
int64_t daemon_schedule_probe_backoff(int64_t delay_ms);
/* interval_s with +-10% jitter from rnd (any 64-bit value), in ms. */
int64_t daemon_schedule_jitter(int interval_s, uint64_t rnd);

#endif
