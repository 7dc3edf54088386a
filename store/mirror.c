/* Pulled records into the mirror: merge under local edits, and removal of records
 * Salesforce deleted (docs/sync-protocol.md#pull, "Merge rules").
 *
 * Invariants (the merge rules; the code cites them):
 *   M1. A record is found by its Salesforce Id (18-char form); failing that, a record this
 *       agent created whose create has not been read back yet is found by the
 *       idempotency key (its local id in the key field): a pulled record never duplicates
 *       a local one. Otherwise it is new and gets a new local id.
 *   M2. base and sys_modstamp take the server's values; a pulled version older than the
 *       one the mirror holds (push read back a newer one) is ignored.
 *   M3. A record with no open op: fields = base (the server's values replace the cache).
 *   M4. A record with open ops: fields = new base + every open op's fields in seq order,
 *       so no pulled value overwrites an unsent local edit. Ops are never touched: their
 *       base_modstamp still names the version the edit was made against, so push's
 *       conflict check sees the server's change.
 *   M5. dirty and deleted are never changed by a merge (they follow the outbox).
 *   M6. A record leaves the mirror only when it has no open op and no open edit of
 *       another record names it by local id; its done ops leave with it (T13).
 *   M7. Every field name of a record inserted here is in record_fields when the
 *       transaction commits: the insert trigger skips rows inserted clean with a base
 *       (migration 0012), so this file notes them itself (note_fields).
 *   M8. A record whose attributes name another sObject type, or that names its Id or
 *       SystemModstamp twice, is refused, and with it the page: it would be cached under
 *       the wrong object, or under an identity other readers of its text see otherwise.
 *   M9. A page's records come in SystemModstamp order (the query's ORDER BY): a page
 *       with a record older than the one before it is refused whole, since the mark
 *       (store/pull.c I1) taken from its last record could then pass records not seen.
 *  M10. The pages of a query that began with no record of its object in the mirror
 *       (none pulled, created, or kept as a tombstone) skip M1's lookups: one query
 *       returns a record once, so none could find anything, and a first pull does one
 *       B-tree probe less per record. Should a record be there after all (a concurrent
 *       `get --refresh`), UNIQUE (sobject, sf_id) refuses the insert and store_pull_page
 *       merges the page again with the lookups; a page listing one record twice is then
 *       refused as before.
 *
 * Cost: the records table carries triggers (migration 0006), and SQLite gives every
 * statement that fires a trigger inside a transaction its own statement journal, which
 * copies the original of every page the statement touches (a dozen indexes' pages per
 * row). So a page's new records are staged in a temp table without triggers or indexes
 * and enter the mirror by INSERT ... SELECT, UNSTAGE_ROWS rows per statement
 * (store_mirror_merge_page): a few journals per page instead of one per record, several
 * times less CPU per record on a first pull (bench/bench_pull.c).
 */
#include "store/mirror.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/op_state.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/json_scan.h"
#include "util/sfid.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

/* Staged records moved into the mirror per statement (SQL_UNSTAGE): about 250 KB of
 * ephemeral table at ~1 KB per record, and still a few statement journals per page
 * where one per record was the cost the staging removed. */
#define UNSTAGE_ROWS 250

#define OPEN_OPS                                                                                   \
    "(SELECT count(*) FROM outbox o WHERE o.local_id = r.local_id AND o.state != 'done')"

static const char SQL_BY_SFID[] =
    "SELECT local_id, sys_modstamp, " OPEN_OPS " FROM records r WHERE sobject = ?1 AND sf_id = ?2";
static const char SQL_BY_KEY[] = "SELECT local_id, sys_modstamp, " OPEN_OPS
                                 " FROM records r WHERE sobject = ?1 AND local_id = ?2"
                                 " AND sf_id IS NULL";
static const char SQL_INSERT[] =
    "INSERT INTO records (local_id, sobject, sf_id, case_number, fields, base, sys_modstamp,"
    " dirty, deleted, created_at, updated_at, " STORE_FIELD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5,"
    " ?5, ?6, 0, 0, ?7, ?7, " STORE_FIELD_VALUES("?5") ")";
