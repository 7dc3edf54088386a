/* JSON Lines import: one field-map object per line, each a new record with its create op,
 * written in batched transactions for speed.
 *
 * Invariants:
 * I1. A batch is one transaction: either every record of it is committed or none is.
 * I2. The first bad line stops the import; batches before it stay committed, its own
 *     batch is rolled back whole, and the message names the line (1-based, blank lines
 *     counted).
 * I3. out->imported counts committed records only.
 * I4. With a file path, import_progress holds how many lines of that file (path, size,
 *     head hash, sObject) are committed; it is written inside each batch's transaction,
 *     before its COMMIT, so it never counts a line whose record is not there, nor misses
 *     one that is. A re-run skips exactly those lines; --restart forgets them.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfagent/record.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/crashpoint.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define DEFAULT_BATCH 500
#define READ_CHUNK    65536
#define HEAD_BYTES    65536

static const char SQL_PROGRESS_GET[] =
    "SELECT lines FROM import_progress WHERE path = ?1 AND size = ?2 AND head_hash = ?3 "
    "AND sobject = ?4";
static const char SQL_PROGRESS_SET[] =
    "INSERT OR REPLACE INTO import_progress (path, size, head_hash, sobject, lines, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_PROGRESS_DEL[] =
    "DELETE FROM import_progress WHERE path = ?1 AND size = ?2 AND head_hash = ?3 "
    "AND sobject = ?4";

/* Identity of an input file (I4); path NULL: not resumable. */
typedef struct file_key {
    char *path; /* canonical (realpath), owned */
    int64_t size;
    char hash[17];
} file_key;

typedef struct import_ctx {
    sfa_agent *a;
    const char *sobject;
    size_t batch_size;
    size_t in_batch;
    size_t line;
    size_t skip; /* lines committed by an earlier run (I4) */
    file_key key;
    sfa_import_result *out;
} import_ctx;

/* Bind the file key to ?1..?4 of st. */
static void bind_key(sqlite3_stmt *st, const import_ctx *c)
{
    sqlite3_bind_text(st, 1, c->key.path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->key.size);
    sqlite3_bind_text(st, 3, c->key.hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->sobject, -1, SQLITE_STATIC);
}

static sfa_status progress_step(import_ctx *c, const char *sql, bool with_lines)
{
    sqlite3_stmt *st = store_stmt(c->a, sql);
    if (!st)
        return store_last_status(c->a);
    bind_key(st, c);
    if (with_lines) {
        sqlite3_bind_int64(st, 5, (int64_t)c->line);
        sqlite3_bind_int64(st, 6, time_now_ms());
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(c->a, rc, "recording import progress");
}

/* FNV-1a 64 of the file's first HEAD_BYTES: cheap, and enough to tell two files apart
 * that share a path and a size (a rewritten export), which is all I4 needs. */
static bool file_key_of(file_key *k, int fd, const char *path)
{
    struct stat sb;
    unsigned char head[HEAD_BYTES];
    if (!path || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0)
        return false;
    uint64_t h = 14695981039346656037ULL;
    for (ssize_t i = 0; i < n; i++)
        h = (h ^ head[i]) * 1099511628211ULL;
    k->path = realpath(path, NULL); /* ./x and x are one file */
    if (!k->path)
        k->path = xstrdup(path);
    k->size = (int64_t)sb.st_size;
    snprintf(k->hash, sizeof k->hash, "%016" PRIx64, h);
    return true;
}

/* I4: the remembered line count (0 if none), or forget it on restart. */
static sfa_status progress_load(import_ctx *c, bool restart)
{
    if (restart)
        return progress_step(c, SQL_PROGRESS_DEL, false);
    sqlite3_stmt *st = store_stmt(c->a, SQL_PROGRESS_GET);
    if (!st)
        return store_last_status(c->a);
    bind_key(st, c);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        c->skip = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? SFA_OK
               : store_fail_sqlite(c->a, rc, "reading import progress");
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static sfa_status commit_batch(import_ctx *c)
{
    if (c->in_batch == 0)
        return SFA_OK;
    sfa_status s = c->key.path ? progress_step(c, SQL_PROGRESS_SET, true) : SFA_OK; /* I4 */
    if (s == SFA_OK)
        s = store_tx_commit(c->a);
    if (s != SFA_OK)
        return s;
    CRASH_POINT("store.import_after_commit");
    c->out->imported += c->in_batch; /* I3 */
    c->in_batch = 0;
    return SFA_OK;
}

static sfa_status import_line(import_ctx *c, const char *text, size_t n)
{
    if (c->line <= c->skip || is_blank(text, n)) /* I4: committed by an earlier run */
        return SFA_OK;
    const char *err = NULL;
    cJSON *in = json_parse_exact(text, n, &err); /* store/validate.c I5, I6 */
    if (!in)
        return store_fail(c->a, SFA_EINVAL, "%s", err);
    cJSON *fields = NULL;
    sfa_status s = store_fields_check(&fields, c->a, c->sobject, in, STORE_WRITE_CREATE);
    cJSON_Delete(in);
    if (s == SFA_OK && c->in_batch == 0)
        s = store_tx_begin(c->a);
    if (s == SFA_OK) {
        s = store_insert_new(c->a, c->sobject, fields, "create", NULL, NULL, NULL);
        if (s == SFA_OK && ++c->in_batch >= c->batch_size)
            s = commit_batch(c);
    }
    cJSON_Delete(fields);
    return s;
}

/* Feed every complete line in buf; keep the incomplete tail. */
static sfa_status feed(import_ctx *c, strbuf *buf, bool eof)
{
    size_t start = 0;
    sfa_status s = SFA_OK;
    while (s == SFA_OK && start < buf->len) {
        const char *nl = memchr(buf->buf + start, '\n', buf->len - start);
        if (!nl && !eof)
            break;
        size_t end = nl ? (size_t)(nl - buf->buf) : buf->len;
        c->line++;
        s = import_line(c, buf->buf + start, end - start);
        start = nl ? end + 1 : buf->len;
    }
    if (s == SFA_OK && start > 0) {
        memmove(buf->buf, buf->buf + start, buf->len - start);
        buf->len -= start;
        buf->buf[buf->len] = '\0';
    }
    return s;
}

static sfa_status read_all(import_ctx *c, int fd)
{
    strbuf buf = STRBUF_INIT;
    char chunk[READ_CHUNK];
    sfa_status s = SFA_OK;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s = store_fail(c->a, SFA_EIO, "reading the import: %s", strerror(errno));
            c->line++;
            break;
        }
        if (n > 0)
            strbuf_add(&buf, chunk, (size_t)n);
        s = feed(c, &buf, n == 0);
        if (s != SFA_OK || n == 0)
            break;
    }
    strbuf_free(&buf);
    return s;
}

