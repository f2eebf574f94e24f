// Split-KV MLA decode with tensor cores (mma.sync m16n8k16, sm_80 and later). See docs/notes/cuda-decode.md.
//
// One CTA per (SM part, KV head g, tile of BM query rows). It walks the work items its part's metadata gives
// (src/core/scheduler.ts partWork) and for each: loads the BM x 576 query tile once, streams the item's keys in
// tiles of BN through a STAGES-deep cp.async ring, and keeps an online softmax in base 2. Warps form a WM x WN
// grid: warp (mw, nw) owns query rows mw*16..+16 throughout; for S = Q K^T it takes keys nw*BN/WN..+BN/WN, for
// O += P V it takes output columns nw*512/WN..+512/WN. Row maxima and sums of the WN warps sharing rows meet in
// shared memory, and P goes through shared memory to the warps that multiply it by V.
//
// Masking selects -inf (never multiplies), and keys past the item's end are zero-filled rather than loaded, so
// NaN in unused cache slots and out-of-range block-table entries past a sequence are never touched.
#include "params.h"
#include "common.cuh"
#include <type_traits>

namespace mla {

template <typename T, int BM, int BN, int STAGES, int NWARPS>
struct Decode {
  static constexpr int WM = BM / 16;
  static constexpr int WN = NWARPS / WM;
  static constexpr int KEYS_PER_WARP = BN / WN;
  static constexpr int NT_S = KEYS_PER_WARP / 8;
  static constexpr int COLS_PER_WARP = kDV / WN;
  static constexpr int NT_O = COLS_PER_WARP / 8;
  // Rows padded by 16 bytes: a row is an odd number of 16-byte units, so the 8 rows of an ldmatrix hit 8 banks groups.
  static constexpr int QK_STRIDE = kDQk + 8;
  static constexpr int P_STRIDE = BN + 8;
  static constexpr int Q_ELEMS = BM * QK_STRIDE;
  static constexpr int K_ELEMS = BN * QK_STRIDE;
  static constexpr int SMEM = (Q_ELEMS + STAGES * K_ELEMS + BM * P_STRIDE) * 2 + 2 * WN * BM * 4;
  static constexpr int THREADS = NWARPS * 32;
  static_assert(BM % 16 == 0 && NWARPS % WM == 0, "warps must tile the query rows");
  static_assert(KEYS_PER_WARP % 8 == 0 && KEYS_PER_WARP * WN == BN, "each warp needs whole 8-key MMA tiles");
  static_assert(COLS_PER_WARP % 16 == 0, "V columns go in pairs of 8-column tiles");
  static_assert(STAGES >= 1, "at least one key stage");
  using H = Half<T>;
  using T2 = typename H::T2;

  // One warp's S fragment (rows r, r + 8 of its quad; keys key0 + n * 8 + ...): keys at or past the row's limit
  // become -inf by selection (never multiplied: unused slots may hold NaN), the rest are scaled to base 2.
  // Returns the quad's maxima of the two rows.
  static __device__ __forceinline__ void maskRowMax(float (&sAcc)[NT_S][4], int key0, int lane, const int (&limit)[2], float scaleLog2, float (&tMax)[2]) {
    tMax[0] = tMax[1] = -INFINITY;
#pragma unroll
    for (int n = 0; n < NT_S; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = key0 + n * 8 + (lane % 4) * 2 + (e & 1);
        const float v = key < limit[e >> 1] ? sAcc[n][e] * scaleLog2 : -INFINITY;
        sAcc[n][e] = v;
        tMax[e >> 1] = fmaxf(tMax[e >> 1], v);
      }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) tMax[i] = quadMax(tMax[i]);
  }

