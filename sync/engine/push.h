/* The push run's context and the pieces the senders share (sync/engine/push.c), and
 * the senders themselves (push_create.c, push_update.c, push_delete.c). Never used by
 * agent/ or embedders.
 *
 * The engine decides what happens to each claimed op (store/op.h outcomes); the store
 * writes the transition. Pure pieces have their own headers: backoff.h, classify.h,
 * refs.h, build.h; reconciliation is reconcile.h.
 */
#ifndef SFA_SYNC_ENGINE_PUSH_H
#define SFA_SYNC_ENGINE_PUSH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/status.h"
#include "sfagent/sync.h"
#include "store/op.h"
#include "sync/client/config_internal.h"
#include "sync/client/sf_client.h"
#include "sync/engine/backoff.h"
#include "sync/engine/classify.h"

/* Most records per sObject Collections request (docs/salesforce.md#sobject-collections). */
#define PUSH_BATCH_MAX 200
/* Most creates per batch: one /composite holds up to 4 Collections upserts of
 * PUSH_BATCH_MAX plus the one read-back query (5 such subrequests at most,
 * docs/salesforce.md#composite). */
#define PUSH_CREATE_BATCH_MAX (4 * PUSH_BATCH_MAX)
/* Most updates per batch: the check reads them in one retrieve (up to 2,000 Ids) and one
 * /composite holds 4 Collections PATCHes of PUSH_BATCH_MAX plus the read-back query. */
#define PUSH_UPDATE_BATCH_MAX (4 * PUSH_BATCH_MAX)
/* Most deletes per batch: one /composite of 5 Collections deletes of PUSH_BATCH_MAX. */
#define PUSH_DELETE_BATCH_MAX (5 * PUSH_BATCH_MAX)
/* Longest SOQL statement Salesforce accepts (docs/salesforce.md#query). */
#define PUSH_SOQL_MAX 100000
/* Ready ops read per page while scanning the outbox: a multiple of PUSH_CREATE_BATCH_MAX
 * so that full pages of creates make full batches. */
#define PUSH_PAGE_SIZE (2 * PUSH_CREATE_BATCH_MAX)
/* After this many failed attempts a transiently failing op is dead (TOO_MANY_ATTEMPTS). */
#define PUSH_MAX_ATTEMPTS 20
/* Most rounds in one run (a round sends every ready op at most once). */
#define PUSH_MAX_ROUNDS 50
/* Pause after REQUEST_LIMIT_EXCEEDED without a Retry-After header. */
#define PUSH_LIMIT_PAUSE_MS (10 * 60 * 1000)

/* ---- the run context ---- */

typedef struct push_keyinfo {
    char *sobject;
    int has_key; /* 1 yes, 0 no, -1 not known yet */
} push_keyinfo;

typedef struct push_job push_job;

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
    bool no_key;                 /* idempotency_field configured empty: no object has a key */
    sync_conflict_policy policy; /* the configuration's enum, not a copy of it */
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
    /* Ops whose answer was lost in this run: not sent again before the next run. */
    int64_t *lost;
    size_t nlost;
    /* I5: no batch starts at or after this time (ms since the epoch; 0: no limit). */
    int64_t deadline_ms;
    /* When opts->cancel first answered true (ms since the epoch; 0: not cancelled). */
    int64_t cancelled_at_ms;
    /* Batches in flight at once ([sync] parallel) and the job whose code is running now
     * (its requests are counted on it), see push_jobs.c. */
    int parallel;
    push_job *cur_job;
    size_t claimed;    /* ops claimed in this run (--max-ops counts them at the claim) */
    bool need_resolve; /* a batch had lost answers: resolve once nothing is in flight */
} push_ctx;

/* ---- pause.c: the run-level pause and its caps ---- */

/* An offline pause after something answered instead of Salesforce (a token endpoint's
 * 5xx or HTML, a captive portal): reported as SFA_PAUSE_OFFLINE, but stored under its own
 * word, because a probe that connects cannot tell that it is over (pause.c I4). */
#define PUSH_PAUSE_UNAVAILABLE ((sfa_pause_source)100)

