/* The user's view of the outbox: list, get, retry, discard and counts.
 *
 * Invariants:
 * I1. discard touches only dead or conflict ops, retry those and pending ones (made due
 *     now: T15, for a backoff a clock that was ahead pushed into the future); never an
 *     inflight op, which a run holds: SFA_ESTATE. The transitions themselves (T10, T11,
 *     T13, T15) are store/op_state.c's.
 * I2. A discarded op is state 'done' with last_error_code 'DISCARDED': it is never sent.
 *     The mirror's local view falls back to the server base plus the record's remaining
 *     open ops, in seq order.
 * I3. Discarding a create (it never reached Salesforce, or a person gave up on it) removes
 *     the record and all its ops from the agent: there is nothing left to sync.
 * I4. ...and every pending op of another record that references it becomes dead with
 *     PARENT_DISCARDED naming it, instead of waiting forever for a parent that will
 *     never have an Id.
 * I5. A conflict's per-field view: local is the op's value, server is the record's base
 *     (a manual conflict put the server's values there, store/op_sync.c I9), base is the
 *     value kept under meta 'conflict.base:<op_id>' when the conflict was recorded (else
 *     the record's base: that field did not conflict). Resolving, retrying or discarding
 *     the op drops that meta row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent/outbox.h"
#include "store/op_state.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/timeutil.h"

#define OP_COLUMNS                                                                                 \
    "SELECT seq, op_id, sobject, local_id, kind, fields, state, attempts, next_attempt_at, "       \
    "last_error_code, last_error, created_at, updated_at FROM outbox "

/* ?2..?6: the names of the states asked for, NULL for the others (NULL matches nothing). */
static const char SQL_LIST[] =
    OP_COLUMNS "WHERE state IN (?2, ?3, ?4, ?5, ?6) ORDER BY seq LIMIT ?1";
static const char SQL_GET_BY_ID[] = OP_COLUMNS "WHERE op_id = ?1";
static const char SQL_GET_BY_SEQ[] = OP_COLUMNS "WHERE seq = ?1";
static const char SQL_RECORD_BASE[] = "SELECT base, sf_id FROM records WHERE local_id = ?1";
static const char SQL_OPEN_OPS[] =
    "SELECT kind, fields FROM outbox WHERE local_id = ?1 AND state != 'done' ORDER BY seq";
static const char SQL_SET_VIEW[] =
    "UPDATE records SET fields = ?2, dirty = ?3, deleted = ?4, updated_at = ?5, " STORE_FIELD_SET(
        "?2") " WHERE local_id = ?1";
static const char SQL_CHILD_OPS[] =
    "SELECT seq FROM outbox WHERE local_id != ?1 AND state = 'pending' AND lease_owner IS NULL"
    " AND fields IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(outbox.fields)"
    " WHERE json_each.value = ?1) ORDER BY seq";
static const char SQL_DROP_RECORD[] = "DELETE FROM records WHERE local_id = ?1";
/* Counters kept by migration 0006's triggers, and the oldest op of a state from
 * outbox_state_created: constant time however large the outbox and mirror grow. */
static const char SQL_STATS[] =
    "SELECT c.state, c.n, (SELECT min(o.created_at) FROM outbox o WHERE o.state = c.state) "
    "FROM outbox_counts c WHERE c.n > 0";
static const char SQL_CONFLICT_BASE_GET[] =
    "SELECT value FROM meta WHERE key = 'conflict.base:' || ?1";
static const char SQL_CONFLICT_BASE_DEL[] = "DELETE FROM meta WHERE key = 'conflict.base:' || ?1";
static const char SQL_COUNT_RECORDS[] = "SELECT coalesce(sum(live), 0) FROM record_counts";

/* A required argument of fn is missing: SFA_EINVAL with a message on the handle, or as
 * the thread's last error when the handle itself is what is missing. */
static sfa_status missing_arg(sfa_agent *agent, const char *fn, const char *what)
{
    return agent ? store_fail(agent, SFA_EINVAL, "%s: %s is NULL", fn, what)
                 : store_error_set(SFA_EINVAL, "%s: %s is NULL", fn, what);
}

