/* Batches in flight: up to [sync] parallel claimed batches ("jobs") have a request on the
 * wire at once, on the client's one libcurl multi handle (sync/client/sf_client_multi.c).
 * Everything else stays on the engine's thread and in the order it had with one batch at
 * a time: claim (committed) before the first request, the sender's reading of each answer,
 * one results transaction per batch, the lease renewal after it.
 *
 * Batches are independent: a round's batches hold different records (only a record's
 * oldest open op is ever ready, and a claimed op is inflight, so no later page returns
 * it), and a child whose parent is still being created is held back to a later round
 * (push.c), so parents still go before children.
 *
 * Invariants:
 *   J1. (push.c I1) A job's first request starts only after its claim committed.
 *   J2. At most ctx->parallel jobs are in flight; a new batch is claimed only when one
 *       slot is free, so a run-level stop (offline, API limit, authentication, local
 *       database) claims nothing more, and every job in flight is still collected: its
 *       answer read and its results written (undecided ops released, push.c I2).
 *   J3. Lost answers are resolved (reconcile.c) only when no job is in flight: the query
 *       by key must not see, or decide, ops whose own request has not answered yet.
 *   J4. The run ends, and a round is counted, only with nothing in flight (push_drain).
 *   J5. (push.c I3) The API share counts the requests in flight as used, and until an
 *       answer of this run has told the org's usage, one job at a time: a run never
 *       spends more than one request past the share it was told.
 *   J6. While a job waits for an answer, and while a page's ops wait for a slot (push.c),
 *       their fields are held as text, not as a tree (docs/sync-protocol.md#memory): a
 *       tree of a few fields costs about five times its text, and [sync] parallel jobs
 *       wait at once. The tree is rebuilt, exactly (json_parse_exact keeps number
 *       literals), before a batch starts; an answer is handed to its sender with the fields
 *       still text, and a sender that reads or sends them rebuilds them first
 *       (push_ops_unpack), so the answer's tree and the batch's trees are not all held at
 *       once; the results are written with the trees, rebuilt after the answer is freed.
 *       They are packed again only when a sender starts another request.
 *       Starting a batch (push_*_begin) never changes an op's fields, so the text read at
 *       the start is kept and reused when the batch waits (asserted); answers may change
 *       them (a server-wins conflict drops fields), so the text is dropped there.
 *   J7. A waiting job whose ops are all still undecided holds them as one block of bytes
 *       (push_pack.c), unpacked before its answer is handed to its sender; senders keep
 *       no pointer into a job's ops across a wait (push_pack.c P3).
 *   J8. An answer is held once: as a tree, or, for a sender that started its request
 *       with push_start_text (a composite of creates, updates or deletes), as the text it
 *       walks in place (push_answer.c), never both.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/op.h"
#include "store/run.h"
#include "store/store.h"
#include "sync/engine/push.h"
#include "sync/engine/reconcile.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/crashpoint.h"
#include "util/log.h"

static bool start(push_ctx *ctx, push_job *job, const char *method, const char *path,
                  const cJSON *body, bool text, push_answer_fn answer)
{
    sf_response resp;
    memset(&resp, 0, sizeof resp);
    resp.outcome = SF_NOT_SENT;
    if (!push_limit_ok(ctx)) /* I3 */
        return false;
    long before = sf_client_requests_made(ctx->client);
    sfa_status rc = text ? sf_client_start_text(ctx->client, method, path, body, job, &resp)
                         : sf_client_start(ctx->client, method, path, body, job, &resp);
    if (rc != SFA_OK) /* nothing left the machine: counted and the run stopped */
        push_account(ctx, job, rc, &resp, before);
    sf_response_free(&resp);
    job->answer = answer;
    job->text = text;
    return rc == SFA_OK;
}

bool push_start(push_ctx *ctx, push_job *job, const char *method, const char *path,
                const cJSON *body, push_answer_fn answer)
{
    return start(ctx, job, method, path, body, false, answer);
}

bool push_start_text(push_ctx *ctx, push_job *job, const char *method, const char *path,
                     const cJSON *body, push_answer_fn answer)
{
    return start(ctx, job, method, path, body, true, answer);
}

