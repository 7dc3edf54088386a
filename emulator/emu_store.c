/* The emulator's records: the Id index, DML (create, update, upsert by external ID,
 * delete to the recycle bin) and allOrNone transactions. Validation lives in
 * emu_validate.c, read views in emu_view.c, the state file in emu_persist.c; the
 * invariants below hold across all four.
 *
 * Invariants (all under e->lock):
 *  S1 recs[] is in insertion order (seq ascending); slots[] indexes it by the first 15
 *     characters of the Id (the case-sensitive identity of a Salesforce Id).
 *  S2 every record's fields object holds every field of its object, in describe order,
 *     null when unset; derived fields (IsClosed, Contact.Name) are recomputed on every
 *     write; audit dates are whole seconds, as on Salesforce, and SystemModstamp never
 *     decreases across writes (emu_store_next_modstamp): writes in one second tie, and
 *     whatever orders by it breaks ties by Id (emu_store_select's order).
 *  S3 a DML call validates against a copy and swaps it in only when valid, so a failed
 *     call changes nothing.
 *  S4 inside a transaction, the first write to a record saves its prior state in the undo
 *     log; rollback restores those states newest first.
 *  S5 with a state file, every change to a record or counter is written through before the
 *     request that made it answers (so DROP_AFTER loses the answer, never the change).
 *  S6 the external-ID index (emu_extidx.c, X1-X3) follows every record in recs[]: records
 *     enter it in emu_store_index_add, leave it before they are freed, and each swap of
 *     r->fields is bracketed by emu_extidx_remove/emu_extidx_add.
 */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- errors ---- */

