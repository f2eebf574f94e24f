// The token-sparse entry (decode_common.h sparse_item) of one ISA unit on a fixed matrix of seeded cases, its
// outputs written to a file for test/backends/cpu-neon-qemu.test.ts to compare across machines: built with gcc and
// run on x86-64 against the AVX2 entry (checked against the float64 reference by cpu-sparse-native.test.ts), built
// with aarch64-linux-gnu-gcc and run under qemu-aarch64 against the NEON entries. The inputs depend on the seed
// alone, so both builds see the same bytes.
//
//   sparse-cross LIB OUT_PREFIX ENTRY...   writes OUT_PREFIX.ENTRY.bin (f32); prints "case OUT LSE OACCUM LSEACCUM NAME"
//                                          per case (the floats of each array), then OK
//
// A case's floats: out [b, sQ, hQ, DV] (the half values widened to f32; rows the items must not write keep a NaN
// sentinel), lse [b, hQ, sQ], then oAccum [2, sQ, hQ, DV] and lseAccum [2, sQ, hQ] of the same list run as two
// splits (positions [0, 64) into slot 0, the rest into slot 1; slots start as NaN). Request 1 of 2 is the item's:
// request 0's query rows are NaN, and its index rows point out of range.
//
// Then the FP8 cases of the matrix once more through the dense entry (decode_common.h decode_item, its name with
// "decode_item" for "sparse_item"): the same main cache read by block table (pages in reverse order, the last one
// partly filled), request 1 of 2, causal, the same arrays (lse [b, hQ, sQ]; partial rows j * hQ + h of 2 slots); the
// combine entry ("combine_item") then merges those two partials into request 0's rows.
//
// Hostile inputs: -1 indices, mainLen < topk (the tail past it indexes out of range), an extra cache of another page
// size after the main list padded to 64, a sink with finite and +-inf values, odd hQ and hQ past one row chunk (48),
// sQ 1 and 2, V3.2 scales that are and are not powers of two (BF16_DOT units: the bf16 dot and the f32 loops), an e4m3
// NaN byte, a list with no valid index.
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "harness.h"

#define DV 512

typedef int (*combine_entry_t)(const int32_t *, const float *, const float *, uint16_t *, float *);
typedef int (*dense_entry_t)(const int32_t *, float, const uint16_t *, const void *, const int32_t *, uint16_t *, float *, float *, float *);
typedef int (*sparse_entry_t)(const int32_t *, float, const uint16_t *, const void *, const void *, const int32_t *, const int32_t *,
                              const float *, uint16_t *, float *, float *, float *);

enum { KIND_BF16, KIND_F16, KIND_V32, KIND_MODEL1 };

typedef struct {
  const char *name;
  int kind, dtype;       // cache kind (params.h SPRM_KIND), q / out dtype (0 bf16, 1 f16)
  int hQ, sQ, topk, mainLen;
  int page, tokens;      // main cache
  int extraTopk, extraLen, extraPage, extraTokens; // extraTopk 0: no extra cache
  int sink;              // 1: a sink with finite and +-inf values
  int special;           // 1: V3.2 scales not powers of two in tokens from 200 on, which only positions from 100 on
                         // index (the first tile exact in bf16, the second not); 2: an e4m3 NaN byte in token 37,
                         // which query token 0 sees; 3: no valid index
} Case;

