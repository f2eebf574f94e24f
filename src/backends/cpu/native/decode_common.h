// The part of the native CPU decode kernel that does not depend on the instruction set: per-thread scratch, the
// 64-key tile loop, row chunks, the masking runs of P V and the output stores. Included once by each ISA unit
// (decode_avx2.c, decode_avx512.c) after it has defined its hot loops:
//
//   load_q_row(float *dst, const uint16_t *src, int f16, float scale)   DQK values, unpacked and multiplied
//   load_key_row(float *dst, const uint16_t *src, int f16, int dims)    dims (DQK or DV) values, unpacked
//   tile_scores(const Scratch *w, int r0, int r1, int n)               S = Q K^T for rows [r0, r1), n keys
//   softmax_row(const Scratch *w, int r, int n, int nVis)              S row -> P, running max / sum / rescale
//   tile_accumulate(const Scratch *w, int r0, int r1, int n)           O = O * rescale + P V, n keys
//   store_split_row(float *dst, const float *o, float inv)             DV values of o * inv (unaligned dst)
//
// and DECODE_ENTRY, the exported name; with COMBINE_ENTRY, the split combine's entry (below); with SPARSE_ENTRY
// defined as well, the sparse decode entry (below) too, whose FP8 keys go through dequant_fp8_row when the unit defines HAVE_DEQUANT_FP8_ROW (else a portable loop).
// With BF16_DOT set, bf16 queries on a bf16 cache stay bf16: w->q holds the raw rows, w->kp the tile's key rows in
// the cache, and tile_scores multiplies its dot products by w->scoreScale; w->k is unpacked only as far as V (DV
// values a key). Otherwise q is pre-scaled by softmaxScale * log2 e. A BF16_DOT unit also defines
// pack_bf16_tile (sparse FP8 tiles whose values bf16 holds exactly take the bf16 dot path too).
#ifndef FLASHMLA_CPU_DECODE_COMMON_H
#define FLASHMLA_CPU_DECODE_COMMON_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define DQK 576
#define DV 512
#define BN 64 // keys per tile
#ifndef ROW_CHUNK
#define ROW_CHUNK 48 // query rows per pass over a key tile (a multiple of 4 and of 3)
#endif
#ifndef BF16_DOT
#define BF16_DOT 0
#endif

// Per-thread scratch, grow-only (worker threads each get their own), plus the current item's Q K^T mode.
typedef struct {
  float *q;    // [rows, DQK] scaled queries (f32), or raw bf16 rows when dot is set
  float *k;    // [BN, DQK] the key tile (f32)
  float *s;    // [rows, BN] scores, then P
  float *o;    // [rows, DV] unnormalised output
  float *m;    // [rows] running max (base 2)
  float *l;    // [rows] running sum
  float *re;   // [rows] this tile's rescale of O
#if BF16_DOT
  float *q2;   // [rows, DQK] sparse FP8 items: the other form of q (raw bf16 or scaled f32), swapped with q per tile
  uint16_t *kb; // [BN, DQK] sparse FP8 items: the tile's keys as bf16 (exact), what w->kp points at
#endif
  int rows;
  int dot;                  // Q K^T on raw bf16 (BF16_DOT units only)
  float scoreScale;         // what dot products are multiplied by (softmaxScale * log2 e), when dot is set
  const uint16_t *kp[BN];   // the tile's key rows in the cache
} Scratch;
static __thread Scratch tls;

static void load_q_row(float *dst, const uint16_t *src, int f16, float scale);
static void load_key_row(float *dst, const uint16_t *src, int f16, int dims);
static void tile_scores(const Scratch *w, int r0, int r1, int n);
static void softmax_row(const Scratch *w, int r, int n, int nVis);
static void tile_accumulate(const Scratch *w, int r0, int r1, int n);
static void store_split_row(float *dst, const float *o, float inv);
#if BF16_DOT && defined(SPARSE_ENTRY)
static int pack_bf16_tile(uint16_t *dst, const float *k, int n);
#endif

#if BF16_DOT
// q . k in f32 FMA on raw bf16 rows (exact products, subnormals kept): what a BF16_DOT unit redoes a score with where
// its bf16 dot instruction may have got it wrong (vdpbf16ps and BFDOT flush subnormals; BFDOT rounds to odd).
static __attribute__((noinline, cold)) float dot_f32(const uint16_t *q, const uint16_t *k) {
  float s = 0.0f;
  for (int d = 0; d < DQK; d++) {
    const uint32_t a = (uint32_t)q[d] << 16, b = (uint32_t)k[d] << 16;
    float x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    s = fmaf(x, y, s);
  }
  return s;
}
#endif