sfa_status sfa_record_import_opts(sfa_import_result *out, size_t *out_resumed_after,
                                  sfa_agent *agent, const char *sobject, int fd,
                                  const sfa_import_options *opts)
{
    sfa_import_options def = SFA_IMPORT_OPTIONS_INIT;
    const sfa_import_options *o = opts ? opts : &def;
    if (out)
        memset(out, 0, sizeof *out);
    if (out_resumed_after)
        *out_resumed_after = 0;
    if (!agent || !out)
        return agent ? store_fail(agent, SFA_EINVAL, "%s: out is NULL", "sfa_record_import_opts")
                     : store_error_set(SFA_EINVAL, "%s: agent is NULL", "sfa_record_import_opts");
    store_clear_error(agent);
    if (o->version != SFA_IMPORT_OPTIONS_VERSION)
        return store_fail(agent, SFA_EINVAL, "unsupported sfa_import_options version %u",
                          o->version);
    if (store_is_read_only(agent))
        return store_fail(agent, SFA_EREADONLY, "the database was opened read-only");
    char *canon = NULL; /* records.c I7: stored under Salesforce's spelling */
    sfa_status s = store_sobject_canonical(&canon, agent, sobject);
    if (s != SFA_OK)
        return s;
    import_ctx c = {agent,         canon, o->batch_size ? o->batch_size : DEFAULT_BATCH, 0, 0, 0,
                    {NULL, 0, ""}, out};
    if (file_key_of(&c.key, fd, o->path))
        s = progress_load(&c, o->restart);
    if (out_resumed_after)
        *out_resumed_after = c.skip;
    if (s == SFA_OK)
        s = read_all(&c, fd);
    if (s == SFA_OK)
        s = commit_batch(&c);
    if (s != SFA_OK) {
        store_tx_rollback(agent); /* I1, I2 */
        out->failed_line = c.line;
        s = store_fail(agent, s, "line %zu: %s", c.line, sfa_agent_errmsg(agent));
    }
    free(c.key.path);
    free(canon);
    return s;
}

sfa_status sfa_record_import(sfa_import_result *out, sfa_agent *agent, const char *sobject, int fd,
                             size_t batch_size)
{
    sfa_import_options o = SFA_IMPORT_OPTIONS_INIT;
    o.batch_size = batch_size;
    return sfa_record_import_opts(out, NULL, agent, sobject, fd, &o);
}
