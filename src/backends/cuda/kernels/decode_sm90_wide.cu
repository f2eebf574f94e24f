// Split-KV MLA decode for Hopper (sm_90a only) with the query rows on the wgmma M dimension: rows >= 64 of one
// KV head (rows = sQ * hQ / hKv; hKv = 1, page size 64). See docs/notes/cuda-hopper-decode.md, "Queries on M".
//
// One CTA per (SM part, KV head, tile of 64 query rows), 384 threads: two consumer warpgroups (setmaxnreg 232) and a
// producer warpgroup (setmaxnreg 32) of which four threads work. The library's entries are v6 plus the bits sessions
// 12-14 added (kLibVar: see the VAR bits below and docs/notes/cuda-hopper-decode.md, "Session 8" onward). The
// producer streams 64-key tiles (one cache page: 64 x 576, 73,728 bytes) with TMA tensor copies, nine 64 x 64 boxes
// with the 128-byte swizzle, into two stages, each box completing on its own "full" mbarrier (evict-first), so S
// starts on the first box while the rest are in flight. A stage is handed back in three groups of boxes, each on its
// own "empty" mbarrier, by the warpgroup that reads the group last: box 8 (the RoPE part) once S of the tile is
// done, boxes 4-7 (V[R]) after warpgroup 1's P V, boxes 0-3 (V[L]) after warpgroup 0's; one producer thread a group
// (boxes 4-7: one a stage) refills it at once, and S walks the boxes in the order they come back (B tiles 8, 4-7,
// 0-3; A tiles 8, 0-3, 4-7). Each box is a canonical SW128 wgmma operand: K-major for S = Q K^T, and MN-major
// (transpose bit) for O += P V, since V is the first 512 columns of the same rows.
//
// Consumer warpgroup w owns output columns 256w..256w+255 of the 64 x 512 f32 accumulator (128 registers a
// thread). Key tiles come in pairs (A, B); warpgroup 0 computes S for A, warpgroup 1 for B (36 m64n64k16, Q and
// K from shared memory), so one warpgroup's softmax overlaps the other's tensor-core work. The running row
// maximum m is shared through shared memory, and so is P, through one 64 x 64 buffer:
//   wg0: S_A; mA = max(m, rowmax S_A); P_A = exp2(S_A - mA) to shared memory (and mA);
//        O_L = O_L * 2^(m - mA) + P_A V_A[L] (P_A from registers)
//   wg1: S_B; mB = max(mA, rowmax S_B); P_B = exp2(S_B - mB) (registers), c = 2^(mA - mB);
//        P_A' = c P_A from the P buffer into registers; P_B, c, mB to shared memory;
//        O_R = O_R * 2^(m - mA) c + P_B V_B[R] + P_A' V_A[R] (in that order: stage B's V[R] goes back first)
//   wg0: O_L = O_L * c + P_B V_B[L]
// Two named barriers carry the hand-offs (mA and P_A; c, mB and P_B). Row sums are kept per warpgroup (each over
// the P it computed, rescaled alike) and added at the end.
//
// Keys past an item's end in its last page are masked by selection (-inf, never multiplied) in S, and their V rows
// are zeroed in shared memory before P V (0 * NaN would poison O): unused cache slots may hold NaN. Results go to
// out/lse directly (unsplit request) or to the f32 partial rows combine.cu merges, as decode.cu does.
#include <type_traits>
#include "params.h"
#include "common.cuh"
#include "hopper_ops.cuh"

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MLA_SM90A_WIDE 1
#endif

namespace mla {
namespace sm90w {

// A CUtensorMap's 128 bytes (cuda.h not needed): a 2-D map of the cache, dims {576, pages * 64}, row stride
// 1152 bytes, box {64, 64}, 128-byte swizzle; passed by value after MlaParams.
struct alignas(64) TmaMap { unsigned long long w[16]; };

constexpr int kRowsPerCta = 64;
constexpr int kBN = 64;                     // keys a tile (= one page)
constexpr int kBox = 64 * 64 * 2;           // one 64 x 64 box, bytes
constexpr int kTileBytes = 9 * kBox;        // 73,728
static_assert(kTileBytes == kBN * kDQk * 2, "a tile is 9 boxes of 64 columns");
constexpr int kStageBars = 9 * 8;           // bytes of one stage's full mbarriers
constexpr int kQ_OFF = 0;                   // Q: 9 boxes
constexpr int kK_OFF = kQ_OFF + 9 * kBox;   // 2 stages
constexpr int kP_OFF = kK_OFF + 2 * kTileBytes; // P (P_A, then P_B): 64 x 64, K-major SW128
constexpr int SMEM = kP_OFF + kBox + 1024;  // dynamic: + alignment slack (swizzled boxes need 1024-byte alignment)
// Static shared memory beside it: the row arrays and the mbarriers (addressed without pointer registers).
#ifndef MLA_SM90W_MBHAND // (the hand-offs on mbarriers, session 31: see handArrive)
#define MLA_SM90W_MBHAND 1
#endif
struct Rows {
  float mA[64], c[64], mB[64], l[2][64];
  unsigned long long full[2][9]; // one a box
  // Released per group of boxes, each by the one warpgroup that reads it last, so the producer refills parts of a
  // stage while the rest is still in use: [0] box 8 (RoPE: after S of the tile), [1] boxes 4-7 (V[R]: after
  // warpgroup 1's P V), [2] boxes 0-3 (V[L]: after warpgroup 0's P V).
  unsigned long long empty[2][3];
#if MLA_SM90W_MBHAND
  unsigned long long hand[3]; // session 31: the pair's one-way hand-offs 1, 2, 3 (see handArrive)
#endif
};
static_assert(SMEM + sizeof(Rows) <= 232448, "over the 227 KiB a block may opt in to");

#ifdef MLA_SM90A_WIDE
using namespace hop;
// L2 policy for the cache reads of 2 or more row tiles (each page is read by that many CTAs): evict-normal, so a
// page one CTA brought in is still there for its siblings (evict-first made the 256-row case read the cache twice
// from DRAM; see the note, "Profile").
__device__ __forceinline__ uint64_t evictNormalPolicy() {
  uint64_t p;
  asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(p));
  return p;
}
// The producer's wait on an empty barrier: try_wait with a suspend-time hint, so the waiting thread sleeps until the
// phase completes (or the hint runs out) instead of spinning through issue slots the consumers' warps share.
__device__ __forceinline__ void mbarWaitSleep(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAITS_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1, %2;\n"
      "@!done bra WAITS_%=;\n}\n" ::"r"(bar), "r"(parity), "r"(1000000) : "memory");
}
// mbarWaitSleep with the hint as an immediate (no register for it: kVarSeesaw's producer runs in 24).
__device__ __forceinline__ void mbarWaitSleepImm(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAITI_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1, %2;\n"
      "@!done bra WAITI_%=;\n}\n" ::"r"(bar), "r"(parity), "n"(1000000) : "memory");
}
// Cluster helpers (kVarMcast; the rank and the non-aligned cluster barrier, which the producer's diverged warps pass,
// are hopper_ops.cuh's clusterRank / clusterSync).
// Arrive on the mbarrier at the same shared offset in CTA `rank` of the cluster.
__device__ __forceinline__ void mbarArriveRemote(uint32_t bar, uint32_t rank) {
  asm volatile("{\n.reg .b32 ra;\nmapa.shared::cluster.u32 ra, %0, %1;\nmbarrier.arrive.release.cluster.shared::cluster.b64 _, [ra];\n}\n" ::"r"(bar), "r"(rank)
               : "memory");
}
// A box into the same shared offset of both CTAs of the cluster, completing on each one's mbarrier at `bar`.
__device__ __forceinline__ void tmaLoad2dMc(uint32_t dst, const void* map, int c0, int c1, uint32_t bar, uint64_t policy) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5, %6;\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar), "h"(static_cast<unsigned short>(3)), "l"(policy) : "memory");
}
// Bulk prefetch of bytes (a multiple of 16) at a global address into L2; no completion to wait for.
__device__ __forceinline__ void prefetchL2(const void* g, uint32_t bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(reinterpret_cast<uint64_t>(g)), "r"(bytes) : "memory");
}
__device__ __forceinline__ uint32_t ldShared32(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(addr) : "memory");
  return v;
}
// kVarBStKNx: the counts of held stages (one writer; the producer's threads read the first).
__device__ __forceinline__ void stShared32(uint32_t addr, uint32_t v) { asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory"); }
__device__ __forceinline__ void stRelease32(uint32_t addr, uint32_t v) {
  asm volatile("st.release.cta.shared::cta.u32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory");
}
__device__ __forceinline__ uint32_t ldAcquire32(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.acquire.cta.shared::cta.u32 %0, [%1];\n" : "=r"(v) : "r"(addr) : "memory");
  return v;
}
// m64n64k16 with A from registers (the A-fragment layout of the S accumulator) and B K-major from shared memory:
// box 8 of S with Q's RoPE box in registers (kVarSeesaw).
template <typename T> struct WgRs;
#define MLA_WGRS(TY, PT) \
  template <> struct WgRs<TY> { \
    static __device__ __forceinline__ void rs64(float (&d)[32], const uint32_t (&a)[4], uint64_t db) { \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n" \
                   "wgmma.mma_async.sync.aligned.m64n64k16.f32." PT "." PT " {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 0;\n}\n" \
                   : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1)); \
    } \
  };
MLA_WGRS(__nv_bfloat16, "bf16")
MLA_WGRS(__half, "f16")
#undef MLA_WGRS
__device__ __forceinline__ void tmaLoad2d(uint32_t dst, const TmaMap* map, int c0, int c1, uint32_t bar, uint64_t policy) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar), "l"(policy) : "memory");
}
// kVarBQPf: one 64 x 64 box of q into L2 (no completion).
__device__ __forceinline__ void tmaPrefetchQ(const TmaMap* map, int c0, int c1) {
  asm volatile("cp.async.bulk.prefetch.tensor.2d.L2.global.tile [%0, {%1, %2}];\n" ::"l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1) : "memory");
}
__device__ __forceinline__ uint4 ldShared128(uint32_t addr) {
  uint4 v;
  asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "r"(addr) : "memory");
  return v;
}
__device__ __forceinline__ void stGlobal128(void* g, uint4 v) {
  asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"l"(reinterpret_cast<uint64_t>(g)), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w) : "memory");
}
__device__ __forceinline__ void stGlobal64(void* g, uint32_t x, uint32_t y) {
  asm volatile("st.global.v2.b32 [%0], {%1, %2};\n" ::"l"(reinterpret_cast<uint64_t>(g)), "r"(x), "r"(y) : "memory");
}
// kVarBQTma: one 64 x 64 box of q (no cache hint: every part of a request reads the same Q).
__device__ __forceinline__ void tmaLoadQ(uint32_t dst, const TmaMap* map, int c0, int c1, uint32_t bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
               ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(bar) : "memory");
}
#endif

template <typename T> __device__ __forceinline__ uint32_t pack2(float a, float b) {
  typename Half<T>::T2 v = Half<T>::pack(a, b);
  return *reinterpret_cast<uint32_t*>(&v);
}

// The two values of a packed pair (pack2's inverse) as floats.
template <typename T> __device__ __forceinline__ void unpack2(uint32_t w, float& a, float& b) {
  if constexpr (std::is_same<T, __half>::value) {
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w));
    a = f.x, b = f.y;
  } else {
    a = __uint_as_float(w << 16), b = __uint_as_float(w & 0xffff0000u);
  }
}

// Byte offset of element (r, k) (k < 64) in a 64 x 64 K-major SW128 box.
__device__ __forceinline__ int sw128(int r, int k) { return r * 128 + ((((k >> 3) ^ (r & 7))) << 4) + (k & 7) * 2; }

// The keys of a work item this CTA walks, shared by the producer and the consumers.
struct Item {
  int kBegin, kEnd, tileEnd, nTiles, liveRows, qStart, qLen, seqlen;
};
// pairTile (kVarMcast): the tile count follows the last live row of the CTA pair (rowTile | 1), so both CTAs of a
// cluster walk the same tiles; keys a row must not see are masked per row as always.
__device__ __forceinline__ bool itemOf(const MlaParams& p, const int* meta, int batch, int rowTile, Item& it, bool pairTile = false) {
  it.seqlen = p.cacheSeqlens[batch];
  it.kBegin = batch == meta[kMetaBeginIdx] ? meta[kMetaBeginSeqlen] : 0;
  it.kEnd = batch == meta[kMetaEndIdx] ? meta[kMetaEndSeqlen] : it.seqlen;
  queryRange(p, batch, it.qStart, it.qLen);
  it.liveRows = min(kRowsPerCta, min(p.rows, it.qLen * p.nGroups) - rowTile * kRowsPerCta);
  if (it.liveRows <= 0) return false;
  int lastRow = rowTile * kRowsPerCta + it.liveRows - 1;
  if (pairTile) {
    const int sib = rowTile | 1, sibLive = min(kRowsPerCta, min(p.rows, it.qLen * p.nGroups) - sib * kRowsPerCta);
    if (sibLive > 0) lastRow = max(lastRow, sib * kRowsPerCta + sibLive - 1);
  }
  it.tileEnd = min(it.kEnd, visibleKeys(p, it.seqlen, it.qLen, lastRow / p.nGroups));
  it.nTiles = it.tileEnd > it.kBegin ? (it.tileEnd - it.kBegin + kBN - 1) / kBN : 0;
  return true;
}

__device__ __forceinline__ Rows& rows() {
  __shared__ Rows r;
  return r;
}