#ifdef QK_BLOCK_4X4
// tile_scores for a unit whose qk_block scores RB (<= 4) rows x KB (<= 4) keys of f32 operands, or (dot) of raw bf16
// ones, into s (BN apart) times sc: rows [r0, r1) x keys [0, n) in 4 x 4 blocks, then the key remainder, then single
// rows (decode_avx512.c, decode_neon.c). The unit defines qk_block after this header, always inlined.
static inline __attribute__((always_inline)) void qk_block(const void *q, const void *const *k, float *s, float sc, const int RB,
                                                           const int KB, const int dot);
static inline __attribute__((always_inline)) void tile_scores_as(const Scratch *w, int r0, int r1, int n, const int dot) {
  const size_t qRow = dot ? DQK * sizeof(uint16_t) : DQK * sizeof(float);
  const float sc = dot ? w->scoreScale : 1.0f;
  const void *k[BN];
  for (int t = 0; t < n; t++) k[t] = dot ? (const void *)w->kp[t] : (const void *)(w->k + (size_t)t * DQK);
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    const void *q = (const char *)w->q + r * qRow;
    float *s = w->s + (size_t)r * BN;
    int t = 0;
    for (; t + 4 <= n; t += 4) qk_block(q, k + t, s + t, sc, 4, 4, dot);
    for (; t < n; t++) qk_block(q, k + t, s + t, sc, 4, 1, dot);
  }
  for (; r < r1; r++) {
    const void *q = (const char *)w->q + r * qRow;
    float *s = w->s + (size_t)r * BN;
    int t = 0;
    for (; t + 4 <= n; t += 4) qk_block(q, k + t, s + t, sc, 1, 4, dot);
    for (; t < n; t++) qk_block(q, k + t, s + t, sc, 1, 1, dot);
  }
}

static void tile_scores(const Scratch *w, int r0, int r1, int n) {
  if (BF16_DOT && w->dot) tile_scores_as(w, r0, r1, n, 1);
  else tile_scores_as(w, r0, r1, n, 0);
}
#endif

#ifdef PV_BLOCK_COLS
// tile_accumulate for a unit whose pv_block adds P V of RB (<= 4) rows into PV_BLOCK_COLS output columns at c: columns
// outermost (the 64 x PV_BLOCK_COLS slice of V stays in L1 while every row block of [r0, r1) uses it), then 4-row
// blocks and a 3-, 2- or 1-row remainder (decode_avx512.c, decode_neon.c).
static inline __attribute__((always_inline)) void pv_block(const Scratch *w, int r, int c, int n, const int RB);
static void tile_accumulate(const Scratch *w, int r0, int r1, int n) {
  for (int c = 0; c < DV; c += PV_BLOCK_COLS) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) pv_block(w, r, c, n, 4);
    if (r1 - r == 3) pv_block(w, r, c, n, 3);
    else if (r1 - r == 2) pv_block(w, r, c, n, 2);
    else if (r1 - r == 1) pv_block(w, r, c, n, 1);
  }
}
#endif

// softmax_row's scalar steps, the same for every ISA. softmax_row_mask: keys past nVis (masked, or past the tile's n)
// scored -inf; returns the row's scores. softmax_row_special, after the row's vector max `m` and its `unordered` flag
// (a NaN or +inf score): a NaN or +inf score (from NaN or infinity in q or in a visible key) poisons the row for good,
// as in the float64 reference (+inf - +inf is NaN there), P, max, sum and O rescale all NaN; a row that has seen no
// key yet keeps P = 0 and O. Returns 1 when the row is done, else 0 with *m the new running max.
// softmax_row_update: the running max, sum and old-O factor once the tile's P (summing to tileSum) is written.
static inline float *softmax_row_mask(const Scratch *w, int r, int n, int nVis) {
  float *s = w->s + (size_t)r * BN;
  if (nVis < 0) nVis = 0;
  if (nVis > n) nVis = n;
  for (int t = nVis; t < BN; t++) s[t] = -INFINITY;
  return s;
}
static inline int softmax_row_special(const Scratch *w, int r, float *s, int unordered, float *m) {
  const float old = w->m[r];
  if (old != old || unordered) {
    for (int t = 0; t < BN; t++) s[t] = NAN;
    w->m[r] = NAN;
    w->l[r] = NAN;
    w->re[r] = NAN;
    return 1;
  }
  if (old > *m) *m = old;
  if (*m == -INFINITY) {
    memset(s, 0, BN * sizeof(float));
    w->re[r] = 1.0f;
    return 1;
  }
  return 0;
}
static inline void softmax_row_update(const Scratch *w, int r, float m, float tileSum) {
  const float old = w->m[r];
  const float rescale = old == -INFINITY ? 0.0f : exp2f(old - m);
  w->m[r] = m;
  w->l[r] = w->l[r] * rescale + tileSum;
  w->re[r] = rescale;
}

