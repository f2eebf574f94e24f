// Split-KV MLA decode for Hopper (sm_90a only): keys on the wgmma M dimension, keys by TMA. See
// docs/notes/cuda-hopper-decode.md.
//
// Built for sm_90a alone (scripts/build-kernels.mjs). One CTA per (SM part, KV head): one or two consumer
// warpgroups (all the math; see CW below) and a producer warp (one lane issues TMA tensor copies). The CTA takes
// every query row of the head at once (rows = sQ * hQ / hKv <= NR, NR in {16, 32}) and walks the work items of its
// part's scheduler metadata (src/core/scheduler.ts partWork). Shapes: hKv = 1, page 64 (launch.ts sm90Launch).
//
// With few query rows a 64-row query tile wastes most of the tensor cores, so both GEMMs are transposed:
//   S^T (64 keys x NR rows)  = K (64 x 576, A from shared memory, K-major SW128) . Q^T (B, shared memory)
//   O^T (512 x NR)          += V^T (8 slices of 64 value columns, A from shared memory, MN-major SW128) . P^T
// Warp w of the warpgroup owns keys 16w..16w+15 in S^T and value columns 64s + 16w..+16 of each slice s in O^T;
// both accumulators hold the same query-row columns in a thread (n = 8i + 2(lane%4) + {0,1}), so the softmax
// factors a thread needs are already its own. Row maxima meet across the 4 warps in shared memory once a tile.
//
// Keys: a 64-key tile is one 73,728-byte cache page (page 64, one KV head). The tensor map (encoded on the host,
// a __grid_constant__ parameter) sees the cache as a 2-D tensor {576 columns, numBlocks * 64 rows}; one copy is a
// 64 x 64 box (one 128-byte column chunk of 64 rows) with the 128-byte swizzle, which is exactly the canonical
// SW128 layout wgmma reads: K-major for S^T's A (chunk c = k 64c..64c+63), and, with the transpose bit,
// MN-major for O^T's A (chunk s = value columns 64s..64s+63 of 64 keys). A tile is 9 chunks. Chunks live in a
// ring of 8 KB slots (22-25: 2.4+ tiles in flight), each with a full mbarrier (TMA
// transaction bytes) and an empty one (4 consumer warps arrive), so the producer runs ahead across tiles and work
// items, limited only by free slots. Copies carry an evict-first L2 hint (each key is read once).
//
// Rows past the item's end inside the last page are loaded (the page exists) but may hold anything, NaN included:
// their scores are masked by selection, and their value rows are zeroed in shared memory before O^T (P = 0 there,
// but 0 * NaN = NaN). Pages past the end are never loaded. Results go to out/lse directly (unsplit request) or to
// the f32 partial rows that combine.cu merges, exactly as decode.cu does.
#include "params.h"
#include "common.cuh"
#include "sm90_narrow.cuh"
#include "hopper_ops.cuh" // (hop::bulkStoreRow and its group calls; this file keeps its own wgmma helpers)
#include "pdl.cuh"
#include <cuda.h>

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MLA_SM90A 1
#endif

namespace mla {
namespace sm90 {

// A timeline of each CTA for the harness's `trace` mode (bench/cuda/hopper/harness.cu), compiled only with
// MLA_SM90_TRACE: clock64 at fixed events into mlaTrace[blockIdx.x][kTraceSlots] (set with cudaMemcpyToSymbol;
// null: nothing recorded), %globaltimer at entry and at warpgroup 0's end to put the CTAs on one time axis. Slots:
// 0 entry, 1 metadata read, 2 / 3 the producer's first / last copy issued, 4 Q^T in (first item), 5 / 6 warpgroup
// 0 / 1 done, 8 + 40 w + 4 k + e for warpgroup w's k-th tile (k < 10): e = 0 its chunks in, 1 S^T done, 2 P^T
// ready, 3 O^T done; 88 / 89 warpgroup 0's row sums / merge done (last item: 88 + its stores, 7); 92 / 93 globaltimer
// at entry / warpgroup 0's end; 90 / 91 warpgroup 0 / 1's latest tile's O^T done (every tile, no limit: the CTA's last
// tile), 94 warpgroup 1's stores done (last item), 95 the SM's id (%smid, a value: the combine's stamps are put on
// the decode's time axis through the clock of the SM they ran on). The entry chain of the first item (session 19 h5,
// cycles within one CTA): 96 / 97 thread 0's Q^T range known / its Q^T copies issued, 98 the producer past the CTA
// barrier, 99 its first page and item length in (block table, seqlens), 100 its ninth copy issued (the first tile's
// last), 101 thread 0's own Q^T copies landed, 102 warpgroup 0's first tile's first chunk in, 103 its first S^T wgmma
// issued. Without the macro the events compile to nothing.
#ifdef MLA_SM90_TRACE
constexpr int kTraceSlots = 104;
__device__ unsigned long long* mlaTrace = nullptr;
__device__ __forceinline__ unsigned long long traceClock() { unsigned long long t; asm volatile("mov.u64 %0, %%clock64;\n" : "=l"(t)); return t; }
__device__ __forceinline__ unsigned long long traceGlobal() { unsigned long long t; asm volatile("mov.u64 %0, %%globaltimer;\n" : "=l"(t)); return t; }
#define MLA_TRACE(cond, slot) do { if ((cond) && mla::sm90::mlaTrace) mla::sm90::mlaTrace[blockIdx.x * mla::sm90::kTraceSlots + (slot)] = mla::sm90::traceClock(); } while (0)
#define MLA_TRACE_GLOBAL(cond, slot) do { if ((cond) && mla::sm90::mlaTrace) mla::sm90::mlaTrace[blockIdx.x * mla::sm90::kTraceSlots + (slot)] = mla::sm90::traceGlobal(); } while (0)
__device__ __forceinline__ unsigned long long traceSmId() { unsigned int s; asm volatile("mov.u32 %0, %%smid;\n" : "=r"(s)); return s; }
#define MLA_TRACE_SMID(cond, slot) do { if ((cond) && mla::sm90::mlaTrace) mla::sm90::mlaTrace[blockIdx.x * mla::sm90::kTraceSlots + (slot)] = mla::sm90::traceSmId(); } while (0)
#else
#define MLA_TRACE_SMID(cond, slot) do { } while (0)
#define MLA_TRACE(cond, slot) do { } while (0)
#define MLA_TRACE_GLOBAL(cond, slot) do { } while (0)
#endif

constexpr int kBN = 64;             // keys per tile (the wgmma M dimension) = one page
constexpr int kChunks = kDQk / 64;  // 9 column chunks of 64 elements (128 bytes) a tile
constexpr int kChunkBytes = kBN * 128;
// CW consumer warpgroups (1 or 2) and a producer: warp 4 alone (CW = 1), or warpgroup 2 (CW = 2; its warps 9-11
// idle: registers are allocated by warpgroup, so 288 threads would cost as much as 384). With CW = 2 the
// warpgroups take alternate tiles of an item, each with its own running maximum, sums and O^T, merged through
// shared memory at the item's end; the producer warpgroup gives registers back (setmaxnreg.dec 40) and the
// consumers take them (setmaxnreg.inc 232): without that, NR = 32 spills at the 168-register entry cap.
template <int CW> constexpr int threadsOf() { return CW == 1 ? 160 : 384; }

// Session 33 measurement switches (the defaults are the shipped ring): MLA_SM90_SLOTS16 / MLA_SM90_SLOTS32, the ring's
// slots of the two-warpgroup 16- / 32-row entries (the 32-row ring is what the shared memory leaves beside its 36 KB Q^T).
// Measured (H200, b=128, FlashMLA's 16 / 32-row rows under do_bench's protocol): the 16-row ring cut to 22 slots 0.998x
// the time, to 19 slots 1.004x: the ring's depth does not explain why 32 rows take longer than 16.
#ifndef MLA_SM90_SLOTS16
#define MLA_SM90_SLOTS16 25
#endif
#ifndef MLA_SM90_SLOTS32
#define MLA_SM90_SLOTS32 22
#endif
template <int NR, int CW> struct Layout {
  static constexpr int SLOTS = NR == 16 ? MLA_SM90_SLOTS16 : CW == 1 ? 23 : MLA_SM90_SLOTS32; // ring of 8 KB chunk slots
  static constexpr int Q_BYTES = NR * kDQk * 2;          // Q^T operand, canonical K-major core matrices
  static constexpr int P_BYTES = NR * kBN * 2;           // P^T operand, one per consumer warpgroup
  static constexpr int RED_BYTES = 4 * NR * 4;           // per-warp row maxima / sums, one per consumer warpgroup
  static constexpr int RING_OFF = 0;                     // from the 1024-aligned base
  static constexpr int Q_OFF = RING_OFF + SLOTS * kChunkBytes;
  static constexpr int P_OFF = Q_OFF + Q_BYTES;
  static constexpr int RED_OFF = P_OFF + CW * P_BYTES;
  static constexpr int ML_OFF = RED_OFF + CW * RED_BYTES; // row maxima of both warpgroups and 1's sums, for the merge
  static constexpr int BAR_OFF = ML_OFF + (CW - 1) * 3 * NR * 4; // full[SLOTS], empty[SLOTS], Q's, the exact paths' two
  static constexpr int SMEM = BAR_OFF + 16 * SLOTS + 32 + 1024; // + up to 1023 bytes to align the base
};

// A row's lse (natural log) from its sum l > 0 and the base-2 exponent reference m its exponentials were taken against.
__device__ __forceinline__ float lseOfRow(float m, float l) { return (m + log2f(l)) * 0.69314718055994531f; }
using narrow::canonOff; // Q^T's and P^T's canonical layout and its descriptor (sm90_narrow.cuh)
using narrow::descOf;
// SW128 descriptor of a 64-row (or 64-key) x 128-byte chunk written by TMA with the 128-byte swizzle: 8-row
// groups 1024 bytes apart. K-major (S^T's A) uses that as SBO and ignores LBO; MN-major (O^T's A, transposed)
// steps 8 keys by one of them and 64 M elements by the other, and with M = 64 only the 8-key step is taken, so
// both fields are 1024 and either reading is right. Layout type 1 (128-byte swizzle) in bits 62-63.
__device__ __forceinline__ uint64_t descSw128(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1024 >> 4) << 16) | (static_cast<uint64_t>(1024 >> 4) << 32) |
         (static_cast<uint64_t>(1) << 62);
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

// D (m64 x NR f32) (+)= A (m64 x k16, descriptor) . B (k16 x NR, descriptor); TA = 1: A is MN-major.
template <typename T, int NR, int TA> struct Wg;
#define MLA_WG_N16(TY, PT, TA)                                                                                          \
  template <> struct Wg<TY, 16, TA> {                                                                                   \
    static __device__ __forceinline__ void mma(float (&d)[8], uint64_t a, uint64_t b, int acc) {                       \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %10, 0;\nwgmma.mma_async.sync.aligned.m64n16k16.f32." PT "." PT " " \
                   "{%0,%1,%2,%3,%4,%5,%6,%7}, %8, %9, p, 1, 1, " #TA ", 0;\n}\n"                                        \
                   : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])  \
                   : "l"(a), "l"(b), "r"(acc));                                                                         \
    }                                                                                                                   \
  };
#define MLA_WG_N32(TY, PT, TA)                                                                                          \
  template <> struct Wg<TY, 32, TA> {                                                                                   \
    static __device__ __forceinline__ void mma(float (&d)[16], uint64_t a, uint64_t b, int acc) {                      \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\nwgmma.mma_async.sync.aligned.m64n32k16.f32." PT "." PT " " \
                   "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15}, %16, %17, p, 1, 1, " #TA ", 0;\n}\n"         \
                   : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
                     "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),        \
                     "+f"(d[15])                                                                                      \
                   : "l"(a), "l"(b), "r"(acc));                                                                         \
    }                                                                                                                   \
  };
MLA_WG_N16(__nv_bfloat16, "bf16", 0)
MLA_WG_N16(__nv_bfloat16, "bf16", 1)
MLA_WG_N16(__half, "f16", 0)
MLA_WG_N16(__half, "f16", 1)
MLA_WG_N32(__nv_bfloat16, "bf16", 0)
MLA_WG_N32(__nv_bfloat16, "bf16", 1)
MLA_WG_N32(__half, "f16", 0)
MLA_WG_N32(__half, "f16", 1)
#undef MLA_WG_N16
#undef MLA_WG_N32

__device__ __forceinline__ void mbarInit(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarArrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
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
// One 64 x 64 box (columns x0.., rows y0..) of the 2-D cache tensor into a 1024-aligned slot, evict-first.
__device__ __forceinline__ void tmaLoad(uint32_t dst, const CUtensorMap* tm, int x0, int y0, uint32_t bar, uint64_t policy) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(tm)), "r"(x0), "r"(y0), "r"(bar), "l"(policy)
               : "memory");
}
// kNVarQTma: one 64 x rows box of Q (2-D map {576, all query rows}, 128-byte swizzle), no cache hint (every part of
// a request reads the same Q).
__device__ __forceinline__ void tmaLoadQ(uint32_t dst, const CUtensorMap* tm, int x0, int y0, uint32_t bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(tm)), "r"(x0), "r"(y0), "r"(bar)
               : "memory");
}
// MLA_SM90_KV_EVICT_NORMAL (session 33, a measurement switch): the cache copies evict-normal instead of evict-first.
// Measured (H200, b=128 16 / 32 rows): 1.042x the time under do_bench's protocol, 1.134x back to back from graphs.
__device__ __forceinline__ uint64_t evictFirstPolicy() {
  uint64_t p;
#ifdef MLA_SM90_KV_EVICT_NORMAL
  asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(p));
