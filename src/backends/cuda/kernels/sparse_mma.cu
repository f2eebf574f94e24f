// Tiled token-sparse MLA decode with tensor cores (mma.sync m16n8k16, sm_80 and later; see
// docs/notes/cuda-sparse-decode.md), and dense (page-table) decode over FlashMLA's FP8 caches with the same kernel.
//
// One CTA of 8 warps per (SM part, query position j, tile of BM head rows) in sparse mode, or per (SM part, tile of
// BM of the sQ*hQ rows) in dense mode. The CTA walks the work items its part's scheduler row gives (sparse:
// FlashMLA's DecodingSchedMeta, 64-index blocks of a request's list; dense: the dense scheduler's token ranges).
// Per tile of 64 tokens: the raw token bytes (V3.2 656 B; MODEL1 576 B + its 8 scale bytes) arrive by cp.async in a
// staging buffer while the previous tile is being multiplied; then the tile is dequantized to bf16 in shared memory
// (cvt.rn.f16x2.e4m3x2 on sm_89+, bit operations before), and S = Q K^T and O += P V run as in decode.cu (warp
// (mw, nw) owns rows mw*16..+16; S: keys nw*64/WN..; PV: columns nw*512/WN..). A bf16/f16 cache is copied straight
// into the key tile (no staging, no overlap). Invalid entries (-1, past topkLength, past the item) read no memory:
// their bytes are zero-filled and their scores are -inf by selection, so NaN in unreferenced tokens never enters.
// The attention sink scales the normalized output (out *= 1 / (1 + exp(sink - lse)), lse unchanged) where a request
// is in one piece, else in mla_sparse_mma_combine, which merges the split partials.
#include <type_traits>

#include "params.h"
#include "common.cuh"
#include "pdl.cuh"

namespace mla {
namespace smma {

enum class Kind { V32, Model1, Half };

/** Raw bytes of one staged token, and where its parts sit. */
template <Kind K> struct Fmt;
template <> struct Fmt<Kind::V32> {
  static constexpr int RAW = 656, CHUNKS = 41, NOPE = 512, WORDS = 128, SCALE_OFF = 512, ROPE_OFF = 528, WORDS_PER_SCALE = 32;
};
template <> struct Fmt<Kind::Model1> {
  static constexpr int RAW = 592, CHUNKS = 36, NOPE = 448, WORDS = 112, SCALE_OFF = 576, ROPE_OFF = 448, WORDS_PER_SCALE = 16;
};
template <> struct Fmt<Kind::Half> {
  static constexpr int RAW = 0, CHUNKS = 0, NOPE = 0, WORDS = 0, SCALE_OFF = 0, ROPE_OFF = 0, WORDS_PER_SCALE = 1;
};

__device__ __forceinline__ void cpAsync8(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}

__device__ __forceinline__ float ue8m0(uint32_t b) {
  if (b == 255u) return __int_as_float(0x7fc00000);
  return b == 0u ? __uint_as_float(0x00400000u) : __uint_as_float(b << 23);
}

__device__ __forceinline__ float2 toFloat2(__nv_bfloat162 x) { return __bfloat1622float2(x); }
__device__ __forceinline__ float2 toFloat2(__half2 x) { return __half22float2(x); }

__device__ __forceinline__ uint32_t packBf16(float a, float b) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
  return *reinterpret_cast<const uint32_t*>(&h);
}

/** Four e4m3 bytes (little-endian in w) times the scale s, in f32 (exact for a power-of-two s: e4m3 has 4 significant bits). */
__device__ __forceinline__ float4 dequant4f(uint32_t w, float s) {
  uint32_t h01, h23;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm("{\n .reg .b16 lo, hi;\n mov.b32 {lo, hi}, %2;\n cvt.rn.f16x2.e4m3x2 %0, lo;\n cvt.rn.f16x2.e4m3x2 %1, hi;\n}\n" : "=r"(h01), "=r"(h23) : "r"(w));
  const float k = s;
#else
  // e4m3 -> f16 by moving the bits: same mantissa, exponent bias 7 vs 15, so the f16 reads 2^-8 of the value
  // (subnormals included); the scale takes the 2^8 back. e4m3's NaN (S.1111.111) is restored below.
  h01 = ((w & 0x7fu) << 7) | ((w & 0x80u) << 8) | ((w & 0x7f00u) << 15) | ((w & 0x8000u) << 16);
  h23 = ((w & 0x7f0000u) >> 9) | ((w & 0x800000u) >> 8) | ((w & 0x7f000000u) >> 1) | (w & 0x80000000u);
  const float k = s * 256.f;
#endif
  float2 a = __half22float2(*reinterpret_cast<const __half2*>(&h01)), b = __half22float2(*reinterpret_cast<const __half2*>(&h23));
  a.x *= k; a.y *= k; b.x *= k; b.y *= k;
#if !(defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890)
  const float nan = __int_as_float(0x7fc00000);
  if ((w & 0x7fu) == 0x7fu) a.x = nan;
  if ((w & 0x7f00u) == 0x7f00u) a.y = nan;
  if ((w & 0x7f0000u) == 0x7f0000u) b.x = nan;
  if ((w & 0x7f000000u) == 0x7f000000u) b.y = nan;
#endif
  return make_float4(a.x, a.y, b.x, b.y);
}

/** Four e4m3 bytes (little-endian in w) times the power-of-two scale s -> four bf16 (exact: e4m3 has 4 significant bits). */
__device__ __forceinline__ uint2 dequant4(uint32_t w, float s) {
  const float4 v = dequant4f(w, s);
  return make_uint2(packBf16(v.x, v.y), packBf16(v.z, v.w));
}

/** Eight f16 values (a 16-byte word) as two bf16 words, hi and lo with x = hi + lo exactly: hi = bf16(x) keeps 8
    significant bits, x - hi (exact in f32) the other 3 or fewer, and bf16's exponent range holds every f16 value. */
__device__ __forceinline__ void splitHalf8(uint4 w, uint4& hi, uint4& lo) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(&w);
  uint32_t* h = reinterpret_cast<uint32_t*>(&hi);
  uint32_t* l = reinterpret_cast<uint32_t*>(&lo);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&u[i]));
    const __nv_bfloat162 b = __floats2bfloat162_rn(f.x, f.y);
    const float2 g = __bfloat1622float2(b);
    h[i] = *reinterpret_cast<const uint32_t*>(&b);
    l[i] = packBf16(f.x - g.x, f.y - g.y);
  }
}

// An f16 query over an FP8 cache (QS): the key tile is bf16 (the dequantized e4m3 times its power-of-two scale, exact;
// the RoPE dims as stored), and Q is held as two bf16 tiles, hi and lo (splitHalf8), so S = Q_hi K^T + Q_lo K^T: every
// product exact, sums in f32. P and the P V product stay bf16 hi + lo as for bf16 queries; only out is f16. The second
// Q tile leaves no room for BM = 64 (chooseSparseMma takes 32-row tiles there).
template <Kind K, typename T, int DQK, int BM>
struct SparseMma {
  static constexpr bool QS = K != Kind::Half && std::is_same<T, __half>::value;
  /** The element of the Q, key and P tiles: T for a 16-bit cache, bf16 for FP8 caches. */
  using E = typename std::conditional<K == Kind::Half, T, __nv_bfloat16>::type;
  static constexpr int BN = 64, NWARPS = 8, THREADS = NWARPS * 32;
  static constexpr int WM = BM / 16, WN = NWARPS / WM;
  static constexpr int KEYS_PER_WARP = BN / WN, NT_S = KEYS_PER_WARP / 8;
  static constexpr int COLS_PER_WARP = kDV / WN, NT_O = COLS_PER_WARP / 8;
  static constexpr int QK_STRIDE = DQK + 8, P_STRIDE = BN + 8;
  static constexpr int RAW = Fmt<K>::RAW;
  static constexpr int Q_TILES = QS ? 2 : 1;
  static constexpr int SMEM_BASE = (Q_TILES * BM * QK_STRIDE + BN * QK_STRIDE + 2 * BM * P_STRIDE) * 2 + 2 * WN * BM * 4 + 4 * BN * 4;
  // Two staging buffers where they fit Hopper's 227 KiB (a tile stays in flight while the previous one is
  // dequantized), else one. A 16-bit cache has none: it is copied straight into the key tile.
  static constexpr int RS = K == Kind::Half ? 0 : SMEM_BASE + 2 * BN * RAW <= 232448 ? 2 : 1;
  static constexpr int SMEM = SMEM_BASE + RS * BN * RAW;
  // Dequantization words in flight per thread: few where the 64-row tile's accumulators fill the registers.
  static constexpr int DQ_UNROLL = BM == 64 ? 2 : 8;
  static constexpr int QK_UNROLL = 2, PV_UNROLL = BM == 64 ? 1 : 4; // PV: no spills at 64 rows
  static_assert(BM == 16 || BM == 32 || BM == 64, "row tiles of 16, 32 or 64");
  static_assert(KEYS_PER_WARP % 8 == 0 && COLS_PER_WARP % 16 == 0, "whole MMA tiles per warp");
  static_assert(DQK % 16 == 0 && (K == Kind::Half || DQK == (K == Kind::V32 ? 576 : 512)), "dQk of the format");
  static_assert(std::is_same<T, __nv_bfloat16>::value || std::is_same<T, __half>::value, "bf16 or f16 queries");
  static_assert(!QS || BM <= 32, "an f16 query over an FP8 cache: Q hi + lo tiles fit 32-row tiles only");
  using H = Half<E>;  // the tiles' products
  using T2 = typename H::T2;
  using HO = Half<T>; // out

