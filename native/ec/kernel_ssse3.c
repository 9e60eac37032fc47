/* SSSE3: the split-nibble method of kernel_avx2.c on 16-byte vectors, for
 * x86-64 CPUs without AVX2. Same 32-byte tables (lo, hi); same overlapping
 * vectors at the ragged ends as kernel_gfni256.c. */
#include <immintrin.h>

#include "ec_kernel.h"

#define TARGET __attribute__((target("ssse3")))
#define INLINE static inline __attribute__((always_inline))

INLINE TARGET __m128i table_half(const uint8_t *t) {
  return _mm_loadu_si128((const __m128i *)t);
}

/* vectors x 16 bytes at pos. */
INLINE TARGET void step(size_t pos, const int vectors, int k, const int rows, const uint8_t *tables,
                        const uint8_t *const *in, uint8_t *const *out) {
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  __m128i acc[EC_KERNEL_MAX_ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) acc[r][v] = _mm_setzero_si128();
  for (int i = 0; i < k; i++) {
    __m128i lo[2], hi[2];
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) {
      __m128i x = _mm_loadu_si128((const __m128i *)(in[i] + pos + 16 * v));
      lo[v] = _mm_and_si128(x, low_nibble);
      hi[v] = _mm_and_si128(_mm_srli_epi64(x, 4), low_nibble);
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
      const uint8_t *t = tables + ((size_t)r * k + i) * 32;
      __m128i tlo = table_half(t), thi = table_half(t + 16);
#pragma GCC unroll 2
      for (int v = 0; v < vectors; v++) {
        __m128i p = _mm_xor_si128(_mm_shuffle_epi8(tlo, lo[v]), _mm_shuffle_epi8(thi, hi[v]));
        acc[r][v] = _mm_xor_si128(acc[r][v], p);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vectors; v++) _mm_storeu_si128((__m128i *)(out[r] + pos + 16 * v), acc[r][v]);
}

INLINE TARGET void dot_rows(size_t len, int k, const int rows, const uint8_t *tables, const uint8_t *coefs,
                            const uint8_t *const *in, uint8_t *const *out) {
  if (len < 16) {
    ec_dot_scalar(0, len, k, rows, coefs, in, out);
    return;
  }
  const int vectors = rows <= 4 ? 2 : 1;
  step(0, 1, k, rows, tables, in, out);
  size_t pos = (size_t)(-(uintptr_t)in[0]) & 15;
  if (pos == 0) pos = 16;
  for (; pos + 16 * vectors <= len; pos += 16 * vectors) step(pos, vectors, k, rows, tables, in, out);
  if (pos + 16 <= len) {
    step(pos, 1, k, rows, tables, in, out);
    pos += 16;
  }
  if (pos < len) step(len - 16, 1, k, rows, tables, in, out);
}

TARGET static void dot_ssse3(size_t len, int k, int rows, const uint8_t *coefs, const uint8_t *tables,
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

const ec_kernel ec_kernel_ssse3 = {"ssse3", 32, ec_expand_nibbles, dot_ssse3};
