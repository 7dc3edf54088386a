/* Noticing another process's writes cheaply (store/watch.c): what `sfagent run` checks
 * every half second instead of reading the outbox. */
#ifndef SFA_STORE_WATCH_H
#define SFA_STORE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* SQLite's PRAGMA data_version for this handle: a number that changes whenever another
 * connection (another process, or another handle of this one) commits to the file, and
 * not when this handle commits. Costs no table read. */
sfa_status store_data_version(sfa_agent *a, int64_t *out);
/* Earliest next_attempt_at of a pending op (ms since the epoch; 0 is "due at once") into
 * *out, and whether any op is pending at all into *any. One index probe (outbox_ready),
 * whatever the outbox's size. */
sfa_status store_outbox_next_due(sfa_agent *a, bool *any, int64_t *out);

#endif
