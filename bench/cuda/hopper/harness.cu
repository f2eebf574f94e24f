// Standalone check and timing of the sm_90a decode kernel (decode_sm90.cu) against a float64 reference, with the
// mma.sync kernel (decode.cu, the variant the backend picks for <= 32 rows) timed in the same process.
//
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o harness bench/cuda/hopper/harness.cu
//   ./harness check [cases] [seed]   randomized cases vs the float64 reference (NaN in unused slots, poisoned outputs)
//   ./harness check1 [cases] [seed]  the same for the one-warpgroup sm90 version
//   ./harness time                   b=128 grid rows, GB/s by FlashMLA's byte formula
//   ./harness checkpdl [cases] [seed]  as check, decode and combine launched with programmatic dependent launch
//   ./harness once b s_k h_q s_q [pdl]  two calls of one configuration (for ncu)
//   ./harness_trace trace [b s_k h_q s_q]  built with -DMLA_SM90_TRACE: one call's per-CTA timeline (decode_sm90.cu's
//                                    trace slots): where a short call's decode time goes, tile by tile
//   ./harness_trace tracecall b s_k h_q s_q [reps [dir]]  the same build: the decode and the library's combine, one
//                                    cold call at a time, both traced on one time axis (fill, tail, the kernel gap);
//                                    TRACE_KERN=x11|x75|xso|xsm|xce|xc2 picks a Q-map entry (x11: the library's bits; x75: bits 75, the library's until session 34), and <dir>
//                                    gets <cfg>_end.csv, the item end in cycles of each CTA (session 33)
//   ./harness ab [json]              AB_KERNS (default "lib prev": the library's entry, the -DMLA_SM90_OLD_FILE build's;
//                                    also xN, decode_sm90.cu's VAR bits) interleaved ROUNDS (3) times on AB_CFG's
//                                    configurations (decode + combine, median); CHECK_KERNEL=prev|xN for check
//   ./harness qtma b s_k h_q s_q [rounds]  the library's call against the same with the kNVarQTma decode (x11; CHECK_KERNEL=x11
//                                    checks it, TRACE_KERN=x11 traces it in tracecall), copies rotated, interleaved rounds
//   ./harness abq                    session 21 n1: ABQ_KERNS (x11 x75 xaa: decode_sm90.cu's Q-map entries, the library's
//                                    code, + kNVarLazy, the library's code again) interleaved on ABQ_CFG, copies rotated;
//                                    CHECK_KERNEL=x11|x75|xaa checks them (bf16 and f16)
//   ./harness cluster check|same|time [json]  session 64: decode_sm90.cu kNVarCluster (xcl: the split merge in clusters of 8;
//                                    xcp: the same with the combine; xlb: the library's code) on b = 1 plans of 8 G parts
//   ./harness tail [json]            where a short call's time goes: decode alone, combine alone, both, both with
//                                    PDL, back to back and one call at a time (b=1 s_k=32768 and the s_k=1024 rows)
// See bench/cuda/hopper/run.sh and docs/notes/cuda-hopper-decode.md.
#include "../../../src/backends/cuda/kernels/params.h"
// Only the mma.sync variant the backend uses for <= 32 rows: the rest of decode.cu's list is not needed here.
#undef MLA_DECODE_VARIANTS
#define MLA_DECODE_VARIANTS(X) X(m32_n64_s2_w8_q24, 32, 64, 2, 8, 24, 192768)
#include "../../../src/backends/cuda/kernels/decode.cu"
#define MLA_SM90_VARIANTS // the _xN entries (VAR bits of decode_sm90.cu), timed and checked by `ab` / CHECK_KERNEL
#define MLA_SM90_EARLY_TRIGGER // the _early entries (PDL dependents scheduled at entry), timed by `tail`
// The library's entries since session 19 take q's map (bits 1 | 2 | 8); the harness times and checks the two-parameter
// entries as before (bits 1 | 2; their code is the library's _ld entries'), and x11 as the library's new one.
#ifndef MLA_SM90_LIB_VAR
#define MLA_SM90_LIB_VAR 3
#endif
#include "../../../src/backends/cuda/kernels/decode_sm90.cu"
#include "../../../src/backends/cuda/kernels/combine.cu"
// A second version of the narrow kernel beside the library's, for an interleaved A/B in one process (`ab` mode):
// build with -DMLA_SM90_OLD_FILE='"/tmp/old/decode_sm90.cu"' -I src/backends/cuda/kernels (e.g. `git show
// d2023c2:src/backends/cuda/kernels/decode_sm90.cu`); its namespace and entry names are renamed here so both link.
#ifdef MLA_SM90_OLD_FILE
#pragma push_macro("MLA_SM90_EARLY_TRIGGER")
#pragma push_macro("MLA_SM90_TRACE")
#pragma push_macro("MLA_SM90_VARIANTS")
#undef MLA_SM90_VARIANTS
#undef MLA_SM90_EARLY_TRIGGER
#undef MLA_SM90_TRACE
#undef MLA_SM90_ENTRY
#undef MLA_TRACE
#undef MLA_TRACE_GLOBAL
#define sm90 sm90old
#define mla_decode_sm90_bf16_n16 mla_decode_sm90old_bf16_n16
#define mla_decode_sm90_f16_n16 mla_decode_sm90old_f16_n16
#define mla_decode_sm90_bf16_n32 mla_decode_sm90old_bf16_n32
#define mla_decode_sm90_f16_n32 mla_decode_sm90old_f16_n32
#define mla_decode_sm90_1wg_bf16_n16 mla_decode_sm90old_1wg_bf16_n16
#define mla_decode_sm90_1wg_f16_n16 mla_decode_sm90old_1wg_f16_n16
#define mla_decode_sm90_1wg_bf16_n32 mla_decode_sm90old_1wg_bf16_n32
#define mla_decode_sm90_1wg_f16_n32 mla_decode_sm90old_1wg_f16_n32
#include MLA_SM90_OLD_FILE
#undef sm90
#undef mla_decode_sm90_bf16_n16
#undef mla_decode_sm90_f16_n16
#undef mla_decode_sm90_bf16_n32
#undef mla_decode_sm90_f16_n32
#undef mla_decode_sm90_1wg_bf16_n16
#undef mla_decode_sm90_1wg_f16_n16
#undef mla_decode_sm90_1wg_bf16_n32
#undef mla_decode_sm90_1wg_f16_n32
#pragma pop_macro("MLA_SM90_VARIANTS")
#pragma pop_macro("MLA_SM90_TRACE")
#pragma pop_macro("MLA_SM90_EARLY_TRIGGER")
#endif
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace mla;
#include "harness_common.cuh"

enum Kern { kNew, kNew1, kOld, kPrev, kX0, kX1, kX3, kX17, kX11, kX75, kXaa, kXso, kXsm, kXce, kXc2 };
static const int kXVar[] = {0, 1, 3, 17, 11, 75}; // VAR bits of kX0.. (decode_sm90.cu's MLA_SM90_VARIANTS entries) // sm90 two consumer warpgroups (the library's), sm90 one warpgroup, mma.sync, MLA_SM90_OLD_FILE's

