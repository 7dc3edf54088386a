/* The convergence checker of docs/sync-protocol.md#verification, shared by the fault matrix
 * (test_matrix.c) and the kill/concurrency tests (test_sync_kill.c).
 *
 * A test records every acknowledged local write in an mx_model (the op history, with
 * distinct values per op); after faults stop and sync converged, mx_check() compares the
 * model with the local outbox and the server's records: no loss, no duplicate, nothing
 * unexpected, last local values on the server, deletes final, nothing left inflight,
 * permanent failures dead with Salesforce's code and message, database integrity ok. */
#ifndef SFA_TESTS_MATRIX_CHECK_H
#define SFA_TESTS_MATRIX_CHECK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "sfagent/agent.h"

typedef struct mx_rec {
    char *sobject;
    char *local_id;  /* also its Sync_Key__c on the server */
    cJSON *expected; /* every field as last written locally */
    bool deleted;
} mx_rec;

typedef struct mx_model {
    mx_rec *recs;
    size_t count, cap;
} mx_model;

/* Record a local create / update / delete the store acknowledged (SFA_OK). */
void mx_model_create(mx_model *m, const char *sobject, const char *local_id, const char *json);
void mx_model_update(mx_model *m, const char *local_id, const char *json);
void mx_model_delete(mx_model *m, const char *local_id);
mx_rec *mx_model_find(mx_model *m, const char *local_id);
void mx_model_free(mx_model *m);

/* The server's records of sobject (array; deleted ones too when include_deleted);
 * NULL when they cannot be read. Caller frees. */
typedef cJSON *(*mx_fetch_fn)(void *ctx, const char *sobject, bool include_deleted);

typedef struct mx_result {
    size_t violations; /* total; the first few are printed on stderr */
    size_t done_recs;  /* records whose every op is done and whose server state matches */
    size_t dead_ops;   /* ops dead (or in conflict) with a code and a message */
    size_t blocked;    /* records held back behind a dead op (own or referenced) */
} mx_result;

/* Check the model against the outbox of agent, the database file at db_path and the
 * server (fetch). dead_codes: comma-separated error codes a dead op may carry (NULL: no
 * op may be dead). Returns out->violations. */
size_t mx_check(mx_result *out, mx_model *m, sfa_agent *agent, const char *db_path,
                mx_fetch_fn fetch, void *fetch_ctx, const char *dead_codes);

/* Every Sync_Key__c value in the bodies of the mutating requests of an emulator request
 * log (array of {"method","path","body"}), with how often it was sent: a JSON object
 * key -> count. */
cJSON *mx_sent_keys(const cJSON *request_log);
/* Mutating requests (POST/PATCH/DELETE under /services/data) in a request log. */
size_t mx_log_mutations(const cJSON *request_log);

#endif
