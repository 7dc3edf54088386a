/* Local SOQL: the query compiled to one SQLite statement over the mirror
 * (store/query_sql.c), each returned row projected with soql_project(), no network.
 *
 * Invariants:
 * I1. Only rows of the query's sObject that are not deleted are seen, like a plain
 *     Salesforce query (no queryAll).
 * I2. Each row is presented as Salesforce would send it: its fields, plus Id (the
 *     Salesforce Id, null until the create synced), CaseNumber for Case, and
 *     "attributes": {"type": sObject[, "url": ...]} (url only when there is an Id).
 * I3. Rows are read one at a time and handed on: memory does not grow with the result.
 * I4. Numbers are printed as stored (their literal text): an 18-digit number is not
 *     rounded through a double on its way out.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfagent/query.h"
#include "soql/soql.h"
#include "store/query_sql.h"
#include "store/sql.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

/* Is name the first segment of a field the SELECT list names (Contact for Contact.Name)? */
static bool is_selected(const soql_query *q, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < soql_field_count(q); i++) {
        const char *f = soql_field(q, i);
        if (strncasecmp(f, name, n) == 0 && (f[n] == '\0' || f[n] == '.'))
            return true;
    }
    return false;
}

/* I2: a row of (sobject, sf_id, case_number, fields) as Salesforce shapes a record.
 * exact (I4): numbers stay Raw items holding their stored literal, so an 18-digit number
 * prints as stored; the evaluator (store_query_eval) needs cJSON numbers to compare.
 * only (may be NULL): keep just the fields its SELECT list names, for soql_project() to
 * copy; the fields are moved from the parsed row, not copied (a million-row dump spent
 * most of its time in malloc and free). */
static cJSON *row_json(sqlite3_stmt *st, bool exact, const soql_query *only)
{
    const char *sobject = (const char *)sqlite3_column_text(st, 0);
    const char *sf_id = (const char *)sqlite3_column_text(st, 1);
    const char *case_number = (const char *)sqlite3_column_text(st, 2);
    const char *text = (const char *)sqlite3_column_text(st, 3);
    const char *err = NULL;
    cJSON *fields = !text   ? NULL
                    : exact ? json_parse_exact(text, (size_t)sqlite3_column_bytes(st, 3), &err)
                            : cJSON_Parse(text);
    cJSON *rec = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(rec, "attributes");
    cJSON_AddStringToObject(attrs, "type", sobject);
    if (sf_id) {
        char *url = xasprintf(STORE_SOBJECT_URL_PREFIX "%s/%s", sobject, sf_id);
        cJSON_AddStringToObject(attrs, "url", url);
        free(url);
    }
    cJSON *f = fields ? fields->child : NULL;
    while (f) {
        cJSON *next = f->next;
        if (strcasecmp(f->string, "Id") != 0 && strcasecmp(f->string, "CaseNumber") != 0 &&
            strcasecmp(f->string, "attributes") != 0 && (!only || is_selected(only, f->string)))
            /* keeps the item's key: an object's members are its child list */
            cJSON_AddItemToArray(rec, cJSON_DetachItemViaPointer(fields, f));
        f = next;
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

static sfa_status parse(soql_query **out, sfa_agent *agent, const char *soql)
{
    *out = NULL;
    if (!soql)
        return store_fail(agent, SFA_EINVAL, "no query given");
    soql_error err;
    memset(&err, 0, sizeof err);
    *out = soql_parse(soql, &err);
    return *out ? SFA_OK : store_fail(agent, SFA_EINVAL, "%s: %s", err.code, err.message);
}

/* An aggregate query's row (soql_execute's AggregateResult) to fn. */
static int deliver_aggregate(const store_qsql *c, sqlite3_stmt *st, sfa_query_row_fn fn, void *ctx)
{
    cJSON *rec = store_qsql_aggregate_row(c, st);
    char *text = json_print(rec);
    int stop = fn(ctx, text);
    free(text);
    cJSON_Delete(rec);
    return stop;
}

/* I3: one row at a time from the statement to fn. */
static sfa_status run(size_t *total, sfa_agent *a, const soql_query *q, const store_qsql *c,
                      sfa_query_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    sfa_status s = store_qsql_prepare(&st, a, c, NULL);
    if (s != SFA_OK)
        return s;
    size_t n = 0;
    int rc;
    bool stop = false;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (soql_is_aggregate(q)) {
            stop = deliver_aggregate(c, st, fn, ctx) != 0;
            n++;
        } else if (soql_is_count(q)) {
            n = (size_t)sqlite3_column_int64(st, 0); /* COUNT(): no records, the count */
        } else if (store_qsql_row_is_json(c)) {
            n++;
            stop = fn(ctx, (const char *)sqlite3_column_text(st, 0)) != 0;
        } else {
            cJSON *rec = row_json(st, true, q);
            cJSON *out = soql_project(q, rec);
            char *text = json_print(out);
            n++;
            stop = fn(ctx, text) != 0;
            free(text);
            cJSON_Delete(out);
            cJSON_Delete(rec);
        }
    }
    if (stop)
        rc = SQLITE_DONE;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "running the query");
    *total = n;
    return SFA_OK;
}

