/**
 * @file sfagent/outbox.h
 * @brief The outbox: every local write waiting for (or done with) Salesforce.
 *
 * Op states: pending (waiting, maybe after a backoff), inflight (sent, outcome being
 * resolved), done, conflict (manual conflict policy: waits for a decision), dead
 * (permanent error; kept with Salesforce's code and message until retried or discarded).
 */
#ifndef SFAGENT_OUTBOX_H
#define SFAGENT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sfagent/agent.h>

typedef struct sfa_op {
    int64_t seq;
    char *op_id;
    char *sobject;
    char *local_id;
    char *kind;        /**< create | update | upsert | delete */
    char *fields_json; /**< fields the op changes, or NULL (delete) */
    char *state;       /**< pending | inflight | done | conflict | dead */
    int attempts;
    int64_t next_attempt_at_ms;
    char *last_error_code; /**< e.g. REQUIRED_FIELD_MISSING; NULL if none */
    char *last_error;      /**< message; NULL if none */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} sfa_op;

/** Free an op from sfa_outbox_get() and its strings. NULL is a no-op. */
void sfa_op_free(sfa_op *op);

typedef struct sfa_op_array {
    sfa_op *items;
    size_t count;
} sfa_op_array;

/** Free the ops of an array filled by sfa_outbox_list() (not array itself) and zero it.
 *  NULL is a no-op. */
void sfa_op_array_free(sfa_op_array *array);

/** Ops in seq order; state NULL lists all states. limit 0: no limit. *out is filled on
 *  SFA_OK (free with sfa_op_array_free()) and empty on failure. */
sfa_status sfa_outbox_list(sfa_op_array *out, sfa_agent *agent, const char *state, size_t limit);

/** One op by op_id or by seq number (decimal); *out is the caller's (sfa_op_free()). */
sfa_status sfa_outbox_get(sfa_op **out, sfa_agent *agent, const char *op_ref);

/** Make a dead or conflict op pending again, due now, attempts reset. */
sfa_status sfa_outbox_retry(sfa_agent *agent, const char *op_ref);

/**
 * Give up a dead or conflict op: it is marked done-by-discard, never sent, and the
 * mirror's local view of its fields falls back to the server base.
 */
sfa_status sfa_outbox_discard(sfa_agent *agent, const char *op_ref);

/**
 * Remove done ops last changed before older_than_ms (milliseconds since the epoch), so a
 * long-running agent's outbox does not grow forever. Ops that are still open (pending,
 * inflight, conflict, dead) are never removed, nor is any mirror row. *removed (the
 * output; may be NULL) gets the number of ops removed.
 */
sfa_status sfa_outbox_prune(size_t *removed, sfa_agent *agent, int64_t older_than_ms);

/** Counts for `sfagent status`. */
typedef struct sfa_outbox_stats {
    size_t pending, inflight, done, conflict, dead;
    int64_t oldest_pending_created_ms; /**< 0 if nothing pending */
    size_t records;                    /**< rows in the mirror (not deleted) */
} sfa_outbox_stats;

sfa_status sfa_outbox_stats_get(sfa_outbox_stats *out, sfa_agent *agent);

#endif
