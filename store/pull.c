/* The pull state per sObject and the transactions a pull commits (docs/sync-protocol.md#pull).
 *
 * Invariants:
 *   I1. The high-water mark (mark_modstamp, mark_id) moves only in the transaction that
 *       writes the page of records it ends, so after a crash the mark names exactly the
 *       last record whose page is in the mirror: a resumed pull asks for records after it,
 *       never re-downloads a committed page and never skips one.
 *   I2. deletes_checked moves only in the transaction that removes the deletes it covers
 *       (getDeleted) or the ghosts a full reconciliation found.
 *   I3. The reconcile flag is cleared only by the transaction that finishes a full Id
 *       reconciliation; a crash before that leaves it set and the next pull starts over.
 *   I4. The leaving mark (left_modstamp, left_id) moves only in the transaction that
 *       removes the records of the page that ends on it: records modified after it that
 *       no longer match the `where` (sync/engine/pull_left.c), same crash argument as I1.
 *   I5. The mark never moves back: a page whose last record sorts before the committed
 *       mark (a record older than the mark, from a server that did not apply the query's
 *       filter) is merged and the mark stays, so nothing committed is asked for again.
 *       The leaving mark likewise; and a page of records leaving the scope out of
 *       SystemModstamp order is refused whole, as a changes page is (store/mirror.c M9),
 *       since the leaving mark taken from its last record could pass records not seen.
 *   P1. mark_modstamp and mark_id are both set or both NULL.
 *   P2. A set mark_id or left_id is an 18-character Id.
 *   P3. A set left_id has a left_modstamp.
 * Mirror rules are store/mirror.c's (M1-M10).
 */
#include "store/pull.h"

#include <stdlib.h>
#include <string.h>

#include "store/mirror.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/timeutil.h"

static const char SQL_GET[] =
    "SELECT mark_modstamp, mark_id, deletes_checked, reconcile, scope_hash, last_pull_at,"
    " left_modstamp, left_id FROM pull_state WHERE sobject = ?1";
static const char SQL_RESET[] =
    "INSERT INTO pull_state (sobject, mark_modstamp, mark_id, deletes_checked, reconcile,"
    " scope_hash, left_modstamp, left_id) VALUES (?1, NULL, NULL, ?2, ?3, ?4, ?2, NULL)"
    " ON CONFLICT (sobject) DO UPDATE SET mark_modstamp = NULL, mark_id = NULL,"
    " deletes_checked = excluded.deletes_checked, reconcile = excluded.reconcile,"
    " scope_hash = excluded.scope_hash, left_modstamp = excluded.left_modstamp, left_id = NULL";
static const char SQL_MARK[] =
    "UPDATE pull_state SET mark_modstamp = ?2, mark_id = ?3 WHERE sobject = ?1";
static const char SQL_LEFT_MARK[] =
    "UPDATE pull_state SET left_modstamp = ?2, left_id = ?3 WHERE sobject = ?1";
static const char SQL_LEFT_START[] =
    "UPDATE pull_state SET left_modstamp = ?2, left_id = NULL WHERE sobject = ?1";
static const char SQL_DELETES[] = "UPDATE pull_state SET deletes_checked = ?2 WHERE sobject = ?1";
static const char SQL_RECONCILED[] =
    "UPDATE pull_state SET deletes_checked = ?2, reconcile = 0 WHERE sobject = ?1";
static const char SQL_FINISHED[] =
    "UPDATE pull_state SET last_pull_at = ?2, reconcile = max(reconcile, ?3) WHERE sobject = ?1";
static const char SQL_ANY_ROW[] = "SELECT 1 FROM records WHERE sobject = ?1 LIMIT 1";
static const char SQL_SEEN_ADD[] = "INSERT OR IGNORE INTO temp.pull_seen (sf_id) VALUES (?1)";
static const char SQL_GHOSTS[] =
    "SELECT sf_id FROM records WHERE sobject = ?1 AND sf_id IS NOT NULL"
    " AND sf_id NOT IN (SELECT sf_id FROM temp.pull_seen)";
static const char SQL_BAD_STATE[] =
    "SELECT sobject FROM pull_state WHERE (mark_modstamp IS NULL) != (mark_id IS NULL)"
    " OR (mark_id IS NOT NULL AND length(mark_id) != 18)"
    " OR (left_id IS NOT NULL AND (left_modstamp IS NULL OR length(left_id) != 18)) LIMIT 1";

static sfa_status begin(sfa_agent *a)
{
    if (store_is_read_only(a))
        return store_fail(a, SFA_EREADONLY, "the database was opened read-only");
    store_clear_error(a);
    return store_tx_begin(a);
}

static sfa_status finish(sfa_agent *a, sfa_status s)
{
    if (s == SFA_OK)
        return store_tx_commit(a);
    store_tx_rollback(a);
    return s;
}

