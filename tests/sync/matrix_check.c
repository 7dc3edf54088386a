/* The convergence checker of docs/sync-protocol.md#verification; see matrix_check.h.
 *
 * A record is "blocked" when one of its ops is dead (or in conflict), or when its fields
 * reference (by local id) a blocked record: the engine holds such ops back on purpose, so
 * they may stay pending and their values are not compared. Every other record must have
 * all its ops done and the server state the model predicts. */
#include "matrix_check.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/outbox.h"
#include "sfagent/record.h"
#include "util/alloc.h"
#include "util/json.h"

#define MX_PRINT_MAX 15 /* violations printed per check; the count is exact */

/* ---- model ---- */

mx_rec *mx_model_find(mx_model *m, const char *local_id)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->recs[i].local_id, local_id) == 0)
            return &m->recs[i];
    return NULL;
}

void mx_model_create(mx_model *m, const char *sobject, const char *local_id, const char *json)
{
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->recs = xrealloc(m->recs, m->cap * sizeof *m->recs);
    }
    mx_rec *r = &m->recs[m->count++];
    r->sobject = xstrdup(sobject);
    r->local_id = xstrdup(local_id);
    r->expected = cJSON_Parse(json);
    r->deleted = false;
}

void mx_model_update(mx_model *m, const char *local_id, const char *json)
{
    mx_rec *r = mx_model_find(m, local_id);
    cJSON *changes = cJSON_Parse(json);
    const cJSON *f;
    cJSON_ArrayForEach(f, changes)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(r->expected, f->string);
        cJSON_AddItemToObject(r->expected, f->string, cJSON_Duplicate(f, 1));
    }
    cJSON_Delete(changes);
}

void mx_model_delete(mx_model *m, const char *local_id)
{
    mx_model_find(m, local_id)->deleted = true;
}

void mx_model_free(mx_model *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->recs[i].sobject);
        free(m->recs[i].local_id);
        cJSON_Delete(m->recs[i].expected);
    }
    free(m->recs);
    memset(m, 0, sizeof *m);
}

/* ---- checking ---- */

typedef struct checker {
    mx_result *res;
    mx_model *model;
    sfa_agent *agent;
    cJSON *blocked; /* local id -> true */
} checker;

static void violation(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(checker *c, const char *fmt, ...)
{
    if (c->res->violations++ < MX_PRINT_MAX) {
        va_list ap;
        va_start(ap, fmt);
        fputs("checker: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

static bool is_blocked(checker *c, const char *local_id)
{
    return cJSON_GetObjectItemCaseSensitive(c->blocked, local_id) != NULL;
}

static void block(checker *c, const char *local_id)
{
    if (!is_blocked(c, local_id))
        cJSON_AddTrueToObject(c->blocked, local_id);
}

/* A record referencing a blocked record is blocked too (Case.ContactId -> Contact). */
static bool references_blocked(checker *c, const mx_rec *r)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, r->expected)
    {
        if (cJSON_IsString(f) && strncmp(f->valuestring, "loc-", 4) == 0 &&
            is_blocked(c, f->valuestring))
            return true;
    }
    return false;
}

/* code is one of the comma-separated codes of list (NULL: none). */
static bool code_allowed(const char *list, const char *code)
{
    size_t n = strlen(code);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, code, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* Dead ops carry Salesforce's code and message (and the expected code); inflight ops are
 * never left behind; pending ops only behind a dead op. */
static void check_outbox(checker *c, const char *dead_codes)
{
    sfa_op_array all = {0};
    if (sfa_outbox_list(&all, c->agent, SFA_OP_STATES_ALL, 0) != SFA_OK) {
        violation(c, "outbox cannot be listed: %s", sfa_agent_errmsg(c->agent));
        return;
    }
    for (size_t i = 0; i < all.count; i++) {
        const sfa_op *op = &all.items[i];
        if (op->state != SFA_OP_STATE_DEAD && op->state != SFA_OP_STATE_CONFLICT)
            continue;
        block(c, op->local_id);
        c->res->dead_ops++;
        if (!op->last_error_code || !*op->last_error_code || !op->last_error || !*op->last_error)
            violation(c, "op %lld dead without a code and message", (long long)op->seq);
        else if (!code_allowed(dead_codes, op->last_error_code))
            violation(c, "op %lld (%s %s) dead: %s: %s", (long long)op->seq,
                      sfa_op_kind_name(op->kind), op->local_id, op->last_error_code,
                      op->last_error);
    }
    for (size_t i = 0; i < c->model->count; i++)
        if (references_blocked(c, &c->model->recs[i]))
            block(c, c->model->recs[i].local_id);
    for (size_t i = 0; i < all.count; i++) {
        const sfa_op *op = &all.items[i];
        if (op->state == SFA_OP_STATE_INFLIGHT)
            violation(c, "op %lld (%s %s) left inflight", (long long)op->seq,
                      sfa_op_kind_name(op->kind), op->local_id);
        else if (op->state == SFA_OP_STATE_PENDING && !is_blocked(c, op->local_id))
            violation(c, "op %lld (%s %s) still pending (attempts %d, %s)", (long long)op->seq,
                      sfa_op_kind_name(op->kind), op->local_id, op->attempts,
                      op->last_error_code ? op->last_error_code : "no error");
    }
    sfa_op_array_free(&all);
}

/* The server records of one key, and its live ones. */
static void key_counts(const cJSON *all, const char *key, size_t *n_all, size_t *n_live,
                       const cJSON **live)
{
    *n_all = *n_live = 0;
    *live = NULL;
    const cJSON *r;
    cJSON_ArrayForEach(r, all)
    {
        const char *k = json_str(r, "Sync_Key__c");
        if (!k || strcmp(k, key) != 0)
            continue;
        (*n_all)++;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "IsDeleted"))) {
            (*n_live)++;
            *live = r;
        }
    }
}

