#include "gf256.h"

#include <pthread.h>

static uint8_t exp_table[512]; /* doubled so exp_table[log a + log b] needs no modulo */
static uint8_t log_table[256];
static uint8_t inv_table[256];
/* 64 KiB: the portable kernel looks each byte up here, which beats log/exp by far. */
static uint8_t mul_table[256][256];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
  unsigned x = 1;
  for (int i = 0; i < 255; i++) {
    exp_table[i] = (uint8_t)x;
    exp_table[i + 255] = (uint8_t)x;
    log_table[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= GF256_POLY;
  }
  exp_table[510] = exp_table[0];
  exp_table[511] = exp_table[1];
  for (int a = 0; a < 256; a++) {
    for (int b = 0; b < 256; b++) {
      mul_table[a][b] = (a == 0 || b == 0) ? 0 : exp_table[log_table[a] + log_table[b]];
    }
    inv_table[a] = a == 0 ? 0 : exp_table[255 - log_table[a]];
  }
}

void gf256_init(void) { pthread_once(&init_once, build_tables); }

uint8_t gf256_mul(uint8_t a, uint8_t b) { return mul_table[a][b]; }

uint8_t gf256_inv(uint8_t a) { return inv_table[a]; }

const uint8_t *gf256_mul_row(uint8_t c) { return mul_table[c]; }

uint64_t gf256_affine_matrix(uint8_t c) {
  uint64_t matrix = 0;
  for (int i = 0; i < 8; i++) {
    uint64_t row = 0;
    for (int j = 0; j < 8; j++) row |= (uint64_t)((mul_table[c][1 << j] >> i) & 1) << j;
    matrix |= row << (8 * (7 - i));
  }
  return matrix;
}