/* A switch with no default: -Wswitch flags a new kind until it has a name here. */
const char *sfa_op_kind_name(sfa_op_kind kind)
{
    switch (kind) {
    case SFA_OP_KIND_CREATE:
        return "create";
    case SFA_OP_KIND_UPDATE:
        return "update";
    case SFA_OP_KIND_UPSERT:
        return "upsert";
    case SFA_OP_KIND_DELETE:
        return "delete";
    }
    return "?";
}

static bool kind_parse(const char *name, sfa_op_kind *out)
{
    for (unsigned k = SFA_OP_KIND_CREATE; name && k <= SFA_OP_KIND_DELETE; k++)
        if (strcmp(name, sfa_op_kind_name((sfa_op_kind)k)) == 0) {
            *out = (sfa_op_kind)k;
            return true;
        }
    return false;
}

/* The public states are store/op_state.h's, value for value (its enum is defined so). */
const char *sfa_op_state_name(sfa_op_state state)
{
    return store_op_state_name((store_op_state)state);
}

sfa_status sfa_op_state_parse(sfa_op_state *out, const char *name)
{
    if (!out)
        return missing_arg(NULL, "sfa_op_state_parse", "out");
    store_op_state s;
    if (!store_op_state_parse(name, &s))
        return store_error_set(SFA_EINVAL,
                               "'%.64s' is not an op state (pending, inflight, done, conflict,"
                               " dead)",
                               name ? name : "(null)");
    *out = (sfa_op_state)s;
    return SFA_OK;
}

/* Fill o from a row of OP_COLUMNS. False when the row's kind or state text is not one
 * the schema allows (its CHECK constraints make that corruption). */
static bool fill_op(sfa_op *o, sqlite3_stmt *st)
{
    o->seq = sqlite3_column_int64(st, 0);
    o->op_id = store_col_dup(st, 1);
    o->sobject = store_col_dup(st, 2);
    o->local_id = store_col_dup(st, 3);
    bool known = kind_parse((const char *)sqlite3_column_text(st, 4), &o->kind);
    o->fields_json = store_col_dup(st, 5);
    store_op_state state = STORE_OP_PENDING;
    known = store_op_state_parse((const char *)sqlite3_column_text(st, 6), &state) && known;
    o->state = (sfa_op_state)state;
    o->attempts = sqlite3_column_int(st, 7);
    o->next_attempt_at_ms = sqlite3_column_int64(st, 8);
    o->last_error_code = store_col_dup(st, 9);
    o->last_error = store_col_dup(st, 10);
    o->created_at_ms = sqlite3_column_int64(st, 11);
    o->updated_at_ms = sqlite3_column_int64(st, 12);
    return known;
}

static void op_clear(sfa_op *o)
{
    free(o->op_id);
    free(o->sobject);
    free(o->local_id);
    free(o->fields_json);
    free(o->last_error_code);
    free(o->last_error);
}

void sfa_op_free(sfa_op *op)
{
    if (!op)
        return;
    op_clear(op);
    free(op);
}

void sfa_op_array_free(sfa_op_array *array)
{
    if (!array)
        return;
    for (size_t i = 0; i < array->count; i++)
        op_clear(&array->items[i]);
    free(array->items);
    array->items = NULL;
    array->count = 0;
}

sfa_status sfa_outbox_list(sfa_op_array *out, sfa_agent *agent, unsigned states, size_t limit)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!agent || !out)
        return missing_arg(agent, "sfa_outbox_list", agent ? "out" : "agent");
    if (!states || (states & ~SFA_OP_STATES_ALL))
        return store_fail(agent, SFA_EINVAL,
                          "sfa_outbox_list: states 0x%x is not a set of op states (use"
                          " SFA_OP_STATE_BIT() or SFA_OP_STATES_ALL)",
                          states);
    store_clear_error(agent);
    sqlite3_stmt *st = store_stmt(agent, SQL_LIST);
    if (!st)
        return store_last_status(agent);
    sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
    for (unsigned s = STORE_OP_PENDING; s <= STORE_OP_STATE_LAST; s++)
        if (states & SFA_OP_STATE_BIT(s))
            sqlite3_bind_text(st, 2 + (int)s, store_op_state_name((store_op_state)s), -1,
                              SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    bool known = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 16;
            out->items = xrealloc(out->items, cap * sizeof *out->items);
        }
        known = fill_op(&out->items[out->count++], st) && known;
    }
    sqlite3_clear_bindings(st); /* the statement is cached: no stale state names next time */
    sqlite3_reset(st);
    sfa_status s =
        rc != SQLITE_DONE ? store_fail_sqlite(agent, rc, "listing the outbox")
        : !known ? store_fail(agent, SFA_ECORRUPT, "the outbox has an op of unknown kind or state")
                 : SFA_OK;
    if (s != SFA_OK)
        sfa_op_array_free(out);
    return s;
}

