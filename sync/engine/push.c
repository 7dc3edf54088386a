/* The push engine's run: lease, start-up resolution, rounds of batches, the report.
 *
 * A run:
 *   1. takes the run lease (store/lease.c), so two runs never claim the same op;
 *   2. honours a run-level pause left by an earlier run (offline, API limit);
 *   3. resolves every op left inflight by a crashed or cut-off run (sync/engine/reconcile.c)
 *      before anything else is sent;
 *   4. repeats rounds until a round sends nothing: each round pages through the ready
 *      ops (oldest open op of each record), holds back those whose references are not
 *      synced, groups the rest by (kind, sObject) and sends batches (800 creates or
 *      updates, 1,000 deletes), up to [sync] parallel of them in flight at once
 *      (push_jobs.c), creates first so that parents get their Ids before their children
 *      are sent;
 *   5. releases the lease and reports.
 *
 * Invariants:
 *   I1. Every request is preceded by a committed claim of its ops (store/op_sync.c I1).
 *   I2. A run that ends early leaves no op claimed but undecided except unknown
 *       outcomes, which stay inflight for resolution.
 *   I3. Nothing is sent while the configured share of the org's API limit is used.
 *   I4. A run is bounded: an op whose answer was lost is not sent again in the same run
 *       (the next run resolves or re-sends it), every other op is sent at most once per
 *       round, a round in which nothing reached a final state ends the run, and there are
 *       at most PUSH_MAX_ROUNDS rounds. So a request that is always dropped costs one
 *       request per op per run, whatever settle_time is.
 *   I5. A run with a time limit ([sync] max_run_seconds, --max-run-seconds) checks it
 *       only between batches: a batch once claimed is sent and its results written, so
 *       the limit never leaves an op claimed but unsent. When the limit is reached the
 *       run stops cleanly (no error of its own: what is left is pending for the next
 *       run), skips the pull, and says so in the report (time_limited, message).
 */
#include "sync/engine/push.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/describe.h"
#include "store/op.h"
#include "store/run.h"
#include "store/store.h"
#include "sync/client/config_internal.h"
#include "sync/engine/backoff.h"
#include "sync/engine/classify.h"
#include "sync/engine/describe.h"
#include "sync/engine/health.h"
#include "sync/engine/pull.h"
#include "sync/engine/reconcile.h"
#include "sync/engine/refs.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/log.h"
#include "util/names.h"
#include "util/sfdescribe.h"
#include "util/sfid.h"
#include "util/timeutil.h"

void push_stop(push_ctx *ctx, sfa_status st, const char *fmt, ...)
{
    if (ctx->stop)
        return; /* the first reason is the one that matters */
    ctx->stop = true;
    ctx->stop_status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->report->message, sizeof ctx->report->message, fmt, ap);
    va_end(ap);
    log_warn("sync: %s", ctx->report->message);
}

/* A failed write of the pause is a local database failure: it becomes the run's status
 * (callers stop the run right after, and the first reason wins). */
static void pause_run(push_ctx *ctx, int64_t delay_ms, sfa_pause_source source, const char *reason)
{
    sfa_status st =
        store_pause_set(ctx->agent, time_now_ms() + delay_ms, push_pause_token(source), reason);
    if (st != SFA_OK)
        push_stop(ctx, st, "could not record the pause: %s", sfa_agent_errmsg(ctx->agent));
}

/* connected: something answered (a token endpoint's 503, a captive portal), so a probe
 * that connects proves nothing and the pause is waited out (pause.c I4). */
static void offline_backoff(push_ctx *ctx, bool connected, const char *why)
{
    if (ctx->cancelled_at_ms)
        return; /* a request abandoned on a stop says nothing about the link (cancel.c) */
    int64_t until = 0;
    int failures = 0;
    sfa_status st = store_pause_get(ctx->agent, &until, NULL, &failures);
    if (st != SFA_OK)
        push_stop(ctx, st, "could not read the pause: %s", sfa_agent_errmsg(ctx->agent));
    int64_t delay =
        backoff_delay_ms(&ctx->rng, failures, ctx->backoff_base_ms, ctx->backoff_cap_ms);
    pause_run(ctx, delay, connected ? PUSH_PAUSE_UNAVAILABLE : SFA_PAUSE_OFFLINE, why);
}

bool push_limit_ok(push_ctx *ctx)
{
    long used = sf_client_api_used(ctx->client), max = sf_client_api_max(ctx->client);
    /* Requests still in flight will count too (push_jobs.c J5). */
    long pending = (long)sf_client_in_flight(ctx->client);
    if (used < 0 || max <= 0 || (double)(used + pending) < ctx->api_share * (double)max)
        return true;
    push_stop(ctx, SFA_ELIMIT,
              "stopped pushing: %ld of %ld daily API requests used (api_limit_share %.2f)", used,
              max, ctx->api_share);
    /* Scheduled runs wait instead of each spending one more request to find out. */
    pause_run(ctx, PUSH_LIMIT_PAUSE_MS, SFA_PAUSE_API_LIMIT, "api_limit_share reached");
    return false;
}

