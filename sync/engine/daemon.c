/* The daemon behind `sfagent run` (sfagent/daemon.h): one loop that decides when to sync.
 *
 * Every tick (at most DAEMON_TICK_MS) it: tells its owner it is alive (the watchdog),
 * reloads the configuration if asked, reads SQLite's data_version (another process wrote)
 * and, when a run or probe is due, does it. Scheduling is on the monotonic clock, so a
 * wall clock set back or forward neither stalls nor floods it; pauses and op due times,
 * which the database keeps in wall-clock ms, are converted at the moment they are read.
 *
 * Invariants:
 *   I1. A local write that leaves an op due is sent within write_delay (+ one tick) unless
 *       Salesforce is unreachable or paused; it is noticed through data_version, never by
 *       reading the outbox table on a timer.
 *   I2. While unreachable, only probes run (daemon_schedule.c I1): no API call is spent.
 *   I3. Stopping never cuts a batch off between claim and send: the run stops between
 *       batches, and a request in flight finishes or is abandoned into an unknown outcome
 *       (sync/engine/cancel.c). The run lease is released by sfa_sync_run() on its way out.
 *   I4. A configuration that fails to load on reload changes nothing: the old one stays.
 *   I5. Signal handlers only set atomics (sfa_daemon_stop, sfa_daemon_reload).
 */
#include "sfagent/daemon.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfagent/error.h"
#include "store/watch.h"
#include "sync/client/config_internal.h"
#include "sync/client/probe.h"
#include "sync/engine/backoff.h"
#include "sync/engine/daemon_lock.h"
#include "sync/engine/daemon_schedule.h"
#include "sync/engine/push.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/timeutil.h"

/* How often the loop wakes: data_version checks, stop and reload requests, watchdog. */
#define DAEMON_TICK_MS 500

