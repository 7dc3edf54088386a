/* The external-ID index: records by (object, external-ID or unique field, value compared
 * case-insensitively), so upserts and DUPLICATE_VALUE checks do not scan every record
 * (which made a 10,000-record push quadratic).
 *
 * Invariants (all under e->lock):
 *  X1 every record in recs[] (live and deleted: lookups filter) has exactly one entry per
 *     non-null string value of each indexed field (EF_EXTID or EF_UNIQUE) of its object.
 *  X2 an entry holds no copy of the value: it is read from r->fields, so every change of
 *     r->fields is bracketed by emu_extidx_remove (old fields) and emu_extidx_add (new).
 *  X3 the bucket of an entry is chosen by a hash of the lower-cased (ASCII) value, so
 *     values equal under strcasecmp share a bucket.
 */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct emu_xent {
    size_t hash;
    const emu_field *field; /* identifies the object too: fields[] is per object */
    emu_record *rec;
    struct emu_xent *next;
};

bool emu_extidx_covers(const emu_field *f)
{
    return (f->flags & (EF_EXTID | EF_UNIQUE)) != 0;
}

static size_t value_hash(const emu_field *f, const char *v)
{
    size_t h = 1469598103934665603ULL ^ (size_t)(uintptr_t)f;
    for (; *v; v++)
        h = (h ^ (unsigned char)tolower((unsigned char)*v)) * 1099511628211ULL;
    return h;
}

static void grow(emu *e)
{
    size_t want = e->nxbuckets ? e->nxbuckets * 2 : 256;
    struct emu_xent **nb = xcalloc(want, sizeof *nb);
    for (size_t i = 0; i < e->nxbuckets; i++) {
        struct emu_xent *x = e->xbuckets[i], *next;
        for (; x; x = next) {
            next = x->next;
            size_t b = x->hash & (want - 1);
            x->next = nb[b];
            nb[b] = x;
        }
    }
    free(e->xbuckets);
    e->xbuckets = nb;
    e->nxbuckets = want;
}

void emu_extidx_add(emu *e, emu_record *r)
{
    const emu_object *obj = r->obj;
    for (size_t i = 0; i < obj->nfields; i++) {
        const emu_field *f = &obj->fields[i];
        const char *v = emu_extidx_covers(f) ? json_str(r->fields, f->name) : NULL;
        if (!v)
            continue;
        if (e->nxent >= e->nxbuckets)
            grow(e);
        struct emu_xent *x = xmalloc(sizeof *x);
        x->hash = value_hash(f, v);
        x->field = f;
        x->rec = r;
        size_t b = x->hash & (e->nxbuckets - 1);
        x->next = e->xbuckets[b];
        e->xbuckets[b] = x;
        e->nxent++;
    }
}

void emu_extidx_remove(emu *e, emu_record *r)
{
    const emu_object *obj = r->obj;
    for (size_t i = 0; i < obj->nfields && e->nxbuckets; i++) {
        const emu_field *f = &obj->fields[i];
        const char *v = emu_extidx_covers(f) ? json_str(r->fields, f->name) : NULL;
        if (!v)
            continue;
        struct emu_xent **p = &e->xbuckets[value_hash(f, v) & (e->nxbuckets - 1)];
        for (; *p; p = &(*p)->next) {
            if ((*p)->rec == r && (*p)->field == f) {
                struct emu_xent *dead = *p;
                *p = dead->next;
                free(dead);
                e->nxent--;
                break;
            }
        }
    }
}

void emu_extidx_clear(emu *e)
{
    for (size_t i = 0; i < e->nxbuckets; i++) {
        struct emu_xent *x = e->xbuckets[i], *next;
        for (; x; x = next) {
            next = x->next;
            free(x);
        }
    }
    free(e->xbuckets);
    e->xbuckets = NULL;
    e->nxbuckets = 0;
    e->nxent = 0;
}

static int by_seq(const void *a, const void *b)
{
    const emu_record *x = *(emu_record *const *)a, *y = *(emu_record *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void push(emu_record ***out, size_t *n, size_t *cap, emu_record *r)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *out = xrealloc(*out, *cap * sizeof **out);
    }
    (*out)[(*n)++] = r;
}

/* Fields outside the index (not external ID, not unique) are found by a scan. */
static size_t scan(emu *e, const emu_field *f, const emu_object *obj, const char *value,
                   bool include_deleted, emu_record ***out, size_t *cap)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nrecs; i++) {
        emu_record *r = e->recs[i];
        bool take = r->obj == obj && (include_deleted || !r->deleted);
        const char *v = take ? json_str(r->fields, f->name) : NULL;
        if (v && strcasecmp(v, value) == 0)
            push(out, &n, cap, r);
    }
    return n;
}

size_t emu_extidx_find(emu *e, const emu_object *obj, const emu_field *f, const char *value,
                       bool include_deleted, emu_record ***out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    if (!emu_extidx_covers(f))
        return scan(e, f, obj, value, include_deleted, out, &cap);
    if (!e->nxbuckets)
        return 0;
    size_t h = value_hash(f, value);
    for (struct emu_xent *x = e->xbuckets[h & (e->nxbuckets - 1)]; x; x = x->next) {
        if (x->hash != h || x->field != f || (!include_deleted && x->rec->deleted))
            continue;
        const char *v = json_str(x->rec->fields, f->name);
        if (v && strcasecmp(v, value) == 0)
            push(out, &n, &cap, x->rec);
    }
    /* Callers report matches in insertion order (recs[] order, S1). */
    if (n > 1)
        qsort(*out, n, sizeof **out, by_seq);
    return n;
}
