/* The daemon's schedule after each run (daemon_schedule.h).
 *
 * Invariants:
 *   I1. While Salesforce is unreachable no run is started: the daemon probes (no API call)
 *       every DAEMON_PROBE_FIRST_MS growing to DAEMON_PROBE_CAP_MS.
 *   I2. A pause Salesforce asked for (API limit, Retry-After) is waited out in full, and so
 *       is an offline pause left by something that answered in Salesforce's place (a 503,
 *       a captive portal: a probe would connect to it). An op's backoff is honoured: the
 *       next run is not before the earliest op is due.
 *   I3. Nothing waits longer than the interval, except a pause Salesforce asked for.
 *   I4. The interval carries +-10% jitter, so agents started together by one boot do not
 *       hit the org in step.
 */
#include "sync/engine/daemon_schedule.h"

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int64_t daemon_schedule_jitter(int interval_s, uint64_t rnd)
{
    int64_t base = (int64_t)interval_s * 1000;
    int64_t span = base / 5; /* I4: [-10%, +10%] */
    return base - span / 2 + (span > 0 ? (int64_t)(rnd % (uint64_t)(span + 1)) : 0);
}

int64_t daemon_schedule_probe_backoff(int64_t delay_ms)
{
    return clamp(delay_ms * 2, DAEMON_PROBE_FIRST_MS, DAEMON_PROBE_CAP_MS); /* I1 */
}

/* The earliest pending op's due time, as a delay within the interval (I2, I3). */
static daemon_next until_due(const sfa_sync_report *r, int64_t now_ms, int64_t interval_ms)
{
    daemon_next n = {interval_ms, false, "idle"};
    if (r->pending_left + r->inflight_left == 0 || r->next_attempt_ms <= 0)
        return n;
    if (r->next_attempt_ms <= now_ms)
        return n; /* due, yet the run left them: held back (a dead parent, an earlier op) */
    n.why = "backoff";
    n.delay_ms = clamp(r->next_attempt_ms - now_ms, 1000, interval_ms);
    return n;
}

daemon_next daemon_schedule_after_run(sfa_status st, const sfa_sync_report *r,
                                      const sfa_sync_pause *p, bool link_down, int64_t now_ms,
                                      int64_t interval_ms)
{
    daemon_next n = {interval_ms, false, "idle"};
    if (p->source == SFA_PAUSE_OFFLINE && link_down) {
        n.delay_ms = DAEMON_PROBE_FIRST_MS; /* I1 */
        n.offline = true;
        n.why = "offline";
        return n;
    }
    if (p->source != SFA_PAUSE_NONE) { /* I2: API limit, Retry-After, unavailable */
        n.delay_ms = p->until_ms > now_ms ? p->until_ms - now_ms : 1000;
        n.why = p->source == SFA_PAUSE_API_LIMIT     ? "api-limit"
                : p->source == SFA_PAUSE_RETRY_AFTER ? "retry-after"
                                                     : "unavailable";
        return n;
    }
    switch (st) {
    case SFA_EBUSY:
        n.delay_ms = clamp(DAEMON_BUSY_RETRY_MS, 0, interval_ms);
        n.why = "another sync is running";
        return n;
    case SFA_OK:
    case SFA_EPARTIAL:
    case SFA_ERETRY:
        if (r->time_limited) { /* more to send: carry on at once */
            n.delay_ms = 0;
            n.why = "continuing";
            return n;
        }
        return until_due(r, now_ms, interval_ms);
    default: /* auth, configuration, TLS, local failures: reported; try at the interval */
        n.why = "error";
        return n;
    }
}
