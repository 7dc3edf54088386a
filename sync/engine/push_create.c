/* Sending creates (and upserts): one /composite request per batch of up to 800 holds up to
 * four sObject Collections upserts of 200 on the key field AND one query by key over all of
 * them that reads back Id, CaseNumber and SystemModstamp: one API call per 800 creates,
 * reconciliation included (Composite allows 5 Collections or query subrequests). A batch
 * whose keys would make the query longer than PUSH_SOQL_MAX goes as several composites.
 *
 * Invariants:
 *   I1. A create is only ever sent as an upsert on its key (the record's local id in the
 *       idempotency field), so a resend after a lost answer updates instead of
 *       duplicating. Objects without the key field get plain creates, and their unknown
 *       outcomes are parked (reconcile.c I2).
 *   I2. collateSubrequests is false: the query runs after the upsert and sees its rows.
 *   I3. allOrNone is false everywhere: one bad record never holds the others back.
 *   I4. The read-back query filters by key but selects no key: the keys are random text
 *       that compresses badly, and the answer would repeat every one of them. A row is
 *       matched to the op whose upsert answered with its Id; an op whose upsert answer
 *       is missing stays unknown and is resolved by key (reconcile.c), which does select it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soql/soql.h"
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
#include "sync/engine/reconcile.h"

static cJSON *record_body(const store_op *op, const char *key_field, const char *key_value)
{
    cJSON *rec = cJSON_Duplicate(op->fields, true);
    cJSON *attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(attrs, "type", op->sobject);
    cJSON_AddItemToObject(rec, "attributes", attrs);
    cJSON_DeleteItemFromObjectCaseSensitive(rec, "Id");
    if (key_field) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, key_field);
        cJSON_AddStringToObject(rec, key_field, key_value);
    }
    return rec;
}

static cJSON *collection_body(const store_op *ops, size_t n, const push_ctx *ctx, bool keyed)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allOrNone", false); /* I3 */
    strbuf records = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *field = NULL, *value = NULL;
        if (keyed)
            push_op_key(ctx, &ops[i], &field, &value);
        push_records_add(&records, record_body(&ops[i], field, value));
    }
    cJSON_AddItemToObject(body, "records", push_records_item(&records));
    return body;
}

static cJSON *subrequest(const char *method, const char *url, const char *ref, cJSON *body)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", method);
    cJSON_AddStringToObject(s, "url", url);
    cJSON_AddStringToObject(s, "referenceId", ref);
    if (body)
        cJSON_AddItemToObject(s, "body", body);
    return s;
}

static bool is_missing_field_error(const sf_response *r)
{
    return r->error_code &&
           (strcmp(r->error_code, "NOT_FOUND") == 0 || strcmp(r->error_code, "INVALID_FIELD") == 0);
}

static void apply_results(push_ctx *ctx, store_op *ops, size_t n, const cJSON *results)
{
    for (size_t i = 0; i < n; i++)
        push_apply_result_at(ctx, &ops[i], results, i);
}

static sfa_status send_plain(push_ctx *ctx, store_op *ops, size_t n);

/* The key field looked missing and describe could not tell: the upsert was refused (not
 * applied), so the batch retries with backoff, with the reason; it is an object-scoped
 * failure, never a reason to make the ops dead. */
static void describe_failed(store_op *ops, size_t n, const sf_response *refusal)
{
    char *msg = xasprintf("the upsert on the key field was refused (%s) and describe %s"
                          " failed, so whether the field exists is unknown; retried later",
                          refusal->error_code ? refusal->error_code : "an error", ops[0].sobject);
    for (size_t i = 0; i < n; i++)
        if (ops[i].outcome == STORE_OUT_NONE)
            store_op_set(&ops[i], STORE_OUT_RETRY, "DESCRIBE_FAILED", msg);
    free(msg);
}

/* Reads one upsert sub-result (ops of chunk c). Returns 1 when it says the key field is
 * missing, so the chunk must be re-sent as plain creates. *key caches the describe
 * answer within one composite (-2 = not asked). */
