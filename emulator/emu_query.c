/* GET /query?q=, /queryAll?q= and /query/<locator>-<offset> (docs/salesforce.md#query).
 *
 * The SOQL subset is parsed and evaluated by soql/ (shared with the agent). The whole
 * result is snapshot at query time; when it does not fit on one page the rows are kept
 * in a cursor (feature state) and nextRecordsUrl points at "<locator>-<offset>", which
 * is how Salesforce pages: a later edit does not change the pages of an open query.
 *
 * Scale (10,000+ records): WHERE is evaluated on the stored records and views are built
 * only for the matches, holding only the fields the query names; `WHERE Id/<external ID>
 * IN (...)` or `=` fetches its candidates from the store's indexes (emu_store_select). */
#include "emu_feat_common.h"

#include "soql/soql.h"
#include "util/alloc.h"
#include "util/sfid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 2000
#define PAGE_MIN     200
#define PAGE_MAX     2000
/* SOQL's OFFSET limit: a larger one is NUMBER_OUTSIDE_VALID_RANGE (docs/salesforce.md#query). */
#define OFFSET_MAX 2000

/* Sforce-Query-Options: batchSize=N, clamped to [200, 2000] (docs: "not guaranteed"). */
static int asked_batch_size(const emu_req *req)
{
    const char *h = emu_req_header(req, "Sforce-Query-Options");
    const char *p = h ? strstr(h, "batchSize=") : NULL;
    if (!p)
        return PAGE_DEFAULT;
    char *end;
    long n = strtol(p + strlen("batchSize="), &end, 10);
    if (end == p + strlen("batchSize="))
        return PAGE_DEFAULT;
    return n < PAGE_MIN ? PAGE_MIN : n > PAGE_MAX ? PAGE_MAX : (int)n;
}

/* The page size served: the one asked for, at most --query-page-max (Salesforce may
 * return smaller batches than asked; clients must follow nextRecordsUrl either way). */
static int batch_size(const emu_req *req)
{
    int asked = asked_batch_size(req), max = emu_query_page_max(req->emu);
    return max > 0 && max < asked ? max : asked;
}

/* The fields a query names (select list, WHERE, ORDER BY), collected while checking
 * them: the views built for the matching rows hold only these, and a dotted one means
 * WHERE needs the nested relationship objects built from them (match_view). */
typedef struct named_fields {
    emu *e;
    const emu_object *obj;
    const char **names; /* borrowed from the query */
    size_t n, cap;
    bool dotted;
} named_fields;

/* soql_check_fields callback: a plain field of the object, or a relationship path
 * (Contact.LastName) whose relationship and parent field exist (emu_field_path_exists). */
static bool field_exists(const char *field, void *ctx)
{
    named_fields *nf = ctx;
    if (nf->n == nf->cap) {
        nf->cap = nf->cap ? nf->cap * 2 : 16;
        nf->names = xrealloc(nf->names, nf->cap * sizeof *nf->names);
    }
    nf->names[nf->n++] = field;
    if (strchr(field, '.'))
        nf->dotted = true;
    return emu_field_path_exists(nf->e, nf->obj, field);
}

/* soql_check_values callback: the describe type of a plain field; relationship paths
 * (Contact.LastName) are not typed here and so not checked. */
static const char *field_type(const char *field, void *ctx)
{
    return strchr(field, '.') ? NULL : emu_field_type(ctx, field);
}

/* soql_check_usage callback: describe's filterable / sortable / groupable. */
static bool field_allows(const char *field, soql_field_use use, void *ctx)
{
    const named_fields *nf = ctx;
    char u = use == SOQL_USE_GROUP ? 'g' : use == SOQL_USE_SORT ? 's' : 'f';
    return emu_field_path_allows(nf->e, nf->obj, field, u);
}