sfa_status push_request(push_ctx *ctx, const char *method, const char *path, const cJSON *body,
                        sf_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->outcome = SF_NOT_SENT;
    if (!push_limit_ok(ctx)) /* I3 */
        return SFA_ELIMIT;
    long before = sf_client_requests_made(ctx->client);
    sfa_status rc = sf_client_request(ctx->client, method, path, body, resp);
    push_account(ctx, ctx->cur_job, rc, resp, before);
    return rc;
}

void push_account(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp, long before)
{
    if (rc == SFA_OK && resp->outcome == SF_ANSWERED)
        ctx->answered = true;
    if (rc == SFA_OK && resp->outcome != SF_NOT_SENT) {
        ctx->requests_out++;
        if (job)
            job->out++;
    }
    if (rc != SFA_OK) {
        /* Failed before sending (login refused, or login unreachable): nothing was sent;
         * callers leave the batch undecided, which send_batch() releases. */
        resp->outcome = SF_NOT_SENT;
        if (rc == SFA_ENETWORK) {
            bool answered = sf_client_requests_made(ctx->client) > before; /* a 503 login */
            offline_backoff(ctx, answered, sf_client_errmsg(ctx->client));
            push_stop(ctx, SFA_ERETRY, "Salesforce not reachable (offline): %s",
                      sf_client_errmsg(ctx->client));
        } else {
            push_stop(ctx, rc, "%s", sf_client_errmsg(ctx->client));
        }
    }
}

sfa_status push_write_results(push_ctx *ctx, store_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].outcome == STORE_OUT_RETRY)
            ops[i].retry_delay_ms = backoff_delay_ms(&ctx->rng, ops[i].attempts,
                                                     ctx->backoff_base_ms, ctx->backoff_cap_ms);
    store_apply_counts c = {0};
    sfa_status rc = store_outbox_apply(ctx->agent, ctx->run_id, ctx->max_attempts, ops, n, &c);
    if (rc == SFA_OK) {
        ctx->report->done += c.done;
        ctx->report->retried += c.retried;
        ctx->report->dead += c.dead;
        ctx->report->conflict += c.conflict;
    }
    return rc;
}

/* ---- idempotency field per sObject ---- */

static int describe_has_key(const cJSON *describe, const char *field)
{
    return json_bool(sf_describe_field(describe, field), "externalId", false) ? 1 : 0;
}

static push_keyinfo *key_slot(push_ctx *ctx, const char *sobject)
{
    for (size_t i = 0; i < ctx->nkeys; i++)
        if (strcmp(ctx->keys[i].sobject, sobject) == 0)
            return &ctx->keys[i];
    ctx->keys = xrealloc(ctx->keys, (ctx->nkeys + 1) * sizeof *ctx->keys);
    push_keyinfo *k = &ctx->keys[ctx->nkeys++];
    k->sobject = xstrdup(sobject);
    k->has_key = ctx->no_key ? 0 : -1;
    if (ctx->no_key)
        return k;
    cJSON *cached = NULL;
    sfa_status st = store_describe_get(&cached, ctx->agent, sobject);
    if (st != SFA_OK) /* a failed read of the local database stops the run */
        push_stop(ctx, st, "could not read the describe cache: %s", sfa_agent_errmsg(ctx->agent));
    if (cJSON_GetObjectItemCaseSensitive(cached, "fields"))
        k->has_key = describe_has_key(cached, ctx->idem_field);
    cJSON_Delete(cached);
    return k;
}

int push_key_state(push_ctx *ctx, const char *sobject)
{
    return key_slot(ctx, sobject)->has_key;
}

int push_key_describe(push_ctx *ctx, const char *sobject)
{
    push_keyinfo *k = key_slot(ctx, sobject);
    char *path = xasprintf("sobjects/%s/describe", sobject);
    sf_response resp;
    int out = -1;
    sfa_status rc = push_request(ctx, "GET", path, NULL, &resp);
    if (rc == SFA_OK && resp.outcome == SF_ANSWERED && resp.status == 200 &&
        cJSON_IsObject(resp.json)) {
        sfa_status st = store_describe_put(ctx->agent, sobject, resp.json);
        if (st != SFA_OK)
            push_stop(ctx, st, "could not cache a describe: %s", sfa_agent_errmsg(ctx->agent));
        out = k->has_key = describe_has_key(resp.json, ctx->idem_field);
        if (!out)
            log_warn("%s has no External ID field %s: creates are sent without an idempotency"
                     " key (run `sfagent doctor`)",
                     sobject, ctx->idem_field);
    } else if (rc == SFA_OK) {
        /* Object scope: only this object's ops wait (the caller decides them); a link,
         * limit or session failure still stops the run (push_apply_response_class). */
        log_warn("describe %s failed: %s", sobject,
                 resp.error_message ? resp.error_message : "no usable answer");
        push_apply_response_class(ctx, NULL, 0, push_classify_response(&resp), &resp);
    }
    sf_response_free(&resp);
    free(path);
    return out;
}

