/* One kernel per instruction set, all with the same job: a matrix-vector
 * product over GF(2^8) applied bytewise along the shards,
 *
 *     out[r][x] = sum over i < k of coef[r][i] * in[i][x]    for x < len, r < rows,
 *
 * computing all rows in one pass over the inputs so that the inputs are read
 * once and the outputs are written once. Encoding (rows = parity rows of the
 * generator) and decoding (rows = rows of an inverted survivor matrix) are both
 * this product. Each kernel keeps its own form of the coefficients ("tables",
 * built once per plan by expand()), so the inner loop only loads them.
 *
 * Kernels are plain C, compiled with per-function target attributes, so the
 * addon builds and loads on any x86-64 CPU; ec_cpu decides which may run. */
#ifndef TIERFS_EC_KERNEL_H
#define TIERFS_EC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A kernel computes at most this many rows per pass; the driver splits larger row sets. */
#define EC_KERNEL_MAX_ROWS 8

typedef void ec_dot_fn(size_t len, int k, int rows, const uint8_t *coefs, const uint8_t *tables,
                       const uint8_t *const *in, uint8_t *const *out);

typedef struct ec_kernel {
  const char *name;
  /* bytes of table per coefficient; tables are rows x k of them, row-major */
  size_t table_bytes;
  void (*expand)(uint8_t coef, uint8_t *table);
  /* rows <= EC_KERNEL_MAX_ROWS; coefs are the raw rows x k coefficients (for tails) */
  ec_dot_fn *dot;
} ec_kernel;

extern const ec_kernel ec_kernel_gfni512;
extern const ec_kernel ec_kernel_gfni256;
extern const ec_kernel ec_kernel_avx2;
extern const ec_kernel ec_kernel_ssse3;
extern const ec_kernel ec_kernel_portable;

/* Scalar product over bytes [from, len) of each shard: the portable kernel's
 * core, and the tail of the vector kernels (fewer bytes than one vector). */
void ec_dot_scalar(size_t from, size_t len, int k, int rows, const uint8_t *coefs,
                   const uint8_t *const *in, uint8_t *const *out);

/* The split-nibble tables of the SSSE3 and AVX2 kernels: 16 products c*x for
 * x < 16, then 16 products c*(x << 4). */
void ec_expand_nibbles(uint8_t coef, uint8_t *table);

/* Runs kernel over any number of rows: up to EC_KERNEL_MAX_ROWS at a time,
 * in tiles of the shard length small enough that the inputs re-read by each
 * further group of rows come from cache. */
void ec_kernel_run(const ec_kernel *kernel, size_t len, int k, int rows, const uint8_t *coefs,
                   const uint8_t *tables, const uint8_t *const *in, uint8_t *const *out);

#ifdef __cplusplus
}
#endif

#endif
