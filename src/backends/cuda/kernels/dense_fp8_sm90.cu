// Dense (block-table) MLA decode over FlashMLA's V3.2 FP8 cache for Hopper (sm_90a only): wgmma, bulk copies of
// whole pages, and dequantization by the consumer warpgroups themselves. See docs/notes/cuda-dense-fp8.md.
//
// Two designs, one launch: the shipped one (MLA_DENSE_FP8_SHIPPED, since session 10) is DenseFp8Alt further down
// (the two consumer warpgroups take alternate tiles, each dequantizing its tile into the registers of both wgmma
// products; f16 V and P); this header describes session 9's lockstep design DenseFp8 (MLA_DENSE_FP8_VAR 0), kept as
// the rung below it. The shapes, parameters and the producer (one bulk copy a page, L2 prefetch) are the same in both;
// in the alternating design a page is read by one warpgroup (4 warps release it) and the ring has 4 slots.
//
// Shapes: hKv = 1, page 64, bf16 queries, rows = sQ * hQ <= NR (16 or 32), 656-byte tokens (512 e4m3 NoPE in four
// groups of 128 with four f32 scales at byte 512, then 64 bf16 RoPE at byte 528). Parameters, split partials and the
// split combine are sparse_mma.cu's (SparseMmaParams, mla_sparse_mma_combine_bf16), with the dense scheduler's rows.
//
// One CTA per SM part, 384 threads: consumer warpgroups 0 and 1 and a producer warpgroup (one lane issues copies).
// The producer copies each page of an item (64 tokens x 656 bytes = 41,984 contiguous bytes) with one
// cp.async.bulk into a ring of raw slots, evict-first, on a full mbarrier (transaction bytes); both consumer
// warpgroups read every page and hand the slot back on its empty mbarrier (8 warps). The producer also prefetches the
// page kPrefetchPages ahead into L2 where the launch asks for it (extraTopk >= 0). The library asks for none since session
// 21 (dense-fp8-sm90-launch.ts denseFp8Sm90Prefetch): the prefetches doubled each part's opening burst (H200: 8192 x 16
// rows 206.5 -> 188.6 us without them).
//
// Both warpgroups work on the same tile of 64 keys, each on half the dimensions: warpgroup w dequantizes NoPE groups
// 2w and 2w + 1 (dims 256w .. 256w + 255) and RoPE dims 32w .. 32w + 31, straight into wgmma A-operand registers:
//   S^T_w (64 keys x NR) = K_w (A from registers) . Q^T_w (B, shared memory, canonical K-major)
// The two partial S^T meet through shared memory (each adds the other's: both hold the same S^T, so both run the same
// softmax). The dequantized NoPE values also go to shared memory as the bf16 V tile's slices 4w .. 4w + 3 (value
// columns 256w .. 256w + 255, MN-major SW128, the layout decode_sm90.cu's TMA writes), and each warpgroup runs
//   O^T_w (256 value columns x NR) += V^T_w (A, shared memory) . P^T (B, shared memory)
// on its own slices, so a warpgroup's V half is written and read by itself alone. P^T is hi + lo (bf16 each): at 16
// rows stacked along N (one m64n32k16 per V chunk), at 32 rows a wgmma each; both warpgroups compute the same P and
// share one P^T (warpgroup 0 writes hi, 1 lo).
//
// Registers of the A operand: warp q of a warpgroup owns keys 16q .. 16q + 15 (rows gq and gq + 8 of the fragment
// are tokens 16q + gq and 16q + gq + 8); the order of the dimensions inside a k-step is free (it is a dot product),
// so a thread takes 32 consecutive bytes of each of its two tokens a NoPE group (two conflict-free 16-byte loads)
// and Q^T is stored in the matching permuted order (qDim below). Threads with tq >= 2 swap their two 16-byte halves
// so that the V tile's stores are conflict-free too (unit j ^ 2 of their 64-byte run).
//
// e4m3 -> bf16 (exact): a byte's 7 magnitude bits at bf16 bits 10..4 and its sign at bit 15 make the bf16 that is the
// e4m3 value times 2^-120 (subnormals too); one bf16x2 multiply by (scale * 2^120) finishes a pair. Per pair: one
// prmt (bytes + sign-replicated bytes), one shift, one and, one multiply. Used where the thread's scale is a power of
// two with scale * 2^120 a normal bf16 and no byte is NaN (S.1111.111); a warp with any other case takes the exact
// cvt path (e4m3 -> f16 -> f32 * scale -> bf16, as sparse_mma.cu), which covers NaN, infinity and any f32 scale.
#include "params.h"
#include "common.cuh"
#include "sm90_narrow.cuh"
#include "hopper_ops.cuh"
#include <cuda.h>

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MLA_SM90A 1
#endif

// The namespace of this pass's code: dfp8, or dfp8r in the second pass of a rows-dispatch build (bit 32768, at the end).
#ifndef MLA_DFP8_NS
#define MLA_DFP8_NS dfp8
#endif
namespace mla {
namespace MLA_DFP8_NS {

constexpr int kBN = 64;                      // keys a tile = tokens a page
constexpr int kTok = 656;                    // bytes a token
constexpr int kRawBytes = kBN * kTok;        // 41,984 bytes a page
constexpr int kKSteps = 18;                  // S^T k-steps a warpgroup: 16 NoPE + 2 RoPE
[[maybe_unused]] constexpr int kPrefetchPages = 6;            // pages an item's producer prefetches into L2 ahead of its copies

// Build-time variants (-DMLA_DENSE_FP8_VAR=n, bits). The shipped build was MLA_DENSE_FP8_SHIPPED = 2550171200 from session
// 12 to 17: 34368 (session 11: 1600 + 32768, 16 rows run 1600 = 64 + 512 + 1024, the alternating-tile design DenseFp8Alt below
// with f16 V and P; 32 rows run 31296 = 64 + 512 + 2048 + 4096 + 8192 + 16384 from the file's second pass, see the
// entries at the end) + 134217728 (stale row maxima, both row counts) + 268435456 (the S phase's batch prefetch at 32
// rows): H200 5.5-7.2 % faster at 16 rows, 9.9-10.4 % at 32; + 2147483648 (the Q^T fill by cp.async, both row counts):
// 2.0-14.9 % faster again (docs/notes/cuda-dense-fp8.md, session 12). Since session 18 the shipped build is
// 4400596682304 = 2550171200 + 4398046511104 (the 16-row dispatch: the n16w3 entry, three consumer warpgroups, which
// the host takes from 48 tiles an SM part; H200 call J: 8192x16x1 0.944 of the time before, the rest level). Since session
// 19 it is 109953712948800 = 4400596682304 + 35184372088832 + 70368744177664 (the f16 score path in the two-consumer n16
// and the n16w3 entries; H200 call G: 8192x16x1 0.942 of the time before, 1024x16x1 0.979, 32 rows level). Since session
// 20 it is 250691201304128 = 109953712948800 + 140737488355328 (the O side by cvt in n16, n16w3 and n32; H200 session 20
// call A: 8192x16x1 0.977, 32 rows 0.970, 1024 shapes 0.971-0.973 of the time before). Since session 21 it is
// 16013289897100864 = 250691201304128 + 2251799813685248 + 4503599627370496 + 9007199254740992 (X: Q^T filled by 16-byte
// loads in n16 / n16w3; Y: the same in n32; Z: n16w3's merge in two phases; H200 session 21 call D, no L2 prefetch:
// 8192x16x1 0.962, 8192x32x1 0.971, 4096x16x1 0.932, 1024x16x1 0.929, 1024x32x1 0.878 of the time before). 0 is the
// lockstep design of session 9 (DenseFp8, its code unchanged: scripts/compare-fatbins.py), bits 1-32 its variants.
// Each bit's design and prediction: docs/notes/cuda-dense-fp8.md; bench/cuda/dense-fp8/ab.sh builds, checks and times
// them against the shipped build.
//   1: own P^T at 16 rows: each warpgroup writes hi and lo of its own stacked P^T, so the barrier before the O^T
//      product is the warpgroup's own (one cross-warpgroup barrier a tile fewer); needs two raw slots (implies 2).
//   2: two raw slots at 16 rows (as 32 rows have): the control for bit 1's shared memory.
//   4: the score product S^T(t) is issued before tile t's V stores (after the wait for O^T(t - 1)), so the 16
//      stores a thread and their fence overlap the 18 wgmma of the scores (implies 16).
//   8: threads with tq >= 2 load their two 16-byte halves in swapped order instead of swapping 8 registers a group
//      (32 fewer selects a tile, 2-way bank conflicts on the 8 NoPE loads).
//  16: setmaxnreg 24 / 240 (producer / consumers) instead of 40 / 232: the control for bit 4, which needs it.
//  32: (measurement only: no dequantization; measured in session 9, removed in session 14.)
//  64 and up: the alternating-tile design (see DenseFp8Alt); 32768 the rows dispatch (the entries). Bits 65536 ..
//      67108864 were the converter-fed design (DenseFp8Cv) and its probes: dropped after session 12's probe (its
//      consumers alone took 2.15 us a tile, docs/notes/cuda-dense-fp8.md) and removed; the last commit with it is 431fcc5.
#define MLA_DENSE_FP8_SHIPPED 16013289897100864
#ifndef MLA_DENSE_FP8_VAR
#define MLA_DENSE_FP8_VAR MLA_DENSE_FP8_SHIPPED
#endif
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & ~144112993347567615LL), "MLA_DENSE_FP8_VAR: bits 1 .. 2147483648 and 2199023255552 .. 72057594037927936 (144112993347567615 = 4294967295 | 2199023255552 | .. | 72057594037927936) only (bits 4294967296 .. 1099511627776 were removed in session 14, last at 2fc111a)");
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 105553116266496LL) || ((static_cast<long long>(MLA_DENSE_FP8_VAR) & 2147483712LL) == 2147483712LL),
              "bits 35184372088832 / 70368744177664 (the f16 score path) go with the alternating design (64) and the Q^T fill by cp.async (2147483648)");
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 26388279066624LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 6597069766656LL),
              "bits 8796093022208 and 17592186044416 shape the three-consumer code: with 4398046511104 (or 2199023255552) only");
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 134152192LL), "MLA_DENSE_FP8_VAR: bits 65536 .. 67108864 (the converter-fed design) were removed (last at 431fcc5)");
static_assert(!(MLA_DENSE_FP8_VAR & (32 | 128 | 256 | 536870912)), "MLA_DENSE_FP8_VAR: bits 32, 128, 256 and 536870912 were removed in session 14 (last at 2fc111a)");
[[maybe_unused]] constexpr bool kOwnP = MLA_DENSE_FP8_VAR & 1;
[[maybe_unused]] constexpr bool kTwoSlots16 = (MLA_DENSE_FP8_VAR & 2) || kOwnP;
[[maybe_unused]] constexpr bool kScoresFirst = MLA_DENSE_FP8_VAR & 4;
[[maybe_unused]] constexpr bool kLoadSwap = MLA_DENSE_FP8_VAR & 8;
[[maybe_unused]] constexpr bool kRegs240 = (MLA_DENSE_FP8_VAR & 16) || kScoresFirst;

template <int NR> struct Layout {
  static constexpr int RAW_SLOTS = NR == 16 && !kTwoSlots16 ? 3 : 2;
  static constexpr int V_OFF = 0;                                  // 8 slices of 64 keys x 128 bytes, SW128
  static constexpr int RAW_OFF = V_OFF + 8 * 8192;
  static constexpr int Q_OFF = RAW_OFF + RAW_SLOTS * kRawBytes;    // Q^T, 36 k-steps, canonical K-major
  static constexpr int X_OFF = Q_OFF + NR * 576 * 2;               // partial S^T: [warpgroup][tile parity][NR/2 * 4][128] f32
  static constexpr int X_FLOATS = NR / 2 * 128;                    // one warpgroup's partial (NI * 4 per thread)
  static constexpr int P_OFF = X_OFF + 4 * X_FLOATS * 4;           // P^T hi, then P^T lo (shared by both warpgroups)
  static constexpr int P_BYTES = NR * kBN * 2;                     // (variant 1 at 16 rows: a stacked hi + lo per warpgroup)
  static constexpr int RED_OFF = P_OFF + (kOwnP && NR == 16 ? 4 : 2) * P_BYTES; // [warpgroup][4 warps][NR] f32
  static constexpr int RED_BYTES = 4 * NR * 4;
  static constexpr int BAR_OFF = RED_OFF + 2 * RED_BYTES;          // full[RAW_SLOTS], empty[RAW_SLOTS]
  static constexpr int SMEM = BAR_OFF + 16 * RAW_SLOTS + 1024;     // + up to 1023 bytes to align the base
};

using narrow::canonOff; // Q^T's and P^T's canonical layout and its descriptor (sm90_narrow.cuh)
using narrow::descOf;
__device__ __forceinline__ uint64_t descSw128(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1024 >> 4) << 16) | (static_cast<uint64_t>(1024 >> 4) << 32) |
         (static_cast<uint64_t>(1) << 62);
}

// The cache dimension (0..575) behind element c (0..15) of logical k-step ks (0..35) of Q^T: warpgroup ks / 18, its
// local step l; thread column tq = (c & 7) / 2 owns dims base + 4 s' + {0, 1} (c < 8) and + {2, 3} (c >= 8).
__host__ __device__ __forceinline__ int qDim(int ks, int c) {
  const int w = ks / kKSteps, l = ks - w * kKSteps, tq = (c & 7) >> 1, e = (c & 1) + ((c >> 3) << 1);
  if (l < 16) {
    const int g = 2 * w + (l >> 3), s = (l & 7) ^ (tq >= 2 ? 4 : 0);
    return 128 * g + 32 * tq + 4 * s + e;
  }
  return 512 + 32 * w + 8 * tq + 4 * (l - 16) + e;
}

#ifdef MLA_SM90A
using namespace hop; // wgmma fences and waits, mbarriers, the evict-first policy, the proxy fence (hopper_ops.cuh)

// D (m64 x NR f32) (+)= A (registers, m64 x k16 bf16) . B (descriptor, K-major)
template <int NR> struct WgRs;
template <> struct WgRs<16> {
  static __device__ __forceinline__ void mma(float (&d)[8], const uint32_t (&a)[4], uint64_t b, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %14, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11}, %12, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(0), "r"(acc));
  }
};
template <> struct WgRs<32> {
  static __device__ __forceinline__ void mma(float (&d)[16], const uint32_t (&a)[4], uint64_t b, int acc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %22, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(0), "r"(acc));
  }
};
// D (m64 x NR f32) += A (descriptor, MN-major SW128) . B (descriptor, K-major)
template <int NR> struct WgSs;
template <> struct WgSs<16> {
  static __device__ __forceinline__ void mma(float (&d)[8], uint64_t a, uint64_t b) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7}, %8, %9, p, 1, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "l"(a), "l"(b));
  }
};
template <> struct WgSs<32> {
  static __device__ __forceinline__ void mma(float (&d)[16], uint64_t a, uint64_t b) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, %16, %17, p, 1, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "l"(a), "l"(b));
  }
};

// One page of raw token bytes into a raw slot, evict-first.
__device__ __forceinline__ void bulkLoad(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar, uint64_t policy) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;\n"
               ::"r"(dst), "l"(src), "r"(bytes), "r"(bar), "l"(policy) : "memory");
}
// A page into L2 ahead of its bulk copy (no shared memory held while it travels).
__device__ __forceinline__ void prefetchL2(const void* src, uint32_t bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void groupSync(int w) { asm volatile("bar.sync %0, 128;\n" ::"r"(1 + w) : "memory"); }
__device__ __forceinline__ void consumersSync() { asm volatile("bar.sync 3, 256;\n" ::: "memory"); }
__device__ __forceinline__ uint4 lds128(uint32_t a) {
  uint4 v;
  asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ uint2 lds64(uint32_t a) {
  uint2 v;
  asm volatile("ld.shared.v2.u32 {%0, %1}, [%2];\n" : "=r"(v.x), "=r"(v.y) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ void sts128(uint32_t a, uint32_t x, uint32_t y, uint32_t z, uint32_t w) {
  asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(a), "r"(x), "r"(y), "r"(z), "r"(w) : "memory");
}

// Two bytes of w (selector: bytes and their sign-replicated copies) -> bf16x2 of e4m3 * 2^-120, exact.
template <uint32_t SEL> __device__ __forceinline__ uint32_t e4m3PairScaled(uint32_t w) {
  uint32_t x;
  asm("prmt.b32 %0, %1, 0, %2;\n" : "=r"(x) : "r"(w), "n"(SEL));
  return (x << 4) & 0x87f087f0u;
}
__device__ __forceinline__ uint32_t mulBf16x2(uint32_t a, uint32_t b) {
  uint32_t d;
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(d) : "r"(a), "r"(b));
  return d;
}
// Exact reference path for one word: e4m3 -> f16 (exact) -> f32, times the f32 scale (rounded), -> bf16 (rounded).
__device__ __forceinline__ void dequantWordExact(uint32_t w, float s, uint32_t& lo, uint32_t& hi) {
  uint32_t h01, h23;
  asm("{\n .reg .b16 l, h;\n mov.b32 {l, h}, %2;\n cvt.rn.f16x2.e4m3x2 %0, l;\n cvt.rn.f16x2.e4m3x2 %1, h;\n}\n" : "=r"(h01), "=r"(h23) : "r"(w));
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&h01)), b = __half22float2(*reinterpret_cast<const __half2*>(&h23));
  const __nv_bfloat162 x = __floats2bfloat162_rn(a.x * s, a.y * s), y = __floats2bfloat162_rn(b.x * s, b.y * s);
  lo = *reinterpret_cast<const uint32_t*>(&x);
  hi = *reinterpret_cast<const uint32_t*>(&y);
}
#endif

// What both roles derive from one work item, identically (so their slot sequences agree).
struct Item {
  int seqlen, kBegin, tileEnd, nTiles;
};
__device__ __forceinline__ Item itemOf(const SparseMmaParams& p, const int* meta, int batch, int beginIdx, int endIdx) {
  Item it;
  it.seqlen = p.cacheSeqlens[batch];
  it.kBegin = batch == beginIdx ? meta[kMetaBeginSeqlen] : 0;
  const int kEnd = batch == endIdx ? meta[kMetaEndSeqlen] : it.seqlen;
  it.tileEnd = min(kEnd, it.seqlen); // the last query row (j = sQ - 1) sees every key, causal or not
  it.nTiles = it.tileEnd > it.kBegin ? (it.tileEnd - it.kBegin + kBN - 1) / kBN : 0;
  return it;
}

template <int NR>
struct DenseFp8 {
  using L = Layout<NR>;
  static constexpr int NI = NR / 8; // 8-column groups of the S^T accumulator
  // With 16 rows, P^T hi and lo are stacked along N (one m64n32k16 reads each V chunk once, O^T holds both halves,
  // added at the end); with 32 rows that accumulator would not fit the registers, so hi and lo take a wgmma each.
  static constexpr bool STACK = NR == 16;
  static constexpr int NO = STACK ? 2 * NR : NR, NIO = NO / 8;
  static constexpr int RS = L::RAW_SLOTS;
  static constexpr bool OWNP = kOwnP && STACK; // variant 1: this warpgroup's own stacked P^T

