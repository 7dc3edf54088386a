/* Shared by the read paths of store/ (records_read.c, query.c, query_sql.c): which fields
 * migration 0006 indexes, and the exact SQL expression each index is built on. */
#ifndef SFA_STORE_QUERY_SQL_H
#define SFA_STORE_QUERY_SQL_H

#include <stdbool.h>

#include "soql/soql.h"
#include "store/sql.h"

/* The expression over `records r` a built-in index covers for field of sobject (field
 * matched ASCII case-insensitively): a column, e.g. "r.f_status" (migration 0013) or
 * "r.case_number" for a Case's CaseNumber. Static text, byte-identical to the index
 * definition, so SQL built with it can be served by the index (compare with COLLATE
 * NOCASE). NULL when no index covers the field. */
const char *store_indexed_expr(const char *sobject, const char *field);

/* The path Salesforce puts in attributes.url; the version is only cosmetic locally. */
#define STORE_SOBJECT_URL_PREFIX "/services/data/v62.0/sobjects/"

/* Does a declared index (store/indexes.c, X1) cover the top-level field spelled exactly
 * so? Only ever true for a field API name. */
bool store_field_is_indexed(sfa_agent *a, const char *field);

/* A SOQL query compiled to one SQLite statement (store/query_sql.c). Rows: sobject, sf_id,
 * case_number, fields (a row query), one count (COUNT()), or per group a value and a type
 * column for each SELECT entry (an aggregate query: store_qsql_aggregate_row). */
typedef struct store_qsql store_qsql;

/* Compile q against a's mirror. An unknown field -> SFA_EINVAL with a message on the
 * handle. *out is the caller's (store_qsql_free). */
sfa_status store_qsql_compile(store_qsql **out, sfa_agent *a, const soql_query *q);
/* The statement text, parameters as ?N. Borrowed. */
const char *store_qsql_text(const store_qsql *c);
/* Prepare prefix (may be NULL, e.g. "EXPLAIN QUERY PLAN ") + the statement with every
 * parameter bound; *out is the caller's (sqlite3_finalize), valid while c lives. */
sfa_status store_qsql_prepare(sqlite3_stmt **out, sfa_agent *a, const store_qsql *c,
                              const char *prefix);
void store_qsql_free(store_qsql *c);
/* Is each row of a row query one column, the record's JSON text already projected as
 * soql_project() would (store/query_sql.c Q9)? Else: sobject, sf_id, case_number, fields. */
bool store_qsql_row_is_json(const store_qsql *c);
/* The current row of an aggregate query's statement (soql_is_aggregate) as Salesforce's
 * AggregateResult record. Caller frees (cJSON_Delete). */
cJSON *store_qsql_aggregate_row(const store_qsql *c, sqlite3_stmt *st);

/* The reference semantics: soql_execute() over every live row of the sObject, as local
 * queries ran before they were compiled to SQL. For the differential test only. */
sfa_status store_query_eval(char **out_json, sfa_agent *agent, const char *soql);

#endif
