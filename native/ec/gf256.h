/* GF(2^8) arithmetic with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D),
 * the field ISA-L and most storage erasure codes use, so that our parity is
 * interchangeable with theirs. Scalar only: the vector kernels get their
 * constants from gf256_mul at plan time and never call into this file. */
#ifndef TIERFS_EC_GF256_H
#define TIERFS_EC_GF256_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GF256_POLY 0x11D

/* Builds the tables once; safe to call from several threads (pthread_once). */
void gf256_init(void);

uint8_t gf256_mul(uint8_t a, uint8_t b);
/* Multiplicative inverse; gf256_inv(0) is 0 (callers never invert 0). */
uint8_t gf256_inv(uint8_t a);
/* Row c of the full product table: gf256_mul_row(c)[x] == c * x. */
const uint8_t *gf256_mul_row(uint8_t c);
/* Multiplication by c as the 8x8 bit matrix that GF2P8AFFINEQB applies: byte
 * 7-i of the result holds row i, whose bit j is bit i of c * 2^j. */
uint64_t gf256_affine_matrix(uint8_t c);

#ifdef __cplusplus
}
#endif

#endif
