/* Retry timing: exponential backoff with full jitter.
 *
 * Full jitter (delay = uniform(0, min(cap, base * 2^attempts))) spreads the retries of
 * many agents that failed together (a Salesforce outage ends for everyone at once).
 * The RNG is a seeded splitmix64 so tests can fix the seed.
 *
 * Invariants:
 *   I1. 0 <= backoff_delay_ms() <= min(cap, base * 2^attempts); never overflows.
 *   I2. The same seed gives the same sequence of delays.
 */
#include "sync/engine/backoff.h"

#include <unistd.h>

#include "util/timeutil.h"

void backoff_rng_seed(backoff_rng *rng, uint64_t seed)
{
    if (seed == 0)
        seed = (uint64_t)time_now_ms() * 2654435761u ^ ((uint64_t)getpid() << 32);
    rng->state = seed;
}

uint64_t backoff_rng_next(backoff_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t backoff_delay_ms(backoff_rng *rng, int attempts, int64_t base_ms, int64_t cap_ms)
{
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    int64_t ceiling = base_ms;
    /* I1: double until the cap instead of shifting, so large attempt counts cannot overflow. */
    for (int i = 0; i < attempts && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    return (int64_t)(backoff_rng_next(rng) % (uint64_t)(ceiling + 1));
}
