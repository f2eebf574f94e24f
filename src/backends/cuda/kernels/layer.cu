// MlaAttention's decode step on the device (src/backends/cuda/layer.ts drives it): the projections as GEMMs,
// RMSNorm, RoPE/YaRN, the paged-cache append and dtype conversions, so a step makes no host round trip until its
// output is read. Two GEMMs, y[z] = x[z] · w[z]ᵀ with strides and a batch index (blockIdx.z: one product per
// head for the absorbed W_UK / W_UV, one launch for all heads):
//   mla_gemm_bf16: mma.sync m16n8k16 bf16 -> f32, ldmatrix from padded shared tiles, a 4-stage cp.async ring.
//     64 x 64 tile of y a CTA, 4 warps of 32 x 32, k in slices of 32. A decode step's m is the batch (<= 64
//     typically) and the weights dominate the bytes: the ring keeps 3 weight slices in flight per CTA.
//   mla_gemm_f32: SIMT f32 FMA (the layer's f32 path; the transformers cases are checked at cosine 1e-5 on it).
//   mla_gemm_f32_part + mla_gemm_reduce: the same f32 GEMM split over k (split-K) for skinny calls with a long k,
//     which leave most SMs idle otherwise; layer.ts chooses when (cudaLayerGemmSplitK).
// Element types: 0 f32, 1 bf16, 2 f16 (layer-params.ts elemCode).
#include "params.h"
#include "common.cuh"

using namespace mla;

namespace {

__device__ __forceinline__ void storeElem(void* y, long long i, float v, int type) {
  if (type == 0) static_cast<float*>(y)[i] = v;
  else if (type == 1) static_cast<__nv_bfloat16*>(y)[i] = __float2bfloat16_rn(v);
  else static_cast<__half*>(y)[i] = __float2half_rn(v);
}
__device__ __forceinline__ float loadElem(const void* x, long long i, int type) {
  if (type == 0) return static_cast<const float*>(x)[i];
  if (type == 1) return __bfloat162float(static_cast<const __nv_bfloat16*>(x)[i]);
  return __half2float(static_cast<const __half*>(x)[i]);
}

/** Sum over the CTA (blockDim.x a multiple of 32, at most 1024); every thread gets the total. */
__device__ __forceinline__ float blockSum(float v) {
  __shared__ float part[32];
  v = warpSum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
  __syncthreads(); // part[] may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  float s = lane < nw ? part[lane] : 0.f;
  return warpSum(s);
}

/** RoPE of one 64-wide (rope-wide) vector: pair i -> outputs i and i + half (transformers' rotate_half order). */
__device__ __forceinline__ void ropePair(const float* src, int i, int half, int interleave, int pos, const float* invFreq, float af, float& o0, float& o1) {
  const float a = interleave ? src[2 * i] : src[i];
  const float b = interleave ? src[2 * i + 1] : src[i + half];
  const float ang = static_cast<float>(pos) * invFreq[i]; // transformers: position * inv_freq in f32
  float s, c;
  sincosf(ang, &s, &c);
  c *= af;
  s *= af;
  o0 = a * c - b * s;
  o1 = b * c + a * s;
}

constexpr int kBM = 64, kBN = 64, kBK = 32, kStages = 4, kLd = kBK + 8; // +8: ldmatrix rows hit distinct banks

/**
 * The bf16 GEMM's tile loop, shared by mla_gemm_bf16 (k range [0, k)) and mla_gemm_bf16_part (one range of a split):
 * 128 threads, 4 warps of 32 x 32 over the 64 x 64 tile of y at (row0, col0), acc[i][j] the m16n8 fragment of warp
 * rows wm + 16 i and columns wn + 8 j (gemmBf16Store reads it back). k in slices of 32 from kBegin through a
 * 4-stage cp.async ring: slice t + 3 is copied while slice t is multiplied. kBegin is a multiple of 32 (a split's
 * chunk is), kEnd a multiple of 8 (k is, or kBegin + chunk): a 16-byte copy of 8 k-columns is all in or all out.
 */
__device__ __forceinline__ void gemmBf16Tile(const GemmParams& p, const __nv_bfloat16* x, const __nv_bfloat16* w, int row0, int col0,
                                             int kBegin, int kEnd, float (&acc)[2][4][4]) {
  __shared__ __align__(16) __nv_bfloat16 sx[kStages][kBM][kLd];
  __shared__ __align__(16) __nv_bfloat16 sw[kStages][kBN][kLd];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  const int nk = (kEnd - kBegin + kBK - 1) / kBK;

  // A slice: 64 rows x 4 chunks of 8 for x and for w; each thread copies 2 + 2 chunks. Rows past m / n and
  // chunks past kEnd are zero-filled.
  auto load = [&](int stage, int kt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int chunk = tid + c * 128, r = chunk / 4, kc = (chunk % 4) * 8, kk = kBegin + kt * kBK + kc;
      const bool kOk = kk < kEnd;
      const bool xOk = kOk && row0 + r < p.m, wOk = kOk && col0 + r < p.n;
      cpAsync16(&sx[stage][r][kc], xOk ? x + static_cast<long long>(row0 + r) * p.xStride + kk : x, xOk ? 16 : 0);
      cpAsync16(&sw[stage][r][kc], wOk ? w + static_cast<long long>(col0 + r) * p.wStride + kk : w, wOk ? 16 : 0);
    }
  };

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < nk) load(s, s);
    cpAsyncCommit();
  }
  for (int kt = 0; kt < nk; ++kt) {
    cpAsyncWait<kStages - 2>(); // slice kt has landed (this thread's copies) ...
    __syncthreads();            // ... everyone's, and slice kt - 1's slot is free: every warp is past it
    const int next = kt + kStages - 1;
    if (next < nk) load(next % kStages, next);
    cpAsyncCommit(); // an empty group past the end keeps the wait count right
    const int st = kt % kStages;
#pragma unroll
    for (int ks = 0; ks < kBK; ks += 16) {
      uint32_t a[2][4], b[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i) ldmatrixX4(a[i], &sx[st][wm + i * 16 + (lane & 15)][ks + (lane >> 4) * 8]);
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        // Matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15): b0/b1 of two n8 tiles.
        uint32_t r[4];
        ldmatrixX4(r, &sw[st][wn + j * 16 + (lane >> 4) * 8 + (lane & 7)][ks + ((lane >> 3) & 1) * 8]);
        b[2 * j][0] = r[0];
        b[2 * j][1] = r[1];
        b[2 * j + 1][0] = r[2];
        b[2 * j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) Half<__nv_bfloat16>::mma(acc[i][j], a[i], b[j]);
    }
  }
  cpAsyncWait<0>();
}

