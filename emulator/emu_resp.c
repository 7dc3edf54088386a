/* Response building for every emulator handler: JSON bodies, Salesforce error arrays
 * (docs/salesforce.md#errors) and extra headers. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char json_type[] = "application/json;charset=UTF-8";

void emu_resp_clear(emu_resp *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->header_count; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    memset(resp, 0, sizeof *resp);
}

void emu_resp_raw(emu_resp *resp, int status, const char *content_type, char *body)
{
    free(resp->body);
    resp->status = status;
    resp->body = body;
    resp->body_len = body ? strlen(body) : 0;
    resp->content_type = content_type;
}

void emu_resp_json(emu_resp *resp, int status, cJSON *body)
{
    char *text = body ? json_print(body) : NULL;
    cJSON_Delete(body);
    emu_resp_raw(resp, status, json_type, text);
}

static cJSON *error_object(const char *code, const char *message, const char *field)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "errorCode", code);
    if (field && *field) {
        cJSON *f = cJSON_CreateArray();
        cJSON_AddItemToArray(f, cJSON_CreateString(field));
        cJSON_AddItemToObject(o, "fields", f);
    }
    return o;
}

void emu_resp_error(emu_resp *resp, int status, const char *code, const char *message,
                    const char *field)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, error_object(code, message, field));
    emu_resp_json(resp, status, arr);
}

void emu_resp_method_not_allowed(emu_resp *resp, const char *method, const char *allowed)
{
    char msg[160];
    snprintf(msg, sizeof msg, "HTTP Method '%.20s' not allowed. Allowed are %s", method, allowed);
    emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", msg, NULL);
}

void emu_resp_dml_error(emu_resp *resp, const emu_dml_error *err)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *o = error_object(err->code, err->message, err->field);
    /* ENTITY_IS_DELETED is recorded with an empty fields array (docs/salesforce.md#sobject-rows).
     */
    if (strcmp(err->code, "ENTITY_IS_DELETED") == 0)
        cJSON_AddItemToObject(o, "fields", cJSON_CreateArray());
    cJSON_AddItemToArray(arr, o);
    emu_resp_json(resp, err->http_status, arr);
}

void emu_resp_header(emu_resp *resp, const char *name, const char *value)
{
    for (int i = 0; i < resp->header_count; i++) {
        if (strcmp(resp->header_names[i], name) == 0) {
            free(resp->header_values[i]);
            resp->header_values[i] = xstrdup(value);
            return;
        }
    }
    if (resp->header_count == EMU_MAX_HEADERS)
        return;
    resp->header_names[resp->header_count] = xstrdup(name);
    resp->header_values[resp->header_count] = xstrdup(value);
    resp->header_count++;
}

void emu_fault_defaults(int status, const char **code, const char **message)
{
    switch (status) {
    case 503:
        *code = "SERVER_UNAVAILABLE";
        *message = "Server too busy";
        break;
    case 500:
        *code = "UNKNOWN_EXCEPTION";
        *message = "An unexpected error occurred. Please include this ErrorId if you contact "
                   "support: 1234567890-12345 (-1234567890)";
        break;
    case 401:
        *code = "INVALID_SESSION_ID";
        *message = "Session expired or invalid";
        break;
    case 403:
        *code = "REQUEST_LIMIT_EXCEEDED";
        *message = "TotalRequests Limit exceeded.";
        break;
    case 404:
        *code = "NOT_FOUND";
        *message = "The requested resource does not exist";
        break;
    default:
        *code = "UNABLE_TO_LOCK_ROW";
        *message = "unable to obtain exclusive access to this record or 1 records";
        break;
    }
}
