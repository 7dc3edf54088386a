/* Internals of the store shared by store/ and sync/ (never by agent/ or embedders).
 *
 * struct sfa_agent is defined in store/agent.c. Every write transaction is
 * BEGIN IMMEDIATE (RELIABILITY.md 1.3). Errors are recorded on the handle with
 * store_fail*() and the same status is returned, so callers write
 *     return store_fail(a, SFA_EINVAL, "field name '%s' is not a valid API name", f);
 */
#ifndef SFA_STORE_STORE_H
#define SFA_STORE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* The connection (borrowed). */
sqlite3 *store_db(sfa_agent *a);

/* Record a failure message on the handle and return st. */
sfa_status store_fail(sfa_agent *a, sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Map a SQLite result code to a status (SQLITE_FULL -> SFA_EFULL, SQLITE_READONLY ->
 * SFA_EREADONLY, SQLITE_BUSY/LOCKED -> SFA_EBUSY, SQLITE_CORRUPT/NOTADB -> SFA_ECORRUPT,
 * SQLITE_IOERR* -> SFA_EIO, ...), record "<what>: <sqlite message>" and return it. */
sfa_status store_fail_sqlite(sfa_agent *a, int rc, const char *what);
void store_clear_error(sfa_agent *a);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Rollback is safe to call when no transaction is
 * open. A failed COMMIT leaves nothing half-applied (SQLite rolls back). */
sfa_status store_tx_begin(sfa_agent *a);
sfa_status store_tx_commit(sfa_agent *a);
void store_tx_rollback(sfa_agent *a);

/* New ids. local ids: "loc-" + 26 Crockford base32 chars (48-bit ms time + 80 random
 * bits), so they sort by creation time and never look like a Salesforce Id or a
 * CaseNumber. op ids: "op-" + the same 26 chars. Caller frees. */
char *store_new_local_id(void);
char *store_new_op_id(void);

/* Check the outbox and mirror invariants V1-V6 (store/invariants.c). False on the first
 * violation, with *why (caller frees; may be NULL) naming the invariant and the op or
 * record that breaks it. */
bool store_check_invariants(sfa_agent *a, char **why);

/* A prepared statement for sql, cached on the handle for its lifetime (sql must be a
 * string with static storage: the cache is keyed by its address). Returned reset with
 * bindings cleared; the caller steps it and calls sqlite3_reset() when done. NULL on
 * failure (recorded on the handle; store_last_status() says which). */
sqlite3_stmt *store_stmt(sfa_agent *a, const char *sql);
/* Status of the last failure recorded on the handle (SFA_OK if none). */
sfa_status store_last_status(const sfa_agent *a);
/* True when the handle was opened read-only. */
bool store_is_read_only(const sfa_agent *a);

#endif
