/* References between local records: local ids in field values and their rewriting to
 * Salesforce Ids before sending (sync/engine/push_refs.c). Pure: no I/O. */
#ifndef SFA_SYNC_ENGINE_REFS_H
#define SFA_SYNC_ENGINE_REFS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Lookup of a local id's Salesforce Id: borrowed string or NULL when not synced yet. */
typedef const char *(*push_ref_lookup_fn)(const char *local_id, void *ctx);

/* Is field a reference field (describe type "reference", or the built-in Case/Contact
 * metadata)? */
typedef bool (*push_ref_field_fn)(const char *field, void *ctx);

/* Rewrite every local-id value (util/localid.h) of a reference field (is_ref) in fields (a
 * JSON object) to its Salesforce Id; other fields are values and are sent as they are.
 * Returns NULL when all resolved, else the first unresolved local id (borrowed from fields);
 * fields is left partly rewritten then, so callers work on a copy. */
const char *push_refs_rewrite(cJSON *fields, push_ref_field_fn is_ref, push_ref_lookup_fn lookup,
                              void *ctx);

#endif
