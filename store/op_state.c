/* The outbox op state machine: every change of an op's state is made here, checked
 * against this table (docs/sync-protocol.md#states-and-transitions).
 *
 *   states:  pending   waiting to be sent, due at next_attempt_at
 *            inflight  claimed by a run (lease_owner) and perhaps sent; outcome unknown
 *            done      applied in Salesforce, or discarded by a person (DISCARDED)
 *            conflict  manual policy: the server changed the same field; a person decides
 *            dead      permanent failure; a person fixes and retries, or discards
 *
 *   T1  enqueue      -                         -> pending   local write
 *   T2  fold         pending | dead, unclaimed -> (same)    local write merged into it (a
 *                                                           dead op only if it is a create:
 *                                                           the person's fix, then retry)
 *   T3  claim        pending, fields unchanged -> inflight  run, committed before sending
 *   T4  adopt        inflight                  -> inflight  run takes over a dead run's op
 *   T5  done         inflight, ours            -> done      run: applied
 *   T6  retry        inflight, ours            -> pending   run: transient (attempts + 1),
 *                                              -> dead      ... or the last attempt
 *   T7  release      inflight, ours            -> pending   run: not sent (attempts kept)
 *   T8  dead         inflight, ours            -> dead      run: permanent failure
 *   T9  conflict     inflight, ours            -> conflict  run: manual policy
 *   T10 user retry   dead | conflict           -> pending   `outbox retry` (attempts 0, due
 *                                                           now, error cleared)
 *   T11 discard      dead | conflict           -> done      `outbox discard`; a discarded
 *                    create takes every op of its record with it (removed, none inflight)
 *   T12 cancel       pending, never sent       -> removed   local delete of an unsent record
 *   T13 prune        done                      -> removed   `outbox prune`; also every
 *                                                           done op of a record Salesforce
 *                                                           deleted, when it has no open op
 *                                                           (pull: the record leaves the
 *                                                           mirror, its history with it)
 *   T14 orphan       pending, unclaimed        -> dead      its parent's create was
 *                                                           discarded (PARENT_DISCARDED)
 *   T15 reschedule   pending, due too far ahead-> pending   run start: a clock that was
 *                                                           ahead stranded it (bulk)
 *   T16 due now      pending, unclaimed        -> pending   `outbox retry` of a pending op:
 *                                                           next_attempt_at 0 (a backoff
 *                                                           set by a clock that was ahead)
 *
 * Invariants of every op row, checked after each transition (SFA_ALWAYS):
 *   S1. lease_owner is set exactly while the op is inflight.
 *   S2. A dead or conflict op carries an error code saying why.
 *   S3. attempts never goes down except by a person's retry (T10), which zeroes it.
 *   S4. updated_at of an inflight op is when it was claimed (just before it was sent);
 *       adopting keeps it, because the settle window counts from the send.
 * "ours" means lease_owner is the run writing: a run that lost its lease cannot overwrite
 * what the run that took over decided. Where the table names a race (claim, results,
 * adopt), a mismatch is not an error: the op is left as it is and the caller is told.
 */
#include "store/op_state.h"

#include <stdlib.h>
#include <string.h>

#include "store/op.h"
#include "store/sql.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/check.h"
#include "util/crashpoint.h"
#include "util/timeutil.h"

#define BIT(s) (1u << (s))

typedef struct transition {
    unsigned from;     /* states the event applies to */
    store_op_state to; /* the state it leads to (T6 may give up instead: dead; T2 keeps it) */
    bool ours;         /* the op must be inflight under the writing run */
    bool race_ok;      /* a mismatch is an expected race, not a bug */
} transition;

