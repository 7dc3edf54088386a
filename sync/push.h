/* Internals of the push engine, shared by sync/push*.c, backoff.c, lease.c, reconcile.c,
 * outbox_sync.c and doctor.c (never by agent/ or embedders).
 *
 * The engine moves outbox ops pending -> inflight -> done | pending (retry) | dead |
 * conflict. Pure pieces (backoff, classification, reference rewriting, request building)
 * are separate from the pieces that touch SQLite or the network so tests can drive them
 * directly.
 */
#ifndef SFA_SYNC_PUSH_H
#define SFA_SYNC_PUSH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/status.h"
#include "sfagent/sync.h"
#include "sync/sf_client.h"

/* Most records per sObject Collections request (SALESFORCE.md section 5). */
#define PUSH_BATCH_MAX 200
/* Ready ops read per page while scanning the outbox. */
#define PUSH_PAGE_SIZE 1000
/* After this many failed attempts a transiently failing op is dead (TOO_MANY_ATTEMPTS). */
#define PUSH_MAX_ATTEMPTS 20
/* Run lease lifetime; renewed after every batch. */
#define PUSH_LEASE_MS (5 * 60 * 1000)
/* Pause after REQUEST_LIMIT_EXCEEDED without a Retry-After header. */
#define PUSH_LIMIT_PAUSE_MS (10 * 60 * 1000)

/* ---- backoff.c: exponential backoff with full jitter, seeded RNG seam ---- */

typedef struct backoff_rng {
    uint64_t state;
} backoff_rng;

/* seed 0 picks a seed from the clock and pid. */
void backoff_rng_seed(backoff_rng *rng, uint64_t seed);
uint64_t backoff_rng_next(backoff_rng *rng);
/* uniform(0, min(cap_ms, base_ms * 2^attempts)) in ms (inclusive bounds). */
int64_t backoff_delay_ms(backoff_rng *rng, int attempts, int64_t base_ms, int64_t cap_ms);

/* ---- push_classify.c: what a Salesforce answer means for an op ---- */

typedef enum push_err_class {
    PUSH_ERR_PERMANENT = 0, /* fix the data, then `outbox retry` */
    PUSH_ERR_TRANSIENT = 1, /* retry this op later with backoff */
    PUSH_ERR_GONE = 2,      /* delete of a record already gone: counts as success */
} push_err_class;

/* Per-record statusCode of a collections result for an op of kind. NULL code = unknown
 * = permanent (never retry blindly what we do not understand). */
push_err_class push_classify_code(const char *code, const char *kind);

typedef enum push_resp_class {
    PUSH_RESP_OK = 0,        /* 2xx: read per-record results */
    PUSH_RESP_NOT_SENT = 1,  /* nothing reached Salesforce: run-level backoff */
    PUSH_RESP_UNKNOWN = 2,   /* may have been applied: resolve by key */
    PUSH_RESP_TRANSIENT = 3, /* 5xx or a transient code: per-op backoff */
    PUSH_RESP_LIMIT = 4,     /* REQUEST_LIMIT_EXCEEDED: pause the run */
    PUSH_RESP_PERMANENT = 5, /* whole request refused (4xx): ops dead with the code */
    PUSH_RESP_AUTH = 6,      /* 401 after the client's one re-login: stop the run */
} push_resp_class;

push_resp_class push_classify_response(const sf_response *resp);

/* ---- push_refs.c: references between local records ---- */

/* True when s has the shape of a local id ("loc-" + 26 Crockford base32 chars). */
bool push_is_local_ref(const char *s);

/* Lookup of a local id's Salesforce Id: borrowed string or NULL when not synced yet. */
typedef const char *(*push_ref_lookup_fn)(const char *local_id, void *ctx);

/* Rewrite every local-id value in fields (a JSON object) to its Salesforce Id. Returns
 * NULL when all resolved, else the first unresolved local id (borrowed from fields);
 * fields is left partly rewritten then, so callers work on a copy. */
const char *push_refs_rewrite(cJSON *fields, push_ref_lookup_fn lookup, void *ctx);

/* ---- push_build.c: request bodies ---- */

/* Percent-encode for a URL query value (RFC 3986 unreserved kept). Caller frees. */
char *push_url_encode(const char *s);
/* "SELECT <select> FROM <sobject> WHERE <field> IN ('k1','k2',...)" with every key
 * quoted by soql_quote. Caller frees. */
char *push_soql_in(const char *select, const char *sobject, const char *field,
                   const char *const *keys, size_t n);
/* Select list that reads back a created record: Id, SystemModstamp, the key field (if
 * any) and, for Case, CaseNumber and Status. Caller frees. */
char *push_reconcile_select(const char *sobject, const char *key_field);
/* "/services/data/vNN.N/query?q=<encoded soql>". Caller frees. */
char *push_query_path(const char *api_version, const char *soql);

/* ---- ops in memory ---- */

