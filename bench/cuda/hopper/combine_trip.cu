// Session 17 (h3): combine.cu's one-round-trip row merge (MLA_COMBINE_ONE_TRIP) against the library's combine, and
// what a short call's floor is. One binary, no library needed:
//   ./combine_trip check [seed]     random split partials (empty splits with NaN partials, all-empty rows, varlen
//                                   rows past qLen, unsplit requests, 2..200 splits, junk in the workspace's spare
//                                   slots) through the four combines: c1, c2 and c3 must give the library's bits, both the float64 merge within bf16 / f16
//                                   rounding, and leave unsplit requests' and skipped rows' outputs untouched
//   ./combine_trip time [rounds]    b=1 (103 splits, 16 rows) and the uneven batch (splits 11 / 101 / 4 / 4, 64 rows):
//                                   a writer kernel that rewrites every partial (as the decode does) then the combine,
//                                   lib, c1, c2 and c3 interleaved; back to back (20 calls between events) and one at a time
//   ./combine_trip floor            an empty kernel's event-to-event time, and one read of 38 MB / 61 MB (the b=1 and
//                                   uneven caches) after an L2 flush: what any call on those bytes cannot beat
// Build (sm_90a): nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a \
//   -o combine_trip bench/cuda/hopper/combine_trip.cu
// LIB_FATBIN / C1_FATBIN / C2_FATBIN / C3_FATBIN: time and check those builds' mla_combine entries instead of the compiled-in ones.
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "../../../src/backends/cuda/kernels/combine.cu"

// c1 / c2 / c3 = MLA_COMBINE_ONE_TRIP=1 / 2 / 3's entries (2: request 0's loads beside numSplits; 3: 13 loads, 3 CTAs an SM)
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_c1_bf16(const MlaParams p) { mla::combineOneTrip<__nv_bfloat16, 16, false>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_c1_f16(const MlaParams p) { mla::combineOneTrip<__half, 16, false>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_c2_bf16(const MlaParams p) { mla::combineOneTrip<__nv_bfloat16, 16, true>(p); }
extern "C" __global__ void __launch_bounds__(256, 2) mla_combine_c2_f16(const MlaParams p) { mla::combineOneTrip<__half, 16, true>(p); }
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_c3_bf16(const MlaParams p) { mla::combineOneTrip<__nv_bfloat16, 13, false>(p); }
extern "C" __global__ void __launch_bounds__(256, 3) mla_combine_c3_f16(const MlaParams p) { mla::combineOneTrip<__half, 13, false>(p); }

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(2); } } while (0)

using Kern = void (*)(const MlaParams);

// The four combines: the entries compiled in above, or, where LIB_FATBIN / C1_FATBIN / C2_FATBIN / C3_FATBIN name
// fatbins (dist/cuda/combine.fatbin and the three candidate library builds), their mla_combine_{bf16,f16} (cudaLibraryLoadFromFile),
// so the checks and times are of the very code the library would load.
struct Combine {
  Kern k = nullptr;
  cudaKernel_t f = nullptr;
  void launch(dim3 g, const MlaParams& p) const {
    if (!f) { k<<<g, 256>>>(p); return; }
    void* args[] = {const_cast<MlaParams*>(&p)};
    CK(cudaLaunchKernel(reinterpret_cast<const void*>(f), g, dim3(256), args, 0, nullptr));
  }
};
constexpr int kKerns = 4;
static const char* kKernNames[kKerns] = {"lib", "c1", "c2", "c3"};
static Combine pick(int k, bool f16) {
  static const char* env[kKerns] = {"LIB_FATBIN", "C1_FATBIN", "C2_FATBIN", "C3_FATBIN"};
  static cudaLibrary_t libs[kKerns] = {};
  Combine c;
  const char* path = getenv(env[k]);
  if (path && *path) {
    if (!libs[k]) CK(cudaLibraryLoadFromFile(&libs[k], path, nullptr, nullptr, 0, nullptr, nullptr, 0));
    CK(cudaLibraryGetKernel(&c.f, libs[k], f16 ? "mla_combine_f16" : "mla_combine_bf16"));
    return c;
  }
  static const Kern in[kKerns][2] = {{mla_combine_bf16, mla_combine_f16}, {mla_combine_c1_bf16, mla_combine_c1_f16}, {mla_combine_c2_bf16, mla_combine_c2_f16},
                                     {mla_combine_c3_bf16, mla_combine_c3_f16}};
  c.k = in[k][f16 ? 1 : 0];
  return c;
}

