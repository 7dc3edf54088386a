/* The emulator's control surface: the emulator.h C API for in-process tests and the same
 * operations over HTTP under /__emulator/ for the standalone program (docs/emulator.md).
 * Every C entry point takes the lock; the HTTP handler runs with it already held, so both
 * share the *_locked helpers below. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- records ---- */

static cJSON *record_view_locked(emu *e, const char *id)
{
    emu_record *r = emu_store_get(e, id);
    return r ? emu_store_view(e, r->obj, r->fields, NULL, 0, 62.0) : NULL;
}

cJSON *emu_record_get(emu *e, const char *id)
{
    emu_lock(e);
    cJSON *v = record_view_locked(e, id);
    emu_unlock(e);
    return v;
}

cJSON *emu_records(emu *e, const char *sobject, bool include_deleted)
{
    emu_lock(e);
    const emu_object *obj = emu_object_find(e, sobject);
    cJSON *arr = obj ? emu_store_snapshot(e, obj, include_deleted, 62.0) : cJSON_CreateArray();
    emu_unlock(e);
    return arr;
}

size_t emu_record_count(emu *e, const char *sobject, bool include_deleted)
{
    emu_lock(e);
    const emu_object *obj = emu_object_find(e, sobject);
    size_t n = 0;
    for (size_t i = 0; obj && i < e->nrecs; i++)
        if (e->recs[i]->obj == obj && (include_deleted || !e->recs[i]->deleted))
            n++;
    emu_unlock(e);
    return n;
}

int emu_record_edit(emu *e, const char *id, const cJSON *fields)
{
    emu_dml_error err;
    emu_lock(e);
    bool ok = emu_store_update(e, NULL, id, fields, &err);
    emu_unlock(e);
    return ok ? 0 : -1;
}

int emu_record_set_modstamp(emu *e, const char *id, int64_t ms)
{
    char buf[32];
    time_format_sf(ms, buf);
    emu_lock(e);
    emu_record *r = emu_store_get(e, id);
    if (r) {
        r->modstamp_ms = ms;
        cJSON_ReplaceItemInObjectCaseSensitive(r->fields, "SystemModstamp",
                                               cJSON_CreateString(buf));
        emu_persist_put(e, r);
    }
    emu_unlock(e);
    return r ? 0 : -1;
}

int emu_record_insert(emu *e, const char *sobject, const cJSON *fields, char out_id[19])
{
    emu_dml_error err;
    cJSON *empty = fields ? NULL : cJSON_CreateObject(); /* NULL: a record of defaults */
    emu_lock(e);
    const emu_object *obj = emu_object_find(e, sobject);
    bool ok = obj && emu_store_create(e, obj, fields ? fields : empty, out_id, &err);
    emu_unlock(e);
    cJSON_Delete(empty);
    return ok ? 0 : -1;
}

int emu_record_remove(emu *e, const char *id)
{
    emu_dml_error err;
    emu_lock(e);
    bool ok = emu_store_delete(e, id, &err);
    emu_unlock(e);
    return ok ? 0 : -1;
}

/* ---- faults ---- */

static void fault_entry_free(emu_fault_entry *fe)
{
    free((char *)fe->f.method);
    free((char *)fe->f.path_pattern);
    free((char *)fe->f.error_code);
    free((char *)fe->f.message);
}

void emu_faults_free_all(emu *e)
{
    for (size_t i = 0; i < e->nfaults; i++)
        fault_entry_free(&e->faults[i]);
    free(e->faults);
    e->faults = NULL;
    e->nfaults = 0;
}

static int fault_add_locked(emu *e, const emu_fault *f)
{
    if (!f || (int)f->kind < EMU_FAULT_STATUS || f->kind > EMU_FAULT_RECORD_ERROR || f->count < 0 ||
        f->probability < 0 || f->probability > 1 ||
        (f->kind == EMU_FAULT_STATUS && f->status && (f->status < 100 || f->status > 599)))
        return -1;
    e->faults = xrealloc(e->faults, (e->nfaults + 1) * sizeof *e->faults);
    emu_fault_entry *fe = &e->faults[e->nfaults++];
    fe->id = e->next_fault_id++;
    fe->f = *f;
    fe->f.method = f->method ? xstrdup(f->method) : NULL;
    fe->f.path_pattern = f->path_pattern ? xstrdup(f->path_pattern) : NULL;
    fe->f.error_code = f->error_code ? xstrdup(f->error_code) : NULL;
    fe->f.message = f->message ? xstrdup(f->message) : NULL;
    if (fe->f.kind == EMU_FAULT_RECORD_ERROR && !fe->f.error_code)
        fe->f.error_code = xstrdup("UNABLE_TO_LOCK_ROW");
    if (fe->f.kind == EMU_FAULT_RECORD_ERROR && !fe->f.message)
        fe->f.message = xstrdup("unable to obtain exclusive access to this record or 1 records");
    fe->remaining = f->count;
    return fe->id;
}

