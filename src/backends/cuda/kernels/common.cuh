// Small device helpers shared by the kernels: the two 16-bit types, cp.async, ldmatrix and the m16n8k16 MMA.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include "params.h" // kDQk, kDV, kMeta*: generated from src/core/constants.ts

namespace mla {

/** A token id read from a device index tensor, or -1 where it is not one of the cache's numTokens tokens (negative
    ids included): mla_sparse_bound and sparse.cu keep the sparse kernels inside the caches, whatever the caller's
    indices hold. */
__device__ __forceinline__ int tokenOrInvalid(int id, int numTokens) {
  return static_cast<unsigned>(id) < static_cast<unsigned>(numTokens) ? id : -1;
}

template <typename T> struct Half;
template <> struct Half<__nv_bfloat16> {
  using T2 = __nv_bfloat162;
  static __device__ __forceinline__ T2 pack(float a, float b) { return __floats2bfloat162_rn(a, b); }
  static __device__ __forceinline__ float toF(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __device__ __forceinline__ __nv_bfloat16 fromF(float x) { return __float2bfloat16_rn(x); }
  // D = A * B + C, A 16x16 row-major, B 16x8 column-major, f32 accumulators.
  static __device__ __forceinline__ void mma(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};
template <> struct Half<__half> {
  using T2 = __half2;
  static __device__ __forceinline__ T2 pack(float a, float b) { return __floats2half2_rn(a, b); }
  static __device__ __forceinline__ float toF(__half x) { return __half2float(x); }
  static __device__ __forceinline__ __half fromF(float x) { return __float2half_rn(x); }
  static __device__ __forceinline__ void mma(float* c, const uint32_t* a, const uint32_t* b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
};

__device__ __forceinline__ uint32_t smemAddr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// 16 bytes global -> shared without a register round trip; srcBytes 0 writes zeros (masked rows never read memory).
__device__ __forceinline__ void cpAsync16(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cpAsyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrixX4(uint32_t* r, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smemAddr(p)));
}
__device__ __forceinline__ void ldmatrixX2(uint32_t* r, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(smemAddr(p)));
}
__device__ __forceinline__ void ldmatrixX4T(uint32_t* r, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smemAddr(p)));
}

__device__ __forceinline__ float quadMax(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
// The split merges' maximum of the pieces' lse: max.NaN.f32 (sm_80+) is NaN where either operand is, where fmaxf drops a
// NaN operand. A piece whose lse is NaN (it read a NaN key) then makes the merged row NaN (out and lse) also where every
// other piece of the request saw no key (lse -inf), which with fmaxf merged as "no key": out 0, lse +inf (session 55,
// the GPU fuzz: a sparse request split into its main and its extra tile, query 0's extra piece without a key).
__device__ __forceinline__ float fmaxNaN(float a, float b) {
  float d;
  asm("max.NaN.f32 %0, %1, %2;\n" : "=f"(d) : "f"(a), "f"(b));
  return d;
}
__device__ __forceinline__ float warpMaxNaN(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxNaN(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warpSum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

/**
 * One 16-column k-step of S = Q K^T in the mma.sync kernels: a warp's 16 query rows (A from `qRow`) against NT
 * 8-key tiles of the key rows in `kt` (row stride STRIDE elements) from `keyBase`, accumulated into `acc`.
 */
template <typename T, int NT, int STRIDE>
__device__ __forceinline__ void qkStep(float (&acc)[NT][4], const T* qRow, const T* kt, int keyBase, int kk, int lane) {
  uint32_t a[4];
  ldmatrixX4(a, qRow + kk * 16);
#pragma unroll
  for (int n = 0; n + 1 < NT; n += 2) {
    uint32_t b[4];
    ldmatrixX4(b, kt + (keyBase + n * 8 + lane % 8 + (lane / 16) * 8) * STRIDE + kk * 16 + ((lane / 8) % 2) * 8);
    Half<T>::mma(acc[n], a, b);
    Half<T>::mma(acc[n + 1], a, b + 2);
  }
  if constexpr (NT % 2 == 1) {
    uint32_t b[2];
    ldmatrixX2(b, kt + (keyBase + (NT - 1) * 8 + lane % 8) * STRIDE + kk * 16 + ((lane / 8) % 2) * 8);
    Half<T>::mma(acc[NT - 1], a, b);
  }
}

/**
 * The middle of a tile's online softmax in the mma.sync kernels: the tile's maxima of this thread's two rows
 * (`tMax`, already reduced over the quad) merged over the WN warps sharing a row through `rowMax` ([WN][BM] floats
 * of shared memory; its __syncthreads only when WN > 1), then the running maxima `mRow` moved on, with the base
 * the exponentials subtract (0 for a row with no key yet, so every exp2 is exp2(-inf) = 0) and the rescale
 * factor `alpha` of what was accumulated before.
 */
template <int WN, int BM>
__device__ __forceinline__ void mergeTileMax(float (&tMax)[2], float* rowMax, int nw, const int (&rLoc)[2], int lane,
                                             float (&mRow)[2], float (&base)[2], float (&alpha)[2]) {
  if constexpr (WN > 1) {
    if (lane % 4 == 0) { rowMax[nw * BM + rLoc[0]] = tMax[0]; rowMax[nw * BM + rLoc[1]] = tMax[1]; }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float x = rowMax[rLoc[i]];
#pragma unroll
      for (int w = 1; w < WN; ++w) x = fmaxf(x, rowMax[w * BM + rLoc[i]]);
      tMax[i] = x;
    }
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const float mNew = fmaxf(mRow[i], tMax[i]);
    base[i] = mNew == -INFINITY ? 0.f : mNew;
    alpha[i] = exp2f(mRow[i] - base[i]);
    mRow[i] = mNew;
  }
}

/**
 * The end of a tile's online softmax in the mma.sync kernels (a warp holds rows rLoc[0] and rLoc[1] of a BM-row
 * block, WN warps share a row across the column split): reduce this thread's partial row sums of the tile over its
 * quad and, through `rowSum` ([WN][BM] floats of shared memory), over the WN warps; fold them into the running sums
 * `lRow` and rescale the output fragments by `alpha`. Holds the tile's __syncthreads, which also publishes the P
 * tile the caller wrote before it.
 */
template <int WN, int BM, int NT_O>
__device__ __forceinline__ void finishTileSums(float (&tSum)[2], float* rowSum, int nw, const int (&rLoc)[2], int lane,
                                               const float (&alpha)[2], float (&lRow)[2], float (&o)[NT_O][4]) {
#pragma unroll
  for (int i = 0; i < 2; ++i) tSum[i] = quadSum(tSum[i]);
  if constexpr (WN > 1) {
    if (lane % 4 == 0) { rowSum[nw * BM + rLoc[0]] = tSum[0]; rowSum[nw * BM + rLoc[1]] = tSum[1]; }
  }
  __syncthreads(); // P and the row sums are complete
  if constexpr (WN > 1) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float x = 0.f;
#pragma unroll
      for (int w = 0; w < WN; ++w) x += rowSum[w * BM + rLoc[i]];
      tSum[i] = x;
    }
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) lRow[i] = lRow[i] * alpha[i] + tSum[i];
#pragma unroll
  for (int n = 0; n < NT_O; ++n) {
    o[n][0] *= alpha[0]; o[n][1] *= alpha[0];
    o[n][2] *= alpha[1]; o[n][3] *= alpha[1];
  }
}

