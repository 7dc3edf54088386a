/* Two levels of internal checks, after SQLite's ALWAYS()/NEVER() and curl's DEBUGASSERT.
 *
 * assert(x)         a precondition; compiled out of release builds (NDEBUG).
 * SFA_ALWAYS(x)     a condition the code guarantees but whose failure must not corrupt
 *                   data: debug and test builds abort on it; release builds evaluate it and
 *                   the caller takes the safe path (refuse the step with an error).
 *                   Use as `if (!SFA_ALWAYS(cond)) return <refusal>;`.
 */
#ifndef SFA_UTIL_CHECK_H
#define SFA_UTIL_CHECK_H

#include <assert.h>

#ifdef NDEBUG
#define SFA_ALWAYS(x) ((x) ? 1 : 0)
#else
#define SFA_ALWAYS(x) ((x) ? 1 : (assert(!"SFA_ALWAYS failed: " #x), 0))
#endif

#endif
