/* Field indexes an operator declares in the configuration ([pull.<Object>] index = ...),
 * beside the ones the migrations create for the common fields (store/query_sql.c INDEXED).
 * The mirror keeps every sObject in one table, so an index is per field name: it serves
 * that field in every sObject, like the built-in ones.
 *
 * Invariants:
 * X1. A declared index is named records_x_<Field> and built like the built-in field
 *     indexes of migration 0009: (sobject, json_extract(fields, '$.<Field>') COLLATE
 *     NOCASE, created_at) WHERE deleted = 0, so the compiled SOQL (query_sql.c) can use
 *     it for =, IN, ranges and ORDER BY the way it uses those. (The built-in ones are on
 *     columns since migration 0013, which also covers counts; a declared field has no
 *     column, so its index stays on the expression.)
 * X2. <Field> is a Salesforce field API name (name_is_valid_api_name: letters, digits,
 *     underscores), checked before it is put into the statement text: DDL takes no bound
 *     parameters, and such a name can neither end the identifier nor the JSON path.
 * X3. Only records_x_ indexes are ever dropped here; applying a list is one transaction,
 *     so a failure leaves the indexes as they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfagent/query.h"
#include "store/query_sql.h"
#include "store/sql.h"
#include "util/alloc.h"
#include "util/names.h"
#include "util/strbuf.h"

#define PREFIX "records_x_"

static const char SQL_DECLARED[] =
    "SELECT name FROM sqlite_schema WHERE type = 'index' AND "
    "tbl_name = 'records' AND name LIKE 'records\\_x\\_%' ESCAPE '\\'";

/* The spelling the mirror stores field under (JSON keys are case-sensitive), else as
 * given. Caller frees. */
static char *stored_spelling(sfa_agent *a, const char *field)
{
    static const char SQL[] = "SELECT name FROM record_fields WHERE name = ?1 LIMIT 1";
    sqlite3_stmt *st = store_stmt(a, SQL);
    char *name = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, field, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            name = store_col_dup(st, 0);
        sqlite3_reset(st);
    }
    if (name && name_is_valid_api_name(name))
        return name;
    free(name);
    return xstrdup(field);
}

static bool is_listed(const char *field, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(field, fields[i]) == 0)
            return true;
    return false;
}

/* X3: drop the declared indexes not in fields. */
static sfa_status drop_unlisted(size_t *dropped, sfa_agent *a, const char *const *fields, size_t n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store_db(a), SQL_DECLARED, -1, &st, NULL);
    strbuf drops = STRBUF_INIT;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!is_listed(name + strlen(PREFIX), fields, n) && name_is_valid_api_name(name)) {
            strbuf_addf(&drops, "DROP INDEX %s;", name); /* X2: checked name */
            (*dropped)++;
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE && drops.len)
        rc = sqlite3_exec(store_db(a), strbuf_str(&drops), NULL, NULL, NULL);
    strbuf_free(&drops);
    /* rc: SQLITE_DONE after the scan, SQLITE_OK after the drops, else the failure */
    return rc == SQLITE_DONE || rc == SQLITE_OK ? SFA_OK
                                                : store_fail_sqlite(a, rc, "dropping an index");
}

/* X1, X2: create the index of one field unless it is there. */
static sfa_status create_one(size_t *created, sfa_agent *a, const char *field)
{
    char *name = stored_spelling(a, field);
    char *sql = xasprintf("CREATE INDEX " PREFIX "%s ON records (sobject, json_extract(fields, "
                          "'$.%s') COLLATE NOCASE, created_at) WHERE deleted = 0",
                          name, name);
    sqlite3_stmt *st = NULL;
    char *exists = xasprintf(PREFIX "%s", name);
    int rc = sqlite3_prepare_v2(store_db(a),
                                "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1 "
                                "COLLATE NOCASE",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, exists, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        rc = sqlite3_exec(store_db(a), sql, NULL, NULL, NULL);
        *created += rc == SQLITE_OK;
    }
    free(exists);
    free(sql);
    free(name);
    return rc == SQLITE_ROW || rc == SQLITE_OK ? SFA_OK
                                               : store_fail_sqlite(a, rc, "creating an index");
}

/* A field the migrations index already (or a column of the mirror) needs no declaration. */
static bool is_builtin(const char *field)
{
    return strcasecmp(field, "Id") == 0 || store_indexed_expr("Case", field) != NULL;
}

sfa_status sfa_index_apply(size_t *out_created, size_t *out_dropped, sfa_agent *agent,
                           const char *const *fields, size_t nfields)
{
    size_t created = 0, dropped = 0;
    if (out_created)
        *out_created = 0;
    if (out_dropped)
        *out_dropped = 0;
    if (!agent || (nfields && !fields))
        return agent ? store_fail(agent, SFA_EINVAL, "no field list given") : SFA_EINVAL;
    store_clear_error(agent);
    for (size_t i = 0; i < nfields; i++)
        if (!fields[i] || !name_is_valid_api_name(fields[i]))
            return store_fail(agent, SFA_EINVAL, "index: '%s' is not a field API name",
                              fields[i] ? fields[i] : "(null)");
    sfa_status s = store_tx_begin(agent);
    if (s == SFA_OK)
        s = drop_unlisted(&dropped, agent, fields, nfields);
    for (size_t i = 0; s == SFA_OK && i < nfields; i++)
        if (!is_builtin(fields[i]))
            s = create_one(&created, agent, fields[i]);
    if (s == SFA_OK)
        s = store_tx_commit(agent);
    if (s != SFA_OK) {
        store_tx_rollback(agent);
        return s;
    }
    if (out_created)
        *out_created = created;
    if (out_dropped)
        *out_dropped = dropped;
    return SFA_OK;
}

sfa_status sfa_index_list(char **out_text, sfa_agent *agent)
{
    if (out_text)
        *out_text = NULL;
    if (!agent || !out_text)
        return agent ? store_fail(agent, SFA_EINVAL, "no output given") : SFA_EINVAL;
    store_clear_error(agent);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store_db(agent), SQL_DECLARED, -1, &st, NULL);
    strbuf sb = STRBUF_INIT;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
        strbuf_addf(&sb, "%s\n", (const char *)sqlite3_column_text(st, 0) + strlen(PREFIX));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        strbuf_free(&sb);
        return store_fail_sqlite(agent, rc, "listing the declared indexes");
    }
    *out_text = strbuf_detach(&sb);
    return SFA_OK;
}

bool store_field_is_indexed(sfa_agent *a, const char *field)
{
    /* Binary name match: the index's JSON path is spelled exactly as its name (X1). */
    static const char SQL[] = "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND "
                              "tbl_name = 'records' AND name = ?1";
    if (!name_is_valid_api_name(field))
        return false;
    char *name = xasprintf(PREFIX "%s", field);
    sqlite3_stmt *st = store_stmt(a, SQL);
    bool found = false;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    free(name);
    return found;
}
