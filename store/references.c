/* References from a record to other cached records (issue 9 item 8): for each reference
 * field of a record (ContactId, AccountId, ...) whose value names a record in the mirror,
 * that record's local id, Salesforce Id and a display name, so `case get` can show the
 * contact without the network.
 *
 * Invariants:
 * R1. A value is either a local id (a parent created here, maybe not synced yet: its
 *     mirror row keeps that local id after its create is pushed and after a pull merges
 *     it, so the reference never dangles) or a Salesforce Id, compared in its 18-char form
 *     (store/resolve.c I1), so the 15-char UI form finds the same record.
 * R2. Salesforce Ids are looked up through the (sobject, sf_id) unique index, once per
 *     sObject the mirror pulls (pull_state): never a scan of the mirror. A parent of an
 *     sObject that is not pulled is found by its local id only.
 * R3. A deleted parent, or one not cached, is no reference: the field keeps its raw Id.
 */
#include <stdlib.h>
#include <string.h>

#include "sfagent/record.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/localid.h"
#include "util/sfid.h"
#include "util/strbuf.h"

static const char SQL_BY_LOCAL[] =
    "SELECT local_id, sobject, sf_id, fields, case_number FROM records "
    "WHERE local_id = ?1 AND deleted = 0";
/* R2: one index probe per pulled sObject. */
static const char SQL_BY_SFID[] =
    "SELECT r.local_id, r.sobject, r.sf_id, r.fields, r.case_number "
    "FROM pull_state p JOIN records r ON r.sobject = p.sobject AND r.sf_id = ?1 "
    "WHERE r.deleted = 0 LIMIT 1";

/* Name, else FirstName LastName, else LastName, else Subject, else the CaseNumber. */
static char *display_name(const char *fields_json, const char *case_number)
{
    cJSON *f = cJSON_Parse(fields_json ? fields_json : "{}");
    const char *name = json_str(f, "Name");
    const char *first = json_str(f, "FirstName"), *last = json_str(f, "LastName");
    char *out = NULL;
    if (name && *name) {
        out = xstrdup(name);
    } else if (last && *last) {
        strbuf sb = STRBUF_INIT;
        if (first && *first)
            strbuf_addf(&sb, "%s ", first);
        strbuf_adds(&sb, last);
        out = strbuf_detach(&sb);
    } else if (json_str(f, "Subject")) {
        out = xstrdup(json_str(f, "Subject"));
    } else if (case_number) {
        out = xstrdup(case_number);
    }
    cJSON_Delete(f);
    return out;
}

/* The cached, live record value names (R1), into *ref; *found false when none. */
static sfa_status find_target(bool *found, sfa_record_ref *ref, sfa_agent *a, const char *value)
{
    char id18[SFID_LEN + 1];
    const char *sql = NULL, *key = value;
    if (local_id_is_valid(value)) {
        sql = SQL_BY_LOCAL;
    } else if (sfid_is_valid(value) && sfid_to18(value, id18)) {
        sql = SQL_BY_SFID;
        key = id18;
    } else {
        *found = false;
        return SFA_OK;
    }
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        ref->local_id = store_col_dup(st, 0);
        ref->sobject = store_col_dup(st, 1);
        ref->sf_id = store_col_dup(st, 2);
        char *cn = store_col_dup(st, 4);
        ref->name = display_name((const char *)sqlite3_column_text(st, 3), cn);
        free(cn);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "reading a referenced record");
    return SFA_OK;
}

static void ref_clear(sfa_record_ref *r)
{
    free(r->field);
    free(r->sobject);
    free(r->local_id);
    free(r->sf_id);
    free(r->name);
}

sfa_status sfa_record_references(sfa_record_ref_array *out, sfa_agent *agent,
                                 const sfa_record *record)
{
    if (out)
        *out = (sfa_record_ref_array){0};
    if (!agent || !out || !record || !record->sobject)
        return agent ? store_fail(agent, SFA_EINVAL, "sfa_record_references: missing argument")
                     : store_error_set(SFA_EINVAL, "sfa_record_references: agent is NULL");
    store_clear_error(agent);
    cJSON *fields = cJSON_Parse(record->fields_json ? record->fields_json : "{}");
    sfa_status s = SFA_OK;
    for (const cJSON *f = fields ? fields->child : NULL; f && s == SFA_OK; f = f->next) {
        if (!cJSON_IsString(f) || strcmp(f->string, "Id") == 0 ||
            !store_field_is_reference(agent, record->sobject, f->string))
            continue;
        sfa_record_ref ref = {0};
        bool found = false;
        s = find_target(&found, &ref, agent, f->valuestring);
        if (s != SFA_OK || !found) {
            ref_clear(&ref);
            continue;
        }
        ref.field = xstrdup(f->string);
        out->items = xrealloc(out->items, (out->count + 1) * sizeof *out->items);
        out->items[out->count++] = ref; /* ownership moves to *out */
    }
    cJSON_Delete(fields);
    if (s != SFA_OK)
        sfa_record_ref_array_free(out);
    return s;
}

void sfa_record_ref_array_free(sfa_record_ref_array *array)
{
    if (!array)
        return;
    for (size_t i = 0; i < array->count; i++)
        ref_clear(&array->items[i]);
    free(array->items);
    array->items = NULL;
    array->count = 0;
}
