/* The sync side of the outbox: reading ready ops, claiming them, writing results, and
 * the mirror updates that go with results. SQL runs on the schema of migrations/0001
 * through the store's connection (store/store.h).
 *
 * Invariants:
 *   I1. Journal before mutate: ops are pending -> inflight (lease_owner = run id) in a
 *       committed transaction before their request is sent.
 *   I2. Results of one request are written in one transaction; a crash before its COMMIT
 *       leaves the ops inflight, to be resolved as unknown outcomes.
 *   I3. A result only touches a row still inflight under the writing run's id: a run that
 *       lost its lease cannot overwrite what the run that took over decided.
 *   I4. Only the oldest open op of a record is ready: ops of one record apply in seq
 *       order (open = pending, inflight, conflict or dead).
 *   I5. A record is dirty exactly while it has an open op.
 *   I6. The store may fold a local write into a pending op (store/records.c) between our
 *       read and our claim; the claim only succeeds if the op's fields are still the ones
 *       read, so a folded change is never lost by sending the older fields.
 *   I7. A failure outcome (retry, dead, conflict) is written with its error code.
 *   I8. A result the mirror refuses (a constraint) is scoped to its op: that op is parked
 *       dead (MIRROR_CONSTRAINT) and the batch's other results are written.
 *   I9. A manual conflict keeps the base its edit started from (for `sfagent conflicts`)
 *       before base takes the server's values.
 *   I10. Reading, claiming and recording a batch touch only that batch's rows (index
 *       lookups, statements prepared once per connection by store_stmt): the cost of a
 *       batch does not grow with the backlog.
 */
#include "store/op.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/op_state.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/check.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/localid.h"
#include "util/log.h"
#include "util/timeutil.h"

#define OP_COLUMNS                                                                                 \
    "SELECT o.seq, o.op_id, o.sobject, o.local_id, o.kind, o.fields, o.ext_field, o.ext_value,"    \
    " o.base_modstamp, o.attempts, r.sf_id, o.updated_at, o.base_fields FROM outbox o"             \
    " LEFT JOIN records r"                                                                         \
    " ON r.local_id = o.local_id "

/* I10: a page walks outbox_pending_seq (migrations/0009) from the last page's end and
 * stops at ?3 rows: without INDEXED BY the planner prefers outbox_ready and sorts every
 * pending op for each page. */
#define OP_COLUMNS_PENDING                                                                         \
    "SELECT o.seq, o.op_id, o.sobject, o.local_id, o.kind, o.fields, o.ext_field, o.ext_value,"    \
    " o.base_modstamp, o.attempts, r.sf_id, o.updated_at, o.base_fields"                           \
    " FROM outbox o INDEXED BY outbox_pending_seq LEFT JOIN records r"                             \
    " ON r.local_id = o.local_id "

static const char sql_ready[] = OP_COLUMNS_PENDING
    "WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 AND o.seq > ?2"
    " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.local_id = o.local_id"
    " AND p.seq < o.seq AND p.state IN ('pending', 'inflight', 'conflict', 'dead'))"
    " ORDER BY o.seq LIMIT ?3";

static const char sql_inflight[] =
    OP_COLUMNS "WHERE o.state = 'inflight' AND (?1 IS NULL OR o.lease_owner = ?1) ORDER BY o.seq";

void store_op_clear(store_op *op)
{
    free(op->op_id);
    free(op->sobject);
    free(op->local_id);
    free(op->kind);
    cJSON_Delete(op->fields);
    free(op->fields_raw);
    free(op->fields_packed);
    free(op->ext_field);
    free(op->ext_value);
    free(op->base_modstamp);
    cJSON_Delete(op->base_fields);
    free(op->sf_id);
    free(op->err_code);
    free(op->err_msg);
    cJSON_Delete(op->server);
    cJSON_Delete(op->server_fill);
    free(op->new_sf_id);
    free(op->new_base_modstamp);
    memset(op, 0, sizeof *op);
}

void store_ops_free(store_op *ops, size_t n)
{
    for (size_t i = 0; ops && i < n; i++)
        store_op_clear(&ops[i]);
    free(ops);
}

void store_op_set(store_op *op, store_outcome outcome, const char *code, const char *msg)
{
    op->outcome = outcome;
    free(op->err_code);
    free(op->err_msg);
    op->err_code = code ? xstrdup(code) : NULL;
    op->err_msg = msg ? xstrdup(msg) : NULL;
}

