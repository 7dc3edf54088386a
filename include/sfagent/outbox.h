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
#include <sfagent/status.h>

/** What an op does in Salesforce. Values are never renumbered; new kinds are appended. */
typedef enum sfa_op_kind {
    SFA_OP_KIND_CREATE = 0,
    SFA_OP_KIND_UPDATE = 1,
    SFA_OP_KIND_UPSERT = 2, /**< insert or update by an External ID field */
    SFA_OP_KIND_DELETE = 3,
} sfa_op_kind;

/** Where an op is in its life (see the top of this file). Values are never renumbered. */
typedef enum sfa_op_state {
    SFA_OP_STATE_PENDING = 0,
    SFA_OP_STATE_INFLIGHT = 1,
    SFA_OP_STATE_DONE = 2,
    SFA_OP_STATE_CONFLICT = 3,
    SFA_OP_STATE_DEAD = 4,
} sfa_op_state;

/** A set of op states for sfa_outbox_list(): SFA_OP_STATE_BIT(s) values or-ed together. */
#define SFA_OP_STATE_BIT(state) (1u << (unsigned)(state))
/** Every op state. */
#define SFA_OP_STATES_ALL                                                                          \
    (SFA_OP_STATE_BIT(SFA_OP_STATE_PENDING) | SFA_OP_STATE_BIT(SFA_OP_STATE_INFLIGHT) |            \
     SFA_OP_STATE_BIT(SFA_OP_STATE_DONE) | SFA_OP_STATE_BIT(SFA_OP_STATE_CONFLICT) |               \
     SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD))

/** "create", "update", "upsert" or "delete"; "?" for a value outside the enum. Static. */
const char *sfa_op_kind_name(sfa_op_kind kind);

/** "pending", "inflight", "done", "conflict" or "dead"; "?" for a value outside the enum.
 *  Static. These are the names the database and `sfagent --json` use. */
const char *sfa_op_state_name(sfa_op_state state);

/** The state named name (as sfa_op_state_name() spells it). SFA_EINVAL, with a message in
 *  sfa_error_last(), for anything else; *out is then left alone. */
sfa_status sfa_op_state_parse(sfa_op_state *out, const char *name);

typedef struct sfa_op {
    int64_t seq;
    char *op_id;
    char *sobject;
    char *local_id;
    sfa_op_kind kind;
    char *fields_json; /**< fields the op changes, or NULL (delete) */
    sfa_op_state state;
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

/**
 * Ops whose state is in states (SFA_OP_STATE_BIT() values or-ed together, or
 * SFA_OP_STATES_ALL), in seq order. limit 0: no limit. An empty set or bits that name no
 * state are SFA_EINVAL. *out is filled on SFA_OK (free with sfa_op_array_free()) and
 * empty on failure.
 */
sfa_status sfa_outbox_list(sfa_op_array *out, sfa_agent *agent, unsigned states, size_t limit);

/** One op by op_id or by seq number (decimal); *out is the caller's (sfa_op_free()). */
sfa_status sfa_outbox_get(sfa_op **out, sfa_agent *agent, const char *op_ref);

/** Make a dead or conflict op pending again, due now, attempts reset; or make a pending op
 *  due now (its attempts and last error kept), e.g. one a clock that ran ahead backed off
 *  into the future. An inflight op is SFA_ESTATE. */
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

/** One field of an op in conflict. Values are JSON text ("null" when absent); numbers are
 *  the literal text Salesforce or the user wrote. */
typedef struct sfa_conflict_field {
    char *name;
    char *base;   /**< the value the local edit started from */
    char *local;  /**< the value the op would send (kept by SFA_CONFLICT_KEEP_LOCAL) */
    char *server; /**< Salesforce's value at the check (kept by SFA_CONFLICT_KEEP_SERVER) */
} sfa_conflict_field;

/** An op in state conflict, with each of its fields. */
typedef struct sfa_conflict {
    sfa_op op;
    sfa_conflict_field *fields;
    size_t nfields;
} sfa_conflict;

typedef struct sfa_conflict_array {
    sfa_conflict *items;
    size_t count;
} sfa_conflict_array;

/** Free the conflicts of an array filled by sfa_outbox_conflicts() (not array itself) and
 *  zero it. NULL is a no-op. */
void sfa_conflict_array_free(sfa_conflict_array *array);

/**
 * Every op in state conflict, in seq order, with base, local and server value of each
 * field it changes. *out is filled on SFA_OK (sfa_conflict_array_free()), empty on failure.
 */
sfa_status sfa_outbox_conflicts(sfa_conflict_array *out, sfa_agent *agent);

/** Which side a conflict resolution keeps. Values are never renumbered. */
typedef enum sfa_conflict_keep {
    SFA_CONFLICT_KEEP_LOCAL = 0,  /**< send the local values (the op is pending again) */
    SFA_CONFLICT_KEEP_SERVER = 1, /**< drop the op; the local view takes the server's values */
} sfa_conflict_keep;

/**
 * Resolve an op in state conflict (by op id or seq). KEEP_LOCAL: pending again, due now;
 * its base is already the server's version, so the next check passes and the local values
 * are sent. KEEP_SERVER: discarded (as sfa_outbox_discard()). Another state: SFA_ESTATE.
 */
sfa_status sfa_outbox_resolve(sfa_agent *agent, const char *op_ref, sfa_conflict_keep keep);

/** Counts for `sfagent status`. */
typedef struct sfa_outbox_stats {
    size_t pending, inflight, done, conflict, dead;
    int64_t oldest_pending_created_ms; /**< 0 if nothing pending */
    size_t records;                    /**< rows in the mirror (not deleted) */
} sfa_outbox_stats;

sfa_status sfa_outbox_stats_get(sfa_outbox_stats *out, sfa_agent *agent);

#endif
