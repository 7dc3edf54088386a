/* Local writes: create, update, delete and upsert of records of any sObject. Each call is
 * one BEGIN IMMEDIATE transaction holding its outbox op and the mirror row change.
 *
 * Invariants:
 * I1. A write commits its outbox op and its mirror change together or not at all; on any
 *     failure the transaction is rolled back and the handle says why.
 * I2. Ops of one record are never reordered: coalescing only ever touches the record's
 *     newest op, never an older one past a newer one.
 * I3. Only an op that is 'pending' and unclaimed (lease_owner NULL) is ever modified or
 *     removed; an op that may be in flight is left exactly as it is. Folding into a
 *     create or upsert also needs attempts = 0 (never sent).
 * I4. The mirror's fields are the local view: server base plus every pending edit.
 * I5. A record whose create is dead takes later edits into that create (T2 on a dead op),
 *     so `outbox retry` sends the corrected values; nothing queues behind it.
 * I6. An update op carries base_fields: for each field it changes, the record's base value
 *     when that field was first edited. The push conflict check compares Salesforce's
 *     value with it, so a pull that moves the record's base never hides or invents a
 *     conflict (docs/sync-protocol.md#conflicts).
 * I7. Records are stored under Salesforce's spelling of their sObject ("account" is kept
 *     as "Account", store_sobject_canonical), so every spelling finds the same records.
 */
#include <stdlib.h>
#include <string.h>

#include "sfagent/record.h"
#include "store/op_state.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/names.h"
#include "util/timeutil.h"

static const char SQL_INSERT_RECORD[] =
    "INSERT INTO records (local_id, sobject, fields, dirty, created_at, "
    "updated_at, " STORE_FIELD_COLS
    ") VALUES (?1, ?2, ?3, 1, ?4, ?4, " STORE_FIELD_VALUES("?3") ")";
static const char SQL_NEWEST_OP[] =
    "SELECT seq, kind, state, attempts, lease_owner IS NULL, fields, base_fields FROM outbox "
    "WHERE local_id = ?1 ORDER BY seq DESC LIMIT 1";
static const char SQL_RECORD_BASE[] = "SELECT base FROM records WHERE local_id = ?1";
/* The record's dead, unclaimed create (oldest open op) and the pending updates behind it:
 * the rows I5 folds a new edit into. Empty unless the oldest open op is such a create. */
static const char SQL_DEAD_CREATE_CHAIN[] =
    "SELECT o.seq, o.fields FROM outbox o, (SELECT seq, kind, state, lease_owner FROM outbox"
    " WHERE local_id = ?1 AND state != 'done' ORDER BY seq LIMIT 1) c"
    " WHERE c.kind IN ('create', 'upsert') AND c.state = 'dead' AND c.lease_owner IS NULL"
    " AND o.local_id = ?1 AND o.lease_owner IS NULL AND (o.seq = c.seq OR (o.seq > c.seq"
    " AND o.state = 'pending' AND o.kind = 'update')) ORDER BY o.seq";
static const char SQL_SET_FIELDS[] =
    "UPDATE records SET fields = ?2, dirty = 1, updated_at = ?3, " STORE_FIELD_SET(
        "?2") " WHERE local_id = ?1";
static const char SQL_NEVER_SENT[] =
    "SELECT (SELECT kind FROM outbox WHERE local_id = ?1 ORDER BY seq LIMIT 1), "
    "(SELECT count(*) FROM outbox WHERE local_id = ?1 AND NOT (state = 'pending' AND "
    "attempts = 0 AND lease_owner IS NULL))";
static const char SQL_REFERRERS[] =
    "SELECT local_id FROM records WHERE deleted = 0 AND local_id != ?1 AND EXISTS "
    "(SELECT 1 FROM json_each(records.fields) WHERE json_each.value = ?1) LIMIT 1";
static const char SQL_DELETE_RECORD[] = "DELETE FROM records WHERE local_id = ?1";
static const char SQL_MARK_DELETED[] =
    "UPDATE records SET deleted = 1, dirty = 1, updated_at = ?2 WHERE local_id = ?1";
static const char SQL_FIND_EXT[] =
    "SELECT local_id FROM records WHERE sobject = ?1 AND deleted = 0 "
    "AND json_extract(fields, ?2) = ?3 LIMIT 2";