static const transition table[] = {
    [STORE_EV_FOLD] = {BIT(STORE_OP_PENDING) | BIT(STORE_OP_DEAD), STORE_OP_PENDING, false, false},
    [STORE_EV_CLAIM] = {BIT(STORE_OP_PENDING), STORE_OP_INFLIGHT, false, true},
    [STORE_EV_ADOPT] = {BIT(STORE_OP_INFLIGHT), STORE_OP_INFLIGHT, false, true},
    [STORE_EV_DONE] = {BIT(STORE_OP_INFLIGHT), STORE_OP_DONE, true, true},
    [STORE_EV_RETRY] = {BIT(STORE_OP_INFLIGHT), STORE_OP_PENDING, true, true},
    [STORE_EV_RELEASE] = {BIT(STORE_OP_INFLIGHT), STORE_OP_PENDING, true, true},
    [STORE_EV_DEAD] = {BIT(STORE_OP_INFLIGHT), STORE_OP_DEAD, true, true},
    [STORE_EV_CONFLICT] = {BIT(STORE_OP_INFLIGHT), STORE_OP_CONFLICT, true, true},
    [STORE_EV_USER_RETRY] = {BIT(STORE_OP_DEAD) | BIT(STORE_OP_CONFLICT), STORE_OP_PENDING, false,
                             false},
    [STORE_EV_DISCARD] = {BIT(STORE_OP_DEAD) | BIT(STORE_OP_CONFLICT), STORE_OP_DONE, false, false},
    [STORE_EV_ORPHAN] = {BIT(STORE_OP_PENDING), STORE_OP_DEAD, false, false},
    [STORE_EV_DUE_NOW] = {BIT(STORE_OP_PENDING), STORE_OP_PENDING, false, false},
};

_Static_assert(sizeof table / sizeof *table == STORE_EV_COUNT, "every event has a row");

/* A switch with no default: -Wswitch flags a new state until it has a name here. */
const char *store_op_state_name(store_op_state s)
{
    switch (s) {
    case STORE_OP_PENDING:
        return "pending";
    case STORE_OP_INFLIGHT:
        return "inflight";
    case STORE_OP_DONE:
        return "done";
    case STORE_OP_CONFLICT:
        return "conflict";
    case STORE_OP_DEAD:
        return "dead";
    }
    return "?";
}

bool store_op_state_parse(const char *name, store_op_state *out)
{
    for (unsigned i = STORE_OP_PENDING; name && i <= STORE_OP_STATE_LAST; i++)
        if (strcmp(name, store_op_state_name((store_op_state)i)) == 0) {
            *out = (store_op_state)i;
            return true;
        }
    return false;
}

/* ---- one op row ---- */

typedef struct op_row {
    store_op_state state;
    char *owner, *fields, *code, *msg, *base_modstamp, *base_fields;
    int attempts;
    int64_t next_attempt_at, updated_at;
} op_row;

static const char SQL_ROW_GET[] =
    "SELECT state, lease_owner, fields, attempts, next_attempt_at, last_error_code,"
    " last_error, base_modstamp, updated_at, base_fields FROM outbox WHERE seq = ?1";
static const char SQL_ROW_PUT[] =
    "UPDATE outbox SET state = ?2, lease_owner = ?3, fields = ?4, attempts = ?5,"
    " next_attempt_at = ?6, last_error_code = ?7, last_error = ?8, base_modstamp = ?9,"
    " updated_at = ?10, base_fields = ?11 WHERE seq = ?1";

/* The same write for the events that leave fields and base_fields as they were (claim,
 * adopt, done, release, retry, ...: all but fold and conflict): the row's CHECK
 * constraints on those two JSON columns (json_valid) then need not run again. */
static const char SQL_ROW_PUT_STATE[] =
    "UPDATE outbox SET state = ?2, lease_owner = ?3, attempts = ?5,"
    " next_attempt_at = ?6, last_error_code = ?7, last_error = ?8, base_modstamp = ?9,"
    " updated_at = ?10 WHERE seq = ?1";

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void row_clear(op_row *r)
{
    free(r->owner);
    free(r->fields);
    free(r->code);
    free(r->msg);
    free(r->base_modstamp);
    free(r->base_fields);
    memset(r, 0, sizeof *r);
}

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = dup_or_null(src);
}

static void row_copy(op_row *dst, const op_row *src)
{
    *dst = *src;
    dst->owner = dup_or_null(src->owner);
    dst->fields = dup_or_null(src->fields);
    dst->code = dup_or_null(src->code);
    dst->msg = dup_or_null(src->msg);
    dst->base_modstamp = dup_or_null(src->base_modstamp);
    dst->base_fields = dup_or_null(src->base_fields);
}

