/**
 * @file sfagent/daemon.h
 * @brief The long-running sync process behind `sfagent run`, for embedders too.
 *
 * A daemon syncs soon after local writes arrive (a write by another process on the same
 * database included: it watches SQLite's data_version, never the outbox table), every
 * [daemon] interval otherwise, and, while Salesforce is unreachable, only probes it (a TCP
 * + TLS connect, no API call) on a short capped schedule so the outbox drains within
 * seconds of the link returning. Run-level pauses (API limit, Retry-After) and per-op
 * backoff are honoured as by sfa_sync_run(). docs/sync-protocol.md#the-daemon.
 */
#ifndef SFAGENT_DAEMON_H
#define SFAGENT_DAEMON_H

#include <stdbool.h>

#include <sfagent/agent.h>
#include <sfagent/config.h>
#include <sfagent/status.h>
#include <sfagent/sync.h>

typedef struct sfa_daemon sfa_daemon;

/** What a daemon tells its owner (sfa_daemon_options.on_event). */
typedef enum sfa_daemon_event_kind {
    SFA_DAEMON_READY = 0,         /**< the loop has started */
    SFA_DAEMON_STATUS = 1,        /**< text: what it does now ("idle: next sync in 300 s") */
    SFA_DAEMON_TICK = 2,          /**< alive: every ~250-500 ms, also during a run */
    SFA_DAEMON_RUN = 3,           /**< a sync run ended: report and status are set */
    SFA_DAEMON_RELOADING = 4,     /**< reloading the configuration */
    SFA_DAEMON_RELOADED = 5,      /**< the new configuration is in use */
    SFA_DAEMON_RELOAD_FAILED = 6, /**< text: why; the old configuration is kept */
    SFA_DAEMON_STOPPING = 7,      /**< asked to stop: finishing the request in flight */
} sfa_daemon_event_kind;

typedef struct sfa_daemon_event {
    sfa_daemon_event_kind kind;
    const char *text;              /**< STATUS, RELOAD_FAILED: a line; else NULL */
    const sfa_sync_report *report; /**< RUN: what the run did; else NULL */
    sfa_status status;             /**< RUN: what sfa_sync_run() returned */
} sfa_daemon_event;

typedef struct sfa_daemon_options {
    unsigned version;        /**< SFA_DAEMON_OPTIONS_VERSION */
    const char *config_path; /**< reloaded by sfa_daemon_reload(); NULL: defaults + environment */
    /** Called from the thread in sfa_daemon_run(); may be NULL. */
    void (*on_event)(const sfa_daemon_event *event, void *ctx);
    void *ctx;
} sfa_daemon_options;

#define SFA_DAEMON_OPTIONS_VERSION 1
#define SFA_DAEMON_OPTIONS_INIT                                                                    \
    {                                                                                              \
        SFA_DAEMON_OPTIONS_VERSION, NULL, NULL, NULL                                               \
    }

/**
 * Make a daemon for the database at db_path with configuration cfg, which it takes over in
 * every case (freed by sfa_daemon_free(), replaced on reload). Takes the daemon lock, an
 * exclusive lock on the file "<db_path>.run.lock" held until sfa_daemon_free(): a second
 * daemon on the same database gets SFA_EBUSY (naming the holder's pid when known), and
 * nothing else is touched. *out is set whenever a handle could be made, so
 * sfa_daemon_errmsg() can be read; free it either way.
 */
sfa_status sfa_daemon_new(sfa_daemon **out, const char *db_path, sfa_config *cfg,
                          const sfa_daemon_options *opts);

/**
 * Run the loop on agent (borrowed; a writable handle on the same db_path) until
 * sfa_daemon_stop(). A request in flight when asked to stop gets a few seconds to finish
 * (SFA_SYNC_CANCEL_GRACE_MS), else it is abandoned (the claim protocol resolves it in the
 * next run); the run lease is released. Returns SFA_OK once stopped, or the status of a
 * local failure that makes going on pointless (the database cannot be read).
 */
sfa_status sfa_daemon_run(sfa_daemon *daemon, sfa_agent *agent);

/** Ask the loop to stop. Async-signal-safe (a SIGTERM handler may call it). */
void sfa_daemon_stop(sfa_daemon *daemon);

/** Ask the loop to reload options.config_path before its next step; a configuration that
 *  does not load is reported (SFA_DAEMON_RELOAD_FAILED) and the old one kept.
 *  Async-signal-safe (a SIGHUP handler may call it). */
void sfa_daemon_reload(sfa_daemon *daemon);

/** Message of the last failure ("" if none; NULL daemon: ""). Borrowed. */
const char *sfa_daemon_errmsg(const sfa_daemon *daemon);

/** Release the daemon lock and free. NULL is a no-op. */
void sfa_daemon_free(sfa_daemon *daemon);

#endif