  // P = exp2(S - base) into the P tile (rows r0, r1; columns from keyBase), adding each lane's part of the row sums.
  static __device__ __forceinline__ void expToP(const float (&sAcc)[NT_S][4], const float (&base)[2], T* pTile, int r0, int r1, int keyBase, int lane, float (&sum)[2]) {
#pragma unroll
    for (int n = 0; n < NT_S; ++n) {
      const float p0 = exp2f(sAcc[n][0] - base[0]), p1 = exp2f(sAcc[n][1] - base[0]);
      const float p2 = exp2f(sAcc[n][2] - base[1]), p3 = exp2f(sAcc[n][3] - base[1]);
      sum[0] += p0 + p1;
      sum[1] += p2 + p3;
      const int col = keyBase + n * 8 + (lane % 4) * 2;
      *reinterpret_cast<T2*>(pTile + r0 * P_STRIDE + col) = H::pack(p0, p1);
      *reinterpret_cast<T2*>(pTile + r1 * P_STRIDE + col) = H::pack(p2, p3);
    }
  }

  // One request of a part's work list (meta: its tile_scheduler_metadata row): the keys this part covers, where its
  // results go, its queries, and the keys each of the thread's two rows (rLoc, within the tile at m0) and the
  // tile as a whole may see. False when no row of the tile exists for the request.
  struct Item { int kBegin, tileEnd, nTiles, slot, qStart, qLen, liveRows, limit[2]; bool noSplit; };
  static __device__ __forceinline__ bool itemOf(const MlaParams& p, const int* meta, int batch, int m0, const int (&rLoc)[2], Item& it) {
    const int seqlen = p.cacheSeqlens[batch];
    it.kBegin = batch == meta[kMetaBeginIdx] ? meta[kMetaBeginSeqlen] : 0;
    const int kEnd = batch == meta[kMetaEndIdx] ? meta[kMetaEndSeqlen] : seqlen;
    it.slot = p.numSplits[batch] + (batch == meta[kMetaBeginIdx] ? meta[kMetaBeginNSplitIdx] : 0);
    it.noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
    queryRange(p, batch, it.qStart, it.qLen);
    it.liveRows = min(p.rows, it.qLen * p.nGroups);
    if (m0 >= it.liveRows) return false;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int m = m0 + rLoc[i];
      it.limit[i] = m < it.liveRows ? min(kEnd, visibleKeys(p, seqlen, it.qLen, m / p.nGroups)) : 0;
    }
    const int lastRow = min(m0 + BM, it.liveRows) - 1;
    it.tileEnd = min(kEnd, visibleKeys(p, seqlen, it.qLen, lastRow / p.nGroups));
    it.nTiles = it.tileEnd > it.kBegin ? (it.tileEnd - it.kBegin + BN - 1) / BN : 0;
    return true;
  }

  struct Smem {
    T* q;
    T* k;
    T* pTile;
    float* rowMax; // [WN][BM]
    float* rowSum; // [WN][BM]
  };

  static __device__ __forceinline__ Smem carve(unsigned char* base) {
    Smem s;
    s.q = reinterpret_cast<T*>(base);
    s.k = s.q + Q_ELEMS;
    s.pTile = s.k + STAGES * K_ELEMS;
    s.rowMax = reinterpret_cast<float*>(s.pTile + BM * P_STRIDE);
    s.rowSum = s.rowMax + WN * BM;
    return s;
  }

  // Keys [t0, t0 + BN) of the item into one stage; rows at or past kEnd become zeros. Warp w takes rows w, w+NWARPS, ...
  static __device__ __forceinline__ void loadKeys(const MlaParams& p, T* dst, int batch, int g, int t0, int kEnd, int warp, int lane) {
    const T* kc = static_cast<const T*>(p.kCache);
#pragma unroll
    for (int r = warp; r < BN; r += NWARPS) {
      const int t = t0 + r;
      const bool live = t < kEnd;
      const T* src = live ? kc + keyRow(p, batch, t, g) : kc;
      T* d = dst + r * QK_STRIDE;
#pragma unroll
      for (int c = lane; c < kDQk / 8; c += 32) cpAsync16(d + c * 8, src + c * 8, live ? 16 : 0);
    }
  }

  static __device__ __forceinline__ void loadQ(const MlaParams& p, T* dst, int g, int m0, int qStart, int qLen, int warp, int lane) {
    const T* q = static_cast<const T*>(p.q);
    for (int r = warp; r < BM; r += NWARPS) {
      const int m = m0 + r, j = m / p.nGroups;
      const bool live = m < p.rows && j < qLen;
      const int h = g * p.nGroups + (m - j * p.nGroups);
      const T* src = live ? q + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk : q;
      T* d = dst + r * QK_STRIDE;
#pragma unroll
      for (int c = lane; c < kDQk / 8; c += 32) cpAsync16(d + c * 8, src + c * 8, live ? 16 : 0);
    }
  }

  static __device__ void run(const MlaParams& p) {
    extern __shared__ __align__(16) unsigned char smemRaw[];
    const Smem s = carve(smemRaw);
    const int part = blockIdx.x, g = blockIdx.y, m0 = blockIdx.z * BM;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int mw = warp % WM, nw = warp / WM;
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    // This thread's two accumulator rows (within the tile) in both phases.
    const int rLoc[2] = {mw * 16 + lane / 4, mw * 16 + lane / 4 + 8};

    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      Item req;
      if (!itemOf(p, meta, batch, m0, rLoc, req)) continue; // nothing of this tile exists for this request
      const int kBegin = req.kBegin, tileEnd = req.tileEnd, nTiles = req.nTiles, qStart = req.qStart, qLen = req.qLen;

      float o[NT_O][4];
#pragma unroll
      for (int n = 0; n < NT_O; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
      float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};

      loadQ(p, s.q, g, m0, qStart, qLen, warp, lane);
      cpAsyncCommit(); // its own group, so an item with no key tile still waits for it
      if constexpr (STAGES > 1) {
#pragma unroll
        for (int st = 0; st < STAGES - 1; ++st) {
          if (st < nTiles) loadKeys(p, s.k + st * K_ELEMS, batch, g, kBegin + st * BN, tileEnd, warp, lane);
          cpAsyncCommit();
        }
      }

      for (int it = 0; it < nTiles; ++it) {
        const int t0 = kBegin + it * BN;
        T* kt;
        if constexpr (STAGES > 1) {
          cpAsyncWait<STAGES - 2>();
          __syncthreads();
          const int nxt = it + STAGES - 1;
          if (nxt < nTiles) loadKeys(p, s.k + (nxt % STAGES) * K_ELEMS, batch, g, kBegin + nxt * BN, tileEnd, warp, lane);
          cpAsyncCommit();
          kt = s.k + (it % STAGES) * K_ELEMS;
        } else {
          loadKeys(p, s.k, batch, g, t0, tileEnd, warp, lane);
          cpAsyncCommit();
          cpAsyncWait<0>();
          __syncthreads();
          kt = s.k;
        }

        // S = Q K^T for this warp's 16 rows x KEYS_PER_WARP keys.
        float sAcc[NT_S][4];
#pragma unroll
        for (int n = 0; n < NT_S; ++n) sAcc[n][0] = sAcc[n][1] = sAcc[n][2] = sAcc[n][3] = 0.f;
        const T* qRow = s.q + (mw * 16 + lane % 16) * QK_STRIDE + (lane / 16) * 8;
        const int keyBase = nw * KEYS_PER_WARP;
#pragma unroll 4
        for (int kk = 0; kk < kDQk / 16; ++kk) qkStep<T, NT_S, QK_STRIDE>(sAcc, qRow, kt, keyBase, kk, lane);

        // Mask by selection, scale to base 2, row maxima across the WN warps sharing these rows.
        float tMax[2];
        maskRowMax(sAcc, t0 + keyBase, lane, req.limit, p.scaleLog2, tMax);
        float base[2], alpha[2], tSum[2] = {0.f, 0.f};
        mergeTileMax<WN, BM>(tMax, s.rowMax, nw, rLoc, lane, mRow, base, alpha);
        expToP(sAcc, base, s.pTile, rLoc[0], rLoc[1], keyBase, lane, tSum);
        finishTileSums<WN, BM, NT_O>(tSum, s.rowSum, nw, rLoc, lane, alpha, lRow, o);

        // O += P V for this warp's 16 rows x COLS_PER_WARP columns; V is the first 512 columns of the key rows.
        const T* pRow = s.pTile + (mw * 16 + lane % 16) * P_STRIDE + (lane / 16) * 8;
        const int colBase = nw * COLS_PER_WARP;
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
          uint32_t a[4];
          ldmatrixX4(a, pRow + kk * 16);
          const T* vRow = kt + (kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * QK_STRIDE + colBase + (lane / 16) * 8;
#pragma unroll
          for (int n = 0; n < NT_O; n += 2) {
            uint32_t b[4];
            ldmatrixX4T(b, vRow + n * 8);
            H::mma(o[n], a, b);
            H::mma(o[n + 1], a, b + 2);
          }
        }
        if constexpr (STAGES == 1) __syncthreads();
      }
      cpAsyncWait<0>();

      // Epilogue: normalise and write out/lse directly, or the f32 partials for the combine kernel.
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int m = m0 + rLoc[i];
        if (m >= req.liveRows) continue;
        const int j = m / p.nGroups, h = g * p.nGroups + (m - j * p.nGroups);
        const bool empty = lRow[i] == 0.f;
        const float inv = empty ? 0.f : 1.f / lRow[i];
        const float lse = empty ? (req.noSplit ? INFINITY : -INFINITY) : (mRow[i] + log2f(lRow[i])) * 0.69314718055994531f;
        if (req.noSplit) {
          T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + colBase0(nw) + (lane % 4) * 2;
#pragma unroll
          for (int n = 0; n < NT_O; ++n) *reinterpret_cast<T2*>(out + n * 8) = H::pack(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
          if (nw == 0 && lane % 4 == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
        } else {
          const int64_t row = (static_cast<int64_t>(req.slot) * p.sQ + j) * p.hQ + h;
          float* acc = p.oAccum + row * kDV + colBase0(nw) + (lane % 4) * 2;
#pragma unroll
          for (int n = 0; n < NT_O; ++n) *reinterpret_cast<float2*>(acc + n * 8) = make_float2(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
          if (nw == 0 && lane % 4 == 0) p.lseAccum[row] = lse;
        }
      }
      __syncthreads(); // the next item overwrites the query tile and the key stages
    }
  }

  static __device__ __forceinline__ int colBase0(int nw) { return nw * COLS_PER_WARP; }
};

