/* Read views of emulator records: the Salesforce record JSON with its "attributes"
 * block first, relationship fields (Account.Name) as nested records, snapshots of an
 * object's records and the delete log for /deleted/. Lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/sfid.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reads ---- */

const cJSON *emu_store_find(emu *e, const char *id, bool *deleted)
{
    emu_record *r = emu_store_get(e, id);
    if (deleted)
        *deleted = r && r->deleted;
    return r ? r->fields : NULL;
}

static cJSON *attributes(const emu_object *obj, const char *id, double api_version)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", obj->name);
    char *url =
        xasprintf("/services/data/v%.1f/sobjects/%s/%s", api_version, obj->name, id ? id : "");
    cJSON_AddStringToObject(a, "url", url);
    free(url);
    return a;
}

/* "Contact.LastName": the nested relationship object (created on first use) or NULL when
 * the record has no such parent (the whole relationship is then null). */
static void add_dotted(emu *e, const emu_object *obj, const cJSON *stored, cJSON *view,
                       const char *name, double api_version)
{
    const char *dot = strchr(name, '.');
    char rel[128];
    snprintf(rel, sizeof rel, "%.*s", (int)(dot - name), name);
    const emu_field *rf = NULL;
    for (size_t i = 0; i < obj->nfields; i++)
        if (obj->fields[i].relationship && strcasecmp(obj->fields[i].relationship, rel) == 0)
            rf = &obj->fields[i];
    if (!rf)
        return;
    const char *pid = json_str(stored, rf->name);
    emu_record *parent = pid ? emu_store_get(e, pid) : NULL;
    cJSON *nested = cJSON_GetObjectItemCaseSensitive(view, rf->relationship);
    if (!parent) {
        if (!nested)
            cJSON_AddNullToObject(view, rf->relationship);
        return;
    }
    if (!nested) {
        nested = cJSON_CreateObject();
        cJSON_AddItemToObject(nested, "attributes",
                              attributes(parent->obj, parent->id, api_version));
        cJSON_AddItemToObject(view, rf->relationship, nested);
    }
    const char *rest = dot + 1;
    if (strchr(rest, '.')) {
        add_dotted(e, parent->obj, parent->fields, nested, rest, api_version);
        return;
    }
    const emu_field *pf = emu_meta_field(parent->obj, rest);
    if (pf && !cJSON_GetObjectItemCaseSensitive(nested, pf->name))
        cJSON_AddItemToObject(nested, pf->name,
                              cJSON_Duplicate(cJSON_GetObjectItem(parent->fields, pf->name), 1));
}

cJSON *emu_store_view(emu *e, const emu_object *obj, const cJSON *stored, const char *const *fields,
                      size_t nfields, double api_version)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddItemToObject(v, "attributes", attributes(obj, json_str(stored, "Id"), api_version));
    size_t n = fields ? nfields : obj->nfields;
    for (size_t i = 0; i < n; i++) {
        const char *name = fields ? fields[i] : obj->fields[i].name;
        if (strchr(name, '.')) {
            add_dotted(e, obj, stored, v, name, api_version);
            continue;
        }
        const emu_field *f = emu_meta_field(obj, name);
        if (!f || cJSON_GetObjectItemCaseSensitive(v, f->name))
            continue;
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(stored, f->name);
        cJSON_AddItemToObject(v, f->name, val ? cJSON_Duplicate(val, 1) : cJSON_CreateNull());
    }
    return v;
}

cJSON *emu_store_snapshot(emu *e, const emu_object *obj, bool include_deleted, double api_version)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < e->nrecs; i++) {
        const emu_record *r = e->recs[i];
        if (r->obj == obj && (include_deleted || !r->deleted))
            cJSON_AddItemToArray(arr, emu_store_view(e, obj, r->fields, NULL, 0, api_version));
    }
    return arr;
}

/* ---- selection (queries) ---- */

static void push_rec(emu_record ***v, size_t *n, size_t *cap, emu_record *r)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = r;
}

