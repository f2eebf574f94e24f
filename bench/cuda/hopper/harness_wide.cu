// Standalone check and timing of the sm_90a decode kernel with the query rows on M (decode_sm90_wide.cu, >= 64
// rows, hKv = 1, page 64) against a float64 reference, with the mma.sync kernel (decode.cu, the variant the backend
// picks for >= 64 rows) timed in the same process.
//
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -DMLA_SM90W_SWAP_PROBE -o harness_wide bench/cuda/hopper/harness_wide.cu
//   ./harness_wide check [cases] [seed]   randomized cases vs the float64 reference (NaN in unused slots, poisoned outputs)
//   ./harness_wide probe                  which V descriptor reading (LBO/SBO) the hardware takes
//   ./harness_wide once b s_k h_q s_q [v2|xN]  a warm call and one call of a configuration (for ncu)
//   ./harness_wide time [json]            FlashMLA's grid rows with >= 64 rows and the uneven batch, causal like bench_flashmla.py;
//                                         COMPARE=mma (default) | v2 | none picks the second kernel timed beside sm90w,
//                                         ROUNDS=n alternates the two n times; COMPARE=vars times the library's
//                                         entry and the variants x0 (v3) .. x542 (VAR bits, decode_sm90_wide.cu)
//   ./harness_wide clocks b s_k h_q s_q   sustained timing with the SM clock probed between launches (harness_clocks.cuh):
//                                         CLK_PHASES="lib/b2b x119582/b2b lib/lb lib/dob" (kernel/mode; modes b2b, gap,
//                                         lb, dob: harness_clocks.cuh), CLK_S=1 s a b2b/gap phase, CLK_GAP_MB=256
// The scheduler, the float64 reference and the problem description are harness.cu's (harness_common.cuh).
// See bench/cuda/hopper/run_wide.sh.
#include "../../../src/backends/cuda/kernels/params.h"
// Only the mma.sync variant the backend uses for >= 64 rows (launch.ts preferredVariants): the rest is not needed.
#undef MLA_DECODE_VARIANTS
#define MLA_DECODE_VARIANTS(X) X(m64_n48_s2_w8, 64, 48, 2, 8, -1, 195072)
#include "../../../src/backends/cuda/kernels/decode.cu"
#include "../../../src/backends/cuda/kernels/decode_sm90_wide.cu"
#include "../../../src/backends/cuda/kernels/combine.cu"
// A second version of the kernel beside the library's, for A/B timing in one process (COMPARE=v2): build with
// -DMLA_SM90W_V2_FILE='"/tmp/v2.cu"' (e.g. `git show c9f1e47:src/backends/cuda/kernels/decode_sm90_wide.cu`); its
// namespace and entry names are renamed here so both link.
#ifdef MLA_SM90W_V2_FILE
#pragma push_macro("MLA_SM90W_ENTRY")
#pragma push_macro("MLA_SM90W_SWAP_PROBE")
#undef MLA_SM90W_ENTRY
#undef MLA_SM90W_SWAP_PROBE // the old file's variant entries are not built (their names would clash)
#define sm90w sm90w_v2
#define mla_decode_sm90w_bf16 mla_decode_sm90w_v2_bf16
#define mla_decode_sm90w_f16 mla_decode_sm90w_v2_f16
#define mla_decode_sm90w_bf16_swapv mla_decode_sm90w_v2_bf16_swapv
#include MLA_SM90W_V2_FILE
#undef sm90w
#undef mla_decode_sm90w_bf16
#undef mla_decode_sm90w_f16
#undef mla_decode_sm90w_bf16_swapv
#pragma pop_macro("MLA_SM90W_SWAP_PROBE")
#pragma pop_macro("MLA_SM90W_ENTRY")
#endif
#include <cuda.h>
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
#include "harness_clocks.cuh"

enum Kern { kNew, kOld, kV2, kX0, kX1, kX2, kX3, kX4, kX8, kX16, kX24, kX29, kX30, kX94, kX158, kX286, kX542, kX350, kX1054, kX798, kX799, kX31, kX2846, kX4894, kX54046, kX37662, kX119582 };
static const int kXVar[] = {0, 1, 2, 3, 4, 8, 16, 24, 29, 30, 94, 158, 286, 542, 350, 1054, 798, 799, 31, 2846, 4894, 54046, 37662, 119582}; // VAR bits of kX0.. in order // kXn: the sm90w variant with VAR bits n (decode_sm90_wide.cu)