static sfa_status row_get(sfa_agent *a, int64_t seq, op_row *r, bool *found)
{
    sqlite3_stmt *st = store_stmt(a, SQL_ROW_GET);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    bool known = true;
    if (*found) {
        known = store_op_state_parse((const char *)sqlite3_column_text(st, 0), &r->state);
        r->owner = store_col_dup(st, 1);
        r->fields = store_col_dup(st, 2);
        r->attempts = sqlite3_column_int(st, 3);
        r->next_attempt_at = sqlite3_column_int64(st, 4);
        r->code = store_col_dup(st, 5);
        r->msg = store_col_dup(st, 6);
        r->base_modstamp = store_col_dup(st, 7);
        r->updated_at = sqlite3_column_int64(st, 8);
        r->base_fields = store_col_dup(st, 9);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "reading the outbox op");
    if (!SFA_ALWAYS(known)) /* the schema's CHECK constraint guarantees it */
        return store_fail(a, SFA_ECORRUPT, "outbox op %lld has an unknown state", (long long)seq);
    return SFA_OK;
}

static bool same_text(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

/* Write r over the row old was read from. */
static sfa_status row_put(sfa_agent *a, int64_t seq, const op_row *old, const op_row *r)
{
    bool json_same =
        same_text(old->fields, r->fields) && same_text(old->base_fields, r->base_fields);
    sqlite3_stmt *st = store_stmt(a, json_same ? SQL_ROW_PUT_STATE : SQL_ROW_PUT);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, store_op_state_name(r->state), -1, SQLITE_STATIC);
    store_bind_text_or_null(st, 3, r->owner);
    if (!json_same)
        store_bind_text_or_null(st, 4, r->fields);
    sqlite3_bind_int(st, 5, r->attempts);
    sqlite3_bind_int64(st, 6, r->next_attempt_at);
    store_bind_text_or_null(st, 7, r->code);
    store_bind_text_or_null(st, 8, r->msg);
    store_bind_text_or_null(st, 9, r->base_modstamp);
    sqlite3_bind_int64(st, 10, r->updated_at);
    if (!json_same)
        store_bind_text_or_null(st, 11, r->base_fields);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "writing the outbox op");
}

/* S1-S3 on the row about to be written (old is the row as it was). */
static bool row_is_consistent(const op_row *old, const op_row *r, store_op_event ev)
{
    bool s1 = (r->state == STORE_OP_INFLIGHT) == (r->owner != NULL);
    bool s2 = (r->state != STORE_OP_DEAD && r->state != STORE_OP_CONFLICT) || r->code != NULL;
    bool s3 = ev == STORE_EV_USER_RETRY ? r->attempts == 0 : r->attempts >= old->attempts;
    return s1 && s2 && s3;
}

/* Does the op stand where the event applies (state, owner, claimed fields)? */
static bool precondition_holds(const transition *t, const op_row *r, const store_op_change *c)
{
    if (!(t->from & BIT(r->state)))
        return false;
    if (t->ours && !(r->owner && c->run_id && strcmp(r->owner, c->run_id) == 0))
        return false;
    if (c->event == STORE_EV_CLAIM) {
        bool same = (r->fields == NULL) == (c->expect_fields == NULL) &&
                    (!r->fields || strcmp(r->fields, c->expect_fields) == 0);
        if (!same)
            return false; /* a local write folded into it since it was read */
    }
    if ((c->event == STORE_EV_ORPHAN || c->event == STORE_EV_DUE_NOW) && r->owner)
        return false;
    return !(c->event == STORE_EV_FOLD && r->owner);
}

