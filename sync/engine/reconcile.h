/* Reconciliation: finding creates by their key, resolving unknown outcomes
 * (sync/engine/reconcile.c). */
#ifndef SFA_SYNC_ENGINE_RECONCILE_H
#define SFA_SYNC_ENGINE_RECONCILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/op.h"
#include "sync/engine/push.h"

/* Key field and value an op's record carries on the server (create: idempotency field +
 * local id; upsert: its ext field/value). NULL field when it has none. */
void push_op_key(const push_ctx *ctx, const store_op *op, const char **field, const char **value);
/* Take the Salesforce Id id into op->new_sf_id in its 18-char form. False (op unchanged)
 * when id is missing or not a valid Id: nothing from a response is stored or put in a URL
 * unchecked. */
bool push_take_id(store_op *op, const char *id);
/* Take a read-back row into op (nothing when its Id is invalid): identity values (Id, CaseNumber,
 * SystemModstamp, key) into op->server and new_sf_id, other fields into op->server_fill. */
void push_take_row(store_op *op, const cJSON *row, const char *key_field);
/* Read-back rows that carry no key (the create composite's query selects none: the keys
 * are the bulk of its bytes) go into the ops whose upsert answered with the row's Id;
 * each op also gets its own key value back into its server values. Rows are read in
 * place (push_answer.c), one at a time: an index of ops[0..n)'s new Ids (free with
 * push_id_index_free), and one row into the op it matches (false when none). The ops
 * must stay where they are while the index is used. */
typedef struct push_id_index push_id_index;
push_id_index *push_id_index_new(const store_op *ops, size_t n);
bool push_id_index_take(const push_ctx *ctx, const push_id_index *ix, store_op *ops,
                        const cJSON *row);
void push_id_index_free(push_id_index *ix);

/* Match query rows (records array of a query response) to ops by key (push_take_row for
 * each match); returns how many matched. */
size_t push_match_rows(const push_ctx *ctx, store_op *ops, size_t n, const cJSON *records);
/* Resolve every inflight op (start-up, or after an unknown outcome in this run):
 * creates by key (found -> done, else pending), updates/deletes/upserts -> pending,
 * creates without a key -> dead UNKNOWN_OUTCOME. owner NULL: every inflight op. */
sfa_status push_resolve_inflight(push_ctx *ctx, const char *owner);

#endif
