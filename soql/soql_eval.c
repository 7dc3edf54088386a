/* SOQL evaluation over JSON records: WHERE (soql_matches), ORDER BY (soql_compare), the
 * whole query (soql_execute: filter, stable sort, OFFSET, LIMIT, projection) and field
 * validation. Records are cJSON objects as Salesforce returns them; field names match
 * keys case-insensitively (Salesforce field names are case-insensitive) and output keeps
 * the record's own spelling. Missing fields and JSON null are both "null". */
#include "soql/soql_internal.h"
#include "util/alloc.h"
#include "util/sfid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- accessors ---- */

const char *soql_from(const soql_query *q)
{
    return q->from;
}

bool soql_is_count(const soql_query *q)
{
    return q->is_count;
}

bool soql_is_aggregate(const soql_query *q)
{
    return q->aggregate;
}

size_t soql_field_count(const soql_query *q)
{
    return q->nfields;
}

const char *soql_field(const soql_query *q, size_t i)
{
    return i < q->nfields ? q->fields[i].name : NULL;
}

long soql_limit(const soql_query *q)
{
    return q->limit;
}

long soql_offset(const soql_query *q)
{
    return q->offset;
}

/* ---- values ---- */

static bool seg_equal(const char *key, const char *seg, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char a = key[i], b = seg[i];
        if (a == '\0')
            return false;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return key[n] == '\0';
}

static cJSON *get_ci(const cJSON *obj, const char *seg, size_t n)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    for (cJSON *c = obj->child; c; c = c->next)
        if (c->string && seg_equal(c->string, seg, n))
            return c;
    return NULL;
}

const cJSON *soql_lookup(const cJSON *record, const char *path)
{
    const cJSON *v = record;
    while (v) {
        size_t n = strcspn(path, ".");
        v = get_ci(v, path, n);
        if (path[n] == '\0')
            return v;
        path += n + 1;
    }
    return NULL;
}

