// CPU feature check for the native kernel, compiled without -mavx2 so it runs on any x86-64 (and returns 0 there
// when the features are missing, instead of faulting on the first vector instruction).
#include <stdint.h>

/**
 * Bit 0: AVX2 + FMA + F16C (what decode_avx2.c needs). Bit 1: AVX-512F. Bit 2: AVX512_BF16. Bit 3: AVX-512 BW + VL
 * + DQ. decode_avx512.c needs bits 0, 1 and 3; its BF16_DOT build bit 2 as well. gcc's checks include the OS's
 * (XGETBV): a kernel that does not save the ZMM registers reports no AVX-512.
 */
int32_t flashmla_cpu_features(void) {
  int32_t f = 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) f |= 1;
  if (__builtin_cpu_supports("avx512f")) f |= 2;
  if (__builtin_cpu_supports("avx512bf16")) f |= 4;
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) f |= 8;
#endif
  return f;
}

/**
 * The parameter layout this library was built for (params.h FLASHMLA_CPU_ABI: the dense block's length and the
 * version of the entry points), so a stale build is refused.
 */
#include "params.h"
int32_t flashmla_cpu_abi(void) { return FLASHMLA_CPU_ABI; }
