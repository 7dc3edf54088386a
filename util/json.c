/* Defensive cJSON accessors and the exact parser (numbers as written, no NUL). */
#include "util/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double json_num(const cJSON *obj, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

bool json_bool(const cJSON *obj, const char *key, bool fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : fallback;
}

char *json_print(const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s) {
        fprintf(stderr, "sfagent: out of memory (printing JSON)\n");
        abort();
    }
    return s;
}

/* A scalar (or Raw) item alone, printed by cJSON: cJSON_Print* prints an item without its
 * siblings. */
static void print_leaf(const cJSON *item, json_sink out, void *arg)
{
    if (cJSON_IsRaw(item) && item->valuestring) { /* cJSON writes Raw text as it is */
        out(item->valuestring, strlen(item->valuestring), arg);
        return;
    }
    char *s = json_print(item);
    out(s, strlen(s), arg);
    free(s);
}

static void print_key(const char *key, json_sink out, void *arg)
{
    cJSON *k = cJSON_CreateString(key); /* escaped as cJSON escapes keys */
    if (!k)
        abort(); /* out of memory (STYLE 7) */
    print_leaf(k, out, arg);
    cJSON_Delete(k);
    out(":", 1, arg);
}

/* Recursion follows the tree's depth, which is ours: bodies this process built. */
void json_print_to(const cJSON *item, json_sink out, void *arg)
{
    bool obj = cJSON_IsObject(item);
    if (!obj && !cJSON_IsArray(item)) {
        print_leaf(item, out, arg);
        return;
    }
    out(obj ? "{" : "[", 1, arg);
    for (const cJSON *c = item->child; c; c = c->next) {
        if (c != item->child)
            out(",", 1, arg);
        if (obj)
            print_key(c->string ? c->string : "", out, arg);
        json_print_to(c, out, arg);
    }
    out(obj ? "}" : "]", 1, arg);
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; length consumed or 0. */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && isdigit((unsigned char)s[i]))
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == start)
            return 0;
    }
    return i;
}

typedef struct number_tokens {
    const char **at;
    size_t *len;
    size_t count, cap;
} number_tokens;

static void tokens_add(number_tokens *t, const char *at, size_t len)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->at = xrealloc(t->at, t->cap * sizeof *t->at);
        t->len = xrealloc(t->len, t->cap * sizeof *t->len);
    }
    t->at[t->count] = at;
    t->len[t->count++] = len;
}

/* Skip the string starting at s[*i] == '"'; false if it holds \u0000. */
static bool skip_string(const char *s, size_t n, size_t *i)
{
    for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
        if (s[*i] != '\\')
            continue;
        (*i)++;
        if (*i + 4 < n && s[*i] == 'u' && memcmp(s + *i + 1, "0000", 4) == 0)
            return false;
    }
    (*i)++;
    return true;
}

/* Every number token of text in document order; *err on a NUL or a bad number. */
static bool scan_tokens(const char *s, size_t n, number_tokens *t, const char **err)
{
    if (memchr(s, '\0', n)) {
        *err = "contains a NUL byte";
        return false;
    }
    for (size_t i = 0; i < n;) {
        if (s[i] == '"') {
            if (!skip_string(s, n, &i)) {
                *err = "a string or field name contains \\u0000 (NUL)";
                return false;
            }
        } else if (s[i] == '-' || isdigit((unsigned char)s[i])) {
            size_t len = number_len(s + i, n - i);
            if (len == 0) {
                *err = "not valid JSON (bad number)";
                return false;
            }
            tokens_add(t, s + i, len);
            i += len;
        } else {
            i++;
        }
    }
    return true;
}

/* Turn each Number item (document order, as cJSON keeps it) into Raw with its literal. */
static bool attach_literals(cJSON *item, const number_tokens *t, size_t *next, const char **err)
{
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            if (*next >= t->count) {
                *err = "not valid JSON (numbers do not match)";
                return false;
            }
            const char *lit = t->at[*next];
            size_t len = t->len[(*next)++];
            char *copy = cJSON_malloc(len + 1);
            if (!copy)
                abort();
            memcpy(copy, lit, len);
            copy[len] = '\0';
            if (!isfinite(strtod(copy, NULL))) {
                cJSON_free(copy);
                *err = "a number is out of range (not finite)";
                return false;
            }
            item->type = cJSON_Raw;
            item->valuestring = copy;
        } else if (item->child && !attach_literals(item->child, t, next, err)) {
            return false;
        }
    }
    return true;
}

cJSON *json_parse_exact(const char *text, size_t len, const char **err)
{
    number_tokens t = {NULL, NULL, 0, 0};
    cJSON *root = NULL;
    size_t next = 0;
    *err = NULL;
    if (!scan_tokens(text, len, &t, err))
        goto out;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    while (root && end < text + len && isspace((unsigned char)*end))
        end++;
    if (!root || end != text + len) /* cJSON stops after one value: the rest must be blank */
        *err = "not valid JSON";
    else if (!attach_literals(root, &t, &next, err) || (next != t.count && !*err))
        *err = *err ? *err : "not valid JSON (numbers do not match)";
out:
    if (*err) {
        cJSON_Delete(root);
        root = NULL;
    }
    free(t.at);
    free(t.len);
    return root;
}

const char *json_number_literal(const cJSON *item)
{
    if (!cJSON_IsRaw(item) || !item->valuestring)
        return NULL;
    const char *s = item->valuestring;
    size_t n = strlen(s);
    return n > 0 && number_len(s, n) == n ? s : NULL;
}

bool json_is_number(const cJSON *item)
{
    return cJSON_IsNumber(item) || json_number_literal(item) != NULL;
}

void json_number_digits(const char *literal, int *int_digits, int *frac_digits)
{
    const char *p = literal + (*literal == '-');
    char digits[400];
    int nd = 0, point = -1;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.')
            point = nd;
        else if (nd < (int)sizeof digits)
            digits[nd++] = *p;
    }
    long exp = (*p == 'e' || *p == 'E') ? strtol(p + 1, NULL, 10) : 0;
    if (exp > 400 || exp < -400) /* finite literals reach here; clamp absurd exponents */
        exp = exp > 0 ? 400 : -400;
    long pos = (point < 0 ? nd : point) + exp; /* digits before the point */
    int first = 0, last = nd - 1;
    while (first < nd && digits[first] == '0')
        first++;
    while (last >= first && digits[last] == '0')
        last--;
    if (first > last) {
        *int_digits = *frac_digits = 0;
        return;
    }
    *int_digits = pos > first ? (int)(pos - first) : 0;
    *frac_digits = last + 1 > pos ? (int)(last + 1 - pos) : 0;
}

/* A number's value as a double (a Raw literal through strtod). */
static double number_value(const cJSON *item)
{
    const char *lit = json_number_literal(item);
    return lit ? strtod(lit, NULL) : item->valuedouble;
}

/* Significant digits of a number item; a cJSON double counts as 15 (what it holds). */
static int number_digits(const cJSON *item)
{
    const char *lit = json_number_literal(item);
    if (!lit)
        return 15;
    int i = 0, f = 0;
    json_number_digits(lit, &i, &f);
    return i + f;
}

bool json_same_value(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (!json_is_number(a) || !json_is_number(b))
        return cJSON_Compare(a, b, true);
    const char *la = json_number_literal(a), *lb = json_number_literal(b);
    if (la && lb && strcmp(la, lb) == 0)
        return true;
    /* 5 and 5.0 are one value; beyond a double's 15 digits only the literals can tell. */
    return number_digits(a) <= 15 && number_digits(b) <= 15 && number_value(a) == number_value(b);
}