int emu_fault_add(emu *e, const emu_fault *fault)
{
    emu_lock(e);
    int id = fault_add_locked(e, fault);
    emu_unlock(e);
    return id;
}

void emu_faults_clear(emu *e)
{
    emu_lock(e);
    emu_faults_free_all(e);
    emu_unlock(e);
}

size_t emu_faults_fired(emu *e)
{
    emu_lock(e);
    size_t n = e->fired;
    emu_unlock(e);
    return n;
}

/* ---- log, usage, tokens ---- */

size_t emu_request_count(emu *e, const char *method, const char *path_pattern)
{
    size_t n = 0;
    emu_lock(e);
    const cJSON *o;
    cJSON_ArrayForEach(o, e->request_log)
    {
        const char *m = json_str(o, "method"), *p = json_str(o, "path");
        if ((!method || (m && strcasecmp(m, method) == 0)) &&
            (!path_pattern || (p && fnmatch(path_pattern, p, 0) == 0)))
            n++;
    }
    emu_unlock(e);
    return n;
}

cJSON *emu_request_log(emu *e)
{
    emu_lock(e);
    cJSON *copy = cJSON_Duplicate(e->request_log, 1);
    emu_unlock(e);
    return copy;
}

long emu_api_usage(emu *e)
{
    emu_lock(e);
    long n = e->api_usage;
    emu_unlock(e);
    return n;
}

void emu_set_api_limit(emu *e, long limit)
{
    emu_lock(e);
    e->api_limit = limit;
    emu_unlock(e);
}

void emu_set_deleted_earliest(emu *e, int64_t ms)
{
    emu_lock(e);
    e->deleted_earliest_ms = ms > 0 ? ms : 0;
    emu_unlock(e);
}

int64_t emu_deleted_earliest(emu *e)
{
    return e->deleted_earliest_ms;
}

int emu_query_page_max(const emu *e)
{
    return e->query_page_max;
}

void emu_expire_tokens(emu *e)
{
    emu_lock(e);
    emu_tokens_clear(e);
    emu_unlock(e);
}

static void reset_locked(emu *e)
{
    e->max_concurrent = 0;
    e->gate_n = 0;
    emu_store_clear(e);
    emu_faults_free_all(e);
    emu_tokens_clear(e);
    cJSON_Delete(e->request_log);
    e->request_log = cJSON_CreateArray();
    e->request_log_len = 0;
    e->api_usage = 0;
    e->fired = 0;
    e->deleted_earliest_ms = 0;
    emu_features_reset(e);
}

void emu_reset(emu *e)
{
    emu_lock(e);
    reset_locked(e);
    emu_unlock(e);
}

/* ---- HTTP control endpoints ---- */

static const struct {
    const char *name;
    emu_fault_kind kind;
} fault_kinds[] = {
    {"status", EMU_FAULT_STATUS},
    {"delay", EMU_FAULT_DELAY},
    {"drop_before", EMU_FAULT_DROP_BEFORE},
    {"drop_after", EMU_FAULT_DROP_AFTER},
    {"truncate", EMU_FAULT_TRUNCATE},
    {"invalid_json", EMU_FAULT_INVALID_JSON},
    {"expire_token", EMU_FAULT_EXPIRE_TOKEN},
    {"limit", EMU_FAULT_LIMIT},
    {"record_error", EMU_FAULT_RECORD_ERROR},
};