// Variant bits (VAR): kVarL2 evict-normal cache reads when there are 2 or more row tiles; kVarGridX the row tile on
// grid x and the SM part on grid z (a part's row tiles are neighbouring CTAs, as FlashMLA launches them); kVarSleep
// the producer waits with a suspend-time hint; kVarSkip O is not rescaled by factors of exactly 1; kVarFull tiles
// every key of which both rows see skip the mask (bit 32, kVarOrder: warpgroup 1 queuing S_B behind P_A V_A[R],
// measured 5-15 % slower in session 8 and removed; commit 6c7d876 has it). The library's entries use kLibVar; the
// harness times the others.
// Session 8b (harness only so far): kVarPf the producer's box-8 thread, right after it issues box 8 of a tile, asks
// L2 to prefetch that tile's whole page (one bulk prefetch of 73,728 bytes), so the V boxes requested later (tile
// B's at the end of a pair) find it in L2 instead of waiting on DRAM; kVarPfNext the same for the item's next tile
// (one tile further ahead); kVarEarlyRel warpgroup 0 waits for P_A V_A[L] and hands V_A[L] back before it waits
// for P_B, not after; kVarUnrollS S's walk over the nine boxes unrolled (fewer uniform address instructions).
constexpr int kVarL2 = 1, kVarGridX = 2, kVarSleep = 4, kVarSkip = 8, kVarFull = 16;
constexpr int kVarPf = 64, kVarPfNext = 128, kVarEarlyRel = 256, kVarUnrollS = 1 << 9; // (not 512: the sources test keeps that number for the value dimension)
// kVarMcast (harness only): the two row tiles of a pair (grid x 2i, 2i + 1, kVarGridX) run as a 2-CTA cluster and
// share every tile: each CTA's producer issues about half of a group's boxes with TMA multicast into both CTAs'
// stages, a group is refilled only when both CTAs handed it back (empty barriers take 2 arrivals, one of them
// remote), and both walk the pair's tile count. Needs an even number of row tiles, all live (uniform query
// lengths); launched with a cluster dimension of (2, 1, 1).
constexpr int kVarMcast = 1024;
// kVarFoldScale (harness only; session 9's second round, NOT yet run): the softmax scale is folded into the
// exponent's FFMA, exp2(s * scaleLog2 - base), as FlashMLA does: the mask step keeps raw scores (the row maximum is
// taken raw and scaled once, 2 multiplies instead of 32), and expPack's 32 subtractions become FFMAs, so a tile's
// softmax issues 30 fewer FP32 instructions a thread in each consumer warpgroup. x2846 = x798 + this bit.
constexpr int kVarFoldScale = 2048;
// kVarSeesaw (harness only; session 10): warpgroup 1 multiplies its own P_B V_B[R] first, straight after its softmax,
// and P_A V_A[R] second, with P_A already rescaled to m_B by warpgroup 0 (P_A' = c P_A, from the float P_A it keeps),
// so stage B's V[R] boxes go back to the producer a whole P V earlier and warpgroup 0 waits for c (right after
// warpgroup 1's softmax) instead of for P_B (after warpgroup 1's first P V had drained). P_B needs its own buffer
// while P_A' is in the P tile: Q's RoPE box (box 8), whose 64 x 64 values each consumer warpgroup keeps in registers
// (16 a thread, the A fragment of an RS wgmma for box 8 of S). Hand-offs a pair: 1 mA (wg0 -> wg1), 2 c and mB
// (wg1 -> wg0), 3 P_A' (wg0 -> wg1), 7 P_B stored and P_A V_A[R] issued (wg1 -> wg0). x4894 = x798 + this bit.
constexpr int kVarSeesaw = 4096;
// kVarSPipe (with kVarSeesaw; harness only): warpgroup 0 issues S of its next tile right behind P_B V_B[L] (no
// drain between them), so S_A' reaches the tensor core ahead of warpgroup 1's S_B'. x13086 = x4894 + this bit: 0.881x
// x798 in session 10's first call (12-17 % slower at s_k >= 4096); its entry was removed, the bit kept for the record.
constexpr int kVarSPipe = 8192;
// Session 10, second round (after x4894's profile: warpgroup 1 spent 25 % of its samples waiting for box 4 of
// tile B', warpgroup 0 9 % for box 4 of tile A'). In the seesaw order stage B's V[R] comes back (after P_B V_B[R])
// BEFORE stage A's (after P_A' V_A[R]), but one producer thread refills group 1 of every tile in tile order, so
// B' waited behind A' anyway; and S of A' walked 8, 4-7, 0-3 although its V[R] boxes now come back last.
// kVarWalkA (16384): S of an A tile (warpgroup 0) walks 8, 0-3, 4-7 (the order stage A comes back in the seesaw).
// kVarProd2 (32768): group 1 (V[R], boxes 4-7) gets one producer thread a stage (warps 9 and 10), so each stage's
// refill starts when that stage is released; box 8 (warp 8) and V[L] (warp 11) come back in tile order and keep one
// thread each. x54046 = x4894 + both; x37662 = x4894 + kVarProd2.
constexpr int kVarWalkA = 16384, kVarProd2 = 32768;
// kVarQ8G (65536, with kVarSeesaw): S's box 8 takes Q's RoPE fragments straight from global memory (16 read-only
// 32-bit loads a thread, L1-resident after the first tile) at the start of each S, instead of 16 registers held for
// the whole item: x54046 spilled 16-20 bytes at 240 registers (once an item, but the library builds with
// -warn-spills as an error). S then walks box 8 third (0, 1, 8, 2, 3, 4-7 for A tiles; 4, 5, 8, 6, 7, 0-3 for B) so
// the loads land behind two boxes of wgmma. x119582 = x54046 + this bit.
constexpr int kVarQ8G = 65536;
// kVarQEarly (262144; harness only; session 11 round 2; not with kVarSeesaw): the next item's Q is loaded while the
// current item finishes, not after it. Q is free once both warpgroups' last S of the item is done, which warpgroup 0
// knows in the item's last pair when it passes named barrier 2 (warpgroup 1 arrives there after its softmax of S_B;
// warpgroup 0's own S_A was waited for before its softmax). So in the last pair warpgroup 0's 128 threads issue the
// cp.async of the next live item's 64 Q rows (36 chunks a thread) right behind its last P_B V_B[L], and the copy
// flies during that P V, both warpgroups' storeRows and the item-boundary barrier; the next item then only waits for
// it (cp.async.wait_all, fence, barrier). Both warpgroups know the next Q is there when the item had a tile (the last
// pair ran) and a next item exists (they walk the same items).
constexpr int kVarQEarly = 262144;
// kVarStAsync (524288; session 12, h2): an unsplit item's output rows leave through shared memory and bulk copies
// instead of 64 four-byte global stores a thread (eight half-sectors a warp instruction: the trace's srst, ~7 us an
// item at s_k 1024). Once both warpgroups' row sums are in, Q's region is free (every S of the item was waited for):
// each thread writes its two rows' O / l (bf16 / f16) there, rows 1040 bytes apart (bank 4 gq + tq: conflict-free),
// fence.proxy.async, named barrier 4, then warp 0 of warpgroup 0 issues one cp.async.bulk a live row (1 KB, lane l
// rows l and l + 32) and commits; nobody waits for the global writes. Those lanes wait for the copies to have READ
// shared memory (wait_group.read 0) before the next item's first barrier 4 (after which Q is written) and before the
// CTA exits. The lse stays a plain store; the f32 partials of split items keep the direct stores (128 KB a CTA > Q's
// 72 KB); an out pointer not 16-byte aligned keeps them too (CTA-uniform).
constexpr int kVarStAsync = 524288;
// kVarStSpread (1048576, with kVarStAsync): every consumer warp issues the bulk copies of 8 rows (lanes 0-7), not
// warp 0 all 64 (a copy's issue is per lane: 64 in one warp serialise), and every consumer thread waits for its own.
// (2097152 was kVarStShort, the staged path only for items of at most 32 key tiles: a diagnostic whose entry went in
// session 16 round 2; retired in session 17 round 2, main 4726ae2 has it. The number was kVarB2Late's in session 17 round 2, kVarPolyHalf's since round 3. Its
// test stays, on 0: without it the front end shapes the item loop differently and the library's code would change.)
constexpr int kVarStSpread = 1048576, kVarStShortGone = 0;
constexpr int kORow = 1040; // kVarStAsync: bytes between two staged output rows (1024 + 16)
static_assert(64 * kORow <= 9 * kBox, "kVarStAsync: the staged rows fit in Q's region");
// kVarStF32 (4194304, with kVarStAsync | kVarStSpread; session 12 round 2, harness only so far): a split item's f32
// partial rows (64 x 2 KB, more than Q's 72 KB) leave through Q's region in two halves: half h holds columns
// 128h..128h+127 of each warpgroup (16 of a thread's 32 column pairs), 1 KB a row, rows kORowF apart (64-bit stores:
// bank 8 gq + 2 tq (+1) in each half-warp, conflict-free); fence, barrier 4, lanes 0-7 of every consumer warp send
// their row's two 512-byte pieces (cp.async.bulk) and commit; before half 1 those lanes wait for half 0's copies to
// have read shared memory, then barrier 4. The lse stays a plain store; nobody waits for the global writes.
constexpr int kVarStF32 = 4194304;
// kVarEx2Ftz (8388608; session 12 round 3, h2; in the library since session 13): the softmax's exponentials (expPack / expKeep
// and the rescale factors) as ex2.approx.ftz.f32 instead of exp2f. Without -ftz, exp2f is ex2.approx.f32, which ptxas
// turns into FSETP (x < -126?), a predicated FMUL by 0.5, MUFU.EX2 and a predicated squaring FMUL: 4 instructions
// where FlashMLA (built with fast math) issues 1. A 64 x 64 tile's 4096 exponentials are 128 warp-level MUFUs, so 384
// warp instructions a tile of the ~480 by which the library's tile exceeds FlashMLA's in ncu (s12_ncu_tile). The
// only numerical change: results below 2^-126 flush to 0 (P and factors are <= 1 and summed against a row maximum of 1).
constexpr int kVarEx2Ftz = 8388608;
// kVarPAReg (16777216; session 13 round 2, h2; in the library since session 14, with kVarPBFirst): warpgroup 1 no
// longer drains P_A V_A[R] before it stores P_B. After barrier 1 it reads its own P_A fragments from the P tile into
// registers (the words each thread later overwrites with P_B), multiplies them by c = 2^(m_A - m_B) (skipped when c is
// 1 for the whole warp), stores P_B over them at once and publishes c / m_B / P_B (barrier 2) before any of its P V is
// issued; then P_A' V_A[R] and P_B V_B[R] both from registers (RS), back to back, O_R rescaled once (scA * c) before
// them. Warpgroup 0 gets P_B one P V (~512 tensor cycles) plus a drain earlier, and the tensor core has no bubble
// between warpgroup 1's two P V.
constexpr int kVarPAReg = 16777216;
// kVarPBFirst (33554432; session 14, h1; in the library since call B; with kVarPAReg, meant with kVarProd2): warpgroup
// 1 issues P_B V_B[R] first and P_A' V_A[R] second (two commit groups), so wait_group 1 releases stage B's V[R] (boxes
// 4-7) one P V (~512 tensor cycles) earlier and stage A's after wait_group 0: stage B's hold, which the next S_B's
// box-4 wait exposes every pair, shrinks. Same products, their fp32 order into O_R swapped. kVarProd2 gives each
// stage's boxes 4-7 their own producer thread, so B's refill does not queue behind A's (now later) release.
constexpr int kVarPBFirst = 33554432;
// kVarVis4 (67108864; session 14, h1; in the library since session 14's call A): the four "visibility" waits of
// the consumer loop (boxes 0-3 of stage B in warpgroup 0, boxes 4-7 of stage A in warpgroup 1: complete already,
// waited for their data's visibility) as four try_waits issued back to back whose predicates are tested together,
// instead of a `#pragma unroll 1` loop of four serial try_wait spins (~160 SM cycles a pair in each warpgroup in
// session 13's ncu).
constexpr int kVarVis4 = 67108864;
// kVarPBEarly (268435456; session 15, h1; with kVarPAReg | kVarPBFirst; in the library since session 16, with
// kVarCEarly): warpgroup 1 issues P_B V_B[R] right after its softmax, before the visibility waits on stage A's V[R] and
// the c multiply of P_A', and publishes c / m_B / P_B (barrier 2) only after both of its P V are issued. The order is:
// P_A's words read from the P tile, P_B stored over them (with c, m_B and the proxy fence), P_B V_B[R] issued; the
// visibility waits and P_A' = c P_A while it runs, P_A' V_A[R] issued; then barrier 2's arrive, the two waits and
// releases as before. The tensor queue keeps its order (both of warpgroup 1's P V ahead of warpgroup 0's P_B V_B[L],
// which still follows barrier 2); what moves is the first P V's issue, ~300-400 SM cycles a pair earlier into a pipe
// that sits idle there (ncu of x127451934). Same products into O_R in the same order: results bit-identical to the
// library's.
constexpr int kVarPBEarly = 268435456;
// kVarCEarly (536870912; session 16, h1; with kVarPBEarly; in the library since session 16): barrier 2's two jobs
// split. Warpgroup 1, in a pair with a B tile, issues P_B V_B[R] straight after its softmax (RS: P_B from its
// registers, so none of the P tile's traffic ahead of it), then reads its P_A words, stores P_B / c / m_B over them,
// fences and arrives at barrier 3 (c, m_B and P_B ready); then as kVarPBEarly, barrier 2's arrive last (queue order
// only). Warpgroup 0 waits at barrier 3 instead of 2 and does its pre-P-V work there (c, m_B, lA / lB *= c, scaleO,
// stage B's box waits, zeroTail, the descriptors); barrier 2 then stands right before its P_B V_B[L], which it issues
// at once. The tensor queue keeps its order; same products into O in the same order: results bit-identical to the
// library's.
constexpr int kVarCEarly = 536870912;
// kVarMAEarly (1073741824; session 16 round 2, h1; harness only, with kVarCEarly | kVarPAReg): barrier 1's two jobs
// split. Warpgroup 0 stores m_A and arrives at barrier 1 right after its mask and row maxima, before expPack; P_A
// (stored and fenced as before, still ahead of its P_A V_A[L]) gets barrier 8. Warpgroup 1 needs m_A for its softmax
// and P_A only for the P_A' words it reads after its P_B V_B[R] issue (kVarCEarly's publication, or the no-B path's
// loads), where it waits at barrier 8: its softmax and its first P V start about one softmax earlier. Same products
// into each O in the same order (results bit-identical to the library's); only the two warpgroups' issue times move.
constexpr int kVarMAEarly = 1073741824;
// kVarPBLate (32, the number of session 8's removed kVarOrder; session 17, h2; harness only, with kVarCEarly, not with
// kVarMAEarly): warpgroup 1's publication split again, by what each reader needs when. Right after P_B V_B[R]'s issue it
// stores c / m_B alone and arrives at barrier 3 (warpgroup 0's pre-P-V work needs only those: plain loads, ordered by
// the barrier, no proxy fence), reads its P_A words, and issues P_A' V_A[R] as soon as the visibility waits and the c
// multiply allow; P_B's stores over the P_A words and the proxy fence come only after that issue, before barrier 2
// (which warpgroup 0 waits at right before its SS read of P_B). In the ncu of x932758302 (session 17, call A) the
// P_B stores, the fence and the barrier-3 arrive kept P_A' V_A[R]'s issue ~730 SM cycles behind P_B V_B[R]'s, which
// runs ~4 x 128: the tensor pipe idled between warpgroup 1's two P V every pair (wait_group 1 found P_B V_B[R] done).
// Same products into each O in the same order: results bit-identical to the library's.
constexpr int kVarPBLate = 32;
// Timing probe (session 17 round 2, h2; harness only, NEVER shippable: kVarPrNoMA is not range-safe; no entry since
// round 3). They measure what a dependency of the pair costs, as upper bounds for a
// redesign. kVarPrNoMA (134217728): warpgroup 1 does not wait for m_A before its softmax: P_B against its own running
// maximum m_B = max(m_prev, rowmax S_B), O_R and its sums rescaled from m_prev to m_B; barrier 1 (m_A and P_A) is waited
// at only where it reads its P_A words, and c = 2^(m_A - m_B) (may exceed 1: P_A' and warpgroup 0's O_L are brought to
// m_B, the pair's reference maximum) is taken there. Exact in real arithmetic; c > 1 can overflow f16 P_A' and is not
// guarded (hence no f16 entry).
constexpr int kVarPrNoMA = 134217728;
// (kVarB2Late, 2097152, and kVarPrNoExB, bit 31: session 17 round 2's b2l (measured 1.000) and nexb (the probe without
// softmax B's exponentials: 1.025 at 256 rows, 1.019 at 128) retired in round 3; main 78aa87e has them. Their numbers are
// kVarPolyHalf's and kVarPolyExB's now.)
// kVarPolyExB (INT_MIN, bit 31; session 17 round 3, h2; harness only): warpgroup 1's softmax of S_B computes a share of
// its 32 exponentials a thread with ex2Poly (FMA / ALU pipes) instead of MUFU.EX2, which nexb found on the pair's path
// (softmax A's 32 and B's 32 a thread share each sub-partition's MUFU: 8 cycles a warp instruction). Share: a quarter
// (column groups i = 3, 7 of expPack's eight: 8 a thread); with kVarPolyHalf (2097152) a half (i odd: 16 a thread).
constexpr int kVarPolyExB = static_cast<int>(0x80000000u);
constexpr int kVarPolyHalf = 2097152;
// VARB, a second word of variant bits (all 32 of VAR are spoken for); 0 in the library's entries.
// kVarBNoProd (1; session 19, h1; harness only, with the library's pair order): no producer warpgroup, FlashMLA's shape.
// The CTA is the two consumer warpgroups (256 threads, __launch_bounds__(256, 1): up to 255 registers a thread without
// setmaxnreg, where the 384-thread CTA gives them 232). The copies the producer's four threads issued are issued by the
// thread that used to hand the group back: thread 0 of the warpgroup that reads it last, right where it arrived on the
// group's empty barrier (its wgmma reads are waited for there), refills the group with the tile two ahead (tile u + 2
// goes where tile u was: stage u & 1). The empty barriers are not used. The page rows it needs are loaded ahead: at a
// pair's start thread 0 of each warpgroup loads the rows of tiles t + 2 and t + 3 (t + 2 / t + 3 past the item's end:
// the first two tiles of the items after it, found once an item while its Q is in flight); thread 0 of the CTA issues
// the CTA's first two tiles before the consumers start. Same products in the same order: results bit-identical.
constexpr int kVarBNoProd = 1;
// Four consecutive barriers (bar, bar + 8, + 16, + 24) on one parity: all four try_waits issued, then one test.
__device__ __forceinline__ void mbarWait4(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred d0, d1, d2, d3;\nWAIT4_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 d0, [%0], %1;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 d1, [%0+8], %1;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 d2, [%0+16], %1;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 d3, [%0+24], %1;\n"
      "and.pred d0, d0, d1;\nand.pred d2, d2, d3;\nand.pred d0, d0, d2;\n"
      "@!d0 bra WAIT4_%=;\n}\n" ::"r"(bar), "r"(parity) : "memory");
}
constexpr int kORowF = 1056; // kVarStF32: bytes between two staged half rows (1024 + 32)
constexpr int kPieceF = 128 * 4; // kVarStF32: bytes of one warpgroup's 128 columns in a staged half row (one bulk copy)
static_assert(64 * kORowF <= 9 * kBox, "kVarStF32: a half of the staged partial rows fits in Q's region");
__device__ __forceinline__ void stShared2f(uint32_t a, float x, float y) { asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n" ::"r"(a), "f"(x), "f"(y) : "memory"); }
// kVarTrace (131072; harness builds with MLA_SM90W_TRACE only): each CTA writes its SM, global-timer and clock64
// stamps (start, each item's end, the end of each warpgroup) to mlaSm90wTrace, so a harness can see whether a
// launch's time is the kernel's and where it goes (session 11: single launch against a sustained run).
#ifdef MLA_SM90W_TRACE // (all of it: the library's build defines nothing here, not even the bit)
constexpr int kVarTrace = 131072;
// Per CTA (linear id) kTraceWords words: [0] smid, [1] global ns at start, [2] clock64 at start, [3] / [4] global ns /
// clock64 at warpgroup 0's end, [5] global ns at warpgroup 1's end, [6] items, [7] see below, [8..15] global ns at the
// end of warpgroup 0's items 0..7 (after its storeRows); session 11 round 2: [16..23] global ns when item k starts
// (both consumer warpgroups done with the previous item: the first named barrier), [24..31] when its Q is in shared
// memory (the second), [32..39] its key tiles. Session 11 round 4, clock64 (SM cycles) of items 0..7, all by warpgroup
// 0's thread 0 except [80..87]: [40..47] its first S issued (all 9 boxes of the first key tile waited for), [48..55]
// that S done, [56..63] the first pair done, [64..71] the last pair's start, [72..79] the loop's end (storeRows'
// start), [80..87] warpgroup 1's loop end, [88..95] storeRows past its barrier (both warpgroups' row sums in),
// [96..103] Q in shared memory (as [24..31]), [104..111] the item's end (as [8..15]); [7] 1 where these are written.
constexpr int kTraceCtas = 1024; // launches of up to this many CTAs are traced
constexpr int kTraceWords = 216; // session 12 round 2: [112..119] 1 where item k is split (f32 partials), else 0
// Session 13 round 2 (x798 pair order, kItemStamps): SM cycles summed over item k's pairs (thread 0 of each warpgroup)
// of [120..127] warpgroup 0 waiting on barrier 2 (P_B, c), [128..135] warpgroup 1 waiting on barrier 1 (P_A, m_A),
// [136..143] warpgroup 1's first wgmma wait after barrier 1 (the library: the drain of P_A V_A[R] before P_B is
// stored; kVarPAReg: wait_group 1, P_A' V_A[R] done behind P_B's publication). The two barrier sums read too little:
// the warps issue past a deferred-blocking BAR.SYNC and stall at the first shared load after it, outside the stamps
// (ncu of session 13's call A: ~1270 cycles a pair at barrier 2 where these read 2); the drain sums agree with ncu.
// Session 30 (kItemStamps, clock64 by warpgroup 0's thread 0, items 0..7): storeRows' staged path [144..151] its shared
// stores done, [152..159] past the barrier after the proxy fence, [160..167] its bulk copy issued and committed; the
// item's start [176..183] the previous item's copies read (bulkWaitRead0), [184..191] past the first barrier 4,
// [192..199] Q's mbarrier waited (kVarBQAll); [168..175] the split path's stores done; the producer's boxes-0-3 thread,
// item k's first tile: [200..207] before its wait for the free stage, [208..215] its copies issued.
__device__ unsigned long long mlaSm90wTrace[kTraceCtas * kTraceWords];
__device__ __forceinline__ unsigned long long* traceCta() {
  return mlaSm90wTrace + kTraceWords * (blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z));
}
__device__ __forceinline__ unsigned long long traceNs() {
  unsigned long long g;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g));
  return g;
}
// clock64 into word base + k (the producer's own item count), first 8 items.
__device__ __forceinline__ void traceClkAt(int base, int k) {
  if (k < 8) traceCta()[base + k] = static_cast<unsigned long long>(clock64());
}
// clock64 into word base + (the CTA's items so far), first 8 items; by the caller's one thread.
__device__ __forceinline__ void traceClk(int base) { traceClkAt(base, static_cast<int>(min(traceCta()[6], 8ull))); }
// kVarBTimeline (VARB 2; session 19 round 2, h1; trace builds only, the library's pair order): thread 0 of each
// consumer warpgroup writes %clock (SM cycles, 32 bits) at each wgmma group's issue end, each wgmma wait's end, each box
// wait of the S walk (first, last) and each named barrier (issue-past: a BAR.SYNC blocks at the next shared load, so
// those stamps are lower bounds) of the CTA's pairs kTlSkip .. kTlSkip + kTlPairs - 1, into mlaSm90wTl: per CTA and
// warpgroup kTlPairs + 1 rows (the last takes every pair outside the window) of kTlEv words; word 15 of a row is the
// pair's t | nTiles << 16 | hasB << 31. Events: 0 pair top, 1 / 2 S's first / last box landed, 3 S issued, 4 S done,
// then warpgroup 0: 5 barrier 1 arrived (P_A, m_A out), 6 P_A V_A[L] issued, 7 its wait, 8 barrier 3, 12 stage B's
// visibility waits, 9 barrier 2, 10 P_B V_B[L] issued, 11 its wait; warpgroup 1: 5 barrier 1, 6 P_B V_B[R] issued,
// 7 publication + barrier 3 arrived, 12 stage A's V[R] visibility waits, 8 P_A' V_A[R] issued, 9 barrier 2 arrived,
// 10 wait_group 1 (P_B V_B[R]), 11 wait_group 0 (P_A' V_A[R]).
constexpr int kVarBTimeline = 2;
#endif
// Session 19 round 3 (h1): tensor work under softmax A (the timeline's gap_a, call C3). kVarBOwnMax (VARB 4): warpgroup 1's
// softmax B against its own running maximum (no wait for m_A: kVarPrNoMA's order), P_B V_B[R] issued straight after it;
// at barrier 1 (read with the publication, after that issue) the pair's maximum max(m_A, m_B), one unconditional
// wait_group 0 (P_B V_B[R] retired), O_R / its sums / the P_B words brought down by d = 2^(m_B - max) <= 1 where it moved
// (a warp-uniform skip when every d is 1), c = 2^(m_A - max) <= 1 published as before: exact as the library's order, c
// and d never above 1 (f16 as bf16), V_B[R] handed back at that wait. kVarBStag (VARB 8): warpgroup 0's S walk waits
// (barrier 9) until warpgroup 1 has issued its whole S walk, so S_B' ends first and softmax B (and P_B V_B[R]) run
// under S_A'; kVarBStag5 (VARB 16): the same after the first five boxes of warpgroup 1's walk (8, 4-7: the boxes handed
// back early; 0-3, handed back at the previous pair's end, walked by both). Both need kVarBOwnMax; harness only.
constexpr int kVarBOwnMax = 4, kVarBStag = 8, kVarBStag5 = 16;
// Session 20 (h1): the code-size probe (harness only, the library's code plus never-executed DFMAs behind a test of
// p.b < 0). VARB bits 8-19 (kVarBPadInShift): that many at the end of warpgroup 1's pair, inside the kernel's HGMMA span
// (ptxas lays warpgroup 1's loop out before warpgroup 0's); bits 20-22 (kVarBPadOutShift; 20-29 until session 20 w3, whose
// bits 27-29 took the top three, 20-26 until session 21 n3, whose kVarBQAll took bit 26, 20-25 until w5, whose
// kVarBStK / kVarBStKPf took bits 25 / 24, and 20-23 until w6, whose kVarBStKNx took bit 23: pads after the loop of at
// most 7 now, po1's / po2's / pnp's need branch s20-h1): that many after warpgroup 0's
// item loop (the last code, outside the span). They make the image (and, inside, the hot loop's address range) longer;
// ptxas re-schedules the rest as for any change (the 4-DFMA twin "pz" is that control).
// kVarBPadExec (VARB 1 << 30): the bits-8-19 count is instead *executed* once a pair by the producer thread of stage 0's
// boxes 4-7 (warp 9), after its copies are issued (three DFMA chains, ~1000 cycles of a thread whose next copy is a pair
// away): the same bytes fetched every pair, off the consumers' path. The pads are DFMAs (the FP64 pipe): with FFMAs ptxas
// moved ~100 of the loop's integer moves between the FMA and ALU pipes (IMAD against IADD3 / MOV) to balance them.
constexpr int kVarBPadInShift = 8, kVarBPadOutShift = 20, kVarBPadExec = 1 << 30;
// kVarBQTma (VARB 32; session 20 h5, decode_sm90.cu's kNVarQTma for this kernel; a library candidate: MLA_SM90W_LIB_VARB=32
// gives the library's entries a third parameter, q's tensor map, launch.ts sm90QMap with 64-row boxes, and _ld entries
// without it): the first item's Q (nine 64 x 64 boxes, 128-byte swizzle: exactly the layout of Q's region) comes by TMA,
// issued by the producer's thread 256 right after the metadata and the first item's query range are read, before the
// CTA barrier, on its own mbarrier (8 bytes past the P box: inside the 1024 bytes of alignment slack, no new shared
// memory). The consumers wait on it (parity 0) at the first item instead of issuing 18 cp.async a thread after the
// barrier and the item's reads. Later items keep the cp.async. Box rows past the item's live rows are the next
// request's rows (zeros past q's end), not zeros: dead rows' scores are masked to -inf by their limit 0 whatever Q
// holds, and never stored.
constexpr int kVarBQTma = 32;
// kVarBQAll (VARB 1 << 26, with kVarBQTma; session 21 n3, a library candidate: MLA_SM90W_LIB_VARB = the library's bits |
// 32 | 1 << 26): every item's Q by TMA, not only the first's. Thread 0 (warpgroup 0) issues the nine boxes of q's map on
// the same mbarrier (one phase an item; each consumer thread counts the phases it waited). Where it issues them:
//   - the item after one whose output does not go through Q's region (a split item: the f32 partials are stored
//     directly; or an out pointer not 16-byte aligned): in that item's last pair, as soon as both warpgroups' last S
//     has read Q (warpgroup 0 past barrier 3, or barrier 2 without a B tile: warpgroup 1's S_B was waited before its
//     softmax), right behind P_B V_B[L]'s issue; the copy flies during the last P V and the epilogue's stores;
//   - otherwise (the staged output rows are in Q's region until their bulk copies have read them; an item without
//     tiles) at the item's start, after the barrier that follows those reads, where the cp.async fill stood.
// Thread 0 finds the next item with live rows in this row tile while the item's own Q is in flight (itemOf's test, from
// the query ranges only). The first item stays the producer's (kVarBQTma), whose thread 256 now initialises the
// mbarrier whether or not it issues. The consumers' fill of 18 cp.async a thread, its wait_all, go.
constexpr int kVarBQAll = 1 << 26;
// kVarBStK (VARB 1 << 25, with kVarBQAll; session 21 w5, a library candidate: MLA_SM90W_LIB_VARB = the library's bits |
// 1 << 25): an unsplit item's staged output rows (kVarStAsync) go into the stage of the item's last key tile instead of
// Q's region (FlashMLA stages its O in a K buffer too), so Q's region is free once the last S has read it and every
// item with tiles issues the next item's Q in its last pair (kVarBQAll's early issue, so far only after split items).
// The stage's three groups are not handed back in that pair: thread 0 of warpgroup 0 hands them back at the next
// item's start, after the barrier that follows the copies' reads (wait_group.read), so the producer's refill of that
// stage (the next item's second tile) waits for the output instead of the next S waiting for Q's round trip. An item
// without tiles keeps its rows in Q's region (its successor's Q at that item's start, as before). The code-size
// probe's pad-after-the-loop field shrinks to bits 20-23 (at most 15; kVarBStKPf took bit 24).
constexpr int kVarBStK = 1 << 25;
// kVarBStKPf (VARB 1 << 24, with kVarBStK; session 21 w5, the slot's second candidate): the producer's box-8 thread, right
// after it issues an item's first tile, asks L2 for the whole page of the item's second tile (one bulk prefetch of
// 73,728 bytes; a used page: the item has two tiles or more), so the copy into the held stage, issued only once the
// previous item's output is read out, finds it in L2.
constexpr int kVarBStKPf = 1 << 24;
// kVarBStKNx (VARB 1 << 23, with kVarBStK; session 21 w6, prepared for session 22): kVarBStK's hold moved off the
// consumers' pair loop, and only where the part has a next item. An unsplit item's rows go into its last tile's stage
// only when a later item of the part has live rows in this row tile (nextQRow's test, by every consumer thread after
// the pair loop, so nothing new is live across it; the part's last item stages in Q's region as shipped). The
// consumers hand every group back in the pair as shipped (the pair loop's source is the shipped one). Instead thread 0
// of warpgroup 0 counts the holds it staged (the word 12 past Q's mbarrier, in the alignment slack) and, at the next
// item's start (after the barrier that follows the copies' reads), stores that count with st.release into the word 8
// past it; each producer thread, before it refills a stage that held rows, waits (ld.acquire) until that count reaches
// the hold's number. The producer numbers a hold when it reaches the next live item (the same test), so both sides
// count the same holds. A count, not an mbarrier's parity: a one-tile item between two holds leaves two pending at once.
constexpr int kVarBStKNx = 1 << 23;
// Session 30 (call 4's stamps: an unsplit item's 64 bulk row copies take ~1.6 us to issue, the TMA unit taking them one
// 1 KB copy at a time, and the next item's start waits ~0.6 us more for them to be read, then ~2 us for Q's round
// trip). kVarBStLds (VARB 1 << 22): the staged output rows (still in Q's region, kVarStAsync) go out by the consumers
// themselves, each warp reading half a row a step (16-byte shared loads, conflict-free) and storing it to `out` as one
// coalesced 512-byte warp store: 16 steps a thread, no bulk copies, nothing to wait for at the next item's start (the
// loads are done once their stores have issued). kVarBQPf (VARB 1 << 21, with kVarBQAll): where the next item's Q is
// not issued in the last pair (its rows are staged in Q's region), thread 0 asks L2 for its nine boxes at the last
// pair's start (tensor prefetches of q's map), so the copy at the next item's start finds them there. The code-size
// probe's pad-after-the-loop field shrinks to bit 20 (at most 1).
constexpr int kVarBStLds = 1 << 22, kVarBQPf = 1 << 21;
// Session 31 (MLA_SM90W_STREG, a -D switch: VARB has no free bit): an unsplit item's output rows go from the
// accumulators straight to `out` (no staging in Q's region, no bulk copies), each quad writing 32 contiguous bytes a
// store (one xor-1 shuffle a pair of 8-column chunks: even lanes keep chunk i, odd lanes chunk i + 1, 8 bytes each), so
// Q's region is free at the last pair and every item's successor Q is issued there (kVarBQAll's early issue, until now
// split items only). Session 30 measured the unsplit boundary at ~6 us (staging ~1 us, the copies ~1.5 us, Q's round trip
// ~2 us) and the split one, which already stores from registers and issues Q early, at ~3.1 us.
#ifndef MLA_SM90W_STREG
#define MLA_SM90W_STREG 0
#endif
// Session 32 (measurement switches, never set by build-kernels). MLA_SM90W_QPF_AT, with kVarBQPf: the pair at which
// thread 0 asks L2 for the next item's nine Q boxes. 0: session 30's E3 (the last pair, only where Q is not issued
// there); 1: the item's middle pair, every item (Q then crosses DRAM while the K stream leaves the bandwidth idle at 128
// / 256 rows, not in the boundary's burst); 2: pair (part mod pairs), every item (the grid's prefetches spread over the
// item instead of one burst at its middle). Measured on the H200 (session 32 call 1): Q's wait at the boundary 3.0 ->
// 2.3 us in a trace, 0.9994x (1) and 1.0031x (2) the time over ten b=128 rows: kept off. MLA_SM90W_DESYNC_NS (trace
// builds only, a diagnostic): CTAs of odd SM parts wait that many ns of the global timer before their first item, so
// half the grid's item boundaries fall between the other half's; with 18000 a boundary took ~0.65 us less of ~6.
#ifndef MLA_SM90W_QPF_AT
#define MLA_SM90W_QPF_AT 0
#endif
// Session 31: the library pair order's three one-way hand-offs between the consumer warpgroups (barrier 1: m_A and
// P_A, warpgroup 0 -> 1; 3: c, m_B and P_B; 2: P V issued, 1 -> 0) are mbarriers of 128 arrivals (every thread of the
// handing warpgroup arrives, the other waits on the phase) instead of named-barrier arrive / sync pairs.
// compute-sanitizer's racecheck does not take barrier.arrive as a release (racecheck_probe.cu mode 4: 68-69 k reports a
// shape on this kernel until then) and models the mbarrier form (mode 6): racecheck 0 on 17 shapes (H200, session 31
// call 4; docs/notes/sanitizers.md). Each arrive has exactly one wait, in order, as the named pairs had (a second arrival
// before the other side's wait would have broken those too: each side's next arrival follows its wait on the other's),
// so one parity bit a barrier and waiter is enough. -DMLA_SM90W_MBHAND=0 builds the named-barrier form (measurement).
// MLA_SM90W_HANDSLEEP (a -D switch, measurement): the waits with a suspend-time hint (mbarWaitSleepImm).
#ifndef MLA_SM90W_HANDSLEEP
#define MLA_SM90W_HANDSLEEP 0
#endif
// Session 20 (w1): the softmax with fewer instructions (harness only so far; the plan's item 2, branch (A)). The scale
// fold is session 9's kVarFoldScale (VAR 2048: raw scores through the mask and the row maximum, the maximum scaled once,
// expPack's subtraction an FFMA s * scaleLog2 - base) on the library's bits. kVarBGuardMax (VARB 64): the -inf guards of
// the exponent bases (base = max == -inf ? 0 : max, an FSETP and an FSEL a row: two in softmax A, four in softmax B) as
// one FMNMX, base = max(max, -FLT_MAX). Exact: a base is -FLT_MAX only where its maximum is -inf, and there every score
// and every previous maximum it meets is -inf too (-inf - (-FLT_MAX) = -inf, as -inf - 0), so every exponential,
// factor and sum is the library's, bit for bit; only an all-NaN maximum (never formed from finite or infinite inputs by
// fmaxf) would read differently. No branch: the uniform per-pair test of the plan is not needed for an exact base.
constexpr int kVarBGuardMax = 64;
// kVarBOwnMax2 (VARB 128, with kVarBOwnMax; session 20 (w1), the plan's "om2"; harness only): om without its
// wait_group 0 before the publication. Where P_B V_B[R] is in flight, warpgroup 1 publishes P_B x d from scaled copies
// of the fragments (16 registers; the wgmma still reads the originals), arrives at barrier 3 at once, and only then
// waits for P_B V_B[R], brings O_R down by d and hands V_B[R] back, before P_A' V_A[R]. The same products and
// roundings as om (O_R x d after P_B V_B[R] either way); the no-B pair keeps om's order.
constexpr int kVarBOwnMax2 = 128;
// Session 20 (w2): the lazy reference maximum (the library's since call H; FlashAttention-4's rescale threshold on the library's
// pair order). kVarBLazyA (VARB 1 << 18): warpgroup 0's softmax A keeps the running maximum mA_ as its exponent
// reference wherever every thread of the warp finds its own (unreduced) maximum of the tile, times the scale, at most
// kLazyTau above it (one vote a pair, warp-uniform); then no quad shuffles, no new bases, no factor exponentials (the
// factors are exactly 1: no O rescale and no test of it), and m_A published is mA_. Else the library's exact path. A
// row's P is then at most 2^kLazyTau (256: bf16 / f16 hold it, sums and O are f32); every reader uses the published
// reference, so the products are the same up to P's rounding at another exponent, and lse = m + log2(l) holds for any
// reference. kVarBLazyB (VARB 1 << 19, with kVarBLazyA): the same in warpgroup 1's softmax B, its vote taken before
// barrier 1 against its own previous maximum mA_ (<= m_A): where it holds, m_B = m_A and c = 1 exactly (no quad
// shuffles, no c exponentials, no P_A' rescale test; warpgroup 0's O rescale test by c then skips). Bits 18 / 19 were
// the code-size probe's (bits 8-19 of kVarBPadInShift; its pads, at most 604, now take bits 8-17).
constexpr int kVarBLazyA = 1 << 18, kVarBLazyB = 1 << 19;
constexpr float kLazyTau = 8.f;
// Session 20 (w3; harness only, on lb): kVarBTreeMax (VARB 1 << 28): each softmax's own row maxima (16 scores a row
// and thread) as a pairwise tree (depth 4, then the running -inf start) instead of one dependent FMNMX chain of 16 a
// row: the same count, a quarter of the latency ahead of the lazy vote (the max is exact and, NaNs ignored as fmaxf
// does, order-free: bit for bit lb's results but for the sign of a zero maximum). kVarBLazyC (VARB 1 << 29, with
// kVarBLazyB): where softmax B's lazy vote holds, a second warp vote after barrier 1 whether m_A equals this
// warpgroup's previous maximum for both rows (warpgroup 0 kept its reference too: the steady pair); then O_R's factor
// 2^(mA_ - m_A) is exactly 1 and is neither computed (2 MUFU, 2 FADD, the product with c) nor tested (scaleO's vote):
// lA += sumA as lb's lA * 1 * 1 + sumA. Rows at -inf (equal too) have lA = 0 and O_R = 0, so lb's factor 0 changes nothing.
// kVarBArriveLate (VARB 1 << 27): warpgroup 0 issues P_A V_A[L] (RS: P_A from its registers) right after P_A's and
// m_A's stores and the O rescale, and only then fences P_A for the async proxy and arrives at barrier 1: the proxy
// fence (which waits for the 16 STS) leaves the path between softmax A and the tensor work (gap_a); warpgroup 1 waits
// at barrier 1 the four HGMMA issues longer. The stores read a[] before the wgmma is issued (PTX: no access to an
// in-flight wgmma's A registers); the same products in the same order (bit for bit lb's results).
constexpr int kVarBTreeMax = 1 << 28, kVarBLazyC = 1 << 29, kVarBArriveLate = 1 << 27;
#ifdef MLA_SM90W_TRACE
constexpr int kTlPairs = 32, kTlSkip = 40, kTlEv = 16; // pairs 40..71: ~130-250 µs into a 256-row launch of 877 µs, away from its start
__device__ unsigned mlaSm90wTl[kTraceCtas * 2 * (kTlPairs + 1) * kTlEv];
__device__ __forceinline__ unsigned* tlSlot(int w, int row) {
  const int cta = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  return mlaSm90wTl + ((cta * 2 + w) * (kTlPairs + 1) + row) * kTlEv;
}
#define MLA_TL(e) do { if constexpr (kTL) if (wt == 0) tlSlot(W, tlRow)[e] = static_cast<unsigned>(clock()); } while (0)
#else
#define MLA_TL(e) ((void)0)
#endif
// MLA_SM90W_LIB_VAR (a build of a candidate's bits for an A/B through the library; never set by build-kernels).
#ifdef MLA_SM90W_LIB_VAR
constexpr int kLibVar = MLA_SM90W_LIB_VAR;
static_assert((kLibVar & kVarMcast) == 0, "the library launches without clusters");
#else
// x798 (session 9) + the staged output rows with every warp issuing copies (session 12: x1573662) + the flush-to-zero
// exponentials (session 13: x9962270; 1.022-1.029x at 128 / 256 rows in the harness A/B, level at 64 rows) + the four
// visibility waits back to back (session 14: x77071134; 1.013-1.024x at 128 / 256 rows, 0.998 at 64 rows, call A) +
// stage B's V[R] released first, P_A from registers, one refill thread a stage, S_A walking 8, 0-3, 4-7 (session 14:
// x127451934; 1.001-1.005x at 128 rows, 1.003-1.039x at 256 rows, 0.999 at 64 rows against x77071134, call B) +
// warpgroup 1's P_B V_B[R] issued before P_B is published, which barrier 3 carries (session 16: x932758302 =
// kVarPBEarly | kVarCEarly; see docs/notes/cuda-hopper-decode.md, "Session 16 (h1)", for the call that measured it) +
// the scale folded into the exponent's FFMA (session 20 w1: x932760350 = + kVarFoldScale, with VARB kVarBGuardMax below;
// 0.989 of the time at 128 / 256 rows, 1.000 at 64 rows, call G)
constexpr int kLibVar = kVarGridX | kVarSleep | kVarSkip | kVarFull | kVarEarlyRel | kVarUnrollS | kVarStAsync | kVarStSpread | kVarEx2Ftz | kVarVis4
    | kVarPAReg | kVarProd2 | kVarPBFirst | kVarWalkA | kVarPBEarly | kVarCEarly | kVarFoldScale;
