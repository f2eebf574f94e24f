// The bottom rung of the ladder: MLA decode straight from the definition, in f32 scalar arithmetic, with no
// scheduler, no tensor cores and no splits. One CTA of 4 warps per (request, query j, head h); warp w takes keys
// w, w+4, ... with an online softmax, lanes split the 576-column dot product and own 16 of the 512 output columns.
// Slow on purpose: it cross-checks the split-KV kernel on the GPU with code simple enough to read at a glance.
#include "params.h"
#include "common.cuh"

namespace mla {

template <typename T>
__device__ void naive(const MlaParams& p) {
  using H = Half<T>;
  const int batch = blockIdx.x, j = blockIdx.y, h = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int qStart, qLen;
  queryRange(p, batch, qStart, qLen);
  if (j >= qLen) return;
  const int seqlen = p.cacheSeqlens[batch];
  const int nKeys = visibleKeys(p, seqlen, qLen, j);
  const int g = h / p.nGroups;
  const T* q = static_cast<const T*>(p.q) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk;
  const T* kc = static_cast<const T*>(p.kCache);

  float qv[kDQk / 32];
#pragma unroll
  for (int i = 0; i < kDQk / 32; ++i) qv[i] = H::toF(q[lane + 32 * i]);
  float m = -INFINITY, l = 0.f, acc[kDV / 32];
#pragma unroll
  for (int i = 0; i < kDV / 32; ++i) acc[i] = 0.f;
  for (int t = warp; t < nKeys; t += 4) {
    const T* k = kc + keyRow(p, batch, t, g);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < kDQk / 32; ++i) s += qv[i] * H::toF(k[lane + 32 * i]);
    s = warpSum(s) * p.scaleLog2;
    const float mNew = fmaxf(m, s);
    const float alpha = exp2f(m - mNew), pr = exp2f(s - mNew);
    l = l * alpha + pr;
#pragma unroll
    for (int i = 0; i < kDV / 32; ++i) acc[i] = acc[i] * alpha + pr * H::toF(k[lane + 32 * i]);
    m = mNew;
  }

  __shared__ float sm[4], sl[4], so[4][kDV];
  if (lane == 0) { sm[warp] = m; sl[warp] = l; }
#pragma unroll
  for (int i = 0; i < kDV / 32; ++i) so[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  float mAll = fmaxf(fmaxf(sm[0], sm[1]), fmaxf(sm[2], sm[3]));
  float w[4], lAll = 0.f;
#pragma unroll
  for (int v = 0; v < 4; ++v) { w[v] = mAll == -INFINITY ? 0.f : exp2f(sm[v] - mAll); lAll += w[v] * sl[v]; }
  T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV;
  for (int c = threadIdx.x; c < kDV; c += 128) {
    float x = 0.f;
#pragma unroll
    for (int v = 0; v < 4; ++v) x += w[v] * so[v][c];
    out[c] = H::fromF(lAll > 0.f ? x / lAll : 0.f);
  }
  if (threadIdx.x == 0) {
    p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] =
        lAll > 0.f ? (mAll + log2f(lAll)) * 0.69314718055994531f : INFINITY;
  }
}

} // namespace mla

// Launch: grid (b, sQ, hQ), 128 threads, no dynamic shared memory (kernels/launch.ts naiveLaunch).
extern "C" __global__ void __launch_bounds__(128) mla_naive_bf16(const MlaParams p) { mla::naive<__nv_bfloat16>(p); }
extern "C" __global__ void __launch_bounds__(128) mla_naive_f16(const MlaParams p) { mla::naive<__half>(p); }
