/* Wall-clock time in milliseconds with one test seam, and Salesforce's date formats. */
#ifndef SFA_UTIL_TIMEUTIL_H
#define SFA_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch. Tests may pin or shift it (time_set_override). */
int64_t time_now_ms(void);
/* Test seam: while override_ms > 0 time_now_ms() returns it. 0 restores the real clock. */
void time_set_override(int64_t override_ms);

/* "2013-05-20T20:49:32.000+0000" (UTC, as Salesforce JSON responses print). buf >= 29. */
void time_format_sf(int64_t ms, char buf[32]);
/* "2013-05-20T20:49:32Z" style (SOQL literals, getUpdated windows). buf >= 21. */
void time_format_iso_z(int64_t ms, char buf[32]);
/* "Wed, 02 Dec 2026 00:01:31 GMT": HTTP's Date (RFC 9110 IMF-fixdate), locale-free. */
void time_format_http(int64_t ms, char buf[32]);
/* Parse yyyy-MM-ddTHH:mm:ss[.SSS](Z|+hh:mm|-hh:mm|+hhmm) or yyyy-MM-dd. */
bool time_parse_sf(const char *s, int64_t *out_ms);

#endif