sfa_status store_insert_new(sfa_agent *a, const char *sobject, const cJSON *fields,
                            const char *kind, const char *ext_field, const char *ext_value,
                            char **out_local_id)
{
    sqlite3_stmt *st = store_stmt(a, SQL_INSERT_RECORD);
    if (!st)
        return store_last_status(a);
    char *local_id = store_new_local_id();
    char *text = json_print(fields);
    int64_t now = time_now_ms();
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sfa_status s = store_step_done(a, st, "adding the record");
    if (s == SFA_OK) {
        store_op_new o = {sobject, local_id, kind, text, ext_field, ext_value, NULL, NULL};
        s = store_op_enqueue(a, &o, now);
    }
    free(text);
    if (s == SFA_OK && out_local_id)
        *out_local_id = local_id; /* ownership moves to the caller */
    else
        free(local_id);
    return s;
}

/* Commit with the crash points around it. */
static sfa_status commit(sfa_agent *a)
{
    CRASH_POINT("store.before_commit");
    sfa_status s = store_tx_commit(a);
    if (s == SFA_OK)
        CRASH_POINT("store.after_commit");
    return s;
}

static sfa_status begin(sfa_agent *a)
{
    if (store_is_read_only(a))
        return store_fail(a, SFA_EREADONLY, "the database was opened read-only");
    store_clear_error(a);
    sfa_status s = store_tx_begin(a);
    if (s == SFA_OK)
        CRASH_POINT("store.after_begin");
    return s;
}

static sfa_status finish(sfa_agent *a, sfa_status s)
{
    if (s == SFA_OK)
        return commit(a);
    store_tx_rollback(a);
    return s;
}

/* sfa_record_create with sobject already in Salesforce's spelling. */
static sfa_status create_as(char **out_local_id, sfa_agent *agent, const char *sobject,
                            const char *fields_json)
{
    sfa_status s = begin(agent);
    if (s != SFA_OK)
        return s;
    cJSON *fields = NULL;
    s = store_fields_parse(&fields, agent, sobject, fields_json, STORE_WRITE_CREATE);
    if (s == SFA_OK)
        s = store_insert_new(agent, sobject, fields, "create", NULL, NULL, out_local_id);
    cJSON_Delete(fields);
    s = finish(agent, s);
    if (s != SFA_OK) {
        free(*out_local_id);
        *out_local_id = NULL;
    }
    return s;
}

sfa_status sfa_record_create(char **out_local_id, sfa_agent *agent, const char *sobject,
                             const char *fields_json)
{
    if (out_local_id)
        *out_local_id = NULL;
    if (!agent || !out_local_id)
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_record_create: out_local_id is NULL")
                     : store_error_set(SFA_EINVAL, "sfa_record_create: agent is NULL");
    char *canon = NULL;
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s == SFA_OK)
        s = create_as(out_local_id, agent, canon, fields_json);
    free(canon);
    return s;
}

void store_json_merge(cJSON *dst, const cJSON *src)
{
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, src)
    {
        cJSON_DeleteItemFromObject(dst, item->string); /* case-insensitive */
        cJSON_AddItemToObject(dst, item->string, cJSON_Duplicate(item, true));
    }
}

/* Merge changes into a stored JSON object text; caller frees the result. */
static char *merged_text(const char *stored, const cJSON *changes)
{
    /* Exact, so a stored number literal survives the merge; text stored before numbers
     * were kept exactly may hold what the exact parser refuses: read it as before. */
    const char *err = NULL;
    cJSON *obj = stored ? json_parse_exact(stored, strlen(stored), &err) : NULL;
    if (stored && !obj)
        obj = cJSON_Parse(stored);
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        obj = cJSON_CreateObject();
    }
    store_json_merge(obj, changes);
    char *text = json_print(obj);
    cJSON_Delete(obj);
    return text;
}

/* Merge changes into op seq's stored fields (T2). */
static sfa_status fold_into(sfa_agent *a, int64_t seq, const char *stored, const cJSON *changes,
                            const char *base_fields, bool *folded)
{
    char *text = merged_text(stored, changes);
    store_op_change c = {
        .seq = seq, .event = STORE_EV_FOLD, .fields = text, .base_fields = base_fields};
    sfa_status s = store_op_transition(a, &c, NULL, folded);
    free(text);
    return s;
}

/* The record's base (the server values last known), parsed exactly; an empty object when
 * the record has none yet. */
static sfa_status record_base(cJSON **out, sfa_agent *a, const char *local_id)
{
    *out = NULL;
    sqlite3_stmt *st = store_stmt(a, SQL_RECORD_BASE);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    const char *t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    const char *err = NULL;
    cJSON *base = t ? json_parse_exact(t, strlen(t), &err) : NULL;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(base);
        return store_fail_sqlite(a, rc, "reading the record's base");
    }
    if (!cJSON_IsObject(base)) {
        cJSON_Delete(base);
        base = cJSON_CreateObject();
    }
    *out = base;
    return SFA_OK;
}