// The entries with Q's tensor map (decode_sm90.cu kNVarQTma), bf16 and f16: kX11 (the library's code), kX75 (+ kNVarLazy,
// session 21 n1), kXaa (kX11's code under a second name): the decode alone, the map encoded on first use for this
// problem's box height.
// The Q-map entries by name (TRACE_KERN, callLib) and their Kern, one table for both (index = the row of launchXq's fns).
struct XqEntry { const char* name; Kern kern; };
static const XqEntry kXq[] = {{"x11", kX11}, {"x75", kX75}, {"xaa", kXaa}, {"xso", kXso}, {"xsm", kXsm}, {"xce", kXce}, {"xc2", kXc2}};
constexpr int kNXq = sizeof(kXq) / sizeof(kXq[0]);
static int xqIndex(Kern k) {
  for (int i = 0; i < kNXq; ++i)
    if (kXq[i].kern == k) return i;
  return -1;
}
static int xqIndex(const std::string& name) {
  for (int i = 0; i < kNXq; ++i)
    if (name == kXq[i].name) return i;
  return -1;
}
static bool launchXq(const Dev& d, bool f16, Kern which = kX11) {
  const MlaParams& p = d.p;
  if (p.rows > 32 || p.hKv != 1 || p.pageBlockSize != 64) return false;
  const int nr = p.rows <= 16 ? 16 : 32;
  if (d.tqRows != nr) { d.tq = encodeCacheMap(p.q, static_cast<size_t>(p.b) * p.sQ * p.hQ, nr); d.tqRows = nr; }
  using Fn = void (*)(MlaParams, CUtensorMap, CUtensorMap);
  const int k = xqIndex(which);
  if (k < 0) return false;
  // [kernel][f16][n32], in kXq's order
  static const Fn fns[kNXq][2][2] = {{{mla_decode_sm90_x11_bf16_n16, mla_decode_sm90_x11_bf16_n32}, {mla_decode_sm90_x11_f16_n16, mla_decode_sm90_x11_f16_n32}},
                                     {{mla_decode_sm90_x75_bf16_n16, mla_decode_sm90_x75_bf16_n32}, {mla_decode_sm90_x75_f16_n16, mla_decode_sm90_x75_f16_n32}},
                                     {{mla_decode_sm90_xaa_bf16_n16, mla_decode_sm90_xaa_bf16_n32}, {mla_decode_sm90_xaa_f16_n16, mla_decode_sm90_xaa_f16_n32}},
                                     {{mla_decode_sm90_xso_bf16_n16, mla_decode_sm90_xso_bf16_n32}, {mla_decode_sm90_xso_f16_n16, mla_decode_sm90_xso_f16_n32}},
                                     {{mla_decode_sm90_xsm_bf16_n16, mla_decode_sm90_xsm_bf16_n32}, {mla_decode_sm90_xsm_f16_n16, mla_decode_sm90_xsm_f16_n32}},
                                     {{mla_decode_sm90_xce_bf16_n16, mla_decode_sm90_xce_bf16_n32}, {mla_decode_sm90_xce_f16_n16, mla_decode_sm90_xce_f16_n32}},
                                     {{mla_decode_sm90_xc2_bf16_n16, mla_decode_sm90_xc2_bf16_n32}, {mla_decode_sm90_xc2_f16_n16, mla_decode_sm90_xc2_f16_n32}}};
  const Fn fn = fns[k][f16][nr == 32];
  const int smem = nr == 16 ? mla::sm90::Layout<16, 2>::SMEM : mla::sm90::Layout<32, 2>::SMEM;
  static bool raised[kNXq][2][2] = {};
  if (!raised[k][f16][nr == 32]) { CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)); raised[k][f16][nr == 32] = true; }
  fn<<<dim3(p.numSmParts, p.hKv), mla::sm90::threadsOf<2>(), smem>>>(p, d.tm, d.tq);
  return true;
}
static bool launchX11(const Dev& d) { return launchXq(d, false); }
static bool launch(const Dev& d, bool f16, Kern which) {
  const MlaParams& p = d.p;
  if (xqIndex(which) >= 0) {
    if (!launchXq(d, f16, which)) return false;
    return finishLaunch(d, f16);
  }
  if (which == kNew || which == kNew1 || which == kPrev || which >= kX0) {
    if (p.rows > 32 || p.hKv != 1 || p.pageBlockSize != 64) return false;
    const int nr = p.rows <= 16 ? 16 : 32;
    using Fn = void (*)(MlaParams, CUtensorMap);
    Fn fn;
    int smem, threads;
    if (which >= kX0) {
      if (f16) return false;
      smem = nr == 16 ? mla::sm90::Layout<16, 2>::SMEM : mla::sm90::Layout<32, 2>::SMEM;
      threads = mla::sm90::threadsOf<2>();
      Fn const x16[] = {mla_decode_sm90_x0_bf16_n16, mla_decode_sm90_x1_bf16_n16, mla_decode_sm90_x3_bf16_n16, mla_decode_sm90_x17_bf16_n16};
      Fn const x32[] = {mla_decode_sm90_x0_bf16_n32, mla_decode_sm90_x1_bf16_n32, mla_decode_sm90_x3_bf16_n32, mla_decode_sm90_x17_bf16_n32};
      // x17 (VAR bit 16) merges the splits itself: every part resident at once, one CTA an SM, b within its counters
      if (which == kX17 && (p.numSmParts > gSms || p.b > mla::sm90::kFuseMaxB)) return false;
      fn = nr == 16 ? x16[which - kX0] : x32[which - kX0];
    } else if (which == kPrev) {
#ifdef MLA_SM90_OLD_FILE
      smem = nr == 16 ? mla::sm90old::Layout<16, 2>::SMEM : mla::sm90old::Layout<32, 2>::SMEM;
      threads = mla::sm90old::threadsOf<2>();
      fn = nr == 16 ? (f16 ? mla_decode_sm90old_f16_n16 : mla_decode_sm90old_bf16_n16) : (f16 ? mla_decode_sm90old_f16_n32 : mla_decode_sm90old_bf16_n32);
#else
      return false;
#endif
    } else if (which == kNew) {
      smem = nr == 16 ? mla::sm90::Layout<16, 2>::SMEM : mla::sm90::Layout<32, 2>::SMEM;
      threads = mla::sm90::threadsOf<2>();
      fn = nr == 16 ? (f16 ? mla_decode_sm90_f16_n16 : mla_decode_sm90_bf16_n16) : (f16 ? mla_decode_sm90_f16_n32 : mla_decode_sm90_bf16_n32);
    } else {
      smem = nr == 16 ? mla::sm90::Layout<16, 1>::SMEM : mla::sm90::Layout<32, 1>::SMEM;
      threads = mla::sm90::threadsOf<1>();
      fn = nr == 16 ? (f16 ? mla_decode_sm90_1wg_f16_n16 : mla_decode_sm90_1wg_bf16_n16) : (f16 ? mla_decode_sm90_1wg_f16_n32 : mla_decode_sm90_1wg_bf16_n32);
    }
    CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    fn<<<dim3(p.numSmParts, p.hKv), threads, smem>>>(p, d.tm);
    if (which == kX17) { CK(cudaGetLastError()); return true; } // no combine: the decode merged the splits
  } else {
    launchMma(d, f16 ? mla_decode_f16_m32_n64_s2_w8_q24 : mla_decode_bf16_m32_n64_s2_w8_q24, 192768, 32);
  }
  return finishLaunch(d, f16);
}