  static __device__ void run(const SparseMmaParams& p) {
#ifdef MLA_SM90A
    extern __shared__ __align__(1024) unsigned char smemRaw[];
    const uint32_t rawAddr = smemAddr(smemRaw);
    unsigned char* const smem = smemRaw + (((rawAddr + 1023u) & ~1023u) - rawAddr);
    const uint32_t base = smemAddr(smem);
    const uint32_t vBase = base + L::V_OFF, rawBase = base + L::RAW_OFF, qBase = base + L::Q_OFF;
    const uint32_t fullBar = base + L::BAR_OFF, emptyBar = fullBar + 8 * RS;
    const int part = blockIdx.x;
    const int lane = threadIdx.x % 32, gq = lane / 4, tq = lane % 4;
    const int wg = threadIdx.x / 128;
    const int tid = threadIdx.x % 128, warp = tid / 32;
    if (threadIdx.x == 0) {
      for (int s = 0; s < RS; ++s) {
        mbarInit(fullBar + 8 * s, 1);
        mbarInit(emptyBar + 8 * s, 8);
      }
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = min(meta[kMetaEndIdx], p.b - 1);
    __syncthreads();

    if (__shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 128, 0) == 2) {
      // (Bit 16: 24 / 240 registers, as FlashAttention-3's producer / consumers.)
      if (kRegs240) asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
      else asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
      if (threadIdx.x == 256) {
        const uint64_t policy = evictFirstPolicy();
        // Pages prefetched into L2 ahead of the ring (the raw slots alone hold too few bytes in flight to cover the
        // memory latency): SparseMmaParams.extraTopk when > 0 (a tuning knob; unused by dense launches otherwise),
        // -1 none, 0 the default.
        const int pf = p.extraTopk > 0 ? p.extraTopk : p.extraTopk < 0 ? 0 : kPrefetchPages;
        uint32_t n = 0; // pages issued so far
        for (int batch = beginIdx; batch <= endIdx; ++batch) {
          const int* bt = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq;
          const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
          const int first = itm.kBegin >> 6;
          for (int t = 0; t < itm.nTiles; ++t, ++n) {
            // (Page t + pf into L2 while page t is being copied: the first pages of an item go without one.)
            const int ahead = t + pf;
            if (pf > 0 && ahead < itm.nTiles) prefetchL2(p.kCache + static_cast<int64_t>(bt[first + ahead]) * p.blockStride, kRawBytes);
            const int page = bt[first + t];
            const uint32_t slot = n % RS;
            mbarWait(emptyBar + 8 * slot, ((n / RS) & 1) ^ 1);
            mbarExpectTx(fullBar + 8 * slot, kRawBytes);
            bulkLoad(rawBase + slot * kRawBytes, p.kCache + static_cast<int64_t>(page) * p.blockStride, kRawBytes, fullBar + 8 * slot, policy);
          }
        }
      }
      return;
    }
    if (kRegs240) asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    else asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
    const uint32_t pBase = base + L::P_OFF + (OWNP ? wg * 2 * L::P_BYTES : 0); // P^T hi; lo follows at + P_BYTES
    float* const red = reinterpret_cast<float*>(smem + L::RED_OFF + wg * L::RED_BYTES); // [4][NR]
    float* const xOwn = reinterpret_cast<float*>(smem + L::X_OFF) + wg * 2 * L::X_FLOATS;
    float* const xOther = reinterpret_cast<float*>(smem + L::X_OFF) + (1 - wg) * 2 * L::X_FLOATS;
    const int r0 = 16 * warp + gq; // this thread's tokens: r0 and r0 + 8 of each tile
    const bool swapHalves = tq >= 2;
    const int rows = p.sQ * p.hQ;

    uint32_t n0 = 0; // tiles of earlier items (the producer's sequence)
    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
      const int slotOut = p.numSplits[batch] + (batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0);
      const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      const int kBegin = itm.kBegin, tileEnd = itm.tileEnd;
      // Keys column n may see: min(tileEnd, lim0 + j(n)); j(n) packed 6 bits a column (n < 32).
      const int lim0 = p.causal ? itm.seqlen - p.sQ + 1 : (1 << 30);
      uint64_t jPack = 0;
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) jPack |= static_cast<uint64_t>(min((8 * i + 2 * tq + b) / p.hQ, 63)) << (6 * (2 * i + b));
      // Q^T (36 logical k-steps, dims in qDim order), zeros past the live rows; pairs of dims are adjacent.
      {
        const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q);
        for (int e = threadIdx.x; e < NR * 36 * 8; e += 256) {
          const int r = e % NR, pr = e / NR, ks = pr / 8, c2 = 2 * (pr % 8);
          uint32_t v = 0;
          if (r < rows) {
            const int j = r / p.hQ, h = r - j * p.hQ;
            v = *reinterpret_cast<const uint32_t*>(q + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * 576 + qDim(ks, c2));
          }
          *reinterpret_cast<uint32_t*>(smem + L::Q_OFF + canonOff<NR>(r, 16 * ks + c2)) = v;
        }
        fenceProxyAsync();
      }
      consumersSync();

      float o[4][NIO][4];
#pragma unroll
      for (int s = 0; s < 4; ++s)
#pragma unroll
        for (int i = 0; i < NIO; ++i) o[s][i][0] = o[s][i][1] = o[s][i][2] = o[s][i][3] = 0.f;
      float mRow[NI][2], lPart[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i) mRow[i][0] = mRow[i][1] = -INFINITY, lPart[i][0] = lPart[i][1] = 0.f;

      for (int it = 0; it < itm.nTiles; ++it) {
        const int t0 = kBegin + it * kBN;
        const uint32_t n = n0 + it, slot = n % RS;
        const uint32_t raw = rawBase + slot * kRawBytes;
        const int live = min(kBN, tileEnd - t0);
        mbarWait(fullBar + 8 * slot, (n / RS) & 1);

        // Raw loads: per token (r0, r0 + 8) two NoPE groups of 32 bytes, two scales, 16 RoPE bytes.
        uint32_t a[kKSteps][4];
        uint32_t d[2][2][16]; // [token][group][bf16x2], the V tile's 4 units of each group
        bool fast = true;
        uint4 ropeRaw[2];
        uint2 scRaw[2];
        uint4 nope[2][2][2];
#pragma unroll
        for (int tk = 0; tk < 2; ++tk) {
          const uint32_t tokA = raw + (r0 + 8 * tk) * kTok;
          scRaw[tk] = lds64(tokA + 512 + 8 * wg);
          ropeRaw[tk] = lds128(tokA + 528 + 64 * wg + 16 * tq);
#pragma unroll
          for (int gi = 0; gi < 2; ++gi)
#pragma unroll
            for (int h = 0; h < 2; ++h) nope[tk][gi][h] = lds128(tokA + 128 * (2 * wg + gi) + 32 * tq + 16 * (kLoadSwap ? h ^ static_cast<int>(swapHalves) : h));
        }
        // Every raw byte this warp needs is in registers: the slot may be refilled once all 8 warps say so.
        __syncwarp();
        if (lane == 0) mbarArrive(emptyBar + 8 * slot);
#pragma unroll
        for (int tk = 0; tk < 2; ++tk)
#pragma unroll
          for (int gi = 0; gi < 2; ++gi) {
            if (!kLoadSwap) {
              const uint4 x = nope[tk][gi][0], y = nope[tk][gi][1];
              nope[tk][gi][0] = swapHalves ? y : x;
              nope[tk][gi][1] = swapHalves ? x : y;
            }
            const uint32_t sb = gi == 0 ? scRaw[tk].x : scRaw[tk].y;
            const uint32_t ex = (sb >> 23) & 0xffu;
            uint32_t nanAcc = 0;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const uint4 v = nope[tk][gi][h];
              nanAcc |= ((v.x & 0x7f7f7f7fu) + 0x01010101u) | ((v.y & 0x7f7f7f7fu) + 0x01010101u) | ((v.z & 0x7f7f7f7fu) + 0x01010101u) |
                        ((v.w & 0x7f7f7f7fu) + 0x01010101u);
            }
            fast = fast && (sb & 0x007fffffu) == 0 && ex >= 1 && ex <= 134 && (nanAcc & 0x80808080u) == 0;
          }
        if (__all_sync(0xffffffffu, fast)) {
#pragma unroll
          for (int tk = 0; tk < 2; ++tk)
#pragma unroll
            for (int gi = 0; gi < 2; ++gi) {
              const uint32_t sb = gi == 0 ? scRaw[tk].x : scRaw[tk].y;
              const uint32_t s16 = ((sb >> 16) & 0x8000u) | ((((sb >> 23) & 0xffu) + 120u) << 7);
              const uint32_t s2 = s16 | (s16 << 16);
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                const uint32_t w4[4] = {nope[tk][gi][h].x, nope[tk][gi][h].y, nope[tk][gi][h].z, nope[tk][gi][h].w};
#pragma unroll
                for (int k = 0; k < 4; ++k) {
                  d[tk][gi][8 * h + 2 * k] = mulBf16x2(e4m3PairScaled<0x9180>(w4[k]), s2);
                  d[tk][gi][8 * h + 2 * k + 1] = mulBf16x2(e4m3PairScaled<0xB3A2>(w4[k]), s2);
                }
              }
            }
        } else {
#pragma unroll
          for (int tk = 0; tk < 2; ++tk)
#pragma unroll
            for (int gi = 0; gi < 2; ++gi) {
              const float s = __uint_as_float(gi == 0 ? scRaw[tk].x : scRaw[tk].y);
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                const uint32_t w4[4] = {nope[tk][gi][h].x, nope[tk][gi][h].y, nope[tk][gi][h].z, nope[tk][gi][h].w};
#pragma unroll
                for (int k = 0; k < 4; ++k) dequantWordExact(w4[k], s, d[tk][gi][8 * h + 2 * k], d[tk][gi][8 * h + 2 * k + 1]);
              }
            }
        }
#pragma unroll
        for (int tk = 0; tk < 2; ++tk) {
#pragma unroll
          for (int gi = 0; gi < 2; ++gi)
#pragma unroll
            for (int k = 0; k < 16; ++k) a[8 * gi + (k >> 1)][tk + 2 * (k & 1)] = d[tk][gi][k];
          const uint4 rp = ropeRaw[tk];
          a[16][tk] = rp.x, a[16][tk + 2] = rp.y, a[17][tk] = rp.z, a[17][tk + 2] = rp.w;
        }
        // The previous tile's O^T product has read V: write this tile's half (slices 4wg + 2gi + tq / 2).
        wgWait<0>();
#pragma unroll
        for (int s = 0; s < 4; ++s) pinRegs<NIO * 4>(&o[s][0][0]);
        const auto storeV = [&](const int tk) { // token r0 + 8 tk's 64 values of this warpgroup's half
          const int r = r0 + 8 * tk;
          if (kScoresFirst && r >= live) { // variant 4: a dead row (below) gets its zeros here, in place of its values
#pragma unroll
            for (int gi = 0; gi < 2; ++gi)
#pragma unroll
              for (int j = 0; j < 4; ++j)
                sts128(vBase + (4 * wg + 2 * gi + (tq >> 1)) * 8192 + r * 128 + (((4 * (tq & 1) + j) ^ (r & 7)) << 4), 0u, 0u, 0u, 0u);
            return;
          }
#pragma unroll
          for (int gi = 0; gi < 2; ++gi) {
            const uint32_t sl = vBase + (4 * wg + 2 * gi + (tq >> 1)) * 8192 + r * 128;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              const int u = 4 * (tq & 1) + (j ^ (swapHalves ? 2 : 0));
              sts128(sl + ((u ^ (r & 7)) << 4), d[tk][gi][4 * j], d[tk][gi][4 * j + 1], d[tk][gi][4 * j + 2], d[tk][gi][4 * j + 3]);
            }
          }
        };
        // S^T (this warpgroup's half) = K_w Q^T_w: 18 wgmma from registers. Variant 4 issues it here, so that the V
        // stores after it (which only read the values) overlap it; the A operand (register quads of two tokens) and
        // the stores (quads of one token) group the values differently, so both copies are live while it runs (that
        // takes the 240-register split, bit 16).
        float sAcc[NI * 4];
        const uint64_t qDesc = descOf<NR>(qBase + kKSteps * wg * 2 * NR * 16);
        if (kScoresFirst) {
#pragma unroll
          for (int e = 0; e < NI * 4; ++e) sAcc[e] = 0.f;
          wgFence();
#pragma unroll
          for (int ks = 0; ks < kKSteps; ++ks) WgRs<NR>::mma(reinterpret_cast<float(&)[NI * 4]>(sAcc), a[ks], qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
          wgCommit();
        }
#pragma unroll
        for (int tk = 0; tk < 2; ++tk) storeV(tk);
        // Value rows past the tile's live keys (the rest of the last page: maybe NaN) become zeros in V, written over
        // by the thread that stored them; S^T keeps the raw values (their scores are masked by selection).
        const auto zeroDeadRows = [&] {
#pragma unroll 1
          for (int tk = 0; tk < 2; ++tk) {
            const int r = r0 + 8 * tk;
            if (r < live) continue;
#pragma unroll
            for (int gi = 0; gi < 2; ++gi)
#pragma unroll
              for (int j = 0; j < 4; ++j)
                sts128(vBase + (4 * wg + 2 * gi + (tq >> 1)) * 8192 + r * 128 + (((4 * (tq & 1) + j) ^ (r & 7)) << 4), 0u, 0u, 0u, 0u);
          }
          fenceProxyAsync();
        };
        if (!kScoresFirst) zeroDeadRows();
        else fenceProxyAsync();

        if (!kScoresFirst) {
#pragma unroll
          for (int e = 0; e < NI * 4; ++e) sAcc[e] = 0.f;
          wgFence();
#pragma unroll
          for (int ks = 0; ks < kKSteps; ++ks) WgRs<NR>::mma(reinterpret_cast<float(&)[NI * 4]>(sAcc), a[ks], qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
          wgCommit();
        }
        wgWait<0>();
        pinRegs<NI * 4>(sAcc);
        // The two halves meet: each warpgroup adds the other's (the same sum in both).
        float* const xo = xOwn + (it & 1) * L::X_FLOATS;
        const float* const xt = xOther + (it & 1) * L::X_FLOATS;
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) xo[e * 128 + tid] = sAcc[e];
        consumersSync();
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) sAcc[e] += xt[e * 128 + tid];

        // Mask by selection (scaled to base 2), column maxima over this warp's 16 keys, then over the 4 warps.
        const int key0 = t0 + r0;
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            float& s0 = sAcc[i * 4 + b];
            float& s1 = sAcc[i * 4 + 2 + b];
            const int lim = min(tileEnd, lim0 + static_cast<int>((jPack >> (6 * (2 * i + b))) & 63));
            s0 = key0 < lim ? s0 * p.scaleLog2 : -INFINITY;
            s1 = key0 + 8 < lim ? s1 * p.scaleLog2 : -INFINITY;
            float x = fmaxf(s0, s1);
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
            if (gq == 0) red[warp * NR + 8 * i + 2 * tq + b] = x;
          }
        groupSync(wg);
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int r = 8 * i + 2 * tq + b;
            const float x = fmaxf(fmaxf(red[r], red[NR + r]), fmaxf(red[2 * NR + r], red[3 * NR + r]));
            const float mNew = fmaxf(mRow[i][b], x);
            const float bse = mNew == -INFINITY ? 0.f : mNew;
            const float alpha = exp2f(mRow[i][b] - bse);
#pragma unroll
            for (int s = 0; s < 4; ++s) {
              o[s][i][b] *= alpha, o[s][i][2 + b] *= alpha;
              if (STACK) o[s][i + NI % NIO][b] *= alpha, o[s][i + NI % NIO][2 + b] *= alpha;
            }
            mRow[i][b] = mNew;
            const float p0 = exp2f(sAcc[i * 4 + b] - bse), p1 = exp2f(sAcc[i * 4 + 2 + b] - bse);
            lPart[i][b] = lPart[i][b] * alpha + p0 + p1;
            // P^T as hi + lo (16 significant bits; a bf16 P alone rounds each weight by up to 2^-9, which shows on
            // large V columns when few keys share the mass). Both warpgroups hold the same P: 0 writes hi, 1 lo.
            const __nv_bfloat16 h0 = __float2bfloat16_rn(p0), h1 = __float2bfloat16_rn(p1);
            if (OWNP) { // variant 1: this warpgroup's own P^T of 2 NR rows, hi in rows 0.., lo in rows NR..
              const __nv_bfloat16 l0 = __float2bfloat16_rn(p0 - __bfloat162float(h0)), l1 = __float2bfloat16_rn(p1 - __bfloat162float(h1));
              unsigned char* const pw = smem + L::P_OFF + wg * 2 * L::P_BYTES;
              *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NO>(r, r0)) = h0;
              *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NO>(r, r0 + 8)) = h1;
              *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NO>(r + NR, r0)) = l0;
              *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NO>(r + NR, r0 + 8)) = l1;
              continue;
            }
            const __nv_bfloat16 w0 = wg == 0 ? h0 : __float2bfloat16_rn(p0 - __bfloat162float(h0));
            const __nv_bfloat16 w1 = wg == 0 ? h1 : __float2bfloat16_rn(p1 - __bfloat162float(h1));
            if (STACK) { // one P^T of 2 NR rows: hi in rows 0.., lo in rows NR..
              *reinterpret_cast<__nv_bfloat16*>(smem + L::P_OFF + canonOff<NO>(r + wg * NR, r0)) = w0;
              *reinterpret_cast<__nv_bfloat16*>(smem + L::P_OFF + canonOff<NO>(r + wg * NR, r0 + 8)) = w1;
            } else {
              *reinterpret_cast<__nv_bfloat16*>(smem + L::P_OFF + wg * L::P_BYTES + canonOff<NR>(r, r0)) = w0;
              *reinterpret_cast<__nv_bfloat16*>(smem + L::P_OFF + wg * L::P_BYTES + canonOff<NR>(r, r0 + 8)) = w1;
            }
          }
        fenceProxyAsync();
        // P^T hi and lo and both warpgroups' V slices complete (and visible to the tensor cores); red is free. (The
        // next tile's P^T is written after its exchange barrier, which both warpgroups pass only once their O^T
        // product of this tile has been waited for.) Variant 1: each warpgroup's own P^T and V half, its own barrier.
        if (OWNP) groupSync(wg);
        else consumersSync();

        // O^T_w += V^T_w P^T: slice s of this warpgroup, 4 k-steps of 16 keys.
        // (Descriptors as one base plus constant steps: the address field counts 16-byte units.)
        const uint64_t vDesc = descSw128(vBase + 4 * wg * 8192), pDesc = descOf<NO>(pBase);
        if (kScoresFirst) // (keeps the compiler from sinking the rescale by alpha in among the wgmma)
#pragma unroll
          for (int s = 0; s < 4; ++s) pinRegs<NIO * 4>(&o[s][0][0]);
        wgFence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
#pragma unroll
          for (int s = 0; s < 4; ++s) {
            const uint64_t v = vDesc + ((s * 8192 + kk * 2048) >> 4);
            WgSs<NO>::mma(reinterpret_cast<float(&)[NIO * 4]>(o[s]), v, pDesc + ((kk * 2 * NO * 16) >> 4));
            if (!STACK) WgSs<NO>::mma(reinterpret_cast<float(&)[NIO * 4]>(o[s]), v, pDesc + ((L::P_BYTES + kk * 2 * NO * 16) >> 4));
          }
        wgCommit();
      }
      wgWait<0>();
#pragma unroll
      for (int s = 0; s < 4; ++s) pinRegs<NIO * 4>(&o[s][0][0]);
      if (STACK) // hi + lo halves
#pragma unroll
        for (int s = 0; s < 4; ++s)
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[s][i][e] += o[s][i + NI % NIO][e];
      n0 += itm.nTiles;

      // Row sums: over the 8 key lanes, then the 4 warps (the same in both warpgroups).
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
      groupSync(wg);
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int r = 8 * i + 2 * tq + b;
          if (r >= rows) continue;
          const float l = red[r] + red[NR + r] + red[2 * NR + r] + red[3 * NR + r];
          const int j = r / p.hQ, h = r - j * p.hQ;
          const bool empty = l == 0.f;
          const float inv = empty ? 0.f : 1.f / l;
          const float lse = empty ? (noSplit ? INFINITY : -INFINITY) : (mRow[i][b] + log2f(l)) * 0.69314718055994531f;
          const int col0 = 256 * wg + 16 * warp + gq;
          if (noSplit) {
            __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * kDV + col0;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
              out[64 * s] = __float2bfloat16_rn(o[s][i][b] * inv);
              out[64 * s + 8] = __float2bfloat16_rn(o[s][i][2 + b] * inv);
            }
            if (wg == 0 && warp == 0 && gq == 0) p.lse[(static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j] = lse;
          } else {
            const int64_t row = (static_cast<int64_t>(slotOut) * p.sQ + j) * p.hQ + h;
            float* acc = p.oAccum + row * kDV + col0;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
              acc[64 * s] = o[s][i][b] * inv;
              acc[64 * s + 8] = o[s][i][2 + b] * inv;
            }
            if (wg == 0 && warp == 0 && gq == 0) p.lseAccum[row] = lse;
          }
        }
      consumersSync(); // both warpgroups are done with Q^T, red and the exchange before the next item
    }
#endif
  }
};