static void progress(push_ctx *ctx)
{
    if (ctx->opts->progress)
        ctx->opts->progress(ctx->report->done, ctx->total, ctx->opts->progress_ctx);
}

static void job_free(push_job *job)
{
    free(job->packed);
    store_ops_free(job->ops, job->n);
    free(job);
}

/* The job is complete: write its results (push.c I2, I4) and renew the lease. */
static void finish(push_ctx *ctx, push_job *job)
{
    store_op *ops = job->ops;
    size_t m = job->n;
    if (job->out > 0) /* offline: claimed, released, never sent */
        ctx->report->sent += m;
    for (size_t i = 0; i < m; i++) {
        if (ops[i].outcome == STORE_OUT_NONE) /* I2: undecided = not sent */
            store_op_set(&ops[i], STORE_OUT_RELEASE, NULL, NULL);
        if (ops[i].outcome == STORE_OUT_INFLIGHT) { /* I4 */
            ctx->need_resolve = true;
            ctx->lost = xrealloc(ctx->lost, (ctx->nlost + 1) * sizeof *ctx->lost);
            ctx->lost[ctx->nlost++] = ops[i].seq;
        }
    }
    /* A failure here leaves the batch inflight: the next run resolves it by key. */
    sfa_status st = push_write_results(ctx, ops, m);
    if (st != SFA_OK)
        push_stop(ctx, st, "could not record results: %s", sfa_agent_errmsg(ctx->agent));
    else if (!ctx->stop && store_lease_renew(ctx->agent, ctx->run_id, STORE_LEASE_MS) != SFA_OK)
        push_stop(ctx, SFA_EBUSY, "lost the sync lease: %s", sfa_agent_errmsg(ctx->agent));
    job_free(job);
    progress(ctx);
}

void push_ops_pack(store_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].fields)
            continue;
        if (ops[i].fields_packed) { /* kept by push_ops_unpack(..., true): still the tree's */
#ifndef NDEBUG
            char *now = json_print(ops[i].fields);
            assert(strcmp(now, ops[i].fields_packed) == 0);
            free(now);
#endif
        } else {
            ops[i].fields_packed = json_print(ops[i].fields);
        }
        cJSON_Delete(ops[i].fields);
        ops[i].fields = NULL;
    }
}

/* Text this process printed from a parsed object parses back into the same object. */
void push_ops_unpack(store_op *ops, size_t n, bool keep_text)
{
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].fields_packed || ops[i].fields)
            continue;
        const char *err = NULL;
        ops[i].fields = json_parse_exact(ops[i].fields_packed, strlen(ops[i].fields_packed), &err);
        if (!ops[i].fields) /* only out of memory gets here, and allocation aborts (STYLE 7):
                               going on would send or record the op without its fields */
            abort();
        if (!keep_text) {
            free(ops[i].fields_packed);
            ops[i].fields_packed = NULL;
        }
    }
}

/* Wait for one answer and hand it to its job's sender. */
static void wait_one(push_ctx *ctx)
{
    void *tag = NULL;
    sf_response resp;
    long before = sf_client_requests_made(ctx->client);
    sfa_status rc = sf_client_next(ctx->client, &tag, &resp);
    push_job *job = tag;
    if (!job) { /* nothing in flight: a bug in the bookkeeping, not a network state */
        sf_response_free(&resp);
        return;
    }
    push_account(ctx, job, rc, &resp, before);
    /* J8: a sender reads the parsed tree or, when it asked for text, the text; the other
     * is dropped before the answer's results are written, while the other batches are
     * still in flight. */
    if (!job->text || resp.json) {
        free(resp.body);
        resp.body = NULL;
        resp.body_len = 0;
    }
    ctx->cur_job = job;
    push_job_unpack(job); /* J7; the fields stay text until a sender reads them (J6) */
    bool again = job->answer(ctx, job, rc, &resp);
    ctx->cur_job = NULL;
    sf_response_free(&resp);
    if (again) {
        push_ops_pack(job->ops, job->n); /* J6: waiting again */
        push_job_pack(job);              /* J7 */
    } else {
        push_ops_unpack(job->ops, job->n, false); /* J6: the results, once the answer is gone */
        finish(ctx, job);
    }
}

