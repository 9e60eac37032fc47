/* Known answers from ISA-L: reads k data shards of len bytes (one after the
 * other) from stdin and writes the m parity shards ISA-L computes for them
 * with its Cauchy matrix, so the test can compare ours byte for byte.
 *
 *     cc -O2 isal_harness.c -o isal_harness -lisal
 *     isal_harness K M LEN < data > parity
 */
#include <isa-l/erasure_code.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s K M LEN < data > parity\n", argv[0]);
    return 2;
  }
  int k = atoi(argv[1]), m = atoi(argv[2]);
  long len = atol(argv[3]);
  if (k < 1 || m < 1 || k + m > 255 || len < 1) {
    fprintf(stderr, "bad K M LEN\n");
    return 2;
  }
  unsigned char *matrix = malloc((size_t)(k + m) * k);
  unsigned char *tables = malloc((size_t)32 * k * m);
  unsigned char *data = malloc((size_t)k * len), *parity = malloc((size_t)m * len);
  unsigned char *in[255], *out[255];
  if (!matrix || !tables || !data || !parity) return 1;
  if (fread(data, 1, (size_t)k * len, stdin) != (size_t)k * len) {
    fprintf(stderr, "short input\n");
    return 1;
  }
  for (int i = 0; i < k; i++) in[i] = data + (size_t)i * len;
  for (int j = 0; j < m; j++) out[j] = parity + (size_t)j * len;
  gf_gen_cauchy1_matrix(matrix, k + m, k);
  ec_init_tables(k, m, matrix + (size_t)k * k, tables);
  ec_encode_data((int)len, k, m, tables, in, out);
  return fwrite(parity, 1, (size_t)m * len, stdout) == (size_t)m * len ? 0 : 1;
}
