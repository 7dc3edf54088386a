/* The "needs a person" log lines (an op became dead or conflict, store/op_state.c) held
 * until the transaction that made the change commits.
 *
 * A transition is written inside the caller's transaction; logging it there would log a
 * change a rollback then undoes (disk full at COMMIT, a failure later in the batch, a
 * savepoint rolled back in store/op_sync.c I8), and the next run, making the same change
 * again, would log the same op a second time. So the line is kept on the handle and
 * written by store_tx_commit() once COMMIT succeeded.
 *
 * Invariants:
 *   P1. A held line is written once, after the COMMIT that made its change durable, or
 *       never (store_tx_rollback, store_person_notes_drop_after for a savepoint).
 *   P2. Outside a transaction (autocommit) the statement has committed when it returns:
 *       the line is written at once.
 */
#include <stdlib.h>

#include "store/sql.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/log.h"

void store_person_note(sfa_agent *a, char *line)
{
    if (sqlite3_get_autocommit(store_db(a))) { /* P2 */
        log_warn("%s", line);
        free(line);
        return;
    }
    store_person_notes *n = store_person_notes_of(a);
    if (n->len == n->cap) {
        n->cap = n->cap ? 2 * n->cap : 8;
        n->lines = xrealloc(n->lines, n->cap * sizeof *n->lines);
    }
    n->lines[n->len++] = line; /* ownership moves to the handle */
}

size_t store_person_notes_mark(sfa_agent *a)
{
    return store_person_notes_of(a)->len;
}

void store_person_notes_drop_after(sfa_agent *a, size_t mark)
{
    store_person_notes *n = store_person_notes_of(a);
    while (n->len > mark)
        free(n->lines[--n->len]);
}

void store_person_notes_flush(sfa_agent *a)
{
    store_person_notes *n = store_person_notes_of(a);
    for (size_t i = 0; i < n->len; i++) { /* P1: in the order the changes were made */
        log_warn("%s", n->lines[i]);
        free(n->lines[i]);
    }
    n->len = 0;
}

void store_person_notes_free(store_person_notes *n)
{
    for (size_t i = 0; i < n->len; i++)
        free(n->lines[i]);
    free(n->lines);
    n->lines = NULL;
    n->len = n->cap = 0;
}