static const char SQL_STAGE_TABLE[] =
    "CREATE TEMP TABLE IF NOT EXISTS pull_new (local_id TEXT NOT NULL, sf_id TEXT NOT NULL,"
    " case_number TEXT, base TEXT NOT NULL, sys_modstamp TEXT NOT NULL)";
static const char SQL_STAGE[] = "INSERT INTO temp.pull_new (local_id, sf_id, case_number, base,"
                                " sys_modstamp) VALUES (?1, ?2, ?3, ?4, ?5)";
/* Insertion order is the staging order (rowid), as one-by-one inserts would have it.
 * The records table has triggers, so SQLite first copies the SELECT's rows into an
 * ephemeral table whose pages are outside every cache_size: one statement per
 * UNSTAGE_ROWS rows, not per page, bounds that copy (docs/sync-protocol.md#memory). */
static const char SQL_UNSTAGE[] =
    "INSERT INTO records (local_id, sobject, sf_id, case_number, fields, base, sys_modstamp,"
    " dirty, deleted, created_at, updated_at, " STORE_FIELD_COLS ") SELECT local_id, ?1, sf_id,"
    " case_number, base, base, sys_modstamp, 0, 0, ?2, ?2, " STORE_FIELD_VALUES(
        "base") " FROM temp.pull_new WHERE rowid > ?3 AND rowid <= ?4"
                " ORDER BY rowid";
static const char SQL_STAGE_RANGE[] = "SELECT min(rowid), max(rowid) FROM temp.pull_new";
static const char SQL_STAGE_CLEAR[] = "DELETE FROM temp.pull_new";
static const char SQL_UPDATE[] =
    "UPDATE records SET sf_id = ?2, case_number = coalesce(?3, case_number), fields = ?4,"
    " base = ?5, sys_modstamp = ?6, updated_at = ?7, " STORE_FIELD_SET("?4") " WHERE local_id = ?1";
static const char SQL_OPEN_FIELDS[] = "SELECT fields FROM outbox WHERE local_id = ?1"
                                      " AND state != 'done' AND fields IS NOT NULL ORDER BY seq";
static const char SQL_DROP_CANDIDATE[] =
    "SELECT local_id, " OPEN_OPS " + EXISTS (SELECT 1 FROM records p, json_each(p.fields) j"
    " WHERE p.dirty = 1 AND p.local_id != r.local_id AND j.value = r.local_id)"
    " FROM records r WHERE sobject = ?1 AND sf_id = ?2";
static const char SQL_DELETE_ROW[] = "DELETE FROM records WHERE local_id = ?1";
static const char SQL_NOTE_FIELD[] =
    "INSERT OR IGNORE INTO record_fields (sobject, name) VALUES (?1, ?2)";

typedef struct found_row {
    char *local_id;
    char *sys_modstamp;
    long open_ops;
} found_row;

/* One row of SQL_BY_SFID / SQL_BY_KEY into *out (local_id NULL when none). */
static sfa_status find(found_row *out, sfa_agent *a, const char *sql, const char *sobject,
                       const char *value)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->local_id = store_col_dup(st, 0);
        out->sys_modstamp = store_col_dup(st, 1);
        out->open_ops = (long)sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SFA_OK
                                                 : store_fail_sqlite(a, rc, "reading the mirror");
}

/* M1: by Salesforce Id, then by the idempotency key (key: the key field's value, or
 * NULL) of a create not read back yet. */
static sfa_status locate(found_row *out, sfa_agent *a, const char *sobject, const char *id18,
                         const char *key)
{
    sfa_status s = find(out, a, SQL_BY_SFID, sobject, id18);
    if (s != SFA_OK || out->local_id || !key || strncmp(key, "loc-", 4) != 0)
        return s;
    return find(out, a, SQL_BY_KEY, sobject, key);
}

/* M2: is the mirror's version newer than the pulled one? Unparseable: not newer. */
static bool mirror_is_newer(const char *mirror, const char *pulled)
{
    int64_t m, p;
    return mirror && time_parse_sf(mirror, &m) && time_parse_sf(pulled, &p) && m > p;
}