// The 32-row shape (rows 17..32, memory-bound): the same S phase as Decode (warp (mw, nw): 16 rows x BN/WN keys),
// but the first QREGS k-steps of the warp's query fragments stay in registers for the whole item, and in the PV
// phase every warp takes all BM rows x 512/NWARPS columns, so each V fragment is read from shared memory once per
// CTA instead of once per row group. Row sums are kept per thread (each thread's own keys, rescaled like O) and
// added across the quad and the WN warps once, in the epilogue: a tile needs no row-sum exchange.
template <typename T, int BM, int BN, int STAGES, int NWARPS, int QREGS>
struct DecodeRows {
  using Base = Decode<T, BM, BN, STAGES, NWARPS>;
  static constexpr int WM = Base::WM;
  static constexpr int WN = Base::WN;
  static constexpr int KEYS_PER_WARP = Base::KEYS_PER_WARP;
  static constexpr int NT_S = Base::NT_S;
  static constexpr int MH = BM / 16; // 16-row halves every warp covers in the PV phase
  static constexpr int COLS_PER_WARP = kDV / NWARPS;
  static constexpr int NT_O = COLS_PER_WARP / 8;
  static constexpr int QK_STRIDE = Base::QK_STRIDE;
  static constexpr int P_STRIDE = Base::P_STRIDE;
  static constexpr int Q_ELEMS = Base::Q_ELEMS;
  static constexpr int K_ELEMS = Base::K_ELEMS;
  static constexpr int SMEM = (Q_ELEMS + STAGES * K_ELEMS + BM * P_STRIDE) * 2 + (2 * WN * BM + 2 * BM) * 4;
  static_assert(STAGES >= 2, "the tile loop's first barrier is what keeps P and alpha alive until PV has read them");
  static_assert(NT_S % 2 == 0 && NT_O % 2 == 0, "ldmatrix.x4 pairs on both phases");
  static_assert(QREGS >= 0 && QREGS <= kDQk / 16, "k-steps held in registers");
  using H = Half<T>;
  using T2 = typename H::T2;