static const Case matrix[] = {
  {"bf16, hQ 3, sQ 2, mainLen 90 of 100, sink", KIND_BF16, 0, 3, 2, 100, 90, 64, 300, 0, 0, 0, 0, 1, 0},
  {"bf16, hQ 64 (row chunks), extra bf16 50 of 70", KIND_BF16, 0, 64, 1, 100, 77, 64, 256, 70, 50, 16, 96, 0, 0},
  {"f16 q on an f16 cache, hQ 5, sQ 2, sink", KIND_F16, 1, 5, 2, 130, 130, 64, 400, 0, 0, 0, 0, 1, 0},
  {"V3.2 FP8, hQ 5, sQ 2, extra V3.2 40 of 64, sink", KIND_V32, 0, 5, 2, 128, 100, 64, 320, 64, 40, 32, 128, 1, 0},
  {"V3.2 FP8, scales not powers of two past the first tile, hQ 3, sQ 2", KIND_V32, 0, 3, 2, 150, 150, 64, 300, 0, 0, 0, 0, 0, 1},
  {"V3.2 FP8, an e4m3 NaN byte, hQ 7, sQ 2", KIND_V32, 0, 7, 2, 100, 100, 64, 200, 0, 0, 0, 0, 0, 2},
  {"MODEL1 FP8 (dQk 512), hQ 7, sQ 2, extra MODEL1 30 of 33, sink", KIND_MODEL1, 0, 7, 2, 120, 111, 64, 256, 33, 30, 16, 64, 1, 0},
  {"MODEL1 FP8, hQ 49, sQ 1", KIND_MODEL1, 0, 49, 1, 200, 170, 64, 384, 0, 0, 0, 0, 0, 0},
  {"no valid index, sink", KIND_BF16, 0, 3, 2, 64, 64, 64, 128, 0, 0, 0, 0, 1, 3},
};

static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)uniform01(); }

// An e4m3 byte of magnitude below 2 (exponent field <= 7), never the NaN bytes.
static uint8_t e4m3_byte(void) { return (uint8_t)(next_u32() & 0xbf); }

static int dqk_of(int kind) { return kind == KIND_MODEL1 ? 512 : 576; }

// Bytes of a cache of `tokens` tokens (MODEL1: whole blocks of `page`, each padded to a multiple of 576).
static size_t cache_bytes(int kind, int tokens, int page) {
  if (kind == KIND_V32) return (size_t)tokens * 656;
  if (kind == KIND_MODEL1) return (size_t)(tokens / page) * (size_t)((page * 584 + 575) / 576) * 576;
  return (size_t)tokens * dqk_of(kind) * 2;
}

static uint8_t *make_cache(const Case *c, int kind, int tokens, int page) {
  const size_t bytes = cache_bytes(kind, tokens, page);
  uint8_t *base = calloc(bytes, 1);
  if (kind == KIND_BF16 || kind == KIND_F16) {
    uint16_t *h = (uint16_t *)(void *)base;
    for (size_t j = 0; j < bytes / 2; j++) h[j] = to_half(uniform(-1.0f, 1.0f), kind == KIND_F16);
  } else if (kind == KIND_V32) {
    for (int t = 0; t < tokens; t++) {
      uint8_t *tok = base + (size_t)t * 656;
      for (int d = 0; d < 512; d++) tok[d] = e4m3_byte();
      for (int j = 0; j < 4; j++) {
        float s = ldexpf(1.0f, -(int)(next_u32() % 3) - 2);
        if (c->special == 1 && t >= 200) s *= 1.3f;
        memcpy(tok + 512 + 4 * j, &s, 4);
      }
      uint16_t rope[64];
      for (int d = 0; d < 64; d++) rope[d] = to_half(uniform(-1.0f, 1.0f), 0);
      memcpy(tok + 528, rope, sizeof rope);
    }
    if (c->special == 2) base[(size_t)37 * 656 + 5] = 0x7f;
  } else {
    const size_t stride = (size_t)((page * 584 + 575) / 576) * 576;
    for (int t = 0; t < tokens; t++) {
      uint8_t *blk = base + (size_t)(t / page) * stride;
      const int slot = t % page;
      uint8_t *tok = blk + (size_t)slot * 576;
      for (int d = 0; d < 448; d++) tok[d] = e4m3_byte();
      uint16_t rope[64];
      for (int d = 0; d < 64; d++) rope[d] = to_half(uniform(-1.0f, 1.0f), 0);
      memcpy(tok + 448, rope, sizeof rope);
      uint8_t *sc = blk + (size_t)page * 576 + (size_t)slot * 8;
      for (int j = 0; j < 7; j++) sc[j] = (uint8_t)(127 - 2 - next_u32() % 3);
    }
  }
  return base;
}

// Index rows [b, sQ, topk]: request 1's valid part holds tokens and some -1, the rest (request 0, past len) out of range.
static int32_t *make_indices(int b, int sQ, int topk, int len, int tokens, int special) {
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)b * sQ * topk);
  for (int r = 0; r < b * sQ; r++)
    for (int p = 0; p < topk; p++) {
      int32_t v = 0x3fffffff;
      if (r >= sQ && p < len) v = special == 3 || next_u32() % 7 == 0 ? -1 : (int32_t)(next_u32() % (special == 1 && p < 100 ? 200 : tokens));
      idx[(size_t)r * topk + p] = v;
    }
  return idx;
}

