/* Classification of Salesforce answers for the push engine (by scope and
 * certainty). Per-record codes decide one op; whole-response classes decide a batch.
 *
 * Invariants:
 *   I1. An unknown per-record code is permanent: an op is never retried on a guess.
 *   I2. NOT_SENT never costs an op attempt; UNKNOWN never leads to a blind resend.
 */
#include "sync/engine/classify.h"

#include <string.h>

static const char *const transient_codes[] = {
    "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
    "UNKNOWN_EXCEPTION",  "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "PROCESSING_HALTED",  "REQUEST_RUNNING_TOO_LONG",
    "QUERY_TIMEOUT",      NULL,
};

static bool in_list(const char *code, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}

push_err_class push_classify_code(const char *code, const char *kind)
{
    if (!code)
        return PUSH_ERR_PERMANENT; /* I1 */
    if (in_list(code, transient_codes))
        return PUSH_ERR_TRANSIENT;
    /* A retried delete that finds nothing did its job (docs/sync-protocol.md#error-classification).
     */
    if (kind && strcmp(kind, "delete") == 0 &&
        (strcmp(code, "ENTITY_IS_DELETED") == 0 || strcmp(code, "NOT_FOUND") == 0 ||
         strcmp(code, "INVALID_CROSS_REFERENCE_KEY") == 0))
        return PUSH_ERR_GONE;
    return PUSH_ERR_PERMANENT;
}

push_resp_class push_classify_response(const sf_response *resp)
{
    if (resp->outcome == SF_NOT_SENT)
        return PUSH_RESP_NOT_SENT; /* I2 */
    if (resp->outcome == SF_UNKNOWN)
        return PUSH_RESP_UNKNOWN;
    const char *code = resp->error_code;
    if (resp->status >= 200 && resp->status < 300)
        return PUSH_RESP_OK;
    if (code && strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return PUSH_RESP_LIMIT;
    if (resp->status == 429)
        return PUSH_RESP_LIMIT;
    if (resp->status == 401)
        return PUSH_RESP_AUTH;
    if (resp->status >= 500 || (code && push_classify_code(code, NULL) == PUSH_ERR_TRANSIENT))
        return PUSH_RESP_TRANSIENT;
    return PUSH_RESP_PERMANENT;
}
