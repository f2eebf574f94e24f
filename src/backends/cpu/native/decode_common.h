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
// and DECODE_ENTRY, the exported name. With BF16_DOT set, bf16 queries on a bf16 cache stay bf16: w->q holds the
// raw rows, w->kp the tile's key rows in the cache, and tile_scores multiplies its dot products by w->scoreScale;
// w->k is unpacked only as far as V (DV values a key). Otherwise q is pre-scaled by softmaxScale * log2 e.
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
  if (rows <= w->rows) return 0;
  free(w->q); free(w->s); free(w->o); free(w->m); free(w->l); free(w->re);
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

static __attribute__((noipa)) int decode_item(Scratch *w, const int32_t *prm, float scale, const uint16_t *q, const uint16_t *kCache,
                                                 const int32_t *blockTable, uint16_t *out, float *lse, float *oAccum, float *lseAccum) {
  const int qF16 = prm[PRM_DTYPE] == 1, kvF16 = prm[PRM_KV_DTYPE] == 1;
  const int hQ = prm[PRM_HQ], hKv = prm[PRM_HKV], nGroups = prm[PRM_NGROUPS];
  const int page = prm[PRM_PAGE_BLOCK_SIZE], causal = prm[PRM_CAUSAL];
  const int i = prm[PRM_BATCH], qStart = prm[PRM_Q_START], qLen = prm[PRM_Q_LEN], seqlen = prm[PRM_SEQLEN];
  const int kBegin = prm[PRM_K_BEGIN], kEnd = prm[PRM_K_END], g = prm[PRM_KV_HEAD];
  const int rows = qLen * nGroups;
  if (rows == 0) return 0;
  if (ensure_scratch(w, rows)) return -1;

  const float qScale = scale * 1.4426950408889634f;
  w->dot = BF16_DOT && !qF16 && !kvF16;
  w->scoreScale = qScale;
  for (int r = 0; r < rows; r++) {
    const int j = r / nGroups, h = g * nGroups + r % nGroups;
    const uint16_t *src = q + ((size_t)(qStart + j) * hQ + h) * DQK;
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
      w->kp[t] = kCache + (((size_t)table[key / page] * page + key % page) * hKv + g) * DQK;
      load_key_row(w->k + (size_t)t * DQK, w->kp[t], kvF16, w->dot ? DV : DQK);
    }
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
