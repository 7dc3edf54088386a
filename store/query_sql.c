/* Local SOQL compiled to one SQLite statement over the mirror: the WHERE clause, ORDER BY,
 * LIMIT/OFFSET and COUNT run inside SQLite, so a query reads only the rows it needs
 * (through the indexes of migration 0006 where the query allows) and returns only the
 * rows it outputs. store/query.c projects each returned row with soql_project().
 *
 * Invariants:
 * Q1. The SQL text is made of fixed fragments and of expressions from fixed tables
 *     (INDEXED below); everything the query names (literals, JSON paths, the sObject) is
 *     a bound parameter. Field names reach SQL only as bound JSON paths, except a field
 *     with a declared index (store/indexes.c), whose name is a checked API name written
 *     into the same expression the index is built on, so that SQLite matches the two.
 * Q2. Each comparison means what soql_matches() (soql/soql_eval.c) means: strings
 *     compare ASCII case-insensitively and only with strings; a 15-char Id equals its
 *     18-char form; numbers compare with numbers and numeric text; booleans with
 *     booleans and "true"/"false"; dates and dateTimes as instants; null equals only
 *     NULL and never orders; LIKE is case-insensitive with % and _ (one character).
 * Q3. Predicates are two-valued: SQL's NULL (unknown) only ever means false, because
 *     every NOT (and != and NOT IN) wraps its operand in coalesce(..., 0).
 * Q4. Ties keep the evaluator's input order, created_at then rowid, after the ORDER BY
 *     keys; strings sort with COLLATE NOCASE as SOQL sorts them, nulls first unless
 *     NULLS LAST.
 * Q7. A relationship field (Contact.LastName on Case) reads the referenced record when the
 *     mirror caches it, found by the reference field's value (ContactId) as Salesforce Id
 *     or local id; a nested object the record itself holds wins. 15-char Id values are
 *     not matched (Salesforce answers 18).
 * Q5. A field that no cached record of the sObject has had (record_fields) and that
 *     the cached describe does not list is refused, unless nothing of the sObject is
 *     cached at all: an empty answer then says the same thing.
 * Q8. An aggregate query (GROUP BY, COUNT(field)) is one SQL GROUP BY: rows group where
 *     the field is equal COLLATE NOCASE (null with null), a grouped field shows its value
 *     in the group's first record (created_at, rowid), COUNT(field) is count(), HAVING is
 *     SQL's HAVING, and groups are ordered by ORDER BY then by the group keys, as
 *     soql_execute() does. Nothing groups in C.
 * Q9. A SELECT list of distinct top-level fields is projected inside SQLite: each row is
 *     the record's JSON text, as soql_project() shapes it (attributes, then the fields in
 *     SELECT order, missing ones null), keyed by the catalog's spelling.
 * Known differences from the evaluator, all outside what Salesforce data produces:
 * ORDER BY over a field that holds booleans and numbers mixed orders them as numbers;
 * timestamps with different UTC offsets order as text; ordering comparisons (< >) of a
 * 15-char Id literal against 18-char values compare as text; GROUP BY puts a JSON true
 * and the number 1 (false and 0) in one group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "soql/soql_internal.h"
#include "store/describe.h"
#include "store/query_sql.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define MAX_SPELLINGS 4

/* The fields with a default index: the value is the column of the mirror that holds
 * json_extract(fields, '$.<Field>') (migration 0013, store/sql.h STORE_FIELD_COLS), which
 * the index records_f_<field> is built on and covers, so a count or a filter on it never
 * reads a record (Q1). The JSON type still comes from the JSON text. CaseNumber is a
 * column of the mirror for Case only. */
static const struct indexed {
    const char *name;
    const char *value;
    const char *type;
} INDEXED[] = {
    {"Status", "r.f_status", "json_type(r.fields, '$.Status')"},
    {"OwnerId", "r.f_ownerid", "json_type(r.fields, '$.OwnerId')"},
    {"ContactId", "r.f_contactid", "json_type(r.fields, '$.ContactId')"},
    {"AccountId", "r.f_accountid", "json_type(r.fields, '$.AccountId')"},
    {"LastModifiedDate", "r.f_lastmodifieddate", "json_type(r.fields, '$.LastModifiedDate')"},
    {"CreatedDate", "r.f_createddate", "json_type(r.fields, '$.CreatedDate')"},
};

static bool is_case(const char *sobject)
{
    return strcasecmp(sobject, "Case") == 0;
}

const char *store_indexed_expr(const char *sobject, const char *field)
{
    if (is_case(sobject) && strcasecmp(field, "CaseNumber") == 0)
        return "r.case_number";
    for (size_t i = 0; i < sizeof INDEXED / sizeof INDEXED[0]; i++)
        if (strcasecmp(field, INDEXED[i].name) == 0)
            return INDEXED[i].value;
    return NULL;
}

/* ---- SQL functions for the comparisons SQL has no operator for (Q2) ---- */

/* soql_num(json_type, value): the value as a number when the evaluator would compare it
 * with a number literal (a JSON number, or text that is wholly a number); else NULL. */
static void fn_num(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *type = (const char *)sqlite3_value_text(argv[0]);
    if (!type)
        return;
    if (strcmp(type, "integer") == 0 || strcmp(type, "real") == 0) {
        sqlite3_result_double(cx, sqlite3_value_double(argv[1]));
        return;
    }
    const char *s = (const char *)sqlite3_value_text(argv[1]);
    if (strcmp(type, "text") != 0 || !s)
        return;
    char *end = NULL;
    double d = strtod(s, &end);
    if (end && end != s && *end == '\0')
        sqlite3_result_double(cx, d);
}

