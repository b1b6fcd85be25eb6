/* test_random.h: the deterministic generator (splitmix64) behind the generated-input tests. */
#ifndef H5IMG_TEST_RANDOM_H
#define H5IMG_TEST_RANDOM_H

#include <stdint.h>

/* Each test sets the seed first, so a failure names a reproducible input. */
static uint64_t rng_state;

static inline uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for test generation; 0 when n is 0. */
static inline uint32_t rnd_below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

#endif