  static __device__ void run(const MlaParams& p) {
    extern __shared__ __align__(16) unsigned char smemRaw[];
    T* const sq = reinterpret_cast<T*>(smemRaw);
    T* const sk = sq + Q_ELEMS;
    T* const sp = sk + STAGES * K_ELEMS;
    float* const rowMax = reinterpret_cast<float*>(sp + BM * P_STRIDE); // [WN][BM] tile maxima
    float* const rowSum = rowMax + WN * BM;                             // [WN][BM] sums, epilogue only
    float* const alphaS = rowSum + WN * BM;                             // [BM] this tile's rescale factor
    float* const mFinal = alphaS + BM;                                  // [BM] running max, epilogue only
    const int part = blockIdx.x, g = blockIdx.y, m0 = blockIdx.z * BM;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int mw = warp % WM, nw = warp / WM;
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    // S-phase rows of this thread (within the tile); PV-phase rows are h * 16 + lane / 4 (+ 8) for each half h.
    const int rLoc[2] = {mw * 16 + lane / 4, mw * 16 + lane / 4 + 8};
    const int keyBase = nw * KEYS_PER_WARP, colBase = warp * COLS_PER_WARP;

    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      typename Base::Item req;
      if (!Base::itemOf(p, meta, batch, m0, rLoc, req)) continue;
      const int kBegin = req.kBegin, tileEnd = req.tileEnd, nTiles = req.nTiles, qStart = req.qStart, qLen = req.qLen;

      float o[MH][NT_O][4];
#pragma unroll
      for (int h = 0; h < MH; ++h)
#pragma unroll
        for (int n = 0; n < NT_O; ++n) o[h][n][0] = o[h][n][1] = o[h][n][2] = o[h][n][3] = 0.f;
      float mRow[2] = {-INFINITY, -INFINITY}, lPart[2] = {0.f, 0.f};

      Base::loadQ(p, sq, g, m0, qStart, qLen, warp, lane);
      cpAsyncCommit();
#pragma unroll
      for (int st = 0; st < STAGES - 1; ++st) {
        if (st < nTiles) Base::loadKeys(p, sk + st * K_ELEMS, batch, g, kBegin + st * BN, tileEnd, warp, lane);
        cpAsyncCommit();
      }
      const T* qRow = sq + (mw * 16 + lane % 16) * QK_STRIDE + (lane / 16) * 8;
      [[maybe_unused]] uint32_t qf[QREGS > 0 ? QREGS : 1][4];
      if constexpr (QREGS > 0) {
        cpAsyncWait<STAGES - 1>(); // the query group (committed first) has landed; key stages may still fly
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < QREGS; ++kk) ldmatrixX4(qf[kk], qRow + kk * 16);
      }

