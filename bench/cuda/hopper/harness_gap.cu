// Session 11 (h2): where the wide kernel's time goes between a single launch and a sustained run. A small harness
// beside harness_wide.cu (which builds ~25 variants): the library's wide entry, x799 (evict-normal cache reads),
// their kVarTrace twins (per-CTA global-timer / clock64 stamps, decode_sm90_wide.cu) and the candidates of this
// session, each launchable as a cluster of its row tiles (@c2, @c4: placement only, no code change).
//
//   nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -lineinfo \
//        -o build/hg/harness_gap bench/cuda/hopper/harness_gap.cu
//   ./harness_gap check cases seed           CHECK_KERNEL=name (default lib): random cases against the float64 reference
//   ./harness_gap gap b s_k h_q s_q          GAP_KERNELS="lib libtr x799 ...": for each, GAP_SINGLE (3) single launches after 400 ms
//                                            idle (decode and combine timed apart), then GAP_N launches back to back
//                                            (each decode and combine between its own events), then the same without
//                                            the combine; trace kernels also print the per-CTA summary (session 11
//                                            round 4: and the item line, item_cyc/us, from the clock64 stamps)
//   ./harness_gap ab b s_k h_q s_q           AB_KERNELS, ROUNDS interleaved rounds of medianUs (harness_common.cuh)
//   ./harness_gap abb b s_k h_q s_q          AB_KERNELS, short interleaved bursts (ROUNDS 8 x BURST 10 after IDLE_MS 150)
//   ./harness_gap b2bn b s_k h_q s_q n name  one warm launch, 500 ms idle, n launches back to back (for ncu
//                                            --launch-skip k --launch-count 1: k = 1 is the first after idle)
// Kernel names: lib, libtr, x799, x799tr, qe, qetr (kVarQEarly: session 11 round 2), sa, satr (kVarStAsync: session 12), sa8, sa8tr (+ kVarStSpread), sf, sftr (lib + kVarStF32: session 12 round 2), ftz (lib + kVarEx2Ftz: round 3), pa, patr (lib + kVarPAReg: session 13 round 2), pbe (+ kVarPBEarly: session 15), pe4, pe2 (lib + kVarPolyExB, + kVarPolyHalf: session 17 round 3; session 17 round 2's probes nma, nexb, nmx, b2l, pbb and mae, pbl launch lib since then; sa, sa8, satr, sa8tr, ftz, pa, patr, pbf, pbfw, par, vis, pbfv launch lib / libtr since session 17: their bits are kLibVar's), np (lib + kVarBNoProd: no producer warpgroup, 256 threads; session 19 h1), aa, pz, pi1, pi2, po1, po2, pnp, px (session 20 h1: lib under a second name, lib + never-executed FFMAs, lib + executed FFMAs in the producer; bf16 only; since w1 all but aa launch lib), fs, fg, gm, o2 (session 20 w1: lib + kVarFoldScale, + kVarBGuardMax, kVarBGuardMax alone; om + kVarBOwnMax2; since w2 they and om launch lib), la, lb (session 20 w2: lib + kVarBLazyA, + kVarBLazyB), x798 (the library's bits before session 12; since then lib = sa8), nar (decode_sm90.cu, <= 32 rows); "+w" / "+w2" after the name: the combine is combine.cu's combineWarps (one warp a
// row) instead of combine; a suffix @c2 / @c4 launches the row tiles of a part as one cluster (placement only).
// check takes f16 cases too where the kernel has an f16 entry (lib, lib+w, qe, qe+w).
#define MLA_SM90W_TRACE 1
#include "../../../src/backends/cuda/kernels/params.h"
#include "../../../src/backends/cuda/kernels/decode_sm90_wide.cu"
// The library's entries since session 19 take q's map (bits 1 | 2 | 8); the harness times and checks the two-parameter
// entries as before (bits 1 | 2; their code is the library's _ld entries'), and x11 as the library's new one.
// (Session 65: the wide kernel's library entries take q's map too since session 21; "lib" here is its _ld entries, the
// library's bits without q's map, the form a call whose map the driver refuses runs.)
#ifndef MLA_SM90_LIB_VAR
#define MLA_SM90_LIB_VAR 3
#endif
#include "../../../src/backends/cuda/kernels/decode_sm90.cu"
#include "../../../src/backends/cuda/kernels/combine.cu"
#include <cuda.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_gtr, __nv_bfloat16, false, mla::sm90w::kLibVar | mla::sm90w::kVarTrace)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_g799, __nv_bfloat16, false, 799)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_g799tr, __nv_bfloat16, false, 799 | mla::sm90w::kVarTrace)
// Session 11 round 2: the library's bits + kVarQEarly (the next item's Q loaded during the current item's last pair),
// both dtypes (check), and its trace twin.
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_gqe, __nv_bfloat16, false, mla::sm90w::kLibVar | mla::sm90w::kVarQEarly)
MLA_SM90W_ENTRY(mla_decode_sm90w_f16_gqe, __half, false, mla::sm90w::kLibVar | mla::sm90w::kVarQEarly)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_gqetr, __nv_bfloat16, false, mla::sm90w::kLibVar | mla::sm90w::kVarQEarly | mla::sm90w::kVarTrace)
// Session 12 (h2)'s sa / sa8 / satr / sa8tr (kVarStAsync, + kVarStSpread; its twin with kVarStShort, "sas", went in
// session 16 round 2, main b0cc9f2 has it) were removed in session 17 (h2): their bits are kLibVar's; the names launch
// lib / libtr (main b6d8fd8 has the entries).
// Session 12 round 2 (h2): the library's bits + kVarStF32 (a split item's f32 partial rows through Q's region in two
// halves and bulk copies), both dtypes (check), and its trace twin.
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_gsf, __nv_bfloat16, false, mla::sm90w::kLibVar | mla::sm90w::kVarStF32)
MLA_SM90W_ENTRY(mla_decode_sm90w_f16_gsf, __half, false, mla::sm90w::kLibVar | mla::sm90w::kVarStF32)
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_gsftr, __nv_bfloat16, false, mla::sm90w::kLibVar | mla::sm90w::kVarStF32 | mla::sm90w::kVarTrace)
// Session 17 (h2): the entries whose bits had become the library's own (kLibVar already holds kVarEx2Ftz, kVarPAReg,
// kVarProd2, kVarPBFirst, kVarWalkA and kVarVis4): ftz, pa, patr, pbf, pbfw, par, vis, pbfv were 15 more compiled copies
// of lib's (or libtr's) code, removed to keep the staged harness under 1.5 MB (main b6d8fd8 has them); their names
// still launch lib (patr: libtr), so older slots run as A/A controls. Session 17 (h2)'s "pbl" (kVarPBLate, 1.000 in
// call C) and session 16 round 2's "mae" (kVarMAEarly, 1.000) were removed in session 17 round 2 (main 4726ae2 has
// them); their names launch lib. Session 17 round 2 (h2)'s timing probes nma, nexb, nmx, b2l, pbb (measured 1.001 /
// 1.025 / 1.036 / 1.000 / 0.999 at 256 rows) were removed in round 3 (main 78aa87e has them; their names launch lib).
// Session 17 round 3 (h2): "pe4" (lib | kVarPolyExB: a quarter of softmax B's exponentials as ex2Poly on the FMA pipe)
// and "pe2" (+ kVarPolyHalf: a half), bf16 and f16.
// (pe4 / pe2 were measured slower in session 17's call E and removed in session 19 (h1), main 15f76a5 has them: their
// names launch lib. pbe = kLibVar | kVarPBEarly was lib's code since session 16: removed too, the name launches lib.)
#undef MLA_S14_PBF
// Session 19 (h1): "np" = the library's bits with kVarBNoProd (no producer warpgroup: 256 threads, the copies issued by
// the releasing consumer thread), both dtypes.
MLA_SM90W_ENTRY_NP(mla_decode_sm90w_bf16_gnp, __nv_bfloat16, mla::sm90w::kLibVar)
MLA_SM90W_ENTRY_NP(mla_decode_sm90w_f16_gnp, __half, mla::sm90w::kLibVar)
// Session 19 round 2 (h1): "tl" = the library's bits with kVarBTimeline (VARB 2: %clock stamps of each wgmma group's
// issue and wait, the S walks' box waits and the named barriers, thread 0 of each consumer warpgroup; 384 threads).
extern "C" __global__ void __launch_bounds__(384, 1) mla_decode_sm90w_bf16_gtl(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) {
  mla::sm90w::DecodeW<__nv_bfloat16, false, mla::sm90w::kLibVar, mla::sm90w::kVarBTimeline>::run(p, &kMap);
}
// Session 19 round 3 (h1): tensor work under softmax A (VARB, 384 threads, both dtypes): "om" = kVarBOwnMax (warpgroup
// 1's softmax B against its own maximum, P_B V_B[R] issued before barrier 1; exact: c, d <= 1), "sg" = om + kVarBStag
// (warpgroup 0's S walk behind warpgroup 1's whole walk), "s5" = om + kVarBStag5 (behind its first five boxes).
#define MLA_SM90W_ENTRY_VB(NAME, TY, VARB)                                                                     \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, false, mla::sm90w::kLibVar, VARB>::run(p, &kMap);                                        \
  }