#endif

// The library's VARB bits: kVarBGuardMax (64) since session 20 (w1's fg: each exponent base's -inf guard as one max with
// -FLT_MAX; with kVarFoldScale above) + kVarBLazyA | kVarBLazyB (w2's lb, the lazy reference maximum: 0.968 of fg's time
// at 128 / 256 rows, 1.005 at 64, call H) + kVarBQTma | kVarBQAll since session 21 (n3: every item's Q by TMA; the entries
// take q's tensor map, with _ld twins without both bits). MLA_SM90W_LIB_VARB: a build of a candidate's bits through the
// library (the staged fatbins of session 19 round 3, session 20 h5, session 21 n3), never set by build-kernels.
#ifdef MLA_SM90W_LIB_VARB
constexpr int kLibVarB = MLA_SM90W_LIB_VARB;
#else
constexpr int kLibVarB = kVarBGuardMax | kVarBLazyA | kVarBLazyB | kVarBQTma | kVarBQAll;
#endif
// MLA_SM90W_LIB_TRACE (with MLA_SM90W_TRACE; session 30, a measurement build through the library, never set by
// build-kernels): the library's q-map entries with kVarTrace, so a library call leaves mlaSm90wTrace's per-item stamps
// (bench/cuda/hopper/s30_trace.ts reads them). Default builds: kLibVarE is kLibVar.
#if defined(MLA_SM90W_TRACE) && defined(MLA_SM90W_LIB_TRACE)
constexpr int kLibVarE = kLibVar | kVarTrace;
#else
constexpr int kLibVarE = kLibVar;
#endif
template <int VAR> __device__ __forceinline__ int partIdx() { return (VAR & kVarGridX) ? blockIdx.z : blockIdx.x; }
template <int VAR> __device__ __forceinline__ int rowTileIdx() { return (VAR & kVarGridX) ? blockIdx.x : blockIdx.z; }
template <int VAR> __device__ __forceinline__ int rowTiles() { return (VAR & kVarGridX) ? gridDim.x : gridDim.z; }

// kVarQEarly: whether an item's Q is in flight already (a flag only where the bit is set: the library's entries
// carry nothing of it).
template <bool On> struct QFlag {};
template <> struct QFlag<true> { bool v = false; };