/* I6: an update op's base_fields: for each field it changes, the base value the first edit
 * of that field started from (kept from existing when the op already has one). Caller
 * frees the text. */
static char *base_fields_text(const cJSON *base, const cJSON *changes, const char *existing)
{
    const char *err = NULL;
    cJSON *bf = existing ? json_parse_exact(existing, strlen(existing), &err) : NULL;
    if (!cJSON_IsObject(bf)) {
        cJSON_Delete(bf);
        bf = cJSON_CreateObject();
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, changes)
    {
        if (cJSON_GetObjectItem(bf, f->string)) /* case-insensitive, as Salesforce's names */
            continue;
        const cJSON *b = cJSON_GetObjectItem(base, f->string);
        cJSON_AddItemToObject(bf, f->string, b ? cJSON_Duplicate(b, true) : cJSON_CreateNull());
    }
    char *text = json_print(bf);
    cJSON_Delete(bf);
    return text;
}

/* I5: the record's dead create and, behind it, its pending updates (queued before I5
 * held) take the edit. *folded false when the record has no dead create. */
static sfa_status fold_dead_create(sfa_agent *a, const char *local_id, const cJSON *changes,
                                   bool *folded)
{
    *folded = false;
    sqlite3_stmt *st = store_stmt(a, SQL_DEAD_CREATE_CHAIN);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    size_t n = 0, cap = 0;
    int64_t *seqs = NULL;
    char **texts = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            seqs = xrealloc(seqs, cap * sizeof *seqs);
            texts = xrealloc(texts, cap * sizeof *texts);
        }
        seqs[n] = sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        texts[n++] = t ? xstrdup(t) : NULL;
    }
    sqlite3_reset(st);
    sfa_status s = rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading the outbox");
    for (size_t i = 0; i < n; i++) {
        bool one = false;
        if (s == SFA_OK)
            s = fold_into(a, seqs[i], texts[i], changes, NULL, &one);
        *folded = *folded || one;
        free(texts[i]);
    }
    free(seqs);
    free(texts);
    return s;
}

/* I2, I3: fold into the newest op when the rules allow; *folded says whether it did. */
static sfa_status try_fold(sfa_agent *a, const char *local_id, const cJSON *changes,
                           const cJSON *base, bool *folded)
{
    sfa_status s0 = fold_dead_create(a, local_id, changes, folded);
    if (s0 != SFA_OK || *folded)
        return s0;
    sqlite3_stmt *st = store_stmt(a, SQL_NEWEST_OP);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading the outbox");
    }
    int64_t seq = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    const char *state = (const char *)sqlite3_column_text(st, 2);
    int attempts = sqlite3_column_int(st, 3);
    bool unclaimed = sqlite3_column_int(st, 4) != 0;
    bool is_update = strcmp(kind, "update") == 0;
    bool is_new = strcmp(kind, "create") == 0 || strcmp(kind, "upsert") == 0;
    bool can =
        strcmp(state, "pending") == 0 && unclaimed && (is_update || (is_new && attempts == 0));
    char *stored = can ? store_col_dup(st, 5) : NULL;
    char *old_bf = can && is_update ? store_col_dup(st, 6) : NULL;
    sqlite3_reset(st);
    char *bf = can && is_update ? base_fields_text(base, changes, old_bf) : NULL;
    sfa_status s = can ? fold_into(a, seq, stored, changes, bf, folded) : SFA_OK;
    free(stored);
    free(old_bf);
    free(bf);
    return s;
}

