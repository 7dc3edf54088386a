/* sObject Collections (docs/salesforce.md#sobject-collections): /composite/sobjects create (POST),
 * update (PATCH), upsert (PATCH /{Type}/{ExtField}), retrieve (GET /{Type}?ids=&fields=
 * or POST /{Type} {"ids","fields"}) and delete (DELETE ?ids=&allOrNone=).
 *
 * Writes answer 200 with one result per input, in order, even when every record failed;
 * only a malformed request is a 400. Per-record errors use "statusCode". allOrNone runs
 * the whole batch in one store transaction and, on any failure, rolls it back and turns
 * every other result into ALL_OR_NONE_OPERATION_ROLLED_BACK (update and delete entries
 * keep their id, as the docs show for updates). Before each record, the fault hook may
 * fail it (EMU_FAULT_RECORD_ERROR). */
#include "emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WRITE         200
#define MAX_CHUNKS        10
#define MAX_RETRIEVE_POST 2000
#define MAX_RETRIEVE_GET  800 /* docs: "approximately 800 IDs" fit a URL */

typedef enum op_kind { OP_CREATE, OP_UPDATE, OP_UPSERT, OP_DELETE } op_kind;

typedef struct batch {
    emu_req *req;
    op_kind op;
    const emu_object *obj; /* upsert: the URI's type */
    const char *ext;       /* upsert: canonical external-ID field */
} batch;

static const char ROLLED_BACK[] = "Record rolled back because not all records were valid and the "
                                  "request was using AllOrNone header";

static cJSON *result_ok(const char *id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddBoolToObject(r, "success", true);
    cJSON_AddItemToObject(r, "errors", cJSON_CreateArray());
    return r;
}

static cJSON *result_fail(const char *id, const emu_dml_error *err)
{
    cJSON *r = cJSON_CreateObject(), *errors = cJSON_CreateArray();
    if (id)
        cJSON_AddStringToObject(r, "id", id);
    cJSON_AddBoolToObject(r, "success", false);
    cJSON_AddItemToArray(errors, feat_record_error(err));
    cJSON_AddItemToObject(r, "errors", errors);
    return r;
}

static void malformed_id(emu_dml_error *err, const char *label, const char *id)
{
    char msg[256];
    if (label)
        snprintf(msg, sizeof msg, "%s ID: id value of incorrect type: %.40s", label, id);
    else
        snprintf(msg, sizeof msg, "malformed id %.40s", id);
    feat_dml_error_set(err, 400, "MALFORMED_ID", msg, label ? "Id" : NULL);
}

/* The record's fields without attributes and id, as the store wants them. */
static cJSON *plain_fields(const cJSON *rec)
{
    cJSON *f = cJSON_Duplicate(rec, true);
    cJSON_DeleteItemFromObject(f, "attributes");
    cJSON_DeleteItemFromObject(f, "id"); /* case-insensitive: id and Id */
    return f;
}

static const emu_object *record_type(emu *e, const cJSON *rec, emu_dml_error *err)
{
    const char *type = json_str(cJSON_GetObjectItemCaseSensitive(rec, "attributes"), "type");
    const emu_object *obj = type ? emu_object_find(e, type) : NULL;
    if (!type) /* UNCONFIRMED wording: the SOAP-era text for a create without a type. */
        feat_dml_error_set(err, 400, "INVALID_TYPE", "Must send a concrete entity type.", NULL);
    else if (!obj) {
        char msg[200];
        snprintf(msg, sizeof msg, "sObject type '%.100s' is not supported.", type);
        feat_dml_error_set(err, 400, "INVALID_TYPE", msg, NULL);
    }
    return obj;
}

static bool do_create(const batch *b, const cJSON *rec, char id[19], emu_dml_error *err)
{
    const emu_object *obj = record_type(b->req->emu, rec, err);
    if (!obj)
        return false;
    if (cJSON_GetObjectItem(rec, "id")) {
        feat_dml_error_set(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                           "cannot specify Id in an insert call", "Id");
        return false;
    }
    cJSON *f = plain_fields(rec);
    bool ok = emu_store_create(b->req->emu, obj, f, id, err);
    cJSON_Delete(f);
    return ok;
}