// The launch of a two-warpgroup narrow entry over p's parts: grid (numSmParts, hKv), 384 threads, `smem` bytes (no attributes).
static cudaLaunchConfig_t sm90Config(const MlaParams& p, int smem) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(p.numSmParts, p.hKv);
  cfg.blockDim = dim3(mla::sm90::threadsOf<2>());
  cfg.dynamicSmemBytes = smem;
  return cfg;
}
// ---- programmatic dependent launch (kernels/pdl.cuh, src/backends/cuda/pdl.ts) ----
// The library's launches of the narrow kernel and the combine, each with the programmatic-stream-serialization
// attribute when `pdl` is set (cudaLaunchKernelEx; the attribute only lets the kernel start early, its
// griddepcontrol.wait keeps the order).
static void launchSm90(const Dev& d, bool f16, bool pdl, bool early = false) {
  const MlaParams& p = d.p;
  const int nr = p.rows <= 16 ? 16 : 32;
  void (*fn)(MlaParams, CUtensorMap) = nr == 16 ? (f16 ? mla_decode_sm90_f16_n16 : mla_decode_sm90_bf16_n16) : (f16 ? mla_decode_sm90_f16_n32 : mla_decode_sm90_bf16_n32);
  if (early) fn = nr == 16 ? mla_decode_sm90_early_bf16_n16 : mla_decode_sm90_early_bf16_n32; // bf16 only
  const int smem = nr == 16 ? mla::sm90::Layout<16, 2>::SMEM : mla::sm90::Layout<32, 2>::SMEM;
  static bool raised[3][2] = {};
  if (!raised[early ? 2 : f16][nr == 32]) { CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)); raised[early ? 2 : f16][nr == 32] = true; }
  cudaLaunchConfig_t cfg = sm90Config(p, smem);
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = pdl ? 1 : 0;
  CK(cudaLaunchKernelEx(&cfg, fn, p, d.tm));
}
static void launchCombine(const Dev& d, bool f16, bool pdl) {
  const MlaParams& p = d.p;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4);
  cfg.blockDim = dim3(256);
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = pdl ? 1 : 0;
  CK(cudaLaunchKernelEx(&cfg, f16 ? mla_combine_f16 : mla_combine_bf16, p));
}
// What `tail` times: the decode (D), the combine (C), each plain or with the PDL attribute; the library's decode
// lets the combine be scheduled when its last item's tiles are done, the _early entry at its entry.
enum TailMode { kD, kC, kDC, kDpCp, kDeCp, kTailModes };
static const char* const kTailNames[] = {"decode", "combine", "decode+combine", "d(pdl)+c(pdl) library", "d(pdl)+c(pdl) early trigger"};
static void tailLaunch(const Dev& d, TailMode m) {
  const bool split = d.hNs[d.p.b] != d.p.b;
  if (m != kC) launchSm90(d, false, m == kDpCp || m == kDeCp, m == kDeCp);
  if (m != kD && split) launchCombine(d, false, m == kDpCp || m == kDeCp);
}
// Medians of call(i) (i: the call's index, to rotate over copies) after 8 warm calls: back to back (7 x 20 calls between
// two events), one at a time (21, the stream idle before each) and, with `flush`, each after `flushBytes` zeroed outside
// the events (21; do_bench's protocol); flushed is 0 without.
struct CallTimes { float burst, single, flushed; };
template <typename Call>
static CallTimes timeCalls(Call call, cudaEvent_t e0, cudaEvent_t e1, void* flush = nullptr, size_t flushBytes = 0) {
  for (int i = 0; i < 8; i++) call(i);
  CK(cudaDeviceSynchronize());
  std::vector<float> burst, single, flushed;
  auto elapsedUs = [&]() { float ms; CK(cudaEventSynchronize(e1)); CK(cudaEventElapsedTime(&ms, e0, e1)); return ms * 1000.f; };
  for (int rep = 0; rep < 7; rep++) {
    const int n = 20;
    CK(cudaEventRecord(e0));
    for (int i = 0; i < n; i++) call(i);
    CK(cudaEventRecord(e1));
    burst.push_back(elapsedUs() / n);
  }
  for (int rep = 0; rep < 21; rep++) {
    CK(cudaDeviceSynchronize());
    CK(cudaEventRecord(e0));
    call(rep);
    CK(cudaEventRecord(e1));
    single.push_back(elapsedUs());
  }
  for (int rep = 0; flush && rep < 21; rep++) {
    CK(cudaMemsetAsync(flush, 0, flushBytes));
    CK(cudaEventRecord(e0));
    call(rep);
    CK(cudaEventRecord(e1));
    flushed.push_back(elapsedUs());
  }
  CK(cudaGetLastError());
  auto median = [](std::vector<float>& v) { if (v.empty()) return 0.f; std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  return {median(burst), median(single), median(flushed)};
}
// Median microseconds a call: back to back (20 calls between two events, rotating over the copies so a problem
// under the L2 size is read from memory, as `flashmla bench` rotates page sets) and one call at a time (the
// stream idle before it: what a lone step pays, launch latency included).
// Copies of one problem (copy c from seed seed0 + c) to rotate over: 4 x 38 MB at b=1 or 2 x ~150 MB, so each copy
// was evicted from the 50 MB L2 by the others when its turn comes.
static std::vector<Dev> rotatedCopies(int b, int sk, int hQ, int sQ, unsigned seed0) {
  const int copies = b == 1 ? 4 : 2;
  std::vector<Dev> ds(copies);
  for (int c = 0; c < copies; c++) {
    std::mt19937 rng(seed0 + c);
    Problem pr;
    pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
    pr.seqlens.assign(b, sk);
    setup(pr, ds[c], rng);
  }
  return ds;
}
static void tailOne(int b, int sk, int hQ, int sQ, FILE* js) {
  std::vector<Dev> ds = rotatedCopies(b, sk, hQ, sQ, 99 + sk + hQ);
  const int copies = static_cast<int>(ds.size());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  printf("tail b=%d s_k=%d h_q=%d s_q=%d parts=%d splits=%d\n", b, sk, hQ, sQ, ds[0].parts, ds[0].hNs[b]);
  if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d", b, sk, hQ, sQ);
  for (int m = 0; m < kTailModes; m++) {
    const CallTimes t = timeCalls([&](int i) { tailLaunch(ds[i % copies], static_cast<TailMode>(m)); }, e0, e1);
    const float bu = t.burst, si = t.single;
    printf("  %-26s back to back %7.2f us | one at a time %7.2f us\n", kTailNames[m], bu, si);
    if (js) fprintf(js, ",\"%s\":{\"burst_us\":%.2f,\"single_us\":%.2f}", kTailNames[m], bu, si);
  }
  if (js) fprintf(js, "},\n");
  fflush(stdout);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  for (auto& d : ds) freeDev(d);
}

// The library's combine for a call (used by `tracecall` and `qtma`): combine.cu's CTA merge, or combineWarps where a
// combine CTA would take more than one row (launch.ts combinePick).
static void combineLib(const Dev& d) {
  const MlaParams& p = d.p;
  if (p.combineRows > 1) mla_combine_warps_bf16<<<dim3(p.b, (p.sQ * p.hQ + 7) / 8, 1), 256>>>(p);
  else mla_combine_bf16<<<dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4), 256>>>(p);
}
#ifdef MLA_SM90_TRACE
// One plain call of the library's entry with the trace on; prints, in microseconds from the earliest CTA entry
// (globaltimer), what the CTAs with work spent where: entry spread, metadata, first copy issued, first chunks in,
// then per warpgroup tile the wait for its chunks, S^T, the softmax and O^T, and the end. The clock64 deltas of a
// CTA are scaled by its own globaltimer span (entry to warpgroup 0's end).
static int traceOne(int b, int sk, int hQ, int sQ) {
  using mla::sm90::kTraceSlots;
  std::mt19937 rng(11);
  Problem pr;
  pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
  pr.seqlens.assign(b, sk);
  Dev d;
  setup(pr, d, rng);
  const int parts = d.p.numSmParts;
  unsigned long long* buf;
  CK(cudaMalloc(&buf, static_cast<size_t>(parts) * kTraceSlots * 8));
  for (int i = 0; i < 3; i++) launchSm90(d, false, false); // warm, trace off
  CK(cudaDeviceSynchronize());
  CK(cudaMemset(buf, 0, static_cast<size_t>(parts) * kTraceSlots * 8));
  CK(cudaMemcpyToSymbol(mla::sm90::mlaTrace, &buf, sizeof(buf)));
  launchSm90(d, false, false);
  CK(cudaDeviceSynchronize());
  unsigned long long* none = nullptr;
  CK(cudaMemcpyToSymbol(mla::sm90::mlaTrace, &none, sizeof(none)));
  std::vector<unsigned long long> h(static_cast<size_t>(parts) * kTraceSlots);
  CK(cudaMemcpy(h.data(), buf, h.size() * 8, cudaMemcpyDeviceToHost));
  cudaFree(buf);
  unsigned long long g0 = ~0ull;
  for (int c = 0; c < parts; c++) g0 = std::min(g0, h[c * kTraceSlots + 92]);
  printf("trace b=%d s_k=%d h_q=%d s_q=%d parts=%d splits=%d (us from the first CTA's entry)\n", b, sk, hQ, sQ, parts, d.hNs[b]);
  // Per CTA with work: the events in us on the global axis.
  std::vector<double> entry, meta, firstIssue, firstIn, qIn, end0, end1, waitFirst, sT, soft, oT, gapT, lastO, sums, merged, stored;
  int shown = 0;
  for (int c = 0; c < parts; c++) {
    const unsigned long long* t = &h[c * kTraceSlots];
    if (!t[8]) continue; // no tile
    const double span = static_cast<double>(t[93] - t[92]), cyc = static_cast<double>(t[5] - t[0]);
    const double k = cyc > 0 ? span / cyc / 1000.0 : 0.0; // us a cycle
    const double base = (t[92] - g0) / 1000.0;
    auto at = [&](int slot) { return t[slot] ? base + (static_cast<double>(t[slot]) - static_cast<double>(t[0])) * k : -1.0; };
    entry.push_back(base); meta.push_back(at(1) - base); firstIssue.push_back(at(2) - base); firstIn.push_back(at(8) - base);
    qIn.push_back(at(4) - base); end0.push_back(at(5)); end1.push_back(at(6));
    for (int w = 0; w < 2; w++)
      for (int kk = 0; kk < 10; kk++) {
        const int s0 = 8 + 40 * w + 4 * kk;
        if (!t[s0] || !t[s0 + 3]) break;
        sT.push_back(at(s0 + 1) - at(s0)); soft.push_back(at(s0 + 2) - at(s0 + 1)); oT.push_back(at(s0 + 3) - at(s0 + 2));
        if (kk > 0) gapT.push_back(at(s0) - at(s0 - 1));
      }
    // The item's tail (last item of the CTA): warpgroup 0's last O^T, its row sums, the merge done, the stores done.
    double lo = -1;
    for (int w = 0; w < 2; w++)
      for (int kk = 0; kk < 10; kk++) if (t[8 + 40 * w + 4 * kk + 3]) lo = std::max(lo, at(8 + 40 * w + 4 * kk + 3));
    if (t[88] && t[89] && t[7] && lo > 0) { lastO.push_back(lo); sums.push_back(at(88) - lo); merged.push_back(at(89) - at(88)); stored.push_back(at(7) - at(89)); }
    if (shown < 3 || c == parts - 1) {
      shown++;
      printf("  CTA %3d: entry %6.2f meta +%.2f first copy +%.2f Q in +%.2f | ", c, base, at(1) - base, at(2) - base, at(4) - base);
      for (int w = 0; w < 2; w++) {
        printf("wg%d:", w);
        for (int kk = 0; kk < 10; kk++) {
          const int s0 = 8 + 40 * w + 4 * kk;
          if (!t[s0]) break;
          printf(" [in %.2f S %.2f P %.2f O %.2f]", at(s0), at(s0 + 1), at(s0 + 2), at(s0 + 3));
        }
        printf(" end %.2f | ", at(5 + w));
      }
      printf("\n");
    }
  }
  auto med = [](std::vector<double> v) { if (v.empty()) return 0.0; std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  auto mx = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); };
  printf("  median (max) over %zu CTAs with work: entry %.2f (%.2f), metadata +%.2f, first copy +%.2f, Q in +%.2f, first chunks in +%.2f (%.2f), "
         "end wg0 %.2f (%.2f) wg1 %.2f (%.2f)\n", entry.size(), med(entry), mx(entry), med(meta), med(firstIssue), med(qIn), med(firstIn), mx(firstIn),
         med(end0), mx(end0), med(end1), mx(end1));
  printf("  a warpgroup's tile: S^T %.2f us, softmax %.2f, O^T %.2f; from one tile's O^T to the next tile's chunks in %.2f (median of %zu tiles)\n",
         med(sT), med(soft), med(oT), med(gapT), sT.size());
  printf("  the tail (median over %zu CTAs): last O^T (either warpgroup, first 10 tiles each) at %.2f, then row sums +%.2f, merge +%.2f, output stores +%.2f\n",
         lastO.size(), med(lastO), med(sums), med(merged), med(stored));
  freeDev(d);
  return 0;
}