struct sfa_daemon {
    sfa_config *cfg;
    char *config_path;
    sfa_daemon_options opts;
    int lock_fd;
    atomic_int stop, reload; /* I5 */
    backoff_rng rng;
    char errmsg[512];
    /* loop state */
    int64_t next_at;      /* monotonic ms of the next run or probe */
    int64_t probe_ms;     /* current probe delay while offline */
    bool offline;         /* probe before running */
    int64_t data_version; /* last seen PRAGMA data_version */
    bool stopping_told;   /* SFA_DAEMON_STOPPING emitted */
    int64_t ticked_at;    /* monotonic ms of the last SFA_DAEMON_TICK */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(sfa_daemon *d, sfa_daemon_event_kind kind, const char *text,
                 const sfa_sync_report *r, sfa_status st)
{
    if (!d->opts.on_event)
        return;
    sfa_daemon_event ev = {kind, text, r, st};
    d->opts.on_event(&ev, d->opts.ctx);
}

static void status_line(sfa_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void status_line(sfa_daemon *d, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(d, SFA_DAEMON_STATUS, line, NULL, SFA_OK);
}

sfa_status sfa_daemon_new(sfa_daemon **out, const char *db_path, sfa_config *cfg,
                          const sfa_daemon_options *opts)
{
    if (!out) {
        sfa_config_free(cfg);
        return SFA_EINVAL;
    }
    *out = NULL;
    if (!db_path || !cfg || !opts || opts->version < 1) {
        sfa_config_free(cfg);
        return SFA_EINVAL;
    }
    sfa_daemon *d = xcalloc(1, sizeof *d);
    d->cfg = cfg; /* ours from here on, whatever happens */
    d->opts = *opts;
    d->config_path = opts->config_path ? xstrdup(opts->config_path) : NULL;
    d->opts.config_path = d->config_path;
    backoff_rng_seed(&d->rng, 0);
    *out = d;
    return daemon_lock_take(&d->lock_fd, db_path, d->errmsg, sizeof d->errmsg);
}

void sfa_daemon_stop(sfa_daemon *d)
{
    if (d)
        atomic_store(&d->stop, 1);
}

void sfa_daemon_reload(sfa_daemon *d)
{
    if (d)
        atomic_store(&d->reload, 1);
}

const char *sfa_daemon_errmsg(const sfa_daemon *d)
{
    return d ? d->errmsg : "";
}

void sfa_daemon_free(sfa_daemon *d)
{
    if (!d)
        return;
    daemon_lock_release(d->lock_fd);
    sfa_config_free(d->cfg);
    free(d->config_path);
    free(d);
}

/* I4: load first, swap only on success. */
static void reload_config(sfa_daemon *d, sfa_agent *agent)
{
    emit(d, SFA_DAEMON_RELOADING, NULL, NULL, SFA_OK);
    sfa_config *fresh = NULL;
    if (sfa_config_load(&fresh, d->config_path) != SFA_OK) {
        char why[512];
        snprintf(why, sizeof why, "configuration not reloaded, the old one stays in use: %s",
                 sfa_error_last()->message);
        log_error("%s", why);
        emit(d, SFA_DAEMON_RELOAD_FAILED, why, NULL, SFA_OK);
        return;
    }
    sfa_config_free(d->cfg);
    d->cfg = fresh;
    sync_index_apply_declared(agent, d->cfg); /* declared indexes may have changed */
    emit(d, SFA_DAEMON_RELOADED, NULL, NULL, SFA_OK);
    d->next_at = mono_ms(); /* a new login URL or objects: try them now */
}

/* The loop is alive: at most every DAEMON_TICK_MS / 2, from the loop and from inside a
 * run (cancel_requested() is asked between batches and about once a second during a
 * transfer), so a long run does not look like a hung process to a watchdog. */
static void tick(sfa_daemon *d)
{
    int64_t now = mono_ms();
    if (now - d->ticked_at < DAEMON_TICK_MS / 2)
        return;
    d->ticked_at = now;
    emit(d, SFA_DAEMON_TICK, NULL, NULL, SFA_OK);
}

/* From the loop's thread only (never from a signal handler, I5). */
static void tell_stopping(sfa_daemon *d)
{
    if (d->stopping_told)
        return;
    d->stopping_told = true;
    log_info("daemon: stopping");
    emit(d, SFA_DAEMON_STOPPING, NULL, NULL, SFA_OK);
}

static bool cancel_requested(void *vd)
{
    sfa_daemon *d = vd;
    tick(d);
    if (!atomic_load(&d->stop))
        return false;
    tell_stopping(d); /* a run is in progress: say so now, not after it */
    return true;
}

static int64_t interval_ms(sfa_daemon *d)
{
    return daemon_schedule_jitter(sync_config_daemon_interval_s(d->cfg), backoff_rng_next(&d->rng));
}

static sfa_status run_once(sfa_daemon *d, sfa_agent *agent)
{
    status_line(d, "syncing");
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.cancel = cancel_requested;
    o.cancel_ctx = d;
    sfa_sync_report r;
    int64_t started = time_now_ms();
    sfa_status st = sfa_sync_run(&r, agent, d->cfg, &o); /* logs its own summary line */
    emit(d, SFA_DAEMON_RUN, NULL, &r, st);
    /* A pause this run set: its first offline backoff may be shorter than the run. */
    sfa_sync_pause p;
    sfa_status pst = push_pause_set_since(&p, agent, started);
    if (pst != SFA_OK) {
        snprintf(d->errmsg, sizeof d->errmsg, "cannot read the run-level pause: %s",
                 sfa_agent_errmsg(agent));
        return pst;
    }
    daemon_next n = daemon_schedule_after_run(st, &r, &p, push_pause_probe_ends(&p), time_now_ms(),
                                              interval_ms(d));
    d->offline = n.offline;
    d->probe_ms = DAEMON_PROBE_FIRST_MS;
    d->next_at = mono_ms() + n.delay_ms;
    if (n.offline)
        status_line(d, "offline: probing Salesforce every %d-%d s", DAEMON_PROBE_FIRST_MS / 1000,
                    DAEMON_PROBE_CAP_MS / 1000);
    else
        status_line(d, "%s: next sync in %lld s (%zu pending, %zu dead, %zu in conflict)", n.why,
                    (long long)(n.delay_ms / 1000), r.pending_left, r.dead_total, r.conflict_total);
    return SFA_OK;
}

/* I2: while offline, a due "run" is a probe first. True when a run should follow. */
static bool probe_passes(sfa_daemon *d, sfa_agent *agent)
{
    if (!d->offline)
        return true;
    char why[128];
    sfa_status st = push_probe_reach(agent, d->cfg, why, sizeof why);
    if (st == SFA_ENETWORK || st == SFA_ERROR) {
        d->probe_ms = daemon_schedule_probe_backoff(d->probe_ms);
        d->next_at = mono_ms() + d->probe_ms;
        log_debug("probe: Salesforce still unreachable (%s); next probe in %lld ms", why,
                  (long long)d->probe_ms);
        return false;
    }
    log_info("probe: Salesforce can be reached again; syncing now");
    d->offline = false;
    return true;
}

/* I1: another connection committed. Sync soon if an op is due by then. */
static sfa_status watch_writes(sfa_daemon *d, sfa_agent *agent)
{
    int64_t v = 0, due = 0;
    bool any = false;
    sfa_status st = store_data_version(agent, &v);
    if (st != SFA_OK || v == d->data_version)
        return st;
    d->data_version = v;
    if ((st = store_outbox_next_due(agent, &any, &due)) != SFA_OK || !any || d->offline)
        return st;
    int64_t delay = (int64_t)sync_config_daemon_write_delay_s(d->cfg) * 1000;
    if (due > time_now_ms() + delay)
        return SFA_OK; /* backing off: the run is scheduled for its due time already */
    if (mono_ms() + delay < d->next_at) {
        d->next_at = mono_ms() + delay;
        status_line(d, "local writes: syncing in %lld s", (long long)(delay / 1000));
    }
    return SFA_OK;
}

static void sleep_until(int64_t at)
{
    int64_t ms = at - mono_ms();
    if (ms > DAEMON_TICK_MS)
        ms = DAEMON_TICK_MS;
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* EINTR (a signal) just ends the tick early */
}

static sfa_status loop_step(sfa_daemon *d, sfa_agent *agent)
{
    tick(d);
    if (atomic_exchange(&d->reload, 0))
        reload_config(d, agent);
    sfa_status st = watch_writes(d, agent);
    if (st != SFA_OK) {
        snprintf(d->errmsg, sizeof d->errmsg, "cannot read the database: %s",
                 sfa_agent_errmsg(agent));
        return st;
    }
    if (mono_ms() >= d->next_at && !atomic_load(&d->stop) && probe_passes(d, agent))
        st = run_once(d, agent);
    if (st == SFA_OK && !atomic_load(&d->stop))
        sleep_until(d->next_at);
    return st;
}

sfa_status sfa_daemon_run(sfa_daemon *d, sfa_agent *agent)
{
    if (!d || !agent)
        return SFA_EINVAL;
    if (d->lock_fd < 0)
        return SFA_EBUSY;
    sfa_status st = store_data_version(agent, &d->data_version);
    if (st != SFA_OK) {
        snprintf(d->errmsg, sizeof d->errmsg, "cannot read the database: %s",
                 sfa_agent_errmsg(agent));
        return st;
    }
    d->next_at = mono_ms(); /* first run at once: writes may have queued while we were down */
    d->probe_ms = DAEMON_PROBE_FIRST_MS;
    log_info("daemon: started (interval %d s, write delay %d s)",
             sync_config_daemon_interval_s(d->cfg), sync_config_daemon_write_delay_s(d->cfg));
    emit(d, SFA_DAEMON_READY, NULL, NULL, SFA_OK);
    /* After READY: building an index over a large mirror must not look like a hung start. */
    sync_index_apply_declared(agent, d->cfg);
    while (st == SFA_OK && !atomic_load(&d->stop))
        st = loop_step(d, agent);
    tell_stopping(d);
    log_info("daemon: %s", st == SFA_OK ? "stopped" : d->errmsg);
    return st;
}