template <typename T, bool SWAPV, int VAR = kLibVar, int VARB = 0>
struct DecodeW {
  static constexpr bool kNP = (VARB & kVarBNoProd) != 0; // no producer warpgroup (256 threads)
  static_assert(!kNP || (VAR & (kVarSeesaw | kVarMcast | kVarQEarly | kVarPf | kVarPfNext)) == 0, "kVarBNoProd: the library's pair order, no clusters");
#ifdef MLA_SM90W_TRACE
  // Session 11 round 4: the clock64 stamps inside an item (words 40..111; not with kVarQEarly, whose trace twin would
  // spill 16 bytes with them). Word 7 says whether a launch wrote them.
  static constexpr bool kItemStamps = (VAR & kVarTrace) != 0 && (VAR & kVarQEarly) == 0;
  // Session 13 round 2: the hand-off wait sums (words 120..143) in the trace twins of the current library's bits only
  // (libtr, patr: kVarEx2Ftz set); x799tr spilled 40 bytes with them.
  static constexpr bool kWaitStamps = kItemStamps && (VAR & kVarEx2Ftz) != 0;
  static constexpr bool kTL = (VARB & kVarBTimeline) != 0; // session 19 round 2: the per-pair timeline stamps
  static_assert(!kTL || (!kNP && (VAR & (kVarPBEarly | kVarCEarly | kVarPAReg | kVarPBFirst | kVarVis4 | kVarEarlyRel | kVarUnrollS)) == (kVarPBEarly | kVarCEarly | kVarPAReg | kVarPBFirst | kVarVis4 | kVarEarlyRel | kVarUnrollS)
                && (VAR & (kVarPBLate | kVarMAEarly | kVarSeesaw | kVarQEarly | kVarSPipe | kVarPrNoMA | kVarTrace)) == 0), "kVarBTimeline: the library's pair order");
#endif
  static_assert((VAR & kVarQEarly) == 0 || (VAR & (kVarSeesaw | kVarMcast)) == 0, "kVarQEarly: the x798 pair order only");
  static constexpr bool kOM = (VARB & kVarBOwnMax) != 0; // session 19 round 3: warpgroup 1's own maximum, exact
  static constexpr bool kQT = (VARB & kVarBQTma) != 0; // session 20 h5: the first item's Q by TMA
  static_assert(!kQT || (!kNP && (VAR & (kVarQEarly | kVarMcast | kVarSeesaw)) == 0), "kVarBQTma: the producer warpgroup, no clusters, Q in shared memory");
  static constexpr bool kQA = (VARB & kVarBQAll) != 0; // session 21 n3: every item's Q by TMA
  static_assert(!kQA || (kQT && (VAR & (kVarStF32 | kVarCEarly | kVarStAsync)) == (kVarCEarly | kVarStAsync)),
                "kVarBQAll: with kVarBQTma, on the library's order (barrier 3), split items' partials not through Q's region");
  static constexpr bool kSK = (VARB & kVarBStK) != 0; // session 21 w5: staged output rows in the last tile's stage
  static_assert(!(VARB & kVarBStLds) || ((VAR & (kVarStAsync | kVarStSpread)) == (kVarStAsync | kVarStSpread) && (VARB & kVarBStK) == 0),
                "kVarBStLds: the staged rows (kVarStAsync | kVarStSpread) in Q's region (not kVarBStK)");
  static_assert(!(VARB & kVarBQPf) || (VARB & kVarBQAll) != 0, "kVarBQPf: with kVarBQAll");
  static constexpr bool kSKP = (VARB & kVarBStKPf) != 0; // session 21 w5: + the second tile's page into L2
  static_assert(!kSKP || kSK, "kVarBStKPf: with kVarBStK");
  static constexpr bool kSN = (VARB & kVarBStKNx) != 0; // session 21 w6: the hold the producer's, only before a next item
  static_assert(!kSN || (kSK && (VAR & kVarStShortGone) == 0), "kVarBStKNx: with kVarBStK, every unsplit item staged");
  static_assert(!kSK || (kQA && !kNP && (VAR & (kVarStAsync | kVarStSpread | kVarMcast | kVarSeesaw)) == (kVarStAsync | kVarStSpread)),
                "kVarBStK: with kVarBQAll and the staged rows (kVarStAsync | kVarStSpread), the producer warpgroup, no clusters");
  static constexpr bool kStag = (VARB & (kVarBStag | kVarBStag5)) != 0, kStag5 = (VARB & kVarBStag5) != 0;
  static constexpr bool kOM2 = (VARB & kVarBOwnMax2) != 0; // session 20 (w1): om without the wait before the publication
  static_assert(!kOM2 || kOM, "kVarBOwnMax2: with kVarBOwnMax");
  static_assert(!kOM || (!kNP && (VAR & (kVarPBEarly | kVarCEarly | kVarPAReg | kVarPBFirst | kVarVis4 | kVarEarlyRel | kVarUnrollS)) == (kVarPBEarly | kVarCEarly | kVarPAReg | kVarPBFirst | kVarVis4 | kVarEarlyRel | kVarUnrollS)
                && (VAR & (kVarPBLate | kVarMAEarly | kVarSeesaw | kVarQEarly | kVarSPipe | kVarPrNoMA | kVarPolyExB | kVarMcast)) == 0), "kVarBOwnMax: the library's pair order");
  static_assert(!kStag || (kOM && ((VARB & kVarBStag) == 0 || (VARB & kVarBStag5) == 0)), "kVarBStag / kVarBStag5: with kVarBOwnMax, one of them");
  static constexpr int kPadIn = (VARB >> kVarBPadInShift) & 0x3ff, kPadOut = (VARB >> kVarBPadOutShift) & 0x1; // session 20: the code-size probe (bits 8-17, 20; 21-22 since session 30)
  static constexpr bool kSL = (VARB & kVarBStLds) != 0; // session 30: the staged rows out by shared loads and warp stores
  static constexpr bool kQP = (VARB & kVarBQPf) != 0; // session 30: the next item's Q into L2 at the last pair
  static constexpr bool kSR = MLA_SM90W_STREG != 0 && (VAR & kVarStAsync) != 0 && !kSK && !kSL; // session 31: rows from registers
  // session 31: the hand-offs on mbarriers (MLA_SM90W_MBHAND), in the library's pair order only
  static constexpr bool kMH = MLA_SM90W_MBHAND != 0 && (VAR & (kVarSeesaw | kVarMAEarly | kVarPBLate | kVarQEarly | kVarMcast | kVarPrNoMA)) == 0 && (VAR & (kVarPBEarly | kVarCEarly | kVarPAReg)) == (kVarPBEarly | kVarCEarly | kVarPAReg)
                                && (VARB & (kVarBArriveLate | kVarBOwnMax | kVarBStag | kVarBStag5 | kVarBNoProd)) == 0;
  // Hand-off K (1, 2 or 3) given: every thread of the handing warpgroup arrives (kMH), or its named-barrier arrive.
  template <int K> static __device__ __forceinline__ void handArrive() {
#if MLA_SM90W_MBHAND && defined(MLA_SM90A_WIDE) // (the host pass of a harness sees no hop helpers, and never runs this)
    if constexpr (kMH) { mbarArrive(smemAddr(&rows().hand[K - 1])); return; }
#endif
    namedArrive(K, 256);
  }
  // Hand-off K taken: wait on the phase whose parity is bit K of ph (then flip it), or the named-barrier sync.
  template <int K> static __device__ __forceinline__ void handWait([[maybe_unused]] uint32_t& ph) {
#if MLA_SM90W_MBHAND && defined(MLA_SM90A_WIDE)
    if constexpr (kMH) {
      if constexpr (MLA_SM90W_HANDSLEEP != 0) mbarWaitSleepImm(smemAddr(&rows().hand[K - 1]), (ph >> K) & 1u);
      else mbarWait(smemAddr(&rows().hand[K - 1]), (ph >> K) & 1u);
      ph ^= 1u << K;
      return;
    }
#endif
    namedSync(K, 256);
  }
  static constexpr bool kPadExec = (VARB & kVarBPadExec) != 0;
  static constexpr bool kGM = (VARB & kVarBGuardMax) != 0; // session 20 (w1): the bases' -inf guards as one FMNMX
  static_assert(!kGM || (VAR & (kVarSeesaw | kVarPrNoMA)) == 0, "kVarBGuardMax: the library's pair order");
  static constexpr bool kLzA = (VARB & kVarBLazyA) != 0, kLzB = (VARB & kVarBLazyB) != 0; // session 20 (w2): the lazy reference maximum
  static_assert(!kLzA || (!kOM && !kNP && (VAR & (kVarSeesaw | kVarPrNoMA | kVarMAEarly | kVarPBLate | kVarFoldScale | kVarPBEarly | kVarCEarly | kVarPAReg))
                                              == (kVarFoldScale | kVarPBEarly | kVarCEarly | kVarPAReg)), "kVarBLazyA: the library's pair order (with kVarFoldScale)");
  static_assert(!kLzB || kLzA, "kVarBLazyB: with kVarBLazyA");
  static constexpr bool kTree = (VARB & kVarBTreeMax) != 0, kLzC = (VARB & kVarBLazyC) != 0; // session 20 (w3)
  static_assert(!kLzC || kLzB, "kVarBLazyC: with kVarBLazyB");
  static constexpr bool kAL = (VARB & kVarBArriveLate) != 0;
  static_assert(!kAL || (kLzA && (VAR & kVarMAEarly) == 0), "kVarBArriveLate: on the library's order (lb), not kVarMAEarly");
  static_assert(!kTree || (VAR & kVarFoldScale) != 0, "kVarBTreeMax: with kVarFoldScale (raw scores through the mask)");
  // The exponent base of a row maximum m: 0 where m = -inf (the library), or kVarBGuardMax's max(m, -FLT_MAX).
  static __device__ __forceinline__ float baseOf(float m) {
    if constexpr (kGM) return fmaxf(m, -3.402823466e+38f);
    else return m == -INFINITY ? 0.f : m;
  }
  static_assert((kPadIn == 0 && kPadOut == 0 && !kPadExec) || ((VARB & 0xff) == 0 && (VAR & (kVarSeesaw | kVarMcast)) == 0), "the pad probe: the library's code (VARB 0) plus the pad only");
  // Session 20 (h1): K dependent DFMAs behind a branch that is never taken (p.b >= 1), their result stored so that
  // ptxas keeps them: the probe's never-executed code.
  template <int K> static __device__ __forceinline__ void padNever(const MlaParams& p) {
    if constexpr (K > 0) {
      if (p.b < 0) {
        double x = p.scaleLog2;
#pragma unroll
        for (int i = 0; i < K; ++i) asm volatile("fma.rn.f64 %0, %0, %1, %1;\n" : "+d"(x) : "d"(static_cast<double>(p.scaleLog2)));
        p.lse[0] = static_cast<float>(x);
      }
    }
  }
  // kVarBPadExec: K DFMAs that run (NC independent chains: more spill at the producer's 32 registers), their sum
  // stored only where p.b < 0 (never).
  template <int K, int NC> static __device__ __forceinline__ void padExec(const MlaParams& p) {
    if constexpr (K > 0) {
      const double y = p.scaleLog2;
      double x[NC];
#pragma unroll
      for (int c = 0; c < NC; ++c) x[c] = y + c;
#pragma unroll
      for (int i = 0; i < K; ++i) asm volatile("fma.rn.f64 %0, %0, %1, %1;\n" : "+d"(x[i % NC]) : "d"(y));
      double z = x[0];
#pragma unroll
      for (int c = 1; c < NC; ++c) z += x[c];
      if (p.b < 0) p.lse[0] = static_cast<float>(z);
    }
  }
  static_assert((VAR & kVarCEarly) == 0 || ((VAR & kVarPBEarly) != 0 && (VAR & kVarSeesaw) == 0), "kVarCEarly: with kVarPBEarly, the x798 pair order (barrier 3 is kVarSeesaw's there)");
  static_assert((VAR & kVarMAEarly) == 0 || ((VAR & kVarCEarly) != 0 && (VAR & kVarPAReg) != 0), "kVarMAEarly: with kVarCEarly | kVarPAReg (warpgroup 1 reads P_A only by LDS, after barrier 8)");
  static_assert((VAR & kVarPBLate) == 0 || ((VAR & kVarCEarly) != 0 && (VAR & kVarMAEarly) == 0), "kVarPBLate: with kVarCEarly, not kVarMAEarly");
  static_assert((VAR & kVarPolyHalf) == 0 || (VAR & kVarPolyExB) != 0, "kVarPolyHalf: the share of kVarPolyExB");
  static_assert((VAR & kVarPrNoMA) == 0 || ((VAR & (kVarCEarly | kVarPAReg | kVarPBEarly)) == (kVarCEarly | kVarPAReg | kVarPBEarly) && (VAR & (kVarMAEarly | kVarPBLate | kVarSeesaw)) == 0), "kVarPrNoMA: a probe on the library's pair order only");
  using H = Half<T>;

  // 2^x: exp2f, or with kVarEx2Ftz the flush-to-zero MUFU alone.
  static __device__ __forceinline__ float ex2(float x) {
    return exp2Sel<(VAR & kVarEx2Ftz) != 0>(x);
  }

  // 2^x on the FMA / ALU pipes (kVarPolyExB): x = n + f with n = rint(x) (the 1.5 * 2^23 shift: n sits in t's low
  // mantissa bits), f in [-1/2, 1/2]; 2^f by a degree-3 minimax polynomial of the relative error (<= 7.5e-5, 2^-13.7,
  // inside bf16's 2^-9 and f16's 2^-12 rounding), times 2^n built from n's bits ((n + 127) << 23). x <= -127 (-inf: a
  // masked column) gives 0 (2^n's bits are 0), as ex2.approx.ftz does for x < -126; NaN gives 0 (not reached).
  static __device__ __forceinline__ float ex2Poly(float x) {
    x = fmaxf(x, -127.f);
    const float t = x + 12582912.f;
    const float f = x - (t - 12582912.f);
    const float q = fmaf(fmaf(fmaf(5.517166853e-02f, f, 2.426111251e-01f), f, 6.932609677e-01f), f, 9.999280572e-01f);
    return q * __uint_as_float((__float_as_uint(t) + 127u) << 23);
  }

  // P = exp2(S - base) straight into wgmma A fragments: a[kk][e] holds columns 16kk + 8(e/2) + 2tq (+1) of row
  // rB if e is odd, else rA (the S accumulator's own layout); the row sums of this thread's columns are added.
  // kVarFoldScale: s holds raw scores and sc is the scale (base 2); otherwise s is scaled already and sc unused.
  // PolyEvery (kVarPolyExB, warpgroup 1's softmax B only): column group i (of 8) with i % PolyEvery == PolyEvery - 1
  // takes ex2Poly instead of ex2 (0: none).
  template <int PolyEvery = 0>
  static __device__ __forceinline__ void expPack(const float (&s)[32], float bA, float bB, float& sumA, float& sumB, uint32_t (&a)[4][4], float sc = 1.f) {
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int i = 2 * kk + h;
        float x0, x1, y0, y1;
        bool poly = false; // (a constant once unrolled)
        if constexpr (PolyEvery != 0) {
          static_assert((VAR & kVarFoldScale) == 0, "kVarPolyExB: without kVarFoldScale (the library's path)");
          poly = i % PolyEvery == PolyEvery - 1;
        }
        if (poly) {
          x0 = ex2Poly(s[4 * i + 0] - bA), x1 = ex2Poly(s[4 * i + 1] - bA);
          y0 = ex2Poly(s[4 * i + 2] - bB), y1 = ex2Poly(s[4 * i + 3] - bB);
        } else if constexpr ((VAR & kVarFoldScale) != 0) {
          x0 = ex2(fmaf(s[4 * i + 0], sc, -bA)), x1 = ex2(fmaf(s[4 * i + 1], sc, -bA));
          y0 = ex2(fmaf(s[4 * i + 2], sc, -bB)), y1 = ex2(fmaf(s[4 * i + 3], sc, -bB));
        } else {
          x0 = ex2(s[4 * i + 0] - bA), x1 = ex2(s[4 * i + 1] - bA);
          y0 = ex2(s[4 * i + 2] - bB), y1 = ex2(s[4 * i + 3] - bB);
        }
        sumA += x0 + x1;
        sumB += y0 + y1;
        a[kk][2 * h] = pack2<T>(x0, x1);
        a[kk][2 * h + 1] = pack2<T>(y0, y1);
      }
  }

  // expPack that also leaves the exponentials (f32) in s (kVarSeesaw: warpgroup 0 rescales P_A from them).
  static __device__ __forceinline__ void expKeep(float (&s)[32], float bA, float bB, float& sumA, float& sumB, uint32_t (&a)[4][4], float sc = 1.f) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      if constexpr ((VAR & kVarFoldScale) != 0) {
        s[4 * i + 0] = ex2(fmaf(s[4 * i + 0], sc, -bA)), s[4 * i + 1] = ex2(fmaf(s[4 * i + 1], sc, -bA));
        s[4 * i + 2] = ex2(fmaf(s[4 * i + 2], sc, -bB)), s[4 * i + 3] = ex2(fmaf(s[4 * i + 3], sc, -bB));
      } else {
        s[4 * i + 0] = ex2(s[4 * i + 0] - bA), s[4 * i + 1] = ex2(s[4 * i + 1] - bA);
        s[4 * i + 2] = ex2(s[4 * i + 2] - bB), s[4 * i + 3] = ex2(s[4 * i + 3] - bB);
      }
      sumA += s[4 * i + 0] + s[4 * i + 1];
      sumB += s[4 * i + 2] + s[4 * i + 3];
      a[i >> 1][2 * (i & 1)] = pack2<T>(s[4 * i + 0], s[4 * i + 1]);
      a[i >> 1][2 * (i & 1) + 1] = pack2<T>(s[4 * i + 2], s[4 * i + 3]);
    }
  }

  // O rows rA / rB times fa / fb. With kVarSkip a warp whose 16 rows all keep their factor of exactly 1 (the running
  // maximum did not move, the common case once a few tiles are in) skips the 128 multiplies; the branch is uniform
  // in the warp and exact (x * 1 = x).
  static __device__ __forceinline__ void scaleO(float (&o)[128], float fa, float fb) {
    if ((VAR & kVarSkip) && !__any_sync(0xffffffffu, fa != 1.f || fb != 1.f)) return;
#pragma unroll
    for (int i = 0; i < 32; ++i) { o[4 * i + 0] *= fa; o[4 * i + 1] *= fa; o[4 * i + 2] *= fb; o[4 * i + 3] *= fb; }
  }

  // P fragments (a[kk][e]: row rB where e is odd, else rA) times fa / fb, skipped (uniform in the warp, exact) where
  // every factor of the warp is 1: P_A' = c P_A (warpgroup 1) and kVarBOwnMax's P_B x d.
  static __device__ __forceinline__ void scaleP(uint32_t (&a)[4][4], float fa, float fb) {
    if (__any_sync(0xffffffffu, fa != 1.f || fb != 1.f)) {
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float x, y;
          unpack2<T>(a[kk][e], x, y);
          const float f = (e & 1) ? fb : fa;
          a[kk][e] = pack2<T>(x * f, y * f);
        }
    }
  }