#else
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(p));
#endif
  return p;
}
__device__ __forceinline__ void fenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// Named barriers: 1 + w among the 128 threads of consumer warpgroup w; 3 among all consumer threads (the producer
// never waits on either).
__device__ __forceinline__ void groupSync(int w) { asm volatile("bar.sync %0, 128;\n" ::"r"(1 + w) : "memory"); }
// kNVarLazy: groupSync that also returns whether v holds in every thread of the warpgroup.
__device__ __forceinline__ bool groupAll(int w, bool v) {
  int r;
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %1, 0;\nbar.red.and.pred p, %2, 128, p;\nselp.s32 %0, 1, 0, p;\n}\n" : "=r"(r) : "r"(static_cast<int>(v)), "r"(1 + w) : "memory");
  return r != 0;
}
template <int CW> __device__ __forceinline__ void consumersSync() { asm volatile("bar.sync 3, %0;\n" ::"n"(128 * CW) : "memory"); }
#endif

// What both roles derive from one work item, identically (so their slot sequences agree).
struct Item {
  int seqlen, kBegin, kEnd, qStart, qLen, liveRows, tileEnd, nTiles;
};
__device__ __forceinline__ Item itemOf(const MlaParams& p, const int* meta, int batch, int beginIdx, int endIdx) {
  Item it;
  it.seqlen = p.cacheSeqlens[batch];
  it.kBegin = batch == beginIdx ? meta[kMetaBeginSeqlen] : 0;
  it.kEnd = batch == endIdx ? meta[kMetaEndSeqlen] : it.seqlen;
  queryRange(p, batch, it.qStart, it.qLen);
  it.liveRows = min(p.rows, it.qLen * p.nGroups);
  it.tileEnd = it.liveRows > 0 ? min(it.kEnd, visibleKeys(p, it.seqlen, it.qLen, (it.liveRows - 1) / p.nGroups)) : 0;
  it.nTiles = it.liveRows > 0 && it.tileEnd > it.kBegin ? (it.tileEnd - it.kBegin + kBN - 1) / kBN : 0;
  return it;
}