/* ---- applying answers to ops ---- */

void push_apply_response_class(push_ctx *ctx, store_op *ops, size_t n, push_resp_class cls,
                               const sf_response *resp)
{
    char code[64];
    const char *msg = resp->error_message ? resp->error_message : "";
    if (resp->error_code)
        snprintf(code, sizeof code, "%s", resp->error_code);
    else
        snprintf(code, sizeof code, "HTTP_%ld", resp->status);
    store_outcome out = STORE_OUT_RELEASE;
    int64_t retry_after = push_retry_after_ms(ctx, resp);
    switch (cls) {
    case PUSH_RESP_OK:
        return;
    case PUSH_RESP_NOT_SENT:
        offline_backoff(ctx, false, msg);
        push_stop(ctx, SFA_ERETRY, "Salesforce not reachable (offline): %s", msg);
        break;
    case PUSH_RESP_FOREIGN: {
        /* classify.h I3: something between us and Salesforce answered (captive portal,
         * proxy): nothing was applied, so like offline the ops are released, no attempt
         * is spent, and scheduled runs back off. */
        char *why = xasprintf("an answer was not from Salesforce (HTTP %ld%s%s): a captive "
                              "portal or a proxy in the way?",
                              resp->status, resp->error_code ? ", " : "",
                              resp->error_code ? resp->error_code : "");
        ctx->report->request_failures++;
        offline_backoff(ctx, true, why);
        push_stop(ctx, SFA_ERETRY, "%s", why);
        free(why);
        break;
    }
    case PUSH_RESP_REQUEST:
        ctx->report->request_failures++;
        log_warn("Salesforce refused a whole request (%s: %s); its ops are retried later", code,
                 msg);
        out = STORE_OUT_RETRY;
        break;
    case PUSH_RESP_UNKNOWN:
        out = STORE_OUT_INFLIGHT;
        break;
    case PUSH_RESP_TRANSIENT:
        out = STORE_OUT_RETRY;
        break;
    case PUSH_RESP_LIMIT:
        if (retry_after > 0) /* pause.c I1: capped */
            pause_run(ctx, retry_after, SFA_PAUSE_RETRY_AFTER, code);
        else
            pause_run(ctx, PUSH_LIMIT_PAUSE_MS, SFA_PAUSE_API_LIMIT, code);
        push_stop(ctx, SFA_ELIMIT, "Salesforce API limit reached (%s): pausing", code);
        break;
    case PUSH_RESP_PERMANENT:
        out = STORE_OUT_DEAD;
        break;
    case PUSH_RESP_AUTH:
        push_stop(ctx, SFA_EAUTH, "Salesforce refused the session: %s", msg);
        break;
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].outcome != STORE_OUT_NONE)
            continue;
        store_op_set(&ops[i], out, out == STORE_OUT_RELEASE ? NULL : code,
                     out == STORE_OUT_RELEASE ? NULL : msg);
        if (out == STORE_OUT_RETRY)
            ops[i].retry_after_ms = retry_after;
    }
}

/* A success answer whose Id is not a valid Salesforce Id: a protocol error for this
 * record. Keyed creates, updates and deletes are safe to send again (the key or the Id
 * finds the same record); a plain create may have made a record, so it is parked for a
 * person instead of being sent twice (reconcile.c I2). */
static void bad_id(push_ctx *ctx, store_op *op, const char *id)
{
    char *msg = xasprintf("Salesforce answered success with an invalid Id '%.40s'", id);
    bool plain = strcmp(op->kind, "create") == 0 && push_key_state(ctx, op->sobject) == 0;
    store_op_set(op, plain ? STORE_OUT_DEAD : STORE_OUT_RETRY, "MALFORMED_ID", msg);
    free(msg);
}

void push_apply_record_result(push_ctx *ctx, store_op *op, const cJSON *result)
{
    if (json_bool(result, "success", false)) {
        const char *id = json_str(result, "id");
        bool need_id = strcmp(op->kind, "delete") != 0; /* the mirror keeps it */
        if ((id || need_id) && !push_take_id(op, id)) {
            bad_id(ctx, op, id ? id : "(none)");
            return;
        }
        store_op_set(op, STORE_OUT_DONE, NULL, NULL);
        return;
    }
    const cJSON *err = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(result, "errors"), 0);
    const char *code = json_str(err, "statusCode");
    if (!code)
        code = json_str(err, "errorCode");
    const char *msg = json_str(err, "message");
    switch (push_classify_code(code, op->kind)) {
    case PUSH_ERR_GONE:
        store_op_set(op, STORE_OUT_DONE, NULL, NULL);
        break;
    case PUSH_ERR_TRANSIENT:
        store_op_set(op, STORE_OUT_RETRY, code, msg);
        break;
    case PUSH_ERR_PERMANENT:
        store_op_set(op, STORE_OUT_DEAD, code ? code : "UNKNOWN_ERROR",
                     msg ? msg : "Salesforce refused the record without an error code");
        break;
    }
}

