/**
 * @file sfagent/record.h
 * @brief Local writes and reads of records of any sObject (Case, Contact, ...).
 *
 * Every write is one SQLite transaction that inserts its outbox op and updates the
 * mirror row: when the call returns SFA_OK the write is durable and visible to reads.
 * On any failure nothing was written.
 *
 * A reference ("ref") names a record by its local id ("loc-..."), its 15- or 18-char
 * Salesforce Id, or, for Case, its CaseNumber. Unknown -> SFA_ENOTFOUND; more than one
 * match -> SFA_EAMBIGUOUS.
 *
 * Field maps are JSON objects of API field name -> scalar (string, number, bool, null).
 */
#ifndef SFAGENT_RECORD_H
#define SFAGENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sfagent/agent.h>

/**
 * Where a record stands with Salesforce: synced when every op of it is done (or it has
 * none), else the state of its newest op that is not done. Values are never renumbered.
 */
typedef enum sfa_record_sync_state {
    SFA_RECORD_SYNCED = 0,
    SFA_RECORD_PENDING = 1,
    SFA_RECORD_INFLIGHT = 2,
    SFA_RECORD_CONFLICT = 3,
    SFA_RECORD_DEAD = 4,
} sfa_record_sync_state;

/** "synced", "pending", "inflight", "conflict" or "dead"; "?" for a value outside the
 *  enum. Static. These are the names `sfagent --json` prints as syncState. */
const char *sfa_record_sync_state_name(sfa_record_sync_state state);

/** A record as the mirror holds it. All strings owned by the struct; NULL when unknown. */
typedef struct sfa_record {
    char *local_id;
    char *sobject;
    char *sf_id;        /**< 18-char Id ("externalId" in the seed connector); NULL until synced */
    char *case_number;  /**< Case only; NULL until reconciled */
    char *fields_json;  /**< local view: server base + pending local edits (JSON object) */
    char *sys_modstamp; /**< SystemModstamp of the last known server state */
    bool dirty;         /**< has local edits not yet in Salesforce */
    bool deleted;
    sfa_record_sync_state sync_state;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} sfa_record;

/** Free a record from sfa_record_get() and its strings. NULL is a no-op. */
void sfa_record_free(sfa_record *record);

/** A reference field of a record whose value names a cached, live record. Strings owned. */
typedef struct sfa_record_ref {
    char *field;    /**< the reference field, e.g. "ContactId" */
    char *sobject;  /**< the referenced record's sObject, e.g. "Contact" */
    char *local_id; /**< its local id */
    char *sf_id;    /**< its 18-char Id; NULL until its create synced */
    char *name;     /**< Name, else "FirstName LastName", Subject or CaseNumber; may be NULL */
} sfa_record_ref;

typedef struct sfa_record_ref_array {
    sfa_record_ref *items;
    size_t count;
} sfa_record_ref_array;

/**
 * The references of record (from sfa_record_get()) that resolve to records in the local
 * mirror, in field order: a value that is a local id, or a 15- or 18-char Salesforce Id
 * of a record of a pulled sObject. Values naming nothing cached (or a deleted record) are
 * left out. Reads only; no network. Free *out with sfa_record_ref_array_free().
 */
sfa_status sfa_record_references(sfa_record_ref_array *out, sfa_agent *agent,
                                 const sfa_record *record);

/** Free the items of an array from sfa_record_references(). NULL is a no-op. */
void sfa_record_ref_array_free(sfa_record_ref_array *array);

typedef struct sfa_record_array {
    sfa_record *items;
    size_t count;
} sfa_record_array;

/** Free the records of an array filled by sfa_record_list() (not array itself) and zero
 *  it. NULL is a no-op. */
void sfa_record_array_free(sfa_record_array *array);

/** Create a record locally; *out_local_id (caller frees) is its new local id. */
sfa_status sfa_record_create(char **out_local_id, sfa_agent *agent, const char *sobject,
                             const char *fields_json);

/** Change fields of an existing record. Only the given fields are sent later. */
sfa_status sfa_record_update(sfa_agent *agent, const char *sobject, const char *ref,
                             const char *fields_json);

/** Delete a record. Deleting a record whose create never synced removes both locally. */
sfa_status sfa_record_delete(sfa_agent *agent, const char *sobject, const char *ref);

/**
 * Insert or update by an External ID field: the local record whose ext_field equals
 * ext_value is updated, else a new one is made; sent as an upsert on that field.
 */
sfa_status sfa_record_upsert(char **out_local_id, sfa_agent *agent, const char *sobject,
                             const char *ext_field, const char *ext_value, const char *fields_json);

/** Read one record by ref; *out is the caller's (sfa_record_free()). */
sfa_status sfa_record_get(sfa_record **out, sfa_agent *agent, const char *sobject, const char *ref);

typedef struct sfa_list_options {
    unsigned version;        /**< SFA_LIST_OPTIONS_VERSION */
    const char *status;      /**< only records whose Status field equals this (NULL: any) */
    size_t limit;            /**< 0: no limit */
    const char *order_field; /**< field name, or NULL for newest first */
    bool descending;
    bool include_deleted;
} sfa_list_options;

#define SFA_LIST_OPTIONS_VERSION 1
#define SFA_LIST_OPTIONS_INIT                                                                      \
    {                                                                                              \
        SFA_LIST_OPTIONS_VERSION, NULL, 0, NULL, false, false                                      \
    }

sfa_status sfa_record_list(sfa_record_array *out, sfa_agent *agent, const char *sobject,
                           const sfa_list_options *opts);

/** Result of a JSON Lines import. */
typedef struct sfa_import_result {
    size_t imported;    /**< records written (committed) */
    size_t failed_line; /**< 1-based line of the first bad line, 0 if none */
} sfa_import_result;

/**
 * Import JSON Lines (one field-map object per line) read from fd, in batched
 * transactions of batch_size (0: default 500). A bad line stops the import: earlier
 * batches stay committed, the failing batch is rolled back whole, and the error
 * message names the line number. Blank lines are skipped.
 */
sfa_status sfa_record_import(sfa_import_result *out, sfa_agent *agent, const char *sobject, int fd,
                             size_t batch_size);

typedef struct sfa_import_options {
    unsigned version;  /**< SFA_IMPORT_OPTIONS_VERSION */
    size_t batch_size; /**< lines per transaction; 0: 500 */
    /** Path of the regular file fd reads. With it the import is resumable: the committed
     *  line count is kept per (path, size, hash of the first 64 KiB, sObject) in the batch's
     *  own transaction, and a later import of the same file skips those lines. NULL (a
     *  pipe, stdin): always from line 1, nothing remembered. */
    const char *path;
    bool restart; /**< forget the remembered count and import from line 1 */
} sfa_import_options;

#define SFA_IMPORT_OPTIONS_VERSION 1
#define SFA_IMPORT_OPTIONS_INIT                                                                    \
    {                                                                                              \
        SFA_IMPORT_OPTIONS_VERSION, 0, NULL, false                                                 \
    }

/**
 * As sfa_record_import, with options; *out_resumed_after (may be NULL) gets the number of
 * lines skipped because an earlier run of the same file committed them (0: from line 1).
 * out->imported counts this run's records only.
 */
sfa_status sfa_record_import_opts(sfa_import_result *out, size_t *out_resumed_after,
                                  sfa_agent *agent, const char *sobject, int fd,
                                  const sfa_import_options *opts);

#endif