// TRIG: where the CTA lets a programmatic dependent (the combine, pdl.cuh) be scheduled: 0 never, i.e. as the CTAs
// exit (the library's since session 37), 2 once its last item's tiles are done (sessions 9-36: with PDL, the merge's
// CTAs were then scheduled while the decode's last CTAs still ran, 3-7 % slower on long split calls), 1 at entry (the
// harness's _early entries: measured slower at b = 1, the combine's CTAs then crowd the few SMs whose parts had no work).
// VAR (the library's two-warpgroup entries: kNLibVar; the harness times the others beside them): bit 1 (kNVarQEarly,
// shipped since session 9: 2-7 % faster at s_k 1024 and b = 1, level at s_k 8192) the consumers issue the first
// item's Q^T copies right after the metadata read, before the CTA barrier the producer's first tile copy follows (so
// Q is ahead of the CTA's ~200 KB first burst in the memory system), instead of after the item's length is read.
// Measured and removed in session 9 (docs/notes/cuda-hopper-decode.md, "Session 9"): the same copies issued right
// after the CTA barrier (the producer starts 1.9 us sooner, but Q then lands behind its burst: 1.5 % slower), the
// producer waiting for the first tile before it fills the rest of the ring (level or slower), and the output rows
// staged through shared memory for 16-byte stores (b=1 +1.5 us, s_k 1024 +1.6 us).
// Bit 2 (kNVarSplitOut; shipped since session 10: +0.5 % geomean over the six b = 128 rows of the harness A/B, +0.6 to
// +1.2 % at 32 rows, level at 16 rows and b = 1, H200, 2026-11-30): the item's merge
// leaves half of the O^T slices in each warpgroup (two slices each way a round, both sums merged in both) and both
// warpgroups store their half, instead of warpgroup 1 handing all eight slices to warpgroup 0, which then stores
// them alone (the trace: 3.3 us of stores after a 3.1 us merge at b=128 s_k 1024).
// Bit 16 (kNVarFuse; harness candidate of session 9's second round, NOT yet run; the harness launches no combine
// after it): the merge of a split request's partials moves into this kernel. After its last item, each part counts
// the split partials it wrote (at most two: its first and last item) on the requests' counters (mlaSm90FuseCount,
// a harness-only global; after a fence by every storing thread), then, for each, waits (thread 0 spins on an
// acquire load) until all splits are counted and merges its own slice of the request's output (1 / nSplit of the
// rows x 128 float4 columns, the splits spread over the 256 consumer threads and summed through shared memory),
// writing the output and the lse. The second count of the last part to pass resets the counter to 0 for the next
// call. Every part counts before it waits, and the item loop is x1's unchanged; it needs every part of the grid
// resident at once (one CTA an SM, numSmParts <= the SM count; the library would need a cooperative launch). At
// b = 1 this replaces the combine launch (5.5 us back to back, four dependent round trips) by a spin and ~2 round
// trips.
// Bit 4 (kNVarEntryPre; session 18 h3, a library-visible build variant: -DMLA_SM90_LIB_VAR=7, not shipped): the
// first copy of a part still follows the consumers' first Q^T copies (the CTA barrier, as bit 1 wants), but no longer
// a dependent read after them: (a) the producer thread reads its first item's page and length (block table, seqlens)
// before the CTA barrier, beside the consumers' Q^T issue, instead of after it; (b) Q^T's copies are issued as 64
// bytes of each of 8 rows a warp instruction (8 cache lines) instead of 32 bytes of each of 16 rows (16 lines), without
// the division by nGroups where an item's rows are consecutive in q (hQ == nGroups: one KV head). Session 9's x9 (Q^T after the
// barrier, the producer not held) is not this: there Q^T landed behind the grid's first burst.
// Bit 8 (kNVarQTma; session 19 h5, shipped after call D2: x11/lib 0.896 at b=1 s_k 32768 back to back, 0.990 at b=128
// s_k 1024; the library's entries take a second tensor map, of Q: launch.ts sm90QMap): the first item's
// Q^T comes by nine TMA boxes (64 columns x NR rows, 128-byte swizzle: the SW128 K-major layout, as the cache's
// chunks) that the producer thread issues on its own mbarrier (past the ring's, in the layout's alignment slack)
// right after the metadata read, before the CTA barrier and its first KV copy; the consumers issue no Q^T copy
// before the barrier and wait on that mbarrier at the first item. Later items' Q^T: the consumers' cp.async as
// before, placed in the swizzled layout. S^T's B descriptor is SW128 for every item. Rows past the item's rows are
// the next request's (or zeros past the tensor): their columns are never stored and never meet a live column.
constexpr int kNVarQEarly = 1, kNVarSplitOut = 2, kNVarEntryPre = 4, kNVarQTma = 8;
// Bit 64 (kNVarLazy; session 21 n1, shipped: the library's bits are 75 since then, its _ld entries' 67): the lazy
// reference maximum (decode_sm90_wide.cu's kVarBLazyA / B, shipped there in session 20). Here a row's 64 keys of a tile
// are spread over the warpgroup's 4 warps (keys on M), so the vote is warpgroup-wide, and it is the barrier the tile
// already passes (bar.red.and where the exact path has bar.sync): every thread tests its own masked, scaled scores
// against its rows' running maxima, s <= mRow + kNLazyTau. Where every thread's test holds, mRow stays the exponent
// reference: no quad shuffles, no maxima through shared memory, no second barrier, no factor exponential and no O^T /
// sum rescale (the factor is exactly 1). Else the exact path (the tile's maxima, the rescale) as without the bit.
// P is then at most 2^kNLazyTau (256: bf16 / f16 hold it; the sums and O^T are f32); the warpgroups' merge and the
// stores read mRow as the reference the sums were taken against (lse = mRow + log2 l holds for any reference). The
// exponent base is max(mRow, -FLT_MAX): a row without a visible key so far (mRow = -inf) votes lazy on a tile of -inf
// scores and gets P = 2^-inf = 0, as before; a NaN or +inf score fails the test (the exact path's values).
constexpr int kNVarLazy = 64;
constexpr float kNLazyTau = 8.f;
// Bit 128 (kNVarPRel; session 33, a candidate): O^T's eight slices as eight wgmma groups, and each value chunk's slot
// handed back as soon as its slice's group has finished (wait_group 7 .. 0), instead of all eight after the last: the
// ring's free slots grow by up to a P V's duration earlier a tile (the producer runs further ahead). Measured (H200,
// b=128 16 / 32 rows, docs/notes/cuda-hopper-decode.md "Session 33"): 0.996x the time under do_bench's protocol, 1.001x
// from graphs; kept off (the rule asked 0.990).
constexpr int kNVarPRel = 128;
// Bit 256 (kNVarStOut; session 33, a candidate): an unsplit item's output rows of one KV head (hQ == nGroups: the item's
// rows are consecutive rows of out, one contiguous block) go through shared memory: after the merge each thread writes
// its bf16 / f16 values into Q^T's region (free by then) as rows of kStRow bytes (1024 + 16: the 4 rows a warp writes at
// once fall on different banks), and lane r of warpgroup 0's warp 0 sends row r out with one 1-KB bulk copy, instead of
// every thread storing 2-byte values to global memory (64 a thread at 32 rows, each warp store 4 half-sectors). The
// issuing lanes wait for their copies' reads before a consumer-wide barrier, after which the next item may write Q^T.
// Elsewhere (a split item, hKv > 1, out not 16-byte aligned) the stores as without the bit. Measured (H200, b=128 16 /
// 32 rows): 0.999x the time under do_bench's protocol, 1.0065x from graphs; traced, its item end takes as many cycles as
// the 2-byte stores' (~3000 / ~5900 at 16 / 32 rows): kept off. (Its code was folded into kNVarStMat's block after the
// measurement: the row scales and lse first, then the 2-byte stores; not re-measured.)
constexpr int kNVarStOut = 256;
constexpr int kStRow = 1040;
// Bit 512 (kNVarStMat; session 33, a candidate): kNVarStOut's staged rows and bulk copies with a short epilogue. Call 4's
// ncu found the 32-row entry's item end waiting on instruction fetch (no_instructions: 13 % of all samples, on the
// store code's lines; 2 % at 16 rows): the end runs once an item, cold in the instruction cache, and its code, unrolled
// over a thread's rows, slices and the warpgroup test, is ~2000 instructions at 32 rows. Here a warpgroup's four
// slices are selected (no branch), each row's scale is applied and two values packed into one bf16x2 / f16x2
// register, and `stmatrix .trans` writes four 8 x 8 blocks (two row groups x two 8-column halves) of output rows an
// instruction into the staged rows: 8 a thread at 32 rows instead of 64 two-byte stores. Measured (H200, b=128 16 / 32
// rows): correct, 0.997x the time under do_bench's protocol, 0.9985x from graphs; the traced end 5032 cycles at 32 rows
// (from ~5840): kept off (docs/notes/cuda-hopper-decode.md, "Session 33").
constexpr int kNVarStMat = 1 << 9;
// Bit 1024 (kNVarCEnd; session 34, shipped): the item's output and lse stores as short straight-line code. Call 4
// of session 33, read by SASS segment: at 32 rows the default store loop is eight row blocks, each with the row's scalar
// work (out index with a division by nGroups, an IEEE 1 / l with its slow-path branches, the lse) beside a never-taken
// copy of the split path's stores (61 instructions) and a branch per slice for the warpgroup's half; the no_instructions
// samples grow from the first row block to the last (5-15 to 40-85 a block), where the 16-row loop's four blocks show
// almost none. Here the row scalars are worked out once (one lane a row) and shuffled, the warpgroup's half is
// selected into o[0..3] before the loop, and the unsplit and split stores are separate loops. The same output bits
// (bench/cuda/hopper/dense-sm90-bitexact.ts: 67 / 67 cases identical). Measured (H200, session 34 calls 1-2, the
// library's time with it over without, 13 shapes: FlashMLA's nine b=128 16 / 32-row rows, b=1 s_k 32768, three small
// batches): 0.987 / 0.987 under do_bench's protocol, 0.988 / 0.983 from graphs (small batches 0.97, the 32-row rows at
// s_k 1024 0.98); the traced end 5800 -> 4300 cycles at 32 rows, 3000 -> 2300 at 16. With kNVarStMat as well (bits
// 1611: its stmatrix staging after CE's selects) the end fell to ~3200 cycles at 32 rows but the time by < 0.1 %: off.
constexpr int kNVarCEnd = 1 << 10;
template <int V> struct IntC { static constexpr int value = V; }; // (kNVarStMat: a slice offset as a type)
// Bit 32 (kNVarEx2Ftz, the exponentials as ex2.approx.ftz.f32: session 12 round 4) was measured 0.971x at b 128
// s_k 8192 in session 13's call A and removed in session 14 (docs/notes/cuda-hopper-decode.md, "Session 13 call A").
#ifdef MLA_SM90_VARIANTS
constexpr int kNVarFuse = 16;
constexpr int kFuseMaxB = 4096;
__device__ unsigned mlaSm90FuseCount[kFuseMaxB]; // zero at module load; each request's is reset by its last part
#endif
// Bit 2048 (kNVarCluster; session 64, a harness candidate, 16-row entry only; measured 2-3 us SLOWER than the library's
// entry with its combine at every b = 1 length on the H100, not shipped: docs/notes/cuda-hopper-decode.md "Session 64"): the split merge moves into the decode
// through thread-block clusters of kClusterN CTAs. Launched with a cluster dimension of kClusterN on x and a plan whose
// parts each hold exactly one piece of one request, part k the request's piece k (so a cluster's CTAs hold pieces
// kClusterN c .. + kClusterN - 1 of one request), and whose requests are each in a multiple of kClusterN pieces
// (bench/cuda/hopper/harness.cu clusterPlan). At its item's end a CTA stages its normalized rows (f32) and their lse in
// its own ring (free: every tile is consumed); after a cluster barrier, CTA rank r merges columns 64 r .. 64 r + 63 of
// every row over the cluster's pieces, reading its peers' rows through distributed shared memory (ld.shared::cluster),
// then a second cluster barrier lets each CTA leave. A request in one cluster is then done: rank r stores its
// columns of out (and rank 0 the lse). Otherwise rank r stores its columns of the cluster's merged row as partial
// slot numSplits[i] + c, counts it on the request's counter of rank r (mlaSm90ClusterCount, after a fence), and the
// last of the request's clusters to count merges those columns of every cluster's partial into out: the merge is
// spread over kClusterN CTAs, and no second kernel runs. Counters are zero at module load and reset by their last
// counter, so back-to-back calls on one stream reuse them (calls on two streams at once would not: a candidate only).
constexpr int kNVarCluster = 1 << 11;
#if defined(MLA_SM90_VARIANTS)
// Bit 4096 (kNVarClusterPart, with kNVarCluster; measurement): the clusters' merged rows are always stored as partial
// slots 0 .. G - 1 of the request and nothing is counted: the harness merges them with the combine kernel (numSplits
// [0, G]), which separates the cost of the second kernel from that of the merge's size.
constexpr int kNVarClusterPart = 1 << 12;
constexpr int kClusterN = 8;
constexpr int kClusterMaxB = 64;      // requests the counters cover
constexpr int kClusterMaxGroups = 16; // clusters a request may span (the final merge's loads in flight)
__device__ unsigned mlaSm90ClusterCount[kClusterMaxB * kClusterN];
#endif
// The library's two-warpgroup entries: MLA_SM90_LIB_VAR (a harness A/B build) or the shipped bits (1 | 2 | 8 since
// session 19: Q^T by TMA shipped by call D2's rule; the entries then take the Q map as a third parameter; | 64 since
// session 21: kNVarLazy, shipped by the s21_n1 slot's rule, docs/notes/cuda-hopper-decode.md "Session 21 (n1)"; | 1024
// since session 34: kNVarCEnd, shipped by call 2's rule, the note's "Session 34").
#ifndef MLA_SM90_LIB_VAR
#define MLA_SM90_LIB_VAR 1099
#endif
constexpr int kNLibVar = MLA_SM90_LIB_VAR;
// The library's fallback entries (_ld): the same bits without kNVarQTma (Q^T by the consumers' cp.async, two
// parameters), for a call whose Q map cannot be made (launch.ts sm90QMap: fewer query rows in q than the box).
constexpr int kNLibVarLd = kNLibVar & ~kNVarQTma;
#ifdef MLA_SM90A
// kNVarCluster's loads from a peer's shared memory (its rank, peer addresses and barrier: hopper_ops.cuh).
__device__ __forceinline__ float clLoad(uint32_t a) {
  float v;
  asm volatile("ld.shared::cluster.f32 %0, [%1];\n" : "=f"(v) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ float4 clLoad4(uint32_t a) {
  float4 v;
  asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(a) : "memory");
  return v;
}
#endif
template <typename T, int NR, int CW, int TRIG = 0, int VAR = 0>
struct DecodeT {
  using L = Layout<NR, CW>;
  using H = Half<T>;
  static constexpr int NI = NR / 8; // 8-column groups of the accumulators
  static constexpr int S = L::SLOTS;

  // Q^T of an item into its canonical layout, as cp.async copies of this consumer thread (committed, not waited).
  static __device__ __forceinline__ void loadQ(const MlaParams& p, unsigned char* sq, int g, int qStart, int liveRows) {
#ifdef MLA_SM90A
    const T* q = static_cast<const T*>(p.q);
    if constexpr ((VAR & kNVarQTma) != 0) {
      // The SW128 K-major layout (kNVarQTma): 128-byte column chunk ch / 8 of row r at (ch / 8) NR 128 + 128 r, its
      // 16-byte unit ch % 8 at position (ch % 8) ^ (r % 8).
      for (int c = threadIdx.x; c < NR * (kDQk / 8); c += 128 * CW) {
        const int r = c % NR, ch = c / NR;
        const bool live = r < liveRows;
        const int j = live ? r / p.nGroups : 0, h = g * p.nGroups + (r - j * p.nGroups);
        cpAsync16(sq + (ch >> 3) * NR * 128 + r * 128 + (((ch & 7) ^ (r & 7)) << 4), live ? q + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk + ch * 8 : q, live ? 16 : 0);
      }
    } else if constexpr ((VAR & kNVarEntryPre) != 0) {
      // Chunk c: column chunk 4 (c / 4NR) + c % 4 of row (c / 4) % NR, so a warp copies 64 bytes of each of 8 rows
      // (and writes 4 runs of 8 rows x 16 bytes, 128 contiguous bytes each, into the canonical layout).
      if (p.hQ == p.nGroups) { // one KV head (g = 0): row r of the item is q's row qStart * hQ + r
        const T* q0 = q + (static_cast<int64_t>(qStart) * p.hQ + g * p.nGroups) * kDQk;
        for (unsigned c = threadIdx.x; c < NR * (kDQk / 8); c += 128 * CW) {
          const int r = (c >> 2) % NR, ch = (c / (4 * NR)) * 4 + (c & 3);
          const bool live = r < liveRows;
          cpAsync16(sq + canonOff<NR>(r, ch * 8), live ? q0 + r * kDQk + ch * 8 : q, live ? 16 : 0);
        }
      } else {
        for (int c = threadIdx.x; c < NR * (kDQk / 8); c += 128 * CW) {
          const int r = (c >> 2) % NR, ch = (c / (4 * NR)) * 4 + (c & 3);
          const bool live = r < liveRows;
          const int j = live ? r / p.nGroups : 0, h = g * p.nGroups + (r - j * p.nGroups);
          cpAsync16(sq + canonOff<NR>(r, ch * 8), live ? q + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk + ch * 8 : q, live ? 16 : 0);
        }
      }
    } else {
      for (int c = threadIdx.x; c < NR * (kDQk / 8); c += 128 * CW) {
        const int r = c % NR, ch = c / NR;
        const bool live = r < liveRows;
        const int j = live ? r / p.nGroups : 0, h = g * p.nGroups + (r - j * p.nGroups);
        cpAsync16(sq + canonOff<NR>(r, ch * 8), live ? q + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDQk + ch * 8 : q, live ? 16 : 0);
      }
    }
    cpAsyncCommit();
#endif
  }

  // kNVarCEnd: warpgroup 1's slices 4-7 into o[0..3] by selects (no branch), so both warpgroups store o[0..3], each at
  // its own 256 columns.
  static __device__ __forceinline__ void halfToLow(float (&o)[8][NI][4], int wg) {
#pragma unroll
    for (int s = 0; s < 4; ++s)
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[s][i][e] = wg != 0 ? o[4 + s][i][e] : o[s][i][e];
  }
  // kNVarCEnd: lane 4 q + tq (q < 2 NI) takes its quad's row r = 8 (q / 2) + 2 tq + q % 2 (rows of this thread: 8 i + 2 tq
  // + b, i.e. q = 2 i + b), its sum l and reference m (selects), so each row's scalar work is done once, by one lane.
  static __device__ __forceinline__ void rowOfLane(const float (&lRow)[NI][2], const float (&mRow)[NI][2], int gq, int tq, float& l, float& m, int& r) {
    l = 0.f, m = 0.f;
#pragma unroll
    for (int i = 0; i < NI; ++i)
#pragma unroll
      for (int b = 0; b < 2; ++b)
        if (gq == 2 * i + b) l = lRow[i][b], m = mRow[i][b];
    r = 8 * (gq >> 1) + 2 * tq + (gq & 1);
  }

#if defined(MLA_SM90_VARIANTS) && defined(MLA_SM90A)
  // kNVarFuse: the merge phase after the item loop (all 128 * CW consumer threads; see the bit's comment).
  // Everything is re-derived from p and the block index. Inlined into the n32 entry it makes ptxas serialize the
  // loop's wgmma and spill 540 bytes (nvcc 13, whatever the merge's own unroll), so n32 calls it (fuseMergeCall:
  // ~76 bytes of spill stores, the call's register saves) and n16 inlines it (0 spills).
  static __device__ __forceinline__ void fuseMerge(const MlaParams& p) {
    constexpr int NT = 128 * CW;
    const int t = threadIdx.x, lane = t % 32, cw = t / 32, g = blockIdx.y;
    const int* const meta = p.tileSchedulerMetadata + blockIdx.x * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    extern __shared__ __align__(1024) unsigned char smemRaw[];
    const uint32_t rawAddr = smemAddr(smemRaw);
    unsigned char* const scratch = smemRaw + (((rawAddr + 1023u) & ~1023u) - rawAddr) + L::RING_OFF; // the ring: every tile is consumed
    float* const rowLse = reinterpret_cast<float*>(scratch);       // [32] the slice's rows' merged lse
    float4* const part = reinterpret_cast<float4*>(scratch + 256); // [NT] per-thread sums, when splits are spread
    if (beginIdx > endIdx) return; // no work: no split to count or merge
    // The counts: this part's split partials (of its first and its last item, the only ones that can be splits)
    // are stored; every consumer thread fences its stores, then thread 0 counts each split once.
    __threadfence();
    consumersSync<CW>();
    if (t == 0)
      for (int pass = 0; pass < (endIdx == beginIdx ? 1 : 2); ++pass) {
        const int batch = pass == 0 ? beginIdx : endIdx;
        if (p.numSplits[batch + 1] - p.numSplits[batch] > 1) atomicAdd(&mlaSm90FuseCount[batch], 1u);
      }
    for (int pass = 0; pass < (endIdx == beginIdx ? 1 : 2); ++pass) {
      const int batch = pass == 0 ? beginIdx : endIdx;
      const int first = p.numSplits[batch], nSplit = p.numSplits[batch + 1] - first;
      if (nSplit <= 1) continue; // CTA-uniform
      const int k = batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0; // this part's split of the request
      int qStart, qLen;
      queryRange(p, batch, qStart, qLen);
      const int rowsR = min(p.rows, qLen * p.nGroups);
      unsigned* const cnt = &mlaSm90FuseCount[batch];
      if (t == 0) {
        unsigned v, spins = 0;
        while (true) {
          asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(cnt) : "memory");
          if (v >= static_cast<unsigned>(nSplit)) break;
          __nanosleep(32);
          if (++spins > (1u << 25)) __trap(); // a part never came (not co-resident): fail loudly, not hang
        }
        __threadfence();
        // The second count: the last part past its wait resets the counter (every part has read it by then).
        if (atomicAdd(cnt, 1u) == 2u * nSplit - 1u) atomicExch(cnt, 0u);
      }
      consumersSync<CW>();
      const int U = rowsR * (kDV / 4), u0 = k * U / nSplit, u1 = (k + 1) * U / nSplit, nu = u1 - u0;
      if (nu <= 0) { consumersSync<CW>(); continue; }
      const int r0 = u0 / (kDV / 4), r1 = (u1 - 1) / (kDV / 4);
      const int64_t slotStride = static_cast<int64_t>(p.sQ) * p.hQ;
      auto rowOf = [&](int r, int& j, int& h) { j = r / p.nGroups; h = g * p.nGroups + (r - j * p.nGroups); };
      // The slice's rows' lse over the splits (a warp a row): max, then the sum (as combine.cu).
      for (int r = r0 + cw; r <= r1; r += NT / 32) {
        int j, h;
        rowOf(r, j, h);
        const float* lr = p.lseAccum + (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
        float v[4]; // splits lane + 32 q, loaded once (one round trip up to 128 splits)
#pragma unroll
        for (int q = 0; q < 4; ++q) v[q] = lane + 32 * q < nSplit ? __ldcg(lr + (lane + 32 * q) * slotStride) : -INFINITY;
        float mx = fmaxNaN(fmaxNaN(v[0], v[1]), fmaxNaN(v[2], v[3])); // (a NaN piece makes the row NaN: common.cuh)
        for (int s = lane + 128; s < nSplit; s += 32) mx = fmaxNaN(mx, __ldcg(lr + s * slotStride));
        mx = warpMaxNaN(mx);
        float sum = 0.f;
        if (mx != -INFINITY) {
#pragma unroll
          for (int q = 0; q < 4; ++q) sum += __expf(v[q] - mx); // -inf: 0
          for (int s = lane + 128; s < nSplit; s += 32) sum += __expf(__ldcg(lr + s * slotStride) - mx);
        }
        sum = warpSum(sum);
        if (lane == 0) rowLse[r - r0] = mx == -INFINITY ? INFINITY : mx + __logf(sum);
      }
      consumersSync<CW>();
      const int G = nu >= NT ? 1 : NT / nu; // split groups: thread (grp, u) sums splits grp, grp + G, ...
      const int grp = nu >= NT ? 0 : t / nu;
      using T2 = typename H::T2;
      auto store = [&](int u, float4 acc) {
        const int r = (u0 + u) / (kDV / 4), c4 = (u0 + u) % (kDV / 4);
        int j, h;
        rowOf(r, j, h);
        T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + c4 * 4;
        reinterpret_cast<T2*>(out)[0] = H::pack(acc.x, acc.y);
        reinterpret_cast<T2*>(out)[1] = H::pack(acc.z, acc.w);
        if (c4 == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = rowLse[r - r0];
      };
      if (grp < G)
        for (int u = nu >= NT ? t : t % nu; u < nu; u += nu >= NT ? NT : nu) {
          const int r = (u0 + u) / (kDV / 4), c4 = (u0 + u) % (kDV / 4);
          int j, h;
          rowOf(r, j, h);
          const float lse = rowLse[r - r0];
          const int64_t row0 = (static_cast<int64_t>(first) * p.sQ + j) * p.hQ + h;
          float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
          if (lse != INFINITY) {
#pragma unroll 8
            for (int s = grp; s < nSplit; s += G) { // loads first, selection by weight after (an empty split may be NaN)
              const int64_t row = row0 + s * slotStride;
              const float4 x = __ldcg(reinterpret_cast<const float4*>(p.oAccum + row * kDV) + c4);
              const float w = __expf(__ldcg(p.lseAccum + row) - lse);
              if (w != 0.f) { acc.x += w * x.x; acc.y += w * x.y; acc.z += w * x.z; acc.w += w * x.w; }
            }
          }
          if (G == 1) store(u, acc);
          else part[grp * nu + u] = acc;
        }
      if (G > 1) {
        consumersSync<CW>();
        if (t < nu) {
          float4 acc = part[t];
          for (int q = 1; q < G; ++q) {
            const float4 x = part[q * nu + t];
            acc.x += x.x; acc.y += x.y; acc.z += x.z; acc.w += x.w;
          }
          store(t, acc);
        }
      }
      consumersSync<CW>(); // scratch is reused by the next pass
    }
  }
  static __device__ __noinline__ void fuseMergeCall(const MlaParams& p) { fuseMerge(p); }
#endif

#if defined(MLA_SM90_VARIANTS) && defined(MLA_SM90A)
  // kNVarCluster: N pieces' normalized values x (one float4 each) and lse l (natural log; -inf: a piece without a key)
  // merged into o (zeros in, zeros out where no piece has a key); returns the merged lse. A piece of weight 0 adds
  // nothing (its values may be anything).
  template <int N> static __device__ __forceinline__ float mergePieces(const float (&l)[N], const float4 (&x)[N], float4& o) {
    float m = l[0];
#pragma unroll
    for (int q = 1; q < N; ++q) m = fmaxf(m, l[q]);
    if (m == -INFINITY) return -INFINITY;
    float w[N], s = 0.f;
#pragma unroll
    for (int q = 0; q < N; ++q) w[q] = __expf(l[q] - m), s += w[q];
    const float inv = 1.f / s;
#pragma unroll
    for (int q = 0; q < N; ++q) {
      const float wq = w[q] * inv;
      if (wq != 0.f) o.x += wq * x[q].x, o.y += wq * x[q].y, o.z += wq * x[q].z, o.w += wq * x[q].w;
    }
    return m + __logf(s);
  }
  // kNVarCluster: the merge after the item loop, by the 128 CW consumer threads of every CTA of the cluster (see the
  // bit's comment). `smem` is the aligned base: its ring holds this CTA's staged rows [NR][kDV] and their lse [NR].
  // Thread t takes row t / 16 and the float4 t % 16 of this rank's 64 columns.
  static __device__ __forceinline__ void clusterMerge(const MlaParams& p, unsigned char* smem) {
    static_assert(NR == 16 && CW == 2 && (VAR & kNVarCEnd) != 0 && (VAR & kNVarSplitOut) != 0, "kNVarCluster: the 16-row two-warpgroup entry, its rows staged by the kNVarCEnd stores");
    const int t = threadIdx.x, r = t / 16, c4 = t % 16, g = blockIdx.y;
    const uint32_t rank = hop::clusterRank();
    float* const buf = reinterpret_cast<float*>(smem + L::RING_OFF);
    const uint32_t bufA = smemAddr(buf);
    const int* const meta = p.tileSchedulerMetadata + blockIdx.x * kMetaFields;
    const int batch = meta[kMetaBeginIdx];
    const bool work = batch <= meta[kMetaEndIdx];
    int qStart = 0, qLen = 0;
    if (work) queryRange(p, batch, qStart, qLen);
    const int liveRows = work ? min(p.rows, qLen * p.nGroups) : 0;
    const bool mine = r < liveRows; // (CTA-uniform liveRows: every CTA of the cluster holds the same request)
    const int col = 64 * static_cast<int>(rank) + 4 * c4;
    hop::clusterSync(); // every CTA's rows staged
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    float lseC = -INFINITY;
    if (mine) {
      float l[kClusterN];
      float4 x[kClusterN];
#pragma unroll
      for (int q = 0; q < kClusterN; ++q) {
        l[q] = clLoad(hop::peerAddr(bufA + (NR * kDV + r) * 4, q));
        x[q] = clLoad4(hop::peerAddr(bufA + (r * kDV + col) * 4, q));
      }
      lseC = mergePieces(l, x, acc);
    }
    hop::clusterSync(); // every peer's reads done: from here a CTA may leave, its shared memory with it
    if (liveRows <= 0) return; // (CTA-uniform)
    const int nPieces = p.numSplits[batch + 1] - p.numSplits[batch];
    const int groups = nPieces / kClusterN, cIdx = meta[kMetaBeginNSplitIdx] / kClusterN;
    const int j = r / p.nGroups, h = g * p.nGroups + (r - j * p.nGroups);
    auto storeOut = [&](float4 v, float lse) {
      T* const out = static_cast<T*>(p.out) + (static_cast<int64_t>(qStart + j) * p.hQ + h) * kDV + col;
      using T2 = typename H::T2;
      reinterpret_cast<T2*>(out)[0] = H::pack(v.x, v.y);
      reinterpret_cast<T2*>(out)[1] = H::pack(v.z, v.w);
      if (rank == 0 && c4 == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse == -INFINITY ? INFINITY : lse;
    };
    if (groups <= 1 && (VAR & kNVarClusterPart) == 0) { // the request is this cluster's alone
      if (mine) storeOut(acc, lseC);
      return;
    }
    // The cluster's merged row as partial slot numSplits[i] + c: this rank's columns, and the lse (every rank writes
    // the same value, so each rank's final merger finds every cluster's lse among the stores it has counted).
    const int64_t slot0 = static_cast<int64_t>(p.numSplits[batch]) * p.sQ;
    if (mine) {
      const int64_t row = (slot0 + static_cast<int64_t>(cIdx) * p.sQ + j) * p.hQ + h;
      *reinterpret_cast<float4*>(p.oAccum + row * kDV + col) = acc;
      if (c4 == 0) p.lseAccum[row] = lseC;
    }
    if constexpr ((VAR & kNVarClusterPart) != 0) return;
    __threadfence();
    consumersSync<CW>();
    int* const flag = reinterpret_cast<int*>(buf); // (this CTA's own ring: no peer reads it any more)
    if (t == 0) {
      unsigned* const ctr = mlaSm90ClusterCount + batch * kClusterN + rank;
      const unsigned old = atomicAdd(ctr, 1u);
      const bool last = old == static_cast<unsigned>(groups - 1);
      if (last) atomicExch(ctr, 0u); // for the next call
      *flag = last;
    }
    consumersSync<CW>();
    if (*flag == 0) return;
    __threadfence();
    if (!mine) return;
    float l[kClusterMaxGroups];
    float4 x[kClusterMaxGroups];
#pragma unroll
    for (int c = 0; c < kClusterMaxGroups; ++c) {
      if (c < groups) {
        const int64_t row = (slot0 + static_cast<int64_t>(c) * p.sQ + j) * p.hQ + h;
        l[c] = __ldcg(p.lseAccum + row);
        x[c] = __ldcg(reinterpret_cast<const float4*>(p.oAccum + row * kDV + col));
      } else {
        l[c] = -INFINITY;
        x[c] = make_float4(0.f, 0.f, 0.f, 0.f);
      }
    }
    float4 o = make_float4(0.f, 0.f, 0.f, 0.f);
    const float lse = mergePieces(l, x, o);
    storeOut(o, lse);
  }
#endif

  static __device__ void run(const MlaParams& p, const CUtensorMap* tm, const CUtensorMap* qMap = nullptr) {
#ifdef MLA_SM90A
    extern __shared__ __align__(1024) unsigned char smemRaw[];
    const uint32_t rawAddr = smemAddr(smemRaw);
    unsigned char* const smem = smemRaw + (((rawAddr + 1023u) & ~1023u) - rawAddr);
    unsigned char* const sq = smem + L::Q_OFF;
    const uint32_t ring = smemAddr(smem + L::RING_OFF), qBase = smemAddr(sq);
    const uint32_t fullBar = smemAddr(smem + L::BAR_OFF), emptyBar = fullBar + 8 * S;
    const int part = blockIdx.x, g = blockIdx.y;
    const int lane = threadIdx.x % 32, gq = lane / 4, tq = lane % 4;
    const int wg = threadIdx.x / 128;         // consumer warpgroup (CW: the producer)
    const int tid = threadIdx.x % 128, warp = tid / 32; // within the warpgroup
    MLA_TRACE_GLOBAL(threadIdx.x == 0, 92);
    MLA_TRACE(threadIdx.x == 0, 0);
    MLA_TRACE_SMID(threadIdx.x == 0, 95);
    if (threadIdx.x == 0) {
      for (int s = 0; s < S; ++s) {
        mbarInit(fullBar + 8 * s, 1);
        mbarInit(emptyBar + 8 * s, 4);
      }
      if constexpr (CW == 2) { mbarInit(fullBar + 16 * S + 8, 128); mbarInit(fullBar + 16 * S + 16, 128); } // the exact paths' (exBar)
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    if (threadIdx.x == 128 * CW) asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(tm)) : "memory");
    // Launched with programmatic dependent launch (pdl.cuh) the CTA may start before the previous kernel ends: the
    // set-up above reads nothing it may write; every input read and every output write comes after the wait.
    pdlWait();
    if (TRIG == 1) pdlLaunchDependents();
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    MLA_TRACE(threadIdx.x == 0 && beginIdx + endIdx >= -1, 1); // (the condition uses the reads: recorded once they are in)
    // kNVarQTma: the Q mbarrier is 8 bytes past the ring's barriers, fullBar + 16 S (the layout's 32 bytes after them
    // hold it and the exact paths' two since session 30; before, it sat in the 1024 bytes of alignment slack).
    if constexpr ((VAR & kNVarQTma) != 0) {
      static_assert(CW == 2, "kNVarQTma: two consumer warpgroups");
      const uint32_t qBar = fullBar + 16 * S;
      if (threadIdx.x == 128 * CW && beginIdx <= endIdx) {
        int qStart, qLen;
        queryRange(p, beginIdx, qStart, qLen);
        if (min(p.rows, qLen * p.nGroups) > 0) { // the consumers' test for a live item (itemOf's liveRows)
          mbarInit(qBar, 1);
          asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
          mbarExpectTx(qBar, L::Q_BYTES);
          for (int c = 0; c < kChunks; ++c) tmaLoadQ(qBase + c * NR * 128, qMap, 64 * c, qStart * p.hQ + g * p.nGroups, qBar);
          MLA_TRACE(true, 97);
        }
      }
    }
    if ((VAR & kNVarQEarly) && !(VAR & kNVarQTma) && threadIdx.x < 128 * CW && beginIdx <= endIdx) {
      int qStart, qLen;
      queryRange(p, beginIdx, qStart, qLen);
      MLA_TRACE(threadIdx.x == 0 && qStart + qLen >= -1, 96);
      loadQ(p, sq, g, qStart, min(p.rows, qLen * p.nGroups));
      MLA_TRACE(threadIdx.x == 0, 97);
    }
    // kNVarEntryPre: the producer thread's first item (its page and its length), read here, before the barrier.
    int prePage = 0;
    Item pre{};
    if ((VAR & kNVarEntryPre) && threadIdx.x == 128 * CW && beginIdx <= endIdx) {
      prePage = p.maxBlocksPerSeq > 0 ? p.blockTable[static_cast<int64_t>(beginIdx) * p.maxBlocksPerSeq + min(meta[kMetaBeginSeqlen] >> 6, p.maxBlocksPerSeq - 1)] : 0;
      pre = itemOf(p, meta, beginIdx, beginIdx, endIdx);
    }
    __syncthreads(); // the last CTA-wide barrier: from here on the roles sync only among themselves
    MLA_TRACE(threadIdx.x == 128 * CW, 98);

    // The role test on a warp-uniform value (lane 0's warpgroup), so ptxas sees one role per warpgroup.
    if (__shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x) / 128, 0) == CW) {
      // Producer: one lane issues every copy of every tile of every item of this part, in consumption order.
      if (CW == 2) asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
      if (threadIdx.x == 128 * CW) {
        const uint64_t policy = evictFirstPolicy();
        uint32_t n = 0; // chunks issued so far
        for (int batch = beginIdx; batch <= endIdx; ++batch) {
          const int* bt = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq;
          // The item's first page, read before its length is known (one memory round trip fewer before the first
          // copy of a call); the index is clamped into the request's row, and unused where the item has no tile.
          const int kb = batch == beginIdx ? meta[kMetaBeginSeqlen] : 0;
          const bool early = (VAR & kNVarEntryPre) && batch == beginIdx;
          const int firstPage = early ? prePage : p.maxBlocksPerSeq > 0 ? bt[min(kb >> 6, p.maxBlocksPerSeq - 1)] : 0;
          const Item itm = early ? pre : itemOf(p, meta, batch, beginIdx, endIdx);
          MLA_TRACE(batch == beginIdx && firstPage + itm.nTiles >= -1, 99);
          for (int t = 0; t < itm.nTiles; ++t) {
            const int row0 = (t == 0 ? firstPage : bt[(itm.kBegin >> 6) + t]) * kBN; // page 64, one KV head: the page's first cache row
            for (int c = 0; c < kChunks; ++c, ++n) {
              const uint32_t slot = n % S;
              mbarWait(emptyBar + 8 * slot, ((n / S) & 1) ^ 1);
              mbarExpectTx(fullBar + 8 * slot, kChunkBytes);
              tmaLoad(ring + slot * kChunkBytes, tm, 64 * c, row0, fullBar + 8 * slot, policy);
              MLA_TRACE(n == 0, 2);
              MLA_TRACE(n == kChunks - 1, 100);
            }
          }
        }
        MLA_TRACE(true, 3);
      }
#ifdef MLA_SM90_VARIANTS
      if constexpr ((VAR & kNVarCluster) != 0) { hop::clusterSync(); hop::clusterSync(); } // the consumers' two cluster barriers (clusterMerge)
#endif
    } else {
    if (CW == 2) asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
    unsigned char* const sp = smem + L::P_OFF + wg * L::P_BYTES;
    float* const red = reinterpret_cast<float*>(smem + L::RED_OFF + wg * L::RED_BYTES); // [4][NR]
    const uint32_t pBase = smemAddr(sp);

    uint32_t n0 = 0; // chunks of earlier items (the producer's sequence)
    // Session 30: the lazy vote's exact path syncs the warpgroup on an mbarrier of its own (every thread arrives, then
    // waits on the phase; 8 and 16 bytes past Q's mbarrier) instead of its named barrier, so each warpgroup passes its
    // named barriers exactly twice a tile (the vote, P^T) whatever the data, and with the odd-count evening at the item's
    // end the two warpgroups' counts agree at every merge. compute-sanitizer's racecheck reports race-free exchanges
    // through barrier 3 when they do not (racecheck_probe.cu mode 16; mode 17, the same syncs on mbarriers, is clean);
    // the exact path runs on a warpgroup's first tile of an item and rarely after (H200: level, 1.0004x over 68 shapes;
    // docs/notes/sanitizers.md, session 30).
    const uint32_t exBar = fullBar + 16 * S + 8 + 8 * wg;
    uint32_t exPh = 0;
#ifdef MLA_RACECHECK_STRICT
    // The racecheck verification build (docs/notes/sanitizers.md): each warpgroup counts the passes of its own barrier
    // (groupSync, and groupAll's vote), and before an item's merge the one with fewer passes its barrier until both are
    // equal. compute-sanitizer's racecheck reports race-free exchanges through barrier 3 when the warpgroups have passed
    // their own barriers unequally often (bench/cuda/hopper/racecheck_probe.cu modes 3 and 16); this kernel did until
    // session 30, where a warpgroup's failed lazy vote cost it one more pass (now an mbarrier sync: exBar), so here the
    // counts already agree and the evening adds nothing. Never shipped: extra votes, nothing else changes.
    unsigned gsN = 0;
    auto groupSync = [&](int w) { ++gsN; ::mla::sm90::groupSync(w); };
    auto groupAll = [&](int w, bool v) { ++gsN; return ::mla::sm90::groupAll(w, v); };
#endif
#ifdef MLA_SM90_TRACE
    int traceK = 0; // this warpgroup's tiles so far
    const bool tracer = tid == 0;
#endif
    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      const Item itm = itemOf(p, meta, batch, beginIdx, endIdx);
      if (itm.liveRows <= 0) continue; // CTA-uniform
      const int slotOut = p.numSplits[batch] + (batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0);
      const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      const int liveRows = itm.liveRows, kBegin = itm.kBegin, tileEnd = itm.tileEnd;
      // Keys a query-row column may see: min(tileEnd, lim0 + j) for query j of the row; the 8 js of this thread's
      // columns packed 6 bits each (j < 32), so the mask costs 2 registers, not 8. Keys past tileEnd are masked for
      // every column, padding rows included (their Q is 0; their results are never stored).
      const int lim0 = p.causal ? itm.seqlen - itm.qLen + 1 : (1 << 30);
      uint64_t jPack = 0;
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) jPack |= static_cast<uint64_t>(min((8 * i + 2 * tq + b) / p.nGroups, 63)) << (6 * (2 * i + b));
      // Q^T into its canonical layout: row r = query row m (zeros past liveRows), 72 chunks of 8 elements. The
      // previous item's last barrier ordered every read of the old Q^T before this.
      // cp.async: every chunk of the thread in flight at once (a load-then-store loop waited a memory round trip per
      // chunk, each behind the producer's first burst of tile copies: Q landed ~8 us into a call, trace of session 9).
      {
        if constexpr ((VAR & kNVarQTma) != 0) {
          if (batch == beginIdx) mbarWait(fullBar + 16 * S, 0); // the producer's boxes (a skipped first item had none)
          else loadQ(p, sq, g, itm.qStart, liveRows);
        } else if (!((VAR & kNVarQEarly) && batch == beginIdx)) {
          if (VAR & kNVarQEarly) cpAsyncWait<0>(); // an early copy of a skipped first item must land before these
          loadQ(p, sq, g, itm.qStart, liveRows);
        }
        cpAsyncWait<0>();
        MLA_TRACE(threadIdx.x == 0 && batch == beginIdx, 101);
        fenceProxyAsync();
      }
      consumersSync<CW>();
      MLA_TRACE(tracer && wg == 0 && batch == beginIdx, 4);

      float o[8][NI][4];
#pragma unroll
      for (int s = 0; s < 8; ++s)
#pragma unroll
        for (int i = 0; i < NI; ++i) o[s][i][0] = o[s][i][1] = o[s][i][2] = o[s][i][3] = 0.f;
      float mRow[NI][2], lPart[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i) mRow[i][0] = mRow[i][1] = -INFINITY, lPart[i][0] = lPart[i][1] = 0.f;

      for (int it = wg; it < itm.nTiles; it += CW) {
        const int t0 = kBegin + it * kBN;
        const uint32_t n = n0 + it * kChunks; // this tile's first chunk
        uint32_t slotAddr[kChunks];
#pragma unroll
        for (int c = 0; c < kChunks; ++c) slotAddr[c] = ring + ((n + c) % S) * kChunkBytes;

        // S^T = K Q^T: 36 wgmma in one group, once the tile's 9 chunks are in (a wait between wgmma would be a
        // branch in the wgmma sequence, which ptxas answers by serializing them).
#ifdef MLA_SM90_TRACE
        if (wg == 0 && traceK == 0) { // the first chunk alone first (the loop's wait on it then passes at once)
          mbarWait(fullBar + 8 * (n % S), (n / S) & 1);
          MLA_TRACE(tracer, 102);
        }
#endif
#pragma unroll 1
        for (int c = 0; c < kChunks; ++c) mbarWait(fullBar + 8 * ((n + c) % S), ((n + c) / S) & 1);
        MLA_TRACE(tracer && traceK < 10, 8 + 40 * wg + 4 * traceK);
        float sAcc[NI * 4];
#pragma unroll
        for (int e = 0; e < NI * 4; ++e) sAcc[e] = 0.f;
        wgFence();
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
#pragma unroll
          for (int kk = 0; kk < 4; ++kk)
            Wg<T, NR, 0>::mma(reinterpret_cast<float(&)[NI * 4]>(sAcc), descSw128(slotAddr[c] + kk * 32),
                              (VAR & kNVarQTma) ? descSw128(qBase + c * NR * 128 + kk * 32) : descOf<NR>(qBase + (4 * c + kk) * 2 * NR * 16), c + kk > 0);
        }
        wgCommit();
        MLA_TRACE(tracer && wg == 0 && traceK == 0, 103);
        wgWait<0>();
        pinRegs<NI * 4>(sAcc);
        MLA_TRACE(tracer && traceK < 10, 9 + 40 * wg + 4 * traceK);
        // The RoPE chunk (8) is not read again: hand its slot back now.
        __syncwarp();
        if (lane == 0) mbarArrive(emptyBar + 8 * ((n + 8) % S));

        // Mask by selection (scaled to base 2), column maxima over this warp's 16 keys, then over the 4 warps.
        const int key0 = t0 + 16 * warp + gq;
        if constexpr ((VAR & kNVarLazy) != 0) {
          // kNVarLazy: mask and scale as below, then one vote (the barrier) whether every score of the warpgroup's tile
          // is within 2^kNLazyTau of its row's reference. (The exact path is written out again here rather than
          // shared with the code below: any change of that code's shape changes the default build's SASS.)
          bool fits = true;
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              float& s0 = sAcc[i * 4 + b];
              float& s1 = sAcc[i * 4 + 2 + b];
              const int lim = min(tileEnd, lim0 + static_cast<int>((jPack >> (6 * (2 * i + b))) & 63));
              s0 = key0 < lim ? s0 * p.scaleLog2 : -INFINITY;
              s1 = key0 + 8 < lim ? s1 * p.scaleLog2 : -INFINITY;
              fits &= fmaxf(s0, s1) <= mRow[i][b] + kNLazyTau;
            }
          // The vote is the tile's barrier (every warp's S^T wgmma has finished reading the slots). Where it fails, the
          // exact path: the tile's maxima over the warpgroup (a second barrier), new references, O^T and sums rescaled.
          if (!groupAll(wg, fits)) {
#pragma unroll
            for (int i = 0; i < NI; ++i)
#pragma unroll
              for (int b = 0; b < 2; ++b) {
                float x = fmaxf(sAcc[i * 4 + b], sAcc[i * 4 + 2 + b]);
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
                x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
                if (gq == 0) red[warp * NR + 8 * i + 2 * tq + b] = x;
              }
            mbarArrive(exBar); // the warpgroup's maxima are in (an mbarrier, not its named barrier: see exBar)
            mbarWait(exBar, exPh);
            exPh ^= 1;
#pragma unroll
            for (int i = 0; i < NI; ++i)
#pragma unroll
              for (int b = 0; b < 2; ++b) {
                const int r = 8 * i + 2 * tq + b;
                const float x = fmaxf(fmaxf(red[r], red[NR + r]), fmaxf(red[2 * NR + r], red[3 * NR + r]));
                const float mNew = fmaxf(mRow[i][b], x);
                const float alpha = exp2f(mRow[i][b] - (mNew == -INFINITY ? 0.f : mNew));
#pragma unroll
                for (int s = 0; s < 8; ++s) o[s][i][b] *= alpha, o[s][i][2 + b] *= alpha;
                lPart[i][b] *= alpha;
                mRow[i][b] = mNew;
              }
          }
          // P against the references (a row still at -inf: base -FLT_MAX, every exponential 2^-inf = 0).
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              const float base = fmaxf(mRow[i][b], -3.402823466e+38f);
              const float p0 = exp2f(sAcc[i * 4 + b] - base), p1 = exp2f(sAcc[i * 4 + 2 + b] - base);
              lPart[i][b] += p0 + p1;
              const int k0 = 16 * warp + gq;
              *reinterpret_cast<T*>(sp + canonOff<NR>(r, k0)) = H::fromF(p0);
              *reinterpret_cast<T*>(sp + canonOff<NR>(r, k0 + 8)) = H::fromF(p1);
            }
        } else {
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
          groupSync(wg); // every warp's maxima are in; every warp's S^T wgmma has finished reading the slots

#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              const float x = fmaxf(fmaxf(red[r], red[NR + r]), fmaxf(red[2 * NR + r], red[3 * NR + r]));
              const float mNew = fmaxf(mRow[i][b], x);
              const float base = mNew == -INFINITY ? 0.f : mNew; // no key yet: every exp2 below is exp2(-inf) = 0
              // O^T's column r is rescaled here (no wgmma is in flight: the last one waited), so no alpha is kept.
              const float alpha = exp2f(mRow[i][b] - base);
#pragma unroll
              for (int s = 0; s < 8; ++s) o[s][i][b] *= alpha, o[s][i][2 + b] *= alpha;
              mRow[i][b] = mNew;
              const float p0 = exp2f(sAcc[i * 4 + b] - base), p1 = exp2f(sAcc[i * 4 + 2 + b] - base);
              lPart[i][b] = lPart[i][b] * alpha + p0 + p1;
              const int k0 = 16 * warp + gq;
              *reinterpret_cast<T*>(sp + canonOff<NR>(r, k0)) = H::fromF(p0);
              *reinterpret_cast<T*>(sp + canonOff<NR>(r, k0 + 8)) = H::fromF(p1);
            }
        }
        // Value rows this tile holds past tileEnd (the rest of the last page: stale, maybe NaN) become zeros.
        const int live = min(kBN, tileEnd - t0);
        if (live < kBN) {
          for (int e = tid; e < (kBN - live) * 8 * 8; e += 128) {
            const int c = e / ((kBN - live) * 8), rem = e % ((kBN - live) * 8), r = live + rem / 8, u = rem % 8;
            asm volatile("st.shared.v4.u32 [%0], {%1, %1, %1, %1};\n" ::"r"(ring + ((n + c) % S) * kChunkBytes + r * 128 + u * 16), "r"(0) : "memory");
          }
        }
        fenceProxyAsync();
        groupSync(wg); // P^T complete (and visible to the tensor cores)
        MLA_TRACE(tracer && traceK < 10, 10 + 40 * wg + 4 * traceK);

        if constexpr ((VAR & kNVarLazy) != 0) {
          // The value chunks' slots again, from a copy of n the compiler cannot see through: not kept live across the
          // softmax (with the lazy path's code beside the exact one, n32 would otherwise spill 12 bytes at 168 registers).
          uint32_t nn = n;
          asm volatile("" : "+r"(nn));
#pragma unroll
          for (int c = 0; c < 8; ++c) slotAddr[c] = ring + ((nn + c) % S) * kChunkBytes;
        }
        // O^T += V^T P^T: slice s = chunk s, 4 k-steps of 16 keys (two 8-key groups of 1024 bytes each).
        wgFence();
        if constexpr ((VAR & kNVarPRel) != 0) {
#pragma unroll
          for (int s = 0; s < 8; ++s) {
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
              Wg<T, NR, 1>::mma(reinterpret_cast<float(&)[NI * 4]>(o[s]), descSw128(slotAddr[s] + kk * 2048), descOf<NR>(pBase + kk * 2 * NR * 16), 1);
            wgCommit();
          }
          // Slice s's group done: its chunk's slot goes back (lane 0 of each of the 4 warps: the empty barrier's count).
#define MLA_PREL_STEP(S_)                                                                              \
          wgWait<7 - S_>();                                                                            \
          pinRegs<NI * 4>(&o[S_][0][0]);                                                               \
          __syncwarp();                                                                                \
          if (lane == 0) mbarArrive(emptyBar + 8 * ((n + S_) % S));
          MLA_PREL_STEP(0) MLA_PREL_STEP(1) MLA_PREL_STEP(2) MLA_PREL_STEP(3)
          MLA_PREL_STEP(4) MLA_PREL_STEP(5) MLA_PREL_STEP(6) MLA_PREL_STEP(7)
#undef MLA_PREL_STEP
        } else {
#pragma unroll
          for (int s = 0; s < 8; ++s)
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
              Wg<T, NR, 1>::mma(reinterpret_cast<float(&)[NI * 4]>(o[s]), descSw128(slotAddr[s] + kk * 2048), descOf<NR>(pBase + kk * 2 * NR * 16), 1);
          wgCommit();
          wgWait<0>();
#pragma unroll
          for (int s = 0; s < 8; ++s) pinRegs<NI * 4>(&o[s][0][0]);
        }
        MLA_TRACE(tracer && traceK < 10, 11 + 40 * wg + 4 * traceK);
        MLA_TRACE(tracer, 90 + wg);