void emu_dml_error_set(emu_dml_error *err, int status, const char *code, const char *field,
                       const char *fmt, ...)
{
    if (!err)
        return;
    err->http_status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static void not_found(emu_dml_error *err)
{
    emu_dml_error_set(err, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
}

static void entity_deleted(emu_dml_error *err)
{
    emu_dml_error_set(err, 404, "ENTITY_IS_DELETED", NULL, "entity is deleted");
}

/* ---- index (S1) ---- */

static size_t hash15(const char *id)
{
    size_t h = 1469598103934665603ULL;
    for (int i = 0; i < 15 && id[i]; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
    return h;
}

void emu_store_index_rebuild(emu *e)
{
    size_t want = 64;
    while (want < e->nrecs * 2 + 2)
        want *= 2;
    free(e->slots);
    e->slots = xcalloc(want, sizeof *e->slots);
    e->nslots = want;
    for (size_t i = 0; i < e->nrecs; i++) {
        size_t s = hash15(e->recs[i]->id) & (want - 1);
        while (e->slots[s])
            s = (s + 1) & (want - 1);
        e->slots[s] = i + 1;
    }
}

emu_record *emu_store_get(emu *e, const char *id)
{
    char id18[19];
    if (!id || !sfid_to18(id, id18) || !e->nslots)
        return NULL;
    size_t s = hash15(id18) & (e->nslots - 1);
    while (e->slots[s]) {
        emu_record *r = e->recs[e->slots[s] - 1];
        if (strncmp(r->id, id18, 15) == 0)
            return r;
        s = (s + 1) & (e->nslots - 1);
    }
    return NULL;
}

void emu_store_index_add(emu *e, emu_record *r)
{
    if (e->nrecs == e->caprecs) {
        e->caprecs = e->caprecs ? e->caprecs * 2 : 64;
        e->recs = xrealloc(e->recs, e->caprecs * sizeof *e->recs);
    }
    e->recs[e->nrecs++] = r;
    emu_extidx_add(e, r); /* S6 */
    if (e->nrecs * 2 + 2 > e->nslots) {
        emu_store_index_rebuild(e);
        return;
    }
    size_t s = hash15(r->id) & (e->nslots - 1);
    while (e->slots[s])
        s = (s + 1) & (e->nslots - 1);
    e->slots[s] = e->nrecs;
}

void emu_record_free(emu_record *r)
{
    if (!r)
        return;
    cJSON_Delete(r->fields);
    free(r);
}

static emu_record *record_copy(const emu_record *r)
{
    emu_record *c = xmalloc(sizeof *c);
    *c = *r;
    c->fields = cJSON_Duplicate(r->fields, 1);
    return c;
}

/* ---- time and undo ---- */

int64_t emu_whole_second(int64_t ms)
{
    return ms - ((ms % 1000) + 1000) % 1000;
}

int64_t emu_store_next_modstamp(emu *e)
{
    /* S2: whole seconds; never back, even if the clock steps back (or a state file written
     * before audit dates were whole seconds holds a stamp with milliseconds). */
    int64_t now = emu_whole_second(time_now_ms());
    int64_t last = emu_whole_second(e->last_modstamp);
    e->last_modstamp = now > last ? now : last;
    return e->last_modstamp;
}

/* S4: save r's state (or its absence, r == NULL) before the txn's first write to id. */
static void undo_touch(emu *e, const char *id, const emu_record *r)
{
    if (!e->in_txn)
        return;
    for (size_t i = 0; i < e->nundo; i++)
        if (strcmp(e->undo[i].id, id) == 0)
            return;
    if (e->nundo == e->capundo) {
        e->capundo = e->capundo ? e->capundo * 2 : 16;
        e->undo = xrealloc(e->undo, e->capundo * sizeof *e->undo);
    }
    memcpy(e->undo[e->nundo].id, id, 19);
    e->undo[e->nundo].before = r ? record_copy(r) : NULL;
    e->nundo++;
}

void emu_store_txn_begin(emu *e)
{
    assert(!e->in_txn); /* not nested (emu_internal.h) */
    e->in_txn = true;
    e->nundo = 0;
}

void emu_store_txn_commit(emu *e)
{
    for (size_t i = 0; i < e->nundo; i++)
        emu_record_free(e->undo[i].before);
    e->nundo = 0;
    e->in_txn = false;
}

static void remove_record(emu *e, const char *id)
{
    for (size_t i = 0; i < e->nrecs; i++) {
        if (strcmp(e->recs[i]->id, id) != 0)
            continue;
        emu_extidx_remove(e, e->recs[i]); /* S6 */
        emu_record_free(e->recs[i]);
        memmove(&e->recs[i], &e->recs[i + 1], (e->nrecs - i - 1) * sizeof *e->recs);
        e->nrecs--;
        break;
    }
    emu_store_index_rebuild(e);
    emu_persist_remove(e, id);
}

void emu_store_txn_rollback(emu *e)
{
    for (size_t k = e->nundo; k-- > 0;) {
        emu_undo *u = &e->undo[k];
        emu_record *cur = emu_store_get(e, u->id);
        if (!u->before) {
            remove_record(e, u->id);
            continue;
        }
        if (cur) {
            emu_extidx_remove(e, cur); /* S6 */
            cJSON_Delete(cur->fields);
            *cur = *u->before;
            free(u->before); /* fields moved into cur */
            u->before = NULL;
            emu_extidx_add(e, cur);
            emu_persist_put(e, cur);
        }
    }
    emu_store_txn_commit(e);
}

static void set_string(cJSON *t, const char *name, const char *v)
{
    cJSON_ReplaceItemInObjectCaseSensitive(t, name, cJSON_CreateString(v));
}

static void stamp(emu *e, cJSON *t, int64_t ms, bool create)
{
    char buf[32];
    time_format_sf(ms, buf);
    if (create) {
        set_string(t, "CreatedDate", buf);
        set_string(t, "CreatedById", e->user_id);
    }
    set_string(t, "LastModifiedDate", buf);
    set_string(t, "LastModifiedById", e->user_id);
    set_string(t, "SystemModstamp", buf);
}

/* ---- DML ---- */

static cJSON *blank_fields(const emu_object *obj)
{
    cJSON *t = cJSON_CreateObject();
    for (size_t i = 0; i < obj->nfields; i++)
        cJSON_AddItemToObject(t, obj->fields[i].name, cJSON_CreateNull());
    return t;
}

bool emu_store_create(emu *e, const emu_object *obj, const cJSON *fields, char out_id[19],
                      emu_dml_error *err)
{
    cJSON *t = blank_fields(obj);
    char id[19];
    /* The Id is only minted once the input is valid, so failed creates leave no gaps. */
    sfid_make(obj->prefix, e->id_counter + 1, id);
    if (!emu_validate_input(e, obj, t, fields, true, NULL, err) ||
        !emu_validate_defaults(e, obj, t, id, err) || !emu_validate_unique(e, obj, t, NULL, err)) {
        cJSON_Delete(t);
        return false;
    }
    e->id_counter++;
    emu_validate_derive(e, obj, t, true);
    set_string(t, "Id", id);
    cJSON_ReplaceItemInObjectCaseSensitive(t, "IsDeleted", cJSON_CreateFalse());
    if (emu_meta_field(obj, "CaseNumber") && strcmp(obj->name, "Case") == 0) {
        char num[16];
        snprintf(num, sizeof num, "%08ld", e->case_number++);
        set_string(t, "CaseNumber", num);
    }
    emu_record *r = xcalloc(1, sizeof *r);
    memcpy(r->id, id, 19);
    r->obj = obj;
    r->fields = t;
    r->modstamp_ms = emu_store_next_modstamp(e);
    r->seq = e->next_seq++;
    stamp(e, t, r->modstamp_ms, true);
    undo_touch(e, id, NULL);
    emu_store_index_add(e, r);
    emu_persist_put(e, r);
    emu_persist_counters(e);
    if (out_id)
        memcpy(out_id, id, 19);
    return true;
}

/* Find a live record of obj (or any object when obj is NULL) for DML by id. */
static emu_record *find_for_dml(emu *e, const emu_object *obj, const char *id, emu_dml_error *err)
{
    char id18[19];
    const emu_object *owner = obj;
    if (!id || !sfid_to18(id, id18) || (obj && strncmp(id18, obj->prefix, 3) != 0)) {
        if (!owner && id)
            owner = emu_object_for_id(e, id);
        emu_dml_error_set(err, 400, "MALFORMED_ID", "Id", "%s ID: id value of incorrect type: %s",
                          owner ? owner->label : "Record", id ? id : "");
        return NULL;
    }
    emu_record *r = emu_store_get(e, id18);
    if (!r)
        not_found(err);
    else if (r->deleted)
        entity_deleted(err);
    else
        return r;
    return NULL;
}

bool emu_store_update(emu *e, const emu_object *obj, const char *id, const cJSON *fields,
                      emu_dml_error *err)
{
    emu_record *r = find_for_dml(e, obj, id, err);
    if (!r)
        return false;
    cJSON *t = cJSON_Duplicate(r->fields, 1);
    if (!emu_validate_input(e, r->obj, t, fields, false, r->id, err) ||
        !emu_validate_unique(e, r->obj, t, r->id, err)) {
        cJSON_Delete(t);
        return false;
    }
    emu_validate_derive(e, r->obj, t, false);
    undo_touch(e, r->id, r);
    int64_t ms = emu_store_next_modstamp(e);
    stamp(e, t, ms, false);
    emu_extidx_remove(e, r); /* S6 */
    cJSON_Delete(r->fields);
    r->fields = t;
    emu_extidx_add(e, r);
    r->modstamp_ms = ms;
    emu_persist_put(e, r);
    emu_persist_counters(e);
    return true;
}

bool emu_store_upsert(emu *e, const emu_object *obj, const char *ext_field, const char *value,
                      const cJSON *fields, char out_id[19], bool *created, cJSON **matches,
                      emu_dml_error *err)
{
    const emu_field *f = emu_meta_field(obj, ext_field);
    if (matches)
        *matches = NULL;
    if (!f || !(f->flags & EF_EXTID) || !value) {
        not_found(err);
        return false;
    }
    emu_record **found = NULL;
    size_t n = emu_extidx_find(e, obj, f, value, false, &found);
    emu_record *hit = n ? found[n - 1] : NULL;
    if (n > 1) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            char *url = xasprintf("/services/data/v62.0/sobjects/%s/%s", obj->name, found[i]->id);
            cJSON_AddItemToArray(arr, cJSON_CreateString(url));
            free(url);
        }
        free(found);
        if (matches)
            *matches = arr;
        else
            cJSON_Delete(arr);
        emu_dml_error_set(err, 300, "MULTIPLE_CHOICES", f->name,
                          "external id matched more than one record");
        return false;
    }
    free(found); /* hit stays valid: the store is not changed in between */
    cJSON *body = cJSON_IsObject(fields) ? cJSON_Duplicate(fields, 1) : cJSON_CreateObject();
    /* The key comes from the URL; a copy of it in the body is allowed. */
    const cJSON *item;
    cJSON_ArrayForEach(item, fields)
    {
        if (item->string && strcasecmp(item->string, f->name) == 0) {
            cJSON_DeleteItemFromObject(body, item->string);
            break;
        }
    }
    bool ok;
    if (hit) {
        ok = emu_store_update(e, obj, hit->id, body, err);
        if (ok && out_id)
            memcpy(out_id, hit->id, 19);
    } else {
        cJSON_AddStringToObject(body, f->name, value);
        ok = emu_store_create(e, obj, body, out_id, err);
    }
    if (created)
        *created = ok && !hit;
    cJSON_Delete(body);
    return ok;
}

bool emu_store_delete(emu *e, const char *id, emu_dml_error *err)
{
    emu_record *r = find_for_dml(e, NULL, id, err);
    if (!r)
        return false;
    undo_touch(e, r->id, r);
    int64_t ms = emu_store_next_modstamp(e);
    char buf[32];
    time_format_sf(ms, buf);
    r->deleted = true;
    r->deleted_ms = ms;
    r->modstamp_ms = ms;
    cJSON_ReplaceItemInObjectCaseSensitive(r->fields, "IsDeleted", cJSON_CreateTrue());
    set_string(r->fields, "SystemModstamp", buf);
    emu_persist_put(e, r);
    emu_persist_counters(e);
    return true;
}