// ---------------------------------------------------------------------------------------------------------------
// Variant 64 ("alt"): the two consumer warpgroups take alternate tiles (decode_sm90.cu's scheme) and each dequantizes
// its whole tile twice, straight into wgmma A-operand registers, so no bf16 tile is written to shared memory at all:
//   S^T (64 keys x NR) = K (A from registers: warp q keys 16q.., the thread's tokens r0, r0 + 8) . Q^T (B, smem)
//   O^T (512 x 32)    += V^T (A from registers: M = value columns, K = keys) . P^T (B, smem; hi + lo)
// Shared memory holds only the raw ring (4 pages), Q^T, each warpgroup's P^T and the reductions. The S^T operand is
// built in 9 batches of 4 k-steps (4 NoPE groups x 2 halves, then RoPE), double-buffered, so the dequantization of
// batch b + 1 overlaps the wgmma of batch b; the O^T operand in 8 batches (4 k-steps of 16 keys x 2 halves of the 8
// value slices). A thread of warp q owns, in O^T, the 16 value columns 128q + 16gq .. + 15 (one NoPE group, 16
// consecutive bytes of a token: one 16-byte load), column 128q + 16gq + 2s + x being row 16q + gq + 8x of slice s;
// its keys in k-step kk are 16kk + 2tq + {0, 1, 8, 9} (the fragment's k), so a register pairs one column of two
// keys: one prmt picks the two bytes (and their sign copies) from the two tokens' words, and one bf16x2 multiply
// applies both tokens' scales. The fast conversion (the bit trick above) runs unconditionally; the S phase checks
// every live byte and scale of the tile on the way (each thread its tokens r0, r0 + 8, all groups: together the
// whole tile) and one barrier reduction tells the warpgroup; a tile with anything else redoes S^T and does O^T on
// the exact cvt path. Dead keys (past the item's end in the last page, maybe NaN): masked in the scores by
// selection, and their V columns get a zero scale (fast path: the bit trick maps every byte to a finite value) or
// zero bytes (exact path). The O^T product of a tile stays in flight into the warpgroup's next tile (its S phase).
// At 16 rows P^T hi and lo are stacked on N (one m64n32k16 per slice and k-step), at 32 rows they take a wgmma each
// into the same accumulators; O^T is 128 registers either way. At the item's end the two warpgroups merge as
// decode_sm90.cu's (split stores: each warpgroup stores four slices, 8 consecutive columns a row: one 16-byte store).
[[maybe_unused]] constexpr bool kAlt = MLA_DENSE_FP8_VAR & 64;
// Bit 512 (with 64): on fast tiles V and P are f16 instead of bf16 (e4m3 * 2^-8 by the same bit trick, times the f16 of
// scale * 2^8: exact for power-of-two scales 2^-15 .. 2^7; P rounded to f16, 2^-11 relative, so no lo part): one O^T
// wgmma per slice and k-step instead of two. Tiles outside that scale range take the exact path (bf16, P hi + lo).
[[maybe_unused]] constexpr bool kAltF16 = MLA_DENSE_FP8_VAR & 512;
// Bit 1024 (with 64): at 32 rows only (where the double-buffered operands cost spills), each wgmma group of the O^T and
// S^T products is waited before the next one's operand is built (no double buffering: fewer registers, no overlap of
// the dequantization with the tensor cores). (Bits 128 / 256, the same at 16 rows too: removed in session 14.)
[[maybe_unused]] constexpr bool kAltSerial32 = MLA_DENSE_FP8_VAR & 1024;
// Bit 2048 (with 64): register relief at 32 rows: the running maxima live in shared memory (they are the same in a
// column's 8 gq lanes; double-buffered by the warpgroup's tile parity) and the softmax addresses shared memory with
// 32-bit addresses (8 + 3 registers fewer in the loop).
[[maybe_unused]] constexpr bool kAltMaxSmem = MLA_DENSE_FP8_VAR & 2048;
// Bit 4096 (with 64): serial O^T groups at 32 rows only (S^T groups double-buffered): with bit 2048, the
// 32-row build that needs no spills and keeps the S^T overlap (round 1: serial O^T groups cost nothing, serial S^T
// groups 4 %).
[[maybe_unused]] constexpr bool kAltSerialO32 = MLA_DENSE_FP8_VAR & 4096;
// Bit 8192 (with 64): the producer warpgroup's three idle warps screen each landed page for the fast path (NaN bytes
// and scales of the live tokens, the same predicate as the S phase's vote) and hand the answer to the consumers through
// a flag a slot and a third mbarrier a slot; the consumers' S phase drops its NaN and scale checks (~200 instructions
// a warp and tile, 3 a word) and the bar.red.or vote. (Session 10's ncu: the consumers are issue-bound while the
// producer's warps sit idle; this moves the screening onto those warps' issue slots.)
// Bit 16384 (implies 8192): the screening warps also convert each live token's four scales once, into a slot's
// scale arrays (bf16 of scale * 2^120 for the S phase, f16 of scale * 2^8 for the O phase, [group][token], 0 for dead
// tokens), so the consumers load ready operands (the O phase: one 32-bit load for two tokens' packed pair) instead of
// converting the f32 scale in each of the four threads (S) or the 32 lanes (O) that use it; the consumers wait for the
// screening before their S phase (not after it, as with 8192 alone).
// (Both bits are preprocessor switches in the code below, with the code they replace kept token for token in the
// #else branches: a branch on a constant false still reorders LLVM's values enough for ptxas to emit other SASS.)
#define MLA_DFP8_SCAN ((MLA_DENSE_FP8_VAR & (8192 | 16384)) != 0)
#define MLA_DFP8_SCANSC ((MLA_DENSE_FP8_VAR & 16384) != 0)
[[maybe_unused]] constexpr bool kAltScanSc = MLA_DFP8_SCANSC;
// Bit 134217728 (with 64; session 12): stale row maxima. A warpgroup's tile first tests, per thread and without any
// reduction, whether one of its scores exceeds the row's running maximum by more than kLazyTau (log2 units); one
// bar.red.or tells the warpgroup. If none does, the tile keeps the old maxima: no shuffles, no cross-warp reduction
// through shared memory, no exp2 of alpha and no O^T rescale (64 multiplies a thread at 16 rows, 128 at 32), and P
// = exp2(s - m) is at most 2^kLazyTau (f16 and the hi + lo bf16 pair keep their relative precision). Otherwise the tile
// runs the usual update (max over the warps, alpha, rescale). The result is the same softmax with another reference
// maximum; lse = m + log2(l) either way. In a rows-dispatch build (32768) the 32-row pass gets the bit too.
#define MLA_DFP8_LAZY ((MLA_DENSE_FP8_VAR & 134217728) != 0)
[[maybe_unused]] constexpr float kLazyTau = 8.f;
// Bit 268435456 (with 64; session 12): the S phase's load of the next raw batch before the current one's operand at 32
// rows too (session 10: 8 registers too many there; with 2048 + 16384 it may fit).
[[maybe_unused]] constexpr bool kAltSpf32 = MLA_DENSE_FP8_VAR & 268435456;
// Bit 1073741824 (session 12 round 2): the 32-row pass without 4096 (its O^T groups double-buffered, as at 16 rows).
// Bit 2147483648 (with 64; session 12 round 3): the item's Q^T fill by cp.async. The fill was a loop of dependent
// 4-byte global loads and shared stores, two a trip, with an integer division and 64-bit index arithmetic in each: about
// 18 (16 rows) / 36 (32 rows) round trips to L1 or memory a thread, one after another, at the start of every item while
// the page ring is full. Here each consumer thread keeps one row (tid % NR) and issues all its 4-byte copies at once
// (LDGSTS, rows past the query's count zero-filled), then waits once.
#define MLA_DFP8_QA ((MLA_DENSE_FP8_VAR & 2147483648) != 0)
// Bit 2199023255552 (with 64; session 18, helper s18-h4): three consumer warpgroups at 16 rows (32 rows unchanged: the
// second pass never gets the bit). The consumers take an item's tiles round-robin (three tiles in flight), each with its
// own running maxima, sums and O^T, merged at the item's end three ways (through Q^T's region, four rounds); 512
// threads (the producer warpgroup is the fourth: setmaxnreg 32 / 160, 128 x 32 + 384 x 160 = 65536), the O^T groups
// serial and the S^T groups one k-step each, double-buffered (MLA_DFP8_W3_SER: with serial S^T groups 0 bytes spilled
// too; double-buffered O^T groups, or S^T groups of two k-steps even with both serial, spill at 160 registers); the S phase's next-batch
// prefetch stays. The ring keeps 4 pages (a fifth is over 227 KiB) but gets 8 full barriers (tile n: page n % 4, full
// barrier n % 8): with three consumers a waiter would otherwise be only one tile past the last one it consumed, and a
// parity wait on a barrier whose previous phase has not completed yet returns at once; with 8 the previous phase of a
// waited barrier belongs to tile n - 8, whose page was released (so landed) before tile n - 4 was issued. Launch: 512
// threads at 16 rows (the kernel folder's manifest.json says so: denseFp8Sm90Threads16, dense-fp8-sm90-launch.ts).
#define MLA_DFP8_W3 ((MLA_DENSE_FP8_VAR & 2199023255552) != 0)
[[maybe_unused]] constexpr bool kAlt3 = MLA_DFP8_W3;
#define MLA_DFP8_N16_THREADS (MLA_DFP8_W3 ? 512 : 384)
// Bits 8796093022208 and 17592186044416 (session 18, helper s18-h6, for session 19; only with 4400596682304, where
// they reach the third pass's n16w3 code and nothing else): a three-consumer warpgroup's own chain in larger wgmma
// groups. 8796093022208: the S^T operand in groups of two k-steps (18 a tile instead of 36), double-buffered as at
// the two-consumer 16 rows (0 bytes spilled at 160 registers with the O^T groups serial; with serial S^T groups too,
// 4 bytes spill). 17592186044416: the O^T operand of a k-step in one group of 8 slices (4 groups a tile instead of 8,
// each still waited before the next is built). docs/notes/cuda-dense-fp8.md, "Session 18, round 3 (helper s18-h6)".
#define MLA_DFP8_W3G2 ((MLA_DENSE_FP8_VAR & 8796093022208) != 0)
#define MLA_DFP8_W3O1 ((MLA_DENSE_FP8_VAR & 17592186044416) != 0)
[[maybe_unused]] constexpr bool kW3G2 = MLA_DFP8_W3G2, kW3O1 = MLA_DFP8_W3O1;
// Bit 35184372088832 (session 19, helper s19-h3): the f16 score path at 16 rows. The Q^T fill also writes a second
// Q^T whose NoPE k-steps are f16 (RoPE stays bf16), and the consumers learn in the fill's barrier (bar.red.and) whether
// every NoPE q of the item is under 2^15 in magnitude; where one is not (or is infinite / NaN: rare, a uniform branch),
// both Q^T are made again as q 2^-e (e = the largest finite q's bf16 exponent - 141) and the scores' factor becomes
// scaleLog2 2^e (kept in shared memory, read once a tile). Then a NoPE register of the score operand is one cvt
// (e4m3x2 -> f16x2, exact) and one f16x2 multiply by the token's scale in f16 (exact on the fast path's scales, powers
// of two in 2^-15 .. 2^7: e4m3 x scale lies in [2^-24, 57,344]), two instructions where the bf16 path takes four
// (prmt, shift, and, bf16x2 multiply); the S^T groups are one k-step each (with two, the two-consumer entry spills).
// A tile the checks send to the exact path reads the bf16 Q^T as the shipped build does (bf16-rounded K, FlashMLA's
// dequantization). Precision: f16 holds a bf16 q exactly from 2^-14 up; below, q rounds to f16's subnormals, at most
// 2^-25 off (2^-39 of the item's largest q after a rescale). Only in the pass whose 16-row entry is the two-consumer
// code; bit 70368744177664 hands it to the third pass's n16w3 code as 35184372088832. (The folded-scale form, four
// per-group S^T accumulators, spilled at both entries' 168 / 160 registers.) docs/notes/cuda-dense-fp8.md, "Session 19
// (helper s19-h3)".
#define MLA_DFP8_SF16 ((MLA_DENSE_FP8_VAR & 35184372088832) != 0)
// Bit 72057594037927936 (session 21, helper s21-f4; the second pass's n32 only, which then also gets 35184372088832): the
// f16 score path at 32 rows. n32 has the screening warps (8192 + 16384), so its S phase (sPhaseH with MLA_DFP8_SCAN) takes
// no checks and reads each token's f16(scale) from the slot's V-scale array (the same values the O side multiplies by;
// the screening warps' flags send a tile to the exact path as before, which reads the bf16 Q^T). The f16 Q^T (36 KB at 32
// rows) fits only with a 3-page ring at 32 rows (AltLayout<32>: 222,272 bytes of the launch's 229,408). The item's
// qFit / rescale as at 16 rows. docs/notes/cuda-dense-fp8.md, "Session 21 (f4)".
#undef MLA_DFP8_S32H
#if defined(MLA_DFP8_PASS2) && (MLA_DENSE_FP8_VAR & 72057594037927936)
#define MLA_DFP8_S32H 1
#else
#define MLA_DFP8_S32H 0
#endif
// Bit 140737488355328 (session 20, helper s20-h3; with 512, every pass: the two-consumer n16, the third pass's n16w3 and
// the second pass's n32 get it): the O side by cvt. On fast tiles a thread's two value rows of a slice are the adjacent
// bytes d, d + 1 (d = 2 (s & 1)) of its 16-byte run, so one prmt gathers both keys' bytes of both columns ({x0.b_d,
// x1.b_d} low, {x0.b_d+1, x1.b_d+1} high) and two cvt.rn.f16x2.e4m3x2 make the two A registers (exact), each then one
// f16x2 multiply by the keys' packed pair of f16(scale) (not scale x 2^8: exact on the fast path's scales, powers of
// two 2^-15 .. 2^7, products in [2^-24, 57,344], the same values as the bit trick's): 2.5 instructions a register
// instead of 4 (prmt, shift, and, multiply), -192 a thread and tile. cvt keeps a NaN byte NaN (the bit trick made it
// finite, and a dead key's zero scale killed it), so on an item's last tile (live < 64, a uniform branch) the dead
// keys' words are zeroed before the prmt. At 32 rows (bit 16384) the screening warps write f16(scale) instead of
// f16(scale x 2^8). docs/notes/cuda-dense-fp8.md, "Session 20 (helper s20-h3)".
// Bit 281474976710656 (with 140737488355328): the second pass (n32) without it — the O side by cvt at 16 rows only
// (n16 and n16w3 as with 140737488355328 alone, n32 the shipped code), for the case where 32 rows do not gain.
#define MLA_DFP8_OCVT ((MLA_DENSE_FP8_VAR & 140737488355328) != 0)
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 281474976710656LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 140737488355328LL),
              "bit 281474976710656 (16 rows only) goes with bit 140737488355328");
// Bit 562949953421312 (session 20, helper s20-f1; with 35184372088832, in the pass where that bit is): the S side's
// scale multiply folded (step 3 of docs/notes/cuda-dense-fp8.md's plan written at session 19's end). A NoPE register of
// the score operand is the cvt alone (e4m3x2 -> f16x2, exact); NoPE group g's eight k-steps go into one f32
// accumulator (8 registers), and group g + 1's first k-step waits for all of the thread's wgmma (wgWait<0> where it was
// <1>), reads the two keys' scales of group g again from the raw slot and folds S += scale_g(key) x acc in f32 (8 FFMA)
// before it overwrites the accumulator; the RoPE k-steps accumulate into S after group 2's fold, and group 3's fold
// follows the caller's wait. -128 f16 multiplies and -8 scale conversions a thread and tile, +32 FFMA / FMUL, +8 LDS,
// three drains of the warpgroup's own S^T chain. (The plan's form, two accumulators rolling, spills: 12-52 bytes in
// n16w3, 16 in n16; MLA_DFP8_SFOLD_NACC 2 builds it.) On the fast path (power-of-two scales 2^-15 .. 2^7) every product
// e4m3 x q and its scaling are exact in f32, so only the summation order moves. The checks and the exact path are
// sPhaseH's. Bit 1125899906842624 hands it to the third pass's n16w3 code as 562949953421312 (it needs the f16 score
// path there too: bit 70368744177664). docs/notes/cuda-dense-fp8.md, "Session 20 (helper s20-f1)".
#define MLA_DFP8_SFOLD ((MLA_DENSE_FP8_VAR & 562949953421312) != 0)
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 562949953421312LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 35184372088832LL),
              "bit 562949953421312 (the S side's scale multiply folded) goes with the f16 score path (35184372088832)");
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 1125899906842624LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 70368744177664LL),
              "bit 1125899906842624 (the folded scales in n16w3) goes with bit 70368744177664 (the f16 score path in n16w3)");
// Bit 2251799813685248 (session 21, helper s21-f3; with 2147483648): the item's Q^T fill by 16-byte loads, in the 16-row
// entries (n16 and the third pass's n16w3; bit 4503599627370496 gives it to the second pass's n32, with or without
// 2251799813685248). The cp.async fill issues
// 18 (16 rows) / 36 (32 rows) 4-byte copies a thread whose 32 lanes touch 16-32 sectors of 16 rows each: 4,608 / 9,216
// sector requests a part and item for 18 / 36 KB, sent into the opening burst of the ring's pages (session 21 call A:
// Q^T filled 9.8 us after entry at 8192 x 16 rows, 4.5 us with one page a part). Here a warp takes a unit of 8 rows x
// one NoPE group (256 bytes a row: 4 consecutive 16-byte loads a lane) or 8 rows x the RoPE part (128 bytes a row: 2
// loads); lane (gq, tq) holds row 8 rb + gq and the 64 (32) bytes of thread column tq, so each 16-byte chunk is the
// four words of two k-steps of that column and every store of the warp hits 32 different banks (word 4 r + tq mod 32).
// All of a warp's loads go out before its first store; rows past the query's count are zero. With the f16 score path
// (35184372088832) the same words go to the f16 Q^T (NoPE as f16) in the same pass, and qFit comes from them. Every
// consumer warp fills (10 / 20 units over 8 or 12 warps); the rare rescale path reads the bf16 Q^T as before.
#define MLA_DFP8_QV ((MLA_DENSE_FP8_VAR & 2251799813685248) != 0)
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 2251799813685248LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 2147483712LL) == 2147483712LL,
              "bit 2251799813685248 (the Q^T fill by 16-byte loads) goes with the alternating design (64) and 2147483648");
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 4503599627370496LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 32768LL),
              "bit 4503599627370496 (the 16-byte Q^T fill in n32) goes with the rows dispatch (32768), whose second pass reads it");
// Bit 9007199254740992 (session 21, helper s21-f3; the third pass's n16w3 only, with the f16 score path there): the
// three-way merge's four rounds as two phases of two rounds, round rd's buffers in Q^T's region (rd even) or the f16
// Q^T's (rd odd, free too once every warpgroup's tiles are done), each thread's four values of a (buffer, i) one
// 16-byte store / load (4 STS.128 / LDS.128 a phase where the rounds took 16 / 32 4-byte ones): 3 barriers after the
// maxima's two instead of 8 (the item's last barrier, after the stores, orders phase 1's reads before the next item's
// Q^T fill). Session 21 call A: merge 3.7 us of 8192 x 16 rows' ~23 us fixed part.
#define MLA_DFP8_MV ((MLA_DENSE_FP8_VAR & 9007199254740992) != 0 && (MLA_DENSE_FP8_VAR & 2199023255552) != 0)
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 9007199254740992LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 4398046511104LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 35184372088832LL),
              "bit 9007199254740992 (the merge in two phases) goes with the dispatch build (4398046511104) and its f16 score path");
// Bit 18014398509481984 (session 21, helper s21-f4; read by the second pass's n32 code only, so the 16-row entries are
// unchanged): an unsplit item's output leaves through shared memory and bulk copies. The direct stores are 16 bytes a
// thread and row with the other warpgroup's 16 bytes beside them, so a warp instruction writes 32 half sectors of 4 rows,
// 8 such instructions a thread at 32 rows (session 21 call D's stamps: merged -> stored 10.0 us at 8192 x 32 rows, 1.8 at
// 16; decode_sm90_wide.cu's kVarStAsync found the same pattern at 7 us an item). Here, once the merge is done (Q^T's
// region free), each thread writes its 16 bytes a row there, rows 1040 bytes apart, fence.proxy.async, the consumers'
// barrier, then lanes 0-3 of each of the 8 consumer warps copy one row each (1 KB, cp.async.bulk shared -> global: the
// item's rows are contiguous in out) and wait until the copy has read shared memory before the item's last barrier
// (after which the next item's Q^T is written there) and before the CTA exits. The lse and split items' f32 partials keep
// their direct stores; an out pointer that is not 16-byte aligned too (CTA-uniform). docs/notes/cuda-dense-fp8.md,
// "Session 21 (f4)".
// Bit 36028797018963968 (with 18014398509481984; helper s21-f4): the staged rows' loop without the direct stores' work
// (the out index and its division by hQ only where the lse is stored; 1 / l by rcp.approx, 1 ulp, where the direct
// stores divide; every row staged, the copies take the live ones): tells whether the 32-row end costs its stores or
// its instructions (cold code at an item's end).
#undef MLA_DFP8_BO
#undef MLA_DFP8_BO2
#if defined(MLA_DFP8_PASS2) && (MLA_DENSE_FP8_VAR & 18014398509481984)
#define MLA_DFP8_BO 1
#define MLA_DFP8_BO2 ((MLA_DENSE_FP8_VAR & 36028797018963968) != 0)
#else
#define MLA_DFP8_BO 0
#define MLA_DFP8_BO2 0
#endif
static_assert(!(static_cast<long long>(MLA_DENSE_FP8_VAR) & 36028797018963968LL) || (static_cast<long long>(MLA_DENSE_FP8_VAR) & 18014398509481984LL),
              "bit 36028797018963968 goes with 18014398509481984 (the staged output of n32)");
