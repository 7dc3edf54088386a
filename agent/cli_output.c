/*
 * Output: aligned tables for people, JSON objects for scripts. Tables measure cells in
 * terminal columns (wide CJK and emoji count two) so a unicode Subject does not push later columns
 * out of line, and cut long cells with "..." so one long Description does not wrap the whole table.
 */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli.h"

#define MAX_CELL 60 /* terminal columns shown per list cell */

struct cli_table {
    size_t ncols;
    size_t nrows; /* including the header row */
    size_t cap;
    size_t max;     /* columns per cell, 0: no limit */
    char **cells;   /* nrows * ncols */
    size_t *widths; /* terminal columns of each cell, measured once when it is added */
};

/*
 * Decode the UTF-8 sequence at s into *cp; returns its length (invalid bytes count as one
 * byte of width 1, so a bad string still prints aligned).
 */
static size_t decode(const unsigned char *s, wchar_t *cp)
{
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (n <= 1) {
        *cp = n == 1 ? (wchar_t)s[0] : (wchar_t)-1;
        return 1;
    }
    unsigned long v = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = (wchar_t)-1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = (wchar_t)v;
    return n;
}

/* Terminal columns of one code point: wide CJK and emoji take two. ASCII is one column
 * without asking wcwidth(): printable characters are one wide, and control characters are
 * shown as a space (cell_copy). Most cells are ASCII, and a list measured every character
 * through wcwidth() (a sixth of `case list`'s instructions). wcwidth() needs a UTF-8
 * LC_CTYPE, set the first time it is asked (tables are built on the main thread): loading
 * the locale opens and maps files, which a command printing ASCII never needs; nothing
 * else in the program depends on the locale, and numbers stay in the C locale. */
static size_t cp_width(wchar_t cp)
{
    static bool utf8_ctype;
    if (cp >= 0 && cp < 0x80)
        return 1;
    if (cp == (wchar_t)-1)
        return 1;
    if (!utf8_ctype) {
        setlocale(LC_CTYPE, "C.UTF-8");
        utf8_ctype = true;
    }
    int w = wcwidth(cp);
    return w < 0 ? 1 : (size_t)w;
}

static size_t display_width(const char *s)
{
    size_t w = 0;
    wchar_t cp;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        p += decode(p, &cp);
        w += cp_width(cp);
    }
    return w;
}

/*
 * Copy of s for a cell, control characters shown as spaces; with max > 0 cut to at most
 * max columns ending in "...". *width gets the copy's terminal columns.
 */
static char *cell_copy(const char *s, size_t max, size_t *width)
{
    if (!s) {
        *width = 1;
        return cli_strdup("-");
    }
    size_t len = strlen(s);
    size_t keep = max > 0 && display_width(s) > max ? max - 3 : (size_t)-1;
    char *out = malloc(len + 4);
    if (!out)
        abort();
    size_t w = 0, j = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        wchar_t cp;
        size_t n = decode(p, &cp), cw = cp_width(cp);
        if (w + cw > keep) {
            memcpy(out + j, "...", 3);
            j += 3;
            w += 3;
            break;
        }
        w += cw;
        for (size_t k = 0; k < n; k++)
            out[j++] = p[k] < 0x20 || p[k] == 0x7F ? ' ' : (char)p[k];
        p += n;
    }
    out[j] = '\0';
    *width = w;
    return out;
}

static void table_push(cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
        t->widths = realloc(t->widths, t->cap * t->ncols * sizeof *t->widths);
        if (!t->cells || !t->widths)
            abort();
    }
    for (size_t c = 0; c < t->ncols; c++) {
        size_t i = t->nrows * t->ncols + c;
        t->cells[i] = cell_copy(cells[c], t->max, &t->widths[i]);
    }
    t->nrows++;
}

cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->ncols = ncols;
    /* Lists are cut so one long value cannot wrap every row; key/value views show all. */
    t->max = headers ? MAX_CELL : 0;
    if (headers) /* NULL: a key/value listing without a header row */
        table_push(t, headers);
    return t;
}

void cli_table_add(cli_table *table, const char *const *cells)
{
    table_push(table, cells);
}