static float *alloc_f32(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float))) return NULL;
  return (float *)p;
}

static int ensure_scratch(Scratch *w, int rows) {
  if (!w->k) {
    w->k = alloc_f32((size_t)BN * DQK);
    if (!w->k) return -1;
  }
#if BF16_DOT
  if (!w->kb) {
    w->kb = (uint16_t *)(void *)alloc_f32((size_t)BN * DQK / 2);
    if (!w->kb) return -1;
  }
#endif
  if (rows <= w->rows) return 0;
  free(w->q); free(w->s); free(w->o); free(w->m); free(w->l); free(w->re);
#if BF16_DOT
  free(w->q2);
  w->q2 = alloc_f32((size_t)rows * DQK);
  if (!w->q2) { w->rows = 0; return -1; }
#endif
  w->q = alloc_f32((size_t)rows * DQK);
  w->s = alloc_f32((size_t)rows * BN);
  w->o = alloc_f32((size_t)rows * DV);
  w->m = alloc_f32(rows); w->l = alloc_f32(rows); w->re = alloc_f32(rows);
  if (!w->q || !w->s || !w->o || !w->m || !w->l || !w->re) { w->rows = 0; return -1; }
  w->rows = rows;
  return 0;
}

static inline uint16_t f32_to_bf16(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40);
  return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

// f32 -> f16, round to nearest even: F16C here; a unit for another architecture defines F32_TO_F16 before the include.
#ifndef F32_TO_F16
#define F32_TO_F16(x) _cvtss_sh((x), _MM_FROUND_TO_NEAREST_INT)
#endif
static inline uint16_t f32_to_half(float x, int f16) {
  return f16 ? (uint16_t)F32_TO_F16(x) : f32_to_bf16(x);
}

static inline int visible_keys(int seqlen, int qLen, int j, int causal) {
  if (!causal) return seqlen;
  int v = seqlen - qLen + j + 1;
  return v > 0 ? v : 0;
}

// Keys of the tile [t0, t0 + n) that query j sees.
static inline int keys_in_tile(int seqlen, int qLen, int j, int causal, int t0, int n) {
  const int v = visible_keys(seqlen, qLen, j, causal) - t0;
  return v < 0 ? 0 : v > n ? n : v;
}

#ifdef SPARSE_ENTRY
// ---------------------------------------------------------------- FP8 and gathered keys (sparse and dense FP8)
// Cache kinds, as params.h's SPRM_KIND and PRM_KV_DTYPE number them.
enum { KIND_BF16, KIND_F16, KIND_V32, KIND_MODEL1 };

// e4m3 bits -> f32 value, exact (e4m3fn: no infinities, 0x7f / 0xff NaN).
static inline float e4m3_to_f32(uint8_t b) {
  const int e = (b >> 3) & 15, m = b & 7;
  if ((b & 0x7f) == 0x7f) return NAN;
  const float v = e ? ldexpf((float)(8 + m), e - 10) : ldexpf((float)m, -9);
  return b & 0x80 ? -v : v;
}

// dst[0, n) = e4m3(src) * scale, n a multiple of 16. An ISA unit may define HAVE_DEQUANT_FP8_ROW and its own
// dequant_fp8_row(dst, src, n, factor), which gets factor = scale * 2^8 (finite, or NaN / inf with scale) and
// multiplies e4m3(src) * 2^-8 by it (the f16 trick: the 7 value bits of e4m3 shifted into f16 give exactly
// value * 2^-8); the scalar version below is used where scale * 2^8 would overflow, and by units without one.
static void dequant_fp8_row_scalar(float *dst, const uint8_t *src, int n, float scale) {
  for (int d = 0; d < n; d++) dst[d] = e4m3_to_f32(src[d]) * scale;
}
#ifdef HAVE_DEQUANT_FP8_ROW
static void dequant_fp8_row(float *dst, const uint8_t *src, int n, float factor);
static inline void dequant_fp8(float *dst, const uint8_t *src, int n, float scale) {
  const float factor = scale * 256.0f;
  if (isinf(factor) && !isinf(scale)) dequant_fp8_row_scalar(dst, src, n, scale);
  else dequant_fp8_row(dst, src, n, factor);
}
#else
static inline void dequant_fp8(float *dst, const uint8_t *src, int n, float scale) { dequant_fp8_row_scalar(dst, src, n, scale); }
#endif

// One cache: its kind, bytes, page size.
typedef struct {
  int kind, page;
  const uint8_t *base;
} SparseCache;