      for (int it = 0; it < nTiles; ++it) {
        const int t0 = kBegin + it * BN;
        cpAsyncWait<STAGES - 2>();
        __syncthreads(); // stage `it` is complete, and everyone is done with the previous tile's P, alpha and stage
        const int nxt = it + STAGES - 1;
        if (nxt < nTiles) Base::loadKeys(p, sk + (nxt % STAGES) * K_ELEMS, batch, g, kBegin + nxt * BN, tileEnd, warp, lane);
        cpAsyncCommit();
        const T* kt = sk + (it % STAGES) * K_ELEMS;

        float sAcc[NT_S][4];
#pragma unroll
        for (int n = 0; n < NT_S; ++n) sAcc[n][0] = sAcc[n][1] = sAcc[n][2] = sAcc[n][3] = 0.f;
        const T* kRow = kt + (keyBase + lane % 8 + (lane / 16) * 8) * QK_STRIDE + ((lane / 8) % 2) * 8;
#pragma unroll
        for (int kk = 0; kk < kDQk / 16; ++kk) {
          uint32_t aS[4];
          const uint32_t* a = aS;
          if constexpr (QREGS > 0) {
            if (kk < QREGS) a = qf[kk < QREGS ? kk : 0];
            else ldmatrixX4(aS, qRow + kk * 16);
          } else {
            ldmatrixX4(aS, qRow + kk * 16);
          }
#pragma unroll
          for (int n = 0; n < NT_S; n += 2) {
            uint32_t b[4];
            ldmatrixX4(b, kRow + n * 8 * QK_STRIDE + kk * 16);
            H::mma(sAcc[n], a, b);
            H::mma(sAcc[n + 1], a, b + 2);
          }
        }

        float tMax[2];
        Base::maskRowMax(sAcc, t0 + keyBase, lane, req.limit, p.scaleLog2, tMax);
        if (lane % 4 == 0) { rowMax[nw * BM + rLoc[0]] = tMax[0]; rowMax[nw * BM + rLoc[1]] = tMax[1]; }
        __syncthreads(); // every warp's maxima for these rows are in
        float base[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          float x = rowMax[rLoc[i]];
#pragma unroll
          for (int w = 1; w < WN; ++w) x = fmaxf(x, rowMax[w * BM + rLoc[i]]);
          const float mNew = fmaxf(mRow[i], x);
          base[i] = mNew == -INFINITY ? 0.f : mNew; // no key yet: every exp2 below is exp2(-inf) = 0
          const float alpha = exp2f(mRow[i] - base[i]);
          mRow[i] = mNew;
          lPart[i] *= alpha;
          if (nw == 0 && lane % 4 == 0) alphaS[rLoc[i]] = alpha;
        }
        Base::expToP(sAcc, base, sp, rLoc[0], rLoc[1], keyBase, lane, lPart);
        __syncthreads(); // P and alpha are complete

#pragma unroll
        for (int h = 0; h < MH; ++h) {
          const float a0 = alphaS[h * 16 + lane / 4], a1 = alphaS[h * 16 + lane / 4 + 8];
#pragma unroll
          for (int n = 0; n < NT_O; ++n) {
            o[h][n][0] *= a0; o[h][n][1] *= a0;
            o[h][n][2] *= a1; o[h][n][3] *= a1;
          }
        }
        const T* pRow = sp + (lane % 16) * P_STRIDE + (lane / 16) * 8;
        const T* vRow = kt + (lane % 8 + ((lane / 8) % 2) * 8) * QK_STRIDE + colBase + (lane / 16) * 8;
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
          uint32_t a[MH][4];
#pragma unroll
          for (int h = 0; h < MH; ++h) ldmatrixX4(a[h], pRow + h * 16 * P_STRIDE + kk * 16);
#pragma unroll
          for (int n = 0; n < NT_O; n += 2) {
            uint32_t b[4];
            ldmatrixX4T(b, vRow + kk * 16 * QK_STRIDE + n * 8);
#pragma unroll
            for (int h = 0; h < MH; ++h) {
              H::mma(o[h][n], a[h], b);
              H::mma(o[h][n + 1], a[h], b + 2);
            }
          }
        }
      }
      cpAsyncWait<0>();

      // The row sums (quad, then the WN warps) and maxima to the PV-phase layout.
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const float l = quadSum(lPart[i]);
        if (lane % 4 == 0) {
          rowSum[nw * BM + rLoc[i]] = l;
          if (nw == 0) mFinal[rLoc[i]] = mRow[i];
        }
      }
      __syncthreads();