// (om was re-measured beside o2 in session 20's call G (1.055) and removed in session 20 (w2); main d8cc5b1 has it; the
// names om, sg, s5 launch lib since then.)
// (sg / s5, measured in call F of session 19 (1.094 / 1.049 at 256 rows), were removed in session 20 (h1) for the pad
// probe's room; main cbbd951 has them; their names launch om.)
// Session 20 (h1): the code-size probe (bf16 only; decode_sm90_wide.cu's kVarBPadInShift / kVarBPadOutShift /
// kVarBPadExec; the pads are DFMAs). "aa" = the library's code under a second name (its .text is lib's, byte for byte);
// "pz" = lib + 4 never-executed DFMAs inside the pair loop (the branch and ptxas's re-schedule alone); "pi1" / "pi2" =
// + 130 / 375 inside (pe2 / tl's and om's sizes, ~7060 / ~7305 instructions, the HGMMA span grown by the pad); "po1" /
// "po2" = the same pads after the item loop (the span unchanged); "pnp" = lib padded to np's size (604 inside, 777
// after: ~8318 instructions, span ~5217); "px" = 375 DFMAs *executed* once a pair by a producer thread (om's size in
// bytes fetched every pair, off the consumers' path).
// (Session 20 (h1)'s pad entries pz, pi1, pi2, po1, po2, pnp, px were measured in session 20's first call (reading
// (A): the size costs nothing) and removed in session 20 (w1) for build time; branch s20-h1 (a980737) has them; their
// names launch lib. "aa" stays: lib's code under a second name, the A/A guard.)
MLA_SM90W_ENTRY_VB(mla_decode_sm90w_bf16_gaa, __nv_bfloat16, mla::sm90w::kLibVarB) // (VARB 0 until session 20 (w2): kLibVarB since fg shipped)
// Session 20 (w1): the softmax with fewer instructions (both dtypes). "fs" = the library's bits + kVarFoldScale (the
// scale folded into the exponent's FFMA; the row maximum taken raw and scaled once); "fg" = fs + kVarBGuardMax (VARB 64:
// the exponent bases' -inf guards as one FMNMX each); "gm" = the library's bits + kVarBGuardMax alone.
#define MLA_SM90W_ENTRY_V2(NAME, TY, VAR, VARB)                                                                 \
  extern "C" __global__ void __launch_bounds__(384, 1) NAME(const MlaParams p, const __grid_constant__ mla::sm90w::TmaMap kMap) { \
    mla::sm90w::DecodeW<TY, false, VAR, VARB>::run(p, &kMap);                                                  \
  }