/* The row after the event (r holds the old row on entry). */
static void next_row(op_row *r, const store_op_change *c, int64_t now)
{
    const transition *t = &table[c->event];
    if (c->event != STORE_EV_FOLD) /* T2 keeps the state: a dead create stays dead */
        r->state = t->to;
    if (c->event != STORE_EV_ADOPT) /* S4 */
        r->updated_at = now;
    switch (c->event) {
    case STORE_EV_FOLD:
        set_str(&r->fields, c->fields);
        if (c->base_fields)
            set_str(&r->base_fields, c->base_fields);
        return;
    case STORE_EV_CLAIM:
    case STORE_EV_ADOPT:
        set_str(&r->owner, c->run_id);
        return;
    case STORE_EV_DONE:
    case STORE_EV_RELEASE:
        set_str(&r->owner, NULL);
        if (c->event == STORE_EV_DONE) {
            set_str(&r->code, NULL);
            set_str(&r->msg, NULL);
        }
        return;
    case STORE_EV_RETRY:
        set_str(&r->owner, NULL);
        r->attempts++;
        r->next_attempt_at = c->next_attempt_at;
        set_str(&r->code, c->code);
        set_str(&r->msg, c->msg);
        if (c->max_attempts > 0 && r->attempts >= c->max_attempts) {
            char *why = xasprintf("gave up after %d attempts; last error %s: %s", r->attempts,
                                  c->code ? c->code : "?", c->msg ? c->msg : "");
            r->state = STORE_OP_DEAD;
            set_str(&r->code, "TOO_MANY_ATTEMPTS");
            free(r->msg);
            r->msg = why;
        }
        return;
    case STORE_EV_DEAD:
    case STORE_EV_CONFLICT:
    case STORE_EV_ORPHAN:
        set_str(&r->owner, NULL);
        set_str(&r->code, c->code);
        set_str(&r->msg, c->msg);
        if (c->base_modstamp)
            set_str(&r->base_modstamp, c->base_modstamp);
        if (c->base_fields) /* T9: the op now stands against the server's values */
            set_str(&r->base_fields, c->base_fields);
        return;
    case STORE_EV_USER_RETRY:
        r->attempts = 0;
        r->next_attempt_at = 0;
        set_str(&r->code, NULL);
        set_str(&r->msg, NULL);
        return;
    case STORE_EV_DUE_NOW:
        r->next_attempt_at = 0; /* attempts and the last error stay: history, not reset */
        return;
    case STORE_EV_DISCARD:
        set_str(&r->code, "DISCARDED");
        set_str(&r->msg, "discarded by the user");
        return;
    case STORE_EV_COUNT:
        return; /* refused by store_op_transition before it gets here */
    }
}

/* An op that just became dead or conflict waits for a person: say so once, with its
 * reason, when the transaction that made the change commits (store/person_log.c P1); a run
 * that finds it still dead says nothing more. */
static void log_needs_person(sfa_agent *a, int64_t seq, const op_row *old, const op_row *r)
{
    bool person = r->state == STORE_OP_DEAD || r->state == STORE_OP_CONFLICT;
    if (!person || old->state == r->state)
        return;
    store_person_note(a, xasprintf("outbox op %lld is %s: %s: %s (see `sfagent outbox show %lld`)",
                                   (long long)seq, store_op_state_name(r->state),
                                   r->code ? r->code : "?", r->msg ? r->msg : "", (long long)seq));
}

sfa_status store_op_transition(sfa_agent *a, const store_op_change *c, store_op_state *to,
                               bool *changed)
{
    *changed = false;
    if (!SFA_ALWAYS((unsigned)c->event < sizeof table / sizeof *table))
        return store_fail(a, SFA_ESTATE, "unknown outbox op event %d", (int)c->event);
    const transition *t = &table[c->event];
    op_row old = {0}, r = {0};
    bool found = false;
    sfa_status s = row_get(a, c->seq, &old, &found);
    if (s != SFA_OK || !found || !precondition_holds(t, &old, c)) {
        if (s == SFA_OK && !SFA_ALWAYS(t->race_ok && found))
            s = store_fail(a, SFA_ESTATE, "outbox op %lld: event %d does not apply to a %s op",
                           (long long)c->seq, (int)c->event,
                           found ? store_op_state_name(old.state) : "missing");
        if (to)
            *to = old.state;
        row_clear(&old);
        row_clear(&r);
        return s;
    }
    row_copy(&r, &old);
    next_row(&r, c, time_now_ms());
    if (!SFA_ALWAYS(row_is_consistent(&old, &r, c->event)))
        s = store_fail(a, SFA_ESTATE, "outbox op %lld: event %d would break S1-S3",
                       (long long)c->seq, (int)c->event);
    if (s == SFA_OK)
        s = row_put(a, c->seq, &old, &r);
    *changed = s == SFA_OK;
    if (*changed)
        log_needs_person(a, c->seq, &old, &r);
    if (to)
        *to = r.state;
    row_clear(&old);
    row_clear(&r);
    return s;
}

/* ---- T1, and the bulk transitions ---- */

static const char SQL_ENQUEUE[] =
    "INSERT INTO outbox (op_id, sobject, local_id, kind, fields, ext_field, ext_value, "
    "base_modstamp, created_at, updated_at, base_fields)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)";
