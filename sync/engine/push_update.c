/* Sending updates, up to PUSH_UPDATE_BATCH_MAX (800) per batch: one sObject Collections
 * retrieve with a request body (POST, up to 2,000 Ids) reads the batch's current server
 * values (the conflict check), then one /composite request holds up to four Collections
 * PATCHes of 200 (only the fields each op changes) and a query that reads back the new
 * SystemModstamp of all of them.
 *
 * The check and the PATCH cannot share one composite request: what is sent depends on
 * what the check finds. So an update batch costs two API calls per 800 records (one when
 * no op of the batch has a base version to check against).
 *
 * Conflict (three-way, per field): the server holds a value for a changed field that is
 * neither the local value nor the base value the edit started from. Policies:
 * local-wins sends anyway; server-wins drops those fields (the mirror takes the server
 * values); manual parks the op in state conflict with the server values recorded and
 * the op's base moved to the server version, so `outbox retry` re-sends (local wins)
 * and `outbox discard` keeps the server's values.
 *
 * Invariants:
 *   I1. Every conflict is logged, whatever the policy.
 *   I2. Only fields the op changes are sent; a field dropped by server-wins is not.
 *   I3. After an update is done, every field it touched holds Salesforce's value in the
 *       mirror: the sent value, or the server's where server-wins dropped the local one.
 *   I4. SystemModstamp is a hint, never the decision: an unchanged stamp does not prove
 *       an unchanged record (one-second resolution, docs/salesforce.md).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sfid.h"
#include "store/op.h"
#include "sync/engine/build.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"
#include "sync/engine/push_answer.h"

/* The check: POST /composite/sobjects/<Object> {"ids", "fields"} reads up to 2,000
 * records in one call (docs/salesforce.md#sobject-collections), where a GET's URL holds
 * about 800 Ids. Fields: Id, SystemModstamp and the union of the fields the ops change
 * (names come from the store, which checked their syntax). */
static cJSON *retrieve_body(const store_op *ops, size_t n)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *ids = cJSON_AddArrayToObject(body, "ids");
    cJSON *fields = cJSON_AddArrayToObject(body, "fields");
    cJSON_AddItemToArray(fields, cJSON_CreateString("Id"));
    cJSON_AddItemToArray(fields, cJSON_CreateString("SystemModstamp"));
    cJSON *seen = cJSON_CreateObject(); /* field names already listed */
    cJSON_AddNullToObject(seen, "Id");
    cJSON_AddNullToObject(seen, "SystemModstamp");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(ids, cJSON_CreateString(ops[i].sf_id));
        const cJSON *f;
        cJSON_ArrayForEach(f, ops[i].fields)
        {
            if (cJSON_GetObjectItemCaseSensitive(seen, f->string))
                continue;
            cJSON_AddNullToObject(seen, f->string);
            cJSON_AddItemToArray(fields, cJSON_CreateString(f->string));
        }
    }
    cJSON_Delete(seen);
    return body;
}

static bool same_value(const cJSON *a, const cJSON *b)
{
    if (!a || cJSON_IsNull(a))
        return !b || cJSON_IsNull(b);
    return b && json_same_value(a, b); /* op fields hold exact Raw numbers */
}

/* Three-way, per field, against the base each field's edit started from (the op's
 * base_fields, store/records.c I6): a conflict is a server value that is neither the local
 * value nor that base. A pull may have moved the record's base since; this does not care. */
static sfa_status conflicts_by_op_base(cJSON **out, const store_op *op, const cJSON *server)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, op->fields)
    {
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(server, f->string);
        const cJSON *bv = cJSON_GetObjectItem(op->base_fields, f->string);
        if (same_value(sv, f) || (bv && same_value(sv, bv)))
            continue;
        if (!*out)
            *out = cJSON_CreateObject();
        cJSON_AddItemToObject(*out, f->string, sv ? cJSON_Duplicate(sv, true) : cJSON_CreateNull());
    }
    return SFA_OK;
}

/* Fields of op that conflict with server (an object of field -> server value), or NULL.
 * Decided by values, not by SystemModstamp: Salesforce stamps to the second, so an edit
 * in the same second as the base shows the base's stamp (I4). */