static feat_cursor *cursor_new(emu *e)
{
    feat_state *st = feat_state_get(e);
    feat_cursor *c = &st->cursors[0];
    for (size_t i = 0; i < FEAT_MAX_CURSORS; i++) {
        feat_cursor *k = &st->cursors[i];
        if (!k->records) {
            c = k;
            break;
        }
        if (k->serial < c->serial)
            c = k;
    }
    cJSON_Delete(c->records); /* the oldest cursor expires */
    memset(c, 0, sizeof *c);
    c->serial = ++st->cursor_serial;
    c->created_ms = time_now_ms();
    sfid_make("01g", c->serial, c->id);
    return c;
}

static feat_cursor *cursor_find(emu *e, const char *id, size_t len)
{
    feat_state *st = feat_state_get(e);
    for (size_t i = 0; i < FEAT_MAX_CURSORS; i++) {
        feat_cursor *c = &st->cursors[i];
        if (!c->records || len != strlen(c->id) || strncmp(c->id, id, len) != 0)
            continue;
        if (time_now_ms() - c->created_ms >= FEAT_CURSOR_LIFE_MS) {
            cJSON_Delete(c->records); /* expired: its locator is invalid from now on */
            c->records = NULL;
            return NULL;
        }
        return c;
    }
    return NULL;
}

/* One page: rows [offset, offset+batch) of all, plus done/nextRecordsUrl. */
static cJSON *page(const emu_req *req, const feat_cursor *c, const cJSON *all, size_t offset)
{
    size_t nrows = (size_t)cJSON_GetArraySize(all);
    size_t end = offset + (size_t)c->batch < nrows ? offset + (size_t)c->batch : nrows;
    cJSON *body = cJSON_CreateObject(), *records = cJSON_CreateArray();
    cJSON_AddNumberToObject(body, "totalSize", (double)c->total);
    cJSON_AddBoolToObject(body, "done", end >= nrows);
    if (end < nrows) {
        char prefix[32], url[96];
        feat_version_prefix(req->api_version, prefix);
        snprintf(url, sizeof url, "%s/query/%s-%zu", prefix, c->id, end);
        cJSON_AddStringToObject(body, "nextRecordsUrl", url);
    }
    size_t i = 0;
    for (const cJSON *r = all->child; r && i < end; r = r->next, i++)
        if (i >= offset)
            cJSON_AddItemToArray(records, cJSON_Duplicate(r, true));
    cJSON_AddItemToObject(body, "records", records);
    return body;
}

static void next_page(emu_req *req, emu_resp *resp, const char *locator)
{
    const char *dash = strrchr(locator, '-');
    feat_cursor *c = dash ? cursor_find(req->emu, locator, (size_t)(dash - locator)) : NULL;
    char *end = NULL;
    unsigned long long offset = dash ? strtoull(dash + 1, &end, 10) : 0;
    if (!c || !end || end == dash + 1 || *end != '\0' ||
        offset > (unsigned long long)cJSON_GetArraySize(c->records)) {
        emu_resp_error(resp, 400, "INVALID_QUERY_LOCATOR", "invalid query locator", NULL);
        return;
    }
    emu_resp_json(resp, 200, page(req, c, c->records, (size_t)offset));
}

static void unsupported_type(emu_resp *resp, const char *name)
{
    char msg[400];
    snprintf(msg, sizeof msg,
             "sObject type '%.100s' is not supported. If you are attempting to use a custom "
             "object, be sure to append the '__c' after the entity name. Please reference your "
             "WSDL or the describe call for the appropriate names.",
             name);
    emu_resp_error(resp, 400, "INVALID_TYPE", msg, NULL);
}

/* WHERE <field> = / IN (...) names the only values a match can have: pass them as the
 * index hint (used for Id and external-ID fields). Returns the key array (caller frees). */
static const char **where_keys(const soql_query *q, const emu_object *obj, emu_select *sel)
{
    const char *field = NULL;
    size_t n = soql_where_keys(q, &field);
    const char *canon = n ? emu_field_canonical(obj, field) : NULL;
    if (!canon)
        return NULL;
    const char **keys = xcalloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = soql_where_key(q, i);
    sel->key_field = canon;
    sel->keys = keys;
    sel->nkeys = n;
    return keys;
}

