/* Local ids and op ids: a prefix + 26 Crockford base32 characters encoding a 48-bit
 * millisecond timestamp then 80 random bits (ULID layout), so ids sort by creation time.
 *
 * Invariants:
 * I1. Ids never contain 0-9-only or 15/18-char alphanumeric forms: the "loc-"/"op-" prefix
 *     keeps them apart from Salesforce Ids and CaseNumbers.
 * I2. Randomness comes from getrandom(); if it fails we abort (like OOM) rather than mint
 *     an id that could collide.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store/store.h"
#include "util/alloc.h"
#include "util/timeutil.h"

#define ID_CHARS 26

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0)
            abort(); /* I2 */
        got += (size_t)r;
    }
}

static char *new_id(const char *prefix)
{
    unsigned char raw[16];
    uint64_t ms = (uint64_t)time_now_ms();
    for (int i = 5; i >= 0; i--) {
        raw[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    random_bytes(raw + 6, 10);
    size_t plen = strlen(prefix);
    char *out = xmalloc(plen + ID_CHARS + 1);
    memcpy(out, prefix, plen);
    /* 128 bits -> 26 chars of 5 bits, from the last; the first char carries only the top
     * 3 bits. The number is shifted right as a hi:lo pair, 5 bits per char. */
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = (hi << 8) | raw[i];
        lo = (lo << 8) | raw[8 + i];
    }
    for (int c = ID_CHARS - 1; c >= 0; c--) {
        unsigned width = c == 0 ? 3 : 5;
        out[plen + (size_t)c] = CROCKFORD[lo & ((1u << width) - 1)];
        lo = (lo >> width) | (hi << (64 - width));
        hi >>= width;
    }
    out[plen + ID_CHARS] = '\0';
    return out;
}

char *store_new_local_id(void)
{
    return new_id("loc-");
}

char *store_new_op_id(void)
{
    return new_id("op-");
}