/* M4: base + every open op's fields, in seq order. Returns the text (caller frees). */
static sfa_status local_view(char **out, sfa_agent *a, const char *local_id, const cJSON *base)
{
    sqlite3_stmt *st = store_stmt(a, SQL_OPEN_FIELDS);
    if (!st)
        return store_last_status(a);
    cJSON *view = cJSON_Duplicate(base, 1);
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *f = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        if (f)
            store_json_merge(view, f);
        cJSON_Delete(f);
    }
    sqlite3_reset(st);
    *out = rc == SQLITE_DONE ? json_print(view) : NULL;
    cJSON_Delete(view);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "reading the record's ops");
}

/* One pulled record, read from its text in one pass (read_record). Strings owned. */
typedef struct pulled {
    const char *sobject;
    char id18[SFID_LEN + 1];
    char *id;
    char *modstamp;
    char *case_number;
    char *key;        /* the idempotency field's value, or NULL */
    char *base_text;  /* the record without its attributes block, the rest as sent */
    strbuf *noted;    /* the field names last noted (M7), as note_fields keeps them */
    bool names_noted; /* this record's names are exactly those */
    int64_t now;
    bool stage;      /* a new record goes to temp.pull_new, not straight into records */
    bool all_new;    /* M10: no lookup, the record is new */
    bool other_type; /* attributes.type names another sObject (M8) */
    bool twice;      /* Id or SystemModstamp named twice (M8) */
} pulled;

static void pulled_clear(pulled *p)
{
    free(p->id);
    free(p->modstamp);
    free(p->case_number);
    free(p->key);
    free(p->base_text);
}

/* The first member named name (a key span) takes value into *slot as a string. */
static void take_str(char **slot, json_span key, json_span value, const char *name)
{
    if (!*slot && name && json_key_is(key, name))
        *slot = json_span_str(value);
}

/* Does key, the next name of a record, continue the noted names at *off? Moves *off. */
static bool names_continue(const strbuf *noted, size_t *off, json_span key)
{
    bool same = *off <= noted->len && noted->len - *off >= key.n &&
                memcmp(strbuf_str(noted) + *off, key.p, key.n) == 0;
    *off += key.n;
    return same;
}

/* M8: does a record's attributes block (value) leave its type unsaid or name sobject?
 * sObject names are case-insensitive in the API. */
static bool of_type(json_span value, const char *sobject)
{
    char *type = json_member_str(value, "type");
    bool ok = !type || strcasecmp(type, sobject) == 0;
    free(type);
    return ok;
}

/* Read rec's Id, SystemModstamp, CaseNumber (Case), the key field and its text without
 * "attributes" (one allocation: it is never longer than rec), walking its members once;
 * no tree is built (the page is read record by record: docs/sync-protocol.md#memory).
 * Also tells whether its field names are the ones noted last (M7). False when rec is not
 * a valid object. */
static bool read_record(pulled *p, json_span rec, const char *key_field)
{
    json_iter it;
    json_span k, v;
    if (!json_iter_object(&it, rec))
        return false;
    char *base = xmalloc(rec.n + 1);
    size_t len = 0, off = 0;
    bool is_case = strcmp(p->sobject, "Case") == 0, same = true;
    base[len++] = '{';
    while (json_next_member(&it, &k, &v)) {
        if (json_key_is(k, "attributes")) {
            p->other_type = p->other_type || !of_type(v, p->sobject);
            continue;
        }
        p->twice = p->twice || (p->id && json_key_is(k, "Id")) ||
                   (p->modstamp && json_key_is(k, "SystemModstamp"));
        take_str(&p->id, k, v, "Id");
        take_str(&p->modstamp, k, v, "SystemModstamp");
        take_str(&p->case_number, k, v, is_case ? "CaseNumber" : NULL);
        take_str(&p->key, k, v, key_field && *key_field ? key_field : NULL);
        same = names_continue(p->noted, &off, k) && same;
        if (len > 1)
            base[len++] = ',';
        memcpy(base + len, k.p, k.n); /* key ':' value ',' fits in what rec spent on them */
        len += k.n;
        base[len++] = ':';
        memcpy(base + len, v.p, v.n);
        len += v.n;
    }
    base[len++] = '}';
    base[len] = '\0';
    p->base_text = base;
    p->names_noted = same && off == p->noted->len;
    return !it.failed;
}

