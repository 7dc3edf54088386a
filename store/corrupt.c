/* The corruption flag (issue 8 item 15): once SQLite reports a damaged file
 * (SQLITE_CORRUPT, SQLITE_NOTADB) or a quick_check after an unclean session fails, the
 * handle refuses every write transaction, so the damage is not spread by new writes,
 * while reads keep working (whatever is still readable can be exported). The flag is
 * also kept in meta ('corrupt'), best effort, so later processes refuse writes too and
 * `sfagent status` shows it.
 *
 * Invariants:
 * C1. A flagged handle starts no write transaction (store_tx_begin) and writes no
 *     session row; the one write it attempts is the flag itself.
 * C2. The flag is written through a second, short-lived connection in autocommit: a
 *     write transaction of the handle that is rolled back cannot take it along, and a
 *     read-only handle can leave it too (the one exception to store/agent.c I7). When
 *     that connection cannot write (busy, read-only file), sfa_agent_free tries again.
 * C3. Only a handle whose open got past the identity checks persists the flag: a file
 *     that is not an sfagent database is never written (store/agent.c I1).
 * C4. Only a person clears the flag (after restoring or checking the file):
 *     DELETE FROM meta WHERE key = 'corrupt'.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/alloc.h"

static const char SQL_GET[] = "SELECT value FROM meta WHERE key = 'corrupt'";
static const char SQL_SET[] = "INSERT OR REPLACE INTO meta (key, value) VALUES ('corrupt', ?1)";

/* C2, C3. */
void store_corrupt_save(sfa_agent *a)
{
    store_corruption *c = store_corruption_of(a);
    sqlite3 *db = store_db(a);
    if (!c->reason || c->saved || !c->identified || !db)
        return;
    const char *path = sqlite3_db_filename(db, "main");
    sqlite3 *w = NULL;
    sqlite3_stmt *s = NULL;
    if (path && *path && sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(w, 250);
        if (sqlite3_prepare_v2(w, SQL_SET, -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, c->reason, -1, SQLITE_STATIC);
            c->saved = sqlite3_step(s) == SQLITE_DONE;
        }
    }
    sqlite3_finalize(s);
    sqlite3_close_v2(w);
}

void store_corrupt_mark(sfa_agent *a, const char *reason)
{
    store_corruption *c = store_corruption_of(a);
    if (!c->reason)
        c->reason = xstrdup(reason);
    store_corrupt_save(a);
}

void store_corrupt_load(sfa_agent *a)
{
    store_corruption *c = store_corruption_of(a);
    c->identified = true;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(a), SQL_GET, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && !c->reason) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        c->reason = xstrdup(v ? (const char *)v : "flagged");
        c->saved = true;
    }
    sqlite3_finalize(s);
    store_corrupt_save(a); /* a flag raised during open */
}

bool store_is_corrupt(sfa_agent *a)
{
    return store_corruption_of(a)->reason != NULL;
}

/* C1: the refusal, naming the problem and the way out. */
sfa_status store_corrupt_refuse(sfa_agent *a)
{
    return store_fail(a, SFA_ECORRUPT,
                      "the database is damaged (%s); writes are refused so the damage does not "
                      "spread (reads still work). Restore it from a backup, or check it with "
                      "sqlite3 FILE 'PRAGMA integrity_check' and once repaired clear the flag "
                      "with sqlite3 FILE \"DELETE FROM meta WHERE key = 'corrupt'\"",
                      store_corruption_of(a)->reason);
}

const char *sfa_agent_corruption(const sfa_agent *agent)
{
    return agent ? store_corruption_of((sfa_agent *)agent)->reason : NULL;
}
