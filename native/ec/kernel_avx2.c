/* AVX2 without GFNI: the split-nibble method. c*x = lo[x & 15] ^ hi[x >> 4],
 * where lo and hi are 16-byte product tables, so VPSHUFB looks up 32 bytes at a
 * time. Tables are kept as 32 bytes per coefficient and broadcast to both
 * 128-bit lanes by the load (VBROADCASTI128 costs no ALU slot).
 *
 * Ragged ends by overlapping vectors, as in kernel_gfni256.c. */
#include <immintrin.h>

#include "ec_kernel.h"

#define TARGET __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

INLINE TARGET __m256i table_half(const uint8_t *t) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

/* vectors x 32 bytes at pos. */
INLINE TARGET void step(size_t pos, const int vectors, int k, const int rows, const uint8_t *tables,
                        const uint8_t *const *in, uint8_t *const *out) {
  const __m256i low_nibble = _mm256_set1_epi8(0x0f);
  __m256i acc[EC_KERNEL_MAX_ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) acc[r][v] = _mm256_setzero_si256();
  for (int i = 0; i < k; i++) {
    __m256i lo[2], hi[2];
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(in[i] + pos + 32 * v));
      lo[v] = _mm256_and_si256(x, low_nibble);
      hi[v] = _mm256_and_si256(_mm256_srli_epi64(x, 4), low_nibble);
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
      const uint8_t *t = tables + ((size_t)r * k + i) * 32;
      __m256i tlo = table_half(t), thi = table_half(t + 16);
#pragma GCC unroll 2
      for (int v = 0; v < vectors; v++) {
        __m256i p = _mm256_xor_si256(_mm256_shuffle_epi8(tlo, lo[v]), _mm256_shuffle_epi8(thi, hi[v]));
        acc[r][v] = _mm256_xor_si256(acc[r][v], p);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) _mm256_storeu_si256((__m256i *)(out[r] + pos + 32 * v), acc[r][v]);
}

INLINE TARGET void dot_rows(size_t len, int k, const int rows, const uint8_t *tables, const uint8_t *coefs,
                            const uint8_t *const *in, uint8_t *const *out) {
  if (len < 32) {
    ec_dot_scalar(0, len, k, rows, coefs, in, out);
    return;
  }
  const int vectors = rows <= 4 ? 2 : 1;
  step(0, 1, k, rows, tables, in, out);
  size_t pos = (size_t)(-(uintptr_t)in[0]) & 31;
  if (pos == 0) pos = 32;
  for (; pos + 32 * vectors <= len; pos += 32 * vectors) step(pos, vectors, k, rows, tables, in, out);
  if (pos + 32 <= len) {
    step(pos, 1, k, rows, tables, in, out);
    pos += 32;
  }
  if (pos < len) step(len - 32, 1, k, rows, tables, in, out);
}

TARGET static void dot_avx2(size_t len, int k, int rows, const uint8_t *coefs, const uint8_t *tables,
                            const uint8_t *const *in, uint8_t *const *out) {
  switch (rows) {
    case 1: dot_rows(len, k, 1, tables, coefs, in, out); break;
    case 2: dot_rows(len, k, 2, tables, coefs, in, out); break;
    case 3: dot_rows(len, k, 3, tables, coefs, in, out); break;
    case 4: dot_rows(len, k, 4, tables, coefs, in, out); break;
    case 5: dot_rows(len, k, 5, tables, coefs, in, out); break;
    case 6: dot_rows(len, k, 6, tables, coefs, in, out); break;
    case 7: dot_rows(len, k, 7, tables, coefs, in, out); break;
    default: dot_rows(len, k, 8, tables, coefs, in, out); break;
  }
}

const ec_kernel ec_kernel_avx2 = {"avx2", 32, ec_expand_nibbles, dot_avx2};