// Token `phys` of cache c into w->k row t (and w->kp[t] for the bf16 dot path). dQk values, zero-padded to DQK.
static inline void load_sparse_key(Scratch *w, const SparseCache *c, int phys, int dQk, int t) {
  float *dst = w->k + (size_t)t * DQK;
  if (c->kind == KIND_BF16 || c->kind == KIND_F16) {
    const uint16_t *src = (const uint16_t *)(const void *)c->base + (size_t)phys * dQk;
    w->kp[t] = src;
    load_key_row(dst, src, c->kind == KIND_F16, w->dot ? DV : dQk);
    if (!w->dot && dQk < DQK) memset(dst + dQk, 0, (DQK - dQk) * sizeof(float));
    return;
  }
  const uint8_t *nope, *rope;
  if (c->kind == KIND_V32) {
    nope = c->base + (size_t)phys * 656;
    rope = nope + 528;
    for (int j = 0; j < 4; j++) {
      float s;
      memcpy(&s, nope + 512 + 4 * j, 4);
      dequant_fp8(dst + 128 * j, nope + 128 * j, 128, s);
    }
    load_key_row(dst + 512, (const uint16_t *)(const void *)rope, 0, 64);
  } else {
    const size_t stride = (size_t)((c->page * 584 + 575) / 576) * 576;
    const uint8_t *blk = c->base + (size_t)(phys / c->page) * stride;
    const int slot = phys % c->page;
    nope = blk + (size_t)slot * 576;
    rope = nope + 448;
    const uint8_t *sc = blk + (size_t)c->page * 576 + (size_t)slot * 8;
    for (int j = 0; j < 7; j++) {
      uint32_t bits = (uint32_t)sc[j] << 23; // UE8M0: 2^(b - 127); b = 0 is 2^-127, a subnormal f32
      float s;
      if (sc[j] == 0) s = 0x1p-127f;
      else if (sc[j] == 0xff) s = NAN;
      else memcpy(&s, &bits, 4);
      dequant_fp8(dst + 64 * j, nope + 64 * j, 64, s);
    }
    load_key_row(dst + 448, (const uint16_t *)(const void *)rope, 0, 64);
    memset(dst + 512, 0, (DQK - 512) * sizeof(float));
  }
}

#endif

#if BF16_DOT && defined(SPARSE_ENTRY)
// An FP8 tile on a BF16_DOT unit (q kept in both forms, *qRaw saying which w->q holds): a tile whose dequantized values
// bf16 holds exactly (FlashMLA's power-of-two scales) is packed to bf16 and scored on the bf16 dot path with q's raw
// rows, any other on the f32 loops with q scaled; w->q is swapped to the form the tile needs.
static inline void fp8_tile_form(Scratch *w, int n, int *qRaw) {
  const int exact = pack_bf16_tile(w->kb, w->k, n);
  if (exact != *qRaw) {
    float *tq = w->q; w->q = w->q2; w->q2 = tq;
    *qRaw = exact;
  }
  w->dot = exact;
  for (int t = 0; t < n; t++) w->kp[t] = w->kb + (size_t)t * DQK;
}
#endif