// MLA_DFP8_STAMP (a -D switch, not a VAR bit; measurement only, session 20 s20-f2, docs/notes/cuda-dense-fp8.md
// "Session 20, f2"): thread 0 stores %clock / %globaltimer stamps of the part's first item into the 16 lse words of
// its request, over its lse (WRONG lse), the producer the %clock of its last bulk copy. Words: 0 smid,
// 1 / 2 globaltimer at entry, 3 clock at entry, 4 Q^T filled, 5 warpgroup 0's first page in, 6 unused, 7 its last
// page in, 8 its tiles done, 9 every warpgroup's tiles done, 10 merged, 11 stored, 12 / 13 globaltimer at
// the item's end, 14 the item's tiles, 15 the producer's last copy issued. 0 (the default): the code as without it.
#ifndef MLA_DFP8_STAMP
#define MLA_DFP8_STAMP 0
#endif
// MLA_DFP8_PROBE (a -D switch, not a VAR bit; measurement only, session 22 f6, docs/notes/cuda-dense-fp8.md "Session 22
// (f6)"; WRONG RESULTS, timed without checks): parts of the alternating design's tile left out, in every entry (n16,
// n16w3, n32). Bit 1: no O side (no O^T product, no exact O path, no O^T rescale; the raw slot is released after the
// softmax's barrier). Bit 2: no S side (no S^T product, no exact S path, no softmax; P^T is not written, the barrier
// that hands it over stays). Bit 4: no DRAM (the ring is zeroed once at entry, the producer arrives on a slot's full
// barrier instead of copying a page, the screening warps still run but their flags read clean). 0 (the default): the
// code as without it.
#ifndef MLA_DFP8_PROBE
#define MLA_DFP8_PROBE 0
#endif
#if MLA_DFP8_STAMP
#define MLA_DFP8_ST(k, v) (reinterpret_cast<volatile uint32_t*>(p.lse) + static_cast<int64_t>(beginIdx) * p.hQ * p.sQ)[k] = (v)
// (the stamps go to 64 bytes of shared memory past the layout, which the launch's 229,408 bytes or more leave
// free, and thread 0 copies them out at the item's end: stores to global memory inside the tile loop made ptxas spill)
#define MLA_DFP8_SS(k) stShared(base + L::SMEM - 1024 + 4 * (k), stClk())
__device__ __forceinline__ uint32_t stClk() { uint32_t c; asm volatile("mov.u32 %0, %%clock;" : "=r"(c)); return c; }
__device__ __forceinline__ uint64_t stGt() { uint64_t t; asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); return t; }
#endif
#undef MLA_DFP8_SL
#if MLA_DFP8_SF16
#define MLA_DFP8_SL sl // (bit 35184372088832: the item's factor, scaleLog2 or scaleLog2 2^e after a rescale, loaded once a tile)
#else
#define MLA_DFP8_SL p.scaleLog2
#endif
[[maybe_unused]] constexpr bool kAltScan = MLA_DFP8_SCAN;
// Removed in session 14 (measured, not shipped; docs/notes/cuda-dense-fp8.md; the last commit with them is 2fc111a):
// 536870912 (one softmax barrier a tile: level, session 12 round 2), 4294967296 (bit 2147483648 in the 32-row pass
// only), 8589934592 / 17179869184 (the merge through held raw slots: level or slower) and 34359738368 (its probe, no
// exchange; session 13 call A), 68719476736 (the exponentials as ex2.approx.ftz.f32: +1.1 % in call A, 0.969x worst
// shape in call C) and the probes 137438953472 .. 1099511627776 (NCS, NCO, NPV, NSM; session 13 call C).

template <int NR> struct AltLayout {
  static constexpr int RAW_SLOTS = MLA_DFP8_S32H && NR == 32 ? 3 : 4; // (bit 72057594037927936: 3 at 32 rows, for the f16 Q^T)
  static constexpr int RAW_OFF = 0;
  static constexpr int Q_OFF = RAW_OFF + RAW_SLOTS * kRawBytes; // Q^T, 36 k-steps (qDimAlt order), canonical K-major
  static constexpr int P_OFF = Q_OFF + NR * 576 * 2;             // per warpgroup: P^T (32 N rows, stacked) or hi, lo
  static constexpr int P_BYTES = 2 * NR * kBN * 2;
  static constexpr int NCW = kAlt3 && NR == 16 ? 3 : 2;          // consumer warpgroups (bit 2199023255552: 3 at 16 rows)
  static constexpr int FULL = NCW == 3 ? 2 * RAW_SLOTS : RAW_SLOTS; // full barriers (tile n: full[n % FULL])
  static constexpr int RED_OFF = P_OFF + NCW * P_BYTES;          // [warpgroup][4 warps][NR] f32
  static constexpr int RED_BYTES = 4 * NR * 4;
  static constexpr int ML_OFF = RED_OFF + NCW * RED_BYTES;       // the merge's maxima and sums
  static constexpr int BAR_OFF = ML_OFF + (NCW == 3 ? 6 : 3) * NR * 4; // full[FULL], empty[RAW_SLOTS]
  static constexpr int MS_OFF = BAR_OFF + 8 * (FULL + RAW_SLOTS); // bit 2048: [warpgroup][parity][NR] running maxima
  static constexpr int CK_OFF = MS_OFF + (kAltMaxSmem ? 2 * 2 * NR * 4 : 0); // bit 8192: checked[RAW_SLOTS], flags[RAW_SLOTS][4]
  // (the flags, 16 bytes a slot, read by one 16-byte load: 16-byte aligned; with 4 slots right after the 4 barriers,
  // with 3 (bit 72057594037927936) 8 bytes later: session 21's F read them at 8 mod 16, CUDA_ERROR_MISALIGNED_ADDRESS)
  static constexpr int CKF_OFF = (CK_OFF + 8 * RAW_SLOTS + 15) / 16 * 16;
  static constexpr int SC_OFF = kAltScan ? CKF_OFF + 16 * RAW_SLOTS : CK_OFF; // bit 16384: [slot] S scales [4][64] bf16, V scales [4][64] f16
#if MLA_DFP8_SF16
  static constexpr int Q16_OFF = (SC_OFF + (kAltScanSc ? 1024 * RAW_SLOTS : 0) + 127) / 128 * 128; // bit 35184372088832: Q^T with f16 NoPE k-steps
  static constexpr int SL_OFF = Q16_OFF + (NR == 16 || MLA_DFP8_S32H ? NR * 576 * 2 : 0); // the item's score factor (f32), then 8 warps' maxima
  static constexpr int EX_OFF = SL_OFF + 64;
#else
  static constexpr int EX_OFF = (SC_OFF + (kAltScanSc ? 1024 * RAW_SLOTS : 0) + 7) / 8 * 8;
#endif
  static constexpr int SMEM = EX_OFF + 8 * NCW + 1024; // EX_OFF: each consumer warpgroup's exact-path mbarrier (exBar)
  static_assert(4 * (NR / 8) * 4 * 128 * 4 + NR * 4 <= NR * 576 * 2, "the merge's exchange fits in Q^T's region");
  // (alignments: the raw slots, Q^T and P^T are bulk-copy targets or wgmma operands (16 bytes, the pages' 1024 kept);
  // mbarriers 8; the screening flags one 16-byte load a slot; the scale arrays 4-byte loads; the f16 Q^T 128)
  static_assert(RAW_OFF % 1024 == 0 && kRawBytes % 1024 == 0 && Q_OFF % 1024 == 0 && P_OFF % 16 == 0 && P_BYTES % 16 == 0, "raw slots, Q^T, P^T aligned");
  static_assert(RED_OFF % 16 == 0 && ML_OFF % 4 == 0 && BAR_OFF % 8 == 0 && MS_OFF % 8 == 0 && CK_OFF % 8 == 0 && EX_OFF % 8 == 0, "reductions and barriers aligned");
  static_assert(CKF_OFF % 16 == 0 && SC_OFF % 16 == 0, "the screening flags (one 16-byte load a slot) and scale arrays aligned");
#if MLA_DFP8_SF16
  static_assert(Q16_OFF % 128 == 0 && SL_OFF % 16 == 0, "the f16 Q^T and the score factor aligned");
#endif
};

// The cache dimension behind element c (0..15) of k-step ks (0..35) of the alt S^T: thread column tq = (c & 7) / 2
// holds dims +{0, 1} (c < 8) and +{2, 3} (c >= 8) of word ks & 7 of its 32 bytes of group ks / 8; RoPE: 16 dims a tq.
__host__ __device__ __forceinline__ int qDimAlt(int ks, int c) {
  const int tq = (c & 7) >> 1, e = (c & 1) + ((c >> 3) << 1);
  if (ks < 32) return 128 * (ks >> 3) + 32 * tq + 4 * (ks & 7) + e;
  return 512 + 16 * tq + 4 * (ks - 32) + e;
}

