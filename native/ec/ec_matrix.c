#include "ec_matrix.h"

#include <string.h>

#include "gf256.h"

void ec_cauchy_generator(uint8_t *a, int k, int m) {
  memset(a, 0, (size_t)(k + m) * k);
  for (int i = 0; i < k; i++) a[i * k + i] = 1;
  uint8_t *p = a + (size_t)k * k;
  for (int i = k; i < k + m; i++)
    for (int j = 0; j < k; j++) *p++ = gf256_inv((uint8_t)(i ^ j));
}

static void swap_rows(uint8_t *a, int n, int r1, int r2) {
  uint8_t tmp[256];
  memcpy(tmp, a + r1 * n, n);
  memcpy(a + r1 * n, a + r2 * n, n);
  memcpy(a + r2 * n, tmp, n);
}

int ec_matrix_invert(uint8_t *in, uint8_t *out, int n) {
  memset(out, 0, (size_t)n * n);
  for (int i = 0; i < n; i++) out[i * n + i] = 1;
  for (int col = 0; col < n; col++) {
    int pivot = col;
    while (pivot < n && in[pivot * n + col] == 0) pivot++;
    if (pivot == n) return -1;
    if (pivot != col) {
      swap_rows(in, n, pivot, col);
      swap_rows(out, n, pivot, col);
    }
    const uint8_t *scale = gf256_mul_row(gf256_inv(in[col * n + col]));
    for (int j = 0; j < n; j++) {
      in[col * n + j] = scale[in[col * n + j]];
      out[col * n + j] = scale[out[col * n + j]];
    }
    for (int row = 0; row < n; row++) {
      uint8_t f = in[row * n + col];
      if (row == col || f == 0) continue;
      const uint8_t *mul = gf256_mul_row(f);
      for (int j = 0; j < n; j++) {
        in[row * n + j] ^= mul[in[col * n + j]];
        out[row * n + j] ^= mul[out[col * n + j]];
      }
    }
  }
  return 0;
}