/* ---- composite sub-results (found by push_answer.c): one reading for creates, updates
 * and deletes ---- */

const cJSON *push_sub_records(const cJSON *sub)
{
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(sub, "body");
    if (!sub || !cJSON_IsArray(body) || json_num(sub, "httpStatusCode", 0) >= 300)
        return NULL;
    if (cJSON_GetArraySize(body) > 0 && !cJSON_IsObject(cJSON_GetArrayItem(body, 0)))
        return NULL;
    return body;
}

void push_sub_response(const cJSON *sub, sf_response *fake)
{
    memset(fake, 0, sizeof *fake);
    fake->outcome = SF_ANSWERED;
    fake->status = sub ? (long)json_num(sub, "httpStatusCode", 500) : 500;
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(sub, "body");
    const cJSON *err = cJSON_GetArrayItem(body, 0);
    const char *code = json_str(err, "errorCode");
    const char *msg = json_str(err, "message");
    fake->json = body ? cJSON_Duplicate(body, true) : NULL; /* classified by its shape too */
    fake->error_code = code ? xstrdup(code) : NULL;
    fake->error_message = xstrdup(msg   ? msg
                                  : sub ? "collection request failed"
                                        : "composite answer lacks a sub-result");
    fake->retry_after_s = -1;
}

void push_apply_sub_failure(push_ctx *ctx, store_op *ops, size_t n, const cJSON *sub)
{
    sf_response fake;
    push_sub_response(sub, &fake);
    push_apply_response_class(ctx, ops, n, push_classify_response(&fake), &fake);
    sf_response_free(&fake);
}

void push_apply_result_at(push_ctx *ctx, store_op *op, const cJSON *results, size_t i)
{
    const cJSON *r = cJSON_GetArrayItem(results, (int)i);
    if (r)
        push_apply_record_result(ctx, op, r);
    else
        store_op_set(op, STORE_OUT_INFLIGHT, NULL, NULL); /* no answer for it: unknown */
}

/* ---- one round ---- */

typedef struct ref_lookup {
    sfa_agent *agent;
    const char *sobject; /* of the op being prepared */
    char *last;          /* owned result of the last lookup */
    sfa_status st;       /* first failed read, if any: the caller stops the run */
} ref_lookup;

static bool is_reference(const char *field, void *vctx)
{
    const ref_lookup *rl = vctx;
    return store_field_is_reference(rl->agent, rl->sobject, field);
}

static const char *lookup_sf_id(const char *local_id, void *vctx)
{
    ref_lookup *rl = vctx;
    free(rl->last);
    sfa_status st = store_record_sf_id(&rl->last, rl->agent, local_id);
    if (st != SFA_OK && rl->st == SFA_OK)
        rl->st = st;
    return rl->last;
}

/* Note why a pending op waits; a failed write is a local database failure. */
static void note(push_ctx *ctx, const store_op *op, const char *code, const char *msg)
{
    sfa_status st = store_outbox_note(ctx->agent, op->seq, code, msg);
    if (st != SFA_OK)
        push_stop(ctx, st, "could not note op %s: %s", op->op_id, sfa_agent_errmsg(ctx->agent));
    ctx->report->parked += ctx->round == 0; /* count each op once per run */
}

/* Hold back an op whose reference is not synced: park it (parent dead) or let it wait
 * for a later round (parent still on its way). */
static void hold_back(push_ctx *ctx, store_op *op, const char *parent)
{
    char *state = NULL, *code = NULL, *msg = NULL;
    bool has_op = false;
    sfa_status st = store_record_create_op(&has_op, ctx->agent, parent, &state, &code, &msg);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not read op of %s: %s", parent, sfa_agent_errmsg(ctx->agent));
    } else if (has_op && strcmp(state, "pending") != 0 && strcmp(state, "inflight") != 0 &&
               strcmp(state, "done") != 0) {
        char *why = xasprintf("parent %s is not synced: its create is %s (%s: %s)", parent, state,
                              code ? code : "?", msg ? msg : "");
        note(ctx, op, "PARENT_NOT_SYNCED", why);
        free(why);
    } else if (!has_op) {
        char *why = xasprintf("parent %s is not a record known to this agent", parent);
        note(ctx, op, "PARENT_NOT_SYNCED", why);
        free(why);
    }
    free(state);
    free(code);
    free(msg);
}

