// Standalone check and timing of the sm_90a decode kernel (decode_sm90.cu) against a float64 reference, with the
// mma.sync kernel (decode.cu, the variant the backend picks for <= 32 rows) timed in the same process.
//
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o harness bench/cuda/hopper/harness.cu
//   ./harness check [cases] [seed]   randomized cases vs the float64 reference (NaN in unused slots, poisoned outputs)
//   ./harness check1 [cases] [seed]  the same for the one-warpgroup sm90 version
//   ./harness time                   b=128 grid rows, GB/s by FlashMLA's byte formula
// See bench/cuda/hopper/run.sh and docs/notes/cuda-hopper-decode.md.
#include "../../../src/backends/cuda/kernels/params.h"
// Only the mma.sync variant the backend uses for <= 32 rows: the rest of decode.cu's list is not needed here.
#undef MLA_DECODE_VARIANTS
#define MLA_DECODE_VARIANTS(X) X(m32_n64_s2_w8_q24, 32, 64, 2, 8, 24, 192768)
#include "../../../src/backends/cuda/kernels/decode.cu"
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
#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(2); } } while (0)

// ---- scheduler (src/core/scheduler.ts planSchedule) ----
static void planSchedule(const std::vector<int>& seqlens, int parts, std::vector<int>& meta, std::vector<int>& numSplits) {
  const int b = seqlens.size(), bn = 64, ov = 5;
  std::vector<int> nb(b);
  long total = 0;
  for (int i = 0; i < b; i++) { nb[i] = (seqlens[i] + bn - 1) / bn; total += nb[i] + ov; }
  const long payload = std::max<long>((total + parts - 1) / parts + ov, 2 * ov);
  meta.assign(parts * 8, 0);
  numSplits.assign(b + 1, 0);
  int idx = 0, block = 0, nSplit = 0, cum = 0;
  for (int p = 0; p < parts; p++) {
    int* m = &meta[p * 8];
    m[0] = idx; m[1] = block * bn; m[4] = nSplit;
    long remain = payload;
    while (idx < b) {
      const int rb = nb[idx] - block;
      if (remain >= rb + ov) { cum += nSplit + 1; numSplits[idx + 1] = cum; remain -= rb + ov; idx++; block = 0; nSplit = 0; }
      else { if (remain - ov > 0) { block += remain - ov; nSplit++; remain = 0; } break; }
    }
    m[2] = block > 0 ? idx : idx - 1;
    m[3] = block > 0 ? block * bn : (idx > 0 ? seqlens[idx - 1] : 0);
  }
}

// ---- float64 reference: one CTA per (batch, query j, head h) ----
template <typename T>
__global__ void refKernel(MlaParams p, double* outRef, double* lseRef, double* scratch, int maxSeq) {
  const int batch = blockIdx.x, j = blockIdx.y, h = blockIdx.z, g = h / p.nGroups;
  const int seqlen = p.cacheSeqlens[batch];
  const int vis = p.causal ? max(0, seqlen - p.sQ + j + 1) : seqlen;
  double* sc = scratch + ((static_cast<int64_t>(batch) * p.sQ + j) * p.hQ + h) * maxSeq;
  const T* q = static_cast<const T*>(p.q) + (static_cast<int64_t>(batch * p.sQ + j) * p.hQ + h) * kDQk;
  const T* kc = static_cast<const T*>(p.kCache);
  __shared__ double red[256];
  const double scale = p.scaleLog2 / 1.4426950408889634;
  double mx = -INFINITY;
  for (int t = threadIdx.x; t < vis; t += blockDim.x) {
    const T* k = kc + keyRow(p, batch, t, g);
    double s = 0;
    for (int c = 0; c < kDQk; ++c) s += static_cast<double>(Half<T>::toF(q[c])) * static_cast<double>(Half<T>::toF(k[c]));
    s *= scale;
    sc[t] = s;
    mx = fmax(mx, s);
  }
  red[threadIdx.x] = mx;
  __syncthreads();
  for (int o = 128; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] = fmax(red[threadIdx.x], red[threadIdx.x + o]); __syncthreads(); }
  mx = red[0];
  __syncthreads();
  double sum = 0;
  for (int t = threadIdx.x; t < vis; t += blockDim.x) { const double e = exp(sc[t] - mx); sc[t] = e; sum += e; }
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int o = 128; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o]; __syncthreads(); }
  sum = red[0];
  const int64_t row = static_cast<int64_t>(batch * p.sQ + j) * p.hQ + h;
  for (int c = threadIdx.x; c < kDV; c += blockDim.x) {
    double acc = 0;
    for (int t = 0; t < vis; ++t) acc += sc[t] * static_cast<double>(Half<T>::toF(kc[keyRow(p, batch, t, g) + c]));
    outRef[row * kDV + c] = vis ? acc / sum : 0.0;
  }
  if (threadIdx.x == 0) lseRef[row] = vis ? mx + log(sum) : INFINITY;
}