#ifdef MLA_SM90_TRACE
        ++traceK;
#endif
        if constexpr ((VAR & kNVarPRel) == 0) {
          __syncwarp();
          if (lane == 0)
#pragma unroll
            for (int c = 0; c < 8; ++c) mbarArrive(emptyBar + 8 * ((n + c) % S));
        }
      }

      n0 += itm.nTiles * kChunks;
      // The combine launched after this kernel may be scheduled from now on (it waits for this grid's end itself).
      if (TRIG == 2 && batch == endIdx) pdlLaunchDependents();
#ifdef MLA_SM90_SOLO
      // An item of one tile (or none): warpgroup 1 ran no tile, so there is nothing to merge. Warpgroup 0 keeps the
      // whole row and stores all of it; warpgroup 1 goes on to the next item once warpgroup 0's S^T has read Q^T (the
      // barrier below: the next item's Q^T overwrites it). CTA-uniform. MLA_SM90_SOLO=2: only the CTA's last item (a
      // next item's first tile, warpgroup 0's, would wait for the whole store).
      const bool solo = CW == 2 && itm.nTiles <= 1 && (MLA_SM90_SOLO != 2 || batch == endIdx);
      if (solo) {
        consumersSync<CW>();
        if (wg == 1) continue;
      }
#else
      constexpr bool solo = false;
