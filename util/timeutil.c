/* Time: one clock seam for tests, and the date formats Salesforce reads and writes. */
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_override_ms; /* test seam; configuration-like global */

void time_set_override(int64_t override_ms)
{
    clock_override_ms = override_ms;
}

int64_t time_now_ms(void)
{
    if (clock_override_ms > 0)
        return clock_override_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void split(int64_t ms, struct tm *tm, int *millis)
{
    time_t secs = (time_t)(ms / 1000);
    *millis = (int)(ms % 1000);
    if (*millis < 0) {
        *millis += 1000;
        secs -= 1;
    }
    gmtime_r(&secs, tm);
}

void time_format_sf(int64_t ms, char buf[32])
{
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    /* A wide scratch buffer keeps -Wformat-truncation quiet about impossible int ranges. */
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    snprintf(buf, 32, "%.31s", tmp);
}

void time_format_http(int64_t ms, char buf[32])
{
    static const char day[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", day[tm.tm_wday % 7],
             tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(buf, 32, "%.31s", tmp);
}

void time_format_iso_z(int64_t ms, char buf[32])
{
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(buf, 32, "%.31s", tmp);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_offset(const char *p, int *offset_min)
{
    if (*p == 'Z' && p[1] == '\0') {
        *offset_min = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1, hh, mm;
    if (!digits(p + 1, 2, &hh))
        return false;
    const char *m = p + 3;
    if (*m == ':')
        m++;
    if (!digits(m, 2, &mm) || m[2] != '\0' || hh > 23 || mm > 59)
        return false;
    *offset_min = sign * (hh * 60 + mm);
    return true;
}

bool time_parse_sf(const char *s, int64_t *out_ms)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, se = 0, millis = 0, offset = 0;
    if (!s || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    const char *p = s + 10;
    if (*p == 'T') {
        if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) || p[6] != ':' ||
            !digits(p + 7, 2, &se))
            return false;
        p += 9;
        if (*p == '.') {
            int n = 0;
            p++;
            while (isdigit((unsigned char)p[n]))
                n++;
            if (n == 0 || n > 9)
                return false;
            int frac;
            if (!digits(p, n < 3 ? n : 3, &frac))
                return false;
            millis = n == 1 ? frac * 100 : n == 2 ? frac * 10 : frac;
            p += n;
        }
        if (!parse_offset(p, &offset))
            return false;
    } else if (*p != '\0') {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *out_ms = ((int64_t)t - (int64_t)offset * 60) * 1000 + millis;
    return true;
}