static bool was_lost(const push_ctx *ctx, int64_t seq)
{
    for (size_t i = 0; i < ctx->nlost; i++)
        if (ctx->lost[i] == seq)
            return true;
    return false;
}

/* Rank for grouping: creates (parents first) before updates before deletes; 9 = skip. */
static int prepare_op(push_ctx *ctx, store_op *op, ref_lookup *rl)
{
    if (was_lost(ctx, op->seq)) /* I4 */
        return 9;
    bool is_delete = strcmp(op->kind, "delete") == 0;
    bool is_create = strcmp(op->kind, "create") == 0 || strcmp(op->kind, "upsert") == 0;
    if (!is_create && !op->sf_id) {
        note(ctx, op, "NOT_SYNCED", "the record has no Salesforce Id yet");
        return 9;
    }
    if (!is_create && !sfid_is_valid(op->sf_id)) { /* it would be pasted into a URL */
        note(ctx, op, "MALFORMED_ID", "the record's Salesforce Id is not a valid Id");
        return 9;
    }
    if (op->fields) {
        cJSON *copy = cJSON_Duplicate(op->fields, true);
        rl->sobject = op->sobject;
        const char *parent = push_refs_rewrite(copy, is_reference, lookup_sf_id, rl);
        if (rl->st != SFA_OK) {
            push_stop(ctx, rl->st, "could not read a reference: %s", sfa_agent_errmsg(ctx->agent));
            cJSON_Delete(copy);
            return 9;
        }
        if (parent) {
            hold_back(ctx, op, parent);
            cJSON_Delete(copy);
            return 9;
        }
        cJSON_Delete(op->fields);
        op->fields = copy; /* what is sent, and what base will hold */
    }
    return is_create ? 0 : is_delete ? 2 : 1;
}

static int cmp_ops(const void *pa, const void *pb)
{
    const store_op *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    int c = strcmp(a->kind, b->kind);
    if (c == 0)
        c = strcmp(a->sobject, b->sobject);
    if (c == 0)
        c = strcmp(a->ext_field ? a->ext_field : "", b->ext_field ? b->ext_field : "");
    if (c == 0)
        c = a->seq < b->seq ? -1 : a->seq > b->seq;
    return c;
}

static bool same_group(const store_op *a, const store_op *b)
{
    return strcmp(a->kind, b->kind) == 0 && strcmp(a->sobject, b->sobject) == 0 &&
           strcmp(a->ext_field ? a->ext_field : "", b->ext_field ? b->ext_field : "") == 0;
}

/* I5: true (once noted in the report) when the run's time is up, or its caller asked it to
 * stop (cancel.c): both end the run between batches. */
bool push_out_of_time(push_ctx *ctx)
{
    if (ctx->report->time_limited || push_cancelled(ctx))
        return true;
    if (ctx->deadline_ms <= 0 || time_now_ms() < ctx->deadline_ms)
        return false;
    ctx->report->time_limited = true;
    if (!ctx->report->message[0])
        snprintf(ctx->report->message, sizeof ctx->report->message,
                 "stopped between batches at the run's time limit (max_run_seconds); the"
                 " rest goes with the next run");
    log_info("sync: %s", ctx->report->message);
    return true;
}

/* ops[0..i) are done with (moved into a job, or left behind by a raced claim): drop them,
 * so the page array holds only the ops that still wait (docs/sync-protocol.md#memory). */
static void drop_taken(store_op **ops, size_t *n, size_t i)
{
    for (size_t k = 0; k < i; k++)
        store_op_clear(&(*ops)[k]);
    memmove(*ops, *ops + i, (*n - i) * sizeof **ops);
    *n -= i;
    *ops = xrealloc(*ops, (*n ? *n : 1) * sizeof **ops);
}

/* The rest of a page waits for a batch slot as one block (push_pack.c), not as store_op
 * values: [sync] parallel batches are in flight meanwhile. *ops may be a new array. */
static void wait_packed(push_ctx *ctx, store_op **ops, size_t n)
{
    char *rest = push_ops_block(*ops, n);
    if (!rest) { /* an op with a decision (P1): the page waits as it is */
        push_wait_slot(ctx);
        return;
    }
    free(*ops); /* emptied into the block */
    push_wait_slot(ctx);
    *ops = push_ops_unblock(rest, n);
}