struct Case {
  std::vector<int> splits; // per request (1: unsplit, skipped by the combine)
  int sQ = 1, hQ = 16, combineRows = 1;
  std::vector<int> qLens; // empty: uniform sQ; else qIndptr from these (each <= sQ)
  bool f16 = false;
  int spare = 3; // workspace slots past numSplits[b] (b + numSmParts in all, numSmParts >= 1): junk there
};

struct Dev {
  MlaParams p{};
  std::vector<int> numSplits, qIndptr;
  int totalQ = 0, slots = 0, allSlots = 0;
  float *oAcc = nullptr, *lseAcc = nullptr, *lse = nullptr;
  void* out = nullptr;
  int *dNum = nullptr, *dQi = nullptr;
  void setup(const Case& c) {
    const int b = c.splits.size();
    numSplits.assign(b + 1, 0);
    for (int i = 0; i < b; i++) numSplits[i + 1] = numSplits[i] + c.splits[i];
    slots = numSplits[b];
    const int numSmParts = std::max(1, slots + c.spare - b);
    allSlots = b + numSmParts;
    if (!c.qLens.empty()) { qIndptr.assign(b + 1, 0); for (int i = 0; i < b; i++) qIndptr[i + 1] = qIndptr[i] + c.qLens[i]; totalQ = qIndptr[b]; }
    else totalQ = b * c.sQ;
    const size_t rowsA = static_cast<size_t>(allSlots) * c.sQ * c.hQ;
    CK(cudaMalloc(&oAcc, rowsA * kDV * 4)); CK(cudaMalloc(&lseAcc, rowsA * 4));
    CK(cudaMalloc(&out, static_cast<size_t>(totalQ) * c.hQ * kDV * 2)); CK(cudaMalloc(&lse, static_cast<size_t>(totalQ) * c.hQ * 4 + 4));
    CK(cudaMalloc(&dNum, (b + 1) * 4)); CK(cudaMemcpy(dNum, numSplits.data(), (b + 1) * 4, cudaMemcpyHostToDevice));
    if (!qIndptr.empty()) { CK(cudaMalloc(&dQi, (b + 1) * 4)); CK(cudaMemcpy(dQi, qIndptr.data(), (b + 1) * 4, cudaMemcpyHostToDevice)); }
    p.numSplits = dNum; p.qIndptr = dQi; p.out = out; p.lse = lse; p.oAccum = oAcc; p.lseAccum = lseAcc;
    p.b = b; p.sQ = c.sQ; p.hQ = c.hQ; p.hKv = 1; p.nGroups = c.hQ; p.rows = c.sQ * c.hQ; p.combineRows = c.combineRows;
    p.numSmParts = numSmParts;
    // lse as the library lays it out for [b, hQ, sQ] (varlen: [hQ, totalQ]); only the strides matter here
    p.lseStrideT = 1; p.lseStrideH = totalQ; p.lseStrideB = 0;
  }
  void release() { cudaFree(oAcc); cudaFree(lseAcc); cudaFree(out); cudaFree(lse); cudaFree(dNum); if (dQi) cudaFree(dQi); }
  dim3 grid(const Case& c) const { return dim3(c.splits.size(), (c.sQ * c.hQ + c.combineRows - 1) / c.combineRows, 4); }
};

static float h2f(uint16_t u, bool f16) {
  if (f16) { __half h; memcpy(&h, &u, 2); return __half2float(h); }
  __nv_bfloat16 h; memcpy(&h, &u, 2); return __bfloat162float(h);
}

