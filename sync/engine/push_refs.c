/* References between local records: a field value that is a local id ("loc-...", e.g.
 * Case.ContactId of a Contact created offline) is sent only as its Salesforce Id.
 *
 * Invariants:
 *   I1. A request never carries a local id as a field value (no dangling references).
 */
#include "sync/engine/refs.h"

#include <string.h>

#include "util/alloc.h"

#define LOCAL_ID_LEN 30 /* "loc-" + 26 Crockford base32 chars (store/store.h) */

static bool is_crockford(char c)
{
    if (c >= '0' && c <= '9')
        return true;
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    return c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U';
}

bool push_is_local_ref(const char *s)
{
    if (!s || strncmp(s, "loc-", 4) != 0 || strlen(s) != LOCAL_ID_LEN)
        return false;
    for (size_t i = 4; i < LOCAL_ID_LEN; i++)
        if (!is_crockford(s[i]))
            return false;
    return true;
}

const char *push_refs_rewrite(cJSON *fields, push_ref_lookup_fn lookup, void *ctx)
{
    cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (!cJSON_IsString(f) || !push_is_local_ref(f->valuestring))
            continue;
        const char *sf_id = lookup(f->valuestring, ctx);
        if (!sf_id)
            return f->valuestring; /* I1: the caller holds the op back */
        cJSON_SetValuestring(f, sf_id);
    }
    return NULL;
}