void store_op_parse_fields(store_op *op)
{
    if (op->fields)
        return;
    const char *f = op->fields_raw;
    const char *err = NULL; /* numbers stay their literal text: sent as written */
    op->fields = f ? json_parse_exact(f, strlen(f), &err) : NULL;
    if (op->fields && !cJSON_IsObject(op->fields)) {
        cJSON_Delete(op->fields);
        op->fields = NULL;
    }
    if (!op->fields && strcmp(op->kind, "delete") != 0)
        op->fields = cJSON_CreateObject();
}

/* parse: build op->fields now; otherwise only fields_raw is kept and the caller parses
 * one op at a time (store_op_parse_fields). */
static void row_to_op(sqlite3_stmt *st, store_op *op, bool parse)
{
    memset(op, 0, sizeof *op);
    op->seq = sqlite3_column_int64(st, 0);
    op->op_id = store_col_dup(st, 1);
    op->sobject = store_col_dup(st, 2);
    op->local_id = store_col_dup(st, 3);
    op->kind = store_col_dup(st, 4);
    op->fields_raw = store_col_dup(st, 5);
    if (parse)
        store_op_parse_fields(op);
    const char *err = NULL;
    op->ext_field = store_col_dup(st, 6);
    op->ext_value = store_col_dup(st, 7);
    op->base_modstamp = store_col_dup(st, 8);
    op->attempts = sqlite3_column_int(st, 9);
    op->sf_id = store_col_dup(st, 10);
    op->updated_at = sqlite3_column_int64(st, 11);
    const char *bf = (const char *)sqlite3_column_text(st, 12);
    op->base_fields = bf ? json_parse_exact(bf, strlen(bf), &err) : NULL;
    if (op->base_fields && !cJSON_IsObject(op->base_fields)) {
        cJSON_Delete(op->base_fields);
        op->base_fields = NULL;
    }
}

static sfa_status load_ops(sfa_agent *a, sqlite3_stmt *st, bool parse, store_op **out, size_t *n)
{
    size_t cap = 0, count = 0;
    store_op *ops = NULL;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            ops = xrealloc(ops, cap * sizeof *ops);
        }
        row_to_op(st, &ops[count++], parse);
    }
    if (src != SQLITE_DONE) {
        store_ops_free(ops, count);
        return store_fail_sqlite(a, src, "read outbox");
    }
    if (count > 0 && count < cap) /* a page lives while its batches wait for a slot */
        ops = xrealloc(ops, count * sizeof *ops);
    *out = ops;
    *n = count;
    return SFA_OK;
}

sfa_status store_outbox_ready(sfa_agent *a, int64_t now_ms, int64_t after_seq, size_t limit,
                              store_op **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(a, sql_ready); /* I10 */
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    sfa_status rc = load_ops(a, st, false, out, n); /* I4 by the NOT EXISTS */
    sqlite3_reset(st);
    return rc;
}

sfa_status store_outbox_inflight(sfa_agent *a, const char *owner, store_op **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(a, sql_inflight);
    if (!st)
        return store_last_status(a);
    if (owner)
        sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sfa_status rc = load_ops(a, st, true, out, n);
    sqlite3_reset(st);
    return rc;
}

/* One transaction applying ev to each of ops[0..n); changed[i] (may be NULL) says which
 * ops it applied to (the others raced: see store/op_state.c). */
static sfa_status transition_all(sfa_agent *a, const char *run_id, store_op_event ev,
                                 const store_op *ops, size_t n, bool *changed, const char *what)
{
    sfa_status rc = store_tx_begin(a);
    for (size_t i = 0; rc == SFA_OK && i < n; i++) {
        store_op_change c = {.seq = ops[i].seq, .event = ev, .run_id = run_id};
        c.expect_fields = ops[i].fields_raw; /* I1 with I6: what is sent is what was claimed */
        bool ch = false;
        rc = store_op_transition(a, &c, NULL, &ch);
        if (changed)
            changed[i] = ch;
    }
    (void)what;
    if (rc != SFA_OK) {
        store_tx_rollback(a); /* the handle keeps the failure's message */
        return rc;
    }
    return store_tx_commit(a);
}

