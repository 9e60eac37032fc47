/* Decode plans by erasure pattern. Building one inverts a k x k matrix
 * (O(k^3)) and expands its tables, which costs more than decoding a small
 * stripe, while a reader that lost a shard decodes the same pattern stripe
 * after stripe. Direct-mapped: a slot holds the last plan hashed to it, so a
 * lookup is one hash and one compare. Thread-safe (the async path decodes on
 * libuv's pool while the main thread decodes synchronously). */
#ifndef TIERFS_EC_PLAN_CACHE_H
#define TIERFS_EC_PLAN_CACHE_H

#include <pthread.h>
#include <stdint.h>

#include "ec_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EC_PLAN_CACHE_SLOTS 64

/* Shards that can't be read and shards to rebuild, as bit sets over shard
 * indices; together they fix the survivors (the first k readable shards). */
typedef struct ec_pattern {
  uint64_t unusable[4];
  uint64_t targets[4];
} ec_pattern;

typedef struct ec_plan_cache {
  pthread_mutex_t lock;
  struct {
    ec_pattern pattern;
    ec_plan *plan;
  } slots[EC_PLAN_CACHE_SLOTS];
} ec_plan_cache;

void ec_plan_cache_init(ec_plan_cache *cache);
void ec_plan_cache_destroy(ec_plan_cache *cache);
/* The cached plan, retained for the caller, or NULL. */
ec_plan *ec_plan_cache_get(ec_plan_cache *cache, const ec_pattern *pattern);
/* Caches plan (the cache takes its own reference), evicting the slot's previous plan. */
void ec_plan_cache_put(ec_plan_cache *cache, const ec_pattern *pattern, ec_plan *plan);

#ifdef __cplusplus
}
#endif

#endif
