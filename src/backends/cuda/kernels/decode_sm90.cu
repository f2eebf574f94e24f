// Split-KV MLA decode for Hopper (sm_90a only): keys on the wgmma M dimension. See docs/notes/cuda-hopper-decode.md.
//
// Built for sm_90a alone (scripts/build-kernels.mjs): wgmma exists nowhere else. One CTA of one warpgroup (128
// threads) per (SM part, KV head); it takes every query row of the head at once (rows = sQ * hQ / hKv <= NR, NR
// in {16, 32}) and walks the work items of its part's scheduler metadata (src/core/scheduler.ts partWork).
//
// With few query rows a 64-row query tile wastes most of the tensor cores, so both GEMMs are transposed:
//   S^T (64 keys x NR rows)  = K (64 x 576, A from registers via ldmatrix) . Q^T (B, shared memory)
//   O^T (512 x NR)          += V^T (8 slices of 64 value columns, A via ldmatrix.trans) . P^T (B, shared memory)
// Warp w of the warpgroup owns keys 16w..16w+15 in S^T and value columns 64s + 16w..+16 of each slice s in O^T;
// both accumulators hold the same query-row columns in a thread (n = 8i + 2(lane%4) + {0,1}), so the softmax
// factors a thread needs are already its own. Row maxima meet across the 4 warps in shared memory once a tile.
//
// Keys arrive by cp.async.bulk, one 1152-byte copy per key row into rows padded to 1168 bytes (ldmatrix without
// bank conflicts), completing on one mbarrier per stage (2 stages). Known limit (H200, docs/notes): the per-lane
// copies compile to a serial ELECT/R2UR/UBLKCP loop, 64 per tile from warp 0, which bounds this version near
// 2200 GB/s; the next step is TMA tensor copies (9 swizzled 64x64 boxes a tile) from a producer warp. Rows past the item's end are never loaded:
// they are zeroed in shared memory, and their scores are masked by selection, so NaN in unused cache slots and
// stale block-table entries are never read or multiplied. Results go to out/lse directly (unsplit request) or to
// the f32 partial rows that combine.cu merges, exactly as decode.cu does.
#include "params.h"
#include "common.cuh"

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MLA_SM90A 1
#endif

namespace mla {
namespace sm90 {

constexpr int kBN = 64;            // keys per tile (the wgmma M dimension)
constexpr int kKS = kDQk + 8;      // padded key row, elements (1168 bytes: 73 x 16, odd)
constexpr int kStages = 2;
constexpr int kThreads = 128;      // one warpgroup
constexpr int kRowBytes = kDQk * 2;

template <int NR> struct Layout {
  static constexpr int K_BYTES = kBN * kKS * 2;          // one key stage
  static constexpr int Q_BYTES = NR * kDQk * 2;          // Q^T operand, canonical K-major core matrices
  static constexpr int P_BYTES = NR * kBN * 2;           // P^T operand
  static constexpr int RED_BYTES = 4 * NR * 4;           // per-warp row maxima / sums
  static constexpr int K_OFF = 0;
  static constexpr int Q_OFF = K_OFF + kStages * K_BYTES;
  static constexpr int P_OFF = Q_OFF + Q_BYTES;
  static constexpr int RED_OFF = P_OFF + P_BYTES;
  static constexpr int BAR_OFF = RED_OFF + RED_BYTES;
  static constexpr int SMEM = BAR_OFF + 8 * kStages;
};

// Element (n, k) of a K-major canonical operand with NR rows (no swizzle): 8-element core-matrix chunks of k,
// each chunk NR rows of 16 bytes. Core matrices adjacent in k are NR * 16 bytes apart (LBO), in n 128 (SBO).
template <int NR> __device__ __forceinline__ int canonOff(int n, int k) { return ((k >> 3) * NR + n) * 16 + (k & 7) * 2; }

// Shared-memory matrix descriptor (no swizzle): start address, LBO (next core matrix along k) = NR * 16 bytes,
// SBO (next 8 rows) = 128 bytes, each >> 4. The opposite assignment was tried on the H200 and fails the check.
template <int NR> __device__ __forceinline__ uint64_t descOf(uint32_t addr) {
  const uint64_t lbo = NR * 16, sbo = 128;
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(lbo >> 4) << 16) | (static_cast<uint64_t>(sbo >> 4) << 32);
}

#ifdef MLA_SM90A
__device__ __forceinline__ void wgFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
// Pins accumulator registers after a wait, so nothing reads or writes them across the asynchronous wgmma.
template <int N> __device__ __forceinline__ void pinRegs(float* r) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N> __device__ __forceinline__ void wgWait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }

// D (m64 x NR f32) += A (m64 x k16, registers) . B (k16 x NR, descriptor), T = bf16 or f16.
template <typename T, int NR> struct Wg;
#define MLA_WG_N16(TY, PT)                                                                                              \
  template <> struct Wg<TY, 16> {                                                                                       \
    static __device__ __forceinline__ void mma(float (&d)[8], const uint32_t (&a)[4], uint64_t b) {                   \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %13, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32." PT "." PT " "                                        \
                   "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11}, %12, p, 1, 1, 0;\n}\n"                                  \
                   : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])  \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                                             \
    }                                                                                                                   \
  };
#define MLA_WG_N32(TY, PT)                                                                                              \
  template <> struct Wg<TY, 32> {                                                                                       \
    static __device__ __forceinline__ void mma(float (&d)[16], const uint32_t (&a)[4], uint64_t b) {                  \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32." PT "." PT " "                                        \
                   "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"  \
                   : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
                     "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),        \
                     "+f"(d[15])                                                                                      \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                                             \
    }                                                                                                                   \
  };
MLA_WG_N16(__nv_bfloat16, "bf16")
MLA_WG_N16(__half, "f16")
MLA_WG_N32(__nv_bfloat16, "bf16")
MLA_WG_N32(__half, "f16")
#undef MLA_WG_N16
#undef MLA_WG_N32

__device__ __forceinline__ void mbarInit(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarWait(uint32_t bar, uint32_t phase) {
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n"
      "}\n" ::"r"(bar),
      "r"(phase)
      : "memory");
}
// One contiguous global -> shared copy on the bulk copy engine, evict-first (each key row is read once).
__device__ __forceinline__ void bulkCopy(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar, uint64_t policy) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;\n"
               ::"r"(dst), "l"(src), "r"(bytes), "r"(bar), "l"(policy)
               : "memory");
}
__device__ __forceinline__ uint64_t evictFirstPolicy() {
  uint64_t p;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(p));
  return p;
}
__device__ __forceinline__ void fenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
#endif

template <typename T, int NR>
struct DecodeT {
  using L = Layout<NR>;
  using H = Half<T>;
  static constexpr int NI = NR / 8; // 8-column groups of the accumulators
  // k-steps of S^T and 64-column slices of O^T loaded into registers per batch of wgmma (one wait each): as many as
  // the register file allows next to the O^T accumulators (4 * NR registers a thread).
  static constexpr int QKB = NR == 16 ? 12 : 9;
  static constexpr int PVB = NR == 16 ? 4 : 2;

#ifdef MLA_SM90A
  // Issue the copies of keys [t0, t0 + 64) (only those below kEnd) into one stage; warp 0 calls it.
  static __device__ __forceinline__ void issueTile(const MlaParams& p, uint32_t kStage, uint32_t bar, int batch, int g, int t0, int kEnd, int lane, uint64_t policy) {
    const int live = min(kBN, kEnd - t0);
    if (lane == 0) mbarExpectTx(bar, static_cast<uint32_t>(live * kRowBytes));
    __syncwarp();
    const T* kc = static_cast<const T*>(p.kCache);
    for (int r = lane; r < live; r += 32) bulkCopy(kStage + r * kKS * 2, kc + keyRow(p, batch, t0 + r, g), kRowBytes, bar, policy);
  }
#endif