static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); u += 0x7FFF + ((u >> 16) & 1); return u >> 16; }
static float bf2f(uint16_t b) { uint32_t u = static_cast<uint32_t>(b) << 16; float f; memcpy(&f, &u, 4); return f; }
static uint16_t f2h(float f) { __half h = __float2half_rn(f); uint16_t u; memcpy(&u, &h, 2); return u; }
static float h2f(uint16_t u) { __half h; memcpy(&h, &u, 2); return __half2float(h); }

struct Problem {
  int b, sQ, hQ, hKv = 1, causal = 0, page = 64;
  bool f16 = false;
  std::vector<int> seqlens;
};

struct Dev {
  MlaParams p{};
  void *q = nullptr, *k = nullptr, *out = nullptr;
  int *bt = nullptr, *sl = nullptr, *meta = nullptr, *ns = nullptr;
  float *lse = nullptr, *oacc = nullptr, *lacc = nullptr;
  size_t kElems = 0;
  int parts = 0;
  std::vector<int> hNs;
  CUtensorMap tm{}; // the cache as {576 columns, pages * 64 rows}, 64 x 64 boxes, 128-byte swizzle
};

// The sm90 kernel's tensor map of the cache (page 64, one KV head): see decode_sm90.cu.
static CUtensorMap encodeCacheMap(const void* k, size_t rows) {
  CUtensorMap tm;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(kDQk), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(kDQk) * 2};
  const cuuint32_t box[2] = {64, 64}, estr[2] = {1, 1};
  // The driver's encoder through the runtime (no -lcuda at link time).
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*, const cuuint32_t*, const cuuint32_t*,
                              CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static Encode encode = nullptr;
  if (!encode) {
    void* fp = nullptr;
    cudaDriverEntryPointQueryResult q;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fp, 12000, cudaEnableDefault, &q));
    if (!fp || q != cudaDriverEntryPointSuccess) { fprintf(stderr, "cuTensorMapEncodeTiled not found\n"); exit(2); }
    encode = reinterpret_cast<Encode>(fp);
  }
  const CUresult r = encode(&tm, CU_TENSOR_MAP_DATA_TYPE_UINT16, 2, const_cast<void*>(k), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                            CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) { fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", static_cast<int>(r)); exit(2); }
  return tm;
}

static int gSms = 132;

