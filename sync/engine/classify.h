/* What a Salesforce answer means for an op: per-record codes and whole responses
 * (sync/engine/push_classify.c). Pure: no I/O. */
#ifndef SFA_SYNC_ENGINE_CLASSIFY_H
#define SFA_SYNC_ENGINE_CLASSIFY_H

#include <stdbool.h>

#include "sync/client/sf_client.h"

typedef enum push_err_class {
    PUSH_ERR_PERMANENT = 0, /* fix the data, then `outbox retry` */
    PUSH_ERR_TRANSIENT = 1, /* retry this op later with backoff */
    PUSH_ERR_GONE = 2,      /* delete of a record already gone: counts as success */
} push_err_class;

/* Per-record statusCode of a collections result for an op of kind. NULL code = unknown
 * = permanent (never retry blindly what we do not understand). */
push_err_class push_classify_code(const char *code, const char *kind);

typedef enum push_resp_class {
    PUSH_RESP_OK = 0,        /* 2xx: read per-record results */
    PUSH_RESP_NOT_SENT = 1,  /* nothing reached Salesforce: run-level backoff */
    PUSH_RESP_UNKNOWN = 2,   /* may have been applied: resolve by key */
    PUSH_RESP_TRANSIENT = 3, /* 5xx or a transient code: per-op backoff */
    PUSH_RESP_LIMIT = 4,     /* REQUEST_LIMIT_EXCEEDED: pause the run */
    PUSH_RESP_PERMANENT = 5, /* whole request refused for its data: ops dead with the code */
    PUSH_RESP_AUTH = 6,      /* 401 after the client's one re-login: stop the run */
    PUSH_RESP_FOREIGN = 7,   /* not Salesforce's answer (redirect, HTML, other shape): nothing
                                applied; like not sent, plus the run reports it */
    PUSH_RESP_REQUEST = 8,   /* Salesforce refused the request as a whole for a reason not
                                about the data (JSON_PARSER_ERROR, NOT_FOUND): per-op backoff */
} push_resp_class;

/* Is resp's body a Salesforce REST error ([{"errorCode": ..., "message": ...}]) whose code
 * is the one the client read? */
bool push_is_salesforce_error(const sf_response *resp);
push_resp_class push_classify_response(const sf_response *resp);

#endif
