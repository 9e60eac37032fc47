/* The C side of scripts/bench/ec.ts: times ISA-L (Debian's libisal) and our
 * codec called straight from C, on the same shapes, layout and timing rules
 * as the Node side, and prints one JSON line per measurement.
 *
 *     cc -O3 -I native/ec native/ec/bench/ec_bench.c native/ec/[a-z]*.c -lisal -lpthread
 *     ec_bench SECONDS RAM_MIB IMPL K,M,SHARD,MODE,OP ...
 *
 * IMPL is "isal" or "tierfs-c:KERNEL"; MODE is warm (one stripe, in cache) or
 * ram (a walk over RAM_MIB of stripes); OP is encode or decode (rebuild data
 * shards 0..m-1 from the next k shards). Not part of the addon: binding.gyp
 * compiles only the files directly in native/ec. */
#include <isa-l/erasure_code.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ec_codec.h"
#include "ec_cpu.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
  int k, m;
  size_t shard;
  int ram, decode;
} shape;

typedef struct {
  const char *impl;
  ec_codec *codec;      /* tierfs-c */
  unsigned char *tables; /* isal: encode or decode tables */
  int rows;
} coder;

/* One operation on a stripe whose k+m shards are ptrs[0..k+m). */
static void run_once(const coder *c, const shape *s, unsigned char **ptrs) {
  int targets[255];
  if (c->codec) {
    if (!s->decode) {
      ec_encode(c->codec, s->shard, (const uint8_t *const *)ptrs, ptrs + s->k);
    } else {
      for (int i = 0; i < s->m; i++) targets[i] = i;
      ec_reconstruct(c->codec, s->shard, ptrs, targets, s->m, targets, s->m);
    }
  } else if (!s->decode) {
    ec_encode_data((int)s->shard, s->k, s->m, c->tables, ptrs, ptrs + s->k);
  } else {
    /* survivors are shards m..m+k-1; outputs the lost data shards 0..m-1 */
    ec_encode_data((int)s->shard, s->k, s->m, c->tables, ptrs + s->m, ptrs);
  }
}

/* ISA-L's decode: invert the survivors' rows of the generator, keep the rows of the lost shards. */
static unsigned char *isal_tables(const shape *s) {
  int k = s->k, m = s->m;
  unsigned char *gen = malloc((size_t)(k + m) * k), *sub = malloc((size_t)k * k), *inv = malloc((size_t)k * k);
  unsigned char *tables = malloc((size_t)32 * k * m);
  gf_gen_cauchy1_matrix(gen, k + m, k);
  if (!s->decode) {
    ec_init_tables(k, m, gen + (size_t)k * k, tables);
  } else {
    memcpy(sub, gen + (size_t)m * k, (size_t)k * k); /* rows m..m+k-1 */
    if (gf_invert_matrix(sub, inv, k) != 0) abort();
    ec_init_tables(k, m, inv, tables); /* rows 0..m-1 of the inverse rebuild data 0..m-1 */
  }
  free(gen);
  free(sub);
  free(inv);
  return tables;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s SECONDS RAM_MIB IMPL K,M,SHARD,MODE,OP ...\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[1]);
  size_t ram_bytes = (size_t)atol(argv[2]) << 20;
  const char *impl = argv[3];
  for (int a = 4; a < argc; a++) {
    shape s;
    char mode[8], op[8];
    if (sscanf(argv[a], "%d,%d,%zu,%7[a-z],%7[a-z]", &s.k, &s.m, &s.shard, mode, op) != 5) return 2;
    s.ram = strcmp(mode, "ram") == 0;
    s.decode = strcmp(op, "decode") == 0;
    coder c = {impl, NULL, NULL, s.m};
    const char *kernel = "isal";
    if (strncmp(impl, "tierfs-c:", 9) == 0) {
      kernel = impl + 9;
      if (ec_codec_create(s.k, s.m, ec_kernel_by_name(kernel), &c.codec) != EC_OK) return 1;
    } else {
      c.tables = isal_tables(&s);
    }
    /* the layout of src/ec/alloc.ts: one slab, shards on cache lines, each 64 bytes further into its page */
    size_t stride = (s.shard + 63) / 64 * 64 + 64, n = s.k + s.m;
    size_t stripes = s.ram ? (ram_bytes + n * s.shard - 1) / (n * s.shard) : 1;
    unsigned char *slab = aligned_alloc(64, stripes * n * stride);
    if (!slab) return 1;
    for (size_t i = 0; i < stripes * n * stride; i++) slab[i] = (unsigned char)(i * 2654435761u >> 13);
    unsigned char **ptrs = malloc(stripes * n * sizeof *ptrs);
    for (size_t i = 0; i < stripes * n; i++) ptrs[i] = slab + i * stride;

    /* a round is 20 ms of one stripe (warm) or one walk over every stripe (ram); report the best round */
    size_t per_round = stripes;
    if (!s.ram) {
      double t = now();
      size_t it = 0;
      while (now() - t < 0.02) run_once(&c, &s, ptrs), it++;
      per_round = it;
    }
    double best = 1e30, start = now();
    for (int round = 0; round < 3 || now() - start < seconds; round++) {
      double t = now();
      for (size_t i = 0; i < per_round; i++) run_once(&c, &s, ptrs + (s.ram ? i * n : 0));
      t = now() - t;
      if (t < best) best = t;
    }
    double gbps = (double)s.k * s.shard * per_round / best / 1e9;
    printf("{\"impl\":\"%s\",\"kernel\":\"%s\",\"k\":%d,\"m\":%d,\"shard\":%zu,\"mode\":\"%s\",\"op\":\"%s\",\"gbps\":%.2f}\n",
           c.codec ? "tierfs-c" : "isal", kernel, s.k, s.m, s.shard, mode, op, gbps);
    fflush(stdout);
    free(ptrs);
    free(slab);
    free(c.tables);
    ec_codec_destroy(c.codec);
  }
  return 0;
}
