#include "ec_plan_cache.h"

#include <string.h>

static unsigned slot_of(const ec_pattern *p) {
  uint64_t h = 0;
  for (int i = 0; i < 4; i++) h = (h ^ p->unusable[i] ^ (p->targets[i] * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
  return (unsigned)(h >> 58) % EC_PLAN_CACHE_SLOTS;
}

void ec_plan_cache_init(ec_plan_cache *cache) {
  memset(cache, 0, sizeof *cache);
  pthread_mutex_init(&cache->lock, NULL);
}

void ec_plan_cache_destroy(ec_plan_cache *cache) {
  for (int i = 0; i < EC_PLAN_CACHE_SLOTS; i++) ec_plan_release(cache->slots[i].plan);
  pthread_mutex_destroy(&cache->lock);
}

ec_plan *ec_plan_cache_get(ec_plan_cache *cache, const ec_pattern *pattern) {
  unsigned s = slot_of(pattern);
  ec_plan *plan = NULL;
  pthread_mutex_lock(&cache->lock);
  if (cache->slots[s].plan && memcmp(&cache->slots[s].pattern, pattern, sizeof *pattern) == 0) {
    plan = cache->slots[s].plan;
    ec_plan_retain(plan);
  }
  pthread_mutex_unlock(&cache->lock);
  return plan;
}

void ec_plan_cache_put(ec_plan_cache *cache, const ec_pattern *pattern, ec_plan *plan) {
  unsigned s = slot_of(pattern);
  ec_plan_retain(plan);
  pthread_mutex_lock(&cache->lock);
  ec_plan *old = cache->slots[s].plan;
  cache->slots[s].pattern = *pattern;
  cache->slots[s].plan = plan;
  pthread_mutex_unlock(&cache->lock);
  ec_plan_release(old); /* outside the lock: freeing may take a while */
}
