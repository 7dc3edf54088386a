/* Allocation wrappers. OOM policy : allocation failure aborts; the
 * agent must survive kill -9 at any instruction anyway, so abort loses nothing that
 * was acknowledged. Disk errors are statuses, never aborts. */
#ifndef SFA_UTIL_ALLOC_H
#define SFA_UTIL_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string owned by the caller. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
