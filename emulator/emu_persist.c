/* Optional persistence of the emulator's records and counters in a SQLite file
 * (emu_options.state_file / --state): one table of records (id, sobject, json, deleted,
 * deleted_at, modstamp, seq) and one of counters. Loaded at start; every change is
 * written through before the request that made it answers (invariant S5 of emu_store.c).
 * All functions run with the lock held. */
#include "emu_core.h"

#include "util/alloc.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- persistence (S5) ---- */

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS records(id TEXT PRIMARY KEY, sobject TEXT NOT NULL,"
    " json TEXT NOT NULL, deleted INTEGER NOT NULL, deleted_at INTEGER,"
    " modstamp INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static void db_exec_bound(emu *e, const char *sql, const char *s1, int64_t n1)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, s1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, n1);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "sfagent-emulator: state write failed: %s\n", sqlite3_errmsg(e->db));
    }
    sqlite3_finalize(st);
}

void emu_persist_counters(emu *e)
{
    if (!e->db)
        return;
    static const char sql[] = "INSERT OR REPLACE INTO counters(name, value) VALUES(?1, ?2)";
    db_exec_bound(e, sql, "id_counter", (int64_t)e->id_counter);
    db_exec_bound(e, sql, "case_number", e->case_number);
    db_exec_bound(e, sql, "last_modstamp", e->last_modstamp);
    db_exec_bound(e, sql, "next_seq", e->next_seq);
}

void emu_persist_put(emu *e, const emu_record *r)
{
    if (!e->db)
        return;
    static const char sql[] = "INSERT OR REPLACE INTO records(id, sobject, json, deleted,"
                              " deleted_at, modstamp, seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *st = NULL;
    char *json = json_print(r->fields);
    if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->obj->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, r->deleted);
        sqlite3_bind_int64(st, 5, r->deleted_ms);
        sqlite3_bind_int64(st, 6, r->modstamp_ms);
        sqlite3_bind_int64(st, 7, r->seq);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "sfagent-emulator: state write failed: %s\n", sqlite3_errmsg(e->db));
    }
    sqlite3_finalize(st);
    free(json);
}

void emu_persist_remove(emu *e, const char *id)
{
    if (e->db)
        db_exec_bound(e, "DELETE FROM records WHERE id = ?1 AND ?2 = ?2", id, 0);
}

static void db_load_counters(emu *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(e->db, "SELECT name, value FROM counters", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        int64_t v = sqlite3_column_int64(st, 1);
        if (!n)
            continue;
        if (strcmp(n, "id_counter") == 0)
            e->id_counter = (uint64_t)v;
        else if (strcmp(n, "case_number") == 0)
            e->case_number = (long)v;
        else if (strcmp(n, "last_modstamp") == 0)
            e->last_modstamp = v;
        else if (strcmp(n, "next_seq") == 0)
            e->next_seq = v;
    }
    sqlite3_finalize(st);
}

static void db_load_records(emu *e)
{
    static const char sql[] = "SELECT id, sobject, json, deleted, deleted_at, modstamp, seq"
                              " FROM records ORDER BY seq";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const emu_object *obj = emu_object_find(e, (const char *)sqlite3_column_text(st, 1));
        cJSON *fields = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
        if (!id || strlen(id) != 18 || !obj || !cJSON_IsObject(fields)) {
            cJSON_Delete(fields); /* an object no longer declared: leave it in the file */
            continue;
        }
        emu_record *r = xcalloc(1, sizeof *r);
        memcpy(r->id, id, 19);
        r->obj = obj;
        r->fields = fields;
        r->deleted = sqlite3_column_int(st, 3) != 0;
        r->deleted_ms = sqlite3_column_int64(st, 4);
        r->modstamp_ms = sqlite3_column_int64(st, 5);
        r->seq = sqlite3_column_int64(st, 6);
        emu_store_index_add(e, r);
    }
    sqlite3_finalize(st);
}

int emu_store_open(emu *e)
{
    emu_store_index_rebuild(e);
    if (!e->state_file)
        return 0;
    if (sqlite3_open(e->state_file, &e->db) != SQLITE_OK ||
        sqlite3_exec(e->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "sfagent-emulator: cannot open state file %s: %s\n", e->state_file,
                e->db ? sqlite3_errmsg(e->db) : "out of memory");
        sqlite3_close(e->db);
        e->db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(e->db, 5000);
    db_load_counters(e);
    db_load_records(e);
    return 0;
}

static void free_memory(emu *e)
{
    emu_extidx_clear(e); /* before the records its entries point at */
    for (size_t i = 0; i < e->nrecs; i++)
        emu_record_free(e->recs[i]);
    free(e->recs);
    e->recs = NULL;
    e->nrecs = e->caprecs = 0;
    for (size_t i = 0; i < e->nundo; i++)
        emu_record_free(e->undo[i].before);
    free(e->undo);
    e->undo = NULL;
    e->nundo = e->capundo = 0;
    e->in_txn = false;
    emu_store_index_rebuild(e);
}

void emu_store_close(emu *e)
{
    free_memory(e);
    free(e->slots);
    e->slots = NULL;
    e->nslots = 0;
    sqlite3_close(e->db);
    e->db = NULL;
}

void emu_store_clear(emu *e)
{
    free_memory(e);
    e->case_number = 1000;
    /* id_counter, next_seq and last_modstamp are kept: Salesforce never reuses an Id and
     * SystemModstamp never goes backwards, even across a reset. */
    if (e->db) {
        sqlite3_exec(e->db, "DELETE FROM records", NULL, NULL, NULL);
        emu_persist_counters(e);
    }
}
