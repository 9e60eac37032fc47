#include "ec_cpu.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define EC_X86 1
#endif

const ec_kernel *const ec_kernels[EC_KERNEL_COUNT] = {
    &ec_kernel_gfni512, &ec_kernel_gfni256, &ec_kernel_avx2, &ec_kernel_ssse3, &ec_kernel_portable,
};

static int available[EC_KERNEL_COUNT];
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

#ifdef EC_X86
/* XCR0: which register states the OS saves on a context switch. A CPU may
 * support AVX-512 while the OS (or a hypervisor) leaves ZMM state off, and
 * then the instructions fault; CPUID alone cannot tell. */
static unsigned long long read_xcr0(void) {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}
#endif

static void detect(void) {
  available[EC_KERNEL_COUNT - 1] = 1; /* portable */
#ifdef EC_X86
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
  int ssse3 = (ecx >> 9) & 1;
  int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
  unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
  int ymm_state = (xcr0 & 0x6) == 0x6;            /* SSE + AVX */
  int zmm_state = ymm_state && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
  unsigned ebx7 = 0, ecx7 = 0;
  if (__get_cpuid_max(0, 0) >= 7) __cpuid_count(7, 0, eax, ebx7, ecx7, edx);
  int avx2 = avx && ymm_state && ((ebx7 >> 5) & 1);
  int avx512 = zmm_state && ((ebx7 >> 16) & 1) && ((ebx7 >> 30) & 1); /* F and BW */
  int gfni = (ecx7 >> 8) & 1;
  available[0] = avx512 && gfni;
  available[1] = avx2 && gfni;
  available[2] = avx2;
  available[3] = ssse3;
#endif
}

int ec_kernel_available(const ec_kernel *kernel) {
  pthread_once(&detect_once, detect);
  for (int i = 0; i < EC_KERNEL_COUNT; i++)
    if (ec_kernels[i] == kernel) return available[i];
  return 0;
}

const ec_kernel *ec_kernel_by_name(const char *name) {
  for (int i = 0; i < EC_KERNEL_COUNT; i++)
    if (strcmp(ec_kernels[i]->name, name) == 0) return ec_kernels[i];
  return NULL;
}

const ec_kernel *ec_kernel_best(void) {
  for (int i = 0; i < EC_KERNEL_COUNT; i++)
    if (ec_kernel_available(ec_kernels[i])) return ec_kernels[i];
  return &ec_kernel_portable;
}
