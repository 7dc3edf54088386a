/* Literal types against field types (soql_check_values): Salesforce refuses a query whose
 * WHERE or HAVING compares a field with a literal of another type before it runs it, e.g.
 * a quoted dateTime ("CreatedDate > '2020-01-01T00:00:00Z'") or a quoted boolean. A server
 * that ran such a query anyway would hide a client's bug behind an empty result, so the
 * emulator checks what Salesforce checks (docs/salesforce.md#query). Id and reference
 * fields also refuse a literal that cannot be an Id. soql_check_usage refuses filtering,
 * ordering or grouping by a field whose describe forbids it (long text areas). */
#include "soql/soql_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* What a field of a describe type compares with: the literal kinds it accepts and the
 * type name Salesforce's message uses. quoted: the accepted literal is a quoted string. */
typedef struct value_rule {
    const char *type_name;
    bool quoted;
    unsigned kinds; /* bit per soql_lit_kind */
} value_rule;

#define KIND(k) (1u << (k))

static bool rule_for(const char *type, value_rule *out)
{
    static const char *const texts[] = {"string",   "picklist", "multipicklist",
                                        "textarea", "email",    "phone",
                                        "url",      "combobox", "encryptedstring"};
    if (strcmp(type, "datetime") == 0) {
        *out = (value_rule){"dateTime", false, KIND(SOQL_LIT_DATETIME) | KIND(SOQL_LIT_DATERANGE)};
        return true;
    }
    if (strcmp(type, "date") == 0) {
        *out = (value_rule){"date", false, KIND(SOQL_LIT_DATE) | KIND(SOQL_LIT_DATERANGE)};
        return true;
    }
    if (strcmp(type, "boolean") == 0) {
        *out = (value_rule){"boolean", false, KIND(SOQL_LIT_BOOL)};
        return true;
    }
    if (strcmp(type, "double") == 0 || strcmp(type, "int") == 0 || strcmp(type, "currency") == 0 ||
        strcmp(type, "percent") == 0) {
        *out = (value_rule){"double", false, KIND(SOQL_LIT_NUM)};
        return true;
    }
    if (strcmp(type, "id") == 0 || strcmp(type, "reference") == 0) {
        *out = (value_rule){"id", true, KIND(SOQL_LIT_STR)};
        return true;
    }
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        if (strcmp(type, texts[i]) == 0) {
            *out = (value_rule){"string", true, KIND(SOQL_LIT_STR)};
            return true;
        }
    }
    return false; /* a type without a rule here is not checked */
}

/* One comparison: every literal (one, or the IN list) fits the field's rule; NULL fits
 * every field. */
static bool cmp_fits(const struct soql_node *n, const value_rule *rule)
{
    for (size_t i = 0; i < n->nlits; i++) {
        soql_lit_kind k = n->lits[i].kind;
        if (k != SOQL_LIT_NULL && !(rule->kinds & KIND(k)))
            return false;
    }
    return true;
}

/* An Id literal: 15 or 18 letters and digits. The 18-character form is case-insensitive
 * (its suffix restores the case), so its suffix is not held to a letter case here. */
static bool id_literal_is_valid(const struct soql_lit *lit)
{
    if (lit->len != 15 && lit->len != 18)
        return false;
    for (size_t i = 0; i < lit->len; i++)
        if (!isalnum((unsigned char)lit->str[i]))
            return false;
    return true;
}

/* Salesforce refuses a malformed Id literal before running the query ("invalid ID field:
 * garbage"), instead of answering no rows. */
static bool ids_valid(const soql_query *q, const struct soql_node *n, soql_error *err)
{
    for (size_t i = 0; i < n->nlits; i++) {
        const struct soql_lit *lit = &n->lits[i];
        if (lit->kind != SOQL_LIT_STR || n->op == SOQL_OP_LIKE || id_literal_is_valid(lit))
            continue;
        char text[160];
        snprintf(text, sizeof text, "invalid ID field: %.100s", lit->str);
        soql_error_at(err, "INVALID_QUERY_FILTER_OPERATOR", q->text, n->field.pos, text);
        return false;
    }
    return true;
}

static bool check_node(const soql_query *q, const struct soql_node *n, soql_field_type_fn type_of,
                       void *ctx, soql_error *err)
{
    if (!n)
        return true;
    if (n->kind != SOQL_NODE_CMP) {
        for (size_t i = 0; i < n->nkids; i++)
            if (!check_node(q, n->kids[i], type_of, ctx, err))
                return false;
        return true;
    }
    if (n->count) /* HAVING COUNT(field) > n compares a number, whatever the field */
        return true;
    const char *type = type_of(n->field.name, ctx);
    value_rule rule;
    if (!type || !rule_for(type, &rule))
        return true;
    if (cmp_fits(n, &rule))
        return strcmp(rule.type_name, "id") != 0 || ids_valid(q, n, err);
    char text[320];
    snprintf(text, sizeof text,
             "value of filter criterion for field '%.100s' must be of type %s and should %sbe "
             "enclosed in quotes",
             n->field.name, rule.type_name, rule.quoted ? "" : "not ");
    soql_error_at(err, "INVALID_FIELD", q->text, n->field.pos, text);
    return false;
}

bool soql_check_values(const soql_query *q, soql_field_type_fn type_of, void *ctx, soql_error *err)
{
    return check_node(q, q->where, type_of, ctx, err) &&
           check_node(q, q->having, type_of, ctx, err);
}

/* ---- filterable, sortable, groupable (soql_check_usage) ---- */

static bool refuse(const soql_query *q, const struct soql_fieldref *f, const char *code,
                   const char *verb, soql_error *err)
{
    char text[200];
    snprintf(text, sizeof text, "field '%.100s' can not be %s in a query call", f->name, verb);
    soql_error_at(err, code, q->text, f->pos, text);
    return false;
}

static bool filters_allowed(const soql_query *q, const struct soql_node *n,
                            soql_field_allows_fn allows, void *ctx, soql_error *err)
{
    if (!n)
        return true;
    if (n->kind != SOQL_NODE_CMP) {
        for (size_t i = 0; i < n->nkids; i++)
            if (!filters_allowed(q, n->kids[i], allows, ctx, err))
                return false;
        return true;
    }
    if (n->count || allows(n->field.name, SOQL_USE_FILTER, ctx))
        return true;
    return refuse(q, &n->field, "INVALID_FIELD", "filtered", err);
}

bool soql_check_usage(const soql_query *q, soql_field_allows_fn allows, void *ctx, soql_error *err)
{
    if (!filters_allowed(q, q->where, allows, ctx, err) ||
        !filters_allowed(q, q->having, allows, ctx, err))
        return false;
    for (size_t i = 0; i < q->ngroup; i++)
        if (!allows(q->group[i].name, SOQL_USE_GROUP, ctx))
            return refuse(q, &q->group[i], "INVALID_FIELD", "grouped", err);
    for (size_t i = 0; i < q->norder; i++)
        if (!q->order[i].count && !allows(q->order[i].field.name, SOQL_USE_SORT, ctx))
            return refuse(q, &q->order[i].field, "MALFORMED_QUERY", "sorted", err);
    return true;
}