// (fs / fg / gm / o2 were measured in session 20's call G (fg shipped: the library's bits since then); removed in session
// 20 (w2), main d8cc5b1 has them; their names launch lib.)
// Session 20 (w2): the lazy reference maximum (FlashAttention-4's rescale threshold; decode_sm90_wide.cu's kVarBLazyA /
// kVarBLazyB) on the library's bits (kLibVar, VARB kVarBGuardMax), both dtypes. "la" = softmax A keeps mA_ as its
// exponent reference where the warp's vote holds (no quad shuffles, bases or factor exponentials); "lb" = la + the
// same in softmax B against m_A (c = 1 there).
// (la / lb were measured in session 20's call H (lb shipped: the library's bits since then); removed in session 20 (w3),
// main be0a470 has them; their names launch lib.)
// Session 20 (w3): on lb (kLibVarB), both dtypes. "lt" = kVarBTreeMax (the own row maxima by pairwise trees); "lc" =
// kVarBLazyC (softmax B's second vote: O_R's factor not computed in the steady pair); "pf" = kVarBArriveLate (P_A's
// proxy fence and barrier-1 arrive after P_A V_A[L]'s issue); "lx" = all three. Each bit for bit lb's results.
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_bf16_glt, __nv_bfloat16, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBTreeMax)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_f16_glt, __half, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBTreeMax)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_bf16_glc, __nv_bfloat16, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBLazyC)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_f16_glc, __half, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBLazyC)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_bf16_gpf, __nv_bfloat16, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBArriveLate)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_f16_gpf, __half, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBArriveLate)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_bf16_glx, __nv_bfloat16, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBTreeMax | mla::sm90w::kVarBLazyC | mla::sm90w::kVarBArriveLate)
MLA_SM90W_ENTRY_V2(mla_decode_sm90w_f16_glx, __half, mla::sm90w::kLibVar, mla::sm90w::kLibVarB | mla::sm90w::kVarBTreeMax | mla::sm90w::kVarBLazyC | mla::sm90w::kVarBArriveLate)
// Session 16 (h1)'s "pbex" (pbe + kVarCEarly) shipped as the library's bits (x932758302) and was removed from the
// harness in round 2 (now lib; pbe = lib too, an A/A control).
// The library's bits before session 12 (x798: without kVarStAsync / kVarStSpread), for A/Bs against the new ones.
MLA_SM90W_ENTRY(mla_decode_sm90w_bf16_g798, __nv_bfloat16, false, 798)
MLA_SM90W_ENTRY(mla_decode_sm90w_f16_g798, __half, false, 798)
// combineWarps with two splits' partials ahead instead of four (fewer registers, more warps an SM): "+w2"
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_warps2_bf16(const MlaParams p) { mla::combineWarps<__nv_bfloat16, 2>(p); }
// Session 12 round 4's narftz (decode_sm90.cu + kNVarEx2Ftz) and "+f" / "+wf" (combine.cu with FTZ) were measured
// in session 13's call A (0.971x / 0.975x at b 128 s_k 8192) and removed in session 14 with their kernel bits.

using namespace mla;
#include "harness_common.cuh"

using KFn = void (*)(MlaParams, mla::sm90w::TmaMap);
struct KSpec {
  KFn fn = nullptr, fn16 = nullptr; // fn16: the f16 entry (lib only)
  bool trace = false;
  int cluster = 1;
  int warps = 0;       // "+w" (4) / "+w2" (2): combine.cu's combineWarps (one warp a row, that many splits ahead)
  bool narrow = false; // "nar": decode_sm90.cu's library entries (<= 32 rows), not the wide kernel
  int threads = 384;   // the CTA (kVarBNoProd's "np": 256)
};

static bool kspecOf(const std::string& full, KSpec& k) {
  const size_t at = full.find('@');
  std::string n = full.substr(0, at);
  k = KSpec();
  if (at != std::string::npos) k.cluster = atoi(full.c_str() + at + 2);
  const size_t plus = n.find('+');
  if (plus != std::string::npos) {
    const std::string w = n.substr(plus + 1);
    if (w == "w") k.warps = 4;
    else if (w == "w2") k.warps = 2;
    else return false;
    n = n.substr(0, plus);
  }
  if (n == "lib") { k.fn = mla_decode_sm90w_ld_bf16; k.fn16 = mla_decode_sm90w_ld_f16; }
  else if (n == "nar") { k.narrow = true; k.fn = mla_decode_sm90w_ld_bf16; k.fn16 = mla_decode_sm90w_ld_f16; } // fn unused: launchK picks decode_sm90's
  else if (n == "libtr") { k.fn = mla_decode_sm90w_bf16_gtr; k.trace = true; }
  else if (n == "x799") k.fn = mla_decode_sm90w_bf16_g799;
  else if (n == "x799tr") { k.fn = mla_decode_sm90w_bf16_g799tr; k.trace = true; }
  else if (n == "qe") { k.fn = mla_decode_sm90w_bf16_gqe; k.fn16 = mla_decode_sm90w_f16_gqe; }
  else if (n == "qetr") { k.fn = mla_decode_sm90w_bf16_gqetr; k.trace = true; }
  else if (n == "sf") { k.fn = mla_decode_sm90w_bf16_gsf; k.fn16 = mla_decode_sm90w_f16_gsf; }
  else if (n == "sftr") { k.fn = mla_decode_sm90w_bf16_gsftr; k.trace = true; }
  else if (n == "tl") k.fn = mla_decode_sm90w_bf16_gtl;
  else if (n == "aa") k.fn = mla_decode_sm90w_bf16_gaa; // session 20 (h1): the code-size probe (bf16 only)
  else if (n == "pz" || n == "pi1" || n == "pi2" || n == "po1" || n == "po2" || n == "pnp" || n == "px") { k.fn = mla_decode_sm90w_ld_bf16; k.fn16 = mla_decode_sm90w_ld_f16; } // removed in session 20 (w1): lib
  else if (n == "om" || n == "sg" || n == "s5" || n == "fs" || n == "fg" || n == "gm" || n == "o2" || n == "la" || n == "lb") { k.fn = mla_decode_sm90w_ld_bf16; k.fn16 = mla_decode_sm90w_ld_f16; } // removed in session 20 (w2) / (w3: la, lb): lib
  else if (n == "lt") { k.fn = mla_decode_sm90w_bf16_glt; k.fn16 = mla_decode_sm90w_f16_glt; } // session 20 (w3): tree maxima / B's second vote
  else if (n == "lc") { k.fn = mla_decode_sm90w_bf16_glc; k.fn16 = mla_decode_sm90w_f16_glc; }
  else if (n == "pf") { k.fn = mla_decode_sm90w_bf16_gpf; k.fn16 = mla_decode_sm90w_f16_gpf; }
  else if (n == "lx") { k.fn = mla_decode_sm90w_bf16_glx; k.fn16 = mla_decode_sm90w_f16_glx; }
  else if (n == "np") { k.fn = mla_decode_sm90w_bf16_gnp; k.fn16 = mla_decode_sm90w_f16_gnp; k.threads = 256; }
  else if (n == "pbe" || n == "pe4" || n == "pe2" || n == "sa" || n == "mae" || n == "pbl" || n == "nma" || n == "nexb" || n == "nmx" || n == "b2l" || n == "pbb" || n == "sa8" || n == "ftz" || n == "pa" || n == "pbf" || n == "pbfw" || n == "par" || n == "vis" || n == "pbfv") { k.fn = mla_decode_sm90w_ld_bf16; k.fn16 = mla_decode_sm90w_ld_f16; } // their bits are kLibVar's (session 17: entries removed)
  else if (n == "patr" || n == "satr" || n == "sa8tr") { k.fn = mla_decode_sm90w_bf16_gtr; k.trace = true; }
  else if (n == "x798") { k.fn = mla_decode_sm90w_bf16_g798; k.fn16 = mla_decode_sm90w_f16_g798; }
  else return false;
  return true;
}

