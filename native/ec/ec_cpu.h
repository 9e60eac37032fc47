/* Which kernels this CPU and OS can run, decided once from CPUID and XGETBV. */
#ifndef TIERFS_EC_CPU_H
#define TIERFS_EC_CPU_H

#include "ec_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EC_KERNEL_COUNT 5

/* Every kernel compiled in, fastest first: gfni512, gfni256, avx2, ssse3, portable. */
extern const ec_kernel *const ec_kernels[EC_KERNEL_COUNT];

int ec_kernel_available(const ec_kernel *kernel);
/* NULL for an unknown name. */
const ec_kernel *ec_kernel_by_name(const char *name);
/* The first available kernel of ec_kernels. */
const ec_kernel *ec_kernel_best(void);

#ifdef __cplusplus
}
#endif

#endif
