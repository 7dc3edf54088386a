/* Reads of the mirror: one record by reference, and filtered, ordered lists.
 *
 * Invariants:
 * I1. sync_state is the state of the record's newest op that is not done, or "synced"
 *     when every op is done (or there are none).
 * I2. Reads never write.
 * I3. Lists are index scans for the orders users ask for: newest first, and any field
 *     migrations 0009 and 0013 index (store_indexed_expr), with or without --status. Other
 *     fields still work, ordered through a sort.
 */
#include <stdlib.h>
#include <string.h>

#include "sfagent/record.h"
#include "store/op_state.h"
#include "store/query_sql.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/names.h"
#include "util/strbuf.h"

#define RECORD_COLUMNS                                                                             \
    "SELECT r.local_id, r.sobject, r.sf_id, r.case_number, r.fields, r.sys_modstamp, r.dirty, "    \
    "r.deleted, r.created_at, r.updated_at, (SELECT o.state FROM outbox o WHERE o.local_id = "     \
    "r.local_id AND o.state != 'done' ORDER BY o.seq DESC LIMIT 1) FROM records r "

static const char SQL_GET[] = RECORD_COLUMNS "WHERE r.local_id = ?1";

/* I3: list fragments. Ties break on created_at then rowid (insertion order), which the
 * indexes of migration 0006 carry after their key, so no order needs a sort. */
/* `deleted = 0` written out (not `?2 OR ...`): only then may SQLite use the per-field
 * indexes, which hold live records only (migration 0010). ?2 is 1 in LIST_WHERE_ALL. */
static const char LIST_WHERE_LIVE[] = "WHERE r.sobject = ?1 AND r.deleted = 0 ";
static const char LIST_WHERE_ALL[] = "WHERE r.sobject = ?1 AND ?2 ";
/* The NOCASE comparison lets records_f_status serve it; the exact one keeps --status an
 * exact match, as it always was. */
static const char LIST_STATUS[] = "AND r.f_status = ?3 COLLATE NOCASE AND r.f_status = ?3 ";
static const char LIST_NEWEST[] = "ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?4";
static const char LIST_BOUND_FIELD[] = "json_extract(r.fields, ?5)";
/* A required argument of fn is missing: SFA_EINVAL with a message on the handle, or as
 * the thread's last error when the handle itself is what is missing. */
static sfa_status missing_arg(sfa_agent *agent, const char *fn, const char *what)
{
    return agent ? store_fail(agent, SFA_EINVAL, "%s: %s is NULL", fn, what)
                 : store_error_set(SFA_EINVAL, "%s: %s is NULL", fn, what);
}

/* A switch with no default: -Wswitch flags a new state until it has a name here. */
const char *sfa_record_sync_state_name(sfa_record_sync_state state)
{
    switch (state) {
    case SFA_RECORD_SYNCED:
        return "synced";
    case SFA_RECORD_PENDING:
        return "pending";
    case SFA_RECORD_INFLIGHT:
        return "inflight";
    case SFA_RECORD_CONFLICT:
        return "conflict";
    case SFA_RECORD_DEAD:
        return "dead";
    }
    return "?";
}

/* I1: the record's state from the state text of its newest op that is not done (NULL:
 * none). False for a text the outbox's CHECK constraint does not allow. */
static bool sync_state_from(const unsigned char *text, sfa_record_sync_state *out)
{
    store_op_state op = STORE_OP_DONE;
    if (text && !store_op_state_parse((const char *)text, &op))
        return false;
    switch (op) {
    case STORE_OP_DONE: /* no open op (the query skips done ones) */
        *out = SFA_RECORD_SYNCED;
        return true;
    case STORE_OP_PENDING:
        *out = SFA_RECORD_PENDING;
        return true;
    case STORE_OP_INFLIGHT:
        *out = SFA_RECORD_INFLIGHT;
        return true;
    case STORE_OP_CONFLICT:
        *out = SFA_RECORD_CONFLICT;
        return true;
    case STORE_OP_DEAD:
        *out = SFA_RECORD_DEAD;
        return true;
    }
    return false;
}

/* Fill r from a row of RECORD_COLUMNS; false when its op state is unknown (corruption). */
static bool fill_record(sfa_record *r, sqlite3_stmt *st)
{
    r->local_id = store_col_dup(st, 0);
    r->sobject = store_col_dup(st, 1);
    r->sf_id = store_col_dup(st, 2);
    r->case_number = store_col_dup(st, 3);
    r->fields_json = store_col_dup(st, 4);
    r->sys_modstamp = store_col_dup(st, 5);
    r->dirty = sqlite3_column_int(st, 6) != 0;
    r->deleted = sqlite3_column_int(st, 7) != 0;
    r->created_at_ms = sqlite3_column_int64(st, 8);
    r->updated_at_ms = sqlite3_column_int64(st, 9);
    return sync_state_from(sqlite3_column_text(st, 10), &r->sync_state); /* I1 */
}

static void record_clear(sfa_record *r)
{
    free(r->local_id);
    free(r->sobject);
    free(r->sf_id);
    free(r->case_number);
    free(r->fields_json);
    free(r->sys_modstamp);
}

