/* References between local records: a field value that is a local id ("loc-...", e.g.
 * Case.ContactId of a Contact created offline) is sent only as its Salesforce Id.
 *
 * Invariants:
 *   I1. A request never carries a local id as the value of a reference field (no dangling
 *       references).
 *   I2. Only reference fields are rewritten: a text field that holds a local-id-shaped
 *       value (the record's own Sync_Key__c, or what a user typed into Description) is
 *       data and is sent unchanged.
 */
#include "sync/engine/refs.h"

#include <string.h>

#include "util/alloc.h"
#include "util/localid.h"

const char *push_refs_rewrite(cJSON *fields, push_ref_field_fn is_ref, push_ref_lookup_fn lookup,
                              void *ctx)
{
    cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (!cJSON_IsString(f) || !local_id_is_valid(f->valuestring) || !is_ref(f->string, ctx))
            continue; /* I2 */
        const char *sf_id = lookup(f->valuestring, ctx);
        if (!sf_id)
            return f->valuestring; /* I1: the caller holds the op back */
        cJSON_SetValuestring(f, sf_id);
    }
    return NULL;
}