/* The word a pause's reason starts with for source (sfa_sync_pause_get reads it back). */
const char *push_pause_token(sfa_pause_source source);
/* resp's Retry-After in ms, capped at backoff_cap; 0 when it sent none. */
int64_t push_retry_after_ms(const push_ctx *ctx, const sf_response *resp);
/* The longest run-level pause a run ever sets (max of backoff_cap and the API-limit pause). */
int64_t push_pause_cap_ms(const push_ctx *ctx);
/* The furthest ahead a run ever schedules an op (max of backoff_cap and settle_time). */
int64_t push_backoff_horizon_ms(const push_ctx *ctx);

/* The run-level pause into *out if one was set to end at or after since_ms, even if it has
 * ended by now (a short offline backoff can be over before the caller looks): what the
 * run that started at since_ms ran into. SFA_PAUSE_NONE otherwise. */
sfa_status push_pause_set_since(sfa_sync_pause *out, sfa_agent *agent, int64_t since_ms);
/* Would a probe that connects end the pause *p describes (read by push_pause_set_since)?
 * True only for an offline pause left by a failure to connect. */
bool push_pause_probe_ends(const sfa_sync_pause *p);
/* The source a stored reason "<token>: <text>" names (pause.c I2), *text after the prefix;
 * PUSH_PAUSE_UNAVAILABLE is kept as such here. */
sfa_pause_source push_pause_raw_source(const char *reason, const char **text);
/* pause_probe.c: does a run-level pause still hold? reason is the stored "<source>: <text>". An
 * offline pause ends when the reachability probe connects (sync/client/probe.h); others hold. */
bool push_pause_holds(push_ctx *ctx, const char *reason);
/* pause_probe.c: the reachability probe (sync/client/probe.h) at the instance the last login
 * recorded (store/health.c H5), or at the login host before any login (or when the database
 * cannot say). Results as sync_probe_connect(). */
sfa_status push_probe_reach(sfa_agent *agent, const sfa_config *cfg, char *why, size_t whylen);
/* index_config.c: sfa_index_apply_config() for a sync or the daemon: a failure is logged as
 * a warning, nothing stops. */
void sync_index_apply_declared(sfa_agent *agent, const sfa_config *cfg);

/* ---- cancel.c: a caller asking the run to stop (sfa_sync_options.cancel) ---- */

/* Has the caller asked the run to stop? Notes the time it first did, and the message. */
bool push_cancelled(push_ctx *ctx);
/* Make ctx->client abandon a request in flight SFA_SYNC_CANCEL_GRACE_MS after a cancel. */
void push_watch_cancel(push_ctx *ctx);