static int read_upsert(push_ctx *ctx, store_op *ops, size_t n, const cJSON *up, int *key)
{
    const cJSON *results = push_sub_records(up);
    if (results) {
        apply_results(ctx, ops, n, results);
        return 0;
    }
    sf_response fake;
    push_sub_response(up, &fake);
    int k = 1;
    if (is_missing_field_error(&fake) && strcmp(ops[0].kind, "create") == 0 &&
        push_key_state(ctx, ops[0].sobject) != 1) {
        if (*key == -2) /* one describe per composite, not one per upsert */
            *key = push_key_describe(ctx, ops[0].sobject);
        k = *key;
    }
    if (k < 0) /* describe failed: the upsert was refused, so retry later */
        describe_failed(ops, n, &fake);
    else if (k != 0)
        push_apply_response_class(ctx, ops, n, push_classify_response(&fake), &fake);
    int again = k == 0;
    sf_response_free(&fake);
    return again;
}

/* How many of keys[0..n) fit in one query with prefix_len characters before them
 * (SOQL length limit), at most n, at least 1. */
static size_t keys_fitting(const char *const *keys, size_t n, size_t prefix_len)
{
    size_t len = prefix_len, m = 0;
    for (; m < n; m++) {
        char *q = soql_quote(keys[m]);
        len += strlen(q) + 1; /* the comma */
        free(q);
        if (len > PUSH_SOQL_MAX)
            break;
    }
    return m ? m : 1;
}

/* A keyed create job between its composites: the batch goes as one /composite per slice
 * of keys that fits in one query (usually the whole batch). No pointer into the ops: they
 * may be packed while the job waits (push_pack.c P3). */
typedef struct keyed_state {
    size_t prefix_len; /* the read-back query without keys */
    size_t off, m;     /* the slice in flight: ops[off..off+m) */
} keyed_state;

static size_t chunk_len(size_t n, size_t c)
{
    size_t off = c * PUSH_BATCH_MAX;
    return n - off < PUSH_BATCH_MAX ? n - off : PUSH_BATCH_MAX;
}

/* The /composite for ops[0..n): ceil(n / PUSH_BATCH_MAX) upserts (at most 4) on the key,
 * then one query by key over all n. n fits in the query (keys_fitting). */
