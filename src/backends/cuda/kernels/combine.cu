// Merge the split partial results of each split request: lse = log(sum_s exp(lse_s)), out = sum_s exp(lse_s - lse) o_s.
// One CTA of 8 warps (launch.ts combineLaunch; any multiple of 32 threads up to 256 works) per (request,
// combineRows rows r = j * hQ + h, quarter of the 512 columns). A lane owns one float4 of the quarter; warp w takes
// splits w, w + W, ... eight at a time (W warps), so a request split over a hundred SM parts (a single long
// sequence) is merged by many CTAs with many loads in flight, then the warps' sums meet in shared memory. The call
// is latency-bound at b = 1 (~6 us for ~3 MB): every warp computes the row's lse itself (the split lse values are
// few and stay in L1), and its first eight partials are loaded before that lse is known, so the lse loads and the
// partial loads are one memory round trip, not two. Requests that were not split were written by the decode
// kernel and are skipped. Launched with programmatic dependent launch where the GPU has it (src/backends/cuda/pdl.ts):
// the CTAs may start while the decode kernel still runs and wait for it in pdlWait() before reading anything.
#include "params.h"
#include "common.cuh"
#include "pdl.cuh"

namespace mla {

constexpr int kCombineMaxWarps = 8;
constexpr int kCombineLoads = 8; // float4 loads a lane has in flight

// MLA_COMBINE_ONE_TRIP (session 17, h3; 3 in the library's build since session 17's confirmation call, 0 = the previous
// row code): combine() merges a
// row whose request has at most 128 splits (8 warps of 256 threads) in one memory round trip after numSplits: every
// split's partial (16 a warp) and every split's lse (4 a lane, in registers; each warp's weights come by shuffle)
// are loaded at once, instead of 8 partials a warp first, the lse by a loop, the weights' lse from L1 one by one,
// then the next 8 partials. Same sums in the same order, so the same bits as combineRow. Registers: 16 float4
// live, hence 2 CTAs an SM instead of 3 where it is built in (bench/cuda/hopper/combine_trip.cu times both).
// MLA_COMBINE_ONE_TRIP=2: the same, and at b = 1 the request's loads do not wait for numSplits either (kSpec below):
// the whole merge is then one round trip (numSplits, every lse and every partial at once), then the stores. (Only at
// b = 1: with more requests, request 0's early loads would read up to 128 slots of the others' partials for nothing.)
// MLA_COMBINE_ONE_TRIP=3: as 1 with 13 partials a lane (<= 104 splits: b = 1 s_k 32768's 103 on 132 SMs, the uneven
// batch's 101), which fits the library's 80 registers, so 3 CTAs an SM as now (its kSpec twin spills 8 bytes).
#ifndef MLA_COMBINE_ONE_TRIP
#define MLA_COMBINE_ONE_TRIP 3
#endif

// The lse of a row over its nSplit split partials (lse_s at lseRow[s * slotStride]), by one warp: max, then sum.
// empty: no split saw a key (a causal row with no visible key); its lse is +inf.
__device__ __forceinline__ float splitLse(const float* lseRow, int64_t slotStride, int nSplit, int lane, bool& empty) {
  float mx = -INFINITY;
  for (int s = lane; s < nSplit; s += 32) mx = fmaxNaN(mx, lseRow[s * slotStride]); // (a NaN piece: the row NaN)
  mx = warpMaxNaN(mx);
  float sum = 0.f;
  if (mx != -INFINITY) for (int s = lane; s < nSplit; s += 32) sum += __expf(lseRow[s * slotStride] - mx);
  sum = warpSum(sum);
  empty = mx == -INFINITY;
  return empty ? INFINITY : mx + __logf(sum);
}

// The end of a merged row, for both merges: each warp's sum of its splits into `part`, warp 0 adds them up and stores the
// output chunk (128 values, 4 a lane) and, once a row, its lse. Two CTA barriers: part is reused by the next row.
template <typename T>
__device__ __forceinline__ void storeMergedRow(const MlaParams& p, float4 (*part)[32], float4 acc, int nWarps, int batch, int qStart, int j,
                                               int h, int chunk, float lse) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  part[warp][lane] = acc;
  __syncthreads();
  if (warp == 0) {
#pragma unroll
    for (int w = 1; w < nWarps; ++w) {
      const float4 x = part[w][lane];
      acc.x += x.x; acc.y += x.y; acc.z += x.z; acc.w += x.w;
    }
    using H = Half<T>;
    using T2 = typename H::T2;
    T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + chunk * 128 + lane * 4;
    reinterpret_cast<T2*>(out)[0] = H::pack(acc.x, acc.y);
    reinterpret_cast<T2*>(out)[1] = H::pack(acc.z, acc.w);
    if (chunk == 0 && lane == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
  }
  __syncthreads();
}

template <typename T>
__device__ void combineRow(const MlaParams& p, int batch, int r, int chunk, float4 (*part)[32]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nWarps = blockDim.x / 32;
  const int j = r / p.hQ, h = r - j * p.hQ;
  const int first = p.numSplits[batch], nSplit = p.numSplits[batch + 1] - first;
  int qStart, qLen;
  queryRange(p, batch, qStart, qLen);
  if (j >= qLen) return; // CTA-uniform, like nSplit

  const int64_t row0 = (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
  const int64_t slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
  const float* lseRow = p.lseAccum + row0;
  const float* base = p.oAccum + row0 * kDV + chunk * 128 + lane * 4;

  // This warp's first partials, loaded before the lse is known; each is selected by its weight below (a split
  // that saw no key has weight 0 and may have left its partial unwritten).
  float4 v[kCombineLoads];
#pragma unroll
  for (int u = 0; u < kCombineLoads; ++u) {
    const int s = warp + u * nWarps;
    v[u] = s < nSplit ? *reinterpret_cast<const float4*>(base + s * slotStride * kDV) : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  // lse over the splits, by every warp on its own.
  bool empty;
  const float lse = splitLse(lseRow, slotStride, nSplit, lane, empty);

  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
    for (int s0 = warp; s0 < nSplit; s0 += kCombineLoads * nWarps) {
      if (s0 != warp) {
#pragma unroll
        for (int u = 0; u < kCombineLoads; ++u) { // independent loads in flight before the first use
          const int s = s0 + u * nWarps;
          v[u] = s < nSplit ? *reinterpret_cast<const float4*>(base + s * slotStride * kDV) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
      }
#pragma unroll
      for (int u = 0; u < kCombineLoads; ++u) {
        const int s = s0 + u * nWarps;
        const float w = s < nSplit ? __expf(lseRow[s * slotStride] - lse) : 0.f;
        if (w != 0.f) { acc.x += w * v[u].x; acc.y += w * v[u].y; acc.z += w * v[u].z; acc.w += w * v[u].w; } // weight 0: exactly nothing
      }
    }
  }
  storeMergedRow<T>(p, part, acc, nWarps, batch, qStart, j, h, chunk, lse);
}

// combineRow in one round trip (MLA_COMBINE_ONE_TRIP above): 8 warps, 2 <= nSplit <= 8 * kOneTripLoads.
// kOneTripLoads: partials a lane loads at once (warp w: splits w, w + 8, ..., w + 120); kOneTripLse = ceil(kOneTripLoads / 4):
// the lse values a lane holds (lane l: splits l, l + 32, l + 64, l + 96). kSpec (MLA_COMBINE_ONE_TRIP=2), b = 1
// only: the request's partials start at slot 0 whatever numSplits says, so they are loaded together with numSplits instead of
// after it, as many as the workspace has slots (b + numSmParts, src/core/scheduler.ts maxPartials) up to 128; the
// splits past nSplit get weight 0 (their slots may hold anything). Returns 0 (row merged or past qLen), 1 (nSplit <= 1:
// the decode wrote it), 2 (more splits than this path takes: combineRow's turn). Every return is CTA-uniform.
template <typename T, int kOneTripLoads, bool kSpec, int kOneTripLse = (kOneTripLoads + 3) / 4>
__device__ int combineRowOneTrip(const MlaParams& p, int batch, int r, int chunk, float4 (*part)[32]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int j = r / p.hQ, h = r - j * p.hQ;
  const int first = kSpec ? 0 : p.numSplits[batch], nSplit = p.numSplits[batch + 1] - first; // kSpec: batch 0
  const int bound = kSpec ? min(p.b + p.numSmParts, kCombineMaxWarps * kOneTripLoads) : nSplit; // slots loaded
  int qStart, qLen;
  if (!kSpec) { // (c1: as combineRow, the row's range before its loads)
    queryRange(p, batch, qStart, qLen);
    if (j >= qLen) return 0;
  }

  const int64_t row0 = (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
  const int64_t slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
  const float* lseRow = p.lseAccum + row0;
  const float* base = p.oAccum + row0 * kDV + chunk * 128 + lane * 4;
  // (running pointers, not base + s * stride: a loop over rows would otherwise keep 16 hoisted offsets live)
  float4 v[kOneTripLoads];
  const float* at = base + warp * slotStride * kDV;
#pragma unroll
  for (int u = 0; u < kOneTripLoads; ++u, at += kCombineMaxWarps * slotStride * kDV) {
    v[u] = warp + u * kCombineMaxWarps < bound ? *reinterpret_cast<const float4*>(at) : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  float l[kOneTripLse];
  const float* lat = lseRow + lane * slotStride;
#pragma unroll
  for (int i = 0; i < kOneTripLse; ++i, lat += 32 * slotStride) l[i] = lane + 32 * i < bound ? *lat : -INFINITY;
  if (kSpec) {
    if (nSplit <= 1) return 1;
    if (nSplit > kCombineMaxWarps * kOneTripLoads) return 2;
    queryRange(p, batch, qStart, qLen);
    if (j >= qLen) return 0;
#pragma unroll
    for (int i = 0; i < kOneTripLse; ++i) l[i] = lane + 32 * i < nSplit ? l[i] : -INFINITY;
  }
  // splitLse's max and sum, in its order (a split past nSplit adds exp(-inf) = +0)
  float mx = l[0];
#pragma unroll
  for (int i = 1; i < kOneTripLse; ++i) mx = fmaxNaN(mx, l[i]);
  mx = warpMaxNaN(mx);
  float sum = 0.f;
  if (mx != -INFINITY) {
#pragma unroll
    for (int i = 0; i < kOneTripLse; ++i) sum += __expf(l[i] - mx);
  }
  sum = warpSum(sum);
  const bool empty = mx == -INFINITY;
  const float lse = empty ? INFINITY : mx + __logf(sum);

  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
#pragma unroll
    for (int u = 0; u < kOneTripLoads; ++u) { // split s = warp + 8u sits in lane s % 32, register s / 32 = u / 4
      const int s = warp + u * kCombineMaxWarps;
      const float ls = __shfl_sync(0xffffffffu, l[u / 4], warp + kCombineMaxWarps * (u % 4));
      const float w = s < nSplit ? __expf(ls - lse) : 0.f;
      if (w != 0.f) { acc.x += w * v[u].x; acc.y += w * v[u].y; acc.z += w * v[u].z; acc.w += w * v[u].w; } // weight 0: exactly nothing
    }
  }
  storeMergedRow<T>(p, part, acc, kCombineMaxWarps, batch, qStart, j, h, chunk, lse);
  return 0;
}

/** CTA (batch, y, chunk) merges rows y*combineRows .. +combineRows of request `batch`, columns chunk*128..+128. */
template <typename T>
__device__ void combine(const MlaParams& p) {
  __shared__ float4 part[kCombineMaxWarps][32];
  pdlWait(); // the decode kernel's partials (and everything before it) are complete and visible
  pdlLaunchDependents();
  const int batch = blockIdx.x;
  if (p.numSplits[batch + 1] - p.numSplits[batch] <= 1) return; // written by the decode kernel
  const int r0 = blockIdx.y * p.combineRows, r1 = min(r0 + p.combineRows, p.sQ * p.hQ);
  for (int r = r0; r < r1; ++r) combineRow<T>(p, batch, r, blockIdx.z, part);
}

/** combine() with combineRowOneTrip where it applies (8 warps, at most 128 splits), combineRow elsewhere. */
template <typename T, int kOneTripLoads = 16, bool kSpec = false>
__device__ void combineOneTrip(const MlaParams& p) {
  __shared__ float4 part[kCombineMaxWarps][32];
  pdlWait();
  pdlLaunchDependents();
  const int batch = blockIdx.x;
  const int r0 = blockIdx.y * p.combineRows, r1 = min(r0 + p.combineRows, p.sQ * p.hQ);
  const bool eight = blockDim.x == 32 * kCombineMaxWarps;
  if (kSpec && eight && p.b == 1) { // loads first, numSplits beside them (b = 1 only: every slot is the request's)
#pragma unroll 1
    for (int r = r0; r < r1; ++r) {
      const int st = combineRowOneTrip<T, kOneTripLoads, true>(p, batch, r, blockIdx.z, part);
      if (st == 1) return; // written by the decode kernel
      if (st == 2) break; // more than 128 splits
      if (r == r1 - 1) return;
    }
  } else {
    const int nSplit = p.numSplits[batch + 1] - p.numSplits[batch];
    if (nSplit <= 1) return; // written by the decode kernel
    if (eight && nSplit <= kCombineMaxWarps * kOneTripLoads) {
#pragma unroll 1
      for (int r = r0; r < r1; ++r) combineRowOneTrip<T, kOneTripLoads, false>(p, batch, r, blockIdx.z, part);
      return;
    }
  }
  for (int r = r0; r < r1; ++r) combineRow<T>(p, batch, r, blockIdx.z, part);
}

// The harness's trace build (bench/cuda/hopper/harness.cu `tracecall`, compiled with MLA_SM90_TRACE): each CTA's
// %globaltimer and clock64 at entry and once all its threads are done, and its SM, into
// mlaCombineTrace[linear block][kCombineTraceSlots] (null: nothing recorded). Without the macro nothing is compiled.
#ifdef MLA_SM90_TRACE
constexpr int kCombineTraceSlots = 8; // 0 / 1 globaltimer / clock64 at entry, 2 / 3 at the end, 4 %smid
__device__ unsigned long long* mlaCombineTrace = nullptr;
__device__ __forceinline__ void combineTrace(int at) {
  if (at) __syncthreads(); // every thread of the CTA has returned from the merge
  if (threadIdx.x != 0 || !mlaCombineTrace) return;
  unsigned long long g, c;
  unsigned int sm, bx, by, bz, gx, gy; // read afresh (asm volatile), so no index stays live across the merge
  asm volatile("mov.u64 %0, %%globaltimer;\n" : "=l"(g));
  asm volatile("mov.u64 %0, %%clock64;\n" : "=l"(c));
  asm volatile("mov.u32 %0, %%smid;\n" : "=r"(sm));
  asm volatile("mov.u32 %0, %%ctaid.x;\n" : "=r"(bx));
  asm volatile("mov.u32 %0, %%ctaid.y;\n" : "=r"(by));
  asm volatile("mov.u32 %0, %%ctaid.z;\n" : "=r"(bz));
  asm volatile("mov.u32 %0, %%nctaid.x;\n" : "=r"(gx));
  asm volatile("mov.u32 %0, %%nctaid.y;\n" : "=r"(gy));
  unsigned long long* t = mlaCombineTrace + (bx + static_cast<unsigned long long>(gx) * (by + gy * bz)) * kCombineTraceSlots;
  t[2 * at] = g;
  t[2 * at + 1] = c;
  t[4] = sm;
}
#define MLA_COMBINE_TRACE(at) mla::combineTrace(at)
#else
#define MLA_COMBINE_TRACE(at) do { } while (0)
#endif

// combineWarps: one warp a row (session 11). combine() above gives a CTA combineRows rows in turn, each through two
// CTA barriers and a shared-memory reduction, which suits few rows with many splits (b = 1: one request over every
// SM part) but not a large batch: at b = 128 with 128 rows (combineRows 32) it took 186-192 us of a 692 us call
// at s_k 8192, 221-237 us at 256 rows (H200, harness_gap). Here a warp owns a row r = j * hQ + h of a request: lane
// l the columns 4l + 128c (c = 0..3, four coalesced 512-byte rows of float4), its first kRowSplits splits' partials
// loaded before the lse is known (16 float4 a lane in flight), the lse over the splits by the warp itself; no
// shared memory, no CTA barrier, every row independent. Launch: grid (b, ceil(sQ * hQ / 8)), 256 threads
// (launch.ts combineWarpsLaunch); the library picks it where combineRows > 1 (many rows, few splits a request).
constexpr int kRowSplits = 4; // splits whose partials a lane loads at once (a b = 128 request has ~2-3)

template <typename T, int kSplits = kRowSplits>
__device__ void combineWarps(const MlaParams& p) {
  pdlWait(); // the decode kernel's partials are complete and visible
  pdlLaunchDependents();
  const int batch = blockIdx.x;
  const int first = p.numSplits[batch], nSplit = p.numSplits[batch + 1] - first;
  if (nSplit <= 1) return; // written by the decode kernel
  const int lane = threadIdx.x % 32, r = blockIdx.y * (blockDim.x / 32) + threadIdx.x / 32;
  if (r >= p.sQ * p.hQ) return; // warp-uniform
  const int j = r / p.hQ, h = r - j * p.hQ;
  int qStart, qLen;
  queryRange(p, batch, qStart, qLen);
  if (j >= qLen) return;

  const int64_t row0 = (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
  const int64_t slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
  const float* lseRow = p.lseAccum + row0;
  const float* base = p.oAccum + row0 * kDV + lane * 4;
  // The first splits' partials, ahead of the lse (a split that saw no key has weight 0 and may be unwritten).
  float4 v[kSplits][4];
#pragma unroll
  for (int u = 0; u < kSplits; ++u)
#pragma unroll
    for (int c = 0; c < 4; ++c)
      v[u][c] = u < nSplit ? *reinterpret_cast<const float4*>(base + u * slotStride * kDV + 128 * c) : make_float4(0.f, 0.f, 0.f, 0.f);
  bool empty;
  const float lse = splitLse(lseRow, slotStride, nSplit, lane, empty);

  float4 acc[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
    for (int s0 = 0; s0 < nSplit; s0 += kSplits) {
      if (s0 != 0) {
#pragma unroll
        for (int u = 0; u < kSplits; ++u)
#pragma unroll
          for (int c = 0; c < 4; ++c)
            v[u][c] = s0 + u < nSplit ? *reinterpret_cast<const float4*>(base + (s0 + u) * slotStride * kDV + 128 * c) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
#pragma unroll
      for (int u = 0; u < kSplits; ++u) {
        const int s = s0 + u;
        const float w = s < nSplit ? __expf(lseRow[s * slotStride] - lse) : 0.f;
        if (w != 0.f) { // weight 0: exactly nothing
#pragma unroll
          for (int c = 0; c < 4; ++c) { acc[c].x += w * v[u][c].x; acc[c].y += w * v[u][c].y; acc[c].z += w * v[u][c].z; acc[c].w += w * v[u][c].w; }
        }
      }
    }
  }
  using H = Half<T>;
  using T2 = typename H::T2;
  T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + lane * 4;
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    reinterpret_cast<T2*>(out + 128 * c)[0] = H::pack(acc[c].x, acc[c].y);
    reinterpret_cast<T2*>(out + 128 * c)[1] = H::pack(acc[c].z, acc[c].w);
  }
  if (lane == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
}

// combineQuarter: one warp a quarter of a row (session 38), for requests in 5 to 16 pieces (more take ceil(pieces / 16)
// round trips). combineWarps loads kRowSplits (4) pieces at a time, so a request in 12 pieces (b = 10 s_k 3000 at 16
// rows under the 'fill' plan) took three round trips, ~5.9 us a merge on an H200 (session 38, call 6, ncu). Here lane l
// of warp (row r, quarter c) owns columns 128c + 4l .. + 3 and loads all of its row's first kQuarterSplits pieces before
// the lse is known, so the partials, the lse and the weights are one round trip. Per column the same sums in the same
// order as combineWarps (the weights by __expf of the same lse, added piece by piece from the first), so the same bits.
// Launch: grid (b, ceil(sQ * hQ / 2)), 256 threads (launch.ts combineQuarterLaunch).
constexpr int kQuarterSplits = 16;

// kSplits: the pieces a lane loads at once (16: mla_combine_quarter; 32: mla_combine_q32, below).
template <typename T, int kSplits = kQuarterSplits>
__device__ void combineQuarter(const MlaParams& p) {
  pdlWait(); // the decode kernel's partials are complete and visible
  pdlLaunchDependents();
  const int batch = blockIdx.x;
  const int first = p.numSplits[batch], nSplit = p.numSplits[batch + 1] - first;
  if (nSplit <= 1) return; // written by the decode kernel
  const int lane = threadIdx.x % 32, w = blockIdx.y * (blockDim.x / 32) + threadIdx.x / 32, r = w >> 2, quarter = w & 3;
  if (r >= p.sQ * p.hQ) return; // warp-uniform
  const int j = r / p.hQ, h = r - j * p.hQ;
  int qStart, qLen;
  queryRange(p, batch, qStart, qLen);
  if (j >= qLen) return;

  const int64_t row0 = (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
  const int64_t slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
  const float* lseRow = p.lseAccum + row0;
  const float* base = p.oAccum + row0 * kDV + 128 * quarter + lane * 4;
  float4 v[kSplits];
#pragma unroll
  for (int u = 0; u < kSplits; ++u)
    v[u] = u < nSplit ? *reinterpret_cast<const float4*>(base + u * slotStride * kDV) : make_float4(0.f, 0.f, 0.f, 0.f);
  bool empty;
  const float lse = splitLse(lseRow, slotStride, nSplit, lane, empty);

  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
    for (int s0 = 0; s0 < nSplit; s0 += kSplits) {
      if (s0 != 0) {
#pragma unroll
        for (int u = 0; u < kSplits; ++u)
          v[u] = s0 + u < nSplit ? *reinterpret_cast<const float4*>(base + (s0 + u) * slotStride * kDV) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
#pragma unroll
      for (int u = 0; u < kSplits; ++u) {
        const int s = s0 + u;
        const float wt = s < nSplit ? __expf(lseRow[s * slotStride] - lse) : 0.f;
        if (wt != 0.f) { acc.x += wt * v[u].x; acc.y += wt * v[u].y; acc.z += wt * v[u].z; acc.w += wt * v[u].w; } // weight 0: exactly nothing
      }
    }
  }
  using H = Half<T>;
  using T2 = typename H::T2;
  T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + 128 * quarter + lane * 4;
  reinterpret_cast<T2*>(out)[0] = H::pack(acc.x, acc.y);
  reinterpret_cast<T2*>(out)[1] = H::pack(acc.z, acc.w);
  if (quarter == 0 && lane == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
}

} // namespace mla

// Launch: grid (b, ceil(sQ * hQ / combineRows), 4), 256 threads, no dynamic shared memory (launch.ts
// combineLaunch). Three CTAs an SM (80 registers): the eight partials loaded ahead of the lse stay live across it,
// and without a bound ptxas picked 32-48 registers and spilled them.
#if MLA_COMBINE_ONE_TRIP == 3 // (a candidate's library build: 13 partials a lane, <= 104 splits in one trip, 80 registers)
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_bf16(const MlaParams p) { MLA_COMBINE_TRACE(0); mla::combineOneTrip<__nv_bfloat16, 13, false>(p); MLA_COMBINE_TRACE(1); }
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_f16(const MlaParams p) { mla::combineOneTrip<__half, 13, false>(p); }
#elif MLA_COMBINE_ONE_TRIP // (1, 2: two CTAs an SM, the one-trip path's 16 float4 live; 2: kSpec)
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_bf16(const MlaParams p) { mla::combineOneTrip<__nv_bfloat16, 16, MLA_COMBINE_ONE_TRIP == 2>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_f16(const MlaParams p) { mla::combineOneTrip<__half, 16, MLA_COMBINE_ONE_TRIP == 2>(p); }
#else
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_bf16(const MlaParams p) { mla::combine<__nv_bfloat16>(p); }
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_f16(const MlaParams p) { mla::combine<__half>(p); }
#endif
// The same launch with 16 partials a lane (<= 128 splits in one trip; two CTAs an SM): what launch.ts combineEntry picks
// where a request has more than 104 splits (session 23: b = 1 from s_k ~34K on FlashMLA's plan, and the 'fill' /
// 'auto' plans' 105-128-piece requests), where the 13-lane entry above takes two round trips.
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_t128_bf16(const MlaParams p) { mla::combineOneTrip<__nv_bfloat16, 16, false>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_t128_f16(const MlaParams p) { mla::combineOneTrip<__half, 16, false>(p); }
// combineWarps (one warp a row): grid (b, ceil(sQ * hQ / 8)), 256 threads, no dynamic shared memory.
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_warps_bf16(const MlaParams p) { MLA_COMBINE_TRACE(0); mla::combineWarps<__nv_bfloat16>(p); MLA_COMBINE_TRACE(1); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_warps_f16(const MlaParams p) { mla::combineWarps<__half>(p); }
// combineQuarter (one warp a quarter row, 16 pieces in flight): grid (b, ceil(sQ * hQ / 2)), 256 threads, no dynamic shared memory.
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_quarter_bf16(const MlaParams p) { mla::combineQuarter<__nv_bfloat16>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_quarter_f16(const MlaParams p) { mla::combineQuarter<__half>(p); }
// combineQuarter with 32 pieces a lane in one round trip (session 41; for requests in 17-32 pieces, which the 16-piece
// entry merges in two trips, and for the CTA merge's steps of many rows): one row a CTA of 128 threads (a warp a
// quarter), grid (b, sQ * hQ), three CTAs an SM (launch.ts combineQ32Launch). The same sums as mla_combine_quarter.
extern "C" __global__ void __launch_bounds__(128, 3) mla_combine_q32_bf16(const MlaParams p) { mla::combineQuarter<__nv_bfloat16, 32>(p); }
extern "C" __global__ void __launch_bounds__(128, 3) mla_combine_q32_f16(const MlaParams p) { mla::combineQuarter<__half, 32>(p); }
