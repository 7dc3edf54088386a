/* Local SOQL: the shared soql/ evaluator run over the mirror, no network.
 *
 * Invariants:
 * I1. Only rows of the query's sObject that are not deleted are seen, like a plain
 *     Salesforce query (no queryAll).
 * I2. Each row is presented as Salesforce would send it: its fields, plus Id (the
 *     Salesforce Id, null until the create synced), CaseNumber for Case, and
 *     "attributes": {"type": sObject[, "url": ...]} (url only when there is an Id).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfagent/query.h"
#include "soql/soql.h"
#include "store/sql.h"
#include "util/alloc.h"
#include "util/json.h"

/* The path Salesforce puts in attributes.url; the version is only cosmetic locally. */
#define SOBJECT_URL_PREFIX "/services/data/v62.0/sobjects/"

static const char SQL_ROWS[] =
    "SELECT sobject, sf_id, case_number, fields FROM records "
    "WHERE sobject = ?1 COLLATE NOCASE AND deleted = 0 ORDER BY created_at, local_id";

static cJSON *row_json(sqlite3_stmt *st)
{
    const char *sobject = (const char *)sqlite3_column_text(st, 0);
    const char *sf_id = (const char *)sqlite3_column_text(st, 1);
    const char *case_number = (const char *)sqlite3_column_text(st, 2);
    cJSON *fields = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
    cJSON *rec = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(rec, "attributes");
    cJSON_AddStringToObject(attrs, "type", sobject);
    if (sf_id) {
        char *url = xasprintf(SOBJECT_URL_PREFIX "%s/%s", sobject, sf_id);
        cJSON_AddStringToObject(attrs, "url", url);
        free(url);
    }
    const cJSON *f = NULL;
    cJSON_ArrayForEach(f, fields)
    {
        if (strcasecmp(f->string, "Id") == 0 || strcasecmp(f->string, "CaseNumber") == 0 ||
            strcasecmp(f->string, "attributes") == 0)
            continue;
        cJSON_AddItemToObject(rec, f->string, cJSON_Duplicate(f, true));
    }
    cJSON_Delete(fields);
    if (sf_id)
        cJSON_AddStringToObject(rec, "Id", sf_id);
    else
        cJSON_AddNullToObject(rec, "Id");
    if (strcasecmp(sobject, "Case") == 0) {
        if (case_number)
            cJSON_AddStringToObject(rec, "CaseNumber", case_number);
        else
            cJSON_AddNullToObject(rec, "CaseNumber");
    }
    return rec;
}

static sfa_status load_rows(sfa_agent *a, const char *sobject, cJSON **out)
{
    *out = NULL;
    sqlite3_stmt *st = store_stmt(a, SQL_ROWS);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    cJSON *rows = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(rows, row_json(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(rows);
        return store_fail_sqlite(a, rc, "reading the mirror");
    }
    *out = rows;
    return SFA_OK;
}

sfa_status sfa_query_local(char **out_json, sfa_agent *agent, const char *soql)
{
    if (out_json)
        *out_json = NULL;
    if (!agent || !out_json)
        return agent ? store_fail(agent, SFA_EINVAL, "%s: out is NULL", "sfa_query_local")
                     : store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_query_local");
    store_clear_error(agent);
    if (!soql)
        return store_fail(agent, SFA_EINVAL, "no query given");
    soql_error err;
    memset(&err, 0, sizeof err);
    soql_query *q = soql_parse(soql, &err);
    if (!q)
        return store_fail(agent, SFA_EINVAL, "%s: %s", err.code, err.message);
    cJSON *rows = NULL;
    sfa_status s = load_rows(agent, soql_from(q), &rows);
    if (s == SFA_OK) {
        size_t total = 0;
        cJSON *result = soql_execute(q, rows, &total);
        cJSON *resp = cJSON_CreateObject();
        cJSON_AddNumberToObject(resp, "totalSize", (double)total);
        cJSON_AddBoolToObject(resp, "done", true);
        cJSON_AddItemToObject(resp, "records", result ? result : cJSON_CreateArray());
        *out_json = json_print(resp);
        cJSON_Delete(resp);
    }
    cJSON_Delete(rows);
    soql_free(q);
    return s;
}

char *sfa_query_quote(const char *value)
{
    return soql_quote(value);
}