/**
 * Hands each pair of adjacent outputs a thread holds after gemmBf16Tile to put(r, c, v0, v1): y[r][c] = v0 and
 * y[r][c + 1] = v1, r < m and c < n (c is even; c + 1 may be n). The m16n8 accumulator layout: lane = 4 g + t holds
 * rows g and g + 8, columns 2 t and 2 t + 1 of each fragment.
 */
template <typename Put>
__device__ __forceinline__ void gemmBf16Store(const GemmParams& p, int row0, int col0, const float (&acc)[2][4][4], Put put) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + wm + i * 16 + g + h * 8;
      if (r >= p.m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int c = col0 + wn + j * 8 + 2 * t;
        if (c < p.n) put(r, c, acc[i][j][h * 2], acc[i][j][h * 2 + 1]);
      }
    }
}
} // namespace

// Launch: grid (ceil(n / 64), ceil(m / 64), batch), 128 threads (the tile loop: gemmBf16Tile). Needs k, the strides
// and the batch strides multiples of 8 and x, w 16-byte aligned (layer.ts checks): each cp.async moves 8 elements.
extern "C" __global__ void __launch_bounds__(128) mla_gemm_bf16(const GemmParams p) {
  const int z = blockIdx.z;
  const __nv_bfloat16* x = static_cast<const __nv_bfloat16*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const __nv_bfloat16* w = static_cast<const __nv_bfloat16*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  float acc[2][4][4] = {};
  gemmBf16Tile(p, x, w, row0, col0, 0, p.k, acc);
  const long long yBase = static_cast<long long>(z) * p.yBatch;
  gemmBf16Store(p, row0, col0, acc, [&](int r, int c, float v0, float v1) {
    const long long i = yBase + static_cast<long long>(r) * p.yStride + c;
    storeElem(p.y, i, v0, p.yType);
    if (c + 1 < p.n) storeElem(p.y, i + 1, v1, p.yType);
  });
}