static void setup(const Problem& pr, Dev& d, std::mt19937& rng) {
  const int b = pr.b, maxSeq = *std::max_element(pr.seqlens.begin(), pr.seqlens.end());
  const int mbps = std::max(1, (maxSeq + pr.page - 1) / pr.page);
  const int rows = pr.sQ * pr.hQ / pr.hKv;
  d.parts = std::max(1, gSms / pr.hKv / ((rows + 63) / 64));
  std::vector<int> meta;
  planSchedule(pr.seqlens, d.parts, meta, d.hNs);
  // Pages: a random permutation of b * mbps + 3 pages (three never used); table entries past a sequence are junk.
  const int nPages = b * mbps + 3;
  std::vector<int> perm(nPages);
  for (int i = 0; i < nPages; i++) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int> bt(b * mbps);
  for (int i = 0; i < b; i++)
    for (int c = 0; c < mbps; c++) bt[i * mbps + c] = c * pr.page < pr.seqlens[i] ? perm[i * mbps + c] : (c % 2 ? -7 : 1 << 29);
  d.kElems = static_cast<size_t>(nPages) * pr.page * pr.hKv * kDQk;
  std::vector<uint16_t> hk(d.kElems, pr.f16 ? 0x7E00 : 0x7FC0); // NaN everywhere, then live keys
  std::normal_distribution<float> ndist(0.f, 1.f);
  uint32_t xs = rng() | 1;
  // Large (timing) problems: a xorshift uniform in [-2, 2) instead of normal draws, so setup stays seconds.
  const bool fast = static_cast<size_t>(b) * maxSeq > (1u << 20);
  auto nd = [&](std::mt19937& r) -> float {
    if (!fast) return ndist(r);
    xs ^= xs << 13; xs ^= xs >> 17; xs ^= xs << 5;
    return static_cast<float>(xs >> 8) * (4.f / 16777216.f) - 2.f;
  };
  auto enc = [&](float x) { return pr.f16 ? f2h(x) : f2bf(x); };
  for (int i = 0; i < b; i++)
    for (int t = 0; t < pr.seqlens[i]; t++) {
      const size_t base = ((static_cast<size_t>(bt[i * mbps + t / pr.page]) * pr.page + t % pr.page) * pr.hKv) * kDQk;
      for (size_t e = 0; e < static_cast<size_t>(pr.hKv) * kDQk; e++) hk[base + e] = enc(nd(rng));
    }
  const size_t qElems = static_cast<size_t>(b) * pr.sQ * pr.hQ * kDQk;
  std::vector<uint16_t> hq(qElems);
  for (auto& x : hq) x = enc(nd(rng));
  CK(cudaMalloc(&d.q, qElems * 2));
  CK(cudaMalloc(&d.k, d.kElems * 2));
  CK(cudaMalloc(&d.out, static_cast<size_t>(b) * pr.sQ * pr.hQ * kDV * 2));
  CK(cudaMalloc(&d.lse, static_cast<size_t>(b) * pr.sQ * pr.hQ * 4));
  const size_t accRows = static_cast<size_t>(b + d.parts) * pr.sQ * pr.hQ;
  CK(cudaMalloc(&d.oacc, accRows * kDV * 4));
  CK(cudaMalloc(&d.lacc, accRows * 4));
  CK(cudaMalloc(&d.bt, bt.size() * 4));
  CK(cudaMalloc(&d.sl, b * 4));
  CK(cudaMalloc(&d.meta, meta.size() * 4));
  CK(cudaMalloc(&d.ns, d.hNs.size() * 4));
  CK(cudaMemcpy(d.q, hq.data(), qElems * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.k, hk.data(), d.kElems * 2, cudaMemcpyHostToDevice));
  if (pr.page == 64 && pr.hKv == 1) d.tm = encodeCacheMap(d.k, static_cast<size_t>(nPages) * pr.page);
  CK(cudaMemcpy(d.bt, bt.data(), bt.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.sl, pr.seqlens.data(), b * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.meta, meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.ns, d.hNs.data(), d.hNs.size() * 4, cudaMemcpyHostToDevice));
  MlaParams& p = d.p;
  p.q = d.q; p.kCache = d.k; p.blockTable = d.bt; p.cacheSeqlens = d.sl; p.qIndptr = nullptr;
  p.tileSchedulerMetadata = d.meta; p.numSplits = d.ns; p.out = d.out; p.lse = d.lse; p.oAccum = d.oacc; p.lseAccum = d.lacc;
  p.b = b; p.sQ = pr.sQ; p.hQ = pr.hQ; p.hKv = pr.hKv; p.nGroups = pr.hQ / pr.hKv; p.rows = rows; p.pageBlockSize = pr.page;
  p.maxBlocksPerSeq = mbps; p.numSmParts = d.parts; p.causal = pr.causal;
  // lse [b, hQ, sQ] like FlashMLA's softmax_lse; the kernels index (qStart + j) * strideT with qStart = batch * sQ
  p.lseStrideB = pr.hQ * pr.sQ - pr.sQ; p.lseStrideH = pr.sQ; p.lseStrideT = 1;
  p.combineRows = std::max(1, (b * pr.sQ * pr.hQ * 4 + 16 * gSms - 1) / (16 * gSms));
  p.scaleLog2 = static_cast<float>(1.0 / std::sqrt(576.0) * 1.4426950408889634);
}

static void freeDev(Dev& d) {
  cudaFree(d.q); cudaFree(d.k); cudaFree(d.out); cudaFree(d.lse); cudaFree(d.oacc); cudaFree(d.lacc);
  cudaFree(d.bt); cudaFree(d.sl); cudaFree(d.meta); cudaFree(d.ns);
}

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
    const int smem = 192768;
    void (*fn)(MlaParams) = f16 ? mla_decode_f16_m32_n64_s2_w8_q24 : mla_decode_bf16_m32_n64_s2_w8_q24;
    CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    fn<<<dim3(p.numSmParts, p.hKv, (p.rows + 31) / 32), 256, smem>>>(p);
  }
  CK(cudaGetLastError());
  if (d.hNs[p.b] != p.b) {
    (f16 ? mla_combine_f16 : mla_combine_bf16)<<<dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4), 256>>>(p);
    CK(cudaGetLastError());
  }
  return true;
}