#endif
      // With an odd tile count warpgroup 1 ran one tile (two groupSyncs) fewer: pass its barrier twice more, so both
      // warpgroups pass their own barriers equally often an item (harmless; tried against v5's racecheck report:
      // docs/notes/cuda-hopper-decode.md).
      if (CW == 2 && wg == 1 && (itm.nTiles & 1)) { groupSync(wg); groupSync(wg); }
      // Row sums: over the 8 key lanes, then the 4 warps.
      groupSync(wg); // red is free
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
      MLA_TRACE(tracer && wg == 0, 88);
      float lRow[NI][2];
#pragma unroll
      for (int i = 0; i < NI; ++i)
#pragma unroll
        for (int b = 0; b < 2; ++b) {
          const int r = 8 * i + 2 * tq + b;
          lRow[i][b] = red[r] + red[NR + r] + red[2 * NR + r] + red[3 * NR + r];
        }
      if (CW == 2 && !solo) {
        // Merge warpgroup 1's (m, l, O^T) into warpgroup 0's, through the Q^T region (free once both are done),
        // four slices a round; a thread of warpgroup 1 hands over exactly the elements its twin in 0 holds.
        float* const xb = reinterpret_cast<float*>(sq);
        float* const ml = reinterpret_cast<float*>(smem + L::ML_OFF);
        float* const l0x = xb + 4 * NI * 4 * 128; // x3: warpgroup 0's sums, past the exchange block (still in Q^T's region)
#ifdef MLA_RACECHECK_STRICT
        { // the verification build: even the warpgroups' passes of their own barriers since the last merge, the counts
          // exchanged by votes (a count written to shared memory and read by the other warpgroup was itself reported)
          const unsigned mx = narrow::maxByVotes<CW, 3, 128 * CW>(gsN, wg, tid);
          while (gsN < mx) groupSync(wg);
          gsN = 0;
        }
#endif
        consumersSync<CW>(); // every tile of both warpgroups is done: Q^T is no longer read
        if (warp == 0 && gq == 0)
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              ml[wg * NR + r] = mRow[i][b];
              if (wg == 1) ml[2 * NR + r] = lRow[i][b];
              else if (VAR & kNVarSplitOut) l0x[r] = lRow[i][b];
            }
        consumersSync<CW>();
        if (VAR & kNVarSplitOut) {
          // Both warpgroups end up with the merged sums and half of the slices each (0-3 in warpgroup 0, 4-7 in 1),
          // exchanged two slices each way a round, and both store their half.
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              const float m0 = ml[r], m1 = ml[NR + r], mNew = fmaxf(m0, m1);
              const float base = mNew == -INFINITY ? 0.f : mNew;
              const float a = exp2f(mRow[i][b] - base);
#pragma unroll
              for (int s = 0; s < 8; ++s) o[s][i][b] *= a, o[s][i][2 + b] *= a;
              lRow[i][b] = exp2f(m0 - base) * l0x[r] + exp2f(m1 - base) * ml[2 * NR + r];
              mRow[i][b] = mNew;
            }