/* soql_bool(json_type, value): 1/0 for a JSON boolean or the text true/false (any case). */
static void fn_bool(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *type = (const char *)sqlite3_value_text(argv[0]);
    const char *s = (const char *)sqlite3_value_text(argv[1]);
    if (!type)
        return;
    if (strcmp(type, "true") == 0 || strcmp(type, "false") == 0)
        sqlite3_result_int(cx, type[0] == 't');
    else if (strcmp(type, "text") == 0 && s && strcasecmp(s, "true") == 0)
        sqlite3_result_int(cx, 1);
    else if (strcmp(type, "text") == 0 && s && strcasecmp(s, "false") == 0)
        sqlite3_result_int(cx, 0);
}

/* soql_ms(json_type, value): a Salesforce date or dateTime text as epoch milliseconds. */
static void fn_ms(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *type = (const char *)sqlite3_value_text(argv[0]);
    const char *s = (const char *)sqlite3_value_text(argv[1]);
    int64_t ms = 0;
    if (type && strcmp(type, "text") == 0 && s && time_parse_sf(s, &ms))
        sqlite3_result_int64(cx, ms);
}

static int register_functions(sqlite3 *db)
{
    static const struct {
        const char *name;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {{"soql_num", fn_num}, {"soql_bool", fn_bool}, {"soql_ms", fn_ms}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        /* Already there (an earlier query on this handle): redefining would expire the
         * handle's cached statements for nothing. */
        sqlite3_stmt *probe = NULL;
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT %s(NULL, NULL)", fns[i].name);
        int rc = sqlite3_prepare_v2(db, sql, -1, &probe, NULL);
        sqlite3_finalize(probe);
        if (rc == SQLITE_OK)
            continue;
        rc = sqlite3_create_function_v2(db, fns[i].name, 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                        fns[i].fn, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* ---- the compiler ---- */

typedef enum bind_kind { BIND_TEXT, BIND_REAL, BIND_INT } bind_kind;

typedef struct bindv {
    bind_kind kind;
    char *text;
    double num;
    int64_t i;
} bindv;

struct store_qsql {
    sfa_agent *a;
    const soql_query *q;
    strbuf sql;
    bindv *binds;
    size_t nbinds, cap;
    const char *spellings[MAX_SPELLINGS]; /* the sObject as the mirror spells it */
    char *owned[MAX_SPELLINGS];
    size_t nspellings;
    bool known;       /* Q5: something of the sObject is cached */
    bool row_json;    /* Q9: each row is the projected record's JSON text */
    char *indexed_by; /* Q8: the index a GROUP BY walks in (created_at, rowid) order */
    cJSON *describe;
    char **exprs; /* SQL expressions built for relationship fields (Q7), owned */
    size_t nexprs;
};

/* A field as SQL sees it: fixed expressions (Id, CaseNumber, indexed fields) or a JSON
 * path bound as parameter `param`. */
typedef struct col {
    const char *value, *type;
    int param;
} col;

static int bind_text(store_qsql *c, const char *text)
{
    if (c->nbinds == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->binds = xrealloc(c->binds, c->cap * sizeof *c->binds);
    }
    c->binds[c->nbinds] = (bindv){BIND_TEXT, xstrdup(text), 0, 0};
    return (int)++c->nbinds;
}

static int bind_num(store_qsql *c, bind_kind kind, double num, int64_t i)
{
    int p = bind_text(c, "");
    free(c->binds[p - 1].text);
    c->binds[p - 1] = (bindv){kind, NULL, num, i};
    return p;
}

static void emit_value(store_qsql *c, const col *f)
{
    if (f->value)
        strbuf_adds(&c->sql, f->value);
    else
        strbuf_addf(&c->sql, "json_extract(r.fields, ?%d)", f->param);
}

static void emit_type(store_qsql *c, const col *f)
{
    if (f->type)
        strbuf_adds(&c->sql, f->type);
    else if (f->value)
        strbuf_addf(&c->sql, "typeof(%s)", f->value); /* a text column: 'text' or 'null' */
    else
        strbuf_addf(&c->sql, "json_type(r.fields, ?%d)", f->param);
}

/* The stored spelling of a top-level field from the catalog or the describe; NULL when
 * neither knows it. Caller frees. */
static char *stored_name(store_qsql *c, const char *name)
{
    static const char SQL[] = "SELECT name FROM record_fields WHERE sobject = ?1 AND name = ?2";
    char *found = NULL;
    for (size_t i = 0; i < c->nspellings && !found; i++) {
        sqlite3_stmt *st = store_stmt(c->a, SQL);
        if (!st)
            return NULL;
        sqlite3_bind_text(st, 1, c->spellings[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = xstrdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    const cJSON *f = NULL;
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(c->describe, "fields");
    cJSON_ArrayForEach(f, fields)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (!found && cJSON_IsString(n) && strcasecmp(n->valuestring, name) == 0)
            found = xstrdup(n->valuestring);
    }
    return found;
}

static bool is_identity(const store_qsql *c, const char *name)
{
    return strcasecmp(name, "Id") == 0 ||
           (is_case(c->q->from) && strcasecmp(name, "CaseNumber") == 0);
}

/* "$."Name"" JSON path, each segment double-quoted so any name stays one key. */
static char *json_path(const char *first, const char *rest)
{
    strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "$.\"%s\"", first);
    while (rest && *rest) {
        size_t n = strcspn(rest, ".");
        strbuf_addf(&sb, ".\"%.*s\"", (int)n, rest);
        rest += n + (rest[n] == '.');
    }
    return strbuf_detach(&sb);
}

/* Q7: the reference field behind a relationship name (Contact -> ContactId,
 * Parent__r -> Parent__c), as the mirror spells it; NULL when it is not cached. */
static char *reference_field(store_qsql *c, const char *rel)
{
    size_t n = strlen(rel);
    char *ref = n > 3 && strcasecmp(rel + n - 3, "__r") == 0
                    ? xasprintf("%.*s__c", (int)(n - 3), rel)
                    : xasprintf("%sId", rel);
    char *name = stored_name(c, ref);
    free(ref);
    return name;
}

/* Q5, for soql_check_fields: a dotted name is known by its first segment, or by the
 * reference field of its relationship (Q7). */
static bool field_known(const char *field, void *ctx)
{
    store_qsql *c = ctx;
    if (!c->known || is_identity(c, field))
        return true;
    size_t n = strcspn(field, ".");
    char *head = xstrndup(field, n);
    char *name = stored_name(c, head);
    if (!name && field[n] == '.')
        name = reference_field(c, head);
    free(head);
    free(name);
    return name != NULL;
}

/* Q7: the sObject a reference field points at: its describe's referenceTo, else the
 * relationship name itself (Contact, Account; custom: Parent__r -> Parent__c). */
static char *reference_target(store_qsql *c, const char *ref_field, const char *rel)
{
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c->describe, "fields"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(f, "referenceTo");
        if (cJSON_IsString(n) && strcasecmp(n->valuestring, ref_field) == 0 && cJSON_IsArray(to) &&
            cJSON_IsString(to->child))
            return xstrdup(to->child->valuestring);
    }
    size_t n = strlen(rel);
    if (n > 3 && strcasecmp(rel + n - 3, "__r") == 0)
        return xasprintf("%.*s__c", (int)(n - 3), rel);
    return xstrdup(rel);
}

/* Q7: a relationship field (Contact.LastName on Case) reads the referenced record when it
 * is cached (by its Salesforce Id or, created offline, its local id); a nested object the
 * record itself holds still wins. The expression is kept on c. */
static const char *relationship_expr(store_qsql *c, const char *rel, const char *ref,
                                     const char *rest)
{
    char *nested = json_path(rel, rest);
    size_t n = strcspn(rest, ".");
    char *first = xstrndup(rest, n);
    char *inner = json_path(first, rest[n] ? rest + n + 1 : NULL);
    char *refpath = json_path(ref, NULL);
    char *target = reference_target(c, ref, rel);
    int pn = bind_text(c, nested), pi = bind_text(c, inner), pr = bind_text(c, refpath);
    int pt = bind_text(c, target);
    char *e = xasprintf("coalesce(json_extract(r.fields, ?%d), (SELECT json_extract(p.fields, ?%d)"
                        " FROM records p WHERE p.sobject = ?%d AND p.deleted = 0 AND"
                        " (p.sf_id = json_extract(r.fields, ?%d) OR p.local_id ="
                        " json_extract(r.fields, ?%d)) LIMIT 1))",
                        pn, pi, pt, pr, pr);
    free(nested);
    free(first);
    free(inner);
    free(refpath);
    free(target);
    c->exprs = xrealloc(c->exprs, (c->nexprs + 1) * sizeof *c->exprs);
    c->exprs[c->nexprs++] = e;
    return e;
}

/* Q1: a field with a declared index (store/indexes.c X1, X2: an API name) as the literal
 * expressions the index is built on, so SQLite can match them to it. */
static col declared_col(store_qsql *c, const char *name)
{
    c->exprs = xrealloc(c->exprs, (c->nexprs + 2) * sizeof *c->exprs);
    char *value = xasprintf("json_extract(r.fields, '$.%s')", name);
    char *type = xasprintf("json_type(r.fields, '$.%s')", name);
    c->exprs[c->nexprs++] = value;
    c->exprs[c->nexprs++] = type;
    return (col){value, type, 0};
}

static col resolve_col(store_qsql *c, const char *field)
{
    col f = {NULL, NULL, 0};
    if (strcasecmp(field, "Id") == 0) {
        f.value = "r.sf_id";
        return f;
    }
    if (is_case(c->q->from) && strcasecmp(field, "CaseNumber") == 0) {
        f.value = "r.case_number";
        return f;
    }
    size_t n = strcspn(field, ".");
    char *head = xstrndup(field, n);
    char *name = stored_name(c, head);
    char *ref = !name && field[n] == '.' ? reference_field(c, head) : NULL;
    if (ref) {
        f.value = relationship_expr(c, head, ref, field + n + 1);
        free(ref);
        free(head);
        return f;
    }
    for (size_t i = 0; field[n] == '\0' && i < sizeof INDEXED / sizeof INDEXED[0]; i++)
        if (strcmp(name ? name : head, INDEXED[i].name) == 0) {
            f.value = INDEXED[i].value;
            f.type = INDEXED[i].type;
        }
    if (!f.value && field[n] == '\0' && name && store_field_is_indexed(c->a, name))
        f = declared_col(c, name);
    if (!f.value) {
        char *path = json_path(name ? name : head, field[n] ? field + n + 1 : NULL);
        f.param = bind_text(c, path);
        free(path);
    }
    free(head);
    free(name);
    return f;
}

static void emit_node(store_qsql *c, const struct soql_node *n);

/* soql_ms(type, value) OP ?p: a value compared with a date literal's range bound, as an
 * instant (Q2), whatever the stored text's offset. */
static void emit_ms_cmp(store_qsql *c, const col *f, const char *op, int64_t bound)
{
    int p = bind_num(c, BIND_INT, 0, bound);
    strbuf_adds(&c->sql, "soql_ms(");
    emit_type(c, f);
    strbuf_adds(&c->sql, ", ");
    emit_value(c, f);
    strbuf_addf(&c->sql, ") %s ?%d", op, p);
}

/* cmp_lit() of soql_eval.c for a date literal (TODAY...): [l->ms, l->hi). */
static void emit_range(store_qsql *c, const col *f, soql_op op, const struct soql_lit *l)
{
    strbuf_adds(&c->sql, "(");
    if (op == SOQL_OP_LT || op == SOQL_OP_GE) {
        emit_ms_cmp(c, f, op == SOQL_OP_LT ? "<" : ">=", l->ms);
    } else if (op == SOQL_OP_LE || op == SOQL_OP_GT) {
        emit_ms_cmp(c, f, op == SOQL_OP_LE ? "<" : ">=", l->hi);
    } else {
        emit_ms_cmp(c, f, ">=", l->ms);
        strbuf_adds(&c->sql, " AND ");
        emit_ms_cmp(c, f, "<", l->hi);
    }
    strbuf_adds(&c->sql, ")");
}

/* soql_num / soql_bool / soql_ms(type, value) OP ?p: a field compared with a number,
 * boolean or date literal by the value the evaluator would see. */
static void emit_typed_cmp(store_qsql *c, const col *f, const char *op, const struct soql_lit *l)
{
    const char *fn = l->kind == SOQL_LIT_NUM    ? "soql_num"
                     : l->kind == SOQL_LIT_BOOL ? "soql_bool"
                                                : "soql_ms";
    int p = l->kind == SOQL_LIT_NUM    ? bind_num(c, BIND_REAL, l->num, 0)
            : l->kind == SOQL_LIT_BOOL ? bind_num(c, BIND_INT, 0, l->b)
                                       : bind_num(c, BIND_INT, 0, l->ms);
    strbuf_addf(&c->sql, "(%s(", fn);
    emit_type(c, f);
    strbuf_adds(&c->sql, ", ");
    emit_value(c, f);
    strbuf_addf(&c->sql, ") %s ?%d)", op, p);
}

/* lit_equals() of soql_eval.c as SQL. */
static void emit_equals(store_qsql *c, const col *f, const struct soql_lit *l)
{
    char id18[SFID_LEN + 1];
    switch (l->kind) {
    case SOQL_LIT_DATERANGE:
        emit_range(c, f, SOQL_OP_EQ, l);
        return;
    case SOQL_LIT_NULL:
        strbuf_adds(&c->sql, "(");
        emit_value(c, f);
        strbuf_adds(&c->sql, " IS NULL)");
        return;
    case SOQL_LIT_STR: {
        int p = bind_text(c, l->str);
        strbuf_adds(&c->sql, "(");
        emit_value(c, f);
        strbuf_addf(&c->sql, " = ?%d COLLATE NOCASE", p);
        size_t len = strlen(l->str);
        if ((len == 15 || len == 18) && sfid_is_valid(l->str) && sfid_to18(l->str, id18)) {
            /* The other form of the Id, equal only case-sensitively (ids_15_18). */
            if (len == 18)
                id18[15] = '\0';
            int q = bind_text(c, id18);
            strbuf_adds(&c->sql, " OR (");
            emit_value(c, f);
            strbuf_addf(&c->sql, " = ?%d COLLATE NOCASE AND ", q);
            emit_value(c, f);
            strbuf_addf(&c->sql, " = ?%d)", q);
        }
        strbuf_adds(&c->sql, ")");
        return;
    }
    case SOQL_LIT_NUM:
    case SOQL_LIT_BOOL:
    case SOQL_LIT_DATE:
    case SOQL_LIT_DATETIME:
        break;
    }
    emit_typed_cmp(c, f, "=", l);
}

/* A string literal = compares as text alone: not something the 15/18-char Id rule applies to. */
static bool is_plain_string(const struct soql_lit *l)
{
    size_t len = l->kind == SOQL_LIT_STR ? strlen(l->str) : 0;
    return l->kind == SOQL_LIT_STR && !((len == 15 || len == 18) && sfid_is_valid(l->str));
}

static void emit_in(store_qsql *c, const col *f, const struct soql_node *n)
{
    bool plain = n->nlits > 0;
    for (size_t i = 0; i < n->nlits; i++)
        plain = plain && is_plain_string(&n->lits[i]);
    if (plain) {
        /* One IN the index can search key by key (an OR of = would collect rowids and read
         * each row): the same comparisons as emit_equals with a string. */
        strbuf_adds(&c->sql, "(");
        emit_value(c, f);
        strbuf_adds(&c->sql, " COLLATE NOCASE IN (");
        for (size_t i = 0; i < n->nlits; i++)
            strbuf_addf(&c->sql, "%s?%d", i ? ", " : "", bind_text(c, n->lits[i].str));
        strbuf_adds(&c->sql, "))");
        return;
    }
    strbuf_adds(&c->sql, "(");
    for (size_t i = 0; i < n->nlits; i++) {
        if (i)
            strbuf_adds(&c->sql, " OR ");
        emit_equals(c, f, &n->lits[i]);
    }
    strbuf_adds(&c->sql, n->nlits ? ")" : "0)");
}

static const char *op_text(soql_op op)
{
    switch (op) {
    case SOQL_OP_LT:
        return "<";
    case SOQL_OP_GT:
        return ">";
    case SOQL_OP_LE:
        return "<=";
    case SOQL_OP_GE:
        return ">=";
    case SOQL_OP_EQ:
    case SOQL_OP_NE:
    case SOQL_OP_LIKE:
    case SOQL_OP_IN:
    case SOQL_OP_NOT_IN:
        break;
    }
    return "=";
}

/* < > <= >=: never true against null (Q2). */
static void emit_order_cmp(store_qsql *c, const col *f, soql_op op, const struct soql_lit *l)
{
    if (l->kind == SOQL_LIT_NULL) {
        strbuf_adds(&c->sql, "0");
        return;
    }
    if (l->kind == SOQL_LIT_DATERANGE) {
        emit_range(c, f, op, l);
        return;
    }
    if (l->kind == SOQL_LIT_STR) {
        int p = bind_text(c, l->str);
        strbuf_adds(&c->sql, "(");
        emit_type(c, f);
        strbuf_adds(&c->sql, " = 'text' AND ");
        emit_value(c, f);
        strbuf_addf(&c->sql, " %s ?%d COLLATE NOCASE)", op_text(op), p);
        return;
    }
    emit_typed_cmp(c, f, op_text(op), l);
}

/* The decoded LIKE pattern as SQLite's, with \ escaping the literal % _ and \. */
static char *like_pattern(const struct soql_lit *l)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < l->len; i++) {
        char ch = l->str[i];
        bool wild = l->wild && l->wild[i];
        if (!wild && (ch == '%' || ch == '_' || ch == '\\'))
            strbuf_addc(&sb, '\\');
        strbuf_addc(&sb, ch);
    }
    return strbuf_detach(&sb);
}

static col count_col(store_qsql *c, const char *field);

static void emit_cmp(store_qsql *c, const struct soql_node *n)
{
    col f = n->count ? count_col(c, n->field.name) : resolve_col(c, n->field.name);
    switch (n->op) {
    case SOQL_OP_EQ:
        emit_equals(c, &f, &n->lits[0]);
        return;
    case SOQL_OP_NE: /* Q3 */
        strbuf_adds(&c->sql, "NOT coalesce(");
        emit_equals(c, &f, &n->lits[0]);
        strbuf_adds(&c->sql, ", 0)");
        return;
    case SOQL_OP_IN:
        emit_in(c, &f, n);
        return;
    case SOQL_OP_NOT_IN: /* Q3 */
        strbuf_adds(&c->sql, "NOT coalesce(");
        emit_in(c, &f, n);
        strbuf_adds(&c->sql, ", 0)");
        return;
    case SOQL_OP_LIKE: {
        char *pat = like_pattern(&n->lits[0]);
        int p = bind_text(c, pat);
        free(pat);
        strbuf_adds(&c->sql, "(");
        emit_type(c, &f);
        strbuf_adds(&c->sql, " = 'text' AND ");
        emit_value(c, &f);
        strbuf_addf(&c->sql, " LIKE ?%d ESCAPE '\\')", p);
        return;
    }
    case SOQL_OP_LT:
    case SOQL_OP_GT:
    case SOQL_OP_LE:
    case SOQL_OP_GE:
        emit_order_cmp(c, &f, n->op, &n->lits[0]);
        return;
    }
}

/* Recursion depth is bounded by SOQL_MAX_DEPTH, as in the evaluator. */
static void emit_node(store_qsql *c, const struct soql_node *n)
{
    switch (n->kind) {
    case SOQL_NODE_AND:
    case SOQL_NODE_OR:
        strbuf_adds(&c->sql, "(");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                strbuf_adds(&c->sql, n->kind == SOQL_NODE_AND ? " AND " : " OR ");
            emit_node(c, n->kids[i]);
        }
        strbuf_adds(&c->sql, ")");
        return;
    case SOQL_NODE_NOT: /* Q3 */
        strbuf_adds(&c->sql, "NOT coalesce(");
        emit_node(c, n->kids[0]);
        strbuf_adds(&c->sql, ", 0)");
        return;
    case SOQL_NODE_CMP:
        emit_cmp(c, n);
        return;
    }
}

static void emit_from_where(store_qsql *c)
{
    strbuf_adds(&c->sql, " FROM records r");
    if (c->indexed_by) /* a name of fixed text or of a checked API name (indexes.c X2) */
        strbuf_addf(&c->sql, " INDEXED BY %s", c->indexed_by);
    strbuf_adds(&c->sql, " WHERE ");
    if (c->nspellings <= 1) {
        strbuf_addf(&c->sql, "r.sobject = ?%d",
                    bind_text(c, c->nspellings ? c->spellings[0] : c->q->from));
    } else {
        strbuf_adds(&c->sql, "r.sobject IN (");
        for (size_t i = 0; i < c->nspellings; i++)
            strbuf_addf(&c->sql, "%s?%d", i ? ", " : "", bind_text(c, c->spellings[i]));
        strbuf_adds(&c->sql, ")");
    }
    strbuf_adds(&c->sql, " AND r.deleted = 0"); /* query.c I1 */
    if (c->q->where) {
        strbuf_adds(&c->sql, " AND ");
        emit_node(c, c->q->where);
    }
}

/* Q4. The SQLite defaults (ASC nulls first, DESC nulls last) keep index order usable. */
static void emit_order(store_qsql *c)
{
    strbuf_adds(&c->sql, " ORDER BY ");
    for (size_t i = 0; i < c->q->norder; i++) {
        const struct soql_order *o = &c->q->order[i];
        col f = resolve_col(c, o->field.name);
        emit_value(c, &f);
        strbuf_adds(&c->sql, " COLLATE NOCASE");
        strbuf_adds(&c->sql, o->desc ? " DESC" : " ASC");
        if (o->desc != o->nulls_last)
            strbuf_adds(&c->sql, o->nulls_last ? " NULLS LAST" : " NULLS FIRST");
        strbuf_adds(&c->sql, ", ");
    }
    strbuf_adds(&c->sql, "r.created_at, r.rowid");
}

static void emit_window(store_qsql *c)
{
    int lim = bind_num(c, BIND_INT, 0, c->q->limit >= 0 ? c->q->limit : -1);
    int off = bind_num(c, BIND_INT, 0, c->q->offset > 0 ? c->q->offset : 0);
    strbuf_addf(&c->sql, " LIMIT ?%d OFFSET ?%d", lim, off);
}

/* The row's fields for the SELECT list: r.fields, with each relationship field of the list
 * (Q7) set from the referenced record, so the projection in C finds it nested as it
 * would in a Salesforce answer ({"Contact": {"LastName": ...}}). */
static void emit_row_fields(store_qsql *c)
{
    strbuf sets = STRBUF_INIT;
    for (size_t i = 0; i < soql_field_count(c->q); i++) {
        const char *field = soql_field(c->q, i);
        size_t n = strcspn(field, ".");
        if (field[n] != '.')
            continue;
        char *head = xstrndup(field, n);
        char *name = stored_name(c, head);
        char *ref = name ? NULL : reference_field(c, head);
        if (ref) {
            char *path = json_path(head, field + n + 1);
            int p = bind_text(c, path);
            strbuf_addf(&sets, ", ?%d, %s", p, relationship_expr(c, head, ref, field + n + 1));
            free(path);
        }
        free(head);
        free(name);
        free(ref);
    }
    if (sets.len)
        strbuf_addf(&c->sql, "json_set(r.fields%s)", sets.buf);
    else
        strbuf_adds(&c->sql, "r.fields");
    strbuf_free(&sets);
}

/* ---- aggregate queries (Q8) ---- */

/* COUNT(field) as an expression over the group: SQL's count() skips NULL as COUNT(field)
 * skips null, and json_extract gives NULL for both a JSON null and a missing key. */
static col count_col(store_qsql *c, const char *field)
{
    if (strcasecmp(field, "Id") == 0) /* every row, synced or not (soql_execute) */
        return (col){"count(*)", "'integer'", 0};
    col f = resolve_col(c, field);
    char *e = f.value ? xasprintf("count(%s)", f.value)
                      : xasprintf("count(json_extract(r.fields, ?%d))", f.param);
    c->exprs = xrealloc(c->exprs, (c->nexprs + 1) * sizeof *c->exprs);
    c->exprs[c->nexprs++] = e;
    return (col){e, "'integer'", 0};
}

/* The index that serves GROUP BY field in (sobject, value, created_at, rowid) order: a
 * built-in field index (migration 0009) or a declared one (indexes.c X1). NULL when there
 * is none, or when several spellings of the sObject break that order. Caller frees. */
static char *group_index(store_qsql *c, const char *field)
{
    if (c->nspellings > 1 || strchr(field, '.'))
        return NULL;
    if (is_case(c->q->from) && strcasecmp(field, "CaseNumber") == 0)
        return xstrdup("records_f_casenumber");
    char *name = stored_name(c, field);
    char *index = NULL;
    for (size_t i = 0; name && i < sizeof INDEXED / sizeof INDEXED[0]; i++)
        if (strcmp(name, INDEXED[i].name) == 0) {
            index = xasprintf("records_f_%s", INDEXED[i].name);
            for (char *p = index; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        }
    if (!index && name && store_field_is_indexed(c->a, name))
        index = xasprintf("records_x_%s", name);
    free(name);
    return index;
}

/* Two columns per SELECT entry: value and JSON type. A grouped field is a bare column,
 * which SQLite takes from the row where the statement's one min() found its minimum, so
 * each group shows its first record (created_at, rowid), as soql_execute() does. Walking
 * a field index, groups arrive in that order and min(created_at) is exact (min() keeps the
 * first of equal values): one record read per group. Otherwise the key holds the rowid
 * too. A field with a fixed expression (an indexed one, a column) takes its type from the
 * SQL value; those hold text, never a JSON boolean. */
static void emit_aggregate_columns(store_qsql *c)
{
    bool grouped = false;
    strbuf_adds(&c->sql, "SELECT ");
    for (size_t i = 0; i < c->q->nitems; i++) {
        const struct soql_item *it = &c->q->items[i];
        col f = it->count ? count_col(c, it->field.name) : resolve_col(c, it->field.name);
        strbuf_adds(&c->sql, i ? ", " : "");
        grouped = grouped || !it->count;
        if (it->count) {
            strbuf_addf(&c->sql, "%s, 'integer'", f.value);
        } else if (f.value && !f.type) {
            strbuf_addf(&c->sql, "%s, typeof(%s)", f.value, f.value);
        } else {
            emit_value(c, &f);
            strbuf_adds(&c->sql, ", ");
            emit_type(c, &f);
        }
    }
    if (grouped)
        strbuf_adds(&c->sql, c->indexed_by ? ", min(r.created_at)"
                                           : ", min(printf('%020d%020d', r.created_at, r.rowid))");
}

/* Q8: ORDER BY's keys (grouped fields, COUNTs), then the group keys ascending. */
static void emit_group_order(store_qsql *c)
{
    strbuf_adds(&c->sql, " ORDER BY ");
    for (size_t i = 0; i < c->q->norder; i++) {
        const struct soql_order *o = &c->q->order[i];
        col f = o->count ? count_col(c, o->field.name) : resolve_col(c, o->field.name);
        emit_value(c, &f);
        strbuf_adds(&c->sql, o->count ? "" : " COLLATE NOCASE");
        strbuf_adds(&c->sql, o->desc ? " DESC" : " ASC");
        if (o->desc != o->nulls_last)
            strbuf_adds(&c->sql, o->nulls_last ? " NULLS LAST" : " NULLS FIRST");
        strbuf_adds(&c->sql, ", ");
    }
    for (size_t i = 0; i < c->q->ngroup; i++) {
        col f = resolve_col(c, c->q->group[i].name);
        emit_value(c, &f);
        strbuf_adds(&c->sql, i + 1 < c->q->ngroup ? " COLLATE NOCASE, " : " COLLATE NOCASE");
    }
}

/* Q8. Grouping runs inside SQLite; an indexed field groups in index order. */
static void emit_aggregate(store_qsql *c)
{
    const soql_query *q = c->q;
    if (q->ngroup == 1)
        c->indexed_by = group_index(c, q->group[0].name);
    emit_aggregate_columns(c);
    emit_from_where(c);
    for (size_t i = 0; i < q->ngroup; i++) {
        col f = resolve_col(c, q->group[i].name);
        strbuf_adds(&c->sql, i ? ", " : " GROUP BY ");
        emit_value(c, &f);
        strbuf_adds(&c->sql, " COLLATE NOCASE");
    }
    if (q->having) {
        strbuf_adds(&c->sql, " HAVING ");
        emit_node(c, q->having);
    }
    if (q->ngroup)
        emit_group_order(c);
    emit_window(c);
}

/* ---- records projected by SQLite (Q9) ---- */

/* A SELECT list of distinct top-level fields: SQLite can build each output record itself,
 * with no JSON parsed or printed in C (a million-row dump was mostly malloc and free). */
static bool projects_in_sql(const store_qsql *c)
{
    const soql_query *q = c->q;
    if (q->is_count || q->aggregate || q->nfields == 0)
        return false;
    for (size_t i = 0; i < q->nfields; i++) {
        if (strchr(q->fields[i].name, '.'))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(q->fields[i].name, q->fields[j].name) == 0)
                return false;
    }
    return true;
}

/* Q9: json_object() of attributes, then each field under its stored spelling: Id and a
 * Case's CaseNumber from their columns, the others as JSON (-> keeps a value's JSON text,
 * so numbers print as stored: query.c I4) or null when the record lacks them. */
static void emit_projection(store_qsql *c)
{
    int prefix = bind_text(c, STORE_SOBJECT_URL_PREFIX);
    strbuf_addf(&c->sql,
                "SELECT json_object('attributes', CASE WHEN r.sf_id IS NULL THEN "
                "json_object('type', r.sobject) ELSE json_object('type', r.sobject, 'url', "
                "?%d || r.sobject || '/' || r.sf_id) END",
                prefix);
    for (size_t i = 0; i < c->q->nfields; i++) {
        const char *field = c->q->fields[i].name;
        if (strcasecmp(field, "Id") == 0) {
            strbuf_adds(&c->sql, ", 'Id', r.sf_id");
        } else if (is_case(c->q->from) && strcasecmp(field, "CaseNumber") == 0) {
            strbuf_adds(&c->sql, ", 'CaseNumber', r.case_number");
        } else {
            char *name = stored_name(c, field);
            char *path = json_path(name ? name : field, NULL);
            int k = bind_text(c, name ? name : field), p = bind_text(c, path);
            strbuf_addf(&c->sql, ", ?%d, r.fields -> ?%d", k, p);
            free(path);
            free(name);
        }
    }
    strbuf_adds(&c->sql, ")");
    c->row_json = true;
}

bool store_qsql_row_is_json(const store_qsql *c)
{
    return c->row_json;
}

static void emit_statement(store_qsql *c)
{
    const soql_query *q = c->q;
    if (q->aggregate) {
        emit_aggregate(c);
    } else if (q->is_count && !q->where && q->limit < 0 && q->offset <= 0) {
        /* COUNT() of every live record: the counter migration 0006 keeps (constant time). */
        strbuf_adds(&c->sql, "SELECT coalesce(sum(live), 0) FROM record_counts WHERE sobject IN (");
        for (size_t i = 0; i < c->nspellings; i++)
            strbuf_addf(&c->sql, "%s?%d", i ? ", " : "", bind_text(c, c->spellings[i]));
        strbuf_adds(&c->sql, c->nspellings ? ")" : "NULL)");
    } else if (q->is_count && q->limit < 0 && q->offset <= 0) {
        /* Partial indexes (0010) answer `deleted = 0` themselves: index entries only. */
        strbuf_adds(&c->sql, "SELECT count(*)");
        emit_from_where(c);
    } else if (q->is_count) {
        strbuf_adds(&c->sql, "SELECT count(*) FROM (SELECT 1");
        emit_from_where(c);
        emit_window(c);
        strbuf_adds(&c->sql, ")");
    } else {
        if (projects_in_sql(c)) {
            emit_projection(c);
        } else {
            strbuf_adds(&c->sql, "SELECT r.sobject, r.sf_id, r.case_number, ");
            emit_row_fields(c);
        }
        emit_from_where(c);
        emit_order(c);
        emit_window(c);
    }
}

/* The sObject's spellings in the mirror (FROM matches case-insensitively), and Q5. */
static sfa_status load_sobject(store_qsql *c)
{
    static const char SQL_SPELL[] =
        "SELECT sobject FROM record_counts WHERE sobject = ?1 COLLATE NOCASE";
    static const char SQL_ANY_FIELD[] = "SELECT 1 FROM record_fields WHERE sobject = ?1 LIMIT 1";
    sqlite3_stmt *st = store_stmt(c->a, SQL_SPELL);
    if (!st)
        return store_last_status(c->a);
    sqlite3_bind_text(st, 1, c->q->from, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && c->nspellings < MAX_SPELLINGS) {
        c->owned[c->nspellings] = xstrdup((const char *)sqlite3_column_text(st, 0));
        c->spellings[c->nspellings] = c->owned[c->nspellings];
        c->nspellings++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_fail_sqlite(c->a, rc, "reading the mirror's sObjects");
    for (size_t i = 0; i < c->nspellings && !c->known; i++) {
        st = store_stmt(c->a, SQL_ANY_FIELD);
        if (!st)
            return store_last_status(c->a);
        sqlite3_bind_text(st, 1, c->spellings[i], -1, SQLITE_STATIC);
        c->known = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    sfa_status s = store_describe_get(&c->describe, c->a, c->q->from);
    if (s == SFA_OK && c->describe)
        c->known = true;
    return s;
}

void store_qsql_free(store_qsql *c)
{
    if (!c)
        return;
    strbuf_free(&c->sql);
    for (size_t i = 0; i < c->nbinds; i++)
        free(c->binds[i].text);
    free(c->binds);
    for (size_t i = 0; i < c->nspellings; i++)
        free(c->owned[i]);
    for (size_t i = 0; i < c->nexprs; i++)
        free(c->exprs[i]);
    free(c->exprs);
    cJSON_Delete(c->describe);
    free(c->indexed_by);
    free(c);
}

sfa_status store_qsql_compile(store_qsql **out, sfa_agent *a, const soql_query *q)
{
    *out = NULL;
    store_qsql *c = xcalloc(1, sizeof *c);
    c->a = a;
    c->q = q;
    sfa_status s = load_sobject(c);
    soql_error err;
    memset(&err, 0, sizeof err);
    if (s == SFA_OK && !soql_check_fields(q, field_known, c, &err))
        s = store_fail(a, SFA_EINVAL,
                       "%s: not in the local cache (no cached %s record has it, "
                       "nor its describe): %s",
                       err.code, q->from, err.message);
    if (s == SFA_OK) {
        emit_statement(c);
        *out = c; /* ownership moves to the caller */
        c = NULL;
    }
    store_qsql_free(c);
    return s;
}

const char *store_qsql_text(const store_qsql *c)
{
    return strbuf_str(&c->sql);
}

sfa_status store_qsql_prepare(sqlite3_stmt **out, sfa_agent *a, const store_qsql *c,
                              const char *prefix)
{
    *out = NULL;
    int rc = register_functions(store_db(a));
    char *sql = xasprintf("%s%s", prefix ? prefix : "", strbuf_str(&c->sql));
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(store_db(a), sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return store_fail_sqlite(a, rc, "compiling the query to SQL");
    for (size_t i = 0; i < c->nbinds; i++) {
        const bindv *b = &c->binds[i];
        int p = (int)i + 1;
        if (b->kind == BIND_TEXT)
            sqlite3_bind_text(st, p, b->text, -1, SQLITE_STATIC);
        else if (b->kind == BIND_REAL)
            sqlite3_bind_double(st, p, b->num);
        else
            sqlite3_bind_int64(st, p, b->i);
    }
    *out = st;
    return SFA_OK;
}

/* A value column and its JSON type column as the JSON value a record would hold; numbers
 * keep their text (query.c I4). */
static cJSON *column_json(sqlite3_stmt *st, int i)
{
    const char *type = (const char *)sqlite3_column_text(st, i + 1);
    const char *text = (const char *)sqlite3_column_text(st, i);
    const char *err = NULL;
    if (!text || !type || strcmp(type, "null") == 0)
        return cJSON_CreateNull();
    if (strcmp(type, "true") == 0 || strcmp(type, "false") == 0)
        return cJSON_CreateBool(type[0] == 't');
    if (strcmp(type, "integer") == 0 || strcmp(type, "real") == 0)
        return cJSON_CreateRaw(text);
    if (strcmp(type, "object") == 0 || strcmp(type, "array") == 0) {
        cJSON *v = json_parse_exact(text, strlen(text), &err);
        return v ? v : cJSON_CreateNull();
    }
    return cJSON_CreateString(text);
}

cJSON *store_qsql_aggregate_row(const store_qsql *c, sqlite3_stmt *st)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(rec, "attributes");
    cJSON_AddStringToObject(attrs, "type", "AggregateResult");
    for (size_t i = 0; i < c->q->nitems; i++)
        cJSON_AddItemToObject(rec, c->q->items[i].key, column_json(st, (int)(2 * i)));
    return rec;
}
