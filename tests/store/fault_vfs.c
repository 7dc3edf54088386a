/* See fault_vfs.h. Every io method delegates to the real file; xWrite and xSync count
 * calls while armed and fail the chosen one. In power-cut mode (fault_vfs_power_begin)
 * each named file has an undo log of its writes since its last xSync (struct tracked):
 * cutting the power replays the log backwards, which leaves exactly the synced content. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/fault_vfs.h"
#include "util/alloc.h"

typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct */
    char *path;         /* owned; NULL for temp files (never tracked) */
} fault_file;

/* One unsynced change: the bytes at off before it (old) and after it (new, NULL for a
 * truncation, whose old bytes are what it cut off). */
typedef struct undo_entry {
    sqlite3_int64 off;
    int n;
    unsigned char *old, *new_bytes;
} undo_entry;

typedef struct tracked {
    char *path;
    sqlite3_int64 synced_size;
    undo_entry *e;
    size_t n, cap;
    struct tracked *next;
} tracked;

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    bool registered, armed, persist, fired;
    fault_kind kind;
    int nth, count, rc;
    /* power-cut mode */
    bool power, dead, garble;
    unsigned seed;
    long io_count;
    int cut_at;
    tracked *files;
} fv;

void fault_vfs_arm(fault_kind kind, int nth, int rc, bool persist)
{
    fv.kind = kind;
    fv.nth = nth;
    fv.rc = rc;
    fv.persist = persist;
    fv.count = 0;
    fv.fired = false;
    fv.armed = true;
}

void fault_vfs_disarm(void)
{
    fv.armed = false;
}

bool fault_vfs_fired(void)
{
    return fv.fired;
}

static bool should_fail(fault_kind kind)
{
    if (!fv.armed || fv.kind != kind)
        return false;
    fv.count++;
    if (fv.count == fv.nth || (fv.persist && fv.count > fv.nth)) {
        fv.fired = true;
        return true;
    }
    return false;
}

#define REAL(f) (((fault_file *)(f))->real)
#define PATH(f) (((fault_file *)(f))->path)

static tracked *tracked_find(const char *path, tracked ***link)
{
    tracked **l = &fv.files;
    for (; *l; l = &(*l)->next)
        if (strcmp((*l)->path, path) == 0)
            break;
    if (link)
        *link = l;
    return *l;
}

static void tracked_free(tracked *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].old);
        free(t->e[i].new_bytes);
    }
    free(t->e);
    free(t->path);
    free(t);
}

/* The file's tracking record, made at its first change since its last sync: the size it
 * has then is its synced size. */
static tracked *tracked_get(sqlite3_file *f)
{
    tracked *t = tracked_find(PATH(f), NULL);
    if (t)
        return t;
    t = xcalloc(1, sizeof *t);
    t->path = xstrdup(PATH(f));
    REAL(f)->pMethods->xFileSize(REAL(f), &t->synced_size);
    t->next = fv.files;
    fv.files = t;
    return t;
}

static void tracked_forget(const char *path)
{
    tracked **link;
    tracked *t = tracked_find(path, &link);
    if (t) {
        *link = t->next;
        tracked_free(t);
    }
}

/* Record what [off, off+n) holds now (zeros past the end) before it changes. */
static void undo_push(sqlite3_file *f, sqlite3_int64 off, int n, const void *new_bytes)
{
    tracked *t = tracked_get(f);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->e = xrealloc(t->e, t->cap * sizeof *t->e);
    }
    undo_entry *e = &t->e[t->n++];
    e->off = off;
    e->n = n;
    e->old = xcalloc(1, (size_t)n);
    /* A short read zero-fills the rest, which is what an extension replaced. */
    REAL(f)->pMethods->xRead(REAL(f), e->old, n, off);
    e->new_bytes = NULL;
    if (new_bytes) {
        e->new_bytes = xmalloc((size_t)n);
        memcpy(e->new_bytes, new_bytes, (size_t)n);
    }
}

static bool pwrite_all(int fd, const unsigned char *b, int n, sqlite3_int64 off)
{
    return pwrite(fd, b, (size_t)n, (off_t)off) == (ssize_t)n;
}

/* Back to the synced content; with garble, then re-apply a random subset of the unsynced
 * writes in their order (a disk may have persisted any of them). */
