// Token-sparse MLA decode over FlashMLA's FP8 caches for Hopper (sm_90a only): wgmma and warp specialisation, one
// source for both formats (template parameter M1): DeepSeek-V3.2 (d_qk 576 = 512 e4m3 NoPE with four f32 scales +
// 64 bf16 RoPE, 656 B a token) and MODEL1 (d_qk 512 = 448 e4m3 NoPE + 64 bf16 RoPE, 576 B a token, and per token 7
// UE8M0 scales in a row of 8 bytes after the block's tokens). See docs/notes/cuda-sparse-decode.md, "The sm_90a
// kernel". Same parameters, grid and scheduler as sparse_mma.cu (SparseMmaParams; grid (numSmParts, sQ, hQ / 64));
// its split partials are merged by mla_sparse_mma_combine_*. The comments below describe V3.2; MODEL1 differs in
// the box count (8: seven NoPE boxes and the RoPE box, lane 7 of a token converts nothing), in V (all 512 columns
// of the key tile, RoPE included) and so in where P lo goes (its own box beside P hi, not the stage's RoPE box).
//
// h_q a multiple of 128 runs the pair entries (*_c2, build-mode bit 13): the two head tiles of a (part, query) are a
// 2-CTA cluster along z, each CTA's producer dequantizes half of every tile (32 tokens) into both CTAs' stages (the
// peer's by st.async); see "The h_q = 128 pair" in the note.
// One CTA of 384 threads per (SM part, query position j, tile of 64 heads):
//  - warpgroup 2, the producer (128 threads; produceTile): 8 threads a token, 16 tokens a round,
//    four rounds a tile; each thread holds its share of a whole tile in registers (NoPE bytes 64k..64k+63, their
//    scale, RoPE chunk k a round) and issues the next tile's loads as soon as it has stored one, then writes the
//    dequantized bf16 values into a 64 x 576 key tile of nine 64 x 64 boxes, 128-byte swizzled: the layout wgmma
//    reads (K-major for S = Q K^T, MN-major for O += P V). Invalid entries (-1 or any id outside the cache: idLive;
//    past topkLength, past the item) read no memory: their rows are zeros and their validity flag 0. Two key tiles
//    (stages): full[s] (128 producer arrivals) and empty[s] (one arrival from each consumer warpgroup) mbarriers.
//  - warpgroup 0: S = Q K^T (36 m64n64k16, Q and K from shared memory), mask by validity, online softmax in base
//    2, P = hi + lo (two bf16 parts, as sparse_mma.cu: a bf16 P alone rounds weights by up to 2^-9); P hi to the
//    P box and P lo to the RoPE box of the stage (free once S is done; V is the first 512 columns), the row
//    rescale factors to shared memory; then O[:, 0..255] += P V from registers (8 m64n256k16).
//  - warpgroup 1: O[:, 256..511] rescaled and += P V with P from shared memory (8 m64n256k16).
// Named barriers: 1 P ready (wg0 -> wg1), 2 P box free (wg1 -> wg0), 3 epilogue factors, 4 Q loaded.
// Epilogue: warpgroup 0 owns the row maxima and sums; it writes lse and the per-row output factor (1/l, with the
// attention sink where the request is in one piece), then each consumer warpgroup writes its 256 columns (bf16
// out, or the f32 partial row for the combine).
#include "params.h"
#include "common.cuh"
#include "hopper_ops.cuh"
#include "pdl.cuh"

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MLA_SM90A_SPARSE 1
#endif