// One sm90w launch: grid (parts, 1, row tiles), or (row tiles, 1, parts) for the kVarGridX variants.
static void launchW(const Dev& d, void (*fn)(MlaParams, mla::sm90w::TmaMap), bool gridX) {
  const MlaParams& p = d.p;
  CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, mla::sm90w::SMEM));
  const int tiles = (p.rows + 63) / 64;
  const dim3 grid = gridX ? dim3(tiles, p.hKv, p.numSmParts) : dim3(p.numSmParts, p.hKv, tiles);
  fn<<<grid, 384, mla::sm90w::SMEM>>>(p, *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tm));
}

// The library's entries (mla_decode_sm90w_bf16 / _f16, kVarBQTma since session 21): q's tensor map too, 64-row boxes
// (launch.ts sm90QMap), made on first use; the grid as launchW's.
static void launchWq(const Dev& d, void (*fn)(MlaParams, mla::sm90w::TmaMap, mla::sm90w::TmaMap), bool gridX) {
  const MlaParams& p = d.p;
  if (d.tqRows != 64) { d.tq = encodeCacheMap(p.q, static_cast<size_t>(p.b) * p.sQ * p.hQ, 64); d.tqRows = 64; }
  CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, mla::sm90w::SMEM));
  const int tiles = (p.rows + 63) / 64;
  const dim3 grid = gridX ? dim3(tiles, p.hKv, p.numSmParts) : dim3(p.numSmParts, p.hKv, tiles);
  fn<<<grid, 384, mla::sm90w::SMEM>>>(p, *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tm), *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tq));
}

// The same as a 2-CTA cluster along x (kVarMcast variants): row tiles in pairs; false (shape skipped) for an odd count.
static bool launchWc(const Dev& d, void (*fn)(MlaParams, mla::sm90w::TmaMap)) {
  const MlaParams& p = d.p;
  const int tiles = (p.rows + 63) / 64;
  if (tiles % 2 != 0 || p.qIndptr) return false;
  CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, mla::sm90w::SMEM));
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(tiles, p.hKv, p.numSmParts);
  cfg.blockDim = dim3(384, 1, 1);
  cfg.dynamicSmemBytes = mla::sm90w::SMEM;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeClusterDimension;
  at[0].val.clusterDim.x = 2; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
  cfg.attrs = at;
  cfg.numAttrs = 1;
  static bool told = false; // how many such clusters fit at once (the grid is one wave only if all of them do)
  if (!told) {
    int n = 0;
    CK(cudaOccupancyMaxActiveClusters(&n, fn, &cfg));
    fprintf(stderr, "cluster launch: %d clusters of 2 fit at once; grid %d x %d = %d clusters\n", n, tiles, p.numSmParts, tiles / 2 * p.numSmParts);
    told = true;
  }
  CK(cudaLaunchKernelEx(&cfg, fn, p, *reinterpret_cast<const mla::sm90w::TmaMap*>(&d.tm)));
  return true;
}

static bool gSwap = false;

static bool launch(const Dev& d, bool f16, Kern which) {
  const MlaParams& p = d.p;
  if (which != kOld && which != kV2) {
    if (p.rows < 64 || p.hKv != 1 || p.pageBlockSize != 64) return false;
    bool gridX = (mla::sm90w::kLibVar & mla::sm90w::kVarGridX) != 0;
    if (which < kX0 && !gSwap) { // the library's entry: with q's map
      launchWq(d, f16 ? mla_decode_sm90w_f16 : mla_decode_sm90w_bf16, gridX);
      return finishLaunch(d, f16);
    }
    if (f16) return false; // (the variants and the swapped-descriptor probe are bf16 entries)
    void (*fn)(MlaParams, mla::sm90w::TmaMap) = mla_decode_sm90w_bf16_swapv;
    if (which >= kX0) {
      if (f16) return false;
      void (*const xs[])(MlaParams, mla::sm90w::TmaMap) = {mla_decode_sm90w_bf16_x0, mla_decode_sm90w_bf16_x1, mla_decode_sm90w_bf16_x2, mla_decode_sm90w_bf16_x3, mla_decode_sm90w_bf16_x4,
                                                              mla_decode_sm90w_bf16_x8, mla_decode_sm90w_bf16_x16, mla_decode_sm90w_bf16_x24,
                                                              mla_decode_sm90w_bf16_x29, mla_decode_sm90w_bf16_x30,
                                                              mla_decode_sm90w_bf16_x94, mla_decode_sm90w_bf16_x158, mla_decode_sm90w_bf16_x286,
                                                              mla_decode_sm90w_bf16_x542, mla_decode_sm90w_bf16_x350, mla_decode_sm90w_bf16_x1054,
                                                              mla_decode_sm90w_bf16_x798, mla_decode_sm90w_bf16_x799, mla_decode_sm90w_bf16_x31, mla_decode_sm90w_bf16_x2846,
                                                              mla_decode_sm90w_bf16_x4894, mla_decode_sm90w_bf16_x54046, mla_decode_sm90w_bf16_x37662,
                                                              mla_decode_sm90w_bf16_x119582};
      fn = xs[which - kX0];
      gridX = (kXVar[which - kX0] & mla::sm90w::kVarGridX) != 0;
      if (kXVar[which - kX0] & mla::sm90w::kVarMcast) return launchWc(d, fn) && finishLaunch(d, f16);
    }
    launchW(d, fn, gridX);
  } else if (which == kV2) {
#ifdef MLA_SM90W_V2_FILE
    if (p.rows < 64 || p.hKv != 1 || p.pageBlockSize != 64) return false;
    void (*fn)(MlaParams, mla::sm90w_v2::TmaMap) = f16 ? mla_decode_sm90w_v2_f16 : mla_decode_sm90w_v2_bf16;
    CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, mla::sm90w_v2::SMEM));
    // MLA_SM90W_V2_GRIDX=1: the old file launches as (row tiles, 1, parts) (its kLibVar has kVarGridX, as d2023c2's)
