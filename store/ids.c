/* Local ids and op ids: a prefix + 26 Crockford base32 characters encoding a 48-bit
 * millisecond timestamp then 80 random bits (ULID layout), so ids sort by creation time.
 *
 * Invariants:
 * I1. Ids never contain 0-9-only or 15/18-char alphanumeric forms: the "loc-"/"op-" prefix
 *     keeps them apart from Salesforce Ids and CaseNumbers.
 * I2. Randomness comes from getrandom(); if it fails we abort (like OOM) rather than mint
 *     an id that could collide.
 * I3. Ids a thread mints within one millisecond take the previous id's 80 random bits plus
 *     one (ULID's monotonic mode, https://github.com/ulid/spec): they stay unique and in
 *     creation order, and a page of pulled records gets ascending keys, which SQLite
 *     appends to the primary-key index instead of splitting pages in its middle. A new
 *     millisecond (or a clock that went back) draws fresh random bits; a forked child
 *     forgets its parent's last id, so the two never continue the same sequence.
 */
#include <pthread.h>
#include <stdbool.h>
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

/* The last id this thread minted: its millisecond and random part (I3). */
static _Thread_local struct {
    bool set;
    uint64_t ms;
    unsigned char random[10];
} last;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_last(void)
{
    last.set = false;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_last);
}

/* The random part for an id at ms: the last one plus one in the same millisecond. */
static void next_random(unsigned char out[10], uint64_t ms)
{
    pthread_once(&atfork_once, register_atfork);
    bool carry = last.set && last.ms == ms;
    for (int i = 9; carry && i >= 0; i--)
        carry = ++last.random[i] == 0;
    if (!last.set || last.ms != ms || carry) /* carry: 2^80 ids in one ms wrapped */
        random_bytes(last.random, sizeof last.random);
    last.set = true;
    last.ms = ms;
    memcpy(out, last.random, sizeof last.random);
}

static char *new_id(const char *prefix)
{
    unsigned char raw[16];
    uint64_t now = (uint64_t)time_now_ms(), ms = now;
    for (int i = 5; i >= 0; i--) {
        raw[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    next_random(raw + 6, now);
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
