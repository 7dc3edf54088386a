/* Sending deletes: up to PUSH_BATCH_MAX (200) as one DELETE /composite/sobjects?ids=...
 * &allOrNone=false; a bigger batch (up to PUSH_DELETE_BATCH_MAX, 1,000) as one /composite
 * holding one such Collections delete per 200 (5 Collections subrequests at most,
 * docs/salesforce.md#composite): one API call per 1,000 deletes.
 *
 * Invariants:
 *   I1. A delete answered NOT_FOUND / ENTITY_IS_DELETED is done: the record is gone,
 *       which is what the op asked for (a retry after a lost answer lands here).
 *   I2. A Collections delete that failed as a whole inside the composite decides its own
 *       200 ops only, exactly as the same answer to a plain request would.
 */

#include <stdio.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/strbuf.h"
#include "store/op.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"
#include "sync/engine/push_answer.h"

static size_t chunk_len(size_t n, size_t c)
{
    size_t off = c * PUSH_BATCH_MAX;
    return n - off < PUSH_BATCH_MAX ? n - off : PUSH_BATCH_MAX;
}

static void chunk_ref(char ref[24], size_t c)
{
    snprintf(ref, 24, "d%zu", c);
}

/* "composite/sobjects?ids=<ids of ops[0..n)>&allOrNone=false", after prefix. */
static char *delete_path(const char *prefix, const store_op *ops, size_t n)
{
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%scomposite/sobjects?ids=", prefix);
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&sb, "%s%s", i ? "," : "", ops[i].sf_id);
    strbuf_adds(&sb, "&allOrNone=false");
    return strbuf_detach(&sb);
}

static void apply_results(push_ctx *ctx, store_op *ops, size_t n, const cJSON *results)
{
    for (size_t i = 0; i < n; i++) /* I1 via classification */
        push_apply_result_at(ctx, &ops[i], results, i);
}

/* The composite's answer, read in place (push_answer.c): one delete's results at a time. */
static bool on_composite(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    CRASH_POINT("push.after_response");
    if (rc != SFA_OK)
        return false;
    push_resp_class cls = push_classify_response(resp);
    json_span answer;
    if (cls != PUSH_RESP_OK || !push_answer_object(resp, &answer)) {
        push_apply_response_class(ctx, job->ops, job->n,
                                  cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls, resp);
        return false;
    }
    enum { MAX_CHUNKS = PUSH_DELETE_BATCH_MAX / PUSH_BATCH_MAX };
    size_t nchunks = (job->n + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    char names[MAX_CHUNKS][24];
    const char *refs[MAX_CHUNKS];
    json_span subs[MAX_CHUNKS];
    for (size_t c = 0; c < nchunks; c++) {
        chunk_ref(names[c], c);
        refs[c] = names[c];
    }
    push_answer_subs(answer, refs, nchunks, subs);
    for (size_t c = 0; c < nchunks; c++) {
        store_op *part = job->ops + c * PUSH_BATCH_MAX;
        size_t len = chunk_len(job->n, c);
        cJSON *sub = push_answer_tree(subs[c]);
        const cJSON *results = push_sub_records(sub);
        if (results)
            apply_results(ctx, part, len, results);
        else
            push_apply_sub_failure(ctx, part, len, sub); /* I2 */
        cJSON_Delete(sub);
    }
    return false;
}

static bool start_composite(push_ctx *ctx, push_job *job)
{
    char *prefix = xasprintf("/services/data/%s/", sf_client_api_version(ctx->client));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddBoolToObject(body, "allOrNone", false);
    cJSON *subs = cJSON_AddArrayToObject(body, "compositeRequest");
    size_t nchunks = (job->n + PUSH_BATCH_MAX - 1) / PUSH_BATCH_MAX;
    for (size_t c = 0; c < nchunks; c++) {
        char ref[24];
        chunk_ref(ref, c);
        char *url = delete_path(prefix, job->ops + c * PUSH_BATCH_MAX, chunk_len(job->n, c));
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "method", "DELETE");
        cJSON_AddStringToObject(d, "url", url);
        cJSON_AddStringToObject(d, "referenceId", ref);
        cJSON_AddItemToArray(subs, d);
        free(url);
    }
    bool started = push_start_text(ctx, job, "POST", "composite", body, on_composite);
    cJSON_Delete(body);
    free(prefix);
    return started;
}

static bool on_answer(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    CRASH_POINT("push.after_response");
    store_op *ops = job->ops;
    size_t n = job->n;
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(resp);
        if (cls == PUSH_RESP_OK && cJSON_IsArray(resp->json)) {
            apply_results(ctx, ops, n, resp->json);
        } else {
            push_apply_response_class(ctx, ops, n, cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls,
                                      resp);
        }
    }
    return false;
}

bool push_deletes_begin(push_ctx *ctx, push_job *job)
{
    if (job->n > PUSH_BATCH_MAX)
        return start_composite(ctx, job);
    char *path = delete_path("", job->ops, job->n);
    bool started = push_start(ctx, job, "DELETE", path, NULL, on_answer);
    free(path);
    return started;
}
