// The arm64 native CPU kernel (decode_neon.c, both builds) against a float64 reference, run where there is no arm64
// machine: built with aarch64-linux-gnu-gcc and run under qemu-aarch64 by test/backends/cpu-neon-qemu.test.ts.
// dlopen()s dist/cpu/libflashmla_cpu-linux-arm64.so (or the library named), reports what features.c sees and which
// ISA the loader's rule (neonbf16 when FEAT_BF16 is there and the library has it, else neon) picks, then runs every
// case of the matrix below through each entry point this CPU can run.
//
//   aarch64-linux-gnu-gcc -O2 -std=gnu11 -Isrc/backends/cpu/native test/native/neon-decode.c -o /tmp/neon-decode -lm
//   qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max /tmp/neon-decode LIB [--expect-best neon|neonbf16] [--only ISA]
//
// Hostile by default: NaN in the cache past each seqlen, in the pages no sequence uses, in the other KV head, in
// the keys of a split before its kBegin and in the other sequence's query rows; block-table slots past the
// sequence point far out of range (a read faults); shuffled pages; output rows the item must not write keep a
// sentinel. The reference is float64 on the same bf16 / f16 inputs; NaN and infinity positions must match exactly,
// other values within 2 ulps of the output dtype plus 2e-5 of the row's sum of |p v| (f32 accumulation), and every
// row's cosine to the reference at least 1 - 1e-5. A failure prints the case, the row and the worst element.
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "harness.h"

#define DQK 576
#define DV 512
#define OOB_PAGE 0x7fffffff

typedef int (*entry_t)(const int32_t *, float, const uint16_t *, const uint16_t *, const int32_t *, uint16_t *, float *, float *, float *);

// One work item: sequence 1 of two (sequence 0's query rows are NaN), KV head hKv - 1 (the others are NaN).
typedef struct {
  const char *name;
  int hQ, hKv, sQ, seqlen, page, causal;
  int kBegin, kEnd; // kEnd < 0: the whole sequence [0, seqlen), written to out / lse; else a split's [kBegin, kEnd)
  int poison;       // 1: NaN in one query row; 2: +inf in a key's rope dims (scores +-inf); 3: both dtypes mixed;
                    // 4: as 2 in the last key, and every query holds a negative subnormal there (f32: -inf; a dot
                    // that flushes subnormals: 0 x inf = NaN)
  float scale, qAmp;
} Case;

static const Case matrix[] = {
  {"seqlen 1", 16, 1, 1, 1, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"seqlen 63", 16, 1, 1, 63, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"seqlen 64", 16, 1, 1, 64, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"seqlen 65", 16, 1, 1, 65, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"seqlen 0", 16, 1, 1, 0, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"odd hQ 3, page 16", 3, 1, 1, 200, 16, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"hQ 128 (row chunks)", 128, 1, 1, 130, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"hQ 10 hKv 2, sQ 2 causal", 10, 2, 2, 77, 64, 1, 0, -1, 0, 0.0416667f, 3.0f},
  {"hQ 5, sQ 3 causal (15 rows)", 5, 1, 3, 66, 64, 1, 0, -1, 0, 0.0416667f, 3.0f},
  {"sQ 4 causal, seqlen 3 (a row sees nothing)", 16, 1, 4, 3, 64, 1, 0, -1, 0, 0.0416667f, 3.0f},
  {"long seqlen 1500", 16, 1, 1, 1500, 64, 0, 0, -1, 0, 0.0416667f, 3.0f},
  {"peaky softmax", 6, 1, 1, 300, 64, 0, 0, -1, 0, 0.25f, 4.0f},
  {"split [64, 300) of 500", 16, 1, 1, 500, 64, 0, 64, 300, 0, 0.0416667f, 3.0f},
  {"split causal [64, 129), sQ 2", 7, 1, 2, 129, 64, 1, 64, 129, 0, 0.0416667f, 3.0f},
  {"split causal [64, 66), sQ 3 (a row sees none)", 4, 1, 3, 66, 16, 1, 64, 66, 0, 0.0416667f, 3.0f},
  {"NaN in a query row", 16, 1, 1, 100, 64, 0, 0, -1, 1, 0.0416667f, 3.0f},
  {"+inf in a key's rope dims", 16, 1, 1, 100, 64, 0, 0, -1, 2, 0.0416667f, 3.0f},
  {"+inf in a key, split", 9, 1, 2, 140, 64, 1, 30, 140, 2, 0.0416667f, 3.0f},
  {"+inf in a key times subnormal q (-inf scores)", 8, 1, 2, 100, 64, 0, 0, -1, 4, 0.0416667f, 3.0f},
  {"+inf in a key times subnormal q, a partial key block", 5, 1, 1, 99, 64, 0, 0, -1, 4, 0.0416667f, 3.0f},
  {"q bf16 on an f16 cache and back", 12, 1, 1, 90, 64, 0, 0, -1, 3, 0.0416667f, 3.0f},
};
#define RANDOM_CASES 24