// The dense item: keys [kBegin, kEnd) of sequence i by block table, every query row of KV head g. PRM_KV_DTYPE 0 / 1 is
// a bf16 / f16 cache of DQK-element rows; 2 / 3 (units with SPARSE_ENTRY only) one of the FP8 formats, hKv = 1,
// each token dequantized exactly into the f32 tile as load_sparse_key does for sparse items (MODEL1: dQk 512, q and
// keys zero-padded to DQK). A BF16_DOT unit runs an FP8 tile whose values bf16 holds exactly on the bf16 dot path.
static __attribute__((noipa)) int decode_item(Scratch *w, const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache,
                                                 const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  const int qF16 = prm[PRM_DTYPE] == 1, kvKind = prm[PRM_KV_DTYPE], kvF16 = kvKind == 1;
  const int hQ = prm[PRM_HQ], hKv = prm[PRM_HKV], nGroups = prm[PRM_NGROUPS];
  const int page = prm[PRM_PAGE_BLOCK_SIZE], causal = prm[PRM_CAUSAL];
  const int i = prm[PRM_BATCH], qStart = prm[PRM_Q_START], qLen = prm[PRM_Q_LEN], seqlen = prm[PRM_SEQLEN];
  const int kBegin = prm[PRM_K_BEGIN], kEnd = prm[PRM_K_END], g = prm[PRM_KV_HEAD];
  const int rows = qLen * nGroups;
#ifdef SPARSE_ENTRY
  const int fp8 = kvKind == KIND_V32 || kvKind == KIND_MODEL1;
  const SparseCache fp8Cache = { kvKind, page, (const uint8_t *)(const void *)kCache };
  if ((kvKind < 0 || kvKind > KIND_MODEL1) || (fp8 && hKv != 1)) return -2;
#else
  if (kvKind != 0 && kvKind != 1) return -2;
#endif
  const int dQk = kvKind == 3 ? 512 : DQK;
  if (rows == 0) return 0;
  if (ensure_scratch(w, rows)) return -1;

  const float qScale = scale * 1.4426950408889634f;
  w->dot = BF16_DOT && !qF16 && kvKind == 0;
  w->scoreScale = qScale;
  // FP8 on a BF16_DOT unit: q in both forms, w->q the one the current tile needs (qRaw), as sparse_item keeps it.
#if BF16_DOT && defined(SPARSE_ENTRY)
  const int fp8Dot = fp8 && !qF16;
  int qRaw = 0;
#endif
  uint16_t pad[DQK];
  if (dQk < DQK) memset(pad, 0, sizeof(pad));
  for (int r = 0; r < rows; r++) {
    const int j = r / nGroups, h = g * nGroups + r % nGroups;
    const uint16_t *src = q + ((size_t)(qStart + j) * hQ + h) * dQk;
    if (dQk < DQK) { memcpy(pad, src, dQk * sizeof(uint16_t)); src = pad; }
#if BF16_DOT && defined(SPARSE_ENTRY)
    if (fp8Dot) memcpy((uint16_t *)w->q2 + (size_t)r * DQK, src, DQK * sizeof(uint16_t));
#endif
    if (w->dot) memcpy((uint16_t *)w->q + (size_t)r * DQK, src, DQK * sizeof(uint16_t));
    else load_q_row(w->q + (size_t)r * DQK, src, qF16, qScale);
    w->m[r] = -INFINITY;
    w->l[r] = 0.0f;
  }
  memset(w->o, 0, (size_t)rows * DV * sizeof(float));

  const int32_t *table = blockTable + (size_t)i * prm[PRM_MAX_BLOCKS_PER_SEQ];
  for (int t0 = kBegin; t0 < kEnd; t0 += BN) {
    const int n = kEnd - t0 < BN ? kEnd - t0 : BN;
    for (int t = 0; t < n; t++) {
      const int key = t0 + t;
      const size_t phys = (size_t)table[key / page] * page + key % page;
#ifdef SPARSE_ENTRY
      if (fp8) { load_sparse_key(w, &fp8Cache, (int)phys, dQk, t); continue; }
#endif
      w->kp[t] = kCache + (phys * hKv + g) * DQK;
      load_key_row(w->k + (size_t)t * DQK, w->kp[t], kvF16, w->dot ? DV : DQK);
    }
#if BF16_DOT && defined(SPARSE_ENTRY)
    if (fp8Dot) fp8_tile_form(w, n, &qRaw);
#endif
    // Row chunks keep Q, O and P of the chunk plus the f32 key tile (147 KB) inside a 512 KB L2.
    for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
      const int r1 = r0 + ROW_CHUNK < rows ? r0 + ROW_CHUNK : rows;
      tile_scores(w, r0, r1, n);
      for (int r = r0; r < r1; r++) softmax_row(w, r, n, visible_keys(seqlen, qLen, r / nGroups, causal) - t0);
      // A key a row may not see must stay out of its P V product, not just weigh 0: its V may be inf or NaN (0 x inf
      // is NaN). Each run of rows that sees the same keys of this tile gets its own pass (one pass off the diagonal).
      for (int r = r0; r < r1;) {
        const int nv = keys_in_tile(seqlen, qLen, r / nGroups, causal, t0, n);
        int e = r + 1;
        while (e < r1 && keys_in_tile(seqlen, qLen, e / nGroups, causal, t0, n) == nv) e++;
        tile_accumulate(w, r, e, nv);
        r = e;
      }
    }
  }
  const double ln2 = 0.69314718055994531;
  for (int r = 0; r < rows; r++) {
    const int j = r / nGroups, h = g * nGroups + r % nGroups;
    // l == 0: no finite score. A whole sequence: no key (out 0, lse +inf) or keys that all scored -inf (NaN, as the
    // reference's exp(-inf - -inf)); a split keeps lse -inf and its unnormalised 0 x V sums (NaN where V is inf).
    const int empty = w->l[r] == 0.0f;
    const float inv = empty ? 1.0f : 1.0f / w->l[r];
    const float l = empty ? -INFINITY : (float)((double)w->m[r] * ln2 + log((double)w->l[r]));
    const float *o = w->o + (size_t)r * DV;
    if (prm[PRM_NO_SPLIT]) {
      uint16_t *dst = out + ((size_t)(qStart + j) * hQ + h) * DV;
      float *lo = lse + (size_t)i * prm[PRM_LSE_STRIDE_B] + (size_t)h * prm[PRM_LSE_STRIDE_H] + (size_t)(qStart + j) * prm[PRM_LSE_STRIDE_T];
      if (empty) {
        const int seesKeys = visible_keys(seqlen, qLen, j, causal) > 0;
        const uint16_t fill = seesKeys ? f32_to_half(NAN, qF16) : 0;
        for (int d = 0; d < DV; d++) dst[d] = fill;
        *lo = seesKeys ? NAN : INFINITY;
        continue;
      }
      for (int d = 0; d < DV; d++) dst[d] = f32_to_half(o[d] * inv, qF16);
      *lo = l;
    } else {
      const size_t row = (size_t)prm[PRM_SPLIT_SLOT] * prm[PRM_ROWS_PER_SPLIT] + (size_t)j * hQ + h;
      store_split_row(oAccum + row * DV, o, inv);
      lseAccum[row] = l;
    }
  }
  return 0;
}