static bool parse_seq(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return false;
    *out = v;
    return true;
}

sfa_status sfa_outbox_get(sfa_op **out, sfa_agent *agent, const char *op_ref)
{
    if (out)
        *out = NULL;
    if (!agent || !out)
        return missing_arg(agent, "sfa_outbox_get", agent ? "out" : "agent");
    store_clear_error(agent);
    if (!op_ref || !*op_ref)
        return store_fail(agent, SFA_EINVAL, "no op given (an op id or a seq number)");
    int64_t seq = 0;
    bool by_seq = parse_seq(op_ref, &seq);
    sqlite3_stmt *st = store_stmt(agent, by_seq ? SQL_GET_BY_SEQ : SQL_GET_BY_ID);
    if (!st)
        return store_last_status(agent);
    if (by_seq)
        sqlite3_bind_int64(st, 1, seq);
    else
        sqlite3_bind_text(st, 1, op_ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool known = true;
    if (rc == SQLITE_ROW) {
        *out = xcalloc(1, sizeof **out);
        known = fill_op(*out, st);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return store_fail(agent, SFA_ENOTFOUND, "no outbox op '%s'", op_ref);
    if (rc == SQLITE_ROW && known)
        return SFA_OK;
    sfa_op_free(*out);
    *out = NULL;
    return rc != SQLITE_ROW
               ? store_fail_sqlite(agent, rc, "reading the outbox")
               : store_fail(agent, SFA_ECORRUPT, "op %s has an unknown kind or state", op_ref);
}

/* Begin, fetch the op and check it is dead or conflict, or pending when pending_ok (I1). */
static sfa_status begin_on_settled_op(sfa_agent *a, const char *op_ref, sfa_op **op,
                                      const char *verb, bool pending_ok)
{
    if (store_is_read_only(a))
        return store_fail(a, SFA_EREADONLY, "the database was opened read-only");
    sfa_status s = store_tx_begin(a);
    if (s == SFA_OK)
        s = sfa_outbox_get(op, a, op_ref);
    bool settled = s == SFA_OK &&
                   ((*op)->state == SFA_OP_STATE_DEAD || (*op)->state == SFA_OP_STATE_CONFLICT ||
                    (pending_ok && (*op)->state == SFA_OP_STATE_PENDING));
    if (s == SFA_OK && !settled)
        s = store_fail(a, SFA_ESTATE, "op %s is %s: only %s ops can be %s", op_ref,
                       sfa_op_state_name((*op)->state),
                       pending_ok ? "pending, dead or conflict" : "dead or conflict", verb);
    if (s != SFA_OK)
        store_tx_rollback(a);
    return s;
}

static sfa_status forget_conflict_base(sfa_agent *a, const sfa_op *op);

sfa_status sfa_outbox_retry(sfa_agent *agent, const char *op_ref)
{
    if (!agent)
        return missing_arg(NULL, "sfa_outbox_retry", "agent");
    sfa_op *op = NULL;
    sfa_status s = begin_on_settled_op(agent, op_ref, &op, "retried", true);
    if (s != SFA_OK) {
        sfa_op_free(op);
        return s;
    }
    store_op_change c = {.seq = op->seq,
                         .event = op->state == SFA_OP_STATE_PENDING ? STORE_EV_DUE_NOW
                                                                    : STORE_EV_USER_RETRY};
    bool changed = false;
    s = store_op_transition(agent, &c, NULL, &changed);
    s = s == SFA_OK ? store_tx_commit(agent) : (store_tx_rollback(agent), s);
    sfa_op_free(op);
    return s;
}

/* Column col as JSON, numbers kept as their literal text (json_parse_exact): an 18-digit
 * number must come back as written, not rounded through a double. NULL if not JSON. */
static cJSON *parse_exact(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col), *err = NULL;
    return t ? json_parse_exact(t, (size_t)sqlite3_column_bytes(st, col), &err) : NULL;
}

/* I2: rebuild the local view from base + the record's open ops. */
static sfa_status rebuild_view(sfa_agent *a, const char *local_id, int64_t now)
{
    sqlite3_stmt *st = store_stmt(a, SQL_RECORD_BASE);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    cJSON *view = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT)
        view = parse_exact(st, 0);
    sqlite3_reset(st);
    if (!cJSON_IsObject(view)) {
        cJSON_Delete(view);
        view = cJSON_CreateObject();
    }
    bool deleted = false, open = false;
    int rc = SQLITE_DONE;
    st = store_stmt(a, SQL_OPEN_OPS);
    if (st) {
        sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            open = true;
            if (strcmp((const char *)sqlite3_column_text(st, 0), "delete") == 0)
                deleted = true;
            cJSON *f = sqlite3_column_type(st, 1) == SQLITE_TEXT ? parse_exact(st, 1) : NULL;
            if (cJSON_IsObject(f))
                store_json_merge(view, f);
            cJSON_Delete(f);
        }
        sqlite3_reset(st);
    }
    sfa_status s = !st                 ? store_last_status(a)
                   : rc != SQLITE_DONE ? store_fail_sqlite(a, rc, "reading the outbox")
                                       : SFA_OK;
    st = s == SFA_OK ? store_stmt(a, SQL_SET_VIEW) : NULL;
    if (st) {
        char *text = json_print(view); /* Raw numbers verbatim */
        sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, open ? 1 : 0);
        sqlite3_bind_int(st, 4, deleted ? 1 : 0);
        sqlite3_bind_int64(st, 5, now);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        s = rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "updating the record");
        free(text);
    } else if (s == SFA_OK) {
        s = store_last_status(a);
    }
    cJSON_Delete(view);
    return s;
}

