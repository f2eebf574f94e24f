// Standalone check and timing of the sm_90a decode kernel (decode_sm90.cu) against a float64 reference, with the
// mma.sync kernel (decode.cu, the variant the backend picks for <= 32 rows) timed in the same process.
//
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o harness bench/cuda/hopper/harness.cu
//   ./harness check [cases] [seed]   randomized cases vs the float64 reference (NaN in unused slots, poisoned outputs)
//   ./harness check1 [cases] [seed]  the same for the one-warpgroup sm90 version
//   ./harness time                   b=128 grid rows, GB/s by FlashMLA's byte formula
//   ./harness checkpdl [cases] [seed]  as check, decode and combine launched with programmatic dependent launch
//   ./harness once b s_k h_q s_q [pdl]  two calls of one configuration (for ncu)
//   ./harness tail [json]            where a short call's time goes: decode alone, combine alone, both, both with
//                                    PDL, back to back and one call at a time (b=1 s_k=32768 and the s_k=1024 rows)
// See bench/cuda/hopper/run.sh and docs/notes/cuda-hopper-decode.md.
#include "../../../src/backends/cuda/kernels/params.h"
// Only the mma.sync variant the backend uses for <= 32 rows: the rest of decode.cu's list is not needed here.
#undef MLA_DECODE_VARIANTS
#define MLA_DECODE_VARIANTS(X) X(m32_n64_s2_w8_q24, 32, 64, 2, 8, 24, 192768)
#include "../../../src/backends/cuda/kernels/decode.cu"
#define MLA_SM90_EARLY_TRIGGER // the _early entries (PDL dependents scheduled at entry), timed by `tail`
#include "../../../src/backends/cuda/kernels/decode_sm90.cu"
#include "../../../src/backends/cuda/kernels/combine.cu"
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

enum Kern { kNew, kNew1, kOld }; // sm90 two consumer warpgroups (the library's), sm90 one warpgroup, mma.sync

static bool launch(const Dev& d, bool f16, Kern which) {
  const MlaParams& p = d.p;
  if (which == kNew || which == kNew1) {
    if (p.rows > 32 || p.hKv != 1 || p.pageBlockSize != 64) return false;
    const int nr = p.rows <= 16 ? 16 : 32;
    using Fn = void (*)(MlaParams, CUtensorMap);
    Fn fn;
    int smem, threads;
    if (which == kNew) {
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
  } else {
    launchMma(d, f16 ? mla_decode_f16_m32_n64_s2_w8_q24 : mla_decode_bf16_m32_n64_s2_w8_q24, 192768, 32);
  }
  return finishLaunch(d, f16);
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
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(p.numSmParts, p.hKv);
  cfg.blockDim = dim3(mla::sm90::threadsOf<2>());
  cfg.dynamicSmemBytes = smem;
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
// Median microseconds a call: back to back (20 calls between two events, rotating over the copies so a problem
// under the L2 size is read from memory, as `flashmla bench` rotates page sets) and one call at a time (the
// stream idle before it: what a lone step pays, launch latency included).
static void tailOne(int b, int sk, int hQ, int sQ, FILE* js) {
  const int copies = b == 1 ? 4 : 2; // 4 x 38 MB (b=1) or 2 x ~160 MB: over the 50 MB L2 when rotated
  std::vector<Dev> ds(copies);
  for (int c = 0; c < copies; c++) {
    std::mt19937 rng(99 + c + sk + hQ);
    Problem pr;
    pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
    pr.seqlens.assign(b, sk);
    setup(pr, ds[c], rng);
  }
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  printf("tail b=%d s_k=%d h_q=%d s_q=%d parts=%d splits=%d\n", b, sk, hQ, sQ, ds[0].parts, ds[0].hNs[b]);
  if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d", b, sk, hQ, sQ);
  for (int m = 0; m < kTailModes; m++) {
    for (int i = 0; i < 8; i++) tailLaunch(ds[i % copies], static_cast<TailMode>(m)); // warm
    CK(cudaDeviceSynchronize());
    std::vector<float> burst, single;
    for (int rep = 0; rep < 7; rep++) {
      const int n = 20;
      CK(cudaEventRecord(e0));
      for (int i = 0; i < n; i++) tailLaunch(ds[i % copies], static_cast<TailMode>(m));
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      float ms;
      CK(cudaEventElapsedTime(&ms, e0, e1));
      burst.push_back(ms * 1000.f / n);
    }
    for (int rep = 0; rep < 21; rep++) {
      CK(cudaDeviceSynchronize());
      CK(cudaEventRecord(e0));
      tailLaunch(ds[rep % copies], static_cast<TailMode>(m));
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      float ms;
      CK(cudaEventElapsedTime(&ms, e0, e1));
      single.push_back(ms * 1000.f);
    }
    std::sort(burst.begin(), burst.end());
    std::sort(single.begin(), single.end());
    const float bu = burst[burst.size() / 2], si = single[single.size() / 2];
    printf("  %-26s back to back %7.2f us | one at a time %7.2f us\n", kTailNames[m], bu, si);
    if (js) fprintf(js, ",\"%s\":{\"burst_us\":%.2f,\"single_us\":%.2f}", kTailNames[m], bu, si);
  }
  if (js) fprintf(js, "},\n");
  fflush(stdout);
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  for (auto& d : ds) freeDev(d);
}

static int check(int cases, unsigned seed, Kern which) {
  const int shapes[][2] = {{16, 1}, {8, 2}, {32, 1}, {16, 2}, {10, 3}, {4, 4}, {1, 1}, {3, 5}};
  return checkCases(cases, seed, shapes, 8, 20000, which == kNew ? "sm90 2 warpgroups" : "sm90 1 warpgroup",
                    [which](const Dev& d, bool f16) { return launch(d, f16, which); });
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

int main(int argc, char** argv) {
  useDevice0();
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew);
  if (mode == "check1") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew1);
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