  struct Smem { E* q; E* k; E* p; float* rowMax; float* rowSum; int* flags; unsigned char* raw; };
  static __device__ __forceinline__ Smem carve(unsigned char* base) {
    Smem s;
    s.q = reinterpret_cast<E*>(base);
    s.k = s.q + Q_TILES * BM * QK_STRIDE;
    s.p = s.k + BN * QK_STRIDE;
    s.rowMax = reinterpret_cast<float*>(s.p + 2 * BM * P_STRIDE); // P = hi + lo: two tiles
    s.rowSum = s.rowMax + WN * BM;
    s.flags = reinterpret_cast<int*>(s.rowSum + WN * BM);
    s.raw = reinterpret_cast<unsigned char*>(s.flags + 4 * BN);
    return s;
  }

  /** One request's piece of this part: entries [eBegin, eEnd) of its list, and where the result goes. */
  struct Item {
    int batch, eBegin, eEnd, slot, mainLen, mainRegion, extraLen, seqlen;
    bool noSplit;
  };

  // Entry e of the item's list -> physical token id (or -1) and which cache it is in.
  static __device__ __forceinline__ int entry(const SparseMmaParams& p, const Item& it, int j, int e, bool& extra) {
    extra = false;
    if (e >= it.eEnd) return -1;
    if (p.dense) {
      const int page = e / p.pageBlockSize;
      return p.blockTable[static_cast<int64_t>(it.batch) * p.maxBlocksPerSeq + page] * p.pageBlockSize + (e - page * p.pageBlockSize);
    }
    const int64_t rowQ = static_cast<int64_t>(it.batch) * p.sQ + j;
    if (e < it.mainRegion) return e < it.mainLen ? p.indices[rowQ * p.topk + e] : -1;
    extra = true;
    const int x = e - it.mainRegion;
    return x < it.extraLen ? p.extraIndices[rowQ * p.extraTopk + x] : -1;
  }

  // Stage the tokens of entries e0 .. e0+63 (raw bytes for FP8, the key tile itself for 16-bit caches) and their
  // validity flags. Warp w takes tokens w, w+8, ...; lanes 0..7 look the ids up, then every lane copies 16-byte chunks.
  struct Ids { int phys; bool extra; };
  // Lanes 0..7 of warp w look up the ids of tokens w, w+8, ... of the tile at e0 (a global load: issued early).
  static __device__ __forceinline__ Ids lookup(const SparseMmaParams& p, const Item& it, int j, int e0, int warp, int lane) {
    Ids x;
    x.phys = entry(p, it, j, e0 + warp + NWARPS * (lane & 7), x.extra);
    return x;
  }
  static __device__ __forceinline__ void stage(const SparseMmaParams& p, const Item& it, int j, int e0, const Smem& s, unsigned char* raw, int* flags, int warp, int lane) {
    issue(p, lookup(p, it, j, e0, warp, lane), s, raw, flags, warp, lane);
  }
  static __device__ __forceinline__ void issue(const SparseMmaParams& p, const Ids ids, const Smem& s, unsigned char* raw, int* flags, int warp, int lane) {
    const int myPhys = ids.phys;
    const bool myExtra = ids.extra;
#pragma unroll
    for (int u = 0; u < BN / NWARPS; ++u) {
      const int r = warp + NWARPS * u;
      const int phys = __shfl_sync(0xffffffffu, myPhys, u);
      const bool extra = __shfl_sync(0xffffffffu, static_cast<int>(myExtra), u) != 0;
      const bool live = phys >= 0;
      const unsigned char* cache = extra ? p.extraKCache : p.kCache;
      const int B = extra ? p.extraPageBlockSize : p.pageBlockSize;
      const int64_t stride = extra ? p.extraBlockStride : p.blockStride;
      const int blk = live ? phys / B : 0, slot = live ? phys - blk * B : 0;
      if constexpr (K == Kind::Half) {
        const T* src = reinterpret_cast<const T*>(cache) + (live ? static_cast<int64_t>(phys) * DQK : 0);
        E* dst = s.k + r * QK_STRIDE;
#pragma unroll
        for (int c = lane; c < DQK / 8; c += 32) cpAsync16(dst + c * 8, src + c * 8, live ? 16 : 0);
      } else {
        const unsigned char* base = cache + blk * stride;
        const unsigned char* src = base + static_cast<int64_t>(slot) * (K == Kind::V32 ? 656 : 576);
        unsigned char* dst = raw + r * RAW;
#pragma unroll
        for (int c = lane; c < Fmt<K>::CHUNKS; c += 32) cpAsync16(dst + c * 16, live ? src + c * 16 : cache, live ? 16 : 0);
        if constexpr (K == Kind::Model1) {
          if (lane == 31) cpAsync8(dst + 576, live ? base + static_cast<int64_t>(B) * 576 + slot * 8 : cache, live ? 8 : 0);
        }
      }
      if (lane == 0) flags[r] = live ? 1 : 0;
    }
  }

  // Raw FP8 tokens -> the bf16 key tile: NoPE words with their scale, then the RoPE dims copied as they are.
  static __device__ __forceinline__ void dequantTile(const Smem& s, const unsigned char* raw, int tid) {
    using F = Fmt<K>;
#pragma unroll DQ_UNROLL
    for (int f = tid; f < BN * F::WORDS; f += THREADS) {
      const int r = f / F::WORDS, w = f - r * F::WORDS;
      const unsigned char* tok = raw + r * RAW;
      const uint32_t bytes = *reinterpret_cast<const uint32_t*>(tok + w * 4);
      float sc;
      if constexpr (K == Kind::V32) sc = reinterpret_cast<const float*>(tok + F::SCALE_OFF)[w / F::WORDS_PER_SCALE];
      else sc = ue8m0(tok[F::SCALE_OFF + w / F::WORDS_PER_SCALE]);
      *reinterpret_cast<uint2*>(s.k + r * QK_STRIDE + w * 4) = dequant4(bytes, sc);
    }
#pragma unroll
    for (int f = tid; f < BN * 8; f += THREADS) {
      const int r = f / 8, c = f % 8;
      *reinterpret_cast<uint4*>(s.k + r * QK_STRIDE + F::NOPE + c * 8) = *reinterpret_cast<const uint4*>(raw + r * RAW + F::ROPE_OFF + c * 16);
    }
  }

  // Q rows m0.. of this CTA into the Q tile (cp.async), or for QS split into the hi and lo tiles by the threads (plain
  // loads and stores: the __syncthreads before the first tile's products orders them).
  static __device__ __forceinline__ void loadQ(const SparseMmaParams& p, E* dst, int batch, int jCta, int m0, int rowsPer, int warp, int lane) {
    const T* q = static_cast<const T*>(p.q);
    for (int r = warp; r < BM; r += NWARPS) {
      const int m = m0 + r;
      const bool live = m < rowsPer;
      const int j = p.dense ? m / p.hQ : jCta, h = p.dense ? m - (m / p.hQ) * p.hQ : m;
      const T* src = live ? q + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * DQK : q;
      E* d = dst + r * QK_STRIDE;
      if constexpr (QS) {
#pragma unroll
        for (int c = lane; c < DQK / 8; c += 32) {
          uint4 hi, lo;
          splitHalf8(live ? *reinterpret_cast<const uint4*>(src + c * 8) : make_uint4(0u, 0u, 0u, 0u), hi, lo);
          *reinterpret_cast<uint4*>(d + c * 8) = hi;
          *reinterpret_cast<uint4*>(d + BM * QK_STRIDE + c * 8) = lo;
        }
      } else {
#pragma unroll
        for (int c = lane; c < DQK / 8; c += 32) cpAsync16(d + c * 8, src + c * 8, live ? 16 : 0);
      }
    }
  }

