/* UTF-8 validity, as Salesforce accepts it: no overlong forms, no surrogates, nothing
 * above U+10FFFF. The store refuses anything else before it is written. */
#ifndef SFA_UTIL_UTF8_H
#define SFA_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_is_valid(const char *s);
/* Code points in a valid UTF-8 string (Salesforce field lengths count these). */
size_t utf8_count(const char *s);

#endif
