/* The Salesforce REST client: one libcurl easy handle reused (keep-alive) for requests
 * that wait for their answer, one multi handle for requests in flight together
 * (sf_client_start / sf_client_next), OAuth token management, and Salesforce error
 * parsing. Used by the sync engine, login and doctor. Not thread-safe: one client per
 * thread.
 *
 * Outcome classes (docs/sync-protocol.md#request-outcomes): every request ends in exactly one of
 *   SF_NOT_SENT  - nothing reached Salesforce (DNS, refused, TLS): safe to retry later;
 *   SF_UNKNOWN   - it may have been applied (timeout after connect, connection dropped,
 *                  truncated or unparseable response): resolve by key before resending;
 *   SF_ANSWERED  - Salesforce answered: look at status and the parsed body.
 * libcurl silently resends a request whose reused connection died without an answer.
 * PATCH/PUT/DELETE keep the pooled connection (upserts by key, updates and deletes are
 * safe to apply twice, docs/sync-protocol.md#request-outcomes); POST goes out on a fresh connection
 * (CURLOPT_FRESH_CONNECT) so an unkeyed create can never be applied twice by libcurl.
 */
#ifndef SFA_SYNC_SF_CLIENT_H
#define SFA_SYNC_SF_CLIENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/config.h"
#include "sfagent/status.h"

typedef struct sf_client sf_client;

typedef enum sf_outcome { SF_ANSWERED = 0, SF_NOT_SENT = 1, SF_UNKNOWN = 2 } sf_outcome;

typedef struct sf_response {
    sf_outcome outcome;
    long status; /* HTTP status when answered, else 0 */
    cJSON *json; /* parsed body, or NULL (empty, or not JSON) */
    char *body;  /* raw body (NUL-terminated), or NULL */
    size_t body_len;
    char *error_code;    /* first errorCode of a Salesforce error array/object, or NULL */
    char *error_message; /* its message, or a transport error text; never a secret */
    int retry_after_s;   /* Retry-After header in seconds, or -1 */
} sf_response;

void sf_response_free(sf_response *resp);

/* Build a client from configuration. Does not touch the network. cfg is borrowed and must
 * outlive the client. */
sfa_status sf_client_new(sf_client **out, const sfa_config *cfg, char **errmsg);
void sf_client_free(sf_client *c);

/* Authenticate now (the configured OAuth flow); fills instance URL and identity. */
sfa_status sf_client_login(sf_client *c);

/* Send one request. path is either absolute on the instance ("/services/data/...") or
 * relative to the data root ("query?q=...", "composite/sobjects"): a path not starting
 * with '/' is prefixed with "/services/data/vNN.N/". body may be NULL. Logs in first if
 * needed; on 401 INVALID_SESSION_ID re-authenticates once and replays.
 * Returns SFA_OK whenever a response object was produced (check resp->outcome and status);
 * other codes for failures before sending (e.g. SFA_EAUTH when login fails, SFA_ENETWORK
 * when the login host is unreachable, SFA_ECONFIG when credentials are missing).
 * In every case resp is initialised (outcome SF_NOT_SENT before sending, error_message set)
 * and must be released with sf_response_free(), which frees its members only.
 * A 2xx answer whose body is not valid JSON is SF_UNKNOWN (it may have been applied). */
sfa_status sf_client_request(sf_client *c, const char *method, const char *path, const cJSON *body,
                             sf_response *resp);

/* ---- requests in flight (sf_client_multi.c) ----
 * Several requests may run at once on one libcurl multi handle, all driven from the thread
 * that owns the client (no other thread is involved). Each started request ends exactly
 * once through sf_client_next, with the same outcome classes, 401 handling (one re-login,
 * one replay) and byte counting as sf_client_request. */

/* Start a request without waiting for its answer; tag comes back with it from
 * sf_client_next. Logs in first (waiting) when there is no token yet. SFA_OK: started.
 * Otherwise nothing was sent, nothing is in flight for it, and resp says why (the same
 * codes as sf_client_request). */
sfa_status sf_client_start(sf_client *c, const char *method, const char *path, const cJSON *body,
                           void *tag, sf_response *resp);