namespace mla {
namespace ssp {

constexpr int kBN = 64;                  // tokens a tile
constexpr int kBM = 64;                  // heads a CTA
constexpr int kBox = 64 * 64 * 2;        // one 64 x 64 bf16 box
/** Shared memory of a format: Q and two key tiles of kNB boxes, the P box (and MODEL1's P lo box), alignment slack. */
template <bool M1> struct Fmt {
  static constexpr int kNB = M1 ? 8 : 9;        // boxes of Q and of a key tile (d_qk / 64)
  static constexpr int kNope = M1 ? 7 : 8;      // of them NoPE (e4m3 with a scale); the last one is RoPE
  static constexpr int kDQK = 64 * kNB;
  static constexpr int kTile = kNB * kBox;
  static constexpr int kQ_OFF = 0, kK_OFF = kTile, kP_OFF = kK_OFF + 2 * kTile;
  static constexpr int SMEM = kP_OFF + (M1 ? 2 : 1) * kBox + 1024; // + slack to align the swizzled boxes to 1024 bytes
  static constexpr int kRaw = M1 ? 576 : 656;   // bytes of a token's row (V3.2: 512 e4m3, 4 f32 scales, 64 bf16 RoPE; MODEL1: 448 e4m3, 64 bf16)
  static constexpr int kRope = M1 ? 448 : 528;  // where the RoPE bytes start in the row
};
// Build modes (-DMLA_SPARSE_SM90_MODE=n; the shipped build is the #define below: 6881343303356051208 = 6881343277586247432 +
// bits 33 + 34 (the next item's schedule words and tile-0 index lines prefetched into L2, V3.2 pair entries only) since
// session 22's call F (V3.2 pair 0.988 of the time before), 6881343277586247432 = 6881343277586246408 +
// bit 10 (bit 44's map in the V3.2 pair entries) since session 21's call E (V3.2 pair 0.959 of the time before),
// 6881343277586246408 = 6881325685400201992 +
// bit 44 (FlashMLA's producer map in the MODEL1 pair entries: four lanes a token, one round a tile) since session 21's
// call C2 (MODEL1 pair 0.905 of the time before), 6881325685400201992 = 6881325685400201736 + bit 8
// (the consumers' lazy reference maximum, FlashAttention-4's rescale threshold) since session 20's call K,
// 6881325685400201736 = 6881325685400199176 + bits 9
// and 11 (the one-CTA MODEL1 / V3.2 entries stage O in shared memory and store it by bulk copies) since session 20's call B,
// 6881325685400199176 = 6881325685366644744 + bit 25
// (the MODEL1 pair producer sends round 0's peer copy before its own stores) since session 19's call C4,
// 6881325685366644744 = 6881255316622467080 + bit 46
// (48 / 51's 32-bit unsigned row addresses in the V3.2 pair and one-CTA MODEL1 entries) since session 19's call B,
// 6881255316622467080 = 6879003516808781832 + bit 51
// (32-bit unsigned row addresses in the MODEL1 pair producer) since session 18's call K, 6879003516808781832 = 6877596141925228552 + bits
// 48 (32-bit unsigned row addresses) and 50 (the validity flags stored by one producer warp) in the one-CTA V3.2 entries since
// session 18's call I, 6877596141925228552 = 6805538547887300616 + bit
// 56 (the V3.2 pair's stage handed to S in two halves of its contraction) since session 18's call B, 6805538547887300616 = 6787524149377818632 + bit
// 54 (the V3.2 pair epilogue stores O through shared memory by bulk copies) since session 18's first call, 6787524149377818632 = 2166830931695689736 + bits
// 62 (the pair producer prefetches the next item's Q into L2) and 53 (the MODEL1 pair epilogue stores O through shared memory
// by bulk copies) since session 17's call B, 2166830931695689736 = 1013909427088842760 + bit 60
// (bit 57's straight-line store phase in the V3.2 pair entries) since session 17's call A, 1013909427088842760 = 5103110557851656 + bits
// 57, 58 (the one-CTA producer's store phase without per-chunk branches, V3.2 / MODEL1) and 59 (FlashMLA's cache hints on the
// one-CTA V3.2 gather) since session 16's call H, 5103110557851656 = 599510930481160 + bit 52
// (the one-CTA MODEL1 entries' line-coalesced gather) since session 16's call C, 599510930481160 = 35461465432072 + bits 40
// and 49 (the early gather on the one-CTA MODEL1 entries) since session 16's first call, 35461465432072 = 277093343240 + bit 45 (the
// softmax's exponentials as ex2.approx.ftz.f32) since session 13's first call, 277093343240 = 2215436296 + bit 38 (the V3.2
// pair entry's validity flags computed in each CTA) since session 12's helper round, 2215436296 = 67952648 + bit 31 (the pair
// entries' token-contiguous key tile, FlashMLA's layout) since session 11's helper round, 67952648 = 843784 + bit 26 (the
// pair producer's conflict-free lane map) since session 10's helper round, 843784 = 57352 + bits 18 (P by stmatrix) and 19
// (the scale multiply in bf16x2) since session 10's first call, 57352 = 8 + the pair bits 13-15 in session 9, 8
// before). Bit 3 is the whole-tile producer (produceTile);
// the versions measured slower on the H200 have left the code (the round pipeline with and without L2 prefetch: bits
// 0 and 3 clear; the integer dequantization: bit 4; the 2-CTA cluster: bit 6; session 8's per-round reload, bit 8, and
// item-boundary overlap, bits 9-11: commit 6c7d876 has them; bits 9-11 have new meanings since session 19's end, bits 4, 6 and 8 since session 20, bits 10, 43 and 44 since session 21), so bit 3 must be set and the note's mode numbers keep
// their meaning. Measured in sessions 12-13 and not shipped, removed in session 14 (commit d39f109 has them; the note
// has the measurements): bits 41-43 (the producer's gather loads with .L2::256B, and .L1::evict_last), 44, 46 and 47
// (the next item's Q issued in the last tile, or before the epilogue by warpgroup 0 or 1).
// Diagnostics: bit 1 consumers skip every wgmma (producer-bound time), bit 2 the producer skips the token loads
// (consumer-bound time).
#ifndef MLA_SPARSE_SM90_MODE
#define MLA_SPARSE_SM90_MODE 6881343303356051208
#endif
// MLA_SPARSE_SM90_NOX (session 65; default 1): a launch without an extra cache runs the producer's copy that selects
// nothing between the two caches (Kernel's HX false); 0 keeps one producer for both (measurement).
#ifndef MLA_SPARSE_SM90_NOX
#define MLA_SPARSE_SM90_NOX 1
#endif
// MLA_SPARSE_SM90_DIVP (session 66; default 1): addrOf's quotient of a token id by the page block size as a multiply-high
// by the host's constants (SparseMmaParams.pageBlockMagic / pageBlockShift: core/sparse.ts pageBlockDivisor), read from
// the parameter block like the page size itself; 0: the division (I2F, MUFU.RCP, F2I and the integer fix-ups a token).
#ifndef MLA_SPARSE_SM90_DIVP
#define MLA_SPARSE_SM90_DIVP 1
#endif
// MLA_SPARSE_SM90_TILEX (session 66; default 1): with an extra cache, the one-CTA MODEL1 '_sp' entry chooses the cache
// once a tile (Kernel::kTileX; no tile holds entries of both caches) instead of a token; 0: a token (measurement).
#ifndef MLA_SPARSE_SM90_TILEX
#define MLA_SPARSE_SM90_TILEX 1
#endif
// MLA_SPARSE_SM90_SINKS (session 67; default 1): warpgroup 0 copies the CTA's 64 attention sinks into shared memory
// once (rowsS()), so the epilogue reads a row's sink there instead of from global memory at every item's end.
#ifndef MLA_SPARSE_SM90_SINKS
#define MLA_SPARSE_SM90_SINKS 1
#endif
// MLA_SPARSE_SM90_QE (session 67; default 1): in the MODEL1 pair entries the producer warpgroup loads each item's Q
// while the item before ends, and the epilogue stages the output in the last tile's stage (Kernel::kQp); 0: the
// consumers load Q after the epilogue, which stages the output in the Q region (measurement).
#ifndef MLA_SPARSE_SM90_QE
#define MLA_SPARSE_SM90_QE 1
#endif
// MLA_SPARSE_SM90_OW (session 71; default 0, measurement): the staged output's bulk copies (the MODEL1 pair entries'
// bit 53, the V3.2 pair entries' bit 54, the one-CTA MODEL1 entries' bit 9) with an L2 policy for the lines they write:
// 1 evict_last, 2 evict_first. Session 67's stamps (MODEL1 h128 top-k 512, an H100) put the store phase at 3.27 us an
// item, and without the wait (dr) 2.6 us came back at the next item's start: 64 KiB a CTA in ~2.6 us is the card's copy
// rate shared by 132 SMs that all end their items together (equal items, one start). Whether the written lines'
// policy moves that is what the switch measures. MLA_SPARSE_SM90_OWPROBE=1 (timing only, WRONG output): the MODEL1
// pair entries write every item's rows to the same 64 rows of `out` a CTA (rows 64 c.., c its linear block index, where
// they fit), so each item's writes find their lines in L2: the store phase without the burst's DRAM traffic.
#ifndef MLA_SPARSE_SM90_OW
#define MLA_SPARSE_SM90_OW 0
#endif
#ifndef MLA_SPARSE_SM90_OWPROBE
#define MLA_SPARSE_SM90_OWPROBE 0
#endif
static_assert(MLA_SPARSE_SM90_OW >= 0 && MLA_SPARSE_SM90_OW <= 2, "MLA_SPARSE_SM90_OW: 0, 1 (evict_last) or 2 (evict_first)");
// Session 68 tried the same in the one-CTA entries (MLA_SPARSE_SM90_QE1) and the next item's words loaded an item
// ahead (MLA_SPARSE_SM90_NI); session 69 measured them slower (1.014-1.032x the time, an H100) and level: their code left
// the source in session 70 (commit ee233a99 has it; docs/notes/cuda-sparse-decode.md, "Session 69, call 2").
static_assert((MLA_SPARSE_SM90_MODE & 8) && !(MLA_SPARSE_SM90_MODE & 1), "bit 0 is gone and bit 3 is required");
// Bit 8 (256; reused: session 8's per-round reload left the code long ago; session 20, helper s20-l1; every entry, the
// consumers' softmax is one code): the lazy reference maximum (FlashAttention-4's rescale threshold; the dense wide
// kernel's lb, session 20 call H). Warpgroup 0 votes once a tile and warp (__all_sync) whether every thread's own masked
// row maxima (no quad shuffle) stay within kLazyTau (2^8 in base 2) of the running maxima mA / mB; where they do, mA / mB
// stay the exponent references: no quad maxima, no factor exponentials, factors exactly 1 and no O rescale in
// warpgroup 0; in the MODEL1 entries warpgroup 1 votes scA == scB == 1 over its warp's rows (the same rows as warpgroup
// 0's warp) and skips its O rescale too (the V3.2 entries spill 12-44 bytes with that branch, so their warpgroup 1
// multiplies by the factors as without the bit). Else the exact path as without the bit. P <= 2^8 (bf16 hi + lo hold it; sums and O are f32); lse =
// m + log2(l) holds for any reference m, a row with no valid key keeps m = -inf, l = 0 (out 0, lse +inf / -inf).
#if MLA_SPARSE_SM90_MODE & 256
constexpr float kLazyTau = 8.f;
#endif
constexpr bool kNoMath = MLA_SPARSE_SM90_MODE & 2, kNoLoad = MLA_SPARSE_SM90_MODE & 4;
// Bit 5 (measurement only): every entry as its _sp twin (P as one bf16, below).
constexpr bool kSingleP = MLA_SPARSE_SM90_MODE & 32;
// Bit 7 (measurement only, MODEL1): decode the UE8M0 scale byte right after its u8 load, as session 8's first build
// did (the producer then waits for that load before it stores the next tile).
constexpr bool kScaleAtLoad = MLA_SPARSE_SM90_MODE & 128;
// Bit 12: each consumer warp hands a stage back itself (__syncwarp, then lane 0 arrives: eight arrivals), so every
// lane's reads of the stage are ordered before the release; clear, one thread a warpgroup arrives after the
// warpgroup's wgmma wait (compute-sanitizer racecheck reports that hand-back for MODEL1's stage flags).
#ifdef MLA_RACECHECK_STRICT
constexpr bool kWarpRelease = true; // the verification build (hopper_ops.cuh): every lane's reads ordered before the release
#else
constexpr bool kWarpRelease = MLA_SPARSE_SM90_MODE & 4096;
#endif
// Bit 13: the pair entries (h_q a multiple of 128, *_c2) run as 2-CTA clusters along z: the two head tiles of one
// (part, query) walk the same tokens, so each CTA's producer dequantizes half of every tile (32 tokens) and writes it
// into both CTAs' stages, the peer's by st.async (complete_tx on the peer's `remote` mbarrier, no release fence on
// the producer's chain); a stage is handed back to both CTAs' producers. Clear, the pair entries are the one-CTA kernel.
constexpr bool kPairBit = MLA_SPARSE_SM90_MODE & 8192;
// Bits 14 and 15 are required with 13 (session 9's A/B; the versions without them have left the code): 14, the
// consumers' arrival on the peer's `empty` barrier has the default semantics (release at CTA scope, as FlashMLA's)
// instead of `.release.cluster` (two MEMBAR.ALL.GPU on the consumers' path; 0.732x vs 0.737x geomean); the reads it
// orders (this CTA's wgmma reads of the stage) are complete at the warpgroup's wgmma wait. 15, no
// `fence.proxy.async` on the consumers after their `remote` wait (FlashMLA has none; 0.737x vs 0.739x).
static_assert(((MLA_SPARSE_SM90_MODE >> 13) & 7) == 0 || ((MLA_SPARSE_SM90_MODE >> 13) & 7) == 7, "bits 14 and 15 come with bit 13");
// Bit 16 (with 13; MODEL1's pair entry only; session 9, not yet measured): the pair producer keeps two tiles of loads
// in flight (a half tile takes 44 registers, so two sets fit in the producer's 144): tile t + 2's gather is issued when
// tile t is stored, so a gather's latency has two tiles of consumer time to hide behind instead of one (produceDeep).
// The V3.2 pair entry spills 40 bytes with it (its producer keeps the one-set loop). Preprocessor-guarded, so that
// builds without it compile the source they were measured with.
// Session 9, second round: three candidates for the next device call, each preprocessor-guarded so that a build
// without the bit compiles the source it was measured with (the shipped 57352 stays byte-identical).
// Bit 17 (measurement only): the producer loads, converts and stores nothing; it waits for a stage's hand-back, marks
// its 64 tokens valid and arrives (in a cluster also on its own `remote` barrier, with no bytes): the consumers' chain
// alone, on whatever the stages hold (the output is garbage). Not with bit 16.
// Bit 18: warpgroup 0 writes P hi and P lo with stmatrix (four 8 x 8 matrices an instruction: 8 instructions a thread
// a tile instead of 32 st.shared.b32, the same shared-memory wavefronts), as FlashMLA does; in the pair entries and
// MODEL1's one-CTA entry (the V3.2 one-CTA entry, on none of FlashMLA's 12 shapes, spills 16 bytes with 18 + 19).
// Bit 19: dequantization multiplies by the scale in bf16x2 after the e4m3 -> f32 -> bf16x2 conversion (FlashMLA's
// order) instead of two f32 multiplies before it: one instruction a pair of values fewer on the producer. Exact for
// power-of-two scales (MODEL1's UE8M0, and the V3.2 scales FlashMLA's quantizer and src/core/fp8.ts write); a V3.2
// scale with more than 8 significant bits is rounded to bf16 first, as FlashMLA does.
static_assert(!((MLA_SPARSE_SM90_MODE & 131072) && (MLA_SPARSE_SM90_MODE & 65536)), "bit 17 is not for the two-set producer (bit 16)");
// Bit 27 (134217728, pair entries; written after session 10's helper calls, not measured): see storeTilePeerFirst.
// Needs 19 (the bf16x2 scaling it is written for); not with 16 or the measurement-only producer bits 7, 17, 22-24.
static_assert(!(MLA_SPARSE_SM90_MODE & 134217728) || ((MLA_SPARSE_SM90_MODE & 524288) && !(MLA_SPARSE_SM90_MODE & (128 | 65536 | 131072 | 4194304 | 8388608 | 16777216))),
              "bit 27 needs bit 19 and none of 7, 16, 17, 22-24");
// Session 10 (issue #14; the note's "Session 10: the producer's stores"): is it the producer's conversions or its
// shared-memory stores that keep the consumers from their probe-188424 pace? Preprocessor-guarded as above.
// Bit 21: a conflict-free lane map for the producer's 16-byte stores. A 128-bit shared store is served a quarter warp
// (8 lanes) at a time; with lane = 8 token + k the 8 lanes of a quarter are one token's eight boxes, and lanes 2a and
// 2a + 1 (the same rotation k / 2) write the same 16-byte bank group of two boxes: every NoPE store (32 a thread a
// tile on the one-CTA producer, 16 + 16 st.async in a pair) takes two wavefronts a quarter instead of one. With the
// bit, a quarter holds two tokens whose rows differ in bit 0 (so their swizzle masks r & 7 differ in bit 0) and four
// boxes of one parity: the 8 lanes hit 8 distinct bank groups. Each warp still covers the same 4 tokens x 8 boxes,
// so the global loads (their addresses a warp) and every instruction count stay as they are.
// Bits 22-24 (measurement only; garbage output): 22, the producer loads and converts but stores nothing of a tile
// (an empty asm keeps every converted value; the validity flags are still written, a pair's peer expects no bytes);
// 23, it loads and stores but converts nothing (the raw e4m3 words go where their bf16 would); 24 (pair), it stores
// only into its own CTA (no st.async of key bytes; the peer's validity flags still go, 128 bytes a stage).
// Bit 25 (pair: the half tile forwarded to the peer by bulk copies) was measured slower (0.737x with 21 vs 0.752x)
// and racy on V3.2 (warpgroup 0 writes P lo into the stage's RoPE box while the copy may still read it): commit
// 1082919 has it. Bit 26 (67108864): bit 21's lane map in the pair entries only (session 10's A/B: 21 is 1.2-1.7 %
// faster on the pair shapes and 0.5-1.6 % slower on the one-CTA MODEL1 h_q 64 shapes, so those keep lane = 8 token + k).
// Session 10, round 2 (written after the session's device time was spent; not measured): the stage handed over in
// two halves of the contraction (the note's "Next call (session 11)"). Bit 28 (268435456): the pair entries; bit 30
// (1073741824): the one-CTA entries. The producer writes a stage's columns 0..31 of every box (S's k-steps 0 and 1 of
// each box, RoPE chunks 0..3) for all its tokens first, fences and arrives on full[s] (a pair: the peer's bytes of that
// half count on remote[s]); then columns 32..63 (full1[s], remote1[s]). Warpgroup 0 issues S's 18 wgmmas of the first
// half as soon as it has landed, then waits for the second. A conflict-free lane map for that store order: a quarter
// warp holds boxes k0 and k0 ^ 2 of tokens {t, t + 1, t + 4, t + 5} (row masks r & 7 differing in bits 0 and 2, the two
// boxes' chunk order differing in bit 1), so the 8 lanes of every 16-byte store hit 8 distinct bank groups; register
// slot c holds chunk c ^ rb (rb = bit 1 of the box), so no lane indexes its registers. Bit 29 (536870912, control, with
// 28 and/or 30): the same map and store order with the single hand-off (full[s] after all stores, as before).
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
static_assert((MLA_SPARSE_SM90_MODE & 524288) && !(MLA_SPARSE_SM90_MODE & (128 | 65536 | 131072 | 4194304 | 8388608 | 16777216)),
              "bits 28 / 30 need bit 19 and none of 7, 16, 17, 22-24");
static_assert(!((MLA_SPARSE_SM90_MODE & 268435456) && (MLA_SPARSE_SM90_MODE & 134217728)), "bits 27 and 28 are two orders of the pair's stores: one of them");
constexpr bool kGrpPair = MLA_SPARSE_SM90_MODE & 268435456, kGrpOne = MLA_SPARSE_SM90_MODE & 1073741824;
constexpr bool kOneHandOff = MLA_SPARSE_SM90_MODE & 536870912;
#else
static_assert(!(MLA_SPARSE_SM90_MODE & 536870912), "bit 29 comes with bit 28 or 30");
#endif
// Session 11 (issue #14): the key tile token-contiguous, FlashMLA's layout (its K tile is cute's no-swizzle
// "interleave" atom): column group g (8 columns) of token t at byte 16 (64 g + t) of the stage, so an 8-column chunk
// of 8 consecutive tokens is 128 contiguous bytes. The producer's map gives a quarter warp 8 consecutive tokens and one
// box (lane l of warp w: token 8 (w & 1) + l % 8 of the round, box 4 (w / 2) + l / 8), so each 16-byte store of a
// quarter (local st.shared and st.async into the peer) writes one whole 128-byte line: distinct banks, and a DSMEM
// store of a warp is four contiguous 128-byte lines instead of 32 scattered 16-byte pieces. The consumers read K
// (S, K-major) and V (P V, MN-major) through no-swizzle descriptors: K-major LBO 1024 (next 8 columns), SBO 128
// (next 8 tokens); MN-major LBO 128 (next 8 tokens), SBO 1024 (next 8 columns). Box b still holds columns 64b..64b+63
// (8 KiB), so V's halves, the V3.2 RoPE box that P lo reuses and the byte counts are where they were.
// Bit 31 (2147483648): the pair entries; bit 32 (4294967296): the one-CTA entries. (Session 11's bits 33 / 34, diagnostics
// for its first device call, LBO and SBO exchanged in V's / K's descriptor, failed every check and left the code in
// session 22, helper s8, which reuses bit 33 below; bit 34 restricts it, below.) Not with 16, 20, 27, 28, 30. Entries without
// their bit compile the code of the mode without it (if constexpr), so a class ships alone.
// Session 11's H200 A/B: 31 takes 7.7-9.1 % off every pair shape (ncu: the DSMEM stores move 304 MB in 9.5 M sectors
// instead of 573 MB in 17.9 M, FlashMLA's 302 MB / 9.4 M) and ships; 32 is 2.5-4.2 % slower on the one-CTA MODEL1
// h_q 64 shapes (the consumers alone are not: the loss is in the whole-tile producer, reason not found); 33 and 34
// fail every check (cute's reading of the fields is the hardware's).
// Session 11, round 2 (prediction in the note's "Session 11, round 2"; preprocessor-guarded, so the shipped mode's
// source is unchanged). Bit 16 may now come with 31 (the pair's two-tile producer on the token-contiguous tile: since
// 31, the producer's top stall is the long scoreboard on tile t + 1's loads). Bit 36 (68719476736, with 16): the V3.2
// pair entry takes the two-tile producer too. Bit 35 (34359738368, with 31 and 13; with 16 in produceDeep too): each pair CTA's
// producer writes the validity flags of all 64 tokens of a stage into its own stage from the indices (FlashMLA's
// consumers read the indices likewise), so no flag goes to the peer by st.async (the peer's byte count drops by 128).
#define MLA_SSP_TOK ((MLA_SPARSE_SM90_MODE & (2147483648 | 4294967296)) != 0)
#if MLA_SSP_TOK
static_assert(!(MLA_SPARSE_SM90_MODE & (1048576 | 134217728 | 268435456 | 1073741824)), "bits 31 / 32 are not for 20, 27, 28, 30");
static_assert(!(MLA_SPARSE_SM90_MODE & 65536) || (MLA_SPARSE_SM90_MODE & 2147483648), "bit 16 with the token-contiguous tile: the pair's bit 31");
constexpr bool kTokPair = MLA_SPARSE_SM90_MODE & 2147483648, kTokOne = MLA_SPARSE_SM90_MODE & 4294967296;
#endif
#if MLA_SPARSE_SM90_MODE & 34359738368
static_assert((MLA_SPARSE_SM90_MODE & 2147483648) && (MLA_SPARSE_SM90_MODE & 8192) && !(MLA_SPARSE_SM90_MODE & (4194304 | 16777216)),
              "bit 35 needs 31 and 13, not 22 / 24");
#endif
static_assert(!(MLA_SPARSE_SM90_MODE & 68719476736) || (MLA_SPARSE_SM90_MODE & 65536), "bit 36 comes with 16");
// Bit 38 (274877906944, session 11 round 4): bit 35's code on the V3.2 pair entry alone (Kernel<false, true>); the
// MODEL1 pair entry and the one-CTA entries compile the code of the mode without it. Round 2 measured bit 35 at
// -2.4..-2.7 % on every V3.2 pair shape and -0.7..+1.0 % on the MODEL1 pair shapes, so the class rule refused it.
#if MLA_SPARSE_SM90_MODE & 274877906944
static_assert((MLA_SPARSE_SM90_MODE & 2147483648) && (MLA_SPARSE_SM90_MODE & 8192) &&
                  !(MLA_SPARSE_SM90_MODE & (4194304 | 16777216 | 65536 | 34359738368)),
              "bit 38 needs 31 and 13, not 22 / 24 / 16 / 35");
#endif
// Bit 37 (137438953472, with 31, not 32): the one-CTA entries take bit 31's producer lane map (a quarter warp = 8
// consecutive tokens of one box, chunks in order) but keep the swizzled key tile and its consumers: the 8 rows of a
// quarter have 8 distinct swizzle masks, so each 16-byte store hits 8 bank groups. It tells the map (and its global
// loads) from the layout in bit 32's one-CTA loss, and ships if faster than the shipped map (2-way conflicts).
#if MLA_SPARSE_SM90_MODE & 137438953472
static_assert((MLA_SPARSE_SM90_MODE & 2147483648) && !(MLA_SPARSE_SM90_MODE & 4294967296), "bit 37 needs 31 and not 32");
#endif
// Session 12 (issue #14): ncu of bit 38's V3.2 pair entry (V3.2 b64 s_q 2) splits the producer's stall samples into
// 4 % waiting on `empty`, 21 % on its own gathered bytes (long scoreboard at the first use after the wait) and 75 %
// issuing; warpgroup 0 waits on `full` 23 % of its time. The producer is the fill's bound and the gather latency is
// exposed at the top of every tile: tile t + 1's loads are issued after all of tile t is stored and handed over, and
// the empty wait that follows is too short to cover them. Bit 39 (549755813888, pair entries) / bit 40
// (1099511627776, one-CTA entries): each round's registers take tile t + 1's loads as soon as that round of tile t
// is stored, all but the last round before the `full` arrival (so the hand-over is not delayed by the last loads):
// the first rounds' latency hides under the later rounds' conversions and stores. Same registers, same instructions;
// only their order. Not with 16, 17, 27, 28 or 30 (their own producer loops).
#if MLA_SPARSE_SM90_MODE & (549755813888 | 1099511627776)
static_assert(!(MLA_SPARSE_SM90_MODE & (65536 | 131072 | 134217728 | 268435456 | 1073741824)), "bits 39 / 40 are not for 16, 17, 27, 28 or 30");
constexpr bool kEarlyPair = MLA_SPARSE_SM90_MODE & 549755813888, kEarlyOne = MLA_SPARSE_SM90_MODE & 1099511627776;
// Bit 49 (562949953421312, with 39 and / or 40; session 16; bit 48 was session 14's f16 key tile): the early gather on the
// MODEL1 entries only. With precision 'fast' the V3.2 `_sp` entries spill with it (12 bytes the pair, 16 the one-CTA
// entry), the MODEL1 ones do not.
constexpr bool kEarlyM1Only = MLA_SPARSE_SM90_MODE & 562949953421312;
#else
static_assert(!(MLA_SPARSE_SM90_MODE & 562949953421312), "bit 49 comes with 39 or 40");
#endif
// Bit 52 (4503599627370496; session 16; the one-CTA MODEL1 entries): the producer's gather loads a whole 128-byte line
// of a token row an instruction. The shipped map gives lane k (of a token's eight) NoPE bytes 64k..64k+63 in four
// 16-byte loads, so one load instruction of a quarter warp touches four lines 32 bytes each, sixteen a warp, and every
// line is touched by four instructions: four times the L1 wavefronts of its bytes, in the SRAM that S's operand reads
// (an SS m64n64k16 reads 128 bytes a clock) need (session 16, call B: the loads without L1 allocation took 16-24 %
// longer, so that reuse is real). With the bit, load c of lane k takes bytes 128c + 16k..+15 (box 2c + k / 4, chunks
// 2 (k % 4), + 1; lanes k >= 4 have three NoPE loads, c < 3), the scale row as one 8-byte load, and a quarter warp's
// store writes the even chunks of box 2c (lanes k < 4) and the odd ones of box 2c + 1 (lanes k >= 4, hi first): eight
// distinct bank groups, as the shipped map's two-way conflicts were not.
constexpr bool kLineBit = (MLA_SPARSE_SM90_MODE & 4503599627370496) != 0;
// Bit 57 (144115188075855872; session 16, helper h2; the one-CTA V3.2 entries) / bit 58 (288230376151711744; the one-CTA
// MODEL1 entries, with 52): the producer's store phase as straight-line code. Without them every 16-value chunk of a
// round sits in its own branch: `if (live)` (a per-lane condition, so each chunk is a divergent region of its own), and on
// V3.2 a second per-lane test inside it, whether the f32 scale is a bf16 (then the bf16x2 multiply, else f32). ptxas
// cannot move one chunk's conversions past another's branch, so the dequantization of a tile runs as 16 short chains (4
// rounds x 4 chunks) with a reconvergence point between them, while FlashMLA's producer converts a round with no branch
// at all (an invalid token's bytes are zeroed by a select and converted like the others). With the bits the chunks carry
// no test: an invalid token's registers (never loaded) are replaced by zeros and its scale by 1 through selects, so its
// chunks convert to the zeros that were stored before; on V3.2 one warp vote a round (every live lane's scale a bf16:
// FlashMLA's quantizer's powers of two always are) picks the branch-free body, any other scale the shipped per-chunk code.
// Same values stored, bit for bit. (Zeroing the registers in loadRound instead, or one vote a tile, spilled 16-20 bytes
// in the V3.2 `_sp` entry.)
constexpr bool kFlatV32 = (MLA_SPARSE_SM90_MODE & 144115188075855872) != 0, kFlatM1 = (MLA_SPARSE_SM90_MODE & 288230376151711744) != 0;
static_assert(!kFlatM1 || kLineBit, "bit 58 comes with 52");
// Bits 60 (1152921504606846976, the V3.2 pair entries) / 61 (2305843009213693952, the MODEL1 pair entries; session 16,
// written after the session's device time was spent, not measured): bits 57 / 58's straight-line store phase in the pair
// entries, whose store rounds (two a CTA, into both CTAs' stages) still test `live` and, on V3.2, the scale per chunk.
constexpr bool kFlatPairV32 = (MLA_SPARSE_SM90_MODE & 1152921504606846976) != 0, kFlatPairM1 = (MLA_SPARSE_SM90_MODE & 2305843009213693952) != 0;
// Bit 62 (4611686018427387904; session 17, helper h1; the pair entries, both formats): the next item's Q from L2. At an
// item boundary the consumers run the epilogue, then cp.async the next request's Q (64 KiB a CTA, all CTAs at once, from
// DRAM) and wait for it, while the producer, a tile or more ahead, already has that item's first tiles stored. With the
// bit, producer thread 0 of each CTA, on entering an item other than the part's first, prefetches that item's Q rows for
// its CTA into L2 with one cp.async.bulk.prefetch.L2 (the consumers reach that Q after the current item's last tile or two
// and its epilogue), so the consumers' cp.async reads L2. Same bytes: the output is bit-identical. (Loading the sinks
// once before the item loop, FlashMLA's order, was tried with it: with bit 53 the MODEL1 pair `_sp` entry then spills.)
constexpr bool kQEarlyBit = (MLA_SPARSE_SM90_MODE & 4611686018427387904) != 0;
// Bit 53 (9007199254740992; reused: session 16's bit 53, the pair's line-coalesced gather, left the code after call D,
// commit d605b45 has it; session 17, helper h1; the MODEL1 pair entries: the V3.2 pair `_sp` entry spills 16 bytes with
// it): the epilogue's bf16 output through shared memory and
// bulk copies, FlashMLA's way (it stages O in shared memory and stores it by TMA). Without it each consumer thread writes
// its 2 x 32 bf16 pairs with 4-byte stores: a warp store instruction touches 8 rows' 16 bytes, 8 different lines, 512
// such instructions a CTA (4096 half-sector writes) right before the next item's Q load, all CTAs at once. With it the
// threads write the values into the Q region (free after the item's last S) and the P box (stageRowW: a warpgroup's 512
// bytes of a row contiguous, rows 528 bytes apart so that every warp store is conflict-free; the layout with a rotation
// inside 1024-byte rows made ptxas keep one address a store and spill 250-800 bytes), then one thread a row and warpgroup
// issues one cp.async.bulk shared -> global copy of its 512 bytes and waits for its reads before the regions are written
// again. Requests in one piece (bf16 out, 16-byte aligned) only; split partials keep the f32 stores. Same values, same
// bytes in memory.
constexpr bool kBulkOBit = (MLA_SPARSE_SM90_MODE & 9007199254740992) != 0;
static_assert(!kBulkOBit || !(MLA_SPARSE_SM90_MODE & 1048576), "bit 53 is written for the 256 / 256 column split (not bit 20)");
// Bit 54 (18014398509481984; reused: session 16's bit 54, the pair gather's half-row trade, left the code after call D;
// session 17, helper h1 round 2; the V3.2 pair entries): bit 53's epilogue in the V3.2 pair entries, in a form warpgroup 1
// (160 registers) holds without spilling. Bit 53's form spilled there: warpgroup 1 then carries two output paths (the
// staged one and the 4-byte stores to global for split partials or an unaligned `out`), and the second path's 64-bit
// addresses are what does not fit. With bit 54 warpgroup 1 has one path: it always writes its 256 columns into the Q
// region (V3.2's is 72 KiB) with 32-bit shared addresses — bf16 rows 64 + r, 528 bytes apart, for a request in one piece,
// f32 rows r, 1040 bytes apart, for a split partial (both strides make every warp store conflict-free) — and leaves the
// global side to warpgroup 0 (200 registers): for a request in one piece with a 16-byte aligned `out`, warpgroup 0 stages
// its own rows 0..63 the same way and its 128 threads issue one 512-byte bulk copy each (thread wt: row wt & 63, columns
// 256 (wt / 64)..); otherwise it copies warpgroup 1's rows to global with shared loads and coalesced stores, and writes its
// own columns by the 4-byte / 8-byte stores as before. Named barrier 5 (256 threads): warpgroup 1's rows are staged;
// barrier 3 (again): they have been read out, before the next item's Q overwrites the region. Same values, same bytes.
constexpr bool kBulkVBit = (MLA_SPARSE_SM90_MODE & 18014398509481984) != 0;
static_assert(!kBulkVBit || !(MLA_SPARSE_SM90_MODE & 1048576), "bit 54 is written for the 256 / 256 column split (not bit 20)");
// Bits 9 / 10 (512 / 1024; reused: session 8's item-boundary overlap bits 9-11 left the code long ago, commit 6c7d876 has
// them; helper s20-h2 at session 19's end; the one-CTA MODEL1 entries `model1_bf16` / `_sp`): the pair's item boundary in the
// one-CTA MODEL1 entries, whose item measured 7.20 us against the MODEL1 pair's 5.26 (session 19, call E).
// Bit 9: bit 53's epilogue there (the bf16 output of a request in one piece, 16-byte aligned `out`, staged by each
// warpgroup in the Q region and the P box with stageRowW's 528-byte rows, then one 512-byte cp.async.bulk a row and
// warpgroup, waited for its reads before the next item's Q; split partials keep the f32 stores). Bit 53's code as it is
// (generic-pointer stores, row addresses hoisted out of the item loop) spills 12 / 4 bytes in `model1_bf16` / `_sp`; this
// form stores with 32-bit shared addresses formed in the epilogue (opaque32, bit 54's device) and builds with 0 spills.
// (Bit 10, bit 62's L2 prefetch of the next item's Q there, added nothing in session 20's call B and left the code in
// session 21; the number is bit 10 below.) Bit 11 (2048; reused as 9 / 10): bit 9's block in the one-CTA V3.2 entries `v32_bf16` / `_sp` (the same
// stageRowW rows: V3.2's 72 KiB Q region would hold all 128, the P box's rows 60..63 are as free there, P lo lives in the
// stage's RoPE box). Same values, same bytes: the output is bit-identical to the build without them.
constexpr bool kBulkOOneBit = (MLA_SPARSE_SM90_MODE & 512) != 0,
               kBulkOV32OneBit = (MLA_SPARSE_SM90_MODE & 2048) != 0;
static_assert(!(kBulkOOneBit || kBulkOV32OneBit) || !(MLA_SPARSE_SM90_MODE & 1048576), "bits 9 / 11 are bit 53's form (not with bit 20)");
// Bit 55 (36028797018963968; reused: session 16's bit 55, bits 53 / 54's gather kept to the MODEL1 pair entry, left the
// code after call D, commit d605b45 has it; session 18, helper h2; the MODEL1 pair entries): the stage written and handed
// over in two halves of S's contraction on the token-contiguous tile (bit 31). A pair tile costs 2.80 us against FlashMLA's 2.37 while either half alone is
// faster than 2.37 (session 17, call B): with two stages the consumers' S waits for the whole fill of a stage. With the
// bit each producer thread stores, for both its rounds, chunks 0..3 of its box (columns 64k..64k+31: S's k-steps 0 and
// 1), its RoPE chunk if k < 4 and the validity flags first, fences and arrives on full[s] (the peer's bytes of that half,
// 32 x (7 x 64 + 64 + 4), complete remote[s]); then chunks 4..7 and the RoPE chunks k >= 4 (full1[s], remote1[s]: 32 x
// (7 x 64 + 64) bytes). Warpgroup 0 issues S's k-steps 0, 1 of every box on the first half, waits for the second and
// issues k-steps 2, 3 (one commit group); warpgroup 1 waits for both before its P V. No lane map change (bit 31's lane
// writes all eight chunks of one box: the split only reorders its stores). Bit 28 did this on the swizzled tile with a
// new lane map in session 11 (the map cost 8.8 %, the split itself about 0.4 % more). Same values; S's sums in another
// order (k-steps 0, 1 of all boxes, then 2, 3), so the output differs from the shipped build's in the last bits.
// Bit 56 (72057594037927936; reused: session 16's bit 56, the one-CTA V3.2 line-coalesced gather, left the code after its
// call F; session 18, helper h2): bit 55's halves in the V3.2 pair entries (nine boxes: S's 36 wgmmas as 18 + 18; the
// validity flags are each CTA's own there, bit 38; bit 60's per-round vote is taken again for each half).
constexpr bool kHalfBit = (MLA_SPARSE_SM90_MODE & 36028797018963968) != 0, kHalfV32Bit = (MLA_SPARSE_SM90_MODE & 72057594037927936) != 0;
static_assert(!(kHalfBit || kHalfV32Bit) || ((MLA_SPARSE_SM90_MODE & 2147483648) && (MLA_SPARSE_SM90_MODE & 8192) &&
                            !(MLA_SPARSE_SM90_MODE & (65536 | 131072 | 549755813888 | 2305843009213693952 | 4194304 | 16777216))),
              "bits 55 / 56 need 31 and 13, and are not for 16, 17, 22, 24, 39 or 61");
// Bits 41 / 42 (probes, never shipped; session 18, helper h2 round 2; the MODEL1 pair entries, with bit 55; reused numbers:
// session 13's bits 41-43 left the code in session 14, commit d39f109 has them). Call B (session 18) measured the MODEL1
// pair tile 0.57 us slower with bit 55 (0.18 us in the no-token-load probe C) while the V3.2 pair gained 2 % with bit 56;
// these split bit 55's change into its parts, timed side by side by the item probe:
// bit 41: the gather issued in bit 55's half order (slots 0, 1, the scale word and the RoPE chunk if k < 4 of both rounds,
//   then slots 2, 3 and the RoPE chunk if k >= 4). The SASS says it cannot matter: every gather load of a tile sets one
//   scoreboard (SB5) and the first conversion waits for all of them (no partial DEPBAR), in shipped and with bit 55 alike.
// bit 42: warpgroup 0 waits for both halves before S's first wgmma (bit 55's producer, S not started early);
// (Session 18's bit 43, with 42: the producer's fence between the halves dropped, left the code in session 19's helper
// h2 round 4, which reuses the number below; commit 24f6cbf has it.)
constexpr bool kHalfLoadBit = (MLA_SPARSE_SM90_MODE & 2199023255552) != 0, kHalfWaitBit = (MLA_SPARSE_SM90_MODE & 4398046511104) != 0;
static_assert(!(kHalfLoadBit || kHalfWaitBit) || (MLA_SPARSE_SM90_MODE & 36028797018963968), "bits 41 / 42 are bit 55's");
// Bit 59 (576460752303423488; session 16, helper h2; the one-CTA V3.2 entries): FlashMLA's cache hints on the gather,
// `ld.global.nc.L1::evict_last.L2::256B` for the NoPE bytes and `.L1::evict_last.L2::128B` for the scale and RoPE (ours
// are plain `ld.global.nc`). The final call of session 16 found this path gather-bound (no token loads: 0.62 T) with 656-byte
// rows, half of which start mid-sector; each 128-byte line of a row is read by four load instructions of a round (lane k
// takes bytes 64k + 16c), a tile's 42 KB in flight beside only ~28 KB of L1 (the rest of the SM's 256 KB is the CTA's
// shared memory), so a line can be evicted between its first and last reader, and an L2 miss fetches sector by sector.
// evict_last keeps the lines, 256B makes L2 fetch a miss's whole 256-byte block. Bits 41 / 42 (L2::256B alone, session 13)
// were level on the 12 shapes, which have no one-CTA V3.2 case (their one-CTA rows are MODEL1's 576 bytes, sector-aligned).
// Measured (session 16, call H, H200, V3.2 at h_q 64): the hints -1.2 %, the straight-line store phase (57) -24 %: the
// loads and the branchy conversions were one serial chain, which 57 broke; the hints ship with it (-1.4 % more).
constexpr bool kHintBit = (MLA_SPARSE_SM90_MODE & 576460752303423488) != 0;
static_assert(!kHintBit || !(MLA_SPARSE_SM90_MODE & (4 | 268435456 | 1073741824)), "bit 59 is not for 2, 28, 30");
// Bits 48 / 50 (session 18, helper h2 round 3; the one-CTA V3.2 entries, with 57: FlashMLA's h_q 64 producer details read
// in session 16, "Session 16, helper h2" in docs/notes/cuda-sparse-decode.md):
// bit 48 (281474976710656): a token's row address with unsigned 32-bit arithmetic. addrOf divides the physical id by the
//   page block size as a signed int (the sign fix-ups of the emulated division beside the unsigned core) and forms the
//   slot's byte offset in 64 bits; the id is known to be >= 0 there (-1 returned before), so the quotient, the slot and
//   the slot's offset (< B x 656 bytes) are the same as unsigned 32-bit values; only the block's offset stays 64-bit.
// bit 50 (1125899906842624): the tile's 64 validity flags written by one warp after the rounds, FlashMLA's hand-off:
//   producer warp 0's lane l holds the ids of tokens 2l, 2l + 1 (loaded a tile ahead, as the rounds' ids are) and, after
//   the fence and before the arrival, stores both flags with one 8-byte store; the rounds' store bodies then carry no
//   flag store (without the bit: a k == 0 lane's store in each of the 4 rounds, in all four warps).
// Same bytes stored, the same flags: the output is bit-identical to the build without the bits.
constexpr bool kAddr32Bit = (MLA_SPARSE_SM90_MODE & 281474976710656) != 0, kWarpFlagsBit = (MLA_SPARSE_SM90_MODE & 1125899906842624) != 0;
static_assert(!(kAddr32Bit || kWarpFlagsBit) || (kFlatV32 && !(MLA_SPARSE_SM90_MODE & (2 | 4 | 4194304 | 8388608 | 16777216 | 131072 | 4294967296 | 137438953472 | 268435456 | 1073741824))),
              "bits 48 / 50 need 57 and are not for 1, 2, 17, 22-24, 28, 30, 32, 37");
// Bit 51 (session 18, helper h2 round 4; the MODEL1 pair entries, shipped's plain loop: the producer's own store and
// load chain, bits 48 / 50's two details carried over from the one-CTA V3.2 entries, where they measured -0.9 / -1.5 %):
// bit 51 (2251799813685248): the token's row and its 8-byte scale row addressed in unsigned 32-bit arithmetic (the id is
//   >= 0 there: the same quotient, slot, slot offset (< B x 576) and scale offset (B x 576 + 8 slot) as before), only
//   the block's offset 64-bit; two rows a tile a thread.
// (Bit 44 here, the CTA's 32 flags by producer warp 0, measured slower in session 18 call K and closed by session 19's
// plan, left the code in session 21; the number is bit 44 below.)
// Same bytes and flags stored: the output is bit-identical to the build without the bit.
constexpr bool kAddr32M1PairBit = (MLA_SPARSE_SM90_MODE & 2251799813685248) != 0;
// (Bit 43 here, bit 50's flags by producer warps 0 and 1 in the one-CTA MODEL1 entries, measured at the rule's edge in
// session 19 call E (0.9954, KEEP) and closed there, left the code in session 21; the number is bit 43 below.)
static_assert(!kAddr32M1PairBit || ((MLA_SPARSE_SM90_MODE & 2147483648) && (MLA_SPARSE_SM90_MODE & 8192) &&
              !(MLA_SPARSE_SM90_MODE & (2 | 4 | 65536 | 131072 | 4194304 | 8388608 | 16777216 | 134217728 | 268435456 | 1073741824 | 34359738368 |
                                        549755813888 | 36028797018963968 | 2305843009213693952))),
              "bit 51 is for the MODEL1 pair's plain loop: with 13 and 31, not with 1, 2, 16, 17, 22-24, 27, 28, 30, 35, 39, 55, 61");
// Bits 46 / 47 (session 19, helper h2; new numbers: session 13's bits 46 / 47 left the code in session 14):
// bit 46 (70368744177664): bits 48 / 51's unsigned 32-bit row address (addrOf<M1, true>) in the two entry kinds that still
//   divide signed with 64-bit offsets: the V3.2 pair entries and the one-CTA MODEL1 entries (with 52's line gather there:
//   the token's row and its 8-byte scale row). The same addresses: the output is bit-identical to the build without it.
// bit 47 (140737488355328; a probe, the output is garbage): the MODEL1 pair entries' consumers skip S, the softmax, P and
//   P V: each warpgroup waits for the tile (full, then the peer's bytes) and hands the stage back at once, so the tile's
//   time is the producer chain's alone (gather, conversions, local stores, st.async into the peer, the arrivals, and the
//   wait for both CTAs' hand-back). Bit 1 (no wgmma) keeps the softmax and the P hand-over between the warpgroups.
constexpr bool kAddr32RestBit = (MLA_SPARSE_SM90_MODE & 70368744177664) != 0, kProdAloneBit = (MLA_SPARSE_SM90_MODE & 140737488355328) != 0;
static_assert(!kAddr32RestBit || kAddr32Bit, "bit 46 extends 48 (and 51) to the V3.2 pair and one-CTA MODEL1 entries: with 48");
static_assert(!kProdAloneBit || ((MLA_SPARSE_SM90_MODE & 8192) && !(MLA_SPARSE_SM90_MODE & (268435456 | 1073741824 | 36028797018963968))),
              "bit 47 (probe) is for the MODEL1 pair's plain loop: with 13, not with 28, 30, 55");
// MLA_SPARSE_SM90_PAIR_PROBE (session 19, helper h2, round 2; diagnostic builds only, the output is garbage; 0, the
// default: no probe): what in the MODEL1 pair entries' coupling costs (bit 47 measured the producer alone at 0.715 of the
// tile). 1: the consumers skip P V's wgmmas (S, the softmax, P and every hand-over kept); 2: warpgroup 0 skips S's wgmmas
// (the softmax on zeros; P V kept); 3: each warpgroup hands the stage back to its own CTA only (no arrival on the peer's
// empty barrier, which counts 2): a producer waits for its own consumers alone; 4: the consumers wait for the peer's bytes
// (remote) only after the tile's math, right before the hand-back (so the barrier's phases stay ordered); 5: the producer
// hands each stage straight over (every token valid, nothing loaded or stored: bit 17's probe), the consumers alone.
#ifndef MLA_SPARSE_SM90_PAIR_PROBE
#define MLA_SPARSE_SM90_PAIR_PROBE 0
#endif
// The producer paths of bit 17 (and pair probe 5: nothing loaded) and of bits 28 / 30 (the split producers) neither issue
// nor announce Q, so with the producer loading Q (QE) the consumers would wait for it for ever (session 69's review).
static_assert(!(MLA_SPARSE_SM90_QE && ((MLA_SPARSE_SM90_MODE & (131072 | 268435456 | 1073741824)) || MLA_SPARSE_SM90_PAIR_PROBE == 5)),
              "the producer loads Q (QE): not with bit 17, 28 or 30, or pair probe 5");
// Bit 25 (33554432; reused: session 10's bit 25, the half tile forwarded by bulk copies, left the code, commit 1082919 has
// it; session 19, helper h2, round 3; the MODEL1 pair entries): pair probe 4 (the consumers not waiting for the peer's
// bytes before S) measured 0.076 us a tile of the consumers' wait on `remote` past `full`: each producer's last st.async
// into the peer lands about a DSMEM round trip after its last local store. With the bit the producer sends round 0's peer
// copy (NoPE chunks, RoPE chunk, validity flag: storeRound's Dest 1) before any local store, then stores round 1 as before
// (each chunk here, then into the peer), then round 0's own copy (Dest 2) from the 32 registers the first pass kept: the
// peer's last bytes leave 9 local 16-byte stores a thread before the `full` arrival instead of none. Same stores, same
// values, same addresses: bit-identical output. (Both rounds' peer copies first: holding 64 converted registers spills 40
// bytes; converting twice instead costs 320 instructions a tile.)
constexpr bool kPeerFirstBit = (MLA_SPARSE_SM90_MODE & 33554432) != 0;
// Bit 4 (16; reused: the gone bit 4 of the session-8 modes; session 20, helper s20-s1; the MODEL1 pair entries, with 25):
// the census of the MODEL1 pair producer's tile loop (sass_opclass on the shipped build) finds 320 of its ~855
// instructions in the e4m3 -> bf16 conversions (a 4-value word: 2 F2FP unpacks, 4 HADD2.F32, 2 F2FP packs, 2 bf16 muls).
// With the bit a pair of values takes PRMT (each byte with its sign replicated into the byte above), SHF, LOP3 and the
// bf16 multiply (dq4x): the byte's 7 low bits put at bf16 bits 10..4 and its sign at 15 are the e4m3 value times 2^-120
// exactly, subnormals included (bf16 keeps e4m3's subnormals as its own), so one multiply by 2^(s - 7) (a UE8M0 byte s)
// gives the same single rounding of v x 2^(s - 127) as the bf16(v) x bf16(2^(s - 127)) product without the bit. 2^(s - 7)
// is a bf16 for s <= 134 only: a tile whose warp holds a live token with a larger (or NaN) scale takes the old conversions
// (one vote a tile). Output bit-identical for every finite e4m3 byte; an e4m3 NaN byte (0x7f / 0xff) of a read token
// decodes to +-480 x scale instead of NaN (FlashMLA's quantizer never writes one). 320 -> 256 conversion instructions a
// tile a thread.
constexpr bool kCvtBitsBit = (MLA_SPARSE_SM90_MODE & 16) != 0;
static_assert(!kCvtBitsBit || kPeerFirstBit, "bit 4 is written for bit 25's store order (the MODEL1 pair entries)");
static_assert(!kPeerFirstBit || ((MLA_SPARSE_SM90_MODE & (8192 | 2147483648)) == (8192 | 2147483648) &&
              !(MLA_SPARSE_SM90_MODE & (65536 | 131072 | 4194304 | 8388608 | 16777216 | 134217728 | 268435456 | 1073741824 |
                                         549755813888 | 34359738368 | 36028797018963968 | 2305843009213693952))),
              "bit 25 is for the MODEL1 pair's plain store loop: with 13 and 31, not with 16, 17, 22-24, 27, 28, 30, 35, 39, 55, 61");
// Bit 6 (64; reused: session 8's 2-CTA cluster bit left the code; session 20, helper s20-s2; the MODEL1 pair entries, with
// 51 and 25): addrOf's unsigned 32-bit division of the token id by the page block size B (two a tile a producer thread:
// I2F, MUFU.RCP, F2I and a dozen integer fix-ups each) as a multiply-high by a magic number formed once a thread before
// the item loop (divMagic, for the main and the extra cache's B): q = umulhi(2 x, m) >> s with s = ceil(log2 B) and
// m = ceil(2^(31 + s) / B) (< 2^32), exact for every x < 2^31 (the id is an int >= 0 there): x m / 2^(31 + s) = x / B
// + x e / (B 2^(31 + s)) with e = m B - 2^(31 + s) < B, an excess below 2^-s <= 1 / B. And idAt's two guarded index
// loads (main or extra list, three nested tests) as one load with its base, offset and bound selected: entry e is read
// iff e < (e >= mainRegion ? eEnd : min(eEnd, mainLen)) (eEnd <= mainRegion + extraLen, so e < eEnd covers the extra
// list's length; t >= nTiles gives e >= eEnd, so idOf's tile test goes). The same ids, quotient, slot and addresses:
// bit-identical output (NaN bytes untouched: no value path changes). Tile loop 855 -> 821 / 819 static (_sp / exact).
constexpr bool kDivMagicBit = (MLA_SPARSE_SM90_MODE & 64) != 0;
static_assert(!kDivMagicBit || ((MLA_SPARSE_SM90_MODE & (8192 | 2147483648 | 2251799813685248 | 33554432)) == (8192 | 2147483648 | 2251799813685248 | 33554432)),
              "bit 6 is for the MODEL1 pair's plain loop with 51 and 25 (and 13, 31)");
// Bit 44 (17592186044416; reused, see bit 51; session 21, helper s3; the MODEL1 pair entries, with 25, 51, 13 and 31):
// FlashMLA's producer map. Without the bit a token is 8 lanes, 16 tokens a round, two rounds a tile: lane k < 7 holds
// box k's 64 NoPE bytes, lane 7 none (its warp issues every conversion and NoPE store with 1 lane in 8 idle), and each
// round forms its own row address, index load, scale byte and `live` branches. With the bit a token is 4 lanes (warp w,
// lane l: row 32 rank + 8 w + l % 8, quarter q = l / 8), one round a tile: lane q holds the 16 bytes 64 d + 16 q of every
// box d (chunks 2q, 2q + 1 of box d: 7 loads), RoPE chunks q and q + 4, and the token's 8-byte scale row, whose 7
// bytes become bf16x2 factors by one byte permute each (the UE8M0 decode of ue8m0(): 2^(b - 127), 0 -> 2^-127, 255 ->
// NaN, done on the two words at once). An invalid entry reads kQuadZero (zeros, scale bytes 127) instead of a row: +0
// stored, as without the bit, and no predicated load or select. Stores: the peer's RoPE chunks and flag (q = 0) first,
// then box d's peer copy before this CTA's copy of box d - 2 (MLA_SPARSE_SM90_QUAD_LAG; holding all seven boxes for bit
// 25's full order spills ~100 bytes). The conversions are dq4b's (an e4m3 NaN byte stays NaN, as in FlashMLA's cvt
// path), the same values at the same addresses: bit-identical output. Census (session 21, sass_opclass --loops): the
// tile loop 857 static instructions -> 512 (FlashMLA's h_q 128 MODEL1 kernel: 638); conversions 320 -> 280, control
// 183 -> 38, integer / address 211 -> 111.
constexpr bool kQuadBit = (MLA_SPARSE_SM90_MODE & 17592186044416) != 0;
static_assert(!kQuadBit || ((MLA_SPARSE_SM90_MODE & (8192 | 2147483648 | 33554432 | 2251799813685248)) == (8192 | 2147483648 | 33554432 | 2251799813685248) &&
              !(MLA_SPARSE_SM90_MODE & (2 | 4 | 16 | 64 | 128 | 65536 | 131072 | 4194304 | 8388608 | 16777216 | 34359738368 | 140737488355328)) &&
              MLA_SPARSE_SM90_PAIR_PROBE == 0),
              "bit 44 is for the MODEL1 pair's plain loop with 13, 31, 25 and 51; not with 1, 2, 4, 6, 7, 16, 17, 22-24, 35, 47 or a pair probe");
// Bit 10 (1024; reused: session 20's bit 10, the one-CTA MODEL1 entries' L2 prefetch of the next Q, left the code in session
// 21; session 21, helper s4; the V3.2 pair entries, with 13, 31, 38, 46, 56 and 60): bit 44's map in the V3.2 pair producer.
// Without the bit a thread holds box k's 64 bytes of two tokens (two rounds of 16) and each round forms its own index
// load, row address (an unsigned division), scale load, warp vote and `live` branches, in each of bit 56's two halves:
// the common path of the tile loop is about 780 static instructions against FlashMLA's 638 (its V3.2 h_q 128 kernel,
// sass_opclass --loops; the conversions are 320 in both). With the bit a token is 4 lanes (warp w, lane l: row
// 32 rank + 8 w + l % 8, quarter q = l / 8), one round a tile: 8 NoPE loads of 16 bytes, the row's four f32 scales in one
// load, RoPE chunks q and q + 4; one index load, one address, one vote a tile. So that bit 56's halves stay whole, lane q
// takes of box b the 16 bytes 64 b + 16 ((q & 1) + 2 ((b & 1) ^ (q >> 1))): its register slot j < 4 is box
// 2 j + (q >> 1) in chunks 2 (q & 1), + 1 (columns < 32, the first half), slot j >= 4 is box 2 (j - 4) + 1 - (q >> 1) in
// chunks 4 + 2 (q & 1), + 1; slot j's scale is scale j & 3 whatever the lane. The four lanes of a token still read each
// box's 64 bytes, and a quarter warp's 16-byte stores are one chunk of 8 consecutive rows (one 128-byte line, bit 31).
// Flags: lane q = 0 writes its row's, lane q = 1 the peer's row's (its index loaded a tile ahead, bit 38's own flags),
// before the first half's arrival. An invalid entry reads kQuadZeroV (zeros, scales 1) instead of a row: +0 stored, as
// without the bit. The warp's vote (every lane's four scales bf16: FlashMLA's quantizer's powers of two) picks dq4b for
// the tile, else each slot tests its scale as storeRound does (dq4 for a scale with more than 8 significant bits). Same
// values at the same addresses: bit-identical output (an e4m3 NaN byte stays NaN: dq4b / dq4 as without the bit).
constexpr bool kQuadVBit = (MLA_SPARSE_SM90_MODE & 1024) != 0;
static_assert(!kQuadVBit || ((MLA_SPARSE_SM90_MODE & (8192 | 2147483648 | 274877906944 | 70368744177664 | 72057594037927936 | 1152921504606846976 | 524288)) ==
                             (8192 | 2147483648 | 274877906944 | 70368744177664 | 72057594037927936 | 1152921504606846976 | 524288) &&
                             !(MLA_SPARSE_SM90_MODE & (2 | 4 | 65536 | 131072 | 4194304 | 8388608 | 16777216 | 68719476736 | 134217728 | 268435456 | 1073741824))),
              "bit 10 is for the V3.2 pair's plain loop with 13, 19, 31, 38, 46, 56 and 60; not with 1, 2, 16, 17, 22-24, 27, 28, 30, 36");
// Bit 43 (8796093022208; session 21 s5, session 22 s6 / s7: the pair producers walking a part's items as one stream of
// tiles, the next item's first tile gathered during the current item's last) measured 1.126x and then 1.025x the time
// (docs/notes/cuda-sparse-decode.md) and left the code in session 22; commit ea972ca has it. Bit 43 is free.
// Bit 33 (8589934592; reused: session 11's descriptor diagnostic, see bit 31; session 22, helper s8; the pair entries): the
// next item's first loads prefetched, the tile loop untouched. Without the bit an item starts cold: after
// its last tile is stored the producer reads the next item's schedule fields (itemOf), then its first tile's indices, then
// gathers: three dependent global loads before its tile 0 can be stored. With the bit, producer thread 0 of each CTA, as
// it enters an item (right before the item's own itemOf loads), issues prefetch.global.L2 of what the part's next item
// (batch + 1, if it belongs to the part) reads first: the words itemOf reads for it (numSplits[batch + 2],
// topkLength[batch + 1], extraTopkLength[batch + 1]; numSplits[batch + 1] and the metadata row are this item's) and the
// lines holding entries 0 and 63 of its main index row (batch + 1) sQ + j, its tile 0's indices (a later item of a part
// starts at entry 0, and tile 0 is main: mainRegion >= 64; a row of a multiple of 32 entries is 128-byte aligned, so the two
// lines are all 64). This placement and set leave the tile loops' SASS as they are (sass_opclass: the same instructions
// in the same order, only scoreboard numbers and LDG stall counts swapped); after the item's itemOf, or with a third line
// or the extra index row's first line, ptxas rescheduled the V3.2 pair tile loop (+1 instruction, +4 waits). No register
// takes a value from a prefetch and nothing waits for one: bit-identical output.
constexpr bool kPrefNextBit = (MLA_SPARSE_SM90_MODE & 8589934592) != 0;
// Bit 34 (17179869184; session 22, after call E: bit 33 measured V3.2 pair 0.987-0.990, MODEL1 pair 1.000-1.004): bit 33
// in the V3.2 pair entries only (the MODEL1 pair entries compile as without bit 33). Only with 33.
constexpr bool kPrefNextV32Only = (MLA_SPARSE_SM90_MODE & 17179869184) != 0;
static_assert(!kPrefNextV32Only || kPrefNextBit, "bit 34 restricts bit 33");
static_assert(!kPrefNextBit || ((MLA_SPARSE_SM90_MODE & 8192)), "bit 33 is for the pair entries (13)");
#ifndef MLA_SPARSE_SM90_QUAD_LAG
#define MLA_SPARSE_SM90_QUAD_LAG 2
#endif
static_assert(MLA_SPARSE_SM90_QUAD_LAG >= 0 && MLA_SPARSE_SM90_QUAD_LAG <= 7, "bit 44's lag: 0..7 boxes");
static_assert(MLA_SPARSE_SM90_PAIR_PROBE >= 0 && MLA_SPARSE_SM90_PAIR_PROBE <= 6, "pair probes 1-6");
// Pair probe 6 (session 19, helper h2, round 3; with bit 25; the output is correct, the build is a diagnostic): bit 25's
// order taken to the end, both rounds' peer copies before any own store, the own copies converted again (holding both
// rounds' converted values spills 40 bytes): how much more of probe 4's 0.076 us the full order takes, net of 320
// more conversion instructions a tile.
static_assert(MLA_SPARSE_SM90_PAIR_PROBE != 6 || (MLA_SPARSE_SM90_MODE & 33554432), "pair probe 6 is bit 25's full order");
static_assert(MLA_SPARSE_SM90_PAIR_PROBE == 0 || ((MLA_SPARSE_SM90_MODE & (8192 | 2147483648)) == (8192 | 2147483648) &&
              !(MLA_SPARSE_SM90_MODE & (2 | 4 | 65536 | 131072 | 134217728 | 268435456 | 1073741824 | 36028797018963968 | 140737488355328))),
              "the pair probes are for the MODEL1 pair's plain loop: with 13 and 31, not with 1, 2, 16, 17, 27, 28, 30, 47, 55");
static_assert(!(kFlatV32 || kFlatM1 || kFlatPairV32 || kFlatPairM1) || ((MLA_SPARSE_SM90_MODE & 524288) && !(MLA_SPARSE_SM90_MODE & (128 | 2097152 | 4194304 | 8388608 | 16777216 |
              65536 | 131072 | 134217728 | 268435456 | 1073741824 | 4294967296 | 137438953472))),
              "bits 57 / 58 / 60 / 61 need 19 and are not for 7, 16, 17, 21-24, 27, 28, 30, 32, 37");
// Bit 23 (the no-conversion probe) may come with 52 since session 16's helper h2: the one-CTA MODEL1 entries ignore it,
// the other six honour it (its probe is of the V3.2 one-CTA entries).
static_assert(!kLineBit || !(MLA_SPARSE_SM90_MODE & (4194304 | 16777216 | 268435456 | 1073741824 | 4294967296 | 137438953472 | 2097152 | 128)),
              "bit 52 is not for 7, 21, 22, 24, 28, 30, 32, 37");
// Session 12, round 4 (the library builds without -ftz or fast math): every exp2f of the softmax is ex2.approx.f32, which
// ptxas expands to FSETP (x < -126?), a predicated FMUL by 0.5, MUFU.EX2 and a predicated squaring FMUL, so that
// results in 2^-149..2^-126 come out subnormal; FlashMLA (fast math) issues the MUFU alone. Bit 45 (35184372088832, every
// entry): the softmax's exponentials (the 32 P values and the two rescale factors a thread a tile, warpgroup 0) as
// ex2.approx.ftz.f32 through ex2s(): 3 x 34 = 102 instructions fewer a warp a tile on warpgroup 0's chain. The only
// numerical change: a P value or factor below 2^-126 (a score more than 126 below its row's running maximum, base 2)
// is 0 instead of subnormal; docs/notes/cuda-sparse-decode.md ("Session 12, round 4") says why that stays below
// the fp32 rounding of the row sums. The epilogue's log2f / expf (once a row) are unchanged.
constexpr bool kEx2Ftz = (MLA_SPARSE_SM90_MODE & 35184372088832) != 0;
#if MLA_SPARSE_SM90_MODE & (4194304 | 8388608 | 16777216)
constexpr bool kNoStore = MLA_SPARSE_SM90_MODE & 4194304, kNoConv = MLA_SPARSE_SM90_MODE & 8388608,
               kNoRemote = MLA_SPARSE_SM90_MODE & 16777216;
static_assert(!(kNoStore && (kNoConv || kNoRemote)), "bit 22 stores nothing: bits 23 and 24 mean nothing with it");
#endif
// mbarrier arrivals: full = the producer threads that write a stage; empty = one a consumer warpgroup (or warp, bit 12),
// of both CTAs in a cluster; remote (cluster only) = this CTA's producer thread 0 with the byte count the peer writes.
constexpr int kFullCount = 128, kEmptyCount = kWarpRelease ? 8 : 2;
// setmaxnreg per warpgroup (producer, consumer 0, consumer 1): 3 x 168 = 504 in all, what the CTA holds.
constexpr int kRegP = 144, kReg0 = 504 - 160 - kRegP, kReg1 = 160;
// Bit 20 (session 9, second round; the pair entries only): the output columns split 192 / 320 between the consumer
// warpgroups instead of 256 / 256, so that warpgroup 0, whose chain (S, softmax, its P V) sets the tile's pace, does a
// quarter less P V and warpgroup 1, idle during S, a quarter more (its 320 columns: an m64n256k16 and an m64n64k16 a
// step). Registers 184 / 192 / 128 (wg0 / wg1 / producer; the pair producer holds half a tile): wg0 spills at 176
// with its 96 accumulators, and the one-CTA producer (a whole tile) at 128, so the one-CTA entries keep 256 / 256.
#if MLA_SPARSE_SM90_MODE & 1048576
constexpr int kRegPS = 128, kReg0S = 184, kReg1S = 192;
static_assert(kRegPS + kReg0S + kReg1S == 504, "the three warpgroups hold what the 384-thread CTA was launched with");
#endif
struct Rows {
  float scale[kBM];  // this tile's O rescale, wg0 -> wg1
  float oScale[kBM]; // the epilogue's output factor, wg0 -> wg1
  int valid[2][kBN]; // per stage: token live
  unsigned long long full[2], empty[2], remote[2];
};
static_assert(Fmt<false>::SMEM + sizeof(Rows) <= 232448 && Fmt<true>::SMEM + sizeof(Rows) <= 232448, "over the 227 KiB a block may opt in to");

__device__ __forceinline__ Rows& rows() {
  __shared__ Rows r;
  return r;
}
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824 | 36028797018963968 | 72057594037927936)
/** Bits 28 / 30 (and 55 / 56, which exclude them): the second half's barriers of each stage (columns 32..63 of each box), a
    variable of their own so that the entries without the bit keep their shared-memory layout (and their machine code). */
struct Rows1 {
  unsigned long long full1[2], remote1[2];
};
__device__ __forceinline__ Rows1& rows1() {
  __shared__ Rows1 r;
  return r;
}
#endif
/** The CTA's attention sinks, heads m0..m0 + 63 (MLA_SPARSE_SM90_SINKS; referenced by Kernel::kSinkS entries only). */
struct RowsS {
  float sink[kBM];
};
__device__ __forceinline__ RowsS& rowsS() {
  __shared__ RowsS r;
  return r;
}
/** MLA_SPARSE_SM90_QE (Kernel::kQp): Q landed (the producer's 128 threads, each after its cp.async), Q free (warpgroup 0's 4 warps
    after an item's last S); a variable of its own, referenced by those entries only. */
struct RowsQ {
  unsigned long long full, free;
};
__device__ __forceinline__ RowsQ& rowsQ() {
  __shared__ RowsQ r;
  return r;
}

/** One request's piece of this part: entries [eBegin, eEnd) of its (main, padded; then extra) list. */
struct Item {
  int eBegin, eEnd, slot, mainLen, mainRegion, extraLen, nTiles;
  bool noSplit;
};
/** The rest of an item once its slot, noSplit and lengths are set: its list's regions and this part's tiles of it. */
__device__ __forceinline__ Item itemSpan(Item it, const SparseMmaParams& p, const int* meta, int batch, int beginReq, int endReq) {
  const int n = max(it.mainLen, 1);
  it.mainRegion = p.extraIndices ? (n + kSparseBlockTopk - 1) / kSparseBlockTopk * kSparseBlockTopk : n;
  const int listLen = it.mainRegion + it.extraLen;
  const int nBlocks = (listLen + kSparseBlockTopk - 1) / kSparseBlockTopk;
  it.eBegin = (batch == beginReq ? meta[kSparseMetaBeginBlockIdx] : 0) * kSparseBlockTopk;
  it.eEnd = min((batch == endReq ? meta[kSparseMetaEndBlockIdx] : nBlocks) * kSparseBlockTopk, listLen);
  it.nTiles = it.eEnd > it.eBegin ? (it.eEnd - it.eBegin + kBN - 1) / kBN : 0;
  return it;
}
__device__ __forceinline__ Item itemOf(const SparseMmaParams& p, const int* meta, int batch, int beginReq, int endReq) {
  Item it;
  it.slot = p.numSplits[batch] + (batch == beginReq ? meta[kSparseMetaBeginSplitIdx] : 0);
  it.noSplit = p.numSplits[batch + 1] - p.numSplits[batch] == 1;
  it.mainLen = p.topkLength ? min(p.topkLength[batch], p.topk) : p.topk;
  it.extraLen = p.extraIndices ? (p.extraTopkLength ? min(p.extraTopkLength[batch], p.extraTopk) : p.extraTopk) : 0;
  return itemSpan(it, p, meta, batch, beginReq, endReq);
}
#ifdef MLA_SM90A_SPARSE
using namespace hop;

// One staged output row to global memory by the bulk-copy unit (MLA_SPARSE_SM90_OW: with an L2 policy for its lines).
__device__ __forceinline__ void outRow(void* dst, uint32_t src, uint32_t bytes) {
#if MLA_SPARSE_SM90_OW == 1
  bulkStoreRowPolicy(dst, src, bytes, evictLastPolicy());
#elif MLA_SPARSE_SM90_OW == 2
  bulkStoreRowPolicy(dst, src, bytes, evictFirstPolicy());
#else
  bulkStoreRow(dst, src, bytes);
#endif
}
/** 2^x for the softmax: exp2f, or with bit 45 the flush-to-zero MUFU alone (2^x below 2^-126 is +0, 2^-inf = +0). */
__device__ __forceinline__ float ex2s(float x) { return exp2Sel<kEx2Ftz>(x); }
// MLA_SPARSE_SM90_STAMP (session 67; measurement only, default 0): one thread of each role stores %clock stamps of each
// item into the item's lse words (head m0 + idx, WRONG lse; the epilogue's own lse stores are skipped), read back by
// bench/cuda/hopper/s67_stamps.ts. Slots: consumers 0-38, the producer 40-63 (that file lists them).
#ifndef MLA_SPARSE_SM90_STAMP
#define MLA_SPARSE_SM90_STAMP 0
#endif
#if MLA_SPARSE_SM90_STAMP
/** Two items' slots (by the request's parity): the stamping threads store here; warp 0 copies an item's 64 to its lse words
    when the item ends (referenced by the MODEL1 pair entries only: the V3.2 entries have no shared memory to spare). */
__device__ __forceinline__ uint32_t stampBase() {
  __shared__ uint32_t buf[2][64];
  return smemAddr(&buf[0][0]);
}
__device__ __forceinline__ void stampAt(int par, int idx, bool timer = false) {
  uint32_t c;
  if (timer) asm volatile("mov.u32 %0, %%globaltimer_lo;" : "=r"(c)::"memory");
  else asm volatile("mov.u32 %0, %%clock;" : "=r"(c)::"memory");
  asm volatile("st.shared.u32 [%0], %1;" ::"r"(stampBase() + 4 * (64 * par + idx)), "r"(c) : "memory");
}
__device__ __forceinline__ void stampFlush(const SparseMmaParams& p, int batch, int j, int m0, int lane) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int idx = lane + 32 * h;
    uint32_t c;
    asm volatile("ld.shared.u32 %0, [%1];" : "=r"(c) : "r"(stampBase() + 4 * (64 * (batch & 1) + idx)) : "memory");
    if (m0 + idx < p.hQ) reinterpret_cast<uint32_t*>(p.lse)[(static_cast<int64_t>(batch) * p.hQ + m0 + idx) * p.sQ + j] = c;
  }
}
#define MLA_STAMP(cond, ...) do { if (cond) stampAt(__VA_ARGS__); } while (0)
#else
#define MLA_STAMP(cond, ...) do { } while (0)
#endif
// Cluster helpers (bit 13; the rank and a peer's shared::cluster address of one of ours are hopper_ops.cuh's clusterRank /
// peerAddr): st.async into the peer
// (its completion counted in bytes on a peer mbarrier), an arrival on a peer mbarrier, the cluster-wide barrier.
__device__ __forceinline__ void stAsync(uint32_t addr, uint4 v, uint32_t bar) {
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.b32 [%0], {%1, %2, %3, %4}, [%5];\n" ::"r"(addr), "r"(v.x), "r"(v.y),
               "r"(v.z), "r"(v.w), "r"(bar) : "memory");
}
__device__ __forceinline__ void stAsync(uint32_t addr, uint32_t v, uint32_t bar) {
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [%0], %1, [%2];\n" ::"r"(addr), "r"(v), "r"(bar) : "memory");
}
__device__ __forceinline__ void mbarArrivePeer(uint32_t clusterAddr) {
  asm volatile("mbarrier.arrive.shared::cluster.b64 _, [%0];\n" ::"r"(clusterAddr) : "memory");
}
#if MLA_SPARSE_SM90_MODE & 4611686018427387904
/** Bit 62: a bulk prefetch of bytes (a multiple of 16, 16-byte aligned) at a global address into L2; nothing waits for it. */
__device__ __forceinline__ void prefetchL2(const void* g, uint32_t bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(reinterpret_cast<uint64_t>(g)), "r"(bytes) : "memory");
}
#endif
#if MLA_SPARSE_SM90_MODE & 8589934592
/** Bit 33: a prefetch of the line holding a global address into L2 (a hint: nothing waits for it, no register takes a value). */
__device__ __forceinline__ void prefetchL2Line(const void* g) {
  asm volatile("prefetch.global.L2 [%0];\n" ::"l"(reinterpret_cast<uint64_t>(g)));
}
#endif
#if MLA_SPARSE_SM90_MODE & (18014398509481984 | 512 | 2048)
/** Bit 54 (and bit 9): x, which the compiler cannot see through (what is computed from it is computed where it is written). */
__device__ __forceinline__ int opaque32(int x) {
  asm volatile("" : "+r"(x));
  return x;
}
/** Bit 54: shared-memory stores and loads of the staged output. */
__device__ __forceinline__ void stShared2f(uint32_t a, float x, float y) { asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n" ::"r"(a), "f"(x), "f"(y) : "memory"); }
__device__ __forceinline__ uint32_t ldShared32(uint32_t a) {
  uint32_t v;
  asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(a) : "memory");
  return v;
}
__device__ __forceinline__ float2 ldShared2f(uint32_t a) {
  float2 v;
  asm volatile("ld.shared.v2.f32 {%0, %1}, [%2];\n" : "=f"(v.x), "=f"(v.y) : "r"(a) : "memory");
  return v;
}
#endif
__device__ __forceinline__ void clusterSync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
/** A consumer's hand-back of stage bar to the producer (bit 12: one arrival a warp, else one a warpgroup); in a
    cluster (peer: the peer CTA's address of bar, else 0) to both CTAs' producers. */