sfa_status sfa_query_local_each(size_t *out_total, sfa_agent *agent, const char *soql,
                                sfa_query_row_fn fn, void *ctx)
{
    if (out_total)
        *out_total = 0;
    if (!agent || !fn)
        return agent ? store_fail(agent, SFA_EINVAL, "no row callback given") : SFA_EINVAL;
    store_clear_error(agent);
    soql_query *q = NULL;
    store_qsql *c = NULL;
    size_t total = 0;
    sfa_status s = parse(&q, agent, soql);
    if (s == SFA_OK)
        s = store_qsql_compile(&c, agent, q);
    if (s == SFA_OK)
        s = run(&total, agent, q, c, fn, ctx);
    if (s == SFA_OK && out_total)
        *out_total = total;
    store_qsql_free(c);
    soql_free(q);
    return s;
}

static int collect_row(void *ctx, const char *record_json)
{
    const char *err = NULL;
    cJSON_AddItemToArray(ctx, json_parse_exact(record_json, strlen(record_json), &err)); /* I4 */
    return 0;
}

static char *response(cJSON *records, size_t total)
{
    cJSON *resp = cJSON_CreateObject();
    cJSON_AddNumberToObject(resp, "totalSize", (double)total);
    cJSON_AddBoolToObject(resp, "done", true);
    cJSON_AddItemToObject(resp, "records", records);
    char *text = json_print(resp);
    cJSON_Delete(resp);
    return text;
}

sfa_status sfa_query_local(char **out_json, sfa_agent *agent, const char *soql)
{
    if (out_json)
        *out_json = NULL;
    if (!agent || !out_json)
        return agent ? store_fail(agent, SFA_EINVAL, "%s: out is NULL", "sfa_query_local")
                     : store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_query_local");
    cJSON *records = cJSON_CreateArray();
    size_t total = 0;
    sfa_status s = sfa_query_local_each(&total, agent, soql, collect_row, records);
    if (s == SFA_OK)
        *out_json = response(records, total);
    else
        cJSON_Delete(records);
    return s;
}

sfa_status sfa_query_explain(char **out_text, sfa_agent *agent, const char *soql)
{
    if (out_text)
        *out_text = NULL;
    if (!agent || !out_text)
        return agent ? store_fail(agent, SFA_EINVAL, "no output given") : SFA_EINVAL;
    store_clear_error(agent);
    soql_query *q = NULL;
    store_qsql *c = NULL;
    sqlite3_stmt *st = NULL;
    sfa_status s = parse(&q, agent, soql);
    if (s == SFA_OK)
        s = store_qsql_compile(&c, agent, q);
    if (s == SFA_OK)
        s = store_qsql_prepare(&st, agent, c, "EXPLAIN QUERY PLAN ");
    strbuf sb = STRBUF_INIT;
    int rc = SQLITE_DONE;
    if (s == SFA_OK) {
        strbuf_addf(&sb, "%s\n", store_qsql_text(c));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            strbuf_addf(&sb, "%s\n", (const char *)sqlite3_column_text(st, 3));
        if (rc != SQLITE_DONE)
            s = store_fail_sqlite(agent, rc, "explaining the query");
    }
    sqlite3_finalize(st);
    if (s == SFA_OK)
        *out_text = strbuf_detach(&sb);
    strbuf_free(&sb);
    store_qsql_free(c);
    soql_free(q);
    return s;
}

/* ---- the evaluator over every row: the reference for the differential test ---- */

static const char SQL_ROWS[] =
    "SELECT sobject, sf_id, case_number, fields FROM records "
    "WHERE sobject = ?1 COLLATE NOCASE AND deleted = 0 ORDER BY created_at, rowid";

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
        cJSON_AddItemToArray(rows, row_json(st, false, NULL));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(rows);
        return store_fail_sqlite(a, rc, "reading the mirror");
    }
    *out = rows;
    return SFA_OK;
}

sfa_status store_query_eval(char **out_json, sfa_agent *agent, const char *soql)
{
    if (out_json)
        *out_json = NULL;
    if (!agent || !out_json)
        return agent ? store_fail(agent, SFA_EINVAL, "%s: out is NULL", "store_query_eval")
                     : store_error_set(SFA_EINVAL, "%s: agent is NULL", "store_query_eval");
    store_clear_error(agent);
    soql_query *q = NULL;
    cJSON *rows = NULL;
    sfa_status s = parse(&q, agent, soql);
    if (s == SFA_OK)
        s = load_rows(agent, soql_from(q), &rows);
    if (s == SFA_OK) {
        size_t total = 0;
        cJSON *result = soql_execute(q, rows, &total);
        *out_json = response(result ? result : cJSON_CreateArray(), total);
    }
    cJSON_Delete(rows);
    soql_free(q);
    return s;
}

char *sfa_query_quote(const char *value)
{
    return soql_quote(value);
}
