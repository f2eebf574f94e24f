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

} // namespace narrow
} // namespace mla