static cJSON *keyed_body(push_ctx *ctx, store_op *ops, size_t n, const char *field,
                         const char **keys)
{
    const char *ver = sf_client_api_version(ctx->client);
    char *up_url =
        xasprintf("/services/data/%s/composite/sobjects/%s/%s", ver, ops[0].sobject, field);
    /* I4: the read-back selects no key; rows are matched by the Ids the upserts answered. */
    char *select = push_reconcile_select(ops[0].sobject, NULL);
    char *soql = push_soql_in(select, ops[0].sobject, field, keys, n);
    char *q_url = push_query_path(ver, soql);
    size_t nchunks = (n + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allOrNone", false);
    cJSON_AddBoolToObject(body, "collateSubrequests", false); /* I2 */
    cJSON *subs = cJSON_AddArrayToObject(body, "compositeRequest");
    for (size_t c = 0; c < nchunks; c++) {
        char ref[16];
        snprintf(ref, sizeof ref, c ? "upsert%zu" : "upsert", c);
        cJSON_AddItemToArray(subs,
                             subrequest("PATCH", up_url, ref,
                                        collection_body(ops + c * PUSH_BATCH_MAX, chunk_len(n, c),
                                                        ctx, true))); /* I1 */
    }
    cJSON_AddItemToArray(subs, subrequest("GET", q_url, "keys", NULL));
    free(q_url);
    free(soql);
    free(select);
    free(up_url);
    return body;
}

/* One read-back row into the op whose upsert answered with its Id (I4). */
typedef struct rows_ctx {
    const push_ctx *ctx;
    const push_id_index *ix;
    store_op *ops;
} rows_ctx;

static void take_row(const cJSON *row, void *arg)
{
    rows_ctx *rc = arg;
    (void)push_id_index_take(rc->ctx, rc->ix, rc->ops, row);
}

/* The read-back query's rows, one parsed at a time (push_answer.c). */
static void read_keys(push_ctx *ctx, store_op *ops, size_t n, json_span q)
{
    push_id_index *ix = push_id_index_new(ops, n);
    rows_ctx rc = {ctx, ix, ops};
    if (!push_answer_rows(q, take_row, &rc))
        log_warn("read-back query failed; CaseNumber/SystemModstamp come with the next pull");
    push_id_index_free(ix);
}

/* Each upsert's sub-result (parsed alone), then the read-back rows, from the answer's
 * text: the whole answer is never one tree (docs/sync-protocol.md#memory). */
static void read_composite(push_ctx *ctx, store_op *ops, size_t n, json_span answer, bool *again)
{
    size_t nchunks = (n + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    char names[PUSH_CREATE_BATCH_MAX / PUSH_BATCH_MAX + 1][16];
    const char *refs[PUSH_CREATE_BATCH_MAX / PUSH_BATCH_MAX + 1];
    json_span subs[PUSH_CREATE_BATCH_MAX / PUSH_BATCH_MAX + 1];
    for (size_t c = 0; c < nchunks; c++) {
        snprintf(names[c], sizeof names[c], c ? "upsert%zu" : "upsert", c);
        refs[c] = names[c];
    }
    refs[nchunks] = "keys";
    push_answer_subs(answer, refs, nchunks + 1, subs);
    int key = -2;
    for (size_t c = 0; c < nchunks; c++) {
        cJSON *up = push_answer_tree(subs[c]);
        again[c] = read_upsert(ctx, ops + c * PUSH_BATCH_MAX, chunk_len(n, c), up, &key);
        cJSON_Delete(up);
    }
    read_keys(ctx, ops, n, subs[nchunks]);
}

/* The answer to one keyed composite over ops[0..n). Chunks whose upsert said the key
 * field is missing are re-sent as plain creates (waiting: a rare, object-scoped path). */
static void keyed_answer(push_ctx *ctx, store_op *ops, size_t n, sfa_status rc, sf_response *resp)
{
    CRASH_POINT("push.after_response");
    size_t nchunks = (n + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    bool *again = xcalloc(nchunks, sizeof *again);
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(resp);
        json_span answer;
        if (cls == PUSH_RESP_OK && push_answer_object(resp, &answer)) {
            read_composite(ctx, ops, n, answer, again);
        } else { /* a 200 that is not a composite answer is as good as lost */
            push_apply_response_class(ctx, ops, n, cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls,
                                      resp);
        }
    }
    for (size_t c = 0; c < nchunks && !ctx->stop; c++) {
        if (!again[c])
            continue;
        push_ops_unpack(ops + c * PUSH_BATCH_MAX, chunk_len(n, c), false); /* J6: sent again */
        (void)send_plain(ctx, ops + c * PUSH_BATCH_MAX, chunk_len(n, c));
    }
    free(again);
}

/* Start the composite for the slice at ks->off; false when nothing went out. */
static bool keyed_next(push_ctx *ctx, push_job *job);

static bool keyed_on_answer(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    keyed_state *ks = job->state;
    keyed_answer(ctx, job->ops + ks->off, ks->m, rc, resp);
    ks->off += ks->m;
    if (ks->off < job->n && !ctx->stop) {
        push_ops_unpack(job->ops + ks->off, job->n - ks->off, false); /* J6: the next slice */
        if (keyed_next(ctx, job))
            return true;
    }
    free(ks);
    job->state = NULL;
    return false;
}

static bool keyed_next(push_ctx *ctx, push_job *job)
{
    keyed_state *ks = job->state;
    size_t left = job->n - ks->off;
    size_t m = left < PUSH_CREATE_BATCH_MAX ? left : PUSH_CREATE_BATCH_MAX;
    const char *field = NULL;
    const char **keys = xcalloc(m, sizeof *keys); /* borrowed from the ops, for this call */
    for (size_t i = 0; i < m; i++)
        push_op_key(ctx, &job->ops[ks->off + i], &field, &keys[i]);
    ks->m = keys_fitting(keys, m, ks->prefix_len);
    cJSON *body = keyed_body(ctx, job->ops + ks->off, ks->m, field, keys);
    free(keys);
    bool started = push_start_text(ctx, job, "POST", "composite", body, keyed_on_answer);
    cJSON_Delete(body);
    return started;
}

/* Keyed creates: as many per /composite as the upserts and the read-back query allow. */
static bool keyed_begin(push_ctx *ctx, push_job *job)
{
    keyed_state *ks = xcalloc(1, sizeof *ks);
    const char *field = NULL, *key = NULL;
    push_op_key(ctx, &job->ops[0], &field, &key);                    /* one batch, one key field */
    char *select = push_reconcile_select(job->ops[0].sobject, NULL); /* I4 */
    char *prefix = push_soql_in(select, job->ops[0].sobject, field, NULL, 0);
    ks->prefix_len = strlen(prefix);
    free(prefix);
    free(select);
    job->state = ks;
    if (keyed_next(ctx, job))
        return true;
    free(ks);
    job->state = NULL;
    return false;
}

/* Read back Id-keyed rows (plain creates): CaseNumber and SystemModstamp. */
static void read_back_by_id(push_ctx *ctx, store_op *ops, size_t n)
{
    const char **ids = xcalloc(n, sizeof *ids);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].outcome == STORE_OUT_DONE && ops[i].new_sf_id)
            ids[m++] = ops[i].new_sf_id;
    if (m > 0) {
        char *select = push_reconcile_select(ops[0].sobject, NULL);
        char *soql = push_soql_in(select, ops[0].sobject, "Id", ids, m);
        char *path = push_query_path(sf_client_api_version(ctx->client), soql);
        sf_response resp;
        if (push_request(ctx, "GET", path, NULL, &resp) == SFA_OK &&
            push_classify_response(&resp) == PUSH_RESP_OK) {
            const cJSON *row;
            cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(resp.json, "records"))
            {
                const char *id = json_str(row, "Id");
                for (size_t i = 0; id && i < n; i++) {
                    if (ops[i].new_sf_id && sfid_equal(ops[i].new_sf_id, id))
                        push_take_row(&ops[i], row, NULL);
                }
            }
        }
        sf_response_free(&resp);
        free(path);
        free(soql);
        free(select);
    }
    free(ids);
}