// Split-K of the bf16 GEMM, first pass (the second is mla_gemm_reduce, as for mla_gemm_f32_part, whose layout this
// shares): blockIdx.z = s * batch + z runs tile (z, blockIdx.y, blockIdx.x) over k range s, [s * chunk, min(k, (s + 1)
// * chunk)), and stores its f32 sums to ws[s][z][i][j] (dense, m x n a batch entry). chunk is a multiple of 32 (a
// slice). Launch: grid (ceil(n / 64), ceil(m / 64), batch * splits), 128 threads, 5 CTAs an SM on sm_90 (40 KB of
// shared memory and at most 102 registers a thread: layer.ts's rule, ctasPerSmBf16, counts on it); the alignment
// mla_gemm_bf16 needs; ws holds splits * batch * m * n floats; no range is empty (layer.ts cudaLayerGemmSplitK).
extern "C" __global__ void __launch_bounds__(128, 5) mla_gemm_bf16_part(const GemmParams p) {
  const int batch = gridDim.z / p.splits, s = blockIdx.z / batch, z = blockIdx.z % batch;
  const __nv_bfloat16* x = static_cast<const __nv_bfloat16*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const __nv_bfloat16* w = static_cast<const __nv_bfloat16*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const int kBegin = s * p.chunk, kEnd = p.k - kBegin > p.chunk ? kBegin + p.chunk : p.k; // no int overflow near k = 2^31
  float acc[2][4][4] = {};
  gemmBf16Tile(p, x, w, row0, col0, kBegin, kEnd, acc);
  float* part = p.ws + static_cast<long long>(blockIdx.z) * p.m * p.n;
  gemmBf16Store(p, row0, col0, acc, [&](int r, int c, float v0, float v1) {
    float* dst = part + static_cast<long long>(r) * p.n + c;
    // One 8-byte store where both columns exist and n is even (then every row of every range starts 8-byte aligned).
    if (c + 1 < p.n && (p.n & 1) == 0) {
      *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
    } else {
      dst[0] = v0;
      if (c + 1 < p.n) dst[1] = v1;
    }
  });
}

