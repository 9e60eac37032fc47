/* The C side of scripts/bench/ec.ts: times ISA-L (Debian's libisal) and our
 * codec called straight from C, on the shapes, buffer layout and round rules
 * of the Node side. It serves one round at a time, so the script can
 * alternate rounds of every implementation and a load that comes and goes on
 * a shared machine hits all of them alike.
 *
 *     cc -O3 -I native/ec native/ec/bench/ec_bench.c native/ec/[a-z]*.c -lisal -lpthread
 *     ec_bench RAM_MIB      then, on stdin, lines:  IMPL K,M,SHARD,MODE,OP
 *
 * IMPL is "isal" or "tierfs-c:KERNEL"; MODE is warm (one stripe, in cache) or
 * ram (a walk over RAM_MIB of stripes); OP is encode or decode (rebuild data
 * shards 0..m-1 from the next k). Each line is answered with the GB/s of data
 * of one round: 20 ms on one stripe (warm) or one walk (ram). Not part of the
 * addon: binding.gyp compiles only the files directly in native/ec. */
#include <isa-l/erasure_code.h>
#include <stdint.h>
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
  ec_codec *codec;       /* tierfs-c */
  unsigned char *tables; /* isal: encode or decode tables */
} coder;

/* One operation on a stripe whose k+m shards are ptrs[0..k+m). */
static void run_once(const coder *c, const shape *s, unsigned char **ptrs) {
  int lost[255];
  if (c->codec && !s->decode) {
    ec_encode(c->codec, s->shard, (const uint8_t *const *)ptrs, ptrs + s->k);
  } else if (c->codec) {
    for (int i = 0; i < s->m; i++) lost[i] = i;
    ec_reconstruct(c->codec, s->shard, ptrs, lost, s->m, lost, s->m);
  } else if (!s->decode) {
    ec_encode_data((int)s->shard, s->k, s->m, c->tables, ptrs, ptrs + s->k);
  } else { /* survivors are shards m..m+k-1, outputs the lost data shards 0..m-1 */
    ec_encode_data((int)s->shard, s->k, s->m, c->tables, ptrs + s->m, ptrs);
  }
}

/* ISA-L's decode recipe: invert the survivors' rows of the generator, keep the rows of the lost shards. */
static unsigned char *isal_tables(const shape *s) {
  int k = s->k, m = s->m;
  unsigned char *gen = malloc((size_t)(k + m) * k), *inv = malloc((size_t)k * k);
  unsigned char *tables = malloc((size_t)32 * k * m);
  gf_gen_cauchy1_matrix(gen, k + m, k);
  if (!s->decode) {
    ec_init_tables(k, m, gen + (size_t)k * k, tables);
  } else {
    if (gf_invert_matrix(gen + (size_t)m * k, inv, k) != 0) abort(); /* rows m..m+k-1 */
    ec_init_tables(k, m, inv, tables); /* rows 0..m-1 of the inverse rebuild data 0..m-1 */
  }
  free(gen);
  free(inv);
  return tables;
}

/* Stripes in the layout of src/ec/alloc.ts: one slab, shards on cache lines,
 * each 64 bytes further into its page than the last. Kept while the shape
 * (all but the op) stays the same. */
static struct {
  int k, m, ram;
  size_t shard, stripes;
  unsigned char *slab, **ptrs;
} bufs;

static void prepare(const shape *s, size_t ram_bytes) {
  if (bufs.slab && bufs.k == s->k && bufs.m == s->m && bufs.shard == s->shard && bufs.ram == s->ram) return;
  free(bufs.slab);
  free(bufs.ptrs);
  size_t n = s->k + s->m, stride = (s->shard + 63) / 64 * 64 + 64;
  bufs.stripes = s->ram ? (ram_bytes + n * s->shard - 1) / (n * s->shard) : 1;
  bufs.slab = aligned_alloc(64, bufs.stripes * n * stride);
  bufs.ptrs = malloc(bufs.stripes * n * sizeof *bufs.ptrs);
  if (!bufs.slab || !bufs.ptrs) abort();
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < bufs.stripes * n * stride / 8; i++) ((uint64_t *)bufs.slab)[i] = x += 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < bufs.stripes * n; i++) bufs.ptrs[i] = bufs.slab + i * stride;
  bufs.k = s->k, bufs.m = s->m, bufs.shard = s->shard, bufs.ram = s->ram;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s RAM_MIB  (then lines IMPL K,M,SHARD,MODE,OP on stdin)\n", argv[0]);
    return 2;
  }
  size_t ram_bytes = (size_t)atol(argv[1]) << 20;
  char impl[64], mode[8], op[8];
  shape s;
  while (scanf("%63s %d,%d,%zu,%7[a-z],%7[a-z]", impl, &s.k, &s.m, &s.shard, mode, op) == 6) {
    s.ram = strcmp(mode, "ram") == 0;
    s.decode = strcmp(op, "decode") == 0;
    coder c = {NULL, NULL};
    if (strncmp(impl, "tierfs-c:", 9) == 0) {
      const ec_kernel *kernel = ec_kernel_by_name(impl + 9);
      if (!kernel || !ec_kernel_available(kernel) || ec_codec_create(s.k, s.m, kernel, &c.codec) != EC_OK) return 1;
    } else {
      c.tables = isal_tables(&s);
    }
    prepare(&s, ram_bytes);
    size_t n = s.k + s.m, ops = 0;
    double t = now(), elapsed;
    if (s.ram) {
      for (size_t i = 0; i < bufs.stripes; i++) run_once(&c, &s, bufs.ptrs + i * n);
      ops = bufs.stripes;
      elapsed = now() - t;
    } else {
      do run_once(&c, &s, bufs.ptrs), ops++;
      while ((elapsed = now() - t) < 0.02);
    }
    printf("%.3f\n", (double)s.k * s.shard * ops / elapsed / 1e9);
    fflush(stdout);
    free(c.tables);
    ec_codec_destroy(c.codec);
  }
  return 0;
}
