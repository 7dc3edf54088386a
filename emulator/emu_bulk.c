/* Bulk API 2.0 ingest (docs/salesforce.md#bulk-api-20): /jobs/ingest create, list, info,
 * upload (PUT .../batches, text/csv), close or abort (PATCH state), delete, and the
 * successfulResults / failedResults / unprocessedrecords CSVs.
 *
 * Deterministic processing: PATCH {"state":"UploadComplete"} processes every row at once
 * and answers "UploadComplete"; the next read of the job reports "JobComplete" (or
 * "Failed" when the CSV itself is unusable). Rows go through the same emu_store_* calls
 * as REST writes, so validation and errors match; the record-fault hook applies per row.
 * Error codes of request-level failures (INVALIDJOB, INVALIDJOBSTATE) are UNCONFIRMED. */
#include "emu_feat_csv.h"
#include "emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct feat_job {
    char id[19];
    const emu_object *obj;
    char op[16];
    char ext[128];
    char line_ending[8];
    char delim_name[16];
    char delim;
    char state[16];
    bool pending_complete; /* processed; the next read shows JobComplete */
    char error_message[256];
    double api_version;
    int64_t created_ms, modstamp_ms;
    bool uploaded;
    strbuf data;
    strbuf ok_csv, fail_csv, unproc_csv;
    long processed, failed;
    struct feat_job *next;
};

static void job_free(feat_job *j)
{
    strbuf_free(&j->data);
    strbuf_free(&j->ok_csv);
    strbuf_free(&j->fail_csv);
    strbuf_free(&j->unproc_csv);
    free(j);
}

void feat_bulk_free_jobs(feat_state *st)
{
    while (st->jobs) {
        feat_job *j = st->jobs;
        st->jobs = j->next;
        job_free(j);
    }
}

static void not_found(emu_resp *resp)
{
    emu_resp_error(resp, 404, "NOT_FOUND", "The requested resource does not exist", NULL);
}

static void add_date(cJSON *o, const char *key, int64_t ms)
{
    char buf[32];
    time_format_sf(ms, buf);
    cJSON_AddStringToObject(o, key, buf);
}

/* Settle a processed job: UploadComplete is shown once, then JobComplete/Failed. */
static void settle(feat_job *j)
{
    if (j->pending_complete) {
        j->pending_complete = false;
        snprintf(j->state, sizeof j->state, "%s", j->error_message[0] ? "Failed" : "JobComplete");
        j->modstamp_ms = emu_whole_second(time_now_ms());
    }
}

static cJSON *job_info(const feat_job *j, bool full)
{
    char user[19], url[128];
    sfid_make("005", 1, user);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "operation", j->op);
    cJSON_AddStringToObject(o, "object", emu_object_name(j->obj));
    cJSON_AddStringToObject(o, "createdById", user);
    add_date(o, "createdDate", j->created_ms);
    add_date(o, "systemModstamp", j->modstamp_ms);
    cJSON_AddStringToObject(o, "state", j->state);
    if (j->ext[0])
        cJSON_AddStringToObject(o, "externalIdFieldName", j->ext);
    cJSON_AddStringToObject(o, "concurrencyMode", "Parallel");
    cJSON_AddStringToObject(o, "contentType", "CSV");
    cJSON_AddNumberToObject(o, "apiVersion", j->api_version);
    snprintf(url, sizeof url, "services/data/v%.1f/jobs/ingest/%s/batches", j->api_version, j->id);
    cJSON_AddStringToObject(o, "contentUrl", url);
    cJSON_AddStringToObject(o, "lineEnding", j->line_ending);
    cJSON_AddStringToObject(o, "columnDelimiter", j->delim_name);
    if (!full)
        return o;
    cJSON_AddStringToObject(o, "jobType", "V2Ingest");
    cJSON_AddNumberToObject(o, "numberRecordsProcessed", (double)j->processed);
    cJSON_AddNumberToObject(o, "numberRecordsFailed", (double)j->failed);
    cJSON_AddNumberToObject(o, "retries", 0);
    cJSON_AddNumberToObject(o, "totalProcessingTime", 0);
    cJSON_AddNumberToObject(o, "apiActiveProcessingTime", 0);
    cJSON_AddNumberToObject(o, "apexProcessingTime", 0);
    if (j->error_message[0])
        cJSON_AddStringToObject(o, "errorMessage", j->error_message);
    return o;
}

