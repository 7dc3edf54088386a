/* Exponential backoff with full jitter and a seeded RNG seam (sync/engine/backoff.c). */
#ifndef SFA_SYNC_ENGINE_BACKOFF_H
#define SFA_SYNC_ENGINE_BACKOFF_H

#include <stdint.h>

typedef struct backoff_rng {
    uint64_t state;
} backoff_rng;

/* seed 0 picks a seed from the clock and pid. */
void backoff_rng_seed(backoff_rng *rng, uint64_t seed);
uint64_t backoff_rng_next(backoff_rng *rng);
/* uniform(0, min(cap_ms, base_ms * 2^attempts)) in ms (inclusive bounds). */
int64_t backoff_delay_ms(backoff_rng *rng, int attempts, int64_t base_ms, int64_t cap_ms);

#endif