static bool is_null(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static bool parse_number(const char *s, double *out)
{
    char *end = NULL;
    *out = strtod(s, &end);
    return end && end != s && *end == '\0';
}

/* A record's string as a number or boolean, for mirrors that keep them as text. */
static bool string_as_number(const cJSON *v, double *out)
{
    return cJSON_IsString(v) && parse_number(v->valuestring, out);
}

static bool value_as_bool(const cJSON *v, bool *out)
{
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (!cJSON_IsString(v))
        return false;
    *out = soql_strcasecmp(v->valuestring, "true") == 0;
    return *out || soql_strcasecmp(v->valuestring, "false") == 0;
}

/* Salesforce accepts a 15-char Id where the record holds the 18-char form (and back):
 * those compare on the case-sensitive 15-char key. */
static bool ids_15_18(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return ((la == 15 && lb == 18) || (la == 18 && lb == 15)) && sfid_is_valid(a) &&
           sfid_is_valid(b);
}

/* Three-way compare of a non-null record value against a literal into *out. false: the
 * types do not compare (a text field against a number literal that is not numeric...). */
static bool cmp_lit(const cJSON *v, const struct soql_lit *l, int *out)
{
    double d = 0;
    int64_t ms = 0;
    bool b = false;
    switch (l->kind) {
    case SOQL_LIT_NUM:
        if (cJSON_IsNumber(v))
            d = v->valuedouble;
        else if (!string_as_number(v, &d))
            return false;
        *out = cmp_num(d, l->num);
        return true;
    case SOQL_LIT_STR:
        if (!cJSON_IsString(v))
            return false;
        *out = ids_15_18(v->valuestring, l->str) ? strncmp(v->valuestring, l->str, 15)
                                                 : soql_strcasecmp(v->valuestring, l->str);
        return true;
    case SOQL_LIT_BOOL:
        if (!value_as_bool(v, &b))
            return false;
        *out = (int)b - (int)l->b;
        return true;
    case SOQL_LIT_DATE:
    case SOQL_LIT_DATETIME:
        /* Both sides as instants: "2024-01-02T03:04:05.000+0000" vs 2024-01-02T03:04:05Z. */
        if (!cJSON_IsString(v) || !time_parse_sf(v->valuestring, &ms))
            return false;
        *out = cmp_i64(ms, l->ms);
        return true;
    case SOQL_LIT_DATERANGE:
        /* TODAY and friends name a range: = is inside it, < before it, > after it,
         * <= before its end, >= from its start (as Salesforce compares date literals). */
        if (!cJSON_IsString(v) || !time_parse_sf(v->valuestring, &ms))
            return false;
        *out = ms < l->ms ? -1 : ms >= l->hi ? 1 : 0;
        return true;
    case SOQL_LIT_NULL:
        return false;
    }
    return false;
}

static bool lit_equals(const cJSON *v, const struct soql_lit *l)
{
    int c;
    if (l->kind == SOQL_LIT_NULL)
        return is_null(v);
    return !is_null(v) && cmp_lit(v, l, &c) && c == 0;
}

static bool in_list(const cJSON *v, const struct soql_node *n)
{
    for (size_t i = 0; i < n->nlits; i++)
        if (lit_equals(v, &n->lits[i]))
            return true;
    return false;
}

/* The comparison n applied to the value v (NULL: absent). */
static bool eval_value(const struct soql_node *n, const cJSON *v)
{
    const struct soql_lit *l = &n->lits[0];
    int c = 0;
    switch (n->op) {
    case SOQL_OP_IN:
        return in_list(v, n);
    case SOQL_OP_NOT_IN:
        return !in_list(v, n);
    case SOQL_OP_EQ:
        return lit_equals(v, l);
    case SOQL_OP_NE:
        return !lit_equals(v, l);
    case SOQL_OP_LIKE:
        return cJSON_IsString(v) && soql_like_match(l, v->valuestring);
    case SOQL_OP_LT:
    case SOQL_OP_GT:
    case SOQL_OP_LE:
    case SOQL_OP_GE:
        break;
    }
    /* Ordering against null (either side) is never true, as in Salesforce. */
    if (is_null(v) || !cmp_lit(v, l, &c))
        return false;
    return n->op == SOQL_OP_LT   ? c < 0
           : n->op == SOQL_OP_GT ? c > 0
           : n->op == SOQL_OP_LE ? c <= 0
                                 : c >= 0;
}

/* A group of rows, as HAVING and the ORDER BY of an aggregate query see it. */
typedef struct group {
    const void *const *rows; /* const cJSON * each */
    size_t n;
} group;

/* COUNT(field): the rows where field is not null. COUNT(Id) counts every row, as
 * COUNT() does ("COUNT(Id) returns the same count as COUNT()", SOQL guide), even one a
 * local cache holds before its create has synced and given it an Id. */
static size_t count_in(const group *g, const char *field)
{
    if (soql_strcasecmp(field, "Id") == 0)
        return g->n;
    size_t count = 0;
    for (size_t i = 0; i < g->n; i++)
        count += !is_null(soql_lookup(g->rows[i], field));
    return count;
}

/* A record (g NULL), or a group in HAVING: COUNT(field) counts it, a grouped field has
 * its group's value (every row holds an equal one). */
static bool eval_cmp(const struct soql_node *n, const cJSON *record, const group *g)
{
    if (!n->count)
        return eval_value(n, soql_lookup(g ? g->rows[0] : record, n->field.name));
    cJSON *v = cJSON_CreateNumber((double)count_in(g, n->field.name));
    bool ok = eval_value(n, v);
    cJSON_Delete(v);
    return ok;
}

/* Recursion depth is bounded by SOQL_MAX_DEPTH: the parser builds n-ary AND/OR nodes. */
static bool eval_node(const struct soql_node *n, const cJSON *record, const group *g)
{
    switch (n->kind) {
    case SOQL_NODE_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval_node(n->kids[i], record, g))
                return false;
        return true;
    case SOQL_NODE_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval_node(n->kids[i], record, g))
                return true;
        return false;
    case SOQL_NODE_NOT:
        return !eval_node(n->kids[0], record, g);
    case SOQL_NODE_CMP:
        return eval_cmp(n, record, g);
    }
    return false;
}