/* As sf_client_start, but a 2xx answer is handed over as its text (resp->body, resp->json
 * NULL) for the caller to walk in place instead of as one tree: the text is checked as the
 * parse would have checked it (util/json_scan.c, so it is valid JSON), and a 2xx body that
 * is not valid JSON is SF_UNKNOWN as ever. Non-2xx answers are parsed as usual. The push
 * reads composite answers this way (docs/sync-protocol.md#memory). */
sfa_status sf_client_start_text(sf_client *c, const char *method, const char *path,
                                const cJSON *body, void *tag, sf_response *resp);
/* Started requests not yet returned by sf_client_next. */
size_t sf_client_in_flight(const sf_client *c);
/* Wait for the next started request to end: *tag is its tag, resp its response, and the
 * status is what sf_client_request would have returned for it. SFA_EINVAL (resp
 * initialised) when nothing is in flight. */
sfa_status sf_client_next(sf_client *c, void **tag, sf_response *resp);

/* Ask for query pages of batch_size records (Sforce-Query-Options: batchSize=N on every
 * GET; Salesforce allows 200..2000 and may return fewer). 0: no header (default 2000). */
void sf_client_set_query_batch(sf_client *c, int batch_size);

/* As sf_client_request for a GET sent with If-Modified-Since: since_ms (ms since the
 * epoch, as an RFC 1123 date). Describe global and sObject describe answer 304 with no
 * body when nothing changed since then (docs/salesforce.md#describe). */
sfa_status sf_client_get_if_modified(sf_client *c, const char *path, int64_t since_ms,
                                     sf_response *resp);

/* As sf_client_request for a GET whose 2xx body is left unparsed: resp->json is NULL and
 * resp->body holds the text as received, which the caller must validate itself (a
 * truncated 2xx body is NOT turned into SF_UNKNOWN here). Non-2xx answers are parsed as
 * usual (error_code, error_message). The pull reads query pages this way, one record at
 * a time, instead of as one tree (docs/sync-protocol.md#memory). */
sfa_status sf_client_get_raw(sf_client *c, const char *path, sf_response *resp);

/* Abandon transfers (the request in flight, and any later one) while should_abort(ctx)
 * returns true: asked about once a second during a transfer. An abandoned request's
 * outcome is SF_UNKNOWN once anything was sent. NULL: never. */
void sf_client_set_abort(sf_client *c, bool (*should_abort)(void *ctx), void *ctx);

/* Salesforce's time now, ms since the epoch, from the Date header of its last answer
 * (I14 of sf_client.c: never ahead of the real one by more than this host's clock
 * drifts); this host's clock before any answer. */
int64_t sf_client_server_now_ms(const sf_client *c);
/* Whether an answer told Salesforce's clock yet; *offset_ms (may be NULL): its time minus
 * this host's, 0 when not known. */
bool sf_client_server_clock_known(const sf_client *c, int64_t *offset_ms);

/* From the last Sforce-Limit-Info header: api-usage=used/max. -1 when not seen yet. */
long sf_client_api_used(const sf_client *c);
long sf_client_api_max(const sf_client *c);
/* HTTP requests this client sent that reached, or may have reached, Salesforce (token
 * requests included); attempts that never left the machine are not counted. */
long sf_client_requests_made(const sf_client *c);
/* Bytes this client put on the wire and took off it so far (headers and bodies as
 * transferred: compressed bodies count compressed), token requests included. */
uint64_t sf_client_bytes_sent(const sf_client *c);
uint64_t sf_client_bytes_received(const sf_client *c);

const char *sf_client_instance_url(const sf_client *c);
/* Identity URL's org and user ids from the token response (borrowed, may be NULL). */
const char *sf_client_org_id(const sf_client *c);
const char *sf_client_user_id(const sf_client *c);
/* "vNN.N" */
const char *sf_client_api_version(const sf_client *c);
const char *sf_client_errmsg(const sf_client *c);
/* Identity URL from the token response ("https://login.../id/<org>/<user>"; borrowed, may
 * be NULL). GET it with sf_client_request (absolute URLs are allowed only for this URL and
 * for URLs on the instance or login host) to learn the user name. */
const char *sf_client_identity_url(const sf_client *c);

#endif