static sfa_status conflicting_fields(cJSON **out, push_ctx *ctx, const store_op *op,
                                     const cJSON *server)
{
    *out = NULL;
    if (op->base_fields)
        return conflicts_by_op_base(out, op, server);
    if (!op->base_modstamp)
        return SFA_OK; /* no known base version: nothing to compare against */
    char *rec_ms = NULL;
    cJSON *base = NULL;
    sfa_status st = store_record_base(&base, ctx->agent, op->local_id, &rec_ms);
    if (st != SFA_OK)
        return st;
    /* The mirror's base is the edit's base only if no pull replaced it since. */
    bool base_known = rec_ms && strcmp(rec_ms, op->base_modstamp) == 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, op->fields)
    {
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(server, f->string);
        if (same_value(sv, f))
            continue;
        if (base_known && same_value(sv, cJSON_GetObjectItemCaseSensitive(base, f->string)))
            continue; /* only we changed it */
        if (!*out)
            *out = cJSON_CreateObject();
        cJSON_AddItemToObject(*out, f->string, sv ? cJSON_Duplicate(sv, true) : cJSON_CreateNull());
    }
    cJSON_Delete(base);
    free(rec_ms);
    return SFA_OK;
}

static void log_conflict(push_ctx *ctx, const store_op *op, const cJSON *conflicts,
                         const char *decision)
{
    char *txt = json_print(conflicts);
    char *mine = json_print(op->fields);
    log_warn("conflict on %s %s (op %s): Salesforce has %s, local change %s; %s", op->sobject,
             op->local_id, op->op_id, txt, mine, decision);
    free(mine);
    free(txt);
    ctx->report->conflicts_logged++; /* I1 */
}

/* Apply the policy; returns true when the op is still to be sent. A failed read of the
 * local database stops the run and leaves the op undecided (released, not sent). */
static bool decide(push_ctx *ctx, store_op *op, const cJSON *server)
{
    cJSON *conflicts = NULL;
    sfa_status st = conflicting_fields(&conflicts, ctx, op, server);
    if (st != SFA_OK) {
        push_stop(ctx, st, "could not read the base of %s: %s", op->local_id,
                  sfa_agent_errmsg(ctx->agent));
        return false;
    }
    if (!conflicts)
        return true;
    const char *server_ms = json_str(server, "SystemModstamp");
    bool send = true;
    if (ctx->policy == SYNC_CONFLICT_LOCAL_WINS) {
        log_conflict(ctx, op, conflicts, "local wins (sent)");
    } else if (ctx->policy == SYNC_CONFLICT_SERVER_WINS) {
        log_conflict(ctx, op, conflicts, "server wins (local change dropped)");
        const cJSON *f;
        cJSON_ArrayForEach(f, conflicts)
            cJSON_DeleteItemFromObjectCaseSensitive(op->fields, f->string);
        op->server = cJSON_Duplicate(conflicts, true);
        cJSON_AddStringToObject(op->server, "SystemModstamp", server_ms);
        send = op->fields->child != NULL; /* I2 */
        if (!send)
            store_op_set(op, STORE_OUT_DONE, NULL, NULL);
    } else {
        log_conflict(ctx, op, conflicts, "parked for a decision (manual policy)");
        char *txt = json_print(conflicts);
        char *msg = xasprintf("changed on Salesforce too: server has %s; `sfagent outbox retry"
                              " %s` sends the local value, `sfagent outbox discard %s` keeps"
                              " Salesforce's",
                              txt, op->op_id, op->op_id);
        store_op_set(op, STORE_OUT_CONFLICT, "CONFLICT", msg);
        op->server = cJSON_Duplicate(conflicts, true);
        cJSON_AddStringToObject(op->server, "SystemModstamp", server_ms);
        op->new_base_modstamp = xstrdup(server_ms);
        free(msg);
        free(txt);
        send = false;
    }
    cJSON_Delete(conflicts);
    return send;
}

/* Step 1's answer: the check. Returns false when the batch was decided by a failure. */
static bool read_check(push_ctx *ctx, store_op *ops, size_t n, bool *send, sfa_status rc,
                       sf_response *resp)
{
    bool ok = false;
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(resp);
        if (cls == PUSH_RESP_OK && cJSON_IsArray(resp->json)) {
            ok = true;
            for (size_t i = 0; i < n; i++) {
                const cJSON *server = cJSON_GetArrayItem(resp->json, (int)i);
                if (!cJSON_IsObject(server)) {
                    /* null slot: deleted on the server or not visible to this user */
                    store_op_set(&ops[i], STORE_OUT_DEAD, "ENTITY_IS_DELETED",
                                 "the record is deleted on Salesforce or not visible");
                    send[i] = false;
                } else {
                    send[i] = decide(ctx, &ops[i], server);
                }
            }
        } else {
            /* Nothing was changed by a read: an unknown outcome is simply not sent. */
            push_apply_response_class(ctx, ops, n,
                                      cls == PUSH_RESP_UNKNOWN ? PUSH_RESP_TRANSIENT : cls, resp);
        }
    }
    return ok;
}