#pragma unroll
          for (int round = 0; round < 2; ++round) {
            // units 0-1: warpgroup 0's slices 4 + 2 round + u (for 1); units 2-3: warpgroup 1's slices 2 round + u - 2 (for 0)
#pragma unroll
            for (int u = 0; u < 2; ++u)
#pragma unroll
              for (int i = 0; i < NI; ++i)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                  xb[(((2 * wg + u) * NI + i) * 4 + e) * 128 + tid] = wg == 0 ? o[4 + 2 * round + u][i][e] : o[2 * round + u][i][e];
            consumersSync<CW>();
#pragma unroll
            for (int u = 0; u < 2; ++u)
#pragma unroll
              for (int i = 0; i < NI; ++i)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                  const float x = xb[(((2 * (1 - wg) + u) * NI + i) * 4 + e) * 128 + tid];
                  if (wg == 0) o[2 * round + u][i][e] += x;
                  else o[4 + 2 * round + u][i][e] += x;
                }
            consumersSync<CW>(); // read before the next round (or the next item's Q^T) overwrites it
          }
        } else {
          // Both rescale their own O^T to the common maximum; warpgroup 0 also merges the sums.
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int r = 8 * i + 2 * tq + b;
              const float m0 = ml[r], m1 = ml[NR + r], mNew = fmaxf(m0, m1);
              const float base = mNew == -INFINITY ? 0.f : mNew;
              const float a = exp2f(mRow[i][b] - base);
#pragma unroll
              for (int s = 0; s < 8; ++s) o[s][i][b] *= a, o[s][i][2 + b] *= a;
              if (wg == 0) lRow[i][b] = a * lRow[i][b] + exp2f(m1 - base) * ml[2 * NR + r];
              mRow[i][b] = mNew;
            }