#ifdef MLA_SM90A_WIDE
  // This thread's P fragments (a[kk][e]: columns 16kk + 8(e/2) + 2tq (+1) of row e%2 ? rB : rA) into the shared
  // 64 x 64 P tile, 128-byte swizzled rows (the layout of a K-major wgmma operand).
  static __device__ __forceinline__ void storeP(uint32_t pBase, const uint32_t (&a)[4][4], int rA, int rB, int gq, int tq) {
    // kVarSeesaw: the row bases and the swizzle made again at each call (a few LOP3s) instead of eight addresses a
    // thread hoisted out of the key loop (x54046: 16 -> 8 bytes of spill at 240 registers).
    if constexpr ((VAR & kVarSeesaw) != 0) asm volatile("" : "+r"(gq), "+r"(rA), "+r"(rB));
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = (e & 1) ? rB : rA, ch = 2 * kk + (e >> 1);
        stShared(pBase + r * 128 + ((ch ^ gq) << 4) + tq * 4, a[kk][e]);
      }
  }

  // Q rows m0.. of the item at qStart (liveRows live, the rest zeros) into the 9 swizzled Q boxes: cp.async by `threads`
  // threads from thread index `first` (chunk c = first, first + threads, ...), not waited for.
  static __device__ __forceinline__ void qLoad(const MlaParams& p, int qStart, int liveRows, int m0, uint32_t qBase, int first, int threads) {
    constexpr int kChunks = kDQk / 8;
    const T* qRows = static_cast<const T*>(p.q) + (static_cast<int64_t>(qStart) * p.hQ + m0) * kDQk;
    for (int c = first; c < 64 * kChunks; c += threads) {
      const int r = c / kChunks, ch = c % kChunks;
      const bool live = r < liveRows;
      cpAsync16(qBase + (ch / 8) * kBox + sw128(r, (ch % 8) * 8), live ? qRows + static_cast<int64_t>(r) * kDQk + ch * 8 : p.q, live ? 16 : 0);
    }
  }
  // kVarQEarly, warpgroup 0 in the item's last pair (after barrier 2: both warpgroups' last S is done, so Q is free):
  // the next live item's Q, by its 128 threads.
  static __device__ __forceinline__ void qEarly(const MlaParams& p, const Item& it, int t, int batch, int endIdx, int rowTile, int m0, uint32_t qBase, int wt) {
    if (t + 2 < it.nTiles) return;
    const int* meta = p.tileSchedulerMetadata + partIdx<VAR>() * kMetaFields;
    Item nx;
    int nb = batch + 1;
    for (; nb <= endIdx; ++nb)
      if (itemOf(p, meta, nb, rowTile, nx, (VAR & kVarMcast) != 0)) break;
    if (nb <= endIdx) qLoad(p, nx.qStart, nx.liveRows, m0, qBase, wt, 128);
  }
  // kVarBQAll: the nine Q boxes of q rows row.. (q's map, 64-row boxes) into Q's region, completing on qBar.
  static __device__ __forceinline__ void issueQ(const TmaMap* qMap, uint32_t qBase, int row, uint32_t qBar) {
    mbarExpectTx(qBar, 9 * kBox);
#pragma unroll 1
    for (int c = 0; c < 9; ++c) tmaLoadQ(qBase + c * kBox, qMap, 64 * c, row, qBar); // a loop: as the producer's first item
  }
  // kVarBQAll: the first q row of the next item after `batch` with live rows in the row tile at m0 (itemOf's test), or -1.
  static __device__ __forceinline__ int nextQRow(const MlaParams& p, int batch, int endIdx, int m0) {
    for (int nb = batch + 1; nb <= endIdx; ++nb) {
      int qStart, qLen;
      queryRange(p, nb, qStart, qLen);
      if (min(p.rows, qLen * p.nGroups) > m0) return qStart * p.hQ + m0;
    }
    return -1;
  }

  // The epilogue of an item: row sums over the quad and both warpgroups, then O / l (and the lse) of this thread's
  // two rows to out/lse (unsplit request) or to the f32 partial rows.
  static __device__ __forceinline__ void storeRows(const MlaParams& p, const Item& it, int batch, int slot, bool noSplit, int m0, int wg, int tq, int rA,
                                                   int rB, const float (&o)[128], float lA, float lB, float mA_, float mB_, uint32_t oOff = kQ_OFF) {
    Rows& rw = rows();
    // Row sums: the quad, then both warpgroups.
    lA = quadSum(lA);
    lB = quadSum(lB);
    if (tq == 0) { rw.l[wg][rA] = lA; rw.l[wg][rB] = lB; }
    namedSync(4, 256);
#ifdef MLA_SM90W_TRACE
    if constexpr (kItemStamps)
      if (wg == 0 && rA == 0 && tq == 0) traceClk(88);
#endif
    const float LA = rw.l[0][rA] + rw.l[1][rA], LB = rw.l[0][rB] + rw.l[1][rB];
    if constexpr ((VAR & kVarStAsync) != 0) {
      if (noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0 && (!(VAR & kVarStShortGone) || it.nTiles <= 32)) { // CTA-uniform
        if constexpr (kSR) { // session 31: from registers, 32 contiguous bytes a quad a store
          const int col0 = 256 * wg + 2 * tq;
          const bool odd = (tq & 1) != 0;
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = h2 ? rB : rA;
            const bool live = r < it.liveRows; // (the same in the quad: the shuffles below run in every lane)
            const float l = h2 ? LB : LA, mx = h2 ? mB_ : mA_;
            const int m = m0 + r, j = m / p.nGroups, h = m - j * p.nGroups;
            const bool empty = l == 0.f;
            const float inv = empty ? 0.f : 1.f / l;
            T* const out = static_cast<T*>(p.out) + (static_cast<int64_t>(it.qStart + j) * p.hQ + h) * kDV + col0;
#pragma unroll
            for (int i = 0; i < 32; i += 2) {
              const uint32_t a = pack2<T>(o[4 * i + 2 * h2] * inv, o[4 * i + 2 * h2 + 1] * inv);
              const uint32_t b = pack2<T>(o[4 * (i + 1) + 2 * h2] * inv, o[4 * (i + 1) + 2 * h2 + 1] * inv);
              const uint32_t x = __shfl_xor_sync(0xffffffffu, odd ? a : b, 1);
              // even tq: chunk i, columns 2 tq .. 2 tq + 3 (its a, then its odd neighbour's a); odd tq: chunk i + 1,
              // columns 2 tq - 2 .. 2 tq + 1 (its even neighbour's b, then its b)
              if (live) stGlobal64(odd ? out + 8 * (i + 1) - 2 : out + 8 * i, odd ? x : a, odd ? b : x);
            }
            if (live && wg == 0 && tq == 0)
              p.lse[batch * p.lseStrideB + h * p.lseStrideH + (it.qStart + j) * p.lseStrideT] = empty ? INFINITY : (mx + log2f(l)) * 0.69314718055994531f;
          }
          return; // Q's region untouched: this item's last pair issued the next item's Q (qEarlyA)
        }
        extern __shared__ unsigned char smemRaw[];
        const uint32_t oBase = ((smemAddr(smemRaw) + 1023) & ~1023u) + oOff; // Q's region (kVarBStK: or a stage)
        const int col0 = 256 * wg + 2 * tq;
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {
          const int r = h2 ? rB : rA;
          if (r >= it.liveRows) continue;
          const float l = h2 ? LB : LA, mx = h2 ? mB_ : mA_;
          const int m = m0 + r, j = m / p.nGroups, h = m - j * p.nGroups;
          const bool empty = l == 0.f;
          const float inv = empty ? 0.f : 1.f / l;
          const uint32_t row = oBase + r * kORow + col0 * 2;
#pragma unroll
          for (int i = 0; i < 32; ++i) stShared(row + 16 * i, pack2<T>(o[4 * i + 2 * h2] * inv, o[4 * i + 2 * h2 + 1] * inv));
          if (wg == 0 && tq == 0)
            p.lse[batch * p.lseStrideB + h * p.lseStrideH + (it.qStart + j) * p.lseStrideT] = empty ? INFINITY : (mx + log2f(l)) * 0.69314718055994531f;
        }
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (wg == 0 && rA == 0 && tq == 0) traceClk(144);
#endif
        fenceProxyAsync();
        namedSync(4, 256);
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (wg == 0 && rA == 0 && tq == 0) traceClk(152);
#endif
        const int wt = threadIdx.x % 128;
        if constexpr (kSL) { // session 30: half a row a warp a step, 16 bytes a lane, to `out` by coalesced warp stores
          const int c0 = wt + 128 * wg; // 16-byte chunk c0 + 256 k: row (c0 + 256 k) / 64, chunk (c0 % 64) of it
          unsigned char* const out = reinterpret_cast<unsigned char*>(static_cast<T*>(p.out) + (static_cast<int64_t>(it.qStart) * p.hQ + m0) * kDV);
#pragma unroll
          for (int k = 0; k < 16; ++k) {
            const int r = (c0 >> 6) + 4 * k, ch = c0 & 63;
            if (r < it.liveRows) stGlobal128(out + static_cast<int64_t>(r) * (kDV * sizeof(T)) + ch * 16, ldShared128(oBase + r * kORow + ch * 16));
          }
#ifdef MLA_SM90W_TRACE
          if constexpr (kItemStamps)
            if (wg == 0 && rA == 0 && tq == 0) traceClk(160);
#endif
          return; // Q's region is read out: the next item's barrier 4 (every thread's stores issued) orders its Q after these loads
        }
        if ((VAR & kVarStSpread) != 0) {
          const int lane = wt % 32, r = 8 * (4 * wg + wt / 32) + lane;
          if (lane < 8) {
            if (r < it.liveRows) {
              T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(it.qStart) * p.hQ + m0 + r) * kDV;
              bulkStoreRow(out, oBase + r * kORow, kDV * sizeof(T));
            }
            bulkCommit();
          }
#ifdef MLA_SM90W_TRACE
          if constexpr (kItemStamps)
            if (wg == 0 && rA == 0 && tq == 0) traceClk(160);
#endif
        } else if (wg == 0 && wt < 32) {
          T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(it.qStart) * p.hQ + m0) * kDV; // hKv = 1: row m0 + r is qStart * hQ + m0 + r
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = wt + 32 * h2;
            if (r < it.liveRows) bulkStoreRow(out + static_cast<int64_t>(r) * kDV, oBase + r * kORow, kDV * sizeof(T));
          }
          bulkCommit();
        }
        return;
      }
    }
    if constexpr ((VAR & kVarStF32) != 0) {
      static_assert((VAR & kVarStAsync) != 0 && (VAR & kVarStSpread) != 0, "kVarStF32: with kVarStAsync | kVarStSpread");
      if (!noSplit && (reinterpret_cast<uintptr_t>(p.oAccum) & 15) == 0) { // CTA-uniform
        extern __shared__ unsigned char smemRaw[];
        const uint32_t oBase = ((smemAddr(smemRaw) + 1023) & ~1023u) + kQ_OFF;
        const int wt = threadIdx.x % 128, lane = wt % 32, rI = 8 * (4 * wg + wt / 32) + lane; // rI: the row lanes 0-7 send
        float invs[2];
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {
          const int r = h2 ? rB : rA;
          const float l = h2 ? LB : LA, mx = h2 ? mB_ : mA_;
          const bool empty = l == 0.f;
          invs[h2] = empty ? 0.f : 1.f / l;
          if (r < it.liveRows && wg == 0 && tq == 0) {
            const int m = m0 + r, j = m / p.nGroups, h = m - j * p.nGroups;
            p.lseAccum[(static_cast<int64_t>(slot) * p.sQ + j) * p.hQ + h] = empty ? -INFINITY : (mx + log2f(l)) * 0.69314718055994531f;
          }
        }
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          if (half == 1) {
            if (lane < 8) bulkWaitRead0(); // half 0's copies have read Q's region
            namedSync(4, 256);
          }
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = h2 ? rB : rA;
            if (r >= it.liveRows) continue;
            const uint32_t row = oBase + r * kORowF + kPieceF * wg + 8 * tq;
#pragma unroll
            for (int k = 0; k < 16; ++k) {
              const int i = 16 * half + k;
              stShared2f(row + 32 * k, o[4 * i + 2 * h2] * invs[h2], o[4 * i + 2 * h2 + 1] * invs[h2]);
            }
          }
          fenceProxyAsync();
          namedSync(4, 256);
          if (lane < 8) {
            if (rI < it.liveRows) {
              const int m = m0 + rI, j = m / p.nGroups, h = m - j * p.nGroups;
              float* acc = p.oAccum + ((static_cast<int64_t>(slot) * p.sQ + j) * p.hQ + h) * kDV + 128 * half;
              bulkStoreRow(acc, oBase + rI * kORowF, kPieceF);
              bulkStoreRow(acc + 256, oBase + rI * kORowF + kPieceF, kPieceF); // warpgroup 1's columns start at 256
            }
            bulkCommit();
          }
        }
        return;
      }
    }
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      const int r = h2 ? rB : rA;
      if (r >= it.liveRows) continue;
      const float l = h2 ? LB : LA, mx = h2 ? mB_ : mA_;
      const int m = m0 + r, j = m / p.nGroups, h = m - j * p.nGroups; // hKv = 1: head group 0
      const bool empty = l == 0.f;
      const float inv = empty ? 0.f : 1.f / l;
      const float lse = empty ? (noSplit ? INFINITY : -INFINITY) : (mx + log2f(l)) * 0.69314718055994531f;
      const int col0 = 256 * wg + 2 * tq;
      if (noSplit) {
        T* out = static_cast<T*>(p.out) + (static_cast<int64_t>(it.qStart + j) * p.hQ + h) * kDV + col0;
#pragma unroll
        for (int i = 0; i < 32; ++i) *reinterpret_cast<uint32_t*>(out + 8 * i) = pack2<T>(o[4 * i + 2 * h2] * inv, o[4 * i + 2 * h2 + 1] * inv);
        if (wg == 0 && tq == 0) p.lse[batch * p.lseStrideB + h * p.lseStrideH + (it.qStart + j) * p.lseStrideT] = lse;
      } else {
        const int64_t row = (static_cast<int64_t>(slot) * p.sQ + j) * p.hQ + h;
        float* acc = p.oAccum + row * kDV + col0;
#pragma unroll
        for (int i = 0; i < 32; ++i) *reinterpret_cast<float2*>(acc + 8 * i) = make_float2(o[4 * i + 2 * h2] * inv, o[4 * i + 2 * h2 + 1] * inv);
        if (wg == 0 && tq == 0) p.lseAccum[row] = lse;
      }
    }
#ifdef MLA_SM90W_TRACE
    if constexpr (kItemStamps)
      if (wg == 0 && rA == 0 && tq == 0) traceClk(168);
#endif
  }

  // kVarSeesaw: one pair (tiles A, B) of warpgroup W after its S and mask (s: its scores, rmA / rmB: their row maxima).
  //   wg0: P_A = exp2(S_A - mA), mA out (barrier 1); O_L = O_L 2^(m - mA) + P_A V_A[L] (registers); V_A[L] back;
  //        c and mB in (barrier 2); P_A' = c P_A (from the float P_A) into the P tile (barrier 3); O_L *= c;
  //        P_B in (barrier 7); O_L += P_B V_B[L] (shared); V_B[L] back.
  //   wg1: mA in (barrier 1); mB = max(mA, rowmax S_B), P_B = exp2(S_B - mB), c = 2^(mA - mB) out (barrier 2);
  //        P_B into Q's box 8; O_R = O_R 2^(m - mB) + P_B V_B[R] (registers); P_A' in (barrier 3);
  //        O_R += P_A' V_A[R] (shared), P_B published (barrier 7); V_B[R] back, then V_A[R].
  template <int W, typename Rel, typename Zero, typename IssueS>
  static __device__ __forceinline__ void seesawPair(const MlaParams& p, Rows& rw, const Item& it, int t, bool hasB, uint32_t uA, uint32_t stA, uint32_t stB, int t0A,
                                                    int t0B, uint32_t pBase, uint32_t qBase, uint32_t kBase, uint32_t fullBar, int rA, int rB, int gq, int tq,
                                                    uint32_t vLbo, uint32_t vSbo, float (&s)[32], float (&o)[128], float rmA, float rmB, float& mA_, float& mB_,
                                                    float& lA, float& lB, Rel& release, Zero& zeroTail, IssueS& issueS, bool& sPre) {
    const uint32_t pbBase = qBase + 8 * kBox; // P_B: Q's box 8 (in registers since the item began)
    uint32_t a[4][4];
    if constexpr (W == 0) {
      const float nA = fmaxf(mA_, rmA), nB = fmaxf(mB_, rmB);
      const float bA = nA == -INFINITY ? 0.f : nA, bB = nB == -INFINITY ? 0.f : nB;
      const float scA = ex2(mA_ - bA), scB = ex2(mB_ - bB);
      float sumA = 0.f, sumB = 0.f;
      expKeep(s, bA, bB, sumA, sumB, a, p.scaleLog2);
      lA = lA * scA + sumA;
      lB = lB * scB + sumB;
      if (tq == 0) { rw.mA[rA] = nA; rw.mA[rB] = nB; }
      namedArrive(1, 256); // mA ready
      scaleO(o, scA, scB);
      if (t == it.nTiles - 1) zeroTail(stA, t0A);
      const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes, vLbo, vSbo));
      wgFence();
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvA + ((kk * 2048) >> 4));
      wgCommit();
      wgWait<0>();
      pinRegs<128>(o);
      release(stA, 2); // V_A[L] read
      namedSync(2, 256); // c and mB ready (warpgroup 1 is past its softmax; it read mA)
      const float cA = rw.c[rA], cB = rw.c[rB];
      mA_ = rw.mB[rA]; mB_ = rw.mB[rB];
      lA *= cA; lB *= cB;
      // P_A' = c P_A into the P tile (free: warpgroup 1's P_A' V_A[R] of the last pair was waited before its barrier 2).
      if (__any_sync(0xffffffffu, cA != 1.f || cB != 1.f)) {
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int i = 2 * kk + h;
            a[kk][2 * h] = pack2<T>(s[4 * i + 0] * cA, s[4 * i + 1] * cA);
            a[kk][2 * h + 1] = pack2<T>(s[4 * i + 2] * cB, s[4 * i + 3] * cB);
          }
      }
      storeP(pBase, a, rA, rB, gq, tq);
      fenceProxyAsync();
      namedArrive(3, 256); // P_A' ready
      scaleO(o, cA, cB);
      namedSync(7, 256); // P_B stored, P_A' V_A[R] issued
      if (hasB) {
#pragma unroll 1
        for (int b = 0; b < 4; ++b) mbarWait(fullBar + kStageBars * stB + 8 * b, ((uA + 1) >> 1) & 1); // complete already (warpgroup 1 saw them): for visibility
        if (t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
        const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes, vLbo, vSbo));
        const uint64_t dP = opaque(descSw128(pbBase, 16, 1024));
        wgFence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) Wg<T>::ss256(o, dP + ((32 * kk) >> 4), dvB + ((kk * 2048) >> 4));
        wgCommit();
        if ((VAR & kVarSPipe) && t + 2 < it.nTiles) { // S of the next tile A right behind (its stage came back mid-pair)
          issueS(stA, ((uA + 2) >> 1) & 1);
          sPre = true;
          wgWait<1>();
        } else {
          wgWait<0>();
        }
        pinRegs<128>(o);
        release(stB, 2); // V_B[L] read
      }
      wgWait<0>();
    } else {
      namedSync(1, 256); // mA ready
      const float pA0 = rw.mA[rA], pB0 = rw.mA[rB];
      const float nA = fmaxf(pA0, rmA), nB = fmaxf(pB0, rmB);
      const float bA = nA == -INFINITY ? 0.f : nA, bB = nB == -INFINITY ? 0.f : nB;
      const float cA = ex2(pA0 - bA), cB = ex2(pB0 - bB);
      float sumA = 0.f, sumB = 0.f;
      expPack(s, bA, bB, sumA, sumB, a, p.scaleLog2);
      // O_R and this warpgroup's sums from the previous max straight to mB.
      const float fA = ex2(mA_ - bA), fB = ex2(mB_ - bB);
      lA = lA * fA + sumA;
      lB = lB * fB + sumB;
      if (tq == 0) { rw.c[rA] = cA; rw.c[rB] = cB; rw.mB[rA] = nA; rw.mB[rB] = nB; }
      namedArrive(2, 256); // c and mB ready
      mA_ = nA; mB_ = nB;
      if (hasB) storeP(pbBase, a, rA, rB, gq, tq);
      fenceProxyAsync();
      scaleO(o, fA, fB);
      if (hasB) {
        if (t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
        const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes + 4 * kBox, vLbo, vSbo));
        wgFence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvB + ((kk * 2048) >> 4));
        wgCommit();
      }
#pragma unroll 1
      for (int b = 4; b < 8; ++b) mbarWait(fullBar + kStageBars * stA + 8 * b, (uA >> 1) & 1); // complete already (warpgroup 0 saw them): for visibility
      if (t == it.nTiles - 1) zeroTail(stA, t0A);
      namedSync(3, 256); // P_A' ready
      const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes + 4 * kBox, vLbo, vSbo));
      const uint64_t dP = opaque(descSw128(pBase, 16, 1024));
      wgFence();
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) Wg<T>::ss256(o, dP + ((32 * kk) >> 4), dvA + ((kk * 2048) >> 4));
      wgCommit();
      namedArrive(7, 256); // P_B stored (fenced above), P_A' V_A[R] issued
      if (hasB) {
        wgWait<1>();
        release(stB, 1); // V_B[R] read
      }
      wgWait<0>();
      pinRegs<128>(o);
      release(stA, 1); // V_A[R] read
    }
  }

  // kVarBNoProd: boxes box0 .. box0 + nBox - 1 of the tile at cache row `row` into stage st, each on its full barrier,
  // where `on` (the expect_tx and the copy predicated inside the asm: no branch in the consumer's code for them).
  static __device__ __forceinline__ void issueBoxes(bool on, const TmaMap* kMap, uint32_t kBase, uint32_t fullBar, uint32_t st, int box0, int nBox, int row) {
#ifdef MLA_SM90A_WIDE
    const uint64_t policy = (VAR & kVarL2) && rowTiles<VAR>() > 1 ? evictNormalPolicy() : evictFirstPolicy();
#pragma unroll
    for (int c = box0; c < box0 + nBox; ++c) {
      const uint32_t bar = fullBar + kStageBars * st + 8 * c;
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %6, 0;\n"
                   "@p mbarrier.arrive.expect_tx.shared::cta.b64 _, [%4], %7;\n"
                   "@p cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\n}\n"
                   ::"r"(kBase + st * kTileBytes + c * kBox), "l"(reinterpret_cast<uint64_t>(kMap)), "r"(64 * c), "r"(row), "r"(bar), "l"(policy),
                   "r"(static_cast<int>(on)), "n"(kBox) : "memory");
    }
#endif
  }
  // kVarBNoProd: the cache rows of the first two key tiles of the items after item `after` (r0, r1; -1: none), the
  // order the consumers walk them in (as the producer counted its tiles u).
  static __device__ __forceinline__ void rowsAfter(const MlaParams& p, const int* meta, int after, int endIdx, int rowTile, int& r0, int& r1) {
    r0 = r1 = -1;
    int k = 0;
    for (int nb = after + 1; nb <= endIdx && k < 2; ++nb) {
      Item nx;
      if (!itemOf(p, meta, nb, rowTile, nx)) continue;
      const int* bt = p.blockTable + static_cast<int64_t>(nb) * p.maxBlocksPerSeq + nx.kBegin / kBN;
      for (int j = 0; j < nx.nTiles && k < 2; ++j, ++k) (k == 0 ? r0 : r1) = bt[j] * kBN;
    }
  }
  // kVarBNoProd: thread 0 of the CTA, before the consumers start: the CTA's first two tiles, every box (stage 0 in
  // the order an A tile's S walks them, stage 1 in a B tile's).
  static __device__ __forceinline__ void prologue(const MlaParams& p, const TmaMap* kMap) {
#ifdef MLA_SM90A_WIDE
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(kMap)) : "memory");
    extern __shared__ unsigned char smemRaw[];
    const uint32_t kBase = ((smemAddr(smemRaw) + 1023) & ~1023u) + kK_OFF;
    const uint32_t fullBar = smemAddr(&rows().full[0][0]);
    const int* meta = p.tileSchedulerMetadata + partIdx<VAR>() * kMetaFields;
    int r0, r1;
    rowsAfter(p, meta, meta[kMetaBeginIdx] - 1, meta[kMetaEndIdx], rowTileIdx<VAR>(), r0, r1);
    if (r0 >= 0) { issueBoxes(true, kMap, kBase, fullBar, 0, 8, 1, r0); issueBoxes(true, kMap, kBase, fullBar, 0, 0, 4, r0); issueBoxes(true, kMap, kBase, fullBar, 0, 4, 4, r0); }
    if (r1 >= 0) { issueBoxes(true, kMap, kBase, fullBar, 1, 8, 1, r1); issueBoxes(true, kMap, kBase, fullBar, 1, 4, 4, r1); issueBoxes(true, kMap, kBase, fullBar, 1, 0, 4, r1); }
