/* Internals shared by the emulator's modules.
 *
 * Ownership of files: emu_server.c (HTTP, routing, auth, faults, usage), emu_store.c
 * (records, metadata, validation, persistence), emu_oauth.c, emu_rows.c (sObject rows,
 * describe, limits, versions) form the core. emu_query.c, emu_collections.c,
 * emu_composite.c, emu_replication.c (updated/deleted) and emu_bulk.c are the feature
 * modules; they use only what this header declares.
 *
 * Concurrency: the router takes the emulator lock (emu_lock) around a whole request, so
 * every handler and every emu_store_* call below runs with the lock held and may assume
 * exclusive access. Handlers never take the lock themselves.
 */
#ifndef SFA_EMU_INTERNAL_H
#define SFA_EMU_INTERNAL_H

#include "emulator.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- requests and responses ---- */

typedef struct emu_req {
    emu *emu;
    const char *method; /* "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD" */
    const char *path;   /* full path, e.g. "/services/data/v62.0/query" */
    const char *rest;   /* path after "/services/data/vNN.N", e.g. "/query"; "" for the root */
    double api_version; /* e.g. 62.0 */
    const char *body;   /* raw body (NUL-terminated), or NULL */
    size_t body_len;
    cJSON *json;   /* body parsed as JSON, or NULL if absent or not JSON */
    void *conn;    /* transport handle: use emu_req_arg / emu_req_header */
    bool internal; /* a composite subrequest: no usage counting, no faults */
} emu_req;

/* Query-string argument (URL-decoded) or NULL. */
const char *emu_req_arg(const emu_req *req, const char *name);
/* Request header (case-insensitive) or NULL. */
const char *emu_req_header(const emu_req *req, const char *name);

#define EMU_MAX_HEADERS 8

typedef struct emu_resp {
    int status;
    char *body; /* owned; NULL for no body */
    size_t body_len;
    const char *content_type; /* static string; default "application/json;charset=UTF-8" */
    char *header_names[EMU_MAX_HEADERS];
    char *header_values[EMU_MAX_HEADERS];
    int header_count;
} emu_resp;

/* Set status and JSON body; takes ownership of body (may be NULL for no body). */
void emu_resp_json(emu_resp *resp, int status, cJSON *body);
/* Salesforce REST error array: [{"message":msg,"errorCode":code[,"fields":[field]]}]. */
void emu_resp_error(emu_resp *resp, int status, const char *code, const char *message,
                    const char *field);
/* 405 METHOD_NOT_ALLOWED naming the method the client sent and the ones the resource takes,
 * as Salesforce words it: "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,POST". */
void emu_resp_method_not_allowed(emu_resp *resp, const char *method, const char *allowed);
/* Raw body with a content type (e.g. "text/csv"); takes ownership of body. */
void emu_resp_raw(emu_resp *resp, int status, const char *content_type, char *body);
void emu_resp_header(emu_resp *resp, const char *name, const char *value);
void emu_resp_clear(emu_resp *resp);

/* Run a subrequest through the router as part of the current request (composite):
 * same auth, no extra API usage, no faults. req->path must be a full path. */
void emu_dispatch_internal(emu *e, emu_req *req, emu_resp *resp);

/* Charge one more API request to the org's usage (lock held): Composite Batch subrequests
 * after the first, since each counts against the limits while the router counted the batch
 * once (docs/salesforce.md#composite). False, charging nothing, once the limit is reached. */
bool emu_usage_charge(emu *e);

/* ---- objects and fields (metadata) ---- */

typedef struct emu_object emu_object;

/* Case-insensitive lookup of a declared sObject, or NULL. */
const emu_object *emu_object_find(emu *e, const char *name);
/* Canonical spelling ("Case"). */
const char *emu_object_name(const emu_object *obj);
const char *emu_object_key_prefix(const emu_object *obj);
/* Object owning an Id (by key prefix), or NULL. */
const emu_object *emu_object_for_id(emu *e, const char *id);
/* Canonical field name for a case-insensitive name, or NULL if the object has no such field. */
const char *emu_field_canonical(const emu_object *obj, const char *field);
/* Does a field path name a field: a plain field of obj, or a relationship path
 * (Contact.LastName, contact.account.name) whose every step exists, case-insensitively?
 * A step into an object the emulator does not hold (User, through Owner) is not checked. */
bool emu_field_path_exists(emu *e, const emu_object *obj, const char *path);
/* May a query filter ('f'), sort ('s') or group ('g') by the field at path, as its
 * describe's filterable / sortable / groupable say? Unknown paths: true. */
bool emu_field_path_allows(emu *e, const emu_object *obj, const char *path, char use);
/* Describe type of a field ("string", "boolean", "datetime", ...; case-insensitive name),
 * or NULL if the object has no such field. */
const char *emu_field_type(const emu_object *obj, const char *field);
/* True for external-ID fields (Sync_Key__c on Case and Contact). */
bool emu_field_is_external_id(const emu_object *obj, const char *field);
/* Every field name, in describe order (NULL-terminated, borrowed). */
const char *const *emu_object_fields(const emu_object *obj);
/* Full describe JSON (sObject Describe shape); caller frees. */
cJSON *emu_object_describe(emu *e, const emu_object *obj, double api_version);
/* Describe Global entry for one object; caller frees. */
cJSON *emu_object_global_entry(emu *e, const emu_object *obj, double api_version);
/* Declared objects, NULL-terminated, borrowed. */
const emu_object *const *emu_objects(emu *e);

/* ---- records (DML). Validation follows field metadata; errors are Salesforce's. ---- */