  static __device__ void run(const SparseMmaParams& p) {
    extern __shared__ __align__(16) unsigned char smemRaw[];
    const Smem s = carve(smemRaw);
    const int part = blockIdx.x, jCta = blockIdx.y, m0 = blockIdx.z * BM;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int mw = warp % WM, nw = warp / WM;
    const int rowsPer = p.dense ? p.sQ * p.hQ : p.hQ;
    const int rLoc[2] = {mw * 16 + lane / 4, mw * 16 + lane / 4 + 8};
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    // Sparse rows: kSparseMeta* (begin req, end req, begin block, end block, begin split). Dense: kMeta* (begin req,
    // begin token, end req, end token, begin split). Both start with the begin req and hold the begin split at 4.
    static_assert(kMetaBeginIdx == kSparseMetaBeginReqIdx && kMetaBeginNSplitIdx == kSparseMetaBeginSplitIdx,
                  "the two metadata layouts share these fields");
    const int beginReq = meta[kMetaBeginIdx], endReq = p.dense ? meta[kMetaEndIdx] : meta[kSparseMetaEndReqIdx];

    for (int batch = beginReq; batch <= endReq; ++batch) {
      if (batch >= p.b) break;
      Item it;
      it.batch = batch;
      it.slot = p.numSplits[batch] + (batch == beginReq ? meta[kMetaBeginNSplitIdx] : 0);
      it.noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      int limit[2] = {0x7fffffff, 0x7fffffff};
      if (p.dense) {
        it.seqlen = p.cacheSeqlens[batch];
        it.eBegin = batch == beginReq ? meta[kMetaBeginSeqlen] : 0;
        const int kEnd = batch == endReq ? meta[kMetaEndSeqlen] : it.seqlen;
        const int lastRow = min(m0 + BM, rowsPer) - 1;
        const int lastJ = lastRow / p.hQ;
        it.eEnd = min(kEnd, p.causal ? max(0, it.seqlen - p.sQ + lastJ + 1) : it.seqlen);
#pragma unroll
        for (int i = 0; i < 2; ++i) limit[i] = p.causal ? max(0, it.seqlen - p.sQ + (m0 + rLoc[i]) / p.hQ + 1) : it.seqlen;
        it.mainLen = it.mainRegion = it.extraLen = 0;
      } else {
        it.mainLen = p.topkLength ? min(p.topkLength[batch], p.topk) : p.topk;
        it.extraLen = p.extraIndices ? (p.extraTopkLength ? min(p.extraTopkLength[batch], p.extraTopk) : p.extraTopk) : 0;
        const int n = max(it.mainLen, 1);
        it.mainRegion = p.extraIndices ? (n + kSparseBlockTopk - 1) / kSparseBlockTopk * kSparseBlockTopk : n;
        const int listLen = it.mainRegion + it.extraLen;
        const int nBlocks = (listLen + kSparseBlockTopk - 1) / kSparseBlockTopk;
        it.eBegin = (batch == beginReq ? meta[kSparseMetaBeginBlockIdx] : 0) * kSparseBlockTopk;
        it.eEnd = min((batch == endReq ? meta[kSparseMetaEndBlockIdx] : nBlocks) * kSparseBlockTopk, listLen);
        it.seqlen = 0;
      }
      const int nTiles = it.eEnd > it.eBegin ? (it.eEnd - it.eBegin + BN - 1) / BN : 0;

      float o[NT_O][4];
#pragma unroll
      for (int n = 0; n < NT_O; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
      float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};

      loadQ(p, s.q, batch, jCta, m0, rowsPer, warp, lane);
      cpAsyncCommit();
      if constexpr (K != Kind::Half) {
#pragma unroll
        for (int st = 0; st < RS; ++st) {
          if (st < nTiles) stage(p, it, jCta, it.eBegin + st * BN, s, s.raw + st * BN * RAW, s.flags + st * BN, warp, lane);
          cpAsyncCommit();
        }
      }

      for (int t = 0; t < nTiles; ++t) {
        const int e0 = it.eBegin + t * BN;
        int* flags = s.flags + (t & 3) * BN;
        if constexpr (K == Kind::Half) {
          __syncthreads(); // the previous tile's multiplications are done with the key tile
          stage(p, it, jCta, e0, s, nullptr, flags, warp, lane);
          cpAsyncCommit();
          cpAsyncWait<0>();
          __syncthreads();
        } else {
          unsigned char* raw = s.raw + (t % RS) * BN * RAW;
          const bool more = t + RS < nTiles;
          Ids nxt{-1, false};
          if (more) nxt = lookup(p, it, jCta, e0 + RS * BN, warp, lane); // its latency hides behind the wait and the dequantization
          cpAsyncWait<RS - 1>();
          __syncthreads(); // raw tile t (and Q) landed; everyone is done with the previous key tile
          dequantTile(s, raw, tid);
          __syncthreads(); // key tile ready; this staging buffer is free
          if (more) issue(p, nxt, s, raw, s.flags + ((t + RS) & 3) * BN, warp, lane);
          cpAsyncCommit();
        }

        // S = Q K^T: this warp's 16 rows x KEYS_PER_WARP keys.
        float sAcc[NT_S][4];
#pragma unroll
        for (int n = 0; n < NT_S; ++n) sAcc[n][0] = sAcc[n][1] = sAcc[n][2] = sAcc[n][3] = 0.f;
        const E* qRow = s.q + (mw * 16 + lane % 16) * QK_STRIDE + (lane / 16) * 8;
        const int keyBase = nw * KEYS_PER_WARP;
        const E* kt = s.k;
        // With one or two accumulator tiles a warp's 36 MMAs would form one dependent chain: alternate k-steps go
        // to a second set, added at the end.
        constexpr bool SPLIT = NT_S < 4;
        float sAcc2[SPLIT ? NT_S : 1][4];
#pragma unroll
        for (int n = 0; n < (SPLIT ? NT_S : 1); ++n) sAcc2[n][0] = sAcc2[n][1] = sAcc2[n][2] = sAcc2[n][3] = 0.f;
#pragma unroll QK_UNROLL
        for (int kk = 0; kk < DQK / 16; kk += 2) {
          qkStep<E, NT_S, QK_STRIDE>(sAcc, qRow, kt, keyBase, kk, lane);
          if constexpr (SPLIT) qkStep<E, NT_S, QK_STRIDE>(sAcc2, qRow, kt, keyBase, kk + 1, lane);
          else qkStep<E, NT_S, QK_STRIDE>(sAcc, qRow, kt, keyBase, kk + 1, lane);
          if constexpr (QS) { // Q's lo tile against the same keys
            const E* qLo = qRow + BM * QK_STRIDE;
            qkStep<E, NT_S, QK_STRIDE>(sAcc, qLo, kt, keyBase, kk, lane);
            if constexpr (SPLIT) qkStep<E, NT_S, QK_STRIDE>(sAcc2, qLo, kt, keyBase, kk + 1, lane);
            else qkStep<E, NT_S, QK_STRIDE>(sAcc, qLo, kt, keyBase, kk + 1, lane);
          }
        }
        if constexpr (SPLIT) {
#pragma unroll
          for (int n = 0; n < NT_S; ++n) {
#pragma unroll
            for (int e = 0; e < 4; ++e) sAcc[n][e] += sAcc2[SPLIT ? n : 0][e];
          }
        }

        // Mask by selection (invalid entries, and the causal limit in dense mode), scale to base 2, row maxima.
        float tMax[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < NT_S; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int kc = keyBase + n * 8 + (lane % 4) * 2 + (e & 1);
            const float v = flags[kc] && e0 + kc < limit[e >> 1] ? sAcc[n][e] * p.scaleLog2 : -INFINITY;
            sAcc[n][e] = v;
            tMax[e >> 1] = fmaxf(tMax[e >> 1], v);
          }
        }
#pragma unroll
        for (int i = 0; i < 2; ++i) tMax[i] = quadMax(tMax[i]);
        float base[2], alpha[2], tSum[2] = {0.f, 0.f};
        mergeTileMax<WN, BM>(tMax, s.rowMax, nw, rLoc, lane, mRow, base, alpha);
#pragma unroll
        for (int n = 0; n < NT_S; ++n) {
          const float p0 = exp2f(sAcc[n][0] - base[0]), p1 = exp2f(sAcc[n][1] - base[0]);
          const float p2 = exp2f(sAcc[n][2] - base[1]), p3 = exp2f(sAcc[n][3] - base[1]);
          tSum[0] += p0 + p1;
          tSum[1] += p2 + p3;
          // P goes to the PV product as hi + lo (16 significant bits): a 16-bit P alone rounds each weight by up to
          // 2^-9, which shows on V columns with large values when few keys share the mass.
          const T2 h01 = H::pack(p0, p1), h23 = H::pack(p2, p3);
          const float2 f01 = toFloat2(h01), f23 = toFloat2(h23);
          const int col = keyBase + n * 8 + (lane % 4) * 2;
          *reinterpret_cast<T2*>(s.p + rLoc[0] * P_STRIDE + col) = h01;
          *reinterpret_cast<T2*>(s.p + rLoc[1] * P_STRIDE + col) = h23;
          *reinterpret_cast<T2*>(s.p + (BM + rLoc[0]) * P_STRIDE + col) = H::pack(p0 - f01.x, p1 - f01.y);
          *reinterpret_cast<T2*>(s.p + (BM + rLoc[1]) * P_STRIDE + col) = H::pack(p2 - f23.x, p3 - f23.y);
        }
        finishTileSums<WN, BM, NT_O>(tSum, s.rowSum, nw, rLoc, lane, alpha, lRow, o);

        // O += P V: this warp's 16 rows x COLS_PER_WARP columns; V = the first 512 dims of the key tile.
        const E* pRow = s.p + (mw * 16 + lane % 16) * P_STRIDE + (lane / 16) * 8;
        const int colBase = nw * COLS_PER_WARP;
#pragma unroll PV_UNROLL
        for (int kk = 0; kk < BN / 16; ++kk) {
          uint32_t a[4], aLo[4];
          ldmatrixX4(a, pRow + kk * 16);
          ldmatrixX4(aLo, pRow + BM * P_STRIDE + kk * 16);
          const E* vRow = kt + (kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * QK_STRIDE + colBase + (lane / 16) * 8;
#pragma unroll
          for (int n = 0; n < NT_O; n += 2) {
            uint32_t b[4];
            ldmatrixX4T(b, vRow + n * 8);
            H::mma(o[n], a, b);
            H::mma(o[n + 1], a, b + 2);
            H::mma(o[n], aLo, b);
            H::mma(o[n + 1], aLo, b + 2);
          }
        }
      }
      cpAsyncWait<0>();

      // Epilogue: normalise (and apply the sink) into out/lse, or write the f32 partials for the combine kernel.
      const int colBase = nw * COLS_PER_WARP;
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int m = m0 + rLoc[i];
        if (m >= rowsPer) continue;
        const int j = p.dense ? m / p.hQ : jCta, h = p.dense ? m - (m / p.hQ) * p.hQ : m;
        const bool empty = lRow[i] == 0.f;
        const float lse = empty ? (it.noSplit ? INFINITY : -INFINITY) : (mRow[i] + log2f(lRow[i])) * 0.69314718055994531f;
        float f = empty ? 0.f : 1.f / lRow[i];
        if (it.noSplit) {
          if (p.attnSink && !empty) {
            const float sink = p.attnSink[h];
            f = sinkScale(f, sink, lse);
          }
          T* out = static_cast<T*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * kDV + colBase + (lane % 4) * 2;
#pragma unroll
          for (int n = 0; n < NT_O; ++n) *reinterpret_cast<typename HO::T2*>(out + n * 8) = HO::pack(o[n][2 * i] * f, o[n][2 * i + 1] * f);
          if (nw == 0 && lane % 4 == 0) p.lse[(static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j] = lse;
        } else {
          const int64_t row = (static_cast<int64_t>(it.slot) * p.sQ + j) * p.hQ + h;
          float* acc = p.oAccum + row * kDV + colBase + (lane % 4) * 2;
#pragma unroll
          for (int n = 0; n < NT_O; ++n) *reinterpret_cast<float2*>(acc + n * 8) = make_float2(o[n][2 * i] * f, o[n][2 * i + 1] * f);
          if (nw == 0 && lane % 4 == 0) p.lseAccum[row] = lse;
        }
      }
      __syncthreads(); // the next item overwrites Q, the key tile and the staging buffer
    }
  }
};