static const char *const no_fields[] = {NULL};

static bool matches(const cJSON *record, void *ctx)
{
    return soql_matches(ctx, record);
}

/* What Salesforce checks before it runs a query, in its order: every named field exists
 * (collected into nf), each is usable where it is used (filterable, sortable, groupable),
 * literals fit their fields, OFFSET is in range. false after answering the 400. */
static bool query_is_valid(const soql_query *q, named_fields *nf, emu_resp *resp)
{
    soql_error err = {0};
    if (!soql_check_fields(q, field_exists, nf, &err) ||
        !soql_check_usage(q, field_allows, nf, &err) ||
        !soql_check_values(q, field_type, (void *)nf->obj, &err)) {
        emu_resp_error(resp, 400, err.code, err.message, NULL);
        return false;
    }
    if (soql_offset(q) > OFFSET_MAX) {
        emu_resp_error(resp, 400, "NUMBER_OUTSIDE_VALID_RANGE",
                       "Maximum SOQL offset allowed is 2000", NULL);
        return false;
    }
    return true;
}

static void run_query(emu_req *req, emu_resp *resp, const char *text, bool all)
{
    soql_error err = {0};
    soql_query *q = soql_parse(text, &err);
    cJSON *rows = NULL, *result = NULL;
    named_fields nf = {0};
    if (!q) {
        emu_resp_error(resp, 400, err.code, err.message, NULL);
        goto out;
    }
    const emu_object *obj = emu_object_find(req->emu, soql_from(q));
    if (!obj) {
        unsupported_type(resp, soql_from(q));
        goto out;
    }
    nf.e = req->emu;
    nf.obj = obj;
    if (!query_is_valid(q, &nf, resp))
        goto out;
    /* Filter before building views (a query over 10,000 records used to copy them all);
     * soql_execute filters the matches again (cheap), sorts and projects them. */
    emu_select sel = {.obj = obj,
                      .include_deleted = all,
                      .match = matches,
                      .ctx = q,
                      .match_view = nf.dotted,
                      .fields = nf.n ? nf.names : no_fields, /* COUNT(): attributes only */
                      .nfields = nf.n};
    const char **keys = where_keys(q, obj, &sel);
    sel.has_modstamp_floor = soql_where_floor(q, "SystemModstamp", &sel.modstamp_floor_ms);
    rows = emu_store_select(req->emu, &sel, req->api_version);
    free(keys);
    size_t total = 0;
    result = soql_execute(q, rows, &total);
    feat_cursor tmp = {.batch = batch_size(req), .total = total};
    if (cJSON_GetArraySize(result) <= tmp.batch) {
        emu_resp_json(resp, 200, page(req, &tmp, result, 0));
        goto out;
    }
    feat_cursor *c = cursor_new(req->emu);
    c->batch = tmp.batch;
    c->total = total;
    c->records = result;
    result = NULL; /* owned by the cursor now */
    emu_resp_json(resp, 200, page(req, c, c->records, 0));
out:
    free(nf.names);
    cJSON_Delete(result);
    cJSON_Delete(rows);
    soql_free(q);
}

void emu_handle_query(emu_req *req, emu_resp *resp)
{
    bool all = strncmp(req->rest, "/queryAll", 9) == 0;
    const char *tail = req->rest + (all ? 9 : 6);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "HTTP Method '%s' not allowed. Allowed are GET,HEAD",
                 req->method);
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", msg, NULL);
        return;
    }
    if (tail[0] == '/' && tail[1] != '\0') {
        next_page(req, resp, tail + 1);
        return;
    }
    const char *q = emu_req_arg(req, "q");
    if (!q || !*q) {
        emu_resp_error(resp, 400, "MALFORMED_QUERY", "A query string has to be specified", NULL);
        return;
    }
    run_query(req, resp, q, all);
}