/* ---- create ---- */

static bool pick_delim(const char *name, char *out)
{
    static const struct {
        const char *name;
        char c;
    } d[] = {{"COMMA", ','},     {"TAB", '\t'},  {"PIPE", '|'},
             {"SEMICOLON", ';'}, {"CARET", '^'}, {"BACKQUOTE", '`'}};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (strcmp(name, d[i].name) == 0) {
            *out = d[i].c;
            return true;
        }
    return false;
}

static const char *check_job(emu_req *req, feat_job *j)
{
    static const char *const ops[] = {"insert", "update", "upsert", "delete", "hardDelete"};
    const cJSON *b = req->json;
    const char *obj = json_str(b, "object"), *op = json_str(b, "operation");
    const char *ct = json_str(b, "contentType"), *le = json_str(b, "lineEnding");
    const char *dl = json_str(b, "columnDelimiter"), *ext = json_str(b, "externalIdFieldName");
    bool known = false;
    for (size_t i = 0; op && i < sizeof ops / sizeof *ops; i++)
        known |= strcmp(op, ops[i]) == 0;
    if (!obj || !(j->obj = emu_object_find(req->emu, obj)))
        return "Unable to find object";
    if (!known)
        return "Invalid operation: use insert, update, upsert, delete or hardDelete";
    if (ct && strcmp(ct, "CSV") != 0)
        return "contentType must be CSV";
    if (le && strcmp(le, "LF") != 0 && strcmp(le, "CRLF") != 0)
        return "lineEnding must be LF or CRLF";
    if (!pick_delim(dl ? dl : "COMMA", &j->delim))
        return "Invalid columnDelimiter";
    const char *canon = ext ? emu_field_canonical(j->obj, ext) : NULL;
    if (strcmp(op, "upsert") == 0 && (!canon || !emu_field_is_external_id(j->obj, canon)))
        return "externalIdFieldName must name an external ID field of the object for upsert";
    snprintf(j->op, sizeof j->op, "%s", op);
    snprintf(j->ext, sizeof j->ext, "%s", strcmp(op, "upsert") == 0 ? canon : "");
    snprintf(j->line_ending, sizeof j->line_ending, "%s", le ? le : "LF");
    snprintf(j->delim_name, sizeof j->delim_name, "%s", dl ? dl : "COMMA");
    return NULL;
}

static void create_job(emu_req *req, emu_resp *resp)
{
    feat_job *j = xcalloc(1, sizeof *j);
    const char *bad = cJSON_IsObject(req->json) ? check_job(req, j) : "Invalid job definition";
    if (bad) {
        emu_resp_error(resp, 400, "INVALIDJOB", bad, NULL);
        job_free(j);
        return;
    }
    feat_state *st = feat_state_get(req->emu);
    sfid_make("750", ++st->job_serial, j->id);
    snprintf(j->state, sizeof j->state, "Open");
    j->api_version = req->api_version;
    j->created_ms = j->modstamp_ms = emu_whole_second(time_now_ms());
    j->next = st->jobs;
    st->jobs = j;
    emu_resp_json(resp, 200, job_info(j, false));
}

/* ---- processing ---- */

static cJSON *row_fields(const cJSON *header, const cJSON *row)
{
    cJSON *f = cJSON_CreateObject();
    const cJSON *h = header->child;
    for (const cJSON *v = row->child; v && h; v = v->next, h = h->next) {
        if (strcmp(h->valuestring, "Id") == 0 || v->valuestring[0] == '\0')
            continue; /* empty: leave unchanged (Bulk semantics) */
        if (strcmp(v->valuestring, "#N/A") == 0)
            cJSON_AddNullToObject(f, h->valuestring);
        else
            cJSON_AddStringToObject(f, h->valuestring, v->valuestring);
    }
    return f;
}