/** The row (batch, j, h) a merge warp owns (grid (b, sQ, ceil(hQ / 4)), 4 warps), its request's pieces and where their
    partials lie; false where there is nothing to merge (the request in one piece, or a head past hQ). */
struct CombineRow {
  int batch, j, h, lane, nSplit;
  int64_t row0, slotStride;
};
__device__ __forceinline__ bool combineRow(const SparseMmaParams& p, CombineRow& r) {
  r.lane = threadIdx.x % 32;
  r.batch = blockIdx.x; r.j = blockIdx.y; r.h = blockIdx.z * 4 + threadIdx.x / 32;
  const int first = p.numSplits[r.batch];
  r.nSplit = p.numSplits[r.batch + 1] - first;
  if (r.nSplit <= 1 || r.h >= p.hQ) return false;
  r.row0 = (static_cast<int64_t>(first) * p.sQ + r.j) * p.hQ + r.h;
  r.slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
  return true;
}

/** A merge warp's end: its lane's 16 columns times the sink's factor into out, and the row's lse. */
template <typename T>
__device__ __forceinline__ void combineStore(const SparseMmaParams& p, const CombineRow& r, const float4 (&acc)[4], float lse, bool empty) {
  float f = 1.f;
  if (p.attnSink && !empty) {
    const float sink = p.attnSink[r.h];
    f = sinkScale(1.f, sink, lse);
  }
  using H = Half<T>;
  using T2 = typename H::T2;
  T* out = static_cast<T*>(p.out) + ((static_cast<int64_t>(r.batch) * p.sQ + r.j) * p.hQ + r.h) * kDV + r.lane * 4;
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    reinterpret_cast<T2*>(out + c * 128)[0] = H::pack(acc[c].x * f, acc[c].y * f);
    reinterpret_cast<T2*>(out + c * 128)[1] = H::pack(acc[c].z * f, acc[c].w * f);
  }
  if (r.lane == 0) p.lse[(static_cast<int64_t>(r.batch) * p.hQ + r.h) * p.sQ + r.j] = lse;
}

/**
 * Merge the split partials of each split request (one warp per row (batch, j, h); a lane owns 16 of the 512
 * columns as four float4): lse = log(sum_s exp(lse_s)), out = sum_s exp(lse_s - lse) o_s, then the sink.
 */
template <typename T>
__device__ void combine(const SparseMmaParams& p) {
  CombineRow r;
  if (!combineRow(p, r)) return;
  const int lane = r.lane, nSplit = r.nSplit;
  const int64_t row0 = r.row0, slotStride = r.slotStride;
  float mx = -INFINITY;
  for (int s = lane; s < nSplit; s += 32) mx = fmaxNaN(mx, p.lseAccum[row0 + s * slotStride]); // (a NaN piece: the row NaN)
  mx = warpMaxNaN(mx);
  float sum = 0.f;
  if (mx != -INFINITY) for (int s = lane; s < nSplit; s += 32) sum += __expf(p.lseAccum[row0 + s * slotStride] - mx);
  sum = warpSum(sum);
  const bool empty = mx == -INFINITY;
  const float lse = empty ? INFINITY : mx + __logf(sum);
  float4 acc[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
    for (int s = 0; s < nSplit; ++s) {
      const float w = __expf(p.lseAccum[row0 + s * slotStride] - lse);
      if (w == 0.f) continue; // an empty split contributes exactly nothing
      const float* src = p.oAccum + (row0 + s * slotStride) * kDV + lane * 4;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float4 v = *reinterpret_cast<const float4*>(src + c * 128);
        acc[c].x += w * v.x; acc[c].y += w * v.y; acc[c].z += w * v.z; acc[c].w += w * v.w;
      }
    }
  }
  combineStore<T>(p, r, acc, lse, empty);
}

/**
 * combine's twin with the same bits (the same sums in the same order), for the library since session 39: a warp's
 * partial loads for up to kTripSplits pieces are issued together, before any piece's weight is known, where combine
 * loads a piece's 16 columns only after its weight (a dependent round trip a piece); the weights come from the lse
 * values the lanes loaded for the maximum (lane s holds piece s's), passed by shuffles. It waits for the kernel before
 * it (pdlWait) so that it may be launched as a programmatic dependent (sparse.ts).
 */
