/* A plan: the coefficient rows of one product (the parity rows for encoding,
 * or the rows that rebuild chosen shards from chosen survivors) expanded into
 * one kernel's tables. Plans are immutable once built and shared between
 * threads by reference count. */
#ifndef TIERFS_EC_PLAN_H
#define TIERFS_EC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "ec_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ec_plan {
  const ec_kernel *kernel;
  int k, rows;
  uint8_t *coefs;  /* rows x k */
  uint8_t *tables; /* rows x k x kernel->table_bytes, cache-line aligned */
  uint8_t inputs[256];  /* shard index of each of the k inputs */
  uint8_t outputs[256]; /* shard index of each row's output */
  int refs;             /* atomic */
} ec_plan;

/* A plan with one reference, or NULL when out of memory. */
ec_plan *ec_plan_create(const ec_kernel *kernel, int k, int rows, const uint8_t *coefs);
void ec_plan_retain(ec_plan *plan);
void ec_plan_release(ec_plan *plan);

static inline void ec_plan_apply(const ec_plan *plan, size_t len, const uint8_t *const *in, uint8_t *const *out) {
  ec_kernel_run(plan->kernel, len, plan->k, plan->rows, plan->coefs, plan->tables, in, out);
}

#ifdef __cplusplus
}
#endif

#endif