// A case's outputs: out [b, sQ, hQ, DV] in q's dtype and lse [b, hQ, sQ] (NaN sentinels where the item must not
// write), oAccum [2, sQ, hQ, DV] and lseAccum [2, sQ, hQ] (NaN): what run_case and run_dense_case hand an entry.
typedef struct {
  int f16;
  size_t n[4]; // floats of out, lse, oAccum, lseAccum
  uint16_t *out;
  float *lse, *oAccum, *lseAccum;
} Outputs;

static Outputs outputs_new(int b, int sQ, int hQ, int f16) {
  Outputs o = {f16, {(size_t)b * sQ * hQ * DV, (size_t)b * hQ * sQ, (size_t)2 * sQ * hQ * DV, (size_t)2 * sQ * hQ}, NULL, NULL, NULL, NULL};
  o.out = malloc(o.n[0] * 2);
  o.lse = malloc(o.n[1] * 4), o.oAccum = malloc(o.n[2] * 4), o.lseAccum = malloc(o.n[3] * 4);
  for (size_t j = 0; j < o.n[0]; j++) o.out[j] = f16 ? 0x7e00 : 0x7fc0;
  for (size_t j = 0; j < o.n[1]; j++) o.lse[j] = NAN;
  for (size_t j = 0; j < o.n[2]; j++) o.oAccum[j] = NAN;
  for (size_t j = 0; j < o.n[3]; j++) o.lseAccum[j] = NAN;
  return o;
}

// Appends the four arrays to f (out widened to f32), gives their float counts in sizes, frees them.
static void outputs_write(Outputs *o, FILE *f, size_t *sizes) {
  float *wide = malloc(o->n[0] * 4);
  for (size_t j = 0; j < o->n[0]; j++) wide[j] = from_half(o->out[j], o->f16);
  fwrite(wide, 4, o->n[0], f);
  fwrite(o->lse, 4, o->n[1], f);
  fwrite(o->oAccum, 4, o->n[2], f);
  fwrite(o->lseAccum, 4, o->n[3], f);
  for (int a = 0; a < 4; a++) sizes[a] = o->n[a];
  free(wide); free(o->out); free(o->lse); free(o->oAccum); free(o->lseAccum);
}