void store_pull_state_clear(store_pull_state *s)
{
    free(s->mark_modstamp);
    free(s->mark_id);
    free(s->deletes_checked);
    free(s->scope_hash);
    free(s->left_modstamp);
    free(s->left_id);
    memset(s, 0, sizeof *s);
}

sfa_status store_pull_state_get(store_pull_state *out, sfa_agent *a, const char *sobject)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(a, SQL_GET);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->found = true;
        out->mark_modstamp = store_col_dup(st, 0);
        out->mark_id = store_col_dup(st, 1);
        out->deletes_checked = store_col_dup(st, 2);
        out->reconcile = sqlite3_column_int(st, 3) != 0;
        out->scope_hash = store_col_dup(st, 4);
        out->last_pull_at = sqlite3_column_int64(st, 5);
        out->left_modstamp = store_col_dup(st, 6);
        out->left_id = store_col_dup(st, 7);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SFA_OK
                                                 : store_fail_sqlite(a, rc, "reading pull state");
}

sfa_status store_pull_state_reset(sfa_agent *a, const char *sobject, const char *scope_hash,
                                  const char *deletes_checked, bool reconcile)
{
    sfa_status s = begin(a);
    if (s != SFA_OK)
        return s;
    sqlite3_stmt *st = store_stmt(a, SQL_RESET);
    if (!st)
        return finish(a, store_last_status(a));
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, deletes_checked, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, reconcile ? 1 : 0);
    sqlite3_bind_text(st, 4, scope_hash, -1, SQLITE_STATIC);
    return finish(a, store_step_done(a, st, "resetting pull state"));
}

/* Two text parameters after the sobject: the statements that move one piece of state. */
static sfa_status set_state(sfa_agent *a, const char *sql, const char *sobject, const char *v2,
                            const char *v3)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v2, -1, SQLITE_STATIC);
    if (v3)
        sqlite3_bind_text(st, 3, v3, -1, SQLITE_STATIC);
    sfa_status s = store_step_done(a, st, "writing pull state");
    if (s == SFA_OK && sqlite3_changes(store_db(a)) != 1)
        s = store_fail(a, SFA_ESTATE, "no pull state for %s", sobject);
    return s;
}

/* The mark a page ends on: its last record's (SystemModstamp, Id), Id in 18-char form
 * (*stamp: caller frees). */
static sfa_status page_mark(sfa_agent *a, const json_span *records, size_t n, char **stamp,
                            char id18[SFID_LEN + 1])
{
    *stamp = n ? json_member_str(records[n - 1], "SystemModstamp") : NULL;
    char *id = n ? json_member_str(records[n - 1], "Id") : NULL;
    bool ok = *stamp && id && sfid_to18(id, id18);
    free(id);
    if (!ok)
        return store_fail(a, SFA_ESERVER,
                          "the last record of a pulled page has no valid Id or SystemModstamp");
    return SFA_OK;
}

/* The mark a page of n records ends on, then the transaction that will commit the page
 * with it (I1, I4); on failure nothing is open and *stamp is freed. */
static sfa_status begin_page(sfa_agent *a, const json_span *records, size_t n, char **stamp,
                             char id18[SFID_LEN + 1])
{
    sfa_status s = page_mark(a, records, n, stamp, id18);
    if (s == SFA_OK)
        s = begin(a);
    if (s != SFA_OK) {
        free(*stamp);
        *stamp = NULL;
    }
    return s;
}

/* I5: does (stamp, id18) sort before the committed mark of sobject (left: the leaving
 * mark, whose Id may be unset: then only its time counts)? */
static bool mark_is_behind(sfa_agent *a, const char *sobject, bool left, const char *stamp,
                           const char id18[SFID_LEN + 1])
{
    store_pull_state ps;
    int64_t old = 0, now = 0;
    bool got = store_pull_state_get(&ps, a, sobject) == SFA_OK;
    const char *mark = left ? ps.left_modstamp : ps.mark_modstamp;
    const char *mark_id = left ? ps.left_id : ps.mark_id;
    bool behind = got && mark && (mark_id || left) && time_parse_sf(mark, &old) &&
                  time_parse_sf(stamp, &now) &&
                  (now < old || (now == old && mark_id && strcmp(id18, mark_id) < 0));
    store_pull_state_clear(&ps);
    return behind;
}

sfa_status store_pull_object_empty(sfa_agent *a, const char *sobject, bool *empty)
{
    sqlite3_stmt *st = store_stmt(a, SQL_ANY_ROW);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *empty = rc == SQLITE_DONE;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SFA_OK
                                                 : store_fail_sqlite(a, rc, "reading the mirror");
}