namespace {
// kPitch: a slice row of xs / ws, 68 floats. A multiple of 4 keeps every float4 of a row 16-byte aligned; 68 ≡ 4
// (mod 32) makes the transposed staging stores conflict-free with the staging map of gemmF32Tile (see there).
constexpr int kTile = 64, kSlice = 16, kPitch = kTile + 4;
__device__ __forceinline__ float loadOr0(const float* p, bool ok) { return ok ? __ldg(p) : 0.f; }

/**
 * A thread's 4 x 4 block of the f32 tile: rows 4 * f32TileTy() + i, columns 4 * f32TileTx() + j (i, j < 4). A warp
 * is 4 x 8 threads, 16 rows x 32 columns (8 warps: 4 down, 2 across), so at each k its float4 loads of x read 4
 * distinct 16-byte pieces (16 consecutive floats) and of w 8 (32 consecutive floats): no bank conflict in any
 * quarter-warp phase of a 16-byte load (8 lanes: one piece of x, broadcast; 8 consecutive pieces of w).
 */
__device__ __forceinline__ int f32TileTy() { return (threadIdx.x / 64) * 4 + threadIdx.x % 32 / 8; }
__device__ __forceinline__ int f32TileTx() { return (threadIdx.x / 32 % 2) * 8 + threadIdx.x % 8; }

/**
 * The f32 GEMM's tile loop, shared by mla_gemm_f32 (k range [0, k)) and mla_gemm_f32_part (one range of a split):
 * 256 threads, each the 4 x 4 block of the 64 x 64 tile at (row0, col0) that f32TileTy / f32TileTx place; x and w
 * staged 16 k-columns at a time, transposed (k-major) in shared memory, two slice buffers, the next slice prefetched
 * into registers. A k step is one float4 shared load of x (the thread's 4 rows) and one of w (its 4 columns) for 16
 * FMAs (the previous layout, rows ty + 16 i and columns tx + 16 j, took 8 scalar loads for them: shared-load bound).
 *
 * The same bits as that layout, for every shape: each output is one fmaf chain acc = fmaf(x[r][kk], w[c][kk], acc)
 * from acc = 0 over kk = kBegin, kBegin + 1, ... in increasing order, slice after slice, with the same zero padding
 * (k past kEnd within the last slice, fmaf(0, 0, acc): only turns -0 into +0, as before). Only which thread owns an
 * output, where the operands sit in shared memory and how they get there changed; no product or add was reordered,
 * split or fused differently (fmaf is explicit; nvcc does not reassociate float arithmetic). So a range's sum is the
 * same bits whichever kernel runs it, and the same as the previous build's. kBegin is a multiple of kSlice.
 */
__device__ __forceinline__ void gemmF32Tile(const GemmParams& p, const float* x, const float* w, int row0, int col0, int kBegin, int kEnd,
                                            float (&acc)[4][4]) {
  __shared__ __align__(16) float xs[2][kSlice][kPitch];
  __shared__ __align__(16) float ws[2][kSlice][kPitch];
  const int ty = f32TileTy(), tx = f32TileTx();
  // Staging map: thread -> (row lr of the tile, 4 k-columns from lk), the same for x and w. A warp takes 16 rows x
  // 8 k-columns: 32 contiguous bytes (one sector) of each of 16 rows a load. Its transposed stores xs[lk + i][lr]
  // land in bank (4 (lk + i) + lr) mod 32 (pitch 68 ≡ 4), and lk = 8 h + 4 (lane / 16), lr = 16 (warp % 4) +
  // lane % 16 make that lane + a constant: conflict-free. (4 k-groups x 8 rows a warp, the previous map, put k-groups
  // 8 apart on one bank, 2-way; a pitch ≡ 2 or 6 mod 8 would avoid that but break the float4 alignment.)
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int lr = (warp % 4) * 16 + lane % 16, lk = ((warp / 4) * 2 + lane / 16) * 4;
  // A thread's 4 k-columns at a fetch: xq[0..3] of which xLeft (and wq, wLeft) exist; a row past m (n) has none and
  // stages zeros. The pointers walk 16 floats (64 bytes) a slice.
  const bool xRow = row0 + lr < p.m, wRow = col0 + lr < p.n;
  const float* xq = x + static_cast<long long>(xRow ? row0 + lr : 0) * p.xStride + kBegin + lk;
  const float* wq = w + static_cast<long long>(wRow ? col0 + lr : 0) * p.wStride + kBegin + lk;
  int xLeft = xRow ? kEnd - kBegin - lk : 0, wLeft = wRow ? kEnd - kBegin - lk : 0;
  // The 4 columns are one 16-byte load where they are 16-byte aligned and all exist; otherwise 4 scalar loads.
  // Either reads the same elements (the vector load only where the scalar ones would read all 4) and gives the same
  // values, so nothing the validation admits (any offset, stride, k) is read out of bounds or misaligned. A slice
  // moves the pointers 64 bytes, so the alignment found at kBegin holds for every fetch.
  const bool xVec = (reinterpret_cast<uintptr_t>(xq) & 15) == 0, wVec = (reinterpret_cast<uintptr_t>(wq) & 15) == 0;
  float xr[4], wr[4];
  auto fetch1 = [](const float* q, int left, bool vec, float (&r)[4]) {
    if (vec && left > 3) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(q));
      r[0] = v.x;
      r[1] = v.y;
      r[2] = v.z;
      r[3] = v.w;
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) r[i] = loadOr0(q + i, i < left);
    }
  };
  auto fetch = [&]() {
    fetch1(xq, xLeft, xVec, xr);
    fetch1(wq, wLeft, wVec, wr);
    xq += kSlice;
    wq += kSlice;
    xLeft -= kSlice;
    wLeft -= kSlice;
  };
  auto stage = [&](int b) {
#pragma unroll
    for (int i = 0; i < 4; ++i) { xs[b][lk + i][lr] = xr[i]; ws[b][lk + i][lr] = wr[i]; }
  };
  fetch();
  stage(0);
  __syncthreads();
  // Two buffers, one barrier a slice: slice t + 1 is stored into the buffer slice t - 1 was read from, which every
  // thread left before the barrier that ended slice t - 1; the barrier ending slice t publishes it.
  int b = 0;
  for (int k0 = kBegin; k0 < kEnd; k0 += kSlice) {
    const bool more = k0 + kSlice < kEnd; // the same for the whole CTA: the barrier below is reached by all
    if (more) fetch();
#pragma unroll
    for (int kk = 0; kk < kSlice; ++kk) {
      const float4 a4 = *reinterpret_cast<const float4*>(&xs[b][kk][4 * ty]);
      const float4 b4 = *reinterpret_cast<const float4*>(&ws[b][kk][4 * tx]);
      const float a[4] = {a4.x, a4.y, a4.z, a4.w}, c[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], c[j], acc[i][j]);
    }
    if (more) stage(b ^ 1);
    __syncthreads();
    b ^= 1;
  }
}
} // namespace