#endif
  }

  // Consumer warpgroup W (its own copy of the loop: the two keep their accumulators in unrelated registers).
  template <int W>
  static __device__ __forceinline__ void consume(const MlaParams& p, [[maybe_unused]] const TmaMap* kMap, [[maybe_unused]] const TmaMap* qMap) {
    // kVarSeesaw with Q's box 8 held in registers: 240 (and the producer 24); kVarQ8G fits the usual 232 / 32 with
    // 0 bytes of spill (at 240 / 24 the producer's loop spilled 8). kVarBNoProd: no setmaxnreg (256 threads: 255 each).
    if constexpr (kNP) {
      // kVarBNoProd: no setmaxnreg, but an aligned warpgroup instruction first: without one (or a setmaxnreg) ptxas took
      // the consumer's code for divergent and serialised every wgmma of the kernel (C7520), whatever the register cap.
      wgFence();
    } else if constexpr ((VAR & kVarSeesaw) != 0 && (VAR & kVarQ8G) == 0) asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    else asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
    extern __shared__ unsigned char smemRaw[];
    const uint32_t sBase = (smemAddr(smemRaw) + 1023) & ~1023u; // shared-window addresses: no 64-bit pointers
    const uint32_t qBase = sBase + kQ_OFF, kBase = sBase + kK_OFF, pBase = sBase + kP_OFF;
    Rows& rw = rows();
    const uint32_t fullBar = smemAddr(&rw.full[0][0]), emptyBar = smemAddr(&rw.empty[0][0]);
    const int part = partIdx<VAR>(), rowTile = rowTileIdx<VAR>();
    const int tid = threadIdx.x;
    const int* meta = p.tileSchedulerMetadata + part * kMetaFields;
    const int beginIdx = meta[kMetaBeginIdx], endIdx = meta[kMetaEndIdx];
    constexpr int wg = W;
    const int wt = tid % 128, warp = wt / 32, lane = tid % 32, gq = lane / 4, tq = lane % 4;
    const int rA = 16 * warp + gq, rB = rA + 8; // this thread's two rows of every accumulator
    constexpr bool w0 = W == 0;
    const uint32_t vLbo = SWAPV ? 1024 : 8192, vSbo = SWAPV ? 8192 : 1024;
    uint32_t u = 0;
    QFlag<(VAR & kVarQEarly) != 0> qPre; // kVarQEarly: this item's Q was issued by warpgroup 0 at the end of the previous item
    // kVarBQAll: this item's Q was issued in the previous item's last pair (qPreA); the phases of Q's mbarrier waited so
    // far (qPh); thread 0: the next live item's first q row (qNx, -1: none).
    [[maybe_unused]] bool qPreA = false;
    [[maybe_unused]] uint32_t qPh = 0;
    [[maybe_unused]] uint32_t hPh = 0; // kMH: bit K, the parity of this warpgroup's next wait on hand-off K
    [[maybe_unused]] int qNx = -1;
    // kVarBStK: the stage whose groups this pair keeps (the item's last tile, its output rows staged there; 2: none),
    // and the stage still held from the previous item (handed back at this item's start).
    [[maybe_unused]] uint32_t holdSt = 2u, heldSt = 2u;
    // Hands group g (0: box 8, 1: boxes 4-7, 2: boxes 0-3) of stage st back to the producer.
    const uint32_t peer = (VAR & kVarMcast) ? clusterRank() ^ 1u : 0u;
    // kVarBNoProd (thread 0 of the warpgroup): the cache rows of the tiles two ahead of the pair's A (nxA) and B (nxB),
    // the pair's stage A, and the rows of the first two tiles after the item (nr0, nr1).
    [[maybe_unused]] int nxA = -1, nxB = -1, nr0 = -1, nr1 = -1;
    [[maybe_unused]] uint32_t stAc = 0;
    auto release = [&](uint32_t st, int g) {
      if constexpr (kSK && !kSN)
        if (st == holdSt) return; // kVarBStK: handed back after the output rows staged there are read out
      if constexpr (kNP) { // kVarBNoProd: thread 0 refills the group with the tile two ahead at once (no branch: see issueBoxes)
        const int row = st == stAc ? nxA : nxB;
        issueBoxes(wt == 0 && row >= 0, kMap, kBase, fullBar, st, g == 0 ? 8 : (g == 1 ? 4 : 0), g == 0 ? 1 : 4, row);
      } else if (wt == 0) {
        mbarArrive(emptyBar + 24 * st + 8 * g);
        if (VAR & kVarMcast) mbarArriveRemote(emptyBar + 24 * st + 8 * g, peer); // the sibling's producer writes here too
      }
    };

#ifdef MLA_SM90W_TRACE
    [[maybe_unused]] int tlRow = kTlPairs, tlPc = 0; // kVarBTimeline: this pair's row, pairs so far
#endif
    for (int batch = beginIdx; batch <= endIdx; ++batch) {
      Item it;
      if (!itemOf(p, meta, batch, rowTile, it, (VAR & kVarMcast) != 0)) continue; // CTA-uniform
      const int slot = p.numSplits[batch] + (batch == beginIdx ? meta[kMetaBeginNSplitIdx] : 0);
      const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
      const int m0 = rowTile * kRowsPerCta;
      // kVarBQAll: whether the next item's Q may be issued in this item's last pair (its output rows are not staged in
      // Q's region: storeRows' test for the staged path).
      [[maybe_unused]] const bool qEarlyA = kQA && it.nTiles > 0 && (kSK || kSR || !((VAR & kVarStAsync) && noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0));
      // kVarBStK: this item's output rows are staged (storeRows' test), in the stage of its last tile.
      [[maybe_unused]] const bool stagedK = !kSN && kSK && noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0; // (kVarBStKNx: after the loop)
      const int limA = rA < it.liveRows ? min(it.kEnd, visibleKeys(p, it.seqlen, it.qLen, (m0 + rA) / p.nGroups)) : 0;
      const int limB = rB < it.liveRows ? min(it.kEnd, visibleKeys(p, it.seqlen, it.qLen, (m0 + rB) / p.nGroups)) : 0;

      // Q rows m0.. (hKv = 1: contiguous from row qStart * hQ) into 9 swizzled boxes; rows past liveRows are zeros.
      if constexpr ((VAR & kVarStAsync) != 0)
        if ((VAR & kVarStSpread) ? (wt % 32) < 8 : (W == 0 && wt < 32)) bulkWaitRead0(); // the previous item's staged rows are read out of Q's region
#ifdef MLA_SM90W_TRACE
      if constexpr (kItemStamps)
        if (W == 0 && wt == 0) traceClk(176);
#endif
      namedSync(4, 256); // the previous item is done with Q and the row arrays
#ifdef MLA_SM90W_TRACE
      if constexpr (kItemStamps)
        if (W == 0 && wt == 0) traceClk(184);
#endif
      if constexpr (kSN) { // kVarBStKNx: every stage that held rows so far is read out: the producer may refill it
        if (w0 && wt == 0) stRelease32(qBase + kP_OFF - kQ_OFF + kBox + 8, ldShared32(qBase + kP_OFF - kQ_OFF + kBox + 12));
      } else if constexpr (kSK) { // kVarBStK: the previous item's staged rows are read out of its last tile's stage: hand it back
        if (w0 && wt == 0 && heldSt < 2u)
#pragma unroll
          for (int g = 0; g < 3; ++g) mbarArrive(emptyBar + 24 * heldSt + 8 * g);
        heldSt = 2u;
      }
#ifdef MLA_SM90W_TRACE
      if constexpr ((VAR & kVarTrace) != 0)
        if (W == 0 && wt == 0) {
          unsigned long long* tr = traceCta();
          const unsigned long long n = tr[6];
          if (n < 8) { tr[16 + n] = traceNs(); tr[32 + n] = static_cast<unsigned long long>(it.nTiles); tr[112 + n] = noSplit ? 0 : 1; }
        }
#endif
      const T* qRows = static_cast<const T*>(p.q) + (static_cast<int64_t>(it.qStart) * p.hQ + m0) * kDQk;
      constexpr int kChunks = kDQk / 8; // 16-byte chunks a row
      // cp.async, all of a thread's 18 chunks in flight at once (a load-then-store loop waits a round trip each).
      if constexpr ((VAR & kVarQEarly) != 0) {
        if (!qPre.v) qLoad(p, it.qStart, it.liveRows, m0, qBase, tid, 256);
        qPre.v = it.nTiles > 0; // for the next item: this item's last pair (below) loads its Q
      } else if constexpr (kQA) { // kVarBQAll: the first item's boxes are the producer's, later ones thread 0's
        const uint32_t qBar = qBase + kP_OFF - kQ_OFF + kBox;
        if (w0 && wt == 0) {
          if (!qPreA && batch != beginIdx) issueQ(qMap, qBase, it.qStart * p.hQ + m0, qBar); // (Q's region free: barrier 4 above)
          qNx = nextQRow(p, batch, endIdx, m0); // while this item's Q flies
        }
        mbarWait(qBar, qPh);
        qPh ^= 1;
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (W == 0 && wt == 0) traceClk(192);
#endif
      } else if (kQT && batch == beginIdx) {
        mbarWait(qBase + kP_OFF - kQ_OFF + kBox, 0); // kVarBQTma: the producer's boxes (a skipped first item had none)
      } else {
      for (int c = tid; c < 64 * kChunks; c += 256) {
        const int r = c / kChunks, ch = c % kChunks;
        const bool live = r < it.liveRows;
        cpAsync16(qBase + (ch / 8) * kBox + sw128(r, (ch % 8) * 8), live ? qRows + static_cast<int64_t>(r) * kDQk + ch * 8 : p.q, live ? 16 : 0);
      }
      }
      if constexpr (kNP) rowsAfter(p, meta, batch, endIdx, rowTile, nr0, nr1); // while Q is in flight (every thread: the same loads, no branch)
      cpAsyncWaitAll();
      fenceProxyAsync();
      namedSync(4, 256);
#ifdef MLA_SM90W_TRACE
      if constexpr ((VAR & kVarTrace) != 0)
        if (W == 0 && wt == 0) {
          unsigned long long* tr = traceCta();
          const unsigned long long n = tr[6];
          if (n < 8) tr[24 + n] = traceNs();
          if constexpr (kItemStamps) traceClk(96);
        }
#endif
      // kVarSeesaw: Q's box 8 (RoPE) in registers, as the A fragment of S's box-8 wgmma (rows rA / rB, columns
      // 16kk + 8(e/2) + 2tq (+1)); its shared box then holds P_B. Each thread reads exactly the words its warpgroup 1
      // twin later overwrites with P_B, and warpgroup 0 reads them before its first barrier-1 arrive.
      uint32_t q8[4][4];
      if constexpr ((VAR & kVarSeesaw) != 0 && (VAR & kVarQ8G) == 0) {
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
#pragma unroll
          for (int e = 0; e < 4; ++e) q8[kk][e] = ldShared32(qBase + 8 * kBox + sw128((e & 1) ? rB : rA, 16 * kk + 8 * (e >> 1) + 2 * tq));
      }

      float o[128];
#pragma unroll
      for (int i = 0; i < 128; ++i) o[i] = 0.f;
      float s[32];
      // Issues S = Q K^T of the tile in stage st (full-barrier parity par), box by box as they land, in the order the
      // producer refills them: 8 (freed after S), 4-7, then 0-3 (freed last). Committed, not waited.
      auto issueS = [&](uint32_t st, uint32_t par) {
        const uint32_t fullS = fullBar + kStageBars * st;
#pragma unroll
        for (int i = 0; i < 32; ++i) s[i] = 0.f;
        const uint64_t dQ = opaque(descSw128(qBase, 16, 1024)), dK = opaque(descSw128(kBase + st * kTileBytes, 16, 1024));
        wgFence();
        if (VAR & kVarUnrollS) { // kVarUnrollS: the box walk unrolled (box offsets and barrier addresses immediate)
          uint32_t qr[4][4]; // kVarQ8G: this S's Q fragments of box 8, loaded before the walk
          if constexpr ((VAR & kVarQ8G) != 0) {
            // Two row pointers, immediate offsets; rows past the item's live rows read row 0 and are zeroed.
            const bool liveA = rA < it.liveRows, liveB = rB < it.liveRows;
            const uint32_t* q8g = reinterpret_cast<const uint32_t*>(qRows + 8 * 64); // columns 512.. of row 0
            const uint32_t* pa = q8g + ((liveA ? rA : 0) * kDQk) / 2 + tq;
            const uint32_t* pb = q8g + ((liveB ? rB : 0) * kDQk) / 2 + tq;
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                const uint32_t va = __ldg(pa + 8 * kk + 4 * h), vb = __ldg(pb + 8 * kk + 4 * h);
                qr[kk][2 * h] = liveA ? va : 0u;
                qr[kk][2 * h + 1] = liveB ? vb : 0u;
              }
          }
#pragma unroll
          for (int b = 0; b < 9; ++b) {
            // kVarQ8G: box 8 third, 0, 1, 8, 2, 3, 4-7 (A tiles, kVarWalkA) or 4, 5, 8, 6, 7, 0-3 (h0: the first half)
            constexpr int h0 = (VAR & kVarWalkA) && w0 ? 0 : 4;
            const int box = (VAR & kVarQ8G) ? (b < 2 ? h0 + b : (b == 2 ? 8 : (b < 5 ? h0 + b - 1 : (h0 ^ 4) + b - 5)))
                                            : (b == 0 ? 8 : ((VAR & kVarWalkA) && w0 ? b - 1 : (b < 5 ? b + 3 : b - 5)));
            if constexpr (kStag5)
              if (!w0 && b == 5) namedArrive(9, 256); // kVarBStag5: warpgroup 0's walk may start (boxes 8, 4-7 issued)
            mbarWait(fullS + 8 * box, par);
            if (b == 0) MLA_TL(1);
            if (b == 8) MLA_TL(2);
            const uint64_t q = opaque(dQ + box * (kBox >> 4)), k = opaque(dK + box * (kBox >> 4));
            if ((VAR & kVarSeesaw) && box == 8) {
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) WgRs<T>::rs64(s, (VAR & kVarQ8G) ? qr[kk] : q8[kk], k + 2 * kk);
            } else {
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) Wg<T>::ss64(s, q + 2 * kk, k + 2 * kk);
            }
          }
        } else {
          static_assert((VAR & kVarSeesaw) == 0 || (VAR & kVarUnrollS) != 0, "kVarSeesaw needs kVarUnrollS (box 8 by RS)");
#pragma unroll 1
          for (int b = 0; b < 9; ++b) {
            const int box = b == 0 ? 8 : (b < 5 ? b + 3 : b - 5);
            mbarWait(fullS + 8 * box, par); // each box is multiplied as soon as it lands
            const uint64_t q = opaque(dQ + box * (kBox >> 4)), k = opaque(dK + box * (kBox >> 4));
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) Wg<T>::ss64(s, q + 2 * kk, k + 2 * kk);
          }
        }
        wgCommit();
      };
      float mA_ = -INFINITY, mB_ = -INFINITY, lA = 0.f, lB = 0.f; // running max (rows rA, rB) and this WG's sums
#ifdef MLA_SM90W_TRACE
      [[maybe_unused]] unsigned long long wBar = 0, wDrain = 0, wT0 = 0; // the hand-off waits of this item (words 120.. / 128.. / 136..)