/* One attempt at a page: its records and the mark in one transaction (I1). */
static sfa_status pull_page_once(sfa_agent *a, const char *sobject, const json_span *records,
                                 size_t n, const char *key_field, int64_t now_ms, bool all_new,
                                 bool *dup, store_pull_counts *mine)
{
    char *stamp = NULL;
    char id18[SFID_LEN + 1];
    sfa_status s = begin_page(a, records, n, &stamp, id18);
    if (s != SFA_OK)
        return s;
    *mine = (store_pull_counts){0};
    *dup = false;
    s = store_mirror_stage_begin(a);
    if (s == SFA_OK)
        s = store_mirror_merge_page(a, sobject, records, n, key_field, now_ms, all_new, dup, mine);
    if (s == SFA_OK && !mark_is_behind(a, sobject, false, stamp, id18)) /* I5 */
        s = set_state(a, SQL_MARK, sobject, stamp, id18);               /* I1: with its records */
    if (s == SFA_OK)
        CRASH_POINT("pull.before_page_commit");
    s = finish(a, s);
    free(stamp);
    return s;
}

sfa_status store_pull_page(sfa_agent *a, const char *sobject, const json_span *records, size_t n,
                           const char *key_field, int64_t now_ms, bool *all_new,
                           store_pull_counts *c)
{
    if (n == 0)
        return SFA_OK;
    store_pull_counts mine;
    bool dup = false;
    sfa_status s = pull_page_once(a, sobject, records, n, key_field, now_ms, *all_new, &dup, &mine);
    if (s != SFA_OK && dup && *all_new) { /* M10 of store/mirror.c: cached after all */
        *all_new = false;
        s = pull_page_once(a, sobject, records, n, key_field, now_ms, false, &dup, &mine);
    }
    if (s == SFA_OK) {
        c->pulled += mine.pulled;
        c->added += mine.added;
        c->updated += mine.updated;
        c->kept += mine.kept;
    }
    return s;
}

sfa_status store_pull_one(sfa_agent *a, const char *sobject, const cJSON *record,
                          const char *key_field, char **out_local_id, store_pull_counts *c)
{
    sfa_status s = begin(a);
    if (s != SFA_OK)
        return s;
    s = store_mirror_merge(a, sobject, record, key_field, time_now_ms(), out_local_id, c);
    return finish(a, s);
}

/* Drop the cached record of sobject whose Id is id (any form; not an Id: skipped), inside
 * the caller's transaction. M6: a record with open ops stays. */
static sfa_status drop_id(sfa_agent *a, const char *sobject, const char *id, size_t *removed)
{
    char id18[SFID_LEN + 1];
    bool gone = false;
    sfa_status s = SFA_OK;
    if (id && sfid_to18(id, id18))
        s = store_mirror_drop(a, sobject, id18, &gone);
    *removed += gone;
    return s;
}

/* Each Id string of items (getDeleted's ids) dropped as drop_id does. */
static sfa_status drop_named(sfa_agent *a, const char *sobject, const cJSON *items, size_t *removed)
{
    sfa_status s = SFA_OK;
    for (const cJSON *i = items ? items->child : NULL; i && s == SFA_OK; i = i->next)
        s = drop_id(a, sobject, cJSON_IsString(i) ? i->valuestring : NULL, removed);
    return s;
}

/* Each record text's "Id" dropped as drop_id does; the records must come in
 * SystemModstamp order (I5). */
static sfa_status drop_records(sfa_agent *a, const char *sobject, const json_span *records,
                               size_t n, size_t *removed)
{
    sfa_status s = SFA_OK;
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < n && s == SFA_OK; i++) {
        char *id = json_member_str(records[i], "Id");
        char *stamp = json_member_str(records[i], "SystemModstamp");
        int64_t ms = 0;
        if (!stamp || !time_parse_sf(stamp, &ms))
            s = store_fail(a, SFA_ESERVER,
                           "a %s record leaving the scope has no valid"
                           " SystemModstamp",
                           sobject);
        else if (ms < prev)
            s = store_fail(a, SFA_ESERVER,
                           "%s records leaving the scope are out of"
                           " SystemModstamp order",
                           sobject);
        else
            s = drop_id(a, sobject, id, removed);
        prev = ms;
        free(id);
        free(stamp);
    }
    return s;
}

sfa_status store_pull_deleted(sfa_agent *a, const char *sobject, const cJSON *ids,
                              const char *covered_until, store_pull_counts *c)
{
    sfa_status s = begin(a);
    size_t removed = 0;
    if (s == SFA_OK)
        s = drop_named(a, sobject, ids, &removed);
    if (s == SFA_OK) /* I2 */
        s = set_state(a, SQL_DELETES, sobject, covered_until, NULL);
    if (s == SFA_OK)
        CRASH_POINT("pull.before_deletes_commit");
    s = finish(a, s);
    if (s == SFA_OK)
        c->deleted += removed;
    return s;
}

