/* Opening the agent database: file creation (mode 0600), refusal of foreign, corrupt or
 * newer files before anything is written, connection pragmas, migrations, the error slot
 * on the handle and the thread's last error, transactions and the per-handle statement
 * cache.
 *
 * Invariants:
 * I1. A file that is not an sfagent database, or whose schema is newer than this
 *     library, is never written: those checks run on a connection that has issued only
 *     reads (no journal_mode change, no marker write, no migration).
 * I2. Every writable connection sets synchronous, foreign_keys and journal_size_limit
 *     explicitly (docs/sync-protocol.md#local-durability): compile-time defaults vary. A
 *     read-only one never commits, checkpoints or checks a foreign key, so it sets only
 *     what reads use (busy_timeout, the cache sizes, mmap off).
 * I3. Each migration runs in its own BEGIN IMMEDIATE transaction that also sets PRAGMA
 *     user_version, so a crash leaves the schema at exactly some version N.
 * I4. An unclean end of an earlier session makes open run PRAGMA quick_check
 *     (store/session.c).
 * I5. Only a creating open (sfagent init) turns an empty or schema-less file into a
 *     database; any other open refuses it like a missing file.
 * I6. A user_version no migration produces (negative) is refused untouched, like a newer
 *     one: migrating from it would half-build a schema.
 * I7. A read-only handle writes nothing: no journal_mode change, no migration, no session
 *     row (store/session.c I1), and in a read-only directory not even SQLite's lock files.
 * I8. A database SQLite reports damaged (SQLITE_CORRUPT, SQLITE_NOTADB once open), or
 *     whose quick_check failed, is flagged: no write transaction starts, reads go on
 *     (store/corrupt.c C1-C4).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfagent/error.h"
#include "store/migrations.h"
#include "store/sql.h"
#include "store/store_internal.h"
#include "util/alloc.h"
#include "util/names.h"
#include "util/strbuf.h"

#define SFA_STR_(x)        #x
#define SFA_STR(x)         SFA_STR_(x)
#define BUSY_TIMEOUT_MS    5000
#define STMT_CACHE_INITIAL 32
/* SQLite page cache per connection, KiB (PRAGMA cache_size takes -KiB). SQLite's default
 * is 2,000 KiB, and a sync fills all of it: it was the largest single item of the agent's
 * peak RSS (target < 16 MB, docs/sync-protocol.md#memory). The working set of a push or a
 * pull page is the outbox tail, the mirror rows of one page and their index leaves; a
 * miss costs a read() from the OS page cache, not a disk seek. bench_reads showed no
 * change at 200,000 Cases. */
#define PAGE_CACHE_KIB 512
/* 'SFAG', set by migrations/0001_init.sql. */
#define SFA_APPLICATION_ID 1397113159

struct sfa_agent {
    sqlite3 *db;
    char *errmsg;
    sfa_status last_status;
    int schema_version;
    int synchronous; /* the PRAGMA synchronous level set_pragmas chose (I2), 0 if none */
    bool read_only;
    struct cached_stmt {
        const char *sql;
        sqlite3_stmt *stmt;
    } * stmts;
    size_t nstmts, capstmts;
    store_describe_cache describes;
    char *session_key;           /* meta key of this handle's session row, or NULL */
    char *idem_field;            /* the agent's idempotency field ("" none), NULL until looked up */
    store_corruption corruption; /* store/corrupt.c */
    store_person_notes notes;    /* store/person_log.c */
};

store_corruption *store_corruption_of(sfa_agent *a)
{
    return &a->corruption;
}

store_person_notes *store_person_notes_of(sfa_agent *a)
{
    return &a->notes;
}

char **store_session_key(sfa_agent *a)
{
    return &a->session_key;
}

sqlite3 *store_db(sfa_agent *a)
{
    return a->db;
}

bool store_is_read_only(const sfa_agent *a)
{
    return a->read_only;
}

int store_synchronous(const sfa_agent *a)
{
    return a->synchronous;
}

sfa_status store_last_status(const sfa_agent *a)
{
    return a->last_status;
}