// `tracecall`: one library call (the decode, then the library's combine: combine.cu's CTA merge, or combineWarps where
// a combine CTA would take more than one row, launch.ts combinePick; no PDL, the library's default) with both
// kernels' stamps on, on a copy of the problem not touched since the other copies ran (copies rotated, the cache
// read from memory as `flashmla bench` and a lone decode step read it), `reps` times. The CTAs' clock64 stamps go on
// one time axis through one µs-a-cycle figure (the median over the CTAs of (globaltimer span) / (clock span)) and
// each CTA's offset (the mean of its two globaltimer readings against its clock), the combine's through the clock
// of the decode CTA that ran on the same SM. Prints, per rep and as medians over the reps, where the call's time
// goes (µs from the first decode CTA's entry); per-CTA and per-tile rows go to <dir>/tracecall_<cfg>_{cta,tile}.csv.
static dim3 combineGrid(const MlaParams& p) {
  return p.combineRows > 1 ? dim3(p.b, (p.sQ * p.hQ + 7) / 8, 1) : dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4);
}
static void callLib(const Dev& d) {
  // TRACE_KERN=x11: the kNVarQTma decode; x75 (session 33): bits 75 (the library's from session 21 to 33); xso / xsm: x75 +
  // kNVarStOut / kNVarStMat (session 33's staged output rows); xce: x75 + kNVarCEnd (session 34's short item end), xc2: xce +
  // kNVarStMat
  static const std::string tk = getenv("TRACE_KERN") ? getenv("TRACE_KERN") : "";
  static const int xi = xqIndex(tk);
  if (!(xi >= 0 && launchXq(d, false, kXq[xi].kern))) launchSm90(d, false, false);
  if (d.hNs[d.p.b] != d.p.b) combineLib(d);
}
static int traceCall(int b, int sk, int hQ, int sQ, int reps, const char* dir) {
  using mla::sm90::kTraceSlots;
  std::vector<Dev> ds = rotatedCopies(b, sk, hQ, sQ, 11); // each traced copy was evicted by the others
  const int copies = static_cast<int>(ds.size());
  const MlaParams& p0 = ds[0].p;
  const int parts = p0.numSmParts;
  const bool split = ds[0].hNs[b] != b;
  const dim3 cg = combineGrid(p0);
  const int nComb = split ? static_cast<int>(cg.x * cg.y * cg.z) : 0;
  unsigned long long *buf, *cbuf;
  CK(cudaMalloc(&buf, static_cast<size_t>(parts) * kTraceSlots * 8));
  CK(cudaMalloc(&cbuf, static_cast<size_t>(std::max(1, nComb)) * mla::kCombineTraceSlots * 8));
  for (int i = 0; i < 2 * copies; i++) callLib(ds[i % copies]); // warm, trace off
  CK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  // The same call untraced, one at a time (the stream idle before it), for the trace's overhead.
  std::vector<double> plain;
  for (int r = 0; r < 3 * copies; r++) {
    CK(cudaDeviceSynchronize());
    CK(cudaEventRecord(e0));
    callLib(ds[r % copies]);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    plain.push_back(ms * 1000.0);
  }
  char cfg[64];
  snprintf(cfg, sizeof cfg, "b%d_sk%d_h%d_s%d", b, sk, hQ, sQ);
  std::string base = dir ? std::string(dir) + "/tracecall_" + cfg : std::string();
  FILE* fc = dir ? fopen((base + "_cta.csv").c_str(), "w") : nullptr;
  FILE* ft = dir ? fopen((base + "_tile.csv").c_str(), "w") : nullptr;
  if (fc) fprintf(fc, "rep,kind,cta,sm,work,entry,meta,first_copy,last_copy,q_in,first_in_wg0,first_in_wg1,last_o,stores_wg0,stores_wg1,end_wg0,end_wg1\n");
  if (ft) fprintf(ft, "rep,cta,wg,k,in,s,p,o\n");
  FILE* fen = dir ? fopen((base + "_end.csv").c_str(), "w") : nullptr;
  if (fen) fprintf(fen, "rep,cta,o_wg0,o_wg1,sums_wg0,merge_wg0,stores_wg0,stores_wg1,end_wg0,end_wg1\n");
  auto med = [](std::vector<double> v) { if (v.empty()) return -1.0; std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  auto mn = [](const std::vector<double>& v) { return v.empty() ? -1.0 : *std::min_element(v.begin(), v.end()); };
  auto mx = [](const std::vector<double>& v) { return v.empty() ? -1.0 : *std::max_element(v.begin(), v.end()); };
  printf("tracecall b=%d s_k=%d h_q=%d s_q=%d parts=%d splits=%d combine %s grid %ux%ux%u (%d CTAs); untraced one at a time: median %.2f us\n", b, sk, hQ, sQ, parts,
         ds[0].hNs[b], !split ? "none" : p0.combineRows > 1 ? "combineWarps" : "combine (CTA a row)", cg.x, cg.y, cg.z, nComb, med(plain));
  // Per rep: the figures below; their medians over the reps at the end.
  const char* const names[] = {"event (e0 -> e1)", "decode entry, last CTA", "first copy issued (median CTA)", "first copy issued (last CTA)",
                               "Q^T in (median CTA)", "first tile in (first CTA)", "first tile in (median CTA)", "first tile in (last CTA)",
                               "last tile O^T done (median CTA)", "last tile O^T done (last CTA)", "partial stores done (median CTA)",
                               "decode CTA end (median)", "decode last CTA end", "combine first CTA entry", "combine median CTA entry",
                               "combine last CTA entry", "combine median CTA end", "combine last CTA end"};
  const int nNames = sizeof(names) / sizeof(names[0]);
  std::vector<std::vector<double>> fig(nNames);
  std::vector<double> landedAll; // every tile-in time of every rep (for the landed-bytes curve)
  std::vector<double> qGap;      // per CTA and rep: warpgroup 0's first chunks-in stamp minus its Q^T-in stamp
  int qGated = 0;                // ... under 0.1 us: the tile's chunks were in before Q^T (Q^T gated the first tile)
  int coarse = 0, gvals = 0;
  // The entry chain of a CTA's first item in clock64 cycles of that CTA (exact within it: no cross-CTA axis), CTAs with
  // work: slot pairs (from, to) of decode_sm90.cu's trace slots, and each stamp's cycles from the CTA's entry.
  static const int kChainFrom[] = {0, 1, 96, 97, 98, 99, 2, 97, 101, 2, 102, 8, 103, 4};
  static const int kChainTo[] = {1, 96, 97, 98, 99, 2, 100, 101, 4, 102, 8, 103, 9, 8};
  static const char* const kChainNames[] = {"entry -> metadata in", "metadata -> Q^T range known (thread 0)", "Q^T range -> Q^T copies issued (thread 0)",
                                            "Q^T issued (thread 0) -> producer past the CTA barrier", "barrier -> first page + item length in (producer)",
                                            "first page in -> first KV copy issued", "first KV copy -> first tile's 9th copy issued",
                                            "Q^T issued -> thread 0's own Q^T copies landed", "thread 0's Q^T landed -> Q^T in (all consumers)",
                                            "first KV copy issued -> first chunk in (wg 0)", "first chunk in -> first tile's 9 chunks in",
                                            "first tile in -> first S^T wgmma issued", "first S^T wgmma issued -> S^T done", "Q^T in -> first tile in (< 0: Q^T last)"};
  constexpr int kChain = sizeof(kChainFrom) / sizeof(kChainFrom[0]);
  static const int kStamps[] = {1, 96, 97, 98, 99, 2, 100, 101, 4, 102, 8, 103, 9};
  constexpr int kNStamps = sizeof(kStamps) / sizeof(kStamps[0]);
  std::vector<std::vector<double>> chain(kChain), stampCyc(kNStamps);
  std::vector<double> kAll;
  FILE* fe = dir ? fopen((base + "_entry.csv").c_str(), "w") : nullptr;
  if (fe) {
    fprintf(fe, "rep,cta,sm,ns_per_cycle");
    for (int i = 0; i < kNStamps; i++) fprintf(fe, ",c%d", kStamps[i]);
    fprintf(fe, "\n");
  }
  for (int rep = 0; rep < reps; rep++) {
    const int c = rep % copies;
    const Dev& d = ds[c];
    for (int i = 1; i < copies; i++) callLib(ds[(c + i) % copies]); // the others evict this copy
    CK(cudaDeviceSynchronize());
    CK(cudaMemset(buf, 0, static_cast<size_t>(parts) * kTraceSlots * 8));
    if (nComb) CK(cudaMemset(cbuf, 0, static_cast<size_t>(nComb) * mla::kCombineTraceSlots * 8));
    CK(cudaMemcpyToSymbol(mla::sm90::mlaTrace, &buf, sizeof(buf)));
    CK(cudaMemcpyToSymbol(mla::mlaCombineTrace, &cbuf, sizeof(cbuf)));
    CK(cudaDeviceSynchronize());
    CK(cudaEventRecord(e0));
    callLib(d);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    unsigned long long* none = nullptr;
    CK(cudaMemcpyToSymbol(mla::sm90::mlaTrace, &none, sizeof(none)));
    CK(cudaMemcpyToSymbol(mla::mlaCombineTrace, &none, sizeof(none)));
    std::vector<unsigned long long> h(static_cast<size_t>(parts) * kTraceSlots), hc(static_cast<size_t>(std::max(1, nComb)) * mla::kCombineTraceSlots);
    CK(cudaMemcpy(h.data(), buf, h.size() * 8, cudaMemcpyDeviceToHost));
    if (nComb) CK(cudaMemcpy(hc.data(), cbuf, hc.size() * 8, cudaMemcpyDeviceToHost));
    // One ns-a-cycle figure: the median over the CTAs of globaltimer span / clock span (entry to warpgroup 0's end).
    std::vector<double> ks;
    for (int x = 0; x < parts; x++) {
      const unsigned long long* t = &h[x * kTraceSlots];
      if (t[93] > t[92] && t[5] > t[0]) ks.push_back(static_cast<double>(t[93] - t[92]) / static_cast<double>(t[5] - t[0]));
      for (int s : {92, 93}) if (t[s]) { gvals++; coarse += t[s] % 1000 == 0; }
    }
    const double k = med(ks); // ns a cycle
    kAll.push_back(k);
    for (int x = 0; x < parts; x++) {
      const unsigned long long* t = &h[x * kTraceSlots];
      if (!t[8] || !t[0]) continue;
      for (int i = 0; i < kChain; i++)
        if (t[kChainFrom[i]] && t[kChainTo[i]]) chain[i].push_back(static_cast<double>(static_cast<long long>(t[kChainTo[i]] - t[kChainFrom[i]])));
      if (fe) fprintf(fe, "%d,%d,%llu,%.4f", rep, x, t[95], k);
      for (int i = 0; i < kNStamps; i++) {
        const long long v = t[kStamps[i]] ? static_cast<long long>(t[kStamps[i]] - t[0]) : -1;
        if (v >= 0) stampCyc[i].push_back(static_cast<double>(v));
        if (fe) fprintf(fe, ",%lld", v);
      }
      if (fe) fprintf(fe, "\n");
    }
    std::vector<double> off(parts, 0.0);
    std::vector<int> smCta(1024, -1);
    double g0 = 1e300;
    for (int x = 0; x < parts; x++) {
      const unsigned long long* t = &h[x * kTraceSlots];
      const double a = static_cast<double>(t[92]) - k * static_cast<double>(t[0]);
      off[x] = t[93] ? 0.5 * (a + static_cast<double>(t[93]) - k * static_cast<double>(t[5])) : a;
      g0 = std::min(g0, off[x] + k * static_cast<double>(t[0]));
      if (t[95] < 1024) smCta[t[95]] = x;
    }
    auto at = [&](int x, int slot) { const unsigned long long v = h[x * kTraceSlots + slot]; return v ? (off[x] + k * static_cast<double>(v) - g0) / 1000.0 : -1.0; };
    std::vector<double> entry, firstCopy, qIn, firstIn, lastO, stores, endC, endAll;
    for (int x = 0; x < parts; x++) {
      const unsigned long long* t = &h[x * kTraceSlots];
      const bool work = t[8] != 0;
      const double e = std::max(at(x, 5), at(x, 6));
      endAll.push_back(e);
      entry.push_back(at(x, 0));
      const double lo = std::max(at(x, 90), at(x, 91)), st = std::max(at(x, 7), at(x, 94));
      if (work) {
        qGap.push_back(at(x, 8) - at(x, 4));
        qGated += at(x, 8) - at(x, 4) < 0.1;
        firstCopy.push_back(at(x, 2)); qIn.push_back(at(x, 4)); firstIn.push_back(std::min(at(x, 8), at(x, 48) > 0 ? at(x, 48) : 1e30));
        lastO.push_back(lo); stores.push_back(st); endC.push_back(e);
        for (int w = 0; w < 2; w++)
          for (int kk = 0; kk < 10; kk++) {
            const int s0 = 8 + 40 * w + 4 * kk;
            if (!t[s0]) break;
            landedAll.push_back(at(x, s0));
            if (ft) fprintf(ft, "%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f\n", rep, x, w, kk, at(x, s0), at(x, s0 + 1), at(x, s0 + 2), at(x, s0 + 3));
          }
      }
      if (fc) fprintf(fc, "%d,decode,%d,%llu,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n", rep, x, t[95], work ? 1 : 0, at(x, 0), at(x, 1), at(x, 2), at(x, 3),
                      at(x, 4), at(x, 8), at(x, 48), lo, at(x, 7), at(x, 94), at(x, 5), at(x, 6));
      // session 33: the item end in clock64 cycles of the CTA from its entry (exact within a CTA): warpgroup 0 / 1's last
      // O^T (90 / 91), warpgroup 0's row sums (88) and merge (89) done, the stores issued (7 / 94), the ends (5 / 6)
      if (fen && work) {
        fprintf(fen, "%d,%d", rep, x);
        for (int sl : {90, 91, 88, 89, 7, 94, 5, 6}) fprintf(fen, ",%lld", t[sl] ? static_cast<long long>(t[sl] - t[0]) : -1LL);
        fprintf(fen, "\n");
      }
    }
    std::vector<double> cIn, cEnd;
    for (int y = 0; y < nComb; y++) {
      const unsigned long long* t = &hc[static_cast<size_t>(y) * mla::kCombineTraceSlots];
      if (!t[0]) continue;
      const int x = t[4] < 1024 ? smCta[t[4]] : -1;
      double ti, te;
      if (x >= 0) { ti = (off[x] + k * static_cast<double>(t[1]) - g0) / 1000.0; te = (off[x] + k * static_cast<double>(t[3]) - g0) / 1000.0; }
      else { ti = (static_cast<double>(t[0]) - g0) / 1000.0; te = (static_cast<double>(t[2]) - g0) / 1000.0; }
      gvals += 2; coarse += (t[0] % 1000 == 0) + (t[2] % 1000 == 0);
      const int batch = y % cg.x;
      const bool work = ds[c].hNs[batch + 1] - ds[c].hNs[batch] > 1;
      if (work) { cIn.push_back(ti); cEnd.push_back(te); }
      if (fc) fprintf(fc, "%d,combine,%d,%llu,%d,%.3f,,,,,,,,,,%.3f,\n", rep, y, t[4], work ? 1 : 0, ti, te);
    }
    const double vals[] = {ms * 1000.0, mx(entry), med(firstCopy), mx(firstCopy), med(qIn), mn(firstIn), med(firstIn), mx(firstIn), med(lastO), mx(lastO), med(stores),
                           med(endC), mx(endAll), mn(cIn), med(cIn), mx(cIn), med(cEnd), mx(cEnd)};
    for (int i = 0; i < nNames; i++) fig[i].push_back(vals[i]);
    printf("  rep %d (copy %d, %.3f ns a cycle): event %.2f | decode entry last %.2f, first copy med %.2f, Q^T in med %.2f, first tile in %.2f / %.2f / %.2f, "
           "last O^T med %.2f max %.2f, stores med %.2f, end med %.2f last %.2f | combine in %.2f / %.2f / %.2f, end med %.2f last %.2f\n",
           rep, c, k, vals[0], vals[1], vals[2], vals[4], vals[5], vals[6], vals[7], vals[8], vals[9], vals[10], vals[11], vals[12], vals[13], vals[14], vals[15], vals[16], vals[17]);
  }
  printf("  medians over %d reps (us from the first decode CTA's entry; event = e0 -> e1 of the traced call):\n", reps);
  for (int i = 0; i < nNames; i++) printf("    %-34s %7.2f\n", names[i], med(fig[i]));
  const double dEnd = med(fig[12]), cEnd = med(fig[17]), ev = med(fig[0]);
  printf("  pieces: launch + teardown (event - last combine end) %.2f | entry -> first copy %.2f | first copy -> first tile in (median CTA) %.2f | "
         "first tile in -> last O^T (median CTA) %.2f | last O^T -> stores (median) %.2f | median CTA end -> last CTA end %.2f | "
         "decode end -> combine first entry %.2f | combine first entry -> last end %.2f\n",
         ev - cEnd, med(fig[2]), med(fig[6]) - med(fig[2]), med(fig[8]) - med(fig[6]), med(fig[10]) - med(fig[8]), dEnd - med(fig[11]), med(fig[13]) - dEnd, cEnd - med(fig[13]));
  printf("  Q^T: warpgroup 0 waited for its first tile's chunks a median %.2f us after Q^T was in (CTAs x reps: %zu); under 0.1 us, i.e. the "
         "chunks were in first and Q^T gated the first tile, in %d\n", med(qGap), qGap.size(), qGated);
  // Tiles landed over time (all reps pooled; a tile = 64 keys x 576 x 2 bytes): MB a µs bin and the rate.
  if (!landedAll.empty()) {
    const double tb = 73728.0 / 1e6; // MB a tile
    double last = 0;
    for (double v : landedAll) last = std::max(last, v);
    const int bins = static_cast<int>(last) + 1;
    std::vector<int> cnt(bins, 0);
    for (double v : landedAll) if (v >= 0) cnt[static_cast<int>(v)]++;
    printf("  tiles landed a 1-us bin (MB a rep, = TB/s): ");
    for (int i = 0; i < bins; i++) printf("%d:%.2f ", i, cnt[i] * tb / reps);
    printf("\n");
  }
  {
    const double kk = med(kAll);
    auto pct = [](std::vector<double> v, double q) { if (v.empty()) return -1.0; std::sort(v.begin(), v.end()); return v[static_cast<size_t>(q * (v.size() - 1))]; };
    printf("  entry chain (first item, CTAs with work x reps, clock64 cycles within a CTA; ns at %.4f ns a cycle): median [p10 p90] cycles = median ns\n", kk);
    for (int i = 0; i < kNStamps; i++)
      printf("    stamp %3d from entry %8.0f [%8.0f %8.0f] = %7.0f ns\n", kStamps[i], pct(stampCyc[i], 0.5), pct(stampCyc[i], 0.1), pct(stampCyc[i], 0.9), pct(stampCyc[i], 0.5) * kk);
    for (int i = 0; i < kChain; i++)
      printf("    %-58s %8.0f [%8.0f %8.0f] = %7.0f ns (n %zu)\n", kChainNames[i], pct(chain[i], 0.5), pct(chain[i], 0.1), pct(chain[i], 0.9), pct(chain[i], 0.5) * kk, chain[i].size());
  }
  if (fe) fclose(fe);
  printf("  globaltimer: %d of %d readings are whole microseconds%s\n", coarse, gvals, coarse == gvals ? " (1-us resolution: CTA offsets are +-0.5 us)" : "");
  if (fc) fclose(fc);
  if (ft) fclose(ft);
  if (fen) fclose(fen);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  cudaFree(buf);
  cudaFree(cbuf);
  for (auto& d : ds) freeDev(d);
  return 0;
}
#endif

// `qtma b s_k h_q s_q [rounds]`: the library's call (decode + the library's combine, no PDL) against the same call
// with the kNVarQTma decode (x11), on copies rotated as `tail` does (the cache read from memory), interleaved `rounds`
// times: a round is, for each arm, 20 calls back to back (median of 3 bursts) and 11 calls one at a time (median).
// Prints each arm's medians over the rounds and x11 / lib, back to back and one at a time.
static void qtmaCall(const Dev& d, bool x11) {
  if (!(x11 && launchX11(d))) launchSm90(d, false, false);
  if (d.hNs[d.p.b] != d.p.b) combineLib(d);
}
static int qtmaOne(int b, int sk, int hQ, int sQ, int rounds) {
  std::vector<Dev> ds = rotatedCopies(b, sk, hQ, sQ, 99 + sk + hQ);
  const int copies = static_cast<int>(ds.size());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < 4 * copies; i++) qtmaCall(ds[i % copies], i & 1); // warm both
  CK(cudaDeviceSynchronize());
  CK(cudaGetLastError());
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  std::vector<double> burst[2], single[2];
  for (int r = 0; r < rounds; r++)
    for (int arm = 0; arm < 2; arm++) {
      const bool x = (arm ^ r) & 1; // alternate which arm goes first
      std::vector<double> bu, si;
      for (int rep = 0; rep < 3; rep++) {
        CK(cudaEventRecord(e0));
        for (int i = 0; i < 20; i++) qtmaCall(ds[i % copies], x);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        bu.push_back(ms * 1000.0 / 20);
      }
      for (int rep = 0; rep < 11; rep++) {
        CK(cudaDeviceSynchronize());
        CK(cudaEventRecord(e0));
        qtmaCall(ds[rep % copies], x);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        si.push_back(ms * 1000.0);
      }
      burst[x].push_back(med(bu));
      single[x].push_back(med(si));
    }
  CK(cudaGetLastError());
  const double lb = med(burst[0]), xb = med(burst[1]), ls = med(single[0]), xs = med(single[1]);
  printf("qtma b=%d s_k=%d h_q=%d s_q=%d rounds=%d | lib back to back %.2f one at a time %.2f | x11 back to back %.2f one at a time %.2f | x11/lib back to back %.4f one at a time %.4f\n",
         b, sk, hQ, sQ, rounds, lb, ls, xb, xs, xb / lb, xs / ls);
  printf("  rounds (back to back lib/x11, one at a time lib/x11):");
  for (int r = 0; r < rounds; r++) printf(" %.2f/%.2f,%.2f/%.2f", burst[0][r], burst[1][r], single[0][r], single[1][r]);
  printf("\n");
  fflush(stdout);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  for (auto& d : ds) freeDev(d);
  return 0;
}