#pragma unroll
      for (int h = 0; h < MH; ++h) {
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int r = h * 16 + lane / 4 + i * 8, m = m0 + r;
          if (m >= req.liveRows) continue;
          float l = 0.f;
#pragma unroll
          for (int w = 0; w < WN; ++w) l += rowSum[w * BM + r];
          const int j = m / p.nGroups, hq = g * p.nGroups + (m - j * p.nGroups);
          const bool empty = l == 0.f;
          const float inv = empty ? 0.f : 1.f / l;
          const float lse = empty ? (req.noSplit ? INFINITY : -INFINITY) : (mFinal[r] + log2f(l)) * 0.69314718055994531f;
          if (req.noSplit) {
            T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + hq) * kDV + colBase + (lane % 4) * 2;
#pragma unroll
            for (int n = 0; n < NT_O; ++n) *reinterpret_cast<T2*>(out + n * 8) = H::pack(o[h][n][2 * i] * inv, o[h][n][2 * i + 1] * inv);
            if (warp == 0 && lane % 4 == 0) p.lse[batch * p.lseStrideB + hq * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
          } else {
            const int64_t row = (static_cast<int64_t>(req.slot) * p.sQ + j) * p.hQ + hq;
            float* acc = p.oAccum + row * kDV + colBase + (lane % 4) * 2;
#pragma unroll
            for (int n = 0; n < NT_O; ++n) *reinterpret_cast<float2*>(acc + n * 8) = make_float2(o[h][n][2 * i] * inv, o[h][n][2 * i + 1] * inv);
            if (warp == 0 && lane % 4 == 0) p.lseAccum[row] = lse;
          }
        }
      }
      __syncthreads(); // the next item overwrites the query tile, the key stages and the row arrays
    }
  }
};