template <bool C2>
__device__ __forceinline__ void releaseStage(uint32_t bar, uint32_t peer, int wt, int lane) {
  if constexpr (kWarpRelease) __syncwarp();
  if (kWarpRelease ? lane == 0 : wt == 0) {
    mbarArrive(bar);
    if constexpr (C2) mbarArrivePeer(peer);
  }
}

/** Entry e of the item's list: the physical token id (-1: invalid) and whether it is in the extra cache. Only the
    index load is issued here; the address is formed a round later (addrOf), so its latency never stalls a round. */
struct Id {
  int phys;
  bool extra;
};
/** Which cache an id may name where it is used: either, chosen per token by Id::extra (Kernel's HX copy); the main cache
    only (the copy for a launch without an extra cache: nothing selects between the caches); the extra cache only (a
    tile of the extra region, Kernel::kTileX). */
enum class Cache { Either, Main, Extra };
template <Cache CX>
__device__ __forceinline__ constexpr bool inExtra(Id x) {
  return CX == Cache::Extra || (CX == Cache::Either && x.extra);
}
/** Whether x names a token of its cache: 0 <= phys < numTokens (extraNumTokens for the extra cache). -1 (invalid) and
    every id outside the cache (an index tensor left on the device is not read back, so nothing bounded it on the host)
    count as invalid here, at the use sites only, where phys >= 0 was tested before, so the index load's latency stays
    off the chain (session 53's compare at the load cost 1-25 %; the pre-pass it replaces, a launch and 2-3 % of these
    kernels' time, session 54). With Cache::Either the count is chosen per token; with Main or Extra it is one compare
    with that cache's count, as the -1 test was. */
