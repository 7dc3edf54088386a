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
#include "store/describe.h"
#include "store/op.h"
#include "store/run.h"
#include "sync/sf_client.h"

/* Most records per sObject Collections request (SALESFORCE.md section 5). */
#define PUSH_BATCH_MAX 200
/* Ready ops read per page while scanning the outbox. */
#define PUSH_PAGE_SIZE 1000
/* After this many failed attempts a transiently failing op is dead (TOO_MANY_ATTEMPTS). */
#define PUSH_MAX_ATTEMPTS 20
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
/* Write the decided outcomes of ops[0..n) (store_outbox_apply), choosing each retry's
 * backoff delay, and count them in the report. */
sfa_status push_write_results(push_ctx *ctx, store_op *ops, size_t n);
/* Apply a whole-response class to every undecided op of a batch. */
void push_apply_response_class(push_ctx *ctx, store_op *ops, size_t n, push_resp_class cls,
                               const sf_response *resp);
/* Per-record collections result into op (success: done with id; errors: classified). */
void push_apply_record_result(push_ctx *ctx, store_op *op, const cJSON *result);

/* ---- push_create.c / push_update.c / push_delete.c: one batch each ---- */

/* ops: same sobject and kind (create | upsert; upsert: same ext_field). */
sfa_status push_send_creates(push_ctx *ctx, store_op *ops, size_t n);
sfa_status push_send_updates(push_ctx *ctx, store_op *ops, size_t n);
sfa_status push_send_deletes(push_ctx *ctx, store_op *ops, size_t n);

/* ---- reconcile.c: finding creates by key ---- */

/* Key field and value an op's record carries on the server (create: idempotency field +
 * local id; upsert: its ext field/value). NULL field when it has none. */
void push_op_key(const push_ctx *ctx, const store_op *op, const char **field, const char **value);
/* Take a read-back row into op: identity values (Id, CaseNumber, SystemModstamp, key) into
 * op->server and new_sf_id, other fields into op->server_fill. */
void push_take_row(store_op *op, const cJSON *row, const char *key_field);
/* Match query rows (records array of a query response) to ops by key (push_take_row for
 * each match); returns how many matched. */
size_t push_match_rows(const push_ctx *ctx, store_op *ops, size_t n, const cJSON *records);
/* Resolve every inflight op (start-up, or after an unknown outcome in this run):
 * creates by key (found -> done, else pending), updates/deletes/upserts -> pending,
 * creates without a key -> dead UNKNOWN_OUTCOME. owner NULL: every inflight op. */
sfa_status push_resolve_inflight(push_ctx *ctx, const char *owner);

#endif