/* I4: pending ops of other records that point at local_id become dead (T14). */
static sfa_status orphan_children(sfa_agent *a, const sfa_op *parent)
{
    sqlite3_stmt *st = store_stmt(a, SQL_CHILD_OPS);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, parent->local_id, -1, SQLITE_STATIC);
    size_t n = 0, cap = 0;
    int64_t *seqs = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap)
            seqs = xrealloc(seqs, (cap = cap ? cap * 2 : 8) * sizeof *seqs);
        seqs[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    sfa_status s = rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading the outbox");
    char *why = xasprintf("its parent %s %s was discarded (op %s); point the reference at"
                          " another record and retry, or discard this op",
                          parent->sobject, parent->local_id, parent->op_id);
    for (size_t i = 0; s == SFA_OK && i < n; i++) {
        store_op_change c = {
            .seq = seqs[i], .event = STORE_EV_ORPHAN, .code = "PARENT_DISCARDED", .msg = why};
        bool changed = false;
        s = store_op_transition(a, &c, NULL, &changed);
    }
    free(why);
    free(seqs);
    return s;
}

/* I3: a discarded create takes its record, and every op of it, out of the agent. */
static sfa_status discard_create(sfa_agent *a, const sfa_op *op)
{
    sfa_status s = orphan_children(a, op);
    if (s == SFA_OK)
        s = store_op_drop_record(a, op->local_id);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_DROP_RECORD) : NULL;
    if (s != SFA_OK || !st)
        return s != SFA_OK ? s : store_last_status(a);
    sqlite3_bind_text(st, 1, op->local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "removing the record");
}

/* I5: the base kept for a conflict is dropped with the conflict. */
static sfa_status forget_conflict_base(sfa_agent *a, const sfa_op *op)
{
    sqlite3_stmt *st = store_stmt(a, SQL_CONFLICT_BASE_DEL);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, op->op_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "removing a conflict's base");
}

/* I2: a discarded edit leaves the record at its base plus the remaining open ops. */
static sfa_status discard_edit(sfa_agent *a, const sfa_op *op)
{
    store_op_change c = {.seq = op->seq, .event = STORE_EV_DISCARD};
    bool changed = false;
    sfa_status s = store_op_transition(a, &c, NULL, &changed);
    return s == SFA_OK ? rebuild_view(a, op->local_id, time_now_ms()) : s;
}

