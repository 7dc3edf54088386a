/* See fault_vfs.h. Every io method delegates to the real file; xWrite and xSync count
 * calls while armed and fail the chosen one. */
#include <sqlite3.h>
#include <string.h>

#include "store/fault_vfs.h"

typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct */
} fault_file;

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    bool registered, armed, persist, fired;
    fault_kind kind;
    int nth, count, rc;
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

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (should_fail(FAULT_WRITE))
        return fv.rc;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    if (should_fail(FAULT_SYNC))
        return fv.rc;
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
    memset(ff->real, 0, (size_t)fv.real->szOsFile);
    int rc = fv.real->xOpen(fv.real, name, ff->real, flags, out);
    ff->base.pMethods = ff->real->pMethods ? &METHODS : NULL;
    return rc;
}

void fault_vfs_register(void)
{
    if (fv.registered)
        return;
    fv.real = sqlite3_vfs_find(NULL);
    fv.vfs = *fv.real;
    fv.vfs.pNext = NULL;
    fv.vfs.zName = FAULT_VFS_NAME;
    fv.vfs.szOsFile = (int)sizeof(fault_file) + fv.real->szOsFile;
    fv.vfs.xOpen = f_open;
    sqlite3_vfs_register(&fv.vfs, 0);
    fv.registered = true;
}