#if defined(MLA_SM90W_V2_GRIDX) && MLA_SM90W_V2_GRIDX
    fn<<<dim3((p.rows + 63) / 64, p.hKv, p.numSmParts), 384, mla::sm90w_v2::SMEM>>>(p, *reinterpret_cast<const mla::sm90w_v2::TmaMap*>(&d.tm));
#else
    fn<<<dim3(p.numSmParts, p.hKv, (p.rows + 63) / 64), 384, mla::sm90w_v2::SMEM>>>(p, *reinterpret_cast<const mla::sm90w_v2::TmaMap*>(&d.tm));
#endif
#else
    return false;
#endif
  } else {
    launchMma(d, f16 ? mla_decode_f16_m64_n48_s2_w8 : mla_decode_bf16_m64_n48_s2_w8, 195072, 64);
  }
  return finishLaunch(d, f16);
}

// "lib" or "xN" (N one of kXVar) to a kernel; kNew when unknown.
static Kern kernOf(const std::string& n) {
  for (int i = 0; i < static_cast<int>(sizeof(kXVar) / sizeof(kXVar[0])); ++i)
    if (n == "x" + std::to_string(kXVar[i])) return static_cast<Kern>(kX0 + i);
  return n == "v2" ? kV2 : kNew;
}
static Kern gCheckKern = kNew; // CHECK_KERNEL=xN checks a harness variant (bf16 cases only)

static int check(int cases, unsigned seed, bool bf16Only = false, int only = -1) {
  const int shapes[][2] = {{64, 1}, {128, 1}, {32, 2}, {16, 4}, {64, 2}, {128, 2}, {96, 1}, {48, 2}, {16, 5}, {24, 3}, {128, 3}, {40, 4}};
  return checkCases(cases, seed, shapes, 12, 12000, "sm90w", [](const Dev& d, bool f16) { return launch(d, f16, gCheckKern); }, bf16Only || gCheckKern != kNew, only);
}

