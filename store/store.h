/* Internals of the store shared by store/ and sync/ (never by agent/ or embedders). No
 * SQL crosses this header: the SQLite connection is store/'s alone (store/sql.h).
 *
 * struct sfa_agent is defined in store/agent.c. Errors are recorded on the handle (and as
 * the thread's last error) with store_fail() and the same status is returned, so callers
 * write
 *     return store_fail(a, SFA_EINVAL, "field name '%s' is not a valid API name", f);
 */
#ifndef SFA_STORE_STORE_H
#define SFA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* Record a failure message on the handle and as the thread's last error
 * (sfagent/error.h), and return st. */
sfa_status store_fail(sfa_agent *a, sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record a failure of a call that has no handle as the thread's last error; returns st. */
sfa_status store_error_set(sfa_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void store_clear_error(sfa_agent *a);

/* New ids. local ids: "loc-" + 26 Crockford base32 chars (48-bit ms time + 80 random
 * bits), so they sort by creation time and never look like a Salesforce Id or a
 * CaseNumber. op ids: "op-" + the same 26 chars. Caller frees. */
char *store_new_local_id(void);
char *store_new_op_id(void);

/* Check the outbox and mirror invariants V1-V6 (store/invariants.c). False on the first
 * violation, with *why (caller frees; may be NULL) naming the invariant and the op or
 * record that breaks it. */
bool store_check_invariants(sfa_agent *a, char **why);

/* Status of the last failure recorded on the handle (SFA_OK if none). */
sfa_status store_last_status(const sfa_agent *a);
/* True when the handle was opened read-only. */
bool store_is_read_only(const sfa_agent *a);

/* The corruption flag of a handle (store/corrupt.c). */
typedef struct store_corruption {
    char *reason;    /* what was found, or NULL: not flagged */
    bool saved;      /* the flag is in meta */
    bool identified; /* the open got past the identity checks (C3) */
} store_corruption;
store_corruption *store_corruption_of(sfa_agent *a);
/* Flag the handle (the first reason stays) and try to keep it in meta (C2). */
void store_corrupt_mark(sfa_agent *a, const char *reason);
/* At open, after the identity checks: read the flag from meta; save one raised earlier. */
void store_corrupt_load(sfa_agent *a);
/* Try again to keep the flag in meta (sfa_agent_free). */
void store_corrupt_save(sfa_agent *a);
bool store_is_corrupt(sfa_agent *a);

/* "Needs a person" log lines held until COMMIT (store/person_log.c). */
typedef struct store_person_notes {
    char **lines;
    size_t len, cap;
} store_person_notes;
store_person_notes *store_person_notes_of(sfa_agent *a);
/* Hold line (ownership moves) until the open transaction commits; log it now when none
 * is open (P2). */
void store_person_note(sfa_agent *a, char *line);
/* Before a savepoint: the count to go back to if it is rolled back. */
size_t store_person_notes_mark(sfa_agent *a);
void store_person_notes_drop_after(sfa_agent *a, size_t mark);
/* After COMMIT: log the held lines and forget them (store_tx_commit). */
void store_person_notes_flush(sfa_agent *a);
void store_person_notes_free(store_person_notes *n);
/* SFA_ECORRUPT with the message that names the damage and the way to recover. */
sfa_status store_corrupt_refuse(sfa_agent *a);

#endif
