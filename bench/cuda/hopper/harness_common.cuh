// Host code both Hopper harnesses share (harness.cu, harness_wide.cu): the scheduler as src/core/scheduler.ts
// plans it, the float64 reference kernel, half-precision conversions and the problem description. Included
// after params.h, the kernels and the standard headers, inside `using namespace mla`: setup() fills a random
// problem's device buffers (and the Hopper kernels' tensor map), checkCases() runs random cases against the
// reference, medianUs() times a launch.
#pragma once
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
  int parts = 0, nPages = 0;
  std::vector<int> hNs;
  CUtensorMap tm{}; // the cache as {576 columns, pages * 64 rows}, 64 x 64 boxes, 128-byte swizzle
  mutable CUtensorMap tq{}; // Q as {576 columns, b s_q h_q rows}, 64 x tqRows boxes (decode_sm90.cu kNVarQTma), made on first use
  mutable int tqRows = 0;
};

// The Hopper kernels' tensor map of the cache (page 64, one KV head; launch.ts sm90CacheMap): 16-bit elements,
// {576 columns, rows}, 64 x 64 boxes, 128-byte swizzle.
// boxRows 64: the cache's map; NR: Q's (decode_sm90.cu kNVarQTma, the same layout over the query rows).
static CUtensorMap encodeCacheMap(const void* k, size_t rows, unsigned boxRows = 64) {
  CUtensorMap tm;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(kDQk), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(kDQk) * 2};
  const cuuint32_t box[2] = {64, boxRows}, estr[2] = {1, 1};
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

// Timing problems: the whole cache (live keys and unused slots alike) uniform in [-2, 2) from a hash, written on the
// device (the host loop over a 1.2 GB cache took seconds a configuration).
__global__ void fillUniform(uint16_t* k, size_t n, uint32_t seed, bool f16) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u ^ seed ^ static_cast<uint32_t>(i >> 32) * 0x9E3779B9u;
    x ^= x >> 15; x *= 0x2C1B3C6Du; x ^= x >> 12; x *= 0x297A2D39u; x ^= x >> 15;
    const float v = static_cast<float>(x >> 8) * (4.f / 16777216.f) - 2.f;
    if (f16) { const __half h = __float2half_rn(v); k[i] = *reinterpret_cast<const uint16_t*>(&h); }
    else { const __nv_bfloat16 h = __float2bfloat16_rn(v); k[i] = *reinterpret_cast<const uint16_t*>(&h); }
  }
}