static sfa_status write_row(sfa_agent *a, const char *sql, const char *local_id, const pulled *p,
                            const char *fields_text)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return store_last_status(a);
    bool insert = sql == SQL_INSERT;
    sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
    if (sql == SQL_STAGE) {
        sqlite3_bind_text(st, 2, p->id18, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p->case_number, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->base_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p->modstamp, -1, SQLITE_STATIC);
    } else if (insert) {
        sqlite3_bind_text(st, 2, p->sobject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p->id18, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->case_number, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p->base_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, p->modstamp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, p->now);
    } else {
        sqlite3_bind_text(st, 2, p->id18, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p->case_number, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, fields_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p->base_text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, p->modstamp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, p->now);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "writing a pulled record");
}

/* M3/M4 for a record the mirror already holds. */
static sfa_status merge_existing(sfa_agent *a, const found_row *row, const pulled *p)
{
    if (row->open_ops == 0) /* M3 */
        return write_row(a, SQL_UPDATE, row->local_id, p, p->base_text);
    /* M4: only a record with open ops is parsed into a tree, to lay the edits on it. */
    cJSON *base = cJSON_Parse(p->base_text);
    if (!base)
        return store_fail(a, SFA_ESERVER, "a pulled %s record is not valid JSON", p->sobject);
    char *view = NULL;
    sfa_status s = local_view(&view, a, row->local_id, base);
    if (s == SFA_OK)
        s = write_row(a, SQL_UPDATE, row->local_id, p, view);
    free(view);
    cJSON_Delete(base);
    return s;
}

/* M7: the field names of a record the pull inserts, into record_fields (migration 0012
 * leaves them to this code). p->noted holds the names of the last record noted: a page's
 * records nearly always share theirs, so a page costs one INSERT per field, not one per
 * field and record. */