static void send_groups(push_ctx *ctx, store_op **pops, size_t *pn)
{
    size_t i = 0;
    while (i < *pn && !ctx->stop && (*pops)[i].rank < 9 && !push_out_of_time(ctx)) { /* I5 */
        if (i > 0) {
            drop_taken(pops, pn, i);
            i = 0;
            if (!push_slot_free(ctx))
                wait_packed(ctx, pops, *pn);
        }
        store_op *ops = *pops;
        size_t n = *pn;
        size_t j = i + 1;
        size_t cap = ops[i].rank == 0   ? PUSH_CREATE_BATCH_MAX
                     : ops[i].rank == 1 ? PUSH_UPDATE_BATCH_MAX
                                        : PUSH_DELETE_BATCH_MAX;
        while (j < n && j - i < cap && ops[j].rank == ops[i].rank && same_group(&ops[i], &ops[j]))
            j++;
        size_t max = ctx->opts->max_ops;
        if (max && ctx->claimed >= max)
            return;
        if (max && j - i > max - ctx->claimed)
            j = i + (max - ctx->claimed);
        push_send_batch(ctx, ops + i, j - i);
        i = j;
    }
}

/* Process one page of ready ops; returns false when it was empty. */
static bool round_page(push_ctx *ctx, int64_t *cursor)
{
    /* A page is read once a batch slot is free (push_jobs.c J2): its first batch goes out
     * at once instead of the whole page waiting beside [sync] parallel batches in flight
     * (docs/sync-protocol.md#memory). */
    push_wait_slot(ctx);
    if (ctx->stop)
        return false;
    store_op *ops = NULL;
    size_t n = 0;
    sfa_status st =
        store_outbox_ready(ctx->agent, time_now_ms(), *cursor, PUSH_PAGE_SIZE, &ops, &n);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not read the outbox: %s", sfa_agent_errmsg(ctx->agent));
        return false;
    }
    if (n == 0)
        return false;
    *cursor = ops[n - 1].seq;
    ref_lookup rl = {ctx->agent, NULL, NULL, SFA_OK};
    for (size_t i = 0; i < n && !ctx->stop; i++) {
        store_op_parse_fields(&ops[i]); /* one op's tree at a time */
        ops[i].rank = prepare_op(ctx, &ops[i], &rl);
        push_ops_pack(&ops[i], 1); /* push_jobs.c J6: most of the page waits for a slot */
    }
    free(rl.last);
    /* Creates of all sObjects before updates before deletes; a child whose parent is
     * created in this page was held back above and goes in the next round. */
    qsort(ops, n, sizeof *ops, cmp_ops);
    send_groups(ctx, &ops, &n);
    store_ops_free(ops, n);
    return !ctx->stop;
}

/* ---- the run ---- */

static sfa_status read_config(push_ctx *ctx, const sfa_config *cfg, char *err, size_t errlen)
{
    /* Values were validated by sfa_config_load(); only the field name is re-checked
     * because it is pasted into SOQL and URLs. */
    const char *v = sync_config_idempotency_field(cfg);
    ctx->no_key = !v || !*v;
    snprintf(ctx->idem_field, sizeof ctx->idem_field, "%s", ctx->no_key ? "Sync_Key__c" : v);
    if (!name_is_valid_api_name(ctx->idem_field)) {
        snprintf(err, errlen, "sync.idempotency_field '%s' is not a valid field name",
                 ctx->idem_field);
        return SFA_ECONFIG;
    }
    ctx->policy = sync_config_conflict_policy(cfg);
    ctx->backoff_base_ms = (int64_t)sync_config_backoff_base_s(cfg) * 1000;
    ctx->backoff_cap_ms = (int64_t)sync_config_backoff_cap_s(cfg) * 1000;
    ctx->settle_ms = (int64_t)sync_config_settle_s(cfg) * 1000;
    ctx->api_share = sync_config_api_limit_share(cfg);
    ctx->max_attempts = PUSH_MAX_ATTEMPTS;
    ctx->parallel = sync_config_parallel(cfg);
    int limit_s = ctx->opts->version >= 3 && ctx->opts->max_run_seconds > 0
                      ? ctx->opts->max_run_seconds
                      : sync_config_max_run_s(cfg);
    ctx->deadline_ms = limit_s > 0 ? time_now_ms() + (int64_t)limit_s * 1000 : 0; /* I5 */
    return SFA_OK;
}

static void new_run_id(char out[48])
{
    backoff_rng rng;
    backoff_rng_seed(&rng, 0);
    snprintf(out, 48, "run-%lld-%016llx", (long long)time_now_ms(),
             (unsigned long long)backoff_rng_next(&rng));
}

/* Ops that reached a final state in this run so far. */
static size_t final_count(const sfa_sync_report *r)
{
    return r->done + r->dead + r->conflict;
}