#ifdef MLA_SM90A
__device__ __forceinline__ uint32_t lds16u(uint32_t a) {
  uint16_t v;
  asm volatile("ld.shared.u16 %0, [%1];\n" : "=h"(v) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ uint32_t lds32(uint32_t a) {
  uint32_t v;
  asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(v) : "r"(a) : "memory");
  return v;
}
// True in every thread of warpgroup w if x is true in any (one named-barrier reduction).
__device__ __forceinline__ bool groupAny(int w, bool x) {
  uint32_t r;
  asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.or.pred q, %2, 128, p;\nselp.u32 %0, 1, 0, q;\n}\n"
               : "=r"(r) : "r"(static_cast<uint32_t>(x)), "r"(1 + w) : "memory");
  return r != 0;
}
// A consumer warp hands a raw slot back (after its __syncwarp): every lane arrives (the slot's empty barrier counts the
// warpgroup's 128 threads), and so do the producer's screening warps on the check barrier (96). Until session 31 lane 0
// arrived for its warp (counts 4 and 3): race-free, but compute-sanitizer's racecheck does not carry the other lanes'
// reads through __syncwarp into lane 0's arrival (racecheck_probe.cu mode 7) and reported the producer's next bulk copy
// into the slot against them. MLA_DFP8_LANE0_RELEASE (a -D switch, measurement only) builds the old form.
#ifdef MLA_DFP8_LANE0_RELEASE
[[maybe_unused]] constexpr int kEmptyArrivals = 4, kCheckArrivals = 3;
__device__ __forceinline__ void releaseSlot(uint32_t bar, int lane) {
  if (lane == 0) mbarArrive(bar);
}
#else
[[maybe_unused]] constexpr int kEmptyArrivals = 128, kCheckArrivals = 96;
__device__ __forceinline__ void releaseSlot(uint32_t bar, int) { mbarArrive(bar); }
#endif
// Two bytes of (a, b) by selector SEL (byte and sign-copy nibbles) -> bf16x2 of e4m3 * 2^-120 (see e4m3PairScaled).
template <uint32_t SEL> __device__ __forceinline__ uint32_t e4m3Pair2(uint32_t a, uint32_t b) {
  uint32_t x;
  asm("prmt.b32 %0, %1, %2, %3;\n" : "=r"(x) : "r"(a), "r"(b), "n"(SEL));
  return (x << 4) & 0x87f087f0u;
}
// Exact: byte P of a (low half) and of b (high half), each times its f32 scale, rounded to bf16 once.
__device__ __forceinline__ uint32_t e4m3Pair2Exact(uint32_t a, uint32_t b, int P, float sa, float sb) {
  uint32_t x, h;
  asm("prmt.b32 %0, %1, %2, %3;\n" : "=r"(x) : "r"(a), "r"(b), "r"(P | ((4 + P) << 4)));
  asm("{\n .reg .b16 l, u;\n mov.b32 {l, u}, %1;\n cvt.rn.f16x2.e4m3x2 %0, l;\n}\n" : "=r"(h) : "r"(x));
  const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&h));
  const __nv_bfloat162 y = __floats2bfloat162_rn(f.x * sa, f.y * sb);
  return *reinterpret_cast<const uint32_t*>(&y);
}
// bf16 of (f32 scale) * 2^120 for a power-of-two scale with exponent 1..134 (the fast path's condition).
__device__ __forceinline__ uint32_t scale16(uint32_t sb) { return ((sb >> 16) & 0x8000u) | ((((sb >> 23) & 0xffu) + 120u) << 7); }
__device__ __forceinline__ bool scaleFast(uint32_t sb) {
  const uint32_t ex = (sb >> 23) & 0xffu;
  return (sb & 0x007fffffu) == 0 && ex >= (kAltF16 ? 112u : 1u) && ex <= 134;
}
// f16 of (f32 scale) * 2^8 for a power-of-two scale 2^-15 .. 2^7 (bit 512's fast path).
__device__ __forceinline__ uint32_t scale16h(uint32_t sb) { return ((sb >> 16) & 0x8000u) | ((((sb >> 23) & 0xffu) - 104u) << 10); }
// Two bytes of (a, b) by selector SEL -> f16x2 of e4m3 * 2^-8, exact (7 magnitude bits at f16 bits 13..7, the sign at 15).
template <uint32_t SEL> __device__ __forceinline__ uint32_t e4m3Pair2H(uint32_t a, uint32_t b) {
  uint32_t x;
  asm("prmt.b32 %0, %1, %2, %3;\n" : "=r"(x) : "r"(a), "r"(b), "n"(SEL));
  return (x << 7) & 0xbf80bf80u;
}
#if MLA_DFP8_OCVT
static_assert(MLA_DENSE_FP8_VAR & 512, "bit 140737488355328 (the O side by cvt) replaces bit 512's f16 conversion");
// Bit 140737488355328: bytes {a.b_D, b.b_D, a.b_D+1, b.b_D+1} of (a, b) (SEL 0x5140: D = 0, 0x7362: D = 2) -> f16x2 of
// the two keys' column D (lo) and column D + 1 (hi), exact (NaN stays NaN).
template <uint32_t SEL> __device__ __forceinline__ void e4m3Pair2C(uint32_t a, uint32_t b, uint32_t& lo, uint32_t& hi) {
  uint32_t x;
  asm("prmt.b32 %0, %1, %2, %3;\n" : "=r"(x) : "r"(a), "r"(b), "n"(SEL));
  asm("{\n .reg .b16 l, h;\n mov.b32 {l, h}, %2;\n cvt.rn.f16x2.e4m3x2 %0, l;\n cvt.rn.f16x2.e4m3x2 %1, h;\n}\n" : "=r"(lo), "=r"(hi) : "r"(x));
}
// f16 of an f32 scale (exact for the fast path's powers of two 2^-15 .. 2^7; 2^-15 is an f16 subnormal)
__device__ __forceinline__ uint32_t scaleF16(uint32_t sb) { return __half_as_ushort(__float2half_rn(__uint_as_float(sb))); }
#endif
__device__ __forceinline__ uint32_t mulF16x2(uint32_t a, uint32_t b) {
  uint32_t d;
  asm("mul.rn.f16x2 %0, %1, %2;\n" : "=r"(d) : "r"(a), "r"(b));
  return d;
}
// D (m64 x NR f32) += A (registers, f16) . B (descriptor, f16, K-major)
template <int NR> struct WgRsH;
template <> struct WgRsH<16> {
  static __device__ __forceinline__ void mma(float (&d)[8], const uint32_t (&a)[4], uint64_t b) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11}, %12, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
  }
};
template <> struct WgRsH<32> {
  static __device__ __forceinline__ void mma(float (&d)[16], const uint32_t (&a)[4], uint64_t b) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 "
                 "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                   "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
  }
};
#if MLA_DFP8_SF16
// Bit 35184372088832: bytes 0, 1 (H = 0) or 2, 3 (H = 1) of w -> f16x2 of the two e4m3 values (exact; NaN stays NaN).
template <int H> __device__ __forceinline__ uint32_t e4m3x2F16(uint32_t w) {
  uint32_t d;
  if constexpr (H == 0) asm("{\n .reg .b16 l, h;\n mov.b32 {l, h}, %1;\n cvt.rn.f16x2.e4m3x2 %0, l;\n}\n" : "=r"(d) : "r"(w));
  else asm("{\n .reg .b16 l, h;\n mov.b32 {l, h}, %1;\n cvt.rn.f16x2.e4m3x2 %0, h;\n}\n" : "=r"(d) : "r"(w));
  return d;
}
// D (m64 x 16 f32) (+)= A (registers, f16) . B (descriptor, f16, K-major); acc 0: D = A . B
__device__ __forceinline__ void wgRsH16(float (&d)[8], const uint32_t (&a)[4], uint64_t b, int acc) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %13, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16 "
               "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11}, %12, p, 1, 1, 0;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(acc));
}
#if MLA_DFP8_S32H
// (bit 72057594037927936) D (m64 x 32 f32) (+)= A (registers, f16) . B (descriptor, f16, K-major); acc 0: D = A . B
__device__ __forceinline__ void wgRsH32(float (&d)[16], const uint32_t (&a)[4], uint64_t b, int acc) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 "
               "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
                 "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(acc));
}
#endif
#endif
__device__ __forceinline__ uint32_t nanBytes(uint4 v) { // bit 7 of a byte set: that byte of some word is S.1111.111
  return ((v.x & 0x7f7f7f7fu) + 0x01010101u) | ((v.y & 0x7f7f7f7fu) + 0x01010101u) | ((v.z & 0x7f7f7f7fu) + 0x01010101u) |
         ((v.w & 0x7f7f7f7fu) + 0x01010101u);
}
__device__ __forceinline__ void sts32f(uint32_t a, float v) { asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(a), "f"(v) : "memory"); }
__device__ __forceinline__ float lds32f(uint32_t a) {
  float v;
  asm volatile("ld.shared.f32 %0, [%1];\n" : "=f"(v) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ void sts16(uint32_t a, uint16_t v) { asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(a), "h"(v) : "memory"); }
__device__ __forceinline__ uint32_t wordOf(const uint4& v, int j) { return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w; }
#endif

#if MLA_DFP8_BO
// (bit 18014398509481984) the staged output rows: bytes between two rows in Q^T's region (1024 + 16: a warp's 16-byte
// stores of 4 rows x 8 columns fall on at most 2-way conflicting banks); a row goes out by hopper_ops.cuh's bulkStoreRow
constexpr int kORow = 1040;
#endif
template <int NR>
struct DenseFp8Alt {
  using L = AltLayout<NR>;
  static constexpr int NI = NR / 8;
  static constexpr int RS = L::RAW_SLOTS;

  // wgmma groups: the S^T operand of a raw batch (4 k-steps) goes out in SS groups of 4 / SS k-steps, the O^T operand of a
  // k-step in OS groups of 8 / OS slices; each group's registers are double-buffered (fewer registers at 32 rows).
#ifndef MLA_DFP8_ALT_SS
#define MLA_DFP8_ALT_SS 2
#endif
#ifndef MLA_DFP8_ALT_OS
#define MLA_DFP8_ALT_OS (NR == 32 ? 4 : 2)
#endif
#ifndef MLA_DFP8_W3_SS
#define MLA_DFP8_W3_SS 4 // (a probe's override of the three-consumer S^T groups a raw batch; bit 8796093022208 says 2)
#endif
  static constexpr int SS = kAlt3 && NR == 16 ? (kW3G2 ? 2 : MLA_DFP8_W3_SS) : MLA_DFP8_ALT_SS, SK = 4 / SS; // S groups a raw batch, k-steps a group
  // (bit 2199023255552: groups of one k-step at 16 rows; with two, 160 registers spill 4 bytes)
#ifndef MLA_DFP8_W3_OS
#define MLA_DFP8_W3_OS MLA_DFP8_ALT_OS // (a probe's override of the three-consumer O^T groups a k-step; bit 17592186044416 says 1)
#endif
  static constexpr int OS = kAlt3 && NR == 16 ? (kW3O1 ? 1 : MLA_DFP8_W3_OS) : MLA_DFP8_ALT_OS, OK = 8 / OS; // O groups a k-step, slices a group
  // The S phase loads the next raw batch before building the current one's operand (16 rows; at 32 rows that takes
  // 8 registers too many).
  static constexpr bool SPF = NR == 16 || kAltSpf32; // (bit 268435456: at 32 rows too)
  static constexpr bool MSH = kAltMaxSmem && NR == 32;
  static constexpr bool W3 = kAlt3 && NR == 16;  // bit 2199023255552: three consumer warpgroups
  static constexpr int NC = W3 ? 3 : 2, FB = L::FULL;
#ifndef MLA_DFP8_W3_SER
#define MLA_DFP8_W3_SER 2 // (bit 1: serial S^T groups, bit 2: serial O^T groups; 2: 0 bytes spilled at 160 registers, 1 and 0 spill)
#endif
  static_assert(!W3 || 4 * NI * 4 * 128 * 4 <= NR * 576 * 2, "the three-way merge's four buffers fit in Q^T's region");
  static constexpr bool SER_S = (NR == 32 && kAltSerial32) || (W3 && (MLA_DFP8_W3_SER & 1)), SER_O = (NR == 32 && (kAltSerial32 || kAltSerialO32)) || (W3 && (MLA_DFP8_W3_SER & 2));
#if MLA_DFP8_SF16
  static __device__ __forceinline__ bool cSyncAll(bool x) { // cSync, and whether x holds in every consumer thread
    uint32_t r;
    if constexpr (W3)
      asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.and.pred q, 4, 384, p;\nselp.u32 %0, 1, 0, q;\n}\n" : "=r"(r) : "r"(static_cast<uint32_t>(x)) : "memory");
    else
      asm volatile("{\n.reg .pred p, q;\nsetp.ne.u32 p, %1, 0;\nbar.red.and.pred q, 3, 256, p;\nselp.u32 %0, 1, 0, q;\n}\n" : "=r"(r) : "r"(static_cast<uint32_t>(x)) : "memory");
    return r != 0;
  }
#endif
  static __device__ __forceinline__ void cSync() { // all consumer warpgroups (bar 4 with three: 1 + wg takes 1 .. 3)
    if constexpr (W3) asm volatile("bar.sync 4, 384;\n" ::: "memory");
    else consumersSync();
  }

#ifdef MLA_SM90A
  // S^T of one tile into sAcc (issued, committed; the caller waits). EXACT: the cvt path, each group waited.
  // Returns (fast path) whether any live byte or scale of this thread's tokens needs the exact path.
#if MLA_DFP8_SCAN
  static __device__ __forceinline__ bool sPhase(float (&sAcc)[NI * 4], uint32_t raw, int r0, int tq, int live, uint64_t qDesc, uint32_t scs) {
#else
  static __device__ __forceinline__ bool sPhase(float (&sAcc)[NI * 4], uint32_t raw, int r0, int tq, int live, uint64_t qDesc) {
#endif
    const uint32_t tokA0 = raw + r0 * kTok, tokA1 = tokA0 + 8 * kTok;
    const bool dead0 = r0 >= live, dead1 = r0 + 8 >= live;
    bool ok0 = true, ok1 = true;
    uint32_t nan0 = 0, nan1 = 0;
    uint32_t A[2][SK][4];
    const auto batchOff = [&](int b) { return b < 8 ? 128 * (b >> 1) + 32 * tq + 16 * (b & 1) : 528 + 32 * tq; };
    uint4 w0 = lds128(tokA0 + 32 * tq), w1 = lds128(tokA1 + 32 * tq);
#if MLA_DFP8_SCAN
    // (bit 16384: the screening warps' bf16 of scale * 2^120 of group g, token r, at scs + 2 (64 g + r))
    const auto scAt = [&](uint32_t tokA, int r, int g) { return kAltScanSc ? lds16u(scs + 2 * (64 * g + r)) : lds32(tokA + 512 + 4 * g); };
    uint32_t sb0 = scAt(tokA0, r0, 0), sb1 = scAt(tokA1, r0 + 8, 0);
#define MLA_DFP8_SC_NEXT sb0 = scAt(tokA0, r0, (b + 1) >> 1), sb1 = scAt(tokA1, r0 + 8, (b + 1) >> 1)
#else
    uint32_t sb0 = lds32(tokA0 + 512), sb1 = lds32(tokA1 + 512);
#define MLA_DFP8_SC_NEXT sb0 = lds32(tokA0 + 512 + 4 * ((b + 1) >> 1)), sb1 = lds32(tokA1 + 512 + 4 * ((b + 1) >> 1))
#endif
#pragma unroll
    for (int b = 0; b < 9; ++b) {
      if (!SPF && b > 0) w0 = lds128(tokA0 + batchOff(b)), w1 = lds128(tokA1 + batchOff(b));
      const uint4 c0 = w0, c1 = w1;
      const uint32_t cs0 = sb0, cs1 = sb1;
      if (!SPF) {
        if (b + 1 < 8 && (b & 1) == 1) MLA_DFP8_SC_NEXT;
      } else if (b + 1 < 8) {
        const int off = 128 * ((b + 1) >> 1) + 32 * tq + 16 * ((b + 1) & 1);
        w0 = lds128(tokA0 + off), w1 = lds128(tokA1 + off);
        if ((b & 1) == 1) MLA_DFP8_SC_NEXT;
      } else if (b + 1 == 8) { // RoPE, first 16 bytes of each token's 32
        w0 = lds128(tokA0 + 528 + 32 * tq), w1 = lds128(tokA1 + 528 + 32 * tq);
      }
      uint4 r1a, r1b; // RoPE, second 16 bytes
      if (b == 8) r1a = lds128(tokA0 + 544 + 32 * tq), r1b = lds128(tokA1 + 544 + 32 * tq);
      uint32_t s0 = 0, s1 = 0;
      if (b < 8) {
#if MLA_DFP8_SCAN // (no checks: the screening warps decide)
        if (kAltScanSc) s0 = cs0 * 0x10001u, s1 = cs1 * 0x10001u;
        else s0 = scale16(cs0) * 0x10001u, s1 = scale16(cs1) * 0x10001u;
#else
        nan0 |= nanBytes(c0), nan1 |= nanBytes(c1);
        if ((b & 1) == 0) ok0 = ok0 && scaleFast(cs0), ok1 = ok1 && scaleFast(cs1);
        s0 = scale16(cs0) * 0x10001u, s1 = scale16(cs1) * 0x10001u;
#endif
      }
#pragma unroll
      for (int h = 0; h < SS; ++h) {
        const int grp = SS * b + h;
        if (!SER_S && grp >= 2) wgWait<1>(); // group grp - 2 has read this buffer
        uint32_t(&a)[SK][4] = A[grp & 1];
#pragma unroll
        for (int jj = 0; jj < SK; ++jj) {
          const int j = SK * h + jj; // k-step 4b + j, word j of the 16 bytes
          if (b < 8) {
            a[jj][0] = mulBf16x2(e4m3PairScaled<0x9180>(wordOf(c0, j)), s0);
            a[jj][2] = mulBf16x2(e4m3PairScaled<0xB3A2>(wordOf(c0, j)), s0);
            a[jj][1] = mulBf16x2(e4m3PairScaled<0x9180>(wordOf(c1, j)), s1);
            a[jj][3] = mulBf16x2(e4m3PairScaled<0xB3A2>(wordOf(c1, j)), s1);
          } else {
            const int u = j & 1;
            const uint4 t0 = j < 2 ? c0 : r1a, t1 = j < 2 ? c1 : r1b;
            a[jj][0] = wordOf(t0, 2 * u), a[jj][2] = wordOf(t0, 2 * u + 1);
            a[jj][1] = wordOf(t1, 2 * u), a[jj][3] = wordOf(t1, 2 * u + 1);
          }
        }
        wgFence();
#pragma unroll
        for (int jj = 0; jj < SK; ++jj) {
          const int ks = 4 * b + SK * h + jj;
          WgRs<NR>::mma(sAcc, a[jj], qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
        }
        wgCommit();
        if (SER_S) wgWait<0>();
      }
    }
    return (!dead0 && !ok0) || (!dead1 && !ok1) || (((dead0 ? 0u : nan0) | (dead1 ? 0u : nan1)) & 0x80808080u) != 0;
  }

#if MLA_DFP8_SF16
  static_assert((NR == 16 && !MLA_DFP8_SCAN) || (MLA_DFP8_S32H && NR == 32 && kAltScanSc), "the f16 score path: 16 rows without the screening warps, or (bit 72057594037927936) 32 rows with them");
  // Bit 35184372088832: S^T of one tile on the f16 Q^T (scaled by 2^e): a NoPE register is one cvt (e4m3x2 -> f16x2,
  // exact) and one f16x2 multiply by the token's scale in f16 (exact where the tile takes the fast path: a power of two
  // in 2^-15 .. 2^7, the O side's condition, so e4m3 x scale is at most 57,344 and at least 2^-24, both exact in f16);
  // the RoPE k-steps stay bf16. Issued and committed, the caller waits. The raw loads, their order and the checks are
  // sPhase's, and decide both sides' path as there.
#ifndef MLA_DFP8_SF16_SS
#define MLA_DFP8_SF16_SS 4 // (groups of one k-step, double-buffered: with two, the two-consumer entry spills 4 bytes)
#endif
  static constexpr int SSH = MLA_DFP8_SF16_SS, SKH = 4 / SSH; // (sPhaseH's groups a raw batch; a probe's override)
#if MLA_DFP8_SFOLD
#ifndef MLA_DFP8_SFOLD_NACC
#define MLA_DFP8_SFOLD_NACC 1 // (group accumulators: with two, rolling, both 16-row entries spill 16-52 bytes)
#endif
#ifndef MLA_DFP8_SFOLD_LATE
#define MLA_DFP8_SFOLD_LATE 1 // (the fold's scales read after the wait in sPhaseH: 0 spills in n16w3, where before it 4 bytes; 2: in the caller too, 4 bytes)
#endif
  static constexpr int NFA = MLA_DFP8_SFOLD_NACC;
  // (bit 562949953421312: NoPE group g into an accumulator, folded into sAcc with its scales (read again) after a wait
  // in group g + 1; on return group 3 is in flight in acc[NFA - 1]: the caller waits, then folds it)
  static_assert(MLA_DFP8_SF16_SS == 4 && !SER_S, "bit 562949953421312: S^T groups of one k-step, double-buffered");
  static_assert(NFA == 1 || NFA == 2, "bit 562949953421312: one or two group accumulators");
  static __device__ __forceinline__ bool sPhaseH(float (&sAcc)[NI * 4], float (&acc)[NFA][NI * 4], uint32_t raw, int r0, int tq, int live, uint64_t qDesc) {
#elif MLA_DFP8_S32H
  // (bit 72057594037927936: scs = the slot's screened scales; no checks, the screening warps decide)
  static __device__ __forceinline__ bool sPhaseH(float (&sAcc)[NI * 4], uint32_t raw, int r0, int tq, int live, uint64_t qDesc, uint32_t scs) {
#else
  static __device__ __forceinline__ bool sPhaseH(float (&sAcc)[NI * 4], uint32_t raw, int r0, int tq, int live, uint64_t qDesc) {
#endif
    const uint32_t tokA0 = raw + r0 * kTok, tokA1 = tokA0 + 8 * kTok;
    const bool dead0 = r0 >= live, dead1 = r0 + 8 >= live;
    bool ok0 = true, ok1 = true;
    uint32_t nan0 = 0, nan1 = 0;
    uint32_t A[2][SKH][4];
    uint4 w0 = lds128(tokA0 + 32 * tq), w1 = lds128(tokA1 + 32 * tq);
#if MLA_DFP8_S32H
    (void)live, (void)ok0, (void)ok1, (void)nan0, (void)nan1, (void)dead0, (void)dead1;
    // (bit 72057594037927936) f16(scale) of group g, token r at scs + 512 + 2 (64 g + r): the screening warps' V scales
    uint32_t sb0 = lds16u(scs + 512 + 2 * r0), sb1 = lds16u(scs + 512 + 2 * (r0 + 8));
#else
    uint32_t sb0 = lds32(tokA0 + 512), sb1 = lds32(tokA1 + 512);
#endif
#pragma unroll
    for (int b = 0; b < 9; ++b) {
      const uint4 c0 = w0, c1 = w1;
      const uint32_t cs0 = sb0, cs1 = sb1;
      if (b + 1 < 8) {
        const int off = 128 * ((b + 1) >> 1) + 32 * tq + 16 * ((b + 1) & 1);
        w0 = lds128(tokA0 + off), w1 = lds128(tokA1 + off);
#if MLA_DFP8_S32H
        if ((b & 1) == 1) sb0 = lds16u(scs + 512 + 2 * (64 * ((b + 1) >> 1) + r0)), sb1 = lds16u(scs + 512 + 2 * (64 * ((b + 1) >> 1) + r0 + 8));
#else
        if ((b & 1) == 1) sb0 = lds32(tokA0 + 512 + 4 * ((b + 1) >> 1)), sb1 = lds32(tokA1 + 512 + 4 * ((b + 1) >> 1));
#endif
      } else if (b + 1 == 8) { // RoPE, first 16 bytes of each token's 32
        w0 = lds128(tokA0 + 528 + 32 * tq), w1 = lds128(tokA1 + 528 + 32 * tq);
      }
      uint4 r1a, r1b; // RoPE, second 16 bytes
      if (b == 8) r1a = lds128(tokA0 + 544 + 32 * tq), r1b = lds128(tokA1 + 544 + 32 * tq);
      uint32_t s0 = 0, s1 = 0;
      if (b < 8) {
#if MLA_DFP8_S32H
        s0 = cs0 * 0x10001u, s1 = cs1 * 0x10001u;
#else
        nan0 |= nanBytes(c0), nan1 |= nanBytes(c1);
        if ((b & 1) == 0) ok0 = ok0 && scaleFast(cs0), ok1 = ok1 && scaleFast(cs1);
#endif
#if !MLA_DFP8_SFOLD && !MLA_DFP8_S32H
        s0 = static_cast<uint32_t>(__half_as_ushort(__float2half_rn(__uint_as_float(cs0)))) * 0x10001u;
        s1 = static_cast<uint32_t>(__half_as_ushort(__float2half_rn(__uint_as_float(cs1)))) * 0x10001u;
#endif
      }
#if MLA_DFP8_SFOLD
      (void)s0, (void)s1;
#endif
#pragma unroll
      for (int h = 0; h < SSH; ++h) {
        const int grp = SSH * b + h;
#if MLA_DFP8_SFOLD
        // (one accumulator: group g's first k-step waits for all, then folds group g - 1; two: group g's second k-step
        // waits as always, then folds group g - 1 from the other accumulator)
        const bool foldHere = (b & 1) == 0 && b >= 2 && b < 8 && h == (NFA == 1 ? 0 : 1);
        float pf0 = 0.f, pf1 = 0.f; // (group b / 2 - 1's scales, read again here: fewer registers than keeping them)
        const auto foldScales = [&] { pf0 = __uint_as_float(lds32(tokA0 + 512 + 4 * ((b >> 1) - 1))), pf1 = __uint_as_float(lds32(tokA1 + 512 + 4 * ((b >> 1) - 1))); };
        if (foldHere && !(MLA_DFP8_SFOLD_LATE & 1)) foldScales();
        if (NFA == 1 && foldHere) wgWait<0>();
        else if (grp >= 2) wgWait<1>(); // group grp - 2 has read this buffer
        if (foldHere && (MLA_DFP8_SFOLD_LATE & 1)) foldScales();
        if (foldHere) { // k-step 4b - 1, the last of NoPE group b / 2 - 1, is done: fold it
          const float(&x)[NI * 4] = acc[NFA == 1 ? 0 : ((b >> 1) - 1) & 1];
#pragma unroll
          for (int e = 0; e < NI * 4; ++e) {
            const float f = (e & 2) ? pf1 : pf0; // fragment rows gq (key r0) and gq + 8 (key r0 + 8)
            sAcc[e] = b == 2 ? x[e] * f : fmaf(x[e], f, sAcc[e]);
          }
        }
#else
        if (!SER_S && grp >= 2) wgWait<1>(); // group grp - 2 has read this buffer
#endif
        uint32_t(&a)[SKH][4] = A[grp & 1];
#pragma unroll
        for (int jj = 0; jj < SKH; ++jj) {
          const int j = SKH * h + jj; // k-step 4b + j, word j of the 16 bytes
          if (b < 8) {
#if MLA_DFP8_SFOLD
            a[jj][0] = e4m3x2F16<0>(wordOf(c0, j)), a[jj][2] = e4m3x2F16<1>(wordOf(c0, j));
            a[jj][1] = e4m3x2F16<0>(wordOf(c1, j)), a[jj][3] = e4m3x2F16<1>(wordOf(c1, j));
#else
            a[jj][0] = mulF16x2(e4m3x2F16<0>(wordOf(c0, j)), s0), a[jj][2] = mulF16x2(e4m3x2F16<1>(wordOf(c0, j)), s0);
            a[jj][1] = mulF16x2(e4m3x2F16<0>(wordOf(c1, j)), s1), a[jj][3] = mulF16x2(e4m3x2F16<1>(wordOf(c1, j)), s1);
#endif
          } else {
            const int u = j & 1;
            const uint4 t0 = j < 2 ? c0 : r1a, t1 = j < 2 ? c1 : r1b;
            a[jj][0] = wordOf(t0, 2 * u), a[jj][2] = wordOf(t0, 2 * u + 1);
            a[jj][1] = wordOf(t1, 2 * u), a[jj][3] = wordOf(t1, 2 * u + 1);
          }
        }
        wgFence();
#pragma unroll
        for (int jj = 0; jj < SKH; ++jj) {
          const int ks = 4 * b + SKH * h + jj;
#if MLA_DFP8_SFOLD
          if (b < 8) wgRsH16(acc[NFA == 1 ? 0 : (b >> 1) & 1], a[jj], qDesc + ((ks * 2 * NR * 16) >> 4), (ks & 7) > 0);
#elif MLA_DFP8_S32H
          if (b < 8) wgRsH32(sAcc, a[jj], qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
#else
          if (b < 8) wgRsH16(sAcc, a[jj], qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
#endif
          else WgRs<NR>::mma(sAcc, a[jj], qDesc + ((ks * 2 * NR * 16) >> 4), 1);
        }
        wgCommit();
        if (SER_S) wgWait<0>();
      }
    }
    return (!dead0 && !ok0) || (!dead1 && !ok1) || (((dead0 ? 0u : nan0) | (dead1 ? 0u : nan1)) & 0x80808080u) != 0;
  }
#endif

  // The exact paths (a tile with a scale or byte the bit trick does not cover): one k-step (S^T) or one slice of a
  // k-step (O^T) at a time, each waited; few registers (they share the loop with the 128 of O^T at 32 rows).
  static __device__ __forceinline__ void sPhaseExact(float (&sAcc)[NI * 4], uint32_t raw, int r0, int tq, uint64_t qDesc) {
    const uint32_t tokA0 = raw + r0 * kTok, tokA1 = tokA0 + 8 * kTok;
#pragma unroll 1
    for (int ks = 0; ks < 36; ++ks) {
      uint32_t a[4];
      if (ks < 32) {
        const int g = ks >> 3, off = 128 * g + 32 * tq + 4 * (ks & 7);
        const float f0 = __uint_as_float(lds32(tokA0 + 512 + 4 * g)), f1 = __uint_as_float(lds32(tokA1 + 512 + 4 * g));
        dequantWordExact(lds32(tokA0 + off), f0, a[0], a[2]);
        dequantWordExact(lds32(tokA1 + off), f1, a[1], a[3]);
      } else {
        const uint2 x = lds64(tokA0 + 528 + 32 * tq + 8 * (ks - 32)), y = lds64(tokA1 + 528 + 32 * tq + 8 * (ks - 32));
        a[0] = x.x, a[2] = x.y, a[1] = y.x, a[3] = y.y;
      }
      wgFence();
      WgRs<NR>::mma(sAcc, a, qDesc + ((ks * 2 * NR * 16) >> 4), ks > 0);
      wgCommit();
      wgWait<0>();
    }
  }
  static __device__ __forceinline__ void oPhaseExact(float (&o)[8][NI * 4], uint32_t raw, int warp, int gq, int tq, int lane, int live,
                                                     uint64_t pDesc, uint32_t emptySlot) {
    const uint32_t colOff = 128 * warp + 16 * gq;
#pragma unroll
    for (int s = 0; s < 8; ++s) {
#pragma unroll 1
      for (int kk = 0; kk < 4; ++kk) {
        uint32_t x[4];
        float f[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          const int T = 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1);
          const bool dead = T >= live;
          x[k] = dead ? 0u : lds32(raw + T * kTok + colOff + 4 * (s >> 1));
          f[k] = dead ? 0.f : __uint_as_float(lds32(raw + T * kTok + 512 + 4 * warp));
        }
        const int pp = 2 * (s & 1);
        uint32_t a[4];
        a[0] = e4m3Pair2Exact(x[0], x[1], pp, f[0], f[1]), a[1] = e4m3Pair2Exact(x[0], x[1], pp + 1, f[0], f[1]);
        a[2] = e4m3Pair2Exact(x[2], x[3], pp, f[2], f[3]), a[3] = e4m3Pair2Exact(x[2], x[3], pp + 1, f[2], f[3]);
        wgFence();
        WgRs<NR>::mma(o[s], a, pDesc + ((kk * 2 * NR * 16) >> 4), 1);
        WgRs<NR>::mma(o[s], a, pDesc + ((NR * kBN * 2 + kk * 2 * NR * 16) >> 4), 1);
        wgCommit();
        wgWait<0>();
      }
    }
    __syncwarp();
    releaseSlot(emptySlot, lane);
  }

  // O^T += V^T P^T of one tile (issued and committed, left in flight); the raw slot goes back after the last loads.
  static __device__ __forceinline__ void oPhase(float (&o)[8][NI * 4], uint32_t raw, int warp, int gq, int tq, int lane, int live,
#if MLA_DFP8_SCAN
                                                uint64_t pDesc, uint32_t emptySlot, uint32_t scs) {
#else
                                                uint64_t pDesc, uint32_t emptySlot) {
#endif
    const uint32_t colOff = 128 * warp + 16 * gq;
    uint32_t A[2][OK][4];
    uint4 v[4];
    uint32_t sc[4];
    const auto load = [&](int kk) {
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int T = 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1);
        v[k] = lds128(raw + T * kTok + colOff);
#if MLA_DFP8_SCANSC
        if ((k & 1) == 0) sc[k] = lds32(scs + 512 + 2 * (64 * warp + T)); // tokens T, T + 1: the packed pair, dead ones 0
#else
        sc[k] = lds32(raw + T * kTok + 512 + 4 * warp);
#endif
      }
    };
    load(0);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      // This k-step's tokens: dead ones get scale 0 (fast) or zero bytes and scale 0 (exact).
      uint32_t sp01 = 0, sp23 = 0;
      uint4 cv[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int T = 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1);
        cv[k] = v[k];
#if MLA_DFP8_SCANSC
        (void)T;
        if (k == 0) sp01 = sc[0];
        if (k == 2) sp23 = sc[2];
#elif MLA_DFP8_OCVT
        const uint32_t s = T >= live ? 0u : scaleF16(sc[k]); // (bit 140737488355328: f16(scale))
        if (k < 2) sp01 |= s << (16 * k);
        else sp23 |= s << (16 * (k - 2));
#else
        const uint32_t s = T >= live ? 0u : kAltF16 ? scale16h(sc[k]) : scale16(sc[k]);
        if (k < 2) sp01 |= s << (16 * k);
        else sp23 |= s << (16 * (k - 2));
#endif
      }
#if MLA_DFP8_OCVT
      if (live < kBN) { // (bit 140737488355328) an item's last tile: the dead keys' words -> 0 (cvt keeps NaN; NaN x 0 is NaN)
#pragma unroll
        for (int k = 0; k < 4; ++k)
          if (16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1) >= live) cv[k] = make_uint4(0u, 0u, 0u, 0u);
      }
#endif
#pragma unroll
      for (int hs = 0; hs < OS; ++hs) {
        const int grp = OS * kk + hs;
        if (!SER_O && grp >= 2) wgWait<1>();
        uint32_t(&a)[OK][4] = A[grp & 1];
#pragma unroll
        for (int ss = 0; ss < OK; ++ss) {
          const int s = OK * hs + ss, wd = s >> 1;
          const uint32_t x0 = wordOf(cv[0], wd), x1 = wordOf(cv[1], wd), x2 = wordOf(cv[2], wd), x3 = wordOf(cv[3], wd);
#if MLA_DFP8_OCVT
          uint32_t c0, c1, c2, c3;
          if (s & 1) e4m3Pair2C<0x7362>(x0, x1, c0, c1), e4m3Pair2C<0x7362>(x2, x3, c2, c3);
          else e4m3Pair2C<0x5140>(x0, x1, c0, c1), e4m3Pair2C<0x5140>(x2, x3, c2, c3);
          a[ss][0] = mulF16x2(c0, sp01), a[ss][1] = mulF16x2(c1, sp01), a[ss][2] = mulF16x2(c2, sp23), a[ss][3] = mulF16x2(c3, sp23);
#else
          if (kAltF16 && (s & 1)) {
            a[ss][0] = mulF16x2(e4m3Pair2H<0xE6A2>(x0, x1), sp01), a[ss][1] = mulF16x2(e4m3Pair2H<0xF7B3>(x0, x1), sp01);
            a[ss][2] = mulF16x2(e4m3Pair2H<0xE6A2>(x2, x3), sp23), a[ss][3] = mulF16x2(e4m3Pair2H<0xF7B3>(x2, x3), sp23);
          } else if (kAltF16) {
            a[ss][0] = mulF16x2(e4m3Pair2H<0xC480>(x0, x1), sp01), a[ss][1] = mulF16x2(e4m3Pair2H<0xD591>(x0, x1), sp01);
            a[ss][2] = mulF16x2(e4m3Pair2H<0xC480>(x2, x3), sp23), a[ss][3] = mulF16x2(e4m3Pair2H<0xD591>(x2, x3), sp23);
          } else if (s & 1) {
            a[ss][0] = mulBf16x2(e4m3Pair2<0xE6A2>(x0, x1), sp01), a[ss][1] = mulBf16x2(e4m3Pair2<0xF7B3>(x0, x1), sp01);
            a[ss][2] = mulBf16x2(e4m3Pair2<0xE6A2>(x2, x3), sp23), a[ss][3] = mulBf16x2(e4m3Pair2<0xF7B3>(x2, x3), sp23);
          } else {
            a[ss][0] = mulBf16x2(e4m3Pair2<0xC480>(x0, x1), sp01), a[ss][1] = mulBf16x2(e4m3Pair2<0xD591>(x0, x1), sp01);
            a[ss][2] = mulBf16x2(e4m3Pair2<0xC480>(x2, x3), sp23), a[ss][3] = mulBf16x2(e4m3Pair2<0xD591>(x2, x3), sp23);
          }
#endif
        }
        if (hs == OS - 1) {
          if (kk < 3) load(kk + 1);
          else {
            __syncwarp();
            releaseSlot(emptySlot, lane); // every raw byte of this tile is in registers
          }
        }
        wgFence();
#pragma unroll
        for (int ss = 0; ss < OK; ++ss) {
          if (kAltF16) WgRsH<NR>::mma(o[OK * hs + ss], a[ss], pDesc + ((kk * 2 * NR * 16) >> 4));
          else {
            WgRs<NR>::mma(o[OK * hs + ss], a[ss], pDesc + ((kk * 2 * NR * 16) >> 4), 1);
            WgRs<NR>::mma(o[OK * hs + ss], a[ss], pDesc + ((NR * kBN * 2 + kk * 2 * NR * 16) >> 4), 1);
          }
        }
        wgCommit();
        if (SER_O) wgWait<0>();
      }
    }
  }
#endif

#if defined(MLA_SM90A) && MLA_DFP8_SCAN
  // Bit 8192: one of the producer warpgroup's three screening warps (thread st = 0..95 of them). For each page in the
  // copy order: wait until it has landed, check the live tokens' NoPE bytes for NaN (S.1111.111) and their four scales
  // for the fast path (scaleFast), and publish the warp's answer (flags[slot][warp], then an arrival on checked[slot]).
  // The flag of a slot is read by its consumer before the consumer releases the slot, so the next page's flags cannot
  // overwrite it early (the next copy into the slot waits for that release).
  static __device__ __forceinline__ void screen(const SparseMmaParams& p, const int* meta, int beginIdx, int endIdx, uint32_t rawBase,
                                                 uint32_t fullBar, uint32_t ck, int st) {
    const int w = st >> 5;
    uint32_t n = 0;
    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
      for (int t = 0; t < itm.nTiles; ++t, ++n) {
        const int live = min(kBN, itm.tileEnd - (itm.kBegin + t * kBN)); // as the consumer's
        const uint32_t slot = n % RS, raw = rawBase + slot * kRawBytes;
        mbarWait(fullBar + 8 * slot, (n / RS) & 1);
        uint32_t nan = 0;
        bool ok = true;
        // 16-byte unit u = st + 96 j of the live NoPE bytes (token u / 32, bytes 16 (u % 32) ..): the thread's column
        // st % 32 of tokens st / 32, + 3, + 6, ..
#pragma unroll 1
        for (int tk = st >> 5; tk < live; tk += 3) nan |= nanBytes(lds128(raw + tk * kTok + 16 * (st & 31)));
        uint4 sc = make_uint4(0u, 0u, 0u, 0u);
        if (st < live) {
          sc = lds128(raw + st * kTok + 512);
          ok = scaleFast(sc.x) && scaleFast(sc.y) && scaleFast(sc.z) && scaleFast(sc.w);
        }
        if (kAltScanSc && st < kBN) { // token st's converted scales, 0 if dead (garbage where !ok: the tile takes the exact path)
          const uint32_t scs = ck + (L::SC_OFF - L::CK_OFF) + 1024 * slot + 2 * st;
#pragma unroll
          for (int g = 0; g < 4; ++g) {
            const uint32_t sb = wordOf(sc, g);
            sts16(scs + 128 * g, static_cast<uint16_t>(st < live ? scale16(sb) : 0u));
#if MLA_DFP8_OCVT
            sts16(scs + 512 + 128 * g, static_cast<uint16_t>(st < live ? scaleF16(sb) : 0u)); // (bit 140737488355328: f16(scale))
#else
            sts16(scs + 512 + 128 * g, static_cast<uint16_t>(st < live ? (kAltF16 ? scale16h(sb) : scale16(sb)) : 0u));
#endif
          }
        }
#if MLA_DFP8_PROBE & 4
        const bool bad = false; // (probe: no DRAM, the zeroed ring's scales are not fast-path scales)
        (void)nan, (void)ok;
#else
        const bool bad = __any_sync(0xffffffffu, (nan & 0x80808080u) != 0 || !ok);
#endif
        __syncwarp(); // the warp's scale stores before the (releasing) arrivals
        if ((st & 31) == 0) {
          stShared(ck + (L::CKF_OFF - L::CK_OFF) + 16 * slot + 4 * w, static_cast<uint32_t>(bad));
#ifdef MLA_DFP8_LANE0_RELEASE
          mbarArrive(ck + 8 * slot);
#endif
        }
#ifndef MLA_DFP8_LANE0_RELEASE
        __syncwarp(); // every lane arrives (count 96), after lane 0's flag store (see releaseSlot)
        mbarArrive(ck + 8 * slot);
#endif
      }
    }
  }