typedef enum push_outcome {
    PUSH_OUT_NONE = 0, /* not decided (stays as claimed) */
    PUSH_OUT_DONE,     /* applied: op done, mirror updated from server */
    PUSH_OUT_RETRY,    /* transient: pending, attempts++, next_attempt_at with backoff */
    PUSH_OUT_RELEASE,  /* not sent / paused: pending, attempts unchanged */
    PUSH_OUT_DEAD,     /* permanent: dead with code + message */
    PUSH_OUT_CONFLICT, /* manual policy: conflict with the server values recorded */
    PUSH_OUT_INFLIGHT, /* unknown outcome: stays inflight for resolution */
} push_outcome;

typedef struct push_op {
    int64_t seq;
    char *op_id;
    char *sobject;
    char *local_id;
    char *kind;       /* create | update | upsert | delete */
    cJSON *fields;    /* what the op changes (object), NULL for delete */
    char *fields_raw; /* the fields column as read: the claim checks it is unchanged */
    char *ext_field;
    char *ext_value;
    char *base_modstamp;
    int attempts;
    char *sf_id;        /* the record's Salesforce Id when known */
    int rank;           /* send order in a round: 0 creates, 1 updates, 2 deletes, 9 held back */
    int64_t updated_at; /* for an inflight op: when it was claimed, just before it was sent */
    /* decided by the senders: */
    push_outcome outcome;
    char *err_code;
    char *err_msg;
    cJSON *server;           /* server values to merge into base and fields (object) or NULL */
    cJSON *server_fill;      /* server-defaulted values (e.g. Case.Status): into base, and into
                                the local view only where it has no value of its own */
    char *new_sf_id;         /* Id learned from the answer */
    char *new_base_modstamp; /* conflict: the server version the op now stands against */
    int64_t retry_after_ms;  /* RETRY: minimum delay (Retry-After), 0 if none */
} push_op;

void push_op_clear(push_op *op);
void push_ops_free(push_op *ops, size_t n);
void push_op_set(push_op *op, push_outcome outcome, const char *code, const char *msg);

/* ---- the run context ---- */

typedef enum push_policy {
    PUSH_POLICY_LOCAL_WINS = 0,
    PUSH_POLICY_SERVER_WINS = 1,
    PUSH_POLICY_MANUAL = 2,
} push_policy;

typedef struct push_keyinfo {
    char *sobject;
    int has_key; /* 1 yes, 0 no, -1 not known yet */
} push_keyinfo;

typedef struct push_ctx {
    sfa_agent *agent;
    sf_client *client;
    const sfa_config *cfg;
    char run_id[48];
    backoff_rng rng;
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    int64_t settle_ms; /* an unanswered request may still be applied until sent + settle */
    int max_attempts;
    char idem_field[96];
    bool no_key; /* idempotency_field configured empty: no object has a key */
    push_policy policy;
    double api_share;
    sfa_sync_report *report;
    size_t total;             /* ops pending at the start (progress) */
    size_t inflight_at_start; /* unknown outcomes left by earlier runs */
    int round;                /* rounds completed in this run */
    bool raced;               /* an op changed between read and claim: run another round */
    bool answered;            /* Salesforce answered at least one request in this run */
    const sfa_sync_options *opts;
    /* Set when the run must end early; stop_status is what sfa_sync_run returns. */
    bool stop;
    sfa_status stop_status;
    /* Requests that left the machine (answered or unknown), for the report's "sent". */
    long requests_out;
    push_keyinfo *keys;
    size_t nkeys;
} push_ctx;