/* Everything after the lease: pause check, client, resolution, rounds. */
static void run_locked(push_ctx *ctx)
{
    int64_t until = 0;
    char *reason = NULL;
    sfa_status st = store_pause_get(ctx->agent, &until, &reason, NULL);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not read the pause: %s", sfa_agent_errmsg(ctx->agent));
        return;
    }
    bool idle = ctx->total == 0 && ctx->inflight_at_start == 0;
    int64_t now = time_now_ms();
    if (until - now > push_pause_cap_ms(ctx)) { /* pause.c I3 */
        char when[32];
        time_format_sf(until, when);
        log_warn("ignoring the pause until %s: further ahead than any pause a run sets (was the"
                 " clock ahead?)",
                 when);
        until = 0;
    }
    if (until > now && !ctx->opts->ignore_pause && !idle && push_pause_holds(ctx, reason)) {
        char when[32];
        time_format_sf(until, when);
        push_stop(ctx, SFA_ERETRY, "backing off until %s (%s)", when, reason ? reason : "");
        free(reason);
        return;
    }
    free(reason);
    char *err = NULL;
    if (sf_client_new(&ctx->client, ctx->cfg, &err) != SFA_OK) {
        push_stop(ctx, SFA_ECONFIG, "%s", err ? err : "cannot build the Salesforce client");
        free(err);
        return;
    }
    push_watch_cancel(ctx);
    size_t moved = 0;
    st = store_outbox_due_beyond(ctx->agent, now, push_backoff_horizon_ms(ctx), &moved);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not reschedule ops: %s", sfa_agent_errmsg(ctx->agent));
        return;
    }
    if (moved > 0)
        log_warn("%zu op(s) were scheduled further ahead than any backoff (was the clock"
                 " ahead?): they are due now",
                 moved);
    st = push_resolve_inflight(ctx, NULL);
    if (st != SFA_OK) /* the code as it came: a database failure is not an I/O error */
        push_stop(ctx, st, "could not resolve inflight ops: %s", sfa_agent_errmsg(ctx->agent));
    size_t blocked = 0;
    if (!ctx->stop && (st = store_outbox_note_blocked(ctx->agent, &blocked)) != SFA_OK)
        push_stop(ctx, st, "could not note blocked ops: %s", sfa_agent_errmsg(ctx->agent));
    ctx->report->parked += blocked;
    while (!ctx->stop) {
        size_t sent_before = ctx->report->sent;
        size_t final_before = final_count(ctx->report);
        int64_t cursor = 0;
        ctx->raced = false;
        while (!push_out_of_time(ctx) && round_page(ctx, &cursor))
            ;
        push_drain(ctx); /* push_jobs.c J4: a round ends with nothing in flight */
        if (ctx->report->time_limited)
            break; /* I5: the rest is pending for the next run */
        /* I4: nothing more is eligible, or nothing reached a final state (what was sent
         * waits for its backoff or its resolution); a raced op gets another round. */
        bool progress = final_count(ctx->report) > final_before;
        if ((ctx->report->sent == sent_before || !progress) && !ctx->raced)
            break;
        if (ctx->round + 1 >= PUSH_MAX_ROUNDS)
            break;
        if (ctx->opts->max_ops && ctx->claimed >= ctx->opts->max_ops)
            break;
        ctx->round++;
    }
    /* Salesforce answered: no run-level backoff */
    if (!ctx->stop && ctx->answered && (st = store_pause_set(ctx->agent, 0, NULL, NULL)) != SFA_OK)
        push_stop(ctx, st, "could not clear the pause: %s", sfa_agent_errmsg(ctx->agent));
}

static sfa_status final_status(push_ctx *ctx)
{
    sfa_sync_report *r = ctx->report;
    sfa_status st = store_outbox_pending_info(ctx->agent, &r->pending_left, &r->inflight_left,
                                              &r->next_attempt_ms);
    if (st == SFA_OK)
        st = store_outbox_count_state(&r->dead_total, ctx->agent, "dead");
    if (st == SFA_OK)
        st = store_outbox_count_state(&r->conflict_total, ctx->agent, "conflict");
    if (r->pending_left == 0)
        r->next_attempt_ms = 0;
    /* Counts that could not be read cannot say "all done". */
    if (st != SFA_OK)
        push_stop(ctx, st, "could not count the outbox: %s", sfa_agent_errmsg(ctx->agent));
    if (ctx->stop)
        return ctx->stop_status;
    /* Dead or conflicting ops need a person; that outranks "try again later" (their
     * parked dependants stay pending until the person acts). */
    if (r->dead_total + r->conflict_total > 0)
        return SFA_EPARTIAL;
    if (r->pending_left + r->inflight_left > 0)
        return SFA_ERETRY;
    return SFA_OK;
}

/* Pull after push (docs/sync-protocol.md#pull), under the same run lease, unless the
 * push stopped early: whatever stopped it (offline, limit, auth, local database) would
 * stop the pull too. */