#pragma unroll
          for (int round = 0; round < 2; ++round) {
            if (wg == 1)
#pragma unroll
              for (int s = 0; s < 4; ++s)
#pragma unroll
                for (int i = 0; i < NI; ++i)
#pragma unroll
                  for (int e = 0; e < 4; ++e) xb[((s * NI + i) * 4 + e) * 128 + tid] = o[4 * round + s][i][e];
            consumersSync<CW>();
            if (wg == 0)
#pragma unroll
              for (int s = 0; s < 4; ++s)
#pragma unroll
                for (int i = 0; i < NI; ++i)
#pragma unroll
                  for (int e = 0; e < 4; ++e) o[4 * round + s][i][e] += xb[((s * NI + i) * 4 + e) * 128 + tid];
            consumersSync<CW>(); // read before the next round (or the next item's Q^T) overwrites it
          }
          if (wg == 1) continue;
        }
      }
      MLA_TRACE(tracer && wg == 0, 89);
      if constexpr ((VAR & (kNVarStOut | kNVarStMat)) != 0 && (VAR & kNVarSplitOut) != 0 && CW == 2) {
        // (CTA-uniform) An unsplit item of one KV head with a 16-byte aligned out: the rows staged in Q^T's region (NR
        // rows of kStRow bytes fit: static_assert below), then one bulk copy a row.
        if (!solo && noSplit && p.hQ == p.nGroups && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0) {
          float inv[NI][2];
          if constexpr ((VAR & kNVarCEnd) != 0) {
            // (with kNVarCEnd) each row's scale and lse by one lane, the scales to the row's threads by shuffles
            float lM, mM;
            int rM;
            rowOfLane(lRow, mRow, gq, tq, lM, mM, rM);
            const float invM = lM == 0.f ? 0.f : 1.f / lM;
            if (gq < 2 * NI && rM < liveRows && wg == 0 && warp == 0) {
              const int j = rM / p.nGroups, h = g * p.nGroups + (rM - j * p.nGroups);
              p.lse[batch * p.lseStrideB + h * p.lseStrideH + (itm.qStart + j) * p.lseStrideT] =
                  lM == 0.f ? INFINITY : lseOfRow(mM, lM);
            }
#pragma unroll
            for (int i = 0; i < NI; ++i)
#pragma unroll
              for (int b = 0; b < 2; ++b) inv[i][b] = __shfl_sync(0xffffffffu, invM, 4 * (2 * i + b) + tq);
          } else {
#pragma unroll
            for (int i = 0; i < NI; ++i)
#pragma unroll
              for (int b = 0; b < 2; ++b) {
                const float l = lRow[i][b];
                inv[i][b] = l == 0.f ? 0.f : 1.f / l;
                const int r = 8 * i + 2 * tq + b;
                if (wg == 0 && warp == 0 && gq == 0 && r < liveRows) {
                  const int j = r / p.nGroups, h = g * p.nGroups + (r - j * p.nGroups);
                  p.lse[batch * p.lseStrideB + h * p.lseStrideH + (itm.qStart + j) * p.lseStrideT] =
                      l == 0.f ? INFINITY : lseOfRow(mRow[i][b], l);
                }
              }
          }
          if constexpr ((VAR & kNVarStMat) != 0) {
            static_assert(NI % 2 == 0, "kNVarStMat: row groups in pairs");
            // Lane L addresses row L % 8 of block L / 8: block k = (row group 2 ip + k / 2, column half k % 2).
            const uint32_t laneA = qBase + ((lane >> 4) * 8 + (lane & 7)) * kStRow + 2 * (64 * 4 * wg + 16 * warp + 8 * ((lane >> 3) & 1));
            // One copy of the stores for each warpgroup's slices (S0: 0 or 4), so every o index is a constant.
            auto stm = [&](auto s0) {
              constexpr int S0 = decltype(s0)::value;
#pragma unroll
              for (int s4 = 0; s4 < 4; ++s4)
#pragma unroll
                for (int ip = 0; ip < NI / 2; ++ip) {
                  uint32_t rr[4];
#pragma unroll
                  for (int k = 0; k < 4; ++k) {
                    const int i = 2 * ip + (k >> 1), e = 2 * (k & 1); // column half k % 2: elements e, e + 1 (rows b = 0, 1)
                    const auto t2 = H::pack(o[S0 + s4][i][e] * inv[i][0], o[S0 + s4][i][e + 1] * inv[i][1]); // row b = 0 in the low half
                    rr[k] = *reinterpret_cast<const uint32_t*>(&t2);
                  }
                  asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(laneA + ip * 16 * kStRow + 128 * s4),
                               "r"(rr[0]), "r"(rr[1]), "r"(rr[2]), "r"(rr[3]) : "memory");
                }
            };
            if constexpr ((VAR & kNVarCEnd) != 0) { // one copy: warpgroup 1's half selected into o[0..3] first
              halfToLow(o, wg);
              stm(IntC<0>{});
            } else if (wg == 0) {
              stm(IntC<0>{});
            } else {
              stm(IntC<4>{});
            }
          } else {
#pragma unroll
            for (int i = 0; i < NI; ++i)
#pragma unroll
              for (int b = 0; b < 2; ++b) {
                const uint32_t rowA = qBase + (8 * i + 2 * tq + b) * kStRow + 2 * (16 * warp + gq);
#pragma unroll
                for (int s = 0; s < 8; ++s) {
                  if ((s >> 2) != wg) continue; // the other warpgroup's half
                  const T v0 = H::fromF(o[s][i][b] * inv[i][b]), v1 = H::fromF(o[s][i][2 + b] * inv[i][b]);
                  asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(rowA + 128 * s), "h"(*reinterpret_cast<const unsigned short*>(&v0)) : "memory");
                  asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(rowA + 128 * s + 16), "h"(*reinterpret_cast<const unsigned short*>(&v1)) : "memory");
                }
              }
          }
          fenceProxyAsync(); // the rows, written by the generic proxy, are read by the bulk copies (async proxy)
          consumersSync<CW>();
          if (wg == 0 && warp == 0 && lane < liveRows) {
            T* const dst = static_cast<T*>(p.out) + (static_cast<int64_t>(itm.qStart) * p.hQ + lane) * kDV;
            hop::bulkStoreRow(dst, qBase + lane * kStRow, kDV * 2);
            hop::bulkCommit();
            hop::bulkWaitRead0();
          }
          consumersSync<CW>(); // the rows are read out of Q^T's region: the next item may write it
          MLA_TRACE(tracer && wg == 0, 7);
          MLA_TRACE(tracer && wg == 1, 94);
          continue;
        }
      }
#ifndef MLA_SM90_SOLO
      constexpr bool cEnd = (VAR & kNVarCEnd) != 0 && (VAR & kNVarSplitOut) != 0 && CW == 2;
#else
      constexpr bool cEnd = false; // (kNVarCEnd assumes each warpgroup stores its half: no solo item)
#endif
      if constexpr (cEnd) {
        // kNVarCEnd: the stores as short straight-line code. Warpgroup 1's slices 4-7 move into o[0..3] by selects, so
        // both warpgroups store o[0..3] at columns 256 wg + ...; lane 4 q + tq (q < 2 NI) works out its quad's row
        // 8 (q / 2) + 2 tq + q % 2 once (the scale, the row's index in out or in the partials, the lse), and the row
        // loop takes them by two shuffles a row; the unsplit and split paths are two loops, not one loop with both.
        // The values are the default path's (the same operations on the same operands).
        halfToLow(o, wg);
        float lM, mM;
        int rM;
        rowOfLane(lRow, mRow, gq, tq, lM, mM, rM);
        const bool emptyM = lM == 0.f;
        const float invM = emptyM ? 0.f : 1.f / lM;
        const int jM = rM / p.nGroups, hM = g * p.nGroups + (rM - jM * p.nGroups);
        // (kNVarCluster: a split item's rows are staged in this CTA's ring, row rM of [NR][kDV], lse after them)
        constexpr bool clStage = (VAR & kNVarCluster) != 0;
        float* const clBuf = reinterpret_cast<float*>(smem + L::RING_OFF);
        const int rowM = clStage && !noSplit ? rM : (noSplit ? itm.qStart + jM : slotOut * p.sQ + jM) * p.hQ + hM;
        if (gq < 2 * NI && rM < liveRows && wg == 0 && warp == 0) {
          const float lse = emptyM ? (noSplit ? INFINITY : -INFINITY) : lseOfRow(mM, lM);
          if (noSplit) p.lse[batch * p.lseStrideB + hM * p.lseStrideH + (itm.qStart + jM) * p.lseStrideT] = lse;
          else if (clStage) clBuf[NR * kDV + rM] = lse;
          else p.lseAccum[rowM] = lse;
        }
        const int col0 = 4 * 64 * wg + 16 * warp + gq;
        // The row loop once for both destinations (bf16 / f16 out, or the f32 partials): a row's scale and index from its
        // lane, then this thread's two columns of each of the warpgroup's four slices (cvt: the stored element).
        auto storeRows = [&](auto* base, auto cvt) {
#pragma unroll
          for (int i = 0; i < NI; ++i)
#pragma unroll
            for (int b = 0; b < 2; ++b) {
              const int src = 4 * (2 * i + b) + tq;
              const float inv = __shfl_sync(0xffffffffu, invM, src);
              const int row = __shfl_sync(0xffffffffu, rowM, src);
              if (8 * i + 2 * tq + b < liveRows) {
                auto* const dst = base + static_cast<int64_t>(row) * kDV;
#pragma unroll
                for (int s = 0; s < 4; ++s) {
                  dst[64 * s] = cvt(o[s][i][b] * inv);
                  dst[64 * s + 8] = cvt(o[s][i][2 + b] * inv);
                }
              }
            }
        };
        if (noSplit) storeRows(static_cast<T*>(p.out) + col0, [](float x) { return H::fromF(x); });
        else if (clStage) storeRows(clBuf + col0, [](float x) { return x; });
        else storeRows(p.oAccum + col0, [](float x) { return x; });
      } else {
#pragma unroll
        for (int i = 0; i < NI; ++i)
#pragma unroll
          for (int b = 0; b < 2; ++b) {
            const int r = 8 * i + 2 * tq + b;
            if (r >= liveRows) continue;
            const float l = lRow[i][b];
            const int j = r / p.nGroups, h = g * p.nGroups + (r - j * p.nGroups);
            const bool empty = l == 0.f;
            const float inv = empty ? 0.f : 1.f / l;
            const float lse = empty ? (noSplit ? INFINITY : -INFINITY) : lseOfRow(mRow[i][b], l);
            const int col0 = 16 * warp + gq;
            if (noSplit) {
              T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(itm.qStart + j) * p.hQ + h) * kDV + col0;
#pragma unroll
              for (int s = 0; s < 8; ++s) {
                if ((VAR & kNVarSplitOut) && CW == 2 && !solo && (s >> 2) != wg) continue; // the other warpgroup's half
#ifdef MLA_SM90_DIAG_NOSTORE
                // Session 33, trace builds only (WRONG output): the unsplit output rows are not stored, so the item end's
                // cost without its global stores can be timed.
                if (o[s][i][b] != 12345.f) continue;
#endif
                out[64 * s] = H::fromF(o[s][i][b] * inv);
                out[64 * s + 8] = H::fromF(o[s][i][2 + b] * inv);
              }
              if ((!(VAR & kNVarSplitOut) || wg == 0) && warp == 0 && gq == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (itm.qStart + j) * p.lseStrideT] = lse;
            } else {
              const int64_t row = (static_cast<int64_t>(slotOut) * p.sQ + j) * p.hQ + h;
              float* acc = p.oAccum + row * kDV + col0;
#pragma unroll
              for (int s = 0; s < 8; ++s) {
                if ((VAR & kNVarSplitOut) && CW == 2 && !solo && (s >> 2) != wg) continue;
                acc[64 * s] = o[s][i][b] * inv;
                acc[64 * s + 8] = o[s][i][2 + b] * inv;
              }
              if ((!(VAR & kNVarSplitOut) || wg == 0) && warp == 0 && gq == 0) p.lseAccum[row] = lse;
            }
          }
      }
      groupSync(wg); // the next item overwrites red
      MLA_TRACE(tracer && wg == 0, 7);
      MLA_TRACE(tracer && wg == 1, 94);
    }
