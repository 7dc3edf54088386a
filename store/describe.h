/* The describe cache: Salesforce's describe of each sObject as last fetched, for offline
 * validation and the engine's idempotency-field check (store/describe.c). */
#ifndef SFA_STORE_DESCRIBE_H
#define SFA_STORE_DESCRIBE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "sfagent/agent.h"
#include "sfagent/status.h"

/* The cached describe of sobject into *out (caller frees; NULL when none is cached). A
 * failed read is an error, never "not cached". */
sfa_status store_describe_get(cJSON **out, sfa_agent *a, const char *sobject);
/* Cache describe for sobject, replacing any earlier one. */
sfa_status store_describe_put(sfa_agent *a, const char *sobject, const cJSON *describe);

/* Is name a reference field of sobject (describe type "reference", or the built-in Case
 * and Contact metadata when no describe is cached)? False when unknown (store/validate.c). */
bool store_field_is_reference(sfa_agent *a, const char *sobject, const char *name);

#endif