#endif

  static __device__ void run(const SparseMmaParams& p) {
#ifdef MLA_SM90A
    extern __shared__ __align__(1024) unsigned char smemRaw[];
    const uint32_t rawAddr = smemAddr(smemRaw);
    unsigned char* const smem = smemRaw + (((rawAddr + 1023u) & ~1023u) - rawAddr);
    const uint32_t base = smemAddr(smem);
    const uint32_t rawBase = base + L::RAW_OFF, qBase = base + L::Q_OFF;
    const uint32_t fullBar = base + L::BAR_OFF, emptyBar = fullBar + 8 * FB;
#if MLA_DFP8_STAMP
    if (threadIdx.x == 0) {
      MLA_DFP8_SS(3);
      const uint64_t g = stGt();
      uint32_t smid;
      asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
      stShared(base + L::SMEM - 1024, smid), stShared(base + L::SMEM - 1020, static_cast<uint32_t>(g)), stShared(base + L::SMEM - 1016, static_cast<uint32_t>(g >> 32));
    }
#endif
#if MLA_DFP8_SF16
    const uint32_t q16Base = base + L::Q16_OFF;
#endif
    const int part = blockIdx.x;
    const int lane = threadIdx.x % 32, gq = lane / 4, tq = lane % 4;
    const int wg = threadIdx.x / 128;
    const int tid = threadIdx.x % 128, warp = tid / 32;
    if (threadIdx.x == 0) {
      for (int s = 0; s < RS; ++s) {
        mbarInit(fullBar + 8 * s, 1);
        mbarInit(emptyBar + 8 * s, kEmptyArrivals); // the threads of the warpgroup that consumes the page (releaseSlot)
#if MLA_DFP8_SCAN
        mbarInit(base + L::CK_OFF + 8 * s, kCheckArrivals); // the producer's three screening warps
#endif
      }
      if constexpr (W3)
        for (int s = RS; s < FB; ++s) mbarInit(fullBar + 8 * s, 1);
      for (int w = 0; w < NC; ++w) mbarInit(base + L::EX_OFF + 8 * w, 128); // (exBar)
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = min(meta[kMetaEndIdx], p.b - 1);
#if MLA_DFP8_PROBE & 4
    for (int i = threadIdx.x; i < RS * kRawBytes / 16; i += blockDim.x) stShared(rawBase + 16 * i, make_uint4(0u, 0u, 0u, 0u)); // (probe: no DRAM)
#endif
    __syncthreads();

    if (__shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 128, 0) == NC) {
      if constexpr (W3) asm volatile("setmaxnreg.dec.sync.aligned.u32 32;\n" ::: "memory"); // (128 x 32 + 384 x 160 = 65536)
      else asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
#if MLA_DFP8_SCAN
      // (a warp-uniform condition: with `else if (threadIdx.x >= 288)` ptxas spilled 72-132 bytes)
      if (__shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 32, 0) >= 9) {
        screen(p, meta, beginIdx, endIdx, rawBase, fullBar, base + L::CK_OFF, static_cast<int>(threadIdx.x) - 288);
        return;
      }
#endif
      if (threadIdx.x == 128 * NC) {
        const uint64_t policy = evictFirstPolicy();
        const int pf = p.extraTopk > 0 ? p.extraTopk : p.extraTopk < 0 ? 0 : kPrefetchPages;
        uint32_t n = 0;
        for (int batch = beginIdx; batch <= endIdx; ++batch) {
          const int* bt = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq;
          const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
          const int first = itm.kBegin >> 6;
          for (int t = 0; t < itm.nTiles; ++t, ++n) {
            const int ahead = t + pf;
            if (pf > 0 && ahead < itm.nTiles) prefetchL2(p.kCache + static_cast<int64_t>(bt[first + ahead]) * p.blockStride, kRawBytes);
            const int page = bt[first + t];
            const uint32_t slot = n % RS;
            mbarWait(emptyBar + 8 * slot, ((n / RS) & 1) ^ 1);
            const uint32_t fs = W3 ? n % FB : slot;
#if MLA_DFP8_PROBE & 4
            (void)page, (void)policy;
            mbarArrive(fullBar + 8 * fs); // (probe: no DRAM)
#else
            mbarExpectTx(fullBar + 8 * fs, kRawBytes);
            bulkLoad(rawBase + slot * kRawBytes, p.kCache + static_cast<int64_t>(page) * p.blockStride, kRawBytes, fullBar + 8 * fs, policy);
#endif
          }
        }
#if MLA_DFP8_STAMP
        MLA_DFP8_SS(15);
#endif
      }
      return;
    }
    if constexpr (W3) asm volatile("setmaxnreg.inc.sync.aligned.u32 160;\n" ::: "memory");
    else asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    const uint32_t pBase = base + L::P_OFF + wg * L::P_BYTES;
    unsigned char* const pw = smem + L::P_OFF + wg * L::P_BYTES;
    float* const red = reinterpret_cast<float*>(smem + L::RED_OFF + wg * L::RED_BYTES); // [4][NR]
    const int r0 = 16 * warp + gq;
    const int rows = p.sQ * p.hQ;
#if MLA_DFP8_SF16
    const uint64_t qDesc = descOf<NR>(q16Base), pDesc = descOf<NR>(pBase); // (bit 35184372088832: the f16 Q^T; the bf16 one below it)
#else
    const uint64_t qDesc = descOf<NR>(qBase), pDesc = descOf<NR>(pBase);
#endif

    // Session 31 (decode_sm90.cu's session 30 form): where the lazy vote fails, the warpgroup's exact path shares its four
    // warps' maxima through an mbarrier of its own (exBar: every thread arrives, then waits on the phase) instead of its
    // named barrier, so each warpgroup passes its named barrier kTilePasses times a tile whatever the data; at the item's
    // end the warpgroups that ran fewer tiles pass it for the missing ones, and the counts agree at every merge.
    // compute-sanitizer's racecheck reports the merge's race-free exchanges when they do not (racecheck_probe.cu modes 16
    // and 17); the exact path runs on a warpgroup's first tile of an item and rarely after.
    constexpr int kTilePasses = (MLA_DFP8_PROBE & 2) ? 1 : MLA_DFP8_SCAN ? 2 : 3; // the S vote (unless screened), the lazy vote or the maxima's barrier, P^T
    const uint32_t exBar = base + L::EX_OFF + 8 * wg;
    uint32_t exPh = 0;
#ifdef MLA_RACECHECK_STRICT
    // The racecheck verification build (docs/notes/sanitizers.md): each consumer warpgroup counts the passes of its own
    // barrier, and before an item's merge the ones with fewer pass it until all are equal (exchanged by votes). Since
    // session 31 the shipped code's counts agree already and this adds nothing; it stays as the check of that. Never shipped.
    unsigned gsN = 0;
    auto groupSync = [&](int w) { ++gsN; ::mla::MLA_DFP8_NS::groupSync(w); };
    auto groupAny = [&](int w, bool x) { ++gsN; return ::mla::MLA_DFP8_NS::groupAny(w, x); };
    auto evenPasses = [&]() { // the counts since the last merge, exchanged by votes (sm90_narrow.cuh maxByVotes)
      const unsigned mx = W3 ? narrow::maxByVotes<3, 4, 384>(gsN, wg, tid) : narrow::maxByVotes<2, 3, 256>(gsN, wg, tid);
      while (gsN < mx) groupSync(wg);
      gsN = 0;
    };
#endif
    uint32_t n0 = 0;
    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
      const int slotOut = p.numSplits[batch] + (batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0);
      const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      const int kBegin = itm.kBegin, tileEnd = itm.tileEnd;
      const int lim0 = p.causal ? itm.seqlen - p.sQ + 1 : (1 << 30);
      uint64_t jPack = 0;
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) jPack |= static_cast<uint64_t>(min((8 * i + 2 * tq + b) / p.hQ, 63)) << (6 * (2 * i + b));
#if MLA_DFP8_SF16
      bool qFit = true;
#endif
#if MLA_DFP8_QV
      {
        // (bit 2251799813685248) unit u of the fill (warp-uniform): u < 4 NR / 8 the NoPE group u % 4 of rows 8 (u / 4)
        // .. + 7, then the RoPE part of rows 8 (u - 4 NR / 8) .. + 7; lane (gq, tq) loads chunks 16 g + 4 tq + m (RoPE
        // 64 + 2 tq + m) of its row, each the words (ks0, tq), (ks0, tq + 4), (ks0 + 1, tq), (ks0 + 1, tq + 4) of Q^T.
        constexpr int NU = 5 * NR / 8, NW = 4 * NC, UPW = (NU + NW - 1) / NW;
        const int cw = threadIdx.x / 32;
        uint4 qv[UPW][4];
#pragma unroll
        for (int k = 0; k < UPW; ++k) {
          const int u = cw + NW * k;
          const bool rope = u >= 4 * NI;
          const int r = 8 * (rope ? u - 4 * NI : u >> 2) + gq;
          const bool on = u < NU && r < rows;
          const uint4* const src = reinterpret_cast<const uint4*>(static_cast<const __nv_bfloat16*>(p.q) + (static_cast<int64_t>(batch) * rows + r) * 576) +
                                   (rope ? 64 + 2 * tq : 16 * (u & 3) + 4 * tq);
#pragma unroll
          for (int m = 0; m < 4; ++m) qv[k][m] = on && (!rope || m < 2) ? __ldg(src + m) : make_uint4(0u, 0u, 0u, 0u);
        }
#if MLA_DFP8_SF16
        uint32_t qmx = 0;
#endif
#pragma unroll
        for (int k = 0; k < UPW; ++k) {
          const int u = cw + NW * k;
          if (u >= NU) continue;
          const bool rope = u >= 4 * NI;
          const int r = 8 * (rope ? u - 4 * NI : u >> 2) + gq;
#pragma unroll
          for (int m = 0; m < 4; ++m) {
            if (rope && m >= 2) continue;
            const int ks0 = rope ? 32 + 2 * m : 8 * (u & 3) + 2 * m;
            const uint32_t w4[4] = {qv[k][m].x, qv[k][m].y, qv[k][m].z, qv[k][m].w};
#pragma unroll
            for (int x = 0; x < 4; ++x) {
              const uint32_t off = ((2 * (ks0 + (x >> 1)) + (x & 1)) * NR + r) * 16 + 4 * tq, v = w4[x];
              stShared(qBase + off, v);
#if MLA_DFP8_SF16
              uint32_t y = v;
              if (!rope) {
                qmx = max(qmx, max(v & 0x7fffu, (v >> 16) & 0x7fffu));
                const __half2 h = __floats2half2_rn(__uint_as_float(v << 16), __uint_as_float(v & 0xffff0000u));
                y = *reinterpret_cast<const uint32_t*>(&h);
              }
              stShared(q16Base + off, y);
#endif
            }
          }
        }
#if MLA_DFP8_SF16
        qFit = qmx < (142u << 7);
        if (threadIdx.x == 0) sts32f(base + L::SL_OFF, p.scaleLog2);
#endif
        fenceProxyAsync();
      }
#elif MLA_DFP8_QA
      if (!W3 || wg < 2) { // (three warpgroups: the first two fill)
        // (bit 2147483648) element e = threadIdx.x + 256 k of the fill: row r = threadIdx.x % NR, pair pr = e / NR. The
        // thread index goes through an opaque move in each item, so that the 36 / 18 addresses are not hoisted out of the
        // item loop into as many live registers (484 bytes of spills at 32 rows).
        int tq0;
        asm volatile("mov.b32 %0, %1;\n" : "=r"(tq0) : "r"(static_cast<int>(threadIdx.x)));
        const int r = tq0 % NR, pr0 = tq0 / NR;
        const bool on = r < rows;
        const int j = on ? r / p.hQ : 0, h = on ? r - j * p.hQ : 0;
        const __nv_bfloat16* const qr = static_cast<const __nv_bfloat16*>(p.q) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * 576;
        const uint32_t nb = on ? 4u : 0u; // (0: the 4 bytes are zero-filled, nothing is read)
#pragma unroll
        for (int k = 0; k < NR * 36 * 8 / 256; ++k) {
          const int pr = pr0 + 256 / NR * k, ks = pr / 8, c2 = 2 * (pr % 8);
          asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(qBase + canonOff<NR>(r, 16 * ks + c2)), "l"(qr + qDimAlt(ks, c2)), "r"(nb)
                       : "memory");
        }
        cpAsyncWaitAll();
#if MLA_DFP8_SF16
        // (bit 35184372088832) the same words again into the f16 Q^T (NoPE k-steps as f16, RoPE as they are), and
        // whether every NoPE q of this thread is under 2^15 in magnitude (f16's range; no infinity or NaN)
        uint32_t qmx = 0;
#pragma unroll
        for (int k = 0; k < NR * 36 * 8 / 256; ++k) {
          const int pr = pr0 + 256 / NR * k, ks = pr / 8, c2 = 2 * (pr % 8);
          const uint32_t off = canonOff<NR>(r, 16 * ks + c2), v = lds32(qBase + off);
          uint32_t y = v;
          if (k < 16) { // NoPE (k-steps 0 .. 31; k >= 16 are the RoPE k-steps)
            qmx = max(qmx, max(v & 0x7fffu, (v >> 16) & 0x7fffu)); // (an infinity or NaN fails the test below too)
            const __half2 h = __floats2half2_rn(__uint_as_float(v << 16), __uint_as_float(v & 0xffff0000u));
            y = *reinterpret_cast<const uint32_t*>(&h);
          }
          stShared(q16Base + off, y);
        }
        qFit = qmx < (142u << 7);
        if (threadIdx.x == 0) sts32f(base + L::SL_OFF, p.scaleLog2);
#endif
        fenceProxyAsync();
      }
#else
      {
        const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q);
        for (int e = threadIdx.x; e < NR * 36 * 8; e += 256) {
          const int r = e % NR, pr = e / NR, ks = pr / 8, c2 = 2 * (pr % 8);
          uint32_t v = 0;
          if (r < rows) {
            const int j = r / p.hQ, h = r - j * p.hQ;
            v = *reinterpret_cast<const uint32_t*>(q + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * 576 + qDimAlt(ks, c2));
          }
          *reinterpret_cast<uint32_t*>(smem + L::Q_OFF + canonOff<NR>(r, 16 * ks + c2)) = v;
        }
        fenceProxyAsync();
      }