// Distance between adjacent values of the output dtype at |x| (its smallest subnormal step below the normal range).
static double ulp_of(double x, int f16) {
  const int mant = f16 ? 10 : 7, emin = f16 ? -14 : -126;
  int e;
  frexp(fabs(x), &e);
  e -= 1;
  if (e < emin) e = emin;
  return ldexp(1.0, e - mant);
}

typedef struct {
  int failures;
  double worstUlps; // |got - ref| / the tolerance, worst over the run (<= 1 passes)
  char worst[512];
} Tally;

static void fail(Tally *t, const char *isa, const Case *c, const char *what) {
  t->failures++;
  if (t->failures <= 12) printf("FAIL %s [%s] %s\n", isa, c->name, what);
}

static void note(Tally *t, double ratio, const char *isa, const Case *c, const char *where) {
  if (ratio > t->worstUlps) {
    t->worstUlps = ratio;
    snprintf(t->worst, sizeof t->worst, "%s [%s] %s", isa, c->name, where);
  }
}

// Run case c (its dtypes qF16 / kvF16) through each entry; returns the number of failing checks.
static void run_case(const Case *c, int qF16, int kvF16, entry_t *fns, const char **isas, int nIsa, Tally *tally) {
  const int hQ = c->hQ, hKv = c->hKv, sQ = c->sQ, seqlen = c->seqlen, page = c->page, g = hKv - 1, nG = hQ / hKv;
  const int whole = c->kEnd < 0, kBegin = whole ? 0 : c->kBegin, kEnd = whole ? seqlen : c->kEnd;
  const int b = 2, i = 1, qStart = sQ; // sequence 1 of 2
  const int blocks = (seqlen + page - 1) / page, maxBlocks = blocks + 2, numPages = 2 * blocks + 3;
  const uint16_t nanQ = qF16 ? 0x7e00 : 0x7fc0, nanK = kvF16 ? 0x7e00 : 0x7fc0, infK = kvF16 ? 0x7c00 : 0x7f80;

  // Block table: sequence 1's logical pages map to shuffled physical ones, every other slot out of range.
  int32_t *table = malloc(sizeof(int32_t) * b * maxBlocks);
  for (int s = 0; s < b * maxBlocks; s++) table[s] = OOB_PAGE;
  int *perm = malloc(sizeof(int) * numPages);
  for (int p = 0; p < numPages; p++) perm[p] = p;
  for (int p = numPages - 1; p > 0; p--) { const int j = next_u32() % (p + 1), x = perm[p]; perm[p] = perm[j]; perm[j] = x; }
  for (int l = 0; l < blocks; l++) table[i * maxBlocks + l] = perm[l];

  // Cache: NaN everywhere, then sequence 1's keys [kBegin, seqlen) of head g (keys before kBegin stay NaN in a split:
  // they belong to another item and must not be read).
  const size_t cacheElems = (size_t)numPages * page * hKv * DQK;
  uint16_t *cache = malloc(cacheElems * 2);
  for (size_t e = 0; e < cacheElems; e++) cache[e] = nanK;
  const int infKey = c->poison == 2 ? kBegin + (kEnd - kBegin) / 2 : c->poison == 4 ? kEnd - 1 : -1;
  for (int key = kBegin; key < seqlen; key++) {
    uint16_t *row = cache + (((size_t)table[i * maxBlocks + key / page] * page + key % page) * hKv + g) * DQK;
    for (int d = 0; d < DQK; d++) row[d] = to_half(uniform01() * 2 - 1, kvF16);
    if (key == infKey) row[DV + 28] = infK; // a rope dim: the score turns +-inf (or NaN where q is 0), V stays finite
  }

  // Queries: sequence 0's rows NaN; sequence 1's random, one row NaN when poisoned.
  const size_t qElems = (size_t)b * sQ * hQ * DQK;
  uint16_t *q = malloc(qElems * 2);
  for (size_t e = 0; e < qElems; e++) q[e] = e < (size_t)qStart * hQ * DQK ? nanQ : to_half((uniform01() * 2 - 1) * c->qAmp, qF16);
  const int nanRow = c->poison == 1 ? 2 : -1; // head 2 of the first token
  if (nanRow >= 0) q[((size_t)qStart * hQ + nanRow) * DQK + 100] = nanQ;
  if (c->poison == 4)
    for (int r = 0; r < sQ * hQ; r++) q[((size_t)qStart * hQ + r) * DQK + DV + 28] = 0x8001; // the smallest negative subnormal

  // Reference, per row (j, h) of the item: float64 over the keys it sees in [kBegin, kEnd).
  const int rows = sQ * nG;
  double *refO = malloc(sizeof(double) * rows * DV), *refAbs = malloc(sizeof(double) * rows * DV), *refL = malloc(sizeof(double) * rows);
  double *s = malloc(sizeof(double) * (seqlen + 1));
  int *sees = malloc(sizeof(int) * rows);
  for (int r = 0; r < rows; r++) {
    const int j = r / nG, h = g * nG + r % nG;
    const uint16_t *qr = q + ((size_t)(qStart + j) * hQ + h) * DQK;
    int vis = c->causal ? seqlen - sQ + j + 1 : seqlen;
    if (vis < 0) vis = 0;
    const int e = vis < kEnd ? vis : kEnd;
    sees[r] = vis > 0;
    double m = -INFINITY;
    int nan = 0;
    for (int key = kBegin; key < e; key++) {
      const uint16_t *kr = cache + (((size_t)table[i * maxBlocks + key / page] * page + key % page) * hKv + g) * DQK;
      double dot = 0;
      for (int d = 0; d < DQK; d++) dot += from_half(qr[d], qF16) * from_half(kr[d], kvF16);
      s[key] = dot * c->scale;
      if (s[key] != s[key]) nan = 1;
      else if (s[key] > m) m = s[key];
    }
    double *o = refO + (size_t)r * DV, *oa = refAbs + (size_t)r * DV;
    for (int d = 0; d < DV; d++) o[d] = oa[d] = 0;
    if (nan || m == INFINITY) { // a NaN score, or +inf (inf - inf): the row is NaN
      for (int d = 0; d < DV; d++) o[d] = NAN;
      refL[r] = NAN;
      continue;
    }
    if (e <= kBegin || m == -INFINITY) { // no key (or only -inf scores, which no case makes)
      refL[r] = whole ? (sees[r] ? NAN : INFINITY) : -INFINITY;
      if (whole && sees[r]) for (int d = 0; d < DV; d++) o[d] = NAN;
      continue;
    }
    double l = 0;
    for (int key = kBegin; key < e; key++) {
      const double p = exp(s[key] - m);
      const uint16_t *kr = cache + (((size_t)table[i * maxBlocks + key / page] * page + key % page) * hKv + g) * DQK;
      l += p;
      for (int d = 0; d < DV; d++) {
        const double v = from_half(kr[d], kvF16);
        o[d] += p * v;
        oa[d] += p * fabs(v);
      }
    }
    for (int d = 0; d < DV; d++) { o[d] /= l; oa[d] /= l; }
    refL[r] = m + log(l);
  }

  int32_t prm[PRM_COUNT] = {0};
  prm[PRM_DTYPE] = qF16;
  prm[PRM_KV_DTYPE] = kvF16;
  prm[PRM_HQ] = hQ;
  prm[PRM_HKV] = hKv;
  prm[PRM_NGROUPS] = nG;
  prm[PRM_PAGE_BLOCK_SIZE] = page;
  prm[PRM_MAX_BLOCKS_PER_SEQ] = maxBlocks;
  prm[PRM_CAUSAL] = c->causal;
  prm[PRM_LSE_STRIDE_B] = 0; // lse [b * sQ, hQ]: row (qStart + j) * hQ + h
  prm[PRM_LSE_STRIDE_H] = 1;
  prm[PRM_LSE_STRIDE_T] = hQ;
  prm[PRM_ROWS_PER_SPLIT] = sQ * hQ;
  prm[PRM_BATCH] = i;
  prm[PRM_Q_START] = qStart;
  prm[PRM_Q_LEN] = sQ;
  prm[PRM_SEQLEN] = seqlen;
  prm[PRM_K_BEGIN] = kBegin;
  prm[PRM_K_END] = kEnd;
  prm[PRM_NO_SPLIT] = whole;
  prm[PRM_SPLIT_SLOT] = 2;
  prm[PRM_KV_HEAD] = g;

  const size_t outRows = (size_t)b * sQ * hQ, accRows = (size_t)4 * sQ * hQ;
  uint16_t *out = malloc(outRows * DV * 2);
  float *lse = malloc(outRows * 4), *oAcc = malloc(accRows * DV * 4), *lseAcc = malloc(accRows * 4);
  const uint16_t sentinel = 0x1234;
  const float fSentinel = 1234.5f;
  char where[240];
  for (int x = 0; x < nIsa; x++) {
    const char *isa = isas[x];
    for (size_t e = 0; e < outRows * DV; e++) out[e] = sentinel;
    for (size_t e = 0; e < outRows; e++) lse[e] = fSentinel;
    for (size_t e = 0; e < accRows * DV; e++) oAcc[e] = fSentinel;
    for (size_t e = 0; e < accRows; e++) lseAcc[e] = fSentinel;
    if (fns[x](prm, c->scale, q, cache, table, out, lse, oAcc, lseAcc) != 0) { fail(tally, isa, c, "returned nonzero"); continue; }
    // The rows this item owns, and nothing else written.
    char *mine = calloc(whole ? outRows : accRows, 1);
    for (int r = 0; r < rows; r++) {
      const int j = r / nG, h = g * nG + r % nG;
      const size_t row = whole ? (size_t)(qStart + j) * hQ + h : (size_t)2 * sQ * hQ + (size_t)j * hQ + h;
      mine[row] = 1;
      const double *o = refO + (size_t)r * DV, *oa = refAbs + (size_t)r * DV;
      const double gotL = whole ? lse[row] : lseAcc[row], wantL = refL[r];
      const int lBad = (wantL != wantL) != (gotL != gotL) || (isinf(wantL) && gotL != wantL)
        || (isfinite(wantL) && !(fabs(gotL - wantL) <= 2e-5 * (1 + fabs(wantL))));
      if (lBad) {
        snprintf(where, sizeof where, "row j=%d h=%d lse %.9g, want %.9g (dtypes q %s kv %s)", j, h, gotL, wantL, qF16 ? "f16" : "bf16", kvF16 ? "f16" : "bf16");
        fail(tally, isa, c, where);
      }
      double dotGR = 0, nG2 = 0, nR2 = 0, worst = 0;
      int worstD = 0, bad = 0;
      for (int d = 0; d < DV; d++) {
        const double got = whole ? from_half(out[row * DV + d], qF16) : oAcc[row * DV + d], want = o[d];
        if ((want != want) != (got != got) || (isinf(want) && got != want)) { bad = 1; worstD = d; worst = INFINITY; break; }
        if (want != want || isinf(want)) continue;
        // 2 ulps of the output dtype (f32 for a split's partials) plus the f32 accumulation's share.
        const double tol = (whole ? 2 * ulp_of(want, qF16) : 4 * ldexp(fabs(want), -24)) + 2e-5 * oa[d] + 1e-30;
        const double ratio = fabs(got - want) / tol;
        if (ratio > worst) { worst = ratio; worstD = d; }
        dotGR += got * want;
        nG2 += got * got;
        nR2 += want * want;
      }
      snprintf(where, sizeof where, "row j=%d h=%d d=%d: got %.9g want %.9g (%.3g of the tolerance; dtypes q %s kv %s)", j, h, worstD,
               whole ? from_half(out[row * DV + worstD], qF16) : oAcc[row * DV + worstD], o[worstD], worst, qF16 ? "f16" : "bf16",
               kvF16 ? "f16" : "bf16");
      if (bad || worst > 1) fail(tally, isa, c, where);
      else note(tally, worst, isa, c, where);
      if (nR2 > 0 && !(dotGR / sqrt(nG2 * nR2) >= 1 - 1e-5)) {
        snprintf(where, sizeof where, "row j=%d h=%d cosine %.9f", j, h, dotGR / sqrt(nG2 * nR2));
        fail(tally, isa, c, where);
      }
    }
    int stray = 0;
    for (size_t row = 0; row < (whole ? outRows : accRows); row++) {
      if (mine[row]) continue;
      if (whole) {
        if (lse[row] != fSentinel) stray++;
        for (int d = 0; d < DV; d++) stray += out[row * DV + d] != sentinel;
      } else {
        if (lseAcc[row] != fSentinel) stray++;
        for (int d = 0; d < DV; d++) stray += oAcc[row * DV + d] != fSentinel;
      }
    }
    if (!whole) for (size_t e = 0; e < outRows * DV; e++) stray += out[e] != sentinel;
    if (stray) { snprintf(where, sizeof where, "%d values written outside the item's rows", stray); fail(tally, isa, c, where); }
    free(mine);
  }
  free(out); free(lse); free(oAcc); free(lseAcc);
  free(refO); free(refAbs); free(refL); free(s); free(sees);
  free(q); free(cache); free(perm); free(table);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s LIB [--expect-best ISA] [--only ISA]\n", argv[0]); return 2; }
  const char *expectBest = NULL, *only = NULL;
  for (int a = 2; a + 1 < argc; a += 2) {
    if (!strcmp(argv[a], "--expect-best")) expectBest = argv[a + 1];
    else if (!strcmp(argv[a], "--only")) only = argv[a + 1];
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) { printf("FAIL dlopen: %s\n", dlerror()); return 1; }
  int32_t (*features)(void) = (int32_t (*)(void))dlsym(lib, "flashmla_cpu_features");
  int32_t (*abi)(void) = (int32_t (*)(void))dlsym(lib, "flashmla_cpu_abi");
  if (!features || !abi) { printf("FAIL: no flashmla_cpu_features / flashmla_cpu_abi\n"); return 1; }
  if (abi() != FLASHMLA_CPU_ABI) { printf("FAIL: abi %d, want %d\n", abi(), FLASHMLA_CPU_ABI); return 1; }
  const int32_t f = features();
  // The loader's choice (src/backends/cpu/native/loader.ts): bit 0 Advanced SIMD, bit 1 FEAT_BF16.
  const char *names[2] = {"neonbf16", "neon"};
  const char *entries[2] = {"flashmla_cpu_decode_item_neonbf16", "flashmla_cpu_decode_item_neon"};
  const int32_t need[2] = {3, 1};
  entry_t fns[2];
  const char *isas[2];
  int nIsa = 0;
  const char *best = "none";
  for (int e = 0; e < 2; e++) {
    entry_t fn = (entry_t)dlsym(lib, entries[e]);
    if (!fn || (f & need[e]) != need[e]) continue;
    if (!strcmp(best, "none")) best = names[e];
    if (only && strcmp(only, names[e])) continue;
    fns[nIsa] = fn;
    isas[nIsa++] = names[e];
  }
  printf("features %d (Advanced SIMD %s, BF16 %s); best: %s\n", f, f & 1 ? "yes" : "no", f & 2 ? "yes" : "no", best);
  int failed = 0;
  if (expectBest && strcmp(expectBest, best)) { printf("FAIL: expected best ISA %s, got %s\n", expectBest, best); failed = 1; }
  if (!nIsa) { printf("FAIL: no entry point to run\n"); return 1; }

  Tally tally = {0, 0, ""};
  int items = 0;
  rng = 0x9e3779b97f4a7c15ull;
  const int nFixed = (int)(sizeof matrix / sizeof matrix[0]);
  for (int ci = 0; ci < nFixed + RANDOM_CASES; ci++) {
    Case c;
    char name[96];
    if (ci < nFixed) c = matrix[ci];
    else {
      // Random shapes: any hQ 1..20 over hKv 1..2, sQ 1..3, seqlen 0..400, page 16 or 64, causal or not, a split or not.
      const int hKv = 1 + next_u32() % 2;
      c.hKv = hKv;
      c.hQ = hKv * (1 + next_u32() % (20 / hKv));
      c.sQ = 1 + next_u32() % 3;
      c.seqlen = next_u32() % 401;
      c.page = next_u32() % 2 ? 64 : 16;
      c.causal = next_u32() % 2;
      c.kBegin = 0;
      c.kEnd = -1;
      if (c.seqlen > 2 && next_u32() % 2) {
        c.kBegin = next_u32() % (c.seqlen / 2);
        c.kEnd = c.kBegin + 1 + next_u32() % (c.seqlen - c.kBegin);
      }
      c.poison = 0;
      c.scale = 0.0416667f;
      c.qAmp = 1.0f + 3.0f * (float)uniform01();
      snprintf(name, sizeof name, "random %d: hQ %d hKv %d sQ %d seqlen %d page %d%s%s", ci - nFixed, c.hQ, c.hKv, c.sQ, c.seqlen, c.page,
               c.causal ? " causal" : "", c.kEnd >= 0 ? " split" : "");
      c.name = name;
    }
    if (c.poison == 3) { run_case(&c, 0, 1, fns, isas, nIsa, &tally); run_case(&c, 1, 0, fns, isas, nIsa, &tally); items += 2; continue; }
    run_case(&c, 0, 0, fns, isas, nIsa, &tally);
    run_case(&c, 1, 1, fns, isas, nIsa, &tally);
    items += 2;
  }
  printf("%d items x %d ISA(s) (%s%s%s): %d failures; worst error %.3g of the tolerance (%s)\n", items, nIsa, isas[0], nIsa > 1 ? ", " : "",
         nIsa > 1 ? isas[1] : "", tally.failures, tally.worstUlps, tally.worst);
  failed |= tally.failures != 0;
  printf(failed ? "FAIL\n" : "OK\n");
  return failed;
}