static void setup(const Problem& pr, Dev& d, std::mt19937& rng) {
  const int b = pr.b, maxSeq = *std::max_element(pr.seqlens.begin(), pr.seqlens.end());
  const int mbps = std::max(1, (maxSeq + pr.page - 1) / pr.page);
  const int rows = pr.sQ * pr.hQ / pr.hKv;
  d.parts = std::max(1, gSms / pr.hKv / ((rows + 63) / 64));
  std::vector<int> meta;
  planSchedule(pr.seqlens, d.parts, meta, d.hNs);
  // Pages: a random permutation of b * mbps + 3 pages (three never used); table entries past a sequence are junk.
  const int nPages = b * mbps + 3;
  d.nPages = nPages;
  std::vector<int> perm(nPages);
  for (int i = 0; i < nPages; i++) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int> bt(b * mbps);
  for (int i = 0; i < b; i++)
    for (int c = 0; c < mbps; c++) bt[i * mbps + c] = c * pr.page < pr.seqlens[i] ? perm[i * mbps + c] : (c % 2 ? -7 : 1 << 29);
  d.kElems = static_cast<size_t>(nPages) * pr.page * pr.hKv * kDQk;
  // Large (timing) problems: a xorshift uniform in [-2, 2) instead of normal draws, so setup stays seconds, and the
  // cache filled on the device (fillUniform).
  const bool fast = static_cast<size_t>(b) * maxSeq >= (1u << 17); // every timing shape (b = 128 from s_k 1024), no check case
  std::vector<uint16_t> hk(fast ? 0 : d.kElems, pr.f16 ? 0x7E00 : 0x7FC0); // NaN everywhere, then live keys
  std::normal_distribution<float> ndist(0.f, 1.f);
  uint32_t xs = rng() | 1;
  auto nd = [&](std::mt19937& r) -> float {
    if (!fast) return ndist(r);
    xs ^= xs << 13; xs ^= xs >> 17; xs ^= xs << 5;
    return static_cast<float>(xs >> 8) * (4.f / 16777216.f) - 2.f;
  };
  auto enc = [&](float x) { return pr.f16 ? f2h(x) : f2bf(x); };
  for (int i = 0; i < (fast ? 0 : b); i++)
    for (int t = 0; t < pr.seqlens[i]; t++) {
      const size_t base = ((static_cast<size_t>(bt[i * mbps + t / pr.page]) * pr.page + t % pr.page) * pr.hKv) * kDQk;
      for (size_t e = 0; e < static_cast<size_t>(pr.hKv) * kDQk; e++) hk[base + e] = enc(nd(rng));
    }
  const size_t qElems = static_cast<size_t>(b) * pr.sQ * pr.hQ * kDQk;
  std::vector<uint16_t> hq(qElems);
  // Q_SCALE (default 1): Q's draws multiplied by it, so a row's scores spread over more than 126 in base 2 and the
  // exponentials below 2^-126 (flushed by the ftz variants) occur; 1 leaves every draw as before.
  static const float qScale = getenv("Q_SCALE") ? static_cast<float>(atof(getenv("Q_SCALE"))) : 1.f;
  for (auto& x : hq) x = enc(qScale * nd(rng));
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
  if (fast) {
    fillUniform<<<4 * gSms, 256>>>(static_cast<uint16_t*>(d.k), d.kElems, rng(), pr.f16);
    CK(cudaGetLastError());
  } else {
    CK(cudaMemcpy(d.k, hk.data(), d.kElems * 2, cudaMemcpyHostToDevice));
  }
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

// Device 0: its SM count sets the SM parts (gSms); the name is printed first.
static void useDevice0() {
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  gSms = prop.multiProcessorCount;
  printf("device %s, %d SMs, sm_%d%d\n", prop.name, gSms, prop.major, prop.minor);
}

// The mma.sync variant `fn` (decode.cu; `m` query rows a CTA, `smem` bytes of shared memory) on d's problem.
static void launchMma(const Dev& d, void (*fn)(MlaParams), int smem, int m) {
  const MlaParams& p = d.p;
  CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  fn<<<dim3(p.numSmParts, p.hKv, (p.rows + m - 1) / m), 256, smem>>>(p);
}

// After a decode launch: its error, then the combine where a request was split. Returns true (the case ran).
static bool finishLaunch(const Dev& d, bool f16) {
  const MlaParams& p = d.p;
  CK(cudaGetLastError());
  if (d.hNs[p.b] != p.b) {
    (f16 ? mla_combine_f16 : mla_combine_bf16)<<<dim3(p.b, (p.sQ * p.hQ + p.combineRows - 1) / p.combineRows, 4), 256>>>(p);
    CK(cudaGetLastError());
  }
  return true;
}

// Random cases of the given (hQ, sQ) shapes against the float64 reference: NaN in every unused cache slot and
// junk block-table entries (setup), outputs poisoned before the run. `launch(d, f16)` runs the kernel under test
// and returns false where it does not take the shape (the case is skipped). Returns 1 when a case failed.
template <typename Launch>
static int checkCases(int cases, unsigned seed, const int (*shapes)[2], int nShapes, int longMax, const char* label, Launch launch,
                      bool bf16Only = false, int only = -1) {
  std::mt19937 rng(seed);
  int fails = 0, ran = 0, ranF16 = 0, ranCausal = 0, ranSplit = 0;
  long emptyRows = 0; // reference rows without a visible key (lse +inf)
  double worst = 0;
  for (int c = 0; c < cases; c++) {
    Problem pr;
    const auto& sh = shapes[only >= 0 ? only : static_cast<int>(rng() % nShapes)];
    pr.hQ = sh[0]; pr.sQ = sh[1];
    pr.f16 = bf16Only ? false : rng() % 4 == 0;
    pr.causal = rng() % 3 == 0;
    // CHECK_SHORT=1 (session 21 n1): every case causal, and a request, one time in three, shorter than s_q (0 included),
    // so its first query rows see no key at all (out 0, lse +inf). Without it the draws are as before.
    static const bool shortRows = getenv("CHECK_SHORT") && atoi(getenv("CHECK_SHORT")) != 0;
    if (shortRows) pr.causal = 1;
    const int kind = rng() % 4;
    pr.b = kind == 0 ? 1 : 1 + rng() % 9;
    for (int i = 0; i < pr.b; i++) {
      int s;
      switch (kind) {
        case 0: s = 1 + rng() % longMax; break;                   // one long sequence: split over many parts
        case 1: { const int e[] = {1, 2, 63, 64, 65, 127, 128, 129}; s = e[rng() % 8]; break; }
        default: s = 1 + rng() % 3000;
      }
      if (pr.causal) s = std::max(s, pr.sQ);
      if (shortRows && rng() % 3 == 0) s = static_cast<int>(rng() % pr.sQ);
      pr.seqlens.push_back(s);
    }
    Dev d;
    setup(pr, d, rng);
    const MlaParams& p = d.p;
    const size_t outElems = static_cast<size_t>(p.b) * p.sQ * p.hQ * kDV, lseElems = static_cast<size_t>(p.b) * p.sQ * p.hQ;
    CK(cudaMemset(d.out, 0xFF, outElems * 2)); // NaN: every element must be written
    CK(cudaMemset(d.lse, 0xFF, lseElems * 4));
    CK(cudaMemset(d.oacc, 0xFF, static_cast<size_t>(p.b + d.parts) * p.sQ * p.hQ * kDV * 4));
    const bool ranNew = launch(d, pr.f16);
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
          emptyRows += std::isinf(r);
          const double x = hl[(static_cast<size_t>(bb) * p.hQ + h) * p.sQ + j]; // [b, hQ, sQ]
          if (std::isinf(r) ? !(std::isinf(x) && x > 0) : !(std::fabs(x - r) <= 1e-3 * std::max(1.0, std::fabs(r)))) lseErr = std::max(lseErr, std::isnan(x) ? 1e9 : std::fabs(x - r) + (std::isinf(r) ? 1e9 : 0));
        }
    const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    const bool ok = !nan && rel < 1e-2 && lseErr == 0;
    worst = std::max(worst, rel);
    ran++;
    ranF16 += pr.f16;
    ranCausal += pr.causal;
    ranSplit += d.hNs[p.b] != p.b;
    if (!ok || c < 3) {
      printf("%s case %d: b=%d hQ=%d sQ=%d %s causal=%d seqlens[0]=%d splits=%d parts=%d rel=%.3e nan=%d lseErr=%.3e\n", ok ? "ok  " : "FAIL", c, p.b, p.hQ, p.sQ,
             pr.f16 ? "f16" : "bf16", pr.causal, pr.seqlens[0], d.hNs[p.b], d.parts, rel, nan, lseErr);
    }
    if (!ok) fails++;
    if (ran % 100 == 0) { printf("check: %d cases so far, %d failed, worst rel %.3e\n", ran, fails, worst); fflush(stdout); }
    freeDev(d);
  }
  printf("check (%s): %d cases run, %d failed, worst rel %.3e\n", label, ran, fails, worst);
  printf("check (%s) cases: f16 %d, causal %d, split %d, rows without a key %ld\n", label, ranF16, ranCausal, ranSplit, emptyRows);
  return fails ? 1 : 0;
}

// Median microseconds of one launch sequence (5 rounds of 20 back to back); 0 where `launch` does not take d.
template <typename Launch>
static double medianUs(const Dev& d, Launch launch) {
  if (!launch(d, false)) return 0;
  CK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<float> ts;
  for (int rep = 0; rep < 5; rep++) {
    const int n = 20;
    CK(cudaEventRecord(e0));
    for (int i = 0; i < n; i++) launch(d, false);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    ts.push_back(ms * 1000.f / n);
  }
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

