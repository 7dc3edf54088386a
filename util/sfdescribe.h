/* Reading a Salesforce sObject describe (GET /sobjects/X/describe): the one field lookup
 * the engine, `doctor` and the store's validation share. Pure: no I/O. */
#ifndef SFA_UTIL_SFDESCRIBE_H
#define SFA_UTIL_SFDESCRIBE_H

#include <cjson/cJSON.h>

/* The entry of describe's "fields" array whose name equals name, ignoring case as
 * Salesforce does for API names (borrowed), or NULL. */
const cJSON *sf_describe_field(const cJSON *describe, const char *name);

#endif