static sfa_status set_mirror_fields(sfa_agent *a, const store_row *row, const cJSON *changes,
                                    int64_t now)
{
    sqlite3_stmt *st = store_stmt(a, SQL_SET_FIELDS);
    if (!st)
        return store_last_status(a);
    char *text = merged_text(row->fields, changes); /* I4 */
    sqlite3_bind_text(st, 1, row->local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sfa_status s = store_step_done(a, st, "updating the record");
    free(text);
    return s;
}

/* The update half shared by update and upsert-of-an-existing-record. */
static sfa_status apply_update(sfa_agent *a, const char *sobject, const store_row *row,
                               const cJSON *changes, const char *kind, const char *ext_field,
                               const char *ext_value)
{
    int64_t now = time_now_ms();
    bool folded = false, is_update = strcmp(kind, "update") == 0;
    cJSON *base = NULL;
    sfa_status s = is_update ? record_base(&base, a, row->local_id) : SFA_OK; /* I6 */
    /* An upsert is sent on its own key; it only folds when its key is not needed. */
    if (s == SFA_OK && is_update)
        s = try_fold(a, row->local_id, changes, base, &folded);
    if (s == SFA_OK && !folded) {
        char *text = json_print(changes);
        char *bf = is_update ? base_fields_text(base, changes, NULL) : NULL; /* I6 */
        store_op_new o = {sobject,   row->local_id,     kind, text, ext_field,
                          ext_value, row->sys_modstamp, bf};
        s = store_op_enqueue(a, &o, now);
        free(text);
        free(bf);
    }
    cJSON_Delete(base);
    if (s == SFA_OK)
        s = set_mirror_fields(a, row, changes, now);
    return s;
}

static sfa_status refuse_deleted(sfa_agent *a, const char *sobject, const char *ref)
{
    return store_fail(a, SFA_ESTATE, "%s '%s' is deleted", sobject, ref);
}

static sfa_status update_as(sfa_agent *agent, const char *sobject, const char *ref,
                            const char *fields_json)
{
    sfa_status s = begin(agent);
    if (s != SFA_OK)
        return s;
    store_row row = {0};
    cJSON *changes = NULL;
    s = store_resolve(&row, agent, sobject, ref);
    if (s == SFA_OK && row.deleted)
        s = refuse_deleted(agent, sobject, ref);
    if (s == SFA_OK)
        s = store_fields_parse(&changes, agent, sobject, fields_json, STORE_WRITE_UPDATE);
    if (s == SFA_OK && cJSON_GetArraySize(changes) == 0)
        s = store_fail(agent, SFA_EINVAL, "no fields to update");
    if (s == SFA_OK)
        s = apply_update(agent, sobject, &row, changes, "update", NULL, NULL);
    cJSON_Delete(changes);
    store_row_clear(&row);
    return finish(agent, s);
}

sfa_status sfa_record_update(sfa_agent *agent, const char *sobject, const char *ref,
                             const char *fields_json)
{
    if (!agent)
        return store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_record_update");
    char *canon = NULL;
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s == SFA_OK)
        s = update_as(agent, canon, ref, fields_json);
    free(canon);
    return s;
}

/* Is the record's whole history one never-sent create (plus folded edits)? */
static sfa_status never_sent(sfa_agent *a, const store_row *row, bool *out)
{
    *out = false;
    if (row->sf_id)
        return SFA_OK;
    sqlite3_stmt *st = store_stmt(a, SQL_NEVER_SENT);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, row->local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *first = (const char *)sqlite3_column_text(st, 0);
        *out = first && strcmp(first, "create") == 0 && sqlite3_column_int(st, 1) == 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SFA_OK : store_fail_sqlite(a, rc, "reading the outbox");
}

/* A never-synced record can go only if no other record points at its local id. */
static sfa_status check_unreferenced(sfa_agent *a, const char *sobject, const store_row *row)
{
    sqlite3_stmt *st = store_stmt(a, SQL_REFERRERS);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, row->local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char *other = rc == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "looking for references");
    if (!other)
        return SFA_OK;
    sfa_status s = store_fail(a, SFA_ESTATE,
                              "%s %s is referenced by local record %s; delete or change that "
                              "record first",
                              sobject, row->local_id, other);
    free(other);
    return s;
}

static sfa_status remove_local(sfa_agent *a, const char *sobject, const store_row *row)
{
    sfa_status s = check_unreferenced(a, sobject, row);
    /* Ops first: outbox.local_id references records. */
    if (s == SFA_OK)
        s = store_op_cancel_record(a, row->local_id);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_DELETE_RECORD) : NULL;
    if (s != SFA_OK || !st)
        return s != SFA_OK ? s : store_last_status(a);
    sqlite3_bind_text(st, 1, row->local_id, -1, SQLITE_STATIC);
    return store_step_done(a, st, "removing the unsent record");
}

static sfa_status queue_delete(sfa_agent *a, const char *sobject, const store_row *row)
{
    int64_t now = time_now_ms();
    store_op_new o = {sobject, row->local_id, "delete", NULL, NULL, NULL, row->sys_modstamp, NULL};
    sfa_status s = store_op_enqueue(a, &o, now);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_MARK_DELETED) : NULL;
    if (s == SFA_OK && !st)
        return store_last_status(a);
    if (s == SFA_OK) {
        sqlite3_bind_text(st, 1, row->local_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        s = store_step_done(a, st, "marking the record deleted");
    }
    return s;
}

