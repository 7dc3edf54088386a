/* Reconciliation: finding out what Salesforce holds for creates, by their key.
 *
 * Used after creates land (the query that fills Id, CaseNumber and SystemModstamp rides
 * in the same composite request, see push_create.c) and to resolve "unknown" outcomes:
 * an op found inflight at start-up (crash or lost answer) or after a lost answer in this
 * run. This is mbsync's TUID match (docs/sync-protocol.md#resolving-unknown-outcomes) with the
 * local id as the TUID.
 *
 * Invariants:
 *   I1. An inflight create with a key is re-sent only after a query by its key came back
 *       without it; found means done (no second record, ever).
 *   I2. An inflight create without a key is never re-sent automatically: it is parked
 *       dead with UNKNOWN_OUTCOME for a human (`sfagent doctor`, `outbox retry`).
 *   I3. Updates, upserts and deletes carry absolute values / are idempotent, so sending
 *       one again is safe in itself.
 *   I4. "Not found" or "no answer" does not mean "never applied": Salesforce keeps running
 *       a request whose client went away (up to its 10-minute limit), so a lost create or
 *       update may still land later. Such an op goes back to pending but is not due before
 *       it was sent + settle_time; nothing newer of its record is sent before it (ops of a
 *       record apply in order), and a newer edit folded into it goes out only after the
 *       window. So a late arrival can never overwrite a newer value. Deletes are exempt:
 *       nothing newer follows a delete.
 *   I5. A failed resolution query is scoped to its object: it never stops the run unless
 *       the link, the API limit or the session failed, so one object missing its key
 *       field cannot hold every later run at the same point.
 */
#include "sync/engine/reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "store/op.h"
#include "sync/engine/build.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"

void push_op_key(const push_ctx *ctx, const store_op *op, const char **field, const char **value)
{
    *field = NULL;
    *value = NULL;
    if (strcmp(op->kind, "upsert") == 0) {
        *field = op->ext_field;
        *value = op->ext_value;
    } else if (strcmp(op->kind, "create") == 0) {
        *field = ctx->idem_field;
        *value = op->local_id;
    }
}

bool push_take_id(store_op *op, const char *id)
{
    char id18[SFID_LEN + 1];
    if (!id || !sfid_to18(id, id18))
        return false;
    free(op->new_sf_id);
    op->new_sf_id = xstrdup(id18);
    return true;
}

void push_take_row(store_op *op, const cJSON *row, const char *key_field)
{
    static const char *const identity[] = {"Id", "CaseNumber", "SystemModstamp"};
    if (!push_take_id(op, json_str(row, "Id"))) {
        log_warn("ignoring a row with an invalid Id for %s %s", op->sobject, op->local_id);
        return;
    }
    cJSON *server = cJSON_CreateObject(), *fill = cJSON_CreateObject();
    const cJSON *f;
    cJSON_ArrayForEach(f, row)
    {
        if (strcmp(f->string, "attributes") == 0)
            continue;
        bool ident = key_field && strcmp(f->string, key_field) == 0;
        for (size_t k = 0; k < sizeof identity / sizeof *identity; k++)
            ident |= strcmp(f->string, identity[k]) == 0;
        cJSON_AddItemToObject(ident ? server : fill, f->string, cJSON_Duplicate(f, true));
    }
    cJSON_Delete(op->server);
    cJSON_Delete(op->server_fill);
    cJSON_ReplaceItemInObjectCaseSensitive(server, "Id", cJSON_CreateString(op->new_sf_id));
    op->server = server;
    op->server_fill = fill;
}

typedef struct keyed_op {
    const char *value;
    size_t index;
} keyed_op;

static int cmp_keyed(const void *pa, const void *pb)
{
    const keyed_op *a = pa, *b = pb;
    int c = strcmp(a->value, b->value);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* A row goes to the first op whose key field and value it carries, one op at a time: for
 * ops that do not share one key field. */
static size_t match_rows_each(const push_ctx *ctx, store_op *ops, size_t n, const cJSON *records)
{
    size_t matched = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, records)
    {
        for (size_t i = 0; json_str(row, "Id") && i < n; i++) {
            const char *field, *value;
            push_op_key(ctx, &ops[i], &field, &value);
            const char *got = field ? json_str(row, field) : NULL;
            if (!got || !value || strcmp(got, value) != 0)
                continue;
            push_take_row(&ops[i], row, field);
            matched += ops[i].new_sf_id != NULL;
            break;
        }
    }
    return matched;
}

static int cmp_by_id_only(const void *pa, const void *pb)
{
    const keyed_op *a = pa, *b = pb;
    return strcmp(a->value, b->value);
}