#endif
      // Bit 2048: this warpgroup's running maxima start at -inf before the barrier below: the lazy vote of the item's
      // first tile reads them before any barrier of the warpgroup (written after this barrier until session 29, where
      // racecheck on the verification build reported the write against that read; the previous item read them before
      // its last barrier).
      if (MSH && tid < NR) reinterpret_cast<float*>(smem + L::MS_OFF)[wg * 2 * NR + tid] = -INFINITY;
#if MLA_DFP8_SF16
      // (bit 35184372088832) where some NoPE q of the item is not under 2^15 (rare: a uniform branch), the f16 Q^T is
      // made again as q 2^-e, e = the largest finite q's bf16 exponent - 141 (every finite q 2^-e under 2^15; an
      // infinity or NaN stays one, in its own row only), RoPE as bf16 q 2^-e, and the scores' factor becomes
      // scaleLog2 2^e. (Under 2^-14 after the scaling a q rounds to f16's subnormals: at most 2^-25 off, 2^-39 of the
      // item's largest.)
      if (!cSyncAll(qFit)) {
        uint32_t mx = 0;
        if (!W3 || wg < 2) {
          int tq0;
          asm volatile("mov.b32 %0, %1;\n" : "=r"(tq0) : "r"(static_cast<int>(threadIdx.x)));
          const int r = tq0 % NR, pr0 = tq0 / NR;
#pragma unroll 1
          for (int k = 0; k < NR * 36 * 8 / 256; ++k) {
            const int pr = pr0 + 256 / NR * k, ks = pr / 8, c2 = 2 * (pr % 8);
            const uint32_t v = lds32(qBase + canonOff<NR>(r, 16 * ks + c2)), lo = v & 0x7fffu, hi = (v >> 16) & 0x7fffu;
            mx = max(mx, max(lo < 0x7f80u ? lo : 0u, hi < 0x7f80u ? hi : 0u));
          }
          mx = __reduce_max_sync(0xffffffffu, mx);
          if (lane == 0) stShared(base + L::SL_OFF + 4 + 4 * (threadIdx.x / 32), mx);
        }
        cSync();
        mx = 0;
#pragma unroll 1
        for (int w = 0; w < 8; ++w) mx = max(mx, lds32(base + L::SL_OFF + 4 + 4 * w));
        const int e = max(0, static_cast<int>(mx >> 7) - 141); // 0 .. 113
        if (!W3 || wg < 2) {
          int tq0;
          asm volatile("mov.b32 %0, %1;\n" : "=r"(tq0) : "r"(static_cast<int>(threadIdx.x)));
          const int r = tq0 % NR, pr0 = tq0 / NR;
          const float f = __int_as_float((127 - e) << 23);
          const uint32_t fb = (__float_as_uint(f) >> 16) * 0x10001u;
#pragma unroll 1
          for (int k = 0; k < NR * 36 * 8 / 256; ++k) {
            const int pr = pr0 + 256 / NR * k, ks = pr / 8, c2 = 2 * (pr % 8);
            const uint32_t off = canonOff<NR>(r, 16 * ks + c2), v = lds32(qBase + off);
            const uint32_t b = mulBf16x2(v, fb); // (the bf16 Q^T too, which the exact S path reads: both S^T in 2^-e units)
            uint32_t y = b;
            if (k < (NR == 16 ? 16 : 32)) { // (the NoPE k-steps: ks = 2 k + .. at 16 rows, k at 32)
              const __half2 h = __floats2half2_rn(__uint_as_float(v << 16) * f, __uint_as_float(v & 0xffff0000u) * f);
              y = *reinterpret_cast<const uint32_t*>(&h);
            }
            stShared(q16Base + off, y);
            stShared(qBase + off, b);
          }
          if (threadIdx.x == 0) sts32f(base + L::SL_OFF, p.scaleLog2 * __int_as_float((127 + e) << 23));
          fenceProxyAsync();
        }
        cSync();
      }
#else
      cSync();
#endif
#if MLA_DFP8_STAMP
      if (threadIdx.x == 0) MLA_DFP8_SS(4);
#endif

      float o[8][NI * 4]; // O^T slice s: element 4i + e, as [i][e] of the wgmma fragment
#pragma unroll
      for (int s = 0; s < 8; ++s)
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) o[s][e] = 0.f;
      float mRow[NI][2], lPart[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i) mRow[i][0] = mRow[i][1] = -INFINITY, lPart[i][0] = lPart[i][1] = 0.f;
      float* const msh = reinterpret_cast<float*>(smem + L::MS_OFF) + wg * 2 * NR; // bit 2048: [parity][NR]
      int kc = 0; // this warpgroup's tiles of the item so far (bit 2048's buffer parity)
      const uint32_t mshA = smemAddr(msh), redA = smemAddr(red);

      for (int it = wg; it < itm.nTiles; it += NC, ++kc) {
        const int t0 = kBegin + it * kBN;
        const uint32_t n = n0 + it, slot = n % RS;
        const uint32_t raw = rawBase + slot * kRawBytes;
        const int live = min(kBN, tileEnd - t0);
        if constexpr (W3) mbarWait(fullBar + 8 * (n % FB), (n / FB) & 1);
        else mbarWait(fullBar + 8 * slot, (n / RS) & 1);
#if MLA_DFP8_STAMP
        if (threadIdx.x == 0 && kc == 0) MLA_DFP8_SS(5);
        if (threadIdx.x == 0 && it + NC >= itm.nTiles) MLA_DFP8_SS(7);
#endif

        float sAcc[NI * 4];
#ifndef MLA_DFP8_ALT_OVERLAP
        wgWait<0>(); // this warpgroup's previous O^T product (left in flight, ptxas serializes the wgmma: C7514)
#endif
#if MLA_DFP8_PROBE & 2
        // (probe bit 2: no S side) the screening warps' flags where the entry has them, else the fast path
#if MLA_DFP8_SCAN
        const uint32_t scs = base + L::SC_OFF + 1024 * slot;
        mbarWait(base + L::CK_OFF + 8 * slot, (n / RS) & 1);
        const uint4 f = lds128(base + L::CKF_OFF + 16 * slot);
        const bool bad = (f.x | f.y | f.z) != 0;
#else
        const bool bad = false;
#endif
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) sAcc[e] = 0.f;
#elif MLA_DFP8_SCAN
        // the screening warps' answer for this page (the flags of its three warps)
        const uint32_t scs = base + L::SC_OFF + 1024 * slot;
        if (kAltScanSc) mbarWait(base + L::CK_OFF + 8 * slot, (n / RS) & 1); // (the S phase reads its scale arrays)
#if MLA_DFP8_S32H
        sPhaseH(sAcc, raw, r0, tq, live, qDesc, scs); // (bit 72057594037927936: the f16 Q^T)
#else
        sPhase(sAcc, raw, r0, tq, live, qDesc, scs);
#endif
        if (!kAltScanSc) mbarWait(base + L::CK_OFF + 8 * slot, (n / RS) & 1);
        const uint4 f = lds128(base + L::CKF_OFF + 16 * slot);
        const bool bad = (f.x | f.y | f.z) != 0;
#elif MLA_DFP8_SFOLD
        float sGrp[DenseFp8Alt::NFA][NI * 4]; // (bit 562949953421312: the NoPE group accumulators)
        const bool bad = groupAny(wg, sPhaseH(sAcc, sGrp, raw, r0, tq, live, qDesc));
        float f30 = 0.f, f31 = 0.f; // group 3's scales
        const auto f3 = [&] { f30 = __uint_as_float(lds32(raw + r0 * kTok + 512 + 12)), f31 = __uint_as_float(lds32(raw + (r0 + 8) * kTok + 512 + 12)); };
        if (!(MLA_DFP8_SFOLD_LATE & 2)) f3();
#elif MLA_DFP8_SF16
        const bool bad = groupAny(wg, sPhaseH(sAcc, raw, r0, tq, live, qDesc));
#else
        const bool bad = groupAny(wg, sPhase(sAcc, raw, r0, tq, live, qDesc));
#endif
        wgWait<0>(); // S^T, and this warpgroup's previous O^T product
#if MLA_DFP8_SFOLD && !MLA_DFP8_SCAN && !(MLA_DFP8_PROBE & 2)
        if (MLA_DFP8_SFOLD_LATE & 2) f3();
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) sAcc[e] = fmaf(sGrp[NFA - 1][e], (e & 2) ? f31 : f30, sAcc[e]); // NoPE group 3's fold
#endif
        pinRegs<NI * 4>(sAcc);
#pragma unroll
        for (int s = 0; s < 8; ++s) pinRegs<NI * 4>(o[s]);
#if !(MLA_DFP8_PROBE & 2)
        if (bad) {
#if MLA_DFP8_SF16
          sPhaseExact(sAcc, raw, r0, tq, qDesc - ((L::Q16_OFF - L::Q_OFF) >> 4)); // (the bf16 Q^T, as the shipped build)
#else
          sPhaseExact(sAcc, raw, r0, tq, qDesc);
#endif
          pinRegs<NI * 4>(sAcc);
        }
#endif

#if MLA_DFP8_PROBE & 2
        (void)lim0, (void)jPack, (void)r0, (void)t0;
#else
        const int key0 = t0 + r0;
#if MLA_DFP8_SF16
        const float sl = lds32f(base + L::SL_OFF);
#endif
        // Row r's P values p0, p1 (keys r0, r0 + 8) into the P tile: one f16 P^T, or bf16 hi + lo.
        const auto putP = [&](int r, float p0, float p1) {
          if (kAltF16 && !bad && MSH) {
            sts16(pBase + canonOff<NR>(r, r0), __half_as_ushort(__float2half_rn(p0)));
            sts16(pBase + canonOff<NR>(r, r0 + 8), __half_as_ushort(__float2half_rn(p1)));
            return;
          }
          if (kAltF16 && !bad) { // one f16 P^T
            *reinterpret_cast<__half*>(pw + canonOff<NR>(r, r0)) = __float2half_rn(p0);
            *reinterpret_cast<__half*>(pw + canonOff<NR>(r, r0 + 8)) = __float2half_rn(p1);
            return;
          }
          const __nv_bfloat16 h0 = __float2bfloat16_rn(p0), h1 = __float2bfloat16_rn(p1);
          const __nv_bfloat16 l0 = __float2bfloat16_rn(p0 - __bfloat162float(h0)), l1 = __float2bfloat16_rn(p1 - __bfloat162float(h1));
          if (MSH) {
            sts16(pBase + canonOff<NR>(r, r0), __bfloat16_as_ushort(h0));
            sts16(pBase + canonOff<NR>(r, r0 + 8), __bfloat16_as_ushort(h1));
            sts16(pBase + NR * kBN * 2 + canonOff<NR>(r, r0), __bfloat16_as_ushort(l0));
            sts16(pBase + NR * kBN * 2 + canonOff<NR>(r, r0 + 8), __bfloat16_as_ushort(l1));
            return;
          }
          *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NR>(r, r0)) = h0;
          *reinterpret_cast<__nv_bfloat16*>(pw + canonOff<NR>(r, r0 + 8)) = h1;
          *reinterpret_cast<__nv_bfloat16*>(pw + NR * kBN * 2 + canonOff<NR>(r, r0)) = l0;
          *reinterpret_cast<__nv_bfloat16*>(pw + NR * kBN * 2 + canonOff<NR>(r, r0 + 8)) = l1;
        };
        // This warp's maximum of rows (i, b) over its keys (xor-shuffles across the 8 row groups), one partial a warp.
        const auto publishMax = [&](int i, int b, float x) {
          x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
          x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
          x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
          if (gq == 0) {
            if (MSH) sts32f(redA + 4 * (warp * NR + 8 * i + 2 * tq + b), x);
            else red[warp * NR + 8 * i + 2 * tq + b] = x;
          }
        };
        // After groupSync: row r's tile maximum over the four warps' partials; the new running maximum, O and the row
        // sum rescaled to it, and P (p0, p1) formed against it.
        const auto rescaleRow = [&](int i, int b, float& p0, float& p1) {
          const int r = 8 * i + 2 * tq + b;
          const float x = MSH ? fmaxf(fmaxf(lds32f(redA + 4 * r), lds32f(redA + 4 * (NR + r))), fmaxf(lds32f(redA + 4 * (2 * NR + r)), lds32f(redA + 4 * (3 * NR + r))))
                              : fmaxf(fmaxf(red[r], red[NR + r]), fmaxf(red[2 * NR + r], red[3 * NR + r]));
          const float mOld = MSH ? lds32f(mshA + 4 * ((kc & 1) * NR + r)) : mRow[i][b];
          const float mNew = fmaxf(mOld, x);
          const float bse = mNew == -INFINITY ? 0.f : mNew;
          const float alpha = exp2f(mOld - bse);
#if !(MLA_DFP8_PROBE & 1)
#pragma unroll
          for (int s = 0; s < 8; ++s) o[s][4 * i + b] *= alpha, o[s][4 * i + 2 + b] *= alpha;
#endif
          if (!MSH) mRow[i][b] = mNew;
          else if (warp == 0 && gq == 0) sts32f(mshA + 4 * (((kc + 1) & 1) * NR + r), mNew); // read by the next tile after this tile's barriers
          p0 = exp2f(sAcc[i * 4 + b] - bse), p1 = exp2f(sAcc[i * 4 + 2 + b] - bse);
          lPart[i][b] = lPart[i][b] * alpha + p0 + p1;
        };
#if MLA_DFP8_LAZY
        // Bit 134217728: keep the row maxima unless some score passes one by more than kLazyTau (the warpgroup's vote).
        bool grow = false;
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            float& s0 = sAcc[i * 4 + b];
            float& s1 = sAcc[i * 4 + 2 + b];
            const int lim = min(tileEnd, lim0 + static_cast<int>((jPack >> (6 * (2 * i + b))) & 63));
            s0 = key0 < lim ? s0 * MLA_DFP8_SL : -INFINITY;
            s1 = key0 + 8 < lim ? s1 * MLA_DFP8_SL : -INFINITY;
            const float mOld = MSH ? lds32f(mshA + 4 * ((kc & 1) * NR + 8 * i + 2 * tq + b)) : mRow[i][b];
            grow = grow || fmaxf(s0, s1) > mOld + kLazyTau; // (mOld = -inf: any finite score; NaN: never)
          }
        if (groupAny(wg, grow)) {
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) publishMax(i, b, fmaxf(sAcc[i * 4 + b], sAcc[i * 4 + 2 + b]));
          mbarArrive(exBar); // the warpgroup's maxima are in (an mbarrier, not its named barrier: see exBar)
          mbarWait(exBar, exPh);
          exPh ^= 1;
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              float p0, p1;
              rescaleRow(i, b, p0, p1);
              putP(8 * i + 2 * tq + b, p0, p1);
            }
        } else {
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              const float mOld = MSH ? lds32f(mshA + 4 * ((kc & 1) * NR + r)) : mRow[i][b];
              if (MSH && warp == 0 && gq == 0) sts32f(mshA + 4 * (((kc + 1) & 1) * NR + r), mOld); // (the parity buffers stay in step)
              const float bse = mOld == -INFINITY ? 0.f : mOld;
              const float p0 = exp2f(sAcc[i * 4 + b] - bse), p1 = exp2f(sAcc[i * 4 + 2 + b] - bse);
              lPart[i][b] = lPart[i][b] + p0 + p1;
              putP(r, p0, p1);
            }
        }
#else
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            float& s0 = sAcc[i * 4 + b];
            float& s1 = sAcc[i * 4 + 2 + b];
            const int lim = min(tileEnd, lim0 + static_cast<int>((jPack >> (6 * (2 * i + b))) & 63));
            s0 = key0 < lim ? s0 * MLA_DFP8_SL : -INFINITY;
            s1 = key0 + 8 < lim ? s1 * MLA_DFP8_SL : -INFINITY;
            publishMax(i, b, fmaxf(s0, s1));
          }
        groupSync(wg);
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            float p0, p1;
            rescaleRow(i, b, p0, p1);
            putP(8 * i + 2 * tq + b, p0, p1);
          }
#endif
#endif
        fenceProxyAsync();
        groupSync(wg); // P^T complete (and visible to the tensor cores); red is free

#if MLA_DFP8_PROBE & 1
        (void)bad; // (probe bit 1: no O side; the slot goes back here)
        __syncwarp();
        releaseSlot(emptyBar + 8 * slot, lane);
#else
        if (bad) oPhaseExact(o, raw, warp, gq, tq, lane, live, pDesc, emptyBar + 8 * slot);
#if MLA_DFP8_SCAN
        else oPhase(o, raw, warp, gq, tq, lane, live, pDesc, emptyBar + 8 * slot, scs);
#else
        else oPhase(o, raw, warp, gq, tq, lane, live, pDesc, emptyBar + 8 * slot);
#endif
#endif
      }
      wgWait<0>();
#pragma unroll
      for (int s = 0; s < 8; ++s) pinRegs<NI * 4>(o[s]);
      n0 += itm.nTiles;
#if MLA_DFP8_STAMP
      if (threadIdx.x == 0) MLA_DFP8_SS(8);
#endif

      // A warpgroup that ran fewer of the item's tiles than warpgroup 0 passes its barrier for the missing one (see exBar).
      for (int k = kc, k0 = (itm.nTiles + NC - 1) / NC; k < k0; ++k)
#pragma unroll
        for (int q = 0; q < kTilePasses; ++q) groupSync(wg);
      // Row sums over the 8 key lanes and the 4 warps, then the two warpgroups merge (decode_sm90.cu's split stores).
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
      groupSync(wg);
      if (MSH) // (written by warp 0: the init, or its last tile; every warp of the warpgroup has passed a barrier since)
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) mRow[i][b] = msh[(kc & 1) * NR + 8 * i + 2 * tq + b];
      float lRow[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int r = 8 * i + 2 * tq + b;
          lRow[i][b] = red[r] + red[NR + r] + red[2 * NR + r] + red[3 * NR + r];
        }
      float* const xb = reinterpret_cast<float*>(smem + L::Q_OFF);
      float* const ml = reinterpret_cast<float*>(smem + L::ML_OFF);
      float* const l0x = xb + 4 * NI * 4 * 128;
#ifdef MLA_RACECHECK_STRICT
      evenPasses();
#endif
      if constexpr (!W3) {
      consumersSync(); // both warpgroups' tiles are done: Q^T is free
#if MLA_DFP8_STAMP
      if (threadIdx.x == 0) MLA_DFP8_SS(9);
#endif
      if (warp == 0 && gq == 0)
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int r = 8 * i + 2 * tq + b;
            ml[wg * NR + r] = mRow[i][b];
            if (wg == 1) ml[2 * NR + r] = lRow[i][b];
            else l0x[r] = lRow[i][b];
          }
      consumersSync();
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int r = 8 * i + 2 * tq + b;
          const float m0 = ml[r], m1 = ml[NR + r], mNew = fmaxf(m0, m1);
          const float bse = mNew == -INFINITY ? 0.f : mNew;
          const float a = exp2f(mRow[i][b] - bse);
#pragma unroll
          for (int s = 0; s < 8; ++s) o[s][4 * i + b] *= a, o[s][4 * i + 2 + b] *= a;
          lRow[i][b] = exp2f(m0 - bse) * l0x[r] + exp2f(m1 - bse) * ml[2 * NR + r];
          mRow[i][b] = mNew;
        }
#pragma unroll
      for (int round = 0; round < 2; ++round) {
#pragma unroll
        for (int u = 0; u < 2; ++u)
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e)
              xb[(((2 * wg + u) * NI + i) * 4 + e) * 128 + tid] = wg == 0 ? o[4 + 2 * round + u][4 * i + e] : o[2 * round + u][4 * i + e];
        consumersSync();
#pragma unroll
        for (int u = 0; u < 2; ++u)
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const float x = xb[(((2 * (1 - wg) + u) * NI + i) * 4 + e) * 128 + tid];
              if (wg == 0) o[2 * round + u][4 * i + e] += x;
              else o[4 + 2 * round + u][4 * i + e] += x;
            }
        consumersSync();
      }
      } else {
        // Bit 2199023255552: the three-way merge. Each warpgroup's maxima and sums, then all O^T rescaled to the common
        // maximum; in round rd (0..3) slice rd goes to warpgroup 0 (from 1 and 2) and slice 4 + rd to warpgroup 1 (from 0
        // and 2), through four 1024-float buffers in Q^T's region: [0] 0's slice 4 + rd, [1] 1's slice rd, [2] 2's slice
        // rd, [3] 2's slice 4 + rd.
        cSync(); // every warpgroup's tiles are done: Q^T is free
#if MLA_DFP8_STAMP
        if (threadIdx.x == 0) MLA_DFP8_SS(9);
#endif
        if (warp == 0 && gq == 0)
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              ml[wg * NR + r] = mRow[i][b];
              ml[(3 + wg) * NR + r] = lRow[i][b];
            }
        cSync();
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int r = 8 * i + 2 * tq + b;
            const float m0 = ml[r], m1 = ml[NR + r], m2 = ml[2 * NR + r], mNew = fmaxf(fmaxf(m0, m1), m2);
            const float bse = mNew == -INFINITY ? 0.f : mNew;
            const float a = exp2f(mRow[i][b] - bse);