#endif
      bool sPre = false; // kVarSPipe: S of this tile was issued at the end of the previous pair (warpgroup 0)

      for (int t = 0; t < it.nTiles; t += 2) {
        const bool hasB = t + 1 < it.nTiles;
        const uint32_t uA = u, stA = u & 1, stB = (u + 1) & 1;
        u += hasB ? 2 : 1; // tiles consumed, as the producer counts them
        if constexpr (kSK && !kSN) holdSt = stagedK && t + 2 >= it.nTiles ? (hasB ? stB : stA) : 2u; // kVarBStK: the last tile's stage stays
        if constexpr (kQP) // kVarBQPf: the next item's Q into L2 where it is not issued in this item's last pair
          if (w0 && wt == 0 && qNx >= 0
              && (MLA_SM90W_QPF_AT == 0 ? t + 2 >= it.nTiles && !qEarlyA
                  : t == 2 * (MLA_SM90W_QPF_AT == 1 ? ((it.nTiles + 1) / 2 - 1) / 2 : part % ((it.nTiles + 1) / 2))))
#pragma unroll 1
            for (int c = 0; c < 9; ++c) tmaPrefetchQ(qMap, 64 * c, qNx);
        const int t0A = it.kBegin + t * kBN, t0B = t0A + kBN;
#ifdef MLA_SM90W_TRACE
        if constexpr (kTL) {
          tlRow = static_cast<unsigned>(tlPc - kTlSkip) < static_cast<unsigned>(kTlPairs) ? tlPc - kTlSkip : kTlPairs;
          ++tlPc;
          MLA_TL(0);
          if (wt == 0) tlSlot(W, tlRow)[15] = static_cast<unsigned>(t) | (static_cast<unsigned>(it.nTiles) << 16) | (hasB ? 0x80000000u : 0u);
        }
#endif
        if constexpr (kNP) { // the rows of tiles t + 2 and t + 3 (loaded now, used at the releases; every thread, no branch)
          const int* bt = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq + it.kBegin / kBN;
          stAc = stA;
          nxA = t + 2 < it.nTiles ? __ldg(bt + t + 2) * kBN : (t + 2 == it.nTiles ? nr0 : nr1);
          nxB = !hasB ? -1 : t + 3 < it.nTiles ? __ldg(bt + t + 3) * kBN : (t + 3 == it.nTiles ? nr0 : nr1);
        }
        // Zero the V rows (this WG's 4 boxes) of keys past the item's end in its last tile.
        auto zeroTail = [&](uint32_t st, int t0) {
          const int live = it.tileEnd - t0;
          if (live >= kBN) return;
          const uint32_t base = kBase + st * kTileBytes + 4 * wg * kBox;
          for (int c = wt; c < 4 * (kBN - live) * 8; c += 128) {
            const int box = c / ((kBN - live) * 8), rem = c % ((kBN - live) * 8), r = live + rem / 8, ch = rem % 8;
            stShared(base + box * kBox + r * 128 + ch * 16, make_uint4(0, 0, 0, 0));
          }
          fenceProxyAsync();
          namedSync(5 + wg, 128);
        };
        const bool ownTile = w0 || hasB;
        const uint32_t stS = w0 ? stA : stB;
        const int t0S = w0 ? t0A : t0B;
        if (!ownTile) {
#pragma unroll
          for (int i = 0; i < 32; ++i) s[i] = -INFINITY; // no tile B: P_B = 0
          if constexpr (kStag) namedArrive(9, 256); // (warpgroup 1: no S_B' this pair)
        }
        float rmA = -INFINITY, rmB = -INFINITY;
        constexpr bool kLazy = w0 ? kLzA : kLzB; // session 20 (w2): this warpgroup's softmax keeps a lazy reference
        // Mask by selection, scale to base 2, row maxima over this thread's quad. With kVarFull a tile whose 64 keys
        // are all visible to both of this thread's rows (all but an item's last tile, and the causal edge) skips
        // the per-key compare and select.
        // The quad's row maxima, scaled (kVarFoldScale); with kVarBLazyA / B (kLazy: this warpgroup's softmax) only on
        // the exact path, after the vote.
        auto quadRow = [&]() {
          rmA = quadMax(rmA);
          rmB = quadMax(rmB);
          if (VAR & kVarFoldScale) rmA *= p.scaleLog2, rmB *= p.scaleLog2; // scale > 0: the max commutes with it
        };
        // kVarBLazyA / B: whether every thread of the warp finds its own tile maximum (raw, times the scale) at most
        // kLazyTau above the reference of its rows (warp-uniform).
        [[maybe_unused]] auto lazyVote = [&](float refA, float refB) {
          return __all_sync(0xffffffffu, rmA * p.scaleLog2 <= refA + kLazyTau && rmB * p.scaleLog2 <= refB + kLazyTau);
        };
        // kVarBTreeMax: this thread's maxima of rows rA (s[4i], s[4i + 1]) and rB (s[4i + 2], s[4i + 3]) by pairwise trees.
        [[maybe_unused]] auto treeMax = [&]() { // (one array a level, constant trip counts: registers, no stack)
          float a8[8], b8[8], a4[4], b4[4];
#pragma unroll
          for (int i = 0; i < 8; ++i) a8[i] = fmaxf(s[4 * i], s[4 * i + 1]), b8[i] = fmaxf(s[4 * i + 2], s[4 * i + 3]);
#pragma unroll
          for (int i = 0; i < 4; ++i) a4[i] = fmaxf(a8[i], a8[i + 4]), b4[i] = fmaxf(b8[i], b8[i + 4]);
          rmA = fmaxf(rmA, fmaxf(fmaxf(a4[0], a4[2]), fmaxf(a4[1], a4[3])));
          rmB = fmaxf(rmB, fmaxf(fmaxf(b4[0], b4[2]), fmaxf(b4[1], b4[3])));
        };
        auto maskS = [&]() {
          if ((VAR & kVarFull) && t0S + kBN <= limA && t0S + kBN <= limB) {
            if constexpr (kTree) treeMax(); // (kVarFoldScale: the raw scores stay)
            else {
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                const float v = (VAR & kVarFoldScale) ? s[4 * i + e] : s[4 * i + e] * p.scaleLog2;
                s[4 * i + e] = v;
                if (e & 2) rmB = fmaxf(rmB, v); else rmA = fmaxf(rmA, v);
              }
            }
          } else if constexpr (kTree) {
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                const int key = t0S + 8 * i + 2 * tq + (e & 1);
                s[4 * i + e] = key < ((e & 2) ? limB : limA) ? s[4 * i + e] : -INFINITY;
              }
            treeMax();
          } else {
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                const int key = t0S + 8 * i + 2 * tq + (e & 1);
                const float v = key < ((e & 2) ? limB : limA) ? ((VAR & kVarFoldScale) ? s[4 * i + e] : s[4 * i + e] * p.scaleLog2) : -INFINITY;
                s[4 * i + e] = v;
                if (e & 2) rmB = fmaxf(rmB, v); else rmA = fmaxf(rmA, v);
              }
          }
          if constexpr (!kLazy) quadRow();
        };
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (W == 0 && wt == 0 && t > 0 && t + 2 >= it.nTiles) traceClk(64);
#endif
        if constexpr (kStag) // kVarBStag(5): warpgroup 0's S walk behind warpgroup 1's (or its first five boxes)
          if (w0) namedSync(9, 256);
        if (ownTile) {
          if (!((VAR & kVarSPipe) && sPre)) issueS(stS, ((uA + (w0 ? 0 : 1)) >> 1) & 1);
          if constexpr (kStag && !kStag5)
            if (!w0) namedArrive(9, 256);
          MLA_TL(3);
          sPre = false;
#ifdef MLA_SM90W_TRACE
          if constexpr (kItemStamps)
            if (W == 0 && wt == 0 && t == 0) traceClk(40);
#endif
          wgWait<0>();
          MLA_TL(4);
#ifdef MLA_SM90W_TRACE
          if constexpr (kItemStamps)
            if (W == 0 && wt == 0 && t == 0) traceClk(48);
#endif
          pinRegs<32>(s);
          release(stS, 0); // box 8 is read by S only
          maskS();
        }

        if constexpr ((VAR & kVarSeesaw) != 0) {
          seesawPair<W>(p, rw, it, t, hasB, uA, stA, stB, t0A, t0B, pBase, qBase, kBase, fullBar, rA, rB, gq, tq, vLbo, vSbo, s, o, rmA, rmB, mA_, mB_, lA, lB,
                        release, zeroTail, issueS, sPre);
        } else if (w0) {
          // Softmax of A against the running max; P_A to shared memory with mA, then P_A V_A[L] from registers.
          float nA, nB, scA, scB;
          bool lazy = false; // kVarBLazyA: mA_ stays the reference (factors exactly 1)
          if constexpr (kLazy) lazy = lazyVote(mA_, mB_);
          if (lazy) nA = mA_, nB = mB_;
          else {
            if constexpr (kLazy) quadRow();
            nA = fmaxf(mA_, rmA), nB = fmaxf(mB_, rmB);
          }
          const float bA = baseOf(nA), bB = baseOf(nB);
          if (lazy) scA = 1.f, scB = 1.f;
          else scA = ex2(mA_ - bA), scB = ex2(mB_ - bB);
          constexpr bool kME = (VAR & kVarMAEarly) != 0;
          if constexpr (kME) { // kVarMAEarly: mA out before the exponentials (warpgroup 1's softmax needs mA only)
            if (tq == 0) { rw.mA[rA] = nA; rw.mA[rB] = nB; }
            namedArrive(1, 256); // mA ready
          }
          float sumA = 0.f, sumB = 0.f;
          uint32_t a[4][4];
          expPack(s, bA, bB, sumA, sumB, a, p.scaleLog2);
          lA = lA * scA + sumA;
          lB = lB * scB + sumB;
          storeP(pBase, a, rA, rB, gq, tq);
          if constexpr (!kME)
            if (tq == 0) { rw.mA[rA] = nA; rw.mA[rB] = nB; }
          if constexpr (!kAL) {
            fenceProxyAsync();
            if constexpr (kME) namedArrive(8, 256); // P_A ready (kVarMAEarly: barrier 8)
            else handArrive<1>(); // mA and P_A ready
          }
          MLA_TL(5);
          if (!lazy) scaleO(o, scA, scB);
          if (t == it.nTiles - 1) zeroTail(stA, t0A);
          const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes, vLbo, vSbo));
          wgFence();
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvA + ((kk * 2048) >> 4));
          wgCommit();
          if constexpr (kAL) { // kVarBArriveLate: P_A's fence and barrier 1 behind P_A V_A[L]'s issue
            fenceProxyAsync();
            namedArrive(1, 256); // mA and P_A ready
          }
          MLA_TL(6);
          if (VAR & kVarEarlyRel) { // V_A[L] back to the producer before the wait for P_B (usually the longer one)
            wgWait<0>();
            MLA_TL(7);
            pinRegs<128>(o);
            release(stA, 2);
          }
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wT0 = clock64();
#endif
          if constexpr ((VAR & kVarCEarly) != 0) {
            if (hasB) handWait<3>(hPh); // kVarCEarly: c, mB and P_B ready; warpgroup 1 is done reading P_A
            else handWait<2>(hPh);
          } else handWait<2>(hPh); // c, mB and P_B ready; warpgroup 1 is done reading P_A
          MLA_TL(8);
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wBar += clock64() - wT0;
#endif
          const float cA = rw.c[rA], cB = rw.c[rB];
          mA_ = rw.mB[rA]; mB_ = rw.mB[rB];
          lA *= cA; lB *= cB;
          wgWait<0>();
          pinRegs<128>(o);
          if (!(VAR & kVarEarlyRel)) release(stA, 2); // V_A[L] read
          scaleO(o, cA, cB);
          if (hasB) {
            if constexpr ((VAR & kVarVis4) != 0) mbarWait4(fullBar + kStageBars * stB, ((uA + 1) >> 1) & 1);
            else {
#pragma unroll 1
            for (int b = 0; b < 4; ++b) mbarWait(fullBar + kStageBars * stB + 8 * b, ((uA + 1) >> 1) & 1); // complete already (warpgroup 1 saw them): for visibility
            }
            if (t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
            const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes, vLbo, vSbo));
            const uint64_t dP = opaque(descSw128(pBase, 16, 1024));
            MLA_TL(12);
            if constexpr ((VAR & kVarCEarly) != 0) handWait<2>(hPh); // both of warpgroup 1's P V issued (queue order)
            MLA_TL(9);
            wgFence();
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) Wg<T>::ss256(o, dP + ((32 * kk) >> 4), dvB + ((kk * 2048) >> 4));
            wgCommit();
            MLA_TL(10);
            if constexpr ((VAR & kVarQEarly) != 0) qEarly(p, it, t, batch, endIdx, rowTile, m0, qBase, wt); // Q's copy flies during P_B V_B[L]
            if constexpr (kQA) // kVarBQAll: the next item's Q (warpgroup 1's last S_B was waited before barrier 3)
              if (wt == 0 && t + 2 >= it.nTiles && qEarlyA && qNx >= 0) issueQ(qMap, qBase, qNx, qBase + kP_OFF - kQ_OFF + kBox);
            wgWait<0>();
            MLA_TL(11);
            pinRegs<128>(o);
            release(stB, 2); // V_B[L] read
          }
          if constexpr ((VAR & kVarQEarly) != 0)
            if (!hasB) qEarly(p, it, t, batch, endIdx, rowTile, m0, qBase, wt);
          if constexpr (kQA) // kVarBQAll: no B tile: warpgroup 1's last S was in an earlier pair (barrier 2 above)
            if (!hasB && wt == 0 && t + 2 >= it.nTiles && qEarlyA && qNx >= 0) issueQ(qMap, qBase, qNx, qBase + kP_OFF - kQ_OFF + kBox);
          wgWait<0>(); // unconditional: ptxas then sees every path wait before the accumulators are read
        } else {
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wT0 = clock64();
#endif
          constexpr bool kNM = (VAR & kVarPrNoMA) != 0 || kOM; // probe: no m_A before the softmax (barrier 1 where P_A is read); kVarBOwnMax: exact
          // kVarBLazyB: the vote before barrier 1, against this warpgroup's previous maximum mA_ (<= m_A, so where it holds
          // every score is at most kLazyTau above m_A too): after the barrier only m_A's load stands before the exponentials.
          bool lazy = false; // kVarBLazyB: m_A stays the reference (c exactly 1)
          if constexpr (kLazy) lazy = lazyVote(mA_, mB_);
          if constexpr (!kNM) handWait<1>(hPh); // mA and P_A ready
          MLA_TL(5);
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wBar += clock64() - wT0;
#endif
          float pA0, pB0;
          if constexpr (kNM) pA0 = mA_, pB0 = mB_;
          else pA0 = rw.mA[rA], pB0 = rw.mA[rB];
          // Softmax of B against mA first (its registers free before any P V is in flight), P_B to shared memory.
          float nA, nB, cA, cB;
          if (lazy) nA = pA0, nB = pB0;
          else {
            if constexpr (kLazy) quadRow();
            nA = fmaxf(pA0, rmA), nB = fmaxf(pB0, rmB);
          }
          const float bA = baseOf(nA), bB = baseOf(nB);
          if (lazy) cA = 1.f, cB = 1.f;
          else cA = ex2(pA0 - bA), cB = ex2(pB0 - bB);
          // kVarPrNoMA: after barrier 1, c from m_A to this warpgroup's maximum (P_A' and warpgroup 0's O_L to m_B); a
          // row with nothing here yet (m_B = -inf: O_R, P_B and these sums are 0) takes m_A as its reference
          uint32_t a[4][4];
          [[maybe_unused]] uint32_t aPub[4][4]; // kVarBOwnMax2: a copy of P_B made before its wgmma (PTX: no access to an in-flight A), x d
          [[maybe_unused]] float dA = 1.f, dB = 1.f; // kVarBOwnMax2: O_R's factor, applied after the wait
          // defer (kVarBOwnMax2 where P_B V_B[R] is in flight): no wait here; aPub x d, O_R scaled after the publication.
          [[maybe_unused]] auto syncMA = [&]([[maybe_unused]] const bool defer) {
            if constexpr (kOM) { // kVarBOwnMax: the pair's maximum; O_R, its sums and P_B down to it (d <= 1), c <= 1
              namedSync(1, 256); // mA and P_A ready
              const float mA0 = rw.mA[rA], mB0 = rw.mA[rB];
              const float xA = fmaxf(mA0, nA), xB = fmaxf(mB0, nB);
              const float bxA = xA == -INFINITY ? 0.f : xA, bxB = xB == -INFINITY ? 0.f : xB;
              cA = ex2(mA0 - bxA), cB = ex2(mB0 - bxB);
              dA = ex2(nA - bxA), dB = ex2(nB - bxB);
              nA = xA; nB = xB;
              mA_ = nA; mB_ = nB;
              if (kOM2 && defer) {
                lA *= dA; lB *= dB;
                scaleP(aPub, dA, dB);
                return;
              }
              wgWait<0>(); // P_B V_B[R] retired (where there is one): O_R and the P_B fragments free
              pinRegs<128>(o);
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) asm volatile("" : "+r"(a[kk][0]), "+r"(a[kk][1]), "+r"(a[kk][2]), "+r"(a[kk][3])); // (after the wait)
              lA *= dA; lB *= dB;
              scaleO(o, dA, dB);
              scaleP(a, dA, dB);
            } else if constexpr (kNM) {
              namedSync(1, 256); // mA and P_A ready
              const float mA0 = rw.mA[rA], mB0 = rw.mA[rB];
              if (nA == -INFINITY) nA = mA0;
              if (nB == -INFINITY) nB = mB0;
              mA_ = nA; mB_ = nB;
              cA = ex2(mA0 - (nA == -INFINITY ? 0.f : nA)), cB = ex2(mB0 - (nB == -INFINITY ? 0.f : nB));
            }
          };
          {
            float sumA = 0.f, sumB = 0.f;
            expPack<(VAR & kVarPolyExB) == 0 ? 0 : (VAR & kVarPolyHalf) != 0 ? 2 : 4>(s, bA, bB, sumA, sumB, a, p.scaleLog2);
            // This warpgroup's sums and O_R: from the previous max to mA, then (below) by c to mB.
            // kVarBLazyC: the steady pair (both warpgroups kept the reference): O_R's factor is exactly 1, not computed.
            bool same = false;
            if constexpr (kLzC) same = __all_sync(0xffffffffu, lazy && pA0 == mA_ && pB0 == mB_);
            if (same) {
              lA += sumA;
              lB += sumB;
            } else {
            const float baA = baseOf(pA0), baB = baseOf(pB0);
            const float scA = ex2(mA_ - baA), scB = ex2(mB_ - baB);
            lA = lA * scA * cA + sumA;
            lB = lB * scB * cB + sumB;
            if constexpr ((VAR & kVarPAReg) != 0) scaleO(o, scA * cA, scB * cB); // once: P_A is rescaled by c below
            else scaleO(o, scA, scB);
            }
          }
          mA_ = nA; mB_ = nB;
          if constexpr ((VAR & kVarPBEarly) != 0) {
            static_assert((VAR & kVarPAReg) != 0 && (VAR & kVarPBFirst) != 0 && (VAR & kVarVis4) != 0, "kVarPBEarly: with kVarPAReg | kVarPBFirst | kVarVis4");
            if (hasB) { // (the A tile is not the item's last here: no zeroTail of stage A)
              constexpr bool kCE = (VAR & kVarCEarly) != 0;
              uint32_t pa[4][4]; // this thread's P_A words of the P tile, read before P_B goes over them
              [[maybe_unused]] auto publish = [&]() { // P_A's words read, P_B / c / m_B stored over them, fenced for the async proxy
                if constexpr ((VAR & kVarMAEarly) != 0) namedSync(8, 256); // P_A ready
                syncMA(true);
#pragma unroll
                for (int kk = 0; kk < 4; ++kk)
#pragma unroll
                  for (int e = 0; e < 4; ++e) pa[kk][e] = ldShared32(pBase + ((e & 1) ? rB : rA) * 128 + (((2 * kk + (e >> 1)) ^ gq) << 4) + tq * 4);
                if constexpr (kOM2) storeP(pBase, aPub, rA, rB, gq, tq);
                else storeP(pBase, a, rA, rB, gq, tq);
                if (tq == 0) { rw.c[rA] = cA; rw.c[rB] = cB; rw.mB[rA] = nA; rw.mB[rB] = nB; }
                fenceProxyAsync();
              };
              if constexpr (!kCE) publish();
              if (t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
              const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes + 4 * kBox, vLbo, vSbo));
              if constexpr (kOM2) { // P_B's copy for the publication, in registers of its own
                static_assert((VAR & kVarCEarly) != 0, "kVarBOwnMax2: the publication after P_B V_B[R]'s issue");
#pragma unroll
                for (int kk = 0; kk < 4; ++kk)
#pragma unroll
                  for (int e = 0; e < 4; ++e) asm volatile("mov.b32 %0, %1;\n" : "=r"(aPub[kk][e]) : "r"(a[kk][e]));
              }
              wgFence();
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvB + ((kk * 2048) >> 4));
              wgCommit();
              MLA_TL(6);
              constexpr bool kPL = (VAR & kVarPBLate) != 0;
              if constexpr (kPL) { // kVarPBLate: c / mB alone on barrier 3; P_A's words read; P_B stored after P_A' V_A[R]'s issue
                if (tq == 0) { rw.c[rA] = cA; rw.c[rB] = cB; rw.mB[rA] = nA; rw.mB[rB] = nB; }
                namedArrive(3, 256); // c and mB ready (warpgroup 0 does its pre-P-V work from here)
#pragma unroll
                for (int kk = 0; kk < 4; ++kk)
#pragma unroll
                  for (int e = 0; e < 4; ++e) pa[kk][e] = ldShared32(pBase + ((e & 1) ? rB : rA) * 128 + (((2 * kk + (e >> 1)) ^ gq) << 4) + tq * 4);
              } else if constexpr (kCE) { // kVarCEarly: the publication behind P_B V_B[R]'s issue, on barrier 3
                publish();
                handArrive<3>(); // c, mB and P_B ready (warpgroup 0 does its pre-P-V work from here)
                MLA_TL(7);
                if constexpr (kOM2) { // P_B V_B[R] retired now; O_R down by d (its sums were in syncMA)
                  wgWait<0>();
                  pinRegs<128>(o);
                  scaleO(o, dA, dB);
                }
                if constexpr (kOM) release(stB, 1); // V_B[R] read (P_B V_B[R] retired in syncMA; kVarBOwnMax2: just above)
              }
              mbarWait4(fullBar + kStageBars * stA + 8 * 4, (uA >> 1) & 1); // stage A's V[R]: complete already (warpgroup 0 saw them), for visibility
              MLA_TL(12);
              if (!lazy) scaleP(pa, cA, cB);
              const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes + 4 * kBox, vLbo, vSbo));
              wgFence();
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, pa[kk], dvA + ((kk * 2048) >> 4));
              wgCommit();
              MLA_TL(8);
              if constexpr (kPL) { // P_B over this thread's P_A words (read above), fenced for warpgroup 0's SS read
                storeP(pBase, a, rA, rB, gq, tq);
                fenceProxyAsync();
              }
              handArrive<2>(); // c, mB and P_B ready (kVarCEarly: queue order only; kVarPBLate: P_B ready); both of this warpgroup's P V queued ahead of warpgroup 0's
              MLA_TL(9);
              wgWait<1>(); // P_B V_B[R] done
              MLA_TL(10);
              if constexpr (!kOM) release(stB, 1); // its V[R] read
              wgWait<0>();
              MLA_TL(11);
              pinRegs<128>(o);
              release(stA, 1);
              continue;
            }
          }
          if constexpr ((VAR & kVarVis4) != 0) mbarWait4(fullBar + kStageBars * stA + 8 * 4, (uA >> 1) & 1);
          else {
#pragma unroll 1
          for (int b = 4; b < 8; ++b) mbarWait(fullBar + kStageBars * stA + 8 * b, (uA >> 1) & 1); // complete already (warpgroup 0 saw them): for visibility
          }
          if (t == it.nTiles - 1) zeroTail(stA, t0A);
          if constexpr ((VAR & kVarPAReg) != 0) {
            // P_A' = c P_A into registers (this thread's words of the P tile), P_B over the same words, published.
            if constexpr ((VAR & kVarMAEarly) != 0) namedSync(8, 256); // P_A ready
            syncMA(false);
            uint32_t pa[4][4];
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
#pragma unroll
              for (int e = 0; e < 4; ++e) pa[kk][e] = ldShared32(pBase + ((e & 1) ? rB : rA) * 128 + (((2 * kk + (e >> 1)) ^ gq) << 4) + tq * 4);
            scaleP(pa, cA, cB);
            if (hasB) storeP(pBase, a, rA, rB, gq, tq);
            if (tq == 0) { rw.c[rA] = cA; rw.c[rB] = cB; rw.mB[rA] = nA; rw.mB[rB] = nB; }
            fenceProxyAsync();
            handArrive<2>(); // c, mB and P_B ready
            if (hasB && t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
            const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes + 4 * kBox, vLbo, vSbo));
            constexpr bool kPBFirst = (VAR & kVarPBFirst) != 0; // P_B V_B[R] first where there is a B
            wgFence();
            if (!kPBFirst || !hasB) {
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, pa[kk], dvA + ((kk * 2048) >> 4));
              wgCommit();
            }
            if (hasB) {
              const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes + 4 * kBox, vLbo, vSbo));
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvB + ((kk * 2048) >> 4));
              wgCommit();
              if constexpr (kPBFirst) {
#pragma unroll
                for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, pa[kk], dvA + ((kk * 2048) >> 4));
                wgCommit();
              }
#ifdef MLA_SM90W_TRACE
              if constexpr (kWaitStamps) wT0 = clock64();
#endif
              wgWait<1>(); // the first group done: P_A' V_A[R] (kVarPBFirst: P_B V_B[R])
#ifdef MLA_SM90W_TRACE
              if constexpr (kWaitStamps) wDrain += clock64() - wT0;
#endif
              release(kPBFirst ? stB : stA, 1); // its V[R] read
              wgWait<0>();
              pinRegs<128>(o);
              release(kPBFirst ? stA : stB, 1); // the second's V[R] read
            } else {
              wgWait<0>();
              pinRegs<128>(o);
              release(stA, 1);
            }
            padNever<kPadExec ? 0 : kPadIn>(p); // session 20: the code-size probe (the end of warpgroup 1's pair, between the two HGMMA ranges)
            continue;
          }
          const uint64_t dvA = opaque(descSw128(kBase + stA * kTileBytes + 4 * kBox, vLbo, vSbo));
          const uint64_t dP = opaque(descSw128(pBase, 16, 1024));
          wgFence();
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) Wg<T>::ss256(o, dP + ((32 * kk) >> 4), dvA + ((kk * 2048) >> 4));
          wgCommit();
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wT0 = clock64();
#endif
          wgWait<0>(); // P_A V_A[R] done: the P buffer takes P_B
#ifdef MLA_SM90W_TRACE
          if constexpr (kWaitStamps) wDrain += clock64() - wT0;
#endif
          pinRegs<128>(o);
          release(stA, 1); // V_A[R] read
          if (hasB) storeP(pBase, a, rA, rB, gq, tq);
          if (tq == 0) { rw.c[rA] = cA; rw.c[rB] = cB; rw.mB[rA] = nA; rw.mB[rB] = nB; }
          fenceProxyAsync();
          namedArrive(2, 256); // c, mB and P_B ready
          scaleO(o, cA, cB);
          if (hasB) {
            if (t + 1 == it.nTiles - 1) zeroTail(stB, t0B);
            const uint64_t dvB = opaque(descSw128(kBase + stB * kTileBytes + 4 * kBox, vLbo, vSbo));
            wgFence();
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) Wg<T>::rs256(o, a[kk], dvB + ((kk * 2048) >> 4));
            wgCommit();
            wgWait<0>();
            pinRegs<128>(o);
            release(stB, 1); // V_B[R] read
          }
        }
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (W == 0 && wt == 0 && t == 0) traceClk(56);
#endif
      }