void cli_table_print(const cli_table *t)
{
    size_t *width = calloc(t->ncols, sizeof *width);
    if (!width)
        abort();
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = t->widths[r * t->ncols + c];
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            fputs(cell, stdout);
            if (c + 1 < t->ncols)
                printf("%*s", (int)(width[c] - t->widths[r * t->ncols + c] + 2), "");
        }
        fputc('\n', stdout);
    }
    free(width);
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->widths);
    free(t);
}

static void add_string_or_null(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
    else
        cJSON_AddNullToObject(obj, name);
}

/* The next number literal in JSON text at or after *p (strings skipped); its length in
 * *len, NULL when there is none. */
static const char *next_number(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s) {
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++)
                if (*s == '\\' && s[1])
                    s++;
            if (*s)
                s++;
        } else if (*s == '-' || (*s >= '0' && *s <= '9')) {
            const char *start = s;
            s += strspn(s, "+-0123456789.eE");
            *len = (size_t)(s - start);
            *p = s;
            return start;
        } else {
            s++;
        }
    }
    *p = s;
    return NULL;
}

/* Replace each number item under item, in document order, by a Raw item holding the next
 * literal of the text (cJSON keeps members and elements in text order). */
static void numbers_to_literals(cJSON *item, const char **p)
{
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            size_t len = 0;
            const char *lit = next_number(p, &len);
            if (!lit)
                return;
            char *copy = malloc(len + 1);
            if (!copy)
                abort();
            memcpy(copy, lit, len);
            copy[len] = '\0';
            item->type = cJSON_Raw; /* printed verbatim; cJSON_Delete frees valuestring */
            item->valuestring = copy;
        }
        numbers_to_literals(item->child, p);
    }
}

cJSON *cli_json_parse_exact(const char *text)
{
    cJSON *item = text ? cJSON_Parse(text) : NULL;
    const char *p = text;
    if (item)
        numbers_to_literals(item, &p);
    return item;
}

/* Parsed JSON text (numbers exact), or null when text is NULL or (defensively) not JSON. */
static cJSON *parse_or_null(const char *text)
{
    cJSON *item = cli_json_parse_exact(text);
    return item ? item : cJSON_CreateNull();
}

cJSON *cli_record_to_json(const sfa_record *r)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        abort();
    add_string_or_null(obj, "localId", r->local_id);
    add_string_or_null(obj, "sobject", r->sobject);
    add_string_or_null(obj, "id", r->sf_id);
    add_string_or_null(obj, "caseNumber", r->case_number);
    cJSON_AddItemToObject(obj, "fields", parse_or_null(r->fields_json));
    cJSON_AddStringToObject(obj, "syncState", sfa_record_sync_state_name(r->sync_state));
    cJSON_AddBoolToObject(obj, "dirty", r->dirty);
    cJSON_AddBoolToObject(obj, "deleted", r->deleted);
    add_string_or_null(obj, "systemModstamp", r->sys_modstamp);
    cJSON_AddNumberToObject(obj, "createdAtMs", (double)r->created_at_ms);
    cJSON_AddNumberToObject(obj, "updatedAtMs", (double)r->updated_at_ms);
    return obj;
}

cJSON *cli_op_to_json(const sfa_op *op)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        abort();
    cJSON_AddNumberToObject(obj, "seq", (double)op->seq);
    add_string_or_null(obj, "opId", op->op_id);
    add_string_or_null(obj, "sobject", op->sobject);
    add_string_or_null(obj, "localId", op->local_id);
    cJSON_AddStringToObject(obj, "kind", sfa_op_kind_name(op->kind));
    cJSON_AddItemToObject(obj, "fields", parse_or_null(op->fields_json));
    cJSON_AddStringToObject(obj, "state", sfa_op_state_name(op->state));
    cJSON_AddNumberToObject(obj, "attempts", op->attempts);
    cJSON_AddNumberToObject(obj, "nextAttemptAtMs", (double)op->next_attempt_at_ms);
    add_string_or_null(obj, "lastErrorCode", op->last_error_code);
    add_string_or_null(obj, "lastError", op->last_error);
    cJSON_AddNumberToObject(obj, "createdAtMs", (double)op->created_at_ms);
    cJSON_AddNumberToObject(obj, "updatedAtMs", (double)op->updated_at_ms);
    return obj;
}

char *cli_field_text(const cJSON *fields, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, name);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return cli_strdup(v->valuestring);
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        abort();
    return text;
}