sfa_status store_outbox_claim(sfa_agent *a, const char *run_id, store_op *ops, size_t n,
                              bool *claimed)
{
    /* I1: committed before the request leaves */
    return transition_all(a, run_id, STORE_EV_CLAIM, ops, n, claimed, "claim ops");
}

sfa_status store_outbox_adopt(sfa_agent *a, const char *run_id, const store_op *ops, size_t n)
{
    return transition_all(a, run_id, STORE_EV_ADOPT, ops, n, NULL, "adopt inflight ops");
}

/* ---- results ---- */

typedef struct apply_stmts {
    sqlite3_stmt *mirror_get, *mirror_put, *dup_drop;
    sqlite3_stmt *ref_get;
    sqlite3_stmt *savepoint, *release, *rollback_to; /* I8's per-op savepoint */
    sfa_agent *agent; /* for field metadata (store_field_is_reference) */
} apply_stmts;

static const char sql_mirror_get[] = "SELECT base, fields FROM records WHERE local_id = ?1";
static const char sql_mirror_put[] =
    "UPDATE records SET base = ?2, fields = ?3, sf_id = coalesce(?4, sf_id),"
    " case_number = coalesce(?5, case_number), sys_modstamp = coalesce(?6, sys_modstamp),"
    " dirty = EXISTS (SELECT 1 FROM outbox WHERE local_id = ?1"
    " AND state IN ('pending', 'inflight', 'conflict', 'dead')), updated_at = ?7, " STORE_FIELD_SET(
        "?3") " WHERE local_id = ?1";
/* A pull may have cached the record we just created before this result was written
 * (lost answer, then pull): that copy has no ops of its own and is replaced by ours. */
static const char sql_dup_drop[] =
    "DELETE FROM records WHERE sobject = ?1 AND sf_id = ?2 AND local_id != ?3"
    " AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.local_id = records.local_id)";

static const char sql_savepoint[] = "SAVEPOINT op_result";
static const char sql_release[] = "RELEASE op_result";
static const char sql_rollback_to[] = "ROLLBACK TO op_result";

static const char sql_ref_get[] =
    "SELECT sf_id FROM records WHERE local_id = ?1 AND sf_id IS NOT NULL";

/* I10: the connection's cached statements (store_stmt), borrowed for one results
 * transaction; each is reset after use, so they never hold a read open. */
static sfa_status stmts_get(sfa_agent *a, apply_stmts *s)
{
    s->mirror_get = store_stmt(a, sql_mirror_get);
    s->mirror_put = s->mirror_get ? store_stmt(a, sql_mirror_put) : NULL;
    s->dup_drop = s->mirror_put ? store_stmt(a, sql_dup_drop) : NULL;
    s->ref_get = s->dup_drop ? store_stmt(a, sql_ref_get) : NULL;
    s->savepoint = s->ref_get ? store_stmt(a, sql_savepoint) : NULL;
    s->release = s->savepoint ? store_stmt(a, sql_release) : NULL;
    s->rollback_to = s->release ? store_stmt(a, sql_rollback_to) : NULL;
    return s->rollback_to ? SFA_OK : store_last_status(a);
}

/* Copy src's fields into dst; with fill_only, only those dst does not have. */
static void merge_into(cJSON *dst, const cJSON *src, bool fill_only)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, src)
    {
        if (strcmp(f->string, "attributes") == 0)
            continue;
        if (fill_only && cJSON_GetObjectItemCaseSensitive(dst, f->string))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(dst, f->string);
        cJSON_AddItemToObject(dst, f->string, cJSON_Duplicate(f, true));
    }
}

static cJSON *parse_obj(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    const char *err = NULL; /* exact: an 18-digit number must not be rounded on the way */
    cJSON *j = t ? json_parse_exact(t, (size_t)sqlite3_column_bytes(st, col), &err) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = cJSON_CreateObject();
    }
    return j;
}

/* The local view keeps what the user typed: a reference to a local record ("loc-...").
 * Once that record has its Salesforce Id, the view holds the Id, as Salesforce does, so
 * local queries by the parent's Id find the child. Only reference fields are references:
 * the record's own idempotency key (Sync_Key__c = its local id) is a text value that
 * Salesforce holds as such, and so must the mirror. */
