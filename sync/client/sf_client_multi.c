/* Requests in flight: several Salesforce requests at once on one libcurl multi handle,
 * driven entirely by the thread that owns the client (sf_client.h). The push engine
 * starts independent batches with sf_client_start and collects each answer with
 * sf_client_next, so it keeps every SQLite access on its own thread while the network
 * waits overlap.
 *
 * Each request has its own easy handle (kept in a small pool, so a run does not create
 * one per request); connections are shared through the multi handle's pool. The transfer
 * itself (options, outcome class, byte counts, parsing) is sf_client.c's, so a request in
 * flight behaves exactly as one sent with sf_client_request.
 *
 * Invariants:
 *   M1. Every started request ends exactly once through sf_client_next (or is abandoned
 *       by sf_client_free, which removes it from the multi handle before freeing it).
 *   M2. A 401 is answered as in sf_client_request: one re-login (unless another request
 *       already replaced the token, sf_client.c I3) and one replay of the same bytes.
 *       The re-login waits; requests still in flight continue afterwards.
 *   M3. POST requests go out on a fresh connection (sf_client.c I6), set per transfer.
 */
#include <stdlib.h>
#include <string.h>

#include "sync/client/sf_client.h"
#include "sync/client/sf_client_internal.h"
#include "util/alloc.h"

/* Easy handles kept for reuse; more requests than this in flight simply create more. */
#define POOL_MAX 11

typedef struct sf_call {
    char *method;
    char *path;
    sf_req_body body;
    CURL *h;
    sf_xfer x;
    struct curl_slist *hdrs;
    char *url;
    unsigned gen; /* token generation the request was sent with (M2) */
    bool replayed;
    bool text; /* sf_client_start_text */
    void *tag;
    struct sf_call *next;
} sf_call;

struct sf_multi {
    CURLM *m;
    sf_call *calls; /* in flight */
    size_t ncalls;
    CURL *pool[POOL_MAX];
    size_t npool;
};

static struct sf_multi *multi_of(sf_client *c)
{
    struct sf_multi **slot = sf_client_multi_slot(c);
    if (!*slot) {
        *slot = xcalloc(1, sizeof **slot);
        (*slot)->m = curl_multi_init();
        if (!(*slot)->m)
            abort(); /* out of memory: the allocation policy (STYLE 7) */
    }
    return *slot;
}

static CURL *take_handle(struct sf_multi *mu)
{
    if (mu->npool > 0)
        return mu->pool[--mu->npool];
    CURL *h = curl_easy_init();
    if (!h)
        abort(); /* out of memory */
    return h;
}

static void give_handle(struct sf_multi *mu, CURL *h)
{
    if (mu->npool < POOL_MAX)
        mu->pool[mu->npool++] = h;
    else
        curl_easy_cleanup(h);
}

static void call_free(struct sf_multi *mu, sf_call *call)
{
    if (call->h)
        give_handle(mu, call->h);
    curl_slist_free_all(call->hdrs);
    free(call->url);
    sf_req_body_free(&call->body);
    free(call->method);
    free(call->path);
    free(call);
}

/* Put call on the wire (again, for a replay): fresh headers carry the current token. */
static sfa_status launch(sf_client *c, struct sf_multi *mu, sf_call *call, sf_response *resp)
{
    free(call->url);
    call->url = sf_client_url(c, call->path);
    if (!call->url) {
        resp->error_message = xstrdup("refused: absolute URL outside the Salesforce instance");
        return SFA_EINVAL;
    }
    curl_slist_free_all(call->hdrs);
    call->hdrs = sf_client_headers(c, call->method, &call->body);
    sf_xfer_init(&call->x, c);
    call->x.text_2xx = call->text;
    bool fresh = strcmp(call->method, "POST") == 0; /* M3 */
    sf_client_setup_transfer(c, call->h, fresh, call->method, call->url, call->hdrs,
                             call->body.data, call->body.len, &call->x);
    curl_easy_setopt(call->h, CURLOPT_PRIVATE, (char *)call);
    if (curl_multi_add_handle(mu->m, call->h) != CURLM_OK) {
        sf_xfer_free(&call->x);
        resp->error_message = xstrdup("not sent: libcurl refused the transfer");
        return SFA_ERROR;
    }
    return SFA_OK;
}

