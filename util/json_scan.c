/* The JSON scanner (util/json_scan.h): finds values in text without building a tree.
 *
 * Invariants:
 *   I1. No read at or past end, whatever the text: every access is checked against end.
 *   I2. A value is accepted only when it is complete and valid RFC 8259 JSON (strings
 *       without raw control characters and with valid escapes, numbers by the grammar,
 *       true/false/null, matching brackets, keys that are strings), so a span the
 *       scanner hands out can be stored where SQLite checks json_valid.
 *   I3. Nesting deeper than JSON_SCAN_MAX_DEPTH is refused, without recursion: a
 *       hostile body cannot exhaust the stack.
 *   I4. Strings are well-formed UTF-8 (RFC 8259 section 8.1; RFC 3629: no overlong
 *       forms, no surrogates, nothing above U+10FFFF): text that is not would reach the
 *       mirror and every program reading it as JSON.
 */
#include "util/json_scan.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strbuf.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The bytes a string's plain run stops at: its closing quote, an escape, and the control
 * characters JSON forbids unescaped (I2). One table look-up per byte of text. */
static const bool STOPS_STRING[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1};

/* I4: the end of the UTF-8 sequence that starts at p (a byte >= 0x80), or NULL. The
 * lead byte gives the number of continuation bytes and the range of the first of them
 * (RFC 3629 section 4: this range is what excludes overlong forms, surrogates and
 * code points above U+10FFFF). */
static const char *scan_utf8(const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    int more = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        more = 1;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        more = 2;
        lo = u[0] == 0xe0 ? 0xa0 : 0x80;
        hi = u[0] == 0xed ? 0x9f : 0xbf;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        more = 3;
        lo = u[0] == 0xf0 ? 0x90 : 0x80;
        hi = u[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return NULL;
    }
    if (end - p <= more || u[1] < lo || u[1] > hi)
        return NULL;
    for (int i = 2; i <= more; i++)
        if (u[i] < 0x80 || u[i] > 0xbf)
            return NULL;
    return p + more + 1;
}

/* p at '"': the end of the string (after its closing quote), or NULL. */
static const char *scan_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        while (p < end && (unsigned char)*p < 0x80 && !STOPS_STRING[(unsigned char)*p])
            p++; /* bytes from 0x80 on stop it too: I4 checks them a sequence at a time */
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL; /* I2: control characters must be escaped */
        if (c >= 0x80) {
            if (!(p = scan_utf8(p, end)))
                return NULL;
            p--; /* the loop steps past the sequence's last byte */
            continue;
        }
        if (c != '\\')
            continue;
        if (++p >= end)
            return NULL;
        if (*p == 'u') {
            for (int i = 0; i < 4; i++)
                if (++p >= end || !isxdigit((unsigned char)*p))
                    return NULL;
        } else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
            return NULL;
        }
    }
    return NULL;
}

static const char *scan_digits(const char *p, const char *end)
{
    const char *start = p;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    return p > start ? p : NULL;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: its end, or NULL. */
static const char *scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = scan_digits(p, end)))
        return NULL;
    if (p < end && *p == '.' && !(p = scan_digits(p + 1, end)))
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = scan_digits(p, end)))
            return NULL;
    }
    return p;
}

static const char *scan_word(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* A string, number or literal at p (not a bracket): its end, or NULL. */
static const char *scan_scalar(const char *p, const char *end)
{
    switch (*p) {
    case '"':
        return scan_string(p, end);
    case 't':
        return scan_word(p, end, "true");
    case 'f':
        return scan_word(p, end, "false");
    case 'n':
        return scan_word(p, end, "null");
    default:
        return scan_number(p, end);
    }
}

/* p at a key's '"': past the key, its ':' and the whitespace after it, or NULL. */
static const char *scan_key(const char *p, const char *end)
{
    if (p >= end || *p != '"' || !(p = scan_string(p, end)))
        return NULL;
    p = skip_ws(p, end);
    return p < end && *p == ':' ? p + 1 : NULL;
}

/* Open containers, one bit each (1: object), I3. */
typedef struct nest {
    uint8_t bits[JSON_SCAN_MAX_DEPTH / 8];
    int depth;
} nest;

static bool nest_is_object(const nest *n)
{
    int i = n->depth - 1;
    return (n->bits[i / 8] >> (i % 8)) & 1;
}

/* After a value inside containers: past the separators and closing brackets up to where
 * the next value starts (*p then points at it), or the end of the outermost value. */
static const char *after_value(const char *p, const char *end, nest *n, bool *more)
{
    *more = false;
    while (n->depth > 0) {
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        bool obj = nest_is_object(n);
        if (*p == (obj ? '}' : ']')) {
            n->depth--;
            p++;
            continue;
        }
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
        if (obj && !(p = scan_key(p, end)))
            return NULL;
        *more = true;
        return p;
    }
    return p;
}

/* p at '{' or '[': into it. *more is false when it was empty (and is closed again). */
static const char *open_container(const char *p, const char *end, nest *n, bool *more)
{
    bool obj = *p == '{';
    if (n->depth == JSON_SCAN_MAX_DEPTH)
        return NULL; /* I3 */
    int i = n->depth++;
    n->bits[i / 8] = (uint8_t)((n->bits[i / 8] & ~(1u << (i % 8))) | ((unsigned)obj << (i % 8)));
    p = skip_ws(p + 1, end);
    if (p < end && *p == (obj ? '}' : ']')) {
        n->depth--;
        *more = false;
        return p + 1;
    }
    *more = true;
    return obj ? scan_key(p, end) : p;
}

const char *json_scan_value(const char *p, const char *end)
{
    nest n = {.depth = 0};
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        bool more = false;
        if (*p == '{' || *p == '[') {
            p = open_container(p, end, &n, &more);
            if (p && more)
                continue; /* the first value inside */
        } else {
            p = scan_scalar(p, end);
        }
        if (!p || !(p = after_value(p, end, &n, &more)))
            return NULL;
        if (!more)
            return p;
    }
}