// Runs case c through fn, appends its floats to f; sizes[4] gets the lengths of out, lse, oAccum, lseAccum.
static void run_case(const Case *c, sparse_entry_t fn, FILE *f, size_t *sizes) {
  const int b = 2, i = 1, hQ = c->hQ, sQ = c->sQ, dQk = dqk_of(c->kind), f16 = c->dtype == 1;
  rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(c - matrix + 1) * 0x2545f4914f6cdd1dull;
  uint8_t *cache = make_cache(c, c->kind, c->tokens, c->page);
  uint8_t *extra = c->extraTopk ? make_cache(c, c->kind, c->extraTokens, c->extraPage) : NULL;
  int32_t *indices = make_indices(b, sQ, c->topk, c->mainLen, c->tokens, c->special);
  if (c->special == 2) indices[(size_t)sQ * c->topk + 3] = 37;
  int32_t *extraIndices = c->extraTopk ? make_indices(b, sQ, c->extraTopk, c->extraLen, c->extraTokens, 0) : NULL;
  const size_t qn = (size_t)b * sQ * hQ * dQk;
  uint16_t *q = malloc(qn * 2);
  for (size_t j = 0; j < qn; j++) q[j] = j < (size_t)sQ * hQ * dQk ? (f16 ? 0x7e00 : 0x7fc0) : to_half(uniform(-1.0f, 1.0f), f16);
  float sink[64];
  for (int h = 0; h < hQ; h++) sink[h] = h % 5 == 1 ? INFINITY : h % 5 == 3 ? -INFINITY : uniform(-2.0f, 2.0f);

  const int mainLen = c->mainLen < c->topk ? c->mainLen : c->topk;
  const int n = mainLen ? mainLen : 1;
  const int region = c->extraTopk ? (n + 63) / 64 * 64 : n;
  const int listLen = c->extraTopk ? region + c->extraLen : n;
  int32_t prm[SPRM_COUNT] = {0};
  prm[SPRM_DTYPE] = c->dtype;
  prm[SPRM_KIND] = c->kind;
  prm[SPRM_PAGE_BLOCK_SIZE] = c->page;
  prm[SPRM_EXTRA_KIND] = c->kind;
  prm[SPRM_EXTRA_PAGE_BLOCK_SIZE] = c->extraTopk ? c->extraPage : 1;
  prm[SPRM_DQK] = dQk;
  prm[SPRM_HQ] = hQ;
  prm[SPRM_SQ] = sQ;
  prm[SPRM_TOPK] = c->topk;
  prm[SPRM_EXTRA_TOPK] = c->extraTopk;
  prm[SPRM_BATCH] = i;
  prm[SPRM_MAIN_LEN] = mainLen;
  prm[SPRM_REGION] = region;
  prm[SPRM_EXTRA_LEN] = c->extraTopk ? c->extraLen : 0;
  prm[SPRM_HAS_SINK] = c->sink;

  Outputs o = outputs_new(b, sQ, hQ, f16);

  int rc = 0;
  prm[SPRM_POS_BEGIN] = 0;
  prm[SPRM_POS_END] = listLen;
  prm[SPRM_NO_SPLIT] = 1;
  rc |= fn(prm, 0.0416667f, q, cache, extra, indices, extraIndices, c->sink ? sink : NULL, o.out, o.lse, o.oAccum, o.lseAccum);
  prm[SPRM_NO_SPLIT] = 0;
  for (int slot = 0; slot < 2; slot++) {
    prm[SPRM_POS_BEGIN] = slot ? 64 : 0;
    prm[SPRM_POS_END] = slot ? listLen : (listLen < 64 ? listLen : 64);
    prm[SPRM_SPLIT_SLOT] = slot;
    rc |= fn(prm, 0.0416667f, q, cache, extra, indices, extraIndices, c->sink ? sink : NULL, o.out, o.lse, o.oAccum, o.lseAccum);
  }
  if (rc) {
    fprintf(stderr, "[%s] the entry returned %d\n", c->name, rc);
    exit(1);
  }
  outputs_write(&o, f, sizes);
  free(q); free(cache); free(extra); free(indices); free(extraIndices);
}