void push_drain(push_ctx *ctx)
{
    while (ctx->client && sf_client_in_flight(ctx->client) > 0) /* J4 */
        wait_one(ctx);
    if (!ctx->need_resolve || ctx->stop)
        return;
    ctx->need_resolve = false;
    /* J3. A lost answer: find out now by key, if Salesforce is still reachable. */
    sfa_status st = push_resolve_inflight(ctx, ctx->run_id);
    if (st != SFA_OK)
        push_stop(ctx, st, "could not resolve unknown outcomes: %s", sfa_agent_errmsg(ctx->agent));
}

/* Claimed ops to the front of ops[0..n); returns how many. Ops that changed since they
 * were read stay behind (next round). */
static size_t keep_claimed(push_ctx *ctx, store_op *ops, size_t n, const bool *claimed)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!claimed[i]) {
            ctx->raced = true;
            continue;
        }
        if (m != i) {
            store_op t = ops[m];
            ops[m] = ops[i];
            ops[i] = t;
        }
        m++;
    }
    return m;
}

static bool begin(push_ctx *ctx, push_job *job)
{
    const char *kind = job->ops[0].kind;
    if (strcmp(kind, "create") == 0 || strcmp(kind, "upsert") == 0)
        return push_creates_begin(ctx, job);
    if (strcmp(kind, "update") == 0)
        return push_updates_begin(ctx, job);
    return push_deletes_begin(ctx, job);
}

/* Jobs allowed in flight now (J2, J5). */
static size_t slots(const push_ctx *ctx)
{
    bool usage_known = sf_client_api_used(ctx->client) >= 0 && sf_client_api_max(ctx->client) > 0;
    return usage_known ? (size_t)ctx->parallel : 1;
}

bool push_slot_free(const push_ctx *ctx)
{
    return sf_client_in_flight(ctx->client) < slots(ctx);
}

void push_wait_slot(push_ctx *ctx)
{
    while (!ctx->stop && sf_client_in_flight(ctx->client) >= slots(ctx)) /* J2, J5 */
        wait_one(ctx);
}

void push_send_batch(push_ctx *ctx, store_op *ops, size_t n)
{
    push_wait_slot(ctx);
    if (ctx->need_resolve) /* J3 */
        push_drain(ctx);
    if (ctx->stop || push_out_of_time(ctx)) /* push.c I5: checked when the claim would be */
        return;
    bool *claimed = xcalloc(n, sizeof *claimed);
    sfa_status st = store_outbox_claim(ctx->agent, ctx->run_id, ops, n, claimed);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not claim ops: %s", sfa_agent_errmsg(ctx->agent));
        free(claimed);
        return;
    }
    size_t m = keep_claimed(ctx, ops, n, claimed);
    free(claimed);
    if (m == 0)
        return;
    /* The column text served the claim's "unchanged since read" check and nothing after
     * it; up to [sync] parallel batches sit in flight, so do not carry it there. */
    for (size_t i = 0; i < m; i++) {
        free(ops[i].fields_raw);
        ops[i].fields_raw = NULL;
    }
    ctx->claimed += m;
    CRASH_POINT("push.after_claim");
    push_job *job = xcalloc(1, sizeof *job);
    job->ops = xcalloc(m, sizeof *job->ops);
    memcpy(job->ops, ops, m * sizeof *ops); /* ownership moves to the job */
    memset(ops, 0, m * sizeof *ops);
    job->n = m;
    push_ops_unpack(job->ops, job->n, true); /* J6: starting changes no fields */
    ctx->cur_job = job;
    bool in_flight = begin(ctx, job); /* J1 */
    ctx->cur_job = NULL;
    if (in_flight) {
        push_ops_pack(job->ops, job->n); /* J6 */
        push_job_pack(job);              /* J7 */
    } else {
        finish(ctx, job);
    }
}
