/* A JSON scanner that finds values in text without building a tree: the pull reads a
 * query page of 2,000 records one record at a time (docs/sync-protocol.md#memory), so
 * only the page's text and one record's pieces are in memory, never a tree of the page.
 *
 * The scanner validates what it walks over as strictly as RFC 8259 (strings, escapes,
 * numbers, literals, nesting up to JSON_SCAN_MAX_DEPTH), so a span it accepts is valid
 * JSON (SQLite's json_valid and cJSON agree). It never reads past end: the text need
 * not be NUL-terminated. */
#ifndef SFA_UTIL_JSON_SCAN_H
#define SFA_UTIL_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Deeper nesting is refused (cJSON stops at 1000, SQLite 3.40 at 2000). */
#define JSON_SCAN_MAX_DEPTH 512

/* Borrowed bytes [p, p + n) of some text. */
typedef struct json_span {
    const char *p;
    size_t n;
} json_span;

/* Walks the members of one object or the elements of one array. */
typedef struct json_iter {
    const char *p, *end;
    char close;  /* '}' or ']' */
    bool first;  /* nothing read yet */
    bool done;   /* the closing bracket was read */
    bool failed; /* malformed or truncated text */
} json_iter;

/* The end of the one JSON value that starts at p (leading whitespace skipped), or NULL
 * when the text there is not one complete, valid JSON value. */
const char *json_scan_value(const char *p, const char *end);

/* Start walking the object (json_iter_object) or array (json_iter_array) that is span
 * (surrounding whitespace allowed). False, and nothing to walk, when span is something
 * else; its contents are checked as they are walked. */
bool json_iter_object(json_iter *it, json_span span);
bool json_iter_array(json_iter *it, json_span span);
/* The next member: key is the key's text with its quotes, value the value's text.
 * False at the end or on malformed text (it->failed tells which). */
bool json_next_member(json_iter *it, json_span *key, json_span *value);
/* The next element of an array, as json_next_member. */
bool json_next_element(json_iter *it, json_span *value);
/* json_next_member in two steps, so a large value can be walked in place instead of
 * being scanned first: json_next_key reads the next key and stops at its value; then
 * either json_next_value takes the value whole, or json_enter_array starts child on it
 * (false, nothing consumed, when it is not an array) and json_leave, once child has
 * ended, moves parent past it (failing parent unless child ended cleanly). */
bool json_next_key(json_iter *it, json_span *key);
bool json_next_value(json_iter *it, json_span *value);
bool json_enter_array(json_iter *parent, json_iter *child);
void json_leave(json_iter *parent, const json_iter *child);

/* Is key (a key span from json_next_member) the string name? */
bool json_key_is(json_span key, const char *name);
/* The value of member name of the object span, if it has one (the first). */
bool json_member(json_span obj, const char *name, json_span *value);
/* The decoded string value of member name of the object span (caller frees), or NULL
 * when absent, not a string, or holding a NUL character. */
char *json_member_str(json_span obj, const char *name);
/* The decoded string that span is (quotes included), or NULL as json_member_str. */
char *json_span_str(json_span s);
/* The object span as text without its member name, the rest byte for byte (caller
 * frees); NULL when span is not a valid object. */
char *json_object_without(json_span obj, const char *name);

#endif
