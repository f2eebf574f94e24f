// Token-sparse MLA decode over FlashMLA's FP8 caches (V3.2: 656 B/token; MODEL1: 584 B/token in blocks padded to
// a multiple of 576) or a bf16/f16 cache: correct for sm_80+, not yet fast (the naive rung of the ladder).
// One CTA of 4 warps per (head h, query j, request i); warp w takes the row's index entries w, w+4, ... (main
// top-k, then the extra top-k) with an online softmax; lanes split the dQk-column dot product and own 16 of the
// 512 output columns. e4m3 and UE8M0 are decoded from their bits. Roofline: every head re-reads its tokens, so
// this moves hQ x the bytes of a head-tiled kernel (FlashMLA's 64-head tiles); that kernel is the next rung.
#include "params.h"
#include "common.cuh"

namespace mla {

enum class Kind { V32, Model1, Half };

__device__ __forceinline__ float e4m3ToF(uint32_t b) {
  const uint32_t e = (b >> 3) & 15u, m = b & 7u;
  if (e == 15u && m == 7u) return __int_as_float(0x7fc00000);
  if (e == 0u) return ((b & 0x80u) ? -1.f : 1.f) * static_cast<float>(m) * 0.001953125f; // m * 2^-9
  return __uint_as_float(((b & 0x80u) << 24) | ((e + 120u) << 23) | (m << 20));
}

__device__ __forceinline__ float ue8m0ToF(uint32_t b) {
  if (b == 255u) return __int_as_float(0x7fc00000);
  if (b == 0u) return __uint_as_float(0x00400000u); // 2^-127, an f32 subnormal
  return __uint_as_float(b << 23);
}

__device__ __forceinline__ float bf16BitsToF(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

/** One token of a cache: dim d of its dequantized (or 16-bit) vector. */
template <Kind K, typename T>
struct Token {
  const unsigned char* nope; // FP8: e4m3 bytes; Half: the token's elements
  const unsigned char* rope; // FP8: bf16 RoPE
  const unsigned char* scales;

  __device__ __forceinline__ Token(const unsigned char* cache, int blockStride, int pageBlockSize, int phys) {
    const int blk = phys / pageBlockSize, slot = phys % pageBlockSize;
    if constexpr (K == Kind::V32) {
      nope = cache + static_cast<int64_t>(blk) * blockStride + static_cast<int64_t>(slot) * 656;
      rope = nope + 528;
      scales = nope + 512;
    } else if constexpr (K == Kind::Model1) {
      const unsigned char* base = cache + static_cast<int64_t>(blk) * blockStride;
      nope = base + static_cast<int64_t>(slot) * 576;
      rope = nope + 448;
      scales = base + static_cast<int64_t>(pageBlockSize) * 576 + slot * 8;
    } else {
      nope = cache; // Half: element offset applied by the caller through dim()
      rope = scales = nullptr;
      (void)blk; (void)slot;
    }
  }

  __device__ __forceinline__ float dim(int d, int64_t halfBase) const {
    if constexpr (K == Kind::V32) {
      if (d < kDV) return e4m3ToF(nope[d]) * reinterpret_cast<const float*>(scales)[d >> 7]; // the latent columns: e4m3
      return bf16BitsToF(reinterpret_cast<const uint16_t*>(rope)[d - kDV]);
    } else if constexpr (K == Kind::Model1) {
      if (d < 448) return e4m3ToF(nope[d]) * ue8m0ToF(scales[d >> 6]);
      return bf16BitsToF(reinterpret_cast<const uint16_t*>(rope)[d - 448]);
    } else {
      return Half<T>::toF(reinterpret_cast<const T*>(nope)[halfBase + d]);
    }
  }
};

template <Kind K, typename T, int DQK>
__device__ void sparseRow(const SparseParams& p) {
  using H = Half<T>;
  const int h = blockIdx.x, j = blockIdx.y, i = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  constexpr int QPL = (DQK + 31) / 32;
  const int64_t row = (static_cast<int64_t>(i) * p.sQ + j) * p.hQ + h;
  const T* q = static_cast<const T*>(p.q) + row * DQK;
  float qv[QPL];
#pragma unroll
  for (int c = 0; c < QPL; ++c) qv[c] = lane + 32 * c < DQK ? H::toF(q[lane + 32 * c]) : 0.f;

  const int mainLen = p.topkLength ? min(p.topkLength[i], p.topk) : p.topk;
  const int extraLen = p.extraIndices ? (p.extraTopkLength ? min(p.extraTopkLength[i], p.extraTopk) : p.extraTopk) : 0;
  const int total = mainLen + extraLen;
  const int64_t rowQ = static_cast<int64_t>(i) * p.sQ + j;

  float m = -INFINITY, l = 0.f, acc[kDV / 32];
#pragma unroll
  for (int c = 0; c < kDV / 32; ++c) acc[c] = 0.f;
  for (int e = warp; e < total; e += 4) {
    const bool isMain = e < mainLen;
    const int phys = isMain ? tokenOrInvalid(p.indices[rowQ * p.topk + e], p.numTokens)
                            : tokenOrInvalid(p.extraIndices[rowQ * p.extraTopk + (e - mainLen)], p.extraNumTokens);
    if (phys < 0) continue;
    const unsigned char* cache = isMain ? p.kCache : p.extraKCache;
    const int bs = isMain ? p.pageBlockSize : p.extraPageBlockSize;
    const int stride = isMain ? p.blockStride : p.extraBlockStride;
    const Token<K, T> tok(cache, stride, bs, phys);
    const int64_t halfBase = static_cast<int64_t>(phys) * DQK; // Half caches: [.., pageBlockSize, 1, DQK] contiguous
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < QPL; ++c) {
      const int d = lane + 32 * c;
      if (d < DQK) s += qv[c] * tok.dim(d, halfBase);
    }
    s = warpSum(s) * p.scaleLog2;
    const float mNew = fmaxf(m, s);
    const float alpha = exp2f(m - mNew), pr = exp2f(s - mNew);
    l = l * alpha + pr;
#pragma unroll
    for (int c = 0; c < kDV / 32; ++c) acc[c] = acc[c] * alpha + pr * tok.dim(lane + 32 * c, halfBase);
    m = mNew;
  }

  __shared__ float sm[4], sl[4], so[4][kDV];
  if (lane == 0) { sm[warp] = m; sl[warp] = l; }
#pragma unroll
  for (int c = 0; c < kDV / 32; ++c) so[warp][lane + 32 * c] = acc[c];
  __syncthreads();
  const float mAll = fmaxf(fmaxf(sm[0], sm[1]), fmaxf(sm[2], sm[3]));
  float w[4], lAll = 0.f;
#pragma unroll
  for (int v = 0; v < 4; ++v) { w[v] = mAll == -INFINITY ? 0.f : exp2f(sm[v] - mAll); lAll += w[v] * sl[v]; }
  const float lse = lAll > 0.f ? (mAll + log2f(lAll)) * 0.69314718055994531f : INFINITY;
  // The sink takes exp(sink) of the softmax mass: out *= 1 / (1 + exp(sink - lse)); lse is left as it is.
  float f = lAll > 0.f ? 1.f / lAll : 0.f;
  if (p.attnSink && lAll > 0.f) {
    const float sink = p.attnSink[h];
    f = sinkScale(f, sink, lse);
  }
  T* out = static_cast<T*>(p.out) + row * kDV;
  for (int c = threadIdx.x; c < kDV; c += 128) {
    float x = 0.f;
#pragma unroll
    for (int v = 0; v < 4; ++v) x += w[v] * so[v][c];
    out[c] = H::fromF(x * f);
  }
  if (threadIdx.x == 0) p.lse[(static_cast<int64_t>(i) * p.hQ + h) * p.sQ + j] = lse;
}

} // namespace mla

// Launch: grid (hQ, sQ, b), 128 threads, no dynamic shared memory (launch.ts sparseLaunch, sparseKernelName).
#define MLA_SPARSE(NAME, KIND, T, DQK) \
  extern "C" __global__ void __launch_bounds__(128) NAME(const SparseParams p) { mla::sparseRow<mla::Kind::KIND, T, DQK>(p); }
MLA_SPARSE(mla_sparse_v32_bf16_d576, V32, __nv_bfloat16, 576)
MLA_SPARSE(mla_sparse_v32_f16_d576, V32, __half, 576)
MLA_SPARSE(mla_sparse_model1_bf16_d512, Model1, __nv_bfloat16, 512)
MLA_SPARSE(mla_sparse_model1_f16_d512, Model1, __half, 512)
MLA_SPARSE(mla_sparse_bf16_bf16_d576, Half, __nv_bfloat16, 576)
MLA_SPARSE(mla_sparse_bf16_bf16_d512, Half, __nv_bfloat16, 512)
MLA_SPARSE(mla_sparse_f16_f16_d576, Half, __half, 576)
MLA_SPARSE(mla_sparse_f16_f16_d512, Half, __half, 512)