bool soql_matches(const soql_query *q, const cJSON *record)
{
    return !q->where || eval_node(q->where, record, NULL);
}

/* ---- index hint ---- */

static const struct soql_node *key_node(const struct soql_node *n)
{
    if (n->kind == SOQL_NODE_CMP && (n->op == SOQL_OP_EQ || n->op == SOQL_OP_IN)) {
        for (size_t i = 0; i < n->nlits; i++)
            if (n->lits[i].kind != SOQL_LIT_STR)
                return NULL;
        return n->nlits ? n : NULL;
    }
    if (n->kind != SOQL_NODE_AND)
        return NULL;
    /* Only direct comparisons: an OR below the AND could widen the match set. */
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->kind == SOQL_NODE_CMP && key_node(n->kids[i]))
            return n->kids[i];
    return NULL;
}

size_t soql_where_keys(const soql_query *q, const char **field)
{
    const struct soql_node *n = q->where ? key_node(q->where) : NULL;
    *field = n ? n->field.name : NULL;
    return n ? n->nlits : 0;
}

const char *soql_where_key(const soql_query *q, size_t i)
{
    const struct soql_node *n = q->where ? key_node(q->where) : NULL;
    return n && i < n->nlits ? n->lits[i].str : NULL;
}

/* ---- range hint ---- */

static bool floor_node(const struct soql_node *n, const char *field, int64_t *ms)
{
    bool found = false;
    switch (n->kind) {
    case SOQL_NODE_CMP:
        found = (n->op == SOQL_OP_GT || n->op == SOQL_OP_GE || n->op == SOQL_OP_EQ) &&
                n->nlits == 1 && n->lits[0].kind == SOQL_LIT_DATETIME && !n->count &&
                strcasecmp(n->field.name, field) == 0;
        if (found)
            *ms = n->lits[0].ms;
        return found;
    case SOQL_NODE_AND: /* any operand bounds the conjunction: take the highest */
        for (size_t i = 0; i < n->nkids; i++) {
            int64_t k = 0;
            if (floor_node(n->kids[i], field, &k) && (!found || k > *ms)) {
                *ms = k;
                found = true;
            }
        }
        return found;
    case SOQL_NODE_OR: /* every operand must be bounded: the lowest bound holds */
        for (size_t i = 0; i < n->nkids; i++) {
            int64_t k = 0;
            if (!floor_node(n->kids[i], field, &k))
                return false;
            if (!found || k < *ms)
                *ms = k;
            found = true;
        }
        return found;
    case SOQL_NODE_NOT:
        return false;
    }
    return false;
}

bool soql_where_floor(const soql_query *q, const char *field, int64_t *floor_ms)
{
    return q->where && floor_node(q->where, field, floor_ms);
}

/* ---- ORDER BY ---- */

static int type_rank(const cJSON *v)
{
    return cJSON_IsBool(v) ? 0 : cJSON_IsNumber(v) ? 1 : cJSON_IsString(v) ? 2 : 3;
}

/* Two timestamps printed the same way (same length, digits in the same places, same
 * offset suffix, as every Salesforce response prints them) order like their text, which
 * saves two timegm() calls per comparison when sorting by SystemModstamp. */
static bool same_shape_timestamps(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n < 10 || n != strlen(b) || a[4] != '-' || a[7] != '-' || (n > 10 && a[10] != 'T'))
        return false;
    for (size_t i = 0; i < n; i++) {
        bool da = a[i] >= '0' && a[i] <= '9', db = b[i] >= '0' && b[i] <= '9';
        if (da != db || (!da && a[i] != b[i]))
            return false;
    }
    return n == 10 || (n > 15 && memcmp(a + n - 5, b + n - 5, 5) == 0);
}