// `abq` (session 21 n1): ABQ_KERNS (default "x11 x75 xaa": the library's code, + kNVarLazy, the library's code under a
// second name; the first is the reference of the ratios) on ABQ_CFG's configurations ("b,s_k,h_q,s_q ...", s_k either
// one length for all b requests or b lengths joined by ':', an uneven batch), each call the decode with Q's map and the
// library's combine (combineLib) where a request was split, bf16, on copies rotated as `tail` does (the cache read from
// memory). ROUNDS (8) interleaved rounds, the kernels' order reversed every other round (A B C, C B A, ...); in a round
// each kernel runs 3 bursts of 20 calls back to back (median) and 7 calls one at a time (median). Prints per
// configuration each kernel's median over the rounds (back to back, one at a time) and its ratio time / the first's.
static void abqCall(const Dev& d, Kern k) {
  launchXq(d, false, k);
  if (d.hNs[d.p.b] != d.p.b) combineLib(d);
}
static int abqOne(int b, const std::vector<int>& seqlens, int hQ, int sQ, const std::vector<std::string>& names, const std::vector<Kern>& ks, int rounds) {
  const int copies = b == 1 ? 4 : 2;
  std::vector<Dev> ds(copies);
  long total = 0;
  for (int x : seqlens) total += x;
  for (int c = 0; c < copies; c++) {
    std::mt19937 rng(99 + static_cast<unsigned>(total) + hQ + c);
    Problem pr;
    pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
    pr.seqlens = seqlens;
    setup(pr, ds[c], rng);
  }
  if (ds[0].p.rows > 32) { printf("abq b=%d: %d rows, not the narrow kernel's\n", b, ds[0].p.rows); for (auto& d : ds) freeDev(d); return 1; }
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  const size_t nk = ks.size();
  for (int i = 0; i < 2 * copies; i++)
    for (size_t k = 0; k < nk; k++) abqCall(ds[i % copies], ks[k]); // warm every kernel
  CK(cudaDeviceSynchronize());
  CK(cudaGetLastError());
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  std::vector<std::vector<double>> burst(nk), single(nk);
  for (int r = 0; r < rounds; r++)
    for (size_t j = 0; j < nk; j++) {
      const size_t k = (r & 1) ? nk - 1 - j : j;
      std::vector<double> bu, si;
      for (int rep = 0; rep < 3; rep++) {
        CK(cudaEventRecord(e0));
        for (int i = 0; i < 20; i++) abqCall(ds[i % copies], ks[k]);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        bu.push_back(ms * 1000.0 / 20);
      }
      for (int rep = 0; rep < 7; rep++) {
        CK(cudaDeviceSynchronize());
        CK(cudaEventRecord(e0));
        abqCall(ds[rep % copies], ks[k]);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        si.push_back(ms * 1000.0);
      }
      burst[k].push_back(med(bu));
      single[k].push_back(med(si));
    }
  CK(cudaGetLastError());
  std::string sk = std::to_string(seqlens[0]);
  for (size_t i = 1; i < seqlens.size(); i++) sk += ":" + std::to_string(seqlens[i]);
  bool same = true;
  for (int x : seqlens) same = same && x == seqlens[0];
  if (same) sk = std::to_string(seqlens[0]);
  const double bytes = 2.0 * (static_cast<double>(total) * 576 + static_cast<double>(b) * sQ * hQ * 576 + static_cast<double>(b) * sQ * hQ * 512);
  const double b0 = med(burst[0]), s0 = med(single[0]);
  printf("abq b=%d s_k=%s h_q=%d s_q=%d rows=%d rounds=%d", b, sk.c_str(), hQ, sQ, sQ * hQ, rounds);
  for (size_t k = 0; k < nk; k++) {
    const double bk = med(burst[k]), sk1 = med(single[k]);
    printf(" | %s %.2f us %.0f GB/s r %.4f single %.2f r %.4f", names[k].c_str(), bk, bytes / bk / 1e3, bk / b0, sk1, sk1 / s0);
  }
  printf("\n  rounds (back to back):");
  for (int r = 0; r < rounds; r++) {
    printf(" ");
    for (size_t k = 0; k < nk; k++) printf("%s%.2f", k ? "/" : "", burst[k][r]);
  }
  printf("\n");
  fflush(stdout);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  for (auto& d : ds) freeDev(d);
  return 0;
}