static int by_seq(const void *a, const void *b)
{
    const emu_record *x = *(emu_record *const *)a, *y = *(emu_record *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Id keys: SOQL compares a valid 15- or 18-char Id literal with the record's Id on the
 * case-sensitive 15-char key (an 18-char one is case-insensitive, but for a valid 18-char
 * Id that is the same thing: its suffix encodes the case of the first 15), which is what
 * emu_store_get looks up. An invalid literal compares as plain text: no index then. */
static bool id_candidates(emu *e, const emu_select *sel, emu_record ***v, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < sel->nkeys; i++)
        if (!sfid_is_valid(sel->keys[i]))
            return false;
    for (size_t i = 0; i < sel->nkeys; i++) {
        emu_record *r = emu_store_get(e, sel->keys[i]);
        if (r)
            push_rec(v, n, cap, r);
    }
    return true;
}

/* Text keys compare case-insensitively (ASCII), as the index does; except that an
 * Id-shaped literal also matches a 15/18-char form of itself, which the index cannot see. */
static bool key_candidates(emu *e, const emu_select *sel, const emu_field *f, emu_record ***v,
                           size_t *n, size_t *cap)
{
    for (size_t i = 0; i < sel->nkeys; i++)
        if (sfid_is_valid(sel->keys[i]))
            return false;
    for (size_t i = 0; i < sel->nkeys; i++) {
        emu_record **found = NULL;
        size_t k = emu_extidx_find(e, sel->obj, f, sel->keys[i], sel->include_deleted, &found);
        for (size_t j = 0; j < k; j++)
            push_rec(v, n, cap, found[j]);
        free(found);
    }
    return true;
}

/* The records an indexed key hint allows, in insertion order without repeats; false when
 * the hint cannot be used (then every record is a candidate). */
static bool candidates(emu *e, const emu_select *sel, emu_record ***v, size_t *n)
{
    size_t cap = 0;
    const emu_field *f = sel->key_field ? emu_meta_field(sel->obj, sel->key_field) : NULL;
    bool ok = false;
    *v = NULL;
    *n = 0;
    if (!f || !sel->nkeys)
        return false;
    if (strcmp(f->name, "Id") == 0)
        ok = id_candidates(e, sel, v, n, &cap);
    else if (emu_extidx_covers(f))
        ok = key_candidates(e, sel, f, v, n, &cap);
    if (!ok) {
        free(*v);
        *v = NULL;
        *n = 0;
        return false;
    }
    if (*n > 1)
        qsort(*v, *n, sizeof **v, by_seq);
    size_t w = 0;
    for (size_t i = 0; i < *n; i++)
        if (w == 0 || (*v)[w - 1] != (*v)[i])
            (*v)[w++] = (*v)[i];
    *n = w;
    return true;
}

static bool selected(emu *e, const emu_select *sel, const emu_record *r, double api_version)
{
    if (r->obj != sel->obj || (!sel->include_deleted && r->deleted))
        return false;
    if (sel->has_modstamp_floor && r->modstamp_ms < sel->modstamp_floor_ms)
        return false;
    if (!sel->match)
        return true;
    if (!sel->match_view)
        return sel->match(r->fields, sel->ctx); /* no view for a record that does not match */
    /* The view of the fields the query names, relationship paths included: a view of the
     * object's own fields (NULL list) has no Contact.LastName to compare. */
    cJSON *view = emu_store_view(e, sel->obj, r->fields, sel->fields, sel->nfields, api_version);
    bool keep = sel->match(view, sel->ctx);
    cJSON_Delete(view);
    return keep;
}

cJSON *emu_store_select(emu *e, const emu_select *sel, double api_version)
{
    cJSON *arr = cJSON_CreateArray();
    emu_record **cand = NULL;
    size_t ncand = 0;
    bool indexed = candidates(e, sel, &cand, &ncand);
    size_t n = indexed ? ncand : e->nrecs;
    for (size_t i = 0; i < n; i++) {
        const emu_record *r = indexed ? cand[i] : e->recs[i];
        if (selected(e, sel, r, api_version))
            cJSON_AddItemToArray(arr, emu_store_view(e, sel->obj, r->fields, sel->fields,
                                                     sel->nfields, api_version));
    }
    free(cand);
    return arr;
}

cJSON *emu_store_deleted_between(emu *e, const emu_object *obj, int64_t start_ms, int64_t end_ms)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < e->nrecs; i++) {
        const emu_record *r = e->recs[i];
        if (r->obj != obj || !r->deleted || r->deleted_ms < start_ms || r->deleted_ms >= end_ms)
            continue;
        cJSON *o = cJSON_CreateObject();
        char buf[32];
        time_format_sf(r->deleted_ms, buf);
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "deletedDate", buf);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}
