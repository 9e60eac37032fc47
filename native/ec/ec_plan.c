#include "ec_plan.h"

#include <stdlib.h>
#include <string.h>

ec_plan *ec_plan_create(const ec_kernel *kernel, int k, int rows, const uint8_t *coefs) {
  ec_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return NULL;
  size_t n = (size_t)rows * k;
  size_t table_size = (n * kernel->table_bytes + 63) & ~(size_t)63;
  plan->coefs = malloc(n ? n : 1);
  plan->tables = aligned_alloc(64, table_size ? table_size : 64);
  if (!plan->coefs || !plan->tables) {
    free(plan->coefs);
    free(plan->tables);
    free(plan);
    return NULL;
  }
  plan->kernel = kernel;
  plan->k = k;
  plan->rows = rows;
  memcpy(plan->coefs, coefs, n);
  for (size_t i = 0; i < n; i++) kernel->expand(coefs[i], plan->tables + i * kernel->table_bytes);
  for (int i = 0; i < k; i++) plan->inputs[i] = (uint8_t)i;
  plan->refs = 1;
  return plan;
}

void ec_plan_retain(ec_plan *plan) { __atomic_add_fetch(&plan->refs, 1, __ATOMIC_RELAXED); }

void ec_plan_release(ec_plan *plan) {
  if (!plan || __atomic_sub_fetch(&plan->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  free(plan->coefs);
  free(plan->tables);
  free(plan);
}