/* Discard op (I2, I3) and the base kept for it (I5), inside the caller's transaction. */
static sfa_status discard_op(sfa_agent *a, const sfa_op *op)
{
    bool drop = op->kind == SFA_OP_KIND_CREATE || op->kind == SFA_OP_KIND_UPSERT;
    sfa_status s = drop ? discard_create(a, op) : discard_edit(a, op);
    return s == SFA_OK ? forget_conflict_base(a, op) : s;
}

sfa_status sfa_outbox_discard(sfa_agent *agent, const char *op_ref)
{
    if (!agent)
        return missing_arg(NULL, "sfa_outbox_discard", "agent");
    sfa_op *op = NULL;
    sfa_status s = begin_on_settled_op(agent, op_ref, &op, "discarded", false);
    if (s != SFA_OK) {
        sfa_op_free(op);
        return s;
    }
    s = discard_op(agent, op);
    s = s == SFA_OK ? store_tx_commit(agent) : (store_tx_rollback(agent), s);
    sfa_op_free(op);
    return s;
}

/* ---- conflicts (I5) ---- */

static void field_clear(sfa_conflict_field *f)
{
    free(f->name);
    free(f->base);
    free(f->local);
    free(f->server);
}

void sfa_conflict_array_free(sfa_conflict_array *array)
{
    if (!array)
        return;
    for (size_t i = 0; i < array->count; i++) {
        sfa_conflict *c = &array->items[i];
        op_clear(&c->op);
        for (size_t j = 0; j < c->nfields; j++)
            field_clear(&c->fields[j]);
        free(c->fields);
    }
    free(array->items);
    array->items = NULL;
    array->count = 0;
}

/* JSON text of v, "null" when absent. Caller frees. */
static char *value_text(const cJSON *v)
{
    return v ? json_print(v) : xstrdup("null");
}

/* The object in text column 0 of the one-row query sql on key, parsed exactly; NULL when
 * there is no row (or no object). */
static sfa_status read_object(sfa_agent *a, const char *sql, const char *key, cJSON **out)
{
    *out = NULL;
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT)
        *out = parse_exact(st, 0);
    sqlite3_reset(st);
    if (*out && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SFA_OK
                                                 : store_fail_sqlite(a, rc, "reading a conflict");
}

/* Fill c's fields from the op's fields, the record's base and the kept base (I5). */
static sfa_status fill_conflict(sfa_agent *a, sfa_conflict *c)
{
    cJSON *server = NULL, *was = NULL;
    sfa_status s = read_object(a, SQL_RECORD_BASE, c->op.local_id, &server);
    if (s == SFA_OK)
        s = read_object(a, SQL_CONFLICT_BASE_GET, c->op.op_id, &was);
    const char *err = NULL;
    cJSON *local = s == SFA_OK && c->op.fields_json
                       ? json_parse_exact(c->op.fields_json, strlen(c->op.fields_json), &err)
                       : NULL;
    const cJSON *f;
    size_t n = 0;
    cJSON_ArrayForEach(f, local) n++;
    c->fields = n ? xcalloc(n, sizeof *c->fields) : NULL;
    cJSON_ArrayForEach(f, local)
    {
        sfa_conflict_field *out = &c->fields[c->nfields++];
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(server, f->string);
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(was, f->string);
        out->name = xstrdup(f->string);
        out->local = value_text(f);
        out->server = value_text(sv);
        out->base = bv ? value_text(bv) : value_text(sv); /* not in the kept base: no conflict */
    }
    cJSON_Delete(local);
    cJSON_Delete(server);
    cJSON_Delete(was);
    return s;
}

sfa_status sfa_outbox_conflicts(sfa_conflict_array *out, sfa_agent *agent)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!agent || !out)
        return missing_arg(agent, "sfa_outbox_conflicts", agent ? "out" : "agent");
    sfa_op_array ops = {0};
    sfa_status s = sfa_outbox_list(&ops, agent, SFA_OP_STATE_BIT(SFA_OP_STATE_CONFLICT), 0);
    if (s != SFA_OK)
        return s;
    out->items = ops.count ? xcalloc(ops.count, sizeof *out->items) : NULL;
    for (size_t i = 0; i < ops.count; i++) {
        out->items[out->count++].op = ops.items[i]; /* its strings move into the conflict */
        if (s == SFA_OK)
            s = fill_conflict(agent, &out->items[i]);
    }
    free(ops.items); /* the ops' strings are out's now */
    if (s != SFA_OK)
        sfa_conflict_array_free(out);
    return s;
}

