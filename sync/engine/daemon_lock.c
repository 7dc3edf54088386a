/* The daemon lock: flock(2) on a file beside the database, held for the daemon's life.
 *
 * Why a lock file and not the run lease (store/lease.c): the lease is held only while a
 * sync run is in progress and expires, so two daemons would take turns and both believe
 * they own the schedule. flock is released by the kernel when the process dies, however
 * it dies, so a crashed daemon never blocks its successor. The file keeps the holder's pid
 * for the refusal message only; the lock, not the pid, decides.
 *
 * Invariants:
 *   I1. At most one process holds the lock of a database path at a time (the kernel's).
 *   I2. The file is never removed: removing it while another process waits on it would
 *       let a third process lock a new file under the same name.
 */
#include "sync/engine/daemon_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/alloc.h"

static long holder_pid(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* Only a second daemon's refusal message reads the pid: failing to write it is ignored. */
static void note_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0)
        (void)!pwrite(fd, buf, (size_t)n, 0);
}

sfa_status daemon_lock_take(int *fd, const char *db_path, char *err, size_t errlen)
{
    *fd = -1;
    char *path = xasprintf("%s.run.lock", db_path);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open the daemon lock file %s: %s", path, strerror(e));
        free(path);
        return e == EACCES || e == EROFS || e == EPERM ? SFA_EREADONLY : SFA_EIO;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? holder_pid(f) : 0;
        if (e != EWOULDBLOCK)
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        else if (pid > 0)
            snprintf(err, errlen,
                     "another 'sfagent run' (pid %ld) is already syncing this database (%s)", pid,
                     path);
        else
            snprintf(err, errlen, "another 'sfagent run' is already syncing this database (%s)",
                     path);
        close(f);
        free(path);
        return e == EWOULDBLOCK ? SFA_EBUSY : SFA_EIO;
    }
    free(path);
    note_pid(f);
    *fd = f;
    return SFA_OK;
}

void daemon_lock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock (I2: the file stays) */
}