#ifdef SPARSE_ENTRY
// ---------------------------------------------------------------- sparse decode (V3.2 / MODEL1 token-sparse)
// The same tile loop over keys gathered by index: a tile is the next 64 valid indices of the list (-1 and positions
// past topkLength are skipped, as the scalar kernel in ../sparse.ts does), from a bf16 / f16 cache or one of the two
// FP8 formats (dequantized exactly into the f32 tile). dQk 512 (MODEL1) runs the DQK = 576 loops with q and keys
// zero-padded: 0 x 0 adds nothing to a score.

// The physical token at position pos of query s's combined list and its cache (-1: none).
static inline int sparse_index(const int32_t *prm, const int32_t *indices, const int32_t *extraIndices, int s, int pos, int *extra) {
  const int row = prm[SPRM_BATCH] * prm[SPRM_SQ] + s;
  if (pos < prm[SPRM_REGION]) {
    *extra = 0;
    return pos < prm[SPRM_MAIN_LEN] ? indices[(size_t)row * prm[SPRM_TOPK] + pos] : -1;
  }
  const int e = pos - prm[SPRM_REGION];
  *extra = 1;
  return e < prm[SPRM_EXTRA_LEN] ? extraIndices[(size_t)row * prm[SPRM_EXTRA_TOPK] + e] : -1;
}