/* A local id in an expected value stands for the Salesforce Id of that record. */
static char *expected_value(checker *c, const cJSON *v)
{
    if (cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v))
        return cJSON_PrintUnformatted(v);
    mx_rec *ref =
        strncmp(v->valuestring, "loc-", 4) == 0 ? mx_model_find(c->model, v->valuestring) : NULL;
    sfa_record *rec = NULL;
    if (!ref || sfa_record_get(&rec, c->agent, ref->sobject, ref->local_id) != SFA_OK)
        return xstrdup(v->valuestring);
    char *id = xstrdup(rec->sf_id ? rec->sf_id : v->valuestring);
    sfa_record_free(rec);
    return id;
}

static void check_fields(checker *c, const mx_rec *r, const cJSON *server)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, r->expected)
    {
        char *want = expected_value(c, f);
        const cJSON *got = cJSON_GetObjectItemCaseSensitive(server, f->string);
        char *have = cJSON_IsString(got)           ? xstrdup(got->valuestring)
                     : (!got || cJSON_IsNull(got)) ? NULL
                                                   : cJSON_PrintUnformatted(got);
        if ((want == NULL) != (have == NULL) || (want && strcmp(want, have) != 0))
            violation(c, "%s %s.%s: server has '%s', last local value '%s'", r->sobject,
                      r->local_id, f->string, have ? have : "null", want ? want : "null");
        free(want);
        free(have);
    }
}

static void check_record(checker *c, const mx_rec *r, const cJSON *all)
{
    size_t n_all, n_live;
    const cJSON *live;
    key_counts(all, r->local_id, &n_all, &n_live, &live);
    if (n_all > 1)
        violation(c, "%s %s: %zu server records (duplicate)", r->sobject, r->local_id, n_all);
    if (is_blocked(c, r->local_id)) {
        c->res->blocked++;
        return;
    }
    if (r->deleted && n_live != 0)
        violation(c, "%s %s: deleted locally but alive on the server", r->sobject, r->local_id);
    else if (!r->deleted && n_live != 1)
        violation(c, "%s %s: %zu live server records, want 1 (lost)", r->sobject, r->local_id,
                  n_live);
    else if (!r->deleted)
        check_fields(c, r, live);
    c->res->done_recs++;
}

/* No server record whose key never appeared in the history. */
static void check_unexpected(checker *c, const cJSON *all, const char *sobject)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, all)
    {
        const char *k = json_str(r, "Sync_Key__c");
        mx_rec *m = k ? mx_model_find(c->model, k) : NULL;
        if (!m || strcmp(m->sobject, sobject) != 0)
            violation(c, "unexpected %s on the server: %s (key %s)", sobject,
                      json_str(r, "Id") ? json_str(r, "Id") : "?", k ? k : "none");
    }
}

static void check_integrity(checker *c, const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *txt = (const char *)sqlite3_column_text(st, 0);
        ok = txt && strcmp(txt, "ok") == 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!ok)
        violation(c, "PRAGMA integrity_check of %s is not ok", db_path);
}

static bool seen_object(const mx_model *m, size_t upto, const char *sobject)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(m->recs[i].sobject, sobject) == 0)
            return true;
    return false;
}

size_t mx_check(mx_result *out, mx_model *m, sfa_agent *agent, const char *db_path,
                mx_fetch_fn fetch, void *fetch_ctx, const char *dead_codes)
{
    memset(out, 0, sizeof *out);
    checker c = {out, m, agent, cJSON_CreateObject()};
    check_outbox(&c, dead_codes);
    for (size_t i = 0; i < m->count; i++) {
        const char *obj = m->recs[i].sobject;
        if (seen_object(m, i, obj))
            continue;
        cJSON *all = fetch(fetch_ctx, obj, true);
        if (!all) {
            violation(&c, "cannot read the server's %s records", obj);
            continue;
        }
        for (size_t j = i; j < m->count; j++)
            if (strcmp(m->recs[j].sobject, obj) == 0)
                check_record(&c, &m->recs[j], all);
        check_unexpected(&c, all, obj);
        cJSON_Delete(all);
    }
    check_integrity(&c, db_path);
    cJSON_Delete(c.blocked);
    return out->violations;
}

/* ---- request log ---- */

static bool is_mutation(const cJSON *req)
{
    const char *method = json_str(req, "method"), *path = json_str(req, "path");
    if (!method || !path || strncmp(path, "/services/data/", 15) != 0)
        return false;
    return strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
           strcmp(method, "DELETE") == 0;
}

size_t mx_log_mutations(const cJSON *request_log)
{
    size_t n = 0;
    const cJSON *req;
    cJSON_ArrayForEach(req, request_log)
    {
        if (is_mutation(req))
            n++;
    }
    return n;
}

static void collect_keys(const cJSON *node, cJSON *counts)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if (child->string && strcmp(child->string, "Sync_Key__c") == 0 && cJSON_IsString(child)) {
            cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, child->valuestring);
            if (n)
                cJSON_SetNumberValue(n, n->valuedouble + 1);
            else
                cJSON_AddNumberToObject(counts, child->valuestring, 1);
        } else if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
            collect_keys(child, counts);
        }
    }
}

cJSON *mx_sent_keys(const cJSON *request_log)
{
    cJSON *counts = cJSON_CreateObject();
    const cJSON *req;
    cJSON_ArrayForEach(req, request_log)
    {
        const char *body = json_str(req, "body");
        if (!is_mutation(req) || !body)
            continue;
        cJSON *j = cJSON_Parse(body);
        collect_keys(j, counts);
        cJSON_Delete(j);
    }
    return counts;
}