store_describe_cache *store_describes(sfa_agent *a)
{
    return &a->describes;
}

/* The calling thread's last error (sfagent/error.h). Fixed buffers, so a thread that
 * ends leaves nothing to free; a longer message is cut (the handle keeps it whole). */
static _Thread_local sfa_status last_status_tls;
static _Thread_local char last_message_tls[1024];
static _Thread_local sfa_error last_error_tls;

static void error_set_thread(sfa_status st, const char *msg)
{
    last_status_tls = st;
    size_t n = strnlen(msg, sizeof last_message_tls - 1);
    memcpy(last_message_tls, msg, n);
    last_message_tls[n] = '\0';
}

const sfa_error *sfa_error_last(void)
{
    last_error_tls.status = last_status_tls;
    last_error_tls.message = last_message_tls;
    return &last_error_tls;
}

void sfa_error_clear(void)
{
    error_set_thread(SFA_OK, "");
}

sfa_status store_error_set(sfa_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    error_set_thread(st, buf);
    return st;
}

sfa_status store_fail(sfa_agent *a, sfa_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(a->errmsg);
    a->errmsg = xstrdup(buf);
    a->last_status = st;
    error_set_thread(st, buf);
    return st;
}

static sfa_status status_of_sqlite(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
        return SFA_OK;
    case SQLITE_FULL:
        return SFA_EFULL;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return SFA_EREADONLY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SFA_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SFA_ECORRUPT;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return SFA_EIO;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
        return SFA_EINVAL;
    default:
        return SFA_ERROR;
    }
}

sfa_status store_fail_sqlite(sfa_agent *a, int rc, const char *what)
{
    const char *msg = a->db ? sqlite3_errmsg(a->db) : sqlite3_errstr(rc);
    /* No connection (open failed early) or no text: fall back to the code's own text. */
    if (!msg || !*msg)
        msg = sqlite3_errstr(rc);
    sfa_status st = store_fail(a, status_of_sqlite(rc), "%s: %s", what, msg);
    /* I8: damage found while the file is in use flags it; a foreign or damaged file at
     * open is refused by open itself (I1). */
    if (st == SFA_ECORRUPT && a->corruption.identified)
        store_corrupt_mark(a, a->errmsg);
    return st;
}

void store_clear_error(sfa_agent *a)
{
    free(a->errmsg);
    a->errmsg = NULL;
    a->last_status = SFA_OK;
}

const char *sfa_agent_errmsg(const sfa_agent *agent)
{
    return agent && agent->errmsg ? agent->errmsg : "";
}

int sfa_agent_schema_version(const sfa_agent *agent)
{
    return agent ? agent->schema_version : 0;
}

int sfa_agent_schema_version_supported(void)
{
    return store_migration_count;
}

