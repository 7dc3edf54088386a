/* The describe cache: Salesforce's describe of each sObject, and describe global, as last
 * fetched, for offline validation, completion and the engine's idempotency-field check
 * (store/describe.c). */
#ifndef SFA_STORE_DESCRIBE_H
#define SFA_STORE_DESCRIBE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* The describe_cache key of describe global (GET /sobjects/): never an sObject API name. */
#define STORE_DESCRIBE_GLOBAL "/sobjects"

/* The cached describe of sobject into *out (caller frees; NULL when none is cached). A
 * failed read is an error, never "not cached". */
sfa_status store_describe_get(cJSON **out, sfa_agent *a, const char *sobject);
/* As store_describe_get, also giving when it was fetched (ms; 0 when none is cached). */
sfa_status store_describe_get_at(cJSON **out, int64_t *fetched_at_ms, sfa_agent *a,
                                 const char *sobject);
/* When the describe of sobject was fetched (ms), 0 when none is cached. */
sfa_status store_describe_fetched_at(int64_t *out, sfa_agent *a, const char *sobject);
/* Cache describe for sobject, replacing any earlier one, fetched now. */
sfa_status store_describe_put(sfa_agent *a, const char *sobject, const cJSON *describe);
/* Salesforce said the cached describe of sobject is current (304): it counts as fetched
 * now. */
sfa_status store_describe_touch(sfa_agent *a, const char *sobject);

/* Check a comma list of field names (store/validate.c); *out in Salesforce's spelling. */
sfa_status store_field_list_check(char **out, sfa_agent *a, const char *sobject, const char *csv);

/* Is name a reference field of sobject (describe type "reference", or the built-in Case
 * and Contact metadata when no describe is cached)? False when unknown (store/validate.c). */
bool store_field_is_reference(sfa_agent *a, const char *sobject, const char *name);

#endif
