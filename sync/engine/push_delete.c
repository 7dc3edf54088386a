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

sfa_status push_send_deletes(push_ctx *ctx, store_op *ops, size_t n)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "composite/sobjects?ids=");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&sb, "%s%s", i ? "," : "", ops[i].sf_id);
    strbuf_adds(&sb, "&allOrNone=false");
    sf_response resp;
    sfa_status rc = push_request(ctx, "DELETE", strbuf_str(&sb), NULL, &resp);
    CRASH_POINT("push.after_response");
    if (rc == SFA_OK) {
        push_resp_class cls = push_classify_response(&resp);
        if (cls == PUSH_RESP_OK && cJSON_IsArray(resp.json)) {
            for (size_t i = 0; i < n; i++) /* I1 via classification */
                push_apply_result_at(ctx, &ops[i], resp.json, i);
        } else {
            push_apply_response_class(ctx, ops, n, cls == PUSH_RESP_OK ? PUSH_RESP_UNKNOWN : cls,
                                      &resp);
        }
    }
    sf_response_free(&resp);
    strbuf_free(&sb);
    return rc;
}
