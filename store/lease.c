/* The run lease and the run-level pause, both rows in the database (migrations/0002_sync).
 *
 * A lease row rather than a lock file: it lives in the same transactional store as the
 * outbox, so "take the lease" and "claim ops" are ordered by SQLite itself, and it works
 * for every process that can open the database.
 *
 * Invariants:
 *   I1. At most one unexpired lease row whose pid is alive exists; only its owner claims
 *       ops (store/op_sync.c) while it holds it.
 *   I2. The lease is taken and renewed in BEGIN IMMEDIATE transactions, so two runs that
 *       start together serialise on SQLite's write lock and one of them sees the other.
 *   I3. A lease whose holder died (expired, or its pid is gone on this host) may be taken
 *       over; its inflight ops are then resolved as unknown outcomes (sync/engine/reconcile.c).
 *       So may a lease left under this very process's pid while no run of this process
 *       is active: an earlier run here that could not release it (disk full), which must
 *       not block a daemon's next runs until expiry.
 *   I4. Times written under a clock that was ahead do not strand anything: the engine
 *       ignores a pause past its cap (and store/op_state.c makes such pending ops due).
 */
#include "store/run.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sql.h"
#include "util/alloc.h"
#include "util/timeutil.h"

static const char sql_lease_get[] =
    "SELECT owner, pid, host, expires_at FROM sync_lease WHERE id = 1";
static const char sql_lease_put[] = "INSERT INTO sync_lease (id, owner, pid, host, taken_at, "
                                    "expires_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)"
                                    " ON CONFLICT (id) DO UPDATE SET owner = ?1, pid = ?2, host = "
                                    "?3, taken_at = ?4, expires_at = ?5";

/* Runs between store_lease_acquire and store_lease_release in this process. A process-wide
 * fact like the pid itself (the one mutable global here): with two runs in
 * one process on different handles, a lease under our pid may belong to the other one. */
static atomic_int runs_in_process;

static void host_name(char buf[256])
{
    if (gethostname(buf, 255) != 0)
        buf[0] = '\0';
    buf[255] = '\0';
}

/* Is the holder of a lease row still running? Only knowable for this host. */
bool store_lease_holder_alive(long pid, const char *host)
{
    char me[256];
    host_name(me);
    if (strcmp(host, me) != 0 || pid <= 0)
        return true; /* another host: trust expires_at only */
    if ((pid_t)pid == getpid())
        return atomic_load(&runs_in_process) > 0; /* I3: ours, left by an ended run */
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* Within an open transaction: is the lease held by someone else (alive)? */
static sfa_status check_holder(sfa_agent *a, const char *run_id, int64_t now)
{
    sqlite3_stmt *st = NULL;
    sfa_status rc = SFA_OK;
    int src = sqlite3_prepare_v2(store_db(a), sql_lease_get, -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(a, src, "read sync lease");
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const char *owner = (const char *)sqlite3_column_text(st, 0);
        long pid = (long)sqlite3_column_int64(st, 1);
        const char *host = (const char *)sqlite3_column_text(st, 2);
        int64_t expires = sqlite3_column_int64(st, 3);
        bool mine = owner && strcmp(owner, run_id) == 0;
        /* I3: expired or dead holders lose the lease. */
        if (!mine && expires > now && store_lease_holder_alive(pid, host ? host : ""))
            rc = store_fail(a, SFA_EBUSY, "another sync is running (pid %ld)", pid);
    } else if (src != SQLITE_DONE) {
        rc = store_fail_sqlite(a, src, "read sync lease");
    }
    sqlite3_finalize(st);
    return rc;
}

static sfa_status put_lease(sfa_agent *a, const char *run_id, int64_t now, int64_t lease_ms)
{
    sqlite3_stmt *st = NULL;
    char host[256];
    host_name(host);
    int src = sqlite3_prepare_v2(store_db(a), sql_lease_put, -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)getpid());
        sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        sqlite3_bind_int64(st, 5, now + lease_ms);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "write sync lease");
}

static sfa_status take(sfa_agent *a, const char *run_id, int64_t lease_ms)
{
    int64_t now = time_now_ms();
    sfa_status rc = store_tx_begin(a); /* I2 */
    if (rc != SFA_OK)
        return rc;
    rc = check_holder(a, run_id, now);
    if (rc == SFA_OK)
        rc = put_lease(a, run_id, now, lease_ms);
    if (rc == SFA_OK)
        rc = store_tx_commit(a);
    else
        store_tx_rollback(a);
    return rc;
}

sfa_status store_lease_acquire(sfa_agent *a, const char *run_id, int64_t lease_ms)
{
    sfa_status rc = take(a, run_id, lease_ms);
    if (rc == SFA_OK)
        atomic_fetch_add(&runs_in_process, 1);
    return rc;
}

sfa_status store_lease_renew(sfa_agent *a, const char *run_id, int64_t lease_ms)
{
    /* Renewing is taking again as the same owner; if a takeover happened meanwhile (we
     * were paused past expiry) this fails with EBUSY and the run stops. */
    return take(a, run_id, lease_ms);
}

void store_lease_release(sfa_agent *a, const char *run_id)
{
    atomic_fetch_sub(&runs_in_process, 1); /* the run has ended, released or not (I3) */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_db(a), "DELETE FROM sync_lease WHERE id = 1 AND owner = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        (void)sqlite3_step(st); /* best effort: an unreleased lease just expires (I3) */
    }
    sqlite3_finalize(st);
}

sfa_status store_pause_set(sfa_agent *a, int64_t until_ms, const char *source, const char *reason)
{
    sqlite3_stmt *st = NULL;
    char *text = xasprintf("%s: %s", source ? source : "", reason ? reason : "");
    const char *sql =
        until_ms == 0
            ? "DELETE FROM sync_pause WHERE scope = 'run'"
            : "INSERT INTO sync_pause (scope, until_at, reason, failures, set_at)"
              " VALUES ('run', ?1, ?2, 1, ?3) ON CONFLICT (scope) DO UPDATE SET until_at = ?1,"
              " reason = ?2, failures = failures + 1, set_at = ?3";
    int src = sqlite3_prepare_v2(store_db(a), sql, -1, &st, NULL);
    if (src == SQLITE_OK && until_ms != 0) {
        sqlite3_bind_int64(st, 1, until_ms);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, time_now_ms());
    }
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    sqlite3_finalize(st);
    free(text);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "write sync pause");
}

sfa_status store_pause_get(sfa_agent *a, int64_t *until_ms, char **reason, int *failures)
{
    sqlite3_stmt *st = NULL;
    *until_ms = 0;
    if (reason)
        *reason = NULL;
    if (failures)
        *failures = 0;
    int src = sqlite3_prepare_v2(store_db(a),
                                 "SELECT until_at, reason, failures FROM sync_pause"
                                 " WHERE scope = 'run'",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            *until_ms = sqlite3_column_int64(st, 0);
            if (reason)
                *reason = xstrdup((const char *)sqlite3_column_text(st, 1));
            if (failures)
                *failures = sqlite3_column_int(st, 2);
            src = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, "read sync pause");
}
