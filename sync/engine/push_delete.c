/* Sending deletes: DELETE /composite/sobjects?ids=...&allOrNone=false, one call per 200.
 *
 * Invariants:
 *   I1. A delete answered NOT_FOUND / ENTITY_IS_DELETED is done: the record is gone,
 *       which is what the op asked for (a retry after a lost answer lands here).
 */

#include <stdlib.h>

#include "util/crashpoint.h"
#include "util/strbuf.h"
#include "store/op.h"
#include "sync/engine/classify.h"
#include "sync/engine/push.h"

static bool on_answer(push_ctx *ctx, push_job *job, sfa_status rc, sf_response *resp)
{
    CRASH_POINT("push.after_response");
    store_op *ops = job->ops;
    size_t n = job->n;
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(resp);
        if (cls == PUSH_RESP_OK && cJSON_IsArray(resp->json)) {
            for (size_t i = 0; i < n; i++) /* I1 via classification */
                push_apply_result_at(ctx, &ops[i], resp->json, i);
        } else {
            push_apply_response_class(ctx, ops, n, cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls,
                                      resp);
        }
    }
    return false;
}

bool push_deletes_begin(push_ctx *ctx, push_job *job)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "composite/sobjects?ids=");
    for (size_t i = 0; i < job->n; i++)
        strbuf_addf(&sb, "%s%s", i ? "," : "", job->ops[i].sf_id);
    strbuf_adds(&sb, "&allOrNone=false");
    bool started = push_start(ctx, job, "DELETE", strbuf_str(&sb), NULL, on_answer);
    strbuf_free(&sb);
    return started;
}