template <Cache CX = Cache::Either>
__device__ __forceinline__ bool idLive(const SparseMmaParams& p, Id x) {
  const unsigned u = static_cast<unsigned>(x.phys);
  return inExtra<CX>(x) ? u < static_cast<unsigned>(p.extraNumTokens) : u < static_cast<unsigned>(p.numTokens);
}
/** Cache::Main (a launch without an extra cache): every entry before eEnd is in the main region (eEnd <= mainRegion +
    extraLen, extraLen 0), so no entry is the extra cache's. Cache::Main / Extra for a tile that Kernel::tileExtra placed:
    all its entries are of that region. */
template <Cache CX = Cache::Either>
__device__ __forceinline__ Id idAt(const SparseMmaParams& p, const Item& it, int64_t rowQ, int e) {
  Id x{-1, CX == Cache::Extra};
  if (e >= it.eEnd) return x;
  if (CX == Cache::Main || (CX == Cache::Either && e < it.mainRegion)) {
    if (e < it.mainLen) x.phys = p.indices[rowQ * p.topk + e];
  } else {
    x.extra = true;
    const int i = e - it.mainRegion;
    if (i < it.extraLen) x.phys = p.extraIndices[rowQ * p.extraTopk + i];
  }
  return x;
}
/** A token's row (null: invalid entry, nothing is read) and, for MODEL1, its 8-byte scale row (slot s of a block:
    block + B * 576 + 8 s). V3.2's four f32 scales sit in the row, at byte 512. */
struct Addr {
  const unsigned char* tok;
  const unsigned char* scl;
};
template <bool M1, bool U32 = false, Cache CX = Cache::Either>
__device__ __forceinline__ Addr addrOf(const SparseMmaParams& p, Id x) {
  if (!idLive<CX>(p, x)) return Addr{nullptr, nullptr};
  const bool ex = inExtra<CX>(x);
  const int B = ex ? p.extraPageBlockSize : p.pageBlockSize;
  if constexpr (U32) { // bits 48 / 51: the id is >= 0 here, so the same quotient and slot as unsigned 32-bit values
#if MLA_SPARSE_SM90_DIVP
    // idLive held, so 0 <= id < 2^31: pageBlockDivisor's quotient is exact there
    const uint32_t ub = static_cast<uint32_t>(B), ux = static_cast<uint32_t>(x.phys);
    const uint32_t blk = __umulhi(ux << 1, static_cast<uint32_t>(ex ? p.extraPageBlockMagic : p.pageBlockMagic)) >>
                         static_cast<uint32_t>(ex ? p.extraPageBlockShift : p.pageBlockShift);
    const uint32_t slot = ux - blk * ub;
#else
    const uint32_t ub = static_cast<uint32_t>(B), ux = static_cast<uint32_t>(x.phys), blk = ux / ub, slot = ux - blk * ub;
#endif
    const unsigned char* base = (ex ? p.extraKCache : p.kCache) + static_cast<int64_t>(blk) * (ex ? p.extraBlockStride : p.blockStride);
    return Addr{base + slot * static_cast<uint32_t>(Fmt<M1>::kRaw), M1 ? base + (ub * 576u + slot * 8u) : nullptr};
  }
  const int blk = x.phys / B, slot = x.phys - blk * B;
  const unsigned char* base = (ex ? p.extraKCache : p.kCache) + static_cast<int64_t>(blk) * (ex ? p.extraBlockStride : p.blockStride);
  const unsigned char* tok = base + static_cast<int64_t>(slot) * Fmt<M1>::kRaw;
  return Addr{tok, M1 ? base + static_cast<int64_t>(B) * 576 + slot * 8 : nullptr};
}
/** Bit 6: the magic numbers of the two page block sizes (m, s: main cache; mx, sx: extra cache). */
struct DivM {
  uint32_t m, s, mx, sx;
};
#if MLA_SPARSE_SM90_MODE & 64
/** Bit 6: s = ceil(log2 b), m = ceil(2^(31 + s) / b) (b = 1: s 0, m 2^31; b = 0, an absent cache: m 0, never used). */
__device__ __forceinline__ void divMagic(uint32_t b, uint32_t& m, uint32_t& s) {
  s = b > 1u ? 32u - static_cast<uint32_t>(__clz(b - 1u)) : 0u;
  m = b ? static_cast<uint32_t>(((1ull << (31u + s)) + b - 1u) / b) : 0u;
}
/** Bit 6: addrOf<M1, true>'s row and scale row, the quotient by divMagic's numbers. */
template <bool M1, Cache CX = Cache::Either>
__device__ __forceinline__ Addr addrOfM(const SparseMmaParams& p, Id x, const DivM& dm) {
  if (!idLive<CX>(p, x)) return Addr{nullptr, nullptr};
  const bool ex = inExtra<CX>(x);
  const uint32_t ub = static_cast<uint32_t>(ex ? p.extraPageBlockSize : p.pageBlockSize), ux = static_cast<uint32_t>(x.phys);
  const uint32_t blk = __umulhi(ux << 1, ex ? dm.mx : dm.m) >> (ex ? dm.sx : dm.s), slot = ux - blk * ub;
  const unsigned char* base = (ex ? p.extraKCache : p.kCache) + static_cast<int64_t>(blk) * (ex ? p.extraBlockStride : p.blockStride);
  return Addr{base + slot * static_cast<uint32_t>(Fmt<M1>::kRaw), M1 ? base + (ub * 576u + slot * 8u) : nullptr};
}
#endif
#if MLA_SPARSE_SM90_MODE & 17592186044416
/** Bit 44: what an invalid entry reads: a zero token row (576 bytes) and a scale row of bytes 127 (factor 1) at byte 576
    (initialized data: the module image holds the bytes, not a zero-filled section). */
__device__ const uint4 kQuadZero[37] = {{0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                        {0x7f7f7f7fu, 0x7f7f7f7fu, 0u, 0u}};
#endif
#if MLA_SPARSE_SM90_MODE & 1024
/** Bit 10: what an invalid V3.2 entry reads: a zero token row (656 bytes) whose four f32 scales (byte 512) are 1. */
__device__ const uint4 kQuadZeroV[41] = {{0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0x3f800000u, 0x3f800000u, 0x3f800000u, 0x3f800000u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u},
                                         {0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u}};
#endif
/** A UE8M0 scale byte as a float: 2^(b - 127); 0 is 2^-127 (a subnormal), 255 is NaN. */
__device__ __forceinline__ float ue8m0(uint32_t b) {
  return b == 255u ? __int_as_float(0x7fc00000) : b == 0u ? __uint_as_float(0x00400000u) : __uint_as_float(b << 23);
}
#if MLA_SPARSE_SM90_MODE & 576460752303423488
/** Bit 59: FlashMLA's hinted read-only loads (16 bytes with a 256- or 128-byte L2 fetch; 4 bytes with 128). */
__device__ __forceinline__ uint4 ldHint256(const void* a) {
  uint4 v;
  asm volatile("ld.global.nc.L1::evict_last.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(a));
  return v;
}
__device__ __forceinline__ uint4 ldHint128(const void* a) {
  uint4 v;
  asm volatile("ld.global.nc.L1::evict_last.L2::128B.v4.u32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(a));
  return v;
}
__device__ __forceinline__ float ldHint128f(const void* a) {
  float v;
  asm volatile("ld.global.nc.L1::evict_last.L2::128B.f32 %0, [%1];\n" : "=f"(v) : "l"(a));
  return v;
}
#endif
/** Four e4m3 (little-endian) times s -> four bf16 (exact for a power-of-two s). */
__device__ __forceinline__ uint2 dq4(uint32_t w, float s) {
  uint32_t h01, h23;
  asm("{\n .reg .b16 lo, hi;\n mov.b32 {lo, hi}, %2;\n cvt.rn.f16x2.e4m3x2 %0, lo;\n cvt.rn.f16x2.e4m3x2 %1, hi;\n}\n" : "=r"(h01), "=r"(h23) : "r"(w));
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&h01)), b = __half22float2(*reinterpret_cast<const __half2*>(&h23));
  const __nv_bfloat162 x = __floats2bfloat162_rn(a.x * s, a.y * s), y = __floats2bfloat162_rn(b.x * s, b.y * s);
  return make_uint2(*reinterpret_cast<const uint32_t*>(&x), *reinterpret_cast<const uint32_t*>(&y));
}

#if MLA_SPARSE_SM90_MODE & 16
/** Bit 4: four e4m3 (little-endian) -> four bf16 times 2^(s - 7), f2 that factor twice as bf16 (s <= 134), by bit operations:
    prmt gives each half 0xSSbb (byte b, its sign replicated above it), << 4 and the mask leave the sign at bit 15 and b's
    7 low bits at 10..4: b's value x 2^-120 as a bf16 (its subnormals too); the multiply by 2^(s - 7) rounds once. */
__device__ __forceinline__ uint2 dq4x(uint32_t w, uint32_t f2) {
  uint32_t t01, t23, r01, r23;
  asm("prmt.b32 %0, %1, 0, 0x9180;\n" : "=r"(t01) : "r"(w));
  asm("prmt.b32 %0, %1, 0, 0xB3A2;\n" : "=r"(t23) : "r"(w));
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(r01) : "r"((t01 << 4) & 0x87f087f0u), "r"(f2));
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(r23) : "r"((t23 << 4) & 0x87f087f0u), "r"(f2));
  return make_uint2(r01, r23);
}
#endif
#if MLA_SPARSE_SM90_MODE & 524288
/** dq4 with the scale applied in bf16x2 (bit 19): s2 is the scale twice as bf16. */
__device__ __forceinline__ uint2 dq4b(uint32_t w, uint32_t s2) {
  uint32_t h01, h23;
  asm("{\n .reg .b16 lo, hi;\n mov.b32 {lo, hi}, %2;\n cvt.rn.f16x2.e4m3x2 %0, lo;\n cvt.rn.f16x2.e4m3x2 %1, hi;\n}\n" : "=r"(h01), "=r"(h23) : "r"(w));
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&h01)), b = __half22float2(*reinterpret_cast<const __half2*>(&h23));
  const __nv_bfloat162 x = __floats2bfloat162_rn(a.x, a.y), y = __floats2bfloat162_rn(b.x, b.y);
  uint32_t rx, ry;
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(rx) : "r"(*reinterpret_cast<const uint32_t*>(&x)), "r"(s2));
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(ry) : "r"(*reinterpret_cast<const uint32_t*>(&y)), "r"(s2));
  return make_uint2(rx, ry);
}
#endif
#if MLA_SPARSE_SM90_MODE & 262144
/** stmatrix .x4 (bit 18): lanes 8m..8m+7 give the row addresses of matrix m; r[m] is this lane's pair of matrix m. */
__device__ __forceinline__ void stMatrix4(uint32_t addr, const uint32_t (&r)[4]) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]) : "memory");
}
#endif
#if MLA_SPARSE_SM90_MODE & 1048576
// Bit 20: the P V wgmmas of the 192 / 320 column split: warpgroup 0's m64n192k16 with P from registers, and warpgroup
// 1's last 64 columns, m64n64k16 with both operands from shared memory and B (V) MN-major.
__device__ __forceinline__ void rs192(float (&d)[96], const uint32_t (&a)[4], uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %101, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n192k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95}, {%96,%97,%98,%99}, %100, p, 1, 1, 1;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}
__device__ __forceinline__ void ss64t(float (&d)[32], uint64_t da, uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, 0, 1;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
               : "l"(da), "l"(db), "r"(1));
}
#endif

#if MLA_SSP_TOK
/** Shared-memory matrix descriptor without swizzle (layout type 0; bits 31 / 32): core matrices of 8 rows x 16 bytes. */
__device__ __forceinline__ uint64_t descInter(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(lbo >> 4) << 16) | (static_cast<uint64_t>(sbo >> 4) << 32);
}
#endif

// SP: P as one bf16 before P V (FlashMLA's rounding, a weight off by up to 2^-8 of itself; the _sp entries, the
// library's default precision 'fast'); otherwise as hi + lo bf16 parts, exact to 2^-16 (precision 'exact').
template <bool M1, bool C2, bool SP, bool HX = true>
struct Kernel {
  using F = Fmt<M1>;
  /** Where this copy's ids may point: either cache, chosen a token (HX), or the main cache only. */
  static constexpr Cache kCX = HX ? Cache::Either : Cache::Main;
  /** MLA_SPARSE_SM90_TILEX: the cache chosen once a tile (withTileCache, tileId) in the one-CTA MODEL1 '_sp' entry, the
      one FlashMLA's 64-head shapes run. The branch at each load site spills 4 bytes in the exact-P entry (two P terms
      hold more registers) and in a MODEL1 pair entry; the tile body as three loops (main / boundary / extra) spilled 40
      bytes in the pair entries. */
  static constexpr bool kTileX = HX && M1 && !C2 && SP && MLA_SPARSE_SM90_TILEX;
  static_assert(kBN == kSparseBlockTopk, "a tile is one 64-entry block of the list: with an extra cache none straddles mainRegion");
  /** Whether tile t of item it lies in the extra region: with an extra cache mainRegion (itemOf) and eBegin are multiples
      of kSparseBlockTopk, so a tile's entries are all main or all extra. (Without one every entry is main; entries at
      or past mainRegion = max(mainLen, 1) are -1 either way.) */
  static __device__ __forceinline__ bool tileExtra(const Item& it, int t) { return it.eBegin + t * kBN >= it.mainRegion; }
  template <Cache CX>
  struct CacheTag {
    static constexpr Cache value = CX;
  };
  /** fn(CacheTag<...>{}) with tile t's cache (kTileX: one uniform branch, fn's body in two copies, each reading one
      cache's base, stride, page size, division constants and token count from the parameters), else with kCX. */
  template <typename Fn>
  static __device__ __forceinline__ void withTileCache(const Item& it, int t, Fn&& fn) {
    if constexpr (kTileX) {
      if (tileExtra(it, t)) fn(CacheTag<Cache::Extra>{});
      else fn(CacheTag<Cache::Main>{});
    } else {
      fn(CacheTag<kCX>{});
    }
  }
  /** The id of entry e of tile t (t < nTiles): from the tile's cache's index row (kTileX), else idAt<kCX>. */
  static __device__ __forceinline__ Id tileId(const SparseMmaParams& p, const Item& it, int64_t rowQ, int t, int e) {
    if constexpr (kTileX) return tileExtra(it, t) ? idAt<Cache::Extra>(p, it, rowQ, e) : idAt<Cache::Main>(p, it, rowQ, e);
    else return idAt<kCX>(p, it, rowQ, e);
  }
  static constexpr bool kSP = SP || kSingleP;
  /** Bit 52: the line-coalesced gather (one-CTA MODEL1 entries). */
  static constexpr bool kLine = kLineBit && M1 && !C2;
  /** Bits 57 / 58: the straight-line store phase (one-CTA V3.2 / MODEL1 entries). */
  static constexpr bool kFlat = C2 ? (M1 ? kFlatPairM1 : kFlatPairV32) : (M1 ? kFlatM1 : kFlatV32);
  /** Bit 59: FlashMLA's cache hints on the gather (one-CTA V3.2 entries). */
  static constexpr bool kHint = kHintBit && !M1 && !C2;
  /** Bits 48 / 50: the unsigned 32-bit row address; the tile's flags by producer warp 0 after the rounds (one-CTA V3.2). */
  static constexpr bool kAddr32 = (kAddr32Bit && !M1 && !C2) || (kAddr32M1PairBit && M1 && C2) || (kAddr32RestBit && M1 != C2),
                        kWarpFlags = kWarpFlagsBit && !M1 && !C2;
  /** Bit 47 (probe): the consumers only wait for each tile and hand it back (MODEL1 pair entries). */
  static constexpr bool kProdAlone = kProdAloneBit && M1 && C2;
  /** MLA_SPARSE_SM90_PAIR_PROBE (diagnostic; MODEL1 pair entries): 1 no P V, 2 no S, 3 no peer release, 4 the peer's bytes
      waited for after the math, 5 the consumers alone. */
  static constexpr int kPairProbe = M1 && C2 ? MLA_SPARSE_SM90_PAIR_PROBE : 0;
  /** Bit 25: the MODEL1 pair producer sends round 0 to the peer before any own store, its own copy of round 0 last. */
  static constexpr bool kPeerFirst = kPeerFirstBit && M1 && C2;
  /** Bit 4: the conversions by bit operations (dq4x) in bit 25's store order (MODEL1 pair entries). */
  static constexpr bool kCvtBits = kCvtBitsBit && M1 && C2;
  /** Bit 6: addrOf's division by a magic-number multiply and idAt as one selected load (MODEL1 pair entries). */
  static constexpr bool kDivMagic = kDivMagicBit && M1 && C2;
  /** Bit 44: FlashMLA's producer map, four lanes a token, one round a tile (MODEL1 pair entries). */
  static constexpr bool kQuad = kQuadBit && M1 && C2;
  /** Bit 10: bit 44's map, with bit 56's halves kept, in the V3.2 pair entries. */
  static constexpr bool kQuadV = kQuadVBit && !M1 && C2;
  static constexpr bool kNoS = kNoMath || kPairProbe == 2, kNoPV = kNoMath || kPairProbe == 1, kPeerRelease = C2 && kPairProbe != 3;
  /** Bit 62: the next item's Q prefetched into L2 by the producer (pair entries). */
  static constexpr bool kQEarly = kQEarlyBit && C2;
  /** Bit 33: the next item's schedule words and first indices prefetched into L2 at an item's start (pair entries). */
  static constexpr bool kPrefNext = kPrefNextBit && C2 && !(kPrefNextV32Only && M1);
  /** Bit 53: the bf16 output staged in shared memory and stored by bulk copies (MODEL1 pair entries; bit 9: the one-CTA
      MODEL1 entries). */
  static constexpr bool kBulkO = kBulkOBit && C2 && M1; // the V3.2 pair `_sp` entry spills 16 bytes with it
  /** MLA_SPARSE_SM90_QE (session 67), with bit 53: the producer warpgroup loads every item's Q (cp.async from its 128
      threads, issued with the item's tile-0 loads in flight once warpgroup 0's last S of the item before is done:
      rowsQ().free, one arrival a warp; waited for after tile 0's stores, announced on rowsQ().full), and the epilogue
      stages the output in the item's last stage, held until the bulk copies have read it, instead of in the Q region;
      the consumers' item boundary loses its 64 KiB load of Q (2.2 us at top-k 512 on an H100, session 67's stamps). */
  static constexpr bool kQp = MLA_SPARSE_SM90_QE && kBulkO;
  /** MLA_SPARSE_SM90_SINKS: the sinks from shared memory (the pair entries; the one-CTA MODEL1 '_sp' entry spills 4 bytes
      with it). */
  static constexpr bool kSinkS = MLA_SPARSE_SM90_SINKS && (C2 || !M1);
  /** Bits 9 / 11: bit 53's staged output in the one-CTA MODEL1 / V3.2 entries (32-bit shared stores, row addresses formed
      in place). */
  static constexpr bool kBulkO1 = (M1 ? kBulkOOneBit : kBulkOV32OneBit) && !C2;
  /** Bit 54: the V3.2 pair entries' staged output (warpgroup 1 only stages; warpgroup 0 issues the global side). */
  static constexpr bool kBulkV = kBulkVBit && C2 && !M1;
  /** Bits 55 / 56: the stage written and handed over in two halves of S's contraction (the MODEL1 / V3.2 pair entries). */
  static constexpr bool kHalf = C2 && (M1 ? kHalfBit : kHalfV32Bit);
  /** Bits 41 / 42 (probes, MODEL1 pair entries): the gather in bit 55's half order; S waits for both halves. */
  static constexpr bool kHalfLoad = kHalf && M1 && kHalfLoadBit && !kNoLoad, kHalfWait = kHalf && M1 && kHalfWaitBit;
  /** Bits 55 / 56: the peer's bytes of the second half (chunks 4..7 of the NoPE boxes, RoPE chunks 4..7); the first half's
      are the rest (with the peer's validity flags where it sends them: MODEL1). */
  static constexpr uint32_t kPeerH1 = 32 * (F::kNope * 64 + 64);
#if MLA_SPARSE_SM90_MODE & (9007199254740992 | 512 | 2048)
  /** Bit 53 (and bit 9): where this warpgroup's 512 output bytes of row r are staged: rows 528 bytes apart (consecutive rows 16 bytes
      apart modulo 128: every warp store conflict-free), warpgroup 0's 64 rows and warpgroup 1's rows 0..59 in the Q region
      (64 KiB, MODEL1's size), warpgroup 1's rows 60..63 in the P box (free after the item's last P V), 64 bytes in. */
  template <int W>
  static __device__ __forceinline__ uint32_t stageRowW(uint32_t qBase, uint32_t pBase, int r) {
    if constexpr (W == 0) return qBase + r * 528;
    else return r < 60 ? qBase + (64 + r) * 528 : pBase + 64 + (r - 60) * 528;
  }
#endif
  static constexpr int kNB = F::kNB, kNope = F::kNope, kTile = F::kTile, kQ_OFF = F::kQ_OFF, kK_OFF = F::kK_OFF, kP_OFF = F::kP_OFF;
  /** Rounds of 16 tokens this CTA's producer dequantizes a tile (a cluster: rounds 2 rank, 2 rank + 1). */
  static constexpr int kRounds = C2 ? 2 : 4;
  /** Bytes the peer's producer writes into one of our stages (cluster): 32 tokens x (kNope NoPE chunks of 128 bytes
      per lane group, 8 RoPE chunks of 16 bytes, one 4-byte validity flag). */
#if MLA_SPARSE_SM90_MODE & (4194304 | 16777216)
  static constexpr uint32_t kPeerBytes = kNoStore ? 0u : kNoRemote ? 32u * 4u : 32 * (kNope * 128 + 128 + 4);
#elif MLA_SPARSE_SM90_MODE & (34359738368 | 274877906944)
  /** Bits 35 / 38: this pair CTA's producer writes all 64 validity flags of its stage (38: the V3.2 entry only). */
  static constexpr bool kOwnFlags = C2 && ((MLA_SPARSE_SM90_MODE & 34359738368) || !M1);
  static constexpr uint32_t kPeerBytes = 32 * (kNope * 128 + 128 + (kOwnFlags ? 0 : 4)); // no validity flag from the peer
#else
  static constexpr uint32_t kPeerBytes = 32 * (kNope * 128 + 128 + 4);
#endif
  static constexpr uint32_t kPeerH0 = kPeerBytes - kPeerH1;
  static_assert(!kHalf || kPeerH0 == 32 * (F::kNope * 64 + 64 + (M1 ? 4 : 0)), "bits 55 / 56: the first half is the rest of the peer share");
  static constexpr int kEmpty = kEmptyCount * (kPeerRelease ? 2 : 1);
#if MLA_SSP_TOK
  /** Bits 31 / 32: this entry's key tile is token-contiguous (see the bits). */
  static constexpr bool kTok = C2 ? kTokPair : kTokOne;
  /** A 16-byte chunk's address in a token-contiguous key tile kt: row r (token), box, chunk ch (8 columns) of the box. */
  static __device__ __forceinline__ uint32_t keyAt(uint32_t kt, int box, int ch, int r) { return kt + box * kBox + ch * 1024 + r * 16; }
#endif
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
  /** Bits 28 / 30: this entry writes its stages half by half (kGrp), handed over half by half (kSplit, not bit 29);
      the peer's bytes of each half: 32 tokens x (kNope boxes x 64 bytes + 4 RoPE chunks of 16 bytes), the validity
      flags (4 bytes a token) with the first half. */
  static constexpr bool kGrp = C2 ? kGrpPair : kGrpOne, kSplit = kGrp && !kOneHandOff;
  static constexpr uint32_t kPeerBytes0 = 32 * (kNope * 64 + 64 + 4), kPeerBytes1 = 32 * (kNope * 64 + 64);
  static_assert(kPeerBytes0 + kPeerBytes1 == 32 * (kNope * 128 + 128 + 4), "the two halves are the whole peer share");
#endif
  static __device__ __forceinline__ uint32_t smemBase() {
    extern __shared__ unsigned char smemRaw[];
    return (smemAddr(smemRaw) + 1023) & ~1023u;
  }

