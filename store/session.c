/* Unclean-shutdown detection (docs/sync-protocol.md#local-durability): every writable handle keeps
 * a row "session:<pid>:<nonce>" in meta while it is open. A row whose process no longer exists was
 * left by a session that ended without closing (crash, kill -9, power cut), so the next open runs
 * PRAGMA quick_check before trusting the file.
 *
 * Why rows per session and not one flag: several processes (a daemon and CLI commands)
 * open the file at once; one flag would be cleared by the first to close, or would make
 * every command run quick_check while a daemon is up.
 *
 * Invariants:
 * I1. A read-only handle never writes: it checks, but neither adds nor removes rows.
 * I2. Stale rows are removed in the same transaction that adds this handle's row, after
 *     quick_check passed.
 * I3. A failed quick_check flags the database (store/corrupt.c): the open goes on so
 *     reads work, and a flagged handle neither adds nor removes session rows.
 * I4. Session rows are committed with synchronous=OFF (no sync of their own), so a write
 *     command syncs once, for its own transaction. The row added is durable by the time
 *     anything it guards is: the handle's next durable commit appends to the WAL after it
 *     and its sync covers every frame before. A removal lost to a power cut leaves a row
 *     that costs one quick_check at a later open, the safe side.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define MAX_STALE 64

static const char SQL_SESSIONS[] = "SELECT key FROM meta WHERE key LIKE 'session:%'";
static const char SQL_ADD[] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)";
static const char SQL_DEL[] = "DELETE FROM meta WHERE key = ?1";

/* Is the process that wrote key gone? Unparsable keys count as gone. */
static bool is_stale(const char *key)
{
    char *end = NULL;
    long pid = strtol(key + strlen("session:"), &end, 10);
    if (pid <= 0 || *end != ':')
        return true;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static sfa_status quick_check(sfa_agent *a)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(store_db(a), "PRAGMA quick_check", -1, &s, NULL);
    sfa_status st = SFA_OK;
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(s, 0);
        if (!res || strcmp(res, "ok") != 0) {
            strbuf why = STRBUF_INIT;
            strbuf_addf(&why, "quick_check after an unclean shutdown: %s",
                        res ? res : "(no result)");
            store_corrupt_mark(a, strbuf_str(&why)); /* I3: reads go on, writes are refused */
            strbuf_free(&why);
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_OK && st == SFA_OK)
        st = store_fail_sqlite(a, rc, "checking database integrity");
    return st;
}

static sfa_status find_stale(sfa_agent *a, char **stale, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = store_stmt(a, SQL_SESSIONS);
    if (!st)
        return store_last_status(a);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (*n < MAX_STALE && is_stale(key))
            stale[(*n)++] = xstrdup(key);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading session rows");
}

static sfa_status step_key(sfa_agent *a, const char *sql, const char *key, const char *value)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "writing the session row");
}

static char *new_key(void)
{
    unsigned char nonce[6];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
        abort(); /* as in ids.c: no randomness, no safe key */
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "session:%ld:", (long)getpid());
    for (size_t i = 0; i < sizeof nonce; i++)
        strbuf_addf(&sb, "%02x", nonce[i]);
    return strbuf_detach(&sb);
}

/* I4: run a session-row change with synchronous=OFF, then restore the handle's level
 * (set at open, so no statement asks SQLite for it; the PRAGMA text holds only a digit
 * we format). */
static sfa_status unsynced(sfa_agent *a, sfa_status (*change)(sfa_agent *, void *), void *ctx)
{
    int mode = store_synchronous(a);
    if (mode < 1 || mode > 3)
        return change(a, ctx); /* cannot restore what is unknown: keep it */
    sqlite3_exec(store_db(a), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    sfa_status s = change(a, ctx);
    char restore[32];
    snprintf(restore, sizeof restore, "PRAGMA synchronous=%d", mode);
    int rc = sqlite3_exec(store_db(a), restore, NULL, NULL, NULL);
    if (rc != SQLITE_OK && s == SFA_OK)
        s = store_fail_sqlite(a, rc, "restoring synchronous");
    return s;
}

typedef struct session_add {
    char **stale;
    size_t n;
    const char *key;
} session_add;

/* I2. */
static sfa_status add_row(sfa_agent *a, void *ctx)
{
    const session_add *sa = ctx;
    char **stale = sa->stale;
    size_t n = sa->n;
    sfa_status s = store_tx_begin(a);
    for (size_t i = 0; i < n && s == SFA_OK; i++)
        s = step_key(a, SQL_DEL, stale[i], NULL);
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time_now_ms());
    if (s == SFA_OK)
        s = step_key(a, SQL_ADD, sa->key, now);
    if (s == SFA_OK)
        s = store_tx_commit(a);
    else
        store_tx_rollback(a);
    return s;
}

static sfa_status record_session(sfa_agent *a, char **stale, size_t n)
{
    char *key = new_key();
    session_add sa = {stale, n, key};
    sfa_status s = unsynced(a, add_row, &sa);
    if (s == SFA_OK)
        *store_session_key(a) = key; /* ownership moves to the handle */
    else
        free(key);
    return s;
}

sfa_status store_session_start(sfa_agent *a)
{
    char *stale[MAX_STALE];
    size_t n = 0;
    sfa_status s = find_stale(a, stale, &n);
    if (s == SFA_OK && n > 0 && !store_is_corrupt(a))
        s = quick_check(a);
    if (s == SFA_OK && !store_is_read_only(a) && !store_is_corrupt(a)) /* I1, I3 */
        s = record_session(a, stale, n);
    for (size_t i = 0; i < n; i++)
        free(stale[i]);
    return s;
}

static sfa_status remove_row(sfa_agent *a, void *key)
{
    return step_key(a, SQL_DEL, key, NULL);
}

void store_session_end(sfa_agent *a)
{
    char **key = store_session_key(a);
    if (!*key)
        return;
    /* I3: a flagged file is not written; the row left makes the next open check it. */
    if (store_is_corrupt(a)) {
        free(*key);
        *key = NULL;
        return;
    }
    /* Best effort: a row left behind only costs one quick_check at a later open. */
    unsynced(a, remove_row, *key);
    free(*key);
    *key = NULL;
}