static int cmp_by_id(const void *pa, const void *pb)
{
    const keyed_op *a = pa, *b = pb;
    int c = strcmp(a->value, b->value);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

struct push_id_index {
    keyed_op *byid; /* the ops' new Ids (copies), sorted */
    size_t m;
};

push_id_index *push_id_index_new(const store_op *ops, size_t n)
{
    push_id_index *ix = xcalloc(1, sizeof *ix);
    ix->byid = xcalloc(n ? n : 1, sizeof *ix->byid);
    for (size_t i = 0; i < n; i++)
        if (ops[i].new_sf_id) /* a copy: push_take_row replaces new_sf_id */
            ix->byid[ix->m++] = (keyed_op){xstrdup(ops[i].new_sf_id), i};
    qsort(ix->byid, ix->m, sizeof *ix->byid, cmp_by_id);
    return ix;
}

bool push_id_index_take(const push_ctx *ctx, const push_id_index *ix, store_op *ops,
                        const cJSON *row)
{
    const char *id = json_str(row, "Id");
    if (!id)
        return false;
    keyed_op probe = {id, 0};
    keyed_op *hit = bsearch(&probe, ix->byid, ix->m, sizeof *ix->byid, cmp_by_id_only);
    if (!hit)
        return false;
    store_op *op = &ops[hit->index];
    push_take_row(op, row, NULL);
    const char *field = NULL, *value = NULL;
    push_op_key(ctx, op, &field, &value);
    if (op->server && field && value) /* the key is the op's own: not read back */
        cJSON_AddStringToObject(op->server, field, value);
    return true;
}

void push_id_index_free(push_id_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->m; i++)
        free((char *)ix->byid[i].value);
    free(ix->byid);
    free(ix);
}

/* A row goes to the first op (lowest index) whose key it carries. All ops of a batch share
 * one key field, so the ops are sorted by (key, index) once and each row is found by
 * binary search: O((n + rows) log n) instead of O(n * rows). */
size_t push_match_rows(const push_ctx *ctx, store_op *ops, size_t n, const cJSON *records)
{
    const char *field = NULL;
    keyed_op *byk = xcalloc(n ? n : 1, sizeof *byk);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f, *v;
        push_op_key(ctx, &ops[i], &f, &v);
        if (!f || !v)
            continue;                         /* no key: no row can match it */
        if (field && strcmp(field, f) != 0) { /* never within one batch; kept exact anyway */
            free(byk);
            return match_rows_each(ctx, ops, n, records);
        }
        field = f;
        byk[m++] = (keyed_op){v, i};
    }
    qsort(byk, m, sizeof *byk, cmp_keyed);
    size_t matched = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, records)
    {
        const char *got = field && json_str(row, "Id") ? json_str(row, field) : NULL;
        if (!got)
            continue;
        size_t lo = 0, hi = m; /* first entry whose key is >= got */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(byk[mid].value, got) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == m || strcmp(byk[lo].value, got) != 0)
            continue;
        store_op *op = &ops[byk[lo].index];
        push_take_row(op, row, field);
        matched += op->new_sf_id != NULL;
    }
    free(byk);
    return matched;
}

/* I4: pending again, but not due before the op was sent + settle_time. */
static void settle(push_ctx *ctx, store_op *op)
{
    int64_t due = op->updated_at + ctx->settle_ms;
    int64_t wait = due - time_now_ms();
    if (strcmp(op->kind, "delete") == 0 || wait <= 0) {
        store_op_set(op, STORE_OUT_RELEASE, NULL, NULL);
        return;
    }
    char when[32];
    time_format_sf(due, when);
    char *msg = xasprintf("sent without an answer and not confirmed in Salesforce; not sent again "
                          "before %s (settle_time), in case Salesforce still applies it",
                          when);
    store_op_set(op, STORE_OUT_RETRY, "UNKNOWN_OUTCOME", msg);
    op->retry_after_ms = wait;
    free(msg);
}

/* The query by key was refused (I5). A link, limit or session failure stops the run. An
 * object that turns out not to have the key field cannot have applied an upsert on it:
 * its creates go back to pending and are sent as plain creates. Anything else is scoped
 * to this object: its ops stay inflight for the next run, other objects go on. */
static void key_query_failed(push_ctx *ctx, store_op *ops, size_t n, const sf_response *resp)
{
    push_resp_class cls = push_classify_response(resp);
    push_apply_response_class(ctx, ops, 0, cls, resp); /* stops on link-level classes */
    if (ctx->stop)
        return;
    if (cls == PUSH_RESP_PERMANENT && push_key_describe(ctx, ops[0].sobject) == 0) {
        for (size_t i = 0; i < n; i++)
            store_op_set(&ops[i], STORE_OUT_RELEASE, NULL, NULL);
        return;
    }
    log_warn("could not resolve %zu unknown outcome(s) of %s: %s; they stay inflight for the"
             " next run",
             n, ops[0].sobject, resp->error_message ? resp->error_message : "query failed");
}