static bool do_update(const batch *b, const cJSON *rec, char id[19], emu_dml_error *err)
{
    const char *raw = json_str(rec, "id") ? json_str(rec, "id") : json_str(rec, "Id");
    const emu_object *obj = record_type(b->req->emu, rec, err);
    if (!obj)
        return false;
    if (!raw) {
        feat_dml_error_set(err, 400, "MISSING_ARGUMENT", "Id not specified in an update call",
                           NULL);
        return false;
    }
    if (!sfid_to18(raw, id) || emu_object_for_id(b->req->emu, id) != obj) {
        malformed_id(err, emu_object_name(obj), raw);
        return false;
    }
    cJSON *f = plain_fields(rec);
    bool ok = emu_store_update(b->req->emu, obj, id, f, err);
    cJSON_Delete(f);
    return ok;
}

static bool do_upsert(const batch *b, const cJSON *rec, char id[19], bool *created,
                      emu_dml_error *err)
{
    const cJSON *key = cJSON_GetObjectItem(rec, b->ext);
    char num[64], *value = NULL;
    if (cJSON_IsString(key) && *key->valuestring)
        value = key->valuestring;
    else if (cJSON_IsNumber(key)) {
        snprintf(num, sizeof num, "%.17g", key->valuedouble);
        value = num;
    }
    const char *type = json_str(cJSON_GetObjectItemCaseSensitive(rec, "attributes"), "type");
    if (type && emu_object_find(b->req->emu, type) != b->obj) {
        feat_dml_error_set(err, 400, "INVALID_TYPE",
                           "All records must be of the type specified in the URI", NULL);
        return false;
    }
    if (!value) { /* UNCONFIRMED wording */
        char msg[200];
        snprintf(msg, sizeof msg, "%s not specified", b->ext);
        feat_dml_error_set(err, 400, "MISSING_ARGUMENT", msg, NULL);
        return false;
    }
    cJSON *f = plain_fields(rec), *matches = NULL;
    bool ok = emu_store_upsert(b->req->emu, b->obj, b->ext, value, f, id, created, &matches, err);
    if (!ok && err->http_status == 300) {
        char *list = matches ? json_print(matches) : xstrdup("[]");
        char msg[512];
        snprintf(msg, sizeof msg, "%s: more than one record found for external id field: %.400s",
                 b->ext, list);
        feat_dml_error_set(err, 400, "DUPLICATE_EXTERNAL_ID", msg, b->ext);
        free(list);
    }
    cJSON_Delete(matches);
    cJSON_Delete(f);
    return ok;
}

static bool do_delete(const batch *b, const cJSON *rec, char id[19], emu_dml_error *err)
{
    const char *raw = rec->valuestring;
    if (!sfid_to18(raw, id) || !emu_object_for_id(b->req->emu, id)) {
        malformed_id(err, NULL, raw);
        return false;
    }
    return emu_store_delete(b->req->emu, id, err);
}

/* One record: fault hook first, then the operation. Returns its result entry. */
static cJSON *apply_one(const batch *b, const cJSON *rec, int index, bool *ok)
{
    emu_dml_error err = {0};
    char id[19] = "";
    bool created = false;
    *ok = false;
    if (emu_fault_record_error(b->req->emu, b->req, index, &err))
        return result_fail(NULL, &err);
    switch (b->op) {
    case OP_CREATE:
        *ok = do_create(b, rec, id, &err);
        break;
    case OP_UPDATE:
        *ok = do_update(b, rec, id, &err);
        break;
    case OP_UPSERT:
        *ok = do_upsert(b, rec, id, &created, &err);
        break;
    case OP_DELETE:
        *ok = do_delete(b, rec, id, &err);
        break;
    }
    if (!*ok)
        return result_fail(NULL, &err);
    cJSON *r = result_ok(id);
    if (b->op == OP_UPSERT)
        cJSON_AddBoolToObject(r, "created", created);
    return r;
}

/* allOrNone failed: every successful entry becomes a rolled-back failure. */
static void mark_rolled_back(const batch *b, cJSON *results)
{
    emu_dml_error rb = {0};
    feat_dml_error_set(&rb, 400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK, NULL);
    for (cJSON *r = results->child; r; r = r->next) {
        if (!json_bool(r, "success", false))
            continue;
        bool keep_id = b->op == OP_UPDATE || b->op == OP_DELETE;
        char *id = keep_id ? xstrdup(json_str(r, "id")) : NULL;
        cJSON *repl = result_fail(id, &rb);
        free(id);
        cJSON_ReplaceItemViaPointer(results, r, repl);
        r = repl;
    }
}