static int check(int cases, unsigned seed, Kern which) {
  std::mt19937 rng(seed);
  int fails = 0, ran = 0;
  double worst = 0;
  const int shapes[][2] = {{16, 1}, {8, 2}, {32, 1}, {16, 2}, {10, 3}, {4, 4}, {1, 1}, {3, 5}};
  for (int c = 0; c < cases; c++) {
    Problem pr;
    const auto& sh = shapes[rng() % (sizeof(shapes) / sizeof(shapes[0]))];
    pr.hQ = sh[0]; pr.sQ = sh[1];
    pr.f16 = rng() % 4 == 0;
    pr.causal = rng() % 3 == 0;
    const int kind = rng() % 4;
    pr.b = kind == 0 ? 1 : 1 + rng() % 9;
    for (int i = 0; i < pr.b; i++) {
      int s;
      switch (kind) {
        case 0: s = 1 + rng() % 20000; break;                   // one long sequence: split over many parts
        case 1: { const int e[] = {1, 2, 63, 64, 65, 127, 128, 129}; s = e[rng() % 8]; break; }
        default: s = 1 + rng() % 3000;
      }
      if (pr.causal) s = std::max(s, pr.sQ);
      pr.seqlens.push_back(s);
    }
    Dev d;
    setup(pr, d, rng);
    const MlaParams& p = d.p;
    const size_t outElems = static_cast<size_t>(p.b) * p.sQ * p.hQ * kDV, lseElems = static_cast<size_t>(p.b) * p.sQ * p.hQ;
    CK(cudaMemset(d.out, 0xFF, outElems * 2)); // NaN: every element must be written
    CK(cudaMemset(d.lse, 0xFF, lseElems * 4));
    CK(cudaMemset(d.oacc, 0xFF, static_cast<size_t>(p.b + d.parts) * p.sQ * p.hQ * kDV * 4));
    const bool ranNew = launch(d, pr.f16, which);
    if (!ranNew) { freeDev(d); continue; }
    CK(cudaDeviceSynchronize());
    const int maxSeq = *std::max_element(pr.seqlens.begin(), pr.seqlens.end());
    double *oRef, *lRef, *scr;
    CK(cudaMalloc(&oRef, outElems * 8));
    CK(cudaMalloc(&lRef, lseElems * 8));
    CK(cudaMalloc(&scr, lseElems * maxSeq * 8));
    if (pr.f16) refKernel<__half><<<dim3(p.b, p.sQ, p.hQ), 256>>>(p, oRef, lRef, scr, maxSeq);
    else refKernel<__nv_bfloat16><<<dim3(p.b, p.sQ, p.hQ), 256>>>(p, oRef, lRef, scr, maxSeq);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    std::vector<uint16_t> ho(outElems);
    std::vector<float> hl(lseElems);
    std::vector<double> ro(outElems), rl(lseElems);
    CK(cudaMemcpy(ho.data(), d.out, outElems * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hl.data(), d.lse, lseElems * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(ro.data(), oRef, outElems * 8, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(rl.data(), lRef, lseElems * 8, cudaMemcpyDeviceToHost));
    cudaFree(oRef); cudaFree(lRef); cudaFree(scr);
    double num = 0, den = 0, lseErr = 0;
    bool nan = false;
    for (size_t i = 0; i < outElems; i++) {
      const double x = pr.f16 ? h2f(ho[i]) : bf2f(ho[i]);
      if (std::isnan(x)) nan = true;
      num += (x - ro[i]) * (x - ro[i]);
      den += ro[i] * ro[i];
    }
    // lse [b, hQ, sQ]; reference [b, sQ, hQ]
    for (int bb = 0; bb < p.b; bb++)
      for (int j = 0; j < p.sQ; j++)
        for (int h = 0; h < p.hQ; h++) {
          const double r = rl[(static_cast<size_t>(bb) * p.sQ + j) * p.hQ + h];
          const double x = hl[(static_cast<size_t>(bb) * p.hQ + h) * p.sQ + j]; // [b, hQ, sQ]
          if (std::isinf(r) ? !(std::isinf(x) && x > 0) : !(std::fabs(x - r) <= 1e-3 * std::max(1.0, std::fabs(r)))) lseErr = std::max(lseErr, std::isnan(x) ? 1e9 : std::fabs(x - r) + (std::isinf(r) ? 1e9 : 0));
        }
    const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    const bool ok = !nan && rel < 1e-2 && lseErr == 0;
    worst = std::max(worst, rel);
    ran++;
    if (!ok || c < 3) {
      printf("%s case %d: b=%d hQ=%d sQ=%d %s causal=%d seqlens[0]=%d splits=%d parts=%d rel=%.3e nan=%d lseErr=%.3e\n", ok ? "ok  " : "FAIL", c, p.b, p.hQ, p.sQ,
             pr.f16 ? "f16" : "bf16", pr.causal, pr.seqlens[0], d.hNs[p.b], d.parts, rel, nan, lseErr);
    }
    if (!ok) fails++;
    freeDev(d);
  }
  printf("check (%s): %d cases run, %d failed, worst rel %.3e\n", which == kNew ? "sm90 2 warpgroups" : "sm90 1 warpgroup", ran, fails, worst);
  return fails ? 1 : 0;
}

static void timeOne(int b, int sk, int hQ, int sQ, FILE* js) {
  std::mt19937 rng(1234 + sk + hQ);
  Problem pr;
  pr.b = b; pr.hQ = hQ; pr.sQ = sQ;
  pr.seqlens.assign(b, sk);
  Dev d;
  setup(pr, d, rng);
  const double bytes = 2.0 * (static_cast<double>(b) * sk * 576 + static_cast<double>(b) * sQ * hQ * 576 + static_cast<double>(b) * sQ * hQ * 512);
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  double us[3] = {0, 0, 0};
  for (int w = 0; w < 3; w++) {
    const Kern k = w == 0 ? kNew : w == 1 ? kNew1 : kOld;
    if (!launch(d, false, k)) continue;
    CK(cudaDeviceSynchronize());
    std::vector<float> ts;
    for (int rep = 0; rep < 5; rep++) {
      const int n = 20;
      CK(cudaEventRecord(e0));
      for (int i = 0; i < n; i++) launch(d, false, k);
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      float ms;
      CK(cudaEventElapsedTime(&ms, e0, e1));
      ts.push_back(ms * 1000.f / n);
    }
    std::sort(ts.begin(), ts.end());
    us[w] = ts[ts.size() / 2];
  }
  printf("time b=%d s_k=%d h_q=%d s_q=%d rows=%d  sm90 %7.1f us %5.0f GB/s | sm90 1wg %7.1f us %5.0f GB/s | mma.sync %7.1f us %5.0f GB/s | gain %.2fx\n", b, sk, hQ, sQ,
         sQ * hQ, us[0], bytes / us[0] / 1e3, us[1], bytes / us[1] / 1e3, us[2], bytes / us[2] / 1e3, us[2] / us[0]);
  if (js) fprintf(js, "{\"b\":%d,\"s_k\":%d,\"h_q\":%d,\"s_q\":%d,\"sm90_us\":%.2f,\"sm90_1wg_us\":%.2f,\"mmasync_us\":%.2f,\"bytes\":%.0f},\n", b, sk, hQ, sQ, us[0], us[1], us[2], bytes);
  freeDev(d);
}

int main(int argc, char** argv) {
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  gSms = prop.multiProcessorCount;
  printf("device %s, %d SMs, sm_%d%d\n", prop.name, gSms, prop.major, prop.minor);
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew);
  if (mode == "check1") return check(argc > 2 ? atoi(argv[2]) : 200, argc > 3 ? atoi(argv[3]) : 1, kNew1);
  if (mode == "time") {
    FILE* js = argc > 2 ? fopen(argv[2], "w") : nullptr;
    const int grid[][4] = {{128, 8192, 16, 1}, {128, 8192, 32, 1}, {128, 8192, 16, 2}, {128, 4096, 16, 1}, {128, 4096, 32, 1}, {128, 1024, 16, 1}, {128, 1024, 32, 1}, {128, 1024, 16, 2}, {1, 32768, 16, 1}};
    for (const auto& g : grid) timeOne(g[0], g[1], g[2], g[3], js);
    if (js) fclose(js);
    return 0;
  }
  fprintf(stderr, "usage: harness check [cases] [seed] | time [json]\n");
  return 2;
}