/* Non-null values from two records. Strings that are both dates/dateTimes compare as
 * instants (offsets may differ); other strings case-insensitively, as Salesforce sorts. */
static int cmp_values(const cJSON *a, const cJSON *b)
{
    int64_t ma, mb;
    if (type_rank(a) != type_rank(b))
        return type_rank(a) - type_rank(b);
    if (cJSON_IsNumber(a))
        return cmp_num(a->valuedouble, b->valuedouble);
    if (cJSON_IsBool(a))
        return (int)cJSON_IsTrue(a) - (int)cJSON_IsTrue(b);
    if (!cJSON_IsString(a))
        return 0;
    if (same_shape_timestamps(a->valuestring, b->valuestring))
        return strcmp(a->valuestring, b->valuestring);
    if (time_parse_sf(a->valuestring, &ma) && time_parse_sf(b->valuestring, &mb))
        return cmp_i64(ma, mb);
    return soql_strcasecmp(a->valuestring, b->valuestring);
}

int soql_compare(const soql_query *q, const cJSON *a, const cJSON *b)
{
    for (size_t i = 0; i < q->norder; i++) {
        const struct soql_order *o = &q->order[i];
        const cJSON *va = soql_lookup(a, o->field.name), *vb = soql_lookup(b, o->field.name);
        bool na = is_null(va), nb = is_null(vb);
        if (na && nb)
            continue;
        if (na || nb) /* NULLS FIRST/LAST place nulls whatever the direction */
            return (na ? -1 : 1) * (o->nulls_last ? -1 : 1);
        int c = cmp_values(va, vb);
        if (c)
            return o->desc ? (c < 0 ? 1 : -1) : (c < 0 ? -1 : 1);
    }
    return 0;
}

typedef int (*cmp_fn)(const void *ctx, const void *a, const void *b);

