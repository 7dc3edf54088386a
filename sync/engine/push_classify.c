/* Classification of Salesforce answers for the push engine (by scope and
 * certainty). Per-record codes decide one op; whole-response classes decide a batch.
 *
 * Invariants:
 *   I1. An unknown per-record code is permanent: an op is never retried on a guess.
 *   I2. NOT_SENT never costs an op attempt; UNKNOWN never leads to a blind resend.
 *   I3. Only Salesforce can make an op dead. An answer that is not Salesforce's answer to
 *       this request (a redirect, an HTML page, a body of another shape: a captive portal
 *       or a proxy) is a transport failure, and so is a well-formed Salesforce error that
 *       is about the request rather than the data (JSON_PARSER_ERROR, NOT_FOUND on the
 *       URL): the ops stay retriable. A whole request is dead only for an error that is
 *       clearly about the records it carries (data_codes).
 */
#include "sync/engine/classify.h"

#include <string.h>

static const char *const transient_codes[] = {
    "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
    "UNKNOWN_EXCEPTION",  "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "PROCESSING_HALTED",  "REQUEST_RUNNING_TOO_LONG",
    "QUERY_TIMEOUT",      NULL,
};

/* Whole-request errors that are about the records sent, not about the request: the same
 * request sent again fails the same way until the data (or the org's setup) is fixed. */
static const char *const data_codes[] = {
    "INVALID_FIELD",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "INVALID_TYPE",
    "INVALID_TYPE_ON_FIELD_IN_RECORD",
    "REQUIRED_FIELD_MISSING",
    "STRING_TOO_LONG",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "INVALID_EMAIL_ADDRESS",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "FIELD_INTEGRITY_EXCEPTION",
    "DUPLICATE_VALUE",
    "DUPLICATES_DETECTED",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "MALFORMED_ID",
    "INVALID_ID_FIELD",
    "INVALID_CROSS_REFERENCE_KEY",
    "ENTITY_IS_DELETED",
    "INSUFFICIENT_ACCESS_OR_READONLY",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
    NULL,
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

bool push_is_salesforce_error(const sf_response *resp)
{
    const cJSON *first = cJSON_IsArray(resp->json) ? cJSON_GetArrayItem(resp->json, 0) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "errorCode");
    return cJSON_IsString(code) && resp->error_code &&
           strcmp(code->valuestring, resp->error_code) == 0;
}

push_resp_class push_classify_response(const sf_response *resp)
{
    if (resp->outcome == SF_NOT_SENT)
        return PUSH_RESP_NOT_SENT; /* I2 */
    if (resp->outcome == SF_UNKNOWN)
        return PUSH_RESP_UNKNOWN;
    if (resp->status >= 200 && resp->status < 300)
        return PUSH_RESP_OK;
    if (resp->status < 400) /* I3: Salesforce's API never redirects */
        return PUSH_RESP_FOREIGN;
    bool sf = push_is_salesforce_error(resp);
    const char *code = sf ? resp->error_code : NULL;
    if ((code && strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0) || resp->status == 429)
        return PUSH_RESP_LIMIT;
    if (resp->status == 401)
        return PUSH_RESP_AUTH;
    /* I3: a 4xx that is not a Salesforce error body came from something between us and
     * Salesforce and applied nothing. */
    if (resp->status < 500 && !sf)
        return PUSH_RESP_FOREIGN;
    /* A gateway's 502/504 page: the request may have reached Salesforce and been applied. */
    if (resp->status >= 500 && !sf)
        return PUSH_RESP_UNKNOWN;
    if (resp->status >= 500 || push_classify_code(code, NULL) == PUSH_ERR_TRANSIENT)
        return PUSH_RESP_TRANSIENT;
    if (in_list(code, data_codes))
        return PUSH_RESP_PERMANENT;
    return PUSH_RESP_REQUEST; /* I3 */
}
