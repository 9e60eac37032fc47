/* Matrices over GF(2^8), row-major, as the codec needs them: the systematic
 * Cauchy generator and the inverse of the survivors' rows. */
#ifndef TIERFS_EC_MATRIX_H
#define TIERFS_EC_MATRIX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* (k+m) x k generator: identity on top, then parity row i (k <= i < k+m) has
 * entries 1/(i ^ j). Byte for byte what ISA-L's gf_gen_cauchy1_matrix(a, k+m, k)
 * builds, so parity computed with it equals ISA-L's. */
void ec_cauchy_generator(uint8_t *a, int k, int m);

/* Gauss-Jordan inversion of the n x n matrix in (which is clobbered) into out.
 * Returns 0, or -1 if in is singular. */
int ec_matrix_invert(uint8_t *in, uint8_t *out, int n);

#ifdef __cplusplus
}
#endif

#endif