static cJSON *patch_body(const store_op *ops, size_t n)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allOrNone", false);
    strbuf records = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        cJSON *rec = cJSON_Duplicate(ops[i].fields, true);
        cJSON *attrs = cJSON_CreateObject();
        cJSON_AddStringToObject(attrs, "type", ops[i].sobject);
        cJSON_AddItemToObject(rec, "attributes", attrs);
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "Id");
        cJSON_AddStringToObject(rec, "id", ops[i].sf_id);
        push_records_add(&records, rec); /* one record's tree at a time */
    }
    cJSON_AddItemToObject(body, "records", push_records_item(&records));
    return body;
}

/* Add the read-back row (Id, SystemModstamp) to what the check already recorded: the
 * server values of fields server-wins dropped must reach the mirror too, or the local
 * view would keep the losing local value of a record marked synced (I3). */
static void take_read_back(store_op *op, const cJSON *row)
{
    if (!op->server)
        op->server = cJSON_CreateObject();
    const cJSON *f;
    cJSON_ArrayForEach(f, row)
    {
        if (strcmp(f->string, "attributes") == 0)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(op->server, f->string);
        cJSON_AddItemToObject(op->server, f->string, cJSON_Duplicate(f, true));
    }
}

static size_t chunk_len(size_t m, size_t c)
{
    size_t off = c * PUSH_BATCH_MAX;
    return m - off < PUSH_BATCH_MAX ? m - off : PUSH_BATCH_MAX;
}

static void chunk_ref(char ref[24], size_t c)
{
    snprintf(ref, 24, c ? "patch%zu" : "patch", c);
}

/* The read-back row of each done op into it. */
static void take_rows(store_op *ops, size_t m, const cJSON *rows)
{
    for (size_t i = 0; i < m; i++) {
        if (ops[i].outcome != STORE_OUT_DONE)
            continue;
        const cJSON *row;
        cJSON_ArrayForEach(row, rows)
        {
            const char *id = json_str(row, "Id");
            if (id && sfid_equal(id, ops[i].sf_id)) {
                take_read_back(&ops[i], row);
                break;
            }
        }
    }
}

/* The composite answer for the sent ops ops[0..m), read in place (push_answer.c): the
 * per-record results of each PATCH of up to 200, read like a create's or a delete's
 * (push.c), one PATCH's at a time; a PATCH that failed as a whole decides its own ops
 * only; the read-back rows go into the ops that are done. */
static void read_answer(push_ctx *ctx, store_op *ops, size_t m, json_span answer)
{
    enum { MAX_CHUNKS = PUSH_UPDATE_BATCH_MAX / PUSH_BATCH_MAX };
    size_t nchunks = (m + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    char names[MAX_CHUNKS][24];
    const char *refs[MAX_CHUNKS + 1];
    json_span subs[MAX_CHUNKS + 1];
    for (size_t c = 0; c < nchunks; c++) {
        chunk_ref(names[c], c);
        refs[c] = names[c];
    }
    refs[nchunks] = "after";
    push_answer_subs(answer, refs, nchunks + 1, subs);
    for (size_t c = 0; c < nchunks; c++) {
        store_op *part = ops + c * PUSH_BATCH_MAX;
        size_t len = chunk_len(m, c);
        cJSON *sub = push_answer_tree(subs[c]);
        const cJSON *results = push_sub_records(sub);
        if (!results)
            push_apply_sub_failure(ctx, part, len, sub);
        for (size_t i = 0; results && i < len; i++)
            push_apply_result_at(ctx, &part[i], results, i);
        cJSON_Delete(sub);
    }
    cJSON *after = push_answer_tree(subs[nchunks]);
    take_rows(ops, m,
              cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(after, "body"),
                                               "records"));
    cJSON_Delete(after);
}

/* An update job between its two requests. */
typedef struct update_state {
    bool *send; /* per op: still to be sent after the check */
    size_t m;   /* ops[0..m) are the ones sent (start_patch moves them to the front) */
} update_state;

static void state_free(push_job *job)
{
    update_state *us = job->state;
    if (us) {
        free(us->send);
        free(us);
    }
    job->state = NULL;
}

