// CPU feature check for the native kernel, compiled without ISA flags so it runs on any CPU of its architecture (and
// returns 0 there when the features are missing, instead of faulting on the first vector instruction).
#include <stdint.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
// Linux's arm64 hwcap bits (arch/arm64/include/uapi/asm/hwcap.h), for C libraries whose headers predate them.
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1UL << 14)
#endif
#endif

/**
 * The bits depend on the architecture the library was built for.
 * x86-64 (cpuid through gcc's __builtin_cpu_supports): bit 0: AVX2 + FMA + F16C (what decode_avx2.c needs). Bit 1:
 * AVX-512F. Bit 2: AVX512_BF16. Bit 3: AVX-512 BW + VL + DQ. decode_avx512.c needs bits 0, 1 and 3; its BF16_DOT
 * build bit 2 as well. gcc's checks include the OS's (XGETBV): a kernel that does not save the ZMM registers reports
 * no AVX-512.
 * arm64 Linux (the kernel's hwcaps, getauxval): bit 0: Advanced SIMD (decode_neon.c). Bit 1: FEAT_BF16 (BFDOT; the
 * BF16_DOT build of decode_neon.c needs bits 0 and 1).
 */
int32_t flashmla_cpu_features(void) {
  int32_t f = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) f |= 1;
  if (__builtin_cpu_supports("avx512f")) f |= 2;
  if (__builtin_cpu_supports("avx512bf16")) f |= 4;
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) f |= 8;
#elif defined(__aarch64__) && defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  if (hw & HWCAP_ASIMD) f |= 1;
  if (hw2 & HWCAP2_BF16) f |= 2;
#endif
  return f;
}

/**
 * The parameter layout this library was built for (params.h FLASHMLA_CPU_ABI: the dense block's length and the
 * version of the entry points), so a stale build is refused.
 */
#include "params.h"
int32_t flashmla_cpu_abi(void) { return FLASHMLA_CPU_ABI; }