// Launch: grid (ceil(n / 64), ceil(m / 64), batch), 256 threads (the tile loop: gemmF32Tile).
extern "C" __global__ void __launch_bounds__(256) mla_gemm_f32(const GemmParams p) {
  const int z = blockIdx.z;
  const float* x = static_cast<const float*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const float* w = static_cast<const float*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int ty = f32TileTy(), tx = f32TileTx();
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  float acc[4][4] = {};
  gemmF32Tile(p, x, w, row0, col0, 0, p.k, acc);
  const long long yBase = static_cast<long long>(z) * p.yBatch;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + 4 * ty + i;
    if (r >= p.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + 4 * tx + j;
      if (c < p.n) storeElem(p.y, yBase + static_cast<long long>(r) * p.yStride + c, acc[i][j], p.yType);
    }
  }
}

// Split-K, first pass. A skinny GEMM with a long k (a decode step's projections: m = the batch, k up to 16384) has
// few tiles, each walking all of k on one SM (kv_a at m = 64: 9 CTAs on 132 SMs). Here blockIdx.z = s * batch + z
// runs tile (z, blockIdx.y, blockIdx.x) over k range s, [s * chunk, min(k, (s + 1) * chunk)), and stores its f32
// sums to ws[s][z][i][j] (dense, m x n a batch entry). Launch: grid (ceil(n / 64), ceil(m / 64), batch * splits),
// 256 threads, 4 CTAs an SM (64 registers: layer.ts's rule counts on it); ws holds splits * batch * m * n floats; no
// range is empty (layer.ts cudaLayerGemmSplitK).
extern "C" __global__ void __launch_bounds__(256, 4) mla_gemm_f32_part(const GemmParams p) {
  const int batch = gridDim.z / p.splits, s = blockIdx.z / batch, z = blockIdx.z % batch;
  const float* x = static_cast<const float*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const float* w = static_cast<const float*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int ty = f32TileTy(), tx = f32TileTx();
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  const int kBegin = s * p.chunk, kEnd = p.k - kBegin > p.chunk ? kBegin + p.chunk : p.k; // no int overflow near k = 2^31
  float acc[4][4] = {};
  gemmF32Tile(p, x, w, row0, col0, kBegin, kEnd, acc);
  float* part = p.ws + static_cast<long long>(blockIdx.z) * p.m * p.n;
  const int c = col0 + 4 * tx;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + 4 * ty + i;
    if (r >= p.m) continue;
    float* dst = part + static_cast<long long>(r) * p.n + c;
    // A row's 4 sums as one 16-byte store where it is aligned (n a multiple of 4) and all 4 columns exist.
    if (p.n - c > 3 && (reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
      *reinterpret_cast<float4*>(dst) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j)
        if (c + j < p.n) dst[j] = acc[i][j];
    }
  }
}

// Split-K, second pass: y[z, i, j] = the ranges' sums added in order s = 0, 1, ..., splits - 1 (a fixed order: the
// same bits run to run), stored as mla_gemm_f32 stores (storeElem's rounding, y's strides). Launch: grid
// (min(ceil(m * n / 256), 1024), 1, batch), 256 threads, grid-stride over a batch entry's m * n elements; queued
// after mla_gemm_f32_part on the same stream.
extern "C" __global__ void __launch_bounds__(256) mla_gemm_reduce(const GemmParams p) {
  const int z = blockIdx.z, batch = gridDim.z;
  const long long mn = static_cast<long long>(p.m) * p.n, split = mn * batch;
  const float* part = p.ws + z * mn;
  const long long yBase = static_cast<long long>(z) * p.yBatch;
  for (long long e = blockIdx.x * 256LL + threadIdx.x; e < mn; e += 256LL * gridDim.x) {
    // Eight ranges' loads in flight before their adds (a plain loop waits out each load: kv_a's 28 ranges with ~9
    // warps an SM would take 28 memory latencies); the adds stay in order.
    float v = part[e];
    for (int s0 = 1; s0 < p.splits; s0 += 8) {
      float t[8];
#pragma unroll
      for (int u = 0; u < 8; ++u) t[u] = s0 + u < p.splits ? part[(s0 + u) * split + e] : 0.f;
#pragma unroll
      for (int u = 0; u < 8; ++u)
        if (s0 + u < p.splits) v += t[u];
    }
    const long long i = e / p.n, j = e % p.n;
    storeElem(p.y, yBase + i * p.yStride + j, v, p.yType);
  }
}