static void run_pull(push_ctx *ctx)
{
    if (ctx->stop || push_out_of_time(ctx)) /* I5 */
        return;
    char *err = NULL;
    if (!ctx->client && sf_client_new(&ctx->client, ctx->cfg, &err) != SFA_OK) {
        push_stop(ctx, SFA_ECONFIG, "%s", err ? err : "cannot build the Salesforce client");
        free(err);
        return;
    }
    push_watch_cancel(ctx);
    /* Describe at most once per [sync] describe_max_age: pull's default field list and the
     * offline validator read it; a failure only warns, the cached one stays usable. */
    if (sync_describe_refresh_stale(ctx->agent, ctx->client, ctx->cfg) != SFA_OK)
        log_warn("describe refresh: %s", sfa_agent_errmsg(ctx->agent));
    int batch = ctx->opts->version >= 2 ? ctx->opts->pull_batch_size : 0;
    char msg[256] = "";
    sfa_status st = sync_pull_run(ctx->agent, ctx->cfg, ctx->client, batch, ctx->api_share,
                                  ctx->report, msg, sizeof msg);
    if (st == SFA_ENETWORK)
        st = SFA_ERETRY; /* offline: nothing lost, the next run pulls */
    if (st != SFA_OK)
        push_stop(ctx, st, "%s", msg);
}

/* Debug and test builds check the outbox invariants after every run. */
static void assert_invariants(sfa_agent *agent)
{
#ifndef NDEBUG
    char *why = NULL;
    if (!store_check_invariants(agent, &why)) {
        log_error("outbox invariant broken after a sync run: %s", why ? why : "?");
        assert(!"outbox invariant broken");
    }
    free(why);
#else
    (void)agent;
#endif
}

sfa_status sfa_sync_run(sfa_sync_report *out, sfa_agent *agent, const sfa_config *cfg,
                        const sfa_sync_options *opts)
{
    static const sfa_sync_options defaults = SFA_SYNC_OPTIONS_INIT;
    if (!out)
        return SFA_EINVAL;
    memset(out, 0, sizeof *out);
    if (!agent || !cfg)
        return SFA_EINVAL;
    int64_t start = time_now_ms();
    push_ctx ctx = {0};
    ctx.agent = agent;
    ctx.cfg = cfg;
    ctx.report = out;
    ctx.opts = opts ? opts : &defaults;
    backoff_rng_seed(&ctx.rng, ctx.opts->seed);
    new_run_id(ctx.run_id);
    char err[256];
    sfa_status rc = read_config(&ctx, cfg, err, sizeof err);
    if (rc != SFA_OK) {
        snprintf(out->message, sizeof out->message, "%s", err);
        return store_fail(agent, rc, "%s", err);
    }
    if (ctx.opts->version >= 5 && ctx.opts->apply_indexes)
        sync_index_apply_declared(agent, cfg); /* before the lease: no network, no outbox */
    rc = store_lease_acquire(agent, ctx.run_id, STORE_LEASE_MS);
    if (rc != SFA_OK) {
        /* Nothing was claimed or sent: another run owns the outbox right now. */
        snprintf(out->message, sizeof out->message, "%s", sfa_agent_errmsg(agent));
        return rc;
    }
    CRASH_POINT("push.after_lease");
    int64_t due = 0;
    rc = store_outbox_pending_info(agent, &ctx.total, &ctx.inflight_at_start, &due);
    bool pull_only = ctx.opts->version >= 2 && ctx.opts->pull_only;
    if (rc != SFA_OK)
        push_stop(&ctx, rc, "could not count the outbox: %s", sfa_agent_errmsg(agent));
    else if (!pull_only)
        run_locked(&ctx);
    sync_run_end end = {.push_ok = rc == SFA_OK && !pull_only && !ctx.stop};
    if (!ctx.opts->push_only)
        run_pull(&ctx);
    end.pull_ok = !ctx.opts->push_only && !ctx.stop && !out->time_limited;
    end.stopped = ctx.stop;
    rc = final_status(&ctx);
    assert_invariants(agent);
    store_lease_release(agent, ctx.run_id);
    out->api_calls = ctx.client ? sf_client_requests_made(ctx.client) : 0;
    out->bytes_sent = ctx.client ? sf_client_bytes_sent(ctx.client) : 0;
    out->bytes_received = ctx.client ? sf_client_bytes_received(ctx.client) : 0;
    out->elapsed_ms = time_now_ms() - start;
    end.status = rc;
    end.api_used = ctx.client ? sf_client_api_used(ctx.client) : -1;
    end.api_max = ctx.client ? sf_client_api_max(ctx.client) : -1;
    end.instance_url = ctx.client ? sf_client_instance_url(ctx.client) : NULL;
    rc = sync_health_note_run(agent, out, &end); /* `status` history + summary line */
    sf_client_free(ctx.client);
    for (size_t i = 0; i < ctx.nkeys; i++)
        free(ctx.keys[i].sobject);
    free(ctx.keys);
    free(ctx.lost);
    if (rc != SFA_OK && rc != SFA_EPARTIAL && rc != SFA_ERETRY && out->message[0])
        store_fail(agent, rc, "%s", out->message);
    return rc;
}
