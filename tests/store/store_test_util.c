/* See store_test_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_test_util.h"
#include "util/alloc.h"
#include "util/strbuf.h"

store_fixture *fixture_new(void)
{
    store_fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    sfa_status st = sfa_agent_open(&f->agent, f->path, &o);
    if (st != SFA_OK)
        fail_msg("open: %s", sfa_agent_errmsg(f->agent));
    return f;
}

void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = xasprintf("%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0700);
            remove_tree(p);
        } else {
            unlink(p);
        }
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

void fixture_free(store_fixture *f)
{
    if (!f)
        return;
    sfa_agent_free(f->agent);
    chmod(f->dir, 0700);
    remove_tree(f->dir);
    free(f);
}

sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("raw_exec %s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    long long v = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void dump_query(sqlite3 *db, const char *sql, strbuf *sb)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            strbuf_addf(sb, "%s|", t ? (const char *)t : "NULL");
        }
        strbuf_addc(sb, '\n');
    }
    sqlite3_finalize(st);
}

char *dump_tables(const char *path)
{
    sqlite3 *db = raw_open(path);
    strbuf sb = STRBUF_INIT;
    dump_query(db, "SELECT * FROM records ORDER BY local_id", &sb);
    strbuf_adds(&sb, "--\n");
    dump_query(db, "SELECT * FROM outbox ORDER BY seq", &sb);
    sqlite3_close(db);
    return strbuf_detach(&sb);
}

unsigned char *read_file_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    strbuf sb = STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        strbuf_add(&sb, buf, n);
    fclose(fp);
    *len = sb.len;
    return (unsigned char *)strbuf_detach(&sb);
}