static const char SQL_CANCEL[] =
    "DELETE FROM outbox WHERE local_id = ?1 AND state = 'pending' AND lease_owner IS NULL"
    " AND attempts = 0";
static const char SQL_LEFT_AFTER_CANCEL[] = "SELECT count(*) FROM outbox WHERE local_id = ?1";
static const char SQL_DROP_RECORD_OPS[] =
    "DELETE FROM outbox WHERE local_id = ?1 AND lease_owner IS NULL";
static const char SQL_FORGET_DONE[] = "DELETE FROM outbox WHERE local_id = ?1 AND state = 'done'";
static const char SQL_PRUNE[] = "DELETE FROM outbox WHERE state = 'done' AND updated_at < ?1";

sfa_status store_op_enqueue(sfa_agent *a, const store_op_new *o, int64_t now)
{
    sqlite3_stmt *st = store_stmt(a, SQL_ENQUEUE);
    if (!st)
        return store_last_status(a);
    char *op_id = store_new_op_id();
    sqlite3_bind_text(st, 1, op_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, o->kind, -1, SQLITE_STATIC);
    store_bind_text_or_null(st, 5, o->fields);
    store_bind_text_or_null(st, 6, o->ext_field);
    store_bind_text_or_null(st, 7, o->ext_value);
    store_bind_text_or_null(st, 8, o->base_modstamp);
    sqlite3_bind_int64(st, 9, now);
    store_bind_text_or_null(st, 10, o->base_fields);
    sfa_status s = store_step_done(a, st, "adding the outbox op");
    free(op_id);
    if (s == SFA_OK)
        CRASH_POINT("store.after_outbox_insert");
    return s;
}

/* Run a bulk removal of a record's ops, then check none is left (the caller checked
 * that every op qualifies). */
static sfa_status remove_record_ops(sfa_agent *a, const char *sql, const char *local_id)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    sfa_status s = store_step_done(a, st, "removing the record's ops");
    if (s != SFA_OK || !(st = store_stmt(a, SQL_LEFT_AFTER_CANCEL)))
        return s != SFA_OK ? s : store_last_status(a);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t left = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_fail_sqlite(a, rc, "reading the outbox");
    if (!SFA_ALWAYS(left == 0))
        return store_fail(a, SFA_ESTATE, "record %s has ops that may be in flight", local_id);
    return SFA_OK;
}

sfa_status store_op_cancel_record(sfa_agent *a, const char *local_id)
{
    return remove_record_ops(a, SQL_CANCEL, local_id); /* T12: never-sent ops only */
}

sfa_status store_op_drop_record(sfa_agent *a, const char *local_id)
{
    return remove_record_ops(a, SQL_DROP_RECORD_OPS, local_id); /* T11: none inflight */
}

sfa_status store_op_forget_record(sfa_agent *a, const char *local_id)
{
    /* T13 for one record: only done ops go; any other op left is a caller's bug (checked). */
    return remove_record_ops(a, SQL_FORGET_DONE, local_id);
}

sfa_status store_op_prune(sfa_agent *a, int64_t older_than_ms, size_t *removed)
{
    sqlite3_stmt *st = store_stmt(a, SQL_PRUNE);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_int64(st, 1, older_than_ms);
    sfa_status s = store_step_done(a, st, "pruning done ops");
    if (s == SFA_OK && removed)
        *removed = (size_t)sqlite3_changes(store_db(a));
    return s;
}

/* T15 (bulk): a clock that was ahead when a backoff was written must not strand an op:
 * a pending op whose next attempt lies further ahead than any backoff can reach is due
 * now. Only the schedule changes (state, attempts and note stay). */
sfa_status store_outbox_due_beyond(sfa_agent *a, int64_t now_ms, int64_t horizon_ms,
                                   size_t *changed)
{
    sqlite3_stmt *st = NULL;
    *changed = 0;
    int src = sqlite3_prepare_v2(store_db(a),
                                 "UPDATE outbox SET next_attempt_at = ?1 WHERE state = 'pending'"
                                 " AND next_attempt_at > ?1 + ?2",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_int64(st, 2, horizon_ms);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store_fail_sqlite(a, src, "reschedule ops beyond the backoff horizon");
    *changed = (size_t)sqlite3_changes(store_db(a)); /* I4 */
    return SFA_OK;
}