sqlite3_stmt *store_stmt(sfa_agent *a, const char *sql)
{
    for (size_t i = 0; i < a->nstmts; i++) {
        if (a->stmts[i].sql == sql) {
            sqlite3_reset(a->stmts[i].stmt);
            sqlite3_clear_bindings(a->stmts[i].stmt);
            return a->stmts[i].stmt;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        store_fail_sqlite(a, rc, "preparing a statement");
        return NULL;
    }
    if (a->nstmts == a->capstmts) {
        a->capstmts = a->capstmts ? a->capstmts * 2 : STMT_CACHE_INITIAL;
        a->stmts = xrealloc(a->stmts, a->capstmts * sizeof *a->stmts);
    }
    a->stmts[a->nstmts].sql = sql;
    a->stmts[a->nstmts].stmt = st;
    a->nstmts++;
    return st;
}

static sfa_status exec(sfa_agent *a, const char *sql, const char *what)
{
    int rc = sqlite3_exec(a->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SFA_OK : store_fail_sqlite(a, rc, what);
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";

/* Run a cached statement that returns no rows (hot path: no re-parse per write). */
static int step_cached(sfa_agent *a, const char *sql)
{
    sqlite3_stmt *st = store_stmt(a, sql);
    if (!st)
        return sqlite3_errcode(a->db);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

sfa_status store_tx_begin(sfa_agent *a)
{
    if (a->corruption.reason) /* I8 */
        return store_corrupt_refuse(a);
    int rc = step_cached(a, SQL_BEGIN);
    return rc == SQLITE_OK ? SFA_OK : store_fail_sqlite(a, rc, "starting a write transaction");
}

sfa_status store_tx_commit(sfa_agent *a)
{
    int rc = step_cached(a, SQL_COMMIT);
    if (rc == SQLITE_OK) {
        store_person_notes_flush(a); /* person_log.c P1: the changes are durable now */
        return SFA_OK;
    }
    sfa_status st = store_fail_sqlite(a, rc, "committing");
    /* A COMMIT that failed with BUSY leaves the transaction open; never leave it so. */
    store_tx_rollback(a);
    return st;
}

void store_tx_rollback(sfa_agent *a)
{
    if (a->db && !sqlite3_get_autocommit(a->db))
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    store_person_notes_drop_after(a, 0); /* person_log.c P1: those changes are undone */
}

/* One integer from a read-only pragma or query. */
static int query_int(sfa_agent *a, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* I1: the file's first bytes must be SQLite's header. An empty file is new only when the
 * caller creates (init): any other command would silently turn it into a database (I5). */
static sfa_status check_header(sfa_agent *a, const char *path, bool create)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return store_fail(a, errno == ENOENT ? SFA_ENOTFOUND : SFA_EIO,
                          "cannot open database '%s': %s", path, strerror(errno));
    char hdr[16];
    ssize_t n = read(fd, hdr, sizeof hdr);
    close(fd);
    if (n == 0 && create)
        return SFA_OK;
    if (n == 0)
        return store_fail(a, SFA_ENOTFOUND,
                          "'%s' is empty, not an sfagent database (run 'sfagent init' to create "
                          "one); left untouched",
                          path);
    if (n != (ssize_t)sizeof hdr || memcmp(hdr, "SQLite format 3", 16) != 0)
        return store_fail(a, SFA_ECORRUPT,
                          "'%s' is not an sfagent database (not an SQLite file); left untouched",
                          path);
    return SFA_OK;
}

/* Create the file ourselves so it is born 0600 whatever the umask allows. */
static sfa_status create_file(sfa_agent *a, const char *path, bool *created)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        *created = true;
        /* umask may have cleared bits, never added any: 0600 is at most what we get. */
        fchmod(fd, 0600);
        close(fd);
        return SFA_OK;
    }
    if (errno == EEXIST)
        return SFA_OK;
    if (errno == EACCES || errno == EROFS || errno == EPERM)
        return store_fail(a, SFA_EREADONLY, "cannot create database '%s': %s", path,
                          strerror(errno));
    return store_fail(a, SFA_EIO, "cannot create database '%s': %s", path, strerror(errno));
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* Writable by us and meant to be written: root passes access(), so a file or directory
 * with no write bit at all also counts as read-only (the owner marked it so). */
static bool is_writable(const char *path)
{
    struct stat sb;
    return access(path, W_OK) == 0 && stat(path, &sb) == 0 && (sb.st_mode & 0222) != 0;
}

/* WAL needs to write the file and create -wal/-shm beside it. */
static sfa_status check_writable(sfa_agent *a, const char *path)
{
    if (!is_writable(path))
        return store_fail(a, SFA_EREADONLY,
                          "database '%s' is read-only; open it read-only or make it writable",
                          path);
    char *dir = dir_of(path);
    int ok = is_writable(dir);
    sfa_status st = SFA_OK;
    if (!ok)
        st = store_fail(a, SFA_EREADONLY,
                        "directory '%s' is read-only: sfagent needs to create '%s-wal' there", dir,
                        path);
    free(dir);
    return st;
}

/* I1: the version and identity checks, using reads only. I5: a header with no schema
 * (user_version 0, no tables) is a database only for the caller that creates. */
static sfa_status check_identity(sfa_agent *a, const char *path, bool create)
{
    int version = 0, app_id = 0, objects = 0;
    int rc = query_int(a, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = query_int(a, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = query_int(a, "SELECT count(*) FROM sqlite_master", &objects);
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return store_fail(a, SFA_ECORRUPT,
                          "'%s' is not a valid sfagent database (%s); left untouched", path,
                          sqlite3_errstr(rc));
    if (rc != SQLITE_OK)
        return store_fail_sqlite(a, rc, "reading the schema version");
    if (version < 0) /* I6: no migration makes it; refuse like a newer one, untouched */
        return store_fail(a, SFA_ECORRUPT,
                          "database '%s' has an impossible schema version %d; the file was not "
                          "modified",
                          path, version);
    if (version == 0 && objects == 0 && !create)
        return store_fail(a, SFA_ENOTFOUND,
                          "'%s' holds no sfagent schema (run 'sfagent init' to create one); left "
                          "untouched",
                          path);
    if ((version == 0 && objects > 0) || (version > 0 && app_id != SFA_APPLICATION_ID))
        return store_fail(a, SFA_ECORRUPT,
                          "'%s' is an SQLite database but not an sfagent database; left untouched",
                          path);
    if (version > store_migration_count)
        return store_fail(a, SFA_ETOONEW,
                          "database '%s' has schema version %d, newer than this sfagent "
                          "supports (%d): upgrade sfagent; the file was not modified",
                          path, version, store_migration_count);
    a->schema_version = version;
    return SFA_OK;
}

/* I2. */
static sfa_status set_pragmas(sfa_agent *a, sfa_durability durability)
{
    sfa_status st = SFA_OK;
    if (!a->read_only) {
        char *mode = NULL;
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(a->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            mode = xstrdup((const char *)sqlite3_column_text(s, 0));
            rc = SQLITE_OK;
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_OK)
            st = store_fail_sqlite(a, rc, "switching to WAL mode");
        else if (!mode || strcmp(mode, "wal") != 0)
            st = store_fail(a, SFA_EIO, "could not switch the database to WAL mode (got %s)",
                            mode ? mode : "nothing");
        free(mode);
        if (st != SFA_OK)
            return st;
    }
    /* I2: what only a writer's commits and checkpoints use; a read-only handle (every
     * read command) skips the three statements. */
    if (!a->read_only) {
        bool normal = durability == SFA_DURABILITY_NORMAL;
        st = exec(a, normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                  "setting synchronous");
        a->synchronous = normal ? 1 : 2; /* SQLite's numbers for NORMAL and FULL */
    }
    if (st == SFA_OK && !a->read_only)
        st = exec(a, "PRAGMA foreign_keys=ON", "enabling foreign keys");
    if (st == SFA_OK && !a->read_only)
        st = exec(a, "PRAGMA journal_size_limit=67108864", "setting journal_size_limit");
    if (st == SFA_OK)
        st = exec(a, "PRAGMA cache_size=-" SFA_STR(PAGE_CACHE_KIB), "sizing the page cache");
    /* The temp schema has a cache of its own (the pull stages a page of 2,000 new records
     * there, store/mirror.c); past it, SQLite spills to its temp file. */
    if (st == SFA_OK)
        st = exec(a, "PRAGMA temp.cache_size=-" SFA_STR(PAGE_CACHE_KIB), "sizing the temp cache");
    /* Memory-mapped reads would add the whole file to RSS as it is read: keep them off
     * whatever the SQLite build's default is. */
    if (st == SFA_OK)
        st = exec(a, "PRAGMA mmap_size=0", "turning memory-mapped I/O off");
    return st;
}

/* I3. PRAGMA takes no bound parameters; the version is an integer we format ourselves. */
static sfa_status apply_migration(sfa_agent *a, const store_migration *m)
{
    sfa_status st = store_tx_begin(a);
    if (st != SFA_OK)
        return st;
    int current = 0;
    int rc = query_int(a, "PRAGMA user_version", &current);
    if (rc != SQLITE_OK) {
        st = store_fail_sqlite(a, rc, "reading the schema version");
        goto out;
    }
    if (current >= m->version) /* another process migrated meanwhile */
        goto out;
    rc = sqlite3_exec(a->db, m->sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        char what[160];
        snprintf(what, sizeof what, "applying migration %s", m->name);
        st = store_fail_sqlite(a, rc, what);
        goto out;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
    st = exec(a, pragma, "setting the schema version");
out:
    if (st == SFA_OK)
        st = store_tx_commit(a);
    else
        store_tx_rollback(a);
    return st;
}

static sfa_status migrate(sfa_agent *a)
{
    for (int i = 0; i < store_migration_count; i++) {
        if (store_migrations[i].version <= a->schema_version)
            continue;
        sfa_status st = apply_migration(a, &store_migrations[i]);
        if (st != SFA_OK)
            return st;
        a->schema_version = store_migrations[i].version;
    }
    return SFA_OK;
}

/* "file:" URI of path with immutable=1; characters URIs reserve are %-escaped. */
static char *immutable_uri(const char *path)
{
    strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, "file:", 5);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
            strbuf_addf(&sb, "%%%02X", *p);
        else
            strbuf_add(&sb, (const char *)p, 1);
    }
    strbuf_addf(&sb, "?immutable=1");
    return strbuf_detach(&sb);
}

/* I7. A read-only connection to a WAL database needs -shm (and -wal) beside it, which SQLite
 * creates when the directory allows (https://sqlite.org/wal.html#readonly). When the
 * directory is read-only and no -wal exists, no writer can be active (a writer needs to
 * create -wal there), so the file cannot change under us and SQLite may read it as
 * immutable: no lock files, no writes at all. */
static bool wants_immutable(const char *path)
{
    char *dir = dir_of(path);
    char *wal = xasprintf("%s-wal", path);
    bool yes = !is_writable(dir) && access(wal, F_OK) != 0;
    free(wal);
    free(dir);
    return yes;
}

static sfa_status open_connection(sfa_agent *a, const char *path)
{
    /* Test seam (docs/sync-protocol.md#verification): a fault-injecting VFS registered by the test.
     */
    const char *vfs = getenv("SFA_SQLITE_VFS");
    int flags = (a->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    char *uri = a->read_only && wants_immutable(path) ? immutable_uri(path) : NULL;
    if (uri)
        flags |= SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(uri ? uri : path, &a->db, flags, vfs && *vfs ? vfs : NULL);
    free(uri);
    if (rc != SQLITE_OK)
        return store_fail_sqlite(a, rc, "opening the database");
    sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
    return SFA_OK;
}

static const char SQL_IDEM_GET[] = "SELECT value FROM meta WHERE key = 'sync.idempotency_field'";
static const char SQL_IDEM_SET[] =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('sync.idempotency_field', ?1)";

/* The field the database remembers (caller frees), or NULL when none is recorded. */
static char *stored_idem_field(sfa_agent *a)
{
    sqlite3_stmt *st = store_stmt(a, SQL_IDEM_GET);
    char *v = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = store_col_dup(st, 0);
    if (st)
        sqlite3_reset(st);
    return v;
}

/* I8: remember the configured field so commands run without the configuration know it.
 * Written only when it changed: every write command opens with it, and an unchanged row
 * would cost each of them a commit of its own. */
static sfa_status record_idem_field(sfa_agent *a, const char *field)
{
    if (*field && !name_is_valid_api_name(field))
        return store_fail(a, SFA_ECONFIG,
                          "[sync] idempotency_field '%s' is not a field API name (or empty)",
                          field);
    a->idem_field = xstrdup(field);
    if (a->read_only)
        return SFA_OK;
    char *stored = stored_idem_field(a);
    bool same = stored && strcmp(stored, field) == 0;
    free(stored);
    if (same)
        return SFA_OK;
    sqlite3_stmt *st = store_stmt(a, SQL_IDEM_SET);
    if (!st)
        return a->last_status;
    sqlite3_bind_text(st, 1, field, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SFA_OK : store_fail_sqlite(a, rc, "recording the idempotency field");
}

const char *store_idempotency_field(sfa_agent *a)
{
    if (!a->idem_field) {
        char *v = stored_idem_field(a);
        a->idem_field = v ? v : xstrdup(SFA_DEFAULT_IDEMPOTENCY_FIELD);
    }
    return a->idem_field;
}

/* What kind of file st is, for a message. */
static const char *file_kind(const struct stat *st)
{
    return S_ISDIR(st->st_mode)    ? "a directory"
           : S_ISFIFO(st->st_mode) ? "a FIFO"
           : S_ISCHR(st->st_mode)  ? "a character device"
           : S_ISBLK(st->st_mode)  ? "a block device"
           : S_ISSOCK(st->st_mode) ? "a socket"
                                   : "not a regular file";
}

/* SQLite would block opening a FIFO, write its journal next to a device and fail late on
 * a directory: refuse anything but a regular file (or nothing yet) before touching it. */
static sfa_status check_regular(sfa_agent *a, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
        return SFA_OK; /* missing: create_file or check_header decides */
    return store_fail(a, SFA_EINVAL, "database path '%s' is %s, not a database file", path,
                      file_kind(&st));
}

static sfa_status open_steps(sfa_agent *a, const char *path, const sfa_open_options *o)
{
    bool created = false;
    sfa_status st = check_regular(a, path);
    if (st == SFA_OK && o->create && !o->read_only)
        st = create_file(a, path, &created);
    if (st == SFA_OK)
        st = check_header(a, path, o->create && !o->read_only);
    if (st == SFA_OK && !o->read_only)
        st = check_writable(a, path);
    if (st == SFA_OK)
        st = open_connection(a, path);
    if (st == SFA_OK)
        st = check_identity(a, path, o->create && !o->read_only);
    if (st == SFA_OK && a->read_only && a->schema_version < store_migration_count)
        st = store_fail(a, SFA_ESTATE,
                        "database '%s' is at schema version %d and needs migrating; open it "
                        "writable once",
                        path, a->schema_version);
    if (st == SFA_OK)
        st = set_pragmas(a, o->durability);
    if (st == SFA_OK && !a->read_only)
        st = migrate(a);
    if (st == SFA_OK)
        store_corrupt_load(a); /* I8 */
    if (st == SFA_OK)
        st = store_session_start(a);
    if (st == SFA_OK && o->idempotency_field)
        st = record_idem_field(a, o->idempotency_field);
    return st;
}

sfa_status sfa_agent_open(sfa_agent **out, const char *path, const sfa_open_options *opts)
{
    sfa_open_options def = SFA_OPEN_OPTIONS_INIT;
    const sfa_open_options *o = opts ? opts : &def;
    if (!out)
        return store_error_set(SFA_EINVAL, "sfa_agent_open: out is NULL");
    *out = NULL;
    sfa_agent *a = xcalloc(1, sizeof *a);
    *out = a;
    if (!path || !*path)
        return store_fail(a, SFA_EINVAL, "no database path given");
    if (o->version != SFA_OPEN_OPTIONS_VERSION)
        return store_fail(a, SFA_EINVAL, "unsupported sfa_open_options version %u", o->version);
    a->read_only = o->read_only;
    sfa_status st = open_steps(a, path, o);
    if (st != SFA_OK && a->db) {
        /* Keep the message; drop the connection so nothing more touches the file. */
        for (size_t i = 0; i < a->nstmts; i++)
            sqlite3_finalize(a->stmts[i].stmt);
        a->nstmts = 0;
        sqlite3_close_v2(a->db);
        a->db = NULL;
    }
    return st;
}

void sfa_agent_free(sfa_agent *agent)
{
    if (!agent)
        return;
    if (agent->db) {
        store_tx_rollback(agent);
        store_session_end(agent);
        store_corrupt_save(agent); /* I8: if it could not be kept earlier */
        for (size_t i = 0; i < agent->nstmts; i++)
            sqlite3_finalize(agent->stmts[i].stmt);
        sqlite3_close_v2(agent->db);
    }
    store_describe_cache_clear(&agent->describes);
    free(agent->stmts);
    free(agent->session_key);
    free(agent->idem_field);
    free(agent->corruption.reason);
    store_person_notes_free(&agent->notes);
    free(agent->errmsg);
    free(agent);
}