constexpr int kTripSplits = 8;
template <typename T>
__device__ void combineTrip(const SparseMmaParams& p) {
  pdlWait();
  CombineRow r;
  if (!combineRow(p, r)) return;
  const int lane = r.lane, nSplit = r.nSplit;
  const int64_t row0 = r.row0, slotStride = r.slotStride;
  const float mine = lane < nSplit ? p.lseAccum[row0 + lane * slotStride] : -INFINITY; // piece `lane`'s lse
  float mx = mine;
  for (int s = lane + 32; s < nSplit; s += 32) mx = fmaxNaN(mx, p.lseAccum[row0 + s * slotStride]);
  mx = warpMaxNaN(mx);
  float sum = 0.f;
  if (mx != -INFINITY) {
    if (lane < nSplit) sum += __expf(mine - mx);
    for (int s = lane + 32; s < nSplit; s += 32) sum += __expf(p.lseAccum[row0 + s * slotStride] - mx);
  }
  sum = warpSum(sum);
  const bool empty = mx == -INFINITY;
  const float lse = empty ? INFINITY : mx + __logf(sum);
  float4 acc[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!empty) {
    for (int s0 = 0; s0 < nSplit; s0 += kTripSplits) {
      float4 v[kTripSplits][4];
#pragma unroll
      for (int u = 0; u < kTripSplits; ++u) {
        if (s0 + u < nSplit) {
          const float* src = p.oAccum + (row0 + (s0 + u) * slotStride) * kDV + lane * 4;
#pragma unroll
          for (int c = 0; c < 4; ++c) v[u][c] = *reinterpret_cast<const float4*>(src + c * 128);
        }
      }
#pragma unroll
      for (int u = 0; u < kTripSplits; ++u) {
        const int s = s0 + u;
        if (s >= nSplit) break; // (warp-uniform)
        const float ls = s < 32 ? __shfl_sync(0xffffffffu, mine, s) : p.lseAccum[row0 + s * slotStride];
        const float w = __expf(ls - lse);
        if (w == 0.f) continue; // an empty split contributes exactly nothing (its partial is not read)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          acc[c].x += w * v[u][c].x; acc[c].y += w * v[u][c].y; acc[c].z += w * v[u][c].z; acc[c].w += w * v[u][c].w;
        }
      }
    }
  }
  combineStore<T>(p, r, acc, lse, empty);
}

} // namespace smma
} // namespace mla

// Launch (launch.ts sparseMmaLaunch): grid (numSmParts, sQ, ceil(hQ / BM)) sparse or (numSmParts, 1, ceil(sQ*hQ / BM))
// dense, 256 threads, SparseMma::SMEM bytes of dynamic shared memory (asserted against launch.ts through params.h).
#define MLA_SPARSE_MMA(NAME, KIND, T, DQK, BM, SMEM_BYTES)                                                                   \
  static_assert(mla::smma::SparseMma<mla::smma::Kind::KIND, T, DQK, BM>::SMEM == SMEM_BYTES, "sparse_mma smem differs from launch.ts"); \
  extern "C" __global__ void __launch_bounds__(256, 1) NAME(const SparseMmaParams p) {                                          \
    mla::smma::SparseMma<mla::smma::Kind::KIND, T, DQK, BM>::run(p);                                                          \
  }
MLA_SPARSE_MMA_VARIANTS(MLA_SPARSE_MMA)

// Dense decode over an FP8 cache on sparse_sm90.cu (sparse.ts SparseMmaRunner.denseOnSparse): a dense step as a sparse
// step whose list for row (batch, j) is every key the row sees. p.topk is the lists' stride and their longest length;
// the sparse kernel reads entry e of a row for e < min(cacheSeqlens[batch], topk) (topkLength = cacheSeqlens).

/** Blocks of 64 list entries of request i, as the sparse scheduler counts them (sparseListLength with topkLength = the
    request's length, clamped to topk as the sparse kernel clamps it; an empty list counts one block). */
__device__ __forceinline__ int denseListBlocks(const SparseMmaParams& p, int i) {
  const int n = min(max(p.cacheSeqlens[i], 1), max(p.topk, 1));
  return (n - 1) / kSparseBlockTopk + 1;
}

/** The sparse scheduler on the device (sparse-scheduler.ts planSparseSchedule over `parts` SM parts, listBlocks(i) the
    64-entry blocks of request i's list), by every thread of the CTA: writes p.tileSchedulerMetadata ([parts, 8]) and
    p.numSplits ([b + 1]).

    The host walks the parts one after another. Here the walk is restated on one axis so that its steps can be found in
    parallel (docs/notes/cuda-sparse-decode.md, "Session 57"). With cost(i) = blocks(i) + the fixed overhead O and S_i =
    cost(0) + .. + cost(i - 1), the walk's state (request r, blocks done `block`) is the point x = S_r + block, and a part
    starting at x (payload P = Q + O, Q = ceil(S_b / parts)) ends at x' = min(S_b, max(B(x + P), x + Q)), B(t) the last
    S_i <= t: it takes the requests that fit whole, then splits the next one where P ends unless at most O is left. So
    from a request boundary S_j the parts advance by exactly Q until a boundary falls in [S_j + cQ, S_j + cQ + O] for
    some c (or S_b is reached), where the walk lands on the last boundary in that window. Each boundary's next boundary
    and step count (c) are independent of the others (phase 2: a thread a boundary, a search per window); one thread
    then follows them from S_0 (phase 3: a shared-memory load a boundary the walk lands on, not a part's search), and
    every part's point, row and split count follow in parallel (phases 4-5). Up to kReq requests and kParts parts (the
    shared arrays' sizes: PlanSmall or PlanWide); past those warp 0 walks as the host does (planRowsSerial). Session
    56's forms (one thread a request; one ballot a part) took ~400 cycles a part: 17-25 and 8.7-19 us on an H100 at
    b = 128 over 33-132 parts; this form +4.8-5.8 us a call at 33 and 66 parts (session 57,
    FLASHMLA_CUDA_SPARSE_REPLAN=1), mostly its fixed phases. */
constexpr int kPlanOverhead = 5; // sparse-scheduler.ts sparseFixedOverheadNumBlocks
// The plan entries' capacities (sparse-mma-launch.ts planCapacity): PlanSmall's arrays take ~10 KB of shared memory,
// PlanWide's 37 KB (every CTA of the entry holds them). Session 58 on an H100: the entries without the plan CTA (no
// shared memory) took 0.94-0.99x the time of session 57's 37 KB pass for MODEL1's host-planned steps, but the plan entry
// at 10 KB against 37 KB changed nothing for device-planned ones (0.985-1.006): why a pass's shared memory costs the
// decode after it is not established (cuda-sparse-decode.md, "Session 58").
struct PlanSmall { static constexpr int kReq = 1024, kParts = 512; };
struct PlanWide { static constexpr int kReq = 4096, kParts = 1024; };
struct PlanNone { static constexpr int kReq = 0, kParts = 0; }; // (an entry without the plan CTA)

/** Row `part` of the plan from the walk's state at the part's end (its begin state given): lane 0 writes it. */
template <class Blocks>
__device__ __forceinline__ void planWriteRow(const SparseMmaParams& p, int part, int beginReq, int beginBlock, int beginSplit, bool first,
                                             int req, int block, Blocks blocks) {
  const int endReq = block > 0 ? req : req - 1;
  const int endBlock = block > 0 ? block : blocks(req - 1);
  bool last = endBlock != blocks(endReq);
  if (beginReq == endReq) first = last = first || last;
  int* meta = const_cast<int*>(p.tileSchedulerMetadata) + part * kMetaFields;
  meta[kSparseMetaBeginReqIdx] = beginReq;
  meta[kSparseMetaEndReqIdx] = endReq;
  meta[kSparseMetaBeginBlockIdx] = beginBlock;
  meta[kSparseMetaEndBlockIdx] = endBlock;
  meta[kSparseMetaBeginSplitIdx] = beginSplit;
  meta[kSparseMetaIsFirstReqSplitted] = first ? 1 : 0;
  meta[kSparseMetaIsLastReqSplitted] = last ? 1 : 0;
  meta[kMetaFields - 1] = 0; // (padding)
}

/** planRows past its capacity: warp 0 sums the costs, lane 0 walks as the host does. */
template <class ListBlocks>
__device__ void planRowsSerial(const SparseMmaParams& p, int parts, ListBlocks listBlocks) {
  const int b = p.b, lane = threadIdx.x;
  int t = 0;
  for (int i = lane; i < b; i += 32) t += listBlocks(i) + kPlanOverhead;
  for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
  if (lane != 0) return;
  const int payload = (t + parts - 1) / parts + kPlanOverhead;
  int* numSplits = const_cast<int*>(p.numSplits);
  numSplits[0] = 0;
  int req = 0, block = 0, nSplit = 0, cum = 0;
  for (int part = 0; part < parts; ++part) {
    const int beginReq = req, beginBlock = block + (req < b ? 0 : listBlocks(0) - 1), beginSplit = nSplit;
    const bool first = block != 0;
    int remain = payload;
    while (req < b) {
      const int left = listBlocks(req) - block;
      if (remain >= left + kPlanOverhead) {
        cum += nSplit + 1;
        numSplits[req + 1] = cum;
        remain -= left + kPlanOverhead;
        ++req;
        block = 0;
        nSplit = 0;
      } else {
        if (remain - kPlanOverhead > 0) {
          block += remain - kPlanOverhead;
          ++nSplit;
          remain = 0;
        }
        break;
      }
    }
    planWriteRow(p, part, beginReq, beginBlock, beginSplit, first, req, block, listBlocks);
  }
}

