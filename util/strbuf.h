/* A growable NUL-terminated byte buffer. STRBUF_INIT is an empty buffer; strbuf_free
 * releases it; strbuf_detach hands the bytes to the caller (free() them). */
#ifndef SFA_UTIL_STRBUF_H
#define SFA_UTIL_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
} strbuf;

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void strbuf_add(strbuf *sb, const void *data, size_t n);
void strbuf_adds(strbuf *sb, const char *s);
void strbuf_addc(strbuf *sb, char c);
void strbuf_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(strbuf *sb);
/* Never NULL: an empty buffer yields "". */
const char *strbuf_str(const strbuf *sb);
char *strbuf_detach(strbuf *sb);
void strbuf_free(strbuf *sb);

#endif