typedef struct emu_dml_error {
    int http_status; /* status a single-record REST call would answer with */
    char code[64];   /* statusCode / errorCode */
    char message[512];
    char field[128]; /* offending field or "" */
} emu_dml_error;

/* Create. fields: JSON object (attributes ignored, Id refused). out_id: 18 chars. */
bool emu_store_create(emu *e, const emu_object *obj, const cJSON *fields, char out_id[19],
                      emu_dml_error *err);
bool emu_store_update(emu *e, const emu_object *obj, const char *id, const cJSON *fields,
                      emu_dml_error *err);
/* Upsert on an external-ID field. Multiple matches -> false with http_status 300 and
 * *matches (caller frees) set to the array of record URLs. */
bool emu_store_upsert(emu *e, const emu_object *obj, const char *ext_field, const char *value,
                      const cJSON *fields, char out_id[19], bool *created, cJSON **matches,
                      emu_dml_error *err);
bool emu_store_delete(emu *e, const char *id, emu_dml_error *err);

/* The stored record (borrowed; every field, no attributes) or NULL. *deleted tells whether
 * it is in the recycle bin. Accepts 15- or 18-char Ids. */
const cJSON *emu_store_find(emu *e, const char *id, bool *deleted);
/* A record view with "attributes" {type,url} first, then the requested fields (NULL: all)
 * in that order; api_version builds the url. Caller frees. */
cJSON *emu_store_view(emu *e, const emu_object *obj, const cJSON *stored, const char *const *fields,
                      size_t nfields, double api_version);
/* Every record of obj as views with all fields (array, caller frees); deleted ones only
 * with include_deleted (they carry IsDeleted true). */
cJSON *emu_store_snapshot(emu *e, const emu_object *obj, bool include_deleted, double api_version);
/* What emu_store_select selects (queries). */
typedef bool (*emu_match_fn)(const cJSON *record, void *ctx);
typedef struct emu_select {
    const emu_object *obj;
    bool include_deleted; /* deleted records too (they carry IsDeleted true) */
    emu_match_fn match;   /* NULL: every record */
    void *ctx;            /* for match */
    /* match sees the stored record (every field, no attributes, no nested relationships)
     * unless match_view, when it sees the view of `fields` (dotted paths such as
     * Account.Name resolved through the parent record). */
    bool match_view;
    const char *const *fields; /* fields of the views built (NULL: all, as emu_store_view) */
    size_t nfields;
    /* Optional index hint: a record can match only if field key_field (canonical name)
     * equals one of keys as SOQL = compares (soql_where_keys). Used when Id or an
     * external-ID/unique field, else ignored. */
    const char *key_field;
    const char *const *keys;
    size_t nkeys;
    /* Optional range hint: a record can match only if its SystemModstamp is at or after
     * modstamp_floor_ms (soql_where_floor), as Salesforce's index on it lets a query skip
     * the older ones, so an incremental query costs what it returns, not the object's size. */
    bool has_modstamp_floor;
    int64_t modstamp_floor_ms;
} emu_select;
/* Filter first, then build views: the records of sel->obj that match, as views, in
 * insertion order, which is also Id order (Ids are minted from one rising counter), so a
 * stable sort by SystemModstamp orders its ties by Id. Caller frees. */
cJSON *emu_store_select(emu *e, const emu_select *sel, double api_version);
/* Deleted records of obj whose deletion time is in [start_ms, end_ms): array of
 * {"id","deletedDate"}. */
cJSON *emu_store_deleted_between(emu *e, const emu_object *obj, int64_t start_ms, int64_t end_ms);

/* The value set with emu_set_deleted_earliest (0: none); lock held. */
int64_t emu_deleted_earliest(emu *e);
/* The most records a query page may hold (--query-page-max), 0: no cap of its own. */
int emu_query_page_max(const emu *e);

/* ms truncated to its whole second (floor, also before 1970). Salesforce's audit dates
 * (CreatedDate, LastModifiedDate, SystemModstamp, deletedDate, a Bulk job's createdDate and
 * systemModstamp) have one-second resolution: they always print .000 milliseconds. */
int64_t emu_whole_second(int64_t ms);

/* allOrNone: everything done through emu_store_* between begin and rollback is undone
 * by rollback; commit keeps it. Not nested. */
void emu_store_txn_begin(emu *e);
void emu_store_txn_commit(emu *e);
void emu_store_txn_rollback(emu *e);

/* ---- faults inside batch requests ---- */

/* For record number index (0-based) of the current collection/composite request: true
 * when an EMU_FAULT_RECORD_ERROR fault applies, with the error to report in *err. */
bool emu_fault_record_error(emu *e, const emu_req *req, int index, emu_dml_error *err);

/* ---- feature handlers (called by the router with the lock held) ---- */

/* GET /query?q=, /queryAll?q=, and /query/<locator> (next page). */
void emu_handle_query(emu_req *req, emu_resp *resp);
/* /composite/sobjects[/Type[/ExtField]] : create, update, upsert, retrieve, delete. */
void emu_handle_collections(emu_req *req, emu_resp *resp);
/* POST /composite. */
void emu_handle_composite(emu_req *req, emu_resp *resp);
/* GET /sobjects/{Type}/updated/ and /deleted/. */
void emu_handle_replication(emu_req *req, emu_resp *resp, const emu_object *obj, bool deleted);
/* /jobs/ingest[/...] (Bulk API 2.0). */
void emu_handle_bulk(emu_req *req, emu_resp *resp);
/* Called by emu_reset and emu_stop so feature modules can drop their state (query
 * cursors, bulk jobs). feature_state is a per-emulator slot they own. */
void emu_features_reset(emu *e);
void **emu_feature_state(emu *e);

#endif
