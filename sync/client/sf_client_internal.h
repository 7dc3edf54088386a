/* Internals of the Salesforce client shared by sync/client/sf_client.c, sf_parse.c, oauth.c,
 * jwt.c and login.c, and exposed for unit tests: pure parsers (headers, error bodies,
 * token responses), outcome classification, and the OAuth/JWT request builders. */
#ifndef SFA_SYNC_SF_CLIENT_INTERNAL_H
#define SFA_SYNC_SF_CLIENT_INTERNAL_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfagent/config.h"
#include "sfagent/status.h"
#include "sync/client/sf_client.h"
#include "util/strbuf.h"

/* ---- sf_parse.c: pure parsers ---- */

/* Sforce-Limit-Info value, e.g. "api-usage=10018/100000; api-bursts=1/750": fills used and
 * max from api-usage. Unknown keys are ignored. False when api-usage is absent or bad. */
bool sf_parse_limit_info(const char *value, long *used, long *max);
/* Retry-After value: delay-seconds, or an HTTP date (RFC 9110 IMF-fixdate) relative to
 * now_ms. Returns seconds (>= 0; a past date is 0), or -1 when unparseable. */
int sf_parse_retry_after(const char *value, int64_t now_ms);
/* Error code and message of a non-2xx body: a REST error array [{errorCode,message}], a
 * bare object, an OAuth {error,error_description}, or anything else ("ERROR_HTTP_<status>").
 * json is the parsed body or NULL. Outputs are owned by the caller. */
void sf_parse_error_body(long status, const cJSON *json, char **code, char **message);
/* Outcome class of a finished curl transfer (docs/sync-protocol.md#request-outcomes). request_size
 * is CURLINFO_REQUEST_SIZE: 0 means nothing was issued. */
sf_outcome sf_outcome_from_curl(CURLcode rc, long request_size);
/* Copy of text with bearer tokens ("Bearer <token>", any case) and Salesforce session ids
 * ("00D<12 or 15 alphanumerics>!<secret>") replaced by "[redacted]": every server text the
 * client hands upward (error messages, error bodies) goes through here, so a server that
 * echoes the Authorization header cannot get the token into last_error or a log (issue
 * 8.4). NULL for NULL. Caller frees. */
char *sf_scrub_secrets(const char *text);
/* Is the method one that may change data on the server? */
bool sf_method_is_mutating(const char *method);
/* gzip (RFC 1952) of in[0..len): *out is the caller's to free. False, with *out NULL, when
 * zlib fails (the caller sends the body uncompressed). sf_client.c. */
bool sf_gzip(unsigned char **out, size_t *out_len, const char *in, size_t len);

/* ---- sf_client.c: the pieces of one transfer, shared with sf_client_multi.c ---- */

/* Per-transfer state filled by the curl callbacks. */
typedef struct sf_xfer {
    strbuf body;
    size_t cap;   /* max_response_bytes: body bytes after decompression (I9) */
    bool too_big; /* the body went over cap: transfer aborted */
    char *content_type;
    char *content_encoding; /* the body is kept as it arrived, inflated when collected (I13) */
    char *limit_info;
    char *retry_after;
    char *date;    /* the Date header: Salesforce's clock (I14 of sf_client.c) */
    bool text_2xx; /* a 2xx answer is validated and left as text (sf_client_start_text) */
} sf_xfer;

/* One request body: the bytes that go out, and whether they are gzip-compressed (I11).
 * Built once per request, so a replay after a re-login sends the same bytes. */
typedef struct sf_req_body {
    const char *content_type;
    const char *data; /* text or gz */
    size_t len;
    bool gzipped;
    char *text;        /* owned: the JSON text when sent uncompressed */
    unsigned char *gz; /* owned: its gzip when compressed */
} sf_req_body;