static void timeOne(const std::vector<int>& seqlens, int hQ, int sQ, FILE* js) {
  const int b = seqlens.size(), sk = seqlens[0];
  long total = 0;
  for (int s : seqlens) total += s;
  std::mt19937 rng(1234 + sk + hQ);
  Problem pr;
  pr.b = b; pr.hQ = hQ; pr.sQ = sQ; pr.causal = 1; // as bench_flashmla.py
  pr.seqlens = seqlens;
  Dev d;
  setup(pr, d, rng);
  const double bytes = 2.0 * (static_cast<double>(total) * 576 + static_cast<double>(b) * sQ * hQ * 576 + static_cast<double>(b) * sQ * hQ * 512);
  const double flops = 2.0 * sQ * static_cast<double>(total) * hQ * (576 + 512);
  // The sm90w kernel, then COMPARE=mma (default: decode.cu's mma.sync pick), v2 (MLA_SM90W_V2_FILE) or none. With
  // ROUNDS=n (default 1) the two alternate n times (A B A B ...) and the median of the rounds' medians is kept.
  const char* cmpEnv = getenv("COMPARE");
  const std::string cmp = cmpEnv ? cmpEnv : "mma";
  const Kern other = cmp == "v2" ? kV2 : kOld;
  const int rounds = getenv("ROUNDS") ? std::max(1, atoi(getenv("ROUNDS"))) : 1;
  if (cmp == "vars") { // the library's entry and the variants x0 (v3) .. x4, interleaved ROUNDS times
    // VARS="lib x0 ..." picks the list (default: the library's entry and every variant).
    std::vector<std::string> names = {"lib", "x0", "x1", "x2", "x3", "x4", "x8", "x16", "x24", "x29", "x30", "x94", "x158", "x286", "x542", "x350", "x1054", "x798", "x799", "x31", "x2846", "x4894", "x54046", "x37662", "x119582"};
    if (getenv("VARS")) {
      names.clear();
      std::string v = getenv("VARS"), w;
      for (char ch : v + " ") { if (ch == ' ') { if (!w.empty()) names.push_back(w); w.clear(); } else w += ch; }
    }
    const int nk = names.size();
    std::vector<Kern> ks;
    for (const auto& n : names) ks.push_back(kernOf(n));
    std::vector<std::vector<double>> t(nk);
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < nk; ++k) { const Kern kk = ks[k]; t[k].push_back(medianUs(d, [kk](const Dev& dd, bool f16) { return launch(dd, f16, kk); })); }
    printf("vars b=%d s_k=%d h_q=%d s_q=%d rows=%d", b, sk, hQ, sQ, sQ * hQ);
    if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d,\"flops\":%.0f", b, sk, hQ, sQ, flops);
    for (int k = 0; k < nk; ++k) {
      std::sort(t[k].begin(), t[k].end());
      const double m = t[k][t[k].size() / 2];
      printf(" | %s %7.1f us %4.0f TF", names[k].c_str(), m, flops / m / 1e6);
      if (js) fprintf(js, ",\"%s_us\":%.2f", names[k].c_str(), m);
    }
    printf("\n");
    if (js) fprintf(js, "},\n");
    freeDev(d);
    return;
  }
  std::vector<double> ua, ub;
  for (int r = 0; r < rounds; ++r) {
    ua.push_back(medianUs(d, [](const Dev& dd, bool f16) { return launch(dd, f16, kNew); }));
    if (cmp != "none") ub.push_back(medianUs(d, [other](const Dev& dd, bool f16) { return launch(dd, f16, other); }));
  }
  std::sort(ua.begin(), ua.end());
  std::sort(ub.begin(), ub.end());
  double us[2] = {ua[ua.size() / 2], ub.empty() ? 0 : ub[ub.size() / 2]};
  printf("time b=%d s_k=%d h_q=%d s_q=%d rows=%d  sm90w %8.1f us %5.0f TFLOPS %5.0f GB/s | %s %8.1f us %5.0f TFLOPS | gain %.2fx\n", b, sk, hQ, sQ, sQ * hQ,
         us[0], flops / us[0] / 1e6, bytes / us[0] / 1e3, cmp.c_str(), us[1], flops / us[1] / 1e6, us[1] / us[0]);
  if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d,\"sm90w_us\":%.2f,\"%s_us\":%.2f,\"flops\":%.0f,\"bytes\":%.0f},\n", b, sk, hQ, sQ, us[0], cmp.c_str(), us[1], flops, bytes);
  freeDev(d);
}

