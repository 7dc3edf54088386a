/* Cheap change detection for the daemon (store/watch.h). PRAGMA data_version is the
 * documented way for a connection to learn that someone else committed
 * (https://www.sqlite.org/pragma.html#pragma_data_version): in WAL mode it reads the
 * shared-memory header, so polling it twice a second costs no page of any table. What
 * changed is then asked with one index probe, never a scan of the outbox. */
#include "store/watch.h"

#include <stddef.h>

#include "store/sql.h"

static sfa_status one_int(sfa_agent *a, const char *sql, const char *what, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int src = sqlite3_prepare_v2(store_db(a), sql, -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        src = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, src, what);
}

sfa_status store_data_version(sfa_agent *a, int64_t *out)
{
    return one_int(a, "PRAGMA data_version", "read data_version", out);
}

sfa_status store_outbox_next_due(sfa_agent *a, bool *any, int64_t *out)
{
    /* min() over the (state, next_attempt_at, seq) index is one seek; -1 marks "none". */
    sfa_status st =
        one_int(a, "SELECT coalesce(min(next_attempt_at), -1) FROM outbox WHERE state = 'pending'",
                "read the next due op", out);
    *any = st == SFA_OK && *out >= 0;
    if (!*any)
        *out = 0;
    return st;
}