template <typename T, int BM, int BN, int STAGES, int NWARPS, int QREGS>
using DecodeKernel = typename std::conditional<QREGS < 0, Decode<T, BM, BN, STAGES, NWARPS>, DecodeRows<T, BM, BN, STAGES, NWARPS, QREGS>>::type;

} // namespace mla

// One extern "C" entry per (dtype, variant); the variant list and its shared-memory sizes come from params.ts.
// QREGS < 0: Decode; QREGS >= 0: DecodeRows with that many query k-steps in registers.
#define MLA_DECODE_ENTRY(NAME, BM, BN, STAGES, NWARPS, QREGS, SMEM_BYTES)                                                       \
  static_assert(mla::DecodeKernel<__nv_bfloat16, BM, BN, STAGES, NWARPS, QREGS>::SMEM == SMEM_BYTES, "decode smem differs from launch.ts"); \
  extern "C" __global__ void __launch_bounds__(NWARPS * 32, 1) mla_decode_bf16_##NAME(const MlaParams p) {                      \
    mla::DecodeKernel<__nv_bfloat16, BM, BN, STAGES, NWARPS, QREGS>::run(p);                                                     \
  }                                                                                                                             \
  extern "C" __global__ void __launch_bounds__(NWARPS * 32, 1) mla_decode_f16_##NAME(const MlaParams p) {                       \
    mla::DecodeKernel<__half, BM, BN, STAGES, NWARPS, QREGS>::run(p);                                                            \
  }

MLA_DECODE_VARIANTS(MLA_DECODE_ENTRY)