/* Stop the run with status and a message for the report (printf-style). */
void push_stop(push_ctx *ctx, sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Before every request: false (and the run stopped) when the API share is used up. */
bool push_limit_ok(push_ctx *ctx);
/* Send one request, counting it; on SFA_OK resp holds an outcome. */
sfa_status push_request(push_ctx *ctx, const char *method, const char *path, const cJSON *body,
                        sf_response *resp);
/* I5: true (once noted in the report) when the run's time is up or the caller cancelled. */
bool push_out_of_time(push_ctx *ctx);
/* Count a request's outcome (on job too, when not NULL) and stop the run when it failed
 * before sending (offline: run-level pause). before: sf_client_requests_made() before the
 * call, so a login that was answered (a 503, a captive portal) is told from one that could
 * not connect (pause.c I4). */
void push_account(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp, long before);
/* Does sobject have the idempotency External ID field? 1 yes, 0 no, -1 unknown
 * (not known yet: try the upsert; a NOT_FOUND/INVALID_FIELD answer triggers a describe). */
int push_key_state(push_ctx *ctx, const char *sobject);
/* Decide from describe (one call, cached in describe_cache). Returns 1/0, or -1 when
 * describe could not be fetched: the run stops only when the link, the API limit or the
 * session failed; otherwise the caller decides the object's ops (object scope). */
int push_key_describe(push_ctx *ctx, const char *sobject);
/* Write the decided outcomes of ops[0..n) (store_outbox_apply), choosing each retry's
 * backoff delay, and count them in the report. */
sfa_status push_write_results(push_ctx *ctx, store_op *ops, size_t n);
/* Apply a whole-response class to every undecided op of a batch. */
void push_apply_response_class(push_ctx *ctx, store_op *ops, size_t n, push_resp_class cls,
                               const sf_response *resp);
/* Per-record collections result into op (success: done with id; errors: classified). */
void push_apply_record_result(push_ctx *ctx, store_op *op, const cJSON *result);

/* Composite answers, read the same way for every kind (push.c), a sub-result at a time
 * as push_answer.c finds it (NULL when missing):
 * its per-record results (a 2xx body array of objects), or NULL when the sub-request
 * failed as a whole; */
const cJSON *push_sub_records(const cJSON *sub);
/* a failed sub-request as the response a plain request would have had (free with
 * sf_response_free); */
void push_sub_response(const cJSON *sub, sf_response *fake);
/* and that response's class applied to every undecided op of ops[0..n), exactly as a
 * plain request's (5xx retried, limit pauses, 4xx dead, ...). */
void push_apply_sub_failure(push_ctx *ctx, store_op *ops, size_t n, const cJSON *sub);
/* Result i of a collections results array into op; a missing one is an unknown outcome. */
void push_apply_result_at(push_ctx *ctx, store_op *op, const cJSON *results, size_t i);

/* ---- push_jobs.c: batches in flight ---- */

/* What a sender does with the answer to its job's request (rc and resp as push_request
 * gives them; resp is freed by the caller): true when it started the job's next request,
 * false when the job is complete (its ops decided, or undecided = not sent). */
typedef bool (*push_answer_fn)(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp);

/* One claimed batch on its way: its ops (owned), and the sender's state between its
 * requests (owned by the sender, freed when it returns false). */
struct push_job {
    store_op *ops; /* NULL while packed */
    size_t n;
    char *packed; /* the ops while the job waits for an answer (push_pack.c), or NULL */
    long out;     /* requests of this job that reached, or may have reached, Salesforce */
    push_answer_fn answer;
    void *state;
    bool text; /* the request in flight was started with push_start_text */
};

/* Start one request of job without waiting (I3 checked first). false when nothing went
 * out: the run is stopped as push_request stops it and the ops stay undecided. */
bool push_start(push_ctx *ctx, push_job *job, const char *method, const char *path,
                const cJSON *body, push_answer_fn answer);
/* As push_start, for a composite whose 2xx answer the sender reads in place: it gets the
 * answer's checked text (resp->body, resp->json NULL; push_answer.h) instead of a tree. */
bool push_start_text(push_ctx *ctx, push_job *job, const char *method, const char *path,
                     const cJSON *body, push_answer_fn answer);
/* Hold ops[0..n)'s fields as text, freeing the trees / rebuild the trees from the text,
 * keeping the text too when keep_text (push_jobs.c J6). */
void push_ops_pack(store_op *ops, size_t n);
void push_ops_unpack(store_op *ops, size_t n, bool keep_text);
/* push_pack.c: while a job waits for an answer, its ops as one block of bytes (ops NULL),
 * when nothing was decided for any of them yet; otherwise the job is left as it is.
 * Unpacking gives back the same ops (their fields as text, as push_ops_pack left them). */
void push_job_pack(push_job *job);
void push_job_unpack(push_job *job);
/* ops[0..n) as one block (their contents moved into it, the array left empty but not
 * freed), or NULL, with nothing changed, when one of them has a decision (P1). */
char *push_ops_block(store_op *ops, size_t n);
/* The n ops of a block, as a new array (free with store_ops_free); frees the block. */
store_op *push_ops_unblock(char *block, size_t n);
/* Whether a job may start now without waiting (J2, J5). */
bool push_slot_free(const push_ctx *ctx);
/* Wait (collecting answers) until fewer than the allowed jobs are in flight (J2, J5), or
 * the run stops. */
void push_wait_slot(push_ctx *ctx);
/* Claim ops[0..n) and start them as one job (I1); their contents move into the job (the
 * slots are left empty). Waits first while [sync] parallel jobs are in flight. */
void push_send_batch(push_ctx *ctx, store_op *ops, size_t n);
/* Wait for every job in flight, then resolve the answers this run lost. */
void push_drain(push_ctx *ctx);

/* ---- push_create.c / push_update.c / push_delete.c: the senders ---- */

/* Begin a job: true when a request of it is in flight, false when it is complete already.
 * Creates: same sobject and kind (create | upsert; upsert: same ext_field). */
bool push_creates_begin(push_ctx *ctx, push_job *job);
bool push_updates_begin(push_ctx *ctx, push_job *job);
bool push_deletes_begin(push_ctx *ctx, push_job *job);

#endif