static cJSON *run_batch(const batch *b, const cJSON *records, bool all_or_none)
{
    cJSON *results = cJSON_CreateArray();
    bool failed = false;
    if (all_or_none)
        feat_txn_begin(b->req->emu);
    int i = 0;
    for (const cJSON *rec = records->child; rec; rec = rec->next, i++) {
        bool ok;
        cJSON_AddItemToArray(results, apply_one(b, rec, i, &ok));
        failed |= !ok;
    }
    if (all_or_none && failed) {
        feat_txn_rollback(b->req->emu);
        mark_rolled_back(b, results);
    } else if (all_or_none) {
        feat_txn_commit(b->req->emu);
    }
    return results;
}

/* Consecutive runs of one type; Salesforce processes at most 10 such chunks. */
static int count_chunks(const cJSON *records)
{
    int chunks = 0;
    const char *prev = NULL;
    for (const cJSON *r = records->child; r; r = r->next) {
        const char *t = json_str(cJSON_GetObjectItemCaseSensitive(r, "attributes"), "type");
        if (!prev || !t || strcmp(prev, t) != 0)
            chunks++;
        prev = t;
    }
    return chunks;
}

static void too_many(emu_resp *resp, int limit)
{
    char msg[128];
    snprintf(msg, sizeof msg,
             "record limit reached. cannot submit more than %d records into this call", limit);
    emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT", msg, NULL);
}

static void write_records(emu_req *req, emu_resp *resp, batch *b)
{
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(req->json, "records");
    if (!cJSON_IsObject(req->json) || !cJSON_IsArray(records)) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR",
                       "The request body must be a JSON object with a records array", NULL);
        return;
    }
    int n = cJSON_GetArraySize(records);
    for (const cJSON *r = records->child; r; r = r->next)
        if (!cJSON_IsObject(r)) {
            emu_resp_error(resp, 400, "JSON_PARSER_ERROR", "Each record must be a JSON object",
                           NULL);
            return;
        }
    if (n > MAX_WRITE) {
        too_many(resp, MAX_WRITE);
        return;
    }
    if (b->op == OP_CREATE && count_chunks(records) > MAX_CHUNKS) {
        /* UNCONFIRMED wording; the limit itself is documented. */
        emu_resp_error(resp, 400, "INVALID_BATCH_REQUEST",
                       "Cannot have more than 10 chunks in a single operation. Please rearrange "
                       "the data to reduce chunking.",
                       NULL);
        return;
    }
    bool aon = json_bool(req->json, "allOrNone", false);
    emu_resp_json(resp, 200, run_batch(b, records, aon));
}

static void delete_records(emu_req *req, emu_resp *resp)
{
    const char *ids = emu_req_arg(req, "ids");
    const char *aon = emu_req_arg(req, "allOrNone");
    size_t n = 0;
    char **v = feat_split_csv_list(ids ? ids : "", &n);
    if (n == 0) {
        emu_resp_error(resp, 400, "MISSING_ARGUMENT", "ids parameter is required", NULL);
    } else if (n > MAX_WRITE) {
        too_many(resp, MAX_WRITE);
    } else {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
        batch b = {req, OP_DELETE, NULL, NULL};
        emu_resp_json(resp, 200, run_batch(&b, arr, aon && strcmp(aon, "true") == 0));
        cJSON_Delete(arr);
    }
    feat_strv_free(v);
}

/* ---- retrieve ---- */

static bool canonical_fields(const emu_object *obj, const cJSON *names, const char **out,
                             emu_resp *resp)
{
    size_t i = 0;
    for (const cJSON *f = names->child; f; f = f->next, i++) {
        out[i] = cJSON_IsString(f) ? emu_field_canonical(obj, f->valuestring) : NULL;
        if (!out[i]) {
            char msg[300];
            snprintf(msg, sizeof msg, "No such column '%.64s' on entity '%s'.",
                     cJSON_IsString(f) ? f->valuestring : "?", emu_object_name(obj));
            emu_resp_error(resp, 400, "INVALID_FIELD", msg, NULL);
            return false;
        }
    }
    return true;
}

static cJSON *retrieve_one(emu_req *req, const emu_object *obj, const cJSON *idv,
                           const char **fields, size_t nfields)
{
    char id[19];
    bool deleted = false;
    if (!cJSON_IsString(idv) || !sfid_to18(idv->valuestring, id) ||
        emu_object_for_id(req->emu, id) != obj)
        return cJSON_CreateNull();
    const cJSON *stored = emu_store_find(req->emu, id, &deleted);
    if (!stored || deleted)
        return cJSON_CreateNull();
    return emu_store_view(req->emu, obj, stored, fields, nfields, req->api_version);
}