/** The sum of x over lanes 0 .. lane of the warp (all 32 lanes call it). */
__device__ __forceinline__ int warpInclusiveSum(int x, int lane) {
  for (int o = 1; o < 32; o <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  return x;
}

/** The first i in [lo, hi) with s[i] >= x (hi where none): probes lo, lo + 1, lo + 2, lo + 4 .., then bisects. */
__device__ __forceinline__ int planLowerBound(const int* s, int lo, int hi, int x) {
  int a = lo, probe = lo, step = 1;
  while (probe < hi && s[probe] < x) {
    a = probe + 1;
    probe = lo + step;
    step <<= 1;
  }
  int h = min(probe, hi);
  while (a < h) {
    const int m = (a + h) >> 1;
    if (s[m] < x) a = m + 1;
    else h = m;
  }
  return a;
}

/** The last i in [0, n) with s[i] <= x (s sorted, s[0] <= x). */
__device__ __forceinline__ int planLastAtMost(const int* s, int n, int x) {
  int a = 0, h = n;
  while (h - a > 1) {
    const int m = (a + h) >> 1;
    if (s[m] <= x) a = m;
    else h = m;
  }
  return a;
}

template <class Cap, class ListBlocks>
__device__ void planRows(const SparseMmaParams& p, int parts, ListBlocks listBlocks) {
  constexpr int kReq = Cap::kReq, kParts = Cap::kParts;
  static_assert(kReq >= kParts + 1 && kReq < 65536, "walkS holds a part's point for parts 0..kParts; j | k << 16 packs");
  __shared__ int costS[kReq + 1];    // S_i
  __shared__ int walkS[kReq];        // phase 2: boundary j's next boundary | its steps << 16; from phase 4: x of part k
  __shared__ int chainS[kParts + 2]; // the boundaries the walk lands on: j | part << 16; [kParts + 1]: their count
  __shared__ int warpS[32];
  const int b = p.b, tid = threadIdx.x, nt = blockDim.x, lane = tid % 32, warp = tid / 32;
  if (b > kReq || parts > kParts) {
    if (tid < 32) planRowsSerial(p, parts, listBlocks);
    return;
  }
  // 1. costS: each thread a run of requests, a scan of the runs' sums over the CTA
  const int per = (b + nt - 1) / nt, from = min(tid * per, b), to = min(from + per, b);
  int own = 0;
  for (int i = from; i < to; ++i) {
    const int c = listBlocks(i) + kPlanOverhead;
    costS[i + 1] = c;
    own += c;
  }
  const int x = warpInclusiveSum(own, lane);
  if (lane == 31) warpS[warp] = x;
  if (tid == 0) costS[0] = 0;
  __syncthreads();
  if (warp == 0) warpS[lane] = warpInclusiveSum(lane < nt / 32 ? warpS[lane] : 0, lane);
  __syncthreads();
  int run = x - own + (warp > 0 ? warpS[warp - 1] : 0);
  for (int i = from; i < to; ++i) costS[i + 1] = run += costS[i + 1];
  __syncthreads();
  const int total = costS[b], q = (total + parts - 1) / parts;
  // 2. boundary j: the first window [S_j + cq, S_j + cq + O] holding a boundary, c from 1, each window's first boundary
  //    by a search from the last one found; S_b ends the walk from c = ceil((S_b - S_j - O) / q) on (it is past x + P)
  for (int j = tid; j < b; j += nt) {
    const int sj = costS[j], cap = max(1, (total - sj - kPlanOverhead + q - 1) / q);
    int c = 1, lo = j + 1, next = b, steps = cap;
    while (c < cap) {
      const int at = planLowerBound(costS, lo, b, sj + c * q); // (< b: sj + cq < S_b - O)
      const int d = costS[at] - sj;
      if (d <= c * q + kPlanOverhead) {
        steps = c;
        next = at;
        while (next < b && costS[next + 1] <= sj + c * q + kPlanOverhead) ++next;
        break;
      }
      c = (d - kPlanOverhead + q - 1) / q;
      lo = at;
    }
    walkS[j] = next | steps << 16;
  }
  __syncthreads();
  // 3. the boundaries the walk lands on, from S_0 (the part each is reached at)
  if (tid == 0) {
    int j = 0, k = 0, n = 0;
    for (;;) {
      chainS[n++] = j | k << 16;
      if (j == b || k >= parts) break;
      const int w = walkS[j];
      k += w >> 16;
      j = w & 0xffff;
    }
    chainS[kParts + 1] = n;
  }
  __syncthreads();
  // 4. x of each part's start (k < parts) and of the last one's end (k = parts): a run of q's from its boundary
  const int chain = chainS[kParts + 1];
  auto segmentOf = [&](int k) { // the last chain entry reached at a part <= k
    int a = 0, h = chain;
    while (h - a > 1) {
      const int m = (a + h) >> 1;
      if ((chainS[m] >> 16) <= k) a = m;
      else h = m;
    }
    return a;
  };
  for (int k = tid; k <= parts; k += nt) {
    const int e = chainS[segmentOf(k)], j = e & 0xffff;
    walkS[k] = j == b ? total : costS[j] + (k - (e >> 16)) * q;
  }
  __syncthreads();
  // 5. the rows; the split counts: numSplits[i + 1] = i + 1 + (parts' points below S_{i+1} that are no boundary)
  auto blocks = [&](int i) { return costS[i + 1] - costS[i] - kPlanOverhead; };
  auto reqOf = [&](int at) { return at >= total ? b : planLastAtMost(costS, b, at); };
  for (int k = tid; k < parts; k += nt) {
    const int x0 = walkS[k], x1 = walkS[k + 1], r0 = reqOf(x0), r1 = reqOf(x1);
    const int block0 = r0 < b ? x0 - costS[r0] : 0, block1 = r1 < b ? x1 - costS[r1] : 0;
    int split = 0;
    if (block0 > 0) { // the parts since S_{r0} (all in x0's run: no boundary lies between)
      const int e = chainS[segmentOf(k)];
      split = k - (e >> 16) - (costS[r0] - costS[e & 0xffff]) / q;
    }
    planWriteRow(p, k, r0, block0 + (r0 < b ? 0 : blocks(0) - 1), split, block0 != 0, r1, block1, blocks);
  }
  int* numSplits = const_cast<int*>(p.numSplits);
  if (tid == 0) numSplits[0] = 0;
  for (int i = tid; i < b; i += nt) {
    const int below = planLowerBound(walkS, 0, parts + 1, costS[i + 1]);
    int landed = 0, h = chain; // chain entries at boundaries <= i (they increase)
    while (landed < h) {
      const int m = (landed + h) >> 1;
      if ((chainS[m] & 0xffff) <= i) landed = m + 1;
      else h = m;
    }
    numSplits[i + 1] = i + 1 + below - landed;
  }
}

// A length the caller left on the device, as the scheduler and the kernels count it: clamped to 0..max (the host
// checks host lengths' values; device ones are never read back). raw null: the whole width.
__device__ __forceinline__ int clampedLength(const int* raw, int i, int max) { return raw ? min(::max(raw[i], 0), max) : max; }

/** Blocks of 64 list entries of request i of a sparse step (sparse-scheduler.ts sparseListLength over the clamped
    lengths: an empty main list counts one entry; with an extra cache the main list is padded to 64, the extra list follows). */
__device__ __forceinline__ int sparseListBlocks(const SparseMmaParams& p, int i) {
  int n = ::max(clampedLength(p.rawTopkLength, i, p.topk), 1);
  if (p.extraTopk) n = (n + kSparseBlockTopk - 1) / kSparseBlockTopk * kSparseBlockTopk + clampedLength(p.rawExtraTopkLength, i, p.extraTopk);
  return (n - 1) / kSparseBlockTopk + 1;
}

// A step's plan from lengths on the device (CTA 0 of mla_sparse_bound_plan and mla_dense_fp8_lists_plan; listBlocks(i)
// the 64-entry blocks of request i's list: sparseListBlocks or denseListBlocks): planRows into p.tileSchedulerMetadata
// and p.numSplits, unless p.planState, the record of the plan there ([4 + b] i32: 1, b, parts, 0, then each request's
// blocks as last planned; word 0 = 0 when allocated: none), says it is the plan of these blocks already (a step's later
// layers, the same lengths: the walk is skipped). p.planState null: plan always. The plan depends on the blocks and
// the part count only, so equal blocks are the same plan whatever the lengths.
template <class Cap, class ListBlocks>
__device__ void planStep(const SparseMmaParams& p, ListBlocks listBlocks) {
  const int b = p.b;
  int* state = const_cast<int*>(p.planState);
  bool stale = state == nullptr || state[0] != 1 || state[1] != b || state[2] != p.planParts;
  for (int i = threadIdx.x; i < b && !stale; i += blockDim.x) stale = state[4 + i] != listBlocks(i);
  if (!__syncthreads_or(stale)) return;
  planRows<Cap>(p, p.planParts, listBlocks);
  if (!state) return;
  __syncthreads(); // (every row written before the record says so; the decode reading them runs after this grid)
  for (int i = threadIdx.x; i < b; i += blockDim.x) state[4 + i] = listBlocks(i);
  if (threadIdx.x == 0) {
    state[1] = b;
    state[2] = p.planParts;
    state[3] = 0;
    state[0] = 1;
  }
}

// Index and length tensors the caller left on the device are never read back for checking (validateSparseDecode checks
// host ones), so before the sparse kernels read them this copies them into the workspace: p.rawIndices [b, sQ, topk] ->
// p.indices and p.rawExtraIndices [b, sQ, extraTopk] -> p.extraIndices with every id outside its cache (past its last
// token, or negative) as -1; p.rawTopkLength [b] -> p.topkLength and p.rawExtraTopkLength -> p.extraTopkLength clamped to
// 0..topk / 0..extraTopk (each only where the raw pointer is not null and not the pointer itself).
// With p.planParts > 0 (a step with lengths planned on the device: getSparseMlaMetadata's onDevice) CTA 0 first makes the
// step's plan from those lengths (planStep over sparseListBlocks: FlashMLA's rows for the clamped values; skipped where
// the metadata's planState records the plan of these blocks). The other CTAs do the copies.
// sparse_sm90.cu needs none of this since session 65 (it bounds each id where it tests it for -1, and clamps lengths in
// itemOf): the runner queues this kernel before it only to plan a step planned on the device, copying nothing.
// Launch (sparseBoundLaunch): (planParts > 0) + up to 1024 CTAs of 256 threads, the copies in a grid-stride loop.
// Entries (sparseBoundKernel): mla_sparse_bound without the plan CTA (planParts 0; no shared memory),
// mla_sparse_bound_plan with it (PlanSmall) and mla_sparse_bound_plan_wide (PlanWide, past PlanSmall's capacity): the
// walk's arrays are held by every CTA of the entry (session 57 measured 1.003x the sparse steps' time with 37 KB in
// every CTA of the one entry then on an H100, session 58 up to 1.06x for MODEL1's 64-head steps).
template <class Cap>
__device__ void sparseBound(const SparseMmaParams& p) {
  // sparse_sm90.cu's kernel after it may be launched as a programmatic dependent (sparse.ts): let it be scheduled now,
  // so that its launch and prologue overlap this pass; it waits for this grid's writes (pdlWait) before reading any.
  mla::pdlLaunchDependents();
  constexpr int planCtas = Cap::kReq > 0 ? 1 : 0;
  if constexpr (planCtas > 0) {
    if (blockIdx.x == 0) {
      planStep<Cap>(p, [&p](int i) { return sparseListBlocks(p, i); });
      return;
    }
  }
  const int64_t n = p.rawIndices ? static_cast<int64_t>(p.b) * p.sQ * p.topk : 0;
  const int64_t nx = p.rawExtraIndices ? static_cast<int64_t>(p.b) * p.sQ * p.extraTopk : 0;
  // (a host length staged for a device plan is its own raw pointer: checked on the host, read by the plan, not copied)
  const int64_t nl = p.rawTopkLength && p.rawTopkLength != p.topkLength ? p.b : 0;
  const int64_t nxl = p.rawExtraTopkLength && p.rawExtraTopkLength != p.extraTopkLength ? p.b : 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x - planCtas) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x - planCtas) * blockDim.x + threadIdx.x; i < n + nx + nl + nxl; i += stride) {
    if (i < n) const_cast<int*>(p.indices)[i] = mla::tokenOrInvalid(p.rawIndices[i], p.numTokens);
    else if (i < n + nx) const_cast<int*>(p.extraIndices)[i - n] = mla::tokenOrInvalid(p.rawExtraIndices[i - n], p.extraNumTokens);
    else if (i < n + nx + nl) { const int r = static_cast<int>(i - n - nx); const_cast<int*>(p.topkLength)[r] = clampedLength(p.rawTopkLength, r, p.topk); }
    else { const int r = static_cast<int>(i - n - nx - nl); const_cast<int*>(p.extraTopkLength)[r] = clampedLength(p.rawExtraTopkLength, r, p.extraTopk); }
  }
}