static sfa_status note_fields(sfa_agent *a, const pulled *p)
{
    if (p->names_noted)
        return SFA_OK;
    sqlite3_stmt *st = store_stmt(a, SQL_NOTE_FIELD);
    if (!st)
        return store_last_status(a);
    json_iter it;
    json_span k, v;
    sfa_status s = SFA_OK;
    strbuf names = STRBUF_INIT;
    json_iter_object(&it, (json_span){p->base_text, strlen(p->base_text)});
    while (s == SFA_OK && json_next_member(&it, &k, &v)) {
        strbuf_add(&names, k.p, k.n);
        char *name = json_span_str(k);
        if (!name)
            continue; /* a name with a NUL: json_each would cut it too */
        sqlite3_bind_text(st, 1, p->sobject, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        free(name);
        s = store_step_done(a, st, "noting a pulled field name");
    }
    if (s == SFA_OK) {
        strbuf_free(p->noted);
        *p->noted = names; /* ownership moves: these names are now the noted ones */
    } else {
        strbuf_free(&names);
    }
    return s;
}

static sfa_status merge_read(sfa_agent *a, pulled *p, char **out_local_id, store_pull_counts *c)
{
    found_row row = {0};
    sfa_status s = p->all_new ? SFA_OK : locate(&row, a, p->sobject, p->id18, p->key);
    char *local_id = row.local_id;
    if (s == SFA_OK && !local_id) {
        local_id = store_new_local_id();
        s = write_row(a, p->stage ? SQL_STAGE : SQL_INSERT, local_id, p, NULL);
        if (s == SFA_OK) /* M7: the insert trigger leaves pulled rows to us */
            s = note_fields(a, p);
        c->added += s == SFA_OK;
    } else if (s == SFA_OK && mirror_is_newer(row.sys_modstamp, p->modstamp)) {
        c->kept++; /* M2 */
    } else if (s == SFA_OK) {
        s = merge_existing(a, &row, p);
        c->updated += s == SFA_OK;
    }
    c->pulled += s == SFA_OK;
    if (s == SFA_OK && out_local_id)
        *out_local_id = local_id; /* ownership moves to the caller */
    else
        free(local_id);
    free(row.sys_modstamp);
    return s;
}

/* What the records of one page share; a refresh is a page of one. */
typedef struct page_ctx {
    const char *sobject;
    const char *key_field;
    int64_t now_ms;
    bool stage;      /* new records go to temp.pull_new */
    bool all_new;    /* M10 */
    bool ordered;    /* M9: checked, against prev_ms */
    int64_t prev_ms; /* SystemModstamp of the page's record before this one */
    strbuf noted;    /* M7 */
} page_ctx;

/* One record of a page into the mirror (out_local_id: its local id, may be NULL). */
static sfa_status merge_one(sfa_agent *a, page_ctx *pg, json_span rec, char **out_local_id,
                            store_pull_counts *c)
{
    pulled p = {.sobject = pg->sobject,
                .now = pg->now_ms,
                .stage = pg->stage,
                .all_new = pg->all_new,
                .noted = &pg->noted};
    const char *sobject = pg->sobject;
    int64_t ms;
    sfa_status s;
    if (!read_record(&p, rec, pg->key_field))
        s = store_fail(a, SFA_ESERVER, "a pulled %s record is not a valid JSON object", sobject);
    else if (!p.id || !sfid_to18(p.id, p.id18) || !p.modstamp || !time_parse_sf(p.modstamp, &ms))
        s = store_fail(a, SFA_ESERVER, "a pulled %s record has no valid Id or SystemModstamp",
                       sobject);
    else if (p.other_type) /* M8 */
        s = store_fail(a, SFA_ESERVER, "a pulled %s record (%s) is of another sObject type",
                       sobject, p.id18);
    else if (p.twice) /* M8 */
        s = store_fail(a, SFA_ESERVER,
                       "a pulled %s record (%s) names its Id or SystemModstamp twice", sobject,
                       p.id18);
    else if (pg->ordered && ms < pg->prev_ms) /* M9 */
        s = store_fail(a, SFA_ESERVER,
                       "pulled %s records are out of SystemModstamp order (%s is older than the "
                       "record before it)",
                       sobject, p.id18);
    else
        s = merge_read(a, &p, out_local_id, c);
    if (s == SFA_OK)
        pg->prev_ms = ms;
    pulled_clear(&p);
    return s;
}

sfa_status store_mirror_merge(sfa_agent *a, const char *sobject, const cJSON *rec,
                              const char *key_field, int64_t now_ms, char **out_local_id,
                              store_pull_counts *c)
{
    char *text = json_print(rec); /* one record (refresh): the page path's reader serves it */
    page_ctx pg = {
        .sobject = sobject, .key_field = key_field, .now_ms = now_ms, .noted = STRBUF_INIT};
    sfa_status s = merge_one(a, &pg, (json_span){text, strlen(text)}, out_local_id, c);
    strbuf_free(&pg.noted);
    free(text);
    return s;
}

sfa_status store_mirror_stage_begin(sfa_agent *a)
{
    char *err = NULL;
    int rc = sqlite3_exec(store_db(a), SQL_STAGE_TABLE, NULL, NULL, &err);
    sqlite3_free(err);
    return rc == SQLITE_OK ? SFA_OK : store_fail_sqlite(a, rc, "preparing a pulled page");
}

/* The staged rows' rowid range into *lo (exclusive) and *hi; *hi <= *lo when empty. */
static sfa_status stage_range(sfa_agent *a, int64_t *lo, int64_t *hi)
{
    *lo = 0;
    *hi = 0;
    sqlite3_stmt *st = store_stmt(a, SQL_STAGE_RANGE);
    if (!st)
        return store_last_status(a);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *lo = sqlite3_column_int64(st, 0) - 1;
        *hi = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SFA_OK : store_fail_sqlite(a, rc, "reading pulled records");
}

/* The staged new records into the mirror, UNSTAGE_ROWS per statement, and the stage
 * emptied. *dup: UNIQUE refused one, cached after all (M10) or listed twice. */
static sfa_status unstage(sfa_agent *a, const char *sobject, int64_t now_ms, bool *dup)
{
    int64_t lo = 0, hi = 0;
    sfa_status s = stage_range(a, &lo, &hi);
    for (; s == SFA_OK && lo < hi; lo += UNSTAGE_ROWS) {
        sqlite3_stmt *st = store_stmt(a, SQL_UNSTAGE);
        if (!st)
            return store_last_status(a);
        sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, lo);
        sqlite3_bind_int64(st, 4, lo + UNSTAGE_ROWS);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            rc = sqlite3_extended_errcode(store_db(a));
        sqlite3_reset(st);
        *dup = rc == SQLITE_CONSTRAINT_UNIQUE;
        if (*dup) /* M1 found none cached (or M10 skipped it): one came twice */
            s = store_fail(a, SFA_ESERVER, "a pulled %s page lists the same record twice", sobject);
        else if (rc != SQLITE_DONE)
            s = store_fail_sqlite(a, rc, "writing pulled records");
    }
    sqlite3_stmt *st = s == SFA_OK ? store_stmt(a, SQL_STAGE_CLEAR) : NULL;
    if (s == SFA_OK && !st)
        return store_last_status(a);
    return s == SFA_OK ? store_step_done(a, st, "clearing pulled records") : s;
}