static sfa_status delete_as(sfa_agent *agent, const char *sobject, const char *ref)
{
    sfa_status s = begin(agent);
    if (s != SFA_OK)
        return s;
    store_row row = {0};
    bool unsent = false;
    s = store_resolve(&row, agent, sobject, ref);
    if (s == SFA_OK && row.deleted)
        s = refuse_deleted(agent, sobject, ref);
    if (s == SFA_OK)
        s = never_sent(agent, &row, &unsent);
    if (s == SFA_OK)
        s = unsent ? remove_local(agent, sobject, &row) : queue_delete(agent, sobject, &row);
    store_row_clear(&row);
    return finish(agent, s);
}

sfa_status sfa_record_delete(sfa_agent *agent, const char *sobject, const char *ref)
{
    if (!agent)
        return store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_record_delete");
    char *canon = NULL;
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s == SFA_OK)
        s = delete_as(agent, canon, ref);
    free(canon);
    return s;
}

/* The record whose ext_field equals ext_value: *found false if none. */
static sfa_status find_by_ext(sfa_agent *a, const char *sobject, const char *ext_field,
                              const char *ext_value, store_row *out, bool *found)
{
    *found = false;
    sqlite3_stmt *st = store_stmt(a, SQL_FIND_EXT);
    if (!st)
        return store_last_status(a);
    char *path = xasprintf("$.\"%s\"", ext_field);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ext_value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char *id = rc == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(path);
    sfa_status s = SFA_OK;
    if (rc == SQLITE_ROW)
        s = store_fail(a, SFA_EAMBIGUOUS, "more than one %s has %s = '%s'", sobject, ext_field,
                       ext_value);
    else if (rc != SQLITE_DONE)
        s = store_fail_sqlite(a, rc, "looking up the external id");
    else if (id) {
        s = store_resolve(out, a, sobject, id);
        *found = s == SFA_OK;
    }
    free(id);
    return s;
}

static sfa_status check_upsert_args(sfa_agent *a, const char *sobject, const char *ext_field,
                                    const char *ext_value)
{
    if (!ext_field || !name_is_valid_api_name(ext_field))
        return store_fail(a, SFA_EINVAL, "'%s' is not a valid External ID field name",
                          ext_field ? ext_field : "(null)");
    if (!ext_value || !*ext_value)
        return store_fail(a, SFA_EINVAL, "the External ID value for %s is empty", ext_field);
    return store_check_not_idem_field(a, sobject, ext_field); /* validate.c I4 */
}

static sfa_status upsert_as(char **out_local_id, sfa_agent *agent, const char *sobject,
                            const char *ext_field, const char *ext_value, const char *fields_json)
{
    sfa_status s = check_upsert_args(agent, sobject, ext_field, ext_value);
    if (s == SFA_OK)
        s = begin(agent);
    if (s != SFA_OK)
        return s;
    store_row row = {0};
    bool found = false;
    cJSON *fields = NULL;
    s = find_by_ext(agent, sobject, ext_field, ext_value, &row, &found);
    if (s == SFA_OK)
        s = store_fields_parse(&fields, agent, sobject, fields_json,
                               found ? STORE_WRITE_UPDATE : STORE_WRITE_CREATE);
    if (s == SFA_OK) {
        /* The mirror must find the record by its key next time. */
        cJSON_DeleteItemFromObject(fields, ext_field);
        cJSON_AddStringToObject(fields, ext_field, ext_value);
        if (found)
            s = apply_update(agent, sobject, &row, fields, "upsert", ext_field, ext_value);
        else
            s = store_insert_new(agent, sobject, fields, "upsert", ext_field, ext_value,
                                 out_local_id);
    }
    if (s == SFA_OK && found && out_local_id)
        *out_local_id = xstrdup(row.local_id);
    cJSON_Delete(fields);
    store_row_clear(&row);
    s = finish(agent, s);
    if (s != SFA_OK && out_local_id) {
        free(*out_local_id);
        *out_local_id = NULL;
    }
    return s;
}

sfa_status sfa_record_upsert(char **out_local_id, sfa_agent *agent, const char *sobject,
                             const char *ext_field, const char *ext_value, const char *fields_json)
{
    if (out_local_id)
        *out_local_id = NULL;
    if (!agent)
        return store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_record_upsert");
    char *canon = NULL;
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s == SFA_OK)
        s = upsert_as(out_local_id, agent, canon, ext_field, ext_value, fields_json);
    free(canon);
    return s;
}
