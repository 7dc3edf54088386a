/**
 * @file sfagent/sync.h
 * @brief Sending the outbox to Salesforce (push), and checking a setup (doctor).
 *
 * A run takes the database's run lease (one run at a time per database), resolves ops
 * whose outcome a previous run never learned, then sends every ready op in sObject
 * Collections batches of up to 200 and records each result. It never sends an op twice
 * without first finding out whether the earlier attempt was applied.
 */
#ifndef SFAGENT_SYNC_H
#define SFAGENT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sfagent/agent.h>
#include <sfagent/config.h>
#include <sfagent/status.h>

/** Progress callback: done ops so far out of total known at the start of the run. */
typedef void (*sfa_sync_progress_fn)(size_t done, size_t total, void *ctx);

typedef struct sfa_sync_options {
    unsigned version;  /**< SFA_SYNC_OPTIONS_VERSION */
    bool push_only;    /**< do not pull after pushing */
    bool ignore_pause; /**< try now even if a run-level backoff is pending */
    uint64_t seed;     /**< backoff jitter seed; 0: random */
    size_t max_ops;    /**< stop after sending this many ops (0: no limit) */
    sfa_sync_progress_fn progress;
    void *progress_ctx;
    /* version 2: */
    bool pull_only;      /**< do not push before pulling */
    int pull_batch_size; /**< records per query page asked for (200..2000; 0: 2000) */
    /* version 3: */
    int max_run_seconds; /**< start no new batch after this many seconds, and skip the pull
                              (0: [sync] max_run_seconds; the run stops between batches,
                              never inside one) */
    /* version 4: */
    /** Asked between batches and while a request is in flight (from the run's thread);
     *  once it returns true the run starts no new batch, skips the pull and, if a request
     *  is still in flight SFA_SYNC_CANCEL_GRACE_MS later, abandons it (its ops stay
     *  inflight: the claim protocol resolves them by key in the next run). NULL: never. */
    bool (*cancel)(void *ctx);
    void *cancel_ctx;
    /* version 5: */
    /** First make the mirror's declared field indexes match cfg (sfa_index_apply_config()
     *  in sfagent/query.h). A failure there is logged as a warning and the run goes on:
     *  the indexes only make local queries faster. */
    bool apply_indexes;
} sfa_sync_options;

/** How long a cancelled run lets the request in flight finish before abandoning it. */
#define SFA_SYNC_CANCEL_GRACE_MS 4000

#define SFA_SYNC_OPTIONS_VERSION 5
#define SFA_SYNC_OPTIONS_INIT                                                                      \
    {                                                                                              \
        SFA_SYNC_OPTIONS_VERSION, false, false, 0, 0, NULL, NULL, false, 0, 0, NULL, NULL, false   \
    }

/** What one run did. */
typedef struct sfa_sync_report {
    size_t sent;             /**< ops sent in a request (an op sent twice counts twice) */
    size_t done;             /**< ops that reached Salesforce (incl. resolved unknown outcomes) */
    size_t retried;          /**< transient failures: pending again with backoff */
    size_t dead;             /**< permanent failures in this run */
    size_t conflict;         /**< ops parked in conflict (manual policy) in this run */
    size_t conflicts_logged; /**< conflicts seen under local-wins / server-wins */
    size_t parked;           /**< ops held back: parent not synced, or an earlier op dead */
    size_t resolved;         /**< unknown outcomes resolved (found or re-queued) */
    long api_calls;          /**< HTTP requests made, token requests included */
    int64_t elapsed_ms;
    size_t pending_left;     /**< pending ops after the run */
    size_t inflight_left;    /**< unknown outcomes still to resolve */
    size_t dead_total;       /**< dead ops in the outbox after the run */
    size_t conflict_total;   /**< conflict ops in the outbox after the run */
    int64_t next_attempt_ms; /**< earliest time a pending op is due (0: none) */
    size_t request_failures; /**< whole requests refused for no reason of their data, or
                                  answered by something that is not Salesforce (a captive
                                  portal, a proxy): their ops stay retriable */
    char message[256];       /**< why the run ended early, or "" */
    size_t pulled;           /**< records received by the pull and merged into the mirror */
    size_t updated;          /**< of those, records the mirror already held */
    size_t deleted;          /**< records removed: deleted in Salesforce or out of scope */
    uint64_t bytes_sent;     /**< bytes put on the wire: request headers and bodies as sent
                                  (compressed bodies count compressed), token requests too */
    uint64_t bytes_received; /**< bytes taken off the wire: headers and bodies as received */
    bool time_limited;       /**< the run stopped at max_run_seconds (between batches):
                                  what is left goes with the next run */
} sfa_sync_report;

