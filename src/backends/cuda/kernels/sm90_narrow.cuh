// Pieces of the "keys on M" Hopper kernels (decode_sm90.cu over bf16/f16 caches, dense_fp8_sm90.cu over the V3.2 FP8
// cache): both compute S^T = K Q^T with the NR query rows on wgmma's N dimension, so they share the canonical
// operand layout of Q^T and P^T and its descriptor.
#pragma once
#include <stdint.h>

namespace mla {
namespace narrow {

// Element (n, k) of a K-major canonical operand with NR rows (no swizzle): 8-element core-matrix chunks of k,
// each chunk NR rows of 16 bytes. Core matrices adjacent in k are NR * 16 bytes apart (LBO), in n 128 (SBO).
template <int NR> __device__ __forceinline__ int canonOff(int n, int k) { return ((k >> 3) * NR + n) * 16 + (k & 7) * 2; }

// Shared-memory matrix descriptor (no swizzle): start address, LBO (next core matrix along k) = NR * 16 bytes,
// SBO (next 8 rows) = 128 bytes, each >> 4.
template <int NR> __device__ __forceinline__ uint64_t descOf(uint32_t addr) {
  const uint64_t lbo = NR * 16, sbo = 128;
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(lbo >> 4) << 16) | (static_cast<uint64_t>(sbo >> 4) << 32);
}

#ifdef MLA_RACECHECK_STRICT
// The racecheck verification build only (docs/notes/sanitizers.md): the largest of the NW consumer warpgroups' values c
// (each uniform over its warpgroup, below 2^21), learnt by votes on named barrier ID among N threads (bar.red.popc,
// which racecheck models: racecheck_probe.cu mode 10), 7 bits of one warpgroup's value a vote. Both kernels even their
// warpgroups' per-warpgroup barrier passes with it before each merge; a value exchanged through shared memory while the
// passes still differ was itself reported.
template <int NW, int ID, int N> __device__ __forceinline__ unsigned maxByVotes(unsigned c, int wg, int tid) {
  unsigned mx = 0;
#pragma unroll 1
  for (int w = 0; w < NW; ++w) {
    unsigned x = 0;
#pragma unroll 1
    for (int d = 0; d < 3; ++d) {
      unsigned r;
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %1, 0;\nbar.red.popc.u32 %0, %2, %3, p;\n}\n"
                   : "=r"(r) : "r"(static_cast<int>(wg == w && static_cast<unsigned>(tid) < ((c >> (7 * d)) & 127u))), "n"(ID), "n"(N) : "memory");
      x |= r << (7 * d);
    }
    mx = max(mx, x);
  }
  return mx;
}
#endif

} // namespace narrow
} // namespace mla
