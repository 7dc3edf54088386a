/**
 * @file sfagent/health.h
 * @brief A health snapshot of one agent database, for `sfagent status`, monitoring
 * checks and metrics.
 *
 * Everything here is read from the database in a handful of constant-cost queries
 * (maintained counters and indexed lookups), so a monitoring system may call it every few
 * seconds whatever the size of the outbox and mirror. It works on a read-only handle and
 * never talks to Salesforce: what it says about Salesforce (last success, API usage) is
 * what the last sync runs recorded.
 */
#ifndef SFAGENT_HEALTH_H
#define SFAGENT_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sfagent/agent.h>
#include <sfagent/outbox.h>
#include <sfagent/status.h>
#include <sfagent/sync.h>

/** How a sync run ended, as recorded at its end. Values are never renumbered. */
typedef enum sfa_run_result {
    SFA_RUN_NONE = 0,    /**< no run has ended on this database yet */
    SFA_RUN_OK = 1,      /**< every op done, pull done (SFA_OK) */
    SFA_RUN_RETRY = 2,   /**< something waits for a later run (SFA_ERETRY, SFA_ELIMIT,
                              SFA_EBUSY): offline, backoff, API limit, unknown outcomes */
    SFA_RUN_PARTIAL = 3, /**< finished, but ops are dead or in conflict (SFA_EPARTIAL) */
    SFA_RUN_ERROR = 4,   /**< anything else: login refused, configuration, local database */
} sfa_run_result;

/** "none", "ok", "retry", "partial" or "error"; never NULL. */
const char *sfa_run_result_name(sfa_run_result result);

/** The result a run that returned status is recorded with. */
sfa_run_result sfa_run_result_of(sfa_status status);

/** Why the next sync attempt is when it is. Values are never renumbered. */
typedef enum sfa_next_reason {
    SFA_NEXT_IDLE = 0,    /**< nothing is pending: the next run only pulls */
    SFA_NEXT_NOW = 1,     /**< pending ops are due now */
    SFA_NEXT_BACKOFF = 2, /**< the earliest pending op waits for its backoff (a transient
                               failure, or an unanswered request's settle time) */
    SFA_NEXT_PAUSE = 3,   /**< a run-level pause (see sfa_health::pause for its source:
                               offline, API limit, Retry-After) holds every run back */
} sfa_next_reason;

/** "idle", "now", "backoff" or "pause"; never NULL. */
const char *sfa_next_reason_name(sfa_next_reason reason);

/** Live (not deleted) cached records of one sObject. */
typedef struct sfa_health_sobject {
    char *sobject; /**< API name, as stored */
    size_t records;
} sfa_health_sobject;

/** Counters summed over every run recorded on this database (they only grow). */
typedef struct sfa_health_totals {
    uint64_t runs[5];        /**< runs ended, indexed by ::sfa_run_result (runs[SFA_RUN_NONE]
                                  stays 0) */
    uint64_t api_requests;   /**< HTTP requests made, token requests included */
    uint64_t bytes_sent;     /**< bytes on the wire, as sfa_sync_report::bytes_sent */
    uint64_t bytes_received; /**< as sfa_sync_report::bytes_received */
} sfa_health_totals;

/**
 * The snapshot. Times are ms since the epoch, 0 when the event never happened. Owns its
 * strings and array: release with sfa_health_free().
 */
typedef struct sfa_health {
    int64_t now_ms;          /**< the clock when the snapshot was taken (ages are from it) */
    int schema_version;      /**< the database's schema version */
    sfa_outbox_stats outbox; /**< ops per state, oldest pending write, live records */
    int64_t first_run_ms;    /**< end of the first sync run recorded on this database */
    int64_t last_run_ms;     /**< end of the last sync run */
    sfa_run_result last_run; /**< how it ended */
    sfa_status last_run_status;
    int64_t last_success_ms; /**< end of the last run that reached Salesforce and was not
                                  stopped by a failure (see docs/sync-protocol.md#health) */
    int64_t last_push_ok_ms; /**< end of the last push that completed (not stopped) */
    int64_t last_pull_ok_ms; /**< end of the last pull that completed */
    char *last_error;        /**< why the last failed or cut-short run stopped; NULL: none
                                  recorded. Kept after later successes (see its time). */
    int64_t last_error_ms;
    sfa_next_reason next;    /**< why the next attempt is at next_attempt_ms */
    int64_t next_attempt_ms; /**< earliest time a run will send something (0: idle) */
    sfa_sync_pause pause;    /**< the run-level pause, as sfa_sync_pause_get() */
    long api_used;           /**< org API requests used in the last 24 h, from the last
                                  Sforce-Limit-Info header seen; -1 when never seen */
    long api_max;            /**< the org's daily limit from the same header; -1 unknown */
    int64_t api_seen_ms;     /**< when that header was seen (end of its run) */
    sfa_health_totals totals;
    sfa_health_sobject *sobjects; /**< live records per sObject, by name */
    size_t nsobjects;
    bool run_active;      /**< a sync run holds the run lease now */
    long run_pid;         /**< its pid (on the host that runs it), 0 when none */
    int64_t run_since_ms; /**< when it took the lease */
    char *damaged;        /**< the database's damage flag (sfa_agent_corruption()), or NULL */
    bool run_interrupted; /**< the run holding an unexpired lease is gone (killed on this
                               host); run_pid and run_since_ms say which. The next run takes
                               the lease over and resolves what it left in flight. */
} sfa_health;

/**
 * Fill *out with the database's health. On failure *out is zeroed except what was read
 * before it (free it all the same) and the message is on the handle. A damaged database
 * is reported in out->damaged, not as a failure, when the counts can still be read.
 */
sfa_status sfa_health_get(sfa_health *out, sfa_agent *agent);

/** Free what sfa_health_get() put in *health (not health itself) and zero it. NULL is a
 *  no-op. */
void sfa_health_free(sfa_health *health);

#endif