/** Where request `batch`'s queries start and how many it has. */
__device__ __forceinline__ void queryRange(const MlaParams& p, int batch, int& qStart, int& qLen) {
  if (p.qIndptr) { qStart = p.qIndptr[batch]; qLen = p.qIndptr[batch + 1] - qStart; }
  else { qStart = batch * p.sQ; qLen = p.sQ; }
}

/** Keys query j of a request with qLen queries sees. */
__device__ __forceinline__ int visibleKeys(const MlaParams& p, int seqlen, int qLen, int j) {
  return p.causal ? max(0, seqlen - qLen + j + 1) : seqlen;
}

/** Element offset of key t's row (KV head g) in kCache; the page size 64 case avoids the division. */
__device__ __forceinline__ int64_t keyRow(const MlaParams& p, int batch, int t, int g) {
  const int page = p.pageBlockSize == 64 ? (t >> 6) : t / p.pageBlockSize;
  const int inPage = t - page * p.pageBlockSize;
  const int64_t blk = p.blockTable[static_cast<int64_t>(batch) * p.maxBlocksPerSeq + page];
  return ((blk * p.pageBlockSize + inPage) * p.hKv + g) * kDQk;
}

// 2^x: exp2f, or with FTZ the flush-to-zero MUFU alone. The kernels build without -ftz, so ptxas expands exp2f's
// ex2.approx.f32 into FSETP (x < -126), two predicated FMULs (the subnormal results) and MUFU.EX2; ex2.approx.ftz.f32
// is the MUFU alone and returns the same bits for x >= -126, +0 below (and for -inf). The wide dense and the sparse
// Hopper kernels select it with a build bit and ship it (session 13); the narrow kernel's, the combine's and the dense
// FP8 kernel's bits were measured not better and removed in session 14: they use exp2f.
template <bool FTZ>
__device__ __forceinline__ float exp2Sel(float x) {
  if constexpr (FTZ) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
    return r;
  } else {
    return exp2f(x);
  }
}

// The attention sink on an output factor f (1 / l, or 1 after a combine): f / (1 + e^(sink - lse)); +inf takes
// everything (0), -inf nothing (f). Where sink - lse > 80, f * e^-(sink - lse) (the same value to f32's precision):
// e^d would overflow past 88.7, and the tiny factor must still reach the subnormal range rather than stop at e^-80
// (a clamp there left rows 10^20 times too large: session 13's sparse suite, seed 80196, softmaxScale 16).
__device__ __forceinline__ float sinkScale(float f, float sink, float lse) {
  if (sink == INFINITY) return 0.f;
  if (sink == -INFINITY) return f;
  const float d = sink - lse;
  return d > 80.f ? f * expf(-d) : f / (1.f + expf(d));
}

} // namespace mla