/* Query by key for ops[0..n) (same sobject, creates with a key). Decides each op: found
 * -> done, missing -> pending again. A failed query: key_query_failed. */
static void resolve_chunk(push_ctx *ctx, store_op *ops, size_t n)
{
    const char **keys = xcalloc(n, sizeof *keys);
    const char *field = NULL;
    for (size_t i = 0; i < n; i++)
        push_op_key(ctx, &ops[i], &field, &keys[i]);
    char *select = push_reconcile_select(ops[0].sobject, field);
    char *soql = push_soql_in(select, ops[0].sobject, field, keys, n);
    char *path = push_query_path(sf_client_api_version(ctx->client), soql);
    sf_response resp = {0};
    if (push_request(ctx, "GET", path, NULL, &resp) == SFA_OK) {
        push_resp_class cls = push_classify_response(&resp);
        const cJSON *records = cJSON_GetObjectItemCaseSensitive(resp.json, "records");
        if (cls == PUSH_RESP_OK && cJSON_IsArray(records)) {
            push_match_rows(ctx, ops, n, records);
            for (size_t i = 0; i < n; i++)
                if (ops[i].new_sf_id)
                    store_op_set(&ops[i], STORE_OUT_DONE, NULL, NULL);
                else /* I1: sending it again cannot duplicate; I4: but not yet */
                    settle(ctx, &ops[i]);
        } else {
            key_query_failed(ctx, ops, n, &resp);
        }
    }
    sf_response_free(&resp);
    free(path);
    free(soql);
    free(select);
    free(keys);
}

static void decide_without_query(push_ctx *ctx, store_op *op)
{
    if (strcmp(op->kind, "create") != 0) {
        settle(ctx, op); /* I3, I4 */
        return;
    }
    if (push_key_state(ctx, op->sobject) == 0) {
        char *msg = xasprintf("create of %s %s may or may not have reached Salesforce and %s has"
                              " no %s External ID field to check; find it in Salesforce, then"
                              " `sfagent outbox retry %s` or `discard`; run `sfagent doctor`",
                              op->sobject, op->local_id, op->sobject, ctx->idem_field, op->op_id);
        store_op_set(op, STORE_OUT_DEAD, "UNKNOWN_OUTCOME", msg); /* I2 */
        free(msg);
    }
}

/* Creates with a key, grouped per sobject, queried in chunks of PUSH_BATCH_MAX. */
static void resolve_keyed(push_ctx *ctx, store_op *ops, size_t n)
{
    store_op **chunk = xcalloc(PUSH_BATCH_MAX, sizeof *chunk);
    bool *seen = xcalloc(n ? n : 1, sizeof *seen);
    for (size_t i = 0; i < n && !ctx->stop; i++) {
        if (seen[i] || ops[i].outcome != STORE_OUT_NONE)
            continue;
        /* Gather up to a batch of same-sobject undecided creates into a contiguous copy. */
        size_t m = 0;
        for (size_t j = i; j < n && m < PUSH_BATCH_MAX; j++)
            if (!seen[j] && ops[j].outcome == STORE_OUT_NONE &&
                strcmp(ops[j].sobject, ops[i].sobject) == 0) {
                seen[j] = true;
                chunk[m++] = &ops[j];
            }
        store_op *tmp = xcalloc(m, sizeof *tmp);
        for (size_t k = 0; k < m; k++)
            tmp[k] = *chunk[k]; /* shallow: ownership stays with ops[] */
        resolve_chunk(ctx, tmp, m);
        for (size_t k = 0; k < m; k++)
            *chunk[k] = tmp[k]; /* take back the decided fields */
        free(tmp);
    }
    free(seen);
    free(chunk);
}

sfa_status push_resolve_inflight(push_ctx *ctx, const char *owner)
{
    store_op *ops = NULL;
    size_t n = 0;
    sfa_status rc = store_outbox_inflight(ctx->agent, owner, &ops, &n);
    if (rc != SFA_OK || n == 0)
        goto out;
    log_info("resolving %zu op(s) whose outcome is unknown", n);
    if ((rc = store_outbox_adopt(ctx->agent, ctx->run_id, ops, n)) != SFA_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        decide_without_query(ctx, &ops[i]);
    resolve_keyed(ctx, ops, n);
    CRASH_POINT("push.resolve");
    for (size_t i = 0; i < n; i++)
        if (ops[i].outcome != STORE_OUT_NONE)
            ctx->report->resolved++;
    rc = push_write_results(ctx, ops, n);
out:
    store_ops_free(ops, n);
    return rc;
}