static bool iter_start(json_iter *it, json_span span, char open, char close)
{
    memset(it, 0, sizeof *it);
    it->end = span.p + span.n;
    it->p = skip_ws(span.p, it->end);
    it->close = close;
    it->first = true;
    if (it->p >= it->end || *it->p != open) {
        it->failed = true;
        return false;
    }
    it->p++;
    return true;
}

bool json_iter_object(json_iter *it, json_span span)
{
    return iter_start(it, span, '{', '}');
}

bool json_iter_array(json_iter *it, json_span span)
{
    return iter_start(it, span, '[', ']');
}

/* Past the ',' before the next item or the closing bracket; false at the end or on
 * malformed text. */
static bool iter_advance(json_iter *it)
{
    if (it->done || it->failed)
        return false;
    const char *p = skip_ws(it->p, it->end);
    if (p < it->end && *p == it->close) {
        it->p = p + 1;
        it->done = true;
        return false;
    }
    if (!it->first) {
        if (p >= it->end || *p != ',') {
            it->failed = true;
            return false;
        }
        p = skip_ws(p + 1, it->end);
    } else if (p >= it->end) {
        it->failed = true;
        return false;
    }
    it->first = false;
    it->p = p;
    return true;
}

/* The value at it->p into *value, moving past it. */
static bool iter_value(json_iter *it, json_span *value)
{
    const char *start = skip_ws(it->p, it->end);
    const char *e = json_scan_value(start, it->end);
    if (!e) {
        it->failed = true;
        return false;
    }
    *value = (json_span){start, (size_t)(e - start)};
    it->p = e;
    return true;
}

bool json_next_key(json_iter *it, json_span *key)
{
    if (!iter_advance(it))
        return false;
    const char *k = it->p;
    const char *e = k < it->end && *k == '"' ? scan_string(k, it->end) : NULL;
    const char *v = e ? scan_key(k, it->end) : NULL;
    if (!v) {
        it->failed = true;
        return false;
    }
    *key = (json_span){k, (size_t)(e - k)};
    it->p = skip_ws(v, it->end);
    return true;
}

bool json_next_value(json_iter *it, json_span *value)
{
    return !it->failed && iter_value(it, value);
}

bool json_next_member(json_iter *it, json_span *key, json_span *value)
{
    return json_next_key(it, key) && iter_value(it, value);
}

bool json_enter_array(json_iter *parent, json_iter *child)
{
    if (parent->failed || parent->p >= parent->end || *parent->p != '[')
        return false;
    return iter_start(child, (json_span){parent->p, (size_t)(parent->end - parent->p)}, '[', ']');
}

void json_leave(json_iter *parent, const json_iter *child)
{
    if (child->failed || !child->done)
        parent->failed = true;
    else
        parent->p = child->p;
}

bool json_next_element(json_iter *it, json_span *value)
{
    return iter_advance(it) && iter_value(it, value);
}

/* Does the string span s hold an escaped NUL (\u0000)? Walks escapes, so "\\u0000"
 * (an escaped backslash, then text) is not one. */
static bool has_nul_escape(json_span s)
{
    for (size_t i = 1; i + 1 < s.n; i++) {
        if (s.p[i] != '\\')
            continue;
        if (s.p[i + 1] == 'u' && i + 5 < s.n && memcmp(s.p + i + 2, "0000", 4) == 0)
            return true;
        i++; /* the escaped character */
    }
    return false;
}

char *json_span_str(json_span s)
{
    if (s.n < 2 || s.p[0] != '"' || scan_string(s.p, s.p + s.n) != s.p + s.n)
        return NULL;
    if (!memchr(s.p, '\\', s.n))
        return xstrndup(s.p + 1, s.n - 2);
    if (has_nul_escape(s))
        return NULL; /* every C string downstream would cut it there */
    cJSON *v = cJSON_ParseWithLength(s.p, s.n);
    char *out = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
    cJSON_Delete(v);
    return out;
}

bool json_key_is(json_span key, const char *name)
{
    size_t n = strlen(name);
    if (key.n == n + 2 && key.p[0] == '"' && memcmp(key.p + 1, name, n) == 0)
        return true;
    if (key.n < 2 || !memchr(key.p, '\\', key.n))
        return false; /* no escapes: the text is the name */
    char *k = json_span_str(key);
    bool same = k && strcmp(k, name) == 0;
    free(k);
    return same;
}

bool json_member(json_span obj, const char *name, json_span *value)
{
    json_iter it;
    json_span k, v;
    if (!json_iter_object(&it, obj))
        return false;
    while (json_next_member(&it, &k, &v))
        if (json_key_is(k, name)) {
            *value = v;
            return true;
        }
    return false;
}

char *json_member_str(json_span obj, const char *name)
{
    json_span v;
    return json_member(obj, name, &v) ? json_span_str(v) : NULL;
}

char *json_object_without(json_span obj, const char *name)
{
    json_iter it;
    json_span k, v;
    if (!json_iter_object(&it, obj))
        return NULL;
    strbuf sb = STRBUF_INIT;
    strbuf_addc(&sb, '{');
    bool first = true;
    while (json_next_member(&it, &k, &v)) {
        if (json_key_is(k, name))
            continue;
        if (!first)
            strbuf_addc(&sb, ',');
        first = false;
        strbuf_add(&sb, k.p, k.n);
        strbuf_addc(&sb, ':');
        strbuf_add(&sb, v.p, v.n);
    }
    strbuf_addc(&sb, '}');
    if (it.failed) {
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}