static const char *column(const cJSON *header, const cJSON *row, const char *name)
{
    const cJSON *h = header->child;
    for (const cJSON *v = row->child; v && h; v = v->next, h = h->next)
        if (strcmp(h->valuestring, name) == 0)
            return v->valuestring;
    return NULL;
}

static bool apply_row(emu_req *req, feat_job *j, const cJSON *header, const cJSON *row, char id[19],
                      bool *created, emu_dml_error *err)
{
    emu *e = req->emu;
    const char *raw_id = column(header, row, "Id");
    cJSON *f = row_fields(header, row), *matches = NULL;
    bool ok = false;
    *created = false;
    if (strcmp(j->op, "insert") == 0) {
        ok = emu_store_create(e, j->obj, f, id, err);
        *created = ok;
    } else if (strcmp(j->op, "upsert") == 0) {
        const char *key = column(header, row, j->ext);
        if (!key || !*key)
            feat_dml_error_set(err, 400, "MISSING_ARGUMENT", "External ID not specified", j->ext);
        else
            ok = emu_store_upsert(e, j->obj, j->ext, key, f, id, created, &matches, err);
        if (!ok && err->http_status == 300)
            feat_dml_error_set(err, 400, "DUPLICATE_EXTERNAL_ID",
                               "more than one record found for external id field", j->ext);
    } else if (!raw_id || !sfid_to18(raw_id, id) || emu_object_for_id(e, id) != j->obj) {
        feat_dml_error_set(err, 400, "MALFORMED_ID", "invalid cross reference id", "Id");
        id[0] = '\0';
    } else if (strcmp(j->op, "update") == 0) {
        ok = emu_store_update(e, j->obj, id, f, err);
    } else {
        ok = emu_store_delete(e, id, err);
    }
    cJSON_Delete(matches);
    cJSON_Delete(f);
    return ok;
}

static void add_row(strbuf *out, const char *a, const char *b, const cJSON *row)
{
    bulk_csv_add_field(out, a, true);
    bulk_csv_add_field(out, b, false);
    for (const cJSON *v = row->child; v; v = v->next)
        bulk_csv_add_field(out, v->valuestring, false);
    strbuf_addc(out, '\n');
}

static void add_plain_row(strbuf *out, const cJSON *row)
{
    for (const cJSON *v = row->child; v; v = v->next)
        bulk_csv_add_field(out, v->valuestring, v == row->child);
    strbuf_addc(out, '\n');
}

/* Canonicalise the header in place; false (job fails) on an unknown column. */
static bool check_header(feat_job *j, cJSON *header)
{
    for (cJSON *h = header->child; h; h = h->next) {
        const char *canon = emu_field_canonical(j->obj, h->valuestring);
        if (!canon) {
            snprintf(j->error_message, sizeof j->error_message,
                     "InvalidBatch : Field name not found : %.100s", h->valuestring);
            return false;
        }
        cJSON_SetValuestring(h, canon);
    }
    return true;
}