// One decode launch (grid (row tiles, 1, parts): every entry here has kVarGridX), optionally as clusters of
// k.cluster row tiles; then the combine where a request was split, unless noCombine.
// The combine after a decode: combine.cu's combine (as finishLaunch) or, with k.warps, combineWarps.
static bool combineK(const Dev& d, const KSpec& k, bool f16) {
  const MlaParams& p = d.p;
  if (!k.warps) return finishLaunch(d, f16);
  CK(cudaGetLastError());
  if (d.hNs[p.b] != p.b) {
    if (k.warps == 2 && f16) return false;
    (k.warps == 2 ? mla_combine_warps2_bf16 : f16 ? mla_combine_warps_f16 : mla_combine_warps_bf16)<<<dim3(p.b, (p.sQ * p.hQ + 7) / 8), 256>>>(p);
    CK(cudaGetLastError());
  }
  return true;
}

static bool launchK(const Dev& d, const KSpec& k, bool noCombine = false, bool f16 = false) {
  const MlaParams& p = d.p;
  if (k.narrow) { // the library's narrow launch (harness.cu's kNew): grid (parts, hKv), two consumer warpgroups
    if (p.rows > 32 || p.hKv != 1 || p.pageBlockSize != 64) return false;
    const int nr = p.rows <= 16 ? 16 : 32;
    void (*const nf)(MlaParams, CUtensorMap) = nr == 16 ? (f16 ? mla_decode_sm90_f16_n16 : mla_decode_sm90_bf16_n16) : (f16 ? mla_decode_sm90_f16_n32 : mla_decode_sm90_bf16_n32);
    const int smem = nr == 16 ? mla::sm90::Layout<16, 2>::SMEM : mla::sm90::Layout<32, 2>::SMEM;
    CK(cudaFuncSetAttribute(nf, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    nf<<<dim3(p.numSmParts, p.hKv), mla::sm90::threadsOf<2>(), smem>>>(p, d.tm);
    if (noCombine) { CK(cudaGetLastError()); return true; }
    return combineK(d, k, f16);
  }
  if (p.rows < 64 || p.hKv != 1 || p.pageBlockSize != 64) return false;
  if (f16 && !k.fn16) return false;
  const KFn fn = f16 ? k.fn16 : k.fn;
  const int tiles = (p.rows + 63) / 64;
  CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, mla::sm90w::SMEM));
  const dim3 grid(tiles, p.hKv, p.numSmParts);
  if (k.cluster > 1) {
    if (tiles % k.cluster != 0) return false;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(k.threads, 1, 1);
    cfg.dynamicSmemBytes = mla::sm90w::SMEM;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeClusterDimension;
    at[0].val.clusterDim.x = k.cluster; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
    cfg.attrs = at;
    cfg.numAttrs = 1;
    CK(cudaLaunchKernelEx(&cfg, fn, p, *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tm)));
  } else {
    fn<<<grid, k.threads, mla::sm90w::SMEM>>>(p, *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tm));
  }
  if (noCombine) { CK(cudaGetLastError()); return true; }
  return combineK(d, k, f16);
}

static void problemOf(char** argv, Problem& pr) {
  pr.b = atoi(argv[0]); pr.hQ = atoi(argv[2]); pr.sQ = atoi(argv[3]); pr.causal = 1; // as bench_flashmla.py
  pr.seqlens.assign(pr.b, atoi(argv[1]));
}