/**
 * Push the outbox, then (unless opts->push_only) pull every configured object into the
 * mirror (docs/sync-protocol.md#pull); opts->pull_only skips the push. The pull runs only
 * when the push did not stop early (offline, limit, auth, local database).
 * Returns SFA_OK when every op is done; SFA_EPARTIAL when some are dead or in conflict;
 * SFA_ERETRY when something must be retried later (backoff pending, Salesforce not
 * reachable, unknown outcomes); SFA_EBUSY when another run holds the lease; SFA_ELIMIT
 * when the API limit (or the configured share of it) is used; SFA_EAUTH on login failure;
 * SFA_ECONFIG when the configuration is unusable. *out is filled in every case; the
 * failure's message is on the handle (sfa_agent_errmsg()). Initialises libcurl if needed
 * (sfagent/global.h).
 */
sfa_status sfa_sync_run(sfa_sync_report *out, sfa_agent *agent, const sfa_config *cfg,
                        const sfa_sync_options *opts);

/** Where a run-level pause came from. */
typedef enum sfa_pause_source {
    SFA_PAUSE_NONE = 0,        /**< runs are not paused */
    SFA_PAUSE_OFFLINE = 1,     /**< Salesforce was not reachable, or something else answered */
    SFA_PAUSE_API_LIMIT = 2,   /**< the org's API limit, or sync.api_limit_share, was reached */
    SFA_PAUSE_RETRY_AFTER = 3, /**< Salesforce asked to wait (Retry-After, capped at
                                    sync.backoff_cap) */
} sfa_pause_source;

/** The run-level pause: until it ends, scheduled runs exit at once (SFA_ERETRY), except an
 *  offline pause, which a run ends early when a connection to Salesforce succeeds (a free
 *  TCP + TLS probe, no API call: docs/sync-protocol.md#reachability-probe). */
typedef struct sfa_sync_pause {
    sfa_pause_source source;
    int64_t until_ms; /**< end of the pause, ms since the epoch; 0 when not paused */
    char reason[256]; /**< what the run saw (error text); "" when not paused */
} sfa_sync_pause;

/**
 * The current run-level pause into *out. A pause that has already ended reads as
 * SFA_PAUSE_NONE. A run ignores a pause that ends further ahead than any pause it sets
 * (the clock was ahead when it was set), and `sync --now` ignores any pause.
 */
sfa_status sfa_sync_pause_get(sfa_sync_pause *out, sfa_agent *agent);

/**
 * Fetch one record from Salesforce now and merge it into the mirror as a pull would
 * (pending local edits stay on top). ref: a cached record's local id, Id or CaseNumber,
 * or an Id / CaseNumber (Case) not cached yet. *out_local_id (may be NULL; caller frees)
 * gets the record's local id. SFA_ENOTFOUND when Salesforce has no such record (it is
 * not removed from the mirror here: the next pull decides); SFA_ENETWORK, SFA_EAUTH,
 * SFA_ESERVER, SFA_ELIMIT when it could not be fetched. Initialises libcurl if needed.
 */
sfa_status sfa_sync_refresh(char **out_local_id, sfa_agent *agent, const sfa_config *cfg,
                            const char *sobject, const char *ref);

/** One doctor check. */
typedef struct sfa_doctor_check {
    char *name; /**< e.g. "login", "Case.Sync_Key__c" */
    bool ok;
    char *detail; /**< what was found */
    char *fix;    /**< how to fix it, or NULL */
} sfa_doctor_check;

typedef struct sfa_doctor_report {
    sfa_doctor_check *items;
    size_t count;
    size_t dead_ops;
    size_t conflict_ops;
    long api_used; /**< -1 when unknown */
    long api_max;
} sfa_doctor_report;

/** Free the checks of a report filled by sfa_doctor_run() (not report itself) and zero it.
 *  NULL is a no-op. */
void sfa_doctor_report_free(sfa_doctor_report *report);

/**
 * Check a setup: config usable, login, API usage, and for each configured object that
 * describe works and the idempotency field exists, is an External ID and unique.
 * SFA_OK when every check passed; otherwise the first failed check's own status (the
 * one the operation it tried would give: SFA_ECONFIG for a setup to fix, SFA_EAUTH for
 * refused credentials, SFA_ENETWORK when Salesforce is unreachable, SFA_ELIMIT for API
 * usage, SFA_EPARTIAL for dead or conflict ops), with its message as the last error.
 * agent may be NULL (the outbox counts are then skipped). Free *out with
 * sfa_doctor_report_free() whatever the result. Initialises libcurl if needed
 * (sfagent/global.h).
 */
sfa_status sfa_doctor_run(sfa_doctor_report *out, sfa_agent *agent, const sfa_config *cfg);

#endif