static __attribute__((noipa)) int sparse_item(Scratch *w, const int32_t *prm, float scale, const uint16_t *q, const void *kCache,
                                              const void *extraKCache, const int32_t *indices, const int32_t *extraIndices,
                                              const float *attnSink, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  const int qF16 = prm[SPRM_DTYPE] == 1, dQk = prm[SPRM_DQK], hQ = prm[SPRM_HQ], sQ = prm[SPRM_SQ], i = prm[SPRM_BATCH];
  const int posEnd = prm[SPRM_POS_END];
  const SparseCache caches[2] = {
    { prm[SPRM_KIND], prm[SPRM_PAGE_BLOCK_SIZE], (const uint8_t *)kCache },
    { prm[SPRM_EXTRA_KIND], prm[SPRM_EXTRA_PAGE_BLOCK_SIZE], (const uint8_t *)extraKCache },
  };
  if (dQk != DQK && dQk != 512) return -2;
  if (hQ == 0) return 0;
  if (ensure_scratch(w, hQ)) return -1;
  const float qScale = scale * 1.4426950408889634f;
  w->dot = BF16_DOT && !qF16 && caches[0].kind == KIND_BF16 && dQk == DQK;
  w->scoreScale = qScale;
  // BF16_DOT units, bf16 q on an FP8 cache: a tile whose dequantized values bf16 holds exactly (FlashMLA's
  // power-of-two scales in range give e4m3 x 2^e, 4 significant bits) runs Q K^T as vdpbf16ps on q's raw rows and
  // the tile packed to bf16; any other tile (a V3.2 scale that is not a power of two, NaN) the f32 loops. q is kept
  // in both forms, w->q the one the current tile needs (qRaw says which).
#if BF16_DOT
  const int fp8Dot = !qF16 && (caches[0].kind == KIND_V32 || caches[0].kind == KIND_MODEL1);
  int qRaw = w->dot;
#endif
  const double ln2 = 0.69314718055994531;
  uint16_t pad[DQK];
  memset(pad, 0, sizeof(pad));

  for (int s = 0; s < sQ; s++) {
    for (int r = 0; r < hQ; r++) {
      const uint16_t *src = q + ((size_t)(i * sQ + s) * hQ + r) * dQk;
      if (dQk < DQK) { memcpy(pad, src, dQk * sizeof(uint16_t)); src = pad; }
#if BF16_DOT
      if (fp8Dot) { // both forms, each in the buffer qRaw says (the last tile of the previous token may have swapped them)
        memcpy((uint16_t *)(qRaw ? w->q : w->q2) + (size_t)r * DQK, src, DQK * sizeof(uint16_t));
        load_q_row((qRaw ? w->q2 : w->q) + (size_t)r * DQK, src, qF16, qScale);
      } else
#endif
      if (w->dot) memcpy((uint16_t *)w->q + (size_t)r * DQK, src, DQK * sizeof(uint16_t));
      else load_q_row(w->q + (size_t)r * DQK, src, qF16, qScale);
      w->m[r] = -INFINITY;
      w->l[r] = 0.0f;
    }
    memset(w->o, 0, (size_t)hQ * DV * sizeof(float));
    int seen = 0;
    for (int pos = prm[SPRM_POS_BEGIN]; pos < posEnd;) {
      int n = 0;
      for (; n < BN && pos < posEnd; pos++) {
        int extra;
        const int phys = sparse_index(prm, indices, extraIndices, s, pos, &extra);
        if (phys < 0) continue;
        load_sparse_key(w, &caches[extra], phys, dQk, n++);
      }
      if (!n) break;
      seen += n;
#if BF16_DOT
      if (fp8Dot) fp8_tile_form(w, n, &qRaw);
#endif
      for (int r0 = 0; r0 < hQ; r0 += ROW_CHUNK) {
        const int r1 = r0 + ROW_CHUNK < hQ ? r0 + ROW_CHUNK : hQ;
        tile_scores(w, r0, r1, n);
        for (int r = r0; r < r1; r++) softmax_row(w, r, n, n);
        tile_accumulate(w, r0, r1, n);
      }
    }

    for (int h = 0; h < hQ; h++) {
      // As the scalar kernel: l == 0 is no finite score (no token: out 0, lse +inf; tokens all -inf: NaN), l NaN a
      // poisoned row (NaN out whatever the sink), else out = O / l times the sink's 1 / (1 + e^(sink - lse)).
      const float lr = w->l[h];
      const int empty = lr == 0.0f;
      const float inv = empty ? 1.0f : 1.0f / lr;
      const double l = empty ? -INFINITY : (double)w->m[h] * ln2 + log((double)lr);
      const float *o = w->o + (size_t)h * DV;
      if (prm[SPRM_NO_SPLIT]) {
        uint16_t *dst = out + ((size_t)(i * sQ + s) * hQ + h) * DV;
        float *lo = lse + ((size_t)i * hQ + h) * sQ + s;
        if (empty || l != l) {
          const uint16_t fill = empty && !seen ? 0 : f32_to_half(NAN, qF16);
          for (int d = 0; d < DV; d++) dst[d] = fill;
          *lo = empty && !seen ? INFINITY : NAN;
          continue;
        }
        const double g = (double)inv * (prm[SPRM_HAS_SINK] ? 1.0 / (1.0 + exp((double)attnSink[h] - l)) : 1.0);
        for (int d = 0; d < DV; d++) dst[d] = f32_to_half((float)((double)o[d] * g), qF16);
        *lo = (float)l;
      } else {
        const size_t row = ((size_t)prm[SPRM_SPLIT_SLOT] * sQ + s) * hQ + h;
        store_split_row(oAccum + row * DV, o, inv);
        lseAccum[row] = (float)l;
      }
    }
  }
  return 0;
}

/**
 * One sparse work item (params.h SPRM_*): every query token and head of one request over positions [posBegin,
 * posEnd) of its index list. kCache / extraKCache: the caches' bytes (16-bit caches: their elements). Returns 0, -1
 * when scratch cannot be allocated, -2 for a dQk other than 576 or 512.
 */
int SPARSE_ENTRY(const int32_t *prm, float scale, const uint16_t *q, const void *kCache, const void *extraKCache, const int32_t *indices,
                 const int32_t *extraIndices, const float *attnSink, uint16_t *out, float *lse, float *oAccum, float *lseAccum);
int SPARSE_ENTRY(const int32_t *prm, float scale, const uint16_t *q, const void *kCache, const void *extraKCache, const int32_t *indices,
                 const int32_t *extraIndices, const float *attnSink, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  return sparse_item(&tls, prm, scale, q, kCache, extraKCache, indices, extraIndices, attnSink, out, lse, oAccum, lseAccum);
}
#endif