// "lib", "prev" (MLA_SM90_OLD_FILE) or "xN" (VAR bits N) to a kernel.
static Kern kernOf(const std::string& n) {
  for (int i = 0; i < static_cast<int>(sizeof(kXVar) / sizeof(kXVar[0])); ++i)
    if (n == "x" + std::to_string(kXVar[i])) return static_cast<Kern>(kX0 + i);
  const int xi = xqIndex(n); // the Q-map entries (xaa, xso, xsm, xce; x11 / x75 as above)
  if (xi >= 0) return kXq[xi].kern;
  return n == "prev" ? kPrev : kNew;
}

static int check(int cases, unsigned seed, Kern which) {
  const int shapes[][2] = {{16, 1}, {8, 2}, {32, 1}, {16, 2}, {10, 3}, {4, 4}, {1, 1}, {3, 5}};
  if (which == kNew && getenv("CHECK_KERNEL")) which = kernOf(getenv("CHECK_KERNEL")); // bf16 cases only for xN
  const bool bothDtypes = which == kX11 || which == kX75 || which == kXaa; // the Q-map entries have f16 twins
  // CHECK_LONG (default 20000): the longest sequence a case draws (session 21 n1: shorter under compute-sanitizer)
  const int longMax = getenv("CHECK_LONG") ? std::max(1, atoi(getenv("CHECK_LONG"))) : 20000;
  return checkCases(cases, seed, shapes, 8, longMax, which == kNew ? "sm90 2 warpgroups" : which == kNew1 ? "sm90 1 warpgroup" : getenv("CHECK_KERNEL"),
                    [which](const Dev& d, bool f16) { return launch(d, f16, which); }, which >= kX0 && !bothDtypes);
}

static void timeOne(int b, int sk, int hQ, int sQ, FILE* js) {
  std::mt19937 rng(1234 + sk + hQ);
  Problem pr;
  pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
  pr.seqlens.assign(b, sk);
  Dev d;
  setup(pr, d, rng);
  const double bytes = 2.0 * (static_cast<double>(b) * sk * 576 + static_cast<double>(b) * sQ * hQ * 576 + static_cast<double>(b) * sQ * hQ * 512);
  double us[3] = {0, 0, 0};
  for (int w = 0; w < 3; w++) {
    const Kern k = w == 0 ? kNew : w == 1 ? kNew1 : kOld;
    us[w] = medianUs(d, [k](const Dev& dd, bool f16) { return launch(dd, f16, k); });
  }
  printf("time b=%d s_k=%d h_q=%d s_q=%d rows=%d  sm90 %7.1f us %5.0f GB/s | sm90 1wg %7.1f us %5.0f GB/s | mma.sync %7.1f us %5.0f GB/s | gain %.2fx\n", b, sk, hQ, sQ,
         sQ * hQ, us[0], bytes / us[0] / 1e3, us[1], bytes / us[1] / 1e3, us[2], bytes / us[2] / 1e3, us[2] / us[0]);
  if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d,\"sm90_us\":%.2f,\"sm90_1wg_us\":%.2f,\"mmasync_us\":%.2f,\"bytes\":%.0f},\n", b, sk, hQ, sQ, us[0], us[1], us[2], bytes);
  freeDev(d);
}


