/* Process-wide SQLite settings the sfagent program chooses for itself (sfagent/global.h).
 * The library never applies them on its own: they change SQLite for the whole process,
 * which is the embedder's to decide. */
#include <sqlite3.h>

#include "sfagent/global.h"
#include "store/store.h"

sfa_status sfa_global_lean_allocations(void)
{
    /* SQLITE_MISUSE: SQLite is initialised already (a connection was opened), and
     * sqlite3_config() may then no longer change anything. */
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        return store_error_set(SFA_ESTATE, "sfa_global_lean_allocations: SQLite is already in "
                                           "use in this process; nothing changed");
    return SFA_OK;
}
