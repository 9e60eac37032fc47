/* CRC-32 (zlib's) folded with carry-less multiplication.
 *
 * zlib computes CRC-32 a byte or a few at a time from tables: about 2.3 GB/s here, and
 * every byte a cold read fetches, a move writes or a cached cell serves is checked,
 * so a 256 MiB first read spent 0.15 s of the main thread's CPU in it. Folding with
 * PCLMULQDQ runs several times faster.
 *
 * The method: a CRC is the message polynomial M(x) times x^32 modulo P(x). Replacing a
 * 128-bit block A that lies D bits ahead of block B by (A * x^D mod P), added into B,
 * leaves M(x) mod P unchanged, so the CRC of the folded message is the CRC of the
 * whole. Four blocks are folded over the next 64 bytes at a time, then into one, then
 * one block at a time; the last 16 bytes left (with the bytes after them) go through
 * zlib, whose tables finish the reduction.
 *
 * Bits are reflected, as in zlib: bit 0 of byte 0 is the highest power of x. A
 * register holds block X = Q0 * x^64 + Q1 with Q0 in its low 64 bits. Carry-less
 * multiplication of two reflected 64-bit values yields their product times x (the
 * result's bit k is the coefficient of x^(126-k)), so each constant is taken one
 * power of x short: X * x^D = Q0 * x^(D+64) + Q1 * x^D is folded with
 * x^(D+63) mod P for Q0 and x^(D-1) mod P for Q1. The constants are computed at load,
 * from P, rather than written out. */
#include "crc32.h"

#include <pthread.h>
#include <string.h>
#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static uint32_t crc32_zlib(uint32_t crc, const uint8_t *data, size_t len) {
  /* zlib takes a length of uInt: feed it in pieces a uInt holds */
  while (len > 0) {
    size_t piece = len > (1u << 30) ? (1u << 30) : len;
    crc = (uint32_t)crc32(crc, data, (uInt)piece);
    data += piece;
    len -= piece;
  }
  return crc;
}

#ifdef CRC32_X86

/* P(x) without its x^32 term, bit i the coefficient of x^i */
#define CRC32_POLY 0x04C11DB7u

/* x^n mod P, bit i the coefficient of x^i */
static uint32_t xpow_mod(unsigned n) {
  uint32_t r = 1;
  while (n--) r = (r & 0x80000000u) ? (r << 1) ^ CRC32_POLY : r << 1;
  return r;
}

/* A polynomial of degree < 32 as the 64-bit reflected operand of a multiplication:
 * the coefficient of x^i at bit 63 - i. */
static uint64_t reflected_operand(uint32_t poly) {
  uint64_t out = 0;
  for (int i = 0; i < 32; i++)
    if (poly & (1u << i)) out |= 1ull << (63 - i);
  return out;
}

static uint64_t fold512_q0, fold512_q1, fold128_q0, fold128_q1;
static int have_pclmul;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void) {
  fold512_q0 = reflected_operand(xpow_mod(512 + 63));
  fold512_q1 = reflected_operand(xpow_mod(512 - 1));
  fold128_q0 = reflected_operand(xpow_mod(128 + 63));
  fold128_q1 = reflected_operand(xpow_mod(128 - 1));
  unsigned eax, ebx, ecx, edx;
  have_pclmul = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && ((ecx >> 1) & 1) && ((ecx >> 19) & 1); /* PCLMULQDQ, SSE4.1 */
}

#define CRC32_TARGET __attribute__((target("pclmul,sse4.1")))

/* x moved D bits on (k holds D's two constants), ready to be added to the block there */
static inline CRC32_TARGET __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

static inline CRC32_TARGET __m128i load(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }

/* len >= 64 */
static CRC32_TARGET uint32_t crc32_pclmul(uint32_t crc, const uint8_t *p, size_t len) {
  const __m128i k512 = _mm_set_epi64x((long long)fold512_q1, (long long)fold512_q0);
  const __m128i k128 = _mm_set_epi64x((long long)fold128_q1, (long long)fold128_q0);
  /* a CRC chained from `crc` is that of the message with ~crc added to its first 4 bytes */
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128((int)~crc));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  len -= 64;
  for (; len >= 64; p += 64, len -= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), load(p));
    x1 = _mm_xor_si128(fold(x1, k512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), load(p + 48));
  }
  x1 = _mm_xor_si128(fold(x0, k128), x1);
  x2 = _mm_xor_si128(fold(x1, k128), x2);
  x3 = _mm_xor_si128(fold(x2, k128), x3);
  for (; len >= 16; p += 16, len -= 16) x3 = _mm_xor_si128(fold(x3, k128), load(p));
  uint8_t last[16];
  _mm_storeu_si128((__m128i *)last, x3);
  /* the folded block stands for everything so far, with no initial value of its own:
   * zlib starting from ~0 starts from a zero register */
  return crc32_zlib(crc32_zlib(0xFFFFFFFFu, last, sizeof last), p, len);
}

#endif

uint32_t tierfs_crc32(uint32_t crc, const uint8_t *data, size_t len) {
#ifdef CRC32_X86
  pthread_once(&init_once, init);
  if (have_pclmul && len >= 64) return crc32_pclmul(crc, data, len);
#endif
  return crc32_zlib(crc, data, len);
}

const char *tierfs_crc32_kernel(void) {
#ifdef CRC32_X86
  pthread_once(&init_once, init);
  if (have_pclmul) return "pclmul";
#endif
  return "zlib";
}
