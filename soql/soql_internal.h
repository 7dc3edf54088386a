/* The parsed form of a SOQL query, shared by the parser (soql_parse.c), the evaluator
 * (soql_eval.c) and the literal codec (soql_literal.c). Not part of any contract: only
 * files under soql/ include it, and store/query_sql.c, which compiles the parsed form to
 * SQL over the agent's mirror and must mean what soql_eval.c means. */
#ifndef SFA_SOQL_SOQL_INTERNAL_H
#define SFA_SOQL_SOQL_INTERNAL_H

#include "soql/soql.h"

#include <stdint.h>

/* Hard limits that keep hostile input cheap (docs/sync-protocol.md#verification). */
#define SOQL_MAX_TEXT  100000 /* Salesforce's own SOQL statement length limit */
#define SOQL_MAX_DEPTH 64     /* nested parentheses / NOT before MALFORMED_QUERY */

typedef enum soql_lit_kind {
    SOQL_LIT_NULL,
    SOQL_LIT_BOOL,
    SOQL_LIT_NUM,
    SOQL_LIT_STR,
    SOQL_LIT_DATE,
    SOQL_LIT_DATETIME,
    SOQL_LIT_DATERANGE, /* TODAY, LAST_N_DAYS:n...: the UTC instants [ms, hi) */
} soql_lit_kind;

struct soql_lit {
    soql_lit_kind kind;
    bool b;
    double num;
    int64_t ms; /* DATE (midnight UTC) and DATETIME; DATERANGE: first instant */
    int64_t hi; /* DATERANGE: first instant after the range */
    char *str;  /* STR: decoded value, NUL-terminated */
    size_t len; /* STR: bytes in str */
    bool *wild; /* STR in LIKE only: wild[i] marks an unescaped % or _ at str[i] */
};

typedef enum soql_op {
    SOQL_OP_EQ,
    SOQL_OP_NE,
    SOQL_OP_LT,
    SOQL_OP_GT,
    SOQL_OP_LE,
    SOQL_OP_GE,
    SOQL_OP_LIKE,
    SOQL_OP_IN,
    SOQL_OP_NOT_IN,
} soql_op;

/* A field as the query names it, with its position for error carets. */
struct soql_fieldref {
    char *name;
    size_t pos; /* byte offset in the query text */
};

typedef enum soql_node_kind {
    SOQL_NODE_AND,
    SOQL_NODE_OR,
    SOQL_NODE_NOT,
    SOQL_NODE_CMP,
} soql_node_kind;

/* AND/OR are n-ary (kids), NOT has one kid, CMP is a leaf. n-ary chains keep the tree
 * depth bounded by parentheses nesting, so evaluation recursion is bounded too. */
struct soql_node {
    soql_node_kind kind;
    struct soql_node **kids;
    size_t nkids;
    struct soql_fieldref field; /* CMP */
    soql_op op;                 /* CMP */
    struct soql_lit *lits;      /* CMP: one literal, or the IN list */
    size_t nlits;
    bool count; /* CMP in HAVING: the left side is COUNT(field) */
};

struct soql_order {
    struct soql_fieldref field;
    bool desc;
    bool nulls_last; /* Salesforce default: nulls first, ASC and DESC alike */
    bool count;      /* ORDER BY COUNT(field), in an aggregate query */
};

/* One entry of an aggregate query's SELECT list, in written order. */
struct soql_item {
    struct soql_fieldref field; /* the grouped field, or the field COUNT() counts */
    bool count;                 /* COUNT(field) */
    char *alias;                /* as written, NULL when none */
    size_t alias_pos;
    char *key; /* the result's key: the alias, else exprN (COUNT) or the last segment */
};

struct soql_query {
    char *text; /* copy of the source, for error carets in soql_check_fields */
    char *from;
    size_t from_pos;
    bool is_count;                /* COUNT(): the count alone, no records */
    bool aggregate;               /* COUNT(field) or GROUP BY: AggregateResult rows */
    struct soql_fieldref *fields; /* plain queries: the SELECT list */
    size_t nfields;
    struct soql_item *items; /* aggregate queries: the SELECT list */
    size_t nitems;
    struct soql_node *where;
    struct soql_fieldref *group; /* GROUP BY */
    size_t ngroup;
    struct soql_node *having;
    struct soql_order *order;
    size_t norder;
    long limit;
    long offset;
};

/* Fill err with code and a Salesforce-shaped message: the query line, a caret under the
 * offending column and "ERROR at Row:R:Column:C", then text. */
void soql_error_at(soql_error *err, const char *code, const char *query, size_t pos,
                   const char *text);

/* Decode the body of a quoted literal (between the quotes, raw). like: keep \% \_ as
 * literal characters and mark unescaped % _ as wildcards. On a bad escape returns false
 * and sets *bad_at to the offending backslash's offset in raw. */
bool soql_literal_decode(struct soql_lit *out, const char *raw, size_t n, bool like,
                         size_t *bad_at);

/* Case-insensitive (ASCII folding) three-way string compare, as SOQL = and ORDER BY do. */
int soql_strcasecmp(const char *a, const char *b);

/* LIKE: s against the decoded pattern (ASCII case-insensitive, _ = one UTF-8 char). */
bool soql_like_match(const struct soql_lit *pat, const char *s);

/* Record value at a possibly dotted path (case-insensitive keys); NULL when absent. */
const cJSON *soql_lookup(const cJSON *record, const char *path);

void soql_node_free(struct soql_node *n);

#endif
