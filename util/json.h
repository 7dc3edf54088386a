/* Defensive cJSON accessors: a Salesforce field can be missing, null or of another
 * type (STYLE.md rule 13); these return NULL/false/fallback instead of guessing. */
#ifndef SFA_UTIL_JSON_H
#define SFA_UTIL_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Borrowed string value of obj[key], or NULL if absent or not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* obj[key] as a number, or fallback if absent or not a number. */
double json_num(const cJSON *obj, const char *key, double fallback);
/* obj[key] as a bool, or fallback if absent or not a bool. */
bool json_bool(const cJSON *obj, const char *key, bool fallback);
/* Unformatted JSON text owned by the caller (free()); aborts on OOM like xmalloc. */
char *json_print(const cJSON *item);

#endif
