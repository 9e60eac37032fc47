/* A systematic Reed-Solomon code with k data and m parity shards over
 * GF(2^8), generator as ISA-L's Cauchy matrix. The C API the N-API layer and
 * C harnesses call; every function works on caller-owned buffers in place. */
#ifndef TIERFS_EC_CODEC_H
#define TIERFS_EC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ec_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EC_MAX_SHARDS 255

enum ec_status {
  EC_OK = 0,
  EC_ERR_RANGE = -1,           /* k < 1, m < 0 or k + m > 255 */
  EC_ERR_TOO_FEW_SHARDS = -2,  /* fewer than k readable shards */
  EC_ERR_BAD_INDEX = -3,       /* a shard index out of range, repeated, or a target without a buffer */
  EC_ERR_NO_MEMORY = -4,
};

typedef struct ec_codec ec_codec;

/* kernel NULL picks the best available one. */
int ec_codec_create(int k, int m, const ec_kernel *kernel, ec_codec **out);
void ec_codec_destroy(ec_codec *codec);
const ec_kernel *ec_codec_kernel(const ec_codec *codec);
/* (k+m) x k generator, row-major. */
const uint8_t *ec_codec_generator(const ec_codec *codec);

/* parity[j] = row k+j of the generator applied to data, for every j < m. */
void ec_encode(const ec_codec *codec, size_t len, const uint8_t *const *data, uint8_t *const *parity);

/* Rebuilds shards[t] for each t in targets (data or parity) from the first k
 * readable shards. shards has k+m entries; a shard is readable unless it is
 * NULL, listed in lost, or a target. Every target must have a buffer. */
int ec_reconstruct(ec_codec *codec, size_t len, uint8_t *const *shards, const int *lost, int nlost,
                   const int *targets, int ntargets);

/* 1 if every parity shard matches the data shards, 0 if one does not, or an ec_status. */
int ec_verify(const ec_codec *codec, size_t len, const uint8_t *const *shards);

const char *ec_status_code(int status); /* "EC_TOO_FEW_SHARDS", ... */

#ifdef __cplusplus
}
#endif

#endif
