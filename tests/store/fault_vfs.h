/* A test-only SQLite VFS ("faultvfs") wrapping the default one, that fails the Nth xWrite
 * or xSync after it is armed (RELIABILITY.md 1.4: SQLite's own I/O-error tests). Open the
 * agent with SFA_SQLITE_VFS=faultvfs to route its connection through it. */
#ifndef SFA_TESTS_STORE_FAULT_VFS_H
#define SFA_TESTS_STORE_FAULT_VFS_H

#include <stdbool.h>

#define FAULT_VFS_NAME "faultvfs"

typedef enum fault_kind { FAULT_WRITE, FAULT_SYNC } fault_kind;

/* Register once (idempotent). Not the default VFS. */
void fault_vfs_register(void);
/* From now on, the nth (1-based) call of kind fails with rc (SQLITE_IOERR_WRITE,
 * SQLITE_FULL, ...); with persist, every later call of that kind fails too. */
void fault_vfs_arm(fault_kind kind, int nth, int rc, bool persist);
void fault_vfs_disarm(void);
/* Did an armed fault fire since the last arm? */
bool fault_vfs_fired(void);

#endif