  // ---- producer: warpgroup 2 ----
  // Whole-tile producer: thread (k = pt % 8, token pt / 8 of each 16-token round) holds its share of all four rounds
  // of a tile in registers (NoPE columns 64k..64k+63: box k, one scale; RoPE chunk k), 88 registers. The loads of tile
  // t + 1 are issued as soon as tile t is stored, so they are in flight while the consumers work (a whole tile of
  // latency hiding); the ids of tile t + 2 are loaded then too. Lane k visits its four 16-byte NoPE chunks starting at
  // k / 2, so the eight lanes of a token row store to four bank groups, two lanes each: two wavefronts a quarter warp
  // (bit 21 / 26, the pair entries since session 10, gives a quarter two tokens and eight distinct groups).
  struct TileRegs {
    uint4 nope[kRounds][4]; // [round][slot]: slot c holds chunk (c + k / 2) % 4 of the lane's 64 bytes
    float sc[kRounds];     // V3.2: the f32 scale; MODEL1: the aligned 4-byte word of the scale row holding byte k (as bits),
                           // decoded where it is used: an instruction on a loaded register right after its load (a u8
                           // load's zero-extension was one) waits for the load, outside the consumers' time
    uint4 rope[kRounds];
    bool live[kRounds];
    uint2 sc8[kRounds];    // bit 52: the MODEL1 scale row (bytes 0..6 = boxes 0..6)
  };
  /** Where a cluster producer's stores go besides its own stage: the peer's shared::cluster addresses are ours plus
      delta (key tiles) and vDelta (validity flags); bar is the peer's `remote` mbarrier of the stage. */
  struct Peer {
    uint32_t delta, vDelta, bar;
  };
  /** Dest (bit 25): 0 both copies, 1 the peer's copy only, 2 / 3 this CTA's only. */
  template <int Dest = 0>
  static __device__ __forceinline__ void put(uint32_t addr, uint4 v, const Peer& pe) {
#if MLA_SPARSE_SM90_MODE & 33554432
    if constexpr (Dest == 1) {
      stAsync(addr + pe.delta, v, pe.bar);
      return;
    } else if constexpr (Dest >= 2) {
      stShared(addr, v);
      return;
    }
#endif
#if MLA_SPARSE_SM90_MODE & (4194304 | 16777216)
    if constexpr (kNoStore) {
      asm volatile("" ::"r"(addr), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)); // computed, not stored (bit 22)
      return;
    }
    stShared(addr, v);
    if constexpr (C2 && !kNoRemote) stAsync(addr + pe.delta, v, pe.bar);
#else
    stShared(addr, v);
    if constexpr (C2) stAsync(addr + pe.delta, v, pe.bar);
#endif
  }
  /** Round rnd of a tile into d: the lane's NoPE share of token id, its scale, its RoPE chunk; an invalid id reads nothing. */
  template <Cache CX = kCX>
  static __device__ __forceinline__ void loadRound(const SparseMmaParams& p, TileRegs& d, Id id, int rnd, int k, int rot, const DivM& dm = DivM{}) {
#if MLA_SPARSE_SM90_MODE & 64
    const Addr a = kDivMagic ? addrOfM<M1, CX>(p, id, dm) : addrOf<M1, kAddr32, CX>(p, id);
#else
    const Addr a = addrOf<M1, kAddr32, CX>(p, id);
#endif
    const unsigned char* tok = a.tok;
    d.live[rnd] = tok != nullptr;
    if (!tok) return;
    if constexpr (kNoLoad) {
#pragma unroll
      for (int c = 0; c < 4; ++c) d.nope[rnd][c] = make_uint4(k, k, k, k);
      d.sc[rnd] = M1 ? __uint_as_float(0x7f7f7f7fu) : 1.f; // scale 1
      d.rope[rnd] = make_uint4(k, k, k, k);
    } else if constexpr (kLine) { // bit 52: load c = bytes 128c + 16k..+15 (none past byte 448)
#pragma unroll
      for (int c = 0; c < 4; ++c)
        if (c < 3 || k < 4) d.nope[rnd][c] = __ldg(reinterpret_cast<const uint4*>(tok + 128 * c + 16 * k));
      d.sc8[rnd] = __ldg(reinterpret_cast<const uint2*>(a.scl));
      d.rope[rnd] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + k);
    } else {
      if (k < kNope) { // MODEL1: lane 7 of a token has no NoPE box
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
        if constexpr (kGrp) { // slot c: chunk c ^ rot (rot = bit 1 of the box here), stored in slot order
#pragma unroll
          for (int c = 0; c < 4; ++c) d.nope[rnd][c] = __ldg(reinterpret_cast<const uint4*>(tok + 64 * k) + (c ^ rot));
        } else {
#pragma unroll
          for (int c = 0; c < 4; ++c) d.nope[rnd][c] = __ldg(reinterpret_cast<const uint4*>(tok + 64 * k) + ((c + rot) & 3));
        }
#else
#if MLA_SPARSE_SM90_MODE & 576460752303423488
        if constexpr (kHint) { // bit 59: FlashMLA's hints, same addresses (scale and RoPE below)
#pragma unroll
          for (int c = 0; c < 4; ++c) d.nope[rnd][c] = ldHint256(reinterpret_cast<const uint4*>(tok + 64 * k) + ((c + rot) & 3));
        } else
#endif
#pragma unroll
        for (int c = 0; c < 4; ++c) d.nope[rnd][c] = __ldg(reinterpret_cast<const uint4*>(tok + 64 * k) + ((c + rot) & 3));
#endif
        if constexpr (M1 && kScaleAtLoad) d.sc[rnd] = ue8m0(__ldg(a.scl + k));
        else if constexpr (M1) d.sc[rnd] = __ldg(reinterpret_cast<const float*>(a.scl + (k & 4)));
#if MLA_SPARSE_SM90_MODE & 576460752303423488
        else if constexpr (kHint) d.sc[rnd] = ldHint128f(reinterpret_cast<const float*>(tok + 512) + (k >> 1));
#endif
        else d.sc[rnd] = __ldg(reinterpret_cast<const float*>(tok + 512) + (k >> 1));
      }
#if MLA_SPARSE_SM90_MODE & 576460752303423488
      if constexpr (kHint) d.rope[rnd] = ldHint128(reinterpret_cast<const uint4*>(tok + F::kRope) + k);
      else
#endif
      d.rope[rnd] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + k);
    }
  }
#if MLA_SPARSE_SM90_MODE & 2199023255552
  /** Bit 41 (MODEL1 pair entries, bit 55's token-contiguous tile, rot 0): half h of round rnd's loads: slots 2h, 2h + 1,
      the scale word (h 0) and the RoPE chunk if k / 4 == h; loadRound's addresses (a: addrOf, computed once a round). */
  template <int H>
  static __device__ __forceinline__ void loadRoundHalf(TileRegs& d, const Addr& a, int rnd, int k) {
    static_assert(M1 && !kScaleAtLoad, "bit 41: the MODEL1 scale word");
    const unsigned char* tok = a.tok;
    if (H == 0) d.live[rnd] = tok != nullptr;
    if (!tok) return;
    if (k < kNope) {
#pragma unroll
      for (int c = 2 * H; c < 2 * H + 2; ++c) d.nope[rnd][c] = __ldg(reinterpret_cast<const uint4*>(tok + 64 * k) + c);
      if (H == 0) d.sc[rnd] = __ldg(reinterpret_cast<const float*>(a.scl + (k & 4)));
    }
    if ((k >> 2) == H) d.rope[rnd] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + k);
  }
#endif
  /** Round rnd of d, dequantized, into key tile kt (stage st): 16 tokens, rows 16 (r0 + rnd).., and their validity
      flags; in a cluster into the peer's stage too. */
  /** Flat (bits 57 / 58, kFlat entries only): no per-chunk test; V3.2's scales known to be bf16 (the caller's vote).
      Half (bit 55, token-contiguous tile only): 0 = chunks 0..3 of the box, the RoPE chunk if k < 4 and the validity flag;
      1 = chunks 4..7 and the RoPE chunk if k >= 4; -1 = all of them. */
  template <bool Flat = false, int Half = -1, int Dest = 0, bool Bits = false>
  static __device__ __forceinline__ void storeRound(const TileRegs& d, uint32_t kt, uint32_t st, int rnd, int r0, int k, int rot, int tokInRound,
                                                    const Peer& pe, uint4* cv = nullptr) {
#if MLA_SSP_TOK
    static_assert(Half < 0 || (kTok && !kLine), "bit 55's halves are of the token-contiguous tile");
#else
    static_assert(Half < 0, "bit 55's halves are of the token-contiguous tile");
#endif
    const int r = (r0 + rnd) * 16 + tokInRound;
    const uint32_t row = kt + k * kBox + r * 128;
    if constexpr (kLine) { // bit 52: 16 values at columns 128c + 16k: chunks 2 (k % 4), + 1 of box 2c + k / 4
      const bool odd = k >= 4;
      const int ch = 2 * (k & 3);
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        if (c == 3 && odd) continue;
        uint4 lo = make_uint4(0, 0, 0, 0), hi = lo;
        if (Flat || d.live[rnd]) {
          const bool z = Flat && !d.live[rnd]; // Flat: an invalid token's bytes (never loaded) converted as zeros, scale 1
          const uint4 w = z ? make_uint4(0, 0, 0, 0) : d.nope[rnd][c];
          const uint32_t word = z ? 0x7f7f7f7fu : c < 2 ? d.sc8[rnd].x : d.sc8[rnd].y;
          const float sc = ue8m0((word >> (8 * ((2 * c) & 3) + 8 * (k >> 2))) & 255u);
          const uint32_t s2 = (__float_as_uint(sc) >> 16) * 0x10001u;
          const uint2 a = dq4b(w.x, s2), b = dq4b(w.y, s2), e = dq4b(w.z, s2), f = dq4b(w.w, s2);
          lo = make_uint4(a.x, a.y, b.x, b.y);
          hi = make_uint4(e.x, e.y, f.x, f.y);
        }
        const uint32_t rowb = kt + (2 * c + (k >> 2)) * kBox + r * 128;
        put(rowb + (((odd ? ch + 1 : ch) ^ (r & 7)) << 4), odd ? hi : lo, pe);
        put(rowb + (((odd ? ch : ch + 1) ^ (r & 7)) << 4), odd ? lo : hi, pe);
      }
    } else
    if (k < kNope) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        if (Half >= 0 && (c >> 1) != Half) continue; // bit 55 (rot is 0 on the token-contiguous tile: slot c = chunks 2c, 2c + 1)
        const int ch = 2 * ((c + rot) & 3); // 16 values at columns 64k + 8ch: chunks ch, ch + 1 of box k
        uint4 lo = make_uint4(0, 0, 0, 0), hi = lo;
#if MLA_SPARSE_SM90_MODE & 33554432
        if constexpr (Dest == 2) { // bit 25: the values the peer pass converted (cv: 8 chunks a round, in registers; 3: converted again)
          lo = cv[2 * c];
          hi = cv[2 * c + 1];
        } else
#endif
#if MLA_SPARSE_SM90_MODE & 8388608
        if (kNoConv && d.live[rnd]) { // bit 23: the raw words, no conversion
          lo = d.nope[rnd][c];
          hi = make_uint4(lo.y, lo.z, lo.w, lo.x);
        } else
#endif
        if (Flat || d.live[rnd]) {
          const bool z = Flat && !d.live[rnd]; // Flat: an invalid token's bytes (never loaded) converted as zeros, scale 1
          const uint4 w = z ? make_uint4(0, 0, 0, 0) : d.nope[rnd][c];
          const float sc = z ? 1.f : M1 && !kScaleAtLoad ? ue8m0((__float_as_uint(d.sc[rnd]) >> (8 * (k & 3))) & 255u) : d.sc[rnd];
#if MLA_SPARSE_SM90_MODE & 524288
          // bf16x2 scaling is exact when the scale is a bf16 (UE8M0 always is; a V3.2 f32 scale is when its low 16
          // bits are 0, as FlashMLA's quantizer's powers of two are); any other f32 scale takes the f32 multiplies.
          uint2 a, b, e, f;
#if MLA_SPARSE_SM90_MODE & 16
          if constexpr (Bits) { // bit 4: the caller's vote found every live scale byte of the warp <= 134
            const uint32_t f2 = ((((__float_as_uint(d.sc[rnd]) >> (8 * (k & 3))) & 255u) + 120u) << 7) * 0x10001u;
            a = dq4x(w.x, f2), b = dq4x(w.y, f2), e = dq4x(w.z, f2), f = dq4x(w.w, f2);
          } else
#endif
          if (M1 || Flat || (__float_as_uint(sc) & 0xffffu) == 0u) {
            const uint32_t s2 = (__float_as_uint(sc) >> 16) * 0x10001u;
            a = dq4b(w.x, s2), b = dq4b(w.y, s2), e = dq4b(w.z, s2), f = dq4b(w.w, s2);
          } else {
            a = dq4(w.x, sc), b = dq4(w.y, sc), e = dq4(w.z, sc), f = dq4(w.w, sc);
          }
#else
          const uint2 a = dq4(w.x, sc), b = dq4(w.y, sc), e = dq4(w.z, sc), f = dq4(w.w, sc);
#endif
          lo = make_uint4(a.x, a.y, b.x, b.y);
          hi = make_uint4(e.x, e.y, f.x, f.y);
        }
#if MLA_SPARSE_SM90_MODE & 33554432
        if constexpr (Dest == 1) {
          if (cv) cv[2 * c] = lo, cv[2 * c + 1] = hi; // kept for this CTA's pass (pair probe 6: not kept)
        }
#endif
#if MLA_SSP_TOK
        if constexpr (kTok) {
          put<Dest>(keyAt(kt, k, ch, r), lo, pe);
          put<Dest>(keyAt(kt, k, ch + 1, r), hi, pe);
        } else
#endif
        {
          put(row + ((ch ^ (r & 7)) << 4), lo, pe);
          put(row + (((ch + 1) ^ (r & 7)) << 4), hi, pe);
        }
      }
    }
#if MLA_SSP_TOK
    if constexpr (kTok) {
      if (Half < 0 || (k >> 2) == Half) put<Dest>(keyAt(kt, kNB - 1, k, r), d.live[rnd] ? d.rope[rnd] : make_uint4(0, 0, 0, 0), pe);
    } else
#endif
    put(kt + (kNB - 1) * kBox + r * 128 + ((k ^ (r & 7)) << 4), d.live[rnd] ? d.rope[rnd] : make_uint4(0, 0, 0, 0), pe);
    if (Half != 1 && k == 0 && !kWarpFlags) { // bit 50: producer warp 0 writes the tile's flags after the rounds
#if MLA_SPARSE_SM90_MODE & 33554432
      if constexpr (Dest != 0) { // bit 25: this pass's copy of the flag only
        if constexpr (Dest >= 2) rows().valid[st][r] = d.live[rnd] ? 1 : 0;
        else stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
        return;
      }
#endif
      rows().valid[st][r] = d.live[rnd] ? 1 : 0;
#if MLA_SPARSE_SM90_MODE & 4194304
      if constexpr (C2 && !kNoStore) stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
#elif MLA_SPARSE_SM90_MODE & (34359738368 | 274877906944)
      // bits 35 / 38 (kOwnFlags): the peer's producer writes this token's flag into its own stage from the index
      if constexpr (C2 && !kOwnFlags) stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
#else
      if constexpr (C2) stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
#endif
    }
  }

#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
  /** Bits 28 / 30: half g of round rnd (columns 32g..32g+31 of every box: register slots 2g, 2g + 1, i.e. chunks
      (2g) ^ rb and (2g + 1) ^ rb; the RoPE chunk k where k / 4 == g; the validity flags with g = 0) into key tile kt,
      in a pair into the peer's stage too (pe.bar: the peer's barrier of that half). */
  static __device__ __forceinline__ void storeHalf(const TileRegs& d, uint32_t kt, uint32_t st, int rnd, int r0, int k, int rb, int tokInRound,
                                                   int g, const Peer& pe) {
    const int r = (r0 + rnd) * 16 + tokInRound;
    const uint32_t row = kt + k * kBox + r * 128;
    if (k < kNope) {
#pragma unroll
      for (int cc = 0; cc < 2; ++cc) {
        const int c = 2 * g + cc, ch = 2 * (c ^ rb); // 16 values at columns 64k + 8ch: chunks ch, ch + 1 of box k
        uint4 lo = make_uint4(0, 0, 0, 0), hi = lo;
        if (d.live[rnd]) {
          const uint4 w = d.nope[rnd][c];
          const float sc = M1 ? ue8m0((__float_as_uint(d.sc[rnd]) >> (8 * (k & 3))) & 255u) : d.sc[rnd];
          uint2 a, b, e, f;
          if (M1 || (__float_as_uint(sc) & 0xffffu) == 0u) { // bf16x2 scaling is exact for a bf16 scale (see storeRound)
            const uint32_t s2 = (__float_as_uint(sc) >> 16) * 0x10001u;
            a = dq4b(w.x, s2), b = dq4b(w.y, s2), e = dq4b(w.z, s2), f = dq4b(w.w, s2);
          } else {
            a = dq4(w.x, sc), b = dq4(w.y, sc), e = dq4(w.z, sc), f = dq4(w.w, sc);
          }
          lo = make_uint4(a.x, a.y, b.x, b.y);
          hi = make_uint4(e.x, e.y, f.x, f.y);
        }
        put(row + ((ch ^ (r & 7)) << 4), lo, pe);
        put(row + (((ch + 1) ^ (r & 7)) << 4), hi, pe);
      }
    }
    if ((k >> 2) == g) put(kt + (kNB - 1) * kBox + r * 128 + ((k ^ (r & 7)) << 4), d.live[rnd] ? d.rope[rnd] : make_uint4(0, 0, 0, 0), pe);
    if (g == 0 && k == 0) {
      rows().valid[st][r] = d.live[rnd] ? 1 : 0;
      if constexpr (C2) stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
    }
  }
#endif

#if MLA_SPARSE_SM90_MODE & 134217728
  /** Bit 27 (pair): the lane's share of a whole half tile, the peer's copy first: every chunk of both rounds is
      converted and sent by st.async (with the validity flags) before any is written into this CTA's stage, so the
      peer's half lands as early as the producer can send it; then the chunks are converted again (holding 72 values
      instead spills 128 bytes in the V3.2 entry; the probes found the conversions nearly free) and stored locally. */
  static __device__ __forceinline__ void chunkOf(const TileRegs& d, int rnd, int i, int k, int rot, int r, uint32_t kt, uint4& v, uint32_t& at) {
    if (i == 8) {
      v = d.live[rnd] ? d.rope[rnd] : make_uint4(0, 0, 0, 0);
      at = kt + (kNB - 1) * kBox + r * 128 + ((k ^ (r & 7)) << 4);
      return;
    }
    const int c = i >> 1, ch = 2 * ((c + rot) & 3) + (i & 1);
    at = kt + k * kBox + r * 128 + ((ch ^ (r & 7)) << 4);
    v = make_uint4(0, 0, 0, 0);
    if (d.live[rnd]) {
      uint4 w = d.nope[rnd][c];
      asm volatile("" : "+r"(w.x), "+r"(w.y), "+r"(w.z), "+r"(w.w)); // converted where used: the two passes do not share values
      const float sc = M1 ? ue8m0((__float_as_uint(d.sc[rnd]) >> (8 * (k & 3))) & 255u) : d.sc[rnd];
      uint2 a, b;
      if (M1 || (__float_as_uint(sc) & 0xffffu) == 0u) {
        const uint32_t s2 = (__float_as_uint(sc) >> 16) * 0x10001u;
        a = dq4b(i & 1 ? w.z : w.x, s2), b = dq4b(i & 1 ? w.w : w.y, s2);
      } else {
        a = dq4(i & 1 ? w.z : w.x, sc), b = dq4(i & 1 ? w.w : w.y, sc);
      }
      v = make_uint4(a.x, a.y, b.x, b.y);
    }
  }
  static __device__ __forceinline__ void storeTilePeerFirst(const TileRegs& d, uint32_t kt, uint32_t st, int r0, int k, int rot, int tokInRound,
                                                            const Peer& pe) {
#pragma unroll
    for (int pass = 0; pass < 2; ++pass)
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) {
        const int r = (r0 + rnd) * 16 + tokInRound;
        if (k == 0) {
          if (pass == 0) stAsync(smemAddr(&rows().valid[st][r]) + pe.vDelta, d.live[rnd] ? 1u : 0u, pe.bar);
          else rows().valid[st][r] = d.live[rnd] ? 1 : 0;
        }
#pragma unroll
        for (int i = 0; i < 9; ++i) {
          if (i < 8 && k >= kNope) continue; // MODEL1: lane 7 of a token has no NoPE box
          uint4 v;
          uint32_t at;
          chunkOf(d, rnd, i, k, rot, r, kt, v, at);
          if (pass == 0) stAsync(at + pe.delta, v, pe.bar);
          else stShared(at, v);
        }
      }
  }
