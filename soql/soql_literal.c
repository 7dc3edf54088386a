/* SOQL string literals both ways: decoding the backslash escapes of a quoted literal
 * (docs/salesforce.md#query) and quoting a value so that decoding gives it back.
 * soql_quote is the one escaping function every SOQL builder must use.
 * Also the LIKE matcher, since it consumes the wildcard marks the decoder produces. */
#include "soql/soql_internal.h"
#include "util/alloc.h"
#include "util/strbuf.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long hex4(const char *s, size_t n)
{
    if (n < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void add_utf8(strbuf *sb, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    strbuf_add(sb, b, n);
}

/* \uXXXX at raw[i] (i at the backslash); a UTF-16 surrogate pair spans two escapes.
 * Returns the bytes consumed, 0 when malformed. \u0000 is refused: values are C strings. */
static size_t decode_u(strbuf *sb, const char *raw, size_t i, size_t n)
{
    long hi = hex4(raw + i + 2, n - i - 2);
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        add_utf8(sb, (unsigned long)hi);
        return 6;
    }
    if (n - i < 12 || raw[i + 6] != '\\' || raw[i + 7] != 'u')
        return 0;
    long lo = hex4(raw + i + 8, n - i - 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    add_utf8(sb, 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00));
    return 12;
}

/* One escape at raw[i] (a backslash). Appends the decoded char; marks nothing as a
 * wildcard. Returns bytes consumed or 0 for an illegal sequence. */
static size_t decode_escape(strbuf *sb, const char *raw, size_t i, size_t n, bool like)
{
    if (i + 1 >= n)
        return 0;
    switch (raw[i + 1]) {
    case 'n':
    case 'N':
        strbuf_addc(sb, '\n');
        return 2;
    case 'r':
    case 'R':
        strbuf_addc(sb, '\r');
        return 2;
    case 't':
    case 'T':
        strbuf_addc(sb, '\t');
        return 2;
    /* The docs say "bell"; Salesforce runs on Java, where \b is backspace (0x08). */
    case 'b':
    case 'B':
        strbuf_addc(sb, '\b');
        return 2;
    case 'f':
    case 'F':
        strbuf_addc(sb, '\f');
        return 2;
    case '"':
    case '\'':
    case '\\':
        strbuf_addc(sb, raw[i + 1]);
        return 2;
    case '_':
    case '%':
        /* Outside LIKE these are not escapes; the backslash stays part of the value. */
        if (!like)
            strbuf_addc(sb, '\\');
        strbuf_addc(sb, raw[i + 1]);
        return 2;
    case 'u': /* lower case only: the docs list \uXXXX, and \U is "any other" */
        return decode_u(sb, raw, i, n);
    default:
        return 0;
    }
}

bool soql_literal_decode(struct soql_lit *out, const char *raw, size_t n, bool like, size_t *bad_at)
{
    strbuf sb = STRBUF_INIT, wild = STRBUF_INIT; /* wild: one flag byte per decoded byte */
    for (size_t i = 0; i < n;) {
        size_t used = 1, at = sb.len;
        bool wildcard = like && (raw[i] == '%' || raw[i] == '_');
        if (raw[i] == '\\')
            used = decode_escape(&sb, raw, i, n, like);
        else
            strbuf_addc(&sb, raw[i]);
        if (used == 0) {
            *bad_at = i;
            strbuf_free(&sb);
            strbuf_free(&wild);
            return false;
        }
        while (wild.len < sb.len)
            strbuf_addc(&wild, (char)(wildcard && wild.len == at));
        i += used;
    }
    memset(out, 0, sizeof *out);
    out->kind = SOQL_LIT_STR;
    out->len = sb.len;
    out->str = sb.len ? strbuf_detach(&sb) : xstrdup("");
    if (like) {
        out->wild = xcalloc(out->len + 1, sizeof(bool));
        for (size_t k = 0; k < out->len; k++)
            out->wild[k] = wild.buf[k] != 0;
    }
    strbuf_free(&sb);
    strbuf_free(&wild);
    return true;
}

static char *quote(const char *value, bool like)
{
    strbuf sb = STRBUF_INIT;
    strbuf_addc(&sb, '\'');
    for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
        switch (*p) {
        case '\\':
            strbuf_adds(&sb, "\\\\");
            break;
        case '\'':
            strbuf_adds(&sb, "\\'");
            break;
        case '"':
            strbuf_adds(&sb, "\\\"");
            break;
        case '\n':
            strbuf_adds(&sb, "\\n");
            break;
        case '\r':
            strbuf_adds(&sb, "\\r");
            break;
        case '\t':
            strbuf_adds(&sb, "\\t");
            break;
        case '\b':
            strbuf_adds(&sb, "\\b");
            break;
        case '\f':
            strbuf_adds(&sb, "\\f");
            break;
        case '%':
        case '_':
            /* Only a LIKE pattern treats these as wildcards; elsewhere \% stays \%. */
            if (like)
                strbuf_addc(&sb, '\\');
            strbuf_addc(&sb, (char)*p);
            break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                strbuf_addf(&sb, "\\u%04x", (unsigned)*p);
            else
                strbuf_addc(&sb, (char)*p);
        }
    }
    strbuf_addc(&sb, '\'');
    return strbuf_detach(&sb);
}

char *soql_quote(const char *value)
{
    return quote(value, false);
}

char *soql_quote_like(const char *value)
{
    return quote(value, true);
}

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

int soql_strcasecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (*x && fold(*x) == fold(*y)) {
        x++;
        y++;
    }
    return (int)fold(*x) - (int)fold(*y);
}

/* Bytes in the UTF-8 sequence starting with lead byte c (1 for stray bytes). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xF0 && c < 0xF8)
        return 4;
    if (c >= 0xE0)
        return c < 0xF0 ? 3 : 1;
    if (c >= 0xC0)
        return 2;
    return 1;
}

static size_t skip_char(const char *s, size_t i, size_t n)
{
    size_t k = utf8_len((unsigned char)s[i]);
    return i + k <= n ? i + k : n;
}

/* Greedy matcher with one backtrack point (the last %): O(len(s) * len(pattern)). */
bool soql_like_match(const struct soql_lit *pat, const char *s)
{
    size_t n = strlen(s), m = pat->len, i = 0, j = 0, star_j = SIZE_MAX, star_i = 0;
    while (i < n) {
        if (j < m && pat->wild && pat->wild[j] && pat->str[j] == '%') {
            star_j = j++;
            star_i = i;
        } else if (j < m && pat->wild && pat->wild[j] && pat->str[j] == '_') {
            i = skip_char(s, i, n);
            j++;
        } else if (j < m && fold((unsigned char)pat->str[j]) == fold((unsigned char)s[i])) {
            i++;
            j++;
        } else if (star_j != SIZE_MAX) {
            j = star_j + 1;
            star_i = skip_char(s, star_i, n);
            i = star_i;
        } else {
            return false;
        }
    }
    while (j < m && pat->wild && pat->wild[j] && pat->str[j] == '%')
        j++;
    return j == m;
}