static void retrieve(emu_req *req, emu_resp *resp, const emu_object *obj, const cJSON *ids,
                     const cJSON *fields, int max)
{
    int nids = cJSON_GetArraySize(ids), nf = cJSON_GetArraySize(fields);
    if (nids == 0 || nf == 0) {
        emu_resp_error(resp, 400, "MISSING_ARGUMENT", "ids and fields are required", NULL);
        return;
    }
    if (nids > max) {
        too_many(resp, max);
        return;
    }
    /* Id always comes back, named in fields or not, as from Salesforce's retrieve (clients
     * such as jsforce match results to ids by it); emu_store_view drops the repeat. */
    const char **names = xcalloc((size_t)nf + 1, sizeof *names);
    names[0] = "Id";
    if (canonical_fields(obj, fields, names + 1, resp)) {
        cJSON *out = cJSON_CreateArray();
        for (const cJSON *id = ids->child; id; id = id->next)
            cJSON_AddItemToArray(out, retrieve_one(req, obj, id, names, (size_t)nf + 1));
        emu_resp_json(resp, 200, out);
    }
    free(names);
}

static cJSON *strings_array(const char *list)
{
    size_t n = 0;
    char **v = feat_split_csv_list(list ? list : "", &n);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
    feat_strv_free(v);
    return arr;
}

static void retrieve_get(emu_req *req, emu_resp *resp, const emu_object *obj)
{
    cJSON *ids = strings_array(emu_req_arg(req, "ids"));
    cJSON *fields = strings_array(emu_req_arg(req, "fields"));
    retrieve(req, resp, obj, ids, fields, MAX_RETRIEVE_GET);
    cJSON_Delete(ids);
    cJSON_Delete(fields);
}

static void retrieve_post(emu_req *req, emu_resp *resp, const emu_object *obj)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(req->json, "ids");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(req->json, "fields");
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(fields)) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR",
                       "The request body must have ids and fields arrays", NULL);
        return;
    }
    retrieve(req, resp, obj, ids, fields, MAX_RETRIEVE_POST);
}

/* ---- routing ---- */

typedef struct route {
    char type[128];
    char ext[128];
    int nseg;
} route;

/* Segments after /composite/sobjects: "", "/Type", "/Type/ExtField" (trailing / ok). */
static bool parse_route(const char *rest, route *r)
{
    const char *p = rest + strlen("/composite/sobjects");
    memset(r, 0, sizeof *r);
    while (*p == '/' && r->nseg < 3) {
        p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (r->nseg >= 2 || n >= sizeof r->type)
            return false;
        snprintf(r->nseg == 0 ? r->type : r->ext, sizeof r->type, "%.*s", (int)n, p);
        r->nseg++;
        p += n;
    }
    return *p == '\0';
}

static void not_allowed(emu_req *req, emu_resp *resp, const char *allowed)
{
    char msg[128];
    snprintf(msg, sizeof msg, "HTTP Method '%s' not allowed. Allowed are %s", req->method, allowed);
    emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", msg, NULL);
}

static void typed(emu_req *req, emu_resp *resp, const route *r)
{
    const emu_object *obj = emu_object_find(req->emu, r->type);
    if (!obj) {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (r->nseg == 1) {
        if (strcmp(req->method, "GET") == 0)
            retrieve_get(req, resp, obj);
        else if (strcmp(req->method, "POST") == 0)
            retrieve_post(req, resp, obj);
        else
            not_allowed(req, resp, "GET,HEAD,POST");
        return;
    }
    const char *ext = emu_field_canonical(obj, r->ext);
    if (strcmp(req->method, "PATCH") != 0) {
        not_allowed(req, resp, "PATCH");
    } else if (!ext || !emu_field_is_external_id(obj, ext)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "Provided external ID field does not exist or is not accessible: %.100s", r->ext);
        emu_resp_error(resp, 404, "NOT_FOUND", msg, NULL);
    } else {
        batch b = {req, OP_UPSERT, obj, ext};
        write_records(req, resp, &b);
    }
}

void emu_handle_collections(emu_req *req, emu_resp *resp)
{
    route r;
    if (!parse_route(req->rest, &r)) {
        emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
        return;
    }
    if (r.nseg > 0) {
        typed(req, resp, &r);
        return;
    }
    batch b = {req, OP_CREATE, NULL, NULL};
    if (strcmp(req->method, "POST") == 0) {
        write_records(req, resp, &b);
    } else if (strcmp(req->method, "PATCH") == 0) {
        b.op = OP_UPDATE;
        write_records(req, resp, &b);
    } else if (strcmp(req->method, "DELETE") == 0) {
        delete_records(req, resp);
    } else {
        not_allowed(req, resp, "DELETE,PATCH,POST");
    }
}