#endif

  static __device__ void produceTile(const SparseMmaParams& p) {
#if MLA_SPARSE_SM90_MODE & 1048576
    if constexpr (C2) asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegPS) : "memory");
    else
#endif
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegP) : "memory");
    const uint32_t kBase = smemBase() + kK_OFF;
    Rows& rw = rows();
    const uint32_t fullBar = smemAddr(&rw.full[0]), emptyBar = smemAddr(&rw.empty[0]), remoteBar = smemAddr(&rw.remote[0]);
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
    const uint32_t peerRemoteH = kHalf ? peerAddr(smemAddr(&rows1().remote1[0]), clusterRank() ^ 1u) : 0u, fullHBar = smemAddr(&rows1().full1[0]);
#endif
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
    const uint32_t full1Bar = smemAddr(&rows1().full1[0]), remote1Bar = smemAddr(&rows1().remote1[0]);
    // Bits 28 / 30 (kGrp): lane l of warp w (quarter q = l / 8, i = l % 8) takes box (q & 1) + 4 (q / 2) + 2 (i / 4) and
    // token 8 (w / 2) + 2 (w & 1) + (i & 1) + 4 ((i / 2) & 1); rot = bit 1 of the box. Other entries: bits 21 / 26 as below.
    constexpr bool kMap = (MLA_SPARSE_SM90_MODE & 2097152) || (C2 && (MLA_SPARSE_SM90_MODE & 67108864));
    const int pt = threadIdx.x - 256, pq = (pt >> 3) & 3, pi = pt & 7;
    const int k = kGrp ? (pq & 1) + 4 * (pq >> 1) + 2 * (pi >> 2) : kMap ? 2 * (pi >> 1) + (pq & 1) : pt & 7;
    const int tokInRound = kGrp ? 8 * (pt >> 6) + 2 * ((pt >> 5) & 1) + (pi & 1) + 4 * ((pi >> 1) & 1)
                                : kMap ? 4 * (pt >> 5) + 2 * (pq >> 1) + (pi & 1) : pt >> 3;
    const int rot = kGrp ? (k >> 1) & 1 : k >> 1;
#elif MLA_SSP_TOK
    // Bits 31 / 32 (kTok): lane l of warp w takes token 8 (w & 1) + l % 8 of each round and box 4 (w / 2) + l / 8, its
    // chunks in order (rot 0): a quarter warp is 8 consecutive tokens of one box. Other entries: bits 21 / 26 as below.
    constexpr bool kMap = (MLA_SPARSE_SM90_MODE & 2097152) || (C2 && (MLA_SPARSE_SM90_MODE & 67108864));
    const int pt = threadIdx.x - 256, pq = (pt >> 3) & 3, pi = pt & 7;
#if MLA_SPARSE_SM90_MODE & 137438953472
    constexpr bool kTokMap = kTok || !C2; // bit 37: the one-CTA entries take the map, not the layout
#else
    constexpr bool kTokMap = kTok;
#endif
    const int k = kTokMap ? 4 * (pt >> 6) + pq : kMap ? 2 * (pi >> 1) + (pq & 1) : pt & 7;
    const int tokInRound = kTokMap ? 8 * ((pt >> 5) & 1) + pi : kMap ? 4 * (pt >> 5) + 2 * (pq >> 1) + (pi & 1) : pt >> 3;
    const int rot = kTokMap ? 0 : k >> 1;
#elif MLA_SPARSE_SM90_MODE & (2097152 | 67108864)
    // Bit 21 (bit 26: pair entries only): lane l of warp w (quarter q = l / 8, i = l % 8) takes token
    // 4w + 2 (q / 2) + i % 2, box 2 (i / 2) + q % 2.
    constexpr bool kMap = (MLA_SPARSE_SM90_MODE & 2097152) || C2;
    const int pt = threadIdx.x - 256, pq = (pt >> 3) & 3, pi = pt & 7;
    const int k = kMap ? 2 * (pi >> 1) + (pq & 1) : pt & 7, tokInRound = kMap ? 4 * (pt >> 5) + 2 * (pq >> 1) + (pi & 1) : pt >> 3, rot = k >> 1;
#else
    const int pt = threadIdx.x - 256, k = pt & 7, tokInRound = pt >> 3, rot = k >> 1;
#endif
    const int j = blockIdx.y;
    // Cluster: rank r dequantizes rounds 2r, 2r + 1 of every tile; the peer's addresses are ours plus a delta.
    const uint32_t rank = C2 ? clusterRank() : 0u;
    const int r0 = C2 ? 2 * static_cast<int>(rank) : 0;
    const uint32_t validBase = smemAddr(&rw.valid[0][0]);
    const uint32_t kDelta = C2 ? peerAddr(kBase, rank ^ 1u) - kBase : 0u, vDelta = C2 ? peerAddr(validBase, rank ^ 1u) - validBase : 0u;
    const uint32_t peerRemote = C2 ? peerAddr(remoteBar, rank ^ 1u) : 0u;
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
    const uint32_t peerRemote1 = C2 && kSplit ? peerAddr(remote1Bar, rank ^ 1u) : 0u;
#endif
    const int* meta = p.tileSchedulerMetadata + blockIdx.x * kMetaFields;
    const int beginReq = meta[kSparseMetaBeginReqIdx], endReq = meta[kSparseMetaEndReqIdx];
    DivM dm{0u, 0u, 0u, 0u};
#if MLA_SPARSE_SM90_MODE & 64
    if constexpr (kDivMagic) { // bit 6: once a thread, before the items
      divMagic(static_cast<uint32_t>(p.pageBlockSize), dm.m, dm.s);
      divMagic(static_cast<uint32_t>(p.extraPageBlockSize), dm.mx, dm.sx);
    }
#endif
    uint32_t u = 0, qk = 0; // qk: items with tiles so far (kQp's Q barrier phases)
    for (int batch = beginReq; batch <= endReq && batch < p.b; ++batch) {
#if MLA_SPARSE_SM90_MODE & 8589934592
      if constexpr (kPrefNext) { // bit 33: the next item's itemOf words and tile-0 indices into L2 (no register waits on them)
        const int nb = batch + 1;
        if (pt == 0 && nb <= endReq && nb < p.b) {
          prefetchL2Line(p.numSplits + nb + 1);
          if (p.topkLength) prefetchL2Line(p.topkLength + nb);
          if (p.extraTopkLength) prefetchL2Line(p.extraTopkLength + nb);
          const int* ix = p.indices + (static_cast<int64_t>(nb) * p.sQ + j) * p.topk;
          prefetchL2Line(ix); // entries 0 and min(topk, 64) - 1: both lines of a 128-byte aligned row's 64 entries
          prefetchL2Line(ix + min(p.topk, 64) - 1);
        }
      }
#endif
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(M1 && C2 && pt == 0, batch & 1, 40);
#endif
      const Item it = itemOf(p, meta, batch, beginReq, endReq);
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(M1 && C2 && pt == 0 && it.nTiles > 0, batch & 1, 41);
#endif
#if MLA_SPARSE_SM90_MODE & 4611686018427387904
      if constexpr (kQEarly && !kQp) { // bit 62: this item's Q rows for this CTA into L2 (the consumers load them after the last item's epilogue)
        const int m0 = blockIdx.z * kBM, rows = min(kBM, p.hQ - m0);
        if (pt == 0 && batch > beginReq && rows > 0)
          prefetchL2(static_cast<const __nv_bfloat16*>(p.q) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0) * F::kDQK,
                     static_cast<uint32_t>(rows) * F::kDQK * 2u);
      }
#endif
      if (it.nTiles == 0) continue;
      if constexpr ((MLA_SPARSE_SM90_MODE & 131072) != 0 || kPairProbe == 5) {
        // Bit 17 / pair probe 5: hand each stage straight back to the consumers, every token valid, nothing loaded or stored.
#pragma unroll 1
        for (int t = 0; t < it.nTiles; ++t, ++u) {
          const uint32_t st = u & 1;
          mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
          if (k == 0)
#pragma unroll
            for (int rnd = 0; rnd < 4; ++rnd) rw.valid[st][rnd * 16 + tokInRound] = 1;
          if (C2 && pt == 0) mbarArrive(remoteBar + 8 * st);
          mbarArrive(fullBar + 8 * st);
        }
        continue;
      }
      const int64_t rowQ = static_cast<int64_t>(batch) * p.sQ + j;
#if MLA_SPARSE_SM90_MODE & 64
      const int eMain = min(it.eEnd, it.mainLen);
      auto idOf = [&](int t, int rnd) {
        if constexpr (kDivMagic) { // bit 6: idAt as one index load, its pointer and bound selected (no t < nTiles test)
          const int e = it.eBegin + t * kBN + (r0 + rnd) * 16 + tokInRound;
          const bool ex = HX && e >= it.mainRegion;
          const int64_t off = ex ? rowQ * p.extraTopk + (e - it.mainRegion) : rowQ * p.topk + e;
          const int* base = ex ? p.extraIndices : p.indices;
          Id x{-1, ex};
          if (e < (ex ? it.eEnd : eMain)) x.phys = base[off];
          return x;
        } else {
          return t < it.nTiles ? idAt<kCX>(p, it, rowQ, it.eBegin + t * kBN + (r0 + rnd) * 16 + tokInRound) : Id{-1, false};
        }
      };
#else
      auto idOf = [&](int t, int rnd) {
        return t < it.nTiles ? tileId(p, it, rowQ, t, it.eBegin + t * kBN + (r0 + rnd) * 16 + tokInRound) : Id{-1, false};
      };
#endif
#if MLA_SPARSE_SM90_MODE & 65536
#if MLA_SPARSE_SM90_MODE & 68719476736
      if constexpr (C2) { // bit 36: both pair entries
#else
      if constexpr (C2 && M1) {
#endif
        produceDeep(p, it, idOf, u, kBase, fullBar, emptyBar, remoteBar, pt, k, rot, r0, tokInRound, rank);
        continue;
      }
#endif
#if MLA_SPARSE_SM90_MODE & 17592186044416
      if constexpr (kQuad) { // bit 44: FlashMLA's map, one token a thread
#if MLA_SPARSE_SM90_NOX
        if constexpr (HX) { // (the MODEL1 pair's one producer: HX false for the item loop alone; see run())
          if (!p.extraIndices) {
            Kernel<M1, C2, SP, false>::produceQuad(p, it, rowQ, u, kBase, fullBar, emptyBar, remoteBar, pt, rank, kDelta, vDelta, peerRemote, batch, qk++);
            continue;
          }
        }
#endif
        produceQuad(p, it, rowQ, u, kBase, fullBar, emptyBar, remoteBar, pt, rank, kDelta, vDelta, peerRemote, batch, qk++);
        continue;
      }
#endif
#if MLA_SPARSE_SM90_MODE & 1024
      if constexpr (kQuadV) { // bit 10: bit 44's map in the V3.2 pair, bit 56's halves kept
        produceQuadV(p, it, rowQ, u, kBase, fullBar, emptyBar, remoteBar, peerRemoteH, fullHBar, pt, rank, kDelta, peerRemote);
        continue;
      }
#endif
      TileRegs d;
      // round rnd of tile t from ids[rnd], in the tile's cache (kTileX)
      auto loadR = [&](const Id (&ids)[kRounds], int t, int rnd) {
        withTileCache(it, t, [&](auto c) { loadRound<decltype(c)::value>(p, d, ids[rnd], rnd, k, rot, dm); });
      };
      auto load = [&](const Id (&ids)[kRounds], int t) {
#if MLA_SPARSE_SM90_MODE & 2199023255552
        if constexpr (kHalfLoad) { // bit 41: both rounds' first halves, then their second halves
          Addr a[kRounds];
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) a[rnd] = addrOf<M1, false, kCX>(p, ids[rnd]), loadRoundHalf<0>(d, a[rnd], rnd, k);
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) loadRoundHalf<1>(d, a[rnd], rnd, k);
        } else
#endif
#pragma unroll
        for (int rnd = 0; rnd < kRounds; ++rnd) loadR(ids, t, rnd);
      };
      Id ids[kRounds];
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) ids[rnd] = idOf(0, rnd);
      load(ids, 0);
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) ids[rnd] = idOf(1, rnd);
#if MLA_SPARSE_SM90_MODE & 1125899906842624
      // Bit 50: producer warp 0's lane pt holds the ids of tokens 2 pt, 2 pt + 1 of the next tile to be stored. One-CTA
      // V3.2 entries only.
      auto idFl = [&](int t, int i) { return t < it.nTiles ? idAt<kCX>(p, it, rowQ, it.eBegin + t * kBN + 2 * pt + i) : Id{-1, false}; };
      Id fid[2] = {Id{-1, false}, Id{-1, false}};
      if (kWarpFlags && pt < 32) fid[0] = idFl(0, 0), fid[1] = idFl(0, 1);
#endif
#if MLA_SPARSE_SM90_MODE & (34359738368 | 274877906944)
      // Bits 35 / 38 (kOwnFlags): lanes with k == 1 (the same 16 tokens a round as the k == 0 lanes) write the flags of
      // the peer's two rounds; their index loads run a tile ahead (pv: tile t's flags, pn: tile t + 1's ids).
      const int r0p = C2 ? 2 - r0 : 0; // the one-CTA entries: nothing (C2 false)
      auto idOfPeer = [&](int t, int rnd) {
        return kOwnFlags && k == 1 && t < it.nTiles ? idAt<kCX>(p, it, rowQ, it.eBegin + t * kBN + (r0p + rnd) * 16 + tokInRound) : Id{-1, false};
      };
      bool pv[kRounds];
      Id pn[kRounds];
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) pv[rnd] = idLive<kCX>(p, idOfPeer(0, rnd)), pn[rnd] = idOfPeer(1, rnd);
#endif
#pragma unroll 1
      for (int t = 0; t < it.nTiles; ++t, ++u) {
        const uint32_t st = u & 1, kt = kBase + st * kTile;
        mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
        if constexpr (kGrp) { // bits 28 / 30: columns 0..31 of every box first, then 32..63, each half handed over (kSplit)
          if (C2 && pt == 0) {
            mbarExpectTx(remoteBar + 8 * st, kSplit ? kPeerBytes0 : kPeerBytes);
            if (kSplit) mbarExpectTx(remote1Bar + 8 * st, kPeerBytes1);
          }
          const Peer pe0{kDelta, vDelta, peerRemote + 8 * st}, pe1{kDelta, vDelta, (kSplit ? peerRemote1 : peerRemote) + 8 * st};
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) storeHalf(d, kt, st, rnd, r0, k, rot, tokInRound, 0, pe0);
          if constexpr (kSplit) {
            fenceProxyAsync();
            mbarArrive(fullBar + 8 * st);
          }
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) storeHalf(d, kt, st, rnd, r0, k, rot, tokInRound, 1, pe1);
          fenceProxyAsync();
          mbarArrive((kSplit ? full1Bar : fullBar) + 8 * st);
          if (t + 1 < it.nTiles) load(ids, t + 1);
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) ids[rnd] = idOf(t + 2, rnd);
        } else { // the other entries: as without the bits
#endif
        // Cluster: the bytes the peer writes into this stage complete our `remote` barrier's phase (with this arrival);
        // the peer cannot write them before both CTAs' consumers handed the stage back (its empty barrier).
        if (C2 && pt == 0) mbarExpectTx(remoteBar + 8 * st, kHalf ? kPeerH0 : kPeerBytes);
        const Peer pe{kDelta, vDelta, peerRemote + 8 * st};
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
        if constexpr (kHalf) { // bits 55 / 56: chunks 0..3 (and the flags) of both rounds, handed over; then chunks 4..7
          if (pt == 0) mbarExpectTx(smemAddr(&rows1().remote1[st]), kPeerH1);
          const Peer pe1{kDelta, vDelta, peerRemoteH + 8 * st};
#pragma unroll
          for (int g = 0; g < 2; ++g) {
            if (g == 1) {
              fenceProxyAsync();
              mbarArrive(fullBar + 8 * st);
            }
#pragma unroll
            for (int rnd = 0; rnd < kRounds; ++rnd) {
              // V3.2 (bit 60): the round's straight-line body when all its scales in the warp are bf16, voted for each half
              if (kFlat && (M1 || __all_sync(0xffffffffu, !d.live[rnd] || (__float_as_uint(d.sc[rnd]) & 0xffffu) == 0u))) {
                if (g == 0) storeRound<true, 0>(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
                else storeRound<true, 1>(d, kt, st, rnd, r0, k, rot, tokInRound, pe1);
              } else {
                if (g == 0) storeRound<false, 0>(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
                else storeRound<false, 1>(d, kt, st, rnd, r0, k, rot, tokInRound, pe1);
              }
            }
          }
        } else
#endif
#if MLA_SPARSE_SM90_MODE & 134217728
        if constexpr (C2) storeTilePeerFirst(d, kt, st, r0, k, rot, tokInRound, pe);
        else
#endif
#if MLA_SPARSE_SM90_MODE & (549755813888 | 1099511627776)
        if constexpr ((C2 ? kEarlyPair : kEarlyOne) && (M1 || !kEarlyM1Only)) { // bits 39 / 40: round rnd of tile t + 1 loaded once round rnd of t is stored
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) {
            if constexpr (kFlat && M1) storeRound<true>(d, kt, st, rnd, r0, k, rot, tokInRound, pe); // bit 58 (no scale test on MODEL1)
            else storeRound(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
            if (rnd + 1 < kRounds && t + 1 < it.nTiles) loadR(ids, t + 1, rnd);
          }
        } else
#endif
#if MLA_SPARSE_SM90_MODE & 33554432
#if MLA_SPARSE_SM90_PAIR_PROBE == 6
        if constexpr (kPeerFirst && kPairProbe == 6) { // pair probe 6: both rounds' peer copies first, then both own copies converted again
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) storeRound<false, -1, 1>(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) storeRound<false, -1, 3>(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
        } else
#endif
        if constexpr (kPeerFirst) { // bit 25: round 0's peer copy, round 1 (both copies), round 0's own copy
          static_assert(kRounds == 2, "bit 25: the pair's two rounds");
          uint4 cv[8]; // round 0's converted NoPE chunks, converted once (holding both rounds' spills 40 bytes)
#if MLA_SPARSE_SM90_MODE & 16
          // bit 4: the bit-operation conversions when no live token of the warp has a scale byte over 134 (one vote a tile)
          auto small = [&](int rnd) { return k >= kNope || !d.live[rnd] || ((__float_as_uint(d.sc[rnd]) >> (8 * (k & 3))) & 255u) <= 134u; };
          if (kCvtBits && __all_sync(0xffffffffu, small(0) && small(1))) {
            storeRound<false, -1, 1, true>(d, kt, st, 0, r0, k, rot, tokInRound, pe, cv);
            storeRound<false, -1, 0, true>(d, kt, st, 1, r0, k, rot, tokInRound, pe);
            storeRound<false, -1, 2>(d, kt, st, 0, r0, k, rot, tokInRound, pe, cv);
          } else
#endif
          {
          storeRound<false, -1, 1>(d, kt, st, 0, r0, k, rot, tokInRound, pe, cv);
          storeRound(d, kt, st, 1, r0, k, rot, tokInRound, pe);
          storeRound<false, -1, 2>(d, kt, st, 0, r0, k, rot, tokInRound, pe, cv);
          }
        } else
#endif
        if constexpr (kFlat) { // bits 57 / 58: a round's straight-line body when all its scales in the warp are bf16 (MODEL1: always)
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) {
            if (M1 || __all_sync(0xffffffffu, !d.live[rnd] || (__float_as_uint(d.sc[rnd]) & 0xffffu) == 0u)) storeRound<true>(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
            else storeRound(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
          }
        } else
#pragma unroll
        for (int rnd = 0; rnd < kRounds; ++rnd) storeRound(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
#if MLA_SPARSE_SM90_MODE & (34359738368 | 274877906944)
        if (kOwnFlags && k == 1) {
#pragma unroll
          for (int rnd = 0; rnd < kRounds; ++rnd) rw.valid[st][(r0p + rnd) * 16 + tokInRound] = pv[rnd] ? 1 : 0;
        }
#pragma unroll
        for (int rnd = 0; rnd < kRounds; ++rnd) pv[rnd] = idLive<kCX>(p, pn[rnd]), pn[rnd] = idOfPeer(t + 2, rnd);
#endif
        fenceProxyAsync();
#if MLA_SPARSE_SM90_MODE & 1125899906842624
        if (kWarpFlags && pt < 32) { // bit 50: the tile's 64 flags, one 8-byte store a lane; then the next tile's ids
          // Which cache the ids are in, from their entries (fid's own flags, live across the tile, spilled): with an
          // extra cache mainRegion is a multiple of 64, so both entries are alike; without one an entry past it is -1.
          const bool ex = HX && it.eBegin + t * kBN + 2 * pt >= it.mainRegion;
          *reinterpret_cast<int2*>(&rw.valid[st][2 * pt]) =
              make_int2(idLive<kCX>(p, Id{fid[0].phys, ex}) ? 1 : 0, idLive<kCX>(p, Id{fid[1].phys, ex}) ? 1 : 0);
          fid[0] = idFl(t + 1, 0), fid[1] = idFl(t + 1, 1);
        }
#endif
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
        if constexpr (kHalf) mbarArrive(fullHBar + 8 * st); // bits 55 / 56: the second half
        else
#endif
        mbarArrive(fullBar + 8 * st);
#if MLA_SPARSE_SM90_MODE & (549755813888 | 1099511627776)
        if constexpr ((C2 ? kEarlyPair : kEarlyOne) && (M1 || !kEarlyM1Only)) { // bits 39 / 40: the last round's loads (the others are in flight)
          if (t + 1 < it.nTiles) loadR(ids, t + 1, kRounds - 1);
        } else
#endif
        if (t + 1 < it.nTiles) load(ids, t + 1); // tile t + 1: in flight while the consumers work on t
#pragma unroll
        for (int rnd = 0; rnd < kRounds; ++rnd) ids[rnd] = idOf(t + 2, rnd);
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
        }
#endif
      }
    }
  }

#if MLA_SPARSE_SM90_MODE & 17592186044416
  /** Bit 44: a thread's share of a tile, one token (FlashMLA's map): bytes 64 b + 16 q of NoPE box b, RoPE chunks q and
      q + 4, the 8-byte scale row; live: the entry is valid (else the registers hold kQuadZero's zeros and bytes 127). */
  struct QuadRegs {
    uint4 nope[7];
    uint4 rope[2];
    uint2 scl;
    bool live;
  };
  static __device__ __forceinline__ void loadQuad(const SparseMmaParams& p, QuadRegs& d, Id id, int q) {
    const Addr a = addrOf<M1, kAddr32, kCX>(p, id);
    d.live = a.tok != nullptr;
    // An invalid entry reads kQuadZero instead of its row (zeros times 1: +0 stored, as without the bit): the loads
    // need no predicate and the registers no select (a zeroing of the 38 registers costs 38 selects a tile even when
    // every token is valid: ptxas if-converts it).
    const unsigned char* tok = d.live ? a.tok : reinterpret_cast<const unsigned char*>(kQuadZero);
    const unsigned char* scl = d.live ? a.scl : reinterpret_cast<const unsigned char*>(kQuadZero + 36);
#pragma unroll
    for (int b = 0; b < 7; ++b) d.nope[b] = __ldg(reinterpret_cast<const uint4*>(tok + 64 * b) + q);
    d.rope[0] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + q);
    d.rope[1] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + q + 4);
    d.scl = __ldg(reinterpret_cast<const uint2*>(scl));
  }
  /** Bit 44: d converted into key tile kt (stage st), row r. The peer's copies lead (bit 25's purpose: its bytes complete
      its barrier earlier): its RoPE chunks and flag first, then box b's peer copy before this CTA's copy of box b - kLag
      (kLag boxes held converted in registers; all seven spill about 100 bytes). */
  static constexpr int kLag = MLA_SPARSE_SM90_QUAD_LAG;
  static __device__ __forceinline__ void storeQuad(const QuadRegs& d, uint32_t kt, uint32_t st, int r, int q, const Peer& pe) {
    // Scale byte s of box b as a bf16 pair, s << 7 with bit 6 set where s is 0 or 255 (ue8m0's 2^-127 and NaN): lo[w] /
    // hi[w] hold the low / high bytes of the four 16-bit values of word w, one byte permute picks box b's.
    uint32_t lo[2], hi[2];
#pragma unroll
    for (int w = 0; w < 2; ++w) {
      const uint32_t x = w ? d.scl.y : d.scl.x;
      const uint32_t e = (x ^ (x >> 1)) & 0x7f7f7f7fu;            // a byte is 0 iff its scale byte is 0 or 255
      const uint32_t z = ~((e + 0x7f7f7f7fu) | e) & 0x80808080u;  // 0x80 in those bytes (no carry: e's bytes are < 0x80)
      lo[w] = ((x << 7) & 0x80808080u) | (z >> 1);
      hi[w] = (x >> 1) & 0x7f7f7f7fu;
    }
    stAsync(keyAt(kt, kNB - 1, q, r) + pe.delta, d.rope[0], pe.bar);
    stAsync(keyAt(kt, kNB - 1, q + 4, r) + pe.delta, d.rope[1], pe.bar);
    const uint32_t flag = smemAddr(&rows().valid[st][r]);
    if (q == 0) stAsync(flag + pe.vDelta, d.live ? 1u : 0u, pe.bar);
    uint4 cv[14];
#pragma unroll
    for (int b = 0; b < 7 + kLag; ++b) {
      if (b < 7) {
        const uint32_t i = b & 3, f2 = __byte_perm(lo[b >> 2], hi[b >> 2], i | (i + 4) << 4 | i << 8 | (i + 4) << 12);
        const uint4 w = d.nope[b];
        const uint2 a = dq4b(w.x, f2), c = dq4b(w.y, f2), e = dq4b(w.z, f2), f = dq4b(w.w, f2);
        cv[2 * b] = make_uint4(a.x, a.y, c.x, c.y);
        cv[2 * b + 1] = make_uint4(e.x, e.y, f.x, f.y);
        stAsync(keyAt(kt, b, 2 * q, r) + pe.delta, cv[2 * b], pe.bar);
        stAsync(keyAt(kt, b, 2 * q + 1, r) + pe.delta, cv[2 * b + 1], pe.bar);
      }
      if (b >= kLag) {
        stShared(keyAt(kt, b - kLag, 2 * q, r), cv[2 * (b - kLag)]);
        stShared(keyAt(kt, b - kLag, 2 * q + 1, r), cv[2 * (b - kLag) + 1]);
      }
    }
    stShared(keyAt(kt, kNB - 1, q, r), d.rope[0]);
    stShared(keyAt(kt, kNB - 1, q + 4, r), d.rope[1]);
    if (q == 0) stShared(flag, d.live ? 1u : 0u);
  }
  /** Bit 44: one item's tiles, the producer loop of produceTile with one token a thread (row 32 rank + 8 w + l % 8). */
  static __device__ __forceinline__ void produceQuad(const SparseMmaParams& p, const Item& it, int64_t rowQ, uint32_t& u, uint32_t kBase,
                                                     uint32_t fullBar, uint32_t emptyBar, uint32_t remoteBar, int pt, uint32_t rank,
                                                     uint32_t kDelta, uint32_t vDelta, uint32_t peerRemote, int batch, uint32_t qk) {
    [[maybe_unused]] const int sPar = batch & 1; // (the stamp build's request parity)
    const int q = (pt & 31) >> 3, r = 32 * static_cast<int>(rank) + 8 * (pt >> 5) + (pt & 7);
    auto idOf = [&](int t) { return t < it.nTiles ? idAt<kCX>(p, it, rowQ, it.eBegin + t * kBN + r) : Id{-1, false}; };
    QuadRegs d;
    loadQuad(p, d, idOf(0), q);
    Id id = idOf(1);
    if constexpr (kQp) producerIssueQ(p, batch, pt, qk); // this item's Q, the tile's loads in flight
#pragma unroll 1
    for (int t = 0; t < it.nTiles; ++t, ++u) {
      const uint32_t st = u & 1;
      mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(M1 && C2 && pt == 0 && t < 10, sPar, 42 + t);
#endif
      stepQuad(d, st, kBase, fullBar, remoteBar, pt, r, q, kDelta, vDelta, peerRemote);
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(M1 && C2 && pt == 0 && t < 10, sPar, 52 + t);
#endif
      if (kQp && t == 0) producerAnnounceQ(); // Q, after tile 0 (its latency under the tile's)
      if (t + 1 < it.nTiles) loadQuad(p, d, id, q); // tile t + 1: in flight while the consumers work on t
      id = idOf(t + 2);
    }
  }
  /** Bit 44: tile d into stage st once it is free: the peer's expected bytes, the stores, the arrival. */
  static __device__ __forceinline__ void stepQuad(const QuadRegs& d, uint32_t st, uint32_t kBase, uint32_t fullBar, uint32_t remoteBar, int pt,
                                                  int r, int q, uint32_t kDelta, uint32_t vDelta, uint32_t peerRemote) {
    if (pt == 0) mbarExpectTx(remoteBar + 8 * st, kPeerBytes);
    storeQuad(d, kBase + st * kTile, st, r, q, Peer{kDelta, vDelta, peerRemote + 8 * st});
    fenceProxyAsync();
    mbarArrive(fullBar + 8 * st);
  }