#ifdef COMBINE_ENTRY
// ---------------------------------------------------------------- the split combine
// One split request (params.h: the problem fields, PRM_BATCH .. PRM_SEQLEN, PRM_COMBINE_FIRST / _SPLITS): every row
// (query j, head h) merged from its partials as the JavaScript combine (../kernel.ts runCombineUnit) does — the lse
// from the largest partial lse, each element the double sum over the included partials in split order (a partial of
// lse -inf still added: its 0 x inf V is NaN; one whose weight underflows left out but for its NaN elements), rounded
// to f32, then to out's dtype; a row no partial saw a finite score
// in gives out 0 and lse +inf when it sees no key, else NaN (as decode_item's whole-sequence rows).
static __attribute__((noipa)) int combine_item(const int32_t *prm, const float *oAccum, const float *lseAccum, uint16_t *out, float *lse) {
  const int qF16 = prm[PRM_DTYPE] == 1, hQ = prm[PRM_HQ], causal = prm[PRM_CAUSAL], i = prm[PRM_BATCH];
  const int qStart = prm[PRM_Q_START], qLen = prm[PRM_Q_LEN], seqlen = prm[PRM_SEQLEN];
  const int first = prm[PRM_COMBINE_FIRST], n = prm[PRM_COMBINE_SPLITS];
  const size_t perSplit = (size_t)prm[PRM_ROWS_PER_SPLIT];
  if (n <= 1) return 0;
  double *w = malloc(sizeof(double) * (size_t)n + sizeof(double) * DV);
  const float **part = malloc(sizeof(float *) * (size_t)n);
  if (!w || !part) { free(w); free(part); return -1; }
  double *row = w + n;
  for (int j = 0; j < qLen; j++) {
    for (int h = 0; h < hQ; h++) {
      const size_t r = (size_t)j * hQ + h;
      float m = -INFINITY;
      for (int s = 0; s < n; s++) { // (Math.max: a NaN partial makes m NaN, and the row NaN)
        const float x = lseAccum[(first + s) * perSplit + r];
        if (x != x) { m = NAN; break; }
        if (x > m) m = x;
      }
      uint16_t *dst = out + ((size_t)(qStart + j) * hQ + h) * DV;
      float *lo = lse + (size_t)i * prm[PRM_LSE_STRIDE_B] + (size_t)h * prm[PRM_LSE_STRIDE_H] + (size_t)(qStart + j) * prm[PRM_LSE_STRIDE_T];
      if (m == -INFINITY) {
        const int seesKeys = visible_keys(seqlen, qLen, j, causal) > 0;
        const uint16_t fill = seesKeys ? f32_to_half(NAN, qF16) : 0;
        for (int d = 0; d < DV; d++) dst[d] = fill;
        *lo = seesKeys ? NAN : INFINITY;
        continue;
      }
      double sum = 0.0;
      for (int s = 0; s < n; s++) sum += exp((double)lseAccum[(first + s) * perSplit + r] - (double)m);
      const double l = (double)m + log(sum);
      int k = 0, z = 0;
      for (int s = 0; s < n; s++) {
        const size_t slot = (first + s) * perSplit + r;
        const double ws = exp((double)lseAccum[slot] - l);
        // a weight that underflows to 0: left out but for its NaN elements (listed from the end of part[])
        if (ws == 0.0 && lseAccum[slot] != -INFINITY) { part[n - 1 - z++] = oAccum + slot * DV; continue; }
        w[k] = ws;
        part[k++] = oAccum + slot * DV;
      }
      for (int d = 0; d < DV; d++) row[d] = 0.0;
      for (int t = 0; t < k; t++) {
        const double wt = w[t];
        const float *src = part[t];
        for (int d = 0; d < DV; d++) row[d] += wt * (double)src[d];
      }
      for (int t = n - z; t < n; t++) {
        const float *src = part[t];
        for (int d = 0; d < DV; d++) if (src[d] != src[d]) row[d] = NAN;
      }
      for (int d = 0; d < DV; d++) dst[d] = f32_to_half((float)row[d], qF16);
      *lo = (float)l;
    }
  }
  free(w);
  free(part);
  return 0;
}

/** One split request's combine (params.h). Returns 0, or -1 when its scratch cannot be allocated. */
int COMBINE_ENTRY(const int32_t *prm, const float *oAccum, const float *lseAccum, uint16_t *out, float *lse);
int COMBINE_ENTRY(const int32_t *prm, const float *oAccum, const float *lseAccum, uint16_t *out, float *lse) {
  return combine_item(prm, oAccum, lseAccum, out, lse);
}
#endif

/**
 * One work item. prm: PRM_COUNT int32 fields (params.h); scale: softmaxScale. Returns 0, or -1 when scratch
 * memory cannot be allocated. The scratch pointer reaches the helpers as an opaque argument (noipa above): when
 * gcc propagated &tls into clones of them, a dlopen()ed library's general-dynamic TLS turned into
 * __tls_get_addr calls inside the hot loops (1.6-2.5x slower).
 */
int DECODE_ENTRY(const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache, const int32_t *blockTable,
                 uint16_t *out, float *lse, float *oAccum, float *lseAccum);
int DECODE_ENTRY(const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache, const int32_t *blockTable,
                 uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  return decode_item(&tls, prm, scale, q, kCache, blockTable, out, lse, oAccum, lseAccum);
}
#endif
