/* Defensive cJSON accessors: a Salesforce field can be missing, null or of another
 * type ; these return NULL/false/fallback instead of guessing. */
#ifndef SFA_UTIL_JSON_H
#define SFA_UTIL_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Borrowed string value of obj[key], or NULL if absent or not a string. */
const char *json_str(const cJSON *obj, const char *key);
/* obj[key] as a number, or fallback if absent or not a number. */
double json_num(const cJSON *obj, const char *key, double fallback);
/* obj[key] as a bool, or fallback if absent or not a bool. */
bool json_bool(const cJSON *obj, const char *key, bool fallback);
/* Unformatted JSON text owned by the caller (free()); aborts on OOM like xmalloc. */
char *json_print(const cJSON *item);
/* json_print's text, byte for byte, handed to out piece by piece instead of as one
 * string: a large request body can be compressed as it is printed, and its whole text
 * is never held (docs/sync-protocol.md#memory). Keys and values are printed by cJSON;
 * only the brackets, colons and commas between them are written here. */
typedef void (*json_sink)(const char *p, size_t n, void *arg);
void json_print_to(const cJSON *item, json_sink out, void *arg);

/*
 * Parse len bytes of JSON text keeping what cJSON alone would change silently: each number
 * becomes a cJSON_Raw item holding its literal exactly as written (cJSON's double rounds
 * beyond 15-17 digits and prints 1e999 as null; json_print writes Raw items verbatim), and
 * text with a NUL (a raw byte or a \u0000 escape, in a name or a value) is refused, since
 * every C string downstream would cut it there. Non-finite numbers (1e999) are refused.
 * Returns the tree (caller cJSON_Delete()s) or NULL with *err set to a static message.
 */
cJSON *json_parse_exact(const char *text, size_t len, const char **err);
/* A number item: cJSON_Number, or a Raw item from json_parse_exact (its literal). */
bool json_is_number(const cJSON *item);
/* Same JSON value (cJSON_Compare), where a number is a cJSON_Number or a Raw literal from
 * json_parse_exact and compares by value (5 == 5.0; 18-digit literals by their digits). */
bool json_same_value(const cJSON *a, const cJSON *b);
/* The literal of a Raw number item, else NULL. */
const char *json_number_literal(const cJSON *item);
/* Digits of a JSON number literal: *int_digits before the point, *frac_digits after it,
 * once the exponent is applied and leading/trailing zeros dropped. */
void json_number_digits(const char *literal, int *int_digits, int *frac_digits);

#endif