#endif
#if MLA_SPARSE_SM90_MODE & 1024
  /** Bit 10: a thread's share of a V3.2 tile, one token: NoPE slots j (see the bit: j < 4 the first half's columns), the
      row's four f32 scales, RoPE chunks q and q + 4; live: the entry is valid (else kQuadZeroV's bytes). */
  struct QuadRegsV {
    uint4 nope[8];
    uint4 scl;
    uint4 rope[2];
    bool live;
  };
  static __device__ __forceinline__ void loadQuadV(const SparseMmaParams& p, QuadRegsV& d, Id id, int q) {
    const Addr a = addrOf<false, kAddr32, kCX>(p, id);
    d.live = a.tok != nullptr;
    const unsigned char* tok = d.live ? a.tok : reinterpret_cast<const unsigned char*>(kQuadZeroV);
    // slot j < 4: box 2 j + h at 64 (2 j + h) + 16 (q & 1); slot j >= 4: box 2 (j - 4) + 1 - h at that + 32 (h = q >> 1)
    const unsigned char* t0 = tok + 64 * (q >> 1) + 16 * (q & 1);
    const unsigned char* t1 = tok + 64 * (1 - (q >> 1)) + 16 * (q & 1) + 32;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      d.nope[j] = __ldg(reinterpret_cast<const uint4*>(t0 + 128 * j));
      d.nope[4 + j] = __ldg(reinterpret_cast<const uint4*>(t1 + 128 * j));
    }
    d.scl = __ldg(reinterpret_cast<const uint4*>(tok + 512));
    d.rope[0] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + q);
    d.rope[1] = __ldg(reinterpret_cast<const uint4*>(tok + F::kRope) + q + 4);
  }
  /** Bit 10: half g of d (slots 4 g..4 g + 3 and RoPE chunk q + 4 g) converted into key tile kt and the peer's copy. Bf:
      every scale of the warp is a bf16 (the tile's vote); else each slot picks dq4b or dq4 by its scale, as storeRound. */
  template <bool Bf>
  static __device__ __forceinline__ void storeQuadVHalf(const QuadRegsV& d, uint32_t kt, int g, int r, int q, const Peer& pe) {
    const uint32_t sw[4] = {d.scl.x, d.scl.y, d.scl.z, d.scl.w};
    // slot j's box: 2 (j & 3) + ((j >> 2) ^ h), chunks 2 (q & 1) + 4 (j >> 2), + 1
    const uint32_t base = keyAt(kt, g ^ (q >> 1), 2 * (q & 1) + 4 * g, r);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint4 w = d.nope[4 * g + i];
      uint2 a, b, e, f;
      if (Bf || (sw[i] & 0xffffu) == 0u) {
        const uint32_t s2 = (sw[i] >> 16) * 0x10001u;
        a = dq4b(w.x, s2), b = dq4b(w.y, s2), e = dq4b(w.z, s2), f = dq4b(w.w, s2);
      } else {
        const float sc = __uint_as_float(sw[i]);
        a = dq4(w.x, sc), b = dq4(w.y, sc), e = dq4(w.z, sc), f = dq4(w.w, sc);
      }
      const uint4 lo = make_uint4(a.x, a.y, b.x, b.y), hi = make_uint4(e.x, e.y, f.x, f.y);
      const uint32_t at = base + 2 * i * kBox;
      put(at, lo, pe);
      put(at + 1024, hi, pe);
    }
    put(keyAt(kt, kNB - 1, q + 4 * g, r), d.rope[g], pe);
  }
  /** Bit 10: one item's tiles, the V3.2 pair producer with one token a thread (row 32 rank + 8 w + l % 8) and bit 56's two
      hand-offs; lanes q = 0 / 1 write the flags of their row / the peer's row (rf). */
  static __device__ __forceinline__ void produceQuadV(const SparseMmaParams& p, const Item& it, int64_t rowQ, uint32_t& u, uint32_t kBase,
                                                      uint32_t fullBar, uint32_t emptyBar, uint32_t remoteBar, uint32_t peerRemoteH,
                                                      uint32_t fullHBar, int pt, uint32_t rank, uint32_t kDelta, uint32_t peerRemote) {
    const int q = (pt & 31) >> 3, r = 32 * static_cast<int>(rank) + 8 * (pt >> 5) + (pt & 7), rf = q == 1 ? r ^ 32 : r;
    auto idOf = [&](int t, int row) { return t < it.nTiles ? idAt<kCX>(p, it, rowQ, it.eBegin + t * kBN + row) : Id{-1, false}; };
    QuadRegsV d;
    loadQuadV(p, d, idOf(0, r), q);
    Id id = idOf(1, r);
    bool fl = idLive<kCX>(p, idOf(0, rf));
    Id fid = idOf(1, rf);
#pragma unroll 1
    for (int t = 0; t < it.nTiles; ++t, ++u) {
      const uint32_t st = u & 1, kt = kBase + st * kTile;
      mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
      if (pt == 0) {
        mbarExpectTx(remoteBar + 8 * st, kPeerH0);
        mbarExpectTx(smemAddr(&rows1().remote1[st]), kPeerH1);
      }
      const Peer pe{kDelta, 0u, peerRemote + 8 * st}, pe1{kDelta, 0u, peerRemoteH + 8 * st};
      const bool bf = __all_sync(0xffffffffu, ((d.scl.x | d.scl.y | d.scl.z | d.scl.w) & 0xffffu) == 0u);
      if (q < 2) rows().valid[st][rf] = fl ? 1 : 0;
      if (bf) storeQuadVHalf<true>(d, kt, 0, r, q, pe);
      else storeQuadVHalf<false>(d, kt, 0, r, q, pe);
      fenceProxyAsync();
      mbarArrive(fullBar + 8 * st);
      if (bf) storeQuadVHalf<true>(d, kt, 1, r, q, pe1);
      else storeQuadVHalf<false>(d, kt, 1, r, q, pe1);
      fenceProxyAsync();
      mbarArrive(fullHBar + 8 * st);
      if (t + 1 < it.nTiles) loadQuadV(p, d, id, q); // tile t + 1: in flight while the consumers work on t
      id = idOf(t + 2, r);
      fl = idLive<kCX>(p, fid);
      fid = idOf(t + 2, rf);
    }
  }
#endif
#if MLA_SPARSE_SM90_MODE & 65536
  // Bit 16 (MODEL1 pair only): one item's tiles with two register sets alternating, so tile t + 2's gather is in flight while
  // the consumers work on tiles t and t + 1. Peer addresses are formed with mapa where they are used (registers).
  template <typename IdOf>
  static __device__ __forceinline__ void produceDeep(const SparseMmaParams& p, const Item& it, const IdOf& idOf, uint32_t& u, uint32_t kBase,
                                                     uint32_t fullBar, uint32_t emptyBar, uint32_t remoteBar, int pt, int k, int rot, int r0,
                                                     int tokInRound, uint32_t rank) {
    TileRegs dA, dB;
    Id ids[kRounds]; // the ids of the next tile to load (t + 2 at step t), loaded a step before they are used
    auto idsOf = [&](int t) {
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) ids[rnd] = idOf(t, rnd);
    };
    auto load = [&](TileRegs& d) {
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) loadRound(p, d, ids[rnd], rnd, k, rot);
    };
#if MLA_SPARSE_SM90_MODE & 34359738368
    // Bit 35 with 16: each register set carries the peer rounds' ids of its tile (k == 1 lanes; idOf's round
    // rnd + dr is the peer's round r0p + rnd), loaded with the set's tile, turned into flags when the tile is stored.
    Id pA[kRounds], pB[kRounds];
    const int dr = 2 - 2 * r0, r0p = 2 - r0;
    auto peerIds = [&](Id (&pp)[kRounds], int t) {
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) pp[rnd] = k == 1 ? idOf(t, rnd + dr) : Id{-1, false};
    };
    auto step = [&](TileRegs& d, Id (&pp)[kRounds], int t) {
      const uint32_t st = u & 1, kt = kBase + st * kTile;
      mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
      if (pt == 0) mbarExpectTx(remoteBar + 8 * st, kPeerBytes);
      const uint32_t vb = smemAddr(&rows().valid[0][0]);
      const Peer pe{peerAddr(kBase, rank ^ 1u) - kBase, peerAddr(vb, rank ^ 1u) - vb, peerAddr(remoteBar, rank ^ 1u) + 8 * st};
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) storeRound(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
      if (k == 1) {
#pragma unroll
        for (int rnd = 0; rnd < kRounds; ++rnd) rows().valid[st][(r0p + rnd) * 16 + tokInRound] = idLive<kCX>(p, pp[rnd]) ? 1 : 0;
      }
      fenceProxyAsync();
      mbarArrive(fullBar + 8 * st);
      if (t + 2 < it.nTiles) load(d); // tile t + 2
      peerIds(pp, t + 2);
      idsOf(t + 3);
      ++u;
    };
    idsOf(0);
    load(dA);
    peerIds(pA, 0);
    idsOf(1);
    load(dB);
    peerIds(pB, 1);
    idsOf(2);
#pragma unroll 1
    for (int t = 0; t < it.nTiles; t += 2) {
      step(dA, pA, t);
      if (t + 1 < it.nTiles) step(dB, pB, t + 1);
    }
#else
    auto step = [&](TileRegs& d, int t) {
      const uint32_t st = u & 1, kt = kBase + st * kTile;
      mbarWait(emptyBar + 8 * st, ((u >> 1) & 1) ^ 1);
      if (pt == 0) mbarExpectTx(remoteBar + 8 * st, kPeerBytes);
      const uint32_t vb = smemAddr(&rows().valid[0][0]);
      const Peer pe{peerAddr(kBase, rank ^ 1u) - kBase, peerAddr(vb, rank ^ 1u) - vb, peerAddr(remoteBar, rank ^ 1u) + 8 * st};
#pragma unroll
      for (int rnd = 0; rnd < kRounds; ++rnd) storeRound(d, kt, st, rnd, r0, k, rot, tokInRound, pe);
      fenceProxyAsync();
      mbarArrive(fullBar + 8 * st);
      if (t + 2 < it.nTiles) load(d); // tile t + 2
      idsOf(t + 3);
      ++u;
    };
    idsOf(0);
    load(dA);
    idsOf(1);
    load(dB);
    idsOf(2);
#pragma unroll 1
    for (int t = 0; t < it.nTiles; t += 2) {
      step(dA, t);
      if (t + 1 < it.nTiles) step(dB, t + 1);
    }
#endif
  }
#endif

  /** Q rows m0.. of (batch, j) into qBase by cp.async from N threads (tid 0..N - 1), not waited for. */
  template <int N>
  static __device__ __forceinline__ void issueQ(const SparseMmaParams& p, uint32_t qBase, int batch, int j, int m0, int tid) {
    const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0) * F::kDQK;
    constexpr int kChunks = F::kDQK / 8; // 16-byte chunks a row
#pragma unroll(N == 256 ? 4 : 1)
    for (int c = tid; c < kBM * kChunks; c += N) {
      const int r = c / kChunks, ch = c % kChunks;
      const bool live = m0 + r < p.hQ;
      cpAsync16(qBase + (ch >> 3) * kBox + sw128(r, (ch & 7) * 8), live ? q + static_cast<int64_t>(r) * F::kDQK + ch * 8 : p.q, live ? 16 : 0);
    }
  }
  /** kQp, the producer's side: item qk's Q (this CTA's rows of request batch) issued by its 128 threads once warpgroup 0
      has read the item before's for the last time (rowsQ().free, phase qk - 1), not waited for. */
  static __device__ __forceinline__ void producerIssueQ(const SparseMmaParams& p, int batch, int pt, uint32_t qk) {
    if (qk > 0) mbarWait(smemAddr(&rowsQ().free), (qk - 1) & 1);
    issueQ<128>(p, smemBase() + kQ_OFF, batch, blockIdx.y, blockIdx.z * kBM, pt);
  }
  /** kQp: this producer thread's Q copies landed, visible to the wgmma (async proxy), announced on rowsQ().full. */
  static __device__ __forceinline__ void producerAnnounceQ() {
    cpAsyncWaitAll();
    fenceProxyAsync();
    mbarArrive(smemAddr(&rowsQ().full));
  }
  /** Q rows m0.. of (batch, j) into qBase by cp.async from the consumers' 256 threads (tid 0..255), waited for. */
  static __device__ __forceinline__ void loadQ(const SparseMmaParams& p, uint32_t qBase, int batch, int j, int m0, int tid) {
    issueQ<256>(p, qBase, batch, j, m0, tid);
    cpAsyncWaitAll();
    fenceProxyAsync();
  }
  // ---- consumers: warpgroups 0 and 1 ----
  template <int W>
  static __device__ void consume(const SparseMmaParams& p) {
    // Registers (kReg*): the CTA holds 3 x 168 a thread (launch bounds 384, 1); no spills, warpgroup 1 spills below
    // 160. v1 asked 224 / 160 / 128, more than the CTA holds: the increase waited forever.
#if MLA_SPARSE_SM90_MODE & 1048576
    constexpr bool kSp = C2;
    if constexpr (kSp) asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(W == 0 ? kReg0S : kReg1S) : "memory");
    else if constexpr (W == 0) asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kReg0) : "memory");
    else asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kReg1) : "memory");
    // Accumulators (split): warpgroup 0 columns 0..191 (o, 96); warpgroup 1 columns 192..447 (o, 128) and 448..511 (o2, 32).
    constexpr int kNa = kSp && W == 0 ? 96 : 128, kNb = kSp && W == 1 ? 32 : 0, kC0 = (kSp ? 192 : 256) * W;
#else
    if constexpr (W == 0) asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kReg0) : "memory");
    else asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kReg1) : "memory");
    constexpr int kNa = 128, kC0 = 256 * W;
#endif
    const uint32_t sBase = smemBase();
    const uint32_t qBase = sBase + kQ_OFF, kBase = sBase + kK_OFF, pBase = sBase + kP_OFF;
    Rows& rw = rows();
    const uint32_t fullBar = smemAddr(&rw.full[0]), emptyBar = smemAddr(&rw.empty[0]), remoteBar = smemAddr(&rw.remote[0]);
    const uint32_t emptyPeer = C2 ? peerAddr(emptyBar, clusterRank() ^ 1u) : 0u;
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
    const uint32_t full1Bar = smemAddr(&rows1().full1[0]), remote1Bar = smemAddr(&rows1().remote1[0]);
#endif
    const int tid = threadIdx.x, wt = tid % 128, warp = wt / 32, lane = tid % 32, gq = lane / 4, tq = lane % 4;
    const int rA = 16 * warp + gq, rB = rA + 8;
    const int j = blockIdx.y, m0 = blockIdx.z * kBM;
    const int* meta = p.tileSchedulerMetadata + blockIdx.x * kMetaFields;
    const int beginReq = meta[kSparseMetaBeginReqIdx], endReq = meta[kSparseMetaEndReqIdx];
    uint32_t u = 0;
    // kSinkS: the sinks once (read by warpgroup 0's epilogue after barrier 4 of the first item)
    if constexpr (W == 0 && kSinkS) if (wt < kBM) rowsS().sink[wt] = p.attnSink && m0 + wt < p.hQ ? p.attnSink[m0 + wt] : 0.f;
    uint32_t qk = 0; // kQp: items with tiles so far (the Q barrier's phase)
    for (int batch = beginReq; batch <= endReq && batch < p.b; ++batch) {
      const Item it = itemOf(p, meta, batch, beginReq, endReq);
      constexpr bool kSt = MLA_SPARSE_SM90_STAMP && M1 && C2; // the stamp build's entries (their lse words hold the stamps)
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 33, true);
      MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 0);
      MLA_STAMP(kSt && threadIdx.x == 128, batch & 1, 35);
#endif
      if constexpr (kQp) { // the producer's copies of this item's Q (each producer thread waited for its own and fenced them)
        if (it.nTiles > 0) {
          mbarWait(smemAddr(&rowsQ().full), qk & 1);
          ++qk;
        }
      } else {
        loadQ(p, qBase, batch, j, m0, tid);
      }
      namedSync(4, 256); // Q landed (and the previous item's epilogue is over for both warpgroups)
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 1);
      MLA_STAMP(kSt && threadIdx.x == 128, batch & 1, 36);
#endif

#if MLA_SPARSE_SM90_MODE & 1048576
      float o[kNa], o2[kNb > 0 ? kNb : 1];
#pragma unroll
      for (int i = 0; i < kNb; ++i) o2[i] = 0.f;
#else
      float o[kNa];
#endif
#pragma unroll
      for (int i = 0; i < kNa; ++i) o[i] = 0.f;
      float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f; // wg0: running max and sums of rows rA, rB

#pragma unroll 1
      for (int t = 0; t < it.nTiles; ++t, ++u) {
        const uint32_t st = u & 1, par = (u >> 1) & 1;
        const uint32_t kt = kBase + st * kTile, pLo = M1 ? pBase + kBox : kt + 8 * kBox; // V3.2: the RoPE box, not part of V
#if MLA_SSP_TOK
        // Bits 31 / 32: V MN-major without swizzle: LBO 128 (next 8 tokens), SBO 1024 (next 8 columns); 16 tokens a k-step.
        uint64_t dV;
        if constexpr (kTok) dV = opaque(descInter(kt + (kC0 / 64) * kBox, 128, 1024));
        else dV = opaque(descSw128(kt + (kC0 / 64) * kBox, 8192, 1024));
        constexpr int kVStep = kTok ? 16 : 128; // descriptor units (16 bytes) a k-step of 16 tokens
        constexpr int kKStep = kTok ? 128 : 2;  // S: a k-step of 16 columns
#else
        const uint64_t dV = opaque(descSw128(kt + (kC0 / 64) * kBox, 8192, 1024));
        constexpr int kVStep = 128, kKStep = 2;
#endif
        if constexpr (kProdAlone) { // bit 47 (probe): the tile waited for and handed back, nothing computed
          mbarWait(fullBar + 8 * st, par);
          mbarWait(remoteBar + 8 * st, par);
          releaseStage<C2>(emptyBar + 8 * st, emptyPeer + 8 * st, wt, lane);
        } else if constexpr (W == 0) {
          mbarWait(fullBar + 8 * st, par);
          if constexpr (C2 && kPairProbe != 4) mbarWait(remoteBar + 8 * st, par); // the peer's half of the tile (st.async, counted in bytes)
#if MLA_SPARSE_SM90_STAMP
          MLA_STAMP(kSt && threadIdx.x == 0 && t < 14, batch & 1, 2 + 2 * t);
#endif
          float s[32];
#pragma unroll
          for (int i = 0; i < 32; ++i) s[i] = 0.f;
#if MLA_SSP_TOK
          const uint64_t dQ = opaque(descSw128(qBase, 16, 1024));
          uint64_t dK;
          if constexpr (kTok) dK = opaque(descInter(kt, 1024, 128));
          else dK = opaque(descSw128(kt, 16, 1024));
#else
          const uint64_t dQ = opaque(descSw128(qBase, 16, 1024)), dK = opaque(descSw128(kt, 16, 1024));
#endif
          wgFence();
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
          if constexpr (kSplit) { // bits 28 / 30: k-steps 0, 1 of every box on the first half, then the second half's
#pragma unroll
            for (int g = 0; g < 2; ++g) {
              if (g == 1) {
                mbarWait(full1Bar + 8 * st, par);
                if constexpr (C2) mbarWait(remote1Bar + 8 * st, par);
                wgFence(); // after the wait's branch (ptxas would inject it: C7519); the first half's wgmmas stay in flight
              }
#pragma unroll
              for (int b = 0; b < kNB; ++b)
#pragma unroll
                for (int kk = 2 * g; kk < 2 * g + 2; ++kk) if (!kNoS) Wg<__nv_bfloat16>::ss64(s, dQ + b * (kBox >> 4) + 2 * kk, dK + b * (kBox >> 4) + kKStep * kk);
            }
          } else {
#pragma unroll
            for (int b = 0; b < kNB; ++b)
#pragma unroll
              for (int kk = 0; kk < 4; ++kk) if (!kNoS) Wg<__nv_bfloat16>::ss64(s, dQ + b * (kBox >> 4) + 2 * kk, dK + b * (kBox >> 4) + kKStep * kk);
          }
#else
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
          if constexpr (kHalf) { // bits 55 / 56: k-steps 0, 1 of every box on the first half, then the second half's
#if MLA_SPARSE_SM90_MODE & 4398046511104
            if constexpr (kHalfWait) { // bit 42 (probe): both halves before the first wgmma
              mbarWait(smemAddr(&rows1().full1[st]), par);
              mbarWait(smemAddr(&rows1().remote1[st]), par);
              wgFence();
            }
#endif
#pragma unroll
            for (int g = 0; g < 2; ++g) {
              if (g == 1) {
                mbarWait(smemAddr(&rows1().full1[st]), par);
                mbarWait(smemAddr(&rows1().remote1[st]), par);
                wgFence(); // after the wait's branch (ptxas would inject it: C7519); the first half's wgmmas stay in flight
              }
#pragma unroll
              for (int b = 0; b < kNB; ++b)
#pragma unroll
                for (int kk = 2 * g; kk < 2 * g + 2; ++kk) if (!kNoS) Wg<__nv_bfloat16>::ss64(s, dQ + b * (kBox >> 4) + 2 * kk, dK + b * (kBox >> 4) + kKStep * kk);
            }
          } else
#endif
#pragma unroll
          for (int b = 0; b < kNB; ++b)
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoS) Wg<__nv_bfloat16>::ss64(s, dQ + b * (kBox >> 4) + 2 * kk, dK + b * (kBox >> 4) + kKStep * kk);
#endif
          wgCommit();
          wgWait<0>();
          pinRegs<32>(s);
          if (kQp && t + 1 == it.nTiles && lane == 0) mbarArrive(smemAddr(&rowsQ().free)); // Q read for the last time
#if MLA_SPARSE_SM90_STAMP
          MLA_STAMP(kSt && threadIdx.x == 0 && t < 14, batch & 1, 3 + 2 * t);
#endif
          // Mask by validity, scale to base 2, row maxima over the quad.
          float rmA = -INFINITY, rmB = -INFINITY;
#pragma unroll
          for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = 8 * i + 2 * tq + (e & 1);
              const float v = rw.valid[st][key] ? s[4 * i + e] * p.scaleLog2 : -INFINITY;
              s[4 * i + e] = v;
              if (e & 2) rmB = fmaxf(rmB, v); else rmA = fmaxf(rmA, v);
            }