static void process(emu_req *req, feat_job *j)
{
    bool ok;
    cJSON *rows = bulk_csv_parse(strbuf_str(&j->data), j->data.len, j->delim, &ok);
    cJSON *header = cJSON_DetachItemFromArray(rows, 0);
    strbuf_reset(&j->ok_csv);
    strbuf_adds(&j->ok_csv, "\"sf__Id\",\"sf__Created\"");
    strbuf_adds(&j->fail_csv, "\"sf__Id\",\"sf__Error\"");
    for (const cJSON *h = header ? header->child : NULL; h; h = h->next) {
        bulk_csv_add_field(&j->ok_csv, h->valuestring, false);
        bulk_csv_add_field(&j->fail_csv, h->valuestring, false);
    }
    strbuf_addc(&j->ok_csv, '\n');
    strbuf_addc(&j->fail_csv, '\n');
    if (!ok || !header)
        snprintf(j->error_message, sizeof j->error_message,
                 "InvalidBatch : Failed to parse CSV data");
    else if (check_header(j, header)) {
        int i = 0;
        for (const cJSON *row = rows->child; row; row = row->next, i++) {
            char id[19] = "", text[800];
            bool created;
            emu_dml_error err = {0};
            bool done = !emu_fault_record_error(req->emu, req, i, &err) &&
                        apply_row(req, j, header, row, id, &created, &err);
            j->processed++;
            if (done) {
                add_row(&j->ok_csv, id, created ? "true" : "false", row);
                continue;
            }
            j->failed++;
            /* "CODE:message:Field --", or "CODE:message:--" without a field */
            snprintf(text, sizeof text, "%s:%s:%s%s--", err.code, err.message, err.field,
                     err.field[0] ? " " : "");
            add_row(&j->fail_csv, id, text, row);
        }
    }
    cJSON_Delete(header);
    cJSON_Delete(rows);
    j->pending_complete = true;
}

/* ---- per-job routes ---- */

static void invalid_state(emu_resp *resp, const feat_job *j)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Found Job in Invalid state: %s", j->state);
    emu_resp_error(resp, 409, "INVALIDJOBSTATE", msg, NULL);
}

static void upload(emu_req *req, emu_resp *resp, feat_job *j)
{
    if (strcmp(j->state, "Open") != 0 || j->uploaded) {
        invalid_state(resp, j);
        return;
    }
    j->uploaded = true;
    if (req->body)
        strbuf_add(&j->data, req->body, req->body_len);
    emu_resp_raw(resp, 201, "text/plain", NULL);
}

static void unprocessed_all(feat_job *j)
{
    bool ok;
    cJSON *rows = bulk_csv_parse(strbuf_str(&j->data), j->data.len, j->delim, &ok);
    strbuf_reset(&j->unproc_csv);
    for (const cJSON *r = rows->child; r; r = r->next)
        add_plain_row(&j->unproc_csv, r);
    cJSON_Delete(rows);
}

static void change_state(emu_req *req, emu_resp *resp, feat_job *j)
{
    const char *to = json_str(req->json, "state");
    settle(j);
    bool open = strcmp(j->state, "Open") == 0;
    if (to && strcmp(to, "UploadComplete") == 0 && open) {
        snprintf(j->state, sizeof j->state, "UploadComplete");
        process(req, j);
    } else if (to && strcmp(to, "Aborted") == 0 &&
               (open || strcmp(j->state, "UploadComplete") == 0)) {
        snprintf(j->state, sizeof j->state, "Aborted");
        unprocessed_all(j);
    } else if (!to || (strcmp(to, "UploadComplete") != 0 && strcmp(to, "Aborted") != 0)) {
        emu_resp_error(resp, 400, "INVALIDJOB", "state must be UploadComplete or Aborted", NULL);
        return;
    } else {
        invalid_state(resp, j);
        return;
    }
    j->modstamp_ms = emu_whole_second(time_now_ms());
    emu_resp_json(resp, 200, job_info(j, false));
}

static void results(emu_resp *resp, feat_job *j, const char *kind)
{
    settle(j);
    const strbuf *src = NULL;
    /* case-insensitive: simple-salesforce asks for "unprocessedRecords" */
    if (strcasecmp(kind, "successfulResults") == 0)
        src = &j->ok_csv;
    else if (strcasecmp(kind, "failedResults") == 0)
        src = &j->fail_csv;
    else if (strcasecmp(kind, "unprocessedrecords") == 0)
        src = &j->unproc_csv;
    if (!src) {
        not_found(resp);
        return;
    }
    if (strcmp(j->state, "JobComplete") != 0 && strcmp(j->state, "Failed") != 0 &&
        strcmp(j->state, "Aborted") != 0) {
        invalid_state(resp, j);
        return;
    }
    emu_resp_raw(resp, 200, "text/csv", xstrdup(strbuf_str(src)));
}