sfa_status sfa_outbox_resolve(sfa_agent *agent, const char *op_ref, sfa_conflict_keep keep)
{
    if (!agent)
        return missing_arg(NULL, "sfa_outbox_resolve", "agent");
    if (keep != SFA_CONFLICT_KEEP_LOCAL && keep != SFA_CONFLICT_KEEP_SERVER)
        return store_fail(agent, SFA_EINVAL,
                          "sfa_outbox_resolve: keep %d is neither local nor"
                          " server",
                          (int)keep);
    sfa_op *op = NULL;
    sfa_status s = begin_on_settled_op(agent, op_ref, &op, "resolved", false);
    if (s == SFA_OK && op->state != SFA_OP_STATE_CONFLICT) {
        s = store_fail(agent, SFA_ESTATE,
                       "op %s is %s, not in conflict: use `outbox retry` or `outbox discard`",
                       op_ref, sfa_op_state_name(op->state));
        store_tx_rollback(agent);
    }
    if (s != SFA_OK) {
        sfa_op_free(op);
        return s;
    }
    if (keep == SFA_CONFLICT_KEEP_LOCAL) {
        /* The record's base already holds the server's values and the op's base_modstamp
         * the server's version (store/op_sync.c I9): the next check finds no conflict. */
        store_op_change c = {.seq = op->seq, .event = STORE_EV_USER_RETRY};
        bool changed = false;
        s = store_op_transition(agent, &c, NULL, &changed);
        if (s == SFA_OK)
            s = forget_conflict_base(agent, op);
    } else {
        s = discard_op(agent, op);
    }
    s = s == SFA_OK ? store_tx_commit(agent) : (store_tx_rollback(agent), s);
    sfa_op_free(op);
    return s;
}

static void add_state_count(sfa_outbox_stats *out, store_op_state state, size_t n)
{
    switch (state) {
    case STORE_OP_PENDING:
        out->pending = n;
        break;
    case STORE_OP_INFLIGHT:
        out->inflight = n;
        break;
    case STORE_OP_DONE:
        out->done = n;
        break;
    case STORE_OP_CONFLICT:
        out->conflict = n;
        break;
    case STORE_OP_DEAD:
        out->dead = n;
        break;
    }
}

sfa_status sfa_outbox_stats_get(sfa_outbox_stats *out, sfa_agent *agent)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!agent || !out)
        return missing_arg(agent, "sfa_outbox_stats_get", agent ? "out" : "agent");
    store_clear_error(agent);
    sqlite3_stmt *st = store_stmt(agent, SQL_STATS);
    if (!st)
        return store_last_status(agent);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_op_state state;
        if (!store_op_state_parse((const char *)sqlite3_column_text(st, 0), &state))
            continue; /* the schema's CHECK allows no other state */
        add_state_count(out, state, (size_t)sqlite3_column_int64(st, 1));
        if (state == STORE_OP_PENDING)
            out->oldest_pending_created_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_fail_sqlite(agent, rc, "counting the outbox");
    st = store_stmt(agent, SQL_COUNT_RECORDS);
    if (!st)
        return store_last_status(agent);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out->records = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SFA_OK : store_fail_sqlite(agent, rc, "counting records");
}

sfa_status sfa_outbox_prune(size_t *removed, sfa_agent *agent, int64_t older_than_ms)
{
    if (removed)
        *removed = 0;
    if (!agent)
        return missing_arg(NULL, "sfa_outbox_prune", "agent");
    sfa_status s = store_tx_begin(agent);
    if (s != SFA_OK)
        return s;
    size_t n = 0;
    s = store_op_prune(agent, older_than_ms, &n);
    s = s == SFA_OK ? store_tx_commit(agent) : (store_tx_rollback(agent), s);
    if (s == SFA_OK && removed)
        *removed = n;
    return s;
}