extern "C" __global__ void __launch_bounds__(256) mla_sparse_bound(const SparseMmaParams p) { sparseBound<PlanNone>(p); }
extern "C" __global__ void __launch_bounds__(256) mla_sparse_bound_plan(const SparseMmaParams p) { sparseBound<PlanSmall>(p); }
extern "C" __global__ void __launch_bounds__(256) mla_sparse_bound_plan_wide(const SparseMmaParams p) { sparseBound<PlanWide>(p); }

constexpr int kListChunk = 2048; // mla_dense_fp8_lists: list entries a CTA (sparse-sm90-launch.ts denseListChunk)

// A dense step's lists, and where the lengths are only on the device its plan. With p.planParts > 0 CTA 0 makes the
// plan of p.planParts SM parts (planStep over denseListBlocks, its record in the runner's own buffer; none where the host
// planned the step). Each other CTA writes kListChunk entries of a row (batch, j) of p.indices ([b, sQ, topk] i32,
// this launch's): entry e < min(seqlen, topk) is the physical token id of key e (its page from blockTable, times
// pageBlockSize, plus its slot) while the row sees key e (e < seqlen, or with causal e < seqlen - sQ + j + 1 -
// listShift), else -1; entries past that are never read, and only the pages a row sees
// are. A folded step (sparse.ts denseFoldTakes: its sQ queries of hQ heads as one query of sQ * hQ heads, p.sQ = 1) has
// listShift = its sQ - 1: one list a request, the keys every query sees (mla_dense_fp8_tail adds the rest).
// Launch (denseListsLaunch): grid (planParts > 0) + b * sQ * ceil(topk / kListChunk), 256 threads, no dynamic shared memory;
// entries (denseListsKernel) as mla_sparse_bound's: mla_dense_fp8_lists, mla_dense_fp8_lists_plan (PlanSmall) and
// mla_dense_fp8_lists_plan_wide (PlanWide).
template <class Cap>
__device__ void denseLists(const SparseMmaParams& p) {
  mla::pdlLaunchDependents(); // (as mla_sparse_bound's: the sparse kernel after it waits before reading the lists or the plan)
  constexpr int planCtas = Cap::kReq > 0 ? 1 : 0;
  if constexpr (planCtas > 0) {
    if (blockIdx.x == 0) {
      planStep<Cap>(p, [&p](int i) { return denseListBlocks(p, i); });
      return;
    }
  }
  // kListChunk entries of a row a CTA (the row's chunk), kListLoads a thread, their pages' table words loaded before any
  // store (session 57: a CTA a row, one entry at a time, each load behind the previous store, took 11.3 us for 128 rows
  // of 8192 keys on an H100, ahead of the decode)
  const int chunks = (p.topk + kListChunk - 1) / kListChunk, at = blockIdx.x - planCtas, row = at / chunks;
  const int batch = row / p.sQ, j = row - batch * p.sQ;
  const int seqlen = p.cacheSeqlens[batch];
  const int len = min(seqlen, p.topk), seen = min(p.causal ? seqlen - p.sQ + j + 1 - p.listShift : seqlen, len);
  int* __restrict__ out = const_cast<int*>(p.indices) + static_cast<int64_t>(row) * p.topk;
  const int* __restrict__ table = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq;
  constexpr int kListLoads = kListChunk / 256;
  const int pbs = p.pageBlockSize, end = min(len, (at - row * chunks + 1) * kListChunk);
  for (int e0 = (at - row * chunks) * kListChunk + threadIdx.x; e0 < end; e0 += 256 * kListLoads) {
    int page[kListLoads], id[kListLoads];
#pragma unroll
    for (int u = 0; u < kListLoads; ++u) {
      const int e = e0 + u * 256;
      page[u] = e / pbs;
      id[u] = e < seen ? __ldg(table + page[u]) : 0;
    }
#pragma unroll
    for (int u = 0; u < kListLoads; ++u) {
      const int e = e0 + u * 256;
      if (e < end) out[e] = e < seen ? id[u] * pbs + (e - page[u] * pbs) : -1;
    }
  }
}

extern "C" __global__ void __launch_bounds__(256) mla_dense_fp8_lists(const SparseMmaParams p) { denseLists<PlanNone>(p); }
extern "C" __global__ void __launch_bounds__(256) mla_dense_fp8_lists_plan(const SparseMmaParams p) { denseLists<PlanSmall>(p); }
extern "C" __global__ void __launch_bounds__(256) mla_dense_fp8_lists_plan_wide(const SparseMmaParams p) { denseLists<PlanWide>(p); }