static void delete_job(emu_req *req, emu_resp *resp, feat_job *j)
{
    settle(j);
    if (strcmp(j->state, "Open") == 0 || strcmp(j->state, "InProgress") == 0) {
        invalid_state(resp, j);
        return;
    }
    feat_state *st = feat_state_get(req->emu);
    for (feat_job **p = &st->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    job_free(j);
    emu_resp_raw(resp, 204, "text/plain", NULL);
}

static feat_job *find_job(emu *e, const char *id, size_t n)
{
    char want[19] = "", have[19];
    if (n == 15 || n == 18) {
        char tmp[19];
        snprintf(tmp, sizeof tmp, "%.*s", (int)n, id);
        if (!sfid_to18(tmp, want))
            return NULL;
    }
    for (feat_job *j = feat_state_get(e)->jobs; j; j = j->next) {
        snprintf(have, sizeof have, "%s", j->id);
        if (want[0] && strcmp(have, want) == 0)
            return j;
    }
    return NULL;
}

static void list_jobs(emu_req *req, emu_resp *resp)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    for (feat_job *j = feat_state_get(req->emu)->jobs; j; j = j->next) {
        settle(j);
        cJSON_AddItemToArray(arr, job_info(j, false));
    }
    cJSON_AddBoolToObject(o, "done", true);
    cJSON_AddItemToObject(o, "records", arr);
    cJSON_AddNullToObject(o, "nextRecordsUrl");
    emu_resp_json(resp, 200, o);
}

static void method_not_allowed(emu_req *req, emu_resp *resp, const char *allowed)
{
    char msg[128];
    snprintf(msg, sizeof msg, "HTTP Method '%s' not allowed. Allowed are %s", req->method, allowed);
    emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", msg, NULL);
}

static void job_route(emu_req *req, emu_resp *resp, feat_job *j, const char *sub)
{
    const char *m = req->method;
    if (*sub == '\0') {
        if (strcmp(m, "GET") == 0) {
            settle(j);
            emu_resp_json(resp, 200, job_info(j, true));
        } else if (strcmp(m, "PATCH") == 0) {
            change_state(req, resp, j);
        } else if (strcmp(m, "DELETE") == 0) {
            delete_job(req, resp, j);
        } else {
            method_not_allowed(req, resp, "GET,PATCH,DELETE");
        }
    } else if (strcmp(sub, "batches") == 0) {
        if (strcmp(m, "PUT") == 0)
            upload(req, resp, j);
        else
            method_not_allowed(req, resp, "PUT");
    } else if (strcmp(m, "GET") == 0) {
        results(resp, j, sub);
    } else {
        method_not_allowed(req, resp, "GET");
    }
}

void emu_handle_bulk(emu_req *req, emu_resp *resp)
{
    const char *p = req->rest + strlen("/jobs/ingest");
    if (strncmp(req->rest, "/jobs/ingest", 12) != 0 || (*p && *p != '/')) {
        not_found(resp);
        return;
    }
    p += *p == '/';
    if (*p == '\0') {
        if (strcmp(req->method, "POST") == 0)
            create_job(req, resp);
        else if (strcmp(req->method, "GET") == 0)
            list_jobs(req, resp);
        else
            method_not_allowed(req, resp, "GET,POST");
        return;
    }
    size_t n = strcspn(p, "/");
    feat_job *j = find_job(req->emu, p, n);
    if (!j) {
        not_found(resp);
        return;
    }
    char sub[64];
    const char *s = p + n + (p[n] == '/');
    size_t sn = strcspn(s, "/");
    if (sn >= sizeof sub || (s[sn] == '/' && s[sn + 1] != '\0')) {
        not_found(resp);
        return;
    }
    snprintf(sub, sizeof sub, "%.*s", (int)sn, s);
    job_route(req, resp, j, sub);
}
