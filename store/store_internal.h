/* Shared by the files of store/ only: field validation, describe cache, reference
 * resolution and the write helpers the record verbs and import have in common. */
#ifndef SFA_STORE_STORE_INTERNAL_H
#define SFA_STORE_STORE_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/config.h"
#include "sfagent/status.h"

/* Parsed describe_cache rows, loaded once per handle and sObject (a NULL describe
 * remembers "no row"). A describe stored by another process after the first lookup is
 * seen by the next handle. */
typedef struct store_describe_entry {
    char *sobject;
    cJSON *describe;
    struct store_describe_entry *next;
} store_describe_entry;

typedef struct store_describe_cache {
    store_describe_entry *head;
} store_describe_cache;

store_describe_cache *store_describes(sfa_agent *a);
void store_describe_cache_clear(store_describe_cache *c);

typedef enum store_write_kind { STORE_WRITE_CREATE, STORE_WRITE_UPDATE } store_write_kind;

/* sObject API-name syntax; message names the problem. */
sfa_status store_check_sobject(sfa_agent *a, const char *sobject);
/* store_check_sobject, then sobject in Salesforce's spelling ("account" -> "Account")
 * from describe global, the sObject's describe or the built-in Case/Contact, else as
 * given, into *out (caller frees). Every API entry point that stores or looks up by
 * sObject uses it, so one object is never kept under two spellings. */
sfa_status store_sobject_canonical(char **out, sfa_agent *a, const char *sobject);
/* Parse fields_json into *out (caller frees with cJSON_Delete) after checking every rule
 * of field validation (names, scalars, types, lengths, read-only, required, references).
 * Known field names are rewritten to their canonical spelling. Nothing is written. */
sfa_status store_fields_parse(cJSON **out, sfa_agent *a, const char *sobject,
                              const char *fields_json, store_write_kind kind);
/* As store_fields_parse for an already parsed value (import): *out is a new, checked,
 * canonically spelled copy of in. */
sfa_status store_fields_check(cJSON **out, sfa_agent *a, const char *sobject, const cJSON *in,
                              store_write_kind kind);

/* Is name a reference field of sobject (describe, else the built-in Case/Contact
 * metadata)? Unknown fields are not. */
bool store_field_is_reference(sfa_agent *a, const char *sobject, const char *name);

/* A mirror row found by a reference. Strings owned; free with store_row_clear. */
typedef struct store_row {
    char *local_id;
    char *sf_id;
    char *sys_modstamp;
    char *fields;
    bool deleted;
} store_row;

void store_row_clear(store_row *r);
/* Resolve ref (local id, 15/18-char Id, or CaseNumber for Case) among sObject's rows. */
sfa_status store_resolve(store_row *out, sfa_agent *a, const char *sobject, const char *ref);

/* Insert a brand-new record (mirror row + create op) inside the caller's transaction.
 * fields is the validated field map; kind is "create" or "upsert". */
sfa_status store_insert_new(sfa_agent *a, const char *sobject, const cJSON *fields,
                            const char *kind, const char *ext_field, const char *ext_value,
                            char **out_local_id);

/* Session rows (meta "session:<pid>:<nonce>"): start records this handle's session and,
 * if an earlier session's process is gone without removing its row (crash, kill -9),
 * runs PRAGMA quick_check first (docs/sync-protocol.md#local-durability). end removes the row. */
sfa_status store_session_start(sfa_agent *a);
void store_session_end(sfa_agent *a);
char **store_session_key(sfa_agent *a);
/* The PRAGMA synchronous level (1 NORMAL, 2 FULL) a writable handle set at open; 0 for a
 * read-only handle, which sets none (store/agent.c I2). */
int store_synchronous(const sfa_agent *a);

/* The agent's idempotency field on every sObject ("" when configured off); borrowed from
 * the handle. User input may not name it in any letter case (store/validate.c). */
const char *store_idempotency_field(sfa_agent *a);

/* SFA_EINVAL naming the field when name is the idempotency field in any letter case. */
sfa_status store_check_not_idem_field(sfa_agent *a, const char *sobject, const char *name);

/* Merge src's members into dst (later values win, field by field; names compare
 * case-insensitively). */
void store_json_merge(cJSON *dst, const cJSON *src);

#endif