#if MLA_SPARSE_SM90_MODE & 256
          // Bit 8: the lazy reference maximum (one vote a warp; its 16 rows' quads are all in it).
          const bool lazy = __all_sync(0xffffffffu, rmA <= mA + kLazyTau && rmB <= mB + kLazyTau);
          float bA, bB, scA = 1.f, scB = 1.f;
          if (lazy) {
            bA = mA == -INFINITY ? 0.f : mA;
            bB = mB == -INFINITY ? 0.f : mB;
          } else {
            rmA = quadMax(rmA);
            rmB = quadMax(rmB);
            const float nA = fmaxf(mA, rmA), nB = fmaxf(mB, rmB);
            bA = nA == -INFINITY ? 0.f : nA;
            bB = nB == -INFINITY ? 0.f : nB;
            scA = ex2s(mA - bA);
            scB = ex2s(mB - bB);
            mA = nA;
            mB = nB;
          }
#else
          rmA = quadMax(rmA);
          rmB = quadMax(rmB);
          const float nA = fmaxf(mA, rmA), nB = fmaxf(mB, rmB);
          const float bA = nA == -INFINITY ? 0.f : nA, bB = nB == -INFINITY ? 0.f : nB;
          const float scA = ex2s(mA - bA), scB = ex2s(mB - bB);
          mA = nA;
          mB = nB;
#endif
          // P = hi + lo in wgmma A fragments: a[kk][e] holds keys 16kk + 8(e/2) + 2tq (+1) of row e odd ? rB : rA.
          uint32_t hi[4][4], lo[4][4];
          float sumA = 0.f, sumB = 0.f;
#pragma unroll
          for (int kk = 0; kk < 4; ++kk)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const int i = 2 * kk + h;
              const float x0 = ex2s(s[4 * i + 0] - bA), x1 = ex2s(s[4 * i + 1] - bA);
              const float y0 = ex2s(s[4 * i + 2] - bB), y1 = ex2s(s[4 * i + 3] - bB);
              sumA += x0 + x1;
              sumB += y0 + y1;
              const __nv_bfloat162 hx = __floats2bfloat162_rn(x0, x1), hy = __floats2bfloat162_rn(y0, y1);
              const float2 fx = __bfloat1622float2(hx), fy = __bfloat1622float2(hy);
              const __nv_bfloat162 lx = __floats2bfloat162_rn(x0 - fx.x, x1 - fx.y), ly = __floats2bfloat162_rn(y0 - fy.x, y1 - fy.y);
              hi[kk][2 * h] = *reinterpret_cast<const uint32_t*>(&hx);
              hi[kk][2 * h + 1] = *reinterpret_cast<const uint32_t*>(&hy);
              lo[kk][2 * h] = *reinterpret_cast<const uint32_t*>(&lx);
              lo[kk][2 * h + 1] = *reinterpret_cast<const uint32_t*>(&ly);
            }
          lA = lA * scA + sumA;
          lB = lB * scB + sumB;
          if (t > 0) namedSync(2, 256); // warpgroup 1 is done with the previous P and scale
#if MLA_SPARSE_SM90_MODE & 262144
          if constexpr (C2 || M1) { // not the V3.2 one-CTA entry: with bit 19 it would spill 16 bytes
            // Matrix m of kk: rows 16 warp + 8 (m & 1).., chunk 2 kk + (m >> 1): the registers hi[kk][m], as below.
            const int mi = lane >> 3, r = 16 * warp + 8 * (mi & 1) + (lane & 7);
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) {
              const uint32_t off = r * 128 + (((2 * kk + (mi >> 1)) ^ (lane & 7)) << 4);
              stMatrix4(pBase + off, hi[kk]);
              if (!kSP) stMatrix4(pLo + off, lo[kk]);
            }
          } else
#endif
#pragma unroll
          for (int kk = 0; kk < 4; ++kk)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int r = (e & 1) ? rB : rA, ch = 2 * kk + (e >> 1);
              const uint32_t off = r * 128 + ((ch ^ gq) << 4) + tq * 4;
              stShared(pBase + off, hi[kk][e]);
              if (!kSP) stShared(pLo + off, lo[kk][e]);
            }
          if (tq == 0) { rw.scale[rA] = scA; rw.scale[rB] = scB; }
          fenceProxyAsync();
          namedArrive(1, 256); // P and the rescale factors ready
#if MLA_SPARSE_SM90_MODE & 256
          if (!lazy) // bit 8: factors exactly 1 on the lazy path
#endif
#pragma unroll
          for (int i = 0; i < kNa / 4; ++i) { o[4 * i + 0] *= scA; o[4 * i + 1] *= scA; o[4 * i + 2] *= scB; o[4 * i + 3] *= scB; }
          wgFence();
#if MLA_SPARSE_SM90_MODE & 1048576
          if constexpr (kNa == 96) {
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV) rs192(o, hi[kk], dV + kk * kVStep);
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV && !kSP) rs192(o, lo[kk], dV + kk * kVStep);
          } else {
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV) Wg<__nv_bfloat16>::rs256(o, hi[kk], dV + kk * kVStep);
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV && !kSP) Wg<__nv_bfloat16>::rs256(o, lo[kk], dV + kk * kVStep);
          }
#else
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) if (!kNoPV) Wg<__nv_bfloat16>::rs256(o, hi[kk], dV + kk * kVStep);
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) if (!kNoPV && !kSP) Wg<__nv_bfloat16>::rs256(o, lo[kk], dV + kk * kVStep);
#endif
          wgCommit();
          wgWait<0>();
          pinRegs<kNa>(o);
          if constexpr (kPairProbe == 4) mbarWait(remoteBar + 8 * st, par); // pair probe 4: the peer's bytes, after the math
          if (!kQp || t + 1 < it.nTiles) releaseStage<kPeerRelease>(emptyBar + 8 * st, emptyPeer + 8 * st, wt, lane); // kQp: the last after the epilogue
        } else {
          namedSync(1, 256); // P and the rescale factors ready
          mbarWait(fullBar + 8 * st, par); // complete already (warpgroup 0 waited): orders the producer's writes for us
          if constexpr (C2 && kPairProbe != 4) mbarWait(remoteBar + 8 * st, par); // and the peer's
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
          if constexpr (kHalf) { // bits 55 / 56: and the second half's (both complete already)
            mbarWait(smemAddr(&rows1().full1[st]), par);
            mbarWait(smemAddr(&rows1().remote1[st]), par);
          }
#endif
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
          if constexpr (kSplit) { // bits 28 / 30: and the second half's
            mbarWait(full1Bar + 8 * st, par);
            if constexpr (C2) mbarWait(remote1Bar + 8 * st, par);
          }
#endif
          const float scA = rw.scale[rA], scB = rw.scale[rB];
#if MLA_SPARSE_SM90_MODE & 256
          // Bit 8: skip when the warp's 16 factors are all 1; MODEL1 only (the V3.2 entries spill 12-44 bytes with the branch).
          if (!M1 || !__all_sync(0xffffffffu, scA == 1.f && scB == 1.f)) {
#endif
#pragma unroll
          for (int i = 0; i < kNa / 4; ++i) { o[4 * i + 0] *= scA; o[4 * i + 1] *= scA; o[4 * i + 2] *= scB; o[4 * i + 3] *= scB; }
#if MLA_SPARSE_SM90_MODE & 1048576
#pragma unroll
          for (int i = 0; i < kNb / 4; ++i) { o2[4 * i + 0] *= scA; o2[4 * i + 1] *= scA; o2[4 * i + 2] *= scB; o2[4 * i + 3] *= scB; }
#endif
#if MLA_SPARSE_SM90_MODE & 256
          }
#endif
          const uint64_t dP = opaque(descSw128(pBase, 16, 1024)), dL = opaque(descSw128(pLo, 16, 1024));
          wgFence();
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) if (!kNoPV) Wg<__nv_bfloat16>::ss256(o, dP + 2 * kk, dV + kk * kVStep);
#pragma unroll
          for (int kk = 0; kk < 4; ++kk) if (!kNoPV && !kSP) Wg<__nv_bfloat16>::ss256(o, dL + 2 * kk, dV + kk * kVStep);
#if MLA_SPARSE_SM90_MODE & 1048576
          if constexpr (kNb > 0) {
            const uint64_t dV2 = opaque(descSw128(kt + 7 * kBox, 8192, 1024)); // columns 448..511: box 7
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV) ss64t(o2, dP + 2 * kk, dV2 + ((kk * 2048) >> 4));
#pragma unroll
            for (int kk = 0; kk < 4; ++kk) if (!kNoPV && !kSP) ss64t(o2, dL + 2 * kk, dV2 + ((kk * 2048) >> 4));
          }
#endif
          wgCommit();
          wgWait<0>();
          pinRegs<128>(o);
#if MLA_SPARSE_SM90_MODE & 1048576
          if constexpr (kNb > 0) pinRegs<kNb>(o2);
#endif
          if constexpr (kPairProbe == 4) mbarWait(remoteBar + 8 * st, par); // pair probe 4: the peer's bytes, after the math
          if (!kQp || t + 1 < it.nTiles) releaseStage<kPeerRelease>(emptyBar + 8 * st, emptyPeer + 8 * st, wt, lane); // kQp: the last after the epilogue
          if (t + 1 < it.nTiles) namedArrive(2, 256); // the P box and scales are free again
        }
      }

      // Epilogue: warpgroup 0 computes each row's lse and output factor; both write their columns.
      const int hA = m0 + rA, hB = m0 + rB;
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 30);
      MLA_STAMP(kSt && threadIdx.x == 128, batch & 1, 37);
#endif
      if constexpr (W == 0) {
        lA = quadSum(lA);
        lB = quadSum(lB);
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {
          const float l = h2 ? lB : lA, mx = h2 ? mB : mA;
          const int h = h2 ? hB : hA;
          const bool empty = l == 0.f;
          const float lse = empty ? (it.noSplit ? INFINITY : -INFINITY) : (mx + log2f(l)) * 0.69314718055994531f;
          float f = empty ? 0.f : 1.f / l;
          if (it.noSplit && p.attnSink && !empty && h < p.hQ) {
            const float sink = kSinkS ? rowsS().sink[h2 ? rB : rA] : p.attnSink[h];
            f = sinkScale(f, sink, lse);
          }
          if (tq == 0) {
            rw.oScale[h2 ? rB : rA] = f;
            if (h < p.hQ) {
              if (it.noSplit && !kSt) p.lse[(static_cast<int64_t>(batch) * p.hQ + h) * p.sQ + j] = lse;
              else p.lseAccum[(static_cast<int64_t>(it.slot) * p.sQ + j) * p.hQ + h] = lse;
            }
          }
        }
      }
      namedSync(3, 256); // output factors ready
#if MLA_SPARSE_SM90_STAMP
      MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 31);
#endif
      const float fA = rw.oScale[rA], fB = rw.oScale[rB];
#if MLA_SPARSE_SM90_MODE & 18014398509481984
      if constexpr (kBulkV) { // bit 54
        if constexpr (W == 1) { // stage the 256 columns, nothing else: one path
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = opaque32(h2 ? rB : rA); // opaque: the row addresses are formed here, not hoisted out of the item loop
            const float f = h2 ? fB : fA;
            if (it.noSplit) {
              const uint32_t row = qBase + (64 + r) * 528 + 4 * tq;
#pragma unroll
              for (int i = 0; i < kNa / 4; ++i) {
                const __nv_bfloat162 v = __floats2bfloat162_rn(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
                stShared(row + 16 * i, *reinterpret_cast<const uint32_t*>(&v));
              }
            } else {
              const uint32_t row = qBase + r * 1040 + 8 * tq;
#pragma unroll
              for (int i = 0; i < kNa / 4; ++i) stShared2f(row + 32 * i, o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
            }
          }
          fenceProxyAsync(); // the generic-proxy stores, before the bulk copies read them
          namedArrive(5, 256); // staged
          namedSync(3, 256);   // read out: the region is free for the next item's Q
        } else if (it.noSplit && (reinterpret_cast<unsigned long long>(p.out) & 15ull) == 0) { // CTA-uniform
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = opaque32(h2 ? rB : rA);
            const float f = h2 ? fB : fA;
            const uint32_t row = qBase + r * 528 + 4 * tq;
#pragma unroll
            for (int i = 0; i < kNa / 4; ++i) {
              const __nv_bfloat162 v = __floats2bfloat162_rn(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
              stShared(row + 16 * i, *reinterpret_cast<const uint32_t*>(&v));
            }
          }
          fenceProxyAsync();
          namedSync(5, 256); // warpgroup 1's rows staged too
          if (m0 + (wt & 63) < p.hQ) { // thread wt: row wt & 63, columns 256 (wt / 64).., staged at row wt
            outRow(static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0 + (wt & 63)) * kDV + 256 * (wt >> 6),
                   qBase + wt * 528, 512u);
            bulkCommit();
            bulkWaitRead0();
          }
          namedSync(3, 256); // every row read out before the next item's Q overwrites the region
          continue;
        } else { // warpgroup 1's rows to global by shared loads and coalesced stores; then ours as without the bit
          namedSync(5, 256);
          if (it.noSplit) { // bf16, 4-byte words: row k / 128, word k % 128
#pragma unroll 4
            for (int k = wt; k < 64 * 128; k += 128) {
              const int r = k >> 7, w = k & 127;
              if (m0 + r < p.hQ)
                reinterpret_cast<uint32_t*>(static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0 + r) * kDV + 256)[w] =
                    ldShared32(qBase + (64 + r) * 528 + 4 * w);
            }
          } else { // f32 pairs: row k / 128, pair k % 128
#pragma unroll 4
            for (int k = wt; k < 64 * 128; k += 128) {
              const int r = k >> 7, c = k & 127;
              if (m0 + r < p.hQ)
                reinterpret_cast<float2*>(p.oAccum + ((static_cast<int64_t>(it.slot) * p.sQ + j) * p.hQ + m0 + r) * kDV + 256)[c] = ldShared2f(qBase + r * 1040 + 8 * c);
            }
          }
          namedSync(3, 256);
        }
      }
#endif
#if MLA_SPARSE_SM90_MODE & (9007199254740992 | 512 | 2048)
      if constexpr (kBulkO) { // bit 53: stage this warpgroup's 256 columns (512 bytes a row), one bulk copy a row
        // kQp: in the last tile's stage, still held (the Q region may be receiving the next item's Q)
        const uint32_t stLast = (u - 1) & 1, sgBase = kQp && it.nTiles > 0 ? kBase + stLast * kTile : qBase;
        if (it.noSplit && (reinterpret_cast<unsigned long long>(p.out) & 15ull) == 0) { // CTA-uniform
          extern __shared__ unsigned char smemRaw[];
          unsigned char* const gen = smemRaw - smemAddr(smemRaw); // + a shared address: its generic pointer
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = h2 ? rB : rA;
            const float f = h2 ? fB : fA;
            unsigned char* const row = gen + stageRowW<W>(sgBase, pBase, r) + 4 * tq;
#pragma unroll
            for (int i = 0; i < kNa / 4; ++i)
              *reinterpret_cast<__nv_bfloat162*>(row + 16 * i) = __floats2bfloat162_rn(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
          }
          fenceProxyAsync(); // the generic-proxy stores, before the bulk copies read them
          namedSync(5 + W, 128);
          if (wt < kBM && m0 + wt < p.hQ) {
#if MLA_SPARSE_SM90_OWPROBE
            const int64_t cta = blockIdx.x + static_cast<int64_t>(gridDim.x) * (blockIdx.y + static_cast<int64_t>(gridDim.y) * blockIdx.z);
            const bool fits = (cta + 1) * 64 <= static_cast<int64_t>(p.b) * p.sQ * p.hQ; // (probe) the CTA's own 64 rows
            outRow(static_cast<__nv_bfloat16*>(p.out) + (fits ? cta * 64 + wt : ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0 + wt)) * kDV + kC0,
                   stageRowW<W>(sgBase, pBase, wt), 512u);
#else
            outRow(static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0 + wt) * kDV + kC0,
                   stageRowW<W>(sgBase, pBase, wt), 512u);
#endif
            bulkCommit();
            bulkWaitRead0();
          }
          namedSync(3, 256); // every row read out before the next item's Q (and P) overwrite the regions
          if (kQp && it.nTiles > 0) releaseStage<kPeerRelease>(emptyBar + 8 * stLast, emptyPeer + 8 * stLast, wt, lane); // read out: the producers' again
#if MLA_SPARSE_SM90_STAMP
          MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 32);
          MLA_STAMP(kSt && threadIdx.x == 0, batch & 1, 34, true);
          MLA_STAMP(kSt && threadIdx.x == 128, batch & 1, 38);
          if constexpr (kSt) {
            namedSync(3, 256); // (stamp build) every consumer slot stored
            if (threadIdx.x < 32) stampFlush(p, batch, j, m0, threadIdx.x);
          }
#endif
          continue;
        }
        if (kQp && it.nTiles > 0) releaseStage<kPeerRelease>(emptyBar + 8 * stLast, emptyPeer + 8 * stLast, wt, lane); // not staged: free now
      }
#endif
#if MLA_SPARSE_SM90_MODE & (512 | 2048)
      if constexpr (kBulkO1) { // bit 9: bit 53's staging in the one-CTA MODEL1 entries, 32-bit shared addresses formed here
        if (it.noSplit && (reinterpret_cast<unsigned long long>(p.out) & 15ull) == 0) { // CTA-uniform
#pragma unroll
          for (int h2 = 0; h2 < 2; ++h2) {
            const int r = opaque32(h2 ? rB : rA); // opaque: not hoisted out of the item loop (bit 53's form spills here)
            const float f = h2 ? fB : fA;
            const uint32_t row = stageRowW<W>(qBase, pBase, r) + 4 * tq;
#pragma unroll
            for (int i = 0; i < kNa / 4; ++i) {
              const __nv_bfloat162 v = __floats2bfloat162_rn(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
              stShared(row + 16 * i, *reinterpret_cast<const uint32_t*>(&v));
            }
          }
          fenceProxyAsync(); // the generic-proxy stores, before the bulk copies read them
          namedSync(5 + W, 128);
          const int r = opaque32(wt);
          if (r < kBM && m0 + r < p.hQ) {
            outRow(static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + m0 + r) * kDV + kC0,
                   stageRowW<W>(qBase, pBase, r), 512u);
            bulkCommit();
            bulkWaitRead0();
          }
          namedSync(3, 256); // every row read out before the next item's Q (and P) overwrite the regions
          continue;
        }
      }
#endif
      if constexpr (!(kBulkV && W == 1)) { // bit 54: warpgroup 1 has staged its columns above
#pragma unroll
      for (int h2 = 0; h2 < 2; ++h2) {
        const int h = h2 ? hB : hA;
        if (h >= p.hQ) continue;
        const float f = h2 ? fB : fA;
        const int col0 = kC0 + 2 * tq;
        if (it.noSplit) {
          __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * kDV + col0;
#pragma unroll
          for (int i = 0; i < kNa / 4; ++i) {
            const __nv_bfloat162 v = __floats2bfloat162_rn(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
            *reinterpret_cast<__nv_bfloat162*>(out + 8 * i) = v;
          }
#if MLA_SPARSE_SM90_MODE & 1048576
#pragma unroll
          for (int i = 0; i < kNb / 4; ++i) {
            const __nv_bfloat162 v = __floats2bfloat162_rn(o2[4 * i + 2 * h2] * f, o2[4 * i + 2 * h2 + 1] * f);
            *reinterpret_cast<__nv_bfloat162*>(out + 2 * kNa + 8 * i) = v;
          }
#endif
        } else {
          float* acc = p.oAccum + ((static_cast<int64_t>(it.slot) * p.sQ + j) * p.hQ + h) * kDV + col0;
#pragma unroll
          for (int i = 0; i < kNa / 4; ++i) *reinterpret_cast<float2*>(acc + 8 * i) = make_float2(o[4 * i + 2 * h2] * f, o[4 * i + 2 * h2 + 1] * f);
#if MLA_SPARSE_SM90_MODE & 1048576
#pragma unroll
          for (int i = 0; i < kNb / 4; ++i) *reinterpret_cast<float2*>(acc + 2 * kNa + 8 * i) = make_float2(o2[4 * i + 2 * h2] * f, o2[4 * i + 2 * h2 + 1] * f);
#endif
        }
      }
      }
    }
  }

  static __device__ void run(const SparseMmaParams& p) {
    if (threadIdx.x == 0) {
      Rows& rw = rows();
      for (int s = 0; s < 2; ++s) {
        mbarInit(smemAddr(&rw.full[s]), kFullCount);
        mbarInit(smemAddr(&rw.empty[s]), kEmpty);
        mbarInit(smemAddr(&rw.remote[s]), 1);
#if MLA_SPARSE_SM90_MODE & (268435456 | 1073741824)
        if constexpr (kGrp) {
          mbarInit(smemAddr(&rows1().full1[s]), kFullCount);
          mbarInit(smemAddr(&rows1().remote1[s]), 1);
        }
#endif
#if MLA_SPARSE_SM90_MODE & (36028797018963968 | 72057594037927936)
        if constexpr (kHalf) {
          mbarInit(smemAddr(&rows1().full1[s]), kFullCount);
          mbarInit(smemAddr(&rows1().remote1[s]), 1);
        }
#endif
      }
      if constexpr (kQp) {
        mbarInit(smemAddr(&rowsQ().full), 128);
        mbarInit(smemAddr(&rowsQ().free), 4);
      }
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    if constexpr (C2) clusterSync(); // the peer's barriers are initialised before any remote store or arrival
    else __syncthreads();
    // Launched as a programmatic dependent of the kernel queued before it (sparse.ts: sparse_mma.cu's mla_sparse_bound
    // or mla_dense_fp8_lists, which write the index lists, and for a dense step the plan, this kernel reads), the CTA
    // may start while that kernel runs: its launch and the barrier setup above overlap it; nothing of global memory is
    // read before this wait. A no-op where the launch was a plain one.
    pdlWait();
    const int wg = threadIdx.x / 128;
    if (wg == 2) {
#if MLA_SPARSE_SM90_NOX
      // Without an extra cache the producer runs its own copy in which no id is the extra cache's (HX false: no select
      // between the caches' bases, strides, page sizes and token counts a token).
      // The MODEL1 pair entries copy only their item loop (produceQuad, below): with two copies of the whole producer
      // they spill 4 bytes.
      if (!(M1 && C2) && !p.extraIndices) Kernel<M1, C2, SP, false>::produceTile(p);
      else
#endif
        produceTile(p);
    }
    else if (wg == 0) consume<0>(p);
    else consume<1>(p);
    if constexpr (C2) clusterSync(); // neither CTA leaves while the peer may still write to it or arrive on it
  }
};
#endif

} // namespace ssp
} // namespace mla

static_assert(mla::ssp::Fmt<false>::SMEM == 230400, "V3.2 shared memory differs from sparse-sm90-launch.ts");
static_assert(mla::ssp::Fmt<true>::SMEM == 214016, "MODEL1 shared memory differs from sparse-sm90-launch.ts");

// Launch: grid (numSmParts, sQ, hQ / 64), 384 threads, mla::ssp::Fmt<M1>::SMEM bytes of dynamic shared memory; sm_90a
// only (elsewhere the entries compile to nothing). Split requests are merged by mla_sparse_mma_combine_bf16. The pair
// entries (*_c2) take h_q multiples of 128: 2-CTA clusters along z with bit 13, else the same kernel as the others.
#if MLA_SPARSE_SM90_MODE & 8192
#define MLA_SPARSE_SM90_PAIR __cluster_dims__(1, 1, 2)
#else
#define MLA_SPARSE_SM90_PAIR
#endif
#define MLA_SPARSE_SM90_ENTRY(NAME, ATTR, M1, C2, SP)                                                                \
  extern "C" __global__ void __launch_bounds__(384, 1) ATTR NAME(const SparseMmaParams p) { MLA_SPARSE_SM90_RUN(M1, C2, SP) }
#ifdef MLA_SM90A_SPARSE
#define MLA_SPARSE_SM90_RUN(M1, C2, SP) mla::ssp::Kernel<M1, C2, SP>::run(p);
#else
#define MLA_SPARSE_SM90_RUN(M1, C2, SP)
#endif
// Precision 'exact' (P as hi + lo) and, with the _sp suffix, 'fast' (P as one bf16).
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_v32_bf16, , false, false, false)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_model1_bf16, , true, false, false)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_v32_bf16_c2, MLA_SPARSE_SM90_PAIR, false, mla::ssp::kPairBit, false)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_model1_bf16_c2, MLA_SPARSE_SM90_PAIR, true, mla::ssp::kPairBit, false)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_v32_bf16_sp, , false, false, true)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_model1_bf16_sp, , true, false, true)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_v32_bf16_c2_sp, MLA_SPARSE_SM90_PAIR, false, mla::ssp::kPairBit, true)
MLA_SPARSE_SM90_ENTRY(mla_sparse_sm90_model1_bf16_c2_sp, MLA_SPARSE_SM90_PAIR, true, mla::ssp::kPairBit, true)