void sf_req_body_make(sf_req_body *b, const sf_client *c, const cJSON *body);
void sf_req_body_free(sf_req_body *b);
void sf_xfer_init(sf_xfer *x, const sf_client *c);
void sf_xfer_free(sf_xfer *x);
/* Absolute URL for path (sf_client_request's rules), or NULL when refused. Caller frees. */
char *sf_client_url(const sf_client *c, const char *path);
/* The request's headers, Authorization included (free with curl_slist_free_all). */
struct curl_slist *sf_client_headers(const sf_client *c, const char *method, const sf_req_body *b);
/* Set every option of one transfer on h (fresh: no reused connection, I6). */
void sf_client_setup_transfer(sf_client *c, CURL *h, bool fresh, const char *method,
                              const char *url, struct curl_slist *hdrs, const char *body,
                              size_t len, sf_xfer *x);
/* After a transfer on h ended with rc: outcome, counters and resp; frees x's members.
 * SFA_ETLS when the certificate failed verification, else SFA_OK. */
sfa_status sf_client_finish_transfer(sf_client *c, CURL *h, CURLcode rc, const char *method,
                                     sf_xfer *x, size_t len, bool json_call, sf_response *resp);
/* Log in when there is no token yet; *gen gets the token generation (I3). On failure resp
 * says why (not sent) and the status is returned. */
sfa_status sf_client_ensure_token(sf_client *c, unsigned *gen, sf_response *resp);
/* The re-login after a 401 (once per request, I2), unless another request already replaced
 * the token of generation gen. On failure resp says why. */
sfa_status sf_client_relogin(sf_client *c, unsigned gen, sf_response *resp);
/* Records that a replay after a re-login was refused again. */
void sf_client_note_refused(sf_client *c);
bool sf_response_session_expired(const sf_response *r);
sfa_status sf_client_fail_before_send(sf_client *c, sfa_status st, sf_response *resp);
CURL *sf_client_easy(sf_client *c);
/* The client's requests in flight (sf_client_multi.c); freed with the client. */
struct sf_multi;
struct sf_multi **sf_client_multi_slot(sf_client *c);
void sf_multi_free(struct sf_multi *m);

/* ---- oauth.c: token endpoint ---- */

typedef struct sf_token {
    char *access_token;
    char *instance_url; /* without trailing slash */
    char *id_url;       /* identity URL */
    char *org_id;
    char *user_id;
    char *issued_at;     /* milliseconds since the epoch, as Salesforce sends it */
    char *refresh_token; /* only when the server rotated it */
} sf_token;

void sf_token_clear(sf_token *t);
/* Form body (application/x-www-form-urlencoded) for the configured flow, every value
 * escaped with curl_easy_escape. now_s feeds the JWT exp claim. The result holds secrets:
 * never log it. refresh_override replaces the configured refresh token (rotation). */
sfa_status oauth_build_form(strbuf *out, CURL *curl, const sfa_config *cfg,
                            const char *refresh_override, int64_t now_s, char **errmsg);
/* Parse a token endpoint answer. 200 with access_token and instance_url -> SFA_OK;
 * an OAuth error on a 4xx -> SFA_EAUTH with "Salesforce login failed: <error>:
 * <description>"; 5xx, 408, 429, or a 2xx without a usable token (HTML, garbage) ->
 * SFA_ENETWORK ("try later": the engine backs the run off); other statuses -> SFA_EAUTH. */
sfa_status oauth_parse_token_response(sf_token *out, long status, const cJSON *json, char **errmsg);
/* Split ".../id/<org>/<user>" into the two ids. False when the URL has another shape. */
bool oauth_split_identity(const char *id_url, char **org_id, char **user_id);

/* ---- jwt.c: JWT bearer assertion ---- */

/* aud claim for a login URL: https://test.salesforce.com for sandboxes, https://login.
 * salesforce.com for other *.salesforce.com hosts, else the login URL itself (Experience
 * Cloud sites, the emulator). Caller frees. */
char *jwt_audience(const char *login_url);
/* base64url without padding. Caller frees. */
char *jwt_base64url(const unsigned char *data, size_t len);
/* Signed RS256 assertion: header {"alg":"RS256"}, claims iss/sub/aud/exp (now_s + 180).
 * key_pem_path is a PEM private key file. Caller frees *out. */
sfa_status jwt_build_assertion(char **out, const char *client_id, const char *username,
                               const char *aud, int64_t now_s, const char *key_pem_path,
                               char **errmsg);

/* An empty response: nothing sent yet, no Retry-After. */
void sf_response_init(sf_response *resp);

#endif
