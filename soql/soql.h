/* The SOQL subset shared by the agent (local queries over the mirror) and the emulator
 * (serving /query). One parser, one evaluator, so both sides agree by construction.
 *
 * Grammar (case-insensitive keywords):
 *   SELECT field[, field...] | COUNT() | entry[, entry...]
 *          entry := field [alias] | COUNT(field) [alias]     (an aggregate query)
 *   FROM sobject
 *   [WHERE cond]  cond := cond AND cond | cond OR cond | NOT cond | ( cond )
 *                       | field op literal | field [NOT] IN (literal, ...) | field LIKE 'pat'
 *                 op   := = != <> < > <= >=
 *   [GROUP BY field[, field...]] [HAVING cond]   (HAVING: a field may be COUNT(field))
 *   [ORDER BY field|COUNT(field) [ASC|DESC] [NULLS FIRST|LAST] [, ...]] [LIMIT n] [OFFSET n]
 * A query with GROUP BY or COUNT(field) is an aggregate query: every other entry, ORDER BY
 * and HAVING field must be grouped ("Field must be grouped or aggregated: X", as
 * Salesforce says); aliases are allowed there only; COUNT() cannot be grouped.
 * AND and OR cannot be mixed without parentheses (`a AND b OR c` is MALFORMED_QUERY, as in
 * Salesforce); NOT binds to the next comparison or parenthesised group. Limits: 100,000
 * characters of text, 64 nested parentheses/NOTs.
 * Literals: 'string' with SOQL escapes, numbers, TRUE/FALSE, NULL, date (YYYY-MM-DD) and
 * dateTime (YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)) unquoted, and the calendar date
 * literals TODAY YESTERDAY TOMORROW LAST_90_DAYS NEXT_90_DAYS, THIS_/LAST_/NEXT_ WEEK MONTH
 * QUARTER YEAR, and LAST_N_x:n NEXT_N_x:n N_x_AGO:n for x = DAYS WEEKS MONTHS QUARTERS
 * YEARS (not the FISCAL ones): UTC day ranges from time_now_ms() at parse time (= inside,
 * < before, > after, <= before the end, >= from the start).
 * Field names may be dotted (Account.Name): evaluated by walking nested JSON objects.
 *
 * Errors are worded as Salesforce words them (code MALFORMED_QUERY and a message such
 * as "unexpected token: 'FRM'"), so the emulator can return them verbatim.
 */
#ifndef SFA_SOQL_SOQL_H
#define SFA_SOQL_SOQL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct soql_query soql_query;

typedef struct soql_error {
    char code[32];     /* "MALFORMED_QUERY" (or "INVALID_FIELD" from soql_check_fields) */
    char message[512]; /* Salesforce-style text */
} soql_error;

/* Parse text. On failure returns NULL and fills *err (err may be NULL). */
soql_query *soql_parse(const char *text, soql_error *err);
void soql_free(soql_query *q);

const char *soql_from(const soql_query *q);
bool soql_is_count(const soql_query *q);
/* COUNT(field) or GROUP BY: the rows are AggregateResult records (see soql_execute). */
bool soql_is_aggregate(const soql_query *q);
/* The SELECT list (empty for COUNT()). Borrowed. */
size_t soql_field_count(const soql_query *q);
const char *soql_field(const soql_query *q, size_t i);
/* -1 when absent. */
long soql_limit(const soql_query *q);
long soql_offset(const soql_query *q);

/* Every field the query names (select list, COUNT(field), WHERE, ORDER BY), for validation.
 * exists() receives names as written in the query (any case, dotted paths whole). */
typedef bool (*soql_field_exists_fn)(const char *field, void *ctx);
/* Check every named field with exists(); first unknown one -> false with an
 * INVALID_FIELD error worded like Salesforce ("No such column 'X' on entity 'Case'..."). */
bool soql_check_fields(const soql_query *q, soql_field_exists_fn exists, void *ctx,
                       soql_error *err);

/* The describe type of a field as the query names it ("string", "picklist", "boolean",
 * "datetime", "date", "double", "id", "reference", ...), or NULL when the caller does not
 * know it (that comparison is then not checked). */
typedef const char *(*soql_field_type_fn)(const char *field, void *ctx);
/* Check that every WHERE and HAVING comparison compares its field with a literal of the
 * field's type, as Salesforce does before it runs a query: dateTime fields take unquoted
 * dateTime or date literals (TODAY, LAST_N_DAYS:n), date fields unquoted dates, booleans
 * TRUE/FALSE, numbers unquoted numbers, text, picklist and Id fields quoted strings; NULL
 * fits every field; COUNT(field) in HAVING is not checked. An Id or reference field's
 * string must be 15 or 18 letters and digits (else INVALID_QUERY_FILTER_OPERATOR "invalid ID
 * field: <value>"). The first mismatch -> false
 * with INVALID_FIELD and Salesforce's wording, e.g. "value of filter criterion for field
 * 'CreatedDate' must be of type dateTime and should not be enclosed in quotes". */
bool soql_check_values(const soql_query *q, soql_field_type_fn type_of, void *ctx, soql_error *err);