// One case through lib, c1, c2 and c3; adds each kernel's failures to fk[], updates the worst relative error.
static int runCase(const Case& c, std::mt19937& rng, double& worst, int& rowsChecked, int* fk) {
  Dev d; d.setup(c);
  const int b = c.splits.size();
  const size_t rowsA = static_cast<size_t>(d.allSlots) * c.sQ * c.hQ, rowsUsed = static_cast<size_t>(d.slots) * c.sQ * c.hQ;
  std::vector<float> oA(rowsA * kDV), lA(rowsA);
  std::uniform_real_distribution<float> U(-1.f, 1.f), L(-6.f, 6.f), P(0.f, 1.f);
  for (size_t i = 0; i < rowsA; i++) lA[i] = P(rng) < 0.1f ? -INFINITY : L(rng);
  for (size_t i = 0; i < oA.size(); i++) oA[i] = U(rng);
  // empty splits leave their partials unwritten: NaN there; and one all-empty row a split request
  for (size_t i = 0; i < rowsA; i++) if (lA[i] == -INFINITY) for (int k = 0; k < kDV; k++) oA[i * kDV + k] = NAN;
  for (size_t i = rowsUsed; i < rowsA; i++) { lA[i] = 50.f; for (int k = 0; k < kDV; k++) oA[i * kDV + k] = NAN; } // slots no request owns
  const int64_t slotStride = static_cast<int64_t>(c.sQ) * c.hQ;
  for (int i = 0; i < b; i++) if (c.splits[i] > 1) {
    const int r = rng() % (c.sQ * c.hQ);
    for (int s = 0; s < c.splits[i]; s++) { const size_t row = (d.numSplits[i] + s) * slotStride + r; lA[row] = -INFINITY; for (int k = 0; k < kDV; k++) oA[row * kDV + k] = NAN; }
  }
  CK(cudaMemcpy(d.oAcc, oA.data(), oA.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.lseAcc, lA.data(), lA.size() * 4, cudaMemcpyHostToDevice));
  const size_t nOut = static_cast<size_t>(d.totalQ) * c.hQ * kDV, nLse = static_cast<size_t>(d.totalQ) * c.hQ;
  std::vector<uint16_t> o[kKerns]; std::vector<float> ls[kKerns];
  Combine ks[kKerns];
  for (int k = 0; k < kKerns; k++) ks[k] = pick(k, c.f16);
  const char* const* kn = kKernNames;
  for (int k = 0; k < kKerns; k++) {
    CK(cudaMemset(d.out, 0xFF, nOut * 2)); CK(cudaMemset(d.lse, 0x7F, nLse * 4));
    ks[k].launch(d.grid(c), d.p);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    o[k].resize(nOut); ls[k].resize(nLse);
    CK(cudaMemcpy(o[k].data(), d.out, nOut * 2, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(ls[k].data(), d.lse, nLse * 4, cudaMemcpyDeviceToHost));
  }
  int fails = 0;
  for (int k = 1; k < kKerns; k++) if (memcmp(o[0].data(), o[k].data(), nOut * 2) || memcmp(ls[0].data(), ls[k].data(), nLse * 4)) {
    size_t n = 0; for (size_t i = 0; i < nOut; i++) n += o[0][i] != o[k][i];
    fprintf(stderr, "  %s differs from lib in %zu output elements (lse %s)\n", kn[k], n, memcmp(ls[0].data(), ls[k].data(), nLse * 4) ? "differs" : "same");
    fails++; fk[k]++;
  }
  uint32_t poisonL; memset(&poisonL, 0x7F, 4);
  for (int i = 0; i < b; i++) {
    const int qStart = d.qIndptr.empty() ? i * c.sQ : d.qIndptr[i], qLen = d.qIndptr.empty() ? c.sQ : d.qIndptr[i + 1] - d.qIndptr[i];
    for (int j = 0; j < c.sQ; j++) for (int h = 0; h < c.hQ; h++) {
      if (j >= qLen) continue; // another request's rows
      const size_t orow = (static_cast<size_t>(qStart + j) * c.hQ + h);
      const size_t li = h * d.p.lseStrideH + (qStart + j);
      for (int k = 0; k < kKerns; k++) {
        if (c.splits[i] <= 1) { // untouched
          bool ok = true; for (int e = 0; e < kDV; e++) ok &= o[k][orow * kDV + e] == 0xFFFF;
          uint32_t lu; memcpy(&lu, &ls[k][li], 4); ok &= lu == poisonL;
          if (!ok) { if (fails < 8) fprintf(stderr, "  %s wrote an unsplit request's row (req %d j %d h %d)\n", kn[k], i, j, h); fails++; fk[k]++; }
          continue;
        }
        double mx = -INFINITY;
        for (int s = 0; s < c.splits[i]; s++) mx = std::max(mx, static_cast<double>(lA[(d.numSplits[i] + s) * slotStride + j * c.hQ + h]));
        double sum = 0;
        if (mx != -INFINITY) for (int s = 0; s < c.splits[i]; s++) sum += std::exp(static_cast<double>(lA[(d.numSplits[i] + s) * slotStride + j * c.hQ + h]) - mx);
        const double lref = mx == -INFINITY ? INFINITY : mx + std::log(sum);
        bool ok = true;
        double amax = 0, emax = 0;
        for (int e = 0; e < kDV; e++) {
          double r = 0;
          if (mx != -INFINITY) for (int s = 0; s < c.splits[i]; s++) {
            const size_t row = (d.numSplits[i] + s) * slotStride + j * c.hQ + h;
            if (lA[row] == -INFINITY) continue;
            r += std::exp(static_cast<double>(lA[row]) - lref) * oA[row * kDV + e];
          }
          const double g = h2f(o[k][orow * kDV + e], c.f16);
          if (!std::isfinite(g)) ok = false;
          amax = std::max(amax, std::fabs(r)); emax = std::max(emax, std::fabs(g - r));
        }
        const double rel = emax / std::max(amax, 1e-3);
        if (mx != -INFINITY) worst = std::max(worst, rel);
        if (rel > 1e-2) ok = false;
        if (lref == INFINITY) { if (!(ls[k][li] == INFINITY)) ok = false; if (amax != 0 || emax != 0) ok = false; }
        else if (!(std::fabs(ls[k][li] - lref) <= 1e-3 * std::max(1.0, std::fabs(lref)))) ok = false;
        rowsChecked++;
        if (!ok) { if (fails < 8) fprintf(stderr, "  %s row (req %d of %d splits, j %d h %d): rel %.3g lse %g ref %g\n", kn[k], i, c.splits[i], j, h, rel, ls[k][li], lref); fails++; fk[k]++; }
      }
    }
  }
  d.release();
  return fails;
}

static int check(int seed) {
  std::mt19937 rng(seed);
  std::vector<Case> cases;
  for (int s : {2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 103, 104, 105, 120, 127, 128, 129, 200}) { Case c; c.splits = {s}; cases.push_back(c); }
  { Case c; c.splits = {11, 101, 4, 4}; c.sQ = 4; cases.push_back(c); } // the uneven batch's schedule
  { Case c; c.splits = {103}; c.f16 = true; cases.push_back(c); }
  { Case c; c.splits = {11, 101, 4, 4}; c.sQ = 4; c.f16 = true; cases.push_back(c); }
  { Case c; c.splits = {1, 50, 1, 2}; c.hQ = 32; cases.push_back(c); } // unsplit requests skipped
  { Case c; c.splits = {5, 130, 1}; c.sQ = 4; c.qLens = {2, 4, 1}; cases.push_back(c); } // varlen: rows past qLen
  { Case c; c.splits = {64, 3}; c.sQ = 2; c.hQ = 16; c.combineRows = 3; cases.push_back(c); } // rows in turn in a CTA
  { Case c; c.splits = {128, 17}; c.sQ = 1; c.hQ = 128; c.combineRows = 5; cases.push_back(c); }
  { Case c; c.splits = {1}; cases.push_back(c); } // request 0 unsplit: c2's early loads, then nothing written
  { Case c; c.splits = {1, 40}; cases.push_back(c); }
  { Case c; c.splits = {20}; c.spare = 0; cases.push_back(c); } // c2 loads exactly the workspace's 20 slots
  { Case c; c.splits = {200}; c.spare = 0; cases.push_back(c); } // request 0 past 128: combineRow after c2's loads
  { Case c; c.splits = {103}; c.spare = 30; cases.push_back(c); } // b=1 on 132 SMs: 133 slots
  { Case c; c.splits = {40, 2}; c.sQ = 3; c.qLens = {1, 3}; c.combineRows = 2; cases.push_back(c); }
  { Case c; c.splits = {50}; c.sQ = 4; c.qLens = {3}; cases.push_back(c); } // b=1 (c2's early loads) varlen, a row past qLen
  { Case c; c.splits = {90}; c.sQ = 2; c.combineRows = 3; cases.push_back(c); } // b=1, rows in turn
  { Case c; c.splits = {128}; c.sQ = 1; c.hQ = 32; c.combineRows = 2; c.spare = 40; cases.push_back(c); } // b=1, 128 of 169 slots
  int fails = 0, rows = 0, fk[kKerns] = {0, 0, 0, 0}; double worst = 0;
  for (size_t i = 0; i < cases.size(); i++) {
    const int f = runCase(cases[i], rng, worst, rows, fk);
    if (f) { std::string sp; for (int s : cases[i].splits) sp += std::to_string(s) + " "; fprintf(stderr, "case %zu (splits %s): %d failures\n", i, sp.c_str(), f); }
    fails += f;
  }
  printf("check (%s, seed %d): %zu cases, %d rows a kernel, failed: lib %d c1 %d c2 %d c3 %d (c1-c3: a differing bit from lib counts), worst rel %.2e\n",
         getenv("LIB_FATBIN") ? "fatbins" : "compiled-in", seed, cases.size(), rows / kKerns, fk[0], fk[1], fk[2], fk[3], worst);
  return fails ? 1 : 0;
}

// ---- timing ----
__global__ void writer(float4* o, size_t n4, float* l, size_t nl, float seed) { // the decode's partial stores, as traffic
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += gridDim.x * blockDim.x) o[i] = make_float4(seed, seed * 0.5f, seed * 0.25f, 1.f);
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < nl; i += gridDim.x * blockDim.x) l[i] = seed + (i % 7);
}
__global__ void emptyKernel() {}