#ifdef MLA_SM90_VARIANTS
    if constexpr ((VAR & kNVarFuse) != 0) {
      if constexpr (NR == 16) fuseMerge(p);
      else fuseMergeCall(p);
    }
    if constexpr ((VAR & kNVarCluster) != 0) clusterMerge(p, smem);
#endif
    MLA_TRACE(tracer, 5 + wg);
    MLA_TRACE_GLOBAL(tracer && wg == 0, 93);
    } // consumers
#endif
  }
};

} // namespace sm90
} // namespace mla

static_assert(16 * mla::sm90::kStRow <= mla::sm90::Layout<16, 2>::Q_BYTES && 32 * mla::sm90::kStRow <= mla::sm90::Layout<32, 2>::Q_BYTES, "kNVarStOut: the staged rows fit in Q^T's region");
#if MLA_SM90_SLOTS16 == 25 && MLA_SM90_SLOTS32 == 22 // (a measurement build's smaller ring launches with the shipped size)
static_assert(mla::sm90::Layout<16, 2>::SMEM == 229488 && mla::sm90::Layout<32, 2>::SMEM == 228096 && mla::sm90::Layout<16, 1>::SMEM == 226992 && mla::sm90::Layout<32, 1>::SMEM == 231312, "shared memory differs from launch.ts sm90Smem");
#endif

// Launch: grid (numSmParts, hKv = 1), threadsOf<CW>() threads, Layout<NR, CW>::SMEM bytes of dynamic shared
// memory, the tensor map of the cache as the second parameter (launch.ts sm90Launch / sm90CacheMap) and, for the
// library's two-warpgroup entries with kNVarQTma, q's as the third (sm90QMap; the _ld entries take none); rows <= NR,
// page 64, sm_90a only (elsewhere the entries compile to nothing and must not be launched). The library launches
// the two-warpgroup entries; the _1wg ones are the one-warpgroup version the harness times beside them.
#ifndef MLA_SM90_LIB_TRIG // the library entries' TRIG (above): 0 since session 37 (-DMLA_SM90_LIB_TRIG=2: sessions 9-36's)
#define MLA_SM90_LIB_TRIG 0
#endif
#define MLA_SM90_ENTRY(NR, CW, SUFFIX, VAR)                                                                                   \
  extern "C" __global__ void __launch_bounds__(mla::sm90::threadsOf<CW>(), 1)                                                 \
      mla_decode_sm90##SUFFIX##_bf16_n##NR(const MlaParams p, const __grid_constant__ CUtensorMap tm) {                      \
    mla::sm90::DecodeT<__nv_bfloat16, NR, CW, MLA_SM90_LIB_TRIG, VAR>::run(p, &tm);                                                           \
  }                                                                                                                           \
  extern "C" __global__ void __launch_bounds__(mla::sm90::threadsOf<CW>(), 1)                                                 \
      mla_decode_sm90##SUFFIX##_f16_n##NR(const MlaParams p, const __grid_constant__ CUtensorMap tm) {                       \
    mla::sm90::DecodeT<__half, NR, CW, MLA_SM90_LIB_TRIG, VAR>::run(p, &tm);                                                                  \
  }
#if (MLA_SM90_LIB_VAR & 8) // kNVarQTma: the Q map (launch.ts sm90QMap) as the third parameter
#define MLA_SM90_ENTRY_Q(NR, SUFFIX, VAR)                                                                                        \
  extern "C" __global__ void __launch_bounds__(mla::sm90::threadsOf<2>(), 1) mla_decode_sm90##SUFFIX##_bf16_n##NR(             \
      const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) {                     \
    mla::sm90::DecodeT<__nv_bfloat16, NR, 2, MLA_SM90_LIB_TRIG, VAR>::run(p, &tm, &tq);                                                       \
  }                                                                                                                           \
  extern "C" __global__ void __launch_bounds__(mla::sm90::threadsOf<2>(), 1) mla_decode_sm90##SUFFIX##_f16_n##NR(              \
      const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) {                     \
    mla::sm90::DecodeT<__half, NR, 2, MLA_SM90_LIB_TRIG, VAR>::run(p, &tm, &tq);                                                              \
  }
MLA_SM90_ENTRY_Q(16, , mla::sm90::kNLibVar)
MLA_SM90_ENTRY_Q(32, , mla::sm90::kNLibVar)
#undef MLA_SM90_ENTRY_Q
MLA_SM90_ENTRY(16, 2, _ld, mla::sm90::kNLibVarLd)
MLA_SM90_ENTRY(32, 2, _ld, mla::sm90::kNLibVarLd)
#else
MLA_SM90_ENTRY(16, 2, , mla::sm90::kNLibVar)
MLA_SM90_ENTRY(32, 2, , mla::sm90::kNLibVar)
#endif
MLA_SM90_ENTRY(16, 1, _1wg, 0)
MLA_SM90_ENTRY(32, 1, _1wg, 0)
#ifdef MLA_SM90_VARIANTS // harness only: VAR bits (see DecodeT), bf16
#define MLA_SM90_X(V)                                                                                                          \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_x##V##_bf16_n16(const MlaParams p, const __grid_constant__ CUtensorMap tm) { \
    mla::sm90::DecodeT<__nv_bfloat16, 16, 2, 2, V>::run(p, &tm);                                                              \
  }                                                                                                                            \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_x##V##_bf16_n32(const MlaParams p, const __grid_constant__ CUtensorMap tm) { \
    mla::sm90::DecodeT<__nv_bfloat16, 32, 2, 2, V>::run(p, &tm);                                                              \
  }
MLA_SM90_X(0)
MLA_SM90_X(1)
MLA_SM90_X(3)
MLA_SM90_X(17)
#undef MLA_SM90_X
// kNVarQTma (VAR 11 = the library's bits | 8): a second tensor map, of Q (harness_common.cuh encodeQMap). Both dtypes
// (session 21 n1): x11 = the shipped library entries' code (kNLibVar, whatever it holds), x75 = bits 75 exactly (the
// library's before session 34: 1 | 2 | 8 | 64), xaa = x11's code under a second name (the A/A guard of an interleaved A/B);
// xce = x75 + kNVarCEnd (the library's bits since session 34), xc2 = xce + kNVarStMat.
#define MLA_SM90_XQ(NAME, V)                                                                                                    \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_##NAME##_bf16_n16(const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) { \
    mla::sm90::DecodeT<__nv_bfloat16, 16, 2, 2, V>::run(p, &tm, &tq);                                                         \
  }                                                                                                                             \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_##NAME##_bf16_n32(const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) { \
    mla::sm90::DecodeT<__nv_bfloat16, 32, 2, 2, V>::run(p, &tm, &tq);                                                         \
  }                                                                                                                             \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_##NAME##_f16_n16(const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) { \
    mla::sm90::DecodeT<__half, 16, 2, 2, V>::run(p, &tm, &tq);                                                                \
  }                                                                                                                             \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_##NAME##_f16_n32(const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) { \
    mla::sm90::DecodeT<__half, 32, 2, 2, V>::run(p, &tm, &tq);                                                                \
  }
MLA_SM90_XQ(x11, mla::sm90::kNLibVar | mla::sm90::kNVarQTma)
MLA_SM90_XQ(x75, mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy)
MLA_SM90_XQ(xaa, mla::sm90::kNLibVar | mla::sm90::kNVarQTma)
MLA_SM90_XQ(xso, mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy | mla::sm90::kNVarStOut) // session 33: x75 + kNVarStOut (traced)
MLA_SM90_XQ(xsm, mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy | mla::sm90::kNVarStMat) // session 33: x75 + kNVarStMat (traced)
MLA_SM90_XQ(xce, mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy | mla::sm90::kNVarCEnd) // session 34: x75 + kNVarCEnd (traced)
MLA_SM90_XQ(xc2, mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy | mla::sm90::kNVarCEnd | mla::sm90::kNVarStMat) // session 34: xce + kNVarStMat (traced)
#undef MLA_SM90_XQ
// Session 64: xlb = the shipped library entry's code (bits 1099 = kNVarQEarly | kNVarSplitOut | kNVarQTma | kNVarLazy |
// kNVarCEnd, TRIG 0; the harness's own kNLibVar is 3), and xcl = xlb + kNVarCluster (the split merge in clusters of
// kClusterN, 16 rows only), launched with a cluster dimension of kClusterN on x by the harness's `cluster` mode (no
// combine after it).
constexpr int kNLibBits1099 = mla::sm90::kNVarQEarly | mla::sm90::kNVarSplitOut | mla::sm90::kNVarQTma | mla::sm90::kNVarLazy | mla::sm90::kNVarCEnd;
static_assert(kNLibBits1099 == 1099, "the shipped bits");
#define MLA_SM90_XCL(NAME, T, TN, V)                                                                                           \
  extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_##NAME##_##TN##_n16(const MlaParams p, const __grid_constant__ CUtensorMap tm, const __grid_constant__ CUtensorMap tq) { \
    mla::sm90::DecodeT<T, 16, 2, 0, V>::run(p, &tm, &tq);                                                                     \
  }
MLA_SM90_XCL(xlb, __nv_bfloat16, bf16, kNLibBits1099)
MLA_SM90_XCL(xlb, __half, f16, kNLibBits1099)
MLA_SM90_XCL(xcl, __nv_bfloat16, bf16, kNLibBits1099 | mla::sm90::kNVarCluster)
MLA_SM90_XCL(xcl, __half, f16, kNLibBits1099 | mla::sm90::kNVarCluster)
MLA_SM90_XCL(xcp, __nv_bfloat16, bf16, kNLibBits1099 | mla::sm90::kNVarCluster | mla::sm90::kNVarClusterPart)
#undef MLA_SM90_XCL
#endif
#ifdef MLA_SM90_EARLY_TRIGGER // harness only: the dependents scheduled at entry (measured against the library's)
extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_early_bf16_n16(const MlaParams p, const __grid_constant__ CUtensorMap tm) {
  mla::sm90::DecodeT<__nv_bfloat16, 16, 2, 1>::run(p, &tm);
}
extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90_early_bf16_n32(const MlaParams p, const __grid_constant__ CUtensorMap tm) {
  mla::sm90::DecodeT<__nv_bfloat16, 32, 2, 1>::run(p, &tm);
}
#endif
