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

} // namespace

// Launch: grid (ceil(n / 64), ceil(m / 64), batch), 128 threads. Needs k, the strides and the batch strides
// multiples of 8 and x, w 16-byte aligned (layer.ts checks): each cp.async moves 8 elements.
extern "C" __global__ void __launch_bounds__(128) mla_gemm_bf16(const GemmParams p) {
  __shared__ __align__(16) __nv_bfloat16 sx[kStages][kBM][kLd];
  __shared__ __align__(16) __nv_bfloat16 sw[kStages][kBN][kLd];
  const int z = blockIdx.z;
  const __nv_bfloat16* x = static_cast<const __nv_bfloat16*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const __nv_bfloat16* w = static_cast<const __nv_bfloat16*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  const int nk = (p.k + kBK - 1) / kBK;

  // A slice: 64 rows x 4 chunks of 8 for x and for w; each thread copies 2 + 2 chunks. Rows past m / n and
  // chunks past k are zero-filled (k is a multiple of 8, so a chunk is all in or all out).
  auto load = [&](int stage, int kt) {
#pragma unroll
    for (int c = 0; c < 2; ++c) {
      const int chunk = tid + c * 128, r = chunk / 4, kc = (chunk % 4) * 8, kk = kt * kBK + kc;
      const bool kOk = kk < p.k;
      const bool xOk = kOk && row0 + r < p.m, wOk = kOk && col0 + r < p.n;
      cpAsync16(&sx[stage][r][kc], xOk ? x + static_cast<long long>(row0 + r) * p.xStride + kk : x, xOk ? 16 : 0);
      cpAsync16(&sw[stage][r][kc], wOk ? w + static_cast<long long>(col0 + r) * p.wStride + kk : w, wOk ? 16 : 0);
    }
  };

  float acc[2][4][4] = {};
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

  const int g = lane >> 2, t = lane & 3;
  const long long yBase = static_cast<long long>(z) * p.yBatch;
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + wm + i * 16 + g + h * 8;
      if (r >= p.m) continue;
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = col0 + wn + j * 8 + 2 * t + e;
          if (c < p.n) storeElem(p.y, yBase + static_cast<long long>(r) * p.yStride + c, acc[i][j][h * 2 + e], p.yType);
        }
    }
}

namespace {
constexpr int kTile = 64, kSlice = 16;
__device__ __forceinline__ float loadOr0(const float* p, bool ok) { return ok ? __ldg(p) : 0.f; }

/**
 * The f32 GEMM's tile loop, shared by mla_gemm_f32 (k range [0, k)) and mla_gemm_f32_part (one range of a split):
 * 256 threads, each a 4 x 4 block of the 64 x 64 tile at (row0, col0) (rows ty + 16 i, columns tx + 16 j); x and w
 * staged 16 k-columns at a time, transposed in shared memory, next slice prefetched. Each output is one fmaf chain
 * in k order, so a range's sum is the same bits whichever kernel runs it. kBegin is a multiple of kSlice.
 */
__device__ __forceinline__ void gemmF32Tile(const GemmParams& p, const float* x, const float* w, int row0, int col0, int kBegin, int kEnd,
                                            float (&acc)[4][4]) {
  __shared__ float xs[kSlice][kTile + 4];
  __shared__ float ws[kSlice][kTile + 4];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int lr = threadIdx.x / 4, lk = (threadIdx.x % 4) * 4;
  const bool xRow = row0 + lr < p.m, wRow = col0 + lr < p.n;
  const float* xp = x + static_cast<long long>(xRow ? row0 + lr : 0) * p.xStride;
  const float* wp = w + static_cast<long long>(wRow ? col0 + lr : 0) * p.wStride;
  float xr[4], wr[4];
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int kk = k0 + lk + i;
      xr[i] = loadOr0(xp + kk, xRow && kk < kEnd);
      wr[i] = loadOr0(wp + kk, wRow && kk < kEnd);
    }
  };
  fetch(kBegin);
  for (int k0 = kBegin; k0 < kEnd; k0 += kSlice) {
#pragma unroll
    for (int i = 0; i < 4; ++i) { xs[lk + i][lr] = xr[i]; ws[lk + i][lr] = wr[i]; }
    __syncthreads();
    if (k0 + kSlice < kEnd) fetch(k0 + kSlice);
#pragma unroll
    for (int kk = 0; kk < kSlice; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) { a[i] = xs[kk][ty + 16 * i]; b[i] = ws[kk][tx + 16 * i]; }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
}
} // namespace

// Launch: grid (ceil(n / 64), ceil(m / 64), batch), 256 threads (the tile loop: gemmF32Tile).
extern "C" __global__ void __launch_bounds__(256) mla_gemm_f32(const GemmParams p) {
  const int z = blockIdx.z;
  const float* x = static_cast<const float*>(p.x) + static_cast<long long>(z) * p.xBatch;
  const float* w = static_cast<const float*>(p.w) + static_cast<long long>(z) * p.wBatch;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  float acc[4][4] = {};
  gemmF32Tile(p, x, w, row0, col0, 0, p.k, acc);
  const long long yBase = static_cast<long long>(z) * p.yBatch;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty + 16 * i;
    if (r >= p.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx + 16 * j;
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
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  const int kBegin = s * p.chunk, kEnd = p.k - kBegin > p.chunk ? kBegin + p.chunk : p.k; // no int overflow near k = 2^31
  float acc[4][4] = {};
  gemmF32Tile(p, x, w, row0, col0, kBegin, kEnd, acc);
  float* part = p.ws + static_cast<long long>(blockIdx.z) * p.m * p.n;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty + 16 * i;
    if (r >= p.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx + 16 * j;
      if (c < p.n) part[static_cast<long long>(r) * p.n + c] = acc[i][j];
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