static float med(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

static int timeMode(int rounds) {
  struct Shape { const char* name; Case c; };
  std::vector<Shape> shapes;
  { Shape s{"b=1 s_k 32768 16 rows (103 splits)", {}}; s.c.splits = {103}; s.c.spare = 30; shapes.push_back(s); } // numSmParts 132
  { Shape s{"uneven b=4 64 rows (splits 11/101/4/4)", {}}; s.c.splits = {11, 101, 4, 4}; s.c.sQ = 4; s.c.spare = 16; shapes.push_back(s); }
  cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
  const char* const* names = kKernNames;
  Combine ks[kKerns];
  for (int k = 0; k < kKerns; k++) ks[k] = pick(k, false);
  for (auto& sh : shapes) {
    Dev d; d.setup(sh.c);
    const size_t rowsA = static_cast<size_t>(d.slots) * sh.c.sQ * sh.c.hQ; // the decode writes the used slots
    auto w = [&](int i) { writer<<<264, 256>>>(reinterpret_cast<float4*>(d.oAcc), rowsA * kDV / 4, d.lseAcc, rowsA, 0.001f * (i % 13)); };
    auto call = [&](int k, int i) { w(i); ks[k].launch(d.grid(sh.c), d.p); };
    for (int i = 0; i < 50; i++) for (int k = 0; k < kKerns; k++) call(k, i);
    CK(cudaDeviceSynchronize());
    std::vector<float> bb[kKerns + 1], one[kKerns + 1]; // [lib, c1, c2, c3, writer alone]
    for (int r = 0; r < rounds; r++) {
      for (int k = 0; k <= kKerns; k++) { // back to back: 20 calls between two events
        CK(cudaEventRecord(e0)); for (int i = 0; i < 20; i++) { if (k < kKerns) call(k, i); else w(i); } CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); bb[k].push_back(ms * 1000.f / 20);
      }
      for (int k = 0; k <= kKerns; k++) for (int i = 0; i < 5; i++) { // one at a time
        CK(cudaDeviceSynchronize()); CK(cudaEventRecord(e0)); if (k < kKerns) call(k, i); else w(i); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); one[k].push_back(ms * 1000.f);
      }
    }
    CK(cudaGetLastError());
    const float wb = med(bb[kKerns]), wo = med(one[kKerns]);
    printf("time %s: writer alone %.2f us back to back, %.2f one at a time\n", sh.name, wb, wo);
    for (int k = 0; k < kKerns; k++) printf("time %s: %s writer+combine %.2f us back to back (combine %.2f), %.2f one at a time (combine %.2f)\n", sh.name, names[k], med(bb[k]), med(bb[k]) - wb, med(one[k]), med(one[k]) - wo);
    for (int k = 1; k < kKerns; k++) printf("time %s: %s - lib = %+.2f us back to back, %+.2f one at a time\n", sh.name, names[k], med(bb[k]) - med(bb[0]), med(one[k]) - med(one[0]));
    d.release();
  }
  return 0;
}