void sfa_record_free(sfa_record *record)
{
    if (!record)
        return;
    record_clear(record);
    free(record);
}

void sfa_record_array_free(sfa_record_array *array)
{
    if (!array)
        return;
    for (size_t i = 0; i < array->count; i++)
        record_clear(&array->items[i]);
    free(array->items);
    array->items = NULL;
    array->count = 0;
}

sfa_status sfa_record_get(sfa_record **out, sfa_agent *agent, const char *sobject, const char *ref)
{
    if (out)
        *out = NULL;
    if (!agent || !out)
        return missing_arg(agent, "sfa_record_get", agent ? "out" : "agent");
    store_clear_error(agent);
    char *canon = NULL; /* records.c I7: looked up under Salesforce's spelling */
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    sobject = canon;
    store_row row = {0};
    if (s == SFA_OK)
        s = store_resolve(&row, agent, sobject, ref);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(agent, SQL_GET) : NULL;
    if (s == SFA_OK && !st)
        s = store_last_status(agent);
    if (s == SFA_OK) {
        sqlite3_bind_text(st, 1, row.local_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = xcalloc(1, sizeof **out);
            if (!fill_record(*out, st)) {
                sfa_record_free(*out);
                *out = NULL;
                s = store_fail(agent, SFA_ECORRUPT, "an op of %s has an unknown state",
                               row.local_id);
            }
        } else {
            s = store_fail_sqlite(agent, rc, "reading the record");
        }
        sqlite3_reset(st);
    }
    store_row_clear(&row);
    free(canon);
    return s;
}

static sfa_status check_list_opts(sfa_agent *a, const sfa_list_options *o)
{
    if (o->version != SFA_LIST_OPTIONS_VERSION)
        return store_fail(a, SFA_EINVAL, "unsupported sfa_list_options version %u", o->version);
    if (o->order_field && !name_is_valid_api_name(o->order_field))
        return store_fail(a, SFA_EINVAL, "'%s' is not a valid field name to order by",
                          o->order_field);
    return SFA_OK;
}

/* The list statement for o: constant fragments, and for the order key either an indexed
 * field's fixed expression or a bound JSON path; never text from the caller. */
static char *list_sql(const char *sobject, const sfa_list_options *o)
{
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, RECORD_COLUMNS);
    strbuf_adds(&sb, o->include_deleted ? LIST_WHERE_ALL : LIST_WHERE_LIVE);
    if (o->status)
        strbuf_adds(&sb, LIST_STATUS);
    if (!o->order_field) {
        strbuf_adds(&sb, LIST_NEWEST);
        return strbuf_detach(&sb);
    }
    const char *expr = store_indexed_expr(sobject, o->order_field);
    const char *dir = o->descending ? " DESC" : "";
    strbuf_addf(&sb, "ORDER BY %s COLLATE NOCASE%s, r.created_at%s, r.rowid%s LIMIT ?4",
                expr ? expr : LIST_BOUND_FIELD, dir, dir, dir);
    return strbuf_detach(&sb);
}

static sqlite3_stmt *list_stmt(sfa_agent *a, const char *sobject, const sfa_list_options *o,
                               char **path)
{
    char *sql = list_sql(sobject, o);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store_db(a), sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        store_fail_sqlite(a, rc, "preparing the list");
        return NULL;
    }
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, o->include_deleted ? 1 : 0);
    if (o->status)
        sqlite3_bind_text(st, 3, o->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, o->limit ? (sqlite3_int64)o->limit : -1);
    if (o->order_field && !store_indexed_expr(sobject, o->order_field)) {
        *path = xasprintf("$.\"%s\"", o->order_field);
        sqlite3_bind_text(st, 5, *path, -1, SQLITE_STATIC);
    }
    return st;
}

sfa_status sfa_record_list(sfa_record_array *out, sfa_agent *agent, const char *sobject,
                           const sfa_list_options *opts)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!agent || !out)
        return missing_arg(agent, "sfa_record_list", agent ? "out" : "agent");
    store_clear_error(agent);
    sfa_list_options def = SFA_LIST_OPTIONS_INIT;
    const sfa_list_options *o = opts ? opts : &def;
    char *canon = NULL; /* records.c I7: listed under Salesforce's spelling */
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s == SFA_OK)
        s = check_list_opts(agent, o);
    char *path = NULL;
    sqlite3_stmt *st = s == SFA_OK ? list_stmt(agent, canon, o, &path) : NULL;
    if (s != SFA_OK || !st) {
        free(canon);
        return s != SFA_OK ? s : store_last_status(agent);
    }
    size_t cap = 0;
    int rc;
    bool known = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 16;
            out->items = xrealloc(out->items, cap * sizeof *out->items);
        }
        memset(&out->items[out->count], 0, sizeof out->items[0]);
        known = fill_record(&out->items[out->count++], st) && known;
    }
    sqlite3_finalize(st);
    free(path);
    free(canon); /* bound to st until here */
    s = rc != SQLITE_DONE ? store_fail_sqlite(agent, rc, "listing records")
        : !known          ? store_fail(agent, SFA_ECORRUPT, "the outbox has an op of unknown state")
                          : SFA_OK;
    if (s != SFA_OK)
        sfa_record_array_free(out);
    return s;
}
