/* One daemon per database: an exclusive lock on "<db>.run.lock" (sync/engine/daemon_lock.c). */
#ifndef SFA_SYNC_ENGINE_DAEMON_LOCK_H
#define SFA_SYNC_ENGINE_DAEMON_LOCK_H

#include <stddef.h>

#include "sfagent/status.h"

/* Take the lock for db_path: *fd gets the open descriptor that holds it (-1 on failure).
 * SFA_EBUSY when another process holds it (err names its pid when the file says); other
 * failures (cannot create the file) SFA_EREADONLY or SFA_EIO. err gets the message. */
sfa_status daemon_lock_take(int *fd, const char *db_path, char *err, size_t errlen);
/* Release (close) a lock taken by daemon_lock_take; -1 is a no-op. */
void daemon_lock_release(int fd);

#endif