/* How a query uses a field beyond selecting it: compared in WHERE/HAVING, ordered by in
 * ORDER BY, grouped by in GROUP BY. Salesforce refuses the use when the field's describe
 * says it is not filterable, sortable or groupable (long text areas: none of them). */
typedef enum soql_field_use { SOQL_USE_FILTER, SOQL_USE_SORT, SOQL_USE_GROUP } soql_field_use;
/* May field (as the query names it) be used so? false refuses it. */
typedef bool (*soql_field_allows_fn)(const char *field, soql_field_use use, void *ctx);
/* Check every filtered, ordered and grouped field with allows(); the first refused one ->
 * false with Salesforce's words: INVALID_FIELD "field 'Description' can not be filtered in
 * a query call", MALFORMED_QUERY "... can not be sorted in a query call", INVALID_FIELD
 * "... can not be grouped in a query call". COUNT(field) in HAVING or ORDER BY counts and
 * is not checked. */
bool soql_check_usage(const soql_query *q, soql_field_allows_fn allows, void *ctx, soql_error *err);

/* Does record (a JSON object of field -> value) satisfy the WHERE clause? No WHERE: true.
 * Comparison follows SOQL: strings compare case-insensitively for = and LIKE; dateTime
 * literals compare as instants against Salesforce-format timestamp strings; null only
 * equals NULL. */
bool soql_matches(const soql_query *q, const cJSON *record);

/* Index hint for servers holding many records: when the WHERE clause is `field = 'str'` or
 * `field IN ('s1', ...)` with string literals only, or an AND with such a comparison among
 * its operands (the first one), returns the number of literals and sets *field to the field
 * as written; soql_where_key(q, i) is literal i (decoded, borrowed). Otherwise 0 and *field
 * NULL. A record can satisfy the clause only if that field compares equal (as = does, see
 * soql_matches) to one of the literals, so a server may fetch candidates from an index and
 * still decide with soql_matches. */
size_t soql_where_keys(const soql_query *q, const char **field);
const char *soql_where_key(const soql_query *q, size_t i);

/* Range hint for the same servers: true when the WHERE clause implies `field >= *floor_ms`
 * for every match (field named directly, compared with a dateTime literal by >, >= or =;
 * any operand of an AND; every operand of an OR, the lowest bound). A server may skip the
 * records below the bound (Salesforce indexes SystemModstamp) and still decide with
 * soql_matches. */
bool soql_where_floor(const soql_query *q, const char *field, int64_t *floor_ms);

/* ORDER BY comparator: <0, 0, >0. Records equal on every key compare 0. */
int soql_compare(const soql_query *q, const cJSON *a, const cJSON *b);

/* Apply the whole query to an array of records: filter, sort (stable), offset, limit, and
 * project onto the select list in select order. Each output record starts with the source's
 * "attributes" (when present), then the selected fields under the record's own key spelling
 * (Id only if selected, as Salesforce does); missing fields are null; Account.Name becomes
 * "Account":{"attributes":...,"Name":...} or "Account":null. Returns a new array (caller
 * frees with cJSON_Delete). *total (may be NULL) gets what Salesforce reports as totalSize:
 * "the total number of records returned by the query", which counts LIMIT and OFFSET
 * (SELECT Id ... LIMIT 5 -> 5), so for plain queries it equals the array size. (Changed
 * from "count before LIMIT/OFFSET", which would make the emulator's totalSize wrong.)
 * COUNT(): Salesforce answers {"totalSize":N,"done":true,"records":[]}; here the array is
 * empty and *total = N (after OFFSET/LIMIT).
 * Aggregate queries: one {"attributes":{"type":"AggregateResult"}, key: value...} row per
 * group (without GROUP BY one group, so COUNT(Id) of nothing is one row with 0), the
 * entries in SELECT order under their keys: the alias, else exprN for the Nth COUNT
 * without an alias (from 0), else the field's last segment. COUNT(field) counts the rows
 * where field is not null (COUNT(Id): every row). Rows group where each GROUP BY field is
 * null on both or equal as ORDER BY compares (strings case-insensitively); a group whose
 * members differ in letter case shows its first record's spelling (input order). HAVING filters
 * groups; groups are ordered by ORDER BY, then by the group keys ascending (nulls first),
 * then OFFSET/LIMIT apply; *total = the rows returned. */
cJSON *soql_execute(const soql_query *q, const cJSON *records, size_t *total);

/* One record as soql_execute outputs it (attributes, then the select list; see there).
 * For callers that filter, sort and window elsewhere (the agent's SQL over its mirror).
 * Caller frees with cJSON_Delete. */
cJSON *soql_project(const soql_query *q, const cJSON *record);

/* Quote a string as a SOQL literal: wraps in '...' and escapes \ ' " and control chars
 * (\n \r \t \b \f, others as \u00XX). % and _ are left alone: they are wildcards only in
 * LIKE, and this quotes values for = / IN. Caller frees. soql_parse of "x = " + result yields
 * the original value (property-tested). NULL is quoted as ''. */
char *soql_quote(const char *value);
/* Quote value as a LIKE pattern matching exactly value: as soql_quote, plus \% and \_ so
 * the value's own % and _ are literal. For a prefix match insert '%' before the closing
 * quote of the result. Caller frees. */
char *soql_quote_like(const char *value);

#endif