// Launch: grid (rows), 256 threads. transformers: x * rsqrt(mean(x^2) + eps), then weight * that (f32).
extern "C" __global__ void __launch_bounds__(256) mla_rmsnorm(const RmsNormParams p) {
  const int r = blockIdx.x;
  float* x = p.x + static_cast<long long>(r) * p.xStride;
  float ss = 0.f;
  for (int i = threadIdx.x; i < p.d; i += blockDim.x) ss += x[i] * x[i];
  const float inv = 1.f / sqrtf(blockSum(ss) / static_cast<float>(p.d) + p.eps);
  for (int i = threadIdx.x; i < p.d; i += blockDim.x) {
    const float v = p.weight[i] * (x[i] * inv);
    x[i] = v;
    if (p.out) storeElem(p.out, static_cast<long long>(r) * p.outStride + i, v, p.outType);
  }
}

// Launch: grid (heads, rows), 64 threads. Query row layout of the decode kernel: [rows, heads, 576], columns
// 0..511 written by the W_UK GEMM, 512..575 here.
extern "C" __global__ void __launch_bounds__(64) mla_q_rope(const QRopeParams p) {
  const int h = blockIdx.x, r = blockIdx.y, qk = p.nope + p.rope, half = p.rope / 2;
  const long long head = static_cast<long long>(r) * p.heads + h;
  const float* q = p.q + head * qk;
  if (p.nopeOut) for (int i = threadIdx.x; i < p.nope; i += blockDim.x) storeElem(p.nopeOut, head * p.nope + i, q[i], p.nopeType);
  const int pos = p.positions[r];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    float o0, o1;
    ropePair(q + p.nope, i, half, p.interleave, pos, p.invFreq, p.attentionFactor, o0, o1);
    storeElem(p.qAttn, head * kDQk + kDV + i, o0, p.attnType);
    storeElem(p.qAttn, head * kDQk + kDV + half + i, o1, p.attnType);
  }
}

// Launch: grid (rows), 256 threads. The cached row of a token: [RMSNorm(c_kv) (latent), RoPE(k_pe) (rope)].
extern "C" __global__ void __launch_bounds__(256) mla_kv_append(const KvAppendParams p) {
  const int r = blockIdx.x, width = p.latent + p.rope, half = p.rope / 2;
  const float* kv = p.kv + static_cast<long long>(r) * width;
  float ss = 0.f;
  for (int i = threadIdx.x; i < p.latent; i += blockDim.x) ss += kv[i] * kv[i];
  const float inv = 1.f / sqrtf(blockSum(ss) / static_cast<float>(p.latent) + p.eps);
  const long long dst = static_cast<long long>(p.slots[r]) * width;
  for (int i = threadIdx.x; i < p.latent; i += blockDim.x) storeElem(p.cache, dst + i, p.weight[i] * (kv[i] * inv), p.cacheType);
  const int pos = p.positions[r];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    float o0, o1;
    ropePair(kv + p.latent, i, half, p.interleave, pos, p.invFreq, p.attentionFactor, o0, o1);
    storeElem(p.cache, dst + p.latent + i, o0, p.cacheType);
    storeElem(p.cache, dst + p.latent + half + i, o1, p.cacheType);
  }
}

// Launch: grid (min(ceil(n / 256), 4096)), 256 threads, grid-stride.
extern "C" __global__ void __launch_bounds__(256) mla_convert(const ConvertParams p) {
  for (long long i = blockIdx.x * 256LL + threadIdx.x; i < p.n; i += 256LL * gridDim.x) storeElem(p.dst, i, loadElem(p.src, i, p.srcType), p.dstType);
}