namespace mla {
namespace smma {

/** A bf16 row of 16 values (two 16-byte words) as f32. */
__device__ __forceinline__ void load16(const void* src, float (&v)[16]) {
  const uint4 w[2] = {reinterpret_cast<const uint4*>(src)[0], reinterpret_cast<const uint4*>(src)[1]};
  const uint32_t* u = reinterpret_cast<const uint32_t*>(w);
#pragma unroll
  for (int i = 0; i < 8; ++i) { const float2 f = toFloat2(*reinterpret_cast<const __nv_bfloat162*>(&u[i])); v[2 * i] = f.x; v[2 * i + 1] = f.y; }
}

/**
 * The rest of a folded dense FP8 step (sparse.ts SparseMmaRunner.denseOnSparse, denseFoldTakes): sparse_sm90.cu ran the
 * step's sQ queries of hQ heads as one query of sQ * hQ heads over the keys every query sees (listShift = sQ - 1),
 * its rows' outputs into out and their lse into lseAccum ([b, sQ * hQ], row j * hQ + h: the q / out row order). One warp
 * a row (batch, j, h) adds the keys only its query sees (causal: the at most j keys from seqlen - sQ + 1) by the online
 * softmax, starting from that lse and output, and writes lse at [b, hQ, sQ] (where the row has no such key, the lse as
 * it is). A lane owns value columns 16 lane .. + 15 and the same score dims (MODEL1: dims 448.. are the bf16 RoPE, values
 * too; V3.2: also RoPE dims 512 + 2 lane, + 1). Keys in f32 (e4m3 times its scale), scores and sums in f32.
 * p.sQ / p.hQ are the step's own; p.topk bounds every list as in mla_dense_fp8_lists.
 */
template <Kind K>
__device__ void denseTail(const SparseMmaParams& p) {
  constexpr int DQK = K == Kind::V32 ? 576 : 512;
  const int lane = threadIdx.x % 32;
  const int per = p.sQ * p.hQ;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  if (row >= static_cast<int64_t>(p.b) * per) return;
  const int batch = static_cast<int>(row / per), rj = static_cast<int>(row - static_cast<int64_t>(batch) * per);
  const int j = rj / p.hQ, h = rj - j * p.hQ;
  const float lseMain = p.lseAccum[row];
  float* lseOut = p.lse + (static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j;
  const int seqlen = p.cacheSeqlens[batch], len = min(seqlen, p.topk);
  const int shared = max(min(p.causal ? seqlen - p.sQ + 1 : seqlen, len), 0);
  const int seen = max(min(p.causal ? seqlen - p.sQ + j + 1 : seqlen, len), 0);
  if (seen <= shared) {
    if (lane == 0) *lseOut = lseMain == -INFINITY ? INFINITY : lseMain;
    return;
  }
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + row * kDV + lane * 16;
  const __nv_bfloat16* qRow = static_cast<const __nv_bfloat16*>(p.q) + row * DQK;
  float q[16], acc[16], qr0 = 0.f, qr1 = 0.f;
  load16(qRow + lane * 16, q);
  if constexpr (K == Kind::V32) {
    const float2 f = toFloat2(reinterpret_cast<const __nv_bfloat162*>(qRow + 512)[lane]);
    qr0 = f.x; qr1 = f.y;
  }
  // The main part as the online softmax's state: m = its lse in base 2, l = 1, acc = its normalised output; none
  // (lse +-inf) is m = -inf, l = 0; a NaN lse makes everything NaN.
  const bool none = lseMain == INFINITY || lseMain == -INFINITY;
  float m = none ? -INFINITY : lseMain * 1.4426950408889634f, l = none ? 0.f : 1.f;
  load16(out, acc); // (selected away where there is no main part)
#pragma unroll
  for (int i = 0; i < 16; ++i) acc[i] = none ? 0.f : acc[i];
  const int* table = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq;
  __shared__ float red[4][32];
  for (int e = shared; e < seen; ++e) {
    const int page = e / p.pageBlockSize, slot = e - page * p.pageBlockSize;
    const unsigned char* blk = p.kCache + static_cast<int64_t>(table[page]) * p.blockStride;
    const unsigned char* tok = blk + static_cast<int64_t>(slot) * (K == Kind::V32 ? 656 : 576);
    // Every lane dequantizes 16 bytes at 16 lane (MODEL1 lanes 28-31: RoPE bytes, discarded) and, MODEL1, loads 16 RoPE
    // dims (lanes 0-27: the first 16, discarded), without a branch.
    float sc;
    if constexpr (K == Kind::V32) sc = reinterpret_cast<const float*>(tok + 512)[lane / 8];
    else sc = ue8m0(blk[static_cast<int64_t>(p.pageBlockSize) * 576 + slot * 8 + lane / 4]);
    const uint4 w = reinterpret_cast<const uint4*>(tok)[lane];
    const float4 a = dequant4f(w.x, sc), b = dequant4f(w.y, sc), c = dequant4f(w.z, sc), d = dequant4f(w.w, sc);
    float v[16] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w, d.x, d.y, d.z, d.w}, dot = 0.f;
    if constexpr (K == Kind::Model1) {
      float r[16];
      load16(tok + 448 + max(lane - 28, 0) * 32, r);
#pragma unroll
      for (int i = 0; i < 16; ++i) v[i] = lane >= 28 ? r[i] : v[i];
    }
#pragma unroll
    for (int i = 0; i < 16; ++i) dot = fmaf(q[i], v[i], dot);
    if constexpr (K == Kind::V32) {
      const float2 r = toFloat2(reinterpret_cast<const __nv_bfloat162*>(tok + 528)[lane]);
      dot = fmaf(qr0, r.x, fmaf(qr1, r.y, dot));
    }
    // the warp's sum through shared memory, each lane adding the 32 partials in the same order (shuffles in this loop
    // made ptxas call its divergent-warp shuffle routine on sm_86 / sm_89, which spills)
    red[threadIdx.x / 32][lane] = dot;
    __syncwarp();
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < 32; ++i) sum += red[threadIdx.x / 32][i];
    __syncwarp();
    const float s = sum * p.scaleLog2;
    const float mNew = fmaxf(m, s); // (a NaN score: exp2f(s - mNew) below is NaN, and so is everything after)
    const float keep = exp2f(m - mNew), wt = exp2f(s - mNew);
#pragma unroll
    for (int i = 0; i < 16; ++i) acc[i] = fmaf(acc[i], keep, wt * v[i]);
    l = fmaf(l, keep, wt);
    m = mNew;
  }
  const float inv = 1.f / l;
  uint32_t o[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) o[i] = packBf16(acc[2 * i] * inv, acc[2 * i + 1] * inv);
  reinterpret_cast<uint4*>(out)[0] = make_uint4(o[0], o[1], o[2], o[3]);
  reinterpret_cast<uint4*>(out)[1] = make_uint4(o[4], o[5], o[6], o[7]);
  if (lane == 0) *lseOut = (m + log2f(l)) * 0.69314718055994531f;
}

} // namespace smma
} // namespace mla

// Launch (denseTailLaunch): grid ceil(b * sQ * hQ / 4), 128 threads, no dynamic shared memory; after the folded step's
// sparse_sm90.cu launch and its merge.
extern "C" __global__ void __launch_bounds__(128) mla_dense_fp8_tail_v32(const SparseMmaParams p) { mla::smma::denseTail<mla::smma::Kind::V32>(p); }
extern "C" __global__ void __launch_bounds__(128) mla_dense_fp8_tail_model1(const SparseMmaParams p) { mla::smma::denseTail<mla::smma::Kind::Model1>(p); }

// Launch: grid (b, sQ, ceil(hQ / 4)), 128 threads, no dynamic shared memory.
extern "C" __global__ void __launch_bounds__(128) mla_sparse_mma_combine_bf16(const SparseMmaParams p) { mla::smma::combine<__nv_bfloat16>(p); }
extern "C" __global__ void __launch_bounds__(128) mla_sparse_mma_combine_f16(const SparseMmaParams p) { mla::smma::combine<__half>(p); }
// combineTrip: the same launch (it may be a programmatic dependent of the decode kernel before it).
extern "C" __global__ void __launch_bounds__(128) mla_sparse_mma_combine_trip_bf16(const SparseMmaParams p) { mla::smma::combineTrip<__nv_bfloat16>(p); }
extern "C" __global__ void __launch_bounds__(128) mla_sparse_mma_combine_trip_f16(const SparseMmaParams p) { mla::smma::combineTrip<__half>(p); }
