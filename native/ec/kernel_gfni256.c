/* AVX2 + GFNI (VEX-encoded GF2P8AFFINEQB, e.g. Alder Lake E-cores, Zen 3+ run
 * with AVX-512 off): the GFNI512 algorithm on 32-byte vectors. Only 16 ymm
 * registers, so two vectors per step up to 4 rows, one above.
 *
 * Without masked loads the ragged ends are covered by overlapping vectors: one
 * unaligned vector at 0, the loop from in[0]'s first 32-byte boundary, one
 * vector ending at len. Bytes computed twice get the same value (outputs never
 * alias inputs), so this is cheaper than a scalar tail. */
#include <immintrin.h>
#include <string.h>

#include "ec_kernel.h"
#include "gf256.h"

#define TARGET __attribute__((target("avx2,gfni")))
#define INLINE static inline __attribute__((always_inline))

static void expand_affine(uint8_t coef, uint8_t *table) {
  uint64_t matrix = gf256_affine_matrix(coef);
  memcpy(table, &matrix, sizeof matrix);
}

/* vectors x 32 bytes at pos. */
INLINE TARGET void step(size_t pos, const int vectors, int k, const int rows, const uint64_t *mat,
                        const uint8_t *const *in, uint8_t *const *out) {
  __m256i acc[EC_KERNEL_MAX_ROWS][2];
  __m256i x[2];
#pragma GCC unroll 2
  for (int v = 0; v < vectors; v++) x[v] = _mm256_loadu_si256((const __m256i *)(in[0] + pos + 32 * v));
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++) {
    __m256i m = _mm256_set1_epi64x((long long)mat[r * k]);
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) acc[r][v] = _mm256_gf2p8affine_epi64_epi8(x[v], m, 0);
  }
  for (int i = 1; i < k; i++) {
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) x[v] = _mm256_loadu_si256((const __m256i *)(in[i] + pos + 32 * v));
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
      __m256i m = _mm256_set1_epi64x((long long)mat[r * k + i]);
#pragma GCC unroll 2
      for (int v = 0; v < vectors; v++)
        acc[r][v] = _mm256_xor_si256(acc[r][v], _mm256_gf2p8affine_epi64_epi8(x[v], m, 0));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) _mm256_storeu_si256((__m256i *)(out[r] + pos + 32 * v), acc[r][v]);
}

INLINE TARGET void dot_rows(size_t len, int k, const int rows, const uint64_t *mat, const uint8_t *coefs,
                            const uint8_t *const *in, uint8_t *const *out) {
  if (len < 32) {
    ec_dot_scalar(0, len, k, rows, coefs, in, out);
    return;
  }
  const int vectors = rows <= 4 ? 2 : 1;
  step(0, 1, k, rows, mat, in, out);
  size_t pos = (size_t)(-(uintptr_t)in[0]) & 31;
  if (pos == 0) pos = 32;
  for (; pos + 32 * vectors <= len; pos += 32 * vectors) step(pos, vectors, k, rows, mat, in, out);
  if (pos + 32 <= len) {
    step(pos, 1, k, rows, mat, in, out);
    pos += 32;
  }
  if (pos < len) step(len - 32, 1, k, rows, mat, in, out);
}

TARGET static void dot_gfni256(size_t len, int k, int rows, const uint8_t *coefs, const uint8_t *tables,
                               const uint8_t *const *in, uint8_t *const *out) {
  const uint64_t *mat = (const uint64_t *)tables;
  switch (rows) {
    case 1: dot_rows(len, k, 1, mat, coefs, in, out); break;
    case 2: dot_rows(len, k, 2, mat, coefs, in, out); break;
    case 3: dot_rows(len, k, 3, mat, coefs, in, out); break;
    case 4: dot_rows(len, k, 4, mat, coefs, in, out); break;
    case 5: dot_rows(len, k, 5, mat, coefs, in, out); break;
    case 6: dot_rows(len, k, 6, mat, coefs, in, out); break;
    case 7: dot_rows(len, k, 7, mat, coefs, in, out); break;
    default: dot_rows(len, k, 8, mat, coefs, in, out); break;
  }
}

const ec_kernel ec_kernel_gfni256 = {"gfni256", 8, expand_affine, dot_gfni256};