// Dense decode of request 1 over case c's main FP8 cache by block table (c->kind is V3.2 or MODEL1); as run_case,
// and then the unit's combine entry merges the two partials into request 0's rows of out / lse (its sentinels).
static void run_dense_case(const Case *c, dense_entry_t fn, combine_entry_t cfn, FILE *f, size_t *sizes) {
  const int b = 2, i = 1, hQ = c->hQ, sQ = c->sQ, dQk = dqk_of(c->kind), f16 = c->dtype == 1;
  rng = 0x7f4a7c159e3779b9ull ^ (uint64_t)(c - matrix + 1) * 0x2545f4914f6cdd1dull;
  uint8_t *cache = make_cache(c, c->kind, c->tokens, c->page);
  const int pages = c->tokens / c->page, seqlen = c->tokens - 13;
  int32_t *table = malloc(sizeof(int32_t) * (size_t)b * pages);
  for (int p = 0; p < pages; p++) table[p] = 0x3fffffff, table[pages + p] = pages - 1 - p; // request 0's row: out of range
  const size_t qn = (size_t)b * sQ * hQ * dQk;
  uint16_t *q = malloc(qn * 2);
  for (size_t j = 0; j < qn; j++) q[j] = j < (size_t)sQ * hQ * dQk ? (f16 ? 0x7e00 : 0x7fc0) : to_half(uniform(-1.0f, 1.0f), f16);
  int32_t prm[PRM_COUNT] = {0};
  prm[PRM_DTYPE] = c->dtype;
  prm[PRM_KV_DTYPE] = c->kind;
  prm[PRM_HQ] = hQ;
  prm[PRM_HKV] = 1;
  prm[PRM_NGROUPS] = hQ;
  prm[PRM_PAGE_BLOCK_SIZE] = c->page;
  prm[PRM_MAX_BLOCKS_PER_SEQ] = pages;
  prm[PRM_CAUSAL] = 1;
  prm[PRM_LSE_STRIDE_B] = (hQ - 1) * sQ;
  prm[PRM_LSE_STRIDE_H] = sQ;
  prm[PRM_LSE_STRIDE_T] = 1;
  prm[PRM_ROWS_PER_SPLIT] = sQ * hQ;
  prm[PRM_BATCH] = i;
  prm[PRM_Q_START] = i * sQ;
  prm[PRM_Q_LEN] = sQ;
  prm[PRM_SEQLEN] = seqlen;

  Outputs o = outputs_new(b, sQ, hQ, f16);
  int rc = 0;
  prm[PRM_K_BEGIN] = 0;
  prm[PRM_K_END] = seqlen;
  prm[PRM_NO_SPLIT] = 1;
  rc |= fn(prm, 0.0416667f, q, cache, table, o.out, o.lse, o.oAccum, o.lseAccum);
  prm[PRM_NO_SPLIT] = 0;
  for (int slot = 0; slot < 2; slot++) {
    prm[PRM_K_BEGIN] = slot ? 64 : 0;
    prm[PRM_K_END] = slot ? seqlen : 64;
    prm[PRM_SPLIT_SLOT] = slot;
    rc |= fn(prm, 0.0416667f, q, cache, table, o.out, o.lse, o.oAccum, o.lseAccum);
  }
  prm[PRM_BATCH] = 0;
  prm[PRM_Q_START] = 0;
  prm[PRM_COMBINE_FIRST] = 0;
  prm[PRM_COMBINE_SPLITS] = 2;
  rc |= cfn(prm, o.oAccum, o.lseAccum, o.out, o.lse);
  if (rc) {
    fprintf(stderr, "[dense: %s] the entry returned %d\n", c->name, rc);
    exit(1);
  }
  outputs_write(&o, f, sizes);
  free(q); free(cache); free(table);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s LIB OUT_PREFIX ENTRY...\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  for (int a = 3; a < argc; a++) {
    sparse_entry_t fn;
    *(void **)&fn = dlsym(lib, argv[a]);
    if (!fn) {
      fprintf(stderr, "%s has no %s\n", argv[1], argv[a]);
      return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.bin", argv[2], argv[a]);
    FILE *f = fopen(path, "wb");
    if (!f) {
      perror(path);
      return 1;
    }
    for (size_t k = 0; k < sizeof matrix / sizeof matrix[0]; k++) {
      size_t n[4];
      run_case(&matrix[k], fn, f, n);
      if (a == 3) printf("case %zu %zu %zu %zu %s\n", n[0], n[1], n[2], n[3], matrix[k].name);
    }
    // The dense entry of the same unit: ENTRY with "decode_item" for "sparse_item".
    char dense[256];
    const char *at = strstr(argv[a], "sparse_item");
    if (!at || strlen(argv[a]) >= sizeof dense) {
      fprintf(stderr, "%s: not a sparse_item entry\n", argv[a]);
      return 1;
    }
    snprintf(dense, sizeof dense, "%.*sdecode_item%s", (int)(at - argv[a]), argv[a], at + strlen("sparse_item"));
    dense_entry_t dfn;
    *(void **)&dfn = dlsym(lib, dense);
    char comb[256];
    snprintf(comb, sizeof comb, "%.*scombine_item%s", (int)(at - argv[a]), argv[a], at + strlen("sparse_item"));
    combine_entry_t cfn;
    *(void **)&cfn = dlsym(lib, comb);
    if (!dfn || !cfn) {
      fprintf(stderr, "%s has no %s\n", argv[1], dfn ? comb : dense);
      return 1;
    }
    for (size_t k = 0; k < sizeof matrix / sizeof matrix[0]; k++) {
      if (matrix[k].kind != KIND_V32 && matrix[k].kind != KIND_MODEL1) continue;
      size_t n[4];
      run_dense_case(&matrix[k], dfn, cfn, f, n);
      if (a == 3) printf("case %zu %zu %zu %zu dense, the main cache of: %s\n", n[0], n[1], n[2], n[3], matrix[k].name);
    }
    fclose(f);
  }
  printf("OK\n");
  return 0;
}
