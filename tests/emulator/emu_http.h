/* HTTP helper for emulator tests: one libcurl request to an in-process emulator, with
 * status, headers and body (parsed as JSON when it is JSON). Shared by the core and the
 * feature tests; keep this API stable.
 *
 * Functions return 0 when an HTTP response arrived (any status) and the CURLcode (> 0)
 * when none did (connection dropped, truncated body, timeout), so a test can tell "the
 * server answered 503" from "the connection died". out is always filled and must be
 * released with eh_response_free. */
#ifndef SFA_TESTS_EMU_HTTP_H
#define SFA_TESTS_EMU_HTTP_H

#include "emulator.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct eh_response {
    long status; /* HTTP status, 0 if none */
    char *body;  /* NUL-terminated, "" when empty (never NULL after a call) */
    size_t body_len;
    cJSON *json;   /* body parsed as JSON, or NULL */
    char *headers; /* raw response header block */
    int curl_code; /* CURLcode of the transfer, 0 = OK */
} eh_response;

typedef struct eh_request_opts {
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* "/services/..." (appended to the base URL) or a full URL */
    const char *token;          /* Bearer token or NULL */
    const char *body;           /* request body or NULL */
    const char *content_type;   /* default "application/json" when body is set */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    long timeout_ms;            /* default 10000 */
    const char *ca_file;        /* PEM CA bundle to verify an https emulator with, or NULL */
} eh_request_opts;

/* JSON request with an optional Bearer token. */
int eh_request(emu *e, const char *method, const char *path, const char *token, const char *body,
               eh_response *out);
int eh_request_ex(emu *e, const eh_request_opts *opts, eh_response *out);
/* POST an x-www-form-urlencoded body to the token endpoint, with HTTP Basic credentials
 * when basic_user is not NULL. */
int eh_token_request(emu *e, const char *form, const char *basic_user, const char *basic_pass,
                     eh_response *out);
/* Password-grant login with the emulator defaults (emulator.h); the access token (caller
 * frees) or NULL. */
char *eh_login(emu *e);
/* Value of a response header (case-insensitive name), caller frees, or NULL. */
char *eh_header(const eh_response *r, const char *name);
void eh_response_free(eh_response *r);

#endif
