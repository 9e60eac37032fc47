#include "ec_kernel.h"

/* Target size of the inputs' slice that each further group of rows re-reads:
 * half of a 1 MiB L2, leaving room for the outputs and the tables. */
#define TILE_INPUT_BYTES (512 * 1024)

void ec_kernel_run(const ec_kernel *kernel, size_t len, int k, int rows, const uint8_t *coefs,
                   const uint8_t *tables, const uint8_t *const *in, uint8_t *const *out) {
  if (rows <= EC_KERNEL_MAX_ROWS) {
    if (rows > 0 && len > 0) kernel->dot(len, k, rows, coefs, tables, in, out);
    return;
  }
  size_t tile = TILE_INPUT_BYTES / (size_t)k;
  tile = tile < 1024 ? 1024 : tile & ~(size_t)63; /* whole cache lines keep vector alignment */
  const uint8_t *in_tile[256];
  uint8_t *out_tile[256];
  for (size_t off = 0; off < len; off += tile) {
    size_t n = len - off < tile ? len - off : tile;
    for (int i = 0; i < k; i++) in_tile[i] = in[i] + off;
    for (int r = 0; r < rows; r++) out_tile[r] = out[r] + off;
    for (int r = 0; r < rows; r += EC_KERNEL_MAX_ROWS) {
      int group = rows - r < EC_KERNEL_MAX_ROWS ? rows - r : EC_KERNEL_MAX_ROWS;
      kernel->dot(n, k, group, coefs + (size_t)r * k, tables + (size_t)r * k * kernel->table_bytes,
                  in_tile, out_tile + r);
    }
  }
}