static int resolve_local_refs(apply_stmts *s, const char *sobject, cJSON *fields)
{
    cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (!cJSON_IsString(f) || !local_id_is_valid(f->valuestring) ||
            !store_field_is_reference(s->agent, sobject, f->string))
            continue;
        sqlite3_reset(s->ref_get);
        sqlite3_bind_text(s->ref_get, 1, f->valuestring, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s->ref_get);
        if (rc == SQLITE_ROW) {
            char *sf_id = xstrdup((const char *)sqlite3_column_text(s->ref_get, 0));
            sqlite3_reset(s->ref_get);
            cJSON_SetValuestring(f, sf_id);
            free(sf_id);
        } else if (rc != SQLITE_DONE) {
            sqlite3_reset(s->ref_get);
            return rc;
        }
    }
    sqlite3_reset(s->ref_get);
    return SQLITE_OK;
}

/* I9: a manual conflict replaces base's conflicting fields with the server's values (so a
 * retry passes the next check); what they were before, the base the edit started from, is
 * kept for `sfagent conflicts` under meta 'conflict.base:<op_id>' (store/outbox.c). */
static const char sql_conflict_base_put[] =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('conflict.base:' || ?1, ?2)";

static int keep_conflict_base(apply_stmts *s, const store_op *op, const cJSON *base)
{
    cJSON *was = cJSON_CreateObject();
    const cJSON *f;
    cJSON_ArrayForEach(f, op->server)
    {
        if (strcmp(f->string, "SystemModstamp") == 0)
            continue;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(base, f->string);
        cJSON_AddItemToObject(was, f->string, b ? cJSON_Duplicate(b, true) : cJSON_CreateNull());
    }
    char *txt = json_print(was);
    cJSON_Delete(was);
    sqlite3_stmt *st = store_stmt(s->agent, sql_conflict_base_put);
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_text(st, 1, op->op_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, txt, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    free(txt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Mirror after a result: base takes what reached the server (sent fields when the op was
 * applied, then server values); the local view takes server values; I5 for dirty. */
static int mirror_update(apply_stmts *s, const store_op *op, bool applied, int64_t now)
{
    sqlite3_reset(s->mirror_get);
    sqlite3_bind_text(s->mirror_get, 1, op->local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->mirror_get);
    if (rc == SQLITE_DONE)
        return SQLITE_OK; /* record gone locally (deleted before its create synced) */
    if (rc != SQLITE_ROW)
        return rc;
    cJSON *base = parse_obj(s->mirror_get, 0);
    cJSON *fields = parse_obj(s->mirror_get, 1);
    sqlite3_reset(s->mirror_get);
    if (applied && op->fields)
        merge_into(base, op->fields, false);
    if (op->server && op->outcome == STORE_OUT_CONFLICT) {
        rc = keep_conflict_base(s, op, base); /* I9 */
        if (rc != SQLITE_OK) {
            cJSON_Delete(base);
            cJSON_Delete(fields);
            return rc;
        }
    }
    if (op->server) {
        merge_into(base, op->server, false);
        /* A manual conflict keeps the local edit visible until retry/discard decides. */
        if (op->outcome != STORE_OUT_CONFLICT)
            merge_into(fields, op->server, false);
    }
    if (op->server_fill) {
        merge_into(base, op->server_fill, false);
        merge_into(fields, op->server_fill, true); /* never over a local edit */
    }
    rc = applied ? resolve_local_refs(s, op->sobject, fields) : SQLITE_OK;
    if (rc != SQLITE_OK) {
        cJSON_Delete(base);
        cJSON_Delete(fields);
        return rc;
    }
    const char *sf_id = op->new_sf_id ? op->new_sf_id : json_str(op->server, "Id");
    if (sf_id) {
        sqlite3_reset(s->dup_drop);
        sqlite3_bind_text(s->dup_drop, 1, op->sobject, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->dup_drop, 2, sf_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->dup_drop, 3, op->local_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s->dup_drop);
    } else {
        rc = SQLITE_DONE;
    }
    char *btxt = json_print(base), *ftxt = json_print(fields);
    if (rc == SQLITE_DONE) {
        sqlite3_stmt *p = s->mirror_put;
        sqlite3_reset(p);
        sqlite3_bind_text(p, 1, op->local_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 2, btxt, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 3, ftxt, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 4, sf_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 5, json_str(op->server, "CaseNumber"), -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 6, json_str(op->server, "SystemModstamp"), -1, SQLITE_STATIC);
        sqlite3_bind_int64(p, 7, now);
        rc = sqlite3_step(p);
        sqlite3_reset(p); /* bound buffers are freed below */
    }
    free(btxt);
    free(ftxt);
    cJSON_Delete(base);
    cJSON_Delete(fields);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* What one results transaction writes with: the run, its limits, what it counted. */
typedef struct apply_ctx {
    const char *run_id;
    int max_attempts;
    store_apply_counts *counts;
    sfa_agent *agent;
} apply_ctx;

/* I7: a failure outcome carries the code that explains it (what `outbox list` shows). */
static bool op_outcome_is_consistent(const store_op *op)
{
    switch (op->outcome) {
    case STORE_OUT_RETRY:
    case STORE_OUT_DEAD:
    case STORE_OUT_CONFLICT:
        return op->err_code != NULL;
    case STORE_OUT_NONE:
    case STORE_OUT_DONE:
    case STORE_OUT_RELEASE:
    case STORE_OUT_INFLIGHT:
        return true;
    }
    return false;
}

static store_op_event outcome_event(store_outcome o)
{
    switch (o) {
    case STORE_OUT_DONE:
        return STORE_EV_DONE;
    case STORE_OUT_RETRY:
        return STORE_EV_RETRY;
    case STORE_OUT_RELEASE:
        return STORE_EV_RELEASE;
    case STORE_OUT_DEAD:
        return STORE_EV_DEAD;
    case STORE_OUT_CONFLICT:
    case STORE_OUT_NONE:
    case STORE_OUT_INFLIGHT:
        break;
    }
    return STORE_EV_CONFLICT;
}

static void count(store_apply_counts *c, store_op_state to, store_outcome o)
{
    if (to == STORE_OP_DONE)
        c->done++;
    else if (to == STORE_OP_DEAD)
        c->dead++;
    else if (to == STORE_OP_CONFLICT)
        c->conflict++;
    else if (o == STORE_OUT_RETRY)
        c->retried++;
}

/* T9: a conflicting op now stands against the server's values of its conflicting fields
 * (op->server), so `outbox retry` (local wins) passes the next check. Caller frees. */
static char *conflict_base_fields(const store_op *op)
{
    if (op->outcome != STORE_OUT_CONFLICT || !op->server)
        return NULL;
    cJSON *bf = op->base_fields ? cJSON_Duplicate(op->base_fields, true) : cJSON_CreateObject();
    const cJSON *f;
    cJSON_ArrayForEach(f, op->server)
    {
        if (strcmp(f->string, "SystemModstamp") == 0 || strcmp(f->string, "attributes") == 0)
            continue;
        cJSON_DeleteItemFromObject(bf, f->string);
        cJSON_AddItemToObject(bf, f->string, cJSON_Duplicate(f, true));
    }
    char *text = json_print(bf);
    cJSON_Delete(bf);
    return text;
}

static int apply_one(apply_ctx *ctx, apply_stmts *s, store_op *op, int64_t now)
{
    if (!SFA_ALWAYS(op_outcome_is_consistent(op)))
        return SQLITE_MISUSE;
    if (op->outcome == STORE_OUT_NONE || op->outcome == STORE_OUT_INFLIGHT)
        return SQLITE_OK; /* I2: stays inflight, resolved by key later */
    int64_t delay =
        op->retry_delay_ms > op->retry_after_ms ? op->retry_delay_ms : op->retry_after_ms;
    store_op_change c = {
        .seq = op->seq,
        .event = outcome_event(op->outcome),
        .run_id = ctx->run_id,
        .next_attempt_at = now + delay,
        .max_attempts = ctx->max_attempts,
        .code = op->err_code,
        .msg = op->err_msg,
        .base_modstamp = op->new_base_modstamp,
    };
    char *bf = conflict_base_fields(op);
    c.base_fields = bf;
    store_op_state to = STORE_OP_PENDING;
    bool changed = false;
    sfa_status st = store_op_transition(ctx->agent, &c, &to, &changed);
    free(bf);
    if (st != SFA_OK)
        return SQLITE_ABORT; /* the handle says why */
    if (!changed)
        return SQLITE_OK; /* I3: another run took the op over */
    count(ctx->counts, to, op->outcome);
    if (op->outcome == STORE_OUT_DONE)
        return mirror_update(s, op, true, now);
    if (op->outcome == STORE_OUT_DEAD || op->outcome == STORE_OUT_CONFLICT)
        return mirror_update(s, op, false, now);
    return SQLITE_OK;
}

/* Step a cached statement that returns no row (a savepoint verb). */
static int step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* I8: park an op whose result the mirror refused (dead, MIRROR_CONSTRAINT), so a person
 * can decide; the op is dead rather than retried because a retry would meet the same
 * refusal (e.g. another local record already holds the Id Salesforce answered). */
static int park_refused(apply_ctx *ctx, store_op *op, const char *why)
{
    char *msg = xasprintf("Salesforce's answer could not be recorded locally (%s); another"
                          " local record may hold the same Salesforce Id: check it, then"
                          " retry or discard this op",
                          why);
    store_op_change c = {.seq = op->seq,
                         .event = STORE_EV_DEAD,
                         .run_id = ctx->run_id,
                         .code = "MIRROR_CONSTRAINT",
                         .msg = msg};
    store_op_state to = STORE_OP_DEAD;
    bool changed = false;
    int rc =
        store_op_transition(ctx->agent, &c, &to, &changed) == SFA_OK ? SQLITE_OK : SQLITE_ABORT;
    if (rc == SQLITE_OK && changed)
        ctx->counts->dead++;
    free(msg);
    return rc;
}

/* apply_one inside a savepoint: a constraint failure is scoped to its op (I8), any other
 * failure ends the batch. */
static int apply_isolated(apply_ctx *ctx, apply_stmts *s, store_op *op, int64_t now)
{
    sqlite3 *db = store_db(ctx->agent);
    store_apply_counts before = *ctx->counts;
    size_t notes = store_person_notes_mark(ctx->agent);
    int rc = step_once(s->savepoint);
    if (rc != SQLITE_OK)
        return rc;
    rc = apply_one(ctx, s, op, now);
    if ((rc & 0xff) != SQLITE_CONSTRAINT) {
        int released = step_once(s->release);
        return rc != SQLITE_OK ? rc : released;
    }
    char *why = xstrdup(sqlite3_errmsg(db));
    *ctx->counts = before;
    store_person_notes_drop_after(ctx->agent, notes); /* person_log.c P1: undone below */
    rc = step_once(s->rollback_to);
    if (rc == SQLITE_OK)
        rc = step_once(s->release);
    if (rc == SQLITE_OK)
        rc = park_refused(ctx, op, why);
    free(why);
    return rc;
}

sfa_status store_outbox_apply(sfa_agent *a, const char *run_id, int max_attempts, store_op *ops,
                              size_t n, store_apply_counts *counts)
{
    apply_ctx actx = {run_id, max_attempts, counts, a};
    apply_ctx *ctx = &actx;
    apply_stmts s = {0};
    s.agent = a;
    int64_t now = time_now_ms();
    sfa_status rc = store_tx_begin(a);
    if (rc != SFA_OK)
        return rc;
    rc = stmts_get(a, &s);
    if (rc != SFA_OK) {
        store_tx_rollback(a);
        return rc;
    }
    int src = SQLITE_OK;
    for (size_t i = 0; src == SQLITE_OK && i < n; i++)
        src = apply_isolated(ctx, &s, &ops[i], now);
    if (src != SQLITE_OK) {
        /* SQLITE_ABORT: a transition failed and already recorded why on the handle. */
        rc = src == SQLITE_ABORT ? store_last_status(a)
                                 : store_fail_sqlite(a, src, "record push results");
        store_tx_rollback(a);
        return rc;
    }
    CRASH_POINT("push.before_result_commit"); /* I2: results all or nothing */
    rc = store_tx_commit(a);
    if (rc == SFA_OK)
        CRASH_POINT("push.after_result_commit");
    return rc;
}

/* ---- small reads and notes ---- */

static const char sql_note[] = "UPDATE outbox SET last_error_code = ?2, last_error = ?3"
                               " WHERE seq = ?1 AND state = 'pending' AND"
                               " (last_error_code IS NOT ?2 OR last_error IS NOT ?3)";

sfa_status store_outbox_note(sfa_agent *a, int64_t seq, const char *code, const char *msg)
{
    sqlite3_stmt *st = store_stmt(a, sql_note); /* I10: once per op held back */
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "note op");
}

/* Step the cached statement sql with ?1 = param. *row is the statement standing on its
 * first row (the caller reads it, then sqlite3_reset()s it), or NULL when there is none or
 * the read failed (the status says which: a failed read is never "no row"). */
static sfa_status read_one(sfa_agent *a, const char *sql, const char *param, const char *what,
                           sqlite3_stmt **row)
{
    *row = NULL;
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *row = st;
        return SFA_OK;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, what);
}

static const char SQL_SF_ID[] = "SELECT sf_id FROM records WHERE local_id = ?1";
static const char SQL_CREATE_OP[] =
    "SELECT state, last_error_code, last_error FROM outbox WHERE local_id = ?1"
    " AND kind IN ('create', 'upsert') ORDER BY seq DESC LIMIT 1";
static const char SQL_BASE[] = "SELECT base, sys_modstamp FROM records WHERE local_id = ?1";
static const char SQL_COUNT_STATE[] = "SELECT count(*) FROM outbox WHERE state = ?1";

sfa_status store_record_sf_id(char **out, sfa_agent *a, const char *local_id)
{
    sqlite3_stmt *row = NULL;
    *out = NULL;
    sfa_status s = read_one(a, SQL_SF_ID, local_id, "read a record's Id", &row);
    if (row) {
        *out = store_col_dup(row, 0);
        sqlite3_reset(row);
    }
    return s;
}

sfa_status store_record_create_op(bool *found, sfa_agent *a, const char *local_id, char **state,
                                  char **code, char **msg)
{
    sqlite3_stmt *row = NULL;
    *state = *code = *msg = NULL;
    sfa_status s = read_one(a, SQL_CREATE_OP, local_id, "read a record's create op", &row);
    *found = row != NULL;
    if (row) {
        *state = store_col_dup(row, 0);
        *code = store_col_dup(row, 1);
        *msg = store_col_dup(row, 2);
        sqlite3_reset(row);
    }
    return s;
}

sfa_status store_outbox_note_blocked(sfa_agent *a, size_t *count)
{
    static const char sql[] =
        "UPDATE outbox AS o SET last_error_code = 'WAITING_FOR_OP', last_error ="
        " (SELECT 'waits for ' || p.state || ' op ' || p.op_id || ' of the same record ('"
        " || coalesce(p.last_error_code, '?') || '); retry or discard that op first'"
        " FROM outbox p WHERE p.local_id = o.local_id AND p.seq < o.seq"
        " AND p.state IN ('dead', 'conflict') ORDER BY p.seq LIMIT 1)"
        " WHERE o.state = 'pending' AND EXISTS (SELECT 1 FROM outbox p WHERE"
        " p.local_id = o.local_id AND p.seq < o.seq AND p.state IN ('dead', 'conflict'))";
    sqlite3_stmt *st = NULL;
    *count = 0;
    int src = sqlite3_prepare_v2(store_db(a), sql, -1, &st, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        *count = (size_t)sqlite3_changes(store_db(a));
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "note blocked ops");
}

sfa_status store_record_base(cJSON **out, sfa_agent *a, const char *local_id, char **sys_modstamp)
{
    sqlite3_stmt *row = NULL;
    *out = NULL;
    *sys_modstamp = NULL;
    sfa_status s = read_one(a, SQL_BASE, local_id, "read a record's base", &row);
    if (row) {
        *out = parse_obj(row, 0);
        *sys_modstamp = store_col_dup(row, 1);
        sqlite3_reset(row);
    }
    return s;
}

sfa_status store_outbox_pending_info(sfa_agent *a, size_t *pending, size_t *inflight,
                                     int64_t *next_due_ms)
{
    sqlite3_stmt *st = NULL;
    int src =
        sqlite3_prepare_v2(store_db(a),
                           "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'),"
                           " (SELECT count(*) FROM outbox WHERE state = 'inflight'),"
                           " (SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending')",
                           -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        *pending = (size_t)sqlite3_column_int64(st, 0);
        *inflight = (size_t)sqlite3_column_int64(st, 1);
        *next_due_ms = sqlite3_column_int64(st, 2);
        src = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "count outbox");
}

sfa_status store_outbox_count_state(size_t *out, sfa_agent *a, const char *state)
{
    sqlite3_stmt *row = NULL;
    *out = 0;
    sfa_status s = read_one(a, SQL_COUNT_STATE, state, "count ops", &row);
    if (row) {
        *out = (size_t)sqlite3_column_int64(row, 0);
        sqlite3_reset(row);
    }
    return s;
}
