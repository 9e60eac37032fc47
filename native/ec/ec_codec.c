#include "ec_codec.h"

#include <stdlib.h>
#include <string.h>

#include "ec_cpu.h"
#include "ec_matrix.h"
#include "ec_plan.h"
#include "ec_plan_cache.h"
#include "gf256.h"

/* Verify encodes this many bytes of each parity shard at a time into scratch
 * memory and compares, so its scratch stays in L1/L2 whatever the shard size. */
#define VERIFY_TILE 8192

struct ec_codec {
  int k, m;
  const ec_kernel *kernel;
  uint8_t *generator;   /* (k+m) x k */
  ec_plan *encode_plan; /* the m parity rows */
  ec_plan_cache decode_plans;
};

int ec_codec_create(int k, int m, const ec_kernel *kernel, ec_codec **out) {
  *out = NULL;
  if (k < 1 || m < 0 || k + m > EC_MAX_SHARDS) return EC_ERR_RANGE;
  gf256_init();
  ec_codec *codec = calloc(1, sizeof *codec);
  if (!codec) return EC_ERR_NO_MEMORY;
  codec->k = k;
  codec->m = m;
  codec->kernel = kernel ? kernel : ec_kernel_best();
  codec->generator = malloc((size_t)(k + m) * k);
  if (codec->generator) {
    ec_cauchy_generator(codec->generator, k, m);
    codec->encode_plan = ec_plan_create(codec->kernel, k, m, codec->generator + (size_t)k * k);
  }
  if (!codec->encode_plan) {
    free(codec->generator);
    free(codec);
    return EC_ERR_NO_MEMORY;
  }
  for (int j = 0; j < m; j++) codec->encode_plan->outputs[j] = (uint8_t)(k + j);
  ec_plan_cache_init(&codec->decode_plans);
  *out = codec;
  return EC_OK;
}

void ec_codec_destroy(ec_codec *codec) {
  if (!codec) return;
  ec_plan_cache_destroy(&codec->decode_plans);
  ec_plan_release(codec->encode_plan);
  free(codec->generator);
  free(codec);
}

const ec_kernel *ec_codec_kernel(const ec_codec *codec) { return codec->kernel; }

const uint8_t *ec_codec_generator(const ec_codec *codec) { return codec->generator; }

void ec_encode(const ec_codec *codec, size_t len, const uint8_t *const *data, uint8_t *const *parity) {
  ec_plan_apply(codec->encode_plan, len, data, parity);
}

static int has(const uint64_t *set, int i) { return (set[i >> 6] >> (i & 63)) & 1; }
static void add(uint64_t *set, int i) { set[i >> 6] |= 1ULL << (i & 63); }

/* Rows that rebuild the pattern's targets (ascending) from its survivors (the
 * first k readable shards): target row of the generator times the inverse of
 * the survivors' rows. A data target's generator row is a unit vector, so its
 * row is simply a row of the inverse. */
static ec_plan *build_decode_plan(const ec_codec *codec, const ec_pattern *pattern, int ntargets) {
  int k = codec->k, n = k + codec->m;
  uint8_t survivors[256], targets[256];
  int s = 0, t = 0;
  for (int i = 0; i < n; i++) {
    if (has(pattern->targets, i)) targets[t++] = (uint8_t)i;
    else if (!has(pattern->unusable, i) && s < k) survivors[s++] = (uint8_t)i;
  }
  uint8_t *work = malloc((size_t)k * k * 2 + (size_t)ntargets * k);
  if (!work) return NULL;
  uint8_t *sub = work, *inverse = work + (size_t)k * k, *rows = inverse + (size_t)k * k;
  for (int r = 0; r < k; r++) memcpy(sub + (size_t)r * k, codec->generator + (size_t)survivors[r] * k, k);
  ec_plan *plan = NULL;
  if (ec_matrix_invert(sub, inverse, k) == 0) { /* never singular: every k rows of a Cauchy code are independent */
    for (int r = 0; r < ntargets; r++) {
      const uint8_t *g = codec->generator + (size_t)targets[r] * k;
      uint8_t *row = rows + (size_t)r * k;
      memset(row, 0, k);
      for (int j = 0; j < k; j++) {
        if (g[j] == 0) continue;
        const uint8_t *mul = gf256_mul_row(g[j]);
        const uint8_t *inv_row = inverse + (size_t)j * k;
        for (int c = 0; c < k; c++) row[c] ^= mul[inv_row[c]];
      }
    }
    plan = ec_plan_create(codec->kernel, k, ntargets, rows);
  }
  free(work);
  if (plan) {
    memcpy(plan->inputs, survivors, k);
    memcpy(plan->outputs, targets, ntargets);
  }
  return plan;
}