__global__ void readAll(const float4* __restrict__ a, size_t n4, float* sink) {
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  size_t i = blockIdx.x * blockDim.x + threadIdx.x;
  for (; i + 7 * stride < n4; i += 8 * stride) {
    float4 v[8];
#pragma unroll
    for (int u = 0; u < 8; u++) v[u] = __ldcs(a + i + u * stride);
#pragma unroll
    for (int u = 0; u < 8; u++) { acc.x += v[u].x; acc.y += v[u].y; acc.z += v[u].z; acc.w += v[u].w; }
  }
  for (; i < n4; i += stride) { const float4 v = __ldcs(a + i); acc.x += v.x; acc.y += v.y; acc.z += v.z; acc.w += v.w; }
  if (acc.x + acc.y + acc.z + acc.w == 12345.f) *sink = acc.x;
}

static int floorMode() {
  cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
  std::vector<float> em;
  for (int i = 0; i < 60; i++) {
    CK(cudaDeviceSynchronize()); CK(cudaEventRecord(e0)); emptyKernel<<<132, 384>>>(); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
    float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (i >= 10) em.push_back(ms * 1000.f);
  }
  printf("floor: empty kernel (132 x 384) one at a time %.2f us\n", med(em));
  const size_t flushBytes = 256u << 20;
  void* flush; CK(cudaMalloc(&flush, flushBytes));
  float* sink; CK(cudaMalloc(&sink, 4));
  for (double mb : {37.75, 61.4}) { // 512 pages (b=1 s_k 32768), 833 pages (uneven) of 73,728 bytes
    const size_t n4 = static_cast<size_t>(mb * 1e6) / 16;
    float4* a; CK(cudaMalloc(&a, n4 * 16)); CK(cudaMemset(a, 0, n4 * 16));
    for (int grid : {132, 264}) {
      std::vector<float> cold, warm;
      for (int i = 0; i < 25; i++) {
        CK(cudaMemsetAsync(flush, i, flushBytes)); CK(cudaDeviceSynchronize());
        CK(cudaEventRecord(e0)); readAll<<<grid, 512>>>(a, n4, sink); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (i >= 5) cold.push_back(ms * 1000.f);
      }
      CK(cudaEventRecord(e0)); for (int i = 0; i < 20; i++) readAll<<<grid, 512>>>(a, n4, sink); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
      float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
      printf("floor: read %.1f MB grid %d x 512: after an L2 flush, one at a time %.2f us (%.0f GB/s); back to back %.2f us\n", mb, grid, med(cold), n4 * 16 / (med(cold) * 1e3), ms * 1000.f / 20);
    }
    CK(cudaFree(a));
  }
  CK(cudaGetLastError());
  return 0;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check(argc > 2 ? atoi(argv[2]) : 1);
  if (mode == "time") return timeMode(argc > 2 ? atoi(argv[2]) : 7);
  if (mode == "floor") return floorMode();
  fprintf(stderr, "usage: combine_trip check [seed] | time [rounds] | floor\n");
  return 2;
}