/* Stop the run with status and a message for the report (printf-style). */
void push_stop(push_ctx *ctx, sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Before every request: false (and the run stopped) when the API share is used up. */
bool push_limit_ok(push_ctx *ctx);
/* Send one request, counting it; on SFA_OK resp holds an outcome. */
sfa_status push_request(push_ctx *ctx, const char *method, const char *path, const cJSON *body,
                        sf_response *resp);
/* Does sobject have the idempotency External ID field? 1 yes, 0 no, -1 unknown
 * (not known yet: try the upsert; a NOT_FOUND/INVALID_FIELD answer triggers a describe). */
int push_key_state(push_ctx *ctx, const char *sobject);
/* Decide from describe (one call, cached in describe_cache). Returns 1/0, or -1 when
 * describe could not be fetched (the run stops). */
int push_key_describe(push_ctx *ctx, const char *sobject);
/* Apply a whole-response class to every undecided op of a batch. */
void push_apply_response_class(push_ctx *ctx, push_op *ops, size_t n, push_resp_class cls,
                               const sf_response *resp);
/* Per-record collections result into op (success: done with id; errors: classified). */
void push_apply_record_result(push_ctx *ctx, push_op *op, const cJSON *result);

/* ---- push_create.c / push_update.c / push_delete.c: one batch each ---- */

/* ops: same sobject and kind (create | upsert; upsert: same ext_field). */
sfa_status push_send_creates(push_ctx *ctx, push_op *ops, size_t n);
sfa_status push_send_updates(push_ctx *ctx, push_op *ops, size_t n);
sfa_status push_send_deletes(push_ctx *ctx, push_op *ops, size_t n);

/* ---- reconcile.c: finding creates by key ---- */

/* Key field and value an op's record carries on the server (create: idempotency field +
 * local id; upsert: its ext field/value). NULL field when it has none. */
void push_op_key(const push_ctx *ctx, const push_op *op, const char **field, const char **value);
/* Take a read-back row into op: identity values (Id, CaseNumber, SystemModstamp, key) into
 * op->server and new_sf_id, other fields into op->server_fill. */
void push_take_row(push_op *op, const cJSON *row, const char *key_field);
/* Match query rows (records array of a query response) to ops by key (push_take_row for
 * each match); returns how many matched. */
size_t push_match_rows(const push_ctx *ctx, push_op *ops, size_t n, const cJSON *records);
/* Resolve every inflight op (start-up, or after an unknown outcome in this run):
 * creates by key (found -> done, else pending), updates/deletes/upserts -> pending,
 * creates without a key -> dead UNKNOWN_OUTCOME. owner NULL: every inflight op. */
sfa_status push_resolve_inflight(push_ctx *ctx, const char *owner);

/* ---- lease.c: one sync run at a time, in the database ---- */

/* Take the run lease for run_id (BEGIN IMMEDIATE). SFA_EBUSY with the holder's pid in
 * the handle's message when another live run holds it. */
sfa_status sync_lease_acquire(sfa_agent *a, const char *run_id, int64_t lease_ms);
sfa_status sync_lease_renew(sfa_agent *a, const char *run_id, int64_t lease_ms);
void sync_lease_release(sfa_agent *a, const char *run_id);
/* Run-level pause (offline, API limit): until_ms 0 clears. */
sfa_status sync_pause_set(sfa_agent *a, int64_t until_ms, const char *reason);
/* Current pause end (0 if none) and reason (caller frees, may be NULL). failures: how many
 * consecutive not-sent runs led to it (for growing the backoff). */
sfa_status sync_pause_get(sfa_agent *a, int64_t *until_ms, char **reason, int *failures);

/* ---- outbox_sync.c: claim, results, parking ---- */

/* Ready ops (pending, due, oldest open op of their record) with seq > after_seq, in seq
 * order, at most limit. *out is an array of *n ops (free with push_ops_free). */
sfa_status sync_outbox_ready(sfa_agent *a, int64_t now_ms, int64_t after_seq, size_t limit,
                             push_op **out, size_t *n);
/* pending -> inflight for ops[0..n) under run_id, one transaction, committed before any
 * request is sent. An op that changed since it was read (a local write folded into it, or
 * another process took it) is not claimed: claimed[i] false. */
sfa_status sync_outbox_claim(sfa_agent *a, const char *run_id, push_op *ops, size_t n,
                             bool *claimed);
/* Write every decided outcome of ops[0..n) in one transaction (only rows still inflight
 * under run_id are touched). */
sfa_status sync_outbox_apply(push_ctx *ctx, push_op *ops, size_t n);
/* Leave a pending op pending with a reason (parked): code + message, no attempts++. */
sfa_status sync_outbox_note(sfa_agent *a, int64_t seq, const char *code, const char *msg);
/* Inflight ops (owner NULL: all), for resolution. */
sfa_status sync_outbox_inflight(sfa_agent *a, const char *owner, push_op **out, size_t *n);
/* Salesforce Id of a local record, or NULL (caller frees). */
char *sync_record_sf_id(sfa_agent *a, const char *local_id);
/* The newest create/upsert op of a local record: state, code, message (caller frees
 * each; NULL when there is none). */
bool sync_record_create_op(sfa_agent *a, const char *local_id, char **state, char **code,
                           char **msg);
/* Note on every pending op held back by an earlier dead/conflict op of its record why it
 * waits (code WAITING_FOR_OP, message naming that op). *count gets how many wait. */
sfa_status sync_outbox_note_blocked(sfa_agent *a, size_t *count);
/* Records' base values and SystemModstamp (for the conflict check). Caller frees. */
cJSON *sync_record_base(sfa_agent *a, const char *local_id, char **sys_modstamp);
/* Counts for the report: pending ops and the earliest next_attempt_at among them. */
sfa_status sync_outbox_pending_info(sfa_agent *a, size_t *pending, size_t *inflight,
                                    int64_t *next_due_ms);
/* Dead + conflict ops. */
size_t sync_outbox_count_state(sfa_agent *a, const char *state);
/* describe_cache read/write. */
cJSON *sync_describe_cached(sfa_agent *a, const char *sobject);
sfa_status sync_describe_store(sfa_agent *a, const char *sobject, const cJSON *describe);

#endif