sfa_status store_mirror_merge_page(sfa_agent *a, const char *sobject, const json_span *records,
                                   size_t n, const char *key_field, int64_t now_ms, bool all_new,
                                   bool *dup, store_pull_counts *c)
{
    sfa_status s = SFA_OK;
    /* Records already cached are merged in place as they come; new ones are staged and
     * enter the mirror UNSTAGE_ROWS at a time, all in the caller's one transaction. The
     * stage so stays within the temp schema's page cache: a whole page staged at once
     * spilled to the temp file, a write and a read back of every staged row. */
    page_ctx pg = {.sobject = sobject,
                   .key_field = key_field,
                   .now_ms = now_ms,
                   .stage = true,
                   .all_new = all_new,
                   .ordered = true,
                   .prev_ms = INT64_MIN,
                   .noted = STRBUF_INIT};
    size_t flushed = c->added;
    *dup = false;
    for (size_t i = 0; i < n && s == SFA_OK; i++) {
        s = merge_one(a, &pg, records[i], NULL, c);
        if (s == SFA_OK && c->added - flushed >= UNSTAGE_ROWS) {
            s = unstage(a, sobject, now_ms, dup);
            flushed = c->added;
        }
    }
    strbuf_free(&pg.noted);
    return s == SFA_OK ? unstage(a, sobject, now_ms, dup) : s;
}

sfa_status store_mirror_drop(sfa_agent *a, const char *sobject, const char *sf_id18, bool *removed)
{
    *removed = false;
    sqlite3_stmt *st = store_stmt(a, SQL_DROP_CANDIDATE);
    if (!st)
        return store_last_status(a);
    sqlite3_bind_text(st, 1, sobject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sf_id18, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char *local_id = rc == SQLITE_ROW ? store_col_dup(st, 0) : NULL;
    bool held = rc == SQLITE_ROW && sqlite3_column_int64(st, 1) > 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail_sqlite(a, rc, "reading the mirror");
    sfa_status s = SFA_OK;
    if (local_id && !held) { /* M6 */
        s = store_op_forget_record(a, local_id);
        st = s == SFA_OK ? store_stmt(a, SQL_DELETE_ROW) : NULL;
        if (st) {
            sqlite3_bind_text(st, 1, local_id, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            s = rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "removing a record");
        } else if (s == SFA_OK) {
            s = store_last_status(a);
        }
        *removed = s == SFA_OK;
    }
    free(local_id);
    return s;
}