/* Objects without the key field: collections create, then a read-back by Id. */
static sfa_status send_plain(push_ctx *ctx, store_op *ops, size_t n)
{
    cJSON *body = collection_body(ops, n, ctx, false);
    sf_response resp;
    sfa_status rc = push_request(ctx, "POST", "composite/sobjects", body, &resp);
    CRASH_POINT("push.after_response");
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(&resp);
        if (cls == PUSH_RESP_OK && cJSON_IsArray(resp.json))
            apply_results(ctx, ops, n, resp.json);
        else
            push_apply_response_class(ctx, ops, n, cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls,
                                      &resp);
    }
    sf_response_free(&resp);
    cJSON_Delete(body);
    if (rc == SFA_OK && !ctx->stop)
        read_back_by_id(ctx, ops, n);
    return rc;
}

bool push_creates_begin(push_ctx *ctx, push_job *job)
{
    store_op *ops = job->ops;
    size_t n = job->n;
    int key = strcmp(ops[0].kind, "create") == 0 ? push_key_state(ctx, ops[0].sobject) : 1;
    if (ctx->stop) /* the describe cache could not be read: nothing sent, ops released */
        return false;
    if (key != 0)
        return keyed_begin(ctx, job);
    /* Plain creates (no key field: rare, and each needs a read-back by Id): one
     * Collections create per PUSH_BATCH_MAX, waiting for each. */
    sfa_status rc = SFA_OK;
    for (size_t i = 0; i < n && rc == SFA_OK && !ctx->stop; i += PUSH_BATCH_MAX)
        rc = send_plain(ctx, ops + i, n - i < PUSH_BATCH_MAX ? n - i : PUSH_BATCH_MAX);
    return false;
}
