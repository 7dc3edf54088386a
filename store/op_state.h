/* The outbox op state machine (store/op_state.c): the one place that changes an op's
 * state, for store/ only. Callers describe the event; op_state.c checks it against its
 * transition table and writes the new row (docs/sync-protocol.md#states-and-transitions).
 */
#ifndef SFA_STORE_OP_STATE_H
#define SFA_STORE_OP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/outbox.h"
#include "sfagent/status.h"

/* The public op states (sfagent/outbox.h), value for value, so a state read from the
 * outbox is handed out as is. The database holds their names (store_op_state_name()). */
typedef enum store_op_state {
    STORE_OP_PENDING = SFA_OP_STATE_PENDING,
    STORE_OP_INFLIGHT = SFA_OP_STATE_INFLIGHT,
    STORE_OP_DONE = SFA_OP_STATE_DONE,
    STORE_OP_CONFLICT = SFA_OP_STATE_CONFLICT,
    STORE_OP_DEAD = SFA_OP_STATE_DEAD,
} store_op_state;
#define STORE_OP_STATE_LAST STORE_OP_DEAD /* keep it the last state */

/* The events of the table at the top of store/op_state.c (T2..T15). */
typedef enum store_op_event {
    STORE_EV_FOLD = 0,   /* T2  a local write merged into a pending op */
    STORE_EV_CLAIM,      /* T3  a run claims the op before sending it */
    STORE_EV_ADOPT,      /* T4  a run takes over an inflight op of a dead run */
    STORE_EV_DONE,       /* T5  applied in Salesforce */
    STORE_EV_RETRY,      /* T6  transient failure: pending again after a backoff */
    STORE_EV_RELEASE,    /* T7  not sent (run stopped): pending again, attempts kept */
    STORE_EV_DEAD,       /* T8  permanent failure */
    STORE_EV_CONFLICT,   /* T9  manual conflict policy: waits for a person */
    STORE_EV_USER_RETRY, /* T10 `outbox retry` */
    STORE_EV_DISCARD,    /* T11 `outbox discard` */
    STORE_EV_ORPHAN,     /* T14 the record's parent create was discarded */
    STORE_EV_DUE_NOW,    /* T16 `outbox retry` of a pending op: due now */
    STORE_EV_COUNT       /* not an event: how many there are */
} store_op_event;

/* One transition request. Only the members the event uses are read. */
typedef struct store_op_change {
    int64_t seq;
    store_op_event event;
    const char *run_id;        /* CLAIM, ADOPT: the new owner; results: must be the owner */
    const char *expect_fields; /* CLAIM: the fields text the op must still have */
    const char *fields;        /* FOLD: the op's new fields text */
    int64_t next_attempt_at;   /* RETRY: when the op is due again */
    int max_attempts;          /* RETRY: at this many attempts the op goes dead instead */
    const char *code, *msg;    /* RETRY, DEAD, CONFLICT, DISCARD: why */
    const char *base_modstamp; /* DEAD, CONFLICT: the server version now stood against */
    const char *base_fields;   /* FOLD, CONFLICT: the op's new base_fields text (NULL: kept) */
} store_op_change;

/* Apply one transition inside the caller's write transaction. *to gets the state the op
 * is in afterwards (RETRY may give up: dead). *changed is false when the op is not in
 * a state the event applies to and the event allows that race (a claim of an op that
 * changed or was taken, results of an op another run took over): nothing is written.
 * A transition outside the table is a bug: asserted in debug builds, refused with
 * SFA_ESTATE in release builds. */
sfa_status store_op_transition(sfa_agent *a, const store_op_change *c, store_op_state *to,
                               bool *changed);

/* T1: a new pending op (a local write). *out_seq may be NULL. */
typedef struct store_op_new {
    const char *sobject, *local_id, *kind, *fields, *ext_field, *ext_value, *base_modstamp;
    const char *base_fields; /* update: the record's base for the fields it changes */
} store_op_new;
sfa_status store_op_enqueue(sfa_agent *a, const store_op_new *o, int64_t now);

/* T12 (bulk): remove every op of a record whose whole history is a never-sent create
 * (local delete of a record Salesforce never saw). */
sfa_status store_op_cancel_record(sfa_agent *a, const char *local_id);
/* T11 (bulk): remove every op of a record whose create a person discarded (none may be
 * inflight), so the record can leave the mirror. */
sfa_status store_op_drop_record(sfa_agent *a, const char *local_id);
/* T13 (one record): remove the done ops of a record that has no open op, so the record
 * can leave the mirror (Salesforce deleted it; store/pull.c). SFA_ESTATE if an op is left. */
sfa_status store_op_forget_record(sfa_agent *a, const char *local_id);
/* T13 (bulk): remove done ops last changed before older_than_ms; *removed how many. */
sfa_status store_op_prune(sfa_agent *a, int64_t older_than_ms, size_t *removed);

/* The state's name as the outbox table holds it ("pending", ...); "?" outside the enum. */
const char *store_op_state_name(store_op_state s);
bool store_op_state_parse(const char *name, store_op_state *out);

#endif