#ifdef MLA_SM90W_TRACE
      if constexpr (kItemStamps)
        if (wt == 0) {
          traceClk(W == 0 ? 72 : 80);
          unsigned long long* tr = traceCta();
          const unsigned long long n = tr[6];
          if (kWaitStamps && n < 8) {
            tr[(W == 0 ? 120 : 128) + n] = wBar;
            if (W != 0) tr[136 + n] = wDrain;
          }
        }
#endif

      if constexpr (kSN) { // kVarBStKNx: decided here, so nothing new is live across the pair loop
        const bool inK = noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0 && it.nTiles > 0 && nextQRow(p, batch, endIdx, m0) >= 0;
        storeRows(p, it, batch, slot, noSplit, m0, wg, tq, rA, rB, o, lA, lB, mA_, mB_, inK ? kK_OFF + ((u - 1) & 1) * kTileBytes : kQ_OFF);
        if (inK && w0 && wt == 0) { // holds staged so far (the word after the count)
          const uint32_t h = qBase + kP_OFF - kQ_OFF + kBox + 12;
          stShared32(h, ldShared32(h) + 1);
        }
      } else {
      storeRows(p, it, batch, slot, noSplit, m0, wg, tq, rA, rB, o, lA, lB, mA_, mB_,
                kSK && holdSt < 2u ? kK_OFF + holdSt * kTileBytes : kQ_OFF); // kVarBStK: the staged rows in the last tile's stage
      if constexpr (kSK) { heldSt = holdSt; holdSt = 2u; }
      }
      if constexpr (kQA) qPreA = qEarlyA; // the next live item's Q was issued in this item's last pair
#ifdef MLA_SM90W_TRACE
      if constexpr ((VAR & kVarTrace) != 0)
        if (W == 0 && wt == 0) {
          unsigned long long* tr = traceCta();
          const unsigned long long n = tr[6];
          if (n < 8) tr[8 + n] = traceNs();
          if constexpr (kItemStamps) traceClk(104);
          tr[6] = n + 1;
        }
#endif
    }
    if constexpr (W == 0) padNever<kPadOut>(p); // session 20: the code-size probe (after the item loop; warpgroup 0's code is laid out last)
    if constexpr ((VAR & kVarStAsync) != 0)
      if ((VAR & kVarStSpread) ? (wt % 32) < 8 : (W == 0 && wt < 32)) bulkWaitRead0(); // shared memory stays the CTA's until the last copy has read it
#ifdef MLA_SM90W_TRACE
    if constexpr ((VAR & kVarTrace) != 0)
      if (wt == 0) {
        unsigned long long* tr = traceCta();
        if (W == 0) { tr[3] = traceNs(); tr[4] = static_cast<unsigned long long>(clock64()); }
        else tr[5] = traceNs();
      }
#endif
  }
#endif

  // Producer warpgroup: gives its registers to the consumers; one thread issues every copy.
  static __device__ __forceinline__ void produce(const MlaParams& p, const TmaMap* kMap) {
#ifdef MLA_SM90A_WIDE
    // 240 * 256 + 24 * 128 = 64,512 = the 168 * 384 the launch gives the CTA (kVarSeesaw without kVarQ8G); else 232
    // and 32 (232 * 256 + 32 * 128 = 63,488).
    if constexpr ((VAR & kVarSeesaw) != 0 && (VAR & kVarQ8G) == 0) asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
    else asm volatile("setmaxnreg.dec.sync.aligned.u32 32;\n" ::: "memory");
    // Three threads (lane 0 of warps 8, 9, 10), one a group of boxes, each refilling its group of a stage as soon as
    // that group is released: group 0 box 8, group 1 boxes 4-7, group 2 boxes 0-3.
    const int wp = (threadIdx.x - 256) / 32;
    // kVarProd2: warp 8 box 8, warps 9 / 10 boxes 4-7 of stage 0 / 1, warp 11 boxes 0-3.
    const int g = (VAR & kVarProd2) ? (wp == 0 ? 0 : (wp == 3 ? 2 : 1)) : wp;
    const int onlySt = (VAR & kVarProd2) && g == 1 ? wp - 1 : -1;
    if (threadIdx.x % 32 != 0 || g > 2) return;
    const int box0 = g == 0 ? 8 : (g == 1 ? 4 : 0), nBox = g == 0 ? 1 : 4;
    extern __shared__ unsigned char smemRaw[];
    const uint32_t kBase = ((smemAddr(smemRaw) + 1023) & ~1023u) + kK_OFF;
    Rows& rw = rows();
    const uint32_t fullBar = smemAddr(&rw.full[0][0]), emptyBar = smemAddr(&rw.empty[0][0]) + 8 * g;
    const int rowTile = rowTileIdx<VAR>();
    const uint32_t rank = (VAR & kVarMcast) ? clusterRank() : 0u;
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(kMap)) : "memory");
    const int* meta = p.tileSchedulerMetadata + partIdx<VAR>() * kMetaFields;
    const uint64_t policy = (VAR & kVarL2) && rowTiles<VAR>() > 1 ? evictNormalPolicy() : evictFirstPolicy();
#ifdef MLA_SM90W_PAGE0
    // MLA_SM90W_PAGE0 (session 18 h3, a build variant, not in the library): the first item's first page is read
    // beside the item's length (both follow the metadata alone), not after it, so the part's first copy follows two
    // dependent reads instead of three (decode_sm90.cu's producer does the same). The index is clamped into the
    // request's row and unused where the item has no tile; a part without work reads nothing.
    const int b0 = meta[kMetaBeginIdx];
    int page0 = 0;
    if (b0 <= meta[kMetaEndIdx] && p.maxBlocksPerSeq > 0) {
      const int* a = p.blockTable + static_cast<int64_t>(b0) * p.maxBlocksPerSeq + min(meta[kMetaBeginSeqlen] / kBN, p.maxBlocksPerSeq - 1);
      asm volatile("ld.global.b32 %0, [%1];\n" : "=r"(page0) : "l"(a) : "memory"); // issued here, before the item's reads are used
    }
#endif
    uint32_t u = 0;
    // kVarBStKNx: the hand-back count each stage's next refill waits for (need0 / need1), holds so far (nHold), the count
    // last read (seen), and the previous live item's last stage where its rows are staged there if a live item follows
    // (prevSt; -1: not staged).
    [[maybe_unused]] uint32_t need0 = 0, need1 = 0, nHold = 0, seen = 0;
    [[maybe_unused]] int prevSt = -1;
#ifdef MLA_SM90W_TRACE
    int pItem = -1; // kItemStamps: live items so far
#endif
    for (int batch = meta[kMetaBeginIdx]; batch <= meta[kMetaEndIdx]; ++batch) {
      Item it;
      if (!itemOf(p, meta, batch, rowTile, it, (VAR & kVarMcast) != 0)) continue;
#ifdef MLA_SM90W_TRACE
      ++pItem;
#endif
      if constexpr (kSN) { // a live item follows prevSt's: its rows are in that stage until the consumers' count passes nHold
        if (prevSt >= 0) (prevSt ? need1 : need0) = ++nHold;
        const bool noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
        prevSt = noSplit && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0 && it.nTiles > 0 ? static_cast<int>((u + it.nTiles - 1) & 1) : -1;
      }
      const int* bt = p.blockTable + static_cast<int64_t>(batch) * p.maxBlocksPerSeq + it.kBegin / kBN;
      const int btOff = (VAR & kVarSeesaw) ? batch * p.maxBlocksPerSeq + it.kBegin / kBN : 0; // kVarSeesaw: an index, not a 64-bit pointer (24 registers)
      for (int t = 0; t < it.nTiles; ++t, ++u) {
        const uint32_t st = u & 1;
        if ((VAR & kVarProd2) && onlySt >= 0 && static_cast<int>(st) != onlySt) continue; // the other stage's thread
#ifdef MLA_SM90W_TRACE
        if constexpr (kItemStamps)
          if (g == 2 && t == 0) traceClkAt(200, pItem);
#endif
        if ((VAR & kVarSleep) && (VAR & kVarSeesaw)) mbarWaitSleepImm(emptyBar + 24 * st, ((u >> 1) & 1) ^ 1);
        else if (VAR & kVarSleep) mbarWaitSleep(emptyBar + 24 * st, ((u >> 1) & 1) ^ 1);
        else mbarWait(emptyBar + 24 * st, ((u >> 1) & 1) ^ 1);
        if constexpr (kSN) { // kVarBStKNx: a stage that held an item's rows is refilled once they are read out
          const uint32_t nd = st ? need1 : need0;
          if (nd > seen) {
            do seen = ldAcquire32(kBase - kK_OFF + kP_OFF + kBox + 8); while (seen < nd);
          }
        }
#ifdef MLA_SM90W_PAGE0
        const int row = (batch == b0 && t == 0 ? page0 : (VAR & kVarSeesaw) ? p.blockTable[btOff + t] : bt[t]) * kBN;
#else
        const int row = ((VAR & kVarSeesaw) ? p.blockTable[btOff + t] : bt[t]) * kBN;
#endif
        if (VAR & kVarMcast) { // every box of the group lands here; this CTA issues the ones of its parity for both
#pragma unroll 1
          for (int c = box0; c < box0 + nBox; ++c) mbarExpectTx(fullBar + kStageBars * st + 8 * c, kBox);
#pragma unroll 1
          for (int c = box0; c < box0 + nBox; ++c)
            if ((c & 1) == static_cast<int>(rank)) tmaLoad2dMc(kBase + st * kTileBytes + c * kBox, kMap, 64 * c, row, fullBar + kStageBars * st + 8 * c, policy);
        } else {
#pragma unroll 1
          for (int c = box0; c < box0 + nBox; ++c) {
            const uint32_t bar = fullBar + kStageBars * st + 8 * c;
            mbarExpectTx(bar, kBox);
            tmaLoad2d(kBase + st * kTileBytes + c * kBox, kMap, 64 * c, row, bar, policy);
          }
#ifdef MLA_SM90W_TRACE
          if constexpr (kItemStamps)
            if (g == 2 && t == 0) traceClkAt(208, pItem);
#endif
          if constexpr (kPadExec)
            if (g == 1 && onlySt == 0) padExec<kPadIn, 3>(p); // session 20: the executed pad (warp 9, stage 0's boxes 4-7: once a pair, after its copies are issued)
        }
        // kVarPf / kVarPfNext: the box-8 thread runs a pair ahead of the V boxes' refills (box 8 comes free right
        // after S): it asks L2 for this tile's page, or the next one's, as a whole (pages are contiguous).
        if (g == 0 && (VAR & (kVarPf | kVarPfNext))) {
          const int pt = (VAR & kVarPfNext) ? t + 1 : t;
          if (pt < it.nTiles) prefetchL2(static_cast<const unsigned char*>(p.kCache) + static_cast<int64_t>(bt[pt]) * kTileBytes, kTileBytes);
        }
        if constexpr (kSKP) // kVarBStKPf: the item's second tile (the held stage's next copy) into L2
          if (g == 0 && t == 0 && it.nTiles > 1) prefetchL2(static_cast<const unsigned char*>(p.kCache) + static_cast<int64_t>(bt[1]) * kTileBytes, kTileBytes);
      }
    }
#endif
  }

  static __device__ void run(const MlaParams& p, const TmaMap* kMap, [[maybe_unused]] const TmaMap* qMap = nullptr) {
#ifdef MLA_SM90A_WIDE
    // No griddepcontrol.launch_dependents: a merge launched as a programmatic dependent (pdl.ts) is scheduled as this
    // grid's CTAs exit. Until session 36 the kernel triggered here, at entry, which put the merge's CTAs on the SMs for
    // the whole run: 5-21 % slower small batches with PDL on, 4 % faster without the trigger (docs/notes/
    // cuda-hopper-decode.md, "Session 36"). The kernel itself is never launched as a dependent (it does not wait).
#if defined(MLA_SM90W_TRACE) && defined(MLA_SM90W_DESYNC_NS)
    if (partIdx<VAR>() & 1) { // session 32's diagnostic (MLA_SM90W_QPF_AT's comment): odd parts start later
      const unsigned long long t0 = traceNs();
      while (traceNs() - t0 < static_cast<unsigned long long>(MLA_SM90W_DESYNC_NS)) {}
    }
#endif
    if (threadIdx.x == 0) {
      Rows& rw = rows();
      for (int s = 0; s < 18; ++s) mbarInit(smemAddr(&rw.full[0][0]) + 8 * s, 1);
      for (int s = 0; s < 6; ++s) mbarInit(smemAddr(&rw.empty[0][0]) + 8 * s, (VAR & kVarMcast) ? 2 : 1);
#if MLA_SM90W_MBHAND
      if constexpr (kMH)
        for (int s = 0; s < 3; ++s) mbarInit(smemAddr(&rw.hand[s]), 128);
#endif
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    // kVarBQTma: the first item's Q, by the producer's thread 256, if that item has live rows in this row tile (the
    // consumers' itemOf test: min(rows, qLen nGroups) > m0). Its mbarrier: 8 bytes past the P box (sBase moves at most
    // 1008 bytes from a 16-byte aligned start, so sBase + kP_OFF + kBox + 8 stays inside SMEM's 1024 bytes of slack).
    if constexpr (kQA)
      if (threadIdx.x == 256) { // kVarBQAll: the mbarrier serves every item (thread 0 issues later ones): initialised here always
        extern __shared__ unsigned char smemRaw[];
        mbarInit(((smemAddr(smemRaw) + 1023) & ~1023u) + kP_OFF + kBox, 1);
        if constexpr (kSN) { // kVarBStKNx: the counts of stages read out and of holds staged
          stRelease32(((smemAddr(smemRaw) + 1023) & ~1023u) + kP_OFF + kBox + 8, 0u);
          stRelease32(((smemAddr(smemRaw) + 1023) & ~1023u) + kP_OFF + kBox + 12, 0u);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
      }
    if constexpr (kQT)
      if (threadIdx.x == 256) {
        const int* meta = p.tileSchedulerMetadata + partIdx<VAR>() * kMetaFields;
        const int b0 = meta[kMetaBeginIdx];
        if (b0 <= meta[kMetaEndIdx]) {
          int qStart, qLen;
          queryRange(p, b0, qStart, qLen);
          const int m0 = rowTileIdx<VAR>() * kRowsPerCta;
          if (min(p.rows, qLen * p.nGroups) > m0) {
            extern __shared__ unsigned char smemRaw[];
            const uint32_t sBase = (smemAddr(smemRaw) + 1023) & ~1023u, qBar = sBase + kP_OFF + kBox;
            if constexpr (!kQA) {
              mbarInit(qBar, 1);
              asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
            }
            mbarExpectTx(qBar, 9 * kBox);
#pragma unroll 1
            for (int c = 0; c < 9; ++c) tmaLoadQ(sBase + kQ_OFF + c * kBox, qMap, 64 * c, qStart * p.hQ + m0, qBar); // a loop: the entry stays small
          }
        }
      }
#ifdef MLA_SM90W_TRACE
    if constexpr ((VAR & kVarTrace) != 0)
      if (threadIdx.x == 0) {
        unsigned long long* tr = traceCta();
        unsigned smid;
        asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
        tr[0] = smid; tr[1] = traceNs(); tr[2] = static_cast<unsigned long long>(clock64()); tr[6] = 0; tr[7] = kItemStamps;
      }
#endif
    if (VAR & kVarMcast) clusterSync(); // the sibling's barriers exist before anything arrives on them or lands
    else __syncthreads();
    const int wg = threadIdx.x / 128;
    if constexpr (kNP) { // kVarBNoProd: 256 threads; thread 0 issues the first two tiles
      if (threadIdx.x == 0) prologue(p, kMap);
      if (wg == 0) consume<0>(p, kMap, qMap);
      else consume<1>(p, kMap, qMap);
    } else {
      if (wg == 2) produce(p, kMap);
      else if (wg == 0) consume<0>(p, kMap, qMap);
      else consume<1>(p, kMap, qMap);
    }
    if (VAR & kVarMcast) clusterSync(); // no CTA leaves while its sibling may still arrive on its barriers
#endif
  }
};

} // namespace sm90w
} // namespace mla

static_assert(mla::sm90w::SMEM == 230400 && sizeof(mla::sm90w::Rows) == 1472 + (MLA_SM90W_MBHAND ? 24 : 0), "shared memory differs from launch.ts sm90WideSmem");

// Launch: grid (ceil(rows / 64), hKv = 1, numSmParts) (kVarGridX in kLibVar), 384 threads, mla::sm90w::SMEM bytes of dynamic shared
// memory, the cache's tensor map after the params; sm_90a only (elsewhere the entries compile to nothing).
#define MLA_SM90W_ENTRY(NAME, TY, SWAP, VAR)                                                                   \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, SWAP, VAR>::run(p, &kMap);                                                               \
  }
// The library's entries without q's map: kLibVar and the VARB bits of a candidate build without kVarBQTma.
#define MLA_SM90W_ENTRY_LIB(NAME, TY)                                                                          \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, false, mla::sm90w::kLibVar, mla::sm90w::kLibVarB>::run(p, &kMap);                      \
  }
#if !defined(MLA_SM90W_LIB_VARB) || (MLA_SM90W_LIB_VARB & 32)
// kVarBQTma in the library's bits (the default since session 21; a candidate build with MLA_SM90W_LIB_VARB & 32): the
// entries take q's tensor map (launch.ts sm90QMap, 64-row boxes) as the third parameter; the _ld entries (the same bits
// without kVarBQTma / kVarBQAll, two parameters) serve a call whose map the driver refuses.
#define MLA_SM90W_ENTRY_LIBQ(NAME, TY)                                                                         \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap, \
                                                            const __grid_constant__ mla::sm90w::TmaMap qMap) {               \
    mla::sm90w::DecodeW<TY, false, mla::sm90w::kLibVarE, mla::sm90w::kLibVarB>::run(p, &kMap, &qMap);              \
  }
#define MLA_SM90W_ENTRY_LIBLD(NAME, TY)                                                                        \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, false, mla::sm90w::kLibVar, (mla::sm90w::kLibVarB & ~(mla::sm90w::kVarBQTma | mla::sm90w::kVarBQAll | mla::sm90w::kVarBStK | mla::sm90w::kVarBStKPf | mla::sm90w::kVarBStKNx | mla::sm90w::kVarBQPf))>::run(p, &kMap); \
  }
MLA_SM90W_ENTRY_LIBQ(mla_decode_sm90w_bf16, __nv_bfloat16)
MLA_SM90W_ENTRY_LIBQ(mla_decode_sm90w_f16, __half)
MLA_SM90W_ENTRY_LIBLD(mla_decode_sm90w_ld_bf16, __nv_bfloat16)
MLA_SM90W_ENTRY_LIBLD(mla_decode_sm90w_ld_f16, __half)
#else
MLA_SM90W_ENTRY_LIB(mla_decode_sm90w_bf16, __nv_bfloat16)
MLA_SM90W_ENTRY_LIB(mla_decode_sm90w_f16, __half)
#endif
// kVarBNoProd's entries (VARB = 1): 256 threads, the same grid and shared memory (harness only so far).
#define MLA_SM90W_ENTRY_NP(NAME, TY, VAR)                                                                      \
  extern "C" __global__ void __launch_bounds__(256, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, false, VAR, mla::sm90w::kVarBNoProd>::run(p, &kMap);                                     \
  }
#ifdef MLA_SM90W_SWAP_PROBE // the harness's extra entries: the swapped V descriptor, and the variants (VAR bits) timed beside the library's
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_swapv, __nv_bfloat16, true, mla::sm90w::kLibVar)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x0, __nv_bfloat16, false, 0)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x1, __nv_bfloat16, false, 1)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x2, __nv_bfloat16, false, 2)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x3, __nv_bfloat16, false, 3)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x4, __nv_bfloat16, false, 4)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x8, __nv_bfloat16, false, 8)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x16, __nv_bfloat16, false, 16)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x24, __nv_bfloat16, false, 24)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x29, __nv_bfloat16, false, 29)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x30, __nv_bfloat16, false, 30)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x94, __nv_bfloat16, false, 94)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x158, __nv_bfloat16, false, 158)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x286, __nv_bfloat16, false, 286)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x542, __nv_bfloat16, false, 542)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x350, __nv_bfloat16, false, 350)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x1054, __nv_bfloat16, false, 1054)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x31, __nv_bfloat16, false, 31) // v6, the library's bits in session 8
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x798, __nv_bfloat16, false, 798) // x286 + x542: early V_A[L] release and S's walk unrolled
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x799, __nv_bfloat16, false, 799) // x798 + evict-normal (= the library's bits + both)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x2846, __nv_bfloat16, false, 2846) // x798 + kVarFoldScale (session 9, second round)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x4894, __nv_bfloat16, false, 4894) // x798 + kVarSeesaw (session 10)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x54046, __nv_bfloat16, false, 54046) // x4894 + kVarWalkA + kVarProd2
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x37662, __nv_bfloat16, false, 37662) // x4894 + kVarProd2
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_x119582, __nv_bfloat16, false, 119582) // x54046 + kVarQ8G
#endif