sfa_status store_pull_gone(sfa_agent *a, const char *sobject, const char *id, bool *removed)
{
    size_t n = 0;
    sfa_status s = begin(a);
    if (s == SFA_OK)
        s = drop_id(a, sobject, id, &n);
    s = finish(a, s);
    *removed = s == SFA_OK && n > 0;
    return s;
}

sfa_status store_pull_left(sfa_agent *a, const char *sobject, const json_span *records, size_t n,
                           store_pull_counts *c)
{
    if (n == 0)
        return SFA_OK;
    char *stamp = NULL;
    char id18[SFID_LEN + 1];
    sfa_status s = begin_page(a, records, n, &stamp, id18);
    if (s != SFA_OK)
        return s;
    size_t removed = 0;
    s = drop_records(a, sobject, records, n, &removed);
    if (s == SFA_OK && !mark_is_behind(a, sobject, true, stamp, id18)) /* I5 */
        s = set_state(a, SQL_LEFT_MARK, sobject, stamp, id18);         /* I4 */
    s = finish(a, s);
    free(stamp);
    if (s == SFA_OK)
        c->deleted += removed;
    return s;
}

sfa_status store_pull_left_start(sfa_agent *a, const char *sobject, const char *since)
{
    sfa_status s = begin(a);
    if (s == SFA_OK)
        s = set_state(a, SQL_LEFT_START, sobject, since, NULL);
    return finish(a, s);
}

sfa_status store_pull_seen_begin(sfa_agent *a)
{
    char *err = NULL;
    int rc = sqlite3_exec(store_db(a),
                          "CREATE TEMP TABLE IF NOT EXISTS pull_seen (sf_id TEXT PRIMARY KEY)"
                          " WITHOUT ROWID; DELETE FROM temp.pull_seen",
                          NULL, NULL, &err);
    sqlite3_free(err);
    return rc == SQLITE_OK ? SFA_OK : store_fail_sqlite(a, rc, "preparing reconciliation");
}

sfa_status store_pull_seen_add(sfa_agent *a, const cJSON *records)
{
    sfa_status s = begin(a);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_SEEN_ADD) : NULL;
    if (s == SFA_OK && !st)
        s = store_last_status(a);
    for (const cJSON *r = records ? records->child : NULL; r && s == SFA_OK; r = r->next) {
        char id18[SFID_LEN + 1];
        const char *id = json_str(r, "Id");
        if (!id || !sfid_to18(id, id18)) { /* unseen, it would look deleted */
            s = store_fail(a, SFA_ESERVER,
                           "a reconciliation page holds a record without a valid Id");
            break;
        }
        sqlite3_bind_text(st, 1, id18, -1, SQLITE_TRANSIENT);
        s = store_step_done(a, st, "noting a reconciled Id");
    }
    return finish(a, s);
}

/* The ghosts: cached Ids of sobject not seen in the reconciliation (caller frees). */
static sfa_status ghosts(cJSON **out, sfa_agent *a, const char *sobject)
{
    *out = cJSON_CreateArray();
    sqlite3_stmt *st = store_stmt(a, SQL_GHOSTS);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(*out, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "finding ghosts");
}

sfa_status store_pull_seen_finish(sfa_agent *a, const char *sobject, const char *covered_until,
                                  store_pull_counts *c)
{
    sfa_status s = begin(a);
    cJSON *gone = NULL;
    if (s == SFA_OK)
        s = ghosts(&gone, a, sobject);
    size_t removed = 0;
    for (const cJSON *i = gone ? gone->child : NULL; i && s == SFA_OK; i = i->next) {
        bool dropped = false;
        s = store_mirror_drop(a, sobject, i->valuestring, &dropped);
        removed += dropped;
    }
    if (s == SFA_OK) /* I2, I3 */
        s = set_state(a, SQL_RECONCILED, sobject, covered_until, NULL);
    if (s == SFA_OK)
        CRASH_POINT("pull.before_reconcile_commit");
    cJSON_Delete(gone);
    s = finish(a, s);
    if (s == SFA_OK)
        c->deleted += removed;
    return s;
}

sfa_status store_pull_finished(sfa_agent *a, const char *sobject, int64_t now_ms, bool reconcile)
{
    sfa_status s = begin(a);
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_FINISHED) : NULL;
    if (s == SFA_OK && !st)
        s = store_last_status(a);
    if (s == SFA_OK) {
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int(st, 3, reconcile ? 1 : 0);
        s = store_step_done(a, st, "writing pull state");
    }
    return finish(a, s);
}

bool store_pull_check_invariants(sfa_agent *a, char **why)
{
    sqlite3_stmt *st = store_stmt(a, SQL_BAD_STATE);
    if (why)
        *why = NULL;
    if (!st)
        return false;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && why)
        *why = xasprintf("P1-P3: pull state of %s has a broken mark", sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}