static void tracked_cut(tracked *t)
{
    int fd = open(t->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return; /* deleted meanwhile: deletion counts as durable */
    bool ok = true;
    for (size_t i = t->n; i-- > 0;)
        ok &= pwrite_all(fd, t->e[i].old, t->e[i].n, t->e[i].off);
    sqlite3_int64 size = t->synced_size;
    for (size_t i = 0; fv.garble && i < t->n; i++) {
        if (!t->e[i].new_bytes || rand_r(&fv.seed) % 2 == 0)
            continue;
        ok &= pwrite_all(fd, t->e[i].new_bytes, t->e[i].n, t->e[i].off);
        if (t->e[i].off + t->e[i].n > size)
            size = t->e[i].off + t->e[i].n;
    }
    if (!ok || ftruncate(fd, (off_t)size) != 0)
        abort(); /* the simulation itself broke: no result of this test means anything */
    close(fd);
}

static void tracked_clear(void)
{
    while (fv.files) {
        tracked *t = fv.files;
        fv.files = t->next;
        tracked_free(t);
    }
}

void fault_vfs_power_begin(unsigned seed, bool garble)
{
    tracked_clear();
    fv.power = true;
    fv.dead = false;
    fv.garble = garble;
    fv.seed = seed;
    fv.io_count = 0;
    fv.cut_at = 0;
}

void fault_vfs_power_cut(void)
{
    for (tracked *t = fv.files; t; t = t->next)
        tracked_cut(t);
    tracked_clear();
    fv.dead = true;
}

void fault_vfs_power_cut_at(int nth)
{
    fv.io_count = 0;
    fv.cut_at = nth;
}

bool fault_vfs_power_is_cut(void)
{
    return fv.dead;
}

long fault_vfs_power_io_count(void)
{
    return fv.io_count;
}

void fault_vfs_power_end(void)
{
    tracked_clear();
    fv.power = false;
    fv.dead = false;
    fv.cut_at = 0;
}

/* Count a changing call in power-cut mode; true when it must fail (power is, or just
 * went, off). */
static bool power_off_for_io(void)
{
    if (!fv.power)
        return false;
    if (fv.dead)
        return true;
    fv.io_count++;
    if (fv.cut_at > 0 && fv.io_count == fv.cut_at) {
        fault_vfs_power_cut();
        return true;
    }
    return false;
}

static int f_close(sqlite3_file *f)
{
    free(PATH(f));
    PATH(f) = NULL;
    return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    if (fv.power && fv.dead)
        return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (should_fail(FAULT_WRITE))
        return fv.rc;
    if (power_off_for_io())
        return SQLITE_IOERR_WRITE;
    if (fv.power && PATH(f))
        undo_push(f, off, n, b);
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (power_off_for_io())
        return SQLITE_IOERR_TRUNCATE;
    sqlite3_int64 cur = 0;
    if (fv.power && PATH(f) && REAL(f)->pMethods->xFileSize(REAL(f), &cur) == SQLITE_OK &&
        cur > size)
        undo_push(f, size, (int)(cur - size), NULL);
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    if (should_fail(FAULT_SYNC))
        return fv.rc;
    if (power_off_for_io())
        return SQLITE_IOERR_FSYNC;
    if (fv.power) {
        /* The shim is the disk: what the file holds now is durable. */
        if (PATH(f))
            tracked_forget(PATH(f));
        return SQLITE_OK;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *out)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), out);
}
static int f_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_check(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static const sqlite3_io_methods METHODS = {
    2,         f_close,      f_read,     f_write, f_truncate, f_sync,    f_size,
    f_lock,    f_unlock,     f_check,    f_fcntl, f_sector,   f_devchar, f_shmmap,
    f_shmlock, f_shmbarrier, f_shmunmap, NULL,    NULL,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    (void)vfs;
    fault_file *ff = (fault_file *)file;
    ff->real = (sqlite3_file *)(ff + 1);
    ff->path = NULL;
    memset(ff->real, 0, (size_t)fv.real->szOsFile);
    if (fv.power && fv.dead) {
        ff->base.pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    int rc = fv.real->xOpen(fv.real, name, ff->real, flags, out);
    ff->base.pMethods = ff->real->pMethods ? &METHODS : NULL;
    if (rc == SQLITE_OK && name && !(flags & SQLITE_OPEN_DELETEONCLOSE))
        ff->path = xstrdup(name);
    return rc;
}

static int f_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    if (fv.power && fv.dead)
        return SQLITE_IOERR_DELETE;
    if (fv.power)
        tracked_forget(name); /* a deletion is durable at once in this model */
    return fv.real->xDelete(fv.real, name, sync_dir);
}

void fault_vfs_register(void)
{
    if (fv.registered)
        return;
    fv.real = sqlite3_vfs_find(NULL);
    if (!fv.real)
        return; /* SQLite could not initialize (a test failing its allocations) */
    fv.vfs = *fv.real;
    fv.vfs.pNext = NULL;
    fv.vfs.zName = FAULT_VFS_NAME;
    fv.vfs.szOsFile = (int)sizeof(fault_file) + fv.real->szOsFile;
    fv.vfs.xOpen = f_open;
    fv.vfs.xDelete = f_delete;
    sqlite3_vfs_register(&fv.vfs, 0);
    fv.registered = true;
}