static void control_fault_add(emu *e, const cJSON *j, emu_resp *resp)
{
    const char *kind = json_str(j, "kind");
    emu_fault f = EMU_FAULT_INIT;
    int found = 0;
    for (size_t i = 0; kind && i < sizeof fault_kinds / sizeof *fault_kinds; i++)
        if (strcasecmp(kind, fault_kinds[i].name) == 0) {
            f.kind = fault_kinds[i].kind;
            found = 1;
        }
    if (!found) {
        emu_resp_error(resp, 400, "INVALID_FAULT", "unknown or missing fault kind", "kind");
        return;
    }
    f.method = json_str(j, "method");
    f.path_pattern = json_str(j, "path");
    f.count = (int)json_num(j, "count", 0);
    f.probability = json_num(j, "probability", 0);
    f.status = (int)json_num(j, "status", 0);
    f.error_code = json_str(j, "errorCode");
    f.message = json_str(j, "message");
    f.delay_ms = (int)json_num(j, "delayMs", 0);
    f.record_index = (int)json_num(j, "recordIndex", -1);
    int id = fault_add_locked(e, &f);
    if (id < 0) {
        emu_resp_error(resp, 400, "INVALID_FAULT", "invalid fault parameters", NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id);
    emu_resp_json(resp, 201, o);
}

static void control_record(emu *e, const emu_req *req, const char *id, emu_resp *resp)
{
    emu_dml_error err;
    if (strcmp(req->method, "GET") == 0) {
        cJSON *v = record_view_locked(e, id);
        if (v)
            emu_resp_json(resp, 200, v);
        else
            emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
    } else if (strcmp(req->method, "PATCH") == 0) {
        if (emu_store_update(e, NULL, id, req->json, &err))
            emu_resp_json(resp, 204, NULL);
        else
            emu_resp_dml_error(resp, &err);
    } else if (strcmp(req->method, "DELETE") == 0) {
        if (emu_store_delete(e, id, &err))
            emu_resp_json(resp, 204, NULL);
        else
            emu_resp_dml_error(resp, &err);
    } else {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", "Allowed are GET,PATCH,DELETE", NULL);
    }
}

static void control_records(emu *e, const emu_req *req, const char *sobject, emu_resp *resp)
{
    const emu_object *obj = emu_object_find(e, sobject);
    if (!obj) {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (strcmp(req->method, "POST") == 0) {
        char id[19];
        emu_dml_error err;
        if (!emu_store_create(e, obj, req->json, id, &err)) {
            emu_resp_dml_error(resp, &err);
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        emu_resp_json(resp, 201, o);
        return;
    }
    const char *d = emu_req_arg(req, "deleted");
    emu_resp_json(resp, 200, emu_store_snapshot(e, obj, d && strcmp(d, "true") == 0, 62.0));
}

static void control_usage(emu *e, const emu_req *req, emu_resp *resp)
{
    if (strcmp(req->method, "POST") == 0 && cJSON_IsNumber(cJSON_GetObjectItem(req->json, "limit")))
        e->api_limit = (long)json_num(req->json, "limit", (double)e->api_limit);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "used", (double)e->api_usage);
    cJSON_AddNumberToObject(o, "limit", (double)e->api_limit);
    emu_resp_json(resp, 200, o);
}

/* POST {"date":"2024-05-01T00:00:00.000Z"} or {"date":null}: emu_set_deleted_earliest. */
static void control_deleted_earliest(emu *e, const emu_req *req, emu_resp *resp)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(req->json, "date");
    int64_t ms = 0;
    if (!cJSON_IsNull(d) && !(cJSON_IsString(d) && time_parse_sf(d->valuestring, &ms))) {
        emu_resp_error(resp, 400, "INVALID_FIELD", "date must be a dateTime or null", "date");
        return;
    }
    e->deleted_earliest_ms = ms > 0 ? ms : 0;
    emu_resp_json(resp, 204, NULL);
}

void emu_handle_control(emu_req *req, emu_resp *resp)
{
    emu *e = req->emu;
    const char *p = req->path + strlen("/__emulator/");
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strncmp(p, "records/", 8) == 0 && p[8]) {
        control_records(e, req, p + 8, resp);
    } else if (strncmp(p, "record/", 7) == 0 && p[7]) {
        control_record(e, req, p + 7, resp);
    } else if (strcmp(p, "faults") == 0 && post) {
        control_fault_add(e, req->json, resp);
    } else if (strcmp(p, "faults") == 0 && strcmp(req->method, "DELETE") == 0) {
        emu_faults_free_all(e);
        emu_resp_json(resp, 204, NULL);
    } else if (strcmp(p, "faults") == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "active", (double)e->nfaults);
        cJSON_AddNumberToObject(o, "fired", (double)e->fired);
        emu_resp_json(resp, 200, o);
    } else if (strcmp(p, "requests") == 0 && get) {
        emu_resp_json(resp, 200, cJSON_Duplicate(e->request_log, 1));
    } else if (strcmp(p, "usage") == 0 && (get || post)) {
        control_usage(e, req, resp);
    } else if (strcmp(p, "deleted-earliest") == 0 && post) {
        control_deleted_earliest(e, req, resp);
    } else if (strcmp(p, "expire-tokens") == 0 && post) {
        emu_tokens_clear(e);
        emu_resp_json(resp, 204, NULL);
    } else if (strcmp(p, "reset") == 0 && post) {
        reset_locked(e);
        emu_resp_json(resp, 204, NULL);
    } else {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
    }
}
