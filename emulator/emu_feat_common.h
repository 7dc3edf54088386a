/* Private to the emulator's feature modules (emu_query.c, emu_collections.c,
 * emu_composite.c, emu_replication.c, emu_bulk.c): their shared per-emulator state,
 * kept in the emu_feature_state() slot, and small helpers they all use.
 *
 * Everything here runs with the emulator lock held (emu_internal.h). */
#ifndef SFA_EMU_FEAT_COMMON_H
#define SFA_EMU_FEAT_COMMON_H

#include "emu_internal.h"

#include <stdint.h>

/* Open query cursors kept at once; the oldest is dropped beyond this, and a page request
 * for it then answers INVALID_QUERY_LOCATOR, as an expired Salesforce cursor would.
 * (Salesforce has no such count limit since v56.0; this one bounds the emulator's memory.) */
#define FEAT_MAX_CURSORS 100
/* A cursor's life: Salesforce keeps query cursors and their results for 2 days. */
#define FEAT_CURSOR_LIFE_MS (2LL * 24 * 60 * 60 * 1000)

typedef struct feat_cursor {
    char id[19];        /* 18-char locator id, "01g..." */
    cJSON *records;     /* every row of the result, snapshot at query time */
    size_t total;       /* totalSize */
    int batch;          /* page size */
    uint64_t serial;    /* age, for dropping the oldest */
    int64_t created_ms; /* time_now_ms() when the query ran; expires FEAT_CURSOR_LIFE_MS on */
} feat_cursor;

typedef struct feat_job feat_job; /* emu_bulk.c */

typedef struct feat_state {
    feat_cursor cursors[FEAT_MAX_CURSORS];
    uint64_t cursor_serial;
    feat_job *jobs; /* Bulk API 2.0 ingest jobs, newest first */
    uint64_t job_serial;
    int txn_depth; /* >0 while an allOrNone transaction is open */
    bool poisoned; /* an inner allOrNone rollback had to defer to the outer txn */
} feat_state;

/* The state in emu_feature_state(e), created on first use. */
feat_state *feat_state_get(emu *e);
void feat_bulk_free_jobs(feat_state *st);

/* Per-record error object {"statusCode","message","fields":[...]} (collections style). */
cJSON *feat_record_error(const emu_dml_error *err);
/* Top-level REST error array [{"message","errorCode"[,"fields"]}] from a DML error. */
cJSON *feat_rest_error(const emu_dml_error *err);
void feat_dml_error_set(emu_dml_error *err, int status, const char *code, const char *message,
                        const char *field);

/* allOrNone transactions that nest under a composite allOrNone one: only the outermost
 * begin/commit/rollback reaches the store. feat_txn_rollback returns false when it could
 * not undo because an outer transaction owns the store's undo log (the outer one then
 * rolls everything back). */
void feat_txn_begin(emu *e);
void feat_txn_commit(emu *e);
bool feat_txn_rollback(emu *e);
/* Set when an inner rollback could not be done; the composite reads and clears it. */
bool feat_txn_take_poisoned(emu *e);

/* "/services/data/vNN.N" for the request's version. buf >= 32. */
void feat_version_prefix(double api_version, char buf[32]);
/* Split s on commas into a NULL-terminated array of trimmed, non-empty strings
 * (caller frees with feat_strv_free); *n gets the count. */
char **feat_split_csv_list(const char *s, size_t *n);
void feat_strv_free(char **v);

#endif