int ec_reconstruct(ec_codec *codec, size_t len, uint8_t *const *shards, const int *lost, int nlost,
                   const int *targets, int ntargets) {
  int k = codec->k, n = k + codec->m;
  ec_pattern pattern;
  memset(&pattern, 0, sizeof pattern);
  for (int i = 0; i < nlost; i++) {
    if (lost[i] < 0 || lost[i] >= n) return EC_ERR_BAD_INDEX;
    add(pattern.unusable, lost[i]);
  }
  for (int i = 0; i < ntargets; i++) {
    int t = targets[i];
    if (t < 0 || t >= n || has(pattern.targets, t) || !shards[t]) return EC_ERR_BAD_INDEX;
    add(pattern.targets, t);
    add(pattern.unusable, t);
  }
  int readable = 0;
  for (int i = 0; i < n; i++) {
    if (!shards[i]) add(pattern.unusable, i);
    else if (!has(pattern.unusable, i)) readable++;
  }
  if (readable < k) return EC_ERR_TOO_FEW_SHARDS;
  if (ntargets == 0) return EC_OK;

  ec_plan *plan = ec_plan_cache_get(&codec->decode_plans, &pattern);
  if (!plan) {
    plan = build_decode_plan(codec, &pattern, ntargets);
    if (!plan) return EC_ERR_NO_MEMORY;
    ec_plan_cache_put(&codec->decode_plans, &pattern, plan);
  }
  const uint8_t *in[256];
  uint8_t *out[256];
  for (int i = 0; i < k; i++) in[i] = shards[plan->inputs[i]];
  for (int r = 0; r < ntargets; r++) out[r] = shards[plan->outputs[r]];
  ec_plan_apply(plan, len, in, out);
  ec_plan_release(plan);
  return EC_OK;
}

int ec_verify(const ec_codec *codec, size_t len, const uint8_t *const *shards) {
  int k = codec->k, m = codec->m;
  if (m == 0) return 1;
  size_t tile = len < VERIFY_TILE ? len : VERIFY_TILE;
  uint8_t *scratch = malloc((size_t)m * (tile ? tile : 1));
  if (!scratch) return EC_ERR_NO_MEMORY;
  const uint8_t *in[256];
  uint8_t *out[256];
  int match = 1;
  for (size_t off = 0; off < len && match; off += tile) {
    size_t n = len - off < tile ? len - off : tile;
    for (int i = 0; i < k; i++) in[i] = shards[i] + off;
    for (int j = 0; j < m; j++) out[j] = scratch + (size_t)j * tile;
    ec_plan_apply(codec->encode_plan, n, in, out);
    for (int j = 0; j < m && match; j++) match = memcmp(out[j], shards[k + j] + off, n) == 0;
  }
  free(scratch);
  return match;
}

const char *ec_status_code(int status) {
  switch (status) {
    case EC_OK: return "EC_OK";
    case EC_ERR_RANGE: return "EC_RANGE";
    case EC_ERR_TOO_FEW_SHARDS: return "EC_TOO_FEW_SHARDS";
    case EC_ERR_BAD_INDEX: return "EC_BAD_INDEX";
    case EC_ERR_NO_MEMORY: return "EC_NO_MEMORY";
    default: return "EC_UNKNOWN";
  }
}