/* Stable merge sort (qsort is not stable, and equal keys must keep input order). */
static void merge_sort(const void **v, const void **tmp, size_t n, cmp_fn cmp, const void *ctx)
{
    if (n < 2)
        return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    merge_sort(v, tmp, h, cmp, ctx);
    merge_sort(v + h, tmp, n - h, cmp, ctx);
    while (i < h && j < n)
        tmp[k++] = cmp(ctx, v[j], v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static void sort_stable(const void **v, size_t n, cmp_fn cmp, const void *ctx)
{
    if (n < 2)
        return;
    const void **tmp = xcalloc(n, sizeof *tmp);
    merge_sort(v, tmp, n, cmp, ctx);
    free(tmp);
}

static int cmp_records(const void *ctx, const void *a, const void *b)
{
    return soql_compare(ctx, a, b);
}

/* ---- projection ---- */

static void add_path(cJSON *out, const cJSON *src, const char *path)
{
    size_t n = strcspn(path, ".");
    const cJSON *v = get_ci(src, path, n);
    cJSON *have = get_ci(out, path, n);
    char *name = v ? xstrdup(v->string) : xstrndup(path, n);
    if (path[n] == '\0' || !cJSON_IsObject(v)) {
        /* A leaf, or a relationship that is empty in this record: Salesforce gives null. */
        if (!have)
            cJSON_AddItemToObject(
                out, name, path[n] == '\0' && v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    } else {
        if (!cJSON_IsObject(have)) {
            const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(v, "attributes");
            if (have)
                cJSON_DeleteItemFromObjectCaseSensitive(out, have->string);
            have = cJSON_AddObjectToObject(out, name);
            if (attrs)
                cJSON_AddItemToObject(have, "attributes", cJSON_Duplicate(attrs, true));
        }
        add_path(have, v, path + n + 1);
    }
    free(name);
}

cJSON *soql_project(const soql_query *q, const cJSON *rec)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(rec, "attributes");
    if (attrs)
        cJSON_AddItemToObject(out, "attributes", cJSON_Duplicate(attrs, true));
    for (size_t i = 0; i < q->nfields; i++)
        add_path(out, rec, q->fields[i].name);
    return out;
}

/* ---- aggregate queries ---- */

static size_t window(const soql_query *q, size_t n, size_t *first)
{
    size_t off = q->offset > 0 ? (size_t)q->offset : 0;
    *first = off < n ? off : n;
    size_t left = n - *first;
    return q->limit >= 0 && (size_t)q->limit < left ? (size_t)q->limit : left;
}

/* Rows of one group compare 0: on every GROUP BY field both null, or equal as ORDER BY
 * compares them (strings case-insensitively). */
static int cmp_group_keys(const void *ctx, const void *a, const void *b)
{
    const soql_query *q = ctx;
    for (size_t i = 0; i < q->ngroup; i++) {
        const cJSON *va = soql_lookup(a, q->group[i].name), *vb = soql_lookup(b, q->group[i].name);
        bool na = is_null(va), nb = is_null(vb);
        if (na != nb)
            return na ? -1 : 1;
        int c = na ? 0 : cmp_values(va, vb);
        if (c)
            return c;
    }
    return 0;
}

/* A grouped field's value for the group: its first row's (input order; the rows of a
 * group compare equal, but may differ in letter case). */
static const cJSON *group_value(const group *g, const char *field)
{
    return g->n ? soql_lookup(g->rows[0], field) : NULL;
}

/* ORDER BY of an aggregate query (grouped fields and COUNTs), then the group keys
 * ascending, so groups come in one defined order with or without ORDER BY. */
static int cmp_groups(const void *ctx, const void *a, const void *b)
{
    const soql_query *q = ctx;
    const group *ga = a, *gb = b;
    if (q->ngroup == 0)
        return 0; /* one group */
    for (size_t i = 0; i < q->norder; i++) {
        const struct soql_order *o = &q->order[i];
        int c = 0;
        if (o->count) {
            size_t ca = count_in(ga, o->field.name), cb = count_in(gb, o->field.name);
            c = (ca > cb) - (ca < cb);
        } else {
            const cJSON *va = soql_lookup(ga->rows[0], o->field.name);
            const cJSON *vb = soql_lookup(gb->rows[0], o->field.name);
            bool na = is_null(va), nb = is_null(vb);
            if (na != nb)
                return (na ? -1 : 1) * (o->nulls_last ? -1 : 1);
            c = na ? 0 : cmp_values(va, vb);
        }
        if (c)
            return o->desc ? -c : c;
    }
    return cmp_group_keys(q, ga->rows[0], gb->rows[0]);
}

/* One AggregateResult: the SELECT entries in order under their keys. */
static cJSON *aggregate_row(const soql_query *q, const group *g)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(rec, "attributes");
    cJSON_AddStringToObject(attrs, "type", "AggregateResult");
    for (size_t i = 0; i < q->nitems; i++) {
        const struct soql_item *it = &q->items[i];
        const cJSON *v = it->count ? NULL : group_value(g, it->field.name);
        if (it->count)
            cJSON_AddNumberToObject(rec, it->key, (double)count_in(g, it->field.name));
        else
            cJSON_AddItemToObject(rec, it->key,
                                  is_null(v) ? cJSON_CreateNull() : cJSON_Duplicate(v, true));
    }
    return rec;
}

/* rows (the WHERE matches, in input order) into groups: without GROUP BY one group,
 * even of no rows (COUNT(Id) of nothing is 0). Caller frees. */
static group *make_groups(const soql_query *q, const void **rows, size_t n, size_t *ngroups)
{
    group *gs = xcalloc(n + 1, sizeof *gs);
    size_t ng = 0;
    if (q->ngroup == 0) {
        gs[ng++] = (group){rows, n};
    } else {
        sort_stable(rows, n, cmp_group_keys, q);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i + 1; j < n && cmp_group_keys(q, rows[i], rows[j]) == 0; j++)
                ;
            gs[ng++] = (group){rows + i, j - i};
        }
    }
    *ngroups = ng;
    return gs;
}

