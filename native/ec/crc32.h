#ifndef TIERFS_CRC32_H
#define TIERFS_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32 as zlib's crc32() computes it (the IEEE polynomial, reflected, inverted
 * before and after), so values chain with it: crc = tierfs_crc32(crc, next, len),
 * starting from 0. Carry-less multiplication where the CPU has it, zlib otherwise. */
uint32_t tierfs_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* "pclmul" or "zlib": the implementation tierfs_crc32 uses on this CPU. */
const char *tierfs_crc32_kernel(void);

#ifdef __cplusplus
}
#endif

#endif