/* Step 2's answer. */
static bool patch_answer(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    CRASH_POINT("push.after_response");
    push_ops_unpack(job->ops, job->n, false); /* push_jobs.c J6 */
    update_state *us = job->state;
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(resp);
        json_span answer;
        if (cls == PUSH_RESP_OK && push_answer_object(resp, &answer)) {
            read_answer(ctx, job->ops, us->m, answer);
        } else {
            /* Ops not sent were decided by the check; the class applies to the rest. */
            push_apply_response_class(ctx, job->ops, job->n,
                                      cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls, resp);
        }
    }
    state_free(job);
    return false;
}

/* One composite: up to four Collections PATCHes of PUSH_BATCH_MAX over ops[0..m) and a
 * query that reads back their SystemModstamp (5 Collections/query subrequests at most). */
static cJSON *patch_composite(push_ctx *ctx, const store_op *ops, size_t m)
{
    const char *ver = sf_client_api_version(ctx->client);
    char *url = xasprintf("/services/data/%s/composite/sobjects", ver);
    const char **ids = xcalloc(m, sizeof *ids);
    for (size_t i = 0; i < m; i++)
        ids[i] = ops[i].sf_id;
    char *soql = push_soql_in("Id, SystemModstamp", ops[0].sobject, "Id", ids, m);
    char *q_url = push_query_path(ver, soql);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allOrNone", false);
    cJSON_AddBoolToObject(body, "collateSubrequests", false);
    cJSON *subs = cJSON_AddArrayToObject(body, "compositeRequest");
    size_t nchunks = (m + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    for (size_t c = 0; c < nchunks; c++) {
        char ref[24];
        chunk_ref(ref, c);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "method", "PATCH");
        cJSON_AddStringToObject(p, "url", url);
        cJSON_AddStringToObject(p, "referenceId", ref);
        cJSON_AddItemToObject(p, "body", patch_body(ops + c * PUSH_BATCH_MAX, chunk_len(m, c)));
        cJSON_AddItemToArray(subs, p);
    }
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "method", "GET");
    cJSON_AddStringToObject(q, "url", q_url);
    cJSON_AddStringToObject(q, "referenceId", "after");
    cJSON_AddItemToArray(subs, q);
    free(q_url);
    free(soql);
    free(ids);
    free(url);
    return body;
}

/* Step 2: the PATCHes plus the read-back in one composite request. The ops to send move
 * to the front of the job (their order is free: different records), so each PATCH is a
 * slice. True when it is in flight; false when there was nothing to send or it could not
 * go out. */
static bool start_patch(push_ctx *ctx, push_job *job)
{
    update_state *us = job->state;
    us->m = 0;
    for (size_t i = 0; i < job->n; i++)
        if (us->send[i]) {
            store_op t = job->ops[us->m];
            job->ops[us->m] = job->ops[i];
            job->ops[i] = t;
            bool bt = us->send[us->m];
            us->send[us->m] = us->send[i];
            us->send[i] = bt;
            us->m++;
        }
    bool started = false;
    if (us->m > 0 && !ctx->stop) {
        cJSON *body = patch_composite(ctx, job->ops, us->m);
        started = push_start_text(ctx, job, "POST", "composite", body, patch_answer);
        cJSON_Delete(body);
    }
    if (!started)
        state_free(job);
    return started;
}

/* Step 1's answer: decide each op, then the PATCH. */
static bool check_answer(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    push_ops_unpack(job->ops, job->n, false); /* push_jobs.c J6: compared with the server's */
    update_state *us = job->state;
    if (read_check(ctx, job->ops, job->n, us->send, rc, resp) && !ctx->stop)
        return start_patch(ctx, job);
    state_free(job);
    return false;
}

bool push_updates_begin(push_ctx *ctx, push_job *job)
{
    update_state *us = xcalloc(1, sizeof *us);
    us->send = xcalloc(job->n, sizeof *us->send);
    job->state = us;
    /* Without a known base version no conflict can be detected: skip the check call. */
    bool any_base = false;
    for (size_t i = 0; i < job->n; i++)
        any_base |= job->ops[i].base_modstamp != NULL;
    if (!any_base) {
        for (size_t i = 0; i < job->n; i++)
            us->send[i] = true;
        return start_patch(ctx, job);
    }
    char *path = xasprintf("composite/sobjects/%s", job->ops[0].sobject);
    cJSON *body = retrieve_body(job->ops, job->n);
    bool started = push_start(ctx, job, "POST", path, body, check_answer);
    cJSON_Delete(body);
    free(path);
    if (!started)
        state_free(job);
    return started;
}
