/* The SQLite side of the store, for the files of store/ (and the store's own tests) only: the
 * connection, statements, transactions, and SQLite error mapping. Every write
 * transaction is BEGIN IMMEDIATE (docs/sync-protocol.md#local-writes). */
#ifndef SFA_STORE_SQL_H
#define SFA_STORE_SQL_H

#include <sqlite3.h>

#include "store/store.h"

/* The connection (borrowed). */
sqlite3 *store_db(sfa_agent *a);

/* Map a SQLite result code to a status (SQLITE_FULL -> SFA_EFULL, SQLITE_READONLY ->
 * SFA_EREADONLY, SQLITE_BUSY/LOCKED -> SFA_EBUSY, SQLITE_CORRUPT/NOTADB -> SFA_ECORRUPT,
 * SQLITE_IOERR* -> SFA_EIO, ...), record "<what>: <sqlite message>" and return it. */
sfa_status store_fail_sqlite(sfa_agent *a, int rc, const char *what);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Rollback is safe to call when no transaction is
 * open. A failed COMMIT leaves nothing half-applied (SQLite rolls back). */
sfa_status store_tx_begin(sfa_agent *a);
sfa_status store_tx_commit(sfa_agent *a);
void store_tx_rollback(sfa_agent *a);

/* A prepared statement for sql, cached on the handle for its lifetime (sql must be a
 * string with static storage: the cache is keyed by its address). Returned reset with
 * bindings cleared; the caller steps it and calls sqlite3_reset() when done. NULL on
 * failure (recorded on the handle; store_last_status() says which). */
sqlite3_stmt *store_stmt(sfa_agent *a, const char *sql);

/* Small statement helpers every store file shares. */
/* Column col of the current row as a new string (caller frees), NULL for SQL NULL. */
char *store_col_dup(sqlite3_stmt *st, int col);
/* Bind s, or NULL when s is NULL. */
void store_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
/* Step a statement that returns no rows, reset it; a failure is recorded as "<what>: ...". */
sfa_status store_step_done(sfa_agent *a, sqlite3_stmt *st, const char *what);

/* The columns of records that hold a field of the JSON (migration 0013): each equals
 * json_extract(fields, '$.<Field>') of its row (store_check_invariants V7), so every
 * statement that writes records.fields writes them too, from the same JSON text j (an
 * SQL expression: a parameter, a column). SQLite parses a text once per statement for
 * all six paths (its JSON cache). The read indexes records_f_* are built on them. */
#define STORE_FIELD_COLS                                                                           \
    "f_status, f_ownerid, f_contactid, f_accountid, f_lastmodifieddate, f_createddate"
#define STORE_FIELD_VALUES(j)                                                                      \
    "json_extract(" j ", '$.Status'), json_extract(" j ", '$.OwnerId'), json_extract(" j           \
    ", '$.ContactId'), json_extract(" j ", '$.AccountId'), json_extract(" j                        \
    ", '$.LastModifiedDate'), json_extract(" j ", '$.CreatedDate')"
#define STORE_FIELD_SET(j)                                                                         \
    "f_status = json_extract(" j ", '$.Status'), f_ownerid = json_extract(" j                      \
    ", '$.OwnerId'), f_contactid = json_extract(" j ", '$.ContactId'), f_accountid = "             \
    "json_extract(" j ", '$.AccountId'), f_lastmodifieddate = json_extract(" j                     \
    ", '$.LastModifiedDate'), f_createddate = json_extract(" j ", '$.CreatedDate')"

#endif
