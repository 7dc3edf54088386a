/* Named crash points (docs/sync-protocol.md#crash-points). In builds with SFA_TEST_HOOKS,
 * SFA_CRASH_AT=<name>:<n> makes the n-th pass through CRASH_POINT(name) call _exit(100)
 * (n counts from 1); SFA_CRASH_COUNT=<file> appends "<name>\n" to file at every pass so
 * a counting run can enumerate (point, n) pairs. Without test hooks it compiles away. */
#ifndef SFA_UTIL_CRASHPOINT_H
#define SFA_UTIL_CRASHPOINT_H

#define SFA_CRASH_EXIT_CODE 100

#ifdef SFA_TEST_HOOKS
void crashpoint_hit(const char *name);
#define CRASH_POINT(name) crashpoint_hit(name)
#else
#define CRASH_POINT(name) ((void)0)
#endif

#endif