static sfa_status start(sf_client *c, const char *method, const char *path, const cJSON *body,
                        bool text, void *tag, sf_response *resp)
{
    sf_response_init(resp);
    if (!c || !method || !path)
        return SFA_EINVAL;
    unsigned gen = 0;
    sfa_status st = sf_client_ensure_token(c, &gen, resp);
    if (st != SFA_OK)
        return st;
    struct sf_multi *mu = multi_of(c);
    sf_call *call = xcalloc(1, sizeof *call);
    call->method = xstrdup(method);
    call->path = xstrdup(path);
    sf_req_body_make(&call->body, c, body);
    call->h = take_handle(mu);
    call->gen = gen;
    call->tag = tag;
    call->text = text;
    if ((st = launch(c, mu, call, resp)) != SFA_OK) {
        call_free(mu, call);
        return st;
    }
    call->next = mu->calls;
    mu->calls = call;
    mu->ncalls++;
    return SFA_OK;
}

sfa_status sf_client_start(sf_client *c, const char *method, const char *path, const cJSON *body,
                           void *tag, sf_response *resp)
{
    return start(c, method, path, body, false, tag, resp);
}

sfa_status sf_client_start_text(sf_client *c, const char *method, const char *path,
                                const cJSON *body, void *tag, sf_response *resp)
{
    return start(c, method, path, body, true, tag, resp);
}

size_t sf_client_in_flight(const sf_client *c)
{
    struct sf_multi *const *slot = sf_client_multi_slot((sf_client *)c);
    return c && *slot ? (*slot)->ncalls : 0;
}

static void unlink_call(struct sf_multi *mu, sf_call *call)
{
    for (sf_call **p = &mu->calls; *p; p = &(*p)->next)
        if (*p == call) {
            *p = call->next;
            mu->ncalls--;
            return;
        }
}

/* call's transfer ended with rc. Returns true when it is final (resp and *st set), false
 * when it was replayed after a re-login (M2) and is in flight again. */
static bool settle(sf_client *c, struct sf_multi *mu, sf_call *call, CURLcode rc, sfa_status *st,
                   sf_response *resp)
{
    curl_multi_remove_handle(mu->m, call->h);
    *st = sf_client_finish_transfer(c, call->h, rc, call->method, &call->x, call->body.len, true,
                                    resp);
    if (*st != SFA_OK || !sf_response_session_expired(resp))
        return true;
    if (call->replayed) {
        sf_client_note_refused(c);
        return true;
    }
    if ((*st = sf_client_relogin(c, call->gen, resp)) != SFA_OK)
        return true;
    sf_response_free(resp);
    resp->outcome = SF_NOT_SENT; /* until the replay ends */
    call->replayed = true;
    call->gen = 0; /* the replay's token is the current one; a second 401 is final */
    if ((*st = launch(c, mu, call, resp)) != SFA_OK)
        return true;
    return false;
}

sfa_status sf_client_next(sf_client *c, void **tag, sf_response *resp)
{
    sf_response_init(resp);
    *tag = NULL;
    if (!c || sf_client_in_flight(c) == 0)
        return SFA_EINVAL;
    struct sf_multi *mu = multi_of(c);
    for (;;) {
        int running = 0, left = 0;
        curl_multi_perform(mu->m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(mu->m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            sf_call *call = (sf_call *)(void *)priv;
            CURLcode rc = msg->data.result;
            sfa_status st = SFA_OK;
            if (!settle(c, mu, call, rc, &st, resp))
                continue; /* replayed: in flight again */
            *tag = call->tag;
            unlink_call(mu, call);
            call_free(mu, call);
            return st; /* M1 */
        }
        /* Wakes on socket activity or after the timeout, to run curl's own timers. */
        curl_multi_poll(mu->m, NULL, 0, 1000, NULL);
    }
}

void sf_multi_free(struct sf_multi *mu)
{
    if (!mu)
        return;
    while (mu->calls) { /* M1: abandoned with the client */
        sf_call *call = mu->calls;
        mu->calls = call->next;
        curl_multi_remove_handle(mu->m, call->h);
        sf_xfer_free(&call->x);
        call_free(mu, call);
    }
    for (size_t i = 0; i < mu->npool; i++)
        curl_easy_cleanup(mu->pool[i]);
    curl_multi_cleanup(mu->m);
    free(mu);
}