int main(int argc, char** argv) {
  useDevice0();
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (getenv("CHECK_KERNEL")) gCheckKern = kernOf(getenv("CHECK_KERNEL"));
  if (mode == "check") {
    const int cases = argc > 2 ? atoi(argv[2]) : 200, seed = argc > 3 ? atoi(argv[3]) : 1;
    // CHECK_CHUNK=n: runs of n cases (seeds seed * 1000 + run), a summary line each, so a run cut short by a time
    // limit still reports what it checked (run under stdbuf -oL).
    const int chunk = getenv("CHECK_CHUNK") ? std::max(1, atoi(getenv("CHECK_CHUNK"))) : cases;
    int fails = 0;
    for (int c = 0, r = 0; c < cases; c += chunk, ++r) { fails += check(std::min(chunk, cases - c), chunk < cases ? seed * 1000 + r : seed); fflush(stdout); }
    return fails ? 1 : 0;
  }
  if (mode == "probe") {
#ifdef MLA_SM90W_SWAP_PROBE
    for (int sw = 0; sw < 2; ++sw) {
      gSwap = sw == 1;
      printf("probe: V descriptor %s\n", sw ? "LBO 1024, SBO 8192 (swapped)" : "LBO 8192, SBO 1024");
      check(4, 7, true, 0);
    }
    gSwap = false;
    return 0;
#else
    fprintf(stderr, "build with -DMLA_SM90W_SWAP_PROBE\n");
    return 2;
#endif
  }
  if (mode == "once") { // one warm call, then one call of a configuration, for ncu: once b s_k h_q s_q [v2|xN]
    if (argc < 6) { fprintf(stderr, "usage: harness_wide once b s_k h_q s_q [v2|xN]\n"); return 2; }
    std::mt19937 rng(7);
    Problem pr;
    pr.b = atoi(argv[2]); pr.hQ = atoi(argv[4]); pr.sQ = atoi(argv[5]); pr.causal = 1;
    pr.seqlens.assign(pr.b, atoi(argv[3]));
    Dev d;
    setup(pr, d, rng);
    const Kern k = kernOf(argc > 6 ? argv[6] : "");
    for (int i = 0; i < 2; i++) launch(d, false, k);
    CK(cudaDeviceSynchronize());
    freeDev(d);
    return 0;
  }
  if (mode == "time") {
    FILE* js = argc > 2 ? fopen(argv[2], "w") : nullptr;
    const int grid[][2] = {{64, 1}, {128, 1}, {32, 2}, {64, 2}, {128, 2}};
    const int from = getenv("TIME_FROM") ? atoi(getenv("TIME_FROM")) : 0; // skip the first TIME_FROM configurations
    int n = 0;
    for (int sk : {1024, 4096, 8192})
      for (const auto& g : grid)
        if (n++ >= from) { timeOne(std::vector<int>(128, sk), g[0], g[1], js); fflush(stdout); }
    timeOne({4641, 45118, 1730, 1696}, 16, 4, js);
    if (js) fclose(js);
    return 0;
  }
  if (mode == "clocks") { // clocks b s_k h_q s_q: CLK_PHASES, CLK_S, CLK_GAP_MB (harness_clocks.cuh)
    if (argc < 6) { fprintf(stderr, "usage: harness_wide clocks b s_k h_q s_q\n"); return 2; }
    std::mt19937 rng(1234);
    Problem pr;
    pr.b = atoi(argv[2]); pr.hQ = atoi(argv[4]); pr.sQ = atoi(argv[5]); pr.causal = 1; // as bench_flashmla.py
    pr.seqlens.assign(pr.b, atoi(argv[3]));
    Dev d;
    setup(pr, d, rng);
    const std::string shape = std::string("b=") + argv[2] + ",s_k=" + argv[3] + ",h_q=" + argv[4] + ",s_q=" + argv[5];
    const double secs = getenv("CLK_S") ? atof(getenv("CLK_S")) : 1.0;
    const size_t gapBytes = static_cast<size_t>(getenv("CLK_GAP_MB") ? atoi(getenv("CLK_GAP_MB")) : 256) << 20;
    void* gapBuf;
    CK(cudaMalloc(&gapBuf, gapBytes));
    std::string phases = getenv("CLK_PHASES") ? getenv("CLK_PHASES") : "lib/b2b x119582/b2b lib/lb lib/dob", w;
    for (char ch : phases + " ") {
      if (ch != ' ') { w += ch; continue; }
      if (w.empty()) continue;
      const size_t slash = w.find('/');
      const std::string kn = w.substr(0, slash), how = slash == std::string::npos ? "b2b" : w.substr(slash + 1);
      const Kern k = kernOf(kn);
      if (kn != "lib" && k == kNew) { fprintf(stderr, "clocks: unknown kernel %s\n", kn.c_str()); return 2; }
      ClkMode md;
      if (!clkModeOf(how, secs, md)) { fprintf(stderr, "clocks: unknown mode %s (b2b, gap, lb, dob)\n", how.c_str()); return 2; }
      clocksPhase(shape, kn + "/" + how, [&d, k]() { launch(d, false, k); }, md, gapBuf, gapBytes);
      w.clear();
    }
    CK(cudaFree(gapBuf));
    freeDev(d);
    return 0;
  }
  fprintf(stderr, "usage: harness_wide check [cases] [seed] | probe | once b s_k h_q s_q [xN] | time [json] | clocks b s_k h_q s_q\n");
  return 2;
}
