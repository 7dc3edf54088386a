/* A test-only SQLite VFS ("faultvfs") wrapping the default one
 * (docs/sync-protocol.md#verification). It can fail the Nth xWrite or xSync after it is armed
 * (SQLite's own I/O-error tests), and simulate a power cut (SQLite's test6.c crash VFS,
 * simplified). Open the agent with SFA_SQLITE_VFS=faultvfs to route its connection through it. */
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

/* Power-cut mode (F3). While on, every write, truncate and delete of a named file (main
 * db, -wal, -journal; not -shm, which SQLite rebuilds from the WAL) is tracked until that
 * file's next xSync; xSync marks the file's current content durable and does not reach
 * the real disk (the shim is the disk, which keeps the tests fast). The tracking is kept
 * per path, so it outlives file handles, as the OS page cache does.
 *
 * Implementation note: writes go to the real file at once and the shim keeps an undo log
 * of what each unsynced write replaced; reads therefore see the unsynced data, exactly as
 * an overlay held in memory would show it. */
void fault_vfs_power_begin(unsigned seed, bool garble);
/* Cut the power now: every unsynced write is undone (with garble, each unsynced write is
 * independently kept or dropped, as a disk may have written some of them) and the file
 * is cut back to its synced size. From then on every I/O through the VFS fails
 * (SQLITE_IOERR) until fault_vfs_power_end(): the "dead" process may close its handles
 * but can no longer change the files. */
void fault_vfs_power_cut(void);
/* Cut the power at the nth (1-based) xWrite/xSync/xTruncate from now (the call itself is
 * lost and fails); 0 disarms. */
void fault_vfs_power_cut_at(int nth);
/* Has the power been cut (by fault_vfs_power_cut or a fired power_cut_at)? */
bool fault_vfs_power_is_cut(void);
/* I/O calls counted since fault_vfs_power_begin (to size the random cut point). */
long fault_vfs_power_io_count(void);
/* Leave power-cut mode: forget the undo logs (everything counts as synced) and let I/O
 * through again. Close every connection first, then reopen: a fresh open recovers. */
void fault_vfs_power_end(void);

#endif
