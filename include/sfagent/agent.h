/**
 * @file sfagent/agent.h
 * @brief Opening the local sfagent database: the handle every other call takes.
 *
 * An ::sfa_agent owns one SQLite connection to the agent's database (WAL mode).
 * Handles are not thread-safe; open one per thread. Several processes may open the
 * same file at once.
 */
#ifndef SFAGENT_AGENT_H
#define SFAGENT_AGENT_H

#include <stdbool.h>
#include <sfagent/status.h>

typedef struct sfa_agent sfa_agent;

/** What survives a power cut (see README "Durability"). An app crash loses nothing in either. */
typedef enum sfa_durability {
    SFA_DURABILITY_FULL = 0, /**< synchronous=FULL: every acknowledged write survives a power cut */
    SFA_DURABILITY_NORMAL =
        1, /**< synchronous=NORMAL: the last writes may roll back after a power cut */
} sfa_durability;

typedef struct sfa_open_options {
    unsigned version; /**< SFA_OPEN_OPTIONS_VERSION */
    sfa_durability durability;
    bool create;    /**< create the file (mode 0600) and migrate if missing */
    bool read_only; /**< open without writing; migrations are not applied */
    /** The agent's own idempotency field (config [sync] idempotency_field; "" = none).
     *  Writes refuse it in any letter case: the agent sets it. A writable handle records
     *  it in the database for later opens; NULL: as recorded there, else Sync_Key__c. */
    const char *idempotency_field;
} sfa_open_options;

#define SFA_OPEN_OPTIONS_VERSION 1
#define SFA_OPEN_OPTIONS_INIT                                                                      \
    {                                                                                              \
        SFA_OPEN_OPTIONS_VERSION, SFA_DURABILITY_FULL, true, false, NULL                           \
    }

/**
 * Open (and with opts->create, create and migrate) the database at path.
 * On failure *out is still set when a handle could be made, so the caller can read
 * sfa_agent_errmsg(); free it with sfa_agent_free() either way.
 * A database newer than this library returns SFA_ETOONEW and is not modified; a file that
 * is not an sfagent database returns SFA_ECORRUPT and is not modified; a read-only file or
 * directory (without opts->read_only) returns SFA_EREADONLY. With opts->read_only, a
 * database that still needs migrating returns SFA_ESTATE.
 * Test seam: the environment variable SFA_SQLITE_VFS names a registered SQLite VFS to use.
 */
sfa_status sfa_agent_open(sfa_agent **out, const char *path, const sfa_open_options *opts);

/** Close the database and free the handle. NULL is a no-op. */
void sfa_agent_free(sfa_agent *agent);

/**
 * Why the database is flagged as damaged, or NULL when it is not. A flagged database
 * (SQLite reported corruption, or the integrity check after an unclean shutdown failed;
 * kept in the file for later opens) refuses every write with SFA_ECORRUPT; reads work.
 * Borrowed until sfa_agent_free().
 */
const char *sfa_agent_corruption(const sfa_agent *agent);

/** Message of the last failure on this handle ("" if none; NULL agent: ""). Borrowed until
 *  the next call on the handle. The same failure is also the thread's last error
 *  (sfa_error_last(), sfagent/error.h). */
const char *sfa_agent_errmsg(const sfa_agent *agent);

/** Schema version of the open database (PRAGMA user_version). */
int sfa_agent_schema_version(const sfa_agent *agent);

/** Newest schema version this library knows. */
int sfa_agent_schema_version_supported(void);

#endif