// ---- session 64: the split merge in thread-block clusters (decode_sm90.cu kNVarCluster, entries xcl / xlb) ----
// clusterPlan: b = 1 only, the request's tiles split evenly over 8 G parts (G = min(maxClusters, tiles / 8): every part at
// least one tile), part k = piece k, so cluster c holds pieces 8c .. 8c + 7. Returns false where the shape does not fit.
static int gMaxClusters = 0; // clusters of 8 that fit at once (cudaOccupancyMaxActiveClusters), set by clusterInit
static bool clusterPlan(Dev& d, int maxClusters) {
  MlaParams& p = d.p;
  if (p.b != 1 || p.rows > 16 || p.hKv != 1 || p.pageBlockSize != 64 || p.b * p.sQ * p.hQ < 16) return false;
  int seqlen = 0;
  CK(cudaMemcpy(&seqlen, d.sl, 4, cudaMemcpyDeviceToHost));
  const int tiles = (seqlen + 63) / 64, groups = std::min(maxClusters, tiles / mla::sm90::kClusterN);
  if (groups < 1) return false;
  const int parts = mla::sm90::kClusterN * std::max(1, groups);
  if (parts > d.parts) return false; // (d.meta holds d.parts rows; oAccum b + d.parts slots)
  std::vector<int> meta(static_cast<size_t>(parts) * 8, 0);
  for (int k = 0; k < parts; k++) {
    const int t0 = static_cast<int>(static_cast<long>(tiles) * k / parts), t1 = static_cast<int>(static_cast<long>(tiles) * (k + 1) / parts);
    int* m = &meta[static_cast<size_t>(k) * 8];
    m[0] = 0; m[1] = 64 * t0; m[2] = 0; m[3] = k == parts - 1 ? seqlen : 64 * t1; m[4] = k;
  }
  d.hNs.assign(2, 0);
  d.hNs[1] = parts;
  CK(cudaMemcpy(d.meta, meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.ns, d.hNs.data(), 8, cudaMemcpyHostToDevice));
  p.numSmParts = parts;
  return true;
}
using XqFn = void (*)(MlaParams, CUtensorMap, CUtensorMap);
static void ensureQMap(const Dev& d) {
  if (d.tqRows != 16) { d.tq = encodeCacheMap(d.p.q, static_cast<size_t>(d.p.b) * d.p.sQ * d.p.hQ, 16); d.tqRows = 16; }
}
// xcl: grid numSmParts (a multiple of 8) in clusters of 8, with the PDL attribute when `pdl`; no combine.
// part (bf16 only): xcp, the clusters' merged rows stored as partial slots 0 .. G - 1 for the combine (`partNs`: [0, G] on
// the device), which follows with the PDL attribute when `pdl`.
static void launchCl(const Dev& d, bool f16, bool pdl, const int* partNs = nullptr) {
  const MlaParams& p = d.p;
  ensureQMap(d);
  const bool part = partNs != nullptr;
  const XqFn fn = part ? mla_decode_sm90_xcp_bf16_n16 : f16 ? mla_decode_sm90_xcl_f16_n16 : mla_decode_sm90_xcl_bf16_n16;
  const int smem = mla::sm90::Layout<16, 2>::SMEM;
  static bool raised[3] = {};
  const int ri = part ? 2 : f16;
  if (!raised[ri]) { CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)); raised[ri] = true; }
  cudaLaunchConfig_t cfg = sm90Config(p, smem);
  cudaLaunchAttribute at[2];
  at[0].id = cudaLaunchAttributeClusterDimension;
  at[0].val.clusterDim.x = mla::sm90::kClusterN; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
  at[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[1].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  static bool pdlRefused = false;
  cfg.numAttrs = pdl && !pdlRefused ? 2 : 1;
  const cudaError_t e = cudaLaunchKernelEx(&cfg, fn, p, d.tm, d.tq);
  if (e != cudaSuccess && cfg.numAttrs == 2) { // a cluster launch with the PDL attribute refused: without it from now on
    printf("cluster: the launch with PDL returned %s; the cl arm runs without PDL from here\n", cudaGetErrorString(e));
    cudaGetLastError();
    pdlRefused = true;
    cfg.numAttrs = 1;
    CK(cudaLaunchKernelEx(&cfg, fn, p, d.tm, d.tq));
  } else {
    CK(e);
  }
  if (part) {
    MlaParams pc = p;
    pc.numSplits = const_cast<int*>(partNs);
    cudaLaunchConfig_t cc = {};
    cc.gridDim = dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4);
    cc.blockDim = dim3(256);
    cc.attrs = at + 1;
    cc.numAttrs = pdl ? 1 : 0;
    CK(cudaLaunchKernelEx(&cc, mla_combine_bf16, pc));
  }
}
// xlb (the shipped library entry's code) and the combine the library picks for the plan (launch.ts combineEntry: the
// 16-lane t128 above 104 pieces, else the 13-lane merge), both with the PDL attribute when `pdl`.
static void launchLb(const Dev& d, bool f16, bool pdl, bool asCluster = false) {
  const MlaParams& p = d.p;
  ensureQMap(d);
  const XqFn fn = f16 ? mla_decode_sm90_xlb_f16_n16 : mla_decode_sm90_xlb_bf16_n16;
  const int smem = mla::sm90::Layout<16, 2>::SMEM;
  static bool raised[2] = {};
  if (!raised[f16]) { CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)); raised[f16] = true; }
  cudaLaunchAttribute at[2];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  at[1].id = cudaLaunchAttributeClusterDimension; // asCluster (measurement): the same kernel launched in clusters of 8
  at[1].val.clusterDim.x = mla::sm90::kClusterN; at[1].val.clusterDim.y = 1; at[1].val.clusterDim.z = 1;
  cudaLaunchConfig_t cfg = sm90Config(p, smem);
  cfg.attrs = asCluster && !pdl ? at + 1 : at;
  cfg.numAttrs = (pdl ? 1 : 0) + (asCluster ? 1 : 0);
  CK(cudaLaunchKernelEx(&cfg, fn, p, d.tm, d.tq));
  if (d.hNs[p.b] == p.b) return;
  int maxSplits = 0;
  for (int i = 0; i < p.b; i++) maxSplits = std::max(maxSplits, d.hNs[i + 1] - d.hNs[i]);
  cudaLaunchConfig_t cc = {};
  cc.gridDim = dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4);
  cc.blockDim = dim3(256);
  cc.attrs = at;
  cc.numAttrs = pdl ? 1 : 0;
  if (maxSplits > 104) CK(cudaLaunchKernelEx(&cc, f16 ? mla_combine_t128_f16 : mla_combine_t128_bf16, p));
  else CK(cudaLaunchKernelEx(&cc, f16 ? mla_combine_f16 : mla_combine_bf16, p));
}
static void clusterInit() {
  const int smem = mla::sm90::Layout<16, 2>::SMEM;
  CK(cudaFuncSetAttribute(mla_decode_sm90_xcl_bf16_n16, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(8 * 64);
  cfg.blockDim = dim3(mla::sm90::threadsOf<2>());
  cfg.dynamicSmemBytes = smem;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeClusterDimension;
  at[0].val.clusterDim.x = mla::sm90::kClusterN; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
  cfg.attrs = at;
  cfg.numAttrs = 1;
  int n = 0;
  CK(cudaOccupancyMaxActiveClusters(&n, mla_decode_sm90_xcl_bf16_n16, &cfg));
  const char* env = getenv("CL_MAX");
  gMaxClusters = std::min(env ? atoi(env) : mla::sm90::kClusterMaxGroups, std::min(n, mla::sm90::kClusterMaxGroups));
  printf("cluster: %d clusters of %d fit at once (cudaOccupancyMaxActiveClusters, %d B shared memory a CTA); plans use up to %d\n",
         n, mla::sm90::kClusterN, smem, gMaxClusters);
}
static int clusterCheck(int cases, unsigned seed) {
  clusterInit();
  const int shapes[][2] = {{16, 1}, {8, 2}, {4, 4}, {2, 8}, {1, 16}};
  return checkCases(cases, seed, shapes, 5, 140000, "xcl: the split merge in clusters of 8",
                    [](Dev& d, bool f16) {
                      if (!clusterPlan(d, gMaxClusters)) return false;
                      launchCl(d, f16, false);
                      CK(cudaGetLastError());
                      return true;
                    });
}
// Arms of `cluster time`: lib103 (FlashMLA's plan, xlb + its combine), lib (the even plan of 8 G parts, xlb + combine),
// cl (the even plan, xcl), cl0 (cl without the PDL attribute). Each: back to back (20 calls between two events over the
// rotated copies), one at a time (the stream idle before), and after 256 MB zeroed (do_bench's protocol: outside the
// events), medians.
static void clusterTimeOne(int sk, int hQ, int sQ, FILE* js, void* flush, size_t flushBytes) {
  std::vector<Dev> ds = rotatedCopies(1, sk, hQ, sQ, 7 + sk + hQ), dc = rotatedCopies(1, sk, hQ, sQ, 7 + sk + hQ);
  const int copies = static_cast<int>(ds.size());
  for (auto& d : dc) if (!clusterPlan(d, gMaxClusters)) { printf("cluster: s_k %d does not fit the plan\n", sk); return; }
  printf("cluster time b=1 s_k=%d h_q=%d s_q=%d: FlashMLA's plan %d pieces, the even plan %d pieces (%d clusters)\n", sk, hQ, sQ,
         ds[0].hNs[1], dc[0].hNs[1], dc[0].hNs[1] / 8);
  const char* names[] = {"lib103", "lib", "cl", "cl0", "clc", "libk"};
  static const int kArms = getenv("CL_ARMS") ? atoi(getenv("CL_ARMS")) : 6; // libk: lib launched in clusters of 8
  int* partNs = nullptr; // [0, G]: the clusters' partials for clc's combine
  const int hPartNs[2] = {0, dc[0].hNs[1] / mla::sm90::kClusterN};
  CK(cudaMalloc(&partNs, 8));
  CK(cudaMemcpy(partNs, hPartNs, 8, cudaMemcpyHostToDevice));
  auto call = [&](int arm, int i) {
    if (arm == 0) launchLb(ds[i % copies], false, true);
    else if (arm == 1) launchLb(dc[i % copies], false, true);
    else if (arm == 4) launchCl(dc[i % copies], false, true, partNs);
    else if (arm == 5) launchLb(dc[i % copies], false, true, true);
    else launchCl(dc[i % copies], false, arm == 2);
  };
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  if (js) fprintf(js, "{\"b\":1,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d,\"pieces_flashmla\":%d,\"pieces_even\":%d", sk, hQ, sQ, ds[0].hNs[1], dc[0].hNs[1]);
  for (int pass = 0; pass < 2; pass++)
    for (int arm = 0; arm < kArms; arm++) {
      const CallTimes t = timeCalls([&](int i) { call(arm, i); }, e0, e1, flush, flushBytes);
      const float bu = t.burst, si = t.single, fl = t.flushed;
      printf("  pass %d %-7s back to back %7.2f us | one at a time %7.2f us | after 256 MB zeroed %7.2f us\n", pass, names[arm], bu, si, fl);
      if (js) fprintf(js, ",\"%s_%d\":{\"burst_us\":%.2f,\"single_us\":%.2f,\"flush_us\":%.2f}", names[arm], pass, bu, si, fl);
      fflush(stdout);
    }
  if (js) fprintf(js, "},\n");
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  for (auto& d : ds) freeDev(d);
  for (auto& d : dc) freeDev(d);
  cudaFree(partNs);
}
// `cluster same`: xcl and lib (the same even plan, xlb + combine) on one problem; the largest output difference and
// whether a second xcl call (the counters reused) writes the same bits as the first.
static int clusterSame(int sk) {
  std::mt19937 rng(5);
  Problem pr;
  pr.b = 1; pr.hQ = 16; pr.sQ = 1;
  pr.seqlens.assign(1, sk);
  Dev d;
  setup(pr, d, rng);
  if (!clusterPlan(d, gMaxClusters)) return 0;
  const size_t n = static_cast<size_t>(16) * kDV;
  std::vector<uint16_t> a(n), b(n), c(n);
  std::vector<float> la(16), lb(16), lc(16);
  int* partNs = nullptr;
  const int hPartNs[2] = {0, d.hNs[1] / mla::sm90::kClusterN};
  CK(cudaMalloc(&partNs, 8));
  CK(cudaMemcpy(partNs, hPartNs, 8, cudaMemcpyHostToDevice));
  auto run = [&](int which, std::vector<uint16_t>& o, std::vector<float>& l) {
    CK(cudaMemset(d.out, 0xFF, n * 2));
    CK(cudaMemset(d.lse, 0xFF, 64));
    if (which == 0) launchLb(d, false, false);
    else if (which == 3) launchCl(d, false, false, partNs);
    else launchCl(d, false, which == 2);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(o.data(), d.out, n * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(l.data(), d.lse, 64, cudaMemcpyDeviceToHost));
  };
  run(0, a, la);
  run(1, b, lb);
  run(2, c, lc);
  double maxd = 0, maxl = 0;
  for (size_t i = 0; i < n; i++) maxd = std::max(maxd, static_cast<double>(std::fabs(bf2f(a[i]) - bf2f(b[i]))));
  for (int i = 0; i < 16; i++) maxl = std::max(maxl, static_cast<double>(std::fabs(la[i] - lb[i])));
  const bool same = b == c && lb == lc;
  std::vector<uint16_t> e(n);
  std::vector<float> le(16);
  double maxp = 0;
  if (hPartNs[1] > 1) { // (xcp + the combine: one cluster leaves the combine nothing to merge, and out unwritten)
    run(3, e, le);
    for (size_t i = 0; i < n; i++) maxp = std::max(maxp, static_cast<double>(std::fabs(bf2f(a[i]) - bf2f(e[i]))));
    for (int i = 0; i < 16; i++) maxp = std::max(maxp, static_cast<double>(std::fabs(la[i] - le[i])));
  }
  printf("cluster same s_k=%d (%d pieces): max |xcl - lib| out %.3e lse %.3e; second xcl call (PDL) bit-identical: %s; max |xcp+combine - lib| %.3e\n",
         sk, d.hNs[1], maxd, maxl, same ? "yes" : "NO", maxp);
  freeDev(d);
  cudaFree(partNs);
  return same && maxd < 2e-2 && maxl < 1e-3 && maxp < 2e-2 ? 0 : 1;
}

int main(int argc, char** argv) {
  useDevice0();
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew);
  if (mode == "check1") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew1);
  if (mode == "cluster") { // session 64: cluster check [cases [seed]] | cluster same | cluster time [json]
    const std::string sub = argc > 2 ? argv[2] : "check";
    if (sub == "check") return clusterCheck(argc > 3 ? atoi(argv[3]) : 400, argc > 4 ? atoi(argv[4]) : 64);
    clusterInit();
    if (sub == "same") {
      int bad = 0;
      for (int sk : {512, 4096, 8192, 32768, 65536, 100000}) bad += clusterSame(sk);
      return bad ? 1 : 0;
    }
    if (sub == "time") {
      FILE* js = argc > 3 ? fopen(argv[3], "w") : nullptr;
      if (js) fprintf(js, "[\n");
      const size_t flushBytes = 256u << 20;
      void* flush = nullptr;
      CK(cudaMalloc(&flush, flushBytes));
      if (getenv("CL_SK")) {
        clusterTimeOne(atoi(getenv("CL_SK")), 16, 1, js, flush, flushBytes);
      } else {
        const int sks[] = {4096, 8192, 16384, 32768, 65536};
        for (int sk : sks) clusterTimeOne(sk, 16, 1, js, flush, flushBytes);
        clusterTimeOne(32768, 8, 2, js, flush, flushBytes);
      }
      cudaFree(flush);
      if (js) { fprintf(js, "{}]\n"); fclose(js); }
      return 0;
    }
    fprintf(stderr, "usage: harness cluster check|same|time\n");
    return 2;
  }
  if (mode == "checkpdl") {
    const int shapes[][2] = {{16, 1}, {8, 2}, {32, 1}, {16, 2}, {10, 3}, {4, 4}, {1, 1}, {3, 5}};
    return checkCases(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, shapes, 8, 20000, "sm90, decode and combine with PDL",
                      [](const Dev& d, bool f16) {
                        const MlaParams& p = d.p;
                        if (p.rows > 32 || p.hKv != 1 || p.pageBlockSize != 64) return false;
                        launchSm90(d, f16, true);
                        if (d.hNs[p.b] != p.b) launchCombine(d, f16, true);
                        CK(cudaGetLastError());
                        return true;
                      });
  }
#ifdef MLA_SM90_TRACE
  if (mode == "trace") {
    if (argc >= 6) return traceOne(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    traceOne(1, 32768, 16, 1);
    traceOne(128, 1024, 32, 1);
    return 0;
  }
  if (mode == "tracecall") { // tracecall b s_k h_q s_q [reps [dir]]: decode + combine as the library calls them, traced
    if (argc < 6) { fprintf(stderr, "usage: harness_trace tracecall b s_k h_q s_q [reps [dir]]\n"); return 2; }
    return traceCall(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argc > 6 ? std::max(1, atoi(argv[6])) : 5, argc > 7 ? argv[7] : nullptr);
  }
#endif
  if (mode == "qtma") { // qtma b s_k h_q s_q [rounds]
    if (argc < 6) { fprintf(stderr, "usage: harness qtma b s_k h_q s_q [rounds]\n"); return 2; }
    return qtmaOne(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argc > 6 ? std::max(1, atoi(argv[6])) : 5);
  }
  if (mode == "abq") { // session 21 n1: the Q-map entries interleaved (see abqOne)
    std::vector<std::string> names;
    {
      std::string v = getenv("ABQ_KERNS") ? getenv("ABQ_KERNS") : "x11 x75 xaa", w;
      for (char ch : v + " ") { if (ch == ' ') { if (!w.empty()) names.push_back(w); w.clear(); } else w += ch; }
    }
    std::vector<Kern> ks;
    for (const auto& n : names) {
      const Kern k = kernOf(n);
      if (k != kX11 && k != kX75 && k != kXaa) { fprintf(stderr, "abq: %s is not a Q-map entry (x11 x75 xaa)\n", n.c_str()); return 2; }
      ks.push_back(k);
    }
    const int rounds = getenv("ROUNDS") ? std::max(1, atoi(getenv("ROUNDS"))) : 8;
    const std::string cfg = getenv("ABQ_CFG") ? getenv("ABQ_CFG") : "128,8192,32,1 128,8192,16,2 128,8192,16,1";
    int rc = 0;
    size_t pos = 0;
    while (pos < cfg.size()) {
      size_t e = cfg.find(' ', pos);
      if (e == std::string::npos) e = cfg.size();
      const std::string item = cfg.substr(pos, e - pos);
      pos = e + 1;
      int b, hQ, sQ;
      char lens[512];
      if (item.empty() || sscanf(item.c_str(), "%d,%511[0-9:],%d,%d", &b, lens, &hQ, &sQ) != 4) continue;
      std::vector<int> seqlens;
      for (char* t = strtok(lens, ":"); t; t = strtok(nullptr, ":")) seqlens.push_back(atoi(t));
      if (seqlens.size() == 1) seqlens.assign(b, seqlens[0]);
      if (static_cast<int>(seqlens.size()) != b) { fprintf(stderr, "abq: %s: %zu lengths for b=%d\n", item.c_str(), seqlens.size(), b); rc = 2; continue; }
      rc |= abqOne(b, seqlens, hQ, sQ, names, ks, rounds);
    }
    return rc;
  }
  if (mode == "tail") {
    FILE* js = argc > 2 ? fopen(argv[2], "w") : nullptr;
    const int grid[][4] = {{1, 32768, 16, 1}, {1, 8192, 16, 1}, {128, 1024, 16, 1}, {128, 1024, 32, 1}};
    for (const auto& g : grid) tailOne(g[0], g[1], g[2], g[3], js);
    if (js) fclose(js);
    return 0;
  }
  if (mode == "once") { // one call of a configuration after one warm call, for ncu: once b s_k h_q s_q [pdl]
    if (argc < 6) { fprintf(stderr, "usage: harness once b s_k h_q s_q [pdl]\n"); return 2; }
    std::mt19937 rng(7);
    Problem pr;
    pr.b = atoi(argv[2]); pr.hQ = atoi(argv[4]); pr.sQ = atoi(argv[5]);
    pr.seqlens.assign(pr.b, atoi(argv[3]));
    Dev d;
    setup(pr, d, rng);
    const TailMode m = argc > 6 && atoi(argv[6]) ? kDpCp : kDC;
    for (int i = 0; i < 2; i++) tailLaunch(d, m);
    CK(cudaDeviceSynchronize());
    freeDev(d);
    return 0;
  }
  if (mode == "ab") { // the library's entry (lib) against MLA_SM90_OLD_FILE's (prev), interleaved ROUNDS times, decode + combine
    // AB_CFG="b,s_k,h_q,s_q b,s_k,h_q,s_q ..." (default: b=1 s_k 32768 and b=128 s_k 1024 / 8192 at 16, 32 and 16 x 2 rows)
    std::string cfg = getenv("AB_CFG") ? getenv("AB_CFG") : "1,32768,16,1 128,1024,16,1 128,1024,32,1 128,1024,16,2 128,8192,16,1 128,8192,32,1 128,8192,16,2";
    const int rounds = getenv("ROUNDS") ? std::max(1, atoi(getenv("ROUNDS"))) : 3;
    // AB_KERNS="lib prev x1" (the first is the reference of the printed speed ratios; default "lib prev")
    std::vector<std::string> names;
    {
      std::string v = getenv("AB_KERNS") ? getenv("AB_KERNS") : "lib prev", w;
      for (char ch : v + " ") { if (ch == ' ') { if (!w.empty()) names.push_back(w); w.clear(); } else w += ch; }
    }
    FILE* js = argc > 2 ? fopen(argv[2], "w") : nullptr;
    size_t pos = 0;
    while (pos < cfg.size()) {
      size_t e = cfg.find(' ', pos);
      if (e == std::string::npos) e = cfg.size();
      int b, sk, hQ, sQ;
      if (e > pos && sscanf(cfg.substr(pos, e - pos).c_str(), "%d,%d,%d,%d", &b, &sk, &hQ, &sQ) == 4) {
        std::mt19937 rng(1234 + sk + hQ);
        Problem pr;
        pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
        pr.seqlens.assign(b, sk);
        Dev d;
        setup(pr, d, rng);
        const double bytes = 2.0 * (static_cast<double>(b) * sk * 576 + static_cast<double>(b) * sQ * hQ * 576 + static_cast<double>(b) * sQ * hQ * 512);
        std::vector<std::vector<double>> t(names.size());
        for (int r = 0; r < rounds; ++r)
          for (size_t k = 0; k < names.size(); ++k) { const Kern kk = kernOf(names[k]); t[k].push_back(medianUs(d, [kk](const Dev& dd, bool f16) { return launch(dd, f16, kk); })); }
        printf("ab b=%d s_k=%d h_q=%d s_q=%d rows=%d", b, sk, hQ, sQ, sQ * hQ);
        if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d", b, sk, hQ, sQ);
        double lib = 0;
        for (size_t k = 0; k < names.size(); ++k) {
          std::sort(t[k].begin(), t[k].end());
          const double m = t[k][t[k].size() / 2];
          if (k == 0) lib = m;
          printf(" | %s %7.2f us %5.0f GB/s %.3fx", names[k].c_str(), m, m > 0 ? bytes / m / 1e3 : 0.0, m > 0 ? lib / m : 0.0);
          if (js) fprintf(js, ",\"%s_us\":%.2f", names[k].c_str(), m);
        }
        printf("\n");
        if (js) fprintf(js, "},\n");
        fflush(stdout);
        freeDev(d);
      }
      pos = e + 1;
    }
    if (js) fclose(js);
    return 0;
  }
  if (mode == "time") {
    FILE* js = argc > 2 ? fopen(argv[2], "w") : nullptr;
    const int grid[][4] = {{128, 8192, 16, 1}, {128, 8192, 32, 1}, {128, 8192, 16, 2}, {128, 4096, 16, 1}, {128, 4096, 32, 1}, {128, 1024, 16, 1}, {128, 1024, 32, 1}, {128, 1024, 16, 2}, {1, 32768, 16, 1}};
    for (const auto& g : grid) timeOne(g[0], g[1], g[2], g[3], js);
    if (js) fclose(js);
    return 0;
  }
  fprintf(stderr, "usage: harness check|check1|checkpdl [cases] [seed] | time [json] | tail [json]\n");
  return 2;
}
