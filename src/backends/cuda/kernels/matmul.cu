// y [m, n] = x [m, k] · w [n, k]ᵀ in f32 (MlaAttention's projections; torch.nn.Linear's layout). A CTA of 256
// threads owns a 64 x 64 tile of y, each thread a 4 x 4 block (rows ty + 16 i, columns tx + 16 j). x and w are
// staged 16 k-columns at a time through shared memory, transposed so the inner loop reads contiguous rows; the
// next slice is loaded into registers while the current one is multiplied. SIMT f32 FMA: the layer's GEMMs are
// small next to the attention they feed, and f32 keeps the layer's numerics (no tensor-core rounding).
#include "params.h"

namespace {

constexpr int kTile = 64, kSlice = 16;

__device__ __forceinline__ float loadOr0(const float* p, bool ok) { return ok ? __ldg(p) : 0.f; }

} // namespace

// Launch: grid (ceil(n / 64), ceil(m / 64)), 256 threads, no dynamic shared memory (launch.ts matmulLaunch).
extern "C" __global__ void __launch_bounds__(256) mla_matmul_f32(const MatmulParams p) {
  __shared__ float xs[kSlice][kTile + 4]; // [k][row]
  __shared__ float ws[kSlice][kTile + 4]; // [k][col]
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  // Each thread stages 4 values of x and 4 of w per slice: tile row lr = threadIdx.x / 4, k-columns lk .. lk + 3.
  const int lr = threadIdx.x / 4, lk = (threadIdx.x % 4) * 4;
  const bool xRow = row0 + lr < p.m, wRow = col0 + lr < p.n;
  const float* xp = p.x + static_cast<long long>(row0 + lr) * p.xStride;
  const float* wp = p.w + static_cast<long long>(col0 + lr) * p.wStride;

  float acc[4][4] = {};
  float xr[4], wr[4];
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int kk = k0 + lk + i;
      xr[i] = loadOr0(xp + kk, xRow && kk < p.k);
      wr[i] = loadOr0(wp + kk, wRow && kk < p.k);
    }
  };
  fetch(0);
  for (int k0 = 0; k0 < p.k; k0 += kSlice) {
#pragma unroll
    for (int i = 0; i < 4; ++i) { xs[lk + i][lr] = xr[i]; ws[lk + i][lr] = wr[i]; }
    __syncthreads();
    if (k0 + kSlice < p.k) fetch(k0 + kSlice);
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
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty + 16 * i;
    if (r >= p.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx + 16 * j;
      if (c < p.n) p.y[static_cast<long long>(r) * p.n + c] = acc[i][j];
    }
  }
}