/* GROUP BY, HAVING, ORDER BY, then OFFSET and LIMIT over the groups. */
static cJSON *execute_aggregate(const soql_query *q, const void **rows, size_t n, size_t *total)
{
    size_t ng = 0, kept = 0;
    group *gs = make_groups(q, rows, n, &ng);
    const void **gp = xcalloc(ng + 1, sizeof *gp);
    for (size_t i = 0; i < ng; i++)
        if (!q->having || eval_node(q->having, NULL, &gs[i]))
            gp[kept++] = &gs[i];
    sort_stable(gp, kept, cmp_groups, q);
    size_t first, count = window(q, kept, &first);
    cJSON *out = cJSON_CreateArray();
    for (size_t i = first; i < first + count; i++)
        cJSON_AddItemToArray(out, aggregate_row(q, gp[i]));
    *total = count;
    free(gp);
    free(gs);
    return out;
}

cJSON *soql_execute(const soql_query *q, const cJSON *records, size_t *total)
{
    size_t cap = (size_t)(cJSON_IsArray(records) ? cJSON_GetArraySize(records) : 0), n = 0;
    const void **rows = xcalloc(cap + 1, sizeof *rows);
    for (const cJSON *r = cap ? records->child : NULL; r && n < cap; r = r->next)
        if (cJSON_IsObject(r) && soql_matches(q, r))
            rows[n++] = r;
    cJSON *out;
    if (q->aggregate) {
        out = execute_aggregate(q, rows, n, &n);
    } else {
        if (q->norder)
            sort_stable(rows, n, cmp_records, q);
        size_t first, count = window(q, n, &first);
        out = cJSON_CreateArray();
        for (size_t i = first; !q->is_count && i < first + count; i++)
            cJSON_AddItemToArray(out, soql_project(q, rows[i]));
        n = count; /* totalSize counts only the rows LIMIT/OFFSET let through; COUNT():
                    * it is the count, records [] */
    }
    if (total)
        *total = n;
    free(rows);
    return out;
}

/* ---- field validation ---- */

typedef struct check {
    const soql_query *q;
    soql_field_exists_fn exists;
    void *ctx;
    soql_error *err;
} check;

static bool check_one(const check *c, const struct soql_fieldref *f)
{
    if (!f->name || c->exists(f->name, c->ctx))
        return true;
    char text[400];
    snprintf(text, sizeof text,
             "No such column '%.64s' on entity '%.64s'. If you are attempting to use a custom "
             "field, be sure to append the '__c' after the custom field name. Please reference "
             "your WSDL or the describe call for the appropriate names.",
             f->name, c->q->from);
    soql_error_at(c->err, "INVALID_FIELD", c->q->text, f->pos, text);
    return false;
}

static bool check_node(const check *c, const struct soql_node *n)
{
    if (!n)
        return true;
    if (n->kind == SOQL_NODE_CMP)
        return check_one(c, &n->field);
    for (size_t i = 0; i < n->nkids; i++)
        if (!check_node(c, n->kids[i]))
            return false;
    return true;
}

bool soql_check_fields(const soql_query *q, soql_field_exists_fn exists, void *ctx, soql_error *err)
{
    check c = {q, exists, ctx, err};
    for (size_t i = 0; i < q->nfields; i++)
        if (!check_one(&c, &q->fields[i]))
            return false;
    for (size_t i = 0; i < q->nitems; i++)
        if (!check_one(&c, &q->items[i].field))
            return false;
    if (!check_node(&c, q->where))
        return false;
    for (size_t i = 0; i < q->ngroup; i++)
        if (!check_one(&c, &q->group[i]))
            return false;
    if (!check_node(&c, q->having))
        return false;
    for (size_t i = 0; i < q->norder; i++)
        if (!check_one(&c, &q->order[i].field))
            return false;
    return true;
}
