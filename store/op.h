/* The outbox op as the sync engine sees it, and the store functions that move it through
 * its states (store/op_sync.c). The engine decides an outcome per op; only the store
 * writes it, in one transaction per request (docs/sync-protocol.md#states-and-transitions).
 *
 * Shared by store/ and sync/ (never by agent/ or embedders). No SQL crosses this header.
 */
#ifndef SFA_STORE_OP_H
#define SFA_STORE_OP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* How long a claim is good for; the run renews its lease after every batch. */
#define STORE_LEASE_MS (5 * 60 * 1000)

typedef enum store_outcome {
    STORE_OUT_NONE = 0, /* not decided (stays as claimed) */
    STORE_OUT_DONE,     /* applied: op done, mirror updated from server */
    STORE_OUT_RETRY,    /* transient: pending, attempts++, next_attempt_at with backoff */
    STORE_OUT_RELEASE,  /* not sent / paused: pending, attempts unchanged */
    STORE_OUT_DEAD,     /* permanent: dead with code + message */
    STORE_OUT_CONFLICT, /* manual policy: conflict with the server values recorded */
    STORE_OUT_INFLIGHT, /* unknown outcome: stays inflight for resolution */
} store_outcome;

typedef struct store_op {
    int64_t seq;
    char *op_id;
    char *sobject;
    char *local_id;
    char *kind;          /* create | update | upsert | delete */
    cJSON *fields;       /* what the op changes (object), NULL for delete */
    char *fields_raw;    /* the fields column as read: the claim checks it is unchanged */
    char *fields_packed; /* while the batch waits for an answer: fields printed, the tree
                            freed (sync/engine/push_jobs.c); NULL otherwise */
    char *ext_field;
    char *ext_value;
    char *base_modstamp;
    cJSON *base_fields; /* update: the base value each changed field started from, or NULL */
    int attempts;
    char *sf_id;        /* the record's Salesforce Id when known */
    int rank;           /* send order in a round: 0 creates, 1 updates, 2 deletes, 9 held back */
    int64_t updated_at; /* for an inflight op: when it was claimed, just before it was sent */
    /* decided by the engine: */
    store_outcome outcome;
    char *err_code;
    char *err_msg;
    cJSON *server;           /* server values to merge into base and fields (object) or NULL */
    cJSON *server_fill;      /* server-defaulted values (e.g. Case.Status): into base, and into
                                the local view only where it has no value of its own */
    char *new_sf_id;         /* Id learned from the answer */
    char *new_base_modstamp; /* conflict: the server version the op now stands against */
    int64_t retry_after_ms;  /* RETRY: minimum delay (Retry-After), 0 if none */
    int64_t retry_delay_ms;  /* RETRY: the delay the engine chose (backoff, >= retry_after) */
} store_op;

void store_op_clear(store_op *op);
void store_ops_free(store_op *ops, size_t n);
void store_op_set(store_op *op, store_outcome outcome, const char *code, const char *msg);

/* op->fields parsed from op->fields_raw (an empty object for a non-delete without one);
 * nothing when it is already there. */
void store_op_parse_fields(store_op *op);

/* Ready ops (pending, due, oldest open op of their record) with seq > after_seq, in seq
 * order, at most limit. *out is an array of *n ops (free with store_ops_free). Their fields
 * come as text only (fields_raw, fields NULL): the caller parses them one op at a time with
 * store_op_parse_fields, so a page never holds all its trees at once. */
sfa_status store_outbox_ready(sfa_agent *a, int64_t now_ms, int64_t after_seq, size_t limit,
                              store_op **out, size_t *n);
/* pending -> inflight for ops[0..n) under run_id, one transaction, committed before any
 * request is sent. An op that changed since it was read (a local write folded into it, or
 * another process took it) is not claimed: claimed[i] false. */
sfa_status store_outbox_claim(sfa_agent *a, const char *run_id, store_op *ops, size_t n,
                              bool *claimed);
/* Take over inflight ops of a dead run (lease_owner := run_id), so results can be
 * written under this run's id. */
sfa_status store_outbox_adopt(sfa_agent *a, const char *run_id, const store_op *ops, size_t n);

/* What writing results did, for the run's report. */
typedef struct store_apply_counts {
    size_t done, retried, dead, conflict;
} store_apply_counts;

/* Write every decided outcome of ops[0..n) in one transaction (only rows still inflight
 * under run_id are touched). A RETRY op that reaches max_attempts goes dead with
 * TOO_MANY_ATTEMPTS. Counts are added to *counts. */
sfa_status store_outbox_apply(sfa_agent *a, const char *run_id, int max_attempts, store_op *ops,
                              size_t n, store_apply_counts *counts);
/* Leave a pending op pending with a reason (parked): code + message, no attempts++. */
sfa_status store_outbox_note(sfa_agent *a, int64_t seq, const char *code, const char *msg);
/* Inflight ops (owner NULL: all), for resolution. */
sfa_status store_outbox_inflight(sfa_agent *a, const char *owner, store_op **out, size_t *n);
/* Salesforce Id of a local record into *out (caller frees; NULL when the record has none
 * or does not exist). A failed read is an error, never "no Id". */
sfa_status store_record_sf_id(char **out, sfa_agent *a, const char *local_id);
/* The newest create/upsert op of a local record: *found, and its state, code, message
 * (caller frees each; NULL when there is none). */
sfa_status store_record_create_op(bool *found, sfa_agent *a, const char *local_id, char **state,
                                  char **code, char **msg);
/* Note on every pending op held back by an earlier dead/conflict op of its record why it
 * waits (code WAITING_FOR_OP, message naming that op). *count gets how many wait. */
sfa_status store_outbox_note_blocked(sfa_agent *a, size_t *count);
/* A record's base values into *out and its SystemModstamp (for the conflict check);
 * caller frees both; *out NULL when there is no such record. */
sfa_status store_record_base(cJSON **out, sfa_agent *a, const char *local_id, char **sys_modstamp);
/* Counts for the report: pending ops and the earliest next_attempt_at among them. */
sfa_status store_outbox_pending_info(sfa_agent *a, size_t *pending, size_t *inflight,
                                     int64_t *next_due_ms);
/* Clock repair at the start of a run: every pending op whose next_attempt_at lies more than
 * horizon_ms after now_ms (further than any backoff a run sets: the clock was ahead when it
 * was scheduled) becomes due at now_ms. *changed gets how many. The op stays pending with
 * its attempts and note; only its schedule moves. */
sfa_status store_outbox_due_beyond(sfa_agent *a, int64_t now_ms, int64_t horizon_ms,
                                   size_t *changed);
/* Number of ops in state (dead, conflict, ...) into *out. */
sfa_status store_outbox_count_state(size_t *out, sfa_agent *a, const char *state);

#endif
