/* The pull engine (Salesforce -> mirror): sync/engine/pull.c (the run and the incremental
 * query), pull_scope.c (what to cache), pull_deletes.c (getDeleted and full Id
 * reconciliation), pull_refresh.c (one record on demand). docs/sync-protocol.md#pull.
 * Never used by agent/ or embedders (they call sfa_sync_run / sfa_sync_refresh).
 */
#ifndef SFA_SYNC_ENGINE_PULL_H
#define SFA_SYNC_ENGINE_PULL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/status.h"
#include "sfagent/sync.h"
#include "store/pull.h"
#include "sync/client/sf_client.h"
#include "util/json_scan.h"

/* Records per query page asked for (Salesforce's maximum; it may send fewer). */
#define PULL_BATCH_DEFAULT 2000
/* getDeleted reaches back 15 days; start a reconciliation a little before that. */
#define PULL_DELETES_KEPT_MS (15LL * 24 * 3600 * 1000 - 3600 * 1000)
/* With no settle bound, how far ahead of Salesforce's clock as this host knows it
 * (pull_server_now) a pulled SystemModstamp may be (pull.c I7). */
#define PULL_CLOCK_SKEW_MS (10LL * 60 * 1000)
/* Empty pages in a row that one query may answer before it is given up on. */
#define PULL_EMPTY_PAGES 3
/* Restarts of a query whose locator expired, per object and run. */
#define PULL_LOCATOR_RESTARTS 3

/* What to cache of one sObject. */
typedef struct pull_scope {
    char *sobject;
    char *select;    /* "Id, SystemModstamp, ..." */
    char *where;     /* configured condition, or NULL */
    char *key_field; /* the idempotency field when the object has it, else NULL */
    char hash[17];   /* of select + where: a change resets the mark */
} pull_scope;

typedef struct pull_ctx {
    sfa_agent *agent;
    sf_client *client; /* borrowed */
    const sfa_config *cfg;
    double api_share;
    store_pull_counts counts;
    /* The changes query under way began with no record of its object in the mirror:
     * its pages need no lookups (store_pull_page, M10 of store/mirror.c). */
    bool all_new;
    /* SOQL dateTime: ask only for records with SystemModstamp before it ("" no bound). */
    char cut[40];
    /* Set when a request or the store failed; the first reason wins. */
    sfa_status st;
    char msg[256];
} pull_ctx;

/* Salesforce's time now (sf_client_server_now_ms: from the Date of its answers, this
 * host's clock before any): every bound the pull puts on Salesforce's timestamps (the
 * settle bound, getDeleted's window, the starts of a new mark) comes from it, so a host
 * whose clock is wrong still pulls what Salesforce has. */
int64_t pull_server_now(const pull_ctx *ctx);

/* Stop with st and a message (printf-style); returns st. */
sfa_status pull_fail(pull_ctx *ctx, sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GET path; on SFA_OK resp holds a 2xx answer with a JSON body. Otherwise the status
 * says why (SFA_ENETWORK not reachable, SFA_ERETRY answer lost, SFA_ELIMIT, SFA_EAUTH,
 * SFA_ESERVER with resp->error_code set, e.g. INVALID_QUERY_LOCATOR) and ctx is NOT
 * stopped: the caller decides. resp must be freed either way. */
sfa_status pull_get(pull_ctx *ctx, const char *path, sf_response *resp);

/* pull_scope.c: build the scope of sobject from the configuration and describe (fetched
 * and cached when missing). */
sfa_status pull_scope_build(pull_scope *out, pull_ctx *ctx, const char *sobject);
void pull_scope_clear(pull_scope *s);
/* The default field list from a describe: retrievable fields minus long text areas
 * (textarea longer than 255), base64 and compound fields. Pure; caller frees. */
char *pull_scope_default_fields(const cJSON *describe);

/* The SOQL of an incremental pull after (mark_modstamp, mark_id) (both NULL: from the
 * start) and before cut (a SOQL dateTime; NULL or "": no bound). Caller frees; NULL when
 * the mark's time cannot be parsed. Pure. */
char *pull_soql(const pull_scope *sc, const char *mark_modstamp, const char *mark_id,
                const char *cut);

/* One query page as read from its text (pull_page.c): each record's JSON text, borrowed
 * from the response body, and the next page's URL. */
typedef struct pull_page {
    json_span *records;
    size_t n, cap;
    char *next;            /* nextRecordsUrl when the query is not done, else NULL */
    const char *cut_short; /* why the query ends unfinished after this page (done:false
                              without a usable nextRecordsUrl), static text; else NULL */
} pull_page;

/* Read a query answer's text into out (caller clears it; the spans point into body,
 * which must outlive them). SFA_ERETRY when the text is empty, truncated or not JSON
 * (the answer was lost on the way: ask again), SFA_ESERVER when it is JSON but not a
 * query answer; *why says which, as a static text. Pure. */
sfa_status pull_page_scan(pull_page *out, const char *body, size_t len, const char **why);
void pull_page_clear(pull_page *p);

/* pull.c I7: is the last record of a page (a mark to be) within the query's own upper
 * bound? SFA_ESERVER (ctx stopped, naming the stamp) when it is after it. */
sfa_status pull_check_bound(pull_ctx *ctx, const pull_scope *sc, const pull_page *page);

/* Takes one page of query records (maybe empty) into the store. */
typedef sfa_status (*pull_page_fn)(pull_ctx *ctx, const pull_scope *sc, const pull_page *page);

/* Follow one query from path (owned: freed here) to its last page, giving each page to
 * take before asking for the next one. *expired: the query locator died
 * (INVALID_QUERY_LOCATOR); the caller restarts from its committed mark. */
sfa_status pull_follow(pull_ctx *ctx, const pull_scope *sc, char *path, pull_page_fn take,
                       bool *expired);
/* "query?q=<soql, URL-encoded>" (caller frees). */
char *pull_query_path(const char *soql);
/* A Salesforce timestamp as an unquoted SOQL dateTime literal (YYYY-MM-DDThh:mm:ssZ, its
 * second: fractions rounded down); false when stamp cannot be parsed. */
bool pull_soql_datetime(const char *stamp, char out[40]);

/* pull_left.c: records modified after the leaving mark that no longer match the scope's
 * `where` leave the mirror (none to do without a where). */
sfa_status pull_left(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps);
/* The SOQL that lists them after (stamp, id) (id NULL: from stamp on) and before cut
 * (as pull_soql). Caller frees; NULL when the scope has no where or stamp cannot be
 * parsed. Pure. */
char *pull_left_soql(const pull_scope *sc, const char *stamp, const char *id, const char *cut);

/* pull_deletes.c: bring deletes up to date for one object (getDeleted, or a full Id
 * reconciliation when owed or when Salesforce no longer has the deletes). */
sfa_status pull_deletes(pull_ctx *ctx, const pull_scope *sc, store_pull_state *ps);

/* The whole pull for every configured object. */
sfa_status pull_run(pull_ctx *ctx);

/* Entry point from sfa_sync_run (push.c), under its run lease: pull every configured
 * object with client (borrowed), pages of batch records (0: PULL_BATCH_DEFAULT), within
 * api_share of the org's limit; counts added to report. On failure msg says why. */
sfa_status sync_pull_run(sfa_agent *agent, const sfa_config *cfg, sf_client *client, int batch,
                         double api_share, sfa_sync_report *report, char *msg, size_t msglen);

#endif