#pragma unroll
            for (int s = 0; s < 8; ++s) o[s][4 * i + b] *= a, o[s][4 * i + 2 + b] *= a;
            lRow[i][b] = exp2f(m0 - bse) * ml[3 * NR + r] + exp2f(m1 - bse) * ml[4 * NR + r] + exp2f(m2 - bse) * ml[5 * NR + r];
            mRow[i][b] = mNew;
          }
#if MLA_DFP8_MV
        // (bit 9007199254740992) the four rounds as two phases of two, round rd's four buffers in Q^T's region (rd even)
        // or the f16 Q^T's (rd odd), a thread's four values of (buffer, i) one 16-byte word: 3 barriers instead of 8
        static_assert(4 * NI * 128 * 16 <= NR * 576 * 2, "a round's four buffers fit in either Q^T region");
        const auto x4 = [&](int rd, int buf, int i) { return reinterpret_cast<float4*>(smem + ((rd & 1) ? L::Q16_OFF : L::Q_OFF)) + (buf * NI + i) * 128 + tid; };
        const auto f4 = [&](int s, int i) { return make_float4(o[s][4 * i], o[s][4 * i + 1], o[s][4 * i + 2], o[s][4 * i + 3]); };
#pragma unroll
        for (int ph = 0; ph < 2; ++ph) {
#pragma unroll
          for (int rd = 2 * ph; rd < 2 * ph + 2; ++rd)
#pragma unroll
            for (int i = 0; i < NI; ++i) {
              if (wg == 0) *x4(rd, 0, i) = f4(4 + rd, i);
              else if (wg == 1) *x4(rd, 1, i) = f4(rd, i);
              else *x4(rd, 2, i) = f4(rd, i), *x4(rd, 3, i) = f4(4 + rd, i);
            }
          cSync();
#pragma unroll
          for (int rd = 2 * ph; rd < 2 * ph + 2; ++rd)
#pragma unroll
            for (int i = 0; i < NI; ++i) {
              if (wg == 2) continue;
              const float4 a = *x4(rd, wg == 0 ? 1 : 0, i), b = *x4(rd, wg == 0 ? 2 : 3, i);
              if (wg == 0) o[rd][4 * i] += a.x + b.x, o[rd][4 * i + 1] += a.y + b.y, o[rd][4 * i + 2] += a.z + b.z, o[rd][4 * i + 3] += a.w + b.w;
              else o[4 + rd][4 * i] += a.x + b.x, o[4 + rd][4 * i + 1] += a.y + b.y, o[4 + rd][4 * i + 2] += a.z + b.z, o[4 + rd][4 * i + 3] += a.w + b.w;
            }
          if (ph == 0) cSync();
        }
#else
        const auto xAt = [&](int buf, int i, int e) { return ((buf * NI + i) * 4 + e) * 128 + tid; };
#pragma unroll
        for (int rd = 0; rd < 4; ++rd) {
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              if (wg == 0) xb[xAt(0, i, e)] = o[4 + rd][4 * i + e];
              else if (wg == 1) xb[xAt(1, i, e)] = o[rd][4 * i + e];
              else xb[xAt(2, i, e)] = o[rd][4 * i + e], xb[xAt(3, i, e)] = o[4 + rd][4 * i + e];
            }
          cSync();
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              if (wg == 0) o[rd][4 * i + e] += xb[xAt(1, i, e)] + xb[xAt(2, i, e)];
              else if (wg == 1) o[4 + rd][4 * i + e] += xb[xAt(0, i, e)] + xb[xAt(3, i, e)];
            }
          cSync();
        }
#endif
      }
#if MLA_DFP8_STAMP
      if (threadIdx.x == 0) MLA_DFP8_SS(10);
#endif
      // This warpgroup's slices 4wg..4wg+3: columns 128 warp + 16 gq + 8 wg + 0..7 of each row (bit 2199023255552:
      // warpgroup 2 stores nothing).
#if MLA_DFP8_BO
      static_assert(NR == 32 && !W3 && NR * kORow <= NR * 576 * 2, "bit 18014398509481984: n32 only; the staged rows fit in Q^T's region");
      const bool staged = noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0;
#endif
#if MLA_DFP8_BO2
      if (staged) {
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int r = 8 * i + 2 * tq + b, col0 = 128 * warp + 16 * gq + 8 * wg;
            const float l = lRow[i][b];
            float inv;
            asm("rcp.approx.ftz.f32 %0, %1;\n" : "=f"(inv) : "f"(l));
            inv = l == 0.f ? 0.f : inv;
            uint32_t u[4];
#pragma unroll
            for (int s = 0; s < 4; ++s) { // (selects: a runtime index would put o in local memory)
              const __nv_bfloat162 t = __floats2bfloat162_rn((wg == 0 ? o[s][4 * i + b] : o[4 + s][4 * i + b]) * inv,
                                                             (wg == 0 ? o[s][4 * i + 2 + b] : o[4 + s][4 * i + 2 + b]) * inv);
              u[s] = *reinterpret_cast<const uint32_t*>(&t);
            }
            stShared(qBase + r * kORow + 2 * col0, make_uint4(u[0], u[1], u[2], u[3]));
            if (wg == 0 && warp == 0 && gq == 0 && r < rows) {
              const int j = r / p.hQ, h = r - j * p.hQ;
              p.lse[(static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j] = l == 0.f ? INFINITY : (mRow[i][b] + log2f(l)) * 0.69314718055994531f;
            }
          }
      } else {
#endif
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int r = 8 * i + 2 * tq + b;
          if (r >= rows || (W3 && wg == 2)) continue;
          const float l = lRow[i][b];
          const int j = r / p.hQ, h = r - j * p.hQ;
          const bool empty = l == 0.f;
          const float inv = empty ? 0.f : 1.f / l;
          const float lse = empty ? (noSplit ? INFINITY : -INFINITY) : (mRow[i][b] + log2f(l)) * 0.69314718055994531f;
          const int col0 = 128 * warp + 16 * gq + 8 * wg;
          float x[8];
#pragma unroll
          for (int s = 0; s < 4; ++s) { // (selects: a runtime index would put o in local memory)
            x[2 * s] = (wg == 0 ? o[s][4 * i + b] : o[4 + s][4 * i + b]) * inv;
            x[2 * s + 1] = (wg == 0 ? o[s][4 * i + 2 + b] : o[4 + s][4 * i + 2 + b]) * inv;
          }
          if (noSplit) {
            __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * kDV + col0;
            uint4 u;
            __nv_bfloat162 t;
            t = __floats2bfloat162_rn(x[0], x[1]), u.x = *reinterpret_cast<uint32_t*>(&t);
            t = __floats2bfloat162_rn(x[2], x[3]), u.y = *reinterpret_cast<uint32_t*>(&t);
            t = __floats2bfloat162_rn(x[4], x[5]), u.z = *reinterpret_cast<uint32_t*>(&t);
            t = __floats2bfloat162_rn(x[6], x[7]), u.w = *reinterpret_cast<uint32_t*>(&t);
#if MLA_DFP8_BO
            if (staged) stShared(qBase + r * kORow + 2 * col0, u); // (row r of the item, 16 bytes at its column col0)
            else
#endif
            *reinterpret_cast<uint4*>(out) = u;
            if (wg == 0 && warp == 0 && gq == 0) p.lse[(static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j] = lse;
          } else {
            const int64_t row = (static_cast<int64_t>(slotOut) * p.sQ + j) * p.hQ + h;
            float4* acc = reinterpret_cast<float4*>(p.oAccum + row * kDV + col0);
            acc[0] = make_float4(x[0], x[1], x[2], x[3]);
            acc[1] = make_float4(x[4], x[5], x[6], x[7]);
            if (wg == 0 && warp == 0 && gq == 0) p.lseAccum[row] = lse;
          }
        }
#if MLA_DFP8_BO2
      }
#endif
#if MLA_DFP8_BO
      if (staged) {
        fenceProxyAsync(); // (the rows' generic-proxy writes, before the bulk copies read them)
        cSync();
        const int r = 4 * (4 * wg + warp) + lane; // (rows are consecutive in out: row r of the item is out row batch x rows + r)
        if (lane < 4 && r < rows) {
          bulkStoreRow(static_cast<__nv_bfloat16*>(p.out) + (static_cast<int64_t>(batch) * rows + r) * kDV, qBase + r * kORow, kDV * 2);
          bulkCommit();
          bulkWaitRead0(); // (shared memory read: Q^T's region may be refilled after the barrier below)
        }
      }
#endif
      cSync(); // Q^T, red and ml are free for the next item
#if MLA_DFP8_STAMP
      static_assert(L::SMEM + 64 <= 229408, "the stamps' 64 bytes past the layout fit the launch's shared memory");
      if (threadIdx.x == 0 && batch == beginIdx && p.hQ * p.sQ >= 16) {
        const uint32_t c = stClk();
        const uint64_t g = stGt();
        for (int k = 0; k < 11; ++k) MLA_DFP8_ST(k, lds32(base + L::SMEM - 1024 + 4 * k));
        MLA_DFP8_ST(11, c), MLA_DFP8_ST(12, static_cast<uint32_t>(g)), MLA_DFP8_ST(13, static_cast<uint32_t>(g >> 32)), MLA_DFP8_ST(14, n0); // (n0: the first item's tiles; itm.nTiles kept live through the merge spilled)
        MLA_DFP8_ST(15, lds32(base + L::SMEM - 1024 + 60));
      }
#endif
    }
#endif
  }
};

} // namespace MLA_DFP8_NS
} // namespace mla

// (in a rows-dispatch build's second pass these check the first pass's layouts again; its own, 31296's, ran under the
// same launch in session 11)
static_assert(mla::dfp8::Layout<16>::SMEM <= 232448 && mla::dfp8::Layout<32>::SMEM <= 232448, "dense_fp8_sm90 shared memory over 227 KiB");
static_assert(mla::dfp8::AltLayout<16>::SMEM <= 231984 && mla::dfp8::AltLayout<32>::SMEM <= 229408, "the alt layout needs more shared memory than the launch gives");
#if MLA_DENSE_FP8_VAR == 0
static_assert(mla::dfp8::Layout<16>::SMEM == 231984 && mla::dfp8::Layout<32>::SMEM == 229408, "shared memory differs from dense-fp8-sm90-launch.ts");
#else // variants run under the shipped launch (dense-fp8-sm90-launch.ts), so they may use less, never more
static_assert(mla::dfp8::Layout<16>::SMEM <= 231984 && mla::dfp8::Layout<32>::SMEM <= 229408, "a variant needs more shared memory than the launch gives");
#endif

// Launch (dense-fp8-sm90-launch.ts): grid (numSmParts, 1, 1), 384 threads, Layout<NR>::SMEM bytes of dynamic shared
// memory (the lockstep design's, VAR 0; the shipped alternating-tile design uses less: AltLayout<NR>::SMEM);
// rows = sQ * hQ <= NR, V3.2 cache, page 64, bf16 queries, sm_90a only (elsewhere the entries are empty).
#if !defined(MLA_DFP8_PASS2) && !defined(MLA_DFP8_IN_PASS3)
extern "C" __global__ void __launch_bounds__(MLA_DFP8_N16_THREADS, 1) mla_dense_fp8_sm90_v32_bf16_n16(const SparseMmaParams p) {
  if constexpr (mla::MLA_DFP8_NS::kAlt) mla::MLA_DFP8_NS::DenseFp8Alt<16>::run(p);
  else mla::MLA_DFP8_NS::DenseFp8<16>::run(p);
}
#elif !defined(MLA_DFP8_PASS2)
// (the third pass, bit 4398046511104: the three-consumer 16-row code under its own name, 512 threads)
extern "C" __global__ void __launch_bounds__(512, 1) mla_dense_fp8_sm90_v32_bf16_n16w3(const SparseMmaParams p) {
  static_assert(mla::MLA_DFP8_NS::kAlt3, "the n16w3 entry is the three-consumer build");
  mla::MLA_DFP8_NS::DenseFp8Alt<16>::run(p);
}
#endif
// Bit 4398046511104 (session 18 round 2, helper s18-h4: the 16-row dispatch by tiles an SM): this pass's 16-row entry
// stays the two-consumer code (384 threads) and a third pass over this file (namespace dfp8w, the same bits with
// 2199023255552 in place of 4398046511104) adds the three-consumer code as mla_dense_fp8_sm90_v32_bf16_n16w3 (512
// threads); the host takes it where a 16-row launch has at least the manifest's denseFp8Sm90W3Tiles tiles an SM part
// (dense-fp8-sm90-launch.ts denseFp8Sm90N16Entry). Only with the shipped bits (2550171200): the third pass's bits are
// spelled out below.
#if !defined(MLA_DFP8_PASS2) && !defined(MLA_DFP8_IN_PASS3) && (MLA_DENSE_FP8_VAR & 4398046511104)
// (bits 8796093022208 and 17592186044416 go through to the third pass: its n16w3 code's wgmma groups)
#if MLA_DENSE_FP8_VAR & 8796093022208
#define MLA_DFP8_P3A 8796093022208
#else
#define MLA_DFP8_P3A 0
#endif
#if MLA_DENSE_FP8_VAR & 17592186044416
#define MLA_DFP8_P3B 17592186044416
#else
#define MLA_DFP8_P3B 0
#endif
// (bit 70368744177664 hands the f16 score path to the third pass as 35184372088832; 35184372088832 itself stays here)
#if MLA_DENSE_FP8_VAR & 70368744177664
#define MLA_DFP8_P3C 35184372088832
#else
#define MLA_DFP8_P3C 0
#endif
#if MLA_DENSE_FP8_VAR & 35184372088832
#define MLA_DFP8_P1A 35184372088832
#else
#define MLA_DFP8_P1A 0
#endif
#define MLA_DFP8_P1H (MLA_DFP8_P1A + MLA_DFP8_P3C + MLA_DFP8_P3C)
// (bit 140737488355328, the O side by cvt, goes to every pass as itself)
#if MLA_DENSE_FP8_VAR & 140737488355328
#define MLA_DFP8_P3D 140737488355328
#else
#define MLA_DFP8_P3D 0
#endif
// (bit 281474976710656 stays in this pass, where only the second pass reads it)
#if MLA_DENSE_FP8_VAR & 281474976710656
#define MLA_DFP8_P1X 281474976710656
#else
#define MLA_DFP8_P1X 0
#endif
// (bit 1125899906842624 hands the folded S-side scales to the third pass as 562949953421312; 562949953421312 itself stays here)
#if MLA_DENSE_FP8_VAR & 1125899906842624
#define MLA_DFP8_P3E 562949953421312
#else
#define MLA_DFP8_P3E 0
#endif
#if MLA_DENSE_FP8_VAR & 562949953421312
#define MLA_DFP8_P1F 562949953421312
#else
#define MLA_DFP8_P1F 0
#endif
#define MLA_DFP8_P1Y (MLA_DFP8_P1X + MLA_DFP8_P1F + MLA_DFP8_P3E + MLA_DFP8_P3E)
// (bit 2251799813685248, the 16-byte Q^T fill, goes to the third pass as itself; 4503599627370496 stays here, where
// the second pass reads it)
#if MLA_DENSE_FP8_VAR & 2251799813685248
#define MLA_DFP8_P3G 2251799813685248
#else
#define MLA_DFP8_P3G 0
#endif
#if MLA_DENSE_FP8_VAR & 4503599627370496
#define MLA_DFP8_P1G 4503599627370496
#else
#define MLA_DFP8_P1G 0
#endif
// (bit 9007199254740992, the merge in two phases, goes to the third pass as itself: only its n16w3 code reads it)
#if MLA_DENSE_FP8_VAR & 9007199254740992
#define MLA_DFP8_P3H 9007199254740992
#else
#define MLA_DFP8_P3H 0
#endif
// (bits 18014398509481984 / 36028797018963968, the staged output of n32, stay in this pass, where only the second pass reads them)
#if MLA_DENSE_FP8_VAR & 36028797018963968
#define MLA_DFP8_P1E (18014398509481984 + 36028797018963968)
#elif MLA_DENSE_FP8_VAR & 18014398509481984
#define MLA_DFP8_P1E 18014398509481984
#else
#define MLA_DFP8_P1E 0
#endif
#if MLA_DENSE_FP8_VAR & 72057594037927936
#define MLA_DFP8_P1K 72057594037927936
#else
#define MLA_DFP8_P1K 0
#endif
#define MLA_DFP8_P1Z (MLA_DFP8_P1Y + MLA_DFP8_P3G + MLA_DFP8_P1G + MLA_DFP8_P3H + MLA_DFP8_P1E + MLA_DFP8_P1K)
static_assert(MLA_DENSE_FP8_VAR == 2550171200 + 4398046511104 + MLA_DFP8_P3A + MLA_DFP8_P3B + MLA_DFP8_P1H + MLA_DFP8_P3D + MLA_DFP8_P1Z, "bit 4398046511104 goes with the shipped bits 2550171200 only");
#define MLA_DFP8_IN_PASS3 1
#undef MLA_DENSE_FP8_VAR
#define MLA_DENSE_FP8_VAR (2550171200 + 2199023255552 + MLA_DFP8_P3A + MLA_DFP8_P3B + MLA_DFP8_P3C + MLA_DFP8_P3D + MLA_DFP8_P3E + MLA_DFP8_P3G + MLA_DFP8_P3H)
#undef MLA_DFP8_NS
#define MLA_DFP8_NS dfp8w
#undef MLA_DFP8_SC_NEXT
#include "dense_fp8_sm90.cu"
#undef MLA_DENSE_FP8_VAR
#define MLA_DENSE_FP8_VAR (2550171200 + 4398046511104 + MLA_DFP8_P3A + MLA_DFP8_P3B + MLA_DFP8_P1H + MLA_DFP8_P3D + MLA_DFP8_P1Z)
#undef MLA_DFP8_NS
#define MLA_DFP8_NS dfp8
#undef MLA_DFP8_SC_NEXT
#undef MLA_DFP8_IN_PASS3
#endif
// Bit 32768 (rows dispatch): the 32-row entry comes from a second pass over this file with MLA_DENSE_FP8_VAR 31296
// (576 + 2048 + 4096 + 8192 + 16384: session 11's fastest 32-row build) in namespace dfp8r, while the 16-row entry
// keeps this pass's bits (v34368 = v1600's 16-row code + v31296's 32-row code).
#if !defined(MLA_DFP8_PASS2) && !defined(MLA_DFP8_IN_PASS3) && (MLA_DENSE_FP8_VAR & 32768)
#define MLA_DFP8_PASS2 1
// (31296 plus this build's session-12 bits 134217728, 268435456 and 2147483648; 1073741824 takes 4096 out of it)
#if MLA_DENSE_FP8_VAR & 134217728
#define MLA_DFP8_P2A 134217728
#else
#define MLA_DFP8_P2A 0
#endif
#if MLA_DENSE_FP8_VAR & 268435456
#define MLA_DFP8_P2B 268435456
#else
#define MLA_DFP8_P2B 0
#endif
#if MLA_DENSE_FP8_VAR & 1073741824
#define MLA_DFP8_P2D (1073741824 - 4096)
#else
#define MLA_DFP8_P2D 0
#endif
#if MLA_DENSE_FP8_VAR & 2147483648
#define MLA_DFP8_P2E 2147483648
#else
#define MLA_DFP8_P2E 0
#endif
#if (MLA_DENSE_FP8_VAR & 140737488355328) && !(MLA_DENSE_FP8_VAR & 281474976710656)
#define MLA_DFP8_P2F 140737488355328
#else
#define MLA_DFP8_P2F 0
#endif
// (bit 4503599627370496 hands the 16-byte Q^T fill to the second pass as 2251799813685248)
#if MLA_DENSE_FP8_VAR & 4503599627370496
#define MLA_DFP8_P2G 2251799813685248
#else
#define MLA_DFP8_P2G 0
#endif
// (bits 18014398509481984 / 36028797018963968 go to the second pass as themselves: only its n32 code reads them)
#if MLA_DENSE_FP8_VAR & 36028797018963968
#define MLA_DFP8_P2H (18014398509481984 + 36028797018963968)
#elif MLA_DENSE_FP8_VAR & 18014398509481984
#define MLA_DFP8_P2H 18014398509481984
#else
#define MLA_DFP8_P2H 0
#endif
// (bit 72057594037927936 goes to the second pass as itself, with the f16 score path's 35184372088832)
#if MLA_DENSE_FP8_VAR & 72057594037927936
#define MLA_DFP8_P2K (72057594037927936 + 35184372088832)
#else
#define MLA_DFP8_P2K 0
#endif
#undef MLA_DENSE_FP8_VAR
#define MLA_DENSE_FP8_VAR (31296 + MLA_DFP8_P2A + MLA_DFP8_P2B + MLA_DFP8_P2D + MLA_DFP8_P2E + MLA_DFP8_P2F + MLA_DFP8_P2G + MLA_DFP8_P2H + MLA_DFP8_P2K)
#undef MLA_DFP8_NS
#define MLA_DFP8_NS dfp8r
#undef MLA_DFP8_SC_NEXT
#include "dense_fp8_sm90.cu"
#elif !defined(MLA_DFP8_IN_PASS3)
extern "C" __global__ void __launch_bounds__(384, 1) mla_dense_fp8_sm90_v32_bf16_n32(const SparseMmaParams p) {
  if constexpr (mla::MLA_DFP8_NS::kAlt) mla::MLA_DFP8_NS::DenseFp8Alt<32>::run(p);
  else mla::MLA_DFP8_NS::DenseFp8<32>::run(p);
}
#endif
