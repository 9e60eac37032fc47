/* Portable C: one table lookup per byte and coefficient. The reference the
 * vector kernels are tested against, and the fallback on any CPU. */
#include <string.h>

#include "ec_kernel.h"
#include "gf256.h"

/* Bytes per step: one output block stays in L1 while every input streams past it. */
#define SCALAR_BLOCK 4096

void ec_dot_scalar(size_t from, size_t len, int k, int rows, const uint8_t *coefs,
                   const uint8_t *const *in, uint8_t *const *out) {
  for (size_t start = from; start < len; start += SCALAR_BLOCK) {
    size_t end = len - start < SCALAR_BLOCK ? len : start + SCALAR_BLOCK;
    for (int r = 0; r < rows; r++) {
      uint8_t *dst = out[r];
      const uint8_t *mul = gf256_mul_row(coefs[r * k]);
      const uint8_t *src = in[0];
      for (size_t x = start; x < end; x++) dst[x] = mul[src[x]];
      for (int i = 1; i < k; i++) {
        mul = gf256_mul_row(coefs[r * k + i]);
        src = in[i];
        for (size_t x = start; x < end; x++) dst[x] ^= mul[src[x]];
      }
    }
  }
}

static void expand_coef(uint8_t coef, uint8_t *table) { table[0] = coef; }

static void dot_portable(size_t len, int k, int rows, const uint8_t *coefs, const uint8_t *tables,
                         const uint8_t *const *in, uint8_t *const *out) {
  (void)tables;
  ec_dot_scalar(0, len, k, rows, coefs, in, out);
}

void ec_expand_nibbles(uint8_t coef, uint8_t *table) {
  const uint8_t *mul = gf256_mul_row(coef);
  for (int x = 0; x < 16; x++) {
    table[x] = mul[x];
    table[16 + x] = mul[x << 4];
  }
}

const ec_kernel ec_kernel_portable = {"portable", 1, expand_coef, dot_portable};