  static __device__ void run(const MlaParams& p) {
#ifdef MLA_SM90A
    extern __shared__ __align__(128) unsigned char smem[];
    T* const sk = reinterpret_cast<T*>(smem + L::K_OFF);
    unsigned char* const sq = smem + L::Q_OFF;
    unsigned char* const sp = smem + L::P_OFF;
    float* const red = reinterpret_cast<float*>(smem + L::RED_OFF); // [4][NR]
    const uint32_t kBase = smemAddr(smem + L::K_OFF), qBase = smemAddr(sq), pBase = smemAddr(sp), barBase = smemAddr(smem + L::BAR_OFF);
    const int part = blockIdx.x, g = blockIdx.y;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gq = lane / 4, tq = lane % 4;
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    const uint64_t policy = evictFirstPolicy();
    if (tid == 0) {
      for (int s = 0; s < kStages; ++s) mbarInit(barBase + 8 * s, 1);
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    uint32_t uses = 0; // key tiles consumed so far: stage uses % 2, parity (uses / 2) & 1

    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      const int seqlen = p.cacheSeqlens[batch];
      const int kBegin = batch == beginIdx ? meta[kMetaBeginSeqlen] : 0;
      const int kEnd = batch == endIdx ? meta[kMetaEndSeqlen] : seqlen;
      const int slot = p.numSplits[batch] + (batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0);
      const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      int qStart, qLen;
      queryRange(p, batch, qStart, qLen);
      const int liveRows = min(p.rows, qLen * p.nGroups);
      if (liveRows <= 0) continue; // CTA-uniform
      const int tileEnd = min(kEnd, visibleKeys(p, seqlen, qLen, (liveRows - 1) / p.nGroups));
      const int nTiles = tileEnd > kBegin ? (tileEnd - kBegin + kBN - 1) / kBN : 0;
      // Keys each of this thread's query-row columns may see (0 for padding rows).
      int limit[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int n = 8 * i + 2 * tq + b;
          limit[i][b] = n < liveRows ? min(kEnd, visibleKeys(p, seqlen, qLen, n / p.nGroups)) : 0;
        }

      if (warp == 0 && nTiles > 0) issueTile(p, kBase + (uses % kStages) * L::K_BYTES, barBase + 8 * (uses % kStages), batch, g, kBegin, tileEnd, lane, policy);

      // Q^T into its canonical layout: row n = query row m (zeros past liveRows), 72 chunks of 8 elements.
      {
        const T* q = static_cast<const T*>(p.q);
        for (int c = tid; c < NR * (kDQk / 8); c += kThreads) {
          const int n = c % NR, ch = c / NR;
          uint4 v = make_uint4(0, 0, 0, 0);
          if (n < liveRows) {
            const int j = n / p.nGroups, h = g * p.nGroups + (n - j * p.nGroups);
            v = *reinterpret_cast<const uint4*>(q + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk + ch * 8);
          }
          *reinterpret_cast<uint4*>(sq + canonOff<NR>(n, ch * 8)) = v;
        }
        fenceProxyAsync();
      }
      __syncthreads();

      float o[8][NI][4];
#pragma unroll
      for (int s = 0; s < 8; ++s)
#pragma unroll
        for (int i = 0; i < NI; ++i) o[s][i][0] = o[s][i][1] = o[s][i][2] = o[s][i][3] = 0.f;
      float mRow[NI][2], lPart[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i) mRow[i][0] = mRow[i][1] = -INFINITY, lPart[i][0] = lPart[i][1] = 0.f;

      for (int it = 0; it < nTiles; ++it, ++uses) {
        const int t0 = kBegin + it * kBN;
        const int stage = uses % kStages;
        T* const kt = sk + stage * (L::K_BYTES / 2);
        // Every warp is done with the previous tile (its stage, P^T, the maxima): the next tile's keys go into
        // that stage now, so they stream in during this whole tile.
        __syncthreads();
        if (warp == 0 && it + 1 < nTiles) {
          const uint32_t nx = (uses + 1) % kStages;
          issueTile(p, kBase + nx * L::K_BYTES, barBase + 8 * nx, batch, g, t0 + kBN, tileEnd, lane, policy);
        }
        mbarWait(barBase + 8 * stage, (uses / kStages) & 1);
        // Rows this tile did not load (past tileEnd) become zeros: P is 0 there, and 0 * stale data must stay 0.
        const int live = min(kBN, tileEnd - t0);
        if (live < kBN) {
          for (int c = tid; c < (kBN - live) * (kDQk / 8); c += kThreads) {
            const int r = live + c / (kDQk / 8), ch = c % (kDQk / 8);
            *reinterpret_cast<uint4*>(kt + r * kKS + ch * 8) = make_uint4(0, 0, 0, 0);
          }
          __syncthreads(); // CTA-uniform (last tile only): no warp reads a row while it is being zeroed
        }

        // S^T = K Q^T: warp w holds keys 16w + gq (+8) x rows n = 8i + 2tq (+1).
        float sAcc[NI * 4];
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) sAcc[e] = 0.f;
        const T* kRow = kt + (16 * warp + lane % 16) * kKS + (lane / 16) * 8;
#pragma unroll
        for (int c = 0; c < 36 / QKB; ++c) {
          uint32_t a[QKB][4];
#pragma unroll
          for (int u = 0; u < QKB; ++u) ldmatrixX4(a[u], kRow + (c * QKB + u) * 16);
          wgFence();
#pragma unroll
          for (int u = 0; u < QKB; ++u) Wg<T, NR>::mma(reinterpret_cast<float(&)[NI * 4]>(sAcc), a[u], descOf<NR>(qBase + (c * QKB + u) * 2 * NR * 16));
          wgCommit();
          wgWait<0>();
          pinRegs<NI * 4>(sAcc);
        }

        // Mask by selection (scaled to base 2), column maxima over this warp's 16 keys, then over the 4 warps.
        const int key0 = t0 + 16 * warp + gq;
        float tMax[NI][2];
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            float& s0 = sAcc[i * 4 + b];
            float& s1 = sAcc[i * 4 + 2 + b];
            s0 = key0 < limit[i][b] ? s0 * p.scaleLog2 : -INFINITY;
            s1 = key0 + 8 < limit[i][b] ? s1 * p.scaleLog2 : -INFINITY;
            float x = fmaxf(s0, s1);
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
            tMax[i][b] = x;
            if (gq == 0) red[warp * NR + 8 * i + 2 * tq + b] = x;
          }
        __syncthreads(); // every warp's maxima are in

        float alpha[NI][2];
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int n = 8 * i + 2 * tq + b;
            const float x = fmaxf(fmaxf(red[n], red[NR + n]), fmaxf(red[2 * NR + n], red[3 * NR + n]));
            const float mNew = fmaxf(mRow[i][b], x);
            const float base = mNew == -INFINITY ? 0.f : mNew; // no key yet: every exp2 below is exp2(-inf) = 0
            alpha[i][b] = exp2f(mRow[i][b] - base);
            mRow[i][b] = mNew;
            const float p0 = exp2f(sAcc[i * 4 + b] - base), p1 = exp2f(sAcc[i * 4 + 2 + b] - base);
            lPart[i][b] = lPart[i][b] * alpha[i][b] + p0 + p1;
            const int k0 = 16 * warp + gq;
            *reinterpret_cast<T*>(sp + canonOff<NR>(n, k0)) = H::fromF(p0);
            *reinterpret_cast<T*>(sp + canonOff<NR>(n, k0 + 8)) = H::fromF(p1);
          }
        (void)tMax;
        fenceProxyAsync();
        __syncthreads(); // P^T complete (and visible to the tensor cores); the zeroed rows too

#pragma unroll
        for (int s = 0; s < 8; ++s)
#pragma unroll
          for (int i = 0; i < NI; ++i) {
            o[s][i][0] *= alpha[i][0]; o[s][i][1] *= alpha[i][1];
            o[s][i][2] *= alpha[i][0]; o[s][i][3] *= alpha[i][1];
          }
        // O^T += V^T P^T, two 64-column slices per batch of wgmma.
        const T* vRow = kt + (lane % 8 + (lane / 16) * 8) * kKS + 16 * warp + ((lane / 8) % 2) * 8;
#pragma unroll
        for (int s2 = 0; s2 < 8 / PVB; ++s2) {
          uint32_t a[PVB][4][4];
#pragma unroll
          for (int ss = 0; ss < PVB; ++ss)
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) ldmatrixX4T(a[ss][kk], vRow + kk * 16 * kKS + (PVB * s2 + ss) * 64);
          wgFence();
#pragma unroll
          for (int ss = 0; ss < PVB; ++ss)
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
              Wg<T, NR>::mma(reinterpret_cast<float(&)[NI * 4]>(o[PVB * s2 + ss]), a[ss][kk], descOf<NR>(pBase + kk * 2 * NR * 16));
          wgCommit();
          wgWait<0>();
#pragma unroll
          for (int ss = 0; ss < PVB; ++ss) pinRegs<NI * 4>(&o[PVB * s2 + ss][0][0]);
        }
      }

      // Row sums: over the 8 key lanes, then the 4 warps.
      __syncthreads(); // red is free
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          float x = lPart[i][b];
          x += __shfl_xor_sync(0xffffffffu, x, 4);
          x += __shfl_xor_sync(0xffffffffu, x, 8);
          x += __shfl_xor_sync(0xffffffffu, x, 16);
          if (gq == 0) red[warp * NR + 8 * i + 2 * tq + b] = x;
        }
      __syncthreads();
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int n = 8 * i + 2 * tq + b;
          if (n >= liveRows) continue;
          const float l = red[n] + red[NR + n] + red[2 * NR + n] + red[3 * NR + n];
          const int j = n / p.nGroups, h = g * p.nGroups + (n - j * p.nGroups);
          const bool empty = l == 0.f;
          const float inv = empty ? 0.f : 1.f / l;
          const float lse = empty ? (noSplit ? INFINITY : -INFINITY) : (mRow[i][b] + log2f(l)) * 0.69314718055994531f;
          const int col0 = 16 * warp + gq;
          if (noSplit) {
            T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + col0;
#pragma unroll
            for (int s = 0; s < 8; ++s) {
              out[64 * s] = H::fromF(o[s][i][b] * inv);
              out[64 * s + 8] = H::fromF(o[s][i][2 + b] * inv);
            }
            if (warp == 0 && gq == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
          } else {
            const int64_t row = (static_cast<int64_t>(slot) * p.sQ + j) * p.hQ + h;
            float* acc = p.oAccum + row * kDV + col0;
#pragma unroll
            for (int s = 0; s < 8; ++s) {
              acc[64 * s] = o[s][i][b] * inv;
              acc[64 * s + 8] = o[s][i][2 + b] * inv;
            }
            if (warp == 0 && gq == 0) p.lseAccum[row] = lse;
          }
        }
      __syncthreads(); // the next item overwrites Q^T, red and the key stages
    }
#endif
  }
};

} // namespace sm90
} // namespace mla

static_assert(mla::sm90::Layout<16>::SMEM == 170256 && mla::sm90::Layout<32>::SMEM == 190992, "shared memory differs from launch.ts sm90Smem");

// Launch: grid (numSmParts, hKv), 128 threads, Layout<NR>::SMEM bytes of dynamic shared memory; rows <= NR,
// sm_90a only (elsewhere the entries compile to nothing and must not be launched).
#define MLA_SM90_ENTRY(NR)                                                                                                   \
  extern "C" __global__ void __launch_bounds__(128, 1) mla_decode_sm90_bf16_n##NR(const MlaParams p) {                      \
    mla::sm90::DecodeT<__nv_bfloat16, NR>::run(p);                                                                           \
  }                                                                                                                          \
  extern "C" __global__ void __launch_bounds__(128, 1) mla_decode_sm90_f16_n##NR(const MlaParams p) {                       \
    mla::sm90::DecodeT<__half, NR>::run(p);                                                                                  \
  }
MLA_SM90_ENTRY(16)
MLA_SM90_ENTRY(32)