static double med(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The trace of the last traced launch: kernel span, CTA durations, per-CTA clock, item ends of sibling row tiles.
static void traceSummary(const Dev& d, const std::string& tag) {
  const int tiles = (d.p.rows + 63) / 64, ctas = tiles * d.p.numSmParts;
  constexpr int W = mla::sm90w::kTraceWords;
  std::vector<unsigned long long> tr(mla::sm90w::kTraceCtas * W);
  CK(cudaMemcpyFromSymbol(tr.data(), mla::sm90w::mlaSm90wTrace, sizeof(unsigned long long) * tr.size()));
  unsigned long long t0 = ~0ull, tEnd = 0, sMax = 0;
  std::vector<double> dur, mhz, endRel, drift, startRel, items;
  for (int c = 0; c < ctas; ++c) t0 = std::min(t0, tr[W * c + 1]);
  for (int c = 0; c < ctas; ++c) {
    const unsigned long long* r = &tr[W * c];
    const unsigned long long e = std::max(r[3], r[5]);
    tEnd = std::max(tEnd, e);
    sMax = std::max(sMax, r[1]);
    dur.push_back((e - r[1]) * 1e-3);
    startRel.push_back((r[1] - t0) * 1e-3);
    endRel.push_back((e - t0) * 1e-3);
    mhz.push_back(r[3] > r[1] ? 1e3 * static_cast<double>(r[4] - r[2]) / static_cast<double>(r[3] - r[1]) : 0);
    items.push_back(static_cast<double>(r[6]));
  }
  // Siblings: CTAs c and c + 1 .. of one part (x = row tile): item k's end, the spread over the part's row tiles.
  for (int part = 0; part < d.p.numSmParts; ++part)
    for (int k = 0; k < 8; ++k) {
      unsigned long long lo = ~0ull, hi = 0;
      bool all = true;
      for (int x = 0; x < tiles; ++x) {
        const unsigned long long* r = &tr[W * (part * tiles + x)];
        if (static_cast<int>(r[6]) <= k) { all = false; break; }
        lo = std::min(lo, r[8 + k]); hi = std::max(hi, r[8 + k]);
      }
      if (all && tiles > 1) drift.push_back((hi - lo) * 1e-3);
    }
  std::vector<double> s = endRel;
  std::sort(s.begin(), s.end());
  printf("trace %s: ctas=%d span_us=%.1f start_spread_us=%.1f cta_us min/med/max=%.1f/%.1f/%.1f end_us p10/p50/p90=%.1f/%.1f/%.1f cta_mhz min/med/max=%.0f/%.0f/%.0f "
         "items med=%.0f sibling_item_end_drift_us med/p90/max=%.2f/%.2f/%.2f (n=%zu)\n",
         tag.c_str(), ctas, (tEnd - t0) * 1e-3, (sMax - t0) * 1e-3, *std::min_element(dur.begin(), dur.end()), med(dur), *std::max_element(dur.begin(), dur.end()),
         s[s.size() / 10], s[s.size() / 2], s[s.size() * 9 / 10], *std::min_element(mhz.begin(), mhz.end()), med(mhz), *std::max_element(mhz.begin(), mhz.end()),
         med(items), med(drift), drift.empty() ? 0 : [&] { auto v = drift; std::sort(v.begin(), v.end()); return v[v.size() * 9 / 10]; }(),
         drift.empty() ? 0 : *std::max_element(drift.begin(), drift.end()), drift.size());
  // SMs of each part's row tiles (placement): how many parts have all their row tiles on one TPC (smid / 2 equal).
  int sameTpc = 0;
  for (int part = 0; part < d.p.numSmParts; ++part) {
    bool same = true;
    for (int x = 1; x < tiles; ++x) same &= tr[W * (part * tiles + x)] / 2 == tr[W * (part * tiles)] / 2;
    sameTpc += same;
  }
  printf("trace %s: parts with all row tiles on one TPC: %d of %d\n", tag.c_str(), sameTpc, d.p.numSmParts);
  // Session 11 round 2: where a CTA's time goes (medians over CTAs of warpgroup 0's stamps, µs):
  //   pro   start -> item 0's Q in shared memory (barrier init, __syncthreads, first Q load)
  //   wait  item k-1's end (wg0, after storeRows) -> item k's start (both warpgroups done with item k-1), k >= 1
  //   q     item k's start -> its Q in shared memory, k >= 1
  //   tile  (item k's end - its Q ready) / its key tiles: the loop's cost a tile, storeRows included
  //   item  item k's Q ready -> its end (the loop and storeRows), all items
  //   tail  last item's end (wg0) -> the CTA's end (both warpgroups)
  //   lost  kernel span - the CTA's own duration (the CTA started late or the kernel waited for another CTA)
  std::vector<double> pro, wait, q, tile, tail, lost, itemUs, tilesCta;
  const double span = (tEnd - t0) * 1e-3;
  for (int c = 0; c < ctas; ++c) {
    const unsigned long long* r = &tr[W * c];
    const int n = static_cast<int>(std::min<unsigned long long>(r[6], 8));
    if (n == 0) continue;
    pro.push_back((r[24] - r[1]) * 1e-3);
    for (int k = 1; k < n; ++k) { wait.push_back((static_cast<double>(r[16 + k]) - static_cast<double>(r[8 + k - 1])) * 1e-3); q.push_back((r[24 + k] - r[16 + k]) * 1e-3); }
    double tc = 0;
    for (int k = 0; k < n; ++k) tc += static_cast<double>(r[32 + k]);
    tilesCta.push_back(tc);
    for (int k = 0; k < n; ++k) {
      const double body = (static_cast<double>(r[8 + k]) - static_cast<double>(r[24 + k])) * 1e-3;
      itemUs.push_back(body);
      if (r[32 + k] > 0) tile.push_back(body / static_cast<double>(r[32 + k]));
    }
    const unsigned long long e = std::max(r[3], r[5]);
    tail.push_back((static_cast<double>(e) - static_cast<double>(r[8 + n - 1])) * 1e-3);
    lost.push_back(span - (e - r[1]) * 1e-3);
  }
  auto pct = [](std::vector<double> v, double f) { if (v.empty()) return 0.0; std::sort(v.begin(), v.end()); return v[std::min(v.size() - 1, static_cast<size_t>(f * v.size()))]; };
  printf("trace %s: phases_us pro=%.2f wait=%.2f (p90 %.2f) q=%.2f (p90 %.2f) tile=%.3f (p10 %.3f p90 %.3f) item=%.1f tail=%.2f lost=%.1f (p90 %.1f) "
         "| per CTA: items=%.0f tiles=%.0f => fixed_us=pro+(items-1)(wait+q)+tail=%.1f of cta %.1f\n",
         tag.c_str(), pct(pro, 0.5), pct(wait, 0.5), pct(wait, 0.9), pct(q, 0.5), pct(q, 0.9), pct(tile, 0.5), pct(tile, 0.1), pct(tile, 0.9), pct(itemUs, 0.5),
         pct(tail, 0.5), pct(lost, 0.5), pct(lost, 0.9), med(items), med(tilesCta),
         pct(pro, 0.5) + (med(items) - 1) * (pct(wait, 0.5) + pct(q, 0.5)) + pct(tail, 0.5), med(dur));
  // Session 11 round 4: an item's body (Q in -> its end) split by warpgroup 0's clock64 stamps (medians over the items
  // of >= 3 pairs, first 8 items a CTA, in cycles; µs at the median CTA clock):
  //   keys   Q in -> the first S issued (its 9 boxes waited for: the first key tile later than Q?)
  //   s0     that S issued -> done
  //   pair0  Q in -> the first pair done (keys and s0 included); pairX = pair0 - pair (the first pair's excess)
  //   pair   (the last pair's start - the first pair's end) / (pairs - 2): a middle pair, the steady rate
  //   last   the last pair's start -> the loop's end (warpgroup 0); lastX = last - pair (or - pair / 2 without tile B)
  //   wg1    warpgroup 1's loop end - warpgroup 0's (signed)
  //   srbar  the loop's end -> storeRows past its barrier (row sums; waits for warpgroup 1)
  //   srst   that barrier -> the item's end (the 64 x 512 outputs and lse to global)
  //   excess body - pairs x pair (the fixed cost of an item) = pairX + lastX + srbar + srst
  {
    std::vector<double> keys, s0, pair0, pairX, pairM, last, lastX, wg1, srbar, srst, body, excess;
    for (int c = 0; c < ctas; ++c) {
      const unsigned long long* r = &tr[W * c];
      if (r[7] != 1) continue; // a kernel without the item stamps (qetr)
      const int n = static_cast<int>(std::min<unsigned long long>(r[6], 8));
      for (int k = 0; k < n; ++k) {
        const long long nt = static_cast<long long>(r[32 + k]), pairs = (nt + 1) / 2;
        if (pairs < 3) continue;
        auto cy = [&](int a, int b) { return static_cast<double>(static_cast<long long>(r[b + k] - r[a + k])); };
        const double pr = cy(56, 64) / static_cast<double>(pairs - 2), lp = cy(64, 72), bd = cy(96, 104);
        keys.push_back(cy(96, 40)); s0.push_back(cy(40, 48)); pair0.push_back(cy(96, 56)); pairX.push_back(cy(96, 56) - pr);
        pairM.push_back(pr); last.push_back(lp); lastX.push_back(lp - ((nt & 1) ? pr / 2 : pr));
        wg1.push_back(static_cast<double>(static_cast<long long>(r[80 + k] - r[72 + k]))); srbar.push_back(cy(72, 88)); srst.push_back(cy(88, 104));
        body.push_back(bd); excess.push_back(bd - pr * ((nt & 1) ? pairs - 0.5 : static_cast<double>(pairs)));
      }
    }
    const double f = med(mhz) > 0 ? 1.0 / med(mhz) : 0; // cycles -> µs
    auto P = [&](const char* name, const std::vector<double>& v) { printf(" %s=%.0f/%.2f", name, pct(v, 0.5), pct(v, 0.5) * f); };
    printf("trace %s: item_cyc/us n=%zu", tag.c_str(), body.size());
    P("keys", keys); P("s0", s0); P("pair0", pair0); P("pair", pairM); P("pairX", pairX); P("last", last); P("lastX", lastX);
    P("wg1", wg1); P("srbar", srbar); P("srst", srst); P("body", body); P("excess", excess);
    printf(" | sum_parts_us=%.2f (pairX+lastX+srbar+srst) mhz=%.0f\n", (pct(pairX, 0.5) + pct(lastX, 0.5) + pct(srbar, 0.5) + pct(srst, 0.5)) * f, med(mhz));
    // Session 13 round 2: the hand-off waits a pair (words 120.. / 128.. / 136..: summed over the item's pairs), the
    // x798 pair order only (0 elsewhere), and as a share of the middle pair's cycles.
    {
      std::vector<double> b2, b1, dr;
      for (int c = 0; c < ctas; ++c) {
        const unsigned long long* r = &tr[W * c];
        if (r[7] != 1) continue;
        const int n = static_cast<int>(std::min<unsigned long long>(r[6], 8));
        for (int k = 0; k < n; ++k) {
          const double pairs = static_cast<double>((r[32 + k] + 1) / 2);
          if (pairs < 3) continue;
          b2.push_back(static_cast<double>(r[120 + k]) / pairs); b1.push_back(static_cast<double>(r[128 + k]) / pairs); dr.push_back(static_cast<double>(r[136 + k]) / pairs);
        }
      }
      const double pm = pct(pairM, 0.5) > 0 ? 100.0 / pct(pairM, 0.5) : 0;
      printf("trace %s: waits_cyc_a_pair n=%zu wg0_bar2=%.0f (%.1f %%, p90 %.0f) wg1_bar1=%.0f (%.1f %%, p90 %.0f) wg1_drain=%.0f (%.1f %%, p90 %.0f) of pair=%.0f\n", tag.c_str(), b2.size(),
             pct(b2, 0.5), pct(b2, 0.5) * pm, pct(b2, 0.9), pct(b1, 0.5), pct(b1, 0.5) * pm, pct(b1, 0.9), pct(dr, 0.5), pct(dr, 0.5) * pm, pct(dr, 0.9), pct(pairM, 0.5));
    }
    // Session 12 round 2: srst of split items (f32 partials, word 112 + k) against unsplit ones (every item, any
    // length), and per CTA the split items' srst summed against the CTA's cycles (warpgroup 0: start -> end) and
    // against its tiles x the middle pair's rate / 2 (the tile time the per-tile excess scales).
    std::vector<double> srS, srU, ctaShare, ctaSrS, ctaSplit, ctaTileCyc;
    for (int c = 0; c < ctas; ++c) {
      const unsigned long long* r = &tr[W * c];
      if (r[7] != 1) continue;
      const int n = static_cast<int>(std::min<unsigned long long>(r[6], 8));
      double sum = 0, ns = 0, tl = 0;
      for (int k = 0; k < n; ++k) {
        const double v = static_cast<double>(static_cast<long long>(r[104 + k] - r[88 + k]));
        if (r[112 + k] == 1) { srS.push_back(v); sum += v; ns += 1; } else srU.push_back(v);
        tl += static_cast<double>(r[32 + k]);
      }
      const double cyc = static_cast<double>(r[4] - r[2]);
      if (cyc > 0) ctaShare.push_back(sum / cyc);
      ctaSrS.push_back(sum); ctaSplit.push_back(ns); ctaTileCyc.push_back(tl * pct(pairM, 0.5) / 2);
    }
    printf("trace %s: split srst_us med/p90=%.2f/%.2f (n=%zu) unsplit srst_us med/p90=%.2f/%.2f (n=%zu) | per CTA: split items med=%.0f, their srst_us med=%.2f = %.2f %% of the CTA (p90 %.2f %%); tiles x pair/2 med=%.1f us\n",
           tag.c_str(), pct(srS, 0.5) * f, pct(srS, 0.9) * f, srS.size(), pct(srU, 0.5) * f, pct(srU, 0.9) * f, srU.size(), med(ctaSplit), med(ctaSrS) * f,
           100 * pct(ctaShare, 0.5), 100 * pct(ctaShare, 0.9), med(ctaTileCyc) * f);
  }
  fflush(stdout);
}

static void sleepMs(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

// gap: single launches after idle, then back to back with each decode and combine between its own events.
static void gapOne(const Dev& d, const std::string& shape, const std::string& name, int n) {
  KSpec k;
  if (!kspecOf(name, k)) { fprintf(stderr, "unknown kernel %s\n", name.c_str()); exit(2); }
  if (!launchK(d, k)) { printf("gap %s %s: not launchable\n", shape.c_str(), name.c_str()); return; }
  CK(cudaDeviceSynchronize());
  std::vector<cudaEvent_t> ev(3 * n + 1);
  for (auto& e : ev) CK(cudaEventCreate(&e));
  const int singles = getenv("GAP_SINGLE") ? atoi(getenv("GAP_SINGLE")) : 3; // single launches after 400 ms idle (0: none)
  for (int r = 0; r < singles; ++r) {
    sleepMs(400);
    CK(cudaEventRecord(ev[0]));
    launchK(d, k, true);
    CK(cudaEventRecord(ev[1]));
    combineK(d, k, false);
    CK(cudaEventRecord(ev[2]));
    CK(cudaEventSynchronize(ev[2]));
    float a, b;
    CK(cudaEventElapsedTime(&a, ev[0], ev[1]));
    CK(cudaEventElapsedTime(&b, ev[1], ev[2]));
    printf("gap %s %s single r=%d decode_us=%.1f combine_us=%.1f\n", shape.c_str(), name.c_str(), r, a * 1e3, b * 1e3);
    if (k.trace && r == singles - 1) traceSummary(d, shape + " " + name + " single");
  }
  // Back to back: launch i = events 3i (before decode), 3i + 1 (between), 3i + 2 (after combine).
  sleepMs(200);
  for (int i = 0; i < n; ++i) {
    CK(cudaEventRecord(ev[3 * i]));
    launchK(d, k, true);
    CK(cudaEventRecord(ev[3 * i + 1]));
    combineK(d, k, false);
    CK(cudaEventRecord(ev[3 * i + 2]));
  }
  CK(cudaEventSynchronize(ev[3 * n - 1]));
  std::vector<double> dec, comb, gap, dec1;
  for (int i = 0; i < n; ++i) {
    float a, b, g = 0;
    CK(cudaEventElapsedTime(&a, ev[3 * i], ev[3 * i + 1]));
    CK(cudaEventElapsedTime(&b, ev[3 * i + 1], ev[3 * i + 2]));
    if (i + 1 < n) CK(cudaEventElapsedTime(&g, ev[3 * i + 2], ev[3 * i + 3]));
    if (i < 10) dec1.push_back(a * 1e3);
    if (i >= n / 2) { dec.push_back(a * 1e3); comb.push_back(b * 1e3); if (i + 1 < n) gap.push_back(g * 1e3); }
  }
  float all;
  CK(cudaEventElapsedTime(&all, ev[0], ev[3 * n - 1]));
  printf("gap %s %s b2b n=%d first10_decode_us=%.1f decode_us=%.1f combine_us=%.1f gap_us=%.2f per_launch_us=%.1f (second half medians; whole run %.1f ms)\n", shape.c_str(),
         name.c_str(), n, med(dec1), med(dec), med(comb), med(gap), med(dec) + med(comb) + med(gap), all);
  if (k.trace) traceSummary(d, shape + " " + name + " b2b-last");
  // Decode only, back to back.
  for (int i = 0; i < n; ++i) {
    CK(cudaEventRecord(ev[i]));
    launchK(d, k, true);
  }
  CK(cudaEventRecord(ev[n]));
  CK(cudaEventSynchronize(ev[n]));
  std::vector<double> d2;
  for (int i = n / 2; i < n; ++i) {
    float a;
    CK(cudaEventElapsedTime(&a, ev[i], ev[i + 1]));
    d2.push_back(a * 1e3);
  }
  printf("gap %s %s b2b-nocombine decode_us=%.1f\n", shape.c_str(), name.c_str(), med(d2));
  if (k.trace) traceSummary(d, shape + " " + name + " b2b-nocombine-last");
  fflush(stdout);
  for (auto& e : ev) CK(cudaEventDestroy(e));
}

static std::vector<std::string> words(const char* env, const char* dflt) {
  std::string v = getenv(env) ? getenv(env) : dflt, w;
  std::vector<std::string> out;
  for (char ch : v + " ") { if (ch == ' ') { if (!w.empty()) out.push_back(w); w.clear(); } else w += ch; }
  return out;
}

int main(int argc, char** argv) {
  useDevice0();
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") {
    KSpec k;
    const std::string kn = getenv("CHECK_KERNEL") ? getenv("CHECK_KERNEL") : "lib";
    if (!kspecOf(kn, k)) { fprintf(stderr, "unknown kernel %s\n", kn.c_str()); return 2; }
    static KSpec gk;
    gk = k;
    const int cases = argc > 2 ? atoi(argv[2]) : 100, seed = argc > 3 ? atoi(argv[3]) : 1;
    const int wide[][2] = {{64, 1}, {128, 1}, {32, 2}, {16, 4}, {64, 2}, {128, 2}, {96, 1}, {48, 2}, {16, 5}, {24, 3}, {128, 3}, {40, 4}};
    const int narrow[][2] = {{16, 1}, {32, 1}, {8, 2}, {16, 2}, {4, 4}, {8, 4}, {24, 1}, {1, 1}, {2, 3}, {5, 5}, {10, 3}, {12, 2}};
    const int(*shapes)[2] = k.narrow ? narrow : wide;
    const int chunk = getenv("CHECK_CHUNK") ? std::max(1, atoi(getenv("CHECK_CHUNK"))) : cases;
    int fails = 0;
    for (int c = 0, r = 0; c < cases; c += chunk, ++r) {
      fails += checkCases(std::min(chunk, cases - c), chunk < cases ? seed * 1000 + r : seed, shapes, 12, 12000, kn.c_str(),
                          [](const Dev& d, bool f16) { return launchK(d, gk, false, f16); }, gk.fn16 == nullptr);
      fflush(stdout);
    }
    return fails ? 1 : 0;
  }
  if (argc < 6) { fprintf(stderr, "usage: harness_gap check [cases] [seed] | gap|ab b s_k h_q s_q | b2bn b s_k h_q s_q n name\n"); return 2; }
  std::mt19937 rng(1234 + atoi(argv[3]) + atoi(argv[4])); // as harness_wide's timeOne
  Problem pr;
  problemOf(argv + 2, pr);
  Dev d;
  setup(pr, d, rng);
  const std::string shape = std::string("b=") + argv[2] + ",s_k=" + argv[3] + ",h_q=" + argv[4] + ",s_q=" + argv[5];
  if (mode == "gap") {
    const int n = getenv("GAP_N") ? atoi(getenv("GAP_N")) : 400;
    for (const auto& kn : words("GAP_KERNELS", "libtr lib x799")) gapOne(d, shape, kn, n);
  } else if (mode == "ab") {
    const auto names = words("AB_KERNELS", "lib x799");
    const int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 3;
    std::vector<std::vector<double>> t(names.size());
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < names.size(); ++i) {
        KSpec k;
        if (!kspecOf(names[i], k)) { fprintf(stderr, "unknown kernel %s\n", names[i].c_str()); return 2; }
        t[i].push_back(medianUs(d, [k](const Dev& dd, bool) { return launchK(dd, k); }));
      }
    printf("ab %s rows=%d", shape.c_str(), pr.sQ * pr.hQ);
    for (size_t i = 0; i < names.size(); ++i) printf(" | %s %.1f us %.3f", names[i].c_str(), med(t[i]), med(t[0]) / med(t[i]));
    printf("\n");
  } else if (mode == "abb") {
    // Session 12: short interleaved bursts at one clock. Each round, for each kernel in turn: IDLE_MS (150) idle, one
    // warm-up launch, BURST (10) launches back to back between two events (µs a launch). Medians over ROUNDS (8).
    const auto names = words("AB_KERNELS", "lib+w sa+w");
    const int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 8, burst = getenv("BURST") ? atoi(getenv("BURST")) : 10;
    const int idle = getenv("IDLE_MS") ? atoi(getenv("IDLE_MS")) : 150;
    std::vector<KSpec> ks(names.size());
    for (size_t i = 0; i < names.size(); ++i)
      if (!kspecOf(names[i], ks[i])) { fprintf(stderr, "unknown kernel %s\n", names[i].c_str()); return 2; }
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    std::vector<std::vector<double>> t(names.size());
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < names.size(); ++i) {
        const size_t k = (r & 1) ? names.size() - 1 - i : i; // alternate the order: neither kernel always goes first
        CK(cudaDeviceSynchronize());
        sleepMs(idle);
        if (!launchK(d, ks[k])) { fprintf(stderr, "launch %s failed\n", names[k].c_str()); return 2; }
        CK(cudaEventRecord(e0));
        for (int b = 0; b < burst; ++b) launchK(d, ks[k]);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        t[k].push_back(ms * 1000.0 / burst);
      }
    printf("abb %s rows=%d burst=%d rounds=%d", shape.c_str(), pr.sQ * pr.hQ, burst, rounds);
    for (size_t i = 0; i < names.size(); ++i) printf(" | %s %.1f us %.3f", names[i].c_str(), med(t[i]), med(t[0]) / med(t[i]));
    printf("\n");
  } else if (mode == "tl") {
    // Session 19 round 2: TL_REPS (2) traced launches of "tl+w" after 3 warm ones, each after TL_IDLE_MS (20) idle and
    // a zeroed buffer; each rep's stamps to TL_FILE.<rep> (int32 header: ctas, kTlPairs, kTlEv, kTlSkip; then the u32
    // words, [cta][warpgroup][kTlPairs + 1][kTlEv]).
    KSpec k;
    kspecOf("tl+w", k);
    namespace W = mla::sm90w;
    const int ctas = ((pr.sQ * pr.hQ + 63) / 64) * d.p.numSmParts;
    if (ctas > W::kTraceCtas) { fprintf(stderr, "tl: %d CTAs > %d\n", ctas, W::kTraceCtas); return 2; }
    const size_t nw = static_cast<size_t>(W::kTraceCtas) * 2 * (W::kTlPairs + 1) * W::kTlEv;
    std::vector<unsigned> buf(nw, 0);
    for (int i = 0; i < 3; ++i) launchK(d, k);
    CK(cudaDeviceSynchronize());
    const int reps = getenv("TL_REPS") ? atoi(getenv("TL_REPS")) : 2, idle = getenv("TL_IDLE_MS") ? atoi(getenv("TL_IDLE_MS")) : 20;
    const std::string file = getenv("TL_FILE") ? getenv("TL_FILE") : "tl.bin";
    for (int r = 0; r < reps; ++r) {
      std::fill(buf.begin(), buf.end(), 0u);
      CK(cudaMemcpyToSymbol(W::mlaSm90wTl, buf.data(), sizeof(unsigned) * nw));
      launchK(d, k); // warm: the one before it ran back to back with nothing between but the copy
      CK(cudaDeviceSynchronize());
      sleepMs(idle);
      CK(cudaMemcpyToSymbol(W::mlaSm90wTl, buf.data(), sizeof(unsigned) * nw));
      launchK(d, k);
      CK(cudaDeviceSynchronize());
      CK(cudaMemcpyFromSymbol(buf.data(), W::mlaSm90wTl, sizeof(unsigned) * nw));
      const std::string fn = file + "." + std::to_string(r);
      FILE* fo = fopen(fn.c_str(), "wb");
      if (!fo) { fprintf(stderr, "tl: cannot write %s\n", fn.c_str()); return 2; }
      const int hdr[4] = {ctas, W::kTlPairs, W::kTlEv, W::kTlSkip};
      fwrite(hdr, sizeof(int), 4, fo);
      fwrite(buf.data(), sizeof(unsigned), static_cast<size_t>(ctas) * 2 * (W::kTlPairs + 1) * W::kTlEv, fo);
      fclose(fo);
      printf("tl %s rows=%d ctas=%d parts=%d rep=%d -> %s\n", shape.c_str(), pr.sQ * pr.hQ, ctas, d.p.numSmParts, r, fn.c_str());
    }
  } else if (mode == "b2bn") {
    KSpec k;
    if (argc < 8 || !kspecOf(argv[7], k)) { fprintf(stderr, "b2bn needs n and a kernel name\n"); return 2; }
    launchK(d, k);
    CK(cudaDeviceSynchronize());
    sleepMs(500);
    const int n = atoi(argv[6]);
    for (int i = 0; i < n; ++i) launchK(d, k);
    CK(cudaDeviceSynchronize());
    printf("b2bn %s %s: %d launches\n", shape.c_str(), argv[7], n);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  freeDev(d);
  return 0;
}
